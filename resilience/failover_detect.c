/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the failover machine observes, and what it concludes (standards.md
 * §7.2). Probe results and passive outcomes land in 1-second buckets; every
 * evaluation turns the last window_ms of buckets into R_root, R_foreign,
 * R_national and passive failure shares, updates the consecutive-evaluation
 * counters and names at most one event for the current state. The machine
 * (failover.c) runs that event through its transition table.
 */
#include <pthread.h>
#include <string.h>

#include "ostrov/log.h"

#include "failover_internal.h"

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

/* Count one outcome of class @p cls in the bucket of now. */
static void feed(struct ost_fo *fo, enum ost_fo_class cls, bool is_ok, bool is_passive)
{
	if (ost_fails_assert((unsigned)cls < OST_FO_CLASS_COUNT))
		return;
	pthread_mutex_lock(&fo->lock);
	struct bucket *b = bucket_at(fo, ost_clock_mono_ms(fo->clock));
	uint32_t *count = is_passive ? (is_ok ? b->p_ok : b->p_fail) : (is_ok ? b->ok : b->fail);
	count[cls]++;
	pthread_mutex_unlock(&fo->lock);
}

void ost_fo_feed_probe(struct ost_fo *fo, enum ost_fo_class cls, bool is_ok)
{
	feed(fo, cls, is_ok, false);
}

void ost_fo_feed_passive(struct ost_fo *fo, enum ost_fo_class cls, bool is_ok)
{
	feed(fo, cls, is_ok, true);
}

void fo_window_compute(struct ost_fo *fo, uint64_t now, struct ost_fo_window *w)
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

enum ost_fo_event fo_decide(struct ost_fo *fo, const struct ost_fo_window *w, int64_t wall)
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
		if (fo_is_mirror_expired(fo, wall))
			return OST_FO_EV_MIRROR_EXPIRED;
		if (fo->n_reachable >= c->reachable_evals && !fo->is_forced)
			return OST_FO_EV_REACHABLE;
		break;
	case OST_FO_MIRROR_EXPIRED:
		if (fo->n_reachable >= c->reachable_evals && !fo->is_forced)
			return OST_FO_EV_REACHABLE;
		if (!fo_is_mirror_expired(fo, wall))
			return OST_FO_EV_MIRROR_FRESH;
		break;
	case OST_FO_RECOVERING:
		if (fo->n_isolate >= c->isolate_evals)
			return OST_FO_EV_ISOLATE_DETECTED;
		if (fo->n_healthy >= c->recovered_evals && !fo_is_mirror_expired(fo, wall))
			return OST_FO_EV_HEALTHY;
		break;
	default:
		break;
	}
	return OST_FO_EV_COUNT;
}
