/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for server/upstream.c and server/clock.c against a tiny DNS
 * responder on 127.0.0.1 that runs in the same libuv loop as the transport:
 * an answer over UDP and TCP, spoofed replies (wrong ID via the -EAGAIN path,
 * and a reply from another port that the connected socket never delivers),
 * timeouts, connection refused, the upstream allow-list, cancel() before and
 * during a callback, and the clock's timers. Waiting is always for an event,
 * with a guard timer as the deadline; nothing sleeps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "ostrov/config.h"

#include "uvio.h"

enum mode {
	MODE_ANSWER,    /* reply with the query, QR set */
	MODE_SPOOF,     /* off-port reply, wrong-ID reply, then the real one */
	MODE_SILENT,    /* never reply */
	MODE_TCP_CLOSE, /* TCP: close the connection without replying */
};

struct responder {
	uv_udp_t udp;   /* the server socket */
	uv_udp_t other; /* another port on the same address, for spoofing */
	uv_tcp_t listener;
	uv_tcp_t *conns[8]; /* accepted connections, heap, freed in their close callback */
	int n_conns;
	struct sockaddr_in udp_addr, tcp_addr;
	enum mode mode;
	int udp_received, tcp_received, sent;
	uint16_t ports[64]; /* source ports of the UDP queries received, in order */
	int n_ports;
	uint16_t other_ports[8]; /* the same for queries to `other` (test_udp_port_reuse) */
	int n_other;
	uint8_t rx[65536];
	uint8_t tcp_buf[4096];
	size_t tcp_len;
};

struct fixture {
	uv_loop_t loop;
	struct responder r;
	struct ost_uv_clock clock;
	struct ost_uv_transport tp;
	struct ost_acl allow;
};

/* What the "engine" saw of one query. */
struct engine {
	struct fixture *fx;
	uint16_t want_id;
	int calls, delivered, rejected;
	int status;
	bool done, saw_offport, cancel_in_cb;
	size_t last_len;
};

static struct fixture *FX;

/* ---- the responder ---- */

static void make_reply(uint8_t *pkt, size_t len, bool wrong_id, uint8_t rcode)
{
	(void)len;
	pkt[2] |= 0x80;
	pkt[3] = (uint8_t)((pkt[3] & 0xf0) | rcode);
	if (wrong_id)
		pkt[0] ^= 0xff;
}

static void r_alloc(uv_handle_t *h, size_t s, uv_buf_t *buf)
{
	(void)s;
	struct responder *r = h->data;
	*buf = uv_buf_init((char *)r->rx, sizeof(r->rx));
}

static void r_udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		       unsigned flags)
{
	(void)flags;
	struct responder *r = h->data;
	if (nread <= 0 || !addr)
		return;
	r->udp_received++;
	if (r->n_ports < 64)
		r->ports[r->n_ports++] = ntohs(((const struct sockaddr_in *)addr)->sin_port);
	uint8_t pkt[512];
	size_t len = (size_t)nread < sizeof(pkt) ? (size_t)nread : sizeof(pkt);
	uv_buf_t b = uv_buf_init((char *)pkt, (unsigned)len);
	switch (r->mode) {
	case MODE_SPOOF:
		/* Right ID but from another port, marked NXDOMAIN: must never be delivered. */
		memcpy(pkt, buf->base, len);
		make_reply(pkt, len, false, 3);
		assert_true(uv_udp_try_send(&r->other, &b, 1, addr) == (int)len);
		/* From the right port with the wrong ID: delivered and rejected. */
		memcpy(pkt, buf->base, len);
		make_reply(pkt, len, true, 0);
		assert_true(uv_udp_try_send(&r->udp, &b, 1, addr) == (int)len);
		r->sent += 2;
		/* fall through */
	case MODE_ANSWER:
		memcpy(pkt, buf->base, len);
		make_reply(pkt, len, false, 0);
		assert_true(uv_udp_try_send(&r->udp, &b, 1, addr) == (int)len);
		r->sent++;
		break;
	default:
		break;
	}
}

/* `other` as a second server: answers from its own port. */
static void r_other_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
			 const struct sockaddr *addr, unsigned flags)
{
	(void)flags;
	struct responder *r = h->data;
	if (nread <= 0 || !addr || nread > 512)
		return;
	if (r->n_other < 8)
		r->other_ports[r->n_other++] = ntohs(((const struct sockaddr_in *)addr)->sin_port);
	uint8_t pkt[512];
	memcpy(pkt, buf->base, (size_t)nread);
	make_reply(pkt, (size_t)nread, false, 0);
	uv_buf_t b = uv_buf_init((char *)pkt, (unsigned)nread);
	assert_true(uv_udp_try_send(&r->other, &b, 1, addr) == (int)nread);
}

static void free_handle(uv_handle_t *h)
{
	free(h);
}

static void r_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	struct responder *r = s->data;
	if (nread <= 0)
		return;
	r->tcp_len += (size_t)nread;
	if (r->tcp_len < 2)
		return;
	size_t mlen = (size_t)((r->tcp_buf[0] << 8) | r->tcp_buf[1]);
	if (r->tcp_len < 2 + mlen)
		return;
	r->tcp_received++;
	if (r->mode == MODE_TCP_CLOSE) {
		for (int i = 0; i < r->n_conns; i++) {
			if (r->conns[i] == (uv_tcp_t *)s) {
				r->conns[i] = NULL;
				uv_close((uv_handle_t *)s, free_handle);
			}
		}
		return;
	}
	/* Two framed replies in one write: the wrong ID first, then the right one. */
	static uint8_t out[2 * (2 + 512)];
	size_t n = 0;
	for (int k = 0; k < 2; k++) {
		memcpy(out + n, r->tcp_buf, 2 + mlen);
		make_reply(out + n + 2, mlen, k == 0, 0);
		n += 2 + mlen;
	}
	uv_buf_t b = uv_buf_init((char *)out, (unsigned)n);
	assert_int_equal(uv_try_write(s, &b, 1), (int)n);
	r->sent += 2;
}

static void r_tcp_alloc(uv_handle_t *h, size_t s, uv_buf_t *buf)
{
	(void)s;
	struct responder *r = h->data;
	*buf = uv_buf_init((char *)r->tcp_buf + r->tcp_len,
			   (unsigned)(sizeof(r->tcp_buf) - r->tcp_len));
}

static void r_accept(uv_stream_t *server, int status)
{
	struct responder *r = server->data;
	assert_int_equal(status, 0);
	assert_true(r->n_conns < 8);
	uv_tcp_t *c = malloc(sizeof(*c));
	assert_non_null(c);
	assert_int_equal(uv_tcp_init(server->loop, c), 0);
	c->data = r;
	r->conns[r->n_conns++] = c;
	r->tcp_len = 0;
	assert_int_equal(uv_accept(server, (uv_stream_t *)c), 0);
	assert_int_equal(uv_read_start((uv_stream_t *)c, r_tcp_alloc, r_tcp_read), 0);
}

static void bind_udp(uv_loop_t *loop, uv_udp_t *h, struct sockaddr_in *out, void *data)
{
	struct sockaddr_in a;
	uv_ip4_addr("127.0.0.1", 0, &a);
	assert_int_equal(uv_udp_init(loop, h), 0);
	h->data = data;
	assert_int_equal(uv_udp_bind(h, (struct sockaddr *)&a, 0), 0);
	int len = sizeof(*out);
	assert_int_equal(uv_udp_getsockname(h, (struct sockaddr *)out, &len), 0);
}

/* A port on 127.0.0.1 where nothing listens: bind, read the port, close. */
static uint16_t closed_port(int type)
{
	int fd = socket(AF_INET, type, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* ---- fixture ---- */

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	struct responder *r = &fx->r;
	bind_udp(&fx->loop, &r->udp, &r->udp_addr, r);
	struct sockaddr_in other;
	bind_udp(&fx->loop, &r->other, &other, r);
	assert_int_equal(uv_udp_recv_start(&r->udp, r_alloc, r_udp_recv), 0);
	assert_int_equal(uv_tcp_init(&fx->loop, &r->listener), 0);
	r->listener.data = r;
	struct sockaddr_in a;
	uv_ip4_addr("127.0.0.1", 0, &a);
	assert_int_equal(uv_tcp_bind(&r->listener, (struct sockaddr *)&a, 0), 0);
	int len = sizeof(r->tcp_addr);
	assert_int_equal(uv_tcp_getsockname(&r->listener, (struct sockaddr *)&r->tcp_addr, &len),
			 0);
	assert_int_equal(uv_listen((uv_stream_t *)&r->listener, 8, r_accept), 0);
	struct ost_cidr c;
	assert_int_equal(ost_cidr_parse("127.0.0.0/8", &c), 0);
	assert_int_equal(ost_acl_add(&fx->allow, &c), 0);
	ost_uv_clock_init(&fx->clock, &fx->loop);
	assert_int_equal(ost_uv_transport_init(&fx->tp, &fx->loop, &fx->allow), 0);
	FX = fx;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	ost_uv_transport_deinit(&fx->tp);
	ost_uv_clock_deinit(&fx->clock);
	uv_close((uv_handle_t *)&fx->r.udp, NULL);
	uv_close((uv_handle_t *)&fx->r.other, NULL);
	uv_close((uv_handle_t *)&fx->r.listener, NULL);
	for (int i = 0; i < fx->r.n_conns; i++)
		if (fx->r.conns[i])
			uv_close((uv_handle_t *)fx->r.conns[i], free_handle);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	/* Every handle the transport and clock opened has been closed and freed. */
	int rc = uv_loop_close(&fx->loop);
	ost_acl_deinit(&fx->allow);
	free(fx);
	return rc == 0 ? 0 : -1;
}

static void guard_fired(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

/* Run the loop until @cond holds, failing after @ms (a guard timer wakes the loop). */
#define RUN_UNTIL(loop, cond, ms)                                                     \
	do {                                                                          \
		bool expired_ = false;                                                \
		uv_timer_t guard_;                                                    \
		uv_timer_init((loop), &guard_);                                       \
		guard_.data = &expired_;                                              \
		uv_timer_start(&guard_, guard_fired, (ms), 0);                        \
		while (!(cond) && !expired_)                                          \
			uv_run((loop), UV_RUN_ONCE);                                  \
		uv_close((uv_handle_t *)&guard_, NULL);                               \
		uv_run((loop), UV_RUN_NOWAIT);                                        \
		if (!(cond))                                                          \
			fail_msg("%s did not happen within %d ms", #cond, (int)(ms)); \
	} while (0)

/* Process whatever is already queued (packets in flight on loopback). */
static void drain(uv_loop_t *loop)
{
	for (int i = 0; i < 5; i++)
		uv_run(loop, UV_RUN_NOWAIT);
}

/* ---- the engine side ---- */

static const uint8_t query_wire[] = {
	0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 2,    'r',  'u',  0,    0x00, 0x02, 0x00, 0x01, /* ru. NS IN */
};

static int engine_cb(struct ost_upstream_query *q, int status, const uint8_t *pkt, size_t len)
{
	struct engine *e = q->arg;
	e->calls++;
	if (status != 0) {
		assert_null(pkt);
		e->status = status;
		e->done = true;
		return 0;
	}
	e->delivered++;
	if (len >= 12 && (pkt[3] & 0x0f) == 3)
		e->saw_offport = true;
	if (len < 12 || ((pkt[0] << 8) | pkt[1]) != e->want_id) {
		e->rejected++;
		if (e->cancel_in_cb)
			e->fx->tp.tp.ops->cancel(e->fx->tp.tp.ctx, q);
		return -EAGAIN;
	}
	e->status = 0;
	e->last_len = len;
	e->done = true;
	return 0;
}

static void init_query(struct ost_upstream_query *q, struct engine *e, const struct sockaddr_in *to,
		       enum ost_proto proto, uint32_t timeout_ms)
{
	memset(q, 0, sizeof(*q));
	memcpy(&q->addr, to, sizeof(*to));
	q->addrlen = sizeof(*to);
	q->proto = proto;
	q->wire = query_wire;
	q->len = sizeof(query_wire);
	q->timeout_ms = timeout_ms;
	q->cb = engine_cb;
	q->arg = e;
	e->fx = FX;
	e->want_id = 0x1234;
}

static int tp_send(struct fixture *fx, struct ost_upstream_query *q)
{
	return fx->tp.tp.ops->send(fx->tp.tp.ctx, q);
}

static void test_udp_answer(void **state)
{
	struct fixture *fx = *state;
	fx->r.mode = MODE_ANSWER;
	struct engine e = {0};
	struct ost_upstream_query q;
	init_query(&q, &e, &fx->r.udp_addr, OST_PROTO_UDP, 2000);
	assert_int_equal(tp_send(fx, &q), 0);
	assert_int_equal(ost_uv_transport_active(&fx->tp), 1);
	RUN_UNTIL(&fx->loop, e.done, 2000);
	assert_int_equal(e.status, 0);
	assert_int_equal(e.calls, 1);
	assert_int_equal(e.last_len, sizeof(query_wire));
	assert_int_equal(ost_uv_transport_active(&fx->tp), 0);
	assert_null(q.tp_priv);
	/* Cancel after completion is a no-op. */
	fx->tp.tp.ops->cancel(fx->tp.tp.ctx, &q);
}

static void test_udp_spoof(void **state)
{
	struct fixture *fx = *state;
	fx->r.mode = MODE_SPOOF;
	struct engine e = {0};
	struct ost_upstream_query q;
	init_query(&q, &e, &fx->r.udp_addr, OST_PROTO_UDP, 2000);
	assert_int_equal(tp_send(fx, &q), 0);
	RUN_UNTIL(&fx->loop, e.done, 2000);
	assert_int_equal(fx->r.sent, 3);
	assert_int_equal(e.status, 0);
	/* The wrong-ID packet came through and was rejected; the off-port one never came. */
	assert_int_equal(e.delivered, 2);
	assert_int_equal(e.rejected, 1);
	assert_false(e.saw_offport);
}

static void test_udp_timeout(void **state)
{
	struct fixture *fx = *state;
	fx->r.mode = MODE_SILENT;
	struct engine e = {0};
	struct ost_upstream_query q;
	init_query(&q, &e, &fx->r.udp_addr, OST_PROTO_UDP, 150);
	uint64_t t0 = ost_clock_mono_ms(&fx->clock.clock);
	assert_int_equal(tp_send(fx, &q), 0);
	RUN_UNTIL(&fx->loop, e.done, 3000);
	uint64_t t1 = ost_clock_mono_ms(&fx->clock.clock);
	assert_int_equal(e.status, -ETIMEDOUT);
	assert_int_equal(e.calls, 1);
	assert_int_equal(fx->r.udp_received, 1);
	assert_true(t1 - t0 >= 150);
}

/* One query and its answer, to @p to; @return the status. */
static int one_udp_query(struct fixture *fx, const struct sockaddr_in *to, uint32_t timeout_ms)
{
	struct engine e = {0};
	struct ost_upstream_query q;
	init_query(&q, &e, to, OST_PROTO_UDP, timeout_ms);
	assert_int_equal(tp_send(fx, &q), 0);
	RUN_UNTIL(&fx->loop, e.done, 3000);
	return e.status;
}

/*
 * RFC 5452 with reused sockets (upstream.c, resolver.upstream-port-reuse 8):
 * a UDP socket carries at most 8 queries, only to the server it is connected
 * to, and never
 * again after a timeout, so consecutive queries beyond that bound, to another
 * server, or after a timeout, come from another (kernel-random) port.
 */
static void test_udp_port_reuse(void **state)
{
	struct fixture *fx = *state;
	struct responder *r = &fx->r;
	struct sockaddr_in other;
	int len = sizeof(other);
	r->mode = MODE_ANSWER;
	/* The default: a fresh socket (kernel-random port) for every query,
	 * none kept after its answer. */
	assert_int_equal(fx->tp.udp_max_uses, 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(one_udp_query(fx, &r->udp_addr, 2000), 0);
		assert_int_equal(fx->tp.n_idle, 0);
	}
	r->n_ports = 0;
	fx->tp.udp_max_uses = 8;
	assert_int_equal(one_udp_query(fx, &r->udp_addr, 2000), 0);
	assert_int_equal(fx->tp.n_idle, 1);
	for (int i = 1; i < 20; i++)
		assert_int_equal(one_udp_query(fx, &r->udp_addr, 2000), 0);
	assert_int_equal(r->n_ports, 20);
	int distinct = 0;
	for (int i = 0; i < 20; i++) {
		int same = 0, seen_before = 0;
		for (int j = 0; j < 20; j++)
			same += r->ports[j] == r->ports[i];
		for (int j = 0; j < i; j++)
			seen_before += r->ports[j] == r->ports[i];
		assert_true(same <= 8);
		distinct += seen_before == 0;
	}
	assert_true(distinct >= 3); /* 20 queries, 8 per port at most */
	/* another server never gets a socket connected to the first */
	assert_int_equal(uv_udp_getsockname(&r->other, (struct sockaddr *)&other, &len), 0);
	assert_int_equal(uv_udp_recv_start(&r->other, r_alloc, r_other_recv), 0);
	assert_int_equal(one_udp_query(fx, &other, 2000), 0);
	assert_int_equal(r->n_other, 1);
	for (int i = 0; i < 20; i++)
		assert_int_not_equal(r->other_ports[0], r->ports[i]);
	/* a timed-out socket is closed: the next query has a new port */
	r->mode = MODE_SILENT;
	assert_int_equal(one_udp_query(fx, &r->udp_addr, 50), -ETIMEDOUT);
	r->mode = MODE_ANSWER;
	assert_int_equal(one_udp_query(fx, &r->udp_addr, 2000), 0);
	assert_int_equal(r->n_ports, 22);
	assert_int_not_equal(r->ports[21], r->ports[20]);
	assert_int_equal(ost_uv_transport_active(&fx->tp), 0);
}

static void test_udp_refused(void **state)
{
	struct fixture *fx = *state;
	struct engine e = {0};
	struct ost_upstream_query q;
	struct sockaddr_in to;
	uv_ip4_addr("127.0.0.1", closed_port(SOCK_DGRAM), &to);
	init_query(&q, &e, &to, OST_PROTO_UDP, 3000);
	assert_int_equal(tp_send(fx, &q), 0);
	RUN_UNTIL(&fx->loop, e.done, 2000);
	assert_int_equal(e.status, -ECONNREFUSED);
	assert_int_equal(e.calls, 1);
}

static void test_allow_list(void **state)
{
	struct fixture *fx = *state;
	struct engine e = {0};
	struct ost_upstream_query q;
	/* An address outside the list: refused before any socket exists. */
	struct sockaddr_in to;
	uv_ip4_addr("192.0.2.1", 53, &to);
	init_query(&q, &e, &to, OST_PROTO_UDP, 1000);
	assert_int_equal(tp_send(fx, &q), OST_ENOTALLOWED);
	init_query(&q, &e, &to, OST_PROTO_TCP, 1000);
	assert_int_equal(tp_send(fx, &q), OST_ENOTALLOWED);
	/* The responder itself, with a list that does not include it. */
	struct ost_acl narrow = {0};
	struct ost_cidr c;
	assert_int_equal(ost_cidr_parse("127.53.0.0/16", &c), 0);
	assert_int_equal(ost_acl_add(&narrow, &c), 0);
	fx->tp.allow = &narrow;
	init_query(&q, &e, &fx->r.udp_addr, OST_PROTO_UDP, 1000);
	assert_int_equal(tp_send(fx, &q), OST_ENOTALLOWED);
	fx->tp.allow = &fx->allow;
	ost_acl_deinit(&narrow);
	drain(&fx->loop);
	assert_int_equal(fx->r.udp_received, 0);
	assert_int_equal(e.calls, 0);
	assert_int_equal(ost_uv_transport_active(&fx->tp), 0);
	/* Not an IP address at all. */
	q.addr.ss_family = AF_UNIX;
	assert_int_equal(tp_send(fx, &q), -EAFNOSUPPORT);
}

static void test_tcp_answer(void **state)
{
	struct fixture *fx = *state;
	fx->r.mode = MODE_ANSWER;
	struct engine e = {0};
	struct ost_upstream_query q;
	init_query(&q, &e, &fx->r.tcp_addr, OST_PROTO_TCP, 2000);
	assert_int_equal(tp_send(fx, &q), 0);
	RUN_UNTIL(&fx->loop, e.done, 2000);
	assert_int_equal(fx->r.tcp_received, 1);
	assert_int_equal(e.status, 0);
	/* Both framed replies arrived; the wrong ID one was rejected first. */
	assert_int_equal(e.delivered, 2);
	assert_int_equal(e.rejected, 1);
	assert_int_equal(e.last_len, sizeof(query_wire));
}

static void test_tcp_refused_and_closed(void **state)
{
	struct fixture *fx = *state;
	struct engine e = {0};
	struct ost_upstream_query q;
	struct sockaddr_in to;
	uv_ip4_addr("127.0.0.1", closed_port(SOCK_STREAM), &to);
	init_query(&q, &e, &to, OST_PROTO_TCP, 2000);
	assert_int_equal(tp_send(fx, &q), 0);
	RUN_UNTIL(&fx->loop, e.done, 2000);
	assert_int_equal(e.status, -ECONNREFUSED);

	fx->r.mode = MODE_TCP_CLOSE;
	struct engine e2 = {0};
	init_query(&q, &e2, &fx->r.tcp_addr, OST_PROTO_TCP, 2000);
	assert_int_equal(tp_send(fx, &q), 0);
	RUN_UNTIL(&fx->loop, e2.done, 2000);
	assert_int_equal(e2.status, -ECONNRESET);
	assert_int_equal(e2.calls, 1);
}

static void test_cancel(void **state)
{
	struct fixture *fx = *state;
	fx->r.mode = MODE_ANSWER;
	struct engine e = {0};
	struct ost_upstream_query q;
	/* Cancelled right after send: the answer comes back, the callback never runs. */
	init_query(&q, &e, &fx->r.udp_addr, OST_PROTO_UDP, 50);
	assert_int_equal(tp_send(fx, &q), 0);
	fx->tp.tp.ops->cancel(fx->tp.tp.ctx, &q);
	assert_int_equal(ost_uv_transport_active(&fx->tp), 0);
	RUN_UNTIL(&fx->loop, fx->r.sent == 1, 2000);
	drain(&fx->loop);
	assert_int_equal(e.calls, 0);

	/* Cancelled from inside its own callback: nothing after that, not even the answer. */
	fx->r.mode = MODE_SPOOF;
	fx->r.sent = 0;
	struct engine e2 = {.cancel_in_cb = true};
	init_query(&q, &e2, &fx->r.udp_addr, OST_PROTO_UDP, 50);
	e2.cancel_in_cb = true;
	assert_int_equal(tp_send(fx, &q), 0);
	RUN_UNTIL(&fx->loop, e2.rejected == 1, 2000);
	drain(&fx->loop);
	assert_int_equal(fx->r.sent, 3);
	assert_int_equal(e2.calls, 1);
	assert_false(e2.done);

	/* A TCP query cancelled while connecting. */
	struct engine e3 = {0};
	init_query(&q, &e3, &fx->r.tcp_addr, OST_PROTO_TCP, 50);
	assert_int_equal(tp_send(fx, &q), 0);
	fx->tp.tp.ops->cancel(fx->tp.tp.ctx, &q);
	drain(&fx->loop);
	assert_int_equal(e3.calls, 0);

	/* Queries still in flight at deinit are dropped silently (teardown checks the loop). */
	struct engine e4 = {0};
	fx->r.mode = MODE_SILENT;
	init_query(&q, &e4, &fx->r.udp_addr, OST_PROTO_UDP, 10);
	assert_int_equal(tp_send(fx, &q), 0);
	struct ost_upstream_query q2;
	init_query(&q2, &e4, &fx->r.tcp_addr, OST_PROTO_TCP, 10);
	assert_int_equal(tp_send(fx, &q2), 0);
	assert_int_equal(ost_uv_transport_active(&fx->tp), 2);
	ost_uv_transport_deinit(&fx->tp);
	assert_int_equal(ost_uv_transport_init(&fx->tp, &fx->loop, &fx->allow), 0);
	drain(&fx->loop);
	assert_int_equal(e4.calls, 0);
}

/* ---- the clock ---- */

struct tick {
	int fired;
	uint64_t at;
	struct ost_clock *clock;
};

static void tick_cb(void *arg)
{
	struct tick *t = arg;
	t->fired++;
	t->at = ost_clock_mono_ms(t->clock);
}

static void test_clock(void **state)
{
	struct fixture *fx = *state;
	struct ost_clock *c = &fx->clock.clock;
	int64_t wall = ost_clock_wall_s(c);
	int64_t now = (int64_t)time(NULL);
	assert_true(wall >= now - 1 && wall <= now + 1);

	struct tick a = {.clock = c}, b = {.clock = c}, d = {.clock = c};
	uint64_t t0 = ost_clock_mono_ms(c);
	struct ost_timer *ta = ost_clock_timer_start(c, 40, tick_cb, &a);
	struct ost_timer *tb = ost_clock_timer_start(c, 10, tick_cb, &b);
	assert_non_null(ta);
	assert_non_null(tb);
	ost_clock_timer_stop(c, tb);
	ost_clock_timer_stop(c, NULL);
	RUN_UNTIL(&fx->loop, a.fired == 1, 2000);
	assert_true(a.at - t0 >= 40);
	assert_int_equal(b.fired, 0); /* stopped before it was due, never fires */
	/* Deinit disarms what is still armed. */
	assert_non_null(ost_clock_timer_start(c, 5, tick_cb, &d));
	assert_non_null(fx->clock.armed);
	ost_uv_clock_deinit(&fx->clock);
	assert_null(fx->clock.armed);
	struct tick e = {.clock = c};
	assert_non_null(ost_clock_timer_start(c, 20, tick_cb, &e));
	RUN_UNTIL(&fx->loop, e.fired == 1, 2000);
	assert_int_equal(d.fired, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_spoof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_port_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allow_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_refused_and_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
