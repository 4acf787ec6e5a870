/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The mirror: section of the configuration (zone mirror: zones/,
 * server/mirror_ctl.c, server/xfr_out.c): the store, its listen addresses
 * and the list of mirrored zones, each a mapping of its own with its transfer
 * sources (TSIG keys parsed by zones/xfr.c), bootstrap file, trust anchor,
 * policy and downstream transfer/NOTIFY lists. See README's Configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include <ldns/ldns.h>

#include "ostrov/xfr.h" /* transfer sources */

#include "config_int.h"

/* >>> mirror section (zone mirror: zones/, server/xfr_out.c) */
void cfg_mirror_deinit(struct ost_config *cfg)
{
	free(cfg->mirror.path);
	free(cfg->mirror.listen);
	for (size_t i = 0; i < cfg->mirror.n_zones; i++) {
		struct ost_mirror_zone_cfg *z = &cfg->mirror.zones[i];
		free(z->name);
		for (size_t j = 0; j < z->n_sources; j++)
			free(z->sources[j]);
		free(z->sources);
		free(z->bootstrap);
		free(z->trust_anchor_file);
		ost_acl_deinit(&z->allow_transfer);
		free(z->notify);
	}
	free(cfg->mirror.zones);
}
/* <<< mirror section */

/* >>> mirror section: a mapping with path, size, listen and a list of zones,
 * each a mapping of its own (shared contract in README.md). */

static int mirror_addrs(struct walk *w, yaml_node_t *v, const char *key, struct ost_addr **out,
			size_t *n_out)
{
	yaml_node_t *items[LIST_MAX];
	size_t n;
	int ret = cfg_list_items(w, v, key, items, LIST_MAX, &n);
	if (ret < 0)
		return ret;
	struct ost_addr *a = calloc(n ? n : 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (ost_addr_parse(cfg_scalar(items[i]), OST_CONFIG_DEFAULT_PORT, &a[i]) < 0) {
			free(a);
			return cfg_fail(w, items[i], key,
					"bad address \"%s\" (expected ADDR or ADDR@PORT)",
					cfg_scalar(items[i]));
		}
	}
	free(*out);
	*out = a;
	*n_out = n;
	return 0;
}

static int mirror_file(struct walk *w, yaml_node_t *v, const char *key, char **out)
{
	const char *s = cfg_scalar(v);
	if (!s || !*s)
		return cfg_fail(w, v, key, "expected a file name");
	char *p = cfg_resolve_path(w->path, s);
	if (!p)
		return -ENOMEM;
	if (access(p, R_OK) != 0) {
		int e = errno;
		free(p);
		return cfg_fail(w, v, key, "cannot read file \"%s\": %s", s, strerror(e));
	}
	free(*out);
	*out = p;
	return 0;
}

static int mirror_zone(struct walk *w, yaml_node_t *map, struct ost_mirror_zone_cfg *z)
{
	if (map->type != YAML_MAPPING_NODE)
		return cfg_fail(w, map, "mirror.zones",
				"each zone is a mapping (name, sources ...)");
	z->line = (unsigned)map->start_mark.line + 1;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
		const char *k = cfg_scalar(kn), *s = cfg_scalar(vn);
		char key[128];
		int ret = 0;
		uint64_t v;
		if (!k)
			return cfg_fail(w, kn, "mirror.zones", "keys must be plain names");
		snprintf(key, sizeof(key), "mirror.zones.%s", k);
		if (strcmp(k, "name") == 0) {
			ldns_rdf *d = NULL;
			if (!s || ldns_str2rdf_dname(&d, s) != LDNS_STATUS_OK)
				return cfg_fail(w, vn, key, "bad zone name \"%s\"", s ? s : "");
			ldns_rdf_deep_free(d);
			free(z->name);
			if (!(z->name = strdup(s)))
				return -ENOMEM;
		} else if (strcmp(k, "sources") == 0) {
			yaml_node_t *items[LIST_MAX];
			size_t n;
			if ((ret = cfg_list_items(w, vn, key, items, LIST_MAX, &n)) < 0)
				return ret;
			/* A repeated key replaces the earlier list. */
			for (size_t i = 0; i < z->n_sources; i++)
				free(z->sources[i]);
			free(z->sources);
			z->n_sources = 0;
			z->sources = calloc(n ? n : 1, sizeof(*z->sources));
			if (!z->sources)
				return -ENOMEM;
			for (size_t i = 0; i < n; i++) {
				struct ost_xfr_source src;
				if (ost_xfr_source_parse(cfg_scalar(items[i]), &src) != 0)
					return cfg_fail(w, items[i], key,
							"bad source \"%s\" (expected ADDR[@PORT] "
							"[tsig NAME:ALG:BASE64])",
							cfg_scalar(items[i]));
				if (!(z->sources[z->n_sources++] = strdup(cfg_scalar(items[i]))))
					return -ENOMEM;
			}
		} else if (strcmp(k, "bootstrap") == 0) {
			ret = mirror_file(w, vn, key, &z->bootstrap);
		} else if (strcmp(k, "trust-anchor-file") == 0) {
			ret = mirror_file(w, vn, key, &z->trust_anchor_file);
		} else if (strcmp(k, "require-zonemd") == 0 || strcmp(k, "ixfr") == 0) {
			bool *b = k[0] == 'r' ? &z->require_zonemd : &z->ixfr;
			if (!s || cfg_parse_bool(s, b) < 0)
				return cfg_fail(w, vn, key, "bad boolean (expected yes or no)");
		} else if (strcmp(k, "max-size") == 0) {
			if (!s || cfg_parse_size(s, 1, 1ull << 44, &v) < 0)
				return cfg_fail(w, vn, key,
						"bad size (a number with K, M, G or T)");
			z->max_size = v;
		} else if (strcmp(k, "max-records") == 0) {
			if (!s || cfg_parse_uint(s, 1, 1ull << 40, &v) < 0)
				return cfg_fail(w, vn, key, "bad number");
			z->max_records = v;
		} else if (strcmp(k, "allow-transfer") == 0) {
			yaml_node_t *items[LIST_MAX];
			size_t n;
			if ((ret = cfg_list_items(w, vn, key, items, LIST_MAX, &n)) < 0)
				return ret;
			for (size_t i = 0; i < n; i++) {
				struct ost_cidr c;
				if (ost_cidr_parse(cfg_scalar(items[i]), &c) < 0)
					return cfg_fail(
						w, items[i], key,
						"bad address prefix \"%s\" (expected ADDR/LEN)",
						cfg_scalar(items[i]));
				if (ost_acl_add(&z->allow_transfer, &c) < 0)
					return -ENOMEM;
			}
		} else if (strcmp(k, "notify") == 0) {
			ret = mirror_addrs(w, vn, key, &z->notify, &z->n_notify);
		} else {
			return cfg_fail(w, kn, key, "unknown key");
		}
		if (ret < 0)
			return ret;
	}
	if (!z->name)
		return cfg_fail(w, map, "mirror.zones", "a zone needs a name");
	if (z->n_sources == 0 && !z->bootstrap)
		return cfg_fail(w, map, "mirror.zones", "zone %s needs sources or a bootstrap file",
				z->name);
	return 0;
}

int cfg_walk_mirror(struct walk *w, yaml_node_t *map)
{
	struct ost_config *cfg = w->cfg;
	if (map->type != YAML_MAPPING_NODE)
		return cfg_fail(w, map, "mirror", "expected a mapping of keys");
	yaml_node_t *zones = NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
		const char *k = cfg_scalar(kn), *s = cfg_scalar(vn);
		char key[128];
		int ret = 0;
		if (!k)
			return cfg_fail(w, kn, "mirror", "keys must be plain names");
		snprintf(key, sizeof(key), "mirror.%s", k);
		if (strcmp(k, "path") == 0) {
			if (!s || !*s)
				return cfg_fail(w, vn, key, "empty value");
			free(cfg->mirror.path);
			if (!(cfg->mirror.path = cfg_resolve_path(w->path, s)))
				return -ENOMEM;
		} else if (strcmp(k, "size") == 0) {
			if (!s || cfg_parse_size(s, 1ull << 20, 1ull << 44, &cfg->mirror.size) < 0)
				return cfg_fail(w, vn, key,
						"bad size (a number with K, M, G or T)");
		} else if (strcmp(k, "listen") == 0) {
			ret = mirror_addrs(w, vn, key, &cfg->mirror.listen, &cfg->mirror.n_listen);
		} else if (strcmp(k, "verify-threads") == 0) {
			uint64_t v;
			if (!s || cfg_parse_uint(s, 1, 256, &v) < 0)
				return cfg_fail(w, vn, key, "bad number of threads (1-256)");
			cfg->mirror.verify_threads = (unsigned)v;
		} else if (strcmp(k, "zones") == 0) {
			zones = vn;
		} else {
			return cfg_fail(w, kn, key, "unknown key");
		}
		if (ret < 0)
			return ret;
	}
	if (!zones || zones->type != YAML_SEQUENCE_NODE)
		return cfg_fail(w, zones ? zones : map, "mirror.zones", "expected a list of zones");
	size_t n = (size_t)(zones->data.sequence.items.top - zones->data.sequence.items.start);
	cfg->mirror.zones = calloc(n ? n : 1, sizeof(*cfg->mirror.zones));
	if (!cfg->mirror.zones)
		return -ENOMEM;
	for (yaml_node_item_t *it = zones->data.sequence.items.start;
	     it < zones->data.sequence.items.top; it++) {
		struct ost_mirror_zone_cfg *z = &cfg->mirror.zones[cfg->mirror.n_zones++];
		int ret = mirror_zone(w, yaml_document_get_node(w->doc, *it), z);
		if (ret < 0)
			return ret;
		for (size_t i = 0; i + 1 < cfg->mirror.n_zones; i++) {
			if (strcasecmp(cfg->mirror.zones[i].name, z->name) == 0)
				return cfg_fail(w, yaml_document_get_node(w->doc, *it),
						"mirror.zones", "zone %s is listed twice", z->name);
		}
	}
	if (!cfg->mirror.path)
		return cfg_fail(w, map, "mirror.path", "the mirror needs a store path");
	return 0;
}
/* <<< mirror section */
