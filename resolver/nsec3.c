/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Denial of existence with NSEC3 (RFC 5155 §8): the closest-encloser proof,
 * the next closer name, opt-out spans and the wildcard that must not exist,
 * over records whose signatures are already checked. Hashing is ldns's
 * (ldns_nsec3_hash_name); what is ours is the bookkeeping that bounds it:
 * RFC 9276 §3.2 lets a validator treat a zone with too many iterations as
 * insecure (EDE 27) without hashing anything, and every hash counts
 * (iterations + 1) SHA-1 operations against the request's budget, so a long
 * name with many labels cannot buy unbounded CPU (CVE-2023-50868).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "validate.h"

#define HASH_LEN  20 /* SHA-1, the only NSEC3 hash (RFC 5155 §11) */
#define MAX_NSEC3 32 /* NSEC3 records considered per proof */

struct n3 {
	const ldns_rr *rr;
	uint8_t owner[HASH_LEN];
	uint8_t next[HASH_LEN];
	bool optout;
};

struct n3set {
	struct ost_val_ctx *c;
	struct n3 v[MAX_NSEC3];
	size_t n;
	uint16_t iter;
	uint8_t salt_len;
	uint8_t salt[255];
	unsigned unknown_alg; /* records ignored for an unknown hash algorithm */
	bool is_oom;          /* a hash could not be computed: no verdict on the proof */
	char zs[64];
	char qs[96];
};

static bool same_name(const ldns_rdf *a, const ldns_rdf *b)
{
	return ldns_dname_compare(a, b) == 0;
}

static const char *dname_str(const ldns_rdf *name, char *buf, size_t size)
{
	char *s = name ? ldns_rdf2str(name) : NULL;

	snprintf(buf, size, "%s", s ? s : "?");
	free(s);
	return buf;
}

/* Decode the base32hex first label of @p name into @p out. */
static bool label_hash(const ldns_rdf *name, uint8_t out[HASH_LEN])
{
	const uint8_t *d = ldns_rdf_data(name);
	uint8_t buf[64];
	size_t len;

	if (ldns_rdf_size(name) < 2)
		return false;
	len = d[0];
	if (len != 32 || ldns_rdf_size(name) < len + 1)
		return false;
	if (ldns_b32_pton_extended_hex((const char *)d + 1, len, buf, sizeof(buf)) != HASH_LEN)
		return false;
	memcpy(out, buf, HASH_LEN);
	return true;
}

/* Collect the usable NSEC3 records of @p zone (RFC 5155 §8.1-8.2): hash
 * algorithm 1, flags 0 or 1, owner = <hash>.<zone>, and the parameters of
 * the first such record (records with other parameters are ignored). */
static void collect(struct n3set *s, const ldns_rr_list *nsecs, const ldns_rdf *zone)
{
	bool have_params = false;

	for (size_t i = 0; nsecs && i < ldns_rr_list_rr_count(nsecs) && s->n < MAX_NSEC3; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(nsecs, i);
		const ldns_rdf *owner = ldns_rr_owner(rr);
		ldns_rdf *parent, *next;
		struct n3 *e = &s->v[s->n];
		uint8_t salt_len;
		bool ok;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC3 || ldns_rr_rd_count(rr) < 5)
			continue;
		if (ldns_dname_label_count(owner) != ldns_dname_label_count(zone) + 1)
			continue;
		parent = ldns_dname_left_chop(owner);
		ok = parent && same_name(parent, zone);
		ldns_rdf_deep_free(parent);
		if (!ok)
			continue;
		if (ldns_nsec3_algorithm(rr) != LDNS_SHA1) {
			s->unknown_alg++;
			continue;
		}
		if (ldns_nsec3_flags(rr) & ~LDNS_NSEC3_VARS_OPTOUT_MASK)
			continue;
		salt_len = ldns_nsec3_salt_length(rr);
		if (!have_params) {
			uint8_t *salt = ldns_nsec3_salt_data(rr);

			if (salt_len && !salt)
				continue;
			s->iter = ldns_nsec3_iterations(rr);
			s->salt_len = salt_len;
			if (salt_len)
				memcpy(s->salt, salt, salt_len);
			free(salt);
			have_params = true;
		} else {
			uint8_t *salt = ldns_nsec3_salt_data(rr);
			bool same =
				ldns_nsec3_iterations(rr) == s->iter && salt_len == s->salt_len &&
				(salt_len == 0 || (salt && memcmp(salt, s->salt, salt_len) == 0));

			free(salt);
			if (!same)
				continue;
		}
		next = ldns_nsec3_next_owner(rr);
		if (!next || ldns_rdf_size(next) != HASH_LEN + 1 ||
		    ldns_rdf_data(next)[0] != HASH_LEN)
			continue;
		memcpy(e->next, ldns_rdf_data(next) + 1, HASH_LEN);
		if (!label_hash(owner, e->owner))
			continue;
		e->rr = rr;
		e->optout = ldns_nsec3_optout(rr);
		s->n++;
	}
}

/* Hash @p name with the set's parameters, within the budget. */
static bool hash_name(struct n3set *s, const ldns_rdf *name, uint8_t out[HASH_LEN])
{
	struct ost_val_ctx *c = s->c;
	unsigned ops = (unsigned)s->iter + 1;
	ldns_rdf *h;
	bool ok;

	if (c->over_budget || c->n_hash_ops + ops > c->lim.max_nsec3_hash_ops) {
		c->over_budget = true;
		return false;
	}
	c->n_hash_ops += ops;
	h = ldns_nsec3_hash_name(name, LDNS_SHA1, s->iter, s->salt_len, s->salt);
	if (!h)
		s->is_oom = true;
	ok = h && label_hash(h, out);
	ldns_rdf_deep_free(h);
	return ok;
}

static const struct n3 *match(const struct n3set *s, const uint8_t h[HASH_LEN])
{
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(s->v[i].owner, h, HASH_LEN) == 0)
			return &s->v[i];
	return NULL;
}

static const struct n3 *cover(const struct n3set *s, const uint8_t h[HASH_LEN])
{
	for (size_t i = 0; i < s->n; i++) {
		const struct n3 *e = &s->v[i];
		int on = memcmp(e->owner, e->next, HASH_LEN);
		int oh = memcmp(e->owner, h, HASH_LEN);
		int hn = memcmp(h, e->next, HASH_LEN);

		/* The last span wraps around to the first hash. */
		if (on < 0 ? (oh < 0 && hn < 0) : (oh < 0 || hn < 0))
			return e;
	}
	return NULL;
}

static bool is_delegation(const ldns_rr *rr)
{
	return ost_nsec_has_type(rr, LDNS_RR_TYPE_NS) && !ost_nsec_has_type(rr, LDNS_RR_TYPE_SOA);
}

static ldns_rdf *suffix(const ldns_rdf *name, uint8_t labels)
{
	return ldns_dname_clone_from(name, ldns_dname_label_count(name) - labels);
}

/* Result of the closest-encloser proof (RFC 5155 §8.3). */
struct ce_proof {
	uint8_t ce_labels;   /* labels of the closest encloser */
	const struct n3 *nc; /* NSEC3 covering the next closer name */
	bool budget;         /* failed for the budget, not for the data */
};

static bool closest_encloser(struct n3set *s, const ldns_rdf *qname, const ldns_rdf *zone,
			     struct ce_proof *p)
{
	uint8_t ql = ldns_dname_label_count(qname), zl = ldns_dname_label_count(zone);
	uint8_t h[HASH_LEN];

	memset(p, 0, sizeof(*p));
	for (int l = ql; l >= zl; l--) {
		ldns_rdf *name = suffix(qname, (uint8_t)l);
		const struct n3 *m;
		bool ok = name && hash_name(s, name, h);

		ldns_rdf_deep_free(name);
		if (!ok) {
			p->budget = s->c->over_budget;
			return false;
		}
		m = match(s, h);
		if (m) {
			/* The name itself exists: no encloser proof, and a
			 * delegation or DNAME above qname means the zone
			 * knows nothing below it. */
			if (l == ql)
				return false;
			if (is_delegation(m->rr) || ost_nsec_has_type(m->rr, LDNS_RR_TYPE_DNAME))
				return false;
			name = suffix(qname, (uint8_t)(l + 1));
			ok = name && hash_name(s, name, h);
			ldns_rdf_deep_free(name);
			if (!ok) {
				p->budget = s->c->over_budget;
				return false;
			}
			p->nc = cover(s, h);
			p->ce_labels = (uint8_t)l;
			return p->nc != NULL;
		}
	}
	return false;
}

static uint8_t fail(struct n3set *s, struct ost_val_verdict *v, const char *what)
{
	if (s->c->over_budget)
		return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
				   "zone %s: NSEC3 work limit (%u SHA-1) reached", s->zs,
				   s->c->lim.max_nsec3_hash_ops);
	/* Out of memory is no evidence against the proof (validate_sig.c). */
	if (s->is_oom)
		return ost_val_internal(s->c, v,
					"zone %s: NSEC3 proof for %s not checked: out of "
					"memory",
					s->zs, s->qs);
	/* RFC 8914 §4.13: EDE 12 when no usable NSEC3 came at all; a proof
	 * that was given and fails is plain bogus (6). */
	return ost_val_set(v, OST_SEC_BOGUS, s->n ? OST_EDE_DNSSEC_BOGUS : OST_EDE_NSEC_MISSING,
			   "zone %s: NSEC3 %s for %s", s->zs, what, s->qs);
}

static uint8_t nodata_at(struct n3set *s, const ldns_rr *rr, uint16_t qtype,
			 struct ost_val_verdict *v)
{
	if (ost_nsec_has_type(rr, qtype) || ost_nsec_has_type(rr, LDNS_RR_TYPE_CNAME))
		return fail(s, v, "shows the type exists");
	if (qtype != LDNS_RR_TYPE_DS && is_delegation(rr))
		return fail(s, v, "from the parent side cannot deny this type");
	if (qtype == LDNS_RR_TYPE_DS && ost_nsec_has_type(rr, LDNS_RR_TYPE_SOA))
		return fail(s, v, "from the child apex cannot deny DS");
	ost_val_secure(v);
	return OST_SEC_SECURE;
}

/* Insecure without an EDE: "zone Z: <qname> <why>". */
static uint8_t insecure(struct n3set *s, struct ost_val_verdict *v, const char *why)
{
	ost_val_set(v, OST_SEC_INSECURE, 0, "zone %s: %s %s", s->zs, s->qs, why);
	v->has_ede = false;
	return OST_SEC_INSECURE;
}

static uint8_t wildcard_hash(struct n3set *s, const ldns_rdf *qname, uint8_t ce_labels,
			     uint8_t h[HASH_LEN])
{
	ldns_rdf *ce = suffix(qname, ce_labels);
	ldns_rdf *wc = ldns_dname_new_frm_str("*");
	bool ok = ce && wc && ldns_dname_cat(wc, ce) == LDNS_STATUS_OK && hash_name(s, wc, h);

	ldns_rdf_deep_free(ce);
	ldns_rdf_deep_free(wc);
	return ok;
}

uint8_t ost_nsec3_denial(struct ost_val_ctx *c, enum ost_denial kind, const ldns_rdf *qname,
			 uint16_t qtype, const ldns_rdf *zone, const ldns_rr_list *nsecs,
			 uint8_t wc_labels, struct ost_val_verdict *v)
{
	struct n3set *s = calloc(1, sizeof(*s));
	uint8_t h[HASH_LEN], sec;
	struct ce_proof p;
	const struct n3 *m;

	if (!s)
		return ost_val_internal(c, v, "out of memory");
	s->c = c;
	dname_str(zone, s->zs, sizeof(s->zs));
	dname_str(qname, s->qs, sizeof(s->qs));
	if (ldns_dname_compare(qname, zone) != 0 && !ldns_dname_is_subdomain(qname, zone)) {
		sec = fail(s, v, "proof is for another zone");
		goto out;
	}
	collect(s, nsecs, zone);
	if (s->n == 0) {
		/* RFC 5155 §8.1: only unknown hash algorithms -> insecure. */
		if (s->unknown_alg)
			sec = insecure(s, v, "has only NSEC3 of unknown hash algorithms");
		else
			sec = fail(s, v, "missing");
		goto out;
	}
	/* RFC 9276 §3.2: above the limit the zone is treated as insecure. */
	if (s->iter > c->lim.max_nsec3_iterations) {
		sec = ost_val_set(v, OST_SEC_INSECURE, OST_EDE_UNSUPPORTED_NSEC3_ITER,
				  "zone %s: NSEC3 iterations %u above %u", s->zs, s->iter,
				  c->lim.max_nsec3_iterations);
		goto out;
	}
	switch (kind) {
	case OST_DENY_NXDOMAIN:
		if (!hash_name(s, qname, h)) {
			sec = fail(s, v, "hash failed");
			break;
		}
		if (match(s, h)) {
			sec = fail(s, v, "shows the name exists");
			break;
		}
		if (!closest_encloser(s, qname, zone, &p)) {
			sec = fail(s, v, "has no closest-encloser proof");
			break;
		}
		if (!wildcard_hash(s, qname, p.ce_labels, h)) {
			sec = fail(s, v, "hash failed");
			break;
		}
		if (match(s, h) || !cover(s, h)) {
			sec = fail(s, v, "does not deny the wildcard");
			break;
		}
		/* An opt-out span may hide an unsigned delegation: the name
		 * may exist insecurely (RFC 5155 §9.2). */
		if (p.nc->optout) {
			sec = insecure(s, v, "NXDOMAIN under NSEC3 opt-out");
			break;
		}
		ost_val_secure(v);
		sec = OST_SEC_SECURE;
		break;
	case OST_DENY_NODATA:
		if (!hash_name(s, qname, h)) {
			sec = fail(s, v, "hash failed");
			break;
		}
		m = match(s, h);
		if (m) {
			sec = nodata_at(s, m->rr, qtype, v);
			break;
		}
		if (!closest_encloser(s, qname, zone, &p)) {
			sec = fail(s, v, "has no closest-encloser proof");
			break;
		}
		/* RFC 5155 §8.6: no DS, under an opt-out span. */
		if (qtype == LDNS_RR_TYPE_DS) {
			sec = p.nc->optout ? insecure(s, v, "has no DS (NSEC3 opt-out)")
					   : fail(s, v, "does not deny DS");
			break;
		}
		/* RFC 5155 §8.7: wildcard NODATA. */
		if (!wildcard_hash(s, qname, p.ce_labels, h)) {
			sec = fail(s, v, "hash failed");
			break;
		}
		m = match(s, h);
		sec = m ? nodata_at(s, m->rr, qtype, v) : fail(s, v, "NODATA proof missing");
		/* The next closer name under an opt-out span may be an unsigned
		 * delegation the wildcard does not speak for (RFC 5155 §9.2). */
		if (sec == OST_SEC_SECURE && p.nc->optout)
			sec = insecure(s, v, "wildcard NODATA under NSEC3 opt-out");
		break;
	case OST_DENY_WILDCARD: {
		/* RFC 5155 §8.8: the next closer name below the wildcard's
		 * parent must be covered. */
		ldns_rdf *nc;

		if (wc_labels >= ldns_dname_label_count(qname) ||
		    wc_labels < ldns_dname_label_count(zone)) {
			sec = fail(s, v, "wildcard labels out of range");
			break;
		}
		nc = suffix(qname, wc_labels + 1);
		if (!nc || !hash_name(s, nc, h) || !cover(s, h)) {
			ldns_rdf_deep_free(nc);
			sec = fail(s, v, "does not prove the wildcard expansion");
			break;
		}
		ldns_rdf_deep_free(nc);
		ost_val_secure(v);
		sec = OST_SEC_SECURE;
		break;
	}
	case OST_DENY_NO_DS:
		/* RFC 5155 §8.9. */
		if (!hash_name(s, qname, h)) {
			sec = fail(s, v, "hash failed");
			break;
		}
		m = match(s, h);
		if (m) {
			if (ost_nsec_has_type(m->rr, LDNS_RR_TYPE_DS) || !is_delegation(m->rr))
				sec = fail(s, v, "is not an unsigned delegation");
			else
				sec = insecure(s, v, "is an unsigned delegation");
			break;
		}
		if (closest_encloser(s, qname, zone, &p) && p.nc->optout)
			sec = insecure(s, v, "is under NSEC3 opt-out");
		else
			sec = fail(s, v, "does not deny DS");
		break;
	default:
		sec = ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS, "bad denial kind");
		break;
	}
out:
	free(s);
	return sec;
}
