/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the zone transfer client (zones/xfr.c), the refresh
 * scheduler (zones/refresh.c) and NOTIFY (zones/notify.c) on the pinned
 * clock of tests/support/ (ost_test.h) and a scripted fake primary that
 * answers SOA over UDP and AXFR/IXFR over TCP from zone text, split into
 * several messages, with switchable faults: cut half-way, another zone,
 * records outside the zone, TSIG good/bad/missing, incremental IXFR,
 * REFUSED, silence.
 */
#include "test_xfr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "ostrov/log.h"
#include "ostrov/xfr.h"
#include "ostrov/zone.h"

#include "ost_test.h"

#define T_WALL 1700000000

/* ---- the fake primary ---- */

enum {
	XF_CUT = 1 << 0,          /* connection reset after cut_after messages */
	XF_OTHER_ZONE = 1 << 1,   /* answers with another zone's SOA */
	XF_OUT_OF_ZONE = 1 << 2,  /* adds a record outside the zone */
	XF_TSIG = 1 << 3,         /* signs every message with the key */
	XF_BAD_TSIG = 1 << 4,     /* signs with a wrong secret */
	XF_INCREMENTAL = 1 << 5,  /* IXFR answered incrementally */
	XF_REFUSE = 1 << 6,       /* REFUSED */
	XF_SILENT = 1 << 7,       /* never answers (timeout) */
	XF_NO_FINAL_SOA = 1 << 8, /* stream ends without the closing SOA, then EOF */
	XF_IXFR_BAD = 1 << 9,     /* the incremental answer deletes a record we lack */
	XF_GARBAGE = 1 << 10      /* random bytes of every message flipped (ID kept) */
};

#define MAX_SRV 4

struct xsrv {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	ldns_rr_list *zone; /* SOA first */
	size_t per_msg;
	unsigned flags;
	size_t cut_after;
	const char *ixfr_from; /* text of the version the IXFR differences start from */
	unsigned n_udp, n_axfr, n_ixfr;
};

struct xdeliv {
	struct xdeliv *next;
	struct xnet *net;
	struct ost_upstream_query *q;
	uint8_t **msgs;
	size_t *lens;
	size_t n;
	int final_status; /* after the messages: 0 = nothing more, else this error */
	struct ost_timer *timer;
};

struct xnet {
	struct ost_transport tp;
	struct fake_clock *clk;
	struct xsrv srv[MAX_SRV];
	size_t n_srv;
	struct xdeliv *pending;
	struct ost_tsig_key key;
};

static struct xsrv *find_srv(struct xnet *n, const struct sockaddr_storage *a)
{
	for (size_t i = 0; i < n->n_srv; i++) {
		const struct sockaddr_in *x = (const void *)&n->srv[i].addr, *y = (const void *)a;
		if (x->sin_addr.s_addr == y->sin_addr.s_addr && x->sin_port == y->sin_port)
			return &n->srv[i];
	}
	return NULL;
}

static void push_wire(struct xdeliv *d, ldns_pkt *p)
{
	uint8_t *w = NULL;
	size_t wl = 0;
	assert_int_equal(ldns_pkt2wire(&w, p, &wl), LDNS_STATUS_OK);
	d->msgs = realloc(d->msgs, (d->n + 1) * sizeof(*d->msgs));
	d->lens = realloc(d->lens, (d->n + 1) * sizeof(*d->lens));
	d->msgs[d->n] = w;
	d->lens[d->n] = wl;
	d->n++;
}

static unsigned garbage_seed;

/* Flip a few random bytes after the ID of every message in @p d. */
static void mutate(struct xdeliv *d)
{
	for (size_t i = 0; i < d->n; i++) {
		unsigned flips = 1 + (unsigned)(rand_r(&garbage_seed) % 4);
		for (unsigned k = 0; k < flips && d->lens[i] > 2; k++) {
			size_t pos = 2 + (size_t)rand_r(&garbage_seed) % (d->lens[i] - 2);
			d->msgs[i][pos] ^= (uint8_t)(1 + rand_r(&garbage_seed) % 255);
		}
	}
}

static ldns_pkt *reply_to(const ldns_pkt *q, const ldns_rr *soa_q)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_pkt_set_id(p, ldns_pkt_id(q));
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, ldns_rr_clone(soa_q));
	return p;
}

/* Sign @p p like a primary (RFC 8945 §5.3.1): MAC chained to the previous one. */
static void sign(struct xnet *n, struct xsrv *s, ldns_pkt *p, ldns_rdf **mac, bool first)
{
	const char *secret =
		(s->flags & XF_BAD_TSIG) ? "c2VjcmV0LXdyb25nLWtleS0xMjM0NTY3OA==" : n->key.secret;
	assert_int_equal(ldns_pkt_tsig_sign_next(p, n->key.name, secret, 300, n->key.alg, *mac,
						 first ? 0 : 1),
			 LDNS_STATUS_OK);
	ldns_rdf_deep_free(*mac);
	*mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(p), 3));
}

static void on_deliver(void *arg);

static int xsend(void *ctx, struct ost_upstream_query *q)
{
	struct xnet *n = ctx;
	struct xsrv *s = find_srv(n, &q->addr);
	if (!s)
		return -ENETUNREACH;
	ldns_pkt *qp = NULL;
	assert_int_equal(ldns_wire2pkt(&qp, q->wire, q->len), LDNS_STATUS_OK);
	const ldns_rr *qq = ldns_rr_list_rr(ldns_pkt_question(qp), 0);
	uint16_t qt = ldns_rr_get_type(qq);
	struct xdeliv *d = calloc(1, sizeof(*d));
	d->net = n;
	d->q = q;
	ldns_rdf *mac = NULL;
	if (ldns_pkt_tsig(qp)) {
		/* The primary checks the request's TSIG and chains to its MAC. */
		assert_true(ldns_pkt_tsig_verify(qp, q->wire, q->len, n->key.name, n->key.secret,
						 NULL));
		mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(qp), 3));
	}
	if (s->flags & XF_SILENT) {
		d->final_status = -ETIMEDOUT;
	} else if (qt == LDNS_RR_TYPE_SOA) {
		s->n_udp++;
		ldns_pkt *p = reply_to(qp, qq);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER,
				 ldns_rr_clone(ldns_rr_list_rr(s->zone, 0)));
		push_wire(d, p);
		ldns_pkt_free(p);
	} else if (s->flags & XF_REFUSE) {
		ldns_pkt *p = reply_to(qp, qq);
		ldns_pkt_set_rcode(p, LDNS_RCODE_REFUSED);
		push_wire(d, p);
		ldns_pkt_free(p);
	} else {
		if (qt == LDNS_RR_TYPE_AXFR)
			s->n_axfr++;
		else
			s->n_ixfr++;
		ldns_rr_list *all = ldns_rr_list_new();
		const ldns_rr *soa = ldns_rr_list_rr(s->zone, 0);
		if (qt == LDNS_RR_TYPE_IXFR && (s->flags & XF_INCREMENTAL)) {
			/* SOA(new) SOA(old) [deleted] SOA(new) [added] SOA(new):
			 * every record of the old version out, every new one in. */
			ldns_rr *old = ldns_rr_clone(soa);
			ldns_rdf_deep_free(ldns_rr_set_rdf(
				old, ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, 1), 2));
			ldns_rr_list_push_rr(all, ldns_rr_clone(soa));
			ldns_rr_list_push_rr(all, old);
			ldns_rr_list *from = fake_rrs(s->ixfr_from ? s->ixfr_from : "");
			for (size_t i = 0; i < ldns_rr_list_rr_count(from); i++)
				if (ldns_rr_get_type(ldns_rr_list_rr(from, i)) != LDNS_RR_TYPE_SOA)
					ldns_rr_list_push_rr(
						all, ldns_rr_clone(ldns_rr_list_rr(from, i)));
			ldns_rr_list_deep_free(from);
			if (s->flags & XF_IXFR_BAD) {
				ldns_rr *o = NULL;
				ldns_rr_new_frm_str(&o, "never.example. 3600 IN A 192.0.2.99", 0,
						    NULL, NULL);
				ldns_rr_list_push_rr(all, o);
			}
			ldns_rr_list_push_rr(all, ldns_rr_clone(soa));
			for (size_t i = 1; i < ldns_rr_list_rr_count(s->zone); i++)
				ldns_rr_list_push_rr(all,
						     ldns_rr_clone(ldns_rr_list_rr(s->zone, i)));
			ldns_rr_list_push_rr(all, ldns_rr_clone(soa));
		} else {
			if (s->flags & XF_OTHER_ZONE) {
				ldns_rr *o = NULL;
				ldns_rr_new_frm_str(&o, "other. 3600 IN SOA a. b. 7 1 1 1 1", 0,
						    NULL, NULL);
				ldns_rr_list_push_rr(all, o);
			}
			for (size_t i = 0; i < ldns_rr_list_rr_count(s->zone); i++) {
				ldns_rr_list_push_rr(all,
						     ldns_rr_clone(ldns_rr_list_rr(s->zone, i)));
				if (i == 2 && (s->flags & XF_OUT_OF_ZONE)) {
					ldns_rr *o = NULL;
					ldns_rr_new_frm_str(&o,
							    "www.evil.test. 3600 IN A 192.0.2.66",
							    0, NULL, NULL);
					ldns_rr_list_push_rr(all, o);
				}
			}
			if (!(s->flags & XF_NO_FINAL_SOA))
				ldns_rr_list_push_rr(all, ldns_rr_clone(soa));
		}
		size_t total = ldns_rr_list_rr_count(all), per = s->per_msg ? s->per_msg : 5;
		for (size_t i = 0, m = 0; i < total; i += per, m++) {
			ldns_pkt *p = reply_to(qp, qq);
			if (m > 0 && (m % 2) == 0) {
				/* RFC 5936 §2.2.1: later messages may omit the question. */
				ldns_rr_list_deep_free(ldns_pkt_question(p));
				ldns_pkt_set_question(p, ldns_rr_list_new());
				ldns_pkt_set_qdcount(p, 0);
			}
			for (size_t j = i; j < i + per && j < total; j++)
				ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER,
						 ldns_rr_clone(ldns_rr_list_rr(all, j)));
			if (s->flags & (XF_TSIG | XF_BAD_TSIG))
				sign(n, s, p, &mac, m == 0);
			push_wire(d, p);
			ldns_pkt_free(p);
		}
		ldns_rr_list_deep_free(all);
		if (s->flags & XF_CUT) {
			while (d->n > s->cut_after)
				free(d->msgs[--d->n]);
			d->final_status = -ECONNRESET;
		}
		if (s->flags & XF_NO_FINAL_SOA)
			d->final_status = -ECONNRESET;
		if (s->flags & XF_GARBAGE)
			mutate(d);
	}
	ldns_rdf_deep_free(mac);
	ldns_pkt_free(qp);
	d->next = n->pending;
	n->pending = d;
	d->timer = ost_clock_timer_start(&n->clk->clock, (s->flags & XF_SILENT) ? q->timeout_ms : 5,
					 on_deliver, d);
	return 0;
}

static void deliv_free(struct xdeliv *d)
{
	struct xnet *n = d->net;
	for (struct xdeliv **pp = &n->pending; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	free(d->lens);
	free(d);
}

static void on_deliver(void *arg)
{
	struct xdeliv *d = arg;
	d->timer = NULL;
	struct ost_upstream_query *q = d->q;
	/* Unlink first: the callback may cancel or send again. */
	struct xnet *n = d->net;
	for (struct xdeliv **pp = &n->pending; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	d->next = NULL;
	for (size_t i = 0; i < d->n; i++) {
		int rc = q->cb(q, 0, d->msgs[i], d->lens[i]);
		if (rc != -EAGAIN)
			goto out;
	}
	/* The stream ended without a final answer: EOF or the fault's error. */
	q->cb(q, d->final_status ? d->final_status : -ECONNRESET, NULL, 0);
out:
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	free(d->lens);
	free(d);
}

static void xcancel(void *ctx, struct ost_upstream_query *q)
{
	struct xnet *n = ctx;
	for (struct xdeliv *d = n->pending; d; d = d->next) {
		if (d->q == q) {
			ost_clock_timer_stop(&n->clk->clock, d->timer);
			deliv_free(d);
			return;
		}
	}
}

static const struct ost_transport_ops xops = {.send = xsend, .cancel = xcancel};

static struct xsrv *add_srv(struct xnet *n, const char *ip, const char *text)
{
	struct xsrv *s = &n->srv[n->n_srv++];
	memset(s, 0, sizeof(*s));
	struct sockaddr_in *in = (void *)&s->addr;
	in->sin_family = AF_INET;
	in->sin_port = htons(53);
	inet_pton(AF_INET, ip, &in->sin_addr);
	s->addrlen = sizeof(*in);
	s->zone = fake_rrs(text);
	return s;
}

static void xnet_init(struct xnet *n, struct fake_clock *clk)
{
	memset(n, 0, sizeof(*n));
	n->tp.ops = &xops;
	n->tp.ctx = n;
	n->clk = clk;
	assert_int_equal(ost_tsig_key_parse("xfr-key:hmac-sha256:"
					    "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc=",
					    &n->key),
			 0);
}

static void xnet_deinit(struct xnet *n)
{
	while (n->pending) {
		ost_clock_timer_stop(&n->clk->clock, n->pending->timer);
		deliv_free(n->pending);
	}
	for (size_t i = 0; i < n->n_srv; i++)
		ldns_rr_list_deep_free(n->srv[i].zone);
}

/* ---- fixture: a store, a mirror with zone "example." (unsigned ok) ---- */

static const char *zone_v2 = "example. 3600 IN SOA ns.example. h.example. 2 1800 900 604800 300\n"
			     "example. 3600 IN NS ns.example.\n"
			     "ns.example. 3600 IN A 192.0.2.1\n"
			     "www.example. 3600 IN A 192.0.2.2\n"
			     "www.example. 3600 IN AAAA 2001:db8::2\n"
			     "a.example. 3600 IN TXT \"a\"\n"
			     "b.example. 3600 IN TXT \"b\"\n"
			     "c.example. 3600 IN TXT \"c\"\n"
			     "d.example. 3600 IN TXT \"d\"\n"
			     "e.example. 3600 IN TXT \"e\"\n"
			     "f.example. 3600 IN TXT \"f\"\n"
			     "sub.example. 3600 IN NS ns.sub.example.\n"
			     "ns.sub.example. 3600 IN A 192.0.2.9\n";

static const char *zone_v1 = "example. 3600 IN SOA ns.example. h.example. 1 1800 900 604800 300\n"
			     "example. 3600 IN NS ns.example.\n"
			     "ns.example. 3600 IN A 192.0.2.1\n"
			     "old.example. 3600 IN A 192.0.2.77\n";

struct fx {
	char *dir;
	struct fake_clock clk;
	struct xnet net;
	struct ost_zone_store *store;
	struct ost_mirror *m;
	struct ost_xfr_source src[MAX_SRV];
	bool use_store; /* IXFR differences are applied to the stored version */
	/* last transfer outcome */
	int done;
	struct ost_xfr_result res;
	struct ost_xfr *x;
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	char tmpl[] = "/tmp/ost-xfr-XXXXXX";
	f->dir = strdup(mkdtemp(tmpl));
	fake_clock_init(&f->clk, T_WALL);
	xnet_init(&f->net, &f->clk);
	struct ost_zone_store_opts o = {.path = f->dir, .map_size = 64u << 20};
	assert_int_equal(ost_zone_store_open(&o, &f->store), 0);
	assert_int_equal(ost_mirror_new(f->store, &f->clk.clock, &f->m), 0);
	struct ost_mirror_zone_config zc = {.name = "example.", .is_unsigned_ok = true};
	assert_int_equal(ost_mirror_add_zone(f->m, &zc), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	ost_xfr_free(f->x);
	xnet_deinit(&f->net);
	ost_mirror_free(f->m);
	ost_zone_store_close(f->store);
	assert_int_equal(fake_rmtree(f->dir), 0);
	free(f->dir);
	assert_int_equal(fake_clock_deinit(&f->clk), 0);
	free(f);
}

static struct xsrv *fx_srv(struct fx *f, const char *ip, const char *text, unsigned flags)
{
	struct xsrv *s = add_srv(&f->net, ip, text);
	s->flags = flags;
	size_t i = f->net.n_srv - 1;
	char t[128];
	snprintf(t, sizeof(t), "%s@53%s", ip, (flags & (XF_TSIG | XF_BAD_TSIG)) ? " tsig " : "");
	if (flags & (XF_TSIG | XF_BAD_TSIG))
		strcat(t, "xfr-key:hmac-sha256:c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc=");
	assert_int_equal(ost_xfr_source_parse(t, &f->src[i]), 0);
	return s;
}

static void on_done(struct ost_xfr *x, const struct ost_xfr_result *res, void *arg)
{
	struct fx *f = arg;
	assert_ptr_equal(x, f->x);
	f->done++;
	f->res = *res;
}

static void run_xfr(struct fx *f, size_t src, bool ixfr, uint32_t have, uint64_t max_records)
{
	struct ost_xfr_request rq = {.zone = "example.",
				     .src = &f->src[src],
				     .ixfr = ixfr,
				     .have_serial = have,
				     .timeout_ms = 5000,
				     .max_records = max_records,
				     .store = f->use_store ? f->store : NULL};
	f->done = 0;
	ost_xfr_free(f->x);
	f->x = NULL;
	assert_int_equal(ost_xfr_start(f->m, &f->net.tp, &f->clk.clock, &rq, on_done, f, &f->x), 0);
	assert_int_equal(f->done, 0); /* never from inside start */
	fake_clock_advance(&f->clk, 10000);
	assert_int_equal(f->done, 1);
}

static uint32_t stored_serial(struct fx *f)
{
	struct ost_zone_meta meta;
	if (ost_zone_store_get_meta(f->store, "example.", &meta) != 0)
		return 0;
	return meta.serial;
}

static void seed_v1(struct fx *f)
{
	ldns_rr_list *l = fake_rrs(zone_v1);
	assert_int_equal(ost_mirror_import_rrs(f->m, "example.", l, "test", T_WALL, NULL), 0);
	ldns_rr_list_deep_free(l);
	assert_int_equal(stored_serial(f), 1);
}

/* ---- transfer tests ---- */

static void test_axfr_good_multi(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct xsrv *s = fx_srv(f, "127.0.0.11", zone_v2, 0);
	s->per_msg = 3;
	seed_v1(f);
	run_xfr(f, 0, false, 0, 0);
	assert_int_equal(f->res.status, 0);
	assert_int_equal(f->res.serial, 2);
	assert_int_equal(f->res.messages, 5); /* 14 records in messages of 3 */
	assert_int_equal(f->res.records, 14);
	assert_int_equal(stored_serial(f), 2);
	/* The new version is served: www is there, old. is gone. */
	struct ost_zone_rtxn *t;
	struct ost_zone_rrset_view v;
	ldns_rdf *www = ldns_dname_new_frm_str("www.example."),
		 *old = ldns_dname_new_frm_str("old.example.");
	assert_int_equal(ost_zone_rtxn_begin(f->store, "example.", &t), 0);
	assert_int_equal(ost_zone_rtxn_find(t, www, LDNS_RR_TYPE_AAAA, &v), 0);
	assert_int_equal(ost_zone_rtxn_find(t, old, LDNS_RR_TYPE_A, &v), -ENOENT);
	ost_zone_rtxn_end(t);
	ldns_rdf_deep_free(www);
	ldns_rdf_deep_free(old);
	fx_free(f);
}

static void expect_rejected(struct fx *f, int status, const char *reason_part)
{
	assert_int_not_equal(f->res.status, 0);
	if (status)
		assert_int_equal(f->res.status, status);
	if (!strstr(f->res.reason, reason_part))
		fail_msg("reason \"%s\" lacks \"%s\"", f->res.reason, reason_part);
	/* The previous version is intact. */
	assert_int_equal(stored_serial(f), 1);
}

static void test_axfr_truncated(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct xsrv *s = fx_srv(f, "127.0.0.11", zone_v2, XF_CUT);
	s->cut_after = 2;
	seed_v1(f);
	run_xfr(f, 0, false, 0, 0);
	expect_rejected(f, -ECONNRESET, "after 2 messages");
	fx_free(f);
}

/* A full transfer from a primary with the fault @p flags, over a stored
 * version 1, is rejected with @p rc and a reason containing @p why. */
static void expect_faulty_axfr(unsigned flags, int rc, const char *why)
{
	struct fx *f = fx_new();
	fx_srv(f, "127.0.0.11", zone_v2, flags);
	seed_v1(f);
	run_xfr(f, 0, false, 0, 0);
	expect_rejected(f, rc, why);
	fx_free(f);
}

static void test_axfr_no_final_soa(void **state)
{
	(void)state;
	expect_faulty_axfr(XF_NO_FINAL_SOA, -ECONNRESET, "transfer ended");
}

static void test_axfr_wrong_zone(void **state)
{
	(void)state;
	expect_faulty_axfr(XF_OTHER_ZONE, OST_EMALFORMED,
			   "first record is not the SOA of example.");
}

static void test_axfr_out_of_zone(void **state)
{
	(void)state;
	expect_faulty_axfr(XF_OUT_OF_ZONE, OST_EMALFORMED,
			   "outside the zone example.: www.evil.test.");
}

static void test_axfr_too_many(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct xsrv *s = fx_srv(f, "127.0.0.11", zone_v2, 0);
	s->per_msg = 2;
	seed_v1(f);
	run_xfr(f, 0, false, 0, 8);
	expect_rejected(f, OST_ELIMIT, "more than 8 records");
	/* Cut off while streaming, not after reading everything. */
	assert_true(f->res.messages < 7);
	fx_free(f);
}

static void test_axfr_refused(void **state)
{
	(void)state;
	expect_faulty_axfr(XF_REFUSE, OST_EMALFORMED, "REFUSED");
}

static void test_tsig_good(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct xsrv *s = fx_srv(f, "127.0.0.11", zone_v2, XF_TSIG);
	s->per_msg = 4;
	seed_v1(f);
	run_xfr(f, 0, false, 0, 0);
	if (f->res.status != 0)
		fail_msg("TSIG transfer failed: %s", f->res.reason);
	assert_int_equal(f->res.messages, 4);
	assert_int_equal(stored_serial(f), 2);
	fx_free(f);
}

static void test_tsig_bad(void **state)
{
	(void)state;
	expect_faulty_axfr(XF_BAD_TSIG, OST_EMALFORMED, "TSIG does not verify");
}

static void test_tsig_missing(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	/* The source is configured with a key, the primary does not sign. */
	fx_srv(f, "127.0.0.11", zone_v2, 0);
	assert_int_equal(ost_xfr_source_parse("127.0.0.11@53 tsig xfr-key:hmac-sha256:"
					      "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc=",
					      &f->src[0]),
			 0);
	seed_v1(f);
	run_xfr(f, 0, false, 0, 0);
	expect_rejected(f, OST_EMALFORMED, "not signed");
	fx_free(f);
}

static void test_ixfr_fallback(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct xsrv *s = fx_srv(f, "127.0.0.11", zone_v2, XF_INCREMENTAL);
	seed_v1(f);
	run_xfr(f, 0, true, 1, 0);
	assert_int_equal(f->res.status, 0);
	assert_true(f->res.is_ixfr_fallback);
	assert_int_equal(s->n_ixfr, 1);
	assert_int_equal(s->n_axfr, 1);
	assert_int_equal(stored_serial(f), 2);
	fx_free(f);
}

static void test_ixfr_applied(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct xsrv *s = fx_srv(f, "127.0.0.11", zone_v2, XF_INCREMENTAL);
	s->ixfr_from = zone_v1;
	s->per_msg = 4;
	f->use_store = true;
	seed_v1(f);
	run_xfr(f, 0, true, 1, 0);
	if (f->res.status != 0)
		fail_msg("IXFR failed: %s", f->res.reason);
	assert_true(f->res.is_ixfr_applied);
	assert_false(f->res.is_ixfr_fallback);
	assert_int_equal(s->n_ixfr, 1);
	assert_int_equal(s->n_axfr, 0);
	assert_int_equal(stored_serial(f), 2);
	struct ost_zone_rtxn *t;
	struct ost_zone_rrset_view v;
	ldns_rdf *www = ldns_dname_new_frm_str("www.example."),
		 *old = ldns_dname_new_frm_str("old.example.");
	assert_int_equal(ost_zone_rtxn_begin(f->store, "example.", &t), 0);
	assert_int_equal(ost_zone_rtxn_find(t, www, LDNS_RR_TYPE_AAAA, &v), 0);
	assert_int_equal(ost_zone_rtxn_find(t, old, LDNS_RR_TYPE_A, &v), -ENOENT);
	ost_zone_rtxn_end(t);
	ldns_rdf_deep_free(www);
	ldns_rdf_deep_free(old);
	fx_free(f);
}

/* Differences that do not fit the stored version: AXFR instead. */
static void test_ixfr_mismatch_axfr(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct xsrv *s = fx_srv(f, "127.0.0.11", zone_v2, XF_INCREMENTAL | XF_IXFR_BAD);
	s->ixfr_from = zone_v1;
	f->use_store = true;
	seed_v1(f);
	run_xfr(f, 0, true, 1, 0);
	assert_int_equal(f->res.status, 0);
	assert_false(f->res.is_ixfr_applied);
	assert_true(f->res.is_ixfr_fallback);
	assert_int_equal(s->n_axfr, 1);
	assert_int_equal(stored_serial(f), 2);
	fx_free(f);
}

static void test_ixfr_axfr_style(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct xsrv *s = fx_srv(f, "127.0.0.11", zone_v2, 0);
	seed_v1(f);
	run_xfr(f, 0, true, 1, 0);
	assert_int_equal(f->res.status, 0);
	assert_false(f->res.is_ixfr_fallback);
	assert_int_equal(s->n_ixfr, 1);
	assert_int_equal(s->n_axfr, 0);
	assert_int_equal(stored_serial(f), 2);
	fx_free(f);
}

static void test_verify_reject_keeps_old(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	/* A lower serial passes the transfer checks but not the import. */
	fx_srv(f, "127.0.0.11",
	       "example. 3600 IN SOA ns.example. h.example. 2 1800 900 604800 300\n"
	       "example. 3600 IN NS ns.example.\n",
	       0);
	ldns_rr_list *l = fake_rrs("example. 3600 IN SOA ns.example. h.example. 5 1800 900 604800 "
				   "300\nexample. 3600 IN NS ns.example.\n");
	assert_int_equal(ost_mirror_import_rrs(f->m, "example.", l, "test", T_WALL, NULL), 0);
	ldns_rr_list_deep_free(l);
	run_xfr(f, 0, false, 0, 0);
	assert_int_equal(f->res.status, OST_EBOGUS);
	assert_int_equal(f->res.verdict, OST_ZV_LOWER_SERIAL);
	assert_non_null(strstr(f->res.reason, "rejected: lower_serial"));
	assert_int_equal(stored_serial(f), 5);
	fx_free(f);
}

/* Bad input never wins: 300 transfers with random bytes flipped in every
 * message. Each ends exactly once, with a version imported or a reason, and
 * the store always holds a readable version whose serial the metadata
 * names. */
static void test_axfr_garbage(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct xsrv *s = fx_srv(f, "127.0.0.11", zone_v2, XF_GARBAGE);
	s->per_msg = 3;
	seed_v1(f);
	unsigned failed = 0, imported = 0;
	for (unsigned i = 0; i < 300; i++) {
		garbage_seed = i * 7919u + 1;
		run_xfr(f, 0, false, 0, 0);
		if (f->res.status == 0) {
			imported++;
		} else {
			failed++;
			assert_true(f->res.reason[0] != 0);
		}
		struct ost_zone_rtxn *t;
		struct ost_zone_meta meta;
		assert_int_equal(ost_zone_store_get_meta(f->store, "example.", &meta), 0);
		assert_int_equal(ost_zone_rtxn_begin(f->store, "example.", &t), 0);
		assert_int_equal(ost_zone_rtxn_serial(t), meta.serial);
		ost_zone_rtxn_end(t);
	}
	print_message("garbage transfers: %u rejected, %u imported (unsigned zone)\n", failed,
		      imported);
	assert_true(failed > 200);
	fx_free(f);
}

/* The re-signed 2021 root zone (22k records) over AXFR: checked, verified
 * (DNSSEC + ZONEMD) and stored; prints the timings. */
static void test_axfr_root_zone(void **state)
{
	(void)state;
	const char *path = OST_TESTDATA "/zonemd/44-root-zone/root.zone.hashed";
	FILE *fp = fopen(path, "r");
	if (!fp)
		skip();
	ldns_rr_list *rrs = ldns_rr_list_new(), *rest = ldns_rr_list_new();
	ldns_rdf *origin = ldns_dname_new_frm_str("."), *prev = NULL;
	uint32_t ttl = 3600;
	int line = 0;
	while (!feof(fp)) {
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);
		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (st != LDNS_STATUS_OK)
			break;
		ldns_rr_list_push_rr(ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA ? rrs : rest, rr);
	}
	fclose(fp);
	assert_int_equal(ldns_rr_list_rr_count(rrs), 1);
	ldns_rr_list_cat(rrs, rest);
	ldns_rr_list_free(rest);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	size_t nrec = ldns_rr_list_rr_count(rrs);
	assert_true(nrec > 20000);

	struct fx *f = calloc(1, sizeof(*f));
	char tmpl[] = "/tmp/ost-xfr-XXXXXX";
	f->dir = strdup(mkdtemp(tmpl));
	fake_clock_init(&f->clk, 1612137600 - 1000);
	xnet_init(&f->net, &f->clk);
	struct ost_zone_store_opts o = {.path = f->dir, .map_size = 256u << 20};
	assert_int_equal(ost_zone_store_open(&o, &f->store), 0);
	assert_int_equal(ost_mirror_new(f->store, &f->clk.clock, &f->m), 0);
	/* The anchor from the test data. */
	char ap[4096];
	snprintf(ap, sizeof(ap), "%s/zonemd/44-root-zone/Keys/K.+008+21544.ds", OST_TESTDATA);
	FILE *af = fopen(ap, "r");
	assert_non_null(af);
	ldns_rr *ds = NULL;
	assert_int_equal(ldns_rr_new_frm_fp(&ds, af, NULL, NULL, NULL), LDNS_STATUS_OK);
	fclose(af);
	ldns_rr_list *anchors = ldns_rr_list_new();
	ldns_rr_list_push_rr(anchors, ds);
	struct ost_mirror_zone_config zc = {.name = ".", .anchors = anchors};
	assert_int_equal(ost_mirror_add_zone(f->m, &zc), 0);
	struct xsrv *s = &f->net.srv[f->net.n_srv++];
	memset(s, 0, sizeof(*s));
	struct sockaddr_in *in = (void *)&s->addr;
	in->sin_family = AF_INET;
	in->sin_port = htons(53);
	inet_pton(AF_INET, "127.0.0.12", &in->sin_addr);
	s->zone = rrs;
	s->per_msg = 200;
	assert_int_equal(ost_xfr_source_parse("127.0.0.12", &f->src[0]), 0);
	struct ost_xfr_request rq = {.zone = ".", .src = &f->src[0], .timeout_ms = 600000};
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(ost_xfr_start(f->m, &f->net.tp, &f->clk.clock, &rq, on_done, f, &f->x), 0);
	fake_clock_advance(&f->clk, 100);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(f->done, 1);
	if (f->res.status != 0)
		fail_msg("root zone AXFR failed: %s", f->res.reason);
	assert_int_equal(f->res.serial, 2021011901);
	assert_int_equal(f->res.records, nrec + 1);
	print_message("root zone AXFR: %zu records, %llu messages, %llu bytes: receive+verify+"
		      "commit %.0f ms wall\n",
		      nrec, (unsigned long long)f->res.messages, (unsigned long long)f->res.bytes,
		      (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
	struct ost_mirror_zone_status zs;
	assert_int_equal(ost_mirror_zone_status(f->m, ".", &zs), 0);
	assert_true(zs.is_usable);
	assert_int_equal(zs.meta.zonemd_result, OST_ZONEMD_VERIFIED);
	fx_free(f);
	ldns_rr_list_deep_free(anchors);
}

/* AXFR out: SOA first and last, every record once, messages within the
 * limit, ID and question echoed. */
static void test_axfr_out_build(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	ldns_rr_list *l = fake_rrs(zone_v2);
	for (int i = 0; i < 40; i++) {
		char t[128];
		ldns_rr *rr = NULL;
		snprintf(t, sizeof(t), "t%d.example. 3600 IN TXT \"some text for record %d\"", i,
			 i);
		assert_int_equal(ldns_rr_new_frm_str(&rr, t, 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_rr_list_push_rr(l, rr);
	}
	assert_int_equal(ost_mirror_import_rrs(f->m, "example.", l, "test", T_WALL, NULL), 0);
	size_t nrec = ldns_rr_list_rr_count(l);
	ldns_rr_list_deep_free(l);
	ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str("example."), LDNS_RR_TYPE_AXFR,
					 LDNS_RR_CLASS_IN, 0);
	ldns_pkt_set_id(q, 0xbeef);
	uint8_t *qw = NULL;
	size_t ql = 0;
	assert_int_equal(ldns_pkt2wire(&qw, q, &ql), LDNS_STATUS_OK);
	uint8_t **msgs = NULL;
	size_t *lens = NULL, n = 0;
	uint32_t serial = 0;
	assert_int_equal(
		ost_xfr_out_build(f->store, "example.", qw, ql, 512, &msgs, &lens, &n, &serial), 0);
	assert_int_equal(serial, 2);
	assert_true(n >= 2);
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		ldns_pkt *p = NULL;
		assert_true(lens[i] <= 512);
		assert_int_equal(ldns_wire2pkt(&p, msgs[i], lens[i]), LDNS_STATUS_OK);
		assert_int_equal(ldns_pkt_id(p), 0xbeef);
		assert_true(ldns_pkt_qr(p) && ldns_pkt_aa(p));
		const ldns_rr_list *an = ldns_pkt_answer(p);
		size_t c = ldns_rr_list_rr_count(an);
		if (i == 0)
			assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(an, 0)),
					 LDNS_RR_TYPE_SOA);
		if (i == n - 1)
			assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(an, c - 1)),
					 LDNS_RR_TYPE_SOA);
		total += c;
		ldns_pkt_free(p);
	}
	assert_int_equal(total, nrec + 1);
	ost_xfr_out_free(msgs, lens, n);
	/* A zone without a version. */
	assert_int_equal(
		ost_xfr_out_build(f->store, "other.", qw, ql, 512, &msgs, &lens, &n, &serial),
		-ENOENT);
	free(qw);
	ldns_pkt_free(q);
	fx_free(f);
}

static void test_source_parse(void **state)
{
	(void)state;
	struct ost_xfr_source s;
	assert_int_equal(ost_xfr_source_parse("127.53.0.1", &s), 0);
	assert_string_equal(s.text, "127.53.0.1@53");
	assert_false(s.has_tsig);
	assert_int_equal(ost_xfr_source_parse("::1@5353", &s), 0);
	assert_string_equal(s.text, "::1@5353");
	assert_int_equal(ost_xfr_source_parse("127.0.0.1@5353 tsig k:hmac-sha256:"
					      "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc=",
					      &s),
			 0);
	assert_true(s.has_tsig);
	assert_string_equal(s.tsig.name, "k.");
	assert_string_equal(s.tsig.alg, "hmac-sha256.");
	assert_int_equal(ost_xfr_source_parse("127.0.0.1@0", &s), -EINVAL);
	assert_int_equal(ost_xfr_source_parse("nohost", &s), -EINVAL);
	assert_int_equal(ost_xfr_source_parse("127.0.0.1 tsig k:hmac-foo:c2VjcmV0", &s), -EINVAL);
	assert_int_equal(ost_xfr_source_parse("127.0.0.1 tsig k:hmac-sha256:!!notbase64", &s),
			 -EINVAL);
	assert_int_equal(ost_xfr_source_parse("127.0.0.1 tsig missing-parts", &s), -EINVAL);
}

const struct CMUnitTest xfr_tests[] = {
	cmocka_unit_test(test_source_parse),       cmocka_unit_test(test_axfr_good_multi),
	cmocka_unit_test(test_axfr_truncated),     cmocka_unit_test(test_axfr_no_final_soa),
	cmocka_unit_test(test_axfr_wrong_zone),    cmocka_unit_test(test_axfr_out_of_zone),
	cmocka_unit_test(test_axfr_too_many),      cmocka_unit_test(test_axfr_refused),
	cmocka_unit_test(test_tsig_good),          cmocka_unit_test(test_tsig_bad),
	cmocka_unit_test(test_tsig_missing),       cmocka_unit_test(test_ixfr_fallback),
	cmocka_unit_test(test_ixfr_axfr_style),    cmocka_unit_test(test_ixfr_applied),
	cmocka_unit_test(test_ixfr_mismatch_axfr), cmocka_unit_test(test_verify_reject_keeps_old),
	cmocka_unit_test(test_axfr_root_zone),     cmocka_unit_test(test_axfr_garbage),
	cmocka_unit_test(test_axfr_out_build),
};
const size_t xfr_tests_count = sizeof(xfr_tests) / sizeof(xfr_tests[0]);

/* ---- shared with test_xfr_refresh.c ---- */

struct xfr_fixture *xfx_new(void)
{
	return (struct xfr_fixture *)fx_new();
}

void xfx_free(struct xfr_fixture *f)
{
	fx_free((struct fx *)f);
}

struct fake_clock *xfx_clock(struct xfr_fixture *f)
{
	return &((struct fx *)f)->clk;
}

const struct ost_transport *xfx_tp(struct xfr_fixture *f)
{
	return &((struct fx *)f)->net.tp;
}

struct ost_mirror *xfx_mirror(struct xfr_fixture *f)
{
	return ((struct fx *)f)->m;
}

struct ost_zone_store *xfx_store(struct xfr_fixture *f)
{
	return ((struct fx *)f)->store;
}

const struct ost_xfr_source *xfx_add_source(struct xfr_fixture *f, const char *ip, int version,
					    unsigned flags)
{
	struct fx *x = (struct fx *)f;
	fx_srv(x, ip, version == 2 ? zone_v2 : zone_v1, flags);
	return &x->src[x->net.n_srv - 1];
}

void xfx_seed_v1(struct xfr_fixture *f)
{
	seed_v1((struct fx *)f);
}

uint32_t xfx_serial(struct xfr_fixture *f)
{
	return stored_serial((struct fx *)f);
}

void xfx_counts(struct xfr_fixture *f, size_t srv, unsigned *udp, unsigned *axfr)
{
	struct fx *x = (struct fx *)f;
	*udp = x->net.srv[srv].n_udp;
	*axfr = x->net.srv[srv].n_axfr + x->net.srv[srv].n_ixfr;
}

void xfx_set_flags(struct xfr_fixture *f, size_t srv, unsigned flags)
{
	((struct fx *)f)->net.srv[srv].flags = flags;
}

unsigned xfx_flag_silent(void)
{
	return XF_SILENT;
}

unsigned xfx_flag_cut(void)
{
	return XF_CUT;
}
