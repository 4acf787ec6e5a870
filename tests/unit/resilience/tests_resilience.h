/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared declarations of the resilience unit tests: the test groups (one
 * executable, several files), a seeded RNG and a stderr capture used to check
 * the JSON log records.
 */
#ifndef OSTROV_TESTS_RESILIENCE_H
#define OSTROV_TESTS_RESILIENCE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct CMUnitTest;

extern const struct CMUnitTest failover_tests[];
extern const size_t failover_tests_n;
extern const struct CMUnitTest probe_tests[];
extern const size_t probe_tests_n;
extern const struct CMUnitTest drill_tests[];
extern const size_t drill_tests_n;

/** xorshift64* step. */
uint64_t test_rng(uint64_t *s);

/** Redirect stderr into a temporary file. */
struct capture {
	FILE *tmp;
	int saved_fd;
};
void capture_start(struct capture *c);
/** Restore stderr. @return everything written meanwhile (malloc'd) */
char *capture_end(struct capture *c);

#endif
