/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the mirror section of the configuration (server/config.c):
 * a full section is read into struct ost_config; bad values (unknown key,
 * bad source, bad TSIG, a zone without a name or sources, a zone listed
 * twice, no store path) end the load with FILE:LINE and the key.
 */
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
#include "ostrov/log.h"

static char dir[64];

static const char *write_cfg(const char *name, const char *text)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ost-mcfg-XXXXXX");
	assert_non_null(mkdtemp(dir));
	write_cfg("root.zone", ". 3600 IN SOA a. b. 1 1 1 1 1\n");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void test_mirror_section(void **state)
{
	(void)state;
	const char *p = write_cfg(
		"good.yaml", "mirror:\n"
			     "  path: mirror\n"
			     "  size: 64M\n"
			     "  listen: [\"127.0.0.1@5399\"]\n"
			     "  verify-threads: 3\n"
			     "  zones:\n"
			     "    - name: \".\"\n"
			     "      sources: [\"127.53.0.1@53\", \"127.53.0.2 tsig k:hmac-sha256:"
			     "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc=\"]\n"
			     "      bootstrap: root.zone\n"
			     "      require-zonemd: yes\n"
			     "      ixfr: yes\n"
			     "      max-size: 16M\n"
			     "      max-records: 5000\n"
			     "      allow-transfer: [\"127.0.0.0/8\"]\n"
			     "      notify: [\"127.0.0.1@5400\"]\n"
			     "    - name: ru.\n"
			     "      sources: 127.53.2.1\n");
	struct ost_config cfg;
	char err[512];
	int rc = ost_config_load(&cfg, p, err, sizeof(err));
	if (rc != 0)
		fail_msg("load failed: %s", err);
	assert_int_equal(cfg.mirror.n_zones, 2);
	assert_non_null(strstr(cfg.mirror.path, "/mirror"));
	assert_int_equal(cfg.mirror.size, 64u << 20);
	assert_int_equal(cfg.mirror.n_listen, 1);
	assert_int_equal(cfg.mirror.verify_threads, 3);
	struct ost_mirror_zone_cfg *z = &cfg.mirror.zones[0];
	assert_string_equal(z->name, ".");
	assert_int_equal(z->n_sources, 2);
	assert_true(z->require_zonemd);
	assert_true(z->ixfr);
	assert_int_equal(z->max_size, 16u << 20);
	assert_int_equal(z->max_records, 5000);
	assert_non_null(strstr(z->bootstrap, "root.zone"));
	assert_int_equal(z->allow_transfer.n, 1);
	assert_int_equal(z->n_notify, 1);
	assert_string_equal(cfg.mirror.zones[1].name, "ru.");
	assert_int_equal(cfg.mirror.zones[1].n_sources, 1);
	assert_false(cfg.mirror.zones[1].require_zonemd);
	ost_config_deinit(&cfg);
}

static void expect_error(const char *body, const char *line_key)
{
	char text[2048];
	snprintf(text, sizeof(text), "mirror:\n  path: m\n  zones:\n%s", body);
	const char *p = write_cfg("bad.yaml", text);
	struct ost_config cfg;
	char err[512];
	assert_int_equal(ost_config_load(&cfg, p, err, sizeof(err)), OST_ECONFIG);
	if (!strstr(err, line_key))
		fail_msg("error \"%s\" lacks \"%s\"", err, line_key);
	ost_config_deinit(&cfg);
}

static void test_mirror_errors(void **state)
{
	(void)state;
	expect_error("    - name: ru.\n      sources: [\"127.0.0.1\"]\n      colour: red\n",
		     "bad.yaml:6: mirror.zones.colour: unknown key");
	expect_error("    - name: ru.\n      sources: [\"127.0.0.1@99999\"]\n",
		     "bad.yaml:5: mirror.zones.sources: bad source");
	expect_error("    - name: ru.\n      sources: [\"127.0.0.1 tsig k:hmac-foo:c2VjcmV0\"]\n",
		     "mirror.zones.sources: bad source");
	expect_error("    - sources: [\"127.0.0.1\"]\n", "mirror.zones: a zone needs a name");
	expect_error("    - name: ru.\n", "zone ru. needs sources or a bootstrap file");
	expect_error("    - name: ru.\n      sources: 127.0.0.1\n    - name: RU.\n      sources: "
		     "127.0.0.2\n",
		     "zone RU. is listed twice");
	expect_error("    - name: ru.\n      sources: 127.0.0.1\n      max-size: lots\n",
		     "mirror.zones.max-size: bad size");
	expect_error("    - name: ru.\n      sources: 127.0.0.1\n      bootstrap: /nonexistent\n",
		     "mirror.zones.bootstrap: cannot read file");
	/* verify-threads: 1-256. */
	const char *vt = write_cfg("vt.yaml", "mirror:\n  path: m\n  verify-threads: 0\n  zones:\n"
					      "    - name: ru.\n      sources: 127.0.0.1\n");
	struct ost_config vcfg;
	char verr[512];
	assert_int_equal(ost_config_load(&vcfg, vt, verr, sizeof(verr)), OST_ECONFIG);
	if (!strstr(verr, "vt.yaml:3: mirror.verify-threads: bad number of threads"))
		fail_msg("error \"%s\"", verr);
	ost_config_deinit(&vcfg);
	/* No store path. */
	const char *p = write_cfg("nopath.yaml", "mirror:\n  zones:\n    - name: ru.\n      "
						 "sources: 127.0.0.1\n");
	struct ost_config cfg;
	char err[512];
	assert_int_equal(ost_config_load(&cfg, p, err, sizeof(err)), OST_ECONFIG);
	assert_non_null(strstr(err, "mirror.path"));
	ost_config_deinit(&cfg);
}

int main(void)
{
	ost_log_set_level(OST_LOG_ERR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mirror_section),
		cmocka_unit_test(test_mirror_errors),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
