/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Iteration: zone cuts, the choice of the next question (QNAME minimisation,
 * RFC 9156) and the classification of a server's reply into answer, CNAME or
 * DNAME link, referral, NXDOMAIN, NODATA or lame. This is where the bailiwick
 * rules live: a server queried for zone Z is believed only about names at or
 * below Z; records about other names are dropped and counted, referrals must
 * point strictly below Z and toward the name asked, and glue is taken only for
 * the referral's own name servers and only from inside Z (RFC 2181 §5.4.1).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/log.h"

#include "internal.h"

static void clear_list(ldns_rr_list *l)
{
	ldns_rr *rr;
	while (l && (rr = ldns_rr_list_pop_rr(l)) != NULL)
		ldns_rr_free(rr);
}

void ost_task_fail(struct ost_task *t, uint16_t ede, bool is_limit, const char *fmt, ...)
{
	/* A failure carries no partial data (e.g. half a CNAME chain). */
	clear_list(t->answer);
	clear_list(t->auth);
	clear_list(t->add);
	t->rcode = LDNS_RCODE_SERVFAIL;
	t->has_ede = true;
	t->ede = ede;
	t->is_limit = is_limit;
	t->is_internal = false;
	t->src = OST_SRC_LOCAL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->ede_text, sizeof(t->ede_text), fmt, ap);
	va_end(ap);
}

/* Fill @p ss from an A or AAAA record's address and @p port. */
static bool rr_to_addr(const ldns_rr *rr, uint16_t port, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	const ldns_rdf *rd = ldns_rr_rdf(rr, 0);
	if (!rd)
		return false;
	memset(ss, 0, sizeof(*ss));
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && ldns_rdf_size(rd) == 4) {
		struct sockaddr_in *in = (void *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, ldns_rdf_data(rd), 4);
		*len = sizeof(*in);
		return true;
	}
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA && ldns_rdf_size(rd) == 16) {
		struct sockaddr_in6 *in6 = (void *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		memcpy(&in6->sin6_addr, ldns_rdf_data(rd), 16);
		*len = sizeof(*in6);
		return true;
	}
	return false;
}

/* Give @p ns the addresses of the A/AAAA records owned by its name in @p l
 * (only those under @p zone when @p zone is set). @return the number set */
int ost_iter_ns_addrs(struct ost_arena *arena, uint16_t port, struct ost_ns_slot *ns,
		      const ldns_rr_list *l, const ldns_rdf *zone)
{
	size_t n = 0, cnt = l ? ldns_rr_list_rr_count(l) : 0;
	for (size_t i = 0; i < cnt; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		ldns_rr_type ty = ldns_rr_get_type(rr);
		if ((ty == LDNS_RR_TYPE_A || ty == LDNS_RR_TYPE_AAAA) &&
		    ost_dname_eq(ldns_rr_owner(rr), ns->name))
			n++;
	}
	if (n > OST_NS_MAX_ADDR)
		n = OST_NS_MAX_ADDR;
	if (n == 0)
		return 0;
	struct ost_addr_slot *a = ost_arena_alloc(arena, n * sizeof(*a));
	if (!a)
		return -ENOMEM;
	memset(a, 0, n * sizeof(*a));
	size_t k = 0;
	for (size_t i = 0; i < cnt && k < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (!ost_dname_eq(ldns_rr_owner(rr), ns->name))
			continue;
		if (zone && !ost_dname_under(ldns_rr_owner(rr), zone))
			continue;
		if (rr_to_addr(rr, port, &a[k].addr, &a[k].addrlen))
			k++;
	}
	ns->addrs = a;
	ns->n_addrs = (uint8_t)k;
	return (int)k;
}

int ost_iter_root_cut(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	struct ost_cut *c = ost_arena_alloc(&t->arena, sizeof(*c));
	if (!c)
		return -ENOMEM;
	memset(c, 0, sizeof(*c));
	c->name = r->root_name; /* resolver-owned, outlives the task */
	c->arena = &t->arena;
	c->ns = ost_arena_alloc(&t->arena, OST_CUT_MAX_NS * sizeof(*c->ns));
	if (!c->name || !c->ns)
		return -ENOMEM;
	memset(c->ns, 0, OST_CUT_MAX_NS * sizeof(*c->ns));
	/* Hints come as (name, address) pairs; group them per name. */
	for (size_t i = 0; i < r->cfg.n_hints; i++) {
		const struct ost_root_hint *h = &r->hints[i];
		ldns_rdf *name = r->hint_names[i];
		struct ost_ns_slot *ns = NULL;
		for (size_t j = 0; j < c->n_ns; j++) {
			if (ost_dname_eq(c->ns[j].name, name))
				ns = &c->ns[j];
		}
		if (!ns) {
			if (c->n_ns == OST_CUT_MAX_NS)
				continue;
			ns = &c->ns[c->n_ns++];
			ns->name = name;
			ns->addrs =
				ost_arena_alloc(&t->arena, OST_NS_MAX_ADDR * sizeof(*ns->addrs));
			if (!ns->addrs)
				return -ENOMEM;
			memset(ns->addrs, 0, OST_NS_MAX_ADDR * sizeof(*ns->addrs));
			ns->state = OST_NSA_DONE;
		}
		if (ns->n_addrs == OST_NS_MAX_ADDR)
			continue;
		struct ost_addr_slot *a = &ns->addrs[ns->n_addrs++];
		memcpy(&a->addr, &h->addr, h->addrlen);
		a->addrlen = h->addrlen;
	}
	t->cut = c;
	return 0;
}

int ost_iter_stub_cut(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	const ldns_rdf *zone = NULL;
	unsigned best = t->cut ? t->cut->labels : 0;
	bool have = t->cut != NULL;
	bool forward = false;

	/* The deepest configured stub or forward zone holding the name, if it
	 * lies below the cut we have: the configuration beats what the parents
	 * say. A forward zone also replaces a cut at its own name that did not
	 * come from it (the root hints, for a forward zone "."). */
	for (size_t i = 0; i < r->cfg.n_stubs; i++) {
		const ldns_rdf *z = r->stub_names[i];
		unsigned l = ldns_dname_label_count(z);
		bool same_level_fwd =
			r->stubs[i].forward && !zone && have && l == best && !t->cut->is_forward;
		if ((have && l <= best && !same_level_fwd) || (zone && ost_dname_eq(z, zone)) ||
		    !ost_dname_under(t->sname, z))
			continue;
		zone = z;
		best = l;
		have = true;
		forward = r->stubs[i].forward;
	}
	if (!zone)
		return 0;
	struct ost_cut *c = ost_arena_alloc(&t->arena, sizeof(*c));
	struct ost_ns_slot *slots = ost_arena_alloc(&t->arena, OST_CUT_MAX_NS * sizeof(*slots));
	if (!c || !slots)
		return -ENOMEM;
	memset(c, 0, sizeof(*c));
	memset(slots, 0, OST_CUT_MAX_NS * sizeof(*slots));
	c->name = (ldns_rdf *)zone; /* resolver-owned, outlives the task */
	c->arena = &t->arena;
	c->ns = slots;
	c->labels = best;
	c->parent = t->cut;
	c->is_forward = forward;
	/* The addresses need no name server names: each slot holds up to
	 * OST_NS_MAX_ADDR of them under the zone's own name. */
	for (size_t i = 0; i < r->cfg.n_stubs; i++) {
		if (!ost_dname_eq(r->stub_names[i], zone))
			continue;
		struct ost_ns_slot *ns = c->n_ns ? &c->ns[c->n_ns - 1] : NULL;
		if (!ns || ns->n_addrs == OST_NS_MAX_ADDR) {
			if (c->n_ns == OST_CUT_MAX_NS)
				break;
			ns = &c->ns[c->n_ns++];
			ns->name = (ldns_rdf *)zone;
			ns->state = OST_NSA_DONE;
			ns->addrs =
				ost_arena_alloc(&t->arena, OST_NS_MAX_ADDR * sizeof(*ns->addrs));
			if (!ns->addrs)
				return -ENOMEM;
			memset(ns->addrs, 0, OST_NS_MAX_ADDR * sizeof(*ns->addrs));
		}
		struct ost_addr_slot *a = &ns->addrs[ns->n_addrs++];
		memcpy(&a->addr, &r->stubs[i].addr, r->stubs[i].addrlen);
		a->addrlen = r->stubs[i].addrlen;
	}
	t->cut = c;
	t->qmin_known = 0;
	return 0;
}

struct ost_cut *ost_iter_closest_cut(struct ost_cut *from, const ldns_rdf *name)
{
	for (struct ost_cut *c = from; c; c = c->parent) {
		if (ost_dname_under(name, c->name))
			return c;
	}
	return NULL;
}

int ost_iter_plan(struct ost_task *t)
{
	/* A DS RRset lives in the parent zone (RFC 4035 §3.1.4.1): when the
	 * cut is the name itself, ask the parent's servers. */
	if (t->qtype == LDNS_RR_TYPE_DS && t->cut->parent && ost_dname_eq(t->cut->name, t->sname))
		t->cut = t->cut->parent;

	unsigned target = ldns_dname_label_count(t->sname);
	unsigned known = t->cut->labels;
	if (t->qmin_known > known)
		known = t->qmin_known;

	t->q_minimised = false;
	t->q_name = t->sname;
	t->q_type = t->qtype;
	/* A forwarder resolves the whole name itself: nothing to hide from it
	 * that it would not learn anyway. */
	if (!t->qmin || t->cut->is_forward || known + 1 >= target ||
	    t->qmin_count >= OST_MAX_MINIMISE_COUNT || t->qtype == LDNS_RR_TYPE_DS)
		return 0;

	/* RFC 9156 §2.3: the first MINIMISE_ONE_LAB queries add one label
	 * each; after that the remaining labels are spread over the queries
	 * left until MAX_MINIMISE_COUNT, so a name with many labels cannot
	 * make us send one query per label. */
	unsigned step = 1;
	if (t->qmin_count >= OST_MINIMISE_ONE_LAB) {
		unsigned left = OST_MAX_MINIMISE_COUNT - t->qmin_count;
		step = (target - known) / (left ? left : 1);
		if (step < 1)
			step = 1;
	}
	unsigned labels = known + step;
	if (labels >= target)
		return 0;
	ldns_rdf *n = ost_arena_rdf(&t->arena, ldns_dname_clone_from(t->sname, target - labels));
	if (!n)
		return -ENOMEM;
	t->q_name = n;
	/* RFC 9156 §2.1: any QTYPE whose authority lies below the cut will
	 * do, unrelated to the QTYPE asked. A by default, as Unbound does (it
	 * blends in, and middleboxes handle it best); NS as configured (Knot
	 * Resolver, BIND, RFC 7816). */
	t->q_type = t->r->cfg.qmin_qtype ? t->r->cfg.qmin_qtype : LDNS_RR_TYPE_A;
	t->q_minimised = true;
	t->qmin_count++;
	return 0;
}

/* Relaxed minimisation (RFC 9156 §2.3 and §4): a broken server answered a
 * minimised question with NXDOMAIN or an error; ask the full name instead. */
static void qmin_fallback(struct ost_task *t)
{
	t->qmin = false;
	t->r->stats.qmin_fallback++;
}

static bool in_zone(const struct ost_task *t, const ldns_rr *rr)
{
	return ost_dname_under(ldns_rr_owner(rr), t->cut->name);
}

/* Count the records of @p p that the server has no authority to tell us. */
static void count_out_of_zone(struct ost_task *t, const ldns_pkt *p)
{
	const ldns_rr_list *secs[3] = {ldns_pkt_answer(p), ldns_pkt_authority(p),
				       ldns_pkt_additional(p)};
	for (int s = 0; s < 3; s++) {
		size_t n = secs[s] ? ldns_rr_list_rr_count(secs[s]) : 0;
		for (size_t i = 0; i < n; i++) {
			const ldns_rr *rr = ldns_rr_list_rr(secs[s], i);
			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_OPT && !in_zone(t, rr))
				t->r->stats.drop_bailiwick++;
		}
	}
}

static uint16_t rrsig_covered(const ldns_rr *rr)
{
	const ldns_rdf *c = ldns_rr_rdf(rr, 0);
	return c ? ldns_rdf2rr_type(c) : 0;
}

/* Does @p rr answer (name, type)? RRSIGs over the type come along. */
static bool rr_answers(const ldns_rr *rr, const ldns_rdf *name, uint16_t type)
{
	if (!ost_dname_eq(ldns_rr_owner(rr), name))
		return false;
	uint16_t ty = ldns_rr_get_type(rr);
	if (ty == type || type == LDNS_RR_TYPE_ANY)
		return true;
	return ty == LDNS_RR_TYPE_RRSIG && rrsig_covered(rr) == type;
}

/* Clone into @p dst the RRSIGs of @p an over (@p owner, @p type) inside the
 * server's zone: the validator needs the signatures of CNAME/DNAME links. */
static int push_sigs(const struct ost_task *t, ldns_rr_list *dst, const ldns_rr_list *an,
		     const ldns_rdf *owner, uint16_t type)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && rrsig_covered(rr) == type &&
		    ost_dname_eq(ldns_rr_owner(rr), owner) && in_zone(t, rr) &&
		    ost_rr_list_push_clone(dst, rr) != 0)
			return -ENOMEM;
	}
	return 0;
}

/* With validation on, the NSEC/NSEC3 records (and RRSIGs) of a positive
 * answer's authority section go along: they prove a wildcard expansion
 * (RFC 4035 §3.1.3.3, §5.3.4). */
static int take_wildcard_proof(struct ost_task *t, const ldns_pkt *p)
{
	const ldns_rr_list *ns = ldns_pkt_authority(p);
	for (size_t i = 0; t->r->cfg.validation && ns && i < ldns_rr_list_rr_count(ns); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ns, i);
		uint16_t ty = ldns_rr_get_type(rr);
		if (ty == LDNS_RR_TYPE_RRSIG)
			ty = rrsig_covered(rr);
		if ((ty == LDNS_RR_TYPE_NSEC || ty == LDNS_RR_TYPE_NSEC3) && in_zone(t, rr) &&
		    ost_rr_list_push_clone(t->auth, rr) != 0)
			return -ENOMEM;
	}
	return 0;
}

/* Does the authority section carry a wildcard proof that
 * take_wildcard_proof() keeps? */
static bool has_wildcard_proof(const struct ost_task *t, const ldns_pkt *p)
{
	const ldns_rr_list *ns = ldns_pkt_authority(p);
	for (size_t i = 0; t->r->cfg.validation && ns && i < ldns_rr_list_rr_count(ns); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ns, i);
		uint16_t ty = ldns_rr_get_type(rr);
		if ((ty == LDNS_RR_TYPE_NSEC || ty == LDNS_RR_TYPE_NSEC3) && in_zone(t, rr))
			return true;
	}
	return false;
}

/* Copy @p rr into @p dst with its TTL capped at @p cap (0: no cap). */
static int push_capped(ldns_rr_list *dst, const ldns_rr *rr, uint32_t cap)
{
	ldns_rr *c = ldns_rr_clone(rr);
	if (!c)
		return -ENOMEM;
	if (cap && ldns_rr_ttl(c) > cap)
		ldns_rr_set_ttl(c, cap);
	if (!ldns_rr_list_push_rr(dst, c)) {
		ldns_rr_free(c);
		return -ENOMEM;
	}
	return 0;
}

/* With minimal responses off, the zone's NS RRset and the addresses of its
 * servers go along with a positive answer (as Unbound's
 * "minimal-responses: no" does); only records inside the zone. */
static int take_referral_data(struct ost_task *t, const ldns_pkt *p)
{
	const ldns_rr_list *ns = ldns_pkt_authority(p);
	const ldns_rr_list *ar = ldns_pkt_additional(p);
	uint32_t cap = t->r->cfg.max_ttl;
	for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ns, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS || !in_zone(t, rr))
			continue;
		if (push_capped(t->auth, rr, cap) != 0)
			return -ENOMEM;
		for (size_t j = 0; j < ldns_rr_list_rr_count(ar); j++) {
			const ldns_rr *a = ldns_rr_list_rr(ar, j);
			uint16_t ty = ldns_rr_get_type(a);
			if ((ty == LDNS_RR_TYPE_A || ty == LDNS_RR_TYPE_AAAA) && in_zone(t, a) &&
			    ost_dname_eq(ldns_rr_owner(a), ldns_rr_rdf(rr, 0)) &&
			    push_capped(t->add, a, cap) != 0)
				return -ENOMEM;
		}
	}
	/* With validation on, their RRSIGs go along (RFC 4035 §3.1.1). */
	if (t->r->cfg.validation && ldns_rr_list_rr_count(t->auth) > 0) {
		const ldns_rdf *zone = ldns_rr_owner(ldns_rr_list_rr(t->auth, 0));
		if (push_sigs(t, t->auth, ns, zone, LDNS_RR_TYPE_NS) != 0)
			return -ENOMEM;
		size_t n_add = ldns_rr_list_rr_count(t->add);
		for (size_t i = 0; i < n_add; i++) {
			const ldns_rr *a = ldns_rr_list_rr(t->add, i);
			bool first = true;
			for (size_t j = 0; j < i && first; j++) {
				const ldns_rr *o = ldns_rr_list_rr(t->add, j);
				first = ldns_rr_get_type(o) != ldns_rr_get_type(a) ||
					!ost_dname_eq(ldns_rr_owner(o), ldns_rr_owner(a));
			}
			/* (a misplaced RRSIG may sit in the answer section) */
			if (first &&
			    (push_sigs(t, t->add, ar, ldns_rr_owner(a), ldns_rr_get_type(a)) != 0 ||
			     push_sigs(t, t->add, ldns_pkt_answer(p), ldns_rr_owner(a),
				       ldns_rr_get_type(a)) != 0))
				return -ENOMEM;
		}
	}
	return 0;
}

/* Copy the negative-answer proof (SOA, NSEC/NSEC3 and their RRSIGs, all in
 * the zone) from the authority section into the result (RFC 2308 §3). */
static int take_negative(struct ost_task *t, const ldns_pkt *p)
{
	const ldns_rr_list *ns = ldns_pkt_authority(p);
	size_t n = ns ? ldns_rr_list_rr_count(ns) : 0;
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ns, i);
		uint16_t ty = ldns_rr_get_type(rr);
		if (ty == LDNS_RR_TYPE_RRSIG)
			ty = rrsig_covered(rr);
		if (!in_zone(t, rr))
			continue;
		if (ty != LDNS_RR_TYPE_SOA && ty != LDNS_RR_TYPE_NSEC && ty != LDNS_RR_TYPE_NSEC3)
			continue;
		/* RFC 2308 §3: the SOA goes out with min(its TTL, MINIMUM),
		 * also capped by the configured negative maximum. */
		uint32_t cap = t->r->cfg.max_ttl;
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) >= 7) {
			uint32_t ttl = ldns_rr_ttl(rr);
			uint32_t minimum = ldns_rdf2native_int32(ldns_rr_rdf(rr, 6));
			if (minimum < ttl)
				ttl = minimum;
			if (t->r->cfg.max_neg_ttl && ttl > t->r->cfg.max_neg_ttl)
				ttl = t->r->cfg.max_neg_ttl;
			ldns_rr *c = ldns_rr_clone(rr);
			if (!c)
				return -ENOMEM;
			ldns_rr_set_ttl(c, ttl);
			if (!ldns_rr_list_push_rr(t->auth, c)) {
				ldns_rr_free(c);
				return -ENOMEM;
			}
			continue;
		}
		if (push_capped(t->auth, rr, cap) != 0)
			return -ENOMEM;
	}
	return 0;
}

static const ldns_rr *find_soa(const struct ost_task *t, const ldns_pkt *p)
{
	const ldns_rr_list *ns = ldns_pkt_authority(p);
	size_t n = ns ? ldns_rr_list_rr_count(ns) : 0;
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ns, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && in_zone(t, rr) &&
		    ost_dname_under(t->q_name, ldns_rr_owner(rr)))
			return rr;
	}
	return NULL;
}

/* Build the cut for a referral to @p child from the NS records in @p p. */
static int follow_referral(struct ost_task *t, const ldns_pkt *p, const ldns_rdf *child)
{
	struct ost_resolver *r = t->r;
	if (++t->depth > r->cfg.max_depth) {
		ost_task_fail(t, OST_EDE_OTHER, true, "ostrov: referral depth limit (%u) reached",
			      r->cfg.max_depth);
		return 1;
	}
	struct ost_cut *c = ost_arena_alloc(&t->arena, sizeof(*c));
	struct ost_ns_slot *slots = ost_arena_alloc(&t->arena, OST_CUT_MAX_NS * sizeof(*slots));
	if (!c || !slots)
		return -ENOMEM;
	memset(c, 0, sizeof(*c));
	memset(slots, 0, OST_CUT_MAX_NS * sizeof(*slots));
	c->name = ost_arena_rdf(&t->arena, ldns_rdf_clone(child));
	c->arena = &t->arena;
	if (!c->name)
		return -ENOMEM;
	c->ns = slots;
	c->labels = ldns_dname_label_count(child);
	c->parent = t->cut;

	const ldns_rr_list *auth = ldns_pkt_authority(p);
	size_t n = ldns_rr_list_rr_count(auth);
	for (size_t i = 0; i < n && c->n_ns < OST_CUT_MAX_NS; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS ||
		    !ost_dname_eq(ldns_rr_owner(rr), child))
			continue;
		const ldns_rdf *nsname = ldns_rr_rdf(rr, 0);
		if (!nsname || ldns_rdf_get_type(nsname) != LDNS_RDF_TYPE_DNAME)
			continue;
		bool dup = false;
		for (size_t j = 0; j < c->n_ns; j++)
			dup = dup || ost_dname_eq(c->ns[j].name, nsname);
		if (dup)
			continue;
		struct ost_ns_slot *ns = &c->ns[c->n_ns++];
		ns->name = ost_arena_rdf(&t->arena, ldns_rdf_clone(nsname));
		if (!ns->name)
			return -ENOMEM;
		/* Glue only from inside the delegating zone: a server for
		 * ru. may tell us where ns.example.ru. is, never where
		 * ns.example.net. is (RFC 2181 §5.4.1, Unbound's scrubber). */
		int k = ost_iter_ns_addrs(&t->arena, r->cfg.upstream_port, ns,
					  ldns_pkt_additional(p), t->cut->name);
		if (k < 0)
			return k;
		ns->state = k > 0 ? OST_NSA_DONE : OST_NSA_UNKNOWN;
	}
	if (c->n_ns == 0)
		return -ENOENT;
	/* The DS RRset of the child, or the NSEC/NSEC3 proof that it has
	 * none, with their RRSIGs: the validator's link to the child
	 * (RFC 4035 §3.1.4); checked there, used only if it verifies. */
	if (r->cfg.validation) {
		c->dsproof = ost_arena_rr_list(&t->arena, ldns_rr_list_new());
		if (!c->dsproof)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			const ldns_rr *rr = ldns_rr_list_rr(auth, i);
			uint16_t ty = ldns_rr_get_type(rr);
			if (ty == LDNS_RR_TYPE_RRSIG)
				ty = rrsig_covered(rr);
			if ((ty == LDNS_RR_TYPE_DS || ty == LDNS_RR_TYPE_NSEC ||
			     ty == LDNS_RR_TYPE_NSEC3) &&
			    in_zone(t, rr) && ost_rr_list_push_clone(c->dsproof, rr) != 0)
				return -ENOMEM;
		}
	}
	c->seen = t->seen;
	t->seen = c;
	t->cut = c;
	t->qmin_known = 0;
	return 0;
}

/* The name the CNAME/DNAME chain moved to: iterate again from the closest
 * cut we know for it (RFC 1034 §5.3.3 step 4). */
static int restart_at(struct ost_task *t, const ldns_rdf *target)
{
	t->sname = ost_arena_rdf(&t->arena, ldns_rdf_clone(target));
	if (!t->sname)
		return -ENOMEM;
	struct ost_cut *c = ost_iter_closest_cut(t->cut, target);
	if (!c)
		return -ENOENT;
	t->cut = c;
	t->qmin = t->r->cfg.qname_minimisation;
	t->qmin_count = 0;
	t->qmin_known = 0;
	if (ost_iter_stub_cut(t) != 0)
		return -ENOMEM;
	if (!t->cut->is_forward)
		ost_stash_closest_cut(t);
	return 0;
}

static enum ost_iter_outcome oom(struct ost_task *t)
{
	ost_task_fail(t, OST_EDE_OTHER, false, "ostrov: out of memory");
	return OST_ITER_FAIL;
}

enum ost_iter_outcome ost_iter_reply(struct ost_task *t, ldns_pkt *p)
{
	struct ost_resolver *r = t->r;
	uint8_t rcode = ldns_pkt_get_rcode(p);

	/* RFC 7766 §5 / RFC 1035 §4.2.1: a truncated UDP answer is retried
	 * over TCP; nothing from it is used. */
	if (ldns_pkt_tc(p))
		return t->q_proto == OST_PROTO_UDP ? OST_ITER_RETRY_TCP : OST_ITER_LAME;
	/* RFC 6891 §7: FORMERR/NOTIMP to a query with OPT means no EDNS. */
	if ((rcode == LDNS_RCODE_FORMERR || rcode == LDNS_RCODE_NOTIMPL) && t->q_edns) {
		t->q_srv->no_edns = true;
		r->stats.edns_fallback++;
		return OST_ITER_RETRY_NOEDNS;
	}
	if (t->q_minimised && rcode != LDNS_RCODE_NOERROR) {
		qmin_fallback(t);
		return OST_ITER_NEXT;
	}
	if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN)
		return OST_ITER_LAME;

	count_out_of_zone(t, p);
	const ldns_rr_list *an = ldns_pkt_answer(p);
	size_t n_an = ldns_rr_list_rr_count(an);
	bool aa = ldns_pkt_aa(p);

	/* Walk the answer from the name asked through CNAME and DNAME links,
	 * believing only records inside the server's zone. */
	const ldns_rdf *name = t->q_name;
	ldns_rr_list *chain = ost_arena_rr_list(&t->arena, ldns_rr_list_new());
	if (!chain)
		return oom(t);
	bool found = false;
	for (unsigned hop = 0; hop <= r->cfg.max_cname && !found; hop++) {
		const ldns_rr *cname = NULL, *dname = NULL;
		for (size_t i = 0; i < n_an; i++) {
			const ldns_rr *rr = ldns_rr_list_rr(an, i);
			if (!in_zone(t, rr))
				continue;
			if (rr_answers(rr, name, t->q_type))
				found = true;
			else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
				 ost_dname_eq(ldns_rr_owner(rr), name))
				cname = rr;
			else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNAME &&
				 ldns_dname_is_subdomain(name, ldns_rr_owner(rr)))
				dname = rr;
		}
		if (found)
			break;
		if (dname) {
			/* RFC 6672 §3.2: the DNAME is the authority; we
			 * synthesise the CNAME ourselves rather than trust
			 * the one the server sent. */
			ldns_rdf *next = ost_arena_rdf(
				&t->arena, ost_dname_substitute(name, ldns_rr_owner(dname),
								ldns_rr_rdf(dname, 0)));
			if (!next)
				return OST_ITER_LAME;
			ldns_rr *syn = ldns_rr_new();
			if (!syn)
				return oom(t);
			ldns_rr_set_type(syn, LDNS_RR_TYPE_CNAME);
			ldns_rr_set_owner(syn, ldns_rdf_clone(name));
			ldns_rr_set_ttl(syn, ldns_rr_ttl(dname));
			ldns_rr_set_class(syn, ldns_rr_get_class(dname));
			ldns_rr_push_rdf(syn, ldns_rdf_clone(next));
			const ldns_rdf *downer = ldns_rr_owner(dname);
			if (ost_rr_list_push_clone(chain, dname) != 0 ||
			    push_sigs(t, chain, an, downer, LDNS_RR_TYPE_DNAME) != 0 ||
			    !ldns_rr_list_push_rr(chain, syn)) {
				ldns_rr_free(syn);
				return oom(t);
			}
			name = next;
			continue;
		}
		if (cname) {
			const ldns_rdf *target = ldns_rr_rdf(cname, 0);
			if (!target || ost_rr_list_push_clone(chain, cname) != 0 ||
			    push_sigs(t, chain, an, name, LDNS_RR_TYPE_CNAME) != 0)
				return oom(t);
			name = target;
			continue;
		}
		break;
	}

	size_t links = ldns_rr_list_rr_count(chain);
	if (t->q_minimised) {
		/* The hidden name exists (data or NODATA follow below). A
		 * CNAME at a hidden name leaves nothing sensible to do with
		 * more labels: ask the full name. */
		if (links > 0) {
			qmin_fallback(t);
			return OST_ITER_NEXT;
		}
		if (found) {
			t->qmin_known = ldns_dname_label_count(t->q_name);
			return OST_ITER_NEXT;
		}
	}

	if (links > 0 || found) {
		for (size_t i = 0; i < links; i++) {
			const ldns_rr *rr = ldns_rr_list_rr(chain, i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME)
				t->n_cname++;
			if (push_capped(t->answer, rr, r->cfg.max_ttl) != 0)
				return oom(t);
		}
		if (t->n_cname > r->cfg.max_cname) {
			ost_task_fail(t, OST_EDE_OTHER, true,
				      "ostrov: CNAME chain limit (%u) reached", r->cfg.max_cname);
			return OST_ITER_FAIL;
		}
		t->rank = aa ? OST_RANK_AUTH_ANSWER : OST_RANK_ANSWER;
		if (found) {
			for (size_t i = 0; i < n_an; i++) {
				const ldns_rr *rr = ldns_rr_list_rr(an, i);
				if (in_zone(t, rr) && rr_answers(rr, name, t->q_type) &&
				    push_capped(t->answer, rr, r->cfg.max_ttl) != 0)
					return oom(t);
			}
			/* Some servers put the answer's RRSIGs in another
			 * section; Unbound's parser finds them there too. */
			if (r->cfg.validation &&
			    (push_sigs(t, t->answer, ldns_pkt_authority(p), name, t->q_type) != 0 ||
			     push_sigs(t, t->answer, ldns_pkt_additional(p), name, t->q_type) != 0))
				return oom(t);
			/* A wildcard answer carries its NSEC/NSEC3 proof
			 * (RFC 4035 §3.1.3.3), which minimal responses cannot
			 * drop; the zone's NS and glue then go along as with
			 * minimal responses off, as Unbound does (msgencode.c
			 * positive_answer()). */
			if ((!r->cfg.minimal_responses || has_wildcard_proof(t, p)) &&
			    t->parent == NULL && take_referral_data(t, p) != 0)
				return oom(t);
			if (t->parent == NULL && take_wildcard_proof(t, p) != 0)
				return oom(t);
			t->rcode = LDNS_RCODE_NOERROR;
			return OST_ITER_DONE;
		}
		/* The chain left the answer. If this server is authoritative
		 * for the target too and says it has no data, we are done
		 * (RFC 2308 §2.1, §2.2); otherwise chase the target. */
		const ldns_rr *soa = find_soa(t, p);
		if (aa && soa && ost_dname_under(name, ldns_rr_owner(soa))) {
			t->sname = ost_arena_rdf(&t->arena, ldns_rdf_clone(name));
			if (!t->sname)
				return oom(t);
			t->rcode = rcode;
			return take_negative(t, p) == 0 ? OST_ITER_DONE : oom(t);
		}
		/* The denial records that came with the chain go along: one may
		 * prove the target lies below an insecure delegation. */
		if (t->parent == NULL && take_wildcard_proof(t, p) != 0)
			return oom(t);
		return restart_at(t, name) == 0 ? OST_ITER_NEXT : OST_ITER_LAME;
	}

	const ldns_rr *soa = find_soa(t, p);
	if (rcode == LDNS_RCODE_NXDOMAIN) {
		if (!soa && !aa)
			return OST_ITER_LAME;
		t->rcode = LDNS_RCODE_NXDOMAIN;
		t->rank = aa ? OST_RANK_AUTH_AUTHORITY : OST_RANK_AUTHORITY;
		return take_negative(t, p) == 0 ? OST_ITER_DONE : oom(t);
	}

	/* A referral: NS records for a zone strictly below the server's zone
	 * and at or above the name asked. An upward or sideways referral is
	 * lame (RFC 1034 §5.3.3, RFC 4697 §2.2). */
	const ldns_rr_list *auth = ldns_pkt_authority(p);
	const ldns_rdf *child = NULL;
	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS &&
		    ost_dname_under(ldns_rr_owner(rr), t->cut->name) &&
		    !ost_dname_eq(ldns_rr_owner(rr), t->cut->name) &&
		    ost_dname_under(t->q_name, ldns_rr_owner(rr))) {
			child = ldns_rr_owner(rr);
			break;
		}
	}
	if (child && !soa && !(t->q_type == LDNS_RR_TYPE_DS && ost_dname_eq(child, t->q_name))) {
		/* A forwarder must answer, not refer: one that refers is not
		 * recursing for us (RD ignored), so it is lame. */
		if (t->cut->is_forward)
			return OST_ITER_LAME;
		int ret = follow_referral(t, p, child);
		if (ret == 1)
			return OST_ITER_FAIL;
		if (ret == -ENOMEM)
			return oom(t);
		if (ret < 0)
			return OST_ITER_LAME;
		ost_stash_referral(t, auth, ldns_pkt_additional(p));
		return OST_ITER_NEXT;
	}

	/* A NODATA without SOA and AA still counts when it carries an
	 * NSEC/NSEC3 denial for the validator to check (Unbound does too). */
	bool denial = false;
	for (size_t i = 0; r->cfg.validation && i < ldns_rr_list_rr_count(auth); i++) {
		uint16_t ty = ldns_rr_get_type(ldns_rr_list_rr(auth, i));
		denial |= (ty == LDNS_RR_TYPE_NSEC || ty == LDNS_RR_TYPE_NSEC3) &&
			  in_zone(t, ldns_rr_list_rr(auth, i));
	}
	if (soa || aa || denial) {
		if (t->q_minimised) {
			t->qmin_known = ldns_dname_label_count(t->q_name);
			return OST_ITER_NEXT;
		}
		t->rcode = LDNS_RCODE_NOERROR;
		t->rank = aa ? OST_RANK_AUTH_AUTHORITY : OST_RANK_AUTHORITY;
		return take_negative(t, p) == 0 ? OST_ITER_DONE : oom(t);
	}
	return OST_ITER_LAME;
}
