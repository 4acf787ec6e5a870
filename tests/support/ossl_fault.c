/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * OpenSSL allocation failures on demand (see ossl_fault.h): counting
 * wrappers around malloc/realloc installed with CRYPTO_set_mem_functions(),
 * atomics so that tests on several threads (the zone mirror's verify tasks)
 * count every allocation once.
 */
#include "ossl_fault.h"

#include <stdatomic.h>
#include <stdlib.h>

#include <openssl/crypto.h>

static _Atomic uint64_t allocs;     /* allocations so far */
static _Atomic uint64_t fail_first; /* first allocation number to fail, 0 = none */
static _Atomic uint64_t fail_count; /* how many from there */
static _Atomic uint64_t failed;     /* failures injected so far */

static bool should_fail(void)
{
	uint64_t k = atomic_fetch_add(&allocs, 1) + 1;
	uint64_t first = atomic_load(&fail_first);

	if (first == 0 || k < first || k - first >= atomic_load(&fail_count))
		return false;
	atomic_fetch_add(&failed, 1);
	return true;
}

static void *fault_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return should_fail() ? NULL : malloc(n);
}

static void *fault_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return should_fail() ? NULL : realloc(p, n);
}

static void fault_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

bool ost_test_ossl_install(void)
{
	return CRYPTO_set_mem_functions(fault_malloc, fault_realloc, fault_free) == 1;
}

uint64_t ost_test_ossl_allocs(void)
{
	return atomic_load(&allocs);
}

void ost_test_ossl_fail(uint64_t first, uint64_t count)
{
	/* Disarmed while the window changes, so no allocation sees half of it. */
	atomic_store(&fail_first, 0);
	atomic_store(&fail_count, count);
	atomic_store(&fail_first, count ? first : 0);
}

uint64_t ost_test_ossl_failed(void)
{
	return atomic_load(&failed);
}
