/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The public cache functions (include/ostrov/cache.h): opening with recovery
 * from corrupt or foreign files, configuration clamping, the zero-copy reader
 * for the hit path, per-worker write batches with the RFC 2181 rank rules,
 * subtree flush and statistics. LMDB itself is behind lmdb.c, eviction in
 * gc.c.
 *
 * Threads. One struct ost_cache (one LMDB environment) per process, shared by
 * all workers. Each worker owns a reader and a batch. The hit path touches
 * only the worker's reader: its renewed read transaction, its counters
 * (single-writer atomics, summed by ost_cache_stats_get()) and its ring of
 * touch/drop records (single producer; the committing thread consumes under
 * cache->lock). Commits from several threads or processes are serialised by
 * LMDB's writer lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ostrov/log.h"

#include "impl.h"

#define DEFAULT_MAX_BYTES   ((size_t)256 << 20)
#define MIN_MAX_BYTES       ((size_t)1 << 20)
#define DEFAULT_MAX_TTL     86400u
#define DEFAULT_MAX_NEG_TTL 3600u
#define DEFAULT_READERS     126u
#define DEFAULT_TOUCH       60u
#define TTL_LIMIT           0x7fffffffu /* RFC 2181 §8 */
#define FAIL_TTL_MIN        1u          /* RFC 9520 §3.2 */
#define FAIL_TTL_MAX        300u        /* RFC 9520 §3.2: at most five minutes */
#define BOGUS_TTL_MAX       60u         /* RFC 4035 §4.7: keep bogus data briefly */
#define COMMIT_TRIES        3
#define PIN_WAIT_POLLS      2000 /* 1 ms each: a snapshot pinning freed pages */

/* Single-writer counter bump: no locked instruction on the hit path. */
static inline void bump(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

void ost_cache_config_clamp(struct ost_cache_config *cfg)
{
	if (cfg->max_bytes == 0)
		cfg->max_bytes = DEFAULT_MAX_BYTES;
	if (cfg->max_bytes < MIN_MAX_BYTES)
		cfg->max_bytes = MIN_MAX_BYTES;
	if (cfg->max_ttl == 0)
		cfg->max_ttl = DEFAULT_MAX_TTL;
	if (cfg->max_ttl > TTL_LIMIT)
		cfg->max_ttl = TTL_LIMIT;
	if (cfg->min_ttl > cfg->max_ttl)
		cfg->min_ttl = cfg->max_ttl;
	if (cfg->max_neg_ttl == 0)
		cfg->max_neg_ttl = DEFAULT_MAX_NEG_TTL;
	if (cfg->max_neg_ttl > cfg->max_ttl)
		cfg->max_neg_ttl = cfg->max_ttl;
	if (cfg->max_readers == 0)
		cfg->max_readers = DEFAULT_READERS;
	if (cfg->touch_interval == 0)
		cfg->touch_interval = DEFAULT_TOUCH;
	if (cfg->commit_interval_ms > 1000)
		cfg->commit_interval_ms = 1000;
}

void ost_cache_set_ttl_bounds(struct ost_cache *cache, uint32_t min_ttl, uint32_t max_ttl,
			      uint32_t max_neg_ttl)
{
	/* The same defaults and limits as at open; the rest of cfg stays. */
	struct ost_cache_config c = cache->cfg;
	c.min_ttl = min_ttl;
	c.max_ttl = max_ttl;
	c.max_neg_ttl = max_neg_ttl;
	ost_cache_config_clamp(&c);
	atomic_store(&cache->ttl_min, c.min_ttl);
	atomic_store(&cache->ttl_max, c.max_ttl);
	atomic_store(&cache->ttl_neg_max, c.max_neg_ttl);
}

/* ---------- open / close ---------- */

/*
 * Move whatever sits at the cache path out of the way, keeping it for a
 * post-mortem rather than deleting it: PATH.corrupt-<wall seconds>[-n].
 */
static int move_aside(struct ost_cache *cache, const char *why)
{
	size_t n = strlen(cache->path) + 64;
	char *dst = malloc(n);
	if (!dst)
		return -ENOMEM;
	long long now = (long long)ost_clock_wall_s(cache->clock);
	snprintf(dst, n, "%s.corrupt-%lld", cache->path, now);
	for (int i = 1; access(dst, F_OK) == 0 && i < 1000; i++)
		snprintf(dst, n, "%s.corrupt-%lld-%d", cache->path, now, i);
	int rc = 0;
	if (rename(cache->path, dst) != 0) {
		rc = -errno;
		ost_log(OST_LOG_ERR, "cache",
			"cannot move bad cache aside path=%s reason=\"%s\" err=\"%s\"", cache->path,
			why, ost_strerror(rc));
	} else {
		ost_log(OST_LOG_WARN, "cache",
			"cache file corrupt or foreign, moved aside path=%s moved_to=%s "
			"reason=\"%s\"",
			cache->path, dst, why);
	}
	free(dst);
	return rc;
}

void ost_cache_mark_broken(struct ost_cache *cache, const char *where)
{
	if (atomic_exchange(&cache->is_broken, 1))
		return;
	ost_log(OST_LOG_ERR, "cache",
		"cache file damaged, no more writes to it; reads stay checksummed where=%s", where);
	(void)move_aside(cache, "damaged at run time");
}

static int ensure_dir(const char *path)
{
	if (mkdir(path, 0750) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int open_db(struct ost_cache *cache)
{
	struct stat st;
	int rc;
	if (stat(cache->path, &st) == 0 && !S_ISDIR(st.st_mode)) {
		rc = move_aside(cache, "not a directory");
		if (rc)
			return rc;
		ost_log(OST_LOG_WARN, "cache", "starting with an empty cache path=%s", cache->path);
	}
	rc = ensure_dir(cache->path);
	if (rc)
		return rc;
	rc = ost_cache_db_open(&cache->db, cache->path, cache->cfg.max_bytes,
			       cache->cfg.max_readers, cache->cfg.no_sync);
	/* EISDIR: something made data.mdb a directory; not ours either. */
	if (rc != OST_ECORRUPT && rc != -EISDIR)
		return rc;
	rc = move_aside(cache, ost_strerror(rc));
	if (rc)
		return rc;
	rc = ensure_dir(cache->path);
	if (rc)
		return rc;
	ost_log(OST_LOG_WARN, "cache", "starting with an empty cache path=%s", cache->path);
	return ost_cache_db_open(&cache->db, cache->path, cache->cfg.max_bytes,
				 cache->cfg.max_readers, cache->cfg.no_sync);
}

int ost_cache_open(struct ost_cache **out, const struct ost_cache_config *cfg,
		   const struct ost_clock *clock)
{
	if (!out || !cfg || !cfg->path || !cfg->path[0] || !clock)
		return -EINVAL;
	struct ost_cache *cache = calloc(1, sizeof(*cache));
	if (!cache)
		return -ENOMEM;
	cache->cfg = *cfg;
	ost_cache_config_clamp(&cache->cfg);
	atomic_init(&cache->ttl_min, cache->cfg.min_ttl);
	atomic_init(&cache->ttl_max, cache->cfg.max_ttl);
	atomic_init(&cache->ttl_neg_max, cache->cfg.max_neg_ttl);
	cache->clock = clock;
	cache->path = strdup(cfg->path);
	if (!cache->path) {
		free(cache);
		return -ENOMEM;
	}
	/* "dir/" and "dir" are the same cache; rename() wants the latter. */
	for (size_t n = strlen(cache->path); n > 1 && cache->path[n - 1] == '/'; n--)
		cache->path[n - 1] = '\0';
	cache->cfg.path = cache->path;
	int rc = pthread_mutex_init(&cache->lock, NULL);
	if (rc) {
		free(cache->path);
		free(cache);
		return -rc;
	}
	rc = ost_cache_writer_init(cache);
	if (rc) {
		pthread_mutex_destroy(&cache->lock);
		free(cache->path);
		free(cache);
		return rc;
	}
	rc = open_db(cache);
	if (rc) {
		ost_log(OST_LOG_ERR, "cache", "cannot open cache path=%s err=\"%s\"", cache->path,
			ost_strerror(rc));
		ost_cache_writer_stop(cache);
		pthread_mutex_destroy(&cache->lock);
		free(cache->path);
		free(cache);
		return rc;
	}
	ost_log(OST_LOG_INFO, "cache", "cache open path=%s map_bytes=%zu", cache->path,
		ost_cache_db_map_size(cache->db));
	*out = cache;
	return 0;
}

void ost_cache_close(struct ost_cache *cache)
{
	if (!cache)
		return;
	if (ost_fails_assert(cache->readers == NULL)) {
		/* A leaked reader holds a transaction of this env: free them here. */
		while (cache->readers)
			ost_cache_reader_free(cache->readers);
	}
	ost_cache_writer_stop(cache);
	if (cache->cfg.no_sync)
		(void)ost_cache_db_sync(cache->db);
	ost_cache_db_close(cache->db);
	pthread_mutex_destroy(&cache->lock);
	free(cache->path);
	free(cache);
}

/* ---------- reads ---------- */

/*
 * Tell the writer that readers queued records, so that an empty submit wakes
 * it. Read before writing: the flag's cache line is only written when it
 * changes, rarely (touches are rate-limited per entry).
 */
static inline void hint_set(struct ost_cache *cache)
{
	if (!atomic_load_explicit(&cache->maint_hint, memory_order_relaxed))
		atomic_store_explicit(&cache->maint_hint, 1, memory_order_relaxed);
}

/* Queue a maintenance record on a reader's ring; dropped when the ring is full. */
static void ring_push(struct ost_cache_reader *rd, uint8_t op, const uint8_t *key, size_t klen)
{
	uint32_t h = atomic_load_explicit(&rd->head, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&rd->tail, memory_order_acquire);
	if (h - t >= OST_CACHE_RING_SLOTS)
		return;
	struct ost_cache_maint *m = &rd->ring[h % OST_CACHE_RING_SLOTS];
	m->op = op;
	m->klen = (uint16_t)klen;
	memcpy(m->key, key, klen);
	atomic_store_explicit(&rd->head, h + 1, memory_order_release);
	hint_set(rd->cache);
}

int ost_cache_reader_new(struct ost_cache *cache, struct ost_cache_reader **out)
{
	struct ost_cache_reader *rd = calloc(1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	int rc = ost_cache_db_rtxn_new(cache->db, &rd->rt);
	if (rc) {
		free(rd);
		return rc;
	}
	rd->cache = cache;
	rc = ost_cache_front_new(ost_cache_front_slots(cache->cfg.front_entries), &rd->front);
	if (rc) {
		ost_cache_db_rtxn_free(rd->rt);
		free(rd);
		return rc;
	}
	pthread_mutex_lock(&cache->lock);
	rd->next = cache->readers;
	if (rd->next)
		rd->next->pprev = &rd->next;
	rd->pprev = &cache->readers;
	cache->readers = rd;
	pthread_mutex_unlock(&cache->lock);
	*out = rd;
	return 0;
}

static void add_counters(struct ost_cache_rd_counters *dst, struct ost_cache_rd_counters *src)
{
	atomic_fetch_add(&dst->hits, atomic_load(&src->hits));
	atomic_fetch_add(&dst->misses, atomic_load(&src->misses));
	atomic_fetch_add(&dst->decode_errors, atomic_load(&src->decode_errors));
	atomic_fetch_add(&dst->front_hits, atomic_load(&src->front_hits));
}

void ost_cache_reader_free(struct ost_cache_reader *rd)
{
	if (!rd)
		return;
	struct ost_cache *cache = rd->cache;
	if (ost_fails_assert(!rd->is_active))
		ost_cache_reader_end(rd);
	pthread_mutex_lock(&cache->lock);
	*rd->pprev = rd->next;
	if (rd->next)
		rd->next->pprev = rd->pprev;
	add_counters(&cache->retired, &rd->ctr);
	pthread_mutex_unlock(&cache->lock);
	ost_cache_db_rtxn_free(rd->rt);
	ost_cache_front_free(rd->front);
	free(rd);
}

int ost_cache_reader_begin(struct ost_cache_reader *rd)
{
	if (ost_fails_assert(!rd->is_active))
		return -EINVAL;
	int rc = ost_cache_db_rtxn_renew(rd->rt);
	if (rc)
		return rc;
	rd->is_active = true;
	rd->txn = ost_cache_db_rtxn_id(rd->rt);
	rd->session++;
	rd->now_s = ost_clock_wall_s(rd->cache->clock);
	return 0;
}

void ost_cache_reader_end(struct ost_cache_reader *rd)
{
	if (!rd->is_active)
		return;
	ost_cache_db_rtxn_reset(rd->rt);
	rd->is_active = false;
}

/*
 * LRU without writing on reads: only when the stamp is older than the touch
 * interval is the key queued for the writer, so a hot entry costs one queued
 * key per interval, not one per hit. @return whether a touch was queued
 */
static bool maybe_touch(struct ost_cache_reader *rd, const uint8_t *key, size_t klen,
			int64_t last_used)
{
	if (rd->now_s - last_used < (int64_t)rd->cache->cfg.touch_interval)
		return false;
	uint32_t h = atomic_load_explicit(&rd->head, memory_order_relaxed);
	/* Skip if the same key is already waiting at the head of the ring. */
	const struct ost_cache_maint *prev = &rd->ring[(h - 1) % OST_CACHE_RING_SLOTS];
	uint32_t t = atomic_load_explicit(&rd->tail, memory_order_acquire);
	if (h == t || prev->klen != klen || memcmp(prev->key, key, klen))
		ring_push(rd, OST_CACHE_MAINT_TOUCH, key, klen);
	return true;
}

int ost_cache_reader_get(struct ost_cache_reader *rd, const uint8_t *owner, uint16_t type,
			 enum ost_cache_tag tag, struct ost_cache_entry *out)
{
	uint8_t key[OST_CACHE_KEY_MAX];
	size_t klen;
	if (ost_fails_assert(rd->is_active) || (unsigned)tag >= OST_CTAG_COUNT)
		return -EINVAL;
	int rc = ost_cache_key_encode(owner, type, (uint8_t)tag, key, &klen);
	if (rc)
		return rc;
	int64_t last_used;
	uint64_t hash = 0;
	if (rd->front) {
		hash = ost_cache_hash(key, klen);
		const struct ost_cache_entry *e = ost_cache_front_get(
			rd->front, rd->txn, rd->session, key, klen, hash, &last_used);
		if (e) {
			*out = *e;
			bump(&rd->ctr.hits);
			bump(&rd->ctr.front_hits);
			if (maybe_touch(rd, key, klen, last_used))
				ost_cache_front_touched(rd->front, hash, rd->now_s);
			return 0;
		}
	}
	const uint8_t *val;
	size_t vlen;
	rc = ost_cache_db_rget(rd->rt, key, klen, &val, &vlen);
	if (rc == -ENOENT) {
		bump(&rd->ctr.misses);
		return rc;
	}
	if (rc == OST_ECORRUPT) {
		bump(&rd->ctr.decode_errors);
		ost_cache_mark_broken(rd->cache, "read");
	}
	if (rc)
		return rc;
	if (ost_cache_entry_decode(val, vlen, (uint8_t)tag, out, &last_used)) {
		bump(&rd->ctr.decode_errors);
		ring_push(rd, OST_CACHE_MAINT_DROP, key, klen);
		return OST_ECORRUPT;
	}
	bump(&rd->ctr.hits);
	if (maybe_touch(rd, key, klen, last_used))
		last_used = rd->now_s;
	if (rd->front)
		ost_cache_front_put(rd->front, rd->txn, rd->session, key, klen, hash, out,
				    last_used);
	return 0;
}

/* Queue a touch/drop from the copy path (a mutex is fine off the hit path). */
static void slow_push(struct ost_cache *cache, uint8_t op, const uint8_t *key, size_t klen)
{
	pthread_mutex_lock(&cache->lock);
	if (cache->slow_count < sizeof(cache->slow) / sizeof(cache->slow[0])) {
		struct ost_cache_maint *m = &cache->slow[cache->slow_count++];
		m->op = op;
		m->klen = (uint16_t)klen;
		memcpy(m->key, key, klen);
	}
	pthread_mutex_unlock(&cache->lock);
	hint_set(cache);
}

int ost_cache_get(struct ost_cache *cache, const uint8_t *owner, uint16_t type,
		  enum ost_cache_tag tag, const struct ost_mm *mm, struct ost_cache_entry *out)
{
	uint8_t key[OST_CACHE_KEY_MAX];
	size_t klen;
	if ((unsigned)tag >= OST_CTAG_COUNT || !mm || !out)
		return -EINVAL;
	int rc = ost_cache_key_encode(owner, type, (uint8_t)tag, key, &klen);
	if (rc)
		return rc;
	struct ost_cache_rtxn *rt;
	rc = ost_cache_db_rtxn_new(cache->db, &rt);
	if (rc)
		return rc;
	rc = ost_cache_db_rtxn_renew(rt);
	if (rc)
		goto out;
	const uint8_t *val;
	size_t vlen;
	rc = ost_cache_db_rget(rt, key, klen, &val, &vlen);
	if (rc == -ENOENT) {
		atomic_fetch_add(&cache->retired.misses, 1);
		goto out;
	}
	if (rc == OST_ECORRUPT) {
		atomic_fetch_add(&cache->retired.decode_errors, 1);
		ost_cache_mark_broken(cache, "read");
	}
	if (rc)
		goto out;
	struct ost_cache_entry e;
	int64_t last_used;
	if (ost_cache_entry_decode(val, vlen, (uint8_t)tag, &e, &last_used)) {
		atomic_fetch_add(&cache->retired.decode_errors, 1);
		slow_push(cache, OST_CACHE_MAINT_DROP, key, klen);
		rc = OST_ECORRUPT;
		goto out;
	}
	if (ost_clock_wall_s(cache->clock) - last_used >= (int64_t)cache->cfg.touch_interval)
		slow_push(cache, OST_CACHE_MAINT_TOUCH, key, klen);
	uint8_t *copy = NULL;
	if (e.len) {
		copy = ost_mm_alloc(mm, e.len);
		if (!copy) {
			rc = -ENOMEM;
			goto out;
		}
		memcpy(copy, e.data, e.len);
	}
	*out = e;
	out->data = copy;
	atomic_fetch_add(&cache->retired.hits, 1);
out:
	ost_cache_db_rtxn_free(rt);
	return rc;
}

/* ---------- writes ---------- */

int ost_cache_batch_new(struct ost_cache *cache, struct ost_cache_batch **out)
{
	struct ost_cache_batch *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cache = cache;
	*out = b;
	return 0;
}

void ost_cache_batch_free(struct ost_cache_batch *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b->scratch);
	free(b);
}

size_t ost_cache_batch_pending(const struct ost_cache_batch *b)
{
	return b->count;
}

static uint32_t clamp_ttl(struct ost_cache *cache, const struct ost_cache_entry *e)
{
	uint32_t ttl = e->ttl > TTL_LIMIT ? TTL_LIMIT : e->ttl;
	uint32_t min_ttl = atomic_load_explicit(&cache->ttl_min, memory_order_relaxed);
	uint32_t max_ttl = atomic_load_explicit(&cache->ttl_max, memory_order_relaxed);
	uint32_t max_neg_ttl = atomic_load_explicit(&cache->ttl_neg_max, memory_order_relaxed);
	switch (e->tag) {
	case OST_CTAG_NEG:
		/* RFC 2308 §5: the negative TTL is capped; min_ttl is not applied,
		 * it must not stretch how long a name is believed not to exist. */
		if (ttl > max_neg_ttl)
			ttl = max_neg_ttl;
		break;
	case OST_CTAG_FAIL:
		if (ttl < FAIL_TTL_MIN)
			ttl = FAIL_TTL_MIN;
		if (ttl > FAIL_TTL_MAX)
			ttl = FAIL_TTL_MAX;
		break;
	default:
		if (ttl < min_ttl)
			ttl = min_ttl;
		if (ttl > max_ttl)
			ttl = max_ttl;
		break;
	}
	if (e->sec == OST_SEC_BOGUS && ttl > BOGUS_TTL_MAX)
		ttl = BOGUS_TTL_MAX;
	return ttl;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 4096;
	while (ncap < need)
		ncap *= 2;
	uint8_t *p = realloc(*buf, ncap);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = ncap;
	return 0;
}

int ost_cache_batch_put(struct ost_cache_batch *b, const uint8_t *owner, uint16_t type,
			const struct ost_cache_entry *entry)
{
	struct ost_cache *cache = b->cache;
	if (!entry || entry->tag >= OST_CTAG_COUNT || entry->rank >= OST_RANK_COUNT ||
	    entry->sec >= OST_SEC_COUNT || (entry->len && !entry->data))
		return -EINVAL;
	size_t map = ost_cache_db_map_size(cache->db);
	if (entry->len > OST_CACHE_MAX_PAYLOAD || entry->len > map / 16)
		return -E2BIG;
	uint8_t key[OST_CACHE_KEY_MAX];
	size_t klen;
	int rc = ost_cache_key_encode(owner, type, entry->tag, key, &klen);
	if (rc)
		return rc;
	size_t vlen = ost_cache_value_len(entry->len);
	size_t rec = 2 + klen + 4 + vlen;
	if (b->len + rec > map / 8)
		return OST_ELIMIT;
	rc = grow(&b->buf, &b->cap, b->len + rec);
	if (rc)
		return rc;

	int64_t now = ost_clock_wall_s(cache->clock);
	struct ost_cache_entry e = *entry;
	e.ttl = clamp_ttl(cache, entry);
	e.stored_at = now;
	e.expires_at = now + e.ttl;

	uint8_t *p = b->buf + b->len;
	p[0] = (uint8_t)(klen >> 8);
	p[1] = (uint8_t)klen;
	memcpy(p + 2, key, klen);
	p += 2 + klen;
	p[0] = (uint8_t)(vlen >> 24);
	p[1] = (uint8_t)(vlen >> 16);
	p[2] = (uint8_t)(vlen >> 8);
	p[3] = (uint8_t)vlen;
	ost_cache_entry_encode(p + 4, &e, now);
	b->len += rec;
	b->count++;
	return 0;
}

static void live_sub(struct ost_cache_usage *u, uint64_t c)
{
	u->live_bytes = u->live_bytes > c ? u->live_bytes - c : 0;
}

/*
 * Store one record unless RFC 2181 §5.4.1 forbids it: data of lower rank
 * (glue, authority of a referral) never replaces unexpired data of higher
 * rank (an authoritative answer). Equal rank replaces: it is fresher.
 */
static int apply_put(struct ost_cache_batch *b, struct ost_cache_wtxn *wt,
		     struct ost_cache_usage *u, const uint8_t *key, size_t klen, const uint8_t *val,
		     size_t vlen, int64_t now)
{
	struct ost_cache *cache = b->cache;
	const uint8_t *old;
	size_t olen;
	uint64_t old_cost = 0;
	int rc = ost_cache_db_get(wt, key, klen, &old, &olen);
	if (rc == 0) {
		struct ost_cache_entry oe;
		struct ost_cache_meta nm; /* our own fresh encoding: no checksum pass */
		old_cost = ost_cache_entry_cost(cache->db, klen, olen);
		if (ost_cache_entry_decode(old, olen, ost_cache_key_tag(key, klen), &oe, NULL)) {
			atomic_fetch_add(&cache->retired.decode_errors, 1);
		} else if (ost_cache_entry_peek(val, vlen, &nm) == 0 && oe.expires_at > now &&
			   oe.rank > nm.rank) {
			atomic_fetch_add_explicit(&cache->rank_refused, 1, memory_order_relaxed);
			return 0;
		}
	} else if (rc != -ENOENT) {
		return rc;
	}
	rc = ost_cache_db_put(wt, key, klen, val, vlen);
	if (rc)
		return rc;
	live_sub(u, old_cost);
	u->live_bytes += ost_cache_entry_cost(cache->db, klen, vlen);
	atomic_fetch_add_explicit(&cache->inserts, 1, memory_order_relaxed);
	return 0;
}

static int apply_maint(struct ost_cache_batch *b, struct ost_cache_wtxn *wt,
		       struct ost_cache_usage *u, const struct ost_cache_maint *m, int64_t now)
{
	const uint8_t *val;
	size_t vlen;
	int rc = ost_cache_db_get(wt, m->key, m->klen, &val, &vlen);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	struct ost_cache_entry e;
	int64_t used;
	bool ok = ost_cache_entry_decode(val, vlen, ost_cache_key_tag(m->key, m->klen), &e,
					 &used) == 0;
	if (m->op == OST_CACHE_MAINT_DROP) {
		if (ok)
			return 0; /* replaced by a good entry since */
		rc = ost_cache_db_del(wt, m->key, m->klen);
		if (rc == 0)
			live_sub(u, ost_cache_entry_cost(b->cache->db, m->klen, vlen));
		return rc == -ENOENT ? 0 : rc;
	}
	if (!ok || used >= now)
		return 0;
	/* The value points into the map (read-only to us): rewrite a copy. */
	rc = grow(&b->scratch, &b->scratch_cap, vlen);
	if (rc)
		return rc;
	memcpy(b->scratch, val, vlen);
	ost_cache_entry_set_last_used(b->scratch, vlen, now);
	return ost_cache_db_put(wt, m->key, m->klen, b->scratch, vlen);
}

/* Consume every reader's ring and the slow-path queue; count the records. */
static int drain_maint(struct ost_cache_batch *b, struct ost_cache_wtxn *wt,
		       struct ost_cache_usage *u, int64_t now, size_t *drained)
{
	struct ost_cache *cache = b->cache;
	int rc = 0;
	/* Cleared first: a record pushed while we drain sets it again. */
	atomic_store(&cache->maint_hint, 0);
	pthread_mutex_lock(&cache->lock);
	for (unsigned i = 0; i < cache->slow_count && !rc; i++, (*drained)++)
		rc = apply_maint(b, wt, u, &cache->slow[i], now);
	cache->slow_count = 0;
	for (struct ost_cache_reader *rd = cache->readers; rd && !rc; rd = rd->next) {
		uint32_t t = atomic_load_explicit(&rd->tail, memory_order_relaxed);
		uint32_t h = atomic_load_explicit(&rd->head, memory_order_acquire);
		for (; t != h && !rc; t++, (*drained)++)
			rc = apply_maint(b, wt, u, &rd->ring[t % OST_CACHE_RING_SLOTS], now);
		atomic_store_explicit(&rd->tail, h, memory_order_release);
	}
	pthread_mutex_unlock(&cache->lock);
	return rc;
}

/* One try at writing the chain of batches @p b in one transaction. */
static int commit_once(struct ost_cache_batch *b, unsigned round, int64_t now)
{
	struct ost_cache *cache = b->cache;
	struct ost_cache_wtxn wt;
	struct ost_cache_usage u;
	int rc = ost_cache_gc(cache, round, now);
	if (rc)
		ost_log(OST_LOG_WARN, "cache", "eviction failed err=\"%s\"", ost_strerror(rc));
	rc = ost_cache_db_wbegin(cache->db, &wt);
	if (rc)
		return rc;
	rc = ost_cache_db_usage_get(&wt, &u);
	if (rc)
		goto fail;
	size_t changes = 0;
	rc = drain_maint(b, &wt, &u, now, &changes);
	if (rc)
		goto fail;
	for (const struct ost_cache_batch *x = b; x; x = x->next) {
		changes += x->count;
		const uint8_t *p = x->buf, *end = x->buf + x->len;
		while (p < end) {
			size_t klen = (size_t)p[0] << 8 | p[1];
			const uint8_t *key = p + 2;
			p += 2 + klen;
			size_t vlen =
				(size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
			rc = apply_put(b, &wt, &u, key, klen, p + 4, vlen, now);
			if (rc)
				goto fail;
			p += 4 + vlen;
		}
	}
	if (changes == 0) {
		/* Nothing to write: no commit, no fdatasync. */
		ost_cache_db_abort(&wt);
		return 0;
	}
	rc = ost_cache_db_usage_put(&wt, &u);
	if (rc)
		goto fail;
	rc = ost_cache_db_commit(&wt);
	if (rc == 0)
		atomic_fetch_add_explicit(&cache->commits, 1, memory_order_relaxed);
	return rc;
fail:
	ost_cache_db_abort(&wt);
	return rc;
}

/*
 * After MDB_MAP_FULL: is a reader, in any process, holding a snapshot older
 * than the last commit? Then the pages freed since are pinned, and evicting
 * more cannot help, because eviction needs fresh pages for its own
 * copy-on-write. This was the cause of test_two_process_flood's rare
 * failure on a loaded machine: the other process, descheduled in the middle
 * of a read, pinned the pages its own evictions had just freed, and the three
 * retries ran in a few milliseconds, before it was scheduled again. So wait
 * for that snapshot to go: poll the reader table every millisecond, at most
 * PIN_WAIT_POLLS times. Readers hold a snapshot for one batch of packets or
 * one scan chunk, so the wait is short; the writer thread is the one
 * waiting, never a worker. A reader that never moves (a hung process)
 * costs one bounded wait and the batch is dropped as before.
 * @return true if the pinning snapshot went away
 */
static bool wait_pinning_reader(struct ost_cache *cache, const struct ost_cache_db_pressure *p)
{
	if (!p->readers || p->oldest_reader_txn >= p->last_txn)
		return false;
	uint64_t pinned = p->oldest_reader_txn;
	const struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
	for (unsigned i = 0; i < PIN_WAIT_POLLS; i++) {
		struct ost_cache_db_pressure now;
		nanosleep(&ms, NULL);
		ost_cache_db_pressure(cache->db, &now);
		if (!now.readers || now.oldest_reader_txn > pinned)
			return true;
	}
	return false;
}

int ost_cache_commit_chain(struct ost_cache_batch *b)
{
	struct ost_cache *cache = b->cache;
	int64_t now = ost_clock_wall_s(cache->clock);
	size_t count = 0;
	for (const struct ost_cache_batch *x = b; x; x = x->next)
		count += x->count;
	int rc = OST_EFULL;
	if (atomic_load(&cache->is_broken))
		rc = OST_ECORRUPT;
	for (unsigned round = 0; round < COMMIT_TRIES && rc == OST_EFULL; round++) {
		rc = commit_once(b, round, now);
		if (rc == OST_ECORRUPT)
			ost_cache_mark_broken(cache, "write");
		if (rc == OST_EFULL) {
			/* Readers of dead processes pin old pages: clear them first. */
			int dead = ost_cache_db_reader_check(cache->db);
			struct ost_cache_db_pressure p;
			ost_cache_db_pressure(cache->db, &p);
			ost_log(OST_LOG_WARN, "cache",
				"map full, evicting more round=%u dead_readers=%d pages=%llu/%llu "
				"readers=%u oldest_snapshot_age=%llu",
				round + 1, dead, (unsigned long long)p.pages_used,
				(unsigned long long)p.map_pages, p.readers,
				p.readers ? (unsigned long long)(p.last_txn - p.oldest_reader_txn)
					  : 0ull);
			if (wait_pinning_reader(cache, &p))
				ost_log(OST_LOG_INFO, "cache",
					"pinning snapshot released, retrying");
		}
	}
	if (rc) {
		atomic_fetch_add_explicit(&cache->write_dropped, count, memory_order_relaxed);
	}
	if (rc && rc != OST_ECORRUPT) { /* a broken cache was logged once */
		ost_log(OST_LOG_WARN, "cache", "batch dropped entries=%zu err=\"%s\"", count,
			ost_strerror(rc));
	}
	for (struct ost_cache_batch *x = b; x; x = x->next) {
		x->len = 0;
		x->count = 0;
	}
	return rc;
}

int ost_cache_batch_commit(struct ost_cache_batch *b)
{
	return ost_cache_commit_chain(b);
}

int ost_cache_maintain(struct ost_cache *cache)
{
	struct ost_cache_batch b = {.cache = cache};
	int rc = ost_cache_batch_commit(&b);
	free(b.scratch);
	return rc;
}

/* ---------- flush and statistics ---------- */

#define FLUSH_CHUNK 256  /* keys collected per cursor pass */
#define FLUSH_TXN   4096 /* deletions per flush transaction */

/*
 * Delete up to FLUSH_TXN entries whose key starts with @p prefix. Keys are
 * collected a chunk at a time, then deleted, then the cursor seeks again:
 * deleting under a cursor moves it.
 * @return entries removed (< FLUSH_TXN: the range is empty now) or an error
 */
static int flush_range(struct ost_cache *cache, struct ost_cache_wtxn *wt,
		       struct ost_cache_usage *u, const uint8_t *prefix, size_t plen)
{
	int removed = 0;
	uint8_t(*keys)[OST_CACHE_KEY_MAX] = malloc(FLUSH_CHUNK * sizeof(*keys));
	size_t *lens = malloc(FLUSH_CHUNK * sizeof(*lens));
	uint64_t *costs = malloc(FLUSH_CHUNK * sizeof(*costs));
	int rc = 0;
	if (!keys || !lens || !costs) {
		rc = -ENOMEM;
		goto out;
	}
	while (removed < FLUSH_TXN) {
		struct ost_cache_kv kv;
		size_t n = 0;
		rc = ost_cache_db_seek(wt, prefix, plen, &kv);
		while (rc == 0 && n < FLUSH_CHUNK && kv.klen >= plen &&
		       !memcmp(kv.key, prefix, plen)) {
			memcpy(keys[n], kv.key, kv.klen);
			lens[n] = kv.klen;
			costs[n] = ost_cache_entry_cost(cache->db, kv.klen, kv.vlen);
			n++;
			rc = ost_cache_db_next(wt, &kv);
		}
		if (rc && rc != -ENOENT)
			goto out;
		rc = 0;
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			rc = ost_cache_db_del(wt, keys[i], lens[i]);
			if (rc)
				goto out;
			live_sub(u, costs[i]);
			removed++;
		}
	}
out:
	free(keys);
	free(lens);
	free(costs);
	return rc ? rc : removed;
}

/*
 * One flush transaction: everything (mdb_drop) or up to FLUSH_TXN entries of
 * the subtree. Large subtrees take several transactions, so a flush never
 * holds the writer lock for long nor needs a huge copy-on-write set; it is
 * not atomic, which a flush does not need to be.
 */
static int flush_txn(struct ost_cache *cache, const uint8_t *prefix, size_t plen, bool all)
{
	struct ost_cache_wtxn wt;
	struct ost_cache_usage u;
	int removed = 0;
	int rc = ost_cache_db_wbegin(cache->db, &wt);
	if (rc)
		return rc;
	rc = ost_cache_db_usage_get(&wt, &u);
	if (rc)
		goto fail;
	if (all) {
		uint64_t n = 0;
		rc = ost_cache_db_wstat(&wt, &n, NULL);
		if (!rc)
			rc = ost_cache_db_drop_all(&wt);
		if (rc)
			goto fail;
		removed = n > INT32_MAX ? INT32_MAX : (int)n;
		u.live_bytes = 0;
	} else {
		removed = flush_range(cache, &wt, &u, prefix, plen);
		if (removed < 0) {
			rc = removed;
			goto fail;
		}
	}
	u.floor = u.live_bytes;
	rc = ost_cache_db_usage_put(&wt, &u);
	if (rc)
		goto fail;
	cache->hand_len = 0; /* inside the write txn: the hand is the writer's */
	rc = ost_cache_db_commit(&wt);
	if (rc)
		return rc;
	atomic_fetch_add_explicit(&cache->commits, 1, memory_order_relaxed);
	return removed;
fail:
	ost_cache_db_abort(&wt);
	return rc;
}

int ost_cache_flush(struct ost_cache *cache, const uint8_t *name)
{
	uint8_t prefix[OST_CACHE_NAME_ENC_MAX];
	size_t plen = 0;
	if (atomic_load(&cache->is_broken))
		return OST_ECORRUPT;
	if (name) {
		int rc = ost_cache_name_encode(name, prefix, &plen);
		if (rc)
			return rc;
	}
	int total = 0, n;
	do {
		n = flush_txn(cache, prefix, plen, name == NULL);
		if (n < 0)
			return n;
		total = total > INT32_MAX - n ? INT32_MAX : total + n;
	} while (name && n == FLUSH_TXN);
	ost_log(OST_LOG_INFO, "cache", "cache flushed removed=%d subtree=%s", total,
		name ? "yes" : "all");
	return total;
}

void ost_cache_stats_get(struct ost_cache *cache, struct ost_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&cache->lock);
	out->hits = atomic_load(&cache->retired.hits);
	out->misses = atomic_load(&cache->retired.misses);
	out->decode_errors = atomic_load(&cache->retired.decode_errors);
	out->front_hits = atomic_load(&cache->retired.front_hits);
	for (struct ost_cache_reader *rd = cache->readers; rd; rd = rd->next) {
		out->hits += atomic_load_explicit(&rd->ctr.hits, memory_order_relaxed);
		out->misses += atomic_load_explicit(&rd->ctr.misses, memory_order_relaxed);
		out->decode_errors +=
			atomic_load_explicit(&rd->ctr.decode_errors, memory_order_relaxed);
		out->front_hits += atomic_load_explicit(&rd->ctr.front_hits, memory_order_relaxed);
	}
	pthread_mutex_unlock(&cache->lock);
	out->inserts = atomic_load(&cache->inserts);
	out->rank_refused = atomic_load(&cache->rank_refused);
	out->evictions = atomic_load(&cache->evictions);
	out->commits = atomic_load(&cache->commits);
	out->gc_rounds = atomic_load(&cache->gc_rounds);
	out->write_dropped = atomic_load(&cache->write_dropped);
	out->damaged = (uint64_t)atomic_load(&cache->is_broken);
	out->bytes_max = ost_cache_db_map_size(cache->db);
	struct ost_cache_rtxn *rt;
	if (ost_cache_db_rtxn_new(cache->db, &rt) == 0) {
		uint64_t pages = 0;
		if (ost_cache_db_rtxn_renew(rt) == 0 &&
		    ost_cache_db_rstat(rt, &out->entries, &pages) == 0)
			out->bytes_used = pages * ost_cache_db_page_size(cache->db);
		ost_cache_db_rtxn_free(rt);
	}
}
