/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The validator when OpenSSL fails inside a check (resolver/validate_sig.c):
 * an internal failure must never be taken for a forgery.
 *
 * OpenSSL's allocations are made to fail with the shared injector
 * (tests/support/ossl_fault.h, installed first thing in main()), one at a
 * time or every one from some position on, at every position of a clean
 * validation in turn, for ECDSA P-256, RSA/SHA-256 and Ed25519 zones signed
 * here with ldns (their DS with SHA-256, SHA-1 and SHA-384: ldns computes the
 * last with OpenSSL and ignores its failures):
 * - library: a correctly signed DNSKEY RRset (through its DS) and RRset end
 *   SECURE, or in the internal-failure outcome (EDE 0, is_internal), never
 *   BOGUS; one failed allocation is always repaired by the check done again;
 *   a forged signature (one byte flipped) or DS digest is still BOGUS with
 *   the recheck and the known-answer test done, and no fault ever lets a
 *   forged signature through;
 * - engine: a resolver with an LMDB cache and a signed root served by a
 *   scripted responder answers SERVFAIL with EDE 0 (not 6) when the checks
 *   cannot be done, logs it once at error level with OpenSSL's message,
 *   caches nothing for it (no FAIL entry, no bogus zone key), and answers
 *   the same question SECURE as soon as OpenSSL works again.
 *
 * OST_STRESS_FAULTS (default 0 = every position) bounds the positions tried
 * per sweep.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "ostrov/cache.h"
#include "ostrov/log.h"
#include "ostrov/mm.h"
#include "ostrov/resolver.h"
#include "ostrov/validator.h"

#include "ossl_fault.h"
#include "ost_test.h"
#include "resolver/validate.h"
#include "test_signer.h"

#define T_NOW 1800000000
#define INC   (T_NOW - 86400)
#define EXP   (T_NOW + 30 * 86400)

/* Positions tried per sweep: OST_STRESS_FAULTS, 0 (default) = all. */
static uint64_t positions(uint64_t per_run)
{
	const char *s = getenv("OST_STRESS_FAULTS");
	long n = s ? strtol(s, NULL, 10) : 0;
	return n <= 0 || (uint64_t)n > per_run ? per_run : (uint64_t)n;
}

/* The k-th (from 1) of @p tries positions spread over @p per_run. */
static uint64_t position(uint64_t i, uint64_t tries, uint64_t per_run)
{
	return tries == per_run ? i + 1 : 1 + (i * 7919) % per_run;
}

/* ---- a signed zone for the library tests ---- */

struct fx {
	const char *name;       /* algorithm, for messages */
	ldns_rdf *zone;         /* example. */
	ldns_key_list *keys;    /* one key, flags 257 */
	ldns_rr_list *dnskeys;  /* its DNSKEY */
	ldns_rr_list *ds;       /* its DS (SHA-256) */
	ldns_rr_list *key_sigs; /* RRSIG over the DNSKEY RRset */
	ldns_rr_list *set;      /* www.example. A, two records */
	ldns_rr_list *sigs;     /* RRSIG over it */
};

static ldns_key *key_new(ldns_signing_algorithm alg, uint16_t bits)
{
	ldns_key *k = alg == LDNS_SIGN_ECDSAP256SHA256 ? ost_test_key_new("example.", 257, INC, EXP)
						       : ldns_key_new_frm_algorithm(alg, bits);

	assert_non_null(k);
	if (alg != LDNS_SIGN_ECDSAP256SHA256) {
		ldns_key_set_pubkey_owner(k, ldns_dname_new_frm_str("example."));
		ldns_key_set_flags(k, 257);
		ldns_key_set_inception(k, INC);
		ldns_key_set_expiration(k, EXP);
		ldns_rr *rr = ldns_key2rr(k);
		ldns_key_set_keytag(k, ldns_calc_keytag(rr));
		ldns_rr_free(rr);
	}
	return k;
}

static void fx_init(struct fx *f, const char *name, ldns_signing_algorithm alg, uint16_t bits,
		    ldns_hash ds)
{
	ldns_key *k = key_new(alg, bits);
	ldns_rr *a1 = NULL, *a2 = NULL;

	memset(f, 0, sizeof(*f));
	f->name = name;
	f->zone = ldns_dname_new_frm_str("example.");
	f->keys = ldns_key_list_new();
	ldns_key_list_push_key(f->keys, k);
	f->dnskeys = ldns_rr_list_new();
	ldns_rr *kr = ldns_key2rr(k);
	ldns_rr_set_ttl(kr, 3600);
	ldns_rr_list_push_rr(f->dnskeys, kr);
	f->ds = ldns_rr_list_new();
	ldns_rr_list_push_rr(f->ds, ldns_key_rr2ds(kr, ds));
	f->key_sigs = ldns_sign_public(f->dnskeys, f->keys);
	assert_int_equal(ldns_rr_new_frm_str(&a1, "www.example. 300 IN A 192.0.2.1", 0, NULL, NULL),
			 LDNS_STATUS_OK);
	assert_int_equal(ldns_rr_new_frm_str(&a2, "www.example. 300 IN A 192.0.2.2", 0, NULL, NULL),
			 LDNS_STATUS_OK);
	f->set = ldns_rr_list_new();
	ldns_rr_list_push_rr(f->set, a1);
	ldns_rr_list_push_rr(f->set, a2);
	f->sigs = ldns_sign_public(f->set, f->keys);
	assert_non_null(f->key_sigs);
	assert_non_null(f->sigs);
}

static void fx_deinit(struct fx *f)
{
	ldns_rdf_deep_free(f->zone);
	ldns_key_list_free(f->keys);
	ldns_rr_list_deep_free(f->dnskeys);
	ldns_rr_list_deep_free(f->ds);
	ldns_rr_list_deep_free(f->key_sigs);
	ldns_rr_list_deep_free(f->set);
	ldns_rr_list_deep_free(f->sigs);
}

/* One validation as the engine does it: the DNSKEY RRset through its DS,
 * then the RRset with the keys; @p c keeps the request's context. */
static uint8_t validate(const struct fx *f, struct ost_val_crypto *vc, struct ost_val_ctx *c,
			struct ost_val_verdict *v)
{
	uint8_t sec;

	ost_val_ctx_init(c, NULL, T_NOW);
	c->crypto = vc;
	sec = ost_val_dnskey(c, f->zone, f->dnskeys, f->key_sigs, f->ds, NULL, v);
	if (sec == OST_SEC_SECURE)
		sec = ost_val_rrset(c, f->set, f->sigs, f->zone, f->dnskeys, v);
	return sec;
}

/* The outcome the request may end with: SECURE, or internal (never bogus). */
static void assert_secure_or_internal(const struct fx *f, uint8_t sec,
				      const struct ost_val_verdict *v, const struct ost_val_ctx *c,
				      uint64_t k)
{
	if (sec == OST_SEC_SECURE)
		return;
	if (sec != OST_SEC_BOGUS || !v->is_internal || v->ede != OST_EDE_OTHER ||
	    !c->internal_error)
		fail_msg("%s, OpenSSL allocation %llu failing: %s ede=%u internal=%d (%s)", f->name,
			 (unsigned long long)k, ost_sec_str(sec), v->ede, v->is_internal, v->text);
}

/* Run the sweep over every position of one validation: @p count failures
 * from each (1: one allocation; UINT64_MAX: every one from there on), on
 * the resolver's warm key cache (@p cold false) or a new one each time.
 * @return validations that ended internal */
static uint64_t sweep(const struct fx *f, uint64_t count, bool cold, uint64_t *n_recheck)
{
	struct ost_val_crypto warm, fresh;
	struct ost_val_ctx c;
	struct ost_val_verdict v;
	uint64_t internal = 0, fired = 0;

	assert_int_equal(ost_val_crypto_init(&warm, 0), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(validate(f, &warm, &c, &v), OST_SEC_SECURE);
	uint64_t before = ost_test_ossl_allocs();
	if (cold) {
		assert_int_equal(ost_val_crypto_init(&fresh, 0), 0);
		before = ost_test_ossl_allocs();
		assert_int_equal(validate(f, &fresh, &c, &v), OST_SEC_SECURE);
		ost_val_crypto_deinit(&fresh);
	} else {
		assert_int_equal(validate(f, &warm, &c, &v), OST_SEC_SECURE);
	}
	uint64_t per_run = ost_test_ossl_allocs() - before, tries = positions(per_run);
	assert_true(per_run > 0);
	/* a clean check is one check: nothing done again */
	assert_int_equal(c.n_recheck, 0);
	*n_recheck = 0;
	for (uint64_t i = 0; i < tries; i++) {
		uint64_t k = position(i, tries, per_run), was = ost_test_ossl_failed();
		struct ost_val_crypto *vc = &warm;

		if (cold) {
			assert_int_equal(ost_val_crypto_init(&fresh, 0), 0);
			vc = &fresh;
		}
		ost_test_ossl_fail(ost_test_ossl_allocs() + k, count);
		uint8_t sec = validate(f, vc, &c, &v);
		ost_test_ossl_fail(0, 0);
		fired += ost_test_ossl_failed() != was;
		*n_recheck += c.n_recheck;
		if (cold)
			ost_val_crypto_deinit(&fresh);
		assert_secure_or_internal(f, sec, &v, &c, k);
		internal += sec != OST_SEC_SECURE;
		/* one failure never survives the check done again */
		if (count == 1 && sec != OST_SEC_SECURE)
			fail_msg("%s: one failed allocation (%llu) not repaired: %s", f->name,
				 (unsigned long long)k, v.text);
	}
	/* the failures happened inside the validation */
	assert_true(fired >= tries * 9 / 10);
	/* and left the warm key cache sound: a clean check is one check again */
	assert_int_equal(validate(f, &warm, &c, &v), OST_SEC_SECURE);
	assert_int_equal(c.n_recheck, 0);
	ost_val_crypto_deinit(&warm);
	return internal;
}

struct alg {
	const char *name;
	ldns_signing_algorithm alg;
	uint16_t bits;
	ldns_hash ds;  /* the DS digest (ldns_key_rr2ds() computes SHA-384 with OpenSSL) */
	int fam, dfam; /* validate_sig.c's enum family of the key and the DS digest */
};

static const struct alg algs[] = {
	{"ECDSA P-256, DS SHA-256", LDNS_SIGN_ECDSAP256SHA256, 256, LDNS_SHA256, 1, 4},
	{"RSA/SHA-256, DS SHA-1", LDNS_SIGN_RSASHA256, 1024, LDNS_SHA1, 0, 3},
	{"Ed25519, DS SHA-384", LDNS_SIGN_ED25519, 256, LDNS_SHA384, 2, 5},
};

/*
 * Quiet: the repairs and internal failures are logged at error level on
 * every position. Standard error goes to a temporary file during a sweep;
 * what is not a log record (cmocka's messages) is written out again after.
 */
static FILE *quiet_log;
static int quiet_saved = -1;

static int quiet(void **state)
{
	(void)state;
	fflush(stderr);
	quiet_log = tmpfile();
	quiet_saved = dup(STDERR_FILENO);
	if (!quiet_log || quiet_saved < 0 || dup2(fileno(quiet_log), STDERR_FILENO) < 0)
		return -1;
	return 0;
}

static int loud(void **state)
{
	char line[1024];

	(void)state;
	fflush(stderr);
	if (quiet_saved >= 0) {
		dup2(quiet_saved, STDERR_FILENO);
		close(quiet_saved);
		quiet_saved = -1;
	}
	if (!quiet_log)
		return 0;
	rewind(quiet_log);
	while (fgets(line, sizeof(line), quiet_log))
		if (strncmp(line, "ts=", 3) != 0)
			fputs(line, stderr);
	fclose(quiet_log);
	quiet_log = NULL;
	return 0;
}

static void test_one_fault_is_repaired(void **state)
{
	(void)state;
	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
		struct fx f;
		uint64_t rechecks;

		fx_init(&f, algs[a].name, algs[a].alg, algs[a].bits, algs[a].ds);
		for (int cold = 0; cold < 2; cold++) {
			assert_int_equal(sweep(&f, 1, cold, &rechecks), 0);
			/* the repairs were the checks done again */
			assert_true(rechecks > 0);
		}
		fx_deinit(&f);
	}
}

static void test_lasting_fault_is_internal_not_bogus(void **state)
{
	(void)state;
	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
		struct fx f;
		uint64_t rechecks;

		fx_init(&f, algs[a].name, algs[a].alg, algs[a].bits, algs[a].ds);
		for (int cold = 0; cold < 2; cold++) {
			/* most positions are before the last check ends */
			uint64_t internal = sweep(&f, UINT64_MAX, cold, &rechecks);
			assert_true(internal > 0);
		}
		fx_deinit(&f);
	}
}

/* Flip one byte of the signature of every RRSIG in @p sigs. */
static void forge(ldns_rr_list *sigs)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(sigs); i++) {
		ldns_rdf *s = ldns_rr_rdf(ldns_rr_list_rr(sigs, i), 8);
		ldns_rdf_data(s)[ldns_rdf_size(s) / 2] ^= 0x40;
	}
}

static void test_forgery_is_still_bogus(void **state)
{
	(void)state;
	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
		struct ost_val_crypto vc;
		struct ost_val_ctx c;
		struct ost_val_verdict v;
		struct fx f;

		fx_init(&f, algs[a].name, algs[a].alg, algs[a].bits, algs[a].ds);
		assert_int_equal(ost_val_crypto_init(&vc, 0), 0);
		assert_int_equal(validate(&f, &vc, &c, &v), OST_SEC_SECURE);
		forge(f.sigs);
		/* bogus, with the check done again and OpenSSL found sound */
		uint64_t before = ost_test_ossl_allocs();
		assert_int_equal(validate(&f, &vc, &c, &v), OST_SEC_BOGUS);
		uint64_t per_run = ost_test_ossl_allocs() - before;
		assert_false(v.is_internal);
		assert_false(c.internal_error);
		assert_int_equal(v.ede, OST_EDE_DNSSEC_BOGUS);
		assert_non_null(strstr(v.text, "does not verify"));
		assert_int_equal(c.n_recheck, 1);
		assert_int_equal(c.crypto_ok[algs[a].fam], 1);
		/* a failure anywhere in it never lets the forgery through */
		uint64_t tries = positions(per_run);
		for (uint64_t i = 0; i < tries; i++) {
			uint64_t k = position(i, tries, per_run);
			ost_test_ossl_fail(ost_test_ossl_allocs() + k, 1);
			uint8_t sec = validate(&f, &vc, &c, &v);
			ost_test_ossl_fail(0, 0);
			if (sec != OST_SEC_BOGUS)
				fail_msg("%s: forgery %s with allocation %llu failing", f.name,
					 ost_sec_str(sec), (unsigned long long)k);
		}
		/* a forged DNSKEY RRset signature too */
		forge(f.sigs); /* restored */
		forge(f.key_sigs);
		assert_int_equal(validate(&f, &vc, &c, &v), OST_SEC_BOGUS);
		assert_false(v.is_internal);
		assert_true(c.n_recheck >= 1);
		/* and a DS whose digest is not the key's: computed twice, the
		 * digest's known-answer test passed, bogus (EDE 9) */
		forge(f.key_sigs); /* restored */
		ldns_rdf *dg = ldns_rr_rdf(ldns_rr_list_rr(f.ds, 0), 3);
		ldns_rdf_data(dg)[0] ^= 0x01;
		assert_int_equal(validate(&f, &vc, &c, &v), OST_SEC_BOGUS);
		assert_false(v.is_internal);
		assert_int_equal(v.ede, OST_EDE_DNSKEY_MISSING);
		assert_int_equal(c.n_recheck, 1);
		assert_int_equal(c.crypto_ok[algs[a].dfam], 1);
		ldns_rdf_data(dg)[0] ^= 0x01;
		assert_int_equal(validate(&f, &vc, &c, &v), OST_SEC_SECURE);
		ost_val_crypto_deinit(&vc);
		fx_deinit(&f);
	}
}

/* ---- the engine: a signed root on a scripted responder ---- */

struct world {
	struct fake_clock clk;
	struct fake_net net;
	struct ost_test_signer sg;
	ldns_rr_list *zone; /* the signed root: records and RRSIGs */
	struct ost_ta_store *ta;
	struct ost_cache *cache;
	struct ost_resolver *r;
	struct ost_resolver_config cfg;
	struct ost_root_hint hint;
	char dir[64];
	const char *qname; /* what resolve() asks (NULL: "www.") */
	/* faults armed when the validator's DNSKEY query arrives */
	uint64_t arm_at, arm_count;
	uint64_t allocs_at_dnskey; /* ost_test_ossl_allocs() then */
	/* last result */
	unsigned calls;
	uint8_t rcode, sec;
	bool has_ede;
	uint16_t ede;
	char ede_text[160];
};

static const char *const root_text = ". 86400 IN SOA a.root-servers.test. h.test. 1 1800 900 "
				     "604800 300\n"
				     ". 86400 IN NS a.root-servers.test.\n"
				     "a.root-servers.test. 86400 IN A 127.53.0.1\n"
				     "www. 300 IN A 192.0.2.7\n";

/* Push (name, type) of the zone and the RRSIGs over it; @return records pushed. */
static size_t push(ldns_rr_list *dst, const ldns_rr_list *zone, const ldns_rdf *name, uint16_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < ldns_rr_list_rr_count(zone); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(zone, i);
		uint16_t ty = ldns_rr_get_type(rr);

		if (ty == LDNS_RR_TYPE_RRSIG)
			ty = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
		if (ty != type || ldns_dname_compare(ldns_rr_owner(rr), name) != 0)
			continue;
		ldns_rr_list_push_rr(dst, ldns_rr_clone(rr));
		n++;
	}
	return n;
}

/* Push the NSEC covering @p name, with its RRSIGs, unless it is there already. */
static void push_cover(ldns_rr_list *dst, const ldns_rr_list *zone, const ldns_rdf *name)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(zone); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(zone, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC || !ost_nsec_covers(rr, name))
			continue;
		for (size_t j = 0; j < ldns_rr_list_rr_count(dst); j++)
			if (ldns_rr_compare(ldns_rr_list_rr(dst, j), rr) == 0)
				return;
		push(dst, zone, ldns_rr_owner(rr), LDNS_RR_TYPE_NSEC);
		return;
	}
}

static void respond(struct fake_net *n, struct fake_pending *p, const struct ost_upstream_query *uq,
		    void *arg)
{
	struct world *w = arg;
	ldns_pkt *q = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;

	assert_int_equal(ldns_wire2pkt(&q, uq->wire, uq->len), LDNS_STATUS_OK);
	const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	ldns_pkt *a = ldns_pkt_new();
	ldns_pkt_set_id(a, ldns_pkt_id(q));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_aa(a, true);
	ldns_rr_list_push_rr(ldns_pkt_question(a), ldns_rr_clone(qr));
	/* Else NODATA (the NSEC of the name) or NXDOMAIN (the NSECs covering
	 * the name and the wildcard "*."), with the SOA (the first record). */
	if (!push(ldns_pkt_answer(a), w->zone, ldns_rr_owner(qr), ldns_rr_get_type(qr))) {
		ldns_rr_list *ns = ldns_pkt_authority(a);
		ldns_rdf *wc = ldns_dname_new_frm_str("*.");

		push(ns, w->zone, ldns_rr_owner(ldns_rr_list_rr(w->zone, 0)), LDNS_RR_TYPE_SOA);
		if (!push(ns, w->zone, ldns_rr_owner(qr), LDNS_RR_TYPE_NSEC)) {
			ldns_pkt_set_rcode(a, LDNS_RCODE_NXDOMAIN);
			push_cover(ns, w->zone, ldns_rr_owner(qr));
			push_cover(ns, w->zone, wc);
		}
		ldns_rdf_deep_free(wc);
	}
	ldns_pkt_set_qdcount(a, 1);
	ldns_pkt_set_ancount(a, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_answer(a)));
	ldns_pkt_set_nscount(a, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_authority(a)));
	assert_int_equal(ldns_pkt2wire(&wire, a, &len), LDNS_STATUS_OK);
	/* What follows this reply is the validation: OpenSSL fails from here. */
	if (ldns_rr_get_type(qr) == LDNS_RR_TYPE_DNSKEY) {
		w->allocs_at_dnskey = ost_test_ossl_allocs();
		if (w->arm_at)
			ost_test_ossl_fail(w->allocs_at_dnskey + w->arm_at, w->arm_count);
	}
	ldns_pkt_free(a);
	ldns_pkt_free(q);
	fake_reply(n, p, 10, 0, wire, len);
}

static void world_init(struct world *w, bool with_cache)
{
	memset(w, 0, sizeof(*w));
	fake_clock_init(&w->clk, T_NOW);
	fake_net_init(&w->net, &w->clk);
	w->net.respond = respond;
	w->net.respond_arg = w;
	ost_test_signer_init(&w->sg, ".", INC, EXP);
	/* signed with its NSEC chain by ldns; the SOA first (the responder's) */
	ldns_zone *z = ldns_zone_new(), *sz;
	ldns_rr_list *rrs = fake_rrs(root_text);
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA)
			ldns_zone_set_soa(z, rr);
		else
			ldns_zone_push_rr(z, rr);
	}
	ldns_rr_list_free(rrs); /* its records are the zone's now */
	for (size_t i = 0; i < ldns_rr_list_rr_count(w->sg.dnskeys); i++)
		ldns_zone_push_rr(z, ldns_rr_clone(ldns_rr_list_rr(w->sg.dnskeys, i)));
	sz = ldns_zone_sign(z, w->sg.keys);
	assert_non_null(sz);
	w->zone = ldns_rr_list_new();
	ldns_rr_list_push_rr(w->zone, ldns_rr_clone(ldns_zone_soa(sz)));
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_zone_rrs(sz)); i++)
		ldns_rr_list_push_rr(w->zone, ldns_rr_clone(ldns_rr_list_rr(ldns_zone_rrs(sz), i)));
	ldns_zone_deep_free(sz);
	ldns_zone_deep_free(z);
	assert_int_equal(ost_ta_store_new(&w->ta), 0);
	assert_int_equal(ost_ta_add_rr(w->ta, w->sg.ksk_ds), 0);
	if (with_cache) {
		snprintf(w->dir, sizeof(w->dir), "/tmp/ost-valfail-XXXXXX");
		assert_non_null(mkdtemp(w->dir));
		struct ost_cache_config cc = {.path = w->dir,
					      .max_bytes = 8u << 20,
					      .max_ttl = 86400,
					      .max_neg_ttl = 3600,
					      .max_readers = 8};
		assert_int_equal(ost_cache_open(&w->cache, &cc, &w->clk.clock), 0);
	}
	ost_resolver_config_default(&w->cfg);
	fake_root_hint(&w->hint, "a.root-servers.test.", "127.53.0.1");
	w->cfg.hints = &w->hint;
	w->cfg.n_hints = 1;
	w->cfg.qname_minimisation = false;
	w->cfg.validation = true;
	w->cfg.anchors = w->ta;
}

static void resolver_start(struct world *w)
{
	assert_int_equal(ost_resolver_new(&w->r, &w->cfg, w->cache, &w->clk.clock, &w->net.tp), 0);
}

static void resolver_stop(struct world *w)
{
	fake_clock_run(&w->clk, 60000);
	assert_int_equal(ost_resolver_inflight(w->r), 0);
	ost_resolver_free(w->r);
	w->r = NULL;
}

static void world_deinit(struct world *w)
{
	if (w->r)
		resolver_stop(w);
	if (w->cache)
		ost_cache_close(w->cache);
	assert_int_equal(fake_inflight(&w->net), 0);
	assert_int_equal(fake_clock_deinit(&w->clk), 0);
	fake_net_deinit(&w->net);
	if (w->dir[0])
		assert_int_equal(fake_rmtree(w->dir), 0);
	ldns_rr_list_deep_free(w->zone);
	ost_ta_store_free(w->ta);
	ost_test_signer_deinit(&w->sg);
}

static void on_res(const struct ost_result *res, void *arg)
{
	struct world *w = arg;

	w->calls++;
	w->rcode = res->rcode;
	w->sec = res->sec;
	w->has_ede = res->has_ede;
	w->ede = res->has_ede ? res->ede : 0xffff;
	snprintf(w->ede_text, sizeof(w->ede_text), "%s", res->ede_text ? res->ede_text : "");
}

/* Resolve w->qname (default "www.") A to the end, the cache written. */
static void resolve(struct world *w)
{
	ldns_rdf *n = ldns_dname_new_frm_str(w->qname ? w->qname : "www.");
	struct ost_request *rq = NULL;
	unsigned before = w->calls;

	assert_int_equal(ost_resolve(w->r, ldns_rdf_data(n), LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
				     OST_RF_RD, on_res, w, &rq),
			 0);
	ldns_rdf_deep_free(n);
	fake_clock_run(&w->clk, 60000);
	ost_test_ossl_fail(0, 0);
	if (w->cache) {
		assert_int_equal(ost_resolver_commit(w->r), 0);
		ost_cache_sync(w->cache);
	}
	assert_int_equal(w->calls, before + 1);
}

/* The answer of a sound validation: www. A, or NXDOMAIN for another name. */
static bool secure_answer(const struct world *w)
{
	uint8_t want = w->qname ? LDNS_RCODE_NXDOMAIN : LDNS_RCODE_NOERROR;

	return w->rcode == want && w->sec == OST_SEC_SECURE;
}

static bool internal_failure(const struct world *w)
{
	return w->rcode == LDNS_RCODE_SERVFAIL && w->has_ede && w->ede == OST_EDE_OTHER &&
	       strstr(w->ede_text, "not completed") && w->sec != OST_SEC_BOGUS;
}

/* Every position after the DNSKEY reply, one failure or every one from
 * there: a fresh resolver (no cache) each time ends SECURE or internal. */
static void engine_sweep(const char *qname)
{
	struct world w;

	world_init(&w, false);
	w.qname = qname;
	resolver_start(&w);
	resolve(&w);
	assert_true(secure_answer(&w));
	resolver_stop(&w);
	/* the allocations of the validation that follows the DNSKEY reply */
	resolver_start(&w);
	resolve(&w);
	uint64_t per_run = ost_test_ossl_allocs() - w.allocs_at_dnskey;
	assert_true(secure_answer(&w));
	resolver_stop(&w);
	assert_true(per_run > 10);
	uint64_t tries = positions(per_run), n_internal = 0;
	for (int lasting = 0; lasting < 2; lasting++) {
		for (uint64_t i = 0; i < tries; i++) {
			w.arm_at = position(i, tries, per_run);
			w.arm_count = lasting ? UINT64_MAX : 1;
			resolver_start(&w);
			resolve(&w);
			resolver_stop(&w);
			if (!secure_answer(&w) && !(lasting && internal_failure(&w)))
				fail_msg(
					"OpenSSL allocation %llu%s failing: rcode %u sec %s ede %u "
					"\"%s\"",
					(unsigned long long)w.arm_at, lasting ? " and on" : "",
					w.rcode, ost_sec_str(w.sec), w.ede, w.ede_text);
			n_internal += !secure_answer(&w);
		}
	}
	assert_true(n_internal > 0);
	w.arm_at = 0;
	world_deinit(&w);
}

/* The answer (www. A), then a denial (NXDOMAIN, its NSEC proof checked). */
static void test_engine_never_bogus(void **state)
{
	(void)state;
	engine_sweep(NULL);
	engine_sweep("nx.");
}

/* An internal failure leaves nothing in the cache that fails the next query. */
static void test_engine_internal_failure_not_cached(void **state)
{
	(void)state;
	struct world w;
	char line[1024];

	world_init(&w, true);
	resolver_start(&w);
	/* OpenSSL fails from the DNSKEY reply on: nothing can be checked */
	w.arm_at = 1;
	w.arm_count = UINT64_MAX;
	FILE *log = tmpfile();
	assert_non_null(log);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	ost_log_set_level(OST_LOG_INFO);
	assert_true(dup2(fileno(log), STDERR_FILENO) >= 0);
	resolve(&w);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	w.arm_at = 0;
	if (!internal_failure(&w))
		fail_msg("rcode %u sec %s ede %u \"%s\"", w.rcode, ost_sec_str(w.sec), w.ede,
			 w.ede_text);
	/* logged once, at error level, with OpenSSL's own message */
	size_t n_err = 0, n_bogus = 0, n_ossl = 0;
	rewind(log);
	while (fgets(line, sizeof(line), log)) {
		n_bogus += strstr(line, "msg=\"bogus\"") != NULL;
		if (!strstr(line, "level=err") || !strstr(line, "internal reason"))
			continue;
		n_err++;
		n_ossl +=
			strstr(line, "openssl='error:") != NULL && strstr(line, "detail=") != NULL;
	}
	fclose(log);
	assert_int_equal(n_err, 1);
	assert_int_equal(n_ossl, 1);
	assert_int_equal(n_bogus, 0);
	/* no failure entry (RFC 9520) for the question */
	struct ost_cache_entry e;
	struct ost_arena arena;
	struct ost_mm mm;
	ldns_rdf *n = ldns_dname_new_frm_str("www.");
	ost_arena_init(&arena, 1024);
	ost_mm_from_arena(&mm, &arena);
	assert_int_equal(
		ost_cache_get(w.cache, ldns_rdf_data(n), LDNS_RR_TYPE_A, OST_CTAG_FAIL, &mm, &e),
		-ENOENT);
	/* nor a bogus answer */
	int got = ost_cache_get(w.cache, ldns_rdf_data(n), LDNS_RR_TYPE_A, OST_CTAG_MSG, &mm, &e);
	assert_true(got == -ENOENT || (got == 0 && e.sec != OST_SEC_BOGUS));
	ost_arena_deinit(&arena);
	ldns_rdf_deep_free(n);
	/* and no bogus zone key: the same question, OpenSSL sound, is secure */
	resolve(&w);
	if (!secure_answer(&w))
		fail_msg("after the failure: rcode %u sec %s ede %u \"%s\"", w.rcode,
			 ost_sec_str(w.sec), w.ede, w.ede_text);
	world_deinit(&w);
}

int main(void)
{
	/* Before anything allocates through OpenSSL. */
	if (!ost_test_ossl_install()) {
		fprintf(stderr, "CRYPTO_set_mem_functions failed\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_fault_is_repaired, quiet, loud),
		cmocka_unit_test_setup_teardown(test_lasting_fault_is_internal_not_bogus, quiet,
						loud),
		cmocka_unit_test_setup_teardown(test_forgery_is_still_bogus, quiet, loud),
		cmocka_unit_test_setup_teardown(test_engine_never_bogus, quiet, loud),
		cmocka_unit_test(test_engine_internal_failure_not_cached),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
