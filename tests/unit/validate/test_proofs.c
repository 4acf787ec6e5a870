/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * NSEC and NSEC3 proofs over a zone signed in the test with a fresh ldns key:
 * NXDOMAIN, NODATA (plain, empty non-terminal, wildcard), wildcard expansion,
 * unsigned delegations, NSEC3 opt-out and the RFC 9276 iteration limit, each
 * with the broken variant that must come out bogus.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ostrov/validator.h"

#include "test_validate.h"

#define NOW 1700000000
#define INC (NOW - 86400)
#define EXP (NOW + 86400)

static const char zone_text[] =
	"example. 3600 IN SOA ns.example. h.example. 1 3600 300 3600000 300\n"
	"example. 3600 IN NS ns.example.\n"
	"ns.example. 3600 IN A 192.0.2.1\n"
	"a.example. 3600 IN A 192.0.2.2\n"
	"b.c.example. 3600 IN A 192.0.2.3\n"
	"*.w.example. 3600 IN TXT \"wild\"\n"
	"sub.example. 3600 IN NS ns.sub.example.\n"
	"ns.sub.example. 3600 IN A 192.0.2.4\n"
	"sec.example. 3600 IN NS ns.sub.example.\n"
	"sec.example. 3600 IN DS 12345 13 2 "
	"0000000000000000000000000000000000000000000000000000000000000000\n";

struct fixture {
	struct signer s;
	ldns_rdf *zone;
	ldns_rr_list *rrs;   /* the signed zone */
	ldns_rr_list *nsecs; /* its validated NSEC or NSEC3 records */
	struct ost_val_ctx c;
};

static int setup(void **state, bool nsec3)
{
	struct fixture *f = calloc(1, sizeof(*f));

	signer_init(&f->s, "example.", LDNS_SIGN_ECDSAP256SHA256, INC, EXP);
	f->zone = dname("example.");
	f->rrs = sign_zone(&f->s, "example.", zone_text, nsec3, 0, false);
	ost_val_ctx_init(&f->c, NULL, NOW);
	f->c.lim.max_verify = 1000;
	f->nsecs = validated_nsecs(&f->c, f->rrs, f->zone, f->s.dnskeys);
	assert_true(ldns_rr_list_rr_count(f->nsecs) >= 6);
	ost_val_ctx_init(&f->c, NULL, NOW);
	*state = f;
	return 0;
}

static int setup_nsec(void **state)
{
	return setup(state, false);
}

static int setup_nsec3(void **state)
{
	return setup(state, true);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ldns_rr_list_free(f->nsecs);
	ldns_rr_list_deep_free(f->rrs);
	ldns_rdf_deep_free(f->zone);
	signer_deinit(&f->s);
	free(f);
	return 0;
}

static uint8_t deny(struct fixture *f, enum ost_denial kind, const char *name, uint16_t type,
		    uint8_t wc, const ldns_rr_list *nsecs, struct ost_val_verdict *v)
{
	ldns_rdf *q = dname(name);
	uint8_t sec;

	sec = ost_val_denial(&f->c, kind, q, type, f->zone, nsecs ? nsecs : f->nsecs, wc, v);
	ldns_rdf_deep_free(q);
	if (getenv("OST_TEST_VERBOSE"))
		fprintf(stderr, "%s %s: %s %s\n", ost_denial_str(kind), name, ost_sec_str(sec),
			v->text);
	return sec;
}

/* @p f->nsecs without the records whose owner is @p owner (NSEC) or the hash
 * of @p owner (NSEC3). */
static ldns_rr_list *without(struct fixture *f, const char *owner)
{
	ldns_rr_list *out = ldns_rr_list_new();
	ldns_rdf *o = dname(owner), *h = NULL;

	for (size_t i = 0; i < ldns_rr_list_rr_count(f->nsecs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(f->nsecs, i);
		const ldns_rdf *cmp = o;

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC3) {
			if (!h)
				h = ldns_nsec3_hash_name_frm_nsec3(rr, o);
			cmp = h;
			if (ldns_dname_label_count(ldns_rr_owner(rr)) > 0) {
				ldns_rdf *l = ldns_dname_label(ldns_rr_owner(rr), 0);
				bool eq = ldns_dname_compare(l, h) == 0;

				ldns_rdf_deep_free(l);
				if (eq)
					continue;
			}
			ldns_rr_list_push_rr(out, rr);
			continue;
		}
		if (ldns_dname_compare(ldns_rr_owner(rr), cmp) != 0)
			ldns_rr_list_push_rr(out, rr);
	}
	ldns_rdf_deep_free(o);
	ldns_rdf_deep_free(h);
	return out;
}

static void test_nxdomain(void **state)
{
	struct fixture *f = *state;
	struct ost_val_verdict v;
	ldns_rr_list *l;

	assert_int_equal(deny(f, OST_DENY_NXDOMAIN, "nope.example.", 1, 0, NULL, &v),
			 OST_SEC_SECURE);
	assert_int_equal(deny(f, OST_DENY_NXDOMAIN, "x.y.nope.example.", 1, 0, NULL, &v),
			 OST_SEC_SECURE);
	/* the name exists */
	assert_int_equal(deny(f, OST_DENY_NXDOMAIN, "a.example.", 1, 0, NULL, &v), OST_SEC_BOGUS);
	assert_int_equal(v.ede, OST_EDE_DNSSEC_BOGUS); /* a proof came, it fails */
	assert_non_null(strstr(v.text, "example."));
	/* an empty non-terminal exists: no NXDOMAIN (c.example. over b.c.example.) */
	assert_int_equal(deny(f, OST_DENY_NXDOMAIN, "c.example.", 1, 0, NULL, &v), OST_SEC_BOGUS);
	/* below the wildcard: *.w.example. matches, so no NXDOMAIN */
	assert_int_equal(deny(f, OST_DENY_NXDOMAIN, "x.w.example.", 1, 0, NULL, &v), OST_SEC_BOGUS);
	/* below an unsigned delegation the parent proves nothing (overreach) */
	assert_int_equal(deny(f, OST_DENY_NXDOMAIN, "x.sub.example.", 1, 0, NULL, &v),
			 OST_SEC_BOGUS);
	/* another zone's name */
	assert_int_equal(deny(f, OST_DENY_NXDOMAIN, "nope.example.org.", 1, 0, NULL, &v),
			 OST_SEC_BOGUS);
	/* no record denying the wildcard *.example. (the apex's) */
	l = without(f, "example.");
	if (ldns_rr_get_type(ldns_rr_list_rr(f->nsecs, 0)) == LDNS_RR_TYPE_NSEC) {
		assert_int_equal(deny(f, OST_DENY_NXDOMAIN, "nope.example.", 1, 0, l, &v),
				 OST_SEC_BOGUS);
		assert_int_equal(v.ede, OST_EDE_DNSSEC_BOGUS);
	} else {
		/* NSEC3: without the apex match there is no closest encloser */
		assert_int_equal(deny(f, OST_DENY_NXDOMAIN, "nope.example.", 1, 0, l, &v),
				 OST_SEC_BOGUS);
	}
	ldns_rr_list_free(l);
	/* nothing at all */
	l = ldns_rr_list_new();
	assert_int_equal(deny(f, OST_DENY_NXDOMAIN, "nope.example.", 1, 0, l, &v), OST_SEC_BOGUS);
	assert_int_equal(v.ede, OST_EDE_NSEC_MISSING);
	ldns_rr_list_free(l);
}

static void test_nodata(void **state)
{
	struct fixture *f = *state;
	struct ost_val_verdict v;

	assert_int_equal(deny(f, OST_DENY_NODATA, "a.example.", LDNS_RR_TYPE_TXT, 0, NULL, &v),
			 OST_SEC_SECURE);
	assert_int_equal(deny(f, OST_DENY_NODATA, "a.example.", LDNS_RR_TYPE_A, 0, NULL, &v),
			 OST_SEC_BOGUS);
	assert_non_null(strstr(v.text, "type exists"));
	/* empty non-terminal */
	assert_int_equal(deny(f, OST_DENY_NODATA, "c.example.", LDNS_RR_TYPE_A, 0, NULL, &v),
			 OST_SEC_SECURE);
	/* wildcard NODATA: x.w.example. AAAA through *.w.example. */
	assert_int_equal(deny(f, OST_DENY_NODATA, "x.w.example.", LDNS_RR_TYPE_AAAA, 0, NULL, &v),
			 OST_SEC_SECURE);
	assert_int_equal(deny(f, OST_DENY_NODATA, "x.w.example.", LDNS_RR_TYPE_TXT, 0, NULL, &v),
			 OST_SEC_BOGUS);
	/* parent-side NSEC of a delegation denies DS only (RFC 6840 §4.1) */
	assert_int_equal(deny(f, OST_DENY_NODATA, "sub.example.", LDNS_RR_TYPE_A, 0, NULL, &v),
			 OST_SEC_BOGUS);
	assert_int_equal(deny(f, OST_DENY_NODATA, "sub.example.", LDNS_RR_TYPE_DS, 0, NULL, &v),
			 OST_SEC_SECURE);
	/* a name that does not exist is no NODATA */
	assert_int_equal(deny(f, OST_DENY_NODATA, "nope.example.", LDNS_RR_TYPE_A, 0, NULL, &v),
			 OST_SEC_BOGUS);
}

/* Expand *.w.example. TXT to x.w.example. and verify it as a wildcard. */
static void test_wildcard(void **state)
{
	struct fixture *f = *state;
	struct ost_val_verdict v;
	ldns_rdf *wc = dname("*.w.example.");
	ldns_rr_list *set = ost_val_rrset_of(f->rrs, wc, LDNS_RR_TYPE_TXT);
	ldns_rr_list *sigs = ost_val_sigs_for(f->rrs, wc, LDNS_RR_TYPE_TXT);
	ldns_rr_list *xset = ldns_rr_list_new(), *xsigs = ldns_rr_list_new();

	assert_int_equal(ldns_rr_list_rr_count(set), 1);
	assert_int_equal(ldns_rr_list_rr_count(sigs), 1);
	/* the wildcard owner itself is no expansion */
	assert_int_equal(ost_val_rrset(&f->c, set, sigs, f->zone, f->s.dnskeys, &v),
			 OST_SEC_SECURE);
	assert_false(v.is_wildcard);
	{
		ldns_rr *a = ldns_rr_clone(ldns_rr_list_rr(set, 0));
		ldns_rr *s = ldns_rr_clone(ldns_rr_list_rr(sigs, 0));

		ldns_rdf_deep_free(ldns_rr_owner(a));
		ldns_rr_set_owner(a, dname("x.w.example."));
		ldns_rdf_deep_free(ldns_rr_owner(s));
		ldns_rr_set_owner(s, dname("x.w.example."));
		ldns_rr_list_push_rr(xset, a);
		ldns_rr_list_push_rr(xsigs, s);
	}
	assert_int_equal(ost_val_rrset(&f->c, xset, xsigs, f->zone, f->s.dnskeys, &v),
			 OST_SEC_SECURE);
	assert_true(v.is_wildcard);
	assert_int_equal(v.wc_labels, 2);
	assert_int_equal(deny(f, OST_DENY_WILDCARD, "x.w.example.", 0, v.wc_labels, NULL, &v),
			 OST_SEC_SECURE);
	/* claimed from *.example.: w.example. exists, so it is a lie */
	assert_int_equal(deny(f, OST_DENY_WILDCARD, "x.w.example.", 0, 1, NULL, &v), OST_SEC_BOGUS);
	/* a name that exists cannot be a wildcard expansion */
	assert_int_equal(deny(f, OST_DENY_WILDCARD, "b.c.example.", 0, 1, NULL, &v), OST_SEC_BOGUS);
	ldns_rr_list_deep_free(xset);
	ldns_rr_list_deep_free(xsigs);
	ldns_rr_list_free(set);
	ldns_rr_list_free(sigs);
	ldns_rdf_deep_free(wc);
}

static void test_no_ds(void **state)
{
	struct fixture *f = *state;
	struct ost_val_verdict v;

	assert_int_equal(deny(f, OST_DENY_NO_DS, "sub.example.", LDNS_RR_TYPE_DS, 0, NULL, &v),
			 OST_SEC_INSECURE);
	/* sec.example. has a DS */
	assert_int_equal(deny(f, OST_DENY_NO_DS, "sec.example.", LDNS_RR_TYPE_DS, 0, NULL, &v),
			 OST_SEC_BOGUS);
	/* a.example. is no delegation */
	assert_int_equal(deny(f, OST_DENY_NO_DS, "a.example.", LDNS_RR_TYPE_DS, 0, NULL, &v),
			 OST_SEC_BOGUS);
}

/* ---- hand-made NSEC3 chains: opt-out and iteration limits ---- */

struct n3name {
	const char *name;
	const char *types;
};

/* NSEC3 records (unsigned: the proofs take validated records) for @p names
 * in example., with @p iter iterations, the given salt and opt-out flag. */
static ldns_rr_list *chain(const struct n3name *names, size_t n, uint16_t iter,
			   const char *salt_hex, bool optout)
{
	char hashes[32][40];
	ldns_rr_list *out = ldns_rr_list_new();
	uint8_t salt[255];
	size_t salt_len = strlen(salt_hex) / 2;
	size_t order[32];

	assert_true(n <= 32);
	for (size_t i = 0; i < salt_len; i++)
		sscanf(salt_hex + 2 * i, "%2hhx", &salt[i]);
	for (size_t i = 0; i < n; i++) {
		ldns_rdf *d = dname(names[i].name);
		ldns_rdf *h = ldns_nsec3_hash_name(d, 1, iter, (uint8_t)salt_len, salt);
		char *s = ldns_rdf2str(h);

		snprintf(hashes[i], sizeof(hashes[i]), "%.32s", s);
		free(s);
		ldns_rdf_deep_free(h);
		ldns_rdf_deep_free(d);
		order[i] = i;
	}
	for (size_t i = 0; i < n; i++) /* sort by hash */
		for (size_t j = i + 1; j < n; j++)
			if (strcasecmp(hashes[order[j]], hashes[order[i]]) < 0) {
				size_t t = order[i];

				order[i] = order[j];
				order[j] = t;
			}
	for (size_t i = 0; i < n; i++) {
		char text[1024];
		size_t k = order[i], nx = order[(i + 1) % n];

		snprintf(text, sizeof(text), "%s.example. 3600 IN NSEC3 1 %d %u %s %s %s",
			 hashes[k], optout ? 1 : 0, iter, salt_len ? salt_hex : "-", hashes[nx],
			 names[k].types);
		assert_true(ldns_rr_list_push_rr(out, rr_str(text)));
	}
	return out;
}

static void test_nsec3_optout(void **state)
{
	struct fixture *f = *state;
	struct ost_val_verdict v;
	/* sub.example. (unsigned delegation) is left out of the chain */
	const struct n3name names[] = {
		{"example.", "SOA NS DNSKEY NSEC3PARAM RRSIG"},
		{"a.example.", "A RRSIG"},
		{"sec.example.", "NS DS RRSIG"},
	};
	ldns_rr_list *l = chain(names, 3, 0, "", true);
	ldns_rr_list *strict = chain(names, 3, 0, "", false);

	assert_int_equal(deny(f, OST_DENY_NO_DS, "sub.example.", LDNS_RR_TYPE_DS, 0, l, &v),
			 OST_SEC_INSECURE);
	assert_int_equal(deny(f, OST_DENY_NODATA, "sub.example.", LDNS_RR_TYPE_DS, 0, l, &v),
			 OST_SEC_INSECURE);
	assert_int_equal(deny(f, OST_DENY_NXDOMAIN, "nope.example.", 1, 0, l, &v),
			 OST_SEC_INSECURE);
	/* without opt-out the same gap proves nothing about DS */
	assert_int_equal(deny(f, OST_DENY_NO_DS, "sub.example.", LDNS_RR_TYPE_DS, 0, strict, &v),
			 OST_SEC_BOGUS);
	assert_int_equal(deny(f, OST_DENY_NXDOMAIN, "nope.example.", 1, 0, strict, &v),
			 OST_SEC_SECURE);
	/* a matching NSEC3 with DS is no insecure delegation */
	assert_int_equal(deny(f, OST_DENY_NO_DS, "sec.example.", LDNS_RR_TYPE_DS, 0, l, &v),
			 OST_SEC_BOGUS);
	ldns_rr_list_deep_free(l);
	ldns_rr_list_deep_free(strict);
}

static void test_nsec3_iterations(void **state)
{
	struct fixture *f = *state;
	struct ost_val_verdict v;
	const struct n3name names[] = {
		{"example.", "SOA NS DNSKEY NSEC3PARAM RRSIG"},
		{"a.example.", "A RRSIG"},
	};
	ldns_rr_list *ok = chain(names, 2, 150, "aabbccdd", false);
	ldns_rr_list *high = chain(names, 2, 151, "aabbccdd", false);
	ldns_rr_list *absurd = chain(names, 2, 2500, "", false);
	char big_salt[511] = "";
	ldns_rr_list *salty;

	/* the longest salt the wire allows (255 octets) is only more work */
	for (int i = 0; i < 255; i++)
		strcat(big_salt, "ab");
	salty = chain(names, 2, 10, big_salt, false);
	char deep[600] = "";

	/* 150 is the RFC 9276 ceiling we accept */
	assert_int_equal(deny(f, OST_DENY_NXDOMAIN, "nope.example.", 1, 0, ok, &v), OST_SEC_SECURE);
	ost_val_ctx_init(&f->c, NULL, NOW);
	assert_int_equal(deny(f, OST_DENY_NXDOMAIN, "nope.example.", 1, 0, high, &v),
			 OST_SEC_INSECURE);
	assert_true(v.has_ede);
	assert_int_equal(v.ede, OST_EDE_UNSUPPORTED_NSEC3_ITER);
	assert_int_equal(f->c.n_hash_ops, 0);
	assert_int_equal(deny(f, OST_DENY_NODATA, "a.example.", LDNS_RR_TYPE_TXT, 0, absurd, &v),
			 OST_SEC_INSECURE);
	assert_int_equal(f->c.n_hash_ops, 0);
	ost_val_ctx_init(&f->c, NULL, NOW);
	assert_int_equal(deny(f, OST_DENY_NXDOMAIN, "nope.example.", 1, 0, salty, &v),
			 OST_SEC_SECURE);
	assert_true(f->c.n_hash_ops > 0 && f->c.n_hash_ops <= 5 * 11);
	ldns_rr_list_deep_free(salty);
	/* a 100-label name at 150 iterations: the closest-encloser walk
	 * stops at the budget instead of doing 15,000 SHA-1 */
	for (int i = 0; i < 100; i++)
		strcat(deep, "x.");
	strcat(deep, "example.");
	ost_val_ctx_init(&f->c, NULL, NOW);
	assert_int_equal(deny(f, OST_DENY_NXDOMAIN, deep, 1, 0, ok, &v), OST_SEC_BOGUS);
	assert_non_null(strstr(v.text, "work limit"));
	assert_true(f->c.n_hash_ops <= f->c.lim.max_nsec3_hash_ops);
	ldns_rr_list_deep_free(ok);
	ldns_rr_list_deep_free(high);
	ldns_rr_list_deep_free(absurd);
}

int run_proof_tests(void)
{
	const struct CMUnitTest nsec[] = {
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_nodata),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_no_ds),
	};
	const struct CMUnitTest nsec3[] = {
		cmocka_unit_test(test_nxdomain),     cmocka_unit_test(test_nodata),
		cmocka_unit_test(test_wildcard),     cmocka_unit_test(test_no_ds),
		cmocka_unit_test(test_nsec3_optout), cmocka_unit_test(test_nsec3_iterations),
	};

	return cmocka_run_group_tests_name("nsec", nsec, setup_nsec, teardown) +
	       cmocka_run_group_tests_name("nsec3", nsec3, setup_nsec3, teardown);
}
