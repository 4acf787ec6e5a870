/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file resilience.h
 * The daemon's side of resilience/: the failover machine, the drill and the
 * probes, set up on the main loop from the `resilience:` section, and the few
 * calls the workers and the control socket make into them.
 *
 * Example: ostrovd reads lab/ostrov.yaml with national-zones [ru, xn--p1ai,
 * su] and probe targets for com., org., net. and ru. servers.
 * ost_resilience_open() creates the machine on a uv_hrtime() clock (workers
 * feed it from their threads), the drill over a main-loop transport, and
 * the probe scheduler over the drill's probe face; its destination map gets
 * the root hints as "root" and every probe target as its class. Each worker
 * then calls ost_resilience_face() and resolves through that face, so a
 * `foreign-cut` drill cuts its queries to com. servers but not to ru. ones.
 * A client asks "www.example.ru. A": ost_resilience_name_class() says
 * national, and when the answer goes out the worker records it in the
 * drill (no lock unless a drill runs).
 */
#ifndef OSTROV_SERVER_RESILIENCE_H
#define OSTROV_SERVER_RESILIENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "ostrov/drill.h"
#include "ostrov/failover.h"

#include "engine.h"
#include "uvio.h"

/** Everything resilience/ needs in the daemon; lives in main.c's run(). */
struct ost_resilience {
	uv_loop_t *loop;                               /**< the main loop */
	struct ost_uv_clock clock;                     /**< thread-safe mono_ms, main-loop timers */
	struct ost_uv_transport tp;                    /**< main-loop upstream transport (probes) */
	bool has_tp;                                   /**< @p tp was initialised */
	struct ost_fo *fo;                             /**< the failover machine */
	struct ost_drill *drill;                       /**< drills and the destination map */
	struct ost_probe *probe;                       /**< active probes */
	struct ost_fo_resolver_hooks hooks;            /**< context of @p policy */
	struct ost_resolver_policy policy;             /**< handed to every worker's resolver */
	uint8_t national[OST_NATIONAL_ZONES_MAX][256]; /**< national zones, wire, lower case */
	size_t national_len[OST_NATIONAL_ZONES_MAX];   /**< their lengths */
	size_t n_national;                             /**< how many */
	struct ost_mirror *mirror;                     /**< the zone mirror, or NULL (borrowed) */
	struct ost_timer *mirror_timer;                /**< periodic feed of mirror horizons */
};

/**
 * Create the machine, the drill and the probes (not started yet).
 * @param r zeroed by the caller
 * @param loop the main loop (timers); the caller runs it
 * @param cfg the configuration (resilience: section)
 * @param e the engine (root hints for the probes and the map), may be NULL
 * @param err receives a message on failure
 * @param errlen size of @p err
 * @return 0 or a negative error
 */
int ost_resilience_open(struct ost_resilience *r, uv_loop_t *loop, const struct ost_config *cfg,
			const struct ost_engine *e, char *err, size_t errlen) OST_WUR;

struct ost_mirror;

/**
 * Let the machine follow zone mirror @p m: at start every zone's serial, SOA
 * expire deadline and RRSIG horizon go to ost_fo_feed_mirror() and
 * MIRROR_READY (every zone has a verified version) or MIRROR_FAILED is
 * posted; then the horizons are fed again every few seconds, so refreshes
 * (and expiry, MIRROR-EXPIRED while isolated) reach the machine. Call before
 * ost_resilience_start().
 * @param r the daemon's resilience
 * @param m the mirror (thread-safe), borrowed
 */
void ost_resilience_attach_mirror(struct ost_resilience *r, struct ost_mirror *m);

/**
 * Start the probes and post the start event: OST_FO_EV_MIRROR_READY without
 * a mirror, else what the mirror's state says (LOADING -> NORMAL). Main loop
 * only.
 * @return 0 or a negative error
 */
int ost_resilience_start(struct ost_resilience *r) OST_WUR;

/**
 * The mirror code's hook: the mirrors loaded at start verified (@p is_ok) or
 * not. Posts OST_FO_EV_MIRROR_READY or _MIRROR_FAILED. Any thread.
 * @param r the daemon's resilience
 * @param is_ok verification result
 */
void ost_resilience_mirror_loaded(struct ost_resilience *r, bool is_ok);

/**
 * A drill face over worker @p tp (main thread, before the worker starts).
 * @param r the daemon's resilience
 * @param tp the worker's transport
 * @param clock the worker's clock
 * @param out receives the face to give the worker's resolver
 * @return 0 or -ENOMEM
 */
int ost_resilience_face(struct ost_resilience *r, const struct ost_transport *tp,
			const struct ost_clock *clock, const struct ost_transport **out) OST_WUR;

/**
 * Classify a question name: the root, under a national zone, or foreign.
 * @param r the daemon's resilience
 * @param qname wire-format name, any case
 * @param len its length
 * @return the class
 */
enum ost_fo_name_class ost_resilience_name_class(const struct ost_resilience *r,
						 const uint8_t *qname, size_t len);

/**
 * Apply what a reload may change while the machine runs (main loop): the
 * main-loop transport's upstream allow-list, which the probes send through,
 * becomes @p cfg's; and when asked, the failover thresholds and timers
 * (ost_fo_set_config(): the state and what was observed stay) and the probe
 * timing (ost_probe_set_config()). National zones, probe targets and the
 * drill map are fixed at start.
 * @param r the daemon's resilience
 * @param cfg the new configuration, which must stay allocated while it is the
 *        live one (the transport borrows its upstream-allow)
 * @param is_fo apply cfg->resilience.fo
 * @param is_probe apply cfg->resilience.probe
 * @return 0, or -EINVAL / -ENOMEM from a setter (that part keeps its settings)
 */
int ost_resilience_reconfigure(struct ost_resilience *r, const struct ost_config *cfg, bool is_fo,
			       bool is_probe) OST_WUR;

/** Stop the probes (main loop; before the loop is asked to end). */
void ost_resilience_stop(struct ost_resilience *r);

/**
 * Free the drill (after every worker's resolver), the probes and the machine,
 * and close the main transport. Run the loop once more afterwards.
 */
void ost_resilience_close(struct ost_resilience *r);

#endif
