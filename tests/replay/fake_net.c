/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The replay runner's fake network: an ost_transport whose "servers" are the
 * scenario's RANGEs. Nothing here opens a socket; the addresses in a
 * scenario (real root-server addresses included) are only keys into the
 * script.
 *
 * send() records the query and arms its timeout on the fake clock, and
 * never calls back from inside send() (the engine must not be re-entered).
 * The driver then pumps: each pending query is looked up as FORMAT.md §5
 * says (ranges in file order, active at the current step, whose ADDRESS
 * list has the destination or is empty; first entry whose MATCH accepts the
 * query) and the entry's reply, after ADJUST, is delivered to the query's
 * callback. A query no range answers stays pending: a later REPLY or
 * TIMEOUT step may deal with it, a later step's ranges may answer it, and
 * otherwise its timeout fires when the driver has to let time run (that is
 * when an answer is awaited and nothing else can happen). We chose this
 * over an immediate -ETIMEDOUT so that REPLY steps work, and over
 * testbound's hard failure because a resolver may legitimately ask more
 * than the script foresaw (the runner reports such queries).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "rpl.h"

/** Default timeout when the engine gives none. */
#define DEFAULT_TIMEOUT_MS 2000

static bool addr_equal(const struct sockaddr_storage *want, const struct sockaddr_storage *got)
{
	if (want->ss_family != got->ss_family)
		return false;
	if (want->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)want, *b = (const void *)got;
		return a->sin_addr.s_addr == b->sin_addr.s_addr &&
		       (a->sin_port == 0 || a->sin_port == b->sin_port);
	}
	const struct sockaddr_in6 *a = (const void *)want, *b = (const void *)got;
	return memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0 &&
	       (a->sin6_port == 0 || a->sin6_port == b->sin6_port);
}

struct rpl_entry *rpl_net_find(const struct rpl_scenario *sc, long step,
			       const struct sockaddr_storage *addr, const ldns_pkt *query,
			       enum ost_proto proto)
{
	if (!query)
		return NULL;
	for (size_t i = 0; i < sc->nranges; i++) {
		const struct rpl_range *r = &sc->ranges[i];
		bool addr_ok = r->naddrs == 0;

		if (step < r->from || step > r->to)
			continue;
		for (size_t j = 0; j < r->naddrs && !addr_ok; j++)
			addr_ok = addr_equal(&r->addrs[j], addr);
		if (!addr_ok)
			continue;
		for (struct rpl_entry *e = r->entries; e; e = e->next)
			if (rpl_match(e, query, proto, NULL, 0))
				return e;
	}
	return NULL;
}

static void trace(struct rpl_net *n, const struct rpl_outq *o, const char *what)
{
	char addr[80], q[300] = "(unparseable)";

	if (!n->trace)
		return;
	rpl_addr_str(&o->addr, addr, sizeof(addr));
	if (o->pkt && ldns_pkt_qdcount(o->pkt)) {
		char *s = ldns_rr2str(ldns_rr_list_rr(ldns_pkt_question(o->pkt), 0));
		snprintf(q, sizeof(q), "%s", s ? s : "?");
		free(s);
		size_t l = strlen(q);
		if (l && q[l - 1] == '\n')
			q[l - 1] = '\0';
	}
	fprintf(n->trace, "  [net] step %ld %s %s %s\n", n->step, addr, q, what);
}

/** Finish @p o: no more callbacks, timers gone. */
static void finish(struct rpl_net *n, struct rpl_outq *o, enum rpl_outq_state st)
{
	ost_clock_timer_stop(&n->clock->clock, o->timer);
	o->timer = NULL;
	free(o->delayed);
	o->delayed = NULL;
	o->state = st;
	/* q may be freed by the engine as soon as its callback has ended it: never touch it
	 * again (a late cancel() finds o through tp_priv and sees the state) */
	o->q = NULL;
}

/** Hand @p wire to the engine; @return true when the query ended. */
static bool deliver(struct rpl_net *n, struct rpl_outq *o, const uint8_t *wire, size_t len)
{
	struct ost_upstream_query *q = o->q;

	trace(n, o, "answered");
	int ret = q->cb(q, 0, wire, len);
	/* The callback may have cancelled or finished the query itself. */
	if (o->state != RPL_OUTQ_PENDING)
		return true;
	if (ret == -EAGAIN) {
		trace(n, o, "reply rejected by the engine (-EAGAIN), still waiting");
		return false;
	}
	finish(n, o, RPL_OUTQ_ANSWERED);
	return true;
}

static void on_timer(void *arg)
{
	struct rpl_outq *o = arg;
	struct rpl_net *n = o->net;

	o->timer = NULL;
	if (o->state != RPL_OUTQ_PENDING)
		return;
	if (o->delayed) {
		/* a sleep= answer is due now */
		uint8_t *w = o->delayed;
		size_t l = o->delayed_len;
		o->delayed = NULL;
		deliver(n, o, w, l);
		free(w);
		if (o->state == RPL_OUTQ_PENDING && !o->timer)
			o->timer = ost_clock_timer_start(&n->clock->clock,
							 o->q->timeout_ms ? o->q->timeout_ms
									  : DEFAULT_TIMEOUT_MS,
							 on_timer, o);
		return;
	}
	struct ost_upstream_query *q = o->q;
	trace(n, o, "timed out");
	finish(n, o, RPL_OUTQ_TIMEDOUT);
	q->cb(q, -ETIMEDOUT, NULL, 0);
}

static int net_send(void *ctx, struct ost_upstream_query *q)
{
	struct rpl_net *n = ctx;
	struct rpl_outq *o;

	if (!q || !q->cb || !q->wire || q->addrlen > sizeof(q->addr))
		return -EINVAL;
	if (n->nlog == n->caplog) {
		size_t cap = n->caplog ? n->caplog * 2 : 16;
		struct rpl_outq **l = realloc(n->log, cap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		n->log = l;
		n->caplog = cap;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->q = q;
	o->net = n;
	o->addr = q->addr;
	o->proto = q->proto;
	o->step = n->step;
	o->tried_step = -1;
	if (ldns_wire2pkt(&o->pkt, q->wire, q->len) != LDNS_STATUS_OK)
		o->pkt = NULL;
	o->timer = ost_clock_timer_start(
		&n->clock->clock, q->timeout_ms ? q->timeout_ms : DEFAULT_TIMEOUT_MS, on_timer, o);
	if (!o->timer) {
		ldns_pkt_free(o->pkt);
		free(o);
		return -ENOMEM;
	}
	q->tp_priv = o;
	n->log[n->nlog++] = o;
	trace(n, o, "sent");
	return 0;
}

static void net_cancel(void *ctx, struct ost_upstream_query *q)
{
	struct rpl_net *n = ctx;
	struct rpl_outq *o = q ? q->tp_priv : NULL;

	if (!o || o->state != RPL_OUTQ_PENDING)
		return;
	trace(n, o, "cancelled");
	finish(n, o, RPL_OUTQ_CANCELLED);
}

static const struct ost_transport_ops net_ops = {
	.send = net_send,
	.cancel = net_cancel,
};

void rpl_net_init(struct rpl_net *n, struct rpl_scenario *sc, struct fake_clock *clock)
{
	*n = (struct rpl_net){.tp = {.ops = &net_ops, .ctx = n}, .sc = sc, .clock = clock};
}

void rpl_net_deinit(struct rpl_net *n)
{
	for (size_t i = 0; i < n->nlog; i++) {
		struct rpl_outq *o = n->log[i];
		if (o->state == RPL_OUTQ_PENDING)
			finish(n, o, RPL_OUTQ_CANCELLED);
		ldns_pkt_free(o->pkt);
		free(o);
	}
	free(n->log);
	n->log = NULL;
	n->nlog = n->caplog = 0;
}

/** Answer @p o with entry @p e. @return true when something was delivered */
static bool answer_with(struct rpl_net *n, struct rpl_outq *o, struct rpl_entry *e)
{
	uint8_t *wire;
	size_t len;

	e->used++;
	if (e->adjust & RPL_A_DO_NOT_ANSWER) {
		trace(n, o, "dropped (do_not_answer)");
		return false;
	}
	if (rpl_entry_reply(e, o->pkt, &wire, &len) != 0) {
		trace(n, o, "could not build the reply");
		return false;
	}
	/*
	 * testbound's fake event layer hands an entry's reply straight to the
	 * pending query it matched (fake_event.c, answer_callback_from_entry),
	 * so Unbound's own ID check (outside_network.c) never sees it: entries
	 * without "ADJUST copy_id" work there. The engine checks the ID (RFC
	 * 5452 §9.1), so routing the reply means giving it the query's ID.
	 * RAW answers (Deckard malformed-packet tests) stay byte-exact.
	 */
	if (n->is_reply_routed && !e->raw && !(e->adjust & RPL_A_COPY_ID) && o->pkt && len >= 2) {
		wire[0] = (uint8_t)(ldns_pkt_id(o->pkt) >> 8);
		wire[1] = (uint8_t)ldns_pkt_id(o->pkt);
	}
	if ((e->adjust & (RPL_A_SLEEP | RPL_A_PACKET_SLEEP)) && e->sleep_ms) {
		ost_clock_timer_stop(&n->clock->clock, o->timer);
		free(o->delayed);
		o->delayed = wire;
		o->delayed_len = len;
		o->timer = ost_clock_timer_start(&n->clock->clock, e->sleep_ms, on_timer, o);
		trace(n, o, "answer delayed (sleep=)");
		return false;
	}
	deliver(n, o, wire, len);
	free(wire);
	return true;
}

size_t rpl_net_pump(struct rpl_net *n)
{
	size_t delivered = 0;
	bool progress = true;

	while (progress) {
		progress = false;
		/* n->log may grow while we deliver: index, never cache pointers */
		for (size_t i = 0; i < n->nlog; i++) {
			struct rpl_outq *o = n->log[i];
			if (o->state != RPL_OUTQ_PENDING || o->delayed || o->tried_step == n->step)
				continue;
			o->tried_step = n->step;
			struct rpl_entry *e =
				rpl_net_find(n->sc, n->step, &o->addr, o->pkt, o->proto);
			if (!e) {
				trace(n, o, "no RANGE entry matches: pending");
				continue;
			}
			o->had_range_answer = true;
			if (answer_with(n, o, e)) {
				delivered++;
				progress = true;
			}
		}
	}
	return delivered;
}

int rpl_net_reply(struct rpl_net *n, struct rpl_entry *e)
{
	for (size_t i = 0; i < n->nlog; i++) {
		struct rpl_outq *o = n->log[i];
		if (o->state != RPL_OUTQ_PENDING || o->delayed || !o->pkt)
			continue;
		if (!rpl_match(e, o->pkt, o->proto, NULL, 0))
			continue;
		answer_with(n, o, e);
		return 0;
	}
	return -ENOENT;
}

int rpl_net_timeout_oldest(struct rpl_net *n)
{
	for (size_t i = 0; i < n->nlog; i++) {
		struct rpl_outq *o = n->log[i];
		if (o->state != RPL_OUTQ_PENDING)
			continue;
		struct ost_upstream_query *q = o->q;
		trace(n, o, "timed out (TIMEOUT step)");
		finish(n, o, RPL_OUTQ_TIMEDOUT);
		q->cb(q, -ETIMEDOUT, NULL, 0);
		return 0;
	}
	return -ENOENT;
}

int rpl_net_check_out(struct rpl_net *n, const struct rpl_entry *e, char *why, size_t whylen)
{
	size_t off = 0;

	for (size_t i = 0; i < n->nlog; i++) {
		struct rpl_outq *o = n->log[i];
		if (o->is_checked || !o->pkt)
			continue;
		if (rpl_match(e, o->pkt, o->proto, NULL, 0)) {
			o->is_checked = true;
			return 0;
		}
	}
	/* list what was sent, to make the failure readable */
	off += (size_t)snprintf(why, whylen, "queries sent:");
	for (size_t i = 0; i < n->nlog && off < whylen; i++) {
		const struct rpl_outq *o = n->log[i];
		char *s = o->pkt && ldns_pkt_qdcount(o->pkt)
				  ? ldns_rr2str(ldns_rr_list_rr(ldns_pkt_question(o->pkt), 0))
				  : NULL;
		char addr[80];
		rpl_addr_str(&o->addr, addr, sizeof(addr));
		if (s && strlen(s) && s[strlen(s) - 1] == '\n')
			s[strlen(s) - 1] = '\0';
		off += (size_t)snprintf(why + off, whylen - off, " [%s -> %s%s]", s ? s : "?", addr,
					o->is_checked ? ", checked" : "");
		free(s);
	}
	return -ENOENT;
}

size_t rpl_net_pending(const struct rpl_net *n)
{
	size_t c = 0;

	for (size_t i = 0; i < n->nlog; i++)
		c += n->log[i]->state == RPL_OUTQ_PENDING;
	return c;
}
