/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The "echo resolver": a trivial forwarder used ONLY by the runner's own
 * self-tests (tests/replay/selftest/). It sends each client query, under a
 * fresh ID, to the first root address of the scenario through the fake
 * transport, and returns the upstream reply with the client's ID; on a
 * timeout it answers SERVFAIL. It lets the runner's checking (CHECK_ANSWER,
 * CHECK_OUT_QUERY, REPLY, TIME_PASSES, timeouts) be proven without the
 * engine. It is no resolver and never runs a conformance scenario.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpl.h"

struct echo;

/** One forwarded query. */
struct echo_req {
	struct ost_upstream_query q; /**< the upstream query */
	struct echo *echo;           /**< owner */
	uint8_t *wire;               /**< upstream query bytes, owned */
	ldns_pkt *query;             /**< the client query, owned */
	rpl_answer_cb cb;            /**< client callback */
	void *arg;                   /**< its argument */
	bool is_done;                /**< upstream finished */
	struct echo_req *next;       /**< all requests */
};

struct echo {
	const struct ost_transport *tp;
	struct sockaddr_storage server;
	uint16_t next_id;
	struct echo_req *reqs;
};

static void answer(struct echo_req *rq, ldns_pkt *p)
{
	uint8_t *wire = NULL;
	size_t len = 0;

	ldns_pkt_set_id(p, ldns_pkt_id(rq->query));
	ldns_pkt_set_rd(p, ldns_pkt_rd(rq->query));
	if (ldns_pkt2wire(&wire, p, &len) == LDNS_STATUS_OK)
		rq->cb(rq->arg, wire, len);
	free(wire);
}

static int on_upstream(struct ost_upstream_query *q, int status, const uint8_t *pkt, size_t len)
{
	struct echo_req *rq = q->arg;
	ldns_pkt *p = NULL;

	if (status == 0) {
		/* like any resolver: a reply with the wrong ID is not ours */
		if (len < 2 ||
		    (uint16_t)(pkt[0] << 8 | pkt[1]) != (uint16_t)(rq->wire[0] << 8 | rq->wire[1]))
			return -EAGAIN;
		if (ldns_wire2pkt(&p, pkt, len) != LDNS_STATUS_OK)
			p = NULL;
	}
	rq->is_done = true;
	if (!p) {
		p = ldns_pkt_clone(rq->query);
		if (!p)
			return 0;
		ldns_pkt_set_qr(p, true);
		ldns_pkt_set_ra(p, true);
		ldns_pkt_set_rcode(p, LDNS_RCODE_SERVFAIL);
	}
	answer(rq, p);
	ldns_pkt_free(p);
	return 0;
}

static int echo_open(void **st, const struct rpl_settings *s, const struct rpl_scenario *sc,
		     const struct ost_clock *clock, const struct ost_transport *tp, char *err,
		     size_t errlen)
{
	struct echo *e;

	(void)sc;
	(void)clock;
	if (!s->root.naddrs) {
		snprintf(err, errlen, "the echo resolver needs a root stub-addr");
		return -ENOTSUP;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->tp = tp;
	e->server = s->root.addrs[0];
	e->next_id = 0x1000;
	if (e->server.ss_family == AF_INET && !((struct sockaddr_in *)&e->server)->sin_port)
		((struct sockaddr_in *)&e->server)->sin_port = htons(53);
	if (e->server.ss_family == AF_INET6 && !((struct sockaddr_in6 *)&e->server)->sin6_port)
		((struct sockaddr_in6 *)&e->server)->sin6_port = htons(53);
	*st = e;
	return 0;
}

static int echo_query(void *st, const uint8_t *wire, size_t len, rpl_answer_cb cb, void *arg)
{
	struct echo *e = st;
	struct echo_req *rq = calloc(1, sizeof(*rq));
	int ret;

	if (!rq)
		return -ENOMEM;
	if (ldns_wire2pkt(&rq->query, wire, len) != LDNS_STATUS_OK || len < 12) {
		free(rq);
		return -EINVAL;
	}
	rq->wire = malloc(len);
	if (!rq->wire) {
		ldns_pkt_free(rq->query);
		free(rq);
		return -ENOMEM;
	}
	memcpy(rq->wire, wire, len);
	rq->wire[0] = (uint8_t)(e->next_id >> 8);
	rq->wire[1] = (uint8_t)e->next_id;
	e->next_id++;
	rq->echo = e;
	rq->cb = cb;
	rq->arg = arg;
	rq->q.addr = e->server;
	rq->q.addrlen = e->server.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						       : sizeof(struct sockaddr_in6);
	rq->q.proto = OST_PROTO_UDP;
	rq->q.wire = rq->wire;
	rq->q.len = len;
	rq->q.timeout_ms = 1500;
	rq->q.cb = on_upstream;
	rq->q.arg = rq;
	rq->next = e->reqs;
	e->reqs = rq;
	ret = e->tp->ops->send(e->tp->ctx, &rq->q);
	if (ret != 0)
		rq->is_done = true;
	return ret;
}

static void echo_close(void *st)
{
	struct echo *e = st;

	while (e->reqs) {
		struct echo_req *rq = e->reqs;
		e->reqs = rq->next;
		if (!rq->is_done)
			e->tp->ops->cancel(e->tp->ctx, &rq->q);
		ldns_pkt_free(rq->query);
		free(rq->wire);
		free(rq);
	}
	free(e);
}

const struct rpl_resolver_ops rpl_echo_resolver = {
	.name = "echo",
	.open = echo_open,
	.query = echo_query,
	.close = echo_close,
};
