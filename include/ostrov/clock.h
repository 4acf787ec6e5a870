/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file clock.h
 * The clock interface: the only way resolver/, cache/, zones/ and
 * resilience/ learn the time or wait for it.
 *
 * server/ implements it over libuv (uv_now, uv_timer_t) and the wall clock;
 * tests implement it with a pinned "now" that they move by hand, so DNSSEC
 * validity windows and TTLs are deterministic and no test sleeps.
 *
 * Example: the iterator sends a query and arms a 1,800 ms client-response
 * timer with ost_clock_timer_start(); the fake clock in a test fires it when
 * the test calls its advance function past that deadline.
 */
#ifndef OSTROV_CLOCK_H
#define OSTROV_CLOCK_H

#include <stdint.h>

struct ost_timer;

/** Called once when a timer expires; the timer is gone after the call. */
typedef void (*ost_timer_cb)(void *arg);

/** Operations a clock provides. */
struct ost_clock_ops {
	/** Monotonic milliseconds since an arbitrary origin. */
	uint64_t (*mono_ms)(void *ctx);
	/** Wall-clock seconds since the Unix epoch (DNSSEC windows, absolute expiry). */
	int64_t (*wall_s)(void *ctx);
	/** Arm a one-shot timer @p ms from now; NULL when out of memory. */
	struct ost_timer *(*timer_start)(void *ctx, uint64_t ms, ost_timer_cb cb, void *arg);
	/** Disarm a timer that has not fired; its callback is never called. */
	void (*timer_stop)(void *ctx, struct ost_timer *t);
};

/** A clock: operations plus their state. */
struct ost_clock {
	const struct ost_clock_ops *ops; /**< the operations */
	void *ctx;                       /**< passed to every operation */
};

/** @return monotonic milliseconds of @p c */
static inline uint64_t ost_clock_mono_ms(const struct ost_clock *c)
{
	return c->ops->mono_ms(c->ctx);
}

/** @return wall-clock seconds of @p c */
static inline int64_t ost_clock_wall_s(const struct ost_clock *c)
{
	return c->ops->wall_s(c->ctx);
}

/** Arm a one-shot timer on @p c. @return the timer or NULL */
static inline struct ost_timer *ost_clock_timer_start(const struct ost_clock *c, uint64_t ms,
						      ost_timer_cb cb, void *arg)
{
	return c->ops->timer_start(c->ctx, ms, cb, arg);
}

/** Disarm @p t on @p c (NULL is allowed). */
static inline void ost_clock_timer_stop(const struct ost_clock *c, struct ost_timer *t)
{
	if (t)
		c->ops->timer_stop(c->ctx, t);
}

#endif
