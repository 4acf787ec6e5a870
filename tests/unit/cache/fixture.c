/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The cache tests' fixture (see fixture.h): fake clock, temp directories,
 * name and entry helpers.
 */
#include "fixture.h"

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


int setup(void **state)
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

int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

int teardown(void **state)
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

void open_cache(struct fx *f)
{
	assert_int_equal(ost_cache_open(&f->cache, &f->cfg, &f->clock), 0);
}

void reopen_cache(struct fx *f)
{
	ost_cache_close(f->cache);
	f->cache = NULL;
	open_cache(f);
}

/* Dotted name to wire format ("" or "." is the root). */
const uint8_t *wire_to(const char *s, uint8_t *out)
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
const uint8_t *wire(const char *s)
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

const struct ost_mm test_mm = {NULL, tm_alloc, tm_free};

struct ost_cache_entry mk_entry(uint8_t tag, uint8_t rank, uint32_t ttl, const char *data)
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

void put1(struct fx *f, const char *name, uint16_t type, struct ost_cache_entry e)
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
int get1(struct fx *f, const char *name, uint16_t type, uint8_t tag, struct ost_cache_entry *e,
	 char *buf, size_t cap)
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

/* Count PATH.corrupt-* next to the cache. */
int count_corrupt(struct fx *f)
{
	DIR *d = opendir(f->dir);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strncmp(de->d_name, "cache.corrupt-", 14) == 0;
	closedir(d);
	return n;
}

void write_random(const char *p, size_t n)
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

void check_fresh_and_usable(struct fx *f)
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
