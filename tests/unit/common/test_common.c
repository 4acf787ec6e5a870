/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for common/: error strings, log levels and the arena allocator
 * (alignment, large allocations, deferred cleanups on reset and deinit).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ostrov/error.h"
#include "ostrov/log.h"
#include "ostrov/mm.h"

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(ost_strerror(0), "success");
	assert_string_equal(ost_strerror(OST_EBOGUS), "DNSSEC validation failed");
	assert_string_equal(ost_strerror(OST_ECORRUPT), "storage file corrupt or not ours");
	assert_string_equal(ost_strerror(-ENOMEM), strerror(ENOMEM));
	assert_string_equal(ost_strerror(5), "unknown error");
}

static void test_log_level_parse(void **state)
{
	(void)state;
	enum ost_log_level l;
	assert_int_equal(ost_log_level_parse("debug", &l), 0);
	assert_int_equal(l, OST_LOG_DEBUG);
	assert_int_equal(ost_log_level_parse("warn", &l), 0);
	assert_int_equal(l, OST_LOG_WARN);
	assert_int_equal(ost_log_level_parse("loud", &l), -EINVAL);
}

static int cleaned;
static void count_cleanup(void *arg)
{
	cleaned += *(int *)arg;
}

static void test_arena(void **state)
{
	(void)state;
	struct ost_arena a;
	ost_arena_init(&a, 512);
	uint8_t *p1 = ost_arena_alloc(&a, 3);
	uint8_t *p2 = ost_arena_alloc(&a, 17);
	assert_non_null(p1);
	assert_non_null(p2);
	assert_int_equal((uintptr_t)p1 % 16, 0);
	assert_int_equal((uintptr_t)p2 % 16, 0);
	assert_true(p2 >= p1 + 16);
	memset(p2, 0xab, 17);
	uint8_t *big = ost_arena_alloc(&a, 10000);
	assert_non_null(big);
	memset(big, 0, 10000);
	/* The small chunk still serves small allocations after a big one. */
	uint8_t *p3 = ost_arena_alloc(&a, 16);
	assert_ptr_equal(p3, p2 + 32);
	static int one = 1, ten = 10;
	cleaned = 0;
	assert_int_equal(ost_arena_defer(&a, count_cleanup, &one), 0);
	assert_int_equal(ost_arena_defer(&a, count_cleanup, &ten), 0);
	ost_arena_reset(&a);
	assert_int_equal(cleaned, 11);
	assert_non_null(ost_arena_alloc(&a, 100));
	assert_int_equal(ost_arena_defer(&a, count_cleanup, &one), 0);
	ost_arena_deinit(&a);
	assert_int_equal(cleaned, 12);
	assert_null(a.head);
}

static void test_mm_from_arena(void **state)
{
	(void)state;
	struct ost_arena a;
	struct ost_mm mm;
	ost_arena_init(&a, 1024);
	ost_mm_from_arena(&mm, &a);
	char *s = ost_mm_alloc(&mm, 6);
	assert_non_null(s);
	memcpy(s, "hello", 6);
	ost_mm_free(&mm, s); /* a no-op for arenas */
	assert_string_equal(s, "hello");
	ost_arena_deinit(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_log_level_parse),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_mm_from_arena),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
