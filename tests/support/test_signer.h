/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A zone signer for tests (in ost_test_support): a fresh ECDSA P-256 KSK and
 * ZSK for one owner, their DNSKEY records and the KSK's DS, with the RRSIG
 * validity window the test pins. The tests sign with ldns_sign_public()
 * and these keys.
 */
#ifndef OSTROV_TEST_SIGNER_H
#define OSTROV_TEST_SIGNER_H

#include <stdint.h>

#include <ldns/ldns.h>

/** The keys of one signed zone. */
struct ost_test_signer {
	ldns_key_list *keys;   /**< KSK then ZSK */
	ldns_rr_list *dnskeys; /**< their DNSKEY records, TTL 3600 */
	ldns_rr *ksk_ds;       /**< DS of the KSK (SHA-256) */
	uint16_t zsk_tag;      /**< key tag of the ZSK */
};

/**
 * A new ECDSA P-256 key for @p owner with DNSKEY flags @p flags (257 KSK,
 * 256 ZSK) whose signatures run from @p inception to @p expiration. Aborts on
 * failure (a broken fixture).
 */
ldns_key *ost_test_key_new(const char *owner, uint16_t flags, uint32_t inception,
			   uint32_t expiration);

/** Fill @p s with a fresh KSK and ZSK for @p owner (see ost_test_key_new()). */
void ost_test_signer_init(struct ost_test_signer *s, const char *owner, uint32_t inception,
			  uint32_t expiration);

/** Free what ost_test_signer_init() made. */
void ost_test_signer_deinit(struct ost_test_signer *s);

#endif
