/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The zone mirror: configured zones, their policy and trust anchors, and the
 * import pipeline "parse -> verify -> commit, or reject and keep the last
 * good version" (RFC 8806 §2-3, RFC 8976 §4, localroot-bcp: never use a
 * copy with a lower serial, never use one that failed verification).
 *
 * Sources of a version: a zone file (bootstrap at start, or operator
 * import) and records handed over by the transfer client. The AXFR/IXFR
 * client (zones/xfr.c), NOTIFY handling, SOA-refresh scheduling, answering
 * from the mirror in the resolver and serving AXFR downstream are later work;
 * their hooks are ost_mirror_import_rrs() (feed a transferred version),
 * struct ost_mirror_zone_config.sources (where xfr.c will fetch from),
 * ost_mirror_zone_status() (refresh/retry/expire deadlines for scheduling)
 * and the store's read transactions (answers).
 *
 * Trust anchors: a zone's own configured DS/DNSKEY set, or, when none is
 * configured, the DS RRset for the zone found in a mirrored parent zone (the
 * root copy for ru.), which the parent's verification already proved.
 *
 * Every verification outcome is counted per zone and verdict, the data of
 * mirror_verify_total{zone,result} (standards.md §7.3), and logged with its
 * RFC 8976 §4 reason.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/clock.h"
#include "ostrov/log.h"
#include "ostrov/zone.h"

/** One configured zone. */
struct mzone {
	char name[256];
	ldns_rdf *dname;
	char *bootstrap;
	char **sources;
	size_t n_sources;
	struct ost_zone_policy policy;
	const ldns_rr_list *anchors;
	bool is_unsigned_ok;
	bool is_usable;
	bool is_verified; /* the stored copy passed verification (maybe past its deadline) */
	bool is_own_anchor;
	enum ost_zone_verdict last_verdict;
	char last_reason[256];
	uint64_t verify_total[OST_ZV_COUNT];
};

struct ost_mirror {
	struct ost_zone_store *store;
	const struct ost_clock *clock;
	struct mzone *zones;
	size_t n;
	pthread_mutex_t lock; /* zone state and counters */
	/* Imports are serialised: the serial check (RFC 1982) and the commit
	 * must not interleave with another import of the same zone. */
	pthread_mutex_t import_lock;
	/* Wall seconds of the last change of any zone's current data. */
	_Atomic int64_t changed_at;
};

int ost_mirror_new(struct ost_zone_store *store, const struct ost_clock *clock,
		   struct ost_mirror **out)
{
	struct ost_mirror *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->store = store;
	m->clock = clock;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->import_lock, NULL);
	/* Cached answers from an earlier run were built from copies that are
	 * only now re-verified (and may have been replaced offline). */
	atomic_store(&m->changed_at, ost_clock_wall_s(clock));
	*out = m;
	return 0;
}

static void mzone_deinit(struct mzone *z)
{
	ldns_rdf_deep_free(z->dname);
	free(z->bootstrap);
	for (size_t i = 0; i < z->n_sources; i++)
		free(z->sources[i]);
	free(z->sources);
}

void ost_mirror_free(struct ost_mirror *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		mzone_deinit(&m->zones[i]);
	free(m->zones);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->import_lock);
	free(m);
}

static struct mzone *find_zone(struct ost_mirror *m, const char *name)
{
	ldns_rdf *d = NULL;
	struct mzone *found = NULL;
	if (ldns_str2rdf_dname(&d, name) != LDNS_STATUS_OK)
		return NULL;
	for (size_t i = 0; i < m->n && !found; i++)
		if (ldns_dname_compare(m->zones[i].dname, d) == 0)
			found = &m->zones[i];
	ldns_rdf_deep_free(d);
	return found;
}

int ost_mirror_add_zone(struct ost_mirror *m, const struct ost_mirror_zone_config *cfg)
{
	struct mzone z = {0}, *nz;

	if (!cfg->name || ldns_str2rdf_dname(&z.dname, cfg->name) != LDNS_STATUS_OK)
		return -EINVAL;
	if (find_zone(m, cfg->name)) {
		ldns_rdf_deep_free(z.dname);
		return -EEXIST;
	}
	/* Keep the canonical presentation form ("ru.") as the zone's name. */
	char *canon = ldns_rdf2str(z.dname);
	snprintf(z.name, sizeof(z.name), "%s", canon ? canon : cfg->name);
	free(canon);
	z.policy = cfg->policy;
	z.anchors = cfg->anchors;
	z.is_unsigned_ok = cfg->is_unsigned_ok;
	z.is_own_anchor = cfg->is_own_anchor;
	z.last_verdict = OST_ZV_OK;
	if (cfg->bootstrap_file && !(z.bootstrap = strdup(cfg->bootstrap_file)))
		goto nomem;
	if (cfg->n_sources) {
		z.sources = calloc(cfg->n_sources, sizeof(*z.sources));
		if (!z.sources)
			goto nomem;
		for (size_t i = 0; i < cfg->n_sources; i++) {
			z.sources[i] = strdup(cfg->sources[i]);
			if (!z.sources[i])
				goto nomem;
			z.n_sources++;
		}
	}
	pthread_mutex_lock(&m->lock);
	nz = realloc(m->zones, (m->n + 1) * sizeof(*nz));
	if (!nz) {
		pthread_mutex_unlock(&m->lock);
		goto nomem;
	}
	m->zones = nz;
	m->zones[m->n++] = z;
	pthread_mutex_unlock(&m->lock);
	return 0;
nomem:
	mzone_deinit(&z);
	return -ENOMEM;
}

size_t ost_mirror_zone_count(const struct ost_mirror *m)
{
	return m->n;
}

/* The DS RRset of @p z from the closest mirrored, usable ancestor zone. */
static ldns_rr_list *parent_ds(struct ost_mirror *m, const struct mzone *z)
{
	const struct mzone *best = NULL;
	struct ost_zone_rtxn *t;
	struct ost_zone_rrset_view v;
	ldns_rr_list *ds = NULL;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n; i++) {
		const struct mzone *p = &m->zones[i];
		if (p == z || !p->is_usable || !ldns_dname_is_subdomain(z->dname, p->dname))
			continue;
		if (!best || ldns_dname_label_count(p->dname) > ldns_dname_label_count(best->dname))
			best = p;
	}
	pthread_mutex_unlock(&m->lock);
	if (!best || ost_zone_rtxn_begin(m->store, best->name, &t) != 0)
		return NULL;
	if (ost_zone_rtxn_find(t, z->dname, LDNS_RR_TYPE_DS, &v) != 0 ||
	    ost_zone_rrset_view_to_ldns(&v, &ds, NULL) != 0)
		ds = NULL;
	ost_zone_rtxn_end(t);
	return ds;
}

static void record(struct ost_mirror *m, struct mzone *z, const struct ost_zone_verify_result *res,
		   const char *what, const char *source)
{
	pthread_mutex_lock(&m->lock);
	z->verify_total[res->verdict]++;
	z->last_verdict = res->verdict;
	snprintf(z->last_reason, sizeof(z->last_reason), "%s", res->reason);
	pthread_mutex_unlock(&m->lock);
	if (res->verdict == OST_ZV_OK)
		ost_log(OST_LOG_INFO, "zones",
			"mirror %s ok zone=%s serial=%u source=%s zonemd=%s records=%llu", what,
			z->name, res->info.serial, source, ost_zonemd_result_str(res->info.zonemd),
			(unsigned long long)res->info.records);
	else
		ost_log(OST_LOG_WARN, "zones",
			"mirror %s rejected zone=%s result=%s source=%s reason=\"%s\"", what,
			z->name, ost_zone_verdict_str(res->verdict), source, res->reason);
}

/* Resolve the anchors for @p z: configured, from the parent mirror, or none. */
static int zone_anchors(struct ost_mirror *m, struct mzone *z, const ldns_rr_list **anchors,
			ldns_rr_list **owned, struct ost_zone_verify_result *res)
{
	*owned = NULL;
	*anchors = z->anchors;
	if (z->anchors && ldns_rr_list_rr_count(z->anchors) > 0)
		return 0;
	*owned = parent_ds(m, z);
	*anchors = *owned;
	if (*owned && ldns_rr_list_rr_count(*owned) > 0)
		return 0;
	if (z->is_unsigned_ok)
		return 0;
	res->verdict = OST_ZV_DNSKEY_NOT_CHAINED;
	snprintf(res->reason, sizeof(res->reason),
		 "no trust anchor for %.128s: none configured and no DS in a mirrored parent",
		 z->name);
	return OST_EBOGUS;
}

static int import_locked(struct ost_mirror *m, struct mzone *z, const struct ost_zone_data *data,
			 const char *source, int64_t fetched_at, bool use_prev,
			 struct ost_zone_verify_result *res);

/* Verify @p data (ownership stays with the caller) and commit it. */
static int import_data(struct ost_mirror *m, struct mzone *z, const struct ost_zone_data *data,
		       const char *source, int64_t fetched_at, bool use_prev,
		       struct ost_zone_verify_result *res)
{
	int rc;

	pthread_mutex_lock(&m->import_lock);
	rc = import_locked(m, z, data, source, fetched_at, use_prev, res);
	pthread_mutex_unlock(&m->import_lock);
	return rc;
}

static int import_locked(struct ost_mirror *m, struct mzone *z, const struct ost_zone_data *data,
			 const char *source, int64_t fetched_at, bool use_prev,
			 struct ost_zone_verify_result *res)
{
	struct ost_zone_verify_ctx ctx = {.clock = m->clock};
	struct ost_zone_meta prev, meta;
	ldns_rr_list *owned = NULL;
	int rc;

	if (use_prev && ost_zone_store_get_meta(m->store, z->name, &prev) == 0) {
		ctx.has_prev_serial = true;
		ctx.prev_serial = prev.serial;
	}
	rc = zone_anchors(m, z, &ctx.anchors, &owned, res);
	if (rc == 0)
		rc = ost_zone_verify(data, &ctx, &z->policy, res);
	ldns_rr_list_deep_free(owned);
	if (rc != 0)
		return rc < 0 && rc != OST_EBOGUS ? rc : OST_EBOGUS;

	memset(&meta, 0, sizeof(meta));
	meta.serial = res->info.serial;
	meta.refresh = res->info.refresh;
	meta.retry = res->info.retry;
	meta.expire = res->info.expire;
	meta.fetched_at = fetched_at;
	meta.verified_at = ost_clock_wall_s(m->clock);
	/* RFC 8806 §3: after SOA expire without a refresh, the copy must not be used. */
	meta.soa_expire_deadline = fetched_at + (int64_t)res->info.expire;
	meta.rrsig_horizon = res->info.rrsig_horizon;
	meta.zonemd_result = (uint8_t)res->info.zonemd;
	meta.zonemd_alg = res->info.zonemd_alg;
	snprintf(meta.source, sizeof(meta.source), "%s", source);
	rc = ost_zone_store_commit(m->store, data, &meta);
	if (rc) {
		res->verdict = OST_ZV_STORE_ERROR;
		snprintf(res->reason, sizeof(res->reason), "verified but not stored: %s",
			 ost_strerror(rc));
		return rc;
	}
	pthread_mutex_lock(&m->lock);
	z->is_usable = true;
	z->is_verified = true;
	pthread_mutex_unlock(&m->lock);
	atomic_store(&m->changed_at, ost_clock_wall_s(m->clock));
	return 0;
}

static int import_file(struct ost_mirror *m, struct mzone *z, const char *path, bool use_prev,
		       struct ost_zone_verify_result *res)
{
	struct ost_zone_data *data = NULL;
	char source[96];
	int rc;

	snprintf(source, sizeof(source), "file:%s", path);
	rc = ost_zone_parse_file(z->name, path, &z->policy, &data, res);
	if (rc == 0) {
		int64_t now = ost_clock_wall_s(m->clock);
		rc = import_data(m, z, data, source, now, use_prev, res);
	} else if (res->verdict == OST_ZV_OK) {
		res->verdict = OST_ZV_PARSE_ERROR;
	}
	ost_zone_data_free(data);
	record(m, z, res, "import", source);
	return rc == 0 ? 0 : rc == -ENOMEM ? rc : OST_EBOGUS;
}

int ost_mirror_import_file(struct ost_mirror *m, const char *zone, const char *path,
			   struct ost_zone_verify_result *res)
{
	struct ost_zone_verify_result local;
	struct mzone *z = find_zone(m, zone);
	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (!z)
		return -ENOENT;
	return import_file(m, z, path, true, res);
}

int ost_mirror_import_rrs(struct ost_mirror *m, const char *zone, const ldns_rr_list *rrs,
			  const char *source, int64_t fetched_at,
			  struct ost_zone_verify_result *res)
{
	struct ost_zone_verify_result local;
	struct ost_zone_data *data = NULL;
	struct mzone *z = find_zone(m, zone);
	int rc;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (!z)
		return -ENOENT;
	rc = ost_zone_from_rrs(z->name, rrs, &z->policy, &data, res);
	if (rc == 0)
		rc = import_data(m, z, data, source, fetched_at, true, res);
	ost_zone_data_free(data);
	record(m, z, res, "import", source);
	return rc == 0 ? 0 : rc == -ENOMEM ? rc : OST_EBOGUS;
}

/* Re-verify the stored copy of one zone; returns whether it is usable. */
static bool restart_zone(struct ost_mirror *m, struct mzone *z)
{
	struct ost_zone_verify_result res;
	struct ost_zone_verify_ctx ctx = {.clock = m->clock};
	struct ost_zone_meta meta;
	ldns_rr_list *owned = NULL;
	int64_t now = ost_clock_wall_s(m->clock);
	int rc;

	if (ost_zone_store_get_meta(m->store, z->name, &meta) != 0)
		return false;
	memset(&res, 0, sizeof(res));
	rc = zone_anchors(m, z, &ctx.anchors, &owned, &res);
	if (rc == 0)
		rc = ost_zone_store_reverify(m->store, z->name, &ctx, &z->policy, &res);
	ldns_rr_list_deep_free(owned);
	bool verified = rc == 0;
	if (rc == 0 && now >= meta.soa_expire_deadline) {
		res.verdict = OST_ZV_SOA_EXPIRED;
		snprintf(res.reason, sizeof(res.reason),
			 "stored copy (serial %u) is past its SOA expire deadline", meta.serial);
		rc = OST_ESTALE_MIRROR;
	}
	if (rc != 0 && res.verdict == OST_ZV_OK)
		res.verdict = OST_ZV_STORE_ERROR;
	record(m, z, &res, "reverify", meta.source);
	pthread_mutex_lock(&m->lock);
	z->is_usable = rc == 0;
	/* Kept apart: an operator may extend a copy past its deadline
	 * (ost_fo_extend_mirror()), but never one that failed verification. */
	z->is_verified = verified;
	pthread_mutex_unlock(&m->lock);
	atomic_store(&m->changed_at, ost_clock_wall_s(m->clock));
	return rc == 0;
}

int ost_mirror_start(struct ost_mirror *m)
{
	int unusable = 0;

	/* Parents first (fewer labels), so that a child can take its DS from them. */
	for (unsigned labels = 0; labels < 128; labels++) {
		for (size_t i = 0; i < m->n; i++) {
			struct mzone *z = &m->zones[i];
			struct ost_zone_verify_result res;
			if (ldns_dname_label_count(z->dname) != labels)
				continue;
			if (restart_zone(m, z))
				continue;
			/* The stored copy (if any) is unusable, so the bootstrap file
			 * may carry an older serial than it. */
			if (!z->bootstrap || import_file(m, z, z->bootstrap, false, &res) != 0)
				unusable++;
		}
	}
	return unusable;
}

static int fill_status(struct ost_mirror *m, struct mzone *z, struct ost_mirror_zone_status *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", z->name);
	out->has_version = ost_zone_store_get_meta(m->store, z->name, &out->meta) == 0;
	pthread_mutex_lock(&m->lock);
	out->is_usable = z->is_usable && out->has_version &&
			 ost_clock_wall_s(m->clock) < out->meta.soa_expire_deadline;
	out->is_verified = z->is_verified && out->has_version;
	out->is_own_anchor = z->is_own_anchor;
	out->last_verdict = z->last_verdict;
	memcpy(out->last_reason, z->last_reason, sizeof(out->last_reason));
	memcpy(out->verify_total, z->verify_total, sizeof(out->verify_total));
	pthread_mutex_unlock(&m->lock);
	return 0;
}

int ost_mirror_zone_status(struct ost_mirror *m, const char *zone,
			   struct ost_mirror_zone_status *out)
{
	struct mzone *z = find_zone(m, zone);
	return z ? fill_status(m, z, out) : -ENOENT;
}

int64_t ost_mirror_changed_at(const struct ost_mirror *m)
{
	return atomic_load(&((struct ost_mirror *)m)->changed_at);
}

bool ost_mirror_is_outdated(const struct ost_mirror *m, int64_t stored_at)
{
	return m && stored_at <= ost_mirror_changed_at(m);
}

int ost_mirror_zone_status_at(struct ost_mirror *m, size_t i, struct ost_mirror_zone_status *out)
{
	return i < m->n ? fill_status(m, &m->zones[i], out) : -ENOENT;
}
