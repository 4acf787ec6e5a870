/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Translation of a scenario's CONFIG block (unbound.conf clauses, or
 * Deckard's flat key set) into struct rpl_settings: root hints, stub and
 * forward zones, trust anchors, the pinned validation date, QNAME
 * minimisation, serve-stale knobs, cache limits and auth zones, each with
 * the default the scenario's author relied on (Unbound's defaults for
 * Unbound files, Deckard's for Deckard files; FORMAT.md §3). The engine
 * adapter maps these onto the engine's own configuration.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rpl.h"

__attribute__((format(printf, 3, 4))) static int cfg_fail(char *err, size_t errlen, const char *fmt,
							  ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_bool(const char *v, bool *out)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0 ||
	    strcasecmp(v, "true") == 0)
		*out = true;
	else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0 || strcmp(v, "0") == 0 ||
		 strcasecmp(v, "false") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int parse_u32(const char *v, uint32_t *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < 0 || n > (long long)UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)n;
	return 0;
}

/**
 * val-override-date: "YYYYMMDDhhmmss" (UTC) or a POSIX time in seconds
 * (testbound accepts both; Deckard's val-override-timestamp is the latter).
 */
static int parse_date(const char *v, int64_t *out)
{
	size_t n = strlen(v);
	char *end;

	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)v[i]) && !(i == 0 && v[i] == '-'))
			return -EINVAL;
	if (n == 14) {
		struct tm tm = {0};
		if (sscanf(v, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
			return -EINVAL;
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31)
			return -EINVAL;
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	errno = 0;
	long long t = strtoll(v, &end, 10);
	if (errno || end == v || *end)
		return -EINVAL;
	*out = t;
	return 0;
}

static int zone_add_addr(struct rpl_zone_servers *z, const char *v)
{
	struct sockaddr_storage *a = realloc(z->addrs, (z->naddrs + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	z->addrs = a;
	if (rpl_addr_parse(v, &z->addrs[z->naddrs]) != 0)
		return -EINVAL;
	z->naddrs++;
	return 0;
}

static int zone_add_host(struct rpl_zone_servers *z, const char *v)
{
	char **h = realloc(z->hosts, (z->nhosts + 1) * sizeof(*h));

	if (!h)
		return -ENOMEM;
	z->hosts = h;
	h[z->nhosts] = strdup(v);
	if (!h[z->nhosts])
		return -ENOMEM;
	z->nhosts++;
	return 0;
}

static void zone_deinit(struct rpl_zone_servers *z)
{
	ldns_rdf_deep_free(z->name);
	free(z->addrs);
	for (size_t i = 0; i < z->nhosts; i++)
		free(z->hosts[i]);
	free(z->hosts);
	memset(z, 0, sizeof(*z));
}

static ldns_rdf *dname(const char *s)
{
	ldns_rdf *d = NULL;

	if (ldns_str2rdf_dname(&d, s) != LDNS_STATUS_OK)
		return NULL;
	return d;
}

static int add_ta(struct rpl_settings *s, const char *v, char *err, size_t errlen)
{
	ldns_rr *rr = NULL;
	ldns_status st = ldns_rr_new_frm_str(&rr, v, 3600, NULL, NULL);

	if (st != LDNS_STATUS_OK)
		return cfg_fail(err, errlen, "bad trust-anchor '%s': %s", v,
				ldns_get_errorstr_by_id(st));
	if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DS &&
	    ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNSKEY) {
		ldns_rr_free(rr);
		return cfg_fail(err, errlen, "trust-anchor '%s' is not DS or DNSKEY", v);
	}
	if (!ldns_rr_list_push_rr(s->trust_anchors, rr)) {
		ldns_rr_free(rr);
		return -ENOMEM;
	}
	return 0;
}

static int add_insecure(struct rpl_settings *s, const char *v)
{
	ldns_rdf **a = realloc(s->insecure, (s->ninsecure + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	s->insecure = a;
	a[s->ninsecure] = dname(v);
	if (!a[s->ninsecure])
		return -EINVAL;
	s->ninsecure++;
	return 0;
}

static void note_unsupported(struct rpl_settings *s, const char *what)
{
	if (!s->unsupported)
		s->unsupported = strdup(what);
}

static void set_defaults(struct rpl_settings *s, bool is_deckard)
{
	s->is_deckard = is_deckard;
	s->qname_minimisation = true;
	s->validation = true;
	s->serve_expired_reply_ttl = 30;
	s->serve_expired_client_timeout = 1800;
	s->cache_max_ttl = 86400;
	s->cache_max_negative_ttl = 3600;
	s->do_ip4 = true;
	s->do_ip6 = true;
	s->minimal_responses = true;
	s->trust_anchor_signaling = true;
}

/** One key of an Unbound `server:` clause or a Deckard file. */
static int server_key(struct rpl_settings *s, const struct rpl_kv *kv, char *err, size_t errlen)
{
	const char *k = kv->key, *v = kv->value;
	int ret = 0;

	if (strcmp(k, "trust-anchor") == 0)
		return add_ta(s, v, err, errlen);
	if (strcmp(k, "domain-insecure") == 0)
		ret = add_insecure(s, v);
	else if (strcmp(k, "val-override-date") == 0 || strcmp(k, "val-override-timestamp") == 0) {
		ret = parse_date(v, &s->override_time);
		s->has_override_time = ret == 0;
	} else if (strcmp(k, "qname-minimisation") == 0 || strcmp(k, "query-minimization") == 0)
		ret = parse_bool(v, &s->qname_minimisation);
	else if (strcmp(k, "module-config") == 0) {
		s->module_config = v;
		s->validation = strstr(v, "validator") != NULL;
		char copy[256];
		snprintf(copy, sizeof(copy), "%s", v);
		for (char *save = NULL, *m = strtok_r(copy, " \t", &save); m;
		     m = strtok_r(NULL, " \t", &save))
			if (strcmp(m, "validator") != 0 && strcmp(m, "iterator") != 0)
				note_unsupported(s, "module-config with modules other than "
						    "validator/iterator");
	} else if (strcmp(k, "serve-expired") == 0)
		ret = parse_bool(v, &s->serve_expired);
	else if (strcmp(k, "serve-expired-ttl") == 0)
		ret = parse_u32(v, &s->serve_expired_ttl);
	else if (strcmp(k, "serve-expired-reply-ttl") == 0)
		ret = parse_u32(v, &s->serve_expired_reply_ttl);
	else if (strcmp(k, "serve-expired-client-timeout") == 0)
		ret = parse_u32(v, &s->serve_expired_client_timeout);
	else if (strcmp(k, "serve-expired-ttl-reset") == 0)
		ret = parse_bool(v, &s->serve_expired_ttl_reset);
	else if (strcmp(k, "serve-original-ttl") == 0)
		ret = parse_bool(v, &s->serve_original_ttl);
	else if (strcmp(k, "aggressive-nsec") == 0)
		ret = parse_bool(v, &s->aggressive_nsec);
	else if (strcmp(k, "cache-min-ttl") == 0)
		ret = parse_u32(v, &s->cache_min_ttl);
	else if (strcmp(k, "cache-max-ttl") == 0)
		ret = parse_u32(v, &s->cache_max_ttl);
	else if (strcmp(k, "cache-max-negative-ttl") == 0)
		ret = parse_u32(v, &s->cache_max_negative_ttl);
	else if (strcmp(k, "do-ip4") == 0)
		ret = parse_bool(v, &s->do_ip4);
	else if (strcmp(k, "do-ip6") == 0)
		ret = parse_bool(v, &s->do_ip6);
	else if (strcmp(k, "ede") == 0)
		ret = parse_bool(v, &s->ede);
	else if (strcmp(k, "ede-serve-expired") == 0)
		ret = parse_bool(v, &s->ede_serve_expired);
	else if (strcmp(k, "minimal-responses") == 0)
		ret = parse_bool(v, &s->minimal_responses);
	else if (strcmp(k, "fake-sha1") == 0)
		ret = parse_bool(v, &s->fake_sha1);
	else if (strcmp(k, "trust-anchor-signaling") == 0)
		ret = parse_bool(v, &s->trust_anchor_signaling);
	else if (strcmp(k, "target-fetch-policy") == 0) {
		s->target_fetch_none = true;
		for (const char *c = v; *c; c++)
			if (isdigit((unsigned char)*c) && *c != '0')
				s->target_fetch_none = false;
	} else if (strcmp(k, "trust-anchor-file") == 0 ||
		   strcmp(k, "auto-trust-anchor-file") == 0 || strcmp(k, "trusted-keys-file") == 0)
		note_unsupported(s, "trust anchors from a file");
	else if (strcmp(k, "stub-addr") == 0 && s->is_deckard) {
		if ((ret = zone_add_addr(&s->root, v)) != 0)
			return ret == -EINVAL ? cfg_fail(err, errlen, "bad stub-addr '%s'", v)
					      : ret;
	} else if (strcmp(k, "stub-name") == 0 && s->is_deckard) {
		for (size_t i = 0; i < s->root.nhosts; i++)
			free(s->root.hosts[i]);
		s->root.nhosts = 0;
		ret = zone_add_host(&s->root, v);
	} else if (strcmp(k, "forward-addr") == 0 && s->is_deckard) {
		note_unsupported(s, "forward-addr (forwarding mode)");
	}
	/* Every other key (verbosity, access-control, harden-*, ...) does not change
	 * what a conforming resolver answers in these scenarios and is ignored. */
	if (ret == -EINVAL)
		return cfg_fail(err, errlen, "bad value for %s: '%s'", k, v);
	return ret;
}

static int zone_clause(struct rpl_zone_servers *z, const struct rpl_clause *c, const char *addr_key,
		       const char *host_key, char *err, size_t errlen)
{
	int ret;

	for (size_t i = 0; i < c->nkv; i++) {
		const struct rpl_kv *kv = &c->kv[i];
		if (strcmp(kv->key, "name") == 0) {
			ldns_rdf_deep_free(z->name);
			z->name = dname(kv->value);
			if (!z->name)
				return cfg_fail(err, errlen, "line %d: bad zone name '%s'",
						kv->line, kv->value);
		} else if (strcmp(kv->key, addr_key) == 0) {
			if ((ret = zone_add_addr(z, kv->value)) != 0)
				return ret == -EINVAL
					       ? cfg_fail(err, errlen, "line %d: bad %s '%s'",
							  kv->line, addr_key, kv->value)
					       : ret;
		} else if (strcmp(kv->key, host_key) == 0) {
			if ((ret = zone_add_host(z, kv->value)) != 0)
				return ret;
		}
	}
	if (!z->name)
		return cfg_fail(err, errlen, "line %d: %s without name", c->line, c->name);
	return 0;
}

static int auth_clause(struct rpl_settings *s, const struct rpl_clause *c, char *err, size_t errlen)
{
	struct rpl_auth_zone *a = realloc(s->auth_zones, (s->nauth_zones + 1) * sizeof(*a));
	int ret = 0;

	if (!a)
		return -ENOMEM;
	s->auth_zones = a;
	a = &s->auth_zones[s->nauth_zones++];
	memset(a, 0, sizeof(*a));
	a->for_downstream = true;
	a->for_upstream = true;
	for (size_t i = 0; i < c->nkv && ret == 0; i++) {
		const struct rpl_kv *kv = &c->kv[i];
		if (strcmp(kv->key, "name") == 0) {
			ldns_rdf_deep_free(a->name);
			a->name = dname(kv->value);
			ret = a->name ? 0 : -EINVAL;
		} else if (strcmp(kv->key, "zonefile") == 0) {
			a->zonefile = kv->value[0] ? kv->value : NULL;
			a->zonefile_temp = kv->tempfile;
		} else if (strcmp(kv->key, "for-downstream") == 0)
			ret = parse_bool(kv->value, &a->for_downstream);
		else if (strcmp(kv->key, "for-upstream") == 0)
			ret = parse_bool(kv->value, &a->for_upstream);
		else if (strcmp(kv->key, "fallback-enabled") == 0)
			ret = parse_bool(kv->value, &a->fallback_enabled);
		else if (strcmp(kv->key, "zonemd-check") == 0)
			ret = parse_bool(kv->value, &a->zonemd_check);
		else if (strcmp(kv->key, "zonemd-reject-absence") == 0)
			ret = parse_bool(kv->value, &a->zonemd_reject_absence);
		else if (strcmp(kv->key, "master") == 0 || strcmp(kv->key, "primary") == 0 ||
			 strcmp(kv->key, "url") == 0 || strcmp(kv->key, "allow-notify") == 0)
			a->nmasters++;
		if (ret)
			return cfg_fail(err, errlen, "line %d: bad auth-zone %s '%s'", kv->line,
					kv->key, kv->value);
	}
	if (!a->name)
		return cfg_fail(err, errlen, "line %d: auth-zone without name", c->line);
	return 0;
}

int rpl_settings_init(struct rpl_settings *s, const struct rpl_scenario *sc, char *err,
		      size_t errlen)
{
	bool is_deckard = true;
	int ret = 0;

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < sc->nclauses; i++)
		if (sc->clauses[i].name[0])
			is_deckard = false;
	set_defaults(s, is_deckard);
	s->trust_anchors = ldns_rr_list_new();
	if (!s->trust_anchors)
		return -ENOMEM;
	if (sc->has_autotrust)
		note_unsupported(s, "AUTOTRUST_FILE (RFC 5011 state)");
	if (sc->ncommandline)
		note_unsupported(s, "COMMANDLINE options");
	for (size_t i = 0; i < sc->nclauses && ret == 0; i++) {
		const struct rpl_clause *c = &sc->clauses[i];

		if (c->name[0] == '\0' || strcmp(c->name, "server") == 0) {
			for (size_t j = 0; j < c->nkv && ret == 0; j++)
				ret = server_key(s, &c->kv[j], err, errlen);
		} else if (strcmp(c->name, "stub-zone") == 0) {
			struct rpl_zone_servers z = {0};
			ret = zone_clause(&z, c, "stub-addr", "stub-host", err, errlen);
			if (ret == 0 && ldns_dname_label_count(z.name) == 0) {
				zone_deinit(&s->root);
				s->root = z;
			} else if (ret == 0) {
				struct rpl_zone_servers *a =
					realloc(s->stubs, (s->nstubs + 1) * sizeof(*a));
				if (!a) {
					zone_deinit(&z);
					ret = -ENOMEM;
				} else {
					s->stubs = a;
					s->stubs[s->nstubs++] = z;
				}
			} else {
				zone_deinit(&z);
			}
		} else if (strcmp(c->name, "forward-zone") == 0) {
			struct rpl_zone_servers z = {0};
			ret = zone_clause(&z, c, "forward-addr", "forward-host", err, errlen);
			struct rpl_zone_servers *a =
				ret ? NULL : realloc(s->forwards, (s->nforwards + 1) * sizeof(*a));
			if (!a) {
				zone_deinit(&z);
				ret = ret ? ret : -ENOMEM;
			} else {
				s->forwards = a;
				s->forwards[s->nforwards++] = z;
			}
		} else if (strcmp(c->name, "auth-zone") == 0) {
			ret = auth_clause(s, c, err, errlen);
		} else {
			note_unsupported(s, "an unbound.conf clause other than server/stub-zone/"
					    "forward-zone/auth-zone");
		}
	}
	if (ret == 0 && s->is_deckard) {
		/* Deckard: stub-addr is the root server, called k.root-servers.net by default;
		 * validation is on when trust anchors are given. */
		if (!s->root.name)
			s->root.name = dname(".");
		if (!s->root.nhosts)
			ret = zone_add_host(&s->root, "k.root-servers.net.");
		s->validation = ldns_rr_list_rr_count(s->trust_anchors) > 0;
	}
	if (ret == 0 && !s->root.naddrs && !s->nforwards && !s->nstubs && !s->nauth_zones)
		ret = cfg_fail(err, errlen, "no root hints (stub-zone \".\" / stub-addr)");
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (ret)
		rpl_settings_deinit(s);
	return ret;
}

void rpl_settings_deinit(struct rpl_settings *s)
{
	zone_deinit(&s->root);
	for (size_t i = 0; i < s->nstubs; i++)
		zone_deinit(&s->stubs[i]);
	free(s->stubs);
	for (size_t i = 0; i < s->nforwards; i++)
		zone_deinit(&s->forwards[i]);
	free(s->forwards);
	ldns_rr_list_deep_free(s->trust_anchors);
	for (size_t i = 0; i < s->ninsecure; i++)
		ldns_rdf_deep_free(s->insecure[i]);
	free(s->insecure);
	for (size_t i = 0; i < s->nauth_zones; i++)
		ldns_rdf_deep_free(s->auth_zones[i].name);
	free(s->auth_zones);
	free(s->unsupported);
	memset(s, 0, sizeof(*s));
}
