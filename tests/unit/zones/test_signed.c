/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * DNSSEC checks on zones signed here with ldns (ECDSA P-256, fixed validity
 * window around the fake clock): delegations (unsigned NS and glue, signed
 * DS), a missing RRSIG, an unsigned extra record, a national zone anchored
 * through the DS RRset of its mirrored parent, a child signed with a key its
 * parent's DS does not name, and bounded work when the DNSKEY RRset carries
 * 100 keys colliding on the signing key's tag.
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
#include <openssl/evp.h>

#include "ostrov/zone.h"

#include "test_signer.h"
#include "test_zones.h"

#define T_NOW 1700000000

/* Sign @p text (zone file lines without DNSKEYs) plus @p extra_keys; returns
 * all records of the signed zone. */
static ldns_rr_list *sign_zone(struct ost_test_signer *s, const char *apex, const char *text,
			       const ldns_rr_list *extra_keys)
{
	ldns_zone *z = NULL, *signed_z;
	ldns_rdf *origin = ldns_dname_new_frm_str(apex);
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(f);
	assert_int_equal(ldns_zone_new_frm_fp(&z, f, origin, 3600, LDNS_RR_CLASS_IN),
			 LDNS_STATUS_OK);
	fclose(f);
	ldns_rdf_deep_free(origin);
	for (size_t i = 0; i < ldns_rr_list_rr_count(s->dnskeys); i++)
		ldns_zone_push_rr(z, ldns_rr_clone(ldns_rr_list_rr(s->dnskeys, i)));
	for (size_t i = 0; extra_keys && i < ldns_rr_list_rr_count(extra_keys); i++)
		ldns_zone_push_rr(z, ldns_rr_clone(ldns_rr_list_rr(extra_keys, i)));
	signed_z = ldns_zone_sign(z, s->keys);
	assert_non_null(signed_z);
	ldns_rr_list *all = ldns_rr_list_clone(ldns_zone_rrs(signed_z));
	ldns_rr_list_push_rr(all, ldns_rr_clone(ldns_zone_soa(signed_z)));
	ldns_zone_deep_free(signed_z);
	ldns_zone_deep_free(z);
	return all;
}

/* Remove (and free) the first record matching owner/type (/covered for RRSIG). */
static void drop_rr(ldns_rr_list *l, const char *owner, ldns_rr_type type, ldns_rr_type covered)
{
	ldns_rdf *o = ldns_dname_new_frm_str(owner);
	size_t n = ldns_rr_list_rr_count(l);
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_dname_compare(ldns_rr_owner(rr), o) != 0 || ldns_rr_get_type(rr) != type)
			continue;
		if (type == LDNS_RR_TYPE_RRSIG &&
		    ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) != covered)
			continue;
		ldns_rr_list_set_rr(l, ldns_rr_list_rr(l, n - 1), i);
		ldns_rr_list_set_rr_count(l, n - 1);
		ldns_rr_free(rr);
		ldns_rdf_deep_free(o);
		return;
	}
	fail_msg("no %s record to drop", owner);
}

static void push_str(ldns_rr_list *l, const char *s)
{
	ldns_rr *rr = NULL;
	assert_int_equal(ldns_rr_new_frm_str(&rr, s, 3600, NULL, NULL), LDNS_STATUS_OK);
	ldns_rr_list_push_rr(l, rr);
}

static const char parent_text[] =
	"example. 3600 IN SOA ns.example. h.example. 10 7200 900 1209600 300\n"
	"example. 3600 IN NS ns.example.\n"
	"ns.example. 3600 IN A 192.0.2.53\n"
	"www.example. 3600 IN A 192.0.2.80\n"
	"child.example. 3600 IN NS ns.child.example.\n"
	"ns.child.example. 3600 IN A 192.0.2.99\n";

struct env {
	char *dir;
	struct fake_clock fc;
	struct ost_zone_store *store;
	struct ost_mirror *m;
};

static void env_open(struct env *e)
{
	struct ost_zone_store_opts o;
	e->dir = make_tmpdir();
	o = (struct ost_zone_store_opts){.path = e->dir};
	fake_clock_init(&e->fc, T_NOW);
	assert_int_equal(ost_zone_store_open(&o, &e->store), 0);
	assert_int_equal(ost_mirror_new(e->store, &e->fc.clock, &e->m), 0);
}

static void env_close(struct env *e)
{
	ost_mirror_free(e->m);
	ost_zone_store_close(e->store);
	remove_tree(e->dir);
	free(e->dir);
}

static void test_signed_delegations(void **state)
{
	(void)state;
	struct ost_test_signer ps, cs;
	struct env e;
	struct ost_zone_verify_result res;
	ost_test_signer_init(&ps, "example.", T_NOW - 3600, T_NOW + 10 * 86400);
	ost_test_signer_init(&cs, "child.example.", T_NOW - 3600, T_NOW + 10 * 86400);
	env_open(&e);

	/* The parent carries the child's DS. */
	char text[2048];
	char *ds = ldns_rr2str(cs.ksk_ds);
	snprintf(text, sizeof(text), "%s%s", parent_text, ds);
	free(ds);
	ldns_rr_list *panchor = ldns_rr_list_new();
	ldns_rr_list_push_rr(panchor, ldns_rr_clone(ps.ksk_ds));
	struct ost_mirror_zone_config pc = {.name = "example.", .anchors = panchor};
	struct ost_mirror_zone_config cc = {.name = "child.example."}; /* DS from parent */
	assert_int_equal(ost_mirror_add_zone(e.m, &pc), 0);
	assert_int_equal(ost_mirror_add_zone(e.m, &cc), 0);

	/* The child cannot be imported before its parent is mirrored. */
	ldns_rr_list *child = sign_zone(&cs, "child.example.",
					"child.example. 3600 IN SOA ns.child.example. h.example. 1 "
					"1 1 100000 1\n"
					"child.example. 3600 IN NS ns.child.example.\n"
					"ns.child.example. 3600 IN A 192.0.2.99\n",
					NULL);
	assert_int_equal(
		ost_mirror_import_rrs(e.m, "child.example.", child, "xfr:test", T_NOW, &res),
		OST_EBOGUS);
	assert_int_equal(res.verdict, OST_ZV_DNSKEY_NOT_CHAINED);

	ldns_rr_list *parent = sign_zone(&ps, "example.", text, NULL);
	assert_int_equal(ost_mirror_import_rrs(e.m, "example.", parent, "xfr:test", T_NOW, &res),
			 0);
	assert_int_equal(res.verdict, OST_ZV_OK);
	assert_true(res.info.is_dnssec_checked);
	assert_int_equal(res.info.rrsig_horizon, T_NOW + 10 * 86400);

	/* Now the child chains through the parent's DS. */
	assert_int_equal(
		ost_mirror_import_rrs(e.m, "child.example.", child, "xfr:test", T_NOW, &res), 0);
	assert_true(res.info.is_dnssec_checked);

	/* A child re-keyed without a matching DS in the parent is refused. */
	struct ost_test_signer rogue;
	ost_test_signer_init(&rogue, "child.example.", T_NOW - 3600, T_NOW + 10 * 86400);
	ldns_rr_list *rchild = sign_zone(&rogue, "child.example.",
					 "child.example. 3600 IN SOA ns.child.example. h.example. "
					 "2 1 1 100000 1\n"
					 "child.example. 3600 IN NS ns.child.example.\n",
					 NULL);
	assert_int_equal(
		ost_mirror_import_rrs(e.m, "child.example.", rchild, "xfr:evil", T_NOW, &res),
		OST_EBOGUS);
	assert_int_equal(res.verdict, OST_ZV_DNSKEY_NOT_CHAINED);
	ldns_rr_list_deep_free(rchild);
	ost_test_signer_deinit(&rogue);

	/* Parent with the RRSIG over the child's DS removed: missing signature. */
	ldns_rr_list *p2 = ldns_rr_list_clone(parent);
	drop_rr(p2, "child.example.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_DS);
	assert_int_equal(ost_mirror_import_rrs(e.m, "example.", p2, "xfr:test", T_NOW, &res),
			 OST_EBOGUS);
	assert_int_equal(res.verdict, OST_ZV_MISSING_SIG);
	assert_non_null(strstr(res.reason, "child.example./DS"));
	ldns_rr_list_deep_free(p2);

	/* A second, corrupted RRSIG next to a valid one is still refused. */
	p2 = ldns_rr_list_clone(parent);
	ldns_rdf *www = ldns_dname_new_frm_str("www.example.");
	for (size_t i = 0, n = ldns_rr_list_rr_count(parent); i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(parent, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG ||
		    ldns_dname_compare(ldns_rr_owner(rr), www) != 0)
			continue;
		ldns_rr *bad = ldns_rr_clone(rr);
		ldns_rdf *sig = ldns_rr_rdf(bad, 8);
		ldns_rdf_data(sig)[5] ^= 0x40;
		ldns_rr_list_push_rr(p2, bad);
		break;
	}
	ldns_rdf_deep_free(www);
	assert_int_equal(ldns_rr_list_rr_count(p2), ldns_rr_list_rr_count(parent) + 1);
	assert_int_equal(ost_mirror_import_rrs(e.m, "example.", p2, "xfr:test", T_NOW, &res),
			 OST_EBOGUS);
	assert_int_equal(res.verdict, OST_ZV_BOGUS_SIG);
	assert_non_null(strstr(res.reason, "www.example./A"));
	ldns_rr_list_deep_free(p2);

	/* An unsigned authoritative record is refused; unsigned glue is not. */
	p2 = ldns_rr_list_clone(parent);
	push_str(p2, "extra.example. 3600 IN TXT \"unsigned\"");
	assert_int_equal(ost_mirror_import_rrs(e.m, "example.", p2, "xfr:test", T_NOW, &res),
			 OST_EBOGUS);
	assert_int_equal(res.verdict, OST_ZV_MISSING_SIG);
	assert_non_null(strstr(res.reason, "extra.example./TXT"));
	ldns_rr_list_deep_free(p2);
	p2 = ldns_rr_list_clone(parent);
	push_str(p2, "ns2.child.example. 3600 IN AAAA 2001:db8::99");
	push_str(p2, "deep.ns.child.example. 3600 IN TXT \"occluded\"");
	assert_int_equal(ost_mirror_import_rrs(e.m, "example.", p2, "xfr:test", T_NOW, &res), 0);
	ldns_rr_list_deep_free(p2);

	/* The mirror keeps answering the cut for the child. */
	struct ost_zone_rtxn *t;
	struct ost_zone_rrset_view v;
	ldns_rdf *q = ldns_dname_new_frm_str("a.b.child.example.");
	assert_int_equal(ost_zone_rtxn_begin(e.store, "example.", &t), 0);
	assert_int_equal(ost_zone_rtxn_find_cut(t, q, &v), 0);
	assert_int_equal(v.sig_count, 0); /* NS at a cut is not signed */
	ost_zone_rtxn_end(t);
	ldns_rdf_deep_free(q);

	struct ost_mirror_zone_status st;
	assert_int_equal(ost_mirror_zone_status(e.m, "child.example.", &st), 0);
	assert_true(st.is_usable);
	assert_int_equal(st.verify_total[OST_ZV_OK], 1);
	assert_int_equal(st.verify_total[OST_ZV_DNSKEY_NOT_CHAINED], 2);
	assert_int_equal(ost_mirror_zone_status(e.m, "example.", &st), 0);
	assert_int_equal(st.verify_total[OST_ZV_BOGUS_SIG], 1);
	assert_int_equal(ost_mirror_zone_count(e.m), 2);
	assert_int_equal(ost_mirror_zone_status_at(e.m, 0, &st), 0);
	assert_string_equal(st.name, "example.");
	assert_int_equal(st.meta.serial, 10);


	ldns_rr_list_deep_free(parent);
	ldns_rr_list_deep_free(child);
	ldns_rr_list_deep_free(panchor);
	env_close(&e);
	ost_test_signer_deinit(&ps);
	ost_test_signer_deinit(&cs);
}

/* RFC 4034 Appendix B key tag over DNSKEY RDATA. */
static uint16_t tag_of(const uint8_t *rd, size_t len)
{
	uint32_t ac = 0;
	for (size_t i = 0; i < len; i++)
		ac += (i & 1) ? rd[i] : (uint32_t)rd[i] << 8;
	ac += (ac >> 16) & 0xffff;
	return (uint16_t)(ac & 0xffff);
}

/* 100 forged zone keys whose tag equals @p tag (algorithm 13). */
static ldns_rr_list *colliding_keys(const char *owner, uint16_t tag, size_t n)
{
	ldns_rr_list *l = ldns_rr_list_new();
	uint32_t seed = 12345;
	for (size_t k = 0; k < n; k++) {
		uint8_t rd[68] = {0x01, 0x00, 3, 13};
		for (size_t i = 4; i < 66; i++) {
			seed = seed * 1103515245u + 12345u;
			rd[i] = (uint8_t)(seed >> 16);
		}
		uint32_t x;
		for (x = 0; x < 65536; x++) {
			rd[66] = (uint8_t)(x >> 8);
			rd[67] = (uint8_t)x;
			if (tag_of(rd, sizeof(rd)) == tag)
				break;
		}
		assert_true(x < 65536);
		char b64[128], line[512];
		assert_true(EVP_EncodeBlock((unsigned char *)b64, rd + 4, 64) > 0);
		snprintf(line, sizeof(line), "%s 3600 IN DNSKEY 256 3 13 %s", owner, b64);
		push_str(l, line);
		assert_int_equal(ldns_calc_keytag(ldns_rr_list_rr(l, k)), tag);
	}
	return l;
}

static void test_bounded_key_tries(void **state)
{
	(void)state;
	struct ost_test_signer s;
	struct ost_zone_verify_result res;
	struct ost_zone_data *z = NULL;
	struct fake_clock fc;
	ost_test_signer_init(&s, "example.", T_NOW - 3600, T_NOW + 10 * 86400);
	ldns_rr_list *fakes = colliding_keys("example.", s.zsk_tag, 100);
	ldns_rr_list *all = sign_zone(&s, "example.", parent_text, fakes);
	ldns_rr_list *anchors = ldns_rr_list_new();
	ldns_rr_list_push_rr(anchors, ldns_rr_clone(s.ksk_ds));
	fake_clock_init(&fc, T_NOW);
	struct ost_zone_verify_ctx ctx = {.clock = &fc.clock, .anchors = anchors};

	assert_int_equal(ost_zone_from_rrs("example.", all, NULL, &z, &res), 0);
	size_t nsigs = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(all); i++)
		nsigs += ldns_rr_get_type(ldns_rr_list_rr(all, i)) == LDNS_RR_TYPE_RRSIG;

	/* Default cap: at most 4 keys per RRSIG, whatever the verdict. */
	struct ost_zone_policy pol = {0};
	double t0 = now_seconds();
	int rc = ost_zone_verify(z, &ctx, &pol, &res);
	double dt = now_seconds() - t0;
	print_message("100 colliding keys, cap 4: %s, %llu tries for %zu RRSIGs, %.3f s\n",
		      ost_zone_verdict_str(res.verdict), (unsigned long long)res.info.sigs_checked,
		      nsigs, dt);
	assert_true(res.info.sigs_checked <= 4 * nsigs);
	/* Keys are tried in canonical order: the verdict depends only on where
	 * the real ZSK sorts among its 100 impostors. */
	size_t pos = 0;
	ldns_rr *zsk = ldns_rr_list_rr(s.dnskeys, 1);
	for (size_t i = 0; i < ldns_rr_list_rr_count(fakes); i++)
		pos += ldns_rr_compare(ldns_rr_list_rr(fakes, i), zsk) < 0;
	print_message("real ZSK sorts at position %zu of 101\n", pos);
	assert_int_equal(rc == 0, pos < 4);
	if (rc != 0)
		assert_int_equal(res.verdict, OST_ZV_BOGUS_SIG);

	/* A cap above the collision count finds the real key everywhere. */
	pol.max_key_tries = 200;
	assert_int_equal(ost_zone_verify(z, &ctx, &pol, &res), 0);
	assert_true(res.info.sigs_checked <= 101 * nsigs);
	assert_true(res.info.sigs_checked >= pos);

	ost_zone_data_free(z);
	ldns_rr_list_deep_free(all);
	ldns_rr_list_deep_free(fakes);
	ldns_rr_list_deep_free(anchors);
	ost_test_signer_deinit(&s);
}

const struct CMUnitTest signed_tests[] = {
	cmocka_unit_test(test_signed_delegations),
	cmocka_unit_test(test_bounded_key_tries),
};
const size_t signed_tests_count = sizeof(signed_tests) / sizeof(signed_tests[0]);
