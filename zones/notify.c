/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * NOTIFY (RFC 1996) on the wire: parsing an incoming NOTIFY, answering it,
 * and building the NOTIFY ostrovd sends to its downstream mirrors when a new
 * version was imported. Who may notify (only a configured source of the
 * zone) is decided by the refresh scheduler (refresh.c), which also does what
 * a NOTIFY asks: check the SOA now.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/xfr.h"

int ost_notify_parse(const uint8_t *pkt, size_t len, struct ost_notify *out)
{
	ldns_pkt *p = NULL;
	int rc = OST_EMALFORMED;

	memset(out, 0, sizeof(*out));
	if (len < LDNS_HEADER_SIZE || ldns_wire2pkt(&p, pkt, len) != LDNS_STATUS_OK)
		return OST_EMALFORMED;
	/* RFC 1996 §3.7: opcode NOTIFY, QR=0, QDCOUNT 1 naming the zone, QTYPE SOA. */
	const ldns_rr_list *qd = ldns_pkt_question(p);
	if (ldns_pkt_get_opcode(p) != LDNS_PACKET_NOTIFY || ldns_pkt_qr(p) ||
	    ldns_rr_list_rr_count(qd) != 1)
		goto out;
	const ldns_rr *q = ldns_rr_list_rr(qd, 0);
	if (ldns_rr_get_type(q) != LDNS_RR_TYPE_SOA || ldns_rr_get_class(q) != LDNS_RR_CLASS_IN)
		goto out;
	ldns_rdf *zone = ldns_rdf_clone(ldns_rr_owner(q));
	if (!zone)
		goto out;
	ldns_dname2canonical(zone);
	char *zs = ldns_rdf2str(zone);
	if (zs)
		snprintf(out->zone, sizeof(out->zone), "%s", zs);
	free(zs);
	out->id = ldns_pkt_id(p);
	/* §3.7: an SOA in the answer section is a hint of the new serial. */
	const ldns_rr_list *an = ldns_pkt_answer(p);
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7 &&
		    ldns_dname_compare(ldns_rr_owner(rr), zone) == 0 &&
		    ldns_rdf_size(ldns_rr_rdf(rr, 2)) == 4) {
			out->has_serial = true;
			out->serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
		}
	}
	ldns_rdf_deep_free(zone);
	rc = zs ? 0 : -ENOMEM;
out:
	ldns_pkt_free(p);
	return rc;
}

/* Write @p p into @p buf: 0, -ENOMEM, or -ENOBUFS when it does not fit in @p cap. */
static int pkt_to_buf(const ldns_pkt *p, uint8_t *buf, size_t cap, size_t *out_len)
{
	uint8_t *w = NULL;
	size_t wl = 0;
	int rc = -ENOMEM;

	if (ldns_pkt2wire(&w, p, &wl) != LDNS_STATUS_OK)
		goto out;
	rc = -ENOBUFS;
	if (wl > cap)
		goto out;
	memcpy(buf, w, wl);
	*out_len = wl;
	rc = 0;
out:
	free(w);
	return rc;
}

int ost_notify_answer(const uint8_t *pkt, size_t len, uint8_t rcode, uint8_t *buf, size_t cap,
		      size_t *out_len)
{
	ldns_pkt *p = NULL, *a = NULL;
	int rc = OST_EMALFORMED;

	if (ldns_wire2pkt(&p, pkt, len) != LDNS_STATUS_OK)
		return OST_EMALFORMED;
	if (ldns_rr_list_rr_count(ldns_pkt_question(p)) != 1)
		goto out;
	rc = -ENOMEM;
	if (!(a = ldns_pkt_new()))
		goto out;
	ldns_pkt_set_id(a, ldns_pkt_id(p));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_aa(a, true);
	ldns_pkt_set_opcode(a, LDNS_PACKET_NOTIFY);
	ldns_pkt_set_rcode(a, rcode);
	ldns_rr *q = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(p), 0));
	if (!q || !ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, q)) {
		ldns_rr_free(q);
		goto out;
	}
	rc = pkt_to_buf(a, buf, cap, out_len);
out:
	ldns_pkt_free(a);
	ldns_pkt_free(p);
	return rc;
}

int ost_notify_build(const char *zone, uint32_t serial, uint16_t id, uint8_t *buf, size_t cap,
		     size_t *out_len)
{
	ldns_rdf *z = NULL;
	ldns_pkt *p = NULL;
	ldns_rr *soa = NULL;
	char text[600];
	int rc = -ENOMEM;

	if (ldns_str2rdf_dname(&z, zone) != LDNS_STATUS_OK)
		return -EINVAL;
	p = ldns_pkt_query_new(z, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, LDNS_AA);
	if (!p)
		return -ENOMEM;
	ldns_pkt_set_opcode(p, LDNS_PACKET_NOTIFY);
	ldns_pkt_set_id(p, id);
	snprintf(text, sizeof(text), "%s 0 IN SOA . . %u 0 0 0 0", zone, serial);
	if (ldns_rr_new_frm_str(&soa, text, 0, NULL, NULL) != LDNS_STATUS_OK) {
		rc = -EINVAL;
		goto out;
	}
	if (!ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, soa)) {
		ldns_rr_free(soa);
		goto out;
	}
	rc = pkt_to_buf(p, buf, cap, out_len);
out:
	ldns_pkt_free(p);
	return rc;
}
