/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of drills: the destination map, the wrapping transport (drop at
 * the query's timeout, refuse, seeded loss share, tld-cut, poisoned-source
 * tampering, cancel), passive feeding, the life cycle (second start, stop
 * without drill, duration), the abort guard, the report's numbers against
 * answers the test fed itself, and two end-to-end runs with the real probe
 * scheduler: a foreign cut detected within 30 s and recovered, and 10 minutes
 * of 30 % foreign loss without a single transition.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "ostrov/drill.h"
#include "ostrov/resolver.h"

#include "ost_test.h"
#include "tests_resilience.h"

struct dfx {
	struct fake_clock clk;
	struct fake_net net;
	struct ost_fo *fo;
	struct ost_drill *d;
	struct ost_probe *p;
};

static void map_lab(struct ost_drill_config *c)
{
	assert_int_equal(ost_dest_map_add(&c->map, "127.53.0.0/24", OST_DEST_ROOT), 0);
	assert_int_equal(ost_dest_map_add(&c->map, "127.53.1.0/24", OST_DEST_FOREIGN_TLD), 0);
	assert_int_equal(ost_dest_map_add(&c->map, "127.53.2.0/24", OST_DEST_NATIONAL), 0);
	assert_int_equal(ost_dest_map_add(&c->map, "127.53.3.0/24", OST_DEST_MIRROR_SOURCE), 0);
}

static struct dfx *dfx_new(const struct ost_drill_config *cfg_in, uint64_t seed)
{
	struct dfx *f = calloc(1, sizeof(*f));
	fake_clock_init_at(&f->clk, 1790000000, 0);
	fake_net_init(&f->net, &f->clk);
	f->net.latency_ms = 20; /* the probe timing these tests were written for */
	assert_int_equal(ost_fo_new(NULL, &f->clk.clock, &f->fo), 0);
	struct ost_drill_config cfg;
	if (cfg_in) {
		cfg = *cfg_in;
	} else {
		ost_drill_config_default(&cfg);
		map_lab(&cfg);
	}
	assert_int_equal(ost_drill_new(&cfg, &f->clk.clock, &f->net.tp, f->fo, seed, &f->d), 0);
	return f;
}

static void dfx_free(struct dfx *f)
{
	ost_probe_free(f->p);
	ost_drill_free(f->d);
	ost_fo_free(f->fo);
	fake_net_deinit(&f->net);
	fake_clock_deinit(&f->clk);
	free(f);
}

/* Probe targets: 3 roots, 3 foreign TLD servers, 3 national servers, all answering. */
static void dfx_lab_probes(struct dfx *f, uint64_t seed)
{
	const char *ips[] = {"127.53.0.1", "127.53.0.2", "127.53.0.3", "127.53.1.1", "127.53.1.2",
			     "127.53.1.3", "127.53.2.1", "127.53.2.2", "127.53.2.3"};
	const char *names[] = {".", "com.", "ru."};
	assert_int_equal(ost_probe_new(NULL, &f->clk.clock, ost_drill_probe_transport(f->d), f->fo,
				       seed, &f->p),
			 0);
	for (int i = 0; i < 9; i++) {
		if (!fake_server_get(&f->net, ips[i]))
			fake_server_add(&f->net, ips[i], FM_ANSWER);
		struct sockaddr_storage ss;
		socklen_t len = fake_addr(ips[i], &ss);
		assert_int_equal(ost_probe_add(f->p, (struct sockaddr *)&ss, len,
					       (enum ost_fo_class)(i / 3), names[i / 3],
					       LDNS_RR_TYPE_SOA),
				 0);
	}
	assert_int_equal(ost_probe_start(f->p), 0);
}

/* A client of the transport: one query, its outcome. */
struct cq {
	struct ost_upstream_query q;
	uint8_t *wire;
	int status;
	unsigned calls;
	uint64_t done_ms;
	struct fake_clock *clk;
	ldns_pkt *answer;
};

static int cq_cb(struct ost_upstream_query *q, int status, const uint8_t *pkt, size_t len)
{
	struct cq *c = q->arg;
	c->calls++;
	c->status = status;
	c->done_ms = c->clk->now_ms;
	if (status == 0) {
		ldns_pkt_free(c->answer);
		c->answer = NULL;
		assert_int_equal(ldns_wire2pkt(&c->answer, pkt, len), LDNS_STATUS_OK);
	}
	return 0;
}

static void cq_send(struct dfx *f, const struct ost_transport *tp, struct cq *c, const char *ip,
		    const char *qname, uint16_t qtype)
{
	memset(c, 0, sizeof(*c));
	c->clk = &f->clk;
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_pkt_query_new_frm_str(&p, qname, qtype, LDNS_RR_CLASS_IN, 0),
			 LDNS_STATUS_OK);
	ldns_pkt_set_id(p, 4242);
	size_t len;
	assert_int_equal(ldns_pkt2wire(&c->wire, p, &len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	c->q.addrlen = fake_addr(ip, &c->q.addr);
	c->q.wire = c->wire;
	c->q.len = len;
	c->q.timeout_ms = 400;
	c->q.cb = cq_cb;
	c->q.arg = c;
	assert_int_equal(tp->ops->send(tp->ctx, &c->q), 0);
}

static void cq_free(struct cq *c)
{
	LDNS_FREE(c->wire);
	ldns_pkt_free(c->answer);
	c->wire = NULL;
	c->answer = NULL;
}

/*
 * ---------------------------------------------------------------------------
 * Map and names
 * ---------------------------------------------------------------------------
 */

static const struct sockaddr *sa_of(const char *ip, struct sockaddr_storage *ss)
{
	fake_addr(ip, ss);
	return (const struct sockaddr *)ss;
}

static void test_drill_dest_map(void **state)
{
	(void)state;
	struct ost_dest_map m = {0};
	struct sockaddr_storage ss;
	assert_int_equal(ost_dest_map_classify(&m, sa_of("127.53.0.1", &ss)), OST_DEST_FOREIGN);
	assert_int_equal(ost_dest_map_add(&m, "127.53.0.0/16", OST_DEST_NATIONAL), 0);
	assert_int_equal(ost_dest_map_add(&m, "127.53.0.0/24", OST_DEST_ROOT), 0);
	assert_int_equal(ost_dest_map_add(&m, "127.53.0.7", OST_DEST_MIRROR_SOURCE), 0);
	assert_int_equal(ost_dest_map_add(&m, "fd00::/8", OST_DEST_FOREIGN_TLD), 0);
	assert_int_equal(ost_dest_map_classify(&m, sa_of("127.53.0.1", &ss)), OST_DEST_ROOT);
	assert_int_equal(ost_dest_map_classify(&m, sa_of("127.53.0.7", &ss)),
			 OST_DEST_MIRROR_SOURCE);
	assert_int_equal(ost_dest_map_classify(&m, sa_of("127.53.9.1", &ss)), OST_DEST_NATIONAL);
	assert_int_equal(ost_dest_map_classify(&m, sa_of("127.54.0.1", &ss)), OST_DEST_FOREIGN);
	assert_int_equal(ost_dest_map_classify(&m, sa_of("fd12::1", &ss)), OST_DEST_FOREIGN_TLD);
	assert_int_equal(ost_dest_map_classify(&m, sa_of("::ffff:127.53.0.1", &ss)), OST_DEST_ROOT);
	const char *bad[] = {"",         "127.0.0.1/33", "::/129",     "1.2.3.4/", "1.2.3.4/x",
			     "nonsense", "1.2.3.4/-1",   "1.2.3.4/+8", NULL};
	for (int i = 0; i < 8; i++)
		assert_int_equal(ost_dest_map_add(&m, bad[i], OST_DEST_ROOT), -EINVAL);
	assert_int_equal(ost_dest_map_add(&m, NULL, OST_DEST_ROOT), -EINVAL);
	assert_int_equal(ost_dest_map_add(&m, "1.2.3.4", OST_DEST_CLASS_COUNT), -EINVAL);
	int rc = 0;
	while (rc == 0)
		rc = ost_dest_map_add(&m, "10.0.0.0/8", OST_DEST_ROOT);
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(m.n, OST_DEST_MAX_PREFIXES);
	assert_int_equal(ost_dest_fo_class(OST_DEST_FOREIGN_TLD), OST_FO_FOREIGN);
	assert_int_equal(ost_dest_fo_class(OST_DEST_MIRROR_SOURCE), OST_FO_NATIONAL);
}

static void test_drill_config_by_name(void **state)
{
	(void)state;
	struct ost_drill_config c;
	char err[160];
	ost_drill_config_default(&c);
	assert_int_equal(ost_drill_config_set(&c, "loss-share", "0.5", err, sizeof(err)), 0);
	assert_true(c.loss_share == 0.5);
	assert_int_equal(ost_drill_config_set(&c, "abort-p99-ms", "2000", err, sizeof(err)), 0);
	assert_int_equal(c.abort_p99_ms, 2000);
	assert_int_equal(ost_drill_config_set(&c, "cut-mode", "refuse", err, sizeof(err)), 0);
	assert_int_equal(c.cut_mode, OST_DRILL_REFUSE);
	assert_int_equal(ost_drill_config_set(&c, "cut-mode", "explode", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(
		ost_drill_config_set(&c, "dest-national", "127.53.2.0/24", err, sizeof(err)), 0);
	assert_int_equal(ost_drill_config_set(&c, "dest-root", "127.53.0.0/33", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "dest-root"));
	struct sockaddr_storage ss;
	assert_int_equal(ost_dest_map_classify(&c.map, sa_of("127.53.2.9", &ss)),
			 OST_DEST_NATIONAL);
	assert_int_equal(ost_drill_config_set(&c, "loss-share", "1.01", err, sizeof(err)), -EINVAL);
	assert_int_equal(ost_drill_config_set(&c, "nope", "1", err, sizeof(err)), -ENOENT);
}

static void test_drill_profile_names(void **state)
{
	(void)state;
	enum ost_drill_profile p;
	const char *names[] = {"foreign-cut", "foreign-loss", "tld-cut", "poisoned-source"};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(ost_drill_profile_parse(names[i], &p), 0);
		assert_int_equal(p, i);
		assert_string_equal(ost_drill_profile_str(p), names[i]);
	}
	assert_int_equal(ost_drill_profile_parse("mars-cut", &p), -EINVAL);
	assert_int_equal(ost_drill_profile_parse("", &p), -EINVAL);
	assert_int_equal(ost_drill_profile_parse(NULL, &p), -EINVAL);
	assert_string_equal(ost_drill_profile_str(OST_DRILL_PROFILE_COUNT), "?");
}

/*
 * ---------------------------------------------------------------------------
 * The wrapping transport
 * ---------------------------------------------------------------------------
 */

static void test_drill_passthrough_and_passive(void **state)
{
	(void)state;
	struct dfx *f = dfx_new(NULL, 1);
	fake_server_add(&f->net, "127.53.2.1", FM_ANSWER);
	fake_server_add(&f->net, "127.53.1.1", FM_DROP);
	struct cq a, b, c;
	cq_send(f, ost_drill_transport(f->d), &a, "127.53.2.1", "ru.", LDNS_RR_TYPE_SOA);
	cq_send(f, ost_drill_transport(f->d), &b, "127.53.1.1", "com.", LDNS_RR_TYPE_SOA);
	cq_send(f, ost_drill_probe_transport(f->d), &c, "127.53.2.1", "ru.", LDNS_RR_TYPE_SOA);
	fake_clock_advance(&f->clk, 1000);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, 0);
	assert_int_equal(ldns_pkt_id(a.answer), 4242);
	assert_int_equal(b.status, -ETIMEDOUT);
	assert_int_equal(c.status, 0);
	assert_int_equal(fake_server_get(&f->net, "127.53.2.1")->n_queries, 2);
	/* passive: the resolver face fed 1 national ok and 1 foreign failure; probes nothing */
	ost_fo_evaluate(f->fo);
	struct ost_fo_status st;
	ost_fo_status(f->fo, &st);
	assert_int_equal(st.windows[0].passive_n[OST_FO_NATIONAL], 1);
	assert_true(st.windows[0].passive_fail[OST_FO_NATIONAL] == 0.0);
	assert_int_equal(st.windows[0].passive_n[OST_FO_FOREIGN], 1);
	assert_true(st.windows[0].passive_fail[OST_FO_FOREIGN] == 1.0);
	cq_free(&a);
	cq_free(&b);
	cq_free(&c);
	dfx_free(f);
}

static void test_drill_foreign_cut_drops(void **state)
{
	(void)state;
	struct dfx *f = dfx_new(NULL, 1);
	const char *ips[] = {"127.53.0.1", "127.53.1.1", "127.53.9.9", "127.53.2.1", "127.53.3.1"};
	for (int i = 0; i < 5; i++)
		fake_server_add(&f->net, ips[i], FM_ANSWER);
	char id[64];
	assert_int_equal(ost_drill_start(f->d, OST_DRILL_FOREIGN_CUT, 60, "op", id, sizeof(id)), 0);
	assert_non_null(strstr(id, "foreign-cut"));
	struct cq c[5];
	uint64_t t0 = f->clk.now_ms;
	for (int i = 0; i < 5; i++)
		cq_send(f, ost_drill_transport(f->d), &c[i], ips[i], ".", LDNS_RR_TYPE_SOA);
	fake_clock_advance(&f->clk, 399);
	for (int i = 0; i < 3; i++)
		assert_int_equal(c[i].calls, 0); /* swallowed: nothing before the timeout */
	fake_clock_advance(&f->clk, 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(c[i].calls, 1);
		assert_int_equal(c[i].status, -ETIMEDOUT);
		assert_int_equal(c[i].done_ms - t0, 400);
		/* never reached the network */
		assert_int_equal(fake_server_get(&f->net, ips[i])->n_queries, 0);
	}
	for (int i = 3; i < 5; i++) {
		assert_int_equal(c[i].status, 0);
		assert_int_equal(c[i].done_ms - t0, 20);
		assert_int_equal(fake_server_get(&f->net, ips[i])->n_queries, 1);
	}
	/* a cut query cancelled before its timeout never calls back */
	struct cq x;
	cq_send(f, ost_drill_transport(f->d), &x, "127.53.0.1", ".", LDNS_RR_TYPE_SOA);
	ost_drill_transport(f->d)->ops->cancel(ost_drill_transport(f->d)->ctx, &x.q);
	/* and a passed-through one is cancelled in the real transport */
	struct cq y;
	cq_send(f, ost_drill_transport(f->d), &y, "127.53.2.1", ".", LDNS_RR_TYPE_SOA);
	ost_drill_transport(f->d)->ops->cancel(ost_drill_transport(f->d)->ctx, &y.q);
	assert_int_equal(f->net.n_cancelled, 1);
	fake_clock_advance(&f->clk, 1000);
	assert_int_equal(x.calls, 0);
	assert_int_equal(y.calls, 0);
	struct ost_drill_report r;
	assert_int_equal(ost_drill_report_get(f->d, &r), 0);
	assert_int_equal(r.sent[OST_DEST_ROOT], 2);
	assert_int_equal(r.cut[OST_DEST_ROOT], 2);
	assert_int_equal(r.cut[OST_DEST_FOREIGN_TLD], 1);
	assert_int_equal(r.cut[OST_DEST_FOREIGN], 1);
	assert_int_equal(r.cut[OST_DEST_NATIONAL], 0);
	assert_int_equal(r.cut[OST_DEST_MIRROR_SOURCE], 0);
	for (int i = 0; i < 5; i++)
		cq_free(&c[i]);
	cq_free(&x);
	cq_free(&y);
	dfx_free(f);
}

static void test_drill_worker_face(void **state)
{
	(void)state;
	struct dfx *f = dfx_new(NULL, 1);
	/* a second loop: its own clock and real transport */
	struct fake_clock wclk;
	struct fake_net wnet;
	fake_clock_init_at(&wclk, 1790000000, 0);
	fake_net_init(&wnet, &wclk);
	wnet.latency_ms = 20;
	fake_server_add(&wnet, "127.53.0.1", FM_ANSWER);
	fake_server_add(&wnet, "127.53.2.1", FM_ANSWER);
	const struct ost_transport *tp = NULL;
	assert_int_equal(ost_drill_add_face(f->d, &wnet.tp, &wclk.clock, true, &tp), 0);
	assert_int_equal(ost_drill_add_face(f->d, NULL, &wclk.clock, true, &tp), -EINVAL);
	assert_int_equal(ost_drill_start(f->d, OST_DRILL_FOREIGN_CUT, 0, NULL, NULL, 0), 0);
	struct cq root, nat;
	cq_send(f, tp, &root, "127.53.0.1", ".", LDNS_RR_TYPE_SOA);
	cq_send(f, tp, &nat, "127.53.2.1", "ru.", LDNS_RR_TYPE_SOA);
	root.clk = nat.clk = &wclk;
	/* the controller's clock moving does not complete the worker's queries */
	fake_clock_advance(&f->clk, 1000);
	assert_int_equal(root.calls + nat.calls, 0);
	fake_clock_advance(&wclk, 1000);
	assert_int_equal(root.status, -ETIMEDOUT);
	assert_int_equal(nat.status, 0);
	assert_int_equal(wnet.servers[0].n_queries, 0);
	assert_int_equal(wnet.servers[1].n_queries, 1);
	/* the shared drill state counted both, and the failover machine heard of both */
	struct ost_drill_report r;
	assert_int_equal(ost_drill_report_get(f->d, &r), 0);
	assert_int_equal(r.cut[OST_DEST_ROOT], 1);
	assert_int_equal(r.sent[OST_DEST_NATIONAL], 1);
	ost_fo_evaluate(f->fo);
	struct ost_fo_status st;
	ost_fo_status(f->fo, &st);
	assert_int_equal(st.windows[0].passive_n[OST_FO_ROOT], 1);
	assert_int_equal(st.windows[0].passive_n[OST_FO_NATIONAL], 1);
	cq_free(&root);
	cq_free(&nat);
	dfx_free(f);
	fake_net_deinit(&wnet);
	assert_int_equal(fake_clock_deinit(&wclk), 0);
}

static void test_drill_refuse_mode_and_tld_cut(void **state)
{
	(void)state;
	struct ost_drill_config cfg;
	ost_drill_config_default(&cfg);
	map_lab(&cfg);
	cfg.cut_mode = OST_DRILL_REFUSE;
	struct dfx *f = dfx_new(&cfg, 1);
	fake_server_add(&f->net, "127.53.0.1", FM_ANSWER);
	fake_server_add(&f->net, "127.53.1.1", FM_ANSWER);
	assert_int_equal(ost_drill_start(f->d, OST_DRILL_TLD_CUT, 0, NULL, NULL, 0), 0);
	struct cq root, tld;
	cq_send(f, ost_drill_transport(f->d), &root, "127.53.0.1", ".", LDNS_RR_TYPE_SOA);
	cq_send(f, ost_drill_transport(f->d), &tld, "127.53.1.1", "com.", LDNS_RR_TYPE_SOA);
	fake_clock_advance(&f->clk, 1);
	assert_int_equal(tld.calls, 1);
	assert_int_equal(tld.status, -ECONNREFUSED);
	assert_int_equal(root.calls, 0);
	fake_clock_advance(&f->clk, 100);
	assert_int_equal(root.status, 0); /* roots fine */
	cq_free(&root);
	cq_free(&tld);
	dfx_free(f);
}

static void test_drill_loss_share(void **state)
{
	(void)state;
	struct dfx *f = dfx_new(NULL, 77);
	fake_server_add(&f->net, "127.53.1.1", FM_ANSWER);
	fake_server_add(&f->net, "127.53.2.1", FM_ANSWER);
	assert_int_equal(ost_drill_start(f->d, OST_DRILL_FOREIGN_LOSS, 3600, NULL, NULL, 0), 0);
	unsigned lost = 0, n = 4000, nat_lost = 0;
	struct cq c;
	for (unsigned i = 0; i < n; i++) {
		cq_send(f, ost_drill_transport(f->d), &c, "127.53.1.1", "com.", LDNS_RR_TYPE_SOA);
		fake_clock_advance(&f->clk, 500);
		assert_int_equal(c.calls, 1);
		lost += c.status == -ETIMEDOUT;
		cq_free(&c);
		cq_send(f, ost_drill_transport(f->d), &c, "127.53.2.1", "ru.", LDNS_RR_TYPE_SOA);
		fake_clock_advance(&f->clk, 100);
		nat_lost += c.status != 0;
		cq_free(&c);
	}
	double share = (double)lost / n;
	print_message("  foreign-loss 0.30: %u of %u lost (%.3f)\n", lost, n, share);
	assert_true(share > 0.27 && share < 0.33);
	assert_int_equal(nat_lost, 0);
	struct ost_drill_report r;
	assert_int_equal(ost_drill_report_get(f->d, &r), 0);
	assert_int_equal(r.cut[OST_DEST_FOREIGN_TLD], lost);
	assert_int_equal(fake_server_get(&f->net, "127.53.1.1")->n_queries, n - lost);
	dfx_free(f);
}

static void test_drill_poisoned_source(void **state)
{
	(void)state;
	struct dfx *f = dfx_new(NULL, 1);
	fake_server_add(&f->net, "127.53.3.1", FM_ANSWER);
	struct cq soa, x1, x2;
	assert_int_equal(ost_drill_start(f->d, OST_DRILL_POISONED_SOURCE, 0, NULL, NULL, 0), 0);
	/* an ordinary query is left alone and does not use up the poison */
	cq_send(f, ost_drill_transport(f->d), &soa, "127.53.3.1", "ru.", LDNS_RR_TYPE_SOA);
	fake_clock_advance(&f->clk, 100);
	assert_int_equal(soa.status, 0);
	/* before any tampering, a verdict is not counted */
	ost_drill_note_mirror_verify(f->d, "ru.", true);
	cq_send(f, ost_drill_transport(f->d), &x1, "127.53.3.1", "ru.", LDNS_RR_TYPE_AXFR);
	fake_clock_advance(&f->clk, 100);
	cq_send(f, ost_drill_transport(f->d), &x2, "127.53.3.1", "ru.", LDNS_RR_TYPE_AXFR);
	fake_clock_advance(&f->clk, 100);
	assert_int_equal(x1.status, 0);
	assert_int_equal(x2.status, 0);
	char *a1 = ldns_rr_list2str(ldns_pkt_answer(x1.answer));
	char *a2 = ldns_rr_list2str(ldns_pkt_answer(x2.answer));
	assert_non_null(strstr(a1, "127.0.0.9")); /* the first transfer was altered ... */
	assert_null(strstr(a1, "127.0.0.8"));
	assert_non_null(strstr(a2, "127.0.0.8")); /* ... only the first */
	free(a1);
	free(a2);
	struct ost_drill_report r;
	assert_int_equal(ost_drill_report_get(f->d, &r), 0);
	assert_int_equal(r.tampered, 1);
	assert_int_equal(r.checks[6].verdict, OST_DRILL_PENDING);
	ost_drill_note_mirror_verify(f->d, "ru.", false);
	assert_int_equal(ost_drill_report_get(f->d, &r), 0);
	assert_int_equal(r.checks[6].verdict, OST_DRILL_PASS);
	ost_drill_note_mirror_verify(f->d, "ru.", true);
	assert_int_equal(ost_drill_report_get(f->d, &r), 0);
	assert_int_equal(r.checks[6].verdict, OST_DRILL_FAIL);
	cq_free(&soa);
	cq_free(&x1);
	cq_free(&x2);
	dfx_free(f);
}

/*
 * ---------------------------------------------------------------------------
 * Life cycle, abort guard, report
 * ---------------------------------------------------------------------------
 */

static void test_drill_lifecycle(void **state)
{
	(void)state;
	struct dfx *f = dfx_new(NULL, 1);
	struct ost_drill_report r;
	assert_int_equal(ost_drill_report_get(f->d, &r), -ENOENT);
	struct ost_buf b = {0};
	assert_int_equal(ost_drill_report_write(f->d, true, &b), -ENOENT);
	assert_int_equal(ost_drill_stop(f->d, "operator"), -ENOENT);
	assert_int_equal(ost_drill_start(f->d, OST_DRILL_PROFILE_COUNT, 0, NULL, NULL, 0), -EINVAL);
	assert_int_equal(ost_drill_start(f->d, OST_DRILL_TLD_CUT, 86401, NULL, NULL, 0), -EINVAL);
	assert_false(ost_drill_is_running(f->d));
	assert_int_equal(ost_drill_start(f->d, OST_DRILL_TLD_CUT, 30, "op", NULL, 0), 0);
	assert_int_equal(ost_drill_start(f->d, OST_DRILL_FOREIGN_CUT, 30, "op", NULL, 0), -EBUSY);
	struct ost_fo_status st;
	ost_fo_status(f->fo, &st);
	assert_non_null(strstr(st.drill_id, "tld-cut"));
	struct ost_fo_policy pol;
	ost_fo_policy(f->fo, OST_FO_NAME_FOREIGN, NULL, &pol);
	assert_true(pol.is_drill);
	assert_true(ost_drill_is_running(f->d));
	fake_clock_advance(&f->clk, 29999);
	assert_true(ost_drill_is_running(f->d));
	fake_clock_advance(&f->clk, 1);
	assert_false(ost_drill_is_running(f->d));
	assert_int_equal(ost_drill_report_get(f->d, &r), 0);
	assert_string_equal(r.stop_reason, "duration");
	assert_int_equal(r.duration_ms, 30000);
	assert_int_equal(r.profile, OST_DRILL_TLD_CUT);
	ost_fo_status(f->fo, &st);
	assert_string_equal(st.drill_id, "");
	/* answers after the stop are not recorded */
	ost_drill_record_answer(f->d, OST_FO_NAME_FOREIGN, OST_DRILL_SRC_CACHE, 0, -1, 10);
	assert_int_equal(ost_drill_report_get(f->d, &r), 0);
	assert_int_equal(r.queries[OST_FO_NAME_FOREIGN], 0);
	/* a new drill starts clean */
	assert_int_equal(ost_drill_start(f->d, OST_DRILL_FOREIGN_LOSS, 0, NULL, NULL, 0), 0);
	assert_int_equal(ost_drill_stop(f->d, "operator"), 0);
	assert_int_equal(ost_drill_stop(f->d, "operator"), -ENOENT);
	assert_int_equal(ost_drill_report_get(f->d, &r), 0);
	assert_int_equal(r.profile, OST_DRILL_FOREIGN_LOSS);
	assert_string_equal(r.stop_reason, "operator");
	dfx_free(f);
}

static void feed(struct dfx *f, unsigned n, unsigned servfail_every, uint64_t lat_us)
{
	for (unsigned i = 0; i < n; i++) {
		bool sf = servfail_every && i % servfail_every == 0;
		ost_drill_record_answer(f->d, OST_FO_NAME_FOREIGN,
					sf ? OST_DRILL_SRC_LOCAL : OST_DRILL_SRC_CACHE, sf ? 2 : 0,
					sf ? 22 : -1, lat_us);
	}
}

static void test_drill_abort_guard(void **state)
{
	(void)state;
	struct dfx *f = dfx_new(NULL, 1);
	assert_int_equal(ost_drill_start(f->d, OST_DRILL_FOREIGN_CUT, 600, NULL, NULL, 0), 0);
	/* two bad windows (100 % SERVFAIL), then a good one: the count starts over */
	for (int w = 0; w < 2; w++) {
		feed(f, 50, 1, 1000);
		fake_clock_advance(&f->clk, 10000);
	}
	feed(f, 50, 0, 1000);
	fake_clock_advance(&f->clk, 10000);
	/* windows with too few answers are not judged */
	for (int w = 0; w < 4; w++) {
		feed(f, 10, 1, 1000);
		fake_clock_advance(&f->clk, 10000);
	}
	assert_true(ost_drill_is_running(f->d));
	for (int w = 0; w < 3; w++) {
		feed(f, 50, 1, 1000);
		fake_clock_advance(&f->clk, 10000);
	}
	assert_false(ost_drill_is_running(f->d));
	struct ost_drill_report r;
	assert_int_equal(ost_drill_report_get(f->d, &r), 0);
	assert_non_null(strstr(r.stop_reason, "abort: SERVFAIL share 1.00 > 0.50"));
	assert_int_equal(r.checks[5].verdict, OST_DRILL_FAIL);
	assert_false(r.is_pass);

	/* latency: p99 above 3 s for 3 windows */
	assert_int_equal(ost_drill_start(f->d, OST_DRILL_FOREIGN_CUT, 600, NULL, NULL, 0), 0);
	for (int w = 0; w < 3; w++) {
		feed(f, 30, 0, 5000000);
		fake_clock_advance(&f->clk, 10000);
	}
	assert_false(ost_drill_is_running(f->d));
	assert_int_equal(ost_drill_report_get(f->d, &r), 0);
	assert_non_null(strstr(r.stop_reason, "abort: p99 latency"));
	dfx_free(f);
}

static void test_drill_report_numbers(void **state)
{
	(void)state;
	struct dfx *f = dfx_new(NULL, 1);
	int64_t now = ost_clock_wall_s(&f->clk.clock);
	assert_int_equal(ost_fo_feed_mirror(f->fo, ".", 1, now + 7 * 86400, now + 13 * 86400, true),
			 0);
	assert_int_equal(ost_drill_start(f->d, OST_DRILL_FOREIGN_CUT, 3600, "op", NULL, 0), 0);
	/* national: 999 answered from the mirror and national servers, 1 SERVFAIL + EDE 23 */
	for (int i = 0; i < 999; i++)
		ost_drill_record_answer(f->d, OST_FO_NAME_NATIONAL,
					i % 3 ? OST_DRILL_SRC_NATIONAL : OST_DRILL_SRC_MIRROR,
					i % 10 ? 0 : 3, -1, (uint64_t)(i + 1) * 100);
	ost_drill_record_answer(f->d, OST_FO_NAME_NATIONAL, OST_DRILL_SRC_LOCAL, 2, 23, 100000);
	/* foreign: 60 stale with EDE 3, 10 stale NXDOMAIN with 19, 2 stale unflagged,
	 * 8 cache, 20 SERVFAIL + EDE 22 */
	for (int i = 0; i < 60; i++)
		ost_drill_record_answer(f->d, OST_FO_NAME_FOREIGN, OST_DRILL_SRC_STALE, 0, 3, 50);
	for (int i = 0; i < 10; i++)
		ost_drill_record_answer(f->d, OST_FO_NAME_FOREIGN, OST_DRILL_SRC_STALE, 3, 19, 50);
	for (int i = 0; i < 2; i++)
		ost_drill_record_answer(f->d, OST_FO_NAME_FOREIGN, OST_DRILL_SRC_STALE, 0, -1, 50);
	for (int i = 0; i < 8; i++)
		ost_drill_record_answer(f->d, OST_FO_NAME_FOREIGN, OST_DRILL_SRC_CACHE, 0, -1, 40);
	for (int i = 0; i < 20; i++)
		ost_drill_record_answer(f->d, OST_FO_NAME_FOREIGN, OST_DRILL_SRC_LOCAL, 2, 22, 30);
	/* and 10 never-seen names refused at once: not in the answered share */
	for (int i = 0; i < 10; i++)
		ost_drill_record_answer(f->d, OST_FO_NAME_FOREIGN, OST_DRILL_SRC_UNSEEN, 2, 22, 20);
	fake_clock_advance(&f->clk, 5000);
	struct ost_drill_report r;
	assert_int_equal(ost_drill_report_get(f->d, &r), 0);
	assert_true(r.is_running);
	assert_int_equal(r.queries[OST_FO_NAME_NATIONAL], 1000);
	assert_int_equal(r.answered[OST_FO_NAME_NATIONAL], 999);
	assert_int_equal(r.queries[OST_FO_NAME_FOREIGN], 110);
	assert_int_equal(r.unseen[OST_FO_NAME_FOREIGN], 10);
	assert_int_equal(r.answered[OST_FO_NAME_FOREIGN], 80);
	assert_int_equal(r.by_source[OST_DRILL_SRC_MIRROR], 333);
	assert_int_equal(r.by_source[OST_DRILL_SRC_NATIONAL], 666);
	assert_int_equal(r.by_source[OST_DRILL_SRC_STALE], 72);
	assert_int_equal(r.by_source[OST_DRILL_SRC_CACHE], 8);
	assert_int_equal(r.by_source[OST_DRILL_SRC_LOCAL], 21);
	assert_int_equal(r.by_source[OST_DRILL_SRC_UNSEEN], 10);
	assert_int_equal(r.servfail, 31);
	assert_int_equal(r.servfail_by_ede[22], 30);
	assert_int_equal(r.servfail_by_ede[23], 1);
	assert_int_equal(r.stale_unflagged, 2);
	/* 1110 latencies: 110 small (20..50 µs) then 100, 200 .. 99900 µs, and 100 ms.
	 * p50 = 555th value = 44500 µs; p90 = 999th = 88900; p99 = 1099th = 98900;
	 * p99.9 = 1109th = 99900. Reported within 1/32 below. */
	const uint64_t want[4] = {44500, 88900, 98900, 99900};
	for (int i = 0; i < 4; i++) {
		assert_true(r.lat_us[i] <= want[i]);
		assert_true(r.lat_us[i] >= want[i] - want[i] / 32);
	}
	assert_int_equal(r.n_mirrors_start, 1);
	assert_int_equal(r.mirrors_start[0].soa_left_s, 7 * 86400);
	assert_int_equal(r.mirrors_end[0].soa_left_s, 7 * 86400 - 5);
	/* checks: national 0.999 >= 0.999 pass; foreign 0.80 < 0.95 fail; unflagged stale fail */
	assert_int_equal(r.checks[0].verdict, OST_DRILL_PASS);
	assert_int_equal(r.checks[1].verdict, OST_DRILL_FAIL);
	assert_int_equal(r.checks[2].verdict, OST_DRILL_PENDING); /* no ISOLATED yet, running */
	assert_int_equal(r.checks[4].verdict, OST_DRILL_FAIL);
	assert_false(r.is_pass);

	struct ost_buf b = {0};
	assert_int_equal(ost_drill_report_write(f->d, true, &b), 0);
	const char *j = ost_buf_str(&b);
	assert_non_null(strstr(j, "\"national\":{\"queries\":1000,\"answered\":999,\"unseen\":0,"
				  "\"share\":0.999000}"));
	/* the share leaves the never-seen names out: 80 of 100, not of 110 */
	assert_non_null(strstr(j, "\"foreign\":{\"queries\":110,\"answered\":80,\"unseen\":10,"
				  "\"share\":0.800000}"));
	assert_non_null(strstr(j, "\"servfail_by_ede\":{\"22\":30,\"23\":1}"));
	assert_non_null(strstr(j, "\"sources\":{\"mirror\":333,\"cache\":8,\"stale\":72,"));
	assert_non_null(strstr(j, "\"time_to_isolated_ms\":null"));
	assert_non_null(strstr(j, "\"pass\":false}"));
	ost_buf_deinit(&b);
	assert_int_equal(ost_drill_report_write(f->d, false, &b), 0);
	const char *t = ost_buf_str(&b);
	assert_non_null(strstr(t, "national         1000          0        999   99.900%"));
	assert_non_null(strstr(t, "foreign           110         10         80   80.000%"));
	assert_non_null(strstr(t, "  EDE 22           30"));
	assert_non_null(strstr(t, "result: FAIL"));
	ost_buf_deinit(&b);
	dfx_free(f);
}

/* The test's national zone: "nat.test." and below. */
static enum ost_fo_name_class test_name_class(void *ctx, const uint8_t *qname, size_t len)
{
	static const uint8_t nat[] = "\003nat\004test";
	unsigned *calls = ctx;
	(*calls)++;
	if (len >= sizeof(nat) && memcmp(qname + len - sizeof(nat), nat, sizeof(nat)) == 0)
		return OST_FO_NAME_NATIONAL;
	return OST_FO_NAME_FOREIGN;
}

static void test_drill_resolver_hooks(void **state)
{
	(void)state;
	struct dfx *f = dfx_new(NULL, 1);
	struct ost_fo_resolver_hooks h;
	struct ost_resolver_policy pol;
	const uint8_t *foreign = (const uint8_t *)"\003www\007example\003com";
	const uint8_t *national = (const uint8_t *)"\003www\003nat\004test";
	unsigned classified = 0;
	ost_fo_resolver_hooks_init(&h, f->fo, ost_drill_map(f->d), &pol);
	h.name_class = test_name_class;
	h.name_class_ctx = &classified;
	struct sockaddr_storage ss;
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_MIRROR_READY, NULL), 0);
	/* NORMAL: everything may be asked, 1 day of staleness, client timer first */
	assert_true(pol.may_query(pol.ctx, sa_of("127.53.0.1", &ss)));
	assert_true(pol.may_query(pol.ctx, sa_of("127.53.9.9", &ss)));
	assert_int_equal(pol.max_stale_s(pol.ctx), 86400);
	assert_false(pol.stale_immediately(pol.ctx, foreign, LDNS_RR_TYPE_A));
	assert_false(pol.stale_immediately(pol.ctx, national, LDNS_RR_TYPE_A));
	/* ISOLATED: national and mirror sources yes; root and foreign only as rechecks */
	assert_int_equal(ost_fo_isolate(f->fo, "op"), 0);
	assert_int_equal(pol.max_stale_s(pol.ctx), 3 * 86400);
	/* foreign names stale at once; national ones wait for their servers */
	assert_true(pol.stale_immediately(pol.ctx, foreign, LDNS_RR_TYPE_A));
	assert_false(pol.stale_immediately(pol.ctx, national, LDNS_RR_TYPE_AAAA));
	assert_int_equal(classified, 4);
	unsigned allowed = 0;
	for (int i = 0; i < 100; i++)
		allowed += pol.may_query(pol.ctx, sa_of(i % 2 ? "127.53.0.1" : "127.53.1.1", &ss));
	assert_int_equal(allowed, 20); /* the recheck burst, then nothing */
	for (int i = 0; i < 50; i++) {
		assert_true(pol.may_query(pol.ctx, sa_of("127.53.2.1", &ss)));
		assert_true(pol.may_query(pol.ctx, sa_of("127.53.3.1", &ss)));
	}
	fake_clock_advance(&f->clk, 1000); /* 5 tokens per second */
	allowed = 0;
	for (int i = 0; i < 100; i++)
		allowed += pol.may_query(pol.ctx, sa_of("127.53.9.9", &ss));
	assert_int_equal(allowed, 5);
	/* RECOVERING: queries again, stale limit stays long */
	assert_int_equal(ost_fo_unisolate(f->fo, "op"), 0);
	assert_true(pol.may_query(pol.ctx, sa_of("127.53.9.9", &ss)));
	assert_int_equal(pol.max_stale_s(pol.ctx), 3 * 86400);
	assert_false(pol.stale_immediately(pol.ctx, foreign, LDNS_RR_TYPE_A));
	/* without a classifier every name counts as foreign */
	assert_int_equal(ost_fo_isolate(f->fo, "op"), 0);
	h.name_class = NULL;
	assert_true(pol.stale_immediately(pol.ctx, national, LDNS_RR_TYPE_A));
	dfx_free(f);
}

/*
 * The mirror_use hook (standards.md §7.2 MIRROR-EXPIRED): before the SOA
 * expire deadline usable; after it withdrawn unless the operator extended
 * it; never from the RRSIG horizon less the margin; an untracked zone is
 * left to the engine.
 */
static void test_drill_resolver_hook_mirror(void **state)
{
	(void)state;
	struct dfx *f = dfx_new(NULL, 1);
	struct ost_fo_resolver_hooks h;
	struct ost_resolver_policy pol;
	ost_fo_resolver_hooks_init(&h, f->fo, ost_drill_map(f->d), &pol);
	assert_non_null(pol.mirror_use);
	int64_t now = ost_clock_wall_s(&f->clk.clock);
	assert_int_equal(pol.mirror_use(pol.ctx, "su."), OST_MIRROR_NO_OPINION);
	/* deadline in 100 s, signatures good for 10 days (margin 1 day) */
	assert_int_equal(ost_fo_feed_mirror(f->fo, "su.", 7, now + 100, now + 10 * 86400, true), 0);
	assert_int_equal(pol.mirror_use(pol.ctx, "su."), OST_MIRROR_USABLE);
	assert_int_equal(pol.mirror_use(pol.ctx, "SU."), OST_MIRROR_USABLE);
	assert_int_equal(pol.mirror_use(pol.ctx, "ru."), OST_MIRROR_NO_OPINION);
	fake_clock_advance(&f->clk, 101 * 1000);
	assert_int_equal(pol.mirror_use(pol.ctx, "su."), OST_MIRROR_WITHDRAWN);
	int64_t until = 0;
	assert_int_equal(ost_fo_extend_mirror(f->fo, "su.", 3 * 86400, "op", &until), 0);
	assert_int_equal(pol.mirror_use(pol.ctx, "su."), OST_MIRROR_EXTENDED);
	/* the extension ends; a new extension stops at horizon - margin */
	fake_clock_advance(&f->clk, (uint64_t)(until - ost_clock_wall_s(&f->clk.clock)) * 1000);
	assert_int_equal(pol.mirror_use(pol.ctx, "su."), OST_MIRROR_WITHDRAWN);
	assert_int_equal(ost_fo_extend_mirror(f->fo, "su.", 7 * 86400, "op", &until), 0);
	assert_true(until <= now + 9 * 86400);
	assert_int_equal(pol.mirror_use(pol.ctx, "su."), OST_MIRROR_EXTENDED);
	fake_clock_advance(&f->clk, (uint64_t)(until - ost_clock_wall_s(&f->clk.clock)) * 1000);
	assert_int_equal(pol.mirror_use(pol.ctx, "su."), OST_MIRROR_WITHDRAWN);
	/* an unverified copy is never used */
	assert_int_equal(
		ost_fo_feed_mirror(f->fo, "ru.", 3, now + 30 * 86400, now + 40 * 86400, false), 0);
	assert_int_equal(pol.mirror_use(pol.ctx, "ru."), OST_MIRROR_WITHDRAWN);
	dfx_free(f);
}

/*
 * ---------------------------------------------------------------------------
 * End to end: real probes through the drill transport, real failover
 * ---------------------------------------------------------------------------
 */

static void test_drill_e2e_foreign_cut(void **state)
{
	(void)state;
	struct dfx *f = dfx_new(NULL, 5);
	dfx_lab_probes(f, 5);
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_MIRROR_READY, NULL), 0);
	fake_clock_advance(&f->clk, 30000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL);
	assert_int_equal(ost_drill_start(f->d, OST_DRILL_FOREIGN_CUT, 120, "op", NULL, 0), 0);
	fake_clock_advance(&f->clk, 120000); /* the drill ends by duration */
	assert_false(ost_drill_is_running(f->d));
	assert_int_equal(ost_fo_state(f->fo), OST_FO_ISOLATED);
	struct ost_drill_report r;
	assert_int_equal(ost_drill_report_get(f->d, &r), 0);
	print_message("  foreign-cut drill: DEGRADED %lld ms, ISOLATED %lld ms\n",
		      (long long)r.to_degraded_ms, (long long)r.to_isolated_ms);
	assert_true(r.to_degraded_ms > 0 && r.to_degraded_ms < r.to_isolated_ms);
	assert_true(r.to_isolated_ms <= 30000);
	assert_int_equal(r.checks[2].verdict, OST_DRILL_PASS);
	assert_int_equal(r.checks[3].verdict, OST_DRILL_PENDING);
	assert_int_equal(r.cut[OST_DEST_NATIONAL], 0);
	assert_true(r.cut[OST_DEST_ROOT] > 0);
	/* national servers kept answering: no national probe failed */
	for (size_t i = 6; i < 9; i++) {
		struct ost_probe_stats ps;
		assert_int_equal(ost_probe_stats(f->p, i, &ps), 0);
		assert_int_equal(ps.ok, ps.probes);
	}
	/* after the stop the machine recovers on its own: RECOVERING, then NORMAL */
	fake_clock_advance(&f->clk, 300000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL);
	assert_int_equal(ost_drill_report_get(f->d, &r), 0);
	print_message("  recovered %lld ms after stop\n", (long long)r.to_recovered_ms);
	assert_true(r.to_recovered_ms >= 180000 && r.to_recovered_ms <= 900000);
	assert_int_equal(r.checks[3].verdict, OST_DRILL_PASS);
	struct ost_buf b = {0};
	assert_int_equal(ost_drill_report_write(f->d, false, &b), 0);
	print_message("%s", ost_buf_str(&b));
	ost_buf_deinit(&b);
	dfx_free(f);
}

/* A resolver's background traffic abroad through the resolver face (passive signal). */
struct traffic {
	struct dfx *f;
	struct cq c[8];
	unsigned n;
	bool is_stopped;
};

static void traffic_tick(void *arg)
{
	struct traffic *t = arg;
	if (t->is_stopped)
		return;
	for (int i = 0; i < 8; i++) {
		if (t->c[i].wire && !t->c[i].calls)
			continue; /* still in flight */
		cq_free(&t->c[i]);
		cq_send(t->f, ost_drill_transport(t->f->d), &t->c[i],
			i % 2 ? "127.53.1.2" : "127.53.0.2", i % 2 ? "com." : ".",
			LDNS_RR_TYPE_SOA);
		t->n++;
	}
	ost_clock_timer_start(&t->f->clk.clock, 1000, traffic_tick, t);
}

static void test_drill_e2e_loss_no_flapping(void **state)
{
	(void)state;
	const uint64_t seeds[] = {42, 7, 2026};
	for (size_t s = 0; s < 3; s++) {
		struct dfx *f = dfx_new(NULL, seeds[s]);
		dfx_lab_probes(f, seeds[s] + 1);
		assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_MIRROR_READY, NULL), 0);
		struct traffic *t = calloc(1, sizeof(*t));
		t->f = f;
		ost_clock_timer_start(&f->clk.clock, 1000, traffic_tick, t);
		fake_clock_advance(&f->clk, 20000);
		assert_int_equal(ost_drill_start(f->d, OST_DRILL_FOREIGN_LOSS, 600, "op", NULL, 0),
				 0);
		fake_clock_advance(&f->clk, 600000);
		assert_false(ost_drill_is_running(f->d));
		struct ost_fo_status st;
		ost_fo_status(f->fo, &st);
		uint64_t total = 0;
		for (int a = 0; a < OST_FO_STATE_COUNT; a++)
			for (int b = 0; b < OST_FO_STATE_COUNT; b++)
				total += st.transitions[a][b];
		struct ost_drill_report r;
		assert_int_equal(ost_drill_report_get(f->d, &r), 0);
		uint64_t sent = r.sent[OST_DEST_ROOT] + r.sent[OST_DEST_FOREIGN_TLD];
		uint64_t cut = r.cut[OST_DEST_ROOT] + r.cut[OST_DEST_FOREIGN_TLD];
		print_message("  seed %llu: 10 min foreign-loss: %llu of %llu queries lost (%.3f), "
			      "%llu transitions after LOADING->NORMAL\n",
			      (unsigned long long)seeds[s], (unsigned long long)cut,
			      (unsigned long long)sent, (double)cut / (double)sent,
			      (unsigned long long)(total - 1));
		assert_true((double)cut / (double)sent > 0.27 && (double)cut / (double)sent < 0.33);
		assert_int_equal(total, 1); /* LOADING -> NORMAL only */
		assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL);
		assert_int_equal(r.checks[2].verdict, OST_DRILL_PASS);
		assert_int_equal(r.checks[3].verdict, OST_DRILL_NA);
		t->is_stopped = true;
		ost_probe_stop(f->p);
		fake_clock_advance(&f->clk, 5000); /* let traffic in flight finish */
		for (int i = 0; i < 8; i++)
			cq_free(&t->c[i]);
		free(t);
		dfx_free(f);
	}
}

const struct CMUnitTest drill_tests[] = {
	cmocka_unit_test(test_drill_dest_map),
	cmocka_unit_test(test_drill_config_by_name),
	cmocka_unit_test(test_drill_profile_names),
	cmocka_unit_test(test_drill_passthrough_and_passive),
	cmocka_unit_test(test_drill_foreign_cut_drops),
	cmocka_unit_test(test_drill_worker_face),
	cmocka_unit_test(test_drill_refuse_mode_and_tld_cut),
	cmocka_unit_test(test_drill_loss_share),
	cmocka_unit_test(test_drill_poisoned_source),
	cmocka_unit_test(test_drill_lifecycle),
	cmocka_unit_test(test_drill_abort_guard),
	cmocka_unit_test(test_drill_report_numbers),
	cmocka_unit_test(test_drill_resolver_hooks),
	cmocka_unit_test(test_drill_resolver_hook_mirror),
	cmocka_unit_test(test_drill_e2e_foreign_cut),
	cmocka_unit_test(test_drill_e2e_loss_no_flapping),
};
const size_t drill_tests_n = sizeof(drill_tests) / sizeof(drill_tests[0]);
