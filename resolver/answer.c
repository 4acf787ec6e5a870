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
 * find each record's fixed part (TTL at offset + owner_len + 4) without
 * parsing a name. Records are stored uncompressed so they can follow any
 * question; ost_msg_to_wire() compresses their owner names against the
 * question and the owners before them as it copies them.
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

size_t ost_msg_put_head(uint8_t *p, uint8_t rcode, const uint8_t *qname, size_t qname_len,
			uint16_t qtype, uint16_t qclass, const uint16_t counts[3], uint16_t n)
{
	p[0] = OST_MSG_VERSION;
	p[1] = 0;
	p[2] = rcode;
	p[3] = (uint8_t)qname_len;
	put16(p + 4, qtype);
	put16(p + 6, qclass);
	put16(p + 8, counts[0]);
	put16(p + 10, counts[1]);
	put16(p + 12, counts[2]);
	put16(p + 14, n);
	memcpy(p + OST_MSG_HDR_LEN, qname, qname_len);
	return OST_MSG_HDR_LEN + qname_len;
}

void ost_msg_put_desc(uint8_t *d, size_t off, size_t len, uint16_t type, uint8_t sec,
		      uint8_t owner_len)
{
	put16(d, (uint16_t)off);
	put16(d + 2, (uint16_t)len);
	put16(d + 4, type);
	d[6] = sec;
	d[7] = owner_len;
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
			ost_msg_put_desc(d, off, ldns_buffer_position(b) - off,
					 ldns_rr_get_type(rr), (uint8_t)s,
					 (uint8_t)ldns_rdf_size(ldns_rr_owner(rr)));
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
			uint16_t counts[3];
			for (int s = 0; s < 3; s++)
				counts[s] =
					(uint16_t)(secs[s] ? ldns_rr_list_rr_count(secs[s]) : 0);
			(void)ost_msg_put_head(p, rcode, ldns_rdf_data(qname), ldns_rdf_size(qname),
					       qtype, qclass, counts, (uint16_t)n);
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
	uint8_t nlab;      /* labels of the question name, the root not counted */
	uint8_t lab[128];  /* where each starts, from the start of the name */
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
	hq->nlab = 0;
	while (pos < qlen && q[pos] != 0) {
		if (q[pos] & 0xc0 || pos + 1 - LDNS_HEADER_SIZE > 255)
			return OST_EMALFORMED;
		hq->lab[hq->nlab++] = (uint8_t)(pos - LDNS_HEADER_SIZE);
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

/* Owner-name compression (RFC 1035 §4.1.4) on the hit path. Records are
 * stored with their owners in full so they can follow any question; the reply
 * is compressed here as the engine's own (ldns) replies are, so a cached DO=1
 * answer is no larger than the first one and fits the client's limit as that
 * did (RFC 9715's 1232 bytes, for one). Only owners are compressed: RDATA is
 * copied as stored (RFC 3597 §4; an RRSIG's signer name must not be, RFC 4034
 * §3.1.7). A pointer goes to the longest label suffix of the question name
 * the owner shares (the question is written first, at offset 12), or to an
 * identical owner written a few records earlier (an RRset's RRSIGs follow it,
 * NSEC and NSEC3 proofs repeat owners); nothing is allocated and each owner
 * costs one walk over its labels. */

/** Owners remembered per reply for exact reuse. */
#define OWNER_MEMO 4

/* One owner already written in this reply. */
struct owner_memo {
	const uint8_t *name; /* the stored owner, in the payload */
	size_t len;          /* its length */
	uint16_t ptr;        /* the compression pointer to it in the reply */
};

/* How one owner is written: its first @p prefix bytes as stored, then the
 * pointer @p ptr; or the whole name when @p ptr is 0. */
struct owner_enc {
	size_t prefix; /* bytes of labels copied before the pointer */
	uint16_t ptr;  /* 0xc000 | offset, or 0 for no pointer */
	bool is_memo;  /* a pointer to an owner written before */
};

static inline uint8_t fold(uint8_t c)
{
	return (uint8_t)((unsigned)(c - 'A') < 26u ? c + 32 : c);
}

/* Two labels (length byte first) without case (RFC 4343). Labels are short
 * and stored names usually share their (lower) case: an inline loop that
 * folds only differing bytes beats a memcmp call here. */
static inline bool label_eq(const uint8_t *a, const uint8_t *b)
{
	if (a[0] != b[0])
		return false;
	for (size_t i = 1; i <= a[0]; i++)
		if (a[i] != b[i] && fold(a[i]) != fold(b[i]))
			return false;
	return true;
}

/* Choose the encoding of a stored owner. @p qn is the question name as the
 * payload stores it: it equals the client's without case, so it has the same
 * labels at the same offsets (hq->lab), and a suffix of it found here is the
 * same suffix of the question the reply carries at offset LDNS_HEADER_SIZE;
 * comparing with stored bytes lets the usual all-lowercase case be a plain
 * memcmp. The owner bytes come from the cache file, so they are checked to be
 * one uncompressed name of exactly @p len bytes before any label of theirs
 * is copied or pointed past. @return 0 or OST_EMALFORMED */
static int encode_owner(const uint8_t *owner, size_t len, const uint8_t *qn,
			const struct hit_query *hq, const struct owner_memo *memo, unsigned n_memo,
			struct owner_enc *enc)
{
	enc->is_memo = false;
	if (len == 1 && owner[0] == 0) {
		enc->prefix = 1; /* the root: shorter than any pointer */
		enc->ptr = 0;
		return 0;
	}
	for (unsigned k = 0; k < n_memo; k++) {
		/* (len >= 2 here: bytes 0 and 1 tell most owners apart
		 * without a call, NSEC3 hashes of one length too) */
		if (memo[k].len == len && memo[k].name[1] == owner[1] &&
		    memcmp(memo[k].name, owner, len) == 0) {
			enc->prefix = 0;
			enc->ptr = memo[k].ptr;
			enc->is_memo = true;
			return 0;
		}
	}
	/* The common case: the owner is the question name, byte for byte
	 * (so a valid name too). Other spellings take the walk below. */
	if (len == hq->qname_len && memcmp(owner, qn, len) == 0) {
		enc->prefix = 0;
		enc->ptr = 0xc000 | LDNS_HEADER_SIZE;
		return 0;
	}
	uint8_t lab[128];
	unsigned n = 0;
	size_t pos = 0;
	while (pos < len && owner[pos] != 0) {
		if ((owner[pos] & 0xc0) || n >= sizeof(lab))
			return OST_EMALFORMED;
		lab[n++] = (uint8_t)pos;
		pos += 1u + owner[pos];
	}
	if (pos + 1 != len)
		return OST_EMALFORMED;
	/* Labels match from the right: owner labels [i, n) equal question
	 * labels [j, nlab) (a name's suffixes are its trailing labels). */
	unsigned i = n, j = hq->nlab;
	while (i > 0 && j > 0 && label_eq(owner + lab[i - 1], qn + hq->lab[j - 1])) {
		i--;
		j--;
	}
	if (i == n) {
		enc->prefix = len; /* nothing but the root in common */
		enc->ptr = 0;
	} else {
		enc->prefix = lab[i];
		enc->ptr = (uint16_t)(0xc000 | (LDNS_HEADER_SIZE + hq->lab[j]));
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
	if (memcmp(p + OST_MSG_HDR_LEN, query + LDNS_HEADER_SIZE, l.qname_len) != 0) {
		for (size_t i = 0; i < l.qname_len; i++)
			if (fold(p[OST_MSG_HDR_LEN + i]) != fold(query[LDNS_HEADER_SIZE + i]))
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
	struct owner_memo memo[OWNER_MEMO];
	unsigned n_memo = 0, next_memo = 0;
	for (size_t i = 0; i < l.n; i++) {
		const uint8_t *d = p + l.desc_at + i * OST_MSG_DESC_LEN;
		size_t off = get16(d), rl = get16(d + 2);
		uint16_t type = get16(d + 4);
		uint8_t sec = d[6], owner_len = d[7];
		if (l.recs_at + off + rl > e->len || sec > 2 || (size_t)owner_len + 10 > rl)
			return OST_EMALFORMED;
		if (!keep_rr(type, hq.qtype, hq.do_bit))
			continue;
		const uint8_t *rec = p + l.recs_at + off;
		struct owner_enc enc;
		if (encode_owner(rec, owner_len, p + OST_MSG_HDR_LEN, &hq, memo, n_memo, &enc) != 0)
			return OST_EMALFORMED;
		size_t wl = enc.prefix + (enc.ptr ? 2 : 0); /* the owner as written */
		if (pos + wl + (rl - owner_len) + opt_len > limit) {
			truncated = true;
			break;
		}
		/* Remember a new owner where a pointer can reach it (RFC 1035
		 * §4.1.4: 14-bit offsets); a bare pointer is remembered as is. */
		if (!enc.is_memo && owner_len > 1 && (enc.prefix == 0 || pos < 0x4000)) {
			memo[next_memo].name = rec;
			memo[next_memo].len = owner_len;
			memo[next_memo].ptr = enc.prefix ? (uint16_t)(0xc000 | pos) : enc.ptr;
			next_memo = (next_memo + 1) % OWNER_MEMO;
			if (n_memo < OWNER_MEMO)
				n_memo++;
		}
		memcpy(buf + pos, rec, enc.prefix);
		if (enc.ptr)
			ldns_write_uint16(buf + pos + enc.prefix, enc.ptr);
		pos += wl;
		memcpy(buf + pos, rec + owner_len, rl - owner_len);
		uint8_t *ttlp = buf + pos + 4;
		uint32_t ttl = ldns_read_uint32(ttlp);
		ldns_write_uint32(ttlp, ttl > elapsed ? ttl - elapsed : 0);
		pos += rl - owner_len;
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
