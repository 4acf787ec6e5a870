/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the failover state machine on a fake clock with simulated
 * probes: every legal transition, every illegal event, rate limit, operator
 * commands, the ≤ 30 s detection target under a full cut, no flapping at
 * 30 % loss over 10 simulated minutes (several seeds), recovery only after
 * sustained health, MIRROR-EXPIRED and the limits of `mirror extend`, the
 * JSON transition records, and the serve-stale / failure-cache helpers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ostrov/failover.h"

#include "ost_test.h"
#include "tests_resilience.h"

#define WALL0 1790000000LL /* 2026-09-21 */

/*
 * ---------------------------------------------------------------------------
 * Probe simulator: N targets per class, each probed every 3 s ± 20 %, up to
 * three tries of 750 ms; each try is lost with the class's loss share. It models
 * what probe.c does (tested end to end in test_probe.c) with nothing but
 * timers, so the thresholds can be checked over long runs cheaply.
 * ---------------------------------------------------------------------------
 */

struct sim;

struct sim_target {
	struct sim *sim;
	enum ost_fo_class cls;
	bool is_ok;
};

struct sim {
	struct fake_clock *clk;
	struct ost_fo *fo;
	uint64_t rng;
	double loss[OST_FO_CLASS_COUNT];
	struct sim_target targets[9];
	unsigned passive_per_s; /* resolver queries abroad per second, fed passively */
	bool is_stopped;
};

uint64_t test_rng(uint64_t *s)
{
	/* xorshift64*: reproducible per seed, good enough for loss draws */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static double rnd01(struct sim *s)
{
	return (double)(test_rng(&s->rng) >> 11) / (double)(1ULL << 53);
}

static void sim_probe(void *arg);

static void sim_done(void *arg)
{
	struct sim_target *t = arg;
	if (t->sim->is_stopped)
		return;
	ost_fo_feed_probe(t->sim->fo, t->cls, t->is_ok);
}

static void sim_probe(void *arg)
{
	struct sim_target *t = arg;
	struct sim *s = t->sim;
	if (s->is_stopped)
		return;
	/* up to 3 tries of 750 ms, as probe.c does */
	uint64_t took = 0;
	t->is_ok = false;
	for (int try_no = 0; try_no < 3 && !t->is_ok; try_no++) {
		if (rnd01(s) >= s->loss[t->cls]) {
			t->is_ok = true;
			took += 20;
		} else {
			took += 750;
		}
	}
	ost_clock_timer_start(&s->clk->clock, took, sim_done, t);
	uint64_t next = 2400 + test_rng(&s->rng) % 1201; /* 3000 ms ± 20 % */
	ost_clock_timer_start(&s->clk->clock, next, sim_probe, t);
}

static void sim_passive(void *arg)
{
	struct sim *s = arg;
	if (s->is_stopped)
		return;
	for (unsigned i = 0; i < s->passive_per_s; i++) {
		enum ost_fo_class c = i % 3 == 0 ? OST_FO_ROOT : OST_FO_FOREIGN;
		ost_fo_feed_passive(s->fo, c, rnd01(s) >= s->loss[c]);
	}
	ost_clock_timer_start(&s->clk->clock, 1000, sim_passive, s);
}

static void sim_start(struct sim *s, struct fake_clock *clk, struct ost_fo *fo, uint64_t seed)
{
	*s = (struct sim){.clk = clk, .fo = fo, .rng = seed * 0x9e3779b97f4a7c15ULL + 1};
	for (int i = 0; i < 9; i++) {
		s->targets[i] = (struct sim_target){.sim = s, .cls = (enum ost_fo_class)(i / 3)};
		/* first probes spread over one interval */
		ost_clock_timer_start(&clk->clock, test_rng(&s->rng) % 3000, sim_probe,
				      &s->targets[i]);
	}
	ost_clock_timer_start(&clk->clock, 1000, sim_passive, s);
}

/*
 * ---------------------------------------------------------------------------
 * Fixture and listener
 * ---------------------------------------------------------------------------
 */

struct seen {
	unsigned n;
	enum ost_fo_state from[64], to[64];
	uint64_t at_ms[64];
};

static void listener(const struct ost_fo_transition *t, void *arg)
{
	struct seen *s = arg;
	if (s->n < 64) {
		s->from[s->n] = t->from;
		s->to[s->n] = t->to;
		s->at_ms[s->n] = t->mono_ms;
	}
	s->n++;
}

/* First time the machine entered @p st at or after @p since, or UINT64_MAX. */
static uint64_t first_entry(const struct seen *s, enum ost_fo_state st, uint64_t since)
{
	for (unsigned i = 0; i < s->n && i < 64; i++)
		if (s->to[i] == st && s->at_ms[i] >= since)
			return s->at_ms[i];
	return UINT64_MAX;
}

struct fx {
	struct fake_clock clk;
	struct ost_fo *fo;
	struct seen seen;
	struct sim sim;
};

static struct fx *fx_new(const struct ost_fo_config *cfg)
{
	struct fx *f = calloc(1, sizeof(*f));
	fake_clock_init(&f->clk, WALL0); /* mono starts at 1,000,000 ms */
	assert_int_equal(ost_fo_new(cfg, &f->clk.clock, &f->fo), 0);
	assert_int_equal(ost_fo_add_listener(f->fo, listener, &f->seen), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	f->sim.is_stopped = true;
	ost_fo_free(f->fo);
	fake_clock_deinit(&f->clk);
	free(f);
}

/* A config without the rate limit, so the table can be walked event by event. */
static void cfg_fast(struct ost_fo_config *c)
{
	ost_fo_config_default(c);
	c->min_transition_ms = 0;
}

/* Drive a fresh machine into @p st with posted events (no evaluation involved). */
static void drive_to(struct ost_fo *fo, enum ost_fo_state st)
{
	switch (st) {
	case OST_FO_LOADING:
		return;
	case OST_FO_NORMAL:
		assert_int_equal(ost_fo_event(fo, OST_FO_EV_MIRROR_READY, NULL), 0);
		return;
	case OST_FO_DEGRADED:
		drive_to(fo, OST_FO_NORMAL);
		assert_int_equal(ost_fo_event(fo, OST_FO_EV_DEGRADE, NULL), 0);
		return;
	case OST_FO_ISOLATED:
		drive_to(fo, OST_FO_DEGRADED);
		assert_int_equal(ost_fo_event(fo, OST_FO_EV_ISOLATE_DETECTED, NULL), 0);
		return;
	case OST_FO_MIRROR_EXPIRED:
		drive_to(fo, OST_FO_ISOLATED);
		assert_int_equal(ost_fo_event(fo, OST_FO_EV_MIRROR_EXPIRED, NULL), 0);
		return;
	case OST_FO_RECOVERING:
		drive_to(fo, OST_FO_ISOLATED);
		assert_int_equal(ost_fo_event(fo, OST_FO_EV_REACHABLE, NULL), 0);
		return;
	default:
		fail();
	}
}

/* The legal edges as standards.md §7.2 describes them (our expectation, not the table). */
static const struct {
	enum ost_fo_state from;
	enum ost_fo_event ev;
	enum ost_fo_state to;
} legal[] = {
	{OST_FO_LOADING, OST_FO_EV_MIRROR_READY, OST_FO_NORMAL},
	{OST_FO_LOADING, OST_FO_EV_MIRROR_FAILED, OST_FO_NORMAL},
	{OST_FO_LOADING, OST_FO_EV_OP_ISOLATE, OST_FO_ISOLATED},
	{OST_FO_NORMAL, OST_FO_EV_DEGRADE, OST_FO_DEGRADED},
	{OST_FO_NORMAL, OST_FO_EV_OP_ISOLATE, OST_FO_ISOLATED},
	{OST_FO_DEGRADED, OST_FO_EV_ISOLATE_DETECTED, OST_FO_ISOLATED},
	{OST_FO_DEGRADED, OST_FO_EV_HEALTHY, OST_FO_NORMAL},
	{OST_FO_DEGRADED, OST_FO_EV_OP_ISOLATE, OST_FO_ISOLATED},
	{OST_FO_ISOLATED, OST_FO_EV_REACHABLE, OST_FO_RECOVERING},
	{OST_FO_ISOLATED, OST_FO_EV_MIRROR_EXPIRED, OST_FO_MIRROR_EXPIRED},
	{OST_FO_ISOLATED, OST_FO_EV_OP_ISOLATE, OST_FO_ISOLATED}, /* makes it sticky */
	{OST_FO_ISOLATED, OST_FO_EV_OP_UNISOLATE, OST_FO_RECOVERING},
	{OST_FO_MIRROR_EXPIRED, OST_FO_EV_REACHABLE, OST_FO_RECOVERING},
	{OST_FO_MIRROR_EXPIRED, OST_FO_EV_MIRROR_FRESH, OST_FO_ISOLATED},
	{OST_FO_MIRROR_EXPIRED, OST_FO_EV_OP_ISOLATE, OST_FO_MIRROR_EXPIRED},
	{OST_FO_MIRROR_EXPIRED, OST_FO_EV_OP_UNISOLATE, OST_FO_RECOVERING},
	{OST_FO_RECOVERING, OST_FO_EV_HEALTHY, OST_FO_NORMAL},
	{OST_FO_RECOVERING, OST_FO_EV_ISOLATE_DETECTED, OST_FO_ISOLATED},
	{OST_FO_RECOVERING, OST_FO_EV_OP_ISOLATE, OST_FO_ISOLATED},
};

static bool is_legal(enum ost_fo_state s, enum ost_fo_event e)
{
	for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
		if (legal[i].from == s && legal[i].ev == e)
			return true;
	return false;
}

/*
 * ---------------------------------------------------------------------------
 * Table tests
 * ---------------------------------------------------------------------------
 */

static void test_fo_names(void **state)
{
	(void)state;
	assert_string_equal(ost_fo_state_str(OST_FO_MIRROR_EXPIRED), "MIRROR-EXPIRED");
	assert_string_equal(ost_fo_state_str(OST_FO_STATE_COUNT), "?");
	for (int s = 0; s < OST_FO_STATE_COUNT; s++)
		assert_string_not_equal(ost_fo_state_str((enum ost_fo_state)s), "?");
	for (int e = 0; e < OST_FO_EV_COUNT; e++)
		assert_string_not_equal(ost_fo_event_str((enum ost_fo_event)e), "?");
	assert_string_equal(ost_fo_class_str(OST_FO_NATIONAL), "national");
}

static void test_fo_every_legal_transition(void **state)
{
	(void)state;
	struct ost_fo_config cfg;
	cfg_fast(&cfg);
	for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++) {
		struct fx *f = fx_new(&cfg);
		drive_to(f->fo, legal[i].from);
		assert_int_equal(ost_fo_state(f->fo), legal[i].from);
		struct ost_fo_status before, after;
		ost_fo_status(f->fo, &before);
		unsigned seen = f->seen.n;
		assert_int_equal(ost_fo_event(f->fo, legal[i].ev, "tester"), 0);
		assert_int_equal(ost_fo_state(f->fo), legal[i].to);
		ost_fo_status(f->fo, &after);
		if (legal[i].from != legal[i].to) {
			assert_int_equal(after.transitions[legal[i].from][legal[i].to],
					 before.transitions[legal[i].from][legal[i].to] + 1);
			assert_int_equal(f->seen.n, seen + 1);
			assert_int_equal(f->seen.to[seen], legal[i].to);
		} else {
			assert_int_equal(f->seen.n, seen); /* no edge, no record */
		}
		fx_free(f);
	}
}

static void test_fo_every_illegal_event(void **state)
{
	(void)state;
	struct ost_fo_config cfg;
	cfg_fast(&cfg);
	unsigned checked = 0;
	for (int s = 0; s < OST_FO_STATE_COUNT; s++) {
		for (int e = 0; e < OST_FO_EV_COUNT; e++) {
			if (is_legal((enum ost_fo_state)s, (enum ost_fo_event)e))
				continue;
			struct fx *f = fx_new(&cfg);
			drive_to(f->fo, (enum ost_fo_state)s);
			struct ost_fo_status before, after;
			ost_fo_status(f->fo, &before);
			assert_int_equal(ost_fo_event(f->fo, (enum ost_fo_event)e, NULL), -EINVAL);
			ost_fo_status(f->fo, &after);
			assert_int_equal(after.state, s);
			assert_int_equal(after.illegal_events, before.illegal_events + 1);
			assert_memory_equal(after.transitions, before.transitions,
					    sizeof(after.transitions));
			fx_free(f);
			checked++;
		}
	}
	/* 6 states x 10 events - 19 legal rows */
	assert_int_equal(checked, 6 * 10 - 19);
	/* and an event number out of range */
	struct fx *f = fx_new(&cfg);
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_COUNT, NULL), -EINVAL);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_LOADING);
	fx_free(f);
}

static void test_fo_rate_limit(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL); /* default: 10 s between automatic transitions */
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_MIRROR_READY, NULL), 0);
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_DEGRADE, NULL), -EAGAIN);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL);
	f->clk.now_ms += 9999;
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_DEGRADE, NULL), -EAGAIN);
	f->clk.now_ms += 1;
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_DEGRADE, NULL), 0);
	/* operator commands are not rate limited */
	assert_int_equal(ost_fo_isolate(f->fo, "op"), 0);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_ISOLATED);
	assert_int_equal(ost_fo_unisolate(f->fo, "op"), 0);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_RECOVERING);
	fx_free(f);
}

static void test_fo_operator_commands(void **state)
{
	(void)state;
	struct ost_fo_config cfg;
	cfg_fast(&cfg);
	struct fx *f = fx_new(&cfg);
	drive_to(f->fo, OST_FO_NORMAL);
	/* unisolate when not isolated: clear error, state unchanged */
	assert_int_equal(ost_fo_unisolate(f->fo, "op"), -EINVAL);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL);
	assert_int_equal(ost_fo_isolate(f->fo, "op"), 0);
	assert_int_equal(ost_fo_isolate(f->fo, "op"), -EALREADY);
	struct ost_fo_status st;
	ost_fo_status(f->fo, &st);
	assert_true(st.is_forced);
	/* a forced isolation does not end on its own, even with healthy probes */
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_REACHABLE, NULL), -EAGAIN);
	sim_start(&f->sim, &f->clk, f->fo, 7);
	fake_clock_advance(&f->clk, 300000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_ISOLATED);
	assert_int_equal(ost_fo_unisolate(f->fo, "op"), 0);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_RECOVERING);
	ost_fo_status(f->fo, &st);
	assert_false(st.is_forced);
	/* healthy network: RECOVERING -> NORMAL after the recovered_evals (120 s) */
	fake_clock_advance(&f->clk, 100000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_RECOVERING);
	fake_clock_advance(&f->clk, 30000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL);
	/* a detected isolation becomes sticky with an operator isolate */
	fx_free(f);
}

/*
 * ---------------------------------------------------------------------------
 * Detection, flapping, recovery (simulated probes)
 * ---------------------------------------------------------------------------
 */

/* Run a full cut at t0 and return ms to DEGRADED and to ISOLATED. */
static void run_cut(uint64_t seed, uint64_t *to_degraded, uint64_t *to_isolated)
{
	struct fx *f = fx_new(NULL);
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_MIRROR_READY, NULL), 0);
	sim_start(&f->sim, &f->clk, f->fo, seed);
	f->sim.passive_per_s = 20;
	fake_clock_advance(&f->clk, 60000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL);
	assert_int_equal(f->seen.n, 1); /* only LOADING -> NORMAL */
	uint64_t t0 = f->clk.now_ms;
	f->sim.loss[OST_FO_ROOT] = 1.0;
	f->sim.loss[OST_FO_FOREIGN] = 1.0;
	fake_clock_advance(&f->clk, 60000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_ISOLATED);
	*to_degraded = first_entry(&f->seen, OST_FO_DEGRADED, t0) - t0;
	*to_isolated = first_entry(&f->seen, OST_FO_ISOLATED, t0) - t0;
	fx_free(f);
}

static void test_fo_detect_full_cut_within_30s(void **state)
{
	(void)state;
	uint64_t worst = 0, worst_d = 0, best = UINT64_MAX;
	for (uint64_t seed = 1; seed <= 50; seed++) {
		uint64_t d, i;
		run_cut(seed, &d, &i);
		assert_true(d < i);
		assert_true(i <= 30000);
		worst = i > worst ? i : worst;
		worst_d = d > worst_d ? d : worst_d;
		best = i < best ? i : best;
	}
	print_message("  full cut, 50 seeds: ISOLATED after %llu .. %llu ms (target <= 30000), "
		      "DEGRADED at most %llu ms\n",
		      (unsigned long long)best, (unsigned long long)worst,
		      (unsigned long long)worst_d);
}

/* 10 simulated minutes at @p loss on root and foreign: @return transitions out of NORMAL */
static unsigned run_loss(uint64_t seed, double loss, double *min_r)
{
	struct fx *f = fx_new(NULL);
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_MIRROR_READY, NULL), 0);
	sim_start(&f->sim, &f->clk, f->fo, seed);
	f->sim.passive_per_s = 20;
	f->sim.loss[OST_FO_ROOT] = loss;
	f->sim.loss[OST_FO_FOREIGN] = loss;
	*min_r = 1;
	for (int s = 0; s < 600; s += 2) {
		fake_clock_advance(&f->clk, 2000);
		struct ost_fo_status st;
		ost_fo_status(f->fo, &st);
		for (int c = OST_FO_ROOT; c <= OST_FO_FOREIGN; c++)
			if (st.n_windows && st.windows[0].r[c] >= 0 && st.windows[0].r[c] < *min_r)
				*min_r = st.windows[0].r[c];
	}
	unsigned n = f->seen.n - 1;
	if (n == 0)
		assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL);
	fx_free(f);
	return n;
}

static void test_fo_no_flapping_at_30pct_loss(void **state)
{
	(void)state;
	/* seed 42 and 99 more: 100 runs of 10 simulated minutes */
	double lowest = 1;
	for (uint64_t i = 0; i < 100; i++) {
		uint64_t seed = i ? i : 42;
		double min_r;
		unsigned n = run_loss(seed, 0.30, &min_r);
		if (n)
			print_message("  seed %llu: %u transitions\n", (unsigned long long)seed, n);
		assert_int_equal(n, 0);
		/* the loss was real: windows did see failures */
		assert_true(min_r < 1.0);
		if (min_r < lowest)
			lowest = min_r;
	}
	print_message("  100 seeds x 10 min at 30%% loss: 0 transitions; lowest window R %.2f "
		      "(DEGRADED needs < 0.50 three times in a row)\n",
		      lowest);
}

static void test_fo_recovery_needs_sustained_health(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_MIRROR_READY, NULL), 0);
	sim_start(&f->sim, &f->clk, f->fo, 99);
	fake_clock_advance(&f->clk, 30000);
	f->sim.loss[OST_FO_ROOT] = f->sim.loss[OST_FO_FOREIGN] = 1.0;
	fake_clock_advance(&f->clk, 40000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_ISOLATED);

	/* 30 s of health, then the cut again: never leaves ISOLATED */
	f->sim.loss[OST_FO_ROOT] = f->sim.loss[OST_FO_FOREIGN] = 0;
	fake_clock_advance(&f->clk, 30000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_ISOLATED);
	f->sim.loss[OST_FO_ROOT] = f->sim.loss[OST_FO_FOREIGN] = 1.0;
	fake_clock_advance(&f->clk, 30000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_ISOLATED);

	/* sustained health: RECOVERING after >= 60 s, NORMAL after >= 120 s more */
	uint64_t t0 = f->clk.now_ms;
	f->sim.loss[OST_FO_ROOT] = f->sim.loss[OST_FO_FOREIGN] = 0;
	fake_clock_advance(&f->clk, 59000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_ISOLATED);
	fake_clock_advance(&f->clk, 21000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_RECOVERING);
	uint64_t t_rec = first_entry(&f->seen, OST_FO_RECOVERING, t0);
	fake_clock_advance(&f->clk, t_rec + 110000 - f->clk.now_ms);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_RECOVERING);
	fake_clock_advance(&f->clk, 20000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL);
	uint64_t t_norm = first_entry(&f->seen, OST_FO_NORMAL, t0);
	print_message("  restore -> RECOVERING %llu ms, -> NORMAL %llu ms\n",
		      (unsigned long long)(t_rec - t0), (unsigned long long)(t_norm - t0));
	assert_true(t_rec - t0 >= 60000);
	assert_true(t_norm - t_rec >= 120000);
	fx_free(f);
}

static void test_fo_tld_cut_degrades_only(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_MIRROR_READY, NULL), 0);
	sim_start(&f->sim, &f->clk, f->fo, 5);
	fake_clock_advance(&f->clk, 20000);
	f->sim.loss[OST_FO_FOREIGN] = 1.0; /* roots fine */
	fake_clock_advance(&f->clk, 120000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_DEGRADED);
	/* restored: back to NORMAL only after 60 s of health */
	uint64_t t0 = f->clk.now_ms;
	f->sim.loss[OST_FO_FOREIGN] = 0;
	fake_clock_advance(&f->clk, 50000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_DEGRADED);
	fake_clock_advance(&f->clk, 40000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL);
	assert_true(first_entry(&f->seen, OST_FO_NORMAL, t0) - t0 >= 60000);
	fx_free(f);
}

static void test_fo_passive_only(void **state)
{
	(void)state;
	/* no probe targets: the passive signal alone detects and isolates */
	struct fx *f = fx_new(NULL);
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_MIRROR_READY, NULL), 0);
	f->sim = (struct sim){.clk = &f->clk, .fo = f->fo, .rng = 3, .passive_per_s = 60};
	ost_clock_timer_start(&f->clk.clock, 1000, sim_passive, &f->sim);
	fake_clock_advance(&f->clk, 30000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL);
	f->sim.loss[OST_FO_ROOT] = f->sim.loss[OST_FO_FOREIGN] = 1.0;
	fake_clock_advance(&f->clk, 60000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_ISOLATED);
	fx_free(f);
}

/*
 * ---------------------------------------------------------------------------
 * Mirrors
 * ---------------------------------------------------------------------------
 */

static void test_fo_mirror_expired_path(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	int64_t now = WALL0 + 1000;
	/* root: SOA expire in 100 s, RRSIGs valid 10 days */
	assert_int_equal(
		ost_fo_feed_mirror(f->fo, ".", 2026112601, now + 100, now + 10 * 86400, true), 0);
	assert_int_equal(
		ost_fo_feed_mirror(f->fo, "ru.", 7, now + 30 * 86400, now + 30 * 86400, true), 0);
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_MIRROR_READY, NULL), 0);
	assert_int_equal(ost_fo_isolate(f->fo, "op"), 0);
	struct ost_fo_policy pol;
	ost_fo_policy(f->fo, OST_FO_NAME_ROOT, ".", &pol);
	assert_int_equal(pol.mirror, OST_FO_MIRROR_USE);
	assert_false(pol.mirror_extended_ede);

	fake_clock_advance(&f->clk, 102000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_MIRROR_EXPIRED);
	ost_fo_policy(f->fo, OST_FO_NAME_ROOT, ".", &pol);
	assert_int_equal(pol.mirror, OST_FO_MIRROR_WITHDRAWN);
	ost_fo_policy(f->fo, OST_FO_NAME_NATIONAL, "ru.", &pol);
	assert_int_equal(pol.mirror, OST_FO_MIRROR_USE);

	/* extend: granted, flagged */
	int64_t until = 0;
	assert_int_equal(ost_fo_extend_mirror(f->fo, ".", 3600, "op", &until), 0);
	assert_int_equal(until, ost_clock_wall_s(&f->clk.clock) + 3600);
	ost_fo_policy(f->fo, OST_FO_NAME_ROOT, ".", &pol);
	assert_int_equal(pol.mirror, OST_FO_MIRROR_EXTENDED);
	assert_true(pol.mirror_extended_ede);
	/* still MIRROR-EXPIRED (critical) while extended */
	fake_clock_advance(&f->clk, 10000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_MIRROR_EXPIRED);
	/* the extension runs out on its own */
	fake_clock_advance(&f->clk, 3600000);
	ost_fo_policy(f->fo, OST_FO_NAME_ROOT, ".", &pol);
	assert_int_equal(pol.mirror, OST_FO_MIRROR_WITHDRAWN);

	/* a fresh verified copy: back to ISOLATED, extension gone */
	int64_t w = ost_clock_wall_s(&f->clk.clock);
	assert_int_equal(
		ost_fo_feed_mirror(f->fo, ".", 2026112602, w + 7 * 86400, w + 13 * 86400, true), 0);
	fake_clock_advance(&f->clk, 2000);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_ISOLATED);
	ost_fo_policy(f->fo, OST_FO_NAME_ROOT, ".", &pol);
	assert_int_equal(pol.mirror, OST_FO_MIRROR_USE);
	struct ost_fo_status st;
	ost_fo_status(f->fo, &st);
	assert_int_equal(st.mirrors[0].extended_until, 0);
	assert_int_equal(st.transitions[OST_FO_ISOLATED][OST_FO_MIRROR_EXPIRED], 1);
	assert_int_equal(st.transitions[OST_FO_MIRROR_EXPIRED][OST_FO_ISOLATED], 1);
	fx_free(f);
}

static void test_fo_extend_limits(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	int64_t now = ost_clock_wall_s(&f->clk.clock);
	/* SOA expire passed; RRSIG horizon in 2 days (margin 1 day) */
	assert_int_equal(ost_fo_feed_mirror(f->fo, ".", 1, now - 10, now + 2 * 86400, true), 0);
	int64_t until = 0;
	/* never past rrsig_horizon - margin: 5 days asked, 1 day granted */
	assert_int_equal(ost_fo_extend_mirror(f->fo, ".", 5 * 86400, "op", &until), 0);
	assert_int_equal(until, now + 86400);
	/* bad durations */
	assert_int_equal(ost_fo_extend_mirror(f->fo, ".", 0, "op", &until), -EINVAL);
	assert_int_equal(ost_fo_extend_mirror(f->fo, ".", 8 * 86400, "op", &until), -EINVAL);
	/* unknown zone */
	assert_int_equal(ost_fo_extend_mirror(f->fo, "com.", 60, "op", &until), -ENOENT);
	/* once within the margin of the horizon nothing can be granted, and the
	 * extension already granted ends there */
	fake_clock_advance(&f->clk, (uint64_t)(86400 + 1) * 1000);
	struct ost_fo_policy pol;
	ost_fo_policy(f->fo, OST_FO_NAME_ROOT, ".", &pol);
	assert_int_equal(pol.mirror, OST_FO_MIRROR_WITHDRAWN);
	assert_int_equal(ost_fo_extend_mirror(f->fo, ".", 60, "op", &until), OST_ELIMIT);
	/* an unverified copy cannot be extended */
	now = ost_clock_wall_s(&f->clk.clock);
	assert_int_equal(ost_fo_feed_mirror(f->fo, "su.", 1, now - 1, now + 9 * 86400, false), 0);
	assert_int_equal(ost_fo_extend_mirror(f->fo, "su.", 60, "op", &until), -EPERM);
	ost_fo_policy(f->fo, OST_FO_NAME_NATIONAL, "su.", &pol);
	assert_int_equal(pol.mirror, OST_FO_MIRROR_WITHDRAWN);
	ost_fo_policy(f->fo, OST_FO_NAME_NATIONAL, "xn--p1ai.", &pol);
	assert_int_equal(pol.mirror, OST_FO_MIRROR_UNKNOWN);
	/* bad names and capacity */
	assert_int_equal(ost_fo_feed_mirror(f->fo, "", 1, 0, 0, true), -EINVAL);
	char zone[16];
	int rc = 0;
	for (int i = 0; i < OST_FO_MAX_MIRRORS && rc == 0; i++) {
		snprintf(zone, sizeof(zone), "z%d.", i);
		rc = ost_fo_feed_mirror(f->fo, zone, 1, now + 99, now + 999999, true);
	}
	assert_int_equal(rc, -ENOSPC);
	fx_free(f);
}

static void test_fo_policy_per_state(void **state)
{
	(void)state;
	struct ost_fo_config cfg;
	cfg_fast(&cfg);
	struct fx *f = fx_new(&cfg);
	struct ost_fo_policy p;
	drive_to(f->fo, OST_FO_NORMAL);
	ost_fo_policy(f->fo, OST_FO_NAME_FOREIGN, NULL, &p);
	assert_true(p.may_query_foreign);
	assert_false(p.serve_stale_immediately);
	assert_false(p.servfail_unknown_at_once);
	assert_int_equal(p.client_timer_ms, 1800);
	assert_int_equal(p.stale_max_age_s, 86400);
	assert_int_equal(p.mirror, OST_FO_MIRROR_UNKNOWN);
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_DEGRADE, NULL), 0);
	ost_fo_policy(f->fo, OST_FO_NAME_FOREIGN, NULL, &p);
	assert_true(p.may_query_foreign);
	assert_false(p.serve_stale_immediately);
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_ISOLATE_DETECTED, NULL), 0);
	ost_fo_policy(f->fo, OST_FO_NAME_FOREIGN, NULL, &p);
	assert_int_equal(p.state, OST_FO_ISOLATED);
	assert_false(p.may_query_foreign);
	assert_true(p.serve_stale_immediately);
	assert_true(p.servfail_unknown_at_once);
	assert_int_equal(p.stale_max_age_s, 3 * 86400);
	ost_fo_policy(f->fo, OST_FO_NAME_NATIONAL, NULL, &p);
	assert_false(p.serve_stale_immediately);
	assert_false(p.servfail_unknown_at_once);
	assert_false(p.is_drill);
	ost_fo_set_drill(f->fo, "d-1");
	ost_fo_policy(f->fo, OST_FO_NAME_NATIONAL, NULL, &p);
	assert_true(p.is_drill);
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_REACHABLE, NULL), 0);
	ost_fo_policy(f->fo, OST_FO_NAME_FOREIGN, NULL, &p);
	assert_true(p.may_query_foreign);
	assert_int_equal(p.stale_max_age_s, 3 * 86400); /* keep serving stale while refilling */
	fx_free(f);
}

static void test_fo_recheck_bucket(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	unsigned n = 0;
	while (ost_fo_recheck_allow(f->fo))
		n++;
	assert_int_equal(n, 20); /* the burst */
	f->clk.now_ms += 1000;
	n = 0;
	while (ost_fo_recheck_allow(f->fo))
		n++;
	assert_int_equal(n, 5); /* 5 per second */
	fx_free(f);
}

/*
 * ---------------------------------------------------------------------------
 * Settings changed while running (a configuration reload)
 * ---------------------------------------------------------------------------
 */

/* @p secs seconds of probe results: per second 2 of 3 roots answer, 3 of 3 foreign. */
static void feed_two_thirds(struct fx *f, unsigned secs)
{
	for (unsigned i = 0; i < secs; i++) {
		ost_fo_feed_probe(f->fo, OST_FO_ROOT, true);
		ost_fo_feed_probe(f->fo, OST_FO_ROOT, true);
		ost_fo_feed_probe(f->fo, OST_FO_ROOT, false);
		for (int k = 0; k < 3; k++)
			ost_fo_feed_probe(f->fo, OST_FO_FOREIGN, true);
		fake_clock_advance(&f->clk, 1000);
	}
}

static void test_fo_set_config_live(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	struct ost_fo_status *st = malloc(sizeof(*st));
	assert_non_null(st);
	drive_to(f->fo, OST_FO_NORMAL);
	/* One root of three lost: R_root = 0.67, above the default 0.5. */
	feed_two_thirds(f, 30);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL);
	ost_fo_status(f->fo, st);
	assert_true(st->windows[0].r[OST_FO_ROOT] > 0.6 && st->windows[0].r[OST_FO_ROOT] < 0.7);
	assert_true(st->cfg.degrade_below == 0.5);

	/* A bad set changes nothing. */
	struct ost_fo_config c;
	ost_fo_get_config(f->fo, &c);
	c.healthy_min = 0.3; /* below degrade_below */
	assert_int_equal(ost_fo_set_config(f->fo, &c), -EINVAL);
	ost_fo_get_config(f->fo, &c);
	assert_true(c.healthy_min == 0.75);

	/* The operator raises the degrade threshold: the same evidence now
	 * degrades, within degrade_evals evaluations, without a restart. */
	c.degrade_below = 0.7;
	c.stale_max_normal_s = 600;
	c.client_timer_ms = 900;
	assert_int_equal(ost_fo_set_config(f->fo, &c), 0);
	uint64_t t0 = f->clk.now_ms;
	feed_two_thirds(f, 8);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_DEGRADED);
	uint64_t at = first_entry(&f->seen, OST_FO_DEGRADED, t0);
	assert_true(at != UINT64_MAX && at - t0 <= c.degrade_evals * c.eval_ms);
	ost_fo_status(f->fo, st);
	assert_true(st->cfg.degrade_below == 0.7);
	assert_int_equal(st->transitions[OST_FO_NORMAL][OST_FO_DEGRADED], 1);
	assert_non_null(strstr(st->last_reason, "0.7"));
	/* The lock-free policy path sees the new serve-stale settings. */
	struct ost_fo_policy pol;
	ost_fo_policy(f->fo, OST_FO_NAME_FOREIGN, NULL, &pol);
	assert_int_equal(pol.stale_max_age_s, 600);
	assert_int_equal(pol.client_timer_ms, 900);

	/* Another change while DEGRADED: the state, its age, the counters and
	 * the evidence stay (no reset to LOADING or NORMAL). */
	feed_two_thirds(f, 4);
	ost_fo_status(f->fo, st);
	uint64_t in_state = st->in_state_ms;
	unsigned n_windows = st->n_windows;
	assert_true(in_state >= 4000);
	c.healthy_evals = 5;
	c.eval_ms = 500; /* a new evaluation period starts at once */
	assert_int_equal(ost_fo_set_config(f->fo, &c), 0);
	ost_fo_status(f->fo, st);
	assert_int_equal(st->state, OST_FO_DEGRADED);
	assert_true(st->in_state_ms >= in_state);
	assert_int_equal(st->n_windows, n_windows);
	assert_int_equal(st->transitions[OST_FO_NORMAL][OST_FO_DEGRADED], 1);
	fake_clock_advance(&f->clk, 500);
	ost_fo_status(f->fo, st);
	assert_int_equal(st->windows[0].mono_ms, f->clk.now_ms);
	/* Health with the lowered healthy_evals: back to NORMAL after 5 evaluations
	 * of 500 ms (the window must first hold only good seconds). */
	t0 = f->clk.now_ms;
	for (unsigned i = 0; i < 20 && ost_fo_state(f->fo) != OST_FO_NORMAL; i++) {
		for (int k = 0; k < 3; k++) {
			ost_fo_feed_probe(f->fo, OST_FO_ROOT, true);
			ost_fo_feed_probe(f->fo, OST_FO_FOREIGN, true);
		}
		fake_clock_advance(&f->clk, 1000);
	}
	assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL);
	/* window 10 s of good seconds + 5 evaluations of 0.5 s */
	assert_true(first_entry(&f->seen, OST_FO_NORMAL, t0) - t0 <= 10000 + 5 * 500 + 1000);

	/* A new bucket width drops the samples (they were counted in the old
	 * width) but not the state. */
	c.bucket_ms = 500;
	assert_int_equal(ost_fo_set_config(f->fo, &c), 0);
	ost_fo_evaluate(f->fo);
	ost_fo_status(f->fo, st);
	assert_int_equal(st->windows[0].n[OST_FO_ROOT], 0);
	assert_int_equal(st->state, OST_FO_NORMAL);
	free(st);
	fx_free(f);
}

static void test_fo_config_by_name(void **state)
{
	(void)state;
	struct ost_fo_config c;
	struct ost_probe_config pc;
	char err[160];
	ost_fo_config_default(&c);
	ost_probe_config_default(&pc);
	assert_int_equal(ost_fo_config_set(&c, "degrade-below", "0.4", err, sizeof(err)), 0);
	assert_true(c.degrade_below == 0.4);
	assert_int_equal(ost_fo_config_set(&c, "window-ms", "12000", err, sizeof(err)), 0);
	assert_int_equal(c.window_ms, 12000);
	assert_int_equal(ost_fo_config_set(&c, "isolate-evals", "4", err, sizeof(err)), 0);
	assert_int_equal(c.isolate_evals, 4);
	assert_int_equal(ost_fo_config_set(&c, "recheck-per-s", "2.5", err, sizeof(err)), 0);
	assert_true(c.recheck_per_s == 2.5);
	assert_int_equal(ost_fo_config_check(&c, err, sizeof(err)), 0);
	const char *bad[][2] = {{"degrade-below", "1.5"}, {"degrade-below", "x"},
				{"window-ms", "-1"},      {"window-ms", "99999999999"},
				{"window-ms", "10s"},     {"recheck-per-s", "-2"},
				{"recheck-per-s", "nan"}, {"eval-ms", ""}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ost_fo_config_set(&c, bad[i][0], bad[i][1], err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, bad[i][0]));
	}
	assert_int_equal(ost_fo_config_set(&c, "degrade_below", "0.4", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "unknown key 'degrade_below'"));
	assert_true(c.degrade_below == 0.4); /* failed sets changed nothing */
	assert_int_equal(c.window_ms, 12000);
	assert_int_equal(ost_probe_config_set(&pc, "tries", "2", err, sizeof(err)), 0);
	assert_int_equal(pc.tries, 2);
	assert_int_equal(ost_probe_config_set(&pc, "jitter", "0.1", err, sizeof(err)), 0);
	assert_int_equal(ost_probe_config_set(&pc, "jitter", "2", err, sizeof(err)), -EINVAL);
	assert_int_equal(ost_probe_config_set(&pc, "color", "red", err, sizeof(err)), -ENOENT);
}

static void test_fo_config_check(void **state)
{
	(void)state;
	struct ost_fo_config c;
	char err[160];
	ost_fo_config_default(&c);
	assert_int_equal(ost_fo_config_check(&c, err, sizeof(err)), 0);
	c.healthy_min = 0.4; /* below degrade: no hysteresis */
	assert_int_equal(ost_fo_config_check(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "hysteresis"));
	ost_fo_config_default(&c);
	c.window_ms = 600000;
	assert_int_equal(ost_fo_config_check(&c, err, sizeof(err)), -EINVAL);
	struct fake_clock clk;
	fake_clock_init_at(&clk, WALL0, 0);
	struct ost_fo *fo = NULL;
	assert_int_equal(ost_fo_new(&c, &clk.clock, &fo), -EINVAL);
	assert_null(fo);
	assert_int_equal(fake_clock_deinit(&clk), 0);
}

/*
 * ---------------------------------------------------------------------------
 * Logs, status, metrics
 * ---------------------------------------------------------------------------
 */

static void test_fo_json_record_per_transition(void **state)
{
	(void)state;
	struct ost_fo_config cfg;
	cfg_fast(&cfg);
	struct fx *f = fx_new(&cfg);
	struct capture cap;
	capture_start(&cap);
	drive_to(f->fo, OST_FO_NORMAL);
	ost_fo_set_drill(f->fo, "drill-42");
	assert_int_equal(ost_fo_feed_mirror(f->fo, ".", 5, WALL0 + 99999, WALL0 + 999999, true), 0);
	fake_clock_advance(&f->clk, 4000); /* two evaluations: evidence */
	assert_int_equal(ost_fo_isolate(f->fo, "alice"), 0);
	assert_int_equal(ost_fo_unisolate(f->fo, "alice"), -0);
	char *out = capture_end(&cap);
	unsigned records = 0;
	for (char *p = out; (p = strstr(p, "\"event\":\"state_transition\"")); p++)
		records++;
	assert_int_equal(records, 3);
	assert_non_null(strstr(out, "\"from\":\"NORMAL\",\"to\":\"ISOLATED\""));
	assert_non_null(strstr(out, "\"operator\":\"alice\""));
	assert_non_null(strstr(out, "\"drill_id\":\"drill-42\""));
	assert_non_null(strstr(out, "\"r_root\":null"));
	assert_non_null(strstr(out, "\"soa_expire_deadline\":1790099999"));
	free(out);

	struct ost_buf b = {0};
	assert_int_equal(ost_fo_status_write(f->fo, true, &b), 0);
	assert_non_null(strstr(ost_buf_str(&b), "\"state\":\"RECOVERING\""));
	assert_non_null(
		strstr(ost_buf_str(&b), "{\"from\":\"NORMAL\",\"to\":\"ISOLATED\",\"count\":1}"));
	ost_buf_deinit(&b);
	assert_int_equal(ost_fo_status_write(f->fo, false, &b), 0);
	assert_non_null(strstr(ost_buf_str(&b), "state:        RECOVERING"));
	ost_buf_deinit(&b);
	fx_free(f);
}

static void test_buf_json_escape(void **state)
{
	(void)state;
	struct ost_buf b = {0};
	assert_int_equal(ost_buf_json_str(&b, "a\"b\\c\n\x01"), 0);
	assert_string_equal(ost_buf_str(&b), "\"a\\\"b\\\\c\\u000a\\u0001\"");
	assert_int_equal(ost_buf_json_str(&b, NULL), 0);
	assert_string_equal(ost_buf_str(&b) + b.len - 4, "null");
	ost_buf_deinit(&b);
	assert_string_equal(ost_buf_str(&b), "");
}

/*
 * ---------------------------------------------------------------------------
 * Serve-stale and failure cache
 * ---------------------------------------------------------------------------
 */

static void test_stale_decide(void **state)
{
	(void)state;
	struct ost_stale_decision d;
	ost_stale_decide(1000, 900, 86400, false, &d);
	assert_int_equal(d.verdict, OST_STALE_FRESH);
	assert_int_equal(d.ttl, 100);
	assert_int_equal(d.ede, 0);
	ost_stale_decide(1000, 1000, 86400, false, &d);
	assert_int_equal(d.verdict, OST_STALE_SERVE);
	assert_int_equal(d.ttl, 30);
	assert_int_equal(d.ede, 3);
	ost_stale_decide(1000, 1000 + 86400, 86400, true, &d);
	assert_int_equal(d.verdict, OST_STALE_SERVE);
	assert_int_equal(d.ede, 19);
	assert_int_equal(d.stale_age_s, 86400);
	ost_stale_decide(1000, 1000 + 86401, 86400, false, &d);
	assert_int_equal(d.verdict, OST_STALE_REFUSE);
	assert_int_equal(d.ttl, 0);
	/* isolated: 3 days */
	ost_stale_decide(1000, 1000 + 2 * 86400, 3 * 86400, false, &d);
	assert_int_equal(d.verdict, OST_STALE_SERVE);
}

static void test_failcache_backoff(void **state)
{
	(void)state;
	assert_int_equal(ost_failcache_ttl(0), 1);
	assert_int_equal(ost_failcache_ttl(1), 1);
	assert_int_equal(ost_failcache_ttl(2), 2);
	assert_int_equal(ost_failcache_ttl(5), 16);
	assert_int_equal(ost_failcache_ttl(9), 256);
	assert_int_equal(ost_failcache_ttl(10), 300);
	assert_int_equal(ost_failcache_ttl(1000), 300);
	for (unsigned i = 0; i < 40; i++) {
		assert_true(ost_failcache_ttl(i) >= 1);
		assert_true(ost_failcache_ttl(i) <= 300);
		assert_true(ost_failcache_ttl(i + 1) >= ost_failcache_ttl(i));
	}
	assert_int_equal(ost_failure_ede(-ETIMEDOUT), 22);
	assert_int_equal(ost_failure_ede(0), 22);
	assert_int_equal(ost_failure_ede(-ECONNREFUSED), 23);
	assert_int_equal(ost_failure_ede(-ENETUNREACH), 23);
}

static void test_uncached_decision(void **state)
{
	(void)state;
	struct ost_fo_config cfg;
	cfg_fast(&cfg);
	struct fx *f = fx_new(&cfg);
	drive_to(f->fo, OST_FO_NORMAL);
	struct ost_fo_policy pol;
	struct ost_uncached_decision d;
	ost_fo_policy(f->fo, OST_FO_NAME_FOREIGN, NULL, &pol);
	assert_false(pol.is_refresh_limited);
	ost_fo_uncached(&pol, 0, false, &d);
	assert_true(d.is_resolve);
	assert_false(d.is_servfail_now);
	assert_int_equal(ost_fo_isolate(f->fo, "op"), 0);
	ost_fo_policy(f->fo, OST_FO_NAME_FOREIGN, NULL, &pol);
	assert_true(pol.is_refresh_limited);
	/* foreign, isolated: SERVFAIL + EDE 22 at once, cached with backoff, no query */
	ost_fo_uncached(&pol, 0, false, &d);
	assert_false(d.is_resolve);
	assert_true(d.is_servfail_now);
	assert_int_equal(d.ede, 22);
	assert_int_equal(d.cache_ttl_s, 1);
	ost_fo_uncached(&pol, 4, false, &d);
	assert_int_equal(d.cache_ttl_s, 16);
	/* with a recheck token one query may go out; the client is answered at once anyway */
	ost_fo_uncached(&pol, 9, true, &d);
	assert_true(d.is_resolve);
	assert_true(d.is_servfail_now);
	assert_int_equal(d.cache_ttl_s, 300);
	/* national names are still resolved */
	ost_fo_policy(f->fo, OST_FO_NAME_NATIONAL, NULL, &pol);
	ost_fo_uncached(&pol, 0, false, &d);
	assert_true(d.is_resolve);
	assert_false(d.is_servfail_now);
	fx_free(f);
}

const struct CMUnitTest failover_tests[] = {
	cmocka_unit_test(test_fo_names),
	cmocka_unit_test(test_fo_every_legal_transition),
	cmocka_unit_test(test_fo_every_illegal_event),
	cmocka_unit_test(test_fo_rate_limit),
	cmocka_unit_test(test_fo_operator_commands),
	cmocka_unit_test(test_fo_detect_full_cut_within_30s),
	cmocka_unit_test(test_fo_no_flapping_at_30pct_loss),
	cmocka_unit_test(test_fo_recovery_needs_sustained_health),
	cmocka_unit_test(test_fo_tld_cut_degrades_only),
	cmocka_unit_test(test_fo_passive_only),
	cmocka_unit_test(test_fo_mirror_expired_path),
	cmocka_unit_test(test_fo_extend_limits),
	cmocka_unit_test(test_fo_policy_per_state),
	cmocka_unit_test(test_fo_recheck_bucket),
	cmocka_unit_test(test_fo_set_config_live),
	cmocka_unit_test(test_fo_config_by_name),
	cmocka_unit_test(test_fo_config_check),
	cmocka_unit_test(test_fo_json_record_per_transition),
	cmocka_unit_test(test_buf_json_escape),
	cmocka_unit_test(test_stale_decide),
	cmocka_unit_test(test_failcache_backoff),
	cmocka_unit_test(test_uncached_decision),
};
const size_t failover_tests_n = sizeof(failover_tests) / sizeof(failover_tests[0]);
