/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Entry point of the validator unit tests, their shared helpers (zone files,
 * RRset iteration, signing with ldns-generated keys) and the trust-anchor
 * store tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ostrov/log.h"
#include "ostrov/validator.h"

#include "test_validate.h"

const char *tdata(const char *rel)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", OST_TESTDATA, rel);
	return buf;
}

ldns_rr_list *load_rrs(const char *path)
{
	FILE *f = fopen(path, "r");
	ldns_rr_list *out = ldns_rr_list_new();
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	int line = 0;

	assert_non_null(f);
	assert_non_null(out);
	origin = ldns_dname_new_frm_str(".");
	for (;;) {
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);

		if (st == LDNS_STATUS_OK) {
			assert_true(ldns_rr_list_push_rr(out, rr));
			continue;
		}
		if (feof(f))
			break;
		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		fail_msg("%s:%d: %s", path, line, ldns_get_errorstr_by_id(st));
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	fclose(f);
	return out;
}

ldns_rr *rr_str(const char *text)
{
	ldns_rr *rr = NULL;

	if (ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL) != LDNS_STATUS_OK)
		fail_msg("bad record: %s", text);
	return rr;
}

ldns_rdf *dname(const char *text)
{
	ldns_rdf *d = ldns_dname_new_frm_str(text);

	assert_non_null(d);
	return d;
}

ldns_rr_list *of_type(const ldns_rr_list *rrs, uint16_t type)
{
	ldns_rr_list *out = ldns_rr_list_new();

	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(rrs, i)) == type)
			ldns_rr_list_push_rr(out, ldns_rr_list_rr(rrs, i));
	return out;
}

size_t for_each_signed(const ldns_rr_list *rrs, rrset_cb cb, void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		bool seen = false;
		ldns_rr_list *set, *sigs;

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG)
			continue;
		/* visit each (owner, type) once: at its first record */
		for (size_t j = 0; j < i && !seen; j++) {
			ldns_rr *o = ldns_rr_list_rr(rrs, j);

			seen = ldns_rr_get_type(o) == ldns_rr_get_type(rr) &&
			       ldns_dname_compare(ldns_rr_owner(o), ldns_rr_owner(rr)) == 0;
		}
		if (seen)
			continue;
		sigs = ost_val_sigs_for(rrs, ldns_rr_owner(rr), ldns_rr_get_type(rr));
		assert_non_null(sigs);
		if (ldns_rr_list_rr_count(sigs) > 0) {
			set = ost_val_rrset_of(rrs, ldns_rr_owner(rr), ldns_rr_get_type(rr));
			assert_non_null(set);
			cb(set, sigs, arg);
			ldns_rr_list_free(set);
			n++;
		}
		ldns_rr_list_free(sigs);
	}
	return n;
}

void sig_window(const ldns_rr_list *sigs, int64_t *min_exp, int64_t *max_inc)
{
	*min_exp = INT64_MAX;
	*max_inc = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(sigs); i++) {
		ldns_rr *s = ldns_rr_list_rr(sigs, i);
		int64_t e = ldns_rdf2native_int32(ldns_rr_rrsig_expiration(s));
		int64_t inc = ldns_rdf2native_int32(ldns_rr_rrsig_inception(s));

		if (e < *min_exp)
			*min_exp = e;
		if (inc > *max_inc)
			*max_inc = inc;
	}
}

void signer_init(struct signer *s, const char *zone, int alg, uint32_t inc, uint32_t exp)
{
	ldns_key *k = NULL;
	ldns_rr *pub;

	int bits = alg == LDNS_SIGN_RSASHA256 || alg == LDNS_SIGN_RSASHA512 ? 1024 : 256;

	k = ldns_key_new_frm_algorithm((ldns_signing_algorithm)alg, (uint16_t)bits);
	assert_non_null(k);
	ldns_key_set_pubkey_owner(k, dname(zone));
	ldns_key_set_flags(k, 257);
	ldns_key_set_inception(k, inc);
	ldns_key_set_expiration(k, exp);
	pub = ldns_key2rr(k);
	assert_non_null(pub);
	ldns_key_set_keytag(k, ldns_calc_keytag(pub));
	s->keys = ldns_key_list_new();
	assert_true(ldns_key_list_push_key(s->keys, k));
	s->dnskeys = ldns_rr_list_new();
	assert_true(ldns_rr_list_push_rr(s->dnskeys, pub));
}

void signer_deinit(struct signer *s)
{
	ldns_key_list_free(s->keys);
	ldns_rr_list_deep_free(s->dnskeys);
}

ldns_rr_list *sign_zone(struct signer *s, const char *origin, const char *text, bool nsec3,
			uint16_t iterations, bool optout)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	ldns_zone *z = NULL, *signed_z;
	ldns_rdf *o = dname(origin);
	ldns_rr_list *out;
	int line = 0;

	assert_non_null(f);
	assert_int_equal(ldns_zone_new_frm_fp_l(&z, f, o, 3600, LDNS_RR_CLASS_IN, &line),
			 LDNS_STATUS_OK);
	fclose(f);
	ldns_rdf_deep_free(o);
	for (size_t i = 0; i < ldns_rr_list_rr_count(s->dnskeys); i++)
		ldns_zone_push_rr(z, ldns_rr_clone(ldns_rr_list_rr(s->dnskeys, i)));
	if (nsec3)
		signed_z = ldns_zone_sign_nsec3(z, s->keys, LDNS_SHA1, optout ? 1 : 0, iterations,
						0, NULL);
	else
		signed_z = ldns_zone_sign(z, s->keys);
	assert_non_null(signed_z);
	out = ldns_rr_list_clone(ldns_zone_rrs(signed_z));
	ldns_rr_list_push_rr(out, ldns_rr_clone(ldns_zone_soa(signed_z)));
	ldns_zone_deep_free(signed_z);
	ldns_zone_deep_free(z);
	return out;
}

ldns_rr_list *validated_nsecs(struct ost_val_ctx *c, const ldns_rr_list *rrs, const ldns_rdf *zone,
			      const ldns_rr_list *keys)
{
	ldns_rr_list *out = ldns_rr_list_new();

	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		struct ost_val_verdict v;
		ldns_rr_list *set, *sigs;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC &&
		    ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC3)
			continue;
		set = ost_val_rrset_of(rrs, ldns_rr_owner(rr), ldns_rr_get_type(rr));
		sigs = ost_val_sigs_for(rrs, ldns_rr_owner(rr), ldns_rr_get_type(rr));
		if (ost_val_rrset(c, set, sigs, zone, keys, &v) == OST_SEC_SECURE)
			ldns_rr_list_push_rr(out, rr);
		else
			fail_msg("NSEC RRset does not validate: %s", v.text);
		ldns_rr_list_free(set);
		ldns_rr_list_free(sigs);
	}
	return out;
}

/* ---- trust anchors ---- */

static void test_ta_builtin(void **state)
{
	struct ost_ta_store *s;
	const struct ost_ta *ta;
	ldns_rr_list *file_ds;
	ldns_rdf *name = dname("www.example.ru.");

	(void)state;
	assert_int_equal(ost_ta_store_new(&s), 0);
	assert_int_equal(ost_ta_lookup(s, name, 0, &ta), OST_TA_NONE);
	assert_int_equal(ost_ta_add_builtin_root(s), 0);
	assert_int_equal(ost_ta_count(s), 1);
	assert_int_equal(ost_ta_lookup(s, name, 0, &ta), OST_TA_ANCHOR);
	assert_int_equal(ldns_dname_label_count(ta->owner), 0);
	assert_int_equal(ldns_rr_list_rr_count(ta->ds), 2);
	/* The built-in anchors are byte for byte the published ones. */
	file_ds = load_rrs(tdata("real/root.ds"));
	assert_int_equal(ldns_rr_list_rr_count(file_ds), 2);
	for (size_t i = 0; i < 2; i++) {
		bool found = false;

		for (size_t j = 0; j < 2; j++)
			found |= ldns_rr_compare(ldns_rr_list_rr(file_ds, i),
						 ldns_rr_list_rr(ta->ds, j)) == 0;
		assert_true(found);
	}
	ldns_rr_list_deep_free(file_ds);
	ldns_rdf_deep_free(name);
	ost_ta_store_free(s);
}

static void test_ta_file_and_nta(void **state)
{
	char path[] = "/tmp/ost-ta-XXXXXX";
	char err[256] = "";
	int fd = mkstemp(path);
	struct ost_ta_store *s;
	const struct ost_ta *ta;
	ldns_rdf *www = dname("www.example.com."), *ex = dname("example.com.");
	ldns_rdf *com = dname("com."), *sub = dname("a.sub.example.com.");
	const char *text = "$ORIGIN example.com.\n"
			   "; lab anchor\n"
			   "@ 3600 IN DS 2854 3 1 46e4ffc6e9a4793b488954bd3f0cc6af0dfb201b\n"
			   "sub 3600 IN DNSKEY 257 3 13 "
			   "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+"
			   "e+MAnLr+Wi9xMWyQLc8NAA==\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(ost_ta_store_new(&s), 0);
	assert_int_equal(ost_ta_load_file(s, path, err, sizeof(err)), 0);
	assert_int_equal(ost_ta_count(s), 2);
	assert_int_equal(ost_ta_lookup(s, com, 100, &ta), OST_TA_NONE);
	assert_int_equal(ost_ta_lookup(s, www, 100, &ta), OST_TA_ANCHOR);
	assert_int_equal(ldns_dname_compare(ta->owner, ex), 0);
	assert_int_equal(ost_ta_lookup(s, sub, 100, &ta), OST_TA_ANCHOR);
	assert_int_equal(ldns_rr_list_rr_count(ta->keys), 1);

	/* NTA at example.com. until 200: insecure below, but the deeper
	 * anchor at sub.example.com. still applies (RFC 7646 §2). */
	assert_int_equal(ost_ta_nta_add(s, ex, 200), 0);
	assert_int_equal(ost_ta_lookup(s, www, 100, &ta), OST_TA_NTA);
	assert_null(ta);
	assert_int_equal(ost_ta_lookup(s, sub, 100, &ta), OST_TA_ANCHOR);
	assert_int_equal(ost_ta_nta_count(s, 100), 1);
	/* it expires by itself */
	assert_int_equal(ost_ta_lookup(s, www, 200, &ta), OST_TA_ANCHOR);
	assert_int_equal(ost_ta_nta_count(s, 200), 0);
	assert_int_equal(ost_ta_nta_add(s, ex, 300), 0);
	assert_int_equal(ost_ta_nta_remove(s, ex), 0);
	assert_int_equal(ost_ta_nta_remove(s, ex), -ENOENT);
	assert_int_equal(ost_ta_lookup(s, www, 100, &ta), OST_TA_ANCHOR);
	ost_ta_store_free(s);

	/* bad files: a non-anchor record, garbage, nothing, missing */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_true(write(fd, "example.com. 3600 IN A 192.0.2.1\n", 33) == 33);
	close(fd);
	assert_int_equal(ost_ta_store_new(&s), 0);
	assert_int_equal(ost_ta_load_file(s, path, err, sizeof(err)), OST_ECONFIG);
	assert_non_null(strstr(err, ":1:"));
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(write(fd, "example.com. 3600 IN DS 1 2 3 zz\n", 33) == 33);
	close(fd);
	assert_int_equal(ost_ta_load_file(s, path, err, sizeof(err)), OST_EMALFORMED);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(write(fd, "; nothing\n", 10) == 10);
	close(fd);
	assert_int_equal(ost_ta_load_file(s, path, err, sizeof(err)), OST_ECONFIG);
	unlink(path);
	assert_int_equal(ost_ta_load_file(s, path, err, sizeof(err)), -ENOENT);
	/* a DNSKEY anchor must be a zone key */
	assert_int_equal(
		ost_ta_add_str(s, "x. DNSKEY 0 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb"
				  "krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA=="),
		-EINVAL);
	assert_int_equal(ost_ta_count(s), 0);
	ost_ta_store_free(s);
	ldns_rdf_deep_free(www);
	ldns_rdf_deep_free(ex);
	ldns_rdf_deep_free(com);
	ldns_rdf_deep_free(sub);
}

static void test_algorithms(void **state)
{
	struct ost_val_limits lim;

	(void)state;
	ost_val_limits_default(&lim);
	/* The list, all supported by ldns 1.8.3 + OpenSSL 3 here. */
	assert_true(ost_val_algorithm_supported(8, NULL));
	assert_true(ost_val_algorithm_supported(10, NULL));
	assert_true(ost_val_algorithm_supported(13, NULL));
	assert_true(ost_val_algorithm_supported(14, NULL));
	assert_true(ost_val_algorithm_supported(15, NULL));
	assert_true(ost_val_algorithm_supported(16, NULL));
	assert_true(ost_val_algorithm_supported(5, NULL));
	assert_false(ost_val_algorithm_supported(1, NULL));
	assert_false(ost_val_algorithm_supported(3, NULL));
	assert_false(ost_val_algorithm_supported(12, NULL));
	assert_false(ost_val_algorithm_supported(253, NULL));
	lim.allow_dsa = true;
	assert_true(ost_val_algorithm_supported(3, &lim));
	lim.allow_sha1 = false;
	assert_false(ost_val_algorithm_supported(5, &lim));
	assert_false(ost_val_digest_supported(1, &lim));
	assert_true(ost_val_digest_supported(2, NULL));
	assert_true(ost_val_digest_supported(4, NULL));
	assert_false(ost_val_digest_supported(3, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ta_builtin),
		cmocka_unit_test(test_ta_file_and_nta),
		cmocka_unit_test(test_algorithms),
	};
	int fails;

	ost_log_set_level(OST_LOG_ERR);
	fails = cmocka_run_group_tests_name("ta", tests, NULL, NULL);
	fails += run_vector_tests();
	fails += run_proof_tests();
	fails += run_hostile_tests();
	fails += run_engine_tests();
	fails += run_nta_tests();
	return fails ? 1 : 0;
}
