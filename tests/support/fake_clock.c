/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The pinned clock of the test support library (see ost_test.h): a struct
 * ost_clock whose monotonic time moves only when the test says so, with
 * timers that fire in deadline order, ties in the order they were armed.
 * Wall time follows monotonic time, except that fake_clock_fire_next() moves
 * monotonic time alone: the replay runner waits for upstream timeouts that
 * way without ageing the cache (testbound does the same), and fuzz targets
 * keep a fixed wall clock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ost_test.h"

/** An armed timer (the code under test sees only the opaque pointer). */
struct ost_timer {
	struct ost_timer *next; /**< next by deadline */
	uint64_t deadline;      /**< mono ms when it fires */
	uint64_t seq;           /**< arming order, for ties */
	ost_timer_cb cb;        /**< callback */
	void *arg;              /**< its argument */
};

void fake_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("test fixture: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static uint64_t fc_mono(void *ctx)
{
	return ((struct fake_clock *)ctx)->now_ms;
}

static int64_t fc_wall(void *ctx)
{
	struct fake_clock *c = ctx;

	return c->wall_s + (int64_t)((c->now_ms - c->lag_ms) / 1000);
}

static struct ost_timer *fc_start(void *ctx, uint64_t ms, ost_timer_cb cb, void *arg)
{
	struct fake_clock *c = ctx;
	struct ost_timer *t = calloc(1, sizeof(*t)), **pp;

	if (!t)
		return NULL;
	t->deadline = c->now_ms + ms;
	t->seq = c->seq++;
	t->cb = cb;
	t->arg = arg;
	/* after every timer with the same deadline: ties fire in arming order */
	for (pp = &c->timers; *pp && (*pp)->deadline <= t->deadline; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	return t;
}

static void fc_stop(void *ctx, struct ost_timer *t)
{
	struct fake_clock *c = ctx;

	for (struct ost_timer **pp = &c->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			free(t);
			return;
		}
	}
	if (!c->is_lax)
		fake_fail("timer_stop on a timer that is not armed");
}

static const struct ost_clock_ops fc_ops = {
	.mono_ms = fc_mono,
	.wall_s = fc_wall,
	.timer_start = fc_start,
	.timer_stop = fc_stop,
};

void fake_clock_init_at(struct fake_clock *c, int64_t wall_s, uint64_t now_ms)
{
	*c = (struct fake_clock){
		.clock = {.ops = &fc_ops, .ctx = c},
		.now_ms = now_ms,
		.wall_s = wall_s,
	};
}

void fake_clock_init(struct fake_clock *c, int64_t wall_s)
{
	fake_clock_init_at(c, wall_s, 1000000);
}

void fake_clock_set_wall(struct fake_clock *c, int64_t wall_s)
{
	c->wall_s = wall_s;
	c->lag_ms = c->now_ms;
}

size_t fake_clock_deinit(struct fake_clock *c)
{
	size_t n = 0;

	while (c->timers) {
		struct ost_timer *t = c->timers;
		c->timers = t->next;
		free(t);
		n++;
	}
	return n;
}

/* Pop and run the first timer if it is due by @p until; the wall clock
 * moves with it unless @p is_mono_only. */
static bool fire_one(struct fake_clock *c, uint64_t until, bool is_mono_only)
{
	struct ost_timer *t = c->timers;

	if (!t || t->deadline > until)
		return false;
	c->timers = t->next;
	if (t->deadline > c->now_ms) {
		if (is_mono_only)
			c->lag_ms += t->deadline - c->now_ms;
		c->now_ms = t->deadline;
	}
	ost_timer_cb cb = t->cb;
	void *arg = t->arg;
	free(t);
	cb(arg);
	return true;
}

void fake_clock_advance(struct fake_clock *c, uint64_t ms)
{
	uint64_t until = c->now_ms + ms;

	while (fire_one(c, until, false))
		;
	c->now_ms = until;
}

size_t fake_clock_run(struct fake_clock *c, uint64_t max_ms)
{
	uint64_t until = c->now_ms + max_ms;
	size_t n = 0;

	while (fire_one(c, until, false))
		n++;
	return n;
}

bool fake_clock_fire_next(struct fake_clock *c)
{
	return c->timers && fire_one(c, c->timers->deadline, true);
}

uint64_t fake_clock_next_deadline(const struct fake_clock *c)
{
	return c->timers ? c->timers->deadline : UINT64_MAX;
}

size_t fake_clock_armed(const struct fake_clock *c)
{
	size_t n = 0;

	for (const struct ost_timer *t = c->timers; t; t = t->next)
		n++;
	return n;
}
