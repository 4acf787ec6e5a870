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
 *
 * With validation on, results made only of mirror data are secure without
 * checking their signatures again (the version was verified whole), also for
 * CD=1; with a cache, repeated questions are answered from it with TTLs
 * bounded by the mirror's SOA expire deadline, until the mirror's data
 * changes. The failover policy hook (fake) extends a mirror past its
 * deadline (EDE 3, nothing cached) but never past its RRSIG horizon.
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

#include "ostrov/cache.h"
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
	uint16_t ede;
	char ede_text[160];
	uint8_t src;
	char cdir[64];
	struct ost_cache *cache;
	struct ost_resolver_policy pol;
	int say; /* what the fake failover policy says about every mirror */
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
	if (e->cache) {
		ost_cache_close(e->cache);
		e->cache = NULL;
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->cdir);
		assert_int_equal(system(cmd), 0);
	}
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
	e->ede = res->ede;
	snprintf(e->ede_text, sizeof(e->ede_text), "%s", res->ede_text ? res->ede_text : "");
	e->src = res->src;
	fake_rrs_str(res->answer, e->answer, sizeof(e->answer));
	fake_rrs_str(res->auth, e->auth, sizeof(e->auth));
}

static void resolve_flags(struct env *e, const char *name, uint16_t type, uint16_t qclass,
			  unsigned flags)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	struct ost_request *rq = NULL;
	unsigned before = e->calls;
	assert_int_equal(
		ost_resolve(e->r, ldns_rdf_data(n), type, qclass, flags, on_result, e, &rq), 0);
	ldns_rdf_deep_free(n);
	fake_clock_run(&e->clk, 60000);
	assert_int_equal(e->calls, before + 1);
	if (e->cache) {
		assert_int_equal(ost_resolver_commit(e->r), 0);
		ost_cache_sync(e->cache);
	}
}

static void resolve_class(struct env *e, const char *name, uint16_t type, uint16_t qclass)
{
	resolve_flags(e, name, type, qclass, OST_RF_RD | OST_RF_DO);
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

/* A fresh resolver with validation on (the root anchor), and optionally a
 * cache and the fake failover policy. */
static void renew(struct env *e, bool with_cache, bool with_policy)
{
	ost_resolver_free(e->r);
	if (!e->ta) {
		assert_int_equal(ost_ta_store_new(&e->ta), 0);
		assert_int_equal(ost_ta_add_rr(e->ta, ldns_rr_list_rr(e->anchors, 0)), 0);
	}
	e->cfg.validation = true;
	e->cfg.anchors = e->ta;
	if (with_cache && !e->cache) {
		snprintf(e->cdir, sizeof(e->cdir), "/tmp/ost-mans-cache-XXXXXX");
		assert_non_null(mkdtemp(e->cdir));
		struct ost_cache_config cc = {.path = e->cdir,
					      .max_bytes = 16u << 20,
					      .max_ttl = 86400 * 7,
					      .max_neg_ttl = 86400,
					      .max_readers = 8};
		assert_int_equal(ost_cache_open(&e->cache, &cc, &e->clk.clock), 0);
	}
	e->cfg.policy = with_policy ? &e->pol : NULL;
	assert_int_equal(ost_resolver_new(&e->r, &e->cfg, e->cache, &e->clk.clock, &e->net.tp), 0);
}

/* The fake wall clock also counts the fake milliseconds that have run. */
static void set_wall(struct env *e, int64_t t)
{
	e->clk.wall_s = t - (int64_t)(e->clk.now_ms / 1000);
	assert_true(ost_clock_wall_s(&e->clk.clock) == t);
}

static int64_t wall(struct env *e)
{
	return ost_clock_wall_s(&e->clk.clock);
}

static struct ost_resolver_stats stats(struct env *e)
{
	struct ost_resolver_stats s;
	ost_resolver_stats_get(e->r, &s);
	return s;
}

static struct ost_zone_meta root_meta(struct env *e)
{
	struct ost_mirror_zone_status st;
	assert_int_equal(ost_mirror_zone_status(e->m, ".", &st), 0);
	assert_true(st.is_verified);
	return st.meta;
}

/* The verified copy is secure by construction: no signature is checked
 * again, so not even the root DNSKEY is fetched (no sub-request), and a
 * CD=1 client gets the same secure data. */
static void test_mirror_secure_without_revalidation(void **state)
{
	struct env *e = *state;
	renew(e, false, false);
	resolve(e, "www.nosuchtld-ostrov.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(e->sec, OST_SEC_SECURE);
	assert_int_equal(stats(e).mirror_secure, 1);
	assert_int_equal(stats(e).subrequests, 0);
	resolve_flags(e, "com.", LDNS_RR_TYPE_DS, LDNS_RR_CLASS_IN,
		      OST_RF_RD | OST_RF_DO | OST_RF_CD);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->sec, OST_SEC_SECURE);
	expect_in(e->answer, "\tRRSIG\tDS 8 1 86400");
	assert_int_equal(stats(e).mirror_secure, 2);
	assert_false(e->has_ede);
	assert_int_equal(e->net.n_log, 0);
	/* A negative trust anchor (RFC 7646) over the zone: the validator's
	 * verdict (insecure), not the import's. */
	ldns_rdf *root = ldns_dname_new_frm_str(".");
	assert_int_equal(ost_ta_nta_add(e->ta, root, wall(e) + 3600), 0);
	resolve(e, "org.", LDNS_RR_TYPE_DS);
	assert_int_equal(e->rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(e->sec, OST_SEC_INSECURE);
	assert_int_equal(stats(e).mirror_secure, 2);
	assert_int_equal(ost_ta_nta_remove(e->ta, root), 0);
	ldns_rdf_deep_free(root);
}

static void expect_msg_ttl_within(struct env *e, const char *name, uint16_t type, int64_t until)
{
	struct ost_cache_entry ent;
	struct ost_mm mm;
	struct ost_arena a;
	ost_arena_init(&a, 4096);
	ost_mm_from_arena(&mm, &a);
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	assert_int_equal(ost_cache_get(e->cache, ldns_rdf_data(n), type, OST_CTAG_MSG, &mm, &ent),
			 0);
	ldns_rdf_deep_free(n);
	assert_int_equal(ent.rank, OST_RANK_MIRROR);
	assert_int_equal(ent.sec, OST_SEC_SECURE);
	assert_true(ent.expires_at <= until);
	assert_true(ent.expires_at > wall(e));
	ost_arena_deinit(&a);
}

/*
 * Repeated questions: the second comes from the cache (the server's hit path
 * reads the same OST_CTAG_MSG entry), bounded by the SOA expire deadline;
 * once the mirror's data changed (here: the copies re-verified, as at a
 * restart or a new version) the cached copy is bypassed and the mirror asked
 * again; past the deadline nothing cached from the mirror is left and the
 * root servers are asked.
 */
static void test_mirror_answer_cached_and_bounded(void **state)
{
	struct env *e = *state;
	struct ost_zone_meta meta = root_meta(e);
	/* Near the deadline: the SOA minimum (86400) is longer than what is left. */
	set_wall(e, meta.soa_expire_deadline - 600);
	renew(e, true, false);
	resolve(e, "www.nosuchtld-ostrov.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(e->sec, OST_SEC_SECURE);
	assert_int_equal(stats(e).mirror_answers, 1);
	expect_msg_ttl_within(e, "www.nosuchtld-ostrov.", LDNS_RR_TYPE_A, meta.soa_expire_deadline);
	char first_auth[8192];
	snprintf(first_auth, sizeof(first_auth), "%s", e->auth);

	e->clk.wall_s += 1;
	resolve(e, "www.nosuchtld-ostrov.", LDNS_RR_TYPE_A);
	assert_int_equal(e->src, OST_SRC_CACHE);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(e->sec, OST_SEC_SECURE);
	assert_int_equal(stats(e).mirror_answers, 1);

	/* The mirror's data changes: the cached copy is not used. */
	e->clk.wall_s += 1;
	assert_int_equal(ost_mirror_start(e->m), 0);
	assert_true(ost_mirror_changed_at(e->m) == wall(e));
	e->clk.wall_s += 1;
	resolve(e, "www.nosuchtld-ostrov.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(stats(e).mirror_answers, 2);
	assert_string_equal(e->auth, first_auth);

	/* Past the deadline: the cached copy expired with the mirror. */
	set_wall(e, meta.soa_expire_deadline + 1);
	resolve(e, "www.nosuchtld-ostrov.", LDNS_RR_TYPE_A);
	assert_int_equal(stats(e).mirror_answers, 2);
	assert_true(fake_count(&e->net, "127.53.0.1", NULL, 0) >= 1);
}

static int fake_mirror_use(void *ctx, const char *zone)
{
	struct env *e = ctx;
	(void)zone;
	return e->say;
}

/* Before its SOA expire deadline the mirror answers without EDE. */
static void test_policy_before_expire(void **state)
{
	struct env *e = *state;
	e->pol = (struct ost_resolver_policy){.ctx = e, .mirror_use = fake_mirror_use};
	e->say = OST_MIRROR_USABLE;
	renew(e, false, true);
	resolve(e, "com.", LDNS_RR_TYPE_DS);
	assert_int_equal(mirror_answers(e), 1);
	assert_false(e->has_ede);
	assert_int_equal(e->sec, OST_SEC_SECURE);
	/* The policy may withdraw it early (RRSIG margin). */
	e->say = OST_MIRROR_WITHDRAWN;
	resolve(e, "org.", LDNS_RR_TYPE_DS);
	assert_int_equal(mirror_answers(e), 1);
	assert_true(fake_count(&e->net, "127.53.0.1", NULL, 0) >= 1);
}

/* Past the deadline without an extension: normal recursion (RFC 8806 §3). */
static void test_policy_after_expire_withdrawn(void **state)
{
	struct env *e = *state;
	struct ost_zone_meta meta = root_meta(e);
	e->pol = (struct ost_resolver_policy){.ctx = e, .mirror_use = fake_mirror_use};
	e->say = OST_MIRROR_WITHDRAWN;
	set_wall(e, meta.soa_expire_deadline + 60);
	renew(e, false, true);
	resolve(e, "com.", LDNS_RR_TYPE_DS);
	assert_int_equal(mirror_answers(e), 0);
	assert_true(fake_count(&e->net, "127.53.0.1", NULL, 0) >= 1);
	/* No opinion (the machine does not track it yet): the same. */
	e->say = OST_MIRROR_NO_OPINION;
	resolve(e, "org.", LDNS_RR_TYPE_DS);
	assert_int_equal(mirror_answers(e), 0);
}

/* Extended by the operator: served, each answer with EDE 3, none cached. */
static void test_policy_extended(void **state)
{
	struct env *e = *state;
	struct ost_zone_meta meta = root_meta(e);
	e->pol = (struct ost_resolver_policy){.ctx = e, .mirror_use = fake_mirror_use};
	e->say = OST_MIRROR_WITHDRAWN;
	set_wall(e, meta.soa_expire_deadline + 60);
	assert_true(wall(e) < meta.rrsig_horizon - 86400);
	renew(e, true, true);
	/* Withdrawn: the (unsigned, fake) root server is asked and its answer
	 * fails validation; the failure is cached (RFC 9520). */
	resolve(e, "www.nosuchtld-ostrov.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_SERVFAIL);
	assert_int_equal(mirror_answers(e), 0);
	/* Extended: the mirror answers at once, the cached failure does not
	 * stand in its way. */
	e->say = OST_MIRROR_EXTENDED;
	size_t asked = e->net.n_log;
	resolve(e, "www.nosuchtld-ostrov.", LDNS_RR_TYPE_A);
	assert_int_equal(e->rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(mirror_answers(e), 1);
	assert_true(e->has_ede);
	assert_int_equal(e->ede, OST_EDE_STALE_ANSWER);
	expect_in(e->ede_text, "past its SOA expire deadline");
	expect_in(e->ede_text, "extension");
	assert_int_equal(e->net.n_log, asked); /* nobody asked */
	assert_int_equal(stats(e).mirror_extended, 1);
	/* Not cached: asked again, the mirror answers again, with the EDE. */
	resolve(e, "www.nosuchtld-ostrov.", LDNS_RR_TYPE_A);
	assert_int_equal(mirror_answers(e), 2);
	assert_int_equal(e->src, OST_SRC_UPSTREAM);
	assert_true(e->has_ede);
	struct ost_cache_entry ent;
	struct ost_mm mm;
	struct ost_arena a;
	ost_arena_init(&a, 4096);
	ost_mm_from_arena(&mm, &a);
	ldns_rdf *n = ldns_dname_new_frm_str("www.nosuchtld-ostrov.");
	assert_int_equal(
		ost_cache_get(e->cache, ldns_rdf_data(n), LDNS_RR_TYPE_A, OST_CTAG_MSG, &mm, &ent),
		-ENOENT);
	ldns_rdf_deep_free(n);
	ost_arena_deinit(&a);
}

/* Never past the RRSIG horizon (less the margin), extended or not. */
static void test_policy_extended_past_horizon(void **state)
{
	struct env *e = *state;
	struct ost_zone_meta meta = root_meta(e);
	e->pol = (struct ost_resolver_policy){.ctx = e, .mirror_use = fake_mirror_use};
	e->say = OST_MIRROR_EXTENDED;
	set_wall(e, meta.rrsig_horizon - 86400);
	renew(e, false, true);
	resolve(e, "com.", LDNS_RR_TYPE_DS);
	assert_int_equal(mirror_answers(e), 0);
	assert_true(fake_count(&e->net, "127.53.0.1", NULL, 0) >= 1);
	/* Without a margin: up to the horizon itself, not at it. */
	e->cfg.mirror_rrsig_margin_s = 0;
	set_wall(e, meta.rrsig_horizon - 1);
	renew(e, false, true);
	resolve(e, "com.", LDNS_RR_TYPE_DS);
	assert_int_equal(mirror_answers(e), 1);
	set_wall(e, meta.rrsig_horizon);
	resolve(e, "org.", LDNS_RR_TYPE_DS);
	assert_int_equal(mirror_answers(e), 1);
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
		cmocka_unit_test_setup_teardown(test_mirror_secure_without_revalidation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mirror_answer_cached_and_bounded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_policy_before_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_after_expire_withdrawn, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_policy_extended, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_extended_past_horizon, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
