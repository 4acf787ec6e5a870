/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Client-facing TCP (RFC 7766): framed messages with a 2-byte length
 * prefix, several queries pipelined per connection and answered as they
 * complete, an idle timeout, and a global connection limit.
 *
 * There is one listening socket per address, bound by the main thread
 * without SO_REUSEPORT: that makes it the lock that stops a second daemon
 * from starting on the same address (its bind fails with EADDRINUSE, which a
 * UDP socket with SO_REUSEPORT from the same user would not). Every worker
 * listens on a dup() of it and libuv accepts in whichever loop wins the race;
 * the losers see EAGAIN, which libuv swallows. The herd is small (one wake-up
 * per worker per connection) and TCP is the minority transport for a
 * resolver.
 *
 * A connection is freed when both of its handles have closed and no held
 * reply (ost_reply_hold) still refers to it, so a late answer to a client
 * that went away finds a closed connection (-ECONNRESET) instead of freed
 * memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ostrov/log.h"

#include "engine.h"
#include "worker.h"

#define TCP_BACKLOG        1024
#define TCP_FIRST_RX       4096
/* Stop reading from a client that sends faster than it reads its answers. */
#define TCP_MAX_PENDING_WR 128

struct ost_tcp_listener {
	uv_tcp_t h;
	struct ost_worker *w;
	const struct ost_addr *addr;
};

struct ost_tcp_conn {
	uv_tcp_t h; /* h.data and idle.data point back here */
	uv_timer_t idle;
	struct ost_worker *w;
	struct ost_tcp_conn *prev, *next; /* in w->conns until closing */
	struct sockaddr_storage peer;
	bool allowed;            /* peer is inside access.allow */
	bool closing;            /* uv_close() called */
	bool eof;                /* the client has finished sending */
	bool counted;            /* counted in srv->tcp_conns */
	bool reading;            /* uv_read_start() in effect */
	int open_handles;        /* handles not yet closed */
	int refs;                /* held replies */
	unsigned pending_writes; /* uv_write() requests in flight */
	uint8_t *rbuf;           /* partial messages */
	size_t rlen, rcap;
};

struct tcp_write {
	uv_write_t req;
	struct ost_tcp_conn *c;
	uint8_t data[];
};

int ost_tcp_socket(const struct ost_addr *a)
{
	int family = a->ss.ss_family;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	/* SO_REUSEADDR only skips TIME_WAIT leftovers; a live listener still wins. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		goto fail;
	if (listen(fd, TCP_BACKLOG) < 0)
		goto fail;
	return fd;
fail:;
	int err = -errno;
	close(fd);
	return err;
}

static void conn_maybe_free(struct ost_tcp_conn *c)
{
	if (c->open_handles == 0 && c->refs == 0) {
		free(c->rbuf);
		free(c);
	}
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct ost_tcp_conn *c = h->data;
	c->open_handles--;
	conn_maybe_free(c);
}

static void conn_close(struct ost_tcp_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	struct ost_worker *w = c->w;
	if (c->prev)
		c->prev->next = c->next;
	else if (w->conns == c)
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	if (c->counted)
		atomic_fetch_sub(&w->srv->tcp_conns, 1);
	c->counted = false;
	/* Nobody will read the answers: stop resolving for this client (its held
	 * replies are released before the handles close, so @c is not freed here). */
	ost_worker_engine_conn_closed(w, c);
	uv_close((uv_handle_t *)&c->h, conn_handle_closed);
	if (c->open_handles == 2)
		uv_close((uv_handle_t *)&c->idle, conn_handle_closed);
}

/* After the client's EOF, close once everything it asked for has been answered. */
static void conn_maybe_finish(struct ost_tcp_conn *c)
{
	if (c->eof && c->pending_writes == 0 && c->refs == 0)
		conn_close(c);
}

void ost_tcp_conn_ref(struct ost_tcp_conn *c)
{
	c->refs++;
}

void ost_tcp_conn_unref(struct ost_tcp_conn *c)
{
	c->refs--;
	if (c->closing)
		conn_maybe_free(c);
	else
		conn_maybe_finish(c);
}

static void on_idle(uv_timer_t *t)
{
	struct ost_tcp_conn *c = t->data;
	/* RFC 7766 6.2.3: idle means no query outstanding either. */
	if (c->refs > 0 || c->pending_writes > 0) {
		uv_timer_start(&c->idle, on_idle, c->w->cfg->server.tcp_idle_timeout_ms, 0);
		return;
	}
	conn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct ost_tcp_conn *c = h->data;
	size_t need = TCP_FIRST_RX;
	if (c->rlen >= 2) {
		size_t whole = 2 + (size_t)((c->rbuf[0] << 8) | c->rbuf[1]);
		if (whole > need)
			need = whole;
	}
	if (need > c->rcap) {
		uint8_t *nb = realloc(c->rbuf, need);
		if (!nb) {
			*buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
			return;
		}
		c->rbuf = nb;
		c->rcap = need;
	}
	*buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(c->rcap - c->rlen));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	struct ost_tcp_conn *c = s->data;
	struct ost_worker *w = c->w;
	if (nread == 0 || c->closing)
		return;
	if (nread < 0) {
		if (nread != UV_EOF) {
			conn_close(c);
			return;
		}
		c->eof = true;
		uv_read_stop(s);
		c->reading = false;
		conn_maybe_finish(c);
		return;
	}
	c->rlen += (size_t)nread;
	w->rx_ns = uv_hrtime(); /* the queries of this read arrived now */
	/* RFC 7766 6.2.1.1: process every complete query now, answer each as ready. */
	size_t off = 0;
	while (c->rlen - off >= 2 && !c->closing) {
		size_t mlen = (size_t)((c->rbuf[off] << 8) | c->rbuf[off + 1]);
		if (c->rlen - off < 2 + mlen)
			break;
		uv_timer_start(&c->idle, on_idle, w->cfg->server.tcp_idle_timeout_ms, 0);
		struct ost_reply_to to = {.w = w, .proto = OST_PROTO_TCP, .tcp = c};
		to.client = c->peer;
		ost_worker_on_message(w, &to, c->allowed, c->rbuf + off + 2, mlen);
		off += 2 + mlen;
	}
	if (c->closing)
		return;
	c->rlen -= off;
	memmove(c->rbuf, c->rbuf + off, c->rlen);
	if (c->pending_writes >= TCP_MAX_PENDING_WR && c->reading) {
		uv_read_stop(s);
		c->reading = false;
	}
}

static void on_connection(uv_stream_t *server, int status)
{
	struct ost_tcp_listener *l = server->data;
	struct ost_worker *w = l->w;
	if (status < 0) {
		ost_log(OST_LOG_WARN, "server", "accept failed addr=%s err=\"%s\"", l->addr->text,
			uv_strerror(status));
		return;
	}
	struct ost_tcp_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->w = w;
	if (uv_tcp_init(&w->loop, &c->h) < 0) {
		free(c);
		return;
	}
	c->h.data = c;
	c->open_handles = 1;
	if (uv_accept(server, (uv_stream_t *)&c->h) < 0) {
		conn_close(c);
		return;
	}
	unsigned n = atomic_fetch_add(&w->srv->tcp_conns, 1) + 1;
	c->counted = true;
	if (n > w->cfg->server.tcp_max_connections) {
		w->stats.tcp_refused++;
		ost_log(OST_LOG_DEBUG, "server", "tcp connection limit reached limit=%u",
			w->cfg->server.tcp_max_connections);
		conn_close(c);
		return;
	}
	int len = sizeof(c->peer);
	if (uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->peer, &len) < 0) {
		conn_close(c);
		return;
	}
	/* ACL first; a denied client with deny-action drop gets its connection closed. */
	c->allowed = ost_acl_match(&w->cfg->access.allow, (struct sockaddr *)&c->peer);
	if (!c->allowed && w->cfg->access.deny_action == OST_DENY_DROP) {
		w->stats.acl_denied++;
		conn_close(c);
		return;
	}
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	uv_tcp_nodelay(&c->h, 1);
	if (uv_timer_init(&w->loop, &c->idle) < 0) {
		conn_close(c);
		return;
	}
	c->idle.data = c;
	c->open_handles = 2;
	uv_timer_start(&c->idle, on_idle, w->cfg->server.tcp_idle_timeout_ms, 0);
	if (uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read) < 0) {
		conn_close(c);
		return;
	}
	c->reading = true;
}

static void on_written(uv_write_t *req, int status)
{
	struct tcp_write *tw = (struct tcp_write *)req;
	struct ost_tcp_conn *c = tw->c;
	free(tw);
	c->pending_writes--;
	if (c->closing)
		return;
	if (status < 0) {
		c->w->stats.send_failed++;
		conn_close(c);
		return;
	}
	if (!c->reading && !c->eof && c->pending_writes < TCP_MAX_PENDING_WR / 2) {
		if (uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read) == 0)
			c->reading = true;
	}
	conn_maybe_finish(c);
}

int ost_tcp_send(struct ost_tcp_conn *c, const uint8_t *pkt, size_t len)
{
	if (c->closing)
		return -ECONNRESET;
	if (len > UINT16_MAX)
		return -EMSGSIZE;
	uint8_t prefix[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	uv_buf_t bufs[2] = {uv_buf_init((char *)prefix, 2),
			    uv_buf_init((char *)pkt, (unsigned)len)};
	/* uv_try_write() refuses (EAGAIN) while older writes are queued, which keeps order. */
	int n = uv_try_write((uv_stream_t *)&c->h, bufs, 2);
	if (n < 0 && n != UV_EAGAIN)
		return n;
	size_t done = n > 0 ? (size_t)n : 0;
	if (done == len + 2)
		return 0;
	size_t rest = len + 2 - done;
	struct tcp_write *tw = malloc(sizeof(*tw) + rest);
	if (!tw)
		return -ENOMEM;
	tw->c = c;
	for (size_t i = done; i < len + 2; i++)
		tw->data[i - done] = i < 2 ? prefix[i] : pkt[i - 2];
	uv_buf_t b = uv_buf_init((char *)tw->data, (unsigned)rest);
	int ret = uv_write(&tw->req, (uv_stream_t *)&c->h, &b, 1, on_written);
	if (ret < 0) {
		free(tw);
		return ret;
	}
	c->pending_writes++;
	return 0;
}

void ost_tcp_close_all(struct ost_worker *w)
{
	while (w->conns)
		conn_close(w->conns);
}

static void listener_closed(uv_handle_t *h)
{
	free(h->data);
}

int ost_tcp_listener_open(struct ost_worker *w, int fd, const struct ost_addr *a,
			  struct ost_tcp_listener **out)
{
	int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dupfd < 0)
		return -errno;
	struct ost_tcp_listener *l = calloc(1, sizeof(*l));
	if (!l) {
		close(dupfd);
		return -ENOMEM;
	}
	l->w = w;
	l->addr = a;
	int ret = uv_tcp_init(&w->loop, &l->h);
	if (ret < 0) {
		close(dupfd);
		free(l);
		return ret;
	}
	l->h.data = l;
	ret = uv_tcp_open(&l->h, dupfd);
	if (ret < 0) {
		close(dupfd);
		uv_close((uv_handle_t *)&l->h, listener_closed);
		return ret;
	}
	ret = uv_listen((uv_stream_t *)&l->h, TCP_BACKLOG, on_connection);
	if (ret < 0) {
		uv_close((uv_handle_t *)&l->h, listener_closed);
		return ret;
	}
	*out = l;
	return 0;
}

void ost_tcp_listener_close(struct ost_tcp_listener *l)
{
	uv_close((uv_handle_t *)&l->h, listener_closed);
}
