/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Status, metrics and evidence writers of the failover machine: the text and
 * JSON of `ostrovctl status`, the Prometheus lines of standards.md §7.3, and
 * the evidence object carried by every transition record (§7.4). They work
 * on snapshots (struct ost_fo_status), never on the live machine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failover_internal.h"

static void write_ratio(struct ost_buf *b, const char *key, double r)
{
	if (r < 0)
		ost_buf_printf(b, "\"%s\":null", key);
	else
		ost_buf_printf(b, "\"%s\":%.3f", key, r);
}

void fo_write_evidence(const struct ost_fo_window *w, unsigned n_w, const struct ost_fo_mirror *m,
		       unsigned n_m, struct ost_buf *b)
{
	ost_buf_printf(b, "{\"windows\":[");
	for (unsigned i = 0; i < n_w; i++) {
		ost_buf_printf(b, "%s{\"mono_ms\":%llu,", i ? "," : "",
			       (unsigned long long)w[i].mono_ms);
		for (int c = 0; c < OST_FO_CLASS_COUNT; c++) {
			char key[32];
			snprintf(key, sizeof(key), "r_%s", fo_class_names[c]);
			write_ratio(b, key, w[i].r[c]);
			ost_buf_printf(b, ",\"n_%s\":%u,", fo_class_names[c], w[i].n[c]);
			snprintf(key, sizeof(key), "fail_%s", fo_class_names[c]);
			write_ratio(b, key, w[i].passive_fail[c]);
			ost_buf_printf(b, ",\"passive_n_%s\":%u%s", fo_class_names[c],
				       w[i].passive_n[c], c + 1 < OST_FO_CLASS_COUNT ? "," : "");
		}
		ost_buf_printf(b, "}");
	}
	ost_buf_printf(b, "],\"mirrors\":[");
	for (unsigned i = 0; i < n_m; i++) {
		ost_buf_printf(b, "%s{\"zone\":", i ? "," : "");
		ost_buf_json_str(b, m[i].zone);
		ost_buf_printf(b,
			       ",\"serial\":%u,\"verified\":%s,\"soa_expire_deadline\":%lld,"
			       "\"rrsig_horizon\":%lld,\"extended_until\":%lld}",
			       m[i].serial, m[i].is_verified ? "true" : "false",
			       (long long)m[i].soa_expire_deadline, (long long)m[i].rrsig_horizon,
			       (long long)m[i].extended_until);
	}
	ost_buf_printf(b, "]}");
}

static const char *use_str(enum ost_fo_mirror_use u)
{
	static const char *const names[] = {"in-use", "extended", "withdrawn", "unknown"};
	return (unsigned)u < 4 ? names[u] : "?";
}

int ost_fo_status_write(struct ost_fo *fo, bool is_json, struct ost_buf *b)
{
	struct ost_fo_status *st = malloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	ost_fo_status(fo, st);
	int64_t wall = st->wall_s;
	if (is_json) {
		ost_buf_printf(b, "{\"state\":\"%s\",\"in_state_s\":%llu,\"forced\":%s,",
			       fo_state_names[st->state],
			       (unsigned long long)(st->in_state_ms / 1000),
			       st->is_forced ? "true" : "false");
		ost_buf_printf(b, "\"drill_id\":");
		ost_buf_json_str(b, st->drill_id[0] ? st->drill_id : NULL);
		ost_buf_printf(b, ",\"last_reason\":");
		ost_buf_json_str(b, st->last_reason);
		ost_buf_printf(b, ",\"illegal_events\":%llu,\"transitions\":[",
			       (unsigned long long)st->illegal_events);
		bool first = true;
		for (int f = 0; f < OST_FO_STATE_COUNT; f++)
			for (int t = 0; t < OST_FO_STATE_COUNT; t++)
				if (st->transitions[f][t]) {
					ost_buf_printf(
						b,
						"%s{\"from\":\"%s\",\"to\":\"%s\",\"count\":%llu}",
						first ? "" : ",", fo_state_names[f],
						fo_state_names[t],
						(unsigned long long)st->transitions[f][t]);
					first = false;
				}
		ost_buf_printf(b, "],\"state_seconds\":{");
		for (int s = 0; s < OST_FO_STATE_COUNT; s++)
			ost_buf_printf(b, "%s\"%s\":%llu", s ? "," : "", fo_state_names[s],
				       (unsigned long long)(st->state_ms[s] / 1000));
		ost_buf_printf(b, "},\"evidence\":");
		fo_write_evidence(st->windows, st->n_windows, st->mirrors, st->n_mirrors, b);
		ost_buf_printf(b, ",\"mirror_use\":{");
		for (unsigned i = 0; i < st->n_mirrors; i++) {
			ost_buf_printf(b, "%s", i ? "," : "");
			ost_buf_json_str(b, st->mirrors[i].zone);
			ost_buf_printf(b, ":\"%s\"", use_str(st->mirror_use[i]));
		}
		/* What the detection runs with: a reload may have changed it. */
		const struct ost_fo_config *c = &st->cfg;
		ost_buf_printf(b,
			       "},\"settings\":{\"eval_ms\":%u,\"window_ms\":%u,\"bucket_ms\":%u,"
			       "\"degrade_below\":%g,\"degrade_evals\":%u,\"isolate_root_max\":%g,"
			       "\"isolate_foreign_max\":%g,\"isolate_evals\":%u,\"healthy_min\":%g,"
			       "\"healthy_evals\":%u,\"reachable_min\":%g,\"reachable_evals\":%u,"
			       "\"stale_max_normal_s\":%u,\"stale_max_isolated_s\":%u}}",
			       c->eval_ms, c->window_ms, c->bucket_ms, c->degrade_below,
			       c->degrade_evals, c->isolate_root_max, c->isolate_foreign_max,
			       c->isolate_evals, c->healthy_min, c->healthy_evals, c->reachable_min,
			       c->reachable_evals, c->stale_max_normal_s, c->stale_max_isolated_s);
	} else {
		ost_buf_printf(b, "state:        %s%s\n", fo_state_names[st->state],
			       st->is_forced ? " (forced by operator)" : "");
		ost_buf_printf(b, "in state:     %llu s\n",
			       (unsigned long long)(st->in_state_ms / 1000));
		ost_buf_printf(b, "last reason:  %s\n", st->last_reason[0] ? st->last_reason : "-");
		ost_buf_printf(b, "drill:        %s\n", st->drill_id[0] ? st->drill_id : "none");
		ost_buf_printf(b,
			       "thresholds:   degrade R<%g (%u evals), isolate R_root<=%g "
			       "R_foreign<=%g (%u), healthy R>=%g (%u), every %u ms over %u ms\n",
			       st->cfg.degrade_below, st->cfg.degrade_evals,
			       st->cfg.isolate_root_max, st->cfg.isolate_foreign_max,
			       st->cfg.isolate_evals, st->cfg.healthy_min, st->cfg.healthy_evals,
			       st->cfg.eval_ms, st->cfg.window_ms);
		if (st->n_windows) {
			const struct ost_fo_window *w = &st->windows[0];
			ost_buf_printf(b, "last window:  ");
			for (int c = 0; c < OST_FO_CLASS_COUNT; c++) {
				if (w->r[c] < 0)
					ost_buf_printf(b, "R_%s=n/a (n=%u)  ", fo_class_names[c],
						       w->n[c]);
				else
					ost_buf_printf(b, "R_%s=%.2f (n=%u)  ", fo_class_names[c],
						       w->r[c], w->n[c]);
			}
			ost_buf_printf(b, "\n");
		}
		ost_buf_printf(b, "transitions:\n");
		bool any = false;
		for (int f = 0; f < OST_FO_STATE_COUNT; f++)
			for (int t = 0; t < OST_FO_STATE_COUNT; t++)
				if (st->transitions[f][t]) {
					ost_buf_printf(b, "  %-15s -> %-15s %llu\n",
						       fo_state_names[f], fo_state_names[t],
						       (unsigned long long)st->transitions[f][t]);
					any = true;
				}
		if (!any)
			ost_buf_printf(b, "  none\n");
		ost_buf_printf(b, "mirrors:\n");
		if (!st->n_mirrors)
			ost_buf_printf(b, "  none\n");
		for (unsigned i = 0; i < st->n_mirrors; i++) {
			const struct ost_fo_mirror *m = &st->mirrors[i];
			ost_buf_printf(b,
				       "  %-12s serial %u  %s  SOA expire in %lld s  RRSIG horizon "
				       "in %lld s",
				       m->zone, m->serial, use_str(st->mirror_use[i]),
				       (long long)(m->soa_expire_deadline - wall),
				       (long long)(m->rrsig_horizon - wall));
			if (m->extended_until > wall)
				ost_buf_printf(b, "  extended for %lld s",
					       (long long)(m->extended_until - wall));
			ost_buf_printf(b, "\n");
		}
	}
	free(st);
	return b->has_oom ? -ENOMEM : 0;
}
