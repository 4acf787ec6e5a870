/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of prefetch (resolver/prefetch.c, ost_resolver_prefetch()) on
 * the fake clock and fake network with a real LMDB cache in a temporary
 * directory. Each test plays the server's cache-hit path as server/engine.c
 * try_hit() does: the OST_CTAG_MSG entry borrowed from a cache reader,
 * rendered with ost_msg_to_wire(), then ost_prefetch_due() and
 * ost_resolver_prefetch_hit(). "www.example.ru. A" is cached with TTL 100:
 * half-way nothing happens; with 5 s left the client still gets the cached
 * answer and exactly one upstream query refreshes it, whatever the number
 * of hits; the refreshed entry has the upstream's new TTL; a refresh that
 * fails leaves the old entry served until it expires and caches no failure.
 */
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

#define EXAMPLE_RU "127.53.3.1"

struct penv {
	struct fake_clock clk;
	struct fake_net net;
	struct ost_cache *cache;
	struct ost_cache_reader *rd;
	struct ost_resolver *r;
	struct ost_resolver_config cfg;
	struct ost_root_hint hint;
	char dir[64];
	/* last result of ost_resolve() */
	unsigned calls;
	uint8_t rcode;
	enum ost_answer_source src;
	bool has_ede;
	/* last hit */
	int pf_ret;         /* what ost_resolver_prefetch_hit() returned, 1: not called */
	int64_t expires_at; /* the entry's expiry */
};

static const char *const zones[][3] = {
	{"127.53.0.1", ".",
	 ". 86400 IN SOA a.root-servers.test. h.root. 1 1800 900 604800 86400\n"
	 ". 518400 IN NS a.root-servers.test.\n"
	 "ru. 172800 IN NS a.dns.ru.\n"
	 "a.dns.ru. 172800 IN A 127.53.1.1\n"},
	{"127.53.1.1", "ru.",
	 "ru. 86400 IN SOA a.dns.ru. h.ru. 1 1800 900 604800 600\n"
	 "ru. 86400 IN NS a.dns.ru.\n"
	 "a.dns.ru. 86400 IN A 127.53.1.1\n"
	 "example.ru. 86400 IN NS ns1.example.ru.\n"
	 "ns1.example.ru. 86400 IN A 127.53.3.1\n"},
	{EXAMPLE_RU, "example.ru.",
	 "example.ru. 86400 IN SOA ns1.example.ru. h.example.ru. 1 1800 900 604800 100\n"
	 "example.ru. 86400 IN NS ns1.example.ru.\n"
	 "ns1.example.ru. 86400 IN A 127.53.3.1\n"
	 "www.example.ru. 100 IN A 127.53.8.8\n"
	 "short.example.ru. 9 IN A 127.53.8.9\n"},
};

static int psetup(void **state)
{
	struct penv *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	fake_clock_init(&e->clk, 1800000000);
	fake_net_init(&e->net, &e->clk);
	fake_zones(&e->net, zones, sizeof(zones) / sizeof(zones[0]));
	assert_int_equal(
		fake_cache_new(e->dir, sizeof(e->dir), "prefetch", &e->clk.clock, &e->cache), 0);
	assert_int_equal(ost_cache_reader_new(e->cache, &e->rd), 0);
	ost_resolver_config_default(&e->cfg);
	fake_root_hint(&e->hint, "a.root-servers.test.", "127.53.0.1");
	e->cfg.hints = &e->hint;
	e->cfg.n_hints = 1;
	e->cfg.qname_minimisation = false;
	assert_int_equal(ost_resolver_new(&e->r, &e->cfg, e->cache, &e->clk.clock, &e->net.tp), 0);
	*state = e;
	return 0;
}

static int pteardown(void **state)
{
	struct penv *e = *state;
	fake_clock_run(&e->clk, 60000);
	assert_int_equal(ost_resolver_inflight(e->r), 0);
	ost_resolver_free(e->r);
	ost_cache_reader_free(e->rd);
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
	struct penv *e = arg;
	e->calls++;
	e->rcode = res->rcode;
	e->src = res->src;
	e->has_ede = res->has_ede;
}

/* Let everything in flight finish, then commit and wait for the writer. */
static void settle(struct penv *e)
{
	fake_clock_run(&e->clk, 60000);
	assert_int_equal(ost_resolver_commit(e->r), 0);
	ost_cache_sync(e->cache);
}

static void resolve(struct penv *e, const char *name, uint16_t type)
{
	unsigned before = e->calls;
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	assert_non_null(n);
	struct ost_request *rq = NULL;
	assert_int_equal(ost_resolve(e->r, ldns_rdf_data(n), type, LDNS_RR_CLASS_IN, OST_RF_RD,
				     on_res, e, &rq),
			 0);
	ldns_rdf_deep_free(n);
	settle(e);
	assert_int_equal(e->calls, before + 1);
}

static int64_t now(const struct penv *e)
{
	return ost_clock_wall_s(&e->clk.clock);
}

/* Move the wall clock on to @p t (whole seconds from now). */
static void at(struct penv *e, int64_t t)
{
	assert_true(t >= now(e));
	fake_clock_advance(&e->clk, (uint64_t)(t - now(e)) * 1000);
	assert_true(now(e) == t);
}

/*
 * One client query through the server's hit path (server/engine.c
 * try_hit()): the whole answer borrowed from the reader and rendered into
 * the reply; then, as the server does after sending, the prefetch trigger.
 * @return the TTL of the reply's first answer record, or -1 on a miss
 */
static long hit(struct penv *e, const char *name, uint16_t type)
{
	ldns_pkt *q = NULL;
	assert_int_equal(ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN, LDNS_RD),
			 LDNS_STATUS_OK);
	ldns_pkt_set_id(q, 4242);
	uint8_t *wire = NULL;
	size_t wlen = 0;
	assert_int_equal(ldns_pkt2wire(&wire, q, &wlen), LDNS_STATUS_OK);
	ldns_pkt_free(q);
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	assert_non_null(n);
	e->pf_ret = 1;
	long ttl = -1;
	assert_int_equal(ost_cache_reader_begin(e->rd), 0);
	struct ost_cache_entry ent;
	uint8_t buf[4096];
	size_t len = 0;
	int64_t t = now(e);
	if (ost_cache_reader_get(e->rd, ldns_rdf_data(n), type, OST_CTAG_MSG, &ent) == 0 &&
	    ost_msg_to_wire(&ent, wire, wlen, t, false, 1232, buf, sizeof(buf), &len) == 0) {
		ldns_pkt *p = NULL;
		assert_int_equal(ldns_wire2pkt(&p, buf, len), LDNS_STATUS_OK);
		assert_true(ldns_rr_list_rr_count(ldns_pkt_answer(p)) > 0);
		ttl = (long)ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0));
		ldns_pkt_free(p);
		e->expires_at = ent.expires_at;
		if (ost_prefetch_due(&ent, t))
			e->pf_ret = ost_resolver_prefetch_hit(e->r, &ent, ldns_rdf_data(n), type,
							      LDNS_RR_CLASS_IN, false, t);
	}
	ost_cache_reader_end(e->rd);
	ldns_rdf_deep_free(n);
	free(wire);
	return ttl;
}

static struct ost_resolver_stats stats(const struct penv *e)
{
	struct ost_resolver_stats s;
	ost_resolver_stats_get(e->r, &s);
	return s;
}

/* Give the zone's record of @p owner a new TTL (what the upstream answers from now on). */
static void set_ttl(struct penv *e, const char *owner, uint32_t ttl)
{
	struct fake_server *s = fake_server_get(&e->net, EXAMPLE_RU);
	assert_non_null(s);
	ldns_rdf *n = ldns_dname_new_frm_str(owner);
	bool found = false;
	for (size_t i = 0; i < ldns_rr_list_rr_count(s->zones[0].rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(s->zones[0].rrs, i);
		if (ldns_dname_compare(ldns_rr_owner(rr), n) == 0) {
			ldns_rr_set_ttl(rr, ttl);
			found = true;
		}
	}
	ldns_rdf_deep_free(n);
	assert_true(found);
}

static size_t www_queries(const struct penv *e)
{
	return fake_count(&e->net, EXAMPLE_RU, "www.example.ru.", LDNS_RR_TYPE_A);
}

/* ---- tests ---- */

/* Before the last tenth of the TTL a hit is only a hit. */
static void test_no_prefetch_early(void **state)
{
	struct penv *e = *state;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	int64_t t0 = now(e);
	unsigned sent = e->net.n_sent;
	assert_int_equal(www_queries(e), 1);
	at(e, t0 + 50);
	assert_int_equal(hit(e, "www.example.ru.", LDNS_RR_TYPE_A), 50);
	assert_int_equal(e->pf_ret, 1);
	at(e, t0 + 89); /* 11 s left: more than a tenth */
	assert_int_equal(hit(e, "www.example.ru.", LDNS_RR_TYPE_A), 11);
	assert_int_equal(e->pf_ret, 1);
	fake_clock_run(&e->clk, 60000);
	assert_int_equal(e->net.n_sent, sent);
	assert_int_equal(stats(e).prefetch_started, 0);
	assert_int_equal(stats(e).prefetch_skipped, 0);
	/* And ost_resolver_prefetch_hit() itself says not due. */
	assert_int_equal(ost_cache_reader_begin(e->rd), 0);
	struct ost_cache_entry ent;
	ldns_rdf *n = ldns_dname_new_frm_str("www.example.ru.");
	assert_int_equal(
		ost_cache_reader_get(e->rd, ldns_rdf_data(n), LDNS_RR_TYPE_A, OST_CTAG_MSG, &ent),
		0);
	assert_false(ost_prefetch_due(&ent, now(e)));
	assert_int_equal(ost_resolver_prefetch_hit(e->r, &ent, ldns_rdf_data(n), LDNS_RR_TYPE_A,
						   LDNS_RR_CLASS_IN, false, now(e)),
			 -ENOENT);
	ost_cache_reader_end(e->rd);
	ldns_rdf_deep_free(n);
	assert_int_equal(e->net.n_sent, sent);
}

/*
 * With 5 s left the client gets the cached answer (TTL 5) and exactly one
 * upstream query goes out, to example.ru.'s server (its cut is cached);
 * once it is answered and committed the entry carries the upstream's new
 * TTL, and the next hit gets it.
 */
static void test_prefetch_refreshes(void **state)
{
	struct penv *e = *state;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	int64_t t0 = now(e);
	unsigned sent = e->net.n_sent;
	set_ttl(e, "www.example.ru.", 300);
	at(e, t0 + 95);
	assert_int_equal(hit(e, "www.example.ru.", LDNS_RR_TYPE_A), 5);
	assert_int_equal(e->pf_ret, 0);
	assert_int_equal(e->expires_at, t0 + 100);
	/* Sent at once, before any reply: the refresh did not take the cache's answer. */
	assert_int_equal(e->net.n_sent, sent + 1);
	assert_int_equal(www_queries(e), 2);
	assert_int_equal(stats(e).prefetch_started, 1);
	assert_int_equal(ost_resolver_inflight(e->r), 1);
	settle(e);
	assert_int_equal(ost_resolver_inflight(e->r), 0);
	assert_int_equal(e->net.n_sent, sent + 1);
	assert_int_equal(stats(e).prefetch_failed, 0);
	/* The refreshed entry: the upstream's TTL from the refresh's time. */
	long ttl = hit(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_true(ttl >= 299 && ttl <= 300);
	assert_true(e->expires_at >= t0 + 95 + 299);
	assert_int_equal(e->pf_ret, 1);
	/* Past the old expiry it is still a hit, and no client request reached the engine. */
	at(e, t0 + 150);
	ttl = hit(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_true(ttl >= 244 && ttl <= 245);
	assert_int_equal(e->net.n_sent, sent + 1);
	assert_int_equal(stats(e).requests, 1);
}

/*
 * A hot name hit 1,000 times in its last tenth starts one refresh: while it
 * is in flight (a direct second prefetch joins it too), and once it is
 * answered but not yet committed (the old entry is still what the hit path
 * reads, seconds later).
 */
static void test_prefetch_once_for_many_hits(void **state)
{
	struct penv *e = *state;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	int64_t t0 = now(e);
	unsigned sent = e->net.n_sent;
	at(e, t0 + 91);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(hit(e, "www.example.ru.", LDNS_RR_TYPE_A), 9);
	assert_int_equal(e->net.n_sent, sent + 1);
	assert_int_equal(ost_resolver_inflight(e->r), 1);
	assert_int_equal(stats(e).prefetch_started, 1);
	assert_int_equal(stats(e).prefetch_skipped, 999);
	assert_int_equal(e->pf_ret, -EALREADY);
	/* Asked directly, in another spelling, it joins the resolution in flight. */
	ldns_rdf *n = ldns_dname_new_frm_str("WWW.Example.RU.");
	assert_int_equal(ost_resolver_prefetch(e->r, ldns_rdf_data(n), LDNS_RR_TYPE_A,
					       LDNS_RR_CLASS_IN, OST_RF_RD),
			 -EALREADY);
	ldns_rdf_deep_free(n);
	assert_int_equal(stats(e).prefetch_skipped, 1000);
	/* Answered; the new entry waits for the commit, the old one is still hit. */
	fake_clock_run(&e->clk, 60000);
	assert_int_equal(ost_resolver_inflight(e->r), 0);
	at(e, t0 + 93);
	for (int i = 0; i < 100; i++)
		assert_int_equal(hit(e, "www.example.ru.", LDNS_RR_TYPE_A), 7);
	assert_int_equal(e->pf_ret, -EALREADY);
	assert_int_equal(e->net.n_sent, sent + 1);
	assert_int_equal(stats(e).prefetch_started, 1);
	assert_int_equal(stats(e).prefetch_skipped, 1100);
	settle(e);
	assert_int_equal(e->net.n_sent, sent + 1);
	assert_int_equal(www_queries(e), 2);
	/* Refreshed (answered at t0 + 91 with TTL 100): no longer due. */
	assert_int_equal(hit(e, "www.example.ru.", LDNS_RR_TYPE_A), 98);
	assert_int_equal(e->expires_at, t0 + 91 + 100);
	assert_int_equal(e->pf_ret, 1);
	/* Its own last tenth starts the next refresh (a new version of the entry). */
	at(e, t0 + 91 + 92);
	assert_int_equal(hit(e, "www.example.ru.", LDNS_RR_TYPE_A), 8);
	assert_int_equal(e->pf_ret, 0);
	assert_int_equal(stats(e).prefetch_started, 2);
	settle(e);
	assert_int_equal(www_queries(e), 3);
}

/*
 * The refresh times out: nothing is cached for the failure, the old entry
 * is served until it expires (and not refreshed again meanwhile), and the
 * first client request after expiry asks upstream itself and gets the answer.
 */
static void test_prefetch_failure_keeps_entry(void **state)
{
	struct penv *e = *state;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	int64_t t0 = now(e);
	struct fake_server *s = fake_server_get(&e->net, EXAMPLE_RU);
	s->behaviour = FB_DROP;
	at(e, t0 + 92);
	assert_int_equal(hit(e, "www.example.ru.", LDNS_RR_TYPE_A), 8);
	assert_int_equal(e->pf_ret, 0);
	/* The refresh gives up (timeouts) before the entry expires. */
	fake_clock_run(&e->clk, 7000);
	assert_int_equal(ost_resolver_inflight(e->r), 0);
	assert_int_equal(stats(e).prefetch_failed, 1);
	assert_true(now(e) < t0 + 100);
	assert_int_equal(ost_resolver_commit(e->r), 0);
	ost_cache_sync(e->cache);
	size_t tries = www_queries(e);
	assert_true(tries >= 2);
	/* Still served from the cache, with the TTL it has left. */
	long ttl = hit(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(ttl, t0 + 100 - now(e));
	assert_int_equal(e->pf_ret, -EALREADY);
	assert_int_equal(www_queries(e), tries);
	/* No RFC 9520 failure entry was cached for the question. */
	struct ost_cache_entry fe;
	ldns_rdf *n = ldns_dname_new_frm_str("www.example.ru.");
	assert_int_equal(ost_cache_get(e->cache, ldns_rdf_data(n), LDNS_RR_TYPE_A, OST_CTAG_FAIL,
				       &ost_mm_heap, &fe),
			 -ENOENT);
	ldns_rdf_deep_free(n);
	/* Expired: a miss; the server answers again and the client gets a fresh answer. */
	s->behaviour = FB_NONE;
	at(e, t0 + 101);
	assert_int_equal(hit(e, "www.example.ru.", LDNS_RR_TYPE_A), -1);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->src, OST_SRC_UPSTREAM);
	assert_false(e->has_ede);
	assert_int_equal(hit(e, "www.example.ru.", LDNS_RR_TYPE_A), 100);
}

/*
 * A client request for the same question joins the refresh in flight (and
 * gets its answer); one that joins and is cancelled (its TCP client went
 * away) does not take the refresh with it.
 */
static void test_prefetch_joined_and_cancelled(void **state)
{
	struct penv *e = *state;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	int64_t t0 = now(e);
	unsigned sent = e->net.n_sent;
	set_ttl(e, "www.example.ru.", 200);
	at(e, t0 + 95);
	assert_int_equal(hit(e, "www.example.ru.", LDNS_RR_TYPE_A), 5);
	assert_int_equal(e->pf_ret, 0);
	ldns_rdf *n = ldns_dname_new_frm_str("www.example.ru.");
	struct ost_request *rq = NULL;
	assert_int_equal(ost_resolve(e->r, ldns_rdf_data(n), LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
				     OST_RF_RD, on_res, e, &rq),
			 0);
	assert_non_null(rq);
	assert_int_equal(stats(e).coalesced, 1);
	ost_request_cancel(rq);
	assert_int_equal(ost_resolver_inflight(e->r), 1);
	assert_int_equal(e->net.n_cancelled, 0);
	/* A second client joins and is answered by the refresh. */
	rq = NULL;
	assert_int_equal(ost_resolve(e->r, ldns_rdf_data(n), LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
				     OST_RF_RD, on_res, e, &rq),
			 0);
	ldns_rdf_deep_free(n);
	assert_non_null(rq);
	unsigned calls = e->calls;
	settle(e);
	assert_int_equal(e->calls, calls + 1);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->src, OST_SRC_UPSTREAM);
	assert_int_equal(e->net.n_sent, sent + 1);
	long ttl = hit(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_true(ttl >= 199 && ttl <= 200);
}

/*
 * What is not prefetched: a TTL below OST_PREFETCH_MIN_TTL (its last tenth
 * is under a second), zone mirror entries, bogus ones, expired ones.
 */
static void test_prefetch_not_eligible(void **state)
{
	struct penv *e = *state;
	resolve(e, "short.example.ru.", LDNS_RR_TYPE_A);
	int64_t t0 = now(e);
	unsigned sent = e->net.n_sent;
	for (int64_t k = 1; k <= 8; k++) {
		at(e, t0 + k);
		assert_int_equal(hit(e, "short.example.ru.", LDNS_RR_TYPE_A), 9 - k);
		assert_int_equal(e->pf_ret, 1);
	}
	ldns_rdf *n = ldns_dname_new_frm_str("www.example.ru.");
	int64_t t = now(e);
	struct ost_cache_entry ent = {
		.tag = OST_CTAG_MSG,
		.rank = OST_RANK_ANSWER,
		.sec = OST_SEC_UNCHECKED,
		.ttl = 9,
		.stored_at = t - 8,
		.expires_at = t + 1,
	};
	/* Below the floor, even when called directly. */
	assert_int_equal(ost_resolver_prefetch_hit(e->r, &ent, ldns_rdf_data(n), LDNS_RR_TYPE_A,
						   LDNS_RR_CLASS_IN, false, t),
			 -ENOENT);
	ent.ttl = 100;
	ent.stored_at = t - 95;
	ent.expires_at = t + 5;
	assert_true(ost_prefetch_due(&ent, t));
	ent.rank = OST_RANK_MIRROR;
	assert_int_equal(ost_resolver_prefetch_hit(e->r, &ent, ldns_rdf_data(n), LDNS_RR_TYPE_A,
						   LDNS_RR_CLASS_IN, false, t),
			 -ENOENT);
	ent.rank = OST_RANK_ANSWER;
	ent.sec = OST_SEC_BOGUS;
	assert_int_equal(ost_resolver_prefetch_hit(e->r, &ent, ldns_rdf_data(n), LDNS_RR_TYPE_A,
						   LDNS_RR_CLASS_IN, false, t),
			 -ENOENT);
	ent.sec = OST_SEC_UNCHECKED;
	ent.expires_at = t;
	assert_int_equal(ost_resolver_prefetch_hit(e->r, &ent, ldns_rdf_data(n), LDNS_RR_TYPE_A,
						   LDNS_RR_CLASS_IN, false, t),
			 -ENOENT);
	assert_int_equal(e->net.n_sent, sent);
	assert_int_equal(stats(e).prefetch_started, 0);
	/* The same entry, fresh and in its last tenth: started. */
	ent.expires_at = t + 5;
	assert_int_equal(ost_resolver_prefetch_hit(e->r, &ent, ldns_rdf_data(n), LDNS_RR_TYPE_A,
						   LDNS_RR_CLASS_IN, false, t),
			 0);
	ldns_rdf_deep_free(n);
	assert_int_equal(stats(e).prefetch_started, 1);
	settle(e);
	assert_true(e->net.n_sent > sent);
}

/*
 * The refresh asks for what the entry serves: CD when it was stored
 * unvalidated for CD=1 clients, DO when the client set it. Seen through
 * coalescing: a prefetch with the same flags joins it, another does not.
 */
static void test_prefetch_flags(void **state)
{
	struct penv *e = *state;
	ldns_rdf *n = ldns_dname_new_frm_str("www.example.ru.");
	const uint8_t *q = ldns_rdf_data(n);
	int64_t t = now(e);
	struct ost_cache_entry ent = {
		.tag = OST_CTAG_MSG,
		.rank = OST_RANK_ANSWER,
		.sec = OST_SEC_UNCHECKED,
		.flags = OST_MSG_F_UNVALIDATED,
		.ttl = 100,
		.stored_at = t - 95,
		.expires_at = t + 5,
	};
	assert_int_equal(
		ost_resolver_prefetch_hit(e->r, &ent, q, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true, t),
		0);
	assert_int_equal(ost_resolver_prefetch(e->r, q, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
					       OST_RF_RD | OST_RF_CD | OST_RF_DO),
			 -EALREADY);
	assert_int_equal(ost_resolver_prefetch(e->r, q, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
					       OST_RF_RD | OST_RF_DO),
			 0);
	assert_int_equal(
		ost_resolver_prefetch(e->r, q, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, OST_RF_RD), 0);
	/* A validated entry and a client without DO: RD only, joins the last one. */
	ent.flags = 0;
	assert_int_equal(ost_resolver_prefetch_hit(e->r, &ent, q, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
						   false, t),
			 -EALREADY);
	ldns_rdf_deep_free(n);
	assert_int_equal(stats(e).prefetch_started, 3);
	assert_int_equal(stats(e).prefetch_skipped, 2);
	assert_int_equal(ost_resolver_inflight(e->r), 3);
	settle(e);
	assert_int_equal(stats(e).prefetch_failed, 0);
}

/*
 * At most OST_PREFETCH_MAX_INFLIGHT prefetches in flight: beyond, one is
 * skipped (also from the hit path, whose table then still lets the next
 * hit try), and once they are over new ones start again.
 */
static void test_prefetch_cap(void **state)
{
	struct penv *e = *state;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	int64_t t0 = now(e);
	fake_server_get(&e->net, EXAMPLE_RU)->behaviour = FB_DROP;
	at(e, t0 + 95);
	char name[64];
	for (int i = 0; i < OST_PREFETCH_MAX_INFLIGHT; i++) {
		snprintf(name, sizeof(name), "n%d.example.ru.", i);
		ldns_rdf *n = ldns_dname_new_frm_str(name);
		assert_int_equal(ost_resolver_prefetch(e->r, ldns_rdf_data(n), LDNS_RR_TYPE_A,
						       LDNS_RR_CLASS_IN, OST_RF_RD),
				 0);
		ldns_rdf_deep_free(n);
	}
	assert_int_equal(ost_resolver_inflight(e->r), OST_PREFETCH_MAX_INFLIGHT);
	ldns_rdf *n = ldns_dname_new_frm_str("one-more.example.ru.");
	assert_int_equal(ost_resolver_prefetch(e->r, ldns_rdf_data(n), LDNS_RR_TYPE_A,
					       LDNS_RR_CLASS_IN, OST_RF_RD),
			 -EBUSY);
	assert_int_equal(hit(e, "www.example.ru.", LDNS_RR_TYPE_A), 5);
	assert_int_equal(e->pf_ret, -EBUSY);
	assert_int_equal(stats(e).prefetch_started, OST_PREFETCH_MAX_INFLIGHT);
	assert_int_equal(stats(e).prefetch_skipped, 2);
	/* They all time out (the server drops) and nothing is cached for them. */
	fake_clock_run(&e->clk, 60000);
	assert_int_equal(ost_resolver_inflight(e->r), 0);
	assert_int_equal(stats(e).prefetch_failed, OST_PREFETCH_MAX_INFLIGHT);
	assert_int_equal(stats(e).servfail, 0);
	fake_server_get(&e->net, EXAMPLE_RU)->behaviour = FB_NONE;
	assert_int_equal(ost_resolver_prefetch(e->r, ldns_rdf_data(n), LDNS_RR_TYPE_A,
					       LDNS_RR_CLASS_IN, OST_RF_RD),
			 0);
	ldns_rdf_deep_free(n);
	/* The skipped hit left no trace in the table: that version of the entry
	 * (the clock has moved past it, so it is given as the hit saw it) is
	 * refreshed by the next hit. */
	struct ost_cache_entry ent = {
		.tag = OST_CTAG_MSG,
		.rank = OST_RANK_ANSWER,
		.ttl = 100,
		.stored_at = e->expires_at - 100,
		.expires_at = e->expires_at,
	};
	n = ldns_dname_new_frm_str("www.example.ru.");
	assert_int_equal(ost_resolver_prefetch_hit(e->r, &ent, ldns_rdf_data(n), LDNS_RR_TYPE_A,
						   LDNS_RR_CLASS_IN, false, e->expires_at - 4),
			 0);
	ldns_rdf_deep_free(n);
	settle(e);
	assert_int_equal(stats(e).prefetch_started, OST_PREFETCH_MAX_INFLIGHT + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_prefetch_early, psetup, pteardown),
		cmocka_unit_test_setup_teardown(test_prefetch_refreshes, psetup, pteardown),
		cmocka_unit_test_setup_teardown(test_prefetch_once_for_many_hits, psetup,
						pteardown),
		cmocka_unit_test_setup_teardown(test_prefetch_failure_keeps_entry, psetup,
						pteardown),
		cmocka_unit_test_setup_teardown(test_prefetch_joined_and_cancelled, psetup,
						pteardown),
		cmocka_unit_test_setup_teardown(test_prefetch_not_eligible, psetup, pteardown),
		cmocka_unit_test_setup_teardown(test_prefetch_flags, psetup, pteardown),
		cmocka_unit_test_setup_teardown(test_prefetch_cap, psetup, pteardown),
	};
	return cmocka_run_group_tests_name("prefetch", tests, NULL, NULL);
}
