/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The validator inside the engine: when a client's resolution has its final
 * answer (OST_TS_VALIDATE), decide secure, insecure or bogus (RFC 4035 §5).
 *
 * Each answer RRset, and the negative proof of NXDOMAIN/NODATA answers, is
 * checked with the DNSKEYs of the zone that signed it. Those keys come from a
 * walk down the chain of trust: from the closest trust anchor (the DNSKEY
 * RRset fetched and checked against the anchor), one label at a time toward
 * the signer, a DS fetch per label, checked with the keys above: a DS RRset
 * makes the label a secure zone (its DNSKEY RRset is fetched and checked
 * against the DS), a proven insecure delegation ends the walk as insecure, a
 * proven NODATA without NS means "not a zone cut, go on". The fetches are
 * ordinary sub-requests with CD=1 (so they do not validate themselves) and go
 * through the cache; their conclusions are kept in a per-resolver cache of
 * zone keys for their TTL, so a DNSKEY RRset is verified once, not per query.
 *
 * The walk goes down by one label per step from the anchor, so a DS "loop"
 * cannot exist; a DS or proof signed by another zone than the one above is
 * bogus; the number of fetches and the crypto work per request are bounded
 * (enum limits below and struct ost_val_limits).
 * A check that could not be done (OpenSSL or memory failed, validate_sig.c)
 * is no verdict: SERVFAIL with EDE 0 (ost_val_fail_internal()), nothing cached.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/log.h"

#include "internal.h"
#include "validate.h"

/** DS/DNSKEY fetches per request (a 10-label chain needs about 20). */
#define MAX_FETCH    24
/** Zones remembered per resolver. */
#define KC_MAX       1024
/** Longest time a zone's conclusion is kept (shorter when TTLs say so). */
#define KC_MAX_TTL   3600
/** RFC 9520 §3.2: failures are kept at least 1 s, at most 5 min. */
#define KC_BOGUS_TTL 30

/** What the resolver knows about one name on a chain of trust. */
enum kc_kind {
	KC_SECURE = 0, /**< a secure zone; keys = its validated DNSKEY RRset */
	KC_DS,         /**< a validated DS RRset; the DNSKEY RRset is not checked yet */
	KC_INSECURE,   /**< a proven insecure delegation (or unsupported algorithms) */
	KC_NOTCUT,     /**< proven not to be a zone cut: the zone above goes on */
	KC_BOGUS,      /**< the chain is broken here */
};

struct kc_entry {
	ldns_rdf *name; /* canonical */
	enum kc_kind kind;
	ldns_rr_list *rrs; /* KC_SECURE: DNSKEYs; KC_DS: DS records (owned) */
	int64_t expires;   /* wall clock */
	uint16_t ede;      /* KC_BOGUS / KC_INSECURE reason */
	char text[OST_VAL_TEXT_MAX];
	struct kc_entry *next;
};


/** One request's validation state, in the task's arena. */
struct ost_val_task {
	struct ost_val_ctx ctx;
	size_t next_item; /* items of the answer already concluded */
	uint8_t sec;      /* conclusion so far (worst of the items) */
	bool have_sec;
	ldns_rdf *f_name; /* fetch in flight */
	uint16_t f_type;
	ldns_rdf *f_zone; /* for a DS fetch: the zone whose keys check it */
	unsigned n_fetch;
	bool failed; /* a fetch failed: SERVFAIL with f_ede */
	uint16_t f_ede;
	char f_text[OST_VAL_TEXT_MAX];
};

/* ---- the zone-key cache ---- */

static void kc_free(struct kc_entry *e)
{
	ldns_rdf_deep_free(e->name);
	ldns_rr_list_deep_free(e->rrs);
	free(e);
}

static struct kc_entry *kc_get(struct ost_val_res *vr, const ldns_rdf *name, int64_t now)
{
	for (struct kc_entry **pp = &vr->head; *pp;) {
		struct kc_entry *e = *pp;

		if (e->expires <= now) {
			*pp = e->next;
			kc_free(e);
			vr->n--;
			continue;
		}
		if (ldns_dname_compare(e->name, name) == 0)
			return e;
		pp = &e->next;
	}
	return NULL;
}

/* Remember @p kind for @p name for @p ttl seconds; takes ownership of @p rrs. */
static void kc_put(struct ost_val_res *vr, const ldns_rdf *name, enum kc_kind kind,
		   ldns_rr_list *rrs, int64_t now, uint32_t ttl, const struct ost_val_verdict *v)
{
	struct kc_entry *e = kc_get(vr, name, now);

	if (!e) {
		if (vr->n >= KC_MAX) {
			/* Drop the oldest (the list's tail): simple and bounded. */
			struct kc_entry **pp = &vr->head;

			while ((*pp)->next)
				pp = &(*pp)->next;
			kc_free(*pp);
			*pp = NULL;
			vr->n--;
		}
		e = calloc(1, sizeof(*e));
		if (!e || !(e->name = ldns_rdf_clone(name))) {
			free(e);
			ldns_rr_list_deep_free(rrs);
			return;
		}
		ldns_dname2canonical(e->name);
		e->next = vr->head;
		vr->head = e;
		vr->n++;
	} else {
		ldns_rr_list_deep_free(e->rrs);
	}
	e->kind = kind;
	e->rrs = rrs;
	e->expires = now + (ttl ? ttl : 1);
	e->ede = v && v->has_ede ? v->ede : 0;
	snprintf(e->text, sizeof(e->text), "%s", v ? v->text : "");
}

/* TTL to keep a conclusion drawn from @p rrs: the smallest TTL, capped,
 * and never beyond the earliest RRSIG expiration. */
static uint32_t kc_ttl(const ldns_rr_list *rrs, int64_t now)
{
	uint32_t ttl = KC_MAX_TTL;

	for (size_t i = 0; rrs && i < ldns_rr_list_rr_count(rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrs, i);

		if (ldns_rr_ttl(rr) < ttl)
			ttl = ldns_rr_ttl(rr);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && ldns_rr_rd_count(rr) >= 5) {
			int64_t left = (int64_t)ldns_rdf2native_int32(ldns_rr_rdf(rr, 4)) - now;

			if (left >= 0 && left < ttl)
				ttl = (uint32_t)left;
		}
	}
	return ttl;
}

int ost_val_resolver_init(struct ost_resolver *r)
{
	struct ost_val_res *vr;
	int ret;

	if (!r->cfg.validation)
		return 0;
	vr = calloc(1, sizeof(*vr));
	if (!vr)
		return -ENOMEM;
	vr->ta = r->cfg.anchors;
	if (!vr->ta) {
		/* No configured anchors: the built-in IANA root anchors. */
		if ((ret = ost_ta_store_new(&vr->ta)) != 0 ||
		    (ret = ost_ta_add_builtin_root(vr->ta)) != 0) {
			ost_ta_store_free(vr->ta);
			free(vr);
			return ret;
		}
		vr->own_ta = true;
	}
	if ((ret = ost_val_crypto_init(&vr->crypto, 0)) != 0) {
		if (vr->own_ta)
			ost_ta_store_free(vr->ta);
		free(vr);
		return ret;
	}
	r->val = vr;
	return 0;
}

void ost_val_resolver_deinit(struct ost_resolver *r)
{
	struct ost_val_res *vr = r->val;

	if (!vr)
		return;
	while (vr->head) {
		struct kc_entry *e = vr->head;

		vr->head = e->next;
		kc_free(e);
	}
	if (vr->own_ta)
		ost_ta_store_free(vr->ta);
	ost_val_aggr_free(vr->aggr);
	ost_val_crypto_deinit(&vr->crypto);
	free(vr);
	r->val = NULL;
}

/* ---- helpers ---- */

static bool same_name(const ldns_rdf *a, const ldns_rdf *b)
{
	return ldns_dname_compare(a, b) == 0;
}

static bool name_under(const ldns_rdf *name, const ldns_rdf *zone)
{
	return ost_dname_under(name, zone);
}

/* The signer of the first RRSIG in @p l over (@p owner, @p type), or NULL. */
static const ldns_rdf *signer_of(const ldns_rr_list *l, const ldns_rdf *owner, uint16_t type)
{
	for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && ldns_rr_rd_count(rr) == 9 &&
		    ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == type &&
		    same_name(ldns_rr_owner(rr), owner))
			return ldns_rr_rrsig_signame(rr);
	}
	return NULL;
}

static int64_t now_of(const struct ost_task *t)
{
	return ost_clock_wall_s(t->r->clock);
}

/* Worst-of: bogus > indeterminate > insecure > secure. */
static void merge(struct ost_val_task *vt, uint8_t sec)
{
	static const int order[OST_SEC_COUNT] = {
		[OST_SEC_SECURE] = 0, [OST_SEC_INSECURE] = 1,  [OST_SEC_INDETERMINATE] = 2,
		[OST_SEC_BOGUS] = 3,  [OST_SEC_UNCHECKED] = 2,
	};

	if (!vt->have_sec || order[sec] > order[vt->sec])
		vt->sec = sec;
	vt->have_sec = true;
}

/* ---- the walk down the chain of trust ---- */

enum walk {
	W_SECURE = 0, /* *keys hold the validated DNSKEYs of the zone reached */
	W_FETCH,      /* vt->f_* says what to fetch */
	W_INSECURE,
	W_INDETERMINATE,
	W_BOGUS, /* v says why */
};

static enum walk fetch(struct ost_task *t, const ldns_rdf *name, uint16_t type,
		       const ldns_rdf *zone, struct ost_val_verdict *v)
{
	struct ost_val_task *vt = t->val;

	vt->f_name = ost_arena_rdf(&t->arena, ldns_rdf_clone(name));
	vt->f_zone = zone ? ost_arena_rdf(&t->arena, ldns_rdf_clone(zone)) : NULL;
	vt->f_type = type;
	if (!vt->f_name || (zone && !vt->f_zone)) {
		ost_val_internal(&vt->ctx, v, "out of memory");
		return W_BOGUS;
	}
	return W_FETCH;
}

static void feed_ds_data(struct ost_task *t, const ldns_rdf *name, const ldns_rdf *zone,
			 uint8_t rcode, const ldns_rr_list *answer, const ldns_rr_list *auth);

/* The DS RRset or no-DS proof a referral to @p name carried, or NULL. */
static const ldns_rr_list *referral_proof(const struct ost_task *t, const ldns_rdf *name)
{
	for (const struct ost_cut *k = t->seen; k; k = k->seen) {
		if (k->dsproof && ldns_rr_list_rr_count(k->dsproof) > 0 && same_name(k->name, name))
			return k->dsproof;
	}
	return NULL;
}

/* Use the referral's DS data for @p n, checked with @p zone's keys.
 * @return true when it led to a conclusion about @p n */
static bool use_referral(struct ost_task *t, const ldns_rdf *n, const ldns_rdf *zone)
{
	const ldns_rr_list *rp = referral_proof(t, n);
	ldns_rr_list *empty;
	ldns_rdf *z;
	bool has_ds = false;

	if (!rp)
		return false;
	for (size_t i = 0; i < ldns_rr_list_rr_count(rp); i++)
		has_ds |= ldns_rr_get_type(ldns_rr_list_rr(rp, i)) == LDNS_RR_TYPE_DS;
	empty = ldns_rr_list_new();
	z = ldns_rdf_clone(zone); /* the cache entry owning @p zone may be replaced */
	if (empty && z)
		feed_ds_data(t, n, z, LDNS_RCODE_NOERROR, has_ds ? rp : empty, has_ds ? empty : rp);
	ldns_rr_list_free(empty);
	ldns_rdf_deep_free(z);
	return kc_get(t->r->val, n, now_of(t)) != NULL;
}

/*
 * Walk from the closest anchor toward @p target. With @p must_be_zone the
 * target is a signer and must turn out to be a zone; otherwise (an unsigned
 * RRset's owner) the walk stops at the deepest zone above it.
 */
static enum walk walk(struct ost_task *t, const ldns_rdf *target, bool must_be_zone,
		      const ldns_rr_list **keys, const ldns_rdf **zone, struct ost_val_verdict *v)
{
	struct ost_val_res *vr = t->r->val;
	int64_t now = now_of(t);
	const struct ost_ta *ta = NULL;
	struct kc_entry *e, *cur;
	char buf[64];
	unsigned tl = ldns_dname_label_count(target);

	unsigned restarts = 0;

restart:
	switch (ost_ta_lookup(vr->ta, target, now, &ta)) {
	case OST_TA_NONE:
		ost_val_set(v, OST_SEC_INDETERMINATE, 0, "no trust anchor above %s",
			    ost_dname_str(target, buf, sizeof(buf)));
		return W_INDETERMINATE;
	case OST_TA_NTA:
		ost_val_set(v, OST_SEC_INSECURE, 0, "negative trust anchor above %s",
			    ost_dname_str(target, buf, sizeof(buf)));
		return W_INSECURE;
	case OST_TA_ANCHOR:
		break;
	}
	cur = kc_get(vr, ta->owner, now);
	if (!cur)
		return fetch(t, ta->owner, LDNS_RR_TYPE_DNSKEY, NULL, v);
	for (unsigned l = ldns_dname_label_count(ta->owner) + 1;; l++) {
		if (cur->kind == KC_BOGUS) {
			ost_val_set(v, OST_SEC_BOGUS, cur->ede, "%s", cur->text);
			return W_BOGUS;
		}
		if (cur->kind == KC_INSECURE) {
			ost_val_set(v, OST_SEC_INSECURE, cur->ede, "%s", cur->text);
			v->has_ede = false;
			return W_INSECURE;
		}
		if (cur->kind == KC_DS)
			return fetch(t, cur->name, LDNS_RR_TYPE_DNSKEY, NULL, v);
		ost_require(cur->kind == KC_SECURE);
		if (l > tl)
			break;
		{
			ldns_rdf *n = ldns_dname_clone_from(target, tl - l);

			if (!n) {
				ost_val_internal(&t->val->ctx, v, "out of memory");
				return W_BOGUS;
			}
			e = kc_get(vr, n, now);
			if (!e && restarts++ < 128 && use_referral(t, n, cur->name)) {
				/* feeding may have replaced entries: start over */
				ldns_rdf_deep_free(n);
				goto restart;
			}
			if (!e) {
				enum walk w = fetch(t, n, LDNS_RR_TYPE_DS, cur->name, v);

				ldns_rdf_deep_free(n);
				return w;
			}
			ldns_rdf_deep_free(n);
		}
		if (e->kind == KC_NOTCUT) {
			if (l == tl && must_be_zone) {
				ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSKEY_MISSING,
					    "signer %s is not a zone",
					    ost_dname_str(target, buf, sizeof(buf)));
				return W_BOGUS;
			}
			continue;
		}
		cur = e;
	}
	*keys = cur->rrs;
	*zone = cur->name;
	return W_SECURE;
}

/* ---- feeding fetch results ---- */

/* A failed check of a fetched DS/DNSKEY (or proof) that is no verdict on the
 * zone (out of work, or not done: ost_val_internal()): no KC_BOGUS for it,
 * which would fail every query below the zone for the resolver's trouble. */
static bool no_verdict(const struct ost_val_task *vt, const struct ost_val_verdict *v)
{
	return vt->ctx.over_budget || vt->ctx.internal_error || v->is_internal;
}

/* This request ends SERVFAIL (ost_val_task_step()) without a verdict. */
static void fail_without_verdict(struct ost_val_task *vt, const struct ost_val_verdict *v)
{
	vt->failed = true; /* conclude() sees ctx.internal_error, if that is why */
	vt->f_ede = OST_EDE_DNSSEC_BOGUS;
	snprintf(vt->f_text, sizeof(vt->f_text), "%s", v->text);
}

/* Validate every NSEC/NSEC3 RRset (and the SOA) of @p l signed by @p zone;
 * @return the NSEC/NSEC3 records that verified (borrowed), or NULL when one
 * failed (then @p v says why). */
static ldns_rr_list *proof_records(struct ost_val_ctx *c, const ldns_rr_list *l,
				   const ldns_rdf *zone, const ldns_rr_list *keys,
				   struct ost_val_verdict *v)
{
	ldns_rr_list *out = ldns_rr_list_new();

	for (size_t i = 0; out && l && i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		uint16_t ty = ldns_rr_get_type(rr);
		ldns_rr_list *set;
		bool first = true;
		uint8_t sec;

		if (ty != LDNS_RR_TYPE_NSEC && ty != LDNS_RR_TYPE_NSEC3 && ty != LDNS_RR_TYPE_SOA)
			continue;
		for (size_t j = 0; j < i && first; j++)
			first = !(
				ldns_rr_get_type(ldns_rr_list_rr(l, j)) == ty &&
				same_name(ldns_rr_owner(ldns_rr_list_rr(l, j)), ldns_rr_owner(rr)));
		if (!first)
			continue;
		set = ost_val_rrset_of(l, ldns_rr_owner(rr), ty);
		sec = set ? ost_val_rrset(c, set, l, zone, keys, v)
			  : ost_val_internal(c, v, "out of memory");
		ldns_rr_list_free(set);
		if (sec != OST_SEC_SECURE) {
			ldns_rr_list_free(out);
			return NULL;
		}
		for (size_t j = 0; ty != LDNS_RR_TYPE_SOA && j < ldns_rr_list_rr_count(l); j++) {
			ldns_rr *o = ldns_rr_list_rr(l, j);

			if (ldns_rr_get_type(o) == ty &&
			    same_name(ldns_rr_owner(o), ldns_rr_owner(rr)))
				ldns_rr_list_push_rr(out, o);
		}
	}
	if (!out)
		ost_val_internal(c, v, "out of memory");
	return out;
}

static ldns_rr_list *clone_type(const ldns_rr_list *l, const ldns_rdf *owner, uint16_t type)
{
	ldns_rr_list *set = ost_val_rrset_of(l, owner, type);
	ldns_rr_list *out = set ? ldns_rr_list_clone(set) : NULL;

	ldns_rr_list_free(set);
	return out;
}

static void feed_dnskey(struct ost_task *t, const struct ost_task *c)
{
	struct ost_val_task *vt = t->val;
	struct ost_val_res *vr = t->r->val;
	int64_t now = now_of(t);
	struct ost_val_verdict v;
	struct kc_entry *e = kc_get(vr, vt->f_name, now);
	const struct ost_ta *ta = NULL;
	uint8_t sec;

	if (e && e->kind == KC_DS) {
		sec = ost_val_dnskey(&vt->ctx, vt->f_name, c->answer, c->answer, e->rrs, NULL, &v);
	} else if (ost_ta_lookup(vr->ta, vt->f_name, now, &ta) == OST_TA_ANCHOR &&
		   same_name(ta->owner, vt->f_name)) {
		sec = ost_val_dnskey_anchor(&vt->ctx, ta, c->answer, c->answer, &v);
	} else {
		return; /* the cache moved on meanwhile: the next step fetches again */
	}
	if (sec == OST_SEC_BOGUS && no_verdict(vt, &v)) {
		fail_without_verdict(vt, &v);
		return;
	}
	if (sec == OST_SEC_SECURE)
		kc_put(vr, vt->f_name, KC_SECURE,
		       clone_type(c->answer, vt->f_name, LDNS_RR_TYPE_DNSKEY), now,
		       kc_ttl(c->answer, now), NULL);
	else if (sec == OST_SEC_INSECURE)
		kc_put(vr, vt->f_name, KC_INSECURE, NULL, now, kc_ttl(c->answer, now), &v);
	else
		kc_put(vr, vt->f_name, KC_BOGUS, NULL, now, KC_BOGUS_TTL, &v);
}

/*
 * Conclude about @p name from a DS answer (@p answer) or its absence (the
 * proof in @p auth), checked with the keys of @p zone, the zone above.
 */
static void feed_ds_data(struct ost_task *t, const ldns_rdf *name, const ldns_rdf *zone,
			 uint8_t rcode, const ldns_rr_list *answer, const ldns_rr_list *auth)
{
	struct ost_val_task *vt = t->val;
	struct ost_val_res *vr = t->r->val;
	int64_t now = now_of(t);
	struct kc_entry *z = kc_get(vr, zone, now);
	const ldns_rr_list *keys;
	struct ost_val_verdict v;
	ldns_rr_list *set, *nsecs;
	const ldns_rdf *signer;
	char nb[64], zb[64];
	uint8_t sec;

	if (!z || z->kind != KC_SECURE)
		return;
	keys = z->rrs;
	ost_dname_str(name, nb, sizeof(nb));
	ost_dname_str(zone, zb, sizeof(zb));
	set = ost_val_rrset_of(answer, name, LDNS_RR_TYPE_DS);
	if (set && ldns_rr_list_rr_count(set) > 0) {
		signer = signer_of(answer, name, LDNS_RR_TYPE_DS);
		/* The DS lives in the zone above (RFC 4035 §5.2): signed by it. */
		if (signer && !same_name(signer, zone))
			sec = ost_val_set(&v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
					  "zone %s: DS for %s signed by another zone", zb, nb);
		else
			sec = ost_val_rrset(&vt->ctx, set, answer, zone, keys, &v);
		if (sec == OST_SEC_SECURE)
			kc_put(vr, name, KC_DS, ldns_rr_list_clone(set), now, kc_ttl(answer, now),
			       NULL);
		else if (!no_verdict(vt, &v))
			kc_put(vr, name, KC_BOGUS, NULL, now, KC_BOGUS_TTL, &v);
		ldns_rr_list_free(set);
		goto check_budget;
	}
	ldns_rr_list_free(set);
	if (rcode != LDNS_RCODE_NOERROR || ldns_rr_list_rr_count(answer) > 0) {
		/* NXDOMAIN for an ancestor of a signer, a CNAME at a zone cut,
		 * or a failure that came back as an answer. */
		ost_val_set(&v, OST_SEC_BOGUS, OST_EDE_DNSKEY_MISSING,
			    "zone %s: no DS answer for %s (rcode %u)", zb, nb, rcode);
		kc_put(vr, name, KC_BOGUS, NULL, now, KC_BOGUS_TTL, &v);
		return;
	}
	nsecs = proof_records(&vt->ctx, auth, zone, keys, &v);
	if (!nsecs) {
		if (!no_verdict(vt, &v))
			kc_put(vr, name, KC_BOGUS, NULL, now, KC_BOGUS_TTL, &v);
		goto check_budget;
	}
	/* RFC 4035 §5.2: NS without DS is an insecure delegation; a NODATA
	 * proof without NS means the name is inside the zone above. */
	sec = ost_val_denial(&vt->ctx, OST_DENY_NO_DS, name, LDNS_RR_TYPE_DS, zone, nsecs, 0, &v);
	if (sec == OST_SEC_INSECURE) {
		kc_put(vr, name, KC_INSECURE, NULL, now, kc_ttl(auth, now), &v);
		ost_val_aggr_store(t->r, zone, nsecs, auth, now);
	} else {
		sec = ost_val_denial(&vt->ctx, OST_DENY_NODATA, name, LDNS_RR_TYPE_DS, zone, nsecs,
				     0, &v);
		if (sec == OST_SEC_SECURE) {
			kc_put(vr, name, KC_NOTCUT, NULL, now, kc_ttl(auth, now), NULL);
			ost_val_aggr_store(t->r, zone, nsecs, auth, now);
		} else if (sec == OST_SEC_INSECURE)
			kc_put(vr, name, KC_INSECURE, NULL, now, kc_ttl(auth, now), &v);
		else if (!no_verdict(vt, &v))
			kc_put(vr, name, KC_BOGUS, NULL, now, KC_BOGUS_TTL, &v);
	}
	ldns_rr_list_free(nsecs);
check_budget:
	if (no_verdict(vt, &v))
		fail_without_verdict(vt, &v);
}

static void feed_ds(struct ost_task *t, const struct ost_task *c)
{
	struct ost_val_task *vt = t->val;

	feed_ds_data(t, vt->f_name, vt->f_zone, c->rcode, c->answer, c->auth);
}

void ost_val_task_feed(struct ost_task *t, const struct ost_task *child)
{
	struct ost_val_task *vt = t->val;
	char nb[64];

	if (ost_fails_assert(vt && vt->f_name))
		return;
	if (child->rcode == LDNS_RCODE_SERVFAIL || child->is_limit) {
		/* Not a verdict on the zone: the data could not be had. */
		vt->failed = true;
		/* RFC 8914 §4.10: no DNSKEY to be had for the zone is EDE 9. */
		vt->f_ede = vt->f_type == LDNS_RR_TYPE_DNSKEY ? OST_EDE_DNSKEY_MISSING
			    : child->has_ede                  ? child->ede
							      : OST_EDE_DNSSEC_BOGUS;
		snprintf(vt->f_text, sizeof(vt->f_text), "cannot fetch %s %s: %.60s",
			 ost_dname_str(vt->f_name, nb, sizeof(nb)),
			 vt->f_type == LDNS_RR_TYPE_DS ? "DS" : "DNSKEY", child->ede_text);
	} else if (vt->f_type == LDNS_RR_TYPE_DNSKEY) {
		feed_dnskey(t, child);
	} else {
		feed_ds(t, child);
	}
	vt->f_name = NULL;
	vt->f_zone = NULL;
}

/* ---- validating the answer ---- */

/* The DNSSEC records of @p t's authority section signed by @p zone, for a
 * wildcard or negative proof. */
static uint8_t prove(struct ost_task *t, enum ost_denial kind, const ldns_rdf *name, uint16_t qtype,
		     const ldns_rdf *zone, const ldns_rr_list *keys, uint8_t wc_labels,
		     struct ost_val_verdict *v)
{
	struct ost_val_task *vt = t->val;
	ldns_rr_list *nsecs = proof_records(&vt->ctx, t->auth, zone, keys, v);
	uint8_t sec;

	if (!nsecs)
		return OST_SEC_BOGUS;
	sec = ost_val_denial(&vt->ctx, kind, name, qtype, zone, nsecs, wc_labels, v);
	if (sec == OST_SEC_SECURE)
		ost_val_aggr_store(t->r, zone, nsecs, t->auth, now_of(t));
	ldns_rr_list_free(nsecs);
	return sec;
}

/*
 * One RRset of the answer. @return OST_SEC_* or 0xff when a fetch is needed.
 */
#define NEED_FETCH 0xff

static uint8_t check_rrset(struct ost_task *t, const ldns_rr *head, struct ost_val_verdict *v)
{
	struct ost_val_task *vt = t->val;
	const ldns_rdf *owner = ldns_rr_owner(head);
	uint16_t type = ldns_rr_get_type(head);
	const ldns_rdf *signer = signer_of(t->answer, owner, type);
	const ldns_rr_list *keys = NULL;
	const ldns_rdf *zone = NULL;
	ldns_rr_list *set;
	uint8_t sec;
	char ob[64];

	/* RFC 6672 §5.3.1: the CNAME synthesised from a signed DNAME carries
	 * no signature; the DNAME is what gets checked. */
	if (type == LDNS_RR_TYPE_CNAME && !signer) {
		for (size_t i = 0; i < ldns_rr_list_rr_count(t->answer); i++) {
			const ldns_rr *d = ldns_rr_list_rr(t->answer, i);

			if (ldns_rr_get_type(d) == LDNS_RR_TYPE_DNAME &&
			    ldns_dname_is_subdomain(owner, ldns_rr_owner(d)))
				return OST_SEC_SECURE;
		}
	}
	if (signer && !name_under(owner, signer))
		return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
				   "RRSIG over %s claims signer outside its name",
				   ost_dname_str(owner, ob, sizeof(ob)));
	/* Without a signature, the zone is the one whose servers answered
	 * (when the owner is inside it): its keys say whether the RRset had
	 * to be signed; only an insecure delegation on the way excuses it. A
	 * forwarder's cut says nothing about zones: then the walk goes toward
	 * the owner and stops at the deepest zone above it. */
	const ldns_rdf *target = signer ? signer
				 : t->cut && !t->cut->is_forward && name_under(owner, t->cut->name)
					 ? t->cut->name
					 : owner;
	switch (walk(t, target, signer != NULL, &keys, &zone, v)) {
	case W_FETCH:
		return NEED_FETCH;
	case W_INSECURE:
		return OST_SEC_INSECURE;
	case W_INDETERMINATE:
		return OST_SEC_INDETERMINATE;
	case W_BOGUS:
		return OST_SEC_BOGUS;
	case W_SECURE:
		break;
	}
	set = ost_val_rrset_of(t->answer, owner, type);
	if (!set)
		return ost_val_internal(&vt->ctx, v, "out of memory");
	sec = ost_val_rrset(&vt->ctx, set, t->answer, zone, keys, v);
	ldns_rr_list_free(set);
	if (sec == OST_SEC_SECURE && v->is_wildcard) {
		/* RFC 4035 §5.3.4: prove the name itself did not exist. */
		uint8_t wc = v->wc_labels;

		sec = prove(t, OST_DENY_WILDCARD, owner, type, zone, keys, wc, v);
		/* RFC 8198 §5.3: the wildcard answers other names later */
		if (sec == OST_SEC_SECURE)
			ost_val_aggr_store_wildcard(t->r, zone, t->answer, owner, type, wc,
						    now_of(t));
	}
	return sec;
}

/*
 * A negative answer for @p name that @p zone's own denial does not prove may
 * still lie below an insecure delegation of @p zone: an NSEC/NSEC3 of the
 * zone, kept from the reply whose CNAME led here, shows an ancestor of
 * @p name (or @p name itself) with NS and without DS (RFC 4035 §5.2). A
 * server that hosts parent and child together answers for the child with
 * the parent's SOA, which is how such answers arrive. @return
 * OST_SEC_INSECURE with @p v set, or 0 when no such proof is there.
 */
static uint8_t insecure_below(struct ost_task *t, const ldns_rdf *name, const ldns_rdf *zone,
			      const ldns_rr_list *keys, struct ost_val_verdict *v)
{
	struct ost_val_task *vt = t->val;
	unsigned zl = ldns_dname_label_count(zone), nl = ldns_dname_label_count(name);
	struct ost_val_verdict tmp;
	uint8_t sec = 0;

	if (nl <= zl)
		return 0;
	ldns_rr_list *nsecs = proof_records(&vt->ctx, t->auth, zone, keys, &tmp);
	if (!nsecs)
		return 0;
	for (unsigned l = zl + 1; l <= nl && sec == 0; l++) {
		ldns_rdf *a = ldns_dname_clone_from(name, nl - l);
		if (!a)
			break;
		if (ost_val_denial(&vt->ctx, OST_DENY_NO_DS, a, LDNS_RR_TYPE_DS, zone, nsecs, 0,
				   &tmp) == OST_SEC_INSECURE) {
			char ab[64];
			sec = ost_val_set(v, OST_SEC_INSECURE, 0, "insecure delegation %s",
					  ost_dname_str(a, ab, sizeof(ab)));
			v->has_ede = false;
		}
		ldns_rdf_deep_free(a);
	}
	ldns_rr_list_free(nsecs);
	return sec;
}

/* The negative part: NXDOMAIN or NODATA for t->sname. */
static uint8_t check_negative(struct ost_task *t, struct ost_val_verdict *v)
{
	const ldns_rr *soa = NULL;
	const ldns_rr_list *keys = NULL;
	const ldns_rdf *zone = NULL, *signer, *target;
	enum ost_denial kind;

	for (size_t i = 0; i < ldns_rr_list_rr_count(t->auth) && !soa; i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(t->auth, i)) == LDNS_RR_TYPE_SOA)
			soa = ldns_rr_list_rr(t->auth, i);
	signer = soa ? signer_of(t->auth, ldns_rr_owner(soa), LDNS_RR_TYPE_SOA) : NULL;
	/* Without an SOA, the signer of the denial records, else the zone
	 * whose servers answered. */
	for (size_t i = 0; !signer && i < ldns_rr_list_rr_count(t->auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(t->auth, i);
		uint16_t ty = ldns_rr_get_type(rr);

		if (ty == LDNS_RR_TYPE_NSEC || ty == LDNS_RR_TYPE_NSEC3)
			signer = signer_of(t->auth, ldns_rr_owner(rr), ty);
	}
	target = signer ? signer
		 : soa  ? ldns_rr_owner(soa)
		 : t->cut && !t->cut->is_forward && name_under(t->sname, t->cut->name)
			 ? t->cut->name
			 : t->sname;
	if (!name_under(t->sname, target))
		return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_NSEC_MISSING,
				   "negative answer from a zone above the name");
	switch (walk(t, target, signer != NULL, &keys, &zone, v)) {
	case W_FETCH:
		return NEED_FETCH;
	case W_INSECURE:
		return OST_SEC_INSECURE;
	case W_INDETERMINATE:
		return OST_SEC_INDETERMINATE;
	case W_BOGUS:
		return OST_SEC_BOGUS;
	case W_SECURE:
		break;
	}
	kind = t->rcode == LDNS_RCODE_NXDOMAIN ? OST_DENY_NXDOMAIN : OST_DENY_NODATA;
	uint8_t sec = prove(t, kind, t->sname, t->qtype, zone, keys, 0, v);
	if (sec == OST_SEC_BOGUS && !t->val->ctx.over_budget && !v->is_internal &&
	    insecure_below(t, t->sname, zone, keys, v) == OST_SEC_INSECURE)
		return OST_SEC_INSECURE;
	return sec;
}

static bool is_negative(const struct ost_task *t)
{
	size_t n = ldns_rr_list_rr_count(t->answer);
	const ldns_rdf *name = t->qname;

	if (t->rcode == LDNS_RCODE_NXDOMAIN)
		return true;
	if (n == 0)
		return true;
	/* Follow the CNAME chain of the answer from the question: a chain
	 * that ends without data of the type ends in NODATA. */
	for (size_t hop = 0; hop <= n; hop++) {
		const ldns_rdf *next = NULL;

		for (size_t i = 0; i < n; i++) {
			const ldns_rr *rr = ldns_rr_list_rr(t->answer, i);

			if (!ost_dname_eq(ldns_rr_owner(rr), name))
				continue;
			if (ldns_rr_get_type(rr) == t->qtype || t->qtype == LDNS_RR_TYPE_ANY)
				return false;
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) == 1)
				next = ldns_rr_rdf(rr, 0);
		}
		if (!next)
			break;
		name = next;
	}
	return ldns_rr_list_rr_count(t->auth) > 0;
}

/*
 * The other RRsets of a positive answer (the zone's NS and its servers'
 * addresses, with minimal responses off) are checked too when their signer's
 * keys are already known: a signed RRset that does not verify is removed
 * (as Unbound does), it never fails the answer, and no fetch is made for it.
 */
static void drop_bogus(struct ost_task *t, ldns_rr_list *l)
{
	struct ost_val_task *vt = t->val;

	for (size_t i = 0; i < ldns_rr_list_rr_count(l);) {
		ldns_rr *head = ldns_rr_list_rr(l, i);
		uint16_t type = ldns_rr_get_type(head);
		const ldns_rdf *signer, *zone = NULL;
		const ldns_rr_list *keys = NULL;
		struct ost_val_verdict v;
		ldns_rr_list *set;
		bool bogus = false;

		signer =
			type == LDNS_RR_TYPE_RRSIG ? NULL : signer_of(l, ldns_rr_owner(head), type);
		if (signer && name_under(ldns_rr_owner(head), signer) &&
		    walk(t, signer, true, &keys, &zone, &v) == W_SECURE) {
			set = ost_val_rrset_of(l, ldns_rr_owner(head), type);
			bogus = set &&
				ost_val_rrset(&vt->ctx, set, l, zone, keys, &v) == OST_SEC_BOGUS;
			ldns_rr_list_free(set);
		}
		if (!bogus) {
			i++;
			continue;
		}
		/* one that could not be checked goes too: never served unchecked */
		ost_log(OST_LOG_INFO, "validator", "dropped %s %s",
			v.is_internal ? "unchecked" : "bogus", v.text);
		/* remove the RRset and its RRSIGs, keeping the order of the rest */
		ldns_rdf *owner = ldns_rdf_clone(ldns_rr_owner(head));
		size_t k = 0, n = ldns_rr_list_rr_count(l);

		for (size_t j = 0; j < n; j++) {
			ldns_rr *rr = ldns_rr_list_rr(l, j);
			uint16_t ty = ldns_rr_get_type(rr);

			if (ty == LDNS_RR_TYPE_RRSIG && ldns_rr_rd_count(rr) == 9)
				ty = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
			if (owner && ty == type && same_name(ldns_rr_owner(rr), owner)) {
				ldns_rr_free(rr);
				continue;
			}
			ldns_rr_list_set_rr(l, rr, k++);
		}
		while (ldns_rr_list_rr_count(l) > k)
			(void)ldns_rr_list_pop_rr(l);
		ldns_rdf_deep_free(owner);
	}
}

static enum ost_val_action conclude(struct ost_task *t, uint8_t sec,
				    const struct ost_val_verdict *v)
{
	char nb[64];

	if (sec == OST_SEC_SECURE && !is_negative(t)) {
		drop_bogus(t, t->auth);
		drop_bogus(t, t->add);
	}
	t->sec = sec;
	if (sec == OST_SEC_BOGUS && t->val->ctx.internal_error)
		return ost_val_fail_internal(t, &t->val->ctx);
	if (sec != OST_SEC_SECURE && sec != OST_SEC_BOGUS)
		ost_log(OST_LOG_DEBUG, "validator", "%s qname=%s reason=\"%s\"", ost_sec_str(sec),
			ost_dname_str(t->qname, nb, sizeof(nb)), v->text);
	if (sec == OST_SEC_BOGUS) {
		ost_log(OST_LOG_INFO, "validator", "bogus qname=%s ede=%u reason=\"%s\"",
			ost_dname_str(t->qname, nb, sizeof(nb)), v->ede, v->text);
		ost_task_fail(t, v->has_ede ? v->ede : OST_EDE_DNSSEC_BOGUS, false, "%s", v->text);
		t->sec = OST_SEC_BOGUS;
	}
	return OST_VAL_DONE;
}

enum ost_val_action ost_val_task_step(struct ost_task *t, const ldns_rdf **name, uint16_t *type)
{
	struct ost_resolver *r = t->r;
	struct ost_val_task *vt = t->val;
	struct ost_val_verdict v;
	size_t item = 0;

	if (!r->cfg.validation || !r->val || (t->flags & OST_RF_CD) || t->parent) {
		t->sec = OST_SEC_UNCHECKED;
		return OST_VAL_DONE;
	}
	if (!vt) {
		vt = ost_arena_alloc(&t->arena, sizeof(*vt));
		if (!vt) {
			ost_task_fail(t, OST_EDE_OTHER, false, "ostrov: out of memory");
			return OST_VAL_DONE;
		}
		memset(vt, 0, sizeof(*vt));
		ost_val_ctx_init(&vt->ctx, &r->cfg.val_limits, now_of(t));
		vt->ctx.crypto = &r->val->crypto;
		t->val = vt;
	}
	memset(&v, 0, sizeof(v));
	if (vt->failed) {
		ost_val_set(&v, OST_SEC_BOGUS, vt->f_ede, "%s", vt->f_text);
		return conclude(t, OST_SEC_BOGUS, &v);
	}
	/* Each RRset of the answer, in order, then the negative proof. */
	for (size_t i = 0; i < ldns_rr_list_rr_count(t->answer); i++) {
		const ldns_rr *head = ldns_rr_list_rr(t->answer, i);
		bool first = ldns_rr_get_type(head) != LDNS_RR_TYPE_RRSIG;
		uint8_t sec;

		for (size_t j = 0; j < i && first; j++) {
			const ldns_rr *o = ldns_rr_list_rr(t->answer, j);

			first = !(ldns_rr_get_type(o) == ldns_rr_get_type(head) &&
				  ost_dname_eq(ldns_rr_owner(o), ldns_rr_owner(head)));
		}
		if (!first)
			continue;
		if (item++ < vt->next_item)
			continue;
		sec = check_rrset(t, head, &v);
		if (sec == NEED_FETCH)
			goto need_fetch;
		merge(vt, sec);
		vt->next_item = item;
		if (sec == OST_SEC_BOGUS)
			return conclude(t, OST_SEC_BOGUS, &v);
	}
	if (is_negative(t) && item++ >= vt->next_item) {
		uint8_t sec = check_negative(t, &v);

		if (sec == NEED_FETCH)
			goto need_fetch;
		merge(vt, sec);
		vt->next_item = item;
		if (sec == OST_SEC_BOGUS)
			return conclude(t, OST_SEC_BOGUS, &v);
	}
	return conclude(t, vt->have_sec ? vt->sec : OST_SEC_INDETERMINATE, &v);
need_fetch:
	if (++vt->n_fetch > MAX_FETCH) {
		ost_val_set(&v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
			    "validation fetch limit (%u) reached", MAX_FETCH);
		return conclude(t, OST_SEC_BOGUS, &v);
	}
	*name = vt->f_name;
	*type = vt->f_type;
	return OST_VAL_FETCH;
}
