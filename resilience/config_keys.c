/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Settings by name: every threshold of the failover machine, the probe
 * scheduler and the drills can be set from a "key: value" pair, so the
 * daemon's YAML reader (server/config.c) maps a `resilience:` section without
 * knowing the structs, and every bad value gets the same precise message.
 * Keys are the field names in kebab-case ("degrade-below", "window-ms").
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ostrov/drill.h"

enum kind {
	K_U32,   /* uint32_t, 0 .. UINT32_MAX */
	K_UINT,  /* unsigned */
	K_SHARE, /* double within 0 .. 1 */
	K_RATE,  /* double >= 0 */
};

struct key {
	const char *name;
	enum kind kind;
	size_t off;
};

#define FO(n, k, f)                                     \
	{                                               \
		n, k, offsetof(struct ost_fo_config, f) \
	}
#define PROBE(n, k, f)                                     \
	{                                                  \
		n, k, offsetof(struct ost_probe_config, f) \
	}
#define DRILL(n, k, f)                                     \
	{                                                  \
		n, k, offsetof(struct ost_drill_config, f) \
	}

static const struct key fo_keys[] = {
	FO("bucket-ms", K_U32, bucket_ms),
	FO("window-ms", K_U32, window_ms),
	FO("eval-ms", K_U32, eval_ms),
	FO("min-transition-ms", K_U32, min_transition_ms),
	FO("degrade-below", K_SHARE, degrade_below),
	FO("degrade-passive-above", K_SHARE, degrade_passive_above),
	FO("passive-min-samples", K_UINT, passive_min_samples),
	FO("degrade-evals", K_UINT, degrade_evals),
	FO("isolate-root-max", K_SHARE, isolate_root_max),
	FO("isolate-foreign-max", K_SHARE, isolate_foreign_max),
	FO("isolate-evals", K_UINT, isolate_evals),
	FO("probe-min-samples", K_UINT, probe_min_samples),
	FO("healthy-min", K_SHARE, healthy_min),
	FO("healthy-passive-max", K_SHARE, healthy_passive_max),
	FO("healthy-evals", K_UINT, healthy_evals),
	FO("reachable-min", K_SHARE, reachable_min),
	FO("reachable-evals", K_UINT, reachable_evals),
	FO("recovered-evals", K_UINT, recovered_evals),
	FO("rrsig-margin-s", K_U32, rrsig_margin_s),
	FO("max-extend-s", K_U32, max_extend_s),
	FO("stale-max-normal-s", K_U32, stale_max_normal_s),
	FO("stale-max-isolated-s", K_U32, stale_max_isolated_s),
	FO("client-timer-ms", K_U32, client_timer_ms),
	FO("recheck-per-s", K_RATE, recheck_per_s),
	FO("recheck-burst", K_RATE, recheck_burst),
};

static const struct key probe_keys[] = {
	PROBE("interval-ms", K_U32, interval_ms), PROBE("jitter", K_SHARE, jitter),
	PROBE("timeout-ms", K_U32, timeout_ms),   PROBE("tries", K_UINT, tries),
	PROBE("tcp-every", K_UINT, tcp_every),
};

static const struct key drill_keys[] = {
	DRILL("loss-share", K_SHARE, loss_share),
	DRILL("default-duration-s", K_U32, default_duration_s),
	DRILL("max-duration-s", K_U32, max_duration_s),
	DRILL("abort-servfail-share", K_SHARE, abort_servfail_share),
	DRILL("abort-p99-ms", K_U32, abort_p99_ms),
	DRILL("abort-window-ms", K_U32, abort_window_ms),
	DRILL("abort-windows", K_UINT, abort_windows),
	DRILL("abort-min-answers", K_UINT, abort_min_answers),
	DRILL("target-national-answered", K_SHARE, target_national_answered),
	DRILL("target-foreign-answered", K_SHARE, target_foreign_answered),
	DRILL("target-detect-ms", K_U32, target_detect_ms),
	DRILL("target-recover-ms", K_U32, target_recover_ms),
};

static int bad(char *err, size_t errlen, const char *key, const char *value, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: bad value '%.40s' (%s)", key, value, why);
	return -EINVAL;
}

static int set(void *base, const struct key *keys, size_t n, const char *key, const char *value,
	       char *err, size_t errlen)
{
	const struct key *k = NULL;
	for (size_t i = 0; i < n && !k; i++)
		if (strcmp(keys[i].name, key) == 0)
			k = &keys[i];
	if (!k) {
		if (err && errlen)
			snprintf(err, errlen, "unknown key '%.40s'", key);
		return -ENOENT;
	}
	if (!value || !*value)
		return bad(err, errlen, key, "", "empty");
	char *end;
	errno = 0;
	void *field = (char *)base + k->off;
	if (k->kind == K_U32 || k->kind == K_UINT) {
		if (*value == '-' || *value == '+' || *value == ' ')
			return bad(err, errlen, key, value, "not a whole number");
		unsigned long long v = strtoull(value, &end, 10);
		if (errno || *end)
			return bad(err, errlen, key, value, "not a whole number");
		if (v > (k->kind == K_U32 ? UINT32_MAX : (unsigned long long)(unsigned)-1))
			return bad(err, errlen, key, value, "too large");
		if (k->kind == K_U32)
			*(uint32_t *)field = (uint32_t)v;
		else
			*(unsigned *)field = (unsigned)v;
		return 0;
	}
	double v = strtod(value, &end);
	if (errno || *end || end == value || !isfinite(v))
		return bad(err, errlen, key, value, "not a number");
	if (k->kind == K_SHARE && (v < 0 || v > 1))
		return bad(err, errlen, key, value, "must be within 0 .. 1");
	if (v < 0)
		return bad(err, errlen, key, value, "must not be negative");
	*(double *)field = v;
	return 0;
}

int ost_fo_config_set(struct ost_fo_config *cfg, const char *key, const char *value, char *err,
		      size_t errlen)
{
	return set(cfg, fo_keys, sizeof(fo_keys) / sizeof(fo_keys[0]), key, value, err, errlen);
}

int ost_probe_config_set(struct ost_probe_config *cfg, const char *key, const char *value,
			 char *err, size_t errlen)
{
	return set(cfg, probe_keys, sizeof(probe_keys) / sizeof(probe_keys[0]), key, value, err,
		   errlen);
}

int ost_drill_config_set(struct ost_drill_config *cfg, const char *key, const char *value,
			 char *err, size_t errlen)
{
	static const struct {
		const char *key;
		enum ost_dest_class cls;
	} dests[] = {
		{"dest-root", OST_DEST_ROOT},
		{"dest-foreign-tld", OST_DEST_FOREIGN_TLD},
		{"dest-foreign", OST_DEST_FOREIGN},
		{"dest-national", OST_DEST_NATIONAL},
		{"dest-mirror-source", OST_DEST_MIRROR_SOURCE},
	};
	for (size_t i = 0; i < sizeof(dests) / sizeof(dests[0]); i++) {
		if (strcmp(key, dests[i].key) != 0)
			continue;
		int rc = value ? ost_dest_map_add(&cfg->map, value, dests[i].cls) : -EINVAL;
		if (rc == -ENOSPC && err && errlen)
			snprintf(err, errlen, "%s: more than %d prefixes", key,
				 OST_DEST_MAX_PREFIXES);
		else if (rc < 0)
			return bad(err, errlen, key, value ? value : "", "not ADDR or ADDR/LEN");
		return rc;
	}
	if (strcmp(key, "cut-mode") == 0) {
		if (value && strcmp(value, "drop") == 0)
			cfg->cut_mode = OST_DRILL_DROP;
		else if (value && strcmp(value, "refuse") == 0)
			cfg->cut_mode = OST_DRILL_REFUSE;
		else
			return bad(err, errlen, key, value ? value : "", "drop or refuse");
		return 0;
	}
	return set(cfg, drill_keys, sizeof(drill_keys) / sizeof(drill_keys[0]), key, value, err,
		   errlen);
}
