/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One RRSIG checked against its candidate DNSKEYs, with three outcomes:
 * verified, does not verify (evidence against the data: bogus), or could not
 * be checked (an internal failure: OpenSSL or memory), which Unbound also
 * answers SERVFAIL for the query without a verdict on the data.
 *
 * Why three: OpenSSL reports a failure inside a verification (an allocation,
 * a provider lookup) the way it reports a signature that does not match:
 * EVP_PKEY_verify() and EVP_DigestVerify() return 0 for both. Its error queue
 * does not tell them apart either: with OpenSSL 3.0's allocations made to fail
 * one at a time, many failures queue no error at all, others "initialization
 * error" or "decode error", as a malformed key or signature would. Taken for
 * a forgery, one failed allocation answered a correctly signed zone SERVFAIL
 * with EDE 6 and cached the verdict (validate_task.c keeps a bogus zone key
 * 30 s, stash.c the failure up to 5 min). ldns_key_rr2ds() is worse: it does
 * not check OpenSSL's returns (SHA-384) and hands back a wrong DS digest.
 *
 * So, as the zone mirror's import does (zones/dnssec_check.c, check_again()):
 * 1. The fast check: the resolver's converted key (ost_sigkey_cache_get())
 *    with its reusable OpenSSL contexts, the signed data built once per
 *    RRSIG. When it verifies nothing else is done: the hot path is unchanged.
 * 2. A failed check is done again from scratch, sharing nothing with the
 *    first: the key converted anew, the signed data built anew in fresh
 *    buffers, ost_sigverify_shared() on contexts of its own, which checks
 *    every OpenSSL return and says -ENOMEM when the check could not be set
 *    up. A failure that does not repeat was the verifier's: the signature
 *    counts as verified, and the repair is logged as an error.
 * 3. A failure that repeats is a forgery only if OpenSSL works. That is
 *    asked of OpenSSL itself: a known-answer test of the key's family (an
 *    example signature printed in RFC 5702 §6.1, RFC 6605 §6.1 or RFC 8080
 *    §6.1 with erratum 4935), run once per request on the first repeated
 *    failure of that family. If it fails too, OpenSSL is what is broken
 *    (memory exhausted, a provider gone): the outcome is internal, never
 *    bogus.
 *
 * Cost: a valid signature costs one check, as before. A forged one costs two
 * checks per candidate key, the second with the key converted anew, and one
 * known-answer test per key family and request: the price of never calling a
 * valid zone bogus for the resolver's own failure. The second check counts
 * against the request's max_verify like the first, so the KeyTrap bound on
 * verifications per request holds. A failure that the two checks and the
 * test cannot place (a burst of OpenSSL failures that hits both checks and
 * spares the test) is still taken as bogus: nothing tells it from a forgery.
 *
 * A DS digest that does not match is handled alike (ost_val_ds_recheck()):
 * computed again, and a repeated mismatch is bogus only when the digest
 * type's known-answer test (RFC 4034 §5.4, RFC 6605 §6.1, §6.2) passes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>
#include <openssl/err.h>

#include "ostrov/log.h"
#include "ostrov/sigverify.h"

#include "internal.h"
#include "validate.h"

/** What has a known-answer test (the index of ctx->crypto_ok): key families,
 * then DS digest types. */
enum family {
	FAM_RSA = 0,
	FAM_ECDSA,
	FAM_EDDSA,
	FAM_COUNT,
	FAM_DS_SHA1 = FAM_COUNT,
	FAM_DS_SHA256,
	FAM_DS_SHA384,
	FAM_ALL,
};

/*
 * The known answers: a DNSKEY, an RRset and its RRSIG by that key, as
 * printed in the RFCs (tests/unit/resolver/test_sigverify.c checks the same
 * records from the shared test data). The validity windows are not looked
 * at: only the signature.
 */
static const char *const kat[FAM_COUNT][3] = {
	/* RFC 5702 §6.1: RSA/SHA-256, key tag 9033 */
	[FAM_RSA] =
		{"example.net. 3600 IN DNSKEY 256 3 8 AwEAAcFcGsaxxdgiuuGmCkVImy4h99CqT7jwY3pexPGcn"
		 "UFtR2Fh36BponcwtkZ4cAgtvd4Qs8PkxUdp6p/DlUmObdk=",
		 "www.example.net. 3600 IN A 192.0.2.91",
		 "www.example.net. 3600 IN RRSIG A 8 3 3600 20300101000000 20000101000000 9033 "
		 "example.net. kRCOH6u7l0QGy9qpC9l1sLncJcOKFLJ7GhiUOibu4teYp5VE9RncriShZNz85mwlMg"
		 "NEacFYK/lPtPiVYP4bwg=="},
	/* RFC 6605 §6.1: ECDSA P-256 with SHA-256, key tag 55648 */
	[FAM_ECDSA] =
		{"example.net. 3600 IN DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6e"
		 "dbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
		 "www.example.net. 3600 IN A 192.0.2.1",
		 "www.example.net. 3600 IN RRSIG A 13 3 3600 20100909100439 20100812100439 "
		 "55648 example.net. qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFK"
		 "G7tZoLBLlUzGGus7ZwmwWep666VCw=="},
	/* RFC 8080 §6.1 example 1 with erratum 4935: Ed25519, key tag 3613 */
	[FAM_EDDSA] =
		{"example.com. 3600 IN DNSKEY 257 3 15 "
		 "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
		 "example.com. 3600 IN MX 10 mail.example.com.",
		 "example.com. 3600 IN RRSIG MX 15 2 3600 20150819220000 20150729220000 3613 "
		 "example.com. oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M"
		 "3e23mRZ9VrbpMngwcrqNAg=="},
};

/* DS digests (DNSKEY, DS) from the RFCs: RFC 4034 §5.4 (SHA-1), RFC 6605 §6.1
 * (SHA-256) and §6.2 (SHA-384). */
static const char *const ds_kat[FAM_ALL - FAM_COUNT][2] = {
	{"dskey.example.com. 86400 IN DNSKEY 256 3 5 "
	 "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/"
	 "2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2"
	 "wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
	 "dskey.example.com. 86400 IN DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"},
	{NULL, "example.net. 3600 IN DS 55648 13 2 b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e277"
	       "0ce6d6e37df61d17"},
	{"example.net. 3600 IN DNSKEY 257 3 14 "
	 "xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSAD"
	 "tNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40",
	 "example.net. 3600 IN DS 10771 14 4 "
	 "72d7b62976ce06438e9c0bf319013cf801f09ecc84b8d7e9495f27e3"
	 "05c6a9b0563a9b5f4d288405c3008a946df983d6"},
};

/* The family of DNSSEC algorithm @p alg, or -1 (DSA: ldns's own path). */
static int family_of(uint8_t alg)
{
	switch (alg) {
	case LDNS_RSASHA1:
	case LDNS_RSASHA1_NSEC3:
	case LDNS_RSASHA256:
	case LDNS_RSASHA512:
		return FAM_RSA;
	case LDNS_ECDSAP256SHA256:
	case LDNS_ECDSAP384SHA384:
		return FAM_ECDSA;
	case LDNS_ED25519:
	case LDNS_ED448:
		return FAM_EDDSA;
	default:
		return -1;
	}
}

/* The known-answer test of @p fam: does OpenSSL verify a known good signature now? */
static bool kat_passes(int fam)
{
	ldns_rr *rr[3] = {NULL, NULL, NULL};
	ldns_rr_list *set = ldns_rr_list_new();
	bool ok = set != NULL;

	for (size_t i = 0; i < 3; i++)
		ok = ok &&
		     ldns_rr_new_frm_str(&rr[i], kat[fam][i], 0, NULL, NULL) == LDNS_STATUS_OK;
	ok = ok && ldns_rr_list_push_rr(set, rr[1]) && ost_sigverify_fresh(set, rr[2], rr[0]) == 0;
	ldns_rr_list_free(set);
	for (size_t i = 0; i < 3; i++)
		ldns_rr_free(rr[i]);
	return ok;
}

bool ost_val_ds_digest_equal(const ldns_rr *ds, const ldns_rr *key)
{
	ldns_rr *calc = ldns_key_rr2ds(key, (ldns_hash)ldns_rdf2native_int8(ldns_rr_rdf(ds, 2)));
	bool same = calc && ldns_rdf_compare(ldns_rr_rdf(calc, 3), ldns_rr_rdf(ds, 3)) == 0;

	ldns_rr_free(calc);
	return same;
}

/* The known-answer test of DS digest @p fam (FAM_DS_*). */
static bool ds_kat_passes(int fam)
{
	const char *key =
		ds_kat[fam - FAM_COUNT][0] ? ds_kat[fam - FAM_COUNT][0] : kat[FAM_ECDSA][0];
	ldns_rr *k = NULL, *ds = NULL;
	bool ok = ldns_rr_new_frm_str(&k, key, 0, NULL, NULL) == LDNS_STATUS_OK &&
		  ldns_rr_new_frm_str(&ds, ds_kat[fam - FAM_COUNT][1], 0, NULL, NULL) ==
			  LDNS_STATUS_OK &&
		  ost_val_ds_digest_equal(ds, k);

	ldns_rr_free(k);
	ldns_rr_free(ds);
	return ok;
}

static bool openssl_works(struct ost_val_ctx *c, int fam)
{
	if (fam < 0)
		return true; /* DSA is not checked here */
	if (c->crypto_ok[fam] == 0)
		c->crypto_ok[fam] =
			(fam < FAM_COUNT ? kat_passes(fam) : ds_kat_passes(fam)) ? 1 : -1;
	return c->crypto_ok[fam] > 0;
}

/* OpenSSL's last queued error, then the queue cleared (it is per thread and
 * only read here, so the next check's errors are its own). */
static void take_ossl_error(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "none queued");
	ERR_clear_error();
}

static const char *fail_str(int rc)
{
	return rc == -ENOMEM ? "could not be set up" : rc == -EINVAL ? "key refused" : "no match";
}

enum ost_val_sig ost_val_sig_check(struct ost_val_ctx *c, struct ost_val_crypto *vc,
				   const ldns_rr_list *rrset, const ldns_rr *sig,
				   const ldns_rr_list *cand)
{
	const ldns_rdf *sf = ldns_rr_rdf(sig, 8);
	enum ost_val_sig out = OST_VAL_SIG_BAD;
	int data = ost_sig_signed_data(vc->signed_data, vc->scratch, rrset, sig);

	/* The RRSIG does not fit the RRset (type, labels): the data's fault,
	 * the same for every key and every try. */
	if (data == -EINVAL)
		return OST_VAL_SIG_BAD;
	for (size_t i = 0; i < ldns_rr_list_rr_count(cand); i++) {
		const ldns_rr *key = ldns_rr_list_rr(cand, i);
		char first_err[96], again_err[96], ob[64];
		int first = data, again;

		if (data == 0) {
			const struct ost_sigkey *k = ost_sigkey_cache_get(vc->keys, key, &first);

			if (k)
				first = ost_sigverify(k, ldns_rdf_data(sf), ldns_rdf_size(sf),
						      vc->signed_data, vc->sigbuf);
			if (first == 0)
				return OST_VAL_SIG_OK;
		}
		/* The failure path: everything below is paid only here. The
		 * check done again counts against the request's budget, so
		 * that forged signatures (KeyTrap, CVE-2023-50387) get no more
		 * work than max_verify allows; the caller sees over_budget. */
		take_ossl_error(first_err, sizeof(first_err));
		if (c->over_budget || c->n_verify >= c->lim.max_verify) {
			c->over_budget = true;
			return OST_VAL_SIG_BAD;
		}
		c->n_verify++;
		c->n_recheck++;
		again = ost_sigverify_fresh(rrset, sig, key);
		if (again == 0) {
			ost_log(OST_LOG_ERR, "validator",
				"signature check failed once, passed when done again owner=%s "
				"key=%u first=\"%s\" openssl=\"%s\"",
				ost_dname_str(ldns_rr_owner(sig), ob, sizeof(ob)),
				ldns_calc_keytag(key), fail_str(first), first_err);
			return OST_VAL_SIG_OK;
		}
		take_ossl_error(again_err, sizeof(again_err));
		if (again != -ENOMEM &&
		    openssl_works(c, family_of(ldns_rdf2native_int8(ldns_rr_rrsig_algorithm(sig)))))
			continue; /* failed twice, OpenSSL sound: evidence against the data */
		/* A cut detail is still a useful EDE text: the length is not checked. */
		if (!c->internal_detail[0] &&
		    snprintf(c->internal_detail, sizeof(c->internal_detail),
			     "key %u: %s twice, openssl='%s'%s", ldns_calc_keytag(key),
			     fail_str(again),
			     strcmp(again_err, "none queued") ? again_err : first_err,
			     again == -ENOMEM ? "" : ", known-answer test failed") < 0)
			c->internal_detail[0] = 0;
		out = OST_VAL_SIG_INTERNAL;
	}
	return out;
}

int ost_val_ds_recheck(struct ost_val_ctx *c, const ldns_rr *ds, const ldns_rr *key)
{
	uint8_t digest = ldns_rdf2native_int8(ldns_rr_rdf(ds, 2));
	int fam = digest == LDNS_SHA1     ? FAM_DS_SHA1
		  : digest == LDNS_SHA256 ? FAM_DS_SHA256
		  : digest == LDNS_SHA384 ? FAM_DS_SHA384
					  : -1;
	char ob[64];

	c->n_recheck++;
	if (ost_val_ds_digest_equal(ds, key)) {
		ost_log(OST_LOG_ERR, "validator",
			"DS digest computed wrong once, right when done again owner=%s key=%u "
			"digest=%u",
			ost_dname_str(ldns_rr_owner(ds), ob, sizeof(ob)), ldns_calc_keytag(key),
			digest);
		return 1;
	}
	if (openssl_works(c, fam))
		return 0;
	if (!c->internal_detail[0])
		snprintf(c->internal_detail, sizeof(c->internal_detail),
			 "DS digest type %u of key %u: known-answer test failed", digest,
			 ldns_calc_keytag(key));
	return -1;
}

enum ost_val_action ost_val_fail_internal(struct ost_task *t, const struct ost_val_ctx *c)
{
	char nb[64];

	ost_log(OST_LOG_ERR, "validator",
		"validation failed for an internal reason (not bogus) qname=%s reason=\"%s\" "
		"detail=\"%s\"",
		ost_dname_str(t->qname, nb, sizeof(nb)), c->internal_why,
		c->internal_detail[0] ? c->internal_detail : "out of memory");
	ost_task_fail(t, OST_EDE_OTHER, false, "ostrov: DNSSEC validation not completed: %s",
		      c->internal_why);
	t->is_internal = true;
	t->sec = OST_SEC_UNCHECKED;
	return OST_VAL_DONE;
}
