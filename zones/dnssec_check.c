/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * DNSSEC check of a whole zone version before it is mirrored (RFC 8806 §2:
 * "validate the zone with DNSSEC"; RFC 8976 §4 step 3: SOA and ZONEMD
 * signatures must chain to a trust anchor).
 *
 * 1. The apex DNSKEY RRset must contain a key matching a configured anchor
 *    (DS or DNSKEY), and be signed by such a key, valid at the clock's time.
 * 2. Every authoritative RRset must carry at least one RRSIG by the apex
 *    that verifies with an apex DNSKEY at that time, and no RRSIG made with
 *    one of the apex keys may fail cryptographically. Authoritative means
 *    (RFC 4035 §2.2): at or below the apex, not below a zone cut or a DNAME;
 *    at a cut only DS and NSEC are authoritative, so the NS RRset there and
 *    glue below it are not signed.
 *
 * Work is bounded: an RRSIG is only tried against keys with its key tag and
 * algorithm, at most max_key_tries of them (key-tag collisions are cheap to
 * manufacture, RFC 9276-style CPU exhaustion), and at most MAX_SIGS_PER_SET
 * RRSIGs per RRset. ldns_verify_rrsig_time() checks the crypto before the
 * validity window, so an expired but genuine signature is told apart from a
 * forged one (EXPIRED_SIG vs BOGUS_SIG).
 *
 * Speed (a 1,000,000-record TLD-like zone has ~200,000 RRSIGs): for ECDSA keys
 * and RSASHA256/512 keys (the root's, most TLDs') the EVP_PKEY is made once per
 * check (ost_sigkey_init(), common/sigverify.c), not once per
 * signature as ldns_verify_rrsig_time() does, which also rebuilds the curve
 * group inside OpenSSL each time (about 40 % of the verification cost). The
 * signed data is the RRSIG rdata without its signature (ldns_rrsig2buffer_wire())
 * followed by the RRset's canonical wire forms, already computed and sorted by
 * zone_data.c, with the TTL replaced by the original TTL (RFC 4034 §3.1.8.1);
 * ost_sigverify_shared() checks it. Wildcard-expanded owners (labels
 * field below the owner's label count) and other algorithms take the plain
 * ldns_verify_rrsig_time() path.
 *
 * A failed check is not yet a bogus zone: OpenSSL reports a failure inside
 * the verification (an allocation, a provider lookup) the same way as a
 * signature that does not match (EVP_DigestVerify() returns 0 for both), and
 * ldns_verify_rrsig_evp_raw() turns it into "bogus" too. So a signature that
 * fails is checked once more from scratch (check_again(): the key converted
 * anew, the signed data built anew from the ldns records, fresh buffers and
 * contexts). A forged signature fails both times; a failure that does not
 * repeat is the verifier's, logged as an error and not held against the
 * zone; two failures of the check itself reject the version with "could not
 * be checked" rather than "does not verify". This was found looking for the
 * lab's one-off "RRSIG over xn--p1ai./NS by key 931 does not verify": one
 * allocation failing inside OpenSSL during that check produces exactly that
 * line (tests/unit/zones/test_verify_stress.c).
 *
 * Parallel (issue #8 Speed): after the DNSKEY RRset is checked, the walk only
 * lists the RRsets that must be signed; they are verified by tasks of
 * consecutive RRsets on the policy's executor (include/ostrov/exec.h), each
 * with its own scratch buffers, the keys shared read-only (their EVP_PKEY and
 * digest only, through ost_sigverify_shared(); never their reusable OpenSSL
 * contexts, which ost_sigverify() would use and which must not be shared).
 * A task stops at its first failing RRset, and tasks skip RRsets after the
 * lowest failure already found; the slots are combined in task order, so the
 * reported error is the first in canonical order, the one the serial walk
 * reports.
 *
 * The "RRSIG horizon" is the earliest moment an authoritative RRset has no
 * valid signature left: min over RRsets of max over their valid RRSIGs'
 * expiration.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "ostrov/log.h"
#include "ostrov/sigverify.h"
#include "ostrov/zone.h"

#include "zone_internal.h"

#define MAX_SIGS_PER_SET      8
#define DEFAULT_MAX_KEY_TRIES 4

/** An apex DNSKEY. */
struct zkey {
	ldns_rr *rr;
	uint16_t tag;
	uint8_t alg;
	bool is_anchored;
	/* converted once per check (common/sigverify.c) and shared by the
	 * verify tasks: only through ost_sigverify_shared(), which reads its
	 * pkey and digest and never its reusable contexts */
	struct ost_sigkey sk;
	bool has_sk; /* RSA or ECDSA key converted, else the plain ldns path */
};

/** Work state of one check. */
struct dctx {
	const struct ost_zone_data *z;
	struct zkey *keys;
	size_t nkeys;
	int64_t now;
	unsigned max_tries;
	int64_t horizon;
	uint64_t sigs_checked;
	ldns_rr_list *set; /* scratch: the RRset being verified (borrowed RRs) */
	size_t set_from;   /* the RRset as indexes into z->v: [set_from, set_to) */
	size_t set_to;
	ldns_buffer *signed_data; /* scratch: the data an RRSIG signs */
	ldns_buffer *sigbuf;      /* scratch: an ECDSA signature in ASN.1 */
};

/* RFC 4034 §3.1.5: signature times are serial numbers; map to the 64-bit
 * time closest to now. */
static int64_t sig_time(uint32_t t32, int64_t now)
{
	return now + (int32_t)(t32 - (uint32_t)now);
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm))
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(buf, len, "%lld", (long long)t);
}

/* Number of labels of an uncompressed wire name, the root not counted. */
static unsigned wire_labels(const uint8_t *w, size_t len)
{
	unsigned n = 0;
	for (size_t i = 0; i < len && w[i] != 0; i += (size_t)w[i] + 1)
		n++;
	return n;
}

/* ldns_verify_rrsig_time() with the key's EVP_PKEY made beforehand (see the
 * top of the file); same results. */
static ldns_status verify_cached(struct dctx *d, const struct zrr *sig, const struct zkey *key)
{
	const uint8_t *rd = zrr_rdata(sig);
	const struct zrr *first = &d->z->v[d->set_from];
	ldns_rdf *sig_rdf = ldns_rr_rrsig_sig(sig->rr);

	if (!key->has_sk || !sig_rdf || rd[3] != wire_labels(first->wire, first->owner_len))
		return ldns_verify_rrsig_time(d->set, sig->rr, key->rr, (time_t)d->now);
	ldns_buffer *b = d->signed_data;
	ldns_buffer_clear(b);
	if (ldns_rrsig2buffer_wire(b, sig->rr) != LDNS_STATUS_OK)
		return LDNS_STATUS_MEM_ERR;
	for (size_t i = d->set_from; i < d->set_to; i++) {
		const struct zrr *r = &d->z->v[i];
		size_t rest = r->wire_len - r->owner_len - 8u; /* rdlength + rdata */
		if (!ldns_buffer_reserve(b, r->wire_len))
			return LDNS_STATUS_MEM_ERR;
		ldns_buffer_write(b, r->wire, r->owner_len + 4u); /* owner, type, class */
		ldns_buffer_write(b, rd + 4, 4);                  /* original TTL */
		ldns_buffer_write(b, r->wire + r->owner_len + 8u, rest);
	}
	/* The key is shared with the other tasks: ost_sigverify_shared() only
	 * reads it, makes its OpenSSL contexts per call and checks every return
	 * (ldns_verify_rrsig_evp_raw() does not check EVP_VerifyInit() and
	 * crashes in the digest when it failed). It hashes begin..position. */
	int rc = ost_sigverify_shared(&key->sk, ldns_rdf_data(sig_rdf), ldns_rdf_size(sig_rdf), b,
				      d->sigbuf);
	if (rc != 0)
		return rc == OST_EBOGUS ? LDNS_STATUS_CRYPTO_BOGUS : LDNS_STATUS_MEM_ERR;
	/* The validity window, as ldns_rrsig_check_timestamps() (RFC 4034 §3.1.5). */
	int32_t exp32 = (int32_t)((uint32_t)rd[8] << 24 | (uint32_t)rd[9] << 16 |
				  (uint32_t)rd[10] << 8 | rd[11]);
	int32_t inc32 = (int32_t)((uint32_t)rd[12] << 24 | (uint32_t)rd[13] << 16 |
				  (uint32_t)rd[14] << 8 | rd[15]);
	int32_t now32 = (int32_t)(uint32_t)d->now;
	if ((int32_t)((uint32_t)exp32 - (uint32_t)inc32) < 0)
		return LDNS_STATUS_CRYPTO_EXPIRATION_BEFORE_INCEPTION;
	if ((int32_t)((uint32_t)now32 - (uint32_t)inc32) < 0)
		return LDNS_STATUS_CRYPTO_SIG_NOT_INCEPTED;
	if ((int32_t)((uint32_t)exp32 - (uint32_t)now32) < 0)
		return LDNS_STATUS_CRYPTO_SIG_EXPIRED;
	return LDNS_STATUS_OK;
}

enum sig_outcome {
	SIG_VALID,
	SIG_TIME,
	SIG_BOGUS,
	SIG_ERROR, /* could not be checked (OpenSSL or memory failed twice) */
	SIG_NOKEY
};

static bool is_time_status(ldns_status st)
{
	return st == LDNS_STATUS_CRYPTO_SIG_EXPIRED || st == LDNS_STATUS_CRYPTO_SIG_NOT_INCEPTED;
}

/* A status that says nothing about the signature: the check itself failed. */
static bool is_internal_status(ldns_status st)
{
	return st == LDNS_STATUS_MEM_ERR || st == LDNS_STATUS_SSL_ERR;
}

/* The check of @p sig by @p key done again from scratch, sharing nothing with
 * the first one or with other tasks: the key converted anew from its DNSKEY,
 * the signed data built anew from the ldns records, not the zone's wire forms
 * (ost_sigverify_fresh()); ldns's own ldns_verify_rrsig_time() where those do
 * not apply (other algorithms, huge RRsets). */
static ldns_status check_again(struct dctx *d, const struct zrr *sig, const struct zkey *key)
{
	int rc = ost_sigverify_fresh(d->set, sig->rr, key->rr);
	if (rc == -EINVAL)
		return ldns_verify_rrsig_time(d->set, sig->rr, key->rr, (time_t)d->now);
	if (rc != 0)
		return rc == OST_EBOGUS ? LDNS_STATUS_CRYPTO_BOGUS : LDNS_STATUS_MEM_ERR;
	const uint8_t *rd = zrr_rdata(sig);
	uint32_t exp32 =
		(uint32_t)rd[8] << 24 | (uint32_t)rd[9] << 16 | (uint32_t)rd[10] << 8 | rd[11];
	uint32_t inc32 =
		(uint32_t)rd[12] << 24 | (uint32_t)rd[13] << 16 | (uint32_t)rd[14] << 8 | rd[15];
	switch (ost_sig_window(exp32, inc32, d->now)) {
	case OST_SIG_TIME_OK:
		return LDNS_STATUS_OK;
	case OST_SIG_TIME_EXPIRED:
		return LDNS_STATUS_CRYPTO_SIG_EXPIRED;
	case OST_SIG_TIME_NOT_YET:
		return LDNS_STATUS_CRYPTO_SIG_NOT_INCEPTED;
	default:
		return LDNS_STATUS_CRYPTO_EXPIRATION_BEFORE_INCEPTION;
	}
}

/* Verify one RRSIG over d->set with the keys allowed to sign it. */
static enum sig_outcome verify_sig(struct dctx *d, const struct zrr *sig, bool anchored_only,
				   int64_t *exp_out, int64_t *bad_time, uint16_t *tag_out)
{
	const uint8_t *rd = zrr_rdata(sig);
	uint8_t alg = rd[2];
	uint16_t tag = (uint16_t)(rd[16] << 8 | rd[17]);
	uint32_t exp32 =
		(uint32_t)rd[8] << 24 | (uint32_t)rd[9] << 16 | (uint32_t)rd[10] << 8 | rd[11];
	uint32_t inc32 =
		(uint32_t)rd[12] << 24 | (uint32_t)rd[13] << 16 | (uint32_t)rd[14] << 8 | rd[15];
	ldns_rdf *signer = ldns_rr_rrsig_signame(sig->rr);
	enum sig_outcome out = SIG_NOKEY;
	unsigned tries = 0;

	*tag_out = tag;
	/* The signer must be the apex: a mirrored zone is signed by its own keys. */
	if (!signer || ldns_dname_compare(signer, d->z->apex) != 0)
		return SIG_NOKEY;
	for (size_t k = 0; k < d->nkeys && tries < d->max_tries; k++) {
		const struct zkey *key = &d->keys[k];
		if (key->tag != tag || key->alg != alg || (anchored_only && !key->is_anchored))
			continue;
		tries++;
		d->sigs_checked++;
		/* OpenSSL's error queue is per thread and nothing else here
		 * reads it: cleared, it tells what went wrong in this check. */
		ERR_clear_error();
		ldns_status st = verify_cached(d, sig, key);
		if (st != LDNS_STATUS_OK && !is_time_status(st)) {
			char ossl[160] = "none";
			unsigned long e = ERR_peek_last_error();
			if (e)
				ERR_error_string_n(e, ossl, sizeof(ossl));
			/* Before a zone is rejected for a signature, the check is
			 * done once more from scratch: a failure that does not
			 * repeat is the verifier's (OpenSSL failing, or a fault
			 * of the fast path), never the zone's, and is logged
			 * loudly. A signature that really does not match fails
			 * both times, so a key-tag collision costs two checks per
			 * colliding key tried: at most 2 x max_tries per RRSIG. */
			ldns_status again = check_again(d, sig, key);
			if (again == LDNS_STATUS_OK || is_time_status(again)) {
				char name[300];
				zrr_setname(&d->z->v[d->set_from], d->z->v[d->set_from].type, name,
					    sizeof(name));
				ost_log(OST_LOG_ERR, "zones",
					"signature check failed once, passed when done again "
					"zone=%s rrset=%s key=%u first=\"%s\" openssl=\"%s\" "
					"again=\"%s\"",
					d->z->apex_str, name, tag, ldns_get_errorstr_by_id(st),
					ossl, ldns_get_errorstr_by_id(again));
			}
			st = again;
		}
		if (st == LDNS_STATUS_OK) {
			*exp_out = sig_time(exp32, d->now);
			return SIG_VALID;
		}
		if (is_time_status(st)) {
			*bad_time = st == LDNS_STATUS_CRYPTO_SIG_EXPIRED ? sig_time(exp32, d->now)
									 : sig_time(inc32, d->now);
			out = SIG_TIME;
		} else if (out != SIG_TIME) {
			out = is_internal_status(st) && out != SIG_BOGUS ? SIG_ERROR : SIG_BOGUS;
		}
	}
	return out;
}

/* Which failure to report when no RRSIG is valid: a time problem over a bad
 * signature over a missing key. */
static int outcome_rank(enum sig_outcome o)
{
	return o == SIG_TIME ? 3 : o == SIG_BOGUS ? 2 : o == SIG_ERROR ? 1 : 0;
}

/* Verify the RRset v[from..to) (one owner, class, type) against the RRSIGs at
 * the same owner in v[sfrom..sto). */
static enum ost_zone_verdict check_set(struct dctx *d, size_t from, size_t to, size_t sfrom,
				       size_t sto, bool anchored_only,
				       struct ost_zone_verify_result *res)
{
	const struct zrr *first = &d->z->v[from];
	int64_t best = INT64_MIN, bad_time = 0;
	enum sig_outcome worst = SIG_NOKEY;
	size_t nsigs = 0;
	uint16_t bad_tag = 0;
	char name[300];

	d->set_from = from;
	d->set_to = to;
	ldns_rr_list_set_rr_count(d->set, 0);
	for (size_t i = from; i < to; i++)
		if (!ldns_rr_list_push_rr(d->set, d->z->v[i].rr))
			return zres_set(res, OST_ZV_BOGUS_SIG, "out of memory");
	for (size_t s = sfrom; s < sto; s++) {
		const struct zrr *sig = &d->z->v[s];
		int64_t exp = 0;
		uint16_t tag;
		if (sig->covered != first->type || sig->rclass != first->rclass)
			continue;
		if (++nsigs > MAX_SIGS_PER_SET) {
			zrr_setname(first, first->type, name, sizeof(name));
			return zres_set(res, OST_ZV_BOGUS_SIG, "more than %d RRSIGs over %s",
					MAX_SIGS_PER_SET, name);
		}
		enum sig_outcome o = verify_sig(d, sig, anchored_only, &exp, &bad_time, &tag);
		if (o == SIG_VALID) {
			if (exp > best)
				best = exp;
		} else if (outcome_rank(o) >= outcome_rank(worst)) {
			worst = o;
			bad_tag = tag;
		}
		/* Every RRSIG made with one of the zone's keys must verify: a
		 * signature that fails its own key is corruption or tampering,
		 * even when another RRSIG over the set is fine. RRSIGs by keys
		 * not in the DNSKEY RRset, or outside their validity window,
		 * are tolerated as long as one valid RRSIG remains (rollovers,
		 * re-signing). */
		if (o == SIG_BOGUS && !anchored_only) {
			zrr_setname(first, first->type, name, sizeof(name));
			return zres_set(res, OST_ZV_BOGUS_SIG,
					"RRSIG over %s by key %u does not verify", name, tag);
		}
		/* Not bogus, but not checked either: the version is not used,
		 * and the reason says it was the check that failed. */
		if (o == SIG_ERROR && !anchored_only) {
			zrr_setname(first, first->type, name, sizeof(name));
			return zres_set(res, OST_ZV_BOGUS_SIG,
					"RRSIG over %s by key %u could not be checked (OpenSSL or "
					"memory failure, twice)",
					name, tag);
		}
	}
	if (best != INT64_MIN) {
		if (best < d->horizon)
			d->horizon = best;
		return OST_ZV_OK;
	}
	zrr_setname(first, first->type, name, sizeof(name));
	if (nsigs == 0)
		return zres_set(res, OST_ZV_MISSING_SIG, "no RRSIG over %s", name);
	if (worst == SIG_TIME) {
		char when[40];
		fmt_time(bad_time, when, sizeof(when));
		return zres_set(res, OST_ZV_EXPIRED_SIG,
				"RRSIG over %s by key %u is outside its validity period (%s %s)",
				name, bad_tag, bad_time < d->now ? "expired" : "valid from", when);
	}
	if (worst == SIG_ERROR)
		return zres_set(res, anchored_only ? OST_ZV_DNSKEY_NOT_CHAINED : OST_ZV_BOGUS_SIG,
				"RRSIG over %s by key %u could not be checked (OpenSSL or memory "
				"failure, twice)",
				name, bad_tag);
	if (worst == SIG_NOKEY && anchored_only)
		return zres_set(res, OST_ZV_DNSKEY_NOT_CHAINED,
				"%s is not signed by a key matching the trust anchors", name);
	if (worst == SIG_NOKEY)
		return zres_set(res, OST_ZV_BOGUS_SIG,
				"RRSIG over %s names key %u, which is not in the apex DNSKEY RRset",
				name, bad_tag);
	if (anchored_only)
		return zres_set(res, OST_ZV_DNSKEY_NOT_CHAINED,
				"RRSIG over %s by anchored key %u does not verify", name, bad_tag);
	return zres_set(res, OST_ZV_BOGUS_SIG, "RRSIG over %s by key %u does not verify", name,
			bad_tag);
}

/* Step 1: collect apex DNSKEYs and mark the ones matching an anchor. */
static enum ost_zone_verdict load_keys(struct dctx *d, const ldns_rr_list *anchors, size_t *kfrom,
				       size_t *kto, struct ost_zone_verify_result *res)
{
	const struct ost_zone_data *z = d->z;
	size_t n_anchored = 0;

	*kfrom = *kto = 0;
	for (size_t i = 0; i < z->n && zrr_at_apex(z, &z->v[i]); i++) {
		const struct zrr *r = &z->v[i];
		if (r->type != LDNS_RR_TYPE_DNSKEY || r->rclass != z->zclass)
			continue;
		if (*kto == 0)
			*kfrom = i;
		*kto = i + 1;
	}
	if (*kto == 0)
		return zres_set(res, OST_ZV_DNSKEY_NOT_CHAINED, "no DNSKEY RRset at %s",
				z->apex_str);
	d->keys = calloc(*kto - *kfrom, sizeof(*d->keys));
	if (!d->keys)
		return zres_set(res, OST_ZV_DNSKEY_NOT_CHAINED, "out of memory");
	for (size_t i = *kfrom; i < *kto; i++) {
		struct zkey *k = &d->keys[d->nkeys++];
		k->rr = z->v[i].rr;
		k->tag = ldns_calc_keytag(k->rr);
		k->alg = zrr_rdlen(&z->v[i]) >= 4 ? zrr_rdata(&z->v[i])[3] : 0;
		/* RFC 4034 §2.1.1: only zone keys (flag bit 7) may sign the zone. */
		if (zrr_rdlen(&z->v[i]) < 4 || !(zrr_rdata(&z->v[i])[0] & 0x01)) {
			k->tag ^= 0xffff; /* never matches an RRSIG key tag lookup by accident */
			k->alg = 0;
			continue;
		}
		if (k->alg == LDNS_ECDSAP256SHA256 || k->alg == LDNS_ECDSAP384SHA384 ||
		    k->alg == LDNS_RSASHA256 || k->alg == LDNS_RSASHA512) {
			/* a malformed key leaves the key to ldns_verify_rrsig_time() */
			k->has_sk = ost_sigkey_init(&k->sk, k->alg, zrr_rdata(&z->v[i]) + 4,
						    zrr_rdlen(&z->v[i]) - 4) == 0;
		}
		for (size_t a = 0; a < ldns_rr_list_rr_count(anchors); a++) {
			ldns_rr *an = ldns_rr_list_rr(anchors, a);
			if (ldns_dname_compare(ldns_rr_owner(an), z->apex) != 0)
				continue;
			if (ldns_rr_get_type(an) != LDNS_RR_TYPE_DS &&
			    ldns_rr_get_type(an) != LDNS_RR_TYPE_DNSKEY)
				continue;
			if (ldns_rr_compare_ds(an, k->rr)) {
				k->is_anchored = true;
				n_anchored++;
				break;
			}
		}
	}
	if (n_anchored == 0)
		return zres_set(res, OST_ZV_DNSKEY_NOT_CHAINED,
				"no DNSKEY at %s matches the %zu configured trust anchor(s)",
				z->apex_str, ldns_rr_list_rr_count(anchors));
	return OST_ZV_OK;
}

/* Find the range [*sfrom, *sto) of RRSIGs of class @p cls at the owner range. */
static void sig_range(const struct ost_zone_data *z, size_t nfrom, size_t nto, uint16_t cls,
		      size_t *sfrom, size_t *sto)
{
	*sfrom = *sto = nfrom;
	for (size_t i = nfrom; i < nto; i++) {
		if (z->v[i].type == LDNS_RR_TYPE_RRSIG && z->v[i].rclass == cls) {
			if (*sto == nfrom)
				*sfrom = i;
			*sto = i + 1;
		}
	}
}

/* Which RRsets at a delegation point are authoritative (RFC 4035 §2.2). */
static bool is_auth_at_cut(uint16_t type)
{
	return type == LDNS_RR_TYPE_DS || type == LDNS_RR_TYPE_NSEC;
}

/** One RRset to verify: v[from, to) against the owner's RRSIGs v[sfrom, sto). */
struct setjob {
	size_t from, to, sfrom, sto;
};

/** What one task of the parallel check found (its own slot, see exec.h). */
struct vtask {
	struct dctx d;                     /* own scratch, horizon and counter */
	size_t fail_job;                   /* first failing job of the task, or SIZE_MAX */
	struct ost_zone_verify_result res; /* its verdict and reason */
};

/** The verification job shared by the tasks. */
struct vjob {
	const struct setjob *jobs;
	size_t n_jobs;
	size_t per_task;
	struct vtask *tasks;
	/* Lowest failing job index found so far by any task: a task skips the
	 * jobs after it, which cannot be the first failure any more. */
	_Atomic size_t first_fail;
};

static bool dctx_scratch_init(struct dctx *d)
{
	d->set = ldns_rr_list_new();
	d->signed_data = ldns_buffer_new(4096);
	d->sigbuf = ldns_buffer_new(160);
	return d->set && d->signed_data && d->sigbuf;
}

static void dctx_scratch_deinit(struct dctx *d)
{
	ldns_buffer_free(d->signed_data);
	ldns_buffer_free(d->sigbuf);
	ldns_rr_list_free(d->set);
}

/* Verify the jobs of one task in order and stop at the first failure, as the
 * serial walk would. Only the task's own slot is written. */
static void verify_task(void *arg, size_t t)
{
	struct vjob *j = arg;
	struct vtask *vt = &j->tasks[t];
	size_t from = t * j->per_task;
	size_t to = from + j->per_task < j->n_jobs ? from + j->per_task : j->n_jobs;

	if (!dctx_scratch_init(&vt->d)) {
		vt->fail_job = from;
		zres_set(&vt->res, OST_ZV_BOGUS_SIG, "out of memory");
		goto done;
	}
	for (size_t i = from; i < to; i++) {
		if (i > atomic_load_explicit(&j->first_fail, memory_order_relaxed))
			break;
		const struct setjob *sj = &j->jobs[i];
		if (check_set(&vt->d, sj->from, sj->to, sj->sfrom, sj->sto, false, &vt->res) !=
		    OST_ZV_OK) {
			vt->fail_job = i;
			size_t cur = atomic_load(&j->first_fail);
			while (i < cur && !atomic_compare_exchange_weak(&j->first_fail, &cur, i))
				;
			break;
		}
	}
done:
	dctx_scratch_deinit(&vt->d);
}

/* Walk the zone owner by owner and list the RRsets that must be signed.
 * Records of one owner are contiguous and a cut's descendants follow it
 * directly in canonical order. */
static int collect_jobs(const struct ost_zone_data *z, struct setjob **out, size_t *n_out)
{
	const uint8_t *occl = NULL; /* key of the cut or DNAME that occludes what follows */
	size_t occl_len = 0, n = 0, cap = 0, sfrom, sto;
	struct setjob *jobs = NULL;

	for (size_t nfrom = 0; nfrom < z->n;) {
		const struct zrr *o = &z->v[nfrom];
		size_t nto = nfrom + 1;
		bool has_ns = false, has_dname = false;
		bool is_apex = zrr_at_apex(z, o);

		while (nto < z->n &&
		       zkey_cmp(z->v[nto].key, z->v[nto].key_len, o->key, o->key_len) == 0)
			nto++;
		if (occl && !zkey_is_under(o->key, o->key_len, occl, occl_len))
			occl = NULL;
		if (occl) { /* glue or occluded data: not signed, not checked */
			nfrom = nto;
			continue;
		}
		for (size_t i = nfrom; i < nto; i++) {
			if (z->v[i].rclass != z->zclass)
				continue;
			has_ns |= z->v[i].type == LDNS_RR_TYPE_NS;
			has_dname |= z->v[i].type == LDNS_RR_TYPE_DNAME;
		}
		bool is_cut = has_ns && !is_apex;
		sig_range(z, nfrom, nto, z->zclass, &sfrom, &sto);
		for (size_t i = nfrom; i < nto;) {
			size_t j = i + 1;
			while (j < nto && z->v[j].type == z->v[i].type &&
			       z->v[j].rclass == z->v[i].rclass)
				j++;
			const struct zrr *r = &z->v[i];
			bool must_sign = r->rclass == z->zclass && r->type != LDNS_RR_TYPE_RRSIG &&
					 (!is_cut || is_auth_at_cut(r->type));
			if (must_sign) {
				if (n == cap) {
					size_t nc = cap ? cap * 2 : 1024;
					struct setjob *nj = realloc(jobs, nc * sizeof(*nj));
					if (!nj) {
						free(jobs);
						return -ENOMEM;
					}
					jobs = nj;
					cap = nc;
				}
				jobs[n++] = (struct setjob){i, j, sfrom, sto};
			}
			i = j;
		}
		if (is_cut || (has_dname && !is_apex)) {
			occl = o->key;
			occl_len = o->key_len;
		}
		nfrom = nto;
	}
	*out = jobs;
	*n_out = n;
	return 0;
}

/* Tasks per thread: enough that a thread finishing early finds more work
 * (RRsets differ in cost), few enough that per-task setup stays negligible. */
#define TASKS_PER_THREAD  16
#define MIN_JOBS_PER_TASK 64

enum ost_zone_verdict dnssec_check(const struct ost_zone_data *z, const ldns_rr_list *anchors,
				   int64_t now, unsigned max_key_tries, const struct ost_exec *exec,
				   struct ost_zone_verify_result *res)
{
	struct dctx d = {
		.z = z,
		.now = now,
		.max_tries = max_key_tries ? max_key_tries : DEFAULT_MAX_KEY_TRIES,
		.horizon = INT64_MAX,
	};
	struct vjob job = {.first_fail = SIZE_MAX};
	struct setjob *jobs = NULL;
	enum ost_zone_verdict v;
	size_t kfrom, kto, sfrom, sto, n_jobs = 0, n_tasks = 0;

	if (!dctx_scratch_init(&d)) {
		v = zres_set(res, OST_ZV_BOGUS_SIG, "out of memory");
		goto out;
	}
	v = load_keys(&d, anchors, &kfrom, &kto, res);
	if (v != OST_ZV_OK)
		goto out;

	/* The DNSKEY RRset must be signed by an anchored key. */
	size_t apex_end = 0;
	while (apex_end < z->n && zrr_at_apex(z, &z->v[apex_end]))
		apex_end++;
	sig_range(z, 0, apex_end, z->zclass, &sfrom, &sto);
	v = check_set(&d, kfrom, kto, sfrom, sto, true, res);
	if (v != OST_ZV_OK)
		goto out;

	if (collect_jobs(z, &jobs, &n_jobs) != 0) {
		v = zres_set(res, OST_ZV_BOGUS_SIG, "out of memory");
		goto out;
	}
	/* Every RRset is checked on its own (the keys are shared read-only), so
	 * the RRsets are cut into tasks of consecutive RRsets for the executor. */
	unsigned width = ost_exec_width(exec);
	n_tasks = width == 1 ? 1 : (size_t)width * TASKS_PER_THREAD;
	if (n_tasks > 1 && n_jobs / n_tasks < MIN_JOBS_PER_TASK)
		n_tasks = n_jobs / MIN_JOBS_PER_TASK ? n_jobs / MIN_JOBS_PER_TASK : 1;
	job.jobs = jobs;
	job.n_jobs = n_jobs;
	job.per_task = n_jobs ? (n_jobs + n_tasks - 1) / n_tasks : 0;
	if (job.per_task)
		n_tasks = (n_jobs + job.per_task - 1) / job.per_task;
	job.tasks = calloc(n_tasks ? n_tasks : 1, sizeof(*job.tasks));
	if (!job.tasks) {
		n_tasks = 0;
		v = zres_set(res, OST_ZV_BOGUS_SIG, "out of memory");
		goto out;
	}
	for (size_t t = 0; t < n_tasks; t++) {
		struct vtask *vt = &job.tasks[t];
		vt->d = d;
		vt->d.set = NULL;
		vt->d.signed_data = NULL;
		vt->d.sigbuf = NULL;
		vt->d.sigs_checked = 0;
		vt->fail_job = SIZE_MAX;
		vt->res.verdict = OST_ZV_OK;
	}
	ost_exec_run(exec, verify_task, &job, n_tasks);

	/* Combine in task order: the lowest failing RRset is the one the serial
	 * walk would have reported. */
	v = OST_ZV_OK;
	for (size_t t = 0; t < n_tasks; t++) {
		struct vtask *vt = &job.tasks[t];
		d.sigs_checked += vt->d.sigs_checked;
		if (vt->d.horizon < d.horizon)
			d.horizon = vt->d.horizon;
		if (v == OST_ZV_OK && vt->fail_job != SIZE_MAX) {
			v = vt->res.verdict;
			memcpy(res->reason, vt->res.reason, sizeof(res->reason));
			res->verdict = v;
		}
	}
	if (v == OST_ZV_OK)
		res->info.rrsig_horizon = d.horizon == INT64_MAX ? 0 : d.horizon;
out:
	res->info.sigs_checked = d.sigs_checked;
	for (size_t k = 0; k < d.nkeys; k++)
		ost_sigkey_deinit(&d.keys[k].sk);
	free(d.keys);
	free(job.tasks);
	free(jobs);
	dctx_scratch_deinit(&d);
	return v;
}
