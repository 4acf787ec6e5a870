/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of resolver/answer.c: client responses from results
 * (ost_result_to_wire: ID, flags, question, EDNS with the EDE option,
 * truncation) and the OST_CTAG_MSG payload with the cache-hit path
 * (ost_msg_to_wire: client's ID and case, TTL countdown, DO filtering,
 * truncation, refusal of expired or foreign entries). Responses are checked
 * by parsing them back with ldns.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "ostrov/resolver.h"

#include "ost_test.h"
#include "resolver/internal.h"

struct query_opts {
	uint16_t id;
	bool rd, cd, edns, do_bit;
	uint16_t udp_size;
};

/* Build a client query wire; the caller frees it. */
static uint8_t *make_query(const char *name, uint16_t type, struct query_opts o, size_t *len)
{
	ldns_pkt *q = NULL;
	assert_int_equal(ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN, 0),
			 LDNS_STATUS_OK);
	ldns_pkt_set_id(q, o.id);
	ldns_pkt_set_rd(q, o.rd);
	ldns_pkt_set_cd(q, o.cd);
	if (o.edns) {
		ldns_pkt_set_edns_udp_size(q, o.udp_size);
		ldns_pkt_set_edns_do(q, o.do_bit);
	}
	uint8_t *w = NULL;
	assert_int_equal(ldns_pkt2wire(&w, q, len), LDNS_STATUS_OK);
	ldns_pkt_free(q);
	return w;
}

static ldns_pkt *parse(const uint8_t *w, size_t len)
{
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, w, len), LDNS_STATUS_OK);
	return p;
}

struct res_fixture {
	struct ost_result res;
	ldns_rdf *qname;
	ldns_rr_list *an, *ns, *ar;
};

static void fixture(struct res_fixture *f, const char *qname, uint8_t rcode, const char *an,
		    const char *ns)
{
	memset(f, 0, sizeof(*f));
	f->qname = ldns_dname_new_frm_str(qname);
	f->an = fake_rrs(an ? an : "");
	f->ns = fake_rrs(ns ? ns : "");
	f->ar = fake_rrs("");
	f->res.qname = f->qname;
	f->res.qtype = LDNS_RR_TYPE_A;
	f->res.qclass = LDNS_RR_CLASS_IN;
	f->res.rcode = rcode;
	f->res.answer = f->an;
	f->res.auth = f->ns;
	f->res.add = f->ar;
	f->res.ede_text = "";
}

static void fixture_free(struct res_fixture *f)
{
	ldns_rdf_deep_free(f->qname);
	ldns_rr_list_deep_free(f->an);
	ldns_rr_list_deep_free(f->ns);
	ldns_rr_list_deep_free(f->ar);
}

/* An EDE option in @p p: returns its data length, copies it into @p out. */
static int find_ede(ldns_pkt *p, uint8_t *out, size_t cap)
{
	ldns_edns_option_list *ol = ldns_pkt_edns_get_option_list(p);
	if (!ol)
		return -1;
	for (size_t i = 0; i < ldns_edns_option_list_get_count(ol); i++) {
		ldns_edns_option *o = ldns_edns_option_list_get_option(ol, i);
		if (ldns_edns_get_code(o) == 15) {
			size_t n = ldns_edns_get_size(o);
			assert_true(n <= cap);
			memcpy(out, ldns_edns_get_data(o), n);
			return (int)n;
		}
	}
	return -1;
}

static void test_wire_basic(void **state)
{
	(void)state;
	struct res_fixture f;
	fixture(&f, "www.example.ru.", LDNS_RCODE_NOERROR, "www.example.ru. 300 IN A 127.53.8.8\n",
		NULL);
	size_t qlen;
	uint8_t *q = make_query(
		"WWW.example.ru.", LDNS_RR_TYPE_A,
		(struct query_opts){
			.id = 0x1234, .rd = true, .cd = true, .edns = true, .udp_size = 4096},
		&qlen);
	uint8_t buf[4096];
	size_t len = 0;
	assert_int_equal(ost_result_to_wire(&f.res, q, qlen, false, 1232, buf, sizeof(buf), &len),
			 0);
	ldns_pkt *p = parse(buf, len);
	assert_int_equal(ldns_pkt_id(p), 0x1234);
	assert_true(ldns_pkt_qr(p));
	assert_true(ldns_pkt_rd(p));
	assert_true(ldns_pkt_ra(p));
	assert_true(ldns_pkt_cd(p));
	assert_false(ldns_pkt_ad(p));
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	char *qn = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)));
	assert_string_equal(qn, "WWW.example.ru.");
	free(qn);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	uint8_t ede[300];
	assert_int_equal(find_ede(p, ede, sizeof(ede)), -1);
	ldns_pkt_free(p);
	free(q);
	fixture_free(&f);
}

static void test_wire_ede(void **state)
{
	(void)state;
	struct res_fixture f;
	fixture(&f, "www.example.ru.", LDNS_RCODE_SERVFAIL, NULL, NULL);
	f.res.has_ede = true;
	f.res.ede = OST_EDE_NO_REACHABLE_AUTHORITY;
	f.res.ede_text = "ostrov: outbound query limit (32) reached";
	size_t qlen;
	uint8_t *q = make_query(
		"www.example.ru.", LDNS_RR_TYPE_A,
		(struct query_opts){.id = 7, .rd = true, .edns = true, .udp_size = 1232}, &qlen);
	uint8_t buf[4096];
	size_t len = 0;
	assert_int_equal(ost_result_to_wire(&f.res, q, qlen, false, 1232, buf, sizeof(buf), &len),
			 0);
	ldns_pkt *p = parse(buf, len);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	uint8_t ede[300];
	int n = find_ede(p, ede, sizeof(ede));
	assert_int_equal(n, 2 + (int)strlen(f.res.ede_text));
	assert_int_equal(ldns_read_uint16(ede), 22);
	assert_memory_equal(ede + 2, f.res.ede_text, strlen(f.res.ede_text));
	ldns_pkt_free(p);
	free(q);

	/* Without EDNS from the client there is no OPT, so no EDE. */
	q = make_query("www.example.ru.", LDNS_RR_TYPE_A, (struct query_opts){.id = 8}, &qlen);
	assert_int_equal(ost_result_to_wire(&f.res, q, qlen, false, 1232, buf, sizeof(buf), &len),
			 0);
	p = parse(buf, len);
	assert_false(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	ldns_pkt_free(p);
	free(q);
	fixture_free(&f);
}

/* 40 TXT records of about 60 bytes: ~2.8 kB. */
static char *big_answer(void)
{
	size_t cap = 8192, used = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	s[0] = 0;
	for (int i = 0; i < 40; i++)
		used += (size_t)snprintf(s + used, cap - used,
					 "big.example.ru. 300 IN TXT \"record %02d "
					 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n",
					 i);
	return s;
}

static void test_wire_truncation(void **state)
{
	(void)state;
	struct res_fixture f;
	char *big = big_answer();
	fixture(&f, "big.example.ru.", LDNS_RCODE_NOERROR, big, NULL);
	free(big);
	f.res.qtype = LDNS_RR_TYPE_TXT;
	uint8_t buf[65536];
	size_t qlen, len = 0;
	struct {
		struct query_opts o;
		bool tcp;
		bool tc;
	} cases[] = {
		{{.id = 1}, false, true},                                  /* 512 */
		{{.id = 2, .edns = true, .udp_size = 1232}, false, true},  /* 1232 */
		{{.id = 3, .edns = true, .udp_size = 65000}, false, true}, /* ours caps */
		{{.id = 4}, true, false},                                  /* TCP */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *q = make_query("big.example.ru.", LDNS_RR_TYPE_TXT, cases[i].o, &qlen);
		assert_int_equal(ost_result_to_wire(&f.res, q, qlen, cases[i].tcp, 1232, buf,
						    sizeof(buf), &len),
				 0);
		ldns_pkt *p = parse(buf, len);
		assert_int_equal(ldns_pkt_tc(p), cases[i].tc);
		assert_int_equal(ldns_pkt_ancount(p), cases[i].tc ? 0 : 40);
		assert_int_equal(ldns_pkt_id(p), cases[i].o.id);
		assert_int_equal(ldns_pkt_qdcount(p), 1);
		assert_int_equal(ldns_pkt_edns(p), cases[i].o.edns);
		assert_true(len <= (cases[i].tcp ? 65535u : cases[i].o.edns ? 1232u : 512u));
		ldns_pkt_free(p);
		free(q);
	}
	/* Too small a buffer even for the truncated reply. */
	uint8_t *q = make_query("big.example.ru.", LDNS_RR_TYPE_TXT, (struct query_opts){.id = 5},
				&qlen);
	assert_int_equal(ost_result_to_wire(&f.res, q, qlen, false, 1232, buf, 10, &len), -ENOBUFS);
	free(q);
	fixture_free(&f);
}

static void test_wire_do_filter(void **state)
{
	(void)state;
	struct res_fixture f;
	fixture(&f, "www.example.ru.", LDNS_RCODE_NOERROR,
		"www.example.ru. 300 IN A 127.53.8.8\n"
		"www.example.ru. 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 1 "
		"example.ru. AAAA\n",
		NULL);
	uint8_t buf[4096];
	size_t qlen, len;
	uint8_t *q = make_query("www.example.ru.", LDNS_RR_TYPE_A,
				(struct query_opts){.edns = true, .udp_size = 1232}, &qlen);
	assert_int_equal(ost_result_to_wire(&f.res, q, qlen, false, 1232, buf, sizeof(buf), &len),
			 0);
	ldns_pkt *p = parse(buf, len);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	free(q);
	q = make_query("www.example.ru.", LDNS_RR_TYPE_A,
		       (struct query_opts){.edns = true, .do_bit = true, .udp_size = 1232}, &qlen);
	assert_int_equal(ost_result_to_wire(&f.res, q, qlen, false, 1232, buf, sizeof(buf), &len),
			 0);
	p = parse(buf, len);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_true(ldns_pkt_edns_do(p));
	ldns_pkt_free(p);
	free(q);
	fixture_free(&f);
}

static void test_wire_bad_query(void **state)
{
	(void)state;
	struct res_fixture f;
	fixture(&f, "www.example.ru.", LDNS_RCODE_NOERROR, NULL, NULL);
	uint8_t junk[5] = {1, 2, 3, 4, 5};
	uint8_t buf[512];
	size_t len;
	assert_int_equal(
		ost_result_to_wire(&f.res, junk, sizeof(junk), false, 1232, buf, sizeof(buf), &len),
		OST_EMALFORMED);
	fixture_free(&f);
}

/* ---- OST_CTAG_MSG ---- */

struct msg_fixture {
	struct ost_arena arena;
	struct ost_cache_entry e;
	uint32_t min_ttl;
};

static void msg_make(struct msg_fixture *m, const char *qname, uint16_t qtype, uint8_t rcode,
		     const char *an, const char *ns)
{
	memset(m, 0, sizeof(*m));
	ost_arena_init(&m->arena, 4096);
	struct res_fixture f;
	fixture(&f, qname, rcode, an, ns);
	uint8_t *data = NULL;
	uint32_t len = 0;
	assert_int_equal(ost_msg_encode(f.qname, qtype, LDNS_RR_CLASS_IN, rcode, f.an, f.ns, f.ar,
					&m->arena, &data, &len, &m->min_ttl),
			 0);
	m->e.tag = OST_CTAG_MSG;
	m->e.rcode = rcode;
	m->e.stored_at = 1000;
	m->e.ttl = m->min_ttl;
	m->e.expires_at = 1000 + m->min_ttl;
	m->e.data = data;
	m->e.len = len;
	fixture_free(&f);
}

static void test_msg_hit(void **state)
{
	(void)state;
	struct msg_fixture m;
	msg_make(&m, "www.example.ru.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
		 "www.example.ru. 300 IN CNAME web.example.ru.\n"
		 "web.example.ru. 200 IN A 127.53.8.8\n"
		 "web.example.ru. 200 IN RRSIG A 13 3 200 20300101000000 20200101000000 1 "
		 "example.ru. AAAA\n",
		 NULL);
	assert_int_equal(m.min_ttl, 200);
	size_t qlen, len = 0;
	uint8_t buf[2048];
	uint8_t *q = make_query(
		"WWW.Example.ru.", LDNS_RR_TYPE_A,
		(struct query_opts){.id = 0xbeef, .rd = true, .edns = true, .udp_size = 1232},
		&qlen);
	assert_int_equal(ost_msg_to_wire(&m.e, q, qlen, 1150, false, 1232, buf, sizeof(buf), &len),
			 0);
	ldns_pkt *p = parse(buf, len);
	assert_int_equal(ldns_pkt_id(p), 0xbeef);
	assert_true(ldns_pkt_qr(p));
	assert_true(ldns_pkt_rd(p));
	assert_true(ldns_pkt_ra(p));
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	char *qn = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)));
	assert_string_equal(qn, "WWW.Example.ru.");
	free(qn);
	/* DO=0: the RRSIG is left out; TTLs count down by 150 s. */
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 150);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 1)), 50);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	ldns_pkt_free(p);
	free(q);

	/* DO=1: the RRSIG comes along and DO is echoed. */
	q = make_query("www.example.ru.", LDNS_RR_TYPE_A,
		       (struct query_opts){.id = 2, .edns = true, .do_bit = true, .udp_size = 1232},
		       &qlen);
	assert_int_equal(ost_msg_to_wire(&m.e, q, qlen, 1000, false, 1232, buf, sizeof(buf), &len),
			 0);
	p = parse(buf, len);
	assert_int_equal(ldns_pkt_ancount(p), 3);
	assert_true(ldns_pkt_edns_do(p));
	ldns_pkt_free(p);
	free(q);

	/* No EDNS: no OPT in the reply. */
	q = make_query("www.example.ru.", LDNS_RR_TYPE_A, (struct query_opts){.id = 3}, &qlen);
	assert_int_equal(ost_msg_to_wire(&m.e, q, qlen, 1000, false, 1232, buf, sizeof(buf), &len),
			 0);
	p = parse(buf, len);
	assert_false(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_arcount(p), 0);
	ldns_pkt_free(p);
	free(q);
	ost_arena_deinit(&m.arena);
}

static void test_msg_refusals(void **state)
{
	(void)state;
	struct msg_fixture m;
	msg_make(&m, "www.example.ru.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
		 "www.example.ru. 300 IN A 127.53.8.8\n", NULL);
	size_t qlen, len;
	uint8_t buf[2048];
	uint8_t *q =
		make_query("www.example.ru.", LDNS_RR_TYPE_A, (struct query_opts){.id = 1}, &qlen);
	/* Expired. */
	assert_int_equal(ost_msg_to_wire(&m.e, q, qlen, 1300, false, 1232, buf, sizeof(buf), &len),
			 -ENOENT);
	free(q);
	/* Another question. */
	q = make_query("www.example.ru.", LDNS_RR_TYPE_AAAA, (struct query_opts){.id = 1}, &qlen);
	assert_int_equal(ost_msg_to_wire(&m.e, q, qlen, 1100, false, 1232, buf, sizeof(buf), &len),
			 -ENOENT);
	free(q);
	q = make_query("ww.example.ru.", LDNS_RR_TYPE_A, (struct query_opts){.id = 1}, &qlen);
	assert_int_equal(ost_msg_to_wire(&m.e, q, qlen, 1100, false, 1232, buf, sizeof(buf), &len),
			 -ENOENT);
	free(q);
	/* Garbage query and a corrupt payload. */
	uint8_t junk[12] = {0};
	assert_int_equal(ost_msg_to_wire(&m.e, junk, sizeof(junk), 1100, false, 1232, buf,
					 sizeof(buf), &len),
			 OST_EMALFORMED);
	q = make_query("www.example.ru.", LDNS_RR_TYPE_A, (struct query_opts){.id = 1}, &qlen);
	struct ost_cache_entry bad = m.e;
	bad.len = 20;
	assert_int_equal(ost_msg_to_wire(&bad, q, qlen, 1100, false, 1232, buf, sizeof(buf), &len),
			 OST_EMALFORMED);
	free(q);
	ost_arena_deinit(&m.arena);
}

static void test_msg_truncation_and_negative(void **state)
{
	(void)state;
	struct msg_fixture m;
	char *big = big_answer();
	msg_make(&m, "big.example.ru.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, big, NULL);
	free(big);
	size_t qlen, len;
	uint8_t buf[8192];
	uint8_t *q = make_query("big.example.ru.", LDNS_RR_TYPE_TXT, (struct query_opts){.id = 9},
				&qlen);
	assert_int_equal(ost_msg_to_wire(&m.e, q, qlen, 1000, false, 1232, buf, sizeof(buf), &len),
			 0);
	ldns_pkt *p = parse(buf, len);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_true(len <= 512);
	ldns_pkt_free(p);
	assert_int_equal(ost_msg_to_wire(&m.e, q, qlen, 1000, true, 1232, buf, sizeof(buf), &len),
			 0);
	p = parse(buf, len);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 40);
	ldns_pkt_free(p);
	free(q);
	ost_arena_deinit(&m.arena);

	/* NXDOMAIN: lives min(SOA TTL, MINIMUM) (RFC 2308 §5). */
	msg_make(&m, "nope.example.ru.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, NULL,
		 "example.ru. 3600 IN SOA ns1.example.ru. h.example.ru. 1 1800 900 604800 "
		 "300\n");
	assert_int_equal(m.min_ttl, 300);
	q = make_query("nope.example.ru.", LDNS_RR_TYPE_A, (struct query_opts){.id = 10}, &qlen);
	assert_int_equal(ost_msg_to_wire(&m.e, q, qlen, 1010, false, 1232, buf, sizeof(buf), &len),
			 0);
	p = parse(buf, len);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(p), 0)), 290);
	ldns_pkt_free(p);
	free(q);
	ost_arena_deinit(&m.arena);
}

/* ---- owner-name compression on the hit path ---- */

/* Compare one section of a hit reply with the records it must carry: those
 * of @p text that a client with @p do_bit gets for @p qtype, in order, with
 * the same owner (without case, RFC 4343: a pointer into the question takes
 * the client's spelling), type, class and RDATA bytes, and the TTL counted
 * down by @p elapsed (a negative answer's SOA lives min(TTL, MINIMUM)).
 * @return the uncompressed wire size of the records expected */
static size_t check_section(const ldns_rr_list *got, const char *text, uint16_t qtype, bool do_bit,
			    uint32_t elapsed, bool is_auth)
{
	ldns_rr_list *want = fake_rrs(text ? text : "");
	size_t k = 0, size = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(want); i++) {
		const ldns_rr *w = ldns_rr_list_rr(want, i);
		uint16_t t = ldns_rr_get_type(w);
		if (!do_bit && t != qtype &&
		    (t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_NSEC || t == LDNS_RR_TYPE_NSEC3))
			continue;
		assert_true(k < ldns_rr_list_rr_count(got));
		const ldns_rr *g = ldns_rr_list_rr(got, k++);
		assert_int_equal(ldns_dname_compare(ldns_rr_owner(g), ldns_rr_owner(w)), 0);
		assert_int_equal(ldns_rr_get_type(g), t);
		assert_int_equal(ldns_rr_get_class(g), ldns_rr_get_class(w));
		uint32_t ttl = ldns_rr_ttl(w);
		if (is_auth && t == LDNS_RR_TYPE_SOA) {
			uint32_t min = ldns_rdf2native_int32(ldns_rr_rdf(w, 6));
			ttl = min < ttl ? min : ttl;
		}
		assert_int_equal(ldns_rr_ttl(g), ttl - elapsed);
		assert_int_equal(ldns_rr_rd_count(g), ldns_rr_rd_count(w));
		for (size_t r = 0; r < ldns_rr_rd_count(w); r++) {
			const ldns_rdf *a = ldns_rr_rdf(g, r), *b = ldns_rr_rdf(w, r);
			assert_int_equal(ldns_rdf_size(a), ldns_rdf_size(b));
			assert_memory_equal(ldns_rdf_data(a), ldns_rdf_data(b), ldns_rdf_size(b));
		}
		size += ldns_rr_uncompressed_size(w);
	}
	assert_int_equal(k, ldns_rr_list_rr_count(got));
	ldns_rr_list_deep_free(want);
	return size;
}

/* Render the entry of @p m for @p qname (its spelling) and check the reply
 * against @p an / @p ns (see check_section()). @return the reply's length;
 * @p unc receives the length the reply had with owners in full. */
static size_t check_hit(struct msg_fixture *m, const char *qname, uint16_t qtype, bool do_bit,
			bool is_tcp, uint32_t elapsed, const char *an, const char *ns, size_t *unc)
{
	size_t qlen, len = 0;
	uint8_t *q = make_query(
		qname, qtype,
		(struct query_opts){.id = 77, .edns = true, .do_bit = do_bit, .udp_size = 1232},
		&qlen);
	static uint8_t buf[65535];
	assert_int_equal(ost_msg_to_wire(&m->e, q, qlen, 1000 + elapsed, is_tcp, 1232, buf,
					 sizeof(buf), &len),
			 0);
	ldns_pkt *p = parse(buf, len);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_id(p), 77);
	char *qn = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)));
	assert_string_equal(qn, qname);
	free(qn);
	/* The old renderer: header, question and OPT as now, records whole. */
	*unc = qlen + check_section(ldns_pkt_answer(p), an, qtype, do_bit, elapsed, false) +
	       check_section(ldns_pkt_authority(p), ns, qtype, do_bit, elapsed, true);
	assert_int_equal(ldns_pkt_arcount(p), 0);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_do(p), do_bit);
	ldns_pkt_free(p);
	free(q);
	return len;
}

/* Owners equal to, under, above, beside and unrelated to the question, in
 * several spellings of the question, DO=0 and DO=1. */
static void test_msg_compress_owners(void **state)
{
	(void)state;
	const char *an = "www.example.ru. 300 IN CNAME web.example.ru.\n"
			 "www.example.ru. 300 IN RRSIG CNAME 13 3 300 20300101000000 "
			 "20200101000000 1 example.ru. AAAA\n"
			 "Www.Example.RU. 300 IN TXT \"stored in capitals\"\n"
			 "web.example.ru. 200 IN A 127.53.8.8\n"
			 "web.example.ru. 200 IN RRSIG A 13 3 200 20300101000000 20200101000000 1 "
			 "example.ru. AAAA\n"
			 "a.b.www.example.ru. 300 IN TXT \"under\"\n"
			 "a.b.c.d.e.f.g.h.i.j.www.example.ru. 300 IN TXT \"deep\"\n";
	const char *ns = "example.ru. 300 IN NS ns1.example.ru.\n"
			 "example.ru. 300 IN RRSIG NS 13 2 300 20300101000000 20200101000000 1 "
			 "example.ru. AAAA\n"
			 "ru. 300 IN NS a.dns.ru.\n"
			 "xwww.example.ru. 300 IN A 127.0.0.2\n"
			 "ru.example. 300 IN A 127.0.0.3\n"
			 "example.com. 300 IN A 127.0.0.4\n"
			 "example.com. 300 IN AAAA ::1\n"
			 ". 300 IN NS a.root-servers.net.\n"
			 "www.example.ru.example.com. 300 IN A 127.0.0.5\n"
			 "sub.example.com. 300 IN A 127.0.0.6\n"
			 "example.ru. 300 IN SOA ns1.example.ru. h.example.ru. 1 1800 900 604800 "
			 "300\n"
			 "web.example.ru. 200 IN NSEC x.example.ru. A RRSIG NSEC\n"
			 "example.com. 300 IN TXT \"after the ring moved on\"\n";
	struct msg_fixture m;
	msg_make(&m, "www.example.ru.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, ns);
	const char *spellings[] = {"www.example.ru.", "WWW.EXAMPLE.RU.", "wWw.ExAmPlE.rU."};
	for (size_t i = 0; i < 3; i++) {
		for (int do_bit = 0; do_bit <= 1; do_bit++) {
			size_t unc;
			size_t len = check_hit(&m, spellings[i], LDNS_RR_TYPE_A, do_bit, false,
					       (uint32_t)(17 * i), an, ns, &unc);
			assert_true(len < unc);
		}
	}
	ost_arena_deinit(&m.arena);
}

/* The exact bytes each kind of owner costs (so a renderer that compressed
 * less, or pointed wrongly, fails): the question name itself 2, "a.b" under
 * it 4 + 2, the zone above it 2, an unrelated name in full once then 2. */
static void test_msg_compress_sizes(void **state)
{
	(void)state;
	const char *an = "www.example.ru. 300 IN A 127.53.8.8\n"
			 "www.example.ru. 300 IN A 127.53.8.9\n";
	const char *ns = "a.b.www.example.ru. 300 IN TXT \"x\"\n"
			 "example.ru. 300 IN NS ns1.example.ru.\n"
			 "ru. 300 IN NS a.dns.ru.\n"
			 "other.net. 300 IN A 127.0.0.1\n"
			 "other.net. 300 IN AAAA ::1\n"
			 "c.other.net. 300 IN A 127.0.0.1\n";
	struct msg_fixture m;
	msg_make(&m, "www.example.ru.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, ns);
	size_t unc;
	size_t len =
		check_hit(&m, "WWW.example.RU.", LDNS_RR_TYPE_A, false, false, 5, an, ns, &unc);
	/* Stored owner lengths: www.example.ru. 16, a.b.www.example.ru. 20,
	 * example.ru. 12, ru. 4, other.net. 11, c.other.net. 13. */
	size_t saved = 2 * (16 - 2) + (20 - 6) + (12 - 2) + (4 - 2) + 0 + (11 - 2) + 0;
	assert_int_equal(len, unc - saved);
	ost_arena_deinit(&m.arena);
}

/* The base64 of @p n zero bytes (a signature of that size), in @p out. */
static void zero_b64(size_t n, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i + 3 <= n; i += 3, k += 4)
		memcpy(out + k, "AAAA", 4);
	if (n % 3 == 1)
		memcpy(out + k, "AA==", 4), k += 4;
	else if (n % 3 == 2)
		memcpy(out + k, "AAA=", 4), k += 4;
	out[k] = 0;
}

/* An NSEC3 NXDOMAIN signed with RSA-2048 (256-byte signatures): SOA, two
 * NSEC3 and their RRSIGs is 1322 bytes with owners in full, over the 1232 a
 * client offers (RFC 9715), so the old renderer sent TC=1 (a TCP retry); the
 * compressed reply fits, as the engine's own did. */
static void test_msg_compress_fits(void **state)
{
	(void)state;
	char sig[400], ns[4096];
	zero_b64(256, sig);
	snprintf(ns, sizeof(ns),
		 "example.ru. 300 IN SOA ns1.example.ru. hostmaster.example.ru. 1 1800 900 "
		 "604800 300\n"
		 "example.ru. 300 IN RRSIG SOA 8 2 300 20300101000000 20200101000000 1 "
		 "example.ru. %s\n"
		 "0123456789abcdefghijklmnopqrstuv.example.ru. 300 IN NSEC3 1 1 0 aabbccdd "
		 "123456789abcdefghijklmnopqrstuv0 A RRSIG\n"
		 "0123456789abcdefghijklmnopqrstuv.example.ru. 300 IN RRSIG NSEC3 8 3 300 "
		 "20300101000000 20200101000000 1 example.ru. %s\n"
		 "k123456789abcdefghijklmnopqrstuv.example.ru. 300 IN NSEC3 1 1 0 aabbccdd "
		 "m123456789abcdefghijklmnopqrstuv NS SOA RRSIG DNSKEY NSEC3PARAM\n"
		 "k123456789abcdefghijklmnopqrstuv.example.ru. 300 IN RRSIG NSEC3 8 3 300 "
		 "20300101000000 20200101000000 1 example.ru. %s\n",
		 sig, sig, sig);
	struct msg_fixture m;
	msg_make(&m, "nonexistent-name.example.ru.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, NULL, ns);
	size_t unc;
	size_t len = check_hit(&m, "NonExistent-Name.example.ru.", LDNS_RR_TYPE_A, true, false, 30,
			       NULL, ns, &unc);
	assert_true(unc > 1232);
	assert_true(len <= 1232);
	ost_arena_deinit(&m.arena);
}

/* A reply that does not fit even compressed is still TC=1 with no records,
 * and a large TCP reply (owners past the 14-bit pointer range) parses. */
static void test_msg_compress_limits(void **state)
{
	(void)state;
	size_t cap = 65536, used = 0;
	char *big = malloc(cap);
	assert_non_null(big);
	for (int i = 0; i < 300; i++)
		used += (size_t)snprintf(big + used, cap - used,
					 "x.other.net. 300 IN TXT \"record %03d "
					 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n",
					 i);
	snprintf(big + used, cap - used,
		 "late.other.net. 300 IN TXT \"first written past 16 KiB\"\n"
		 "late.other.net. 300 IN TXT \"again\"\n"
		 "x.other.net. 300 IN TXT \"the first owner again\"\n"
		 "big.example.ru. 300 IN TXT \"the question\"\n");
	struct msg_fixture m;
	msg_make(&m, "big.example.ru.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, big, NULL);
	size_t unc;
	size_t len =
		check_hit(&m, "Big.Example.Ru.", LDNS_RR_TYPE_TXT, false, true, 1, big, NULL, &unc);
	assert_true(len > 0x4000);
	assert_true(len < unc);

	/* Over UDP it does not fit 1232 even compressed. */
	size_t qlen;
	uint8_t *q =
		make_query("big.example.ru.", LDNS_RR_TYPE_TXT,
			   (struct query_opts){.id = 4, .edns = true, .udp_size = 1232}, &qlen);
	static uint8_t buf[65535];
	assert_int_equal(ost_msg_to_wire(&m.e, q, qlen, 1001, false, 1232, buf, sizeof(buf), &len),
			 0);
	ldns_pkt *p = parse(buf, len);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(len, qlen);
	ldns_pkt_free(p);
	free(q);
	free(big);
	ost_arena_deinit(&m.arena);
}

/* Owners that are not one uncompressed name of exactly their stored length
 * are refused (the payload comes from a file), never copied or pointed into. */
static void test_msg_compress_malformed(void **state)
{
	(void)state;
	struct msg_fixture m;
	msg_make(&m, "www.example.ru.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
		 "other.net. 300 IN A 127.0.0.1\n", NULL);
	size_t qlen, len;
	uint8_t *q =
		make_query("www.example.ru.", LDNS_RR_TYPE_A, (struct query_opts){.id = 1}, &qlen);
	uint8_t buf[2048];
	assert_int_equal(ost_msg_to_wire(&m.e, q, qlen, 1100, false, 1232, buf, sizeof(buf), &len),
			 0);
	/* The record is the last thing in the payload: 11-byte owner, 10
	 * bytes of type to RDLENGTH, 4 of address. */
	size_t rec = m.e.len - 25;
	uint8_t *copy = malloc(m.e.len);
	assert_non_null(copy);
	struct {
		size_t at;
		uint8_t v;
	} damage[] = {
		{rec + 0, 0xc0}, /* a compression pointer */
		{rec + 0, 0x40}, /* an extended label type */
		{rec + 0, 12},   /* a label past the owner */
		{rec + 6, 0},    /* the name ends early */
		{rec + 10, 3},   /* no root label at its end */
		{rec + 0, 0},    /* the root, with bytes after it */
	};
	for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
		memcpy(copy, m.e.data, m.e.len);
		copy[damage[i].at] = damage[i].v;
		struct ost_cache_entry bad = m.e;
		bad.data = copy;
		assert_int_equal(
			ost_msg_to_wire(&bad, q, qlen, 1100, false, 1232, buf, sizeof(buf), &len),
			OST_EMALFORMED);
	}
	/* A descriptor with an owner length of 0. */
	memcpy(copy, m.e.data, m.e.len);
	copy[OST_MSG_HDR_LEN + 16 + 7] = 0;
	struct ost_cache_entry bad = m.e;
	bad.data = copy;
	assert_int_equal(ost_msg_to_wire(&bad, q, qlen, 1100, false, 1232, buf, sizeof(buf), &len),
			 OST_EMALFORMED);
	free(copy);
	free(q);
	ost_arena_deinit(&m.arena);
}

int answer_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_basic),
		cmocka_unit_test(test_wire_ede),
		cmocka_unit_test(test_wire_truncation),
		cmocka_unit_test(test_wire_do_filter),
		cmocka_unit_test(test_wire_bad_query),
		cmocka_unit_test(test_msg_hit),
		cmocka_unit_test(test_msg_refusals),
		cmocka_unit_test(test_msg_truncation_and_negative),
		cmocka_unit_test(test_msg_compress_owners),
		cmocka_unit_test(test_msg_compress_sizes),
		cmocka_unit_test(test_msg_compress_fits),
		cmocka_unit_test(test_msg_compress_limits),
		cmocka_unit_test(test_msg_compress_malformed),
	};
	return cmocka_run_group_tests_name("answer", tests, NULL, NULL);
}
