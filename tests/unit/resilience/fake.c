/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test doubles for resilience/ (see fake.h): a pinned clock and a scripted
 * network of authoritative servers. Answers are built with ldns from the
 * query itself, so the probe code is checked against real wire format.
 */
#include "fake.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

struct ost_timer {
	uint64_t deadline;
	uint64_t seq;
	ost_timer_cb cb;
	void *arg;
	struct ost_timer *next;
};

static uint64_t fc_mono(void *ctx)
{
	return ((struct fake_clock *)ctx)->now_ms;
}

static int64_t fc_wall(void *ctx)
{
	struct fake_clock *c = ctx;
	return c->wall0_s + (int64_t)(c->now_ms / 1000);
}

static struct ost_timer *fc_start(void *ctx, uint64_t ms, ost_timer_cb cb, void *arg)
{
	struct fake_clock *c = ctx;
	struct ost_timer *t = calloc(1, sizeof(*t)), **pp;
	if (!t)
		return NULL;
	t->deadline = c->now_ms + ms;
	t->seq = c->seq++;
	t->cb = cb;
	t->arg = arg;
	for (pp = &c->timers; *pp && (*pp)->deadline <= t->deadline; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	return t;
}

static void fc_stop(void *ctx, struct ost_timer *t)
{
	struct fake_clock *c = ctx;
	for (struct ost_timer **pp = &c->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			free(t);
			return;
		}
	}
}

static const struct ost_clock_ops fc_ops = {
	.mono_ms = fc_mono,
	.wall_s = fc_wall,
	.timer_start = fc_start,
	.timer_stop = fc_stop,
};

void fake_clock_init(struct fake_clock *c, int64_t wall0_s)
{
	*c = (struct fake_clock){.clock = {.ops = &fc_ops, .ctx = c}, .wall0_s = wall0_s};
}

size_t fake_clock_deinit(struct fake_clock *c)
{
	size_t n = 0;
	while (c->timers) {
		struct ost_timer *t = c->timers;
		c->timers = t->next;
		free(t);
		n++;
	}
	return n;
}

void fake_clock_advance(struct fake_clock *c, uint64_t ms)
{
	uint64_t target = c->now_ms + ms;
	while (c->timers && c->timers->deadline <= target) {
		struct ost_timer *t = c->timers;
		c->timers = t->next;
		if (t->deadline > c->now_ms)
			c->now_ms = t->deadline;
		ost_timer_cb cb = t->cb;
		void *arg = t->arg;
		free(t);
		cb(arg);
	}
	c->now_ms = target;
}

size_t fake_clock_armed(const struct fake_clock *c)
{
	size_t n = 0;
	for (const struct ost_timer *t = c->timers; t; t = t->next)
		n++;
	return n;
}

struct fake_pending {
	struct fake_net *net;
	struct ost_upstream_query *q;
	struct fake_server *srv;
	struct ost_timer *timer;
	int status;
	uint8_t *pkt, *spoof;
	size_t len, spoof_len;
	struct fake_pending *next;
};

static bool addr_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_addr.s_addr == y->sin_addr.s_addr && x->sin_port == y->sin_port;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0 && x->sin6_port == y->sin6_port;
}

socklen_t fake_addr(const char *ip, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *v4 = (void *)ss;
	struct sockaddr_in6 *v6 = (void *)ss;
	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(53);
		return sizeof(*v4);
	}
	if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(53);
		return sizeof(*v6);
	}
	abort();
}

struct fake_server *fake_server_get(struct fake_net *n, const char *ip)
{
	struct sockaddr_storage ss;
	fake_addr(ip, &ss);
	for (size_t i = 0; i < n->n_servers; i++)
		if (addr_eq(&n->servers[i].addr, &ss))
			return &n->servers[i];
	return NULL;
}

struct fake_server *fake_server_add(struct fake_net *n, const char *ip, enum fake_mode mode)
{
	if (n->n_servers == FAKE_MAX_SERVERS)
		abort();
	struct fake_server *s = &n->servers[n->n_servers++];
	memset(s, 0, sizeof(*s));
	s->addrlen = fake_addr(ip, &s->addr);
	s->mode = mode;
	return s;
}

static void unlink_pending(struct fake_net *n, struct fake_pending *p)
{
	for (struct fake_pending **pp = &n->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

static void free_pending(struct fake_pending *p)
{
	free(p->pkt);
	free(p->spoof);
	free(p);
}

static void deliver(void *arg)
{
	struct fake_pending *p = arg;
	p->timer = NULL;
	unlink_pending(p->net, p);
	struct ost_upstream_query *q = p->q;
	if (p->spoof) {
		int rc = q->cb(q, 0, p->spoof, p->spoof_len);
		if (rc != -EAGAIN) {
			free_pending(p);
			return;
		}
	}
	q->cb(q, p->status, p->pkt, p->len);
	free_pending(p);
}

/* Build the authoritative answer to a probe: the question's name with one SOA or NS record. */
static int build_answer(const struct ost_upstream_query *q, enum fake_mode mode, uint8_t **out,
			size_t *len, uint16_t id_delta)
{
	ldns_pkt *qp = NULL;
	if (ldns_wire2pkt(&qp, q->wire, q->len) != LDNS_STATUS_OK)
		return -EINVAL;
	ldns_pkt *a = ldns_pkt_new();
	ldns_pkt_set_id(a, (uint16_t)(ldns_pkt_id(qp) + id_delta));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_aa(a, mode != FM_NOAA);
	ldns_pkt_set_rcode(a, mode == FM_SERVFAIL ? LDNS_RCODE_SERVFAIL : LDNS_RCODE_NOERROR);
	ldns_rr *qrr = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(qp), 0));
	ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, qrr);
	if (mode != FM_SERVFAIL) {
		char owner[300], text[1024];
		char *o = ldns_rdf2str(ldns_rr_owner(qrr));
		snprintf(owner, sizeof(owner), "%s", o);
		free(o);
		if (ldns_rr_get_type(qrr) == LDNS_RR_TYPE_NS)
			snprintf(text, sizeof(text), "%s 3600 IN NS ns.%s", owner,
				 strcmp(owner, ".") ? owner : "");
		else
			snprintf(text, sizeof(text),
				 "%s 3600 IN SOA ns.%s host.%s 2026112601 1800 900 604800 86400",
				 owner, strcmp(owner, ".") ? owner : "",
				 strcmp(owner, ".") ? owner : "");
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL) == LDNS_STATUS_OK)
			ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, rr);
		if (ldns_rr_get_type(qrr) == LDNS_RR_TYPE_AXFR) {
			/* a whole (tiny) zone: SOA, one A record, SOA again */
			char text2[1024];
			snprintf(text2, sizeof(text2), "ns.%s 3600 IN A 127.0.0.8",
				 strcmp(owner, ".") ? owner : "");
			ldns_rr *a_rr = NULL, *soa2 = NULL;
			if (ldns_rr_new_frm_str(&a_rr, text2, 3600, NULL, NULL) == LDNS_STATUS_OK)
				ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, a_rr);
			if (ldns_rr_new_frm_str(&soa2, text, 3600, NULL, NULL) == LDNS_STATUS_OK)
				ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, soa2);
		}
	}
	ldns_status st = ldns_pkt2wire(out, a, len);
	ldns_pkt_free(a);
	ldns_pkt_free(qp);
	return st == LDNS_STATUS_OK ? 0 : -EINVAL;
}

static int fn_send(void *ctx, struct ost_upstream_query *q)
{
	struct fake_net *n = ctx;
	n->n_sent++;
	struct fake_server *srv = NULL;
	for (size_t i = 0; i < n->n_servers; i++)
		if (addr_eq(&n->servers[i].addr, &q->addr))
			srv = &n->servers[i];
	struct fake_pending *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->net = n;
	p->q = q;
	p->srv = srv;
	q->tp_priv = p;
	uint64_t delay = n->latency_ms;
	enum fake_mode mode = srv ? srv->mode : FM_DROP;
	if (!srv)
		n->n_unknown++;
	else {
		srv->n_queries++;
		if (q->proto == OST_PROTO_TCP)
			srv->n_tcp++;
		if (q->len > 12 && q->wire[q->len - 4] == 0 && q->wire[q->len - 3] == 252)
			srv->n_axfr++;
	}
	switch (mode) {
	case FM_DROP:
		p->status = -ETIMEDOUT;
		delay = q->timeout_ms;
		break;
	case FM_REFUSE:
		p->status = -ECONNREFUSED;
		delay = 1;
		break;
	case FM_SPOOF:
		if (build_answer(q, FM_ANSWER, &p->spoof, &p->spoof_len, 1) < 0)
			abort();
		/* fall through */
	default:
		if (build_answer(q, mode == FM_SPOOF ? FM_ANSWER : mode, &p->pkt, &p->len, 0) < 0)
			abort();
		if (delay >= q->timeout_ms) {
			p->status = -ETIMEDOUT;
			delay = q->timeout_ms;
		}
	}
	p->timer = ost_clock_timer_start(&n->clk->clock, delay, deliver, p);
	p->next = n->pending;
	n->pending = p;
	return 0;
}

static void fn_cancel(void *ctx, struct ost_upstream_query *q)
{
	struct fake_net *n = ctx;
	struct fake_pending *p = q->tp_priv;
	if (!p)
		return;
	n->n_cancelled++;
	ost_clock_timer_stop(&n->clk->clock, p->timer);
	unlink_pending(n, p);
	free_pending(p);
	q->tp_priv = NULL;
}

static const struct ost_transport_ops fn_ops = {.send = fn_send, .cancel = fn_cancel};

void fake_net_init(struct fake_net *n, struct fake_clock *clk)
{
	*n = (struct fake_net){.tp = {.ops = &fn_ops, .ctx = n}, .clk = clk, .latency_ms = 20};
}

void fake_net_deinit(struct fake_net *n)
{
	while (n->pending) {
		struct fake_pending *p = n->pending;
		n->pending = p->next;
		ost_clock_timer_stop(&n->clk->clock, p->timer);
		free_pending(p);
	}
}

size_t fake_inflight(const struct fake_net *n)
{
	size_t k = 0;
	for (const struct fake_pending *p = n->pending; p; p = p->next)
		k++;
	return k;
}
