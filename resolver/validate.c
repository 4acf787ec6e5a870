/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * DNSSEC verification of RRsets and of DNSKEY RRsets through DS (RFC 4033-4035,
 * RFC 6840), with ldns doing the cryptography and the canonical form. What is
 * ours: the RFC 4035 §5.3.1 field checks ldns leaves to its caller, the
 * validity window against the injected clock, algorithm and digest policy
 * (RFC 8624), a per-request work budget so that a zone with 100 DNSKEYs
 * sharing one key tag, or 100 RRSIGs, cannot make one request verify without
 * end (KeyTrap, CVE-2023-50387), and a verdict that says in its EXTRA-TEXT
 * which zone failed and why. A signature check has three outcomes
 * (validate_sig.c): verified, does not verify, or could not be done; the
 * last, and running out of memory, give the internal-failure verdict
 * (ost_val_internal()), never a bogus one: no RRSIG verifying is only
 * evidence against the data when every one could be checked.
 */
#include "validate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include "ostrov/log.h"
#include "ostrov/sigverify.h"

#include "internal.h"

/* DNSKEY flags (RFC 4034 §2.1.1, RFC 5011 §3). */
#define FLAG_ZONE   0x0100
#define FLAG_REVOKE 0x0080

void ost_val_limits_default(struct ost_val_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->max_verify = 64;
	lim->max_keys_per_sig = 4;
	lim->max_sigs_per_rrset = 8;
	lim->max_ds = 16;
	lim->max_nsec3_iterations = 150;
	lim->max_nsec3_hash_ops = 8192;
	lim->allow_dsa = false;
	lim->allow_sha1 = true;
}

bool ost_val_algorithm_supported(uint8_t alg, const struct ost_val_limits *lim)
{
	struct ost_val_limits def;

	if (!lim) {
		ost_val_limits_default(&def);
		lim = &def;
	}
	switch (alg) {
	case LDNS_DSA:
	case LDNS_DSA_NSEC3:
		return lim->allow_dsa;
	case LDNS_RSASHA1:
	case LDNS_RSASHA1_NSEC3:
		return lim->allow_sha1;
	default:
		/* What the verification primitive implements: RSAMD5 (1) MUST
		 * NOT (RFC 8624 §3.1); GOST (12) is not in OpenSSL without an
		 * engine; private and unknown ones are not either. */
		return ost_sigkey_alg_supported(alg);
	}
}

bool ost_val_digest_supported(uint8_t digest, const struct ost_val_limits *lim)
{
	switch (digest) {
	case LDNS_SHA1:
		return !lim || lim->allow_sha1;
	case LDNS_SHA256:
	case LDNS_SHA384:
		return true;
	default:
		return false;
	}
}

const char *ost_denial_str(enum ost_denial d)
{
	static const char *const names[OST_DENY_COUNT] = {
		[OST_DENY_NXDOMAIN] = "nxdomain",
		[OST_DENY_NODATA] = "nodata",
		[OST_DENY_WILDCARD] = "wildcard",
		[OST_DENY_NO_DS] = "no-ds",
	};

	return (unsigned)d < OST_DENY_COUNT ? names[d] : "?";
}

const char *ost_sec_str(uint8_t sec)
{
	static const char *const names[OST_SEC_COUNT] = {
		[OST_SEC_UNCHECKED] = "unchecked",
		[OST_SEC_INSECURE] = "insecure",
		[OST_SEC_SECURE] = "secure",
		[OST_SEC_BOGUS] = "bogus",
		[OST_SEC_INDETERMINATE] = "indeterminate",
	};

	return sec < OST_SEC_COUNT ? names[sec] : "?";
}

void ost_val_ctx_init(struct ost_val_ctx *c, const struct ost_val_limits *lim, int64_t now)
{
	memset(c, 0, sizeof(*c));
	if (lim)
		c->lim = *lim;
	else
		ost_val_limits_default(&c->lim);
	c->now = now;
}

void ost_val_secure(struct ost_val_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->sec = OST_SEC_SECURE;
}

uint8_t ost_val_set(struct ost_val_verdict *v, uint8_t sec, uint16_t ede, const char *fmt, ...)
{
	va_list ap;

	memset(v, 0, sizeof(*v));
	v->sec = sec;
	v->has_ede = true;
	v->ede = ede;
	va_start(ap, fmt);
	vsnprintf(v->text, sizeof(v->text), fmt, ap);
	va_end(ap);
	return sec;
}

uint8_t ost_val_internal(struct ost_val_ctx *c, struct ost_val_verdict *v, const char *fmt, ...)
{
	va_list ap;

	memset(v, 0, sizeof(*v));
	v->sec = OST_SEC_BOGUS;
	v->has_ede = true;
	v->ede = OST_EDE_OTHER;
	v->is_internal = true;
	va_start(ap, fmt);
	vsnprintf(v->text, sizeof(v->text), fmt, ap);
	va_end(ap);
	if (!c->internal_error) {
		c->internal_error = true;
		snprintf(c->internal_why, sizeof(c->internal_why), "%s", v->text);
	}
	return OST_SEC_BOGUS;
}

/* Format @p name into @p buf for EXTRA-TEXT and logs. */
static const char *dname_str(const ldns_rdf *name, char *buf, size_t size)
{
	char *s = name ? ldns_rdf2str(name) : NULL;

	snprintf(buf, size, "%s", s ? s : "?");
	free(s);
	return buf;
}

static const char *type_str(uint16_t type, char *buf, size_t size)
{
	char *s = ldns_rr_type2str(type);

	snprintf(buf, size, "%s", s ? s : "?");
	free(s);
	return buf;
}

uint16_t ost_val_sig_window(const ldns_rr *sig, int64_t now)
{
	if (ldns_rr_rd_count(sig) < 9)
		return OST_EDE_DNSSEC_BOGUS;
	switch (ost_sig_window(ldns_rdf2native_int32(ldns_rr_rdf(sig, 4)),
			       ldns_rdf2native_int32(ldns_rr_rdf(sig, 5)), now)) {
	case OST_SIG_TIME_OK:
		return 0;
	case OST_SIG_TIME_EXP_BEFORE_INC:
		return OST_EDE_SIG_EXPIRED_BEFORE_VALID;
	case OST_SIG_TIME_NOT_YET:
		return OST_EDE_SIG_NOT_YET_VALID;
	default:
		return OST_EDE_SIG_EXPIRED;
	}
}

static bool same_name(const ldns_rdf *a, const ldns_rdf *b)
{
	return a && b && ldns_dname_compare(a, b) == 0;
}

static bool name_under(const ldns_rdf *name, const ldns_rdf *zone)
{
	return ost_dname_under(name, zone);
}

ldns_rr_list *ost_val_sigs_for(const ldns_rr_list *sigs, const ldns_rdf *owner, uint16_t type)
{
	ldns_rr_list *out = ldns_rr_list_new();

	if (!out)
		return NULL;
	for (size_t i = 0; sigs && i < ldns_rr_list_rr_count(sigs); i++) {
		ldns_rr *s = ldns_rr_list_rr(sigs, i);

		if (ldns_rr_get_type(s) != LDNS_RR_TYPE_RRSIG || ldns_rr_rd_count(s) < 9)
			continue;
		if (!same_name(ldns_rr_owner(s), owner))
			continue;
		if (ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(s)) != type)
			continue;
		if (!ldns_rr_list_push_rr(out, s)) {
			ldns_rr_list_free(out);
			return NULL;
		}
	}
	return out;
}

ldns_rr_list *ost_val_rrset_of(const ldns_rr_list *rrs, const ldns_rdf *owner, uint16_t type)
{
	ldns_rr_list *out = ldns_rr_list_new();

	if (!out)
		return NULL;
	for (size_t i = 0; rrs && i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);

		if (ldns_rr_get_type(rr) != type || !same_name(ldns_rr_owner(rr), owner))
			continue;
		if (!ldns_rr_list_push_rr(out, rr)) {
			ldns_rr_list_free(out);
			return NULL;
		}
	}
	return out;
}

/* Labels of @p name for the RRSIG labels field: the root and a leading "*"
 * do not count (RFC 4034 §3.1.3). */
static uint8_t sig_label_count(const ldns_rdf *name)
{
	uint8_t n = ldns_dname_label_count(name);

	if (n > 0 && ldns_dname_is_wildcard(name))
		n--;
	return n;
}

/*
 * Why an RRset failed, kept as the most telling of the reasons met. An
 * expired or not-yet-valid signature that otherwise looked right says more
 * to an operator than "no key", and "no key" more than an unsupported
 * algorithm, so a higher rank replaces a lower one.
 */
struct fail {
	int rank;
	uint16_t ede;
	char text[OST_VAL_TEXT_MAX];
};

static void fail_note(struct fail *f, int rank, uint16_t ede, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail_note(struct fail *f, int rank, uint16_t ede, const char *fmt, ...)
{
	va_list ap;

	if (rank <= f->rank)
		return;
	f->rank = rank;
	f->ede = ede;
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
}

static bool budget_take(struct ost_val_ctx *c, unsigned n)
{
	if (c->over_budget || c->n_verify + n > c->lim.max_verify) {
		c->over_budget = true;
		return false;
	}
	c->n_verify += n;
	return true;
}

/* The keys of @p keys that may have made @p sig: zone keys of @p zone, not
 * revoked, with the RRSIG's algorithm and key tag; at most @p max. */
static ldns_rr_list *candidate_keys(const ldns_rr_list *keys, const ldns_rdf *zone,
				    const ldns_rr *sig, unsigned max, unsigned *n_same_tag)
{
	uint8_t alg = ldns_rdf2native_int8(ldns_rr_rrsig_algorithm(sig));
	uint16_t tag = ldns_rdf2native_int16(ldns_rr_rrsig_keytag(sig));
	ldns_rr_list *out = ldns_rr_list_new();

	*n_same_tag = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; keys && i < ldns_rr_list_rr_count(keys); i++) {
		ldns_rr *k = ldns_rr_list_rr(keys, i);
		uint16_t flags;

		if (ldns_rr_get_type(k) != LDNS_RR_TYPE_DNSKEY || ldns_rr_rd_count(k) != 4)
			continue;
		if (!same_name(ldns_rr_owner(k), zone))
			continue;
		flags = ldns_rdf2native_int16(ldns_rr_rdf(k, 0));
		if (!(flags & FLAG_ZONE) || (flags & FLAG_REVOKE))
			continue;
		if (ldns_rdf2native_int8(ldns_rr_rdf(k, 1)) != 3 ||
		    ldns_rdf2native_int8(ldns_rr_rdf(k, 2)) != alg)
			continue;
		if (ldns_calc_keytag(k) != tag)
			continue;
		(*n_same_tag)++;
		if (ldns_rr_list_rr_count(out) < max && !ldns_rr_list_push_rr(out, k)) {
			ldns_rr_list_free(out);
			return NULL;
		}
	}
	return out;
}

/*
 * Legacy test data only (allow_dsa): the DSA signatures of Unbound's old
 * replay scenarios are DER SEQUENCE{r, s} instead of RFC 2536 §3's T|R|S,
 * and Unbound accepts both. Rewrite a DER one into the DNS form, taking T
 * from @p key. The DER parse is OpenSSL's (the same SEQUENCE as ECDSA's).
 * @return a new RRSIG (free with ldns_rr_free) or NULL when not DER
 */
static ldns_rr *dsa_der_to_dns(const ldns_rr *sig, const ldns_rr *key)
{
	const ldns_rdf *s = ldns_rr_rdf(sig, 8);
	const unsigned char *p = ldns_rdf_data(s);
	uint8_t out[41];
	ECDSA_SIG *es;
	ldns_rr *copy = NULL;
	ldns_rdf *nr;

	if (ldns_rdf_size(s) == sizeof(out) || ldns_rdf_size(ldns_rr_rdf(key, 3)) < 1)
		return NULL;
	es = d2i_ECDSA_SIG(NULL, &p, (long)ldns_rdf_size(s));
	if (!es)
		return NULL;
	out[0] = ldns_rdf_data(ldns_rr_rdf(key, 3))[0];
	if (BN_bn2binpad(ECDSA_SIG_get0_r(es), out + 1, 20) == 20 &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), out + 21, 20) == 20 &&
	    (nr = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_B64, sizeof(out), out)) != NULL) {
		copy = ldns_rr_clone(sig);
		if (copy)
			ldns_rdf_deep_free(ldns_rr_set_rdf(copy, nr, 8));
		else
			ldns_rdf_deep_free(nr);
	}
	ECDSA_SIG_free(es);
	return copy;
}

int ost_val_crypto_init(struct ost_val_crypto *vc, size_t n_keys)
{
	memset(vc, 0, sizeof(*vc));
	/* 4 KiB covers the signed data of nearly every RRset; ldns grows them. */
	vc->signed_data = ldns_buffer_new(4096);
	vc->scratch = ldns_buffer_new(4096);
	vc->sigbuf = ldns_buffer_new(160);
	if (!vc->signed_data || !vc->scratch || !vc->sigbuf ||
	    ost_sigkey_cache_new(&vc->keys, n_keys) != 0) {
		ost_val_crypto_deinit(vc);
		return -ENOMEM;
	}
	return 0;
}

void ost_val_crypto_deinit(struct ost_val_crypto *vc)
{
	ost_sigkey_cache_free(vc->keys);
	if (vc->signed_data)
		ldns_buffer_free(vc->signed_data);
	if (vc->scratch)
		ldns_buffer_free(vc->scratch);
	if (vc->sigbuf)
		ldns_buffer_free(vc->sigbuf);
	memset(vc, 0, sizeof(*vc));
}

static uint8_t val_rrset(struct ost_val_ctx *c, struct ost_val_crypto *vc,
			 const ldns_rr_list *rrset, const ldns_rr_list *sigs, const ldns_rdf *zone,
			 const ldns_rr_list *keys, struct ost_val_verdict *v);

uint8_t ost_val_rrset(struct ost_val_ctx *c, const ldns_rr_list *rrset, const ldns_rr_list *sigs,
		      const ldns_rdf *zone, const ldns_rr_list *keys, struct ost_val_verdict *v)
{
	struct ost_val_crypto tmp;
	uint8_t sec;

	if (c->crypto)
		return val_rrset(c, c->crypto, rrset, sigs, zone, keys, v);
	/* A caller without a resolver (tests, tools): the same path on a
	 * temporary key cache. */
	if (ost_val_crypto_init(&tmp, 4) != 0)
		return ost_val_internal(c, v, "out of memory");
	sec = val_rrset(c, &tmp, rrset, sigs, zone, keys, v);
	ost_val_crypto_deinit(&tmp);
	return sec;
}

static uint8_t val_rrset(struct ost_val_ctx *c, struct ost_val_crypto *vc,
			 const ldns_rr_list *rrset, const ldns_rr_list *sigs, const ldns_rdf *zone,
			 const ldns_rr_list *keys, struct ost_val_verdict *v)
{
	char zs[64], os[96], ts[16];
	bool named = false;
	struct fail f = {0};
	const ldns_rr *first;
	const ldns_rdf *owner;
	uint16_t type;
	unsigned tried = 0;
	bool any = false;
	char why[OST_VAL_TEXT_MAX + 128] = ""; /* cut to EXTRA-TEXT size later */

	if (!rrset || ldns_rr_list_rr_count(rrset) == 0)
		return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS, "empty RRset");
	first = ldns_rr_list_rr(rrset, 0);
	owner = ldns_rr_owner(first);
	type = ldns_rr_get_type(first);
	/* The names for EXTRA-TEXT and logs are formatted only on a failure
	 * path (three allocations each time otherwise, on every answer). */
#define NAMES()                                           \
	do {                                              \
		if (!named) {                             \
			dname_str(zone, zs, sizeof(zs));  \
			dname_str(owner, os, sizeof(os)); \
			type_str(type, ts, sizeof(ts));   \
			named = true;                     \
		}                                         \
	} while (0)

	for (size_t i = 0; sigs && i < ldns_rr_list_rr_count(sigs); i++) {
		ldns_rr *sig = ldns_rr_list_rr(sigs, i);
		ldns_rr_list *cand;
		unsigned n_tag;
		uint16_t tag, w;
		uint8_t alg, labels;
		ldns_status st;

		if (ldns_rr_get_type(sig) != LDNS_RR_TYPE_RRSIG || ldns_rr_rd_count(sig) != 9)
			continue;
		if (!same_name(ldns_rr_owner(sig), owner) ||
		    ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig)) != type)
			continue;
		any = true;
		if (tried++ == c->lim.max_sigs_per_rrset) {
			NAMES();
			fail_note(&f, 4, OST_EDE_DNSSEC_BOGUS,
				  "zone %s: %s %s has more than %u RRSIGs", zs, os, ts,
				  c->lim.max_sigs_per_rrset);
			break;
		}
		alg = ldns_rdf2native_int8(ldns_rr_rrsig_algorithm(sig));
		tag = ldns_rdf2native_int16(ldns_rr_rrsig_keytag(sig));
		labels = ldns_rdf2native_int8(ldns_rr_rrsig_labels(sig));
		/* RFC 4035 §5.3.1: class, signer = the zone, owner under the
		 * signer, labels not above the owner's. */
		if (ldns_rr_get_class(sig) != ldns_rr_get_class(first) ||
		    !same_name(ldns_rr_rrsig_signame(sig), zone) || !name_under(owner, zone) ||
		    labels > sig_label_count(owner)) {
			NAMES();
			fail_note(&f, 2, OST_EDE_DNSSEC_BOGUS,
				  "zone %s: RRSIG %u over %s %s has bad signer/labels", zs, tag, os,
				  ts);
			continue;
		}
		if (!ost_val_algorithm_supported(alg, &c->lim)) {
			NAMES();
			fail_note(&f, 1, OST_EDE_DNSSEC_BOGUS,
				  "zone %s: %s %s only signed with unsupported algorithm %u", zs,
				  os, ts, alg);
			continue;
		}
		w = ost_val_sig_window(sig, c->now);
		if (w) {
			NAMES();
			fail_note(&f, 3, w, "zone %s: RRSIG %u over %s %s %s", zs, tag, os, ts,
				  w == OST_EDE_SIG_EXPIRED         ? "expired"
				  : w == OST_EDE_SIG_NOT_YET_VALID ? "not yet valid"
								   : "expires before inception");
			continue;
		}
		cand = candidate_keys(keys, zone, sig, c->lim.max_keys_per_sig, &n_tag);
		if (!cand)
			return ost_val_internal(c, v, "out of memory");
		if (ldns_rr_list_rr_count(cand) == 0) {
			ldns_rr_list_free(cand);
			NAMES();
			fail_note(&f, 1, OST_EDE_DNSKEY_MISSING,
				  "zone %s: no DNSKEY %u/%u for RRSIG over %s %s", zs, tag, alg, os,
				  ts);
			continue;
		}
		if (n_tag > c->lim.max_keys_per_sig) {
			NAMES();
			ost_log(OST_LOG_INFO, "validator",
				"key tag collision zone=%s tag=%u keys=%u tried=%u", zs, tag, n_tag,
				c->lim.max_keys_per_sig);
		}
		if (!budget_take(c, ldns_rr_list_rr_count(cand))) {
			ldns_rr_list_free(cand);
			NAMES();
			return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
					   "zone %s: validation work limit (%u verifications) "
					   "reached at %s %s",
					   zs, c->lim.max_verify, os, ts);
		}
		if (ost_sigkey_alg_supported(alg)) {
			enum ost_val_sig o = ost_val_sig_check(c, vc, rrset, sig, cand);

			st = o == OST_VAL_SIG_OK         ? LDNS_STATUS_OK
			     : o == OST_VAL_SIG_INTERNAL ? LDNS_STATUS_SSL_ERR
							 : LDNS_STATUS_CRYPTO_BOGUS;
		} else {
			/* DSA, legacy test data only (allow_dsa): ldns's own path */
			ldns_rr *der = NULL;

			if ((alg == LDNS_DSA || alg == LDNS_DSA_NSEC3) && c->lim.allow_dsa)
				der = dsa_der_to_dns(sig, ldns_rr_list_rr(cand, 0));
			st = ldns_verify_rrsig_keylist_notime(rrset, der ? der : sig, cand, NULL);
			ldns_rr_free(der);
		}
		ldns_rr_list_free(cand);
		if (st != LDNS_STATUS_OK && c->over_budget) {
			NAMES();
			return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
					   "zone %s: validation work limit (%u verifications) "
					   "reached at %s %s",
					   zs, c->lim.max_verify, os, ts);
		}
		if (st == LDNS_STATUS_OK) {
			ost_val_secure(v);
			if (labels < sig_label_count(owner)) {
				v->is_wildcard = true;
				v->wc_labels = labels;
			}
			return OST_SEC_SECURE;
		}
		NAMES();
		/* Not a verdict: the signature could not be checked. Another
		 * RRSIG may still verify; if none does, this one might have. */
		if (st == LDNS_STATUS_MEM_ERR || st == LDNS_STATUS_SSL_ERR) {
			if (!why[0])
				snprintf(why, sizeof(why),
					 "zone %s: RRSIG %u over %s %s not checked", zs, tag, os,
					 ts);
			continue;
		}
		fail_note(&f, 2, OST_EDE_DNSSEC_BOGUS,
			  "zone %s: RRSIG %u over %s %s does not verify (%s)", zs, tag, os, ts,
			  ldns_get_errorstr_by_id(st));
	}
	/* RFC 4035 §5.3.3 needs one RRSIG that verifies; that none does is
	 * only evidence against the data when every one was checked. */
	if (why[0])
		return ost_val_internal(c, v, "%s", why);
	if (!any) {
		NAMES();
		return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_RRSIGS_MISSING,
				   "zone %s: no RRSIG over %s %s", zs, os, ts);
	}
	return ost_val_set(v, OST_SEC_BOGUS, f.ede, "%s", f.text);
}
#undef NAMES

/* ost_val_ds_match() with a digest OpenSSL could not compute told apart:
 * ldns_key_rr2ds() ignores OpenSSL's failures (SHA-384) and returns a wrong
 * digest, so a mismatch is computed again (validate_sig.c).
 * @return 1 match, 0 no match, -1 the digest could not be computed */
static int ds_check(struct ost_val_ctx *c, const ldns_rr *ds, const ldns_rr *key)
{
	uint8_t digest;

	if (ldns_rr_get_type(ds) != LDNS_RR_TYPE_DS || ldns_rr_rd_count(ds) != 4 ||
	    ldns_rr_get_type(key) != LDNS_RR_TYPE_DNSKEY || ldns_rr_rd_count(key) != 4)
		return 0;
	if (!same_name(ldns_rr_owner(ds), ldns_rr_owner(key)))
		return 0;
	if (ldns_rdf2native_int8(ldns_rr_rdf(ds, 1)) != ldns_rdf2native_int8(ldns_rr_rdf(key, 2)))
		return 0;
	if (ldns_rdf2native_int16(ldns_rr_rdf(ds, 0)) != ldns_calc_keytag(key))
		return 0;
	digest = ldns_rdf2native_int8(ldns_rr_rdf(ds, 2));
	if (!ost_val_digest_supported(digest, NULL))
		return 0;
	return ost_val_ds_digest_equal(ds, key) ? 1 : ost_val_ds_recheck(c, ds, key);
}

bool ost_val_ds_match(const ldns_rr *ds, const ldns_rr *key)
{
	struct ost_val_ctx c;

	ost_val_ctx_init(&c, NULL, 0);
	return ds_check(&c, ds, key) == 1;
}

/* @return ds_check() of @p key with its REVOKE bit cleared: 1 when the
 * anchored key is in the zone but revoked (RFC 5011 §2.1). */
static int ds_match_revoked(struct ost_val_ctx *c, const ldns_rr *ds, const ldns_rr *key)
{
	uint16_t flags = ldns_rdf2native_int16(ldns_rr_rdf(key, 0));
	ldns_rr *copy;
	ldns_rdf *nf;
	int ret;

	if (!(flags & FLAG_REVOKE))
		return 0;
	copy = ldns_rr_clone(key);
	nf = ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, flags & ~FLAG_REVOKE);
	if (!copy || !nf) {
		ldns_rr_free(copy);
		ldns_rdf_deep_free(nf);
		return -1;
	}
	ldns_rdf_deep_free(ldns_rr_set_rdf(copy, nf, 0));
	ret = ds_check(c, ds, copy);
	ldns_rr_free(copy);
	return ret;
}

/* @return true when @p a and @p b are the same key ignoring the REVOKE flag */
static bool same_key(const ldns_rr *a, const ldns_rr *b, bool *revoked)
{
	uint16_t fa = ldns_rdf2native_int16(ldns_rr_rdf(a, 0));
	uint16_t fb = ldns_rdf2native_int16(ldns_rr_rdf(b, 0));

	if (ldns_rr_rd_count(a) != 4 || ldns_rr_rd_count(b) != 4)
		return false;
	if ((fa & ~FLAG_REVOKE) != (fb & ~FLAG_REVOKE) ||
	    ldns_rdf_compare(ldns_rr_rdf(a, 2), ldns_rr_rdf(b, 2)) != 0 ||
	    ldns_rdf_compare(ldns_rr_rdf(a, 3), ldns_rr_rdf(b, 3)) != 0)
		return false;
	*revoked = (fb & FLAG_REVOKE) != 0;
	return true;
}

static bool push_unique(ldns_rr_list *l, ldns_rr *rr)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_list_rr(l, i) == rr)
			return true;
	return ldns_rr_list_push_rr(l, rr);
}

uint8_t ost_val_dnskey(struct ost_val_ctx *c, const ldns_rdf *zone, const ldns_rr_list *dnskeys,
		       const ldns_rr_list *sigs, const ldns_rr_list *ds,
		       const ldns_rr_list *anchor_keys, struct ost_val_verdict *v)
{
	char zs[64];
	ldns_rr_list *rrset = NULL, *trusted = NULL;
	unsigned n_ds = 0, n_usable = 0, bad_alg = 0, bad_digest = 0;
	int revoked_tag = -1, nozone_tag = -1, first_tag = -1;
	bool strong = false;
	uint8_t sec;

	dname_str(zone, zs, sizeof(zs));
	rrset = ost_val_rrset_of(dnskeys, zone, LDNS_RR_TYPE_DNSKEY);
	trusted = ldns_rr_list_new();
	if (!rrset || !trusted) {
		sec = ost_val_internal(c, v, "out of memory");
		goto out;
	}
	if (ldns_rr_list_rr_count(rrset) == 0) {
		sec = ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSKEY_MISSING,
				  "zone %s: no DNSKEY RRset", zs);
		goto out;
	}
	/* RFC 4509 §3: ignore SHA-1 DS when a SHA-256 (or SHA-384) one exists. */
	for (size_t i = 0; ds && i < ldns_rr_list_rr_count(ds); i++) {
		ldns_rr *d = ldns_rr_list_rr(ds, i);

		if (ldns_rr_get_type(d) == LDNS_RR_TYPE_DS && ldns_rr_rd_count(d) == 4 &&
		    same_name(ldns_rr_owner(d), zone) &&
		    ost_val_algorithm_supported(ldns_rdf2native_int8(ldns_rr_rdf(d, 1)), &c->lim) &&
		    ldns_rdf2native_int8(ldns_rr_rdf(d, 2)) != LDNS_SHA1 &&
		    ost_val_digest_supported(ldns_rdf2native_int8(ldns_rr_rdf(d, 2)), &c->lim))
			strong = true;
	}
	for (size_t i = 0; ds && i < ldns_rr_list_rr_count(ds); i++) {
		ldns_rr *d = ldns_rr_list_rr(ds, i);
		uint8_t alg, digest;

		if (ldns_rr_get_type(d) != LDNS_RR_TYPE_DS || ldns_rr_rd_count(d) != 4 ||
		    !same_name(ldns_rr_owner(d), zone))
			continue;
		if (n_ds++ == c->lim.max_ds)
			break;
		alg = ldns_rdf2native_int8(ldns_rr_rdf(d, 1));
		digest = ldns_rdf2native_int8(ldns_rr_rdf(d, 2));
		if (!ost_val_algorithm_supported(alg, &c->lim)) {
			bad_alg++;
			continue;
		}
		if (!ost_val_digest_supported(digest, &c->lim)) {
			bad_digest++;
			continue;
		}
		if (digest == LDNS_SHA1 && strong)
			continue;
		n_usable++;
		if (first_tag < 0)
			first_tag = ldns_rdf2native_int16(ldns_rr_rdf(d, 0));
		for (size_t k = 0; k < ldns_rr_list_rr_count(rrset); k++) {
			ldns_rr *key = ldns_rr_list_rr(rrset, k);
			uint16_t flags;

			if (ldns_rr_rd_count(key) != 4)
				continue;
			flags = ldns_rdf2native_int16(ldns_rr_rdf(key, 0));
			int m = ds_check(c, d, key), rev = m == 0 ? ds_match_revoked(c, d, key) : 0;

			if (m < 0 || rev < 0)
				goto not_checked;
			if (m && !(flags & FLAG_ZONE))
				nozone_tag = ldns_calc_keytag(key);
			else if (m && !push_unique(trusted, key))
				goto oom;
			else if (rev)
				revoked_tag = ldns_rdf2native_int16(ldns_rr_rdf(d, 0));
		}
	}
	for (size_t i = 0; anchor_keys && i < ldns_rr_list_rr_count(anchor_keys); i++) {
		ldns_rr *a = ldns_rr_list_rr(anchor_keys, i);
		bool present = false;

		if (ldns_rr_get_type(a) != LDNS_RR_TYPE_DNSKEY || ldns_rr_rd_count(a) != 4)
			continue;
		n_ds++;
		if (!ost_val_algorithm_supported(ldns_rdf2native_int8(ldns_rr_rdf(a, 2)),
						 &c->lim)) {
			bad_alg++;
			continue;
		}
		n_usable++;
		if (first_tag < 0)
			first_tag = ldns_calc_keytag(a);
		for (size_t k = 0; k < ldns_rr_list_rr_count(rrset); k++) {
			ldns_rr *key = ldns_rr_list_rr(rrset, k);
			bool rev = false;

			if (!same_key(a, key, &rev))
				continue;
			present = true;
			if (rev)
				revoked_tag = ldns_calc_keytag(a);
			else if (!push_unique(trusted, key))
				goto oom;
		}
		/* A configured key signs even when the zone no longer lists it
		 * (RFC 4035 §5: the anchor is trusted as configured), unless the
		 * zone publishes it revoked (RFC 5011 §2.1). */
		if (!present && !push_unique(trusted, a))
			goto oom;
	}
	if (n_ds == 0) {
		sec = ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSKEY_MISSING,
				  "zone %s: no DS or trust anchor for the DNSKEY RRset", zs);
		goto out;
	}
	if (n_usable == 0) {
		/* RFC 4035 §5.2, RFC 6840 §5.2: nothing we can check, so the
		 * zone is treated as unsigned. */
		if (bad_alg)
			sec = ost_val_set(v, OST_SEC_INSECURE, OST_EDE_UNSUPPORTED_DNSKEY_ALG,
					  "zone %s: only unsupported DNSKEY algorithms in DS", zs);
		else
			sec = ost_val_set(v, OST_SEC_INSECURE, OST_EDE_UNSUPPORTED_DS_DIGEST,
					  "zone %s: only unsupported DS digest types", zs);
		goto out;
	}
	if (ldns_rr_list_rr_count(trusted) == 0) {
		if (revoked_tag >= 0)
			sec = ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSKEY_MISSING,
					  "zone %s: anchored key %d is revoked (RFC 5011)", zs,
					  revoked_tag);
		else if (nozone_tag >= 0)
			sec = ost_val_set(v, OST_SEC_BOGUS, OST_EDE_NO_ZONE_KEY_BIT,
					  "zone %s: key %d matching the DS is not a zone key", zs,
					  nozone_tag);
		else
			sec = ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSKEY_MISSING,
					  "zone %s: no DNSKEY matches DS/anchor %d", zs, first_tag);
		goto out;
	}
	sec = ost_val_rrset(c, rrset, sigs, zone, trusted, v);
	if (sec != OST_SEC_SECURE && v->ede == OST_EDE_DNSKEY_MISSING)
		ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSKEY_MISSING,
			    "zone %s: DNSKEY RRset not signed by a key matching DS/anchor %d", zs,
			    first_tag);
	goto out;
not_checked:
	sec = ost_val_internal(c, v, "zone %s: DS digest not computed", zs);
	goto out;
oom:
	sec = ost_val_internal(c, v, "out of memory");
out:
	ldns_rr_list_free(rrset);
	ldns_rr_list_free(trusted);
	return sec;
}

uint8_t ost_val_dnskey_anchor(struct ost_val_ctx *c, const struct ost_ta *ta,
			      const ldns_rr_list *dnskeys, const ldns_rr_list *sigs,
			      struct ost_val_verdict *v)
{
	return ost_val_dnskey(c, ta->owner, dnskeys, sigs, ta->ds, ta->keys, v);
}

uint8_t ost_val_denial(struct ost_val_ctx *c, enum ost_denial kind, const ldns_rdf *qname,
		       uint16_t qtype, const ldns_rdf *zone, const ldns_rr_list *nsecs,
		       uint8_t wc_labels, struct ost_val_verdict *v)
{
	bool has_nsec = false, has_nsec3 = false;
	char zs[64];

	for (size_t i = 0; nsecs && i < ldns_rr_list_rr_count(nsecs); i++) {
		ldns_rr_type t = ldns_rr_get_type(ldns_rr_list_rr(nsecs, i));

		has_nsec |= t == LDNS_RR_TYPE_NSEC;
		has_nsec3 |= t == LDNS_RR_TYPE_NSEC3;
	}
	if (c->over_budget)
		return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
				   "validation work limit reached");
	if (has_nsec)
		return ost_nsec_denial(c, kind, qname, qtype, zone, nsecs, wc_labels, v);
	if (has_nsec3)
		return ost_nsec3_denial(c, kind, qname, qtype, zone, nsecs, wc_labels, v);
	return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_NSEC_MISSING, "zone %s: no NSEC/NSEC3 for %s",
			   dname_str(zone, zs, sizeof(zs)), ost_denial_str(kind));
}
