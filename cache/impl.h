/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private declarations shared by the files of cache/: key encoding (key.c),
 * the entry value format (entry.c), the LMDB backend (lmdb.c, the only file
 * that includes <lmdb.h>), eviction (gc.c) and the public functions (api.c).
 * Nothing outside cache/ and tests/unit/cache/ includes this header.
 */
#ifndef OSTROV_CACHE_IMPL_H
#define OSTROV_CACHE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ostrov/cache.h"

/*
 * On-disk format. The meta database holds one record under "format" with
 * FORMAT_MAGIC and FORMAT_VERSION; an environment without it (and not empty)
 * or with another version is foreign and is moved aside at open.
 */
#define OST_CACHE_FORMAT_MAGIC   0x6f737463u /* "ostc" */
#define OST_CACHE_FORMAT_VERSION 1u

/* Entry value format: a fixed header then the payload (entry.c). */
#define OST_CACHE_HDR_LEN       48
#define OST_CACHE_ENTRY_MAGIC   0x4f43u /* "OC" */
#define OST_CACHE_ENTRY_VERSION 1u
/* Largest payload one entry may carry (a DNS message is at most 64 KiB). */
#define OST_CACHE_MAX_PAYLOAD   (70u * 1024u)
/* Longest encoded owner name (see key.c for the arithmetic). */
#define OST_CACHE_NAME_ENC_MAX  504
/* LMDB's per-node bookkeeping, used to estimate what an entry costs. */
#define OST_CACHE_NODE_OVERHEAD 16

/* ---------- key.c ---------- */

/**
 * Encode a wire-format name for ordered storage: labels reversed, ASCII
 * lowercased, octets 0x00/0x01 escaped, each label ended by 0x00.
 * @return 0 or -EINVAL (bad label length, over 255 octets, compression)
 */
int ost_cache_name_encode(const uint8_t *name, uint8_t out[OST_CACHE_NAME_ENC_MAX],
			  size_t *out_len);

/**
 * Build the key of (owner, type, tag) into @p out.
 * @return 0 or -EINVAL
 */
int ost_cache_key_encode(const uint8_t *owner, uint16_t type, uint8_t tag,
			 uint8_t out[OST_CACHE_KEY_MAX], size_t *out_len);

/** @return the tag byte stored at the end of a key, or 0xff for a short key. */
uint8_t ost_cache_key_tag(const uint8_t *key, size_t len);

/* ---------- entry.c ---------- */

/** What eviction and the rank check need from a stored value. */
struct ost_cache_meta {
	uint8_t rank;       /**< enum ost_rank */
	int64_t expires_at; /**< absolute expiry */
	int64_t last_used;  /**< coarse last use (wall seconds) */
};

/** @return the size of the value for a payload of @p payload_len */
static inline size_t ost_cache_value_len(uint32_t payload_len)
{
	return OST_CACHE_HDR_LEN + (size_t)payload_len;
}

/**
 * Write header and payload of @p e into @p dst (ost_cache_value_len() bytes).
 * The checksum covers everything.
 */
void ost_cache_entry_encode(uint8_t *dst, const struct ost_cache_entry *e, int64_t last_used);

/**
 * Check and decode a stored value; out->data points into @p val.
 * @param want_tag the tag the key carries (a mismatch is corruption)
 * @param last_used receives the last-use stamp, may be NULL
 * @return 0 or OST_ECORRUPT
 */
int ost_cache_entry_decode(const uint8_t *val, size_t len, uint8_t want_tag,
			   struct ost_cache_entry *out, int64_t *last_used);

/**
 * Read only the header fields eviction needs (no checksum pass).
 * @return 0 or OST_ECORRUPT
 */
int ost_cache_entry_peek(const uint8_t *val, size_t len, struct ost_cache_meta *out);

/** Set the last-use stamp of an encoded value in place and fix its checksum. */
void ost_cache_entry_set_last_used(uint8_t *val, size_t len, int64_t last_used);

/** @return a 64-bit hash of @p n octets (the entry checksum's mixer; not keyed) */
uint64_t ost_cache_hash(const uint8_t *p, size_t n);

/* ---------- front.c ---------- */

/* Key and payload of one front copy together, at most this many octets. */
#define OST_CACHE_FRONT_BYTES 1408

struct ost_cache_front;

/** @return the slots of a front table for cfg.front_entries (a power of two, 0: none) */
unsigned ost_cache_front_slots(uint32_t configured);
/** Make a front table of @p slots (a power of two; 0: *out = NULL). @return 0, -ENOMEM */
int ost_cache_front_new(unsigned slots, struct ost_cache_front **out);
void ost_cache_front_free(struct ost_cache_front *f);
/**
 * The copy of @p key made in snapshot @p txn, lent to @p session (not
 * overwritten before the session ends). @return the entry or NULL
 */
const struct ost_cache_entry *ost_cache_front_get(struct ost_cache_front *f, uint64_t txn,
						  uint64_t session, const uint8_t *key, size_t klen,
						  uint64_t hash, int64_t *last_used);
/** Note that a touch was queued for the copy at @p hash (its stamp is now @p now). */
void ost_cache_front_touched(struct ost_cache_front *f, uint64_t hash, int64_t now);
/**
 * Offer an entry just read from LMDB in snapshot @p txn: copied at its second
 * offer in one snapshot if it fits and its slot is not lent to @p session.
 */
void ost_cache_front_put(struct ost_cache_front *f, uint64_t txn, uint64_t session,
			 const uint8_t *key, size_t klen, uint64_t hash,
			 const struct ost_cache_entry *e, int64_t last_used);

/* ---------- lmdb.c ---------- */

struct ost_cache_db;
struct ost_cache_rtxn;

/** A write transaction; txn and cursor are LMDB objects, opaque here. */
struct ost_cache_wtxn {
	struct ost_cache_db *db; /**< the environment */
	void *txn;               /**< MDB_txn * */
	void *cur;               /**< MDB_cursor * on entries, opened lazily */
};

/** One key/value pair borrowed from a transaction. */
struct ost_cache_kv {
	const uint8_t *key; /**< key bytes */
	size_t klen;        /**< key length */
	const uint8_t *val; /**< value bytes */
	size_t vlen;        /**< value length */
};

/** Usage bookkeeping kept in the meta database, updated in every write. */
struct ost_cache_usage {
	uint64_t live_bytes; /**< estimated bytes of stored entries */
	uint64_t floor;      /**< live_bytes right after the last eviction round */
};

/**
 * Open the environment at directory @p path, creating it when empty.
 * @return 0, OST_ECORRUPT (not an LMDB environment of ours), -errno
 */
int ost_cache_db_open(struct ost_cache_db **out, const char *path, size_t map_size,
		      unsigned max_readers, bool no_sync);
void ost_cache_db_close(struct ost_cache_db *db);
/** @return the map size in bytes */
size_t ost_cache_db_map_size(const struct ost_cache_db *db);
/** @return LMDB's page size */
size_t ost_cache_db_page_size(const struct ost_cache_db *db);
/** Clear reader slots left by dead processes. @return slots cleared */
int ost_cache_db_reader_check(struct ost_cache_db *db);
/** Flush to disk (for the no-sync mode). */
int ost_cache_db_sync(struct ost_cache_db *db);

/** Make a read transaction handle, left reset (no snapshot held). */
int ost_cache_db_rtxn_new(struct ost_cache_db *db, struct ost_cache_rtxn **out);
void ost_cache_db_rtxn_free(struct ost_cache_rtxn *rt);
int ost_cache_db_rtxn_renew(struct ost_cache_rtxn *rt);
void ost_cache_db_rtxn_reset(struct ost_cache_rtxn *rt);
/** @return 0, -ENOENT or an error; the value is valid until reset */
int ost_cache_db_rget(struct ost_cache_rtxn *rt, const uint8_t *key, size_t klen,
		      const uint8_t **val, size_t *vlen);
/** @return the id of the snapshot @p rt reads (renewed): a new one after every commit */
uint64_t ost_cache_db_rtxn_id(const struct ost_cache_rtxn *rt);
/** Entries and pages in use as seen by @p rt (renewed). */
int ost_cache_db_rstat(struct ost_cache_rtxn *rt, uint64_t *entries, uint64_t *pages);

/**
 * Call @p cb on every entry of a renewed read transaction, in key order. The
 * snapshot is renewed every few thousand entries (see lmdb.c), so a long scan
 * never pins old pages for writers: each chunk is consistent, the whole scan
 * need not be.
 * @return 0, the first non-zero value @p cb returned, or an error
 */
int ost_cache_db_rscan(struct ost_cache_rtxn *rt,
		       int (*cb)(void *ctx, const struct ost_cache_kv *kv), void *ctx);

/** What may keep a writer from finding room: the map's use and the oldest snapshot. */
struct ost_cache_db_pressure {
	uint64_t pages_used;        /**< high-water mark of the file, in pages */
	uint64_t map_pages;         /**< map size in pages */
	uint64_t last_txn;          /**< id of the last committed write transaction */
	uint64_t oldest_reader_txn; /**< oldest snapshot held by a reader (readers > 0) */
	unsigned readers;           /**< reader slots holding a snapshot, all processes */
};

/**
 * Read the map's use and the reader table (every process). Pages freed by
 * transactions newer than oldest_reader_txn cannot be reused yet.
 */
void ost_cache_db_pressure(struct ost_cache_db *db, struct ost_cache_db_pressure *out);

int ost_cache_db_wbegin(struct ost_cache_db *db, struct ost_cache_wtxn *wt);
/** Commit; MAP_FULL maps to OST_EFULL. The handle is finished either way. */
int ost_cache_db_commit(struct ost_cache_wtxn *wt);
void ost_cache_db_abort(struct ost_cache_wtxn *wt);
int ost_cache_db_get(struct ost_cache_wtxn *wt, const uint8_t *key, size_t klen,
		     const uint8_t **val, size_t *vlen);
/** Put a value; OST_EFULL when the map is full (then the txn must be aborted). */
int ost_cache_db_put(struct ost_cache_wtxn *wt, const uint8_t *key, size_t klen, const uint8_t *val,
		     size_t vlen);
/** @return 0 or -ENOENT */
int ost_cache_db_del(struct ost_cache_wtxn *wt, const uint8_t *key, size_t klen);
/** Position at the first key >= @p key (klen 0: the first key). @return 0, -ENOENT */
int ost_cache_db_seek(struct ost_cache_wtxn *wt, const uint8_t *key, size_t klen,
		      struct ost_cache_kv *kv);
/** Step to the next key. @return 0 or -ENOENT at the end */
int ost_cache_db_next(struct ost_cache_wtxn *wt, struct ost_cache_kv *kv);
/** Remove every entry (meta stays). */
int ost_cache_db_drop_all(struct ost_cache_wtxn *wt);
/** Entries and pages in use inside @p wt. */
int ost_cache_db_wstat(struct ost_cache_wtxn *wt, uint64_t *entries, uint64_t *pages);
int ost_cache_db_usage_get(struct ost_cache_wtxn *wt, struct ost_cache_usage *u);
int ost_cache_db_usage_put(struct ost_cache_wtxn *wt, const struct ost_cache_usage *u);

/* ---------- api.c / gc.c shared state ---------- */

/** A key queued by a reader for the writer: refresh its last use, or drop it. */
enum ost_cache_maint_op {
	OST_CACHE_MAINT_TOUCH = 1, /**< hit on an entry whose stamp is old */
	OST_CACHE_MAINT_DROP,      /**< entry failed to decode */
};

/** One queued maintenance record. */
struct ost_cache_maint {
	uint16_t klen;                  /**< key length */
	uint8_t op;                     /**< enum ost_cache_maint_op */
	uint8_t key[OST_CACHE_KEY_MAX]; /**< the key */
};

/* Slots per reader ring: touches beyond it are dropped (LRU is approximate). */
#define OST_CACHE_RING_SLOTS 64

/** Counters kept per reader, summed by ost_cache_stats_get(). */
struct ost_cache_rd_counters {
	_Atomic uint64_t hits;          /**< found */
	_Atomic uint64_t misses;        /**< not found */
	_Atomic uint64_t decode_errors; /**< failed to decode */
	_Atomic uint64_t front_hits;    /**< hits served from the front table */
};

struct ost_cache_reader {
	struct ost_cache *cache;          /**< owner */
	struct ost_cache_rtxn *rt;        /**< reused read transaction */
	bool is_active;                   /**< between begin and end */
	struct ost_cache_reader *next;    /**< in cache->readers, under cache->lock */
	struct ost_cache_reader **pprev;  /**< link to this node */
	struct ost_cache_rd_counters ctr; /**< this reader's counters */
	struct ost_cache_front *front;    /**< copies of hot entries (front.c), or NULL */
	uint64_t txn;                     /**< snapshot id of the session */
	uint64_t session;                 /**< sessions begun */
	int64_t now_s;                    /**< wall clock at the session's start */
	_Atomic uint32_t head;            /**< next slot written by the reader */
	_Atomic uint32_t tail;            /**< next slot read by the writer */
	struct ost_cache_maint ring[OST_CACHE_RING_SLOTS]; /**< touch/drop queue */
};

struct ost_cache {
	struct ost_cache_config cfg; /**< clamped copy (path copied below) */
	/** the TTL bounds applied when storing (cfg's, then ost_cache_set_ttl_bounds()'s):
	 *  read by every worker's batch without a lock */
	_Atomic uint32_t ttl_min, ttl_max, ttl_neg_max;
	char *path;                           /**< owned copy of cfg.path */
	const struct ost_clock *clock;        /**< time source */
	struct ost_cache_db *db;              /**< LMDB environment */
	pthread_mutex_t lock;                 /**< readers list, slow queue, gc hand */
	struct ost_cache_reader *readers;     /**< registered readers */
	struct ost_cache_rd_counters retired; /**< counters of freed readers + slow path */
	struct ost_cache_maint
		slow[OST_CACHE_RING_SLOTS]; /**< drops/touches from ost_cache_get() */
	unsigned slow_count;                /**< used slots of slow */
	_Atomic uint64_t inserts;           /**< entries written */
	_Atomic uint64_t rank_refused;      /**< writes refused by rank */
	_Atomic uint64_t evictions;         /**< entries evicted */
	_Atomic uint64_t commits;           /**< write transactions committed */
	_Atomic uint64_t gc_rounds;         /**< eviction rounds run */
	_Atomic uint64_t write_dropped;     /**< entries not written (full, writer behind) */
	_Atomic unsigned maint_hint;     /**< readers queued touches/drops since the last drain */
	_Atomic int is_broken;           /**< LMDB found its tree damaged: no more writes */
	struct ost_cache_writer *writer; /**< writer thread and its queue (writer.c) */
	uint8_t hand[OST_CACHE_KEY_MAX]; /**< eviction sweep position (writer only) */
	size_t hand_len;                 /**< length of hand, 0 = start */
};

/** A write batch; also the node of the writer thread's queue. */
struct ost_cache_batch {
	struct ost_cache *cache;      /**< owner */
	struct ost_cache_batch *next; /**< next in a chain being committed together */
	uint8_t *buf;                 /**< records: u16 klen, key, u32 vlen, value */
	size_t len;                   /**< bytes used in buf */
	size_t cap;                   /**< bytes allocated */
	size_t count;                 /**< records queued */
	uint8_t *scratch;             /**< copy of a value being rewritten (touch) */
	size_t scratch_cap;           /**< bytes allocated */
};

/**
 * Commit a chain of batches (b, b->next, ...) in one write transaction, with
 * eviction first and MAP_FULL retries; empties them.
 * @return 0 or a negative error
 */
int ost_cache_commit_chain(struct ost_cache_batch *b);

/**
 * LMDB reported a damaged tree (MDB_CORRUPTED, MDB_PAGE_NOTFOUND) at run
 * time: log once, move the directory aside so the next start is fresh, and
 * stop writing to the damaged file. Reads go on (every entry is checksummed).
 */
void ost_cache_mark_broken(struct ost_cache *cache, const char *where);

/* ---------- writer.c ---------- */

/** Prepare the writer queue (the thread starts on the first submit). */
int ost_cache_writer_init(struct ost_cache *cache);
/** Commit what is queued, stop and join the thread, free the queue. */
void ost_cache_writer_stop(struct ost_cache *cache);

/* ---------- gc.c ---------- */

/** @return what storing an entry of @p klen / @p vlen costs, in bytes */
uint64_t ost_cache_entry_cost(const struct ost_cache_db *db, size_t klen, size_t vlen);

/**
 * Evict if the cache needs room: in its own small write transactions, run
 * before a batch is written. Expired entries first, then the least recently
 * used by the coarse last-use stamp; never more than half of the entries in
 * one round.
 * @param force_round 0 normally; n > 0 after a MAP_FULL: free at least n/10 of the map
 * @return 0 or a negative error
 */
int ost_cache_gc(struct ost_cache *cache, unsigned force_round, int64_t now);

#endif
