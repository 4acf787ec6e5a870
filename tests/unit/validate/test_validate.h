/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared helpers of the validator unit tests: loading zone files, splitting
 * them into RRsets, signing test zones with freshly generated ldns keys.
 */
#ifndef OST_TEST_VALIDATE_H
#define OST_TEST_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "resolver/validate.h"

/** Path of @p rel under the shared test data (static buffer). */
const char *tdata(const char *rel);

/** Load every record of a zone-file-syntax file; fails the test on error. */
ldns_rr_list *load_rrs(const char *path);

/** Parse one record; fails the test on error. */
ldns_rr *rr_str(const char *text);

/** Parse a name; fails the test on error. */
ldns_rdf *dname(const char *text);

/** The records of @p rrs with @p type (borrowed; free the list only). */
ldns_rr_list *of_type(const ldns_rr_list *rrs, uint16_t type);

/** Callback of for_each_signed(): one RRset and the RRSIGs over it. */
typedef void (*rrset_cb)(const ldns_rr_list *rrset, const ldns_rr_list *sigs, void *arg);

/** Call @p cb for every (owner, type) RRset of @p rrs that has RRSIGs.
 * @return the number of RRsets visited */
size_t for_each_signed(const ldns_rr_list *rrs, rrset_cb cb, void *arg);

/** Earliest expiration and latest inception of @p sigs. */
void sig_window(const ldns_rr_list *sigs, int64_t *min_exp, int64_t *max_inc);

/** A test signer: a zone key pair made with ldns. */
struct signer {
	ldns_key_list *keys;   /**< the private key(s) */
	ldns_rr_list *dnskeys; /**< the public DNSKEY RRs */
};

/** Make a signer for @p zone with @p alg (LDNS_SIGN_*), window [inc, exp]. */
void signer_init(struct signer *s, const char *zone, int alg, uint32_t inc, uint32_t exp);
void signer_deinit(struct signer *s);

/** Sign the zone given as text with NSEC (nsec3 false) or NSEC3; returns
 * every record (data, DNSKEY, NSEC/NSEC3, RRSIG). */
ldns_rr_list *sign_zone(struct signer *s, const char *origin, const char *text, bool nsec3,
			uint16_t iterations, bool optout);

/** The RRSIG-less records of type NSEC/NSEC3 from @p rrs whose signatures
 * verify with @p keys (each RRset checked with ost_val_rrset). */
ldns_rr_list *validated_nsecs(struct ost_val_ctx *c, const ldns_rr_list *rrs, const ldns_rdf *zone,
			      const ldns_rr_list *keys);

/* Test groups. */
int run_vector_tests(void);
int run_proof_tests(void);
int run_hostile_tests(void);
int run_engine_tests(void);
/** Negative trust anchors and anchor reloads (test_nta.c). */
int run_nta_tests(void);

#endif
