/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the resolution engine (resolver/) on the fake clock and the
 * fake network of tests/support/ (ost_test.h): referral walks, CNAME/DNAME,
 * sub-requests and loops, lame and silent servers, TCP and EDNS fallbacks,
 * spoofed packets, bailiwick scrubbing, negative answers, hard limits,
 * QNAME minimisation, coalescing and the upstream allow-list.
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

#include <cmocka.h>
#include <ldns/ldns.h>

#include "ostrov/config.h"
#include "ostrov/resolver.h"

#include "ost_test.h"

int answer_tests(void);
int stash_tests(void);
int stale_tests(void);

/* ---- the test hierarchy ---- */

static const char *root_zone = ". 86400 IN SOA a.root-servers.test. h.root. 1 1800 900 604800 "
			       "86400\n"
			       ". 518400 IN NS a.root-servers.test.\n"
			       ". 518400 IN NS b.root-servers.test.\n"
			       "ru. 172800 IN NS a.dns.ru.\n"
			       "a.dns.ru. 172800 IN A 127.53.1.1\n"
			       "net. 172800 IN NS a.dns.net.\n"
			       "a.dns.net. 172800 IN A 127.53.2.1\n";

static const char *ru_zone = "ru. 3600 IN SOA a.dns.ru. h.ru. 1 1800 900 604800 600\n"
			     "ru. 3600 IN NS a.dns.ru.\n"
			     "a.dns.ru. 3600 IN A 127.53.1.1\n"
			     "example.ru. 3600 IN NS ns1.example.ru.\n"
			     "ns1.example.ru. 3600 IN A 127.53.3.1\n"
			     "other.ru. 3600 IN NS ns.hosting.net.\n";

static const char *net_zone = "net. 3600 IN SOA a.dns.net. h.net. 1 1800 900 604800 600\n"
			      "net. 3600 IN NS a.dns.net.\n"
			      "a.dns.net. 3600 IN A 127.53.2.1\n"
			      "hosting.net. 3600 IN NS ns.hosting.net.\n"
			      "ns.hosting.net. 3600 IN A 127.53.4.1\n";

static const char *hosting_zone =
	"hosting.net. 3600 IN SOA ns.hosting.net. h.hosting.net. 1 1800 900 604800 300\n"
	"hosting.net. 3600 IN NS ns.hosting.net.\n"
	"ns.hosting.net. 3600 IN A 127.53.4.1\n";

static const char *other_zone =
	"other.ru. 3600 IN SOA ns.hosting.net. h.other.ru. 1 1800 900 604800 300\n"
	"other.ru. 3600 IN NS ns.hosting.net.\n"
	"www.other.ru. 300 IN A 127.53.9.9\n";

static const char *example_zone =
	"example.ru. 3600 IN SOA ns1.example.ru. h.example.ru. 1 1800 900 604800 300\n"
	"example.ru. 3600 IN NS ns1.example.ru.\n"
	"ns1.example.ru. 3600 IN A 127.53.3.1\n"
	"www.example.ru. 300 IN A 127.53.8.8\n"
	"a.b.example.ru. 300 IN A 127.53.8.4\n"
	"alias.example.ru. 300 IN CNAME www.other.ru.\n"
	"old.example.ru. 300 IN DNAME other.ru.\n";

/* ---- the environment of one test ---- */

struct env {
	struct fake_clock clk;
	struct fake_net net;
	struct ost_resolver_config cfg;
	struct ost_root_hint hints[2];
	struct ost_resolver *r;
	/* results */
	unsigned calls;
	uint8_t rcode;
	char answer[4096];
	char auth[4096];
	size_t n_answer;
	size_t n_add;
	bool has_ede;
	uint16_t ede;
	char ede_text[160];
	enum ost_answer_source src;
};

static void build_lab(struct fake_net *n)
{
	fake_zone(n, "127.53.0.1", ".", root_zone);
	fake_zone(n, "127.53.0.2", ".", root_zone);
	fake_zone(n, "127.53.1.1", "ru.", ru_zone);
	fake_zone(n, "127.53.2.1", "net.", net_zone);
	fake_zone(n, "127.53.4.1", "hosting.net.", hosting_zone);
	fake_zone(n, "127.53.4.1", "other.ru.", other_zone);
	fake_zone(n, "127.53.3.1", "example.ru.", example_zone);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	fake_clock_init(&e->clk, 1800000000);
	fake_net_init(&e->net, &e->clk);
	build_lab(&e->net);
	ost_resolver_config_default(&e->cfg);
	fake_root_hint(&e->hints[0], "a.root-servers.test.", "127.53.0.1");
	fake_root_hint(&e->hints[1], "b.root-servers.test.", "127.53.0.2");
	e->cfg.hints = e->hints;
	e->cfg.n_hints = 2;
	e->cfg.qname_minimisation = false;
	*state = e;
	return 0;
}

/* Create the resolver after the test adjusted e->cfg. */
static void start(struct env *e)
{
	assert_int_equal(ost_resolver_new(&e->r, &e->cfg, NULL, &e->clk.clock, &e->net.tp), 0);
}

static int teardown(void **state)
{
	struct env *e = *state;
	if (e->r) {
		assert_int_equal(ost_resolver_inflight(e->r), 0);
		ost_resolver_free(e->r);
	}
	assert_int_equal(fake_inflight(&e->net), 0);
	assert_int_equal(fake_clock_deinit(&e->clk), 0);
	fake_net_deinit(&e->net);
	free(e);
	return 0;
}

static void on_result(const struct ost_result *res, void *arg)
{
	struct env *e = arg;
	e->calls++;
	e->rcode = res->rcode;
	fake_rrs_str(res->answer, e->answer, sizeof(e->answer));
	fake_rrs_str(res->auth, e->auth, sizeof(e->auth));
	e->n_answer = ldns_rr_list_rr_count(res->answer);
	e->n_add = ldns_rr_list_rr_count(res->add);
	e->has_ede = res->has_ede;
	e->ede = res->ede;
	snprintf(e->ede_text, sizeof(e->ede_text), "%s", res->ede_text);
	e->src = res->src;
}

/* Start resolving @p name/@p type; returns the handle. */
static struct ost_request *ask(struct env *e, const char *name, uint16_t type)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	assert_non_null(n);
	struct ost_request *rq = NULL;
	assert_int_equal(ost_resolve(e->r, ldns_rdf_data(n), type, LDNS_RR_CLASS_IN, OST_RF_RD,
				     on_result, e, &rq),
			 0);
	ldns_rdf_deep_free(n);
	return rq;
}

/* Resolve and run the clock until the callback came. */
static void resolve(struct env *e, const char *name, uint16_t type)
{
	unsigned before = e->calls;
	ask(e, name, type);
	fake_clock_run(&e->clk, 60000);
	assert_int_equal(e->calls, before + 1);
}

static struct ost_resolver_stats stats(const struct env *e)
{
	struct ost_resolver_stats s;
	ost_resolver_stats_get(e->r, &s);
	return s;
}

/* ---- tests ---- */

static void test_referral_walk(void **state)
{
	struct env *e = *state;
	start(e);
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_FULL;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "www.example.ru.\t300\tIN\tA\t127.53.8.8"));
	assert_int_equal(e->n_answer, 1);
	/* Minimal responses (the default): no NS, no glue. */
	assert_string_equal(e->auth, "");
	assert_int_equal(e->n_add, 0);
	assert_false(e->has_ede);
	assert_int_equal(e->src, OST_SRC_UPSTREAM);
	/* root -> ru. -> example.ru., one query each, over UDP with EDNS 1232. */
	assert_int_equal(e->net.n_log, 3);
	assert_string_equal(e->net.log[0].server, "127.53.0.1");
	assert_string_equal(e->net.log[1].server, "127.53.1.1");
	assert_string_equal(e->net.log[2].server, "127.53.3.1");
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(e->net.log[i].qname, "www.example.ru.");
		assert_true(e->net.log[i].edns);
		assert_int_equal(e->net.log[i].edns_size, 1232);
		assert_false(e->net.log[i].tcp);
	}
	assert_int_equal(stats(e).queries_sent, 3);
}


static void test_cname_across_zones(void **state)
{
	struct env *e = *state;
	start(e);
	resolve(e, "alias.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->n_answer, 2);
	assert_non_null(strstr(e->answer, "alias.example.ru.\t300\tIN\tCNAME\twww.other.ru."));
	assert_non_null(strstr(e->answer, "www.other.ru.\t300\tIN\tA\t127.53.9.9"));
	/* The CNAME chain goes first. */
	assert_true(strstr(e->answer, "CNAME") < strstr(e->answer, "127.53.9.9"));
	/* The target was asked of other.ru.'s server, found via ns.hosting.net. */
	assert_int_equal(fake_count(&e->net, "127.53.4.1", "www.other.ru.", LDNS_RR_TYPE_A), 1);
}

static void test_dname(void **state)
{
	struct env *e = *state;
	start(e);
	resolve(e, "www.old.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->n_answer, 3);
	assert_non_null(strstr(e->answer, "old.example.ru.\t300\tIN\tDNAME\tother.ru."));
	assert_non_null(strstr(e->answer, "www.old.example.ru.\t300\tIN\tCNAME\twww.other.ru."));
	assert_non_null(strstr(e->answer, "www.other.ru.\t300\tIN\tA\t127.53.9.9"));
}

static void test_oob_ns_subrequest(void **state)
{
	struct env *e = *state;
	start(e);
	resolve(e, "www.other.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.9.9"));
	struct ost_resolver_stats s = stats(e);
	assert_int_equal(s.subrequests, 1);
	/* The sub-request asked net. for ns.hosting.net., then its own zone. */
	assert_int_equal(fake_count(&e->net, "127.53.2.1", "ns.hosting.net.", LDNS_RR_TYPE_A), 1);
	assert_int_equal(fake_count(&e->net, "127.53.4.1", "ns.hosting.net.", LDNS_RR_TYPE_A), 1);
}

static void test_ns_loop(void **state)
{
	struct env *e = *state;
	fake_add(&e->net, "127.53.1.1", "ru.",
		 "loop1.ru. 3600 IN NS ns.loop2.ru.\n"
		 "loop2.ru. 3600 IN NS ns.loop1.ru.\n");
	start(e);
	resolve(e, "www.loop1.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_true(e->has_ede);
	assert_int_equal(e->ede, OST_EDE_NO_REACHABLE_AUTHORITY);
	assert_non_null(strstr(e->ede_text, "loop"));
	struct ost_resolver_stats s = stats(e);
	assert_true(s.loops >= 1);
	assert_true(s.queries_sent <= 8);
}

/* example.ru. gets a second server, 127.53.3.2. */
static void second_server(struct env *e)
{
	fake_add(&e->net, "127.53.1.1", "ru.",
		 "example.ru. 3600 IN NS ns2.example.ru.\n"
		 "ns2.example.ru. 3600 IN A 127.53.3.2\n");
	fake_zone(&e->net, "127.53.3.2", "example.ru.", example_zone);
}

static void test_lame_then_other(void **state)
{
	struct env *e = *state;
	second_server(e);
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_REFUSE;
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.8"));
	assert_int_equal(fake_count(&e->net, "127.53.3.1", NULL, 0), 1);
	assert_int_equal(fake_count(&e->net, "127.53.3.2", NULL, 0), 1);
	assert_int_equal(stats(e).lame, 1);
}

static void test_not_authoritative_then_other(void **state)
{
	struct env *e = *state;
	second_server(e);
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_LAME;
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.8"));
	assert_int_equal(stats(e).lame, 1);
}

static void test_timeout_then_other(void **state)
{
	struct env *e = *state;
	second_server(e);
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_DROP;
	start(e);
	uint64_t t0 = e->clk.now_ms;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.8"));
	assert_int_equal(stats(e).timeouts, 1);
	assert_int_equal(fake_count(&e->net, "127.53.3.1", NULL, 0), 1);
	assert_int_equal(fake_count(&e->net, "127.53.3.2", NULL, 0), 1);
	/* It waited one initial RTO (400 ms) for the silent server. */
	assert_true(e->clk.now_ms - t0 >= 400);
	assert_true(e->clk.now_ms - t0 < 1000);

	/* The silent server is now avoided (failure memory, backed-off RTO). */
	resolve(e, "a.b.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(fake_count(&e->net, "127.53.3.1", NULL, 0), 1);
	assert_int_equal(stats(e).timeouts, 1);
}

static void test_tc_then_tcp(void **state)
{
	struct env *e = *state;
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_TC_UDP;
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.8"));
	assert_int_equal(e->net.n_log, 4);
	assert_string_equal(e->net.log[2].server, "127.53.3.1");
	assert_false(e->net.log[2].tcp);
	assert_string_equal(e->net.log[3].server, "127.53.3.1");
	assert_true(e->net.log[3].tcp);
	assert_int_equal(stats(e).tc_fallback, 1);
	assert_int_equal(stats(e).queries_tcp, 1);
}

static void test_formerr_edns(void **state)
{
	struct env *e = *state;
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_FORMERR_EDNS;
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.8"));
	assert_int_equal(e->net.n_log, 4);
	assert_true(e->net.log[2].edns);
	assert_false(e->net.log[3].edns);
	assert_int_equal(stats(e).edns_fallback, 1);
	/* Remembered: the next query to that server goes without EDNS. */
	resolve(e, "a.b.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_false(e->net.log[e->net.n_log - 1].edns);
	assert_int_equal(stats(e).edns_fallback, 1);
}

static void test_spoof_ignored(void **state)
{
	struct env *e = *state;
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_SPOOF;
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.8"));
	struct ost_resolver_stats s = stats(e);
	assert_int_equal(s.drop_wrong_id, 1);
	assert_int_equal(s.drop_wrong_qname, 1);
	assert_int_equal(s.queries_sent, 3);
}

static void test_bailiwick_answer(void **state)
{
	struct env *e = *state;
	struct fake_server *s = fake_server(&e->net, "127.53.3.1");
	s->behaviour = FB_INJECT;
	s->inject = fake_rrs("www.other.ru. 300 IN A 127.66.66.66\n"
			     "evil.net. 300 IN A 127.66.66.67\n");
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->n_answer, 1);
	assert_null(strstr(e->answer, "127.66.66"));
	assert_int_equal(stats(e).drop_bailiwick, 4);
}

static void test_bailiwick_glue(void **state)
{
	struct env *e = *state;
	/* ru.'s server offers glue for ns.hosting.net., a name it has no
	 * authority over, pointing at an impostor. */
	struct fake_server *s = fake_server(&e->net, "127.53.1.1");
	s->behaviour = FB_INJECT;
	s->inject = fake_rrs("ns.hosting.net. 300 IN A 127.53.66.66\n");
	fake_zone(&e->net, "127.53.66.66", "other.ru.", "www.other.ru. 300 IN A 127.66.66.66\n");
	start(e);
	resolve(e, "www.other.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.9.9"));
	assert_int_equal(fake_count(&e->net, "127.53.66.66", NULL, 0), 0);
	assert_true(stats(e).drop_bailiwick >= 1);
}

static void test_nxdomain(void **state)
{
	struct env *e = *state;
	start(e);
	resolve(e, "nope.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(e->n_answer, 0);
	assert_non_null(strstr(e->auth, "example.ru.\t300\tIN\tSOA\tns1.example.ru."));
	assert_false(e->has_ede);
}

static void test_nodata(void **state)
{
	struct env *e = *state;
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_AAAA);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->n_answer, 0);
	assert_non_null(strstr(e->auth, "example.ru.\t300\tIN\tSOA\tns1.example.ru."));
}

static void test_cname_to_nxdomain(void **state)
{
	struct env *e = *state;
	fake_add(&e->net, "127.53.3.1", "example.ru.",
		 "dangling.example.ru. 300 IN CNAME gone.other.ru.\n");
	start(e);
	resolve(e, "dangling.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	assert_non_null(strstr(e->answer, "CNAME\tgone.other.ru."));
	assert_non_null(strstr(e->auth, "other.ru.\t300\tIN\tSOA"));
}

static void expect_limit(struct env *e, uint16_t ede, const char *text)
{
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_true(e->has_ede);
	assert_int_equal(e->ede, ede);
	assert_string_equal(e->ede_text, text);
	assert_int_equal(e->src, OST_SRC_LOCAL);
	assert_true(stats(e).limit_hits >= 1);
}

static void test_limit_queries(void **state)
{
	struct env *e = *state;
	e->cfg.max_queries = 2;
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	expect_limit(e, OST_EDE_OTHER, "ostrov: outbound query limit (2) reached");
	assert_int_equal(e->net.n_log, 2);
}

static void test_limit_depth(void **state)
{
	struct env *e = *state;
	e->cfg.max_depth = 1;
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	expect_limit(e, OST_EDE_OTHER, "ostrov: referral depth limit (1) reached");
}

static void test_limit_subrequests(void **state)
{
	struct env *e = *state;
	e->cfg.max_subreq = 0;
	start(e);
	resolve(e, "www.other.ru.", LDNS_RR_TYPE_A);
	expect_limit(e, OST_EDE_OTHER, "ostrov: sub-request limit (0) reached");
	assert_int_equal(fake_count(&e->net, NULL, "ns.hosting.net.", 0), 0);
}

static void test_limit_subrequest_budget_shared(void **state)
{
	struct env *e = *state;
	/* The sub-request's own queries count against the client request. */
	e->cfg.max_queries = 3;
	start(e);
	resolve(e, "www.other.ru.", LDNS_RR_TYPE_A);
	expect_limit(e, OST_EDE_OTHER, "ostrov: outbound query limit (3) reached");
	assert_int_equal(e->net.n_log, 3);
}

static void test_limit_cname(void **state)
{
	struct env *e = *state;
	e->cfg.max_cname = 0;
	start(e);
	resolve(e, "alias.example.ru.", LDNS_RR_TYPE_A);
	expect_limit(e, OST_EDE_OTHER, "ostrov: CNAME chain limit (0) reached");
	/* No partial chain in a failure. */
	assert_int_equal(e->n_answer, 0);
}

static void test_limit_time(void **state)
{
	struct env *e = *state;
	fake_server(&e->net, "127.53.0.1")->behaviour = FB_DROP;
	fake_server(&e->net, "127.53.0.2")->behaviour = FB_DROP;
	e->cfg.max_time_ms = 1000;
	start(e);
	uint64_t t0 = e->clk.now_ms;
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	expect_limit(e, OST_EDE_NO_REACHABLE_AUTHORITY,
		     "ostrov: total time limit (1000 ms) reached");
	assert_int_equal(e->clk.now_ms - t0, 1000);
	/* The query in flight at the deadline was abandoned. */
	assert_int_equal(e->net.n_cancelled, 1);
}

static void test_all_servers_fail(void **state)
{
	struct env *e = *state;
	fake_server(&e->net, "127.53.0.1")->behaviour = FB_DROP;
	fake_server(&e->net, "127.53.0.2")->behaviour = FB_DROP;
	e->cfg.max_time_ms = 60000;
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_int_equal(e->ede, OST_EDE_NO_REACHABLE_AUTHORITY);
	assert_string_equal(e->ede_text, "ostrov: no reachable authority for .");
	/* RFC 9520 §3.1: three queries per server at most. */
	assert_int_equal(fake_count(&e->net, "127.53.0.1", NULL, 0), 3);
	assert_int_equal(fake_count(&e->net, "127.53.0.2", NULL, 0), 3);
	assert_int_equal(stats(e).timeouts, 6);
}

static void test_network_errors(void **state)
{
	struct env *e = *state;
	fake_server(&e->net, "127.53.0.1")->behaviour = FB_NETERR;
	fake_server(&e->net, "127.53.0.2")->behaviour = FB_NETERR;
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_int_equal(e->ede, OST_EDE_NETWORK_ERROR);
}

static void test_qmin_sequence(void **state)
{
	struct env *e = *state;
	e->cfg.qname_minimisation = true;
	start(e);
	resolve(e, "a.b.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.4"));
	static const struct {
		const char *server, *qname;
		uint16_t qtype;
	} want[] = {
		{"127.53.0.1", "ru.", LDNS_RR_TYPE_A},
		{"127.53.1.1", "example.ru.", LDNS_RR_TYPE_A},
		{"127.53.3.1", "b.example.ru.", LDNS_RR_TYPE_A},
		{"127.53.3.1", "a.b.example.ru.", LDNS_RR_TYPE_A},
	};
	assert_int_equal(e->net.n_log, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(e->net.log[i].server, want[i].server);
		assert_string_equal(e->net.log[i].qname, want[i].qname);
		assert_int_equal(e->net.log[i].qtype, want[i].qtype);
	}
}

static void test_qmin_ns_qtype(void **state)
{
	struct env *e = *state;
	/* RFC 9156 §2.1: NS for the hidden steps, as configured. */
	e->cfg.qname_minimisation = true;
	e->cfg.qmin_qtype = LDNS_RR_TYPE_NS;
	start(e);
	resolve(e, "a.b.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.4"));
	static const struct {
		const char *qname;
		uint16_t qtype;
	} want[] = {
		{"ru.", LDNS_RR_TYPE_NS},
		{"example.ru.", LDNS_RR_TYPE_NS},
		{"b.example.ru.", LDNS_RR_TYPE_NS},
		{"a.b.example.ru.", LDNS_RR_TYPE_A},
	};
	assert_int_equal(e->net.n_log, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(e->net.log[i].qname, want[i].qname);
		assert_int_equal(e->net.log[i].qtype, want[i].qtype);
	}
}

static void test_qmin_full_type_at_end(void **state)
{
	struct env *e = *state;
	e->cfg.qname_minimisation = true;
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_TXT);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->net.n_log, 3);
	assert_string_equal(e->net.log[0].qname, "ru.");
	assert_int_equal(e->net.log[0].qtype, LDNS_RR_TYPE_A);
	assert_string_equal(e->net.log[2].qname, "www.example.ru.");
	assert_int_equal(e->net.log[2].qtype, LDNS_RR_TYPE_TXT);
}

static void test_qmin_fallback_nxdomain(void **state)
{
	struct env *e = *state;
	e->cfg.qname_minimisation = true;
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_NX_ENT;
	start(e);
	resolve(e, "a.b.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.4"));
	assert_int_equal(e->net.n_log, 4);
	assert_string_equal(e->net.log[2].qname, "b.example.ru.");
	assert_string_equal(e->net.log[3].qname, "a.b.example.ru.");
	assert_int_equal(stats(e).qmin_fallback, 1);
}

static void test_qmin_long_name(void **state)
{
	struct env *e = *state;
	e->cfg.qname_minimisation = true;
	fake_add(&e->net, "127.53.3.1", "example.ru.",
		 "l1.l2.l3.l4.l5.l6.l7.l8.l9.l10.l11.l12.l13.l14.example.ru. 300 IN A "
		 "127.53.8.14\n");
	start(e);
	resolve(e, "l1.l2.l3.l4.l5.l6.l7.l8.l9.l10.l11.l12.l13.l14.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	/* RFC 9156 §2.3: at most MAX_MINIMISE_COUNT (10) hidden queries. */
	size_t hidden = 0;
	for (size_t i = 0; i + 1 < e->net.n_log; i++)
		hidden++;
	assert_true(hidden <= 10);
	assert_string_equal(e->net.log[e->net.n_log - 1].qname,
			    "l1.l2.l3.l4.l5.l6.l7.l8.l9.l10.l11.l12.l13.l14.example.ru.");
}

static void test_coalescing(void **state)
{
	struct env *e = *state;
	start(e);
	struct ost_request *a = ask(e, "www.example.ru.", LDNS_RR_TYPE_A);
	struct ost_request *b = ask(e, "WWW.Example.RU.", LDNS_RR_TYPE_A);
	assert_non_null(a);
	assert_non_null(b);
	fake_clock_run(&e->clk, 60000);
	assert_int_equal(e->calls, 2);
	assert_int_equal(e->net.n_log, 3);
	assert_int_equal(stats(e).coalesced, 1);
	/* A different type is a different resolution. */
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_AAAA);
	assert_int_equal(e->net.n_log, 6);
}

static void test_cancel(void **state)
{
	struct env *e = *state;
	start(e);
	struct ost_request *a = ask(e, "www.example.ru.", LDNS_RR_TYPE_A);
	struct ost_request *b = ask(e, "www.example.ru.", LDNS_RR_TYPE_A);
	ost_request_cancel(a);
	fake_clock_run(&e->clk, 60000);
	assert_int_equal(e->calls, 1);
	b = ask(e, "www.other.ru.", LDNS_RR_TYPE_A);
	fake_clock_advance(&e->clk, 15); /* the first referral arrived */
	ost_request_cancel(b);
	assert_int_equal(ost_resolver_inflight(e->r), 0);
	assert_int_equal(fake_inflight(&e->net), 0);
	assert_true(e->net.n_cancelled >= 1);
	fake_clock_run(&e->clk, 60000);
	assert_int_equal(e->calls, 1);
}

static void test_allow_list(void **state)
{
	struct env *e = *state;
	fake_add(&e->net, "127.53.1.1", "ru.",
		 "ext.ru. 3600 IN NS ns.ext.ru.\n"
		 "ns.ext.ru. 3600 IN A 192.0.2.1\n");
	start(e);
	resolve(e, "www.ext.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_true(e->has_ede);
	assert_int_equal(fake_count(&e->net, "192.0.2.1", NULL, 0), 0);
	assert_int_equal(stats(e).not_allowed, 1);
}

static void test_allow_list_explicit(void **state)
{
	struct env *e = *state;
	/* Only 127.53.0.0/24 (the roots) allowed: ru.'s server is refused.
	 * The configuration's prefix type and the engine's live in one file
	 * (as in the daemon's server/hints.c): their names must not clash. */
	struct ost_cidr conf = {.family = AF_INET, .prefix = 24, .bytes = {127, 53, 0, 0}};
	struct ost_resolver_cidr allow = {.prefix = conf.prefix};
	struct sockaddr_in *in = (void *)&allow.addr;
	in->sin_family = AF_INET;
	memcpy(&in->sin_addr, conf.bytes, 4);
	e->cfg.allow = &allow;
	e->cfg.n_allow = 1;
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_int_equal(e->net.n_log, 1);
	assert_int_equal(fake_count(&e->net, "127.53.1.1", NULL, 0), 0);
}

static void test_random_ids(void **state)
{
	struct env *e = *state;
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	resolve(e, "a.b.example.ru.", LDNS_RR_TYPE_A);
	resolve(e, "alias.example.ru.", LDNS_RR_TYPE_A);
	/* Not a sequence: at least some IDs differ from their predecessor + 1. */
	size_t seq = 0, same = 0;
	for (size_t i = 1; i < e->net.n_log; i++) {
		seq += e->net.log[i].id == (uint16_t)(e->net.log[i - 1].id + 1);
		same += e->net.log[i].id == e->net.log[i - 1].id;
	}
	assert_true(e->net.n_log >= 8);
	assert_true(seq < e->net.n_log - 1);
	assert_true(same < e->net.n_log - 1);
}

static void test_upward_referral_lame(void **state)
{
	struct env *e = *state;
	second_server(e);
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_UPWARD;
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.8.8"));
	assert_int_equal(stats(e).lame, 1);
	/* It was not followed back up to ru. */
	assert_int_equal(fake_count(&e->net, "127.53.1.1", NULL, 0), 1);
}

static void test_config_invalid(void **state)
{
	struct env *e = *state;
	struct ost_resolver *r = NULL;
	struct ost_resolver_config c = e->cfg;
	c.n_hints = 0;
	assert_int_equal(ost_resolver_new(&r, &c, NULL, &e->clk.clock, &e->net.tp), -EINVAL);
	struct ost_root_hint bad = e->hints[0];
	bad.name = "a..b";
	c = e->cfg;
	c.hints = &bad;
	c.n_hints = 1;
	assert_int_equal(ost_resolver_new(&r, &c, NULL, &e->clk.clock, &e->net.tp), -EINVAL);
	bad = e->hints[0];
	bad.addr.ss_family = AF_UNIX;
	assert_int_equal(ost_resolver_new(&r, &c, NULL, &e->clk.clock, &e->net.tp), -EINVAL);
	assert_null(r);
	/* A bad question name is refused without a callback. */
	start(e);
	uint8_t bad_name[300];
	struct ost_request *rq = NULL;
	/* A compression pointer, then a name over 255 octets. */
	memset(bad_name, 0, sizeof(bad_name));
	bad_name[0] = 0xc0;
	assert_int_equal(ost_resolve(e->r, bad_name, 1, 1, 0, on_result, e, &rq), -EINVAL);
	assert_null(rq);
	for (size_t i = 0; i + 10 < sizeof(bad_name); i += 10) {
		bad_name[i] = 9;
		memset(bad_name + i + 1, 'x', 9);
	}
	assert_int_equal(ost_resolve(e->r, bad_name, 1, 1, 0, on_result, e, &rq), -EINVAL);
	assert_null(rq);
	assert_int_equal(e->calls, 0);
}

static void test_ttl_caps_and_full_responses(void **state)
{
	struct env *e = *state;
	e->cfg.max_ttl = 100;
	e->cfg.max_neg_ttl = 10;
	e->cfg.minimal_responses = false;
	fake_server(&e->net, "127.53.3.1")->behaviour = FB_FULL;
	start(e);
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_non_null(strstr(e->answer, "www.example.ru.\t100\tIN\tA\t127.53.8.8"));
	assert_non_null(strstr(e->auth, "example.ru.\t100\tIN\tNS\tns1.example.ru."));
	assert_int_equal(e->n_add, 1);
	resolve(e, "nope.example.ru.", LDNS_RR_TYPE_A);
	assert_non_null(strstr(e->auth, "example.ru.\t10\tIN\tSOA"));
}

static void test_garbage_replies(void **state)
{
	struct env *e = *state;
	/* Every server mangles its answers (ID kept, so they reach the
	 * parser): the engine must drop or reject them, never crash, never
	 * hang, and always call back once. Fixed seeds keep it reproducible. */
	for (size_t i = 0; i < e->net.n_servers; i++)
		e->net.servers[i].behaviour = FB_GARBAGE;
	e->cfg.qname_minimisation = true;
	start(e);
	const char *names[] = {"www.example.ru.", "alias.example.ru.", "www.other.ru.",
			       "nope.example.ru.", "www.old.example.ru."};
	for (unsigned seed = 1; seed <= 150; seed++) {
		e->net.rnd = seed;
		e->net.flips = 1 + seed % 6;
		e->net.n_log = 0;
		resolve(e, names[seed % 5], seed % 3 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA);
		assert_true(e->rcode == LDNS_RCODE_NOERROR || e->rcode == LDNS_RCODE_NXDOMAIN ||
			    e->rcode == LDNS_RCODE_SERVFAIL);
		/* Whatever was accepted stays inside the lab's names. */
		assert_null(strstr(e->answer, "spoofed"));
	}
	struct ost_resolver_stats s = stats(e);
	assert_true(s.drop_malformed > 0);
}

static void test_ns_ipv6_only(void **state)
{
	struct env *e = *state;
	fake_add(&e->net, "127.53.1.1", "ru.", "v6.ru. 3600 IN NS ns6.hosting.net.\n");
	fake_add(&e->net, "127.53.4.1", "hosting.net.", "ns6.hosting.net. 3600 IN AAAA ::1\n");
	fake_zone(&e->net, "::1", "v6.ru.",
		  "v6.ru. 3600 IN SOA ns6.hosting.net. h.v6.ru. 1 1800 900 604800 300\n"
		  "www.v6.ru. 300 IN A 127.53.9.6\n");
	start(e);
	resolve(e, "www.v6.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "127.53.9.6"));
	assert_int_equal(fake_count(&e->net, "127.53.4.1", "ns6.hosting.net.", LDNS_RR_TYPE_AAAA),
			 1);
	assert_int_equal(fake_count(&e->net, "::1", "www.v6.ru.", LDNS_RR_TYPE_A), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_referral_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cname_across_zones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dname, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oob_ns_subrequest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ns_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lame_then_other, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_authoritative_then_other, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_then_other, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tc_then_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_formerr_edns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spoof_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bailiwick_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bailiwick_glue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nxdomain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nodata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cname_to_nxdomain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_subrequests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_subrequest_budget_shared, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_limit_cname, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_servers_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_network_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmin_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmin_ns_qtype, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmin_full_type_at_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmin_fallback_nxdomain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmin_long_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_coalescing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allow_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allow_list_explicit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upward_referral_lame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_caps_and_full_responses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ns_ipv6_only, setup, teardown),
	};
	int failed = cmocka_run_group_tests_name("engine", tests, NULL, NULL);
	failed += answer_tests();
	failed += stash_tests();
	failed += stale_tests();
	return failed;
}
