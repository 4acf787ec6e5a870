/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the zone mirror's fast path (resolver/mirror_fast.c,
 * ost_mirror_answer()), differential against the engine: three zones
 * signed here with ldns (NSEC, NSEC3, NSEC3 with opt-out) are imported into
 * a mirror on the fake clock; for many questions (names, NODATA, empty
 * non-terminals, NXDOMAIN, DS at secure and insecure delegations, apex
 * types, names below delegations, CNAME, DNAME, wildcards, ANY, RRSIG) the
 * reply the fast path's entry renders with ost_msg_to_wire() is compared
 * with the reply ost_resolve() gives for the same query through the engine
 * (no cache, so the engine asks the mirror every time) and
 * ost_result_to_wire(): the same RCODE, AA/AD/TC bits and the same records
 * per section, TTLs included (order aside), or the fast path passes. The
 * questions it must answer and the ones it must pass are listed; NSEC3
 * proofs are checked against ldns_nsec3_hash_name(), and DO=0 replies carry
 * no DNSSEC records. It passes when the copy is past its SOA expire
 * deadline (also extended by the failover policy), at its RRSIG horizon,
 * under an NTA, not anchored in the resolver's anchors, or with validation
 * off; a version committed in the same second is seen at once. Once warm,
 * it allocates nothing (every allocation of the process is counted).
 */
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

#ifndef OST_TEST_ASAN
/*
 * Every allocation of the process is counted (as tests/unit/server/
 * malloc_count.c does for ostrovd): the fast path must not allocate per
 * answer. glibc's __libc_* entry points do the work. Not under ASan, whose
 * allocator must stay in place.
 */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static unsigned long g_allocs;

__attribute__((visibility("default"))) void *malloc(size_t size)
{
	g_allocs++;
	return __libc_malloc(size);
}

__attribute__((visibility("default"))) void *calloc(size_t n, size_t size)
{
	g_allocs++;
	return __libc_calloc(n, size);
}

__attribute__((visibility("default"))) void *realloc(void *p, size_t size)
{
	g_allocs++;
	return __libc_realloc(p, size);
}
#endif

#define T_NOW    1700000000
#define VALIDITY (10 * 86400) /* signatures: T_NOW - 1 h .. T_NOW + 10 d */
#define EXPIRE   (5 * 86400)  /* SOA expire of every zone */

enum zkind {
	ZK_NSEC = 0,
	ZK_NSEC3,
	ZK_NSEC3_OPTOUT,
	ZK_COUNT,
};

static const char *const zone_names[ZK_COUNT] = {"nsec.", "n3.", "n3o."};

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

/* The zone text of version @p serial (2 adds "new."). */
static void zone_text(char *buf, size_t len, const char *z, unsigned serial)
{
	snprintf(buf, len,
		 "%s 3600 IN SOA ns.%s h.%s %u 7200 900 %u 300\n"
		 "%s 3600 IN NS ns.%s\n"
		 "ns.%s 3600 IN A 192.0.2.53\n"
		 "www.%s 3600 IN A 192.0.2.80\n"
		 "www.%s 3600 IN AAAA 2001:db8::80\n"
		 "txt.%s 300 IN TXT \"hello\"\n"
		 "a.b.c.%s 3600 IN A 192.0.2.1\n"
		 "alias.%s 3600 IN CNAME www.%s\n"
		 "*.wild.%s 3600 IN A 192.0.2.7\n"
		 "dn.%s 3600 IN DNAME example.net.\n"
		 "big.%s 864000 IN A 192.0.2.9\n"
		 "sec.%s 3600 IN NS ns.sec.%s\n"
		 "sec.%s 3600 IN DS 12345 13 2 "
		 "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\n"
		 "ns.sec.%s 3600 IN A 192.0.2.10\n"
		 "insec.%s 3600 IN NS ns.insec.%s\n"
		 "ns.insec.%s 3600 IN A 192.0.2.11\n",
		 z, z, z, serial, EXPIRE, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z);
	if (serial >= 2) {
		size_t l = strlen(buf);
		snprintf(buf + l, len - l, "new.%s 3600 IN A 192.0.2.2\n", z);
	}
}

static ldns_rr_list *sign_zone(struct ost_test_signer *s, enum zkind k, unsigned serial)
{
	char text[4096];
	const char *apex = zone_names[k];
	zone_text(text, sizeof(text), apex, serial);
	ldns_zone *z = NULL, *signed_z;
	ldns_rdf *origin = ldns_dname_new_frm_str(apex);
	FILE *f = fmemopen(text, strlen(text), "r");
	assert_non_null(f);
	assert_int_equal(ldns_zone_new_frm_fp(&z, f, origin, 3600, LDNS_RR_CLASS_IN),
			 LDNS_STATUS_OK);
	fclose(f);
	ldns_rdf_deep_free(origin);
	for (size_t i = 0; i < ldns_rr_list_rr_count(s->dnskeys); i++)
		ldns_zone_push_rr(z, ldns_rr_clone(ldns_rr_list_rr(s->dnskeys, i)));
	uint8_t salt[4] = {0xab, 0xcd, 0x00, 0x01};
	if (k == ZK_NSEC)
		signed_z = ldns_zone_sign(z, s->keys);
	else
		signed_z =
			ldns_zone_sign_nsec3(z, s->keys, LDNS_SHA1,
					     k == ZK_NSEC3_OPTOUT ? LDNS_NSEC3_VARS_OPTOUT_MASK : 0,
					     3, sizeof(salt), salt);
	assert_non_null(signed_z);
	ldns_rr_list *all = ldns_rr_list_clone(ldns_zone_rrs(signed_z));
	ldns_rr_list_push_rr(all, ldns_rr_clone(ldns_zone_soa(signed_z)));
	ldns_zone_deep_free(signed_z);
	ldns_zone_deep_free(z);
	return all;
}

/* The mirror store's map: roomy, but for test_release_unpins(). */
#define ROOMY_MAP ((size_t)64 << 20)
static size_t g_map_size = ROOMY_MAP;

static void import(struct env *e, enum zkind k, unsigned serial)
{
	struct ost_zone_verify_result res;
	ldns_rr_list *rrs = sign_zone(&e->sg[k], k, serial);
	int rc = ost_mirror_import_rrs(e->m, zone_names[k], rrs, "xfr:test",
				       ost_clock_wall_s(&e->clk.clock), &res);
	if (rc != 0)
		fail_msg("import %s: %s", zone_names[k], res.reason);
	ldns_rr_list_deep_free(rrs);
}

static int policy_say(void *ctx, const char *zone)
{
	(void)zone;
	return ((struct env *)ctx)->say;
}

static void resolver_new(struct env *e, bool validation)
{
	ost_resolver_free(e->r);
	ost_resolver_config_default(&e->cfg);
	fake_root_hint(&e->hint, "a.root-servers.net.", "127.53.0.1");
	e->cfg.hints = &e->hint;
	e->cfg.n_hints = 1;
	e->cfg.mirror = e->m;
	e->cfg.mirror_store = e->store;
	e->cfg.validation = validation;
	e->cfg.anchors = e->ta;
	e->cfg.max_ttl = 86400;
	e->cfg.max_neg_ttl = 3600;
	e->pol = (struct ost_resolver_policy){.ctx = e, .mirror_use = policy_say};
	e->cfg.policy = &e->pol;
	assert_int_equal(ost_resolver_new(&e->r, &e->cfg, NULL, &e->clk.clock, &e->net.tp), 0);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/ost-mfast-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	fake_clock_init(&e->clk, T_NOW);
	fake_clock_set_wall(&e->clk, T_NOW);
	fake_net_init(&e->net, &e->clk);
	fake_zone(&e->net, "127.53.0.1", ".",
		  ". 86400 IN SOA a.root-servers.net. h. 1 1800 900 604800 86400\n"
		  ". 518400 IN NS a.root-servers.net.\n");
	struct ost_zone_store_opts o = {.path = e->dir, .map_size = g_map_size};
	assert_int_equal(ost_zone_store_open(&o, &e->store), 0);
	assert_int_equal(ost_mirror_new(e->store, &e->clk.clock, &e->m), 0);
	assert_int_equal(ost_ta_store_new(&e->ta), 0);
	for (int k = 0; k < ZK_COUNT; k++) {
		ost_test_signer_init(&e->sg[k], zone_names[k], T_NOW - 3600, T_NOW + VALIDITY);
		e->anchors[k] = ldns_rr_list_new();
		ldns_rr_list_push_rr(e->anchors[k], ldns_rr_clone(e->sg[k].ksk_ds));
		struct ost_mirror_zone_config zc = {.name = zone_names[k],
						    .anchors = e->anchors[k]};
		assert_int_equal(ost_mirror_add_zone(e->m, &zc), 0);
		assert_int_equal(ost_ta_add_rr(e->ta, e->sg[k].ksk_ds), 0);
	}
	for (int k = 0; k < ZK_COUNT; k++)
		import(e, (enum zkind)k, 1);
	e->say = OST_MIRROR_NO_OPINION;
	resolver_new(e, true);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	ost_resolver_free(e->r);
	assert_int_equal(fake_inflight(&e->net), 0);
	ost_mirror_free(e->m);
	ost_zone_store_close(e->store);
	ost_ta_store_free(e->ta);
	for (int k = 0; k < ZK_COUNT; k++) {
		if (e->sg[k].keys)
			ost_test_signer_deinit(&e->sg[k]);
		ldns_rr_list_deep_free(e->anchors[k]);
	}
	fake_clock_deinit(&e->clk);
	fake_net_deinit(&e->net);
	assert_int_equal(fake_rmtree(e->dir), 0);
	free(e);
	return 0;
}

/* ---- the two paths ---- */

/* Both replies as over TCP (no truncation). */
static bool g_tcp;

static uint8_t *make_query(const char *name, uint16_t type, bool do_bit, bool cd, size_t *len)
{
	ldns_pkt *q = NULL;
	assert_int_equal(ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN, LDNS_RD),
			 LDNS_STATUS_OK);
	ldns_pkt_set_id(q, 0x4242);
	ldns_pkt_set_cd(q, cd);
	ldns_pkt_set_edns_udp_size(q, 4096);
	ldns_pkt_set_edns_do(q, do_bit);
	uint8_t *w = NULL;
	assert_int_equal(ldns_pkt2wire(&w, q, len), LDNS_STATUS_OK);
	ldns_pkt_free(q);
	return w;
}

static void on_result(const struct ost_result *res, void *arg)
{
	struct env *e = arg;
	e->calls++;
	assert_int_equal(ost_result_to_wire(res, e->query, e->qlen, g_tcp, 1232, e->wire,
					    sizeof(e->wire), &e->wlen),
			 0);
}

/* The engine's reply to @p query. */
static ldns_pkt *engine_reply(struct env *e, const char *name, uint16_t type, bool do_bit, bool cd,
			      const uint8_t *query, size_t qlen)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	struct ost_request *rq = NULL;
	unsigned flags = OST_RF_RD | (do_bit ? OST_RF_DO : 0) | (cd ? OST_RF_CD : 0);
	unsigned before = e->calls;
	e->query = query;
	e->qlen = qlen;
	assert_int_equal(ost_resolve(e->r, ldns_rdf_data(n), type, LDNS_RR_CLASS_IN, flags,
				     on_result, e, &rq),
			 0);
	ldns_rdf_deep_free(n);
	fake_clock_run(&e->clk, 60000);
	assert_int_equal(e->calls, before + 1);
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, e->wire, e->wlen), LDNS_STATUS_OK);
	return p;
}

/* The fast path's reply to @p query, or NULL when it passes. */
static ldns_pkt *fast_reply(struct env *e, const char *name, uint16_t type, const uint8_t *query,
			    size_t qlen, struct ost_cache_entry *ent)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	int rc = ost_mirror_answer(e->r, ldns_rdf_data(n), ldns_rdf_size(n), type, LDNS_RR_CLASS_IN,
				   ent);
	ldns_rdf_deep_free(n);
	if (rc == -ENOENT)
		return NULL;
	assert_int_equal(rc, 0);
	uint8_t buf[65535];
	size_t len = 0;
	assert_int_equal(ost_msg_to_wire(ent, query, qlen, ost_clock_wall_s(&e->clk.clock), g_tcp,
					 1232, buf, sizeof(buf), &len),
			 0);
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, buf, len), LDNS_STATUS_OK);
	return p;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The records of @p l as sorted text lines, in @p buf. */
static void section_str(const ldns_rr_list *l, char *buf, size_t len)
{
	size_t n = ldns_rr_list_rr_count(l), pos = 0;
	char **s = calloc(n + 1, sizeof(*s));
	assert_non_null(s);
	/* Owner names without case: the engine's reply compresses an owner to
	 * the question's spelling, the cache-hit renderer (and so the fast
	 * path) writes the stored one (RFC 4343: the same name). */
	for (size_t i = 0; i < n; i++) {
		ldns_rr *c = ldns_rr_clone(ldns_rr_list_rr(l, i));
		ldns_dname2canonical(ldns_rr_owner(c));
		s[i] = ldns_rr2str(c);
		ldns_rr_free(c);
	}
	qsort(s, n, sizeof(*s), str_cmp);
	buf[0] = 0;
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + pos, len - pos, "%s", s[i]);
		if (w > 0 && (size_t)w < len - pos)
			pos += (size_t)w;
		free(s[i]);
	}
	free(s);
}

static bool has_dnssec(const ldns_pkt *p, uint16_t qtype)
{
	const ldns_rr_list *secs[3] = {ldns_pkt_answer(p), ldns_pkt_authority(p),
				       ldns_pkt_additional(p)};
	for (int s = 0; s < 3; s++) {
		for (size_t i = 0; i < ldns_rr_list_rr_count(secs[s]); i++) {
			uint16_t t = ldns_rr_get_type(ldns_rr_list_rr(secs[s], i));
			if (t != qtype && (t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_NSEC ||
					   t == LDNS_RR_TYPE_NSEC3))
				return true;
		}
	}
	return false;
}

enum expect {
	EX_ANY = 0, /* either */
	EX_FAST,    /* the fast path must answer */
	EX_PASS,    /* the fast path must pass */
};

struct tally {
	unsigned fast, passed, insecure;
};

/*
 * Ask (name, type) both ways and compare; @return true when the fast path
 * answered. With DO=0 the reply must carry no DNSSEC records.
 */
static bool compare(struct env *e, const char *name, uint16_t type, bool do_bit, bool cd,
		    enum expect ex, struct tally *t)
{
	size_t qlen = 0;
	uint8_t *q = make_query(name, type, do_bit, cd, &qlen);
	struct ost_cache_entry ent;
	ldns_pkt *fp = fast_reply(e, name, type, q, qlen, &ent);
	char what[300];
	snprintf(what, sizeof(what), "%s %s DO=%d CD=%d", name,
		 ldns_rr_descript(type) ? ldns_rr_descript(type)->_name : "?", do_bit, cd);
	if (!fp) {
		free(q);
		if (ex == EX_FAST)
			fail_msg("%s: the fast path passed", what);
		t->passed++;
		return false;
	}
	if (ex == EX_PASS)
		fail_msg("%s: the fast path answered", what);
	t->fast++;
	if (ent.sec == OST_SEC_INSECURE)
		t->insecure++;
	ldns_pkt *ep = engine_reply(e, name, type, do_bit, cd, q, qlen);
	if (ldns_pkt_get_rcode(fp) != ldns_pkt_get_rcode(ep) ||
	    ldns_pkt_aa(fp) != ldns_pkt_aa(ep) || ldns_pkt_ad(fp) != ldns_pkt_ad(ep) ||
	    ldns_pkt_tc(fp) != ldns_pkt_tc(ep) || ldns_pkt_cd(fp) != ldns_pkt_cd(ep) ||
	    ldns_pkt_id(fp) != ldns_pkt_id(ep))
		fail_msg("%s: header differs: fast rcode %d aa %d ad %d tc %d, engine rcode %d aa "
			 "%d ad %d tc %d",
			 what, ldns_pkt_get_rcode(fp), ldns_pkt_aa(fp), ldns_pkt_ad(fp),
			 ldns_pkt_tc(fp), ldns_pkt_get_rcode(ep), ldns_pkt_aa(ep), ldns_pkt_ad(ep),
			 ldns_pkt_tc(ep));
	assert_false(ldns_pkt_aa(fp)); /* RFC 8806 §3 */
	assert_false(ldns_pkt_tc(fp));
	static char fs[16384], es[16384];
	const ldns_rr_list *fsec[3] = {ldns_pkt_answer(fp), ldns_pkt_authority(fp),
				       ldns_pkt_additional(fp)};
	const ldns_rr_list *esec[3] = {ldns_pkt_answer(ep), ldns_pkt_authority(ep),
				       ldns_pkt_additional(ep)};
	for (int s = 0; s < 3; s++) {
		section_str(fsec[s], fs, sizeof(fs));
		section_str(esec[s], es, sizeof(es));
		if (strcmp(fs, es) != 0)
			fail_msg("%s: section %d differs\nfast:\n%sengine:\n%s", what, s, fs, es);
	}
	if (!do_bit && has_dnssec(fp, type))
		fail_msg("%s: DNSSEC records for a DO=0 client", what);
	ldns_pkt_free(fp);
	ldns_pkt_free(ep);
	free(q);
	return true;
}

/* Every question both ways, with DO=1, DO=0 and CD=1. */
static void compare_all(struct env *e, const char *name, uint16_t type, enum expect ex,
			struct tally *t)
{
	compare(e, name, type, true, false, ex, t);
	compare(e, name, type, false, false, ex, t);
	compare(e, name, type, true, true, ex, t);
}

struct question {
	const char *label; /* prefixed to the zone name ("" = apex) */
	uint16_t type;
	enum expect ex;
};

static const struct question questions[] = {
	/* apex data */
	{"", LDNS_RR_TYPE_SOA, EX_FAST},
	{"", LDNS_RR_TYPE_NS, EX_FAST},
	{"", LDNS_RR_TYPE_DNSKEY, EX_FAST},
	{"", LDNS_RR_TYPE_TXT, EX_FAST}, /* NODATA at the apex */
	{"", LDNS_RR_TYPE_DS, EX_PASS},  /* the parent's (not mirrored) */
	/* exact RRsets */
	{"www.", LDNS_RR_TYPE_A, EX_FAST},
	{"WwW.", LDNS_RR_TYPE_AAAA, EX_FAST},
	{"txt.", LDNS_RR_TYPE_TXT, EX_FAST},
	{"ns.", LDNS_RR_TYPE_A, EX_FAST},
	{"a.b.c.", LDNS_RR_TYPE_A, EX_FAST},
	{"big.", LDNS_RR_TYPE_A, EX_FAST}, /* TTL above max-ttl */
	{"alias.", LDNS_RR_TYPE_CNAME, EX_FAST},
	{"dn.", LDNS_RR_TYPE_DNAME, EX_FAST},
	/* NODATA, empty non-terminals */
	{"www.", LDNS_RR_TYPE_MX, EX_FAST},
	{"b.c.", LDNS_RR_TYPE_A, EX_FAST},
	{"c.", LDNS_RR_TYPE_AAAA, EX_FAST},
	{"wild.", LDNS_RR_TYPE_A, EX_FAST},
	/* NXDOMAIN */
	{"nosuch.", LDNS_RR_TYPE_A, EX_FAST},
	{"x.y.nosuch.", LDNS_RR_TYPE_A, EX_FAST},
	{"deep.a.b.c.", LDNS_RR_TYPE_A, EX_FAST},
	{"zzz.", LDNS_RR_TYPE_TXT, EX_FAST},
	{"aaa.", LDNS_RR_TYPE_A, EX_FAST},
	{"new.", LDNS_RR_TYPE_A, EX_FAST},
	/* DS at delegations: the parent side */
	{"sec.", LDNS_RR_TYPE_DS, EX_FAST},
	{"insec.", LDNS_RR_TYPE_DS, EX_FAST},
	/* left to the engine */
	{"alias.", LDNS_RR_TYPE_A, EX_PASS},     /* CNAME link */
	{"x.dn.", LDNS_RR_TYPE_A, EX_PASS},      /* DNAME */
	{"foo.wild.", LDNS_RR_TYPE_A, EX_PASS},  /* wildcard */
	{"foo.wild.", LDNS_RR_TYPE_MX, EX_PASS}, /* wildcard NODATA */
	{"www.sec.", LDNS_RR_TYPE_A, EX_PASS},   /* referral, secure */
	{"sec.", LDNS_RR_TYPE_NS, EX_PASS},      /* referral */
	{"insec.", LDNS_RR_TYPE_A, EX_PASS},     /* referral, insecure */
	{"ns.insec.", LDNS_RR_TYPE_A, EX_PASS},  /* glue */
	{"www.", LDNS_RR_TYPE_ANY, EX_PASS},
	{"www.", LDNS_RR_TYPE_RRSIG, EX_PASS},
};

static void zone_questions(struct env *e, enum zkind k, struct tally *t)
{
	for (size_t i = 0; i < sizeof(questions) / sizeof(questions[0]); i++) {
		char name[300];
		snprintf(name, sizeof(name), "%s%s", questions[i].label, zone_names[k]);
		enum expect ex = questions[i].ex;
		/* Referrals are resolved by the engine through servers this
		 * test does not have: only the fast path's PASS is checked. */
		if (ex == EX_PASS) {
			compare(e, name, questions[i].type, true, false, ex, t);
			compare(e, name, questions[i].type, false, false, ex, t);
			continue;
		}
		compare_all(e, name, questions[i].type, ex, t);
	}
}

static void test_nsec_zone(void **state)
{
	struct env *e = *state;
	struct tally t = {0};
	zone_questions(e, ZK_NSEC, &t);
	assert_true(t.fast > 50);
	assert_int_equal(t.insecure, 0); /* NSEC: every answer secure */
	struct ost_resolver_stats st;
	ost_resolver_stats_get(e->r, &st);
	assert_int_equal(st.mirror_fast, t.fast);
}

static void test_nsec3_zone(void **state)
{
	struct env *e = *state;
	struct tally t = {0};
	zone_questions(e, ZK_NSEC3, &t);
	assert_true(t.fast > 50);
	assert_int_equal(t.insecure, 0);
}

static void test_nsec3_optout_zone(void **state)
{
	struct env *e = *state;
	struct tally t = {0};
	zone_questions(e, ZK_NSEC3_OPTOUT, &t);
	assert_true(t.fast > 50);
	/* NXDOMAIN over opt-out spans, the insecure delegation's DS: insecure. */
	assert_true(t.insecure > 0);
	/* and with AD clear */
	size_t qlen = 0;
	uint8_t *q = make_query("nosuch.n3o.", LDNS_RR_TYPE_A, true, false, &qlen);
	struct ost_cache_entry ent;
	ldns_pkt *p = fast_reply(e, "nosuch.n3o.", LDNS_RR_TYPE_A, q, qlen, &ent);
	assert_non_null(p);
	assert_int_equal(ent.sec, OST_SEC_INSECURE);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_false(ldns_pkt_ad(p));
	ldns_pkt_free(p);
	free(q);
}

/* The NSEC3 the fast path proves NODATA with is the one ldns hashes the name to. */
static void test_nsec3_hash(void **state)
{
	struct env *e = *state;
	static const char *const names[] = {"www.n3.", "WWW.N3.", "b.c.n3.", "n3."};
	static const uint16_t types[] = {LDNS_RR_TYPE_MX, LDNS_RR_TYPE_MX, LDNS_RR_TYPE_A,
					 LDNS_RR_TYPE_TXT};
	uint8_t salt[4] = {0xab, 0xcd, 0x00, 0x01};
	for (size_t i = 0; i < 4; i++) {
		size_t qlen = 0;
		uint8_t *q = make_query(names[i], types[i], true, false, &qlen);
		struct ost_cache_entry ent;
		ldns_pkt *p = fast_reply(e, names[i], types[i], q, qlen, &ent);
		assert_non_null(p);
		ldns_rdf *n = ldns_dname_new_frm_str(names[i]);
		ldns_rdf *h = ldns_nsec3_hash_name(n, LDNS_SHA1, 3, sizeof(salt), salt);
		ldns_rdf *apex = ldns_dname_new_frm_str("n3.");
		assert_int_equal(ldns_dname_cat(h, apex), LDNS_STATUS_OK);
		bool found = false;
		const ldns_rr_list *ns = ldns_pkt_authority(p);
		for (size_t j = 0; j < ldns_rr_list_rr_count(ns); j++) {
			const ldns_rr *rr = ldns_rr_list_rr(ns, j);
			found |= ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC3 &&
				 ldns_dname_compare(ldns_rr_owner(rr), h) == 0;
		}
		assert_true(found);
		assert_true(ldns_pkt_ad(p));
		ldns_rdf_deep_free(n);
		ldns_rdf_deep_free(h);
		ldns_rdf_deep_free(apex);
		ldns_pkt_free(p);
		free(q);
	}
}

static bool fast_answers(struct env *e, const char *name, uint16_t type)
{
	struct ost_cache_entry ent;
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	int rc = ost_mirror_answer(e->r, ldns_rdf_data(n), ldns_rdf_size(n), type, LDNS_RR_CLASS_IN,
				   &ent);
	ldns_rdf_deep_free(n);
	assert_true(rc == 0 || rc == -ENOENT);
	return rc == 0;
}

/* Past the SOA expire deadline (RFC 8806 §3), extended or not, and at the
 * RRSIG horizon less the margin, the fast path passes. */
static void test_pass_unusable(void **state)
{
	struct env *e = *state;
	assert_true(fast_answers(e, "www.nsec.", LDNS_RR_TYPE_A));
	fake_clock_set_wall(&e->clk, T_NOW + EXPIRE + 60);
	assert_false(fast_answers(e, "www.nsec.", LDNS_RR_TYPE_A));
	assert_false(fast_answers(e, "nosuch.n3.", LDNS_RR_TYPE_A));
	/* The operator's extension: the engine answers with EDE 3, not us. */
	e->say = OST_MIRROR_EXTENDED;
	assert_false(fast_answers(e, "www.nsec.", LDNS_RR_TYPE_A));
	e->say = OST_MIRROR_NO_OPINION;
	/* Before the deadline but withdrawn by the failover machine. */
	fake_clock_set_wall(&e->clk, T_NOW + 600);
	assert_true(fast_answers(e, "www.nsec.", LDNS_RR_TYPE_A));
	e->say = OST_MIRROR_WITHDRAWN;
	assert_false(fast_answers(e, "www.nsec.", LDNS_RR_TYPE_A));
	e->say = OST_MIRROR_NO_OPINION;
	/* At the RRSIG horizon less the margin (1 day). */
	fake_clock_set_wall(&e->clk, T_NOW + VALIDITY - 86400 + 1);
	e->say = OST_MIRROR_EXTENDED; /* (past the deadline too: the horizon wins) */
	assert_false(fast_answers(e, "www.nsec.", LDNS_RR_TYPE_A));
	e->say = OST_MIRROR_NO_OPINION;
}

/* Under a negative trust anchor (RFC 7646), or without the zone in the
 * resolver's own anchors, or with validation off: the engine decides. */
static void test_pass_unanchored(void **state)
{
	struct env *e = *state;
	ldns_rdf *z = ldns_dname_new_frm_str("n3.");
	assert_true(fast_answers(e, "www.n3.", LDNS_RR_TYPE_A));
	assert_int_equal(ost_ta_nta_add(e->ta, z, ost_clock_wall_s(&e->clk.clock) + 3600), 0);
	assert_false(fast_answers(e, "www.n3.", LDNS_RR_TYPE_A));
	assert_false(fast_answers(e, "nosuch.n3.", LDNS_RR_TYPE_A));
	assert_true(fast_answers(e, "www.nsec.", LDNS_RR_TYPE_A)); /* another zone */
	assert_int_equal(ost_ta_nta_remove(e->ta, z), 0);
	assert_true(fast_answers(e, "www.n3.", LDNS_RR_TYPE_A));
	ldns_rdf_deep_free(z);

	/* Anchors without n3.'s key. */
	struct ost_ta_store *own = e->ta;
	assert_int_equal(ost_ta_store_new(&e->ta), 0);
	assert_int_equal(ost_ta_add_rr(e->ta, e->sg[ZK_NSEC].ksk_ds), 0);
	resolver_new(e, true);
	assert_false(fast_answers(e, "www.n3.", LDNS_RR_TYPE_A));
	assert_true(fast_answers(e, "www.nsec.", LDNS_RR_TYPE_A));
	ost_ta_store_free(e->ta);
	e->ta = own;

	/* Validation off. */
	resolver_new(e, false);
	assert_false(fast_answers(e, "www.nsec.", LDNS_RR_TYPE_A));
	/* class CH, or a name in no mirrored zone */
	resolver_new(e, true);
	struct ost_cache_entry ent;
	ldns_rdf *n = ldns_dname_new_frm_str("www.nsec.");
	assert_int_equal(ost_mirror_answer(e->r, ldns_rdf_data(n), ldns_rdf_size(n), LDNS_RR_TYPE_A,
					   LDNS_RR_CLASS_CH, &ent),
			 -ENOENT);
	ldns_rdf_deep_free(n);
	assert_false(fast_answers(e, "www.example.org.", LDNS_RR_TYPE_A));
}

/* A new version committed in the same second as the read transaction was
 * begun is seen by the next question (the transaction is begun again). */
static void test_new_version(void **state)
{
	struct env *e = *state;
	size_t qlen = 0;
	uint8_t *q = make_query("new.n3o.", LDNS_RR_TYPE_A, true, false, &qlen);
	struct ost_cache_entry ent;
	ldns_pkt *p = fast_reply(e, "new.n3o.", LDNS_RR_TYPE_A, q, qlen, &ent);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	import(e, ZK_NSEC3_OPTOUT, 2);
	p = fast_reply(e, "new.n3o.", LDNS_RR_TYPE_A, q, qlen, &ent);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(p)), 2); /* A + RRSIG */
	assert_true(ldns_pkt_ad(p));
	ldns_pkt_free(p);
	/* A second later the kept transaction still sees it, and the engine agrees. */
	fake_clock_set_wall(&e->clk, ost_clock_wall_s(&e->clk.clock) + 2);
	struct tally t = {0};
	assert_true(compare(e, "new.n3o.", LDNS_RR_TYPE_A, true, false, EX_FAST, &t));
	assert_true(compare(e, "nosuch.n3o.", LDNS_RR_TYPE_A, true, false, EX_FAST, &t));
	free(q);
}

/* The wall clock steps back, then a new version is committed: it is "older"
 * than the kept read transaction, yet the next question sees it. */
static void test_new_version_clock_back(void **state)
{
	struct env *e = *state;
	fake_clock_set_wall(&e->clk, T_NOW + 10);
	assert_true(fast_answers(e, "www.n3.", LDNS_RR_TYPE_A)); /* begins the transaction */
	size_t qlen = 0;
	uint8_t *q = make_query("new.n3.", LDNS_RR_TYPE_A, true, false, &qlen);
	struct ost_cache_entry ent;
	ldns_pkt *p = fast_reply(e, "new.n3.", LDNS_RR_TYPE_A, q, qlen, &ent);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	fake_clock_set_wall(&e->clk, T_NOW + 5);
	import(e, ZK_NSEC3, 2);
	p = fast_reply(e, "new.n3.", LDNS_RR_TYPE_A, q, qlen, &ent);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(p)), 2);
	ldns_pkt_free(p);
	free(q);
}

/* After the first answer (the resolver's scratch, its read transactions),
 * answers from the mirror allocate nothing: names, NSEC3 hashes and the
 * payload live on the stack, in the scratch and in the LMDB map. */
static void test_no_allocation(void **state)
{
#ifdef OST_TEST_ASAN
	(void)state;
	skip();
#else
	struct env *e = *state;
	/* NXDOMAIN, NODATA, an RRset and apex data in each zone. */
	static const struct question qs[] = {
		{"nosuch-1.", LDNS_RR_TYPE_A, EX_FAST}, {"x.y.nosuch-2.", LDNS_RR_TYPE_A, EX_FAST},
		{"zz-3.", LDNS_RR_TYPE_TXT, EX_FAST},   {"www.", LDNS_RR_TYPE_MX, EX_FAST},
		{"b.c.", LDNS_RR_TYPE_A, EX_FAST},      {"www.", LDNS_RR_TYPE_A, EX_FAST},
		{"insec.", LDNS_RR_TYPE_DS, EX_FAST},   {"", LDNS_RR_TYPE_DNSKEY, EX_FAST},
	};
	enum {
		NQ = sizeof(qs) / sizeof(qs[0])
	};
	ldns_rdf *rn[ZK_COUNT][NQ];
	uint8_t *qw[ZK_COUNT][NQ];
	size_t qlen[ZK_COUNT][NQ];
	for (int z = 0; z < ZK_COUNT; z++) {
		for (size_t i = 0; i < NQ; i++) {
			char name[300];
			snprintf(name, sizeof(name), "%s%s", qs[i].label, zone_names[z]);
			rn[z][i] = ldns_dname_new_frm_str(name);
			qw[z][i] = make_query(name, qs[i].type, true, false, &qlen[z][i]);
		}
	}
	uint8_t buf[4096];
	/* A second after the imports: read transactions begun now are kept
	 * (one begun in the second of a commit is begun again). */
	fake_clock_set_wall(&e->clk, ost_clock_wall_s(&e->clk.clock) + 1);
	for (int round = 0; round < 2; round++) {
		unsigned long before = g_allocs;
		for (int z = 0; z < ZK_COUNT; z++) {
			for (size_t i = 0; i < NQ; i++) {
				struct ost_cache_entry ent;
				size_t len = 0;
				assert_int_equal(ost_mirror_answer(e->r, ldns_rdf_data(rn[z][i]),
								   ldns_rdf_size(rn[z][i]),
								   qs[i].type, LDNS_RR_CLASS_IN,
								   &ent),
						 0);
				assert_int_equal(ost_msg_to_wire(&ent, qw[z][i], qlen[z][i],
								 ent.stored_at, false, 1232, buf,
								 sizeof(buf), &len),
						 0);
			}
		}
		/* round 0 allocates the scratch and the read transactions */
		if (round == 1)
			assert_int_equal(g_allocs - before, 0);
	}
	/* Released after every answer, as the server does at the end of each
	 * loop iteration: each answer renews a transaction, allocating nothing. */
	unsigned long before = g_allocs;
	for (int z = 0; z < ZK_COUNT; z++) {
		for (size_t i = 0; i < NQ; i++) {
			struct ost_cache_entry ent;
			ost_resolver_mirror_release(e->r);
			assert_int_equal(ost_mirror_answer(e->r, ldns_rdf_data(rn[z][i]),
							   ldns_rdf_size(rn[z][i]), qs[i].type,
							   LDNS_RR_CLASS_IN, &ent),
					 0);
		}
	}
	assert_int_equal(g_allocs - before, 0);
	for (int z = 0; z < ZK_COUNT; z++) {
		for (size_t i = 0; i < NQ; i++) {
			ldns_rdf_deep_free(rn[z][i]);
			free(qw[z][i]);
		}
	}
#endif
}

/* ---- the kept read transactions between loop iterations ---- */

/*
 * A large zone, FILLER_RRS A records (about 1.6 MB in the store), written
 * straight into the mirror's store beside the mirrored zones, on a map
 * (SMALL_MAP) that holds them and two of its versions but not three
 * (measured: two fit from 3.2 MB, three from 4.8 MB; the test fails below
 * and above them, and 4 MB leaves half a version either way).
 */
#define FILLER_RRS 20000
#define SMALL_MAP  ((size_t)4096 << 10)

static struct ost_zone_data *filler(uint32_t serial)
{
	size_t cap = (size_t)FILLER_RRS * 48 + 1024, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	len += (size_t)snprintf(text, cap,
				"filler. 60 IN SOA ns.filler. h.filler. %u 1 2 3 4\n"
				"filler. 60 IN NS ns.filler.\n",
				serial);
	for (int i = 0; i < FILLER_RRS; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"h%d.filler. 60 IN A 198.51.100.%u\n", i,
					(unsigned)(i + serial) % 250);
	struct ost_zone_verify_result res;
	struct ost_zone_data *z = NULL;
	assert_int_equal(ost_zone_parse_text("filler.", text, len, NULL, &z, &res), 0);
	free(text);
	return z;
}

static int filler_commit(struct env *e, const struct ost_zone_data *z)
{
	struct ost_zone_meta m = {.serial = ost_zone_data_serial(z)};
	return ost_zone_store_commit(e->store, z, &m);
}

static int setup_small_map(void **state)
{
	g_map_size = SMALL_MAP;
	int rc = setup(state);
	g_map_size = ROOMY_MAP;
	return rc;
}

/*
 * The resolver keeps a read transaction per mirrored zone. Not released,
 * they pin what they saw: the filler replaced once since, its third version
 * does not fit (the store needs room for three). Released, as the server
 * does at the end of each loop iteration, they pin nothing and it fits.
 * The next questions renew them on the versions current then: the fast
 * path and the engine agree, on a mirrored zone's new version too.
 */
static void test_release_unpins(void **state)
{
	struct env *e = *state;
	struct tally t = {0};
	char name[64];
	fake_clock_set_wall(&e->clk, ost_clock_wall_s(&e->clk.clock) + 1);
	struct ost_zone_data *fv[3];
	for (uint32_t i = 0; i < 3; i++)
		fv[i] = filler(i + 1);
	for (int k = 0; k < ZK_COUNT; k++) {
		snprintf(name, sizeof(name), "www.%s", zone_names[k]);
		assert_true(fast_answers(e, name, LDNS_RR_TYPE_A));
	}
	assert_int_equal(filler_commit(e, fv[0]), 0);
	assert_int_equal(filler_commit(e, fv[1]), 0);
	assert_int_equal(filler_commit(e, fv[2]), OST_EFULL);
	ost_resolver_mirror_release(e->r);
	ost_resolver_mirror_release(e->r); /* twice: nothing more */
	assert_int_equal(filler_commit(e, fv[2]), 0);
	for (int k = 0; k < ZK_COUNT; k++) {
		snprintf(name, sizeof(name), "www.%s", zone_names[k]);
		assert_true(compare(e, name, LDNS_RR_TYPE_A, true, false, EX_FAST, &t));
		snprintf(name, sizeof(name), "nosuch.%s", zone_names[k]);
		assert_true(compare(e, name, LDNS_RR_TYPE_A, true, false, EX_FAST, &t));
	}
	/* A mirrored zone's new version, imported while released: seen. */
	size_t qlen = 0;
	uint8_t *q = make_query("new.nsec.", LDNS_RR_TYPE_A, true, false, &qlen);
	struct ost_cache_entry ent;
	ldns_pkt *p = fast_reply(e, "new.nsec.", LDNS_RR_TYPE_A, q, qlen, &ent);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	ost_resolver_mirror_release(e->r);
	fake_clock_set_wall(&e->clk, ost_clock_wall_s(&e->clk.clock) + 1);
	import(e, ZK_NSEC, 2);
	fake_clock_set_wall(&e->clk, ost_clock_wall_s(&e->clk.clock) + 1);
	p = fast_reply(e, "new.nsec.", LDNS_RR_TYPE_A, q, qlen, &ent);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(p)), 2); /* A + RRSIG */
	ldns_pkt_free(p);
	free(q);
	assert_true(compare(e, "new.nsec.", LDNS_RR_TYPE_A, true, false, EX_FAST, &t));
	for (int i = 0; i < 3; i++)
		ost_zone_data_free(fv[i]);
}

/* ---- the re-signed 2021 root zone (shared test data) ---- */

#define T_ROOT 1612137600 /* its signatures are valid */

static int setup_root(void **state)
{
	const char *path = OST_TESTDATA "/zonemd/44-root-zone/root.zone.hashed";
	FILE *f = fopen(path, "r");
	if (!f)
		skip();
	fclose(f);
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/ost-mfast-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	fake_clock_init(&e->clk, T_ROOT);
	fake_clock_set_wall(&e->clk, T_ROOT - 1000);
	fake_net_init(&e->net, &e->clk);
	struct ost_zone_store_opts o = {.path = e->dir, .map_size = 256u << 20};
	assert_int_equal(ost_zone_store_open(&o, &e->store), 0);
	assert_int_equal(ost_mirror_new(e->store, &e->clk.clock, &e->m), 0);
	FILE *af = fopen(OST_TESTDATA "/zonemd/44-root-zone/Keys/K.+008+21544.ds", "r");
	assert_non_null(af);
	ldns_rr *ds = NULL;
	assert_int_equal(ldns_rr_new_frm_fp(&ds, af, NULL, NULL, NULL), LDNS_STATUS_OK);
	fclose(af);
	e->anchors[0] = ldns_rr_list_new();
	ldns_rr_list_push_rr(e->anchors[0], ds);
	struct ost_mirror_zone_config zc = {.name = ".", .anchors = e->anchors[0]};
	assert_int_equal(ost_mirror_add_zone(e->m, &zc), 0);
	struct ost_zone_verify_result res;
	assert_int_equal(ost_mirror_import_file(e->m, ".", path, &res), 0);
	assert_int_equal(ost_ta_store_new(&e->ta), 0);
	assert_int_equal(ost_ta_add_rr(e->ta, ds), 0);
	resolver_new(e, true);
	*state = e;
	return 0;
}

/* The real root (NSEC, RSA): TLD DS (secure and insecure delegations),
 * NXDOMAIN, apex data, referrals; over TCP, where neither renderer
 * truncates (the hit path's renderer does not compress names, so near the
 * UDP limit it may set TC where the engine's reply still fits). */
static void test_root_zone(void **state)
{
	struct env *e = *state;
	struct tally t = {0};
	static const struct question qs[] = {
		{"com.", LDNS_RR_TYPE_DS, EX_FAST},
		{"ru.", LDNS_RR_TYPE_DS, EX_FAST},
		{"org.", LDNS_RR_TYPE_DS, EX_FAST},
		{"aaa.", LDNS_RR_TYPE_DS, EX_FAST},
		{"zw.", LDNS_RR_TYPE_DS, EX_FAST},
		{"nosuchtld-ostrov.", LDNS_RR_TYPE_DS, EX_FAST},
		{"www.nosuchtld-ostrov.", LDNS_RR_TYPE_A, EX_FAST},
		{"zzzzzz.", LDNS_RR_TYPE_A, EX_FAST},
		{"0.", LDNS_RR_TYPE_AAAA, EX_FAST},
		{".", LDNS_RR_TYPE_SOA, EX_FAST},
		{".", LDNS_RR_TYPE_NS, EX_FAST},
		{".", LDNS_RR_TYPE_DNSKEY, EX_FAST},
		{".", LDNS_RR_TYPE_ZONEMD, EX_FAST},
		{".", LDNS_RR_TYPE_TXT, EX_FAST},
		{"a.root-servers.net.", LDNS_RR_TYPE_A, EX_PASS}, /* below net. */
		{"www.example.com.", LDNS_RR_TYPE_A, EX_PASS},
		{"com.", LDNS_RR_TYPE_NS, EX_PASS},
	};
	g_tcp = true;
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		compare(e, qs[i].label, qs[i].type, true, false, qs[i].ex, &t);
		compare(e, qs[i].label, qs[i].type, false, false, qs[i].ex, &t);
	}
	g_tcp = false;
	assert_int_equal(t.fast, 2 * 14);
	assert_int_equal(t.insecure, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nsec_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nsec3_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nsec3_optout_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nsec3_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pass_unusable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pass_unanchored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_version_clock_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_allocation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_unpins, setup_small_map, teardown),
		cmocka_unit_test_setup_teardown(test_root_zone, setup_root, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
