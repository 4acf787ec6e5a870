/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared helpers for the zones/ unit tests: a fake clock with a pinned wall
 * time, temporary directories, and test data paths.
 */
#ifndef OSTROV_TEST_ZONES_H
#define OSTROV_TEST_ZONES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ostrov/clock.h"

/** A clock whose wall time the test sets by hand. */
struct fake_clock {
	struct ost_clock clock; /**< pass &fc.clock to the code under test */
	int64_t wall;           /**< current wall time, seconds */
};

void fake_clock_init(struct fake_clock *fc, int64_t wall);

/** Path under the shared test data directory (static buffer, one at a time). */
const char *tdata(const char *rel);

/** @return whether the shared test data is present (tests skip otherwise) */
int have_testdata(void);

/** Create a fresh temporary directory; returns a malloc'd path. */
char *make_tmpdir(void);

/** Remove a directory tree made by make_tmpdir(). */
void remove_tree(const char *path);

/** Read a whole file into a malloc'd, NUL-terminated buffer. */
char *read_file(const char *path, size_t *len);

/** Write a buffer to a file; returns 0 or -1. */
int write_file(const char *path, const char *data, size_t len);

/** Wall-clock seconds (test-side measurement only). */
double now_seconds(void);

extern const struct CMUnitTest zones_tests[];
extern const size_t zones_tests_count;
extern const struct CMUnitTest store_tests[];
extern const size_t store_tests_count;
extern const struct CMUnitTest signed_tests[];
extern const size_t signed_tests_count;
extern const struct CMUnitTest exec_tests[];
extern const size_t exec_tests_count;

#endif
