/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file xfr_out.h
 * The daemon's zone mirror service: it opens the mirror store and the
 * configured zones (mirror section of the configuration), brings them into
 * service at start (stored copy re-verified, else the bootstrap file), and
 * runs one thread with its own libuv loop for everything that keeps the
 * mirror fresh or feeds a fleet: the refresh scheduler (SOA checks, AXFR/IXFR
 * from the sources, zones/refresh.c), NOTIFY from the sources, and, on the
 * mirror.listen addresses, SOA answers and AXFR of each verified mirror to
 * the zone's allow-transfer list, with NOTIFY to the zone's notify list on
 * every new version.
 *
 * Example: ostrovd starts with a mirror of "." and "ru."; ost_mirror_srv_open()
 * finds nothing stored, so both are unusable and every query goes upstream.
 * The thread's refresh timers fire within a second, the root is transferred
 * from 127.53.0.1, verified and committed; that import triggers an immediate
 * check of ru., whose DS now comes from the root copy; a downstream NSD on
 * 127.0.0.1@5400 gets a NOTIFY and transfers "." from 127.0.0.1@5399. Every
 * worker's resolver holds the mirror through its configuration and answers
 * names under "." and "ru." from it.
 */
#ifndef OSTROV_SERVER_XFR_OUT_H
#define OSTROV_SERVER_XFR_OUT_H

#include <stdbool.h>
#include <stddef.h>

#include <ldns/ldns.h>
#include <uv.h>

#include "ostrov/config.h"
#include "ostrov/xfr.h"
#include "ostrov/zone.h"

#include "uvexec.h"
#include "uvio.h"

struct ost_mirror_srv_req;

/** The mirror service (embedded in main's stack frame). */
struct ost_mirror_srv {
	const struct ost_config *cfg;     /**< the configuration */
	const struct ost_clock *clock;    /**< thread-safe process clock (imports, status) */
	struct ost_zone_store *store;     /**< the mirror store */
	struct ost_mirror *m;             /**< the mirror (thread-safe) */
	ldns_rr_list **anchors;           /**< per configured zone, or NULL entries */
	struct ost_acl src_acl;           /**< the sources' addresses: the only ones we query */
	struct ost_refresh *refresh;      /**< refresh scheduler (mirror thread) */
	uv_loop_t loop;                   /**< the mirror thread's loop */
	uv_thread_t thread;               /**< the mirror thread */
	uv_async_t stop;                  /**< wakes the loop to stop */
	struct ost_uv_clock uvclock;      /**< timers on the loop */
	struct ost_clock mclock;          /**< uvclock's timers, the process clock's time */
	struct ost_uv_transport tp;       /**< SOA probes and transfers */
	uv_udp_t *udp;                    /**< one per mirror.listen address */
	uv_tcp_t *tcp;                    /**< one per mirror.listen address */
	size_t n_listen;                  /**< entries in @p udp and @p tcp */
	int n_conns;                      /**< downstream TCP connections open */
	bool is_running;                  /**< the thread was started */
	uint8_t *rxbuf;                   /**< UDP receive buffer */
	uv_async_t wake;                  /**< runs queued control requests on the loop */
	uv_mutex_t qlock;                 /**< protects @p queue */
	struct ost_mirror_srv_req *queue; /**< refreshes and NOTIFYs asked by control */
	struct ost_uv_exec *exec;         /**< verifies a version's RRsets on every core */
};

struct ost_ctl_dispatch;

/**
 * Register `zone list`, `zone refresh NAME` and `zone import NAME FILE`
 * (server/mirror_ctl.c). The service must outlive the control server.
 * @return 0 or -EINVAL
 */
int ost_mirror_srv_register_ctl(struct ost_mirror_srv *s, struct ost_ctl_dispatch *d) OST_WUR;

/**
 * From any thread: queue a refresh of @p zone (@p refresh) or a NOTIFY of
 * its new @p serial to the downstream list, run on the mirror thread.
 */
void ost_mirror_srv_queue(struct ost_mirror_srv *s, const char *zone, bool refresh,
			  uint32_t serial);

/**
 * Open the store, add the zones, load their anchors and bring them into
 * service (re-verify stored copies or import bootstrap files). Runs in the
 * main thread before the workers start.
 * @param s the service (zeroed by the caller)
 * @param cfg the configuration (mirror section), must outlive @p s
 * @param clock a thread-safe clock, must outlive @p s
 * @param err receives a message on failure
 * @param errlen its size
 * @return 0, OST_ECONFIG (bad anchors, sources), or a negative error
 */
int ost_mirror_srv_open(struct ost_mirror_srv *s, const struct ost_config *cfg,
			const struct ost_clock *clock, char *err, size_t errlen) OST_WUR;

/**
 * Bind the mirror.listen addresses (errors are returned: a configuration
 * problem) and start the mirror thread.
 * @return 0 or a negative error
 */
int ost_mirror_srv_start(struct ost_mirror_srv *s, char *err, size_t errlen) OST_WUR;

/** Stop the thread (if started) and release everything (zeroed is fine). */
void ost_mirror_srv_close(struct ost_mirror_srv *s);

#endif
