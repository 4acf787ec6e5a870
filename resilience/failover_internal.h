/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The failover machine's private state and the helpers its files share:
 * failover.c (the transition table and the machine), failover_detect.c (the
 * probe and passive feeds and the evaluation that turns them into events),
 * failover_mirror.c (the mirror horizons), failover_log.c (the JSON records
 * of transitions and extensions) and failover_status.c (status, metrics and
 * evidence writers).
 */
#ifndef OSTROV_RESILIENCE_FAILOVER_INTERNAL_H
#define OSTROV_RESILIENCE_FAILOVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ostrov/failover.h"

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
	/* The settings ost_fo_policy() reads for every client question without the
	 * lock: copies of cfg's fields, stored again by ost_fo_set_config(). */
	_Atomic uint32_t pol_client_timer_ms;
	_Atomic uint32_t pol_stale_normal_s;
	_Atomic uint32_t pol_stale_isolated_s;

	struct ost_fo_window windows[OST_FO_EVIDENCE]; /* newest first */
	unsigned n_windows;

	struct ost_fo_mirror mirrors[OST_FO_MAX_MIRRORS];
	unsigned n_mirrors;

	double tokens; /* recheck token bucket */
	uint64_t tokens_at_ms;

	struct listener listeners[OST_FO_MAX_LISTENERS];
};

/** Log names of the events, indexed by enum ost_fo_event. */
extern const char *const fo_event_names[OST_FO_EV_COUNT];

/** Log names of the states and classes, indexed by their enums. */
extern const char *const fo_state_names[OST_FO_STATE_COUNT];
extern const char *const fo_class_names[OST_FO_CLASS_COUNT];

/** @return true when the transition table has an edge @p from -> @p to (from != to) */
bool fo_has_edge(int from, int to);

/** Write the evidence object (windows newest first, mirrors) of a transition record. */
void fo_write_evidence(const struct ost_fo_window *w, unsigned n_w, const struct ost_fo_mirror *m,
		       unsigned n_m, struct ost_buf *b);

/**
 * Compute the window ending at @p now from the buckets (lock held).
 * @param fo the machine
 * @param now mono ms
 * @param w filled
 */
void fo_window_compute(struct ost_fo *fo, uint64_t now, struct ost_fo_window *w);

/**
 * Update the consecutive-evaluation counters from @p w and decide which event
 * the current state calls for (lock held).
 * @param fo the machine
 * @param w the newest window
 * @param wall wall seconds now
 * @return the event, or OST_FO_EV_COUNT for none
 */
enum ost_fo_event fo_decide(struct ost_fo *fo, const struct ost_fo_window *w, int64_t wall);

/** @return the mirror of @p zone (case-insensitive), or NULL (lock held) */
struct ost_fo_mirror *fo_mirror_find(struct ost_fo *fo, const char *zone);

/** @return how the copy @p m may be used at wall time @p now (lock held) */
enum ost_fo_mirror_use fo_mirror_use(const struct ost_fo *fo, const struct ost_fo_mirror *m,
				     int64_t now);

/** @return true when a verified mirror is past its deadline or horizon at @p now (lock held) */
bool fo_is_mirror_expired(const struct ost_fo *fo, int64_t now);

/**
 * Write the reason of the transition @p ev causes (the thresholds that held).
 * @param fo the machine (lock held)
 * @param ev the event
 * @param buf filled, NUL-terminated
 * @param cap its size
 */
void fo_reason_text(const struct ost_fo *fo, enum ost_fo_event ev, char *buf, size_t cap);

/**
 * Log the JSON record of the transition @p from -> @p next (standards.md §7.4),
 * after the machine's counters and last_reason were updated (lock held).
 * @param fo the machine
 * @param from the state left
 * @param next the state entered
 * @param ev the event
 * @param operator_name the operator who caused it, or NULL
 * @param now mono ms
 * @param wall wall seconds
 */
void fo_log_transition(const struct ost_fo *fo, enum ost_fo_state from, enum ost_fo_state next,
		       enum ost_fo_event ev, const char *operator_name, uint64_t now, int64_t wall);

/**
 * Log the JSON record of an operator's mirror extension (lock held).
 * @param fo the machine
 * @param m the mirror, already extended
 * @param now wall seconds now
 * @param end the extension's end
 * @param duration_s the duration asked for
 * @param operator_name the operator, or NULL
 */
void fo_log_extend(const struct ost_fo *fo, const struct ost_fo_mirror *m, int64_t now, int64_t end,
		   uint32_t duration_s, const char *operator_name);

#endif
