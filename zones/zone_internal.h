/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private to zones/: the in-memory form of one zone version shared by the
 * parser (zone_data.c), the verifiers (zonemd.c, dnssec_check.c, verify.c)
 * and the store (store.c).
 *
 * A version is an array of records in canonical order (RFC 4034 §6), each
 * with its canonical wire form computed once by ldns and a "name key": the
 * owner's labels in reverse order, lowercased, each followed by a 0x00
 * terminator (0x00/0x01 inside a label are escaped as 0x01 0x01 / 0x01 0x02).
 * Comparing name keys with memcmp gives the canonical name order, and an
 * ancestor's key is a prefix of its descendants' keys, which is what the
 * sort, the zone-cut walk and the LMDB keys all need.
 */
#ifndef OSTROV_ZONES_ZONE_INTERNAL_H
#define OSTROV_ZONES_ZONE_INTERNAL_H

#include <stdint.h>

#include <ldns/ldns.h>

#include "ostrov/zone.h"

/** Longest name key: 255 octets of name, each possibly escaped to two. */
#define ZKEY_MAX 512

/** One record of a version. */
struct zrr {
	ldns_rr *rr;        /**< parsed record, owned by the zone's rrs list */
	uint8_t *key;       /**< owner name key (allocation shared with wire) */
	uint8_t *wire;      /**< canonical wire form of the whole RR */
	uint32_t wire_len;  /**< its length */
	uint16_t key_len;   /**< name key length */
	uint16_t owner_len; /**< owner wire length; rdata starts at owner_len + 10 */
	uint16_t type;      /**< RR type */
	uint16_t rclass;    /**< RR class */
	uint16_t covered;   /**< type covered for RRSIG, else 0 */
	uint32_t ttl;       /**< TTL */
	int line;           /**< source line (0 for records not from a file) */
	uint32_t ord;       /**< position in the input: the last tie-break of the sort, so
			       the order is total and any sort gives the same array */
};

/** One zone version (struct ost_zone_data in zone.h). */
struct ost_zone_data {
	char apex_str[256];           /**< apex, presentation form */
	ldns_rdf *apex;               /**< apex dname */
	uint8_t apex_key[ZKEY_MAX];   /**< apex name key */
	uint16_t apex_key_len;        /**< its length */
	uint16_t zclass;              /**< class of the SOA */
	ldns_rr_list *rrs;            /**< owns every parsed record */
	struct zrr *v;                /**< in-zone records, canonical order, no duplicates */
	size_t n;                     /**< number of entries in v */
	size_t soa;                   /**< index of the SOA in v */
	uint64_t bytes;               /**< summed canonical wire size */
	uint64_t dropped_out_of_zone; /**< records outside the apex, ignored */
	uint64_t dropped_duplicates;  /**< duplicate records, kept once */
};

/** @return the rdata of @p r */
static inline const uint8_t *zrr_rdata(const struct zrr *r)
{
	return r->wire + r->owner_len + 10;
}

/** @return the rdata length of @p r */
static inline uint32_t zrr_rdlen(const struct zrr *r)
{
	return r->wire_len - r->owner_len - 10u;
}

/** @return whether @p r is owned by the apex */
static inline bool zrr_at_apex(const struct ost_zone_data *z, const struct zrr *r)
{
	return r->key_len == z->apex_key_len && memcmp(r->key, z->apex_key, r->key_len) == 0;
}

/**
 * Compute the name key of an uncompressed wire name.
 * @return key length, or -1 for a malformed name or a short buffer
 */
int zname_key(const uint8_t *wire, size_t len, uint8_t *out, size_t cap);

/** Compare two name keys: <0, 0, >0 in canonical order. */
int zkey_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/** @return whether name key @p k is @p anc or below it */
static inline bool zkey_is_under(const uint8_t *k, size_t klen, const uint8_t *anc, size_t alen)
{
	return alen <= klen && memcmp(k, anc, alen) == 0;
}

/**
 * Build a zone from parsed records (takes ownership of @p rrs): find the
 * SOA, compute canonical forms, sort, drop duplicates and out-of-zone data.
 */
int zone_data_build(const char *apex, ldns_rr_list *rrs, const int *lines,
		    const struct ost_zone_policy *policy, struct ost_zone_data **out,
		    struct ost_zone_verify_result *res);

/** Set a verdict and printf-style reason on @p res; returns the verdict. */
enum ost_zone_verdict zres_set(struct ost_zone_verify_result *res, enum ost_zone_verdict v,
			       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** Format an RRset name "owner/TYPE" into @p buf for reasons. */
const char *zrr_setname(const struct zrr *r, uint16_t type, char *buf, size_t len);

/** RFC 8976 ZONEMD verification (zonemd.c); fills res->info.zonemd and zonemd_alg. */
enum ost_zone_verdict zonemd_check(const struct ost_zone_data *z, enum ost_zonemd_mode mode,
				   struct ost_zone_verify_result *res);

/** DNSSEC checks of a whole zone (dnssec_check.c); fills res->info.rrsig_horizon. */
enum ost_zone_verdict dnssec_check(const struct ost_zone_data *z, const ldns_rr_list *anchors,
				   int64_t now, unsigned max_key_tries, const struct ost_exec *exec,
				   struct ost_zone_verify_result *res);

#endif
