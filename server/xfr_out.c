/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The zone mirror service of ostrovd (see xfr_out.h): setup of the mirror
 * from the configuration, the mirror thread with the refresh scheduler, and
 * the downstream side on mirror.listen: UDP answers SOA questions and takes
 * NOTIFY from the sources (RFC 1996), TCP answers SOA and serves AXFR (RFC
 * 5936; an IXFR question gets the AXFR-style reply RFC 1995 §4 allows) of a
 * usable mirror to the zone's allow-transfer list only. Every new version
 * is announced with NOTIFY to the zone's notify list.
 *
 * Only verified versions are ever served: the AXFR is built from the
 * store's current version, which got there through parse, DNSSEC and ZONEMD
 * verification, and a mirror past its SOA expire deadline is refused
 * (SERVFAIL), as a secondary stops serving an expired zone (RFC 1035
 * §4.3.5).
 */
#include "xfr_out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "ostrov/log.h"

#include "udp_cmsg.h"

#define RXBUF_SIZE  65536
#define TCP_MSG_MAX 65535
#define XFR_MSG_MAX 16384 /* AXFR message size, as BIND and NSD use about */
/* Downstream connections: a bounded number, closed when idle, so that
 * connections that send nothing cannot pile up (only allow-listed peers get
 * a transfer, but anyone may connect). */
#define MAX_CONNS   64
#define IDLE_MS     10000

/* ---- setup ---------------------------------------------------------------------------- */

/* The DS/DNSKEY records owned by @p zone in @p path (zone-file syntax). */
static int load_anchors(const char *path, const char *zone, ldns_rr_list **out, char *err,
			size_t errlen)
{
	FILE *f = fopen(path, "r");
	ldns_rdf *z = NULL, *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	int line = 0, rc = 0;
	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return OST_ECONFIG;
	}
	if (ldns_str2rdf_dname(&z, zone) != LDNS_STATUS_OK) {
		fclose(f);
		return OST_ECONFIG;
	}
	ldns_rr_list *l = ldns_rr_list_new();
	while (l && !feof(f)) {
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);
		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (st != LDNS_STATUS_OK) {
			snprintf(err, errlen, "%s:%d: %s", path, line, ldns_get_errorstr_by_id(st));
			rc = OST_ECONFIG;
			break;
		}
		uint16_t ty = ldns_rr_get_type(rr);
		if ((ty == LDNS_RR_TYPE_DS || ty == LDNS_RR_TYPE_DNSKEY) &&
		    ldns_dname_compare(ldns_rr_owner(rr), z) == 0)
			ldns_rr_list_push_rr(l, rr);
		else
			ldns_rr_free(rr);
	}
	fclose(f);
	ldns_rdf_deep_free(z);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	if (rc || !l || ldns_rr_list_rr_count(l) == 0) {
		ldns_rr_list_deep_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

int ost_mirror_srv_open(struct ost_mirror_srv *s, const struct ost_config *cfg,
			const struct ost_clock *clock, char *err, size_t errlen)
{
	const size_t n = cfg->mirror.n_zones;
	s->cfg = cfg;
	s->clock = clock;
	struct ost_zone_store_opts o = {.path = cfg->mirror.path,
					.map_size = (size_t)cfg->mirror.size};
	int rc = ost_zone_store_open(&o, &s->store);
	if (rc) {
		snprintf(err, errlen, "cannot open the mirror store path=%s: %s", cfg->mirror.path,
			 ost_strerror(rc));
		return rc;
	}
	/* An import is parsed and its signatures checked on every core, or on
	 * mirror.verify-threads threads (zones/zone_data.c, dnssec_check.c);
	 * with one, or without the pool, on the importing thread. */
	ost_uv_exec_tune_malloc();
	if (cfg->mirror.verify_threads != 1 &&
	    (rc = ost_uv_exec_new(cfg->mirror.verify_threads, &s->exec)) != 0) {
		ost_log(OST_LOG_WARN, "mirror", "verification runs on one core: %s",
			ost_strerror(rc));
		s->exec = NULL;
	}
	if ((rc = ost_mirror_new(s->store, clock, &s->m)) != 0 ||
	    !(s->anchors = calloc(n ? n : 1, sizeof(*s->anchors)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ost_mirror_zone_cfg *zc = &cfg->mirror.zones[i];
		/* Anchors: the zone's own file, else the resolver's trust
		 * anchors for that name, else the DS in a mirrored parent. */
		const char *ta = zc->trust_anchor_file ? zc->trust_anchor_file
						       : cfg->resolver.trust_anchor_file;
		if (ta && (rc = load_anchors(ta, zc->name, &s->anchors[i], err, errlen)) != 0)
			return rc;
		struct ost_mirror_zone_config mc = {
			.name = zc->name,
			.sources = (const char *const *)zc->sources,
			.n_sources = zc->n_sources,
			.bootstrap_file = zc->bootstrap,
			.policy = {.zonemd = zc->require_zonemd ? OST_ZONEMD_REQUIRE
								: OST_ZONEMD_CHECK_IF_PRESENT,
				   .max_bytes = zc->max_size,
				   .max_records = zc->max_records,
				   .exec = s->exec ? ost_uv_exec_get(s->exec) : NULL},
			.anchors = s->anchors[i],
			.is_own_anchor = zc->trust_anchor_file != NULL,
		};
		if ((rc = ost_mirror_add_zone(s->m, &mc)) != 0) {
			snprintf(err, errlen, "mirror zone %s: %s", zc->name, ost_strerror(rc));
			return rc;
		}
		for (size_t j = 0; j < zc->n_sources; j++) {
			struct ost_xfr_source src;
			struct ost_cidr c;
			char host[64];
			if (ost_xfr_source_parse(zc->sources[j], &src) != 0)
				return OST_ECONFIG;
			snprintf(host, sizeof(host), "%s", src.text);
			*strrchr(host, '@') = 0;
			if (ost_cidr_parse(host, &c) != 0 || ost_acl_add(&s->src_acl, &c) != 0)
				return -ENOMEM;
		}
	}
	int unusable = ost_mirror_start(s->m);
	ost_log(OST_LOG_INFO, "mirror", "mirror open path=%s zones=%zu unusable=%d",
		cfg->mirror.path, n, unusable);
	return 0;
}

/* ---- answers on mirror.listen ------------------------------------------------------------ */

static int zone_index(struct ost_mirror_srv *s, const ldns_rdf *name)
{
	for (size_t i = 0; i < s->cfg->mirror.n_zones; i++) {
		ldns_rdf *z = NULL;
		bool eq = ldns_str2rdf_dname(&z, s->cfg->mirror.zones[i].name) == LDNS_STATUS_OK &&
			  ldns_dname_compare(z, name) == 0;
		ldns_rdf_deep_free(z);
		if (eq)
			return (int)i;
	}
	return -1;
}

/* A short reply (rcode, or the SOA of the zone) to query @p q. */
static int small_reply(struct ost_mirror_srv *s, const ldns_pkt *q, uint8_t rcode, int zi,
		       uint8_t **wire, size_t *len)
{
	ldns_pkt *p = ldns_pkt_new();
	if (!p)
		return -ENOMEM;
	ldns_pkt_set_id(p, ldns_pkt_id(q));
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_opcode(p, ldns_pkt_get_opcode(q));
	ldns_pkt_set_rcode(p, rcode);
	const ldns_rr_list *qd = ldns_pkt_question(q);
	if (ldns_rr_list_rr_count(qd) == 1)
		ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, ldns_rr_clone(ldns_rr_list_rr(qd, 0)));
	if (zi >= 0 && rcode == LDNS_RCODE_NOERROR) {
		struct ost_zone_rtxn *t;
		struct ost_zone_rrset_view v;
		ldns_rr_list *rrs = NULL;
		const ldns_rdf *apex = ldns_rr_owner(ldns_rr_list_rr(qd, 0));
		ldns_pkt_set_aa(p, true);
		if (ost_zone_rtxn_begin(s->store, s->cfg->mirror.zones[zi].name, &t) == 0) {
			if (ost_zone_rtxn_find(t, apex, LDNS_RR_TYPE_SOA, &v) == 0 &&
			    ost_zone_rrset_view_to_ldns(&v, &rrs, NULL) == 0) {
				ldns_rr *soa = ldns_rr_list_pop_rr(rrs);
				if (soa)
					ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, soa);
			}
			ldns_rr_list_deep_free(rrs);
			ost_zone_rtxn_end(t);
		}
	}
	int rc = ldns_pkt2wire(wire, p, len) == LDNS_STATUS_OK ? 0 : -ENOMEM;
	ldns_pkt_free(p);
	return rc;
}

/* Is the mirror of zone @p zi usable, and may @p from transfer it? */
static uint8_t check_access(struct ost_mirror_srv *s, int zi, const struct sockaddr *from)
{
	struct ost_mirror_zone_status st;
	if (zi < 0)
		return LDNS_RCODE_NOTAUTH;
	if (!ost_acl_match(&s->cfg->mirror.zones[zi].allow_transfer, from))
		return LDNS_RCODE_REFUSED;
	if (ost_mirror_zone_status(s->m, s->cfg->mirror.zones[zi].name, &st) != 0 || !st.is_usable)
		return LDNS_RCODE_SERVFAIL;
	return LDNS_RCODE_NOERROR;
}

/* ---- UDP: SOA and NOTIFY ----------------------------------------------------------------- */

struct udp_send {
	uv_udp_send_t req;
	uint8_t *wire;
};

static void udp_sent(uv_udp_send_t *req, int status)
{
	(void)status;
	struct udp_send *us = (struct udp_send *)req;
	free(us->wire);
	free(us);
}

/* Send @p wire (taken over) to @p to from @p h. */
static void udp_send(uv_udp_t *h, const struct sockaddr *to, uint8_t *wire, size_t len)
{
	struct udp_send *us = calloc(1, sizeof(*us));
	if (!us) {
		free(wire);
		return;
	}
	us->wire = wire;
	uv_buf_t b = uv_buf_init((char *)wire, (unsigned)len);
	if (uv_udp_send(&us->req, h, &b, 1, to, udp_sent) < 0) {
		free(wire);
		free(us);
	}
}

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct ost_mirror_srv *s = h->data;
	*buf = uv_buf_init((char *)s->rxbuf, RXBUF_SIZE);
}

static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		     unsigned flags)
{
	(void)flags;
	struct ost_mirror_srv *s = h->data;
	ldns_pkt *q = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;
	if (nread <= 0 || !addr)
		return;
	if (ldns_wire2pkt(&q, (const uint8_t *)buf->base, (size_t)nread) != LDNS_STATUS_OK)
		return;
	if (ldns_pkt_qr(q) || ldns_rr_list_rr_count(ldns_pkt_question(q)) != 1)
		goto out;
	const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	if (ldns_pkt_get_opcode(q) == LDNS_PACKET_NOTIFY) {
		/* RFC 1996 §3.11: from a configured source only. */
		struct ost_notify n;
		uint8_t rcode = LDNS_RCODE_FORMERR;
		if (ost_notify_parse((const uint8_t *)buf->base, (size_t)nread, &n) == 0) {
			int rc = ost_refresh_notify(s->refresh, &n, addr);
			rcode = rc == 0         ? LDNS_RCODE_NOERROR
				: rc == -ENOENT ? LDNS_RCODE_NOTAUTH
						: LDNS_RCODE_REFUSED;
		}
		uint8_t ans[512];
		size_t alen;
		if (ost_notify_answer((const uint8_t *)buf->base, (size_t)nread, rcode, ans,
				      sizeof(ans), &alen) == 0 &&
		    (wire = malloc(alen))) {
			memcpy(wire, ans, alen);
			udp_send(h, addr, wire, alen);
		}
		goto out;
	}
	if (ldns_pkt_get_opcode(q) != LDNS_PACKET_QUERY)
		goto out;
	int zi = zone_index(s, ldns_rr_owner(qr));
	uint8_t rcode = check_access(s, zi, addr);
	if (rcode == LDNS_RCODE_NOERROR && ldns_rr_get_type(qr) != LDNS_RR_TYPE_SOA)
		rcode = LDNS_RCODE_REFUSED; /* only the SOA is answered here */
	if (small_reply(s, q, rcode, zi, &wire, &len) == 0)
		udp_send(h, addr, wire, len);
out:
	ldns_pkt_free(q);
}

/* ---- TCP: SOA and AXFR ------------------------------------------------------------------- */

struct conn {
	uv_tcp_t h;
	uv_timer_t idle; /* closes the connection after IDLE_MS without a request */
	int open_handles;
	struct ost_mirror_srv *s;
	struct sockaddr_storage peer;
	uint8_t *rbuf;
	size_t rlen, rcap;
	bool closing;
};

struct tcp_write {
	uv_write_t req;
	uint8_t *wire; /* 2-byte length + message */
};

static void conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->open_handles > 0)
		return;
	c->s->n_conns--;
	free(c->rbuf);
	free(c);
}

static void conn_close(struct conn *c)
{
	if (!c->closing) {
		c->closing = true;
		uv_close((uv_handle_t *)&c->h, conn_closed);
		uv_close((uv_handle_t *)&c->idle, conn_closed);
	}
}

static void on_idle(uv_timer_t *t)
{
	conn_close(t->data);
}

static void tcp_written(uv_write_t *req, int status)
{
	struct tcp_write *tw = (struct tcp_write *)req;
	struct conn *c = req->handle->data;
	free(tw->wire);
	free(tw);
	if (status < 0)
		conn_close(c);
}

static int tcp_send(struct conn *c, const uint8_t *msg, size_t len)
{
	struct tcp_write *tw = calloc(1, sizeof(*tw));
	if (!tw || !(tw->wire = malloc(len + 2))) {
		free(tw);
		return -ENOMEM;
	}
	tw->wire[0] = (uint8_t)(len >> 8);
	tw->wire[1] = (uint8_t)len;
	memcpy(tw->wire + 2, msg, len);
	uv_buf_t b = uv_buf_init((char *)tw->wire, (unsigned)(len + 2));
	int rc = uv_write(&tw->req, (uv_stream_t *)&c->h, &b, 1, tcp_written);
	if (rc < 0) {
		free(tw->wire);
		free(tw);
	}
	return rc;
}

static void tcp_message(struct conn *c, const uint8_t *msg, size_t len)
{
	struct ost_mirror_srv *s = c->s;
	const struct sockaddr *peer = (const struct sockaddr *)&c->peer;
	char ptxt[OST_ADDR_TEXT_MAX];
	ldns_pkt *q = NULL;
	uint8_t *wire = NULL;
	size_t wl = 0;
	if (ldns_wire2pkt(&q, msg, len) != LDNS_STATUS_OK || ldns_pkt_qr(q) ||
	    ldns_pkt_get_opcode(q) != LDNS_PACKET_QUERY ||
	    ldns_rr_list_rr_count(ldns_pkt_question(q)) != 1) {
		ldns_pkt_free(q);
		conn_close(c);
		return;
	}
	const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	uint16_t qt = ldns_rr_get_type(qr);
	int zi = zone_index(s, ldns_rr_owner(qr));
	uint8_t rcode = check_access(s, zi, peer);
	if (rcode == LDNS_RCODE_NOERROR && qt != LDNS_RR_TYPE_SOA && qt != LDNS_RR_TYPE_AXFR &&
	    qt != LDNS_RR_TYPE_IXFR)
		rcode = LDNS_RCODE_REFUSED;
	if (rcode != LDNS_RCODE_NOERROR || qt == LDNS_RR_TYPE_SOA) {
		if (rcode != LDNS_RCODE_NOERROR)
			ost_log(OST_LOG_INFO, "mirror", "transfer refused peer=%s rcode=%u",
				ost_sockaddr_str(peer, ptxt, sizeof(ptxt)), rcode);
		if (small_reply(s, q, rcode, zi, &wire, &wl) == 0)
			(void)tcp_send(c, wire, wl);
		free(wire);
		ldns_pkt_free(q);
		return;
	}
	ldns_pkt_free(q);
	uint8_t **msgs = NULL;
	size_t *lens = NULL, n = 0;
	uint32_t serial = 0;
	int rc = ost_xfr_out_build(s->store, s->cfg->mirror.zones[zi].name, msg, len, XFR_MSG_MAX,
				   &msgs, &lens, &n, &serial);
	if (rc) {
		ost_log(OST_LOG_WARN, "mirror", "AXFR out failed zone=%s err=\"%s\"",
			s->cfg->mirror.zones[zi].name, ost_strerror(rc));
		conn_close(c);
		return;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = tcp_send(c, msgs[i], lens[i]);
	ost_log(OST_LOG_INFO, "mirror", "AXFR out zone=%s serial=%u peer=%s messages=%zu",
		s->cfg->mirror.zones[zi].name, serial, ost_sockaddr_str(peer, ptxt, sizeof(ptxt)),
		n);
	ost_xfr_out_free(msgs, lens, n);
}

static void tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct conn *c = h->data;
	if (c->rcap - c->rlen < 4096) {
		size_t nc = c->rcap ? c->rcap * 2 : 8192;
		uint8_t *nb = nc <= 2 * (TCP_MSG_MAX + 2) ? realloc(c->rbuf, nc) : NULL;
		if (!nb) {
			*buf = uv_buf_init(NULL, 0);
			return;
		}
		c->rbuf = nb;
		c->rcap = nc;
	}
	*buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(c->rcap - c->rlen));
}

static void tcp_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	struct conn *c = st->data;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->rlen += (size_t)nread;
	uv_timer_again(&c->idle);
	while (!c->closing && c->rlen >= 2) {
		size_t ml = (size_t)(c->rbuf[0] << 8 | c->rbuf[1]);
		if (c->rlen < ml + 2)
			break;
		tcp_message(c, c->rbuf + 2, ml);
		c->rlen -= ml + 2;
		memmove(c->rbuf, c->rbuf + ml + 2, c->rlen);
	}
}

static void on_connection(uv_stream_t *server, int status)
{
	struct ost_mirror_srv *s = server->data;
	if (status < 0)
		return;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->s = s;
	s->n_conns++;
	uv_tcp_init(&s->loop, &c->h);
	uv_timer_init(&s->loop, &c->idle);
	c->h.data = c->idle.data = c;
	c->open_handles = 2;
	uv_timer_start(&c->idle, on_idle, IDLE_MS, IDLE_MS);
	if (s->n_conns > MAX_CONNS) {
		/* Accept and close at once: the peer learns quickly. */
		if (uv_accept(server, (uv_stream_t *)&c->h) == 0)
			ost_log(OST_LOG_WARN, "mirror", "too many downstream connections (%d)",
				MAX_CONNS);
		conn_close(c);
		return;
	}
	int plen = sizeof(c->peer);
	if (uv_accept(server, (uv_stream_t *)&c->h) < 0 ||
	    uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->peer, &plen) < 0 ||
	    uv_read_start((uv_stream_t *)&c->h, tcp_alloc, tcp_read) < 0)
		conn_close(c);
}

/* ---- NOTIFY downstream ------------------------------------------------------------------- */

static void on_update(const char *zone, uint32_t serial, void *arg)
{
	struct ost_mirror_srv *s = arg;
	if (s->n_listen == 0)
		return;
	for (size_t i = 0; i < s->cfg->mirror.n_zones; i++) {
		const struct ost_mirror_zone_cfg *zc = &s->cfg->mirror.zones[i];
		ldns_rdf *a = NULL, *b = NULL;
		bool same = ldns_str2rdf_dname(&a, zc->name) == LDNS_STATUS_OK &&
			    ldns_str2rdf_dname(&b, zone) == LDNS_STATUS_OK &&
			    ldns_dname_compare(a, b) == 0;
		ldns_rdf_deep_free(a);
		ldns_rdf_deep_free(b);
		for (size_t j = 0; same && j < zc->n_notify; j++) {
			uint8_t buf[600];
			size_t len;
			uint16_t id = 0;
			if (RAND_bytes((unsigned char *)&id, sizeof(id)) != 1 ||
			    ost_notify_build(zone, serial, id, buf, sizeof(buf), &len) != 0)
				continue;
			uint8_t *w = malloc(len);
			if (!w)
				continue;
			memcpy(w, buf, len);
			/* From the listen address, which the downstream knows as its primary. */
			udp_send(&s->udp[0], (const struct sockaddr *)&zc->notify[j].ss, w, len);
			ost_log(OST_LOG_INFO, "mirror", "NOTIFY sent zone=%s serial=%u to=%s", zone,
				serial, zc->notify[j].text);
		}
	}
}

/* ---- requests from the control thread ---------------------------------------------------- */

struct ost_mirror_srv_req {
	struct ost_mirror_srv_req *next;
	char zone[256];
	bool refresh;
	uint32_t serial;
};

void ost_mirror_srv_queue(struct ost_mirror_srv *s, const char *zone, bool refresh, uint32_t serial)
{
	if (!s->is_running)
		return;
	struct ost_mirror_srv_req *r = calloc(1, sizeof(*r));
	if (!r)
		return;
	snprintf(r->zone, sizeof(r->zone), "%s", zone);
	r->refresh = refresh;
	r->serial = serial;
	uv_mutex_lock(&s->qlock);
	r->next = s->queue;
	s->queue = r;
	uv_mutex_unlock(&s->qlock);
	uv_async_send(&s->wake);
}

static void on_wake(uv_async_t *a)
{
	struct ost_mirror_srv *s = a->data;
	uv_mutex_lock(&s->qlock);
	struct ost_mirror_srv_req *r = s->queue;
	s->queue = NULL;
	uv_mutex_unlock(&s->qlock);
	while (r) {
		struct ost_mirror_srv_req *next = r->next;
		if (s->refresh && r->refresh && ost_refresh_now(s->refresh, r->zone) != 0)
			ost_log(OST_LOG_WARN, "mirror", "no sources to refresh zone=%s", r->zone);
		else if (!r->refresh)
			on_update(r->zone, r->serial, s);
		free(r);
		r = next;
	}
}

/* ---- the mirror thread's clock -------------------------------------------------------- */

/*
 * Timers come from the mirror loop; "now" from the process clock, because
 * the loop's uv_now() is cached per iteration and a long import (a big zone
 * verified in one go) would be measured as taking no time at all.
 */
static uint64_t mc_mono(void *ctx)
{
	struct ost_mirror_srv *s = ctx;
	return ost_clock_mono_ms(s->clock);
}

static int64_t mc_wall(void *ctx)
{
	struct ost_mirror_srv *s = ctx;
	return ost_clock_wall_s(s->clock);
}

static struct ost_timer *mc_timer_start(void *ctx, uint64_t ms, ost_timer_cb cb, void *arg)
{
	struct ost_mirror_srv *s = ctx;
	return ost_clock_timer_start(&s->uvclock.clock, ms, cb, arg);
}

static void mc_timer_stop(void *ctx, struct ost_timer *t)
{
	struct ost_mirror_srv *s = ctx;
	ost_clock_timer_stop(&s->uvclock.clock, t);
}

static const struct ost_clock_ops mirror_clock_ops = {
	.mono_ms = mc_mono,
	.wall_s = mc_wall,
	.timer_start = mc_timer_start,
	.timer_stop = mc_timer_stop,
};

/* ---- the thread ---------------------------------------------------------------------- */

static void on_stop(uv_async_t *a)
{
	struct ost_mirror_srv *s = a->data;
	ost_refresh_free(s->refresh);
	s->refresh = NULL;
	ost_uv_transport_deinit(&s->tp);
	ost_uv_clock_deinit(&s->uvclock);
	for (size_t i = 0; i < s->n_listen; i++) {
		uv_close((uv_handle_t *)&s->udp[i], NULL);
		uv_close((uv_handle_t *)&s->tcp[i], NULL);
	}
	uv_close((uv_handle_t *)&s->stop, NULL);
	uv_close((uv_handle_t *)&s->wake, NULL);
	/* Client connections are closed by the walk below. */
	uv_stop(&s->loop);
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	/* Everything else was closed by on_stop(): what is left open are
	 * downstream client connections (their socket and idle timer). */
	if (!uv_is_closing(h) && (h->type == UV_TCP || h->type == UV_TIMER))
		conn_close(h->data);
	else if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void thread_main(void *arg)
{
	struct ost_mirror_srv *s = arg;
	uv_run(&s->loop, UV_RUN_DEFAULT);
	/* Let every close callback run. */
	uv_walk(&s->loop, close_walk, NULL);
	uv_run(&s->loop, UV_RUN_DEFAULT);
}

int ost_mirror_srv_start(struct ost_mirror_srv *s, char *err, size_t errlen)
{
	const struct ost_config *cfg = s->cfg;
	int rc = uv_loop_init(&s->loop);
	if (rc < 0)
		return rc;
	s->n_listen = 0;
	s->udp = calloc(cfg->mirror.n_listen ? cfg->mirror.n_listen : 1, sizeof(*s->udp));
	s->tcp = calloc(cfg->mirror.n_listen ? cfg->mirror.n_listen : 1, sizeof(*s->tcp));
	s->rxbuf = malloc(RXBUF_SIZE);
	if (!s->udp || !s->tcp || !s->rxbuf)
		return -ENOMEM;
	ost_uv_clock_init(&s->uvclock, &s->loop);
	if ((rc = ost_uv_transport_init(&s->tp, &s->loop, &s->src_acl)) < 0)
		return rc;
	uv_async_init(&s->loop, &s->stop, on_stop);
	s->stop.data = s;
	uv_async_init(&s->loop, &s->wake, on_wake);
	s->wake.data = s;
	uv_mutex_init(&s->qlock);
	for (size_t i = 0; i < cfg->mirror.n_listen; i++) {
		const struct ost_addr *a = &cfg->mirror.listen[i];
		uv_udp_init(&s->loop, &s->udp[i]);
		uv_tcp_init(&s->loop, &s->tcp[i]);
		s->udp[i].data = s->tcp[i].data = s;
		s->n_listen++;
		/* libuv's UDP handle cannot name a reply's source (server/udp.c does,
		 * with IP_PKTINFO, for server.listen): on a multi-homed host an SOA
		 * answer may leave from another address than the one asked. */
		if (ost_udp_is_wildcard(&a->ss))
			ost_log(OST_LOG_WARN, "mirror",
				"wildcard mirror.listen addr=%s: UDP answers may leave from "
				"another local address than the one asked; list each address",
				a->text);
		rc = uv_udp_bind(&s->udp[i], (const struct sockaddr *)&a->ss, 0);
		if (rc == 0)
			rc = uv_udp_recv_start(&s->udp[i], udp_alloc, udp_recv);
		if (rc == 0)
			rc = uv_tcp_bind(&s->tcp[i], (const struct sockaddr *)&a->ss, 0);
		if (rc == 0)
			rc = uv_listen((uv_stream_t *)&s->tcp[i], 128, on_connection);
		if (rc < 0) {
			snprintf(err, errlen, "cannot bind mirror.listen addr=%s: %s", a->text,
				 uv_strerror(rc));
			return rc;
		}
	}
	s->mclock.ops = &mirror_clock_ops;
	s->mclock.ctx = s;
	if ((rc = ost_refresh_new(s->m, s->store, &s->tp.tp, &s->mclock, &s->refresh)) != 0)
		return rc;
	for (size_t i = 0; i < cfg->mirror.n_zones; i++) {
		const struct ost_mirror_zone_cfg *zc = &cfg->mirror.zones[i];
		if (zc->n_sources == 0)
			continue;
		struct ost_xfr_source *src = calloc(zc->n_sources, sizeof(*src));
		if (!src)
			return -ENOMEM;
		for (size_t j = 0; j < zc->n_sources; j++) {
			if (ost_xfr_source_parse(zc->sources[j], &src[j]) != 0) {
				free(src);
				return OST_ECONFIG; /* checked when the file was read */
			}
		}
		struct ost_refresh_zone_config rz = {.zone = zc->name,
						     .sources = src,
						     .n_sources = zc->n_sources,
						     .ixfr = zc->ixfr,
						     .max_bytes = zc->max_size,
						     .max_records = zc->max_records};
		rc = ost_refresh_add_zone(s->refresh, &rz);
		free(src);
		if (rc)
			return rc;
	}
	ost_refresh_set_update_cb(s->refresh, on_update, s);
	ost_refresh_start(s->refresh);
	if ((rc = uv_thread_create(&s->thread, thread_main, s)) < 0)
		return rc;
	s->is_running = true;
	ost_log(OST_LOG_INFO, "mirror", "mirror thread started zones=%zu listen=%zu",
		cfg->mirror.n_zones, s->n_listen);
	return 0;
}

void ost_mirror_srv_close(struct ost_mirror_srv *s)
{
	if (s->is_running) {
		uv_async_send(&s->stop);
		uv_thread_join(&s->thread);
		uv_loop_close(&s->loop);
		s->is_running = false;
		while (s->queue) {
			struct ost_mirror_srv_req *r = s->queue;
			s->queue = r->next;
			free(r);
		}
		uv_mutex_destroy(&s->qlock);
	}
	ost_mirror_free(s->m);
	s->m = NULL;
	ost_uv_exec_free(s->exec);
	s->exec = NULL;
	ost_zone_store_close(s->store);
	s->store = NULL;
	for (size_t i = 0; s->anchors && i < s->cfg->mirror.n_zones; i++)
		ldns_rr_list_deep_free(s->anchors[i]);
	free(s->anchors);
	s->anchors = NULL;
	ost_acl_deinit(&s->src_acl);
	free(s->udp);
	free(s->tcp);
	free(s->rxbuf);
}
