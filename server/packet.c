/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The zero-allocation client packet classifier and the header-only answers.
 * Every client packet passes through ost_pkt_classify() before anything else
 * looks at it, so it is written for speed and for hostile input: one forward
 * pass, explicit bounds checks, no recursion, no allocation. See packet.h for
 * why this reads the question by hand instead of with ldns_wire2pkt().
 */
#include "packet.h"

#include <string.h>

#include <ldns/ldns.h>

static const char *const verdict_names[OST_PKT_VERDICT_COUNT] = {
	[OST_PKT_DROP] = "drop",     [OST_PKT_QUERY] = "query",     [OST_PKT_FORMERR] = "formerr",
	[OST_PKT_NOTIMP] = "notimp", [OST_PKT_BADVERS] = "badvers",
};

const char *ost_pkt_verdict_str(enum ost_pkt_verdict v)
{
	return (unsigned)v < OST_PKT_VERDICT_COUNT ? verdict_names[v] : "?";
}

int ost_pkt_verdict_rcode(enum ost_pkt_verdict v)
{
	switch (v) {
	case OST_PKT_FORMERR:
		return LDNS_RCODE_FORMERR;
	case OST_PKT_NOTIMP:
		return LDNS_RCODE_NOTIMPL;
	case OST_PKT_BADVERS:
		return 16; /* RFC 6891 9: BADVERS, an extended rcode */
	default:
		return -1;
	}
}

/*
 * Read the name at @pos into @out (uncompressed wire form) and set @end to
 * the offset just after it in the message.
 *
 * RFC 1035 4.1.4 allows a pointer to "a prior occurrence of the same name".
 * We require every pointer to land strictly before the lowest offset read so
 * far (RFC 9267 section 2 explains the loops the looser rule allows); the
 * lowest offset only decreases, so the loop ends after at most @len jumps.
 * Pointers into the 12-byte header are never names and are rejected. Label
 * types 01 and 10 (RFC 6891 5, obsolete) are malformed here.
 */
static bool parse_name(const uint8_t *pkt, size_t len, size_t pos, uint8_t *out, uint8_t *out_len,
		       size_t *end)
{
	size_t lowest = pos;
	size_t n = 0;
	bool jumped = false;
	for (;;) {
		if (pos >= len)
			return false;
		uint8_t c = pkt[pos];
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return false;
			size_t ptr = ((size_t)(c & 0x3f) << 8) | pkt[pos + 1];
			if (ptr >= lowest || ptr < LDNS_HEADER_SIZE)
				return false;
			if (!jumped)
				*end = pos + 2;
			jumped = true;
			lowest = ptr;
			pos = ptr;
			continue;
		}
		if (c & 0xc0)
			return false;
		/* Room for this label and, unless it is the root, the root label still to come. */
		if (n + 1 + c + (c ? 1u : 0u) > OST_PKT_NAME_MAX || pos + 1 + c > len)
			return false;
		out[n++] = c;
		if (c == 0)
			break;
		memcpy(out + n, pkt + pos + 1, c);
		n += c;
		pos += 1 + (size_t)c;
	}
	if (!jumped)
		*end = pos + 1;
	*out_len = (uint8_t)n;
	return true;
}

/*
 * Step over a name in a record we do not keep. Only its extent matters: it
 * ends at the root label or at its first pointer (which must point backwards
 * and past the header, like above).
 */
static bool skip_name(const uint8_t *pkt, size_t len, size_t *pos)
{
	size_t p = *pos, total = 0;
	for (;;) {
		if (p >= len)
			return false;
		uint8_t c = pkt[p];
		if ((c & 0xc0) == 0xc0) {
			if (p + 1 >= len)
				return false;
			size_t ptr = ((size_t)(c & 0x3f) << 8) | pkt[p + 1];
			if (ptr >= p || ptr < LDNS_HEADER_SIZE)
				return false;
			*pos = p + 2;
			return true;
		}
		if (c & 0xc0)
			return false;
		total += 1 + (size_t)c;
		if (total > OST_PKT_NAME_MAX)
			return false;
		p += 1 + (size_t)c;
		if (c == 0) {
			*pos = p;
			return true;
		}
	}
}

/* RFC 6891 6.1.2: the OPT pseudo-RR, with its TTL split into extended rcode, version, flags. */
static bool read_opt(const uint8_t *pkt, size_t rr_start, size_t fixed, size_t rdlen,
		     struct ost_question *q)
{
	/* 6.1.1: the owner must be the root; a second OPT is FORMERR. */
	if (fixed != rr_start + 1 || pkt[rr_start] != 0 || q->has_edns)
		return false;
	uint16_t size = ldns_read_uint16(pkt + fixed + 2);
	q->edns_size = size < OST_PKT_UDP_PLAIN ? OST_PKT_UDP_PLAIN : size;
	q->edns_version = pkt[fixed + 5];
	q->edns_do = (pkt[fixed + 6] & 0x80) != 0;
	/* The options must tile RDATA exactly (6.1.2: {code, length, data}*). */
	size_t o = fixed + 10, oend = o + rdlen;
	while (o < oend) {
		if (o + 4 > oend)
			return false;
		size_t olen = ldns_read_uint16(pkt + o + 2);
		if (o + 4 + olen > oend)
			return false;
		o += 4 + olen;
	}
	q->has_edns = true;
	return true;
}

enum ost_pkt_verdict ost_pkt_classify(const uint8_t *pkt, size_t len, struct ost_question *q)
{
	q->has_question = false;
	q->has_edns = false;
	q->edns_size = OST_PKT_UDP_PLAIN;
	q->edns_version = 0;
	q->edns_do = false;
	q->qname_len = 0;
	/* RFC 1035 4.1.1: without a whole header there is no ID to answer to. */
	if (len < LDNS_HEADER_SIZE)
		return OST_PKT_DROP;
	q->id = LDNS_ID_WIRE(pkt);
	q->opcode = (uint8_t)LDNS_OPCODE_WIRE(pkt);
	q->rd = LDNS_RD_WIRE(pkt) != 0;
	q->cd = LDNS_CD_WIRE(pkt) != 0;
	/* Answering a response could start a loop between two servers: drop it. */
	if (LDNS_QR_WIRE(pkt))
		return OST_PKT_DROP;
	if (q->opcode != LDNS_PACKET_QUERY)
		return OST_PKT_NOTIMP;
	/* RFC 9619: a query has exactly one question. */
	if (LDNS_QDCOUNT(pkt) != 1)
		return OST_PKT_FORMERR;
	size_t pos;
	if (!parse_name(pkt, len, LDNS_HEADER_SIZE, q->qname, &q->qname_len, &pos))
		return OST_PKT_FORMERR;
	if (pos + 4 > len)
		return OST_PKT_FORMERR;
	q->qtype = ldns_read_uint16(pkt + pos);
	q->qclass = ldns_read_uint16(pkt + pos + 2);
	pos += 4;
	q->has_question = true;
	/*
	 * Walk the remaining records only to find the OPT in the additional
	 * section; records in the answer and authority sections of a query are
	 * skipped (RFC 1035 leaves them meaningless), but must be well-formed.
	 */
	size_t an = LDNS_ANCOUNT(pkt), ns = LDNS_NSCOUNT(pkt), ar = LDNS_ARCOUNT(pkt);
	for (size_t i = 0; i < an + ns + ar; i++) {
		size_t rr_start = pos;
		if (!skip_name(pkt, len, &pos) || pos + 10 > len)
			return OST_PKT_FORMERR;
		size_t fixed = pos;
		uint16_t type = ldns_read_uint16(pkt + fixed);
		size_t rdlen = ldns_read_uint16(pkt + fixed + 8);
		if (fixed + 10 + rdlen > len)
			return OST_PKT_FORMERR;
		if (type == LDNS_RR_TYPE_OPT) {
			/* 6.1.1: OPT only in the additional section. */
			if (i < an + ns || !read_opt(pkt, rr_start, fixed, rdlen, q)) {
				q->has_edns = false;
				return OST_PKT_FORMERR;
			}
		}
		pos = fixed + 10 + rdlen;
	}
	/* Trailing bytes after the counted records are ignored, as most servers do. */
	if (q->has_edns && q->edns_version > 0)
		return OST_PKT_BADVERS;
	return OST_PKT_QUERY;
}

size_t ost_pkt_write_rcode(const struct ost_question *q, unsigned rcode, uint16_t edns_size,
			   uint8_t *out, size_t cap)
{
	bool opt = q->has_edns || rcode > 15;
	size_t need = LDNS_HEADER_SIZE + (q->has_question ? q->qname_len + 4u : 0) + (opt ? 11 : 0);
	if (cap < need)
		return 0;
	memset(out, 0, LDNS_HEADER_SIZE);
	LDNS_ID_SET(out, q->id);
	LDNS_QR_SET(out);
	LDNS_OPCODE_SET(out, q->opcode & 0x0f);
	if (q->rd)
		LDNS_RD_SET(out);
	LDNS_RA_SET(out);
	if (q->cd)
		LDNS_CD_SET(out);
	LDNS_RCODE_SET(out, rcode & 0x0f);
	size_t pos = LDNS_HEADER_SIZE;
	if (q->has_question) {
		ldns_write_uint16(out + LDNS_QDCOUNT_OFF, 1);
		memcpy(out + pos, q->qname, q->qname_len);
		pos += q->qname_len;
		ldns_write_uint16(out + pos, q->qtype);
		ldns_write_uint16(out + pos + 2, q->qclass);
		pos += 4;
	}
	if (opt) {
		/* RFC 6891 6.1.3: upper 8 rcode bits in the TTL; version 0; DO copied (RFC 3225 3).
		 */
		ldns_write_uint16(out + LDNS_ARCOUNT_OFF, 1);
		out[pos] = 0;
		ldns_write_uint16(out + pos + 1, LDNS_RR_TYPE_OPT);
		ldns_write_uint16(out + pos + 3, edns_size);
		out[pos + 5] = (uint8_t)(rcode >> 4);
		out[pos + 6] = 0;
		out[pos + 7] = q->edns_do ? 0x80 : 0;
		out[pos + 8] = 0;
		ldns_write_uint16(out + pos + 9, 0);
		pos += 11;
	}
	return pos;
}
