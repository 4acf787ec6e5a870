/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of server/resilience.c: question names are classed root /
 * national / foreign by national-zones (any case, at label boundaries only),
 * and the drill's destination map gets the probe targets and the root hints
 * by class, after the operator's dest-* prefixes.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "ostrov/config.h"

#include "resilience.h"

static size_t to_wire(const char *name, uint8_t *out)
{
	size_t n = 0;
	const char *p = name;
	while (*p && *p != '.') {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		out[n++] = (uint8_t)len;
		memcpy(out + n, p, len);
		n += len;
		p += len + (dot ? 1 : 0);
	}
	out[n++] = 0;
	return n;
}

static enum ost_fo_name_class cls(const struct ost_resilience *r, const char *name)
{
	uint8_t w[256];
	size_t n = to_wire(name, w);
	return ost_resilience_name_class(r, w, n);
}

static struct sockaddr_in sin_of(const char *a)
{
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(53)};
	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

static void test_classes_and_map(void **state)
{
	(void)state;
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct ost_config cfg;
	assert_int_equal(ost_config_init(&cfg), 0);
	struct ost_probe_target t[2];
	memset(t, 0, sizeof(t));
	assert_int_equal(ost_addr_parse("127.53.1.1@53", 53, &t[0].addr), 0);
	t[0].cls = OST_FO_FOREIGN;
	strcpy(t[0].zone, "com.");
	t[0].qtype = 2;
	assert_int_equal(ost_addr_parse("127.53.2.1@53", 53, &t[1].addr), 0);
	t[1].cls = OST_FO_NATIONAL;
	strcpy(t[1].zone, "ru.");
	t[1].qtype = 6;
	cfg.resilience.targets = t;
	cfg.resilience.n_targets = 2;
	/* the operator's prefix says "national" for 127.53.4.0/24 */
	assert_int_equal(
		ost_dest_map_add(&cfg.resilience.drill.map, "127.53.4.0/24", OST_DEST_NATIONAL), 0);
	struct ost_root_hint hint = {.name = "a.root.lab."};
	struct sockaddr_in h = sin_of("127.53.0.1");
	memcpy(&hint.addr, &h, sizeof(h));
	hint.addrlen = sizeof(h);
	struct ost_engine e;
	memset(&e, 0, sizeof(e));
	e.hints = &hint;
	e.n_hints = 1;

	struct ost_resilience r;
	memset(&r, 0, sizeof(r));
	char err[256];
	assert_int_equal(ost_resilience_open(&r, &loop, &cfg, &e, err, sizeof(err)), 0);

	assert_int_equal(cls(&r, "."), OST_FO_NAME_ROOT);
	assert_int_equal(cls(&r, "www.example.ru"), OST_FO_NAME_NATIONAL);
	assert_int_equal(cls(&r, "WWW.Example.RU"), OST_FO_NAME_NATIONAL);
	assert_int_equal(cls(&r, "ru"), OST_FO_NAME_NATIONAL);
	assert_int_equal(cls(&r, "a.xn--e1afmkfd.xn--p1ai"), OST_FO_NAME_NATIONAL);
	assert_int_equal(cls(&r, "example.su"), OST_FO_NAME_NATIONAL);
	assert_int_equal(cls(&r, "www.example.com"), OST_FO_NAME_FOREIGN);
	/* a label that only ends in "ru" is not under ru. */
	assert_int_equal(cls(&r, "www.guru"), OST_FO_NAME_FOREIGN);
	assert_int_equal(cls(&r, "ru.example.com"), OST_FO_NAME_FOREIGN);

	const struct ost_dest_map *m = ost_drill_map(r.drill);
	struct sockaddr_in a;
	a = sin_of("127.53.0.1");
	assert_int_equal(ost_dest_map_classify(m, (struct sockaddr *)&a), OST_DEST_ROOT);
	a = sin_of("127.53.1.1");
	assert_int_equal(ost_dest_map_classify(m, (struct sockaddr *)&a), OST_DEST_FOREIGN_TLD);
	a = sin_of("127.53.2.1");
	assert_int_equal(ost_dest_map_classify(m, (struct sockaddr *)&a), OST_DEST_NATIONAL);
	a = sin_of("127.53.4.7");
	assert_int_equal(ost_dest_map_classify(m, (struct sockaddr *)&a), OST_DEST_NATIONAL);
	a = sin_of("127.53.3.1");
	assert_int_equal(ost_dest_map_classify(m, (struct sockaddr *)&a), OST_DEST_FOREIGN);
	/* 1 root hint + 2 targets probed */
	assert_int_equal(ost_probe_count(r.probe), 3);
	assert_int_equal(ost_fo_state(r.fo), OST_FO_LOADING);

	ost_resilience_close(&r);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	cfg.resilience.targets = NULL;
	cfg.resilience.n_targets = 0;
	ost_config_deinit(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes_and_map),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
