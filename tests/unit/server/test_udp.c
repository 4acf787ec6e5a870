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
 *   itself and does not turn GSO off;
 * - on a listener bound to a wildcard address (0.0.0.0, ::, and :: taking
 *   IPv4 as well) each reply leaves from the address its query was sent to
 *   (127.0.0.1, .2, .3, ::1), with GSO on and off, for replies of a receive
 *   batch, made later, waiting on the queue for a full socket, and longer
 *   than a send slot. Without IP_PKTINFO, Linux sends a reply to a loopback
 *   client from 127.0.0.1 (the local route's preferred source) whatever the
 *   query was sent to, so the .2 and .3 cases fail then; the ::1 ones show
 *   that the IPV6_PKTINFO message is well formed (loopback has no other IPv6
 *   address to tell sources apart by).
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
#include <sys/syscall.h>
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
#define MAX_DGRAM 6000

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
	size_t n;                                /**< datagrams */
	size_t len[N_QUERIES];                   /**< their lengths */
	struct sockaddr_storage from[N_QUERIES]; /**< where each came from */
	uint8_t data[N_QUERIES][MAX_DGRAM];      /**< their bytes */
};

/*
 * sendmmsg() calls still to fail with EAGAIN. A UDP send on loopback never
 * finds the socket buffer full (the loopback device releases each datagram's
 * memory as it passes it on), so the queue for a full socket is reached by
 * failing the call here, which the server library links to instead of libc's.
 */
static int sendmmsg_eagain;

int sendmmsg(int fd, struct mmsghdr *msg, unsigned int n, int flags)
{
	if (sendmmsg_eagain > 0) {
		sendmmsg_eagain--;
		errno = EAGAIN;
		return -1;
	}
	return (int)syscall(SYS_sendmmsg, fd, msg, n, flags);
}

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

/* A UDP socket on [::] that takes IPv4 as well (IPV6_V6ONLY off), as ost_udp_socket() else. */
static int dual_stack_socket(const struct fixture *f)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	int zero = 0, one = 1;
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)), 0);
	assert_int_equal(bind(fd, (const struct sockaddr *)&f->ss, f->len), 0);
	return fd;
}

/*
 * Bring up a worker on @p host (@p family) with server.udp-gso @p gso; with
 * @p refused the kernel refuses UDP_SEGMENT on its socket (SO_NO_CHECK); with
 * @p dual its IPv6 socket takes IPv4 as well.
 * @return false when the address family is not available here
 */
static bool fixture_up(struct fixture *f, int family, const char *host, bool gso, bool refused,
		       bool dual)
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
	int udp_fd = dual ? dual_stack_socket(f) : ost_udp_socket(&f->cfg.server.listen[0]);
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

/* A client socket of @p family, not blocking. */
static int client_of(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	int bytes = 1 << 20;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	/* IPv6 drops datagrams without a checksum unless told (the refused case sends them). */
	int one = 1;
	if (family == AF_INET6)
		assert_int_equal(setsockopt(fd, IPPROTO_UDP, UDP_NO_CHECK6_RX, &one, sizeof(one)),
				 0);
	return fd;
}

/* A client socket on the fixture's family, not blocking. */
static int client(const struct fixture *f)
{
	return client_of(f->ss.ss_family);
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
			socklen_t from_len = sizeof(r->from[r->n]);
			ssize_t n = recvfrom(fd, r->data[r->n], MAX_DGRAM, 0,
					     (struct sockaddr *)&r->from[r->n], &from_len);
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
	if (!fixture_up(f, family, host, gso, refused, false)) {
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
	if (!fixture_up(f, family, host, true, false, false)) {
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
					      (const struct sockaddr *)&to[plan[i].client], NULL,
					      pkt[i], plan[i].len),
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
	if (!fixture_up(f, family, host, true, false, false)) {
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
							      (const struct sockaddr *)&zero, NULL,
							      pkt[0], 50),
						 0);
		}
		for (int i = 0; i < 3; i++)
			assert_int_equal(ost_udp_send(f->w.udp[0], (const struct sockaddr *)&to,
						      NULL, pkt[i], sizeof(pkt[i])),
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

/* ---- wildcard listeners: each reply from the address its query was sent to ---- */

/** Where a query goes: the client socket's family, and the server address. */
struct target {
	int family;       /**< AF_INET or AF_INET6 (the client socket) */
	const char *host; /**< the address the query is sent to */
};

static uint16_t fixture_port(const struct fixture *f)
{
	return ntohs(f->ss.ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)&f->ss)->sin6_port
						 : ((const struct sockaddr_in *)&f->ss)->sin_port);
}

/* @p host@@p port as a socket address. @return its length */
static socklen_t make_addr(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		return sizeof(*in);
	}
	assert_int_equal(inet_pton(AF_INET6, host, &in6->sin6_addr), 1);
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	return sizeof(*in6);
}

/* The reply came from @p host@@p port, exactly. */
static void assert_from(const struct sockaddr_storage *from, const char *host, uint16_t port)
{
	struct sockaddr_storage want;
	(void)make_addr(host, port, &want);
	bool same = from->ss_family == want.ss_family;
	if (same && want.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)from;
		const struct sockaddr_in *b = (const struct sockaddr_in *)&want;
		same = a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
	} else if (same) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;
		const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)&want;
		same = a->sin6_port == b->sin6_port &&
		       memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(b->sin6_addr)) == 0;
	}
	if (!same) {
		char got[80], exp[80];
		ost_sockaddr_str((const struct sockaddr *)from, got, sizeof(got));
		ost_sockaddr_str((const struct sockaddr *)&want, exp, sizeof(exp));
		fail_msg("reply from %s, query sent to %s", got, exp);
	}
}

/* The client socket of @p family among @p c (AF_INET: c[0], AF_INET6: c[1]). */
static int client_for(int *c, int family)
{
	int k = family == AF_INET6;
	if (c[k] < 0)
		c[k] = client_of(family);
	return c[k];
}

/*
 * N_QUERIES queries of one length, query i sent to targets[i % n], all before
 * the worker runs, so one receive batch answers them (REFUSED) and its send
 * batch has replies to one client from several addresses: GSO must only put
 * replies from one of them in a message. Twice, as batch_identical does.
 */
static void wildcard_batch(int family, const char *wild, bool dual, const struct target *t,
			   size_t n, bool gso)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	if (!fixture_up(f, family, wild, gso, false, dual)) {
		free(f);
		skip();
	}
	uint16_t port = fixture_port(f);
	int c[2] = {-1, -1};
	for (int round = 0; round < 2; round++) {
		size_t want[2] = {0, 0};
		for (unsigned i = 0; i < N_QUERIES; i++) {
			const struct target *ti = &t[i % n];
			uint8_t q[64];
			size_t len = make_query(0, q);
			q[0] = (uint8_t)(i >> 8);
			q[1] = (uint8_t)i;
			struct sockaddr_storage to;
			socklen_t tolen = make_addr(ti->host, port, &to);
			assert_int_equal(sendto(client_for(c, ti->family), q, len, 0,
						(const struct sockaddr *)&to, tolen),
					 (ssize_t)len);
			want[ti->family == AF_INET6]++;
		}
		for (int k = 0; k < 2; k++) {
			if (!want[k])
				continue;
			static struct received r;
			bool seen[N_QUERIES] = {false};
			collect(f, c[k], want[k], &r);
			for (size_t j = 0; j < r.n; j++) {
				unsigned id = r.data[j][0] << 8 | r.data[j][1];
				assert_true(id < N_QUERIES && !seen[id]);
				seen[id] = true;
				assert_int_equal(r.data[j][3] & 0x0f, 5);
				assert_int_equal(t[id % n].family == AF_INET6, k);
				assert_from(&r.from[j], t[id % n].host, port);
			}
		}
	}
	assert_int_equal(f->w.stats.udp_queries, 2 * N_QUERIES);
	assert_int_equal(f->w.stats.send_failed, 0);
	if (gso) {
		/* Every reply in a GSO message: one per address each round. */
		assert_int_equal(f->w.stats.udp_gso_sends, 2 * n);
		assert_int_equal(f->w.stats.udp_gso_dgrams, 2 * N_QUERIES);
	} else {
		assert_int_equal(f->w.stats.udp_gso_sends, 0);
	}
	for (int k = 0; k < 2; k++)
		if (c[k] >= 0)
			close(c[k]);
	fixture_down(f);
	free(f);
}

static const struct target v4_targets[] = {
	{AF_INET, "127.0.0.2"}, {AF_INET, "127.0.0.3"}, {AF_INET, "127.0.0.1"}};
static const struct target v6_targets[] = {{AF_INET6, "::1"}};
/* On a dual-stack [::] socket IPv4 queries arrive as IPv4-mapped. */
static const struct target dual_targets[] = {
	{AF_INET, "127.0.0.2"}, {AF_INET6, "::1"}, {AF_INET, "127.0.0.3"}, {AF_INET, "127.0.0.1"}};
#define N_TARGETS(a) (sizeof(a) / sizeof((a)[0]))

static void test_wildcard_batch_v4(void **state)
{
	(void)state;
	wildcard_batch(AF_INET, "0.0.0.0", false, v4_targets, N_TARGETS(v4_targets), true);
	wildcard_batch(AF_INET, "0.0.0.0", false, v4_targets, N_TARGETS(v4_targets), false);
}

static void test_wildcard_batch_v6(void **state)
{
	(void)state;
	wildcard_batch(AF_INET6, "::", false, v6_targets, N_TARGETS(v6_targets), true);
	wildcard_batch(AF_INET6, "::", false, v6_targets, N_TARGETS(v6_targets), false);
}

static void test_wildcard_batch_dual(void **state)
{
	(void)state;
	wildcard_batch(AF_INET6, "::", true, dual_targets, N_TARGETS(dual_targets), true);
	wildcard_batch(AF_INET6, "::", true, dual_targets, N_TARGETS(dual_targets), false);
}

/*
 * The local address a wildcard socket of @p sock_family reads for a query to
 * @p host (as ost_udp_local_get() makes it; IPv4-mapped on an IPv6 socket).
 */
static struct ost_udp_local local_of(int sock_family, const char *host)
{
	struct ost_udp_local l = {.family = (sa_family_t)sock_family, .ifindex = 1};
	struct in_addr v4;
	if (inet_pton(AF_INET, host, &v4) == 1 && sock_family == AF_INET) {
		l.addr.v4 = v4;
	} else if (inet_pton(AF_INET, host, &v4) == 1) {
		l.addr.v6.s6_addr[10] = l.addr.v6.s6_addr[11] = 0xff;
		memcpy(&l.addr.v6.s6_addr[12], &v4, 4);
	} else {
		assert_int_equal(inet_pton(AF_INET6, host, &l.addr.v6), 1);
	}
	return l;
}

/* The client address of socket @p fd as a socket of @p sock_family sees it. */
static void client_addr(int fd, int sock_family, struct sockaddr_storage *out)
{
	socklen_t len = sizeof(*out);
	assert_int_equal(getsockname(fd, (struct sockaddr *)out, &len), 0);
	if (out->ss_family == AF_INET && sock_family == AF_INET6) {
		struct sockaddr_in in = *(struct sockaddr_in *)out;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
		memset(out, 0, sizeof(*out));
		in6->sin6_family = AF_INET6;
		in6->sin6_port = in.sin_port;
		in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&in6->sin6_addr.s6_addr[12], &in.sin_addr, 4);
	}
}

/*
 * Replies made outside a receive batch, from reply targets held as the engine
 * holds them for a cache miss (struct ost_reply_to, copied with its local
 * address), to one client per family from every target address: (0) through
 * the deferred send slots, (1) through the queue for a full socket (the
 * first sendmmsg() fails with EAGAIN), (2) longer than a send slot (sent at
 * once). Each must leave from its target address.
 */
static void wildcard_later(int family, const char *wild, bool dual, const struct target *t,
			   size_t n)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	if (!fixture_up(f, family, wild, true, false, dual)) {
		free(f);
		skip();
	}
	uint16_t port = fixture_port(f);
	int c[2] = {-1, -1};
	struct sockaddr_storage caddr[2];
	for (int k = 0; k < 2; k++) {
		int fam = k ? AF_INET6 : AF_INET;
		bool used = false;
		for (size_t i = 0; i < n; i++)
			used |= t[i].family == fam;
		if (!used)
			continue;
		/* Bind the client to its loopback address, then read it back. */
		struct sockaddr_storage b;
		socklen_t blen = make_addr(k ? "::1" : "127.0.0.1", 0, &b);
		assert_int_equal(bind(client_for(c, fam), (const struct sockaddr *)&b, blen), 0);
		client_addr(c[k], family, &caddr[k]);
	}
	static uint8_t pkt[MAX_DGRAM];
	for (int round = 0; round < 3; round++) {
		size_t want[2] = {0, 0};
		size_t len = round == 2 ? 5000 : 100;
		unsigned count = round == 2 ? (unsigned)n : 4 * (unsigned)n;
		if (round == 1)
			sendmmsg_eagain = 1;
		for (unsigned i = 0; i < count; i++) {
			const struct target *ti = &t[i % n];
			int k = ti->family == AF_INET6;
			struct ost_reply_to to = {.w = &f->w,
						  .proto = OST_PROTO_UDP,
						  .udp = f->w.udp[0],
						  .max_size = UINT16_MAX};
			memcpy(&to.client, &caddr[k], sizeof(caddr[k]));
			to.local = local_of(family, ti->host);
			/* As the engine does: a copy, held across the wait, then released. */
			struct ost_reply_to held = to;
			ost_reply_hold(&held);
			memset(pkt, 'a' + (int)i, len);
			pkt[0] = (uint8_t)round;
			pkt[1] = (uint8_t)i;
			assert_int_equal(ost_reply_send(&held, pkt, len), 0);
			ost_reply_release(&held);
			want[k]++;
		}
		for (int k = 0; k < 2; k++) {
			if (!want[k])
				continue;
			static struct received r;
			collect(f, c[k], want[k], &r);
			for (size_t j = 0; j < r.n; j++) {
				assert_int_equal(r.len[j], len);
				assert_int_equal(r.data[j][0], round);
				unsigned i = r.data[j][1];
				assert_true(i < count &&
					    t[i % n].family == (k ? AF_INET6 : AF_INET));
				assert_from(&r.from[j], t[i % n].host, port);
			}
		}
		/* The queue was used: the refused call was made. */
		assert_int_equal(sendmmsg_eagain, 0);
	}
	assert_int_equal(f->w.stats.send_failed, 0);
	assert_true(f->w.stats.udp_gso_sends > 0);
	for (int k = 0; k < 2; k++)
		if (c[k] >= 0)
			close(c[k]);
	fixture_down(f);
	free(f);
}

static void test_wildcard_later_v4(void **state)
{
	(void)state;
	wildcard_later(AF_INET, "0.0.0.0", false, v4_targets, N_TARGETS(v4_targets));
}

static void test_wildcard_later_v6(void **state)
{
	(void)state;
	wildcard_later(AF_INET6, "::", false, v6_targets, N_TARGETS(v6_targets));
}

static void test_wildcard_later_dual(void **state)
{
	(void)state;
	wildcard_later(AF_INET6, "::", true, dual_targets, N_TARGETS(dual_targets));
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
		cmocka_unit_test(test_wildcard_batch_v4),
		cmocka_unit_test(test_wildcard_batch_v6),
		cmocka_unit_test(test_wildcard_batch_dual),
		cmocka_unit_test(test_wildcard_later_v4),
		cmocka_unit_test(test_wildcard_later_v6),
		cmocka_unit_test(test_wildcard_later_dual),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
