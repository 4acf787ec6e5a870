/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Negative trust anchors (RFC 7646) and anchor reloads in the trust-anchor
 * store (resolver/ta.c): configured NTAs that never expire next to run-time
 * ones that do, what each kind allows the other, listing and expiry, and
 * an anchor list replaced while lookups may run in other threads.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ostrov/validator.h"

#include "test_validate.h"

#define ROOT_DS_A ". DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D"
#define ROOT_DS_B ". DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16"

static const struct ost_nta_info *find(const struct ost_nta_info *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* Configured NTAs never expire and cannot be changed at run time. */
static void test_nta_config_vs_runtime(void **state)
{
	struct ost_ta_store *s;
	const struct ost_ta *ta;
	ldns_rdf *bogus = dname("Bogus.Example.");
	ldns_rdf *www = dname("www.bogus.example.");
	ldns_rdf *other = dname("other.example.");
	ldns_rdf *www_other = dname("www.other.example.");
	const ldns_rdf *cfg[1] = {bogus};
	struct ost_nta_info v[8];

	(void)state;
	assert_int_equal(ost_ta_store_new(&s), 0);
	assert_int_equal(ost_ta_add_builtin_root(s), 0);
	assert_int_equal(ost_ta_nta_set_config(s, cfg, 1), 0);
	/* in force at any time, however far ahead */
	assert_int_equal(ost_ta_lookup(s, www, 100, &ta), OST_TA_NTA);
	assert_int_equal(ost_ta_lookup(s, www, INT64_MAX - 1, &ta), OST_TA_NTA);
	assert_int_equal(ost_ta_lookup(s, www_other, 100, &ta), OST_TA_ANCHOR);
	/* an operator can neither shorten nor remove it */
	assert_int_equal(ost_ta_nta_add(s, bogus, 200), -EPERM);
	assert_int_equal(ost_ta_nta_remove(s, bogus), -EPERM);
	assert_int_equal(ost_ta_lookup(s, www, 300, &ta), OST_TA_NTA);
	/* nor does it expire */
	assert_int_equal(ost_ta_nta_expire(s, INT64_MAX - 1, v, 8), 0);
	/* a run-time one next to it */
	assert_int_equal(ost_ta_nta_add(s, other, 500), 0);
	assert_int_equal(ost_ta_lookup(s, www_other, 100, &ta), OST_TA_NTA);
	assert_int_equal(ost_ta_nta_list(s, 100, v, 8), 2);
	const struct ost_nta_info *c = find(v, 2, "bogus.example.");
	const struct ost_nta_info *r = find(v, 2, "other.example.");
	assert_non_null(c); /* stored lower case (canonical) */
	assert_non_null(r);
	assert_int_equal(c->source, OST_NTA_CONFIG);
	assert_true(c->until == OST_NTA_FOREVER);
	assert_int_equal(r->source, OST_NTA_RUNTIME);
	assert_int_equal(r->until, 500);
	assert_string_equal(ost_nta_source_str(OST_NTA_CONFIG), "config");
	assert_string_equal(ost_nta_source_str(OST_NTA_RUNTIME), "runtime");
	/* the list is bounded by @cap but counts everything */
	assert_int_equal(ost_ta_nta_list(s, 100, v, 1), 2);
	assert_int_equal(ost_ta_nta_list(s, 100, NULL, 0), 2);
	/* the run-time one expires: gone from lookups at once, reported once by expire */
	assert_int_equal(ost_ta_lookup(s, www_other, 500, &ta), OST_TA_ANCHOR);
	assert_int_equal(ost_ta_nta_list(s, 500, v, 8), 1);
	assert_int_equal(ost_ta_nta_expire(s, 499, v, 8), 0);
	assert_int_equal(ost_ta_nta_expire(s, 500, v, 8), 1);
	assert_string_equal(v[0].name, "other.example.");
	assert_int_equal(v[0].source, OST_NTA_RUNTIME);
	assert_int_equal(ost_ta_nta_expire(s, 500, v, 8), 0);
	assert_int_equal(ost_ta_nta_remove(s, other), -ENOENT);
	/* removal of a run-time NTA restores validation */
	assert_int_equal(ost_ta_nta_add(s, other, 1000), 0);
	assert_int_equal(ost_ta_nta_add(s, other, 2000), 0); /* extended, not doubled */
	assert_int_equal(ost_ta_nta_count(s, 100), 2);
	assert_int_equal(ost_ta_nta_remove(s, other), 0);
	assert_int_equal(ost_ta_lookup(s, www_other, 100, &ta), OST_TA_ANCHOR);
	assert_non_null(ta);
	ost_ta_store_free(s);
	ldns_rdf_deep_free(bogus);
	ldns_rdf_deep_free(www);
	ldns_rdf_deep_free(other);
	ldns_rdf_deep_free(www_other);
}

/* A reload replaces the configured set; run-time NTAs survive it. */
static void test_nta_set_config_reload(void **state)
{
	struct ost_ta_store *s;
	const struct ost_ta *ta;
	ldns_rdf *a = dname("a.example.");
	ldns_rdf *b = dname("b.example.");
	ldns_rdf *r = dname("r.example.");
	ldns_rdf *in_a = dname("x.a.example.");
	ldns_rdf *in_b = dname("x.b.example.");
	ldns_rdf *in_r = dname("x.r.example.");
	struct ost_nta_info v[8];

	(void)state;
	assert_int_equal(ost_ta_store_new(&s), 0);
	assert_int_equal(ost_ta_add_builtin_root(s), 0);
	{
		const ldns_rdf *first[2] = {a, b};
		assert_int_equal(ost_ta_nta_set_config(s, first, 2), 0);
	}
	assert_int_equal(ost_ta_nta_add(s, r, 1000), 0);
	/* the file now lists b and r: a goes, b stays, r becomes permanent */
	{
		const ldns_rdf *second[2] = {b, r};
		assert_int_equal(ost_ta_nta_set_config(s, second, 2), 0);
	}
	assert_int_equal(ost_ta_lookup(s, in_a, 100, &ta), OST_TA_ANCHOR);
	assert_int_equal(ost_ta_lookup(s, in_b, 100, &ta), OST_TA_NTA);
	assert_int_equal(ost_ta_lookup(s, in_r, 5000, &ta), OST_TA_NTA);
	assert_int_equal(ost_ta_nta_list(s, 100, v, 8), 2);
	assert_int_equal(find(v, 2, "r.example.")->source, OST_NTA_CONFIG);
	assert_int_equal(ost_ta_nta_remove(s, r), -EPERM);
	/* an empty list clears configured NTAs only */
	assert_int_equal(ost_ta_nta_add(s, a, 1000), 0);
	assert_int_equal(ost_ta_nta_set_config(s, NULL, 0), 0);
	assert_int_equal(ost_ta_nta_list(s, 100, v, 8), 1);
	assert_string_equal(v[0].name, "a.example.");
	assert_int_equal(v[0].source, OST_NTA_RUNTIME);
	/* a non-name changes nothing */
	{
		ldns_rdf *notname = ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 5);
		const ldns_rdf *bad[2] = {b, notname};
		assert_int_equal(ost_ta_nta_set_config(s, bad, 2), -EINVAL);
		assert_int_equal(ost_ta_nta_add(s, notname, 10), -EINVAL);
		ldns_rdf_deep_free(notname);
	}
	assert_int_equal(ost_ta_lookup(s, in_b, 100, &ta), OST_TA_ANCHOR);
	ost_ta_store_free(s);
	ldns_rdf_deep_free(a);
	ldns_rdf_deep_free(b);
	ldns_rdf_deep_free(r);
	ldns_rdf_deep_free(in_a);
	ldns_rdf_deep_free(in_b);
	ldns_rdf_deep_free(in_r);
}

/* Many NTAs: the store says no, clearly, and keeps working. */
static void test_nta_limit(void **state)
{
	struct ost_ta_store *s;
	char text[64];
	size_t added = 0;
	int ret = 0;

	(void)state;
	assert_int_equal(ost_ta_store_new(&s), 0);
	for (unsigned i = 0; i < 10000 && ret == 0; i++) {
		snprintf(text, sizeof(text), "z%u.example.", i);
		ldns_rdf *n = dname(text);
		ret = ost_ta_nta_add(s, n, 100);
		added += ret == 0;
		ldns_rdf_deep_free(n);
	}
	assert_int_equal(ret, -ENOSPC);
	assert_true(added >= 16 && added < 10000);
	assert_int_equal(ost_ta_nta_count(s, 0), added);
	assert_int_equal(ost_ta_nta_expire(s, 100, NULL, 0), added);
	assert_int_equal(ost_ta_nta_count(s, 0), 0);
	ost_ta_store_free(s);
}

struct reader {
	struct ost_ta_store *s;
	ldns_rdf *name;
	volatile bool stop;
	unsigned lookups, anchored;
};

static void *read_loop(void *arg)
{
	struct reader *r = arg;
	const struct ost_ta *ta;

	while (!r->stop) {
		if (ost_ta_lookup(r->s, r->name, 100, &ta) == OST_TA_ANCHOR && ta &&
		    ldns_rr_list_rr_count(ta->ds) >= 1)
			r->anchored++;
		r->lookups++;
	}
	return NULL;
}

/* A reload of the anchor file: compared, then published while a thread reads. */
static void test_replace_anchors(void **state)
{
	struct ost_ta_store *s, *same, *other;
	ldns_rdf *www = dname("www.example.");
	const struct ost_ta *ta;

	(void)state;
	assert_int_equal(ost_ta_store_new(&s), 0);
	assert_int_equal(ost_ta_add_str(s, ROOT_DS_A), 0);
	assert_int_equal(ost_ta_add_str(s, ROOT_DS_B), 0);
	assert_int_equal(ost_ta_store_new(&same), 0);
	assert_int_equal(ost_ta_add_str(same, ROOT_DS_B), 0); /* other order, same set */
	assert_int_equal(ost_ta_add_str(same, ROOT_DS_A), 0);
	assert_int_equal(ost_ta_store_new(&other), 0);
	assert_int_equal(ost_ta_add_str(other, ROOT_DS_B), 0); /* KSK-2017 dropped */
	assert_true(ost_ta_same_anchors(s, same));
	assert_false(ost_ta_same_anchors(s, other));
	assert_false(ost_ta_same_anchors(other, s));

	struct reader rd = {.s = s, .name = www};
	pthread_t th;
	ldns_rdf *ex = dname("example.");
	assert_int_equal(ost_ta_nta_add(s, ex, 50), 0); /* expired at 100: does not apply */
	assert_int_equal(pthread_create(&th, NULL, read_loop, &rd), 0);
	uint64_t g0 = ost_ta_generation(s);
	assert_int_equal(ost_ta_replace_anchors(s, other), 0);
	assert_int_equal(ost_ta_generation(s), g0 + 1);
	rd.stop = true;
	pthread_join(th, NULL);
	assert_int_equal(rd.anchored, rd.lookups); /* never a lookup without an anchor */
	assert_int_equal(ost_ta_count(s), 1);
	assert_int_equal(ost_ta_count(other), 0);
	assert_int_equal(ost_ta_lookup(s, www, 100, &ta), OST_TA_ANCHOR);
	assert_int_equal(ldns_rr_list_rr_count(ta->ds), 1);
	assert_int_equal(ldns_rdf2native_int16(ldns_rr_rdf(ldns_rr_list_rr(ta->ds, 0), 0)), 38696);
	assert_false(ost_ta_same_anchors(s, same));
	/* NTAs were not touched */
	assert_int_equal(ost_ta_nta_list(s, 0, NULL, 0), 1);
	assert_int_equal(ost_ta_replace_anchors(s, s), -EINVAL);
	ost_ta_store_free(s); /* frees the retired list too (ASan/valgrind would tell) */
	ost_ta_store_free(same);
	ost_ta_store_free(other);
	ldns_rdf_deep_free(www);
	ldns_rdf_deep_free(ex);
}

int run_nta_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nta_config_vs_runtime),
		cmocka_unit_test(test_nta_set_config_reload),
		cmocka_unit_test(test_nta_limit),
		cmocka_unit_test(test_replace_anchors),
	};
	return cmocka_run_group_tests_name("nta", tests, NULL, NULL);
}
