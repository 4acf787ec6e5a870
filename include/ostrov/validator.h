/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file validator.h
 * DNSSEC validation: trust anchors, negative trust anchors (RFC 7646), the
 * work limits of the validator and the Extended DNS Error codes it reports.
 *
 * The trust-anchor store is filled at start (the built-in IANA root
 * anchors, or the configured trust-anchor file instead) and is then read by
 * every worker without locking; a reload publishes a new anchor list
 * atomically (ost_ta_replace_anchors()). Negative trust anchors come from the
 * configuration (resolver.negative-trust-anchors: never expire) or are added
 * and removed at run time (`ostrovctl nta add|remove`: always expire); they
 * are guarded by a mutex inside the store.
 *
 * Example: the server reads "trust-anchor-file: /lab/ta.ds", calls
 * ost_ta_store_new() and ost_ta_load_file(); without the key it calls
 * ost_ta_add_builtin_root() (DS 20326 and 38696). A worker validating
 * "www.example.ru. A" calls ost_ta_lookup(), which returns the root anchor
 * (closest enclosing anchor); the chain root -> ru. -> example.ru. is then
 * followed by DS and DNSKEY. An operator runs "ostrovctl nta add ru. 3600"
 * during an incident: ost_ta_nta_add() makes the same lookup return
 * OST_TA_NTA and the answer is served as insecure (no AD) until the NTA
 * expires.
 */
#ifndef OSTROV_VALIDATOR_H
#define OSTROV_VALIDATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "ostrov/error.h"

/**
 * Extended DNS Error INFO-CODEs of the validator (RFC 8914 §4 and the IANA
 * registry), in addition to those of enum ost_ede in resolver.h.
 */
enum ost_val_ede {
	OST_EDE_UNSUPPORTED_DNSKEY_ALG = 1,    /**< only unsupported algorithms (insecure) */
	OST_EDE_UNSUPPORTED_DS_DIGEST = 2,     /**< only unsupported DS digests (insecure) */
	OST_EDE_DNSSEC_INDETERMINATE = 5,      /**< could not decide */
	OST_EDE_SIG_EXPIRED = 7,               /**< every usable RRSIG expired */
	OST_EDE_SIG_NOT_YET_VALID = 8,         /**< every usable RRSIG not yet valid */
	OST_EDE_DNSKEY_MISSING = 9,            /**< no DNSKEY matches the DS / RRSIG */
	OST_EDE_RRSIGS_MISSING = 10,           /**< an RRset without any RRSIG */
	OST_EDE_NO_ZONE_KEY_BIT = 11,          /**< the matching key is not a zone key */
	OST_EDE_NSEC_MISSING = 12,             /**< the denial proof is missing or wrong */
	OST_EDE_SIG_EXPIRED_BEFORE_VALID = 25, /**< RRSIG expiration before inception */
	OST_EDE_UNSUPPORTED_NSEC3_ITER = 27,   /**< NSEC3 iterations above the limit */
	OST_EDE_SYNTHESIZED = 29,              /**< answer synthesised from cache (RFC 8198) */
};

/** Bounds on the validator's work (KeyTrap, CVE-2023-50387/50868) and policy. */
struct ost_val_limits {
	unsigned max_verify;           /**< signature verifications per request */
	unsigned max_keys_per_sig;     /**< DNSKEYs tried per RRSIG (same key tag) */
	unsigned max_sigs_per_rrset;   /**< RRSIGs tried per RRset */
	unsigned max_ds;               /**< DS records considered per zone */
	unsigned max_nsec3_iterations; /**< above this: insecure, EDE 27 (RFC 9276 §3.2) */
	unsigned max_nsec3_hash_ops;   /**< SHA-1 computations for NSEC3 per request */
	bool allow_dsa;                /**< accept DSA (3, 6); RFC 8624 says MUST NOT */
	bool allow_sha1;               /**< accept RSASHA1 (5, 7) and DS digest 1 */
};

/**
 * Fill @p lim with defaults: 64 verifications, 4 keys per RRSIG, 8 RRSIGs per
 * RRset, 16 DS, 150 NSEC3 iterations (RFC 9276), 8192 NSEC3 SHA-1 operations,
 * DSA off, SHA-1 on (RFC 8624 §3.1 still requires 5 and 7).
 * @param lim the limits to fill
 */
OST_EXPORT void ost_val_limits_default(struct ost_val_limits *lim);

/**
 * @param alg a DNSKEY algorithm number
 * @param lim policy (DSA, SHA-1), NULL for the defaults
 * @return true when ostrov (through ldns and OpenSSL) validates @p alg
 */
OST_EXPORT bool ost_val_algorithm_supported(uint8_t alg, const struct ost_val_limits *lim);

/**
 * @param digest a DS digest type
 * @param lim policy (SHA-1), NULL for the defaults
 * @return true when ostrov validates DS records of @p digest (1, 2, 4)
 */
OST_EXPORT bool ost_val_digest_supported(uint8_t digest, const struct ost_val_limits *lim);

/** One trust anchor: a zone and its DS and/or DNSKEY records. */
struct ost_ta {
	ldns_rdf *owner;     /**< the zone, canonical (lower case) */
	ldns_rr_list *ds;    /**< DS anchors (may be empty) */
	ldns_rr_list *keys;  /**< DNSKEY anchors (may be empty) */
	struct ost_ta *next; /**< next anchor of the store */
};

/** Outcome of ost_ta_lookup(). */
enum ost_ta_kind {
	OST_TA_NONE = 0, /**< no anchor encloses the name: indeterminate */
	OST_TA_ANCHOR,   /**< a trust anchor encloses the name */
	OST_TA_NTA,      /**< a negative trust anchor at or below the closest anchor */
};

struct ost_ta_store;

/** Expiry of negative trust anchors that never expire (configured ones). */
#define OST_NTA_FOREVER INT64_MAX

/** Where a negative trust anchor comes from. */
enum ost_nta_source {
	OST_NTA_RUNTIME = 0, /**< `ostrovctl nta add`: expires (RFC 7646 §2) */
	OST_NTA_CONFIG,      /**< resolver.negative-trust-anchors: until the file changes */
	OST_NTA_SOURCE_COUNT,
};

/** @return "runtime", "config", or "?" */
OST_EXPORT const char *ost_nta_source_str(enum ost_nta_source src);

/** One negative trust anchor, as listed by ost_ta_nta_list(). */
struct ost_nta_info {
	char name[256];             /**< the zone, presentation format, lower case */
	enum ost_nta_source source; /**< where it comes from */
	int64_t until;              /**< wall second of expiry, OST_NTA_FOREVER */
};

/**
 * Make an empty store.
 * @param out receives the store
 * @return 0 or -ENOMEM
 */
OST_EXPORT OST_WUR int ost_ta_store_new(struct ost_ta_store **out);

/**
 * Free a store (NULL is allowed).
 * @param s the store
 */
OST_EXPORT void ost_ta_store_free(struct ost_ta_store *s);

/**
 * Add the IANA root anchors built into ostrov: DS 20326 (KSK-2017) and
 * 38696 (KSK-2024), algorithm 8, digest 2.
 * @param s the store
 * @return 0 or -ENOMEM
 */
OST_EXPORT OST_WUR int ost_ta_add_builtin_root(struct ost_ta_store *s);

/**
 * Add one DS or DNSKEY record as an anchor.
 * @param s the store
 * @param rr the record (copied)
 * @return 0, -EINVAL (not DS/DNSKEY, or a DNSKEY that is not a zone key),
 *         -ENOMEM
 */
OST_EXPORT OST_WUR int ost_ta_add_rr(struct ost_ta_store *s, const ldns_rr *rr);

/**
 * Add one record given in zone-file syntax ("example. DS 1234 8 2 ...").
 * @param s the store
 * @param text the record
 * @return 0, OST_EMALFORMED (unparseable), -EINVAL, -ENOMEM
 */
OST_EXPORT OST_WUR int ost_ta_add_str(struct ost_ta_store *s, const char *text);

/**
 * Add every DS and DNSKEY of a zone-file-syntax file ($ORIGIN, $TTL and
 * comments allowed; other record types are an error).
 * @param s the store
 * @param path the file
 * @param err receives "path:line: reason" on failure
 * @param errlen size of @p err
 * @return 0, -errno (cannot open), OST_EMALFORMED, OST_ECONFIG (no anchor
 *         in the file, or a record that is not DS/DNSKEY), -ENOMEM
 */
OST_EXPORT OST_WUR int ost_ta_load_file(struct ost_ta_store *s, const char *path, char *err,
					size_t errlen);

/** @return the number of anchored zones in @p s */
OST_EXPORT size_t ost_ta_count(const struct ost_ta_store *s);

/** @return the first anchor of @p s (iterate with ->next), NULL when empty */
OST_EXPORT const struct ost_ta *ost_ta_first(const struct ost_ta_store *s);

/**
 * Find what applies to @p name: the closest enclosing trust anchor, unless an
 * unexpired negative trust anchor encloses @p name at or below that anchor
 * (RFC 7646 §2: a trust anchor below an NTA still applies).
 * @param s the store
 * @param name the name
 * @param now_wall current wall-clock seconds (NTA expiry)
 * @param ta receives the anchor for OST_TA_ANCHOR, NULL otherwise
 * @return enum ost_ta_kind
 */
OST_EXPORT enum ost_ta_kind ost_ta_lookup(struct ost_ta_store *s, const ldns_rdf *name,
					  int64_t now_wall, const struct ost_ta **ta);

/**
 * Add (or extend) a run-time negative trust anchor for @p name and
 * everything below it.
 * @param s the store
 * @param name the zone
 * @param until_wall wall-clock second at which it expires (RFC 7646 §2: NTAs
 *        must expire)
 * @return 0, -EINVAL (not a name), -EPERM (@p name is a configured NTA: it
 *         changes only with the file), -ENOSPC (too many NTAs), -ENOMEM
 */
OST_EXPORT OST_WUR int ost_ta_nta_add(struct ost_ta_store *s, const ldns_rdf *name,
				      int64_t until_wall);

/**
 * Remove a run-time negative trust anchor.
 * @param s the store
 * @param name the zone
 * @return 0, -ENOENT, or -EPERM (a configured NTA: remove it from the file
 *         and reload)
 */
OST_EXPORT int ost_ta_nta_remove(struct ost_ta_store *s, const ldns_rdf *name);

/**
 * Count the negative trust anchors that have not expired at @p now_wall.
 * @param s the store
 * @param now_wall current wall-clock seconds
 * @return the number
 */
OST_EXPORT size_t ost_ta_nta_count(struct ost_ta_store *s, int64_t now_wall);

/**
 * Make @p names the configured NTAs (they never expire): configured NTAs not
 * in the list are removed, the others added; a run-time NTA of a listed name
 * becomes a configured one. Run-time NTAs are otherwise left alone.
 * @param s the store
 * @param names the zones (NULL allowed when @p n is 0)
 * @param n their number
 * @return 0, -EINVAL (not a name: nothing changed), -ENOSPC, -ENOMEM
 */
OST_EXPORT OST_WUR int ost_ta_nta_set_config(struct ost_ta_store *s, const ldns_rdf *const *names,
					     size_t n);

/**
 * List the negative trust anchors that have not expired at @p now_wall.
 * @param s the store
 * @param now_wall current wall-clock seconds
 * @param out receives up to @p cap entries (may be NULL when @p cap is 0)
 * @param cap size of @p out
 * @return the number of NTAs (may be more than @p cap)
 */
OST_EXPORT size_t ost_ta_nta_list(struct ost_ta_store *s, int64_t now_wall,
				  struct ost_nta_info *out, size_t cap);

/**
 * Remove the NTAs that expired at or before @p now_wall and say which (the
 * daemon logs them and drops the cache entries they made insecure).
 * @param s the store
 * @param now_wall current wall-clock seconds
 * @param out receives up to @p cap of them
 * @param cap size of @p out
 * @return the number removed (may be more than @p cap)
 */
OST_EXPORT size_t ost_ta_nta_expire(struct ost_ta_store *s, int64_t now_wall,
				    struct ost_nta_info *out, size_t cap);

/**
 * @return true when @p a and @p b hold the same anchors (zones and DS/DNSKEY
 *         records; TTLs and order do not matter)
 */
OST_EXPORT bool ost_ta_same_anchors(const struct ost_ta_store *a, const struct ost_ta_store *b);

/**
 * Publish the anchors of @p from in @p s at once (a reload of the
 * trust-anchor file); NTAs of @p s stay. @p from is left without anchors.
 * Lookups running in other threads see the old list or the new one, never a
 * mix; the old list stays allocated until @p s is freed, because a lookup
 * may still hold one of its anchors.
 * @param s the shared store
 * @param from a private store loaded with the new anchors
 * @return 0, -EINVAL (@p s is @p from) or -ENOMEM
 */
OST_EXPORT OST_WUR int ost_ta_replace_anchors(struct ost_ta_store *s, struct ost_ta_store *from);

/**
 * A counter that ost_ta_replace_anchors() increments: a validator that caches
 * keys proven from the anchors drops them when it changes.
 * @param s the store
 * @return the number of anchor lists published since the store was made
 */
OST_EXPORT uint64_t ost_ta_generation(struct ost_ta_store *s);

#endif
