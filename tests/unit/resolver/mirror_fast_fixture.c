/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The fixture of the zone mirror fast path's tests (unit_mirror_fast; see
 * test_mirror_fast.c for what they check): the three zones signed here and
 * imported into a mirror on the fake clock, a validating resolver over it,
 * the two paths (the fast path's entry rendered by ost_msg_to_wire(), the
 * engine's result by ost_result_to_wire()) and their comparison, and the
 * process-wide allocation counter.
 */
#include "mirror_fast_fixture.h"


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

unsigned long g_allocs;

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

const char *const zone_names[ZK_COUNT] = {"nsec.", "n3.", "n3o."};

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

size_t g_map_size = ROOMY_MAP;

void import(struct env *e, enum zkind k, unsigned serial)
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

void resolver_new(struct env *e, bool validation)
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

int setup(void **state)
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

int teardown(void **state)
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

bool g_tcp;

uint8_t *make_query(const char *name, uint16_t type, bool do_bit, bool cd, size_t *len)
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
ldns_pkt *engine_reply(struct env *e, const char *name, uint16_t type, bool do_bit, bool cd,
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
ldns_pkt *fast_reply(struct env *e, const char *name, uint16_t type, const uint8_t *query,
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

/*
 * Ask (name, type) both ways and compare; @return true when the fast path
 * answered. With DO=0 the reply must carry no DNSSEC records.
 */
bool compare(struct env *e, const char *name, uint16_t type, bool do_bit, bool cd, enum expect ex,
	     struct tally *t)
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
void compare_all(struct env *e, const char *name, uint16_t type, enum expect ex, struct tally *t)
{
	compare(e, name, type, true, false, ex, t);
	compare(e, name, type, false, false, ex, t);
	compare(e, name, type, true, true, ex, t);
}

bool fast_answers(struct env *e, const char *name, uint16_t type)
{
	struct ost_cache_entry ent;
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	int rc = ost_mirror_answer(e->r, ldns_rdf_data(n), ldns_rdf_size(n), type, LDNS_RR_CLASS_IN,
				   &ent);
	ldns_rdf_deep_free(n);
	assert_true(rc == 0 || rc == -ENOENT);
	return rc == 0;
}
