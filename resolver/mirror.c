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
 *
 * Faster still: final answers (an RRset, NODATA, NXDOMAIN, a DS at a cut)
 * mostly never reach the engine. The server's mirror fast path
 * (mirror_fast.c) makes them with the same pieces, which live here: the
 * zone choice and its usability (ost_mirror_pick()), the anchoring
 * (ost_mirror_anchored()), the read transaction kept per zone
 * (ost_mirror_rtxn()) and the builder of the authoritative reply
 * (ost_mirror_build()), which hands each RRset to an emitter: ldns records
 * in a packet for the iterator here, payload records there. The builder
 * allocates nothing: names are stack rdfs over wire bytes, NSEC3 hashes are
 * computed with ldns's SHA-1 into stack buffers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>
#include <ldns/sha1.h>

#include "ostrov/log.h"
#include "ostrov/validator.h"
#include "ostrov/zone.h"

#include "internal.h"
#include "validate.h"

/* ---- names without allocation ----
 *
 * The builder runs for every question answered from the mirror, on the
 * worker's fast path too, so it never clones a name: every name it handles
 * (the question, its ancestors, owners and targets read from the store) is
 * an ldns_rdf on the stack over wire bytes that outlive it (the question's,
 * the read transaction's, a stack buffer). An ancestor of an uncompressed
 * wire name is a suffix of it. */

static void rdf_over(ldns_rdf *d, const uint8_t *wire, size_t len)
{
	ldns_rdf_set_type(d, LDNS_RDF_TYPE_DNAME);
	ldns_rdf_set_size(d, len);
	ldns_rdf_set_data(d, (void *)wire);
}

/* @p name without its first @p strip labels (never past the root label). */
static void rdf_strip(ldns_rdf *d, const ldns_rdf *name, unsigned strip)
{
	const uint8_t *w = ldns_rdf_data(name);
	size_t n = ldns_rdf_size(name), o = 0;
	for (unsigned k = 0; k < strip && o < n && w[o] != 0; k++)
		o += 1u + w[o];
	if (o >= n)
		o = n - 1;
	rdf_over(d, w + o, n - o);
}

/* Are the uncompressed names @p a and @p b equal, ASCII case aside (RFC 4343)?
 * Length octets are below 64, so the case folding never touches them. */
static bool wire_eq(const ldns_rdf *a, const ldns_rdf *b)
{
	size_t n = ldns_rdf_size(a);
	const uint8_t *x = ldns_rdf_data(a), *y = ldns_rdf_data(b);
	if (n != ldns_rdf_size(b))
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = x[i], d = y[i];
		if (c != d && (c | 0x20) != (d | 0x20))
			return false;
		if (c != d && ((c | 0x20) < 'a' || (c | 0x20) > 'z'))
			return false;
	}
	return true;
}

/* The length of the uncompressed name at @p p (at most @p max octets), or 0. */
static size_t wire_name_len(const uint8_t *p, size_t max)
{
	size_t o = 0;
	while (o < max && o <= LDNS_MAX_DOMAINLEN) {
		if (p[o] == 0)
			return o + 1;
		if (p[o] & 0xc0)
			return 0;
		o += 1u + p[o];
	}
	return 0;
}

/* The rdata of the first record of @p v (the store checked every length). */
static const uint8_t *view_rdata0(const struct ost_zone_rrset_view *v, uint16_t *rdlen)
{
	if (v->rr_count == 0 || v->data_len < 6)
		return NULL;
	*rdlen = ldns_read_uint16(v->data + 4);
	return v->data + 6;
}

/* ---- emitting ---- */

/* Hand the RRset of @p v (and its RRSIGs) to the emitter unless it went out
 * in this section already. */
static void push_view(struct ost_mbuild *b, ldns_pkt_section sec,
		      const struct ost_zone_rrset_view *v)
{
	if (b->err)
		return;
	for (unsigned i = 0; i < b->n_seen; i++) {
		if (b->seen[i].type == v->type && b->seen[i].sec == (uint8_t)sec &&
		    b->seen[i].owner_len == v->owner_len &&
		    memcmp(b->seen[i].owner, v->owner, v->owner_len) == 0)
			return;
	}
	if (b->n_seen < OST_MBUILD_SEEN) {
		b->seen[b->n_seen].owner = v->owner;
		b->seen[b->n_seen].owner_len = v->owner_len;
		b->seen[b->n_seen].type = v->type;
		b->seen[b->n_seen].sec = (uint8_t)sec;
		b->n_seen++;
	}
	b->emit(b, sec, v);
}

/* Exact lookup; pushes when found. @return 0, -ENOENT or an error */
static int push_find(struct ost_mbuild *b, ldns_pkt_section sec, const ldns_rdf *name,
		     uint16_t type)
{
	struct ost_zone_rrset_view v;
	int rc = ost_zone_rtxn_find(b->txn, name, type, &v);
	if (rc == 0)
		push_view(b, sec, &v);
	return rc;
}

static int add_soa(struct ost_mbuild *b)
{
	return push_find(b, LDNS_SECTION_AUTHORITY, b->apex, LDNS_RR_TYPE_SOA);
}

/* Glue for the name servers of a referral: A/AAAA of NS targets inside the
 * zone. NS rdata is one uncompressed name (canonical form in the store). */
static void add_glue(struct ost_mbuild *b, const struct ost_zone_rrset_view *ns)
{
	size_t q = 0;
	for (unsigned i = 0; i < ns->rr_count && q + 6 <= ns->data_len; i++) {
		uint16_t rl = ldns_read_uint16(ns->data + q + 4);
		const uint8_t *rd = ns->data + q + 6;
		q += 6u + rl;
		size_t tl = wire_name_len(rd, rl);
		ldns_rdf target;
		if (tl == 0)
			continue;
		rdf_over(&target, rd, tl);
		if (!ost_dname_under(&target, b->apex))
			continue;
		(void)push_find(b, LDNS_SECTION_ADDITIONAL, &target, LDNS_RR_TYPE_A);
		(void)push_find(b, LDNS_SECTION_ADDITIONAL, &target, LDNS_RR_TYPE_AAAA);
	}
}

/* ---- NSEC3 (RFC 5155 §7.2) ---- */

struct n3param {
	uint16_t iter;
	uint8_t salt_len;
	const uint8_t *salt; /* in the read transaction */
};

/* The zone's NSEC3PARAM (RFC 5155 §4.2: algorithm, flags, iterations, salt). */
static int n3param_get(struct ost_mbuild *b, struct n3param *np)
{
	struct ost_zone_rrset_view v;
	uint16_t rl = 0;
	int rc = ost_zone_rtxn_find(b->txn, b->apex, LDNS_RR_TYPE_NSEC3PARAM, &v);
	if (rc)
		return rc;
	const uint8_t *rd = view_rdata0(&v, &rl);
	if (!rd || rl < 5 || rl < 5u + rd[4])
		return -ENOENT;
	np->iter = ldns_read_uint16(rd + 2);
	np->salt_len = rd[4];
	np->salt = rd + 5;
	return 0;
}

/*
 * The hashed owner name of @p name (RFC 5155 §5) written into @p buf (at
 * least LDNS_MAX_DOMAINLEN + 1 octets): IH(salt, x, 0) = H(x || salt),
 * IH(salt, x, k) = H(IH(salt, x, k - 1) || salt) over the canonical
 * (lowercase) name, in Base32hex as the first label of the zone's name. As
 * ldns_nsec3_hash_name() does (the hash algorithm is always SHA-1, the only
 * one defined), with ldns's SHA-1 and without its allocations.
 */
static size_t n3_hash(const ldns_rdf *apex, const ldns_rdf *name, const struct n3param *np,
		      uint8_t *buf)
{
	uint8_t x[LDNS_MAX_DOMAINLEN + 1], h[LDNS_SHA1_DIGEST_LENGTH];
	size_t n = ldns_rdf_size(name), al = ldns_rdf_size(apex);
	if (n > sizeof(x) || 1 + 32 + al > LDNS_MAX_DOMAINLEN + 1)
		return 0;
	const uint8_t *w = ldns_rdf_data(name);
	for (size_t i = 0; i < n; i++)
		x[i] = (uint8_t)(w[i] >= 'A' && w[i] <= 'Z' ? w[i] + 32 : w[i]);
	ldns_sha1_ctx c;
	ldns_sha1_init(&c);
	ldns_sha1_update(&c, x, (unsigned)n);
	ldns_sha1_update(&c, np->salt, np->salt_len);
	ldns_sha1_final(h, &c);
	for (unsigned k = 0; k < np->iter; k++) {
		ldns_sha1_init(&c);
		ldns_sha1_update(&c, h, sizeof(h));
		ldns_sha1_update(&c, np->salt, np->salt_len);
		ldns_sha1_final(h, &c);
	}
	char b32[40];
	if (ldns_b32_ntop_extended_hex(h, sizeof(h), b32, sizeof(b32)) != 32)
		return 0;
	buf[0] = 32;
	memcpy(buf + 1, b32, 32);
	memcpy(buf + 33, ldns_rdf_data(apex), al);
	return 33 + al;
}

/* The NSEC3 RRset matching (@p exact) or covering @p name. */
static int n3_find(struct ost_mbuild *b, const struct n3param *np, const ldns_rdf *name,
		   struct ost_zone_rrset_view *out, bool *exact)
{
	uint8_t hb[LDNS_MAX_DOMAINLEN + 1];
	size_t hl = n3_hash(b->apex, name, np, hb);
	if (hl == 0)
		return -ENOENT;
	ldns_rdf h, o;
	rdf_over(&h, hb, hl);
	int rc = ost_zone_rtxn_find_nsec3(b->txn, &h, out);
	if (rc == 0) {
		rdf_over(&o, out->owner, out->owner_len);
		*exact = wire_eq(&o, &h);
	}
	return rc;
}

/* Does the NSEC3 RRset @p v have the Opt-Out flag (RFC 5155 §3.1.2.1)? */
static bool n3_opt_out(const struct ost_zone_rrset_view *v)
{
	uint16_t rl = 0;
	const uint8_t *rd = view_rdata0(v, &rl);
	return rd && rl >= 2 && (rd[1] & 0x01);
}

/* Negative answer in an NSEC3 zone. @p is_deleg: @p name is a delegation
 * point (DS question or insecure referral): never NXDOMAIN. Returns 0, 1
 * when a wildcard would apply (PASS), or an error. */
static int n3_negative(struct ost_mbuild *b, const ldns_rdf *name, bool is_deleg, uint8_t *rcode)
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
	ldns_rdf ce, nc;
	struct ost_zone_rrset_view cev, ncv, wcv;
	bool has_ce = false;
	for (unsigned k = 1; k <= nl - al && !has_ce; k++) {
		bool ex = false;
		rdf_strip(&ce, name, k);
		if (n3_find(b, &np, &ce, &cev, &ex) == 0 && ex) {
			has_ce = true;
			rdf_strip(&nc, name, k - 1);
		}
	}
	if (!has_ce)
		return -ENOENT;
	/* The next closer name is often the name itself, whose NSEC3 is known. */
	if (ldns_rdf_size(&nc) == ldns_rdf_size(name)) {
		ncv = v;
		rc = 0;
	} else {
		rc = n3_find(b, &np, &nc, &ncv, &exact);
	}
	if (rc == 0 && !is_deleg) {
		uint8_t wb[LDNS_MAX_DOMAINLEN + 1];
		ldns_rdf wc;
		if (ldns_rdf_size(&ce) + 2 > sizeof(wb))
			return -ENOENT;
		wb[0] = 1;
		wb[1] = '*';
		memcpy(wb + 2, ldns_rdf_data(&ce), ldns_rdf_size(&ce));
		rdf_over(&wc, wb, ldns_rdf_size(&ce) + 2);
		if ((rc = n3_find(b, &np, &wc, &wcv, &exact)) == 0 && exact)
			rc = 1; /* a wildcard exists: synthesis is left to the network */
	}
	if (rc == 0) {
		/* RFC 5155 §8.4/§8.6: with the opt-out flag on the span that
		 * covers the next closer name an unsigned delegation may hide
		 * there, so a validator takes such a denial as insecure. */
		if (n3_opt_out(&ncv))
			b->is_opt_out = true;
		push_view(b, LDNS_SECTION_AUTHORITY, &cev);
		push_view(b, LDNS_SECTION_AUTHORITY, &ncv);
		if (!is_deleg)
			push_view(b, LDNS_SECTION_AUTHORITY, &wcv);
		/* An opt-out span (§7.2.7) proves only that no secure
		 * delegation exists: for a delegation point that is NODATA
		 * for DS; otherwise the name does not exist. */
		*rcode = is_deleg ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN;
	}
	return rc;
}

/* ---- NSEC (RFC 4035 §3.1.3) ---- */

/* The NSEC at or before @p name. The apex is the first name of the zone, so
 * when the store finds no predecessor (it does not for the root apex, whose
 * name key is empty) the apex NSEC is the one. */
static int find_nsec(struct ost_mbuild *b, const ldns_rdf *name, struct ost_zone_rrset_view *out)
{
	int rc = ost_zone_rtxn_find_nsec(b->txn, name, out);
	if (rc == -ENOENT)
		rc = ost_zone_rtxn_find(b->txn, b->apex, LDNS_RR_TYPE_NSEC, out);
	return rc;
}

/* The label count of the longest ancestor of @p name that @p other is at or below. */
static unsigned common_labels(const ldns_rdf *name, const ldns_rdf *other)
{
	unsigned nl = ldns_dname_label_count(name);
	for (unsigned k = 0; k <= nl; k++) {
		ldns_rdf anc;
		rdf_strip(&anc, name, k);
		if (ost_dname_under(other, &anc))
			return nl - k;
	}
	return 0;
}

static int nsec_negative(struct ost_mbuild *b, const ldns_rdf *name, bool is_deleg, uint8_t *rcode)
{
	struct ost_zone_rrset_view v, wv;
	uint16_t rl = 0;
	int rc = find_nsec(b, name, &v);
	if (rc)
		return rc;
	/* NSEC rdata: the next owner name (uncompressed), then the type bitmaps. */
	const uint8_t *rd = view_rdata0(&v, &rl);
	size_t nxl = rd ? wire_name_len(rd, rl) : 0;
	if (nxl == 0)
		return -ENOENT;
	ldns_rdf owner, next;
	rdf_over(&owner, v.owner, v.owner_len);
	rdf_over(&next, rd, nxl);
	bool exact = wire_eq(&owner, name);
	/* An empty non-terminal: the next name lies below it (RFC 4035 §3.1.3.2). */
	bool ent = !exact && ost_dname_under(&next, name) && !ost_dname_eq(&next, name);
	if (exact || ent || is_deleg) {
		push_view(b, LDNS_SECTION_AUTHORITY, &v);
		*rcode = LDNS_RCODE_NOERROR;
		return 0;
	}
	/* NXDOMAIN: the covering NSEC and the one denying *.closest-encloser. */
	unsigned cl1 = common_labels(name, &owner), cl2 = common_labels(name, &next);
	unsigned cl = cl1 > cl2 ? cl1 : cl2, nl = ldns_dname_label_count(name);
	ldns_rdf ce, wc;
	uint8_t wb[LDNS_MAX_DOMAINLEN + 1];
	rdf_strip(&ce, name, nl - cl);
	if (ldns_rdf_size(&ce) + 2 > sizeof(wb))
		return -ENOENT;
	wb[0] = 1;
	wb[1] = '*';
	memcpy(wb + 2, ldns_rdf_data(&ce), ldns_rdf_size(&ce));
	rdf_over(&wc, wb, ldns_rdf_size(&ce) + 2);
	if ((rc = find_nsec(b, &wc, &wv)) != 0)
		return rc;
	ldns_rdf wo;
	rdf_over(&wo, wv.owner, wv.owner_len);
	if (wire_eq(&wo, &wc))
		return 1; /* the wildcard exists */
	push_view(b, LDNS_SECTION_AUTHORITY, &v);
	push_view(b, LDNS_SECTION_AUTHORITY, &wv);
	*rcode = LDNS_RCODE_NXDOMAIN;
	return 0;
}

/* Denial of @p name: NSEC3 when the zone has NSEC3PARAM, else NSEC. */
static int negative(struct ost_mbuild *b, const ldns_rdf *name, bool is_deleg, uint8_t *rcode)
{
	struct ost_zone_rrset_view v;
	if (ost_zone_rtxn_find(b->txn, b->apex, LDNS_RR_TYPE_NSEC3PARAM, &v) == 0)
		return n3_negative(b, name, is_deleg, rcode);
	return nsec_negative(b, name, is_deleg, rcode);
}

int ost_mirror_build(struct ost_mbuild *b, const ldns_rdf *name, uint16_t type)
{
	struct ost_zone_rrset_view v;
	uint8_t rcode = LDNS_RCODE_NOERROR;
	int rc;

	b->rcode = LDNS_RCODE_NOERROR;
	b->is_referral = false;
	if (type == LDNS_RR_TYPE_ANY || type == LDNS_RR_TYPE_RRSIG)
		return 1;
	/* Below a zone cut: a referral (RFC 1034 §4.3.2 step 3b), except the
	 * DS of the cut itself, which is the parent's data (RFC 4035 §3.1.4.1). */
	rc = ost_zone_rtxn_find_cut(b->txn, name, &v);
	if (rc == 0) {
		ldns_rdf cut;
		rdf_over(&cut, v.owner, v.owner_len);
		bool at_cut = wire_eq(&cut, name);
		if (!(type == LDNS_RR_TYPE_DS && at_cut)) {
			if (b->is_final_only)
				return 1;
			b->is_referral = true;
			push_view(b, LDNS_SECTION_AUTHORITY, &v);
			if (push_find(b, LDNS_SECTION_AUTHORITY, &cut, LDNS_RR_TYPE_DS) ==
			    -ENOENT) {
				/* No DS: the proof of its absence, as servers send it. */
				uint8_t ignore;
				int nrc = negative(b, &cut, true, &ignore);
				if (nrc < 0 && nrc != -ENOENT)
					rc = nrc;
			}
			add_glue(b, &v);
			return b->err ? b->err : rc;
		}
	} else if (rc != -ENOENT) {
		return rc;
	}
	/* DNAME at an ancestor (RFC 6672 §2.3): the iterator synthesises the CNAME. */
	unsigned nl = ldns_dname_label_count(name), al = ldns_dname_label_count(b->apex);
	for (unsigned k = nl - al; k >= 1 && k <= nl; k--) {
		ldns_rdf anc;
		rdf_strip(&anc, name, k);
		if (ost_zone_rtxn_find(b->txn, &anc, LDNS_RR_TYPE_DNAME, &v) == 0) {
			if (b->is_final_only)
				return 1;
			push_view(b, LDNS_SECTION_ANSWER, &v);
			return b->err;
		}
	}
	rc = push_find(b, LDNS_SECTION_ANSWER, name, type);
	if (rc == 0)
		return b->err;
	if (type != LDNS_RR_TYPE_CNAME &&
	    ost_zone_rtxn_find(b->txn, name, LDNS_RR_TYPE_CNAME, &v) == 0) {
		if (b->is_final_only)
			return 1;
		push_view(b, LDNS_SECTION_ANSWER, &v);
		return b->err;
	}
	bool is_deleg = type == LDNS_RR_TYPE_DS &&
			ost_zone_rtxn_find(b->txn, name, LDNS_RR_TYPE_NS, &v) == 0 &&
			!ost_dname_eq(name, b->apex);
	rc = negative(b, name, is_deleg, &rcode);
	if (rc != 0)
		return rc == -ENOENT ? 1 : rc;
	if ((rc = add_soa(b)) != 0)
		return rc == -ENOENT ? 1 : rc;
	b->rcode = rcode;
	return b->err;
}

/* ---- which zone, and may it be used ---- */

/*
 * May the copy described by @p st be used now? RFC 8806 §3: not past its SOA
 * expire deadline, unless the operator extended it (standards.md §7.2,
 * MIRROR-EXTENDED; the failover machine says so through the policy hook);
 * never from its RRSIG horizon less the margin, extended or not: from then on
 * the copy's own signatures stop proving anything. Fills @p pk->until (when
 * the use ends: cached copies of what it gave must be gone by then).
 */
static bool zone_usable(struct ost_resolver *r, const struct ost_mirror_zone_status *st,
			struct ost_mpick *pk)
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
 *
 * Each zone also keeps the resolver's read transaction, begun on first use
 * (an allocation, an LMDB reader slot) and kept for the resolver's life.
 * It is live only while the resolver is busy: ost_resolver_mirror_release(),
 * which the server calls at the end of each loop iteration (as it ends its
 * cache reader session), resets it, and the zone's next question renews it
 * (mdb_txn_renew, a metadata read, no allocation) on the version current
 * then. A live snapshot pins the pages of the version it sees; kept across
 * an import by a worker that gets no question for a while, it would make
 * the next import need room for three versions of the zone (pinned, current,
 * new), which for a large zone can fill the map and fail a good import.
 * While live it is renewed as soon as the mirror's data changed after it
 * was renewed (ost_mirror_is_outdated(), the rule cached copies obey): a
 * commit in the same second counts as later, so no question is answered
 * from a version older than the current one; and when the status shows
 * another store generation than it had then. A status refresh (snap_get())
 * resets outdated ones too. The store is opened with MDB_NOTLS, so one
 * thread may hold several and a reset transaction keeps its reader slot.
 */
#define SNAP_MS 1000

struct snap_zone {
	ldns_rdf *name;                   /* parsed zone name, NULL when unusable */
	unsigned labels;                  /* its label count */
	bool has_status;                  /* @p st is valid */
	struct ost_mirror_zone_status st; /* as last read */
	struct ost_zone_rtxn *txn;        /* the read transaction (live or reset), or NULL */
	bool is_live;                     /* @p txn holds a snapshot */
	int64_t txn_at;                   /* wall s when it was last renewed */
	uint64_t txn_gen;                 /* the store generation @p st had then */
};

struct ost_mirror_snap {
	uint64_t taken_ms;  /* monotonic time of the last read */
	int64_t changed_at; /* ost_mirror_changed_at() then */
	bool has_live;      /* some zone's transaction may be live */
	size_t n;           /* zones */
	struct snap_zone z[];
};

void ost_mirror_snap_free(struct ost_resolver *r)
{
	struct ost_mirror_snap *s = r->msnap;
	ost_mirror_fast_free(r);
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		ost_zone_rtxn_end(s->z[i].txn);
		ldns_rdf_deep_free(s->z[i].name);
	}
	free(s);
	r->msnap = NULL;
}

/*
 * Is the kept read transaction of @p z on the current version? Not when the
 * mirror's data changed since it was begun (a commit in the same second
 * counts as later), nor when the status shows another store generation than
 * it had then (a wall clock stepped back would keep a commit "older" than
 * the transaction; the status is re-read at least every SNAP_MS).
 */
static bool txn_current(const struct ost_mirror *m, const struct snap_zone *z)
{
	return !ost_mirror_is_outdated(m, z->txn_at) && z->txn_gen == z->st.meta.generation;
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
		/* A transaction on a replaced version pins its pages (the store
		 * cannot reuse them): reset now, not at the zone's next question. */
		if (z->is_live && !txn_current(m, z)) {
			ost_zone_rtxn_reset(z->txn);
			z->is_live = false;
		}
	}
	s->taken_ms = now;
	s->changed_at = changed;
	return s;
}

bool ost_mirror_pick(struct ost_resolver *r, const ldns_rdf *name, uint16_t type,
		     struct ost_mpick *out)
{
	struct ost_mirror_snap *s = snap_get(r);
	bool found = false;
	for (size_t i = 0; s && i < s->n; i++) {
		const struct snap_zone *z = &s->z[i];
		struct ost_mpick pk;
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
		pk.index = i;
		pk.apex_name = z->name;
		pk.apex = z->st.name; /* rewritten by a refresh, never changed */
		*out = pk;
	}
	return found;
}

int ost_mirror_rtxn(struct ost_resolver *r, const struct ost_mpick *pk, struct ost_zone_rtxn **out)
{
	struct ost_mirror_snap *s = r->msnap;
	if (!s || pk->index >= s->n)
		return -ENOENT;
	struct snap_zone *z = &s->z[pk->index];
	if (z->is_live && txn_current(r->cfg.mirror, z)) {
		*out = z->txn;
		return 0;
	}
	/* The time first: a version committed from now on is "later". */
	int64_t at = ost_clock_wall_s(r->clock);
	int rc = z->txn ? ost_zone_rtxn_renew(z->txn)
			: ost_zone_rtxn_begin(r->cfg.mirror_store, pk->apex, &z->txn);
	z->is_live = rc == 0;
	if (rc != 0) {
		/* No version (any more), or a store error: begun again next time. */
		ost_zone_rtxn_end(z->txn);
		z->txn = NULL;
		return rc;
	}
	s->has_live = true;
	z->txn_at = at;
	z->txn_gen = z->st.meta.generation;
	*out = z->txn;
	return 0;
}

void ost_resolver_mirror_release(struct ost_resolver *r)
{
	struct ost_mirror_snap *s = r->msnap;
	if (!s || !s->has_live)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct snap_zone *z = &s->z[i];
		if (z->is_live) {
			ost_zone_rtxn_reset(z->txn);
			z->is_live = false;
		}
	}
	s->has_live = false;
}

bool ost_mirror_anchored(struct ost_resolver *r, const ldns_rdf *apex)
{
	const struct ost_ta *ta = NULL;
	return apex && r->val && r->val->ta &&
	       ost_ta_lookup(r->val->ta, apex, ost_clock_wall_s(r->clock), &ta) == OST_TA_ANCHOR;
}

/* ---- the engine's hook ---- */

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
	struct ost_mpick pk;
	return t->r->cfg.mirror && t->r->cfg.mirror_store && t->qclass == LDNS_RR_CLASS_IN &&
	       ost_mirror_pick(t->r, t->sname, t->qtype, &pk);
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
static void note_mirror(struct ost_task *t, const struct ost_mpick *pk, bool was_clean)
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

/* The engine's emitter: the records as ldns RRs in the reply packet
 * (ldns_pkt_safe_push_rr() leaves out what is there already). */
static void emit_pkt(struct ost_mbuild *b, ldns_pkt_section sec,
		     const struct ost_zone_rrset_view *v)
{
	ldns_pkt *p = b->ctx;
	ldns_rr_list *rrs = NULL, *sigs = NULL;
	if ((b->err = ost_zone_rrset_view_to_ldns(v, &rrs, &sigs)) != 0)
		return;
	ldns_rr_list *l[2] = {rrs, sigs};
	for (int k = 0; k < 2; k++) {
		while (ldns_rr_list_rr_count(l[k]) > 0) {
			ldns_rr *rr = ldns_rr_list_pop_rr(l[k]);
			if (!ldns_pkt_safe_push_rr(p, sec, rr))
				ldns_rr_free(rr);
		}
	}
	ldns_rr_list_deep_free(rrs);
	ldns_rr_list_deep_free(sigs);
}

/* The reply of the picked zone as its servers would send it, or NULL (PASS). */
static ldns_pkt *build_pkt(struct ost_task *t, const struct ost_mpick *pk, bool *is_opt_out)
{
	struct ost_resolver *r = t->r;
	struct ost_mbuild b = {.r = r, .apex = pk->apex_name, .emit = emit_pkt};
	if (ost_mirror_rtxn(r, pk, &b.txn) != 0)
		return NULL;
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *q = ldns_rr_new();
	int rc = p && q ? 0 : -ENOMEM;
	if (rc == 0) {
		ldns_pkt_set_qr(p, true);
		ldns_rr_set_owner(q, ldns_rdf_clone(t->sname));
		ldns_rr_set_type(q, t->qtype);
		ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
		ldns_rr_set_question(q, true);
		ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
		q = NULL;
		b.ctx = p;
		rc = ost_mirror_build(&b, t->sname, t->qtype);
	}
	ldns_rr_free(q);
	if (rc != 0) {
		ldns_pkt_free(p);
		ost_log(OST_LOG_DEBUG, "resolver", "mirror pass zone=%s rc=%d", pk->apex, rc);
		if (rc < 0)
			ost_log(OST_LOG_WARN, "resolver", "mirror lookup failed zone=%s err=%s",
				pk->apex, ost_strerror(rc));
		return NULL;
	}
	/* RFC 8806 §3: the AA bit of a mirror answer toward clients is 0; the
	 * reply fed to the iterator is what an authority sends. */
	ldns_pkt_set_aa(p, !b.is_referral);
	ldns_pkt_set_rcode(p, b.rcode);
	*is_opt_out = b.is_opt_out;
	return p;
}

enum ost_mirror_step ost_mirror_plan(struct ost_task *t)
{
	struct ost_resolver *r = t->r;
	/* The mirror holds class IN data only (a CH question is not ours). */
	if (!r->cfg.mirror || !r->cfg.mirror_store || t->qclass != LDNS_RR_CLASS_IN)
		return OST_MIRROR_PASS;
	for (unsigned hop = 0; hop <= 2 * r->cfg.max_depth + r->cfg.max_cname; hop++) {
		struct ost_mpick pk;
		if (!ost_mirror_pick(r, t->sname, t->qtype, &pk))
			return OST_MIRROR_PASS;
		/* A deeper cut is already known (e.g. cached below the mirror):
		 * the mirror has nothing to add. For DS the cut at the name
		 * itself does not count: its DS is the parent's. */
		bool ds_at_cut =
			t->qtype == LDNS_RR_TYPE_DS && ost_dname_eq(t->cut->name, t->sname);
		if (t->cut->labels > pk.labels && !ds_at_cut)
			return OST_MIRROR_PASS;
		bool is_opt_out = false;
		ldns_pkt *p = build_pkt(t, &pk, &is_opt_out);
		if (!p)
			return OST_MIRROR_PASS;
		if (!ost_arena_pkt(&t->arena, p) || mirror_cut(t, pk.apex, pk.labels) != 0) {
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
		enum ost_iter_outcome out = ost_iter_reply(t, p);
		note_mirror(t, &pk, was_clean);
		switch (out) {
		case OST_ITER_DONE:
			t->rank = OST_RANK_MIRROR;
			/* Secure by construction (see note_mirror()), or
			 * insecure where the validator would say so (an opt-out
			 * denial); the validator still runs when validation is
			 * off (it marks the result unchecked) or for a mixed
			 * result. mirror_fast.c gives the same verdict. */
			if (t->is_mirror_clean && r->cfg.validation && r->val &&
			    t->rcode != LDNS_RCODE_SERVFAIL &&
			    ost_mirror_anchored(r, pk.apex_name)) {
				t->sec = is_opt_out ? OST_SEC_INSECURE : OST_SEC_SECURE;
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
