/* SPDX-License-Identifier: BSD-2-Clause */
/* The tests' zone signer keys (test_signer.h). */
#include "test_signer.h"

#include <stdio.h>
#include <stdlib.h>

ldns_key *ost_test_key_new(const char *owner, uint16_t flags, uint32_t inception,
			   uint32_t expiration)
{
	ldns_key *k = ldns_key_new_frm_algorithm(LDNS_SIGN_ECDSAP256SHA256, 256);
	if (!k) {
		fprintf(stderr, "test signer: no key for %s\n", owner);
		abort();
	}
	ldns_key_set_pubkey_owner(k, ldns_dname_new_frm_str(owner));
	ldns_key_set_flags(k, flags);
	ldns_key_set_inception(k, inception);
	ldns_key_set_expiration(k, expiration);
	/* The tag cached at creation predates the flags. */
	ldns_rr *rr = ldns_key2rr(k);
	ldns_key_set_keytag(k, ldns_calc_keytag(rr));
	ldns_rr_free(rr);
	return k;
}

void ost_test_signer_init(struct ost_test_signer *s, const char *owner, uint32_t inception,
			  uint32_t expiration)
{
	ldns_key *ksk = ost_test_key_new(owner, 257, inception, expiration);
	ldns_key *zsk = ost_test_key_new(owner, 256, inception, expiration);
	s->keys = ldns_key_list_new();
	s->dnskeys = ldns_rr_list_new();
	ldns_key_list_push_key(s->keys, ksk);
	ldns_key_list_push_key(s->keys, zsk);
	ldns_rr *kr = ldns_key2rr(ksk), *zr = ldns_key2rr(zsk);
	ldns_rr_set_ttl(kr, 3600);
	ldns_rr_set_ttl(zr, 3600);
	ldns_rr_list_push_rr(s->dnskeys, kr);
	ldns_rr_list_push_rr(s->dnskeys, zr);
	s->ksk_ds = ldns_key_rr2ds(kr, LDNS_SHA256);
	s->zsk_tag = ldns_calc_keytag(zr);
}

void ost_test_signer_deinit(struct ost_test_signer *s)
{
	ldns_key_list_free(s->keys); /* frees the keys too */
	ldns_rr_list_deep_free(s->dnskeys);
	ldns_rr_free(s->ksk_ds);
}
