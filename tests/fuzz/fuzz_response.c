/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target for the engine's consume path: whatever an upstream server
 * sends reaches on_upstream() (resolver/request.c) and then the iterator,
 * the validator and the cache stash. One resolution of "www.example.ru." is
 * started on a fresh resolver with a fake transport and a pinned fake clock;
 * the fuzz input is delivered as the reply to the first outbound query, the
 * clock then runs until every timer has fired, and the client request must
 * have ended exactly once with a valid rcode, with nothing left in flight.
 *
 * The input is a DNS message. Its ID is meaningless to the engine (a random
 * one is never guessed), so its bits choose the run:
 *   0x0001  patch ID and question to match the query (else delivered as is,
 *           which exercises the spoof/drop checks);
 *   0x0002  deliver the (patched) input to every later query too, so
 *           referrals, sub-requests and validation fetches go deep;
 *   0x0004  DNSSEC validation on (built-in root anchor);
 *   0x0008  QNAME minimisation off;
 *   0x0030  client QTYPE: A, AAAA, NS, DS;
 *   0x0040  client DO; 0x0080 client CD.
 * A cache is opened once per process in a temporary directory; nothing is
 * ever committed to it, so every run starts from the same empty cache while
 * the stash code still builds its entries.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ostrov/cache.h"
#include "ostrov/log.h"
#include "ostrov/resolver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define M_PATCH    0x0001u
#define M_ALL      0x0002u
#define M_VALIDATE 0x0004u
#define M_NO_QMIN  0x0008u
#define M_DO       0x0040u
#define M_CD       0x0080u

/* ---- pinned clock ---- */

struct ost_timer {
	struct ost_timer *next;
	uint64_t at;
	uint64_t seq;
	ost_timer_cb cb;
	void *arg;
};

struct fclock {
	struct ost_clock clock;
	uint64_t now_ms;
	uint64_t seq;
	struct ost_timer *timers;
};

static uint64_t fc_mono(void *ctx)
{
	return ((struct fclock *)ctx)->now_ms;
}

static int64_t fc_wall(void *ctx)
{
	(void)ctx;
	return 1767225600; /* 2026-01-01, fixed: the cache's writer may read it */
}

static struct ost_timer *fc_start(void *ctx, uint64_t ms, ost_timer_cb cb, void *arg)
{
	struct fclock *c = ctx;
	struct ost_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->at = c->now_ms + ms;
	t->seq = c->seq++;
	t->cb = cb;
	t->arg = arg;
	struct ost_timer **pp = &c->timers;
	while (*pp && ((*pp)->at < t->at || ((*pp)->at == t->at && (*pp)->seq < t->seq)))
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	return t;
}

static void fc_stop(void *ctx, struct ost_timer *t)
{
	struct fclock *c = ctx;
	for (struct ost_timer **pp = &c->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			free(t);
			return;
		}
	}
	abort(); /* the engine stopped a timer that is not armed */
}

static const struct ost_clock_ops fc_ops = {
	.mono_ms = fc_mono, .wall_s = fc_wall, .timer_start = fc_start, .timer_stop = fc_stop};

/* ---- fake transport ---- */

struct pending {
	struct pending *next;
	struct ost_upstream_query *uq;
	struct ost_timer *reply; /* delivery of the input, or NULL */
	struct ost_timer *timeout;
};

struct fnet {
	struct ost_transport tp;
	struct fclock *clk;
	struct pending *pending;
	const uint8_t *in;
	size_t in_len;
	unsigned mode;
	unsigned sent;
	uint8_t buf[65536 + 512];
};

static void pending_drop(struct fnet *n, struct pending *p)
{
	for (struct pending **pp = &n->pending; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (p->reply)
		fc_stop(n->clk, p->reply);
	if (p->timeout)
		fc_stop(n->clk, p->timeout);
	free(p);
}

/* Length of the name at @p off of @p m (uncompressed or ending in a pointer), 0 if bad. */
static size_t name_len(const uint8_t *m, size_t len, size_t off)
{
	size_t at = off;
	while (at < len) {
		uint8_t l = m[at];
		if (l == 0)
			return at + 1 - off;
		if ((l & 0xc0) == 0xc0)
			return at + 2 <= len ? at + 2 - off : 0;
		if (l & 0xc0)
			return 0;
		at += 1u + l;
	}
	return 0;
}

/*
 * The input with the query's ID and question put in: the input's first
 * question (if it has one that parses) is replaced, the rest is kept.
 */
static size_t patched(struct fnet *n, const struct ost_upstream_query *uq)
{
	if (n->in_len < 12 || uq->len < 12)
		return 0;
	size_t qn = name_len(uq->wire, uq->len, 12);
	if (qn == 0 || 12 + qn + 4 > uq->len)
		return 0;
	size_t q_end = 12 + qn + 4; /* end of our question */
	size_t in_q_end = 12;
	if ((n->in[4] | n->in[5]) != 0) {
		size_t l = name_len(n->in, n->in_len, 12);
		if (l > 0 && 12 + l + 4 <= n->in_len)
			in_q_end = 12 + l + 4;
	}
	size_t rest = n->in_len - in_q_end;
	if (q_end + rest > sizeof(n->buf))
		return 0;
	memcpy(n->buf, n->in, 12);
	n->buf[0] = uq->wire[0];
	n->buf[1] = uq->wire[1];
	n->buf[4] = 0;
	n->buf[5] = 1;
	memcpy(n->buf + 12, uq->wire + 12, q_end - 12);
	memcpy(n->buf + q_end, n->in + in_q_end, rest);
	return q_end + rest;
}

static struct fnet *the_net;

static void deliver(void *arg)
{
	struct pending *p = arg;
	struct fnet *n = the_net;
	p->reply = NULL;
	const uint8_t *pkt = n->in;
	size_t len = n->in_len;
	if (n->mode & M_PATCH) {
		size_t pl = patched(n, p->uq);
		if (pl > 0) {
			pkt = n->buf;
			len = pl;
		}
	}
	/* A copy of exactly the packet's size, so ASan sees reads past it. */
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, pkt, len);
	struct ost_upstream_query *uq = p->uq;
	int ret = uq->cb(uq, 0, copy, len);
	free(copy);
	if (ret == -EAGAIN)
		return; /* rejected: the timeout stays armed */
	if (ret != 0)
		abort();
	pending_drop(n, p);
}

static void expire(void *arg)
{
	struct pending *p = arg;
	struct fnet *n = the_net;
	p->timeout = NULL;
	struct ost_upstream_query *uq = p->uq;
	if (uq->cb(uq, -ETIMEDOUT, NULL, 0) != 0)
		abort();
	pending_drop(n, p);
}

static int fn_send(void *ctx, struct ost_upstream_query *uq)
{
	struct fnet *n = ctx;
	if (uq->len < 12 || uq->len > 65535 || uq->proto >= OST_PROTO_COUNT)
		abort();
	struct pending *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->uq = uq;
	p->next = n->pending;
	n->pending = p;
	if (n->sent++ == 0 || (n->mode & M_ALL)) {
		p->reply = fc_start(n->clk, 5, deliver, p);
		if (!p->reply)
			abort();
	}
	p->timeout = fc_start(n->clk, uq->timeout_ms, expire, p);
	if (!p->timeout)
		abort();
	return 0;
}

static void fn_cancel(void *ctx, struct ost_upstream_query *uq)
{
	struct fnet *n = ctx;
	for (struct pending *p = n->pending; p; p = p->next) {
		if (p->uq == uq) {
			pending_drop(n, p);
			return;
		}
	}
	abort(); /* cancel of a query that is not in flight */
}

static const struct ost_transport_ops fn_ops = {.send = fn_send, .cancel = fn_cancel};

/* ---- the run ---- */

struct outcome {
	unsigned calls;
	uint8_t rcode;
};

static void on_result(const struct ost_result *res, void *arg)
{
	struct outcome *o = arg;
	o->calls++;
	o->rcode = res->rcode;
	if (!res->answer || !res->auth || !res->add || res->src >= OST_SRC_COUNT)
		abort();
	if (res->has_ede && !res->ede_text)
		abort();
}

static struct ost_cache *cache;
static struct fclock cache_clock; /* the cache's own: read by its writer thread */
static char cache_dir[] = "/tmp/ostrov-fuzz-response-XXXXXX";

/* Remove the temporary directory (LMDB's two files) at exit. */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char p[512];
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

static void cleanup(void)
{
	ost_cache_close(cache);
	remove_dir(cache_dir);
}

static void open_cache(void)
{
	if (!mkdtemp(cache_dir))
		abort();
	cache_clock.clock.ops = &fc_ops;
	cache_clock.clock.ctx = &cache_clock;
	struct ost_cache_config cc = {.path = cache_dir, .max_bytes = 16u << 20, .no_sync = true};
	if (ost_cache_open(&cache, &cc, &cache_clock.clock) != 0)
		abort();
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!cache) {
		ost_log_set_level(OST_LOG_ERR);
		open_cache();
	}
	unsigned mode = size >= 2 ? (unsigned)(data[0] << 8 | data[1]) : 0;
	static const uint16_t qtypes[] = {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_NS,
					  LDNS_RR_TYPE_DS};

	struct fclock clk = {.clock = {.ops = &fc_ops}, .now_ms = 1000000};
	clk.clock.ctx = &clk;
	static struct fnet net;
	memset(&net, 0, offsetof(struct fnet, buf));
	net.tp.ops = &fn_ops;
	net.tp.ctx = &net;
	net.clk = &clk;
	net.in = data;
	net.in_len = size;
	net.mode = mode;
	the_net = &net;

	struct ost_root_hint hint = {.name = "a.root.test."};
	struct sockaddr_in *in = (struct sockaddr_in *)&hint.addr;
	in->sin_family = AF_INET;
	in->sin_port = htons(53);
	inet_pton(AF_INET, "127.53.0.1", &in->sin_addr);
	hint.addrlen = sizeof(*in);
	struct ost_resolver_config cfg;
	ost_resolver_config_default(&cfg);
	cfg.hints = &hint;
	cfg.n_hints = 1;
	cfg.validation = (mode & M_VALIDATE) != 0;
	cfg.qname_minimisation = !(mode & M_NO_QMIN);

	struct ost_resolver *r = NULL;
	if (ost_resolver_new(&r, &cfg, cache, &clk.clock, &net.tp) != 0)
		abort();
	static const uint8_t qname[] = "\3www\7example\2ru";
	unsigned flags =
		OST_RF_RD | ((mode & M_DO) ? OST_RF_DO : 0) | ((mode & M_CD) ? OST_RF_CD : 0);
	struct outcome o = {0};
	struct ost_request *rq = NULL;
	if (ost_resolve(r, qname, qtypes[(mode >> 4) & 3], LDNS_RR_CLASS_IN, flags, on_result, &o,
			&rq) != 0)
		abort();
	/* Run the clock until nothing is armed; the request's own time limit
	 * (10 s) ends it long before the cap. */
	for (unsigned fired = 0; clk.timers; fired++) {
		if (fired > 100000 || clk.timers->at > 1000000 + 3600 * 1000)
			abort(); /* a timer loop, or a request that never ends */
		struct ost_timer *t = clk.timers;
		clk.timers = t->next;
		if (t->at > clk.now_ms)
			clk.now_ms = t->at;
		ost_timer_cb cb = t->cb;
		void *arg = t->arg;
		free(t);
		cb(arg);
	}
	if (o.calls != 1 || o.rcode > 15)
		abort();
	if (net.pending || ost_resolver_inflight(r) != 0)
		abort();
	ost_resolver_free(r);
	if (clk.timers)
		abort();
	return 0;
}
