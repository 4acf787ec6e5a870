/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Requests: ost_resolve() and ost_request_cancel(), coalescing of identical
 * requests, and the task state machine that
 * drives one resolution from START to DONE (house style §5). A task is either
 * a client's resolution (top level, in the coalescing table, with waiters and
 * a total-time timer) or a sub-request resolving a name server's address
 * for its parent; sub-requests spend the budgets of their top-level task, so
 * one client query can never cause more than max_queries outbound queries or
 * max_subreq sub-requests however the zones are shaped (NXNS, RFC 9520 §3).
 *
 * Serve-stale (RFC 8767): START looks for an expired answer besides the
 * fresh one. When one may be served, the waiters get it as soon as the
 * client response timer fires (at once when it is 0, the policy says so, or
 * the client set RD=0), or when resolution fails; the task then goes on
 * without waiters as a background refresh that updates the cache. A new
 * identical request arriving during the refresh gets the stale answer at
 * once. See stale.c and finish().
 *
 * Prefetch (prefetch.c): ost_resolver_prefetch() starts a top-level task
 * without waiters that skips the cache's (still fresh) answer in START and
 * iterates, so that finish() replaces the cached answer before it expires.
 *
 * Reentrancy rules: a handler never calls drive() on another task. Starting
 * a child and resuming a parent happen after the current driver loop has
 * returned, at the tail of drive()/finish(), and the transport never calls
 * back from inside send().
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "ostrov/log.h"

#include "internal.h"
#include "validate.h"

#define TASK_ARENA_CHUNK 8192

static const char *const state_names[OST_TS_COUNT] = {
	[OST_TS_START] = "start",
	[OST_TS_PLAN] = "plan",
	[OST_TS_PICK] = "pick",
	[OST_TS_RESOLVE_NS] = "resolve_ns",
	[OST_TS_WAIT_SUB] = "wait_sub",
	[OST_TS_SEND] = "send",
	[OST_TS_WAIT_REPLY] = "wait_reply",
	[OST_TS_VALIDATE] = "validate",
	[OST_TS_VAL_WAIT] = "val_wait",
	[OST_TS_DONE] = "done",
};

const char *ost_task_state_str(enum ost_task_state s)
{
	return s < OST_TS_COUNT ? state_names[s] : "invalid";
}

#define B(s) (1u << (s))
/* Legal edges; DONE is reachable from everywhere (limits, deadline). */
static const unsigned legal_next[OST_TS_COUNT] = {
	[OST_TS_START] = B(OST_TS_PLAN),
	[OST_TS_PLAN] = B(OST_TS_PICK) | B(OST_TS_VALIDATE), /* VALIDATE: mirror answer */
	[OST_TS_PICK] = B(OST_TS_SEND) | B(OST_TS_RESOLVE_NS) | B(OST_TS_PLAN),
	[OST_TS_RESOLVE_NS] = B(OST_TS_WAIT_SUB) | B(OST_TS_PICK),
	[OST_TS_WAIT_SUB] = B(OST_TS_PICK),
	[OST_TS_SEND] = B(OST_TS_WAIT_REPLY) | B(OST_TS_PICK),
	[OST_TS_WAIT_REPLY] = B(OST_TS_PICK) | B(OST_TS_SEND) | B(OST_TS_PLAN) | B(OST_TS_VALIDATE),
	[OST_TS_VALIDATE] = B(OST_TS_VAL_WAIT),
	[OST_TS_VAL_WAIT] = B(OST_TS_VALIDATE),
	[OST_TS_DONE] = 0,
};

static void goto_state(struct ost_task *t, enum ost_task_state next)
{
	ost_require(next < OST_TS_COUNT);
	ost_require(next == OST_TS_DONE || (legal_next[t->state] & B(next)));
	ost_log(OST_LOG_DEBUG, "resolver", "task=%p edge=%s->%s", (void *)t,
		ost_task_state_str(t->state), ost_task_state_str(next));
	t->state = next;
}

/* ---- coalescing table ---- */

static uint32_t task_key_hash(const ldns_rdf *name, uint16_t type, uint16_t qclass, unsigned flags)
{
	uint32_t h = 2166136261u;
	const uint8_t *d = ldns_rdf_data(name);
	for (size_t i = 0; i < ldns_rdf_size(name); i++)
		h = (h ^ (uint8_t)tolower(d[i])) * 16777619u;
	uint32_t extra[3] = {type, qclass, flags};
	for (int i = 0; i < 3; i++)
		h = (h ^ extra[i]) * 16777619u;
	return h;
}

static void table_remove(struct ost_resolver *r, struct ost_task *t)
{
	if (!t->in_hash)
		return;
	struct ost_task **pp = &r->table[t->hash & (r->table_size - 1)];
	while (*pp && *pp != t)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = t->hnext;
	t->in_hash = false;
}

static struct ost_task *table_find(struct ost_resolver *r, const ldns_rdf *name, uint16_t type,
				   uint16_t qclass, unsigned flags, uint32_t h)
{
	for (struct ost_task *t = r->table[h & (r->table_size - 1)]; t; t = t->hnext) {
		if (t->hash == h && t->qtype == type && t->qclass == qclass && t->flags == flags &&
		    t->state != OST_TS_DONE && ost_dname_eq(t->qname, name))
			return t;
	}
	return NULL;
}

/* ---- task lifecycle ---- */

static struct ost_task *task_new(struct ost_resolver *r, const ldns_rdf *qname, uint16_t qtype,
				 uint16_t qclass, unsigned flags, struct ost_task *parent)
{
	struct ost_arena a;
	ost_arena_init(&a, TASK_ARENA_CHUNK);
	struct ost_task *t = ost_arena_alloc(&a, sizeof(*t));
	if (!t) {
		ost_arena_deinit(&a);
		return NULL;
	}
	memset(t, 0, sizeof(*t));
	t->arena = a;
	t->r = r;
	t->parent = parent;
	t->root = parent ? parent->root : t;
	t->qtype = qtype;
	t->qclass = qclass;
	t->flags = flags;
	t->qmin = r->cfg.qname_minimisation;
	t->src = OST_SRC_UPSTREAM;
	t->qname = ost_arena_rdf(&t->arena, ldns_rdf_clone(qname));
	t->answer = ost_arena_rr_list(&t->arena, ldns_rr_list_new());
	t->auth = ost_arena_rr_list(&t->arena, ldns_rr_list_new());
	t->add = ost_arena_rr_list(&t->arena, ldns_rr_list_new());
	if (!t->qname || !t->answer || !t->auth || !t->add) {
		struct ost_arena tmp = t->arena;
		ost_arena_deinit(&tmp);
		return NULL;
	}
	t->sname = t->qname;
	r->n_tasks++;
	return t;
}

static void task_free(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	if (t->child) {
		t->child->parent = NULL;
		task_free(t->child);
		t->child = NULL;
	}
	if (t->uq) {
		r->tp->ops->cancel(r->tp->ctx, t->uq);
		t->uq = NULL;
	}
	ost_clock_timer_stop(r->clock, t->deadline);
	t->deadline = NULL;
	ost_clock_timer_stop(r->clock, t->stale_timer);
	t->stale_timer = NULL;
	table_remove(r, t);
	struct ost_request *w = t->waiters;
	while (w) {
		struct ost_request *n = w->next;
		free(w);
		w = n;
	}
	r->n_tasks--;
	if (t->is_prefetch)
		r->n_prefetch--;
	/* The task lives in its own arena: deinit from a copy. */
	struct ost_arena a = t->arena;
	ost_arena_deinit(&a);
}

static void drive(struct ost_task *t);

/* ---- state handlers ---- */

static enum ost_step on_start(struct ost_task *t)
{
	/* Fresh data first; then stale data, RD=0 and cached failures. A
	 * prefetch is there to replace the fresh answer (and a cached failure
	 * or an NSEC span would only stand in for it): it iterates. */
	bool hit = !t->is_prefetch && ost_stash_answer(t);
	if (!t->is_prefetch && ((hit && t->rcode != LDNS_RCODE_SERVFAIL) ||
				(!hit && ost_val_aggr_answer(t)) || ost_stale_start(t, hit))) {
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	/* A sub-request starts from the cut its parent chose for it. */
	if (!t->cut) {
		if (ost_iter_root_cut(t) != 0) {
			ost_task_fail(t, OST_EDE_OTHER, false, "ostrov: out of memory");
			goto_state(t, OST_TS_DONE);
			return OST_STEP_CONTINUE;
		}
	}
	/* A configured stub zone below that cut comes first. */
	if (ost_iter_stub_cut(t) != 0) {
		ost_task_fail(t, OST_EDE_OTHER, false, "ostrov: out of memory");
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	/* The cache may know a deeper cut than the hints or the parent; not
	 * below a forward zone, whose names only its forwarders are asked. */
	if (!t->cut->is_forward)
		ost_stash_closest_cut(t);
	goto_state(t, OST_TS_PLAN);
	return OST_STEP_CONTINUE;
}

static enum ost_step on_plan(struct ost_task *t)
{
	/* >>> zone mirror hook (resolver/mirror.c): names in a usable mirrored
	 * zone are answered or referred from the store, not asked upstream. */
	enum ost_mirror_step ms = t->cut->is_forward ? OST_MIRROR_PASS : ost_mirror_plan(t);
	if (ms != OST_MIRROR_PASS) {
		/* SECURE: verified mirror data only, nothing to validate. */
		goto_state(t, ms == OST_MIRROR_DONE ? OST_TS_VALIDATE : OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	/* <<< zone mirror hook */
	if (ost_iter_plan(t) != 0) {
		ost_task_fail(t, OST_EDE_OTHER, false, "ostrov: out of memory");
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	t->n_qtries = 0;
	goto_state(t, OST_TS_PICK);
	return OST_STEP_CONTINUE;
}

static struct ost_qtry *qtry_find(struct ost_task *t, struct ost_addr_slot *slot, bool add)
{
	for (unsigned i = 0; i < t->n_qtries; i++) {
		if (t->qtries[i].slot == slot)
			return &t->qtries[i];
	}
	if (!add || t->n_qtries == OST_QTRIES_MAX)
		return NULL;
	struct ost_qtry *q = &t->qtries[t->n_qtries++];
	q->slot = slot;
	q->n = 0;
	return q;
}

/* All servers of the cut failed: SERVFAIL, EDE 22 (or 23 when only the
 * network failed; a loop gets its own words). */
static void fail_unreachable(struct ost_task *t)
{
	char zb[LDNS_MAX_DOMAINLEN + 2];
	struct ost_task *root = t->root;
	ost_dname_str(t->cut->name, zb, sizeof(zb));
	if (root->n_blocked > 0 && root->n_timeouts == 0 && root->n_lame == 0)
		ost_task_fail(t, OST_EDE_NO_REACHABLE_AUTHORITY, false,
			      "ostrov: queries to the servers of %s not allowed now", zb);
	else if (root->loop_seen)
		ost_task_fail(t, OST_EDE_NO_REACHABLE_AUTHORITY, false,
			      "ostrov: name server address loop under %s", zb);
	else if (root->n_neterr > 0 && root->n_timeouts == 0 && root->n_lame == 0)
		ost_task_fail(t, OST_EDE_NETWORK_ERROR, false,
			      "ostrov: network errors toward every server of %s", zb);
	else
		ost_task_fail(t, OST_EDE_NO_REACHABLE_AUTHORITY, false,
			      "ostrov: no reachable authority for %s", zb);
}

static enum ost_step on_pick(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	uint64_t now = ost_clock_mono_ms(r->clock);
	struct ost_addr_slot *best = NULL;
	struct ost_srv *best_srv = NULL;
	unsigned best_tries = OST_MAX_TRIES;
	uint32_t best_score = UINT32_MAX;
	bool unresolved = false;

	/* RFC 9520 §3.1: at most OST_MAX_TRIES queries for this question to
	 * one address. Among the rest, fewer tries first (so a retry goes to
	 * another server), then the better score (smoothed RTT, backoff). */
	for (size_t i = 0; i < t->cut->n_ns; i++) {
		struct ost_ns_slot *ns = &t->cut->ns[i];
		if (ns->state == OST_NSA_UNKNOWN)
			unresolved = true;
		for (size_t j = 0; j < ns->n_addrs; j++) {
			struct ost_addr_slot *a = &ns->addrs[j];
			if (a->dead || a->fails >= OST_MAX_TRIES)
				continue;
			if (!ost_sel_allowed(r->allow, r->cfg.n_allow, &a->addr)) {
				/* Never sent; counts as a failed server. */
				a->dead = true;
				r->stats.not_allowed++;
				t->root->n_neterr++;
				continue;
			}
			const struct ost_resolver_policy *pol = r->cfg.policy;
			if (pol && pol->may_query &&
			    !pol->may_query(pol->ctx, (const struct sockaddr *)&a->addr)) {
				/* The failover machine forbids it (ISOLATED:
				 * no foreign servers); never sent. */
				a->dead = true;
				r->stats.policy_blocked++;
				t->root->n_blocked++;
				continue;
			}
			struct ost_qtry *q = qtry_find(t, a, false);
			unsigned tries = q ? q->n : 0;
			if (tries >= OST_MAX_TRIES)
				continue;
			struct ost_srv *srv = ost_sel_get(&r->sel, &a->addr, a->addrlen, &r->cfg);
			if (!srv)
				continue;
			uint32_t score = ost_sel_score(srv, now);
			if (tries < best_tries || (tries == best_tries && score < best_score)) {
				best = a;
				best_srv = srv;
				best_tries = tries;
				best_score = score;
			}
		}
	}
	/* Fresh servers first: a name server without an address is
	 * resolved before any server is asked the same question twice. */
	if (unresolved && (!best || best_tries > 0)) {
		goto_state(t, OST_TS_RESOLVE_NS);
		return OST_STEP_CONTINUE;
	}
	if (!best && t->cut->from_cache && t->cut->parent) {
		/* Cached delegations go stale (renumbered servers): when none
		 * of them answers, iterate again from the cut above. */
		t->cut = t->cut->parent;
		t->qmin_known = 0;
		goto_state(t, OST_TS_PLAN);
		return OST_STEP_CONTINUE;
	}
	if (!best && !t->stale_cut_tried && !t->cut->is_forward) {
		/* RFC 8767 §5: every server that could refresh a delegation
		 * failed (the root when cut off); an expired cached cut below
		 * this one (ru., its glue) may still lead to reachable
		 * servers. Tried once per task, so falling back up to this
		 * cut again cannot loop. Never around failed forwarders:
		 * their zone's names go to them only. */
		t->stale_cut_tried = true;
		if (ost_stash_stale_cut(t)) {
			t->qmin_known = 0;
			goto_state(t, OST_TS_PLAN);
			return OST_STEP_CONTINUE;
		}
	}
	if (!best && ost_stash_stale_rrset(t)) {
		/* The infrastructure data a parent needs (name-server
		 * address, DS, DNSKEY) from the expired cached copy. */
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	if (!best) {
		fail_unreachable(t);
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	t->q_slot = best;
	t->q_srv = best_srv;
	t->q_proto = OST_PROTO_UDP;
	t->q_edns = !best_srv->no_edns;
	goto_state(t, OST_TS_SEND);
	return OST_STEP_CONTINUE;
}

static enum ost_step on_resolve_ns(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	struct ost_ns_slot *ns = NULL;
	for (size_t i = 0; i < t->cut->n_ns && !ns; i++) {
		if (t->cut->ns[i].state == OST_NSA_UNKNOWN)
			ns = &t->cut->ns[i];
	}
	ost_require(ns != NULL);

	/* A name server whose address needs a resolution already in progress
	 * further up this chain is a loop (a.ru NS ns.b.ru, b.ru NS ns.a.ru):
	 * give up on that name server. */
	for (struct ost_task *a = t; a; a = a->parent) {
		if (a->qtype == (ns->tried_aaaa ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A) &&
		    (ost_dname_eq(a->qname, ns->name) || ost_dname_eq(a->sname, ns->name))) {
			char nb[LDNS_MAX_DOMAINLEN + 2];
			ost_log(OST_LOG_DEBUG, "resolver", "ns loop name=%s",
				ost_dname_str(ns->name, nb, sizeof(nb)));
			ns->state = OST_NSA_DONE;
			t->root->loop_seen = true;
			r->stats.loops++;
			goto_state(t, OST_TS_PICK);
			return OST_STEP_CONTINUE;
		}
	}
	/* The AAAA lookup after an empty A lookup is the same name server:
	 * it costs no second sub-request. */
	bool count = !ns->tried_aaaa || !ns->counted;
	if (count && t->root->n_subreq >= r->cfg.max_subreq) {
		ost_task_fail(t, OST_EDE_OTHER, true, "ostrov: sub-request limit (%u) reached",
			      r->cfg.max_subreq);
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	uint16_t type = ns->tried_aaaa ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A;
	struct ost_task *c = task_new(r, ns->name, type, LDNS_RR_CLASS_IN, t->flags & OST_RF_CD, t);
	if (!c) {
		ost_task_fail(t, OST_EDE_OTHER, false, "ostrov: out of memory");
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	/* Start from the deepest cut we already hold for the name. */
	c->cut = ost_iter_closest_cut(t->cut, ns->name);
	if (count) {
		t->root->n_subreq++;
		ns->counted = 1;
	}
	r->stats.subrequests++;
	ns->state = OST_NSA_RESOLVING;
	t->child = c;
	t->child_ns = ns;
	goto_state(t, OST_TS_WAIT_SUB);
	return OST_STEP_WAIT_SUBQUERY;
}

static enum ost_step on_wait_sub(struct ost_task *t)
{
	struct ost_task *c = t->ev_child;
	struct ost_ns_slot *ns = t->child_ns;
	t->ev_child = NULL;
	t->child_ns = NULL;
	ost_require(c != NULL && ns != NULL);
	ns->state = OST_NSA_DONE;
	if (c->is_limit) {
		ost_task_fail(t, c->ede, true, "%s", c->ede_text);
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	if (c->src == OST_SRC_CACHE) {
		/* Answered from the cache: no upstream work, no budget. */
		if (ns->counted && t->root->n_subreq > 0) {
			t->root->n_subreq--;
			ns->counted = 0;
		}
	} else {
		ns->fetched = 1;
	}
	/* The slot may belong to a cut of an ancestor: allocate there. */
	struct ost_cut *owner = t->cut;
	for (struct ost_cut *k = t->cut; k; k = k->parent) {
		if (ns >= k->ns && ns < k->ns + k->n_ns)
			owner = k;
	}
	int n = 0;
	if (c->rcode == LDNS_RCODE_NOERROR &&
	    (n = ost_iter_ns_addrs(owner->arena, t->r->cfg.upstream_port, ns, c->answer, NULL)) <
		    0) {
		ost_task_fail(t, OST_EDE_OTHER, false, "ostrov: out of memory");
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	/* No IPv4 address (none, or the lookup failed): ask for IPv6 ones,
	 * as resolvers that look up both at once do. Not after NXDOMAIN (RFC
	 * 8020: nothing exists there), nor after a name-server address loop,
	 * which AAAA would walk again. */
	if (n == 0 && !ns->tried_aaaa && c->rcode != LDNS_RCODE_NXDOMAIN && !t->root->loop_seen) {
		ns->tried_aaaa = 1;
		ns->state = OST_NSA_UNKNOWN;
	} else if (n == 0 && ns->fetched && ++t->root->n_nx_targets > OST_MAX_TARGET_NX) {
		/* NXNS (RFC 9520 §3, Unbound's MAX_TARGET_NX): a delegation
		 * to many name servers that do not resolve must not make one
		 * client query cost many upstream lookups. */
		ost_task_fail(t, OST_EDE_OTHER, true,
			      "ostrov: %u name servers without addresses (NXNS limit)",
			      t->root->n_nx_targets);
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	goto_state(t, OST_TS_PICK);
	return OST_STEP_CONTINUE;
}

static int on_upstream(struct ost_upstream_query *q, int status, const uint8_t *pkt, size_t len);

static enum ost_step on_send(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	struct ost_task *root = t->root;
	if (root->n_queries >= r->cfg.max_queries) {
		ost_task_fail(t, OST_EDE_OTHER, true, "ostrov: outbound query limit (%u) reached",
			      r->cfg.max_queries);
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	struct ost_upstream_query *uq = ost_arena_alloc(&t->arena, sizeof(*uq));
	if (!uq) {
		ost_task_fail(t, OST_EDE_OTHER, false, "ostrov: out of memory");
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	memset(uq, 0, sizeof(*uq));
	t->q_id = ost_rand16(r);
	uint8_t *wire = NULL;
	size_t wlen = 0;
	bool do_bit = r->cfg.validation || (t->flags & OST_RF_DO);
	/* To a forwarder: recursion desired and, when we validate, checking
	 * disabled, so that it hands over bogus data with its signatures and we
	 * can say why it is bogus (RFC 4035 §3.2.2; Knot Resolver does the same). */
	bool fwd = t->cut->is_forward;
	int ret = ost_wire_query(&t->arena, t->q_name, t->q_type, t->qclass, t->q_id, t->q_edns,
				 r->cfg.edns_size, do_bit, fwd, fwd && r->cfg.validation, &wire,
				 &wlen);
	if (ret != 0) {
		ost_task_fail(t, OST_EDE_OTHER, false, "ostrov: cannot build query: %s",
			      ost_strerror(ret));
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	memcpy(&uq->addr, &t->q_slot->addr, t->q_slot->addrlen);
	uq->addrlen = t->q_slot->addrlen;
	uq->proto = t->q_proto;
	uq->wire = wire;
	uq->len = wlen;
	uq->timeout_ms = ost_sel_timeout(t->q_srv, &r->cfg);
	uq->cb = on_upstream;
	uq->arg = t;

	struct ost_qtry *qt = qtry_find(t, t->q_slot, true);
	if (qt)
		qt->n++;
	root->n_queries++;
	r->stats.queries_sent++;
	if (t->q_proto == OST_PROTO_TCP)
		r->stats.queries_tcp++;
	t->q_sent_ms = ost_clock_mono_ms(r->clock);
	ret = r->tp->ops->send(r->tp->ctx, uq);
	if (ret != 0) {
		r->stats.net_errors++;
		root->n_neterr++;
		t->q_slot->fails++;
		ost_sel_on_fail(t->q_srv, t->q_sent_ms);
		goto_state(t, OST_TS_PICK);
		return OST_STEP_CONTINUE;
	}
	t->uq = uq;
	goto_state(t, OST_TS_WAIT_REPLY);
	return OST_STEP_WAIT_REPLY;
}

static int on_upstream(struct ost_upstream_query *q, int status, const uint8_t *pkt, size_t len)
{
	struct ost_task *t = q->arg;
	struct ost_resolver *r = t->r;
	if (ost_fails_assert(t->uq == q && t->state == OST_TS_WAIT_REPLY))
		return 0;
	if (status == 0) {
		/* RFC 5452 §9.1: the ID and the question must match what we
		 * sent, or the packet is ignored and we keep waiting for the
		 * real answer (a spoofer must win a race it cannot see). */
		if (len < LDNS_HEADER_SIZE || (uint16_t)(pkt[0] << 8 | pkt[1]) != t->q_id) {
			r->stats.drop_wrong_id++;
			return -EAGAIN;
		}
		ldns_pkt *p = NULL;
		if (ldns_wire2pkt(&p, pkt, len) != LDNS_STATUS_OK) {
			r->stats.drop_malformed++;
			return -EAGAIN;
		}
		if (!ost_wire_rdata_complete(p)) {
			/* Records with missing rdata fields (an empty
			 * DNAME ...) are malformed, not data. */
			ldns_pkt_free(p);
			r->stats.drop_malformed++;
			return -EAGAIN;
		}
		if (!ldns_pkt_qr(p) || ldns_pkt_get_opcode(p) != LDNS_PACKET_QUERY ||
		    !ost_wire_question_matches(p, t->q_name, t->q_type, t->qclass)) {
			ldns_pkt_free(p);
			r->stats.drop_wrong_qname++;
			return -EAGAIN;
		}
		t->ev_pkt = ost_arena_pkt(&t->arena, p);
		if (!t->ev_pkt)
			status = -ENOMEM;
	}
	t->ev_status = status;
	t->uq = NULL;
	drive(t);
	return 0;
}

static enum ost_step on_wait_reply(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	uint64_t now = ost_clock_mono_ms(r->clock);
	int status = t->ev_status;
	ldns_pkt *p = t->ev_pkt;
	t->ev_pkt = NULL;
	if (status == -ETIMEDOUT) {
		r->stats.timeouts++;
		t->root->n_timeouts++;
		t->q_slot->fails++;
		ost_sel_on_timeout(t->q_srv, now, &r->cfg);
		goto_state(t, OST_TS_PICK);
		return OST_STEP_CONTINUE;
	}
	if (status != 0 || !p) {
		r->stats.net_errors++;
		t->root->n_neterr++;
		t->q_slot->fails++;
		ost_sel_on_fail(t->q_srv, now);
		goto_state(t, OST_TS_PICK);
		return OST_STEP_CONTINUE;
	}
	ost_sel_on_reply(t->q_srv, (uint32_t)(now - t->q_sent_ms), &r->cfg);
	switch (ost_iter_reply(t, p)) {
	case OST_ITER_DONE:
		goto_state(t, OST_TS_VALIDATE);
		return OST_STEP_CONTINUE;
	case OST_ITER_FAIL:
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	case OST_ITER_NEXT:
		goto_state(t, OST_TS_PLAN);
		return OST_STEP_CONTINUE;
	case OST_ITER_RETRY_TCP:
		r->stats.tc_fallback++;
		t->q_proto = OST_PROTO_TCP;
		goto_state(t, OST_TS_SEND);
		return OST_STEP_CONTINUE;
	case OST_ITER_RETRY_NOEDNS:
		t->q_edns = false;
		goto_state(t, OST_TS_SEND);
		return OST_STEP_CONTINUE;
	case OST_ITER_LAME:
		break;
	}
	/* Lame for this zone: never ask it again within this cut. */
	r->stats.lame++;
	t->root->n_lame++;
	t->q_slot->dead = true;
	ost_sel_on_fail(t->q_srv, now);
	goto_state(t, OST_TS_PICK);
	return OST_STEP_CONTINUE;
}

static enum ost_step on_validate(struct ost_task *t)
{
	/* DNSSEC validation (RFC 4035 §5, validate_task.c): it may need DS
	 * and DNSKEY RRsets, fetched as CD=1 sub-requests from the cut the
	 * task already knows. */
	const ldns_rdf *name = NULL;
	uint16_t type = 0;
	if (ost_val_task_step(t, &name, &type) == OST_VAL_DONE) {
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	struct ost_task *c = task_new(t->r, name, type, LDNS_RR_CLASS_IN, OST_RF_CD, t);
	if (!c) {
		ost_task_fail(t, OST_EDE_OTHER, false, "ostrov: out of memory");
		goto_state(t, OST_TS_DONE);
		return OST_STEP_CONTINUE;
	}
	/* Start from the deepest cut this task has seen for the name (a
	 * CNAME restart leaves the first chain of cuts behind). */
	c->cut = ost_iter_closest_cut(t->cut, name);
	for (struct ost_cut *k = t->seen; k; k = k->seen) {
		if (ost_dname_under(name, k->name) && (!c->cut || k->labels > c->cut->labels))
			c->cut = k;
	}
	t->r->stats.subrequests++;
	t->child = c;
	goto_state(t, OST_TS_VAL_WAIT);
	return OST_STEP_WAIT_SUBQUERY;
}

static enum ost_step on_val_wait(struct ost_task *t)
{
	struct ost_task *c = t->ev_child;
	t->ev_child = NULL;
	ost_require(c != NULL);
	ost_val_task_feed(t, c);
	goto_state(t, OST_TS_VALIDATE);
	return OST_STEP_CONTINUE;
}

/* ---- driver ---- */

static void finish(struct ost_task *t);

static void drive(struct ost_task *t)
{
	enum ost_step step = OST_STEP_CONTINUE;
	while (step == OST_STEP_CONTINUE) {
		switch (t->state) {
		case OST_TS_START:
			step = on_start(t);
			break;
		case OST_TS_PLAN:
			step = on_plan(t);
			break;
		case OST_TS_PICK:
			step = on_pick(t);
			break;
		case OST_TS_RESOLVE_NS:
			step = on_resolve_ns(t);
			break;
		case OST_TS_WAIT_SUB:
			step = on_wait_sub(t);
			break;
		case OST_TS_SEND:
			step = on_send(t);
			break;
		case OST_TS_WAIT_REPLY:
			step = on_wait_reply(t);
			break;
		case OST_TS_VALIDATE:
			step = on_validate(t);
			break;
		case OST_TS_VAL_WAIT:
			step = on_val_wait(t);
			break;
		case OST_TS_DONE:
			step = OST_STEP_DONE;
			break;
		case OST_TS_COUNT:
			ost_require(!"invalid task state");
		}
	}
	if (step == OST_STEP_DONE) {
		finish(t);
		return;
	}
	/* Start a new child only now that this task's loop has returned:
	 * it may finish at once and resume us. */
	if (step == OST_STEP_WAIT_SUBQUERY && t->child && t->child->state == OST_TS_START)
		drive(t->child);
}

void ost_task_result(const struct ost_task *t, struct ost_result *res)
{
	memset(res, 0, sizeof(*res));
	res->qname = t->qname;
	res->qtype = t->qtype;
	res->qclass = t->qclass;
	res->flags = t->flags;
	res->rcode = t->rcode;
	res->answer = t->answer;
	res->auth = t->auth;
	res->add = t->add;
	res->has_ede = t->has_ede;
	res->ede = t->ede;
	res->ede_text = t->ede_text;
	res->sec = t->sec;
	res->src = t->src;
}

static void finish(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	if (t->parent) {
		struct ost_task *p = t->parent;
		ost_stash_result(t);
		p->child = NULL;
		p->ev_child = t;
		t->parent = NULL;
		drive(p);
		task_free(t);
		return;
	}
	/* RFC 8767 §5: resolution failed (or a recent failure is cached)
	 * and stale data exists: answer that instead of SERVFAIL. */
	bool stale = t->has_stale && !t->stale_sent && t->rcode == LDNS_RCODE_SERVFAIL;
	if (t->rcode == LDNS_RCODE_SERVFAIL && !stale && !t->stale_sent && t->waiters)
		r->stats.servfail++;
	if (t->is_prefetch && t->rcode == LDNS_RCODE_SERVFAIL)
		r->stats.prefetch_failed++;
	if (t->is_limit)
		r->stats.limit_hits++;
	if (t->src == OST_SRC_CACHE && !stale)
		r->stats.cache_answers++;
	if (t->has_stale && t->src == OST_SRC_UPSTREAM && t->rcode != LDNS_RCODE_SERVFAIL)
		r->stats.stale_refreshes++;
	ost_stash_result(t);
	table_remove(r, t);
	ost_clock_timer_stop(r->clock, t->deadline);
	t->deadline = NULL;
	ost_clock_timer_stop(r->clock, t->stale_timer);
	t->stale_timer = NULL;
	if (stale) {
		ost_stale_deliver(t, t->ede_text[0] ? t->ede_text : "resolution failed");
		task_free(t);
		return;
	}

	struct ost_result res;
	ost_task_result(t, &res);
	struct ost_request *w = t->waiters;
	t->waiters = NULL;
	while (w) {
		struct ost_request *n = w->next;
		if (w == r->watch)
			r->watch_done = true;
		w->cb(&res, w->arg);
		free(w);
		w = n;
	}
	task_free(t);
}

/* Abandon everything the task waits for and end it with SERVFAIL. */
static void on_deadline(void *arg)
{
	struct ost_task *t = arg;
	struct ost_resolver *r = t->r;
	t->deadline = NULL;
	if (t->child) {
		t->child->parent = NULL;
		task_free(t->child);
		t->child = NULL;
	}
	if (t->uq) {
		r->tp->ops->cancel(r->tp->ctx, t->uq);
		t->uq = NULL;
	}
	ost_task_fail(t, OST_EDE_NO_REACHABLE_AUTHORITY, true,
		      "ostrov: total time limit (%u ms) reached", r->cfg.max_time_ms);
	goto_state(t, OST_TS_DONE);
	drive(t);
}

/* ---- public API ---- */

/* The question's name from a caller's wire. @return the name, or NULL when it is bad */
static ldns_rdf *name_from_wire(const uint8_t *qname_wire)
{
	ldns_rdf *name = NULL;
	size_t pos = 0;
	/* Refuse compression pointers: the name stands alone, so a pointer
	 * could only point at itself or outside it. */
	for (size_t i = 0; i <= LDNS_MAX_DOMAINLEN && qname_wire[i] != 0; i += 1 + qname_wire[i]) {
		if (qname_wire[i] & 0xc0)
			return NULL;
	}
	if (ldns_wire2dname(&name, qname_wire, LDNS_MAX_DOMAINLEN + 1, &pos) != LDNS_STATUS_OK)
		return NULL;
	return name;
}

/* Put top-level task @p t (hash @p h) in the coalescing table and arm its total-time limit. */
static void task_publish(struct ost_resolver *r, struct ost_task *t, uint32_t h)
{
	t->hash = h;
	t->hnext = r->table[h & (r->table_size - 1)];
	r->table[h & (r->table_size - 1)] = t;
	t->in_hash = true;
	if (r->cfg.max_time_ms)
		t->deadline = ost_clock_timer_start(r->clock, r->cfg.max_time_ms, on_deadline, t);
}

int ost_resolve(struct ost_resolver *r, const uint8_t *qname_wire, uint16_t qtype, uint16_t qclass,
		unsigned flags, ost_resolve_cb cb, void *arg, struct ost_request **out)
{
	if (out)
		*out = NULL;
	if (!r || !qname_wire || !cb)
		return -EINVAL;
	ldns_rdf *name = name_from_wire(qname_wire);
	if (!name)
		return -EINVAL;
	struct ost_request *w = calloc(1, sizeof(*w));
	if (!w) {
		ldns_rdf_deep_free(name);
		return -ENOMEM;
	}
	w->cb = cb;
	w->arg = arg;
	r->stats.requests++;
	unsigned fl = flags & (OST_RF_DO | OST_RF_CD | OST_RF_RD);
	uint32_t h = task_key_hash(name, qtype, qclass, fl);
	struct ost_task *t = table_find(r, name, qtype, qclass, fl, h);
	if (t && t->stale_sent) {
		/* Its refresh is running: the stale answer, at once. */
		ldns_rdf_deep_free(name);
		r->stats.coalesced++;
		r->stats.stale_answers++;
		struct ost_result res;
		ost_stale_result(t, &res);
		cb(&res, arg);
		free(w);
		return 0;
	}
	if (t) {
		ldns_rdf_deep_free(name);
		r->stats.coalesced++;
		w->task = t;
		w->next = t->waiters;
		t->waiters = w;
		if (out)
			*out = w;
		return 0;
	}
	t = task_new(r, name, qtype, qclass, fl, NULL);
	ldns_rdf_deep_free(name);
	if (!t) {
		free(w);
		return -ENOMEM;
	}
	w->task = t;
	t->waiters = w;
	task_publish(r, t, h);
	/* Watch the handle: if the task finishes at once (cache, failure) the
	 * handle is gone when drive() returns. Saved and restored because a
	 * callback may call ost_resolve() again. */
	struct ost_request *prev_watch = r->watch;
	bool prev_done = r->watch_done;
	r->watch = w;
	r->watch_done = false;
	drive(t);
	if (out && !r->watch_done)
		*out = w;
	r->watch = prev_watch;
	r->watch_done = prev_done;
	return 0;
}

/*
 * A prefetch is a top-level task without waiters from the start, as a
 * serve-stale refresh is once its waiters got the stale answer: finish()
 * stores its result and calls nobody. Clients that ask the same question
 * meanwhile join it in ost_resolve() (their cache entry expired before the
 * refresh ended), and it outlives their cancellation.
 */
int ost_resolver_prefetch(struct ost_resolver *r, const uint8_t *qname_wire, uint16_t qtype,
			  uint16_t qclass, unsigned flags)
{
	if (!r || !qname_wire)
		return -EINVAL;
	ldns_rdf *name = name_from_wire(qname_wire);
	if (!name)
		return -EINVAL;
	unsigned fl = flags & (OST_RF_DO | OST_RF_CD | OST_RF_RD);
	uint32_t h = task_key_hash(name, qtype, qclass, fl);
	if (table_find(r, name, qtype, qclass, fl, h)) {
		/* It stores its answer when it ends: that is the refresh. */
		ldns_rdf_deep_free(name);
		r->stats.prefetch_skipped++;
		return -EALREADY;
	}
	/* A refresh is optional work: when many are in flight (slow servers,
	 * many entries stored at one moment expiring together) the client
	 * requests get the resolver, as Unbound drops a prefetch when its
	 * mesh is full; the entry is resolved as usual once it expires. */
	if (r->n_prefetch >= OST_PREFETCH_MAX_INFLIGHT) {
		ldns_rdf_deep_free(name);
		r->stats.prefetch_skipped++;
		return -EBUSY;
	}
	struct ost_task *t = task_new(r, name, qtype, qclass, fl, NULL);
	ldns_rdf_deep_free(name);
	if (!t)
		return -ENOMEM;
	t->is_prefetch = true;
	r->n_prefetch++;
	task_publish(r, t, h);
	r->stats.prefetch_started++;
	drive(t);
	return 0;
}

void ost_request_cancel(struct ost_request *w)
{
	if (!w)
		return;
	struct ost_task *t = w->task;
	struct ost_request **pp = &t->waiters;
	while (*pp && *pp != w)
		pp = &(*pp)->next;
	if (*pp)
		*pp = w->next;
	free(w);
	if (!t->waiters && !t->is_prefetch)
		task_free(t);
}

void ost_request_table_free(struct ost_resolver *r)
{
	if (!r->table)
		return;
	for (size_t i = 0; i < r->table_size; i++) {
		while (r->table[i])
			task_free(r->table[i]);
	}
	free(r->table);
	r->table = NULL;
}
