/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Parallel verification gives the serial verdict: every zone is checked with
 * the serial executor (NULL), an executor that runs the tasks in reverse
 * order on the calling thread (the worst order for "first error" logic), and
 * the daemon's thread pool (server/uvexec.c) at widths 2 and 4, and the
 * verdict, reason, ZONEMD result, RRSIG horizon and counts must be identical.
 * Inputs: the Verisign ZONEMD cases, the re-signed 2021 root zone, and copies
 * of it with one signature byte changed at the first, a middle and the last
 * RRSIG, with two bad signatures (the earlier one must be reported), and with
 * one RRSIG removed.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>
#include <openssl/evp.h>

#include "ostrov/exec.h"
#include "ostrov/zone.h"

#include "test_zones.h"
#include "uvexec.h"

#define ROOT_PINNED 1612137600 /* 2021-02-01T00:00:00Z, SOURCES.md */

/* Runs the tasks last to first on the calling thread; claims width 4 so the
 * check cuts the job as finely as on a four-core machine. */
static void reverse_run(void *ctx, ost_exec_task_cb fn, void *arg, size_t n)
{
	(*(size_t *)ctx)++;
	for (size_t i = n; i-- > 0;)
		fn(arg, i);
}

static const struct ost_exec_ops reverse_ops = {.run = reverse_run};

struct execs {
	size_t reverse_runs;
	struct ost_exec reverse;
	struct ost_uv_exec *pool2, *pool4;
	const struct ost_exec *list[4];
};

static void execs_init(struct execs *e)
{
	e->reverse_runs = 0;
	e->reverse = (struct ost_exec){.ops = &reverse_ops, .ctx = &e->reverse_runs, .width = 4};
	assert_int_equal(ost_uv_exec_new(2, &e->pool2), 0);
	assert_int_equal(ost_uv_exec_new(4, &e->pool4), 0);
	assert_int_equal(ost_exec_width(ost_uv_exec_get(e->pool2)), 2);
	e->list[0] = NULL;
	e->list[1] = &e->reverse;
	e->list[2] = ost_uv_exec_get(e->pool2);
	e->list[3] = ost_uv_exec_get(e->pool4);
}

static void execs_deinit(struct execs *e)
{
	ost_uv_exec_free(e->pool2);
	ost_uv_exec_free(e->pool4);
}

static ldns_rr_list *root_anchors(void)
{
	ldns_rr_list *l = ldns_rr_list_new();
	const char *keys[] = {"zonemd/44-root-zone/Keys/K.+008+21544.ds",
			      "zonemd/44-root-zone/Keys/K.+008+17913.ds"};
	for (size_t i = 0; i < 2; i++) {
		FILE *f = fopen(tdata(keys[i]), "r");
		assert_non_null(f);
		ldns_rr *rr = NULL;
		uint32_t ttl = 3600;
		while (ldns_rr_new_frm_fp(&rr, f, &ttl, NULL, NULL) == LDNS_STATUS_OK)
			ldns_rr_list_push_rr(l, rr);
		fclose(f);
	}
	return l;
}

/* Parse @p text with each executor (or once, serially, when @p parse_once:
 * the chunked parse of that text is covered elsewhere) and verify with each;
 * all results must equal the serial one. Returns the serial verdict (reason
 * in @p out). */
static enum ost_zone_verdict check_all_x(struct execs *e, const char *origin, const char *text,
					 size_t len, const ldns_rr_list *anchors, int64_t now,
					 bool parse_once, struct ost_zone_verify_result *out)
{
	struct fake_clock fc;
	struct ost_zone_verify_result first;
	bool have_first = false;

	fake_clock_init(&fc, now);
	struct ost_zone_data *shared = NULL;
	struct ost_zone_verify_result pres = {0};
	int prc = 0;
	if (parse_once) {
		struct ost_zone_policy pol = {.zonemd = OST_ZONEMD_CHECK_IF_PRESENT};
		prc = ost_zone_parse_text(origin, text, len, &pol, &shared, &pres);
	}
	for (size_t i = 0; i < 4; i++) {
		struct ost_zone_policy pol = {.zonemd = OST_ZONEMD_CHECK_IF_PRESENT,
					      .exec = e->list[i]};
		struct ost_zone_verify_ctx ctx = {.clock = &fc.clock, .anchors = anchors};
		struct ost_zone_verify_result res = pres;
		struct ost_zone_data *z = shared;
		int rc = parse_once ? prc : ost_zone_parse_text(origin, text, len, &pol, &z, &res);
		if (rc == 0) {
			rc = ost_zone_verify(z, &ctx, &pol, &res);
			assert_true(rc == 0 || rc == OST_EBOGUS);
			if (!parse_once)
				ost_zone_data_free(z);
		}
		if (!have_first) {
			first = res;
			have_first = true;
			continue;
		}
		/* Same verdict, same first error, same metadata. */
		assert_int_equal(res.verdict, first.verdict);
		assert_string_equal(res.reason, first.reason);
		assert_int_equal(res.line, first.line);
		assert_int_equal(res.info.serial, first.info.serial);
		assert_int_equal(res.info.zonemd, first.info.zonemd);
		assert_int_equal(res.info.records, first.info.records);
		assert_int_equal(res.info.rrsets, first.info.rrsets);
		assert_int_equal(res.info.bytes, first.info.bytes);
		if (first.verdict == OST_ZV_OK) {
			assert_int_equal(res.info.rrsig_horizon, first.info.rrsig_horizon);
			assert_int_equal(res.info.sigs_checked, first.info.sigs_checked);
		}
	}
	ost_zone_data_free(shared);
	*out = first;
	return first.verdict;
}

static enum ost_zone_verdict check_all(struct execs *e, const char *origin, const char *text,
				       size_t len, const ldns_rr_list *anchors, int64_t now,
				       struct ost_zone_verify_result *out)
{
	return check_all_x(e, origin, text, len, anchors, now, false, out);
}

/* The broken root copies: parsed serially, verified with every executor. */
static enum ost_zone_verdict check_root(struct execs *e, const char *text, size_t len,
					const ldns_rr_list *anchors, int64_t now,
					struct ost_zone_verify_result *out)
{
	return check_all_x(e, ".", text, len, anchors, now, true, out);
}

static void cfg_value(const char *cfg, const char *key, char *out, size_t len)
{
	const char *p = strstr(cfg, key);
	out[0] = 0;
	if (!p)
		return;
	p += strlen(key);
	size_t n = strcspn(p, "\r\n");
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p);
}

/* Every case directory of the Verisign suite (the 2021 root zone with its
 * anchors, so its 2,881 RRSIG checks run on every executor too). */
static void test_vectors_same_verdict(void **state)
{
	(void)state;
	if (!have_testdata())
		skip();
	struct execs e;
	execs_init(&e);
	ldns_rr_list *anchors = root_anchors();
	DIR *dir = opendir(tdata("zonemd"));
	assert_non_null(dir);
	size_t n_cases = 0;
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		char rel[1024], zonefile[256], origin[256], path[4096];
		if (de->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "zonemd/%s/config", de->d_name);
		char *cfg = read_file(tdata(rel), NULL);
		if (!cfg)
			continue; /* LICENSE.txt */
		cfg_value(cfg, "zonefile=", zonefile, sizeof(zonefile));
		cfg_value(cfg, "origin=", origin, sizeof(origin));
		free(cfg);
		if (origin[0] && origin[strlen(origin) - 1] != '.')
			strcat(origin, ".");
		snprintf(rel, sizeof(rel), "zonemd/%s/%s", de->d_name, zonefile);
		snprintf(path, sizeof(path), "%s", tdata(rel));
		size_t len = 0;
		char *text = read_file(path, &len);
		assert_non_null(text);
		bool is_root = strcmp(de->d_name, "44-root-zone") == 0;
		struct ost_zone_verify_result res;
		check_all(&e, origin, text, len, is_root ? anchors : NULL, ROOT_PINNED, &res);
		if (is_root)
			assert_int_equal(res.verdict, OST_ZV_OK);
		free(text);
		n_cases++;
	}
	closedir(dir);
	assert_true(n_cases >= 20);
	assert_true(e.reverse_runs > 0);
	ldns_rr_list_deep_free(anchors);
	execs_deinit(&e);
}

/* Offsets of the RRSIG lines of a zone file text. */
static size_t rrsig_lines(const char *text, size_t len, size_t *offs, size_t cap)
{
	size_t n = 0;
	for (size_t p = 0; p < len && n < cap;) {
		const char *nl = memchr(text + p, '\n', len - p);
		size_t end = nl ? (size_t)(nl - text) : len;
		const char *t = memmem(text + p, end - p, "\tRRSIG\t", 7);
		if (t)
			offs[n++] = p;
		p = end + 1;
	}
	return n;
}

/* Change one base64 character in the middle of the signature of the RRSIG
 * line at @p off (the last field of the line). */
static void corrupt_sig(char *text, size_t len, size_t off)
{
	const char *nl = memchr(text + off, '\n', len - off);
	size_t end = nl ? (size_t)(nl - text) : len;
	size_t start = end;
	while (start > off && text[start - 1] != ' ' && text[start - 1] != '\t')
		start--;
	size_t mid = start + (end - start) / 2;
	text[mid] = text[mid] == 'A' ? 'B' : 'A';
}

static void test_root_broken_same_first_error(void **state)
{
	(void)state;
	if (!have_testdata())
		skip();
	struct execs e;
	execs_init(&e);
	ldns_rr_list *anchors = root_anchors();
	size_t len = 0;
	char *orig = read_file(tdata("zonemd/44-root-zone/root.zone.hashed"), &len);
	assert_non_null(orig);
	static size_t offs[8192];
	size_t n = rrsig_lines(orig, len, offs, 8192);
	assert_true(n > 1000);
	char *text = malloc(len + 1);
	assert_non_null(text);
	struct ost_zone_verify_result res, res2;

	/* One bad signature anywhere is found, whatever the executor. The
	 * file's first RRSIGs are at the apex (DNSKEY excluded: that one makes
	 * the version unchained, also the same everywhere). */
	const size_t picks[] = {1, n / 2, n - 1};
	for (size_t i = 0; i < sizeof(picks) / sizeof(picks[0]); i++) {
		memcpy(text, orig, len + 1);
		corrupt_sig(text, len, offs[picks[i]]);
		enum ost_zone_verdict v = check_root(&e, text, len, anchors, ROOT_PINNED, &res);
		assert_true(v == OST_ZV_BOGUS_SIG || v == OST_ZV_DNSKEY_NOT_CHAINED ||
			    v == OST_ZV_ZONEMD_MISMATCH);
		if (v == OST_ZV_ZONEMD_MISMATCH)
			fail_msg("bad RRSIG %zu not found by the DNSSEC check", picks[i]);
	}

	/* Two bad signatures: the earlier one in canonical order is reported,
	 * by every executor, and it is the one reported when it is alone. */
	memcpy(text, orig, len + 1);
	corrupt_sig(text, len, offs[n / 4]);
	check_root(&e, text, len, anchors, ROOT_PINNED, &res2);
	assert_int_equal(res2.verdict, OST_ZV_BOGUS_SIG);
	corrupt_sig(text, len, offs[(3 * n) / 4]);
	check_root(&e, text, len, anchors, ROOT_PINNED, &res);
	assert_int_equal(res.verdict, OST_ZV_BOGUS_SIG);
	assert_string_equal(res.reason, res2.reason);

	/* An RRSIG removed: MISSING_SIG for that RRset, everywhere. */
	memcpy(text, orig, len + 1);
	size_t at = offs[n / 2];
	const char *nl = memchr(text + at, '\n', len - at);
	assert_non_null(nl);
	size_t cut = (size_t)(nl - (text + at)) + 1;
	memmove(text + at, text + at + cut, len + 1 - at - cut);
	check_root(&e, text, len - cut, anchors, ROOT_PINNED, &res);
	assert_int_equal(res.verdict, OST_ZV_MISSING_SIG);

	/* Past the signatures' expiration: EXPIRED_SIG, same RRset named. */
	check_root(&e, orig, len, anchors, ROOT_PINNED + 30 * 86400, &res);
	assert_int_equal(res.verdict, OST_ZV_EXPIRED_SIG);

	free(text);
	free(orig);
	ldns_rr_list_deep_free(anchors);
	execs_deinit(&e);
}

/* A zone text that exercises what the chunked parse must get right: $ORIGIN
 * (absolute and relative to nothing, as ldns applies it) and $TTL changing
 * all along, records without TTL, owners inherited by lines that start with
 * a blank, multi-line records in parentheses, comments and quoted strings
 * holding parentheses and semicolons, blank and comment-only lines. */
static char *tricky_zone(size_t *len_out)
{
	size_t cap = 4u << 20, len = 0;
	char *t = malloc(cap);
	assert_non_null(t);
#define ADD(...) (len += (size_t)snprintf(t + len, cap - len, __VA_ARGS__))
	ADD("$ORIGIN example.\n$TTL 300\n");
	ADD("@ IN SOA ns.example. host.example. ( 7 ; serial (\n 3600 900 604800 60 )\n");
	ADD("@ NS ns\nns A 192.0.2.1\n");
	for (unsigned i = 0; i < 12000; i++) {
		if (i % 997 == 5)
			ADD("$TTL %u\n", 60 + i);
		if (i % 1500 == 7)
			ADD("$ORIGIN sub%u.example.\nx%u A 192.0.2.2\n$ORIGIN example.\n", i, i);
		switch (i % 6) {
		case 0:
			ADD("n%u A 198.51.100.%u\n\tTXT \"semi ; (paren\" \"q\\\"uote\"\n", i,
			    i % 250);
			break;
		case 1:
			ADD("m%u 120 IN TXT ( \"a (\"\n\t\"b ; c\" ) ; trailing ( comment\n", i);
			break;
		case 2:
			ADD("; a comment line ( with \" odd things\n\n");
			ADD("p%u.example. MX 10 mx%u\n", i, i);
			break;
		case 3:
			ADD("q%u IN AAAA 2001:db8::%x\n \t IN A 203.0.113.%u\n", i, i, i % 250);
			break;
		case 4:
			ADD("r%u CNAME target%u.example.\n", i, i);
			break;
		default:
			ADD("s%u SRV ( 0 1\n 80 srv%u )\n", i, i);
			break;
		}
	}
#undef ADD
	*len_out = len;
	return t;
}

/* The RFC 8976 SIMPLE SHA-384 digest of @p rrs, computed here with ldns and
 * OpenSSL only (canonical form, canonical order, duplicates once), so the
 * zone code's own digest is checked against something else. */
static void ldns_digest(ldns_rr_list *rrs, uint8_t out[48])
{
	ldns_rr_list *c = ldns_rr_list_clone(rrs);
	assert_non_null(c);
	for (size_t i = 0; i < ldns_rr_list_rr_count(c); i++)
		ldns_rr2canonical(ldns_rr_list_rr(c, i));
	ldns_rr_list_sort(c);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_true(EVP_DigestInit_ex(md, EVP_sha384(), NULL));
	ldns_buffer *b = ldns_buffer_new(4096);
	ldns_rr *prev = NULL;
	for (size_t i = 0; i < ldns_rr_list_rr_count(c); i++) {
		ldns_rr *rr = ldns_rr_list_rr(c, i);
		if (prev && ldns_rr_compare(prev, rr) == 0)
			continue;
		prev = rr;
		ldns_buffer_clear(b);
		assert_int_equal(ldns_rr2buffer_wire_canonical(b, rr, LDNS_SECTION_ANSWER),
				 LDNS_STATUS_OK);
		assert_true(EVP_DigestUpdate(md, ldns_buffer_begin(b), ldns_buffer_position(b)));
	}
	unsigned int n = 0;
	assert_true(EVP_DigestFinal_ex(md, out, &n));
	assert_int_equal(n, 48);
	EVP_MD_CTX_free(md);
	ldns_buffer_free(b);
	ldns_rr_list_deep_free(c);
}

static void test_chunked_parse_same_records(void **state)
{
	(void)state;
	struct execs e;
	execs_init(&e);
	size_t len = 0;
	char *text = tricky_zone(&len);

	/* The expected records: ldns reading the text serially, as the zone code
	 * does (3600 s default TTL), then a ZONEMD over them. */
	ldns_rr_list *rrs = ldns_rr_list_new();
	FILE *fp = fmemopen(text, len, "r");
	assert_non_null(fp);
	uint32_t ttl = LDNS_DEFAULT_TTL;
	ldns_rdf *origin = ldns_dname_new_frm_str("example."), *prev = ldns_rdf_clone(origin);
	int line = 0;
	for (;;) {
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);
		if (st == LDNS_STATUS_OK)
			ldns_rr_list_push_rr(rrs, rr);
		else if (feof(fp))
			break;
		else
			assert_true(st == LDNS_STATUS_SYNTAX_EMPTY ||
				    st == LDNS_STATUS_SYNTAX_TTL ||
				    st == LDNS_STATUS_SYNTAX_ORIGIN);
	}
	fclose(fp);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	assert_true(ldns_rr_list_rr_count(rrs) > 12000);
	uint8_t d[48];
	ldns_digest(rrs, d);
	ldns_rr_list_deep_free(rrs);
	char *full = malloc(len + 256);
	assert_non_null(full);
	memcpy(full, text, len);
	size_t flen = len + (size_t)sprintf(full + len, "$ORIGIN example.\n@ 300 IN ZONEMD 7 1 1 ");
	for (size_t i = 0; i < 48; i++)
		flen += (size_t)sprintf(full + flen, "%02x", d[i]);
	flen += (size_t)sprintf(full + flen, "\n");

	/* Every executor: ZONEMD verified (same records as ldns' serial read),
	 * and the 4-wide ones really parsed in chunks. */
	struct ost_zone_verify_result res;
	size_t before = e.reverse_runs;
	check_all(&e, "example.", full, flen, NULL, ROOT_PINNED, &res);
	assert_int_equal(res.verdict, OST_ZV_OK);
	assert_int_equal(res.info.zonemd, OST_ZONEMD_VERIFIED);
	assert_true(e.reverse_runs > before);
	for (size_t i = 1; i < 4; i++) {
		struct ost_zone_policy pol = {.exec = e.list[i]};
		struct ost_zone_data *z = NULL;
		assert_int_equal(ost_zone_parse_text("example.", full, flen, &pol, &z, &res), 0);
		assert_true(res.info.parse_chunks >= 2);
		ost_zone_data_free(z);
	}

	/* A syntax error late in the text: the same line and reason everywhere
	 * (the chunked parse falls back to the serial one). */
	char *bad = strstr(full + (flen * 3) / 4, "\nr");
	assert_non_null(bad);
	memcpy(bad + 1, "r  A 999.1.1.1 ", 15);
	check_all(&e, "example.", full, flen, NULL, ROOT_PINNED, &res);
	assert_int_equal(res.verdict, OST_ZV_PARSE_ERROR);
	int want_line = 1; /* the bad record's line: 1 + newlines before it */
	for (const char *p = full; p <= bad; p++)
		want_line += *p == '\n';
	assert_int_equal(res.line, want_line);

	free(full);
	free(text);
	execs_deinit(&e);
}

/* The pool runs every task exactly once, also for more tasks than threads
 * and for zero or one task, and can be reused. */
static void count_task(void *arg, size_t t)
{
	unsigned *hits = arg;
	__atomic_add_fetch(&hits[t], 1, __ATOMIC_RELAXED);
}

static void test_pool_runs_each_task_once(void **state)
{
	(void)state;
	struct ost_uv_exec *p;
	assert_int_equal(ost_uv_exec_new(3, &p), 0);
	const struct ost_exec *x = ost_uv_exec_get(p);
	static unsigned hits[5000];
	const size_t sizes[] = {0, 1, 2, 7, 5000, 3};
	for (size_t r = 0; r < sizeof(sizes) / sizeof(sizes[0]); r++) {
		memset(hits, 0, sizeof(hits));
		ost_exec_run(x, count_task, hits, sizes[r]);
		for (size_t i = 0; i < 5000; i++)
			assert_int_equal(hits[i], i < sizes[r] ? 1 : 0);
	}
	ost_uv_exec_free(p);
}

const struct CMUnitTest exec_tests[] = {
	cmocka_unit_test(test_pool_runs_each_task_once),
	cmocka_unit_test(test_vectors_same_verdict),
	cmocka_unit_test(test_root_broken_same_first_error),
	cmocka_unit_test(test_chunked_parse_same_records),
};
const size_t exec_tests_count = sizeof(exec_tests) / sizeof(exec_tests[0]);
