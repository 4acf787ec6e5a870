/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The zone transfer client: AXFR (RFC 5936) and IXFR (RFC 1995) over TCP
 * through struct ost_transport, with TSIG (RFC 8945) when a key is
 * configured. The transport hands over each framed message; the callback
 * returns -EAGAIN to keep reading the next one of a multi-message transfer.
 *
 * Each message is checked as it arrives, before anything is kept: ID,
 * QR/opcode/rcode, question (first message; later ones may carry none, RFC
 * 5936 §2.2.1), TSIG, class IN, every owner at or below the zone, and the
 * byte and record limits, so an absurd transfer is cut off early instead of
 * filling memory. The first record must be the zone's SOA; the transfer ends
 * at the next SOA of the zone with the same serial (RFC 5936 §2.2), and
 * nothing may follow it. Only then are the records handed to
 * ost_mirror_import_rrs(), which verifies DNSSEC and ZONEMD and commits the
 * version atomically or rejects it; a failed transfer never reaches the
 * store, so the previous version stays intact.
 *
 * IXFR: an incremental reply (second record an SOA with our old serial) is
 * not applied; the transfer restarts as AXFR (RFC 1995 §4 lets servers answer
 * AXFR-style, and BIND's mirror zones avoid IXFR for the same reason: every
 * version is verified whole anyway). A single SOA with our serial means "up
 * to date".
 *
 * State machine (house style §5): WAIT_FIRST -> STREAM -> DONE, or FAILED
 * from anywhere.
 */
#include "ostrov/xfr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ostrov/log.h"

#include "zone_internal.h"

#define DEFAULT_TIMEOUT_MS 60000
#define TSIG_FUDGE         300

/** States of one transfer. */
enum xfr_state {
	/** The query is sent; waiting for the first message (SOA first). */
	XS_WAIT_FIRST = 0,
	/** Records are streaming; waiting for the closing SOA. */
	XS_STREAM,
	/** Finished (imported, up to date, or failed); no more messages. */
	XS_DONE,
	XS_COUNT,
};

struct ost_xfr {
	struct ost_mirror *m;
	const struct ost_transport *tp;
	const struct ost_clock *clock;
	struct ost_xfr_request rq;
	char zone_str[256];
	ldns_rdf *zone;
	ost_xfr_cb cb;
	void *arg;
	enum xfr_state state;
	bool in_flight; /* the transport holds uq */
	bool is_axfr;   /* the query in flight is AXFR (after an IXFR fallback too) */
	/* Two query slots: an IXFR that turns out incremental is followed by
	 * an AXFR sent from inside the IXFR's callback, while the transport
	 * still holds the first slot until that callback returns. */
	struct ost_upstream_query uqs[2];
	struct ost_upstream_query *uq; /* the slot in flight */
	uint8_t *wires[2];             /* query wire per slot, owned */
	uint8_t *wire;                 /* the current one */
	size_t wire_len;
	uint16_t id;
	ldns_rdf *last_mac; /* TSIG MAC of the previous message (or of the query) */
	ldns_rr_list *rrs;  /* records received, SOA first */
	uint32_t first_serial;
	bool ixfr_checked; /* the second record of an IXFR answer was looked at */
	bool incremental;  /* the IXFR answer is incremental and is being collected */
	int ixfr_phase;    /* 0: expect a diff's old SOA, 1: deletions, 2: additions */
	uint32_t cur_new;  /* serial of the diff being read */
	uint64_t sent_ms;
	struct ost_xfr_result res;
};

/* ---- helpers ---- */

int ost_tsig_key_parse(const char *s, struct ost_tsig_key *out)
{
	const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	memset(out, 0, sizeof(*out));
	if (!c1 || !c2 || c1 == s || c2 == c1 + 1 || !c2[1])
		return -EINVAL;
	size_t nl = (size_t)(c1 - s), al = (size_t)(c2 - c1 - 1), sl = strlen(c2 + 1);
	if (nl + 2 > sizeof(out->name) || al + 2 > sizeof(out->alg) || sl >= sizeof(out->secret))
		return -EINVAL;
	memcpy(out->name, s, nl);
	if (out->name[nl - 1] != '.')
		out->name[nl] = '.';
	memcpy(out->alg, c1 + 1, al);
	if (out->alg[al - 1] != '.')
		out->alg[al] = '.';
	memcpy(out->secret, c2 + 1, sl);
	static const char *const algs[] = {"hmac-sha256.", "hmac-sha384.",
					   "hmac-sha512.", "hmac-sha224.",
					   "hmac-sha1.",   "hmac-md5.sig-alg.reg.int."};
	bool ok = false;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		ok = ok || strcasecmp(out->alg, algs[i]) == 0;
	/* The secret must be base64 that decodes to something. */
	unsigned char buf[256];
	if (!ok || sl % 4 != 0 ||
	    EVP_DecodeBlock(buf, (const unsigned char *)out->secret, (int)sl) <= 0)
		return -EINVAL;
	ldns_rdf *d = NULL;
	if (ldns_str2rdf_dname(&d, out->name) != LDNS_STATUS_OK)
		return -EINVAL;
	ldns_rdf_deep_free(d);
	return 0;
}

int ost_xfr_source_parse(const char *s, struct ost_xfr_source *out)
{
	char host[128];
	unsigned port = 53;
	const char *sp = strchr(s, ' ');
	size_t hl = sp ? (size_t)(sp - s) : strlen(s);
	memset(out, 0, sizeof(*out));
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	char *at = strrchr(host, '@');
	if (at) {
		char *end = NULL;
		unsigned long p = strtoul(at + 1, &end, 10);
		if (!at[1] || *end || p == 0 || p > 65535)
			return -EINVAL;
		port = (unsigned)p;
		*at = 0;
	}
	ldns_rdf *a = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, host);
	if (!a)
		a = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, host);
	if (!a)
		return -EINVAL;
	size_t alen = 0;
	struct sockaddr_storage *ss = ldns_rdf2native_sockaddr_storage(a, (uint16_t)port, &alen);
	ldns_rdf_deep_free(a);
	if (!ss)
		return -ENOMEM;
	memcpy(&out->addr, ss, alen);
	out->addrlen = (socklen_t)alen;
	free(ss);
	snprintf(out->text, sizeof(out->text), "%.50s@%u", host, port);
	if (sp) {
		while (*sp == ' ')
			sp++;
		if (strncmp(sp, "tsig ", 5) != 0)
			return -EINVAL;
		sp += 5;
		while (*sp == ' ')
			sp++;
		if (ost_tsig_key_parse(sp, &out->tsig) != 0)
			return -EINVAL;
		out->has_tsig = true;
	}
	return 0;
}

static const char *const state_names[XS_COUNT] = {"wait_first", "stream", "done"};

static void goto_state(struct ost_xfr *x, enum xfr_state next)
{
	ost_require(next < XS_COUNT);
	/* Legal edges: forward only, DONE from anywhere. */
	ost_require(next == XS_DONE || next == x->state + 1);
	ost_log(OST_LOG_DEBUG, "xfr", "zone=%s edge=%s->%s", x->zone_str, state_names[x->state],
		state_names[next]);
	x->state = next;
}

/* Build and (TSIG-)sign the query; sets x->wire, x->id, x->last_mac. */
static int build_query(struct ost_xfr *x, bool axfr)
{
	ldns_pkt *q = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;
	int rc = -ENOMEM;
	uint16_t id;

	if (RAND_bytes((unsigned char *)&id, sizeof(id)) != 1)
		return -EIO;
	q = ldns_pkt_query_new(ldns_rdf_clone(x->zone),
			       axfr ? LDNS_RR_TYPE_AXFR : LDNS_RR_TYPE_IXFR, LDNS_RR_CLASS_IN, 0);
	if (!q)
		return -ENOMEM;
	ldns_pkt_set_id(q, id);
	if (!axfr) {
		/* RFC 1995 §3: the authority section carries our SOA (serial only matters). */
		char text[600];
		ldns_rr *soa = NULL;
		snprintf(text, sizeof(text), "%s 0 IN SOA . . %u 0 0 0 0", x->zone_str,
			 x->rq.have_serial);
		if (ldns_rr_new_frm_str(&soa, text, 0, NULL, NULL) != LDNS_STATUS_OK)
			goto out;
		if (!ldns_pkt_push_rr(q, LDNS_SECTION_AUTHORITY, soa)) {
			ldns_rr_free(soa);
			goto out;
		}
	}
	ldns_rdf_deep_free(x->last_mac);
	x->last_mac = NULL;
	if (x->rq.src->has_tsig) {
		const struct ost_tsig_key *k = &x->rq.src->tsig;
		if (ldns_pkt_tsig_sign(q, k->name, k->secret, TSIG_FUDGE, k->alg, NULL) !=
		    LDNS_STATUS_OK) {
			rc = -EINVAL;
			goto out;
		}
		const ldns_rr *t = ldns_pkt_tsig(q);
		if (!t || !ldns_rr_rdf(t, 3) || !(x->last_mac = ldns_rdf_clone(ldns_rr_rdf(t, 3))))
			goto out;
	}
	if (ldns_pkt2wire(&wire, q, &len) != LDNS_STATUS_OK)
		goto out;
	int slot = x->uq == &x->uqs[0] ? 1 : 0;
	free(x->wires[slot]);
	x->wires[slot] = wire;
	x->wire = wire;
	x->wire_len = len;
	x->id = id;
	x->is_axfr = axfr;
	rc = 0;
out:
	ldns_pkt_free(q);
	return rc;
}

static int on_message(struct ost_upstream_query *q, int status, const uint8_t *pkt, size_t len);

static int send_query(struct ost_xfr *x, bool axfr)
{
	int rc = build_query(x, axfr);
	if (rc)
		return rc;
	struct ost_upstream_query *uq = x->uq == &x->uqs[0] ? &x->uqs[1] : &x->uqs[0];
	memset(uq, 0, sizeof(*uq));
	memcpy(&uq->addr, &x->rq.src->addr, x->rq.src->addrlen);
	uq->addrlen = x->rq.src->addrlen;
	uq->proto = OST_PROTO_TCP;
	uq->wire = x->wire;
	uq->len = x->wire_len;
	uq->timeout_ms = x->rq.timeout_ms ? x->rq.timeout_ms : DEFAULT_TIMEOUT_MS;
	uq->cb = on_message;
	uq->arg = x;
	x->uq = uq;
	rc = x->tp->ops->send(x->tp->ctx, uq);
	if (rc == 0)
		x->in_flight = true;
	return rc;
}

/* Finish: record the outcome, then call back. Nothing of @p x is touched
 * after the callback (it may free it). Returns 0 for the transport. */
static int finish(struct ost_xfr *x, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int finish(struct ost_xfr *x, int status, const char *fmt, ...)
{
	x->in_flight = false;
	goto_state(x, XS_DONE);
	x->res.status = status;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(x->res.reason, sizeof(x->res.reason), fmt, ap);
		va_end(ap);
	}
	if (status != 0)
		ost_log(OST_LOG_WARN, "xfr",
			"transfer failed zone=%s source=%s messages=%llu records=%llu "
			"reason=\"%s\"",
			x->zone_str, x->rq.src->text, (unsigned long long)x->res.messages,
			(unsigned long long)x->res.records, x->res.reason);
	ldns_rr_list_deep_free(x->rrs);
	x->rrs = NULL;
	ost_xfr_cb cb = x->cb;
	void *arg = x->arg;
	struct ost_xfr_result res = x->res;
	cb(x, &res, arg);
	return 0;
}

static uint32_t soa_serial(const ldns_rr *rr)
{
	const ldns_rdf *s = ldns_rr_rd_count(rr) >= 3 ? ldns_rr_rdf(rr, 2) : NULL;
	return s && ldns_rdf_size(s) == 4 ? ldns_rdf2native_int32(s) : 0;
}

static bool is_zone_soa(const struct ost_xfr *x, const ldns_rr *rr)
{
	return ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7 &&
	       ldns_dname_compare(ldns_rr_owner(rr), x->zone) == 0;
}

/* TSIG (RFC 8945 §5.3): every message must be signed; the first MAC chains
 * to the query's, later ones to the previous message's (timers only). */
static const char *check_tsig(struct ost_xfr *x, ldns_pkt *p, const uint8_t *pkt, size_t len)
{
	const ldns_rr *t = ldns_pkt_tsig(p);
	if (!x->rq.src->has_tsig)
		return t ? "unexpected TSIG in an unsigned transfer" : NULL;
	if (!t)
		return "message not signed (TSIG required)";
	const struct ost_tsig_key *k = &x->rq.src->tsig;
	if (!ldns_dname_str_absolute(k->name) || !ldns_rr_owner(t))
		return "TSIG key name";
	ldns_rdf *kn = ldns_dname_new_frm_str(k->name);
	bool same = kn && ldns_dname_compare(kn, ldns_rr_owner(t)) == 0;
	ldns_rdf_deep_free(kn);
	if (!same)
		return "TSIG signed with another key";
	if (!ldns_pkt_tsig_verify_next(p, pkt, len, k->name, k->secret, x->last_mac,
				       x->res.messages > 1))
		return "TSIG does not verify (BADSIG/BADTIME/BADKEY)";
	ldns_rdf_deep_free(x->last_mac);
	x->last_mac = ldns_rr_rdf(t, 3) ? ldns_rdf_clone(ldns_rr_rdf(t, 3)) : NULL;
	return x->last_mac ? NULL : "TSIG without MAC";
}

/* The structure of an incremental IXFR (RFC 1995 §4): SOA(new), then per
 * difference SOA(old) deletions SOA(next) additions, then SOA(new). Called
 * for every record after the first; returns 1 at the final SOA, 0 to go on,
 * or OST_EMALFORMED with the reason set. */
static int ixfr_step(struct ost_xfr *x, const ldns_rr *rr)
{
	if (!is_zone_soa(x, rr)) {
		if (x->ixfr_phase == 0) {
			snprintf(x->res.reason, sizeof(x->res.reason),
				 "IXFR: record where a difference's SOA was expected");
			return OST_EMALFORMED;
		}
		return 0;
	}
	uint32_t s = soa_serial(rr);
	switch (x->ixfr_phase) {
	case 0:
		x->ixfr_phase = 1;
		return 0;
	case 1:
		x->cur_new = s;
		x->ixfr_phase = 2;
		return 0;
	default:
		if (s == x->cur_new && s == x->first_serial)
			return 1;
		if (s == x->cur_new) {
			x->ixfr_phase = 1;
			return 0;
		}
		snprintf(x->res.reason, sizeof(x->res.reason),
			 "IXFR: difference starts at serial %u, expected %u", s, x->cur_new);
		return OST_EMALFORMED;
	}
}

/* Take the records of one message. Returns 1 when the closing SOA was seen,
 * 0 to go on, or a negative error with x->res.reason set. */
static int take_records(struct ost_xfr *x, const ldns_pkt *p)
{
	const ldns_rr_list *an = ldns_pkt_answer(p);
	size_t n = an ? ldns_rr_list_rr_count(an) : 0;
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		char *s;
		if (x->state == XS_DONE)
			break;
		if (x->state == XS_WAIT_FIRST) {
			if (!is_zone_soa(x, rr)) {
				s = ldns_rdf2str(ldns_rr_owner(rr));
				snprintf(x->res.reason, sizeof(x->res.reason),
					 "first record is not the SOA of %.60s (owner %.100s type "
					 "%u)",
					 x->zone_str, s ? s : "?", ldns_rr_get_type(rr));
				free(s);
				return OST_EMALFORMED;
			}
			x->first_serial = soa_serial(rr);
			goto_state(x, XS_STREAM);
		} else if (!x->ixfr_checked && !x->is_axfr) {
			x->ixfr_checked = true;
			/* RFC 1995 §4: SOA(new) SOA(old) ... is incremental. It is
			 * applied to the stored version when we have the store,
			 * else the transfer starts over as AXFR. */
			if (is_zone_soa(x, rr) && soa_serial(rr) != x->first_serial) {
				if (!x->rq.store)
					return 2;
				x->incremental = true;
				x->ixfr_phase = 0;
			}
		}
		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
			snprintf(x->res.reason, sizeof(x->res.reason),
				 "record of class %u (only IN)", ldns_rr_get_class(rr));
			return OST_EMALFORMED;
		}
		if (!ldns_dname_is_subdomain(ldns_rr_owner(rr), x->zone) &&
		    ldns_dname_compare(ldns_rr_owner(rr), x->zone) != 0) {
			s = ldns_rr2str(rr);
			if (s && strchr(s, '\n'))
				*strchr(s, '\n') = 0;
			snprintf(x->res.reason, sizeof(x->res.reason),
				 "record outside the zone %.60s: %.160s", x->zone_str, s ? s : "?");
			free(s);
			return OST_EMALFORMED;
		}
		x->res.records++;
		x->res.bytes += ldns_rr_uncompressed_size(rr);
		if (x->rq.max_records && x->res.records > x->rq.max_records + 1) {
			snprintf(x->res.reason, sizeof(x->res.reason),
				 "more than %llu records (max-records)",
				 (unsigned long long)x->rq.max_records);
			return OST_ELIMIT;
		}
		if (x->rq.max_bytes && x->res.bytes > x->rq.max_bytes) {
			snprintf(x->res.reason, sizeof(x->res.reason),
				 "more than %llu bytes (max-size)",
				 (unsigned long long)x->rq.max_bytes);
			return OST_ELIMIT;
		}
		ldns_rr *c = ldns_rr_clone(rr);
		if (!c || !ldns_rr_list_push_rr(x->rrs, c)) {
			ldns_rr_free(c);
			snprintf(x->res.reason, sizeof(x->res.reason), "out of memory");
			return -ENOMEM;
		}
		if (x->incremental && x->res.records > 1) {
			int e = ixfr_step(x, rr);
			if (e == 1 && i + 1 < n) {
				snprintf(x->res.reason, sizeof(x->res.reason),
					 "%zu records after the closing SOA", n - i - 1);
				return OST_EMALFORMED;
			}
			if (e != 0)
				return e;
			continue;
		}
		/* RFC 5936 §2.2: the transfer ends with the zone's SOA again. */
		if (x->res.records > 1 && is_zone_soa(x, rr)) {
			if (soa_serial(rr) != x->first_serial) {
				snprintf(x->res.reason, sizeof(x->res.reason),
					 "closing SOA serial %u differs from the first %u",
					 soa_serial(rr), x->first_serial);
				return OST_EMALFORMED;
			}
			if (i + 1 < n) {
				snprintf(x->res.reason, sizeof(x->res.reason),
					 "%zu records after the closing SOA", n - i - 1);
				return OST_EMALFORMED;
			}
			return 1;
		}
	}
	return 0;
}

/* Remove the record equal to @p rr (TTL ignored) from @p cur. */
static bool delete_rr(ldns_rr_list *cur, const ldns_rr *rr)
{
	size_t n = ldns_rr_list_rr_count(cur);
	ldns_rr *c = ldns_rr_clone(rr);
	if (!c)
		return false;
	ldns_rr2canonical(c);
	for (size_t j = 0; j < n; j++) {
		if (ldns_rr_compare(ldns_rr_list_rr(cur, j), c) != 0)
			continue;
		ldns_rr *last = ldns_rr_list_pop_rr(cur);
		if (j < n - 1)
			ldns_rr_free(ldns_rr_list_set_rr(cur, last, j));
		else
			ldns_rr_free(last);
		ldns_rr_free(c);
		return true;
	}
	ldns_rr_free(c);
	return false;
}

/* Apply the collected IXFR differences to the stored version. Returns the
 * new version's records, or NULL when they do not fit it (then AXFR). */
static ldns_rr_list *apply_ixfr(struct ost_xfr *x)
{
	struct ost_zone_data *z = NULL;
	ldns_rr_list *cur = NULL;
	size_t n = ldns_rr_list_rr_count(x->rrs), i = 1;
	if (ost_zone_store_load(x->rq.store, x->zone_str, &z) != 0)
		return NULL;
	if (!(cur = ldns_rr_list_new()))
		goto fail;
	for (size_t k = 0; k < z->n; k++) {
		ldns_rr *c = ldns_rr_clone(z->v[k].rr);
		if (!c || !ldns_rr_list_push_rr(cur, c)) {
			ldns_rr_free(c);
			goto fail;
		}
		ldns_rr2canonical(c);
	}
	/* SOA(old) deletions SOA(next) additions, until the final SOA. */
	while (i + 1 < n) {
		const ldns_rr *old = ldns_rr_list_rr(x->rrs, i++);
		if (soa_serial(old) != soa_serial(z->v[z->soa].rr) && i == 2)
			goto fail; /* the differences start from another version */
		if (!delete_rr(cur, old))
			goto fail;
		while (i + 1 < n && !is_zone_soa(x, ldns_rr_list_rr(x->rrs, i)))
			if (!delete_rr(cur, ldns_rr_list_rr(x->rrs, i++)))
				goto fail;
		if (i + 1 >= n)
			goto fail;
		const ldns_rr *next = ldns_rr_list_rr(x->rrs, i++);
		ldns_rr *c = ldns_rr_clone(next);
		if (!c || !ldns_rr_list_push_rr(cur, c)) {
			ldns_rr_free(c);
			goto fail;
		}
		while (i + 1 < n && !is_zone_soa(x, ldns_rr_list_rr(x->rrs, i))) {
			c = ldns_rr_clone(ldns_rr_list_rr(x->rrs, i++));
			if (!c || !ldns_rr_list_push_rr(cur, c)) {
				ldns_rr_free(c);
				goto fail;
			}
		}
	}
	ost_zone_data_free(z);
	return cur;
fail:
	ost_zone_data_free(z);
	ldns_rr_list_deep_free(cur);
	return NULL;
}

static int restart_axfr(struct ost_xfr *x, const char *why);

/* The whole zone arrived: import it (verify + atomic commit, or reject). */
static int import(struct ost_xfr *x)
{
	char source[96];
	struct ost_zone_verify_result vr;
	uint64_t t0 = ost_clock_mono_ms(x->clock);
	x->res.transfer_ms = t0 - x->sent_ms;
	x->res.serial = x->first_serial;
	snprintf(source, sizeof(source), "xfr:%s", x->rq.src->text);
	if (x->incremental) {
		/* The differences give a whole new version, verified like any. */
		ldns_rr_list *full = apply_ixfr(x);
		if (!full)
			return restart_axfr(x, "IXFR differences do not apply to the stored "
					       "version");
		ldns_rr_list_deep_free(x->rrs);
		x->rrs = full;
		x->res.is_ixfr_applied = true;
	}
	int rc = ost_mirror_import_rrs(x->m, x->zone_str, x->rrs, source,
				       ost_clock_wall_s(x->clock), &vr);
	x->res.import_ms = ost_clock_mono_ms(x->clock) - t0;
	x->res.verdict = vr.verdict;
	if (rc != 0)
		return finish(x, rc, "rejected: %s: %s", ost_zone_verdict_str(vr.verdict),
			      vr.reason);
	ost_log(OST_LOG_INFO, "xfr",
		"transfer imported zone=%s source=%s serial=%u messages=%llu records=%llu "
		"bytes=%llu transfer_ms=%llu import_ms=%llu",
		x->zone_str, x->rq.src->text, x->first_serial, (unsigned long long)x->res.messages,
		(unsigned long long)x->res.records, (unsigned long long)x->res.bytes,
		(unsigned long long)x->res.transfer_ms, (unsigned long long)x->res.import_ms);
	return finish(x, 0, NULL);
}

/* Start over with AXFR on a new connection (IXFR answered incrementally
 * without a store to apply it to, or differences that do not apply). */
static int restart_axfr(struct ost_xfr *x, const char *why)
{
	x->in_flight = false;
	x->res.is_ixfr_fallback = true;
	x->incremental = false;
	ldns_rr_list_deep_free(x->rrs);
	x->rrs = ldns_rr_list_new();
	x->state = XS_WAIT_FIRST;
	x->res.records = x->res.bytes = 0;
	ost_log(OST_LOG_INFO, "xfr", "%s, using AXFR zone=%s", why, x->zone_str);
	/* The transport releases this query's slot when we return 0; the AXFR
	 * goes out on the other slot. */
	int src = x->rrs ? send_query(x, true) : -ENOMEM;
	if (src != 0)
		return finish(x, src, "AXFR after IXFR could not be sent: %s", ost_strerror(src));
	return 0;
}

/* The transport's callback: one framed message, or the end of the stream. */
static int on_message(struct ost_upstream_query *q, int status, const uint8_t *pkt, size_t len)
{
	struct ost_xfr *x = q->arg;
	if (ost_fails_assert(x->in_flight && x->state != XS_DONE && q == x->uq))
		return 0;
	if (status != 0) {
		/* A connection closed or timed out before the closing SOA:
		 * nothing was stored, the previous version stays. */
		return finish(x, status, "transfer ended after %llu messages, %llu records: %s",
			      (unsigned long long)x->res.messages,
			      (unsigned long long)x->res.records, ost_strerror(status));
	}
	x->res.messages++;
	if (len < LDNS_HEADER_SIZE || (uint16_t)(pkt[0] << 8 | pkt[1]) != x->id)
		return finish(x, OST_EMALFORMED, "message %llu: wrong ID or too short",
			      (unsigned long long)x->res.messages);
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, pkt, len) != LDNS_STATUS_OK)
		return finish(x, OST_EMALFORMED, "message %llu: malformed",
			      (unsigned long long)x->res.messages);
	int rc = 0;
	const char *why = NULL;
	uint16_t qtype = x->is_axfr ? LDNS_RR_TYPE_AXFR : LDNS_RR_TYPE_IXFR;
	const ldns_rr_list *qd = ldns_pkt_question(p);
	if (!ldns_pkt_qr(p) || ldns_pkt_get_opcode(p) != LDNS_PACKET_QUERY)
		why = "not a response to a query";
	else if (ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR)
		why = ldns_pkt_get_rcode(p) == LDNS_RCODE_REFUSED    ? "REFUSED"
		      : ldns_pkt_get_rcode(p) == LDNS_RCODE_NOTAUTH  ? "NOTAUTH"
		      : ldns_pkt_get_rcode(p) == LDNS_RCODE_SERVFAIL ? "SERVFAIL"
								     : "error rcode";
	else if (ldns_pkt_tc(p))
		why = "truncated message (TC=1) over TCP";
	else if (x->res.messages == 1 && ldns_rr_list_rr_count(qd) != 1)
		why = "first message without exactly one question";
	else if (ldns_rr_list_rr_count(qd) > 1)
		why = "more than one question";
	else if (ldns_rr_list_rr_count(qd) == 1 &&
		 (ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(qd, 0)), x->zone) != 0 ||
		  ldns_rr_get_type(ldns_rr_list_rr(qd, 0)) != qtype))
		why = "question is not the one asked (another zone?)";
	else
		why = check_tsig(x, p, pkt, len);
	if (why) {
		ldns_pkt_free(p);
		return finish(x, OST_EMALFORMED, "message %llu: %s",
			      (unsigned long long)x->res.messages, why);
	}
	rc = take_records(x, p);
	ldns_pkt_free(p);
	if (rc < 0)
		return finish(x, rc, NULL);
	if (rc == 2)
		return restart_axfr(x, "incremental IXFR answer");
	if (rc == 1)
		return import(x);
	/* IXFR: one SOA alone with our serial means we are up to date. */
	if (!x->is_axfr && x->state == XS_STREAM && x->res.records == 1 &&
	    x->first_serial == x->rq.have_serial) {
		x->res.is_up_to_date = true;
		x->res.serial = x->first_serial;
		return finish(x, 0, NULL);
	}
	return -EAGAIN;
}

int ost_xfr_start(struct ost_mirror *m, const struct ost_transport *tp,
		  const struct ost_clock *clock, const struct ost_xfr_request *rq, ost_xfr_cb cb,
		  void *arg, struct ost_xfr **out)
{
	if (!m || !tp || !clock || !rq || !rq->zone || !rq->src || !cb || !out)
		return -EINVAL;
	struct ost_xfr *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->m = m;
	x->tp = tp;
	x->clock = clock;
	x->rq = *rq;
	x->cb = cb;
	x->arg = arg;
	int rc = -ENOMEM;
	if (ldns_str2rdf_dname(&x->zone, rq->zone) != LDNS_STATUS_OK) {
		rc = -EINVAL;
		goto fail;
	}
	ldns_dname2canonical(x->zone);
	char *zs = ldns_rdf2str(x->zone);
	if (!zs)
		goto fail;
	snprintf(x->zone_str, sizeof(x->zone_str), "%s", zs);
	free(zs);
	x->rq.zone = x->zone_str;
	if (!(x->rrs = ldns_rr_list_new()))
		goto fail;
	x->sent_ms = ost_clock_mono_ms(clock);
	rc = send_query(x, !rq->ixfr);
	if (rc)
		goto fail;
	*out = x;
	return 0;
fail:
	x->in_flight = false;
	ost_xfr_free(x);
	return rc;
}

void ost_xfr_free(struct ost_xfr *x)
{
	if (!x)
		return;
	if (x->in_flight)
		x->tp->ops->cancel(x->tp->ctx, x->uq);
	ldns_rdf_deep_free(x->zone);
	ldns_rdf_deep_free(x->last_mac);
	ldns_rr_list_deep_free(x->rrs);
	free(x->wires[0]);
	free(x->wires[1]);
	free(x);
}

/* ---- serving AXFR downstream ---- */

void ost_xfr_out_free(uint8_t **msgs, size_t *lens, size_t n)
{
	for (size_t i = 0; msgs && i < n; i++)
		free(msgs[i]);
	free(msgs);
	free(lens);
}

/* Append message @p p to the arrays. */
static int push_msg(ldns_pkt *p, uint8_t ***msgs, size_t **lens, size_t *n, size_t *cap)
{
	uint8_t *w = NULL;
	size_t wl = 0;
	if (ldns_pkt2wire(&w, p, &wl) != LDNS_STATUS_OK)
		return -ENOMEM;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		uint8_t **nm = realloc(*msgs, nc * sizeof(*nm));
		if (nm)
			*msgs = nm;
		size_t *nl = realloc(*lens, nc * sizeof(*nl));
		if (nl)
			*lens = nl;
		if (!nm || !nl) {
			free(w);
			return -ENOMEM;
		}
		*cap = nc;
	}
	(*msgs)[*n] = w;
	(*lens)[*n] = wl;
	(*n)++;
	return 0;
}

static ldns_pkt *out_msg(const ldns_pkt *q)
{
	ldns_pkt *p = ldns_pkt_new();
	if (!p)
		return NULL;
	ldns_pkt_set_id(p, ldns_pkt_id(q));
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	ldns_pkt_set_opcode(p, LDNS_PACKET_QUERY);
	ldns_pkt_set_rcode(p, LDNS_RCODE_NOERROR);
	const ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	ldns_rr *qc = ldns_rr_clone(qrr);
	if (!qc || !ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, qc)) {
		ldns_rr_free(qc);
		ldns_pkt_free(p);
		return NULL;
	}
	return p;
}

int ost_xfr_out_build(struct ost_zone_store *store, const char *zone, const uint8_t *query,
		      size_t qlen, size_t max_msg, uint8_t ***msgs, size_t **lens, size_t *n,
		      uint32_t *serial)
{
	ldns_pkt *q = NULL, *cur = NULL;
	struct ost_zone_data *z = NULL;
	size_t cap = 0, cur_size = 0;
	int rc;

	*msgs = NULL;
	*lens = NULL;
	*n = 0;
	if (max_msg < 512 || max_msg > 65535)
		max_msg = 65535;
	if (ldns_wire2pkt(&q, query, qlen) != LDNS_STATUS_OK ||
	    ldns_rr_list_rr_count(ldns_pkt_question(q)) != 1) {
		ldns_pkt_free(q);
		return OST_EMALFORMED;
	}
	rc = ost_zone_store_load(store, zone, &z);
	if (rc)
		goto out;
	*serial = ost_zone_data_serial(z);
	/* SOA first, every other record in canonical order, SOA last (RFC 5936 §2.2). */
	/* Positions 0 and n+1 are the SOA; 1..n are v[0..n-1] without it. */
	for (size_t k = 0; k <= z->n + 1; k++) {
		size_t idx = k == 0 || k == z->n + 1 ? z->soa : k - 1;
		if (k > 0 && k <= z->n && idx == z->soa)
			continue;
		const ldns_rr *rr = z->v[idx].rr;
		size_t sz = ldns_rr_uncompressed_size(rr);
		if (cur && cur_size + sz > max_msg) {
			rc = push_msg(cur, msgs, lens, n, &cap);
			ldns_pkt_free(cur);
			cur = NULL;
			if (rc)
				goto out;
		}
		if (!cur) {
			if (!(cur = out_msg(q))) {
				rc = -ENOMEM;
				goto out;
			}
			cur_size =
				LDNS_HEADER_SIZE +
				ldns_rr_uncompressed_size(ldns_rr_list_rr(ldns_pkt_question(q), 0));
		}
		ldns_rr *c = ldns_rr_clone(rr);
		if (!c || !ldns_pkt_push_rr(cur, LDNS_SECTION_ANSWER, c)) {
			ldns_rr_free(c);
			rc = -ENOMEM;
			goto out;
		}
		cur_size += sz;
	}
	if (cur)
		rc = push_msg(cur, msgs, lens, n, &cap);
out:
	ldns_pkt_free(cur);
	ldns_pkt_free(q);
	ost_zone_data_free(z);
	if (rc) {
		ost_xfr_out_free(*msgs, *lens, *n);
		*msgs = NULL;
		*lens = NULL;
		*n = 0;
	}
	return rc;
}
