/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of answering from the mirror inside the engine
 * (resolver/mirror.c): the re-signed 2021 root zone is imported into a
 * mirror, the resolver gets it through its configuration, and questions are
 * resolved on the fake clock and fake network of tests/support/ (ost_test.h).
 * DS, NXDOMAIN and NODATA come from the mirror with their RRSIGs and NSEC
 * proofs without any query to the root servers; a name below a TLD is
 * referred from the mirror (the root servers are never asked); past the SOA
 * expire deadline the mirror is not used and the root servers are asked.
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

#include "ostrov/log.h"
#include "ostrov/resolver.h"
#include "ostrov/validator.h"
#include "ostrov/zone.h"

#include "ost_test.h"

#define T_PIN 1612137600 /* signatures of the 2021 root copy are valid */

struct env {
	char dir[64];
	struct fake_clock clk;
	struct fake_net net;
	struct ost_zone_store *store;
	struct ost_mirror *m;
	ldns_rr_list *anchors;
	struct ost_resolver_config cfg;
	struct ost_root_hint hint;
	struct ost_resolver *r;
	struct ost_ta_store *ta;
	unsigned calls;
	uint8_t sec;
	uint8_t rcode;
	char answer[8192];
	char auth[8192];
	bool has_ede;
};

static struct env *g_env; /* the imported root is reused by every test */

static int group_setup(void **state)
{
	(void)state;
	const char *path = OST_TESTDATA "/zonemd/44-root-zone/root.zone.hashed";
	FILE *f = fopen(path, "r");
	if (!f)
		return 0; /* tests skip */
	fclose(f);
	struct env *e = calloc(1, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/ost-mans-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	fake_clock_init(&e->clk, T_PIN - 1000);
	struct ost_zone_store_opts o = {.path = e->dir, .map_size = 256u << 20};
	assert_int_equal(ost_zone_store_open(&o, &e->store), 0);
	assert_int_equal(ost_mirror_new(e->store, &e->clk.clock, &e->m), 0);
	char ap[4096];
	snprintf(ap, sizeof(ap), "%s/zonemd/44-root-zone/Keys/K.+008+21544.ds", OST_TESTDATA);
	FILE *af = fopen(ap, "r");
	assert_non_null(af);
	ldns_rr *ds = NULL;
	assert_int_equal(ldns_rr_new_frm_fp(&ds, af, NULL, NULL, NULL), LDNS_STATUS_OK);
	fclose(af);
	e->anchors = ldns_rr_list_new();
	ldns_rr_list_push_rr(e->anchors, ds);
	struct ost_mirror_zone_config zc = {.name = ".", .anchors = e->anchors};
	assert_int_equal(ost_mirror_add_zone(e->m, &zc), 0);
	struct ost_zone_verify_result res;
	assert_int_equal(ost_mirror_import_file(e->m, ".", path, &res), 0);
	g_env = e;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	struct env *e = g_env;
	if (!e)
		return 0;
	ost_mirror_free(e->m);
	ost_zone_store_close(e->store);
	ldns_rr_list_deep_free(e->anchors);
	assert_int_equal(fake_rmtree(e->dir), 0);
	free(e);
	return 0;
}

static int setup(void **state)
{
	struct env *e = g_env;
	if (!e)
		skip();
	e->calls = 0;
	e->clk.wall_s = T_PIN - 1000;
	fake_net_init(&e->net, &e->clk);
	/* The "root server" of the hints: it must never be asked while the
	 * mirror is usable. */
	fake_zone(&e->net, "127.53.0.1", ".",
		  ". 86400 IN SOA a.root-servers.net. h. 1 1800 900 604800 86400\n"
		  ". 518400 IN NS a.root-servers.net.\n");
	ost_resolver_config_default(&e->cfg);
	fake_root_hint(&e->hint, "a.root-servers.net.", "127.53.0.1");
	e->cfg.hints = &e->hint;
	e->cfg.n_hints = 1;
	e->cfg.mirror = e->m;
	e->cfg.mirror_store = e->store;
	assert_int_equal(ost_resolver_new(&e->r, &e->cfg, NULL, &e->clk.clock, &e->net.tp), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	ost_resolver_free(e->r);
	e->r = NULL;
	ost_ta_store_free(e->ta);
	e->ta = NULL;
	assert_int_equal(fake_inflight(&e->net), 0);
	fake_clock_deinit(&e->clk);
	fake_net_deinit(&e->net);
	return 0;
}

static void on_result(const struct ost_result *res, void *arg)
{
	struct env *e = arg;
	e->calls++;
	e->rcode = res->rcode;
	e->sec = res->sec;
	e->has_ede = res->has_ede;
	fake_rrs_str(res->answer, e->answer, sizeof(e->answer));
	fake_rrs_str(res->auth, e->auth, sizeof(e->auth));
}

static void resolve_class(struct env *e, const char *name, uint16_t type, uint16_t qclass)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	struct ost_request *rq = NULL;
	unsigned before = e->calls;
	assert_int_equal(ost_resolve(e->r, ldns_rdf_data(n), type, qclass, OST_RF_RD | OST_RF_DO,
				     on_result, e, &rq),
			 0);
	ldns_rdf_deep_free(n);
	fake_clock_run(&e->clk, 60000);
	assert_int_equal(e->calls, before + 1);
}

static void resolve(struct env *e, const char *name, uint16_t type)
{
	resolve_class(e, name, type, LDNS_RR_CLASS_IN);
}

static uint64_t mirror_answers(struct env *e)
{
	struct ost_resolver_stats s;
	ost_resolver_stats_get(e->r, &s);
	return s.mirror_answers;
}

static void expect_in(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" not found in:\n%s", needle, hay);
}

static void test_ds_from_mirror(void **state)
{
	struct env *e = *state;
	resolve(e, "com.", LDNS_RR_TYPE_DS);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	expect_in(e->answer, "com.\t86400\tIN\tDS\t30909 8 2");
	expect_in(e->answer, "\tRRSIG\tDS 8 1 86400");
	assert_int_equal(e->net.n_log, 0); /* nobody was asked */
	assert_int_equal(mirror_answers(e), 1);
}

static void test_nxdomain_from_mirror(void **state)
{
	struct env *e = *state;
	resolve(e, "www.nosuchtld-ostrov.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	expect_in(e->auth, "\tIN\tSOA\ta.root-servers.net. nstld.verisign-grs.com. 2021011901");
	expect_in(e->auth, "\tRRSIG\tSOA ");
	/* The covering NSEC (nrw. .. nsn.?) and the one for the wildcard (the apex). */
	expect_in(e->auth, "\tIN\tNSEC\t");
	expect_in(e->auth, "\tRRSIG\tNSEC ");
	expect_in(e->auth, ".\t86400\tIN\tNSEC\taaa.");
	assert_int_equal(e->net.n_log, 0);
}

static void test_nodata_from_mirror(void **state)
{
	struct env *e = *state;
	resolve(e, ".", LDNS_RR_TYPE_TXT);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_string_equal(e->answer, "");
	expect_in(e->auth, "\tIN\tSOA\t");
	expect_in(e->auth, ".\t86400\tIN\tNSEC\taaa. NS SOA RRSIG NSEC DNSKEY");
	assert_int_equal(e->net.n_log, 0);
}

static void test_dnskey_from_mirror(void **state)
{
	struct env *e = *state;
	resolve(e, ".", LDNS_RR_TYPE_DNSKEY);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	expect_in(e->answer, "\tIN\tDNSKEY\t257 3 8");
	expect_in(e->answer, "\tRRSIG\tDNSKEY 8 0");
	assert_int_equal(e->net.n_log, 0);
}

/* A name below a TLD: the referral to the TLD's servers comes from the
 * mirror; their (internet) addresses are outside the upstream allow-list, so
 * nothing is sent at all, and the root server is never asked. */
static void test_referral_from_mirror(void **state)
{
	struct env *e = *state;
	resolve(e, "www.example.com.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_true(e->has_ede);
	assert_int_equal(fake_count(&e->net, "127.53.0.1", NULL, 0), 0);
	assert_true(mirror_answers(e) >= 1);
	struct ost_resolver_stats s;
	ost_resolver_stats_get(e->r, &s);
	assert_true(s.not_allowed >= 1); /* the gtld servers of the referral */
}

/* The mirror holds class IN only: a CH question goes its usual way. */
static void test_other_class_not_from_mirror(void **state)
{
	struct env *e = *state;
	resolve_class(e, "version.bind.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH);
	assert_int_equal(mirror_answers(e), 0);
}

/* Past the SOA expire deadline (RFC 8806 §3) normal recursion takes over. */
static void test_expired_mirror_not_used(void **state)
{
	struct env *e = *state;
	e->clk.wall_s = T_PIN + 8 * 86400;
	resolve(e, "com.", LDNS_RR_TYPE_DS);
	assert_int_equal(mirror_answers(e), 0);
	assert_true(fake_count(&e->net, "127.53.0.1", NULL, 0) >= 1);
}

/* With validation on, mirror data is validated like any reply: the DNSKEY
 * sub-requests are answered from the mirror too, so the answers are secure
 * without any query. */
static void test_validated_from_mirror(void **state)
{
	struct env *e = *state;
	ost_resolver_free(e->r);
	assert_int_equal(ost_ta_store_new(&e->ta), 0);
	assert_int_equal(ost_ta_add_rr(e->ta, ldns_rr_list_rr(e->anchors, 0)), 0);
	e->cfg.validation = true;
	e->cfg.anchors = e->ta;
	assert_int_equal(ost_resolver_new(&e->r, &e->cfg, NULL, &e->clk.clock, &e->net.tp), 0);
	resolve(e, "com.", LDNS_RR_TYPE_DS);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->sec, OST_SEC_SECURE);
	resolve(e, "www.nosuchtld-ostrov.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(e->sec, OST_SEC_SECURE);
	assert_int_equal(e->net.n_log, 0);
}

int main(void)
{
	ost_log_set_level(getenv("DBG") ? OST_LOG_DEBUG : OST_LOG_ERR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ds_from_mirror, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nxdomain_from_mirror, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nodata_from_mirror, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dnskey_from_mirror, setup, teardown),
		cmocka_unit_test_setup_teardown(test_referral_from_mirror, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_mirror_not_used, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_class_not_from_mirror, setup, teardown),
		cmocka_unit_test_setup_teardown(test_validated_from_mirror, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
