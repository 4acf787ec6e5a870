/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file resolver.h
 * The recursive resolution engine: sans-I/O iteration from root hints (or
 * the closest cached zone cut) down to an answer.
 *
 * The engine never touches a socket or the clock. Outbound queries go through
 * a struct ost_transport, time and timers through a struct ost_clock, and
 * storage through a struct ost_cache (optional). One struct ost_resolver
 * exists per worker thread, so nothing inside takes a lock.
 *
 * Example: the server receives "www.example.ru. A" from a client and calls
 * ost_resolve(). The engine asks a root server (127.53.0.1:53) for "ru. A"
 * (QNAME minimisation), follows the referral to ru., asks "example.ru. A",
 * follows the referral to example.ru. (whose name server ns.example.net has
 * no glue, so a sub-request resolves "ns.example.net. A" first), then asks
 * "www.example.ru. A" and gets the answer. It queues the RRsets and the
 * whole answer into the resolver's cache batch, calls the server's callback
 * with a struct ost_result, and the server turns it into the client's reply
 * with ost_result_to_wire(). At the end of its loop iteration the server
 * calls ost_resolver_commit(). The next identical query is answered by the
 * server's hit path with ost_msg_to_wire() without entering the engine.
 *
 * How a worker uses it:
 * 1. at start: ost_resolver_new(&r, &cfg, cache, &clock, &transport), one per
 *    worker thread (no locks inside; the cache may be shared);
 * 2. per client query: first the hit path, under the worker's cache reader:
 *    ost_cache_reader_get(rd, qname, qtype, OST_CTAG_MSG, &e) then
 *    ost_msg_to_wire(&e, query, qlen, now, is_tcp, edns_size, buf, cap, &len);
 *    on -ENOENT (miss, expired, other question) call ost_resolve(); after
 *    sending a hit, when ost_prefetch_due(&e, now) (the last tenth of its
 *    TTL), ost_resolver_prefetch_hit() refreshes it in the background;
 * 3. in the callback: ost_result_to_wire(res, query, ...) and send; the
 *    result is only valid during the callback;
 * 4. once per loop iteration, after sending: ost_resolver_commit(r) and
 *    ost_resolver_mirror_release(r);
 * 5. on client disconnect (TCP) or shutdown: ost_request_cancel(),
 *    ost_resolver_free().
 */
#ifndef OSTROV_RESOLVER_H
#define OSTROV_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "ostrov/cache.h"
#include "ostrov/clock.h"
#include "ostrov/error.h"
#include "ostrov/transport.h"
#include "ostrov/validator.h"

/** Request flag: the client set DO (wants DNSSEC records). */
#define OST_RF_DO 0x1u
/** Request flag: the client set CD (checking disabled). */
#define OST_RF_CD 0x2u
/** Request flag: the client set RD (recursion desired). */
#define OST_RF_RD 0x4u

/** Extended DNS Error INFO-CODEs we emit (RFC 8914 §4). */
enum ost_ede {
	OST_EDE_OTHER = 0,                   /**< limits and other local reasons */
	OST_EDE_STALE_ANSWER = 3,            /**< served from expired cache */
	OST_EDE_DNSSEC_BOGUS = 6,            /**< validation failed */
	OST_EDE_CACHED_ERROR = 13,           /**< RFC 9520 cached failure */
	OST_EDE_NOT_READY = 14,              /**< mirror still loading */
	OST_EDE_STALE_NXDOMAIN = 19,         /**< stale NXDOMAIN */
	OST_EDE_NOT_AUTHORITATIVE = 20,      /**< RD=0 query not answerable from the cache */
	OST_EDE_NO_REACHABLE_AUTHORITY = 22, /**< every server failed */
	OST_EDE_NETWORK_ERROR = 23,          /**< network errors toward authorities */
	OST_EDE_INVALID_DATA = 24,           /**< authorities sent unusable data */
};

/**
 * Flag of the entries the engine caches (struct ost_cache_entry.flags; for
 * OST_CTAG_MSG, RRSET and NEG): the data was resolved for a CD=1 request
 * while validation was on, so it was not validated and must not be served
 * to CD=0 clients.
 */
#define OST_MSG_F_UNVALIDATED 0x80u

/** Where a result came from. */
enum ost_answer_source {
	OST_SRC_UPSTREAM = 0, /**< resolved by asking authoritative servers now */
	OST_SRC_CACHE,        /**< built from cached data without asking anyone */
	OST_SRC_LOCAL,        /**< synthesised locally (limits, failures) */
	OST_SRC_COUNT,
};

/** One root hint: a name server name and one of its addresses. */
struct ost_root_hint {
	const char *name;             /**< name server name in presentation format */
	struct sockaddr_storage addr; /**< its address, with port */
	socklen_t addrlen;            /**< length of @p addr */
};

/**
 * One CIDR of the upstream allow-list, as the engine matches it (a sockaddr;
 * the daemon maps the configuration's struct ost_cidr of include/ostrov/config.h
 * into this form).
 */
struct ost_resolver_cidr {
	struct sockaddr_storage addr; /**< network address (port ignored) */
	uint8_t prefix;               /**< prefix length in bits */
};

/**
 * One address of a stub or forward zone: names at or below @p zone are
 * resolved by asking these addresses directly, whatever the root hints and
 * the parents say. A stub zone's addresses are authoritative servers asked
 * iteratively (Unbound's stub-zone); a forward zone's are recursive
 * resolvers asked with RD=1 (and CD=1 when validating, so that we validate
 * ourselves), whose answers are final: no referral from them is followed
 * and no cached deeper cut replaces them (Unbound's forward-zone, Knot
 * Resolver's policy.FORWARD). Several entries with the same zone give it
 * several addresses; they must agree on @p forward.
 */
struct ost_stub_addr {
	const char *zone;             /**< zone name in presentation format */
	struct sockaddr_storage addr; /**< a server address, with port */
	socklen_t addrlen;            /**< length of @p addr */
	bool forward;                 /**< a forwarder (recursive), not an authoritative server */
};

/**
 * Hooks through which the failover state machine (resilience/) changes the
 * engine's behaviour, e.g. in ISOLATED: no queries to foreign servers, stale
 * answers at once and for longer. Every member may be NULL (normal
 * behaviour); the hooks are called on the resolver's thread and must not
 * block.
 */
struct ost_resolver_policy {
	void *ctx; /**< argument of the hooks */
	/**
	 * @param ctx the policy's ctx
	 * @param addr an upstream address the engine is about to query (after
	 *        the allow-list said yes)
	 * @return false to forbid the query (the server counts as unreachable)
	 */
	bool (*may_query)(void *ctx, const struct sockaddr *addr);
	/**
	 * @param ctx the policy's ctx
	 * @return the maximum staleness in seconds, replacing cfg.max_stale_s
	 */
	uint32_t (*max_stale_s)(void *ctx);
	/**
	 * Asked when the cache holds an expired answer that may be served, at
	 * the start of a client request.
	 * @param ctx the policy's ctx
	 * @param qname the question's name (uncompressed wire format, as the
	 *        client asked it), e.g. to tell national names (their servers
	 *        still answer while isolated) from foreign ones
	 * @param qtype the question's type
	 * @return true to answer with stale data at once (no client response
	 *         timer) while the refresh goes on in the background
	 */
	bool (*stale_immediately)(void *ctx, const uint8_t *qname, uint16_t qtype);
	/**
	 * Asked before a mirrored zone is used (resolver/mirror.c). The engine
	 * never uses a copy past its RRSIG horizon less
	 * cfg.mirror_rrsig_margin_s; before its SOA expire deadline it uses it
	 * unless this says OST_MIRROR_WITHDRAWN; past the deadline only when
	 * this says OST_MIRROR_EXTENDED, and then every answer it contributes
	 * to carries EDE 3 and none is cached.
	 * @param ctx the policy's ctx
	 * @param zone the mirrored zone, presentation format ("." or "ru.")
	 * @return enum ost_mirror_policy
	 */
	int (*mirror_use)(void *ctx, const char *zone);
};

/** What the failover policy says about one mirrored zone (mirror_use hook). */
enum ost_mirror_policy {
	OST_MIRROR_NO_OPINION = 0, /**< the engine's own rule (RFC 8806 §3) */
	OST_MIRROR_USABLE,         /**< use it (before its SOA expire deadline) */
	OST_MIRROR_EXTENDED,       /**< past its deadline under an operator extension: use it,
				      EDE 3 on every answer */
	OST_MIRROR_WITHDRAWN,      /**< do not use it */
};

struct ost_mirror;
struct ost_zone_store;

/** Configuration of a resolver; copied by ost_resolver_new(). */
struct ost_resolver_config {
	const struct ost_root_hint *hints;     /**< root hints */
	size_t n_hints;                        /**< number of @p hints */
	const struct ost_resolver_cidr *allow; /**< upstream allow-list; NULL = loopback only */
	size_t n_allow;                        /**< number of @p allow */
	uint16_t edns_size;                    /**< our EDNS buffer size (1232) */
	uint16_t upstream_port;                /**< port for addresses learnt from glue (53) */
	bool qname_minimisation;               /**< RFC 9156, relaxed */
	bool validation;                       /**< DNSSEC validation (RFC 4035 §5) */
	struct ost_ta_store *anchors;          /**< trust anchors + NTAs; NULL: built-in root */
	struct ost_val_limits val_limits;      /**< validator work limits and algorithm policy */
	unsigned max_depth;                    /**< max referrals followed per (sub-)request */
	unsigned max_subreq;                   /**< max sub-requests per client request */
	unsigned max_queries;                  /**< max outbound queries per client request */
	unsigned max_cname;                    /**< max CNAME/DNAME links followed */
	uint32_t max_time_ms;                  /**< max total time per client request */
	uint32_t initial_rto_ms;               /**< timeout for a server without RTT data */
	uint32_t max_rto_ms;                   /**< cap of the backed-off timeout */
	uint32_t max_ttl;                      /**< cap of TTLs in results, 0 = none */
	uint32_t max_neg_ttl;              /**< cap of the SOA TTL in negative results, 0 = none */
	bool minimal_responses;            /**< false: add the zone's NS and glue to answers */
	uint16_t qmin_qtype;               /**< QTYPE of minimised queries: A (default) or NS */
	const struct ost_stub_addr *stubs; /**< stub zones, copied; may replace the hints */
	size_t n_stubs;                    /**< number of @p stubs */
	bool serve_stale;                  /**< RFC 8767: answer from expired data when needed */
	uint32_t stale_ttl;                /**< TTL of stale records (30, never 0), RFC 8767 §4 */
	uint32_t stale_client_timeout_ms;  /**< client response timer (1800), 0 = stale at once */
	uint32_t max_stale_s;              /**< maximum staleness (86400), RFC 8767 §5 */
	uint32_t stale_recheck_s;          /**< failed refreshes retried at most this often (30) */
	bool stale_ttl_reset;              /**< staleness counts from the last failed refresh */
	bool serve_original_ttl;           /**< TTLs as received, not counted down */
	/** Failover hooks, borrowed (must outlive the resolver); NULL = none. */
	const struct ost_resolver_policy *policy;
	/**
	 * Zone mirror (include/ostrov/zone.h), borrowed, thread-safe; NULL =
	 * none. Names in a usable mirrored zone are answered from it instead
	 * of asking the zone's servers (resolver/mirror.c).
	 */
	struct ost_mirror *mirror;
	struct ost_zone_store *mirror_store; /**< the mirror's store (lookups) */
	/**
	 * A mirrored zone is not used from its RRSIG horizon less this many
	 * seconds (standards.md §7.2, the failover machine's rrsig-margin-s),
	 * and nothing learnt from it stays in the cache beyond that (86400).
	 */
	uint32_t mirror_rrsig_margin_s;
};

/**
 * Fill @p cfg with defaults: no hints, loopback-only allow-list, EDNS 1232,
 * port 53, minimisation on (QTYPE A), validation off, depth 16, 8
 * sub-requests, 32 queries, 12 CNAMEs, 10 s, RTO 400 ms up to 3 s, TTL caps
 * 86400 and 3600 (as the cache's), minimal responses, no stub zones,
 * serve-stale on (stale TTL 30 s, client response timer 1.8 s, maximum
 * staleness 1 day, failure recheck 30 s, no staleness reset), counted-down
 * TTLs, no policy, ost_val_limits_default().
 * @param cfg the configuration to fill
 */
OST_EXPORT void ost_resolver_config_default(struct ost_resolver_config *cfg);

/** The outcome of one request, borrowed by the callback for its duration. */
struct ost_result {
	const ldns_rdf *qname;      /**< the question's name (as asked) */
	uint16_t qtype;             /**< the question's type */
	uint16_t qclass;            /**< the question's class */
	unsigned flags;             /**< OST_RF_* of the request */
	uint8_t rcode;              /**< LDNS_RCODE_* (NOERROR, NXDOMAIN, SERVFAIL ...) */
	bool aa;                    /**< reserved: answer synthesised as authoritative */
	const ldns_rr_list *answer; /**< answer section (CNAME chain first), never NULL */
	const ldns_rr_list *auth;   /**< authority section (SOA for negatives), never NULL */
	const ldns_rr_list *add;    /**< additional section, never NULL */
	bool has_ede;               /**< an Extended DNS Error applies */
	uint16_t ede;               /**< its INFO-CODE (enum ost_ede) */
	const char *ede_text;       /**< its EXTRA-TEXT, "" when none */
	uint8_t sec;                /**< enum ost_sec; OST_SEC_UNCHECKED until validation */
	enum ost_answer_source src; /**< where the answer came from */
};

/**
 * Called once when a request completes (not after ost_request_cancel()).
 * @param res the result, valid only during the call
 * @param arg the caller's argument
 */
typedef void (*ost_resolve_cb)(const struct ost_result *res, void *arg);

/** Counters of one resolver; monotonic since ost_resolver_new(). */
struct ost_resolver_stats {
	uint64_t requests;         /**< ost_resolve() calls */
	uint64_t coalesced;        /**< requests attached to an identical one in flight */
	uint64_t subrequests;      /**< sub-requests started (NS addresses) */
	uint64_t queries_sent;     /**< outbound queries handed to the transport */
	uint64_t queries_tcp;      /**< of which over TCP */
	uint64_t timeouts;         /**< outbound queries that timed out */
	uint64_t net_errors;       /**< outbound queries failed by the network */
	uint64_t not_allowed;      /**< addresses skipped by the upstream allow-list */
	uint64_t drop_wrong_id;    /**< packets ignored: wrong ID */
	uint64_t drop_wrong_qname; /**< packets ignored: wrong question or not a response */
	uint64_t drop_malformed;   /**< packets ignored: unparseable */
	uint64_t drop_bailiwick;   /**< records dropped: outside the server's zone */
	uint64_t lame;             /**< answers rejected as lame (REFUSED, bad referral ...) */
	uint64_t edns_fallback;    /**< FORMERR/NOTIMP to EDNS, retried without */
	uint64_t tc_fallback;      /**< TC=1 over UDP, retried over TCP */
	uint64_t qmin_fallback;    /**< QNAME minimisation abandoned for a request */
	uint64_t limit_hits;       /**< requests ended by a hard limit */
	uint64_t loops;            /**< name-server address loops detected */
	uint64_t servfail;         /**< requests answered SERVFAIL */
	uint64_t cache_answers;    /**< requests answered from cache */
	uint64_t cache_errors;     /**< cache reads/writes that failed */
	uint64_t stale_answers;    /**< requests answered with stale data (RFC 8767) */
	uint64_t stale_refreshes;  /**< background refreshes that updated stale data */
	uint64_t policy_blocked;   /**< addresses skipped because the policy forbade them */
	uint64_t norec_refused;    /**< RD=0 queries refused on a cache miss */
	uint64_t aggressive_nsec;  /**< negatives made from validated NSEC (RFC 8198) */
	uint64_t mirror_answers;   /**< replies built from the zone mirror instead of asked */
	uint64_t mirror_secure;    /**< results from verified mirror data only, not validated again
				    (secure, or insecure for an NSEC3 opt-out denial) */
	uint64_t mirror_extended;  /**< replies from a mirror past its SOA expire deadline */
	uint64_t stale_infra;      /**< expired delegations/DS/DNSKEY used, refresh failed */
	uint64_t mirror_fast;      /**< final answers ost_mirror_answer() made (worker fast path) */
	uint64_t prefetch_started; /**< background refreshes of cached answers about to expire */
	uint64_t prefetch_skipped; /**< prefetches due but not started: one for the same answer
				      was started recently or is in flight, or too many are */
	uint64_t prefetch_failed;  /**< prefetches that ended without a new answer (the cached
				      one is kept until it expires) */
};

struct ost_resolver;
struct ost_request;

/**
 * Make a resolver for one worker thread.
 * @param out receives the resolver
 * @param cfg configuration, copied (hints and allow-list too)
 * @param cache cache shared by workers, or NULL for no caching; must outlive
 *        the resolver
 * @param clock time source, must outlive the resolver
 * @param tp transport for outbound queries, must outlive the resolver; it
 *        must never call a query's callback from inside send(), and must not
 *        touch a query after calling its callback with a final result
 * @return 0, -EINVAL (bad configuration, e.g. neither hints nor stub zones)
 *         or -ENOMEM
 */
OST_EXPORT OST_WUR int ost_resolver_new(struct ost_resolver **out,
					const struct ost_resolver_config *cfg,
					struct ost_cache *cache, const struct ost_clock *clock,
					const struct ost_transport *tp);

/**
 * Free a resolver. Requests still in flight are cancelled without callback.
 * Uncommitted cache writes are dropped.
 * @param r the resolver (NULL is allowed)
 */
OST_EXPORT void ost_resolver_free(struct ost_resolver *r);

/**
 * Start resolving (@p qname_wire, @p qtype, @p qclass). The callback is called
 * exactly once unless the request is cancelled; it may be called before this
 * function returns (cache hit, immediate failure), and then *@p out is NULL.
 * Identical requests in flight (same name ignoring case, type, class, flags)
 * share one resolution.
 *
 * Without OST_RF_RD the answer comes from the cache only (fresh, or stale
 * with a background refresh); a miss is answered REFUSED (as Unbound does
 * for clients without recursion rights).
 *
 * Serve-stale (RFC 8767, cfg.serve_stale): when the cache holds an expired
 * answer for the question (within the maximum staleness, original TTL above
 * 0, not bogus), the callback gets it (EDE 3, or 19 for NXDOMAIN, TTLs of
 * cfg.stale_ttl) when resolution fails, or when it takes longer than the
 * client response timer, or at once when that timer is 0 or the policy says
 * so; resolution then goes on in the background and refreshes the cache.
 * A refresh that failed is retried at most every cfg.stale_recheck_s.
 * @param r the resolver
 * @param qname_wire the name in uncompressed wire format, already checked by
 *        the caller's query parser (no length is passed; at most 255 octets
 *        are read); compression pointers are refused
 * @param qtype the type
 * @param qclass the class
 * @param flags OST_RF_* from the client's query
 * @param cb completion callback
 * @param arg its argument
 * @param out receives a handle for ost_request_cancel(), or NULL when done
 * @return 0 (the callback will be or was called), -EINVAL (bad name),
 *         -ENOMEM (no callback)
 */
OST_EXPORT OST_WUR int ost_resolve(struct ost_resolver *r, const uint8_t *qname_wire,
				   uint16_t qtype, uint16_t qclass, unsigned flags,
				   ost_resolve_cb cb, void *arg, struct ost_request **out);

/**
 * Least TTL (seconds, as the entry was stored) of a cached answer that
 * ost_resolver_prefetch_hit() refreshes. Unbound's rule (prefetch when the
 * time left is at most TTL/10, in whole seconds) never fires below it, and
 * a refresh every few seconds would cost more upstream queries than it saves.
 */
#define OST_PREFETCH_MIN_TTL 10

/**
 * Most prefetches one resolver keeps in flight; beyond it a prefetch is
 * skipped (the client requests keep the resolver, and the entry is resolved
 * as usual when it expires).
 */
#define OST_PREFETCH_MAX_INFLIGHT 512

/**
 * The hit path's cheap test (no call, no memory but the entry): is the time
 * left of @p e at most a tenth of the TTL it was stored with? Unbound's
 * prefetch point (its PREFETCH_TTL_CALC: 90 % of the TTL gone); always false
 * for TTLs below 10 s while the entry is fresh.
 * @param e a cache entry, unexpired at @p now_wall
 * @param now_wall current wall-clock seconds
 * @return true when ost_resolver_prefetch_hit() is worth calling
 */
static inline bool ost_prefetch_due(const struct ost_cache_entry *e, int64_t now_wall)
{
	return e->expires_at - now_wall <= (int64_t)(e->ttl / 10);
}

/**
 * Start a background refresh (a prefetch) of (@p qname_wire, @p qtype,
 * @p qclass) for @p flags: a request without waiters that does not take the
 * cache's answer for the question (it asks upstream, or the zone mirror,
 * from the closest cached zone cut; name-server addresses, DS and DNSKEY
 * still come from the cache) and stores what it gets with the usual rank
 * and DNSSEC rules, replacing the cached answer. When it fails nothing is
 * cached (no RFC 9520 failure entry), so the cached answer is served until
 * it expires and the engine then resolves as usual. A client request for
 * the same question and flags that arrives meanwhile joins it (and then a
 * failure is cached as for any client request). Counted in
 * ost_resolver_stats.prefetch_started, _skipped and _failed.
 *
 * Example: "www.example.ru. A" was stored with TTL 300 and has 20 s left;
 * ost_resolver_prefetch(r, name, A, IN, OST_RF_RD) asks example.ru.'s
 * servers again (their NS and addresses from the cache); the answer, with
 * its TTL 300, replaces the entry at the next ost_resolver_commit().
 * @param r the resolver
 * @param qname_wire the name in uncompressed wire format (as ost_resolve())
 * @param qtype the type
 * @param qclass the class
 * @param flags OST_RF_* of the requests the cached answer serves
 * @return 0 (started; it may already have finished), -EALREADY (an identical
 *         resolution is in flight and will refresh the cache: counted as
 *         skipped), -EBUSY (OST_PREFETCH_MAX_INFLIGHT prefetches in flight:
 *         counted as skipped), -EINVAL (bad name), -ENOMEM
 */
OST_EXPORT OST_WUR int ost_resolver_prefetch(struct ost_resolver *r, const uint8_t *qname_wire,
					     uint16_t qtype, uint16_t qclass, unsigned flags);

/**
 * The server's hit path just answered a client from @p e, and
 * ost_prefetch_due() said its time is nearly up: start a prefetch
 * (ost_resolver_prefetch()) unless one was started for this version of the
 * entry (its expires_at) within the last cfg.stale_recheck_s seconds, so a
 * hot name hit 10,000 times in its last tenth starts one refresh. The
 * resolver keeps those starts in a fixed table (OST_PF_SLOTS slots, made
 * once): no allocation unless a prefetch starts. Only answers the engine
 * makes are refreshed: not zone mirror entries (OST_RANK_MIRROR, made from
 * the mirror anyway), not bogus ones, not TTLs below OST_PREFETCH_MIN_TTL.
 * The refresh asks for what the entry serves: RD, CD when the entry was
 * stored unvalidated for CD=1 clients (OST_MSG_F_UNVALIDATED), DO when
 * @p is_do.
 * @param r the worker's resolver
 * @param e the OST_CTAG_MSG entry the client was answered from
 * @param qname_wire the question's name (uncompressed wire format)
 * @param qtype the question's type
 * @param qclass the question's class
 * @param is_do the client set DO
 * @param now_wall the wall-clock seconds the answer was made with
 * @return 0 (started), -EALREADY (started recently or in flight: skipped),
 *         -EBUSY (too many in flight: skipped), -ENOENT (not due, or not an
 *         answer the engine refreshes), -EINVAL, -ENOMEM
 */
OST_EXPORT int ost_resolver_prefetch_hit(struct ost_resolver *r, const struct ost_cache_entry *e,
					 const uint8_t *qname_wire, uint16_t qtype, uint16_t qclass,
					 bool is_do, int64_t now_wall);

/**
 * Cancel a request: its callback is never called. The shared resolution goes
 * on while another identical request waits for it.
 * @param rq the handle from ost_resolve()
 */
OST_EXPORT void ost_request_cancel(struct ost_request *rq);

/**
 * Hand the cache writes queued by finished requests to the cache's writer
 * thread (ost_cache_batch_submit(): never blocks on LMDB). The server calls
 * it once per loop iteration, after sending its answers, also when no
 * request finished: the submit (then empty) is what hands the LRU stamps
 * queued by the hit path's ost_cache_reader_get() to the writer; with
 * nothing queued at all it costs one atomic load.
 * @param r the resolver
 * @return 0 (also when there is no cache or nothing to write) or a cache error
 */
OST_EXPORT int ost_resolver_commit(struct ost_resolver *r);

/**
 * Release the resolver's zone mirror snapshots: reset the read transaction
 * it keeps per mirrored zone (ost_zone_rtxn_reset() in zone.h), so that none
 * pins the pages of a replaced version while the worker gets no question
 * for that zone; otherwise the next import of a large zone may need room
 * for three versions in the mirror's map and fail. The server calls it once
 * per loop iteration, where it ends its cache reader session; anything else
 * that keeps a resolver with a mirror between questions calls it whenever
 * it goes idle. The next question to a mirrored zone renews that zone's
 * transaction (no allocation) on the version current then. Costs one load
 * when no transaction is live.
 * @param r the resolver
 */
OST_EXPORT void ost_resolver_mirror_release(struct ost_resolver *r);

/**
 * @param r the resolver
 * @param out receives a copy of its counters
 */
OST_EXPORT void ost_resolver_stats_get(const struct ost_resolver *r,
				       struct ost_resolver_stats *out);

/** @return the number of resolutions in flight in @p r (sub-requests included) */
OST_EXPORT size_t ost_resolver_inflight(const struct ost_resolver *r);

/**
 * Build the client's response from a result.
 * Copies ID, question, RD and CD from the client's query; sets QR and RA;
 * adds an OPT record with @p edns_size (and DO copied) when the query had
 * one, with an EDE option (code 15) when the result has an EDE. When the
 * response exceeds the client's limit (its EDNS size, at least 512, at most
 * @p edns_size; 512 without EDNS; 65535 over TCP) every section is dropped
 * and TC is set.
 * @param res the result
 * @param query the client's query wire
 * @param qlen its length
 * @param is_tcp the response goes over TCP
 * @param edns_size our EDNS buffer size
 * @param buf output buffer
 * @param cap its size
 * @param len receives the response length
 * @return 0, OST_EMALFORMED (query unparseable), -ENOBUFS (@p cap too small
 *         even for a truncated reply), -ENOMEM
 */
OST_EXPORT OST_WUR int ost_result_to_wire(const struct ost_result *res, const uint8_t *query,
					  size_t qlen, bool is_tcp, uint16_t edns_size,
					  uint8_t *buf, size_t cap, size_t *len);

/**
 * The cache-hit fast path: turn a borrowed OST_CTAG_MSG entry and the client's
 * query into the response wire, with TTLs counted down by the time elapsed
 * since the entry was stored. Allocates nothing. RRSIGs are left out unless
 * the query has DO=1 (or asks for RRSIG). Owner names are compressed
 * (RFC 1035 §4.1.4) against the question and the owners written before them,
 * RDATA is copied as stored. Falls back to TC=1 when the compressed answer
 * does not fit the client's limit (see ost_result_to_wire()).
 * @param e the entry from ost_cache_reader_get(..., OST_CTAG_MSG, ...)
 * @param query the client's query wire (one question; its name must be the
 *        entry's owner; the client's spelling is kept)
 * @param qlen its length
 * @param now_wall current wall-clock seconds
 * @param is_tcp the response goes over TCP
 * @param edns_size our EDNS buffer size
 * @param buf output buffer
 * @param cap its size
 * @param len receives the response length
 * An answer stored from a CD=1 request while validation was on (so never
 * validated, entry flag OST_MSG_F_UNVALIDATED) or a bogus one is not served
 * to a CD=0 query.
 * @return 0; -ENOENT when the entry has expired or does not fit the query
 *         (serve through the engine instead); OST_EMALFORMED for a bad query
 *         or payload; -ENOBUFS when @p cap is too small
 */
OST_EXPORT OST_WUR int ost_msg_to_wire(const struct ost_cache_entry *e, const uint8_t *query,
				       size_t qlen, int64_t now_wall, bool is_tcp,
				       uint16_t edns_size, uint8_t *buf, size_t cap, size_t *len);

/**
 * The zone mirror's fast path (resolver/mirror_fast.c): when the cache has
 * no answer, a question whose final answer lies in a usable mirrored zone
 * is answered straight from the mirror store, without a request, without
 * ldns objects and without a cache write (it costs about what a cache hit
 * does, so caching it gains nothing). The answer is returned as the
 * OST_CTAG_MSG entry the engine would have cached for it, for
 * ost_msg_to_wire(): an exact RRset (not a CNAME or DNAME link, not
 * synthesised from a wildcard), NODATA, NXDOMAIN with its NSEC or NSEC3
 * proof (also opt-out), a DS at a delegation point, apex data. The zone is
 * the one the engine's mirror hook would choose (the deepest usable one),
 * and the DNSSEC status is the verdict it would give: secure, or insecure
 * for an NSEC3 opt-out denial; AA stays clear (RFC 8806 §3).
 *
 * Everything else is left to the engine (-ENOENT): referrals toward a
 * child zone, CNAME/DNAME, wildcards, ANY and RRSIG questions, class other
 * than IN, validation off, a copy not anchored in the resolver's own trust
 * anchors or under a negative trust anchor, a copy past its SOA expire
 * deadline (extended ones carry EDE 3, which only the engine adds) or at its
 * RRSIG horizon less the margin.
 *
 * Example: the server's cache misses "x7f3.ru. A"; ru. is mirrored (NSEC3,
 * opt-out), so ost_mirror_answer() finds no cut, no name and no wildcard,
 * returns the NXDOMAIN with the SOA and the three NSEC3 RRsets (with
 * RRSIGs), sec OST_SEC_INSECURE (opt-out span), and the server renders it
 * with ost_msg_to_wire() into the client's reply.
 *
 * @param r the worker's resolver (its mirror configuration, clock, trust
 *        anchors and failover policy); it keeps a read transaction per
 *        mirrored zone (reset by ost_resolver_mirror_release(), renewed
 *        here) and a scratch buffer between calls
 * @param qname the question name, uncompressed wire (as the query parser
 *        checked it)
 * @param qname_len its length (at most 255)
 * @param qtype the question type
 * @param qclass the question class
 * @param out receives the entry: tag OST_CTAG_MSG, rank OST_RANK_MIRROR,
 *        stored_at now, expires_at the end of the copy's use; its payload
 *        lives in the resolver's scratch until the next call
 * @return 0; -ENOENT when the engine must answer (see above); -ENOMEM or a
 *         store error (the engine answers too)
 */
OST_EXPORT OST_WUR int ost_mirror_answer(struct ost_resolver *r, const uint8_t *qname,
					 size_t qname_len, uint16_t qtype, uint16_t qclass,
					 struct ost_cache_entry *out);

#endif
