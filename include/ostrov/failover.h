/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file failover.h
 * The failover state machine (standards.md §7): LOADING, NORMAL, DEGRADED,
 * ISOLATED, MIRROR-EXPIRED and RECOVERING, driven by active probes, passive
 * outcomes of the resolver's own upstream queries, mirror horizons and
 * operator commands; plus the serve-stale (RFC 8767) and failure-cache
 * (RFC 9520) policy helpers the resolver applies in each state.
 *
 * Worked example. ostrovd creates the machine with ost_fo_new() on its main
 * loop's clock, hands it to the probe scheduler (probe part below) and to
 * the drill transport, whose faces report every finished upstream query
 * (passive signal). The zones module reports the root mirror with
 * ost_fo_feed_mirror() and, once verified, posts OST_FO_EV_MIRROR_READY:
 * LOADING -> NORMAL. Every 3 s (±20 %) each probe target is asked for its
 * SOA (up to 3 tries of 750 ms); each result lands in a 1-second bucket with
 * ost_fo_feed_probe(). Every 2 s the machine evaluates the last 10 s: the
 * foreign cable is cut, so R_root and R_foreign fall under 0.5 for three
 * evaluations (NORMAL -> DEGRADED, ~10 s after the cut) and under 0.15 / 0.1
 * for three (DEGRADED -> ISOLATED, ~20 s, after the 10 s rate limit). Each
 * edge writes one JSON record (ost_log_json) with the evidence and bumps a
 * counter. A worker answering "www.example.com A" calls
 * ost_fo_policy(fo, OST_FO_NAME_FOREIGN, NULL, &pol): may_query_foreign is
 * false and serve_stale_immediately true, so it answers from the cache with
 * ost_stale_decide() (stale TTL 30, EDE 3) or, with nothing cached,
 * ost_fo_uncached() says SERVFAIL + EDE 22 at once, cached for
 * ost_failcache_ttl() seconds.
 *
 * Thread safety: all functions may be called from any thread (one mutex per
 * machine); the evaluation timer runs on the clock's thread. The listener
 * is called without the mutex held.
 */
#ifndef OSTROV_FAILOVER_H
#define OSTROV_FAILOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ostrov/clock.h"
#include "ostrov/error.h"
#include "ostrov/transport.h"

/*
 * ---------------------------------------------------------------------------
 * Text output buffer (shared by failover, drill and control writers)
 * ---------------------------------------------------------------------------
 */

/** A growable, always NUL-terminated text buffer on the heap. */
struct ost_buf {
	char *s;      /**< the text, NULL until the first append */
	size_t len;   /**< length without the NUL */
	size_t cap;   /**< allocated bytes */
	bool has_oom; /**< an append failed; the text is truncated */
};

/**
 * Append formatted text.
 * @param b the buffer
 * @param fmt printf format
 * @return 0 or -ENOMEM (then has_oom is set)
 */
OST_EXPORT int ost_buf_printf(struct ost_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * Append @p s as a JSON string literal (quotes included, control bytes escaped).
 * @param b the buffer
 * @param s the text (NULL is written as null)
 * @return 0 or -ENOMEM
 */
OST_EXPORT int ost_buf_json_str(struct ost_buf *b, const char *s);

/** @return the text of @p b, "" when empty */
OST_EXPORT const char *ost_buf_str(const struct ost_buf *b);

/** Release the memory of @p b and empty it. */
OST_EXPORT void ost_buf_deinit(struct ost_buf *b);

/*
 * ---------------------------------------------------------------------------
 * States and events
 * ---------------------------------------------------------------------------
 */

/** States of the failover machine, ordered from healthy to critical (as Redis's repl_state). */
enum ost_fo_state {
	/** Start: mirrors are loaded and re-verified; normal recursion with root hints meanwhile.
	 *  Waits for OST_FO_EV_MIRROR_READY or _MIRROR_FAILED (or an operator isolate). */
	OST_FO_LOADING = 0,
	/** Healthy: full recursion, local root from the verified mirror, RFC 8767 defaults.
	 *  Waits for the DEGRADED trigger or an operator isolate. */
	OST_FO_NORMAL,
	/** Root or foreign authorities mostly unreachable: stale after the 1.8 s client timer.
	 *  Waits for sustained health (-> NORMAL) or the ISOLATED trigger. */
	OST_FO_DEGRADED,
	/** Cut off: root and national names from mirrors and national servers, foreign names
	 *  from cache and stale (up to 3 d), unknown foreign names SERVFAIL + EDE 22 at once.
	 *  Waits for sustained reachability (-> RECOVERING) or a mirror past its deadline. */
	OST_FO_ISOLATED,
	/** Cut off and a mirror is past its SOA expire deadline (or its RRSIG horizon - margin):
	 *  the mirror is withdrawn unless the operator extended it. Waits for a fresh mirror
	 *  (-> ISOLATED) or reachability (-> RECOVERING). */
	OST_FO_MIRROR_EXPIRED,
	/** Reachable again after isolation: mirrors refreshed first, stale entries revalidated
	 *  at a limited rate. Waits for sustained health with fresh mirrors (-> NORMAL) or the
	 *  ISOLATED trigger again. */
	OST_FO_RECOVERING,
	OST_FO_STATE_COUNT,
};

/** Events the machine consumes; each (state, event) pair has at most one table row. */
enum ost_fo_event {
	OST_FO_EV_MIRROR_READY = 0, /**< the mirrors loaded at start verified */
	OST_FO_EV_MIRROR_FAILED,    /**< mirror verification at start failed (alarm) */
	OST_FO_EV_DEGRADE,          /**< window trigger: partial reachability */
	OST_FO_EV_ISOLATE_DETECTED, /**< window trigger: root and foreign unreachable */
	OST_FO_EV_REACHABLE,        /**< window trigger: sustained reachability after isolation */
	OST_FO_EV_HEALTHY,          /**< window trigger: sustained health */
	OST_FO_EV_MIRROR_EXPIRED,   /**< a mirror passed its usable horizon */
	OST_FO_EV_MIRROR_FRESH,     /**< every mirror usable again (refreshed and verified) */
	OST_FO_EV_OP_ISOLATE,       /**< operator: force ISOLATED */
	OST_FO_EV_OP_UNISOLATE,     /**< operator: leave a forced or detected isolation */
	OST_FO_EV_COUNT,
};

/** Classes of probe and upstream destinations. */
enum ost_fo_class {
	OST_FO_ROOT = 0, /**< root server addresses */
	OST_FO_FOREIGN,  /**< foreign TLD and other foreign authorities */
	OST_FO_NATIONAL, /**< national authorities (and national mirror sources) */
	OST_FO_CLASS_COUNT,
};

/** Classes of query names, for the policy. */
enum ost_fo_name_class {
	OST_FO_NAME_ROOT = 0, /**< the root zone itself (TLD referrals, DS, NXDOMAIN) */
	OST_FO_NAME_NATIONAL, /**< names under a national zone */
	OST_FO_NAME_FOREIGN,  /**< everything else */
	OST_FO_NAME_CLASS_COUNT,
};

/** @return the log name of @p s ("NORMAL", "MIRROR-EXPIRED" ...), "?" when out of range */
OST_EXPORT const char *ost_fo_state_str(enum ost_fo_state s);
/** @return the log name of @p e ("degrade", "op-isolate" ...), "?" when out of range */
OST_EXPORT const char *ost_fo_event_str(enum ost_fo_event e);
/** @return the log name of @p c ("root", "foreign", "national"), "?" when out of range */
OST_EXPORT const char *ost_fo_class_str(enum ost_fo_class c);

/*
 * ---------------------------------------------------------------------------
 * Configuration
 * ---------------------------------------------------------------------------
 */

/**
 * Thresholds and timers. Every field is configurable; the defaults
 * (ost_fo_config_default()) were chosen so that, with 3 targets per class
 * probed every 3 s ± 20 % (up to 3 tries of 750 ms), a full foreign cut
 * reaches ISOLATED in 20-22 s (test: <= 30 s over 50 seeds) and 30 % random
 * foreign loss causes no transition in 10 minutes (tests: 100 seeds with
 * simulated probes, 3 end to end). The 60 s windows of standards.md §7.1
 * would take 3+ minutes to detect.
 */
struct ost_fo_config {
	uint32_t bucket_ms;           /**< sample bucket width (1000) */
	uint32_t window_ms;           /**< sliding evaluation window (10000), <= 60 buckets */
	uint32_t eval_ms;             /**< evaluation period (2000) */
	uint32_t min_transition_ms;   /**< rate limit of automatic transitions (10000) */
	double degrade_below;         /**< R_root or R_foreign < this ... (0.5) */
	double degrade_passive_above; /**< ... or passive foreign failure share > this (0.6) */
	unsigned passive_min_samples; /**< passive share ignored below this many samples (50) */
	unsigned degrade_evals;       /**< ... for this many consecutive evaluations (2) */
	double isolate_root_max;      /**< R_root <= this ... (0.15) */
	double isolate_foreign_max;   /**< ... and R_foreign <= this ... (0.10) */
	unsigned isolate_evals;       /**< ... for this many consecutive evaluations (3) */
	unsigned probe_min_samples;  /**< fewer probe results: "no data" (4; configure >= 3 targets)
				      */
	double healthy_min;          /**< healthy: R_root and R_foreign >= this ... (0.75) */
	double healthy_passive_max;  /**< ... and passive failure share <= this (0.4) */
	unsigned healthy_evals;      /**< DEGRADED -> NORMAL after this many (30 = 60 s) */
	double reachable_min;        /**< reachable: R_root and R_foreign >= this (0.5) */
	unsigned reachable_evals;    /**< ISOLATED -> RECOVERING after this many (30 = 60 s) */
	unsigned recovered_evals;    /**< RECOVERING -> NORMAL after this many healthy (60) */
	uint32_t rrsig_margin_s;     /**< mirror unusable at rrsig_horizon - this (86400) */
	uint32_t max_extend_s;       /**< longest single mirror extension (7 d) */
	uint32_t stale_max_normal_s; /**< serve-stale limit outside isolation (86400) */
	uint32_t stale_max_isolated_s; /**< serve-stale limit in isolation (3 d) */
	uint32_t client_timer_ms;      /**< RFC 8767 client response timer (1800) */
	double recheck_per_s;          /**< foreign rechecks while isolated, token rate (5) */
	double recheck_burst;          /**< token bucket depth (20) */
};

/** Fill @p cfg with the defaults documented on each field. */
OST_EXPORT void ost_fo_config_default(struct ost_fo_config *cfg);

/**
 * Set one field by name, for the daemon's config reader: the key is the field
 * name in kebab-case ("degrade-below", "window-ms"), the value its text.
 * Call ost_fo_config_check() once all keys are set.
 * @param cfg the configuration
 * @param key the key
 * @param value the value
 * @param err receives "KEY: bad value 'V' (why)" or "unknown key 'K'"
 * @param errlen size of @p err
 * @return 0, -ENOENT for an unknown key, -EINVAL for a bad value
 */
OST_EXPORT int ost_fo_config_set(struct ost_fo_config *cfg, const char *key, const char *value,
				 char *err, size_t errlen) OST_WUR;

/**
 * Check a configuration for values that cannot work.
 * @param cfg the configuration
 * @param err receives a message on failure
 * @param errlen size of @p err
 * @return 0 or -EINVAL
 */
OST_EXPORT int ost_fo_config_check(const struct ost_fo_config *cfg, char *err, size_t errlen);

/*
 * ---------------------------------------------------------------------------
 * Life cycle and inputs
 * ---------------------------------------------------------------------------
 */

struct ost_fo;

/** One transition, as passed to the listener. */
struct ost_fo_transition {
	enum ost_fo_state from;    /**< old state */
	enum ost_fo_state to;      /**< new state */
	enum ost_fo_event ev;      /**< the event */
	const char *reason;        /**< the trigger expression */
	const char *operator_name; /**< who, for operator commands, else NULL */
	uint64_t mono_ms;          /**< when */
	int64_t wall_s;            /**< when, wall clock */
};

/**
 * Called after every transition, without the machine's lock held (so it may
 * read the machine, e.g. ost_fo_state()).
 */
typedef void (*ost_fo_listener_cb)(const struct ost_fo_transition *t, void *arg);

/**
 * Create a machine in LOADING and arm its evaluation timer.
 * @param cfg configuration (copied); NULL for the defaults
 * @param clock the clock (borrowed; must outlive the machine)
 * @param out receives the machine
 * @return 0, -EINVAL for a bad configuration, -ENOMEM
 */
OST_EXPORT int ost_fo_new(const struct ost_fo_config *cfg, const struct ost_clock *clock,
			  struct ost_fo **out) OST_WUR;

/**
 * Replace the thresholds and timers of a running machine (a configuration
 * reload). The state, its duration, the consecutive-evaluation counters, the
 * evidence windows and the mirrors are kept; samples are kept unless
 * bucket_ms changes (then the window refills); a changed eval_ms starts a
 * new evaluation period at once. Call on the thread that runs the machine's
 * timers.
 * @param fo the machine
 * @param cfg the new settings (copied)
 * @return 0, or -EINVAL when ost_fo_config_check() refuses them (nothing changes)
 */
OST_EXPORT int ost_fo_set_config(struct ost_fo *fo, const struct ost_fo_config *cfg) OST_WUR;

/**
 * @param fo the machine
 * @param out receives the settings it runs with
 */
OST_EXPORT void ost_fo_get_config(struct ost_fo *fo, struct ost_fo_config *out);

/** Stop the timer and release @p fo (NULL is allowed). */
OST_EXPORT void ost_fo_free(struct ost_fo *fo);

/** Most listeners per machine. */
#define OST_FO_MAX_LISTENERS 4

/**
 * Add a listener (the daemon's metrics, a drill's report collector ...).
 * @return 0 or -ENOSPC when OST_FO_MAX_LISTENERS are registered
 */
OST_EXPORT int ost_fo_add_listener(struct ost_fo *fo, ost_fo_listener_cb cb, void *arg) OST_WUR;

/** Remove the listener registered with exactly @p cb and @p arg (no-op when absent). */
OST_EXPORT void ost_fo_remove_listener(struct ost_fo *fo, ost_fo_listener_cb cb, void *arg);

/**
 * Record the result of one probe (after its retries).
 * @param fo the machine
 * @param cls the target's class
 * @param is_ok it answered correctly
 */
OST_EXPORT void ost_fo_feed_probe(struct ost_fo *fo, enum ost_fo_class cls, bool is_ok);

/**
 * Record the outcome of one upstream query the resolver sent (passive signal).
 * @param fo the machine
 * @param cls the destination's class
 * @param is_ok an answer arrived (any rcode); false for timeouts and network errors
 */
OST_EXPORT void ost_fo_feed_passive(struct ost_fo *fo, enum ost_fo_class cls, bool is_ok);

/** Horizons of one mirrored zone. */
struct ost_fo_mirror {
	char zone[256];              /**< zone name, presentation format ("." for the root) */
	uint32_t serial;             /**< SOA serial of the verified copy */
	int64_t soa_expire_deadline; /**< wall s: last refresh + SOA expire (RFC 8806 §3) */
	int64_t rrsig_horizon;       /**< wall s: earliest RRSIG expiry of the copy */
	int64_t extended_until;      /**< wall s: operator extension end, 0 when none */
	bool is_verified;            /**< the copy passed ZONEMD + DNSSEC verification */
};

/** Most mirrors tracked. */
#define OST_FO_MAX_MIRRORS 8

/**
 * Report the current horizons of a mirror (add or update by zone name). An
 * operator extension is kept while the serial stays the same.
 * @param fo the machine
 * @param zone the zone name
 * @param serial its serial
 * @param soa_expire_deadline wall seconds
 * @param rrsig_horizon wall seconds
 * @param is_verified whether the copy is verified
 * @return 0, -EINVAL for a bad name, -ENOSPC when OST_FO_MAX_MIRRORS are tracked
 */
OST_EXPORT int ost_fo_feed_mirror(struct ost_fo *fo, const char *zone, uint32_t serial,
				  int64_t soa_expire_deadline, int64_t rrsig_horizon,
				  bool is_verified) OST_WUR;

/**
 * Post an event (zones module: MIRROR_READY/FAILED; operator: the OP_ events;
 * tests: any). Illegal events are logged and rejected.
 * @param fo the machine
 * @param ev the event
 * @param operator_name who asked (operator events), or NULL
 * @return 0 after a transition; -EINVAL for an event illegal in the current
 *         state; -EALREADY for isolate when already isolated; -EAGAIN when a
 *         guard holds it back (rate limit, forced isolation) and nothing changed
 */
OST_EXPORT int ost_fo_event(struct ost_fo *fo, enum ost_fo_event ev,
			    const char *operator_name) OST_WUR;

/** Operator `isolate`: ost_fo_event(OST_FO_EV_OP_ISOLATE); sticky until unisolate. */
OST_EXPORT int ost_fo_isolate(struct ost_fo *fo, const char *operator_name) OST_WUR;

/** Operator `unisolate`: -EINVAL with a clear log when not isolated; else -> RECOVERING. */
OST_EXPORT int ost_fo_unisolate(struct ost_fo *fo, const char *operator_name) OST_WUR;

/**
 * Operator `mirror extend ZONE DURATION`: keep serving a mirror past its SOA
 * expire deadline, until min(now + duration, rrsig_horizon - rrsig_margin_s).
 * Every answer from an extended mirror carries EDE 3 (policy.mirror_extended_ede).
 * @param fo the machine
 * @param zone the mirror's zone
 * @param duration_s requested length (1 .. max_extend_s)
 * @param operator_name who asked
 * @param until receives the granted end (wall s), may be NULL
 * @return 0; -ENOENT unknown zone; -EINVAL bad duration; -EPERM for an
 *         unverified copy; OST_ELIMIT when nothing is left before the RRSIG
 *         horizon margin
 */
OST_EXPORT int ost_fo_extend_mirror(struct ost_fo *fo, const char *zone, uint32_t duration_s,
				    const char *operator_name, int64_t *until) OST_WUR;

/**
 * Tag logs and evidence with a drill (NULL ends the tag). Used by drill.c.
 * @param fo the machine
 * @param drill_id the id (copied), or NULL
 */
OST_EXPORT void ost_fo_set_drill(struct ost_fo *fo, const char *drill_id);

/**
 * Run one evaluation now (the timer does this every eval_ms). Exposed for
 * tests and for a daemon that drives evaluation itself.
 */
OST_EXPORT void ost_fo_evaluate(struct ost_fo *fo);

/*
 * ---------------------------------------------------------------------------
 * Outputs: state, policy, status
 * ---------------------------------------------------------------------------
 */

/** @return the current state (lock-free) */
OST_EXPORT enum ost_fo_state ost_fo_state(const struct ost_fo *fo);

/** How a mirror may be used now. */
enum ost_fo_mirror_use {
	OST_FO_MIRROR_USE = 0,   /**< verified and before its deadline: serve it */
	OST_FO_MIRROR_EXTENDED,  /**< past its deadline, served under an operator extension + EDE 3
				  */
	OST_FO_MIRROR_WITHDRAWN, /**< not usable: SERVFAIL + EDE 22 for root-level questions */
	OST_FO_MIRROR_UNKNOWN,   /**< no such mirror is tracked */
};

/** What the resolver may do for one question, in the current state. */
struct ost_fo_policy {
	enum ost_fo_state state;       /**< the state the policy was taken in */
	bool may_query_foreign;        /**< send to foreign authorities (beyond rechecks) */
	bool serve_stale_immediately;  /**< answer stale without waiting for the client timer */
	bool servfail_unknown_at_once; /**< nothing cached: SERVFAIL + EDE 22 without trying */
	uint32_t client_timer_ms;      /**< RFC 8767 client response timer otherwise */
	uint32_t stale_max_age_s;      /**< longest staleness served */
	enum ost_fo_mirror_use mirror; /**< for the mirror asked about */
	bool mirror_extended_ede;      /**< add EDE 3 "mirror past SOA expire" to the answer */
	bool is_drill;                 /**< a drill is running (tag metrics) */
	bool is_refresh_limited;       /**< take ost_fo_recheck_allow() before refreshing stale data
					    (ISOLATED, MIRROR-EXPIRED, RECOVERING) */
};

/** EXTRA-TEXT of the EDE 3 on answers from an extended mirror (standards.md §7.2). */
#define OST_FO_EXTENDED_EDE_TEXT "mirror past SOA expire (operator extension)"

/**
 * The policy for a question.
 * @param fo the machine
 * @param name_class class of the question's name
 * @param mirror_zone the mirror the answer would come from, or NULL
 * @param out receives the policy
 */
OST_EXPORT void ost_fo_policy(struct ost_fo *fo, enum ost_fo_name_class name_class,
			      const char *mirror_zone, struct ost_fo_policy *out);

/**
 * Take one recheck token: while isolated, a refresh of one foreign name may
 * be sent only when this returns true (rate limit on top of the failure cache).
 * @return true when a recheck may be sent now
 */
OST_EXPORT bool ost_fo_recheck_allow(struct ost_fo *fo);

/** One evaluated window. */
struct ost_fo_window {
	uint64_t mono_ms;                        /**< evaluation time */
	double r[OST_FO_CLASS_COUNT];            /**< probe success share, -1 when no data */
	unsigned n[OST_FO_CLASS_COUNT];          /**< probe results in the window */
	double passive_fail[OST_FO_CLASS_COUNT]; /**< passive failure share, -1 when no data */
	unsigned passive_n[OST_FO_CLASS_COUNT];  /**< passive outcomes in the window */
};

/** Windows kept as evidence. */
#define OST_FO_EVIDENCE 3

/** A snapshot for `ostrovctl status` and metrics. */
struct ost_fo_status {
	enum ost_fo_state state;               /**< current state */
	uint64_t in_state_ms;                  /**< time since it was entered */
	uint64_t state_ms[OST_FO_STATE_COUNT]; /**< total time per state, current included */
	uint64_t transitions[OST_FO_STATE_COUNT][OST_FO_STATE_COUNT]; /**< counts per edge */
	uint64_t illegal_events;                               /**< events rejected as illegal */
	bool is_forced;                                        /**< operator isolation in force */
	char drill_id[64];                                     /**< running drill, "" when none */
	char last_reason[128];                                 /**< reason of the last transition */
	struct ost_fo_window windows[OST_FO_EVIDENCE];         /**< newest first */
	unsigned n_windows;                                    /**< valid entries of @p windows */
	struct ost_fo_mirror mirrors[OST_FO_MAX_MIRRORS];      /**< tracked mirrors */
	unsigned n_mirrors;                                    /**< valid entries of @p mirrors */
	enum ost_fo_mirror_use mirror_use[OST_FO_MAX_MIRRORS]; /**< how each may be used now */
	int64_t wall_s;                                        /**< wall clock of the snapshot */
	struct ost_fo_config cfg; /**< the settings it runs with (a reload may change them) */
};

/** Fill @p out with a snapshot of @p fo. */
OST_EXPORT void ost_fo_status(struct ost_fo *fo, struct ost_fo_status *out);

/**
 * Write the status as text (for people) or as one JSON object.
 * @param fo the machine
 * @param is_json JSON instead of text
 * @param b receives the output (appended)
 * @return 0 or -ENOMEM
 */
OST_EXPORT int ost_fo_status_write(struct ost_fo *fo, bool is_json, struct ost_buf *b) OST_WUR;

/*
 * ---------------------------------------------------------------------------
 * Serve-stale (RFC 8767) and failure caching (RFC 9520): pure helpers
 * ---------------------------------------------------------------------------
 */

/** RFC 8767 §4: TTL of a stale answer. */
#define OST_STALE_ANSWER_TTL 30
/** RFC 8767 §5: failed refreshes retried no more often than this. */
#define OST_STALE_RECHECK_S  30
/** RFC 9520 §3.2: shortest cached failure. */
#define OST_FAILCACHE_MIN_S  1
/** RFC 9520 §3.2: longest cached failure. */
#define OST_FAILCACHE_MAX_S  300

/** What to do with a cache entry. */
enum ost_stale_verdict {
	OST_STALE_FRESH = 0, /**< unexpired: serve with its remaining TTL */
	OST_STALE_SERVE,     /**< expired within the stale limit: TTL 30 and EDE 3 / 19 */
	OST_STALE_REFUSE,    /**< too old: do not serve */
};

/** The decision for one entry. */
struct ost_stale_decision {
	enum ost_stale_verdict verdict; /**< the verdict */
	uint32_t ttl;                   /**< TTL to put in the answer (0 for REFUSE) */
	uint16_t ede;                   /**< 0, 3 (Stale Answer) or 19 (Stale NXDOMAIN Answer) */
	uint32_t stale_age_s;           /**< seconds past expiry (0 when fresh) */
};

/**
 * Decide how a cache entry may be served (RFC 8767 §4, §5).
 * @param expires_at wall s when its TTL ran out
 * @param now wall s now
 * @param stale_max_age_s the policy's limit (ost_fo_policy.stale_max_age_s)
 * @param is_nxdomain the entry is an NXDOMAIN (EDE 19 instead of 3)
 * @param out receives the decision
 */
OST_EXPORT void ost_stale_decide(int64_t expires_at, int64_t now, uint32_t stale_max_age_s,
				 bool is_nxdomain, struct ost_stale_decision *out);

/**
 * RFC 9520 §3.2 failure-cache TTL with exponential backoff: 1 s for the
 * first failure, doubling for each consecutive one, at most 300 s.
 * @param consecutive failures of this question in a row (0 is treated as 1)
 * @return seconds to cache the failure, in [1, 300]
 */
OST_EXPORT uint32_t ost_failcache_ttl(unsigned consecutive);

/**
 * EDE for a SERVFAIL when nothing can be served: 22 (No Reachable Authority)
 * when every server timed out or was never asked (isolation), 23 (Network
 * Error) when the network reported errors (refused, unreachable).
 * @param last_status the last transport status (0 when nothing was sent)
 * @return 22 or 23
 */
OST_EXPORT uint16_t ost_failure_ede(int last_status);

/** What to do for a question with nothing usable in the cache. */
struct ost_uncached_decision {
	bool is_resolve;      /**< resolve it (send queries) */
	bool is_servfail_now; /**< answer SERVFAIL at once, without sending anything */
	uint16_t ede;         /**< EDE for that SERVFAIL (22) */
	uint32_t cache_ttl_s; /**< cache the failure this long (RFC 9520) */
};

/**
 * Decide for a question with no fresh or stale answer in the cache. In
 * isolation a foreign name is answered SERVFAIL + EDE 22 at once (never after
 * timeouts, never an NXDOMAIN: the name may well exist abroad) and the
 * failure is cached with backoff; a recheck is sent only when
 * @p recheck_allowed (ost_fo_recheck_allow()). Otherwise it is resolved.
 * @param pol the policy from ost_fo_policy()
 * @param consecutive failures of this question so far (failure cache)
 * @param recheck_allowed a recheck token was taken
 * @param out receives the decision
 */
OST_EXPORT void ost_fo_uncached(const struct ost_fo_policy *pol, unsigned consecutive,
				bool recheck_allowed, struct ost_uncached_decision *out);

/*
 * ---------------------------------------------------------------------------
 * Active probes (resilience/probe.c)
 * ---------------------------------------------------------------------------
 */

/** Probe scheduler settings. */
struct ost_probe_config {
	uint32_t interval_ms; /**< mean time between probes of one target (3000) */
	double jitter;        /**< ± share of the interval, uniform (0.2) */
	uint32_t timeout_ms;  /**< per try (750) */
	unsigned tries;       /**< tries per probe, RFC 9520 §3.1 allows 3 (3) */
	unsigned tcp_every;   /**< every Nth probe of a target over TCP, 0 = never (6) */
};

/** Fill @p cfg with the defaults documented on each field. */
OST_EXPORT void ost_probe_config_default(struct ost_probe_config *cfg);

/**
 * Set one field by name ("interval-ms", "jitter", "timeout-ms", "tries",
 * "tcp-every"); as ost_fo_config_set(). ost_probe_new() checks the whole.
 * @return 0, -ENOENT for an unknown key, -EINVAL for a bad value
 */
OST_EXPORT int ost_probe_config_set(struct ost_probe_config *cfg, const char *key,
				    const char *value, char *err, size_t errlen) OST_WUR;

/**
 * Check probe settings as ost_probe_new() does: tries 1..3, and all tries of
 * one probe (tries x timeout-ms) fit in the shortest interval
 * (interval-ms x (1 - jitter)).
 * @param cfg the settings
 * @param err receives the reason on failure
 * @param errlen size of @p err
 * @return 0 or -EINVAL
 */
OST_EXPORT int ost_probe_config_check(const struct ost_probe_config *cfg, char *err,
				      size_t errlen) OST_WUR;

/** Counters of one probe target. */
struct ost_probe_stats {
	char addr[64];         /**< "ADDR@PORT" */
	enum ost_fo_class cls; /**< its class */
	char qname[256];       /**< probe question name */
	uint16_t qtype;        /**< SOA or NS */
	uint64_t probes;       /**< probes finished */
	uint64_t ok;           /**< of which answered correctly */
	uint64_t tries;        /**< queries sent (retries included) */
	uint64_t spoofed;      /**< packets rejected (wrong ID or question) */
	uint32_t last_rtt_ms;  /**< RTT of the last good answer */
	bool is_up;            /**< the last probe succeeded */
};

struct ost_probe;

/**
 * Create a scheduler. Probes are sent through @p tp (in ostrovd: the drill
 * transport's probe face, so drills affect probes) and fed to @p fo.
 * @param cfg settings (copied), NULL for defaults
 * @param clock the clock (borrowed)
 * @param tp the transport (borrowed)
 * @param fo the machine fed with results (borrowed)
 * @param seed seed of the ID / jitter generator (ostrovd: from getrandom)
 * @param out receives the scheduler
 * @return 0, -EINVAL (tries x timeout must fit in the shortest interval), -ENOMEM
 */
OST_EXPORT int ost_probe_new(const struct ost_probe_config *cfg, const struct ost_clock *clock,
			     const struct ost_transport *tp, struct ost_fo *fo, uint64_t seed,
			     struct ost_probe **out) OST_WUR;

/**
 * Add a target (before or after start).
 * @param p the scheduler
 * @param sa server address with port
 * @param salen its length
 * @param cls its class
 * @param qname question ("." for root servers, "com." for a TLD server)
 * @param qtype LDNS_RR_TYPE_SOA (6) or LDNS_RR_TYPE_NS (2)
 * @return 0, -EINVAL (bad name, type or address), -ENOMEM
 */
OST_EXPORT int ost_probe_add(struct ost_probe *p, const struct sockaddr *sa, socklen_t salen,
			     enum ost_fo_class cls, const char *qname, uint16_t qtype) OST_WUR;

/** Start probing: each target's first probe at a random point of one interval. @return 0 or -ENOMEM
 */
OST_EXPORT int ost_probe_start(struct ost_probe *p) OST_WUR;

/**
 * Replace the timing of a running scheduler (a configuration reload): probes
 * in flight finish as sent; with a new interval every waiting target's next
 * probe is re-armed within one new interval. Targets are unchanged.
 * @param p the scheduler
 * @param cfg the new settings (copied)
 * @return 0, -EINVAL when ost_probe_config_check() refuses them (nothing
 *         changes), -ENOMEM (a target could not be re-armed)
 */
OST_EXPORT int ost_probe_set_config(struct ost_probe *p,
				    const struct ost_probe_config *cfg) OST_WUR;

/** Stop: disarm timers and cancel queries in flight (results are not fed). */
OST_EXPORT void ost_probe_stop(struct ost_probe *p);

/** Stop and release (NULL allowed). */
OST_EXPORT void ost_probe_free(struct ost_probe *p);

/** @return number of targets */
OST_EXPORT size_t ost_probe_count(const struct ost_probe *p);

/**
 * Counters of target @p i.
 * @return 0 or -ENOENT
 */
OST_EXPORT int ost_probe_stats(const struct ost_probe *p, size_t i,
			       struct ost_probe_stats *out) OST_WUR;

/**
 * Write every target's counters as text or a JSON array.
 * @return 0 or -ENOMEM
 */
OST_EXPORT int ost_probe_write(const struct ost_probe *p, bool is_json, struct ost_buf *b) OST_WUR;

#endif
