/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for cache/: key order, round trips with metadata, RFC 2181 rank
 * rules, TTL clamps, serve-stale visibility, the allocation-free reader path,
 * subtree flush, persistence, recovery from corrupt or foreign files and
 * corrupt entries, LRU touches; the stress and multi-process tests are in
 * test_cache_stress.c, the front tables' in test_cache_front.c, the fixture
 * in fixture.c. Time comes from a pinned
 * fake clock; nothing sleeps to wait for an event. main() is here.
 */
#include "fixture.h"

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

/* New bounds while open (a reload): entries stored from then on get them,
 * entries stored before keep their expiry. */
static void test_ttl_bounds_live(void **state)
{
	struct fx *f = *state;
	f->cfg.min_ttl = 0;
	f->cfg.max_ttl = 3600;
	f->cfg.max_neg_ttl = 600;
	open_cache(f);
	struct ost_cache_entry g;
	char buf[8];
	put1(f, "before.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 3000, "d"));
	ost_cache_set_ttl_bounds(f->cache, 30, 60, 20);
	put1(f, "after.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 3000, "d"));
	put1(f, "short.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 5, "d"));
	put1(f, "neg.ru", 1, mk_entry(OST_CTAG_NEG, OST_RANK_ANSWER, 500, "d"));
	assert_int_equal(get1(f, "before.ru", 1, OST_CTAG_RRSET, &g, buf, 8), 0);
	assert_int_equal(g.expires_at - g.stored_at, 3000);
	assert_int_equal(get1(f, "after.ru", 1, OST_CTAG_RRSET, &g, buf, 8), 0);
	assert_int_equal(g.expires_at - g.stored_at, 60);
	assert_int_equal(get1(f, "short.ru", 1, OST_CTAG_RRSET, &g, buf, 8), 0);
	assert_int_equal(g.expires_at - g.stored_at, 30);
	assert_int_equal(get1(f, "neg.ru", 1, OST_CTAG_NEG, &g, buf, 8), 0);
	assert_int_equal(g.expires_at - g.stored_at, 20);
	/* Raised above the bounds the cache was opened with; clamped as at open. */
	ost_cache_set_ttl_bounds(f->cache, 500, 7200, 0);
	put1(f, "raised.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 5000, "d"));
	put1(f, "neg2.ru", 1, mk_entry(OST_CTAG_NEG, OST_RANK_ANSWER, 5000, "d"));
	assert_int_equal(get1(f, "raised.ru", 1, OST_CTAG_RRSET, &g, buf, 8), 0);
	assert_int_equal(g.expires_at - g.stored_at, 5000);
	assert_int_equal(get1(f, "neg2.ru", 1, OST_CTAG_NEG, &g, buf, 8), 0);
	assert_int_equal(g.expires_at - g.stored_at, 3600); /* 0: the default */
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

	/* A subtree bigger than one flush transaction (4096) goes entirely. */
	struct ost_cache_batch *b;
	assert_int_equal(ost_cache_batch_new(f->cache, &b), 0);
	char n[64];
	for (int i = 0; i < 9000; i++) {
		snprintf(n, sizeof(n), "h%d.big.ru", i);
		struct ost_cache_entry e = mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, "x");
		assert_int_equal(ost_cache_batch_put(b, wire(n), 1, &e), 0);
	}
	assert_int_equal(ost_cache_batch_put(b, wire("big2.ru"), 1,
					     &(struct ost_cache_entry){.tag = OST_CTAG_RRSET,
								       .rank = OST_RANK_ANSWER,
								       .ttl = 60}),
			 0);
	assert_int_equal(ost_cache_batch_commit(b), 0);
	ost_cache_batch_free(b);
	assert_int_equal(ost_cache_flush(f->cache, wire("big.ru")), 9000);
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.entries, 1);
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

	nftw(f->path, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	/* data.mdb is a directory. */
	mkdir(f->path, 0700);
	snprintf(p, sizeof(p), "%s/data.mdb", f->path);
	mkdir(p, 0700);
	f->fc.wall += 1;
	open_cache(f);
	assert_int_equal(count_corrupt(f), 5);
	check_fresh_and_usable(f);

	/* A good cache is not moved aside. */
	open_cache(f);
	assert_int_equal(count_corrupt(f), 5);
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
	/* A hit-only worker submits its empty batch: that hands the touches over. */
	struct ost_cache_stats st0, st1;
	struct ost_cache_batch *b;
	assert_int_equal(ost_cache_batch_new(f->cache, &b), 0);
	ost_cache_stats_get(f->cache, &st0);
	assert_int_equal(ost_cache_batch_submit(b), 0);
	ost_cache_sync(f->cache);
	assert_int_equal(atomic_load(&rd->tail), 1);
	ost_cache_stats_get(f->cache, &st1);
	assert_int_equal(st1.commits, st0.commits + 1);
	/* With nothing queued, an empty submit writes nothing. */
	assert_int_equal(ost_cache_batch_submit(b), 0);
	ost_cache_sync(f->cache);
	assert_int_equal(ost_cache_maintain(f->cache), 0);
	ost_cache_stats_get(f->cache, &st0);
	assert_int_equal(st0.commits, st1.commits);
	ost_cache_batch_free(b);
	ost_cache_reader_free(rd);
	ost_cache_close(f->cache);
	f->cache = NULL;
	assert_int_equal(raw_last_used(f, "a.ru", 1, OST_CTAG_RRSET), t0 + 1005);
	assert_int_equal(raw_last_used(f, "b.ru", 1, OST_CTAG_MSG), t0 + 1005);
	assert_int_equal(raw_last_used(f, "c.ru", 1, OST_CTAG_RRSET), t0);
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The writer paces its commits: a batch queued within the interval after a
 * commit waits for the interval's end (and lands then, with no sync), and
 * ost_cache_sync() does not wait for the interval. */
static void test_commit_pacing(void **state)
{
	struct fx *f = *state;
	f->cfg.commit_interval_ms = 1000;
	open_cache(f);
	struct ost_cache_batch *b;
	assert_int_equal(ost_cache_batch_new(f->cache, &b), 0);
	struct ost_cache_entry e = mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, "x");
	struct ost_cache_entry g;
	char buf[8];
	/* First commit: nothing before it, it starts at once. */
	assert_int_equal(ost_cache_batch_put(b, wire("first.ru"), 1, &e), 0);
	assert_int_equal(ost_cache_batch_submit(b), 0);
	ost_cache_sync(f->cache);
	/* Queued right after it: lands about one interval later. */
	double t0 = mono_s();
	assert_int_equal(ost_cache_batch_put(b, wire("late.ru"), 1, &e), 0);
	assert_int_equal(ost_cache_batch_submit(b), 0);
	while (get1(f, "late.ru", 1, OST_CTAG_RRSET, &g, buf, 8) != 0) {
		assert_true(mono_s() - t0 < 10.0);
		struct timespec ms = {.tv_sec = 0, .tv_nsec = 5000000};
		nanosleep(&ms, NULL);
	}
	assert_true(mono_s() - t0 >= 0.5);
	/* Queued right after that commit, then synced: no wait. */
	assert_int_equal(ost_cache_batch_put(b, wire("synced.ru"), 1, &e), 0);
	assert_int_equal(ost_cache_batch_submit(b), 0);
	t0 = mono_s();
	ost_cache_sync(f->cache);
	assert_true(mono_s() - t0 < 0.5);
	assert_int_equal(get1(f, "synced.ru", 1, OST_CTAG_RRSET, &g, buf, 8), 0);
	ost_cache_batch_free(b);
}

int main(void)
{
	ost_log_set_level(OST_LOG_WARN);
	/* OST_TEST_FILTER=test_two_process_flood: run one test (loops under load). */
	if (getenv("OST_TEST_FILTER"))
		cmocka_set_test_filter(getenv("OST_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_order),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rank_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_clamps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_bounds_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_and_countdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_no_alloc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_touch_on_hit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_subtree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_submit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit_never_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_process_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_pacing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_front_serves_copies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_front_follows_commits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_front_lending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_front_limits, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
