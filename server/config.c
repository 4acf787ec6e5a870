/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The configuration file reader. It loads the YAML file with libyaml's
 * document API (the whole tree at once, with a line mark on every node) and
 * walks it against a table of known keys per section, converting each value
 * into the plain C struct ost_config. Anything unknown or malformed ends the
 * load with one message "FILE:LINE: section.key: problem", so an operator
 * always learns where to look. It also holds the address, CIDR and ACL
 * helpers the daemon uses at run time.
 */
#include "ostrov/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include <ldns/ldns.h>

#include "ostrov/resolver.h"

#include "config_int.h"

/* ---- addresses, prefixes, lists ------------------------------------------------ */

static int parse_port(const char *s, uint16_t *out)
{
	if (*s == '\0' || strlen(s) > 5)
		return -EINVAL;
	unsigned long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

const char *ost_sockaddr_str(const struct sockaddr *sa, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port = 0;
	host[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	} else {
		snprintf(buf, cap, "(family %d)", sa->sa_family);
		return buf;
	}
	snprintf(buf, cap, "%s@%u", host, port);
	return buf;
}

int ost_addr_parse(const char *s, uint16_t default_port, struct ost_addr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	uint16_t port = default_port;
	const char *at = strrchr(s, '@');
	size_t hlen = at ? (size_t)(at - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (at && parse_port(at + 1, &port) < 0)
		return -EINVAL;
	/* "[::]@53", "[2001:db8::1]": brackets, as in URLs (RFC 3986 3.2.2), for IPv6 only. */
	bool bracketed = host[0] == '[';
	if (bracketed) {
		if (hlen < 3 || host[hlen - 1] != ']')
			return -EINVAL;
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *in = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;
	if (!bracketed && inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		out->len = sizeof(*in);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		out->len = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	ost_sockaddr_str((struct sockaddr *)&out->ss, out->text, sizeof(out->text));
	return 0;
}

int ost_cidr_parse(const char *s, struct ost_cidr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(out, 0, sizeof(*out));
	unsigned max;
	if (inet_pton(AF_INET, host, out->bytes) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->bytes) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	unsigned prefix = max;
	if (slash) {
		const char *p = slash + 1;
		if (*p == '\0' || strlen(p) > 3)
			return -EINVAL;
		prefix = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			prefix = prefix * 10 + (unsigned)(*p - '0');
		}
		if (prefix > max)
			return -EINVAL;
	}
	out->prefix = (uint8_t)prefix;
	/* Clear host bits so that matching compares whole bytes and one masked byte. */
	for (unsigned bit = prefix; bit < max; bit++)
		out->bytes[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return 0;
}

static bool cidr_contains(const struct ost_cidr *c, int family, const uint8_t *a)
{
	if (c->family != family)
		return false;
	unsigned full = c->prefix / 8, rest = c->prefix % 8;
	if (memcmp(c->bytes, a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return (a[full] & mask) == c->bytes[full];
}

bool ost_acl_match(const struct ost_acl *acl, const struct sockaddr *sa)
{
	int family;
	const uint8_t *a;
	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			family = AF_INET;
			a = in6->s6_addr + 12;
		} else {
			family = AF_INET6;
			a = in6->s6_addr;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < acl->n; i++)
		if (cidr_contains(&acl->v[i], family, a))
			return true;
	return false;
}

int ost_acl_add(struct ost_acl *acl, const struct ost_cidr *c)
{
	struct ost_cidr *v = realloc(acl->v, (acl->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[acl->n++] = *c;
	acl->v = v;
	return 0;
}

void ost_acl_deinit(struct ost_acl *acl)
{
	free(acl->v);
	acl->v = NULL;
	acl->n = 0;
}

/* ---- defaults -------------------------------------------------------------------- */

static int acl_add_text(struct ost_acl *acl, const char *s)
{
	struct ost_cidr c;
	int ret = ost_cidr_parse(s, &c);
	if (ret < 0)
		return ret;
	return ost_acl_add(acl, &c);
}


int ost_config_init(struct ost_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->server.log_level = OST_LOG_INFO;
	cfg->server.tcp_idle_timeout_ms = 10000;
	cfg->server.tcp_max_connections = 1024;
	cfg->server.udp_coalesce_us = 200; /* server/udp.c says why (bench/RESULTS.md) */
	cfg->server.udp_gso = true;        /* server/udp.c build_gso() */
	cfg->access.deny_action = OST_DENY_REFUSE;
	cfg->resolver.upstream_port = 53;
	cfg->resolver.upstream_port_reuse = 1;
	cfg->resolver.qname_minimisation = true;
	cfg->resolver.edns_buffer_size = 1232;
	cfg->resolver.validation = true;
	cfg->resolver.nta_lifetime_s = 3600;
	cfg->resolver.nta_max_lifetime_s = 7 * 86400;
	/* the resolver's own defaults, from the resolver */
	struct ost_resolver_config rd;
	ost_resolver_config_default(&rd);
	cfg->resolver.max_depth = rd.max_depth;
	cfg->resolver.max_subrequests = rd.max_subreq;
	cfg->resolver.max_queries = rd.max_queries;
	cfg->resolver.max_cname = rd.max_cname;
	cfg->resolver.max_time_ms = rd.max_time_ms;
	cfg->resolver.initial_rto_ms = rd.initial_rto_ms;
	cfg->resolver.max_rto_ms = rd.max_rto_ms;
	cfg->resolver.serve_stale = rd.serve_stale;
	cfg->resolver.stale_ttl = rd.stale_ttl;
	cfg->resolver.prefetch = true;
	cfg->cache.size = 256ull << 20;
	cfg->cache.max_ttl = 86400;
	cfg->cache.max_negative_ttl = 3600;
	cfg->cache.commit_interval = 10;
	cfg->cache.front_entries = OST_CACHE_FRONT_DEFAULT;
	cfg->mirror.size = 1ull << 30;
	/* Loopback only, everywhere, until the operator says otherwise (TEAM.md rule 1). */
	static const char *const loopback[] = {"127.0.0.0/8", "::1/128"};
	for (size_t i = 0; i < 2; i++) {
		if (acl_add_text(&cfg->access.allow, loopback[i]) < 0 ||
		    acl_add_text(&cfg->resolver.upstream_allow, loopback[i]) < 0 ||
		    acl_add_text(&cfg->server.metrics_allow, loopback[i]) < 0)
			goto fail;
	}
	cfg->server.listen = calloc(2, sizeof(*cfg->server.listen));
	if (!cfg->server.listen)
		goto fail;
	if (ost_addr_parse("127.0.0.1", OST_CONFIG_DEFAULT_PORT, &cfg->server.listen[0]) < 0 ||
	    ost_addr_parse("::1", OST_CONFIG_DEFAULT_PORT, &cfg->server.listen[1]) < 0)
		goto fail;
	cfg->server.n_listen = 2;
	cfg_resilience_defaults(cfg);
	return 0;
fail:
	ost_config_deinit(cfg);
	return -ENOMEM;
}


void ost_config_deinit(struct ost_config *cfg)
{
	free(cfg->path);
	free(cfg->server.listen);
	free(cfg->server.control_socket);
	ost_acl_deinit(&cfg->server.metrics_allow);
	ost_acl_deinit(&cfg->access.allow);
	for (size_t i = 0; i < cfg->resolver.n_zones; i++)
		free(cfg->resolver.zones[i].addrs);
	free(cfg->resolver.zones);
	free(cfg->resolver.root_hints_file);
	free(cfg->resolver.trust_anchor_file);
	ost_acl_deinit(&cfg->resolver.upstream_allow);
	for (size_t i = 0; i < cfg->resolver.n_negative_trust_anchors; i++)
		free(cfg->resolver.negative_trust_anchors[i]);
	free(cfg->resolver.negative_trust_anchors);
	free(cfg->cache.path);
	free(cfg->resilience.targets);
	cfg_mirror_deinit(cfg);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- the YAML walk ------------------------------------------------------------------ */

/* Kinds of values; each key of the table below has one. */
enum kind {
	K_LISTEN, /* list of ADDR[@PORT] */
	K_ACL,    /* list of CIDRs */
	K_UINT,   /* decimal number within [min, max] */
	K_BOOL,   /* yes/no/true/false/on/off */
	K_SIZE,   /* number with optional K/M/G/T suffix */
	K_STRING, /* any non-empty text */
	K_FILE,   /* path of an existing readable file */
	K_LOGLVL, /* err|warn|info|debug */
	K_DENY,   /* refuse|drop */
	K_NAMES,  /* list of DNS names (negative trust anchors) */
	K_ADDR,   /* one ADDR[@PORT] into a struct ost_addr; min is the default port */
};

struct key_spec {
	const char *section;
	const char *name;
	enum kind kind;
	size_t off;   /* offset of the field in struct ost_config */
	size_t width; /* size of the field for K_UINT */
	uint64_t min, max;
};

#define F(field) offsetof(struct ost_config, field)
#define W(field) sizeof(((struct ost_config *)0)->field)
#define U(field) F(field), W(field)

static const struct key_spec keys[] = {
	{"server", "listen", K_LISTEN, F(server.listen), 0, 0, 0},
	{"server", "workers", K_UINT, U(server.workers), 1, 1024},
	{"server", "log-level", K_LOGLVL, F(server.log_level), 0, 0, 0},
	{"server", "tcp-idle-timeout", K_UINT, U(server.tcp_idle_timeout_ms), 1, 3600000},
	{"server", "tcp-max-connections", K_UINT, U(server.tcp_max_connections), 1, 1000000},
	{"server", "udp-coalesce-us", K_UINT, U(server.udp_coalesce_us), 0, 1000},
	{"server", "udp-gso", K_BOOL, F(server.udp_gso), 0, 0, 0},
	{"server", "control-socket", K_STRING, F(server.control_socket), 0, 0, 0},
	/* The Prometheus endpoint; 9153 is the port CoreDNS made usual for DNS metrics. */
	{"server", "metrics-listen", K_ADDR, F(server.metrics_listen), 0, 9153, 0},
	{"server", "metrics-allow", K_ACL, F(server.metrics_allow), 0, 0, 0},
	{"access", "allow", K_ACL, F(access.allow), 0, 0, 0},
	{"access", "deny-action", K_DENY, F(access.deny_action), 0, 0, 0},
	{"resolver", "root-hints-file", K_FILE, F(resolver.root_hints_file), 0, 0, 0},
	{"resolver", "trust-anchor-file", K_FILE, F(resolver.trust_anchor_file), 0, 0, 0},
	{"resolver", "upstream-allow", K_ACL, F(resolver.upstream_allow), 0, 0, 0},
	{"resolver", "upstream-port", K_UINT, U(resolver.upstream_port), 1, 65535},
	/* server/upstream.c: queries per UDP source port; above 1 trades port
	 * freshness (SAD DNS) for fewer socket set-ups */
	{"resolver", "upstream-port-reuse", K_UINT, U(resolver.upstream_port_reuse), 1, 64},
	{"resolver", "qname-minimisation", K_BOOL, F(resolver.qname_minimisation), 0, 0, 0},
	/* RFC 6891 6.2.5: values below 512 are treated as 512; we refuse them outright. */
	{"resolver", "edns-buffer-size", K_UINT, U(resolver.edns_buffer_size), 512, 65535},
	{"resolver", "validation", K_BOOL, F(resolver.validation), 0, 0, 0},
	/* >>> negative trust anchors (RFC 7646; server/daemon_ctl.c `nta`) */
	{"resolver", "negative-trust-anchors", K_NAMES, F(resolver.negative_trust_anchors), 0, 0,
	 0},
	{"resolver", "nta-lifetime", K_UINT, U(resolver.nta_lifetime_s), 1, 3650u * 86400},
	{"resolver", "nta-max-lifetime", K_UINT, U(resolver.nta_max_lifetime_s), 1, 3650u * 86400},
	/* <<< negative trust anchors */
	/* per-request limits and timers (resolver/, KR_ITER_LIMIT-style hard caps) */
	{"resolver", "max-depth", K_UINT, U(resolver.max_depth), 1, 64},
	{"resolver", "max-subrequests", K_UINT, U(resolver.max_subrequests), 1, 64},
	{"resolver", "max-queries", K_UINT, U(resolver.max_queries), 1, 1000},
	{"resolver", "max-cname", K_UINT, U(resolver.max_cname), 1, 64},
	{"resolver", "max-time-ms", K_UINT, U(resolver.max_time_ms), 100, 120000},
	{"resolver", "initial-rto-ms", K_UINT, U(resolver.initial_rto_ms), 10, 60000},
	{"resolver", "max-rto-ms", K_UINT, U(resolver.max_rto_ms), 10, 60000},
	/* RFC 8767; the maximum staleness is resilience.failover's, by state */
	{"resolver", "serve-stale", K_BOOL, F(resolver.serve_stale), 0, 0, 0},
	{"resolver", "stale-ttl", K_UINT, U(resolver.stale_ttl), 1, 86400},
	/* resolver/prefetch.c (Unbound's prefetch) */
	{"resolver", "prefetch", K_BOOL, F(resolver.prefetch), 0, 0, 0},
	{"cache", "path", K_STRING, F(cache.path), 0, 0, 0},
	{"cache", "size", K_SIZE, F(cache.size), 0, 1ull << 20, 1ull << 44},
	{"cache", "min-ttl", K_UINT, U(cache.min_ttl), 0, 604800},
	{"cache", "max-ttl", K_UINT, U(cache.max_ttl), 0, 604800 * 52},
	{"cache", "max-negative-ttl", K_UINT, U(cache.max_negative_ttl), 0, 604800},
	{"cache", "commit-interval", K_UINT, U(cache.commit_interval), 0, 1000},
	{"cache", "front-entries", K_UINT, U(cache.front_entries), 0, 65536},
};

static const char *const sections[] = {"server", "access",     "resolver",
				       "cache",  "resilience", "mirror"};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(N_KEYS <= CFG_KEYS_MAX, "struct walk.where holds CFG_KEYS_MAX keys");


int cfg_fail(struct walk *w, const yaml_node_t *node, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	unsigned long line = node ? (unsigned long)node->start_mark.line + 1 : 1;
	if (key)
		snprintf(w->err, w->errlen, "%s:%lu: %s: %s", w->path, line, key, msg);
	else
		snprintf(w->err, w->errlen, "%s:%lu: %s", w->path, line, msg);
	return OST_ECONFIG;
}

/* A scalar's text, or NULL when @node is not a scalar or holds a NUL byte. */
const char *cfg_scalar(const yaml_node_t *node)
{
	if (!node || node->type != YAML_SCALAR_NODE)
		return NULL;
	const char *s = (const char *)node->data.scalar.value;
	if (strlen(s) != node->data.scalar.length)
		return NULL;
	return s;
}

int cfg_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (*s == '\0')
		return -EINVAL;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* "256M", "1G", "1048576", "64k", "2GB" (binary multiples). */
int cfg_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char digits[24];
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n >= sizeof(digits))
		return -EINVAL;
	memcpy(digits, s, n);
	digits[n] = '\0';
	const char *suffix = s + n;
	unsigned shift = 0;
	switch (*suffix) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*suffix)
		suffix++;
	if ((*suffix == 'b' || *suffix == 'B') && shift)
		suffix++;
	if (*suffix != '\0')
		return -EINVAL;
	uint64_t v;
	int ret = cfg_parse_uint(digits, 0, UINT64_MAX >> shift, &v);
	if (ret < 0)
		return ret;
	v <<= shift;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int cfg_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on"};
	static const char *const no[] = {"no", "false", "off"};
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static void set_uint(void *field, size_t width, uint64_t v)
{
	switch (width) {
	case 2:
		*(uint16_t *)field = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)field = (uint32_t)v;
		break;
	default:
		*(uint64_t *)field = v;
		break;
	}
}

/*
 * Relative file names are taken relative to the directory of the config
 * file, so a lab directory with its config and hints can move as a whole.
 */
char *cfg_resolve_path(const char *cfg_path, const char *s)
{
	const char *slash = strrchr(cfg_path, '/');
	if (s[0] == '/' || !slash)
		return strdup(s);
	size_t dlen = (size_t)(slash - cfg_path) + 1;
	char *p = malloc(dlen + strlen(s) + 1);
	if (p) {
		memcpy(p, cfg_path, dlen);
		strcpy(p + dlen, s);
	}
	return p;
}

/*
 * The items of a list value. A single scalar counts as a one-item list
 * (`listen: 127.0.0.1@53`); a mapping is an error.
 */
int cfg_list_items(struct walk *w, yaml_node_t *value, const char *key, yaml_node_t **items,
		   size_t cap, size_t *n)
{
	*n = 0;
	if (value->type == YAML_SCALAR_NODE) {
		items[(*n)++] = value;
		return 0;
	}
	if (value->type != YAML_SEQUENCE_NODE)
		return cfg_fail(w, value, key, "expected a list");
	for (yaml_node_item_t *it = value->data.sequence.items.start;
	     it < value->data.sequence.items.top; it++) {
		if (*n == cap)
			return cfg_fail(w, value, key, "more than %zu items", cap);
		yaml_node_t *item = yaml_document_get_node(w->doc, *it);
		if (!cfg_scalar(item))
			return cfg_fail(w, item, key, "expected a list of plain values");
		items[(*n)++] = item;
	}
	return 0;
}


/* A zone name in presentation format: lower case, with the final dot; -EINVAL if bad. */
int cfg_zone_norm(const char *s, char *out, size_t cap)
{
	ldns_rdf *rd = NULL;
	if (!*s || ldns_str2rdf_dname(&rd, s) != LDNS_STATUS_OK)
		return -EINVAL;
	ldns_dname2canonical(rd);
	char *t = ldns_rdf2str(rd);
	ldns_rdf_deep_free(rd);
	if (!t)
		return -ENOMEM;
	int ret = strlen(t) < cap ? 0 : -EINVAL;
	if (ret == 0)
		snprintf(out, cap, "%s", t);
	free(t);
	return ret;
}

/* >>> negative trust anchors: each item a DNS name (ldns decides), stored
 * fully qualified and lower case so that a reload compares them as text. */
static int set_names(struct walk *w, yaml_node_t **items, size_t n, const char *key)
{
	char **v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t got = 0;
	int ret = 0;
	for (; got < n; got++) {
		const char *t = cfg_scalar(items[got]);
		ldns_rdf *rd = NULL;
		if (!*t || ldns_str2rdf_dname(&rd, t) != LDNS_STATUS_OK) {
			ret = cfg_fail(w, items[got], key, "bad domain name \"%s\"", t);
			break;
		}
		if (ldns_dname_label_count(rd) == 0) {
			ldns_rdf_deep_free(rd);
			ret = cfg_fail(
				w, items[got], key,
				"not the root: it would switch validation off for every name "
				"(use resolver.validation: no)");
			break;
		}
		ldns_dname2canonical(rd);
		v[got] = ldns_rdf2str(rd);
		ldns_rdf_deep_free(rd);
		if (!v[got]) {
			ret = -ENOMEM;
			break;
		}
		for (size_t j = 0; j < got; j++) {
			if (strcmp(v[j], v[got]) == 0) {
				ret = cfg_fail(w, items[got], key, "%s is listed twice", v[got]);
				break;
			}
		}
		if (ret < 0) {
			got++;
			break;
		}
	}
	if (ret < 0) {
		for (size_t i = 0; i < got; i++)
			free(v[i]);
		free(v);
		return ret;
	}
	char ***field = &w->cfg->resolver.negative_trust_anchors;
	for (size_t i = 0; i < w->cfg->resolver.n_negative_trust_anchors; i++)
		free((*field)[i]);
	free(*field);
	*field = v;
	w->cfg->resolver.n_negative_trust_anchors = n;
	return 0;
}
/* <<< negative trust anchors */

static int set_value(struct walk *w, const struct key_spec *k, yaml_node_t *value, const char *key)
{
	void *field = (char *)w->cfg + k->off;
	yaml_node_t *items[LIST_MAX];
	size_t n;
	int ret;
	if (k->kind == K_LISTEN || k->kind == K_ACL || k->kind == K_NAMES) {
		ret = cfg_list_items(w, value, key, items, LIST_MAX, &n);
		if (ret < 0)
			return ret;
	} else if (!cfg_scalar(value)) {
		return cfg_fail(w, value, key, "expected a single value, not a %s",
				value->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
	}
	const char *s = cfg_scalar(value);
	uint64_t v;
	switch (k->kind) {
	case K_LISTEN: {
		if (n == 0)
			return cfg_fail(w, value, key, "needs at least one address");
		struct ost_addr *a = calloc(n, sizeof(*a));
		if (!a)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			const char *t = cfg_scalar(items[i]);
			if (ost_addr_parse(t, OST_CONFIG_DEFAULT_PORT, &a[i]) < 0) {
				free(a);
				return cfg_fail(w, items[i], key,
						"bad address \"%s\" (expected ADDR or ADDR@PORT)",
						t);
			}
			/* The same address twice would fail at bind time, less helpfully. */
			for (size_t j = 0; j < i; j++) {
				if (a[j].len == a[i].len &&
				    memcmp(&a[j].ss, &a[i].ss, a[i].len) == 0) {
					int ret2 = cfg_fail(w, items[i], key, "%s is listed twice",
							    a[i].text);
					free(a);
					return ret2;
				}
			}
		}
		free(w->cfg->server.listen);
		w->cfg->server.listen = a;
		w->cfg->server.n_listen = n;
		return 0;
	}
	case K_ACL: {
		struct ost_acl acl = {0};
		for (size_t i = 0; i < n; i++) {
			const char *t = cfg_scalar(items[i]);
			struct ost_cidr c;
			if (ost_cidr_parse(t, &c) < 0) {
				ost_acl_deinit(&acl);
				return cfg_fail(w, items[i], key,
						"bad address prefix \"%s\" (expected ADDR/LEN)", t);
			}
			if (ost_acl_add(&acl, &c) < 0) {
				ost_acl_deinit(&acl);
				return -ENOMEM;
			}
		}
		ost_acl_deinit(field);
		*(struct ost_acl *)field = acl;
		return 0;
	}
	case K_NAMES:
		return set_names(w, items, n, key);
	case K_UINT:
		ret = cfg_parse_uint(s, k->min, k->max, &v);
		if (ret == -ERANGE)
			return cfg_fail(w, value, key, "%s is out of range [%llu, %llu]", s,
					(unsigned long long)k->min, (unsigned long long)k->max);
		if (ret < 0)
			return cfg_fail(w, value, key, "bad number \"%s\"", s);
		set_uint(field, k->width, v);
		return 0;
	case K_SIZE:
		ret = cfg_parse_size(s, k->min, k->max, &v);
		if (ret == -ERANGE)
			return cfg_fail(w, value, key, "size %s is out of range [1M, 16T]", s);
		if (ret < 0)
			return cfg_fail(w, value, key,
					"bad size \"%s\" (expected a number with K, M, G or T)", s);
		*(uint64_t *)field = v;
		return 0;
	case K_BOOL:
		if (cfg_parse_bool(s, field) < 0)
			return cfg_fail(w, value, key, "bad boolean \"%s\" (expected yes or no)",
					s);
		return 0;
	case K_LOGLVL:
		if (ost_log_level_parse(s, field) < 0)
			return cfg_fail(w, value, key,
					"bad log level \"%s\" (expected err, warn, info or debug)",
					s);
		return 0;
	case K_DENY:
		if (strcmp(s, "refuse") == 0)
			*(enum ost_deny_action *)field = OST_DENY_REFUSE;
		else if (strcmp(s, "drop") == 0)
			*(enum ost_deny_action *)field = OST_DENY_DROP;
		else
			return cfg_fail(w, value, key,
					"bad action \"%s\" (expected refuse or drop)", s);
		return 0;
	case K_ADDR:
		if (ost_addr_parse(s, (uint16_t)k->min, field) < 0)
			return cfg_fail(w, value, key,
					"bad address \"%s\" (expected ADDR or ADDR@PORT)", s);
		return 0;
	case K_STRING:
	case K_FILE: {
		if (*s == '\0')
			return cfg_fail(w, value, key, "empty value");
		char *copy = k->kind == K_FILE ? cfg_resolve_path(w->path, s) : strdup(s);
		if (!copy)
			return -ENOMEM;
		if (k->kind == K_FILE && access(copy, R_OK) != 0) {
			int e = errno;
			free(copy);
			return cfg_fail(w, value, key, "cannot read file \"%s\": %s", s,
					strerror(e));
		}
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	}
	}
	return cfg_fail(w, value, key, "internal error: unhandled kind");
}


static int walk_section(struct walk *w, const char *section, yaml_node_t *map)
{
	/* "server:" with nothing under it is an empty section. */
	if (map->type == YAML_SCALAR_NODE && map->data.scalar.length == 0)
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return cfg_fail(w, map, section, "expected a mapping of keys");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
		const char *name = cfg_scalar(kn);
		if (!name)
			return cfg_fail(w, kn, section, "keys must be plain names");
		char key[128];
		snprintf(key, sizeof(key), "%s.%s", section, name);
		/* A duplicated key is almost always an editing mistake; say so. */
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			const char *prev = cfg_scalar(yaml_document_get_node(w->doc, q->key));
			if (prev && strcmp(prev, name) == 0)
				return cfg_fail(w, kn, key, "duplicate key");
		}
		if (strcmp(section, "resolver") == 0 &&
		    (strcmp(name, "forward-zones") == 0 || strcmp(name, "stub-zones") == 0)) {
			int ret = cfg_resolver_zones(w, vn, key, name[0] == 'f');
			if (ret < 0)
				return ret;
			continue;
		}
		const struct key_spec *k = NULL;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(keys[i].section, section) == 0 &&
			    strcmp(keys[i].name, name) == 0)
				k = &keys[i];
		if (!k)
			return cfg_fail(w, kn, key, "unknown key");
		int ret = set_value(w, k, vn, key);
		if (ret < 0)
			return ret;
		w->where[k - keys] = vn;
	}
	return 0;
}


static int walk_root(struct walk *w, yaml_node_t *root)
{
	if (root->type != YAML_MAPPING_NODE)
		return cfg_fail(w, root, NULL,
				"expected a mapping of sections (server, access, ...)");
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
		const char *name = cfg_scalar(kn);
		if (!name)
			return cfg_fail(w, kn, NULL, "section names must be plain names");
		bool known = false;
		for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
			known = known || strcmp(sections[i], name) == 0;
		if (!known)
			return cfg_fail(w, kn, name, "unknown section");
		for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < p; q++) {
			const char *prev = cfg_scalar(yaml_document_get_node(w->doc, q->key));
			if (prev && strcmp(prev, name) == 0)
				return cfg_fail(w, kn, name, "duplicate section");
		}
		int ret;
		if (strcmp(name, "resilience") == 0)
			ret = cfg_walk_resilience(w, vn);
		else if (strcmp(name, "mirror") == 0)
			ret = cfg_walk_mirror(w, vn); /* mirror section */
		else
			ret = walk_section(w, name, vn);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static yaml_node_t *key_node(struct walk *w, const char *section, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return w->where[i];
	return NULL;
}

/* Checks that involve more than one value, once the whole file is read. */
static int check_consistency(struct walk *w)
{
	const struct ost_config *cfg = w->cfg;
	/* Network safety: a forwarder or stub server outside the upstream
	 * allow-list would never be asked; say so at load, not at the first
	 * query. */
	for (size_t i = 0; i < cfg->resolver.n_zones; i++) {
		struct ost_zone_servers_cfg *z = &w->cfg->resolver.zones[i];
		for (size_t j = 0; j < z->n_addrs; j++) {
			struct ost_addr *a = &z->addrs[j];
			struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
			uint16_t port = htons(cfg->resolver.upstream_port);
			if (a->ss.ss_family == AF_INET && in->sin_port == 0)
				in->sin_port = port;
			if (a->ss.ss_family == AF_INET6 && in6->sin6_port == 0)
				in6->sin6_port = port;
			ost_sockaddr_str((struct sockaddr *)&a->ss, a->text, sizeof(a->text));
		}
		for (size_t j = 0; j < z->n_addrs; j++)
			if (!ost_acl_match(&cfg->resolver.upstream_allow,
					   (const struct sockaddr *)&z->addrs[j].ss))
				return cfg_fail(
					w, w->zones_node,
					z->forward ? "resolver.forward-zones"
						   : "resolver.stub-zones",
					"zone %s: address %s is outside resolver.upstream-allow",
					z->name, z->addrs[j].text);
	}
	if (cfg->cache.min_ttl > cfg->cache.max_ttl) {
		yaml_node_t *n = key_node(w, "cache", "min-ttl");
		return cfg_fail(w, n ? n : key_node(w, "cache", "max-ttl"), "cache.min-ttl",
				"%u is above cache.max-ttl %u", cfg->cache.min_ttl,
				cfg->cache.max_ttl);
	}
	if (cfg->resolver.initial_rto_ms > cfg->resolver.max_rto_ms) {
		yaml_node_t *n = key_node(w, "resolver", "initial-rto-ms");
		return cfg_fail(w, n ? n : key_node(w, "resolver", "max-rto-ms"),
				"resolver.initial-rto-ms", "%u is above resolver.max-rto-ms %u",
				cfg->resolver.initial_rto_ms, cfg->resolver.max_rto_ms);
	}
	if (cfg->resolver.nta_lifetime_s > cfg->resolver.nta_max_lifetime_s) {
		yaml_node_t *n = key_node(w, "resolver", "nta-lifetime");
		return cfg_fail(w, n ? n : key_node(w, "resolver", "nta-max-lifetime"),
				"resolver.nta-lifetime", "%u is above resolver.nta-max-lifetime %u",
				cfg->resolver.nta_lifetime_s, cfg->resolver.nta_max_lifetime_s);
	}
	return 0;
}


static int parser_fail(struct walk *w, yaml_parser_t *parser)
{
	snprintf(w->err, w->errlen, "%s:%lu: not valid YAML: %s%s%s", w->path,
		 (unsigned long)parser->problem_mark.line + 1,
		 parser->problem ? parser->problem : "syntax error", parser->context ? " " : "",
		 parser->context ? parser->context : "");
	return OST_ECONFIG;
}

int ost_config_load(struct ost_config *cfg, const char *path, char *err, size_t errlen)
{
	if (errlen > 0)
		err[0] = '\0';
	int ret = ost_config_init(cfg);
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path, ost_strerror(ret));
		return ret;
	}
	cfg->path = strdup(path);
	if (!cfg->path) {
		snprintf(err, errlen, "%s: %s", path, ost_strerror(-ENOMEM));
		return -ENOMEM;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return ret;
	}
	struct walk w = {.cfg = cfg, .path = path, .err = err, .errlen = errlen};
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	bool have_doc = false, have_extra = false;
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		snprintf(err, errlen, "%s: %s", path, ost_strerror(-ENOMEM));
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		ret = parser_fail(&w, &parser);
		goto out;
	}
	have_doc = true;
	w.doc = &doc;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
		ret = cfg_fail(&w, root, NULL, "empty configuration file");
		goto out;
	}
	ret = walk_root(&w, root);
	if (ret < 0)
		goto out;
	ret = check_consistency(&w);
	if (ret < 0)
		goto out;
	ret = cfg_check_resilience(&w);
	if (ret < 0)
		goto out;
	/* A second document would be silently ignored; refuse it instead. */
	if (!yaml_parser_load(&parser, &extra)) {
		ret = parser_fail(&w, &parser);
		goto out;
	}
	have_extra = true;
	yaml_node_t *extra_root = yaml_document_get_root_node(&extra);
	if (extra_root)
		ret = cfg_fail(&w, extra_root, NULL, "more than one YAML document");
out:
	if (ret < 0 && ret != OST_ECONFIG && errlen > 0 && err[0] == '\0')
		snprintf(err, errlen, "%s: %s", path, ost_strerror(ret));
	if (have_extra)
		yaml_document_delete(&extra);
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return ret;
}
