/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Failures injected into OpenSSL's own allocations (in ost_test_support), for
 * the tests of what ostrov does when OpenSSL fails inside a verification:
 * OpenSSL reports such a failure like a signature that does not match. The
 * zone mirror's stress test (tests/unit/zones/test_verify_stress.c) and the
 * validator's (tests/unit/resolver/test_valfail.c) share it.
 *
 * Example: main() calls ost_test_ossl_install() before anything allocates
 * through OpenSSL; a test counts the allocations of one clean verification
 * (ost_test_ossl_allocs() before and after), then for each k makes the k-th
 * allocation of the next one fail, ost_test_ossl_fail(ost_test_ossl_allocs()
 * + k, 1), verifies, and disarms with ost_test_ossl_fail(0, 0).
 */
#ifndef OSTROV_TEST_OSSL_FAULT_H
#define OSTROV_TEST_OSSL_FAULT_H

#include <stdbool.h>
#include <stdint.h>

/**
 * Install the counting allocators (CRYPTO_set_mem_functions()); only works
 * before OpenSSL's first allocation, so first thing in main().
 * @return false when OpenSSL refused (it had allocated already)
 */
bool ost_test_ossl_install(void);

/** @return OpenSSL allocations (malloc and realloc) counted so far */
uint64_t ost_test_ossl_allocs(void);

/**
 * Make the allocations numbered @p first .. @p first + @p count - 1 (as
 * counted by ost_test_ossl_allocs(), from 1) fail; UINT64_MAX for @p count
 * fails every one from @p first on. ost_test_ossl_fail(0, 0) disarms.
 * @param first the first allocation number to fail, 0 for none
 * @param count how many
 */
void ost_test_ossl_fail(uint64_t first, uint64_t count);

/** @return failures injected so far */
uint64_t ost_test_ossl_failed(void);

#endif
