/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Answering from the zone mirror inside the engine (RFC 8806 §2: "the
 * resolver itself acts as the authority, but only for answering queries from
 * itself"). Before a task asks a zone's servers, PLAN calls ost_mirror_plan():
 * when the name lies in a mirrored zone that is usable (verified, before its
 * SOA expire deadline), the reply that zone's authoritative servers would
 * send is built from the store and fed to the iterator exactly as if it had
 * come over the network. So the iterator's own rules apply unchanged: a
 * referral (NS, glue, DS or the NSEC/NSEC3 proof that there is none) becomes
 * the next cut and iteration goes on from it (locally again when the child
 * is mirrored too, e.g. root -> ru.), an answer (with its RRSIGs), NXDOMAIN or
 * NODATA (SOA and NSEC/NSEC3 proofs with RRSIGs) ends the task, CNAME and
 * DNAME links restart it. The mirrored zone's servers are never asked, and
 * the DNSSEC records travel with the data so that validators downstream (and
 * ours) can check them. AA is never set toward clients (RFC 8806 §3: the AA
 * bit of a mirror answer is 0); the answer is built by ost_result_to_wire()
 * like any other.
 *
 * Cases the mirror leaves to normal iteration (it returns PASS): ANY and
 * RRSIG questions, names covered by a wildcard (synthesis is not done here),
 * negative answers in an unsigned zone (no NSEC chain to prove them), a
 * mirror past its SOA expire deadline (RFC 8806 §3: normal recursion takes
 * over) unless the operator extended it (the policy hook; every answer then
 * carries EDE 3 and nothing is cached), a copy at its RRSIG horizon less the
 * margin (extended or not), and any store error.
 *
 * Speed: a version is verified whole before it becomes current, so a result
 * made only of its records, in a zone the resolver's own anchors cover, gets
 * the validator's verdict (secure; insecure for an NSEC3 opt-out denial)
 * without the validator's work (OST_MIRROR_SECURE). It is then cached like
 * any answer, with TTLs cut to the mirror's deadline and horizon
 * (stash.c), so repeated questions take the server's hit path; copies made
 * from an older version are bypassed (ost_mirror_changed_at()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/log.h"
#include "ostrov/validator.h"
#include "ostrov/zone.h"

#include "internal.h"
#include "validate.h"

/** Building one reply: the packet and the zone's read transaction. */
struct mbuild {
	struct ost_task *t;
	struct ost_zone_rtxn *txn;
	const ldns_rdf *apex;
	ldns_pkt *p;
	int err;         /* first resource error */
	bool is_opt_out; /* the denial rests on an NSEC3 opt-out span */
};

static ldns_rdf *view_owner(const struct ost_zone_rrset_view *v)
{
	return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, v->owner_len, v->owner);
}

/* Append the RRset of @p v (and its RRSIGs) to @p sec unless already there. */
static void push_view(struct mbuild *b, ldns_pkt_section sec, const struct ost_zone_rrset_view *v)
{
	ldns_rr_list *rrs = NULL, *sigs = NULL;
	if (b->err || (b->err = ost_zone_rrset_view_to_ldns(v, &rrs, &sigs)) != 0)
		return;
	ldns_rr_list *l[2] = {rrs, sigs};
	for (int k = 0; k < 2; k++) {
		while (ldns_rr_list_rr_count(l[k]) > 0) {
			ldns_rr *rr = ldns_rr_list_pop_rr(l[k]);
			/* ldns_pkt_safe_push_rr() skips duplicates (one NSEC3
			 * can be both closest encloser and wildcard cover). */
			if (!ldns_pkt_safe_push_rr(b->p, sec, rr))
				ldns_rr_free(rr);
		}
	}
	ldns_rr_list_deep_free(rrs);
	ldns_rr_list_deep_free(sigs);
}

/* Exact lookup; pushes when found. @return 0, -ENOENT or an error */
static int push_find(struct mbuild *b, ldns_pkt_section sec, const ldns_rdf *name, uint16_t type)
{
	struct ost_zone_rrset_view v;
	int rc = ost_zone_rtxn_find(b->txn, name, type, &v);
	if (rc == 0)
		push_view(b, sec, &v);
	return rc;
}

static int add_soa(struct mbuild *b)
{
	return push_find(b, LDNS_SECTION_AUTHORITY, b->apex, LDNS_RR_TYPE_SOA);
}

/* Glue for the name servers of a referral: A/AAAA of NS targets inside the zone. */
static void add_glue(struct mbuild *b, const struct ost_zone_rrset_view *ns)
{
	ldns_rr_list *rrs = NULL;
	if (b->err || (b->err = ost_zone_rrset_view_to_ldns(ns, &rrs, NULL)) != 0)
		return;
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		const ldns_rdf *target = ldns_rr_rdf(ldns_rr_list_rr(rrs, i), 0);
		if (!target || !ost_dname_under(target, b->apex))
			continue;
		(void)push_find(b, LDNS_SECTION_ADDITIONAL, target, LDNS_RR_TYPE_A);
		(void)push_find(b, LDNS_SECTION_ADDITIONAL, target, LDNS_RR_TYPE_AAAA);
	}
	ldns_rr_list_deep_free(rrs);
}

/* ---- NSEC3 (RFC 5155 §7.2) ---- */

struct n3param {
	uint8_t alg;
	uint16_t iter;
	uint8_t salt_len;
	uint8_t salt[255];
};

static int n3param_get(struct mbuild *b, struct n3param *np)
{
	struct ost_zone_rrset_view v;
	ldns_rr_list *rrs = NULL;
	int rc = ost_zone_rtxn_find(b->txn, b->apex, LDNS_RR_TYPE_NSEC3PARAM, &v);
	if (rc)
		return rc;
	if ((rc = ost_zone_rrset_view_to_ldns(&v, &rrs, NULL)) != 0)
		return rc;
	const ldns_rr *p = ldns_rr_list_rr(rrs, 0);
	rc = -ENOENT;
	if (p && ldns_rr_rd_count(p) >= 4) {
		np->alg = ldns_nsec3_algorithm(p);
		np->iter = ldns_nsec3_iterations(p);
		np->salt_len = ldns_nsec3_salt_length(p);
		uint8_t *s = ldns_nsec3_salt_data(p);
		if (np->salt_len && s)
			memcpy(np->salt, s, np->salt_len);
		free(s);
		rc = 0;
	}
	ldns_rr_list_deep_free(rrs);
	return rc;
}

/* The NSEC3 RRset matching (@p exact) or covering @p name. */
static int n3_find(struct mbuild *b, const struct n3param *np, const ldns_rdf *name,
		   struct ost_zone_rrset_view *out, bool *exact)
{
	ldns_rdf *h = ldns_nsec3_hash_name(name, np->alg, np->iter, np->salt_len, np->salt);
	if (!h)
		return -ENOMEM;
	int rc = -ENOMEM;
	if (ldns_dname_cat(h, b->apex) == LDNS_STATUS_OK) {
		rc = ost_zone_rtxn_find_nsec3(b->txn, h, out);
		if (rc == 0) {
			ldns_rdf *o = view_owner(out);
			*exact = o && ldns_dname_compare(o, h) == 0;
			ldns_rdf_deep_free(o);
		}
	}
	ldns_rdf_deep_free(h);
	return rc;
}

/* Negative answer in an NSEC3 zone. @p is_deleg: @p name is a delegation
 * point (DS question or insecure referral): never NXDOMAIN. Returns 0, 1
 * when a wildcard would apply (PASS), or an error. */
static int n3_negative(struct mbuild *b, const ldns_rdf *name, bool is_deleg, uint8_t *rcode)
{
	struct n3param np;
	struct ost_zone_rrset_view v;
	bool exact = false;
	int rc = n3param_get(b, &np);
	if (rc)
		return rc;
	if ((rc = n3_find(b, &np, name, &v, &exact)) != 0)
		return rc;
	if (exact) {
		/* NODATA (§7.2.3/§7.2.4): the NSEC3 matching the name. */
		push_view(b, LDNS_SECTION_AUTHORITY, &v);
		*rcode = LDNS_RCODE_NOERROR;
		return 0;
	}
	/* Closest encloser proof (§7.2.1): the longest existing ancestor. */
	unsigned nl = ldns_dname_label_count(name), al = ldns_dname_label_count(b->apex);
	ldns_rdf *ce = NULL, *nc = NULL;
	struct ost_zone_rrset_view cev;
	for (unsigned k = 1; k <= nl - al && !ce; k++) {
		ldns_rdf *anc = ldns_dname_clone_from(name, (uint16_t)k);
		if (!anc)
			return -ENOMEM;
		bool ex = false;
		if (n3_find(b, &np, anc, &cev, &ex) == 0 && ex) {
			ce = anc;
			nc = ldns_dname_clone_from(name, (uint16_t)(k - 1));
		} else {
			ldns_rdf_deep_free(anc);
		}
	}
	if (!ce || !nc) {
		ldns_rdf_deep_free(ce);
		ldns_rdf_deep_free(nc);
		return -ENOENT;
	}
	struct ost_zone_rrset_view ncv, wcv;
	rc = n3_find(b, &np, nc, &ncv, &exact);
	ldns_rdf *wc = NULL;
	if (rc == 0 && !is_deleg) {
		wc = ldns_dname_new_frm_str("*");
		if (!wc || ldns_dname_cat(wc, ce) != LDNS_STATUS_OK)
			rc = -ENOMEM;
		else if ((rc = n3_find(b, &np, wc, &wcv, &exact)) == 0 && exact)
			rc = 1; /* a wildcard exists: synthesis is left to the network */
	}
	if (rc == 0) {
		/* RFC 5155 §8.4/§8.6: with the opt-out flag on the span that
		 * covers the next closer name an unsigned delegation may hide
		 * there, so a validator takes such a denial as insecure. */
		ldns_rr_list *nrr = NULL;
		if (ost_zone_rrset_view_to_ldns(&ncv, &nrr, NULL) == 0 &&
		    ldns_rr_list_rr_count(nrr) > 0 && ldns_nsec3_optout(ldns_rr_list_rr(nrr, 0)))
			b->is_opt_out = true;
		ldns_rr_list_deep_free(nrr);
		push_view(b, LDNS_SECTION_AUTHORITY, &cev);
		push_view(b, LDNS_SECTION_AUTHORITY, &ncv);
		if (!is_deleg)
			push_view(b, LDNS_SECTION_AUTHORITY, &wcv);
		/* An opt-out span (§7.2.7) proves only that no secure
		 * delegation exists: for a delegation point that is NODATA
		 * for DS; otherwise the name does not exist. */
		*rcode = is_deleg ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN;
	}
	ldns_rdf_deep_free(ce);
	ldns_rdf_deep_free(nc);
	ldns_rdf_deep_free(wc);
	return rc;
}

/* ---- NSEC (RFC 4035 §3.1.3) ---- */

/* The NSEC at or before @p name. The apex is the first name of the zone, so
 * when the store finds no predecessor (it does not for the root apex, whose
 * name key is empty) the apex NSEC is the one. */
static int find_nsec(struct mbuild *b, const ldns_rdf *name, struct ost_zone_rrset_view *out)
{
	int rc = ost_zone_rtxn_find_nsec(b->txn, name, out);
	if (rc == -ENOENT)
		rc = ost_zone_rtxn_find(b->txn, b->apex, LDNS_RR_TYPE_NSEC, out);
	return rc;
}

/* The longest ancestor of @p name that @p other is at or below. */
static unsigned common_labels(const ldns_rdf *name, const ldns_rdf *other)
{
	unsigned nl = ldns_dname_label_count(name);
	for (unsigned k = 0; k <= nl; k++) {
		ldns_rdf *anc = ldns_dname_clone_from(name, (uint16_t)k);
		bool under = anc && ost_dname_under(other, anc);
		ldns_rdf_deep_free(anc);
		if (under)
			return nl - k;
	}
	return 0;
}

static int nsec_negative(struct mbuild *b, const ldns_rdf *name, bool is_deleg, uint8_t *rcode)
{
	struct ost_zone_rrset_view v, wv;
	ldns_rr_list *rrs = NULL;
	int rc = find_nsec(b, name, &v);
	if (rc)
		return rc;
	if ((rc = ost_zone_rrset_view_to_ldns(&v, &rrs, NULL)) != 0)
		return rc;
	const ldns_rr *nsec = ldns_rr_list_rr(rrs, 0);
	const ldns_rdf *owner = ldns_rr_owner(nsec), *next = ldns_rr_rdf(nsec, 0);
	rc = -ENOENT;
	if (!next)
		goto out;
	bool exact = ldns_dname_compare(owner, name) == 0;
	/* An empty non-terminal: the next name lies below it (RFC 4035 §3.1.3.2). */
	bool ent = !exact && ldns_dname_is_subdomain(next, name);
	if (exact || ent || is_deleg) {
		push_view(b, LDNS_SECTION_AUTHORITY, &v);
		*rcode = LDNS_RCODE_NOERROR;
		rc = 0;
		goto out;
	}
	/* NXDOMAIN: the covering NSEC and the one denying *.closest-encloser. */
	unsigned cl1 = common_labels(name, owner), cl2 = common_labels(name, next);
	unsigned cl = cl1 > cl2 ? cl1 : cl2, nl = ldns_dname_label_count(name);
	ldns_rdf *ce = ldns_dname_clone_from(name, (uint16_t)(nl - cl));
	ldns_rdf *wc = ldns_dname_new_frm_str("*");
	if (!ce || !wc || ldns_dname_cat(wc, ce) != LDNS_STATUS_OK) {
		rc = -ENOMEM;
	} else if ((rc = find_nsec(b, wc, &wv)) == 0) {
		ldns_rdf *wo = view_owner(&wv);
		if (wo && ldns_dname_compare(wo, wc) == 0) {
			rc = 1; /* the wildcard exists */
		} else {
			push_view(b, LDNS_SECTION_AUTHORITY, &v);
			push_view(b, LDNS_SECTION_AUTHORITY, &wv);
			*rcode = LDNS_RCODE_NXDOMAIN;
		}
		ldns_rdf_deep_free(wo);
	}
	ldns_rdf_deep_free(ce);
	ldns_rdf_deep_free(wc);
out:
	ldns_rr_list_deep_free(rrs);
	return rc;
}

/* Denial of @p name: NSEC3 when the zone has NSEC3PARAM, else NSEC. */
static int negative(struct mbuild *b, const ldns_rdf *name, bool is_deleg, uint8_t *rcode)
{
	struct ost_zone_rrset_view v;
	if (ost_zone_rtxn_find(b->txn, b->apex, LDNS_RR_TYPE_NSEC3PARAM, &v) == 0)
		return n3_negative(b, name, is_deleg, rcode);
	return nsec_negative(b, name, is_deleg, rcode);
}

/* Build the authoritative reply of zone @p apex for (name, type).
 * @return 0 (b->p filled), 1 (PASS: not answerable here), or an error */
static int build(struct mbuild *b, const ldns_rdf *name, uint16_t type)
{
	struct ost_zone_rrset_view v;
	uint8_t rcode = LDNS_RCODE_NOERROR;
	int rc;

	if (type == LDNS_RR_TYPE_ANY || type == LDNS_RR_TYPE_RRSIG)
		return 1;
	/* Below a zone cut: a referral (RFC 1034 §4.3.2 step 3b), except the
	 * DS of the cut itself, which is the parent's data (RFC 4035 §3.1.4.1). */
	rc = ost_zone_rtxn_find_cut(b->txn, name, &v);
	if (rc == 0) {
		ldns_rdf *cut = view_owner(&v);
		if (!cut)
			return -ENOMEM;
		bool at_cut = ldns_dname_compare(cut, name) == 0;
		if (!(type == LDNS_RR_TYPE_DS && at_cut)) {
			ldns_pkt_set_aa(b->p, false);
			push_view(b, LDNS_SECTION_AUTHORITY, &v);
			if (push_find(b, LDNS_SECTION_AUTHORITY, cut, LDNS_RR_TYPE_DS) == -ENOENT) {
				/* No DS: the proof of its absence, as servers send it. */
				uint8_t ignore;
				int nrc = negative(b, cut, true, &ignore);
				if (nrc < 0 && nrc != -ENOENT)
					rc = nrc;
			}
			add_glue(b, &v);
			ldns_rdf_deep_free(cut);
			return b->err ? b->err : rc;
		}
		ldns_rdf_deep_free(cut);
	} else if (rc != -ENOENT) {
		return rc;
	}
	/* DNAME at an ancestor (RFC 6672 §2.3): the iterator synthesises the CNAME. */
	unsigned nl = ldns_dname_label_count(name), al = ldns_dname_label_count(b->apex);
	for (unsigned k = nl - al; k >= 1 && k <= nl; k--) {
		ldns_rdf *anc = ldns_dname_clone_from(name, (uint16_t)k);
		if (!anc)
			return -ENOMEM;
		rc = push_find(b, LDNS_SECTION_ANSWER, anc, LDNS_RR_TYPE_DNAME);
		ldns_rdf_deep_free(anc);
		if (rc == 0)
			return b->err;
	}
	rc = push_find(b, LDNS_SECTION_ANSWER, name, type);
	if (rc == 0)
		return b->err;
	if (type != LDNS_RR_TYPE_CNAME &&
	    push_find(b, LDNS_SECTION_ANSWER, name, LDNS_RR_TYPE_CNAME) == 0)
		return b->err;
	bool is_deleg = type == LDNS_RR_TYPE_DS &&
			ost_zone_rtxn_find(b->txn, name, LDNS_RR_TYPE_NS, &v) == 0 &&
			!ost_dname_eq(name, b->apex);
	rc = negative(b, name, is_deleg, &rcode);
	if (rc != 0)
		return rc == -ENOENT ? 1 : rc;
	if ((rc = add_soa(b)) != 0)
		return rc == -ENOENT ? 1 : rc;
	ldns_pkt_set_rcode(b->p, rcode);
	return b->err;
}

/** The mirrored zone chosen for a question, and how it may be used. */
struct mpick {
	char apex[LDNS_MAX_DOMAINLEN + 2]; /**< its name */
	unsigned labels;                   /**< label count of the apex */
	bool is_extended;                  /**< past its SOA expire deadline, operator extension */
	bool is_signed;                    /**< its DNSSEC was checked against anchors */
	int64_t until;                     /**< wall s: end of the current use */
};

/*
 * May the copy described by @p st be used now? RFC 8806 §3: not past its SOA
 * expire deadline, unless the operator extended it (standards.md §7.2,
 * MIRROR-EXTENDED; the failover machine says so through the policy hook);
 * never from its RRSIG horizon less the margin, extended or not: from then on
 * the copy's own signatures stop proving anything. Fills @p pk->until (when
 * the use ends: cached copies of what it gave must be gone by then).
 */
static bool zone_usable(struct ost_resolver *r, const struct ost_mirror_zone_status *st,
			struct mpick *pk)
{
	int64_t now = ost_clock_wall_s(r->clock);
	const struct ost_resolver_policy *pol = r->cfg.policy;
	if (!st->is_verified)
		return false;
	/* Signed and verified through the resolver's own trust anchors (or the
	 * DS in a mirrored parent): what the validator would check. */
	pk->is_signed = st->meta.rrsig_horizon != 0 && !st->is_own_anchor;
	int64_t horizon = INT64_MAX;
	if (pk->is_signed) {
		horizon = st->meta.rrsig_horizon - (int64_t)r->cfg.mirror_rrsig_margin_s;
		if (now >= horizon)
			return false;
	}
	int say = pol && pol->mirror_use ? pol->mirror_use(pol->ctx, st->name)
					 : OST_MIRROR_NO_OPINION;
	pk->is_extended = false;
	if (now < st->meta.soa_expire_deadline) {
		pk->until = st->meta.soa_expire_deadline < horizon ? st->meta.soa_expire_deadline
								   : horizon;
		return st->is_usable && say != OST_MIRROR_WITHDRAWN;
	}
	pk->is_extended = say == OST_MIRROR_EXTENDED;
	pk->until = now; /* nothing from an extended copy is cached */
	return pk->is_extended;
}

/*
 * The resolver's view of the mirrored zones: their names parsed once and
 * their status (metadata from the store, verification flags) read at most
 * once per SNAP_MS or as soon as the mirror's data changed. Reading the
 * status of every zone costs a store transaction each, and this runs for
 * every question below a mirrored zone. Decisions that depend on the time
 * (deadline, horizon, policy) are still taken per question, with the clock
 * of that moment; what may lag by up to SNAP_MS is a deadline pushed forward
 * by a refresh that found the serial current.
 */
#define SNAP_MS 1000

struct snap_zone {
	ldns_rdf *name;                   /* parsed zone name, NULL when unusable */
	unsigned labels;                  /* its label count */
	bool has_status;                  /* @p st is valid */
	struct ost_mirror_zone_status st; /* as last read */
};

struct ost_mirror_snap {
	uint64_t taken_ms;  /* monotonic time of the last read */
	int64_t changed_at; /* ost_mirror_changed_at() then */
	size_t n;           /* zones */
	struct snap_zone z[];
};

void ost_mirror_snap_free(struct ost_resolver *r)
{
	struct ost_mirror_snap *s = r->msnap;
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		ldns_rdf_deep_free(s->z[i].name);
	free(s);
	r->msnap = NULL;
}

static struct ost_mirror_snap *snap_get(struct ost_resolver *r)
{
	struct ost_mirror *m = r->cfg.mirror;
	struct ost_mirror_snap *s = r->msnap;
	uint64_t now = ost_clock_mono_ms(r->clock);
	int64_t changed = ost_mirror_changed_at(m);
	if (s && s->changed_at == changed && now >= s->taken_ms && now - s->taken_ms < SNAP_MS)
		return s;
	if (!s) {
		/* Zones are all configured before the mirror starts. */
		size_t n = ost_mirror_zone_count(m);
		s = calloc(1, sizeof(*s) + n * sizeof(s->z[0]));
		if (!s)
			return NULL;
		s->n = n;
		r->msnap = s;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct snap_zone *z = &s->z[i];
		z->has_status = ost_mirror_zone_status_at(m, i, &z->st) == 0;
		if (z->has_status && !z->name &&
		    ldns_str2rdf_dname(&z->name, z->st.name) == LDNS_STATUS_OK)
			z->labels = ldns_dname_label_count(z->name);
	}
	s->taken_ms = now;
	s->changed_at = changed;
	return s;
}

/* The deepest usable mirrored zone holding the data for (name, type). */
static bool pick_zone(struct ost_resolver *r, const ldns_rdf *name, uint16_t type,
		      struct mpick *out)
{
	struct ost_mirror_snap *s = snap_get(r);
	bool found = false;
	for (size_t i = 0; s && i < s->n; i++) {
		const struct snap_zone *z = &s->z[i];
		struct mpick pk;
		unsigned l = z->labels;
		if (!z->has_status || !z->name || (found && l <= out->labels))
			continue;
		/* A DS lives in the parent: the zone must lie strictly above. */
		bool holds = ost_dname_under(name, z->name) &&
			     !(type == LDNS_RR_TYPE_DS && l > 0 && ost_dname_eq(name, z->name));
		if (!holds || !zone_usable(r, &z->st, &pk))
			continue;
		found = true;
		pk.labels = l;
		snprintf(pk.apex, sizeof(pk.apex), "%s", z->st.name);
		*out = pk;
	}
	return found;
}

/* Make the mirrored zone @p apex the task's cut (it has no servers: if the
 * mirror cannot answer, PICK falls back to the cut above, like a stale
 * cached cut). */
static int mirror_cut(struct ost_task *t, const char *apex, unsigned labels)
{
	ldns_rdf *name = ost_arena_rdf(&t->arena, ldns_dname_new_frm_str(apex));
	if (!name)
		return -ENOMEM;
	if (t->cut->from_cache && t->cut->n_ns == 0 && ost_dname_eq(t->cut->name, name))
		return 0;
	struct ost_cut *c = ost_arena_alloc(&t->arena, sizeof(*c));
	if (!c)
		return -ENOMEM;
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->arena = &t->arena;
	c->labels = labels;
	c->from_cache = true;
	c->parent = ost_iter_closest_cut(t->cut, c->name);
	if (!c->parent)
		c->parent = t->cut;
	t->cut = c;
	t->qmin_known = 0;
	return 0;
}

bool ost_mirror_covers(struct ost_task *t)
{
	struct mpick pk;
	return t->r->cfg.mirror && t->r->cfg.mirror_store && t->qclass == LDNS_RR_CLASS_IN &&
	       pick_zone(t->r, t->sname, t->qtype, &pk);
}

/*
 * Bookkeeping after a reply from the mirror was taken (RFC 8806 with
 * standards.md §7.2): how long cached copies of it may live, whether an
 * extended copy contributed (EDE 3 on the client's answer, nothing cached),
 * and whether every record of the result so far came from a verified, signed
 * copy. A mirror version is verified whole (every RRSIG against the anchors,
 * ZONEMD) before it becomes current, so a result made only of such records
 * is secure without checking its signatures again; a CNAME or DNAME link
 * that came from a server before (the answer grew between two mirror
 * replies) leaves the result to the validator.
 */
static void note_mirror(struct ost_task *t, const struct mpick *pk, bool was_clean)
{
	if (!t->mirror_until || pk->until < t->mirror_until)
		t->mirror_until = pk->until;
	t->is_mirror_clean = was_clean && pk->is_signed;
	t->mirror_an = ldns_rr_list_rr_count(t->answer);
	if (!pk->is_extended)
		return;
	t->r->stats.mirror_extended++;
	/* The client's task too when a sub-request (a DNSKEY, a name
	 * server's address) used the extended copy: its answer rests on it. */
	struct ost_task *tasks[2] = {t, t->root != t ? t->root : NULL};
	for (int i = 0; i < 2 && tasks[i]; i++) {
		struct ost_task *k = tasks[i];
		k->is_mirror_extended = true;
		if (!k->has_ede) {
			k->has_ede = true;
			k->ede = OST_EDE_STALE_ANSWER;
			snprintf(k->ede_text, sizeof(k->ede_text),
				 "ostrov: mirror of %.40s past its SOA expire deadline, "
				 "served under an operator extension",
				 pk->apex);
		}
	}
}

/*
 * The resolver's own anchors cover the zone (and no negative trust anchor,
 * RFC 7646, which makes the validator call the data insecure): only then is
 * "verified at import" the same verdict the validator would reach.
 */
static bool anchored(struct ost_task *t, const char *apex)
{
	struct ost_resolver *r = t->r;
	const struct ost_ta *ta = NULL;
	ldns_rdf *z = ldns_dname_new_frm_str(apex);
	bool ok = z && r->val && r->val->ta &&
		  ost_ta_lookup(r->val->ta, z, ost_clock_wall_s(r->clock), &ta) == OST_TA_ANCHOR;
	ldns_rdf_deep_free(z);
	return ok;
}

enum ost_mirror_step ost_mirror_plan(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	/* The mirror holds class IN data only (a CH question is not ours). */
	if (!r->cfg.mirror || !r->cfg.mirror_store || t->qclass != LDNS_RR_CLASS_IN)
		return OST_MIRROR_PASS;
	for (unsigned hop = 0; hop <= 2 * r->cfg.max_depth + r->cfg.max_cname; hop++) {
		struct mpick pk;
		if (!pick_zone(r, t->sname, t->qtype, &pk))
			return OST_MIRROR_PASS;
		const char *apex = pk.apex;
		/* A deeper cut is already known (e.g. cached below the mirror):
		 * the mirror has nothing to add. For DS the cut at the name
		 * itself does not count: its DS is the parent's. */
		bool ds_at_cut =
			t->qtype == LDNS_RR_TYPE_DS && ost_dname_eq(t->cut->name, t->sname);
		if (t->cut->labels > pk.labels && !ds_at_cut)
			return OST_MIRROR_PASS;
		struct mbuild b = {.t = t, .is_opt_out = false};
		if (ost_zone_rtxn_begin(r->cfg.mirror_store, apex, &b.txn) != 0)
			return OST_MIRROR_PASS;
		b.apex = ldns_dname_new_frm_str(apex);
		b.p = ldns_pkt_new();
		int rc = b.apex && b.p ? 0 : -ENOMEM;
		if (rc == 0) {
			ldns_pkt_set_qr(b.p, true);
			ldns_pkt_set_aa(b.p, true);
			ldns_rr *q = ldns_rr_new();
			if (q) {
				ldns_rr_set_owner(q, ldns_rdf_clone(t->sname));
				ldns_rr_set_type(q, t->qtype);
				ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
				ldns_rr_set_question(q, true);
				ldns_pkt_push_rr(b.p, LDNS_SECTION_QUESTION, q);
			}
			rc = build(&b, t->sname, t->qtype);
		}
		ost_zone_rtxn_end(b.txn);
		ldns_rdf_deep_free((ldns_rdf *)b.apex);
		if (rc != 0) {
			ldns_pkt_free(b.p);
			ost_log(OST_LOG_DEBUG, "resolver", "mirror pass zone=%s rc=%d", apex, rc);
			if (rc < 0)
				ost_log(OST_LOG_WARN, "resolver",
					"mirror lookup failed zone=%s err=%s", apex,
					ost_strerror(rc));
			return OST_MIRROR_PASS;
		}
		if (!ost_arena_pkt(&t->arena, b.p) || mirror_cut(t, apex, pk.labels) != 0) {
			ost_task_fail(t, OST_EDE_OTHER, false, "ostrov: out of memory");
			return OST_MIRROR_FAIL;
		}
		/* Clean so far: nothing in the answer, or only what earlier
		 * mirror replies put there. */
		size_t an = ldns_rr_list_rr_count(t->answer);
		bool was_clean = an == 0 || (t->is_mirror_clean && an == t->mirror_an);
		t->q_name = t->sname;
		t->q_type = t->qtype;
		t->q_minimised = false;
		t->q_proto = OST_PROTO_TCP;
		t->q_edns = true;
		r->stats.mirror_answers++;
		enum ost_iter_outcome out = ost_iter_reply(t, b.p);
		note_mirror(t, &pk, was_clean);
		switch (out) {
		case OST_ITER_DONE:
			t->rank = OST_RANK_MIRROR;
			/* Secure by construction (see note_mirror()), or
			 * insecure where the validator would say so (an opt-out
			 * denial); the validator still runs when validation is
			 * off (it marks the result unchecked) or for a mixed
			 * result. */
			if (t->is_mirror_clean && r->cfg.validation && r->val &&
			    t->rcode != LDNS_RCODE_SERVFAIL && anchored(t, pk.apex)) {
				t->sec = b.is_opt_out ? OST_SEC_INSECURE : OST_SEC_SECURE;
				r->stats.mirror_secure++;
				return OST_MIRROR_SECURE;
			}
			return OST_MIRROR_DONE;
		case OST_ITER_FAIL:
			return OST_MIRROR_FAIL;
		case OST_ITER_NEXT:
			continue; /* referral or CNAME: maybe mirrored again */
		default:
			return OST_MIRROR_PASS;
		}
	}
	return OST_MIRROR_PASS;
}
