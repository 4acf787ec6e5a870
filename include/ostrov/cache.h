/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file cache.h
 * The persistent cache: RRsets, negative answers, whole answers and failure
 * records in one LMDB environment shared by every worker thread and by
 * several ostrovd processes on one host.
 *
 * The cache stores opaque payloads under (owner, type, tag) keys with the
 * metadata every resolver needs to decide whether to use an entry: absolute
 * expiry, rank (RFC 2181 §5.4.1), DNSSEC status and the time it was stored.
 * What a payload holds is the resolver's business (resolver/answer.c); the
 * cache only copies, bounds, evicts and persists it. Expired entries stay
 * until eviction needs their room, so serve-stale (RFC 8767) can use them.
 *
 * Reads come in two shapes: ost_cache_get() copies an entry into the caller's
 * allocator; a reader (one per worker, ost_cache_reader_new()) lends entries
 * without a copy between ost_cache_reader_begin() and ost_cache_reader_end(),
 * for the cache-hit fast path: no heap allocation, no write transaction, no
 * lock but LMDB's reader slot. Writes are queued in a per-worker batch and
 * committed in one LMDB write transaction after the worker has sent its
 * answers, so no client answer waits for the single writer.
 *
 * Keys put owner names in DNSSEC canonical order (RFC 4034 §6.1), so a
 * subtree is one key range (ost_cache_flush()). Eviction keeps the map below
 * its size: expired entries first, then the least recently used, measured by
 * a coarse last-use stamp that the writer refreshes from hits the readers
 * report (reads never write).
 *
 * Example: a worker receives "www.example.ru. A" with DO=1. The fast path
 * peeks the OST_CTAG_MSG entry for (www.example.ru., A) under its reader, finds
 * it unexpired and secure, copies the stored answer into the send buffer,
 * patches ID and TTLs, and sends it. On a miss the engine resolves the name
 * and queues the RRsets and the answer into the worker's batch, committed at
 * the end of the loop iteration.
 */
#ifndef OSTROV_CACHE_H
#define OSTROV_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ostrov/clock.h"
#include "ostrov/error.h"
#include "ostrov/mm.h"

/**
 * Longest key: a 255-octet name encoded label-reversed with escapes (at most
 * 504 octets), an end-of-name marker, type and tag.
 */
#define OST_CACHE_KEY_MAX 508

/** What kind of payload an entry holds; part of the key. */
enum ost_cache_tag {
	OST_CTAG_RRSET = 0, /**< one RRset with its RRSIGs */
	OST_CTAG_NEG,       /**< NXDOMAIN or NODATA for (owner, type), with SOA and proofs */
	OST_CTAG_MSG,       /**< a whole answer for (qname, qtype), for the hit fast path */
	OST_CTAG_FAIL,      /**< a cached resolution failure (RFC 9520) */
	OST_CTAG_COUNT,
};

/** Trust of the data, RFC 2181 §5.4.1; higher wins, lower never overwrites higher. */
enum ost_rank {
	OST_RANK_NONE = 0,       /**< unknown */
	OST_RANK_ADDITIONAL,     /**< additional section, glue */
	OST_RANK_AUTHORITY,      /**< authority section of a non-authoritative answer */
	OST_RANK_ANSWER,         /**< answer section of a non-authoritative answer */
	OST_RANK_AUTH_AUTHORITY, /**< authority section of an authoritative answer */
	OST_RANK_AUTH_ANSWER,    /**< answer section of an authoritative answer */
	OST_RANK_MIRROR,         /**< from a verified zone mirror */
	OST_RANK_COUNT,
};

/** DNSSEC status of an entry. */
enum ost_sec {
	OST_SEC_UNCHECKED = 0, /**< not validated (CD=1 query or validation off) */
	OST_SEC_INSECURE,      /**< proven insecure */
	OST_SEC_SECURE,        /**< validated */
	OST_SEC_BOGUS,         /**< validation failed (cached briefly) */
	OST_SEC_INDETERMINATE, /**< no trust anchor applies */
	OST_SEC_COUNT,
};

/** One cache entry; @p data is the payload. */
struct ost_cache_entry {
	uint8_t tag;         /**< enum ost_cache_tag */
	uint8_t rank;        /**< enum ost_rank */
	uint8_t sec;         /**< enum ost_sec */
	uint8_t flags;       /**< payload-specific flags (e.g. NXDOMAIN vs NODATA) */
	uint16_t ede;        /**< Extended DNS Error code for failures/bogus, 0 if none */
	uint16_t rcode;      /**< DNS rcode the entry stands for */
	uint32_t ttl;        /**< TTL the entry was stored with, after clamping */
	int64_t stored_at;   /**< wall seconds when stored */
	int64_t expires_at;  /**< wall seconds when the TTL runs out */
	const uint8_t *data; /**< payload */
	uint32_t len;        /**< payload length */
};

/**
 * Configuration of a cache. A zero numeric field means "the default" (given
 * in brackets); out-of-range values are clamped (see ost_cache_config_clamp()).
 */
struct ost_cache_config {
	const char *path;        /**< directory of the LMDB environment */
	size_t max_bytes;        /**< LMDB map size [256 MiB, at least 1 MiB] */
	uint32_t min_ttl;        /**< positive TTLs below are raised to this [0] */
	uint32_t max_ttl;        /**< TTLs above are lowered to this [86400] */
	uint32_t max_neg_ttl;    /**< cap for negative answers, RFC 2308 §5 [3600] */
	unsigned max_readers;    /**< LMDB reader slots (threads x processes) [126] */
	uint32_t touch_interval; /**< seconds between last-use refreshes of a hot entry [60] */
	bool no_sync;            /**< MDB_NOSYNC: survives kill -9, not an OS crash [false] */
	/** Least milliseconds between the starts of two commits of the writer thread, so
	 *  that at low load several entries share one fdatasync; an entry becomes visible
	 *  to other threads and processes up to this much later [0: commit at once] */
	uint32_t commit_interval_ms;
	/** Copies of hot entries kept by each reader in front of LMDB (cache/front.c),
	 *  rounded up to a power of two, at most 65536; about 1.5 KiB each
	 *  [OST_CACHE_FRONT_DEFAULT; OST_CACHE_FRONT_OFF: none] */
	uint32_t front_entries;
};

#define OST_CACHE_FRONT_DEFAULT 1024u
#define OST_CACHE_FRONT_OFF     UINT32_MAX

/** Counters; monotonic since open, per process. */
struct ost_cache_stats {
	uint64_t entries;       /**< entries now stored */
	uint64_t bytes_used;    /**< bytes of the map in use */
	uint64_t bytes_max;     /**< map size */
	uint64_t hits;          /**< lookups that found an entry */
	uint64_t misses;        /**< lookups that did not */
	uint64_t inserts;       /**< entries written */
	uint64_t rank_refused;  /**< writes refused because a higher rank was stored */
	uint64_t evictions;     /**< entries removed to make room */
	uint64_t decode_errors; /**< entries that failed to decode and were dropped */
	uint64_t front_hits;    /**< hits served from a reader's front table (part of hits) */
	uint64_t commits;       /**< write transactions committed */
	uint64_t gc_rounds;     /**< eviction rounds run */
	uint64_t write_dropped; /**< entries not written: map full, or writer too far behind */
	uint64_t damaged;       /**< 1 once LMDB found the file damaged at run time: it was
				     moved aside and takes no more writes; restart for a
				     fresh cache */
};

/** Seconds an entry has left at @p now, 0 once expired (TTLs count down in answers). */
static inline uint32_t ost_cache_ttl_left(const struct ost_cache_entry *e, int64_t now)
{
	return e->expires_at > now ? (uint32_t)(e->expires_at - now) : 0;
}

/**
 * Apply defaults and limits to @p cfg in place: zero fields get defaults,
 * max_bytes is at least 1 MiB, min_ttl at most max_ttl, TTLs at most 2^31-1.
 * ost_cache_open() does this on its copy; exposed for config checks and tests.
 * @param cfg the configuration to fix
 */
void ost_cache_config_clamp(struct ost_cache_config *cfg);

struct ost_cache;
struct ost_cache_reader;
struct ost_cache_batch;

/**
 * Open (or create) the cache at cfg->path, a directory holding LMDB's
 * data.mdb and lock.mdb. Whatever sits there and is not a usable cache of
 * ours (random bytes, a regular file, another program's LMDB environment, our
 * format of another version) is renamed to PATH.corrupt-<wall seconds>, with
 * a log line, and a fresh cache is created; the call still succeeds. The map
 * is the larger of cfg->max_bytes and the size recorded in an existing file,
 * so processes sharing the file agree on it (configure them alike). Open it
 * in the process that uses it, after any fork(): neither the LMDB
 * environment nor the writer thread survives a fork.
 * @param out receives the cache
 * @param cfg configuration, copied and clamped (ost_cache_config_clamp())
 * @param clock time source for expiry and eviction, must outlive the cache;
 *        its wall_s is called from worker threads and from the cache's
 *        writer thread, so it must be thread-safe
 * @return 0, -EINVAL (no path or clock), -ENOMEM, -EACCES and other -errno
 *         of the file system, OST_ELIMIT
 */
OST_WUR int ost_cache_open(struct ost_cache **out, const struct ost_cache_config *cfg,
			   const struct ost_clock *clock);

/** Close the cache; every reader and batch must be gone. NULL is allowed. */
void ost_cache_close(struct ost_cache *cache);

/**
 * Change the TTL bounds applied to entries added from now on (a reload of
 * cache.min-ttl, max-ttl, max-negative-ttl); entries already stored keep the
 * expiry they were given. Clamped as ost_cache_config_clamp() does. Any
 * thread; a batch being filled meanwhile may use either bounds.
 * @param cache the cache
 * @param min_ttl positive TTLs below are raised to this
 * @param max_ttl TTLs above are lowered to this (0: the default)
 * @param max_neg_ttl cap for negative answers (0: the default)
 */
void ost_cache_set_ttl_bounds(struct ost_cache *cache, uint32_t min_ttl, uint32_t max_ttl,
			      uint32_t max_neg_ttl);

/**
 * Copy the entry for (@p owner, @p type, @p tag) into @p mm. Expired entries
 * are returned too, for serve-stale (RFC 8767): compare expires_at with the
 * clock, or use ost_cache_ttl_left(). Uses a read transaction of its own (so
 * it allocates); the hit fast path is ost_cache_reader_get().
 * @param owner name in uncompressed wire format (any case)
 * @param mm allocator for out->data (NULL data when the payload is empty)
 * @return 0, -ENOENT, -EINVAL (bad name or tag), -ENOMEM, or OST_ECORRUPT
 *         (never served; counted, deleted at the next commit)
 */
OST_WUR int ost_cache_get(struct ost_cache *cache, const uint8_t *owner, uint16_t type,
			  enum ost_cache_tag tag, const struct ost_mm *mm,
			  struct ost_cache_entry *out);

/**
 * Make a reader for one thread (a worker): it owns an LMDB read transaction
 * that is renewed and reset per session, never freed in between, and a small
 * queue of hits/drops for the writer. Call once per thread, not per packet.
 * @param out receives the reader, freed with ost_cache_reader_free()
 * @return 0, -ENOMEM or OST_ELIMIT (no LMDB reader slot left)
 */
OST_WUR int ost_cache_reader_new(struct ost_cache *cache, struct ost_cache_reader **out);

/** Free a reader (not inside a session). NULL is allowed. */
void ost_cache_reader_free(struct ost_cache_reader *rd);

/**
 * Start a zero-copy read session: renew the reader's LMDB read transaction,
 * which takes a snapshot. Allocates nothing. Keep sessions short: a snapshot
 * pins the pages it sees.
 * @return 0 or a negative error
 */
OST_WUR int ost_cache_reader_begin(struct ost_cache_reader *rd);

/**
 * Look up without copying; out->data is valid until ost_cache_reader_end().
 * Allocates nothing and takes no lock. A repeated hit is served from the
 * reader's front table (cfg.front_entries), a copy made from the same LMDB
 * snapshot, so it is byte for byte what LMDB would have returned. An entry that fails its checks is
 * never returned: it is counted and queued for deletion at the next commit.
 * @param owner name in uncompressed wire format (any case)
 * @return 0, -ENOENT, -EINVAL (bad name) or OST_ECORRUPT
 */
OST_WUR int ost_cache_reader_get(struct ost_cache_reader *rd, const uint8_t *owner, uint16_t type,
				 enum ost_cache_tag tag, struct ost_cache_entry *out);

/** End the read session; borrowed entries become invalid. */
void ost_cache_reader_end(struct ost_cache_reader *rd);

/** Make a write batch for one worker. @return 0 or -ENOMEM */
OST_WUR int ost_cache_batch_new(struct ost_cache *cache, struct ost_cache_batch **out);

/** Free a batch (uncommitted entries are dropped). */
void ost_cache_batch_free(struct ost_cache_batch *b);

/**
 * Queue an entry; the payload and metadata are copied. The TTL is clamped by
 * the configured limits (RRSET/MSG: min_ttl..max_ttl; NEG: max_neg_ttl;
 * FAIL: 1..300 s, RFC 9520 §3.2; BOGUS status: at most 60 s), stored_at is
 * now and expires_at now + TTL; the stored_at/expires_at of @p entry are
 * ignored. A queued entry never replaces a stored unexpired one of higher
 * rank (RFC 2181 §5.4.1); the check happens at commit.
 * @return 0, -EINVAL (bad name or enum), -ENOMEM, -E2BIG (payload over
 *         70 KiB or 1/16 of the map), OST_ELIMIT (batch over 1/8 of the map:
 *         commit first)
 */
OST_WUR int ost_cache_batch_put(struct ost_cache_batch *b, const uint8_t *owner, uint16_t type,
				const struct ost_cache_entry *entry);

/** @return number of queued entries in @p b */
size_t ost_cache_batch_pending(const struct ost_cache_batch *b);

/**
 * Write all queued entries in one write transaction, evicting when the map
 * is nearly full. Also applies the hits and drops that readers queued. On
 * MDB_MAP_FULL the transaction is aborted, more is evicted, and it is retried
 * (twice). Never wipes the cache. Call it after the answers are sent.
 * @return 0 or a negative error, OST_EFULL if the map stayed full,
 *         OST_ECORRUPT once the file was found damaged (the batch is emptied
 *         either way; failures are counted in write_dropped)
 */
int ost_cache_batch_commit(struct ost_cache_batch *b);

/**
 * Hand the queued entries to the cache's writer thread and return at once:
 * the worker never waits for LMDB's writer lock (another worker's or another
 * process's commit, an eviction round, an fdatasync). The writer commits
 * everything queued so far in one transaction (group commit), in submission
 * order, with the same rules as ost_cache_batch_commit(). The batch is empty
 * and reusable on return. Does not block: when more than 1/8 of the map is
 * already waiting, the entries are dropped and counted (write_dropped).
 * Call it once per event-loop iteration even when the batch is empty: that
 * is a no-op unless readers queued hits (LRU stamps) or corrupt entries,
 * which it hands to the writer, so a hit-only workload keeps its LRU fresh.
 * @return 0, or OST_ELIMIT when dropped (-ENOMEM when no queue node could be
 *         allocated: dropped too)
 */
int ost_cache_batch_submit(struct ost_cache_batch *b);

/**
 * Wait until every entry submitted before the call is committed (or dropped).
 * For shutdown and tests; never on a worker's answer path.
 * @param cache the cache
 */
void ost_cache_sync(struct ost_cache *cache);

/**
 * Apply queued reader hits/drops and evict if needed, with no new entries
 * (an empty commit; for idle periods).
 * @return 0 or a negative error
 */
int ost_cache_maintain(struct ost_cache *cache);

/**
 * Remove every entry at @p name and below it, or everything when NULL.
 * @param name wire-format name, or NULL
 * @return number of entries removed, or a negative error (-EINVAL bad name,
 *         OST_ECORRUPT once the file was found damaged)
 */
int ost_cache_flush(struct ost_cache *cache, const uint8_t *name);

/**
 * Fill @p out with the counters (this process) and current sizes (shared).
 * @param cache the cache
 * @param out receives the numbers
 */
void ost_cache_stats_get(struct ost_cache *cache, struct ost_cache_stats *out);

#endif
