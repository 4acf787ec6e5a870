/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file engine.h
 * The daemon's side of the resolver: what the process opens once (the LMDB
 * cache, the root hints, the engine's configuration) and what each worker
 * owns (its struct ost_resolver, its cache reader, its send buffer and the
 * client requests it has in flight).
 *
 * Example: ostrovd reads lab/ostrov.yaml; main.c calls ost_engine_open(),
 * which opens the cache in cfg->cache.path, reads the three root servers
 * from lab/root.hints and maps upstream-allow, upstream-port, qname-
 * minimisation, edns-buffer-size and validation into a struct
 * ost_resolver_config. Each worker then calls ost_worker_engine_init() and
 * answers "www.example.ru. A" in ost_worker_answer(): the cache reader finds
 * no OST_CTAG_MSG entry, so it keeps the reply target, calls ost_resolve(),
 * and sends what ost_result_to_wire() makes of the result. At the end of the
 * loop iteration its check handle calls ost_resolver_commit(); the next
 * identical query is a cache hit answered by ost_msg_to_wire().
 */
#ifndef OSTROV_SERVER_ENGINE_H
#define OSTROV_SERVER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ostrov/cache.h"
#include "ostrov/clock.h"
#include "ostrov/config.h"
#include "ostrov/drill.h"
#include "ostrov/resolver.h"
#include "ostrov/validator.h"

struct ost_worker;
struct ost_server;
struct ost_tcp_conn;
struct ost_resilience;

/** What the whole process shares: read-only once the workers run. */
struct ost_engine {
	struct ost_cache *cache;         /**< the LMDB cache, or NULL (no cache.path) */
	struct ost_clock clock;          /**< thread-safe clock for the cache */
	struct ost_root_hint *hints;     /**< root hints (names point into @p names) */
	size_t n_hints;                  /**< how many */
	char *names;                     /**< storage of the hint names */
	struct ost_stub_addr *stubs;     /**< forward and stub zones (names borrowed from cfg) */
	size_t n_stubs;                  /**< how many */
	struct ost_resolver_cidr *allow; /**< upstream allow-list in the engine's form */
	struct ost_ta_store *anchors;    /**< trust anchors, shared read-only by workers */
	struct ost_resolver_config rcfg; /**< configuration for every worker's resolver */
	/** failover, drills, name classes (server/resilience.h), or NULL; set before the
	 *  workers are initialised, with rcfg.policy pointing into it */
	struct ost_resilience *res;
	/** the configuration the workers run with since the last reload (server/reload.c),
	 *  or NULL: the start one; freed by ost_engine_close() */
	struct ost_config *live_cfg;
	struct ost_config **old_cfgs; /**< replaced live configurations a worker may still use */
	size_t n_old_cfgs;            /**< how many */
	/** the resolver half (hints, forward and stub zones, upstream allow-list, and the
	 *  rcfg that points into them) of the last reload that changed a resolver key:
	 *  workers rebuild their resolvers from its rcfg; NULL: this engine's @p rcfg.
	 *  Freed by ost_engine_close() */
	struct ost_engine *live_res;
	struct ost_engine **old_res; /**< replaced live_res a worker may still build from */
	size_t n_old_res;            /**< how many */
	unsigned cfg_gen;            /**< reloads published to the workers */
};

/** Finite buckets of the client latency histogram (ost_latency_bounds_ns). */
#define OST_LAT_BUCKETS 18
/** Slots of ost_worker_counters.ede: INFO-CODEs 0..31, and [32] for any higher code. */
#define OST_EDE_SLOTS   33
/** Slots of ost_worker_counters.rcode: header rcodes 0..15, and [16] for BADVERS. */
#define OST_RCODE_SLOTS 17

/**
 * Upper bounds (inclusive, nanoseconds) of the client latency buckets, from
 * 10 us to 5 s; a latency above the last one falls in the +Inf bucket.
 */
extern const uint64_t ost_latency_bounds_ns[OST_LAT_BUCKETS];

/** One worker's counters, as it copies them when asked (ost_worker_engine_counters()). */
struct ost_worker_counters {
	uint64_t udp_queries;       /**< datagrams classified as queries */
	uint64_t tcp_queries;       /**< TCP messages classified as queries */
	uint64_t hits;              /**< answered by the fast path */
	uint64_t misses;            /**< sent to the engine */
	uint64_t answered;          /**< engine results sent */
	uint64_t inflight;          /**< client requests waiting for the engine */
	uint64_t cancelled;         /**< requests cancelled (shutdown, TCP client gone) */
	uint64_t overload;          /**< misses dropped: too many in flight */
	uint64_t norec;             /**< RD=0 queries refused */
	uint64_t local_fail;        /**< SERVFAIL without the engine */
	uint64_t isolated_servfail; /**< unknown foreign names answered SERVFAIL + EDE 22 at once */
	uint64_t hit_rejected;      /**< cache entries found but not served by the fast path */
	uint64_t send_failed;       /**< replies that could not be sent */
	uint64_t udp_wakeups;       /**< UDP readable events and coalescing timer expiries */
	uint64_t udp_recv_calls;    /**< recvmmsg() calls */
	uint64_t udp_datagrams;     /**< datagrams they returned */
	uint64_t udp_batch[4];      /**< recvmmsg() returning 1, 2-4, 5-16, 17-64 datagrams */
	uint64_t udp_send_calls;    /**< sendmmsg() calls */
	uint64_t udp_coalesced;     /**< UDP wake-ups that waited for more datagrams */
	uint64_t udp_gso_sends;     /**< UDP GSO messages (several replies each) */
	uint64_t udp_gso_dgrams;    /**< replies sent inside them */
	struct ost_resolver_stats rs;    /**< the worker's resolver */
	uint64_t dropped;                /**< packets dropped (short, responses, ACL drop) */
	uint64_t errors;                 /**< FORMERR, NOTIMP and BADVERS answers */
	uint64_t acl_denied;             /**< packets or connections outside access.allow */
	uint64_t tcp_refused;            /**< connections over tcp-max-connections */
	uint64_t rcode[OST_RCODE_SLOTS]; /**< replies sent, by rcode */
	uint64_t ede[OST_EDE_SLOTS];     /**< replies sent with an EDE option, by INFO-CODE */
	/** answers of the answering path (hits, engine results, isolation SERVFAILs) by source */
	uint64_t by_source[OST_DRILL_SRC_COUNT];
	uint64_t sec[OST_SEC_COUNT]; /**< the same answers by DNSSEC status of their data */
	/** client latency (the listener's read of the query's batch -> reply handed to
	 *  the socket) per source, as per-bucket counts (not cumulative);
	 *  [OST_LAT_BUCKETS] is above the last bound */
	uint64_t latency[OST_DRILL_SRC_COUNT][OST_LAT_BUCKETS + 1];
	uint64_t latency_sum_ns[OST_DRILL_SRC_COUNT]; /**< sum of those latencies */
};

/**
 * What `ostrovctl stats` and /metrics both show: the counters of every
 * worker summed, and the cache's, taken at one moment.
 */
struct ost_server_snapshot {
	unsigned n_workers;             /**< workers that answered (those with an engine) */
	struct ost_worker_counters sum; /**< their counters, summed */
	struct ost_cache_stats cache;   /**< cache counters; zero without a cache */
	bool has_cache;                 /**< a cache is configured */
};

/**
 * Take a snapshot of the daemon's counters (any thread). Each worker is asked
 * to copy its counters (ost_worker_engine_counters()), so the snapshot holds
 * everything counted before the call; a worker that does not get to it within
 * 250 ms (stuck in a long step) contributes its copy of the previous request.
 * @param srv the server
 * @param out receives the snapshot
 */
void ost_server_snapshot(struct ost_server *srv, struct ost_server_snapshot *out);

/**
 * Copy worker @p w's counters (any thread). From another thread the worker
 * is asked (an async) to copy them under a lock and the caller waits for that
 * copy, which holds everything counted before the call; after 250 ms without
 * it (a worker stuck in a long step) the caller gets the worker's previous
 * copy, or zeros if it never made one. On the worker's own thread they are
 * read directly.
 * @return 0, or -ENOENT when the worker has no engine
 */
int ost_worker_engine_counters(struct ost_worker *w, struct ost_worker_counters *out);

/** One "key=value" field of a statistics line or of `ostrovctl stats`. */
struct ost_stat_field {
	const char *key; /**< name */
	uint64_t value;  /**< value */
};

/** Number of fields ost_stat_fields() writes. */
#define OST_STAT_FIELDS 59

/**
 * The statistics fields of @p c and @p cs, in the order of the log line.
 * @param c worker counters (or their sum)
 * @param cs cache counters
 * @param f receives OST_STAT_FIELDS fields
 */
void ost_stat_fields(const struct ost_worker_counters *c, const struct ost_cache_stats *cs,
		     struct ost_stat_field *f);

/**
 * Read the root hints file: zone-file syntax (ldns), NS records of the root
 * and the A/AAAA records of those name servers; every address gets @p port.
 * @param path the file
 * @param port port of the root servers (resolver.upstream-port)
 * @param hints receives a heap array (free() it and @p names)
 * @param n receives its length, at least 1 on success
 * @param names receives the storage of the names the hints point to
 * @param err receives "FILE:LINE: problem" on failure
 * @param errlen size of @p err
 * @return 0, OST_ECONFIG (syntax, no root NS, NS without address), -errno
 *         when the file cannot be read, -ENOMEM
 */
int ost_hints_load(const char *path, uint16_t port, struct ost_root_hint **hints, size_t *n,
		   char **names, char *err, size_t errlen) OST_WUR;

/**
 * The resolver half of ost_engine_open(): trust anchors (when validating),
 * root hints, the upstream allow-list and the resolver configuration. It
 * touches nothing on disk, so `--check-config` runs exactly this.
 * @param e the engine, zeroed by the caller; release with ost_engine_close()
 * @param cfg the loaded configuration
 * @param err receives the reason on failure
 * @param errlen size of @p err
 * @return 0 or a negative error (OST_ECONFIG for bad files)
 */
int ost_engine_load_resolver(struct ost_engine *e, const struct ost_config *cfg, char *err,
			     size_t errlen);

/**
 * Copy every setting of @p cfg a resolver takes (EDNS size, port,
 * minimisation, validation, TTL caps, per-request limits and timers,
 * serve-stale, the client response timer and mirror margin of the failover
 * section) into @p r; pointers (hints, zones, allow-list, anchors, hooks,
 * mirror) are left alone. ost_engine_load_resolver() and a reload use it.
 * @param r the resolver configuration
 * @param cfg the daemon configuration
 */
void ost_engine_resolver_settings(struct ost_resolver_config *r, const struct ost_config *cfg);

/**
 * Make the configured negative trust anchors (resolver.negative-trust-
 * anchors) the store's configured NTAs (ost_ta_nta_set_config()).
 * @param s the store
 * @param cfg the configuration
 * @param err receives the reason on failure
 * @param errlen size of @p err
 * @return 0 or a negative error
 */
int ost_engine_set_config_ntas(struct ost_ta_store *s, const struct ost_config *cfg, char *err,
			       size_t errlen) OST_WUR;

/**
 * Open what the workers share: the cache (when cfg->cache.path is set; a
 * corrupt one is moved aside by the cache itself) and, when
 * resolver.root-hints-file is set, the hints, the trust anchors (when
 * validation is on: resolver.trust-anchor-file, else the built-in root
 * anchors) and the resolver configuration.
 * Without root hints the daemon has no resolver and answers REFUSED.
 * @param e the engine (zeroed by the caller)
 * @param cfg the daemon configuration, which must outlive @p e
 * @param err receives a message on failure
 * @param errlen size of @p err
 * @return 0, OST_ECONFIG (bad hints or trust-anchor file: a configuration
 *         error), or
 *         another negative error (cache, memory)
 */
int ost_engine_open(struct ost_engine *e, const struct ost_config *cfg, char *err,
		    size_t errlen) OST_WUR;

/** @return true when @p e can resolve (root hints, forward or stub zones) */
static inline bool ost_engine_can_resolve(const struct ost_engine *e)
{
	return e && (e->n_hints > 0 || e->n_stubs > 0);
}

/**
 * Wait for the cache writer, close the cache, free the hints. Every worker
 * must be gone. Zeroed or NULL engines are allowed.
 */
void ost_engine_close(struct ost_engine *e);

/**
 * Give worker @p w its resolver, cache reader, send buffer and the loop
 * handles that commit the cache batch and log statistics. Runs in the main
 * thread during ost_worker_init(), after the worker's clock and transport.
 * Does nothing when the server has no engine.
 * @return 0 or a negative error
 */
int ost_worker_engine_init(struct ost_worker *w) OST_WUR;

/**
 * First step of a worker's shutdown, in its own thread: cancel the client
 * requests in flight (their replies are released unsent), hand the last
 * cache writes to the writer, free the resolver and the reader, close the
 * handles. The transport and clock are closed after this.
 */
void ost_worker_engine_stop(struct ost_worker *w);

/**
 * A client TCP connection of worker @p w is closing: cancel its requests in
 * flight and release their held replies (RFC 7766 §6.2.4: answers for a
 * closed connection are dropped). Called by tcp.c before the handles close.
 */
void ost_worker_engine_conn_closed(struct ost_worker *w, struct ost_tcp_conn *c);

/** Ask worker @p w (from any thread) to log its statistics line. */
void ost_worker_engine_request_stats(struct ost_worker *w);

/** Log the statistics line of @p w now (in its own thread). */
void ost_worker_engine_log_stats(struct ost_worker *w);

/**
 * Hand worker @p w a new configuration (from the main thread, after a
 * reload): its loop thread switches w->cfg (client ACL, deny action, TCP
 * limits) and its transport's upstream allow-list and port reuse at once,
 * and then reports @p gen in ost_worker_engine_config_gen().
 * @param w the worker
 * @param cfg the configuration, which must stay allocated until the worker
 *        reports a later generation or has stopped
 * @param rcfg when not NULL, also replace the worker's resolver by a fresh
 *        one made from it (new trust anchors: the keys its key cache proved
 *        from the old ones must go; new resolver settings); requests in
 *        flight are restarted on the new resolver; it must stay allocated as
 *        @p cfg does
 * @param gen the reload's generation
 * @return 0, or -ENOENT when the worker has no engine (it keeps its configuration)
 */
int ost_worker_engine_set_config(struct ost_worker *w, const struct ost_config *cfg,
				 const struct ost_resolver_config *rcfg, unsigned gen) OST_WUR;

/**
 * @param w the worker
 * @return the generation of the configuration @p w runs with (0: the start one)
 */
unsigned ost_worker_engine_config_gen(struct ost_worker *w);

#endif
