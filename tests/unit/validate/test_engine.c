/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The validator inside the engine, end to end: a signed root, a signed
 * example., an unsigned insec. and a KeyTrap zone trap., all signed here with
 * fresh ldns keys and served by a small DNSSEC-aware fake authoritative
 * (referrals with DS or the NSEC proving its absence, NSEC denials, wildcard
 * expansion). The resolver runs without a cache, on a pinned clock, with the
 * root KSK's DS as its only anchor. Checked: AD-worthy (secure) answers,
 * insecure delegations, bogus -> SERVFAIL with the EDE and zone in the text,
 * expired signatures (EDE 7), CD=1, negative trust anchors, aggressive NSEC
 * (no query sent, counted), and bounded work against 100 colliding DNSKEYs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ostrov/cache.h"
#include "ostrov/mm.h"
#include "ostrov/resolver.h"
#include "ostrov/validator.h"

#include "test_validate.h"

#define NOW 1700000000
#define INC (NOW - 86400)
#define EXP (NOW + 86400)

/* ---- the fake authoritative servers ---- */

struct zone {
	const char *ip;
	ldns_rdf *apex;
	ldns_rr_list *rrs; /* signed */
};

#define MAX_Q 64

struct world {
	struct ost_clock clock;
	int64_t wall;
	struct ost_transport tp;
	struct zone zones[6];
	size_t n_zones;
	struct ost_upstream_query *queue[MAX_Q];
	size_t n_queue;
	unsigned n_sent;
	struct ost_resolver *r;
	struct ost_ta_store *ta;
	struct ost_cache *cache; /* NULL, or an LMDB cache in dir */
	char dir[64];
	/* last result */
	bool done;
	uint8_t rcode, sec;
	uint16_t ede;
	bool has_ede;
	char text[160];
	size_t n_answer;
	size_t n_auth;
	size_t n_add;
	char owner[64];    /* owner of the first answer record */
	const char *down;  /* queries to this address fail at once (a cut link) */
	const char *down2; /* and to this one */
};

static uint64_t c_mono(void *ctx)
{
	(void)ctx;
	return 0;
}

static int64_t c_wall(void *ctx)
{
	return ((struct world *)ctx)->wall;
}

static struct ost_timer *c_start(void *ctx, uint64_t ms, ost_timer_cb cb, void *arg)
{
	static char dummy;

	(void)ctx;
	(void)ms;
	(void)cb;
	(void)arg;
	return (struct ost_timer *)&dummy; /* never fires: nobody times out here */
}

static void c_stop(void *ctx, struct ost_timer *t)
{
	(void)ctx;
	(void)t;
}

static const struct ost_clock_ops clock_ops = {c_mono, c_wall, c_start, c_stop};

static int t_send(void *ctx, struct ost_upstream_query *q)
{
	struct world *w = ctx;

	char ip[64];

	inet_ntop(AF_INET, &((struct sockaddr_in *)&q->addr)->sin_addr, ip, sizeof(ip));
	if ((w->down && strcmp(w->down, ip) == 0) || (w->down2 && strcmp(w->down2, ip) == 0))
		return -ENETUNREACH;
	if (w->n_queue == MAX_Q)
		return -ENOBUFS;
	w->queue[w->n_queue++] = q;
	w->n_sent++;
	return 0;
}

static void t_cancel(void *ctx, struct ost_upstream_query *q)
{
	struct world *w = ctx;

	for (size_t i = 0; i < w->n_queue; i++) {
		if (w->queue[i] == q) {
			w->queue[i] = w->queue[--w->n_queue];
			return;
		}
	}
}

static const struct ost_transport_ops tp_ops = {t_send, t_cancel};

static bool under(const ldns_rdf *name, const ldns_rdf *zone)
{
	return ldns_dname_compare(name, zone) == 0 || ldns_dname_is_subdomain(name, zone);
}

/* Push the records of (owner, type) from @p z, renamed to @p as if given,
 * with their RRSIGs. @return how many data records */
static size_t push_set(ldns_rr_list *dst, const struct zone *z, const ldns_rdf *owner,
		       uint16_t type, const ldns_rdf *as)
{
	size_t n = 0;

	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
		uint16_t ty = ldns_rr_get_type(rr);
		ldns_rr *c;

		if (ldns_dname_compare(ldns_rr_owner(rr), owner) != 0)
			continue;
		if (ty == LDNS_RR_TYPE_RRSIG)
			ty = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
		else if (ty == type)
			n++;
		if (ty != type)
			continue;
		c = ldns_rr_clone(rr);
		if (as) {
			ldns_rdf_deep_free(ldns_rr_owner(c));
			ldns_rr_set_owner(c, ldns_rdf_clone(as));
		}
		ldns_rr_list_push_rr(dst, c);
	}
	return n;
}

/* The NSEC of @p z covering @p name, with its RRSIG, unless already there. */
static void push_cover(ldns_rr_list *dst, const struct zone *z, const ldns_rdf *name)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC || !ost_nsec_covers(rr, name))
			continue;
		for (size_t j = 0; j < ldns_rr_list_rr_count(dst); j++)
			if (ldns_rr_compare(ldns_rr_list_rr(dst, j), rr) == 0)
				return;
		push_set(dst, z, ldns_rr_owner(rr), LDNS_RR_TYPE_NSEC, NULL);
		return;
	}
}

static bool exists(const struct zone *z, const ldns_rdf *name)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++)
		if (under(ldns_rr_owner(ldns_rr_list_rr(z->rrs, i)), name))
			return true;
	return false;
}

static void authoritative(const struct zone *z, ldns_pkt *p, const ldns_rdf *qname, uint16_t qtype)
{
	ldns_rr_list *an = ldns_pkt_answer(p), *ns = ldns_pkt_authority(p);
	const ldns_rdf *cut = NULL;
	ldns_rdf *ce, *wc;

	/* referral: the highest NS below the apex on the way to the name */
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
		const ldns_rdf *o = ldns_rr_owner(rr);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS ||
		    !ldns_dname_is_subdomain(o, z->apex) || !under(qname, o) ||
		    (qtype == LDNS_RR_TYPE_DS && !ldns_dname_compare(o, qname)))
			continue;
		if (!cut || ldns_dname_label_count(o) < ldns_dname_label_count(cut))
			cut = o;
	}
	if (cut) {
		push_set(ns, z, cut, LDNS_RR_TYPE_NS, NULL);
		if (!push_set(ns, z, cut, LDNS_RR_TYPE_DS, NULL))
			push_set(ns, z, cut, LDNS_RR_TYPE_NSEC, NULL);
		for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++) {
			ldns_rr *rr = ldns_rr_list_rr(ns, i);

			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS)
				push_set(ldns_pkt_additional(p), z, ldns_rr_rdf(rr, 0),
					 LDNS_RR_TYPE_A, NULL);
		}
		return;
	}
	ldns_pkt_set_aa(p, true);
	/* a CNAME: it, then the target's data when it is in the zone */
	if (qtype != LDNS_RR_TYPE_CNAME && push_set(an, z, qname, LDNS_RR_TYPE_CNAME, NULL)) {
		for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);

			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME) {
				push_set(an, z, ldns_rr_rdf(rr, 0), qtype, NULL);
				break;
			}
		}
		return;
	}
	if (push_set(an, z, qname, qtype, NULL)) {
		push_set(ns, z, z->apex, LDNS_RR_TYPE_NS, NULL); /* as with "minimal: no" */
		return;
	}
	if (exists(z, qname)) {
		push_set(ns, z, z->apex, LDNS_RR_TYPE_SOA, NULL);
		if (!push_set(ns, z, qname, LDNS_RR_TYPE_NSEC, NULL))
			push_cover(ns, z, qname); /* empty non-terminal */
		return;
	}
	/* the closest encloser and its wildcard */
	ce = ldns_dname_left_chop(qname);
	while (!exists(z, ce)) {
		ldns_rdf *up = ldns_dname_left_chop(ce);

		ldns_rdf_deep_free(ce);
		ce = up;
	}
	wc = ldns_dname_new_frm_str("*");
	ldns_dname_cat(wc, ce);
	if (exists(z, wc)) {
		if (qtype != LDNS_RR_TYPE_CNAME && push_set(an, z, wc, LDNS_RR_TYPE_CNAME, qname)) {
			/* a CNAME wildcard: it, then the target when in the zone */
			push_set(an, z, ldns_rr_rdf(ldns_rr_list_rr(an, 0), 0), qtype, NULL);
			push_cover(ns, z, qname);
			ldns_rdf_deep_free(ce);
			ldns_rdf_deep_free(wc);
			return;
		}
		if (!push_set(an, z, wc, qtype, qname)) {
			push_set(ns, z, z->apex, LDNS_RR_TYPE_SOA, NULL);
			push_set(ns, z, wc, LDNS_RR_TYPE_NSEC, NULL);
		} else {
			push_set(ns, z, z->apex, LDNS_RR_TYPE_NS, NULL); /* "minimal: no" */
		}
		push_cover(ns, z, qname);
	} else {
		ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
		push_set(ns, z, z->apex, LDNS_RR_TYPE_SOA, NULL);
		push_cover(ns, z, qname);
		push_cover(ns, z, wc);
	}
	ldns_rdf_deep_free(ce);
	ldns_rdf_deep_free(wc);
}

/* Answer every query in flight (and those they cause) until none is left. */
static void pump(struct world *w)
{
	while (w->n_queue) {
		struct ost_upstream_query *q = w->queue[0];
		const struct zone *z = NULL;
		char ip[64];
		ldns_pkt *query = NULL, *p;
		uint8_t *wire = NULL;
		size_t len = 0;

		w->queue[0] = w->queue[--w->n_queue];
		inet_ntop(AF_INET, &((struct sockaddr_in *)&q->addr)->sin_addr, ip, sizeof(ip));
		for (size_t i = 0; i < w->n_zones; i++)
			if (strcmp(w->zones[i].ip, ip) == 0)
				z = &w->zones[i];
		assert_non_null(z);
		assert_int_equal(ldns_wire2pkt(&query, q->wire, q->len), LDNS_STATUS_OK);
		p = ldns_pkt_new();
		ldns_pkt_set_id(p, ldns_pkt_id(query));
		ldns_pkt_set_qr(p, true);
		ldns_rr_list_push_rr(ldns_pkt_question(p),
				     ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(query), 0)));
		authoritative(z, p, ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(query), 0)),
			      ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(query), 0)));
		ldns_pkt_set_qdcount(p, 1);
		ldns_pkt_set_ancount(p, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_answer(p)));
		ldns_pkt_set_nscount(p, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_authority(p)));
		ldns_pkt_set_arcount(p, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_additional(p)));
		assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
		ldns_pkt_free(p);
		ldns_pkt_free(query);
		q->cb(q, 0, wire, len);
		free(wire);
	}
}

/* ---- building the world ---- */

/* An unsigned zone from text. */
static ldns_rr_list *fake_rrs_text(const char *text)
{
	ldns_rr_list *l = ldns_rr_list_new();
	char *copy = strdup(text), *save = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		ldns_rr_list_push_rr(l, rr_str(line));
	free(copy);
	return l;
}

/*
 * trap.: its DNSKEY RRset holds 100 keys with the key tag of the real one
 * (bytes swapped at the same parity keep the RFC 4034 App. B sum), the real
 * key served last, all signed by the real key. The DS picks the real key for
 * the DNSKEY RRset, but an RRSIG over data names only the tag: the first
 * max_keys_per_sig keys tried are all fakes.
 */
static ldns_rr_list *keytrap_zone(struct signer *s)
{
	const ldns_rr *real = ldns_rr_list_rr(s->dnskeys, 0);
	char text[65536] = "trap. 3600 IN SOA ns.trap. h.trap. 1 3600 300 3600000 300\n"
			   "trap. 3600 IN NS ns.trap.\n"
			   "ns.trap. 3600 IN A 127.0.0.4\n"
			   "www.trap. 3600 IN A 192.0.2.4\n";
	unsigned made = 0;
	ldns_rr_list *rrs;
	ldns_rr *moved = NULL;

	for (unsigned i = 0; made < 100 && i < 62; i += 2) {
		for (unsigned j = i + 2; made < 100 && j < 64; j += 2) {
			ldns_rr *k = ldns_rr_clone(real);
			uint8_t *d = ldns_rdf_data(ldns_rr_rdf(k, 3)), t = d[i];
			char *str;

			if (d[i] != d[j]) {
				d[i] = d[j];
				d[j] = t;
				str = ldns_rr2str(k);
				strcat(text, str);
				free(str);
				made++;
			}
			ldns_rr_free(k);
		}
	}
	assert_int_equal(made, 100);
	rrs = sign_zone(s, "trap.", text, false, 0, false);
	/* serve the real key last */
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		if (ldns_rr_compare(ldns_rr_list_rr(rrs, i), real) == 0) {
			size_t n = ldns_rr_list_rr_count(rrs);

			moved = ldns_rr_list_rr(rrs, i);
			for (size_t j = i; j + 1 < n; j++)
				ldns_rr_list_set_rr(rrs, ldns_rr_list_rr(rrs, j + 1), j);
			ldns_rr_list_set_rr(rrs, moved, n - 1);
			break;
		}
	}
	assert_non_null(moved);
	return rrs;
}

static ldns_rr_list *signed_zone(struct signer *s, const char *apex, const char *text)
{
	return sign_zone(s, apex, text, false, 0, false);
}

static void add_zone(struct world *w, const char *ip, const char *apex, ldns_rr_list *rrs)
{
	struct zone *z = &w->zones[w->n_zones++];

	z->ip = ip;
	z->apex = dname(apex);
	z->rrs = rrs;
}

static char *ds_text(const struct signer *s)
{
	ldns_rr *ds = ldns_key_rr2ds(ldns_rr_list_rr(s->dnskeys, 0), LDNS_SHA256);
	char *t = ldns_rr2str(ds);

	ldns_rr_free(ds);
	return t;
}

/* Minimal responses for the next world (default: off, the NS goes along). */
static bool g_minimal;
/* The next world has a signed second-level zone sub.example. on 127.0.0.5. */
static bool g_sub;

static int world_new(void **state, bool with_cache)
{
	struct world *w = calloc(1, sizeof(*w));
	struct signer sroot, sex, strap, ssub;
	char *ds_ex, *ds_trap, *ds_sub, root_text[4096], ex_text[4096];
	struct ost_resolver_config cfg;
	struct ost_root_hint hint = {.name = "a.root."};
	struct sockaddr_in *in = (void *)&hint.addr;

	w->wall = NOW;
	w->clock.ops = &clock_ops;
	w->clock.ctx = w;
	w->tp.ops = &tp_ops;
	w->tp.ctx = w;
	signer_init(&sroot, ".", LDNS_SIGN_ECDSAP256SHA256, INC, EXP);
	signer_init(&sex, "example.", LDNS_SIGN_ECDSAP256SHA256, INC, EXP);
	signer_init(&strap, "trap.", LDNS_SIGN_ECDSAP256SHA256, INC, EXP);
	signer_init(&ssub, "sub.example.", LDNS_SIGN_ECDSAP256SHA256, INC, EXP);
	ds_sub = ds_text(&ssub);
	ds_ex = ds_text(&sex);
	ds_trap = ds_text(&strap);
	snprintf(root_text, sizeof(root_text),
		 ". 3600 IN SOA a.root. h.root. 1 3600 300 3600000 300\n"
		 ". 3600 IN NS a.root.\n"
		 "a.root. 3600 IN A 127.0.0.1\n"
		 "example. 3600 IN NS ns.example.\n"
		 "ns.example. 3600 IN A 127.0.0.2\n"
		 "%s"
		 "insec. 3600 IN NS ns.insec.\n"
		 "ns.insec. 3600 IN A 127.0.0.3\n"
		 "trap. 3600 IN NS ns.trap.\n"
		 "ns.trap. 3600 IN A 127.0.0.4\n"
		 "%s",
		 ds_ex, ds_trap);
	add_zone(w, "127.0.0.1", ".", signed_zone(&sroot, ".", root_text));
	snprintf(ex_text, sizeof(ex_text),
		 "example. 3600 IN SOA ns.example. h.example. 1 3600 300 3600000 300\n"
		 "example. 3600 IN NS ns.example.\n"
		 "ns.example. 3600 IN A 127.0.0.2\n"
		 "www.example. 3600 IN A 192.0.2.1\n"
		 "alias.example. 3600 IN CNAME www.example.\n"
		 "b.ent.example. 3600 IN A 192.0.2.2\n"
		 "*.wild.example. 3600 IN TXT \"wild\"\n"
		 "*.cn.example. 3600 IN CNAME www.example.\n"
		 "%s%s",
		 g_sub ? "sub.example. 3600 IN NS ns.sub.example.\n"
			 "ns.sub.example. 3600 IN A 127.0.0.5\n"
		       : "",
		 g_sub ? ds_sub : "");
	add_zone(w, "127.0.0.2", "example.", signed_zone(&sex, "example.", ex_text));
	add_zone(w, "127.0.0.3", "insec.",
		 fake_rrs_text("insec. 3600 IN SOA ns.insec. h.insec. 1 3600 300 3600000 300\n"
			       "insec. 3600 IN NS ns.insec.\n"
			       "ns.insec. 3600 IN A 127.0.0.3\n"
			       "www.insec. 3600 IN A 192.0.2.3\n"));
	add_zone(w, "127.0.0.4", "trap.", keytrap_zone(&strap));
	if (g_sub)
		add_zone(w, "127.0.0.5", "sub.example.",
			 signed_zone(&ssub, "sub.example.",
				     "sub.example. 3600 IN SOA ns.sub.example. h.sub.example. 1 "
				     "3600 300 3600000 300\n"
				     "sub.example. 3600 IN NS ns.sub.example.\n"
				     "ns.sub.example. 3600 IN A 127.0.0.5\n"
				     "www.sub.example. 3600 IN A 192.0.2.5\n"));

	assert_int_equal(ost_ta_store_new(&w->ta), 0);
	{
		char *root_ds = ds_text(&sroot);

		assert_int_equal(ost_ta_add_str(w->ta, root_ds), 0);
		free(root_ds);
	}
	ost_resolver_config_default(&cfg);
	in->sin_family = AF_INET;
	in->sin_port = htons(53);
	inet_pton(AF_INET, "127.0.0.1", &in->sin_addr);
	hint.addrlen = sizeof(*in);
	cfg.hints = &hint;
	cfg.n_hints = 1;
	cfg.validation = true;
	cfg.anchors = w->ta;
	cfg.max_queries = 64;
	cfg.minimal_responses = g_minimal; /* off: the zone's NS goes along, to be checked */
	if (with_cache) {
		struct ost_cache_config cc = {.max_bytes = 16u << 20,
					      .max_ttl = 86400,
					      .max_neg_ttl = 3600,
					      .max_readers = 8};

		snprintf(w->dir, sizeof(w->dir), "/tmp/ost-val-XXXXXX");
		assert_non_null(mkdtemp(w->dir));
		cc.path = w->dir;
		assert_int_equal(ost_cache_open(&w->cache, &cc, &w->clock), 0);
	}
	assert_int_equal(ost_resolver_new(&w->r, &cfg, w->cache, &w->clock, &w->tp), 0);
	free(ds_ex);
	free(ds_trap);
	free(ds_sub);
	signer_deinit(&ssub);
	signer_deinit(&sroot);
	signer_deinit(&sex);
	signer_deinit(&strap);
	*state = w;
	return 0;
}

static int setup(void **state)
{
	return world_new(state, false);
}

static int setup_minimal(void **state)
{
	int ret;

	g_minimal = true;
	ret = world_new(state, false);
	g_minimal = false;
	return ret;
}

static int setup_cache(void **state)
{
	return world_new(state, true);
}

/* A cache, minimal responses and the second-level zone sub.example. */
static int setup_sub(void **state)
{
	int ret;

	g_minimal = true;
	g_sub = true;
	ret = world_new(state, true);
	g_minimal = false;
	g_sub = false;
	return ret;
}

static int teardown(void **state)
{
	struct world *w = *state;

	ost_resolver_free(w->r);
	if (w->cache) {
		char cmd[128];

		ost_cache_close(w->cache);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
		assert_int_equal(system(cmd), 0);
	}
	ost_ta_store_free(w->ta);
	for (size_t i = 0; i < w->n_zones; i++) {
		ldns_rdf_deep_free(w->zones[i].apex);
		ldns_rr_list_deep_free(w->zones[i].rrs);
	}
	free(w);
	return 0;
}

static void on_result(const struct ost_result *res, void *arg)
{
	struct world *w = arg;

	w->done = true;
	w->rcode = res->rcode;
	w->sec = res->sec;
	w->has_ede = res->has_ede;
	w->ede = res->ede;
	snprintf(w->text, sizeof(w->text), "%s", res->ede_text);
	w->n_answer = ldns_rr_list_rr_count(res->answer);
	w->n_auth = ldns_rr_list_rr_count(res->auth);
	w->n_add = ldns_rr_list_rr_count(res->add);
	w->owner[0] = 0;
	if (w->n_answer) {
		char *o = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(res->answer, 0)));

		snprintf(w->owner, sizeof(w->owner), "%s", o ? o : "");
		free(o);
	}
}

/* Resolve (@p name, @p type) with @p flags to the end. */
static void resolve(struct world *w, const char *name, uint16_t type, unsigned flags)
{
	ldns_rdf *d = dname(name);
	struct ost_request *h = NULL;

	w->done = false;
	assert_int_equal(ost_resolve(w->r, ldns_rdf_data(d), type, LDNS_RR_CLASS_IN,
				     flags | OST_RF_RD, on_result, w, &h),
			 0);
	pump(w);
	ldns_rdf_deep_free(d);
	assert_true(w->done);
	assert_int_equal(ost_resolver_inflight(w->r), 0);
	/* as the server does after each loop iteration */
	assert_int_equal(ost_resolver_commit(w->r), 0);
	if (w->cache)
		ost_cache_sync(w->cache);
}

/* The served record (@p owner, @p type): flip a byte of its RRSIG. */
static void break_sig(struct world *w, const char *owner, uint16_t type)
{
	ldns_rdf *o = dname(owner);
	bool done = false;

	for (size_t k = 0; k < w->n_zones; k++) {
		for (size_t i = 0; i < ldns_rr_list_rr_count(w->zones[k].rrs); i++) {
			ldns_rr *rr = ldns_rr_list_rr(w->zones[k].rrs, i);

			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
			    ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == type &&
			    ldns_dname_compare(ldns_rr_owner(rr), o) == 0) {
				ldns_rdf_data(ldns_rr_rdf(rr, 8))[10] ^= 0x55;
				done = true;
			}
		}
	}
	ldns_rdf_deep_free(o);
	assert_true(done);
}

static void test_secure(void **state)
{
	struct world *w = *state;

	resolve(w, "www.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	assert_int_equal(w->n_answer, 2); /* A + RRSIG */
	/* the chain is known now: one query for the next name */
	w->n_sent = 0;
	resolve(w, "ns.example.", LDNS_RR_TYPE_A, 0);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	assert_true(w->n_sent <= 2);
}

static void test_negative_and_aggressive(void **state)
{
	struct world *w = *state;
	struct ost_resolver_stats st;

	resolve(w, "nope.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	resolve(w, "www.example.", LDNS_RR_TYPE_TXT, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->n_answer, 0);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	resolve(w, "ent.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	/* RFC 8198: another name in the same span, from the kept NSEC (the
	 * empty non-terminal above may already have been one) */
	ost_resolver_stats_get(w->r, &st);
	uint64_t before = st.aggressive_nsec;
	w->n_sent = 0;
	resolve(w, "nope2.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	assert_int_equal(w->n_sent, 0);
	resolve(w, "www.example.", LDNS_RR_TYPE_MX, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->n_sent, 0);
	ost_resolver_stats_get(w->r, &st);
	assert_int_equal(st.aggressive_nsec, before + 2);
	/* the type that exists is not denied */
	resolve(w, "www.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->n_answer, 2);
}

static void test_wildcard(void **state)
{
	struct world *w = *state;

	resolve(w, "x.wild.example.", LDNS_RR_TYPE_TXT, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	assert_int_equal(w->n_answer, 2);
	resolve(w, "y.wild.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->sec, OST_SEC_SECURE);
}

/*
 * RFC 8198 §5.3: once a wildcard expansion validated, other names under the
 * wildcard are answered from the kept wildcard RRset and the NSEC proving
 * the expansion, without asking; a CNAME wildcard's chain comes from the
 * cache too (here: no cache, so it goes upstream as usual).
 */
static void test_wildcard_aggressive(void **state)
{
	struct world *w = *state;
	struct ost_resolver_stats st;

	resolve(w, "nope.example.", LDNS_RR_TYPE_A, OST_RF_DO); /* the zone's SOA */
	resolve(w, "x.wild.example.", LDNS_RR_TYPE_TXT, OST_RF_DO);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	ost_resolver_stats_get(w->r, &st);
	uint64_t before = st.aggressive_nsec;
	w->n_sent = 0;
	resolve(w, "y.wild.example.", LDNS_RR_TYPE_TXT, OST_RF_DO);
	assert_int_equal(w->n_sent, 0);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	assert_int_equal(w->n_answer, 2); /* TXT + RRSIG, under y.wild.example. */
	assert_int_equal(w->n_auth, 2);   /* the NSEC proving the expansion + RRSIG */
	assert_string_equal(w->owner, "y.wild.example.");
	/* a deeper name: the wildcard still covers it */
	resolve(w, "a.b.wild.example.", LDNS_RR_TYPE_TXT, OST_RF_DO);
	assert_int_equal(w->n_sent, 0);
	assert_int_equal(w->n_answer, 2);
	ost_resolver_stats_get(w->r, &st);
	assert_int_equal(st.aggressive_nsec, before + 2);
	/* another type at the wildcard: NODATA from the same NSEC */
	resolve(w, "z.wild.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->n_sent, 0);
	assert_int_equal(w->n_answer, 0);
	/* the name of the wildcard's own NSEC exists: not synthesised */
	resolve(w, "www.example.", LDNS_RR_TYPE_TXT, OST_RF_DO);
	assert_int_equal(w->n_answer, 0);
	/* a CNAME wildcard without a cache: the chain cannot be finished from
	 * the cache, so the name is resolved upstream */
	resolve(w, "p.cn.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	w->n_sent = 0;
	resolve(w, "q.cn.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_true(w->n_sent > 0);
	assert_int_equal(w->n_answer, 4); /* CNAME, A and their RRSIGs */
}

/* With the cache, the CNAME wildcard's chain is finished from it. */
static void test_wildcard_cname_cached(void **state)
{
	struct world *w = *state;

	resolve(w, "nope.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	resolve(w, "p.cn.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	assert_int_equal(w->n_answer, 4);
	w->n_sent = 0;
	resolve(w, "q.cn.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->n_sent, 0);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	assert_int_equal(w->n_answer, 4);
	assert_string_equal(w->owner, "q.cn.example.");
	assert_int_equal(w->n_auth, 2);
}

/*
 * A wildcard answer keeps its NSEC proof (RFC 4035 §3.1.3.3) with minimal
 * responses on, and then the zone's NS (and glue, which this fake server
 * does not send) go along as Unbound does; an ordinary answer has no
 * authority section.
 */
static void test_wildcard_minimal(void **state)
{
	struct world *w = *state;

	resolve(w, "www.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	assert_int_equal(w->n_auth, 0);
	resolve(w, "x.wild.example.", LDNS_RR_TYPE_TXT, OST_RF_DO);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	assert_int_equal(w->n_auth, 4); /* NS + RRSIG, NSEC + RRSIG */
}

static void test_insecure(void **state)
{
	struct world *w = *state;

	resolve(w, "www.insec.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->sec, OST_SEC_INSECURE);
	assert_int_equal(w->n_answer, 1);
}

static void test_bogus(void **state)
{
	struct world *w = *state;

	break_sig(w, "www.example.", LDNS_RR_TYPE_A);
	resolve(w, "www.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_SERVFAIL);
	assert_int_equal(w->sec, OST_SEC_BOGUS);
	assert_true(w->has_ede);
	assert_int_equal(w->ede, OST_EDE_DNSSEC_BOGUS);
	assert_non_null(strstr(w->text, "zone example.:"));
	assert_int_equal(w->n_answer, 0);
	/* CD=1: the data, unchecked */
	resolve(w, "www.example.", LDNS_RR_TYPE_A, OST_RF_DO | OST_RF_CD);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->sec, OST_SEC_UNCHECKED);
	assert_int_equal(w->n_answer, 2);
	/* a negative trust anchor: insecure, the data flows */
	{
		ldns_rdf *ex = dname("example.");

		assert_int_equal(ost_ta_nta_add(w->ta, ex, NOW + 60), 0);
		resolve(w, "www.example.", LDNS_RR_TYPE_A, OST_RF_DO);
		assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
		assert_int_equal(w->sec, OST_SEC_INSECURE);
		/* it expires */
		w->wall = NOW + 61;
		resolve(w, "www.example.", LDNS_RR_TYPE_A, OST_RF_DO);
		assert_int_equal(w->rcode, LDNS_RCODE_SERVFAIL);
		w->wall = NOW;
		ldns_rdf_deep_free(ex);
	}
}

static void test_expired(void **state)
{
	struct world *w = *state;

	w->wall = EXP + 1;
	resolve(w, "www.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	w->wall = NOW;
	assert_int_equal(w->rcode, LDNS_RCODE_SERVFAIL);
	assert_int_equal(w->ede, OST_EDE_SIG_EXPIRED);
	assert_non_null(strstr(w->text, "expired"));
}

static void test_keytrap(void **state)
{
	struct world *w = *state;

	w->n_sent = 0;
	resolve(w, "www.trap.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_SERVFAIL);
	assert_int_equal(w->ede, OST_EDE_DNSSEC_BOGUS);
	assert_true(w->n_sent <= 6);
}

/* A bogus NS RRset in the authority section of a secure answer is dropped,
 * the answer stays. */
static void test_bogus_authority(void **state)
{
	struct world *w = *state;

	resolve(w, "www.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	assert_int_equal(w->n_auth, 2); /* NS + RRSIG */
	break_sig(w, "example.", LDNS_RR_TYPE_NS);
	resolve(w, "ns.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	assert_int_equal(w->n_auth, 0);
}

/*
 * With the cache: a denial synthesised from a kept NSEC span (RFC 8198) is
 * stored as a whole answer, so that a repeat takes the hit path instead of
 * being synthesised again, and that copy lasts no longer than the span may
 * be used: the zone's negative TTL (SOA MINIMUM 300 here) from when the
 * span was learnt (RFC 9077 §3), not 300 s from when the copy was made.
 */
static void test_aggressive_copy(void **state)
{
	struct world *w = *state;
	struct ost_resolver_stats st;

	resolve(w, "nope.example.", LDNS_RR_TYPE_A, OST_RF_DO); /* spans learnt at NOW */
	w->wall = NOW + 100;
	ost_resolver_stats_get(w->r, &st);
	uint64_t before = st.aggressive_nsec;
	w->n_sent = 0;
	resolve(w, "nope2.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->n_sent, 0);
	assert_int_equal(w->rcode, LDNS_RCODE_NXDOMAIN);
	ost_resolver_stats_get(w->r, &st);
	assert_int_equal(st.aggressive_nsec, before + 1);

	ldns_rdf *n = dname("nope2.example.");
	struct ost_arena a;
	ost_arena_init(&a, 4096);
	struct ost_mm mm;
	ost_mm_from_arena(&mm, &a);
	struct ost_cache_entry ent;
	assert_int_equal(
		ost_cache_get(w->cache, ldns_rdf_data(n), LDNS_RR_TYPE_A, OST_CTAG_MSG, &mm, &ent),
		0);
	assert_int_equal(ent.sec, OST_SEC_SECURE);
	assert_true(ent.expires_at > w->wall);
	assert_true(ent.expires_at <= NOW + 300);
	ost_arena_deinit(&a);
	ldns_rdf_deep_free(n);

	/* the repeat comes from the copy, not from the spans */
	resolve(w, "nope2.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->n_sent, 0);
	assert_int_equal(w->rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	ost_resolver_stats_get(w->r, &st);
	assert_int_equal(st.aggressive_nsec, before + 1);

	/* past the span's use: neither the copy nor the span answers */
	w->wall = NOW + 301;
	resolve(w, "nope2.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_true(w->n_sent > 0);
	assert_int_equal(w->rcode, LDNS_RCODE_NXDOMAIN);
}

/* With the LMDB cache: the status travels with the entries. */
static void test_cache_status(void **state)
{
	struct world *w = *state;

	resolve(w, "www.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	w->n_sent = 0;
	resolve(w, "www.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->n_sent, 0); /* a cache hit, not verified again */
	assert_int_equal(w->sec, OST_SEC_SECURE);
	resolve(w, "nope.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	w->n_sent = 0;
	resolve(w, "nope.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->n_sent, 0);
	assert_int_equal(w->rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(w->sec, OST_SEC_SECURE);

	/* bogus: SERVFAIL, cached briefly with its EDE; CD=1 still gets data */
	break_sig(w, "ns.example.", LDNS_RR_TYPE_A);
	resolve(w, "ns.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_SERVFAIL);
	w->n_sent = 0;
	resolve(w, "ns.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_SERVFAIL);
	assert_int_equal(w->ede, OST_EDE_DNSSEC_BOGUS);
	assert_int_equal(w->n_sent, 0);
	resolve(w, "ns.example.", LDNS_RR_TYPE_A, OST_RF_DO | OST_RF_CD);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->sec, OST_SEC_UNCHECKED);
	/* what CD=1 stored is not served to CD=0 clients */
	w->wall += 400; /* past the cached failure */
	resolve(w, "ns.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_SERVFAIL);
	assert_true(w->n_sent > 0);
}

/* The whole-answer entry (OST_CTAG_MSG) of (@p name, @p type), or -ENOENT. */
static int get_msg(struct world *w, const char *name, uint16_t type, struct ost_arena *a,
		   struct ost_cache_entry *e)
{
	ldns_rdf *n = dname(name);
	struct ost_mm mm;
	int ret;

	ost_mm_from_arena(&mm, a);
	ret = ost_cache_get(w->cache, ldns_rdf_data(n), type, OST_CTAG_MSG, &mm, e);
	ldns_rdf_deep_free(n);
	return ret;
}

/*
 * An answer built from validated RRsets in the cache ("www.example. A",
 * learnt as the end of "alias.example."'s CNAME) is stored as a whole answer
 * with the status of what it was built from, so the server's hit path sets
 * AD on the next one; a CD=1 request stores no copy (it would be flagged
 * unvalidated although its RRsets were checked).
 */
static void test_cache_built_msg(void **state)
{
	struct world *w = *state;
	struct ost_arena a;
	struct ost_cache_entry e;

	ost_arena_init(&a, 4096);
	resolve(w, "alias.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	assert_int_equal(w->n_answer, 4); /* CNAME, A and their RRSIGs */
	assert_int_equal(get_msg(w, "www.example.", LDNS_RR_TYPE_A, &a, &e), -ENOENT);
	/* CD=1 first: its copy would be flagged unvalidated, so none */
	w->n_sent = 0;
	resolve(w, "www.example.", LDNS_RR_TYPE_A, OST_RF_CD);
	assert_int_equal(w->n_sent, 0);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(get_msg(w, "www.example.", LDNS_RR_TYPE_A, &a, &e), -ENOENT);
	resolve(w, "www.example.", LDNS_RR_TYPE_A, 0);
	assert_int_equal(w->n_sent, 0);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	assert_int_equal(get_msg(w, "www.example.", LDNS_RR_TYPE_A, &a, &e), 0);
	assert_int_equal(e.sec, OST_SEC_SECURE);
	assert_int_equal(e.flags & OST_MSG_F_UNVALIDATED, 0);
	assert_int_equal(e.ttl, 3600);
	ost_arena_deinit(&a);
}

/*
 * The DS of a second-level zone is asked of its parent's servers (RFC 4035
 * §4.2, RFC 4034 §5), found in the cache, not of the root the cached cut of
 * the zone happens to hang from: with the root unreachable after warm-up,
 * "sub.example. DS" still comes from example.'s server and the answer is
 * secure.
 */
static void test_ds_from_parent(void **state)
{
	struct world *w = *state;

	/* Warm-up: the chain root -> example. is validated and cached; the
	 * sub.example. delegation is cached by a CD=1 request, which fetches
	 * no DS. */
	resolve(w, "www.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	resolve(w, "www.sub.example.", LDNS_RR_TYPE_A, OST_RF_CD);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->sec, OST_SEC_UNCHECKED);
	/* The root is cut off. */
	w->down = "127.0.0.1";
	resolve(w, "www.sub.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	assert_int_equal(w->n_answer, 2); /* A and its RRSIG */
}

/*
 * RFC 8767 §5 for the data iteration and validation need: once the cached
 * delegations (example. NS and glue, sub.example. NS), DS and DNSKEY RRsets
 * have expired and the root that would refresh them is cut off, the expired
 * copies lead to example.'s and sub.example.'s servers, which answer: the
 * client gets a fresh, secure answer, not a stale one nor SERVFAIL.
 */
static void test_stale_delegation(void **state)
{
	struct world *w = *state;
	struct ost_resolver_stats st;

	resolve(w, "www.sub.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(w->sec, OST_SEC_SECURE);
	w->wall += 4000; /* every TTL (3600) has run out */
	w->down = "127.0.0.1";
	resolve(w, "www.sub.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
	if (w->has_ede)
		print_message("ede %u %s\n", w->ede, w->text);
	assert_false(w->has_ede); /* not a stale answer (EDE 3) */
	assert_int_equal(w->sec, OST_SEC_SECURE);
	assert_int_equal(w->n_answer, 2);
	ost_resolver_stats_get(w->r, &st);
	assert_true(st.stale_infra > 0);
	assert_int_equal(st.stale_answers, 0);
	/* a name never seen in the zone comes fresh from its server too */
	resolve(w, "nope.sub.example.", LDNS_RR_TYPE_A, OST_RF_DO);
	assert_int_equal(w->rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(w->sec, OST_SEC_SECURE);
}

/*
 * RFC 8767 §5 while validating: secure answers (a plain name and a CNAME
 * chain) whose servers are all cut off stay available stale, with EDE 3,
 * over five queries spread across more than two failure-recheck intervals.
 */
static void test_stale_validated(void **state)
{
	static const char *const names[2] = {"www.sub.example.", "alias.example."};
	struct world *w = *state;

	for (int n = 0; n < 2; n++) {
		resolve(w, names[n], LDNS_RR_TYPE_A, OST_RF_DO);
		assert_int_equal(w->sec, OST_SEC_SECURE);
	}
	w->wall += 4000;
	w->down = "127.0.0.1";
	w->down2 = "127.0.0.2";
	for (int i = 0; i < 5; i++) {
		/* sub.example.'s server is up, but its DS and the keys above
		 * come from the cut servers: the chain must hold from the cache */
		resolve(w, names[0], LDNS_RR_TYPE_A, OST_RF_DO);
		assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
		assert_int_equal(w->sec, OST_SEC_SECURE);
		resolve(w, names[1], LDNS_RR_TYPE_A, OST_RF_DO);
		if (w->rcode != LDNS_RCODE_NOERROR)
			print_message("round %d: rcode %u ede %u %s\n", i, w->rcode, w->ede,
				      w->text);
		assert_int_equal(w->rcode, LDNS_RCODE_NOERROR);
		assert_true(w->has_ede);
		assert_int_equal(w->ede, OST_EDE_STALE_ANSWER);
		assert_int_equal(w->n_answer, 4);
		w->wall += 17;
	}
}

int run_engine_tests(void)
{
	/* each test gets a fresh world: caches and tampering do not leak */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_secure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negative_and_aggressive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wildcard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wildcard_aggressive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aggressive_copy, setup_cache, teardown),
		cmocka_unit_test_setup_teardown(test_wildcard_cname_cached, setup_cache, teardown),
		cmocka_unit_test_setup_teardown(test_wildcard_minimal, setup_minimal, teardown),
		cmocka_unit_test_setup_teardown(test_insecure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bogus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keytrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bogus_authority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_status, setup_cache, teardown),
		cmocka_unit_test_setup_teardown(test_cache_built_msg, setup_cache, teardown),
		cmocka_unit_test_setup_teardown(test_ds_from_parent, setup_sub, teardown),
		cmocka_unit_test_setup_teardown(test_stale_delegation, setup_sub, teardown),
		cmocka_unit_test_setup_teardown(test_stale_validated, setup_sub, teardown),
	};

	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
