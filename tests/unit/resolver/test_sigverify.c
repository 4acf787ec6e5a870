/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the shared RRSIG primitive (common/sigverify.c): every
 * algorithm the validator converts (5, 7, 8, 10, 13, 14, 15, 16) verifies a
 * published vector or a signature made here with ldns, a flipped byte of the
 * data or the signature fails, a wrong key fails, the validity window follows
 * the pinned time (testdata/SOURCES.md), and the per-thread key cache hits,
 * stays bounded and never confuses two keys with the same key tag.
 * ost_sigverify_shared() answers as ost_sigverify() everywhere, and is right
 * on one key used by four threads at once.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "ostrov/sigverify.h"

#ifndef OST_TESTDATA
#define OST_TESTDATA "/work/shared/testdata"
#endif

/* Pinned times of the vectors (testdata/SOURCES.md). */
#define T_2004 1082419200 /* 2004-04-20T00:00:00Z */
#define T_2010 1282262400 /* 2010-08-20T00:00:00Z */
#define T_2015 1438387200 /* 2015-08-01T00:00:00Z */
#define T_2020 1577836800 /* 2020-01-01T00:00:00Z */
#define T_2025 1760054400 /* 2025-10-10T00:00:00Z */

static ldns_rr_list *load(const char *rel)
{
	char path[512];
	ldns_zone *z = NULL;
	FILE *f;
	ldns_rr_list *all;

	snprintf(path, sizeof(path), "%s/%s", OST_TESTDATA, rel);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	if (ldns_zone_new_frm_fp(&z, f, NULL, 3600, LDNS_RR_CLASS_IN) != LDNS_STATUS_OK)
		fail_msg("cannot parse %s", path);
	fclose(f);
	all = ldns_rr_list_clone(ldns_zone_rrs(z));
	if (ldns_zone_soa(z))
		ldns_rr_list_push_rr(all, ldns_rr_clone(ldns_zone_soa(z)));
	ldns_zone_deep_free(z);
	return all;
}

/* The RRset (owner, type) of @p rrs (borrowed RRs). */
static ldns_rr_list *rrset_of(const ldns_rr_list *rrs, const ldns_rdf *owner, uint16_t type)
{
	ldns_rr_list *out = ldns_rr_list_new();

	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_get_type(rr) == type &&
		    ldns_dname_compare(ldns_rr_owner(rr), owner) == 0)
			ldns_rr_list_push_rr(out, rr);
	}
	return out;
}

/* The DNSKEY of @p rrs with key tag @p tag, or NULL. */
static const ldns_rr *key_by_tag(const ldns_rr_list *rrs, uint16_t tag)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNSKEY && ldns_calc_keytag(rr) == tag)
			return rr;
	}
	return NULL;
}

struct bufs {
	ldns_buffer *data, *scratch, *sig;
};

static void bufs_init(struct bufs *b)
{
	b->data = ldns_buffer_new(512);
	b->scratch = ldns_buffer_new(512);
	b->sig = ldns_buffer_new(64);
	assert_non_null(b->data);
	assert_non_null(b->scratch);
	assert_non_null(b->sig);
}

static void bufs_deinit(struct bufs *b)
{
	ldns_buffer_free(b->data);
	ldns_buffer_free(b->scratch);
	ldns_buffer_free(b->sig);
}

/* Verify one RRSIG over its RRset with @p key; 0 or OST_EBOGUS. */
static int verify_one(struct bufs *b, const ldns_rr_list *rrset, const ldns_rr *sig,
		      const struct ost_sigkey *key)
{
	const ldns_rdf *s = ldns_rr_rdf(sig, 8);

	assert_int_equal(ost_sig_signed_data(b->data, b->scratch, rrset, sig), 0);
	int rc = ost_sigverify(key, ldns_rdf_data(s), ldns_rdf_size(s), b->data, b->sig);
	/* the thread-safe entry point gives the same answer */
	assert_int_equal(
		ost_sigverify_shared(key, ldns_rdf_data(s), ldns_rdf_size(s), b->data, b->sig), rc);
	return rc;
}

/* Every RRSIG of @p rrs: good at @p now with its key, bad with a flipped byte
 * of the data or of the signature, bad with @p wrong (if given), and the
 * window edges. @return RRSIGs checked */
static size_t check_all(const ldns_rr_list *rrs, int64_t now, uint8_t alg, const ldns_rr *wrong)
{
	struct bufs b;
	size_t n = 0;

	bufs_init(&b);
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		const ldns_rr *sig = ldns_rr_list_rr(rrs, i);
		struct ost_sigkey key, bad;
		ldns_rr_list *set;
		const ldns_rr *dk;
		uint32_t exp, inc;

		if (ldns_rr_get_type(sig) != LDNS_RR_TYPE_RRSIG)
			continue;
		assert_int_equal(ldns_rdf2native_int8(ldns_rr_rrsig_algorithm(sig)), alg);
		set = rrset_of(rrs, ldns_rr_owner(sig),
			       ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig)));
		assert_true(ldns_rr_list_rr_count(set) > 0);
		dk = key_by_tag(rrs, ldns_rdf2native_int16(ldns_rr_rrsig_keytag(sig)));
		assert_non_null(dk);
		assert_int_equal(ost_sigkey_from_dnskey(&key, dk), 0);
		assert_int_equal(key.alg, alg);

		assert_int_equal(verify_one(&b, set, sig, &key), 0);

		/* one flipped bit of the signed data (the last RDATA byte) */
		ldns_buffer_write_u8_at(
			b.data, ldns_buffer_position(b.data) - 1,
			ldns_buffer_read_u8_at(b.data, ldns_buffer_position(b.data) - 1) ^ 0x01);
		{
			const ldns_rdf *s = ldns_rr_rdf(sig, 8);
			assert_int_equal(ost_sigverify(&key, ldns_rdf_data(s), ldns_rdf_size(s),
						       b.data, b.sig),
					 OST_EBOGUS);
			assert_int_equal(ost_sigverify_shared(&key, ldns_rdf_data(s),
							      ldns_rdf_size(s), b.data, b.sig),
					 OST_EBOGUS);
		}
		/* one flipped byte of the signature */
		{
			const ldns_rdf *s = ldns_rr_rdf(sig, 8);
			uint8_t *copy = malloc(ldns_rdf_size(s));
			assert_non_null(copy);
			memcpy(copy, ldns_rdf_data(s), ldns_rdf_size(s));
			copy[ldns_rdf_size(s) / 2] ^= 0x40;
			assert_int_equal(ost_sig_signed_data(b.data, b.scratch, set, sig), 0);
			assert_int_equal(ost_sigverify(&key, copy, ldns_rdf_size(s), b.data, b.sig),
					 OST_EBOGUS);
			assert_int_equal(
				ost_sigverify_shared(&key, copy, ldns_rdf_size(s), b.data, b.sig),
				OST_EBOGUS);
			free(copy);
		}
		if (wrong) {
			assert_int_equal(ost_sigkey_from_dnskey(&bad, wrong), 0);
			assert_int_equal(verify_one(&b, set, sig, &bad), OST_EBOGUS);
			ost_sigkey_deinit(&bad);
		}

		/* RFC 4035 §5.3.1: valid from inception to expiration inclusive */
		exp = ldns_rdf2native_int32(ldns_rr_rrsig_expiration(sig));
		inc = ldns_rdf2native_int32(ldns_rr_rrsig_inception(sig));
		assert_int_equal(ost_sig_window(exp, inc, now), OST_SIG_TIME_OK);
		assert_int_equal(ost_sig_window(exp, inc, (int64_t)exp), OST_SIG_TIME_OK);
		assert_int_equal(ost_sig_window(exp, inc, (int64_t)inc), OST_SIG_TIME_OK);
		assert_int_equal(ost_sig_window(exp, inc, (int64_t)exp + 1), OST_SIG_TIME_EXPIRED);
		assert_int_equal(ost_sig_window(exp, inc, (int64_t)inc - 1), OST_SIG_TIME_NOT_YET);
		assert_int_equal(ost_sig_window(inc, exp, now), OST_SIG_TIME_EXP_BEFORE_INC);

		ost_sigkey_deinit(&key);
		ldns_rr_list_free(set);
		n++;
	}
	bufs_deinit(&b);
	return n;
}

/* A DNSKEY of another algorithm-compatible key: a fresh ldns key. */
static ldns_rr *fresh_dnskey(ldns_signing_algorithm alg, uint16_t bits, const char *owner,
			     ldns_key **priv)
{
	ldns_key *k = ldns_key_new_frm_algorithm(alg, bits);
	ldns_rdf *o = ldns_dname_new_frm_str(owner);
	ldns_rr *rr;

	assert_non_null(k);
	assert_non_null(o);
	ldns_key_set_pubkey_owner(k, o);
	ldns_key_set_flags(k, 256);
	rr = ldns_key2rr(k);
	assert_non_null(rr);
	ldns_key_set_keytag(k, ldns_calc_keytag(rr));
	if (priv)
		*priv = k;
	else
		ldns_key_deep_free(k);
	return rr;
}

static void test_vector(const char *rel, int64_t now, uint8_t alg, ldns_signing_algorithm walg,
			uint16_t wbits, size_t min_sigs)
{
	ldns_rr_list *rrs = load(rel);
	ldns_rr *wrong = fresh_dnskey(walg, wbits, "example.", NULL);

	assert_true(check_all(rrs, now, alg, wrong) >= min_sigs);
	ldns_rr_free(wrong);
	ldns_rr_list_deep_free(rrs);
}

static void test_alg5_rfc4035(void **state)
{
	(void)state;
	test_vector("vectors/rfc4035-appA-soa-excerpt.zone", T_2004, LDNS_RSASHA1,
		    LDNS_SIGN_RSASHA1, 1024, 1);
}

static void test_alg8_rfc5702(void **state)
{
	(void)state;
	test_vector("vectors/rfc5702-sec6.1-rsasha256.zone", T_2020, LDNS_RSASHA256,
		    LDNS_SIGN_RSASHA256, 512, 1);
}

static void test_alg8_real_root(void **state)
{
	(void)state;
	/* 9 RRSIGs by KSK 20326 and ZSK 61809, DNSKEY RRset of 4 keys (sorting) */
	test_vector("real/root-2025100501-apex-excerpt.zone", T_2025, LDNS_RSASHA256,
		    LDNS_SIGN_RSASHA256, 1024, 9);
}

static void test_alg10_rfc5702(void **state)
{
	(void)state;
	test_vector("vectors/rfc5702-sec6.2-rsasha512.zone", T_2020, LDNS_RSASHA512,
		    LDNS_SIGN_RSASHA512, 1024, 1);
}

static void test_alg13_rfc6605(void **state)
{
	(void)state;
	test_vector("vectors/rfc6605-sec6.1-ecdsap256.zone", T_2010, LDNS_ECDSAP256SHA256,
		    LDNS_SIGN_ECDSAP256SHA256, 256, 1);
}

static void test_alg14_rfc6605(void **state)
{
	(void)state;
	test_vector("vectors/rfc6605-sec6.2-ecdsap384.zone", T_2010, LDNS_ECDSAP384SHA384,
		    LDNS_SIGN_ECDSAP384SHA384, 384, 1);
}

static void test_alg15_rfc8080(void **state)
{
	(void)state;
	test_vector("vectors/rfc8080-sec6-ed25519-errata4935-ex1.zone", T_2015, LDNS_ED25519,
		    LDNS_SIGN_ED25519, 256, 1);
	test_vector("vectors/rfc8080-sec6-ed25519-errata4935-ex2.zone", T_2015, LDNS_ED25519,
		    LDNS_SIGN_ED25519, 256, 1);
}

/* No published vector for 7 and 16: sign an RRset of three RRs (so the
 * canonical sort matters) here with ldns, in mixed case and out of order. */
static void signed_here(ldns_signing_algorithm salg, uint16_t bits, uint8_t alg)
{
	ldns_key *priv;
	ldns_rr *dk = fresh_dnskey(salg, bits, "Example.", &priv);
	ldns_rr *wrong = fresh_dnskey(salg, bits, "example.", NULL);
	ldns_key_list *kl = ldns_key_list_new();
	ldns_rr_list *set = ldns_rr_list_new(), *sigs, *all;
	const char *txt[] = {"WWW.Example. 300 IN MX 20 Mail2.Example.",
			     "www.example. 300 IN MX 10 mail.example.",
			     "www.example. 300 IN MX 10 MAIL.example."};

	ldns_key_set_inception(priv, 1700000000);
	ldns_key_set_expiration(priv, 1800000000);
	ldns_key_list_push_key(kl, priv);
	for (size_t i = 0; i < 3; i++) {
		ldns_rr *rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, txt[i], 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_rr_list_push_rr(set, rr);
	}
	sigs = ldns_sign_public(set, kl);
	assert_non_null(sigs);
	assert_int_equal(ldns_rr_list_rr_count(sigs), 1);
	/* ldns signs with the TTL of the set; the server then decrements it */
	for (size_t i = 0; i < 3; i++)
		ldns_rr_set_ttl(ldns_rr_list_rr(set, i), 17);
	all = ldns_rr_list_new();
	ldns_rr_list_push_rr_list(all, set);
	ldns_rr_list_push_rr_list(all, sigs);
	ldns_rr_list_push_rr(all, dk);
	assert_int_equal(check_all(all, 1750000000, alg, wrong), 1);

	ldns_rr_list_free(all);
	ldns_rr_list_deep_free(sigs);
	ldns_rr_list_deep_free(set);
	ldns_key_list_free(kl); /* frees priv too */
	ldns_rr_free(dk);
	ldns_rr_free(wrong);
}

static void test_alg7_signed_here(void **state)
{
	(void)state;
	signed_here(LDNS_SIGN_RSASHA1_NSEC3, 1024, LDNS_RSASHA1_NSEC3);
}

static void test_alg16_signed_here(void **state)
{
	(void)state;
	signed_here(LDNS_SIGN_ED448, 456, LDNS_ED448);
}

static void test_alg13_signed_here_sorted(void **state)
{
	(void)state;
	signed_here(LDNS_SIGN_ECDSAP256SHA256, 256, LDNS_ECDSAP256SHA256);
}

/* A wildcard expansion (RRSIG labels below the owner's) verifies against the
 * "*." owner; claiming one label more fails. */
static void test_wildcard(void **state)
{
	ldns_key *priv;
	ldns_rr *dk = fresh_dnskey(LDNS_SIGN_ECDSAP256SHA256, 256, "example.", &priv);
	ldns_key_list *kl = ldns_key_list_new();
	ldns_rr_list *wset = ldns_rr_list_new(), *xset = ldns_rr_list_new(), *sigs;
	ldns_rr *rr = NULL;
	struct ost_sigkey key;
	struct bufs b;

	(void)state;
	bufs_init(&b);
	ldns_key_set_inception(priv, 1700000000);
	ldns_key_set_expiration(priv, 1800000000);
	ldns_key_list_push_key(kl, priv);
	assert_int_equal(ldns_rr_new_frm_str(&rr, "*.example. 300 IN A 192.0.2.1", 0, NULL, NULL),
			 LDNS_STATUS_OK);
	ldns_rr_list_push_rr(wset, rr);
	sigs = ldns_sign_public(wset, kl);
	assert_int_equal(ldns_rdf2native_int8(ldns_rr_rrsig_labels(ldns_rr_list_rr(sigs, 0))), 1);
	rr = NULL;
	assert_int_equal(ldns_rr_new_frm_str(&rr, "a.b.Example. 300 IN A 192.0.2.1", 0, NULL, NULL),
			 LDNS_STATUS_OK);
	ldns_rr_list_push_rr(xset, rr);
	assert_int_equal(ost_sigkey_from_dnskey(&key, dk), 0);
	assert_int_equal(verify_one(&b, wset, ldns_rr_list_rr(sigs, 0), &key), 0);
	assert_int_equal(verify_one(&b, xset, ldns_rr_list_rr(sigs, 0), &key), 0);
	/* labels = 2 would mean "*.b.example.": not what was signed */
	ldns_rdf_deep_free(ldns_rr_set_rdf(ldns_rr_list_rr(sigs, 0),
					   ldns_native2rdf_int8(LDNS_RDF_TYPE_INT8, 2), 2));
	assert_int_equal(verify_one(&b, xset, ldns_rr_list_rr(sigs, 0), &key), OST_EBOGUS);
	/* labels above the owner's: refused before any crypto */
	ldns_rdf_deep_free(ldns_rr_set_rdf(ldns_rr_list_rr(sigs, 0),
					   ldns_native2rdf_int8(LDNS_RDF_TYPE_INT8, 4), 2));
	assert_int_equal(ost_sig_signed_data(b.data, b.scratch, xset, ldns_rr_list_rr(sigs, 0)),
			 -EINVAL);

	ost_sigkey_deinit(&key);
	ldns_rr_list_deep_free(sigs);
	ldns_rr_list_deep_free(wset);
	ldns_rr_list_deep_free(xset);
	ldns_key_list_free(kl); /* frees priv too */
	ldns_rr_free(dk);
	bufs_deinit(&b);
}

static void test_bad_keys(void **state)
{
	struct ost_sigkey k;
	uint8_t junk[64] = {0};
	ldns_rr *rr = NULL;

	(void)state;
	assert_int_equal(ost_sigkey_init(&k, LDNS_ECDSAP256SHA256, junk, 63), -EINVAL);
	assert_int_equal(ost_sigkey_init(&k, LDNS_ECDSAP256SHA256, junk, 64), -EINVAL);
	assert_int_equal(ost_sigkey_init(&k, LDNS_ED25519, junk, 31), -EINVAL);
	assert_int_equal(ost_sigkey_init(&k, LDNS_RSASHA256, junk, 0), -EINVAL);
	assert_int_equal(ost_sigkey_init(&k, LDNS_DSA, junk, 64), -ENOTSUP);
	assert_int_equal(ost_sigkey_init(&k, 200, junk, 64), -ENOTSUP);
	assert_false(ost_sigkey_alg_supported(LDNS_DSA));
	assert_false(ost_sigkey_alg_supported(LDNS_RSAMD5));
	assert_true(ost_sigkey_alg_supported(LDNS_ED448));
	assert_int_equal(ldns_rr_new_frm_str(&rr, "example. 300 IN A 192.0.2.1", 0, NULL, NULL),
			 LDNS_STATUS_OK);
	assert_int_equal(ost_sigkey_from_dnskey(&k, rr), -EINVAL);
	ost_sigkey_deinit(&k); /* zeroed: a no-op */
	ldns_rr_free(rr);
}

/* ---- the key cache ---- */

static void test_cache_hit(void **state)
{
	ldns_rr_list *rrs = load("vectors/rfc6605-sec6.1-ecdsap256.zone");
	const ldns_rr *dk = NULL;
	ldns_rr *upper;
	struct ost_sigkey_cache *c;
	struct ost_sigkey_cache_stats st;
	const struct ost_sigkey *k1, *k2;
	int err;

	(void)state;
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs) && !dk; i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(rrs, i)) == LDNS_RR_TYPE_DNSKEY)
			dk = ldns_rr_list_rr(rrs, i);
	assert_non_null(dk);
	assert_int_equal(ost_sigkey_cache_new(&c, 16), 0);
	k1 = ost_sigkey_cache_get(c, dk, &err);
	assert_non_null(k1);
	assert_int_equal(err, 0);
	k2 = ost_sigkey_cache_get(c, dk, &err);
	assert_ptr_equal(k1, k2);
	/* the owner is compared case-insensitively (RFC 4034 §6.2) */
	upper = ldns_rr_clone(dk);
	for (size_t i = 0; i < ldns_rdf_size(ldns_rr_owner(upper)); i++) {
		uint8_t *p = ldns_rdf_data(ldns_rr_owner(upper)) + i;
		if (*p >= 'a' && *p <= 'z')
			*p = (uint8_t)(*p - 'a' + 'A');
	}
	assert_ptr_equal(ost_sigkey_cache_get(c, upper, &err), k1);
	ost_sigkey_cache_stats(c, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.count, 1);
	/* a key that cannot be converted is reported and not kept */
	ldns_rdf_deep_free(
		ldns_rr_set_rdf(upper, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_B64, 3, "abc"), 3));
	assert_null(ost_sigkey_cache_get(c, upper, &err));
	assert_int_equal(err, -EINVAL);
	ost_sigkey_cache_stats(c, &st);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.count, 1);
	ldns_rr_free(upper);
	ost_sigkey_cache_free(c);
	ldns_rr_list_deep_free(rrs);
}

static void test_cache_bounded(void **state)
{
	struct ost_sigkey_cache *c;
	struct ost_sigkey_cache_stats st;
	ldns_rr *keys[10];
	int err;

	(void)state;
	/* capacity 4: one set of 4 ways, so every key competes */
	assert_int_equal(ost_sigkey_cache_new(&c, 4), 0);
	for (size_t i = 0; i < 10; i++) {
		keys[i] = fresh_dnskey(LDNS_SIGN_ED25519, 256, "example.", NULL);
		assert_non_null(ost_sigkey_cache_get(c, keys[i], &err));
	}
	ost_sigkey_cache_stats(c, &st);
	assert_int_equal(st.capacity, 4);
	assert_int_equal(st.count, 4);
	assert_int_equal(st.misses, 10);
	assert_int_equal(st.evictions, 6);
	/* least recently used goes first: the last four are still there */
	for (size_t i = 6; i < 10; i++)
		assert_non_null(ost_sigkey_cache_get(c, keys[i], &err));
	ost_sigkey_cache_stats(c, &st);
	assert_int_equal(st.hits, 4);
	/* touch 6, then a new key evicts 7 (the oldest), not 6 */
	assert_non_null(ost_sigkey_cache_get(c, keys[6], &err));
	assert_non_null(ost_sigkey_cache_get(c, keys[0], &err));
	ost_sigkey_cache_stats(c, &st);
	assert_int_equal(st.evictions, 7);
	assert_non_null(ost_sigkey_cache_get(c, keys[6], &err));
	ost_sigkey_cache_stats(c, &st);
	assert_int_equal(st.hits, 6);
	assert_non_null(ost_sigkey_cache_get(c, keys[7], &err));
	ost_sigkey_cache_stats(c, &st);
	assert_int_equal(st.misses, 12);
	for (size_t i = 0; i < 10; i++)
		ldns_rr_free(keys[i]);
	ost_sigkey_cache_free(c);
}

/* Two DNSKEYs with the same key tag (RFC 4034 Appendix B: a checksum, easy
 * to collide) and the same owner: different entries, and each verifies only
 * what it signed. The second is the first with one modulus byte raised and
 * another lowered at even offsets, which keeps the tag. The same RDATA
 * under another owner is another entry too. */
static void test_cache_same_tag(void **state)
{
	ldns_rr_list *rrs = load("vectors/rfc5702-sec6.1-rsasha256.zone");
	const ldns_rr *dk = key_by_tag(rrs, 9033), *sig = NULL;
	ldns_rr *twin, *other_owner;
	ldns_rr_list *set;
	struct ost_sigkey_cache *c;
	struct ost_sigkey_cache_stats st;
	const struct ost_sigkey *k;
	struct bufs b;
	uint8_t *p;
	size_t len;
	int err;

	(void)state;
	assert_non_null(dk);
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(rrs, i)) == LDNS_RR_TYPE_RRSIG)
			sig = ldns_rr_list_rr(rrs, i);
	assert_non_null(sig);
	set = rrset_of(rrs, ldns_rr_owner(sig), LDNS_RR_TYPE_A);
	twin = ldns_rr_clone(dk);
	p = ldns_rdf_data(ldns_rr_rdf(twin, 3));
	len = ldns_rdf_size(ldns_rr_rdf(twin, 3));
	/* key tag sums 16-bit words of the whole RDATA: the public key starts
	 * at RDATA offset 4, so even offsets in it are high bytes too */
	assert_true(len > 40);
	assert_true(p[20] < 0xff && p[30] > 0);
	p[20]++;
	p[30]--;
	assert_int_equal(ldns_calc_keytag(twin), 9033);
	other_owner = ldns_rr_clone(dk);
	ldns_rdf_deep_free(ldns_rr_owner(other_owner));
	ldns_rr_set_owner(other_owner, ldns_dname_new_frm_str("example.org."));
	assert_int_equal(ldns_calc_keytag(other_owner), 9033);

	bufs_init(&b);
	assert_int_equal(ost_sigkey_cache_new(&c, 64), 0);
	k = ost_sigkey_cache_get(c, twin, &err);
	assert_non_null(k);
	assert_int_equal(verify_one(&b, set, sig, k), OST_EBOGUS);
	k = ost_sigkey_cache_get(c, dk, &err);
	assert_non_null(k);
	assert_int_equal(verify_one(&b, set, sig, k), 0);
	k = ost_sigkey_cache_get(c, twin, &err);
	assert_int_equal(verify_one(&b, set, sig, k), OST_EBOGUS);
	assert_non_null(ost_sigkey_cache_get(c, other_owner, &err));
	ost_sigkey_cache_stats(c, &st);
	assert_int_equal(st.misses, 3);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.count, 3);

	ost_sigkey_cache_free(c);
	bufs_deinit(&b);
	ldns_rr_free(twin);
	ldns_rr_free(other_owner);
	ldns_rr_list_free(set);
	ldns_rr_list_deep_free(rrs);
}

/* ost_sigverify_shared() on one key from several threads at once (as the
 * zone mirror's verify tasks do with the apex keys): every good signature
 * verifies and every altered one fails, on every thread, every time. (The
 * same loop with ost_sigverify(), whose key contexts are reused, corrupted
 * the heap within 20,000 rounds: "malloc(): unaligned tcache chunk".) */
struct shared_job {
	const struct ost_sigkey *key;
	const uint8_t *sig, *bad_sig;
	size_t siglen;
	const ldns_buffer *data;
	size_t wrong; /* results that were not the expected ones */
};

static void *shared_thread(void *arg)
{
	struct shared_job *j = arg;
	ldns_buffer *scratch = ldns_buffer_new(160);

	for (int i = 0; i < 2000 && scratch; i++) {
		j->wrong += ost_sigverify_shared(j->key, j->sig, j->siglen, j->data, scratch) != 0;
		j->wrong += ost_sigverify_shared(j->key, j->bad_sig, j->siglen, j->data, scratch) !=
			    OST_EBOGUS;
	}
	if (!scratch)
		j->wrong++;
	ldns_buffer_free(scratch);
	return NULL;
}

static void test_shared_key_threads(void **state)
{
	(void)state;
	ldns_key *priv = ldns_key_new_frm_algorithm(LDNS_SIGN_ECDSAP256SHA256, 256);
	ldns_key_list *kl = ldns_key_list_new();
	ldns_rr_list *set = ldns_rr_list_new(), *sigs;
	ldns_rr *rr = NULL, *dk;
	struct ost_sigkey key;
	struct bufs b;

	assert_non_null(priv);
	ldns_key_set_pubkey_owner(priv, ldns_dname_new_frm_str("xn--p1ai."));
	ldns_key_set_flags(priv, 256);
	ldns_key_set_inception(priv, 1700000000);
	ldns_key_set_expiration(priv, 1800000000);
	ldns_key_list_push_key(kl, priv);
	assert_int_equal(
		ldns_rr_new_frm_str(&rr, "xn--p1ai. 172800 IN NS a.dns.xn--p1ai.", 0, NULL, NULL),
		LDNS_STATUS_OK);
	ldns_rr_list_push_rr(set, rr);
	sigs = ldns_sign_public(set, kl);
	assert_non_null(sigs);
	dk = ldns_key2rr(priv);
	assert_int_equal(ost_sigkey_from_dnskey(&key, dk), 0);
	bufs_init(&b);
	const ldns_rr *sig = ldns_rr_list_rr(sigs, 0);
	const ldns_rdf *sf = ldns_rr_rdf(sig, 8);
	assert_int_equal(ost_sig_signed_data(b.data, b.scratch, set, sig), 0);
	uint8_t *bad = malloc(ldns_rdf_size(sf));
	assert_non_null(bad);
	memcpy(bad, ldns_rdf_data(sf), ldns_rdf_size(sf));
	bad[5] ^= 0x01;

	pthread_t th[4];
	struct shared_job jobs[4];
	for (size_t t = 0; t < 4; t++) {
		jobs[t] = (struct shared_job){.key = &key,
					      .sig = ldns_rdf_data(sf),
					      .bad_sig = bad,
					      .siglen = ldns_rdf_size(sf),
					      .data = b.data};
		assert_int_equal(pthread_create(&th[t], NULL, shared_thread, &jobs[t]), 0);
	}
	for (size_t t = 0; t < 4; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		assert_int_equal(jobs[t].wrong, 0);
	}
	free(bad);
	bufs_deinit(&b);
	ost_sigkey_deinit(&key);
	ldns_rr_free(dk);
	ldns_rr_list_deep_free(sigs);
	ldns_rr_list_deep_free(set);
	ldns_key_list_free(kl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alg5_rfc4035),
		cmocka_unit_test(test_alg7_signed_here),
		cmocka_unit_test(test_alg8_rfc5702),
		cmocka_unit_test(test_alg8_real_root),
		cmocka_unit_test(test_alg10_rfc5702),
		cmocka_unit_test(test_alg13_rfc6605),
		cmocka_unit_test(test_alg13_signed_here_sorted),
		cmocka_unit_test(test_alg14_rfc6605),
		cmocka_unit_test(test_alg15_rfc8080),
		cmocka_unit_test(test_alg16_signed_here),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_shared_key_threads),
		cmocka_unit_test(test_cache_hit),
		cmocka_unit_test(test_cache_bounded),
		cmocka_unit_test(test_cache_same_tag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
