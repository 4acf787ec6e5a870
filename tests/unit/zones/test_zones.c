/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Verification tests: every Verisign ZONEMD test case gets its published
 * verdict (including 22-lots-rr-types and 80-mixed-classes, which ldns 1.8.3
 * gets wrong), the RFC 8976 Appendix A zones verify, the re-signed 2021 root
 * zone imports end to end at its pinned time and fails one second after its
 * signatures expire, tampered copies are rejected while the previous version
 * keeps answering, the real 2025 root excerpt's RRSIGs verify with the real
 * KSK DS, syntax errors carry their line, and work on hostile keysets is
 * bounded.
 */
#include "test_zones.h"

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

#include "ostrov/zone.h"

#define ROOT_PINNED    1612137600 /* 2021-02-01T00:00:00Z, SOURCES.md */
#define ROOT_SIG_END   1613509263 /* 2021-02-16T21:01:03Z, RRSIG expiration */
#define EXCERPT_PINNED 1760054400 /* 2025-10-10T00:00:00Z */
#define ROOT_ZONE      "zonemd/44-root-zone/root.zone.hashed"

#define SKIP_WITHOUT_DATA()                                                    \
	do {                                                                   \
		if (!have_testdata()) {                                        \
			print_message("shared test data missing, skipping\n"); \
			skip();                                                \
		}                                                              \
	} while (0)

static ldns_rr_list *load_rrs(const char *const *paths, size_t n)
{
	ldns_rr_list *l = ldns_rr_list_new();
	for (size_t i = 0; i < n; i++) {
		FILE *f = fopen(paths[i], "r");
		assert_non_null(f);
		uint32_t ttl = 3600;
		ldns_rdf *origin = ldns_dname_new_frm_str("."), *prev = NULL;
		while (!feof(f)) {
			ldns_rr *rr = NULL;
			ldns_status st = ldns_rr_new_frm_fp(&rr, f, &ttl, &origin, &prev);
			if (st == LDNS_STATUS_OK)
				ldns_rr_list_push_rr(l, rr);
		}
		ldns_rdf_deep_free(origin);
		ldns_rdf_deep_free(prev);
		fclose(f);
	}
	return l;
}

static ldns_rr_list *root_test_anchors(void)
{
	char a[4096], b[4096];
	snprintf(a, sizeof(a), "%s", tdata("zonemd/44-root-zone/Keys/K.+008+21544.ds"));
	snprintf(b, sizeof(b), "%s", tdata("zonemd/44-root-zone/Keys/K.+008+17913.ds"));
	const char *p[] = {a, b};
	return load_rrs(p, 2);
}

static ldns_rr_list *real_root_anchors(void)
{
	char a[4096];
	snprintf(a, sizeof(a), "%s", tdata("real/root.ds"));
	const char *p[] = {a};
	return load_rrs(p, 1);
}

static enum ost_zone_verdict verify_path(const char *origin, const char *path,
					 const ldns_rr_list *anchors, int64_t now,
					 enum ost_zonemd_mode mode,
					 struct ost_zone_verify_result *res)
{
	struct fake_clock fc;
	struct ost_zone_data *z = NULL;
	struct ost_zone_policy pol = {.zonemd = mode};
	fake_clock_init(&fc, now);
	struct ost_zone_verify_ctx ctx = {.clock = &fc.clock, .anchors = anchors};
	int rc = ost_zone_parse_file(origin, path, &pol, &z, res);
	if (rc)
		return res->verdict;
	rc = ost_zone_verify(z, &ctx, &pol, res);
	assert_true(rc == 0 || rc == OST_EBOGUS);
	assert_int_equal(rc == 0, res->verdict == OST_ZV_OK);
	ost_zone_data_free(z);
	return res->verdict;
}

static void config_value(const char *cfg, const char *key, char *out, size_t len)
{
	const char *p = strstr(cfg, key);
	out[0] = 0;
	if (!p)
		return;
	p += strlen(key);
	size_t n = strcspn(p, "\n");
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p);
}

/* Every case directory of the Verisign suite, verdict from its config. */
static void test_verisign_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *dir;
		enum ost_zone_verdict failure; /* expected verdict for failure cases */
	} cases[] = {
		{"01-sha384-simple", 0},
		{"02-sha512-simple", 0},
		{"10-uppercase-owner-names", 0},
		{"11-uppercase-rdata-names", 0},
		{"12-duplicate-rrs", 0},
		{"13-extra-soa", 0},
		{"14-non-apex-zonemd", 0},
		{"15-no-rdata", 0},
		{"17-occluding-dname", 0},
		{"18-sort-by-type", 0},
		{"20-generic-zonemd", 0},
		{"21-out-of-zone-data", 0},
		{"22-lots-rr-types", 0},
		{"23-multiple-zonemd", 0},
		{"30-repeated-scheme-algorithm", OST_ZV_UNSUPPORTED_ZONEMD},
		{"32-truncated-digest", OST_ZV_UNSUPPORTED_ZONEMD},
		{"33-unknown-hash-algorithm", OST_ZV_UNSUPPORTED_ZONEMD},
		{"34-unknown-scheme", OST_ZV_UNSUPPORTED_ZONEMD},
		{"40-rfc8976-simple-example", 0},
		{"41-rfc8976-complex-example", 0},
		{"42-rfc8976-uri.arpa-example", 0},
		{"43-rfc8976-root-servers.net-example", 0},
		{"44-root-zone", 0},
		{"80-mixed-classes", 0},
	};
	SKIP_WITHOUT_DATA();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char rel[512], zonefile[256], origin[256], expected[64], path[4096];
		struct ost_zone_verify_result res;
		snprintf(rel, sizeof(rel), "zonemd/%s/config", cases[i].dir);
		char *cfg = read_file(tdata(rel), NULL);
		assert_non_null(cfg);
		config_value(cfg, "zonefile=", zonefile, sizeof(zonefile));
		config_value(cfg, "origin=", origin, sizeof(origin));
		config_value(cfg, "expected_result=", expected, sizeof(expected));
		free(cfg);
		if (origin[0] && origin[strlen(origin) - 1] != '.')
			strcat(origin, ".");
		snprintf(rel, sizeof(rel), "zonemd/%s/%s", cases[i].dir, zonefile);
		snprintf(path, sizeof(path), "%s", tdata(rel));
		enum ost_zone_verdict v =
			verify_path(origin, path, NULL, ROOT_PINNED, OST_ZONEMD_REQUIRE, &res);
		print_message("%-38s expected=%-8s verdict=%s %s\n", cases[i].dir, expected,
			      ost_zone_verdict_str(v), res.reason);
		if (strcmp(expected, "success") == 0) {
			assert_int_equal(v, OST_ZV_OK);
			assert_int_equal(res.info.zonemd, OST_ZONEMD_VERIFIED);
		} else {
			assert_string_equal(expected, "failure");
			assert_int_equal(v, cases[i].failure);
		}
	}
}

/* The two cases ldns 1.8.3 gets wrong, with the exact reason. */
static void test_ldns_disagreements(void **state)
{
	(void)state;
	struct ost_zone_verify_result res;
	SKIP_WITHOUT_DATA();
	/* 22: TTL-less records take 3600 (no $TTL), not the previous explicit TTL. */
	const char *text = "example. 999 IN SOA ns.example. h.example. 1 2 3 4 5\n"
			   "example. 999 IN NS ns.example.\n"
			   "ns.example. IN A 192.0.2.1\n";
	struct ost_zone_data *z = NULL;
	assert_int_equal(ost_zone_parse_text("example.", text, strlen(text), NULL, &z, &res), 0);
	struct ost_zone_rrset_view v;
	(void)v;
	assert_int_equal(ost_zone_data_count(z), 3);
	ost_zone_data_free(z);
	assert_int_equal(verify_path("example.com.",
				     tdata("zonemd/22-lots-rr-types/example.com.zone"), NULL,
				     ROOT_PINNED, OST_ZONEMD_REQUIRE, &res),
			 OST_ZV_OK);
	assert_int_equal(verify_path("example.", tdata("zonemd/80-mixed-classes/example.zone"),
				     NULL, ROOT_PINNED, OST_ZONEMD_REQUIRE, &res),
			 OST_ZV_OK);
}

static void test_rfc8976_appendix_a(void **state)
{
	(void)state;
	static const struct {
		const char *file, *origin;
	} z[] = {
		{"A.1-simple.example.zone", "example."},
		{"A.2-complex.example.zone", "example."},
		{"A.3-multiple-digests.example.zone", "example."},
		{"A.4-uri.arpa.zone", "uri.arpa."},
		{"A.5-root-servers.net.zone", "root-servers.net."},
	};
	SKIP_WITHOUT_DATA();
	for (size_t i = 0; i < sizeof(z) / sizeof(z[0]); i++) {
		char rel[256];
		struct ost_zone_verify_result res;
		snprintf(rel, sizeof(rel), "vectors/rfc8976-appA/%s", z[i].file);
		enum ost_zone_verdict v = verify_path(z[i].origin, tdata(rel), NULL, ROOT_PINNED,
						      OST_ZONEMD_REQUIRE, &res);
		print_message("%-36s %s %s\n", z[i].file, ost_zone_verdict_str(v), res.reason);
		assert_int_equal(v, OST_ZV_OK);
		assert_int_equal(res.info.zonemd, OST_ZONEMD_VERIFIED);
	}
}

/* A.4 uri.arpa is signed: anchor it with its own KSK DS and check every
 * RRSIG at the pinned time, then one second after its signatures expire. */
static void test_uri_arpa_dnssec(void **state)
{
	(void)state;
	struct ost_zone_verify_result res;
	struct ost_zone_data *z = NULL;
	SKIP_WITHOUT_DATA();
	assert_int_equal(ost_zone_parse_file("uri.arpa.",
					     tdata("vectors/rfc8976-appA/A.4-uri.arpa.zone"), NULL,
					     &z, &res),
			 0);
	/* Derive DS anchors from the zone's own SEP keys (flags 257). */
	ldns_rr_list *anchors = ldns_rr_list_new();
	ldns_zone *lz = NULL;
	FILE *f = fopen(tdata("vectors/rfc8976-appA/A.4-uri.arpa.zone"), "r");
	assert_non_null(f);
	assert_int_equal(ldns_zone_new_frm_fp(&lz, f, NULL, 3600, LDNS_RR_CLASS_IN),
			 LDNS_STATUS_OK);
	fclose(f);
	for (size_t i = 0; i < ldns_zone_rr_count(lz); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_zone_rrs(lz), i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNSKEY &&
		    ldns_rdf2native_int16(ldns_rr_rdf(rr, 0)) == 257)
			ldns_rr_list_push_rr(anchors, ldns_key_rr2ds(rr, LDNS_SHA256));
	}
	ldns_zone_deep_free(lz);
	ost_zone_data_free(z);
	assert_int_equal(ldns_rr_list_rr_count(anchors), 2);
	assert_int_equal(verify_path("uri.arpa.", tdata("vectors/rfc8976-appA/A.4-uri.arpa.zone"),
				     anchors, ROOT_PINNED, OST_ZONEMD_REQUIRE, &res),
			 OST_ZV_OK);
	assert_true(res.info.is_dnssec_checked);
	assert_true(res.info.rrsig_horizon > ROOT_PINNED);
	assert_int_equal(verify_path("uri.arpa.", tdata("vectors/rfc8976-appA/A.4-uri.arpa.zone"),
				     anchors, res.info.rrsig_horizon + 1, OST_ZONEMD_REQUIRE, &res),
			 OST_ZV_EXPIRED_SIG);
	ldns_rr_list_deep_free(anchors);
}

/* Copy the root zone with one line edited: the first line starting with
 * @p prefix gets @p edit applied at offset @p at (from the line's end if negative). */
static char *root_copy(const char *dir, const char *name, const char *prefix, int at, char with)
{
	size_t len;
	char *text = read_file(tdata(ROOT_ZONE), &len);
	assert_non_null(text);
	char *p = text;
	while (p && strncmp(p, prefix, strlen(prefix)) != 0) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	assert_non_null(p);
	char *eol = strchr(p, '\n');
	assert_non_null(eol);
	char *c = at >= 0 ? p + at : eol + at;
	assert_true(c >= p && c < eol);
	assert_true(*c != with);
	*c = with;
	char *path = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(path, "%s/%s", dir, name);
	assert_int_equal(write_file(path, text, len), 0);
	free(text);
	return path;
}

static void assert_root_answers(struct ost_zone_store *store, uint32_t serial)
{
	struct ost_zone_rtxn *t;
	struct ost_zone_rrset_view v;
	ldns_rdf *com = ldns_dname_new_frm_str("com.");
	ldns_rdf *www = ldns_dname_new_frm_str("www.example.com.");
	assert_int_equal(ost_zone_rtxn_begin(store, ".", &t), 0);
	assert_int_equal(ost_zone_rtxn_serial(t), serial);
	assert_int_equal(ost_zone_rtxn_find(t, com, LDNS_RR_TYPE_NS, &v), 0);
	assert_int_equal(v.rr_count, 13);
	assert_int_equal(ost_zone_rtxn_find(t, com, LDNS_RR_TYPE_DS, &v), 0);
	assert_true(v.sig_count >= 1);
	assert_int_equal(ost_zone_rtxn_find_cut(t, www, &v), 0);
	assert_int_equal(v.type, LDNS_RR_TYPE_NS);
	assert_int_equal(v.owner_len, 5);
	assert_memory_equal(v.owner, "\3com", 5);
	ost_zone_rtxn_end(t);
	ldns_rdf_deep_free(com);
	ldns_rdf_deep_free(www);
}

/* The full 2021 root zone: import, verify everything, store; then tampered
 * copies are rejected and the good version keeps answering; restart
 * re-verification; expiry one second after the signatures end. */
static void test_root_zone_end_to_end(void **state)
{
	(void)state;
	SKIP_WITHOUT_DATA();
	char *dir = make_tmpdir();
	char storedir[4096];
	snprintf(storedir, sizeof(storedir), "%s/store", dir);
	struct fake_clock fc;
	fake_clock_init(&fc, ROOT_PINNED);
	struct ost_zone_store *store;
	struct ost_zone_store_opts so = {.path = storedir};
	assert_int_equal(ost_zone_store_open(&so, &store), 0);
	struct ost_mirror *m;
	assert_int_equal(ost_mirror_new(store, &fc.clock, &m), 0);
	ldns_rr_list *anchors = root_test_anchors();
	assert_int_equal(ldns_rr_list_rr_count(anchors), 2);
	struct ost_mirror_zone_config cfg = {
		.name = ".",
		.policy = {.zonemd = OST_ZONEMD_REQUIRE,
			   .max_bytes = 64 << 20,
			   .max_records = 200000},
		.anchors = anchors,
	};
	assert_int_equal(ost_mirror_add_zone(m, &cfg), 0);

	struct ost_zone_verify_result res;
	double t0 = now_seconds();
	int rc = ost_mirror_import_file(m, ".", tdata(ROOT_ZONE), &res);
	double t1 = now_seconds();
	print_message("root zone import+verify+commit: %.3f s (%llu records, %llu sig checks) %s\n",
		      t1 - t0, (unsigned long long)res.info.records,
		      (unsigned long long)res.info.sigs_checked, res.reason);
	assert_int_equal(rc, 0);
	assert_int_equal(res.verdict, OST_ZV_OK);
	assert_int_equal(res.info.serial, 2021011901);
	assert_true(res.info.is_dnssec_checked);
	assert_int_equal(res.info.zonemd, OST_ZONEMD_VERIFIED);
	assert_int_equal(res.info.zonemd_alg, 1);
	assert_int_equal(res.info.rrsig_horizon, ROOT_SIG_END);
	assert_int_equal(res.info.expire, 604800);
	assert_true(res.info.sigs_checked > 1000);
	assert_root_answers(store, 2021011901);

	struct ost_mirror_zone_status st;
	assert_int_equal(ost_mirror_zone_status(m, ".", &st), 0);
	assert_true(st.is_usable);
	assert_int_equal(st.meta.serial, 2021011901);
	assert_int_equal(st.meta.soa_expire_deadline, ROOT_PINNED + 604800);
	assert_int_equal(st.meta.rrsig_horizon, ROOT_SIG_END);
	assert_int_equal(st.verify_total[OST_ZV_OK], 1);

	/* One glue byte changed: only ZONEMD can see it (glue is unsigned). */
	char *p = root_copy(dir, "glue.zone", "ns1.dns.nic.aaa.\t", -1, '9');
	assert_int_equal(ost_mirror_import_file(m, ".", p, &res), OST_EBOGUS);
	assert_int_equal(res.verdict, OST_ZV_ZONEMD_MISMATCH);
	print_message("glue byte: %s: %s\n", ost_zone_verdict_str(res.verdict), res.reason);
	free(p);
	assert_root_answers(store, 2021011901);

	/* One signature byte changed. */
	p = root_copy(dir, "sig.zone", "aaa.\t86400\tIN\tRRSIG\tDS", -10, 'A');
	assert_int_equal(ost_mirror_import_file(m, ".", p, &res), OST_EBOGUS);
	assert_int_equal(res.verdict, OST_ZV_BOGUS_SIG);
	assert_non_null(strstr(res.reason, "aaa./DS"));
	print_message("sig byte: %s: %s\n", ost_zone_verdict_str(res.verdict), res.reason);
	free(p);
	assert_root_answers(store, 2021011901);

	/* Serial lowered (2021011901 -> 2021011801). */
	p = root_copy(dir, "serial.zone", ".\t86400\tIN\tSOA", 66, '8');
	assert_int_equal(ost_mirror_import_file(m, ".", p, &res), OST_EBOGUS);
	assert_int_equal(res.verdict, OST_ZV_LOWER_SERIAL);
	print_message("serial: %s: %s\n", ost_zone_verdict_str(res.verdict), res.reason);
	free(p);
	assert_root_answers(store, 2021011901);

	/* Signed by keys that do not chain to the configured anchor. */
	ldns_rr_list *other = real_root_anchors();
	struct ost_mirror *m2;
	assert_int_equal(ost_mirror_new(store, &fc.clock, &m2), 0);
	cfg.anchors = other;
	assert_int_equal(ost_mirror_add_zone(m2, &cfg), 0);
	assert_int_equal(ost_mirror_import_file(m2, ".", tdata(ROOT_ZONE), &res), OST_EBOGUS);
	assert_int_equal(res.verdict, OST_ZV_DNSKEY_NOT_CHAINED);
	print_message("anchor: %s: %s\n", ost_zone_verdict_str(res.verdict), res.reason);
	ost_mirror_free(m2);
	ldns_rr_list_deep_free(other);
	assert_root_answers(store, 2021011901);

	assert_int_equal(ost_mirror_zone_status(m, ".", &st), 0);
	assert_int_equal(st.verify_total[OST_ZV_OK], 1);
	assert_int_equal(st.verify_total[OST_ZV_ZONEMD_MISMATCH], 1);
	assert_int_equal(st.verify_total[OST_ZV_BOGUS_SIG], 1);
	assert_int_equal(st.verify_total[OST_ZV_LOWER_SERIAL], 1);
	ost_mirror_free(m);
	ost_zone_store_close(store);

	/* Restart a day later: the stored copy is re-verified against the clock. */
	assert_int_equal(ost_zone_store_open(&so, &store), 0);
	fc.wall = ROOT_PINNED + 86400;
	cfg.anchors = anchors;
	assert_int_equal(ost_mirror_new(store, &fc.clock, &m), 0);
	assert_int_equal(ost_mirror_add_zone(m, &cfg), 0);
	t0 = now_seconds();
	assert_int_equal(ost_mirror_start(m), 0);
	print_message("restart re-verification: %.3f s\n", now_seconds() - t0);
	assert_int_equal(ost_mirror_zone_status(m, ".", &st), 0);
	assert_true(st.is_usable);
	assert_int_equal(st.meta.verified_at, ROOT_PINNED + 86400);
	assert_root_answers(store, 2021011901);
	ost_mirror_free(m);

	/* The signatures themselves: valid at their last second, expired one
	 * second later (store-level re-verification, no SOA-expire policy). */
	struct ost_zone_verify_ctx vctx = {.clock = &fc.clock, .anchors = anchors};
	fc.wall = ROOT_SIG_END;
	assert_int_equal(ost_zone_store_reverify(store, ".", &vctx, &cfg.policy, &res), 0);
	assert_int_equal(res.verdict, OST_ZV_OK);
	fc.wall = ROOT_SIG_END + 1;
	assert_int_equal(ost_zone_store_reverify(store, ".", &vctx, &cfg.policy, &res), OST_EBOGUS);
	assert_int_equal(res.verdict, OST_ZV_EXPIRED_SIG);
	assert_non_null(strstr(res.reason, "expired 2021-02-16T21:01:03Z"));
	print_message("after expiry: %s\n", res.reason);

	/* A restart at that moment leaves the zone unusable, for that reason. */
	assert_int_equal(ost_mirror_new(store, &fc.clock, &m), 0);
	assert_int_equal(ost_mirror_add_zone(m, &cfg), 0);
	assert_int_equal(ost_mirror_start(m), 1);
	assert_int_equal(ost_mirror_zone_status(m, ".", &st), 0);
	assert_false(st.is_usable);
	assert_int_equal(st.last_verdict, OST_ZV_EXPIRED_SIG);
	assert_int_equal(st.verify_total[OST_ZV_EXPIRED_SIG], 1);
	ost_mirror_free(m);

	/* Past the SOA expire deadline (RFC 8806 §3) with valid signatures. */
	fc.wall = ROOT_PINNED + 604800;
	assert_int_equal(ost_mirror_new(store, &fc.clock, &m), 0);
	assert_int_equal(ost_mirror_add_zone(m, &cfg), 0);
	assert_int_equal(ost_mirror_start(m), 1);
	assert_int_equal(ost_mirror_zone_status(m, ".", &st), 0);
	assert_false(st.is_usable);
	assert_int_equal(st.last_verdict, OST_ZV_SOA_EXPIRED);
	assert_non_null(strstr(st.last_reason, "SOA expire"));
	ost_mirror_free(m);

	ost_zone_store_close(store);
	ldns_rr_list_deep_free(anchors);
	remove_tree(dir);
	free(dir);
}

/* The real 2025 root excerpt: every RRSIG verifies with the real KSK DS at
 * the pinned time; no digest check is possible on a partial zone. */
static void test_real_root_excerpt(void **state)
{
	(void)state;
	struct ost_zone_verify_result res;
	SKIP_WITHOUT_DATA();
	ldns_rr_list *anchors = real_root_anchors();
	const char *path = tdata("real/root-2025100501-apex-excerpt.zone");
	char p[4096];
	snprintf(p, sizeof(p), "%s", path);
	assert_int_equal(verify_path(".", p, anchors, EXCERPT_PINNED, OST_ZONEMD_SKIP, &res),
			 OST_ZV_OK);
	assert_true(res.info.is_dnssec_checked);
	assert_int_equal(res.info.serial, 2025100501);
	assert_int_equal(res.info.zonemd, OST_ZONEMD_NOT_CHECKED);
	assert_true(res.info.sigs_checked >= 9);
	/* ZSK RRSIGs end 2025-10-18T17:00:00Z. */
	assert_int_equal(res.info.rrsig_horizon, 1760806800);
	/* Checking the digest of an excerpt must fail, honestly. */
	assert_int_equal(verify_path(".", p, anchors, EXCERPT_PINNED, OST_ZONEMD_REQUIRE, &res),
			 OST_ZV_ZONEMD_MISMATCH);
	/* Before the ZSK signatures' inception. */
	assert_int_equal(verify_path(".", p, anchors, 1759680000 - 1, OST_ZONEMD_SKIP, &res),
			 OST_ZV_EXPIRED_SIG);
	ldns_rr_list_deep_free(anchors);
}

static void test_syntax_error_line(void **state)
{
	(void)state;
	struct ost_zone_verify_result res;
	struct ost_zone_data *z = NULL;
	const char *text = "$TTL 3600\n"
			   "example. IN SOA ns.example. h.example. 1 2 3 4 5\n"
			   "example. IN NS ns.example.\n"
			   "\n"
			   "ns.example. IN A 192.0.2.300\n"
			   "x.example. IN A 192.0.2.1\n";
	assert_int_equal(ost_zone_parse_text("example.", text, strlen(text), NULL, &z, &res),
			 OST_EMALFORMED);
	assert_null(z);
	assert_int_equal(res.verdict, OST_ZV_PARSE_ERROR);
	assert_int_equal(res.line, 5);
	assert_non_null(strstr(res.reason, "line 5"));

	const char *inc = "example. 1 IN SOA ns.example. h.example. 1 2 3 4 5\n"
			  "$INCLUDE /etc/passwd\n";
	assert_int_equal(ost_zone_parse_text("example.", inc, strlen(inc), NULL, &z, &res),
			 OST_EMALFORMED);
	assert_int_equal(res.line, 2);
	assert_non_null(strstr(res.reason, "$INCLUDE"));

	/* An error in a last line without a newline still names that line. */
	const char *last = "example. 1 IN SOA ns.example. h.example. 1 2 3 4 5\n"
			   "x 1 IN A 1.2.3";
	assert_int_equal(ost_zone_parse_text("example.", last, strlen(last), NULL, &z, &res),
			 OST_EMALFORMED);
	assert_int_equal(res.line, 2);

	const char *nosoa = "example. 1 IN NS ns.example.\n";
	assert_int_equal(ost_zone_parse_text("example.", nosoa, strlen(nosoa), NULL, &z, &res),
			 OST_EMALFORMED);
	assert_int_equal(res.verdict, OST_ZV_PARSE_ERROR);

	const char *twosoa = "example. 1 IN SOA ns.example. h.example. 1 2 3 4 5\n"
			     "example. 1 IN SOA ns.example. h.example. 2 2 3 4 5\n";
	assert_int_equal(ost_zone_parse_text("example.", twosoa, strlen(twosoa), NULL, &z, &res),
			 OST_EMALFORMED);
	assert_non_null(strstr(res.reason, "SOA"));
}

static void test_limits(void **state)
{
	(void)state;
	struct ost_zone_verify_result res;
	struct ost_zone_data *z = NULL;
	const char *text = "example. 1 IN SOA ns.example. h.example. 1 2 3 4 5\n"
			   "example. 1 IN NS ns.example.\n"
			   "ns.example. 1 IN A 192.0.2.1\n"
			   "ns.example. 1 IN A 192.0.2.2\n";
	struct ost_zone_policy pol = {.max_records = 3};
	assert_int_equal(ost_zone_parse_text("example.", text, strlen(text), &pol, &z, &res),
			 OST_ELIMIT);
	assert_int_equal(res.verdict, OST_ZV_TOO_LARGE);
	pol = (struct ost_zone_policy){.max_bytes = 50};
	assert_int_equal(ost_zone_parse_text("example.", text, strlen(text), &pol, &z, &res),
			 OST_ELIMIT);
	assert_int_equal(res.verdict, OST_ZV_TOO_LARGE);
	pol = (struct ost_zone_policy){.max_records = 4, .zonemd = OST_ZONEMD_REQUIRE};
	assert_int_equal(ost_zone_parse_text("example.", text, strlen(text), &pol, &z, &res), 0);
	struct fake_clock fc;
	fake_clock_init(&fc, ROOT_PINNED);
	struct ost_zone_verify_ctx ctx = {
		.clock = &fc.clock, .has_prev_serial = true, .prev_serial = 1};
	assert_int_equal(ost_zone_verify(z, &ctx, &pol, &res), OST_EBOGUS);
	assert_int_equal(res.verdict, OST_ZV_NO_ZONEMD);
	pol.zonemd = OST_ZONEMD_CHECK_IF_PRESENT;
	assert_int_equal(ost_zone_verify(z, &ctx, &pol, &res), 0);
	assert_int_equal(res.info.zonemd, OST_ZONEMD_ABSENT);
	assert_int_equal(res.info.refresh, 2);
	assert_int_equal(res.info.retry, 3);
	assert_int_equal(res.info.expire, 4);
	ctx.prev_serial = 2;
	assert_int_equal(ost_zone_verify(z, &ctx, &pol, &res), OST_EBOGUS);
	assert_int_equal(res.verdict, OST_ZV_LOWER_SERIAL);
	ost_zone_data_free(z);
}

/* RFC 8976 §4 step 2: the zone's denial data says ZONEMD exists, the zone
 * has none: not successful, even when ZONEMD is not required by policy. */
static void test_zonemd_denied_absence(void **state)
{
	(void)state;
	struct ost_zone_verify_result res;
	struct ost_zone_data *z = NULL;
	struct fake_clock fc;
	struct ost_zone_policy pol = {.zonemd = OST_ZONEMD_CHECK_IF_PRESENT};
	fake_clock_init(&fc, ROOT_PINNED);
	struct ost_zone_verify_ctx ctx = {.clock = &fc.clock};

	const char *nsec = "example. 60 IN SOA ns.example. h.example. 1 2 3 4 5\n"
			   "example. 60 IN NS ns.example.\n"
			   "example. 60 IN NSEC ns.example. NS SOA RRSIG NSEC ZONEMD\n";
	assert_int_equal(ost_zone_parse_text("example.", nsec, strlen(nsec), NULL, &z, &res), 0);
	assert_int_equal(ost_zone_verify(z, &ctx, &pol, &res), OST_EBOGUS);
	assert_int_equal(res.verdict, OST_ZV_NO_ZONEMD);
	ost_zone_data_free(z);

	/* NSEC3: the record at the hash of the apex. */
	ldns_rdf *apex = ldns_dname_new_frm_str("example.");
	ldns_rdf *h = ldns_nsec3_hash_name(apex, 1, 0, 0, NULL);
	char *hs = ldns_rdf2str(h);
	char text[1024];
	for (int listed = 0; listed < 2; listed++) {
		snprintf(text, sizeof(text),
			 "example. 60 IN SOA ns.example. h.example. 1 2 3 4 5\n"
			 "example. 60 IN NS ns.example.\n"
			 "example. 60 IN NSEC3PARAM 1 0 0 -\n"
			 "%sexample. 60 IN NSEC3 1 0 0 - 00000000000000000000000000000000 NS SOA "
			 "RRSIG NSEC3PARAM%s\n",
			 hs, listed ? " ZONEMD" : "");
		assert_int_equal(
			ost_zone_parse_text("example.", text, strlen(text), NULL, &z, &res), 0);
		int rc = ost_zone_verify(z, &ctx, &pol, &res);
		if (listed) {
			assert_int_equal(rc, OST_EBOGUS);
			assert_int_equal(res.verdict, OST_ZV_NO_ZONEMD);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(res.info.zonemd, OST_ZONEMD_ABSENT);
		}
		ost_zone_data_free(z);
	}
	free(hs);
	ldns_rdf_deep_free(h);
	ldns_rdf_deep_free(apex);
}

/* Start-up: an empty store takes the bootstrap file; a usable stored copy is
 * kept without touching the bootstrap; a copy past SOA expire is replaced
 * from the bootstrap even though its serial is not higher. */
static void test_mirror_bootstrap(void **state)
{
	(void)state;
	SKIP_WITHOUT_DATA();
	char *dir = make_tmpdir(), storedir[4096], good[4096], bad[4096];
	snprintf(storedir, sizeof(storedir), "%s/store", dir);
	snprintf(good, sizeof(good), "%s", tdata("vectors/rfc8976-appA/A.1-simple.example.zone"));
	snprintf(bad, sizeof(bad), "%s/missing.zone", dir);
	struct fake_clock fc;
	struct ost_zone_store *store;
	struct ost_zone_store_opts so = {.path = storedir};
	struct ost_mirror *m;
	struct ost_mirror_zone_status st;
	struct ost_mirror_zone_config cfg = {
		.name = "example",
		.bootstrap_file = good,
		.policy = {.zonemd = OST_ZONEMD_REQUIRE},
		.is_unsigned_ok = true,
	};
	fake_clock_init(&fc, ROOT_PINNED);
	assert_int_equal(ost_zone_store_open(&so, &store), 0);

	assert_int_equal(ost_mirror_new(store, &fc.clock, &m), 0);
	assert_int_equal(ost_mirror_add_zone(m, &cfg), 0);
	assert_int_equal(ost_mirror_add_zone(m, &cfg), -EEXIST);
	assert_int_equal(ost_mirror_start(m), 0);
	assert_int_equal(ost_mirror_zone_status(m, "example.", &st), 0);
	assert_true(st.is_usable);
	assert_string_equal(st.name, "example.");
	assert_int_equal(st.meta.serial, 2018031900);
	assert_int_equal(st.meta.fetched_at, ROOT_PINNED);
	assert_int_equal(st.meta.zonemd_result, OST_ZONEMD_VERIFIED);
	assert_non_null(strstr(st.meta.source, "A.1-simple"));
	assert_int_equal(ost_mirror_import_file(m, "nope.", good, NULL), -ENOENT);
	ost_mirror_free(m);

	/* The stored copy is still good: a broken bootstrap file is not needed. */
	cfg.bootstrap_file = bad;
	fc.wall = ROOT_PINNED + 3600;
	assert_int_equal(ost_mirror_new(store, &fc.clock, &m), 0);
	assert_int_equal(ost_mirror_add_zone(m, &cfg), 0);
	assert_int_equal(ost_mirror_start(m), 0);
	assert_int_equal(ost_mirror_zone_status(m, "example.", &st), 0);
	assert_true(st.is_usable);
	assert_int_equal(st.meta.fetched_at, ROOT_PINNED);
	ost_mirror_free(m);

	/* Past SOA expire (604800 s) with a broken bootstrap: unusable. */
	fc.wall = ROOT_PINNED + 604800;
	assert_int_equal(ost_mirror_new(store, &fc.clock, &m), 0);
	assert_int_equal(ost_mirror_add_zone(m, &cfg), 0);
	assert_int_equal(ost_mirror_start(m), 1);
	assert_int_equal(ost_mirror_zone_status(m, "example.", &st), 0);
	assert_false(st.is_usable);
	assert_int_equal(st.last_verdict, OST_ZV_PARSE_ERROR);
	assert_int_equal(st.verify_total[OST_ZV_SOA_EXPIRED], 1);
	ost_mirror_free(m);

	/* ... and with the good bootstrap: the same serial is taken again. */
	cfg.bootstrap_file = good;
	assert_int_equal(ost_mirror_new(store, &fc.clock, &m), 0);
	assert_int_equal(ost_mirror_add_zone(m, &cfg), 0);
	assert_int_equal(ost_mirror_start(m), 0);
	assert_int_equal(ost_mirror_zone_status(m, "example.", &st), 0);
	assert_true(st.is_usable);
	assert_int_equal(st.meta.fetched_at, ROOT_PINNED + 604800);
	ost_mirror_free(m);

	ost_zone_store_close(store);
	remove_tree(dir);
	free(dir);
}

static void test_serial_cmp(void **state)
{
	(void)state;
	assert_int_equal(ost_zone_serial_cmp(2, 1), 1);
	assert_int_equal(ost_zone_serial_cmp(1, 2), -1);
	assert_int_equal(ost_zone_serial_cmp(5, 5), 0);
	assert_int_equal(ost_zone_serial_cmp(0, 0xffffffffu), 1); /* wrapped forward */
	assert_int_equal(ost_zone_serial_cmp(0xffffffffu, 0), -1);
	assert_int_equal(ost_zone_serial_cmp(0x80000000u, 0), 2); /* undefined */
	assert_int_equal(ost_zone_serial_cmp(0x7fffffffu, 0), 1);
	assert_string_equal(ost_zone_verdict_str(OST_ZV_ZONEMD_MISMATCH), "zonemd_mismatch");
	assert_string_equal(ost_zone_verdict_str(OST_ZV_COUNT), "unknown");
	for (int v = 0; v < OST_ZV_COUNT; v++)
		assert_non_null(ost_zone_verdict_str((enum ost_zone_verdict)v));
}

/* Stored copies re-digest to the same ZONEMD: odd types, wildcards, classes
 * other than IN, duplicates and occluded data survive the store unchanged. */
static void test_store_roundtrip_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *file, *origin;
	} cases[] = {
		{"zonemd/22-lots-rr-types/example.com.zone", "example.com."},
		{"zonemd/80-mixed-classes/example.zone", "example."},
		{"zonemd/17-occluding-dname/example.zone", "example."},
		{"zonemd/12-duplicate-rrs/example.zone", "example."},
		{"vectors/rfc8976-appA/A.2-complex.example.zone", "example."},
		{"vectors/rfc8976-appA/A.4-uri.arpa.zone", "uri.arpa."},
	};
	SKIP_WITHOUT_DATA();
	char *dir = make_tmpdir();
	struct fake_clock fc;
	struct ost_zone_store *store;
	struct ost_zone_store_opts so = {.path = dir};
	struct ost_mirror *m;
	fake_clock_init(&fc, ROOT_PINNED);
	assert_int_equal(ost_zone_store_open(&so, &store), 0);
	assert_int_equal(ost_mirror_new(store, &fc.clock, &m), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ost_mirror_zone_config cfg = {
			.name = cases[i].origin,
			.policy = {.zonemd = OST_ZONEMD_REQUIRE},
			.is_unsigned_ok = true,
		};
		struct ost_zone_verify_result res;
		struct ost_zone_verify_ctx ctx = {.clock = &fc.clock};
		char path[4096];
		snprintf(path, sizeof(path), "%s", tdata(cases[i].file));
		int rc = ost_mirror_add_zone(m, &cfg);
		assert_true(rc == 0 || rc == -EEXIST);
		assert_int_equal(ost_mirror_import_file(m, cases[i].origin, path, &res), 0);
		rc = ost_zone_store_reverify(store, cases[i].origin, &ctx, &cfg.policy, &res);
		if (rc)
			print_message("%s: %s\n", cases[i].file, res.reason);
		assert_int_equal(rc, 0);
		assert_int_equal(res.info.zonemd, OST_ZONEMD_VERIFIED);
		/* Remove it so that the next file for the same apex starts afresh. */
		assert_int_equal(ost_zone_store_remove(store, cases[i].origin), 0);
	}
	ost_mirror_free(m);
	ost_zone_store_close(store);
	remove_tree(dir);
	free(dir);
}

/* Bad input never wins: byte-mutated copies of a zone with many RR types
 * and of the signed real root excerpt (so that DNSKEY, RRSIG and NSEC parsing
 * and the crypto failure paths see garbage) are parsed and verified without
 * a crash, and every failure carries a verdict. Deterministic (fixed seed).
 * (22-lots-rr-types is not used: ldns 1.8.3 leaks in ldns_str2rdf_ipseckey()
 * error paths, which LeakSanitizer would report against us.) */
static void test_mutated_zones(void **state)
{
	(void)state;
	SKIP_WITHOUT_DATA();
	static const struct {
		const char *file, *origin;
		bool is_signed;
		int64_t now;
	} bases[] = {
		{"vectors/rfc8976-appA/A.2-complex.example.zone", "example.", false, ROOT_PINNED},
		{"real/root-2025100501-apex-excerpt.zone", ".", true, EXCERPT_PINNED},
	};
	ldns_rr_list *anchors = real_root_anchors();
	uint32_t seed = 4242;
	for (size_t b = 0; b < 2; b++) {
		size_t len;
		char *orig = read_file(tdata(bases[b].file), &len);
		assert_non_null(orig);
		char *buf = malloc(len + 1);
		unsigned ok = 0, rejected = 0;
		struct fake_clock fc;
		fake_clock_init(&fc, bases[b].now);
		for (int iter = 0; iter < 800; iter++) {
			memcpy(buf, orig, len + 1);
			for (int k = 0; k < 1 + iter % 3; k++) {
				seed = seed * 1103515245u + 12345u;
				size_t at = (seed >> 8) % len;
				seed = seed * 1103515245u + 12345u;
				buf[at] = (char)(seed >> 16);
			}
			struct ost_zone_verify_result res;
			struct ost_zone_data *z = NULL;
			struct ost_zone_policy pol = {.zonemd = bases[b].is_signed
									? OST_ZONEMD_SKIP
									: OST_ZONEMD_REQUIRE};
			struct ost_zone_verify_ctx ctx = {
				.clock = &fc.clock, .anchors = bases[b].is_signed ? anchors : NULL};
			int rc = ost_zone_parse_text(bases[b].origin, buf, len, &pol, &z, &res);
			if (rc == 0)
				rc = ost_zone_verify(z, &ctx, &pol, &res);
			assert_true((unsigned)res.verdict < OST_ZV_COUNT);
			assert_int_equal(rc == 0, res.verdict == OST_ZV_OK);
			if (rc == 0)
				ok++;
			else
				rejected++;
			ost_zone_data_free(z);
		}
		print_message("%s: %u mutants verified (comments, whitespace, case), %u rejected\n",
			      bases[b].file, ok, rejected);
		assert_true(rejected > 500);
		free(buf);
		free(orig);
	}
	ldns_rr_list_deep_free(anchors);
}

/* RFC 3597 "\# 0" gives a known type no rdata fields; such a record used to
 * be imported and crashed the resolver's mirror path (tests/fuzz/corpus/zone/
 * regress-mirror-dname-empty-rdata). Opaque NULL records may be empty. */
static void test_empty_rdata(void **state)
{
	(void)state;
	struct ost_zone_verify_result res;
	struct ost_zone_data *z = NULL;
	const char *dname = "example. 1 IN SOA ns.example. h.example. 1 2 3 4 5\n"
			    "example. 1 IN NS ns.example.\n"
			    "d.example. 1 IN DNAME \\# 0\n";
	assert_int_equal(ost_zone_parse_text("example.", dname, strlen(dname), NULL, &z, &res),
			 OST_EMALFORMED);
	assert_null(z);
	assert_int_equal(res.verdict, OST_ZV_PARSE_ERROR);
	assert_int_equal(res.line, 3);
	const char *null = "example. 1 IN SOA ns.example. h.example. 1 2 3 4 5\n"
			   "example. 1 IN NS ns.example.\n"
			   "n.example. 1 IN NULL \\# 0\n";
	assert_int_equal(ost_zone_parse_text("example.", null, strlen(null), NULL, &z, &res), 0);
	assert_int_equal(ost_zone_data_count(z), 3);
	ost_zone_data_free(z);
}

const struct CMUnitTest zones_tests[] = {
	cmocka_unit_test(test_serial_cmp),
	cmocka_unit_test(test_syntax_error_line),
	cmocka_unit_test(test_empty_rdata),
	cmocka_unit_test(test_limits),
	cmocka_unit_test(test_zonemd_denied_absence),
	cmocka_unit_test(test_mirror_bootstrap),
	cmocka_unit_test(test_verisign_vectors),
	cmocka_unit_test(test_ldns_disagreements),
	cmocka_unit_test(test_rfc8976_appendix_a),
	cmocka_unit_test(test_uri_arpa_dnssec),
	cmocka_unit_test(test_real_root_excerpt),
	cmocka_unit_test(test_store_roundtrip_vectors),
	cmocka_unit_test(test_mutated_zones),
	cmocka_unit_test(test_root_zone_end_to_end),
};
const size_t zones_tests_count = sizeof(zones_tests) / sizeof(zones_tests[0]);
