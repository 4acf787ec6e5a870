/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Isolation drills, part 1: the destination map, the wrapping transport that
 * simulates a drill profile inside the resolver, and the drill life cycle
 * (start, duration, abort guard, stop). The simulation is in the transport
 * on purpose: a drill in production must never touch routers or firewalls,
 * and everything above the transport (the engine, the probes, the failover
 * machine) must see exactly what a real cut would show it: a timeout after
 * the query's own deadline for swallowed packets, or a refusal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/log.h"

#include "drill_internal.h"

/*
 * ---------------------------------------------------------------------------
 * Names and the destination map
 * ---------------------------------------------------------------------------
 */

static const char *const dest_names[OST_DEST_CLASS_COUNT] = {
	[OST_DEST_ROOT] = "root",
	[OST_DEST_FOREIGN_TLD] = "foreign-tld",
	[OST_DEST_FOREIGN] = "foreign",
	[OST_DEST_NATIONAL] = "national",
	[OST_DEST_MIRROR_SOURCE] = "mirror-source",
};

static const char *const profile_names[OST_DRILL_PROFILE_COUNT] = {
	[OST_DRILL_FOREIGN_CUT] = "foreign-cut",
	[OST_DRILL_FOREIGN_LOSS] = "foreign-loss",
	[OST_DRILL_TLD_CUT] = "tld-cut",
	[OST_DRILL_POISONED_SOURCE] = "poisoned-source",
};

const char *ost_dest_class_str(enum ost_dest_class c)
{
	return (unsigned)c < OST_DEST_CLASS_COUNT ? dest_names[c] : "?";
}

enum ost_fo_class ost_dest_fo_class(enum ost_dest_class c)
{
	switch (c) {
	case OST_DEST_ROOT:
		return OST_FO_ROOT;
	case OST_DEST_NATIONAL:
	case OST_DEST_MIRROR_SOURCE:
		return OST_FO_NATIONAL;
	default:
		return OST_FO_FOREIGN;
	}
}

const char *ost_drill_profile_str(enum ost_drill_profile p)
{
	return (unsigned)p < OST_DRILL_PROFILE_COUNT ? profile_names[p] : "?";
}

int ost_drill_profile_parse(const char *name, enum ost_drill_profile *out)
{
	for (int i = 0; name && i < OST_DRILL_PROFILE_COUNT; i++) {
		if (strcmp(name, profile_names[i]) == 0) {
			*out = (enum ost_drill_profile)i;
			return 0;
		}
	}
	return -EINVAL;
}

int ost_dest_map_add(struct ost_dest_map *m, const char *cidr, enum ost_dest_class cls)
{
	if (!cidr || (unsigned)cls >= OST_DEST_CLASS_COUNT)
		return -EINVAL;
	if (m->n == OST_DEST_MAX_PREFIXES)
		return -ENOSPC;
	char buf[INET6_ADDRSTRLEN + 8];
	if (strlen(cidr) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, cidr);
	struct ost_dest_prefix p = {.cls = cls};
	char *slash = strchr(buf, '/');
	long len = -1;
	if (slash) {
		*slash = '\0';
		char *end;
		if (!slash[1] || slash[1] == '-' || slash[1] == '+')
			return -EINVAL;
		len = strtol(slash + 1, &end, 10);
		if (*end)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, buf, p.bytes) == 1) {
		p.family = AF_INET;
		if (len < 0)
			len = 32;
		if (len > 32)
			return -EINVAL;
	} else if (inet_pton(AF_INET6, buf, p.bytes) == 1) {
		p.family = AF_INET6;
		if (len < 0)
			len = 128;
		if (len > 128)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	p.len = (uint8_t)len;
	for (unsigned bit = p.len; bit < 128; bit++)
		p.bytes[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	m->v[m->n++] = p;
	return 0;
}

static bool prefix_match(const struct ost_dest_prefix *p, int family, const uint8_t *a)
{
	if (p->family != family)
		return false;
	unsigned full = p->len / 8, rest = p->len % 8;
	if (memcmp(p->bytes, a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return (a[full] & mask) == p->bytes[full];
}

enum ost_dest_class ost_dest_map_classify(const struct ost_dest_map *m, const struct sockaddr *sa)
{
	uint8_t a[16];
	int family;
	if (sa->sa_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *x = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(x)) {
			memcpy(a, &x->s6_addr[12], 4);
			family = AF_INET;
		} else {
			memcpy(a, x, 16);
			family = AF_INET6;
		}
	} else {
		return OST_DEST_FOREIGN;
	}
	int best = -1;
	for (size_t i = 0; i < m->n; i++)
		if (prefix_match(&m->v[i], family, a) && (best < 0 || m->v[i].len > m->v[best].len))
			best = (int)i;
	return best < 0 ? OST_DEST_FOREIGN : m->v[best].cls;
}

void ost_drill_config_default(struct ost_drill_config *cfg)
{
	*cfg = (struct ost_drill_config){
		.loss_share = 0.3,
		.cut_mode = OST_DRILL_DROP,
		.default_duration_s = 900,
		.max_duration_s = 86400,
		.abort_servfail_share = 0.5,
		.abort_p99_ms = 3000,
		.abort_window_ms = 10000,
		.abort_windows = 3,
		.abort_min_answers = 20,
		.target_national_answered = 0.999,
		.target_foreign_answered = 0.95,
		.target_detect_ms = 30000,
		.target_recover_ms = 900000,
	};
}

/*
 * ---------------------------------------------------------------------------
 * The wrapping transport
 * ---------------------------------------------------------------------------
 */

struct drill_pending {
	struct ost_upstream_query shadow; /* what the inner transport sees */
	struct ost_upstream_query *orig;  /* the caller's query */
	struct drill_face *face;
	enum ost_dest_class cls;
	bool is_simulated; /* cut by the drill: completed by our timer */
	int sim_status;
	bool is_tampered; /* poisoned-source: alter the answers */
	struct ost_timer *timer;
	struct drill_pending *prev, *next; /* d->pending, doubly linked: a worker
					    * can have thousands in flight */
};

static uint64_t next_rand(struct ost_drill *d)
{
	uint64_t z = (d->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* O(1): 4,096 queries timing out together used to cost a list walk each. */
static void unlink_pending(struct ost_drill *d, struct drill_pending *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else if (d->pending == p)
		d->pending = p->next;
	else
		return; /* not linked */
	if (p->next)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
}

/* The passive signal: network outcomes only; a policy refusal says nothing about reachability. */
static void feed_passive(struct drill_pending *p, int status)
{
	if (!p->face->feeds_passive || status == OST_ENOTALLOWED)
		return;
	ost_fo_feed_passive(p->face->d->fo, ost_dest_fo_class(p->cls), status == 0);
}

static void sim_fire(void *arg)
{
	struct drill_pending *p = arg;
	struct ost_drill *d = p->face->d;
	p->timer = NULL;
	pthread_mutex_lock(&d->lock);
	unlink_pending(d, p);
	pthread_mutex_unlock(&d->lock);
	struct ost_upstream_query *q = p->orig;
	q->tp_priv = NULL;
	feed_passive(p, p->sim_status);
	int status = p->sim_status;
	free(p);
	q->cb(q, status, NULL, 0); /* the engine may free q */
}

static bool is_transfer(const struct ost_upstream_query *q)
{
	ldns_pkt *pkt = NULL;
	if (ldns_wire2pkt(&pkt, q->wire, q->len) != LDNS_STATUS_OK)
		return false;
	const ldns_rr *qq = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
	bool is_xfr = qq && (ldns_rr_get_type(qq) == LDNS_RR_TYPE_AXFR ||
			     ldns_rr_get_type(qq) == LDNS_RR_TYPE_IXFR);
	ldns_pkt_free(pkt);
	return is_xfr;
}

/*
 * poisoned-source (standards.md §8 P8): alter one record of a transfer
 * message the way an attacker on the path would, so the copy no longer
 * matches its ZONEMD digest and signatures. An A record gets its last
 * address byte flipped; without one, the first non-SOA record's TTL changes
 * (ZONEMD covers TTLs, RFC 8976 §3.3). @return a malloc'd message or NULL.
 */
static uint8_t *tamper(const uint8_t *pkt, size_t len, size_t *out_len)
{
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, pkt, len) != LDNS_STATUS_OK)
		return NULL;
	ldns_rr_list *an = ldns_pkt_answer(p);
	ldns_rr *victim = NULL;
	for (size_t i = 0; i < ldns_rr_list_rr_count(an) && !victim; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && ldns_rr_rd_count(rr) == 1)
			victim = rr;
	}
	if (victim) {
		ldns_rdf *rd = ldns_rr_rdf(victim, 0);
		ldns_rdf_data(rd)[ldns_rdf_size(rd) - 1] ^= 0x01;
	} else {
		for (size_t i = 0; i < ldns_rr_list_rr_count(an) && !victim; i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);
			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA)
				victim = rr;
		}
		if (victim)
			ldns_rr_set_ttl(victim, ldns_rr_ttl(victim) + 1);
	}
	uint8_t *wire = NULL;
	if (!victim || ldns_pkt2wire(&wire, p, out_len) != LDNS_STATUS_OK) {
		ldns_pkt_free(p);
		return NULL;
	}
	ldns_pkt_free(p);
	uint8_t *copy = malloc(*out_len);
	if (copy)
		memcpy(copy, wire, *out_len);
	LDNS_FREE(wire);
	return copy;
}

static int shadow_cb(struct ost_upstream_query *sq, int status, const uint8_t *pkt, size_t len)
{
	struct drill_pending *p = sq->arg;
	struct ost_drill *d = p->face->d;
	struct ost_upstream_query *q = p->orig;
	uint8_t *altered = NULL;
	if (status == 0 && p->is_tampered) {
		size_t alen = 0;
		altered = tamper(pkt, len, &alen);
		if (altered) {
			pthread_mutex_lock(&d->lock);
			d->tampered++;
			pthread_mutex_unlock(&d->lock);
			ost_log(OST_LOG_WARN, "drill", "poisoned-source: transfer message altered");
			pkt = altered;
			len = alen;
		}
	}
	/* As server/upstream.c: while the engine's callback runs, its query is not ours. */
	q->tp_priv = NULL;
	int rc = q->cb(q, status, pkt, len);
	free(altered);
	if (rc == -EAGAIN && status == 0) {
		q->tp_priv = p;
		return -EAGAIN;
	}
	pthread_mutex_lock(&d->lock);
	unlink_pending(d, p);
	pthread_mutex_unlock(&d->lock);
	feed_passive(p, status);
	free(p);
	return rc;
}

/* Decide the fate of one query under the running profile (lock held). */
static bool is_cut(struct ost_drill *d, enum ost_dest_class cls)
{
	if (!d->is_running)
		return false;
	bool is_abroad = cls != OST_DEST_NATIONAL && cls != OST_DEST_MIRROR_SOURCE;
	switch (d->profile) {
	case OST_DRILL_FOREIGN_CUT:
		return is_abroad;
	case OST_DRILL_FOREIGN_LOSS:
		return is_abroad &&
		       (double)(next_rand(d) >> 11) / (double)(1ULL << 53) < d->cfg.loss_share;
	case OST_DRILL_TLD_CUT:
		return cls == OST_DEST_FOREIGN_TLD;
	default:
		return false;
	}
}

static int face_send(void *ctx, struct ost_upstream_query *q)
{
	struct drill_face *face = ctx;
	struct ost_drill *d = face->d;
	struct drill_pending *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->orig = q;
	p->face = face;
	p->cls = ost_dest_map_classify(&d->cfg.map, (const struct sockaddr *)&q->addr);

	pthread_mutex_lock(&d->lock);
	d->sent[p->cls] += d->is_running;
	p->is_simulated = is_cut(d, p->cls);
	if (p->is_simulated) {
		d->cut[p->cls]++;
		/* Loss is loss; a cut follows the configured mode. */
		p->sim_status =
			(d->profile == OST_DRILL_FOREIGN_LOSS || d->cfg.cut_mode == OST_DRILL_DROP)
				? -ETIMEDOUT
				: -ECONNREFUSED;
	} else if (d->is_running && d->profile == OST_DRILL_POISONED_SOURCE &&
		   d->is_poison_pending && is_transfer(q)) {
		p->is_tampered = true;
		d->is_poison_pending = false;
	}
	p->prev = NULL;
	p->next = d->pending;
	if (d->pending)
		d->pending->prev = p;
	d->pending = p;
	pthread_mutex_unlock(&d->lock);

	int rc = 0;
	q->tp_priv = p;
	if (p->is_simulated) {
		uint64_t ms = p->sim_status == -ETIMEDOUT ? q->timeout_ms : 1;
		p->timer = ost_clock_timer_start(face->clock, ms, sim_fire, p);
		if (!p->timer)
			rc = -ENOMEM;
	} else {
		p->shadow = *q;
		p->shadow.cb = shadow_cb;
		p->shadow.arg = p;
		p->shadow.tp_priv = NULL;
		rc = face->inner->ops->send(face->inner->ctx, &p->shadow);
	}
	if (rc < 0) {
		pthread_mutex_lock(&d->lock);
		unlink_pending(d, p);
		pthread_mutex_unlock(&d->lock);
		q->tp_priv = NULL;
		free(p);
	}
	return rc;
}

static void face_cancel(void *ctx, struct ost_upstream_query *q)
{
	struct drill_face *face = ctx;
	struct ost_drill *d = face->d;
	struct drill_pending *p = q->tp_priv;
	if (!p)
		return;
	if (p->is_simulated)
		ost_clock_timer_stop(face->clock, p->timer);
	else
		face->inner->ops->cancel(face->inner->ctx, &p->shadow);
	pthread_mutex_lock(&d->lock);
	unlink_pending(d, p);
	pthread_mutex_unlock(&d->lock);
	q->tp_priv = NULL;
	free(p);
}

static const struct ost_transport_ops face_ops = {.send = face_send, .cancel = face_cancel};

const struct ost_transport *ost_drill_transport(struct ost_drill *d)
{
	return &d->faces[0].tp;
}

const struct ost_dest_map *ost_drill_map(const struct ost_drill *d)
{
	return &d->cfg.map;
}

const struct ost_transport *ost_drill_probe_transport(struct ost_drill *d)
{
	return &d->faces[1].tp;
}

int ost_drill_add_face(struct ost_drill *d, const struct ost_transport *inner,
		       const struct ost_clock *clock, bool feeds_passive,
		       const struct ost_transport **out)
{
	if (!inner || !clock)
		return -EINVAL;
	struct drill_face *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	*f = (struct drill_face){
		.tp = {.ops = &face_ops, .ctx = f},
		.d = d,
		.inner = inner,
		.clock = clock,
		.feeds_passive = feeds_passive,
	};
	pthread_mutex_lock(&d->lock);
	f->next = d->extra_faces;
	d->extra_faces = f;
	pthread_mutex_unlock(&d->lock);
	*out = &f->tp;
	return 0;
}

/*
 * ---------------------------------------------------------------------------
 * Life cycle
 * ---------------------------------------------------------------------------
 */

int ost_drill_new(const struct ost_drill_config *cfg, const struct ost_clock *clock,
		  const struct ost_transport *inner, struct ost_fo *fo, uint64_t seed,
		  struct ost_drill **out)
{
	struct ost_drill_config def;
	if (!cfg) {
		ost_drill_config_default(&def);
		cfg = &def;
	}
	if (cfg->loss_share < 0 || cfg->loss_share > 1 || cfg->max_duration_s == 0 ||
	    cfg->default_duration_s == 0 || cfg->default_duration_s > cfg->max_duration_s ||
	    cfg->abort_window_ms == 0 || cfg->abort_windows == 0 || cfg->abort_servfail_share < 0 ||
	    cfg->abort_servfail_share > 1)
		return -EINVAL;
	struct ost_drill *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	d->clock = clock;
	d->inner = inner;
	d->fo = fo;
	d->rng = seed;
	atomic_init(&d->is_running_hint, false);
	pthread_mutex_init(&d->lock, NULL);
	for (int i = 0; i < 2; i++) {
		d->faces[i] = (struct drill_face){
			.tp = {.ops = &face_ops, .ctx = &d->faces[i]},
			.d = d,
			.inner = inner,
			.clock = clock,
			.feeds_passive = i == 0,
		};
	}
	if (ost_fo_add_listener(fo, drill_on_transition, d) < 0) {
		pthread_mutex_destroy(&d->lock);
		free(d);
		return -ENOSPC;
	}
	*out = d;
	return 0;
}

static void stop_locked(struct ost_drill *d, const char *reason)
{
	d->is_running = false;
	atomic_store(&d->is_running_hint, false);
	d->stop_ms = ost_clock_mono_ms(d->clock);
	d->stop_wall = ost_clock_wall_s(d->clock);
	snprintf(d->stop_reason, sizeof(d->stop_reason), "%s", reason ? reason : "operator");
	ost_clock_timer_stop(d->clock, d->duration_timer);
	ost_clock_timer_stop(d->clock, d->guard_timer);
	d->duration_timer = d->guard_timer = NULL;
	d->n_m_end = drill_mirrors_snapshot(d, d->m_end);
	/* Nothing to recover from when the machine never left NORMAL. */
	if (d->has_left_normal && ost_fo_state(d->fo) == OST_FO_NORMAL)
		d->to_recovered_ms = 0;
	ost_fo_set_drill(d->fo, NULL);

	struct ost_buf b = {0};
	ost_buf_printf(&b, "{\"mod\":\"drill\",\"event\":\"drill_stop\",\"drill_id\":");
	ost_buf_json_str(&b, d->id);
	ost_buf_printf(&b, ",\"reason\":");
	ost_buf_json_str(&b, d->stop_reason);
	ost_buf_printf(&b, ",\"ran_ms\":%llu,\"state\":\"%s\"}",
		       (unsigned long long)(d->stop_ms - d->start_ms),
		       ost_fo_state_str(ost_fo_state(d->fo)));
	if (!b.has_oom)
		ost_log_json(ost_buf_str(&b));
	ost_buf_deinit(&b);
}

static void duration_fire(void *arg)
{
	struct ost_drill *d = arg;
	pthread_mutex_lock(&d->lock);
	d->duration_timer = NULL;
	if (d->is_running)
		stop_locked(d, "duration");
	pthread_mutex_unlock(&d->lock);
}

/*
 * The abort guard (standards.md §7.2 DRILL row): a drill that hurts users
 * more than the operator allowed, in abort_windows consecutive windows,
 * stops itself. Windows with too few answers are not judged either way.
 */
static void guard_fire(void *arg)
{
	struct ost_drill *d = arg;
	char why[128] = "";
	pthread_mutex_lock(&d->lock);
	d->guard_timer = NULL;
	if (!d->is_running) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	if (d->win_n >= d->cfg.abort_min_answers) {
		double share = (double)d->win_servfail / (double)d->win_n;
		uint64_t p99 = hist_quantile(&d->win_lat, 0.99);
		bool is_bad = false;
		if (share > d->cfg.abort_servfail_share) {
			snprintf(why, sizeof(why), "abort: SERVFAIL share %.2f > %.2f", share,
				 d->cfg.abort_servfail_share);
			is_bad = true;
		} else if (p99 > (uint64_t)d->cfg.abort_p99_ms * 1000) {
			snprintf(why, sizeof(why), "abort: p99 latency %llu ms > %u ms",
				 (unsigned long long)(p99 / 1000), d->cfg.abort_p99_ms);
			is_bad = true;
		}
		d->bad_windows = is_bad ? d->bad_windows + 1 : 0;
	}
	d->win_n = d->win_servfail = 0;
	memset(&d->win_lat, 0, sizeof(d->win_lat));
	if (d->bad_windows >= d->cfg.abort_windows) {
		ost_log(OST_LOG_WARN, "drill", "abort guard stopped the drill id=%s reason=\"%s\"",
			d->id, why);
		stop_locked(d, why);
	} else {
		d->guard_timer =
			ost_clock_timer_start(d->clock, d->cfg.abort_window_ms, guard_fire, d);
	}
	pthread_mutex_unlock(&d->lock);
}

int ost_drill_start(struct ost_drill *d, enum ost_drill_profile profile, uint32_t duration_s,
		    const char *operator_name, char *id, size_t idlen)
{
	if ((unsigned)profile >= OST_DRILL_PROFILE_COUNT || duration_s > d->cfg.max_duration_s)
		return -EINVAL;
	if (duration_s == 0)
		duration_s = d->cfg.default_duration_s;
	pthread_mutex_lock(&d->lock);
	if (d->is_running) {
		pthread_mutex_unlock(&d->lock);
		return -EBUSY;
	}
	drill_collector_reset(d);
	d->has_run = true;
	d->is_running = true;
	d->profile = profile;
	d->start_ms = ost_clock_mono_ms(d->clock);
	d->start_wall = ost_clock_wall_s(d->clock);
	d->stop_ms = 0;
	d->stop_wall = 0;
	d->stop_reason[0] = '\0';
	d->bad_windows = 0;
	d->is_poison_pending = profile == OST_DRILL_POISONED_SOURCE;
	snprintf(d->id, sizeof(d->id), "drill-%s-%lld", profile_names[profile],
		 (long long)d->start_wall);
	d->n_m_start = drill_mirrors_snapshot(d, d->m_start);
	d->has_left_normal = ost_fo_state(d->fo) != OST_FO_NORMAL;
	d->duration_timer =
		ost_clock_timer_start(d->clock, (uint64_t)duration_s * 1000, duration_fire, d);
	d->guard_timer = ost_clock_timer_start(d->clock, d->cfg.abort_window_ms, guard_fire, d);
	if (!d->duration_timer || !d->guard_timer) {
		ost_clock_timer_stop(d->clock, d->duration_timer);
		ost_clock_timer_stop(d->clock, d->guard_timer);
		d->duration_timer = d->guard_timer = NULL;
		d->is_running = false;
		d->has_run = false;
		pthread_mutex_unlock(&d->lock);
		return -ENOMEM;
	}
	ost_fo_set_drill(d->fo, d->id);
	atomic_store(&d->is_running_hint, true);
	if (id && idlen)
		snprintf(id, idlen, "%s", d->id);

	struct ost_buf b = {0};
	ost_buf_printf(&b, "{\"mod\":\"drill\",\"event\":\"drill_start\",\"drill_id\":");
	ost_buf_json_str(&b, d->id);
	ost_buf_printf(&b, ",\"profile\":\"%s\",\"duration_s\":%u,\"state\":\"%s\",\"operator\":",
		       profile_names[profile], duration_s, ost_fo_state_str(ost_fo_state(d->fo)));
	ost_buf_json_str(&b, operator_name);
	ost_buf_printf(&b, "}");
	if (!b.has_oom)
		ost_log_json(ost_buf_str(&b));
	ost_buf_deinit(&b);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int ost_drill_stop(struct ost_drill *d, const char *reason)
{
	pthread_mutex_lock(&d->lock);
	if (!d->is_running) {
		pthread_mutex_unlock(&d->lock);
		return -ENOENT;
	}
	stop_locked(d, reason);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

bool ost_drill_is_running(struct ost_drill *d)
{
	/* is_running_hint is stored with is_running, under the lock */
	return atomic_load(&d->is_running_hint);
}

void ost_drill_free(struct ost_drill *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	if (d->is_running)
		stop_locked(d, "shutdown");
	pthread_mutex_unlock(&d->lock);
	ost_fo_remove_listener(d->fo, drill_on_transition, d);
	/*
	 * Queries still in flight belong to callers that are shutting down too;
	 * they are abandoned without callbacks, as transport cancel() promises.
	 */
	while (d->pending) {
		struct drill_pending *p = d->pending;
		unlink_pending(d, p);
		if (p->is_simulated)
			ost_clock_timer_stop(p->face->clock, p->timer);
		else
			p->face->inner->ops->cancel(p->face->inner->ctx, &p->shadow);
		p->orig->tp_priv = NULL;
		free(p);
	}
	while (d->extra_faces) {
		struct drill_face *f = d->extra_faces;
		d->extra_faces = f->next;
		free(f);
	}
	pthread_mutex_destroy(&d->lock);
	free(d);
}
