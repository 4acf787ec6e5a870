/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Eviction: keeps the LMDB map from filling. It runs in the writer before a
 * batch is written, in its own small write transactions.
 *
 * Why small transactions. LMDB never overwrites a page in use: deleting an
 * entry copies its leaf (and the path above it) to a fresh page, and the old
 * pages only become reusable after the commit. Eviction victims are spread
 * over the whole key space, so one big deletion transaction would copy most
 * leaves and hit MDB_MAP_FULL exactly when room is needed. Each eviction
 * transaction therefore examines at most SCAN_CHUNK entries and deletes at
 * most VICTIM_CHUNK, then commits, returning the freed pages for the next.
 *
 * When. Pages in use (mdb_stat) are a poor trigger on their own: deleting
 * scattered entries leaves pages partly empty rather than freeing them, so
 * the page count hardly drops and every commit would evict again until the
 * cache is nearly empty. We keep an estimate of the bytes of live entries
 * (key + value + node overhead) in the meta database, updated by every write
 * in the same transaction, so it is exact across processes. Above 55 % of
 * the map, a round brings it back to 45 % (B-tree pages run 50-70 % full, and
 * a write transaction needs copy-on-write room on top). If pages still pass
 * 80 % (fragmentation), a round frees one step of 5 % once live bytes have
 * grown by a step since the last round. After a MAP_FULL the commit is
 * retried with a forced round of 10 % of the map per try.
 *
 * What. Expired entries first, then the least recently used. Recency is a
 * coarse "last used" stamp in each entry: set to now when stored, and
 * refreshed by the writer when readers report hits on entries whose stamp is
 * older than the touch interval (api.c), so reads never write. A round walks
 * the entries' headers once (every k-th entry when there are more than
 * SAMPLE_MAX), sorts the sample by stamp (expired and undecodable entries
 * count as oldest) and picks the cutoff stamp where the sample's cost reaches
 * the bytes to free. It then sweeps from a rotating hand (kept across rounds,
 * so the whole key space is visited over time), deleting entries at or below
 * the cutoff until enough is freed. One round never removes more than half
 * of the entries, so eviction never wipes the cache.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ostrov/log.h"

#include "impl.h"

#define SAMPLE_MAX     65536
#define VICTIM_CHUNK   256  /* deletions per eviction transaction */
#define SCAN_CHUNK     4096 /* entries examined per eviction transaction */
#define LIVE_HIGH_PCT  55
#define LIVE_LOW_PCT   45
#define PAGES_HIGH_PCT 80
#define STEP_PCT       5

struct sample {
	int64_t t;     /* last use, INT64_MIN for expired or broken */
	uint64_t cost; /* bytes it stands for (cost x stride) */
};

uint64_t ost_cache_entry_cost(const struct ost_cache_db *db, size_t klen, size_t vlen)
{
	size_t psz = ost_cache_db_page_size(db);
	size_t node = klen + vlen + OST_CACHE_NODE_OVERHEAD;
	/* LMDB moves values over about half a page to their own overflow pages. */
	if (node > psz / 2)
		return klen + OST_CACHE_NODE_OVERHEAD + (vlen + 16 + psz - 1) / psz * psz;
	return node;
}

/*
 * Bytes to free before the next write, 0 if none. Live bytes above 55 % of
 * the map bring them back to 45 %: with B-tree pages 50-70 % full and a
 * transaction's copy-on-write pages on top, that keeps LMDB clear of
 * MAP_FULL. Pages above 80 % (fragmentation) free one step if live bytes grew
 * by a step since the last round; after a MAP_FULL the caller forces rounds.
 */
static uint64_t need_bytes(struct ost_cache *cache, uint64_t pages, const struct ost_cache_usage *u,
			   unsigned force_round)
{
	uint64_t map = ost_cache_db_map_size(cache->db);
	uint64_t used = pages * ost_cache_db_page_size(cache->db);
	uint64_t need = 0;
	if (u->live_bytes > map / 100 * LIVE_HIGH_PCT)
		need = u->live_bytes - map / 100 * LIVE_LOW_PCT;
	else if (used >= map / 100 * PAGES_HIGH_PCT &&
		 u->live_bytes > u->floor + map / 100 * STEP_PCT)
		need = map / 100 * STEP_PCT;
	if (force_round && need < map / 10 * force_round)
		need = map / 10 * force_round;
	return need;
}

static int cmp_sample(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	return (x->t > y->t) - (x->t < y->t);
}

/* Stamp used for ordering: expired and undecodable entries go first. */
static int64_t victim_stamp(const struct ost_cache_kv *kv, int64_t now)
{
	struct ost_cache_meta m;
	if (ost_cache_entry_peek(kv->val, kv->vlen, &m) ||
	    ost_cache_key_tag(kv->key, kv->klen) >= OST_CTAG_COUNT)
		return INT64_MIN;
	if (m.expires_at <= now)
		return INT64_MIN;
	return m.last_used;
}

/* Pass 1 state: a sample of (stamp, cost) over the whole cache. */
struct sampler {
	struct ost_cache *cache;
	int64_t now;
	uint64_t stride; /* take every stride-th entry */
	uint64_t seen;   /* entries visited */
	uint64_t total;  /* cost of all entries */
	size_t k, cap;   /* samples taken, room */
	struct sample *s;
};

static int sample_one(void *ctx, const struct ost_cache_kv *kv)
{
	struct sampler *sp = ctx;
	uint64_t c = ost_cache_entry_cost(sp->cache->db, kv->klen, kv->vlen);
	sp->total += c;
	if (sp->seen++ % sp->stride == 0 && sp->k < sp->cap) {
		sp->s[sp->k].t = victim_stamp(kv, sp->now);
		sp->s[sp->k].cost = c * sp->stride;
		sp->k++;
	}
	return 0;
}

/*
 * Pass 1: the stamp at which the oldest entries add up to @p target bytes.
 * It walks every header, so it runs in a read transaction: other writers,
 * in this process or another, are not held up by it.
 */
static int find_cutoff(struct ost_cache *cache, uint64_t n, uint64_t *target, int64_t now,
		       int64_t *cutoff)
{
	struct sampler sp = {.cache = cache, .now = now, .stride = n / SAMPLE_MAX + 1};
	sp.cap = (size_t)(n / sp.stride) + 2;
	sp.s = malloc(sp.cap * sizeof(*sp.s));
	if (!sp.s)
		return -ENOMEM;
	struct ost_cache_rtxn *rt;
	int rc = ost_cache_db_rtxn_new(cache->db, &rt);
	if (!rc) {
		rc = ost_cache_db_rtxn_renew(rt);
		if (!rc)
			rc = ost_cache_db_rscan(rt, sample_one, &sp);
		ost_cache_db_rtxn_free(rt);
	}
	if (rc) {
		free(sp.s);
		return rc;
	}
	if (*target > sp.total / 2)
		*target = sp.total / 2;
	qsort(sp.s, sp.k, sizeof(*sp.s), cmp_sample);
	uint64_t acc = 0;
	*cutoff = INT64_MIN;
	for (size_t j = 0; j < sp.k; j++) {
		acc += sp.s[j].cost;
		*cutoff = sp.s[j].t;
		if (acc >= *target)
			break;
	}
	free(sp.s);
	return 0;
}

struct victims {
	size_t n;
	uint16_t klen[VICTIM_CHUNK];
	uint8_t key[VICTIM_CHUNK][OST_CACHE_KEY_MAX];
	uint64_t cost[VICTIM_CHUNK];
};

/* Where a round stands between its transactions. */
struct sweep {
	int64_t cutoff;   /* victims: stamp <= cutoff */
	uint64_t target;  /* bytes to free */
	uint64_t freed;   /* bytes freed so far */
	uint64_t deleted; /* entries deleted so far */
	uint64_t scanned; /* entries examined so far */
	uint64_t n;       /* entries when the round started */
	bool wrapped;     /* the hand went past the last key once */
	bool done;        /* nothing more to do */
};

/*
 * One eviction transaction: from the hand, examine up to SCAN_CHUNK entries,
 * delete up to VICTIM_CHUNK victims, move the hand. Small transactions keep
 * the copy-on-write pages of a deletion pass small, and every commit returns
 * the freed pages to LMDB's free list for the next one.
 */
static int sweep_chunk(struct ost_cache *cache, struct ost_cache_wtxn *wt, struct sweep *sw,
		       struct victims *v, int64_t now)
{
	struct ost_cache_kv kv;
	uint64_t pending = 0, scanned = 0;
	uint8_t last[OST_CACHE_KEY_MAX];
	size_t last_len = cache->hand_len;
	memcpy(last, cache->hand, last_len);
	v->n = 0;
	int rc = ost_cache_db_seek(wt, cache->hand, cache->hand_len, &kv);
	if (rc == 0 && cache->hand_len && kv.klen == cache->hand_len &&
	    !memcmp(kv.key, cache->hand, kv.klen))
		rc = ost_cache_db_next(wt, &kv); /* the hand itself was examined */
	while (scanned < SCAN_CHUNK && v->n < VICTIM_CHUNK) {
		if (sw->scanned + scanned >= sw->n || sw->deleted + v->n >= sw->n / 2 ||
		    sw->freed + pending >= sw->target) {
			sw->done = true;
			break;
		}
		if (rc == -ENOENT) {
			if (sw->wrapped) {
				sw->done = true;
				break;
			}
			sw->wrapped = true;
			rc = ost_cache_db_seek(wt, NULL, 0, &kv);
			continue;
		}
		if (rc)
			return rc;
		scanned++;
		memcpy(last, kv.key, kv.klen);
		last_len = kv.klen;
		if (victim_stamp(&kv, now) <= sw->cutoff) {
			memcpy(v->key[v->n], kv.key, kv.klen);
			v->klen[v->n] = (uint16_t)kv.klen;
			v->cost[v->n] = ost_cache_entry_cost(cache->db, kv.klen, kv.vlen);
			pending += v->cost[v->n];
			v->n++;
		}
		rc = ost_cache_db_next(wt, &kv);
	}
	for (size_t i = 0; i < v->n; i++) {
		rc = ost_cache_db_del(wt, v->key[i], v->klen[i]);
		if (rc == -ENOENT)
			continue;
		if (rc)
			return rc;
		sw->freed += v->cost[i];
		sw->deleted++;
	}
	sw->scanned += scanned;
	memcpy(cache->hand, last, last_len);
	cache->hand_len = last_len;
	return 0;
}

int ost_cache_gc(struct ost_cache *cache, unsigned force_round, int64_t now)
{
	struct ost_cache_wtxn wt;
	struct ost_cache_usage u;
	struct sweep sw = {0};
	uint64_t pages = 0;

	/* Decide under the writer lock (cheap), sample without it. */
	int rc = ost_cache_db_wbegin(cache->db, &wt);
	if (rc)
		return rc;
	rc = ost_cache_db_usage_get(&wt, &u);
	if (!rc)
		rc = ost_cache_db_wstat(&wt, &sw.n, &pages);
	ost_cache_db_abort(&wt);
	if (rc)
		return rc;
	sw.target = need_bytes(cache, pages, &u, force_round);
	if (sw.target == 0 || sw.n < 2)
		return 0;
	rc = find_cutoff(cache, sw.n, &sw.target, now, &sw.cutoff);
	if (rc)
		return rc;
	uint64_t goal = u.live_bytes > sw.target ? u.live_bytes - sw.target : 0;
	struct victims *v = malloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	uint64_t txns = 0;
	while (!sw.done) {
		rc = ost_cache_db_wbegin(cache->db, &wt);
		if (rc)
			break;
		rc = ost_cache_db_usage_get(&wt, &u);
		if (rc)
			goto abort;
		/* Another process may be evicting too: stop once the goal is met. */
		if (u.live_bytes <= goal) {
			ost_cache_db_abort(&wt);
			break;
		}
		uint64_t before = sw.freed;
		rc = sweep_chunk(cache, &wt, &sw, v, now);
		if (rc)
			goto abort;
		uint64_t freed = sw.freed - before;
		u.live_bytes = u.live_bytes > freed ? u.live_bytes - freed : 0;
		u.floor = u.live_bytes;
		rc = ost_cache_db_usage_put(&wt, &u);
		if (rc)
			goto abort;
		rc = ost_cache_db_commit(&wt);
		if (rc)
			break;
		txns++;
		continue;
	abort:
		ost_cache_db_abort(&wt);
		break;
	}
	free(v);
	atomic_fetch_add_explicit(&cache->evictions, sw.deleted, memory_order_relaxed);
	atomic_fetch_add_explicit(&cache->gc_rounds, 1, memory_order_relaxed);
	ost_log(OST_LOG_DEBUG, "cache",
		"eviction round target=%llu freed=%llu deleted=%llu scanned=%llu txns=%llu rc=%d",
		(unsigned long long)sw.target, (unsigned long long)sw.freed,
		(unsigned long long)sw.deleted, (unsigned long long)sw.scanned,
		(unsigned long long)txns, rc);
	return rc;
}
