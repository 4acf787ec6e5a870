/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared fixture of the cache unit tests (one executable, unit_cache): a
 * pinned fake clock, a temporary directory per test with a cache path in it,
 * helpers to build names and entries, and the tests that live in
 * test_cache_stress.c, for the table in test_cache.c.
 */
#ifndef OSTROV_TEST_CACHE_FIXTURE_H
#define OSTROV_TEST_CACHE_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "ostrov/cache.h"
#include "ostrov/log.h"

#include "cache/impl.h"

/* The test clock: wall seconds and monotonic ms that tests move by hand. */
struct fake_clock {
	int64_t wall;
	uint64_t mono;
};

struct fx {
	char dir[64];  /* temp dir holding the cache */
	char path[96]; /* the cache path inside it */
	struct fake_clock fc;
	struct ost_clock clock;
	struct ost_cache_config cfg;
	struct ost_cache *cache;
	struct ost_cache_reader *rd; /* freed by teardown if a test failed with it */
	struct ost_cache_batch *b;   /* same */
};

/* cmocka setup/teardown: a fresh temp dir with an 8 MiB no-sync config. */
int setup(void **state);
int teardown(void **state);
/* nftw callback removing one file or directory. */
int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw);
void open_cache(struct fx *f);
void reopen_cache(struct fx *f);
/* Dotted name to wire format into @p out (thread-safe). */
const uint8_t *wire_to(const char *s, uint8_t *out);
/* Same into one of four rotating static buffers (single-threaded use). */
const uint8_t *wire(const char *s);
/* An allocator over cmocka's test_malloc, so leaks fail tests. */
extern const struct ost_mm test_mm;
struct ost_cache_entry mk_entry(uint8_t tag, uint8_t rank, uint32_t ttl, const char *data);
/* Put one entry and commit it synchronously (asserts success). */
void put1(struct fx *f, const char *name, uint16_t type, struct ost_cache_entry e);
/* ost_cache_get(); on success the payload as a string in @p buf. */
int get1(struct fx *f, const char *name, uint16_t type, uint8_t tag, struct ost_cache_entry *e,
	 char *buf, size_t cap);
/* Count PATH.corrupt-* next to the cache. */
int count_corrupt(struct fx *f);
void write_random(const char *p, size_t n);
/* Assert the open cache is empty and works, then close it. */
void check_fresh_and_usable(struct fx *f);

/* test_cache_front.c */
void test_front_serves_copies(void **state);
void test_front_follows_commits(void **state);
void test_front_lending(void **state);
void test_front_limits(void **state);

/* test_cache_stress.c */
void test_damaged_tree(void **state);
void test_bounded_flood(void **state);
void test_threads_submit(void **state);
void test_submit_never_blocks(void **state);
void test_two_processes(void **state);
void test_kill9(void **state);
void test_two_process_flood(void **state);

#endif
