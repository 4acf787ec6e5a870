/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The failover machine, drills and probes inside ostrovd (resilience/README.md,
 * "Hooks for ostrovd"). This file builds them from the `resilience:` section
 * and the root hints, on the main loop, and answers the two questions the
 * workers ask for every client answer: which class a question name has, and
 * (through resilience/hooks.c) what the machine allows the resolver to do.
 *
 * Threads: the machine and the drill lock internally; what must be
 * thread-safe in the daemon is their clock's mono_ms (workers feed passive
 * outcomes), hence ost_uv_clock_init_hr(). Timers are armed only on the main
 * loop: by the machine's evaluation timer, the probes, and drill start/stop,
 * which the control executor runs there.
 */
#include "resilience.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "ostrov/log.h"
#include "ostrov/zone.h"

/* "ADDR/32" or "ADDR/128" of a socket address, for the destination map. */
static int host_prefix(const struct sockaddr *sa, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
		snprintf(buf, cap, "%s/32", host);
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host,
			  sizeof(host));
		snprintf(buf, cap, "%s/128", host);
	} else {
		return -EINVAL;
	}
	return 0;
}

static enum ost_dest_class target_dest(enum ost_fo_class c)
{
	switch (c) {
	case OST_FO_ROOT:
		return OST_DEST_ROOT;
	case OST_FO_NATIONAL:
		return OST_DEST_NATIONAL;
	default:
		return OST_DEST_FOREIGN_TLD;
	}
}

/*
 * The map the drill cuts by and the hooks forbid by: the configured dest-*
 * prefixes first, then every root hint and probe target as a host route.
 * The map takes the longest prefix, and the first of equal ones, so an
 * operator's explicit /32 wins over what we add here.
 */
static int build_map(struct ost_drill_config *dc, const struct ost_config *cfg,
		     const struct ost_engine *e, char *err, size_t errlen)
{
	char pfx[INET6_ADDRSTRLEN + 8];
	for (size_t i = 0; e && i < e->n_hints; i++) {
		if (host_prefix((const struct sockaddr *)&e->hints[i].addr, pfx, sizeof(pfx)) < 0)
			continue;
		if (ost_dest_map_add(&dc->map, pfx, OST_DEST_ROOT) < 0)
			goto full;
	}
	for (size_t i = 0; i < cfg->resilience.n_targets; i++) {
		const struct ost_probe_target *t = &cfg->resilience.targets[i];
		if (host_prefix((const struct sockaddr *)&t->addr.ss, pfx, sizeof(pfx)) < 0)
			continue;
		if (ost_dest_map_add(&dc->map, pfx, target_dest(t->cls)) < 0)
			goto full;
	}
	return 0;
full:
	snprintf(err, errlen,
		 "resilience: more than %d destination prefixes (dest-*, root hints and probe "
		 "targets together)",
		 OST_DEST_MAX_PREFIXES);
	return OST_ECONFIG;
}

static int add_probes(struct ost_resilience *r, const struct ost_config *cfg,
		      const struct ost_engine *e)
{
	int ret;
	if (cfg->resilience.probe_root_hints) {
		for (size_t i = 0; e && i < e->n_hints; i++) {
			ret = ost_probe_add(r->probe, (const struct sockaddr *)&e->hints[i].addr,
					    e->hints[i].addrlen, OST_FO_ROOT, ".",
					    LDNS_RR_TYPE_SOA);
			if (ret < 0)
				return ret;
		}
	}
	for (size_t i = 0; i < cfg->resilience.n_targets; i++) {
		const struct ost_probe_target *t = &cfg->resilience.targets[i];
		ret = ost_probe_add(r->probe, (const struct sockaddr *)&t->addr.ss, t->addr.len,
				    t->cls, t->zone, t->qtype);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int national_zones(struct ost_resilience *r, const struct ost_config *cfg)
{
	for (size_t i = 0; i < cfg->resilience.n_national_zones; i++) {
		ldns_rdf *rd = NULL;
		if (ldns_str2rdf_dname(&rd, cfg->resilience.national_zones[i]) != LDNS_STATUS_OK)
			return -EINVAL;
		ldns_dname2canonical(rd);
		size_t n = ldns_rdf_size(rd);
		if (n <= sizeof(r->national[0])) {
			memcpy(r->national[r->n_national], ldns_rdf_data(rd), n);
			r->national_len[r->n_national++] = n;
		}
		ldns_rdf_deep_free(rd);
	}
	return 0;
}

int ost_resilience_open(struct ost_resilience *r, uv_loop_t *loop, const struct ost_config *cfg,
			const struct ost_engine *e, char *err, size_t errlen)
{
	r->loop = loop;
	ost_uv_clock_init_hr(&r->clock, loop);
	int ret = national_zones(r, cfg);
	if (ret < 0) {
		snprintf(err, errlen, "resilience.national-zones: bad name");
		return OST_ECONFIG;
	}
	ret = ost_uv_transport_init(&r->tp, loop, &cfg->resolver.upstream_allow);
	if (ret < 0)
		goto fail;
	r->has_tp = true;
	struct ost_drill_config dc = cfg->resilience.drill;
	ret = build_map(&dc, cfg, e, err, errlen);
	if (ret < 0)
		return ret;
	ret = ost_fo_new(&cfg->resilience.fo, &r->clock.clock, &r->fo);
	if (ret < 0)
		goto fail;
	uint64_t seed = uv_hrtime() ^ ((uint64_t)getpid() << 32);
	ret = ost_drill_new(&dc, &r->clock.clock, &r->tp.tp, r->fo, seed, &r->drill);
	if (ret < 0)
		goto fail;
	ret = ost_probe_new(&cfg->resilience.probe, &r->clock.clock,
			    ost_drill_probe_transport(r->drill), r->fo, seed + 1, &r->probe);
	if (ret < 0)
		goto fail;
	ret = add_probes(r, cfg, e);
	if (ret < 0)
		goto fail;
	ost_fo_resolver_hooks_init(&r->hooks, r->fo, ost_drill_map(r->drill), &r->policy);
	size_t n_probe = ost_probe_count(r->probe);
	ost_log(OST_LOG_INFO, "failover", "resilience ready probes=%zu national_zones=%zu", n_probe,
		r->n_national);
	if (n_probe == 0)
		ost_log(OST_LOG_WARN, "failover",
			"no probe targets: isolation is never detected, only `ostrovctl isolate` "
			"changes the state");
	return 0;
fail:
	snprintf(err, errlen, "resilience: cannot set up the failover machine: %s",
		 ost_strerror(ret));
	return ret;
}

/* How often the mirrors' horizons are fed to the machine (they move by refreshes). */
#define MIRROR_FEED_MS 5000

/* @return true when every configured zone has a verified version */
static bool feed_mirrors(struct ost_resilience *r)
{
	bool all = true;
	size_t n = ost_mirror_zone_count(r->mirror);
	for (size_t i = 0; i < n; i++) {
		struct ost_mirror_zone_status st;
		if (ost_mirror_zone_status_at(r->mirror, i, &st) != 0 || !st.has_version) {
			all = false;
			continue;
		}
		if (ost_fo_feed_mirror(r->fo, st.name, st.meta.serial, st.meta.soa_expire_deadline,
				       st.meta.rrsig_horizon, st.is_verified) < 0)
			ost_log(OST_LOG_WARN, "failover",
				"cannot track mirror zone=%s (more than %d)", st.name,
				OST_FO_MAX_MIRRORS);
	}
	return all;
}

static void mirror_timer_cb(void *arg)
{
	struct ost_resilience *r = arg;
	r->mirror_timer = NULL;
	(void)feed_mirrors(r);
	r->mirror_timer =
		ost_clock_timer_start(&r->clock.clock, MIRROR_FEED_MS, mirror_timer_cb, r);
}

void ost_resilience_attach_mirror(struct ost_resilience *r, struct ost_mirror *m)
{
	r->mirror = m;
}

int ost_resilience_start(struct ost_resilience *r)
{
	int ret = ost_probe_start(r->probe);
	if (ret < 0)
		return ret;
	if (!r->mirror) {
		ost_resilience_mirror_loaded(r, true);
		return 0;
	}
	/*
	 * A zone without a verified version yet (first start, transfer pending)
	 * is MIRROR_FAILED: NORMAL without the mirror, with an alarm (standards.md
	 * §7.2 LOADING); its horizons reach the machine once it is fetched.
	 */
	ost_resilience_mirror_loaded(r, feed_mirrors(r));
	r->mirror_timer =
		ost_clock_timer_start(&r->clock.clock, MIRROR_FEED_MS, mirror_timer_cb, r);
	return r->mirror_timer ? 0 : -ENOMEM;
}

void ost_resilience_mirror_loaded(struct ost_resilience *r, bool is_ok)
{
	int ret =
		ost_fo_event(r->fo, is_ok ? OST_FO_EV_MIRROR_READY : OST_FO_EV_MIRROR_FAILED, NULL);
	if (ret < 0)
		ost_log(OST_LOG_WARN, "failover", "mirror start event refused state=%s",
			ost_fo_state_str(ost_fo_state(r->fo)));
}

int ost_resilience_face(struct ost_resilience *r, const struct ost_transport *tp,
			const struct ost_clock *clock, const struct ost_transport **out)
{
	return ost_drill_add_face(r->drill, tp, clock, true, out);
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

enum ost_fo_name_class ost_resilience_name_class(const struct ost_resilience *r,
						 const uint8_t *qname, size_t len)
{
	if (len <= 1)
		return OST_FO_NAME_ROOT;
	/* Each suffix at a label boundary against each zone (lengths compare as is). */
	for (size_t off = 0; off < len && qname[off] != 0; off += (size_t)qname[off] + 1) {
		size_t rest = len - off;
		for (size_t z = 0; z < r->n_national; z++) {
			if (r->national_len[z] != rest)
				continue;
			size_t i = 0;
			while (i < rest && lower(qname[off + i]) == r->national[z][i])
				i++;
			if (i == rest)
				return OST_FO_NAME_NATIONAL;
		}
	}
	return OST_FO_NAME_FOREIGN;
}

int ost_resilience_reconfigure(struct ost_resilience *r, const struct ost_config *cfg, bool is_fo,
			       bool is_probe)
{
	/* Narrowing upstream-allow binds the probes' next query too (TEAM.md rule 1). */
	r->tp.allow = &cfg->resolver.upstream_allow;
	int ret = 0;
	if (is_fo)
		ret = ost_fo_set_config(r->fo, &cfg->resilience.fo);
	if (is_probe && r->probe) {
		int pret = ost_probe_set_config(r->probe, &cfg->resilience.probe);
		if (ret == 0)
			ret = pret;
	}
	return ret;
}

void ost_resilience_stop(struct ost_resilience *r)
{
	if (r->probe)
		ost_probe_stop(r->probe);
	if (r->mirror_timer)
		ost_clock_timer_stop(&r->clock.clock, r->mirror_timer);
	r->mirror_timer = NULL;
}

void ost_resilience_close(struct ost_resilience *r)
{
	ost_resilience_stop(r);
	ost_probe_free(r->probe);
	r->probe = NULL;
	ost_drill_free(r->drill);
	r->drill = NULL;
	ost_fo_free(r->fo);
	r->fo = NULL;
	if (r->has_tp)
		ost_uv_transport_deinit(&r->tp);
	r->has_tp = false;
	ost_uv_clock_deinit(&r->clock);
}
