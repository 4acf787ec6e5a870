/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private declarations shared by the files of resolver/: the resolution task
 * and its state machine (request.c), zone cuts and reply classification
 * (iterate.c), server selection (selection.c), ldns helpers (wire.c), cache
 * reads and writes (stash.c), serve-stale and RD=0 (stale.c) and answer
 * building (answer.c). Nothing outside resolver/ includes this file.
 */
#ifndef OSTROV_RESOLVER_INTERNAL_H
#define OSTROV_RESOLVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "ostrov/cache.h"
#include "ostrov/mm.h"
#include "ostrov/resolver.h"

/** RFC 9520 §3.1: at most 3 queries for one question to one server. */
#define OST_MAX_TRIES          3
/** RFC 9156 §2.3: at most this many minimised queries per resolution. */
#define OST_MAX_MINIMISE_COUNT 10
/** RFC 9156 §2.3: the first this many minimised queries add one label each. */
#define OST_MINIMISE_ONE_LAB   4
/** Name servers kept per zone cut (the rest of a huge NS set is ignored). */
#define OST_CUT_MAX_NS         16
/** Addresses kept per name server. */
#define OST_NS_MAX_ADDR        8
/** Servers remembered per question for retry ordering. */
#define OST_QTRIES_MAX         32
/** The OST_CTAG_MSG payload (answer.c writes it, mirror_fast.c too): its version,
 *  header length and the length of one record descriptor. */
#define OST_MSG_VERSION        1
#define OST_MSG_HDR_LEN        16
#define OST_MSG_DESC_LEN       8
/**
 * Name servers of one client request whose addresses could not be found
 * upstream (both A and AAAA failed) before the request is abandoned: the
 * NXNS countermeasure (Unbound's MAX_TARGET_NX). Failures answered from the
 * cache do not count, so a later request can try the remaining servers.
 */
#define OST_MAX_TARGET_NX      5

/* ---- selection.c: per-server memory (RTT, failures, EDNS support) ---- */

/** What one resolver instance remembers about one server address. */
struct ost_srv {
	struct ost_srv *next;         /**< hash chain */
	struct sockaddr_storage addr; /**< address and port */
	socklen_t addrlen;            /**< length of @p addr */
	uint32_t srtt_ms;             /**< smoothed RTT, valid when has_rtt */
	uint32_t rttvar_ms;           /**< RTT variation */
	uint32_t rto_ms;              /**< current timeout (backed off after timeouts) */
	uint32_t timeouts;            /**< consecutive timeouts */
	uint32_t fails;               /**< consecutive failures of any kind */
	uint64_t last_fail_ms;        /**< monotonic time of the last failure */
	bool has_rtt;                 /**< at least one RTT sample */
	bool no_edns;                 /**< answered FORMERR/NOTIMP to EDNS */
};

/** The per-resolver table of servers. */
struct ost_sel {
	struct ost_srv **buckets; /**< hash buckets */
	size_t n_buckets;         /**< power of two */
	size_t count;             /**< entries */
};

int ost_sel_init(struct ost_sel *s);
void ost_sel_deinit(struct ost_sel *s);
/** Find or create the record of @p addr; NULL only when out of memory. */
struct ost_srv *ost_sel_get(struct ost_sel *s, const struct sockaddr_storage *addr,
			    socklen_t addrlen, const struct ost_resolver_config *cfg);
/** Timeout to use for the next query to @p srv. */
uint32_t ost_sel_timeout(const struct ost_srv *srv, const struct ost_resolver_config *cfg);
/** Preference of @p srv, lower is better (RTT, or penalised timeout). */
uint32_t ost_sel_score(const struct ost_srv *srv, uint64_t now_ms);
/** Record a reply after @p rtt_ms. */
void ost_sel_on_reply(struct ost_srv *srv, uint32_t rtt_ms, const struct ost_resolver_config *cfg);
/** Record a timeout: the timeout doubles up to the cap (RFC 6298 §5.5). */
void ost_sel_on_timeout(struct ost_srv *srv, uint64_t now_ms,
			const struct ost_resolver_config *cfg);
/** Record a failure other than a timeout (lame, network error). */
void ost_sel_on_fail(struct ost_srv *srv, uint64_t now_ms);
/** @return true when @p addr is inside the allow-list (NULL list = loopback). */
bool ost_sel_allowed(const struct ost_resolver_cidr *allow, size_t n_allow,
		     const struct sockaddr_storage *addr);

/* ---- zone cuts (iterate.c) ---- */

/** One address of a name server of a cut. */
struct ost_addr_slot {
	struct sockaddr_storage addr; /**< address and port */
	socklen_t addrlen;            /**< its length */
	uint8_t fails;                /**< failed queries to it within this cut */
	bool dead;                    /**< lame or not allowed: never used again here */
};

/** State of a name server's addresses. */
enum ost_ns_addr_state {
	OST_NSA_UNKNOWN = 0, /**< no addresses yet, not resolved */
	OST_NSA_RESOLVING,   /**< a sub-request is resolving them */
	OST_NSA_DONE,        /**< resolved (or glue), addresses as found */
};

/** One name server of a cut. */
struct ost_ns_slot {
	ldns_rdf *name;              /**< its name, in the owning task's arena */
	struct ost_addr_slot *addrs; /**< its addresses */
	uint8_t n_addrs;             /**< number of @p addrs */
	uint8_t state;               /**< enum ost_ns_addr_state */
	uint8_t tried_aaaa;          /**< the A lookup found nothing, AAAA was asked */
	uint8_t counted;             /**< its lookup counted against max_subreq */
	uint8_t fetched;             /**< a lookup of it went upstream (not only cache) */
};

/** A zone cut: a zone's name and its name servers. */
struct ost_cut {
	ldns_rdf *name;          /**< zone apex */
	struct ost_arena *arena; /**< arena of the task that owns the cut (addresses go there) */
	struct ost_ns_slot *ns;  /**< name servers */
	size_t n_ns;             /**< number of @p ns */
	struct ost_cut *parent;  /**< the cut above, NULL at the root */
	unsigned labels;         /**< label count of @p name */
	bool from_cache;         /**< built from cached NS: may be stale, fall back up */
	bool is_forward;         /**< a configured forward zone: RD=1, answers are final */
	ldns_rr_list *dsproof;   /**< DS or NSEC/NSEC3 (+RRSIGs) of the referral, or NULL */
	struct ost_cut *seen;    /**< next in the task's list of followed cuts */
};

/* ---- the task: one resolution (client request or sub-request) ---- */

/** States of a task, in the order a simple resolution visits them. */
enum ost_task_state {
	/** Entered at creation: look in the cache, choose the starting cut. */
	OST_TS_START = 0,
	/** A cut is known: choose the question to send (minimisation), check limits. */
	OST_TS_PLAN,
	/** Choose a server address of the cut; none usable -> RESOLVE_NS or fail. */
	OST_TS_PICK,
	/** Start a sub-request for a name server's addresses. */
	OST_TS_RESOLVE_NS,
	/** Waiting for that sub-request to finish. */
	OST_TS_WAIT_SUB,
	/** Build the query and hand it to the transport. */
	OST_TS_SEND,
	/** Waiting for the transport's callback (reply, timeout or error). */
	OST_TS_WAIT_REPLY,
	/**
	 * An upstream result is final; DNSSEC validation (a later issue) runs
	 * here when cfg.validation is on and the client did not set CD. Today
	 * it marks the result unchecked and moves on to DONE.
	 */
	OST_TS_VALIDATE,
	/** Waiting for a DS or DNSKEY fetch of the validator (validate_task.c). */
	OST_TS_VAL_WAIT,
	/** The result is final: store, call back, free. Terminal. */
	OST_TS_DONE,
	OST_TS_COUNT,
};

/** What a handler tells the driver loop. */
enum ost_step {
	OST_STEP_CONTINUE = 0,  /**< run the handler of the new state */
	OST_STEP_WAIT_REPLY,    /**< suspended until the transport calls back */
	OST_STEP_WAIT_SUBQUERY, /**< suspended until a sub-request finishes */
	OST_STEP_DONE,          /**< finished */
};

/** @return the name of @p s for logs */
const char *ost_task_state_str(enum ost_task_state s);

/** Try counter of one address for the current question. */
struct ost_qtry {
	struct ost_addr_slot *slot; /**< the address */
	uint8_t n;                  /**< queries sent to it for this question */
};

struct ost_task {
	struct ost_resolver *r;       /**< owner */
	struct ost_arena arena;       /**< everything of the task; ldns objects deferred */
	enum ost_task_state state;    /**< state machine */
	struct ost_task *parent;      /**< the task waiting for this sub-request, or NULL */
	struct ost_task *root;        /**< the client task whose budgets apply (self if top) */
	struct ost_task *child;       /**< sub-request this task waits for */
	struct ost_task *ev_child;    /**< finished sub-request delivered to WAIT_SUB */
	struct ost_ns_slot *child_ns; /**< the name server the child resolves */
	struct ost_request *waiters;  /**< client handles (top-level tasks only) */
	struct ost_task *hnext;       /**< coalescing hash chain */
	uint32_t hash;                /**< coalescing hash */
	bool in_hash;                 /**< linked in the coalescing table */

	/* The question. */
	ldns_rdf *qname; /**< as asked */
	uint16_t qtype;  /**< as asked */
	uint16_t qclass; /**< as asked */
	unsigned flags;  /**< OST_RF_* */

	/* Iteration. */
	ldns_rdf *sname;     /**< current target (after CNAME/DNAME) */
	struct ost_cut *cut; /**< current zone cut */
	unsigned depth;      /**< referrals followed */
	unsigned n_cname;    /**< CNAME/DNAME links followed */
	bool qmin;           /**< QNAME minimisation still on */
	unsigned qmin_count; /**< minimised queries sent */
	unsigned qmin_known; /**< labels of the deepest name known to exist (no cut) */

	/* The query being sent or awaited. */
	ldns_rdf *q_name;                       /**< name asked (sname or a minimised ancestor) */
	uint16_t q_type;                        /**< type asked */
	bool q_minimised;                       /**< q_name is shorter than sname */
	bool q_edns;                            /**< the query carries OPT */
	enum ost_proto q_proto;                 /**< UDP or TCP */
	uint16_t q_id;                          /**< DNS ID */
	struct ost_addr_slot *q_slot;           /**< chosen address */
	struct ost_srv *q_srv;                  /**< its server record */
	struct ost_upstream_query *uq;          /**< in flight, NULL when none */
	uint64_t q_sent_ms;                     /**< when it was sent */
	struct ost_qtry qtries[OST_QTRIES_MAX]; /**< tries per address for this question */
	unsigned n_qtries;                      /**< used entries of @p qtries */

	/* Event delivered to WAIT_REPLY / WAIT_SUB. */
	int ev_status;    /**< transport status */
	ldns_pkt *ev_pkt; /**< reply (deferred free in the arena) */

	/* Budgets (used on the root task). */
	unsigned n_queries;         /**< outbound queries */
	unsigned n_subreq;          /**< sub-requests */
	unsigned n_timeouts;        /**< timeouts seen */
	unsigned n_neterr;          /**< network errors seen */
	unsigned n_lame;            /**< lame answers seen */
	unsigned n_blocked;         /**< addresses the policy forbade */
	unsigned n_nx_targets;      /**< name servers without any address (NXNS limit) */
	bool loop_seen;             /**< a name-server address loop was cut */
	struct ost_timer *deadline; /**< total time limit (root only) */

	/* Result. */
	uint8_t rcode;              /**< LDNS_RCODE_* */
	ldns_rr_list *answer;       /**< answer section */
	ldns_rr_list *auth;         /**< authority section */
	ldns_rr_list *add;          /**< additional section */
	bool has_ede;               /**< EDE set */
	uint16_t ede;               /**< EDE code */
	char ede_text[128];         /**< EDE EXTRA-TEXT */
	bool is_limit;              /**< failed because of a hard limit (propagates up) */
	bool is_internal;           /**< a local failure (OpenSSL, memory): never cached */
	bool is_nxdomain_cut;       /**< NXDOMAIN at an ancestor (RFC 8020) */
	bool stale_cut_tried;       /**< an expired cached cut was tried (RFC 8767 §5) */
	enum ost_answer_source src; /**< answer source */
	bool is_built_from_cache;   /**< answered from cached RRsets/negatives (stash.c) */
	int64_t msg_until; /**< a whole-answer copy must not outlive this wall time (0: none) */
	uint8_t rank;      /**< enum ost_rank of the final data */
	uint8_t sec;       /**< enum ost_sec of the result */
	struct ost_val_task *val; /**< validation state (validate_task.c), or NULL */
	struct ost_cut *seen;     /**< every cut followed by referral (for the validator) */

	/* Zone mirror (mirror.c). */
	size_t mirror_an;        /**< answer records after the last mirror reply was taken */
	bool is_mirror_clean;    /**< every record of the result so far is from a signed copy */
	bool is_mirror_extended; /**< a copy past its SOA expire deadline contributed: EDE 3,
				    nothing of the task is cached */
	int64_t mirror_until;    /**< wall s: cached copies of mirror data expire by then;
				    0 when no mirror reply was taken */

	/* Serve-stale (RFC 8767), top-level tasks only. */
	bool has_stale;                /**< an expired answer may be served */
	bool stale_sent;               /**< the waiters got it: the task is now a refresh */
	uint8_t stale_rcode;           /**< its rcode (NOERROR or NXDOMAIN) */
	uint8_t stale_sec;             /**< its enum ost_sec */
	uint32_t stale_age;            /**< seconds since it expired */
	ldns_rr_list *stale_answer;    /**< its sections, TTLs already set for serving */
	ldns_rr_list *stale_auth;      /**< authority section */
	ldns_rr_list *stale_add;       /**< additional section */
	struct ost_timer *stale_timer; /**< client response timer */
	char stale_text[160];          /**< EDE EXTRA-TEXT of the stale answer */

	/* Prefetch (prefetch.c, ost_resolver_prefetch()), top-level tasks only. */
	bool is_prefetch; /**< started without waiters to refresh a fresh cached answer: the
			     cache's answer is not taken, a failure is not cached unless a
			     client joined meanwhile */
};

/** A client's handle on a task. */
struct ost_request {
	struct ost_task *task;    /**< the shared resolution */
	ost_resolve_cb cb;        /**< callback */
	void *arg;                /**< its argument */
	struct ost_request *next; /**< next waiter */
};

/** The resolver of one worker. */
struct ost_resolver {
	struct ost_resolver_config cfg;  /**< copy, hints and allow-list owned */
	struct ost_root_hint *hints;     /**< owned copy */
	ldns_rdf **hint_names;           /**< hints' names, parsed once */
	ldns_rdf *root_name;             /**< the root name, shared by root cuts */
	struct ost_resolver_cidr *allow; /**< owned copy */
	struct ost_val_res *val;         /**< validator: anchors, zone keys (validate_task.c) */
	struct ost_stub_addr *stubs;     /**< owned copy (zone strings owned) */
	ldns_rdf **stub_names;           /**< stubs' zone names, parsed once */
	struct ost_cache *cache;         /**< or NULL */
	struct ost_cache_batch *batch;   /**< pending writes, NULL without cache */
	const struct ost_clock *clock;   /**< time */
	const struct ost_transport *tp;  /**< network */
	struct ost_sel sel;              /**< server memory */
	struct ost_task **table;         /**< coalescing hash of top-level tasks */
	size_t table_size;               /**< buckets, power of two */
	size_t n_tasks;                  /**< tasks alive (all kinds) */
	uint8_t rnd[256];                /**< CSPRNG bytes */
	size_t rnd_used;                 /**< consumed bytes of @p rnd */
	struct ost_resolver_stats stats; /**< counters */
	struct ost_mirror_snap *msnap;   /**< mirror.c's view of the mirrored zones, or NULL */
	struct ost_mirror_fast *mfast;   /**< mirror_fast.c's scratch, or NULL */
	struct ost_request *watch;       /**< handle being started by ost_resolve() */
	bool watch_done;                 /**< it finished synchronously */
	struct ost_pf_slot *pf;          /**< prefetch.c's table of recent prefetches */
	size_t n_prefetch;               /**< prefetch tasks alive (ost_resolver_prefetch()) */
};

/* ---- wire.c ---- */

/** Map an ldns status to 0 or a negative ostrov error. */
int ldns_to_ost(ldns_status st);
/** Random 16-bit value from the resolver's CSPRNG buffer. */
uint16_t ost_rand16(struct ost_resolver *r);
/** Register ldns object destructors with an arena. @return the object or NULL */
ldns_rdf *ost_arena_rdf(struct ost_arena *a, ldns_rdf *rdf);
ldns_rr_list *ost_arena_rr_list(struct ost_arena *a, ldns_rr_list *l);
ldns_pkt *ost_arena_pkt(struct ost_arena *a, ldns_pkt *p);
/** @return true when @p name equals or is below @p zone (case-insensitive) */
bool ost_dname_under(const ldns_rdf *name, const ldns_rdf *zone);
/** @return true when @p a and @p b are the same name (case-insensitive) */
bool ost_dname_eq(const ldns_rdf *a, const ldns_rdf *b);
/** Replace suffix @p from of @p name by @p to (DNAME). @return new rdf or NULL */
ldns_rdf *ost_dname_substitute(const ldns_rdf *name, const ldns_rdf *from, const ldns_rdf *to);
/** Build a query wire into the arena (@p rd, @p cd: header bits, set toward
 * forwarders). @return 0 or negative error */
int ost_wire_query(struct ost_arena *a, const ldns_rdf *name, uint16_t type, uint16_t qclass,
		   uint16_t id, bool edns, uint16_t edns_size, bool do_bit, bool rd, bool cd,
		   uint8_t **wire, size_t *len);
/** @return true when the reply's question is (name, type, class) */
bool ost_wire_question_matches(const ldns_pkt *p, const ldns_rdf *name, uint16_t type,
			       uint16_t qclass);
/**
 * @return true when every record of the reply has at least the rdata fields
 * its (known) type requires; ldns accepts short rdata (e.g. an empty DNAME),
 * and the engine reads the fields without checking each time
 */
bool ost_wire_rdata_complete(const ldns_pkt *p);
/** Format a name for logs into @p buf. @return @p buf */
const char *ost_dname_str(const ldns_rdf *name, char *buf, size_t size);
/** Clone @p rr into @p list. @return 0 or -ENOMEM */
int ost_rr_list_push_clone(ldns_rr_list *list, const ldns_rr *rr);

/* ---- iterate.c ---- */

/** How a reply moves the task on. */
enum ost_iter_outcome {
	OST_ITER_DONE = 0,     /**< final result set on the task */
	OST_ITER_NEXT,         /**< continue with PLAN (referral, CNAME, minimisation step) */
	OST_ITER_RETRY_TCP,    /**< resend to the same server over TCP */
	OST_ITER_RETRY_NOEDNS, /**< resend to the same server without EDNS */
	OST_ITER_LAME,         /**< this server is useless for this zone: try another */
	OST_ITER_FAIL,         /**< the task fails (SERVFAIL + EDE already set) */
};

/** Build the root cut from the hints. @return 0 or -ENOMEM */
int ost_iter_root_cut(struct ost_task *t);
/** Choose the question to send from t->sname and t->cut (RFC 9156). */
int ost_iter_plan(struct ost_task *t);
/** Classify the reply in t->ev_pkt and update the task. */
enum ost_iter_outcome ost_iter_reply(struct ost_task *t, ldns_pkt *p);
/** Set @p ns's addresses from the A/AAAA records of @p l (owner under @p zone
 * unless NULL), allocated in the cut's arena @p a. @return count or -ENOMEM */
int ost_iter_ns_addrs(struct ost_arena *a, uint16_t port, struct ost_ns_slot *ns,
		      const ldns_rr_list *l, const ldns_rdf *zone);
/** If a stub zone containing t->sname lies below t->cut, make it the cut
 * (its parent is the old cut). @return 0 or -ENOMEM */
int ost_iter_stub_cut(struct ost_task *t);
/** Find the deepest cut in @p from's chain containing @p name. */
struct ost_cut *ost_iter_closest_cut(struct ost_cut *from, const ldns_rdf *name);
/** Set SERVFAIL with an EDE on @p t. */
void ost_task_fail(struct ost_task *t, uint16_t ede, bool is_limit, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- stash.c: cache reads and writes ---- */

/** Make the resolver's write batch (nothing without a cache). @return 0 or error */
int ost_stash_init(struct ost_resolver *r);
/** Drop the batch. */
void ost_stash_deinit(struct ost_resolver *r);
/** Commit the batch. @return 0 or a cache error */
int ost_stash_commit(struct ost_resolver *r);
/** Try to answer @p t from the cache. @return true when t's result is final */
bool ost_stash_answer(struct ost_task *t);
/** Look for an expired answer for @p t that RFC 8767 lets us serve; fills
 * t->stale_*. @return true when found */
bool ost_stash_stale(struct ost_task *t);
/** @return the maximum staleness in force (policy hook or configuration) */
uint32_t ost_stale_max(const struct ost_resolver *r);
/** Find the closest cached zone cut for t->sname; sets t->cut. @return true when found */
bool ost_stash_closest_cut(struct ost_task *t);
/** As ost_stash_closest_cut() with expired delegations within the maximum
 * staleness too (RFC 8767 §5, used when the servers of t->cut all failed);
 * counted in stats.stale_infra. @return true when one was found */
bool ost_stash_stale_cut(struct ost_task *t);
/** Answer sub-request @p t (NS address, DS, DNSKEY) from an expired cached
 * RRset within the maximum staleness, its upstream having failed; counted
 * in stats.stale_infra. @return true when t's result is set */
bool ost_stash_stale_rrset(struct ost_task *t);
/** Queue the final result of @p t into the resolver's batch. */
void ost_stash_result(struct ost_task *t);
/** Queue the cut just learnt from a referral (NS RRset and glue). */
void ost_stash_referral(struct ost_task *t, const ldns_rr_list *ns, const ldns_rr_list *glue);

/* ---- request.c ---- */

/** Fill @p res with the task's result (borrowed from the task). */
void ost_task_result(const struct ost_task *t, struct ost_result *res);
/** Free every task of the coalescing table, and the table (request.c; ost_resolver_free()). */
void ost_request_table_free(struct ost_resolver *r);

/* ---- prefetch.c: refreshing hot answers before they expire ---- */

/** Slots of the per-resolver table of recent prefetches (a power of two). */
#define OST_PF_SLOTS 1024

/** One slot of that table: the last prefetch started for a question hashed here. */
struct ost_pf_slot {
	uint32_t hash;      /**< hash of (lower-cased name, type, class, flags); 0: unused */
	int64_t version;    /**< expires_at of the cache entry it refreshes */
	int64_t started_at; /**< wall s when it was started */
};

/** Make the table (allocated once). @return 0 or -ENOMEM */
int ost_pf_init(struct ost_resolver *r);
/** Free it. */
void ost_pf_deinit(struct ost_resolver *r);

/* ---- stale.c: serve-stale (RFC 8767) and RD=0 ---- */

/**
 * Called by START after the cache had no fresh answer (@p cached_failure:
 * it had a cached failure, already set on the task). Looks for stale data
 * (top-level tasks), answers RD=0 misses with REFUSED, and serves stale data
 * at once or arms the client response timer.
 * @return true when the task is finished (go to DONE)
 */
bool ost_stale_start(struct ost_task *t, bool cached_failure);
/** Fill @p res with the task's stale answer (EDE 3 or 19). */
void ost_stale_result(const struct ost_task *t, struct ost_result *res);
/** Answer every waiter with the stale answer; @p why goes into EXTRA-TEXT. */
void ost_stale_deliver(struct ost_task *t, const char *why);

/* ---- mirror.c: answering from the zone mirror ---- */

struct ost_mirror_snap;
struct ost_mirror_fast;

/** What ost_mirror_plan() did with a task. */
enum ost_mirror_step {
	OST_MIRROR_PASS = 0, /**< nothing (more) from the mirror: iterate as usual */
	OST_MIRROR_DONE,     /**< final result set from the mirror: go to VALIDATE */
	OST_MIRROR_FAIL,     /**< the task failed (SERVFAIL + EDE set) */
	OST_MIRROR_SECURE,   /**< final result set only from verified mirror data: secure by
				  construction, no validation (go to DONE) */
};

/**
 * Called by PLAN: while t->sname lies in a usable mirrored zone, feed the
 * reply that zone's servers would send, built from the store, to the
 * iterator (referrals move the cut on). @return what to do next
 */
enum ost_mirror_step ost_mirror_plan(struct ost_task *t);

/**
 * @return true when a usable mirrored zone holds the data for t->sname (the
 * mirror would answer or refer without asking anyone)
 */
bool ost_mirror_covers(struct ost_task *t);

/** Free the resolver's view of the mirrored zones (r->msnap), its read transactions and
 * the fast path's scratch. */
void ost_mirror_snap_free(struct ost_resolver *r);

/*
 * Shared by the engine's mirror hook (mirror.c) and the worker's fast path
 * (mirror_fast.c): the choice of the zone, its usability and anchoring, the
 * per-resolver read transactions, and the builder of the reply the zone's
 * servers would send. One set of rules, two consumers: the engine turns the
 * builder's records into an ldns packet for the iterator, the fast path
 * writes them straight into an OST_CTAG_MSG payload.
 */

struct ost_zone_rtxn;

/** The mirrored zone chosen for a question (ost_mirror_pick()), and how it may be used. */
struct ost_mpick {
	const char *apex;          /**< its name, presentation form (the snapshot's) */
	const ldns_rdf *apex_name; /**< its name (the snapshot's; valid until the resolver
				      is freed) */
	size_t index;              /**< its index among the mirror's zones */
	unsigned labels;           /**< label count of the apex */
	bool is_extended;          /**< past its SOA expire deadline, operator extension */
	bool is_signed;            /**< its DNSSEC was checked against the resolver's anchors */
	int64_t until;             /**< wall s: end of the current use */
};

/**
 * The deepest usable mirrored zone holding the data for (@p name, @p type)
 * (a DS lives in the parent: the zone must lie strictly above the name).
 * @return true when @p out was filled
 */
bool ost_mirror_pick(struct ost_resolver *r, const ldns_rdf *name, uint16_t type,
		     struct ost_mpick *out);

/**
 * The resolver's own anchors cover @p apex and no negative trust anchor
 * (RFC 7646) applies to it: only then is "verified at import" the verdict
 * the validator would reach.
 */
bool ost_mirror_anchored(struct ost_resolver *r, const ldns_rdf *apex);

/**
 * The resolver's read transaction on the current version of the picked
 * zone: begun on first use, reset by ost_resolver_mirror_release() (the end
 * of the server's loop iteration) and renewed here on the next use, and
 * renewed too once the mirror's data changed (ost_mirror_is_outdated() of
 * the moment it was renewed). Views from it are valid until the release.
 * @param r the resolver
 * @param pk the zone, from ost_mirror_pick()
 * @param out receives the transaction (owned by the resolver)
 * @return 0, -ENOENT (no version), or a store error
 */
int ost_mirror_rtxn(struct ost_resolver *r, const struct ost_mpick *pk, struct ost_zone_rtxn **out);

struct ost_mbuild;
struct ost_zone_rrset_view;

/** Takes one RRset (with its RRSIGs) of the reply being built, for section @p sec. */
typedef void (*ost_mbuild_emit_cb)(struct ost_mbuild *b, ldns_pkt_section sec,
				   const struct ost_zone_rrset_view *v);

/** Most RRsets of one section the builder remembers to leave out duplicates. */
#define OST_MBUILD_SEEN 16

/** Building the reply of one mirrored zone to one question (ost_mirror_build()). */
struct ost_mbuild {
	struct ost_resolver *r;    /**< the resolver (NSEC3 hashing scratch) */
	struct ost_zone_rtxn *txn; /**< the zone's read transaction */
	const ldns_rdf *apex;      /**< the zone's name */
	ost_mbuild_emit_cb emit;   /**< where the records go */
	void *ctx;                 /**< the emitter's argument */
	bool is_final_only; /**< PASS (1) for referrals and CNAME/DNAME links instead of building
			       them: the fast path answers final answers only */
	bool is_referral;   /**< out: the reply is a referral (AA clear) */
	bool is_opt_out;    /**< out: the denial rests on an NSEC3 opt-out span */
	uint8_t rcode;      /**< out: the reply's RCODE */
	int err;            /**< first error of an emitter or a lookup */
	/** RRsets emitted (owner in the store, type): one NSEC3 can be both closest encloser
	 * and wildcard cover, and is sent once. */
	struct {
		const uint8_t *owner; /**< owner wire (in the transaction) */
		size_t owner_len;     /**< its length */
		uint16_t type;        /**< the RRset's type */
		uint8_t sec;          /**< its section */
	} seen[OST_MBUILD_SEEN];
	unsigned n_seen; /**< entries of @p seen */
};

/**
 * Build the authoritative reply of zone @p b->apex for (@p name, @p type):
 * the records go to @p b->emit in the order the zone's servers would send
 * them (answer, then authority: denial proofs then the SOA, then glue).
 * @return 0 (reply complete, b->rcode set), 1 (PASS: not answerable from the
 *         mirror, or not a final answer with b->is_final_only), or an error
 */
int ost_mirror_build(struct ost_mbuild *b, const ldns_rdf *name, uint16_t type);

/** Free the fast path's scratch (r->mfast; mirror_fast.c). */
void ost_mirror_fast_free(struct ost_resolver *r);

/* ---- answer.c ---- */

/** Write an OST_CTAG_MSG payload's header and question name at @p p (its
 *  @p counts of records per section, @p n in all). @return where the
 *  descriptors start: OST_MSG_HDR_LEN + @p qname_len */
size_t ost_msg_put_head(uint8_t *p, uint8_t rcode, const uint8_t *qname, size_t qname_len,
			uint16_t qtype, uint16_t qclass, const uint16_t counts[3], uint16_t n);
/** Write the descriptor @p d of one record: its offset and length among the
 *  records, its type, section (0..2) and owner name length. */
void ost_msg_put_desc(uint8_t *d, size_t off, size_t len, uint16_t type, uint8_t sec,
		      uint8_t owner_len);

/** Encode the OST_CTAG_MSG payload of a final result into @p a; @p min_ttl
 * receives the smallest TTL (SOA MINIMUM counted for negatives). @return 0 or error */
int ost_msg_encode(const ldns_rdf *qname, uint16_t qtype, uint16_t qclass, uint8_t rcode,
		   const ldns_rr_list *an, const ldns_rr_list *ns, const ldns_rr_list *ar,
		   struct ost_arena *a, uint8_t **out, uint32_t *len, uint32_t *min_ttl);
/** Decode an OST_CTAG_MSG payload into @p an, @p ns, @p ar (records keep the
 * TTLs they were stored with). @return 0, OST_EMALFORMED or -ENOMEM */
int ost_msg_decode(const struct ost_cache_entry *e, uint8_t *rcode, ldns_rr_list *an,
		   ldns_rr_list *ns, ldns_rr_list *ar);

#endif
