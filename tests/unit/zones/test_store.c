/* SPDX-License-Identifier: BSD-2-Clause */
/* Store tests (filled in below). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_zones.h"

static void test_placeholder(void **state)
{
	(void)state;
}

const struct CMUnitTest store_tests[] = {
	cmocka_unit_test(test_placeholder),
};
const size_t store_tests_count = sizeof(store_tests) / sizeof(store_tests[0]);
