/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Serve-stale (RFC 8767) in the task state machine, and the cache-only
 * answer to RD=0 queries. START calls ost_stale_start() when the cache had
 * no fresh answer: it looks for an expired answer that may be served
 * (stash.c: ost_stash_stale()) and decides when the waiters get it: at once
 * (client response timer 0, the failover policy's "stale immediately", or an
 * RD=0 client), when the client response timer fires, or (in finish()) when
 * resolution fails. Once the waiters have it, the task goes on without them
 * as the background refresh that updates the cache (RFC 8767 §5: "the
 * resolver continues to attempt to refresh the data").
 *
 * Example: "www.example.ru. A" expired 40 s ago and example.ru.'s servers do
 * not answer. START finds the expired answer and arms the 1.8 s timer; the
 * engine asks the servers; at 1.8 s the client gets the old address with
 * TTL 30 and EDE 3; the refresh times out, finish() caches the failure for
 * the failure-recheck interval (30 s), during which further queries get the
 * stale answer at once without any upstream query.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "internal.h"

static bool stale_at_once(const struct ost_task *t)
{
	const struct ost_resolver *r = t->r;
	const struct ost_resolver_policy *p = r->cfg.policy;
	return r->cfg.stale_client_timeout_ms == 0 || !(t->flags & OST_RF_RD) ||
	       (p && p->stale_immediately &&
		p->stale_immediately(p->ctx, ldns_rdf_data(t->qname), t->qtype));
}

void ost_stale_result(const struct ost_task *t, struct ost_result *res)
{
	ost_task_result(t, res);
	res->rcode = t->stale_rcode;
	res->answer = t->stale_answer;
	res->auth = t->stale_auth;
	res->add = t->stale_add;
	res->has_ede = true;
	/* RFC 8914 §4.4 (Stale Answer) and §4.20 (Stale NXDOMAIN Answer). */
	res->ede = t->stale_rcode == LDNS_RCODE_NXDOMAIN ? OST_EDE_STALE_NXDOMAIN
							 : OST_EDE_STALE_ANSWER;
	res->ede_text = t->stale_text;
	res->sec = t->stale_sec;
	res->src = OST_SRC_CACHE;
}

void ost_stale_deliver(struct ost_task *t, const char *why)
{
	struct ost_resolver *r = t->r;
	snprintf(t->stale_text, sizeof(t->stale_text),
		 "ostrov: stale answer, expired %u s ago (%s)", t->stale_age, why);
	struct ost_result res;
	ost_stale_result(t, &res);
	t->stale_sent = true;
	struct ost_request *w = t->waiters;
	t->waiters = NULL;
	while (w) {
		struct ost_request *n = w->next;
		if (w == r->watch)
			r->watch_done = true;
		r->stats.stale_answers++;
		w->cb(&res, w->arg);
		free(w);
		w = n;
	}
}

/* RFC 8767 §5: the client response timer fired before resolution ended. */
static void on_stale_timer(void *arg)
{
	struct ost_task *t = arg;
	t->stale_timer = NULL;
	if (t->state != OST_TS_DONE && t->waiters && !t->stale_sent)
		ost_stale_deliver(t, "resolution is slow, refreshing");
}

bool ost_stale_start(struct ost_task *t, bool cached_failure)
{
	struct ost_resolver *r = t->r;
	if (t->parent || t->root != t)
		return cached_failure;
	ost_stash_stale(t);
	/* A cached failure (RFC 9520): with stale data, finish() answers that
	 * instead; the failure-recheck interval has not passed. */
	if (cached_failure)
		return true;
	if (!(t->flags & OST_RF_RD) && !t->has_stale) {
		/* RD=0: the cache only. A miss is refused, as Unbound refuses
		 * non-recursive queries from clients without snooping rights. */
		t->rcode = LDNS_RCODE_REFUSED;
		t->has_ede = true;
		t->ede = OST_EDE_NOT_AUTHORITATIVE;
		t->src = OST_SRC_LOCAL;
		snprintf(t->ede_text, sizeof(t->ede_text),
			 "ostrov: not in the cache, recursion not desired");
		r->stats.norec_refused++;
		return true;
	}
	if (!t->has_stale)
		return false;
	if (stale_at_once(t))
		ost_stale_deliver(t, "refreshing");
	else
		t->stale_timer = ost_clock_timer_start(r->clock, r->cfg.stale_client_timeout_ms,
						       on_stale_timer, t);
	return false;
}
