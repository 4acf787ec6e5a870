/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Store tests: lookups on a small zone (exact RRset, closest delegation,
 * NSEC and NSEC3 predecessor), atomic replacement seen from concurrent read
 * transactions, reload for re-verification, and kill -9 of a writer in the
 * middle of a commit (fork + pipe handshake through the store's write hook,
 * no sleeps) leaving the previous version intact.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "ostrov/zone.h"

#include "test_zones.h"
#include "zones/store_internal.h"

static const char small_zone[] =
	"$TTL 3600\n"
	"example. IN SOA ns.example. h.example. 1 7200 900 1209600 300\n"
	"example. IN NS ns.example.\n"
	"example. IN NSEC a.example. NS SOA RRSIG NSEC\n"
	"ns.example. IN A 192.0.2.53\n"
	"ns.example. IN NSEC z.example. A RRSIG NSEC\n"
	"a.example. IN A 192.0.2.1\n"
	"a.example. IN A 192.0.2.2\n"
	"a.example. IN RRSIG A 8 2 3600 20300101000000 20200101000000 1 example. AAAA\n"
	"a.example. IN NSEC b.example. A RRSIG NSEC\n"
	"b.example. IN NS ns.b.example.\n"
	"b.example. IN NS ns.elsewhere.\n"
	"b.example. IN DS 1 8 2 "
	"0000000000000000000000000000000000000000000000000000000000000000\n"
	"b.example. IN NSEC ns.example. NS DS RRSIG NSEC\n"
	"ns.b.example. IN A 192.0.2.99\n"
	"z.example. IN TXT \"last\"\n"
	"z.example. IN NSEC example. TXT RRSIG NSEC\n"
	"other.org. IN A 192.0.2.7\n";

static struct ost_zone_data *parse_text(const char *apex, const char *text)
{
	struct ost_zone_verify_result res;
	struct ost_zone_data *z = NULL;
	int rc = ost_zone_parse_text(apex, text, strlen(text), NULL, &z, &res);
	if (rc)
		print_message("parse failed: %s\n", res.reason);
	assert_int_equal(rc, 0);
	return z;
}

static void commit(struct ost_zone_store *s, const struct ost_zone_data *z, const char *src)
{
	struct ost_zone_meta m = {.serial = ost_zone_data_serial(z),
				  .fetched_at = 1000,
				  .verified_at = 1001,
				  .soa_expire_deadline = 5000,
				  .rrsig_horizon = 4000};
	snprintf(m.source, sizeof(m.source), "%s", src);
	assert_int_equal(ost_zone_store_commit(s, z, &m), 0);
}

static ldns_rdf *dn(const char *s)
{
	ldns_rdf *d = ldns_dname_new_frm_str(s);
	assert_non_null(d);
	return d;
}

static void assert_owner(const struct ost_zone_rrset_view *v, const char *name)
{
	ldns_rdf *d = dn(name);
	assert_int_equal(v->owner_len, ldns_rdf_size(d));
	assert_memory_equal(v->owner, ldns_rdf_data(d), v->owner_len);
	ldns_rdf_deep_free(d);
}

static int find(struct ost_zone_rtxn *t, const char *name, uint16_t type,
		struct ost_zone_rrset_view *v)
{
	ldns_rdf *d = dn(name);
	int rc = ost_zone_rtxn_find(t, d, type, v);
	ldns_rdf_deep_free(d);
	return rc;
}

static int find_cut(struct ost_zone_rtxn *t, const char *name, struct ost_zone_rrset_view *v)
{
	ldns_rdf *d = dn(name);
	int rc = ost_zone_rtxn_find_cut(t, d, v);
	ldns_rdf_deep_free(d);
	return rc;
}

static int find_nsec(struct ost_zone_rtxn *t, const char *name, struct ost_zone_rrset_view *v)
{
	ldns_rdf *d = dn(name);
	int rc = ost_zone_rtxn_find_nsec(t, d, v);
	ldns_rdf_deep_free(d);
	return rc;
}

static void test_store_lookups(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	struct ost_zone_store *s;
	struct ost_zone_store_opts o = {.path = dir};
	struct ost_zone_rtxn *t;
	struct ost_zone_rrset_view v;
	ldns_rr_list *rrs, *sigs;

	assert_int_equal(ost_zone_store_open(&o, &s), 0);
	struct ost_zone_data *z = parse_text("example.", small_zone);
	commit(s, z, "file:small");
	ost_zone_data_free(z);
	assert_int_equal(ost_zone_rtxn_begin(s, "example.", &t), 0);
	assert_int_equal(ost_zone_rtxn_serial(t), 1);

	/* Exact lookups, case-insensitive, with RRSIGs attached. */
	assert_int_equal(find(t, "A.Example.", LDNS_RR_TYPE_A, &v), 0);
	assert_owner(&v, "a.example.");
	assert_int_equal(v.rr_count, 2);
	assert_int_equal(v.sig_count, 1);
	assert_int_equal(v.ttl, 3600);
	assert_int_equal(ost_zone_rrset_view_to_ldns(&v, &rrs, &sigs), 0);
	assert_int_equal(ldns_rr_list_rr_count(rrs), 2);
	assert_int_equal(ldns_rr_list_rr_count(sigs), 1);
	char *txt = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(rrs, 1), 0));
	assert_string_equal(txt, "192.0.2.2");
	free(txt);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(sigs, 0)), LDNS_RR_TYPE_RRSIG);
	ldns_rr_list_deep_free(rrs);
	ldns_rr_list_deep_free(sigs);
	assert_int_equal(find(t, "a.example.", LDNS_RR_TYPE_AAAA, &v), -ENOENT);
	assert_int_equal(find(t, "nope.example.", LDNS_RR_TYPE_A, &v), -ENOENT);
	assert_int_equal(find(t, "other.org.", LDNS_RR_TYPE_A, &v), -ENOENT); /* out of zone */
	assert_int_equal(find(t, "example.", LDNS_RR_TYPE_SOA, &v), 0);
	assert_int_equal(find(t, "ns.b.example.", LDNS_RR_TYPE_A, &v), 0); /* glue kept */

	/* Closest (topmost) delegation. */
	assert_int_equal(find_cut(t, "www.deep.b.example.", &v), 0);
	assert_owner(&v, "b.example.");
	assert_int_equal(v.type, LDNS_RR_TYPE_NS);
	assert_int_equal(v.rr_count, 2);
	assert_int_equal(find_cut(t, "ns.b.example.", &v), 0);
	assert_owner(&v, "b.example.");
	assert_int_equal(find_cut(t, "b.example.", &v), 0);
	assert_int_equal(find_cut(t, "a.example.", &v), -ENOENT);
	assert_int_equal(find_cut(t, "example.", &v), -ENOENT); /* apex NS is not a cut */
	assert_int_equal(find_cut(t, "x.org.", &v), -ENOENT);

	/* NSEC predecessor in canonical order:
	 * example < a < b < ns.b (glue, no NSEC) < ns < z. */
	assert_int_equal(find_nsec(t, "a.example.", &v), 0);
	assert_owner(&v, "a.example."); /* exact: the name exists */
	assert_int_equal(v.type, LDNS_RR_TYPE_NSEC);
	assert_int_equal(find_nsec(t, "c.example.", &v), 0);
	assert_owner(&v, "b.example.");
	assert_int_equal(find_nsec(t, "0.example.", &v), 0);
	assert_owner(&v, "example.");
	assert_int_equal(find_nsec(t, "aa.example.", &v), 0);
	assert_owner(&v, "a.example.");
	assert_int_equal(find_nsec(t, "zz.example.", &v), 0);
	assert_owner(&v, "z.example.");
	assert_int_equal(find_nsec(t, "x.a.example.", &v), 0);
	assert_owner(&v, "a.example.");
	assert_int_equal(find_nsec(t, "nt.example.", &v), 0);
	assert_owner(&v, "ns.example.");
	assert_int_equal(find_nsec(t, "x.org.", &v), -ENOENT);
	ldns_rdf *hx = dn("x.example.");
	assert_int_equal(ost_zone_rtxn_find_nsec3(t, hx, &v), -ENOENT);
	ldns_rdf_deep_free(hx);
	ost_zone_rtxn_end(t);

	struct ost_zone_meta m;
	assert_int_equal(ost_zone_store_get_meta(s, "example.", &m), 0);
	assert_int_equal(m.serial, 1);
	assert_int_equal(m.soa_expire_deadline, 5000);
	assert_int_equal(m.records, 16);
	assert_string_equal(m.source, "file:small");
	assert_int_equal(ost_zone_store_get_meta(s, "ru.", &m), -ENOENT);
	assert_int_equal(ost_zone_rtxn_begin(s, "ru.", &t), -ENOENT);
	ost_zone_store_close(s);
	remove_tree(dir);
	free(dir);
}

static void test_store_nsec3(void **state)
{
	(void)state;
	static const char zone[] = "$TTL 300\n"
				   "example. IN SOA ns.example. h.example. 7 1 2 3 4\n"
				   "example. IN NS ns.example.\n"
				   "example. IN NSEC3PARAM 1 0 0 -\n"
				   "11111111111111111111111111111111.example. IN NSEC3 1 0 0 - "
				   "55555555555555555555555555555555 NS SOA\n"
				   "55555555555555555555555555555555.example. IN NSEC3 1 0 0 - "
				   "99999999999999999999999999999999 A\n"
				   "99999999999999999999999999999999.example. IN NSEC3 1 0 0 - "
				   "11111111111111111111111111111111 A\n";
	char *dir = make_tmpdir();
	struct ost_zone_store *s;
	struct ost_zone_store_opts o = {.path = dir};
	struct ost_zone_rtxn *t;
	struct ost_zone_rrset_view v;
	assert_int_equal(ost_zone_store_open(&o, &s), 0);
	struct ost_zone_data *z = parse_text("example.", zone);
	commit(s, z, "file:nsec3");
	ost_zone_data_free(z);
	assert_int_equal(ost_zone_rtxn_begin(s, "example.", &t), 0);
	static const struct {
		const char *q, *want;
	} cases[] = {
		{"33333333333333333333333333333333.example.",
		 "11111111111111111111111111111111.example."},
		{"55555555555555555555555555555555.example.",
		 "55555555555555555555555555555555.example."},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.",
		 "99999999999999999999999999999999.example."},
		/* before the first hash: wraps to the last NSEC3 */
		{"00000000000000000000000000000000.example.",
		 "99999999999999999999999999999999.example."},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ldns_rdf *q = dn(cases[i].q);
		assert_int_equal(ost_zone_rtxn_find_nsec3(t, q, &v), 0);
		assert_int_equal(v.type, LDNS_RR_TYPE_NSEC3);
		assert_owner(&v, cases[i].want);
		ldns_rdf_deep_free(q);
	}
	/* A real hash from the zone's parameters lands somewhere in the chain. */
	ldns_rdf *name = dn("www.example.");
	ldns_rdf *h = ldns_nsec3_hash_name(name, 1, 0, 0, NULL);
	ldns_rdf *apex = dn("example.");
	assert_int_equal(ldns_dname_cat(h, apex), LDNS_STATUS_OK);
	assert_int_equal(ost_zone_rtxn_find_nsec3(t, h, &v), 0);
	ldns_rdf_deep_free(name);
	ldns_rdf_deep_free(h);
	ldns_rdf_deep_free(apex);
	ost_zone_rtxn_end(t);
	ost_zone_store_close(s);
	remove_tree(dir);
	free(dir);
}

static const char *zone_v(uint32_t serial, const char *extra, char *buf, size_t len)
{
	snprintf(buf, len,
		 "$TTL 60\n"
		 "example. IN SOA ns.example. h.example. %u 1 2 3 4\n"
		 "example. IN NS ns.example.\n"
		 "ns.example. IN A 192.0.2.1\n"
		 "%s",
		 serial, extra);
	return buf;
}

/* Readers see a consistent version across a replacement; the old version's
 * records are gone for new readers; a reload digests like the import. */
static void test_store_atomic_replace(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), buf[1024];
	struct ost_zone_store *s;
	struct ost_zone_store_opts o = {.path = dir};
	struct ost_zone_rtxn *t1, *t2;
	struct ost_zone_rrset_view v;
	struct ost_zone_meta m1, m2;

	assert_int_equal(ost_zone_store_open(&o, &s), 0);
	struct ost_zone_data *z1 =
		parse_text("example.", zone_v(1, "x.example. IN A 192.0.2.10\n", buf, sizeof(buf)));
	commit(s, z1, "v1");
	assert_int_equal(ost_zone_store_get_meta(s, "example.", &m1), 0);
	assert_int_equal(ost_zone_rtxn_begin(s, "example.", &t1), 0);

	struct ost_zone_data *z2 =
		parse_text("example.", zone_v(2, "y.example. IN A 192.0.2.20\n", buf, sizeof(buf)));
	commit(s, z2, "v2");
	assert_int_equal(ost_zone_store_get_meta(s, "example.", &m2), 0);
	assert_int_equal(m2.serial, 2);
	assert_true(m2.generation > m1.generation);

	/* The old reader still sees version 1 entirely. */
	assert_int_equal(ost_zone_rtxn_serial(t1), 1);
	assert_int_equal(find(t1, "x.example.", LDNS_RR_TYPE_A, &v), 0);
	assert_int_equal(find(t1, "y.example.", LDNS_RR_TYPE_A, &v), -ENOENT);
	/* A new reader sees version 2 only. */
	assert_int_equal(ost_zone_rtxn_begin(s, "example.", &t2), 0);
	assert_int_equal(ost_zone_rtxn_serial(t2), 2);
	assert_int_equal(find(t2, "x.example.", LDNS_RR_TYPE_A, &v), -ENOENT);
	assert_int_equal(find(t2, "y.example.", LDNS_RR_TYPE_A, &v), 0);
	ost_zone_rtxn_end(t1);
	ost_zone_rtxn_end(t2);

	/* Two zones live side by side. */
	struct ost_zone_data *zo = parse_text(
		"org.", "org. 60 IN SOA ns.org. h.org. 9 1 2 3 4\norg. 60 IN NS ns.org.\n");
	commit(s, zo, "org");
	assert_int_equal(ost_zone_store_get_meta(s, "example.", &m2), 0);
	assert_int_equal(m2.serial, 2);
	assert_int_equal(ost_zone_store_get_meta(s, "org.", &m1), 0);
	assert_int_equal(m1.serial, 9);

	/* Reload: same records as imported. */
	struct ost_zone_data *back = NULL;
	assert_int_equal(ost_zone_store_load(s, "example.", &back), 0);
	assert_int_equal(ost_zone_data_count(back), ost_zone_data_count(z2));
	assert_int_equal(ost_zone_data_serial(back), 2);
	ost_zone_data_free(back);

	/* put_meta refuses a stale generation. */
	m1.generation = 0;
	assert_int_equal(ost_zone_store_put_meta(s, "org.", &m1), -ESTALE);

	/* Removing one zone leaves the other. */
	assert_int_equal(ost_zone_store_remove(s, "org."), 0);
	assert_int_equal(ost_zone_store_get_meta(s, "org.", &m1), -ENOENT);
	assert_int_equal(ost_zone_store_remove(s, "org."), -ENOENT);
	assert_int_equal(ost_zone_rtxn_begin(s, "example.", &t2), 0);
	assert_int_equal(find(t2, "y.example.", LDNS_RR_TYPE_A, &v), 0);
	ost_zone_rtxn_end(t2);

	ost_zone_data_free(z1);
	ost_zone_data_free(z2);
	ost_zone_data_free(zo);
	ost_zone_store_close(s);
	remove_tree(dir);
	free(dir);
}

/* Child side of the kill -9 test: tell the parent we are mid-commit, then
 * wait to be killed. */
struct hook_fds {
	int tell;
	int wait;
};

static void mid_commit(void *arg, uint64_t written)
{
	struct hook_fds *f = arg;
	char c = 'w', x;
	(void)written;
	if (write(f->tell, &c, 1) != 1)
		_exit(3);
	/* Nobody ever writes to this pipe: block until SIGKILL. */
	while (read(f->wait, &x, 1) != 0) {
	}
	_exit(4);
}

static void test_store_kill9_mid_commit(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), small[1024];
	struct ost_zone_store *s;
	struct ost_zone_store_opts o = {.path = dir};
	struct ost_zone_rrset_view v;
	struct ost_zone_rtxn *t;
	int tell[2], wait[2];

	/* Version 1 committed and the store closed before forking (an LMDB
	 * environment must not cross fork()). */
	assert_int_equal(ost_zone_store_open(&o, &s), 0);
	struct ost_zone_data *z1 = parse_text(
		"example.", zone_v(1, "keep.example. IN A 192.0.2.10\n", small, sizeof(small)));
	commit(s, z1, "v1");
	ost_zone_data_free(z1);
	ost_zone_store_close(s);

	/* Version 2: large enough that the hook fires long before the end. */
	size_t cap = 20000 * 48 + 1024, len = 0;
	char *big = malloc(cap);
	len += (size_t)snprintf(big, cap, "%s", zone_v(2, "", small, sizeof(small)));
	for (int i = 0; i < 20000; i++)
		len += (size_t)snprintf(big + len, cap - len, "h%d.example. IN A 198.51.100.%d\n",
					i, i % 250);
	struct ost_zone_data *z2 = parse_text("example.", big);
	free(big);

	assert_int_equal(pipe(tell), 0);
	assert_int_equal(pipe(wait), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hook_fds f = {.tell = tell[1], .wait = wait[0]};
		struct ost_zone_meta m = {.serial = 2};
		close(tell[0]);
		close(wait[1]);
		if (ost_zone_store_open(&o, &s) != 0)
			_exit(2);
		ost_zone_store_set_hook(s, 5000, mid_commit, &f);
		(void)!ost_zone_store_commit(s, z2, &m);
		_exit(5); /* the hook never returns */
	}
	close(tell[1]);
	close(wait[0]);
	char c;
	assert_int_equal(read(tell[0], &c, 1), 1); /* the child is inside the commit */
	assert_int_equal(c, 'w');
	assert_int_equal(kill(pid, SIGKILL), 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	close(tell[0]);
	close(wait[1]);

	/* The previous version is intact and answers. */
	assert_int_equal(ost_zone_store_open(&o, &s), 0);
	assert_int_equal(ost_zone_rtxn_begin(s, "example.", &t), 0);
	assert_int_equal(ost_zone_rtxn_serial(t), 1);
	assert_int_equal(find(t, "keep.example.", LDNS_RR_TYPE_A, &v), 0);
	assert_int_equal(find(t, "h1.example.", LDNS_RR_TYPE_A, &v), -ENOENT);
	ost_zone_rtxn_end(t);
	struct ost_zone_data *back = NULL;
	assert_int_equal(ost_zone_store_load(s, "example.", &back), 0);
	assert_int_equal(ost_zone_data_count(back), 4);
	ost_zone_data_free(back);

	/* And the writer lock is usable again: the commit now goes through. */
	commit(s, z2, "v2");
	assert_int_equal(ost_zone_rtxn_begin(s, "example.", &t), 0);
	assert_int_equal(ost_zone_rtxn_serial(t), 2);
	assert_int_equal(find(t, "h19999.example.", LDNS_RR_TYPE_A, &v), 0);
	assert_int_equal(find(t, "keep.example.", LDNS_RR_TYPE_A, &v), -ENOENT);
	ost_zone_rtxn_end(t);
	ost_zone_data_free(z2);
	ost_zone_store_close(s);
	remove_tree(dir);
	free(dir);
}

/* ---- kept read transactions: reset and renew ---- */

/*
 * A version of "example." with BIG_RRS A records (about 1.6 MB in the
 * store), each version's addresses shifted so that versions differ.
 * BIG_MAP holds two versions (3.2 MB measured) but not three (4.8 MB): the
 * midpoint, so that either side has half a version of margin.
 */
#define BIG_RRS 20000
#define BIG_MAP ((size_t)4000 << 10)

static struct ost_zone_data *big_version(uint32_t serial)
{
	size_t cap = (size_t)BIG_RRS * 48 + 1024, len = 0;
	char *big = malloc(cap), head[256];
	assert_non_null(big);
	zone_v(serial, serial == 1 ? "only-v1.example. IN A 192.0.2.1\n" : "", head, sizeof(head));
	len += (size_t)snprintf(big, cap, "%s", head);
	for (int i = 0; i < BIG_RRS; i++)
		len += (size_t)snprintf(big + len, cap - len, "h%d.example. IN A 198.51.100.%u\n",
					i, (unsigned)(i + serial) % 250);
	struct ost_zone_data *z = parse_text("example.", big);
	free(big);
	return z;
}

static int commit_rc(struct ost_zone_store *s, const struct ost_zone_data *z)
{
	struct ost_zone_meta m = {.serial = ost_zone_data_serial(z)};
	return ost_zone_store_commit(s, z, &m);
}

/*
 * A read transaction kept across an import pins the replaced version: the
 * next import needs room for three versions and fails on a map that holds
 * two. Reset, it pins nothing: the same import goes through. Renewed, it
 * sees the new version. And imports back to back with no reader need room
 * for two versions only (the generation is reserved in a transaction of
 * its own, so the pages the previous import freed are reusable).
 */
static void test_store_reset_frees_room(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	struct ost_zone_store *s;
	struct ost_zone_store_opts o = {.path = dir, .map_size = BIG_MAP};
	struct ost_zone_rtxn *t;
	struct ost_zone_rrset_view v;
	struct ost_zone_meta meta;
	struct ost_zone_data *zv[5];
	for (uint32_t i = 0; i < 5; i++)
		zv[i] = big_version(i + 1);

	assert_int_equal(ost_zone_store_open(&o, &s), 0);
	/* Back to back, nobody reading: two versions at a time fit. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(commit_rc(s, zv[i]), 0);
	assert_int_equal(ost_zone_store_remove(s, "example."), 0);

	assert_int_equal(commit_rc(s, zv[0]), 0);
	assert_int_equal(ost_zone_rtxn_begin(s, "example.", &t), 0);
	assert_false(ost_zone_rtxn_is_reset(t));
	uint64_t gen1 = ost_zone_rtxn_generation(t);
	assert_int_equal(commit_rc(s, zv[1]), 0);
	/* The kept reader pins version 1: no room for version 3. */
	assert_int_equal(commit_rc(s, zv[2]), OST_EFULL);
	assert_int_equal(ost_zone_store_get_meta(s, "example.", &meta), 0);
	assert_int_equal(meta.serial, 2);
	assert_int_equal(ost_zone_rtxn_serial(t), 1);
	assert_int_equal(find(t, "only-v1.example.", LDNS_RR_TYPE_A, &v), 0);

	/* Reset, the same import goes through. */
	ost_zone_rtxn_reset(t);
	assert_true(ost_zone_rtxn_is_reset(t));
	ost_zone_rtxn_reset(t); /* twice: nothing more */
	assert_int_equal(commit_rc(s, zv[2]), 0);

	/* Renewed, it sees version 3 (generation and serial read again). */
	assert_int_equal(ost_zone_rtxn_renew(t), 0);
	assert_false(ost_zone_rtxn_is_reset(t));
	assert_int_equal(ost_zone_store_get_meta(s, "example.", &meta), 0);
	assert_int_equal(meta.serial, 3);
	assert_int_equal(ost_zone_rtxn_serial(t), 3);
	assert_int_equal(ost_zone_rtxn_generation(t), meta.generation);
	assert_true(meta.generation > gen1);
	assert_int_equal(find(t, "only-v1.example.", LDNS_RR_TYPE_A, &v), -ENOENT);
	assert_int_equal(find(t, "h19999.example.", LDNS_RR_TYPE_A, &v), 0);
	assert_int_equal(v.rr_count, 1);
	assert_int_equal(v.data[v.data_len - 1], (19999 + 3) % 250); /* version 3's address */
	/* Live on the current version, it pins the version that one replaced
	 * (LMDB frees a page for reuse only after every snapshot at or before
	 * the transaction that freed it is gone): reset, the import goes on. */
	assert_int_equal(commit_rc(s, zv[3]), OST_EFULL);
	ost_zone_rtxn_reset(t);
	assert_int_equal(commit_rc(s, zv[3]), 0);
	assert_int_equal(ost_zone_rtxn_renew(t), 0);
	assert_int_equal(ost_zone_rtxn_serial(t), 4);
	assert_int_equal(find(t, "h7.example.", LDNS_RR_TYPE_A, &v), 0);
	assert_int_equal(v.data[v.data_len - 1], (7 + 4) % 250);
	ost_zone_rtxn_reset(t);
	assert_int_equal(commit_rc(s, zv[4]), 0);
	assert_int_equal(ost_zone_rtxn_renew(t), 0);
	assert_int_equal(ost_zone_rtxn_serial(t), 5);

	/* The zone removed: renew says so and leaves the transaction reset. */
	ost_zone_rtxn_reset(t);
	assert_int_equal(ost_zone_store_remove(s, "example."), 0);
	assert_int_equal(ost_zone_rtxn_renew(t), -ENOENT);
	assert_true(ost_zone_rtxn_is_reset(t));
	assert_int_equal(commit_rc(s, zv[0]), 0);
	assert_int_equal(ost_zone_rtxn_renew(t), 0);
	assert_int_equal(ost_zone_rtxn_serial(t), 1);
	ost_zone_rtxn_end(t);

	for (int i = 0; i < 5; i++)
		ost_zone_data_free(zv[i]);
	ost_zone_store_close(s);
	remove_tree(dir);
	free(dir);
}

/*
 * A lookup on a reset transaction is refused: an assertion that aborts
 * debug builds, -EINVAL in release ones. In a child, which touches no LMDB
 * state (the check comes first) and exits without closing anything. A live
 * transaction renewed moves to the current version.
 */
static void test_store_reset_refuses_lookups(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), buf[1024];
	struct ost_zone_store *s;
	struct ost_zone_store_opts o = {.path = dir};
	struct ost_zone_rtxn *t;
	struct ost_zone_rrset_view v;
	assert_int_equal(ost_zone_store_open(&o, &s), 0);
	struct ost_zone_data *z =
		parse_text("example.", zone_v(1, "x.example. IN A 192.0.2.10\n", buf, sizeof(buf)));
	commit(s, z, "v1");
	assert_int_equal(ost_zone_rtxn_begin(s, "example.", &t), 0);
	assert_int_equal(find(t, "x.example.", LDNS_RR_TYPE_A, &v), 0);
	ost_zone_rtxn_reset(t);
	ldns_rdf *x = dn("x.example.");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rcs[4] = {ost_zone_rtxn_find(t, x, LDNS_RR_TYPE_A, &v),
			      ost_zone_rtxn_find_cut(t, x, &v), ost_zone_rtxn_find_nsec(t, x, &v),
			      ost_zone_rtxn_find_nsec3(t, x, &v)};
		for (int i = 0; i < 4; i++)
			if (rcs[i] != -EINVAL)
				_exit(10 + i);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
#ifdef NDEBUG
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
#else
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
#endif
	/* Renewed, it answers again. */
	assert_int_equal(ost_zone_rtxn_renew(t), 0);
	assert_int_equal(find(t, "x.example.", LDNS_RR_TYPE_A, &v), 0);
	/* Renewing a live transaction moves it to the version current now. */
	struct ost_zone_data *z2 =
		parse_text("example.", zone_v(2, "y.example. IN A 192.0.2.20\n", buf, sizeof(buf)));
	commit(s, z2, "v2");
	assert_int_equal(ost_zone_rtxn_serial(t), 1);
	assert_int_equal(find(t, "x.example.", LDNS_RR_TYPE_A, &v), 0);
	assert_int_equal(ost_zone_rtxn_renew(t), 0);
	assert_int_equal(ost_zone_rtxn_serial(t), 2);
	assert_int_equal(find(t, "x.example.", LDNS_RR_TYPE_A, &v), -ENOENT);
	assert_int_equal(find(t, "y.example.", LDNS_RR_TYPE_A, &v), 0);
	ost_zone_data_free(z2);
	ldns_rdf_deep_free(x);
	ost_zone_rtxn_end(t);
	ost_zone_data_free(z);
	ost_zone_store_close(s);
	remove_tree(dir);
	free(dir);
}

const struct CMUnitTest store_tests[] = {
	cmocka_unit_test(test_store_lookups),
	cmocka_unit_test(test_store_nsec3),
	cmocka_unit_test(test_store_atomic_replace),
	cmocka_unit_test(test_store_kill9_mid_commit),
	cmocka_unit_test(test_store_reset_frees_room),
	cmocka_unit_test(test_store_reset_refuses_lookups),
};
const size_t store_tests_count = sizeof(store_tests) / sizeof(store_tests[0]);
