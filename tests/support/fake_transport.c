/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The fake network's transport (see ost_test.h): a struct ost_transport that
 * logs every query the code under test sends, asks the servers (fake_auth.c)
 * or an installed responder for its replies, and delivers them on the fake
 * clock. Each reply is a timer of its own, so a query may see a spoofed
 * packet, then its answer, then its timeout; a packet the callback rejects
 * with -EAGAIN keeps the query waiting (transport.h), anything else ends it
 * and drops the replies still scheduled. send() never calls back from
 * inside itself: the engine must not be re-entered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_internal.h"
#include "ost_test.h"

/** One scheduled reply. */
struct fake_event {
	struct fake_event *next;   /**< next of the same query */
	struct fake_pending *pend; /**< its query */
	struct ost_timer *timer;   /**< armed until it fires */
	uint8_t *wire;             /**< the packet (owned), or NULL */
	size_t len;                /**< its length */
	int status;                /**< 0 or a negative errno */
};

/** One query in flight. */
struct fake_pending {
	struct fake_pending *next;     /**< next in flight */
	struct fake_net *net;          /**< its network */
	struct ost_upstream_query *uq; /**< the query (borrowed) */
	struct fake_event *events;     /**< its replies still to come */
};

static void pending_free(struct fake_pending *p)
{
	struct fake_net *n = p->net;

	for (struct fake_pending **pp = &n->pending; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	struct fake_event *e = p->events;
	while (e) {
		struct fake_event *x = e->next;
		ost_clock_timer_stop(&n->clk->clock, e->timer);
		free(e->wire);
		free(e);
		e = x;
	}
	free(p);
}

static void on_event(void *arg)
{
	struct fake_event *e = arg;
	struct fake_pending *p = e->pend;
	struct fake_net *n = p->net;

	e->timer = NULL;
	int ret = p->uq->cb(p->uq, e->status, e->wire, e->len);
	bool is_rejected = e->status == 0 && ret == -EAGAIN;
	if (n->is_cb_checked && ret != 0 && !is_rejected)
		fake_fail("callback returned %d to status %d", ret, e->status);
	/* A rejected packet leaves the query waiting while a reply is still to come. */
	for (const struct fake_event *x = p->events; is_rejected && x; x = x->next) {
		if (x->timer)
			return;
	}
	/* Final: the code under test may have freed the query; drop ours. */
	pending_free(p);
}

void fake_reply(struct fake_net *n, struct fake_pending *p, uint64_t ms, int status, uint8_t *wire,
		size_t len)
{
	struct fake_event *e = calloc(1, sizeof(*e));

	if (!e)
		fake_fail("out of memory");
	e->pend = p;
	e->status = status;
	e->wire = wire;
	e->len = len;
	e->timer = ost_clock_timer_start(&n->clk->clock, ms, on_event, e);
	if (!e->timer)
		fake_fail("out of memory");
	e->next = p->events;
	p->events = e;
}

/* Log @p uq (which must be a DNS query with a question). */
static void log_query(struct fake_net *n, const struct ost_upstream_query *uq)
{
	ldns_pkt *q = NULL;

	if (ldns_wire2pkt(&q, uq->wire, uq->len) != LDNS_STATUS_OK)
		fake_fail("the code under test sent a query ldns cannot parse");
	const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	if (!qr)
		fake_fail("the code under test sent a query without a question");
	if (n->n_log == n->cap_log) {
		size_t cap = n->cap_log ? 2 * n->cap_log : 64;
		struct fake_query *l = realloc(n->log, cap * sizeof(*l));
		if (!l)
			fake_fail("out of memory");
		n->log = l;
		n->cap_log = cap;
	}
	struct fake_query *lg = &n->log[n->n_log++];
	memset(lg, 0, sizeof(*lg));
	if (uq->addr.ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&uq->addr)->sin_addr, lg->server,
			  sizeof(lg->server));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&uq->addr)->sin6_addr,
			  lg->server, sizeof(lg->server));
	char *qn = ldns_rdf2str(ldns_rr_owner(qr));
	snprintf(lg->qname, sizeof(lg->qname), "%s", qn);
	free(qn);
	lg->qtype = ldns_rr_get_type(qr);
	lg->tcp = uq->proto == OST_PROTO_TCP;
	lg->edns = ldns_pkt_edns(q);
	lg->edns_size = ldns_pkt_edns_udp_size(q);
	lg->id = ldns_pkt_id(q);
	lg->rd = ldns_pkt_rd(q);
	lg->cd = ldns_pkt_cd(q);
	ldns_pkt_free(q);
}

static int fn_send(void *ctx, struct ost_upstream_query *uq)
{
	struct fake_net *n = ctx;

	n->n_sent++;
	log_query(n, uq);
	struct fake_pending *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->net = n;
	p->uq = uq;
	p->next = n->pending;
	n->pending = p;
	if (n->respond)
		n->respond(n, p, uq, n->respond_arg);
	else
		fake_auth_respond(n, p, uq);
	return 0;
}

static void fn_cancel(void *ctx, struct ost_upstream_query *uq)
{
	struct fake_net *n = ctx;

	for (struct fake_pending *p = n->pending; p; p = p->next) {
		if (p->uq == uq) {
			n->n_cancelled++;
			pending_free(p);
			return;
		}
	}
	fake_fail("cancel of a query that is not in flight");
}

static const struct ost_transport_ops fn_ops = {.send = fn_send, .cancel = fn_cancel};

void fake_net_init(struct fake_net *n, struct fake_clock *clk)
{
	memset(n, 0, sizeof(*n));
	n->clk = clk;
	n->latency_ms = 10;
	n->tp.ops = &fn_ops;
	n->tp.ctx = n;
}

void fake_net_deinit(struct fake_net *n)
{
	while (n->pending)
		pending_free(n->pending);
	fake_servers_free(n);
	free(n->log);
	n->log = NULL;
	n->n_log = n->cap_log = 0;
}

size_t fake_inflight(const struct fake_net *n)
{
	size_t c = 0;

	for (const struct fake_pending *p = n->pending; p; p = p->next)
		c++;
	return c;
}

size_t fake_count(const struct fake_net *n, const char *ip, const char *qname, uint16_t qtype)
{
	size_t c = 0;

	for (size_t i = 0; i < n->n_log; i++) {
		const struct fake_query *q = &n->log[i];
		if (ip && strcmp(q->server, ip) != 0)
			continue;
		if (qname && strcasecmp(q->qname, qname) != 0)
			continue;
		if (qtype && q->qtype != qtype)
			continue;
		c++;
	}
	return c;
}
