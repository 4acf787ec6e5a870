/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target for the zone transfer client (zones/xfr.c): every message a
 * transfer source sends goes through on_message(), take_records(), the IXFR
 * walk and, at the closing SOA, the mirror's import (parse, verify, commit).
 * A hostile or broken source must end the transfer exactly once with a
 * status (and a reason when it failed), never crash, leak or leave the
 * transfer in flight.
 *
 * Input: byte 0 chooses the run (bit 0 ask IXFR from serial 2018031900,
 * bit 1 a TSIG source, bit 2 keep the messages' own IDs instead of copying
 * the query's, bit 3 the store holds a version of serial 2018031900 first,
 * so incremental IXFR differences are applied to it); the rest is the TCP stream: messages each
 * preceded by a 2-byte length, delivered in order; when it runs out the connection closes
 * (-ECONNRESET). The zone is "example.", unsigned transfers accepted, and
 * whatever was imported is removed again so every run starts from the same
 * store (opened once per process in a temporary directory).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ostrov/log.h"
#include "ostrov/xfr.h"
#include "ostrov/zone.h"

#include "ost_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define M_IXFR   0x01u
#define M_TSIG   0x02u
#define M_KEEPID 0x04u
#define M_BASE   0x08u

/* The version in the store before a M_BASE run (the seeds' zone). */
static const char base_zone[] = "example. 3600 IN SOA ns1.example. admin.example. 2018031900 "
				"1800 900 604800 86400\n"
				"example. 3600 IN NS ns1.example.\n"
				"ns1.example. 3600 IN A 127.53.2.1\n"
				"www.example. 3600 IN TXT hello\n";

static uint64_t fc_mono(void *ctx)
{
	(void)ctx;
	return 5000;
}

static int64_t fc_wall(void *ctx)
{
	(void)ctx;
	return 1767225600;
}

static struct ost_timer *fc_start(void *ctx, uint64_t ms, ost_timer_cb cb, void *arg)
{
	(void)ctx;
	(void)ms;
	(void)cb;
	(void)arg;
	abort(); /* transfers time out in the transport, not here */
}

static void fc_stop(void *ctx, struct ost_timer *t)
{
	(void)ctx;
	(void)t;
	abort();
}

static const struct ost_clock_ops fc_ops = {
	.mono_ms = fc_mono, .wall_s = fc_wall, .timer_start = fc_start, .timer_stop = fc_stop};
static const struct ost_clock fclock = {.ops = &fc_ops, .ctx = NULL};

/* The fake TCP transport: one query at a time (a restart sends the next
 * one from inside the callback that ends the current one). */
struct fnet {
	struct ost_transport tp;
	struct ost_upstream_query *uq;   /* in flight */
	struct ost_upstream_query *next; /* sent while uq's callback ran */
	bool in_cb;
	unsigned sends;
};

static int fn_send(void *ctx, struct ost_upstream_query *uq)
{
	struct fnet *n = ctx;
	if (uq->proto != OST_PROTO_TCP || uq->len < 12 || ++n->sends > 8)
		abort(); /* transfers go over TCP; no restart loops */
	if (n->in_cb) {
		if (n->next)
			abort();
		n->next = uq;
	} else {
		if (n->uq)
			abort();
		n->uq = uq;
	}
	return 0;
}

static void fn_cancel(void *ctx, struct ost_upstream_query *uq)
{
	struct fnet *n = ctx;
	if (uq == n->uq)
		n->uq = NULL;
	else if (uq == n->next)
		n->next = NULL;
	else
		abort(); /* cancel of a query that is not in flight */
}

static const struct ost_transport_ops fn_ops = {.send = fn_send, .cancel = fn_cancel};

struct outcome {
	unsigned calls;
	struct ost_xfr_result res;
};

static void on_done(struct ost_xfr *x, const struct ost_xfr_result *res, void *arg)
{
	(void)x;
	struct outcome *o = arg;
	o->calls++;
	o->res = *res;
}

static struct ost_zone_store *store;
static char store_dir[] = "/tmp/ostrov-fuzz-xfr-XXXXXX";

static void cleanup(void)
{
	ost_zone_store_close(store);
	fake_rmtree(store_dir);
}

static void store_base(void)
{
	struct ost_zone_data *z = NULL;
	struct ost_zone_verify_result res;
	if (ost_zone_parse_text("example.", base_zone, sizeof(base_zone) - 1, NULL, &z, &res) != 0)
		abort();
	struct ost_zone_meta meta = {.serial = 2018031900,
				     .refresh = 1800,
				     .retry = 900,
				     .expire = 604800,
				     .fetched_at = 1767225600,
				     .verified_at = 1767225600,
				     .soa_expire_deadline = 1767225600 + 604800,
				     .records = ost_zone_data_count(z)};
	snprintf(meta.source, sizeof(meta.source), "fuzz");
	if (ost_zone_store_commit(store, z, &meta) != 0)
		abort();
	ost_zone_data_free(z);
}

/* Deliver one message (or the end of the stream) to the query in flight. */
static void deliver(struct fnet *n, int status, const uint8_t *msg, size_t len, bool keep_id)
{
	struct ost_upstream_query *uq = n->uq;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	if (len)
		memcpy(copy, msg, len);
	if (!keep_id && len >= 2) {
		copy[0] = uq->wire[0];
		copy[1] = uq->wire[1];
	}
	n->in_cb = true;
	int ret = uq->cb(uq, status, status == 0 ? copy : NULL, status == 0 ? len : 0);
	n->in_cb = false;
	free(copy);
	if (ret == -EAGAIN && status == 0)
		return;
	if (ret != 0)
		abort();
	if (n->uq == uq)
		n->uq = NULL;
	if (n->next) {
		n->uq = n->next;
		n->next = NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!store) {
		ost_log_set_level(OST_LOG_ERR);
		if (!mkdtemp(store_dir))
			abort();
		struct ost_zone_store_opts so = {.path = store_dir, .map_size = 64u << 20};
		if (ost_zone_store_open(&so, &store) != 0)
			abort();
		atexit(cleanup);
	}
	if (size < 1)
		return 0;
	unsigned mode = data[0];
	const uint8_t *s = data + 1;
	size_t left = size - 1;

	if (mode & M_BASE)
		store_base();
	struct ost_mirror *m = NULL;
	if (ost_mirror_new(store, &fclock, &m) != 0)
		abort();
	struct ost_mirror_zone_config zc = {
		.name = "example.",
		.policy = {.zonemd = OST_ZONEMD_CHECK_IF_PRESENT,
			   .max_bytes = 1 << 20,
			   .max_records = 4096},
		.is_unsigned_ok = true,
	};
	if (ost_mirror_add_zone(m, &zc) != 0)
		abort();
	struct ost_xfr_source src;
	if (ost_xfr_source_parse((mode & M_TSIG) ? "127.53.2.1@53 tsig "
						   "xfr-key.:hmac-sha256:c2VjcmV0c2VjcmV0c2VjcmV0"
						 : "127.53.2.1@53",
				 &src) != 0)
		abort();
	struct fnet net = {.tp = {.ops = &fn_ops}};
	net.tp.ctx = &net;
	struct ost_xfr_request rq = {
		.zone = "example.",
		.src = &src,
		.ixfr = (mode & M_IXFR) != 0,
		.have_serial = 2018031900,
		.max_bytes = 1 << 20,
		.max_records = 4096,
		.store = store,
	};
	struct outcome o = {0};
	struct ost_xfr *x = NULL;
	if (ost_xfr_start(m, &net.tp, &fclock, &rq, on_done, &o, &x) != 0)
		abort();
	while (net.uq) {
		if (left >= 2) {
			size_t l = (size_t)(s[0] << 8 | s[1]);
			s += 2;
			left -= 2;
			if (l > left)
				l = left;
			deliver(&net, 0, s, l, (mode & M_KEEPID) != 0);
			s += l;
			left -= l;
		} else {
			deliver(&net, -ECONNRESET, NULL, 0, true);
		}
	}
	if (o.calls != 1)
		abort(); /* ended exactly once */
	if (o.res.status != 0 && o.res.reason[0] == '\0')
		abort(); /* a failure must say why */
	if (o.res.status > 0 || o.res.verdict >= OST_ZV_COUNT)
		abort();
	ost_xfr_free(x);
	ost_mirror_free(m);
	int rc = ost_zone_store_remove(store, "example.");
	if (rc != 0 && rc != -ENOENT)
		abort();
	if (o.res.status == 0 && !o.res.is_up_to_date && rc != 0)
		abort(); /* a transfer reported imported must have been stored */
	if ((mode & M_BASE) && rc != 0)
		abort(); /* the base version cannot have vanished */
	return 0;
}
