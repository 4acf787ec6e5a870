/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for server/hints.c: the root hints file (zone-file syntax read
 * with ldns) and ost_engine_open() without a cache. Files are written to a
 * temporary directory; every error case checks the message names the file
 * (and the line where ldns knows it).
 */
#include <arpa/inet.h>
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

#include "engine.h"

static char dir[] = "/tmp/ost-hints-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void test_named_root_style(void **state)
{
	(void)state;
	const char *p = write_file("good.hints", "; lab root hints\n"
						 "$TTL 3600000\n"
						 ".\t3600000\tIN\tNS\ta.root-servers.lab.\n"
						 ".\t\tNS\tb.root-servers.lab.\n"
						 "a.root-servers.lab.\t3600000\tIN\tA\t127.53.0.1\n"
						 "a.root-servers.lab.\t3600000\tIN\tAAAA\t::1\n"
						 "B.Root-Servers.LAB.\t3600000\tIN\tA\t127.53.0.2\n"
						 "other.lab.\t3600\tIN\tA\t127.9.9.9\n"
						 "\n\n");
	struct ost_root_hint *h;
	size_t n;
	char *names;
	char err[256] = "";
	assert_int_equal(ost_hints_load(p, 5353, &h, &n, &names, err, sizeof(err)), 0);
	/* Two addresses for a, one for b (name matched without case), none for other.lab. */
	assert_int_equal(n, 3);
	assert_string_equal(h[0].name, "a.root-servers.lab.");
	assert_string_equal(h[1].name, "a.root-servers.lab.");
	assert_string_equal(h[2].name, "b.root-servers.lab.");
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&h[0].addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 5353);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f350001);
	assert_int_equal(h[0].addrlen, sizeof(struct sockaddr_in));
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&h[1].addr;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 5353);
	assert_int_equal(h[1].addrlen, sizeof(struct sockaddr_in6));
	free(h);
	free(names);
}

static void expect_error(const char *name, const char *text, int code, const char *needle)
{
	const char *p = write_file(name, text);
	struct ost_root_hint *h = (void *)1;
	size_t n = 7;
	char *names = (void *)1;
	char err[256] = "";
	assert_int_equal(ost_hints_load(p, 53, &h, &n, &names, err, sizeof(err)), code);
	assert_null(h);
	assert_null(names);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err, name));
	if (!strstr(err, needle))
		fail_msg("message \"%s\" lacks \"%s\"", err, needle);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("syntax.hints",
		     ". 3600 IN NS a.root.\n"
		     "a.root. 3600 IN A 127.53.0.1\n"
		     "a.root. 3600 IN A not-an-address\n",
		     OST_ECONFIG, ":3:");
	expect_error("nons.hints", "a.root. 3600 IN A 127.53.0.1\n", OST_ECONFIG, "no NS records");
	expect_error("noaddr.hints",
		     ". 3600 IN NS a.root.\n. 3600 IN NS b.root.\n"
		     "a.root. 3600 IN A 127.53.0.1\n",
		     OST_ECONFIG, "b.root. has no A or AAAA");
	expect_error("empty.hints", "", OST_ECONFIG, "no NS records");
	expect_error("include.hints", "$INCLUDE /etc/passwd\n", OST_ECONFIG, "$INCLUDE");

	struct ost_root_hint *h;
	size_t n;
	char *names;
	char err[256] = "";
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/does-not-exist", dir);
	assert_true(ost_hints_load(missing, 53, &h, &n, &names, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "does-not-exist"));
}

static void test_engine_open(void **state)
{
	(void)state;
	struct ost_config cfg;
	assert_int_equal(ost_config_init(&cfg), 0);
	char err[256] = "";
	struct ost_engine e;

	/* No hints: no resolver, the daemon refuses. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(ost_engine_open(&e, &cfg, err, sizeof(err)), 0);
	assert_false(ost_engine_can_resolve(&e));
	ost_engine_close(&e);

	const char *p = write_file("engine.hints", ". 3600 IN NS a.root.\n"
						   "a.root. 3600 IN A 127.53.0.1\n");
	cfg.resolver.root_hints_file = strdup(p);
	cfg.resolver.upstream_port = 5300;
	cfg.resolver.edns_buffer_size = 1400;
	cfg.resolver.qname_minimisation = false;
	cfg.cache.max_ttl = 600;
	memset(&e, 0, sizeof(e));
	assert_int_equal(ost_engine_open(&e, &cfg, err, sizeof(err)), 0);
	assert_true(ost_engine_can_resolve(&e));
	assert_null(e.cache);
	assert_int_equal(e.rcfg.n_hints, 1);
	assert_int_equal(e.rcfg.edns_size, 1400);
	assert_int_equal(e.rcfg.upstream_port, 5300);
	assert_false(e.rcfg.qname_minimisation);
	assert_true(e.rcfg.validation);
	assert_int_equal(e.rcfg.max_ttl, 600);
	/* Validation on, no trust-anchor file: the built-in root anchors. */
	assert_non_null(e.rcfg.anchors);
	assert_ptr_equal(e.rcfg.anchors, e.anchors);
	assert_int_equal(ost_ta_count(e.anchors), 1);
	/* The allow-list in the engine's form: 127.0.0.0/8 and ::1/128. */
	assert_int_equal(e.rcfg.n_allow, 2);
	const struct sockaddr_in *a0 = (const struct sockaddr_in *)&e.rcfg.allow[0].addr;
	assert_int_equal(a0->sin_family, AF_INET);
	assert_int_equal(ntohl(a0->sin_addr.s_addr), 0x7f000000);
	assert_int_equal(e.rcfg.allow[0].prefix, 8);
	assert_int_equal(e.rcfg.allow[1].addr.ss_family, AF_INET6);
	assert_int_equal(e.rcfg.allow[1].prefix, 128);
	ost_engine_close(&e);

	/* A trust-anchor file that does not load is a configuration error. */
	cfg.resolver.trust_anchor_file = strdup(write_file("bad.ta", ". 3600 IN A 127.0.0.1\n"));
	memset(&e, 0, sizeof(e));
	assert_int_equal(ost_engine_open(&e, &cfg, err, sizeof(err)), OST_ECONFIG);
	assert_non_null(strstr(err, "bad.ta"));
	ost_engine_close(&e);
	/* A good one replaces the built-in root. */
	free(cfg.resolver.trust_anchor_file);
	cfg.resolver.trust_anchor_file = strdup(write_file(
		"good.ta", ". 86400 IN DS 12345 13 2 "
			   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"));
	memset(&e, 0, sizeof(e));
	assert_int_equal(ost_engine_open(&e, &cfg, err, sizeof(err)), 0);
	assert_int_equal(ost_ta_count(e.anchors), 1);
	ost_engine_close(&e);
	free(cfg.resolver.trust_anchor_file);
	cfg.resolver.trust_anchor_file = NULL;

	/* A bad hints file is a configuration error. */
	free(cfg.resolver.root_hints_file);
	cfg.resolver.root_hints_file = strdup(write_file("bad.hints", "a.root. 3600 IN A 1\n"));
	memset(&e, 0, sizeof(e));
	assert_int_equal(ost_engine_open(&e, &cfg, err, sizeof(err)), OST_ECONFIG);
	ost_engine_close(&e);
	ost_config_deinit(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_named_root_style),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_engine_open),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
