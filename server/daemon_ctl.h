/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file daemon_ctl.h
 * ostrovd's control socket: the dispatcher of control/, an executor that
 * runs every handler on the main loop, and the daemon's own handlers
 * (stats, cache flush, reload, zone ...) next to control/'s failover and
 * drill handlers.
 *
 * Example: `ostrovctl drill start foreign-cut --duration 40` connects to
 * server.control-socket; control/server.c's thread parses the line and calls
 * the executor, which queues the job, wakes the main loop with uv_async_send()
 * and waits on a condition variable; on the main loop the drill handler arms
 * its timers on the main clock (allowed only there), the job is marked done,
 * and the socket thread writes "OK" and the drill id back.
 */
#ifndef OSTROV_SERVER_DAEMON_CTL_H
#define OSTROV_SERVER_DAEMON_CTL_H

#include <uv.h>

#include "ostrov/config.h"

struct ost_server;
struct ost_resilience;
struct ost_daemon_ctl;
struct ost_mirror_srv;

/**
 * Create the dispatcher, register every handler and start the socket
 * (cfg->server.control_socket; nothing when it is NULL: *out stays NULL).
 * @param loop the main loop (handlers run there)
 * @param srv the workers (stats), borrowed
 * @param res failover and drills, borrowed, or NULL
 * @param msrv the zone mirror (zone list|refresh|import, mirror_ctl.c), or NULL:
 *        then those commands answer "no mirror configured"
 * @param out receives the control object
 * @return 0 or a negative error (the socket cannot be created ...)
 */
int ost_daemon_ctl_start(uv_loop_t *loop, struct ost_server *srv, struct ost_resilience *res,
			 struct ost_mirror_srv *msrv, struct ost_daemon_ctl **out) OST_WUR;

/**
 * Stop the socket without blocking the main loop (its last request may
 * still need the loop): the socket thread is joined on the libuv thread
 * pool, then @p done runs on the main loop and the object is freed.
 * @param c the control object (NULL: @p done runs at once)
 * @param done called on the main loop when the socket is gone
 * @param arg its argument
 */
void ost_daemon_ctl_stop(struct ost_daemon_ctl *c, void (*done)(void *arg), void *arg);

#endif
