/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Aggressive use of the DNSSEC-validated cache (RFC 8198): NSEC records that
 * the validator has checked (in a negative answer, or in the proof that a
 * name has no DS) are kept per zone, with the zone's SOA, for their TTL. A
 * later question whose name falls inside a kept span is answered NXDOMAIN
 * (the span covers the name and another one denies the wildcard) or NODATA
 * (the name's own NSEC lacks the type) without asking anyone: the root zone
 * is signed with NSEC, so an isolated resolver answers every non-existent
 * TLD from its cache.
 *
 * Wildcards (RFC 8198 §5.3): a validated answer expanded from a wildcard
 * (its RRSIG's labels field is shorter than its owner) leaves the wildcard
 * RRset itself here ("*.blog.root.cz. CNAME root.cz." with its RRSIG), with
 * the NSEC that proved the expansion. A later name that an NSEC span shows
 * not to exist, and whose closest encloser is the wildcard's parent, gets
 * the wildcard's records under its own name (their RRSIGs unchanged: the
 * labels field still says "expanded"), the covering NSEC in the authority
 * section, and for a CNAME the rest of the chain from the cache.
 *
 * Only NSEC (not NSEC3: hashed spans say nothing about names we have not
 * hashed, and opt-out spans may hide delegations, RFC 8198 §4), only what
 * validated secure, and never below a delegation the parent's NSEC shows
 * (RFC 6840 §4.1): ost_nsec_denial() applies the same rules as for an
 * answer from the wire. The store is per resolver (one per worker): small,
 * bounded, and not persistent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/log.h"

#include "internal.h"
#include "validate.h"

/** Zones with kept NSEC spans, per resolver. */
#define AGGR_MAX_ZONES 64
/** NSEC records kept per zone. */
#define AGGR_MAX_NSEC  2048
/** Wildcard RRsets kept per zone. */
#define AGGR_MAX_WILD  16

struct aggr_nsec {
	ldns_rr *nsec;      /* owned */
	ldns_rr_list *sigs; /* its RRSIGs, owned */
	int64_t expires;    /* end of its TTL (what is served counts down to it) */
	int64_t use_until;  /* end of its use for synthesis (RFC 9077 §3) */
};

struct aggr_wild {
	ldns_rr_list *rrs; /* the RRset at "*.<parent>" and its RRSIGs, owned */
	uint16_t type;     /* its type */
	uint8_t labels;    /* the RRSIGs' labels field (labels of the parent) */
	int64_t expires;   /* end of the shortest TTL */
};

struct aggr_zone {
	struct aggr_wild wild[AGGR_MAX_WILD]; /* wildcard RRsets, unordered */
	size_t n_wild;
	ldns_rdf *apex;    /* owned, canonical */
	ldns_rr_list *soa; /* SOA + RRSIGs, owned */
	int64_t soa_expires;
	uint32_t neg_ttl;    /* SOA MINIMUM capped by the SOA TTL (RFC 2308 §5) */
	struct aggr_nsec *v; /* sorted by owner in canonical order */
	size_t n, cap;
};

struct ost_val_aggr {
	struct aggr_zone zones[AGGR_MAX_ZONES];
	size_t n_zones;
};

static void zone_clear(struct aggr_zone *z)
{
	ldns_rdf_deep_free(z->apex);
	ldns_rr_list_deep_free(z->soa);
	for (size_t i = 0; i < z->n; i++) {
		ldns_rr_free(z->v[i].nsec);
		ldns_rr_list_deep_free(z->v[i].sigs);
	}
	for (size_t i = 0; i < z->n_wild; i++)
		ldns_rr_list_deep_free(z->wild[i].rrs);
	free(z->v);
	memset(z, 0, sizeof(*z));
}

void ost_val_aggr_free(struct ost_val_aggr *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_zones; i++)
		zone_clear(&a->zones[i]);
	free(a);
}

static struct aggr_zone *zone_get(struct ost_val_aggr *a, const ldns_rdf *apex, bool create)
{
	for (size_t i = 0; i < a->n_zones; i++)
		if (ldns_dname_compare(a->zones[i].apex, apex) == 0)
			return &a->zones[i];
	if (!create || a->n_zones == AGGR_MAX_ZONES)
		return NULL;
	struct aggr_zone *z = &a->zones[a->n_zones];
	memset(z, 0, sizeof(*z));
	z->apex = ldns_rdf_clone(apex);
	if (!z->apex)
		return NULL;
	ldns_dname2canonical(z->apex);
	a->n_zones++;
	return z;
}

/* Index of the first entry whose owner is >= @p name. */
static size_t lower_bound(const struct aggr_zone *z, const ldns_rdf *name)
{
	size_t lo = 0, hi = z->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ldns_dname_compare(ldns_rr_owner(z->v[mid].nsec), name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static ldns_rr_list *sigs_over(const ldns_rr_list *l, const ldns_rr *rr)
{
	ldns_rr_list *sel = ost_val_sigs_for(l, ldns_rr_owner(rr), ldns_rr_get_type(rr));
	ldns_rr_list *out = sel ? ldns_rr_list_clone(sel) : NULL;

	ldns_rr_list_free(sel);
	return out;
}

static uint32_t ttl_of(const ldns_rr *rr, const ldns_rr_list *sigs, int64_t now)
{
	uint32_t ttl = ldns_rr_ttl(rr);

	for (size_t i = 0; sigs && i < ldns_rr_list_rr_count(sigs); i++) {
		const ldns_rr *s = ldns_rr_list_rr(sigs, i);
		int64_t left = (int64_t)ldns_rdf2native_int32(ldns_rr_rdf(s, 4)) - now;

		if (ldns_rr_ttl(s) < ttl)
			ttl = ldns_rr_ttl(s);
		if (left >= 0 && left < ttl)
			ttl = (uint32_t)left;
	}
	return ttl;
}

void ost_val_aggr_store(struct ost_resolver *r, const ldns_rdf *zone, const ldns_rr_list *nsecs,
			const ldns_rr_list *all, int64_t now)
{
	struct ost_val_aggr *a;
	struct aggr_zone *z;
	const ldns_rr *soa = NULL;

	if (!r->val)
		return;
	if (!r->val->aggr) {
		r->val->aggr = calloc(1, sizeof(*r->val->aggr));
		if (!r->val->aggr)
			return;
	}
	a = r->val->aggr;
	for (size_t i = 0; i < ldns_rr_list_rr_count(all) && !soa; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(all, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7 &&
		    ldns_dname_compare(ldns_rr_owner(rr), zone) == 0)
			soa = rr;
	}
	/* The zone's SOA may come later (a referral's no-DS proof has none);
	 * nothing is synthesised until it has one. */
	z = zone_get(a, zone, true);
	if (!z)
		return;
	if (soa) {
		/* The SOA came with the validated proof (its RRSIG was checked
		 * with the NSECs by the caller). */
		ldns_rr_list *s = sigs_over(all, soa);
		ldns_rr *c = ldns_rr_clone(soa);
		uint32_t m = ldns_rdf2native_int32(ldns_rr_rdf(soa, 6));

		if (!s || !c || !ldns_rr_list_push_rr(s, c)) {
			ldns_rr_list_deep_free(s);
			ldns_rr_free(c);
			return;
		}
		ldns_rr_list_deep_free(z->soa);
		z->soa = s;
		z->soa_expires = now + ttl_of(soa, s, now);
		z->neg_ttl = m < ldns_rr_ttl(soa) ? m : ldns_rr_ttl(soa);
	}
	for (size_t i = 0; i < ldns_rr_list_rr_count(nsecs); i++) {
		const ldns_rr *n = ldns_rr_list_rr(nsecs, i);
		size_t k;

		if (ldns_rr_get_type(n) != LDNS_RR_TYPE_NSEC)
			continue;
		k = lower_bound(z, ldns_rr_owner(n));
		if (k < z->n &&
		    ldns_dname_compare(ldns_rr_owner(z->v[k].nsec), ldns_rr_owner(n)) == 0) {
			ldns_rr_free(z->v[k].nsec);
			ldns_rr_list_deep_free(z->v[k].sigs);
		} else {
			if (z->n == AGGR_MAX_NSEC)
				continue; /* full: keep what we have */
			if (z->n == z->cap) {
				size_t nc = z->cap ? z->cap * 2 : 16;
				struct aggr_nsec *nv = realloc(z->v, nc * sizeof(*nv));

				if (!nv)
					return;
				z->v = nv;
				z->cap = nc;
			}
			memmove(&z->v[k + 1], &z->v[k], (z->n - k) * sizeof(z->v[0]));
			z->n++;
		}
		z->v[k].nsec = ldns_rr_clone(n);
		z->v[k].sigs = sigs_over(all, n);
		z->v[k].expires = now + ttl_of(n, z->v[k].sigs, now);
		/* RFC 9077 §3: a span is used no longer than the zone's negative
		 * TTL (the SOA's, when known). */
		z->v[k].use_until = z->v[k].expires;
		if (z->soa && z->v[k].use_until > now + z->neg_ttl)
			z->v[k].use_until = now + z->neg_ttl;
		if (!z->v[k].nsec || !z->v[k].sigs) {
			ldns_rr_free(z->v[k].nsec);
			ldns_rr_list_deep_free(z->v[k].sigs);
			memmove(&z->v[k], &z->v[k + 1], (z->n - k - 1) * sizeof(z->v[0]));
			z->n--;
		}
	}
}

/* The unexpired NSEC of @p z at or before @p name in canonical order (the
 * one whose span could cover it), wrapping to the last one. */
static const struct aggr_nsec *span_for(const struct aggr_zone *z, const ldns_rdf *name,
					int64_t now)
{
	size_t k = lower_bound(z, name);

	if (k < z->n && ldns_dname_compare(ldns_rr_owner(z->v[k].nsec), name) == 0)
		return z->v[k].use_until > now ? &z->v[k] : NULL;
	k = k ? k - 1 : z->n - 1;
	return z->n && z->v[k].use_until > now ? &z->v[k] : NULL;
}

static int push_clones(ldns_rr_list *dst, const ldns_rr_list *src, uint32_t ttl)
{
	for (size_t i = 0; src && i < ldns_rr_list_rr_count(src); i++) {
		ldns_rr *c = ldns_rr_clone(ldns_rr_list_rr(src, i));

		if (!c || !ldns_rr_list_push_rr(dst, c)) {
			ldns_rr_free(c);
			return -ENOMEM;
		}
		ldns_rr_set_ttl(c, ttl);
	}
	return 0;
}

static bool listed(const ldns_rr_list *l, const ldns_rr *rr)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_list_rr(l, i) == rr)
			return true;
	return false;
}

/* A copy of @p rr with owner @p owner. */
static ldns_rr *renamed(const ldns_rr *rr, const ldns_rdf *owner)
{
	ldns_rr *c = ldns_rr_clone(rr);
	ldns_rdf *o = ldns_rdf_clone(owner);

	if (!c || !o) {
		ldns_rr_free(c);
		ldns_rdf_deep_free(o);
		return NULL;
	}
	ldns_rdf_deep_free(ldns_rr_owner(c));
	ldns_rr_set_owner(c, o);
	return c;
}

void ost_val_aggr_store_wildcard(struct ost_resolver *r, const ldns_rdf *zone,
				 const ldns_rr_list *answer, const ldns_rdf *owner, uint16_t type,
				 uint8_t labels, int64_t now)
{
	struct ost_val_aggr *a = r->val ? r->val->aggr : NULL;
	struct aggr_zone *z;
	ldns_rr_list *set, *sigs, *rrs;
	ldns_rdf *wc = NULL, *parent;
	struct aggr_wild *w = NULL;
	int64_t expires = INT64_MAX;
	bool ok;

	/* the spans proving the expansion were kept first: the zone exists */
	if (!a || !(z = zone_get(a, zone, false)) || labels >= ldns_dname_label_count(owner))
		return;
	parent = ldns_dname_clone_from(owner, ldns_dname_label_count(owner) - labels);
	wc = ldns_dname_new_frm_str("*");
	ok = parent && wc && ldns_dname_cat(wc, parent) == LDNS_STATUS_OK;
	ldns_rdf_deep_free(parent);
	set = ok ? ost_val_rrset_of(answer, owner, type) : NULL;
	sigs = ok ? ost_val_sigs_for(answer, owner, type) : NULL;
	rrs = ldns_rr_list_new();
	ok = set && sigs && rrs && ldns_rr_list_rr_count(set) > 0;
	for (size_t k = 0; ok && k < 2; k++) {
		const ldns_rr_list *l = k ? sigs : set;

		for (size_t i = 0; ok && i < ldns_rr_list_rr_count(l); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(l, i);
			ldns_rr *c = renamed(rr, wc);
			/* the data lives no longer than its signatures are valid */
			uint32_t ttl = ttl_of(rr, k ? NULL : sigs, now);

			ok = c && ldns_rr_list_push_rr(rrs, c);
			if (!ok)
				ldns_rr_free(c);
			if (now + ttl < expires)
				expires = now + ttl;
		}
	}
	ldns_rr_list_free(set);
	ldns_rr_list_free(sigs);
	ldns_rdf_deep_free(wc);
	if (!ok) {
		ldns_rr_list_deep_free(rrs);
		return;
	}
	/* replace the same (wildcard, type), else a free or the oldest slot */
	for (size_t i = 0; i < z->n_wild && !w; i++)
		if (z->wild[i].type == type &&
		    ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(z->wild[i].rrs, 0)),
				       ldns_rr_owner(ldns_rr_list_rr(rrs, 0))) == 0)
			w = &z->wild[i];
	if (!w && z->n_wild < AGGR_MAX_WILD)
		w = &z->wild[z->n_wild++];
	if (!w) {
		/* full: the one that expires first makes room */
		w = &z->wild[0];
		for (size_t i = 1; i < z->n_wild; i++)
			if (z->wild[i].expires < w->expires)
				w = &z->wild[i];
	}
	if (w->rrs)
		ldns_rr_list_deep_free(w->rrs);
	*w = (struct aggr_wild){.rrs = rrs, .type = type, .labels = labels, .expires = expires};
}

/*
 * RFC 8198 §5.3: answer @p name from a kept wildcard RRset when the span
 * covering the name proves it does not exist and that the wildcard's parent
 * is its closest encloser (the check of a wildcard answer from the wire). A
 * CNAME goes on through the cache (stash.c); when the chain does not end
 * there, nothing is answered and the task resolves as usual.
 */
static bool wildcard_answer(struct ost_task *t, struct aggr_zone *z, const ldns_rdf *name,
			    int64_t now)
{
	struct ost_resolver *r = t->r;
	const struct aggr_nsec *s = span_for(z, name, now);
	const struct aggr_wild *w = NULL;
	struct ost_val_ctx c;
	struct ost_val_verdict v;
	ldns_rr_list *cand;
	ldns_rdf *target = NULL, *sname = t->sname;
	size_t n_an = ldns_rr_list_rr_count(t->answer), n_ns = ldns_rr_list_rr_count(t->auth);
	unsigned n_cname = t->n_cname;
	uint8_t sec = t->sec;
	int64_t until;
	bool ok = false;

	if (!s)
		return false;
	/* the deepest kept wildcard above the name with the type or a CNAME */
	for (size_t i = 0; i < z->n_wild; i++) {
		const struct aggr_wild *k = &z->wild[i];
		const ldns_rdf *o = ldns_rr_owner(ldns_rr_list_rr(k->rrs, 0));
		ldns_rdf *parent = ldns_dname_left_chop(o);
		bool above = parent && ldns_dname_is_subdomain(name, parent);

		ldns_rdf_deep_free(parent);
		if (!above || k->expires <= now ||
		    (k->type != t->qtype && k->type != LDNS_RR_TYPE_CNAME))
			continue;
		if (!w || k->labels > w->labels || (k->labels == w->labels && k->type == t->qtype))
			w = k;
	}
	if (!w)
		return false;
	cand = ldns_rr_list_new();
	if (!cand || !ldns_rr_list_push_rr(cand, s->nsec)) {
		ldns_rr_list_free(cand);
		return false;
	}
	ost_val_ctx_init(&c, &r->cfg.val_limits, now);
	ok = ost_nsec_denial(&c, OST_DENY_WILDCARD, name, t->qtype, z->apex, cand, w->labels, &v) ==
	     OST_SEC_SECURE;
	ldns_rr_list_free(cand);
	if (!ok)
		return false;
	/* served no longer than the shortest of the wildcard and its proof */
	until = w->expires < s->expires ? w->expires : s->expires;
	for (size_t i = 0; ok && i < ldns_rr_list_rr_count(w->rrs); i++) {
		ldns_rr *rr = renamed(ldns_rr_list_rr(w->rrs, i), name);

		ok = rr && ldns_rr_list_push_rr(t->answer, rr);
		if (!ok) {
			ldns_rr_free(rr);
			break;
		}
		ldns_rr_set_ttl(rr, (uint32_t)(until - now));
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME)
			target = ldns_rr_rdf(rr, 0);
	}
	{
		ldns_rr *nc = ok ? ldns_rr_clone(s->nsec) : NULL;

		ok = nc && ldns_rr_list_push_rr(t->auth, nc);
		if (!ok)
			ldns_rr_free(nc);
		else
			ldns_rr_set_ttl(nc, (uint32_t)(s->expires - now));
		if (ok && push_clones(t->auth, s->sigs, (uint32_t)(s->expires - now)) != 0)
			ok = false;
	}
	t->rcode = LDNS_RCODE_NOERROR;
	if (ok && t->qtype != LDNS_RR_TYPE_CNAME && w->type == LDNS_RR_TYPE_CNAME) {
		/* the rest of the chain, from the cache only */
		ok = target && t->n_cname++ < r->cfg.max_cname;
		if (ok)
			t->sname = target;
		ok = ok && ost_stash_answer(t) && t->rcode != LDNS_RCODE_SERVFAIL;
	}
	if (!ok) {
		ldns_rr *rr;

		while (ldns_rr_list_rr_count(t->answer) > n_an &&
		       (rr = ldns_rr_list_pop_rr(t->answer)) != NULL)
			ldns_rr_free(rr);
		while (ldns_rr_list_rr_count(t->auth) > n_ns &&
		       (rr = ldns_rr_list_pop_rr(t->auth)) != NULL)
			ldns_rr_free(rr);
		t->sname = sname;
		t->n_cname = n_cname;
		t->sec = sec;
		t->rcode = 0;
		t->src = OST_SRC_UPSTREAM;
		return false;
	}
	return true;
}

bool ost_val_aggr_answer(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	struct ost_val_aggr *a = r->val ? r->val->aggr : NULL;
	struct aggr_zone *z = NULL;
	const ldns_rdf *name = t->sname;
	struct ost_val_ctx c;
	struct ost_val_verdict v;
	ldns_rr_list *cand = NULL;
	int64_t now;
	int64_t copy_until = 0; /* wall time a whole-answer copy may last to */
	uint8_t rcode = 0;
	bool ok = false;

	if (!a || !r->cfg.validation || (t->flags & OST_RF_CD) || t->parent ||
	    t->qclass != LDNS_RR_CLASS_IN || t->qtype == LDNS_RR_TYPE_ANY)
		return false;
	now = ost_clock_wall_s(r->clock);
	/* the deepest zone we hold spans for that encloses the name */
	for (size_t i = 0; i < a->n_zones; i++) {
		struct aggr_zone *k = &a->zones[i];

		if ((ldns_dname_compare(name, k->apex) == 0 ||
		     ldns_dname_is_subdomain(name, k->apex)) &&
		    (!z || ldns_dname_label_count(k->apex) > ldns_dname_label_count(z->apex)))
			z = k;
	}
	if (!z || !z->soa || z->soa_expires <= now || z->n == 0)
		return false;
	/* A negative trust anchor may have appeared since the spans were kept. */
	{
		const struct ost_ta *ta;

		if (ost_ta_lookup(r->val->ta, name, now, &ta) != OST_TA_ANCHOR)
			return false;
	}
	/* Candidates: the span at or before the name, and the span at or
	 * before each wildcard "*.<ancestor>" down to the apex. */
	cand = ldns_rr_list_new();
	if (!cand)
		return false;
	{
		const struct aggr_nsec *s = span_for(z, name, now);

		if (s)
			ldns_rr_list_push_rr(cand, s->nsec);
	}
	for (unsigned l = ldns_dname_label_count(name); l >= ldns_dname_label_count(z->apex) && l;
	     l--) {
		ldns_rdf *anc = ldns_dname_clone_from(name, ldns_dname_label_count(name) - l);
		ldns_rdf *wc = ldns_dname_new_frm_str("*");
		const struct aggr_nsec *s = NULL;

		if (anc && wc && ldns_dname_cat(wc, anc) == LDNS_STATUS_OK)
			s = span_for(z, wc, now);
		if (s && !listed(cand, s->nsec))
			ldns_rr_list_push_rr(cand, s->nsec);
		ldns_rdf_deep_free(anc);
		ldns_rdf_deep_free(wc);
		if (l == ldns_dname_label_count(z->apex))
			break;
	}
	if (ldns_rr_list_rr_count(cand) == 0)
		goto out;
	ost_val_ctx_init(&c, &r->cfg.val_limits, now);
	if (ost_nsec_denial(&c, OST_DENY_NXDOMAIN, name, t->qtype, z->apex, cand, 0, &v) ==
	    OST_SEC_SECURE)
		rcode = LDNS_RCODE_NXDOMAIN;
	else if (ost_nsec_denial(&c, OST_DENY_NODATA, name, t->qtype, z->apex, cand, 0, &v) ==
		 OST_SEC_SECURE)
		rcode = LDNS_RCODE_NOERROR;
	else if (wildcard_answer(t, z, name, now))
		goto synthesised;
	else
		goto out;
	/* A NODATA at an existing name needs only that name's NSEC. */
	if (rcode == LDNS_RCODE_NOERROR) {
		for (size_t i = 0; i < ldns_rr_list_rr_count(cand); i++) {
			ldns_rr *n = ldns_rr_list_rr(cand, i);

			if (ldns_dname_compare(ldns_rr_owner(n), name) == 0) {
				ldns_rr_list_set_rr(cand, n, 0);
				while (ldns_rr_list_rr_count(cand) > 1)
					(void)ldns_rr_list_pop_rr(cand);
				break;
			}
		}
	}
	/* RFC 8198 §5.4: the SOA goes out with the negative TTL (RFC 2308 §5)
	 * and each NSEC with what is left of its own, counted down, as
	 * Unbound does (so the answer is no longer cacheable than its proof).
	 * A whole-answer copy for the hit path lives no longer than the
	 * shortest span used may be (use_until: RFC 9077 §3) nor the SOA. */
	{
		uint32_t ttl = z->neg_ttl;
		int64_t left = z->soa_expires - now;

		if (left < ttl)
			ttl = (uint32_t)left;
		if (push_clones(t->auth, z->soa, ttl) != 0)
			goto out;
		copy_until = z->soa_expires;
		for (size_t i = 0; i < z->n; i++) {
			uint32_t nt = (uint32_t)(z->v[i].expires - now);
			ldns_rr *nc;

			if (!listed(cand, z->v[i].nsec))
				continue;
			if (z->v[i].use_until < copy_until)
				copy_until = z->v[i].use_until;
			nc = ldns_rr_clone(z->v[i].nsec);
			if (!nc || !ldns_rr_list_push_rr(t->auth, nc)) {
				ldns_rr_free(nc);
				goto out;
			}
			ldns_rr_set_ttl(nc, nt);
			if (push_clones(t->auth, z->v[i].sigs, nt) != 0)
				goto out;
		}
	}
	t->rcode = rcode;
synthesised:
	t->src = OST_SRC_CACHE;
	/* A whole-answer copy (stash.c put_msg()) of a denial, so that repeats
	 * take the server's hit path, bounded by copy_until; none of a
	 * wildcard answer (copy_until 0). */
	t->is_built_from_cache = copy_until > now;
	t->msg_until = copy_until;
	if (t->sec == OST_SEC_UNCHECKED)
		t->sec = OST_SEC_SECURE;
	r->stats.aggressive_nsec++;
	ok = true;
out:
	ldns_rr_list_free(cand);
	return ok;
}
