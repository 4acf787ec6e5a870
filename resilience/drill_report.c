/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Isolation drills, part 2: the report collector and the report
 * (standards.md §8): answered share for national and foreign names, answers
 * by source, SERVFAIL by EDE, latency percentiles, time to detect and to
 * recover (taken from the failover machine's transitions), mirror horizons at
 * start and end, and pass/fail against the configured targets, as a text
 * table for people or one JSON object for scripts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ostrov/log.h"

#include "drill_internal.h"

/*
 * ---------------------------------------------------------------------------
 * Latency histogram
 * ---------------------------------------------------------------------------
 */

/*
 * Log-linear buckets (as HdrHistogram with 5 significant bits): values below
 * 64 µs are exact; above, each power of two is split into 32 buckets, so a
 * percentile is reported within 1/32 (3.1 %) of the true value in constant
 * memory, whatever the drill's length.
 */
static unsigned hist_index(uint64_t v)
{
	if (v < 64)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - 5;
	return 64 + (shift - 1) * 32 + (unsigned)((v >> shift) - 32);
}

static uint64_t hist_value(unsigned idx)
{
	if (idx < 64)
		return idx;
	unsigned shift = (idx - 64) / 32 + 1;
	return (uint64_t)((idx - 64) % 32 + 32) << shift;
}

void hist_add(struct hist *h, uint64_t v)
{
	unsigned i = hist_index(v);
	if (i >= HIST_BUCKETS)
		i = HIST_BUCKETS - 1;
	h->b[i]++;
	h->n++;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	if (!h->n)
		return 0;
	/* the smallest value with at least ceil(q * n) samples at or below it */
	uint64_t rank = (uint64_t)(q * (double)h->n);
	if ((double)rank < q * (double)h->n)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank)
			return hist_value(i);
	}
	return hist_value(HIST_BUCKETS - 1);
}

/*
 * ---------------------------------------------------------------------------
 * Collector
 * ---------------------------------------------------------------------------
 */

void drill_collector_reset(struct ost_drill *d)
{
	memset(d->queries, 0, sizeof(d->queries));
	memset(d->answered, 0, sizeof(d->answered));
	memset(d->by_source, 0, sizeof(d->by_source));
	d->servfail = 0;
	memset(d->servfail_by_ede, 0, sizeof(d->servfail_by_ede));
	d->stale_unflagged = 0;
	memset(&d->lat, 0, sizeof(d->lat));
	memset(&d->win_lat, 0, sizeof(d->win_lat));
	d->win_n = d->win_servfail = 0;
	d->to_degraded_ms = d->to_isolated_ms = d->to_recovered_ms = -1;
	d->has_left_normal = false;
	d->n_m_start = d->n_m_end = 0;
	memset(d->sent, 0, sizeof(d->sent));
	memset(d->cut, 0, sizeof(d->cut));
	d->tampered = 0;
	d->mirror_rejected = d->mirror_accepted = 0;
}

unsigned drill_mirrors_snapshot(struct ost_drill *d, struct ost_drill_horizon *out)
{
	struct ost_fo_status *st = malloc(sizeof(*st));
	if (!st)
		return 0;
	ost_fo_status(d->fo, st);
	int64_t now = ost_clock_wall_s(d->clock);
	unsigned n = 0;
	for (unsigned i = 0; i < st->n_mirrors && n < OST_DRILL_MAX_MIRRORS; i++, n++) {
		snprintf(out[n].zone, sizeof(out[n].zone), "%s", st->mirrors[i].zone);
		out[n].soa_left_s = st->mirrors[i].soa_expire_deadline - now;
		out[n].rrsig_left_s = st->mirrors[i].rrsig_horizon - now;
	}
	free(st);
	return n;
}

/* Detection is measured from the drill's start, recovery from its stop (standards.md §8). */
void drill_on_transition(const struct ost_fo_transition *t, void *arg)
{
	struct ost_drill *d = arg;
	pthread_mutex_lock(&d->lock);
	if (d->is_running) {
		int64_t since = (int64_t)(t->mono_ms - d->start_ms);
		if (t->from == OST_FO_NORMAL)
			d->has_left_normal = true;
		if (t->to == OST_FO_DEGRADED && d->to_degraded_ms < 0)
			d->to_degraded_ms = since;
		if (t->to == OST_FO_ISOLATED && d->to_isolated_ms < 0)
			d->to_isolated_ms = since;
	} else if (d->has_run && d->has_left_normal && t->to == OST_FO_NORMAL &&
		   d->to_recovered_ms < 0) {
		d->to_recovered_ms = (int64_t)(t->mono_ms - d->stop_ms);
	}
	pthread_mutex_unlock(&d->lock);
}

void ost_drill_record_answer(struct ost_drill *d, enum ost_fo_name_class name_class,
			     enum ost_drill_source src, uint8_t rcode, int ede, uint64_t latency_us)
{
	if ((unsigned)name_class >= OST_FO_NAME_CLASS_COUNT || (unsigned)src >= OST_DRILL_SRC_COUNT)
		return;
	/* every answer of every worker comes here: no lock unless a drill runs */
	if (!atomic_load(&d->is_running_hint))
		return;
	pthread_mutex_lock(&d->lock);
	if (!d->is_running) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	d->queries[name_class]++;
	/* answered: NOERROR (0) or NXDOMAIN (3) */
	if (rcode == 0 || rcode == 3)
		d->answered[name_class]++;
	if (src == OST_DRILL_SRC_UNSEEN)
		d->unseen[name_class]++;
	d->by_source[src]++;
	if (rcode == 2) {
		d->servfail++;
		d->win_servfail++;
		d->servfail_by_ede[ede >= 0 && ede < 32 ? ede : 32]++;
	}
	if (src == OST_DRILL_SRC_STALE && ede != 3 && ede != 19)
		d->stale_unflagged++;
	hist_add(&d->lat, latency_us);
	hist_add(&d->win_lat, latency_us);
	d->win_n++;
	pthread_mutex_unlock(&d->lock);
}

void ost_drill_note_mirror_verify(struct ost_drill *d, const char *zone, bool is_accepted)
{
	pthread_mutex_lock(&d->lock);
	if (d->has_run && d->profile == OST_DRILL_POISONED_SOURCE && d->tampered) {
		if (is_accepted)
			d->mirror_accepted++;
		else
			d->mirror_rejected++;
		ost_log(is_accepted ? OST_LOG_ERR : OST_LOG_INFO, "drill",
			"mirror verdict after tampering zone=%s accepted=%s", zone ? zone : "?",
			is_accepted ? "yes" : "no");
	}
	pthread_mutex_unlock(&d->lock);
}

/*
 * ---------------------------------------------------------------------------
 * Report
 * ---------------------------------------------------------------------------
 */

static void check(struct ost_drill_report *r, int i, const char *name, enum ost_drill_verdict v,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void check(struct ost_drill_report *r, int i, const char *name, enum ost_drill_verdict v,
		  const char *fmt, ...)
{
	r->checks[i].name = name;
	r->checks[i].verdict = v;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->checks[i].detail, sizeof(r->checks[i].detail), fmt, ap);
	va_end(ap);
}

static void share_check(struct ost_drill_report *r, int i, const char *name, uint64_t answered,
			uint64_t queries, double target)
{
	if (!queries) {
		check(r, i, name, OST_DRILL_NA, "no answers recorded");
		return;
	}
	double s = (double)answered / (double)queries;
	check(r, i, name, s >= target ? OST_DRILL_PASS : OST_DRILL_FAIL, "%.4f (target >= %.4f)", s,
	      target);
}

/* Time to detect: @p state reached @p ms after the start (negative: not yet). */
static void detect_check(struct ost_drill_report *r, const char *state, int64_t ms,
			 uint32_t target_ms)
{
	if (ms < 0)
		check(r, 2, "time to detect", r->is_running ? OST_DRILL_PENDING : OST_DRILL_FAIL,
		      "%s not reached (target <= %u ms)", state, target_ms);
	else
		check(r, 2, "time to detect",
		      ms <= (int64_t)target_ms ? OST_DRILL_PASS : OST_DRILL_FAIL,
		      "%s after %lld ms (target <= %u ms)", state, (long long)ms, target_ms);
}

static void judge(const struct ost_drill *d, struct ost_drill_report *r)
{
	const struct ost_drill_config *c = &d->cfg;
	/* Of the names a resolver could answer: a never-seen foreign name
	 * refused at once while isolated is the designed answer, not a miss. */
	share_check(r, 0, "national answered share", r->answered[OST_FO_NAME_NATIONAL],
		    r->queries[OST_FO_NAME_NATIONAL] - r->unseen[OST_FO_NAME_NATIONAL],
		    c->target_national_answered);
	share_check(r, 1, "foreign answered share", r->answered[OST_FO_NAME_FOREIGN],
		    r->queries[OST_FO_NAME_FOREIGN] - r->unseen[OST_FO_NAME_FOREIGN],
		    c->target_foreign_answered);

	/* What "detected" means depends on what the profile takes away. */
	switch (r->profile) {
	case OST_DRILL_FOREIGN_CUT:
		detect_check(r, "ISOLATED", r->to_isolated_ms, c->target_detect_ms);
		break;
	case OST_DRILL_TLD_CUT:
		detect_check(r, "DEGRADED", r->to_degraded_ms, c->target_detect_ms);
		break;
	case OST_DRILL_FOREIGN_LOSS:
		check(r, 2, "no false isolation",
		      r->to_isolated_ms < 0 ? OST_DRILL_PASS : OST_DRILL_FAIL,
		      r->to_isolated_ms < 0 ? "stayed out of ISOLATED" : "ISOLATED after %lld ms",
		      (long long)r->to_isolated_ms);
		break;
	default:
		check(r, 2, "time to detect", OST_DRILL_NA, "not applicable");
	}

	if (!r->has_left_normal)
		check(r, 3, "time to recover", OST_DRILL_NA, "never left NORMAL");
	else if (r->is_running || r->to_recovered_ms < 0)
		check(r, 3, "time to recover", OST_DRILL_PENDING, "not back in NORMAL yet");
	else
		check(r, 3, "time to recover",
		      r->to_recovered_ms <= (int64_t)c->target_recover_ms ? OST_DRILL_PASS
									  : OST_DRILL_FAIL,
		      "NORMAL %lld ms after stop (target <= %u ms)", (long long)r->to_recovered_ms,
		      c->target_recover_ms);

	check(r, 4, "no unflagged stale answers",
	      r->stale_unflagged ? OST_DRILL_FAIL : OST_DRILL_PASS, "%llu without EDE 3/19",
	      (unsigned long long)r->stale_unflagged);

	bool is_abort = strncmp(r->stop_reason, "abort", 5) == 0;
	check(r, 5, "abort guard not triggered", is_abort ? OST_DRILL_FAIL : OST_DRILL_PASS, "%s",
	      is_abort ? r->stop_reason : "ok");

	if (r->profile != OST_DRILL_POISONED_SOURCE)
		check(r, 6, "tampered mirror refused", OST_DRILL_NA, "not applicable");
	else if (!r->tampered || (!r->mirror_rejected && !r->mirror_accepted))
		check(r, 6, "tampered mirror refused",
		      r->is_running ? OST_DRILL_PENDING : OST_DRILL_FAIL,
		      "%u messages tampered, no verdict reported", r->tampered);
	else
		check(r, 6, "tampered mirror refused",
		      r->mirror_accepted ? OST_DRILL_FAIL : OST_DRILL_PASS,
		      "%u refused, %u accepted", r->mirror_rejected, r->mirror_accepted);

	r->is_pass = true;
	for (int i = 0; i < OST_DRILL_CHECKS; i++)
		if (r->checks[i].verdict == OST_DRILL_FAIL ||
		    r->checks[i].verdict == OST_DRILL_PENDING)
			r->is_pass = false;
}

int ost_drill_report_get(struct ost_drill *d, struct ost_drill_report *r)
{
	pthread_mutex_lock(&d->lock);
	if (!d->has_run) {
		pthread_mutex_unlock(&d->lock);
		return -ENOENT;
	}
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", d->id);
	r->profile = d->profile;
	r->is_running = d->is_running;
	snprintf(r->stop_reason, sizeof(r->stop_reason), "%s", d->stop_reason);
	r->started_wall = d->start_wall;
	r->stopped_wall = d->stop_wall;
	r->duration_ms = (d->is_running ? ost_clock_mono_ms(d->clock) : d->stop_ms) - d->start_ms;
	memcpy(r->queries, d->queries, sizeof(r->queries));
	memcpy(r->answered, d->answered, sizeof(r->answered));
	memcpy(r->unseen, d->unseen, sizeof(r->unseen));
	memcpy(r->by_source, d->by_source, sizeof(r->by_source));
	r->servfail = d->servfail;
	memcpy(r->servfail_by_ede, d->servfail_by_ede, sizeof(r->servfail_by_ede));
	r->stale_unflagged = d->stale_unflagged;
	const double q[4] = {0.5, 0.9, 0.99, 0.999};
	for (int i = 0; i < 4; i++)
		r->lat_us[i] = hist_quantile(&d->lat, q[i]);
	r->to_degraded_ms = d->to_degraded_ms;
	r->to_isolated_ms = d->to_isolated_ms;
	r->to_recovered_ms = d->to_recovered_ms;
	r->has_left_normal = d->has_left_normal;
	for (unsigned i = 0; i < d->n_m_start; i++) {
		snprintf(r->mirrors_start[i].zone, sizeof(r->mirrors_start[i].zone), "%s",
			 d->m_start[i].zone);
		r->mirrors_start[i].soa_left_s = d->m_start[i].soa_left_s;
		r->mirrors_start[i].rrsig_left_s = d->m_start[i].rrsig_left_s;
	}
	r->n_mirrors_start = d->n_m_start;
	/* while running, "end" is now */
	struct ost_drill_horizon now_m[OST_DRILL_MAX_MIRRORS];
	const struct ost_drill_horizon *end = d->m_end;
	unsigned n_end = d->n_m_end;
	if (d->is_running) {
		n_end = drill_mirrors_snapshot(d, now_m);
		end = now_m;
	}
	for (unsigned i = 0; i < n_end; i++) {
		snprintf(r->mirrors_end[i].zone, sizeof(r->mirrors_end[i].zone), "%.255s",
			 end[i].zone);
		r->mirrors_end[i].soa_left_s = end[i].soa_left_s;
		r->mirrors_end[i].rrsig_left_s = end[i].rrsig_left_s;
	}
	r->n_mirrors_end = n_end;
	memcpy(r->sent, d->sent, sizeof(r->sent));
	memcpy(r->cut, d->cut, sizeof(r->cut));
	r->tampered = d->tampered;
	r->mirror_rejected = d->mirror_rejected;
	r->mirror_accepted = d->mirror_accepted;
	judge(d, r);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static const char *verdict_str(enum ost_drill_verdict v)
{
	static const char *const names[] = {"PASS", "FAIL", "PENDING", "n/a"};
	return (unsigned)v < 4 ? names[v] : "?";
}

static const char *const name_class_str[OST_FO_NAME_CLASS_COUNT] = {"root", "national", "foreign"};

static const char *const source_names[OST_DRILL_SRC_COUNT] = {
	"mirror", "cache", "stale", "national", "foreign", "local", "unseen"};

const char *ost_drill_source_str(enum ost_drill_source s)
{
	return (unsigned)s < OST_DRILL_SRC_COUNT ? source_names[s] : "?";
}

static void write_ms(struct ost_buf *b, int64_t ms)
{
	if (ms < 0)
		ost_buf_printf(b, "null");
	else
		ost_buf_printf(b, "%lld", (long long)ms);
}

static void write_json(const struct ost_drill_report *r, struct ost_buf *b)
{
	ost_buf_printf(b, "{\"id\":");
	ost_buf_json_str(b, r->id);
	ost_buf_printf(b, ",\"profile\":\"%s\",\"running\":%s,\"stop_reason\":",
		       ost_drill_profile_str(r->profile), r->is_running ? "true" : "false");
	ost_buf_json_str(b, r->stop_reason[0] ? r->stop_reason : NULL);
	ost_buf_printf(b, ",\"started\":%lld,\"stopped\":%lld,\"duration_ms\":%llu,\"names\":{",
		       (long long)r->started_wall, (long long)r->stopped_wall,
		       (unsigned long long)r->duration_ms);
	for (int c = 0; c < OST_FO_NAME_CLASS_COUNT; c++) {
		uint64_t could = r->queries[c] - r->unseen[c];
		double s = could ? (double)r->answered[c] / (double)could : 0;
		ost_buf_printf(b,
			       "%s\"%s\":{\"queries\":%llu,\"answered\":%llu,\"unseen\":%llu,"
			       "\"share\":",
			       c ? "," : "", name_class_str[c], (unsigned long long)r->queries[c],
			       (unsigned long long)r->answered[c],
			       (unsigned long long)r->unseen[c]);
		if (could)
			ost_buf_printf(b, "%.6f}", s);
		else
			ost_buf_printf(b, "null}");
	}
	ost_buf_printf(b, "},\"sources\":{");
	for (int s = 0; s < OST_DRILL_SRC_COUNT; s++)
		ost_buf_printf(b, "%s\"%s\":%llu", s ? "," : "", source_names[s],
			       (unsigned long long)r->by_source[s]);
	ost_buf_printf(b, "},\"servfail\":%llu,\"servfail_by_ede\":{",
		       (unsigned long long)r->servfail);
	bool first = true;
	for (int e = 0; e < OST_DRILL_EDE_SLOTS; e++) {
		if (!r->servfail_by_ede[e])
			continue;
		if (e == 32)
			ost_buf_printf(b, "%s\"none\":%llu", first ? "" : ",",
				       (unsigned long long)r->servfail_by_ede[e]);
		else
			ost_buf_printf(b, "%s\"%d\":%llu", first ? "" : ",", e,
				       (unsigned long long)r->servfail_by_ede[e]);
		first = false;
	}
	ost_buf_printf(b,
		       "},\"stale_unflagged\":%llu,\"latency_us\":{\"p50\":%llu,\"p90\":%llu,"
		       "\"p99\":%llu,\"p99.9\":%llu},\"time_to_degraded_ms\":",
		       (unsigned long long)r->stale_unflagged, (unsigned long long)r->lat_us[0],
		       (unsigned long long)r->lat_us[1], (unsigned long long)r->lat_us[2],
		       (unsigned long long)r->lat_us[3]);
	write_ms(b, r->to_degraded_ms);
	ost_buf_printf(b, ",\"time_to_isolated_ms\":");
	write_ms(b, r->to_isolated_ms);
	ost_buf_printf(b, ",\"time_to_recover_ms\":");
	write_ms(b, r->to_recovered_ms);
	for (int pass = 0; pass < 2; pass++) {
		unsigned n = pass ? r->n_mirrors_end : r->n_mirrors_start;
		ost_buf_printf(b, ",\"mirrors_%s\":[", pass ? "end" : "start");
		for (unsigned i = 0; i < n; i++) {
			const struct ost_drill_horizon *m =
				pass ? &r->mirrors_end[i] : &r->mirrors_start[i];
			ost_buf_printf(b, "%s{\"zone\":", i ? "," : "");
			ost_buf_json_str(b, m->zone);
			ost_buf_printf(b, ",\"soa_expire_in_s\":%lld,\"rrsig_horizon_in_s\":%lld}",
				       (long long)m->soa_left_s, (long long)m->rrsig_left_s);
		}
		ost_buf_printf(b, "]");
	}
	ost_buf_printf(b, ",\"upstream\":{");
	for (int c = 0; c < OST_DEST_CLASS_COUNT; c++)
		ost_buf_printf(b, "%s\"%s\":{\"sent\":%llu,\"cut\":%llu}", c ? "," : "",
			       ost_dest_class_str((enum ost_dest_class)c),
			       (unsigned long long)r->sent[c], (unsigned long long)r->cut[c]);
	ost_buf_printf(b, "},\"tampered\":%u,\"checks\":[", r->tampered);
	for (int i = 0; i < OST_DRILL_CHECKS; i++) {
		ost_buf_printf(b, "%s{\"name\":", i ? "," : "");
		ost_buf_json_str(b, r->checks[i].name);
		ost_buf_printf(
			b, ",\"verdict\":\"%s\",\"detail\":", verdict_str(r->checks[i].verdict));
		ost_buf_json_str(b, r->checks[i].detail);
		ost_buf_printf(b, "}");
	}
	ost_buf_printf(b, "],\"pass\":%s}", r->is_pass ? "true" : "false");
}

static void write_text(const struct ost_drill_report *r, struct ost_buf *b)
{
	ost_buf_printf(b, "drill %s  profile %s  %s  %.1f s\n", r->id,
		       ost_drill_profile_str(r->profile), r->is_running ? "RUNNING" : "stopped",
		       (double)r->duration_ms / 1000.0);
	if (r->stop_reason[0])
		ost_buf_printf(b, "stopped by: %s\n", r->stop_reason);
	/* unseen: never-seen names refused at once while isolated; the share
	 * is of the other queries */
	ost_buf_printf(b, "\n%-10s %10s %10s %10s %9s\n", "names", "queries", "unseen", "answered",
		       "share");
	for (int c = 0; c < OST_FO_NAME_CLASS_COUNT; c++) {
		uint64_t could = r->queries[c] - r->unseen[c];
		if (could)
			ost_buf_printf(b, "%-10s %10llu %10llu %10llu %8.3f%%\n", name_class_str[c],
				       (unsigned long long)r->queries[c],
				       (unsigned long long)r->unseen[c],
				       (unsigned long long)r->answered[c],
				       100.0 * (double)r->answered[c] / (double)could);
		else
			ost_buf_printf(b, "%-10s %10llu %10llu %10s %9s\n", name_class_str[c],
				       (unsigned long long)r->queries[c],
				       (unsigned long long)r->unseen[c], "0", "-");
	}
	ost_buf_printf(b, "\n%-10s %10s\n", "source", "answers");
	for (int s = 0; s < OST_DRILL_SRC_COUNT; s++)
		ost_buf_printf(b, "%-10s %10llu\n", source_names[s],
			       (unsigned long long)r->by_source[s]);
	ost_buf_printf(b, "\nSERVFAIL   %10llu\n", (unsigned long long)r->servfail);
	for (int e = 0; e < OST_DRILL_EDE_SLOTS; e++) {
		if (!r->servfail_by_ede[e])
			continue;
		if (e == 32)
			ost_buf_printf(b, "  no EDE   %10llu\n",
				       (unsigned long long)r->servfail_by_ede[e]);
		else
			ost_buf_printf(b, "  EDE %-4d %10llu\n", e,
				       (unsigned long long)r->servfail_by_ede[e]);
	}
	ost_buf_printf(b, "\nlatency    p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms\n",
		       r->lat_us[0] / 1000.0, r->lat_us[1] / 1000.0, r->lat_us[2] / 1000.0,
		       r->lat_us[3] / 1000.0);
	ost_buf_printf(b, "detect     ");
	if (r->to_degraded_ms >= 0)
		ost_buf_printf(b, "DEGRADED after %.1f s  ", r->to_degraded_ms / 1000.0);
	else
		ost_buf_printf(b, "DEGRADED -  ");
	if (r->to_isolated_ms >= 0)
		ost_buf_printf(b, "ISOLATED after %.1f s\n", r->to_isolated_ms / 1000.0);
	else
		ost_buf_printf(b, "ISOLATED -\n");
	if (r->to_recovered_ms >= 0)
		ost_buf_printf(b, "recover    NORMAL %.1f s after stop\n",
			       r->to_recovered_ms / 1000.0);
	else
		ost_buf_printf(b, "recover    %s\n",
			       r->has_left_normal ? "pending" : "not needed (stayed NORMAL)");
	for (unsigned i = 0; i < r->n_mirrors_start || i < r->n_mirrors_end; i++) {
		const char *zone =
			i < r->n_mirrors_start ? r->mirrors_start[i].zone : r->mirrors_end[i].zone;
		ost_buf_printf(b, "mirror %-8s ", zone);
		if (i < r->n_mirrors_start)
			ost_buf_printf(b, "start: SOA expire in %lld s, RRSIG horizon in %lld s  ",
				       (long long)r->mirrors_start[i].soa_left_s,
				       (long long)r->mirrors_start[i].rrsig_left_s);
		if (i < r->n_mirrors_end)
			ost_buf_printf(b, "end: SOA expire in %lld s, RRSIG horizon in %lld s",
				       (long long)r->mirrors_end[i].soa_left_s,
				       (long long)r->mirrors_end[i].rrsig_left_s);
		ost_buf_printf(b, "\n");
	}
	ost_buf_printf(b, "upstream  ");
	for (int c = 0; c < OST_DEST_CLASS_COUNT; c++)
		if (r->sent[c])
			ost_buf_printf(b, " %s %llu sent/%llu cut",
				       ost_dest_class_str((enum ost_dest_class)c),
				       (unsigned long long)r->sent[c],
				       (unsigned long long)r->cut[c]);
	if (r->profile == OST_DRILL_POISONED_SOURCE)
		ost_buf_printf(b, "  tampered messages %u", r->tampered);
	ost_buf_printf(b, "\n\n%-30s %-8s %s\n", "check", "verdict", "detail");
	for (int i = 0; i < OST_DRILL_CHECKS; i++)
		ost_buf_printf(b, "%-30s %-8s %s\n", r->checks[i].name,
			       verdict_str(r->checks[i].verdict), r->checks[i].detail);
	ost_buf_printf(b, "\nresult: %s\n", r->is_pass ? "PASS" : "FAIL");
}

int ost_drill_report_write(struct ost_drill *d, bool is_json, struct ost_buf *b)
{
	struct ost_drill_report *r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	int rc = ost_drill_report_get(d, r);
	if (rc == 0) {
		if (is_json)
			write_json(r, b);
		else
			write_text(r, b);
		rc = b->has_oom ? -ENOMEM : 0;
	}
	free(r);
	return rc;
}
