/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private to the configuration reader (server/config*.c): the state of one
 * walk over the YAML document and the helpers every section uses, so that
 * the table-driven sections (config.c), the resolver's zone lists
 * (config_resolver.c), the mirror section (config_mirror.c) and the
 * resilience section (config_resilience.c) report errors the same way:
 * "FILE:LINE: section.key: problem".
 */
#ifndef OSTROV_SERVER_CONFIG_INT_H
#define OSTROV_SERVER_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "ostrov/config.h"

/** Keys of the table in config.c at most (checked there at compile time). */
#define CFG_KEYS_MAX 64
/** Items of one list value at most. */
#define LIST_MAX     256

/** One walk over a loaded document. */
struct walk {
	struct ost_config *cfg;
	yaml_document_t *doc;
	const char *path;
	char *err;
	size_t errlen;
	yaml_node_t *where[CFG_KEYS_MAX]; /**< value node of each table key that was set */
	yaml_node_t *resilience;          /**< the resilience: node, for its consistency check */
	yaml_node_t *zones_node;          /**< resolver.forward-zones or stub-zones, for checks */
};

/** Write "FILE:LINE: KEY: message" into w->err. @return OST_ECONFIG */
__attribute__((format(printf, 4, 5))) int cfg_fail(struct walk *w, const yaml_node_t *node,
						   const char *key, const char *fmt, ...);
/** A scalar's text, or NULL when @p node is not a scalar or holds a NUL byte. */
const char *cfg_scalar(const yaml_node_t *node);
/** Decimal number within [@p min, @p max]. @return 0, -EINVAL or -ERANGE */
int cfg_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/** Number with an optional K/M/G/T suffix (binary multiples). @return 0 or -EINVAL/-ERANGE */
int cfg_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/** yes/no/true/false/on/off. @return 0 or -EINVAL */
int cfg_parse_bool(const char *s, bool *out);
/** @p s made absolute against the directory of @p cfg_path (heap), or NULL */
char *cfg_resolve_path(const char *cfg_path, const char *s);
/** The items of a list value (a scalar counts as a one-item list). @return 0 or OST_ECONFIG */
int cfg_list_items(struct walk *w, yaml_node_t *value, const char *key, yaml_node_t **items,
		   size_t cap, size_t *n);
/** A zone name in presentation format, lower case, final dot. @return 0 or -EINVAL */
int cfg_zone_norm(const char *s, char *out, size_t cap);

/** resolver.forward-zones (@p forward) or resolver.stub-zones (config_resolver.c). */
int cfg_resolver_zones(struct walk *w, yaml_node_t *vn, const char *key, bool forward);

/** The mirror: section (config_mirror.c). */
int cfg_walk_mirror(struct walk *w, yaml_node_t *map);
/** Free what the mirror: section allocated. */
void cfg_mirror_deinit(struct ost_config *cfg);

/** Defaults of the resilience: section (config_resilience.c). */
void cfg_resilience_defaults(struct ost_config *cfg);
/** The resilience: section. */
int cfg_walk_resilience(struct walk *w, yaml_node_t *map);
/** The failover thresholds checked together, once the whole file is read. */
int cfg_check_resilience(struct walk *w);

#endif
