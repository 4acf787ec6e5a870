/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The replay runner's pinned clock (struct ost_clock). Wall time starts at
 * the scenario's val-override-date (else a fixed date) and moves only on
 * TIME_PASSES, which also moves monotonic time: one clock for TTLs and
 * DNSSEC windows alike, as FORMAT.md §7 recommends (Deckard semantics).
 * Waiting for an upstream timeout moves only monotonic time, so an
 * unanswered query does not age the cache (testbound does the same: its
 * timeouts are instantaneous). Timers fire in deadline order, ties in the
 * order they were armed; nothing ever sleeps.
 */
#include <stdlib.h>

#include "rpl.h"

/** An armed timer (the engine sees only the opaque pointer). */
struct ost_timer {
	uint64_t deadline;      /**< mono ms when it fires */
	uint64_t seq;           /**< arming order, for ties */
	ost_timer_cb cb;        /**< callback */
	void *arg;              /**< its argument */
	struct ost_timer *next; /**< next by deadline */
};

static uint64_t mono_ms(void *ctx)
{
	return ((struct rpl_clock *)ctx)->mono_ms;
}

static int64_t wall_s(void *ctx)
{
	struct rpl_clock *c = ctx;

	return c->wall_base_s + (int64_t)(c->wall_off_ms / 1000);
}

static struct ost_timer *timer_start(void *ctx, uint64_t ms, ost_timer_cb cb, void *arg)
{
	struct rpl_clock *c = ctx;
	struct ost_timer *t = calloc(1, sizeof(*t)), **pp;

	if (!t)
		return NULL;
	t->deadline = c->mono_ms + ms;
	t->seq = c->seq++;
	t->cb = cb;
	t->arg = arg;
	for (pp = &c->timers; *pp && (*pp)->deadline <= t->deadline; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	return t;
}

static void timer_stop(void *ctx, struct ost_timer *t)
{
	struct rpl_clock *c = ctx;

	for (struct ost_timer **pp = &c->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			free(t);
			return;
		}
	}
}

static const struct ost_clock_ops clock_ops = {
	.mono_ms = mono_ms,
	.wall_s = wall_s,
	.timer_start = timer_start,
	.timer_stop = timer_stop,
};

void rpl_clock_init(struct rpl_clock *c, int64_t wall)
{
	*c = (struct rpl_clock){
		.clock = {.ops = &clock_ops, .ctx = c},
		.mono_ms = 1000000,
		.wall_base_s = wall,
	};
}

void rpl_clock_deinit(struct rpl_clock *c)
{
	while (c->timers) {
		struct ost_timer *t = c->timers;
		c->timers = t->next;
		free(t);
	}
}

/** Pop and run the first timer if it is due at or before @p limit. */
static bool fire_one(struct rpl_clock *c, uint64_t limit)
{
	struct ost_timer *t = c->timers;

	if (!t || t->deadline > limit)
		return false;
	c->timers = t->next;
	if (t->deadline > c->mono_ms)
		c->mono_ms = t->deadline;
	ost_timer_cb cb = t->cb;
	void *arg = t->arg;
	free(t);
	c->fired++;
	cb(arg);
	return true;
}

void rpl_clock_advance(struct rpl_clock *c, uint64_t ms, bool move_wall)
{
	uint64_t target = c->mono_ms + ms;
	uint64_t start = c->mono_ms;

	while (fire_one(c, target)) {
		/* wall time follows mono time while timers fire on the way */
		if (move_wall)
			c->wall_off_ms += c->mono_ms - start;
		start = c->mono_ms;
	}
	if (move_wall)
		c->wall_off_ms += target - start;
	c->mono_ms = target;
}

bool rpl_clock_fire_next(struct rpl_clock *c)
{
	if (!c->timers)
		return false;
	return fire_one(c, c->timers->deadline);
}

size_t rpl_clock_armed(const struct rpl_clock *c)
{
	size_t n = 0;

	for (const struct ost_timer *t = c->timers; t; t = t->next)
		n++;
	return n;
}
