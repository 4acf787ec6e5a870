/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The zone mirror's fast path (include/ostrov/resolver.h, ost_mirror_answer):
 * the final answer to a question in a usable mirrored zone, made by the
 * worker straight from the mirror store, as the OST_CTAG_MSG payload the
 * engine would have cached for it, so that the server renders it with the
 * cache-hit path's ost_msg_to_wire() (TTLs, flags, DO stripping, EDNS,
 * truncation all as for a hit).
 *
 * Why: answered through the engine, a first answer from the mirror costs a
 * request and its task machine, ldns packets built and parsed again by the
 * iterator, the answer's encoding and a cache write (LMDB commit and sync in
 * the writer thread) - over six times a cache hit. Yet the mirror is a
 * verified copy under the resolver's own anchors, as cheap to read as the
 * cache: an answer made from it needs no caching.
 *
 * One set of rules (resolver/mirror.c): the same zone choice
 * (ost_mirror_pick(): deepest usable zone, SOA expire deadline, RRSIG
 * horizon, failover policy), the same builder (ost_mirror_build(), here
 * with is_final_only: referrals, CNAME and DNAME links and wildcards PASS),
 * the same verdict (ost_mirror_plan()'s OST_MIRROR_SECURE: a signed copy,
 * anchored in the resolver's own trust anchors, no NTA, validation on;
 * insecure for an NSEC3 opt-out denial) and the TTLs the iterator gives the
 * records it takes (iterate.c: push_capped() to max_ttl, take_negative()'s
 * SOA at min(TTL, MINIMUM) capped by max_neg_ttl). What differs is only the
 * emitter: records are copied from the store's views into the payload,
 * without an ldns object and without allocating (the scratch is allocated
 * once per resolver, the read transaction is kept across questions).
 * tests/unit/resolver/test_mirror_fast.c checks the two paths give the same
 * reply, question by question.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/zone.h"

#include "internal.h"

/* Records one fast answer may hold (an NSEC3 NXDOMAIN has 8). */
#define FAST_MAX_RRS  256
/* Octets of records: descriptor offsets are 16-bit. */
#define FAST_RECS_CAP 65535

struct ost_mirror_fast {
	uint32_t max_ttl;     /* r->cfg.max_ttl, 0 = none */
	uint32_t max_neg_ttl; /* r->cfg.max_neg_ttl, 0 = none */
	uint32_t min_ttl;     /* smallest TTL written */
	uint16_t n;           /* records written */
	uint16_t counts[3];   /* per section */
	uint8_t last_sec;     /* sections come in order */
	bool is_full;         /* a record did not fit: PASS */
	size_t rec_len;       /* octets at recs */
	uint8_t desc[FAST_MAX_RRS * OST_MSG_DESC_LEN];
	uint8_t recs[FAST_RECS_CAP];
	uint8_t msg[OST_MSG_HDR_LEN + LDNS_MAX_DOMAINLEN + 1 + FAST_MAX_RRS * OST_MSG_DESC_LEN +
		    FAST_RECS_CAP];
};

void ost_mirror_fast_free(struct ost_resolver *r)
{
	free(r->mfast);
	r->mfast = NULL;
}

/*
 * The TTL the engine's result carries for a record of section @p sec
 * (iterate.c): a negative answer's SOA lives min(TTL, MINIMUM) (RFC 2308
 * §3), capped by the negative maximum; everything else is capped by max_ttl.
 */
static uint32_t result_ttl(const struct ost_mirror_fast *f, ldns_pkt_section sec, uint16_t type,
			   uint32_t ttl, const uint8_t *rd, uint16_t rl)
{
	if (sec == LDNS_SECTION_AUTHORITY && type == LDNS_RR_TYPE_SOA && rl >= 20) {
		uint32_t minimum = ldns_read_uint32(rd + rl - 4);
		if (minimum < ttl)
			ttl = minimum;
		if (f->max_neg_ttl && ttl > f->max_neg_ttl)
			ttl = f->max_neg_ttl;
		return ttl;
	}
	return f->max_ttl && ttl > f->max_ttl ? f->max_ttl : ttl;
}

/* Append one record (owner of @p v, @p type, TTL, rdata) and its descriptor. */
static void put_rr(struct ost_mirror_fast *f, const struct ost_zone_rrset_view *v,
		   ldns_pkt_section sec, uint16_t type, uint32_t ttl, const uint8_t *rd,
		   uint16_t rl)
{
	size_t len = v->owner_len + 10u + rl;
	if (f->n >= FAST_MAX_RRS || f->rec_len + len > FAST_RECS_CAP) {
		f->is_full = true;
		return;
	}
	uint8_t *p = f->recs + f->rec_len;
	memcpy(p, v->owner, v->owner_len);
	p += v->owner_len;
	ldns_write_uint16(p, type);
	ldns_write_uint16(p + 2, v->rclass);
	ldns_write_uint32(p + 4, ttl);
	ldns_write_uint16(p + 8, rl);
	memcpy(p + 10, rd, rl);
	ost_msg_put_desc(f->desc + (size_t)f->n * OST_MSG_DESC_LEN, f->rec_len, len, type,
			 (uint8_t)(sec - LDNS_SECTION_ANSWER), (uint8_t)v->owner_len);
	f->rec_len += len;
	f->n++;
	f->counts[sec - LDNS_SECTION_ANSWER]++;
	if (ttl < f->min_ttl)
		f->min_ttl = ttl;
}

/* The fast path's emitter: the RRset's records, then its RRSIGs, as the
 * engine's result lists them (the order of the reply it parsed). */
static void emit_msg(struct ost_mbuild *b, ldns_pkt_section sec,
		     const struct ost_zone_rrset_view *v)
{
	struct ost_mirror_fast *f = b->ctx;
	if (sec < LDNS_SECTION_ANSWER || sec > LDNS_SECTION_ADDITIONAL || sec < f->last_sec) {
		f->is_full = true; /* not a final answer's layout */
		return;
	}
	f->last_sec = (uint8_t)sec;
	size_t q = 0;
	for (unsigned i = 0; i < (unsigned)v->rr_count + v->sig_count; i++) {
		uint32_t ttl = ldns_read_uint32(v->data + q);
		uint16_t rl = ldns_read_uint16(v->data + q + 4);
		const uint8_t *rd = v->data + q + 6;
		uint16_t type = i < v->rr_count ? v->type : LDNS_RR_TYPE_RRSIG;
		q += 6u + rl;
		put_rr(f, v, sec, type, result_ttl(f, sec, type, ttl, rd, rl), rd, rl);
	}
}

/* The payload (answer.c's version-1 layout) for the question and the records written. */
static uint32_t assemble(struct ost_mirror_fast *f, const uint8_t *qname, size_t qname_len,
			 uint16_t qtype, uint16_t qclass, uint8_t rcode)
{
	uint8_t *p = f->msg;
	size_t desc_len = (size_t)f->n * OST_MSG_DESC_LEN;
	size_t at = ost_msg_put_head(p, rcode, qname, qname_len, qtype, qclass, f->counts, f->n);
	memcpy(p + at, f->desc, desc_len);
	memcpy(p + at + desc_len, f->recs, f->rec_len);
	return (uint32_t)(at + desc_len + f->rec_len);
}

int ost_mirror_answer(struct ost_resolver *r, const uint8_t *qname, size_t qname_len,
		      uint16_t qtype, uint16_t qclass, struct ost_cache_entry *out)
{
	/* The verdict below is the one ost_mirror_plan() gives with validation
	 * on; with it off the engine's result is unchecked and its DO handling
	 * differs (server/engine.c hit_usable()): left to the engine. */
	if (!r->cfg.mirror || !r->cfg.mirror_store || qclass != LDNS_RR_CLASS_IN ||
	    !r->cfg.validation || !r->val || qname_len == 0 || qname_len > LDNS_MAX_DOMAINLEN + 1)
		return -ENOENT;
	ldns_rdf name;
	ldns_rdf_set_type(&name, LDNS_RDF_TYPE_DNAME);
	ldns_rdf_set_size(&name, qname_len);
	ldns_rdf_set_data(&name, (void *)qname);
	struct ost_mpick pk;
	if (!ost_mirror_pick(r, &name, qtype, &pk))
		return -ENOENT;
	/* OST_MIRROR_SECURE's conditions (mirror.c): a signed copy verified
	 * through the resolver's anchors, not extended (EDE 3 is the
	 * engine's), anchored now without an NTA. */
	int64_t now = ost_clock_wall_s(r->clock);
	if (!pk.is_signed || pk.is_extended || pk.until <= now ||
	    !ost_mirror_anchored(r, pk.apex_name))
		return -ENOENT;
	struct ost_mirror_fast *f = r->mfast;
	if (!f) {
		f = malloc(sizeof(*f));
		if (!f)
			return -ENOMEM;
		r->mfast = f;
	}
	f->max_ttl = r->cfg.max_ttl;
	f->max_neg_ttl = r->cfg.max_neg_ttl;
	f->min_ttl = UINT32_MAX;
	f->n = 0;
	f->counts[0] = f->counts[1] = f->counts[2] = 0;
	f->last_sec = LDNS_SECTION_ANSWER;
	f->is_full = false;
	f->rec_len = 0;
	struct ost_mbuild b = {
		.r = r, .apex = pk.apex_name, .emit = emit_msg, .ctx = f, .is_final_only = true};
	int rc = ost_mirror_rtxn(r, &pk, &b.txn);
	if (rc != 0)
		return rc;
	rc = ost_mirror_build(&b, &name, qtype);
	if (rc != 0 || f->is_full)
		return rc < 0 ? rc : -ENOENT;
	memset(out, 0, sizeof(*out));
	out->tag = OST_CTAG_MSG;
	out->rank = OST_RANK_MIRROR;
	out->sec = b.is_opt_out ? OST_SEC_INSECURE : OST_SEC_SECURE;
	out->rcode = b.rcode;
	out->ttl = f->min_ttl == UINT32_MAX ? 0 : f->min_ttl;
	out->stored_at = now;
	out->expires_at = pk.until;
	out->data = f->msg;
	out->len = assemble(f, qname, qname_len, qtype, qclass, b.rcode);
	r->stats.mirror_fast++;
	return 0;
}
