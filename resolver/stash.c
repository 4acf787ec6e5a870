/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Cache reads and writes of the engine: answers and negative answers looked
 * up before iterating, the closest cached zone cut to start from, and the
 * RRsets, negative answers and whole answers (OST_CTAG_MSG) queued into the
 * resolver's batch when a resolution ends. Without a cache (NULL) every
 * function does nothing and iteration starts from the root hints.
 *
 * Payloads (the cache stores them opaquely):
 * - OST_CTAG_RRSET (owner, type): the RRset's records followed by the RRSIGs
 *   covering it, each in uncompressed wire form, back to back. TTLs inside
 *   are ignored on reading: the entry's expiry gives the remaining TTL.
 * - OST_CTAG_NEG (owner, type) for NODATA, (owner, 0) for NXDOMAIN (flags
 *   bit 0 set): the proof records (SOA, NSEC/NSEC3, RRSIGs) in the same form.
 *   An NXDOMAIN entry at an ancestor answers for every name below it
 *   (RFC 8020 §2).
 * - OST_CTAG_MSG: see answer.c. Looked up first, so an answer from the cache
 *   has the sections the upstream answer had (as the server's hit path
 *   serves it). Stored for every client answer, from upstream or built from
 *   cached RRsets (put_msg()). Flag OST_MSG_F_UNVALIDATED: resolved for a
 *   CD=1 request while validation was on; such an entry, and a bogus one, is
 *   never used for a CD=0 request.
 *
 * Serve-stale (RFC 8767): expired OST_CTAG_MSG entries stay in the cache
 * until eviction; ost_stash_stale() decodes one for a request when it is
 * within the maximum staleness, its original TTL was above 0 and it is not
 * bogus, with each record's TTL set for serving: the time left of a fresh
 * copy of its RRset if the cache has one (refreshed meanwhile), else
 * min(original TTL, cfg.stale_ttl) (RFC 8767 §4: 30 s, never 0).
 * Infrastructure data goes stale the same way: when every server of a cut
 * failed, ost_stash_stale_cut() and ost_stash_stale_rrset() let iteration go
 * on from an expired delegation (NS and glue) or an expired name-server
 * address, DS or DNSKEY RRset within the maximum staleness (RFC 8767 §5), so
 * national zones stay reachable when the root cannot refresh "ru. NS".
 *
 * Rank rules (RFC 2181 §5.4.1): clients are answered only from data of rank
 * ANSWER or better; glue and referral NS (ADDITIONAL, AUTHORITY) serve only
 * as zone cuts and name-server addresses.
 */
#include <errno.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/log.h"
#include "ostrov/zone.h"

#include "internal.h"


/** NEG entry flag: the name does not exist (NXDOMAIN). */
#define NEG_NXDOMAIN 0x1
/** Type used in the key of NXDOMAIN entries. */
#define NEG_ANY_TYPE 0
/** FAIL entry flag: stale data was served when this failure happened. */
#define FAIL_STALE   0x1

int ost_stash_init(struct ost_resolver *r)
{
	if (!r->cache)
		return 0;
	return ost_cache_batch_new(r->cache, &r->batch);
}

void ost_stash_deinit(struct ost_resolver *r)
{
	if (r->batch)
		ost_cache_batch_free(r->batch);
	r->batch = NULL;
}

int ost_stash_commit(struct ost_resolver *r)
{
	if (!r->batch)
		return 0;
	/* Hand the batch to the cache's writer thread: the worker never waits
	 * for LMDB's writer lock. Submitted even when empty: the LRU stamps
	 * (and corrupt-entry drops) that the server's hit path queued in its
	 * reader reach the writer only through a submit, and a worker that
	 * only serves hits has nothing else to write. An empty submit with
	 * nothing queued returns at once (one atomic load, no lock). */
	int ret = ost_cache_batch_submit(r->batch);
	if (ret != 0)
		r->stats.cache_errors++;
	return ret;
}

/* ---- reading ---- */

static void clear_rrs(ldns_rr_list *l)
{
	ldns_rr *rr;
	while (l && (rr = ldns_rr_list_pop_rr(l)) != NULL)
		ldns_rr_free(rr);
}

static uint16_t covered_type(const ldns_rr *rr)
{
	return ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && ldns_rr_rdf(rr, 0)
		       ? ldns_rdf2rr_type(ldns_rr_rdf(rr, 0))
		       : ldns_rr_get_type(rr);
}

/* Fetch an entry into the task's arena: an unexpired one, or with
 * @p allow_stale one expired no longer than the maximum staleness ago. */
static bool get_entry(struct ost_task *t, const ldns_rdf *owner, uint16_t type,
		      enum ost_cache_tag tag, uint8_t min_rank, bool allow_stale,
		      struct ost_cache_entry *e)
{
	struct ost_mm mm;
	ost_mm_from_arena(&mm, &t->arena);
	int ret = ost_cache_get(t->r->cache, ldns_rdf_data(owner), type, tag, &mm, e);
	if (ret == -ENOENT)
		return false;
	if (ret != 0) {
		t->r->stats.cache_errors++;
		return false;
	}
	/* Data nobody validated (CD=1 while validating), or that failed
	 * validation, is for CD=1 clients only (RFC 4035 §3.2.2). */
	if (((e->flags & OST_MSG_F_UNVALIDATED) || e->sec == OST_SEC_BOGUS) &&
	    !(t->flags & OST_RF_CD))
		return false;
	int64_t now = ost_clock_wall_s(t->r->clock);
	if (e->rank < min_rank)
		return false;
	/* Built from a mirror version that is no longer current (a new serial,
	 * or the copies re-verified at start): ask the mirror again. */
	if (e->rank == OST_RANK_MIRROR && ost_mirror_is_outdated(t->r->cfg.mirror, e->stored_at))
		return false;
	if (e->expires_at > now)
		return true;
	return allow_stale && e->ttl > 0 && now - e->expires_at <= (int64_t)ost_stale_max(t->r);
}

/* Fetch an unexpired entry into the task's arena. */
static bool get_live(struct ost_task *t, const ldns_rdf *owner, uint16_t type,
		     enum ost_cache_tag tag, uint8_t min_rank, struct ost_cache_entry *e)
{
	return get_entry(t, owner, type, tag, min_rank, false, e);
}

/*
 * With validation on, a CD=0 client's answer is built only from entries
 * whose DNSSEC status was decided: name-server addresses fetched for the
 * iterator are stored unchecked (and not flagged as CD=1 data), and must not
 * reach it unvalidated (RFC 4035 §4.3). The answer's status is the worst of
 * its entries' (a secure CNAME to insecure data is insecure). Sub-requests
 * take anything: what they fetch is checked by the task that asked.
 */
static bool sec_usable(struct ost_task *t, const struct ost_cache_entry *e)
{
	if (!t->r->cfg.validation || (t->flags & OST_RF_CD) || t->parent)
		return true;
	if (e->sec != OST_SEC_SECURE && e->sec != OST_SEC_INSECURE &&
	    e->sec != OST_SEC_INDETERMINATE)
		return false;
	if (t->sec == OST_SEC_UNCHECKED || t->sec == OST_SEC_SECURE)
		t->sec = e->sec;
	return true;
}

/* Decode a payload of records; TTLs become what is left of the entry's. */
static ldns_rr_list *decode_rrs(struct ost_task *t, const struct ost_cache_entry *e)
{
	ldns_rr_list *l = ost_arena_rr_list(&t->arena, ldns_rr_list_new());
	if (!l)
		return NULL;
	int64_t now = ost_clock_wall_s(t->r->clock);
	uint32_t left = e->expires_at > now ? (uint32_t)(e->expires_at - now) : 0;
	size_t pos = 0;
	while (pos < e->len) {
		ldns_rr *rr = NULL;
		if (ldns_wire2rr(&rr, e->data, e->len, &pos, LDNS_SECTION_ANSWER) !=
		    LDNS_STATUS_OK) {
			/* Never trust a payload that does not parse. */
			t->r->stats.cache_errors++;
			return NULL;
		}
		ldns_rr_set_ttl(rr, left);
		if (!ldns_rr_list_push_rr(l, rr)) {
			ldns_rr_free(rr);
			return NULL;
		}
	}
	return l;
}

static int append_all(ldns_rr_list *dst, const ldns_rr_list *src)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(src); i++) {
		if (ost_rr_list_push_clone(dst, ldns_rr_list_rr(src, i)) != 0)
			return -ENOMEM;
	}
	return 0;
}

/* RFC 8020 §2: an NXDOMAIN at @p name or any ancestor means @p name does
 * not exist. */
static bool nxdomain_cut(struct ost_task *t, const ldns_rdf *name)
{
	unsigned labels = ldns_dname_label_count(name);
	for (unsigned strip = 0; strip < labels; strip++) {
		ldns_rdf *anc = strip ? ost_arena_rdf(&t->arena, ldns_dname_clone_from(name, strip))
				      : (ldns_rdf *)name;
		if (!anc)
			return false;
		struct ost_cache_entry e;
		if (!get_live(t, anc, NEG_ANY_TYPE, OST_CTAG_NEG, OST_RANK_AUTHORITY, &e) ||
		    !(e.flags & NEG_NXDOMAIN) || !sec_usable(t, &e))
			continue;
		ldns_rr_list *proof = decode_rrs(t, &e);
		if (!proof || append_all(t->auth, proof) != 0)
			return false;
		t->rcode = LDNS_RCODE_NXDOMAIN;
		t->is_nxdomain_cut = strip > 0;
		return true;
	}
	return false;
}

/* RFC 9520 §3.2: a failure is cached for 1 s to 5 min, the time doubling
 * while the failure persists, so an unreachable authority is not asked again
 * for every client query (the retry storm of an island). */
#define FAIL_TTL_FIRST 5
#define FAIL_TTL_MAX   300

static bool cached_failure(struct ost_task *t)
{
	struct ost_cache_entry e;
	if (!get_live(t, t->qname, t->qtype, OST_CTAG_FAIL, OST_RANK_NONE, &e))
		return false;
	bool dnssec = e.ede >= OST_EDE_DNSSEC_BOGUS && e.ede <= OST_EDE_NSEC_MISSING;
	/* A CD=1 client wants the data even when it does not validate
	 * (RFC 4035 §3.2.2): a validation failure is not its failure. */
	if (dnssec && (t->flags & OST_RF_CD))
		return false;
	/* The failure was cached while no usable mirror held the name (its
	 * servers failed, or the copy was past its deadline); a mirror that
	 * holds it now (a new version, an operator extension) needs no
	 * server: let it answer. */
	if (ost_mirror_covers(t))
		return false;
	/* A cached DNSSEC failure keeps its reason (EDE 6-12): "bogus,
	 * signature expired" says more than "cached error". */
	uint16_t ede = dnssec ? e.ede : OST_EDE_CACHED_ERROR;
	ost_task_fail(t, ede, false, "ostrov: cached failure (RFC 9520): %.*s",
		      (int)(e.len > 100 ? 100 : e.len), (const char *)e.data);
	t->src = OST_SRC_CACHE;
	return true;
}

static void stash_failure(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	/* A local failure (out of memory, a validation that could not be
	 * done) says nothing about the name: caching it would fail the next
	 * queries for the resolver's own passing trouble. */
	if (t->src == OST_SRC_CACHE || t->is_internal ||
	    strncmp(t->ede_text, "ostrov: out of memory", 21) == 0)
		return;
	uint32_t ttl = FAIL_TTL_FIRST;
	struct ost_cache_entry prev;
	struct ost_mm mm;
	ost_mm_from_arena(&mm, &t->arena);
	if (ost_cache_get(r->cache, ldns_rdf_data(t->qname), t->qtype, OST_CTAG_FAIL, &mm, &prev) ==
	    0) {
		/* Failed again soon after the last one expired: back off. */
		int64_t now = ost_clock_wall_s(r->clock);
		if (now - prev.expires_at <= (int64_t)prev.ttl + FAIL_TTL_FIRST)
			ttl = prev.ttl * 2 > FAIL_TTL_MAX ? FAIL_TTL_MAX : prev.ttl * 2;
	}
	/* RFC 8767 §5: a failed refresh of stale data is retried at most
	 * every failure-recheck interval; until then the stale answer is
	 * served at once. */
	if (t->has_stale && ttl < r->cfg.stale_recheck_s)
		ttl = r->cfg.stale_recheck_s;
	struct ost_cache_entry e;
	memset(&e, 0, sizeof(e));
	e.tag = OST_CTAG_FAIL;
	e.flags = t->has_stale ? FAIL_STALE : 0;
	e.rank = OST_RANK_AUTHORITY;
	e.sec = OST_SEC_UNCHECKED;
	e.rcode = LDNS_RCODE_SERVFAIL;
	e.ede = t->ede;
	e.ttl = ttl;
	e.data = (const uint8_t *)t->ede_text;
	e.len = (uint32_t)strlen(t->ede_text);
	if (ost_cache_batch_put(r->batch, ldns_rdf_data(t->qname), t->qtype, &e) != 0)
		r->stats.cache_errors++;
}

/* May a stored whole answer serve this request? Unvalidated (CD=1 while
 * validating) or bogus data never reaches a CD=0 client. */
static bool msg_usable(const struct ost_task *t, const struct ost_cache_entry *e)
{
	if (e->rcode != LDNS_RCODE_NOERROR && e->rcode != LDNS_RCODE_NXDOMAIN)
		return false;
	if (!(t->flags & OST_RF_CD) &&
	    ((e->flags & OST_MSG_F_UNVALIDATED) || e->sec == OST_SEC_BOGUS))
		return false;
	/* Bogus data is never laundered into a stale answer, whoever asks. */
	if (e->sec == OST_SEC_BOGUS && e->expires_at <= ost_clock_wall_s(t->r->clock))
		return false;
	return true;
}

/* Decode a whole answer into the three lists; nothing is left on failure. */
static bool decode_msg(struct ost_task *t, const struct ost_cache_entry *e, uint8_t *rcode,
		       ldns_rr_list *an, ldns_rr_list *ns, ldns_rr_list *ar)
{
	int ret = ost_msg_decode(e, rcode, an, ns, ar);
	if (ret == 0)
		return true;
	clear_rrs(an);
	clear_rrs(ns);
	clear_rrs(ar);
	t->r->stats.cache_errors++;
	return false;
}

static void ttl_countdown(ldns_rr_list *l, uint32_t elapsed)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		uint32_t ttl = ldns_rr_ttl(rr);
		ldns_rr_set_ttl(rr, ttl > elapsed ? ttl - elapsed : 0);
	}
}

/* The whole answer stored for the question, unexpired. */
static bool answer_from_msg(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	struct ost_cache_entry e;
	uint8_t rcode = 0;
	if (!get_live(t, t->qname, t->qtype, OST_CTAG_MSG, OST_RANK_NONE, &e) ||
	    !msg_usable(t, &e) || !sec_usable(t, &e) ||
	    !decode_msg(t, &e, &rcode, t->answer, t->auth, t->add))
		return false;
	if (!r->cfg.serve_original_ttl) {
		int64_t el = ost_clock_wall_s(r->clock) - e.stored_at;
		uint32_t elapsed = el < 0 ? 0 : (el > UINT32_MAX ? UINT32_MAX : (uint32_t)el);
		ttl_countdown(t->answer, elapsed);
		ttl_countdown(t->auth, elapsed);
		ttl_countdown(t->add, elapsed);
	}
	t->rcode = rcode;
	t->sec = e.sec;
	t->rank = e.rank;
	t->src = OST_SRC_CACHE;
	return true;
}

uint32_t ost_stale_max(const struct ost_resolver *r)
{
	const struct ost_resolver_policy *p = r->cfg.policy;
	if (p && p->max_stale_s)
		return p->max_stale_s(p->ctx);
	return r->cfg.max_stale_s;
}

/* The TTL a record of a stale answer is served with. */
static uint32_t stale_rr_ttl(struct ost_task *t, const ldns_rr *rr)
{
	struct ost_resolver *r = t->r;
	uint32_t ttl = ldns_rr_ttl(rr);
	if (r->cfg.serve_original_ttl)
		return ttl;
	/* The RRset may have been refreshed meanwhile (e.g. the zone's NS by
	 * another answer): then its real remaining TTL applies. */
	struct ost_cache_entry e;
	if (get_live(t, ldns_rr_owner(rr), covered_type(rr), OST_CTAG_RRSET, OST_RANK_NONE, &e))
		return ost_cache_ttl_left(&e, ost_clock_wall_s(r->clock));
	return ttl < r->cfg.stale_ttl ? ttl : r->cfg.stale_ttl;
}

bool ost_stash_stale(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	if (!r->cache || !r->cfg.serve_stale || t->qclass != LDNS_RR_CLASS_IN)
		return false;
	struct ost_mm mm;
	ost_mm_from_arena(&mm, &t->arena);
	struct ost_cache_entry e;
	int ret = ost_cache_get(r->cache, ldns_rdf_data(t->qname), t->qtype, OST_CTAG_MSG, &mm, &e);
	if (ret != 0) {
		if (ret != -ENOENT)
			r->stats.cache_errors++;
		return false;
	}
	int64_t now = ost_clock_wall_s(r->clock);
	/* Only expired data is stale (fresh data was refused on purpose);
	 * an original TTL of 0 means "do not cache", so never serve it stale
	 * (RFC 8767 §4); bogus data is never laundered into a stale answer. */
	if (e.expires_at > now || e.ttl == 0 || !msg_usable(t, &e))
		return false;
	/* Staleness counts from the expiry, or with stale_ttl_reset from the
	 * last failed refresh made while the data was servable (Unbound's
	 * serve-expired-ttl-reset): then it is served as long as refreshes
	 * keep failing. */
	int64_t since = e.expires_at;
	struct ost_cache_entry f;
	if (r->cfg.stale_ttl_reset &&
	    ost_cache_get(r->cache, ldns_rdf_data(t->qname), t->qtype, OST_CTAG_FAIL, &mm, &f) ==
		    0 &&
	    (f.flags & FAIL_STALE) && f.stored_at > since)
		since = f.stored_at;
	if (now < since || (uint64_t)(now - since) > ost_stale_max(r))
		return false;
	t->stale_answer = ost_arena_rr_list(&t->arena, ldns_rr_list_new());
	t->stale_auth = ost_arena_rr_list(&t->arena, ldns_rr_list_new());
	t->stale_add = ost_arena_rr_list(&t->arena, ldns_rr_list_new());
	if (!t->stale_answer || !t->stale_auth || !t->stale_add ||
	    !decode_msg(t, &e, &t->stale_rcode, t->stale_answer, t->stale_auth, t->stale_add))
		return false;
	ldns_rr_list *secs[3] = {t->stale_answer, t->stale_auth, t->stale_add};
	for (int s = 0; s < 3; s++) {
		for (size_t i = 0; i < ldns_rr_list_rr_count(secs[s]); i++) {
			ldns_rr *rr = ldns_rr_list_rr(secs[s], i);
			ldns_rr_set_ttl(rr, stale_rr_ttl(t, rr));
		}
	}
	t->stale_sec = e.sec;
	t->stale_age = (uint32_t)(now - e.expires_at);
	t->has_stale = true;
	return true;
}

bool ost_stash_answer(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	if (!r->cache || t->qclass != LDNS_RR_CLASS_IN)
		return false;
	if (cached_failure(t))
		return true;
	if (t->sname == t->qname && answer_from_msg(t))
		return true;
	ldns_rdf *name = t->sname;
	/* Follow cached CNAMEs; stop at data, a negative entry or a gap. */
	for (unsigned hop = 0; hop <= r->cfg.max_cname; hop++) {
		struct ost_cache_entry e;
		if (get_live(t, name, t->qtype, OST_CTAG_RRSET, OST_RANK_ANSWER, &e) &&
		    sec_usable(t, &e)) {
			ldns_rr_list *l = decode_rrs(t, &e);
			if (!l || append_all(t->answer, l) != 0)
				return false;
			t->rcode = LDNS_RCODE_NOERROR;
			t->src = OST_SRC_CACHE;
			t->is_built_from_cache = true;
			return true;
		}
		if (get_live(t, name, t->qtype, OST_CTAG_NEG, OST_RANK_AUTHORITY, &e) &&
		    sec_usable(t, &e)) {
			ldns_rr_list *l = decode_rrs(t, &e);
			if (!l || append_all(t->auth, l) != 0)
				return false;
			t->rcode =
				(e.flags & NEG_NXDOMAIN) ? LDNS_RCODE_NXDOMAIN : LDNS_RCODE_NOERROR;
			t->src = OST_SRC_CACHE;
			t->is_built_from_cache = true;
			return true;
		}
		if (nxdomain_cut(t, name)) {
			t->src = OST_SRC_CACHE;
			t->is_built_from_cache = true;
			return true;
		}
		if (t->qtype == LDNS_RR_TYPE_CNAME ||
		    !get_live(t, name, LDNS_RR_TYPE_CNAME, OST_CTAG_RRSET, OST_RANK_ANSWER, &e) ||
		    !sec_usable(t, &e))
			break;
		ldns_rr_list *l = decode_rrs(t, &e);
		if (!l || ldns_rr_list_rr_count(l) == 0 || append_all(t->answer, l) != 0)
			return false;
		ldns_rdf *target = NULL;
		for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
			ldns_rr *rr = ldns_rr_list_rr(l, i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME)
				target = ldns_rr_rdf(rr, 0);
		}
		if (!target)
			return false;
		t->n_cname++;
		name = target;
		t->sname = name;
	}
	return false;
}

/* Build a cut for @p zone from cached NS and address records (expired ones
 * within the maximum staleness too when @p stale). */
static struct ost_cut *cached_cut(struct ost_task *t, const ldns_rdf *zone, bool stale)
{
	struct ost_cache_entry e;
	if (!get_entry(t, zone, LDNS_RR_TYPE_NS, OST_CTAG_RRSET, OST_RANK_AUTHORITY, stale, &e))
		return NULL;
	ldns_rr_list *ns = decode_rrs(t, &e);
	if (!ns)
		return NULL;
	struct ost_cut *c = ost_arena_alloc(&t->arena, sizeof(*c));
	struct ost_ns_slot *slots = ost_arena_alloc(&t->arena, OST_CUT_MAX_NS * sizeof(*slots));
	if (!c || !slots)
		return NULL;
	memset(c, 0, sizeof(*c));
	memset(slots, 0, OST_CUT_MAX_NS * sizeof(*slots));
	c->name = ost_arena_rdf(&t->arena, ldns_rdf_clone(zone));
	if (!c->name)
		return NULL;
	c->arena = &t->arena;
	c->ns = slots;
	c->labels = ldns_dname_label_count(zone);
	c->from_cache = true;
	bool usable = false;
	for (size_t i = 0; i < ldns_rr_list_rr_count(ns) && c->n_ns < OST_CUT_MAX_NS; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ns, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS || !ldns_rr_rdf(rr, 0))
			continue;
		struct ost_ns_slot *s = &c->ns[c->n_ns++];
		s->name = ldns_rr_rdf(rr, 0); /* owned by the arena-held list */
		s->state = OST_NSA_UNKNOWN;
		ldns_rr_list *addrs = ost_arena_rr_list(&t->arena, ldns_rr_list_new());
		if (!addrs)
			return NULL;
		static const uint16_t types[2] = {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA};
		for (int k = 0; k < 2; k++) {
			struct ost_cache_entry ae;
			if (!get_entry(t, s->name, types[k], OST_CTAG_RRSET, OST_RANK_ADDITIONAL,
				       stale, &ae))
				continue;
			ldns_rr_list *l = decode_rrs(t, &ae);
			if (l && append_all(addrs, l) != 0)
				return NULL;
		}
		int n = ost_iter_ns_addrs(&t->arena, t->r->cfg.upstream_port, s, addrs, NULL);
		if (n < 0)
			return NULL;
		if (n > 0) {
			s->state = OST_NSA_DONE;
			usable = true;
		} else if (!ost_dname_under(s->name, zone)) {
			/* Resolvable from outside the zone. */
			usable = true;
		}
	}
	return usable ? c : NULL;
}

/* The deepest cached cut for t->sname below t->cut (strictly above the name
 * for DS). */
static bool closest_cut(struct ost_task *t, bool stale)
{
	if (!t->r->cache || !t->cut)
		return false;
	/* From the name itself up to (not including) the cut we have: the
	 * first cached delegation found is the deepest. */
	unsigned labels = ldns_dname_label_count(t->sname);
	/* A DS RRset lives in the parent (RFC 4035 §3.1.4.1, RFC 4034 §5):
	 * the cut at the name itself is not where to ask, and neither is
	 * whatever that cut happens to hang from. A cut taken from the cache
	 * (hoster.ru. found directly below the root hints) has the root as
	 * its parent; asking the root for hoster.ru. DS fails when the root
	 * is cut off although the ru. servers, cached too, would answer.
	 * So drop a cut at (or below) the name and look for the closest
	 * enclosing cached cut strictly above it. */
	unsigned first = 0;
	if (t->qtype == LDNS_RR_TYPE_DS) {
		first = 1;
		while (t->cut->parent && t->cut->labels >= labels)
			t->cut = t->cut->parent;
	}
	for (unsigned strip = first; strip < labels; strip++) {
		if (labels - strip <= t->cut->labels)
			break;
		ldns_rdf *zone =
			strip ? ost_arena_rdf(&t->arena, ldns_dname_clone_from(t->sname, strip))
			      : t->sname;
		if (!zone)
			return false;
		struct ost_cut *c = cached_cut(t, zone, stale);
		if (c) {
			c->parent = t->cut;
			t->cut = c;
			return true;
		}
	}
	return false;
}

bool ost_stash_closest_cut(struct ost_task *t)
{
	return closest_cut(t, false);
}

/*
 * RFC 8767 §5 is about any cached data the resolver needs, not only final
 * answers: when the servers that would refresh a delegation (the root for
 * "ru. NS" and its glue, "ru. DS") are unreachable, the expired copy within
 * the maximum staleness is still the best knowledge of where the zone's
 * servers are. Iteration goes on from there, and what the reachable servers
 * then say is fresh: the client's answer is not stale.
 */
bool ost_stash_stale_cut(struct ost_task *t)
{
	if (!t->r->cfg.serve_stale || !closest_cut(t, true))
		return false;
	t->r->stats.stale_infra++;
	return true;
}

bool ost_stash_stale_rrset(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	if (!r->cache || !r->cfg.serve_stale || !t->parent || t->qclass != LDNS_RR_CLASS_IN)
		return false;
	/* Name-server addresses may come from glue, a DS from a referral,
	 * anything else only from answers (the validator checks DS and
	 * DNSKEY either way). */
	uint16_t ty = t->qtype;
	uint8_t rank = ty == LDNS_RR_TYPE_A || ty == LDNS_RR_TYPE_AAAA ? OST_RANK_ADDITIONAL
		       : ty == LDNS_RR_TYPE_DS                         ? OST_RANK_AUTHORITY
								       : OST_RANK_ANSWER;
	struct ost_cache_entry e;
	if (!get_entry(t, t->sname, t->qtype, OST_CTAG_RRSET, rank, true, &e))
		return false;
	ldns_rr_list *l = decode_rrs(t, &e);
	if (!l || ldns_rr_list_rr_count(l) == 0)
		return false;
	clear_rrs(t->answer);
	clear_rrs(t->auth);
	clear_rrs(t->add);
	if (append_all(t->answer, l) != 0)
		return false;
	t->rcode = LDNS_RCODE_NOERROR;
	t->has_ede = false;
	t->ede_text[0] = 0;
	t->is_limit = false;
	t->src = OST_SRC_CACHE;
	t->sec = e.sec;
	r->stats.stale_infra++;
	return true;
}

/* ---- writing ---- */

static void put(const struct ost_task *t, const ldns_rdf *owner, uint16_t type,
		enum ost_cache_tag tag, uint8_t rank, uint8_t sec, uint8_t flags, uint16_t rcode,
		uint32_t ttl, const uint8_t *data, size_t len)
{
	struct ost_resolver *r = t->r;
	struct ost_cache_entry e;
	/* What a zone mirror gave lives no longer than the mirror may be used
	 * (RFC 8806 §3: SOA expire deadline; its RRSIG horizon less the margin):
	 * the cache must not go on answering from a withdrawn copy. */
	if (t->mirror_until) {
		int64_t left = t->mirror_until - ost_clock_wall_s(r->clock);
		if (left < (int64_t)ttl)
			ttl = left > 0 ? (uint32_t)left : 0;
	}
	memset(&e, 0, sizeof(e));
	e.tag = (uint8_t)tag;
	e.rank = rank;
	e.sec = sec;
	e.flags = flags;
	e.rcode = rcode;
	e.ttl = ttl;
	e.data = data;
	e.len = (uint32_t)len;
	if (ost_cache_batch_put(r->batch, ldns_rdf_data(owner), type, &e) != 0)
		r->stats.cache_errors++;
}

static uint16_t covered(const ldns_rr *rr)
{
	return ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && ldns_rr_rdf(rr, 0)
		       ? ldns_rdf2rr_type(ldns_rr_rdf(rr, 0))
		       : 0;
}

/* Queue every RRset of @p l that @p keep accepts, with its RRSIGs. */
static void put_rrsets(struct ost_task *t, const ldns_rr_list *l, uint8_t rank, uint8_t sec,
		       uint8_t flags, bool (*keep)(const struct ost_task *, const ldns_rr *))
{
	size_t n = ldns_rr_list_rr_count(l);
	ldns_buffer *b = ldns_buffer_new(512);
	if (!b)
		return;
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *head = ldns_rr_list_rr(l, i);
		uint16_t type = ldns_rr_get_type(head);
		if (type == LDNS_RR_TYPE_RRSIG || (keep && !keep(t, head)))
			continue;
		/* Only the first record of each RRset starts one. */
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++) {
			const ldns_rr *o = ldns_rr_list_rr(l, j);
			seen = ldns_rr_get_type(o) == type &&
			       ost_dname_eq(ldns_rr_owner(o), ldns_rr_owner(head));
		}
		if (seen)
			continue;
		ldns_buffer_clear(b);
		uint32_t ttl = UINT32_MAX;
		bool ok = true;
		for (size_t j = i; j < n && ok; j++) {
			const ldns_rr *rr = ldns_rr_list_rr(l, j);
			if (!ost_dname_eq(ldns_rr_owner(rr), ldns_rr_owner(head)) ||
			    (ldns_rr_get_type(rr) != type && covered(rr) != type))
				continue;
			ok = ldns_rr2buffer_wire(b, rr, LDNS_SECTION_ANSWER) == LDNS_STATUS_OK;
			if (ldns_rr_ttl(rr) < ttl)
				ttl = ldns_rr_ttl(rr);
		}
		if (ok)
			put(t, ldns_rr_owner(head), type, OST_CTAG_RRSET, rank, sec, flags, 0, ttl,
			    ldns_buffer_begin(b), ldns_buffer_position(b));
	}
	ldns_buffer_free(b);
}

/* The TTL of a negative answer: min(SOA TTL, SOA MINIMUM), RFC 2308 §5. */
static uint32_t neg_ttl(const ldns_rr_list *auth)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) < 7)
			continue;
		uint32_t m = ldns_rdf2native_int32(ldns_rr_rdf(rr, 6));
		return m < ldns_rr_ttl(rr) ? m : ldns_rr_ttl(rr);
	}
	return 0;
}

static bool is_ns(const struct ost_task *t, const ldns_rr *rr)
{
	(void)t;
	return ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS;
}

static bool is_addr(const struct ost_task *t, const ldns_rr *rr)
{
	(void)t;
	return ldns_rr_get_type(rr) == LDNS_RR_TYPE_A || ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA;
}

/*
 * The whole answer for the server's hit path (client requests only), with
 * the smallest TTL of its records: for an answer from upstream the TTLs it
 * came with, for one built from cached RRsets and negative entries (say
 * "www.example.com. A", first learnt at the end of a CNAME chain) what is
 * left of each entry, so the copy expires with the first of them. Its
 * security status is the worst of the entries used (sec_usable()). Without
 * it such a question would go through the engine on every query.
 *
 * A negative synthesised from NSEC spans (RFC 8198, validate_aggr.c) is
 * stored too, its TTL cut to t->msg_until: a span is used no longer than
 * the zone's negative TTL from when it was learnt (RFC 9077 §3), a limit a
 * copy with the answer's own TTL would outlive.
 *
 * Not stored: an answer that came from a stored whole answer (it is there
 * already) and cached failures (FAIL entries have their own backoff).
 */
static void put_msg(struct ost_task *t, uint8_t uv)
{
	struct ost_resolver *r = t->r;
	if (t->parent || t->root != t)
		return;
	uint8_t *msg = NULL;
	uint32_t len = 0, ttl = 0;
	if (ost_msg_encode(t->qname, t->qtype, t->qclass, t->rcode, t->answer, t->auth, t->add,
			   &t->arena, &msg, &len, &ttl) != 0) {
		r->stats.cache_errors++;
		return;
	}
	if (t->msg_until) {
		int64_t left = t->msg_until - ost_clock_wall_s(r->clock);
		if (left <= 0)
			return;
		if ((int64_t)ttl > left)
			ttl = (uint32_t)left;
	}
	put(t, t->qname, t->qtype, OST_CTAG_MSG, t->rank ? t->rank : OST_RANK_ANSWER, t->sec, uv,
	    t->rcode, ttl, msg, len);
}

void ost_stash_result(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	if (!r->batch || t->qclass != LDNS_RR_CLASS_IN)
		return;
	if (t->rcode == LDNS_RCODE_SERVFAIL) {
		/* A failed prefetch nobody waits for caches nothing: the
		 * fresh answer is served until it expires, and the client
		 * request after that tries upstream itself. Unbound keeps the
		 * cached answer too: its error_response_cache() only moves the
		 * entry's prefetch point when a prefetch fails. */
		if (!t->is_prefetch || t->waiters)
			stash_failure(t);
		return;
	}
	if (t->rcode != LDNS_RCODE_NOERROR && t->rcode != LDNS_RCODE_NXDOMAIN)
		return;
	/* An answer that rests on a mirror past its SOA expire deadline
	 * carries EDE 3 (operator extension): only the engine adds it, so
	 * none of it goes into the cache. */
	if (t->is_mirror_extended)
		return;
	/* A CD=1 request skips validation: mark what it stores so it never
	 * reaches a CD=0 client as if it had been checked. Verified mirror
	 * data is secure whoever asked (mirror.c). */
	bool mirror_checked = t->rank == OST_RANK_MIRROR &&
			      (t->sec == OST_SEC_SECURE || t->sec == OST_SEC_INSECURE);
	uint8_t uv = r->cfg.validation && (t->flags & OST_RF_CD) && !mirror_checked
			     ? OST_MSG_F_UNVALIDATED
			     : 0;
	if (t->src == OST_SRC_CACHE) {
		/* Not for a CD=1 request while validating: it would replace
		 * the checked copy a CD=0 client stored with one flagged
		 * unvalidated, from the same validated RRsets. */
		if (t->is_built_from_cache && !uv)
			put_msg(t, 0);
		return;
	}
	if (t->src != OST_SRC_UPSTREAM)
		return;
	put_rrsets(t, t->answer, t->rank ? t->rank : OST_RANK_ANSWER, t->sec, uv, NULL);
	/* The zone's NS RRset and server addresses that came with a positive
	 * answer (minimal responses off) are the zone's own data: cache them
	 * too, so stale answers and later cuts see their current TTLs. */
	if (t->rcode == LDNS_RCODE_NOERROR && ldns_rr_list_rr_count(t->answer) > 0) {
		bool aa = t->rank == OST_RANK_AUTH_ANSWER;
		put_rrsets(t, t->auth, aa ? OST_RANK_AUTH_AUTHORITY : OST_RANK_AUTHORITY,
			   OST_SEC_UNCHECKED, uv, is_ns);
		put_rrsets(t, t->add, OST_RANK_ADDITIONAL, OST_SEC_UNCHECKED, uv, is_addr);
	}
	/* The last record that is not an RRSIG says whether a CNAME chain
	 * ended in a negative answer. */
	uint16_t last = 0;
	for (size_t i = ldns_rr_list_rr_count(t->answer); i > 0 && !last; i--) {
		uint16_t ty = ldns_rr_get_type(ldns_rr_list_rr(t->answer, i - 1));
		last = ty == LDNS_RR_TYPE_RRSIG ? 0 : ty;
	}
	if (ldns_rr_list_rr_count(t->auth) > 0 &&
	    (t->rcode == LDNS_RCODE_NXDOMAIN || !ldns_rr_list_rr_count(t->answer) ||
	     last == LDNS_RR_TYPE_CNAME)) {
		uint32_t ttl = neg_ttl(t->auth);
		ldns_buffer *b = ldns_buffer_new(512);
		bool ok = b != NULL;
		for (size_t i = 0; ok && i < ldns_rr_list_rr_count(t->auth); i++)
			ok = ldns_rr2buffer_wire(b, ldns_rr_list_rr(t->auth, i),
						 LDNS_SECTION_AUTHORITY) == LDNS_STATUS_OK;
		bool nx = t->rcode == LDNS_RCODE_NXDOMAIN;
		if (ok)
			put(t, t->sname, nx ? NEG_ANY_TYPE : t->qtype, OST_CTAG_NEG,
			    t->rank == OST_RANK_MIRROR ? OST_RANK_MIRROR : OST_RANK_AUTH_AUTHORITY,
			    t->sec, (nx ? NEG_NXDOMAIN : 0) | uv, t->rcode, ttl,
			    ldns_buffer_begin(b), ldns_buffer_position(b));
		ldns_buffer_free(b);
	}
	put_msg(t, uv);
}

static bool is_cut_ns(const struct ost_task *t, const ldns_rr *rr)
{
	return ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS &&
	       ost_dname_eq(ldns_rr_owner(rr), t->cut->name);
}

static bool is_glue(const struct ost_task *t, const ldns_rr *rr)
{
	uint16_t ty = ldns_rr_get_type(rr);
	if (ty != LDNS_RR_TYPE_A && ty != LDNS_RR_TYPE_AAAA)
		return false;
	/* Glue inside the zone that delegated, for a name server of the cut. */
	if (!t->cut->parent || !ost_dname_under(ldns_rr_owner(rr), t->cut->parent->name))
		return false;
	for (size_t i = 0; i < t->cut->n_ns; i++) {
		if (ost_dname_eq(t->cut->ns[i].name, ldns_rr_owner(rr)))
			return true;
	}
	return false;
}

static bool is_cut_ds(const struct ost_task *t, const ldns_rr *rr)
{
	return ldns_rr_get_type(rr) == LDNS_RR_TYPE_DS &&
	       ost_dname_eq(ldns_rr_owner(rr), t->cut->name);
}

void ost_stash_referral(struct ost_task *t, const ldns_rr_list *ns, const ldns_rr_list *glue)
{
	if (!t->r->batch || t->is_mirror_extended)
		return;
	put_rrsets(t, ns, OST_RANK_AUTHORITY, OST_SEC_UNCHECKED, 0, is_cut_ns);
	/* The child's DS (with RRSIGs) that came with the referral: the
	 * validator takes it from the referral, so without this copy the
	 * cache would hold no DS to fall back on once the parent becomes
	 * unreachable (ost_stash_stale_rrset()). Authority rank: a fresh DS
	 * lookup still asks (it wants an answer), the stale path accepts it;
	 * the validator checks it either way. */
	put_rrsets(t, ns, OST_RANK_AUTHORITY, OST_SEC_UNCHECKED, 0, is_cut_ds);
	if (glue)
		put_rrsets(t, glue, OST_RANK_ADDITIONAL, OST_SEC_UNCHECKED, 0, is_glue);
}
