/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file sigverify.h
 * Verifying an RRSIG with a DNSKEY converted once (RFC 4034 §3.1.8.1,
 * RFC 4035 §5.3), shared by the validator (resolver/validate.c) and the zone
 * mirror's DNSSEC check (zones/dnssec_check.c).
 *
 * ldns_verify_rrsig_keylist_notime() rebuilds the key's EVP_PKEY for every
 * signature it checks (for ECDSA that includes building the curve group inside
 * OpenSSL, which costs about as much as the verification itself), deep-clones
 * the RRset and allocates two 64 KiB buffers. Here the three steps are apart,
 * still done by ldns and OpenSSL:
 *
 * 1. ost_sigkey_init(): the DNSKEY's public key becomes an EVP_PKEY once, with
 *    ldns's converters (ldns_ecdsa2pkey_raw(), ldns_ed255192pkey_raw(),
 *    ldns_ed4482pkey_raw()) and, for RSA, from OpenSSL parameters. Also the
 *    zone mirror's check (zones/dnssec_check.c) converts its apex keys here. A struct
 * ost_sigkey_cache keeps a bounded number of converted keys per thread, keyed by the DNSKEY's owner
 * and full RDATA (never by key tag alone: tags collide).
 * 2. ost_sig_signed_data(): the data an RRSIG signs, RRSIG RDATA without the
 *    signature then the RRset in canonical form and order with the original
 *    TTL (and the wildcard owner when the labels field says so), written into
 *    a reusable buffer from ldns's canonical wire forms. A caller that already
 *    holds canonical wire forms (the zone mirror) builds it itself.
 * 3. ost_sigverify(): the signature checked by OpenSSL with the key's
 *    verification context made once (RSA, ECDSA: digest, then EVP_PKEY_verify(),
 *    which is what EVP_VerifyFinal() does inside ldns_verify_rrsig_evp_raw()),
 *    or with ldns_verify_rrsig_evp_raw() (EdDSA, one-shot); ECDSA signatures
 *    are converted to ASN.1 by ldns first.
 *
 * The validity window is a separate check, ost_sig_window(), done against the
 * caller's clock (never time()).
 *
 * Example: the validator checks "www.example.com. A" signed by example.com.
 * key 2854 (ECDSA P-256). It calls ost_sig_signed_data(buf, scratch, rrset,
 * rrsig) once, then for each candidate DNSKEY ost_sigkey_cache_get(cache,
 * dnskey), which converts the key the first time and returns the same
 * EVP_PKEY for every later signature by it, and ost_sigverify(key, rrsig's
 * signature field, buf, sigscratch) == 0 means the signature is good. The zone
 * mirror converts each apex key with ost_sigkey_init() once per check and calls
 * ost_sigverify() with its own signed data.
 *
 * Thread safety: ost_sigverify() reuses the key's contexts, so a key it is
 * given, and a cache, belong to one thread (one worker); nothing here locks.
 * ost_sigverify_shared() reads only the key's EVP_PKEY and digest, which
 * OpenSSL 3 allows several threads to use at once, and makes its own
 * contexts: the zone mirror's verify tasks share their apex keys through it.
 */
#ifndef OSTROV_SIGVERIFY_H
#define OSTROV_SIGVERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>
#include <openssl/evp.h>

#include "ostrov/error.h"

/**
 * A DNSKEY's public key ready for repeated verifications. For RSA and ECDSA
 * it also holds OpenSSL's verification context, initialised once (set up per
 * call, as ldns_verify_rrsig_evp_raw() does, it costs about 15 % of a P-256
 * verification), and a fetched digest: so verifying mutates it, and a key
 * belongs to one thread.
 */
struct ost_sigkey {
	EVP_PKEY *pkey;     /**< the converted key (owned) */
	const EVP_MD *md;   /**< digest for RSA/ECDSA; NULL for EdDSA (one-shot) */
	EVP_MD *fetched_md; /**< @p md fetched from the provider once (owned), or NULL */
	EVP_PKEY_CTX *vctx; /**< verify context with @p md set (owned), or NULL */
	EVP_MD_CTX *mdctx;  /**< digest context reused per verification (owned), or NULL */
	uint8_t alg;        /**< DNSSEC algorithm number */
	bool is_ecdsa;      /**< signatures need the r|s -> ASN.1 conversion */
};

/** Outcome of ost_sig_window(). */
enum ost_sig_time {
	OST_SIG_TIME_OK = 0,         /**< inception <= now <= expiration */
	OST_SIG_TIME_EXPIRED,        /**< now is after the expiration */
	OST_SIG_TIME_NOT_YET,        /**< now is before the inception */
	OST_SIG_TIME_EXP_BEFORE_INC, /**< expiration before inception: never valid */
	OST_SIG_TIME_COUNT,
};

/**
 * @return true when ost_sigkey_init() can convert keys of algorithm @p alg:
 *         5, 7, 8, 10 (RSA), 13, 14 (ECDSA), 15, 16 (EdDSA). DSA (3, 6) is
 *         not converted; callers keep ldns's own path for it.
 */
OST_EXPORT bool ost_sigkey_alg_supported(uint8_t alg);

/**
 * Convert a public key (DNSKEY RDATA field 4, RFC 4034 §2.1.4) once.
 * @param k receives the key; deinit with ost_sigkey_deinit() after success
 * @param alg DNSSEC algorithm number
 * @param pub the public key bytes (borrowed)
 * @param len their length
 * @return 0, -ENOTSUP for an algorithm not converted here, -EINVAL for a key
 *         ldns/OpenSSL refuse (wrong length, not on the curve), -ENOMEM
 */
OST_EXPORT int ost_sigkey_init(struct ost_sigkey *k, uint8_t alg, const uint8_t *pub, size_t len)
	__attribute__((warn_unused_result));

/**
 * Convert the key of a DNSKEY record.
 * @param k receives the key
 * @param dnskey a DNSKEY RR with 4 RDATA fields (borrowed)
 * @return as ost_sigkey_init(); -EINVAL when @p dnskey is not a DNSKEY
 */
OST_EXPORT int ost_sigkey_from_dnskey(struct ost_sigkey *k, const ldns_rr *dnskey)
	__attribute__((warn_unused_result));

/** Release @p k (safe on a zeroed or already released key). */
OST_EXPORT void ost_sigkey_deinit(struct ost_sigkey *k);

/**
 * Check a signature over prepared signed data.
 * @param k the key
 * @param sig the RRSIG's signature field (RDATA field 9) as in the wire
 * @param siglen its length
 * @param signed_data the signed data, from ldns_buffer_begin() to its position
 * @param scratch a buffer for the ECDSA ASN.1 form of @p sig (cleared here)
 * @return 0 when the signature is good, OST_EBOGUS when it is not (or is
 *         malformed), -ENOMEM
 */
OST_EXPORT int ost_sigverify(const struct ost_sigkey *k, const uint8_t *sig, size_t siglen,
			     const ldns_buffer *signed_data, ldns_buffer *scratch)
	__attribute__((warn_unused_result));

/**
 * ost_sigverify() for a key shared between threads: only @p k's EVP_PKEY and
 * digest are used (read-only), the OpenSSL contexts are made per call, and
 * every OpenSSL return is checked (ldns_verify_rrsig_evp_raw() ignores
 * EVP_VerifyInit()'s and crashes in the digest when it failed), so a failure
 * inside OpenSSL is told apart from a signature that does not match.
 * @param k the key (not modified; may be used by other threads meanwhile)
 * @param sig the RRSIG's signature field (RDATA field 9) as in the wire
 * @param siglen its length
 * @param signed_data the signed data, from ldns_buffer_begin() to its position
 * @param scratch a buffer of the calling thread for the ECDSA ASN.1 form of @p sig
 * @return 0 when the signature is good, OST_EBOGUS when it does not match
 *         (or is malformed), -ENOMEM when OpenSSL could not set the check up
 */
OST_EXPORT int ost_sigverify_shared(const struct ost_sigkey *k, const uint8_t *sig, size_t siglen,
				    const ldns_buffer *signed_data, ldns_buffer *scratch)
	__attribute__((warn_unused_result));

/**
 * Build the data an RRSIG signs (RFC 4034 §3.1.8.1, §6): the RRSIG RDATA
 * without the signature, then every RR of @p rrset in canonical form (owner
 * and the RDATA names of RFC 4034 §6.2 lowercased, TTL = the RRSIG's original
 * TTL, the owner "*." + the last `labels` labels for a wildcard expansion),
 * sorted by canonical RDATA (RFC 4034 §6.3).
 * @param out receives the data (cleared first; position = its end)
 * @param scratch a work buffer (cleared here)
 * @param rrset one RRset: same owner, class and type (borrowed, not modified)
 * @param rrsig an RRSIG with 9 RDATA fields covering that type (borrowed)
 * @return 0, -EINVAL (not an RRSIG over this type, labels above the owner's,
 *         an empty set or more than 512 RRs), -ENOMEM
 */
OST_EXPORT int ost_sig_signed_data(ldns_buffer *out, ldns_buffer *scratch,
				   const ldns_rr_list *rrset, const ldns_rr *rrsig)
	__attribute__((warn_unused_result));

/**
 * Check @p rrsig over @p rrset by @p dnskey from scratch, sharing nothing with
 * an earlier check: the key converted anew, the signed data built in fresh
 * buffers, ost_sigverify_shared() on contexts of its own. For the second look
 * at a signature that failed once, where a verifier's failure (an OpenSSL
 * allocation) must not be taken for a forgery (the validator's
 * resolver/validate_sig.c, the mirror import's zones/dnssec_check.c).
 * @param rrset one RRset (borrowed)
 * @param rrsig an RRSIG covering it (borrowed)
 * @param dnskey the DNSKEY to check it with (borrowed)
 * @return 0 when it verifies, OST_EBOGUS when it does not, -ENOMEM when the
 *         check could not be set up, -EINVAL when it cannot be checked here
 *         (an algorithm not converted, a malformed key or RRSIG)
 */
OST_EXPORT int ost_sigverify_fresh(const ldns_rr_list *rrset, const ldns_rr *rrsig,
				   const ldns_rr *dnskey) __attribute__((warn_unused_result));

/**
 * The validity window of an RRSIG at @p now: RFC 4034 §3.1.5 serial number
 * arithmetic (RFC 1982), inception <= now <= expiration (RFC 4035 §5.3.1).
 * @param expiration RDATA field 5
 * @param inception RDATA field 6
 * @param now seconds since the epoch, from the caller's clock
 * @return enum ost_sig_time
 */
OST_EXPORT enum ost_sig_time ost_sig_window(uint32_t expiration, uint32_t inception, int64_t now);

/** Counters of a struct ost_sigkey_cache. */
struct ost_sigkey_cache_stats {
	uint64_t hits;      /**< lookups answered from the cache */
	uint64_t misses;    /**< lookups that converted the key */
	uint64_t evictions; /**< keys dropped to make room */
	uint64_t failures;  /**< keys that could not be converted (not cached) */
	size_t count;       /**< keys held now */
	size_t capacity;    /**< keys held at most */
};

/** A bounded per-thread cache of converted DNSKEYs. */
struct ost_sigkey_cache;

/**
 * Make a cache.
 * @param out receives it (free with ost_sigkey_cache_free())
 * @param capacity keys held at most (rounded up to a multiple of 4; 0 for 256)
 * @return 0 or -ENOMEM
 */
OST_EXPORT int ost_sigkey_cache_new(struct ost_sigkey_cache **out, size_t capacity)
	__attribute__((warn_unused_result));

/** Free @p c and every key in it (NULL is fine). */
OST_EXPORT void ost_sigkey_cache_free(struct ost_sigkey_cache *c);

/**
 * The converted key of @p dnskey: from the cache when the same owner (case
 * insensitive) and RDATA were converted before, else converted now and kept,
 * evicting the least recently used key of its set when full.
 * @param c the cache
 * @param dnskey a DNSKEY RR (borrowed)
 * @param err receives 0 or the ost_sigkey_init() error when NULL is returned
 * @return the key, valid until the next ost_sigkey_cache_get() or free on @p c
 */
OST_EXPORT const struct ost_sigkey *ost_sigkey_cache_get(struct ost_sigkey_cache *c,
							 const ldns_rr *dnskey, int *err);

/** Fill @p st with the counters of @p c. */
OST_EXPORT void ost_sigkey_cache_stats(const struct ost_sigkey_cache *c,
				       struct ost_sigkey_cache_stats *st);

#endif
