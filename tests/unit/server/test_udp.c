/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the UDP GSO send path of server/udp.c (build_gso()), on real
 * loopback sockets and one worker driven from the test, as test_worker.c does:
 * - a batch of queries from one client socket is answered with the same
 *   datagrams, byte for byte and in order, with server.udp-gso on (where the
 *   counters show that GSO messages carried them), off, and on but refused by
 *   the kernel (SO_NO_CHECK or UDP_NO_CHECK6_TX on the server socket makes
 *   Linux answer EINVAL to UDP_SEGMENT: the listener falls back to plain
 *   sendmmsg() for good, so the second batch does not try again);
 * - replies sent with ost_udp_send() to two clients, with several lengths and
 *   one longer than a GSO segment may be, each reach their client intact and
 *   in order, over IPv4 and IPv6;
 * - a reply refused for its address (port 0) inside a GSO message loses only
 *   itself and does not turn GSO off.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "ostrov/config.h"

#include "worker.h"

#ifndef UDP_NO_CHECK6_TX
#define UDP_NO_CHECK6_TX 101 /* include/uapi/linux/udp.h */
#endif
#ifndef UDP_NO_CHECK6_RX
#define UDP_NO_CHECK6_RX 102
#endif

#define N_QUERIES 48
#define MAX_DGRAM 2048

/** One worker on a free loopback port. */
struct fixture {
	struct ost_config cfg;      /**< its configuration */
	struct ost_server srv;      /**< the server around it */
	struct ost_worker w;        /**< the worker */
	struct sockaddr_storage ss; /**< the UDP listen address */
	socklen_t len;              /**< its length */
};

/** What a client received, in order. */
struct received {
	size_t n;                           /**< datagrams */
	size_t len[N_QUERIES];              /**< their lengths */
	uint8_t data[N_QUERIES][MAX_DGRAM]; /**< their bytes */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A free port on @p host: bind TCP to port 0, read it, close. */
static uint16_t free_port(int family, const char *host)
{
	struct sockaddr_storage ss = {.ss_family = (sa_family_t)family};
	socklen_t len =
		family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	void *addr = family == AF_INET6 ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
					: (void *)&((struct sockaddr_in *)&ss)->sin_addr;
	assert_int_equal(inet_pton(family, host, addr), 1);
	int probe = socket(family, SOCK_STREAM, 0);
	assert_true(probe >= 0);
	assert_int_equal(bind(probe, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(getsockname(probe, (struct sockaddr *)&ss, &len), 0);
	close(probe);
	return ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					: ((struct sockaddr_in *)&ss)->sin_port);
}

/*
 * Bring up a worker on @p host (@p family) with server.udp-gso @p gso; with
 * @p refused the kernel refuses UDP_SEGMENT on its socket (SO_NO_CHECK).
 * @return false when the address family is not available here
 */
static bool fixture_up(struct fixture *f, int family, const char *host, bool gso, bool refused)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(ost_config_init(&f->cfg), 0);
	f->cfg.server.n_listen = 1;
	f->cfg.server.udp_gso = gso;
	int s = socket(family, SOCK_DGRAM, 0);
	if (s < 0)
		return false;
	close(s);
	char text[80];
	snprintf(text, sizeof(text), "%s@%u", host, free_port(family, host));
	assert_int_equal(ost_addr_parse(text, 53, &f->cfg.server.listen[0]), 0);
	memcpy(&f->ss, &f->cfg.server.listen[0].ss, f->cfg.server.listen[0].len);
	f->len = f->cfg.server.listen[0].len;
	f->srv = (struct ost_server){.cfg = &f->cfg, .workers = &f->w, .n_workers = 1};
	atomic_init(&f->srv.tcp_conns, 0);
	int tcp_fd = ost_tcp_socket(&f->cfg.server.listen[0]);
	int udp_fd = ost_udp_socket(&f->cfg.server.listen[0]);
	assert_true(tcp_fd >= 0);
	assert_true(udp_fd >= 0);
	if (refused) {
		/* Linux refuses UDP_SEGMENT (EINVAL) on a socket sending without checksums. */
		int one = 1;
		if (family == AF_INET6)
			assert_int_equal(setsockopt(udp_fd, IPPROTO_UDP, UDP_NO_CHECK6_TX, &one,
						    sizeof(one)),
					 0);
		else
			assert_int_equal(
				setsockopt(udp_fd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)), 0);
	}
	assert_int_equal(ost_worker_init(&f->w, &f->srv, 0, &udp_fd, &tcp_fd), 0);
	close(tcp_fd);
	return true;
}

static void fixture_down(struct fixture *f)
{
	ost_worker_deinit(&f->w);
	ost_config_deinit(&f->cfg);
}

/* A client socket on the fixture's family, not blocking. */
static int client(const struct fixture *f)
{
	int fd = socket(f->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	int bytes = 1 << 20;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	/* IPv6 drops datagrams without a checksum unless told (the refused case sends them). */
	int one = 1;
	if (f->ss.ss_family == AF_INET6)
		assert_int_equal(setsockopt(fd, IPPROTO_UDP, UDP_NO_CHECK6_RX, &one, sizeof(one)),
				 0);
	return fd;
}

/* Run the loop until @p fd received @p want datagrams (3 s at most); one more must not come. */
static void collect(struct fixture *f, int fd, size_t want, struct received *r)
{
	uint64_t end = now_ms() + 3000;
	assert_true(want <= N_QUERIES);
	r->n = 0;
	while (r->n < want) {
		uv_run(&f->w.loop, UV_RUN_NOWAIT);
		while (r->n < want) {
			ssize_t n = recv(fd, r->data[r->n], MAX_DGRAM, 0);
			if (n < 0)
				break;
			r->len[r->n++] = (size_t)n;
		}
		if (r->n >= want)
			break;
		uint64_t t = now_ms();
		if (t >= end)
			fail_msg("received %zu of %zu datagrams within 3 s", r->n, want);
		struct pollfd p[2] = {{.fd = uv_backend_fd(&f->w.loop), .events = POLLIN},
				      {.fd = fd, .events = POLLIN}};
		(void)poll(p, 2, end - t < 10 ? (int)(end - t) : 10);
	}
	uv_run(&f->w.loop, UV_RUN_NOWAIT);
	uint8_t extra[MAX_DGRAM];
	assert_true(recv(fd, extra, sizeof(extra), 0) < 0);
}

/*
 * Query @p i: ID i, a name whose length changes now and then (so runs of
 * equal-length replies alternate with single ones), type A.
 */
static size_t make_query(unsigned i, uint8_t *q)
{
	static const uint8_t hdr[12] = {0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
	memcpy(q, hdr, sizeof(hdr));
	q[0] = (uint8_t)(i >> 8);
	q[1] = (uint8_t)i;
	size_t pos = sizeof(hdr);
	size_t label = i % 7 == 3 ? 9 : i % 11 == 5 ? 1 : 4;
	q[pos++] = (uint8_t)label;
	for (size_t k = 0; k < label; k++)
		q[pos++] = (uint8_t)('a' + (i + k) % 26);
	memcpy(q + pos, "\0\0\1\0\1", 5);
	return pos + 5;
}

/*
 * Send N_QUERIES queries from one socket before the worker runs, so it reads
 * them in one recvmmsg() and answers them (REFUSED: no resolver here) in one
 * send batch. @return the worker's UDP GSO counters through @p gso_dgrams
 */
static void query_batch(int family, const char *host, bool gso, bool refused, struct received *r,
			uint64_t *gso_dgrams, uint64_t *gso_sends)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	if (!fixture_up(f, family, host, gso, refused)) {
		free(f);
		skip();
	}
	int fd = client(f);
	/* Twice: the second batch shows whether a refusal stuck. */
	for (int round = 0; round < 2; round++) {
		for (unsigned i = 0; i < N_QUERIES; i++) {
			uint8_t q[64];
			size_t len = make_query(i, q);
			assert_int_equal(
				sendto(fd, q, len, 0, (const struct sockaddr *)&f->ss, f->len),
				(ssize_t)len);
		}
		collect(f, fd, N_QUERIES, &r[round]);
	}
	assert_int_equal(f->w.stats.udp_queries, 2 * N_QUERIES);
	*gso_dgrams = f->w.stats.udp_gso_dgrams;
	*gso_sends = f->w.stats.udp_gso_sends;
	close(fd);
	fixture_down(f);
	free(f);
}

static void assert_same(const struct received *a, const struct received *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_int_equal(a->len[i], b->len[i]);
		assert_memory_equal(a->data[i], b->data[i], a->len[i]);
	}
}

static void batch_identical(int family, const char *host)
{
	static struct received off[2], on[2], refused[2];
	uint64_t dgrams, sends;
	query_batch(family, host, false, false, off, &dgrams, &sends);
	assert_int_equal(dgrams, 0);
	/* The replies without GSO: one per query, in order, REFUSED, the question echoed. */
	for (unsigned i = 0; i < N_QUERIES; i++) {
		uint8_t q[64];
		size_t len = make_query(i, q);
		assert_int_equal(off[0].len[i], len);
		assert_int_equal(off[0].data[i][0] << 8 | off[0].data[i][1], i);
		assert_int_equal(off[0].data[i][3] & 0x0f, 5);
		assert_memory_equal(off[0].data[i] + 12, q + 12, len - 12);
	}
	assert_same(&off[0], &off[1]);

	query_batch(family, host, true, false, on, &dgrams, &sends);
	assert_same(&off[0], &on[0]);
	assert_same(&off[1], &on[1]);
	/* GSO carried most of them, several per message (the runs of equal length). */
	assert_true(dgrams >= N_QUERIES);
	assert_true(sends > 0 && sends * 2 <= dgrams);

	query_batch(family, host, true, true, refused, &dgrams, &sends);
	assert_same(&off[0], &refused[0]);
	assert_same(&off[1], &refused[1]);
	assert_int_equal(dgrams, 0);
	assert_int_equal(sends, 0);
}

static void test_batch_identical_v4(void **state)
{
	(void)state;
	batch_identical(AF_INET, "127.0.0.1");
}

static void test_batch_identical_v6(void **state)
{
	(void)state;
	batch_identical(AF_INET6, "::1");
}

/*
 * Replies made outside a receive batch (as upstream answers are), to two
 * clients, lengths mixed, one longer than a GSO segment: each client gets
 * its own, intact and in order.
 */
static void two_clients(int family, const char *host)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	if (!fixture_up(f, family, host, true, false)) {
		free(f);
		skip();
	}
	int c[2] = {client(f), client(f)};
	struct sockaddr_storage to[2];
	for (int k = 0; k < 2; k++) {
		/* Bind by connecting to the listener: the kernel picks address and port. */
		assert_int_equal(connect(c[k], (const struct sockaddr *)&f->ss, f->len), 0);
		socklen_t len = sizeof(to[k]);
		assert_int_equal(getsockname(c[k], (struct sockaddr *)&to[k], &len), 0);
	}
	/* client, length: runs, a length change, the other client in between, a long one */
	static const struct {
		int client;
		size_t len;
	} plan[] = {{0, 100}, {0, 100}, {1, 100},  {0, 100},  {0, 60},  {1, 100},
		    {1, 100}, {0, 60},  {0, 1500}, {0, 1500}, {1, 30},  {0, 60},
		    {0, 60},  {1, 30},  {0, 100},  {0, 100},  {0, 100}, {1, 100}};
	size_t n_plan = sizeof(plan) / sizeof(plan[0]);
	static uint8_t pkt[sizeof(plan) / sizeof(plan[0])][MAX_DGRAM];
	size_t want[2] = {0, 0};
	for (size_t i = 0; i < n_plan; i++) {
		for (size_t k = 0; k < plan[i].len; k++)
			pkt[i][k] = (uint8_t)(i * 31 + k);
		assert_int_equal(ost_udp_send(f->w.udp[0],
					      (const struct sockaddr *)&to[plan[i].client], pkt[i],
					      plan[i].len),
				 0);
		want[plan[i].client]++;
	}
	for (int k = 0; k < 2; k++) {
		static struct received r;
		collect(f, c[k], want[k], &r);
		size_t j = 0;
		for (size_t i = 0; i < n_plan; i++) {
			if (plan[i].client != k)
				continue;
			assert_int_equal(r.len[j], plan[i].len);
			assert_memory_equal(r.data[j], pkt[i], plan[i].len);
			j++;
		}
	}
	assert_true(f->w.stats.udp_gso_sends > 0);
	assert_int_equal(f->w.stats.send_failed, 0);
	close(c[0]);
	close(c[1]);
	fixture_down(f);
	free(f);
}

static void test_two_clients_v4(void **state)
{
	(void)state;
	two_clients(AF_INET, "127.0.0.1");
}

static void test_two_clients_v6(void **state)
{
	(void)state;
	two_clients(AF_INET6, "::1");
}

/*
 * A reply the kernel refuses for its address (port 0, as a spoofed query
 * could bring) inside a GSO message: the others still arrive, and GSO stays
 * on for the next batch (only a refusal of GSO itself turns it off).
 */
static void bad_address(int family, const char *host)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	if (!fixture_up(f, family, host, true, false)) {
		free(f);
		skip();
	}
	int c = client(f);
	struct sockaddr_storage to, zero;
	assert_int_equal(connect(c, (const struct sockaddr *)&f->ss, f->len), 0);
	socklen_t len = sizeof(to);
	assert_int_equal(getsockname(c, (struct sockaddr *)&to, &len), 0);
	memcpy(&zero, &to, len);
	if (family == AF_INET6)
		((struct sockaddr_in6 *)&zero)->sin6_port = 0;
	else
		((struct sockaddr_in *)&zero)->sin_port = 0;
	static uint8_t pkt[3][80];
	for (int i = 0; i < 3; i++)
		memset(pkt[i], 'a' + i, sizeof(pkt[i]));
	static struct received r;
	for (int round = 0; round < 2; round++) {
		if (round == 0) {
			for (int i = 0; i < 2; i++)
				assert_int_equal(ost_udp_send(f->w.udp[0],
							      (const struct sockaddr *)&zero,
							      pkt[0], 50),
						 0);
		}
		for (int i = 0; i < 3; i++)
			assert_int_equal(ost_udp_send(f->w.udp[0], (const struct sockaddr *)&to,
						      pkt[i], sizeof(pkt[i])),
					 0);
		collect(f, c, 3, &r);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(r.len[i], sizeof(pkt[i]));
			assert_memory_equal(r.data[i], pkt[i], sizeof(pkt[i]));
		}
		assert_int_equal(f->w.stats.send_failed, 2);
		/* The first batch went one by one after the refusal; the second is grouped. */
		assert_int_equal(f->w.stats.udp_gso_sends, (uint64_t)round);
		assert_int_equal(f->w.stats.udp_gso_dgrams, (uint64_t)round * 3);
	}
	close(c);
	fixture_down(f);
	free(f);
}

static void test_bad_address_v4(void **state)
{
	(void)state;
	bad_address(AF_INET, "127.0.0.1");
}

static void test_bad_address_v6(void **state)
{
	(void)state;
	bad_address(AF_INET6, "::1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_identical_v4),
		cmocka_unit_test(test_batch_identical_v6),
		cmocka_unit_test(test_two_clients_v4),
		cmocka_unit_test(test_two_clients_v6),
		cmocka_unit_test(test_bad_address_v4),
		cmocka_unit_test(test_bad_address_v6),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
