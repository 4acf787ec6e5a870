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

#include "ostrov/xfr.h" /* mirror section: transfer sources */

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
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *in = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
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

static void resilience_defaults(struct ost_config *cfg);

int ost_config_init(struct ost_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->server.log_level = OST_LOG_INFO;
	cfg->server.tcp_idle_timeout_ms = 10000;
	cfg->server.tcp_max_connections = 1024;
	cfg->access.deny_action = OST_DENY_REFUSE;
	cfg->resolver.upstream_port = 53;
	cfg->resolver.upstream_port_reuse = 1;
	cfg->resolver.qname_minimisation = true;
	cfg->resolver.edns_buffer_size = 1232;
	cfg->resolver.validation = true;
	cfg->resolver.nta_lifetime_s = 3600;
	cfg->resolver.nta_max_lifetime_s = 7 * 86400;
	cfg->cache.size = 256ull << 20;
	cfg->cache.max_ttl = 86400;
	cfg->cache.max_negative_ttl = 3600;
	cfg->mirror.size = 1ull << 30;
	/* Loopback only, everywhere, until the operator says otherwise (TEAM.md rule 1). */
	static const char *const loopback[] = {"127.0.0.0/8", "::1/128"};
	for (size_t i = 0; i < 2; i++) {
		if (acl_add_text(&cfg->access.allow, loopback[i]) < 0 ||
		    acl_add_text(&cfg->resolver.upstream_allow, loopback[i]) < 0)
			goto fail;
	}
	cfg->server.listen = calloc(2, sizeof(*cfg->server.listen));
	if (!cfg->server.listen)
		goto fail;
	if (ost_addr_parse("127.0.0.1", OST_CONFIG_DEFAULT_PORT, &cfg->server.listen[0]) < 0 ||
	    ost_addr_parse("::1", OST_CONFIG_DEFAULT_PORT, &cfg->server.listen[1]) < 0)
		goto fail;
	cfg->server.n_listen = 2;
	resilience_defaults(cfg);
	return 0;
fail:
	ost_config_deinit(cfg);
	return -ENOMEM;
}

/* >>> mirror section (zone mirror: zones/, server/xfr_out.c) */
static void mirror_cfg_deinit(struct ost_config *cfg)
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

void ost_config_deinit(struct ost_config *cfg)
{
	free(cfg->path);
	free(cfg->server.listen);
	free(cfg->server.control_socket);
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
	mirror_cfg_deinit(cfg);
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
	{"server", "control-socket", K_STRING, F(server.control_socket), 0, 0, 0},
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
	{"cache", "path", K_STRING, F(cache.path), 0, 0, 0},
	{"cache", "size", K_SIZE, F(cache.size), 0, 1ull << 20, 1ull << 44},
	{"cache", "min-ttl", K_UINT, U(cache.min_ttl), 0, 604800},
	{"cache", "max-ttl", K_UINT, U(cache.max_ttl), 0, 604800 * 52},
	{"cache", "max-negative-ttl", K_UINT, U(cache.max_negative_ttl), 0, 604800},
};

static const char *const sections[] = {"server", "access",     "resolver",
				       "cache",  "resilience", "mirror"};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

struct walk {
	struct ost_config *cfg;
	yaml_document_t *doc;
	const char *path;
	char *err;
	size_t errlen;
	yaml_node_t *where[N_KEYS]; /* value node of each key that was set, for later checks */
	yaml_node_t *resilience;    /* the resilience: node, for its consistency check */
	yaml_node_t *zones_node;    /* resolver.forward-zones or stub-zones, for checks */
};

__attribute__((format(printf, 4, 5))) static int fail(struct walk *w, const yaml_node_t *node,
						      const char *key, const char *fmt, ...)
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
static const char *scalar(const yaml_node_t *node)
{
	if (!node || node->type != YAML_SCALAR_NODE)
		return NULL;
	const char *s = (const char *)node->data.scalar.value;
	if (strlen(s) != node->data.scalar.length)
		return NULL;
	return s;
}

static int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
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
static int parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
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
	int ret = parse_uint(digits, 0, UINT64_MAX >> shift, &v);
	if (ret < 0)
		return ret;
	v <<= shift;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
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
static char *resolve_path(const char *cfg_path, const char *s)
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
static int list_items(struct walk *w, yaml_node_t *value, const char *key, yaml_node_t **items,
		      size_t cap, size_t *n)
{
	*n = 0;
	if (value->type == YAML_SCALAR_NODE) {
		items[(*n)++] = value;
		return 0;
	}
	if (value->type != YAML_SEQUENCE_NODE)
		return fail(w, value, key, "expected a list");
	for (yaml_node_item_t *it = value->data.sequence.items.start;
	     it < value->data.sequence.items.top; it++) {
		if (*n == cap)
			return fail(w, value, key, "more than %zu items", cap);
		yaml_node_t *item = yaml_document_get_node(w->doc, *it);
		if (!scalar(item))
			return fail(w, item, key, "expected a list of plain values");
		items[(*n)++] = item;
	}
	return 0;
}

#define LIST_MAX 256

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
		const char *t = scalar(items[got]);
		ldns_rdf *rd = NULL;
		if (!*t || ldns_str2rdf_dname(&rd, t) != LDNS_STATUS_OK) {
			ret = fail(w, items[got], key, "bad domain name \"%s\"", t);
			break;
		}
		if (ldns_dname_label_count(rd) == 0) {
			ldns_rdf_deep_free(rd);
			ret = fail(w, items[got], key,
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
				ret = fail(w, items[got], key, "%s is listed twice", v[got]);
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
		ret = list_items(w, value, key, items, LIST_MAX, &n);
		if (ret < 0)
			return ret;
	} else if (!scalar(value)) {
		return fail(w, value, key, "expected a single value, not a %s",
			    value->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
	}
	const char *s = scalar(value);
	uint64_t v;
	switch (k->kind) {
	case K_LISTEN: {
		if (n == 0)
			return fail(w, value, key, "needs at least one address");
		struct ost_addr *a = calloc(n, sizeof(*a));
		if (!a)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			const char *t = scalar(items[i]);
			if (ost_addr_parse(t, OST_CONFIG_DEFAULT_PORT, &a[i]) < 0) {
				free(a);
				return fail(w, items[i], key,
					    "bad address \"%s\" (expected ADDR or ADDR@PORT)", t);
			}
			/* The same address twice would fail at bind time, less helpfully. */
			for (size_t j = 0; j < i; j++) {
				if (a[j].len == a[i].len &&
				    memcmp(&a[j].ss, &a[i].ss, a[i].len) == 0) {
					int ret2 = fail(w, items[i], key, "%s is listed twice",
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
			const char *t = scalar(items[i]);
			struct ost_cidr c;
			if (ost_cidr_parse(t, &c) < 0) {
				ost_acl_deinit(&acl);
				return fail(w, items[i], key,
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
		ret = parse_uint(s, k->min, k->max, &v);
		if (ret == -ERANGE)
			return fail(w, value, key, "%s is out of range [%llu, %llu]", s,
				    (unsigned long long)k->min, (unsigned long long)k->max);
		if (ret < 0)
			return fail(w, value, key, "bad number \"%s\"", s);
		set_uint(field, k->width, v);
		return 0;
	case K_SIZE:
		ret = parse_size(s, k->min, k->max, &v);
		if (ret == -ERANGE)
			return fail(w, value, key, "size %s is out of range [1M, 16T]", s);
		if (ret < 0)
			return fail(w, value, key,
				    "bad size \"%s\" (expected a number with K, M, G or T)", s);
		*(uint64_t *)field = v;
		return 0;
	case K_BOOL:
		if (parse_bool(s, field) < 0)
			return fail(w, value, key, "bad boolean \"%s\" (expected yes or no)", s);
		return 0;
	case K_LOGLVL:
		if (ost_log_level_parse(s, field) < 0)
			return fail(w, value, key,
				    "bad log level \"%s\" (expected err, warn, info or debug)", s);
		return 0;
	case K_DENY:
		if (strcmp(s, "refuse") == 0)
			*(enum ost_deny_action *)field = OST_DENY_REFUSE;
		else if (strcmp(s, "drop") == 0)
			*(enum ost_deny_action *)field = OST_DENY_DROP;
		else
			return fail(w, value, key, "bad action \"%s\" (expected refuse or drop)",
				    s);
		return 0;
	case K_STRING:
	case K_FILE: {
		if (*s == '\0')
			return fail(w, value, key, "empty value");
		char *copy = k->kind == K_FILE ? resolve_path(w->path, s) : strdup(s);
		if (!copy)
			return -ENOMEM;
		if (k->kind == K_FILE && access(copy, R_OK) != 0) {
			int e = errno;
			free(copy);
			return fail(w, value, key, "cannot read file \"%s\": %s", s, strerror(e));
		}
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	}
	}
	return fail(w, value, key, "internal error: unhandled kind");
}

static int resolver_zones(struct walk *w, yaml_node_t *vn, const char *key, bool forward);

static int walk_section(struct walk *w, const char *section, yaml_node_t *map)
{
	/* "server:" with nothing under it is an empty section. */
	if (map->type == YAML_SCALAR_NODE && map->data.scalar.length == 0)
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return fail(w, map, section, "expected a mapping of keys");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
		const char *name = scalar(kn);
		if (!name)
			return fail(w, kn, section, "keys must be plain names");
		char key[128];
		snprintf(key, sizeof(key), "%s.%s", section, name);
		/* A duplicated key is almost always an editing mistake; say so. */
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			const char *prev = scalar(yaml_document_get_node(w->doc, q->key));
			if (prev && strcmp(prev, name) == 0)
				return fail(w, kn, key, "duplicate key");
		}
		if (strcmp(section, "resolver") == 0 &&
		    (strcmp(name, "forward-zones") == 0 || strcmp(name, "stub-zones") == 0)) {
			int ret = resolver_zones(w, vn, key, name[0] == 'f');
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
			return fail(w, kn, key, "unknown key");
		int ret = set_value(w, k, vn, key);
		if (ret < 0)
			return ret;
		w->where[k - keys] = vn;
	}
	return 0;
}

static int walk_resilience(struct walk *w, yaml_node_t *map);
/* >>> mirror section: a mapping with path, size, listen and a list of zones,
 * each a mapping of its own (shared contract in README.md). */

static int mirror_addrs(struct walk *w, yaml_node_t *v, const char *key, struct ost_addr **out,
			size_t *n_out)
{
	yaml_node_t *items[LIST_MAX];
	size_t n;
	int ret = list_items(w, v, key, items, LIST_MAX, &n);
	if (ret < 0)
		return ret;
	struct ost_addr *a = calloc(n ? n : 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (ost_addr_parse(scalar(items[i]), OST_CONFIG_DEFAULT_PORT, &a[i]) < 0) {
			free(a);
			return fail(w, items[i], key,
				    "bad address \"%s\" (expected ADDR or ADDR@PORT)",
				    scalar(items[i]));
		}
	}
	free(*out);
	*out = a;
	*n_out = n;
	return 0;
}

static int mirror_file(struct walk *w, yaml_node_t *v, const char *key, char **out)
{
	const char *s = scalar(v);
	if (!s || !*s)
		return fail(w, v, key, "expected a file name");
	char *p = resolve_path(w->path, s);
	if (!p)
		return -ENOMEM;
	if (access(p, R_OK) != 0) {
		int e = errno;
		free(p);
		return fail(w, v, key, "cannot read file \"%s\": %s", s, strerror(e));
	}
	free(*out);
	*out = p;
	return 0;
}

static int mirror_zone(struct walk *w, yaml_node_t *map, struct ost_mirror_zone_cfg *z)
{
	if (map->type != YAML_MAPPING_NODE)
		return fail(w, map, "mirror.zones", "each zone is a mapping (name, sources ...)");
	z->line = (unsigned)map->start_mark.line + 1;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
		const char *k = scalar(kn), *s = scalar(vn);
		char key[128];
		int ret = 0;
		uint64_t v;
		if (!k)
			return fail(w, kn, "mirror.zones", "keys must be plain names");
		snprintf(key, sizeof(key), "mirror.zones.%s", k);
		if (strcmp(k, "name") == 0) {
			ldns_rdf *d = NULL;
			if (!s || ldns_str2rdf_dname(&d, s) != LDNS_STATUS_OK)
				return fail(w, vn, key, "bad zone name \"%s\"", s ? s : "");
			ldns_rdf_deep_free(d);
			free(z->name);
			if (!(z->name = strdup(s)))
				return -ENOMEM;
		} else if (strcmp(k, "sources") == 0) {
			yaml_node_t *items[LIST_MAX];
			size_t n;
			if ((ret = list_items(w, vn, key, items, LIST_MAX, &n)) < 0)
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
				if (ost_xfr_source_parse(scalar(items[i]), &src) != 0)
					return fail(w, items[i], key,
						    "bad source \"%s\" (expected ADDR[@PORT] "
						    "[tsig NAME:ALG:BASE64])",
						    scalar(items[i]));
				if (!(z->sources[z->n_sources++] = strdup(scalar(items[i]))))
					return -ENOMEM;
			}
		} else if (strcmp(k, "bootstrap") == 0) {
			ret = mirror_file(w, vn, key, &z->bootstrap);
		} else if (strcmp(k, "trust-anchor-file") == 0) {
			ret = mirror_file(w, vn, key, &z->trust_anchor_file);
		} else if (strcmp(k, "require-zonemd") == 0 || strcmp(k, "ixfr") == 0) {
			bool *b = k[0] == 'r' ? &z->require_zonemd : &z->ixfr;
			if (!s || parse_bool(s, b) < 0)
				return fail(w, vn, key, "bad boolean (expected yes or no)");
		} else if (strcmp(k, "max-size") == 0) {
			if (!s || parse_size(s, 1, 1ull << 44, &v) < 0)
				return fail(w, vn, key, "bad size (a number with K, M, G or T)");
			z->max_size = v;
		} else if (strcmp(k, "max-records") == 0) {
			if (!s || parse_uint(s, 1, 1ull << 40, &v) < 0)
				return fail(w, vn, key, "bad number");
			z->max_records = v;
		} else if (strcmp(k, "allow-transfer") == 0) {
			yaml_node_t *items[LIST_MAX];
			size_t n;
			if ((ret = list_items(w, vn, key, items, LIST_MAX, &n)) < 0)
				return ret;
			for (size_t i = 0; i < n; i++) {
				struct ost_cidr c;
				if (ost_cidr_parse(scalar(items[i]), &c) < 0)
					return fail(w, items[i], key,
						    "bad address prefix \"%s\" (expected ADDR/LEN)",
						    scalar(items[i]));
				if (ost_acl_add(&z->allow_transfer, &c) < 0)
					return -ENOMEM;
			}
		} else if (strcmp(k, "notify") == 0) {
			ret = mirror_addrs(w, vn, key, &z->notify, &z->n_notify);
		} else {
			return fail(w, kn, key, "unknown key");
		}
		if (ret < 0)
			return ret;
	}
	if (!z->name)
		return fail(w, map, "mirror.zones", "a zone needs a name");
	if (z->n_sources == 0 && !z->bootstrap)
		return fail(w, map, "mirror.zones", "zone %s needs sources or a bootstrap file",
			    z->name);
	return 0;
}

static int walk_mirror(struct walk *w, yaml_node_t *map)
{
	struct ost_config *cfg = w->cfg;
	if (map->type != YAML_MAPPING_NODE)
		return fail(w, map, "mirror", "expected a mapping of keys");
	yaml_node_t *zones = NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
		const char *k = scalar(kn), *s = scalar(vn);
		char key[128];
		int ret = 0;
		if (!k)
			return fail(w, kn, "mirror", "keys must be plain names");
		snprintf(key, sizeof(key), "mirror.%s", k);
		if (strcmp(k, "path") == 0) {
			if (!s || !*s)
				return fail(w, vn, key, "empty value");
			free(cfg->mirror.path);
			if (!(cfg->mirror.path = resolve_path(w->path, s)))
				return -ENOMEM;
		} else if (strcmp(k, "size") == 0) {
			if (!s || parse_size(s, 1ull << 20, 1ull << 44, &cfg->mirror.size) < 0)
				return fail(w, vn, key, "bad size (a number with K, M, G or T)");
		} else if (strcmp(k, "listen") == 0) {
			ret = mirror_addrs(w, vn, key, &cfg->mirror.listen, &cfg->mirror.n_listen);
		} else if (strcmp(k, "verify-threads") == 0) {
			uint64_t v;
			if (!s || parse_uint(s, 1, 256, &v) < 0)
				return fail(w, vn, key, "bad number of threads (1-256)");
			cfg->mirror.verify_threads = (unsigned)v;
		} else if (strcmp(k, "zones") == 0) {
			zones = vn;
		} else {
			return fail(w, kn, key, "unknown key");
		}
		if (ret < 0)
			return ret;
	}
	if (!zones || zones->type != YAML_SEQUENCE_NODE)
		return fail(w, zones ? zones : map, "mirror.zones", "expected a list of zones");
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
				return fail(w, yaml_document_get_node(w->doc, *it), "mirror.zones",
					    "zone %s is listed twice", z->name);
		}
	}
	if (!cfg->mirror.path)
		return fail(w, map, "mirror.path", "the mirror needs a store path");
	return 0;
}
/* <<< mirror section */

/* resolver.forward-zones and resolver.stub-zones: lists of mappings
 *   - name: corp.example.
 *     addresses: ["127.0.0.1@5353", "::1"]
 * (port: resolver.upstream-port unless given). */
static int zone_norm(const char *s, char *out, size_t cap);

static int resolver_zones(struct walk *w, yaml_node_t *vn, const char *key, bool forward)
{
	struct ost_config *cfg = w->cfg;
	yaml_node_t *items[LIST_MAX];
	size_t n = 0;
	int ret;
	if (vn->type != YAML_SEQUENCE_NODE)
		return fail(w, vn, key, "expected a list of zones (name, addresses)");
	for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top;
	     it++) {
		if (n == LIST_MAX)
			return fail(w, vn, key, "more than %d zones", LIST_MAX);
		items[n++] = yaml_document_get_node(w->doc, *it);
	}
	w->zones_node = vn;
	struct ost_zone_servers_cfg *zs =
		realloc(cfg->resolver.zones, (cfg->resolver.n_zones + n + 1) * sizeof(*zs));
	if (!zs)
		return -ENOMEM;
	cfg->resolver.zones = zs;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *map = items[i];
		struct ost_zone_servers_cfg *z = &zs[cfg->resolver.n_zones];
		memset(z, 0, sizeof(*z));
		z->forward = forward;
		if (map->type != YAML_MAPPING_NODE)
			return fail(w, map, key, "each zone is a mapping (name, addresses)");
		yaml_node_t *addrs = NULL;
		for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
		     p < map->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
			yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
			const char *kname = scalar(k);
			if (kname && strcmp(kname, "name") == 0) {
				if (!scalar(v) ||
				    zone_norm(scalar(v), z->name, sizeof(z->name)) < 0)
					return fail(w, v, key, "bad zone name \"%s\"",
						    scalar(v) ? scalar(v) : "");
			} else if (kname && strcmp(kname, "addresses") == 0) {
				addrs = v;
			} else {
				return fail(w, k, key,
					    "unknown key \"%s\" (expected name, addresses)",
					    kname ? kname : "");
			}
		}
		if (!z->name[0])
			return fail(w, map, key, "a zone needs a name");
		if (!addrs)
			return fail(w, map, key, "zone %s needs addresses", z->name);
		yaml_node_t *aitems[LIST_MAX];
		size_t na;
		ret = list_items(w, addrs, key, aitems, LIST_MAX, &na);
		if (ret < 0)
			return ret;
		if (na == 0 || na > 16)
			return fail(w, addrs, key, "zone %s: 1 to 16 addresses, not %zu", z->name,
				    na);
		z->addrs = calloc(na, sizeof(*z->addrs));
		if (!z->addrs)
			return -ENOMEM;
		cfg->resolver.n_zones++; /* owns addrs from here on */
		for (size_t j = 0; j < na; j++) {
			/* port 0 = resolver.upstream-port, filled in once the
			 * whole file is read (check_consistency) */
			if (!scalar(aitems[j]) ||
			    ost_addr_parse(scalar(aitems[j]), 0, &z->addrs[j]) < 0)
				return fail(w, aitems[j], key,
					    "bad address \"%s\" (expected ADDR or ADDR@PORT)",
					    scalar(aitems[j]) ? scalar(aitems[j]) : "");
			z->n_addrs++;
		}
		for (size_t j = 0; j + 1 < cfg->resolver.n_zones; j++)
			if (strcmp(zs[j].name, z->name) == 0)
				return fail(w, map, key, "zone %s is configured twice", z->name);
	}
	return 0;
}

static int walk_root(struct walk *w, yaml_node_t *root)
{
	if (root->type != YAML_MAPPING_NODE)
		return fail(w, root, NULL, "expected a mapping of sections (server, access, ...)");
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
		const char *name = scalar(kn);
		if (!name)
			return fail(w, kn, NULL, "section names must be plain names");
		bool known = false;
		for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
			known = known || strcmp(sections[i], name) == 0;
		if (!known)
			return fail(w, kn, name, "unknown section");
		for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < p; q++) {
			const char *prev = scalar(yaml_document_get_node(w->doc, q->key));
			if (prev && strcmp(prev, name) == 0)
				return fail(w, kn, name, "duplicate section");
		}
		int ret;
		if (strcmp(name, "resilience") == 0)
			ret = walk_resilience(w, vn);
		else if (strcmp(name, "mirror") == 0)
			ret = walk_mirror(w, vn); /* mirror section */
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
				return fail(
					w, w->zones_node,
					z->forward ? "resolver.forward-zones"
						   : "resolver.stub-zones",
					"zone %s: address %s is outside resolver.upstream-allow",
					z->name, z->addrs[j].text);
	}
	if (cfg->cache.min_ttl > cfg->cache.max_ttl) {
		yaml_node_t *n = key_node(w, "cache", "min-ttl");
		return fail(w, n ? n : key_node(w, "cache", "max-ttl"), "cache.min-ttl",
			    "%u is above cache.max-ttl %u", cfg->cache.min_ttl, cfg->cache.max_ttl);
	}
	if (cfg->resolver.nta_lifetime_s > cfg->resolver.nta_max_lifetime_s) {
		yaml_node_t *n = key_node(w, "resolver", "nta-lifetime");
		return fail(w, n ? n : key_node(w, "resolver", "nta-max-lifetime"),
			    "resolver.nta-lifetime", "%u is above resolver.nta-max-lifetime %u",
			    cfg->resolver.nta_lifetime_s, cfg->resolver.nta_max_lifetime_s);
	}
	return 0;
}

static int check_resilience(struct walk *w);

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
		ret = fail(&w, root, NULL, "empty configuration file");
		goto out;
	}
	ret = walk_root(&w, root);
	if (ret < 0)
		goto out;
	ret = check_consistency(&w);
	if (ret < 0)
		goto out;
	ret = check_resilience(&w);
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
		ret = fail(&w, extra_root, NULL, "more than one YAML document");
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

/* ---- section resilience: ------------------------------------------------------------
 *
 * Kept apart from the table-driven sections above because its keys belong to
 * resilience/ (config_keys.c knows them and their ranges): this block only
 * walks the YAML and reports where a value is wrong.
 *
 *   resilience:
 *     national-zones: [ru, xn--p1ai, su]
 *     failover: {window-ms: 10000, isolate-evals: 3, reachable-evals: 30}
 *     probes:
 *       interval-ms: 3000
 *       root-hints: yes                      # probe every root hint (". SOA")
 *       root: ["127.53.0.1@53"]              # more root servers
 *       foreign: ["127.53.1.1@53 com"]       # ADDR@PORT ZONE, asked "ZONE NS"
 *       national: ["127.53.2.1@53 ru"]       # ADDR@PORT ZONE, asked "ZONE SOA"
 *     drill:
 *       dest-national: ["127.53.2.0/24", "127.53.4.0/24"]
 *       target-detect-ms: 30000
 */

static void resilience_defaults(struct ost_config *cfg)
{
	ost_fo_config_default(&cfg->resilience.fo);
	ost_probe_config_default(&cfg->resilience.probe);
	ost_drill_config_default(&cfg->resilience.drill);
	cfg->resilience.probe_root_hints = true;
	static const char *const national[] = {"ru.", "xn--p1ai.", "su."};
	for (size_t i = 0; i < 3; i++)
		snprintf(cfg->resilience.national_zones[i], 256, "%s", national[i]);
	cfg->resilience.n_national_zones = 3;
}

/* A zone name in presentation format: lower case, with the final dot; -EINVAL if bad. */
static int zone_norm(const char *s, char *out, size_t cap)
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

/* Apply one setting through a resilience/ setter; its message names the key and value. */
typedef int (*res_set_fn)(void *cfg, const char *key, const char *value, char *err, size_t errlen);

static int set_fo(void *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	return ost_fo_config_set(cfg, key, value, err, errlen);
}

static int set_probe(void *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	return ost_probe_config_set(cfg, key, value, err, errlen);
}

static int set_drill(void *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	return ost_drill_config_set(cfg, key, value, err, errlen);
}

static int res_apply(struct walk *w, const char *sub, res_set_fn fn, void *target, yaml_node_t *kn,
		     yaml_node_t *vn, const char *name)
{
	char key[160];
	snprintf(key, sizeof(key), "resilience.%s.%s", sub, name);
	yaml_node_t *items[LIST_MAX];
	size_t n;
	int ret = list_items(w, vn, key, items, LIST_MAX, &n);
	if (ret < 0)
		return ret;
	/* Only the dest-* keys of drill: take lists; a list elsewhere is an error. */
	if (vn->type == YAML_SEQUENCE_NODE && strncmp(name, "dest-", 5) != 0)
		return fail(w, vn, key, "expected a single value, not a list");
	for (size_t i = 0; i < n; i++) {
		char msg[256] = "";
		if (fn(target, name, scalar(items[i]), msg, sizeof(msg)) < 0) {
			if (strstr(msg, "unknown"))
				return fail(w, kn, key, "unknown key");
			return fail(w, items[i], NULL, "resilience.%s.%s", sub, msg);
		}
	}
	return 0;
}

static int res_targets(struct walk *w, yaml_node_t *vn, const char *key, enum ost_fo_class cls)
{
	yaml_node_t *items[LIST_MAX];
	size_t n;
	int ret = list_items(w, vn, key, items, LIST_MAX, &n);
	if (ret < 0)
		return ret;
	struct ost_config *cfg = w->cfg;
	struct ost_probe_target *v =
		realloc(cfg->resilience.targets, (cfg->resilience.n_targets + n) * sizeof(*v));
	if (!v && n)
		return -ENOMEM;
	if (v)
		cfg->resilience.targets = v;
	for (size_t i = 0; i < n; i++) {
		const char *t = scalar(items[i]);
		char addr[128], zone[300];
		struct ost_probe_target *pt = &cfg->resilience.targets[cfg->resilience.n_targets];
		memset(pt, 0, sizeof(*pt));
		int k = sscanf(t, "%127s %299s", addr, zone);
		if (cls == OST_FO_ROOT && k == 1)
			snprintf(zone, sizeof(zone), ".");
		else if (k != 2)
			return fail(w, items[i], key, "bad target \"%s\" (expected ADDR@PORT ZONE)",
				    t);
		if (ost_addr_parse(addr, cfg->resolver.upstream_port, &pt->addr) < 0)
			return fail(w, items[i], key, "bad address \"%s\" (expected ADDR@PORT)",
				    addr);
		if (zone_norm(zone, pt->zone, sizeof(pt->zone)) < 0)
			return fail(w, items[i], key, "bad zone name \"%s\"", zone);
		pt->cls = cls;
		pt->qtype = cls == OST_FO_FOREIGN ? LDNS_RR_TYPE_NS : LDNS_RR_TYPE_SOA;
		cfg->resilience.n_targets++;
	}
	return 0;
}

static int res_probes(struct walk *w, yaml_node_t *kn, yaml_node_t *vn, const char *name)
{
	static const struct {
		const char *name;
		enum ost_fo_class cls;
	} lists[] = {
		{"root", OST_FO_ROOT}, {"foreign", OST_FO_FOREIGN}, {"national", OST_FO_NATIONAL}};
	char key[160];
	snprintf(key, sizeof(key), "resilience.probes.%s", name);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (strcmp(name, lists[i].name) == 0)
			return res_targets(w, vn, key, lists[i].cls);
	if (strcmp(name, "root-hints") == 0) {
		const char *s = scalar(vn);
		if (!s || parse_bool(s, &w->cfg->resilience.probe_root_hints) < 0)
			return fail(w, vn, key, "bad boolean \"%s\" (expected yes or no)",
				    s ? s : "");
		return 0;
	}
	return res_apply(w, "probes", set_probe, &w->cfg->resilience.probe, kn, vn, name);
}

static int res_national(struct walk *w, yaml_node_t *vn, const char *key)
{
	yaml_node_t *items[LIST_MAX];
	size_t n;
	int ret = list_items(w, vn, key, items, LIST_MAX, &n);
	if (ret < 0)
		return ret;
	if (n > OST_NATIONAL_ZONES_MAX)
		return fail(w, vn, key, "more than %d zones", OST_NATIONAL_ZONES_MAX);
	for (size_t i = 0; i < n; i++)
		if (zone_norm(scalar(items[i]), w->cfg->resilience.national_zones[i], 256) < 0)
			return fail(w, items[i], key, "bad zone name \"%s\"", scalar(items[i]));
	w->cfg->resilience.n_national_zones = n;
	return 0;
}

static int walk_resilience(struct walk *w, yaml_node_t *map)
{
	w->resilience = map;
	if (map->type == YAML_SCALAR_NODE && map->data.scalar.length == 0)
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return fail(w, map, "resilience", "expected a mapping of keys");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
		const char *name = scalar(kn);
		if (!name)
			return fail(w, kn, "resilience", "keys must be plain names");
		char key[128];
		snprintf(key, sizeof(key), "resilience.%s", name);
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			const char *prev = scalar(yaml_document_get_node(w->doc, q->key));
			if (prev && strcmp(prev, name) == 0)
				return fail(w, kn, key, "duplicate key");
		}
		if (strcmp(name, "national-zones") == 0) {
			int ret = res_national(w, vn, key);
			if (ret < 0)
				return ret;
			continue;
		}
		const char *subs[] = {"failover", "probes", "drill"};
		size_t si = 0;
		while (si < 3 && strcmp(subs[si], name) != 0)
			si++;
		if (si == 3)
			return fail(w, kn, key, "unknown key");
		if (vn->type == YAML_SCALAR_NODE && vn->data.scalar.length == 0)
			continue;
		if (vn->type != YAML_MAPPING_NODE)
			return fail(w, vn, key, "expected a mapping of keys");
		for (yaml_node_pair_t *q = vn->data.mapping.pairs.start;
		     q < vn->data.mapping.pairs.top; q++) {
			yaml_node_t *k2 = yaml_document_get_node(w->doc, q->key);
			yaml_node_t *v2 = yaml_document_get_node(w->doc, q->value);
			const char *n2 = scalar(k2);
			if (!n2)
				return fail(w, k2, key, "keys must be plain names");
			int ret;
			if (si == 0)
				ret = res_apply(w, "failover", set_fo, &w->cfg->resilience.fo, k2,
						v2, n2);
			else if (si == 1)
				ret = res_probes(w, k2, v2, n2);
			else
				ret = res_apply(w, "drill", set_drill, &w->cfg->resilience.drill,
						k2, v2, n2);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* The failover thresholds together (window longer than the bucket ...). */
static int check_resilience(struct walk *w)
{
	char msg[256] = "";
	if (ost_fo_config_check(&w->cfg->resilience.fo, msg, sizeof(msg)) < 0)
		return fail(w, w->resilience, "resilience.failover", "%s", msg);
	return 0;
}
