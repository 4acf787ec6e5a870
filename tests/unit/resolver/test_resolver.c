/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the resolution engine (resolver/) on the fake clock and the
 * fake network of tests/unit/resolver/fake.c: referral walks, CNAME/DNAME,
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

#include "ostrov/resolver.h"

#include "fake.h"

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
	bool has_ede;
	uint16_t ede;
	char ede_text[160];
	enum ost_answer_source src;
};

static void hint(struct ost_root_hint *h, const char *name, const char *ip)
{
	memset(h, 0, sizeof(*h));
	h->name = name;
	struct sockaddr_in *in = (void *)&h->addr;
	in->sin_family = AF_INET;
	in->sin_port = htons(53);
	assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	h->addrlen = sizeof(*in);
}

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
	hint(&e->hints[0], "a.root-servers.test.", "127.53.0.1");
	hint(&e->hints[1], "b.root-servers.test.", "127.53.0.2");
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

static void list_str(const ldns_rr_list *l, char *buf, size_t size)
{
	buf[0] = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		char *s = ldns_rr2str(ldns_rr_list_rr(l, i));
		size_t used = strlen(buf);
		snprintf(buf + used, size - used, "%s", s);
		free(s);
	}
}

static void on_result(const struct ost_result *res, void *arg)
{
	struct env *e = arg;
	e->calls++;
	e->rcode = res->rcode;
	list_str(res->answer, e->answer, sizeof(e->answer));
	list_str(res->auth, e->auth, sizeof(e->auth));
	e->n_answer = ldns_rr_list_rr_count(res->answer);
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
	resolve(e, "www.example.ru.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_non_null(strstr(e->answer, "www.example.ru.\t300\tIN\tA\t127.53.8.8"));
	assert_int_equal(e->n_answer, 1);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_referral_walk, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
