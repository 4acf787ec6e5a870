/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Published data at its pinned time (testdata/SOURCES.md): the RFC DNSSEC
 * examples (algorithms 5, 8, 10, 13, 14, 15; DS digests 1, 2, 4), the real
 * root excerpt of 2025-10-05 with the IANA anchors, and a sample of the
 * re-signed 2021 root zone with its test anchor. Every signed RRset must be
 * secure at the pinned time, bogus with EDE 7 one second after its earliest
 * RRSIG expires and with EDE 8 one second before its latest inception.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ostrov/validator.h"

#include "test_validate.h"

/* State of check_rrset(): the zone's keys and the pinned time. */
struct check {
	const ldns_rdf *zone;
	const ldns_rr_list *keys;
	int64_t now;
	size_t n;
};

static void check_rrset(const ldns_rr_list *rrset, const ldns_rr_list *sigs, void *arg)
{
	struct check *ck = arg;
	struct ost_val_ctx c;
	struct ost_val_verdict v;
	int64_t exp, inc;
	uint8_t sec;

	sig_window(sigs, &exp, &inc);
	ost_val_ctx_init(&c, NULL, ck->now);
	sec = ost_val_rrset(&c, rrset, sigs, ck->zone, ck->keys, &v);
	if (sec != OST_SEC_SECURE)
		fail_msg("not secure at %lld: %s", (long long)ck->now, v.text);
	/* At the second of expiration it is still valid (RFC 4035 §5.3.1). */
	if (ldns_rr_list_rr_count(sigs) == 1) {
		ost_val_ctx_init(&c, NULL, exp);
		assert_int_equal(ost_val_rrset(&c, rrset, sigs, ck->zone, ck->keys, &v),
				 OST_SEC_SECURE);
		ost_val_ctx_init(&c, NULL, inc);
		assert_int_equal(ost_val_rrset(&c, rrset, sigs, ck->zone, ck->keys, &v),
				 OST_SEC_SECURE);
	}
	ost_val_ctx_init(&c, NULL, exp + 1);
	if (ldns_rr_list_rr_count(sigs) == 1 || exp == inc) {
		assert_int_equal(ost_val_rrset(&c, rrset, sigs, ck->zone, ck->keys, &v),
				 OST_SEC_BOGUS);
		assert_int_equal(v.ede, OST_EDE_SIG_EXPIRED);
		assert_non_null(strstr(v.text, "expired"));
		ost_val_ctx_init(&c, NULL, inc - 1);
		assert_int_equal(ost_val_rrset(&c, rrset, sigs, ck->zone, ck->keys, &v),
				 OST_SEC_BOGUS);
		assert_int_equal(v.ede, OST_EDE_SIG_NOT_YET_VALID);
	}
	ck->n++;
}

/* Verify every signed RRset of a vector file with the file's own DNSKEYs,
 * and every DS of the file against its DNSKEY. @return RRsets checked */
static size_t check_vector(const char *rel, const char *zone, int64_t now, uint8_t alg)
{
	ldns_rr_list *rrs = load_rrs(tdata(rel));
	ldns_rr_list *keys = of_type(rrs, LDNS_RR_TYPE_DNSKEY);
	ldns_rr_list *ds = of_type(rrs, LDNS_RR_TYPE_DS);
	ldns_rdf *z = dname(zone);
	struct check ck = {z, keys, now, 0};
	size_t n;

	assert_true(ldns_rr_list_rr_count(keys) > 0);
	assert_int_equal(ldns_rdf2native_int8(ldns_rr_rdf(ldns_rr_list_rr(keys, 0), 2)), alg);
	assert_true(ost_val_algorithm_supported(alg, NULL));
	n = for_each_signed(rrs, check_rrset, &ck);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ds); i++) {
		ldns_rr *d = ldns_rr_list_rr(ds, i);
		bool found = false;

		for (size_t k = 0; k < ldns_rr_list_rr_count(keys); k++)
			found |= ost_val_ds_match(d, ldns_rr_list_rr(keys, k));
		assert_true(found);
		/* one bit of the digest changed: no match */
		{
			ldns_rr *bad = ldns_rr_clone(d);
			ldns_rdf *dig = ldns_rr_rdf(bad, 3);

			ldns_rdf_data(dig)[0] ^= 1;
			for (size_t k = 0; k < ldns_rr_list_rr_count(keys); k++)
				assert_false(ost_val_ds_match(bad, ldns_rr_list_rr(keys, k)));
			ldns_rr_free(bad);
		}
	}
	ldns_rr_list_free(keys);
	ldns_rr_list_free(ds);
	ldns_rdf_deep_free(z);
	ldns_rr_list_deep_free(rrs);
	return n;
}

static void test_rfc4034_ds(void **state)
{
	(void)state;
	assert_int_equal(check_vector("vectors/rfc4034-sec5.4-ds.zone", "example.com.", 0, 5), 0);
}

static void test_rfc4035_soa(void **state)
{
	(void)state;
	assert_int_equal(check_vector("vectors/rfc4035-appA-soa-excerpt.zone", "example.",
				      1082419200 /* 2004-04-20 */, 5),
			 1);
}

static void test_rfc5702(void **state)
{
	(void)state;
	assert_int_equal(check_vector("vectors/rfc5702-sec6.1-rsasha256.zone", "example.net.",
				      1700000000, 8),
			 1);
	assert_int_equal(check_vector("vectors/rfc5702-sec6.2-rsasha512.zone", "example.net.",
				      1700000000, 10),
			 1);
}

static void test_rfc6605(void **state)
{
	(void)state;
	assert_int_equal(check_vector("vectors/rfc6605-sec6.1-ecdsap256.zone", "example.net.",
				      1282262400 /* 2010-08-20 */, 13),
			 1);
	assert_int_equal(check_vector("vectors/rfc6605-sec6.2-ecdsap384.zone", "example.net.",
				      1282262400, 14),
			 1);
}

static void test_rfc8080(void **state)
{
	(void)state;
	assert_int_equal(check_vector("vectors/rfc8080-sec6-ed25519-errata4935-ex1.zone",
				      "example.com.", 1438387200 /* 2015-08-01 */, 15),
			 1);
	assert_int_equal(check_vector("vectors/rfc8080-sec6-ed25519-errata4935-ex2.zone",
				      "example.com.", 1438387200, 15),
			 1);
}

/* Validate the apex DNSKEY RRset of @p rrs from the anchors in @p ta_file. */
static ldns_rr_list *anchored_keys(const ldns_rr_list *rrs, const char *ta_file, int64_t now)
{
	struct ost_ta_store *s;
	const struct ost_ta *ta;
	char err[256];
	ldns_rdf *root = dname(".");
	ldns_rr_list *keys = of_type(rrs, LDNS_RR_TYPE_DNSKEY);
	struct ost_val_ctx c;
	struct ost_val_verdict v;
	int64_t exp, inc;
	ldns_rr_list *sigs = ost_val_sigs_for(rrs, root, LDNS_RR_TYPE_DNSKEY);

	assert_int_equal(ost_ta_store_new(&s), 0);
	assert_int_equal(ost_ta_load_file(s, ta_file, err, sizeof(err)), 0);
	assert_int_equal(ost_ta_lookup(s, root, now, &ta), OST_TA_ANCHOR);
	ost_val_ctx_init(&c, NULL, now);
	if (ost_val_dnskey_anchor(&c, ta, keys, rrs, &v) != OST_SEC_SECURE)
		fail_msg("DNSKEY not secure: %s", v.text);
	sig_window(sigs, &exp, &inc);
	ost_val_ctx_init(&c, NULL, exp + 1);
	assert_int_equal(ost_val_dnskey_anchor(&c, ta, keys, rrs, &v), OST_SEC_BOGUS);
	assert_int_equal(v.ede, OST_EDE_SIG_EXPIRED);
	assert_non_null(strstr(v.text, "zone .:"));
	ldns_rr_list_free(sigs);
	ldns_rdf_deep_free(root);
	ost_ta_store_free(s);
	return keys;
}

static void test_real_root_excerpt(void **state)
{
	const int64_t now = 1760054400; /* 2025-10-10T00:00:00Z */
	ldns_rr_list *rrs = load_rrs(tdata("real/root-2025100501-apex-excerpt.zone"));
	ldns_rr_list *keys = anchored_keys(rrs, tdata("real/root.ds"), now);
	ldns_rdf *root = dname(".");
	struct check ck = {root, keys, now, 0};

	(void)state;
	assert_int_equal(ldns_rr_list_rr_count(keys), 4);
	/* SOA, NS, NSEC, DNSKEY, ZONEMD, aaa. DS/NSEC, aarp. DS/NSEC: the 9 RRSIGs */
	assert_int_equal(for_each_signed(rrs, check_rrset, &ck), 9);
	ldns_rr_list_free(keys);
	ldns_rdf_deep_free(root);
	ldns_rr_list_deep_free(rrs);
}

/* A sample of the 2021 root: apex RRsets, 20 DS and 20 NSEC RRsets. */
struct sample {
	struct check ck;
	unsigned n_ds, n_nsec, n_apex;
};

static void sample_rrset(const ldns_rr_list *rrset, const ldns_rr_list *sigs, void *arg)
{
	struct sample *s = arg;
	ldns_rr *first = ldns_rr_list_rr(rrset, 0);
	uint16_t t = ldns_rr_get_type(first);

	if (ldns_dname_label_count(ldns_rr_owner(first)) == 0) {
		s->n_apex++;
	} else if (t == LDNS_RR_TYPE_DS && s->n_ds < 20) {
		s->n_ds++;
	} else if (t == LDNS_RR_TYPE_NSEC && s->n_nsec < 20) {
		s->n_nsec++;
	} else {
		return;
	}
	check_rrset(rrset, sigs, &s->ck);
}

static ldns_rr_list *root2021;

static void test_root_2021(void **state)
{
	const int64_t now = 1612137600; /* 2021-02-01T00:00:00Z */
	ldns_rr_list *head = ldns_rr_list_new();
	ldns_rr_list *keys;
	ldns_rdf *root = dname(".");
	struct sample s = {{root, NULL, now, 0}, 0, 0, 0};

	(void)state;
	root2021 = load_rrs(tdata("zonemd/44-root-zone/root.zone.hashed"));
	assert_true(ldns_rr_list_rr_count(root2021) > 20000);
	/* Anchor: both test keys' DS records. */
	keys = anchored_keys(root2021, tdata("zonemd/44-root-zone/Keys/K.+008+21544.ds"), now);
	s.ck.keys = keys;
	/* Walk only the first records (apex + the first TLDs) to keep it short. */
	for (size_t i = 0; i < ldns_rr_list_rr_count(root2021) && i < 3000; i++)
		ldns_rr_list_push_rr(head, ldns_rr_list_rr(root2021, i));
	for_each_signed(head, sample_rrset, &s);
	assert_int_equal(s.n_ds, 20);
	assert_int_equal(s.n_nsec, 20);
	assert_true(s.n_apex >= 4); /* SOA, NS, DNSKEY, NSEC, ZONEMD */
	ldns_rr_list_free(head);
	ldns_rr_list_free(keys);
	ldns_rdf_deep_free(root);
}

/* Real NSEC proofs from the 2021 root: a made-up TLD is NXDOMAIN; a TLD
 * without DS is an unsigned delegation; com. has DS so no-DS is bogus. */
static void test_root_2021_denial(void **state)
{
	const int64_t now = 1612137600;
	ldns_rdf *root = dname(".");
	ldns_rr_list *keys = of_type(root2021, LDNS_RR_TYPE_DNSKEY);
	ldns_rr_list *nsecs = ldns_rr_list_new();
	struct ost_val_ctx c;
	struct ost_val_verdict v;
	ldns_rdf *q = dname("no-such-tld-ostrov.");
	ldns_rdf *com = dname("com.");
	const ldns_rdf *unsigned_tld = NULL;

	(void)state;
	assert_non_null(root2021);
	ost_val_ctx_init(&c, NULL, now);
	c.lim.max_verify = 100000; /* every NSEC of the zone, below */
	/* every NSEC that verifies; also note a delegation without DS */
	for (size_t i = 0; i < ldns_rr_list_rr_count(root2021); i++) {
		ldns_rr *rr = ldns_rr_list_rr(root2021, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC)
			continue;
		if (!unsigned_tld && ldns_dname_label_count(ldns_rr_owner(rr)) == 1 &&
		    !ost_nsec_has_type(rr, LDNS_RR_TYPE_DS))
			unsigned_tld = ldns_rr_owner(rr);
		ldns_rr_list_push_rr(nsecs, rr);
	}
	assert_true(ldns_rr_list_rr_count(nsecs) > 1000);
	assert_non_null(unsigned_tld);
	assert_int_equal(
		ost_val_denial(&c, OST_DENY_NXDOMAIN, q, LDNS_RR_TYPE_A, root, nsecs, 0, &v),
		OST_SEC_SECURE);
	assert_int_equal(ost_val_denial(&c, OST_DENY_NO_DS, unsigned_tld, LDNS_RR_TYPE_DS, root,
					nsecs, 0, &v),
			 OST_SEC_INSECURE);
	assert_int_equal(
		ost_val_denial(&c, OST_DENY_NO_DS, com, LDNS_RR_TYPE_DS, root, nsecs, 0, &v),
		OST_SEC_BOGUS);
	assert_int_equal(
		ost_val_denial(&c, OST_DENY_NXDOMAIN, com, LDNS_RR_TYPE_A, root, nsecs, 0, &v),
		OST_SEC_BOGUS);
	assert_int_equal(v.ede, OST_EDE_DNSSEC_BOGUS);
	/* the NSEC RRsets covering q verify too */
	{
		ldns_rr_list *all = validated_nsecs(&c, root2021, root, keys);

		assert_int_equal(ldns_rr_list_rr_count(all), ldns_rr_list_rr_count(nsecs));
		ldns_rr_list_free(all);
	}
	ldns_rr_list_free(nsecs);
	ldns_rr_list_free(keys);
	ldns_rdf_deep_free(q);
	ldns_rdf_deep_free(com);
	ldns_rdf_deep_free(root);
	ldns_rr_list_deep_free(root2021);
	root2021 = NULL;
}

int run_vector_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4034_ds), cmocka_unit_test(test_rfc4035_soa),
		cmocka_unit_test(test_rfc5702),    cmocka_unit_test(test_rfc6605),
		cmocka_unit_test(test_rfc8080),    cmocka_unit_test(test_real_root_excerpt),
		cmocka_unit_test(test_root_2021),  cmocka_unit_test(test_root_2021_denial),
	};

	return cmocka_run_group_tests_name("vectors", tests, NULL, NULL);
}
