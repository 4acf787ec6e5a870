/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Parser for .rpl replay scenarios (Unbound testbound / Deckard), written
 * from ../shared/testdata/rpl/FORMAT.md. It turns the CONFIG block into
 * clauses of key/value pairs (plus TEMPFILE contents), and the scenario body
 * into RANGEs and STEPs whose ENTRYs hold an ldns_pkt built from the REPLY
 * line and the SECTIONs. Resource records are parsed by ldns
 * (ldns_rr_new_frm_str) with $ORIGIN, $TTL (default 3600, as testbound),
 * omitted owners and multi-line ( ) records handled here. Anything malformed
 * is refused with "file:line: message"; nothing is guessed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rpl.h"

/** Parser state over the file's lines. */
struct parser {
	const char *name;        /**< file name for messages */
	char **lines;            /**< the lines, pointing into @p buf */
	size_t nlines;           /**< number of lines */
	size_t next;             /**< index of the next unread line */
	int lineno;              /**< number of the line read last (1-based) */
	char *buf;               /**< writable copy of the text */
	char *err;               /**< message buffer */
	size_t errlen;           /**< its size */
	struct rpl_scenario *sc; /**< what is being built */
	ldns_rdf *origin;        /**< $ORIGIN, or NULL */
	uint32_t default_ttl;    /**< $TTL */
	ldns_rdf *prev_owner;    /**< owner of the previous RR */
};

__attribute__((format(printf, 2, 3))) static int fail(struct parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%d: %s", p->name, p->lineno, msg);
	return -EINVAL;
}

/* ------------------------------------------------------------------------ */
/* Small text helpers                                                        */

/** Cut @p s at the first @p c outside double quotes. */
static void strip_comment(char *s, char c)
{
	bool in_quote = false;

	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			continue;
		}
		if (*s == '"')
			in_quote = !in_quote;
		else if (*s == c && !in_quote) {
			*s = '\0';
			return;
		}
	}
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/** Split @p s in place into at most @p max whitespace-separated words. */
static size_t split_words(char *s, char **w, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		w[n++] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
	return n;
}

/** Cut the next word off *@p cur; @return it, or NULL at the end. */
static char *next_word(char **cur)
{
	char *s = *cur, *w;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s)
		return NULL;
	w = s;
	while (*s && !isspace((unsigned char)*s))
		s++;
	if (*s)
		*s++ = '\0';
	*cur = s;
	return w;
}

/** Does line @p s start with keyword @p kw (followed by space or end)? */
static bool is_kw(const char *s, const char *kw)
{
	size_t n = strlen(kw);

	return strncmp(s, kw, n) == 0 && (s[n] == '\0' || isspace((unsigned char)s[n]));
}

/** Read the next line; NULL at end of file. The returned text is writable. */
static char *next_raw(struct parser *p)
{
	if (p->next >= p->nlines)
		return NULL;
	p->lineno = (int)p->next + 1;
	return p->lines[p->next++];
}

/** Next non-empty line with ';' comments removed and trimmed; NULL at end. */
static char *next_line(struct parser *p)
{
	char *l;

	while ((l = next_raw(p)) != NULL) {
		strip_comment(l, ';');
		l = trim(l);
		if (*l)
			return l;
	}
	return NULL;
}

static int parse_long(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return (errno || end == s || *end) ? -EINVAL : 0;
}

static int hex_append(struct parser *p, const char *s, uint8_t **buf, size_t *len)
{
	for (; *s; s++) {
		int hi, lo;

		if (isspace((unsigned char)*s))
			continue;
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return fail(p, "bad hex data near '%.10s'", s);
		hi = ldns_hexdigit_to_int(s[0]);
		lo = ldns_hexdigit_to_int(s[1]);
		uint8_t *nb = realloc(*buf, *len + 1);
		if (!nb)
			return -ENOMEM;
		nb[(*len)++] = (uint8_t)(hi << 4 | lo);
		*buf = nb;
		s++;
	}
	return 0;
}

static void *grow(void *arr, size_t n, size_t size)
{
	/* Arrays grow one element at a time; scenarios are small. */
	return realloc(arr, (n + 1) * size);
}

/* ------------------------------------------------------------------------ */
/* Addresses                                                                 */

int rpl_addr_parse(const char *s, struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *port = NULL;
	char *sep;
	long pn = 0;

	if (strlen(s) >= sizeof(host))
		return -EINVAL;
	strcpy(host, s);
	sep = strchr(host, '@');
	if (!sep)
		sep = strchr(host, '#');
	if (sep) {
		*sep = '\0';
		port = sep + 1;
		char *end;
		pn = strtol(port, &end, 10);
		if (*end || pn < 0 || pn > 65535)
			return -EINVAL;
	}
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)pn);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)pn);
		return 0;
	}
	return -EINVAL;
}

void rpl_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
		port = ntohs(in4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	if (port)
		snprintf(buf, len, "%s@%u", host, port);
	else
		snprintf(buf, len, "%s", host);
}

/* ------------------------------------------------------------------------ */
/* CONFIG block                                                              */

/** Clause headers of unbound.conf that may appear in a scenario. */
static const char *const clause_names[] = {
	"server", "stub-zone", "forward-zone", "auth-zone", "view",  "rpz",    "remote-control",
	"python", "dynlib",    "dnscrypt",     "cachedb",   "ipset", "dnstap", NULL,
};

static bool is_clause(const char *key)
{
	for (size_t i = 0; clause_names[i]; i++)
		if (strcmp(key, clause_names[i]) == 0)
			return true;
	return false;
}

static int add_clause(struct parser *p, const char *name)
{
	struct rpl_scenario *sc = p->sc;
	struct rpl_clause *c = grow(sc->clauses, sc->nclauses, sizeof(*c));

	if (!c)
		return -ENOMEM;
	sc->clauses = c;
	c = &sc->clauses[sc->nclauses];
	memset(c, 0, sizeof(*c));
	c->line = p->lineno;
	c->name = strdup(name);
	if (!c->name)
		return -ENOMEM;
	sc->nclauses++;
	return 0;
}

static int add_kv(struct parser *p, const char *key, const char *value)
{
	struct rpl_clause *c;
	struct rpl_kv *kv;
	int ret;

	if (p->sc->nclauses == 0 && (ret = add_clause(p, "")) != 0)
		return ret;
	c = &p->sc->clauses[p->sc->nclauses - 1];
	kv = grow(c->kv, c->nkv, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	c->kv = kv;
	kv = &c->kv[c->nkv];
	memset(kv, 0, sizeof(*kv));
	kv->line = p->lineno;
	kv->key = strdup(key);
	kv->value = strdup(value);
	if (!kv->key || !kv->value) {
		free(kv->key);
		free(kv->value);
		return -ENOMEM;
	}
	c->nkv++;
	return 0;
}

/** Collect raw lines up to @p end_kw into a malloc'd text. */
static int collect_block(struct parser *p, const char *end_kw, char **out)
{
	size_t len = 0;
	char *text = calloc(1, 1);
	char *l;
	int start = p->lineno;

	if (!text)
		return -ENOMEM;
	while ((l = next_raw(p)) != NULL) {
		if (is_kw(trim(l), end_kw)) {
			*out = text;
			return 0;
		}
		size_t n = strlen(l);
		char *nt = realloc(text, len + n + 2);
		if (!nt) {
			free(text);
			return -ENOMEM;
		}
		text = nt;
		memcpy(text + len, l, n);
		len += n;
		text[len++] = '\n';
		text[len] = '\0';
	}
	free(text);
	p->lineno = start;
	return fail(p, "missing %s", end_kw);
}

static int parse_config(struct parser *p)
{
	char *raw;
	int ret;

	while ((raw = next_raw(p)) != NULL) {
		char *l = trim(raw);
		char *w[2];

		if (is_kw(l, "CONFIG_END"))
			return 0;
		if (is_kw(l, "TEMPFILE_CONTENTS")) {
			struct rpl_scenario *sc = p->sc;
			struct rpl_tempfile *t = grow(sc->tempfiles, sc->ntempfiles, sizeof(*t));
			char *name = trim(l + strlen("TEMPFILE_CONTENTS"));

			if (!t)
				return -ENOMEM;
			sc->tempfiles = t;
			t = &sc->tempfiles[sc->ntempfiles];
			memset(t, 0, sizeof(*t));
			if (!*name || strchr(name, '/'))
				return fail(p, "TEMPFILE_CONTENTS needs a plain file name");
			t->name = strdup(name);
			if (!t->name)
				return -ENOMEM;
			sc->ntempfiles++;
			if ((ret = collect_block(p, "TEMPFILE_END", &t->contents)) != 0)
				return ret;
			continue;
		}
		if (is_kw(l, "AUTOTRUST_FILE")) {
			char *junk;
			p->sc->has_autotrust = true;
			if ((ret = collect_block(p, "AUTOTRUST_END", &junk)) != 0)
				return ret;
			free(junk);
			continue;
		}
		if (is_kw(l, "TEMPFILE_NAME")) {
			char *name = trim(l + strlen("TEMPFILE_NAME"));
			struct rpl_clause *c =
				p->sc->nclauses ? &p->sc->clauses[p->sc->nclauses - 1] : NULL;
			struct rpl_kv *kv = c && c->nkv ? &c->kv[c->nkv - 1] : NULL;

			if (!kv || kv->value[0] || kv->tempfile)
				return fail(p, "TEMPFILE_NAME must follow a key with no value");
			if (!*name || strchr(name, '/'))
				return fail(p, "TEMPFILE_NAME needs a plain file name");
			kv->tempfile = strdup(name);
			if (!kv->tempfile)
				return -ENOMEM;
			continue;
		}
		if (is_kw(l, "COMMANDLINE")) {
			struct rpl_scenario *sc = p->sc;
			char **c = grow(sc->commandline, sc->ncommandline, sizeof(*c));
			if (!c)
				return -ENOMEM;
			sc->commandline = c;
			c[sc->ncommandline] = strdup(trim(l + strlen("COMMANDLINE")));
			if (!c[sc->ncommandline])
				return -ENOMEM;
			sc->ncommandline++;
			continue;
		}
		strip_comment(l, ';');
		strip_comment(l, '#');
		l = trim(l);
		if (!*l)
			continue;
		char *colon = strchr(l, ':');
		if (!colon || colon == l)
			return fail(p, "config line is not 'key: value': '%.60s'", l);
		*colon = '\0';
		w[0] = trim(l);
		w[1] = trim(colon + 1);
		size_t vl = strlen(w[1]);
		if (vl >= 2 && w[1][0] == '"' && w[1][vl - 1] == '"') {
			w[1][vl - 1] = '\0';
			w[1]++;
		}
		if (!w[1][0] && is_clause(w[0]))
			ret = add_clause(p, w[0]);
		else
			ret = add_kv(p, w[0], w[1]);
		if (ret)
			return ret;
	}
	return fail(p, "missing CONFIG_END");
}

const char *rpl_config_get(const struct rpl_scenario *sc, const char *clause, const char *key)
{
	for (size_t i = 0; i < sc->nclauses; i++) {
		const struct rpl_clause *c = &sc->clauses[i];
		if (clause && strcmp(c->name, clause) != 0)
			continue;
		for (size_t j = 0; j < c->nkv; j++)
			if (strcmp(c->kv[j].key, key) == 0)
				return c->kv[j].value;
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Resource records                                                          */

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static bool is_class_word(const char *s)
{
	return strcasecmp(s, "IN") == 0 || strcasecmp(s, "CH") == 0 || strcasecmp(s, "HS") == 0 ||
	       strcasecmp(s, "CS") == 0 || strcasecmp(s, "ANY") == 0 ||
	       (strncasecmp(s, "CLASS", 5) == 0 && all_digits(s + 5));
}

static bool is_type_word(const char *s)
{
	return ldns_get_rr_type_by_name(s) != 0 || strcasecmp(s, "A") == 0 ||
	       (strncasecmp(s, "TYPE", 4) == 0 && all_digits(s + 4));
}

/*
 * Unbound's files may leave the owner out ("continues the previous owner"),
 * but they also indent every record, so leading blanks cannot tell. The
 * owner is missing when the first word is a class or a TTL, or a type
 * followed by something that is neither a class, a type nor a TTL (so that
 * an owner spelled like a type, "ns IN A ...", still works).
 */
static bool owner_omitted(const char *line)
{
	char copy[256];
	char *w[2];
	size_t n;

	snprintf(copy, sizeof(copy), "%s", line);
	n = split_words(copy, w, 2);
	if (n == 0)
		return false;
	if (is_class_word(w[0]) || all_digits(w[0]))
		return true;
	if (is_type_word(w[0]))
		return n < 2 || !(is_class_word(w[1]) || is_type_word(w[1]) || all_digits(w[1]));
	return false;
}

/** Remove '(' and ')' outside quotes; @return depth change. */
static int strip_parens(char *s)
{
	bool in_quote = false;
	int depth = 0;

	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			continue;
		}
		if (*s == '"')
			in_quote = !in_quote;
		else if (!in_quote && (*s == '(' || *s == ')')) {
			depth += *s == '(' ? 1 : -1;
			*s = ' ';
		}
	}
	return depth;
}

/**
 * Parse one record starting with line @p first (comments already removed),
 * reading continuation lines while parentheses are open.
 */
static int parse_rr(struct parser *p, char *first, bool question, ldns_rr **out)
{
	size_t cap = strlen(first) + 1024;
	char *text = malloc(cap);
	int depth;
	ldns_status st;
	int ret = 0;

	if (!text)
		return -ENOMEM;
	snprintf(text, cap, "%s", first);
	depth = strip_parens(text);
	while (depth > 0) {
		char *l = next_raw(p);
		if (!l) {
			free(text);
			return fail(p, "unbalanced '(' in record");
		}
		strip_comment(l, ';');
		depth += strip_parens(l);
		size_t need = strlen(text) + strlen(l) + 2;
		if (need > cap) {
			char *nt = realloc(text, need * 2);
			if (!nt) {
				free(text);
				return -ENOMEM;
			}
			text = nt;
			cap = need * 2;
		}
		strcat(text, " ");
		strcat(text, l);
	}
	if (depth < 0) {
		free(text);
		return fail(p, "unbalanced ')' in record");
	}
	char *rec = trim(text);
	char *full = NULL;
	if (owner_omitted(rec)) {
		if (!p->prev_owner) {
			free(text);
			return fail(p, "record without owner and no previous owner");
		}
		char *o = ldns_rdf2str(p->prev_owner);
		if (!o || asprintf(&full, "%s %s", o, rec) < 0) {
			free(o);
			free(text);
			return -ENOMEM;
		}
		free(o);
		rec = full;
	}
	if (question)
		st = ldns_rr_new_question_frm_str(out, rec, p->origin, NULL);
	else
		st = ldns_rr_new_frm_str(out, rec, p->default_ttl, p->origin, NULL);
	if (st != LDNS_STATUS_OK) {
		ret = fail(p, "bad record '%.80s': %s", rec, ldns_get_errorstr_by_id(st));
	} else {
		ldns_rdf_deep_free(p->prev_owner);
		p->prev_owner = ldns_rdf_clone(ldns_rr_owner(*out));
		if (!p->prev_owner) {
			ldns_rr_free(*out);
			*out = NULL;
			ret = -ENOMEM;
		}
	}
	free(full);
	free(text);
	return ret;
}

/** Handle $ORIGIN / $TTL. @return 1 if @p l was a directive, 0 if not, <0 on error */
static int directive(struct parser *p, char *l)
{
	char *w[3];
	size_t n;

	if (l[0] != '$')
		return 0;
	n = split_words(l, w, 3);
	if (n == 2 && strcasecmp(w[0], "$ORIGIN") == 0) {
		ldns_rdf *o = ldns_dname_new_frm_str(w[1]);
		if (!o || (w[1][strlen(w[1]) - 1] != '.' && strcmp(w[1], ".") != 0)) {
			ldns_rdf_deep_free(o);
			return fail(p, "$ORIGIN needs an absolute name");
		}
		ldns_rdf_deep_free(p->origin);
		p->origin = o;
		return 1;
	}
	if (n == 2 && strcasecmp(w[0], "$TTL") == 0) {
		long v;
		if (parse_long(w[1], &v) || v < 0 || v > INT32_MAX)
			return fail(p, "bad $TTL");
		p->default_ttl = (uint32_t)v;
		return 1;
	}
	return fail(p, "unknown directive '%s'", w[0]);
}

/* ------------------------------------------------------------------------ */
/* ENTRY                                                                     */

static const struct {
	const char *word;
	uint32_t bit;
} match_words[] = {
	{"opcode", RPL_M_OPCODE},
	{"qtype", RPL_M_QTYPE},
	{"qname", RPL_M_QNAME},
	{"qcase", RPL_M_QCASE},
	{"subdomain", RPL_M_SUBDOMAIN},
	{"question", RPL_M_QUESTION},
	{"flags", RPL_M_FLAGS},
	{"rcode", RPL_M_RCODE},
	{"answer", RPL_M_ANSWER},
	{"authority", RPL_M_AUTHORITY},
	{"additional", RPL_M_ADDITIONAL},
	{"all", RPL_M_ALL},
	{"all_noedns", RPL_M_ALL_NOEDNS},
	{"ttl", RPL_M_TTL},
	{"DO", RPL_M_DO},
	{"noedns", RPL_M_NOEDNS},
	{"UDP", RPL_M_UDP},
	{"TCP", RPL_M_TCP},
	{"ednsdata", RPL_M_EDNSDATA},
	{"answertypes", RPL_M_ANSWERTYPES},
	{"answerrrsigs", RPL_M_ANSWERRRSIGS},
	{"edns", RPL_M_EDNS},
	{"nsid", RPL_M_NSID},
	{"client_cookie", RPL_M_CLIENT_COOKIE},
	{"server_cookie", RPL_M_SERVER_COOKIE},
};

static int parse_match(struct parser *p, struct rpl_entry *e, char *rest)
{
	char *w[32];
	size_t n = split_words(rest, w, 32);

	for (size_t i = 0; i < n; i++) {
		bool found = false;
		long v;

		for (size_t j = 0; j < sizeof(match_words) / sizeof(match_words[0]); j++) {
			if (strcasecmp(w[i], match_words[j].word) == 0) {
				e->match |= match_words[j].bit;
				found = true;
			}
		}
		if (found)
			continue;
		if (strncasecmp(w[i], "ede=", 4) == 0) {
			e->match |= RPL_M_EDE;
			if (strcasecmp(w[i] + 4, "any") == 0)
				e->ede_code = RPL_EDE_ANY;
			else if (parse_long(w[i] + 4, &v) == 0 && v >= 0 && v <= 65535)
				e->ede_code = (int)v;
			else
				return fail(p, "bad MATCH %s", w[i]);
		} else if (strncasecmp(w[i], "serial=", 7) == 0) {
			e->match |= RPL_M_SERIAL;
			if (parse_long(w[i] + 7, &v) || v < 0 || v > (long)UINT32_MAX)
				return fail(p, "bad MATCH %s", w[i]);
			e->serial = (uint32_t)v;
		} else {
			return fail(p, "unknown MATCH element '%s'", w[i]);
		}
	}
	return 0;
}

static int parse_adjust(struct parser *p, struct rpl_entry *e, char *rest)
{
	char *w[16];
	size_t n = split_words(rest, w, 16);

	for (size_t i = 0; i < n; i++) {
		if (strcmp(w[i], "copy_id") == 0)
			e->adjust |= RPL_A_COPY_ID;
		else if (strcmp(w[i], "copy_query") == 0)
			e->adjust |= RPL_A_COPY_QUERY;
		else if (strcmp(w[i], "raw_id") == 0)
			e->adjust |= RPL_A_RAW_ID;
		else if (strcmp(w[i], "do_not_answer") == 0)
			e->adjust |= RPL_A_DO_NOT_ANSWER;
		else if (strcmp(w[i], "copy_ednsdata_assume_clientsubnet") == 0)
			e->adjust |= RPL_A_COPY_ECS;
		else if (strcmp(w[i], "increment_ecs_scope") == 0)
			e->adjust |= RPL_A_INCREMENT_ECS;
		else if (strncmp(w[i], "sleep=", 6) == 0 ||
			 strncmp(w[i], "packet_sleep=", 13) == 0) {
			bool is_packet = w[i][0] == 'p';
			char *end;
			double s = strtod(strchr(w[i], '=') + 1, &end);
			if (*end || s < 0 || s > 3600)
				return fail(p, "bad ADJUST %s", w[i]);
			e->adjust |= is_packet ? RPL_A_PACKET_SLEEP : RPL_A_SLEEP;
			e->sleep_ms = (unsigned)(s * 1000);
		} else {
			return fail(p, "unknown ADJUST element '%s'", w[i]);
		}
	}
	return 0;
}

static int parse_reply(struct parser *p, struct rpl_entry *e, ldns_pkt *pkt, char *rest)
{
	char *w[32];
	size_t n = split_words(rest, w, 32);

	for (size_t i = 0; i < n; i++) {
		const char *s = w[i];
		ldns_lookup_table *lt;

		if (strcmp(s, "QR") == 0)
			ldns_pkt_set_qr(pkt, true);
		else if (strcmp(s, "AA") == 0)
			ldns_pkt_set_aa(pkt, true);
		else if (strcmp(s, "TC") == 0)
			ldns_pkt_set_tc(pkt, true);
		else if (strcmp(s, "RD") == 0)
			ldns_pkt_set_rd(pkt, true);
		else if (strcmp(s, "RA") == 0)
			ldns_pkt_set_ra(pkt, true);
		else if (strcmp(s, "AD") == 0)
			ldns_pkt_set_ad(pkt, true);
		else if (strcmp(s, "CD") == 0)
			ldns_pkt_set_cd(pkt, true);
		else if (strcmp(s, "DO") == 0) {
			ldns_pkt_set_edns_do(pkt, true);
			ldns_pkt_set_edns_udp_size(pkt, 4096);
			e->has_do = true;
		} else if ((lt = ldns_lookup_by_name(ldns_opcodes, s)) != NULL)
			ldns_pkt_set_opcode(pkt, (ldns_pkt_opcode)lt->id);
		else if (strcmp(s, "NOTIMP") == 0)
			ldns_pkt_set_rcode(pkt, LDNS_RCODE_NOTIMPL);
		else if (strcmp(s, "BADVERS") == 0) {
			/* Extended rcode 16 = upper bits 1, lower bits 0 (RFC 6891 §6.1.3). */
			ldns_pkt_set_rcode(pkt, 0);
			ldns_pkt_set_edns_extended_rcode(pkt, 1);
			ldns_pkt_set_edns_udp_size(pkt, 4096);
		} else if ((lt = ldns_lookup_by_name(ldns_rcodes, s)) != NULL)
			ldns_pkt_set_rcode(pkt, (uint8_t)lt->id);
		else
			return fail(p, "unknown REPLY word '%s'", s);
	}
	return 0;
}

static struct rpl_entry *entry_new(int line)
{
	struct rpl_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->line = line;
	e->pkt = ldns_pkt_new();
	if (!e->pkt) {
		free(e);
		return NULL;
	}
	return e;
}

static void entry_free(struct rpl_entry *e)
{
	while (e) {
		struct rpl_entry *next = e->next;
		entry_free(e->extra);
		ldns_pkt_free(e->pkt);
		free(e->raw);
		free(e->ednsdata);
		free(e);
		e = next;
	}
}

/** Parse an entry; the ENTRY_BEGIN line has just been read. */
static int parse_entry(struct parser *p, struct rpl_entry **out)
{
	struct rpl_entry *e = entry_new(p->lineno);
	struct rpl_entry *cur = e;
	int section = -1; /* ldns_pkt_section, -1 = none yet */
	int ret = -EINVAL;
	char *l;

	if (!e)
		return -ENOMEM;
	while ((l = next_line(p)) != NULL) {
		char *w[2];

		if ((ret = directive(p, l)) < 0)
			goto fail;
		if (ret == 1)
			continue;
		if (is_kw(l, "ENTRY_END")) {
			*out = e;
			return 0;
		} else if (is_kw(l, "MATCH")) {
			ret = parse_match(p, e, l + 5);
		} else if (is_kw(l, "ADJUST")) {
			ret = parse_adjust(p, e, l + 6);
		} else if (is_kw(l, "REPLY") || is_kw(l, "FLAGS")) {
			/* Deckard's grammar accepts FLAGS as a synonym of REPLY */
			ret = parse_reply(p, cur, cur->pkt, l + 5);
		} else if (is_kw(l, "MANDATORY")) {
			e->is_mandatory = true;
		} else if (is_kw(l, "SECTION")) {
			if (split_words(l, w, 2) != 2)
				ret = fail(p, "SECTION needs a name");
			else if (strcmp(w[1], "QUESTION") == 0)
				section = LDNS_SECTION_QUESTION;
			else if (strcmp(w[1], "ANSWER") == 0)
				section = LDNS_SECTION_ANSWER;
			else if (strcmp(w[1], "AUTHORITY") == 0)
				section = LDNS_SECTION_AUTHORITY;
			else if (strcmp(w[1], "ADDITIONAL") == 0)
				section = LDNS_SECTION_ADDITIONAL;
			else
				ret = fail(p, "unknown SECTION '%s'", w[1]);
		} else if (is_kw(l, "EXTRA_PACKET")) {
			cur->extra = entry_new(p->lineno);
			if (!cur->extra) {
				ret = -ENOMEM;
				goto fail;
			}
			cur = cur->extra;
			section = -1;
		} else if (is_kw(l, "HEX_ANSWER_BEGIN") || is_kw(l, "HEX_EDNSDATA_BEGIN")) {
			bool is_answer = is_kw(l, "HEX_ANSWER_BEGIN");
			const char *end = is_answer ? "HEX_ANSWER_END" : "HEX_EDNSDATA_END";
			uint8_t **buf = is_answer ? &cur->raw : &e->ednsdata;
			size_t *len = is_answer ? &cur->raw_len : &e->ednsdata_len;
			for (;;) {
				l = next_line(p);
				if (!l) {
					ret = fail(p, "missing %s", end);
					goto fail;
				}
				if (is_kw(l, end))
					break;
				if ((ret = hex_append(p, l, buf, len)) != 0)
					goto fail;
			}
		} else if (is_kw(l, "RAW")) {
			l = next_line(p);
			if (!l) {
				ret = fail(p, "RAW without data");
				goto fail;
			}
			ret = hex_append(p, l, &cur->raw, &cur->raw_len);
		} else if (is_kw(l, "TSIG")) {
			ret = fail(p, "TSIG entries are not supported");
		} else if (section < 0) {
			ret = fail(p, "'%.40s' outside a SECTION", l);
		} else {
			ldns_rr *rr = NULL;
			ret = parse_rr(p, l, section == LDNS_SECTION_QUESTION, &rr);
			if (ret == 0 &&
			    !ldns_pkt_push_rr(cur->pkt, (ldns_pkt_section)section, rr)) {
				ldns_rr_free(rr);
				ret = -ENOMEM;
			}
		}
		if (ret < 0)
			goto fail;
	}
	ret = fail(p, "missing ENTRY_END");
fail:
	entry_free(e);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* RANGE and STEP                                                            */

static int range_add_addr(struct parser *p, struct rpl_range *r, const char *s)
{
	struct sockaddr_storage *a = grow(r->addrs, r->naddrs, sizeof(*a));

	if (!a)
		return -ENOMEM;
	r->addrs = a;
	if (rpl_addr_parse(s, &r->addrs[r->naddrs]) != 0)
		return fail(p, "bad address '%s'", s);
	r->naddrs++;
	return 0;
}

static int parse_range(struct parser *p, char *l)
{
	struct rpl_scenario *sc = p->sc;
	struct rpl_range *r = grow(sc->ranges, sc->nranges, sizeof(*r));
	struct rpl_entry **tail;
	char *w[5];
	size_t n;
	int ret;

	if (!r)
		return -ENOMEM;
	sc->ranges = r;
	r = &sc->ranges[sc->nranges++];
	memset(r, 0, sizeof(*r));
	r->line = p->lineno;
	tail = &r->entries;
	n = split_words(l, w, 5);
	if (n < 3 || n > 4 || parse_long(w[1], &r->from) || parse_long(w[2], &r->to) ||
	    r->from > r->to)
		return fail(p, "RANGE_BEGIN needs <from> <to> [address]");
	if (n == 4 && (ret = range_add_addr(p, r, w[3])) != 0)
		return ret;
	while ((l = next_line(p)) != NULL) {
		if ((ret = directive(p, l)) < 0)
			return ret;
		if (ret == 1)
			continue;
		if (is_kw(l, "RANGE_END") || is_kw(l, "END_RANGE"))
			return 0;
		if (is_kw(l, "ADDRESS")) {
			if (split_words(l, w, 3) != 2)
				return fail(p, "ADDRESS needs one address");
			if ((ret = range_add_addr(p, r, w[1])) != 0)
				return ret;
		} else if (is_kw(l, "ENTRY_BEGIN")) {
			if ((ret = parse_entry(p, tail)) != 0)
				return ret;
			tail = &(*tail)->next;
		} else {
			return fail(p, "unexpected '%.40s' in RANGE", l);
		}
	}
	return fail(p, "missing RANGE_END");
}

static const char *const step_names[RPL_STEP_COUNT] = {
	[RPL_STEP_QUERY] = "QUERY",
	[RPL_STEP_CHECK_ANSWER] = "CHECK_ANSWER",
	[RPL_STEP_CHECK_OUT_QUERY] = "CHECK_OUT_QUERY",
	[RPL_STEP_REPLY] = "REPLY",
	[RPL_STEP_TIME_PASSES] = "TIME_PASSES",
	[RPL_STEP_TIMEOUT] = "TIMEOUT",
	[RPL_STEP_TRAFFIC] = "TRAFFIC",
	[RPL_STEP_NOTHING] = "NOTHING",
	[RPL_STEP_UNSUPPORTED] = "UNSUPPORTED",
};

const char *rpl_step_type_str(enum rpl_step_type t)
{
	return t < RPL_STEP_COUNT ? step_names[t] : "?";
}

/** Step types that only Unbound's testbound can run (they poke its internals). */
static const char *const ub_only_steps[] = {
	"ASSIGN",        "CHECK_AUTOTRUST", "CHECK_TEMPFILE", "INFRA_RTT",
	"FLUSH_MESSAGE", "EXPIRE_MESSAGE",  "ERROR",          NULL,
};

static int parse_step(struct parser *p, char *l)
{
	struct rpl_scenario *sc = p->sc;
	struct rpl_step *s = grow(sc->steps, sc->nsteps, sizeof(*s));
	char *w[3];
	int ret;

	if (!s)
		return -ENOMEM;
	sc->steps = s;
	s = &sc->steps[sc->nsteps++];
	memset(s, 0, sizeof(*s));
	s->line = p->lineno;
	char *rest = l;
	w[0] = next_word(&rest);
	w[1] = next_word(&rest);
	w[2] = next_word(&rest);
	if (!w[2])
		return fail(p, "STEP needs a number and a type");
	if (parse_long(w[1], &s->num) || s->num < 0)
		return fail(p, "bad step number '%s'", w[1]);
	if (sc->nsteps > 1 && s->num <= sc->steps[sc->nsteps - 2].num)
		return fail(p, "step %ld does not follow step %ld", s->num,
			    sc->steps[sc->nsteps - 2].num);
	s->type_word = strdup(w[2]);
	s->arg = strdup(trim(rest));
	if (!s->type_word || !s->arg)
		return -ENOMEM;
	s->type = RPL_STEP_COUNT;
	for (int t = 0; t < RPL_STEP_UNSUPPORTED; t++)
		if (strcmp(w[2], step_names[t]) == 0)
			s->type = (enum rpl_step_type)t;
	if (s->type == RPL_STEP_COUNT) {
		for (size_t i = 0; ub_only_steps[i]; i++)
			if (strcmp(w[2], ub_only_steps[i]) == 0)
				s->type = RPL_STEP_UNSUPPORTED;
		if (s->type == RPL_STEP_COUNT)
			return fail(p, "unknown STEP type '%s'", w[2]);
		if (strcmp(w[2], "CHECK_AUTOTRUST") == 0 || strcmp(w[2], "CHECK_TEMPFILE") == 0) {
			char *junk;
			if ((l = next_line(p)) == NULL || !is_kw(l, "FILE_BEGIN"))
				return fail(p, "%s needs FILE_BEGIN", w[2]);
			if ((ret = collect_block(p, "FILE_END", &junk)) != 0)
				return ret;
			free(junk);
		}
		return 0;
	}
	if (s->type == RPL_STEP_TIME_PASSES) {
		char *a[3];
		char tmp[128];
		snprintf(tmp, sizeof(tmp), "%s", s->arg);
		if (split_words(tmp, a, 3) != 2)
			return fail(p, "TIME_PASSES needs ELAPSE <seconds> or EVAL <expr>");
		if (strcmp(a[0], "EVAL") == 0) {
			/* ${...} expressions need ASSIGN, which is testbound-only. */
			s->type = RPL_STEP_UNSUPPORTED;
			return 0;
		}
		char *end;
		double sec = strtod(a[1], &end);
		if (strcmp(a[0], "ELAPSE") != 0 || *end || sec < 0 || sec > 1e9)
			return fail(p, "TIME_PASSES needs ELAPSE <seconds>");
		s->elapse_ms = (uint64_t)(sec * 1000.0 + 0.5);
		return 0;
	}
	if (s->type == RPL_STEP_QUERY || s->type == RPL_STEP_CHECK_ANSWER ||
	    s->type == RPL_STEP_CHECK_OUT_QUERY || s->type == RPL_STEP_REPLY) {
		if ((l = next_line(p)) == NULL || !is_kw(l, "ENTRY_BEGIN"))
			return fail(p, "STEP %ld %s needs an ENTRY", s->num, w[2]);
		return parse_entry(p, &s->entry);
	}
	return 0;
}

static int parse_body(struct parser *p)
{
	char *l;
	int ret;

	while ((l = next_line(p)) != NULL) {
		if (is_kw(l, "SCENARIO_BEGIN")) {
			p->sc->title = strdup(trim(l + strlen("SCENARIO_BEGIN")));
			if (!p->sc->title)
				return -ENOMEM;
			break;
		}
		return fail(p, "expected SCENARIO_BEGIN, got '%.40s'", l);
	}
	if (!l)
		return fail(p, "missing SCENARIO_BEGIN");
	while ((l = next_line(p)) != NULL) {
		if ((ret = directive(p, l)) < 0)
			return ret;
		if (ret == 1)
			continue;
		if (is_kw(l, "SCENARIO_END"))
			return 0;
		if (is_kw(l, "RANGE_BEGIN"))
			ret = parse_range(p, l);
		else if (is_kw(l, "STEP"))
			ret = parse_step(p, l);
		else
			ret = fail(p, "unexpected '%.40s'", l);
		if (ret)
			return ret;
	}
	return fail(p, "missing SCENARIO_END");
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */

int rpl_parse_buf(const char *text, const char *name, struct rpl_scenario **out, char *err,
		  size_t errlen)
{
	struct parser p = {.name = name, .err = err, .errlen = errlen, .default_ttl = 3600};
	size_t n = 1;
	int ret = -ENOMEM;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	p.buf = strdup(text);
	p.sc = calloc(1, sizeof(*p.sc));
	if (!p.buf || !p.sc)
		goto done;
	p.sc->path = strdup(name);
	if (!p.sc->path)
		goto done;
	for (const char *c = text; *c; c++)
		n += *c == '\n';
	p.lines = calloc(n, sizeof(*p.lines));
	if (!p.lines)
		goto done;
	for (char *c = p.buf, *start = p.buf;; c++) {
		if (*c == '\n' || *c == '\0') {
			bool end = *c == '\0';
			*c = '\0';
			if (c > start && c[-1] == '\r')
				c[-1] = '\0';
			p.lines[p.nlines++] = start;
			start = c + 1;
			if (end)
				break;
		}
	}
	ret = parse_config(&p);
	if (ret == 0)
		ret = parse_body(&p);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", name);
done:
	free(p.lines);
	free(p.buf);
	ldns_rdf_deep_free(p.origin);
	ldns_rdf_deep_free(p.prev_owner);
	if (ret == 0)
		*out = p.sc;
	else
		rpl_scenario_free(p.sc);
	return ret;
}

int rpl_parse_file(const char *path, struct rpl_scenario **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;
	int ret;

	*out = NULL;
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	FILE *m = open_memstream(&text, &len);
	if (!m) {
		fclose(f);
		return -ENOMEM;
	}
	char chunk[8192];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, got, m);
	bool bad = ferror(f);
	fclose(f);
	/* the memstream buffer is valid only after fclose() */
	if (fclose(m) != 0 || !text) {
		free(text);
		return -ENOMEM;
	}
	if (bad || memchr(text, 0, len) != NULL) {
		snprintf(err, errlen, "%s: unreadable or binary file", path);
		free(text);
		return -EINVAL;
	}
	ret = rpl_parse_buf(text, path, out, err, errlen);
	free(text);
	return ret;
}

size_t rpl_scenario_count_entries(const struct rpl_scenario *sc)
{
	size_t n = 0;

	for (size_t i = 0; i < sc->nranges; i++)
		for (const struct rpl_entry *e = sc->ranges[i].entries; e; e = e->next)
			n++;
	for (size_t i = 0; i < sc->nsteps; i++)
		n += sc->steps[i].entry != NULL;
	return n;
}

int rpl_tempfiles_write(struct rpl_scenario *sc)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = NULL;

	if (sc->ntempfiles == 0 || sc->tempdir)
		return 0;
	if (asprintf(&dir, "%s/ost_replay.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
		return -ENOMEM;
	if (!mkdtemp(dir)) {
		int e = -errno;
		free(dir);
		return e;
	}
	sc->tempdir = dir;
	for (size_t i = 0; i < sc->ntempfiles; i++)
		if (asprintf(&sc->tempfiles[i].path, "%s/%s", dir, sc->tempfiles[i].name) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < sc->ntempfiles; i++) {
		struct rpl_tempfile *t = &sc->tempfiles[i];
		FILE *f = fopen(t->path, "w");
		if (!f)
			return -errno;
		/* $INCLUDE_TEMPFILE x becomes a $INCLUDE of x's written path. */
		char *copy = strdup(t->contents), *save = NULL;
		if (!copy) {
			fclose(f);
			return -ENOMEM;
		}
		for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			char *tl = trim(l);
			if (is_kw(tl, "$INCLUDE_TEMPFILE")) {
				const char *inc = trim(tl + strlen("$INCLUDE_TEMPFILE"));
				for (size_t j = 0; j < sc->ntempfiles; j++)
					if (strcmp(sc->tempfiles[j].name, inc) == 0)
						inc = sc->tempfiles[j].path;
				fprintf(f, "$INCLUDE %s\n", inc);
			} else {
				fprintf(f, "%s\n", l);
			}
		}
		free(copy);
		if (fclose(f) != 0)
			return -EIO;
	}
	for (size_t i = 0; i < sc->nclauses; i++) {
		struct rpl_clause *c = &sc->clauses[i];
		for (size_t j = 0; j < c->nkv; j++) {
			char *path = NULL;
			if (!c->kv[j].tempfile)
				continue;
			if (asprintf(&path, "%s/%s", dir, c->kv[j].tempfile) < 0)
				return -ENOMEM;
			free(c->kv[j].value);
			c->kv[j].value = path;
		}
	}
	return 0;
}

void rpl_scenario_free(struct rpl_scenario *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->ntempfiles; i++) {
		if (sc->tempfiles[i].path)
			unlink(sc->tempfiles[i].path);
		free(sc->tempfiles[i].path);
		free(sc->tempfiles[i].name);
		free(sc->tempfiles[i].contents);
	}
	free(sc->tempfiles);
	if (sc->tempdir)
		rmdir(sc->tempdir);
	free(sc->tempdir);
	for (size_t i = 0; i < sc->nclauses; i++) {
		for (size_t j = 0; j < sc->clauses[i].nkv; j++) {
			free(sc->clauses[i].kv[j].key);
			free(sc->clauses[i].kv[j].value);
			free(sc->clauses[i].kv[j].tempfile);
		}
		free(sc->clauses[i].kv);
		free(sc->clauses[i].name);
	}
	free(sc->clauses);
	for (size_t i = 0; i < sc->ncommandline; i++)
		free(sc->commandline[i]);
	free(sc->commandline);
	for (size_t i = 0; i < sc->nranges; i++) {
		entry_free(sc->ranges[i].entries);
		free(sc->ranges[i].addrs);
	}
	free(sc->ranges);
	for (size_t i = 0; i < sc->nsteps; i++) {
		entry_free(sc->steps[i].entry);
		free(sc->steps[i].type_word);
		free(sc->steps[i].arg);
	}
	free(sc->steps);
	free(sc->title);
	free(sc->path);
	free(sc);
}
