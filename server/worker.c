/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Worker threads: one libuv loop each, with its listeners, client
 * connections, clock and transport, plus the path every client message takes
 * once a listener has read it (ost_worker_on_message) up to the answering
 * hook (ost_worker_answer, in engine.c).
 *
 * Threads share nothing mutable but an atomic connection counter, so no
 * locks: a worker is stopped by uv_async_send() from the main thread, closes
 * its handles in its own thread, and its loop ends when the last close
 * callback has run; the main thread then joins it.
 */
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "ostrov/log.h"

#include "engine.h"

int ost_reply_send(const struct ost_reply_to *to, const uint8_t *pkt, size_t len)
{
	if (len > to->max_size)
		return -EMSGSIZE;
	if (to->proto == OST_PROTO_UDP)
		return ost_udp_send(to->udp, (const struct sockaddr *)&to->client, &to->local, pkt,
				    len);
	return ost_tcp_send(to->tcp, pkt, len);
}

/*
 * A held reply keeps its socket's memory alive, not the socket: after
 * shutdown closed it, ost_reply_send() fails with -ECONNRESET instead of
 * touching freed memory.
 */
void ost_reply_hold(struct ost_reply_to *to)
{
	if (to->proto == OST_PROTO_TCP)
		ost_tcp_conn_ref(to->tcp);
	else
		ost_udp_listener_ref(to->udp);
}

void ost_reply_release(struct ost_reply_to *to)
{
	if (to->proto == OST_PROTO_TCP && to->tcp)
		ost_tcp_conn_unref(to->tcp);
	else if (to->proto == OST_PROTO_UDP && to->udp)
		ost_udp_listener_unref(to->udp);
	to->tcp = NULL;
	to->udp = NULL;
}

void ost_worker_answer_rcode(struct ost_worker *w, const struct ost_reply_to *to,
			     const struct ost_question *q, unsigned rcode)
{
	uint8_t buf[LDNS_HEADER_SIZE + OST_PKT_NAME_MAX + 4 + 11];
	size_t n =
		ost_pkt_write_rcode(q, rcode, w->cfg->resolver.edns_buffer_size, buf, sizeof(buf));
	if (n == 0 || ost_reply_send(to, buf, n) < 0)
		w->stats.send_failed++;
	else
		w->stats.rcode[rcode < OST_RCODE_SLOTS ? rcode : 0]++;
}

void ost_worker_on_message(struct ost_worker *w, struct ost_reply_to *to, bool allowed,
			   const uint8_t *pkt, size_t len)
{
	struct ost_client_query cq;
	enum ost_pkt_verdict v = ost_pkt_classify(pkt, len, &cq.q);
	/*
	 * RFC 6891 7: a client without EDNS gets at most 512 bytes over UDP;
	 * with EDNS the smaller of its size and ours (flag day 2020: 1232).
	 */
	if (to->proto == OST_PROTO_TCP) {
		to->max_size = UINT16_MAX;
	} else {
		uint16_t ours = w->cfg->resolver.edns_buffer_size;
		to->max_size = OST_PKT_UDP_PLAIN;
		if (cq.q.has_edns)
			to->max_size = cq.q.edns_size < ours ? cq.q.edns_size : ours;
	}
	if (!allowed) {
		/* A denied client learns nothing about why its packet is malformed. */
		w->stats.acl_denied++;
		if (v == OST_PKT_QUERY && w->cfg->access.deny_action == OST_DENY_REFUSE)
			ost_worker_answer_rcode(w, to, &cq.q, LDNS_RCODE_REFUSED);
		else
			w->stats.dropped++;
		return;
	}
	switch (v) {
	case OST_PKT_QUERY:
		if (to->proto == OST_PROTO_UDP)
			w->stats.udp_queries++;
		else
			w->stats.tcp_queries++;
		cq.to = *to;
		cq.wire = pkt;
		cq.len = len;
		cq.rx_ns = w->rx_ns;
		ost_worker_answer(w, &cq);
		return;
	case OST_PKT_FORMERR:
	case OST_PKT_NOTIMP:
	case OST_PKT_BADVERS:
		w->stats.errors++;
		ost_worker_answer_rcode(w, to, &cq.q, (unsigned)ost_pkt_verdict_rcode(v));
		return;
	default:
		w->stats.dropped++;
		return;
	}
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void on_stop(uv_async_t *a)
{
	struct ost_worker *w = a->data;
	/*
	 * The resolver's requests of this worker are finished first, so that
	 * none of them answers through a socket that is closing, and the
	 * resolver goes before the transport and clock it uses.
	 */
	ost_worker_engine_stop(w);
	for (size_t i = 0; i < w->n_listen; i++) {
		if (w->udp[i])
			ost_udp_listener_close(w->udp[i]);
		if (w->tcp[i])
			ost_tcp_listener_close(w->tcp[i]);
		w->udp[i] = NULL;
		w->tcp[i] = NULL;
	}
	ost_tcp_close_all(w);
	ost_uv_transport_deinit(&w->transport);
	ost_uv_clock_deinit(&w->clock);
	uv_close((uv_handle_t *)&w->stop, NULL);
	ost_log(OST_LOG_DEBUG, "server",
		"worker stopping worker=%u udp_queries=%llu tcp_queries=%llu dropped=%llu", w->id,
		(unsigned long long)w->stats.udp_queries, (unsigned long long)w->stats.tcp_queries,
		(unsigned long long)w->stats.dropped);
}

static int worker_setup(struct ost_worker *w, const int *udp_fds, const int *tcp_fds,
			size_t *udp_taken)
{
	const struct ost_config *cfg = w->cfg;
	ost_uv_clock_init(&w->clock, &w->loop);
	int ret = ost_uv_transport_init(&w->transport, &w->loop, &cfg->resolver.upstream_allow);
	if (ret < 0)
		return ret;
	w->transport.udp_max_uses = cfg->resolver.upstream_port_reuse;
	ret = uv_async_init(&w->loop, &w->stop, on_stop);
	if (ret < 0)
		return ret;
	w->stop.data = w;
	ret = ost_worker_engine_init(w);
	if (ret < 0)
		return ret;
	w->udp = calloc(w->n_listen, sizeof(*w->udp));
	w->tcp = calloc(w->n_listen, sizeof(*w->tcp));
	if (!w->udp || !w->tcp)
		return -ENOMEM;
	for (size_t i = 0; i < w->n_listen; i++) {
		const struct ost_addr *a = &cfg->server.listen[i];
		*udp_taken = i + 1;
		ret = ost_udp_listener_open(w, udp_fds[i], a, &w->udp[i]);
		if (ret < 0)
			return ret;
		ost_log(OST_LOG_INFO, "server", "listening addr=%s proto=udp worker=%u", a->text,
			w->id);
		ret = ost_tcp_listener_open(w, tcp_fds[i], a, &w->tcp[i]);
		if (ret < 0)
			return ret;
		ost_log(OST_LOG_INFO, "server", "listening addr=%s proto=tcp worker=%u", a->text,
			w->id);
	}
	return 0;
}

int ost_worker_init(struct ost_worker *w, struct ost_server *srv, unsigned id, const int *udp_fds,
		    const int *tcp_fds)
{
	size_t udp_taken = 0;
	int ret = uv_loop_init(&w->loop);
	if (ret == 0) {
		/* From here on ost_worker_deinit() has a loop to release. */
		w->id = id;
		w->srv = srv;
		w->cfg = srv->cfg;
		w->n_listen = srv->cfg->server.n_listen;
		ret = worker_setup(w, udp_fds, tcp_fds, &udp_taken);
	}
	/* The UDP sockets are ours whatever happens: close those not taken over. */
	for (size_t i = udp_taken; ret < 0 && i < srv->cfg->server.n_listen; i++)
		close(udp_fds[i]);
	return ret;
}

static void worker_main(void *arg)
{
	struct ost_worker *w = arg;
	uv_run(&w->loop, UV_RUN_DEFAULT);
}

int ost_worker_start(struct ost_worker *w)
{
	return uv_thread_create(&w->thread, worker_main, w);
}

void ost_worker_stop(struct ost_worker *w)
{
	uv_async_send(&w->stop);
}

static void close_any(uv_handle_t *h, void *arg)
{
	(void)arg;
	/* Only reached if a handle escaped its owner; better a leak than a hang. */
	if (!uv_is_closing(h)) {
		ost_log(OST_LOG_WARN, "server", "closing stray handle type=%s",
			uv_handle_type_name(h->type));
		uv_close(h, NULL);
	}
}

static void loop_release(struct ost_worker *w)
{
	uv_run(&w->loop, UV_RUN_NOWAIT);
	if (uv_loop_close(&w->loop) == UV_EBUSY) {
		uv_walk(&w->loop, close_any, NULL);
		uv_run(&w->loop, UV_RUN_DEFAULT);
		uv_loop_close(&w->loop);
	}
	free(w->udp);
	free(w->tcp);
	w->udp = NULL;
	w->tcp = NULL;
}

void ost_worker_join(struct ost_worker *w)
{
	uv_thread_join(&w->thread);
	loop_release(w);
}

void ost_worker_deinit(struct ost_worker *w)
{
	if (!w->srv)
		return;
	if (w->stop.data) {
		/* Run the stop path in this thread: the worker's thread never started. */
		on_stop(&w->stop);
	} else if (w->transport.rxbuf) {
		ost_uv_transport_deinit(&w->transport);
	}
	uv_run(&w->loop, UV_RUN_DEFAULT);
	loop_release(w);
}
