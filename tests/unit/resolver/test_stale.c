/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of serve-stale (RFC 8767) and the engine features around it,
 * on the fake clock and fake network with a real LMDB cache in a temporary
 * directory: the client response timer, stale NXDOMAIN, the maximum
 * staleness, original TTL 0, the background refresh, the failure-recheck
 * interval, the failover policy hooks (stale at once, forbidden servers),
 * RD=0 queries, stub zones, the NXNS limit, and whole answers cached for
 * CD=1 requests that must not reach CD=0 clients.
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
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "ostrov/cache.h"
#include "ostrov/resolver.h"

#include "ost_test.h"

/** Name servers tried before the NXNS limit stops a request (5 allowed). */
#define OST_MAX_TARGET_NX_TEST 6

struct tenv {
	struct fake_clock clk;
	struct fake_net net;
	struct ost_cache *cache;
	struct ost_resolver *r;
	struct ost_resolver_config cfg;
	struct ost_root_hint hint;
	char dir[64];
	/* last result */
	unsigned calls;
	uint8_t rcode;
	size_t n_answer;
	uint32_t first_ttl;
	char answer[2048];
	char auth[2048];
	enum ost_answer_source src;
	bool has_ede;
	uint16_t ede;
	char ede_text[160];
	/* policy */
	struct ost_resolver_policy policy;
	char forbidden[64];
	bool at_once;
	uint32_t max_stale;
	char national[64];  /* a name the policy never serves stale at once */
	char pol_qname[64]; /* what stale_immediately() was last asked */
	uint16_t pol_qtype;
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
	 "ns1.example.ru. 86400 IN A 127.53.3.1\n"
	 "other.ru. 86400 IN NS ns1.other.ru.\n"
	 "ns1.other.ru. 86400 IN A 127.53.4.1\n"},
	{"127.53.3.1", "example.ru.",
	 "example.ru. 86400 IN SOA ns1.example.ru. h.example.ru. 1 1800 900 604800 100\n"
	 "example.ru. 86400 IN NS ns1.example.ru.\n"
	 "ns1.example.ru. 86400 IN A 127.53.3.1\n"
	 "www.example.ru. 200 IN A 127.53.8.8\n"
	 "mail.example.ru. 200 IN A 127.53.8.7\n"
	 "zero.example.ru. 0 IN A 127.53.8.0\n"
	 "alias.example.ru. 200 IN CNAME www.other.ru.\n"},
	{"127.53.4.1", "other.ru.",
	 "other.ru. 86400 IN SOA ns1.other.ru. h.other.ru. 1 1800 900 604800 100\n"
	 "other.ru. 86400 IN NS ns1.other.ru.\n"
	 "ns1.other.ru. 86400 IN A 127.53.4.1\n"
	 "www.other.ru. 200 IN A 127.53.8.6\n"},
};

static int tsetup(void **state)
{
	struct tenv *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	fake_clock_init(&e->clk, 1800000000);
	fake_net_init(&e->net, &e->clk);
	fake_zones(&e->net, zones, sizeof(zones) / sizeof(zones[0]));
	assert_int_equal(fake_cache_new(e->dir, sizeof(e->dir), "stale", &e->clk.clock, &e->cache),
			 0);
	ost_resolver_config_default(&e->cfg);
	fake_root_hint(&e->hint, "a.root-servers.test.", "127.53.0.1");
	e->cfg.hints = &e->hint;
	e->cfg.n_hints = 1;
	e->cfg.qname_minimisation = false;
	*state = e;
	return 0;
}

static void tstart(struct tenv *e)
{
	assert_int_equal(ost_resolver_new(&e->r, &e->cfg, e->cache, &e->clk.clock, &e->net.tp), 0);
}

static int tteardown(void **state)
{
	struct tenv *e = *state;
	if (e->r) {
		fake_clock_run(&e->clk, 60000);
		assert_int_equal(ost_resolver_inflight(e->r), 0);
		ost_resolver_free(e->r);
	}
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
	struct tenv *e = arg;
	e->calls++;
	e->rcode = res->rcode;
	e->src = res->src;
	e->has_ede = res->has_ede;
	e->ede = res->has_ede ? res->ede : 0xffff;
	snprintf(e->ede_text, sizeof(e->ede_text), "%s", res->ede_text ? res->ede_text : "");
	e->n_answer = ldns_rr_list_rr_count(res->answer);
	e->first_ttl = e->n_answer ? ldns_rr_ttl(ldns_rr_list_rr(res->answer, 0)) : 0;
	fake_rrs_str(res->answer, e->answer, sizeof(e->answer));
	fake_rrs_str(res->auth, e->auth, sizeof(e->auth));
}

/* Start a request; the callback may already have run. */
static void ask(struct tenv *e, const char *name, uint16_t type, unsigned flags)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	assert_non_null(n);
	struct ost_request *rq = NULL;
	assert_int_equal(
		ost_resolve(e->r, ldns_rdf_data(n), type, LDNS_RR_CLASS_IN, flags, on_res, e, &rq),
		0);
	ldns_rdf_deep_free(n);
}

/* Let everything in flight finish, then commit and wait for the writer. */
static void settle(struct tenv *e)
{
	fake_clock_run(&e->clk, 60000);
	assert_int_equal(ost_resolver_commit(e->r), 0);
	ost_cache_sync(e->cache);
}

static void resolve(struct tenv *e, const char *name, uint16_t type)
{
	unsigned before = e->calls;
	ask(e, name, type, OST_RF_RD);
	settle(e);
	assert_int_equal(e->calls, before + 1);
}

static struct ost_resolver_stats stats(const struct tenv *e)
{
	struct ost_resolver_stats s;
	ost_resolver_stats_get(e->r, &s);
	return s;
}

/* Move wall time on by @p s seconds. */
static void elapse(struct tenv *e, unsigned s)
{
	fake_clock_advance(&e->clk, (uint64_t)s * 1000);
}

/* ---- tests ---- */

static void test_stale_after_client_timer(void **state)
{
	struct tenv *e = *state;
	tstart(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->src, OST_SRC_UPSTREAM);
	elapse(e, 250); /* 50 s past the TTL of 200 */
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_DROP;
	unsigned before = e->calls;
	ask(e, "www.example.ru.", LDNS_RR_TYPE_A, OST_RF_RD);
	/* RFC 8767 §5: nothing before the client response timer (1.8 s) ... */
	fake_clock_advance(&e->clk, 1799);
	assert_int_equal(e->calls, before);
	/* ... then the stale answer, TTL 30, EDE 3. */
	fake_clock_advance(&e->clk, 1);
	assert_int_equal(e->calls, before + 1);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.8"));
	assert_int_equal(e->first_ttl, 30);
	assert_true(e->has_ede);
	assert_int_equal(e->ede, OST_EDE_STALE_ANSWER);
	assert_non_null(strstr(e->ede_text, "stale"));
	assert_int_equal(e->src, OST_SRC_CACHE);
	/* The refresh goes on and fails; no second callback. */
	settle(e);
	assert_int_equal(e->calls, before + 1);
	assert_int_equal(stats(e).stale_answers, 1);
	assert_true(fake_count(&e->net, "127.53.3.1", "www.example.ru.", LDNS_RR_TYPE_A) >= 2);
}

static void test_stale_when_resolution_fails(void **state)
{
	struct tenv *e = *state;
	e->cfg.stale_client_timeout_ms = 60000; /* the failure comes first */
	tstart(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	elapse(e, 250);
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_REFUSE;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->ede, OST_EDE_STALE_ANSWER);
	assert_int_equal(e->first_ttl, 30);
	/* Failure recheck (RFC 8767 §5): within 30 s the stale answer comes
	 * at once, without asking anyone. */
	size_t sent = e->net.n_log;
	elapse(e, 20);
	unsigned before = e->calls;
	ask(e, "www.example.ru.", LDNS_RR_TYPE_A, OST_RF_RD);
	assert_int_equal(e->calls, before + 1);
	assert_int_equal(e->ede, OST_EDE_STALE_ANSWER);
	settle(e);
	assert_int_equal(e->net.n_log, sent);
	/* After it, the refresh is tried again. */
	elapse(e, 15);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->ede, OST_EDE_STALE_ANSWER);
	assert_true(e->net.n_log > sent);
}

static void test_stale_nxdomain(void **state)
{
	struct tenv *e = *state;
	tstart(e);
	resolve(e, "nope.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	assert_false(e->has_ede);
	elapse(e, 150); /* negative TTL: SOA MINIMUM 100 */
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_DROP;
	resolve(e, "nope.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	assert_true(e->has_ede);
	assert_int_equal(e->ede, OST_EDE_STALE_NXDOMAIN);
	assert_non_null(strstr(e->auth, "example.ru.\t30\tIN\tSOA"));
}

static void test_no_stale_beyond_max(void **state)
{
	struct tenv *e = *state;
	e->cfg.max_stale_s = 100;
	tstart(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	elapse(e, 200 + 101);
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_DROP;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	/* Nothing stale may be served: SERVFAIL, EDE 22. */
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_int_equal(e->ede, OST_EDE_NO_REACHABLE_AUTHORITY);
	assert_int_equal(e->n_answer, 0);
	assert_int_equal(stats(e).stale_answers, 0);
}

static void stale_window(struct tenv *e, bool reset)
{
	e->cfg.max_stale_s = 100;
	e->cfg.stale_ttl_reset = reset;
	tstart(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	elapse(e, 250);
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_DROP;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->ede, OST_EDE_STALE_ANSWER);
	/* 130 s after the expiry, 80 s after the failed refresh. */
	elapse(e, 80);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
}

static void test_stale_window_fixed(void **state)
{
	struct tenv *e = *state;
	stale_window(e, false);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
}

static void test_stale_ttl_reset(void **state)
{
	struct tenv *e = *state;
	stale_window(e, true);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->ede, OST_EDE_STALE_ANSWER);
	/* A failure while nothing was servable does not revive the data. */
	elapse(e, 500);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	elapse(e, 400);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
}

static void test_servfail_ede22_nothing_stale(void **state)
{
	struct tenv *e = *state;
	tstart(e);
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_DROP;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_true(e->has_ede);
	assert_int_equal(e->ede, OST_EDE_NO_REACHABLE_AUTHORITY);
	assert_int_equal(stats(e).stale_answers, 0);
}

static void test_ttl0_not_stale(void **state)
{
	struct tenv *e = *state;
	tstart(e);
	resolve(e, "zero.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->first_ttl, 0);
	elapse(e, 5);
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_DROP;
	resolve(e, "zero.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_int_equal(e->ede, OST_EDE_NO_REACHABLE_AUTHORITY);
	assert_int_equal(stats(e).stale_answers, 0);
}

static void test_bogus_not_stale(void **state)
{
	struct tenv *e = *state;
	tstart(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	/* The validator (a later piece) marks the stored answer bogus. */
	ldns_rdf *n = ldns_dname_new_frm_str("www.example.ru.");
	struct ost_arena a;
	ost_arena_init(&a, 1024);
	struct ost_mm mm;
	ost_mm_from_arena(&mm, &a);
	struct ost_cache_entry ent;
	assert_int_equal(
		ost_cache_get(e->cache, ldns_rdf_data(n), LDNS_RR_TYPE_A, OST_CTAG_MSG, &mm, &ent),
		0);
	ent.sec = OST_SEC_BOGUS;
	struct ost_cache_batch *b = NULL;
	assert_int_equal(ost_cache_batch_new(e->cache, &b), 0);
	assert_int_equal(ost_cache_batch_put(b, ldns_rdf_data(n), LDNS_RR_TYPE_A, &ent), 0);
	assert_int_equal(ost_cache_batch_commit(b), 0);
	ost_cache_batch_free(b);
	ldns_rdf_deep_free(n);
	ost_arena_deinit(&a);
	elapse(e, 250);
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_DROP;
	/* Not even a CD=1 client gets bogus data as a stale answer. */
	ask(e, "www.example.ru.", LDNS_RR_TYPE_A, OST_RF_RD | OST_RF_CD);
	settle(e);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_int_equal(e->ede, OST_EDE_NO_REACHABLE_AUTHORITY);
	assert_int_equal(stats(e).stale_answers, 0);
}

static void test_stale_disabled(void **state)
{
	struct tenv *e = *state;
	e->cfg.serve_stale = false;
	tstart(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	elapse(e, 250);
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_DROP;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
}

static void test_background_refresh(void **state)
{
	struct tenv *e = *state;
	e->cfg.initial_rto_ms = 5000;
	e->cfg.max_rto_ms = 5000;
	tstart(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	elapse(e, 250);
	/* A new resolver (a restart): no RTT memory, so the slow server
	 * below gets the initial timeout of 5 s; the cache stays. */
	ost_resolver_free(e->r);
	tstart(e);
	/* The zone changed and its server became slow. */
	struct fake_server *s = fake_server(&e->net, "127.53.3.1");
	ldns_rr_list_deep_free(s->zones[0].rrs);
	s->zones[0].rrs = fake_rrs(
		"example.ru. 86400 IN SOA ns1.example.ru. h.example.ru. 2 1800 900 604800 100\n"
		"example.ru. 86400 IN NS ns1.example.ru.\n"
		"ns1.example.ru. 86400 IN A 127.53.3.1\n"
		"www.example.ru. 200 IN A 127.53.8.9\n");
	e->net.latency_ms = 3000;
	unsigned before = e->calls;
	ask(e, "www.example.ru.", LDNS_RR_TYPE_A, OST_RF_RD);
	fake_clock_advance(&e->clk, 1800);
	assert_int_equal(e->calls, before + 1);
	assert_non_null(strstr(e->answer, "127.53.8.8"));
	assert_int_equal(e->ede, OST_EDE_STALE_ANSWER);
	/* An identical request during the refresh gets the stale answer at
	 * once and does not start another resolution. */
	size_t sent = e->net.n_log;
	ask(e, "www.example.ru.", LDNS_RR_TYPE_A, OST_RF_RD);
	assert_int_equal(e->calls, before + 2);
	assert_int_equal(e->ede, OST_EDE_STALE_ANSWER);
	assert_int_equal(e->net.n_log, sent);
	settle(e);
	assert_int_equal(e->calls, before + 2);
	assert_int_equal(stats(e).stale_refreshes, 1);
	assert_int_equal(stats(e).timeouts, 0);
	/* The refresh updated the cache: fresh data, no new query. */
	sent = e->net.n_log;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->src, OST_SRC_CACHE);
	assert_false(e->has_ede);
	assert_non_null(strstr(e->answer, "127.53.8.9"));
	assert_int_equal(e->net.n_log, sent);
}

/*
 * RFC 8767 §5: after a failed refresh the stale answer stays usable until the
 * maximum staleness, the refresh being retried at most every failure-recheck
 * interval. As in the failover lab (max-ttl 25, every server of the name and
 * of its parents cut off): five queries spread over more than two recheck
 * intervals all get the stale answer with EDE 3, for a plain name and for a
 * CNAME chain across two zones.
 */
static void use_policy(struct tenv *e);

static void stale_survives(struct tenv *e, const char *name, const char *addr)
{
	e->cfg.max_ttl = 25;
	tstart(e);
	resolve(e, name, LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->src, OST_SRC_UPSTREAM);
	elapse(e, 40); /* everything, delegations included, expired */
	for (size_t i = 0; i < e->net.n_servers; i++)
		e->net.servers[i].behaviour = FB_DROP;
	for (int i = 0; i < 5; i++) {
		resolve(e, name, LDNS_RR_TYPE_A);
		assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
		assert_true(e->has_ede);
		assert_int_equal(e->ede, OST_EDE_STALE_ANSWER);
		assert_non_null(strstr(e->answer, addr));
		elapse(e, 17);
	}
	assert_int_equal(stats(e).stale_answers, 5);
}

static void test_stale_survives_failed_refreshes(void **state)
{
	stale_survives(*state, "www.example.ru.", "127.53.8.8");
}

static void test_stale_cname_survives_failed_refreshes(void **state)
{
	stale_survives(*state, "alias.example.ru.", "127.53.8.6");
}

/* The same while isolated: the failover policy serves stale at once, with
 * QNAME minimisation on as in the lab. */
static void test_stale_survives_isolated(void **state)
{
	struct tenv *e = *state;
	use_policy(e);
	e->at_once = true;
	e->cfg.qname_minimisation = true;
	stale_survives(e, "alias.example.ru.", "127.53.8.6");
}

static bool pol_may_query(void *ctx, const struct sockaddr *addr)
{
	struct tenv *e = ctx;
	char ip[64];
	const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
	if (addr->sa_family != AF_INET || !inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip)))
		return true;
	return strcmp(ip, e->forbidden) != 0;
}

static uint32_t pol_max_stale(void *ctx)
{
	return ((struct tenv *)ctx)->max_stale;
}

static bool pol_at_once(void *ctx, const uint8_t *qname, uint16_t qtype)
{
	struct tenv *e = ctx;
	ldns_rdf *n = NULL;
	size_t pos = 0;
	assert_int_equal(ldns_wire2dname(&n, qname, 256, &pos), LDNS_STATUS_OK);
	char *s = ldns_rdf2str(n);
	snprintf(e->pol_qname, sizeof(e->pol_qname), "%s", s);
	free(s);
	ldns_rdf_deep_free(n);
	e->pol_qtype = qtype;
	/* ISOLATED: national names are still answered by their servers. */
	return e->at_once && strcasecmp(e->pol_qname, e->national) != 0;
}

static void use_policy(struct tenv *e)
{
	e->policy.ctx = e;
	e->policy.may_query = pol_may_query;
	e->policy.max_stale_s = pol_max_stale;
	e->policy.stale_immediately = pol_at_once;
	e->max_stale = 86400;
	e->cfg.policy = &e->policy;
}

static void test_policy_hooks(void **state)
{
	struct tenv *e = *state;
	use_policy(e);
	tstart(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	size_t before_q = fake_count(&e->net, "127.53.3.1", NULL, 0);
	/* ISOLATED: example.ru.'s server is foreign, stale answers at once,
	 * and for up to 3 days instead of 1. */
	snprintf(e->forbidden, sizeof(e->forbidden), "127.53.3.1");
	e->at_once = true;
	e->max_stale = 3 * 86400;
	elapse(e, 200 + 2 * 86400);
	unsigned before = e->calls;
	ask(e, "www.example.ru.", LDNS_RR_TYPE_A, OST_RF_RD);
	/* At once: before ost_resolve() returned. */
	assert_int_equal(e->calls, before + 1);
	assert_int_equal(e->ede, OST_EDE_STALE_ANSWER);
	assert_non_null(strstr(e->answer, "127.53.8.8"));
	settle(e);
	assert_int_equal(e->calls, before + 1);
	/* The refresh never asked the forbidden server. */
	assert_int_equal(fake_count(&e->net, "127.53.3.1", NULL, 0), before_q);
	assert_true(stats(e).policy_blocked >= 1);
	/* A name with nothing stale: SERVFAIL, EDE 22, still no query to it. */
	resolve(e, "other.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_int_equal(e->ede, OST_EDE_NO_REACHABLE_AUTHORITY);
	assert_non_null(strstr(e->ede_text, "not allowed"));
	assert_int_equal(fake_count(&e->net, "127.53.3.1", NULL, 0), before_q);
	/* Back to normal: the policy's 3 days no longer apply. */
	e->max_stale = 86400;
	e->at_once = false;
	e->forbidden[0] = 0;
	elapse(e, 60);
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_DROP;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
}

/*
 * The policy sees the question: while isolated a foreign name's stale answer
 * goes out at once, a national name (its servers still answer) waits for the
 * client response timer and gets the fresh answer.
 */
static void test_policy_stale_per_name(void **state)
{
	struct tenv *e = *state;
	use_policy(e);
	snprintf(e->national, sizeof(e->national), "www.example.ru.");
	tstart(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	resolve(e, "mail.example.ru.", LDNS_RR_TYPE_A);
	e->at_once = true;
	elapse(e, 300);
	unsigned before = e->calls;
	ask(e, "mail.EXAMPLE.ru.", LDNS_RR_TYPE_A, OST_RF_RD);
	assert_int_equal(e->calls, before + 1);
	assert_int_equal(e->ede, OST_EDE_STALE_ANSWER);
	assert_string_equal(e->pol_qname, "mail.EXAMPLE.ru.");
	assert_int_equal(e->pol_qtype, LDNS_RR_TYPE_A);
	settle(e);
	before = e->calls;
	ask(e, "www.example.ru.", LDNS_RR_TYPE_A, OST_RF_RD);
	assert_string_equal(e->pol_qname, "www.example.ru.");
	/* Not at once: resolution goes on and its fresh answer wins. */
	assert_int_equal(e->calls, before);
	settle(e);
	assert_int_equal(e->calls, before + 1);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_false(e->has_ede);
	assert_int_equal(e->src, OST_SRC_UPSTREAM);
}

static void test_rd0_cache_only(void **state)
{
	struct tenv *e = *state;
	tstart(e);
	/* A miss without RD: refused, nobody asked. */
	ask(e, "www.example.ru.", LDNS_RR_TYPE_A, 0);
	assert_int_equal(e->calls, 1);
	assert_int_equal(e->rcode, LDNS_RCODE_REFUSED);
	assert_int_equal(e->ede, OST_EDE_NOT_AUTHORITATIVE);
	assert_int_equal(e->net.n_log, 0);
	assert_int_equal(stats(e).norec_refused, 1);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	size_t sent = e->net.n_log;
	elapse(e, 100);
	/* A hit without RD: the cache's answer, TTL counted down. */
	ask(e, "www.example.ru.", LDNS_RR_TYPE_A, 0);
	assert_int_equal(e->calls, 3);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->src, OST_SRC_CACHE);
	assert_int_equal(e->first_ttl, 100);
	assert_int_equal(e->net.n_log, sent);
	/* Expired, without RD: the stale answer at once, and a refresh. */
	elapse(e, 150);
	ask(e, "www.example.ru.", LDNS_RR_TYPE_A, 0);
	assert_int_equal(e->calls, 4);
	assert_int_equal(e->ede, OST_EDE_STALE_ANSWER);
	settle(e);
	assert_true(e->net.n_log > sent);
	ask(e, "www.example.ru.", LDNS_RR_TYPE_A, 0);
	assert_int_equal(e->calls, 5);
	assert_false(e->has_ede);
	assert_int_equal(e->first_ttl, 200);
}

static void test_stub_zone(void **state)
{
	struct tenv *e = *state;
	/* example.ru. served by 127.53.3.1 directly; no root, no ru. */
	struct ost_stub_addr st = {.zone = "example.ru."};
	st.addrlen = fake_addr("127.53.3.1", &st.addr);
	e->cfg.stubs = &st;
	e->cfg.n_stubs = 1;
	e->cfg.n_hints = 0;
	e->cfg.hints = NULL;
	tstart(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.8"));
	assert_int_equal(e->net.n_log, 1);
	assert_string_equal(e->net.log[0].server, "127.53.3.1");
	/* Outside every stub zone and without hints: nobody to ask. */
	resolve(e, "www.other.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_int_equal(e->net.n_log, 1);
	/* A stub zone with a bad name is refused. */
	struct ost_resolver *r2 = NULL;
	st.zone = "a..b";
	assert_int_equal(ost_resolver_new(&r2, &e->cfg, NULL, &e->clk.clock, &e->net.tp), -EINVAL);
	assert_null(r2);
}

/* A forwarder at 127.53.9.9 that holds every zone: it answers everything with
 * final answers, as a recursive resolver would. */
static void add_forwarder(struct tenv *e)
{
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		fake_zone(&e->net, "127.53.9.9", zones[i][1], zones[i][2]);
}

static void set_forward(struct ost_stub_addr *st, const char *zone, const char *ip)
{
	memset(st, 0, sizeof(*st));
	st->zone = zone;
	st->forward = true;
	struct sockaddr_in *in = (void *)&st->addr;
	in->sin_family = AF_INET;
	in->sin_port = htons(53);
	inet_pton(AF_INET, ip, &in->sin_addr);
	st->addrlen = sizeof(*in);
}

static void test_forward_root(void **state)
{
	struct tenv *e = *state;
	add_forwarder(e);
	struct ost_stub_addr st;
	set_forward(&st, ".", "127.53.9.9");
	e->cfg.stubs = &st;
	e->cfg.n_stubs = 1;
	e->cfg.qname_minimisation = true; /* not toward a forwarder */
	tstart(e);
	/* Everything goes to the forwarder with RD=1, CD=0 (no validation),
	 * the full name at once; the root hints are never used. */
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.8"));
	assert_int_equal(e->net.n_log, 1);
	assert_string_equal(e->net.log[0].server, "127.53.9.9");
	assert_string_equal(e->net.log[0].qname, "www.example.ru.");
	assert_true(e->net.log[0].rd);
	assert_false(e->net.log[0].cd);
	/* A CNAME out of the forwarder's answer: the target is asked of the
	 * forwarder too. */
	resolve(e, "alias.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.6"));
	/* NXDOMAIN and NODATA from the forwarder (no AA) are final. */
	resolve(e, "nope.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_AAAA);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->n_answer, 0);
	for (size_t i = 0; i < e->net.n_log; i++) {
		assert_string_equal(e->net.log[i].server, "127.53.9.9");
		assert_true(e->net.log[i].rd);
	}
	assert_int_equal(fake_count(&e->net, "127.53.0.1", NULL, 0), 0);
}

static void test_forward_zone_and_iteration(void **state)
{
	struct tenv *e = *state;
	add_forwarder(e);
	/* Learn other.ru.'s cut by iteration first. */
	tstart(e);
	resolve(e, "www.other.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(fake_count(&e->net, "127.53.4.1", NULL, 0), 1);
	fake_clock_run(&e->clk, 60000);
	ost_resolver_free(e->r);
	e->r = NULL;
	/* Now ru. is forwarded: the cached cut of other.ru. must not bypass
	 * the forwarder, and names outside ru. still iterate from the hints. */
	struct ost_stub_addr st;
	set_forward(&st, "ru.", "127.53.9.9");
	e->cfg.stubs = &st;
	e->cfg.n_stubs = 1;
	tstart(e);
	size_t n0 = e->net.n_log;
	resolve(e, "mail.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.7"));
	resolve(e, "www.other.ru.", LDNS_RR_TYPE_AAAA);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	for (size_t i = n0; i < e->net.n_log; i++) {
		assert_string_equal(e->net.log[i].server, "127.53.9.9");
		assert_true(e->net.log[i].rd);
	}
	assert_int_equal(fake_count(&e->net, "127.53.4.1", NULL, 0), 1);
	/* A name outside the forward zone: asked of the root, RD=0. */
	n0 = e->net.n_log;
	resolve(e, "nothing.test.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	assert_true(e->net.n_log > n0);
	assert_string_equal(e->net.log[n0].server, "127.53.0.1");
	assert_false(e->net.log[n0].rd);
}

static void test_forwarder_referral_is_lame(void **state)
{
	struct tenv *e = *state;
	/* A "forwarder" that only holds the root zone refers instead of
	 * recursing: its referral is not followed. */
	fake_zone(&e->net, "127.53.9.8", zones[0][1], zones[0][2]);
	struct ost_stub_addr st;
	set_forward(&st, ".", "127.53.9.8");
	e->cfg.stubs = &st;
	e->cfg.n_stubs = 1;
	tstart(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_true(fake_count(&e->net, "127.53.9.8", NULL, 0) >= 1);
	assert_int_equal(fake_count(&e->net, "127.53.1.1", NULL, 0), 0);
	assert_int_equal(fake_count(&e->net, "127.53.3.1", NULL, 0), 0);
}

static void test_nxns_limit(void **state)
{
	struct tenv *e = *state;
	/* A delegation to 12 name servers that do not exist. */
	char text[2048] = "";
	for (int i = 1; i <= 12; i++) {
		char line[96];
		snprintf(line, sizeof(line), "nx.example.ru. 3600 IN NS ns%d.nowhere.ru.\n", i);
		strncat(text, line, sizeof(text) - strlen(text) - 1);
	}
	fake_add(&e->net, "127.53.3.1", "example.ru.", text);
	e->cfg.max_queries = 64;
	e->cfg.max_subreq = 16;
	tstart(e);
	resolve(e, "www.nx.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_non_null(strstr(e->ede_text, "NXNS"));
	/* RFC 8020: after NXDOMAIN for A there is no AAAA to ask for. */
	assert_int_equal(fake_count(&e->net, NULL, "ns1.nowhere.ru.", LDNS_RR_TYPE_A), 1);
	assert_int_equal(fake_count(&e->net, NULL, "ns1.nowhere.ru.", LDNS_RR_TYPE_AAAA), 0);
	/* Six name servers tried, then it gave up. */
	size_t nx = 0;
	for (int i = 1; i <= 12; i++) {
		char name[64];
		snprintf(name, sizeof(name), "ns%d.nowhere.ru.", i);
		nx += fake_count(&e->net, NULL, name, 0) > 0;
	}
	assert_int_equal(nx, OST_MAX_TARGET_NX_TEST);
	/* Cached failures do not count: the next request tries the others. */
	resolve(e, "www.nx.example.ru.", LDNS_RR_TYPE_AAAA);
	nx = 0;
	for (int i = 1; i <= 12; i++) {
		char name[64];
		snprintf(name, sizeof(name), "ns%d.nowhere.ru.", i);
		nx += fake_count(&e->net, NULL, name, 0) > 0;
	}
	assert_int_equal(nx, 12);
}

static void test_cd_unvalidated_msg(void **state)
{
	struct tenv *e = *state;
	e->cfg.validation = true;
	/* No trust anchor: the fake zones are unsigned, so with the built-in
	 * root anchors every CD=0 answer would be bogus; without one they are
	 * indeterminate and served (no AD). */
	struct ost_ta_store *ta = NULL;
	assert_int_equal(ost_ta_store_new(&ta), 0);
	e->cfg.anchors = ta;
	tstart(e);
	ask(e, "www.example.ru.", LDNS_RR_TYPE_A, OST_RF_RD | OST_RF_CD);
	settle(e);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
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
	assert_true(ent.flags & OST_MSG_F_UNVALIDATED);
	uint8_t buf[1024];
	size_t len;
	for (int cd = 0; cd <= 1; cd++) {
		ldns_pkt *q = NULL;
		assert_int_equal(ldns_pkt_query_new_frm_str(&q, "www.example.ru.", LDNS_RR_TYPE_A,
							    LDNS_RR_CLASS_IN, LDNS_RD),
				 LDNS_STATUS_OK);
		ldns_pkt_set_cd(q, cd);
		uint8_t *qw;
		size_t qlen;
		assert_int_equal(ldns_pkt2wire(&qw, q, &qlen), LDNS_STATUS_OK);
		ldns_pkt_free(q);
		int ret = ost_msg_to_wire(&ent, qw, qlen, ost_clock_wall_s(&e->clk.clock), false,
					  1232, buf, sizeof(buf), &len);
		/* Never checked: not for a CD=0 client. */
		assert_int_equal(ret, cd ? 0 : -ENOENT);
		/* Bogus: only for CD=1 (RFC 4035 §3.2.2); validated: both. */
		struct ost_cache_entry v = ent;
		v.flags = 0;
		v.sec = OST_SEC_BOGUS;
		ret = ost_msg_to_wire(&v, qw, qlen, ost_clock_wall_s(&e->clk.clock), false, 1232,
				      buf, sizeof(buf), &len);
		assert_int_equal(ret, cd ? 0 : -ENOENT);
		v.sec = OST_SEC_SECURE;
		assert_int_equal(ost_msg_to_wire(&v, qw, qlen, ost_clock_wall_s(&e->clk.clock),
						 false, 1232, buf, sizeof(buf), &len),
				 0);
		free(qw);
	}
	ost_arena_deinit(&a);
	/* The engine does not serve it to CD=0 either: it resolves again. */
	size_t sent = e->net.n_log;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->src, OST_SRC_UPSTREAM);
	assert_true(e->net.n_log > sent);
	/* ... while CD=1 clients get the cached copy. */
	sent = e->net.n_log;
	ask(e, "www.example.ru.", LDNS_RR_TYPE_A, OST_RF_RD | OST_RF_CD);
	settle(e);
	assert_int_equal(e->src, OST_SRC_CACHE);
	assert_int_equal(e->net.n_log, sent);
	ost_resolver_free(e->r);
	e->r = NULL;
	ost_ta_store_free(ta);
}

int stale_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stale_after_client_timer, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_stale_when_resolution_fails, tsetup,
						tteardown),
		cmocka_unit_test_setup_teardown(test_stale_nxdomain, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_no_stale_beyond_max, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_servfail_ede22_nothing_stale, tsetup,
						tteardown),
		cmocka_unit_test_setup_teardown(test_stale_window_fixed, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_stale_ttl_reset, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_ttl0_not_stale, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_bogus_not_stale, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_stale_disabled, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_background_refresh, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_policy_hooks, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_policy_stale_per_name, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_rd0_cache_only, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_stub_zone, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_forward_root, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_forward_zone_and_iteration, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_forwarder_referral_is_lame, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_nxns_limit, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_cd_unvalidated_msg, tsetup, tteardown),
		cmocka_unit_test_setup_teardown(test_stale_survives_failed_refreshes, tsetup,
						tteardown),
		cmocka_unit_test_setup_teardown(test_stale_cname_survives_failed_refreshes, tsetup,
						tteardown),
		cmocka_unit_test_setup_teardown(test_stale_survives_isolated, tsetup, tteardown),
	};
	return cmocka_run_group_tests_name("stale", tests, NULL, NULL);
}
