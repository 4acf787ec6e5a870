/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the engine with a real LMDB cache in a temporary directory:
 * answers, negative answers (RFC 2308) and the NXDOMAIN cut (RFC 8020)
 * served from the cache without upstream queries, iteration started from the
 * closest cached zone cut, TTLs counting down, and the OST_CTAG_MSG entry the
 * server's hit path turns into a response with ost_msg_to_wire().
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
#include <ldns/ldns.h>

#include "ostrov/cache.h"
#include "ostrov/resolver.h"

#include "ost_test.h"

struct senv {
	struct fake_clock clk;
	struct fake_net net;
	struct ost_cache *cache;
	struct ost_resolver *r;
	char dir[64];
	unsigned calls;
	uint8_t rcode;
	size_t n_answer;
	uint32_t first_ttl;
	char answer[2048];
	char auth[2048];
	enum ost_answer_source src;
	uint16_t ede;
	char ede_text[160];
};

static const char *const zones[][3] = {
	{"127.53.0.1", ".",
	 ". 86400 IN SOA a.root-servers.test. h.root. 1 1800 900 604800 86400\n"
	 ". 518400 IN NS a.root-servers.test.\n"
	 "ru. 172800 IN NS a.dns.ru.\n"
	 "a.dns.ru. 172800 IN A 127.53.1.1\n"},
	{"127.53.1.1", "ru.",
	 "ru. 3600 IN SOA a.dns.ru. h.ru. 1 1800 900 604800 600\n"
	 "ru. 3600 IN NS a.dns.ru.\n"
	 "a.dns.ru. 3600 IN A 127.53.1.1\n"
	 "example.ru. 3600 IN NS ns1.example.ru.\n"
	 "ns1.example.ru. 3600 IN A 127.53.3.1\n"},
	{"127.53.3.1", "example.ru.",
	 "example.ru. 3600 IN SOA ns1.example.ru. h.example.ru. 1 1800 900 604800 300\n"
	 "example.ru. 3600 IN NS ns1.example.ru.\n"
	 "ns1.example.ru. 3600 IN A 127.53.3.1\n"
	 "www.example.ru. 200 IN A 127.53.8.8\n"
	 "alias.example.ru. 200 IN CNAME www.example.ru.\n"
	 "a.b.example.ru. 200 IN A 127.53.8.4\n"},
};

static int ssetup(void **state)
{
	struct senv *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	fake_clock_init(&e->clk, 1800000000);
	fake_net_init(&e->net, &e->clk);
	fake_zones(&e->net, zones, sizeof(zones) / sizeof(zones[0]));
	assert_int_equal(fake_cache_new(e->dir, sizeof(e->dir), "stash", &e->clk.clock, &e->cache),
			 0);
	struct ost_resolver_config cfg;
	ost_resolver_config_default(&cfg);
	struct ost_root_hint h;
	fake_root_hint(&h, "a.root-servers.test.", "127.53.0.1");
	cfg.hints = &h;
	cfg.n_hints = 1;
	cfg.qname_minimisation = false;
	assert_int_equal(ost_resolver_new(&e->r, &cfg, e->cache, &e->clk.clock, &e->net.tp), 0);
	*state = e;
	return 0;
}

static int steardown(void **state)
{
	struct senv *e = *state;
	assert_int_equal(ost_resolver_inflight(e->r), 0);
	ost_resolver_free(e->r);
	ost_cache_close(e->cache);
	assert_int_equal(fake_inflight(&e->net), 0);
	assert_int_equal(fake_clock_deinit(&e->clk), 0);
	fake_net_deinit(&e->net);
	assert_int_equal(fake_rmtree(e->dir), 0);
	free(e);
	return 0;
}

static void on_res(const struct ost_result *res, void *arg)
{
	struct senv *e = arg;
	e->calls++;
	e->rcode = res->rcode;
	e->src = res->src;
	e->ede = res->has_ede ? res->ede : 0xffff;
	snprintf(e->ede_text, sizeof(e->ede_text), "%s", res->ede_text);
	e->n_answer = ldns_rr_list_rr_count(res->answer);
	e->first_ttl = e->n_answer ? ldns_rr_ttl(ldns_rr_list_rr(res->answer, 0)) : 0;
	fake_rrs_str(res->answer, e->answer, sizeof(e->answer));
	fake_rrs_str(res->auth, e->auth, sizeof(e->auth));
}

/* Resolve, run to completion and commit the cache writes. */
static void sresolve(struct senv *e, const char *name, uint16_t type)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	struct ost_request *rq;
	unsigned before = e->calls;
	assert_int_equal(ost_resolve(e->r, ldns_rdf_data(n), type, LDNS_RR_CLASS_IN, OST_RF_RD,
				     on_res, e, &rq),
			 0);
	ldns_rdf_deep_free(n);
	fake_clock_run(&e->clk, 60000);
	assert_int_equal(e->calls, before + 1);
	assert_int_equal(ost_resolver_commit(e->r), 0);
	ost_cache_sync(e->cache);
}

static void test_stash_answer(void **state)
{
	struct senv *e = *state;
	sresolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->src, OST_SRC_UPSTREAM);
	assert_int_equal(e->net.n_log, 3);
	fake_clock_advance(&e->clk, 50000);
	sresolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->src, OST_SRC_CACHE);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.8"));
	assert_int_equal(e->first_ttl, 150);
	assert_int_equal(e->net.n_log, 3);
	/* A cached CNAME leads to the cached target. */
	sresolve(e, "alias.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->net.n_log, 4);
	sresolve(e, "alias.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->src, OST_SRC_CACHE);
	assert_int_equal(e->n_answer, 2);
	assert_int_equal(e->net.n_log, 4);
	/* Past the TTL it is asked again. */
	fake_clock_advance(&e->clk, 200000);
	sresolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->src, OST_SRC_UPSTREAM);
}

static void test_stash_closest_cut(void **state)
{
	struct senv *e = *state;
	sresolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	size_t before = e->net.n_log;
	sresolve(e, "a.b.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	/* Straight to example.ru.'s server, found from the cached NS + glue. */
	assert_int_equal(e->net.n_log, before + 1);
	assert_string_equal(e->net.log[before].server, "127.53.3.1");
}

static void test_stash_negative(void **state)
{
	struct senv *e = *state;
	sresolve(e, "nope.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	size_t before = e->net.n_log;
	sresolve(e, "nope.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(e->src, OST_SRC_CACHE);
	assert_non_null(strstr(e->auth, "SOA"));
	/* RFC 8020: nothing exists below a nonexistent name. */
	sresolve(e, "deeper.nope.example.ru.", LDNS_RR_TYPE_AAAA);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(e->src, OST_SRC_CACHE);
	assert_int_equal(e->net.n_log, before);
	/* NODATA is cached per type. */
	sresolve(e, "www.example.ru.", LDNS_RR_TYPE_TXT);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->n_answer, 0);
	before = e->net.n_log;
	sresolve(e, "www.example.ru.", LDNS_RR_TYPE_TXT);
	assert_int_equal(e->src, OST_SRC_CACHE);
	assert_int_equal(e->n_answer, 0);
	assert_non_null(strstr(e->auth, "SOA"));
	assert_int_equal(e->net.n_log, before);
}

static void test_stash_msg_hit_path(void **state)
{
	struct senv *e = *state;
	sresolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	fake_clock_advance(&e->clk, 20000);
	ldns_rdf *n = ldns_dname_new_frm_str("www.example.ru.");
	struct ost_arena a;
	ost_arena_init(&a, 1024);
	struct ost_mm mm;
	ost_mm_from_arena(&mm, &a);
	struct ost_cache_entry ent;
	assert_int_equal(
		ost_cache_get(e->cache, ldns_rdf_data(n), LDNS_RR_TYPE_A, OST_CTAG_MSG, &mm, &ent),
		0);
	ldns_rdf_deep_free(n);
	ldns_pkt *q = NULL;
	assert_int_equal(ldns_pkt_query_new_frm_str(&q, "www.EXAMPLE.ru.", LDNS_RR_TYPE_A,
						    LDNS_RR_CLASS_IN, LDNS_RD),
			 LDNS_STATUS_OK);
	ldns_pkt_set_id(q, 4242);
	uint8_t *qw;
	size_t qlen;
	assert_int_equal(ldns_pkt2wire(&qw, q, &qlen), LDNS_STATUS_OK);
	ldns_pkt_free(q);
	uint8_t buf[1024];
	size_t len;
	assert_int_equal(ost_msg_to_wire(&ent, qw, qlen, ost_clock_wall_s(&e->clk.clock), false,
					 1232, buf, sizeof(buf), &len),
			 0);
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, buf, len), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(p), 4242);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 180);
	ldns_pkt_free(p);
	free(qw);
	ost_arena_deinit(&a);
}

/* Fetch the OST_CTAG_MSG entry of (@p name, @p type) into @p a; 0 or -ENOENT. */
static int get_msg(struct senv *e, const char *name, uint16_t type, struct ost_arena *a,
		   struct ost_cache_entry *ent)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	struct ost_mm mm;
	ost_mm_from_arena(&mm, a);
	int ret = ost_cache_get(e->cache, ldns_rdf_data(n), type, OST_CTAG_MSG, &mm, ent);
	ldns_rdf_deep_free(n);
	return ret;
}

/* Turn @p ent into the answer to a query for @p name; returns the packet. */
static ldns_pkt *hit(struct senv *e, const struct ost_cache_entry *ent, const char *name,
		     uint16_t type)
{
	ldns_pkt *q = NULL;
	assert_int_equal(ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN, LDNS_RD),
			 LDNS_STATUS_OK);
	uint8_t *qw;
	size_t qlen;
	assert_int_equal(ldns_pkt2wire(&qw, q, &qlen), LDNS_STATUS_OK);
	ldns_pkt_free(q);
	uint8_t buf[1024];
	size_t len;
	int ret = ost_msg_to_wire(ent, qw, qlen, ost_clock_wall_s(&e->clk.clock), false, 1232, buf,
				  sizeof(buf), &len);
	free(qw);
	if (ret != 0)
		return NULL;
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, buf, len), LDNS_STATUS_OK);
	return p;
}

/*
 * An answer the engine builds from cached RRsets gets its own whole-answer
 * entry, so the next query takes the server's hit path: "www.example.ru. A"
 * first learnt at the end of a CNAME chain, and a negative answer from an
 * ancestor's NXDOMAIN (RFC 8020). Its TTL is what was left of the RRsets.
 */
static void test_stash_msg_from_cache(void **state)
{
	struct senv *e = *state;
	struct ost_arena a;
	ost_arena_init(&a, 4096);
	struct ost_cache_entry ent;
	sresolve(e, "alias.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->src, OST_SRC_UPSTREAM);
	assert_int_equal(e->n_answer, 2);
	/* Only the question asked has a whole answer so far. */
	assert_int_equal(get_msg(e, "www.example.ru.", LDNS_RR_TYPE_A, &a, &ent), -ENOENT);
	fake_clock_advance(&e->clk, 50000);
	size_t sent = e->net.n_log;
	sresolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->src, OST_SRC_CACHE);
	assert_int_equal(e->net.n_log, sent);
	assert_int_equal(get_msg(e, "www.example.ru.", LDNS_RR_TYPE_A, &a, &ent), 0);
	/* 200 s when the chain came, 50 s ago. */
	assert_int_equal(ent.ttl, 150);
	assert_int_equal(ent.rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(ent.flags & OST_MSG_F_UNVALIDATED, 0);
	fake_clock_advance(&e->clk, 30000);
	ldns_pkt *p = hit(e, &ent, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), LDNS_RR_TYPE_A);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 120);
	ldns_pkt_free(p);
	/* It expires with the RRset it was built from. */
	fake_clock_advance(&e->clk, 121000);
	assert_null(hit(e, &ent, "www.example.ru.", LDNS_RR_TYPE_A));

	/* A negative built from an ancestor's NXDOMAIN entry. */
	sresolve(e, "nope.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	sent = e->net.n_log;
	fake_clock_advance(&e->clk, 100000);
	sresolve(e, "deeper.nope.example.ru.", LDNS_RR_TYPE_AAAA);
	assert_int_equal(e->src, OST_SRC_CACHE);
	assert_int_equal(e->net.n_log, sent);
	assert_int_equal(get_msg(e, "deeper.nope.example.ru.", LDNS_RR_TYPE_AAAA, &a, &ent), 0);
	assert_int_equal(ent.rcode, LDNS_RCODE_NXDOMAIN);
	/* min(SOA TTL 3600, MINIMUM 300) - 100 s. */
	assert_int_equal(ent.ttl, 200);
	p = hit(e, &ent, "deeper.nope.example.ru.", LDNS_RR_TYPE_AAAA);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	ldns_pkt_free(p);
	ost_arena_deinit(&a);
}

/*
 * A hit-only worker: the server's hit path reads through a cache reader,
 * which queues an LRU stamp for an entry last used more than the touch
 * interval ago; the resolver's commit hands it to the writer even though no
 * request queued a write (otherwise hot entries would age out as cold).
 */
static void test_stash_commit_empty_applies_touches(void **state)
{
	struct senv *e = *state;
	sresolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	struct ost_cache_stats st;
	ost_cache_stats_get(e->cache, &st);
	uint64_t commits = st.commits;
	/* Nothing queued at all: nothing to commit. */
	assert_int_equal(ost_resolver_commit(e->r), 0);
	ost_cache_sync(e->cache);
	ost_cache_stats_get(e->cache, &st);
	assert_int_equal(st.commits, commits);
	/* Past the touch interval (60 s), a hit on the hit path. */
	fake_clock_advance(&e->clk, 61000);
	struct ost_cache_reader *rd = NULL;
	assert_int_equal(ost_cache_reader_new(e->cache, &rd), 0);
	assert_int_equal(ost_cache_reader_begin(rd), 0);
	ldns_rdf *n = ldns_dname_new_frm_str("www.example.ru.");
	struct ost_cache_entry ent;
	assert_int_equal(
		ost_cache_reader_get(rd, ldns_rdf_data(n), LDNS_RR_TYPE_A, OST_CTAG_MSG, &ent), 0);
	ost_cache_reader_end(rd);
	ldns_rdf_deep_free(n);
	int ret = ost_resolver_commit(e->r);
	ost_cache_sync(e->cache);
	ost_cache_reader_free(rd);
	assert_int_equal(ret, 0);
	ost_cache_stats_get(e->cache, &st);
	assert_int_equal(st.commits, commits + 1);
}

static void test_stash_failure(void **state)
{
	struct senv *e = *state;
	fake_server(&e->net, "127.53.1.1")->behaviour = FB_REFUSE;
	sresolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_int_equal(e->src, OST_SRC_LOCAL);
	size_t before = e->net.n_log;
	/* RFC 9520: the failure is remembered, no query goes out. */
	sresolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_int_equal(e->src, OST_SRC_CACHE);
	assert_int_equal(e->ede, OST_EDE_CACHED_ERROR);
	assert_non_null(strstr(e->ede_text, "no reachable authority for ru."));
	assert_int_equal(e->net.n_log, before);
	/* After 5 s it is tried again, fails again, and is kept 10 s. */
	fake_clock_advance(&e->clk, 6000);
	sresolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->src, OST_SRC_LOCAL);
	assert_true(e->net.n_log > before);
	before = e->net.n_log;
	fake_clock_advance(&e->clk, 8000);
	sresolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->src, OST_SRC_CACHE);
	assert_int_equal(e->net.n_log, before);
	fake_clock_advance(&e->clk, 3000);
	sresolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->src, OST_SRC_LOCAL);
	assert_true(e->net.n_log > before);
}

static void test_stash_stale_cut(void **state)
{
	struct senv *e = *state;
	sresolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	/* example.ru.'s server moves away: the cached cut is dead, so the
	 * engine climbs back to ru. and learns the new server. */
	struct fake_server *old = fake_server(&e->net, "127.53.3.1");
	old->behaviour = FB_DROP;
	fake_zone(&e->net, "127.53.3.9", "example.ru.", zones[2][2]);
	struct fake_server *ru = fake_server(&e->net, "127.53.1.1");
	ldns_rr_list_deep_free(ru->zones[0].rrs);
	ru->zones[0].rrs = fake_rrs("ru. 3600 IN SOA a.dns.ru. h.ru. 1 1800 900 604800 600\n"
				    "ru. 3600 IN NS a.dns.ru.\n"
				    "a.dns.ru. 3600 IN A 127.53.1.1\n"
				    "example.ru. 3600 IN NS ns9.example.ru.\n"
				    "ns9.example.ru. 3600 IN A 127.53.3.9\n");
	sresolve(e, "a.b.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.4"));
	assert_true(fake_count(&e->net, "127.53.3.9", "a.b.example.ru.", LDNS_RR_TYPE_A) >= 1);
}

int stash_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stash_answer, ssetup, steardown),
		cmocka_unit_test_setup_teardown(test_stash_closest_cut, ssetup, steardown),
		cmocka_unit_test_setup_teardown(test_stash_negative, ssetup, steardown),
		cmocka_unit_test_setup_teardown(test_stash_msg_hit_path, ssetup, steardown),
		cmocka_unit_test_setup_teardown(test_stash_msg_from_cache, ssetup, steardown),
		cmocka_unit_test_setup_teardown(test_stash_commit_empty_applies_touches, ssetup,
						steardown),
		cmocka_unit_test_setup_teardown(test_stash_failure, ssetup, steardown),
		cmocka_unit_test_setup_teardown(test_stash_stale_cut, ssetup, steardown),
	};
	return cmocka_run_group_tests_name("stash", tests, NULL, NULL);
}
