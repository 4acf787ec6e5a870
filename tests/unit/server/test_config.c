/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for server/config.c: a complete valid file with every key of
 * the TEAM.md contract, each class of error (unknown key or section, bad
 * address, CIDR, size, number, boolean, missing file, empty file, not YAML,
 * wrong node type) with the FILE:LINE and key it must name, and the address,
 * prefix and ACL helpers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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
#include "ostrov/resolver.h"

#include "engine.h"

static char dir[] = "/tmp/ost_cfg_XXXXXX";
static char hints[256], anchors[256];

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(hints, sizeof(hints), "%s/root.hints", dir);
	snprintf(anchors, sizeof(anchors), "%s/ta.ds", dir);
	FILE *f = fopen(hints, "w");
	if (!f)
		return -1;
	fputs(".\t3600000\tNS\ta.root.lab.\na.root.lab.\t3600000\tA\t127.53.0.1\n", f);
	fclose(f);
	f = fopen(anchors, "w");
	if (!f)
		return -1;
	fputs(". IN DS 20326 8 2 "
	      "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n",
	      f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Write @text to a fresh file in the test directory; @path receives its name. */
static void write_cfg(char *path, size_t cap, const char *name, const char *text)
{
	snprintf(path, cap, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Load @text and expect failure whose message starts with FILE:LINE: and contains @needles. */
static void expect_error(const char *text, int line, const char *needle1, const char *needle2)
{
	char path[300], err[1024], prefix[320];
	struct ost_config cfg;
	write_cfg(path, sizeof(path), "bad.yaml", text);
	int ret = ost_config_load(&cfg, path, err, sizeof(err));
	ost_config_deinit(&cfg);
	if (ret != OST_ECONFIG)
		fail_msg("expected OST_ECONFIG, got %d for:\n%s", ret, text);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("message \"%s\" does not start with \"%s\"", err, prefix);
	if (needle1 && !strstr(err, needle1))
		fail_msg("message \"%s\" lacks \"%s\"", err, needle1);
	if (needle2 && !strstr(err, needle2))
		fail_msg("message \"%s\" lacks \"%s\"", err, needle2);
}

static void test_full_config(void **state)
{
	(void)state;
	char text[2048], path[300], err[1024];
	snprintf(text, sizeof(text),
		 "# the TEAM.md example, with lab paths\n"
		 "server:\n"
		 "  listen: [\"127.0.0.1@5300\", \"::1@5300\", \"127.0.0.2\"]\n"
		 "  workers: 2\n"
		 "  log-level: debug\n"
		 "  tcp-idle-timeout: 10000\n"
		 "  tcp-max-connections: 1024\n"
		 "  udp-gso: no\n"
		 "  control-socket: /run/ostrov/control.sock\n"
		 "access:\n"
		 "  allow: [\"127.0.0.0/8\", \"::1/128\", \"10.1.2.3\"]\n"
		 "  deny-action: drop\n"
		 "resolver:\n"
		 "  root-hints-file: %s\n"
		 "  trust-anchor-file: ta.ds\n"
		 "  upstream-allow:\n"
		 "    - 127.53.0.0/16\n"
		 "  upstream-port: 5353\n"
		 "  qname-minimisation: no\n"
		 "  edns-buffer-size: 1400\n"
		 "  validation: yes\n"
		 "cache:\n"
		 "  path: /var/lib/ostrov/cache\n"
		 "  size: 1G\n"
		 "  min-ttl: 5\n"
		 "  max-ttl: 86400\n"
		 "  max-negative-ttl: 3600\n",
		 hints);
	write_cfg(path, sizeof(path), "full.yaml", text);
	struct ost_config cfg;
	int ret = ost_config_load(&cfg, path, err, sizeof(err));
	if (ret != 0)
		fail_msg("load failed: %s", err);
	assert_int_equal(cfg.server.n_listen, 3);
	assert_string_equal(cfg.server.listen[0].text, "127.0.0.1@5300");
	assert_string_equal(cfg.server.listen[1].text, "::1@5300");
	assert_string_equal(cfg.server.listen[2].text, "127.0.0.2@53");
	assert_int_equal(cfg.server.listen[1].ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in *)&cfg.server.listen[0].ss)->sin_port), 5300);
	assert_int_equal(cfg.server.workers, 2);
	assert_int_equal(cfg.server.log_level, OST_LOG_DEBUG);
	assert_int_equal(cfg.server.tcp_idle_timeout_ms, 10000);
	assert_int_equal(cfg.server.tcp_max_connections, 1024);
	assert_false(cfg.server.udp_gso);
	assert_string_equal(cfg.server.control_socket, "/run/ostrov/control.sock");
	assert_int_equal(cfg.access.allow.n, 3);
	assert_int_equal(cfg.access.deny_action, OST_DENY_DROP);
	assert_string_equal(cfg.resolver.root_hints_file, hints);
	/* Relative to the config file's directory. */
	assert_string_equal(cfg.resolver.trust_anchor_file, anchors);
	assert_int_equal(cfg.resolver.upstream_allow.n, 1);
	assert_int_equal(cfg.resolver.upstream_allow.v[0].prefix, 16);
	assert_int_equal(cfg.resolver.upstream_port, 5353);
	assert_false(cfg.resolver.qname_minimisation);
	assert_int_equal(cfg.resolver.edns_buffer_size, 1400);
	assert_true(cfg.resolver.validation);
	assert_string_equal(cfg.cache.path, "/var/lib/ostrov/cache");
	assert_true(cfg.cache.size == 1ull << 30);
	assert_int_equal(cfg.cache.min_ttl, 5);
	assert_int_equal(cfg.cache.max_ttl, 86400);
	assert_int_equal(cfg.cache.max_negative_ttl, 3600);
	ost_config_deinit(&cfg);
}

/* server.listen takes wildcards, IPv6 bare or in brackets; the same one twice is an error. */
static void test_listen_wildcard(void **state)
{
	(void)state;
	char path[300], err[1024];
	write_cfg(path, sizeof(path), "wild.yaml",
		  "server:\n  listen: [\"0.0.0.0@5300\", \"[::]@5300\", \"127.0.0.1@5301\"]\n");
	struct ost_config cfg;
	int ret = ost_config_load(&cfg, path, err, sizeof(err));
	if (ret != 0)
		fail_msg("load failed: %s", err);
	assert_int_equal(cfg.server.n_listen, 3);
	assert_string_equal(cfg.server.listen[0].text, "0.0.0.0@5300");
	assert_string_equal(cfg.server.listen[1].text, "::@5300");
	assert_int_equal(cfg.server.listen[1].ss.ss_family, AF_INET6);
	ost_config_deinit(&cfg);
	expect_error("server:\n  listen: [\"::@53\", \"[::]@53\"]\n", 2, "server.listen",
		     "::@53 is listed twice");
}

static void test_defaults(void **state)
{
	(void)state;
	char path[300], err[1024];
	write_cfg(path, sizeof(path), "min.yaml", "cache:\n  size: 256M\nserver:\n");
	struct ost_config cfg;
	int ret = ost_config_load(&cfg, path, err, sizeof(err));
	if (ret != 0)
		fail_msg("load failed: %s", err);
	assert_true(cfg.cache.size == 256ull << 20);
	assert_int_equal(cfg.server.n_listen, 2);
	assert_string_equal(cfg.server.listen[0].text, "127.0.0.1@53");
	assert_int_equal(cfg.server.workers, 0);
	assert_int_equal(cfg.resolver.edns_buffer_size, 1232);
	assert_int_equal(cfg.server.udp_coalesce_us, 200);
	assert_true(cfg.server.udp_gso);
	assert_true(cfg.resolver.qname_minimisation);
	assert_null(cfg.resolver.root_hints_file);
	/* Loopback only by default, for clients and upstreams alike. */
	struct sockaddr_in in = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.9.9.9", &in.sin_addr);
	assert_true(ost_acl_match(&cfg.access.allow, (struct sockaddr *)&in));
	assert_true(ost_acl_match(&cfg.resolver.upstream_allow, (struct sockaddr *)&in));
	inet_pton(AF_INET, "192.0.2.1", &in.sin_addr);
	assert_false(ost_acl_match(&cfg.access.allow, (struct sockaddr *)&in));
	assert_false(ost_acl_match(&cfg.resolver.upstream_allow, (struct sockaddr *)&in));
	ost_config_deinit(&cfg);
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_error("server:\n  workers: 2\n\n  wrokers: 3\n", 4, "server.wrokers", "unknown key");
	expect_error("server:\n  workers: 2\nsrever:\n  workers: 2\n", 3, "srever",
		     "unknown section");
	expect_error("server:\n  workers: 2\n  workers: 3\n", 3, "server.workers", "duplicate");
}

static void test_forward_stub_zones(void **state)
{
	(void)state;
	char path[300], err[1024];
	struct ost_config cfg;
	write_cfg(path, sizeof(path), "fwd.yaml",
		  "resolver:\n"
		  "  forward-zones:\n"
		  "    - name: Corp.Example\n"
		  "      addresses: [\"127.0.0.1@5353\", \"::1\"]\n"
		  "  stub-zones:\n"
		  "    - name: internal.\n"
		  "      addresses: [\"127.53.3.1\"]\n"
		  "  upstream-port: 5300\n");
	if (ost_config_load(&cfg, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.resolver.n_zones, 2);
	assert_string_equal(cfg.resolver.zones[0].name, "corp.example.");
	assert_true(cfg.resolver.zones[0].forward);
	assert_int_equal(cfg.resolver.zones[0].n_addrs, 2);
	assert_string_equal(cfg.resolver.zones[0].addrs[0].text, "127.0.0.1@5353");
	/* no port given: resolver.upstream-port, even when it comes later */
	assert_string_equal(cfg.resolver.zones[0].addrs[1].text, "::1@5300");
	assert_string_equal(cfg.resolver.zones[1].name, "internal.");
	assert_false(cfg.resolver.zones[1].forward);
	ost_config_deinit(&cfg);

	expect_error(
		"resolver:\n  forward-zones:\n    - name: a.\n      addresses: [\"10.0.0.1\"]\n", 3,
		"resolver.forward-zones", "outside resolver.upstream-allow");
	expect_error("resolver:\n  forward-zones:\n    - name: a.\n", 3, "resolver.forward-zones",
		     "needs addresses");
	expect_error("resolver:\n  stub-zones:\n    - addresses: [\"127.0.0.1\"]\n", 3,
		     "resolver.stub-zones", "needs a name");
	expect_error("resolver:\n  stub-zones:\n    - name: a..b\n      addresses: "
		     "[\"127.0.0.1\"]\n",
		     3, "resolver.stub-zones", "bad zone name");
	expect_error("resolver:\n  stub-zones:\n    - name: a.\n      addresses: [\"nowhere\"]\n",
		     4, "resolver.stub-zones", "bad address");
	expect_error("resolver:\n  stub-zones:\n    - name: a.\n      addresses: []\n", 4,
		     "resolver.stub-zones", "1 to 16");
	expect_error("resolver:\n  stub-zones:\n    - name: a.\n      addresses: [\"127.0.0.1\"]\n"
		     "  forward-zones:\n    - name: A.\n      addresses: [\"127.0.0.1\"]\n",
		     6, "resolver.forward-zones", "configured twice");
	expect_error("resolver:\n  stub-zones:\n    - name: a.\n      port: 5\n", 4,
		     "resolver.stub-zones", "unknown key");
	expect_error("resolver:\n  stub-zones: a.\n", 2, "resolver.stub-zones", "list of zones");
}

/* resolver.negative-trust-anchors (RFC 7646) and the NTA lifetimes. */
static void test_negative_trust_anchors(void **state)
{
	(void)state;
	char path[300], err[1024];
	struct ost_config cfg;
	write_cfg(path, sizeof(path), "nta.yaml",
		  "resolver:\n  negative-trust-anchors: [\"Bad-DS.ru\", \"expired.ru.\"]\n"
		  "  nta-lifetime: 600\n  nta-max-lifetime: 86400\n");
	assert_int_equal(ost_config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.resolver.n_negative_trust_anchors, 2);
	/* fully qualified and lower case, as a reload compares them */
	assert_string_equal(cfg.resolver.negative_trust_anchors[0], "bad-ds.ru.");
	assert_string_equal(cfg.resolver.negative_trust_anchors[1], "expired.ru.");
	assert_int_equal(cfg.resolver.nta_lifetime_s, 600);
	assert_int_equal(cfg.resolver.nta_max_lifetime_s, 86400);
	ost_config_deinit(&cfg);
	/* defaults: none, 1 h, 7 d; a single name is a one-item list */
	write_cfg(path, sizeof(path), "nta1.yaml",
		  "resolver:\n  negative-trust-anchors: example.com\n");
	assert_int_equal(ost_config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.resolver.n_negative_trust_anchors, 1);
	assert_string_equal(cfg.resolver.negative_trust_anchors[0], "example.com.");
	assert_int_equal(cfg.resolver.nta_lifetime_s, 3600);
	assert_int_equal(cfg.resolver.nta_max_lifetime_s, 7 * 86400);
	ost_config_deinit(&cfg);
	expect_error("resolver:\n  validation: yes\n  negative-trust-anchors: [\"ok.ru.\",\n"
		     "    \"a..b\"]\n",
		     4, "resolver.negative-trust-anchors", "bad domain name \"a..b\"");
	expect_error("resolver:\n  negative-trust-anchors: [\"ru.\", \"RU\"]\n", 2,
		     "resolver.negative-trust-anchors", "listed twice");
	expect_error("resolver:\n  negative-trust-anchors: [\".\"]\n", 2,
		     "resolver.negative-trust-anchors", "not the root");
	expect_error("resolver:\n  negative-trust-anchors: {a: b}\n", 2,
		     "resolver.negative-trust-anchors", "expected a list");
	expect_error("resolver:\n  nta-lifetime: 0\n", 2, "resolver.nta-lifetime", "out of range");
	expect_error("resolver:\n  nta-max-lifetime: 60\n  nta-lifetime: 120\n", 3,
		     "resolver.nta-lifetime", "above resolver.nta-max-lifetime");
}

/* Per-request limits, timers and serve-stale: parsed, checked, defaults equal
 * to the resolver's own, and all of them reach a resolver configuration. */
static void test_resolver_limits(void **state)
{
	(void)state;
	char path[300], err[1024];
	struct ost_config cfg;
	struct ost_resolver_config def, r;
	ost_resolver_config_default(&def);
	write_cfg(path, sizeof(path), "lim0.yaml", "resolver:\n  validation: no\n");
	assert_int_equal(ost_config_load(&cfg, path, err, sizeof(err)), 0);
	ost_resolver_config_default(&r);
	ost_engine_resolver_settings(&r, &cfg);
	assert_int_equal(r.max_depth, def.max_depth);
	assert_int_equal(r.max_subreq, def.max_subreq);
	assert_int_equal(r.max_queries, def.max_queries);
	assert_int_equal(r.max_cname, def.max_cname);
	assert_int_equal(r.max_time_ms, def.max_time_ms);
	assert_int_equal(r.initial_rto_ms, def.initial_rto_ms);
	assert_int_equal(r.max_rto_ms, def.max_rto_ms);
	assert_true(r.serve_stale == def.serve_stale);
	assert_int_equal(r.stale_ttl, def.stale_ttl);
	assert_int_equal(r.stale_client_timeout_ms, def.stale_client_timeout_ms);
	assert_int_equal(r.max_ttl, def.max_ttl);
	assert_int_equal(r.max_neg_ttl, def.max_neg_ttl);
	assert_true(cfg.resolver.prefetch); /* resolver.prefetch: yes by default */
	ost_config_deinit(&cfg);

	write_cfg(path, sizeof(path), "lim.yaml",
		  "resolver:\n  max-depth: 20\n  max-subrequests: 4\n  max-queries: 50\n"
		  "  max-cname: 8\n  max-time-ms: 5000\n  initial-rto-ms: 200\n"
		  "  max-rto-ms: 1500\n  serve-stale: no\n  stale-ttl: 10\n  prefetch: no\n"
		  "cache:\n  max-ttl: 600\n  max-negative-ttl: 60\n"
		  "resilience:\n  failover:\n    client-timer-ms: 900\n");
	if (ost_config_load(&cfg, path, err, sizeof(err)) != 0)
		fail_msg("load failed: %s", err);
	ost_resolver_config_default(&r);
	ost_engine_resolver_settings(&r, &cfg);
	assert_int_equal(r.max_depth, 20);
	assert_int_equal(r.max_subreq, 4);
	assert_int_equal(r.max_queries, 50);
	assert_int_equal(r.max_cname, 8);
	assert_int_equal(r.max_time_ms, 5000);
	assert_int_equal(r.initial_rto_ms, 200);
	assert_int_equal(r.max_rto_ms, 1500);
	assert_false(r.serve_stale);
	assert_int_equal(r.stale_ttl, 10);
	assert_int_equal(r.stale_client_timeout_ms, 900);
	assert_int_equal(r.max_ttl, 600);
	assert_int_equal(r.max_neg_ttl, 60);
	assert_false(cfg.resolver.prefetch);
	ost_config_deinit(&cfg);

	expect_error("resolver:\n  max-queries: 0\n", 2, "resolver.max-queries", "out of range");
	expect_error("resolver:\n  max-time-ms: 50\n", 2, "resolver.max-time-ms", "out of range");
	expect_error("resolver:\n  serve-stale: often\n", 2, "resolver.serve-stale", "often");
	expect_error("resolver:\n  prefetch: 10%\n", 2, "resolver.prefetch", "10%");
	expect_error("resolver:\n  max-rto-ms: 300\n  initial-rto-ms: 500\n", 3,
		     "resolver.initial-rto-ms", "above resolver.max-rto-ms");
}

static void test_bad_address(void **state)
{
	(void)state;
	expect_error("server:\n  listen: [\"127.0.0.1@53\",\n    \"127.0.0.300@53\"]\n", 3,
		     "server.listen", "127.0.0.300@53");
	expect_error("server:\n  listen: [\"127.0.0.1@70000\"]\n", 2, "server.listen", "70000");
	expect_error("server:\n  listen: [\"127.0.0.1@\"]\n", 2, "server.listen", NULL);
	expect_error("server:\n  listen: [\"localhost@53\"]\n", 2, "server.listen", "localhost");
	expect_error("server:\n  listen: []\n", 2, "server.listen", "at least one");
}

static void test_bad_cidr(void **state)
{
	(void)state;
	expect_error("access:\n  allow: [\"10.0.0.0/33\"]\n", 2, "access.allow", "10.0.0.0/33");
	expect_error("resolver:\n  upstream-allow:\n    - ::1/128\n    - foo/8\n", 4,
		     "resolver.upstream-allow", "foo/8");
	expect_error("access:\n  allow: [\"::/129\"]\n", 2, "access.allow", NULL);
	expect_error("access:\n  allow: [\"10.0.0.0/\"]\n", 2, "access.allow", NULL);
}

static void test_bad_size(void **state)
{
	(void)state;
	expect_error("cache:\n  size: abc\n", 2, "cache.size", "abc");
	expect_error("cache:\n  size: 12Q\n", 2, "cache.size", NULL);
	expect_error("cache:\n  size: 1K\n", 2, "cache.size", "out of range");
	expect_error("cache:\n  size: 99999999999999999999999G\n", 2, "cache.size", NULL);
}

static void test_bad_number(void **state)
{
	(void)state;
	expect_error("server:\n  workers: two\n", 2, "server.workers", "two");
	expect_error("server:\n  workers: -1\n", 2, "server.workers", NULL);
	expect_error("server:\n  workers: 0\n", 2, "server.workers", "out of range");
	expect_error("resolver:\n  upstream-port: 65536\n", 2, "resolver.upstream-port", NULL);
	expect_error("server:\n  udp-coalesce-us: 1001\n", 2, "server.udp-coalesce-us",
		     "out of range");
	expect_error("resolver:\n  edns-buffer-size: 100\n", 2, "resolver.edns-buffer-size", NULL);
	expect_error("resolver:\n  validation: maybe\n", 2, "resolver.validation", "maybe");
	expect_error("server:\n  udp-gso: 2\n", 2, "server.udp-gso", "bad boolean");
	expect_error("cache:\n  max-ttl: 60\n  min-ttl: 61\n", 3, "cache.min-ttl", "above");
	expect_error("server:\n  listen:\n    - 127.0.0.1\n    - 127.0.0.1@53\n", 4,
		     "server.listen", "127.0.0.1@53 is listed twice");
	expect_error("server:\n  log-level: loud\n", 2, "server.log-level", "loud");
	expect_error("access:\n  deny-action: ignore\n", 2, "access.deny-action", "ignore");
}

static void test_missing_file(void **state)
{
	(void)state;
	expect_error("resolver:\n  validation: yes\n  root-hints-file: /nonexistent/root.hints\n",
		     3, "resolver.root-hints-file", "/nonexistent/root.hints");
	expect_error("resolver:\n  trust-anchor-file: no-such-ta.ds\n", 2,
		     "resolver.trust-anchor-file", "no-such-ta.ds");
}

static void test_empty_and_not_yaml(void **state)
{
	(void)state;
	expect_error("", 1, "empty", NULL);
	expect_error("# only a comment\n", 1, "empty", NULL);
	expect_error("server:\n  listen: [\"127.0.0.1@53\"\n  workers: 2\n", 3, "not valid YAML",
		     NULL);
	expect_error("just some words\n", 1, "expected a mapping", NULL);
	expect_error("\x01\x02\xff\xfe binary", 1, "not valid YAML", NULL);
	expect_error("server:\n  workers: 2\n---\nserver:\n  workers: 3\n", 4, "more than one",
		     NULL);
}

static void test_wrong_type(void **state)
{
	(void)state;
	expect_error("server:\n  listen:\n    a: b\n", 3, "server.listen", "expected a list");
	expect_error("server:\n  workers: [1, 2]\n", 2, "server.workers", "not a list");
	expect_error("access:\n  allow: [[\"127.0.0.1\"]]\n", 2, "access.allow", "plain values");
	expect_error("server: [1, 2]\n", 1, "server", "expected a mapping");
	expect_error("- server\n- cache\n", 1, "expected a mapping", NULL);
}

static void test_unreadable(void **state)
{
	(void)state;
	char err[1024];
	struct ost_config cfg;
	int ret = ost_config_load(&cfg, "/nonexistent/ostrov.yaml", err, sizeof(err));
	ost_config_deinit(&cfg);
	assert_int_equal(ret, -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/ostrov.yaml"));
}

static void test_addr_cidr_acl(void **state)
{
	(void)state;
	struct ost_addr a;
	assert_int_equal(ost_addr_parse("::1@5300", 53, &a), 0);
	assert_string_equal(a.text, "::1@5300");
	assert_int_equal(ost_addr_parse("2001:db8::1", 53, &a), 0);
	assert_string_equal(a.text, "2001:db8::1@53");
	assert_int_equal(ost_addr_parse("127.0.0.1@0", 53, &a), -EINVAL);
	assert_int_equal(ost_addr_parse("@53", 53, &a), -EINVAL);
	assert_int_equal(ost_addr_parse("127.0.0.1@5a", 53, &a), -EINVAL);
	/* Wildcards, and IPv6 in brackets. */
	assert_int_equal(ost_addr_parse("0.0.0.0@5300", 53, &a), 0);
	assert_string_equal(a.text, "0.0.0.0@5300");
	assert_int_equal(ost_addr_parse("[::]@5300", 53, &a), 0);
	assert_int_equal(a.ss.ss_family, AF_INET6);
	assert_string_equal(a.text, "::@5300");
	assert_int_equal(ost_addr_parse("::@5300", 53, &a), 0);
	assert_string_equal(a.text, "::@5300");
	assert_int_equal(ost_addr_parse("[::1]", 53, &a), 0);
	assert_string_equal(a.text, "::1@53");
	assert_int_equal(ost_addr_parse("[127.0.0.1]@53", 53, &a), -EINVAL);
	assert_int_equal(ost_addr_parse("[::1@53", 53, &a), -EINVAL);
	assert_int_equal(ost_addr_parse("[]@53", 53, &a), -EINVAL);
	assert_int_equal(ost_addr_parse("[::1]x@53", 53, &a), -EINVAL);

	struct ost_acl acl = {0};
	struct ost_cidr c;
	assert_int_equal(ost_cidr_parse("192.0.2.77/25", &c), 0);
	assert_int_equal(c.bytes[3], 0); /* host bits cleared */
	assert_int_equal(ost_acl_add(&acl, &c), 0);
	assert_int_equal(ost_cidr_parse("2001:db8::/33", &c), 0);
	assert_int_equal(ost_acl_add(&acl, &c), 0);

	struct sockaddr_in in = {.sin_family = AF_INET};
	inet_pton(AF_INET, "192.0.2.127", &in.sin_addr);
	assert_true(ost_acl_match(&acl, (struct sockaddr *)&in));
	inet_pton(AF_INET, "192.0.2.128", &in.sin_addr);
	assert_false(ost_acl_match(&acl, (struct sockaddr *)&in));

	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "2001:db8:7fff::1", &in6.sin6_addr);
	assert_true(ost_acl_match(&acl, (struct sockaddr *)&in6));
	inet_pton(AF_INET6, "2001:db8:8000::1", &in6.sin6_addr);
	assert_false(ost_acl_match(&acl, (struct sockaddr *)&in6));
	/* An IPv4-mapped address is matched as IPv4. */
	inet_pton(AF_INET6, "::ffff:192.0.2.1", &in6.sin6_addr);
	assert_true(ost_acl_match(&acl, (struct sockaddr *)&in6));
	struct sockaddr un = {.sa_family = AF_UNIX};
	assert_false(ost_acl_match(&acl, &un));
	ost_acl_deinit(&acl);
	assert_int_equal(acl.n, 0);
}

/* resilience: every sub-key goes to resilience/'s setters; targets, zones, defaults. */
static void test_resilience(void **state)
{
	(void)state;
	char path[300], err[1024];
	struct ost_config cfg;
	write_cfg(path, sizeof(path), "res.yaml",
		  "resilience:\n"
		  "  national-zones: [RU, xn--p1ai., su]\n"
		  "  failover: {window-ms: 20000, isolate-evals: 4, reachable-evals: 3}\n"
		  "  probes:\n"
		  "    interval-ms: 1500\n"
		  "    timeout-ms: 400\n"
		  "    root-hints: no\n"
		  "    root: [\"127.53.0.9@5353\"]\n"
		  "    foreign: [\"127.53.1.1@53 com\", \"::1@53 org.\"]\n"
		  "    national: \"127.53.2.1 ru\"\n"
		  "  drill:\n"
		  "    dest-national: [\"127.53.2.0/24\", \"127.53.4.0/24\"]\n"
		  "    cut-mode: refuse\n"
		  "    target-detect-ms: 25000\n");
	assert_int_equal(ost_config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.resilience.n_national_zones, 3);
	assert_string_equal(cfg.resilience.national_zones[0], "ru.");
	assert_string_equal(cfg.resilience.national_zones[1], "xn--p1ai.");
	assert_int_equal(cfg.resilience.fo.window_ms, 20000);
	assert_int_equal(cfg.resilience.fo.isolate_evals, 4);
	assert_int_equal(cfg.resilience.fo.reachable_evals, 3);
	assert_int_equal(cfg.resilience.probe.interval_ms, 1500);
	assert_false(cfg.resilience.probe_root_hints);
	assert_int_equal(cfg.resilience.n_targets, 4);
	assert_int_equal(cfg.resilience.targets[0].cls, OST_FO_ROOT);
	assert_string_equal(cfg.resilience.targets[0].zone, ".");
	assert_string_equal(cfg.resilience.targets[0].addr.text, "127.53.0.9@5353");
	assert_int_equal(cfg.resilience.targets[1].cls, OST_FO_FOREIGN);
	assert_string_equal(cfg.resilience.targets[1].zone, "com.");
	assert_int_equal(cfg.resilience.targets[1].qtype, 2 /* NS */);
	assert_string_equal(cfg.resilience.targets[2].addr.text, "::1@53");
	assert_int_equal(cfg.resilience.targets[3].cls, OST_FO_NATIONAL);
	assert_int_equal(cfg.resilience.targets[3].qtype, 6 /* SOA */);
	/* the port defaults to resolver.upstream-port */
	assert_string_equal(cfg.resilience.targets[3].addr.text, "127.53.2.1@53");
	assert_int_equal(cfg.resilience.drill.map.n, 2);
	assert_int_equal(cfg.resilience.drill.cut_mode, OST_DRILL_REFUSE);
	assert_int_equal(cfg.resilience.drill.target_detect_ms, 25000);
	ost_config_deinit(&cfg);

	/* without the section: the defaults, national zones ru. xn--p1ai. su. */
	write_cfg(path, sizeof(path), "nores.yaml", "server:\n  workers: 1\n");
	assert_int_equal(ost_config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.resilience.n_national_zones, 3);
	assert_string_equal(cfg.resilience.national_zones[2], "su.");
	assert_true(cfg.resilience.probe_root_hints);
	assert_int_equal(cfg.resilience.n_targets, 0);
	assert_int_equal(cfg.resilience.fo.isolate_evals, 3);
	ost_config_deinit(&cfg);
}

static void test_resilience_errors(void **state)
{
	(void)state;
	expect_error("resilience:\n  failover:\n    window-ms: 10000\n    degrade-below: 2\n", 4,
		     "resilience.failover.degrade-below", "2");
	expect_error("resilience:\n  failover:\n    windw-ms: 10\n", 3,
		     "resilience.failover.windw-ms", "unknown key");
	expect_error("resilience:\n  probes:\n    foreign: [\"127.53.1.1@53\"]\n", 3,
		     "resilience.probes.foreign", "ADDR@PORT ZONE");
	expect_error("resilience:\n  probes:\n    national: [\"nowhere@53 ru\"]\n", 3,
		     "resilience.probes.national", "nowhere");
	expect_error("resilience:\n  probes:\n    tries: [1, 2]\n", 3, "resilience.probes.tries",
		     "list");
	expect_error("resilience:\n  drill:\n    dest-national: [\"10.0.0.0/40\"]\n", 3,
		     "resilience.drill.dest-national", "10.0.0.0/40");
	expect_error("resilience:\n  drill:\n    cut-mode: sometimes\n", 3,
		     "resilience.drill.cut-mode", "sometimes");
	expect_error("resilience:\n  isolation: yes\n", 2, "resilience.isolation", "unknown key");
	expect_error("resilience:\n  national-zones: [\"ru..\"]\n", 2, "resilience.national-zones",
		     "ru..");
	expect_error("resilience:\n  failover: [1]\n", 2, "resilience.failover", "mapping");
	/* a consistency check over several keys: the section's line */
	expect_error("server:\n  workers: 1\nresilience:\n  failover:\n    window-ms: 500\n", 4,
		     "resilience.failover", NULL);
	/* probe timing: 3 tries of 750 ms do not fit in 1500 ms - 20 % (the
	 * scheduler refuses it at start; --check-config and reload must too) */
	expect_error("resilience:\n  probes:\n    interval-ms: 1500\n", 2, "resilience.probes",
		     "tries x timeout-ms");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_listen_wildcard),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_resolver_limits),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_bad_cidr),
		cmocka_unit_test(test_bad_size),
		cmocka_unit_test(test_bad_number),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_empty_and_not_yaml),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_addr_cidr_acl),
		cmocka_unit_test(test_resilience),
		cmocka_unit_test(test_resilience_errors),
		cmocka_unit_test(test_forward_stub_zones),
		cmocka_unit_test(test_negative_trust_anchors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
