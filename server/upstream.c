/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The engine's transport over libuv: one outbound query to one authoritative
 * server, over UDP or TCP, with a timeout, behind an address allow-list.
 *
 * UDP uses a socket connect()ed to the server. Connecting does two things
 * for spoofing resistance (RFC 5452 4 and 9.2): the kernel binds a random
 * ephemeral source port, and it delivers only datagrams from exactly the
 * server's address and port, so the engine only has to check ID and question
 * (it returns -EAGAIN for a mismatch and we keep listening). A connected
 * socket also receives the ICMP port-unreachable of a closed port as
 * ECONNREFUSED, which the failover logic uses to tell "refused" from
 * "blackholed" quickly.
 *
 * Opening, connecting, registering and closing a socket costs about as much
 * as the query itself (≈ 8 % of a validating cache miss in perf). With
 * resolver.upstream-port-reuse N above 1 (t->udp_max_uses), a UDP socket
 * whose query ended with an accepted answer is parked and may carry later
 * queries to the *same* server address and port, one at a time, at most N
 * queries in all and never after UDP_IDLE_MS idle; then it is closed and the
 * next query gets a new random port. The default is 1, a fresh port for
 * every query as Unbound, Knot Resolver and BIND do: a parked port stays open
 * longer than one query, which is what off-path port inference (SAD DNS,
 * CVE-2020-25705) needs time for, so reuse is an operator's choice (it cut
 * the validating miss CPU by ~10 % in the lab), not ours. The bounds keep RFC
 * 5452's per-query unpredictability: every query still has a fresh random ID
 * (the engine's), one port is seen by one server only (a server cannot learn
 * the port of a query to another), and an off-path attacker gains at most
 * N queries to aim at one port, each needing its own ID guess.
 * A socket that timed out, failed, was cancelled or still has a send queued
 * is never reused. Datagrams arriving while a socket is parked (a duplicate
 * answer) are read and dropped; a late one arriving after reuse fails the
 * engine's ID/question check like any spoofed reply.
 *
 * TCP (RFC 7766) connects, writes the query with its 2-byte length prefix
 * and reads framed messages until one is accepted; connections are not
 * reused yet (RFC 7766 6.2.1 recommends it; a later optimisation).
 *
 * Lifetime: each query's state (struct ost_upq) holds its socket handle and
 * its timer; it is released by closing both and is freed in the last close
 * callback. Once released it never calls back, which makes cancel() safe at
 * any point, including from inside the query's own callback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ostrov/error.h"
#include "ostrov/log.h"

#include "uvio.h"

#define RXBUF_SIZE   65536
#define TCP_MSG_MAX  65535
#define TCP_FIRST_RX 1024

/** A parked UDP socket idle this long is closed. */
#define UDP_IDLE_MS  1000
/**
 * Parked UDP sockets per transport at most: about the number of queries a
 * busy worker has in flight (a client burst of 200 cache misses sends 200
 * queries at once), each an fd that accepts datagrams from its server only.
 */
#define UDP_MAX_IDLE 256

struct ost_upq {
	struct ost_upq *prev, *next; /* in tp->active while q is set */
	struct ost_uv_transport *tp;
	struct ost_upstream_query *q; /* NULL once released */
	enum ost_proto proto;
	union {
		uv_handle_t handle;
		uv_udp_t udp;
		uv_tcp_t tcp;
	} sock;
	uv_timer_t timer;
	int open_handles;     /* freed when the last close callback ran */
	bool has_sock;        /* sock was initialised */
	bool cancelled_in_cb; /* cancel() was called while its callback ran */
	bool is_parked;       /* in tp->idle (q NULL, handles open) */
	bool send_queued;     /* usend is in flight: not reusable */
	unsigned uses;        /* queries sent on this UDP socket */
	uv_udp_send_t usend;  /* UDP send when try_send would block */
	uv_connect_t connect; /* TCP */
	uv_write_t write;     /* TCP */
	uint8_t lenbuf[2];    /* TCP length prefix */
	uint8_t *rbuf;        /* TCP receive buffer */
	size_t rlen, rcap;
	struct sockaddr_storage peer; /* UDP: the server the socket is connected to */
};

static void handle_closed(uv_handle_t *h)
{
	struct ost_upq *u = h->data;
	if (--u->open_handles == 0) {
		free(u->rbuf);
		free(u);
	}
}

static void close_handles(struct ost_upq *u)
{
	if (u->has_sock && !uv_is_closing(&u->sock.handle))
		uv_close(&u->sock.handle, handle_closed);
	if (!uv_is_closing((uv_handle_t *)&u->timer))
		uv_close((uv_handle_t *)&u->timer, handle_closed);
}

/* Take a parked socket out of tp->idle. */
static void unpark(struct ost_upq *u)
{
	struct ost_uv_transport *tp = u->tp;
	if (u->prev)
		u->prev->next = u->next;
	else
		tp->idle = u->next;
	if (u->next)
		u->next->prev = u->prev;
	u->prev = u->next = NULL;
	u->is_parked = false;
	tp->n_idle--;
}

/* A parked socket idle too long, or that reported an error: close it. */
static void drop_parked(struct ost_upq *u)
{
	unpark(u);
	close_handles(u);
}

static void on_idle_timeout(uv_timer_t *t)
{
	drop_parked(t->data);
}

/* Park @u (just detached from its query) for reuse, if the bounds allow. */
static bool park(struct ost_upq *u)
{
	struct ost_uv_transport *tp = u->tp;
	if (u->proto != OST_PROTO_UDP || !u->has_sock || u->send_queued ||
	    u->uses >= tp->udp_max_uses || tp->n_idle >= UDP_MAX_IDLE ||
	    uv_is_closing(&u->sock.handle))
		return false;
	uv_timer_stop(&u->timer);
	if (uv_timer_start(&u->timer, on_idle_timeout, UDP_IDLE_MS, 0) < 0)
		return false;
	u->next = tp->idle;
	if (tp->idle)
		tp->idle->prev = u;
	tp->idle = u;
	u->is_parked = true;
	tp->n_idle++;
	return true;
}

/* Detach @u from its query and close its handles (or park the socket when
 * @p may_park and it qualifies); no callback for that query after this. */
static void release_ex(struct ost_upq *u, bool may_park)
{
	if (!u->q)
		return;
	u->q = NULL;
	struct ost_uv_transport *tp = u->tp;
	if (u->prev)
		u->prev->next = u->next;
	else
		tp->active = u->next;
	if (u->next)
		u->next->prev = u->prev;
	u->prev = u->next = NULL;
	if (may_park && park(u))
		return;
	close_handles(u);
}

static void release(struct ost_upq *u)
{
	release_ex(u, false);
}

/* Final failure: release first, then tell the engine, which may free q. */
static void finish_error(struct ost_upq *u, int status)
{
	struct ost_upstream_query *q = u->q;
	if (!q)
		return;
	q->tp_priv = NULL;
	release(u);
	q->cb(q, status, NULL, 0);
}

/*
 * Hand one packet to the engine. While the callback runs, q->tp_priv is
 * cleared (a final answer leaves it cleared, so a later cancel() is a no-op)
 * and tp->delivering lets a cancel() from inside the callback find us.
 * Returns true when the query goes on waiting.
 */
static bool deliver(struct ost_upq *u, const uint8_t *pkt, size_t len)
{
	struct ost_upstream_query *q = u->q;
	if (!q)
		return false;
	struct ost_uv_transport *tp = u->tp;
	struct ost_upq *outer = tp->delivering;
	q->tp_priv = NULL;
	u->cancelled_in_cb = false;
	tp->delivering = u;
	int rc = q->cb(q, 0, pkt, len);
	tp->delivering = outer;
	if (u->cancelled_in_cb)
		return false; /* release() already ran; q may be gone */
	if (rc == -EAGAIN) {
		q->tp_priv = u;
		return true;
	}
	/* An accepted answer: the socket may carry a later query to this
	 * server. q belongs to the engine again and may be freed already. */
	release_ex(u, true);
	return false;
}

static void on_timeout(uv_timer_t *t)
{
	finish_error(t->data, -ETIMEDOUT);
}

/* ---- UDP -------------------------------------------------------------------------- */

/*
 * One receive buffer per transport is enough: libuv calls alloc and recv
 * back to back for each datagram, and the engine copies what it keeps.
 */
static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct ost_upq *u = h->data;
	*buf = uv_buf_init((char *)u->tp->rxbuf, RXBUF_SIZE);
}

static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		     unsigned flags)
{
	(void)flags;
	struct ost_upq *u = h->data;
	if (!u->q) {
		/* Parked: drop what arrives; an error ends the socket. */
		if (nread < 0 && u->is_parked)
			drop_parked(u);
		return;
	}
	if (nread < 0) {
		finish_error(u, (int)nread);
		return;
	}
	if (nread == 0 && !addr)
		return; /* nothing more to read now */
	deliver(u, (const uint8_t *)buf->base, (size_t)nread);
}

static void udp_sent(uv_udp_send_t *req, int status)
{
	struct ost_upq *u = req->handle->data;
	u->send_queued = false;
	if (status < 0 && status != UV_ECANCELED)
		finish_error(u, status);
}

/* Send u->q's query on u's connected socket. */
static int udp_send_query(struct ost_upq *u)
{
	struct ost_upstream_query *q = u->q;
	uv_buf_t buf = uv_buf_init((char *)q->wire, (unsigned)q->len);
	int ret = uv_udp_try_send(&u->sock.udp, &buf, 1, NULL);
	if (ret == UV_EAGAIN) {
		ret = uv_udp_send(&u->usend, &u->sock.udp, &buf, 1, NULL, udp_sent);
		if (ret == 0)
			u->send_queued = true;
	}
	u->uses++;
	return ret < 0 ? ret : 0;
}

/* A parked socket connected to exactly @p addr (address and port), or NULL. */
static struct ost_upq *take_parked(struct ost_uv_transport *tp, const struct sockaddr_storage *addr)
{
	for (struct ost_upq *u = tp->idle; u; u = u->next) {
		const struct sockaddr_storage *a = &u->peer;
		bool same = false;
		if (a->ss_family != addr->ss_family)
			continue;
		if (a->ss_family == AF_INET) {
			const struct sockaddr_in *x = (const void *)a, *y = (const void *)addr;
			same = x->sin_port == y->sin_port &&
			       x->sin_addr.s_addr == y->sin_addr.s_addr;
		} else {
			const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)addr;
			same = x->sin6_port == y->sin6_port &&
			       x->sin6_scope_id == y->sin6_scope_id &&
			       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
		}
		if (same) {
			unpark(u);
			return u;
		}
	}
	return NULL;
}

static int udp_start(struct ost_upq *u)
{
	struct ost_upstream_query *q = u->q;
	int ret = uv_udp_init_ex(u->tp->loop, &u->sock.udp, q->addr.ss_family);
	if (ret < 0)
		return ret;
	u->sock.handle.data = u;
	u->has_sock = true;
	u->open_handles++;
	/* Binds to the wildcard address, port 0 (a random ephemeral port), then connects. */
	ret = uv_udp_connect(&u->sock.udp, (const struct sockaddr *)&q->addr);
	if (ret < 0)
		return ret;
	ret = uv_udp_recv_start(&u->sock.udp, udp_alloc, udp_recv);
	if (ret < 0)
		return ret;
	memcpy(&u->peer, &q->addr, sizeof(u->peer));
	return udp_send_query(u);
}

/* ---- TCP -------------------------------------------------------------------------- */

static void tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct ost_upq *u = h->data;
	size_t need = TCP_FIRST_RX;
	if (u->rlen >= 2)
		need = 2 + (size_t)((u->rbuf[0] << 8) | u->rbuf[1]);
	if (need > u->rcap) {
		uint8_t *nb = realloc(u->rbuf, need);
		if (!nb) {
			*buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
			return;
		}
		u->rbuf = nb;
		u->rcap = need;
	}
	*buf = uv_buf_init((char *)u->rbuf + u->rlen, (unsigned)(u->rcap - u->rlen));
}

static void tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	struct ost_upq *u = s->data;
	if (!u->q || nread == 0)
		return;
	if (nread < 0) {
		/* The server closed before a complete accepted answer. */
		finish_error(u, nread == UV_EOF ? -ECONNRESET : (int)nread);
		return;
	}
	u->rlen += (size_t)nread;
	/* RFC 7766 8: every message carries its 2-byte length; several may arrive at once. */
	while (u->rlen >= 2) {
		size_t mlen = (size_t)((u->rbuf[0] << 8) | u->rbuf[1]);
		if (u->rlen < 2 + mlen)
			return;
		if (!deliver(u, u->rbuf + 2, mlen))
			return;
		u->rlen -= 2 + mlen;
		memmove(u->rbuf, u->rbuf + 2 + mlen, u->rlen);
	}
}

static void tcp_written(uv_write_t *req, int status)
{
	struct ost_upq *u = req->handle->data;
	if (status < 0 && status != UV_ECANCELED)
		finish_error(u, status);
}

static void tcp_connected(uv_connect_t *req, int status)
{
	struct ost_upq *u = req->handle->data;
	if (!u->q)
		return; /* cancelled: libuv reports UV_ECANCELED on close */
	if (status < 0) {
		finish_error(u, status);
		return;
	}
	struct ost_upstream_query *q = u->q;
	u->lenbuf[0] = (uint8_t)(q->len >> 8);
	u->lenbuf[1] = (uint8_t)q->len;
	uv_buf_t bufs[2] = {
		uv_buf_init((char *)u->lenbuf, 2),
		uv_buf_init((char *)q->wire, (unsigned)q->len),
	};
	int ret = uv_write(&u->write, (uv_stream_t *)&u->sock.tcp, bufs, 2, tcp_written);
	if (ret == 0)
		ret = uv_read_start((uv_stream_t *)&u->sock.tcp, tcp_alloc, tcp_read);
	if (ret < 0)
		finish_error(u, ret);
}

static int tcp_start(struct ost_upq *u)
{
	struct ost_upstream_query *q = u->q;
	if (q->len > TCP_MSG_MAX)
		return -EMSGSIZE;
	int ret = uv_tcp_init(u->tp->loop, &u->sock.tcp);
	if (ret < 0)
		return ret;
	u->sock.handle.data = u;
	u->has_sock = true;
	u->open_handles++;
	return uv_tcp_connect(&u->connect, &u->sock.tcp, (const struct sockaddr *)&q->addr,
			      tcp_connected);
}

/* ---- the transport operations ------------------------------------------------------- */

static int uvt_send(void *ctx, struct ost_upstream_query *q)
{
	struct ost_uv_transport *tp = ctx;
	char text[OST_ADDR_TEXT_MAX];
	const struct sockaddr *sa = (const struct sockaddr *)&q->addr;
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	if (q->proto >= OST_PROTO_COUNT || !q->cb || !q->wire || q->len == 0)
		return -EINVAL;
	/* TEAM.md rule 1: nothing leaves for an address the operator did not allow. */
	if (!ost_acl_match(tp->allow, sa)) {
		ost_log(OST_LOG_WARN, "upstream", "upstream address not allowed addr=%s",
			ost_sockaddr_str(sa, text, sizeof(text)));
		return OST_ENOTALLOWED;
	}
	int ret;
	struct ost_upq *u = q->proto == OST_PROTO_UDP ? take_parked(tp, &q->addr) : NULL;
	if (u) {
		uv_timer_stop(&u->timer);
		u->q = q;
		u->next = tp->active;
		if (tp->active)
			tp->active->prev = u;
		tp->active = u;
		ret = udp_send_query(u);
		if (ret < 0) {
			release(u);
			return ret;
		}
		q->tp_priv = u;
		uv_timer_start(&u->timer, on_timeout, q->timeout_ms, 0);
		return 0;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->tp = tp;
	u->q = q;
	u->proto = q->proto;
	ret = uv_timer_init(tp->loop, &u->timer);
	if (ret < 0) {
		free(u);
		return ret;
	}
	u->timer.data = u;
	u->open_handles = 1;
	/* Link first so that release() on a failed start unlinks consistently. */
	u->next = tp->active;
	if (tp->active)
		tp->active->prev = u;
	tp->active = u;
	ret = q->proto == OST_PROTO_UDP ? udp_start(u) : tcp_start(u);
	if (ret < 0) {
		ost_log(OST_LOG_DEBUG, "upstream", "send failed addr=%s err=\"%s\"",
			ost_sockaddr_str(sa, text, sizeof(text)), ost_strerror(ret));
		release(u);
		return ret;
	}
	q->tp_priv = u;
	uv_timer_start(&u->timer, on_timeout, q->timeout_ms, 0);
	return 0;
}

static void uvt_cancel(void *ctx, struct ost_upstream_query *q)
{
	struct ost_uv_transport *tp = ctx;
	struct ost_upq *u = q->tp_priv;
	if (!u && tp->delivering && tp->delivering->q == q) {
		/* Cancelled from inside its own callback. */
		u = tp->delivering;
		u->cancelled_in_cb = true;
	}
	q->tp_priv = NULL;
	if (u)
		release(u);
}

static const struct ost_transport_ops uv_transport_ops = {
	.send = uvt_send,
	.cancel = uvt_cancel,
};

int ost_uv_transport_init(struct ost_uv_transport *t, uv_loop_t *loop, const struct ost_acl *allow)
{
	memset(t, 0, sizeof(*t));
	t->rxbuf = malloc(RXBUF_SIZE);
	if (!t->rxbuf)
		return -ENOMEM;
	t->tp.ops = &uv_transport_ops;
	t->tp.ctx = t;
	t->loop = loop;
	t->allow = allow;
	t->udp_max_uses = 1;
	return 0;
}

void ost_uv_transport_deinit(struct ost_uv_transport *t)
{
	while (t->active) {
		struct ost_upq *u = t->active;
		u->q->tp_priv = NULL;
		release(u);
	}
	while (t->idle)
		drop_parked(t->idle);
	free(t->rxbuf);
	t->rxbuf = NULL;
}

size_t ost_uv_transport_active(const struct ost_uv_transport *t)
{
	size_t n = 0;
	for (const struct ost_upq *u = t->active; u; u = u->next)
		n++;
	return n;
}
