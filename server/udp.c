/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Client-facing UDP: one socket per worker and listen address, all bound to
 * the same address and port with SO_REUSEPORT, so the kernel hashes clients
 * over the workers with no shared queue and no lock.
 *
 * The sockets are created and bound by the main thread (ost_udp_socket) so
 * that a bind failure is reported before any thread starts, then handed to
 * the worker's loop with uv_udp_open().
 *
 * Batched receive. The handle is created with UV_UDP_RECVMMSG, and the
 * receive buffer holds RECV_CHUNKS datagrams of 64 KiB (libuv 1.44 sizes each
 * slot as UV__UDP_DGRAM_MAXSIZE and takes at most 20), so one recvmmsg(2)
 * drains up to RECV_CHUNKS queued datagrams per wake-up; each arrives in
 * on_recv() with UV_UDP_MMSG_CHUNK and a final call with UV_UDP_MMSG_FREE
 * ends the batch. The buffer belongs to the listener, so nothing is freed per
 * batch.
 *
 * Decision and measurement: 8 slots (512 KiB per socket; libuv caps a batch
 * at 20). With libuv 1.44.2 uv_udp_using_recvmmsg() is 1 after uv_udp_open()
 * (a debug record shows it for each socket), and libuv falls back to
 * recvmsg() by itself where the kernel lacks recvmmsg. Measured on the
 * shared 2-core development box (dnsperf on the same host, 1 worker,
 * REFUSED answers, three alternating 4 s runs each): 48-64k qps with
 * recvmmsg, 39-62k without, i.e. within the noise of a loaded machine. It is
 * kept because it works cleanly and saves system calls under bursts; bench/
 * should re-measure it on real hardware before anyone tunes RECV_CHUNKS.
 *
 * Replies go out with uv_udp_try_send() from the receive callback, which
 * costs no allocation; only when the socket buffer is full is the reply
 * copied and queued with uv_udp_send().
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ostrov/log.h"

#include "worker.h"

#define DGRAM_SLOT  (64 * 1024)
#define RECV_CHUNKS 8

struct ost_udp_listener {
	uv_udp_t h; /* h.data points back to this */
	struct ost_worker *w;
	const struct ost_addr *addr; /* from the configuration */
	uint8_t *buf;                /* RECV_CHUNKS slots for recvmmsg */
	int refs;                    /* held replies (ost_reply_hold) */
	bool closing;                /* uv_close() called */
	bool closed;                 /* its close callback ran */
};

struct queued_send {
	uv_udp_send_t req;
	uint8_t data[];
};

int ost_udp_socket(const struct ost_addr *a)
{
	int family = a->ss.ss_family;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	/* An IPv6 socket must not also take the IPv4 port another entry may name. */
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		goto fail;
	return fd;
fail:;
	int err = -errno;
	close(fd);
	return err;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct ost_udp_listener *l = h->data;
	*buf = uv_buf_init((char *)l->buf, DGRAM_SLOT * RECV_CHUNKS);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		    unsigned flags)
{
	struct ost_udp_listener *l = h->data;
	struct ost_worker *w = l->w;
	if (nread < 0) {
		ost_log(OST_LOG_DEBUG, "server", "udp receive error addr=%s err=\"%s\"",
			l->addr->text, uv_strerror((int)nread));
		return;
	}
	/* nread == 0 without addr ends a batch (UV_UDP_MMSG_FREE) or means "nothing". */
	if (!addr)
		return;
	if (flags & UV_UDP_PARTIAL) {
		w->stats.dropped++;
		return;
	}
	/* The client ACL comes before anything else looks at the bytes. */
	bool allowed = ost_acl_match(&w->cfg->access.allow, addr);
	if (!allowed && w->cfg->access.deny_action == OST_DENY_DROP) {
		w->stats.acl_denied++;
		w->stats.dropped++;
		return;
	}
	struct ost_reply_to to = {.w = w, .proto = OST_PROTO_UDP, .udp = l};
	memcpy(&to.client, addr,
	       addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					   : sizeof(struct sockaddr_in));
	ost_worker_on_message(w, &to, allowed, (const uint8_t *)buf->base, (size_t)nread);
}

static void listener_maybe_free(struct ost_udp_listener *l)
{
	if (l->closed && l->refs == 0) {
		free(l->buf);
		free(l);
	}
}

static void on_closed(uv_handle_t *h)
{
	struct ost_udp_listener *l = h->data;
	l->closed = true;
	listener_maybe_free(l);
}

void ost_udp_listener_ref(struct ost_udp_listener *l)
{
	l->refs++;
}

void ost_udp_listener_unref(struct ost_udp_listener *l)
{
	l->refs--;
	listener_maybe_free(l);
}

int ost_udp_listener_open(struct ost_worker *w, int fd, const struct ost_addr *a,
			  struct ost_udp_listener **out)
{
	struct ost_udp_listener *l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd);
		return -ENOMEM;
	}
	l->w = w;
	l->addr = a;
	l->buf = malloc(DGRAM_SLOT * RECV_CHUNKS);
	/* AF_UNSPEC: libuv creates no socket of its own; ours comes with uv_udp_open(). */
	int ret = uv_udp_init_ex(&w->loop, &l->h, AF_UNSPEC | UV_UDP_RECVMMSG);
	if (ret < 0) {
		free(l->buf);
		free(l);
		close(fd);
		return ret;
	}
	l->h.data = l;
	if (!l->buf) {
		close(fd);
		uv_close((uv_handle_t *)&l->h, on_closed);
		return -ENOMEM;
	}
	ret = uv_udp_open(&l->h, fd);
	if (ret < 0) {
		close(fd);
		uv_close((uv_handle_t *)&l->h, on_closed);
		return ret;
	}
	ret = uv_udp_recv_start(&l->h, on_alloc, on_recv);
	if (ret < 0) {
		uv_close((uv_handle_t *)&l->h, on_closed);
		return ret;
	}
	ost_log(OST_LOG_DEBUG, "server", "udp socket ready addr=%s worker=%u recvmmsg=%d", a->text,
		w->id, uv_udp_using_recvmmsg(&l->h));
	*out = l;
	return 0;
}

void ost_udp_listener_close(struct ost_udp_listener *l)
{
	l->closing = true;
	uv_close((uv_handle_t *)&l->h, on_closed);
}

static void queued_sent(uv_udp_send_t *req, int status)
{
	struct queued_send *qs = (struct queued_send *)req;
	if (status < 0 && status != UV_ECANCELED) {
		struct ost_udp_listener *l = req->handle->data;
		l->w->stats.send_failed++;
	}
	free(qs);
}

int ost_udp_send(struct ost_udp_listener *l, const struct sockaddr *to, const uint8_t *pkt,
		 size_t len)
{
	if (l->closing)
		return -ECONNRESET;
	uv_buf_t buf = uv_buf_init((char *)pkt, (unsigned)len);
	int ret = uv_udp_try_send(&l->h, &buf, 1, to);
	if (ret >= 0)
		return 0;
	if (ret != UV_EAGAIN)
		return ret;
	struct queued_send *qs = malloc(sizeof(*qs) + len);
	if (!qs)
		return -ENOMEM;
	memcpy(qs->data, pkt, len);
	buf = uv_buf_init((char *)qs->data, (unsigned)len);
	ret = uv_udp_send(&qs->req, &l->h, &buf, 1, to, queued_sent);
	if (ret < 0)
		free(qs);
	return ret;
}
