/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared declarations of the zone mirror fast path's tests (unit_mirror_fast):
 * the fixture in mirror_fast_fixture.c, the differential tests in
 * test_mirror_fast.c (which has main()), the life-cycle tests (unusable
 * copies, new versions, allocations, read transactions) in
 * test_mirror_fast_life.c.
 */
#ifndef OSTROV_TEST_MIRROR_FAST_FIXTURE_H
#define OSTROV_TEST_MIRROR_FAST_FIXTURE_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "ostrov/cache.h"
#include "ostrov/resolver.h"
#include "ostrov/validator.h"
#include "ostrov/zone.h"

#include "ost_test.h"
#include "test_signer.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OST_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define OST_TEST_ASAN 1
#endif

#define T_NOW     1700000000
#define VALIDITY  (10 * 86400) /* signatures: T_NOW - 1 h .. T_NOW + 10 d */
#define EXPIRE    (5 * 86400)  /* SOA expire of every zone */
/* The mirror store's map: roomy, but for test_release_unpins(). */
#define ROOMY_MAP ((size_t)64 << 20)

enum zkind {
	ZK_NSEC = 0,
	ZK_NSEC3,
	ZK_NSEC3_OPTOUT,
	ZK_COUNT,
};

extern const char *const zone_names[ZK_COUNT];

struct env {
	char dir[64];
	struct fake_clock clk;
	struct fake_net net;
	struct ost_zone_store *store;
	struct ost_mirror *m;
	struct ost_test_signer sg[ZK_COUNT];
	ldns_rr_list *anchors[ZK_COUNT];
	struct ost_ta_store *ta;
	struct ost_resolver_config cfg;
	struct ost_root_hint hint;
	struct ost_resolver *r;
	struct ost_resolver_policy pol;
	int say;
	/* the engine's reply */
	unsigned calls;
	uint8_t wire[65535];
	size_t wlen;
	const uint8_t *query;
	size_t qlen;
};

enum expect {
	EX_ANY = 0, /* either */
	EX_FAST,    /* the fast path must answer */
	EX_PASS,    /* the fast path must pass */
};

struct tally {
	unsigned fast, passed, insecure;
};

struct question {
	const char *label; /* prefixed to the zone name ("" = apex) */
	uint16_t type;
	enum expect ex;
};

#ifndef OST_TEST_ASAN
/* Allocations of the whole process (counted by the fixture's malloc). */
extern unsigned long g_allocs;
#endif
/* Map size of the next setup()'s mirror store. */
extern size_t g_map_size;
/* Both replies as over TCP (no truncation). */
extern bool g_tcp;

/* Sign version @p serial of zone @p k and import it into the mirror. */
void import(struct env *e, enum zkind k, unsigned serial);
/* (Re)make the resolver over the mirror, validating or not. */
void resolver_new(struct env *e, bool validation);
int setup(void **state);
int teardown(void **state);
uint8_t *make_query(const char *name, uint16_t type, bool do_bit, bool cd, size_t *len);
/* The engine's reply to @p query. */
ldns_pkt *engine_reply(struct env *e, const char *name, uint16_t type, bool do_bit, bool cd,
		       const uint8_t *query, size_t qlen);
/* The fast path's reply to @p query, NULL when it passes; its entry in @p ent. */
ldns_pkt *fast_reply(struct env *e, const char *name, uint16_t type, const uint8_t *query,
		     size_t qlen, struct ost_cache_entry *ent);
/* Ask both ways and compare (see there). @return true when the fast path answered */
bool compare(struct env *e, const char *name, uint16_t type, bool do_bit, bool cd, enum expect ex,
	     struct tally *t);
/* compare() with DO=1, DO=0 and CD=1. */
void compare_all(struct env *e, const char *name, uint16_t type, enum expect ex, struct tally *t);
/* @return whether ost_mirror_answer() answers (name, type) */
bool fast_answers(struct env *e, const char *name, uint16_t type);

/* test_mirror_fast_life.c */
void test_pass_unusable(void **state);
void test_pass_unanchored(void **state);
void test_new_version(void **state);
void test_new_version_clock_back(void **state);
void test_no_allocation(void **state);
int setup_small_map(void **state);
void test_release_unpins(void **state);

#endif
