/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file metrics.h
 * The Prometheus endpoint (brief "Interfaces users will script against"):
 * `server: metrics-listen: "127.0.0.1@9153"` makes ostrovd answer
 * `GET /metrics` over HTTP with every counter of the daemon in the
 * Prometheus text exposition format 0.0.4, names prefixed `ostrov_`, each
 * family with `# HELP` and `# TYPE`.
 *
 * The listener runs on the main loop, next to the failover machine and the
 * control socket's executor, so that reading the machine's status is done
 * on the thread that owns it; the workers' data is never touched: their
 * counters come from copies each worker makes when asked (an async; at most
 * 250 ms of waiting for a stuck worker, see ost_server_snapshot(), the same
 * snapshot `ostrovctl stats` shows).
 *
 * Example: Prometheus connects from 127.0.0.1 and sends "GET /metrics
 * HTTP/1.1\r\nHost: 127.0.0.1:9153\r\n\r\n". The client is in
 * server.metrics-allow, so the head is read (at most 8 KiB, within 5 s),
 * ost_http_parse() says OST_HTTP_OK, ost_metrics_write() renders the
 * snapshot, the failover status, the drill and the mirror zones, and the
 * reply goes out with Connection: close; the connection is closed once the
 * client has read it.
 */
#ifndef OSTROV_SERVER_METRICS_H
#define OSTROV_SERVER_METRICS_H

#include <uv.h>

#include "ostrov/clock.h"
#include "ostrov/drill.h"
#include "ostrov/failover.h"
#include "ostrov/zone.h"

#include "engine.h"

struct ost_server;

/** Everything one scrape shows; every pointer but @p snap may be NULL. */
struct ost_metrics_sources {
	const struct ost_server_snapshot *snap; /**< the daemon's counters */
	uint64_t tcp_connections;               /**< client TCP connections open now */
	struct ost_fo *fo;                      /**< the failover machine */
	struct ost_drill *drill;                /**< drills */
	struct ost_mirror *mirror;              /**< the zone mirror */
	const struct ost_clock *clock;          /**< wall clock for the mirror's ages */
};

/**
 * Write the exposition text of @p src (Prometheus text format 0.0.4).
 * @param b receives the text (appended)
 * @param src what to show
 * @return 0 or -ENOMEM
 */
int ost_metrics_write(struct ost_buf *b, const struct ost_metrics_sources *src) OST_WUR;

/** The endpoint (opaque). */
struct ost_metrics_srv;

/**
 * Serve /metrics on listening socket @p fd (ost_tcp_socket() of
 * cfg->server.metrics_listen, bound by the caller so that a busy port ends
 * the start-up with exit code 2), on the main loop.
 * @param loop the main loop
 * @param fd the listening socket; taken over, closed on failure too
 * @param srv the server (configuration, workers, engine)
 * @param src pointers the scrapes read (fo, drill, mirror, clock; snap and
 *        tcp_connections are filled per scrape); copied
 * @param out receives the endpoint
 * @return 0 or a libuv error
 */
int ost_metrics_srv_start(uv_loop_t *loop, int fd, struct ost_server *srv,
			  const struct ost_metrics_sources *src,
			  struct ost_metrics_srv **out) OST_WUR;

/**
 * Close the listener and every open connection; the memory goes with the
 * last close callback. NULL is allowed. Runs on the main loop.
 */
void ost_metrics_srv_stop(struct ost_metrics_srv *m);

#endif
