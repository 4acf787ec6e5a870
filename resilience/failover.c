/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The failover state machine of standards.md §7.2: its states, the one const
 * transition table of (state, event) -> (guard, action, next), the driver
 * that runs events through it, the evaluation timer, and the outputs (state,
 * serving policy, status). An event without a row is illegal (-EINVAL,
 * logged, counted, state unchanged); every edge is counted per (from, to)
 * and logged as one JSON record with its evidence (failover_log.c). What
 * the machine observes and which event that calls for is in
 * failover_detect.c, the mirror horizons in failover_mirror.c, the status
 * and metrics writers in failover_status.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ostrov/log.h"

#include "failover_internal.h"

const char *const fo_state_names[OST_FO_STATE_COUNT] = {
	[OST_FO_LOADING] = "LOADING",
	[OST_FO_NORMAL] = "NORMAL",
	[OST_FO_DEGRADED] = "DEGRADED",
	[OST_FO_ISOLATED] = "ISOLATED",
	[OST_FO_MIRROR_EXPIRED] = "MIRROR-EXPIRED",
	[OST_FO_RECOVERING] = "RECOVERING",
};

const char *const fo_event_names[OST_FO_EV_COUNT] = {
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
	return (unsigned)e < OST_FO_EV_COUNT ? fo_event_names[e] : "?";
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
	return fo_is_mirror_expired(fo, ost_clock_wall_s(fo->clock)) ? -EAGAIN : 0;
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

/* Called with the lock held: the one place the state changes. */
static void goto_state(struct ost_fo *fo, enum ost_fo_state next, enum ost_fo_event ev,
		       const char *operator_name, struct ost_fo_transition *tr)
{
	enum ost_fo_state from = (enum ost_fo_state)fo->state;
	uint64_t now = ost_clock_mono_ms(fo->clock);
	int64_t wall = ost_clock_wall_s(fo->clock);

	ost_require(table[from][ev].is_legal && table[from][ev].next == next);
	fo_reason_text(fo, ev, fo->last_reason, sizeof(fo->last_reason));
	fo->state_ms[from] += now - fo->entered_ms;
	fo->entered_ms = now;
	fo->transitions[from][next]++;
	fo->has_transitioned = true;
	fo->last_transition_ms = now;
	/* Sustained-health counts start over in each state; detection counts carry on. */
	fo->n_healthy = 0;
	fo->n_reachable = 0;
	atomic_store(&fo->state, (int)next);

	fo_log_transition(fo, from, next, ev, operator_name, now, wall);

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
			fo_event_names[ev], operator_name ? operator_name : "-");
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

void ost_fo_evaluate(struct ost_fo *fo)
{
	struct ost_fo_transition tr;
	bool fired = false;
	char reason[sizeof(fo->last_reason)];

	pthread_mutex_lock(&fo->lock);
	uint64_t now = ost_clock_mono_ms(fo->clock);
	memmove(&fo->windows[1], &fo->windows[0], sizeof(fo->windows[0]) * (OST_FO_EVIDENCE - 1));
	fo_window_compute(fo, now, &fo->windows[0]);
	if (fo->n_windows < OST_FO_EVIDENCE)
		fo->n_windows++;
	enum ost_fo_event ev = fo_decide(fo, &fo->windows[0], ost_clock_wall_s(fo->clock));
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
	atomic_init(&fo->pol_client_timer_ms, cfg->client_timer_ms);
	atomic_init(&fo->pol_stale_normal_s, cfg->stale_max_normal_s);
	atomic_init(&fo->pol_stale_isolated_s, cfg->stale_max_isolated_s);
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

/*
 * A reload (server/reload.c) changes thresholds and timers of a running
 * machine. What it has observed and concluded stays: the state, the time in
 * it, the consecutive-evaluation counters, the evidence windows and the
 * mirrors, so a DEGRADED machine stays DEGRADED and the next evaluation
 * judges the same window against the new thresholds. Two things cannot
 * carry over: samples counted in buckets of another width (a bucket's index
 * is mono_ms / bucket_ms, so old indexes would be read as other seconds:
 * they are dropped and the window refills within window_ms), and recheck
 * tokens above a lowered burst (cut to it).
 */
int ost_fo_set_config(struct ost_fo *fo, const struct ost_fo_config *cfg)
{
	char err[160];
	if (ost_fo_config_check(cfg, err, sizeof(err)) < 0) {
		ost_log(OST_LOG_ERR, "failover", "new settings refused: %s", err);
		return -EINVAL;
	}
	pthread_mutex_lock(&fo->lock);
	bool is_new_width = cfg->bucket_ms != fo->cfg.bucket_ms;
	bool is_new_eval = cfg->eval_ms != fo->cfg.eval_ms;
	fo->cfg = *cfg;
	if (is_new_width)
		for (int i = 0; i < N_BUCKETS; i++)
			fo->buckets[i].idx = UINT64_MAX;
	if (fo->tokens > cfg->recheck_burst)
		fo->tokens = cfg->recheck_burst;
	atomic_store(&fo->pol_client_timer_ms, cfg->client_timer_ms);
	atomic_store(&fo->pol_stale_normal_s, cfg->stale_max_normal_s);
	atomic_store(&fo->pol_stale_isolated_s, cfg->stale_max_isolated_s);
	enum ost_fo_state s = (enum ost_fo_state)atomic_load(&fo->state);
	pthread_mutex_unlock(&fo->lock);
	/* The timer is re-armed with eval_ms after each evaluation; a new
	 * period starts now rather than after the old one ran out. */
	if (is_new_eval && fo->eval_timer) {
		ost_clock_timer_stop(fo->clock, fo->eval_timer);
		fo->eval_timer = ost_clock_timer_start(fo->clock, cfg->eval_ms, eval_timer_cb, fo);
		if (!fo->eval_timer)
			ost_log(OST_LOG_ERR, "failover",
				"cannot re-arm the evaluation timer (ENOMEM)");
	}
	ost_log(OST_LOG_INFO, "failover",
		"settings changed state=%s eval_ms=%u window_ms=%u degrade_below=%.3f "
		"isolate_root_max=%.3f isolate_foreign_max=%.3f samples_dropped=%d",
		ost_fo_state_str(s), cfg->eval_ms, cfg->window_ms, cfg->degrade_below,
		cfg->isolate_root_max, cfg->isolate_foreign_max, is_new_width);
	return 0;
}

void ost_fo_get_config(struct ost_fo *fo, struct ost_fo_config *out)
{
	pthread_mutex_lock(&fo->lock);
	*out = fo->cfg;
	pthread_mutex_unlock(&fo->lock);
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
	 * look up it takes no lock (the state, the drill flag and the three
	 * settings read here are atomics, see ost_fo_set_config()).
	 */
	enum ost_fo_state s = (enum ost_fo_state)atomic_load(&fo->state);
	bool iso = is_isolated(s);
	*out = (struct ost_fo_policy){
		.state = s,
		.may_query_foreign = !iso,
		.serve_stale_immediately = iso && name_class == OST_FO_NAME_FOREIGN,
		.servfail_unknown_at_once = iso && name_class == OST_FO_NAME_FOREIGN,
		.client_timer_ms =
			atomic_load_explicit(&fo->pol_client_timer_ms, memory_order_relaxed),
		.stale_max_age_s = atomic_load_explicit((iso || s == OST_FO_RECOVERING)
								? &fo->pol_stale_isolated_s
								: &fo->pol_stale_normal_s,
							memory_order_relaxed),
		.mirror = OST_FO_MIRROR_UNKNOWN,
		.is_drill = atomic_load(&fo->is_drill),
		.is_refresh_limited = iso || s == OST_FO_RECOVERING,
	};
	if (!mirror_zone)
		return;
	pthread_mutex_lock(&fo->lock);
	const struct ost_fo_mirror *m = fo_mirror_find(fo, mirror_zone);
	if (m)
		out->mirror = fo_mirror_use(fo, m, ost_clock_wall_s(fo->clock));
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
	out->cfg = fo->cfg;
	int64_t wall = ost_clock_wall_s(fo->clock);
	out->wall_s = wall;
	for (unsigned i = 0; i < fo->n_mirrors; i++)
		out->mirror_use[i] = fo_mirror_use(fo, &fo->mirrors[i], wall);
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
