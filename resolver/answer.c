/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Answers to clients: ost_result_to_wire() builds the response to a client
 * from a finished resolution with ldns (ID, question, flags, EDNS with the
 * Extended DNS Error option, truncation); the OST_CTAG_MSG payload format is
 * defined here, with its encoder (ost_msg_encode, used when a result is
 * cached) and the allocation-free decoder the server's cache-hit path calls
 * (ost_msg_to_wire).
 *
 * OST_CTAG_MSG payload, version 1 (host byte order for our own fields; the
 * cache is local to the host):
 *
 *   u8  version (1)       u8 flags (reserved)   u8 rcode   u8 qname_len
 *   u16 qtype             u16 qclass
 *   u16 ancount           u16 nscount           u16 arcount   u16 n_rr
 *   qname_len bytes: the question name, uncompressed wire
 *   n_rr descriptors of 8 bytes: u16 offset, u16 length, u16 type,
 *                                u8 section, u8 owner_len
 *   the records, each in uncompressed wire form (owner, type, class, TTL,
 *   RDLENGTH, RDATA) at its descriptor's offset from the start of this block
 *
 * The descriptors let the hit path skip DNSSEC records for DO=0 clients and
 * find each TTL (at offset + owner_len + 4) without parsing a name. Records
 * are stored uncompressed so they can be copied after any question.
 */
#include <errno.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/error.h"

#include "internal.h"

/** EDNS option code of Extended DNS Errors (RFC 8914 §2). */
#define EDNS_OPT_EDE 15

static bool is_dnssec_type(uint16_t t)
{
	return t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_NSEC || t == LDNS_RR_TYPE_NSEC3;
}

/* RFC 4035 §3.2.1: without DO, leave DNSSEC records out unless asked for. */
static bool keep_rr(uint16_t type, uint16_t qtype, bool do_bit)
{
	return do_bit || !is_dnssec_type(type) || type == qtype;
}

static int push_section(ldns_rr_list *dst, const ldns_rr_list *src, uint16_t qtype, bool do_bit)
{
	for (size_t i = 0; src && i < ldns_rr_list_rr_count(src); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(src, i);
		if (!keep_rr(ldns_rr_get_type(rr), qtype, do_bit))
			continue;
		if (ost_rr_list_push_clone(dst, rr) != 0)
			return -ENOMEM;
	}
	return 0;
}

/* The client's UDP limit (RFC 6891 §6.2.5): its EDNS size, never below 512,
 * never above ours; 512 without EDNS; TCP has the 16-bit length only. */
static size_t reply_limit(bool is_tcp, bool edns, uint16_t client_size, uint16_t our_size)
{
	if (is_tcp)
		return 65535;
	if (!edns)
		return 512;
	size_t lim = client_size < 512 ? 512 : client_size;
	return lim > our_size ? our_size : lim;
}

int ost_result_to_wire(const struct ost_result *res, const uint8_t *query, size_t qlen, bool is_tcp,
		       uint16_t edns_size, uint8_t *buf, size_t cap, size_t *len)
{
	ldns_pkt *q = NULL;
	ldns_pkt *p = NULL;
	uint8_t *w = NULL;
	size_t wl = 0;
	int ret = 0;
	if (ldns_wire2pkt(&q, query, qlen) != LDNS_STATUS_OK)
		return OST_EMALFORMED;
	if (ldns_rr_list_rr_count(ldns_pkt_question(q)) != 1) {
		ret = OST_EMALFORMED;
		goto out;
	}
	p = ldns_pkt_new();
	if (!p) {
		ret = -ENOMEM;
		goto out;
	}
	const ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	bool edns = ldns_pkt_edns(q);
	bool do_bit = edns && ldns_pkt_edns_do(q);
	ldns_pkt_set_id(p, ldns_pkt_id(q));
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_opcode(p, LDNS_PACKET_QUERY);
	ldns_pkt_set_rd(p, ldns_pkt_rd(q));
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_cd(p, ldns_pkt_cd(q));
	/* RFC 6840 §5.8: AD only for validated data, to DO or AD askers. */
	ldns_pkt_set_ad(p, res->sec == OST_SEC_SECURE && !ldns_pkt_cd(q) &&
				   (do_bit || ldns_pkt_ad(q)));
	ldns_pkt_set_rcode(p, res->rcode);
	if (ost_rr_list_push_clone(ldns_pkt_question(p), qrr) != 0) {
		ret = -ENOMEM;
		goto out;
	}
	ldns_pkt_set_qdcount(p, 1);
	uint16_t qtype = ldns_rr_get_type(qrr);
	if (push_section(ldns_pkt_answer(p), res->answer, qtype, do_bit) != 0 ||
	    push_section(ldns_pkt_authority(p), res->auth, qtype, do_bit) != 0 ||
	    push_section(ldns_pkt_additional(p), res->add, qtype, do_bit) != 0) {
		ret = -ENOMEM;
		goto out;
	}
	ldns_pkt_set_ancount(p, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_answer(p)));
	ldns_pkt_set_nscount(p, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_authority(p)));
	ldns_pkt_set_arcount(p, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_additional(p)));
	if (edns) {
		ldns_pkt_set_edns_udp_size(p, edns_size);
		ldns_pkt_set_edns_version(p, 0);
		ldns_pkt_set_edns_do(p, do_bit);
		if (res->has_ede) {
			/* RFC 8914 §2: INFO-CODE then EXTRA-TEXT (no NUL). */
			size_t tl = res->ede_text ? strlen(res->ede_text) : 0;
			uint8_t opt[2 + 256];
			if (tl > 256)
				tl = 256;
			ldns_write_uint16(opt, res->ede);
			if (tl)
				memcpy(opt + 2, res->ede_text, tl);
			ldns_edns_option_list *ol = ldns_edns_option_list_new();
			ldns_edns_option *o = ldns_edns_new_from_data(EDNS_OPT_EDE, 2 + tl, opt);
			if (!ol || !o || !ldns_edns_option_list_push(ol, o)) {
				ldns_edns_option_list_deep_free(ol);
				ldns_edns_deep_free(o);
				ret = -ENOMEM;
				goto out;
			}
			ldns_pkt_set_edns_option_list(p, ol);
		}
	}
	if ((ret = ldns_to_ost(ldns_pkt2wire(&w, p, &wl))) != 0)
		goto out;
	size_t limit = reply_limit(is_tcp, edns, ldns_pkt_edns_udp_size(q), edns_size);
	if (wl > limit || wl > cap) {
		/* RFC 2181 §9: set TC and send what fits; we send no records at
		 * all, which clients handle best (they retry over TCP). */
		free(w);
		w = NULL;
		ldns_rr_list_deep_free(ldns_pkt_answer(p));
		ldns_rr_list_deep_free(ldns_pkt_authority(p));
		ldns_rr_list_deep_free(ldns_pkt_additional(p));
		ldns_pkt_set_answer(p, ldns_rr_list_new());
		ldns_pkt_set_authority(p, ldns_rr_list_new());
		ldns_pkt_set_additional(p, ldns_rr_list_new());
		ldns_pkt_set_ancount(p, 0);
		ldns_pkt_set_nscount(p, 0);
		ldns_pkt_set_arcount(p, 0);
		ldns_pkt_set_tc(p, true);
		if ((ret = ldns_to_ost(ldns_pkt2wire(&w, p, &wl))) != 0)
			goto out;
		if (wl > cap) {
			ret = -ENOBUFS;
			goto out;
		}
	}
	memcpy(buf, w, wl);
	*len = wl;
out:
	free(w);
	ldns_pkt_free(p);
	ldns_pkt_free(q);
	return ret;
}

/* ---- OST_CTAG_MSG ---- */

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

int ost_msg_encode(const ldns_rdf *qname, uint16_t qtype, uint16_t qclass, uint8_t rcode,
		   const ldns_rr_list *an, const ldns_rr_list *ns, const ldns_rr_list *ar,
		   struct ost_arena *a, uint8_t **out, uint32_t *len, uint32_t *min_ttl)
{
	const ldns_rr_list *secs[3] = {an, ns, ar};
	size_t n = 0;
	for (int s = 0; s < 3; s++)
		n += secs[s] ? ldns_rr_list_rr_count(secs[s]) : 0;
	if (n > 0xffff || ldns_rdf_size(qname) > 255)
		return -E2BIG;
	ldns_buffer *b = ldns_buffer_new(512);
	if (!b)
		return -ENOMEM;
	size_t desc_at = OST_MSG_HDR_LEN + ldns_rdf_size(qname);
	size_t recs_at = desc_at + n * OST_MSG_DESC_LEN;
	uint8_t *descs = ost_arena_alloc(a, n * OST_MSG_DESC_LEN + 1);
	int ret = descs ? 0 : -ENOMEM;
	uint32_t mttl = UINT32_MAX;
	size_t k = 0;
	for (int s = 0; s < 3 && ret == 0; s++) {
		for (size_t i = 0; secs[s] && i < ldns_rr_list_rr_count(secs[s]); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(secs[s], i);
			size_t off = ldns_buffer_position(b);
			if (ldns_rr2buffer_wire(b, rr, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK ||
			    ldns_buffer_position(b) > 0xffff) {
				ret = -E2BIG;
				break;
			}
			uint8_t *d = descs + k++ * OST_MSG_DESC_LEN;
			put16(d, (uint16_t)off);
			put16(d + 2, (uint16_t)(ldns_buffer_position(b) - off));
			put16(d + 4, ldns_rr_get_type(rr));
			d[6] = (uint8_t)s;
			d[7] = (uint8_t)ldns_rdf_size(ldns_rr_owner(rr));
			uint32_t ttl = ldns_rr_ttl(rr);
			/* RFC 2308 §5: a negative answer lives min(SOA TTL,
			 * SOA MINIMUM), and the SOA is served with that TTL. */
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && s == 1 &&
			    ldns_rr_rd_count(rr) >= 7) {
				uint32_t minimum = ldns_rdf2native_int32(ldns_rr_rdf(rr, 6));
				if (minimum < ttl) {
					ttl = minimum;
					ldns_write_uint32(ldns_buffer_at(b, off + d[7] + 4), ttl);
				}
			}
			if (ttl < mttl)
				mttl = ttl;
		}
	}
	if (ret == 0) {
		size_t total = recs_at + ldns_buffer_position(b);
		uint8_t *p = ost_arena_alloc(a, total);
		if (!p) {
			ret = -ENOMEM;
		} else {
			p[0] = OST_MSG_VERSION;
			p[1] = 0;
			p[2] = rcode;
			p[3] = (uint8_t)ldns_rdf_size(qname);
			put16(p + 4, qtype);
			put16(p + 6, qclass);
			put16(p + 8, (uint16_t)(an ? ldns_rr_list_rr_count(an) : 0));
			put16(p + 10, (uint16_t)(ns ? ldns_rr_list_rr_count(ns) : 0));
			put16(p + 12, (uint16_t)(ar ? ldns_rr_list_rr_count(ar) : 0));
			put16(p + 14, (uint16_t)n);
			memcpy(p + OST_MSG_HDR_LEN, ldns_rdf_data(qname), ldns_rdf_size(qname));
			memcpy(p + desc_at, descs, n * OST_MSG_DESC_LEN);
			memcpy(p + recs_at, ldns_buffer_begin(b), ldns_buffer_position(b));
			*out = p;
			*len = (uint32_t)total;
			*min_ttl = mttl == UINT32_MAX ? 0 : mttl;
		}
	}
	ldns_buffer_free(b);
	return ret;
}

/* Where the parts of a stored message are (its version-1 layout). */
struct msg_layout {
	size_t qname_len; /* the question name, at OST_MSG_HDR_LEN */
	uint16_t n;       /* record descriptors */
	size_t desc_at;   /* the first descriptor */
	size_t recs_at;   /* the first record */
};

/* Check the header of @p e and locate its parts. @return 0 or OST_EMALFORMED */
static inline int msg_layout(const struct ost_cache_entry *e, struct msg_layout *l)
{
	const uint8_t *p = e->data;
	if (!p || e->len < OST_MSG_HDR_LEN || p[0] != OST_MSG_VERSION)
		return OST_EMALFORMED;
	l->qname_len = p[3];
	l->n = get16(p + 14);
	l->desc_at = OST_MSG_HDR_LEN + l->qname_len;
	l->recs_at = l->desc_at + (size_t)l->n * OST_MSG_DESC_LEN;
	return l->recs_at > e->len ? OST_EMALFORMED : 0;
}

int ost_msg_decode(const struct ost_cache_entry *e, uint8_t *rcode, ldns_rr_list *an,
		   ldns_rr_list *ns, ldns_rr_list *ar)
{
	const uint8_t *p = e->data;
	struct msg_layout l;
	if (msg_layout(e, &l) != 0)
		return OST_EMALFORMED;
	ldns_rr_list *secs[3] = {an, ns, ar};
	for (size_t i = 0; i < l.n; i++) {
		const uint8_t *d = p + l.desc_at + i * OST_MSG_DESC_LEN;
		size_t off = get16(d), rl = get16(d + 2);
		uint8_t sec = d[6];
		if (l.recs_at + off + rl > e->len || sec > 2)
			return OST_EMALFORMED;
		size_t pos = 0;
		ldns_rr *rr = NULL;
		/* Parsed by ldns, within the record's own bounds: a payload
		 * that does not parse is never served. */
		if (ldns_wire2rr(&rr, p + l.recs_at + off, rl, &pos, LDNS_SECTION_ANSWER) !=
			    LDNS_STATUS_OK ||
		    pos != rl) {
			ldns_rr_free(rr);
			return OST_EMALFORMED;
		}
		if (!ldns_rr_list_push_rr(secs[sec], rr)) {
			ldns_rr_free(rr);
			return -ENOMEM;
		}
	}
	*rcode = p[2];
	return 0;
}

/* What the hit path needs from the client's query. */
struct hit_query {
	size_t qname_len;  /* length of the question name */
	size_t qend;       /* offset just after the question */
	uint16_t qtype;    /* question type */
	uint16_t qclass;   /* question class */
	bool edns;         /* an OPT record was present */
	bool do_bit;       /* its DO flag */
	uint16_t udp_size; /* its payload size */
};

/* The documented exception to "parse with ldns": a zero-allocation parser of
 * the one question (and the OPT record after it) on the cache-hit path.
 * Anything unusual (compression, several questions, other records) is
 * refused and the caller falls back to the full path. */
static int parse_hit_query(const uint8_t *q, size_t qlen, struct hit_query *hq)
{
	if (qlen < LDNS_HEADER_SIZE + 5)
		return OST_EMALFORMED;
	uint16_t qd = ldns_read_uint16(q + 4), an = ldns_read_uint16(q + 6);
	uint16_t ns = ldns_read_uint16(q + 8), ar = ldns_read_uint16(q + 10);
	if (qd != 1 || an != 0 || ns != 0 || ar > 1 || (q[2] & 0x80))
		return OST_EMALFORMED;
	size_t pos = LDNS_HEADER_SIZE;
	while (pos < qlen && q[pos] != 0) {
		if (q[pos] & 0xc0)
			return OST_EMALFORMED;
		pos += 1 + q[pos];
	}
	if (pos >= qlen || pos + 1 - LDNS_HEADER_SIZE > 255)
		return OST_EMALFORMED;
	pos++;
	hq->qname_len = pos - LDNS_HEADER_SIZE;
	if (pos + 4 > qlen)
		return OST_EMALFORMED;
	hq->qtype = ldns_read_uint16(q + pos);
	hq->qclass = ldns_read_uint16(q + pos + 2);
	pos += 4;
	hq->qend = pos;
	hq->edns = false;
	hq->do_bit = false;
	hq->udp_size = 0;
	if (ar == 1) {
		/* OPT: root owner, type 41, class = size, TTL = ext-rcode,
		 * version, flags (DO = top bit), RDLENGTH. */
		if (pos + 11 > qlen || q[pos] != 0 ||
		    ldns_read_uint16(q + pos + 1) != LDNS_RR_TYPE_OPT)
			return OST_EMALFORMED;
		hq->edns = true;
		hq->udp_size = ldns_read_uint16(q + pos + 3);
		hq->do_bit = (q[pos + 7] & 0x80) != 0;
	}
	return 0;
}

int ost_msg_to_wire(const struct ost_cache_entry *e, const uint8_t *query, size_t qlen,
		    int64_t now_wall, bool is_tcp, uint16_t edns_size, uint8_t *buf, size_t cap,
		    size_t *len)
{
	struct hit_query hq;
	int ret = parse_hit_query(query, qlen, &hq);
	if (ret != 0)
		return ret;
	if (e->tag != OST_CTAG_MSG || e->expires_at <= now_wall)
		return -ENOENT;
	/* Never hand unvalidated or bogus data to a client that wants it
	 * checked (CD=0): the engine resolves and validates instead. */
	if (!(query[3] & 0x10) && ((e->flags & OST_MSG_F_UNVALIDATED) || e->sec == OST_SEC_BOGUS))
		return -ENOENT;
	const uint8_t *p = e->data;
	struct msg_layout l;
	if (msg_layout(e, &l) != 0)
		return OST_EMALFORMED;
	/* The entry must be for this very question (names without case). */
	if (get16(p + 4) != hq.qtype || get16(p + 6) != hq.qclass || l.qname_len != hq.qname_len)
		return -ENOENT;
	for (size_t i = 0; i < l.qname_len; i++) {
		uint8_t a = p[OST_MSG_HDR_LEN + i], b = query[LDNS_HEADER_SIZE + i];
		if (a >= 'A' && a <= 'Z')
			a = (uint8_t)(a + 32);
		if (b >= 'A' && b <= 'Z')
			b = (uint8_t)(b + 32);
		if (a != b)
			return -ENOENT;
	}
	int64_t el = now_wall - e->stored_at;
	uint32_t elapsed = el < 0 ? 0 : (el > UINT32_MAX ? UINT32_MAX : (uint32_t)el);
	size_t limit = reply_limit(is_tcp, hq.edns, hq.udp_size, edns_size);
	size_t opt_len = hq.edns ? 11 : 0;
	if (limit > cap)
		limit = cap;
	if (hq.qend + opt_len > limit)
		return -ENOBUFS;

	/* Header and question, as the client sent them (its ID, its case). */
	memcpy(buf, query, hq.qend);
	buf[2] = (uint8_t)(0x80 | (query[2] & 0x01));                 /* QR, opcode 0, RD copied */
	buf[3] = (uint8_t)(0x80 | (query[3] & 0x10) | (p[2] & 0x0f)); /* RA, CD, rcode */
	if (e->sec == OST_SEC_SECURE && !(query[3] & 0x10) && (hq.do_bit || (query[3] & 0x20)))
		buf[3] |= 0x20; /* AD, RFC 6840 §5.8 */
	size_t pos = hq.qend;
	uint16_t counts[3] = {0, 0, 0};
	bool truncated = false;
	for (size_t i = 0; i < l.n; i++) {
		const uint8_t *d = p + l.desc_at + i * OST_MSG_DESC_LEN;
		size_t off = get16(d), rl = get16(d + 2);
		uint16_t type = get16(d + 4);
		uint8_t sec = d[6], owner_len = d[7];
		if (l.recs_at + off + rl > e->len || sec > 2 || (size_t)owner_len + 10 > rl)
			return OST_EMALFORMED;
		if (!keep_rr(type, hq.qtype, hq.do_bit))
			continue;
		if (pos + rl + opt_len > limit) {
			truncated = true;
			break;
		}
		memcpy(buf + pos, p + l.recs_at + off, rl);
		uint8_t *ttlp = buf + pos + owner_len + 4;
		uint32_t ttl = ldns_read_uint32(ttlp);
		ldns_write_uint32(ttlp, ttl > elapsed ? ttl - elapsed : 0);
		pos += rl;
		counts[sec]++;
	}
	if (truncated) {
		pos = hq.qend;
		counts[0] = counts[1] = counts[2] = 0;
		buf[2] |= 0x02; /* TC */
	}
	ldns_write_uint16(buf + 4, 1);
	ldns_write_uint16(buf + 6, counts[0]);
	ldns_write_uint16(buf + 8, counts[1]);
	ldns_write_uint16(buf + 10, (uint16_t)(counts[2] + (hq.edns ? 1 : 0)));
	if (hq.edns) {
		uint8_t *o = buf + pos;
		o[0] = 0;
		ldns_write_uint16(o + 1, LDNS_RR_TYPE_OPT);
		ldns_write_uint16(o + 3, edns_size);
		ldns_write_uint32(o + 5, hq.do_bit ? 0x8000u : 0);
		ldns_write_uint16(o + 9, 0);
		pos += 11;
	}
	*len = pos;
	return 0;
}
