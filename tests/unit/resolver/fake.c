/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The fake clock and fake network used by the resolver tests (see fake.h).
 * The fake authoritative server is deliberately simple: the deepest zone it
 * serves that contains the name answers; a delegation below its apex gives a
 * referral with glue from the zone; otherwise data, CNAME (followed inside
 * the zone), DNAME (with a synthesised CNAME), NODATA or NXDOMAIN with the
 * SOA, as RFC 1034 §4.3.2 describes.
 */
#include "fake.h"

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

/* ---- clock ---- */

struct ost_timer {
	struct ost_timer *next;
	uint64_t at;
	uint64_t seq;
	ost_timer_cb cb;
	void *arg;
};

static uint64_t fc_mono(void *ctx)
{
	return ((struct fake_clock *)ctx)->now_ms;
}

static int64_t fc_wall(void *ctx)
{
	struct fake_clock *c = ctx;
	return c->wall_s + (int64_t)(c->now_ms / 1000);
}

static struct ost_timer *fc_start(void *ctx, uint64_t ms, ost_timer_cb cb, void *arg)
{
	struct fake_clock *c = ctx;
	struct ost_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->at = c->now_ms + ms;
	t->seq = c->seq++;
	t->cb = cb;
	t->arg = arg;
	struct ost_timer **pp = &c->timers;
	while (*pp && ((*pp)->at < t->at || ((*pp)->at == t->at && (*pp)->seq < t->seq)))
		pp = &(*pp)->next;
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
	fail_msg("timer_stop on a timer that is not armed");
}

static const struct ost_clock_ops fc_ops = {
	.mono_ms = fc_mono, .wall_s = fc_wall, .timer_start = fc_start, .timer_stop = fc_stop};

void fake_clock_init(struct fake_clock *c, int64_t wall_s)
{
	memset(c, 0, sizeof(*c));
	c->wall_s = wall_s;
	c->now_ms = 1000000;
	c->clock.ops = &fc_ops;
	c->clock.ctx = c;
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

/* Fire the first timer if due by @p until. */
static bool fire_one(struct fake_clock *c, uint64_t until)
{
	struct ost_timer *t = c->timers;
	if (!t || t->at > until)
		return false;
	c->timers = t->next;
	if (t->at > c->now_ms)
		c->now_ms = t->at;
	ost_timer_cb cb = t->cb;
	void *arg = t->arg;
	free(t);
	cb(arg);
	return true;
}

void fake_clock_advance(struct fake_clock *c, uint64_t ms)
{
	uint64_t until = c->now_ms + ms;
	while (fire_one(c, until))
		;
	c->now_ms = until;
}

size_t fake_clock_run(struct fake_clock *c, uint64_t max_ms)
{
	uint64_t until = c->now_ms + max_ms;
	size_t n = 0;
	while (fire_one(c, until))
		n++;
	return n;
}

/* ---- zone data ---- */

ldns_rr_list *fake_rrs(const char *text)
{
	ldns_rr_list *l = ldns_rr_list_new();
	assert_non_null(l);
	const char *p = text;
	while (p && *p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char line[1024];
		assert_true(n < sizeof(line));
		memcpy(line, p, n);
		line[n] = 0;
		p = e ? e + 1 : NULL;
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == ';')
			continue;
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_str(&rr, s, 3600, NULL, NULL);
		if (st != LDNS_STATUS_OK)
			fail_msg("bad test RR '%s': %s", s, ldns_get_errorstr_by_id(st));
		ldns_rr_list_push_rr(l, rr);
	}
	return l;
}

struct fake_server *fake_server(struct fake_net *n, const char *ip)
{
	for (size_t i = 0; i < n->n_servers; i++) {
		if (strcmp(n->servers[i].ip, ip) == 0)
			return &n->servers[i];
	}
	assert_true(n->n_servers < FAKE_MAX_SERVERS);
	struct fake_server *s = &n->servers[n->n_servers++];
	memset(s, 0, sizeof(*s));
	snprintf(s->ip, sizeof(s->ip), "%s", ip);
	struct sockaddr_in *in = (void *)&s->addr;
	struct sockaddr_in6 *in6 = (void *)&s->addr;
	if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(53);
		s->addrlen = sizeof(*in);
	} else {
		assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(53);
		s->addrlen = sizeof(*in6);
	}
	return s;
}

void fake_zone(struct fake_net *n, const char *ip, const char *apex, const char *text)
{
	struct fake_server *s = fake_server(n, ip);
	assert_true(s->n_zones < FAKE_MAX_ZONES);
	struct fake_zone *z = &s->zones[s->n_zones++];
	z->apex = ldns_dname_new_frm_str(apex);
	assert_non_null(z->apex);
	z->rrs = fake_rrs(text);
}

void fake_add(struct fake_net *n, const char *ip, const char *apex, const char *text)
{
	struct fake_server *s = fake_server(n, ip);
	ldns_rdf *a = ldns_dname_new_frm_str(apex);
	assert_non_null(a);
	for (size_t i = 0; i < s->n_zones; i++) {
		if (ldns_dname_compare(s->zones[i].apex, a) == 0) {
			ldns_rr_list *l = fake_rrs(text);
			ldns_rr_list_cat(s->zones[i].rrs, l);
			ldns_rr_list_free(l);
			ldns_rdf_deep_free(a);
			return;
		}
	}
	ldns_rdf_deep_free(a);
	fail_msg("no zone %s on %s", apex, ip);
}

/* ---- authoritative answers ---- */

static bool under(const ldns_rdf *name, const ldns_rdf *zone)
{
	return ldns_dname_compare(name, zone) == 0 || ldns_dname_is_subdomain(name, zone);
}

static void push_matching(ldns_rr_list *dst, const ldns_rr_list *src, const ldns_rdf *owner,
			  int type)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(src); i++) {
		ldns_rr *rr = ldns_rr_list_rr(src, i);
		if (ldns_dname_compare(ldns_rr_owner(rr), owner) != 0)
			continue;
		if (type >= 0 && ldns_rr_get_type(rr) != (ldns_rr_type)type &&
		    type != LDNS_RR_TYPE_ANY)
			continue;
		ldns_rr_list_push_rr(dst, ldns_rr_clone(rr));
	}
}

static void push_soa(ldns_pkt *r, const struct fake_zone *z)
{
	push_matching(ldns_pkt_authority(r), z->rrs, z->apex, LDNS_RR_TYPE_SOA);
}

static void answer_from_zone(const struct fake_server *s, const struct fake_zone *z, ldns_pkt *r,
			     const ldns_rdf *qname, ldns_rr_type qtype)
{
	/* Delegation: the highest NS set strictly below the apex on the way
	 * to the name (a DS question at the cut itself is answered here). */
	const ldns_rdf *cut = NULL;
	size_t cut_labels = 1000;
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
		const ldns_rdf *o = ldns_rr_owner(rr);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS ||
		    !ldns_dname_is_subdomain(o, z->apex) || !under(qname, o))
			continue;
		if (qtype == LDNS_RR_TYPE_DS && ldns_dname_compare(o, qname) == 0)
			continue;
		if (ldns_dname_label_count(o) < cut_labels) {
			cut = o;
			cut_labels = ldns_dname_label_count(o);
		}
	}
	if (cut) {
		push_matching(ldns_pkt_authority(r), z->rrs, cut, LDNS_RR_TYPE_NS);
		ldns_rr_list *ns = ldns_pkt_authority(r);
		for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++) {
			const ldns_rdf *target = ldns_rr_rdf(ldns_rr_list_rr(ns, i), 0);
			push_matching(ldns_pkt_additional(r), z->rrs, target, LDNS_RR_TYPE_A);
			push_matching(ldns_pkt_additional(r), z->rrs, target, LDNS_RR_TYPE_AAAA);
		}
		return;
	}
	ldns_pkt_set_aa(r, true);
	ldns_rdf *name = ldns_rdf_clone(qname);
	for (int hop = 0; hop < 8; hop++) {
		/* DNAME above the name. */
		for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
			ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNAME &&
			    ldns_dname_is_subdomain(name, ldns_rr_owner(rr))) {
				ldns_rr_list_push_rr(ldns_pkt_answer(r), ldns_rr_clone(rr));
				size_t keep =
					ldns_rdf_size(name) - ldns_rdf_size(ldns_rr_owner(rr));
				const ldns_rdf *to = ldns_rr_rdf(rr, 0);
				uint8_t buf[300];
				memcpy(buf, ldns_rdf_data(name), keep);
				memcpy(buf + keep, ldns_rdf_data(to), ldns_rdf_size(to));
				ldns_rdf *next = ldns_dname_new_frm_data(
					(uint16_t)(keep + ldns_rdf_size(to)), buf);
				ldns_rr *c = ldns_rr_new();
				ldns_rr_set_type(c, LDNS_RR_TYPE_CNAME);
				ldns_rr_set_owner(c, ldns_rdf_clone(name));
				ldns_rr_set_ttl(c, ldns_rr_ttl(rr));
				ldns_rr_push_rdf(c, ldns_rdf_clone(next));
				ldns_rr_list_push_rr(ldns_pkt_answer(r), c);
				ldns_rdf_deep_free(name);
				name = next;
				goto next_hop;
			}
		}
		bool exists = false, cname = false;
		for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
			ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
			if (ldns_dname_compare(ldns_rr_owner(rr), name) == 0) {
				exists = true;
				cname = cname || ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME;
			} else if (ldns_dname_is_subdomain(ldns_rr_owner(rr), name) &&
				   !(s->behaviour & FB_NX_ENT)) {
				exists = true; /* empty non-terminal */
			}
		}
		if (cname && qtype != LDNS_RR_TYPE_CNAME) {
			size_t before = ldns_rr_list_rr_count(ldns_pkt_answer(r));
			push_matching(ldns_pkt_answer(r), z->rrs, name, LDNS_RR_TYPE_CNAME);
			ldns_rr *c = ldns_rr_list_rr(ldns_pkt_answer(r), before);
			ldns_rdf *next = ldns_rdf_clone(ldns_rr_rdf(c, 0));
			ldns_rdf_deep_free(name);
			name = next;
			if (!under(name, z->apex))
				break;
			continue;
		}
		if (!exists) {
			if (ldns_rr_list_rr_count(ldns_pkt_answer(r)) == 0 || under(name, z->apex))
				ldns_pkt_set_rcode(r, LDNS_RCODE_NXDOMAIN);
			push_soa(r, z);
			break;
		}
		size_t before = ldns_rr_list_rr_count(ldns_pkt_answer(r));
		push_matching(ldns_pkt_answer(r), z->rrs, name, qtype);
		if (ldns_rr_list_rr_count(ldns_pkt_answer(r)) == before) {
			push_soa(r, z);
		} else if (s->behaviour & FB_FULL) {
			push_matching(ldns_pkt_authority(r), z->rrs, z->apex, LDNS_RR_TYPE_NS);
			ldns_rr_list *ns = ldns_pkt_authority(r);
			for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++)
				push_matching(ldns_pkt_additional(r), z->rrs,
					      ldns_rr_rdf(ldns_rr_list_rr(ns, i), 0),
					      LDNS_RR_TYPE_A);
		}
		break;
	next_hop:;
	}
	ldns_rdf_deep_free(name);
}

static ldns_pkt *auth_answer(struct fake_server *s, const ldns_pkt *q, bool tcp)
{
	const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	const ldns_rdf *qname = ldns_rr_owner(qr);
	ldns_rr_type qtype = ldns_rr_get_type(qr);
	ldns_pkt *r = ldns_pkt_new();
	ldns_pkt_set_id(r, ldns_pkt_id(q));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_opcode(r, LDNS_PACKET_QUERY);
	ldns_rr_list_push_rr(ldns_pkt_question(r), ldns_rr_clone(qr));
	ldns_pkt_set_qdcount(r, 1);
	bool edns = ldns_pkt_edns(q);
	if ((s->behaviour & FB_FORMERR_EDNS) && edns) {
		ldns_pkt_set_rcode(r, LDNS_RCODE_FORMERR);
		return r;
	}
	if (edns)
		ldns_pkt_set_edns_udp_size(r, 1232);
	if (s->behaviour & FB_REFUSE) {
		ldns_pkt_set_rcode(r, LDNS_RCODE_REFUSED);
		return r;
	}
	if ((s->behaviour & FB_TC_UDP) && !tcp) {
		ldns_pkt_set_tc(r, true);
		return r;
	}
	if (s->behaviour & FB_LAME)
		return r;
	if (s->behaviour & FB_UPWARD) {
		ldns_rr_list *up = fake_rrs("ru. 3600 IN NS a.dns.ru.\n");
		ldns_rr_list_cat(ldns_pkt_authority(r), up);
		ldns_rr_list_free(up);
		ldns_pkt_set_nscount(r, 1);
		return r;
	}
	const struct fake_zone *z = NULL;
	for (size_t i = 0; i < s->n_zones; i++) {
		if (under(qname, s->zones[i].apex) &&
		    (!z ||
		     ldns_dname_label_count(s->zones[i].apex) > ldns_dname_label_count(z->apex)))
			z = &s->zones[i];
	}
	if (!z) {
		ldns_pkt_set_rcode(r, LDNS_RCODE_REFUSED);
		return r;
	}
	answer_from_zone(s, z, r, qname, qtype);
	if ((s->behaviour & FB_INJECT) && s->inject) {
		for (size_t i = 0; i < ldns_rr_list_rr_count(s->inject); i++) {
			ldns_rr_list_push_rr(ldns_pkt_answer(r),
					     ldns_rr_clone(ldns_rr_list_rr(s->inject, i)));
			ldns_rr_list_push_rr(ldns_pkt_additional(r),
					     ldns_rr_clone(ldns_rr_list_rr(s->inject, i)));
		}
	}
	ldns_pkt_set_ancount(r, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_answer(r)));
	ldns_pkt_set_nscount(r, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_authority(r)));
	ldns_pkt_set_arcount(r, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_additional(r)));
	return r;
}

/* ---- transport ---- */

struct fake_event {
	struct fake_event *next;
	struct fake_pending *pend;
	struct ost_timer *timer;
	uint8_t *wire;
	size_t len;
	int status;
};

struct fake_pending {
	struct fake_pending *next;
	struct fake_net *net;
	struct ost_upstream_query *uq;
	struct fake_event *events;
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
		if (e->timer)
			n->clk->clock.ops->timer_stop(n->clk, e->timer);
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
	e->timer = NULL;
	int ret = p->uq->cb(p->uq, e->status, e->wire, e->len);
	if (e->status == 0 && ret == -EAGAIN)
		return; /* rejected, keep waiting */
	/* Final: the engine may have freed the query; drop ours. */
	pending_free(p);
}

static void add_event(struct fake_pending *p, uint64_t ms, int status, ldns_pkt *pkt, bool garbage)
{
	struct fake_event *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	e->pend = p;
	e->status = status;
	if (pkt) {
		assert_int_equal(ldns_pkt2wire(&e->wire, pkt, &e->len), LDNS_STATUS_OK);
		ldns_pkt_free(pkt);
	}
	if (garbage && e->len > 2) {
		/* Flip random bytes after the ID, and sometimes cut the end. */
		struct fake_net *n = p->net;
		for (unsigned i = 0; i < n->flips; i++) {
			size_t at = 2 + (size_t)rand_r(&n->rnd) % (e->len - 2);
			e->wire[at] ^= (uint8_t)(1 + rand_r(&n->rnd) % 255);
		}
		if (rand_r(&n->rnd) % 4 == 0)
			e->len = 2 + (size_t)rand_r(&n->rnd) % (e->len - 2);
	}
	e->timer = p->net->clk->clock.ops->timer_start(p->net->clk, ms, on_event, e);
	assert_non_null(e->timer);
	e->next = p->events;
	p->events = e;
}

static int fn_send(void *ctx, struct ost_upstream_query *uq)
{
	struct fake_net *n = ctx;
	ldns_pkt *q = NULL;
	assert_int_equal(ldns_wire2pkt(&q, uq->wire, uq->len), LDNS_STATUS_OK);
	const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	assert_non_null(qr);

	char ip[64] = "?";
	if (uq->addr.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&uq->addr)->sin_addr, ip, sizeof(ip));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&uq->addr)->sin6_addr, ip, sizeof(ip));
	assert_true(n->n_log < FAKE_MAX_LOG);
	struct fake_query *lg = &n->log[n->n_log++];
	snprintf(lg->server, sizeof(lg->server), "%s", ip);
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

	struct fake_pending *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	p->net = n;
	p->uq = uq;
	p->next = n->pending;
	n->pending = p;

	struct fake_server *s = NULL;
	for (size_t i = 0; i < n->n_servers; i++) {
		if (strcmp(n->servers[i].ip, ip) == 0)
			s = &n->servers[i];
	}
	if (s)
		s->n_queries++;
	if (s && (s->behaviour & FB_NETERR)) {
		add_event(p, 1, -ECONNREFUSED, NULL, false);
	} else if (s && !(s->behaviour & FB_DROP)) {
		if (s->behaviour & FB_SPOOF) {
			ldns_pkt *bad = auth_answer(s, q, lg->tcp);
			ldns_pkt_set_id(bad, (uint16_t)(ldns_pkt_id(q) ^ 0x5a5a));
			add_event(p, n->latency_ms / 3, 0, bad, false);
			ldns_pkt *q2 = ldns_pkt_clone(q);
			ldns_rr *other = ldns_rr_list_rr(ldns_pkt_question(q2), 0);
			ldns_rdf *spoofed = ldns_dname_new_frm_str("spoofed.example.");
			ldns_rdf *old = ldns_rr_owner(other);
			ldns_rr_set_owner(other, spoofed);
			ldns_rdf_deep_free(old);
			ldns_pkt *wrongq = auth_answer(s, q2, lg->tcp);
			ldns_pkt_free(q2);
			add_event(p, n->latency_ms / 2, 0, wrongq, false);
		}
		add_event(p, n->latency_ms, 0, auth_answer(s, q, lg->tcp),
			  (s->behaviour & FB_GARBAGE) != 0);
	}
	add_event(p, uq->timeout_ms, -ETIMEDOUT, NULL, false);
	ldns_pkt_free(q);
	return 0;
}

static void fn_cancel(void *ctx, struct ost_upstream_query *uq)
{
	struct fake_net *n = ctx;
	for (struct fake_pending *p = n->pending; p; p = p->next) {
		if (p->uq == uq) {
			n->cancelled++;
			pending_free(p);
			return;
		}
	}
	fail_msg("cancel of a query that is not in flight");
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
	for (size_t i = 0; i < n->n_servers; i++) {
		struct fake_server *s = &n->servers[i];
		for (size_t j = 0; j < s->n_zones; j++) {
			ldns_rdf_deep_free(s->zones[j].apex);
			ldns_rr_list_deep_free(s->zones[j].rrs);
		}
		if (s->inject)
			ldns_rr_list_deep_free(s->inject);
	}
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

size_t fake_inflight(const struct fake_net *n)
{
	size_t c = 0;
	for (const struct fake_pending *p = n->pending; p; p = p->next)
		c++;
	return c;
}
