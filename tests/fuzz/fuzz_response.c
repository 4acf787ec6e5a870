/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target for the engine's consume path: whatever an upstream server
 * sends reaches on_upstream() (resolver/request.c) and then the iterator,
 * the validator and the cache stash. One resolution of "www.example.ru." is
 * started on a fresh resolver with the fake network and pinned clock of
 * tests/support/; the fuzz input is delivered as the reply to the first
 * outbound query, the clock then runs until every timer has fired, and the client request must
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

#include "ost_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define M_PATCH    0x0001u
#define M_ALL      0x0002u
#define M_VALIDATE 0x0004u
#define M_NO_QMIN  0x0008u
#define M_DO       0x0040u
#define M_CD       0x0080u

/* The wall clock of every run, fixed: the cache's writer may read it. */
#define FUZZ_WALL_S 1767225600 /* 2026-01-01 */

/* ---- the upstream: the fuzz input, on the shared fake network ---- */

/* The run's input and what the responder has done with it. */
struct input {
	const uint8_t *data;
	size_t len;
	unsigned mode;
	unsigned sent;
	uint8_t buf[65536 + 512];
};

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
static size_t patched(struct input *in, const struct ost_upstream_query *uq)
{
	if (in->len < 12 || uq->len < 12)
		return 0;
	size_t qn = name_len(uq->wire, uq->len, 12);
	if (qn == 0 || 12 + qn + 4 > uq->len)
		return 0;
	size_t q_end = 12 + qn + 4; /* end of our question */
	size_t in_q_end = 12;
	if ((in->data[4] | in->data[5]) != 0) {
		size_t l = name_len(in->data, in->len, 12);
		if (l > 0 && 12 + l + 4 <= in->len)
			in_q_end = 12 + l + 4;
	}
	size_t rest = in->len - in_q_end;
	if (q_end + rest > sizeof(in->buf))
		return 0;
	memcpy(in->buf, in->data, 12);
	in->buf[0] = uq->wire[0];
	in->buf[1] = uq->wire[1];
	in->buf[4] = 0;
	in->buf[5] = 1;
	memcpy(in->buf + 12, uq->wire + 12, q_end - 12);
	memcpy(in->buf + q_end, in->data + in_q_end, rest);
	return q_end + rest;
}

/* Every query times out; the first one (every one with M_ALL) gets the
 * input 5 ms after it was sent. */
static void respond(struct fake_net *n, struct fake_pending *p, const struct ost_upstream_query *uq,
		    void *arg)
{
	struct input *in = arg;
	if (uq->len < 12 || uq->len > 65535 || uq->proto >= OST_PROTO_COUNT)
		abort();
	if (in->sent++ == 0 || (in->mode & M_ALL)) {
		const uint8_t *pkt = in->data;
		size_t len = in->len;
		if (in->mode & M_PATCH) {
			size_t pl = patched(in, uq);
			if (pl > 0) {
				pkt = in->buf;
				len = pl;
			}
		}
		/* A copy of exactly the packet's size, so ASan sees reads past it. */
		uint8_t *copy = malloc(len ? len : 1);
		if (!copy)
			abort();
		memcpy(copy, pkt, len);
		fake_reply(n, p, 5, 0, copy, len);
	}
	fake_reply(n, p, uq->timeout_ms, -ETIMEDOUT, NULL, 0);
}

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
static struct fake_clock cache_clock; /* the cache's own: read by its writer thread */
static char cache_dir[] = "/tmp/ostrov-fuzz-response-XXXXXX";

static void cleanup(void)
{
	ost_cache_close(cache);
	fake_rmtree(cache_dir);
}

static void open_cache(void)
{
	if (!mkdtemp(cache_dir))
		abort();
	fake_clock_init_at(&cache_clock, FUZZ_WALL_S, 0);
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

	struct fake_clock clk;
	fake_clock_init(&clk, 0);
	fake_clock_set_wall(&clk, FUZZ_WALL_S);
	static struct input input; /* static: its buffer is large */
	input.data = data;
	input.len = size;
	input.mode = mode;
	input.sent = 0;
	static struct fake_net net;
	fake_net_init(&net, &clk);
	net.respond = respond;
	net.respond_arg = &input;
	net.is_cb_checked = true;

	struct ost_root_hint hint;
	fake_root_hint(&hint, "a.root.test.", "127.53.0.1");
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
	for (unsigned fired = 0; fake_clock_next_deadline(&clk) != UINT64_MAX; fired++) {
		if (fired > 100000 || fake_clock_next_deadline(&clk) > 1000000 + 3600 * 1000)
			abort();            /* a timer loop, or a request that never ends */
		fake_clock_fire_next(&clk); /* the wall clock stays */
	}
	if (o.calls != 1 || o.rcode > 15)
		abort();
	if (fake_inflight(&net) || ost_resolver_inflight(r) != 0)
		abort();
	ost_resolver_free(r);
	if (fake_clock_armed(&clk))
		abort();
	fake_net_deinit(&net);
	return 0;
}
