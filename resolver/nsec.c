/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Denial of existence with NSEC (RFC 4035 §5.4, RFC 6840 §4). The records
 * given here have had their signatures checked already; what remains is the
 * logic: which span covers which name in canonical order, which name is the
 * closest encloser, whether the wildcard that could have matched is denied
 * too, and the traps: an NSEC from the parent side of a delegation (NS
 * without SOA) denies nothing but DS below the cut (RFC 6840 §4.1), and an
 * NSEC from the child apex (SOA) cannot deny the DS above it.
 */
#include <stdio.h>
#include <stdlib.h>

#include <ldns/ldns.h>

#include "validate.h"

static bool same_name(const ldns_rdf *a, const ldns_rdf *b)
{
	return ldns_dname_compare(a, b) == 0;
}

static bool name_under(const ldns_rdf *name, const ldns_rdf *zone)
{
	return same_name(name, zone) || ldns_dname_is_subdomain(name, zone);
}

static const char *dname_str(const ldns_rdf *name, char *buf, size_t size)
{
	char *s = name ? ldns_rdf2str(name) : NULL;

	snprintf(buf, size, "%s", s ? s : "?");
	free(s);
	return buf;
}

bool ost_nsec_has_type(const ldns_rr *rr, uint16_t type)
{
	const ldns_rdf *bitmap = NULL;

	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC && ldns_rr_rd_count(rr) >= 2)
		bitmap = ldns_rr_rdf(rr, 1);
	else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC3 && ldns_rr_rd_count(rr) >= 6)
		bitmap = ldns_rr_rdf(rr, 5);
	return bitmap && ldns_nsec_bitmap_covers_type(bitmap, type);
}

bool ost_nsec_covers(const ldns_rr *nsec, const ldns_rdf *name)
{
	const ldns_rdf *owner = ldns_rr_owner(nsec);
	const ldns_rdf *next;

	if (ldns_rr_get_type(nsec) != LDNS_RR_TYPE_NSEC || ldns_rr_rd_count(nsec) < 1)
		return false;
	next = ldns_rr_rdf(nsec, 0);
	if (ldns_dname_compare(owner, next) < 0)
		return ldns_dname_compare(owner, name) < 0 && ldns_dname_compare(name, next) < 0;
	/* The last NSEC of the zone points back to the apex (or a zone with a
	 * single name points to itself): it covers everything after it. */
	return ldns_dname_compare(owner, name) < 0 || ldns_dname_compare(name, next) < 0;
}

/* Number of trailing labels @p a and @p b share (the root not counted). */
static uint8_t common_labels(const ldns_rdf *a, const ldns_rdf *b)
{
	uint8_t la = ldns_dname_label_count(a), lb = ldns_dname_label_count(b);
	uint8_t n = la < lb ? la : lb;

	for (; n > 0; n--) {
		ldns_rdf *sa = ldns_dname_clone_from(a, la - n);
		ldns_rdf *sb = ldns_dname_clone_from(b, lb - n);
		bool eq = sa && sb && same_name(sa, sb);

		ldns_rdf_deep_free(sa);
		ldns_rdf_deep_free(sb);
		if (eq)
			break;
	}
	return n;
}

/* "*." + the last @p labels labels of @p name, or NULL */
static ldns_rdf *wildcard_at(const ldns_rdf *name, uint8_t labels)
{
	ldns_rdf *ce = ldns_dname_clone_from(name, ldns_dname_label_count(name) - labels);
	ldns_rdf *wc = ldns_dname_new_frm_str("*");

	if (!ce || !wc || ldns_dname_cat(wc, ce) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(wc);
		wc = NULL;
	}
	ldns_rdf_deep_free(ce);
	return wc;
}

/* A delegation NSEC (NS without SOA) speaks for the parent only. */
static bool is_delegation(const ldns_rr *nsec)
{
	return ost_nsec_has_type(nsec, LDNS_RR_TYPE_NS) &&
	       !ost_nsec_has_type(nsec, LDNS_RR_TYPE_SOA);
}

/* The NSEC of @p nsecs in @p zone whose owner is @p name, or NULL. */
static const ldns_rr *find_match(const ldns_rr_list *nsecs, const ldns_rdf *zone,
				 const ldns_rdf *name)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(nsecs); i++) {
		const ldns_rr *n = ldns_rr_list_rr(nsecs, i);

		if (ldns_rr_get_type(n) == LDNS_RR_TYPE_NSEC && ldns_rr_rd_count(n) >= 1 &&
		    name_under(ldns_rr_owner(n), zone) && same_name(ldns_rr_owner(n), name))
			return n;
	}
	return NULL;
}

/*
 * The NSEC of @p nsecs that proves @p name does not exist, or NULL. An NSEC
 * whose owner is an ancestor of @p name and a delegation point or DNAME does
 * not count: below such a name the zone knows nothing (RFC 6840 §4.1, the
 * "overreaching" NSEC of val_nx_overreach).
 */
static const ldns_rr *find_cover(const ldns_rr_list *nsecs, const ldns_rdf *zone,
				 const ldns_rdf *name)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(nsecs); i++) {
		const ldns_rr *n = ldns_rr_list_rr(nsecs, i);
		const ldns_rdf *owner = ldns_rr_owner(n);

		if (ldns_rr_get_type(n) != LDNS_RR_TYPE_NSEC || ldns_rr_rd_count(n) < 1 ||
		    !name_under(owner, zone) || !name_under(ldns_rr_rdf(n, 0), zone))
			continue;
		if (!ost_nsec_covers(n, name))
			continue;
		if (ldns_dname_is_subdomain(name, owner) &&
		    (is_delegation(n) || ost_nsec_has_type(n, LDNS_RR_TYPE_DNAME)))
			continue;
		return n;
	}
	return NULL;
}

/* Closest encloser of @p name implied by the covering NSEC @p n (labels). */
static uint8_t closest_encloser(const ldns_rr *n, const ldns_rdf *name)
{
	uint8_t a = common_labels(name, ldns_rr_owner(n));
	uint8_t b = common_labels(name, ldns_rr_rdf(n, 0));

	return a > b ? a : b;
}

static uint8_t nodata_at(const ldns_rr *m, const ldns_rdf *qname, uint16_t qtype, const char *zs,
			 const char *qs, struct ost_val_verdict *v)
{
	if (ost_nsec_has_type(m, qtype))
		return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
				   "zone %s: NSEC at %s shows the type exists", zs, qs);
	if (ost_nsec_has_type(m, LDNS_RR_TYPE_CNAME))
		return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
				   "zone %s: NSEC at %s shows a CNAME", zs, qs);
	if (qtype != LDNS_RR_TYPE_DS && is_delegation(m))
		return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
				   "zone %s: parent-side NSEC at %s cannot deny this type", zs, qs);
	if (qtype == LDNS_RR_TYPE_DS && ost_nsec_has_type(m, LDNS_RR_TYPE_SOA) &&
	    ldns_dname_label_count(qname) > 0)
		return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
				   "zone %s: child-apex NSEC at %s cannot deny DS", zs, qs);
	ost_val_secure(v);
	return OST_SEC_SECURE;
}

uint8_t ost_nsec_denial(struct ost_val_ctx *c, enum ost_denial kind, const ldns_rdf *qname,
			uint16_t qtype, const ldns_rdf *zone, const ldns_rr_list *nsecs,
			uint8_t wc_labels, struct ost_val_verdict *v)
{
	char zs[64], qs[96];
	const ldns_rr *m, *cov, *wcn;
	ldns_rdf *wc = NULL;
	uint8_t ce, sec;

	/* Failures below are EDE 6: NSEC records were given (ost_val_denial
	 * answers EDE 12 when there are none) but they prove nothing. */
	dname_str(zone, zs, sizeof(zs));
	dname_str(qname, qs, sizeof(qs));
	if (!name_under(qname, zone))
		return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
				   "zone %s: %s is not in the zone", zs, qs);
	switch (kind) {
	case OST_DENY_NO_DS:
		m = find_match(nsecs, zone, qname);
		if (!m)
			return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
					   "zone %s: no NSEC proves %s has no DS", zs, qs);
		/* RFC 4035 §5.2: NS without DS (and not the child's apex). */
		if (ost_nsec_has_type(m, LDNS_RR_TYPE_DS) || !is_delegation(m))
			return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
					   "zone %s: NSEC at %s is not an unsigned delegation", zs,
					   qs);
		ost_val_set(v, OST_SEC_INSECURE, 0, "zone %s: %s is an unsigned delegation", zs,
			    qs);
		v->has_ede = false;
		return OST_SEC_INSECURE;
	case OST_DENY_NODATA:
		m = find_match(nsecs, zone, qname);
		if (m)
			return nodata_at(m, qname, qtype, zs, qs, v);
		cov = find_cover(nsecs, zone, qname);
		if (!cov)
			return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
					   "zone %s: no NSEC for NODATA at %s", zs, qs);
		/* An empty non-terminal: the next name is below qname
		 * (RFC 4035 §3.1.3.2 and §5.4). */
		if (ldns_dname_is_subdomain(ldns_rr_rdf(cov, 0), qname)) {
			ost_val_secure(v);
			return OST_SEC_SECURE;
		}
		/* Wildcard NODATA (RFC 4035 §3.1.3.4): qname is covered and
		 * the wildcard at its closest encloser lacks the type. */
		ce = closest_encloser(cov, qname);
		wc = wildcard_at(qname, ce);
		wcn = wc ? find_match(nsecs, zone, wc) : NULL;
		ldns_rdf_deep_free(wc);
		if (!wcn)
			return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
					   "zone %s: NSEC shows %s does not exist (not NODATA)", zs,
					   qs);
		return nodata_at(wcn, qname, qtype, zs, qs, v);
	case OST_DENY_NXDOMAIN:
		if (find_match(nsecs, zone, qname))
			return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
					   "zone %s: NSEC shows %s exists", zs, qs);
		cov = find_cover(nsecs, zone, qname);
		if (!cov)
			return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
					   "zone %s: no NSEC proves %s does not exist", zs, qs);
		/* A next name below qname makes qname an empty non-terminal:
		 * it exists (RFC 4035 §3.1.3.2), so this is no NXDOMAIN. */
		if (ldns_dname_is_subdomain(ldns_rr_rdf(cov, 0), qname))
			return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
					   "zone %s: NSEC shows %s is an empty non-terminal", zs,
					   qs);
		/* RFC 4035 §5.4: also no wildcard at the closest encloser. */
		ce = closest_encloser(cov, qname);
		if (ce < ldns_dname_label_count(zone))
			return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
					   "zone %s: NSEC for %s is outside the zone", zs, qs);
		wc = wildcard_at(qname, ce);
		if (!wc)
			return ost_val_internal(c, v, "out of memory");
		sec = find_match(nsecs, zone, wc)   ? OST_SEC_BOGUS
		      : find_cover(nsecs, zone, wc) ? OST_SEC_SECURE
						    : OST_SEC_BOGUS;
		ldns_rdf_deep_free(wc);
		if (sec != OST_SEC_SECURE)
			return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
					   "zone %s: no NSEC denies the wildcard for %s", zs, qs);
		ost_val_secure(v);
		return OST_SEC_SECURE;
	case OST_DENY_WILDCARD:
		/* RFC 4035 §5.3.4: the expanded name itself must not exist and
		 * its closest encloser must be the wildcard's parent. */
		cov = find_cover(nsecs, zone, qname);
		if (!cov || closest_encloser(cov, qname) != wc_labels)
			return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS,
					   "zone %s: no NSEC proves the wildcard expansion of %s",
					   zs, qs);
		ost_val_secure(v);
		return OST_SEC_SECURE;
	case OST_DENY_COUNT:
		break;
	}
	return ost_val_set(v, OST_SEC_BOGUS, OST_EDE_DNSSEC_BOGUS, "bad denial kind");
}
