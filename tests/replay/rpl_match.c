/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * MATCH and ADJUST for replay entries (FORMAT.md §4): decide whether a
 * message (a query the resolver sent upstream, or an answer it gave the
 * client) matches an ENTRY, and build the reply an ENTRY gives to a query.
 *
 * Sections are compared as multisets of canonical RRs (RFC 4034 §6.2: owner
 * and embedded names lower-cased), so record order and name case do not
 * matter; TTLs are compared only under MATCH ttl. The OPT record is never
 * part of a section: under `all` only its DO bit is compared (a query sent
 * without DO gets an answer without DO), and EDNS options only under
 * ede=/nsid/ednsdata/cookie elements. This is looser than testbound's
 * byte-exact `all` on purpose: record order and compression are not
 * behaviour a client can rely on.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rpl.h"

__attribute__((format(printf, 3, 4))) static bool differ(char *why, size_t whylen, const char *fmt,
							 ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return false;
}

static const ldns_rr *question(const ldns_pkt *p)
{
	return ldns_pkt_qdcount(p) ? ldns_rr_list_rr(ldns_pkt_question(p), 0) : NULL;
}

static void rr_text(const ldns_rr *rr, char *buf, size_t len)
{
	char *s = rr ? ldns_rr2str(rr) : NULL;

	snprintf(buf, len, "%s", s ? s : "(none)");
	/* ldns ends records with a newline */
	size_t n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	free(s);
}

static ldns_rr_list *canonical_sorted(const ldns_rr_list *in, bool rrsig_only)
{
	ldns_rr_list *out = ldns_rr_list_new();

	if (!out)
		return NULL;
	for (size_t i = 0; in && i < ldns_rr_list_rr_count(in); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(in, i);
		if (rrsig_only && ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG)
			continue;
		/* an OPT record is EDNS, not section data */
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT)
			continue;
		ldns_rr *c = ldns_rr_clone(rr);
		if (!c || !ldns_rr_list_push_rr(out, c)) {
			ldns_rr_free(c);
			ldns_rr_list_deep_free(out);
			return NULL;
		}
		ldns_rr2canonical(c);
	}
	ldns_rr_list_sort(out);
	return out;
}

/** Compare one section as a multiset. */
static bool section_equal(const char *name, const ldns_rr_list *want, const ldns_rr_list *got,
			  bool ttl, bool rrsig_only, char *why, size_t whylen)
{
	ldns_rr_list *w = canonical_sorted(want, rrsig_only);
	ldns_rr_list *g = canonical_sorted(got, rrsig_only);
	bool ok = w && g;
	char a[512], b[512];

	if (!ok) {
		differ(why, whylen, "out of memory comparing %s", name);
		goto done;
	}
	if (ldns_rr_list_rr_count(w) != ldns_rr_list_rr_count(g)) {
		ok = differ(why, whylen, "%s section: %zu records expected, %zu found", name,
			    ldns_rr_list_rr_count(w), ldns_rr_list_rr_count(g));
		goto done;
	}
	for (size_t i = 0; i < ldns_rr_list_rr_count(w); i++) {
		const ldns_rr *x = ldns_rr_list_rr(w, i), *y = ldns_rr_list_rr(g, i);
		if (ldns_rr_compare(x, y) != 0 || ldns_rr_get_class(x) != ldns_rr_get_class(y)) {
			rr_text(x, a, sizeof(a));
			rr_text(y, b, sizeof(b));
			ok = differ(why, whylen, "%s section: expected '%s', found '%s'", name, a,
				    b);
			goto done;
		}
		if (ttl && ldns_rr_ttl(x) != ldns_rr_ttl(y)) {
			rr_text(x, a, sizeof(a));
			ok = differ(why, whylen, "%s section: TTL %u expected, %u found in '%s'",
				    name, ldns_rr_ttl(x), ldns_rr_ttl(y), a);
			goto done;
		}
	}
done:
	ldns_rr_list_deep_free(w);
	ldns_rr_list_deep_free(g);
	return ok;
}

static unsigned header_flags(const ldns_pkt *p)
{
	return (unsigned)ldns_pkt_qr(p) << 6 | (unsigned)ldns_pkt_aa(p) << 5 |
	       (unsigned)ldns_pkt_tc(p) << 4 | (unsigned)ldns_pkt_rd(p) << 3 |
	       (unsigned)ldns_pkt_ra(p) << 2 | (unsigned)ldns_pkt_ad(p) << 1 |
	       (unsigned)ldns_pkt_cd(p);
}

static void flags_text(unsigned f, char *buf, size_t len)
{
	static const char *const names[] = {"QR", "AA", "TC", "RD", "RA", "AD", "CD"};

	buf[0] = '\0';
	for (int i = 0; i < 7; i++)
		if (f & (1u << (6 - i))) {
			strncat(buf, names[i], len - strlen(buf) - 1);
			strncat(buf, " ", len - strlen(buf) - 1);
		}
	if (!buf[0])
		snprintf(buf, len, "(none)");
}

static unsigned full_rcode(const ldns_pkt *p)
{
	return (unsigned)ldns_pkt_edns_extended_rcode(p) << 4 | ldns_pkt_get_rcode(p);
}

/** Find EDNS option @p code; @return true and its data when present. */
static bool find_option(const ldns_pkt *p, uint16_t code, const uint8_t **data, size_t *len)
{
	/* ldns parses the option list lazily and caches it in the packet. */
	ldns_edns_option_list *ol = ldns_pkt_edns_get_option_list((ldns_pkt *)p);

	for (size_t i = 0; ol && i < ldns_edns_option_list_get_count(ol); i++) {
		ldns_edns_option *o = ldns_edns_option_list_get_option(ol, i);
		if (ldns_edns_get_code(o) == code) {
			*data = ldns_edns_get_data(o);
			*len = ldns_edns_get_size(o);
			return true;
		}
	}
	return false;
}

static bool match_question(const struct rpl_entry *e, const ldns_pkt *got, uint32_t m, char *why,
			   size_t whylen)
{
	const ldns_rr *wq = question(e->pkt), *gq = question(got);
	char a[300], b[300];

	if (!(m & (RPL_M_QTYPE | RPL_M_QNAME | RPL_M_QCASE | RPL_M_SUBDOMAIN | RPL_M_QUESTION |
		   RPL_M_SERIAL)))
		return true;
	if (!wq)
		return differ(why, whylen, "entry has no question to match");
	if (!gq)
		return differ(why, whylen, "message has no question");
	rr_text(wq, a, sizeof(a));
	rr_text(gq, b, sizeof(b));
	if ((m & (RPL_M_QTYPE | RPL_M_QUESTION)) && ldns_rr_get_type(wq) != ldns_rr_get_type(gq))
		return differ(why, whylen, "qtype: expected '%s', found '%s'", a, b);
	if ((m & RPL_M_QUESTION) && ldns_rr_get_class(wq) != ldns_rr_get_class(gq))
		return differ(why, whylen, "qclass: expected '%s', found '%s'", a, b);
	if ((m & (RPL_M_QNAME | RPL_M_QUESTION)) &&
	    ldns_dname_compare(ldns_rr_owner(wq), ldns_rr_owner(gq)) != 0)
		return differ(why, whylen, "qname: expected '%s', found '%s'", a, b);
	if ((m & RPL_M_QCASE) &&
	    (ldns_rdf_size(ldns_rr_owner(wq)) != ldns_rdf_size(ldns_rr_owner(gq)) ||
	     memcmp(ldns_rdf_data(ldns_rr_owner(wq)), ldns_rdf_data(ldns_rr_owner(gq)),
		    ldns_rdf_size(ldns_rr_owner(wq))) != 0))
		return differ(why, whylen, "qname case: expected '%s', found '%s'", a, b);
	if ((m & RPL_M_SUBDOMAIN) &&
	    ldns_dname_compare(ldns_rr_owner(wq), ldns_rr_owner(gq)) != 0 &&
	    !ldns_dname_is_subdomain(ldns_rr_owner(gq), ldns_rr_owner(wq)))
		return differ(why, whylen, "qname '%s' is not at or below '%s'", b, a);
	if (m & RPL_M_SERIAL) {
		const ldns_rr_list *auth = ldns_pkt_authority(got);
		const ldns_rr *soa = NULL;
		for (size_t i = 0; auth && i < ldns_rr_list_rr_count(auth); i++)
			if (ldns_rr_get_type(ldns_rr_list_rr(auth, i)) == LDNS_RR_TYPE_SOA)
				soa = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(gq) != LDNS_RR_TYPE_IXFR || !soa ||
		    ldns_rr_rd_count(soa) < 3 ||
		    ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)) != e->serial)
			return differ(why, whylen, "not an IXFR with serial %u", e->serial);
	}
	return true;
}

static bool match_edns(const struct rpl_entry *e, const ldns_pkt *got, uint32_t m,
		       enum ost_proto proto, char *why, size_t whylen)
{
	const uint8_t *d;
	size_t len;

	if ((m & RPL_M_DO) && !ldns_pkt_edns_do(got))
		return differ(why, whylen, "DO bit expected");
	if ((m & RPL_M_NOEDNS) && ldns_pkt_edns(got))
		return differ(why, whylen, "no EDNS expected");
	if ((m & RPL_M_UDP) && proto != OST_PROTO_UDP)
		return differ(why, whylen, "UDP expected");
	if ((m & RPL_M_TCP) && proto != OST_PROTO_TCP)
		return differ(why, whylen, "TCP expected");
	if ((m & RPL_M_ALL) && !(m & RPL_M_ALL_NOEDNS) && e->has_do != ldns_pkt_edns_do(got))
		return differ(why, whylen, "DO bit: expected %d, found %d", e->has_do,
			      ldns_pkt_edns_do(got));
	if ((m & RPL_M_EDNS) && (ldns_pkt_edns(got) != ldns_pkt_edns(e->pkt) ||
				 ldns_pkt_edns_version(got) != ldns_pkt_edns_version(e->pkt) ||
				 ldns_pkt_edns_udp_size(got) != ldns_pkt_edns_udp_size(e->pkt)))
		return differ(why, whylen, "EDNS version/payload differ");
	if (m & RPL_M_EDE) {
		/* RFC 8914 §2: INFO-CODE is the first two bytes of option 15. */
		if (!find_option(got, LDNS_EDNS_EDE, &d, &len) || len < 2)
			return differ(why, whylen, "Extended DNS Error expected");
		int code = d[0] << 8 | d[1];
		if (e->ede_code != RPL_EDE_ANY && code != e->ede_code)
			return differ(why, whylen, "EDE %d expected, found %d", e->ede_code, code);
	}
	if ((m & RPL_M_NSID) && !find_option(got, LDNS_EDNS_NSID, &d, &len))
		return differ(why, whylen, "NSID option expected");
	if ((m & RPL_M_CLIENT_COOKIE) &&
	    (!find_option(got, LDNS_EDNS_COOKIE, &d, &len) || len != 8))
		return differ(why, whylen, "client cookie (8 bytes) expected");
	if ((m & RPL_M_SERVER_COOKIE) &&
	    (!find_option(got, LDNS_EDNS_COOKIE, &d, &len) || len != 24))
		return differ(why, whylen, "server cookie (24 bytes) expected");
	if (m & RPL_M_EDNSDATA) {
		ldns_rdf *data = ldns_pkt_edns_data(got);
		size_t glen = data ? ldns_rdf_size(data) : 0;
		if (glen != e->ednsdata_len ||
		    (glen && memcmp(ldns_rdf_data(data), e->ednsdata, glen) != 0))
			return differ(why, whylen, "EDNS option data differ");
	}
	return true;
}

bool rpl_match(const struct rpl_entry *e, const ldns_pkt *got, enum ost_proto proto, char *why,
	       size_t whylen)
{
	uint32_t m = e->match;
	bool ttl = m & RPL_M_TTL;
	char a[64], b[64];

	if (why && whylen)
		why[0] = '\0';
	if (m & RPL_M_ALL_NOEDNS)
		m |= RPL_M_ALL;
	if (m & RPL_M_ALL)
		m |= RPL_M_OPCODE | RPL_M_QUESTION | RPL_M_FLAGS | RPL_M_RCODE | RPL_M_ANSWER |
		     RPL_M_AUTHORITY | RPL_M_ADDITIONAL;
	if ((m & RPL_M_OPCODE) && ldns_pkt_get_opcode(e->pkt) != ldns_pkt_get_opcode(got))
		return differ(why, whylen, "opcode: expected %d, found %d",
			      ldns_pkt_get_opcode(e->pkt), ldns_pkt_get_opcode(got));
	if (!match_question(e, got, m, why, whylen))
		return false;
	if ((m & RPL_M_FLAGS) && header_flags(e->pkt) != header_flags(got)) {
		flags_text(header_flags(e->pkt), a, sizeof(a));
		flags_text(header_flags(got), b, sizeof(b));
		return differ(why, whylen, "flags: expected %s, found %s", a, b);
	}
	if ((m & RPL_M_RCODE) && full_rcode(e->pkt) != full_rcode(got)) {
		ldns_lookup_table *x = ldns_lookup_by_id(ldns_rcodes, (int)full_rcode(e->pkt));
		ldns_lookup_table *y = ldns_lookup_by_id(ldns_rcodes, (int)full_rcode(got));
		return differ(why, whylen, "rcode: expected %s, found %s", x ? x->name : "?",
			      y ? y->name : "?");
	}
	if ((m & RPL_M_ANSWER) && !section_equal("answer", ldns_pkt_answer(e->pkt),
						 ldns_pkt_answer(got), ttl, false, why, whylen))
		return false;
	if ((m & RPL_M_AUTHORITY) &&
	    !section_equal("authority", ldns_pkt_authority(e->pkt), ldns_pkt_authority(got), ttl,
			   false, why, whylen))
		return false;
	if ((m & RPL_M_ADDITIONAL) &&
	    !section_equal("additional", ldns_pkt_additional(e->pkt), ldns_pkt_additional(got), ttl,
			   false, why, whylen))
		return false;
	if ((m & RPL_M_ANSWERRRSIGS) &&
	    !section_equal("answer RRSIG", ldns_pkt_answer(e->pkt), ldns_pkt_answer(got), ttl, true,
			   why, whylen))
		return false;
	if (m & RPL_M_ANSWERTYPES) {
		const ldns_rr_list *x = ldns_pkt_answer(e->pkt), *y = ldns_pkt_answer(got);
		size_t nx = x ? ldns_rr_list_rr_count(x) : 0, ny = y ? ldns_rr_list_rr_count(y) : 0;
		/* the same multiset of types: count each type in both */
		for (size_t i = 0; i < nx + ny; i++) {
			ldns_rr_type t = ldns_rr_get_type(i < nx ? ldns_rr_list_rr(x, i)
								 : ldns_rr_list_rr(y, i - nx));
			size_t cx = 0, cy = 0;
			for (size_t j = 0; j < nx; j++)
				cx += ldns_rr_get_type(ldns_rr_list_rr(x, j)) == t;
			for (size_t j = 0; j < ny; j++)
				cy += ldns_rr_get_type(ldns_rr_list_rr(y, j)) == t;
			if (cx != cy)
				return differ(why, whylen,
					      "answer types: %zu of type %d expected, "
					      "%zu found",
					      cx, t, cy);
		}
	}
	return match_edns(e, got, m, proto, why, whylen);
}

int rpl_entry_reply(const struct rpl_entry *e, const ldns_pkt *query, uint8_t **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (e->raw) {
		*out = malloc(e->raw_len ? e->raw_len : 1);
		if (!*out)
			return -ENOMEM;
		memcpy(*out, e->raw, e->raw_len);
		*outlen = e->raw_len;
		if (query && (e->adjust & (RPL_A_COPY_ID | RPL_A_RAW_ID)) && e->raw_len >= 2) {
			(*out)[0] = (uint8_t)(ldns_pkt_id(query) >> 8);
			(*out)[1] = (uint8_t)ldns_pkt_id(query);
		}
		return 0;
	}
	ldns_pkt *p = ldns_pkt_clone(e->pkt);
	if (!p)
		return -ENOMEM;
	const ldns_rr *qq = query ? question(query) : NULL;
	if (query && (e->adjust & RPL_A_COPY_ID)) {
		ldns_pkt_set_id(p, ldns_pkt_id(query));
		/* Deckard: copy_id also copies the qname with its case (0x20). */
		const ldns_rr *pq = question(p);
		if (pq && qq && ldns_dname_compare(ldns_rr_owner(pq), ldns_rr_owner(qq)) == 0)
			memcpy(ldns_rdf_data(ldns_rr_owner(pq)), ldns_rdf_data(ldns_rr_owner(qq)),
			       ldns_rdf_size(ldns_rr_owner(qq)));
	}
	if (qq && (e->adjust & RPL_A_COPY_QUERY)) {
		ldns_rr_list *ql = ldns_rr_list_clone(ldns_pkt_question(query));
		if (!ql) {
			ldns_pkt_free(p);
			return -ENOMEM;
		}
		ldns_rr_list_deep_free(ldns_pkt_question(p));
		ldns_pkt_set_question(p, ql);
		ldns_pkt_set_qdcount(p, (uint16_t)ldns_rr_list_rr_count(ql));
	}
	ldns_status st = ldns_pkt2wire(out, p, outlen);
	ldns_pkt_free(p);
	return st == LDNS_STATUS_OK ? 0 : (st == LDNS_STATUS_MEM_ERR ? -ENOMEM : -EINVAL);
}

int rpl_entry_query(const struct rpl_entry *e, uint16_t id, uint8_t **out, size_t *outlen)
{
	ldns_pkt *p = ldns_pkt_clone(e->pkt);
	ldns_status st;

	if (!p)
		return -ENOMEM;
	ldns_pkt_set_id(p, id);
	if (e->ednsdata_len) {
		ldns_rdf *d =
			ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, e->ednsdata_len, e->ednsdata);
		if (!d) {
			ldns_pkt_free(p);
			return -ENOMEM;
		}
		ldns_pkt_set_edns_data(p, d);
		if (!ldns_pkt_edns_udp_size(p))
			ldns_pkt_set_edns_udp_size(p, 4096);
	}
	st = ldns_pkt2wire(out, p, outlen);
	ldns_pkt_free(p);
	return st == LDNS_STATUS_OK ? 0 : (st == LDNS_STATUS_MEM_ERR ? -ENOMEM : -EINVAL);
}
