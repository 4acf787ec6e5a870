/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The fake authoritative servers of the test support library (see
 * ost_test.h), answering with packets built by ldns, so the code under test
 * is checked against real wire format.
 *
 * A zone server is deliberately simple: the deepest zone it serves that
 * contains the name answers; a delegation below its apex gives a referral
 * with glue from the zone; otherwise data, CNAME (followed inside the zone),
 * DNAME (with a synthesised CNAME), NODATA or NXDOMAIN with the SOA, as
 * RFC 1034 §4.3.2 describes. Its query always gets a timeout too, which only
 * an answer the engine accepts cancels.
 *
 * A probe server answers whatever SOA or NS question it gets with one record
 * made up from the question (an AXFR with a tiny zone), for the failover
 * probes and drills, which care about reachability, not data.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "fake_internal.h"
#include "ost_test.h"

/* ---- servers and zone data ---- */

socklen_t fake_addr(const char *ip, struct sockaddr_storage *ss)
{
	struct sockaddr_in *v4 = (void *)ss;
	struct sockaddr_in6 *v6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
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
	fake_fail("bad test address '%s'", ip);
}

void fake_root_hint(struct ost_root_hint *h, const char *name, const char *ip)
{
	memset(h, 0, sizeof(*h));
	h->name = name;
	h->addrlen = fake_addr(ip, &h->addr);
}

/* The server that @p a (any port) reaches, or NULL. */
static struct fake_server *server_at(struct fake_net *n, const struct sockaddr_storage *a)
{
	for (size_t i = 0; i < n->n_servers; i++) {
		const struct sockaddr_storage *s = &n->servers[i].addr;
		if (s->ss_family != a->ss_family)
			continue;
		if (a->ss_family == AF_INET) {
			const struct sockaddr_in *x = (const void *)s, *y = (const void *)a;
			if (x->sin_addr.s_addr == y->sin_addr.s_addr)
				return &n->servers[i];
		} else {
			const struct sockaddr_in6 *x = (const void *)s, *y = (const void *)a;
			if (memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0)
				return &n->servers[i];
		}
	}
	return NULL;
}

struct fake_server *fake_server_get(struct fake_net *n, const char *ip)
{
	struct sockaddr_storage ss;

	fake_addr(ip, &ss);
	return server_at(n, &ss);
}

static struct fake_server *server_new(struct fake_net *n, const char *ip, enum fake_mode mode)
{
	if (n->n_servers == FAKE_MAX_SERVERS)
		fake_fail("more than %d fake servers", FAKE_MAX_SERVERS);
	struct fake_server *s = &n->servers[n->n_servers++];
	memset(s, 0, sizeof(*s));
	snprintf(s->ip, sizeof(s->ip), "%s", ip);
	s->addrlen = fake_addr(ip, &s->addr);
	s->mode = mode;
	return s;
}

struct fake_server *fake_server(struct fake_net *n, const char *ip)
{
	struct fake_server *s = fake_server_get(n, ip);

	return s ? s : server_new(n, ip, FM_ZONES);
}

struct fake_server *fake_server_add(struct fake_net *n, const char *ip, enum fake_mode mode)
{
	if (fake_server_get(n, ip))
		fake_fail("a second fake server at %s", ip);
	return server_new(n, ip, mode);
}

void fake_servers_free(struct fake_net *n)
{
	for (size_t i = 0; i < n->n_servers; i++) {
		struct fake_server *s = &n->servers[i];
		for (size_t j = 0; j < s->n_zones; j++) {
			ldns_rdf_deep_free(s->zones[j].apex);
			ldns_rr_list_deep_free(s->zones[j].rrs);
		}
		s->n_zones = 0;
		if (s->inject)
			ldns_rr_list_deep_free(s->inject);
		s->inject = NULL;
	}
}

ldns_rr_list *fake_rrs(const char *text)
{
	ldns_rr_list *l = ldns_rr_list_new();
	const char *p = text;

	if (!l)
		fake_fail("out of memory");
	while (p && *p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char line[1024];
		if (n >= sizeof(line))
			fake_fail("test RR line longer than %zu", sizeof(line) - 1);
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
			fake_fail("bad test RR '%s': %s", s, ldns_get_errorstr_by_id(st));
		ldns_rr_list_push_rr(l, rr);
	}
	return l;
}

void fake_rrs_str(const ldns_rr_list *l, char *buf, size_t size)
{
	buf[0] = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		char *s = ldns_rr2str(ldns_rr_list_rr(l, i));
		size_t used = strlen(buf);
		snprintf(buf + used, size - used, "%s", s);
		free(s);
	}
}

void fake_zone(struct fake_net *n, const char *ip, const char *apex, const char *text)
{
	struct fake_server *s = fake_server(n, ip);

	if (s->n_zones == FAKE_MAX_ZONES)
		fake_fail("more than %d zones on %s", FAKE_MAX_ZONES, ip);
	struct fake_zone *z = &s->zones[s->n_zones++];
	z->apex = ldns_dname_new_frm_str(apex);
	if (!z->apex)
		fake_fail("bad test apex '%s'", apex);
	z->rrs = fake_rrs(text);
}

void fake_zones(struct fake_net *n, const char *const zones[][3], size_t count)
{
	for (size_t i = 0; i < count; i++)
		fake_zone(n, zones[i][0], zones[i][1], zones[i][2]);
}

void fake_add(struct fake_net *n, const char *ip, const char *apex, const char *text)
{
	struct fake_server *s = fake_server(n, ip);
	ldns_rdf *a = ldns_dname_new_frm_str(apex);

	if (!a)
		fake_fail("bad test apex '%s'", apex);
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
	fake_fail("no zone %s on %s", apex, ip);
}

/* ---- zone servers: answers from zone data ---- */

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

/* The CNAME a DNAME @p rr synthesises for @p name (RFC 6672 §2.2); @p next
 * is set to the new name. */
static ldns_rr *dname_cname(const ldns_rr *rr, const ldns_rdf *name, ldns_rdf **next)
{
	size_t keep = ldns_rdf_size(name) - ldns_rdf_size(ldns_rr_owner(rr));
	const ldns_rdf *to = ldns_rr_rdf(rr, 0);
	uint8_t buf[300];

	memcpy(buf, ldns_rdf_data(name), keep);
	memcpy(buf + keep, ldns_rdf_data(to), ldns_rdf_size(to));
	*next = ldns_dname_new_frm_data((uint16_t)(keep + ldns_rdf_size(to)), buf);
	ldns_rr *c = ldns_rr_new();
	ldns_rr_set_type(c, LDNS_RR_TYPE_CNAME);
	ldns_rr_set_owner(c, ldns_rdf_clone(name));
	ldns_rr_set_ttl(c, ldns_rr_ttl(rr));
	ldns_rr_push_rdf(c, ldns_rdf_clone(*next));
	return c;
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
				ldns_rdf *next = NULL;
				ldns_rr_list_push_rr(ldns_pkt_answer(r), ldns_rr_clone(rr));
				ldns_rr_list_push_rr(ldns_pkt_answer(r),
						     dname_cname(rr, name, &next));
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

static ldns_pkt *zone_answer(const struct fake_server *s, const ldns_pkt *q, bool tcp)
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

/* Schedule @p pkt (freed here) after @p ms; FB_GARBAGE flips random bytes
 * after the ID and sometimes cuts the end. */
static void reply_pkt(struct fake_net *n, struct fake_pending *p, uint64_t ms, ldns_pkt *pkt,
		      bool is_garbage)
{
	uint8_t *wire = NULL;
	size_t len = 0;

	if (ldns_pkt2wire(&wire, pkt, &len) != LDNS_STATUS_OK)
		fake_fail("ldns_pkt2wire failed on a fake answer");
	ldns_pkt_free(pkt);
	if (is_garbage && len > 2) {
		for (unsigned i = 0; i < n->flips; i++) {
			size_t at = 2 + (size_t)rand_r(&n->rnd) % (len - 2);
			wire[at] ^= (uint8_t)(1 + rand_r(&n->rnd) % 255);
		}
		if (rand_r(&n->rnd) % 4 == 0)
			len = 2 + (size_t)rand_r(&n->rnd) % (len - 2);
	}
	fake_reply(n, p, ms, 0, wire, len);
}

static void zone_respond(struct fake_net *n, struct fake_pending *p, struct fake_server *s,
			 const struct ost_upstream_query *uq)
{
	ldns_pkt *q = NULL;
	bool tcp = uq->proto == OST_PROTO_TCP;

	if (ldns_wire2pkt(&q, uq->wire, uq->len) != LDNS_STATUS_OK)
		fake_fail("the code under test sent a query ldns cannot parse");
	if (s->behaviour & FB_NETERR) {
		fake_reply(n, p, 1, -ECONNREFUSED, NULL, 0);
	} else if (!(s->behaviour & FB_DROP)) {
		if (s->behaviour & FB_SPOOF) {
			ldns_pkt *bad = zone_answer(s, q, tcp);
			ldns_pkt_set_id(bad, (uint16_t)(ldns_pkt_id(q) ^ 0x5a5a));
			reply_pkt(n, p, n->latency_ms / 3, bad, false);
			ldns_pkt *q2 = ldns_pkt_clone(q);
			ldns_rr *other = ldns_rr_list_rr(ldns_pkt_question(q2), 0);
			ldns_rdf *spoofed = ldns_dname_new_frm_str("spoofed.example.");
			ldns_rdf *old = ldns_rr_owner(other);
			ldns_rr_set_owner(other, spoofed);
			ldns_rdf_deep_free(old);
			ldns_pkt *wrongq = zone_answer(s, q2, tcp);
			ldns_pkt_free(q2);
			reply_pkt(n, p, n->latency_ms / 2, wrongq, false);
		}
		reply_pkt(n, p, n->latency_ms, zone_answer(s, q, tcp),
			  (s->behaviour & FB_GARBAGE) != 0);
	}
	fake_reply(n, p, uq->timeout_ms, -ETIMEDOUT, NULL, 0);
	ldns_pkt_free(q);
}

/* ---- probe servers: one made-up record ---- */

/* The answer to a probe: the question's name with one SOA or NS record
 * (an AXFR gets SOA, one A record, SOA again). */
static ldns_pkt *probe_answer(const struct ost_upstream_query *q, enum fake_mode mode,
			      uint16_t id_delta)
{
	ldns_pkt *qp = NULL;
	if (ldns_wire2pkt(&qp, q->wire, q->len) != LDNS_STATUS_OK)
		fake_fail("the code under test sent a probe ldns cannot parse");
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
		const char *below = strcmp(owner, ".") ? owner : "";
		if (ldns_rr_get_type(qrr) == LDNS_RR_TYPE_NS)
			snprintf(text, sizeof(text), "%s 3600 IN NS ns.%s", owner, below);
		else
			snprintf(text, sizeof(text),
				 "%s 3600 IN SOA ns.%s host.%s 2026112601 1800 900 604800 86400",
				 owner, below, below);
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL) == LDNS_STATUS_OK)
			ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, rr);
		if (ldns_rr_get_type(qrr) == LDNS_RR_TYPE_AXFR) {
			char text2[1024];
			snprintf(text2, sizeof(text2), "ns.%s 3600 IN A 127.0.0.8", below);
			ldns_rr *a_rr = NULL, *soa2 = NULL;
			if (ldns_rr_new_frm_str(&a_rr, text2, 3600, NULL, NULL) == LDNS_STATUS_OK)
				ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, a_rr);
			if (ldns_rr_new_frm_str(&soa2, text, 3600, NULL, NULL) == LDNS_STATUS_OK)
				ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, soa2);
		}
	}
	ldns_pkt_free(qp);
	return a;
}

/* A probe server's reply: one packet (two with FM_SPOOF: the wrong-ID copy
 * first, at the same time), or the timeout when the answer would come late. */
static void probe_respond(struct fake_net *n, struct fake_pending *p, const struct fake_server *s,
			  const struct ost_upstream_query *uq)
{
	uint64_t delay = n->latency_ms;

	switch (s->mode) {
	case FM_DROP:
		fake_reply(n, p, uq->timeout_ms, -ETIMEDOUT, NULL, 0);
		return;
	case FM_REFUSE:
		fake_reply(n, p, 1, -ECONNREFUSED, NULL, 0);
		return;
	default:
		break;
	}
	if (delay >= uq->timeout_ms)
		delay = uq->timeout_ms;
	if (s->mode == FM_SPOOF)
		reply_pkt(n, p, delay, probe_answer(uq, FM_ANSWER, 1), false);
	if (delay == uq->timeout_ms)
		fake_reply(n, p, delay, -ETIMEDOUT, NULL, 0);
	else
		reply_pkt(n, p, delay,
			  probe_answer(uq, s->mode == FM_SPOOF ? FM_ANSWER : s->mode, 0), false);
}

void fake_auth_respond(struct fake_net *n, struct fake_pending *p,
		       const struct ost_upstream_query *uq)
{
	struct fake_server *s = server_at(n, &uq->addr);

	if (!s) {
		n->n_unknown++;
		fake_reply(n, p, uq->timeout_ms, -ETIMEDOUT, NULL, 0);
		return;
	}
	s->n_queries++;
	if (uq->proto == OST_PROTO_TCP)
		s->n_tcp++;
	if (uq->len > 12 && uq->wire[uq->len - 4] == 0 && uq->wire[uq->len - 3] == 252)
		s->n_axfr++;
	if (s->mode == FM_ZONES)
		zone_respond(n, p, s, uq);
	else
		probe_respond(n, p, s, uq);
}
