/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reloading the configuration while ostrovd runs (`ostrovctl reload`,
 * SIGHUP), and what each change of a negative trust anchor entails.
 *
 * A reload is all or nothing up to the point where it applies: the file is
 * read with the same ost_config_load() and ost_engine_load_resolver() that
 * `ostrovd --check-config` runs, into objects of its own, and any error is
 * returned with its FILE:LINE while the daemon keeps its running
 * configuration. Only then are the changes applied, each the way its users
 * can take it (README.md, "Reloading the configuration", has the table):
 *   - client ACL, deny action, TCP limits, the UDP coalescing window, the
 *     upstream port reuse, prefetch: workers read them from w->cfg for every packet
 *     without a lock, so each worker switches its own pointer on its own
 *     loop (engine.c); the configuration a worker left is freed once every
 *     worker has reported the new generation, or with the engine at exit if
 *     one is slow to do so;
 *   - resolver keys (upstream-allow, forward and stub zones, qname-
 *     minimisation, edns-buffer-size, validation, the TTL caps): a resolver
 *     copies its configuration when it is made, so the file's resolver half
 *     (allow-list and zones in the engine's form) becomes the live one and
 *     each worker, on its loop, replaces its resolver by one made from it;
 *     requests in flight start again on the new one. The worker's transport
 *     checks each upstream address against w->cfg's upstream-allow, and
 *     the probes' transport is switched here: a narrowed allow-list binds
 *     the next upstream query of every worker and probe. The hints, the
 *     trust-anchor store, the failover hooks and the mirror stay shared;
 *   - validation switched (on again only if it was on at start): the whole
 *     cache is flushed once the workers run the new mode, since what was
 *     stored without validation would be served to CD=0 clients unchecked,
 *     and bogus answers and cached DNSSEC failures would outlive it;
 *   - cache TTL bounds: three atomics of the cache, applied when storing
 *     (entries stored before keep their expiry);
 *   - failover thresholds and timers, probe timing: this loop runs the
 *     machine's and the probes' timers, so they are set here
 *     (ost_fo_set_config(), ost_probe_set_config()); the state and what was
 *     observed stay;
 *   - log level: one store;
 *   - trust anchors: a new anchor list published atomically in the shared
 *     store (ost_ta_replace_anchors()), and each worker replaces its resolver,
 *     whose key cache holds DNSKEYs proven from the old anchors (requests in
 *     flight start again on the new one); cached answers stay, as they do
 *     across a restart (the cache is persistent): `cache flush` drops them;
 *   - configured negative trust anchors: the store's mutex, then the cache
 *     under each name that changed is flushed (ost_nta_event()).
 * Everything else is fixed at start (sockets, threads, the cache map, the
 * control socket and /metrics, the root hints and upstream port the probes
 * and the drill map were built from, national zones, probe targets, drill
 * map, the mirror, validation in a daemon started without it) and is
 * reported as "needs a restart: KEY"; the running value stays, and the
 * comparison is always with the start configuration, so a later reload says
 * it again until the daemon restarts.
 */
#include "reload.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "ostrov/config.h"
#include "ostrov/log.h"

#include "engine.h"
#include "resilience.h"
#include "worker.h"

/* How long a reload waits for every worker to take its configuration. */
#define WORKER_SWITCH_MS 2000
#define MAX_KEYS         32

const struct ost_config *ost_reload_live_cfg(const struct ost_server *srv)
{
	return srv->engine && srv->engine->live_cfg ? srv->engine->live_cfg : srv->cfg;
}

/* ---- negative trust anchors -------------------------------------------------------- */

static void iso_now(char *buf, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

int ost_nta_event(struct ost_engine *e, const char *event, const struct ost_nta_info *n,
		  const char *operator_name)
{
	int flushed = 0;
	if (e->cache) {
		/* Entries the workers handed to the cache writer before this point
		 * (a bogus answer resolved a moment ago) must not land after the
		 * flush: let the writer commit them first. */
		ost_cache_sync(e->cache);
		ldns_rdf *name = NULL;
		if (ldns_str2rdf_dname(&name, n->name) != LDNS_STATUS_OK)
			return -EINVAL;
		flushed = ost_cache_flush(e->cache, ldns_rdf_data(name));
		ldns_rdf_deep_free(name);
	}
	char ts[40];
	iso_now(ts, sizeof(ts));
	struct ost_buf b = {0};
	ost_buf_printf(&b, "{\"ts\":\"%s\",\"mod\":\"validator\",\"event\":\"%s\",\"zone\":", ts,
		       event);
	ost_buf_json_str(&b, n->name);
	ost_buf_printf(&b, ",\"source\":\"%s\",\"until\":", ost_nta_source_str(n->source));
	if (n->until == OST_NTA_FOREVER)
		ost_buf_printf(&b, "null");
	else
		ost_buf_printf(&b, "%lld", (long long)n->until);
	ost_buf_printf(&b, ",\"operator\":");
	ost_buf_json_str(&b, operator_name);
	ost_buf_printf(&b, ",\"cache_flushed\":%d}", flushed);
	if (!b.has_oom)
		ost_log_json(ost_buf_str(&b));
	ost_buf_deinit(&b);
	return flushed;
}

/* The configured NTAs of @p s, in a heap array (NULL when out of memory). */
static struct ost_nta_info *config_ntas(struct ost_ta_store *s, size_t *n_out)
{
	*n_out = 0;
	size_t n = ost_ta_nta_list(s, INT64_MIN, NULL, 0);
	struct ost_nta_info *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return NULL;
	n = ost_ta_nta_list(s, INT64_MIN, v, n);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].source == OST_NTA_CONFIG)
			v[k++] = v[i];
	*n_out = k;
	return v;
}

static bool nta_in(const struct ost_nta_info *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return true;
	return false;
}

/* ---- comparing configurations ------------------------------------------------------ */

struct keys {
	const char *v[MAX_KEYS];
	size_t n;
};

static void key_add(struct keys *k, const char *key)
{
	if (k->n < MAX_KEYS)
		k->v[k->n++] = key;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool acl_eq(const struct ost_acl *a, const struct ost_acl *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(*a->v)) == 0);
}

static bool listen_eq(const struct ost_addr *a, size_t na, const struct ost_addr *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].len != b[i].len || memcmp(&a[i].ss, &b[i].ss, a[i].len) != 0)
			return false;
	return true;
}

static bool mirror_eq(const struct ost_config *a, const struct ost_config *b)
{
	if (!str_eq(a->mirror.path, b->mirror.path) || a->mirror.size != b->mirror.size ||
	    !listen_eq(a->mirror.listen, a->mirror.n_listen, b->mirror.listen,
		       b->mirror.n_listen) ||
	    a->mirror.n_zones != b->mirror.n_zones)
		return false;
	for (size_t i = 0; i < a->mirror.n_zones; i++) {
		const struct ost_mirror_zone_cfg *x = &a->mirror.zones[i], *y = &b->mirror.zones[i];
		if (!str_eq(x->name, y->name) || x->n_sources != y->n_sources ||
		    !str_eq(x->bootstrap, y->bootstrap) ||
		    !str_eq(x->trust_anchor_file, y->trust_anchor_file) ||
		    x->require_zonemd != y->require_zonemd || x->ixfr != y->ixfr ||
		    x->max_size != y->max_size || x->max_records != y->max_records ||
		    !acl_eq(&x->allow_transfer, &y->allow_transfer) ||
		    !listen_eq(x->notify, x->n_notify, y->notify, y->n_notify))
			return false;
		for (size_t j = 0; j < x->n_sources; j++)
			if (!str_eq(x->sources[j], y->sources[j]))
				return false;
	}
	return true;
}

/* The parts of the resilience section fixed at start: what is probed, the
 * national zones (read by every worker without a lock) and the drill map. */
static bool resilience_fixed_eq(const struct ost_config *a, const struct ost_config *b)
{
	/* ost_config_init() zeroes the whole struct, padding included. */
	return memcmp(&a->resilience.drill, &b->resilience.drill, sizeof(a->resilience.drill)) ==
		       0 &&
	       a->resilience.probe_root_hints == b->resilience.probe_root_hints &&
	       a->resilience.n_targets == b->resilience.n_targets &&
	       (a->resilience.n_targets == 0 ||
		memcmp(a->resilience.targets, b->resilience.targets,
		       a->resilience.n_targets * sizeof(*a->resilience.targets)) == 0) &&
	       a->resilience.n_national_zones == b->resilience.n_national_zones &&
	       memcmp(a->resilience.national_zones, b->resilience.national_zones,
		      sizeof(a->resilience.national_zones)) == 0;
}

/* Same host address (the port is resolver.upstream-port's, reported on its own). */
static bool host_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			      &((const struct sockaddr_in *)b)->sin_addr,
			      sizeof(struct in_addr)) == 0;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)b)->sin6_addr,
			      sizeof(struct in6_addr)) == 0;
	return false;
}

static bool hints_eq(const struct ost_engine *a, const struct ost_engine *b)
{
	if (a->n_hints != b->n_hints)
		return false;
	for (size_t i = 0; i < a->n_hints; i++)
		if (!host_eq(&a->hints[i].addr, &b->hints[i].addr) ||
		    strcmp(a->hints[i].name, b->hints[i].name) != 0)
			return false;
	return true;
}

static bool zones_eq(const struct ost_config *a, const struct ost_config *b)
{
	if (a->resolver.n_zones != b->resolver.n_zones)
		return false;
	for (size_t i = 0; i < a->resolver.n_zones; i++) {
		const struct ost_zone_servers_cfg *x = &a->resolver.zones[i];
		const struct ost_zone_servers_cfg *y = &b->resolver.zones[i];
		if (strcmp(x->name, y->name) != 0 || x->forward != y->forward ||
		    !listen_eq(x->addrs, x->n_addrs, y->addrs, y->n_addrs))
			return false;
	}
	return true;
}

/* The zone @p name in @p c, or NULL. */
static const struct ost_zone_servers_cfg *zone_in(const struct ost_config *c, const char *name)
{
	for (size_t i = 0; i < c->resolver.n_zones; i++)
		if (strcmp(c->resolver.zones[i].name, name) == 0)
			return &c->resolver.zones[i];
	return NULL;
}

/* Is zone @p z of one configuration absent or different in @p other? */
static bool zone_changed(const struct ost_zone_servers_cfg *z, const struct ost_config *other)
{
	const struct ost_zone_servers_cfg *o = zone_in(other, z->name);
	return !o || o->forward != z->forward ||
	       !listen_eq(z->addrs, z->n_addrs, o->addrs, o->n_addrs);
}

/*
 * Forward and stub zones that were added, removed or given other servers:
 * what the cache holds under them was learnt the old way (from the parents'
 * servers, or from other forwarders), so it goes, as for an NTA, and the
 * next query asks the new servers. The names are collected before the
 * workers switch (@p cur may be freed then) and flushed after.
 */
struct zone_flush {
	char (*names)[256]; /* heap array */
	size_t n;
};

static void zones_to_flush(const struct ost_config *cur, const struct ost_config *nc,
			   struct zone_flush *f)
{
	f->names = calloc(cur->resolver.n_zones + nc->resolver.n_zones + 1, sizeof(*f->names));
	f->n = 0;
	if (!f->names) {
		ost_log(OST_LOG_ERR, "server", "reload: out of memory, changed zones not flushed");
		return;
	}
	for (int side = 0; side < 2; side++) {
		const struct ost_config *a = side ? nc : cur, *b = side ? cur : nc;
		for (size_t i = 0; i < a->resolver.n_zones; i++) {
			const struct ost_zone_servers_cfg *z = &a->resolver.zones[i];
			/* a zone in both is taken once, from the old side */
			if (!zone_changed(z, b) || (side && zone_in(b, z->name)))
				continue;
			memcpy(f->names[f->n++], z->name, sizeof(z->name));
		}
	}
}

static void flush_zones(struct ost_engine *e, struct zone_flush *f)
{
	if (e->cache && f->n)
		ost_cache_sync(e->cache);
	for (size_t i = 0; e->cache && i < f->n; i++) {
		ldns_rdf *name = NULL;
		if (ldns_str2rdf_dname(&name, f->names[i]) != LDNS_STATUS_OK)
			continue; /* config.c checked it */
		int n = ost_cache_flush(e->cache, ldns_rdf_data(name));
		ldns_rdf_deep_free(name);
		ost_log(OST_LOG_INFO, "server",
			"reload: forward/stub zone %s changed, cache flushed under it flushed=%d",
			f->names[i], n);
	}
	free(f->names);
	f->names = NULL;
	f->n = 0;
}

static bool ntas_eq(const struct ost_config *a, const struct ost_config *b)
{
	if (a->resolver.n_negative_trust_anchors != b->resolver.n_negative_trust_anchors)
		return false;
	for (size_t i = 0; i < a->resolver.n_negative_trust_anchors; i++)
		if (strcmp(a->resolver.negative_trust_anchors[i],
			   b->resolver.negative_trust_anchors[i]) != 0)
			return false;
	return true;
}

/*
 * Keys fixed at start that @p nc changes, compared with the start
 * configuration @p start; each scalar one gets its running value back in
 * @p nc, so @p nc describes what actually runs (the heap-held ones, listen
 * addresses and paths, are only read at start).
 */
static void restart_keys(const struct ost_config *start, struct ost_config *nc,
			 const struct ost_engine *e, const struct ost_engine *probe, struct keys *k)
{
#define SCALAR(field, key)                        \
	do {                                      \
		if (start->field != nc->field) {  \
			key_add(k, key);          \
			nc->field = start->field; \
		}                                 \
	} while (0)
	if (!listen_eq(start->server.listen, start->server.n_listen, nc->server.listen,
		       nc->server.n_listen))
		key_add(k, "server.listen");
	SCALAR(server.workers, "server.workers");
	if (!str_eq(start->server.control_socket, nc->server.control_socket))
		key_add(k, "server.control-socket");
	/* The /metrics endpoint (server/metrics.c) reads its socket and allow-list at start. */
	if (start->server.metrics_listen.len != nc->server.metrics_listen.len ||
	    memcmp(&start->server.metrics_listen.ss, &nc->server.metrics_listen.ss,
		   start->server.metrics_listen.len) != 0)
		key_add(k, "server.metrics-listen");
	if (!acl_eq(&start->server.metrics_allow, &nc->server.metrics_allow))
		key_add(k, "server.metrics-allow");
	/* The probes and the drill map were built from the hints (server/resilience.c):
	 * every resolver keeps the start hints. */
	if (!str_eq(start->resolver.root_hints_file, nc->resolver.root_hints_file) ||
	    !hints_eq(e, probe))
		key_add(k, "resolver.root-hints-file");
	/* The hints' addresses carry it, and so do the probes. */
	SCALAR(resolver.upstream_port, "resolver.upstream-port");
	/* Validation switched on in a daemon started without it: no trust-anchor
	 * store exists for the workers to share (nor for `nta`). */
	if (!start->resolver.validation)
		SCALAR(resolver.validation, "resolver.validation");
	if (!str_eq(start->cache.path, nc->cache.path))
		key_add(k, "cache.path");
	SCALAR(cache.size, "cache.size");
	/* The writer thread's commit timing is set when the cache is opened. */
	SCALAR(cache.commit_interval, "cache.commit-interval");
	/* Each worker's reader made its front table when the cache was opened. */
	SCALAR(cache.front_entries, "cache.front-entries");
	if (start->resilience.n_national_zones != nc->resilience.n_national_zones ||
	    memcmp(start->resilience.national_zones, nc->resilience.national_zones,
		   sizeof(start->resilience.national_zones)) != 0)
		key_add(k, "resilience.national-zones");
	else if (!resilience_fixed_eq(start, nc))
		key_add(k, "resilience.probes targets or resilience.drill");
	if (!mirror_eq(start, nc))
		key_add(k, "mirror");
#undef SCALAR
}

/* Field by field: the structs have padding, which struct assignments of
 * their defaults need not keep zeroed. */
static bool fo_config_eq(const struct ost_fo_config *a, const struct ost_fo_config *b)
{
	return a->bucket_ms == b->bucket_ms && a->window_ms == b->window_ms &&
	       a->eval_ms == b->eval_ms && a->min_transition_ms == b->min_transition_ms &&
	       a->degrade_below == b->degrade_below &&
	       a->degrade_passive_above == b->degrade_passive_above &&
	       a->passive_min_samples == b->passive_min_samples &&
	       a->degrade_evals == b->degrade_evals && a->isolate_root_max == b->isolate_root_max &&
	       a->isolate_foreign_max == b->isolate_foreign_max &&
	       a->isolate_evals == b->isolate_evals &&
	       a->probe_min_samples == b->probe_min_samples && a->healthy_min == b->healthy_min &&
	       a->healthy_passive_max == b->healthy_passive_max &&
	       a->healthy_evals == b->healthy_evals && a->reachable_min == b->reachable_min &&
	       a->reachable_evals == b->reachable_evals &&
	       a->recovered_evals == b->recovered_evals && a->rrsig_margin_s == b->rrsig_margin_s &&
	       a->max_extend_s == b->max_extend_s &&
	       a->stale_max_normal_s == b->stale_max_normal_s &&
	       a->stale_max_isolated_s == b->stale_max_isolated_s &&
	       a->client_timer_ms == b->client_timer_ms && a->recheck_per_s == b->recheck_per_s &&
	       a->recheck_burst == b->recheck_burst;
}

/* (A new field changes the size: compare it above, then update the number.) */
#if defined(__LP64__)
_Static_assert(sizeof(struct ost_fo_config) == 144, "compare every failover setting");
_Static_assert(sizeof(struct ost_probe_config) == 32, "compare every probe setting");
#endif

static bool probe_config_eq(const struct ost_probe_config *a, const struct ost_probe_config *b)
{
	return a->interval_ms == b->interval_ms && a->jitter == b->jitter &&
	       a->timeout_ms == b->timeout_ms && a->tries == b->tries &&
	       a->tcp_every == b->tcp_every;
}

/* What a reload changes in the resolvers, the cache and the failover machine. */
struct live_plan {
	bool is_resolver;   /* workers rebuild their resolvers from a new resolver half */
	bool is_validation; /* validation switched: the cache is emptied */
	bool is_ttl;        /* the cache's TTL bounds */
	bool is_fo;         /* failover thresholds and timers */
	bool is_probe;      /* probe timing */
};

/*
 * Live keys that @p nc changes, compared with what runs (@p cur). The
 * resolver copies its configuration when made, so a change of any key it
 * reads makes every worker rebuild its resolver (engine.c).
 */
static void live_keys(const struct ost_config *cur, const struct ost_config *nc,
		      struct live_plan *p, struct keys *k)
{
#define LIVE(cond, key, flag)            \
	do {                             \
		if (cond) {              \
			key_add(k, key); \
			p->flag = true;  \
		}                        \
	} while (0)
	LIVE(!acl_eq(&cur->resolver.upstream_allow, &nc->resolver.upstream_allow),
	     "resolver.upstream-allow", is_resolver);
	LIVE(!zones_eq(cur, nc), "resolver.forward-zones/stub-zones", is_resolver);
	LIVE(cur->resolver.qname_minimisation != nc->resolver.qname_minimisation,
	     "resolver.qname-minimisation", is_resolver);
	LIVE(cur->resolver.edns_buffer_size != nc->resolver.edns_buffer_size,
	     "resolver.edns-buffer-size", is_resolver);
	LIVE(cur->resolver.validation != nc->resolver.validation, "resolver.validation",
	     is_resolver);
	p->is_validation = cur->resolver.validation != nc->resolver.validation;
	/* Read by the worker's transport from w->cfg: no rebuild. */
	if (cur->resolver.upstream_port_reuse != nc->resolver.upstream_port_reuse)
		key_add(k, "resolver.upstream-port-reuse");
	/* Read by the worker's hit path from w->cfg: no rebuild either. */
	if (cur->resolver.prefetch != nc->resolver.prefetch)
		key_add(k, "resolver.prefetch");
	/* The resolver caps the TTLs of what it builds, the cache those it stores. */
	LIVE(cur->cache.max_ttl != nc->cache.max_ttl, "cache.max-ttl", is_resolver);
	LIVE(cur->cache.max_negative_ttl != nc->cache.max_negative_ttl, "cache.max-negative-ttl",
	     is_resolver);
	LIVE(cur->cache.min_ttl != nc->cache.min_ttl, "cache.min-ttl", is_ttl);
	if (cur->cache.max_ttl != nc->cache.max_ttl ||
	    cur->cache.max_negative_ttl != nc->cache.max_negative_ttl)
		p->is_ttl = true;
	LIVE(!fo_config_eq(&cur->resilience.fo, &nc->resilience.fo), "resilience.failover", is_fo);
	LIVE(!probe_config_eq(&cur->resilience.probe, &nc->resilience.probe), "resilience.probes",
	     is_probe);
	LIVE(cur->resolver.max_depth != nc->resolver.max_depth, "resolver.max-depth", is_resolver);
	LIVE(cur->resolver.max_subrequests != nc->resolver.max_subrequests,
	     "resolver.max-subrequests", is_resolver);
	LIVE(cur->resolver.max_queries != nc->resolver.max_queries, "resolver.max-queries",
	     is_resolver);
	LIVE(cur->resolver.max_cname != nc->resolver.max_cname, "resolver.max-cname", is_resolver);
	LIVE(cur->resolver.max_time_ms != nc->resolver.max_time_ms, "resolver.max-time-ms",
	     is_resolver);
	LIVE(cur->resolver.initial_rto_ms != nc->resolver.initial_rto_ms, "resolver.initial-rto-ms",
	     is_resolver);
	LIVE(cur->resolver.max_rto_ms != nc->resolver.max_rto_ms, "resolver.max-rto-ms",
	     is_resolver);
	LIVE(cur->resolver.serve_stale != nc->resolver.serve_stale, "resolver.serve-stale",
	     is_resolver);
	LIVE(cur->resolver.stale_ttl != nc->resolver.stale_ttl, "resolver.stale-ttl", is_resolver);
	/* The resolver's copies of the client response timer and the mirror
	 * margin are the failover section's (reported as resilience.failover). */
	if (cur->resilience.fo.client_timer_ms != nc->resilience.fo.client_timer_ms ||
	    cur->resilience.fo.rrsig_margin_s != nc->resilience.fo.rrsig_margin_s)
		p->is_resolver = true;
#undef LIVE
}

/*
 * The resolver configuration of @p nc for the workers: what runs (@p live),
 * with every key a reload may change taken from @p nc and its arrays from
 * @p res (the resolver half ost_engine_load_resolver() made of @p nc, which
 * holds them from now on). The root hints, the trust-anchor store, the
 * failover hooks and the mirror stay the running ones.
 */
static void make_rcfg(struct ost_engine *res, const struct ost_resolver_config *live,
		      const struct ost_config *nc)
{
	struct ost_resolver_config r = *live;
	r.allow = res->allow;
	r.n_allow = nc->resolver.upstream_allow.n;
	r.stubs = res->stubs;
	r.n_stubs = res->n_stubs;
	/* (nc's upstream-port is the running one: restart_keys() put it back) */
	ost_engine_resolver_settings(&r, nc);
	res->rcfg = r;
	/* Its own copies of what the running engine keeps: not needed, not kept. */
	ost_ta_store_free(res->anchors);
	res->anchors = NULL;
}

/* ---- applying -------------------------------------------------------------------------- */

/* Remember @p x (a replaced live object) in the array @p v of @p n until no
 * worker can use it; out of memory, leak it rather than free it under one. */
#define RETIRE(v, n, x, what)                                                            \
	do {                                                                             \
		if (x) {                                                                 \
			__typeof__(v) nv_ = realloc((v), ((n) + 1) * sizeof(*(v)));      \
			if (nv_) {                                                       \
				(v) = nv_;                                               \
				(v)[(n)++] = (x);                                        \
			} else {                                                         \
				ost_log(OST_LOG_ERR, "server",                           \
					"reload: out of memory, one %s leaked", (what)); \
			}                                                                \
		}                                                                        \
	} while (0)

/*
 * Hand @p nc (and, when @p res is not NULL, the resolver half the workers
 * rebuild from) to every worker; free what no worker runs with any more.
 * @p rcfg: the resolver configuration to rebuild from, or NULL.
 */
static void publish(struct ost_server *srv, struct ost_config *nc, struct ost_engine *res,
		    const struct ost_resolver_config *rcfg, bool *is_partial)
{
	struct ost_engine *e = srv->engine;
	unsigned gen = ++e->cfg_gen;
	unsigned told = 0;
	*is_partial = false;
	for (unsigned i = 0; i < srv->n_workers; i++) {
		if (ost_worker_engine_set_config(&srv->workers[i], nc, rcfg, gen) == 0)
			told++;
		else
			*is_partial = true;
	}
	RETIRE(e->old_cfgs, e->n_old_cfgs, e->live_cfg, "configuration");
	e->live_cfg = nc;
	if (res) {
		RETIRE(e->old_res, e->n_old_res, e->live_res, "resolver configuration");
		e->live_res = res;
	}
	/* Workers switch within one loop iteration; wait for them (bounded) so the
	 * configurations they left can go now rather than at exit. */
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		unsigned done = 0;
		for (unsigned i = 0; i < srv->n_workers; i++)
			done += ost_worker_engine_config_gen(&srv->workers[i]) == gen;
		if (done == told)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms > WORKER_SWITCH_MS) {
			ost_log(OST_LOG_WARN, "server",
				"reload: %u of %u workers switched within %d ms; the "
				"configurations "
				"they ran with are kept until a later reload or exit",
				done, told, WORKER_SWITCH_MS);
			*is_partial = true;
			return;
		}
		struct timespec pause = {0, 1000000};
		nanosleep(&pause, NULL);
	}
	if (*is_partial)
		return;
	for (size_t i = 0; i < e->n_old_cfgs; i++) {
		ost_config_deinit(e->old_cfgs[i]);
		free(e->old_cfgs[i]);
	}
	e->n_old_cfgs = 0;
	for (size_t i = 0; i < e->n_old_res; i++) {
		ost_engine_close(e->old_res[i]);
		free(e->old_res[i]);
	}
	e->n_old_res = 0;
}

static void write_list(struct ost_buf *out, bool is_json, const char *label, const struct keys *k)
{
	if (is_json) {
		ost_buf_printf(out, ",\"%s\":[", label);
		for (size_t i = 0; i < k->n; i++) {
			ost_buf_printf(out, "%s", i ? "," : "");
			ost_buf_json_str(out, k->v[i]);
		}
		ost_buf_printf(out, "]");
		return;
	}
	ost_buf_printf(out, "%s:", label);
	for (size_t i = 0; i < k->n; i++)
		ost_buf_printf(out, "%s %s", i ? "," : "", k->v[i]);
	ost_buf_printf(out, "%s\n", k->n ? "" : " none");
}

/* Make @p nc's NTAs the store's configured ones; each added or removed one
 * flushes the cache under it and is logged (ost_nta_event()). */
static int apply_ntas(struct ost_engine *e, const struct ost_config *nc, const char *operator_name)
{
	char err[256] = "";
	size_t nb = 0, na = 0;
	struct ost_nta_info *before = config_ntas(e->anchors, &nb), *after = NULL;
	int ret = before ? ost_engine_set_config_ntas(e->anchors, nc, err, sizeof(err)) : -ENOMEM;
	if (ret == 0)
		after = config_ntas(e->anchors, &na);
	if (ret < 0 || !after) {
		ost_log(OST_LOG_ERR, "server", "reload: negative trust anchors: %s",
			ret < 0 && err[0] ? err : "out of memory");
		free(before);
		return ret < 0 ? ret : -ENOMEM;
	}
	for (size_t i = 0; i < nb; i++)
		if (!nta_in(after, na, before[i].name))
			(void)ost_nta_event(e, "nta_remove", &before[i], operator_name);
	for (size_t i = 0; i < na; i++)
		if (!nta_in(before, nb, after[i].name))
			(void)ost_nta_event(e, "nta_add", &after[i], operator_name);
	free(before);
	free(after);
	return 0;
}

/* The reply to the operator and the log lines of a reload that applied. */
static int report(const char *path, const char *operator_name, const struct keys *changed,
		  const struct keys *needs, bool is_json, struct ost_buf *out)
{
	for (size_t i = 0; i < needs->n; i++)
		ost_log(OST_LOG_WARN, "server", "needs a restart: %s", needs->v[i]);
	struct ost_buf line = {0};
	for (size_t i = 0; i < changed->n; i++)
		ost_buf_printf(&line, "%s%s", i ? "," : "", changed->v[i]);
	ost_log(OST_LOG_INFO, "server",
		"reloaded file=%s operator=%s changed=%s restart_needed=%zu", path,
		operator_name ? operator_name : "-", changed->n ? ost_buf_str(&line) : "none",
		needs->n);
	ost_buf_deinit(&line);
	if (is_json) {
		ost_buf_printf(out, "{\"ok\":true,\"file\":");
		ost_buf_json_str(out, path);
		write_list(out, true, "changed", changed);
		write_list(out, true, "needs_restart", needs);
		ost_buf_printf(out, "}\n");
	} else {
		ost_buf_printf(out, "reloaded %s\n", path);
		write_list(out, false, "changed", changed);
		for (size_t i = 0; i < needs->n; i++)
			ost_buf_printf(out, "needs a restart: %s (running value kept)\n",
				       needs->v[i]);
	}
	return out->has_oom ? -ENOMEM : 0;
}

int ost_reload(struct ost_server *srv, const char *operator_name, bool is_json, struct ost_buf *out)
{
	const struct ost_config *start = srv->cfg;
	const struct ost_config *cur = ost_reload_live_cfg(srv);
	struct ost_engine *e = srv->engine;
	char err[1024] = "";
	struct ost_engine *probe = calloc(1, sizeof(*probe));
	struct ost_config *nc = calloc(1, sizeof(*nc));
	if (!nc || !probe) {
		free(nc);
		free(probe);
		ost_buf_printf(out, "out of memory");
		return -ENOMEM;
	}
	/* 1. Everything --check-config checks, into objects of our own. */
	int ret = ost_config_load(nc, start->path, err, sizeof(err));
	if (ret == 0)
		ret = ost_engine_load_resolver(probe, nc, err, sizeof(err));
	if (ret < 0) {
		ost_log(OST_LOG_ERR, "server",
			"reload failed, running configuration kept operator=%s err=\"%s\"",
			operator_name ? operator_name : "-", err);
		ost_buf_printf(out, "%s (running configuration kept)", err[0] ? err : "error");
		ost_engine_close(probe);
		free(probe);
		ost_config_deinit(nc);
		free(nc);
		return ret;
	}
	/* 2. What cannot change now. */
	struct keys needs = {0}, changed = {0};
	restart_keys(start, nc, e, probe, &needs);
	bool has_workers_engine = srv->n_workers > 0 && srv->workers[0].engine;
	/* 3. What can: worker-read keys ... */
	if (!acl_eq(&cur->access.allow, &nc->access.allow))
		key_add(&changed, "access.allow");
	if (cur->access.deny_action != nc->access.deny_action)
		key_add(&changed, "access.deny-action");
	if (cur->server.tcp_idle_timeout_ms != nc->server.tcp_idle_timeout_ms)
		key_add(&changed, "server.tcp-idle-timeout");
	if (cur->server.tcp_max_connections != nc->server.tcp_max_connections)
		key_add(&changed, "server.tcp-max-connections");
	if (cur->server.udp_coalesce_us != nc->server.udp_coalesce_us)
		key_add(&changed, "server.udp-coalesce-us");
	if (cur->server.udp_gso != nc->server.udp_gso)
		key_add(&changed, "server.udp-gso");
	/* ... the resolvers', the cache's and the failover machine's ... */
	struct live_plan plan = {0};
	live_keys(cur, nc, &plan, &changed);
	/* A resolver needs root hints (the running ones) or a forward/stub zone
	 * (ost_resolver_new()), and ost_engine_load_resolver() maps the new
	 * allow-list and zones only for a file with one of them: a file that
	 * leaves the running resolvers with neither is refused as a whole. */
	bool has_new_res = (nc->resolver.root_hints_file || nc->resolver.n_zones) &&
			   (e->n_hints > 0 || probe->n_stubs > 0);
	if (has_workers_engine && plan.is_resolver && !has_new_res) {
		snprintf(
			err, sizeof(err),
			"%s: resolver: no root-hints-file and no forward or stub zone left for the "
			"running resolvers (restart to run without a resolver)",
			start->path);
		ost_log(OST_LOG_ERR, "server",
			"reload failed, running configuration kept operator=%s err=\"%s\"",
			operator_name ? operator_name : "-", err);
		ost_buf_printf(out, "%s (running configuration kept)", err);
		ost_engine_close(probe);
		free(probe);
		ost_config_deinit(nc);
		free(nc);
		return OST_ECONFIG;
	}
	if (!has_workers_engine) {
		/* Without a resolver the workers have no switch point: keep
		 * them as they are. What the failover machine (there is one
		 * only with a resolver) and the cache take stays live. */
		size_t k = 0;
		for (size_t i = 0; i < changed.n; i++) {
			bool is_own = (e->res && strncmp(changed.v[i], "resilience.", 11) == 0) ||
				      (e->cache && strcmp(changed.v[i], "cache.min-ttl") == 0);
			if (is_own)
				changed.v[k++] = changed.v[i];
			else
				key_add(&needs, changed.v[i]);
		}
		changed.n = k;
		plan.is_resolver = plan.is_validation = false;
		if (plan.is_ttl) {
			/* The caps stay where the resolvers have them. */
			nc->cache.max_ttl = cur->cache.max_ttl;
			nc->cache.max_negative_ttl = cur->cache.max_negative_ttl;
		}
	}
	/* ... the log level ... */
	if (cur->server.log_level != nc->server.log_level) {
		key_add(&changed, "server.log-level");
		ost_log_set_level(nc->server.log_level);
	}
	/* ... NTA durations (read by `nta add`) ... */
	if (cur->resolver.nta_lifetime_s != nc->resolver.nta_lifetime_s)
		key_add(&changed, "resolver.nta-lifetime");
	if (cur->resolver.nta_max_lifetime_s != nc->resolver.nta_max_lifetime_s)
		key_add(&changed, "resolver.nta-max-lifetime");
	/* ... trust anchors (both validating: validation itself needs a restart) ... */
	bool is_new_anchors = false;
	if (e->anchors && probe->anchors && !ost_ta_same_anchors(e->anchors, probe->anchors)) {
		ret = ost_ta_replace_anchors(e->anchors, probe->anchors);
		is_new_anchors = ret == 0;
		if (ret == 0)
			key_add(&changed, "resolver.trust-anchor-file");
		else
			key_add(&needs, "resolver.trust-anchor-file");
	}
	/* ... and configured NTAs. */
	if (e->anchors && !ntas_eq(cur, nc))
		key_add(apply_ntas(e, nc, operator_name) == 0 ? &changed : &needs,
			"resolver.negative-trust-anchors");
	/* 4. The cache's TTL bounds apply to what is stored from now on. */
	if (plan.is_ttl && e->cache)
		ost_cache_set_ttl_bounds(e->cache, nc->cache.min_ttl, nc->cache.max_ttl,
					 nc->cache.max_negative_ttl);
	/* 5. The failover machine and the probes (this loop runs their timers),
	 * and the probes' transport takes the new upstream-allow at once. */
	if (e->res && ost_resilience_reconfigure(e->res, nc, plan.is_fo, plan.is_probe) < 0)
		ost_log(OST_LOG_ERR, "server",
			"reload: resilience settings not applied, see the failover log line");
	/* 6. The workers switch to the new configuration, and rebuild their
	 * resolvers when a key of theirs or the trust anchors changed. */
	struct ost_engine *res = NULL;
	const struct ost_resolver_config *rcfg = NULL;
	if (plan.is_resolver) {
		make_rcfg(probe, e->live_res ? &e->live_res->rcfg : &e->rcfg, nc);
		res = probe;
		probe = NULL;
		rcfg = &res->rcfg;
	} else if (is_new_anchors) {
		rcfg = e->live_res ? &e->live_res->rcfg : &e->rcfg;
	}
	ost_engine_close(probe);
	free(probe);
	struct zone_flush zflush = {0};
	if (plan.is_resolver && !zones_eq(cur, nc))
		zones_to_flush(cur, nc, &zflush);
	bool is_partial = false;
	if (has_workers_engine) {
		publish(srv, nc, res, rcfg, &is_partial);
	} else {
		/* Nobody reads it but the control handlers and the probes'
		 * transport, both on this loop: keep it as the live one. */
		if (e->live_cfg) {
			ost_config_deinit(e->live_cfg);
			free(e->live_cfg);
		}
		e->live_cfg = nc;
	}
	flush_zones(e, &zflush);
	/* 7. Validation switched: the cache holds what the other mode made.
	 * Back on, answers stored while it was off were never checked and the
	 * hit path would serve them to CD=0 clients as before; off, bogus
	 * answers and cached DNSSEC failures (RFC 9520) would go on failing
	 * names the operator wants answered. As for an NTA, the cache goes
	 * (here all of it), once every worker runs the new mode (or is logged
	 * as late). */
	if (plan.is_validation && e->cache) {
		ost_cache_sync(e->cache);
		int n = ost_cache_flush(e->cache, NULL);
		ost_log(OST_LOG_WARN, "server",
			"reload: validation %s, the cache was emptied of what the other mode "
			"stored flushed=%d late_workers=%d",
			nc->resolver.validation ? "on" : "off", n, is_partial);
	}
	return report(start->path, operator_name, &changed, &needs, is_json, out);
}
