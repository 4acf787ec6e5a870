/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The failover state machine of standards.md §7.2. Probe results and passive
 * outcomes land in 1-second buckets; every eval_ms the last window_ms of
 * buckets is turned into R_root, R_foreign, R_national and passive failure
 * shares, consecutive-evaluation counters are updated, and at most one event
 * is posted. Events go through one const transition table of
 * (state, event) -> (guard, action, next): an event without a row is illegal
 * (-EINVAL, logged, counted, state unchanged). Every edge is logged as one
 * JSON record with its evidence and counted per (from, to).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ostrov/log.h"

#include "failover_internal.h"

/** Buckets in the ring: the longest window plus the bucket being filled. */
#define N_BUCKETS 64

struct bucket {
	uint64_t idx;                        /* mono_ms / bucket_ms, or UINT64_MAX unused */
	uint32_t ok[OST_FO_CLASS_COUNT];     /* probe successes */
	uint32_t fail[OST_FO_CLASS_COUNT];   /* probe failures */
	uint32_t p_ok[OST_FO_CLASS_COUNT];   /* passive answers */
	uint32_t p_fail[OST_FO_CLASS_COUNT]; /* passive timeouts / network errors */
};

struct listener {
	ost_fo_listener_cb cb;
	void *arg;
};

struct ost_fo {
	struct ost_fo_config cfg;
	const struct ost_clock *clock;
	struct ost_timer *eval_timer;
	pthread_mutex_t lock;
	_Atomic int state; /* enum ost_fo_state, read lock-free by ost_fo_state() */

	struct bucket buckets[N_BUCKETS];

	/* consecutive evaluations for which each trigger held */
	unsigned n_degrade, n_isolate, n_healthy, n_reachable;

	bool has_transitioned;
	bool is_forced;
	uint64_t last_transition_ms;
	uint64_t entered_ms;
	uint64_t state_ms[OST_FO_STATE_COUNT];
	uint64_t transitions[OST_FO_STATE_COUNT][OST_FO_STATE_COUNT];
	uint64_t illegal_events;
	char last_reason[128];
	char drill_id[64];
	_Atomic bool is_drill; /* drill_id[0] != 0, for the lock-free policy path */

	struct ost_fo_window windows[OST_FO_EVIDENCE]; /* newest first */
	unsigned n_windows;

	struct ost_fo_mirror mirrors[OST_FO_MAX_MIRRORS];
	unsigned n_mirrors;

	double tokens; /* recheck token bucket */
	uint64_t tokens_at_ms;

	struct listener listeners[OST_FO_MAX_LISTENERS];
};

const char *const fo_state_names[OST_FO_STATE_COUNT] = {
	[OST_FO_LOADING] = "LOADING",
	[OST_FO_NORMAL] = "NORMAL",
	[OST_FO_DEGRADED] = "DEGRADED",
	[OST_FO_ISOLATED] = "ISOLATED",
	[OST_FO_MIRROR_EXPIRED] = "MIRROR-EXPIRED",
	[OST_FO_RECOVERING] = "RECOVERING",
};

static const char *const event_names[OST_FO_EV_COUNT] = {
	[OST_FO_EV_MIRROR_READY] = "mirror-ready",
	[OST_FO_EV_MIRROR_FAILED] = "mirror-failed",
	[OST_FO_EV_DEGRADE] = "degrade",
	[OST_FO_EV_ISOLATE_DETECTED] = "isolate-detected",
	[OST_FO_EV_REACHABLE] = "reachable",
	[OST_FO_EV_HEALTHY] = "healthy",
	[OST_FO_EV_MIRROR_EXPIRED] = "mirror-expired",
	[OST_FO_EV_MIRROR_FRESH] = "mirror-fresh",
	[OST_FO_EV_OP_ISOLATE] = "op-isolate",
	[OST_FO_EV_OP_UNISOLATE] = "op-unisolate",
};

const char *const fo_class_names[OST_FO_CLASS_COUNT] = {
	[OST_FO_ROOT] = "root",
	[OST_FO_FOREIGN] = "foreign",
	[OST_FO_NATIONAL] = "national",
};

const char *ost_fo_state_str(enum ost_fo_state s)
{
	return (unsigned)s < OST_FO_STATE_COUNT ? fo_state_names[s] : "?";
}

const char *ost_fo_event_str(enum ost_fo_event e)
{
	return (unsigned)e < OST_FO_EV_COUNT ? event_names[e] : "?";
}

const char *ost_fo_class_str(enum ost_fo_class c)
{
	return (unsigned)c < OST_FO_CLASS_COUNT ? fo_class_names[c] : "?";
}

void ost_fo_config_default(struct ost_fo_config *cfg)
{
	*cfg = (struct ost_fo_config){
		.bucket_ms = 1000,
		.window_ms = 10000,
		.eval_ms = 2000,
		.min_transition_ms = 10000,
		.degrade_below = 0.5,
		.degrade_passive_above = 0.6,
		.passive_min_samples = 100,
		.degrade_evals = 3,
		.isolate_root_max = 0.15,
		.isolate_foreign_max = 0.10,
		.isolate_evals = 3,
		.probe_min_samples = 4,
		.healthy_min = 0.75,
		.healthy_passive_max = 0.4,
		.healthy_evals = 30,
		.reachable_min = 0.5,
		.reachable_evals = 30,
		.recovered_evals = 60,
		.rrsig_margin_s = 86400,
		.max_extend_s = 7 * 86400,
		.stale_max_normal_s = 86400,
		.stale_max_isolated_s = 3 * 86400,
		.client_timer_ms = 1800,
		.recheck_per_s = 5,
		.recheck_burst = 20,
	};
}

static bool is_share(double x)
{
	return x >= 0 && x <= 1;
}

int ost_fo_config_check(const struct ost_fo_config *c, char *err, size_t errlen)
{
	const char *bad = NULL;
	if (c->bucket_ms == 0)
		bad = "bucket_ms must be > 0";
	else if (c->window_ms < c->bucket_ms || c->window_ms / c->bucket_ms > N_BUCKETS - 4)
		bad = "window_ms must hold 1 .. 60 buckets";
	else if (c->eval_ms == 0)
		bad = "eval_ms must be > 0";
	else if (!is_share(c->degrade_below) || !is_share(c->degrade_passive_above) ||
		 !is_share(c->isolate_root_max) || !is_share(c->isolate_foreign_max) ||
		 !is_share(c->healthy_min) || !is_share(c->healthy_passive_max) ||
		 !is_share(c->reachable_min))
		bad = "shares must be within 0 .. 1";
	else if (c->isolate_root_max >= c->degrade_below ||
		 c->isolate_foreign_max >= c->degrade_below)
		bad = "isolate thresholds must be below the degrade threshold";
	else if (c->healthy_min <= c->degrade_below)
		bad = "healthy_min must be above degrade_below (hysteresis)";
	else if (c->degrade_evals == 0 || c->isolate_evals == 0 || c->healthy_evals == 0 ||
		 c->reachable_evals == 0 || c->recovered_evals == 0)
		bad = "evaluation counts must be >= 1";
	else if (c->stale_max_normal_s > c->stale_max_isolated_s)
		bad = "stale_max_normal_s must not exceed stale_max_isolated_s";
	else if (c->recheck_per_s < 0 || c->recheck_burst < 1)
		bad = "recheck rate must be >= 0 and burst >= 1";
	if (!bad)
		return 0;
	if (err && errlen)
		snprintf(err, errlen, "failover: %s", bad);
	return -EINVAL;
}

/*
 * ---------------------------------------------------------------------------
 * Inputs
 * ---------------------------------------------------------------------------
 */

static struct bucket *bucket_at(struct ost_fo *fo, uint64_t now_ms)
{
	uint64_t idx = now_ms / fo->cfg.bucket_ms;
	struct bucket *b = &fo->buckets[idx % N_BUCKETS];
	if (b->idx != idx) {
		memset(b, 0, sizeof(*b));
		b->idx = idx;
	}
	return b;
}

void ost_fo_feed_probe(struct ost_fo *fo, enum ost_fo_class cls, bool is_ok)
{
	if (ost_fails_assert((unsigned)cls < OST_FO_CLASS_COUNT))
		return;
	pthread_mutex_lock(&fo->lock);
	struct bucket *b = bucket_at(fo, ost_clock_mono_ms(fo->clock));
	if (is_ok)
		b->ok[cls]++;
	else
		b->fail[cls]++;
	pthread_mutex_unlock(&fo->lock);
}

void ost_fo_feed_passive(struct ost_fo *fo, enum ost_fo_class cls, bool is_ok)
{
	if (ost_fails_assert((unsigned)cls < OST_FO_CLASS_COUNT))
		return;
	pthread_mutex_lock(&fo->lock);
	struct bucket *b = bucket_at(fo, ost_clock_mono_ms(fo->clock));
	if (is_ok)
		b->p_ok[cls]++;
	else
		b->p_fail[cls]++;
	pthread_mutex_unlock(&fo->lock);
}

static struct ost_fo_mirror *mirror_find(struct ost_fo *fo, const char *zone)
{
	for (unsigned i = 0; i < fo->n_mirrors; i++)
		if (strcasecmp(fo->mirrors[i].zone, zone) == 0)
			return &fo->mirrors[i];
	return NULL;
}

int ost_fo_feed_mirror(struct ost_fo *fo, const char *zone, uint32_t serial,
		       int64_t soa_expire_deadline, int64_t rrsig_horizon, bool is_verified)
{
	if (!zone || !*zone || strlen(zone) >= sizeof(fo->mirrors[0].zone))
		return -EINVAL;
	int rc = 0;
	pthread_mutex_lock(&fo->lock);
	struct ost_fo_mirror *m = mirror_find(fo, zone);
	if (!m) {
		if (fo->n_mirrors == OST_FO_MAX_MIRRORS) {
			rc = -ENOSPC;
			goto out;
		}
		m = &fo->mirrors[fo->n_mirrors++];
		*m = (struct ost_fo_mirror){0};
		snprintf(m->zone, sizeof(m->zone), "%s", zone);
	} else if (m->serial != serial) {
		/* An extension was granted for one copy; a new copy has its own horizons. */
		m->extended_until = 0;
	}
	m->serial = serial;
	m->soa_expire_deadline = soa_expire_deadline;
	m->rrsig_horizon = rrsig_horizon;
	m->is_verified = is_verified;
out:
	pthread_mutex_unlock(&fo->lock);
	return rc;
}

/*
 * RFC 8806 §3: past the SOA expire deadline the local copy must not be used.
 * An operator extension may go beyond it, but never past the RRSIG horizon
 * less the margin: signatures that are about to expire make the mirror's
 * referrals unverifiable, and only an explicit NTA decision can change that.
 */
static enum ost_fo_mirror_use mirror_use(const struct ost_fo *fo, const struct ost_fo_mirror *m,
					 int64_t now)
{
	if (!m->is_verified)
		return OST_FO_MIRROR_WITHDRAWN;
	if (now >= m->rrsig_horizon - (int64_t)fo->cfg.rrsig_margin_s)
		return OST_FO_MIRROR_WITHDRAWN;
	if (now < m->soa_expire_deadline)
		return OST_FO_MIRROR_USE;
	if (m->extended_until > now)
		return OST_FO_MIRROR_EXTENDED;
	return OST_FO_MIRROR_WITHDRAWN;
}

/* A verified mirror past its deadline or horizon, extended or not (standards.md §7.2). */
static bool is_mirror_expired(const struct ost_fo *fo, int64_t now)
{
	for (unsigned i = 0; i < fo->n_mirrors; i++) {
		const struct ost_fo_mirror *m = &fo->mirrors[i];
		if (!m->is_verified)
			continue;
		if (now >= m->soa_expire_deadline ||
		    now >= m->rrsig_horizon - (int64_t)fo->cfg.rrsig_margin_s)
			return true;
	}
	return false;
}

/*
 * ---------------------------------------------------------------------------
 * The transition table
 * ---------------------------------------------------------------------------
 */

/** A guard: 0 lets the row fire, a negative error holds it back. */
typedef int (*guard_fn)(struct ost_fo *fo);
/** An action, run after the guard and before the state changes. */
typedef void (*action_fn)(struct ost_fo *fo);

struct row {
	bool is_legal;        /* the (state, event) pair has a row */
	bool is_rate_limited; /* subject to min_transition_ms */
	guard_fn guard;       /* NULL: always */
	action_fn action;     /* NULL: none */
	enum ost_fo_state next;
};

/* Automatic recovery out of an operator's isolation would defeat its purpose. */
static int guard_not_forced(struct ost_fo *fo)
{
	return fo->is_forced ? -EAGAIN : 0;
}

static int guard_not_already_forced(struct ost_fo *fo)
{
	return fo->is_forced ? -EALREADY : 0;
}

static int guard_mirrors_fresh(struct ost_fo *fo)
{
	return is_mirror_expired(fo, ost_clock_wall_s(fo->clock)) ? -EAGAIN : 0;
}

static void act_force(struct ost_fo *fo)
{
	fo->is_forced = true;
}

static void act_unforce(struct ost_fo *fo)
{
	fo->is_forced = false;
}

static void act_alarm_mirror(struct ost_fo *fo)
{
	(void)fo;
	ost_log(OST_LOG_ERR, "failover",
		"mirror verification failed at start: recursion from root hints only");
}

#define AUTO(nx)                                                        \
	{                                                               \
		.is_legal = true, .is_rate_limited = true, .next = (nx) \
	}
#define AUTO_G(nx, g)                                                                 \
	{                                                                             \
		.is_legal = true, .is_rate_limited = true, .guard = (g), .next = (nx) \
	}
#define NOW(nx)                                \
	{                                      \
		.is_legal = true, .next = (nx) \
	}
#define NOW_GA(nx, g, a)                                                    \
	{                                                                   \
		.is_legal = true, .guard = (g), .action = (a), .next = (nx) \
	}

/*
 * The whole machine. Detection edges are rate limited like recovery edges
 * (at most one automatic change per min_transition_ms), but a mirror that
 * passes its deadline is withdrawn at once, and operator commands apply
 * immediately (standards.md §7.2, notes).
 */
static const struct row table[OST_FO_STATE_COUNT][OST_FO_EV_COUNT] = {
	[OST_FO_LOADING] =
		{
			[OST_FO_EV_MIRROR_READY] = NOW(OST_FO_NORMAL),
			[OST_FO_EV_MIRROR_FAILED] = NOW_GA(OST_FO_NORMAL, NULL, act_alarm_mirror),
			[OST_FO_EV_OP_ISOLATE] = NOW_GA(OST_FO_ISOLATED, NULL, act_force),
		},
	[OST_FO_NORMAL] =
		{
			[OST_FO_EV_DEGRADE] = AUTO(OST_FO_DEGRADED),
			[OST_FO_EV_OP_ISOLATE] = NOW_GA(OST_FO_ISOLATED, NULL, act_force),
		},
	[OST_FO_DEGRADED] =
		{
			[OST_FO_EV_ISOLATE_DETECTED] = AUTO(OST_FO_ISOLATED),
			[OST_FO_EV_HEALTHY] = AUTO(OST_FO_NORMAL),
			[OST_FO_EV_OP_ISOLATE] = NOW_GA(OST_FO_ISOLATED, NULL, act_force),
		},
	[OST_FO_ISOLATED] =
		{
			[OST_FO_EV_REACHABLE] = AUTO_G(OST_FO_RECOVERING, guard_not_forced),
			[OST_FO_EV_MIRROR_EXPIRED] = NOW(OST_FO_MIRROR_EXPIRED),
			[OST_FO_EV_OP_ISOLATE] =
				NOW_GA(OST_FO_ISOLATED, guard_not_already_forced, act_force),
			[OST_FO_EV_OP_UNISOLATE] = NOW_GA(OST_FO_RECOVERING, NULL, act_unforce),
		},
	[OST_FO_MIRROR_EXPIRED] =
		{
			[OST_FO_EV_REACHABLE] = AUTO_G(OST_FO_RECOVERING, guard_not_forced),
			[OST_FO_EV_MIRROR_FRESH] =
				NOW_GA(OST_FO_ISOLATED, guard_mirrors_fresh, NULL),
			[OST_FO_EV_OP_ISOLATE] =
				NOW_GA(OST_FO_MIRROR_EXPIRED, guard_not_already_forced, act_force),
			[OST_FO_EV_OP_UNISOLATE] = NOW_GA(OST_FO_RECOVERING, NULL, act_unforce),
		},
	[OST_FO_RECOVERING] =
		{
			[OST_FO_EV_HEALTHY] = AUTO_G(OST_FO_NORMAL, guard_mirrors_fresh),
			[OST_FO_EV_ISOLATE_DETECTED] = AUTO(OST_FO_ISOLATED),
			[OST_FO_EV_OP_ISOLATE] = NOW_GA(OST_FO_ISOLATED, NULL, act_force),
		},
};

/*
 * ---------------------------------------------------------------------------
 * Evidence and the transition record
 * ---------------------------------------------------------------------------
 */

static void iso_time(int64_t wall, char *buf, size_t cap)
{
	struct tm tm;
	time_t t = (time_t)wall;
	if (!gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%lld", (long long)wall);
}

static void reason_text(const struct ost_fo *fo, enum ost_fo_event ev, char *buf, size_t cap)
{
	const struct ost_fo_config *c = &fo->cfg;
	switch (ev) {
	case OST_FO_EV_DEGRADE:
		snprintf(buf, cap,
			 "R_root<%.2f or R_foreign<%.2f or passive foreign failure>%.2f for %u "
			 "evaluations",
			 c->degrade_below, c->degrade_below, c->degrade_passive_above,
			 c->degrade_evals);
		break;
	case OST_FO_EV_ISOLATE_DETECTED:
		snprintf(buf, cap, "R_root<=%.2f and R_foreign<=%.2f for %u evaluations",
			 c->isolate_root_max, c->isolate_foreign_max, c->isolate_evals);
		break;
	case OST_FO_EV_REACHABLE:
		snprintf(buf, cap, "R_root>=%.2f and R_foreign>=%.2f for %u evaluations",
			 c->reachable_min, c->reachable_min, c->reachable_evals);
		break;
	case OST_FO_EV_HEALTHY:
		snprintf(buf, cap,
			 "R_root>=%.2f and R_foreign>=%.2f and passive failure<=%.2f for %u "
			 "evaluations",
			 c->healthy_min, c->healthy_min, c->healthy_passive_max,
			 fo->state == OST_FO_RECOVERING ? c->recovered_evals : c->healthy_evals);
		break;
	case OST_FO_EV_MIRROR_EXPIRED:
		snprintf(buf, cap, "a mirror passed its SOA expire deadline or RRSIG horizon - %us",
			 c->rrsig_margin_s);
		break;
	case OST_FO_EV_MIRROR_FRESH:
		snprintf(buf, cap, "every mirror refreshed and verified");
		break;
	case OST_FO_EV_MIRROR_READY:
		snprintf(buf, cap, "mirrors verified at start");
		break;
	case OST_FO_EV_MIRROR_FAILED:
		snprintf(buf, cap, "mirror verification failed at start");
		break;
	case OST_FO_EV_OP_ISOLATE:
		snprintf(buf, cap, "operator isolate");
		break;
	case OST_FO_EV_OP_UNISOLATE:
		snprintf(buf, cap, "operator unisolate");
		break;
	default:
		snprintf(buf, cap, "?");
	}
}

/* Called with the lock held: the one place the state changes. */
static void goto_state(struct ost_fo *fo, enum ost_fo_state next, enum ost_fo_event ev,
		       const char *operator_name, struct ost_fo_transition *tr)
{
	enum ost_fo_state from = (enum ost_fo_state)fo->state;
	uint64_t now = ost_clock_mono_ms(fo->clock);
	int64_t wall = ost_clock_wall_s(fo->clock);

	ost_require(table[from][ev].is_legal && table[from][ev].next == next);
	reason_text(fo, ev, fo->last_reason, sizeof(fo->last_reason));
	fo->state_ms[from] += now - fo->entered_ms;
	fo->entered_ms = now;
	fo->transitions[from][next]++;
	fo->has_transitioned = true;
	fo->last_transition_ms = now;
	/* Sustained-health counts start over in each state; detection counts carry on. */
	fo->n_healthy = 0;
	fo->n_reachable = 0;
	atomic_store(&fo->state, (int)next);

	struct ost_buf b = {0};
	char ts[32];
	iso_time(wall, ts, sizeof(ts));
	ost_buf_printf(&b,
		       "{\"ts\":\"%s\",\"mono_ms\":%llu,\"mod\":\"failover\",\"event\":"
		       "\"state_transition\",\"from\":\"%s\",\"to\":\"%s\",\"trigger\":\"%s\","
		       "\"reason\":",
		       ts, (unsigned long long)now, fo_state_names[from], fo_state_names[next],
		       event_names[ev]);
	ost_buf_json_str(&b, fo->last_reason);
	ost_buf_printf(&b, ",\"count\":%llu,\"evidence\":",
		       (unsigned long long)fo->transitions[from][next]);
	fo_write_evidence(fo->windows, fo->n_windows, fo->mirrors, fo->n_mirrors, &b);
	ost_buf_printf(&b, ",\"operator\":");
	ost_buf_json_str(&b, operator_name);
	ost_buf_printf(&b, ",\"drill_id\":");
	ost_buf_json_str(&b, fo->drill_id[0] ? fo->drill_id : NULL);
	ost_buf_printf(&b, "}");
	if (!b.has_oom)
		ost_log_json(ost_buf_str(&b));
	ost_buf_deinit(&b);

	*tr = (struct ost_fo_transition){
		.from = from,
		.to = next,
		.ev = ev,
		.reason = fo->last_reason,
		.operator_name = operator_name,
		.mono_ms = now,
		.wall_s = wall,
	};
}

/*
 * Run one event through the table with the lock held. @p fired is set when
 * the state changed (the caller tells the listener after unlocking).
 */
static int step(struct ost_fo *fo, enum ost_fo_event ev, const char *operator_name,
		struct ost_fo_transition *tr, bool *fired)
{
	*fired = false;
	if ((unsigned)ev >= OST_FO_EV_COUNT)
		return -EINVAL;
	enum ost_fo_state cur = (enum ost_fo_state)fo->state;
	const struct row *r = &table[cur][ev];
	if (!r->is_legal) {
		fo->illegal_events++;
		ost_log(OST_LOG_WARN, "failover",
			"illegal event rejected state=%s event=%s operator=%s", fo_state_names[cur],
			event_names[ev], operator_name ? operator_name : "-");
		return -EINVAL;
	}
	uint64_t now = ost_clock_mono_ms(fo->clock);
	if (r->is_rate_limited && fo->has_transitioned &&
	    now - fo->last_transition_ms < fo->cfg.min_transition_ms)
		return -EAGAIN;
	if (r->guard) {
		int rc = r->guard(fo);
		if (rc < 0)
			return rc;
	}
	if (r->action)
		r->action(fo);
	if (r->next != cur) {
		goto_state(fo, r->next, ev, operator_name, tr);
		*fired = true;
	}
	return 0;
}

static void notify(struct ost_fo *fo, const struct ost_fo_transition *tr)
{
	pthread_mutex_lock(&fo->lock);
	struct listener ls[OST_FO_MAX_LISTENERS];
	memcpy(ls, fo->listeners, sizeof(ls));
	pthread_mutex_unlock(&fo->lock);
	for (int i = 0; i < OST_FO_MAX_LISTENERS; i++)
		if (ls[i].cb)
			ls[i].cb(tr, ls[i].arg);
}

int ost_fo_event(struct ost_fo *fo, enum ost_fo_event ev, const char *operator_name)
{
	struct ost_fo_transition tr;
	bool fired;
	pthread_mutex_lock(&fo->lock);
	int rc = step(fo, ev, operator_name, &tr, &fired);
	char reason[sizeof(fo->last_reason)];
	memcpy(reason, fo->last_reason, sizeof(reason));
	pthread_mutex_unlock(&fo->lock);
	if (fired) {
		tr.reason = reason;
		notify(fo, &tr);
	}
	return rc;
}

int ost_fo_isolate(struct ost_fo *fo, const char *operator_name)
{
	int rc = ost_fo_event(fo, OST_FO_EV_OP_ISOLATE, operator_name);
	if (rc == 0)
		ost_log(OST_LOG_WARN, "failover", "operator isolation in force operator=%s",
			operator_name ? operator_name : "-");
	return rc;
}

int ost_fo_unisolate(struct ost_fo *fo, const char *operator_name)
{
	return ost_fo_event(fo, OST_FO_EV_OP_UNISOLATE, operator_name);
}

int ost_fo_extend_mirror(struct ost_fo *fo, const char *zone, uint32_t duration_s,
			 const char *operator_name, int64_t *until)
{
	if (!zone || duration_s == 0 || duration_s > fo->cfg.max_extend_s)
		return -EINVAL;
	int rc = 0;
	pthread_mutex_lock(&fo->lock);
	struct ost_fo_mirror *m = mirror_find(fo, zone);
	int64_t now = ost_clock_wall_s(fo->clock);
	if (!m) {
		rc = -ENOENT;
		goto out;
	}
	if (!m->is_verified) {
		rc = -EPERM;
		goto out;
	}
	int64_t limit = m->rrsig_horizon - (int64_t)fo->cfg.rrsig_margin_s;
	if (limit <= now) {
		rc = OST_ELIMIT;
		goto out;
	}
	int64_t end = now + (int64_t)duration_s;
	if (end > limit)
		end = limit;
	m->extended_until = end;
	if (until)
		*until = end;

	struct ost_buf b = {0};
	char ts[32];
	iso_time(now, ts, sizeof(ts));
	ost_buf_printf(
		&b,
		"{\"ts\":\"%s\",\"mod\":\"failover\",\"event\":\"mirror_extend\",\"zone\":", ts);
	ost_buf_json_str(&b, m->zone);
	ost_buf_printf(&b,
		       ",\"serial\":%u,\"start\":%lld,\"end\":%lld,\"requested_s\":%u,"
		       "\"clamped_to_rrsig_horizon\":%s,\"soa_expire_deadline\":%lld,"
		       "\"rrsig_horizon\":%lld,\"state\":\"%s\",\"operator\":",
		       m->serial, (long long)now, (long long)end, duration_s,
		       end < now + (int64_t)duration_s ? "true" : "false",
		       (long long)m->soa_expire_deadline, (long long)m->rrsig_horizon,
		       fo_state_names[fo->state]);
	ost_buf_json_str(&b, operator_name);
	ost_buf_printf(&b, ",\"drill_id\":");
	ost_buf_json_str(&b, fo->drill_id[0] ? fo->drill_id : NULL);
	ost_buf_printf(&b, "}");
	if (!b.has_oom)
		ost_log_json(ost_buf_str(&b));
	ost_buf_deinit(&b);
out:
	pthread_mutex_unlock(&fo->lock);
	return rc;
}

void ost_fo_set_drill(struct ost_fo *fo, const char *drill_id)
{
	pthread_mutex_lock(&fo->lock);
	snprintf(fo->drill_id, sizeof(fo->drill_id), "%s", drill_id ? drill_id : "");
	atomic_store(&fo->is_drill, fo->drill_id[0] != '\0');
	pthread_mutex_unlock(&fo->lock);
}

int ost_fo_add_listener(struct ost_fo *fo, ost_fo_listener_cb cb, void *arg)
{
	int rc = -ENOSPC;
	pthread_mutex_lock(&fo->lock);
	for (int i = 0; i < OST_FO_MAX_LISTENERS; i++) {
		if (!fo->listeners[i].cb) {
			fo->listeners[i].cb = cb;
			fo->listeners[i].arg = arg;
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&fo->lock);
	return rc;
}

void ost_fo_remove_listener(struct ost_fo *fo, ost_fo_listener_cb cb, void *arg)
{
	pthread_mutex_lock(&fo->lock);
	for (int i = 0; i < OST_FO_MAX_LISTENERS; i++)
		if (fo->listeners[i].cb == cb && fo->listeners[i].arg == arg)
			fo->listeners[i].cb = NULL;
	pthread_mutex_unlock(&fo->lock);
}

/*
 * ---------------------------------------------------------------------------
 * Evaluation
 * ---------------------------------------------------------------------------
 */

static void window_compute(struct ost_fo *fo, uint64_t now, struct ost_fo_window *w)
{
	uint64_t cur = now / fo->cfg.bucket_ms;
	uint64_t nb = fo->cfg.window_ms / fo->cfg.bucket_ms;
	uint32_t ok[OST_FO_CLASS_COUNT] = {0}, fail[OST_FO_CLASS_COUNT] = {0};
	uint32_t pok[OST_FO_CLASS_COUNT] = {0}, pfail[OST_FO_CLASS_COUNT] = {0};

	for (uint64_t i = 0; i < nb && i <= cur; i++) {
		const struct bucket *b = &fo->buckets[(cur - i) % N_BUCKETS];
		if (b->idx != cur - i)
			continue;
		for (int c = 0; c < OST_FO_CLASS_COUNT; c++) {
			ok[c] += b->ok[c];
			fail[c] += b->fail[c];
			pok[c] += b->p_ok[c];
			pfail[c] += b->p_fail[c];
		}
	}
	w->mono_ms = now;
	for (int c = 0; c < OST_FO_CLASS_COUNT; c++) {
		w->n[c] = ok[c] + fail[c];
		w->r[c] = w->n[c] >= fo->cfg.probe_min_samples && w->n[c] ? (double)ok[c] / w->n[c]
									  : -1;
		w->passive_n[c] = pok[c] + pfail[c];
		w->passive_fail[c] = w->passive_n[c] ? (double)pfail[c] / w->passive_n[c] : -1;
	}
}

/*
 * The reachability of a class: its probe success share, or, when it has no
 * probe data (no targets configured, scheduler stopped), the passive success
 * share if there are enough passive samples; -1 when neither is known.
 */
static double reach(const struct ost_fo *fo, const struct ost_fo_window *w, int c)
{
	if (w->r[c] >= 0)
		return w->r[c];
	if (w->passive_n[c] >= fo->cfg.passive_min_samples)
		return 1 - w->passive_fail[c];
	return -1;
}

/* Passive failure share of everything sent abroad (root + foreign), -1 below the minimum. */
static double passive_abroad(const struct ost_fo *fo, const struct ost_fo_window *w)
{
	unsigned n = w->passive_n[OST_FO_ROOT] + w->passive_n[OST_FO_FOREIGN];
	if (n < fo->cfg.passive_min_samples)
		return -1;
	double f = 0;
	for (int c = OST_FO_ROOT; c <= OST_FO_FOREIGN; c++)
		if (w->passive_n[c])
			f += w->passive_fail[c] * w->passive_n[c];
	return f / n;
}

static enum ost_fo_event decide(struct ost_fo *fo, const struct ost_fo_window *w, int64_t wall)
{
	const struct ost_fo_config *c = &fo->cfg;
	double rr = reach(fo, w, OST_FO_ROOT), rf = reach(fo, w, OST_FO_FOREIGN);
	double pf = passive_abroad(fo, w);
	bool known = rr >= 0 && rf >= 0;

	bool degrade = (rr >= 0 && rr < c->degrade_below) || (rf >= 0 && rf < c->degrade_below) ||
		       (pf >= 0 && pf > c->degrade_passive_above);
	bool isolate = known && rr <= c->isolate_root_max && rf <= c->isolate_foreign_max;
	bool healthy = known && rr >= c->healthy_min && rf >= c->healthy_min &&
		       (pf < 0 || pf <= c->healthy_passive_max);
	bool reachable = known && rr >= c->reachable_min && rf >= c->reachable_min;

	fo->n_degrade = degrade ? fo->n_degrade + 1 : 0;
	fo->n_isolate = isolate ? fo->n_isolate + 1 : 0;
	fo->n_healthy = healthy ? fo->n_healthy + 1 : 0;
	fo->n_reachable = reachable ? fo->n_reachable + 1 : 0;

	switch ((enum ost_fo_state)fo->state) {
	case OST_FO_LOADING:
		/* Leaves on the zones module's verdict or an operator command only. */
		break;
	case OST_FO_NORMAL:
		if (fo->n_degrade >= c->degrade_evals)
			return OST_FO_EV_DEGRADE;
		break;
	case OST_FO_DEGRADED:
		if (fo->n_isolate >= c->isolate_evals)
			return OST_FO_EV_ISOLATE_DETECTED;
		if (fo->n_healthy >= c->healthy_evals)
			return OST_FO_EV_HEALTHY;
		break;
	case OST_FO_ISOLATED:
		if (is_mirror_expired(fo, wall))
			return OST_FO_EV_MIRROR_EXPIRED;
		if (fo->n_reachable >= c->reachable_evals && !fo->is_forced)
			return OST_FO_EV_REACHABLE;
		break;
	case OST_FO_MIRROR_EXPIRED:
		if (fo->n_reachable >= c->reachable_evals && !fo->is_forced)
			return OST_FO_EV_REACHABLE;
		if (!is_mirror_expired(fo, wall))
			return OST_FO_EV_MIRROR_FRESH;
		break;
	case OST_FO_RECOVERING:
		if (fo->n_isolate >= c->isolate_evals)
			return OST_FO_EV_ISOLATE_DETECTED;
		if (fo->n_healthy >= c->recovered_evals && !is_mirror_expired(fo, wall))
			return OST_FO_EV_HEALTHY;
		break;
	default:
		break;
	}
	return OST_FO_EV_COUNT;
}

void ost_fo_evaluate(struct ost_fo *fo)
{
	struct ost_fo_transition tr;
	bool fired = false;
	char reason[sizeof(fo->last_reason)];

	pthread_mutex_lock(&fo->lock);
	uint64_t now = ost_clock_mono_ms(fo->clock);
	memmove(&fo->windows[1], &fo->windows[0], sizeof(fo->windows[0]) * (OST_FO_EVIDENCE - 1));
	window_compute(fo, now, &fo->windows[0]);
	if (fo->n_windows < OST_FO_EVIDENCE)
		fo->n_windows++;
	enum ost_fo_event ev = decide(fo, &fo->windows[0], ost_clock_wall_s(fo->clock));
	if (ev != OST_FO_EV_COUNT)
		(void)step(fo, ev, NULL, &tr, &fired);
	memcpy(reason, fo->last_reason, sizeof(reason));
	pthread_mutex_unlock(&fo->lock);
	if (fired) {
		tr.reason = reason;
		notify(fo, &tr);
	}
}

static void eval_timer_cb(void *arg)
{
	struct ost_fo *fo = arg;
	fo->eval_timer = NULL;
	ost_fo_evaluate(fo);
	fo->eval_timer = ost_clock_timer_start(fo->clock, fo->cfg.eval_ms, eval_timer_cb, fo);
	if (!fo->eval_timer)
		ost_log(OST_LOG_ERR, "failover", "cannot re-arm the evaluation timer (ENOMEM)");
}

int ost_fo_new(const struct ost_fo_config *cfg, const struct ost_clock *clock, struct ost_fo **out)
{
	struct ost_fo_config def;
	if (!cfg) {
		ost_fo_config_default(&def);
		cfg = &def;
	}
	char err[160];
	if (ost_fo_config_check(cfg, err, sizeof(err)) < 0) {
		ost_log(OST_LOG_ERR, "failover", "%s", err);
		return -EINVAL;
	}
	struct ost_fo *fo = calloc(1, sizeof(*fo));
	if (!fo)
		return -ENOMEM;
	fo->cfg = *cfg;
	fo->clock = clock;
	pthread_mutex_init(&fo->lock, NULL);
	atomic_init(&fo->state, OST_FO_LOADING);
	atomic_init(&fo->is_drill, false);
	for (int i = 0; i < N_BUCKETS; i++)
		fo->buckets[i].idx = UINT64_MAX;
	fo->entered_ms = ost_clock_mono_ms(clock);
	fo->tokens = cfg->recheck_burst;
	fo->tokens_at_ms = fo->entered_ms;
	fo->eval_timer = ost_clock_timer_start(clock, cfg->eval_ms, eval_timer_cb, fo);
	if (!fo->eval_timer) {
		pthread_mutex_destroy(&fo->lock);
		free(fo);
		return -ENOMEM;
	}
	*out = fo;
	return 0;
}

void ost_fo_free(struct ost_fo *fo)
{
	if (!fo)
		return;
	ost_clock_timer_stop(fo->clock, fo->eval_timer);
	pthread_mutex_destroy(&fo->lock);
	free(fo);
}

/*
 * ---------------------------------------------------------------------------
 * Outputs
 * ---------------------------------------------------------------------------
 */

enum ost_fo_state ost_fo_state(const struct ost_fo *fo)
{
	return (enum ost_fo_state)atomic_load(&((struct ost_fo *)fo)->state);
}

static bool is_isolated(enum ost_fo_state s)
{
	return s == OST_FO_ISOLATED || s == OST_FO_MIRROR_EXPIRED;
}

/*
 * standards.md §7.2 "What is served". Isolation changes foreign names only:
 * national names still go to national servers, with the client timer, but a
 * longer stale limit because their foreign parents (if any) are gone. In
 * RECOVERING the long stale limit stays so the refill never makes answers
 * disappear (F10, recovery stampede).
 */
void ost_fo_policy(struct ost_fo *fo, enum ost_fo_name_class name_class, const char *mirror_zone,
		   struct ost_fo_policy *out)
{
	/*
	 * Called for every client question by every worker: without a mirror to
	 * look up it takes no lock (the state and the drill flag are atomics, the
	 * configuration never changes after ost_fo_new()).
	 */
	enum ost_fo_state s = (enum ost_fo_state)atomic_load(&fo->state);
	bool iso = is_isolated(s);
	*out = (struct ost_fo_policy){
		.state = s,
		.may_query_foreign = !iso,
		.serve_stale_immediately = iso && name_class == OST_FO_NAME_FOREIGN,
		.servfail_unknown_at_once = iso && name_class == OST_FO_NAME_FOREIGN,
		.client_timer_ms = fo->cfg.client_timer_ms,
		.stale_max_age_s = (iso || s == OST_FO_RECOVERING) ? fo->cfg.stale_max_isolated_s
								   : fo->cfg.stale_max_normal_s,
		.mirror = OST_FO_MIRROR_UNKNOWN,
		.is_drill = atomic_load(&fo->is_drill),
		.is_refresh_limited = iso || s == OST_FO_RECOVERING,
	};
	if (!mirror_zone)
		return;
	pthread_mutex_lock(&fo->lock);
	const struct ost_fo_mirror *m = mirror_find(fo, mirror_zone);
	if (m)
		out->mirror = mirror_use(fo, m, ost_clock_wall_s(fo->clock));
	out->mirror_extended_ede = out->mirror == OST_FO_MIRROR_EXTENDED;
	pthread_mutex_unlock(&fo->lock);
}

bool ost_fo_recheck_allow(struct ost_fo *fo)
{
	pthread_mutex_lock(&fo->lock);
	uint64_t now = ost_clock_mono_ms(fo->clock);
	fo->tokens += (double)(now - fo->tokens_at_ms) / 1000.0 * fo->cfg.recheck_per_s;
	if (fo->tokens > fo->cfg.recheck_burst)
		fo->tokens = fo->cfg.recheck_burst;
	fo->tokens_at_ms = now;
	bool ok = fo->tokens >= 1;
	if (ok)
		fo->tokens -= 1;
	pthread_mutex_unlock(&fo->lock);
	return ok;
}

void ost_fo_status(struct ost_fo *fo, struct ost_fo_status *out)
{
	pthread_mutex_lock(&fo->lock);
	uint64_t now = ost_clock_mono_ms(fo->clock);
	memset(out, 0, sizeof(*out));
	out->state = (enum ost_fo_state)fo->state;
	out->in_state_ms = now - fo->entered_ms;
	memcpy(out->state_ms, fo->state_ms, sizeof(out->state_ms));
	out->state_ms[out->state] += out->in_state_ms;
	memcpy(out->transitions, fo->transitions, sizeof(out->transitions));
	out->illegal_events = fo->illegal_events;
	out->is_forced = fo->is_forced;
	memcpy(out->drill_id, fo->drill_id, sizeof(out->drill_id));
	memcpy(out->last_reason, fo->last_reason, sizeof(out->last_reason));
	memcpy(out->windows, fo->windows, sizeof(out->windows));
	out->n_windows = fo->n_windows;
	memcpy(out->mirrors, fo->mirrors, sizeof(out->mirrors));
	out->n_mirrors = fo->n_mirrors;
	int64_t wall = ost_clock_wall_s(fo->clock);
	out->wall_s = wall;
	for (unsigned i = 0; i < fo->n_mirrors; i++)
		out->mirror_use[i] = mirror_use(fo, &fo->mirrors[i], wall);
	pthread_mutex_unlock(&fo->lock);
}

/* Every legal edge is exported, at 0 until it happens, so dashboards see the series. */
bool fo_has_edge(int from, int to)
{
	if (from == to)
		return false;
	for (int e = 0; e < OST_FO_EV_COUNT; e++)
		if (table[from][e].is_legal && (int)table[from][e].next == to)
			return true;
	return false;
}
