/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The refresh scheduler: keeps every mirrored zone fresh with the SOA timers
 * of RFC 1035 §4.3.5, as RFC 8806 §3 asks of a local root: every REFRESH
 * seconds (plus up to 10 % jitter, so a fleet does not poll in step) it asks
 * a source for the zone's SOA over UDP and transfers only when the serial is
 * newer by RFC 1982 arithmetic (localroot-bcp: freshness checks before
 * downloads, never a lower serial). A failed check or transfer moves to the
 * next source in the configured order; when every source failed, the next
 * round starts after RETRY seconds. A successful check that finds the serial
 * current counts as a refresh and pushes the SOA expire deadline forward
 * (RFC 1035: EXPIRE counts from the last successful contact); past that
 * deadline the mirror stops answering (mirror.c, resolver/mirror.c).
 *
 * NOTIFY (RFC 1996 §3.11) from one of the zone's configured sources starts a
 * check at once, with that source first; from anybody else it is refused.
 *
 * One machine per zone (house style §5): IDLE (timer armed) -> SOA (UDP
 * probe in flight) -> XFR (transfer in flight) -> IDLE.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>
#include <openssl/rand.h>

#include "ostrov/log.h"
#include "ostrov/xfr.h"

/** Retry interval while a zone has no version at all (no SOA to read it from). */
#define NO_VERSION_RETRY_S 30
#define MIN_INTERVAL_S     5
#define MAX_INTERVAL_S     (7 * 86400)
#define SOA_TIMEOUT_MS     2000

struct rzone {
	struct ost_refresh *r;
	char name[256];
	ldns_rdf *dname;
	struct ost_xfr_source *src;
	size_t n_src;
	struct ost_refresh_zone_config cfg;
	enum ost_refresh_state state;
	struct ost_timer *timer;
	size_t cur;   /* source to use now */
	size_t tried; /* sources that failed in this round */
	struct ost_upstream_query uq;
	uint8_t *wire;
	uint16_t id;
	bool uq_active;
	struct ost_xfr *xfr;
	bool pending; /* a NOTIFY or manual check arrived while busy */
	bool expired; /* the stored version passed its SOA expire deadline (logged once) */
	struct ost_refresh_status st;
};

struct ost_refresh {
	struct ost_mirror *m;
	struct ost_zone_store *store;
	const struct ost_transport *tp;
	const struct ost_clock *clock;
	struct rzone *zones;
	size_t n;
	ost_refresh_update_cb update_cb;
	void *update_arg;
};

static const char *const state_names[OST_RS_COUNT] = {"idle", "soa", "xfr"};

const char *ost_refresh_state_str(enum ost_refresh_state s)
{
	return s < OST_RS_COUNT ? state_names[s] : "invalid";
}

static void goto_state(struct rzone *z, enum ost_refresh_state next)
{
	static const unsigned legal[OST_RS_COUNT] = {
		[OST_RS_IDLE] = 1u << OST_RS_SOA,
		[OST_RS_SOA] = 1u << OST_RS_IDLE | 1u << OST_RS_XFR | 1u << OST_RS_SOA,
		[OST_RS_XFR] = 1u << OST_RS_IDLE | 1u << OST_RS_SOA,
	};
	ost_require(next < OST_RS_COUNT && (legal[z->state] & (1u << next)));
	ost_log(OST_LOG_DEBUG, "refresh", "zone=%s edge=%s->%s", z->name, state_names[z->state],
		state_names[next]);
	z->state = next;
	z->st.state = next;
}

static void check_now(struct rzone *z);

static void on_timer(void *arg)
{
	struct rzone *z = arg;
	z->timer = NULL;
	check_now(z);
}

/* Arm the next check in @p secs seconds plus up to 10 % jitter. */
static void schedule(struct rzone *z, uint32_t secs, bool exact)
{
	struct ost_refresh *r = z->r;
	uint64_t ms = (uint64_t)secs * 1000;
	if (!exact) {
		uint32_t rnd = 0;
		if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
			rnd = 0;
		ms += ms / 10 ? rnd % (ms / 10 + 1) : rnd % 1000;
	}
	if (z->state != OST_RS_IDLE)
		goto_state(z, OST_RS_IDLE);
	ost_clock_timer_stop(r->clock, z->timer);
	z->timer = ost_clock_timer_start(r->clock, ms, on_timer, z);
	z->st.next_check_ms = ost_clock_mono_ms(r->clock) + ms;
	if (!z->timer)
		ost_log(OST_LOG_ERR, "refresh", "cannot arm timer zone=%s", z->name);
}

static uint32_t clamp_interval(uint32_t s)
{
	return s < MIN_INTERVAL_S ? MIN_INTERVAL_S : s > MAX_INTERVAL_S ? MAX_INTERVAL_S : s;
}

/* A round ended: arm refresh (success) or retry (every source failed). */
static void round_end(struct rzone *z, bool ok)
{
	struct ost_zone_meta meta;
	uint32_t secs = NO_VERSION_RETRY_S;
	z->tried = 0;
	if (ost_zone_store_get_meta(z->r->store, z->name, &meta) == 0) {
		secs = clamp_interval(ok ? meta.refresh : meta.retry);
		/* RFC 8806 §3: past EXPIRE without a refresh the copy is not
		 * used (mirror.c and resolver/mirror.c check the deadline);
		 * say so once, and keep trying at the retry interval. */
		bool past = ost_clock_wall_s(z->r->clock) >= meta.soa_expire_deadline;
		if (past && !z->expired) {
			z->st.expired++;
			ost_log(OST_LOG_ERR, "refresh",
				"mirror expired zone=%s serial=%u: not refreshed for %u s (SOA "
				"expire), normal recursion takes over",
				z->name, meta.serial, meta.expire);
		}
		z->expired = past;
	}
	if (z->pending) {
		z->pending = false;
		secs = 0;
	}
	schedule(z, secs, secs == 0);
}

static void start_soa(struct rzone *z);

/* The current source failed: try the next one, or give up for this round. */
static void source_failed(struct rzone *z, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void source_failed(struct rzone *z, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(z->st.last_error, sizeof(z->st.last_error), fmt, ap);
	va_end(ap);
	z->st.failures++;
	ost_log(OST_LOG_WARN, "refresh", "source failed zone=%s source=%s reason=\"%s\"", z->name,
		z->src[z->cur].text, z->st.last_error);
	z->cur = (z->cur + 1) % z->n_src;
	z->st.source = z->cur;
	if (++z->tried < z->n_src) {
		start_soa(z);
		return;
	}
	ost_log(OST_LOG_WARN, "refresh", "every source failed, retry later zone=%s", z->name);
	round_end(z, false);
}

/* ---- the transfer ---- */

static void on_xfr_done(struct ost_xfr *x, const struct ost_xfr_result *res, void *arg)
{
	struct rzone *z = arg;
	ost_xfr_free(x);
	z->xfr = NULL;
	if (res->status != 0) {
		source_failed(z, "%s", res->reason);
		return;
	}
	if (!res->is_up_to_date) {
		z->st.imports++;
		z->st.last_import_ms = res->import_ms;
		z->st.last_transfer_ms = res->transfer_ms;
		if (z->r->update_cb)
			z->r->update_cb(z->name, res->serial, z->r->update_arg);
		/* A new parent version may carry the DS a child without a
		 * usable version was missing (ru. imported before "."): check
		 * those at once rather than after their retry interval. */
		for (size_t i = 0; i < z->r->n; i++) {
			struct rzone *o = &z->r->zones[i];
			struct ost_mirror_zone_status ms;
			if (o != z && o->state == OST_RS_IDLE &&
			    ost_mirror_zone_status(z->r->m, o->name, &ms) == 0 && !ms.is_usable &&
			    ldns_dname_is_subdomain(o->dname, z->dname))
				schedule(o, 0, true);
		}
	} else {
		z->st.up_to_date++;
	}
	round_end(z, true);
}

static void start_xfr(struct rzone *z, uint32_t have_serial, bool has_version)
{
	struct ost_refresh *r = z->r;
	struct ost_xfr_request rq = {
		.zone = z->name,
		.src = &z->src[z->cur],
		.ixfr = z->cfg.ixfr && has_version,
		.have_serial = have_serial,
		.timeout_ms = z->cfg.timeout_ms,
		.max_bytes = z->cfg.max_bytes,
		.max_records = z->cfg.max_records,
		.store = r->store, /* IXFR differences apply to the stored version */
	};
	goto_state(z, OST_RS_XFR);
	z->st.transfers++;
	int rc = ost_xfr_start(r->m, r->tp, r->clock, &rq, on_xfr_done, z, &z->xfr);
	if (rc != 0) {
		z->xfr = NULL;
		source_failed(z, "transfer not sent: %s", ost_strerror(rc));
	}
}

/* ---- the SOA probe ---- */

/* The SOA reply decides: transfer (newer, or nothing usable) or done. */
static int on_soa(struct ost_upstream_query *q, int status, const uint8_t *pkt, size_t len)
{
	struct rzone *z = q->arg;
	if (ost_fails_assert(z->uq_active && z->state == OST_RS_SOA))
		return 0;
	if (status != 0) {
		z->uq_active = false;
		source_failed(z, "SOA query: %s", ost_strerror(status));
		return 0;
	}
	/* RFC 5452: wrong ID or question is ignored; keep waiting. */
	if (len < LDNS_HEADER_SIZE || (uint16_t)(pkt[0] << 8 | pkt[1]) != z->id)
		return -EAGAIN;
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, pkt, len) != LDNS_STATUS_OK)
		return -EAGAIN;
	const ldns_rr_list *qd = ldns_pkt_question(p);
	if (!ldns_pkt_qr(p) || ldns_rr_list_rr_count(qd) != 1 ||
	    ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(qd, 0)), z->dname) != 0 ||
	    ldns_rr_get_type(ldns_rr_list_rr(qd, 0)) != LDNS_RR_TYPE_SOA) {
		ldns_pkt_free(p);
		return -EAGAIN;
	}
	z->uq_active = false;
	bool found = false;
	uint32_t serial = 0;
	const ldns_rr_list *an = ldns_pkt_answer(p);
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7 &&
		    ldns_dname_compare(ldns_rr_owner(rr), z->dname) == 0 &&
		    ldns_rdf_size(ldns_rr_rdf(rr, 2)) == 4) {
			found = true;
			serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
		}
	}
	uint8_t rcode = ldns_pkt_get_rcode(p);
	bool aa = ldns_pkt_aa(p);
	ldns_pkt_free(p);
	if (rcode != LDNS_RCODE_NOERROR || !found || !aa) {
		source_failed(z, "SOA query: %s",
			      rcode != LDNS_RCODE_NOERROR ? "error rcode"
			      : !found                    ? "no SOA in the answer"
							  : "not authoritative");
		return 0;
	}
	struct ost_mirror_zone_status ms;
	bool usable = ost_mirror_zone_status(z->r->m, z->name, &ms) == 0 && ms.is_usable;
	bool has = usable && ms.has_version;
	if (!has || ost_zone_serial_cmp(serial, ms.meta.serial) == 1) {
		ost_log(OST_LOG_INFO, "refresh",
			"transfer needed zone=%s source=%s serial=%u have=%u", z->name,
			z->src[z->cur].text, serial, has ? ms.meta.serial : 0);
		start_xfr(z, has ? ms.meta.serial : 0, has);
		return 0;
	}
	/* Current (or the source lags: never take a lower serial). A current
	 * serial is a successful refresh: the expire deadline moves on. */
	z->st.up_to_date++;
	if (ost_zone_serial_cmp(serial, ms.meta.serial) == 0) {
		struct ost_zone_meta meta = ms.meta;
		meta.soa_expire_deadline = ost_clock_wall_s(z->r->clock) + (int64_t)meta.expire;
		if (ost_zone_store_put_meta(z->r->store, z->name, &meta) != 0)
			ost_log(OST_LOG_WARN, "refresh", "cannot update metadata zone=%s", z->name);
	} else {
		ost_log(OST_LOG_WARN, "refresh",
			"source has an older serial zone=%s source=%s "
			"serial=%u have=%u",
			z->name, z->src[z->cur].text, serial, ms.meta.serial);
	}
	round_end(z, true);
	return 0;
}

static void start_soa(struct rzone *z)
{
	struct ost_refresh *r = z->r;
	ldns_pkt *q = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;

	goto_state(z, OST_RS_SOA);
	z->st.checks++;
	if (RAND_bytes((unsigned char *)&z->id, sizeof(z->id)) != 1) {
		source_failed(z, "no random bytes");
		return;
	}
	q = ldns_pkt_query_new(ldns_rdf_clone(z->dname), LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0);
	if (q) {
		ldns_pkt_set_id(q, z->id);
		if (ldns_pkt2wire(&wire, q, &len) != LDNS_STATUS_OK)
			wire = NULL;
		ldns_pkt_free(q);
	}
	if (!wire) {
		source_failed(z, "out of memory");
		return;
	}
	free(z->wire);
	z->wire = wire;
	const struct ost_xfr_source *s = &z->src[z->cur];
	memset(&z->uq, 0, sizeof(z->uq));
	memcpy(&z->uq.addr, &s->addr, s->addrlen);
	z->uq.addrlen = s->addrlen;
	z->uq.proto = OST_PROTO_UDP;
	z->uq.wire = wire;
	z->uq.len = len;
	z->uq.timeout_ms = z->cfg.soa_timeout_ms ? z->cfg.soa_timeout_ms : SOA_TIMEOUT_MS;
	z->uq.cb = on_soa;
	z->uq.arg = z;
	int rc = r->tp->ops->send(r->tp->ctx, &z->uq);
	if (rc != 0) {
		source_failed(z, "SOA query not sent: %s", ost_strerror(rc));
		return;
	}
	z->uq_active = true;
}

static void check_now(struct rzone *z)
{
	if (z->state != OST_RS_IDLE) {
		z->pending = true;
		return;
	}
	ost_clock_timer_stop(z->r->clock, z->timer);
	z->timer = NULL;
	z->tried = 0;
	start_soa(z);
}

/* ---- public API ---- */

int ost_refresh_new(struct ost_mirror *m, struct ost_zone_store *store,
		    const struct ost_transport *tp, const struct ost_clock *clock,
		    struct ost_refresh **out)
{
	if (!m || !store || !tp || !clock || !out)
		return -EINVAL;
	struct ost_refresh *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->m = m;
	r->store = store;
	r->tp = tp;
	r->clock = clock;
	*out = r;
	return 0;
}

void ost_refresh_free(struct ost_refresh *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		struct rzone *z = &r->zones[i];
		ost_clock_timer_stop(r->clock, z->timer);
		if (z->uq_active)
			r->tp->ops->cancel(r->tp->ctx, &z->uq);
		ost_xfr_free(z->xfr);
		ldns_rdf_deep_free(z->dname);
		free(z->src);
		free(z->wire);
	}
	free(r->zones);
	free(r);
}

int ost_refresh_add_zone(struct ost_refresh *r, const struct ost_refresh_zone_config *cfg)
{
	struct ost_mirror_zone_status ms;
	if (!cfg || !cfg->zone || cfg->n_sources == 0 || !cfg->sources ||
	    ost_mirror_zone_status(r->m, cfg->zone, &ms) != 0)
		return -EINVAL;
	struct rzone *nz = realloc(r->zones, (r->n + 1) * sizeof(*nz));
	if (!nz)
		return -ENOMEM;
	r->zones = nz;
	/* Zones are addressed by index from now on: timers hold pointers, so
	 * every zone is added before ost_refresh_start(). */
	struct rzone *z = &r->zones[r->n];
	memset(z, 0, sizeof(*z));
	z->r = r;
	snprintf(z->name, sizeof(z->name), "%s", ms.name);
	z->cfg = *cfg;
	z->cfg.zone = NULL;
	z->src = calloc(cfg->n_sources, sizeof(*z->src));
	if (!z->src || ldns_str2rdf_dname(&z->dname, z->name) != LDNS_STATUS_OK) {
		free(z->src);
		return -ENOMEM;
	}
	memcpy(z->src, cfg->sources, cfg->n_sources * sizeof(*z->src));
	z->n_src = cfg->n_sources;
	z->cfg.sources = z->src;
	r->n++;
	return 0;
}

void ost_refresh_set_update_cb(struct ost_refresh *r, ost_refresh_update_cb cb, void *arg)
{
	r->update_cb = cb;
	r->update_arg = arg;
}

void ost_refresh_start(struct ost_refresh *r)
{
	int64_t now = ost_clock_wall_s(r->clock);
	for (size_t i = 0; i < r->n; i++) {
		struct rzone *z = &r->zones[i];
		struct ost_mirror_zone_status ms;
		z->r = r; /* the array may have moved while zones were added */
		/* Without a usable version: parents first (one second per label),
		 * since a child's anchor is the DS in its mirrored parent; the
		 * parent's import then checks its children at once anyway. */
		uint32_t secs = (uint32_t)ldns_dname_label_count(z->dname);
		if (ost_mirror_zone_status(r->m, z->name, &ms) == 0 && ms.is_usable) {
			int64_t due = ms.meta.fetched_at + (int64_t)clamp_interval(ms.meta.refresh);
			secs = due > now ? (uint32_t)(due - now) : 0;
		}
		/* Never check from inside start: at least the jitter's delay. */
		schedule(z, secs, false);
	}
}

static struct rzone *find(struct ost_refresh *r, const char *zone)
{
	ldns_rdf *d = NULL;
	struct rzone *found = NULL;
	if (ldns_str2rdf_dname(&d, zone) != LDNS_STATUS_OK)
		return NULL;
	for (size_t i = 0; i < r->n && !found; i++)
		if (ldns_dname_compare(r->zones[i].dname, d) == 0)
			found = &r->zones[i];
	ldns_rdf_deep_free(d);
	return found;
}

static bool same_host(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	if (a->sa_family != b->ss_family)
		return false;
	if (a->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			      &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return false;
}

int ost_refresh_notify(struct ost_refresh *r, const struct ost_notify *n,
		       const struct sockaddr *from)
{
	struct rzone *z = find(r, n->zone);
	if (!z)
		return -ENOENT;
	for (size_t i = 0; i < z->n_src; i++) {
		if (!same_host(from, &z->src[i].addr))
			continue;
		z->st.notifies++;
		ost_log(OST_LOG_INFO, "refresh", "NOTIFY accepted zone=%s source=%s serial=%u",
			z->name, z->src[i].text, n->has_serial ? n->serial : 0);
		if (z->state == OST_RS_IDLE) {
			z->cur = i;
			z->st.source = i;
		}
		check_now(z);
		return 0;
	}
	ost_log(OST_LOG_WARN, "refresh", "NOTIFY from a stranger refused zone=%s", z->name);
	return OST_ENOTALLOWED;
}

int ost_refresh_now(struct ost_refresh *r, const char *zone)
{
	struct rzone *z = find(r, zone);
	if (!z)
		return -ENOENT;
	check_now(z);
	return 0;
}

int ost_refresh_status(struct ost_refresh *r, const char *zone, struct ost_refresh_status *out)
{
	struct rzone *z = find(r, zone);
	if (!z)
		return -ENOENT;
	*out = z->st;
	out->state = z->state;
	out->source = z->cur;
	return 0;
}
