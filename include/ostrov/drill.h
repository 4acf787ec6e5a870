/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file drill.h
 * Isolation drills (brief.md item 6, standards.md §8): a wrapping transport
 * that simulates unreachable destinations inside the resolver, the drill
 * life cycle with its abort guard, and the report collector.
 *
 * Worked example. ostrovd builds the real transport (server/upstream.c),
 * wraps it with ost_drill_new(), and gives ost_drill_transport() to the
 * resolver and ost_drill_probe_transport() to the probe scheduler. With no
 * drill running both faces pass every query through; the resolver face
 * also reports each finished query to the failover machine (passive signal).
 * `ostrovctl drill start foreign-cut --duration 600` calls ost_drill_start():
 * from then on a query to 127.53.1.1 (classified FOREIGN_TLD by the
 * destination map) never reaches the network; after its timeout the engine
 * gets -ETIMEDOUT, exactly as for a swallowed packet, while queries to
 * national servers pass. Probes fail the same way, the failover machine
 * walks NORMAL -> DEGRADED -> ISOLATED on its own, and the collector notes
 * the times. Each client answer is recorded with ost_drill_record_answer()
 * (name class, source, rcode, EDE, latency). `drill stop` ends the
 * simulation; when the machine is back in NORMAL the recovery time is known,
 * and `drill report` prints the table or the JSON.
 *
 * Thread safety: every function may be called from any thread, but each
 * face (a wrapped transport) is used on its own loop's thread, and the drill
 * timers (duration, abort guard) run on the controller's clock: start and
 * stop from the control thread go through the control executor (control.h).
 */
#ifndef OSTROV_DRILL_H
#define OSTROV_DRILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ostrov/clock.h"
#include "ostrov/error.h"
#include "ostrov/failover.h"
#include "ostrov/transport.h"

/** Classes of upstream destinations, finer than the failover classes. */
enum ost_dest_class {
	OST_DEST_ROOT = 0,      /**< root server addresses */
	OST_DEST_FOREIGN_TLD,   /**< foreign TLD servers (com, org, net ...) */
	OST_DEST_FOREIGN,       /**< any other foreign server (the default) */
	OST_DEST_NATIONAL,      /**< national authorities */
	OST_DEST_MIRROR_SOURCE, /**< national mirror distribution sources (reachable in a cut) */
	OST_DEST_CLASS_COUNT,
};

/** @return "root", "foreign-tld", "foreign", "national", "mirror-source" or "?" */
OST_EXPORT const char *ost_dest_class_str(enum ost_dest_class c);

/** @return the failover class of @p c (root; foreign for both foreign kinds; national) */
OST_EXPORT enum ost_fo_class ost_dest_fo_class(enum ost_dest_class c);

/** Most prefixes in a destination map. */
#define OST_DEST_MAX_PREFIXES 64

/** One prefix of a destination map. */
struct ost_dest_prefix {
	int family;              /**< AF_INET or AF_INET6 */
	uint8_t len;             /**< prefix length in bits */
	uint8_t bytes[16];       /**< network, host bits cleared */
	enum ost_dest_class cls; /**< class of addresses inside */
};

/** Address -> class map; the longest matching prefix wins, else OST_DEST_FOREIGN. */
struct ost_dest_map {
	struct ost_dest_prefix v[OST_DEST_MAX_PREFIXES]; /**< the prefixes */
	size_t n;                                        /**< how many */
};

/**
 * Add "ADDR/LEN" or a bare address.
 * @return 0, -EINVAL for bad text, -ENOSPC when full
 */
OST_EXPORT int ost_dest_map_add(struct ost_dest_map *m, const char *cidr,
				enum ost_dest_class cls) OST_WUR;

/** @return the class of @p sa (IPv4-mapped IPv6 is matched as IPv4) */
OST_EXPORT enum ost_dest_class ost_dest_map_classify(const struct ost_dest_map *m,
						     const struct sockaddr *sa);

/** Drill profiles (standards.md §8: P1, P2, P3, P8). */
enum ost_drill_profile {
	OST_DRILL_FOREIGN_CUT = 0, /**< everything but national servers and mirror sources cut */
	OST_DRILL_FOREIGN_LOSS,    /**< a share of queries to foreign destinations lost */
	OST_DRILL_TLD_CUT,         /**< foreign TLD servers cut, roots fine */
	OST_DRILL_POISONED_SOURCE, /**< the next zone transfer received is tampered with */
	OST_DRILL_PROFILE_COUNT,
};

/** @return "foreign-cut", "foreign-loss", "tld-cut", "poisoned-source" or "?" */
OST_EXPORT const char *ost_drill_profile_str(enum ost_drill_profile p);

/**
 * Parse a profile name.
 * @return 0, or -EINVAL for an unknown name
 */
OST_EXPORT int ost_drill_profile_parse(const char *name, enum ost_drill_profile *out) OST_WUR;

/** How a cut destination fails. */
enum ost_drill_cut_mode {
	OST_DRILL_DROP = 0, /**< packets swallowed: -ETIMEDOUT after the query's timeout */
	OST_DRILL_REFUSE,   /**< port closed: -ECONNREFUSED at once */
};

/** Where a client answer came from (report rows). */
enum ost_drill_source {
	OST_DRILL_SRC_MIRROR = 0, /**< a verified zone mirror */
	OST_DRILL_SRC_CACHE,      /**< fresh cache */
	OST_DRILL_SRC_STALE,      /**< stale cache (RFC 8767) */
	OST_DRILL_SRC_NATIONAL,   /**< resolved now via national authorities */
	OST_DRILL_SRC_FOREIGN,    /**< resolved now via foreign authorities */
	OST_DRILL_SRC_LOCAL,      /**< synthesised locally (failures, limits) */
	/** a foreign name never cached, refused at once while isolated
	 *  (SERVFAIL + EDE 22): nothing could have answered it */
	OST_DRILL_SRC_UNSEEN,
	OST_DRILL_SRC_COUNT,
};

/** @return "mirror", "cache", "stale", "national", "foreign", "local", "unseen" or "?" */
OST_EXPORT const char *ost_drill_source_str(enum ost_drill_source s);

/** Drill settings. */
struct ost_drill_config {
	struct ost_dest_map map;          /**< destination classes */
	double loss_share;                /**< foreign-loss: share of queries lost (0.3) */
	enum ost_drill_cut_mode cut_mode; /**< cut profiles: drop (default) or refuse */
	uint32_t default_duration_s;      /**< without --duration (900) */
	uint32_t max_duration_s;          /**< longest drill (86400) */
	double abort_servfail_share;      /**< abort when SERVFAIL share > this ... (0.5) */
	uint32_t abort_p99_ms;            /**< ... or p99 latency > this ... (3000) */
	uint32_t abort_window_ms;   /**< ... in each of abort_windows windows of this (10000) */
	unsigned abort_windows;     /**< consecutive bad windows (3) */
	unsigned abort_min_answers; /**< windows with fewer answers are not judged (20) */
	double target_national_answered; /**< pass: national answered share >= (0.999) */
	double target_foreign_answered;  /**< pass: foreign answered share >= (0.95) */
	uint32_t target_detect_ms;       /**< pass: detection <= (30000) */
	uint32_t target_recover_ms;      /**< pass: stop -> NORMAL <= (900000) */
};

/** Fill @p cfg with the defaults (empty map: everything is foreign). */
OST_EXPORT void ost_drill_config_default(struct ost_drill_config *cfg);

/**
 * Set one field by name, as ost_fo_config_set(): the numeric fields in
 * kebab-case ("loss-share", "abort-p99-ms", "target-detect-ms" ...),
 * "cut-mode" (drop | refuse), and "dest-root", "dest-foreign-tld",
 * "dest-foreign", "dest-national", "dest-mirror-source" which append one
 * prefix ("ADDR/LEN") of that class to the destination map.
 * @return 0, -ENOENT for an unknown key, -EINVAL for a bad value, -ENOSPC
 *         when the map is full
 */
OST_EXPORT int ost_drill_config_set(struct ost_drill_config *cfg, const char *key,
				    const char *value, char *err, size_t errlen) OST_WUR;

struct ost_drill;

/**
 * Wrap @p inner.
 * @param cfg settings (copied), NULL for defaults
 * @param clock the clock (borrowed)
 * @param inner the real transport (borrowed)
 * @param fo the failover machine (borrowed; tagged, listened to, fed passive outcomes)
 * @param seed loss generator seed
 * @param out receives the drill controller
 * @return 0, -EINVAL, -ENOMEM
 */
OST_EXPORT int ost_drill_new(const struct ost_drill_config *cfg, const struct ost_clock *clock,
			     const struct ost_transport *inner, struct ost_fo *fo, uint64_t seed,
			     struct ost_drill **out) OST_WUR;

/** Stop a running drill, cancel simulated queries, release (NULL allowed). */
OST_EXPORT void ost_drill_free(struct ost_drill *d);

/** @return the resolver's transport: drill applied, passive outcomes fed to failover */
OST_EXPORT const struct ost_transport *ost_drill_transport(struct ost_drill *d);

/** @return the probes' transport: drill applied, no passive feeding */
OST_EXPORT const struct ost_transport *ost_drill_probe_transport(struct ost_drill *d);

/**
 * Add a face over another real transport and clock: ostrovd has one event
 * loop (clock, upstream transport) per worker, and each worker's resolver
 * needs a face whose simulated timeouts run on its own loop. The drill state
 * (profile, counters) is shared by all faces.
 * @param d the controller
 * @param inner the worker's real transport (borrowed)
 * @param clock the worker's clock (borrowed)
 * @param feeds_passive report outcomes to the failover machine (resolver faces)
 * @param out receives the face, valid until ost_drill_free()
 * @return 0, -EINVAL, -ENOMEM
 */
OST_EXPORT int ost_drill_add_face(struct ost_drill *d, const struct ost_transport *inner,
				  const struct ost_clock *clock, bool feeds_passive,
				  const struct ost_transport **out) OST_WUR;

/**
 * Start a drill.
 * @param d the controller
 * @param profile the profile
 * @param duration_s length, 0 for the default; at most max_duration_s
 * @param operator_name who started it (logged), or NULL
 * @param id receives the drill id, may be NULL
 * @param idlen size of @p id
 * @return 0; -EBUSY when a drill is running; -EINVAL for a bad profile or duration
 */
OST_EXPORT int ost_drill_start(struct ost_drill *d, enum ost_drill_profile profile,
			       uint32_t duration_s, const char *operator_name, char *id,
			       size_t idlen) OST_WUR;

/**
 * Stop the running drill (the report stays available; recovery is measured
 * until the failover machine is back in NORMAL).
 * @param d the controller
 * @param reason "operator", ... (logged and reported)
 * @return 0, or -ENOENT when no drill is running
 */
OST_EXPORT int ost_drill_stop(struct ost_drill *d, const char *reason) OST_WUR;

/** @return true while a drill runs (lock-free: one atomic load, the hot path may ask) */
OST_EXPORT bool ost_drill_is_running(struct ost_drill *d);

/**
 * Record one client answer during a drill (no-op when none runs).
 * @param d the controller
 * @param name_class root, national or foreign name
 * @param src where the answer came from
 * @param rcode DNS rcode sent
 * @param ede EDE INFO-CODE sent, or -1 for none
 * @param latency_us time from query to answer
 */
OST_EXPORT void ost_drill_record_answer(struct ost_drill *d, enum ost_fo_name_class name_class,
					enum ost_drill_source src, uint8_t rcode, int ede,
					uint64_t latency_us);

/**
 * Report the verdict on a mirror copy received during a drill (zones module
 * hook), so poisoned-source can check that the tampered copy was refused.
 * @param d the controller
 * @param zone the zone
 * @param is_accepted the copy passed verification and replaced the old one
 */
OST_EXPORT void ost_drill_note_mirror_verify(struct ost_drill *d, const char *zone,
					     bool is_accepted);

/** Result of one pass/fail check. */
enum ost_drill_verdict {
	OST_DRILL_PASS = 0, /**< target met */
	OST_DRILL_FAIL,     /**< target missed */
	OST_DRILL_PENDING,  /**< not known yet (recovery still running ...) */
	OST_DRILL_NA,       /**< does not apply to this profile or had no data */
};

/** Most mirrors in a report. */
#define OST_DRILL_MAX_MIRRORS 8
/** Slots of SERVFAIL-by-EDE: codes 0..31, and [32] for SERVFAIL without EDE. */
#define OST_DRILL_EDE_SLOTS   33
/** Number of pass/fail checks. */
#define OST_DRILL_CHECKS      7

/** Horizons of one mirror at a point of a drill. */
struct ost_drill_horizon {
	char zone[256];       /**< zone */
	int64_t soa_left_s;   /**< seconds to the SOA expire deadline */
	int64_t rrsig_left_s; /**< seconds to the RRSIG horizon */
};

/** The numbers of one drill (ost_drill_report_get()). */
struct ost_drill_report {
	char id[64];                                /**< drill id */
	enum ost_drill_profile profile;             /**< profile */
	bool is_running;                            /**< not stopped yet */
	char stop_reason[128];                      /**< "operator", "duration", "abort: ..." */
	int64_t started_wall;                       /**< wall s */
	int64_t stopped_wall;                       /**< wall s, 0 while running */
	uint64_t duration_ms;                       /**< running time so far */
	uint64_t queries[OST_FO_NAME_CLASS_COUNT];  /**< answers recorded per name class */
	uint64_t answered[OST_FO_NAME_CLASS_COUNT]; /**< of which NOERROR or NXDOMAIN */
	/** of the queries, names never seen refused at once (OST_DRILL_SRC_UNSEEN): the
	 *  answered shares are of the others, the names a resolver could answer */
	uint64_t unseen[OST_FO_NAME_CLASS_COUNT];
	uint64_t by_source[OST_DRILL_SRC_COUNT];       /**< answers per source */
	uint64_t servfail;                             /**< SERVFAIL answers */
	uint64_t servfail_by_ede[OST_DRILL_EDE_SLOTS]; /**< per EDE code; [32] without EDE */
	uint64_t stale_unflagged; /**< stale answers without EDE 3 or 19 (must be 0) */
	uint64_t lat_us[4];       /**< p50, p90, p99, p99.9 (within 1/32) */
	int64_t to_degraded_ms;   /**< start -> first DEGRADED, -1 if none */
	int64_t to_isolated_ms;   /**< start -> first ISOLATED, -1 if none */
	int64_t to_recovered_ms;  /**< stop -> NORMAL, -1 pending / not needed */
	bool has_left_normal;     /**< the machine left NORMAL during the drill */
	struct ost_drill_horizon mirrors_start[OST_DRILL_MAX_MIRRORS]; /**< horizons at start */
	struct ost_drill_horizon mirrors_end[OST_DRILL_MAX_MIRRORS];   /**< at stop (or now) */
	unsigned n_mirrors_start;            /**< entries of mirrors_start */
	unsigned n_mirrors_end;              /**< entries of mirrors_end */
	uint64_t sent[OST_DEST_CLASS_COUNT]; /**< upstream queries seen per destination class */
	uint64_t cut[OST_DEST_CLASS_COUNT];  /**< of which the drill cut or lost */
	unsigned tampered;                   /**< transfer messages tampered with */
	unsigned mirror_rejected;            /**< mirror copies refused after tampering */
	unsigned mirror_accepted;            /**< mirror copies accepted after tampering */
	struct {
		const char *name;               /**< check name */
		enum ost_drill_verdict verdict; /**< result */
		char detail[96];                /**< measured vs target */
	} checks[OST_DRILL_CHECKS];             /**< pass/fail checks */
	bool is_pass;                           /**< no check failed and none pending */
};

/**
 * Numbers of the current or last drill.
 * @return 0, or -ENOENT when no drill has run
 */
OST_EXPORT int ost_drill_report_get(struct ost_drill *d, struct ost_drill_report *out) OST_WUR;

/**
 * Write the report as a text table or one JSON object.
 * @return 0, -ENOENT when no drill has run, -ENOMEM
 */
OST_EXPORT int ost_drill_report_write(struct ost_drill *d, bool is_json, struct ost_buf *b) OST_WUR;

/** @return the destination map of @p d (for ost_fo_resolver_hooks_init()) */
OST_EXPORT const struct ost_dest_map *ost_drill_map(const struct ost_drill *d);

struct ost_resolver_policy;

/**
 * Classify a question name for the failover policy (national zones and the
 * rest; the daemon knows the national zones from its configuration).
 * @param ctx the classifier's context
 * @param qname the name, uncompressed wire format
 * @param len its length (at most 255)
 * @return the name's class
 */
typedef enum ost_fo_name_class (*ost_fo_name_class_cb)(void *ctx, const uint8_t *qname, size_t len);

/** Context of the resolver's policy hooks; embed it, it must outlive the resolvers. */
struct ost_fo_resolver_hooks {
	struct ost_fo *fo;               /**< the failover machine */
	const struct ost_dest_map *map;  /**< destination classes */
	ost_fo_name_class_cb name_class; /**< question names' classes; NULL: all foreign */
	void *name_class_ctx;            /**< argument of @p name_class */
};

/**
 * Fill the engine's policy hooks (struct ost_resolver_policy, resolver.h)
 * from the failover machine: may_query() refuses root and foreign
 * destinations while isolated, except rate-limited rechecks
 * (ost_fo_recheck_allow()); max_stale_s() is the state's stale limit (1 d,
 * 3 d isolated and recovering); stale_immediately() is true while isolated
 * for names that are not national (h->name_class, NULL after this call: set
 * it afterwards to tell national names apart; until then every name counts
 * as foreign). The hooks take no lock in the common case and never block.
 * @param h the context to fill (borrowed by the hooks)
 * @param fo the machine
 * @param map destination classes (usually ost_drill_map())
 * @param out receives the hooks, for ost_resolver_config
 */
OST_EXPORT void ost_fo_resolver_hooks_init(struct ost_fo_resolver_hooks *h, struct ost_fo *fo,
					   const struct ost_dest_map *map,
					   struct ost_resolver_policy *out);

#endif
