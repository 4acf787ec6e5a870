/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The resilience: section of the configuration: national zones, failover
 * thresholds, probe targets and drill settings. Its keys belong to
 * resilience/ (config_keys.c knows them and their ranges); this file only
 * walks the YAML, hands each value to the setter and reports where a value
 * is wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include <ldns/ldns.h>

#include "ostrov/drill.h"
#include "ostrov/failover.h"

#include "config_int.h"

/* ---- section resilience: ------------------------------------------------------------
 *
 * Kept apart from the table-driven sections (config.c) because its keys belong to
 * resilience/ (config_keys.c knows them and their ranges): this block only
 * walks the YAML and reports where a value is wrong.
 *
 *   resilience:
 *     national-zones: [ru, xn--p1ai, su]
 *     failover: {window-ms: 10000, isolate-evals: 3, reachable-evals: 30}
 *     probes:
 *       interval-ms: 3000
 *       root-hints: yes                      # probe every root hint (". SOA")
 *       root: ["127.53.0.1@53"]              # more root servers
 *       foreign: ["127.53.1.1@53 com"]       # ADDR@PORT ZONE, asked "ZONE NS"
 *       national: ["127.53.2.1@53 ru"]       # ADDR@PORT ZONE, asked "ZONE SOA"
 *     drill:
 *       dest-national: ["127.53.2.0/24", "127.53.4.0/24"]
 *       target-detect-ms: 30000
 */

void cfg_resilience_defaults(struct ost_config *cfg)
{
	ost_fo_config_default(&cfg->resilience.fo);
	ost_probe_config_default(&cfg->resilience.probe);
	ost_drill_config_default(&cfg->resilience.drill);
	cfg->resilience.probe_root_hints = true;
	static const char *const national[] = {"ru.", "xn--p1ai.", "su."};
	for (size_t i = 0; i < 3; i++)
		snprintf(cfg->resilience.national_zones[i], 256, "%s", national[i]);
	cfg->resilience.n_national_zones = 3;
}


/* Apply one setting through a resilience/ setter; its message names the key and value. */
typedef int (*res_set_fn)(void *cfg, const char *key, const char *value, char *err, size_t errlen);

static int set_fo(void *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	return ost_fo_config_set(cfg, key, value, err, errlen);
}

static int set_probe(void *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	return ost_probe_config_set(cfg, key, value, err, errlen);
}

static int set_drill(void *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	return ost_drill_config_set(cfg, key, value, err, errlen);
}

static int res_apply(struct walk *w, const char *sub, res_set_fn fn, void *target, yaml_node_t *kn,
		     yaml_node_t *vn, const char *name)
{
	char key[160];
	snprintf(key, sizeof(key), "resilience.%s.%s", sub, name);
	yaml_node_t *items[LIST_MAX];
	size_t n;
	int ret = cfg_list_items(w, vn, key, items, LIST_MAX, &n);
	if (ret < 0)
		return ret;
	/* Only the dest-* keys of drill: take lists; a list elsewhere is an error. */
	if (vn->type == YAML_SEQUENCE_NODE && strncmp(name, "dest-", 5) != 0)
		return cfg_fail(w, vn, key, "expected a single value, not a list");
	for (size_t i = 0; i < n; i++) {
		char msg[256] = "";
		if (fn(target, name, cfg_scalar(items[i]), msg, sizeof(msg)) < 0) {
			if (strstr(msg, "unknown"))
				return cfg_fail(w, kn, key, "unknown key");
			return cfg_fail(w, items[i], NULL, "resilience.%s.%s", sub, msg);
		}
	}
	return 0;
}

static int res_targets(struct walk *w, yaml_node_t *vn, const char *key, enum ost_fo_class cls)
{
	yaml_node_t *items[LIST_MAX];
	size_t n;
	int ret = cfg_list_items(w, vn, key, items, LIST_MAX, &n);
	if (ret < 0)
		return ret;
	struct ost_config *cfg = w->cfg;
	struct ost_probe_target *v =
		realloc(cfg->resilience.targets, (cfg->resilience.n_targets + n) * sizeof(*v));
	if (!v && n)
		return -ENOMEM;
	if (v)
		cfg->resilience.targets = v;
	for (size_t i = 0; i < n; i++) {
		const char *t = cfg_scalar(items[i]);
		char addr[128], zone[300];
		struct ost_probe_target *pt = &cfg->resilience.targets[cfg->resilience.n_targets];
		memset(pt, 0, sizeof(*pt));
		int k = sscanf(t, "%127s %299s", addr, zone);
		if (cls == OST_FO_ROOT && k == 1)
			snprintf(zone, sizeof(zone), ".");
		else if (k != 2)
			return cfg_fail(w, items[i], key,
					"bad target \"%s\" (expected ADDR@PORT ZONE)", t);
		if (ost_addr_parse(addr, cfg->resolver.upstream_port, &pt->addr) < 0)
			return cfg_fail(w, items[i], key, "bad address \"%s\" (expected ADDR@PORT)",
					addr);
		if (cfg_zone_norm(zone, pt->zone, sizeof(pt->zone)) < 0)
			return cfg_fail(w, items[i], key, "bad zone name \"%s\"", zone);
		pt->cls = cls;
		pt->qtype = cls == OST_FO_FOREIGN ? LDNS_RR_TYPE_NS : LDNS_RR_TYPE_SOA;
		cfg->resilience.n_targets++;
	}
	return 0;
}

static int res_probes(struct walk *w, yaml_node_t *kn, yaml_node_t *vn, const char *name)
{
	static const struct {
		const char *name;
		enum ost_fo_class cls;
	} lists[] = {
		{"root", OST_FO_ROOT}, {"foreign", OST_FO_FOREIGN}, {"national", OST_FO_NATIONAL}};
	char key[160];
	snprintf(key, sizeof(key), "resilience.probes.%s", name);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (strcmp(name, lists[i].name) == 0)
			return res_targets(w, vn, key, lists[i].cls);
	if (strcmp(name, "root-hints") == 0) {
		const char *s = cfg_scalar(vn);
		if (!s || cfg_parse_bool(s, &w->cfg->resilience.probe_root_hints) < 0)
			return cfg_fail(w, vn, key, "bad boolean \"%s\" (expected yes or no)",
					s ? s : "");
		return 0;
	}
	return res_apply(w, "probes", set_probe, &w->cfg->resilience.probe, kn, vn, name);
}

static int res_national(struct walk *w, yaml_node_t *vn, const char *key)
{
	yaml_node_t *items[LIST_MAX];
	size_t n;
	int ret = cfg_list_items(w, vn, key, items, LIST_MAX, &n);
	if (ret < 0)
		return ret;
	if (n > OST_NATIONAL_ZONES_MAX)
		return cfg_fail(w, vn, key, "more than %d zones", OST_NATIONAL_ZONES_MAX);
	for (size_t i = 0; i < n; i++)
		if (cfg_zone_norm(cfg_scalar(items[i]), w->cfg->resilience.national_zones[i], 256) <
		    0)
			return cfg_fail(w, items[i], key, "bad zone name \"%s\"",
					cfg_scalar(items[i]));
	w->cfg->resilience.n_national_zones = n;
	return 0;
}

int cfg_walk_resilience(struct walk *w, yaml_node_t *map)
{
	w->resilience = map;
	if (map->type == YAML_SCALAR_NODE && map->data.scalar.length == 0)
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return cfg_fail(w, map, "resilience", "expected a mapping of keys");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
		const char *name = cfg_scalar(kn);
		if (!name)
			return cfg_fail(w, kn, "resilience", "keys must be plain names");
		char key[128];
		snprintf(key, sizeof(key), "resilience.%s", name);
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			const char *prev = cfg_scalar(yaml_document_get_node(w->doc, q->key));
			if (prev && strcmp(prev, name) == 0)
				return cfg_fail(w, kn, key, "duplicate key");
		}
		if (strcmp(name, "national-zones") == 0) {
			int ret = res_national(w, vn, key);
			if (ret < 0)
				return ret;
			continue;
		}
		const char *subs[] = {"failover", "probes", "drill"};
		size_t si = 0;
		while (si < 3 && strcmp(subs[si], name) != 0)
			si++;
		if (si == 3)
			return cfg_fail(w, kn, key, "unknown key");
		if (vn->type == YAML_SCALAR_NODE && vn->data.scalar.length == 0)
			continue;
		if (vn->type != YAML_MAPPING_NODE)
			return cfg_fail(w, vn, key, "expected a mapping of keys");
		for (yaml_node_pair_t *q = vn->data.mapping.pairs.start;
		     q < vn->data.mapping.pairs.top; q++) {
			yaml_node_t *k2 = yaml_document_get_node(w->doc, q->key);
			yaml_node_t *v2 = yaml_document_get_node(w->doc, q->value);
			const char *n2 = cfg_scalar(k2);
			if (!n2)
				return cfg_fail(w, k2, key, "keys must be plain names");
			int ret;
			if (si == 0)
				ret = res_apply(w, "failover", set_fo, &w->cfg->resilience.fo, k2,
						v2, n2);
			else if (si == 1)
				ret = res_probes(w, k2, v2, n2);
			else
				ret = res_apply(w, "drill", set_drill, &w->cfg->resilience.drill,
						k2, v2, n2);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* The failover thresholds together (window longer than the bucket ...) and
 * the probe timing (all tries within one interval): checked here rather than
 * only when the scheduler is made, so --check-config and a reload refuse
 * them before anything changes. */
int cfg_check_resilience(struct walk *w)
{
	char msg[256] = "";
	if (ost_fo_config_check(&w->cfg->resilience.fo, msg, sizeof(msg)) < 0)
		return cfg_fail(w, w->resilience, "resilience.failover", "%s", msg);
	if (ost_probe_config_check(&w->cfg->resilience.probe, msg, sizeof(msg)) < 0)
		return cfg_fail(w, w->resilience, "resilience.probes", "%s", msg);
	return 0;
}
