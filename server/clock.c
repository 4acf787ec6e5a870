/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The engine's clock over libuv. Monotonic time is the loop's cached uv_now()
 * (updated once per loop iteration, which is the precision the engine's
 * timeouts need and costs no system call); wall time comes from
 * CLOCK_REALTIME because DNSSEC validity windows are absolute dates. Timers
 * are heap-allocated uv_timer_t handles freed in their close callback, as
 * every libuv handle in ostrov is (house style 4.4).
 */
#include <stdlib.h>
#include <time.h>

#include "uvio.h"

struct ost_timer {
	uv_timer_t h;                  /* h.data points back to this */
	struct ost_uv_clock *clk;      /* owner, for unlinking */
	struct ost_timer *prev, *next; /* in clk->armed */
	ost_timer_cb cb;
	void *arg;
};

static uint64_t uvc_mono_ms(void *ctx)
{
	struct ost_uv_clock *c = ctx;
	return uv_now(c->loop);
}

/* Any thread may call this one: uv_hrtime() reads CLOCK_MONOTONIC. */
static uint64_t uvc_hr_mono_ms(void *ctx)
{
	(void)ctx;
	return uv_hrtime() / 1000000u;
}

static int64_t uvc_wall_s(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static void timer_closed(uv_handle_t *h)
{
	free(h->data);
}

static void unlink_timer(struct ost_timer *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		t->clk->armed = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->prev = t->next = NULL;
}

/*
 * The timer is closed before its callback runs: the contract says it is gone
 * after the call, and closing first means a callback that (wrongly) stops it
 * cannot double-close; the memory itself lives until the close callback.
 */
static void timer_fired(uv_timer_t *h)
{
	struct ost_timer *t = h->data;
	ost_timer_cb cb = t->cb;
	void *arg = t->arg;
	unlink_timer(t);
	uv_close((uv_handle_t *)h, timer_closed);
	cb(arg);
}

static struct ost_timer *uvc_timer_start(void *ctx, uint64_t ms, ost_timer_cb cb, void *arg)
{
	struct ost_uv_clock *c = ctx;
	struct ost_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->clk = c;
	t->cb = cb;
	t->arg = arg;
	if (uv_timer_init(c->loop, &t->h) < 0) {
		free(t);
		return NULL;
	}
	t->h.data = t;
	/* uv_timer_start() only fails for a closing handle or a NULL callback. */
	uv_timer_start(&t->h, timer_fired, ms, 0);
	t->next = c->armed;
	if (c->armed)
		c->armed->prev = t;
	c->armed = t;
	return t;
}

static void uvc_timer_stop(void *ctx, struct ost_timer *t)
{
	(void)ctx;
	unlink_timer(t);
	uv_timer_stop(&t->h);
	uv_close((uv_handle_t *)&t->h, timer_closed);
}

static const struct ost_clock_ops uv_clock_ops = {
	.mono_ms = uvc_mono_ms,
	.wall_s = uvc_wall_s,
	.timer_start = uvc_timer_start,
	.timer_stop = uvc_timer_stop,
};

/*
 * The failover machine's clock: worker threads feed it passive outcomes and
 * read its token bucket, so its mono_ms must not read another loop's
 * uv_now(). Timers still belong to the loop's own thread (the machine arms
 * them only there); they are relative, so the two time bases may differ.
 */
static const struct ost_clock_ops uv_hr_clock_ops = {
	.mono_ms = uvc_hr_mono_ms,
	.wall_s = uvc_wall_s,
	.timer_start = uvc_timer_start,
	.timer_stop = uvc_timer_stop,
};

void ost_uv_clock_init_hr(struct ost_uv_clock *c, uv_loop_t *loop)
{
	ost_uv_clock_init(c, loop);
	c->clock.ops = &uv_hr_clock_ops;
}

void ost_uv_clock_init(struct ost_uv_clock *c, uv_loop_t *loop)
{
	c->clock.ops = &uv_clock_ops;
	c->clock.ctx = c;
	c->loop = loop;
	c->armed = NULL;
}

void ost_uv_clock_deinit(struct ost_uv_clock *c)
{
	while (c->armed)
		uvc_timer_stop(c, c->armed);
}
