/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private interface of the DNSSEC validation library (validate.c, nsec.c,
 * nsec3.c): pure functions over ldns records, a pinned "now" and a per-request
 * work budget. The engine (request.c) calls them; they never do I/O, never
 * read the clock and never allocate from a request arena (ldns objects they
 * make are freed before they return).
 *
 * Example: a reply for "www.example.com. A" arrives with an A RRset, its
 * RRSIG by example.com. (tag 2854) and the engine already holds the validated
 * DNSKEY RRset of example.com.; ost_val_rrset() checks the RRSIG fields
 * (RFC 4035 §5.3.1), the validity window at ctx->now, tries at most
 * max_keys_per_sig keys with tag 2854 and returns OST_SEC_SECURE. Had the
 * RRSIG's labels field been 2, the verdict says is_wildcard with wc_labels 2
 * and the engine must also call ost_val_denial(OST_DENY_WILDCARD) with the
 * NSEC/NSEC3 records of the authority section.
 */
#ifndef OSTROV_RESOLVER_VALIDATE_H
#define OSTROV_RESOLVER_VALIDATE_H

#include <stdbool.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "ostrov/cache.h"
#include "ostrov/resolver.h"
#include "ostrov/sigverify.h"
#include "ostrov/validator.h"

/** Size of a verdict's EXTRA-TEXT buffer (fits struct ost_task's ede_text). */
#define OST_VAL_TEXT_MAX 128

/** What the validator concluded about one RRset, proof or chain link. */
struct ost_val_verdict {
	uint8_t sec;                 /**< enum ost_sec */
	bool has_ede;                /**< @p ede applies (bogus, or insecure with a reason) */
	uint16_t ede;                /**< RFC 8914 INFO-CODE */
	bool is_wildcard;            /**< the RRset was synthesised from a wildcard */
	uint8_t wc_labels;           /**< RRSIG labels field when @p is_wildcard */
	char text[OST_VAL_TEXT_MAX]; /**< EXTRA-TEXT: zone and reason */
	/**
	 * Set with OST_SEC_BOGUS by ost_val_internal(): a check could not be
	 * done (OpenSSL failed, out of memory), which says nothing against
	 * the data. The sec stays BOGUS so that no caller ever accepts it; a
	 * caller that caches verdicts must not cache this one.
	 */
	bool is_internal;
};

/**
 * What one resolver (one worker thread) keeps for signature checks across
 * requests: its converted DNSKEYs and the buffers the signed data is built
 * in, so that a cache miss does not convert a key or allocate 64 KiB buffers
 * per signature (ldns_verify_rrsig_keylist_notime() does both).
 */
struct ost_val_crypto {
	struct ost_sigkey_cache *keys; /**< converted DNSKEYs, bounded */
	ldns_buffer *signed_data;      /**< the data an RRSIG signs */
	ldns_buffer *scratch;          /**< canonical RRs before sorting */
	ldns_buffer *sigbuf;           /**< an ECDSA signature in ASN.1 */
};

/**
 * Prepare @p vc.
 * @param vc the state
 * @param n_keys converted keys kept at most (0: the default, 256)
 * @return 0 or -ENOMEM (then @p vc is clean)
 */
int ost_val_crypto_init(struct ost_val_crypto *vc, size_t n_keys)
	__attribute__((warn_unused_result));

/** Release @p vc (safe on a zeroed one). */
void ost_val_crypto_deinit(struct ost_val_crypto *vc);

/** Per-request validation state: the time and the remaining budget. */
struct ost_val_ctx {
	struct ost_val_limits lim;     /**< copy of the limits */
	int64_t now;                   /**< wall-clock seconds used for RRSIG windows */
	unsigned n_verify;             /**< signature verifications done */
	unsigned n_hash_ops;           /**< NSEC3 SHA-1 operations done */
	bool over_budget;              /**< a limit was hit: everything after is bogus */
	struct ost_val_crypto *crypto; /**< the resolver's (borrowed); NULL: a temporary one */
	/**
	 * A check could not be done (ost_val_internal()), sticky like
	 * @p over_budget: a failure verdict of this request is not evidence
	 * against the data, the request ends SERVFAIL without a bogus claim
	 * and nothing of it is cached as bogus.
	 */
	bool internal_error;
	char internal_why[OST_VAL_TEXT_MAX]; /**< the first such failure (EXTRA-TEXT) */
	/** For the log: how the first failed check failed, with OpenSSL's
	 * message (validate_sig.c), or "". */
	char internal_detail[160];
	unsigned n_recheck; /**< failed signature checks done again from scratch */
	/** Known-answer tests of this request, per key family and DS digest
	 * (validate_sig.c): 0 not run, 1 passed, -1 failed. */
	int8_t crypto_ok[6];
};

/** Which denial of existence a proof must establish. */
enum ost_denial {
	/** The name does not exist and no wildcard could have matched it. */
	OST_DENY_NXDOMAIN = 0,
	/** The name exists (or a wildcard matches it) but not with this type. */
	OST_DENY_NODATA,
	/** A wildcard expansion: no closer match for the name exists. */
	OST_DENY_WILDCARD,
	/** A referral without DS: the child zone is provably unsigned. */
	OST_DENY_NO_DS,
	OST_DENY_COUNT,
};

/** @return the name of @p d for logs */
const char *ost_denial_str(enum ost_denial d);

/** @return the name of @p sec (enum ost_sec) for logs and EXTRA-TEXT */
const char *ost_sec_str(uint8_t sec);

/**
 * Prepare a context.
 * @param c the context
 * @param lim limits, NULL for ost_val_limits_default()
 * @param now wall-clock seconds for validity windows
 */
void ost_val_ctx_init(struct ost_val_ctx *c, const struct ost_val_limits *lim, int64_t now);

/** Set @p v to secure (no EDE). */
void ost_val_secure(struct ost_val_verdict *v);

/** Set @p v to @p sec with an EDE and an EXTRA-TEXT; returns @p sec. */
uint8_t ost_val_set(struct ost_val_verdict *v, uint8_t sec, uint16_t ede, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/**
 * Set @p v to the internal-failure outcome: OST_SEC_BOGUS with is_internal,
 * EDE 0 (Other Error, RFC 8914 §4.1: the failure is the resolver's own, so
 * neither 6 "DNSSEC Bogus" nor 5 "DNSSEC Indeterminate", which RFC 4035
 * §4.3 ties to a missing trust anchor, may be claimed), and mark @p c
 * (internal_error, internal_why).
 * @param c the request's context
 * @param v the verdict
 * @param fmt EXTRA-TEXT (printf)
 * @return OST_SEC_BOGUS
 */
uint8_t ost_val_internal(struct ost_val_ctx *c, struct ost_val_verdict *v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** The outcome of one RRSIG checked against its candidate keys. */
enum ost_val_sig {
	OST_VAL_SIG_OK = 0,   /**< a candidate key verifies it */
	OST_VAL_SIG_BAD,      /**< no candidate verifies it, each checked twice: bogus evidence */
	OST_VAL_SIG_INTERNAL, /**< a candidate could not be checked (OpenSSL, memory) */
	OST_VAL_SIG_COUNT,
};

/**
 * Check @p sig over @p rrset with the keys of @p cand (validate_sig.c): on
 * the resolver's converted keys and buffers first; a failure is checked
 * again from scratch and, when it repeats, told apart from an OpenSSL
 * failure by a known-answer test of the key's family (once per request).
 * Nothing but the first check is done when it verifies.
 * @param c the request's context (rechecks counted, the known-answer test
 *        kept, internal_detail set by the first internal failure)
 * @param vc the resolver's keys and buffers
 * @param rrset the RRset (borrowed)
 * @param sig an RRSIG over it with 9 RDATA fields (borrowed)
 * @param cand candidate DNSKEYs (same tag and algorithm; borrowed)
 * @return enum ost_val_sig
 */
enum ost_val_sig ost_val_sig_check(struct ost_val_ctx *c, struct ost_val_crypto *vc,
				   const ldns_rr_list *rrset, const ldns_rr *sig,
				   const ldns_rr_list *cand);

/**
 * A DS digest that did not match @p key computed again (validate_sig.c):
 * ldns_key_rr2ds() returns a wrong digest when OpenSSL fails inside it. When
 * the second digest does not match either, a known-answer test of the digest
 * type (once per request) tells a mismatch from OpenSSL failing.
 * @param c the request's context
 * @param ds the DS (owner, tag, algorithm already matched; borrowed)
 * @param key the DNSKEY (borrowed)
 * @return 1 it matches after all, 0 it does not, -1 the digest could not be
 *         computed (internal failure; c->internal_detail says so)
 */
int ost_val_ds_recheck(struct ost_val_ctx *c, const ldns_rr *ds, const ldns_rr *key);

/** @return whether @p key's digest of @p ds's digest type (ldns_key_rr2ds()) equals @p ds's */
bool ost_val_ds_digest_equal(const ldns_rr *ds, const ldns_rr *key);

/**
 * Check an RRSIG's validity window at @p now (RFC 4034 §3.1.5 serial
 * arithmetic, RFC 4035 §5.3.1: inception <= now <= expiration).
 * @return 0 when valid, else OST_EDE_SIG_EXPIRED, OST_EDE_SIG_NOT_YET_VALID
 *         or OST_EDE_SIG_EXPIRED_BEFORE_VALID
 */
uint16_t ost_val_sig_window(const ldns_rr *sig, int64_t now);

/**
 * Select the RRSIGs of @p sigs that cover (@p owner, @p type).
 * @return a new list of borrowed pointers (free with ldns_rr_list_free), or NULL
 */
ldns_rr_list *ost_val_sigs_for(const ldns_rr_list *sigs, const ldns_rdf *owner, uint16_t type);

/**
 * Split @p rrs into the RRset (@p owner, @p type) (borrowed pointers).
 * @return a new list (free with ldns_rr_list_free), or NULL
 */
ldns_rr_list *ost_val_rrset_of(const ldns_rr_list *rrs, const ldns_rdf *owner, uint16_t type);

/**
 * Verify one RRset with its RRSIGs against the DNSKEY RRset of @p zone.
 * A signature counts only when its fields pass RFC 4035 §5.3.1, its window
 * holds at c->now, its algorithm is supported and a zone key (not revoked)
 * with its tag and algorithm verifies it. At most max_sigs_per_rrset RRSIGs
 * and max_keys_per_sig keys per RRSIG are tried, and each try counts against
 * max_verify.
 * @param c the context (budget)
 * @param rrset the RRset (one owner, type and class; not modified)
 * @param sigs RRSIGs (others than this RRset's are ignored); may be NULL
 * @param zone the signer expected (the zone the RRset belongs to)
 * @param keys DNSKEYs of @p zone trusted for this (already validated)
 * @param v receives the verdict (is_wildcard/wc_labels on success)
 * @return OST_SEC_SECURE or OST_SEC_BOGUS
 */
uint8_t ost_val_rrset(struct ost_val_ctx *c, const ldns_rr_list *rrset, const ldns_rr_list *sigs,
		      const ldns_rdf *zone, const ldns_rr_list *keys, struct ost_val_verdict *v);

/**
 * @return true when @p key (DNSKEY) matches @p ds: same owner, key tag,
 *         algorithm and digest (computed with ldns_key_rr2ds). The digest type
 *         must be supported; otherwise false.
 */
bool ost_val_ds_match(const ldns_rr *ds, const ldns_rr *key);

/**
 * Validate the DNSKEY RRset of @p zone from a DS RRset (validated at the
 * parent, or a trust anchor) and/or trusted DNSKEYs (trust anchor): a
 * DS-matched (or anchor) key that is a zone key and not revoked must sign the
 * DNSKEY RRset. DS records with an unsupported algorithm or digest are
 * ignored; when none is left the zone is insecure (RFC 4035 §5.2, RFC 6840
 * §5.2). SHA-1 DS records are ignored when SHA-256/384 ones exist
 * (RFC 4509 §3).
 * @param c the context
 * @param zone the zone
 * @param dnskeys the zone's DNSKEY RRset as received
 * @param sigs RRSIGs (those over the DNSKEY RRset are used)
 * @param ds DS records for @p zone, or NULL
 * @param anchor_keys DNSKEY trust anchors for @p zone, or NULL
 * @param v receives the verdict; EDE 9 names a missing or revoked anchor key
 * @return OST_SEC_SECURE, OST_SEC_INSECURE or OST_SEC_BOGUS
 */
uint8_t ost_val_dnskey(struct ost_val_ctx *c, const ldns_rdf *zone, const ldns_rr_list *dnskeys,
		       const ldns_rr_list *sigs, const ldns_rr_list *ds,
		       const ldns_rr_list *anchor_keys, struct ost_val_verdict *v);

/**
 * Validate a DNSKEY RRset against a trust anchor (ost_val_dnskey() with the
 * anchor's DS and DNSKEY records).
 */
uint8_t ost_val_dnskey_anchor(struct ost_val_ctx *c, const struct ost_ta *ta,
			      const ldns_rr_list *dnskeys, const ldns_rr_list *sigs,
			      struct ost_val_verdict *v);

/**
 * Prove a denial of existence with validated NSEC or NSEC3 records
 * (whichever @p nsecs holds; NSEC wins when both are present).
 * @param c the context (NSEC3 hash budget)
 * @param kind what to prove
 * @param qname the name (for OST_DENY_NO_DS: the delegation's name)
 * @param qtype the type (OST_DENY_NODATA)
 * @param zone the zone whose NSEC/NSEC3 records these are (the signer)
 * @param nsecs NSEC/NSEC3 records, every RRset already validated
 * @param wc_labels for OST_DENY_WILDCARD: the RRSIG labels field
 * @param v receives the verdict
 * @return OST_SEC_SECURE (proven), OST_SEC_INSECURE (opt-out, or NSEC3
 *         parameters beyond the limits, or for OST_DENY_NO_DS: proven
 *         unsigned delegation) or OST_SEC_BOGUS
 */
uint8_t ost_val_denial(struct ost_val_ctx *c, enum ost_denial kind, const ldns_rdf *qname,
		       uint16_t qtype, const ldns_rdf *zone, const ldns_rr_list *nsecs,
		       uint8_t wc_labels, struct ost_val_verdict *v);

/* ---- nsec.c ---- */

/** ost_val_denial() for NSEC records (RFC 4035 §5.4, RFC 6840 §4.1, §4.3). */
uint8_t ost_nsec_denial(struct ost_val_ctx *c, enum ost_denial kind, const ldns_rdf *qname,
			uint16_t qtype, const ldns_rdf *zone, const ldns_rr_list *nsecs,
			uint8_t wc_labels, struct ost_val_verdict *v);

/**
 * @return true when @p nsec's span strictly covers @p name in canonical
 *         order (owner < name < next, the last NSEC wrapping to the apex)
 */
bool ost_nsec_covers(const ldns_rr *nsec, const ldns_rdf *name);

/** @return true when the type bitmap of @p rr (NSEC or NSEC3) has @p type */
bool ost_nsec_has_type(const ldns_rr *rr, uint16_t type);

/* ---- nsec3.c ---- */

/** ost_val_denial() for NSEC3 records (RFC 5155 §8, RFC 9276 §3.2). */
uint8_t ost_nsec3_denial(struct ost_val_ctx *c, enum ost_denial kind, const ldns_rdf *qname,
			 uint16_t qtype, const ldns_rdf *zone, const ldns_rr_list *nsecs,
			 uint8_t wc_labels, struct ost_val_verdict *v);

/* ---- validate_task.c: the engine's use of the library ---- */

struct ost_task;
struct ost_resolver;
struct kc_entry;
struct ost_val_aggr;

/** The validator state of one resolver (struct ost_resolver's val). */
struct ost_val_res {
	struct ost_ta_store *ta;      /**< anchors (borrowed from the config, or owned) */
	bool own_ta;                  /**< @p ta is the built-in store made here */
	struct kc_entry *head;        /**< zone-key cache (validate_task.c) */
	size_t n;                     /**< its entries */
	struct ost_val_aggr *aggr;    /**< validated NSEC spans (validate_aggr.c), or NULL */
	struct ost_val_crypto crypto; /**< converted keys and buffers of this resolver */
};

/** What ost_val_task_step() asks of the engine. */
enum ost_val_action {
	/** t->sec is final; a bogus result has already become SERVFAIL + EDE. */
	OST_VAL_DONE = 0,
	/** Resolve (name, type) as a CD=1 sub-request, then ost_val_task_feed(). */
	OST_VAL_FETCH,
};

/**
 * Set up the resolver's validator: the trust anchors (the configured store,
 * or the built-in root anchors) and the cache of validated zone keys.
 * @return 0 or -ENOMEM
 */
int ost_val_resolver_init(struct ost_resolver *r);

/** Free what ost_val_resolver_init() made. */
void ost_val_resolver_deinit(struct ost_resolver *r);

/**
 * Validate the final result of @p t (OST_TS_VALIDATE): the answer RRsets,
 * wildcard proofs and negative proofs, walking the chain of trust from the
 * closest trust anchor down to each signer with DS and DNSKEY fetches.
 * Nothing is checked for sub-requests, CD=1 requests or with validation off.
 * @param t the task
 * @param name receives the name to fetch (OST_VAL_FETCH)
 * @param type receives the type to fetch
 * @return enum ost_val_action
 */
enum ost_val_action ost_val_task_step(struct ost_task *t, const ldns_rdf **name, uint16_t *type);

/**
 * Hand the result of the fetch asked by ost_val_task_step() to the validator
 * (the DS or DNSKEY RRset, or the proof of its absence, is checked here and
 * the conclusion kept in the resolver's zone-key cache).
 * @param t the task
 * @param child the finished sub-request (borrowed)
 */
void ost_val_task_feed(struct ost_task *t, const struct ost_task *child);

/**
 * End @p t's validation, which could not be done (validate_sig.c): SERVFAIL
 * for this query, as Unbound does, but no verdict on the data. EDE 0 "Other
 * Error" (RFC 8914 §4.1) and an EXTRA-TEXT that says so: 6 "DNSSEC Bogus"
 * would claim the data failed validation, 5 "DNSSEC Indeterminate" that no
 * trust anchor applies (RFC 4035 §4.3). The task is marked is_internal, so
 * stash.c caches no RFC 9520 failure entry for it. Logged once, at error
 * level, with OpenSSL's message when it gave one.
 * @param t the task
 * @param c its validation context (internal_error set)
 * @return OST_VAL_DONE
 */
enum ost_val_action ost_val_fail_internal(struct ost_task *t, const struct ost_val_ctx *c);

/* ---- validate_aggr.c: aggressive use of validated NSEC (RFC 8198) ---- */

/**
 * Keep the validated NSEC records of @p nsecs (zone @p zone) with their
 * RRSIGs and the zone's SOA, all taken from @p all, for their TTL.
 */
void ost_val_aggr_store(struct ost_resolver *r, const ldns_rdf *zone, const ldns_rr_list *nsecs,
			const ldns_rr_list *all, int64_t now);

/**
 * Keep the wildcard RRset that the validated RRset (@p owner, @p type) of
 * @p answer was expanded from (RFC 8198 §5.3): the records and RRSIGs
 * renamed to "*." plus the rightmost @p labels labels of @p owner. Only for
 * a zone whose NSEC spans are kept (the expansion's proof).
 * @param labels the RRSIGs' labels field
 */
void ost_val_aggr_store_wildcard(struct ost_resolver *r, const ldns_rdf *zone,
				 const ldns_rr_list *answer, const ldns_rdf *owner, uint16_t type,
				 uint8_t labels, int64_t now);

/**
 * Answer @p t (a CD=0 client request, validation on) NXDOMAIN or NODATA from
 * kept NSEC spans when they prove it (RFC 8198 §5), or with a kept wildcard
 * RRset when a span proves the name is covered by it (§5.3; a CNAME is
 * followed through the cache); counts stats.aggressive_nsec.
 * @return true when t's result is final
 */
bool ost_val_aggr_answer(struct ost_task *t);

/** Free the spans of a resolver (NULL is allowed). */
void ost_val_aggr_free(struct ost_val_aggr *a);

#endif
