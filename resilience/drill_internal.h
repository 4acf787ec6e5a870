/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private state of the drill controller, shared by drill.c (transport
 * wrapper, life cycle, abort guard) and drill_report.c (collector, report).
 */
#ifndef OSTROV_RESILIENCE_DRILL_INTERNAL_H
#define OSTROV_RESILIENCE_DRILL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "ostrov/drill.h"

/** Log-linear latency histogram: exact below 64 µs, 32 sub-buckets per octave above. */
#define HIST_BUCKETS 1920

struct hist {
	uint64_t n;
	uint64_t b[HIST_BUCKETS];
};

void hist_add(struct hist *h, uint64_t v);
/** @return the value at quantile @p q (0..1), the lower bound of its bucket; 0 when empty */
uint64_t hist_quantile(const struct hist *h, double q);

struct drill_pending;

/** One face of the wrapper: its own real transport and clock (one per worker loop). */
struct drill_face {
	struct ost_transport tp;
	struct ost_drill *d;
	const struct ost_transport *inner;
	const struct ost_clock *clock; /* simulated timeouts run on the face's loop */
	bool feeds_passive;
	struct drill_face *next; /* extra faces, heap-allocated */
};


struct ost_drill {
	struct ost_drill_config cfg;
	const struct ost_clock *clock;
	const struct ost_transport *inner;
	struct ost_fo *fo;
	pthread_mutex_t lock;
	uint64_t rng;
	struct drill_face faces[2];     /* resolver and probe faces over @p inner */
	struct drill_face *extra_faces; /* ost_drill_add_face() */
	struct drill_pending *pending;

	/* the current or last drill */
	bool has_run;
	bool is_running;
	_Atomic bool is_running_hint; /* lock-free copy for ost_drill_record_answer() */
	enum ost_drill_profile profile;
	char id[64];
	char stop_reason[128];
	uint64_t start_ms, stop_ms;
	int64_t start_wall, stop_wall;
	bool is_poison_pending;
	struct ost_timer *duration_timer;
	struct ost_timer *guard_timer;
	unsigned bad_windows;

	/* collector */
	uint64_t queries[OST_FO_NAME_CLASS_COUNT];
	uint64_t answered[OST_FO_NAME_CLASS_COUNT];
	uint64_t unseen[OST_FO_NAME_CLASS_COUNT];
	uint64_t by_source[OST_DRILL_SRC_COUNT];
	uint64_t servfail;
	uint64_t servfail_by_ede[OST_DRILL_EDE_SLOTS];
	uint64_t stale_unflagged;
	struct hist lat;
	struct hist win_lat;
	uint64_t win_n, win_servfail;
	int64_t to_degraded_ms, to_isolated_ms, to_recovered_ms;
	bool has_left_normal;
	struct ost_drill_horizon m_start[OST_DRILL_MAX_MIRRORS], m_end[OST_DRILL_MAX_MIRRORS];
	unsigned n_m_start, n_m_end;
	uint64_t sent[OST_DEST_CLASS_COUNT];
	uint64_t cut[OST_DEST_CLASS_COUNT];
	unsigned tampered;
	unsigned mirror_rejected, mirror_accepted;
};

/** Reset the collector for a new drill (lock held). */
void drill_collector_reset(struct ost_drill *d);
/** Snapshot the mirror horizons from the failover machine (lock held). */
unsigned drill_mirrors_snapshot(struct ost_drill *d, struct ost_drill_horizon *out);
/** Failover listener: detection and recovery times. */
void drill_on_transition(const struct ost_fo_transition *t, void *arg);

#endif
