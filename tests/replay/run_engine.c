/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The engine adapter of the replay runner: runs scenarios against the real
 * resolution engine (include/ostrov/resolver.h) on the runner's fake clock
 * and fake transport. Built only when that header exists.
 *
 * Translation of the scenario's settings (rpl_config.c) to
 * struct ost_resolver_config:
 *   stub-zone "." stub-addr / Deckard stub-addr -> hints (name: stub-host or
 *       Deckard stub-name, else "k.root-servers.net."; port 53 unless given);
 *       do-ip4/do-ip6 "no" drops hints of that family
 *   qname-minimisation / query-minimization -> qname_minimisation
 *   module-config "...validator..." (Unbound default) -> validation
 *   every RANGE ADDRESS and hint -> the upstream allow-list (/32, /128); a
 *       RANGE without ADDRESS answers any destination, so then 0.0.0.0/0 and
 *       ::/0. Safe: the transport is the in-process fake, no socket exists.
 *   cache-min-ttl / cache-max-ttl / cache-max-negative-ttl -> the cache
 *       (LMDB in a fresh temp directory; only when cache/lmdb.c is built,
 *       else the engine runs without a cache)
 *   stub-zone (other than ".") name + stub-addr -> stubs (port 53 unless
 *       given); a scenario may have stub zones and no root hints
 *   serve-expired -> serve_stale (Unbound's default is off; ours on)
 *   serve-expired-ttl -> max_stale_s (0, "no limit", keeps our 1 day)
 *   serve-expired-reply-ttl -> stale_ttl
 *   serve-expired-client-timeout -> stale_client_timeout_ms (0: at once)
 *   serve-original-ttl -> serve_original_ttl; as in Unbound it also turns
 *       off cache-min-ttl / cache-max-ttl (the cache keeps its defaults)
 *   serve-expired-ttl-reset -> stale_ttl_reset
 *   Deckard files -> qmin_qtype NS: Deckard's scenarios are written for
 *       resolvers that minimise with QTYPE NS (Knot Resolver; RFC 9156
 *       §2.1 allows it), Unbound's for QTYPE A, our default
 *   trust-anchor (with module-config validator) -> anchors (a store of the
 *       scenario's DS/DNSKEY records, replacing the built-in root ones) and
 *       val_limits.allow_dsa (the scenarios are signed with DSA);
 *       aggressive-nsec: always on when validating (RFC 8198)
 *   auth-zone with for-upstream yes and for-downstream no (RFC 8806: the
 *       copy answers the resolver itself) -> the zone mirror (zone.h) over a
 *       store in the temp directory, the zonefile as its bootstrap file,
 *       zonemd-check / zonemd-reject-absence -> ZONEMD mode, the scenario's
 *       anchors at the zone's apex as its own anchors (unsigned zones
 *       accepted when none applies); with for-upstream no as well the copy
 *       is used by nobody and is left out
 * Settings the engine has no configuration for yet make open() return
 * -ENOTSUP naming the feature, so such a scenario fails loudly unless it is
 * in skip.txt: auth-zone answering clients (for-downstream), forward zones,
 * domain-insecure, and Unbound-only options.
 * val-override-date is the fake clock's start (rpl_run.c), not a config key.
 */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ostrov/resolver.h"
#include "ostrov/zone.h"

#include "rpl.h"

#ifdef OST_REPLAY_HAVE_CACHE
#include "ostrov/cache.h"
#endif

/** Largest client response we build. */
#define ANSWER_CAP 65535

struct engine;

/** One client query in flight. */
struct engine_req {
	struct engine *eng;      /**< owner */
	uint8_t *wire;           /**< client query, owned */
	size_t len;              /**< its length */
	rpl_answer_cb cb;        /**< driver callback */
	void *arg;               /**< its argument */
	struct engine_req *next; /**< all requests */
};

struct engine {
	struct ost_resolver *r;
	struct ost_resolver_config cfg;
	struct ost_root_hint *hints;
	struct ost_stub_addr *stubs;
	struct ost_resolver_cidr *allow;
	size_t nallow;
	char **hint_names;
	size_t nhint_names;
	struct engine_req *reqs;
	struct ost_zone_store *zstore; /**< the mirror's store (auth-zone), or NULL */
	struct ost_mirror *mirror;     /**< the mirror, or NULL */
	char *zonedir;                 /**< the store's temp directory, owned */
	ldns_rr_list **zanchors;       /**< per auth-zone: its own trust anchors (borrowed RRs) */
	size_t nzanchors;              /**< number of @p zanchors */
	void *cache;                   /**< struct ost_cache * when built with the cache */
	char *cachedir;                /**< its temp directory */

	struct ost_ta_store *ta; /**< the scenario's trust anchors */
};

static int add_allow(struct engine *e, const struct sockaddr_storage *ss, uint8_t prefix)
{
	struct ost_resolver_cidr *a = realloc(e->allow, (e->nallow + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	e->allow = a;
	memset(&a[e->nallow], 0, sizeof(*a));
	a[e->nallow].addr = *ss;
	a[e->nallow].prefix = prefix;
	e->nallow++;
	return 0;
}

/** The allow-list: every address the script knows, or everything if a range has none. */
static int build_allow(struct engine *e, const struct rpl_settings *s,
		       const struct rpl_scenario *sc)
{
	bool any = false;
	int ret = 0;

	for (size_t i = 0; i < sc->nranges && !any; i++)
		any = sc->ranges[i].naddrs == 0;
	if (any) {
		struct sockaddr_storage v4 = {.ss_family = AF_INET}, v6 = {.ss_family = AF_INET6};
		if ((ret = add_allow(e, &v4, 0)) == 0)
			ret = add_allow(e, &v6, 0);
		return ret;
	}
	for (size_t i = 0; i < sc->nranges && ret == 0; i++)
		for (size_t j = 0; j < sc->ranges[i].naddrs && ret == 0; j++)
			ret = add_allow(e, &sc->ranges[i].addrs[j],
					sc->ranges[i].addrs[j].ss_family == AF_INET ? 32 : 128);
	for (size_t i = 0; i < s->root.naddrs && ret == 0; i++)
		ret = add_allow(e, &s->root.addrs[i],
				s->root.addrs[i].ss_family == AF_INET ? 32 : 128);
	for (size_t i = 0; i < s->nstubs && ret == 0; i++)
		for (size_t j = 0; j < s->stubs[i].naddrs && ret == 0; j++)
			ret = add_allow(e, &s->stubs[i].addrs[j],
					s->stubs[i].addrs[j].ss_family == AF_INET ? 32 : 128);
	return ret;
}

/** Fill @p out from @p a, port 53 unless given. @return its length */
static socklen_t with_port(struct sockaddr_storage *out, const struct sockaddr_storage *a)
{
	*out = *a;
	if (a->ss_family == AF_INET) {
		struct sockaddr_in *in4 = (struct sockaddr_in *)out;
		if (!in4->sin_port)
			in4->sin_port = htons(53);
		return sizeof(*in4);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
	if (!in6->sin6_port)
		in6->sin6_port = htons(53);
	return sizeof(*in6);
}

/** Add one entry per (zone, address) of @p z, each owning its zone string. */
static int add_zone_addrs(struct engine *e, const struct rpl_settings *s,
			  const struct rpl_zone_servers *z, bool forward)
{
	for (size_t j = 0; j < z->naddrs; j++) {
		const struct sockaddr_storage *a = &z->addrs[j];
		struct ost_stub_addr *st = &e->stubs[e->cfg.n_stubs];
		if ((a->ss_family == AF_INET && !s->do_ip4) ||
		    (a->ss_family == AF_INET6 && !s->do_ip6))
			continue;
		st->zone = ldns_rdf2str(z->name);
		if (!st->zone)
			return -ENOMEM;
		st->addrlen = with_port(&st->addr, a);
		st->forward = forward;
		e->cfg.n_stubs++;
	}
	return 0;
}

/** Non-root stub zones and forward zones (any, "." too). */
static int build_stubs(struct engine *e, const struct rpl_settings *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->nstubs; i++)
		n += s->stubs[i].naddrs;
	for (size_t i = 0; i < s->nforwards; i++)
		n += s->forwards[i].naddrs;
	e->stubs = calloc(n ? n : 1, sizeof(*e->stubs));
	if (!e->stubs)
		return -ENOMEM;
	e->cfg.stubs = e->stubs;
	int ret = 0;
	for (size_t i = 0; ret == 0 && i < s->nstubs; i++)
		ret = add_zone_addrs(e, s, &s->stubs[i], false);
	for (size_t i = 0; ret == 0 && i < s->nforwards; i++)
		ret = add_zone_addrs(e, s, &s->forwards[i], true);
	return ret;
}

static int build_hints(struct engine *e, const struct rpl_settings *s)
{
	e->hints = calloc(s->root.naddrs ? s->root.naddrs : 1, sizeof(*e->hints));
	if (!e->hints)
		return -ENOMEM;
	for (size_t i = 0; i < s->root.naddrs; i++) {
		struct sockaddr_storage a = s->root.addrs[i];
		struct ost_root_hint *h = &e->hints[e->cfg.n_hints];

		if ((a.ss_family == AF_INET && !s->do_ip4) ||
		    (a.ss_family == AF_INET6 && !s->do_ip6))
			continue;
		if (a.ss_family == AF_INET) {
			struct sockaddr_in *in4 = (struct sockaddr_in *)&a;
			if (!in4->sin_port)
				in4->sin_port = htons(53);
			h->addrlen = sizeof(*in4);
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a;
			if (!in6->sin6_port)
				in6->sin6_port = htons(53);
			h->addrlen = sizeof(*in6);
		}
		h->addr = a;
		/* Unbound's stub-addr gives no name; the scenarios call the root
		 * server K.ROOT-SERVERS.NET., as Deckard's default stub-name does. */
		h->name = i < s->root.nhosts ? s->root.hosts[i]
			  : s->root.nhosts   ? s->root.hosts[0]
					     : "k.root-servers.net.";
		e->cfg.n_hints++;
	}
	e->cfg.hints = e->hints;
	return e->cfg.n_hints || !s->root.naddrs ? 0 : -ENOTSUP;
}

/** @return the first setting the engine cannot honour yet, or NULL. */
static const char *unsupported(const struct rpl_settings *s)
{
	if (s->unsupported)
		return s->unsupported;
	for (size_t i = 0; i < s->nauth_zones; i++) {
		if (s->auth_zones[i].for_downstream)
			return "auth-zone answering clients (for-downstream)";
		if (s->auth_zones[i].for_upstream && !s->auth_zones[i].zonefile &&
		    !s->auth_zones[i].zonefile_temp)
			return "auth-zone without a zonefile (transfers)";
	}
	if (s->ninsecure)
		return "domain-insecure (negative trust anchors)";
	if (!s->root.naddrs && !s->nstubs && !s->nforwards)
		return "a scenario without root hints, stub or forward zones";
	return NULL;
}

#ifdef OST_REPLAY_HAVE_CACHE
static int open_cache(struct engine *e, const struct rpl_settings *s, const struct ost_clock *clock)
{
	const char *tmp = getenv("TMPDIR");
	struct ost_cache_config cc = {
		.max_bytes = 64u << 20,
		/* serve-original-ttl ignores cache-min-ttl and cache-max-ttl */
		.min_ttl = s->serve_original_ttl ? 0 : s->cache_min_ttl,
		.max_ttl = s->serve_original_ttl ? 0 : s->cache_max_ttl,
		.max_neg_ttl = s->cache_max_negative_ttl,
		.max_readers = 8,
	};
	struct ost_cache *c = NULL;
	int ret;

	if (asprintf(&e->cachedir, "%s/ost_replay_cache.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
		return -ENOMEM;
	if (!mkdtemp(e->cachedir)) {
		ret = -errno;
		free(e->cachedir);
		e->cachedir = NULL;
		return ret;
	}
	cc.path = e->cachedir;
	ret = ost_cache_open(&c, &cc, clock);
	e->cache = c;
	return ret;
}
#endif

/* auth-zone -> the zone mirror: store, zones, first import. */
/* The written path of the zone file of @p a (TEMPFILE_NAME or a path). */
static const char *zonefile_path(const struct rpl_auth_zone *a, const struct rpl_scenario *sc)
{
	for (size_t i = 0; a->zonefile_temp && i < sc->ntempfiles; i++)
		if (strcmp(sc->tempfiles[i].name, a->zonefile_temp) == 0)
			return sc->tempfiles[i].path;
	return a->zonefile;
}

static int open_mirror(struct engine *e, const struct rpl_settings *s,
		       const struct rpl_scenario *sc, const struct ost_clock *clock, char *err,
		       size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	struct ost_zone_store_opts so = {.map_size = 64u << 20};
	int ret;

	if (!s->nauth_zones)
		return 0;
	if (asprintf(&e->zonedir, "%s/ost_replay_zones.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
		return -ENOMEM;
	if (!mkdtemp(e->zonedir)) {
		ret = -errno;
		free(e->zonedir);
		e->zonedir = NULL;
		return ret;
	}
	so.path = e->zonedir;
	if ((ret = ost_zone_store_open(&so, &e->zstore)) != 0 ||
	    (ret = ost_mirror_new(e->zstore, clock, &e->mirror)) != 0) {
		snprintf(err, errlen, "cannot open the zone store: %s", ost_strerror(ret));
		return ret;
	}
	e->zanchors = calloc(s->nauth_zones, sizeof(*e->zanchors));
	if (!e->zanchors)
		return -ENOMEM;
	e->nzanchors = s->nauth_zones;
	for (size_t i = 0; i < s->nauth_zones; i++) {
		const struct rpl_auth_zone *a = &s->auth_zones[i];
		if (!a->for_upstream)
			continue; /* nor for-downstream (unsupported()): unused */
		char *name = ldns_rdf2str(a->name);
		ldns_rr_list *own = ldns_rr_list_new();

		/* the zone's own anchors (DS/DNSKEY at its apex); others (the
		 * root's) are the validator's business, not the copy's */
		for (size_t k = 0; own && k < ldns_rr_list_rr_count(s->trust_anchors); k++) {
			ldns_rr *ta = ldns_rr_list_rr(s->trust_anchors, k);
			if (ldns_dname_compare(ldns_rr_owner(ta), a->name) == 0)
				ldns_rr_list_push_rr(own, ta);
		}
		e->zanchors[i] = own;
		struct ost_mirror_zone_config zc = {
			.name = name,
			.bootstrap_file = zonefile_path(a, sc),
			.policy = {.zonemd = a->zonemd_reject_absence ? OST_ZONEMD_REQUIRE
					     : a->zonemd_check        ? OST_ZONEMD_CHECK_IF_PRESENT
								      : OST_ZONEMD_SKIP},
			.anchors = own && ldns_rr_list_rr_count(own) ? own : NULL,
			.is_unsigned_ok = true,
		};

		ret = name && own ? ost_mirror_add_zone(e->mirror, &zc) : -ENOMEM;
		free(name);
		if (ret != 0) {
			snprintf(err, errlen, "auth-zone: %s", ost_strerror(ret));
			return ret;
		}
	}
	/* A zone that does not verify stays unusable: normal resolution
	 * takes over (RFC 8806 §3), which is what the scenarios check. */
	(void)ost_mirror_start(e->mirror);
	e->cfg.mirror = e->mirror;
	e->cfg.mirror_store = e->zstore;
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void engine_close(void *st)
{
	struct engine *e = st;

	if (!e)
		return;
	/* cancels what is in flight without callbacks */
	ost_resolver_free(e->r);
	while (e->reqs) {
		struct engine_req *rq = e->reqs;
		e->reqs = rq->next;
		free(rq->wire);
		free(rq);
	}
#ifdef OST_REPLAY_HAVE_CACHE
	if (e->cache)
		ost_cache_close(e->cache);
#endif
	if (e->cachedir) {
		nftw(e->cachedir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		free(e->cachedir);
	}
	ost_mirror_free(e->mirror);
	ost_zone_store_close(e->zstore);
	for (size_t i = 0; i < e->nzanchors; i++)
		ldns_rr_list_free(e->zanchors[i]);
	free(e->zanchors);
	if (e->zonedir) {
		nftw(e->zonedir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		free(e->zonedir);
	}
	ost_ta_store_free(e->ta);
	free(e->hints);
	for (size_t i = 0; e->stubs && i < e->cfg.n_stubs; i++)
		free((char *)e->stubs[i].zone);
	free(e->stubs);
	free(e->allow);
	free(e);
}

static int engine_open(void **st, const struct rpl_settings *s, const struct rpl_scenario *sc,
		       const struct ost_clock *clock, const struct ost_transport *tp, char *err,
		       size_t errlen)
{
	const char *why = unsupported(s);
	struct engine *e;
	int ret;

	if (why) {
		snprintf(err, errlen, "the engine has no configuration for %s yet", why);
		return -ENOTSUP;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	ost_resolver_config_default(&e->cfg);
	e->cfg.qname_minimisation = s->qname_minimisation;
	e->cfg.minimal_responses = s->minimal_responses;
	e->cfg.max_ttl = s->cache_max_ttl;
	e->cfg.max_neg_ttl = s->cache_max_negative_ttl;
	e->cfg.validation = s->validation && ldns_rr_list_rr_count(s->trust_anchors) > 0;
	if (s->is_deckard)
		e->cfg.qmin_qtype = LDNS_RR_TYPE_NS;
	e->cfg.serve_stale = s->serve_expired;
	if (s->serve_expired_ttl)
		e->cfg.max_stale_s = s->serve_expired_ttl;
	e->cfg.stale_ttl = s->serve_expired_reply_ttl;
	e->cfg.stale_client_timeout_ms = s->serve_expired_client_timeout;
	e->cfg.serve_original_ttl = s->serve_original_ttl;
	e->cfg.stale_ttl_reset = s->serve_expired_ttl_reset;
	if (s->serve_original_ttl)
		e->cfg.max_ttl = 0;
	if (e->cfg.validation) {
		/* The scenario's anchors replace the built-in root anchors.
		 * Unbound's scenarios are signed with DSA (algorithm 3), which
		 * RFC 8624 retired; accept it here as a legacy setting. */
		if ((ret = ost_ta_store_new(&e->ta)) != 0)
			goto fail;
		for (size_t i = 0; i < ldns_rr_list_rr_count(s->trust_anchors); i++) {
			ret = ost_ta_add_rr(e->ta, ldns_rr_list_rr(s->trust_anchors, i));
			if (ret != 0) {
				snprintf(err, errlen, "bad trust anchor: %s", ost_strerror(ret));
				goto fail;
			}
		}
		e->cfg.anchors = e->ta;
		e->cfg.val_limits.allow_dsa = true;
	}
	if ((ret = build_hints(e, s)) != 0 || (ret = build_stubs(e, s)) != 0 ||
	    (ret = build_allow(e, s, sc)) != 0) {
		if (ret == -ENOTSUP)
			snprintf(err, errlen, "no root hint of an enabled address family");
		goto fail;
	}
	e->cfg.allow = e->allow;
	e->cfg.n_allow = e->nallow;
#ifdef OST_REPLAY_HAVE_CACHE
	if ((ret = open_cache(e, s, clock)) != 0) {
		snprintf(err, errlen, "cannot open the cache: %s", ost_strerror(ret));
		goto fail;
	}
#endif
	if ((ret = open_mirror(e, s, sc, clock, err, errlen)) != 0)
		goto fail;
	ret = ost_resolver_new(&e->r, &e->cfg, e->cache, clock, tp);
	if (ret != 0) {
		snprintf(err, errlen, "ost_resolver_new: %s", ost_strerror(ret));
		goto fail;
	}
	*st = e;
	return 0;
fail:
	engine_close(e);
	return ret;
}

static void on_result(const struct ost_result *res, void *arg)
{
	struct engine_req *rq = arg;
	uint8_t *buf = malloc(ANSWER_CAP);
	size_t len = 0;

	if (!buf)
		return;
	if (ost_result_to_wire(res, rq->wire, rq->len, false, rq->eng->cfg.edns_size, buf,
			       ANSWER_CAP, &len) == 0)
		rq->cb(rq->arg, buf, len);
	free(buf);
}

static int engine_query(void *st, const uint8_t *wire, size_t len, rpl_answer_cb cb, void *arg)
{
	struct engine *e = st;
	struct engine_req *rq;
	struct ost_request *handle = NULL;
	ldns_pkt *q = NULL;
	unsigned flags = 0;
	int ret;

	if (ldns_wire2pkt(&q, wire, len) != LDNS_STATUS_OK || ldns_pkt_qdcount(q) != 1) {
		ldns_pkt_free(q);
		return -EINVAL;
	}
	rq = calloc(1, sizeof(*rq));
	if (!rq || !(rq->wire = malloc(len))) {
		free(rq);
		ldns_pkt_free(q);
		return -ENOMEM;
	}
	memcpy(rq->wire, wire, len);
	rq->len = len;
	rq->eng = e;
	rq->cb = cb;
	rq->arg = arg;
	rq->next = e->reqs;
	e->reqs = rq;
	if (ldns_pkt_rd(q))
		flags |= OST_RF_RD;
	if (ldns_pkt_cd(q))
		flags |= OST_RF_CD;
	if (ldns_pkt_edns_do(q))
		flags |= OST_RF_DO;
	const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	ret = ost_resolve(e->r, ldns_rdf_data(ldns_rr_owner(qr)), ldns_rr_get_type(qr),
			  ldns_rr_get_class(qr), flags, on_result, rq, &handle);
	ldns_pkt_free(q);
	return ret;
}

static void engine_tick(void *st)
{
	struct engine *e = st;

	/* the server commits the cache batch once per loop iteration; a step is ours */
	(void)ost_resolver_commit(e->r);
#ifdef OST_REPLAY_HAVE_CACHE
	/* The commit is handed to the cache's writer thread; wait for it so
	 * the next step sees the writes (the scenarios assume a synchronous
	 * cache, and a race would make them flaky). */
	if (e->cache)
		ost_cache_sync(e->cache);
#endif
}

const struct rpl_resolver_ops rpl_engine_resolver = {
	.name = "engine",
	.open = engine_open,
	.query = engine_query,
	.tick = engine_tick,
	.close = engine_close,
};
