/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for server/worker.c, udp.c and tcp.c without threads: one worker
 * is set up on a free 127.0.0.1 port and its loop is driven from the test,
 * with poll() on the loop's backend and the client socket as the only way of
 * waiting. Covers the REFUSED path over UDP and TCP, and held replies
 * (ost_reply_hold): they can still be sent while the socket lives, fail with
 * -ECONNRESET after shutdown, and release memory only when let go (ASan
 * checks the last part in the asan preset). Also the worker's counters as
 * `ostrovctl stats` and /metrics read them (ost_server_snapshot() from
 * another thread): copied by the worker when asked, not at every iteration.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "ostrov/config.h"

#include "engine.h"
#include "worker.h"

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Run @loop until @fd is readable; fail after 3 s. poll() also watches the
 * loop's epoll descriptor, but watchers that callbacks start are only added
 * to it by the next uv_run(), so the wait is capped at 10 ms per round.
 */
static void pump_until_readable(uv_loop_t *loop, int fd)
{
	uint64_t end = now_ms() + 3000;
	for (;;) {
		uv_run(loop, UV_RUN_NOWAIT);
		struct pollfd p[2] = {{.fd = uv_backend_fd(loop), .events = POLLIN},
				      {.fd = fd, .events = POLLIN}};
		uint64_t t = now_ms();
		if (t >= end)
			fail_msg("client socket not readable within 3 s");
		int n = poll(p, 2, end - t < 10 ? (int)(end - t) : 10);
		assert_true(n >= 0);
		if (p[1].revents & POLLIN)
			return;
	}
}

static void pump_until_conn(struct ost_worker *w)
{
	uint64_t end = now_ms() + 3000;
	for (;;) {
		uv_run(&w->loop, UV_RUN_NOWAIT);
		if (w->conns)
			return;
		struct pollfd p = {.fd = uv_backend_fd(&w->loop), .events = POLLIN};
		uint64_t t = now_ms();
		if (t >= end)
			fail_msg("no connection accepted within 3 s");
		poll(&p, 1, end - t < 10 ? (int)(end - t) : 10);
	}
}

static const uint8_t query[] = {
	0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 3,    'f',  'o',  'o',  0,    0x00, 0x01, 0x00, 0x01,
};

/* A config listening on one free 127.0.0.1 port: bind a @p type socket to port 0, read it, close.
 */
static void listen_on_free_port(struct ost_config *cfg, int type)
{
	assert_int_equal(ost_config_init(cfg), 0);
	cfg->server.n_listen = 1;
	int probe = socket(AF_INET, type, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(probe, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t alen = sizeof(a);
	getsockname(probe, (struct sockaddr *)&a, &alen);
	close(probe);
	char text[64];
	snprintf(text, sizeof(text), "127.0.0.1@%u", ntohs(a.sin_port));
	assert_int_equal(ost_addr_parse(text, 53, &cfg->server.listen[0]), 0);
}

static void test_worker_replies(void **state)
{
	(void)state;
	struct ost_config cfg;
	listen_on_free_port(&cfg, SOCK_STREAM);

	struct ost_worker w;
	memset(&w, 0, sizeof(w));
	struct ost_server srv = {.cfg = &cfg, .workers = &w, .n_workers = 1};
	atomic_init(&srv.tcp_conns, 0);
	int tcp_fd = ost_tcp_socket(&cfg.server.listen[0]);
	int udp_fd = ost_udp_socket(&cfg.server.listen[0]);
	assert_true(tcp_fd >= 0);
	assert_true(udp_fd >= 0);
	/* A second TCP listener on the same address is refused: the daemon's lock. */
	assert_int_equal(ost_tcp_socket(&cfg.server.listen[0]), -EADDRINUSE);
	assert_int_equal(ost_worker_init(&w, &srv, 0, &udp_fd, &tcp_fd), 0);
	close(tcp_fd);

	/* UDP: REFUSED with our ID. */
	int cu = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(
		connect(cu, (struct sockaddr *)&cfg.server.listen[0].ss, cfg.server.listen[0].len),
		0);
	assert_int_equal(send(cu, query, sizeof(query), 0), (ssize_t)sizeof(query));
	pump_until_readable(&w.loop, cu);
	uint8_t buf[512];
	ssize_t n = recv(cu, buf, sizeof(buf), 0);
	assert_int_equal(n, (ssize_t)sizeof(query));
	assert_int_equal(buf[0], 0xab);
	assert_int_equal(buf[3] & 0x0f, 5);
	assert_int_equal(w.stats.udp_queries, 1);

	/* A held UDP reply to the same client. */
	struct ost_reply_to ru = {
		.w = &w, .proto = OST_PROTO_UDP, .udp = w.udp[0], .max_size = 512};
	socklen_t clen = sizeof(ru.client);
	getsockname(cu, (struct sockaddr *)&ru.client, &clen);
	ost_reply_hold(&ru);
	static const uint8_t late[20] = {0x11, 0x22, 0x81, 0x80};
	assert_int_equal(ost_reply_send(&ru, late, sizeof(late)), 0);
	pump_until_readable(&w.loop, cu);
	assert_int_equal(recv(cu, buf, sizeof(buf), 0), (ssize_t)sizeof(late));
	assert_int_equal(buf[0], 0x11);
	static uint8_t big[600];
	assert_int_equal(ost_reply_send(&ru, big, sizeof(big)), -EMSGSIZE);

	/* TCP: a REFUSED answer, then a held reply on the same connection. */
	int ct = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(
		connect(ct, (struct sockaddr *)&cfg.server.listen[0].ss, cfg.server.listen[0].len),
		0);
	uint8_t framed[2 + sizeof(query)] = {0, sizeof(query)};
	memcpy(framed + 2, query, sizeof(query));
	assert_int_equal(send(ct, framed, sizeof(framed), 0), (ssize_t)sizeof(framed));
	pump_until_conn(&w);
	pump_until_readable(&w.loop, ct);
	n = recv(ct, buf, sizeof(buf), 0);
	assert_int_equal(n, (ssize_t)sizeof(framed));
	assert_int_equal(buf[1], sizeof(query));
	assert_int_equal(buf[5] & 0x0f, 5);
	assert_int_equal(atomic_load(&srv.tcp_conns), 1);
	struct ost_reply_to rt = {.w = &w, .proto = OST_PROTO_TCP, .tcp = w.conns};
	rt.max_size = UINT16_MAX;
	ost_reply_hold(&rt);
	assert_int_equal(ost_reply_send(&rt, late, sizeof(late)), 0);
	pump_until_readable(&w.loop, ct);
	n = recv(ct, buf, sizeof(buf), 0);
	assert_int_equal(n, 2 + (ssize_t)sizeof(late));
	assert_int_equal(buf[2], 0x11);

	/* Shut the worker down with both replies still held. */
	ost_worker_deinit(&w);
	assert_int_equal(atomic_load(&srv.tcp_conns), 0);
	assert_int_equal(ost_reply_send(&ru, late, sizeof(late)), -ECONNRESET);
	assert_int_equal(ost_reply_send(&rt, late, sizeof(late)), -ECONNRESET);
	ost_reply_release(&ru);
	ost_reply_release(&rt);
	assert_null(rt.tcp);
	/* The server side is gone: the client sees the connection closed. */
	assert_int_equal(recv(ct, buf, sizeof(buf), 0), 0);
	close(ct);
	close(cu);
	ost_config_deinit(&cfg);
}

/* A snapshot taken on another thread, as the control socket and /metrics take it. */
struct snap_job {
	struct ost_server *srv;
	struct ost_server_snapshot snap;
	atomic_bool is_done;
	uint64_t took_ms;
};

static void *snap_thread(void *arg)
{
	struct snap_job *j = arg;
	uint64_t t0 = now_ms();
	ost_server_snapshot(j->srv, &j->snap);
	j->took_ms = now_ms() - t0;
	atomic_store(&j->is_done, true);
	return NULL;
}

/*
 * The worker copies its counters only when asked: a snapshot taken while its
 * loop does not run waits 250 ms and gets the copy of the previous request
 * (none yet: zeros), even though the loop ran iterations after counting the
 * query; taken while the loop runs, it holds every query answered before.
 */
static void test_counters_on_request(void **state)
{
	(void)state;
	char dir[] = "/tmp/ost-worker-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char hints[64];
	snprintf(hints, sizeof(hints), "%s/root.hints", dir);
	FILE *f = fopen(hints, "w");
	assert_non_null(f);
	fputs(". 3600 IN NS a.root.\na.root. 3600 IN A 127.53.0.1\n", f);
	fclose(f);

	struct ost_config cfg;
	listen_on_free_port(&cfg, SOCK_DGRAM);
	cfg.resolver.root_hints_file = strdup(hints);
	char err[256] = "";
	struct ost_engine e;
	memset(&e, 0, sizeof(e));
	assert_int_equal(ost_engine_open(&e, &cfg, err, sizeof(err)), 0);
	assert_true(ost_engine_can_resolve(&e));

	struct ost_worker w;
	memset(&w, 0, sizeof(w));
	struct ost_server srv = {.cfg = &cfg, .workers = &w, .n_workers = 1, .engine = &e};
	atomic_init(&srv.tcp_conns, 0);
	int tcp_fd = ost_tcp_socket(&cfg.server.listen[0]);
	int udp_fd = ost_udp_socket(&cfg.server.listen[0]);
	assert_true(tcp_fd >= 0);
	assert_true(udp_fd >= 0);
	assert_int_equal(ost_worker_init(&w, &srv, 0, &udp_fd, &tcp_fd), 0);
	close(tcp_fd);
	assert_non_null(w.engine);

	/* RD=0: REFUSED by the engine, counted as norec_refused. */
	uint8_t norec[sizeof(query)];
	memcpy(norec, query, sizeof(query));
	norec[2] = 0x00;
	int cu = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(
		connect(cu, (struct sockaddr *)&cfg.server.listen[0].ss, cfg.server.listen[0].len),
		0);
	assert_int_equal(send(cu, norec, sizeof(norec), 0), (ssize_t)sizeof(norec));
	pump_until_readable(&w.loop, cu);
	uint8_t buf[512];
	assert_int_equal(recv(cu, buf, sizeof(buf), 0), (ssize_t)sizeof(norec));
	assert_int_equal(buf[3] & 0x0f, 5);
	uv_run(&w.loop, UV_RUN_NOWAIT); /* more iterations: none publishes */

	/* The loop does not run: the reader gives up after 250 ms with the old copy. */
	struct snap_job j1 = {.srv = &srv};
	atomic_init(&j1.is_done, false);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, snap_thread, &j1), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(j1.snap.n_workers, 1);
	assert_int_equal(j1.snap.sum.norec, 0);
	assert_int_equal(j1.snap.sum.udp_queries, 0);
	assert_true(j1.took_ms >= 240 && j1.took_ms < 3000);

	/* The loop runs: the worker answers the request (and the one left from above). */
	struct snap_job j2 = {.srv = &srv};
	atomic_init(&j2.is_done, false);
	assert_int_equal(pthread_create(&t, NULL, snap_thread, &j2), 0);
	uint64_t end = now_ms() + 3000;
	while (!atomic_load(&j2.is_done) && now_ms() < end) {
		uv_run(&w.loop, UV_RUN_NOWAIT);
		struct pollfd p = {.fd = uv_backend_fd(&w.loop), .events = POLLIN};
		poll(&p, 1, 10);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(atomic_load(&j2.is_done));
	assert_int_equal(j2.snap.n_workers, 1);
	assert_int_equal(j2.snap.sum.norec, 1);
	assert_int_equal(j2.snap.sum.udp_queries, 1);
	assert_int_equal(j2.snap.sum.rcode[5], 1);

	/* On the worker's own thread the counters are read directly. */
	struct ost_worker_counters c;
	w.thread = uv_thread_self();
	assert_int_equal(ost_worker_engine_counters(&w, &c), 0);
	assert_int_equal(c.norec, 1);

	ost_worker_deinit(&w);
	close(cu);
	ost_engine_close(&e);
	ost_config_deinit(&cfg);
	unlink(hints);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_replies),
		cmocka_unit_test(test_counters_on_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
