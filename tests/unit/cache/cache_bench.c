/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cache_bench: nanoseconds per cache lookup on a warm cache. Built with the
 * tests, never run by ctest (numbers depend on the machine). It lives here
 * rather than in cache/ because it reads the monotonic clock itself, which
 * cache/ code never does.
 *
 * Times are thread CPU time, so other load on a shared machine does not
 * inflate them.
 *
 * Usage: cache_bench [ENTRIES [LOOKUPS [PAYLOAD]]]  (defaults 100000, 2000000, 200)
 * Measures, over random names of a populated cache in a temp directory:
 *   hit        ost_cache_reader_get() inside an open read session
 *   hit-hot    the same over a hot set of 1,000 names
 *   hit+sess   ost_cache_reader_begin() + get + end per lookup (one per packet)
 *   miss       reader_get of random names with a type that is not cached
 *   copy       ost_cache_get() (copy into an arena, own read transaction)
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ostrov/cache.h"
#include "ostrov/log.h"
#include "ostrov/mm.h"

static int64_t bench_wall(void *ctx)
{
	(void)ctx;
	return 1700000000;
}

static uint64_t bench_mono(void *ctx)
{
	(void)ctx;
	return 0;
}

static const struct ost_clock_ops ops = {bench_mono, bench_wall, NULL, NULL};

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void mkname(uint8_t *out, unsigned i, const char *zone)
{
	char label[32];
	int n = snprintf(label, sizeof(label), "host%u", i);
	size_t o = 0;
	out[o++] = (uint8_t)n;
	memcpy(out + o, label, (size_t)n);
	o += (size_t)n;
	size_t z = strlen(zone);
	out[o++] = (uint8_t)z;
	memcpy(out + o, zone, z);
	o += z;
	out[o++] = 2;
	memcpy(out + o, "ru", 2);
	o += 2;
	out[o] = 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

int main(int argc, char **argv)
{
	unsigned entries = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 100000;
	unsigned lookups = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 2000000;
	size_t plen = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 200;
	if (plen < 1 || plen > 4096)
		plen = 200;
	ost_log_set_level(OST_LOG_WARN);
	char dir[] = "/tmp/ostrov-bench-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char path[64];
	snprintf(path, sizeof(path), "%s/cache", dir);
	struct ost_clock clock = {&ops, NULL};
	struct ost_cache_config cfg = {.path = path, .max_bytes = 512u << 20, .no_sync = true};
	struct ost_cache *cache;
	int rc = ost_cache_open(&cache, &cfg, &clock);
	if (rc) {
		fprintf(stderr, "open: %s\n", ost_strerror(rc));
		return 1;
	}

	uint8_t(*names)[64] = malloc((size_t)entries * sizeof(*names));
	uint8_t payload[4096];
	memset(payload, 0xab, sizeof(payload));
	struct ost_cache_batch *b;
	if (!names || ost_cache_batch_new(cache, &b))
		return 1;
	for (unsigned i = 0; i < entries; i++) {
		mkname(names[i], i, "example");
		struct ost_cache_entry e = {.tag = OST_CTAG_MSG,
					    .rank = OST_RANK_ANSWER,
					    .sec = OST_SEC_SECURE,
					    .ttl = 3600,
					    .data = payload,
					    .len = (uint32_t)plen};
		if (ost_cache_batch_put(b, names[i], 1, &e))
			return 1;
		if (ost_cache_batch_pending(b) == 1000 && ost_cache_batch_commit(b))
			return 1;
	}
	if (ost_cache_batch_commit(b))
		return 1;
	ost_cache_batch_free(b);

	unsigned *order = malloc((size_t)lookups * sizeof(*order));
	srand(1);
	for (unsigned i = 0; i < lookups; i++)
		order[i] = (unsigned)rand() % entries;

	struct ost_cache_reader *rd;
	if (ost_cache_reader_new(cache, &rd))
		return 1;
	struct ost_cache_entry g;
	unsigned long sink = 0, bad = 0;
	/* Warm the map. */
	if (ost_cache_reader_begin(rd))
		return 1;
	for (unsigned i = 0; i < entries; i++)
		bad += ost_cache_reader_get(rd, names[i], 1, OST_CTAG_MSG, &g) != 0;
	ost_cache_reader_end(rd);

	double t0 = now_ns();
	if (ost_cache_reader_begin(rd))
		return 1;
	for (unsigned i = 0; i < lookups; i++) {
		if (ost_cache_reader_get(rd, names[order[i]], 1, OST_CTAG_MSG, &g))
			bad++;
		else
			sink += g.data[0];
	}
	ost_cache_reader_end(rd);
	double hit = (now_ns() - t0) / lookups;

	t0 = now_ns();
	for (unsigned i = 0; i < lookups; i++) {
		if (ost_cache_reader_begin(rd))
			return 1;
		if (ost_cache_reader_get(rd, names[order[i]], 1, OST_CTAG_MSG, &g))
			bad++;
		else
			sink += g.data[0];
		ost_cache_reader_end(rd);
	}
	double hit_sess = (now_ns() - t0) / lookups;

	/* A hot set of 1,000 names, as popular names on a real resolver. */
	t0 = now_ns();
	if (ost_cache_reader_begin(rd))
		return 1;
	for (unsigned i = 0; i < lookups; i++) {
		if (ost_cache_reader_get(rd, names[order[i] % 1000], 1, OST_CTAG_MSG, &g))
			bad++;
		else
			sink += g.data[0];
	}
	ost_cache_reader_end(rd);
	double hot = (now_ns() - t0) / lookups;

	/* Misses: the same names under the type AAAA, which is not cached. */
	t0 = now_ns();
	if (ost_cache_reader_begin(rd))
		return 1;
	for (unsigned i = 0; i < lookups; i++)
		bad += ost_cache_reader_get(rd, names[order[i]], 28, OST_CTAG_MSG, &g) != -ENOENT;
	ost_cache_reader_end(rd);
	double miss = (now_ns() - t0) / lookups;

	struct ost_arena arena;
	struct ost_mm mm;
	ost_arena_init(&arena, 4096);
	ost_mm_from_arena(&mm, &arena);
	unsigned copies = lookups / 10;
	t0 = now_ns();
	for (unsigned i = 0; i < copies; i++) {
		if (ost_cache_get(cache, names[order[i]], 1, OST_CTAG_MSG, &mm, &g))
			bad++;
		else
			sink += g.data[0];
		ost_arena_reset(&arena);
	}
	double copy = (now_ns() - t0) / copies;
	ost_arena_deinit(&arena);

	struct ost_cache_stats st;
	ost_cache_stats_get(cache, &st);
	printf("cache_bench entries=%u lookups=%u payload=%zu\n", entries, lookups, plen);
	printf("  hit       %7.1f ns/op  (reader_get in an open session, all names)\n", hit);
	printf("  hit-hot   %7.1f ns/op  (same, 1000 hot names)\n", hot);
	printf("  hit+sess  %7.1f ns/op  (begin + get + end per lookup)\n", hit_sess);
	printf("  miss      %7.1f ns/op\n", miss);
	printf("  copy      %7.1f ns/op  (ost_cache_get into an arena)\n", copy);
	printf("  entries=%llu bytes_used=%llu errors=%lu (sink %lu)\n",
	       (unsigned long long)st.entries, (unsigned long long)st.bytes_used, bad, sink);
	ost_cache_reader_free(rd);
	ost_cache_close(cache);
	free(order);
	free(names);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return bad ? 1 : 0;
}
