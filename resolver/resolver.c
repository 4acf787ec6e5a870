/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The resolver object: its configuration defaults, construction (the
 * configuration copied and checked: hints, stub and forward zones, the
 * upstream allow-list), teardown, and the small accessors of the public API
 * (commit, statistics, requests in flight). What a resolver does with a
 * request is in request.c (the task state machine), iterate.c, stash.c and
 * the validator.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "internal.h"
#include "validate.h"

void ost_resolver_config_default(struct ost_resolver_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->edns_size = 1232;
	cfg->upstream_port = 53;
	cfg->qname_minimisation = true;
	cfg->max_depth = 16;
	cfg->max_subreq = 8;
	cfg->max_queries = 32;
	cfg->max_cname = 12;
	cfg->max_time_ms = 10000;
	cfg->initial_rto_ms = 400;
	cfg->max_rto_ms = 3000;
	cfg->max_ttl = 86400;
	cfg->max_neg_ttl = 3600;
	cfg->minimal_responses = true;
	cfg->qmin_qtype = LDNS_RR_TYPE_A;
	cfg->serve_stale = true;
	cfg->stale_ttl = 30;
	cfg->stale_client_timeout_ms = 1800;
	cfg->max_stale_s = 86400;
	cfg->stale_recheck_s = 30;
	cfg->mirror_rrsig_margin_s = 86400;
	ost_val_limits_default(&cfg->val_limits);
}

int ost_resolver_new(struct ost_resolver **out, const struct ost_resolver_config *cfg,
		     struct ost_cache *cache, const struct ost_clock *clock,
		     const struct ost_transport *tp)
{
	if (!out || !cfg || !clock || !tp || (cfg->n_hints == 0 && cfg->n_stubs == 0) ||
	    (cfg->n_hints && !cfg->hints) || (cfg->n_stubs && !cfg->stubs) ||
	    cfg->edns_size < 512 || cfg->max_queries == 0 || cfg->initial_rto_ms == 0)
		return -EINVAL;
	int ret = -ENOMEM;
	struct ost_resolver *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->cfg = *cfg;
	r->cache = cache;
	r->clock = clock;
	r->tp = tp;
	r->rnd_used = sizeof(r->rnd);
	r->table_size = 1024;
	r->table = calloc(r->table_size, sizeof(*r->table));
	r->hints = calloc(cfg->n_hints ? cfg->n_hints : 1, sizeof(*r->hints));
	if (cfg->n_allow) {
		r->allow = calloc(cfg->n_allow, sizeof(*r->allow));
		if (r->allow)
			memcpy(r->allow, cfg->allow, cfg->n_allow * sizeof(*r->allow));
	}
	if (!r->table || !r->hints || (cfg->n_allow && !r->allow) || ost_sel_init(&r->sel) != 0)
		goto fail;
	r->hint_names = calloc(cfg->n_hints ? cfg->n_hints : 1, sizeof(*r->hint_names));
	r->root_name = ldns_dname_new_frm_str(".");
	if (!r->hint_names || !r->root_name)
		goto fail;
	for (size_t i = 0; i < cfg->n_hints; i++) {
		r->hints[i] = cfg->hints[i];
		r->hints[i].name = strdup(cfg->hints[i].name ? cfg->hints[i].name : ".");
		if (!r->hints[i].name)
			goto fail;
		if (ldns_str2rdf_dname(&r->hint_names[i], r->hints[i].name) != LDNS_STATUS_OK ||
		    (cfg->hints[i].addr.ss_family != AF_INET &&
		     cfg->hints[i].addr.ss_family != AF_INET6)) {
			ret = -EINVAL;
			goto fail;
		}
	}
	if (cfg->n_stubs) {
		r->stubs = calloc(cfg->n_stubs, sizeof(*r->stubs));
		r->stub_names = calloc(cfg->n_stubs, sizeof(*r->stub_names));
		if (!r->stubs || !r->stub_names)
			goto fail;
	}
	for (size_t i = 0; i < cfg->n_stubs; i++) {
		r->stubs[i] = cfg->stubs[i];
		r->stubs[i].zone = strdup(cfg->stubs[i].zone ? cfg->stubs[i].zone : "");
		if (!r->stubs[i].zone)
			goto fail;
		if (!cfg->stubs[i].zone ||
		    ldns_str2rdf_dname(&r->stub_names[i], r->stubs[i].zone) != LDNS_STATUS_OK ||
		    (cfg->stubs[i].addr.ss_family != AF_INET &&
		     cfg->stubs[i].addr.ss_family != AF_INET6)) {
			ret = -EINVAL;
			goto fail;
		}
	}
	r->cfg.hints = r->hints;
	r->cfg.allow = r->allow;
	r->cfg.stubs = r->stubs;
	/* RFC 8767 §4: stale data is never served with TTL 0 (resolvers
	 * crashed on that value, CVE-2023-2911). */
	if (r->cfg.stale_ttl == 0)
		r->cfg.stale_ttl = 30;
	if ((ret = ost_stash_init(r)) != 0 || (ret = ost_val_resolver_init(r)) != 0 ||
	    (ret = ost_pf_init(r)) != 0)
		goto fail;
	*out = r;
	return 0;
fail:
	ost_resolver_free(r);
	return ret;
}

void ost_resolver_free(struct ost_resolver *r)
{
	if (!r)
		return;
	ost_request_table_free(r);
	if (r->hints) {
		for (size_t i = 0; i < r->cfg.n_hints; i++)
			free((char *)r->hints[i].name);
		free(r->hints);
	}
	if (r->hint_names) {
		for (size_t i = 0; i < r->cfg.n_hints; i++)
			ldns_rdf_deep_free(r->hint_names[i]);
		free(r->hint_names);
	}
	if (r->stubs) {
		for (size_t i = 0; i < r->cfg.n_stubs; i++)
			free((char *)r->stubs[i].zone);
		free(r->stubs);
	}
	if (r->stub_names) {
		for (size_t i = 0; i < r->cfg.n_stubs; i++)
			ldns_rdf_deep_free(r->stub_names[i]);
		free(r->stub_names);
	}
	ost_mirror_snap_free(r);
	ldns_rdf_deep_free(r->root_name);
	free(r->allow);
	ost_sel_deinit(&r->sel);
	ost_stash_deinit(r);
	ost_val_resolver_deinit(r);
	ost_pf_deinit(r);
	free(r);
}

int ost_resolver_commit(struct ost_resolver *r)
{
	return ost_stash_commit(r);
}

void ost_resolver_stats_get(const struct ost_resolver *r, struct ost_resolver_stats *out)
{
	*out = r->stats;
}

size_t ost_resolver_inflight(const struct ost_resolver *r)
{
	return r->n_tasks;
}
