/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The root hints file and the mapping of the daemon configuration onto the
 * engine's: what ost_engine_open() needs before any worker starts.
 *
 * The hints file is zone-file syntax in the style of named.root (RFC 8109
 * §2 calls it "root hints"): NS records of "." and the A/AAAA records of those
 * name servers. ldns reads it record by record ($TTL, $ORIGIN and comments
 * included), so a syntax error is reported with its line. Records of other
 * owners or types are ignored, as BIND and Unbound do; a root NS without any
 * address is an error, because the engine cannot use it and an operator who
 * wrote it expects it to count.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "ostrov/log.h"
#include "ostrov/validator.h"

#include "engine.h"

/* The name servers that "." delegates to, in file order. */
struct ns_list {
	ldns_rdf **v;
	size_t n;
};

static bool ns_list_has(const struct ns_list *l, const ldns_rdf *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (ldns_dname_compare(l->v[i], name) == 0)
			return true;
	return false;
}

/* Parse the whole file into @p rrs, stopping at the first syntax error. */
static int read_records(const char *path, ldns_rr_list *rrs, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot read root hints: %s", path, strerror(e));
		return -e;
	}
	uint32_t ttl = 3600;
	ldns_rdf *origin = ldns_dname_new_frm_str(".");
	ldns_rdf *prev = NULL;
	int line = 1;
	int ret = origin ? 0 : -ENOMEM;
	while (ret == 0 && !feof(f)) {
		ldns_rr *rr = NULL;
		/* ldns counts the newline it consumed: the record started on this line. */
		int start = line;
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);
		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN || st == LDNS_STATUS_SYNTAX_INCLUDE) {
			if (st == LDNS_STATUS_SYNTAX_INCLUDE) {
				snprintf(err, errlen,
					 "%s:%d: $INCLUDE is not supported in root hints", path,
					 line);
				ret = OST_ECONFIG;
			}
			continue;
		}
		if (st != LDNS_STATUS_OK) {
			/* ldns reports EOF after trailing blank lines as a syntax error. */
			if (feof(f) && st == LDNS_STATUS_SYNTAX_ERR)
				break;
			snprintf(err, errlen, "%s:%d: root hints: %s", path, start,
				 ldns_get_errorstr_by_id(st));
			ret = OST_ECONFIG;
			break;
		}
		if (!ldns_rr_list_push_rr(rrs, rr)) {
			ldns_rr_free(rr);
			ret = -ENOMEM;
		}
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	fclose(f);
	return ret;
}

static bool rr_addr(const ldns_rr *rr, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	const ldns_rdf *d = ldns_rr_rdf(rr, 0);
	memset(ss, 0, sizeof(*ss));
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && d && ldns_rdf_size(d) == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ldns_rdf_data(d), 4);
		*len = sizeof(*sin);
		return true;
	}
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA && d && ldns_rdf_size(d) == 16) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, ldns_rdf_data(d), 16);
		*len = sizeof(*sin6);
		return true;
	}
	return false;
}

int ost_hints_load(const char *path, uint16_t port, struct ost_root_hint **hints, size_t *n,
		   char **names, char *err, size_t errlen)
{
	*hints = NULL;
	*n = 0;
	*names = NULL;
	struct ns_list ns = {0};
	ldns_rr_list *rrs = ldns_rr_list_new();
	ldns_rdf *root = ldns_dname_new_frm_str(".");
	struct ost_root_hint *h = NULL;
	char *store = NULL;
	size_t n_h = 0;
	int ret = rrs && root ? read_records(path, rrs, err, errlen) : -ENOMEM;
	if (ret < 0)
		goto out;
	size_t count = ldns_rr_list_rr_count(rrs);
	ns.v = calloc(count + 1, sizeof(*ns.v));
	h = calloc(count + 1, sizeof(*h));
	if (!ns.v || !h) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS &&
		    ldns_dname_compare(ldns_rr_owner(rr), root) == 0 && ldns_rr_rdf(rr, 0) &&
		    !ns_list_has(&ns, ldns_rr_rdf(rr, 0)))
			ns.v[ns.n++] = ldns_rr_rdf(rr, 0);
	}
	if (ns.n == 0) {
		snprintf(err, errlen, "%s: root hints have no NS records for \".\"", path);
		ret = OST_ECONFIG;
		goto out;
	}
	/* Names go into one block: each hint's name is a string inside it. */
	size_t need = 0;
	for (size_t i = 0; i < ns.n; i++) {
		char *s = ldns_rdf2str(ns.v[i]);
		if (!s) {
			ret = -ENOMEM;
			goto out;
		}
		need += strlen(s) + 1;
		free(s);
	}
	store = malloc(need);
	if (!store) {
		ret = -ENOMEM;
		goto out;
	}
	size_t pos = 0;
	for (size_t k = 0; k < ns.n; k++) {
		char *s = ldns_rdf2str(ns.v[k]);
		if (!s) {
			ret = -ENOMEM;
			goto out;
		}
		size_t sl = strlen(s) + 1;
		memcpy(store + pos, s, sl);
		free(s);
		size_t found = 0;
		for (size_t i = 0; i < count; i++) {
			const ldns_rr *rr = ldns_rr_list_rr(rrs, i);
			if (ldns_dname_compare(ldns_rr_owner(rr), ns.v[k]) != 0 ||
			    !rr_addr(rr, port, &h[n_h].addr, &h[n_h].addrlen))
				continue;
			h[n_h].name = store + pos;
			n_h++;
			found++;
		}
		pos += sl;
		if (found == 0) {
			snprintf(err, errlen, "%s: root name server %s has no A or AAAA record",
				 path, store + pos - sl);
			ret = OST_ECONFIG;
			goto out;
		}
	}
	*hints = h;
	*n = n_h;
	*names = store;
	h = NULL;
	store = NULL;
	ret = 0;
out:
	free(ns.v);
	free(h);
	free(store);
	ldns_rr_list_deep_free(rrs);
	ldns_rdf_deep_free(root);
	return ret;
}

/* The configuration's prefixes (raw bytes) as the engine's (sockaddr). */
static int map_allow(const struct ost_acl *acl, struct ost_resolver_cidr **out)
{
	*out = calloc(acl->n + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < acl->n; i++) {
		const struct ost_cidr *c = &acl->v[i];
		struct ost_resolver_cidr *r = &(*out)[i];
		r->prefix = c->prefix;
		if (c->family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&r->addr;
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, c->bytes, 4);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&r->addr;
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, c->bytes, 16);
		}
	}
	return 0;
}

/* A clock for the cache: thread-safe (the cache's writer thread calls it),
 * no timers (the cache never arms one). */
static uint64_t proc_mono_ms(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t proc_wall_s(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static struct ost_timer *proc_timer_start(void *ctx, uint64_t ms, ost_timer_cb cb, void *arg)
{
	(void)ctx;
	(void)ms;
	(void)cb;
	(void)arg;
	return NULL;
}

static void proc_timer_stop(void *ctx, struct ost_timer *t)
{
	(void)ctx;
	(void)t;
}

static const struct ost_clock_ops proc_clock_ops = {
	.mono_ms = proc_mono_ms,
	.wall_s = proc_wall_s,
	.timer_start = proc_timer_start,
	.timer_stop = proc_timer_stop,
};

/*
 * The trust anchors: the configured file (the lab's own root DS), or else
 * the IANA root anchors built into the validator. A file that does not load
 * is a configuration error, never a silent fallback to the built-in root.
 */
static int load_anchors(struct ost_engine *e, const struct ost_config *cfg, char *err,
			size_t errlen)
{
	int ret = ost_ta_store_new(&e->anchors);
	if (ret < 0) {
		snprintf(err, errlen, "out of memory");
		return ret;
	}
	const char *path = cfg->resolver.trust_anchor_file;
	if (path) {
		ret = ost_ta_load_file(e->anchors, path, err, errlen);
		if (ret < 0)
			return ret == OST_EMALFORMED || ret == OST_ECONFIG || ret == -ENOENT ||
					       ret == -EACCES
				       ? OST_ECONFIG
				       : ret;
	} else {
		ret = ost_ta_add_builtin_root(e->anchors);
		if (ret < 0) {
			snprintf(err, errlen, "out of memory");
			return ret;
		}
	}
	ret = ost_engine_set_config_ntas(e->anchors, cfg, err, errlen);
	if (ret < 0)
		return ret;
	ost_log(OST_LOG_INFO, "server", "trust anchors loaded source=%s zones=%zu config_ntas=%zu",
		path ? path : "built-in-root", ost_ta_count(e->anchors),
		cfg->resolver.n_negative_trust_anchors);
	return 0;
}

int ost_engine_set_config_ntas(struct ost_ta_store *s, const struct ost_config *cfg, char *err,
			       size_t errlen)
{
	size_t n = cfg->resolver.n_negative_trust_anchors;
	ldns_rdf **names = calloc(n ? n : 1, sizeof(*names));
	int ret = names ? 0 : -ENOMEM;
	for (size_t i = 0; ret == 0 && i < n; i++) {
		/* config.c checked every name: a failure here is memory */
		if (ldns_str2rdf_dname(&names[i], cfg->resolver.negative_trust_anchors[i]) !=
		    LDNS_STATUS_OK)
			ret = -ENOMEM;
	}
	if (ret == 0)
		ret = ost_ta_nta_set_config(s, (const ldns_rdf *const *)names, n);
	if (ret < 0)
		snprintf(err, errlen, "negative trust anchors: %s", ost_strerror(ret));
	for (size_t i = 0; names && i < n; i++)
		ldns_rdf_deep_free(names[i]);
	free(names);
	return ret;
}

/* Forward and stub zones of the configuration in the engine's form: one entry
 * per (zone, address); the zone names stay in @p cfg, which outlives the
 * resolver's construction (ost_resolver_new() copies them). */
static int map_zones(struct ost_engine *e, const struct ost_config *cfg)
{
	size_t n = 0;
	for (size_t i = 0; i < cfg->resolver.n_zones; i++)
		n += cfg->resolver.zones[i].n_addrs;
	if (n == 0)
		return 0;
	e->stubs = calloc(n, sizeof(*e->stubs));
	if (!e->stubs)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->resolver.n_zones; i++) {
		const struct ost_zone_servers_cfg *z = &cfg->resolver.zones[i];
		for (size_t j = 0; j < z->n_addrs; j++) {
			struct ost_stub_addr *s = &e->stubs[e->n_stubs++];
			s->zone = z->name;
			s->addr = z->addrs[j].ss;
			s->addrlen = z->addrs[j].len;
			s->forward = z->forward;
		}
		ost_log(OST_LOG_INFO, "server", "%s zone=%s servers=%zu",
			z->forward ? "forward zone" : "stub zone", z->name, z->n_addrs);
	}
	return 0;
}

void ost_engine_resolver_settings(struct ost_resolver_config *r, const struct ost_config *cfg)
{
	r->edns_size = cfg->resolver.edns_buffer_size;
	r->upstream_port = cfg->resolver.upstream_port;
	r->qname_minimisation = cfg->resolver.qname_minimisation;
	r->validation = cfg->resolver.validation;
	r->max_ttl = cfg->cache.max_ttl;
	r->max_neg_ttl = cfg->cache.max_negative_ttl;
	r->max_depth = cfg->resolver.max_depth;
	r->max_subreq = cfg->resolver.max_subrequests;
	r->max_queries = cfg->resolver.max_queries;
	r->max_cname = cfg->resolver.max_cname;
	r->max_time_ms = cfg->resolver.max_time_ms;
	r->initial_rto_ms = cfg->resolver.initial_rto_ms;
	r->max_rto_ms = cfg->resolver.max_rto_ms;
	r->serve_stale = cfg->resolver.serve_stale;
	r->stale_ttl = cfg->resolver.stale_ttl;
	/* RFC 8767 §5 client response timer: the failover section's, the
	 * maximum staleness being its too (through the policy hooks). */
	r->stale_client_timeout_ms = cfg->resilience.fo.client_timer_ms;
	r->mirror_rrsig_margin_s = cfg->resilience.fo.rrsig_margin_s;
}

int ost_engine_load_resolver(struct ost_engine *e, const struct ost_config *cfg, char *err,
			     size_t errlen)
{
	e->clock.ops = &proc_clock_ops;
	e->clock.ctx = NULL;
	if (cfg->resolver.validation) {
		int ret = load_anchors(e, cfg, err, errlen);
		if (ret < 0)
			return ret;
	}
	if (cfg->resolver.root_hints_file || cfg->resolver.n_zones) {
		int ret = 0;
		if (cfg->resolver.root_hints_file)
			ret = ost_hints_load(cfg->resolver.root_hints_file,
					     cfg->resolver.upstream_port, &e->hints, &e->n_hints,
					     &e->names, err, errlen);
		if (ret < 0)
			return ret;
		ret = map_zones(e, cfg);
		if (ret == 0)
			ret = map_allow(&cfg->resolver.upstream_allow, &e->allow);
		if (ret < 0) {
			snprintf(err, errlen, "out of memory");
			return ret;
		}
		struct ost_resolver_config *r = &e->rcfg;
		ost_resolver_config_default(r);
		r->anchors = e->anchors;
		r->hints = e->hints;
		r->n_hints = e->n_hints;
		r->stubs = e->stubs;
		r->n_stubs = e->n_stubs;
		r->allow = e->allow;
		r->n_allow = cfg->resolver.upstream_allow.n;
		ost_engine_resolver_settings(r, cfg);
		ost_log(OST_LOG_INFO, "server",
			"root hints loaded file=%s servers=%zu forward_stub_zones=%zu "
			"qname_minimisation=%d validation=%d",
			cfg->resolver.root_hints_file ? cfg->resolver.root_hints_file : "none",
			e->n_hints, cfg->resolver.n_zones, r->qname_minimisation, r->validation);
	} else {
		ost_log(OST_LOG_WARN, "server",
			"no resolver.root-hints-file and no forward or stub zones: not resolving, "
			"every query is REFUSED");
	}
	return 0;
}

int ost_engine_open(struct ost_engine *e, const struct ost_config *cfg, char *err, size_t errlen)
{
	int lret = ost_engine_load_resolver(e, cfg, err, errlen);
	if (lret < 0)
		return lret;
	if (cfg->cache.path) {
		struct ost_cache_config cc = {
			.path = cfg->cache.path,
			.max_bytes = (size_t)cfg->cache.size,
			.min_ttl = cfg->cache.min_ttl,
			.max_ttl = cfg->cache.max_ttl,
			.max_neg_ttl = cfg->cache.max_negative_ttl,
			.commit_interval_ms = cfg->cache.commit_interval,
			.front_entries = cfg->cache.front_entries ? cfg->cache.front_entries
								  : OST_CACHE_FRONT_OFF,
		};
		int ret = ost_cache_open(&e->cache, &cc, &e->clock);
		if (ret < 0) {
			snprintf(err, errlen, "cannot open cache path=%s: %s", cfg->cache.path,
				 ost_strerror(ret));
			return ret;
		}
		struct ost_cache_stats st;
		ost_cache_stats_get(e->cache, &st);
		ost_log(OST_LOG_INFO, "server", "cache open path=%s entries=%llu bytes_max=%llu",
			cfg->cache.path, (unsigned long long)st.entries,
			(unsigned long long)st.bytes_max);
	}
	return 0;
}

void ost_engine_close(struct ost_engine *e)
{
	if (!e)
		return;
	if (e->cache) {
		ost_cache_sync(e->cache);
		ost_cache_close(e->cache);
	}
	free(e->hints);
	free(e->stubs);
	free(e->names);
	free(e->allow);
	ost_ta_store_free(e->anchors);
	/* Every worker is gone: no configuration of a reload is in use any more. */
	for (size_t i = 0; i < e->n_old_cfgs; i++) {
		ost_config_deinit(e->old_cfgs[i]);
		free(e->old_cfgs[i]);
	}
	free(e->old_cfgs);
	if (e->live_cfg) {
		ost_config_deinit(e->live_cfg);
		free(e->live_cfg);
	}
	for (size_t i = 0; i < e->n_old_res; i++) {
		ost_engine_close(e->old_res[i]);
		free(e->old_res[i]);
	}
	free(e->old_res);
	if (e->live_res) {
		ost_engine_close(e->live_res);
		free(e->live_res);
	}
	memset(e, 0, sizeof(*e));
}
