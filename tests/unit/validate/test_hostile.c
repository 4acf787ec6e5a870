/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Hostile and broken input: garbage signatures, keys of the wrong length,
 * signatures moved to another owner or claiming another signer, 100 DNSKEYs
 * sharing one key tag and 100 RRSIGs over one RRset (KeyTrap: the work must
 * stop at the limits), and the DS -> DNSKEY step with unsupported digests or
 * algorithms, a wrong digest, a revoked anchored key and a missing DNSKEY
 * RRset. All algorithms of the issue (8, 10, 13, 14, 15, 16) are signed and
 * verified with keys generated here.
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

#define NOW 1700000000
#define INC (NOW - 86400)
#define EXP (NOW + 86400)

static ldns_rr_list *one(const char *text)
{
	ldns_rr_list *l = ldns_rr_list_new();

	ldns_rr_list_push_rr(l, rr_str(text));
	return l;
}

static ldns_rr_list *sign(struct signer *s, const ldns_rr_list *rrset)
{
	ldns_rr_list *sigs = ldns_sign_public((ldns_rr_list *)rrset, s->keys);

	assert_non_null(sigs);
	assert_int_equal(ldns_rr_list_rr_count(sigs), 1);
	return sigs;
}

static void test_all_algorithms(void **state)
{
	const int algs[] = {LDNS_SIGN_RSASHA256,       LDNS_SIGN_RSASHA512,
			    LDNS_SIGN_ECDSAP256SHA256, LDNS_SIGN_ECDSAP384SHA384,
			    LDNS_SIGN_ED25519,         LDNS_SIGN_ED448};

	(void)state;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		struct signer s;
		struct ost_val_ctx c;
		struct ost_val_verdict v;
		ldns_rr_list *set = one("www.example. 300 IN A 192.0.2.1");
		ldns_rr_list *sigs;
		ldns_rdf *z = dname("example.");

		signer_init(&s, "example.", algs[i], INC, EXP);
		sigs = sign(&s, set);
		ost_val_ctx_init(&c, NULL, NOW);
		if (ost_val_rrset(&c, set, sigs, z, s.dnskeys, &v) != OST_SEC_SECURE)
			fail_msg("algorithm %d: %s", algs[i], v.text);
		assert_true(ost_val_algorithm_supported((uint8_t)algs[i], NULL));
		/* garbage signature: last byte flipped */
		{
			ldns_rdf *sig = ldns_rr_rdf(ldns_rr_list_rr(sigs, 0), 8);

			ldns_rdf_data(sig)[ldns_rdf_size(sig) - 1] ^= 0x5a;
			assert_int_equal(ost_val_rrset(&c, set, sigs, z, s.dnskeys, &v),
					 OST_SEC_BOGUS);
			assert_int_equal(v.ede, OST_EDE_DNSSEC_BOGUS);
			assert_non_null(strstr(v.text, "does not verify"));
		}
		/* truncated signature */
		{
			ldns_rdf *sig = ldns_rr_rdf(ldns_rr_list_rr(sigs, 0), 8);

			ldns_rdf_set_size(sig, 3);
			assert_int_equal(ost_val_rrset(&c, set, sigs, z, s.dnskeys, &v),
					 OST_SEC_BOGUS);
		}
		ldns_rr_list_deep_free(sigs);
		ldns_rr_list_deep_free(set);
		ldns_rdf_deep_free(z);
		signer_deinit(&s);
	}
}

/* Keys of the wrong length for their algorithm, and a signature by "them". */
static void test_wrong_length_keys(void **state)
{
	const char *keys[] = {
		"example. 300 IN DNSKEY 257 3 13 AAECAwQFBgcICQ==",
		"example. 300 IN DNSKEY 257 3 8 AwEAAQ==",
		"example. 300 IN DNSKEY 257 3 8 AA==",
		"example. 300 IN DNSKEY 257 3 15 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",
		"example. 300 IN DNSKEY 257 3 16 AAECAwQFBgcICQ==",
		"example. 300 IN DNSKEY 257 3 14 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		ldns_rr_list *k = one(keys[i]);
		ldns_rr *key = ldns_rr_list_rr(k, 0);
		ldns_rr_list *set = one("www.example. 300 IN A 192.0.2.1");
		char sig[512];
		ldns_rr_list *sigs;
		struct ost_val_ctx c;
		struct ost_val_verdict v;
		ldns_rdf *z = dname("example.");

		snprintf(sig, sizeof(sig),
			 "www.example. 300 IN RRSIG A %u 2 300 20231215000000 20231101000000 %u "
			 "example. AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss"
			 "LS4vMDEyMzQ1Njc4OTo7PD0+Pw==",
			 ldns_rdf2native_int8(ldns_rr_rdf(key, 2)), ldns_calc_keytag(key));
		sigs = one(sig);
		ost_val_ctx_init(&c, NULL, NOW);
		assert_int_equal(ost_val_rrset(&c, set, sigs, z, k, &v), OST_SEC_BOGUS);
		/* a failed check is done twice (resolver/validate_sig.c), both counted */
		assert_int_equal(c.n_verify, 2);
		assert_int_equal(c.n_recheck, 1);
		assert_false(v.is_internal);
		ldns_rr_list_deep_free(k);
		ldns_rr_list_deep_free(set);
		ldns_rr_list_deep_free(sigs);
		ldns_rdf_deep_free(z);
	}
}

static void test_rrsig_fields(void **state)
{
	struct signer s;
	struct ost_val_ctx c;
	struct ost_val_verdict v;
	ldns_rr_list *set = one("www.example. 300 IN A 192.0.2.1");
	ldns_rr_list *other = one("ftp.example. 300 IN A 192.0.2.1");
	ldns_rr_list *sigs, *moved;
	ldns_rdf *z = dname("example."), *sub = dname("www.example.");
	ldns_rr *sig;

	(void)state;
	signer_init(&s, "example.", LDNS_SIGN_ECDSAP256SHA256, INC, EXP);
	sigs = sign(&s, set);
	ost_val_ctx_init(&c, NULL, NOW);
	assert_int_equal(ost_val_rrset(&c, set, sigs, z, s.dnskeys, &v), OST_SEC_SECURE);
	/* no RRSIG at all */
	assert_int_equal(ost_val_rrset(&c, set, NULL, z, s.dnskeys, &v), OST_SEC_BOGUS);
	assert_int_equal(v.ede, OST_EDE_RRSIGS_MISSING);
	assert_non_null(strstr(v.text, "zone example.: no RRSIG over www.example. A"));
	/* the signature moved to another owner: it is not "over" that RRset */
	moved = ldns_rr_list_clone(sigs);
	sig = ldns_rr_list_rr(moved, 0);
	ldns_rdf_deep_free(ldns_rr_owner(sig));
	ldns_rr_set_owner(sig, dname("ftp.example."));
	assert_int_equal(ost_val_rrset(&c, other, moved, z, s.dnskeys, &v), OST_SEC_BOGUS);
	assert_int_equal(v.ede, OST_EDE_DNSSEC_BOGUS);
	ldns_rr_list_deep_free(moved);
	/* another zone's signer (RFC 4035 §5.3.1) */
	assert_int_equal(ost_val_rrset(&c, set, sigs, sub, s.dnskeys, &v), OST_SEC_BOGUS);
	/* no key with the tag */
	{
		ldns_rr_list *none = ldns_rr_list_new();

		assert_int_equal(ost_val_rrset(&c, set, sigs, z, none, &v), OST_SEC_BOGUS);
		assert_int_equal(v.ede, OST_EDE_DNSKEY_MISSING);
		ldns_rr_list_free(none);
	}
	/* labels above the owner's */
	sig = ldns_rr_list_rr(sigs, 0);
	ldns_rdf_deep_free(ldns_rr_set_rdf(sig, ldns_native2rdf_int8(LDNS_RDF_TYPE_INT8, 3), 2));
	assert_int_equal(ost_val_rrset(&c, set, sigs, z, s.dnskeys, &v), OST_SEC_BOGUS);
	assert_non_null(strstr(v.text, "signer/labels"));
	ldns_rdf_deep_free(ldns_rr_set_rdf(sig, ldns_native2rdf_int8(LDNS_RDF_TYPE_INT8, 2), 2));
	/* expiration before inception: EDE 25 */
	ldns_rdf_deep_free(
		ldns_rr_set_rdf(sig, ldns_native2rdf_int32(LDNS_RDF_TYPE_TIME, INC - 10), 4));
	assert_int_equal(ost_val_rrset(&c, set, sigs, z, s.dnskeys, &v), OST_SEC_BOGUS);
	assert_int_equal(v.ede, OST_EDE_SIG_EXPIRED_BEFORE_VALID);
	/* a non-zone key (flags 0) never counts */
	{
		ldns_rr *k = ldns_rr_list_rr(s.dnskeys, 0);

		ldns_rdf_deep_free(
			ldns_rr_set_rdf(k, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 0), 0));
		ldns_rdf_deep_free(
			ldns_rr_set_rdf(sig, ldns_native2rdf_int32(LDNS_RDF_TYPE_TIME, EXP), 4));
		assert_int_equal(ost_val_rrset(&c, set, sigs, z, s.dnskeys, &v), OST_SEC_BOGUS);
	}
	ldns_rr_list_deep_free(sigs);
	ldns_rr_list_deep_free(set);
	ldns_rr_list_deep_free(other);
	ldns_rdf_deep_free(z);
	ldns_rdf_deep_free(sub);
	signer_deinit(&s);
}

/* KeyTrap: 100 keys with the tag of the real one; the real one last. */
static void test_keytrap(void **state)
{
	struct signer s;
	struct ost_val_ctx c;
	struct ost_val_verdict v;
	ldns_rr_list *set = one("www.example. 300 IN A 192.0.2.1");
	ldns_rr_list *sigs, *keys = ldns_rr_list_new(), *many_sigs = ldns_rr_list_new();
	ldns_rdf *z = dname("example.");
	ldns_rr *real;
	uint16_t tag;
	unsigned made = 0;

	(void)state;
	signer_init(&s, "example.", LDNS_SIGN_ECDSAP256SHA256, INC, EXP);
	sigs = sign(&s, set);
	real = ldns_rr_list_rr(s.dnskeys, 0);
	tag = ldns_calc_keytag(real);
	/* Swapping two key bytes at the same parity keeps the 16-bit sum
	 * (the key tag, RFC 4034 App. B) and makes another key. */
	for (unsigned i = 0; made < 100 && i < 62; i += 2) {
		for (unsigned j = i + 2; made < 100 && j < 64; j += 2) {
			ldns_rr *k = ldns_rr_clone(real);
			uint8_t *d = ldns_rdf_data(ldns_rr_rdf(k, 3)), t = d[i];

			if (d[i] == d[j]) {
				ldns_rr_free(k);
				continue;
			}
			d[i] = d[j];
			d[j] = t;
			assert_int_equal(ldns_calc_keytag(k), tag);
			ldns_rr_list_push_rr(keys, k);
			made++;
		}
	}
	assert_int_equal(made, 100);
	ldns_rr_list_push_rr(keys, ldns_rr_clone(real));

	ost_val_ctx_init(&c, NULL, NOW);
	assert_int_equal(ost_val_rrset(&c, set, sigs, z, keys, &v), OST_SEC_BOGUS);
	/* each colliding key tried is checked twice (resolver/validate_sig.c) */
	assert_int_equal(c.n_verify, 2 * c.lim.max_keys_per_sig);
	assert_int_equal(c.n_recheck, c.lim.max_keys_per_sig);
	/* the same attack repeated: the request's budget ends it */
	for (int i = 0; i < 100; i++)
		(void)ost_val_rrset(&c, set, sigs, z, keys, &v);
	assert_true(c.n_verify <= c.lim.max_verify);
	assert_true(c.over_budget);
	assert_non_null(strstr(v.text, "work limit"));

	/* 100 RRSIGs over one RRset: at most max_sigs_per_rrset are tried */
	for (int i = 0; i < 100; i++) {
		ldns_rr *bad = ldns_rr_clone(ldns_rr_list_rr(sigs, 0));

		ldns_rdf_data(ldns_rr_rdf(bad, 8))[i % 64] ^= 0xff;
		ldns_rr_list_push_rr(many_sigs, bad);
	}
	ost_val_ctx_init(&c, NULL, NOW);
	assert_int_equal(ost_val_rrset(&c, set, many_sigs, z, s.dnskeys, &v), OST_SEC_BOGUS);
	/* (each failed one checked twice, resolver/validate_sig.c) */
	assert_true(c.n_verify <= 2 * c.lim.max_sigs_per_rrset);
	assert_true(c.n_recheck <= c.lim.max_sigs_per_rrset);
	ldns_rr_list_deep_free(many_sigs);
	ldns_rr_list_deep_free(keys);
	ldns_rr_list_deep_free(sigs);
	ldns_rr_list_deep_free(set);
	ldns_rdf_deep_free(z);
	signer_deinit(&s);
}

static ldns_rr *ds_of(const ldns_rr *key, ldns_hash h)
{
	ldns_rr *ds = ldns_key_rr2ds(key, h);

	assert_non_null(ds);
	return ds;
}

static void test_dnskey_via_ds(void **state)
{
	struct signer s;
	struct ost_val_ctx c;
	struct ost_val_verdict v;
	ldns_rdf *z = dname("example.");
	ldns_rr_list *sigs, *ds = ldns_rr_list_new();
	ldns_rr *key, *d;

	(void)state;
	signer_init(&s, "example.", LDNS_SIGN_ECDSAP256SHA256, INC, EXP);
	key = ldns_rr_list_rr(s.dnskeys, 0);
	sigs = sign(&s, s.dnskeys);
	ost_val_ctx_init(&c, NULL, NOW);

	/* SHA-256 and SHA-384 DS */
	ldns_rr_list_push_rr(ds, ds_of(key, LDNS_SHA256));
	assert_int_equal(ost_val_dnskey(&c, z, s.dnskeys, sigs, ds, NULL, &v), OST_SEC_SECURE);
	ldns_rr_list_deep_free(ds);
	ds = ldns_rr_list_new();
	ldns_rr_list_push_rr(ds, ds_of(key, LDNS_SHA384));
	assert_int_equal(ost_val_dnskey(&c, z, s.dnskeys, sigs, ds, NULL, &v), OST_SEC_SECURE);
	/* the RRSIG over the DNSKEY RRset missing */
	assert_int_equal(ost_val_dnskey(&c, z, s.dnskeys, NULL, ds, NULL, &v), OST_SEC_BOGUS);
	assert_int_equal(v.ede, OST_EDE_RRSIGS_MISSING);
	/* no DNSKEY RRset */
	{
		ldns_rr_list *none = ldns_rr_list_new();

		assert_int_equal(ost_val_dnskey(&c, z, none, sigs, ds, NULL, &v), OST_SEC_BOGUS);
		assert_int_equal(v.ede, OST_EDE_DNSKEY_MISSING);
		ldns_rr_list_free(none);
	}
	/* wrong digest: no key matches */
	d = ldns_rr_list_rr(ds, 0);
	ldns_rdf_data(ldns_rr_rdf(d, 3))[5] ^= 1;
	assert_int_equal(ost_val_dnskey(&c, z, s.dnskeys, sigs, ds, NULL, &v), OST_SEC_BOGUS);
	assert_int_equal(v.ede, OST_EDE_DNSKEY_MISSING);
	assert_non_null(strstr(v.text, "zone example.:"));
	/* a good SHA-1 DS does not rescue a bad SHA-256 one (RFC 4509 §3) */
	ldns_rr_list_deep_free(ds);
	ds = ldns_rr_list_new();
	d = ds_of(key, LDNS_SHA256);
	ldns_rdf_data(ldns_rr_rdf(d, 3))[5] ^= 1;
	ldns_rr_list_push_rr(ds, d);
	ldns_rr_list_push_rr(ds, ds_of(key, LDNS_SHA1));
	assert_int_equal(ost_val_dnskey(&c, z, s.dnskeys, sigs, ds, NULL, &v), OST_SEC_BOGUS);
	/* only an unsupported digest (GOST, 3): insecure with EDE 2 */
	ldns_rr_list_deep_free(ds);
	ds = one("example. 300 IN DS 1234 13 3 "
		 "0000000000000000000000000000000000000000000000000000000000000000");
	assert_int_equal(ost_val_dnskey(&c, z, s.dnskeys, sigs, ds, NULL, &v), OST_SEC_INSECURE);
	assert_int_equal(v.ede, OST_EDE_UNSUPPORTED_DS_DIGEST);
	/* only an unsupported algorithm (DSA, 3): insecure with EDE 1 */
	ldns_rr_list_deep_free(ds);
	ds = one("example. 300 IN DS 2854 3 1 46e4ffc6e9a4793b488954bd3f0cc6af0dfb201b");
	assert_int_equal(ost_val_dnskey(&c, z, s.dnskeys, sigs, ds, NULL, &v), OST_SEC_INSECURE);
	assert_int_equal(v.ede, OST_EDE_UNSUPPORTED_DNSKEY_ALG);
	/* DNSKEY anchor */
	assert_int_equal(ost_val_dnskey(&c, z, s.dnskeys, sigs, NULL, s.dnskeys, &v),
			 OST_SEC_SECURE);
	ldns_rr_list_deep_free(ds);
	ldns_rr_list_deep_free(sigs);
	ldns_rdf_deep_free(z);
	signer_deinit(&s);
}

/* The zone publishes the anchored key with REVOKE (RFC 5011) */
static void test_revoked_anchor(void **state)
{
	struct signer s;
	struct ost_ta_store *store;
	const struct ost_ta *ta;
	struct ost_val_ctx c;
	struct ost_val_verdict v;
	ldns_rdf *z = dname("example.");
	ldns_rr_list *sigs;
	ldns_rr *key, *unrevoked, *ds;

	(void)state;
	signer_init(&s, "example.", LDNS_SIGN_ECDSAP256SHA256, INC, EXP);
	key = ldns_rr_list_rr(s.dnskeys, 0);
	unrevoked = ldns_rr_clone(key);
	ds = ds_of(unrevoked, LDNS_SHA256);
	/* revoke: flags 257 | 0x80, re-sign with the revoked key's tag */
	ldns_rdf_deep_free(
		ldns_rr_set_rdf(key, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 257 | 0x80), 0));
	ldns_key_set_flags(ldns_key_list_key(s.keys, 0), 257 | 0x80);
	ldns_key_set_keytag(ldns_key_list_key(s.keys, 0), ldns_calc_keytag(key));
	sigs = sign(&s, s.dnskeys);
	assert_int_equal(ost_ta_store_new(&store), 0);
	assert_int_equal(ost_ta_add_rr(store, ds), 0);
	assert_int_equal(ost_ta_lookup(store, z, NOW, &ta), OST_TA_ANCHOR);
	ost_val_ctx_init(&c, NULL, NOW);
	assert_int_equal(ost_val_dnskey_anchor(&c, ta, s.dnskeys, sigs, &v), OST_SEC_BOGUS);
	assert_int_equal(v.ede, OST_EDE_DNSKEY_MISSING);
	assert_non_null(strstr(v.text, "revoked"));
	/* anchor given as the DNSKEY itself: revoked in the zone too */
	{
		ldns_rr_list *anchor = ldns_rr_list_new();

		ldns_rr_list_push_rr(anchor, unrevoked);
		assert_int_equal(ost_val_dnskey(&c, z, s.dnskeys, sigs, NULL, anchor, &v),
				 OST_SEC_BOGUS);
		assert_non_null(strstr(v.text, "revoked"));
		ldns_rr_list_free(anchor);
	}
	ost_ta_store_free(store);
	ldns_rr_free(unrevoked);
	ldns_rr_free(ds);
	ldns_rr_list_deep_free(sigs);
	ldns_rdf_deep_free(z);
	signer_deinit(&s);
}

int run_hostile_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_algorithms), cmocka_unit_test(test_wrong_length_keys),
		cmocka_unit_test(test_rrsig_fields),   cmocka_unit_test(test_keytrap),
		cmocka_unit_test(test_dnskey_via_ds),  cmocka_unit_test(test_revoked_anchor),
	};

	return cmocka_run_group_tests_name("hostile", tests, NULL, NULL);
}
