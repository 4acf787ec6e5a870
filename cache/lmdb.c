/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The LMDB backend, the only file of ostrov's cache that includes <lmdb.h>.
 * It opens one environment per process (shared by every worker thread, and by
 * other ostrovd processes through LMDB's lock file), checks that the file is
 * ours, and offers thin read/write transaction helpers to api.c and gc.c.
 * mdb_to_ost() is the one place where LMDB error codes become ostrov codes.
 *
 * Durability choice. Without MDB_WRITEMAP the map is read-only to us: a stray
 * pointer in the resolver faults instead of silently corrupting the cache,
 * and pages reach the file through write(2). LMDB writes the data pages of a
 * transaction before its meta page, so when the process is killed (kill -9)
 * at any instant, the page cache holds either the old or the new meta and
 * both point at complete trees: the cache reopens intact, whatever the sync
 * mode. The sync mode only matters for an OS crash or power loss:
 *  - default, MDB_NOMETASYNC: data pages are fdatasync'd at every commit, the
 *    meta page is flushed with the next commit's sync. An OS crash may lose
 *    the last transaction but never corrupts. One fdatasync per commit is
 *    affordable because commits carry whole per-worker batches, and it is
 *    the writer thread that waits, never a worker.
 *    Measured (2026-11-26, perf on ostrovd resolving 1,902 distinct
 *    validated names at ~1,400/s, 1 worker, ext4 on a shared VM disk): 20
 *    fdatasync calls (one per ~95 resolutions), 9.4 ms mean / 37 ms max
 *    wall each, in the writer thread; about 1 % of the process's CPU
 *    samples. Signature checks (~60 %), malloc/free (~12 %) and upstream
 *    socket set-up dominate, so MDB_NOSYNC with a periodic sync would save
 *    ~1 % of cache-miss CPU for a weaker guarantee: the default stays.
 *  - no_sync (MDB_NOSYNC): nothing is synced by us; fast, still safe against
 *    process death, but an OS crash may leave a meta page pointing at pages
 *    that never hit the disk. Then the open-time checks (or the per-entry
 *    checksums) find it and the file is moved aside. For caches that are
 *    cheap to lose, and for tests.
 * MDB_NOTLS ties reader slots to our transaction objects instead of threads,
 * so each worker keeps one read transaction and only resets/renews it.
 * MDB_NORDAHEAD because access to a large cache is random.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "ostrov/log.h"

#include "impl.h"

struct ost_cache_db {
	MDB_env *env;     /**< the environment */
	MDB_dbi entries;  /**< named database "entries" */
	MDB_dbi meta;     /**< named database "meta": format, usage */
	size_t map_size;  /**< map size after open */
	size_t page_size; /**< LMDB page size */
};

struct ost_cache_rtxn {
	struct ost_cache_db *db; /**< environment */
	MDB_txn *txn;            /**< read transaction, reset when idle */
};

static const char format_key[] = "format";
static const char usage_key[] = "usage";

/* The one mapping of LMDB's error space onto ostrov's (house style §3). */
static int mdb_to_ost(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_KEYEXIST:
		return -EEXIST;
	case MDB_MAP_FULL:
		return OST_EFULL;
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_PANIC:
	case MDB_INCOMPATIBLE:
		return OST_ECORRUPT;
	case MDB_READERS_FULL:
	case MDB_TXN_FULL:
	case MDB_DBS_FULL:
	case MDB_CURSOR_FULL:
	case MDB_PAGE_FULL:
	case MDB_TLS_FULL:
		return OST_ELIMIT;
	case MDB_MAP_RESIZED:
		return -EAGAIN;
	case MDB_BAD_RSLOT:
	case MDB_BAD_TXN:
	case MDB_BAD_VALSIZE:
	case MDB_BAD_DBI:
		return -EINVAL;
	default:
		return rc > 0 ? -rc : -EIO;
	}
}

static MDB_val mval(const void *p, size_t n)
{
	MDB_val v = {.mv_size = n, .mv_data = (void *)p};
	return v;
}

/*
 * Open or create our two databases inside one write transaction, so two
 * processes creating a fresh cache at once agree (the second sees the first's
 * format record). An environment whose main database holds anything but our
 * databases, or whose format record differs, is foreign: OST_ECORRUPT.
 */
static int check_format(struct ost_cache_db *db)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(db->env, NULL, 0, &txn);
	if (rc)
		return mdb_to_ost(rc);

	rc = mdb_dbi_open(txn, "meta", 0, &db->meta);
	if (rc == MDB_NOTFOUND) {
		MDB_dbi main_dbi;
		MDB_stat st;
		rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
		if (!rc)
			rc = mdb_stat(txn, main_dbi, &st);
		if (rc)
			goto out;
		if (st.ms_entries != 0) {
			ost_log(OST_LOG_WARN, "cache", "environment holds foreign data (no meta)");
			rc = MDB_INCOMPATIBLE;
			goto out;
		}
		rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &db->meta);
		if (!rc)
			rc = mdb_dbi_open(txn, "entries", MDB_CREATE, &db->entries);
		if (rc)
			goto out;
		uint32_t fmt[2] = {htole32(OST_CACHE_FORMAT_MAGIC),
				   htole32(OST_CACHE_FORMAT_VERSION)};
		MDB_val k = mval(format_key, sizeof(format_key) - 1), v = mval(fmt, sizeof(fmt));
		rc = mdb_put(txn, db->meta, &k, &v, 0);
		if (rc)
			goto out;
		return mdb_to_ost(mdb_txn_commit(txn));
	}
	if (rc)
		goto out;

	MDB_val k = mval(format_key, sizeof(format_key) - 1), v;
	rc = mdb_get(txn, db->meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		ost_log(OST_LOG_WARN, "cache", "environment has no format record");
		rc = MDB_INCOMPATIBLE;
		goto out;
	}
	if (rc)
		goto out;
	uint32_t fmt[2];
	if (v.mv_size != sizeof(fmt)) {
		rc = MDB_INCOMPATIBLE;
		goto out;
	}
	memcpy(fmt, v.mv_data, sizeof(fmt));
	if (le32toh(fmt[0]) != OST_CACHE_FORMAT_MAGIC ||
	    le32toh(fmt[1]) != OST_CACHE_FORMAT_VERSION) {
		ost_log(OST_LOG_WARN, "cache", "cache format mismatch magic=0x%08x version=%u",
			le32toh(fmt[0]), le32toh(fmt[1]));
		rc = MDB_INCOMPATIBLE;
		goto out;
	}
	rc = mdb_dbi_open(txn, "entries", 0, &db->entries);
	if (rc)
		goto out;
	return mdb_to_ost(mdb_txn_commit(txn));
out:
	mdb_txn_abort(txn);
	return rc == MDB_NOTFOUND ? OST_ECORRUPT : mdb_to_ost(rc);
}

int ost_cache_db_open(struct ost_cache_db **out, const char *path, size_t map_size,
		      unsigned max_readers, bool no_sync)
{
	struct ost_cache_db *db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	int rc = mdb_env_create(&db->env);
	if (rc) {
		free(db);
		return mdb_to_ost(rc);
	}
	/* Size 0: take the size recorded in an existing file; fixed up below. */
	rc = mdb_env_set_mapsize(db->env, 0);
	if (!rc)
		rc = mdb_env_set_maxreaders(db->env, max_readers);
	if (!rc)
		rc = mdb_env_set_maxdbs(db->env, 2);
	if (rc)
		goto fail;
	unsigned flags = MDB_NOTLS | MDB_NORDAHEAD | (no_sync ? MDB_NOSYNC : MDB_NOMETASYNC);
	rc = mdb_env_open(db->env, path, flags, 0640);
	if (rc)
		goto fail;
	if (mdb_env_get_maxkeysize(db->env) < OST_CACHE_KEY_MAX) {
		ost_log(OST_LOG_ERR, "cache", "LMDB key limit too small max=%d need=%d",
			mdb_env_get_maxkeysize(db->env), OST_CACHE_KEY_MAX);
		mdb_env_close(db->env);
		free(db);
		return OST_ELIMIT;
	}
	/*
	 * Processes sharing the file must map the same size, or the one with
	 * the smaller map fails every transaction (MDB_MAP_RESIZED) once the
	 * other has grown the data past it. So the map is the larger of the
	 * configured size and the size recorded in the file (LMDB records it
	 * at the next commit): growing takes effect at once, shrinking needs a
	 * fresh file.
	 */
	MDB_envinfo info;
	mdb_env_info(db->env, &info);
	if (info.me_mapsize < map_size) {
		rc = mdb_env_set_mapsize(db->env, map_size);
		if (rc)
			goto fail;
	} else if (info.me_mapsize > map_size) {
		ost_log(OST_LOG_WARN, "cache",
			"cache file was made with a larger size, keeping it size=%zu "
			"configured=%zu",
			(size_t)info.me_mapsize, map_size);
	}
	/* Slots of processes killed while reading would pin old pages forever. */
	int dead = 0;
	mdb_reader_check(db->env, &dead);
	if (dead)
		ost_log(OST_LOG_INFO, "cache", "cleared stale reader slots count=%d", dead);

	int orc = check_format(db);
	if (orc) {
		mdb_env_close(db->env);
		free(db);
		return orc;
	}
	MDB_stat st;
	mdb_env_info(db->env, &info);
	mdb_env_stat(db->env, &st);
	db->map_size = info.me_mapsize;
	db->page_size = st.ms_psize;
	*out = db;
	return 0;
fail:
	mdb_env_close(db->env);
	free(db);
	return mdb_to_ost(rc);
}

void ost_cache_db_close(struct ost_cache_db *db)
{
	if (!db)
		return;
	mdb_env_close(db->env);
	free(db);
}

size_t ost_cache_db_map_size(const struct ost_cache_db *db)
{
	return db->map_size;
}

size_t ost_cache_db_page_size(const struct ost_cache_db *db)
{
	return db->page_size;
}

int ost_cache_db_reader_check(struct ost_cache_db *db)
{
	int dead = 0;
	mdb_reader_check(db->env, &dead);
	return dead;
}

int ost_cache_db_sync(struct ost_cache_db *db)
{
	return mdb_to_ost(mdb_env_sync(db->env, 1));
}

int ost_cache_db_rtxn_new(struct ost_cache_db *db, struct ost_cache_rtxn **out)
{
	struct ost_cache_rtxn *rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->db = db;
	int rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &rt->txn);
	if (rc) {
		free(rt);
		return mdb_to_ost(rc);
	}
	mdb_txn_reset(rt->txn);
	*out = rt;
	return 0;
}

void ost_cache_db_rtxn_free(struct ost_cache_rtxn *rt)
{
	if (!rt)
		return;
	mdb_txn_abort(rt->txn);
	free(rt);
}

int ost_cache_db_rtxn_renew(struct ost_cache_rtxn *rt)
{
	return mdb_to_ost(mdb_txn_renew(rt->txn));
}

uint64_t ost_cache_db_rtxn_id(const struct ost_cache_rtxn *rt)
{
	return (uint64_t)mdb_txn_id(rt->txn);
}

void ost_cache_db_rtxn_reset(struct ost_cache_rtxn *rt)
{
	mdb_txn_reset(rt->txn);
}

int ost_cache_db_rget(struct ost_cache_rtxn *rt, const uint8_t *key, size_t klen,
		      const uint8_t **val, size_t *vlen)
{
	MDB_val k = mval(key, klen), v;
	int rc = mdb_get(rt->txn, rt->db->entries, &k, &v);
	if (rc)
		return mdb_to_ost(rc);
	*val = v.mv_data;
	*vlen = v.mv_size;
	return 0;
}

static int txn_stat(MDB_txn *txn, const struct ost_cache_db *db, uint64_t *entries, uint64_t *pages)
{
	MDB_stat se, sm;
	int rc = mdb_stat(txn, db->entries, &se);
	if (!rc)
		rc = mdb_stat(txn, db->meta, &sm);
	if (rc)
		return mdb_to_ost(rc);
	if (entries)
		*entries = se.ms_entries;
	if (pages)
		*pages = se.ms_branch_pages + se.ms_leaf_pages + se.ms_overflow_pages +
			 sm.ms_branch_pages + sm.ms_leaf_pages + sm.ms_overflow_pages;
	return 0;
}

int ost_cache_db_rstat(struct ost_cache_rtxn *rt, uint64_t *entries, uint64_t *pages)
{
	return txn_stat(rt->txn, rt->db, entries, pages);
}

/*
 * A full scan in one read transaction would pin, for as long as it runs, every
 * page that writers free meanwhile, in this process and in every other one
 * sharing the file: LMDB reuses a freed page only once no reader is older than
 * the transaction that freed it. Eviction scans the whole cache, and on a busy
 * machine the scanning thread can be descheduled for tens of milliseconds, so
 * another process's writer ran out of reusable pages and hit MDB_MAP_FULL
 * (unit_cache test_two_process_flood under load). The scan therefore takes a
 * fresh snapshot every RSCAN_CHUNK entries and carries on from the last key:
 * the caller sees each chunk consistent, not the whole scan, which sampling
 * does not need.
 */
#define RSCAN_CHUNK 1024

int ost_cache_db_rscan(struct ost_cache_rtxn *rt,
		       int (*cb)(void *ctx, const struct ost_cache_kv *kv), void *ctx)
{
	uint8_t last[OST_CACHE_KEY_MAX];
	size_t last_len = 0;
	bool has_last = false;
	for (;;) {
		MDB_cursor *c;
		int rc = mdb_cursor_open(rt->txn, rt->db->entries, &c);
		if (rc)
			return mdb_to_ost(rc);
		MDB_val k = mval(last, last_len), v;
		rc = mdb_cursor_get(c, &k, &v, has_last ? MDB_SET_RANGE : MDB_FIRST);
		if (rc == 0 && has_last && k.mv_size == last_len &&
		    !memcmp(k.mv_data, last, last_len))
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT); /* seen in the previous chunk */
		unsigned n = 0;
		for (; rc == 0 && n < RSCAN_CHUNK; n++) {
			struct ost_cache_kv kv = {k.mv_data, k.mv_size, v.mv_data, v.mv_size};
			int crc = cb(ctx, &kv);
			if (crc) {
				mdb_cursor_close(c);
				return crc;
			}
			if (k.mv_size <= sizeof(last)) {
				memcpy(last, k.mv_data, k.mv_size);
				last_len = k.mv_size;
				has_last = true;
			}
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
		}
		mdb_cursor_close(c);
		if (rc != 0)
			return rc == MDB_NOTFOUND ? 0 : mdb_to_ost(rc);
		/* A chunk done: let go of this snapshot, take the newest. */
		mdb_txn_reset(rt->txn);
		rc = mdb_txn_renew(rt->txn);
		if (rc)
			return mdb_to_ost(rc);
	}
}

/*
 * mdb_reader_list() reports each used reader slot as a text line "pid thread
 * txnid", with "-" for a slot that holds no snapshot; it is LMDB's only view
 * of other processes' readers.
 */
static int reader_line(const char *msg, void *ctx)
{
	struct ost_cache_db_pressure *p = ctx;
	int pid;
	char thread[32], txnid[32];
	if (sscanf(msg, "%d %31s %31s", &pid, thread, txnid) != 3 || txnid[0] == '-')
		return 0;
	char *end;
	unsigned long long t = strtoull(txnid, &end, 10);
	if (end == txnid)
		return 0;
	p->readers++;
	if (p->readers == 1 || t < p->oldest_reader_txn)
		p->oldest_reader_txn = t;
	return 0;
}

void ost_cache_db_pressure(struct ost_cache_db *db, struct ost_cache_db_pressure *out)
{
	MDB_envinfo info;
	memset(out, 0, sizeof(*out));
	mdb_env_info(db->env, &info);
	out->last_txn = info.me_last_txnid;
	out->pages_used = info.me_last_pgno + 1;
	out->map_pages = info.me_mapsize / db->page_size;
	mdb_reader_list(db->env, reader_line, out);
}

int ost_cache_db_wbegin(struct ost_cache_db *db, struct ost_cache_wtxn *wt)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(db->env, NULL, 0, &txn);
	if (rc)
		return mdb_to_ost(rc);
	wt->db = db;
	wt->txn = txn;
	wt->cur = NULL;
	return 0;
}

int ost_cache_db_commit(struct ost_cache_wtxn *wt)
{
	if (wt->cur)
		mdb_cursor_close(wt->cur);
	int rc = mdb_txn_commit(wt->txn);
	wt->txn = NULL;
	wt->cur = NULL;
	return mdb_to_ost(rc);
}

void ost_cache_db_abort(struct ost_cache_wtxn *wt)
{
	if (!wt->txn)
		return;
	if (wt->cur)
		mdb_cursor_close(wt->cur);
	mdb_txn_abort(wt->txn);
	wt->txn = NULL;
	wt->cur = NULL;
}

int ost_cache_db_get(struct ost_cache_wtxn *wt, const uint8_t *key, size_t klen,
		     const uint8_t **val, size_t *vlen)
{
	MDB_val k = mval(key, klen), v;
	int rc = mdb_get(wt->txn, wt->db->entries, &k, &v);
	if (rc)
		return mdb_to_ost(rc);
	*val = v.mv_data;
	*vlen = v.mv_size;
	return 0;
}

int ost_cache_db_put(struct ost_cache_wtxn *wt, const uint8_t *key, size_t klen, const uint8_t *val,
		     size_t vlen)
{
	MDB_val k = mval(key, klen), v = mval(val, vlen);
	return mdb_to_ost(mdb_put(wt->txn, wt->db->entries, &k, &v, 0));
}

int ost_cache_db_del(struct ost_cache_wtxn *wt, const uint8_t *key, size_t klen)
{
	MDB_val k = mval(key, klen);
	return mdb_to_ost(mdb_del(wt->txn, wt->db->entries, &k, NULL));
}

static int cursor_op(struct ost_cache_wtxn *wt, MDB_val *k, MDB_cursor_op op,
		     struct ost_cache_kv *kv)
{
	if (!wt->cur) {
		MDB_cursor *c;
		int rc = mdb_cursor_open(wt->txn, wt->db->entries, &c);
		if (rc)
			return mdb_to_ost(rc);
		wt->cur = c;
	}
	MDB_val v;
	int rc = mdb_cursor_get(wt->cur, k, &v, op);
	if (rc)
		return mdb_to_ost(rc);
	kv->key = k->mv_data;
	kv->klen = k->mv_size;
	kv->val = v.mv_data;
	kv->vlen = v.mv_size;
	return 0;
}

int ost_cache_db_seek(struct ost_cache_wtxn *wt, const uint8_t *key, size_t klen,
		      struct ost_cache_kv *kv)
{
	MDB_val k = mval(key, klen);
	return cursor_op(wt, &k, klen ? MDB_SET_RANGE : MDB_FIRST, kv);
}

int ost_cache_db_next(struct ost_cache_wtxn *wt, struct ost_cache_kv *kv)
{
	MDB_val k = {0, NULL};
	if (!wt->cur)
		return -EINVAL;
	return cursor_op(wt, &k, MDB_NEXT, kv);
}

int ost_cache_db_drop_all(struct ost_cache_wtxn *wt)
{
	if (wt->cur) {
		mdb_cursor_close(wt->cur);
		wt->cur = NULL;
	}
	return mdb_to_ost(mdb_drop(wt->txn, wt->db->entries, 0));
}

int ost_cache_db_wstat(struct ost_cache_wtxn *wt, uint64_t *entries, uint64_t *pages)
{
	return txn_stat(wt->txn, wt->db, entries, pages);
}

int ost_cache_db_usage_get(struct ost_cache_wtxn *wt, struct ost_cache_usage *u)
{
	MDB_val k = mval(usage_key, sizeof(usage_key) - 1), v;
	int rc = mdb_get(wt->txn, wt->db->meta, &k, &v);
	memset(u, 0, sizeof(*u));
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return mdb_to_ost(rc);
	if (v.mv_size != 16)
		return 0; /* rebuilt by later writes; only a hint for eviction */
	uint64_t w[2];
	memcpy(w, v.mv_data, sizeof(w));
	u->live_bytes = le64toh(w[0]);
	u->floor = le64toh(w[1]);
	return 0;
}

int ost_cache_db_usage_put(struct ost_cache_wtxn *wt, const struct ost_cache_usage *u)
{
	uint64_t w[2] = {htole64(u->live_bytes), htole64(u->floor)};
	MDB_val k = mval(usage_key, sizeof(usage_key) - 1), v = mval(w, sizeof(w));
	return mdb_to_ost(mdb_put(wt->txn, wt->db->meta, &k, &v, 0));
}
