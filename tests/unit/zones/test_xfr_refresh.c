/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the refresh scheduler (zones/refresh.c) on the pinned clock:
 * SOA refresh with jitter, transfer only for a newer serial, retry timers,
 * rotation across sources after a silent source or a transfer cut half-way,
 * an immediate check when nothing is stored, and NOTIFY (zones/notify.c):
 * parsing, answering, accepted from a source, refused from a stranger.
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

#include <cmocka.h>
#include <ldns/ldns.h>

#include "ostrov/log.h"
#include "ostrov/xfr.h"

#include "ost_test.h"
#include "test_xfr.h"

#define T_WALL 1700000000

struct rfx {
	struct xfr_fixture *f;
	struct ost_refresh *r;
	int updates;
	uint32_t last_update_serial;
};

static void on_update(const char *zone, uint32_t serial, void *arg)
{
	struct rfx *x = arg;
	assert_string_equal(zone, "example.");
	x->updates++;
	x->last_update_serial = serial;
}

static void rfx_start(struct rfx *x, const struct ost_xfr_source *srcs, size_t n)
{
	assert_int_equal(ost_refresh_new(xfx_mirror(x->f), xfx_store(x->f), xfx_tp(x->f),
					 &xfx_clock(x->f)->clock, &x->r),
			 0);
	struct ost_refresh_zone_config zc = {
		.zone = "example.", .sources = srcs, .n_sources = n, .timeout_ms = 5000};
	assert_int_equal(ost_refresh_add_zone(x->r, &zc), 0);
	ost_refresh_set_update_cb(x->r, on_update, x);
	ost_refresh_start(x->r);
}

static void rfx_done(struct rfx *x)
{
	ost_refresh_free(x->r);
	xfx_free(x->f);
}

static struct ost_refresh_status status(struct rfx *x)
{
	struct ost_refresh_status st;
	assert_int_equal(ost_refresh_status(x->r, "example.", &st), 0);
	return st;
}

/* Seeded version 1 was fetched at T_WALL; the clock says T_WALL+1000, so the
 * refresh (1800 s) is due in 800 s plus up to 10 % jitter. */
static void test_refresh_newer(void **state)
{
	(void)state;
	struct rfx x = {.f = xfx_new()};
	const struct ost_xfr_source *s = xfx_add_source(x.f, "127.0.0.21", 2, 0);
	xfx_seed_v1(x.f);
	rfx_start(&x, s, 1);
	struct fake_clock *c = xfx_clock(x.f);
	uint64_t t0 = c->now_ms;
	struct ost_refresh_status st = status(&x);
	assert_int_equal(st.state, OST_RS_IDLE);
	assert_true(st.next_check_ms >= t0 + 800000 && st.next_check_ms <= t0 + 880000);
	unsigned udp, axfr;
	fake_clock_advance(c, 799000);
	xfx_counts(x.f, 0, &udp, &axfr);
	assert_int_equal(udp, 0);
	fake_clock_advance(c, 100000);
	xfx_counts(x.f, 0, &udp, &axfr);
	assert_int_equal(udp, 1);
	assert_int_equal(axfr, 1);
	assert_int_equal(xfx_serial(x.f), 2);
	assert_int_equal(x.updates, 1);
	assert_int_equal(x.last_update_serial, 2);
	st = status(&x);
	assert_int_equal(st.imports, 1);
	assert_int_equal(st.state, OST_RS_IDLE);
	/* Next refresh: the new SOA's 1800 s, jittered by at most 10 %. */
	assert_true(st.next_check_ms >= c->now_ms + 1700000);
	assert_true(st.next_check_ms <= c->now_ms + 1980000);
	rfx_done(&x);
}

static void test_refresh_not_newer(void **state)
{
	(void)state;
	struct rfx x = {.f = xfx_new()};
	const struct ost_xfr_source *s = xfx_add_source(x.f, "127.0.0.21", 1, 0);
	xfx_seed_v1(x.f);
	struct ost_zone_meta before;
	assert_int_equal(ost_zone_store_get_meta(xfx_store(x.f), "example.", &before), 0);
	rfx_start(&x, s, 1);
	fake_clock_advance(xfx_clock(x.f), 900000);
	unsigned udp, axfr;
	xfx_counts(x.f, 0, &udp, &axfr);
	assert_int_equal(udp, 1);
	assert_int_equal(axfr, 0); /* same serial: no transfer */
	struct ost_refresh_status st = status(&x);
	assert_int_equal(st.up_to_date, 1);
	assert_int_equal(x.updates, 0);
	/* A current serial is a successful refresh: the expire deadline moved. */
	struct ost_zone_meta after;
	assert_int_equal(ost_zone_store_get_meta(xfx_store(x.f), "example.", &after), 0);
	assert_true(after.soa_expire_deadline > before.soa_expire_deadline);
	rfx_done(&x);
}

static void test_rotation_silent_source(void **state)
{
	(void)state;
	struct rfx x = {.f = xfx_new()};
	const struct ost_xfr_source *s = xfx_add_source(x.f, "127.0.0.21", 2, xfx_flag_silent());
	xfx_add_source(x.f, "127.0.0.22", 2, 0);
	xfx_seed_v1(x.f);
	rfx_start(&x, s, 2);
	fake_clock_advance(xfx_clock(x.f), 900000);
	unsigned udp, axfr;
	xfx_counts(x.f, 1, &udp, &axfr);
	assert_int_equal(udp, 1);
	assert_int_equal(axfr, 1);
	assert_int_equal(xfx_serial(x.f), 2);
	struct ost_refresh_status st = status(&x);
	assert_int_equal(st.failures, 1);
	assert_non_null(strstr(st.last_error, "SOA query"));
	/* The good source is used first next time. */
	assert_int_equal(st.source, 1);
	rfx_done(&x);
}

static void test_rotation_cut_transfer(void **state)
{
	(void)state;
	struct rfx x = {.f = xfx_new()};
	const struct ost_xfr_source *s = xfx_add_source(x.f, "127.0.0.21", 2, xfx_flag_cut());
	xfx_add_source(x.f, "127.0.0.22", 2, 0);
	xfx_seed_v1(x.f);
	rfx_start(&x, s, 2);
	fake_clock_advance(xfx_clock(x.f), 900000);
	unsigned udp, axfr;
	xfx_counts(x.f, 0, &udp, &axfr);
	assert_int_equal(axfr, 1); /* tried, cut, nothing stored from it */
	xfx_counts(x.f, 1, &udp, &axfr);
	assert_int_equal(axfr, 1);
	assert_int_equal(xfx_serial(x.f), 2);
	struct ost_refresh_status st = status(&x);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.imports, 1);
	assert_non_null(strstr(st.last_error, "transfer ended"));
	rfx_done(&x);
}

static void test_all_fail_retry(void **state)
{
	(void)state;
	struct rfx x = {.f = xfx_new()};
	const struct ost_xfr_source *s = xfx_add_source(x.f, "127.0.0.21", 2, xfx_flag_silent());
	xfx_add_source(x.f, "127.0.0.22", 2, xfx_flag_silent());
	xfx_seed_v1(x.f);
	rfx_start(&x, s, 2);
	struct fake_clock *c = xfx_clock(x.f);
	fake_clock_advance(c, 900000);
	struct ost_refresh_status st = status(&x);
	assert_int_equal(st.failures, 2);
	assert_int_equal(st.state, OST_RS_IDLE);
	/* Retry (900 s) with jitter, not refresh (1800 s). */
	assert_true(st.next_check_ms >= c->now_ms + 800000);
	assert_true(st.next_check_ms <= c->now_ms + 990000 + 5000);
	assert_int_equal(xfx_serial(x.f), 1);
	/* The first source answers again: the retry round picks it up. */
	xfx_set_flags(x.f, 0, 0);
	fake_clock_advance(c, 1000000);
	assert_int_equal(xfx_serial(x.f), 2);
	rfx_done(&x);
}

/* Every source silent for longer than the SOA expire (7 days): the mirror
 * stops being usable, the scheduler says so once and keeps retrying; when a
 * source answers again the zone is transferred and usable again. */
static void test_expire(void **state)
{
	(void)state;
	struct rfx x = {.f = xfx_new()};
	const struct ost_xfr_source *s = xfx_add_source(x.f, "127.0.0.21", 2, xfx_flag_silent());
	xfx_seed_v1(x.f);
	rfx_start(&x, s, 1);
	struct fake_clock *c = xfx_clock(x.f);
	struct ost_mirror_zone_status ms;
	fake_clock_advance(c, 6ull * 86400 * 1000);
	assert_int_equal(ost_mirror_zone_status(xfx_mirror(x.f), "example.", &ms), 0);
	assert_true(ms.is_usable);
	assert_int_equal(status(&x).expired, 0);
	fake_clock_advance(c, 2ull * 86400 * 1000);
	assert_int_equal(ost_mirror_zone_status(xfx_mirror(x.f), "example.", &ms), 0);
	assert_false(ms.is_usable);
	assert_int_equal(status(&x).expired, 1);
	xfx_set_flags(x.f, 0, 0);
	fake_clock_advance(c, 1000ull * 1000);
	assert_int_equal(ost_mirror_zone_status(xfx_mirror(x.f), "example.", &ms), 0);
	assert_true(ms.is_usable);
	assert_int_equal(xfx_serial(x.f), 2);
	assert_int_equal(status(&x).expired, 1);
	rfx_done(&x);
}

static void test_no_version_checks_at_once(void **state)
{
	(void)state;
	struct rfx x = {.f = xfx_new()};
	const struct ost_xfr_source *s = xfx_add_source(x.f, "127.0.0.21", 2, 0);
	rfx_start(&x, s, 1);
	unsigned udp, axfr;
	xfx_counts(x.f, 0, &udp, &axfr);
	assert_int_equal(udp, 0); /* never from inside start */
	fake_clock_advance(xfx_clock(x.f), 2000);
	xfx_counts(x.f, 0, &udp, &axfr);
	assert_int_equal(udp, 1);
	assert_int_equal(axfr, 1);
	assert_int_equal(xfx_serial(x.f), 2);
	rfx_done(&x);
}

static void test_notify(void **state)
{
	(void)state;
	struct rfx x = {.f = xfx_new()};
	const struct ost_xfr_source *s = xfx_add_source(x.f, "127.0.0.21", 2, 0);
	xfx_seed_v1(x.f);
	rfx_start(&x, s, 1);
	uint8_t buf[512], ans[512];
	size_t len, alen;
	assert_int_equal(ost_notify_build("Example.", 2, 0x1234, buf, sizeof(buf), &len), 0);
	struct ost_notify n;
	assert_int_equal(ost_notify_parse(buf, len, &n), 0);
	assert_string_equal(n.zone, "example.");
	assert_int_equal(n.id, 0x1234);
	assert_true(n.has_serial);
	assert_int_equal(n.serial, 2);
	assert_int_equal(ost_notify_answer(buf, len, LDNS_RCODE_NOERROR, ans, sizeof(ans), &alen),
			 0);
	ldns_pkt *a = NULL;
	assert_int_equal(ldns_wire2pkt(&a, ans, alen), LDNS_STATUS_OK);
	assert_true(ldns_pkt_qr(a));
	assert_int_equal(ldns_pkt_id(a), 0x1234);
	assert_int_equal(ldns_pkt_get_opcode(a), LDNS_PACKET_NOTIFY);
	ldns_pkt_free(a);

	/* A stranger is refused; nothing is asked. */
	struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(5353)};
	inet_pton(AF_INET, "127.0.0.99", &from.sin_addr);
	assert_int_equal(ost_refresh_notify(x.r, &n, (struct sockaddr *)&from), OST_ENOTALLOWED);
	fake_clock_advance(xfx_clock(x.f), 1000);
	unsigned udp, axfr;
	xfx_counts(x.f, 0, &udp, &axfr);
	assert_int_equal(udp, 0);
	/* The source (any port) triggers a check long before the refresh. */
	inet_pton(AF_INET, "127.0.0.21", &from.sin_addr);
	assert_int_equal(ost_refresh_notify(x.r, &n, (struct sockaddr *)&from), 0);
	fake_clock_advance(xfx_clock(x.f), 1000);
	xfx_counts(x.f, 0, &udp, &axfr);
	assert_int_equal(udp, 1);
	assert_int_equal(axfr, 1);
	assert_int_equal(xfx_serial(x.f), 2);
	assert_int_equal(status(&x).notifies, 1);
	/* Unknown zone. */
	snprintf(n.zone, sizeof(n.zone), "other.");
	assert_int_equal(ost_refresh_notify(x.r, &n, (struct sockaddr *)&from), -ENOENT);
	rfx_done(&x);
}

static void test_notify_malformed(void **state)
{
	(void)state;
	struct ost_notify n;
	uint8_t buf[512] = {0};
	size_t len;
	assert_int_equal(ost_notify_parse(buf, 3, &n), OST_EMALFORMED);
	/* A plain query is not a NOTIFY. */
	ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str("example."), LDNS_RR_TYPE_SOA,
					 LDNS_RR_CLASS_IN, 0);
	uint8_t *w = NULL;
	assert_int_equal(ldns_pkt2wire(&w, q, &len), LDNS_STATUS_OK);
	assert_int_equal(ost_notify_parse(w, len, &n), OST_EMALFORMED);
	/* A NOTIFY for another type. */
	ldns_pkt_set_opcode(q, LDNS_PACKET_NOTIFY);
	ldns_rr_set_type(ldns_rr_list_rr(ldns_pkt_question(q), 0), LDNS_RR_TYPE_A);
	free(w);
	assert_int_equal(ldns_pkt2wire(&w, q, &len), LDNS_STATUS_OK);
	assert_int_equal(ost_notify_parse(w, len, &n), OST_EMALFORMED);
	free(w);
	ldns_pkt_free(q);
	(void)buf;
}

const struct CMUnitTest refresh_tests[] = {
	cmocka_unit_test(test_refresh_newer),
	cmocka_unit_test(test_refresh_not_newer),
	cmocka_unit_test(test_rotation_silent_source),
	cmocka_unit_test(test_rotation_cut_transfer),
	cmocka_unit_test(test_all_fail_retry),
	cmocka_unit_test(test_expire),
	cmocka_unit_test(test_no_version_checks_at_once),
	cmocka_unit_test(test_notify),
	cmocka_unit_test(test_notify_malformed),
};
const size_t refresh_tests_count = sizeof(refresh_tests) / sizeof(refresh_tests[0]);

int main(void)
{
	ost_log_set_level(OST_LOG_ERR);
	int fails = _cmocka_run_group_tests("xfr", xfr_tests, xfr_tests_count, NULL, NULL);
	fails += _cmocka_run_group_tests("refresh", refresh_tests, refresh_tests_count, NULL, NULL);
	return fails;
}
