/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the probe scheduler over the fake network: correct answers
 * count as up, drops and refusals are retried then count as down, SERVFAIL
 * and non-authoritative answers are down without retry, spoofed packets are
 * rejected, every 6th probe goes over TCP, stop cancels everything, and the
 * real scheduler drives the failover machine to ISOLATED within 30 s.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "ostrov/failover.h"

#include "ost_test.h"
#include "tests_resilience.h"

struct pfx {
	struct fake_clock clk;
	struct fake_net net;
	struct ost_fo *fo;
	struct ost_probe *p;
};

static struct pfx *pfx_new(void)
{
	struct pfx *f = calloc(1, sizeof(*f));
	fake_clock_init_at(&f->clk, 1790000000, 0);
	fake_net_init(&f->net, &f->clk);
	f->net.latency_ms = 20; /* the probe timing these tests were written for */
	assert_int_equal(ost_fo_new(NULL, &f->clk.clock, &f->fo), 0);
	assert_int_equal(ost_probe_new(NULL, &f->clk.clock, &f->net.tp, f->fo, 12345, &f->p), 0);
	return f;
}

static void pfx_free(struct pfx *f)
{
	ost_probe_free(f->p);
	assert_int_equal(fake_inflight(&f->net), 0);
	ost_fo_free(f->fo);
	assert_int_equal(fake_clock_armed(&f->clk), 0);
	fake_net_deinit(&f->net);
	fake_clock_deinit(&f->clk);
	free(f);
}

static void add(struct pfx *f, const char *ip, enum fake_mode mode, enum ost_fo_class cls,
		const char *qname, uint16_t qtype)
{
	fake_server_add(&f->net, ip, mode);
	struct sockaddr_storage ss;
	socklen_t len = fake_addr(ip, &ss);
	assert_int_equal(ost_probe_add(f->p, (struct sockaddr *)&ss, len, cls, qname, qtype), 0);
}

static void test_probe_good_answers_and_tcp(void **state)
{
	(void)state;
	struct pfx *f = pfx_new();
	add(f, "127.53.0.1", FM_ANSWER, OST_FO_ROOT, ".", LDNS_RR_TYPE_SOA);
	add(f, "127.53.1.1", FM_ANSWER, OST_FO_FOREIGN, "com.", LDNS_RR_TYPE_NS);
	add(f, "::1", FM_ANSWER, OST_FO_NATIONAL, "ru.", LDNS_RR_TYPE_SOA);
	assert_int_equal(ost_probe_start(f->p), 0);
	fake_clock_advance(&f->clk, 120000);
	for (size_t i = 0; i < ost_probe_count(f->p); i++) {
		struct ost_probe_stats st;
		assert_int_equal(ost_probe_stats(f->p, i, &st), 0);
		/* 120 s at 3 s +- 20 %: 33 .. 51 probes */
		assert_true(st.probes >= 33 && st.probes <= 51);
		assert_int_equal(st.ok, st.probes);
		assert_int_equal(st.tries, st.probes + (st.tries > st.probes ? 1 : 0));
		assert_true(st.is_up);
		assert_int_equal(st.last_rtt_ms, 20);
		assert_int_equal(f->net.servers[i].n_tcp, st.tries / 6);
	}
	struct ost_probe_stats st;
	assert_int_equal(ost_probe_stats(f->p, 3, &st), -ENOENT);
	ost_fo_evaluate(f->fo);
	struct ost_fo_status fs;
	ost_fo_status(f->fo, &fs);
	/* one target per class: ~3 results per 10 s window, below the 4 needed for a ratio */
	for (int c = 0; c < OST_FO_CLASS_COUNT; c++) {
		assert_true(fs.windows[0].n[c] >= 2 && fs.windows[0].n[c] <= 5);
		assert_true(fs.windows[0].r[c] == 1.0 ||
			    (fs.windows[0].r[c] < 0 && fs.windows[0].n[c] < 4));
	}
	struct ost_buf b = {0};
	assert_int_equal(ost_probe_write(f->p, true, &b), 0);
	assert_non_null(strstr(ost_buf_str(&b), "\"addr\":\"::1@53\",\"class\":\"national\""));
	ost_buf_deinit(&b);
	assert_int_equal(ost_probe_write(f->p, false, &b), 0);
	assert_non_null(strstr(ost_buf_str(&b), "127.53.1.1@53"));
	ost_buf_deinit(&b);
	pfx_free(f);
}

static void test_probe_failures(void **state)
{
	(void)state;
	struct pfx *f = pfx_new();
	add(f, "127.53.0.1", FM_DROP, OST_FO_ROOT, ".", LDNS_RR_TYPE_SOA);
	add(f, "127.53.0.2", FM_REFUSE, OST_FO_ROOT, ".", LDNS_RR_TYPE_SOA);
	add(f, "127.53.0.3", FM_SERVFAIL, OST_FO_ROOT, ".", LDNS_RR_TYPE_SOA);
	add(f, "127.53.0.4", FM_NOAA, OST_FO_ROOT, ".", LDNS_RR_TYPE_SOA);
	add(f, "127.53.0.5", FM_SPOOF, OST_FO_ROOT, ".", LDNS_RR_TYPE_SOA);
	assert_int_equal(ost_probe_start(f->p), 0);
	fake_clock_advance(&f->clk, 60000);
	struct ost_probe_stats st[5];
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(ost_probe_stats(f->p, i, &st[i]), 0);
	/* drop and refuse: three tries per probe, never up */
	for (int i = 0; i < 2; i++) {
		assert_true(st[i].probes >= 15);
		assert_int_equal(st[i].ok, 0);
		assert_false(st[i].is_up);
		assert_true(st[i].tries >= 3 * st[i].probes && st[i].tries <= 3 * st[i].probes + 3);
	}
	/* SERVFAIL and no AA: reachable but broken, one try each, never up */
	for (int i = 2; i < 4; i++) {
		assert_int_equal(st[i].ok, 0);
		assert_true(st[i].tries <= st[i].probes + 1);
	}
	/* spoofed packet rejected, the real answer accepted */
	assert_int_equal(st[4].ok, st[4].probes);
	assert_true(st[4].spoofed >= st[4].probes);
	assert_true(st[4].is_up);
	pfx_free(f);
}

static void test_probe_stop_cancels(void **state)
{
	(void)state;
	struct pfx *f = pfx_new();
	add(f, "127.53.0.1", FM_DROP, OST_FO_ROOT, ".", LDNS_RR_TYPE_SOA);
	assert_int_equal(ost_probe_start(f->p), 0);
	/* run until a query is in flight */
	for (int i = 0; i < 400 && fake_inflight(&f->net) == 0; i++)
		fake_clock_advance(&f->clk, 10);
	assert_int_equal(fake_inflight(&f->net), 1);
	ost_probe_stop(f->p);
	assert_int_equal(fake_inflight(&f->net), 0);
	assert_int_equal(f->net.n_cancelled, 1);
	struct ost_probe_stats before, after;
	assert_int_equal(ost_probe_stats(f->p, 0, &before), 0);
	fake_clock_advance(&f->clk, 10000);
	assert_int_equal(ost_probe_stats(f->p, 0, &after), 0);
	assert_int_equal(after.tries, before.tries);
	/* restart works */
	assert_int_equal(ost_probe_start(f->p), 0);
	fake_clock_advance(&f->clk, 10000);
	assert_int_equal(ost_probe_stats(f->p, 0, &after), 0);
	assert_true(after.tries > before.tries);
	pfx_free(f);
}

static void test_probe_bad_args(void **state)
{
	(void)state;
	struct pfx *f = pfx_new();
	struct sockaddr_storage ss;
	socklen_t len = fake_addr("127.0.0.1", &ss);
	struct sockaddr *sa = (struct sockaddr *)&ss;
	assert_int_equal(ost_probe_add(f->p, sa, len, OST_FO_ROOT, ".", LDNS_RR_TYPE_A), -EINVAL);
	assert_int_equal(ost_probe_add(f->p, sa, len, OST_FO_CLASS_COUNT, ".", 6), -EINVAL);
	assert_int_equal(ost_probe_add(f->p, sa, len, OST_FO_ROOT, "a..b", 6), -EINVAL);
	assert_int_equal(ost_probe_add(f->p, NULL, 0, OST_FO_ROOT, ".", 6), -EINVAL);
	ss.ss_family = AF_UNIX;
	assert_int_equal(ost_probe_add(f->p, sa, len, OST_FO_ROOT, ".", 6), -EINVAL);
	assert_int_equal(ost_probe_count(f->p), 0);
	struct ost_probe_config c;
	ost_probe_config_default(&c);
	c.timeout_ms = 900; /* 3 x 900 > 2400 */
	struct ost_probe *p = NULL;
	assert_int_equal(ost_probe_new(&c, &f->clk.clock, &f->net.tp, f->fo, 1, &p), -EINVAL);
	ost_probe_config_default(&c);
	c.tries = 4;
	assert_int_equal(ost_probe_new(&c, &f->clk.clock, &f->net.tp, f->fo, 1, &p), -EINVAL);
	assert_null(p);
	pfx_free(f);
}

/* New timing while running (a reload): the next probes follow it, targets stay. */
static void test_probe_set_config_live(void **state)
{
	(void)state;
	struct pfx *f = pfx_new();
	add(f, "127.53.0.1", FM_ANSWER, OST_FO_ROOT, ".", LDNS_RR_TYPE_SOA);
	add(f, "127.53.0.2", FM_DROP, OST_FO_ROOT, ".", LDNS_RR_TYPE_SOA);
	assert_int_equal(ost_probe_start(f->p), 0);
	fake_clock_advance(&f->clk, 30000);
	struct ost_probe_stats a0, b0, a1, b1;
	assert_int_equal(ost_probe_stats(f->p, 0, &a0), 0);
	assert_int_equal(ost_probe_stats(f->p, 1, &b0), 0);
	/* 30 s at 3 s +- 20 %: 9 .. 13 probes */
	assert_true(a0.probes >= 9 && a0.probes <= 13);

	/* Refused settings change nothing: 3 x 900 ms do not fit in 2.4 s. */
	struct ost_probe_config c;
	ost_probe_config_default(&c);
	c.timeout_ms = 900;
	char err[160];
	assert_int_equal(ost_probe_config_check(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tries x timeout-ms"));
	assert_int_equal(ost_probe_set_config(f->p, &c), -EINVAL);

	/* One probe a minute, one try of 200 ms: the next probe of each target
	 * comes within one new interval, and a dropped one is not retried. */
	ost_probe_config_default(&c);
	c.interval_ms = 60000;
	c.tries = 1;
	c.timeout_ms = 200;
	assert_int_equal(ost_probe_set_config(f->p, &c), 0);
	fake_clock_advance(&f->clk, 2 * 60000 + 12000);
	assert_int_equal(ost_probe_stats(f->p, 0, &a1), 0);
	assert_int_equal(ost_probe_stats(f->p, 1, &b1), 0);
	/* at most 1 probe in flight at the change, then 2 .. 3 in 132 s */
	assert_true(a1.probes - a0.probes >= 2 && a1.probes - a0.probes <= 4);
	assert_true(b1.probes - b0.probes >= 2 && b1.probes - b0.probes <= 4);
	/* the dropped target: one try per new probe (plus what was in flight) */
	assert_true(b1.tries - b0.tries <= (b1.probes - b0.probes) + 3);

	/* Back to a short interval: it applies at once, not after the minute. */
	ost_probe_config_default(&c);
	c.interval_ms = 1000;
	c.timeout_ms = 250;
	assert_int_equal(ost_probe_set_config(f->p, &c), 0);
	fake_clock_advance(&f->clk, 10000);
	assert_int_equal(ost_probe_stats(f->p, 0, &a0), 0);
	assert_true(a0.probes - a1.probes >= 8 && a0.probes - a1.probes <= 13);
	assert_int_equal(ost_probe_count(f->p), 2);
	pfx_free(f);
}

static void test_probe_drives_failover_to_isolated(void **state)
{
	(void)state;
	struct pfx *f = pfx_new();
	const char *ips[] = {"127.53.0.1", "127.53.0.2", "127.53.0.3", "127.53.1.1", "127.53.1.2",
			     "127.53.1.3", "127.53.2.1", "127.53.2.2", "127.53.2.3"};
	const char *names[] = {".", "com.", "ru."};
	for (int i = 0; i < 9; i++)
		add(f, ips[i], FM_ANSWER, (enum ost_fo_class)(i / 3), names[i / 3],
		    LDNS_RR_TYPE_SOA);
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_MIRROR_READY, NULL), 0);
	assert_int_equal(ost_probe_start(f->p), 0);
	fake_clock_advance(&f->clk, 60000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL);
	uint64_t t0 = f->clk.now_ms, t_iso = 0;
	for (int i = 0; i < 6; i++)
		f->net.servers[i].mode = FM_DROP;
	while (f->clk.now_ms - t0 < 60000 && !t_iso) {
		fake_clock_advance(&f->clk, 100);
		if (ost_fo_state(f->fo) == OST_FO_ISOLATED)
			t_iso = f->clk.now_ms;
	}
	print_message("  real probes, full cut: ISOLATED after %llu ms\n",
		      (unsigned long long)(t_iso - t0));
	assert_true(t_iso && t_iso - t0 <= 30000);
	/* national targets stayed up */
	struct ost_probe_stats st;
	assert_int_equal(ost_probe_stats(f->p, 8, &st), 0);
	assert_true(st.is_up);
	pfx_free(f);
}

const struct CMUnitTest probe_tests[] = {
	cmocka_unit_test(test_probe_good_answers_and_tcp),
	cmocka_unit_test(test_probe_failures),
	cmocka_unit_test(test_probe_stop_cancels),
	cmocka_unit_test(test_probe_bad_args),
	cmocka_unit_test(test_probe_set_config_live),
	cmocka_unit_test(test_probe_drives_failover_to_isolated),
};
const size_t probe_tests_n = sizeof(probe_tests) / sizeof(probe_tests[0]);
