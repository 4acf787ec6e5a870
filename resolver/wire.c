/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ldns helpers of the engine: the one mapping of ldns_status to ostrov errors
 * (ldns_to_ost), the CSPRNG buffer behind query IDs, ownership glue that hands
 * ldns objects to a task's arena, case-insensitive name tests, DNAME
 * substitution, and building and checking query messages. Everything that
 * reads or writes DNS wire data goes through ldns; this file only adapts it.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <ldns/ldns.h>
#include <openssl/rand.h>

#include "ostrov/error.h"

#include "internal.h"

int ldns_to_ost(ldns_status st)
{
	switch (st) {
	case LDNS_STATUS_OK:
		return 0;
	case LDNS_STATUS_MEM_ERR:
		return -ENOMEM;
	case LDNS_STATUS_NULL:
	case LDNS_STATUS_INVALID_POINTER:
		return -EINVAL;
	default:
		return OST_EMALFORMED;
	}
}

uint16_t ost_rand16(struct ost_resolver *r)
{
	/* Query IDs must be unpredictable (RFC 5452 §9.2). RAND_bytes is a
	 * CSPRNG; calling it once per 128 IDs keeps its cost off the send path.
	 * If it ever fails we abort rather than send predictable IDs. */
	if (r->rnd_used + 2 > sizeof(r->rnd)) {
		ost_require(RAND_bytes(r->rnd, (int)sizeof(r->rnd)) == 1);
		r->rnd_used = 0;
	}
	uint16_t v = (uint16_t)(r->rnd[r->rnd_used] << 8 | r->rnd[r->rnd_used + 1]);
	r->rnd_used += 2;
	return v;
}

static void free_rdf(void *p)
{
	ldns_rdf_deep_free(p);
}

static void free_rr_list(void *p)
{
	ldns_rr_list_deep_free(p);
}

static void free_pkt(void *p)
{
	ldns_pkt_free(p);
}

ldns_rdf *ost_arena_rdf(struct ost_arena *a, ldns_rdf *rdf)
{
	if (!rdf || ost_arena_defer(a, free_rdf, rdf) != 0)
		return NULL;
	return rdf;
}

ldns_rr_list *ost_arena_rr_list(struct ost_arena *a, ldns_rr_list *l)
{
	if (!l || ost_arena_defer(a, free_rr_list, l) != 0)
		return NULL;
	return l;
}

ldns_pkt *ost_arena_pkt(struct ost_arena *a, ldns_pkt *p)
{
	if (!p || ost_arena_defer(a, free_pkt, p) != 0)
		return NULL;
	return p;
}

bool ost_dname_eq(const ldns_rdf *a, const ldns_rdf *b)
{
	return ldns_dname_compare(a, b) == 0;
}

/*
 * ldns_dname_is_subdomain() clones and chops both names on every call (two
 * to four allocations), and the engine asks this for nearly every record of
 * every reply. Both are uncompressed wire names; @p name is @p zone or below
 * it when, at one of its label boundaries, the rest of it equals @p zone
 * ignoring ASCII case (RFC 4343). Length octets are below 64, so the case
 * folding never touches them, and equal bytes from a boundary of each name
 * means equal labels.
 */
bool ost_dname_under(const ldns_rdf *name, const ldns_rdf *zone)
{
	if (!name || !zone || ldns_rdf_get_type(name) != LDNS_RDF_TYPE_DNAME ||
	    ldns_rdf_get_type(zone) != LDNS_RDF_TYPE_DNAME)
		return false;
	const uint8_t *n = ldns_rdf_data(name), *z = ldns_rdf_data(zone);
	size_t nl = ldns_rdf_size(name), zl = ldns_rdf_size(zone);
	for (size_t i = 0; i < nl && nl - i >= zl; i += (size_t)n[i] + 1) {
		if (nl - i == zl) {
			size_t k = 0;
			while (k < zl && tolower(n[i + k]) == tolower(z[k]))
				k++;
			return k == zl;
		}
		if (n[i] == 0)
			break;
	}
	return false;
}

ldns_rdf *ost_dname_substitute(const ldns_rdf *name, const ldns_rdf *from, const ldns_rdf *to)
{
	/* RFC 6672 §2.2: the labels of @p name above @p from are kept, @p from
	 * is replaced by @p to. The kept labels are a prefix of the wire form,
	 * so the new name is that prefix followed by @p to. A result over 255
	 * octets is YXDOMAIN for the server; for us it is unusable. */
	if (!ldns_dname_is_subdomain(name, from))
		return NULL;
	size_t keep = ldns_rdf_size(name) - ldns_rdf_size(from);
	size_t total = keep + ldns_rdf_size(to);
	if (total > LDNS_MAX_DOMAINLEN + 1)
		return NULL;
	uint8_t buf[LDNS_MAX_DOMAINLEN + 2];
	memcpy(buf, ldns_rdf_data(name), keep);
	memcpy(buf + keep, ldns_rdf_data(to), ldns_rdf_size(to));
	return ldns_dname_new_frm_data((uint16_t)total, buf);
}

int ost_wire_query(struct ost_arena *a, const ldns_rdf *name, uint16_t type, uint16_t qclass,
		   uint16_t id, bool edns, uint16_t edns_size, bool do_bit, bool rd, bool cd,
		   uint8_t **wire, size_t *len)
{
	ldns_rdf *qn = ldns_rdf_clone(name);
	if (!qn)
		return -ENOMEM;
	ldns_pkt *p = ldns_pkt_query_new(qn, (ldns_rr_type)type, (ldns_rr_class)qclass, 0);
	if (!p) {
		ldns_rdf_deep_free(qn);
		return -ENOMEM;
	}
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_rd(p, rd);
	ldns_pkt_set_cd(p, cd);
	if (edns) {
		ldns_pkt_set_edns_udp_size(p, edns_size);
		ldns_pkt_set_edns_version(p, 0);
		ldns_pkt_set_edns_do(p, do_bit);
	}
	uint8_t *w = NULL;
	size_t wl = 0;
	int ret = ldns_to_ost(ldns_pkt2wire(&w, p, &wl));
	ldns_pkt_free(p);
	if (ret != 0)
		return ret;
	*wire = ost_arena_alloc(a, wl);
	if (!*wire) {
		free(w);
		return -ENOMEM;
	}
	memcpy(*wire, w, wl);
	free(w);
	*len = wl;
	return 0;
}

bool ost_wire_question_matches(const ldns_pkt *p, const ldns_rdf *name, uint16_t type,
			       uint16_t qclass)
{
	/* RFC 5452 §9.1: accept an answer only for the question we asked;
	 * names compare without case (RFC 4343). */
	const ldns_rr_list *q = ldns_pkt_question(p);
	if (!q || ldns_rr_list_rr_count(q) != 1)
		return false;
	const ldns_rr *rr = ldns_rr_list_rr(q, 0);
	return ldns_rr_get_type(rr) == type && ldns_rr_get_class(rr) == qclass &&
	       ost_dname_eq(ldns_rr_owner(rr), name);
}

static bool list_complete(const ldns_rr_list *l)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		uint16_t type = (uint16_t)ldns_rr_get_type(rr);
		const ldns_rr_descriptor *d = ldns_rr_descript(type);
		/* Unknown types (RFC 3597) and opaque ones (NULL) may
		 * have any rdata, even none. */
		if (!d || d->_type != type ||
		    ldns_rr_descriptor_field_type(d, 0) == LDNS_RDF_TYPE_UNKNOWN)
			continue;
		if (ldns_rr_rd_count(rr) < ldns_rr_descriptor_minimum(d))
			return false;
	}
	return true;
}

bool ost_wire_rdata_complete(const ldns_pkt *p)
{
	return list_complete(ldns_pkt_answer(p)) && list_complete(ldns_pkt_authority(p)) &&
	       list_complete(ldns_pkt_additional(p));
}

const char *ost_dname_str(const ldns_rdf *name, char *buf, size_t size)
{
	char *s = name ? ldns_rdf2str(name) : NULL;
	snprintf(buf, size, "%s", s ? s : "?");
	free(s);
	return buf;
}

int ost_rr_list_push_clone(ldns_rr_list *list, const ldns_rr *rr)
{
	ldns_rr *c = ldns_rr_clone(rr);
	if (!c)
		return -ENOMEM;
	if (!ldns_rr_list_push_rr(list, c)) {
		ldns_rr_free(c);
		return -ENOMEM;
	}
	return 0;
}
