/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the zone mirror's fast path (resolver/mirror_fast.c,
 * ost_mirror_answer()), differential against the engine: three zones
 * signed here with ldns (NSEC, NSEC3, NSEC3 with opt-out) are imported into
 * a mirror on the fake clock; for many questions (names, NODATA, empty
 * non-terminals, NXDOMAIN, DS at secure and insecure delegations, apex
 * types, names below delegations, CNAME, DNAME, wildcards, ANY, RRSIG) the
 * reply the fast path's entry renders with ost_msg_to_wire() is compared
 * with the reply ost_resolve() gives for the same query through the engine
 * (no cache, so the engine asks the mirror every time) and
 * ost_result_to_wire(): the same RCODE, AA/AD/TC bits and the same records
 * per section, TTLs included (order aside), or the fast path passes. The
 * questions it must answer and the ones it must pass are listed; NSEC3
 * proofs are checked against ldns_nsec3_hash_name(), and DO=0 replies carry
 * no DNSSEC records. The re-signed 2021 root zone is compared the same
 * way. The life-cycle tests (unusable copies, new versions, allocations,
 * kept read transactions) are in test_mirror_fast_life.c, the fixture and
 * both paths in mirror_fast_fixture.c; main() is here.
 */
#include "mirror_fast_fixture.h"


static const struct question questions[] = {
	/* apex data */
	{"", LDNS_RR_TYPE_SOA, EX_FAST},
	{"", LDNS_RR_TYPE_NS, EX_FAST},
	{"", LDNS_RR_TYPE_DNSKEY, EX_FAST},
	{"", LDNS_RR_TYPE_TXT, EX_FAST}, /* NODATA at the apex */
	{"", LDNS_RR_TYPE_DS, EX_PASS},  /* the parent's (not mirrored) */
	/* exact RRsets */
	{"www.", LDNS_RR_TYPE_A, EX_FAST},
	{"WwW.", LDNS_RR_TYPE_AAAA, EX_FAST},
	{"txt.", LDNS_RR_TYPE_TXT, EX_FAST},
	{"ns.", LDNS_RR_TYPE_A, EX_FAST},
	{"a.b.c.", LDNS_RR_TYPE_A, EX_FAST},
	{"big.", LDNS_RR_TYPE_A, EX_FAST}, /* TTL above max-ttl */
	{"alias.", LDNS_RR_TYPE_CNAME, EX_FAST},
	{"dn.", LDNS_RR_TYPE_DNAME, EX_FAST},
	/* NODATA, empty non-terminals */
	{"www.", LDNS_RR_TYPE_MX, EX_FAST},
	{"b.c.", LDNS_RR_TYPE_A, EX_FAST},
	{"c.", LDNS_RR_TYPE_AAAA, EX_FAST},
	{"wild.", LDNS_RR_TYPE_A, EX_FAST},
	/* NXDOMAIN */
	{"nosuch.", LDNS_RR_TYPE_A, EX_FAST},
	{"x.y.nosuch.", LDNS_RR_TYPE_A, EX_FAST},
	{"deep.a.b.c.", LDNS_RR_TYPE_A, EX_FAST},
	{"zzz.", LDNS_RR_TYPE_TXT, EX_FAST},
	{"aaa.", LDNS_RR_TYPE_A, EX_FAST},
	{"new.", LDNS_RR_TYPE_A, EX_FAST},
	/* DS at delegations: the parent side */
	{"sec.", LDNS_RR_TYPE_DS, EX_FAST},
	{"insec.", LDNS_RR_TYPE_DS, EX_FAST},
	/* left to the engine */
	{"alias.", LDNS_RR_TYPE_A, EX_PASS},     /* CNAME link */
	{"x.dn.", LDNS_RR_TYPE_A, EX_PASS},      /* DNAME */
	{"foo.wild.", LDNS_RR_TYPE_A, EX_PASS},  /* wildcard */
	{"foo.wild.", LDNS_RR_TYPE_MX, EX_PASS}, /* wildcard NODATA */
	{"www.sec.", LDNS_RR_TYPE_A, EX_PASS},   /* referral, secure */
	{"sec.", LDNS_RR_TYPE_NS, EX_PASS},      /* referral */
	{"insec.", LDNS_RR_TYPE_A, EX_PASS},     /* referral, insecure */
	{"ns.insec.", LDNS_RR_TYPE_A, EX_PASS},  /* glue */
	{"www.", LDNS_RR_TYPE_ANY, EX_PASS},
	{"www.", LDNS_RR_TYPE_RRSIG, EX_PASS},
};

static void zone_questions(struct env *e, enum zkind k, struct tally *t)
{
	for (size_t i = 0; i < sizeof(questions) / sizeof(questions[0]); i++) {
		char name[300];
		snprintf(name, sizeof(name), "%s%s", questions[i].label, zone_names[k]);
		enum expect ex = questions[i].ex;
		/* Referrals are resolved by the engine through servers this
		 * test does not have: only the fast path's PASS is checked. */
		if (ex == EX_PASS) {
			compare(e, name, questions[i].type, true, false, ex, t);
			compare(e, name, questions[i].type, false, false, ex, t);
			continue;
		}
		compare_all(e, name, questions[i].type, ex, t);
	}
}


static void test_nsec_zone(void **state)
{
	struct env *e = *state;
	struct tally t = {0};
	zone_questions(e, ZK_NSEC, &t);
	assert_true(t.fast > 50);
	assert_int_equal(t.insecure, 0); /* NSEC: every answer secure */
	struct ost_resolver_stats st;
	ost_resolver_stats_get(e->r, &st);
	assert_int_equal(st.mirror_fast, t.fast);
}

static void test_nsec3_zone(void **state)
{
	struct env *e = *state;
	struct tally t = {0};
	zone_questions(e, ZK_NSEC3, &t);
	assert_true(t.fast > 50);
	assert_int_equal(t.insecure, 0);
}

static void test_nsec3_optout_zone(void **state)
{
	struct env *e = *state;
	struct tally t = {0};
	zone_questions(e, ZK_NSEC3_OPTOUT, &t);
	assert_true(t.fast > 50);
	/* NXDOMAIN over opt-out spans, the insecure delegation's DS: insecure. */
	assert_true(t.insecure > 0);
	/* and with AD clear */
	size_t qlen = 0;
	uint8_t *q = make_query("nosuch.n3o.", LDNS_RR_TYPE_A, true, false, &qlen);
	struct ost_cache_entry ent;
	ldns_pkt *p = fast_reply(e, "nosuch.n3o.", LDNS_RR_TYPE_A, q, qlen, &ent);
	assert_non_null(p);
	assert_int_equal(ent.sec, OST_SEC_INSECURE);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_false(ldns_pkt_ad(p));
	ldns_pkt_free(p);
	free(q);
}

/* The NSEC3 the fast path proves NODATA with is the one ldns hashes the name to. */
static void test_nsec3_hash(void **state)
{
	struct env *e = *state;
	static const char *const names[] = {"www.n3.", "WWW.N3.", "b.c.n3.", "n3."};
	static const uint16_t types[] = {LDNS_RR_TYPE_MX, LDNS_RR_TYPE_MX, LDNS_RR_TYPE_A,
					 LDNS_RR_TYPE_TXT};
	uint8_t salt[4] = {0xab, 0xcd, 0x00, 0x01};
	for (size_t i = 0; i < 4; i++) {
		size_t qlen = 0;
		uint8_t *q = make_query(names[i], types[i], true, false, &qlen);
		struct ost_cache_entry ent;
		ldns_pkt *p = fast_reply(e, names[i], types[i], q, qlen, &ent);
		assert_non_null(p);
		ldns_rdf *n = ldns_dname_new_frm_str(names[i]);
		ldns_rdf *h = ldns_nsec3_hash_name(n, LDNS_SHA1, 3, sizeof(salt), salt);
		ldns_rdf *apex = ldns_dname_new_frm_str("n3.");
		assert_int_equal(ldns_dname_cat(h, apex), LDNS_STATUS_OK);
		bool found = false;
		const ldns_rr_list *ns = ldns_pkt_authority(p);
		for (size_t j = 0; j < ldns_rr_list_rr_count(ns); j++) {
			const ldns_rr *rr = ldns_rr_list_rr(ns, j);
			found |= ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC3 &&
				 ldns_dname_compare(ldns_rr_owner(rr), h) == 0;
		}
		assert_true(found);
		assert_true(ldns_pkt_ad(p));
		ldns_rdf_deep_free(n);
		ldns_rdf_deep_free(h);
		ldns_rdf_deep_free(apex);
		ldns_pkt_free(p);
		free(q);
	}
}


/* ---- the re-signed 2021 root zone (shared test data) ---- */

#define T_ROOT 1612137600 /* its signatures are valid */

static int setup_root(void **state)
{
	const char *path = OST_TESTDATA "/zonemd/44-root-zone/root.zone.hashed";
	FILE *f = fopen(path, "r");
	if (!f)
		skip();
	fclose(f);
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/ost-mfast-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	fake_clock_init(&e->clk, T_ROOT);
	fake_clock_set_wall(&e->clk, T_ROOT - 1000);
	fake_net_init(&e->net, &e->clk);
	struct ost_zone_store_opts o = {.path = e->dir, .map_size = 256u << 20};
	assert_int_equal(ost_zone_store_open(&o, &e->store), 0);
	assert_int_equal(ost_mirror_new(e->store, &e->clk.clock, &e->m), 0);
	FILE *af = fopen(OST_TESTDATA "/zonemd/44-root-zone/Keys/K.+008+21544.ds", "r");
	assert_non_null(af);
	ldns_rr *ds = NULL;
	assert_int_equal(ldns_rr_new_frm_fp(&ds, af, NULL, NULL, NULL), LDNS_STATUS_OK);
	fclose(af);
	e->anchors[0] = ldns_rr_list_new();
	ldns_rr_list_push_rr(e->anchors[0], ds);
	struct ost_mirror_zone_config zc = {.name = ".", .anchors = e->anchors[0]};
	assert_int_equal(ost_mirror_add_zone(e->m, &zc), 0);
	struct ost_zone_verify_result res;
	assert_int_equal(ost_mirror_import_file(e->m, ".", path, &res), 0);
	assert_int_equal(ost_ta_store_new(&e->ta), 0);
	assert_int_equal(ost_ta_add_rr(e->ta, ds), 0);
	resolver_new(e, true);
	*state = e;
	return 0;
}

/* The real root (NSEC, RSA): TLD DS (secure and insecure delegations),
 * NXDOMAIN, apex data, referrals; over TCP, where neither renderer
 * truncates (the hit path's renderer does not compress names, so near the
 * UDP limit it may set TC where the engine's reply still fits). */
static void test_root_zone(void **state)
{
	struct env *e = *state;
	struct tally t = {0};
	static const struct question qs[] = {
		{"com.", LDNS_RR_TYPE_DS, EX_FAST},
		{"ru.", LDNS_RR_TYPE_DS, EX_FAST},
		{"org.", LDNS_RR_TYPE_DS, EX_FAST},
		{"aaa.", LDNS_RR_TYPE_DS, EX_FAST},
		{"zw.", LDNS_RR_TYPE_DS, EX_FAST},
		{"nosuchtld-ostrov.", LDNS_RR_TYPE_DS, EX_FAST},
		{"www.nosuchtld-ostrov.", LDNS_RR_TYPE_A, EX_FAST},
		{"zzzzzz.", LDNS_RR_TYPE_A, EX_FAST},
		{"0.", LDNS_RR_TYPE_AAAA, EX_FAST},
		{".", LDNS_RR_TYPE_SOA, EX_FAST},
		{".", LDNS_RR_TYPE_NS, EX_FAST},
		{".", LDNS_RR_TYPE_DNSKEY, EX_FAST},
		{".", LDNS_RR_TYPE_ZONEMD, EX_FAST},
		{".", LDNS_RR_TYPE_TXT, EX_FAST},
		{"a.root-servers.net.", LDNS_RR_TYPE_A, EX_PASS}, /* below net. */
		{"www.example.com.", LDNS_RR_TYPE_A, EX_PASS},
		{"com.", LDNS_RR_TYPE_NS, EX_PASS},
	};
	g_tcp = true;
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		compare(e, qs[i].label, qs[i].type, true, false, qs[i].ex, &t);
		compare(e, qs[i].label, qs[i].type, false, false, qs[i].ex, &t);
	}
	g_tcp = false;
	assert_int_equal(t.fast, 2 * 14);
	assert_int_equal(t.insecure, 0);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nsec_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nsec3_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nsec3_optout_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nsec3_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pass_unusable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pass_unanchored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_version_clock_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_allocation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_unpins, setup_small_map, teardown),
		cmocka_unit_test_setup_teardown(test_root_zone, setup_root, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
