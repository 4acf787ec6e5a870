/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The resolver's zone lists in the configuration: resolver.forward-zones and
 * resolver.stub-zones, each a list of {name, addresses} mappings, turned
 * into struct ost_zone_servers_cfg (the engine's struct ost_stub_addr says
 * how each kind is asked). Their addresses are checked against
 * resolver.upstream-allow once the whole file is read (config.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include <ldns/ldns.h>

#include "config_int.h"

/* resolver.forward-zones and resolver.stub-zones: lists of mappings
 *   - name: corp.example.
 *     addresses: ["127.0.0.1@5353", "::1"]
 * (port: resolver.upstream-port unless given). */

int cfg_resolver_zones(struct walk *w, yaml_node_t *vn, const char *key, bool forward)
{
	struct ost_config *cfg = w->cfg;
	yaml_node_t *items[LIST_MAX];
	size_t n = 0;
	int ret;
	if (vn->type != YAML_SEQUENCE_NODE)
		return cfg_fail(w, vn, key, "expected a list of zones (name, addresses)");
	for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top;
	     it++) {
		if (n == LIST_MAX)
			return cfg_fail(w, vn, key, "more than %d zones", LIST_MAX);
		items[n++] = yaml_document_get_node(w->doc, *it);
	}
	w->zones_node = vn;
	struct ost_zone_servers_cfg *zs =
		realloc(cfg->resolver.zones, (cfg->resolver.n_zones + n + 1) * sizeof(*zs));
	if (!zs)
		return -ENOMEM;
	cfg->resolver.zones = zs;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *map = items[i];
		struct ost_zone_servers_cfg *z = &zs[cfg->resolver.n_zones];
		memset(z, 0, sizeof(*z));
		z->forward = forward;
		if (map->type != YAML_MAPPING_NODE)
			return cfg_fail(w, map, key, "each zone is a mapping (name, addresses)");
		yaml_node_t *addrs = NULL;
		for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
		     p < map->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
			yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
			const char *kname = cfg_scalar(k);
			if (kname && strcmp(kname, "name") == 0) {
				if (!cfg_scalar(v) ||
				    cfg_zone_norm(cfg_scalar(v), z->name, sizeof(z->name)) < 0)
					return cfg_fail(w, v, key, "bad zone name \"%s\"",
							cfg_scalar(v) ? cfg_scalar(v) : "");
			} else if (kname && strcmp(kname, "addresses") == 0) {
				addrs = v;
			} else {
				return cfg_fail(w, k, key,
						"unknown key \"%s\" (expected name, addresses)",
						kname ? kname : "");
			}
		}
		if (!z->name[0])
			return cfg_fail(w, map, key, "a zone needs a name");
		if (!addrs)
			return cfg_fail(w, map, key, "zone %s needs addresses", z->name);
		yaml_node_t *aitems[LIST_MAX];
		size_t na;
		ret = cfg_list_items(w, addrs, key, aitems, LIST_MAX, &na);
		if (ret < 0)
			return ret;
		if (na == 0 || na > 16)
			return cfg_fail(w, addrs, key, "zone %s: 1 to 16 addresses, not %zu",
					z->name, na);
		z->addrs = calloc(na, sizeof(*z->addrs));
		if (!z->addrs)
			return -ENOMEM;
		cfg->resolver.n_zones++; /* owns addrs from here on */
		for (size_t j = 0; j < na; j++) {
			/* port 0 = resolver.upstream-port, filled in once the
			 * whole file is read (check_consistency) */
			if (!cfg_scalar(aitems[j]) ||
			    ost_addr_parse(cfg_scalar(aitems[j]), 0, &z->addrs[j]) < 0)
				return cfg_fail(w, aitems[j], key,
						"bad address \"%s\" (expected ADDR or ADDR@PORT)",
						cfg_scalar(aitems[j]) ? cfg_scalar(aitems[j]) : "");
			z->n_addrs++;
		}
		for (size_t j = 0; j + 1 < cfg->resolver.n_zones; j++)
			if (strcmp(zs[j].name, z->name) == 0)
				return cfg_fail(w, map, key, "zone %s is configured twice",
						z->name);
	}
	return 0;
}
