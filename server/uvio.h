/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file uvio.h
 * The libuv implementations of the engine's clock (include/ostrov/clock.h)
 * and transport (include/ostrov/transport.h). Each worker thread embeds one
 * of each, bound to its own loop; neither is thread-safe, as the loop is not.
 *
 * Example: a worker does ost_uv_clock_init(&w->clock, &w->loop) and
 * ost_uv_transport_init(&w->transport, &w->loop, &cfg->resolver.upstream_allow),
 * then hands &w->clock.clock and &w->transport.tp to the engine. The engine
 * sends "ru. NS" to 127.53.0.1@53 over UDP: the transport takes a socket
 * connect()ed to that address (a new one, so the kernel picks a random source
 * port and filters other senders, or, when resolver.upstream-port-reuse
 * allows, one parked after an earlier answer from that same server; see
 * upstream.c), arms a
 * timer, and calls back with the reply, -ETIMEDOUT or -ECONNREFUSED.
 */
#ifndef OSTROV_SERVER_UVIO_H
#define OSTROV_SERVER_UVIO_H

#include <uv.h>

#include "ostrov/clock.h"
#include "ostrov/config.h"
#include "ostrov/transport.h"

/** A clock over a libuv loop: uv_now(), CLOCK_REALTIME and uv_timer_t. */
struct ost_uv_clock {
	struct ost_clock clock;  /**< hand this to the engine */
	uv_loop_t *loop;         /**< the loop, borrowed */
	struct ost_timer *armed; /**< armed timers, so deinit can stop them */
};

/**
 * Bind a clock to @p loop (allocates nothing).
 * @param c the clock
 * @param loop its loop, which must outlive it
 */
void ost_uv_clock_init(struct ost_uv_clock *c, uv_loop_t *loop);

/**
 * Like ost_uv_clock_init(), but mono_ms() reads uv_hrtime(), so any thread
 * may call it (timers still only from the loop's thread).
 * @param c the clock
 * @param loop the loop whose timers it arms
 */
void ost_uv_clock_init_hr(struct ost_uv_clock *c, uv_loop_t *loop);

/**
 * Stop every armed timer without calling it. Their memory is freed by the
 * loop's close callbacks, so run the loop once more before closing it.
 */
void ost_uv_clock_deinit(struct ost_uv_clock *c);

struct ost_upq;

/** A transport over a libuv loop, with its upstream allow-list. */
struct ost_uv_transport {
	struct ost_transport tp;     /**< hand this to the engine */
	uv_loop_t *loop;             /**< the loop, borrowed */
	const struct ost_acl *allow; /**< upstream allow-list, borrowed */
	struct ost_upq *active;      /**< queries in flight */
	struct ost_upq *idle;        /**< parked UDP sockets for reuse (upstream.c) */
	size_t n_idle;               /**< their number */
	unsigned udp_max_uses;       /**< queries per UDP port (1 = fresh port per query) */
	struct ost_upq *delivering;  /**< query whose callback is running, or NULL */
	uint8_t *rxbuf;              /**< shared UDP receive buffer (64 KiB) */
};

/**
 * Bind a transport to @p loop.
 * @param t the transport
 * @param loop its loop, which must outlive it
 * @param allow the only upstream addresses it may send to; must outlive it
 * @return 0 or -ENOMEM
 */
int ost_uv_transport_init(struct ost_uv_transport *t, uv_loop_t *loop,
			  const struct ost_acl *allow) OST_WUR;

/**
 * Cancel every query in flight (no callbacks) and release the transport.
 * Handles close asynchronously: run the loop once more before closing it.
 */
void ost_uv_transport_deinit(struct ost_uv_transport *t);

/** @return the number of queries in flight on @p t (for tests and metrics) */
size_t ost_uv_transport_active(const struct ost_uv_transport *t);

#endif
