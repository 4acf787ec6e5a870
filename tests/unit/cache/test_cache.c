/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for cache/: key order, round trips with metadata, RFC 2181 rank
 * rules, TTL clamps, serve-stale visibility, the allocation-free reader path,
 * subtree flush, persistence, recovery from corrupt or foreign files and
 * corrupt entries, bounded size under a flood with a hot set, two processes
 * sharing one environment, and kill -9 in the middle of a write flood.
 * Time comes from a pinned fake clock; nothing sleeps to wait for an event.
 */
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

/* ---------- counting allocator (verifies the hit path allocates nothing) ---------- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HAVE_MALLOC_HOOK 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_MALLOC_HOOK 0
#else
#define HAVE_MALLOC_HOOK 1
#endif
#else
#define HAVE_MALLOC_HOOK 1
#endif

static _Atomic long alloc_calls;
static _Atomic int alloc_counting;

#if HAVE_MALLOC_HOOK
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

#define EXPORT __attribute__((visibility("default")))
EXPORT void *malloc(size_t n)
{
	if (alloc_counting)
		alloc_calls++;
	return __libc_malloc(n);
}

EXPORT void *calloc(size_t a, size_t b)
{
	if (alloc_counting)
		alloc_calls++;
	return __libc_calloc(a, b);
}

EXPORT void *realloc(void *p, size_t n)
{
	if (alloc_counting)
		alloc_calls++;
	return __libc_realloc(p, n);
}

EXPORT void free(void *p)
{
	__libc_free(p);
}
#endif

/* ---------- fixtures ---------- */

struct fake_clock {
	int64_t wall;
	uint64_t mono;
};

static uint64_t fc_mono(void *ctx)
{
	return ((struct fake_clock *)ctx)->mono;
}

static int64_t fc_wall(void *ctx)
{
	return ((struct fake_clock *)ctx)->wall;
}

static struct ost_timer *fc_timer_start(void *ctx, uint64_t ms, ost_timer_cb cb, void *arg)
{
	(void)ctx, (void)ms, (void)cb, (void)arg;
	return NULL;
}

static void fc_timer_stop(void *ctx, struct ost_timer *t)
{
	(void)ctx, (void)t;
}

static const struct ost_clock_ops fc_ops = {fc_mono, fc_wall, fc_timer_start, fc_timer_stop};

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

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/ostrov-cache-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/cache", f->dir);
	f->fc.wall = 1700000000;
	f->clock.ops = &fc_ops;
	f->clock.ctx = &f->fc;
	f->cfg.path = f->path;
	f->cfg.max_bytes = 8u << 20;
	f->cfg.no_sync = true;
	*state = f;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	ost_cache_batch_free(f->b);
	if (f->rd)
		ost_cache_reader_end(f->rd);
	ost_cache_reader_free(f->rd);
	ost_cache_close(f->cache);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void open_cache(struct fx *f)
{
	assert_int_equal(ost_cache_open(&f->cache, &f->cfg, &f->clock), 0);
}

static void reopen_cache(struct fx *f)
{
	ost_cache_close(f->cache);
	f->cache = NULL;
	open_cache(f);
}

/* Dotted name to wire format ("" or "." is the root). */
static const uint8_t *wire_to(const char *s, uint8_t *out)
{
	size_t o = 0;
	while (*s && *s != '.') {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);
		out[o++] = (uint8_t)n;
		memcpy(out + o, s, n);
		o += n;
		s += n;
		if (*s == '.')
			s++;
	}
	out[o] = 0;
	return out;
}

/* wire_to() into one of four rotating static buffers (single-threaded use). */
static const uint8_t *wire(const char *s)
{
	static uint8_t bufs[4][256];
	static int which;
	return wire_to(s, bufs[which++ % 4]);
}

static void *tm_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return test_malloc(n);
}

static void tm_free(void *ctx, void *p)
{
	(void)ctx;
	test_free(p);
}

static const struct ost_mm test_mm = {NULL, tm_alloc, tm_free};

static struct ost_cache_entry mk_entry(uint8_t tag, uint8_t rank, uint32_t ttl, const char *data)
{
	struct ost_cache_entry e = {0};
	e.tag = tag;
	e.rank = rank;
	e.sec = OST_SEC_SECURE;
	e.ttl = ttl;
	e.data = (const uint8_t *)data;
	e.len = (uint32_t)strlen(data);
	return e;
}

static void put1(struct fx *f, const char *name, uint16_t type, struct ost_cache_entry e)
{
	struct ost_cache_batch *b;
	assert_int_equal(ost_cache_batch_new(f->cache, &b), 0);
	assert_int_equal(ost_cache_batch_put(b, wire(name), type, &e), 0);
	assert_int_equal(ost_cache_batch_pending(b), 1);
	assert_int_equal(ost_cache_batch_commit(b), 0);
	assert_int_equal(ost_cache_batch_pending(b), 0);
	ost_cache_batch_free(b);
}

/* Get a copy; returns the rc and, on success, the payload as a string in buf. */
static int get1(struct fx *f, const char *name, uint16_t type, uint8_t tag,
		struct ost_cache_entry *e, char *buf, size_t cap)
{
	int rc = ost_cache_get(f->cache, wire(name), type, tag, &test_mm, e);
	if (rc == 0) {
		assert_true(e->len < cap);
		if (e->len) {
			memcpy(buf, e->data, e->len);
			test_free((void *)e->data);
		} else {
			assert_null(e->data);
		}
		buf[e->len] = 0;
	}
	return rc;
}

/* ---------- tests ---------- */

static void test_key_order(void **state)
{
	(void)state;
	/* RFC 4034 §6.1 example order (lowercased), plus escapes and case. */
	const char *order[] = {"example",        "a.example", "yljkjljk.a.example", "z.a.example",
			       "zabc.a.example", "z.example", "*.z.example",        "zz.example"};
	uint8_t prev[OST_CACHE_KEY_MAX], cur[OST_CACHE_KEY_MAX];
	size_t plen = 0, clen;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		assert_int_equal(ost_cache_key_encode(wire(order[i]), 1, 0, cur, &clen), 0);
		if (i > 0) {
			size_t m = plen < clen ? plen : clen;
			int c = memcmp(prev, cur, m);
			assert_true(c < 0 || (c == 0 && plen < clen));
		}
		memcpy(prev, cur, clen);
		plen = clen;
	}
	/* Case folds; \0 inside a label must not collide with a label split. */
	uint8_t k1[OST_CACHE_KEY_MAX], k2[OST_CACHE_KEY_MAX];
	size_t l1, l2;
	assert_int_equal(ost_cache_key_encode(wire("WwW.ExAmple"), 1, 0, k1, &l1), 0);
	assert_int_equal(ost_cache_key_encode(wire("www.example"), 1, 0, k2, &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(k1, k2, l1);
	const uint8_t a0b[] = {3, 'a', 0, 'b', 2, 'r', 'u', 0};
	const uint8_t b_a[] = {1, 'b', 1, 'a', 2, 'r', 'u', 0};
	assert_int_equal(ost_cache_key_encode(a0b, 1, 0, k1, &l1), 0);
	assert_int_equal(ost_cache_key_encode(b_a, 1, 0, k2, &l2), 0);
	assert_false(l1 == l2 && memcmp(k1, k2, l1) == 0);
	/* The longest legal name (4 labels of binary zeros) fits the key limit. */
	uint8_t big[255];
	size_t o = 0;
	for (int l = 0; l < 4; l++) {
		size_t n = l < 3 ? 63 : 61;
		big[o++] = (uint8_t)n;
		memset(big + o, 0, n);
		o += n;
	}
	big[o++] = 0;
	assert_int_equal(o, 255);
	assert_int_equal(ost_cache_key_encode(big, 1, 0, k1, &l1), 0);
	assert_true(l1 <= OST_CACHE_KEY_MAX);
}

static void test_roundtrip(void **state)
{
	struct fx *f = *state;
	open_cache(f);
	struct ost_cache_entry e = mk_entry(OST_CTAG_RRSET, OST_RANK_AUTH_ANSWER, 300, "payload-1");
	e.sec = OST_SEC_INSECURE;
	e.flags = 0x5a;
	e.ede = 22;
	e.rcode = 3;
	e.stored_at = 42; /* ignored: set from the clock */
	put1(f, "WWW.Example.RU", 1, e);

	struct ost_cache_entry g;
	char buf[64];
	assert_int_equal(get1(f, "www.example.ru", 1, OST_CTAG_RRSET, &g, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "payload-1");
	assert_int_equal(g.tag, OST_CTAG_RRSET);
	assert_int_equal(g.rank, OST_RANK_AUTH_ANSWER);
	assert_int_equal(g.sec, OST_SEC_INSECURE);
	assert_int_equal(g.flags, 0x5a);
	assert_int_equal(g.ede, 22);
	assert_int_equal(g.rcode, 3);
	assert_int_equal(g.ttl, 300);
	assert_int_equal(g.stored_at, f->fc.wall);
	assert_int_equal(g.expires_at, f->fc.wall + 300);

	/* Other type, other tag, other name: misses. */
	assert_int_equal(get1(f, "www.example.ru", 28, OST_CTAG_RRSET, &g, buf, 64), -ENOENT);
	assert_int_equal(get1(f, "www.example.ru", 1, OST_CTAG_NEG, &g, buf, 64), -ENOENT);
	assert_int_equal(get1(f, "example.ru", 1, OST_CTAG_RRSET, &g, buf, 64), -ENOENT);

	/* Zero-copy reader sees the same. */
	struct ost_cache_reader *rd;
	assert_int_equal(ost_cache_reader_new(f->cache, &rd), 0);
	assert_int_equal(ost_cache_reader_begin(rd), 0);
	assert_int_equal(ost_cache_reader_get(rd, wire("www.EXAMPLE.ru"), 1, OST_CTAG_RRSET, &g),
			 0);
	assert_int_equal(g.len, 9);
	assert_memory_equal(g.data, "payload-1", 9);
	assert_int_equal(g.ede, 22);
	ost_cache_reader_end(rd);

	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 3);
	assert_int_equal(st.inserts, 1);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.commits, 1);
	assert_true(st.bytes_used > 0 && st.bytes_used <= st.bytes_max);
	ost_cache_reader_free(rd);
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.hits, 2); /* counters of a freed reader are kept */

	/* Empty payloads are legal (e.g. a failure record). */
	put1(f, "fail.example.ru", 1, mk_entry(OST_CTAG_FAIL, OST_RANK_NONE, 5, ""));
	assert_int_equal(get1(f, "fail.example.ru", 1, OST_CTAG_FAIL, &g, buf, 64), 0);
	assert_int_equal(g.len, 0);
}

static void test_bad_input(void **state)
{
	struct fx *f = *state;
	open_cache(f);
	uint8_t long_label[70] = {64};
	memset(long_label + 1, 'a', 64);
	uint8_t pointer[] = {0xc0, 0x0c};
	uint8_t too_long[300];
	for (int i = 0; i < 299; i += 2) {
		too_long[i] = 1;
		too_long[i + 1] = 'x';
	}
	too_long[299] = 0;
	const uint8_t *bad[] = {long_label, pointer, too_long};
	struct ost_cache_batch *b;
	struct ost_cache_entry e = mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, "x"), g;
	assert_int_equal(ost_cache_batch_new(f->cache, &b), 0);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(ost_cache_batch_put(b, bad[i], 1, &e), -EINVAL);
		assert_int_equal(ost_cache_get(f->cache, bad[i], 1, OST_CTAG_RRSET, &test_mm, &g),
				 -EINVAL);
		assert_int_equal(ost_cache_flush(f->cache, bad[i]), -EINVAL);
	}
	assert_int_equal(ost_cache_batch_put(b, NULL, 1, &e), -EINVAL);
	e.tag = OST_CTAG_COUNT;
	assert_int_equal(ost_cache_batch_put(b, wire("a.ru"), 1, &e), -EINVAL);
	e.tag = OST_CTAG_RRSET;
	e.rank = 200;
	assert_int_equal(ost_cache_batch_put(b, wire("a.ru"), 1, &e), -EINVAL);
	e.rank = OST_RANK_ANSWER;
	e.len = 1u << 20;
	assert_int_equal(ost_cache_batch_put(b, wire("a.ru"), 1, &e), -E2BIG);
	assert_int_equal(ost_cache_batch_pending(b), 0);
	ost_cache_batch_free(b);
	struct ost_cache_config bad_cfg = {0};
	struct ost_cache *c;
	assert_int_equal(ost_cache_open(&c, &bad_cfg, &f->clock), -EINVAL);
}

static void test_rank_rules(void **state)
{
	struct fx *f = *state;
	open_cache(f);
	struct ost_cache_entry g;
	char buf[64];
	struct ost_cache_stats st;

	put1(f, "ns1.example.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_AUTH_ANSWER, 100, "auth"));
	/* Glue never overwrites an unexpired authoritative answer (RFC 2181 §5.4.1). */
	put1(f, "ns1.example.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ADDITIONAL, 100, "glue"));
	assert_int_equal(get1(f, "ns1.example.ru", 1, OST_CTAG_RRSET, &g, buf, 64), 0);
	assert_string_equal(buf, "auth");
	assert_int_equal(g.rank, OST_RANK_AUTH_ANSWER);
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.rank_refused, 1);
	assert_int_equal(st.inserts, 1);

	/* Equal rank replaces (fresher), higher rank replaces. */
	put1(f, "ns1.example.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_AUTH_ANSWER, 100, "auth2"));
	assert_int_equal(get1(f, "ns1.example.ru", 1, OST_CTAG_RRSET, &g, buf, 64), 0);
	assert_string_equal(buf, "auth2");
	put1(f, "ns1.example.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_MIRROR, 100, "mirror"));
	assert_int_equal(get1(f, "ns1.example.ru", 1, OST_CTAG_RRSET, &g, buf, 64), 0);
	assert_string_equal(buf, "mirror");

	/* Once the higher-ranked entry expired, lower rank may replace it. */
	f->fc.wall += 101;
	put1(f, "ns1.example.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ADDITIONAL, 100, "glue2"));
	assert_int_equal(get1(f, "ns1.example.ru", 1, OST_CTAG_RRSET, &g, buf, 64), 0);
	assert_string_equal(buf, "glue2");
	assert_int_equal(g.rank, OST_RANK_ADDITIONAL);
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.rank_refused, 1);

	/* Within one batch the same rule applies in order. */
	struct ost_cache_batch *b;
	assert_int_equal(ost_cache_batch_new(f->cache, &b), 0);
	struct ost_cache_entry hi = mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 50, "hi");
	struct ost_cache_entry lo = mk_entry(OST_CTAG_RRSET, OST_RANK_AUTHORITY, 50, "lo");
	assert_int_equal(ost_cache_batch_put(b, wire("x.ru"), 2, &hi), 0);
	assert_int_equal(ost_cache_batch_put(b, wire("x.ru"), 2, &lo), 0);
	assert_int_equal(ost_cache_batch_commit(b), 0);
	ost_cache_batch_free(b);
	assert_int_equal(get1(f, "x.ru", 2, OST_CTAG_RRSET, &g, buf, 64), 0);
	assert_string_equal(buf, "hi");
}

static void test_ttl_clamps(void **state)
{
	struct fx *f = *state;
	f->cfg.min_ttl = 60;
	f->cfg.max_ttl = 3600;
	f->cfg.max_neg_ttl = 300;
	open_cache(f);
	struct {
		const char *name;
		uint8_t tag;
		uint8_t sec;
		uint32_t in, want;
	} cases[] = {
		{"low.ru", OST_CTAG_RRSET, OST_SEC_SECURE, 5, 60},
		{"high.ru", OST_CTAG_RRSET, OST_SEC_SECURE, 99999, 3600},
		{"mid.ru", OST_CTAG_MSG, OST_SEC_SECURE, 777, 777},
		{"neg-high.ru", OST_CTAG_NEG, OST_SEC_SECURE, 1000, 300},
		{"neg-low.ru", OST_CTAG_NEG, OST_SEC_SECURE, 10, 10},
		{"fail-0.ru", OST_CTAG_FAIL, OST_SEC_UNCHECKED, 0, 1},
		{"fail-big.ru", OST_CTAG_FAIL, OST_SEC_UNCHECKED, 9999, 300},
		{"bogus.ru", OST_CTAG_RRSET, OST_SEC_BOGUS, 3000, 60},
		{"huge.ru", OST_CTAG_RRSET, OST_SEC_SECURE, 0xffffffffu, 3600},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ost_cache_entry e =
			mk_entry(cases[i].tag, OST_RANK_ANSWER, cases[i].in, "d");
		e.sec = cases[i].sec;
		put1(f, cases[i].name, 1, e);
		struct ost_cache_entry g;
		char buf[8];
		assert_int_equal(get1(f, cases[i].name, 1, cases[i].tag, &g, buf, 8), 0);
		assert_int_equal(g.ttl, cases[i].want);
		assert_int_equal(g.expires_at - g.stored_at, cases[i].want);
	}

	struct ost_cache_config c = {0};
	ost_cache_config_clamp(&c);
	assert_int_equal(c.max_ttl, 86400);
	assert_int_equal(c.max_neg_ttl, 3600);
	assert_int_equal(c.max_bytes, 256u << 20);
	assert_int_equal(c.touch_interval, 60);
	c = (struct ost_cache_config){.max_bytes = 10, .min_ttl = 500, .max_ttl = 100};
	ost_cache_config_clamp(&c);
	assert_int_equal(c.max_bytes, 1u << 20);
	assert_int_equal(c.min_ttl, 100);
	assert_int_equal(c.max_neg_ttl, 100);
}

static void test_stale_and_countdown(void **state)
{
	struct fx *f = *state;
	open_cache(f);
	put1(f, "old.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 10, "stale-data"));
	struct ost_cache_entry g;
	char buf[32];
	f->fc.wall += 3;
	assert_int_equal(get1(f, "old.ru", 1, OST_CTAG_RRSET, &g, buf, 32), 0);
	assert_int_equal(ost_cache_ttl_left(&g, f->fc.wall), 7);
	/* Long expired: still returned for serve-stale (RFC 8767), TTL left 0. */
	f->fc.wall += 86400;
	assert_int_equal(get1(f, "old.ru", 1, OST_CTAG_RRSET, &g, buf, 32), 0);
	assert_string_equal(buf, "stale-data");
	assert_true(g.expires_at < f->fc.wall);
	assert_int_equal(ost_cache_ttl_left(&g, f->fc.wall), 0);
	/* Survives commits that do not need room. */
	put1(f, "other.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 10, "x"));
	assert_int_equal(get1(f, "old.ru", 1, OST_CTAG_RRSET, &g, buf, 32), 0);
}

static void test_reader_no_alloc(void **state)
{
	struct fx *f = *state;
	open_cache(f);
	for (int i = 0; i < 20; i++) {
		char n[32];
		snprintf(n, sizeof(n), "h%d.example.ru", i);
		put1(f, n, 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 300, "answer-bytes"));
	}
	struct ost_cache_reader *rd;
	assert_int_equal(ost_cache_reader_new(f->cache, &rd), 0);
	f->fc.wall += 3600; /* every hit will also queue a touch (interval 60 s) */
	const uint8_t *names[21];
	char buf[21][32];
	for (int i = 0; i < 21; i++) {
		snprintf(buf[i], sizeof(buf[i]), "h%d.example.ru", i);
		uint8_t *w = malloc(256);
		memcpy(w, wire(buf[i]), 256);
		names[i] = w;
	}
	if (!HAVE_MALLOC_HOOK) {
		for (int i = 0; i < 21; i++)
			free((void *)names[i]);
		ost_cache_reader_free(rd);
		skip();
	}
	alloc_calls = 0;
	alloc_counting = 1;
	long hits = 0, misses = 0;
	for (int round = 0; round < 50; round++) {
		if (ost_cache_reader_begin(rd))
			break;
		for (int i = 0; i < 21; i++) {
			struct ost_cache_entry g;
			int rc = ost_cache_reader_get(rd, names[i], 1, OST_CTAG_MSG, &g);
			if (rc == 0 && g.len == 12)
				hits++;
			else if (rc == -ENOENT)
				misses++;
		}
		ost_cache_reader_end(rd);
	}
	alloc_counting = 0;
	assert_int_equal(alloc_calls, 0);
	assert_int_equal(hits, 50 * 20);
	assert_int_equal(misses, 50);
	/* The hits queued touches; the writer applies them at the next commit. */
	assert_int_equal(ost_cache_maintain(f->cache), 0);
	struct ost_cache_entry g;
	char out[32];
	assert_int_equal(get1(f, "h3.example.ru", 1, OST_CTAG_MSG, &g, out, 32), 0);
	for (int i = 0; i < 21; i++)
		free((void *)names[i]);
	ost_cache_reader_free(rd);
}

static void test_flush_subtree(void **state)
{
	struct fx *f = *state;
	open_cache(f);
	const char *in[] = {"example.ru",  "www.example.ru", "a.b.example.ru", "ru",
			    "example2.ru", "xexample.ru",    "example.com"};
	for (size_t i = 0; i < 7; i++) {
		put1(f, in[i], 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, in[i]));
		put1(f, in[i], 28, mk_entry(OST_CTAG_NEG, OST_RANK_ANSWER, 60, in[i]));
	}
	assert_int_equal(ost_cache_flush(f->cache, wire("EXAMPLE.ru")), 6);
	struct ost_cache_entry g;
	char buf[32];
	assert_int_equal(get1(f, "example.ru", 1, OST_CTAG_RRSET, &g, buf, 32), -ENOENT);
	assert_int_equal(get1(f, "www.example.ru", 28, OST_CTAG_NEG, &g, buf, 32), -ENOENT);
	assert_int_equal(get1(f, "a.b.example.ru", 1, OST_CTAG_RRSET, &g, buf, 32), -ENOENT);
	const char *kept[] = {"ru", "example2.ru", "xexample.ru", "example.com"};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(get1(f, kept[i], 1, OST_CTAG_RRSET, &g, buf, 32), 0);
		assert_string_equal(buf, kept[i]);
	}
	assert_int_equal(ost_cache_flush(f->cache, wire("nothing.here")), 0);
	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.entries, 8);
	assert_int_equal(ost_cache_flush(f->cache, NULL), 8);
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.entries, 0);
	/* Still usable after a full flush. */
	put1(f, "ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, "back"));
	assert_int_equal(get1(f, "ru", 1, OST_CTAG_RRSET, &g, buf, 32), 0);
	/* Flushing the root removes everything too. */
	assert_int_equal(ost_cache_flush(f->cache, wire(".")), 1);
}

static void test_persistence(void **state)
{
	struct fx *f = *state;
	f->cfg.no_sync = false; /* the default durability mode */
	open_cache(f);
	put1(f, "keep.example.ru", 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 300, "kept"));
	reopen_cache(f);
	struct ost_cache_entry g;
	char buf[16];
	assert_int_equal(get1(f, "keep.example.ru", 1, OST_CTAG_MSG, &g, buf, 16), 0);
	assert_string_equal(buf, "kept");
	assert_int_equal(g.expires_at, f->fc.wall + 300);

	/* A larger configured size grows the map; a smaller one keeps the file's. */
	struct ost_cache_stats st;
	f->cfg.max_bytes = 16u << 20;
	reopen_cache(f);
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.bytes_max, 16u << 20);
	put1(f, "grown.example.ru", 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 300, "g"));
	f->cfg.max_bytes = 4u << 20;
	reopen_cache(f);
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.bytes_max, 16u << 20);
	assert_int_equal(get1(f, "keep.example.ru", 1, OST_CTAG_MSG, &g, buf, 16), 0);
}

/* Count PATH.corrupt-* next to the cache. */
static int count_corrupt(struct fx *f)
{
	DIR *d = opendir(f->dir);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strncmp(de->d_name, "cache.corrupt-", 14) == 0;
	closedir(d);
	return n;
}

static void write_random(const char *p, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	srand(7);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)rand();
		assert_int_equal(write(fd, &c, 1), 1);
	}
	close(fd);
}

/* A raw LMDB environment at the cache path, as another program would make it. */
static void make_raw_env(struct fx *f, bool with_meta, uint32_t version)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	mkdir(f->path, 0700);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, f->path, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	if (with_meta) {
		assert_int_equal(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), 0);
		uint32_t fmt[2] = {OST_CACHE_FORMAT_MAGIC, version};
		MDB_val k = {6, "format"}, v = {sizeof(fmt), fmt};
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
		assert_int_equal(mdb_dbi_open(txn, "entries", MDB_CREATE, &dbi), 0);
	} else {
		assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
		MDB_val k = {5, "hello"}, v = {5, "world"};
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void check_fresh_and_usable(struct fx *f)
{
	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.entries, 0);
	put1(f, "after.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, "ok"));
	struct ost_cache_entry g;
	char buf[8];
	assert_int_equal(get1(f, "after.ru", 1, OST_CTAG_RRSET, &g, buf, 8), 0);
	ost_cache_close(f->cache);
	f->cache = NULL;
}

static void test_corrupt_files(void **state)
{
	struct fx *f = *state;
	char p[128];

	/* Random bytes as data.mdb. */
	mkdir(f->path, 0700);
	snprintf(p, sizeof(p), "%s/data.mdb", f->path);
	write_random(p, 65536);
	open_cache(f);
	assert_int_equal(count_corrupt(f), 1);
	check_fresh_and_usable(f);
	nftw(f->path, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	/* A regular file where the directory should be. */
	write_random(f->path, 1000);
	f->fc.wall += 1;
	open_cache(f);
	assert_int_equal(count_corrupt(f), 2);
	check_fresh_and_usable(f);
	nftw(f->path, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	/* A valid LMDB environment of another program. */
	make_raw_env(f, false, 0);
	f->fc.wall += 1;
	open_cache(f);
	assert_int_equal(count_corrupt(f), 3);
	check_fresh_and_usable(f);
	nftw(f->path, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	/* Ours, but another format version. */
	make_raw_env(f, true, OST_CACHE_FORMAT_VERSION + 1);
	open_cache(f); /* same second: the name gets a -1 suffix */
	assert_int_equal(count_corrupt(f), 4);
	check_fresh_and_usable(f);

	/* A good cache is not moved aside. */
	open_cache(f);
	assert_int_equal(count_corrupt(f), 4);
	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.entries, 1);
}

/* Overwrite the value under (name, type, tag) through raw LMDB. */
static void poke_value(struct fx *f, const char *name, uint16_t type, uint8_t tag, const void *val,
		       size_t vlen, size_t flip_at)
{
	uint8_t key[OST_CACHE_KEY_MAX];
	size_t klen;
	assert_int_equal(ost_cache_key_encode(wire(name), type, tag, key, &klen), 0);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_set_mapsize(env, f->cfg.max_bytes), 0);
	assert_int_equal(mdb_env_open(env, f->path, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "entries", 0, &dbi), 0);
	MDB_val k = {klen, key}, v;
	uint8_t copy[256];
	if (!val) {
		assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
		assert_true(v.mv_size <= sizeof(copy) && flip_at < v.mv_size);
		memcpy(copy, v.mv_data, v.mv_size);
		copy[flip_at] ^= 0x01;
		v.mv_data = copy;
	} else {
		v.mv_size = vlen;
		v.mv_data = (void *)val;
	}
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void test_corrupt_entries(void **state)
{
	struct fx *f = *state;
	open_cache(f);
	put1(f, "garbage.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, "fine"));
	put1(f, "flipped.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, "fine-too"));
	put1(f, "short.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, "fine"));
	put1(f, "good.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, "good"));
	ost_cache_close(f->cache);
	f->cache = NULL;
	uint8_t junk[100];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	poke_value(f, "garbage.ru", 1, OST_CTAG_RRSET, junk, sizeof(junk), 0);
	poke_value(f, "flipped.ru", 1, OST_CTAG_RRSET, NULL, 0, OST_CACHE_HDR_LEN + 2);
	poke_value(f, "short.ru", 1, OST_CTAG_RRSET, junk, 7, 0);
	open_cache(f);

	struct ost_cache_entry g;
	char buf[32];
	struct ost_cache_reader *rd;
	assert_int_equal(ost_cache_reader_new(f->cache, &rd), 0);
	assert_int_equal(ost_cache_reader_begin(rd), 0);
	assert_int_equal(ost_cache_reader_get(rd, wire("garbage.ru"), 1, OST_CTAG_RRSET, &g),
			 OST_ECORRUPT);
	assert_int_equal(ost_cache_reader_get(rd, wire("flipped.ru"), 1, OST_CTAG_RRSET, &g),
			 OST_ECORRUPT);
	assert_int_equal(ost_cache_reader_get(rd, wire("good.ru"), 1, OST_CTAG_RRSET, &g), 0);
	ost_cache_reader_end(rd);
	assert_int_equal(get1(f, "short.ru", 1, OST_CTAG_RRSET, &g, buf, 32), OST_ECORRUPT);
	/* Asking with another tag than the stored one is corruption, not a hit. */
	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.decode_errors, 3);
	assert_int_equal(st.entries, 4);

	/* The next commit deletes what the readers reported. */
	assert_int_equal(ost_cache_maintain(f->cache), 0);
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(get1(f, "garbage.ru", 1, OST_CTAG_RRSET, &g, buf, 32), -ENOENT);
	assert_int_equal(get1(f, "flipped.ru", 1, OST_CTAG_RRSET, &g, buf, 32), -ENOENT);
	assert_int_equal(get1(f, "short.ru", 1, OST_CTAG_RRSET, &g, buf, 32), -ENOENT);
	assert_int_equal(get1(f, "good.ru", 1, OST_CTAG_RRSET, &g, buf, 32), 0);
	ost_cache_reader_free(rd);

	/* A corrupt entry never blocks a write over it (rank is unknown). */
	reopen_cache(f);
	put1(f, "junk2.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_MIRROR, 60, "x"));
	ost_cache_close(f->cache);
	f->cache = NULL;
	poke_value(f, "junk2.ru", 1, OST_CTAG_RRSET, junk, sizeof(junk), 0);
	open_cache(f);
	put1(f, "junk2.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ADDITIONAL, 60, "new"));
	assert_int_equal(get1(f, "junk2.ru", 1, OST_CTAG_RRSET, &g, buf, 32), 0);
	assert_string_equal(buf, "new");
}

static off_t file_size(const char *dir, const char *name)
{
	char p[160];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

static void test_bounded_flood(void **state)
{
	struct fx *f = *state;
	f->cfg.max_bytes = 16u << 20;
	f->cfg.touch_interval = 1;
	open_cache(f);
	enum {
		HOT = 64,
		PER_BATCH = 200,
		PAYLOAD = 400
	};
	char payload[PAYLOAD + 1];
	memset(payload, 'p', PAYLOAD);
	payload[PAYLOAD] = 0;
	char name[64];
	for (int i = 0; i < HOT; i++) {
		snprintf(name, sizeof(name), "hot%d.popular.ru", i);
		put1(f, name, 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 86400, "hot"));
	}
	struct ost_cache_reader *rd;
	struct ost_cache_batch *b;
	assert_int_equal(ost_cache_reader_new(f->cache, &rd), 0);
	assert_int_equal(ost_cache_batch_new(f->cache, &b), 0);
	f->rd = rd;
	f->b = b;
	/* About 4x the map in distinct names, 3x if counting only payloads. */
	size_t total = 0, target = 4 * f->cfg.max_bytes;
	unsigned n = 0;
	uint64_t max_entries = 0;
	int commits = 0;
	while (total < target) {
		f->fc.wall += 1;
		for (int j = 0; j < PER_BATCH; j++, n++) {
			snprintf(name, sizeof(name), "flood%u.zone%u.example", n, n % 97);
			struct ost_cache_entry e =
				mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 86400, payload);
			assert_int_equal(ost_cache_batch_put(b, wire(name), 1, &e), 0);
			total += PAYLOAD + strlen(name) + OST_CACHE_HDR_LEN;
		}
		assert_int_equal(ost_cache_batch_commit(b), 0);
		commits++;
		/* Hot names are read between batches; their hits are reported. */
		assert_int_equal(ost_cache_reader_begin(rd), 0);
		for (int i = 0; i < HOT; i++) {
			struct ost_cache_entry g;
			snprintf(name, sizeof(name), "hot%d.popular.ru", i);
			assert_int_equal(ost_cache_reader_get(rd, wire(name), 1, OST_CTAG_MSG, &g),
					 0);
		}
		ost_cache_reader_end(rd);
		struct ost_cache_stats st;
		ost_cache_stats_get(f->cache, &st);
		if (st.entries > max_entries)
			max_entries = st.entries;
		assert_true(st.bytes_used <= st.bytes_max);
	}
	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	print_message("flood: commits=%d entries=%llu max=%llu evictions=%llu rounds=%llu "
		      "used=%llu/%llu\n",
		      commits, (unsigned long long)st.entries, (unsigned long long)max_entries,
		      (unsigned long long)st.evictions, (unsigned long long)st.gc_rounds,
		      (unsigned long long)st.bytes_used, (unsigned long long)st.bytes_max);
	assert_true(st.evictions > 0);
	assert_true(st.gc_rounds > 0);
	/* Not wiped: a good share of the peak is still there. */
	assert_true(st.entries * 3 >= max_entries);
	assert_true(file_size(f->path, "data.mdb") <= (off_t)f->cfg.max_bytes);
	/* The recent flood survives better than the old: the first batch is gone. */
	struct ost_cache_entry g;
	char buf[PAYLOAD + 1];
	assert_int_equal(get1(f, "flood0.zone0.example", 1, OST_CTAG_RRSET, &g, buf, sizeof(buf)),
			 -ENOENT);
	snprintf(name, sizeof(name), "flood%u.zone%u.example", n - 1, (n - 1) % 97);
	assert_int_equal(get1(f, name, 1, OST_CTAG_RRSET, &g, buf, sizeof(buf)), 0);
	for (int i = 0; i < HOT; i++) {
		snprintf(name, sizeof(name), "hot%d.popular.ru", i);
		assert_int_equal(get1(f, name, 1, OST_CTAG_MSG, &g, buf, sizeof(buf)), 0);
	}
	ost_cache_batch_free(b);
	ost_cache_reader_free(rd);
	f->rd = NULL;
	f->b = NULL;
}

static void test_two_processes(void **state)
{
	struct fx *f = *state;
	open_cache(f); /* the parent's environment is open across the fork */
	int to_child[2], to_parent[2];
	assert_int_equal(pipe(to_child), 0);
	assert_int_equal(pipe(to_parent), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Child: its own environment on the same file. Learn one name. */
		struct ost_cache *c;
		char x;
		int code = 0;
		if (ost_cache_open(&c, &f->cfg, &f->clock))
			_exit(10);
		struct ost_cache_batch *b;
		struct ost_cache_entry e =
			mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 300, "learned-by-child");
		if (ost_cache_batch_new(c, &b) || ost_cache_batch_put(b, wire("c.ru"), 1, &e) ||
		    ost_cache_batch_commit(b))
			code = 11;
		ost_cache_batch_free(b);
		if (write(to_parent[1], "w", 1) != 1)
			code = 12;
		/* Wait for the parent's write, then answer it from the cache. */
		if (read(to_child[0], &x, 1) != 1)
			code = 13;
		struct ost_cache_reader *rd;
		struct ost_cache_entry g;
		if (ost_cache_reader_new(c, &rd) || ost_cache_reader_begin(rd))
			_exit(14);
		if (ost_cache_reader_get(rd, wire("p.ru"), 1, OST_CTAG_MSG, &g) || g.len != 17 ||
		    memcmp(g.data, "learned-by-parent", 17))
			code = 15;
		ost_cache_reader_end(rd);
		ost_cache_reader_free(rd);
		ost_cache_close(c);
		_exit(code);
	}
	char x;
	assert_int_equal(read(to_parent[0], &x, 1), 1);
	struct ost_cache_entry g;
	char buf[32];
	assert_int_equal(get1(f, "c.ru", 1, OST_CTAG_MSG, &g, buf, 32), 0);
	assert_string_equal(buf, "learned-by-child");
	put1(f, "p.ru", 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 300, "learned-by-parent"));
	assert_int_equal(write(to_child[1], "p", 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
}

/* Child of the kill test: commit numbered batches forever, acking each. */
static void flood_child(struct fx *f, int round, int ack_fd)
{
	struct ost_cache *c;
	if (ost_cache_open(&c, &f->cfg, &f->clock))
		_exit(20);
	struct ost_cache_batch *b;
	if (ost_cache_batch_new(c, &b))
		_exit(21);
	char name[64], data[200];
	memset(data, 'k', sizeof(data) - 1);
	data[sizeof(data) - 1] = 0;
	for (uint32_t i = 0;; i++) {
		for (int j = 0; j < 200; j++) {
			snprintf(name, sizeof(name), "n%d-%u-%d.kill.test", round, i, j);
			struct ost_cache_entry e =
				mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 3600, data);
			if (ost_cache_batch_put(b, wire(name), 1, &e))
				_exit(22);
		}
		if (ost_cache_batch_commit(b))
			_exit(23);
		if (write(ack_fd, &i, sizeof(i)) != sizeof(i))
			_exit(24);
	}
}

static void test_kill9(void **state)
{
	struct fx *f = *state;
	f->cfg.no_sync = false; /* the default mode is what must survive */
	f->cfg.max_bytes = 64u << 20;
	srand((unsigned)getpid());
	uint64_t total_checked = 0;
	for (int round = 0; round < 10; round++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			flood_child(f, round, p[1]);
		}
		close(p[1]);
		/* Wait until the child is well into its flood, then kill it at a
		 * random point of the next batch or commit. */
		int want = 1 + rand() % 4;
		uint32_t acked = 0, got;
		for (int k = 0; k < want; k++) {
			assert_int_equal(read(p[0], &got, sizeof(got)), sizeof(got));
			acked = got + 1;
		}
		struct timespec jitter = {0, (long)(rand() % 3000) * 1000};
		nanosleep(&jitter, NULL); /* randomise the instant, not waiting for anything */
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		/* More acks may sit in the pipe: those batches committed too. */
		while (read(p[0], &got, sizeof(got)) == sizeof(got))
			acked = got + 1;
		close(p[0]);

		open_cache(f);
		assert_int_equal(count_corrupt(f), 0);
		struct ost_cache_reader *rd;
		assert_int_equal(ost_cache_reader_new(f->cache, &rd), 0);
		assert_int_equal(ost_cache_reader_begin(rd), 0);
		char name[64];
		for (uint32_t i = 0; i < acked; i++) {
			for (int j = 0; j < 200; j += 7) {
				struct ost_cache_entry g;
				snprintf(name, sizeof(name), "n%d-%u-%d.kill.test", round, i, j);
				assert_int_equal(
					ost_cache_reader_get(rd, wire(name), 1, OST_CTAG_RRSET, &g),
					0);
				assert_int_equal(g.len, 199);
				total_checked++;
			}
		}
		/* The batch in flight at the kill is all there or not at all. */
		int present = 0;
		for (int j = 0; j < 200; j++) {
			struct ost_cache_entry g;
			snprintf(name, sizeof(name), "n%d-%u-%d.kill.test", round, acked, j);
			int rc = ost_cache_reader_get(rd, wire(name), 1, OST_CTAG_RRSET, &g);
			assert_true(rc == 0 || rc == -ENOENT);
			present += rc == 0;
		}
		assert_true(present == 0 || present == 200);
		ost_cache_reader_end(rd);
		ost_cache_reader_free(rd);
		/* And it still takes writes. */
		put1(f, "after-kill.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, "ok"));
		ost_cache_close(f->cache);
		f->cache = NULL;
	}
	assert_true(total_checked > 0);

	/* The worst instant: killed while holding LMDB's writer lock. */
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		MDB_env *env;
		MDB_txn *txn;
		if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 4) ||
		    mdb_env_set_mapsize(env, f->cfg.max_bytes) ||
		    mdb_env_open(env, f->path, 0, 0600) || mdb_txn_begin(env, NULL, 0, &txn))
			_exit(30);
		if (write(p[1], "L", 1) != 1)
			_exit(31);
		pause();
		_exit(32);
	}
	char x;
	assert_int_equal(read(p[0], &x, 1), 1);
	kill(pid, SIGKILL);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(p[0]);
	close(p[1]);
	alarm(20); /* a stuck writer lock fails the test instead of hanging it */
	open_cache(f);
	put1(f, "after-lock-holder.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, "ok"));
	alarm(0);
	assert_int_equal(count_corrupt(f), 0);
}

struct worker_arg {
	struct fx *f;
	int id;
	int failures;
	long hits;
};

/* A worker: read the hot set with its reader, learn names, submit batches. */
static void *worker_main(void *p)
{
	struct worker_arg *a = p;
	struct ost_cache_reader *rd;
	struct ost_cache_batch *b;
	if (ost_cache_reader_new(a->f->cache, &rd) || ost_cache_batch_new(a->f->cache, &b)) {
		a->failures++;
		return NULL;
	}
	char name[64];
	uint8_t w[256];
	for (int i = 0; i < 40; i++) {
		if (ost_cache_reader_begin(rd)) {
			a->failures++;
			continue;
		}
		for (int h = 0; h < 16; h++) {
			struct ost_cache_entry g;
			snprintf(name, sizeof(name), "hot%d.t.ru", h);
			wire_to(name, w); /* wire() is not thread-safe */
			if (ost_cache_reader_get(rd, w, 1, OST_CTAG_MSG, &g) || g.len != 3)
				a->failures++;
			else
				a->hits++;
		}
		ost_cache_reader_end(rd);
		for (int j = 0; j < 50; j++) {
			snprintf(name, sizeof(name), "w%d-%d-%d.t.ru", a->id, i, j);
			wire_to(name, w);
			struct ost_cache_entry e =
				mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 600, "learned");
			if (ost_cache_batch_put(b, w, 1, &e))
				a->failures++;
		}
		if (ost_cache_batch_submit(b))
			a->failures++;
	}
	ost_cache_batch_free(b);
	ost_cache_reader_free(rd);
	return NULL;
}

static void test_threads_submit(void **state)
{
	struct fx *f = *state;
	open_cache(f);
	char name[64];
	for (int h = 0; h < 16; h++) {
		snprintf(name, sizeof(name), "hot%d.t.ru", h);
		put1(f, name, 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 600, "hot"));
	}
	pthread_t t[3];
	struct worker_arg a[3];
	for (int i = 0; i < 3; i++) {
		a[i] = (struct worker_arg){.f = f, .id = i};
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &a[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(a[i].failures, 0);
		assert_int_equal(a[i].hits, 40 * 16);
	}
	ost_cache_sync(f->cache);
	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.entries, 16 + 3 * 40 * 50);
	assert_int_equal(st.write_dropped, 0);
	assert_true(st.hits >= 3 * 40 * 16);
	struct ost_cache_entry g;
	char buf[16];
	assert_int_equal(get1(f, "w2-39-49.t.ru", 1, OST_CTAG_RRSET, &g, buf, 16), 0);
	assert_string_equal(buf, "learned");
	/* Close commits whatever is still queued. */
	struct ost_cache_batch *b;
	assert_int_equal(ost_cache_batch_new(f->cache, &b), 0);
	struct ost_cache_entry e = mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 600, "late");
	assert_int_equal(ost_cache_batch_put(b, wire("late.t.ru"), 1, &e), 0);
	assert_int_equal(ost_cache_batch_submit(b), 0);
	assert_int_equal(ost_cache_batch_pending(b), 0);
	ost_cache_batch_free(b);
	reopen_cache(f);
	assert_int_equal(get1(f, "late.t.ru", 1, OST_CTAG_RRSET, &g, buf, 16), 0);
}

/* Read the last-use stamp of an entry through raw LMDB (cache closed). */
static int64_t raw_last_used(struct fx *f, const char *name, uint16_t type, uint8_t tag)
{
	uint8_t key[OST_CACHE_KEY_MAX];
	size_t klen;
	assert_int_equal(ost_cache_key_encode(wire(name), type, tag, key, &klen), 0);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_set_mapsize(env, f->cfg.max_bytes), 0);
	assert_int_equal(mdb_env_open(env, f->path, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "entries", 0, &dbi), 0);
	MDB_val k = {klen, key}, v;
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	struct ost_cache_entry e;
	int64_t used = -1;
	assert_int_equal(ost_cache_entry_decode(v.mv_data, v.mv_size, tag, &e, &used), 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return used;
}

static void test_touch_on_hit(void **state)
{
	struct fx *f = *state;
	f->cfg.touch_interval = 10;
	open_cache(f);
	int64_t t0 = f->fc.wall;
	put1(f, "a.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, "a"));
	put1(f, "b.ru", 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 60, "b"));
	put1(f, "c.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, "c"));
	/* Within the interval a hit queues nothing. */
	f->fc.wall += 5;
	struct ost_cache_entry g;
	char buf[8];
	assert_int_equal(get1(f, "a.ru", 1, OST_CTAG_RRSET, &g, buf, 8), 0);
	assert_int_equal(ost_cache_maintain(f->cache), 0);
	/* Past it, hits on both paths are reported and applied by the writer. */
	f->fc.wall += 1000;
	assert_int_equal(get1(f, "a.ru", 1, OST_CTAG_RRSET, &g, buf, 8), 0);
	struct ost_cache_reader *rd;
	assert_int_equal(ost_cache_reader_new(f->cache, &rd), 0);
	assert_int_equal(ost_cache_reader_begin(rd), 0);
	for (int i = 0; i < 5; i++) /* repeated hits queue the key once */
		assert_int_equal(ost_cache_reader_get(rd, wire("b.ru"), 1, OST_CTAG_MSG, &g), 0);
	assert_int_equal(atomic_load(&rd->head), 1);
	ost_cache_reader_end(rd);
	assert_int_equal(ost_cache_maintain(f->cache), 0);
	assert_int_equal(atomic_load(&rd->tail), 1);
	ost_cache_reader_free(rd);
	ost_cache_close(f->cache);
	f->cache = NULL;
	assert_int_equal(raw_last_used(f, "a.ru", 1, OST_CTAG_RRSET), t0 + 1005);
	assert_int_equal(raw_last_used(f, "b.ru", 1, OST_CTAG_MSG), t0 + 1005);
	assert_int_equal(raw_last_used(f, "c.ru", 1, OST_CTAG_RRSET), t0);
}

/*
 * Submitting never waits for the writer: another process holds LMDB's writer
 * lock while this one's workers keep submitting. Submissions return at once;
 * past 1/8 of the map queued, batches are dropped and counted. When the lock
 * is released everything accepted is committed.
 */
static void test_submit_never_blocks(void **state)
{
	struct fx *f = *state;
	open_cache(f);
	int go[2], ready[2];
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		MDB_env *env;
		MDB_txn *txn;
		char x;
		if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 4) ||
		    mdb_env_open(env, f->path, 0, 0600) || mdb_txn_begin(env, NULL, 0, &txn))
			_exit(40);
		if (write(ready[1], "L", 1) != 1 || read(go[0], &x, 1) != 1)
			_exit(41);
		mdb_txn_abort(txn);
		mdb_env_close(env);
		_exit(0);
	}
	char x;
	assert_int_equal(read(ready[0], &x, 1), 1);

	alarm(20); /* a blocking submit fails the test instead of hanging it */
	struct ost_cache_batch *b;
	assert_int_equal(ost_cache_batch_new(f->cache, &b), 0);
	char payload[300], name[64];
	memset(payload, 'q', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = 0;
	int accepted = 0, dropped = 0;
	for (int i = 0; i < 100; i++) {
		for (int j = 0; j < 100; j++) {
			snprintf(name, sizeof(name), "s%d-%d.block.test", i, j);
			struct ost_cache_entry e =
				mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 600, payload);
			assert_int_equal(ost_cache_batch_put(b, wire(name), 1, &e), 0);
		}
		int rc = ost_cache_batch_submit(b);
		assert_true(rc == 0 || rc == OST_ELIMIT);
		assert_int_equal(ost_cache_batch_pending(b), 0);
		if (rc == 0)
			accepted++;
		else
			dropped++;
	}
	alarm(0);
	assert_true(accepted > 0);
	assert_true(dropped > 0);
	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.write_dropped, (uint64_t)dropped * 100);
	assert_int_equal(st.entries, 0); /* nothing could be written yet */

	/* Release the lock: the writer commits what it accepted. */
	assert_int_equal(write(go[1], "g", 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ost_cache_sync(f->cache);
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.entries, (uint64_t)accepted * 100);
	struct ost_cache_entry g;
	char buf[320];
	assert_int_equal(get1(f, "s0-99.block.test", 1, OST_CTAG_RRSET, &g, buf, sizeof(buf)), 0);
	ost_cache_batch_free(b);
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
}

int main(void)
{
	ost_log_set_level(OST_LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_order),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rank_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_clamps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_and_countdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_no_alloc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_touch_on_hit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_subtree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_submit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit_never_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
