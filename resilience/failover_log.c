/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The failover machine's log records (standards.md §7.4): one JSON line per
 * state transition, with the reason (the thresholds that held), the evidence
 * (the last windows and the mirrors) and who caused it, and one per operator
 * extension of a mirror past its deadline. Both are written with the
 * machine's lock held, so a record always matches the counters it reports.
 */
#include <stdio.h>
#include <time.h>

#include "ostrov/log.h"

#include "failover_internal.h"

static void iso_time(int64_t wall, char *buf, size_t cap)
{
	struct tm tm;
	time_t t = (time_t)wall;
	if (!gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%lld", (long long)wall);
}

void fo_reason_text(const struct ost_fo *fo, enum ost_fo_event ev, char *buf, size_t cap)
{
	const struct ost_fo_config *c = &fo->cfg;
	switch (ev) {
	case OST_FO_EV_DEGRADE:
		snprintf(buf, cap,
			 "R_root<%.2f or R_foreign<%.2f or passive foreign failure>%.2f for %u "
			 "evaluations",
			 c->degrade_below, c->degrade_below, c->degrade_passive_above,
			 c->degrade_evals);
		break;
	case OST_FO_EV_ISOLATE_DETECTED:
		snprintf(buf, cap, "R_root<=%.2f and R_foreign<=%.2f for %u evaluations",
			 c->isolate_root_max, c->isolate_foreign_max, c->isolate_evals);
		break;
	case OST_FO_EV_REACHABLE:
		snprintf(buf, cap, "R_root>=%.2f and R_foreign>=%.2f for %u evaluations",
			 c->reachable_min, c->reachable_min, c->reachable_evals);
		break;
	case OST_FO_EV_HEALTHY:
		snprintf(buf, cap,
			 "R_root>=%.2f and R_foreign>=%.2f and passive failure<=%.2f for %u "
			 "evaluations",
			 c->healthy_min, c->healthy_min, c->healthy_passive_max,
			 fo->state == OST_FO_RECOVERING ? c->recovered_evals : c->healthy_evals);
		break;
	case OST_FO_EV_MIRROR_EXPIRED:
		snprintf(buf, cap, "a mirror passed its SOA expire deadline or RRSIG horizon - %us",
			 c->rrsig_margin_s);
		break;
	case OST_FO_EV_MIRROR_FRESH:
		snprintf(buf, cap, "every mirror refreshed and verified");
		break;
	case OST_FO_EV_MIRROR_READY:
		snprintf(buf, cap, "mirrors verified at start");
		break;
	case OST_FO_EV_MIRROR_FAILED:
		snprintf(buf, cap, "mirror verification failed at start");
		break;
	case OST_FO_EV_OP_ISOLATE:
		snprintf(buf, cap, "operator isolate");
		break;
	case OST_FO_EV_OP_UNISOLATE:
		snprintf(buf, cap, "operator unisolate");
		break;
	default:
		snprintf(buf, cap, "?");
	}
}

/* The end of every record: who asked, the drill it belongs to; then it is logged. */
static void finish_record(const struct ost_fo *fo, struct ost_buf *b, const char *operator_name)
{
	ost_buf_printf(b, ",\"operator\":");
	ost_buf_json_str(b, operator_name);
	ost_buf_printf(b, ",\"drill_id\":");
	ost_buf_json_str(b, fo->drill_id[0] ? fo->drill_id : NULL);
	ost_buf_printf(b, "}");
	if (!b->has_oom)
		ost_log_json(ost_buf_str(b));
	ost_buf_deinit(b);
}

void fo_log_transition(const struct ost_fo *fo, enum ost_fo_state from, enum ost_fo_state next,
		       enum ost_fo_event ev, const char *operator_name, uint64_t now, int64_t wall)
{
	struct ost_buf b = {0};
	char ts[32];

	iso_time(wall, ts, sizeof(ts));
	ost_buf_printf(&b,
		       "{\"ts\":\"%s\",\"mono_ms\":%llu,\"mod\":\"failover\",\"event\":"
		       "\"state_transition\",\"from\":\"%s\",\"to\":\"%s\",\"trigger\":\"%s\","
		       "\"reason\":",
		       ts, (unsigned long long)now, fo_state_names[from], fo_state_names[next],
		       fo_event_names[ev]);
	ost_buf_json_str(&b, fo->last_reason);
	ost_buf_printf(&b, ",\"count\":%llu,\"evidence\":",
		       (unsigned long long)fo->transitions[from][next]);
	fo_write_evidence(fo->windows, fo->n_windows, fo->mirrors, fo->n_mirrors, &b);
	finish_record(fo, &b, operator_name);
}

void fo_log_extend(const struct ost_fo *fo, const struct ost_fo_mirror *m, int64_t now, int64_t end,
		   uint32_t duration_s, const char *operator_name)
{
	struct ost_buf b = {0};
	char ts[32];

	iso_time(now, ts, sizeof(ts));
	ost_buf_printf(
		&b,
		"{\"ts\":\"%s\",\"mod\":\"failover\",\"event\":\"mirror_extend\",\"zone\":", ts);
	ost_buf_json_str(&b, m->zone);
	ost_buf_printf(&b,
		       ",\"serial\":%u,\"start\":%lld,\"end\":%lld,\"requested_s\":%u,"
		       "\"clamped_to_rrsig_horizon\":%s,\"soa_expire_deadline\":%lld,"
		       "\"rrsig_horizon\":%lld,\"state\":\"%s\"",
		       m->serial, (long long)now, (long long)end, duration_s,
		       end < now + (int64_t)duration_s ? "true" : "false",
		       (long long)m->soa_expire_deadline, (long long)m->rrsig_horizon,
		       fo_state_names[fo->state]);
	finish_record(fo, &b, operator_name);
}
