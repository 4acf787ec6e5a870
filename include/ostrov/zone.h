/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file zone.h
 * The zone mirror: verified local copies of whole zones (the root, national
 * TLDs) per RFC 8806, checked with DNSSEC and ZONEMD (RFC 8976) before use,
 * kept in their own LMDB environment, and looked up by the resolver.
 *
 * Three layers, each usable on its own:
 * - zone data + verification (zones/zone_data.c, zonemd.c, dnssec_check.c):
 *   parse a zone file, in-memory text or transferred records into a
 *   canonically ordered set, then verify it: apex DNSKEY chained to the
 *   configured anchors, every authoritative RRset signed and valid at the
 *   clock's time, ZONEMD digest (RFC 8976 §4), serial never lower (RFC 1982),
 *   size limits. The outcome is a struct ost_zone_verify_result: a verdict,
 *   a human reason naming the failing RRset and the zone's metadata.
 * - the store (zones/store.c): one LMDB environment, per zone the current
 *   verified version, replaced atomically; zero-copy lookups by owner/type,
 *   closest delegation and NSEC/NSEC3 predecessor.
 * - the mirror (zones/mirror.c): per-zone configuration and policy, import
 *   (parse -> verify -> commit, or reject and keep the last good version),
 *   verdict counters and status for `ostrovctl zone list`.
 *
 * Example: at start the daemon calls ost_mirror_start(); the stored root
 * copy (serial 2021011901) is re-verified against the current clock and
 * stays usable. Later the transfer code receives a new AXFR and calls
 * ost_mirror_import_rrs(m, ".", rrs, "xfr:127.53.0.1", now, &res); one
 * RRSIG does not verify, so res.verdict is OST_ZV_BOGUS_SIG with reason
 * "RRSIG over com./DS by key 17913 does not verify", the counter
 * mirror_verify_total{zone=".",result="bogus_sig"} goes up, and lookups keep
 * answering from serial 2021011901. The resolver asks
 * ost_zone_rtxn_find_cut(txn, "www.example.com.") and gets the NS RRset of
 * "com." with its glue available by exact lookups.
 *
 * Nothing here reads the clock or opens sockets: time comes from
 * struct ost_clock, records from the caller.
 */
#ifndef OSTROV_ZONE_H
#define OSTROV_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "ostrov/clock.h"
#include "ostrov/error.h"
#include "ostrov/exec.h"

/** Outcome of verifying one version of a zone; the metric label is ost_zone_verdict_str(). */
enum ost_zone_verdict {
	/** Every check passed; the version may be used. */
	OST_ZV_OK = 0,
	/** A supported ZONEMD was computed and no ZONEMD digest matches (RFC 8976 §4 5.f). */
	OST_ZV_ZONEMD_MISMATCH,
	/** No apex ZONEMD although policy requires one or the apex NSEC says it exists (§4 2). */
	OST_ZV_NO_ZONEMD,
	/** The only ZONEMD RRs carry a serial different from the SOA's (§4 5.a). */
	OST_ZV_ZONEMD_SERIAL_MISMATCH,
	/** ZONEMD present but none usable: unknown scheme/algorithm, bad size, duplicates (§4 4-5).
	 */
	OST_ZV_UNSUPPORTED_ZONEMD,
	/** An RRSIG over an authoritative RRset does not verify with the zone's keys. */
	OST_ZV_BOGUS_SIG,
	/** Signatures verify cryptographically but are outside their validity window now. */
	OST_ZV_EXPIRED_SIG,
	/** An authoritative RRset that must be signed has no RRSIG. */
	OST_ZV_MISSING_SIG,
	/** No apex DNSKEY matches a trust anchor, or the DNSKEY RRset is not signed by one. */
	OST_ZV_DNSKEY_NOT_CHAINED,
	/** The SOA serial is lower than the current copy's (RFC 1982 arithmetic). */
	OST_ZV_LOWER_SERIAL,
	/** Syntax error, missing or foreign SOA, $INCLUDE, bad records. */
	OST_ZV_PARSE_ERROR,
	/** The zone exceeds the configured byte or record limit. */
	OST_ZV_TOO_LARGE,
	/** The stored copy was not refreshed before its SOA expire deadline (RFC 8806 §3). */
	OST_ZV_SOA_EXPIRED,
	/** Verified, but could not be stored (I/O, map full); the old version stays. */
	OST_ZV_STORE_ERROR,
	OST_ZV_COUNT,
};

/**
 * Name a verdict for logs and metric labels.
 * @param v the verdict
 * @return "ok", "zonemd_mismatch", ... never NULL
 */
OST_EXPORT const char *ost_zone_verdict_str(enum ost_zone_verdict v);

/** What became of the ZONEMD check of a version. */
enum ost_zonemd_result {
	OST_ZONEMD_NOT_CHECKED = 0, /**< policy said not to check (e.g. a partial excerpt) */
	OST_ZONEMD_ABSENT,          /**< no apex ZONEMD and none required */
	OST_ZONEMD_VERIFIED,        /**< one supported ZONEMD digest matched */
	OST_ZONEMD_FAILED,          /**< present but not verified (see the verdict) */
	OST_ZONEMD_RESULT_COUNT,
};

/**
 * Name a ZONEMD result.
 * @param r the result
 * @return "not_checked", "absent", "verified", "failed"
 */
OST_EXPORT const char *ost_zonemd_result_str(enum ost_zonemd_result r);

/** How strictly ZONEMD is checked. */
enum ost_zonemd_mode {
	OST_ZONEMD_CHECK_IF_PRESENT = 0, /**< verify when present; absence is fine unless denied */
	OST_ZONEMD_REQUIRE,              /**< absence is OST_ZV_NO_ZONEMD */
	OST_ZONEMD_SKIP,                 /**< never digest (partial excerpts, diagnostics only) */
};

/** Policy limits for one zone. Zero in a limit means "no limit". */
struct ost_zone_policy {
	enum ost_zonemd_mode zonemd; /**< ZONEMD strictness */
	uint64_t max_bytes;          /**< maximum zone size: file bytes or summed wire size */
	uint64_t max_records;        /**< maximum number of RRs (including RRSIGs) */
	unsigned max_key_tries;      /**< DNSKEYs tried per RRSIG (same tag+alg); 0 = 4 */
	/** Runs the independent parts of a parse or check (RRSIG verification per RRset,
	 * chunks of a zone file) on several threads; borrowed, must outlive every call made
	 * with this policy. NULL = serial. Results never depend on it (include/ostrov/exec.h).
	 */
	const struct ost_exec *exec;
};

/** Metadata computed while verifying a version. */
struct ost_zone_info {
	uint32_t serial;       /**< SOA serial */
	uint32_t soa_ttl;      /**< SOA TTL */
	uint32_t refresh;      /**< SOA refresh */
	uint32_t retry;        /**< SOA retry */
	uint32_t expire;       /**< SOA expire */
	uint32_t minimum;      /**< SOA minimum (negative TTL) */
	int64_t rrsig_horizon; /**< wall time when the first RRset loses its last valid RRSIG;
				  0 when the zone was not DNSSEC-checked */
	enum ost_zonemd_result zonemd; /**< ZONEMD outcome */
	uint8_t zonemd_alg;            /**< hash algorithm of the matching ZONEMD (1, 2) or 0 */
	bool is_dnssec_checked;        /**< signatures were checked against anchors */
	uint64_t records;              /**< RRs kept (in zone, deduplicated) */
	uint64_t rrsets;               /**< authoritative + glue RRsets (RRSIGs not counted) */
	uint64_t bytes;                /**< summed canonical wire size */
	uint64_t sigs_checked;         /**< RRSIG verifications performed */
	uint32_t parse_chunks; /**< set by a parse: chunks of text parsed in parallel; 0 when the
				  text was parsed serially (no executor, small text, or a chunk
				  failed and the whole text was parsed again) */
};

/** Result of a parse/verify/import. */
struct ost_zone_verify_result {
	enum ost_zone_verdict verdict; /**< outcome */
	int line;                      /**< file line for OST_ZV_PARSE_ERROR, else 0 */
	char reason[256];              /**< human reason naming the failing RRset */
	struct ost_zone_info info;     /**< metadata (valid fields depend on how far it got) */
};

/** A parsed zone version in canonical order (opaque). */
struct ost_zone_data;

/**
 * Parse a zone file. Records outside @p apex are dropped (RFC 8976 §3.3.1.1),
 * duplicates are kept once. A record without TTL and no $TTL in force gets
 * 3600 s (see zones/zone_data.c for why). $INCLUDE is refused.
 * @param apex zone name (absolute, e.g. "." or "ru.")
 * @param path file to read
 * @param policy limits (max_bytes, max_records); NULL for none
 * @param out receives the zone on success (free with ost_zone_data_free())
 * @param res receives OST_ZV_PARSE_ERROR / OST_ZV_TOO_LARGE with line and reason on failure
 * @return 0, or OST_EMALFORMED / OST_ELIMIT / -errno
 */
OST_EXPORT OST_WUR int ost_zone_parse_file(const char *apex, const char *path,
					   const struct ost_zone_policy *policy,
					   struct ost_zone_data **out,
					   struct ost_zone_verify_result *res);

/**
 * Parse zone text held in memory; same rules as ost_zone_parse_file().
 * @param apex zone name
 * @param text zone file text
 * @param len its length
 * @param policy limits or NULL
 * @param out receives the zone
 * @param res receives the failure details
 * @return 0, or OST_EMALFORMED / OST_ELIMIT / -errno
 */
OST_EXPORT OST_WUR int ost_zone_parse_text(const char *apex, const char *text, size_t len,
					   const struct ost_zone_policy *policy,
					   struct ost_zone_data **out,
					   struct ost_zone_verify_result *res);

/**
 * Build a zone from records (e.g. an AXFR: SOA first and last is fine).
 * @param apex zone name
 * @param rrs the records; they are cloned, the list stays the caller's
 * @param policy limits or NULL
 * @param out receives the zone
 * @param res receives the failure details
 * @return 0, or OST_EMALFORMED / OST_ELIMIT / -errno
 */
OST_EXPORT OST_WUR int ost_zone_from_rrs(const char *apex, const ldns_rr_list *rrs,
					 const struct ost_zone_policy *policy,
					 struct ost_zone_data **out,
					 struct ost_zone_verify_result *res);

/** Release a zone (NULL is fine). @param z the zone */
OST_EXPORT void ost_zone_data_free(struct ost_zone_data *z);

/** @return the SOA serial of @p z */
OST_EXPORT uint32_t ost_zone_data_serial(const struct ost_zone_data *z);

/** @return number of records of @p z (in zone, deduplicated) */
OST_EXPORT size_t ost_zone_data_count(const struct ost_zone_data *z);

/** What a verification is compared against. */
struct ost_zone_verify_ctx {
	const struct ost_clock *clock; /**< "now" for signature windows */
	/** Trust anchors (DS and/or DNSKEY RRs owned by the apex); NULL or empty means the zone
	 * is not expected to be signed (RFC 8976 §4 step 1) and only ZONEMD is checked. */
	const ldns_rr_list *anchors;
	bool has_prev_serial; /**< a current copy exists */
	uint32_t prev_serial; /**< its serial, for the RFC 1982 check */
};

/**
 * Verify a whole zone version. Fills res->info with serial, SOA timers,
 * RRSIG horizon and ZONEMD result.
 * @param z the zone
 * @param ctx clock, anchors, previous serial
 * @param policy ZONEMD mode and limits (NULL = defaults)
 * @param res receives the verdict and reason
 * @return 0 when res->verdict is OST_ZV_OK, OST_EBOGUS for any other verdict, -errno on
 *         resource failure
 */
OST_EXPORT OST_WUR int ost_zone_verify(const struct ost_zone_data *z,
				       const struct ost_zone_verify_ctx *ctx,
				       const struct ost_zone_policy *policy,
				       struct ost_zone_verify_result *res);

/**
 * Compare two serials with RFC 1982 arithmetic.
 * @return -1 if a < b, 0 if equal, 1 if a > b, 2 if undefined (distance 2^31)
 */
OST_EXPORT int ost_zone_serial_cmp(uint32_t a, uint32_t b);

/* ------------------------------------------------------------------------- */
/* Store                                                                      */

/** The mirror store: its own LMDB environment (opaque). */
struct ost_zone_store;

/** Per-zone metadata kept with the current version. */
struct ost_zone_meta {
	uint32_t serial;             /**< SOA serial */
	uint32_t refresh;            /**< SOA refresh */
	uint32_t retry;              /**< SOA retry */
	uint32_t expire;             /**< SOA expire */
	int64_t fetched_at;          /**< when the data was obtained (wall s) */
	int64_t verified_at;         /**< when it was last verified (wall s) */
	int64_t soa_expire_deadline; /**< fetched_at + expire: after this, SERVFAIL (RFC 8806 §3) */
	int64_t rrsig_horizon;       /**< first RRSIG expiry that makes an RRset unverifiable */
	uint8_t zonemd_result;       /**< enum ost_zonemd_result */
	uint8_t zonemd_alg;          /**< hash algorithm that matched, or 0 */
	uint64_t records;            /**< RRs stored */
	uint64_t generation;         /**< version id inside the store */
	char source[96];             /**< where it came from ("file:/path", "xfr:addr") */
};

/** Options for ost_zone_store_open(). */
struct ost_zone_store_opts {
	const char *path; /**< directory of the LMDB environment (created if missing) */
	size_t map_size;  /**< maximum size in bytes; 0 = 1 GiB */
};

/**
 * Open (or create) the store.
 * @param opts path and size
 * @param out receives the store
 * @return 0, -errno, or OST_ECORRUPT
 */
OST_EXPORT OST_WUR int ost_zone_store_open(const struct ost_zone_store_opts *opts,
					   struct ost_zone_store **out);

/** Close the store (NULL is fine); no read transaction may be open. @param s the store */
OST_EXPORT void ost_zone_store_close(struct ost_zone_store *s);

/**
 * Replace the current version of a zone by @p z in one write transaction.
 * Readers see either the old or the new version, never a mixture; a crash
 * before the commit leaves the old one intact.
 * @param s the store
 * @param z a verified zone (the store does not verify)
 * @param meta metadata to keep (generation is assigned here)
 * @return 0, OST_EFULL when the map is full, -errno
 */
OST_EXPORT OST_WUR int ost_zone_store_commit(struct ost_zone_store *s,
					     const struct ost_zone_data *z,
					     const struct ost_zone_meta *meta);

/**
 * Remove a zone's stored version and metadata (the zone is no longer mirrored).
 * @param s the store
 * @param apex zone name
 * @return 0, -ENOENT when nothing is stored, -errno
 */
OST_EXPORT OST_WUR int ost_zone_store_remove(struct ost_zone_store *s, const char *apex);

/**
 * Read the metadata of a zone's current version.
 * @param s the store
 * @param apex zone name
 * @param out receives it
 * @return 0, -ENOENT when the zone has no stored version, -errno
 */
OST_EXPORT OST_WUR int ost_zone_store_get_meta(struct ost_zone_store *s, const char *apex,
					       struct ost_zone_meta *out);

/**
 * Update only the metadata (e.g. verified_at after re-verification).
 * @param s the store
 * @param apex zone name
 * @param meta the new metadata (generation must match the stored one)
 * @return 0, -ENOENT, -ESTALE when the version changed meanwhile, -errno
 */
OST_EXPORT OST_WUR int ost_zone_store_put_meta(struct ost_zone_store *s, const char *apex,
					       const struct ost_zone_meta *meta);

/**
 * Load the current version back into a zone (for re-verification).
 * @param s the store
 * @param apex zone name
 * @param out receives the zone
 * @return 0, -ENOENT, OST_ECORRUPT, -errno
 */
OST_EXPORT OST_WUR int ost_zone_store_load(struct ost_zone_store *s, const char *apex,
					   struct ost_zone_data **out);

/**
 * Re-verify the stored copy of a zone against the current clock (at start,
 * time has passed: RFC 8976 §1.2 "loading saved zone data upon restart").
 * On success verified_at and rrsig_horizon are updated in the metadata.
 * @param s the store
 * @param apex zone name
 * @param ctx clock and anchors (prev serial is ignored)
 * @param policy ZONEMD mode
 * @param res receives the verdict
 * @return 0 if still valid, OST_EBOGUS if not (res says why), -ENOENT, -errno
 */
OST_EXPORT OST_WUR int ost_zone_store_reverify(struct ost_zone_store *s, const char *apex,
					       const struct ost_zone_verify_ctx *ctx,
					       const struct ost_zone_policy *policy,
					       struct ost_zone_verify_result *res);

/** A read transaction on one zone's current version (opaque). */
struct ost_zone_rtxn;

/**
 * Begin a zero-copy read transaction. Keep it short; views point into it.
 * @param s the store
 * @param apex zone name
 * @param out receives the transaction
 * @return 0, -ENOENT when the zone has no version, -errno
 */
OST_EXPORT OST_WUR int ost_zone_rtxn_begin(struct ost_zone_store *s, const char *apex,
					   struct ost_zone_rtxn **out);

/** End a read transaction (NULL is fine); every view from it becomes invalid. */
OST_EXPORT void ost_zone_rtxn_end(struct ost_zone_rtxn *t);

/**
 * Reset a read transaction: give up its snapshot but keep the transaction
 * (and its LMDB reader slot) for ost_zone_rtxn_renew(). A snapshot pins the
 * pages of the version it sees: while it lives, an import cannot reuse the
 * pages of the versions replaced after it began, so a reader kept across an
 * update makes the next import need room for three versions instead of two.
 * A reader kept for a long time (the resolver's, one per mirrored zone) is
 * reset whenever it goes idle. Every view from it becomes invalid, and no
 * lookup may be made on it until it is renewed (they fail with -EINVAL and
 * abort debug builds). Resetting a reset transaction does nothing.
 * @param t the transaction
 */
OST_EXPORT void ost_zone_rtxn_reset(struct ost_zone_rtxn *t);

/**
 * Renew a transaction on the zone's version current now, which may be newer
 * than the one it saw before (generation and serial are read again). A live
 * transaction is reset first. Allocates nothing.
 *
 * Example: a worker answers "www.ru. A" at 12:00:00 (renew: generation 7),
 * resets the transaction at the end of its loop iteration; ru. serial 42 is
 * imported (generation 8; no snapshot holds 7, so later imports may reuse
 * its pages); the next question renews it and sees generation 8.
 * @param t the transaction
 * @return 0; -ENOENT when the zone has no version any more, or -errno: the
 *         transaction then stays reset (renew it again or end it)
 */
OST_EXPORT OST_WUR int ost_zone_rtxn_renew(struct ost_zone_rtxn *t);

/** @param t the transaction @return true when it is reset (renew it before a lookup) */
OST_EXPORT bool ost_zone_rtxn_is_reset(const struct ost_zone_rtxn *t);

/** @return serial of the version this transaction sees (saw, when reset) */
OST_EXPORT uint32_t ost_zone_rtxn_serial(const struct ost_zone_rtxn *t);

/** @return store generation of the version this transaction sees (saw, when reset) */
OST_EXPORT uint64_t ost_zone_rtxn_generation(const struct ost_zone_rtxn *t);

/**
 * An RRset inside a read transaction: pointers into the LMDB map (valid until
 * the transaction is ended or reset).
 */
struct ost_zone_rrset_view {
	const uint8_t *owner; /**< owner name, uncompressed wire, lowercase */
	size_t owner_len;     /**< its length */
	uint16_t type;        /**< RR type */
	uint16_t rclass;      /**< RR class */
	uint32_t ttl;         /**< TTL of the RRset (smallest member TTL, RFC 2181 §5.2) */
	uint16_t rr_count;    /**< number of RRs */
	uint16_t sig_count;   /**< number of RRSIGs covering it */
	const uint8_t *data;  /**< rr_count x (ttl32, rdlen16, rdata), then sig_count x (ttl32,
				 rdlen16, rdata), big-endian */
	size_t data_len;      /**< bytes at data */
};

/**
 * Exact lookup of an RRset (class IN) with its RRSIGs.
 * @param t transaction
 * @param name owner (absolute presentation form or a dname rdf via the _rdf variant)
 * @param type RR type
 * @param out receives the view
 * @return 0, -ENOENT, OST_ECORRUPT
 */
OST_EXPORT OST_WUR int ost_zone_rtxn_find(struct ost_zone_rtxn *t, const ldns_rdf *name,
					  uint16_t type, struct ost_zone_rrset_view *out);

/**
 * Closest enclosing delegation: the NS RRset at the topmost zone cut on the
 * path from the apex to @p name (data below a cut is occluded, so the
 * topmost cut wins). The apex NS is not a cut.
 * @param t transaction
 * @param name the query name
 * @param out receives the NS RRset view
 * @return 0, -ENOENT when @p name is not below a cut (authoritative data)
 */
OST_EXPORT OST_WUR int ost_zone_rtxn_find_cut(struct ost_zone_rtxn *t, const ldns_rdf *name,
					      struct ost_zone_rrset_view *out);

/**
 * The NSEC RRset whose owner is the greatest name <= @p name in canonical
 * order: equal means the name exists, else it covers @p name (RFC 4034 §6.1).
 * @param t transaction
 * @param name query name (inside the zone)
 * @param out receives the NSEC RRset view
 * @return 0, -ENOENT when the zone has no NSEC chain
 */
OST_EXPORT OST_WUR int ost_zone_rtxn_find_nsec(struct ost_zone_rtxn *t, const ldns_rdf *name,
					       struct ost_zone_rrset_view *out);

/**
 * The NSEC3 RRset whose hashed owner is the greatest <= @p hashed_owner
 * (wrapping to the last one); @p hashed_owner comes from ldns_nsec3_hash_name()
 * with the zone's NSEC3PARAM.
 * @param t transaction
 * @param hashed_owner hashed owner name (label + apex)
 * @param out receives the NSEC3 RRset view
 * @return 0, -ENOENT when the zone has no NSEC3 chain
 */
OST_EXPORT OST_WUR int ost_zone_rtxn_find_nsec3(struct ost_zone_rtxn *t,
						const ldns_rdf *hashed_owner,
						struct ost_zone_rrset_view *out);

/**
 * Copy a view into ldns records (for answers or tests).
 * @param v the view
 * @param rrs receives the RRset (caller frees with ldns_rr_list_deep_free)
 * @param sigs receives the RRSIGs or NULL if not wanted
 * @return 0, -ENOMEM, OST_ECORRUPT
 */
OST_EXPORT OST_WUR int ost_zone_rrset_view_to_ldns(const struct ost_zone_rrset_view *v,
						   ldns_rr_list **rrs, ldns_rr_list **sigs);

/* ------------------------------------------------------------------------- */
/* Mirror                                                                     */

/** Configuration of one mirrored zone. */
struct ost_mirror_zone_config {
	const char *name;              /**< zone name, e.g. "." or "ru." */
	const char *const *sources;    /**< AXFR/IXFR sources "addr@port" (for xfr.c, later) */
	size_t n_sources;              /**< number of sources */
	const char *bootstrap_file;    /**< zone file imported when nothing usable is stored */
	struct ost_zone_policy policy; /**< ZONEMD mode and limits */
	const ldns_rr_list *anchors;   /**< own DS/DNSKEY anchors (borrowed, must outlive the
					  mirror); NULL = take the DS RRset from the mirrored
					  parent zone if there is one */
	bool is_unsigned_ok;           /**< accept without DNSSEC when no anchor can be found */
	bool is_own_anchor;            /**< @p anchors come from the zone's own trust anchor file,
					  not from the resolver's anchors (the resolver then
					  validates answers from it like any other data) */
};

/** Status of a mirrored zone for `ostrovctl zone list` and the metrics. */
struct ost_mirror_zone_status {
	char name[256];                      /**< zone name */
	bool has_version;                    /**< a verified version is stored */
	bool is_usable;                      /**< has_version, re-verified and before SOA expire */
	bool is_verified;                    /**< has_version and it passed verification (also
						  past its SOA expire deadline) */
	bool is_own_anchor;                  /**< verified against the zone's own anchors */
	struct ost_zone_meta meta;           /**< metadata of the stored version */
	enum ost_zone_verdict last_verdict;  /**< outcome of the last import or re-verify */
	char last_reason[256];               /**< its reason */
	uint64_t verify_total[OST_ZV_COUNT]; /**< mirror_verify_total{zone,result} */
};

/** The mirror (opaque). */
struct ost_mirror;

/**
 * Create a mirror over a store.
 * @param store the store (borrowed; must outlive the mirror)
 * @param clock the clock (borrowed)
 * @param out receives the mirror
 * @return 0, -ENOMEM
 */
OST_EXPORT OST_WUR int ost_mirror_new(struct ost_zone_store *store, const struct ost_clock *clock,
				      struct ost_mirror **out);

/** Free a mirror (NULL is fine). @param m the mirror */
OST_EXPORT void ost_mirror_free(struct ost_mirror *m);

/**
 * Add a zone to mirror. Strings in @p cfg are copied. Configure every zone
 * before ost_mirror_start() and before any import: adding is not safe
 * concurrently with imports or status calls.
 * @param m the mirror
 * @param cfg its configuration
 * @return 0, -EEXIST, -EINVAL, -ENOMEM
 */
OST_EXPORT OST_WUR int ost_mirror_add_zone(struct ost_mirror *m,
					   const struct ost_mirror_zone_config *cfg);

/**
 * Bring every zone into service: re-verify the stored copy against the
 * clock; if there is none or it fails, import the bootstrap file.
 * @param m the mirror
 * @return 0 when every zone is usable, else the number of unusable zones (>0)
 */
OST_EXPORT int ost_mirror_start(struct ost_mirror *m);

/**
 * Import a zone file: parse, verify, store atomically, or reject and keep the
 * last good version.
 * @param m the mirror
 * @param zone zone name as configured
 * @param path the file
 * @param res receives the verdict (may be NULL)
 * @return 0 if imported, OST_EBOGUS if rejected, -ENOENT for an unknown zone, -errno
 */
OST_EXPORT OST_WUR int ost_mirror_import_file(struct ost_mirror *m, const char *zone,
					      const char *path, struct ost_zone_verify_result *res);

/**
 * Import transferred records (hook for the AXFR/IXFR client in xfr.c).
 * @param m the mirror
 * @param zone zone name
 * @param rrs all records of the version (borrowed)
 * @param source where they came from ("xfr:127.53.0.1")
 * @param fetched_at when the transfer ended (wall s)
 * @param res receives the verdict (may be NULL)
 * @return 0 if imported, OST_EBOGUS if rejected, -ENOENT, -errno
 */
OST_EXPORT OST_WUR int ost_mirror_import_rrs(struct ost_mirror *m, const char *zone,
					     const ldns_rr_list *rrs, const char *source,
					     int64_t fetched_at,
					     struct ost_zone_verify_result *res);

/**
 * Status of one zone.
 * @param m the mirror
 * @param zone zone name
 * @param out receives it
 * @return 0, -ENOENT
 */
OST_EXPORT OST_WUR int ost_mirror_zone_status(struct ost_mirror *m, const char *zone,
					      struct ost_mirror_zone_status *out);

/**
 * When the data of a mirrored zone last changed in this process: a new
 * version became current, or the stored copies were taken into service at
 * start (cached answers built from an older copy must not be served; the
 * resolver compares this with the entries' stored_at).
 * @param m the mirror
 * @return wall seconds (lock-free)
 */
OST_EXPORT int64_t ost_mirror_changed_at(const struct ost_mirror *m);

/**
 * Was an answer stored at @p stored_at built from a mirror version that is
 * no longer current? The same second counts as older, so a copy made while
 * the version changed is never kept. The one rule of the engine's cache
 * lookups and of the server's fast path.
 * @param m the mirror, or NULL (then never)
 * @param stored_at wall seconds the cache entry was stored
 * @return true when the entry must not be served (ask the mirror again)
 */
OST_EXPORT bool ost_mirror_is_outdated(const struct ost_mirror *m, int64_t stored_at);

/** @return number of configured zones */
OST_EXPORT size_t ost_mirror_zone_count(const struct ost_mirror *m);

/**
 * Status by index, for listing.
 * @param m the mirror
 * @param i index below ost_mirror_zone_count()
 * @param out receives it
 * @return 0, -ENOENT
 */
OST_EXPORT OST_WUR int ost_mirror_zone_status_at(struct ost_mirror *m, size_t i,
						 struct ost_mirror_zone_status *out);

#endif
