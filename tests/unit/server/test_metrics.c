/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the exposition writer of server/metrics.c. A small parser
 * of the Prometheus text format 0.0.4 (below) reads what the writer made and
 * fails on anything a scraper would refuse or misread: a line that is
 * neither `# HELP`, `# TYPE` nor `name{labels} value`, a family without HELP
 * and TYPE or named twice, samples of a family apart from it, a series
 * twice, bad label syntax or escapes, non-numeric values, names without the
 * ostrov_ prefix, histogram buckets that are not cumulative. Then the values
 * are checked against the snapshot they came from, with and without the
 * failover machine and a running drill (on the fake clock of tests/support).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ostrov/config.h"
#include "ostrov/drill.h"
#include "ostrov/failover.h"

#include "metrics.h"
#include "ost_test.h"

/* ---- a parser of the text format ------------------------------------------------------ */

#define MAX_FAMS   256
#define MAX_SERIES 2048

struct fam {
	char name[128];
	char type[16];
	bool has_type;
	size_t n_samples;
};

struct expo {
	struct fam fams[MAX_FAMS];
	size_t nf;
	char keys[MAX_SERIES][320]; /* "name{labels}" as written */
	double vals[MAX_SERIES];
	size_t ns;
};

static bool is_name_char(char c, bool first)
{
	return isalpha((unsigned char)c) || c == '_' || c == ':' ||
	       (!first && isdigit((unsigned char)c));
}

/* @return the length of the metric name at @p s (0 when there is none) */
static size_t name_len(const char *s)
{
	size_t n = 0;
	while (s[n] && is_name_char(s[n], n == 0))
		n++;
	return n;
}

static void parse_sample(struct expo *e, const char *line, size_t len)
{
	assert_true(e->nf > 0);
	struct fam *f = &e->fams[e->nf - 1];
	if (!f->has_type)
		fail_msg("sample before # TYPE: %.*s", (int)len, line);
	size_t n = name_len(line);
	assert_true(n > 0);
	char name[128];
	assert_true(n < sizeof(name));
	memcpy(name, line, n);
	name[n] = '\0';
	bool ok = strcmp(name, f->name) == 0;
	if (!ok && strcmp(f->type, "histogram") == 0) {
		size_t fl = strlen(f->name);
		ok = strncmp(name, f->name, fl) == 0 &&
		     (strcmp(name + fl, "_bucket") == 0 || strcmp(name + fl, "_sum") == 0 ||
		      strcmp(name + fl, "_count") == 0);
	}
	if (!ok)
		fail_msg("sample %s outside its family (current family %s)", name, f->name);
	size_t i = n;
	if (line[i] == '{') {
		char seen[16][64];
		size_t n_seen = 0;
		i++;
		for (;;) {
			size_t ln = 0;
			while (i + ln < len && is_name_char(line[i + ln], ln == 0) &&
			       line[i + ln] != ':')
				ln++;
			if (ln == 0 || ln >= 64 || line[i + ln] != '=' || line[i + ln + 1] != '"')
				fail_msg("bad label in: %.*s", (int)len, line);
			for (size_t k = 0; k < n_seen; k++)
				if (strlen(seen[k]) == ln && memcmp(seen[k], line + i, ln) == 0)
					fail_msg("label twice in: %.*s", (int)len, line);
			assert_true(n_seen < 16);
			memcpy(seen[n_seen], line + i, ln);
			seen[n_seen++][ln] = '\0';
			i += ln + 2;
			while (i < len && line[i] != '"') {
				if (line[i] == '\\') {
					if (i + 1 >= len || !strchr("\\\"n", line[i + 1]))
						fail_msg("bad escape in: %.*s", (int)len, line);
					i++;
				}
				i++;
			}
			if (i >= len)
				fail_msg("unterminated label value: %.*s", (int)len, line);
			i++;
			if (line[i] == ',') {
				i++;
				continue;
			}
			if (line[i] != '}')
				fail_msg("bad label list: %.*s", (int)len, line);
			i++;
			break;
		}
	}
	if (line[i] != ' ')
		fail_msg("no space before the value: %.*s", (int)len, line);
	size_t klen = i;
	const char *v = line + i + 1;
	size_t vlen = len - i - 1;
	char vbuf[64];
	assert_true(vlen > 0 && vlen < sizeof(vbuf));
	memcpy(vbuf, v, vlen);
	vbuf[vlen] = '\0';
	double val;
	if (strcmp(vbuf, "+Inf") == 0 || strcmp(vbuf, "-Inf") == 0 || strcmp(vbuf, "NaN") == 0) {
		val = 0;
	} else {
		char *end;
		val = strtod(vbuf, &end);
		if (*end != '\0' || isspace((unsigned char)vbuf[0]))
			fail_msg("bad value '%s' in: %.*s", vbuf, (int)len, line);
	}
	assert_true(klen < sizeof(e->keys[0]));
	for (size_t k = 0; k < e->ns; k++)
		if (strlen(e->keys[k]) == klen && memcmp(e->keys[k], line, klen) == 0)
			fail_msg("series twice: %.*s", (int)klen, line);
	assert_true(e->ns < MAX_SERIES);
	memcpy(e->keys[e->ns], line, klen);
	e->keys[e->ns][klen] = '\0';
	e->vals[e->ns++] = val;
	f->n_samples++;
}

static void expo_parse(const char *text, struct expo *e)
{
	memset(e, 0, sizeof(*e));
	assert_non_null(text);
	size_t tl = strlen(text);
	assert_true(tl > 0 && text[tl - 1] == '\n');
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = (size_t)(nl - p);
		assert_true(len > 0);
		if (strncmp(p, "# HELP ", 7) == 0) {
			const char *name = p + 7;
			size_t n = name_len(name);
			if (n == 0 || name[n] != ' ' || name + n + 1 >= nl)
				fail_msg("bad HELP line: %.*s", (int)len, p);
			if (strncmp(name, "ostrov_", 7) != 0)
				fail_msg("family without the ostrov_ prefix: %.*s", (int)n, name);
			for (size_t k = 0; k < e->nf; k++)
				if (strlen(e->fams[k].name) == n &&
				    !memcmp(e->fams[k].name, name, n))
					fail_msg("family %.*s twice", (int)n, name);
			assert_true(e->nf < MAX_FAMS && n < sizeof(e->fams[0].name));
			memcpy(e->fams[e->nf].name, name, n);
			e->nf++;
		} else if (strncmp(p, "# TYPE ", 7) == 0) {
			assert_true(e->nf > 0);
			struct fam *f = &e->fams[e->nf - 1];
			const char *name = p + 7;
			size_t n = name_len(name);
			if (f->has_type || f->n_samples || strlen(f->name) != n ||
			    memcmp(f->name, name, n) != 0 || name[n] != ' ')
				fail_msg("TYPE not right after its HELP: %.*s", (int)len, p);
			size_t tlen = len - 7 - n - 1;
			assert_true(tlen < sizeof(f->type));
			memcpy(f->type, name + n + 1, tlen);
			if (strcmp(f->type, "counter") && strcmp(f->type, "gauge") &&
			    strcmp(f->type, "histogram"))
				fail_msg("bad type %s", f->type);
			f->has_type = true;
		} else if (*p == '#') {
			fail_msg("stray comment: %.*s", (int)len, p);
		} else {
			parse_sample(e, p, len);
		}
		p = nl + 1;
	}
	for (size_t k = 0; k < e->nf; k++)
		if (!e->fams[k].has_type)
			fail_msg("family %s without TYPE", e->fams[k].name);
}

static bool expo_has(const struct expo *e, const char *key, double *v)
{
	for (size_t k = 0; k < e->ns; k++)
		if (strcmp(e->keys[k], key) == 0) {
			if (v)
				*v = e->vals[k];
			return true;
		}
	return false;
}

static double expo_get(const struct expo *e, const char *key)
{
	double v = 0;
	if (!expo_has(e, key, &v))
		fail_msg("no series %s", key);
	return v;
}

static const struct fam *expo_fam(const struct expo *e, const char *name)
{
	for (size_t k = 0; k < e->nf; k++)
		if (strcmp(e->fams[k].name, name) == 0)
			return &e->fams[k];
	return NULL;
}

/* Buckets of one histogram series are cumulative and end in +Inf == _count. */
static void check_histogram(const struct expo *e, const char *fam, const char *labels)
{
	char prefix[256];
	snprintf(prefix, sizeof(prefix), "%s_bucket{%s,le=", fam, labels);
	double last = -1;
	int n = 0;
	bool has_inf = false;
	for (size_t k = 0; k < e->ns; k++) {
		if (strncmp(e->keys[k], prefix, strlen(prefix)) != 0)
			continue;
		assert_false(has_inf); /* +Inf is the last bucket */
		assert_true(e->vals[k] >= last);
		last = e->vals[k];
		n++;
		has_inf = strstr(e->keys[k], "le=\"+Inf\"") != NULL;
	}
	assert_true(has_inf);
	assert_int_equal(n, OST_LAT_BUCKETS + 1);
	char key[256];
	snprintf(key, sizeof(key), "%s_count{%s}", fam, labels);
	assert_true(expo_get(e, key) == last);
}

/* ---- the tests ------------------------------------------------------------------------ */

static void fill_snapshot(struct ost_server_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->n_workers = 2;
	struct ost_worker_counters *c = &s->sum;
	c->udp_queries = 70;
	c->tcp_queries = 3;
	c->hits = 40;
	c->misses = 33;
	c->inflight = 2;
	c->rcode[0] = 60;
	c->rcode[3] = 9;
	c->rcode[2] = 4;
	c->rcode[13] = 1; /* unassigned: shown only because it is not zero */
	c->rcode[16] = 5; /* BADVERS */
	c->ede[3] = 4;
	c->ede[22] = 1;
	c->ede[OST_EDE_SLOTS - 1] = 2;
	c->by_source[OST_DRILL_SRC_CACHE] = 40;
	c->by_source[OST_DRILL_SRC_FOREIGN] = 25;
	c->by_source[OST_DRILL_SRC_STALE] = 4;
	c->sec[OST_SEC_SECURE] = 50;
	c->sec[OST_SEC_BOGUS] = 1;
	c->latency[OST_DRILL_SRC_CACHE][0] = 30;
	c->latency[OST_DRILL_SRC_CACHE][2] = 10;
	c->latency_sum_ns[OST_DRILL_SRC_CACHE] = 600000;
	c->latency[OST_DRILL_SRC_FOREIGN][10] = 20;
	c->latency[OST_DRILL_SRC_FOREIGN][OST_LAT_BUCKETS] = 5;
	c->latency_sum_ns[OST_DRILL_SRC_FOREIGN] = 40000000000ull;
	c->rs.queries_sent = 100;
	c->rs.queries_tcp = 7;
	c->rs.timeouts = 6;
	c->rs.aggressive_nsec = 11;
	c->rs.mirror_answers = 12;
	c->rs.mirror_fast = 13;
	s->has_cache = true;
	s->cache.entries = 1234;
	s->cache.hits = 500;
	s->cache.misses = 77;
	s->cache.evictions = 8;
	s->cache.bytes_used = 1 << 20;
}

static char *render(const struct ost_metrics_sources *src)
{
	struct ost_buf b = {0};
	assert_int_equal(ost_metrics_write(&b, src), 0);
	assert_false(b.has_oom);
	return b.s; /* taken over */
}

static void test_snapshot_only(void **state)
{
	(void)state;
	struct ost_server_snapshot snap;
	fill_snapshot(&snap);
	struct ost_metrics_sources src = {.snap = &snap, .tcp_connections = 3};
	char *text = render(&src);
	struct expo *e = malloc(sizeof(*e));
	assert_non_null(e);
	expo_parse(text, e);

	assert_true(expo_get(e, "ostrov_workers") == 2);
	assert_true(expo_get(e, "ostrov_queries_total{transport=\"udp\"}") == 70);
	assert_true(expo_get(e, "ostrov_queries_total{transport=\"tcp\"}") == 3);
	assert_true(expo_get(e, "ostrov_responses_total{rcode=\"NOERROR\"}") == 60);
	assert_true(expo_get(e, "ostrov_responses_total{rcode=\"NXDOMAIN\"}") == 9);
	assert_true(expo_get(e, "ostrov_responses_total{rcode=\"SERVFAIL\"}") == 4);
	assert_true(expo_get(e, "ostrov_responses_total{rcode=\"REFUSED\"}") == 0);
	assert_true(expo_get(e, "ostrov_responses_total{rcode=\"RCODE13\"}") == 1);
	assert_false(expo_has(e, "ostrov_responses_total{rcode=\"RCODE12\"}", NULL));
	assert_true(expo_get(e, "ostrov_responses_total{rcode=\"BADVERS\"}") == 5);
	assert_true(expo_get(e, "ostrov_ede_total{code=\"3\"}") == 4);
	assert_true(expo_get(e, "ostrov_ede_total{code=\"22\"}") == 1);
	assert_true(expo_get(e, "ostrov_ede_total{code=\"other\"}") == 2);
	assert_false(expo_has(e, "ostrov_ede_total{code=\"0\"}", NULL));
	assert_true(expo_get(e, "ostrov_answers_total{source=\"cache\"}") == 40);
	assert_true(expo_get(e, "ostrov_answers_total{source=\"foreign\"}") == 25);
	assert_true(expo_get(e, "ostrov_answers_total{source=\"stale\"}") == 4);
	assert_true(expo_get(e, "ostrov_answers_total{source=\"national\"}") == 0);
	assert_true(expo_get(e, "ostrov_validation_total{result=\"secure\"}") == 50);
	assert_true(expo_get(e, "ostrov_validation_total{result=\"bogus\"}") == 1);
	assert_true(expo_get(e, "ostrov_fastpath_hits_total") == 40);
	assert_true(expo_get(e, "ostrov_fastpath_misses_total") == 33);
	assert_true(expo_get(e, "ostrov_inflight_requests") == 2);
	assert_true(expo_get(e, "ostrov_upstream_queries_total{transport=\"udp\"}") == 93);
	assert_true(expo_get(e, "ostrov_upstream_queries_total{transport=\"tcp\"}") == 7);
	assert_true(expo_get(e, "ostrov_upstream_timeouts_total") == 6);
	assert_true(expo_get(e, "ostrov_aggressive_nsec_total") == 11);
	assert_true(expo_get(e, "ostrov_mirror_answers_total") == 12);
	assert_true(expo_get(e, "ostrov_mirror_fast_answers_total") == 13);
	assert_true(expo_get(e, "ostrov_tcp_connections") == 3);
	assert_true(expo_get(e, "ostrov_cache_entries") == 1234);
	assert_true(expo_get(e, "ostrov_cache_lookups_total{result=\"hit\"}") == 500);
	assert_true(expo_get(e, "ostrov_cache_lookups_total{result=\"miss\"}") == 77);
	assert_true(expo_get(e, "ostrov_cache_evictions_total") == 8);
	assert_true(expo_get(e, "ostrov_cache_bytes_used") == 1 << 20);

	/* The histogram: per source, cumulative, le in seconds. */
	const struct fam *h = expo_fam(e, "ostrov_client_latency_seconds");
	assert_non_null(h);
	assert_string_equal(h->type, "histogram");
	check_histogram(e, "ostrov_client_latency_seconds", "source=\"cache\"");
	check_histogram(e, "ostrov_client_latency_seconds", "source=\"foreign\"");
	check_histogram(e, "ostrov_client_latency_seconds", "source=\"mirror\"");
	assert_true(
		expo_get(e,
			 "ostrov_client_latency_seconds_bucket{source=\"cache\",le=\"1e-05\"}") ==
		30);
	assert_true(
		expo_get(e,
			 "ostrov_client_latency_seconds_bucket{source=\"cache\",le=\"5e-05\"}") ==
		40);
	assert_true(expo_get(e, "ostrov_client_latency_seconds_count{source=\"foreign\"}") == 25);
	assert_true(expo_get(e, "ostrov_client_latency_seconds_sum{source=\"cache\"}") == 0.0006);
	assert_true(
		expo_get(e, "ostrov_client_latency_seconds_bucket{source=\"foreign\",le=\"5\"}") ==
		20);

	/* Types where the name does not tell. */
	assert_string_equal(expo_fam(e, "ostrov_queries_total")->type, "counter");
	assert_string_equal(expo_fam(e, "ostrov_cache_entries")->type, "gauge");
	/* Without the machine, drills and a mirror, their families are absent. */
	assert_null(expo_fam(e, "ostrov_resolver_state"));
	assert_null(expo_fam(e, "ostrov_drill_running"));
	assert_null(expo_fam(e, "ostrov_mirror_usable"));

	/* Without a cache, no cache families. */
	snap.has_cache = false;
	char *text2 = render(&src);
	expo_parse(text2, e);
	assert_null(expo_fam(e, "ostrov_cache_entries"));
	assert_non_null(expo_fam(e, "ostrov_queries_total"));
	free(text2);
	free(text);
	free(e);
}

static void test_failover_and_drill(void **state)
{
	(void)state;
	struct fake_clock clk;
	struct fake_net net;
	fake_clock_init(&clk, 1790000000);
	fake_net_init(&net, &clk);
	struct ost_fo *fo = NULL;
	assert_int_equal(ost_fo_new(NULL, &clk.clock, &fo), 0);
	struct ost_drill_config dcfg;
	ost_drill_config_default(&dcfg);
	struct ost_drill *d = NULL;
	assert_int_equal(ost_drill_new(&dcfg, &clk.clock, &net.tp, fo, 7, &d), 0);

	struct ost_server_snapshot snap;
	fill_snapshot(&snap);
	struct ost_metrics_sources src = {.snap = &snap, .fo = fo, .drill = d};
	struct expo *e = malloc(sizeof(*e));
	assert_non_null(e);

	/* Before any drill: the machine's families, no drill families. */
	char *text = render(&src);
	expo_parse(text, e);
	free(text);
	struct ost_fo_status st;
	ost_fo_status(fo, &st);
	char key[256];
	double ones = 0;
	for (int s = 0; s < OST_FO_STATE_COUNT; s++) {
		snprintf(key, sizeof(key), "ostrov_resolver_state{state=\"%s\"}",
			 ost_fo_state_str((enum ost_fo_state)s));
		double v = expo_get(e, key);
		assert_true(v == (s == (int)st.state ? 1 : 0));
		ones += v;
	}
	assert_true(ones == 1);
	assert_string_equal(expo_fam(e, "ostrov_resolver_state_transitions_total")->type,
			    "counter");
	assert_null(expo_fam(e, "ostrov_drill_running"));

	/* A running drill: its families carry drill="PROFILE" and drill_id. */
	char id[64];
	assert_int_equal(ost_drill_start(d, OST_DRILL_FOREIGN_CUT, 60, "op", id, sizeof(id)), 0);
	ost_drill_record_answer(d, OST_FO_NAME_FOREIGN, OST_DRILL_SRC_STALE, 0, 3, 900);
	ost_drill_record_answer(d, OST_FO_NAME_NATIONAL, OST_DRILL_SRC_NATIONAL, 0, -1, 900);
	ost_drill_record_answer(d, OST_FO_NAME_FOREIGN, OST_DRILL_SRC_LOCAL, 2, 22, 900);
	fake_clock_advance(&clk, 1500);
	text = render(&src);
	expo_parse(text, e);
	free(text);
	char lb[160];
	snprintf(lb, sizeof(lb), "drill=\"foreign-cut\",drill_id=\"%s\"", id);
	snprintf(key, sizeof(key), "ostrov_drill_running{%s}", lb);
	assert_true(expo_get(e, key) == 1);
	snprintf(key, sizeof(key), "ostrov_drill_answers_total{%s,names=\"foreign\"}", lb);
	assert_true(expo_get(e, key) == 2);
	snprintf(key, sizeof(key), "ostrov_drill_answered_total{%s,names=\"foreign\"}", lb);
	assert_true(expo_get(e, key) == 1);
	snprintf(key, sizeof(key), "ostrov_drill_answers_by_source_total{%s,source=\"stale\"}", lb);
	assert_true(expo_get(e, key) == 1);
	snprintf(key, sizeof(key), "ostrov_drill_servfail_total{%s,ede=\"22\"}", lb);
	assert_true(expo_get(e, key) == 1);
	snprintf(key, sizeof(key), "ostrov_drill_duration_seconds{%s}", lb);
	assert_true(expo_get(e, key) >= 1.5);

	/* Stopped: still shown, running 0. */
	assert_int_equal(ost_drill_stop(d, "op"), 0);
	text = render(&src);
	expo_parse(text, e);
	free(text);
	snprintf(key, sizeof(key), "ostrov_drill_running{%s}", lb);
	assert_true(expo_get(e, key) == 0);

	free(e);
	ost_drill_free(d);
	ost_fo_free(fo);
	fake_net_deinit(&net);
	fake_clock_deinit(&clk);
}

/* ---- the configuration keys ------------------------------------------------------------ */

/* Load @p text from a temporary file; @return ost_config_load()'s result. */
static int load(const char *text, struct ost_config *cfg, char *err, size_t errlen)
{
	char path[] = "/tmp/ost_metrics_cfg_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	int ret = ost_config_load(cfg, path, err, errlen);
	unlink(path);
	return ret;
}

static bool allowed(const struct ost_acl *acl, const char *a)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	inet_pton(AF_INET, a, &sin.sin_addr);
	return ost_acl_match(acl, (const struct sockaddr *)&sin);
}

static void test_config_keys(void **state)
{
	(void)state;
	struct ost_config cfg;
	char err[1024];
	/* Absent: no endpoint; the allow-list defaults to loopback. */
	assert_int_equal(load("server:\n  workers: 1\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.server.metrics_listen.len, 0);
	assert_true(allowed(&cfg.server.metrics_allow, "127.0.0.1"));
	assert_true(allowed(&cfg.server.metrics_allow, "127.9.9.9"));
	assert_false(allowed(&cfg.server.metrics_allow, "10.0.0.1"));
	ost_config_deinit(&cfg);

	assert_int_equal(load("server:\n  metrics-listen: \"127.0.0.1@9200\"\n"
			      "  metrics-allow: [\"127.0.0.1/32\", \"10.1.0.0/16\"]\n",
			      &cfg, err, sizeof(err)),
			 0);
	assert_string_equal(cfg.server.metrics_listen.text, "127.0.0.1@9200");
	assert_true(cfg.server.metrics_listen.len > 0);
	assert_true(allowed(&cfg.server.metrics_allow, "127.0.0.1"));
	assert_false(allowed(&cfg.server.metrics_allow, "127.0.0.2"));
	assert_true(allowed(&cfg.server.metrics_allow, "10.1.2.3"));
	ost_config_deinit(&cfg);

	/* Without a port: 9153. */
	assert_int_equal(load("server:\n  metrics-listen: \"::1\"\n", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.server.metrics_listen.text, "::1@9153");
	ost_config_deinit(&cfg);

	/* Bad values: OST_ECONFIG with FILE:LINE and the key. */
	static const struct {
		const char *text;
		const char *needle;
	} bad[] = {
		{"server:\n  workers: 1\n  metrics-listen: \"127.0.0.1@99999\"\n", "99999"},
		{"server:\n  metrics-listen: \"localhost@9153\"\n", "localhost"},
		{"server:\n  metrics-listen: [\"127.0.0.1@9153\"]\n", "single value"},
		{"server:\n  metrics-listen: \"\"\n", "bad address"},
		{"server:\n  metrics-allow: [\"127.0.0.1/33\"]\n", "127.0.0.1/33"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = load(bad[i].text, &cfg, err, sizeof(err));
		ost_config_deinit(&cfg);
		if (ret != OST_ECONFIG || !strstr(err, bad[i].needle) ||
		    !strstr(err, "server.metrics-"))
			fail_msg("case %zu: ret %d, message \"%s\"", i, ret, err);
		const char *colon = strstr(err, "ost_metrics_cfg_");
		assert_non_null(colon);
		colon = strchr(colon, ':');
		assert_non_null(colon);
		assert_true(colon[1] >= '1' && colon[1] <= '9'); /* FILE:LINE: */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_only),
		cmocka_unit_test(test_failover_and_drill),
		cmocka_unit_test(test_config_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
