/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Parser for .rpl replay scenarios (Unbound testbound / Deckard), written
 * from ../shared/testdata/rpl/FORMAT.md. This half splits the file into
 * lines, turns the CONFIG block into clauses of key/value pairs (plus
 * TEMPFILE contents) and the scenario body into RANGEs and STEPs; the
 * ENTRYs inside them (an ldns_pkt built from the REPLY line and the
 * SECTIONs, with MATCH/ADJUST rules) are parsed by rpl_entry.c. Anything
 * malformed is refused with "file:line: message"; nothing is guessed.
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
#include "rpl_parser.h"


int rpl_p_fail(struct parser *p, const char *fmt, ...)
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
void rpl_p_strip_comment(char *s, char c)
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

char *rpl_p_trim(char *s)
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
size_t rpl_p_split_words(char *s, char **w, size_t max)
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
bool rpl_p_is_kw(const char *s, const char *kw)
{
	size_t n = strlen(kw);

	return strncmp(s, kw, n) == 0 && (s[n] == '\0' || isspace((unsigned char)s[n]));
}

/** Read the next line; NULL at end of file. The returned text is writable. */
char *rpl_p_next_raw(struct parser *p)
{
	if (p->next >= p->nlines)
		return NULL;
	p->lineno = (int)p->next + 1;
	return p->lines[p->next++];
}

/** Next non-empty line with ';' comments removed and trimmed; NULL at end. */
char *rpl_p_next_line(struct parser *p)
{
	char *l;

	while ((l = rpl_p_next_raw(p)) != NULL) {
		rpl_p_strip_comment(l, ';');
		l = rpl_p_trim(l);
		if (*l)
			return l;
	}
	return NULL;
}

int rpl_p_parse_long(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return (errno || end == s || *end) ? -EINVAL : 0;
}

int rpl_p_hex_append(struct parser *p, const char *s, uint8_t **buf, size_t *len)
{
	for (; *s; s++) {
		int hi, lo;

		if (isspace((unsigned char)*s))
			continue;
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return rpl_p_fail(p, "bad hex data near '%.10s'", s);
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

void *rpl_p_grow(void *arr, size_t n, size_t size)
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
	struct rpl_clause *c = rpl_p_grow(sc->clauses, sc->nclauses, sizeof(*c));

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
	kv = rpl_p_grow(c->kv, c->nkv, sizeof(*kv));
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
	while ((l = rpl_p_next_raw(p)) != NULL) {
		if (rpl_p_is_kw(rpl_p_trim(l), end_kw)) {
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
	return rpl_p_fail(p, "missing %s", end_kw);
}

static int parse_config(struct parser *p)
{
	char *raw;
	int ret;

	while ((raw = rpl_p_next_raw(p)) != NULL) {
		char *l = rpl_p_trim(raw);
		char *w[2];

		if (rpl_p_is_kw(l, "CONFIG_END"))
			return 0;
		if (rpl_p_is_kw(l, "TEMPFILE_CONTENTS")) {
			struct rpl_scenario *sc = p->sc;
			struct rpl_tempfile *t =
				rpl_p_grow(sc->tempfiles, sc->ntempfiles, sizeof(*t));
			char *name = rpl_p_trim(l + strlen("TEMPFILE_CONTENTS"));

			if (!t)
				return -ENOMEM;
			sc->tempfiles = t;
			t = &sc->tempfiles[sc->ntempfiles];
			memset(t, 0, sizeof(*t));
			if (!*name || strchr(name, '/'))
				return rpl_p_fail(p, "TEMPFILE_CONTENTS needs a plain file name");
			t->name = strdup(name);
			if (!t->name)
				return -ENOMEM;
			sc->ntempfiles++;
			if ((ret = collect_block(p, "TEMPFILE_END", &t->contents)) != 0)
				return ret;
			continue;
		}
		if (rpl_p_is_kw(l, "AUTOTRUST_FILE")) {
			char *junk;
			p->sc->has_autotrust = true;
			if ((ret = collect_block(p, "AUTOTRUST_END", &junk)) != 0)
				return ret;
			free(junk);
			continue;
		}
		if (rpl_p_is_kw(l, "TEMPFILE_NAME")) {
			char *name = rpl_p_trim(l + strlen("TEMPFILE_NAME"));
			struct rpl_clause *c =
				p->sc->nclauses ? &p->sc->clauses[p->sc->nclauses - 1] : NULL;
			struct rpl_kv *kv = c && c->nkv ? &c->kv[c->nkv - 1] : NULL;

			if (!kv || kv->value[0] || kv->tempfile)
				return rpl_p_fail(p,
						  "TEMPFILE_NAME must follow a key with no value");
			if (!*name || strchr(name, '/'))
				return rpl_p_fail(p, "TEMPFILE_NAME needs a plain file name");
			kv->tempfile = strdup(name);
			if (!kv->tempfile)
				return -ENOMEM;
			continue;
		}
		if (rpl_p_is_kw(l, "COMMANDLINE")) {
			struct rpl_scenario *sc = p->sc;
			char **c = rpl_p_grow(sc->commandline, sc->ncommandline, sizeof(*c));
			if (!c)
				return -ENOMEM;
			sc->commandline = c;
			c[sc->ncommandline] = strdup(rpl_p_trim(l + strlen("COMMANDLINE")));
			if (!c[sc->ncommandline])
				return -ENOMEM;
			sc->ncommandline++;
			continue;
		}
		rpl_p_strip_comment(l, ';');
		rpl_p_strip_comment(l, '#');
		l = rpl_p_trim(l);
		if (!*l)
			continue;
		char *colon = strchr(l, ':');
		if (!colon || colon == l)
			return rpl_p_fail(p, "config line is not 'key: value': '%.60s'", l);
		*colon = '\0';
		w[0] = rpl_p_trim(l);
		w[1] = rpl_p_trim(colon + 1);
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
	return rpl_p_fail(p, "missing CONFIG_END");
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
/* RANGE and STEP                                                            */

static int range_add_addr(struct parser *p, struct rpl_range *r, const char *s)
{
	struct sockaddr_storage *a = rpl_p_grow(r->addrs, r->naddrs, sizeof(*a));

	if (!a)
		return -ENOMEM;
	r->addrs = a;
	if (rpl_addr_parse(s, &r->addrs[r->naddrs]) != 0)
		return rpl_p_fail(p, "bad address '%s'", s);
	r->naddrs++;
	return 0;
}

static int parse_range(struct parser *p, char *l)
{
	struct rpl_scenario *sc = p->sc;
	struct rpl_range *r = rpl_p_grow(sc->ranges, sc->nranges, sizeof(*r));
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
	n = rpl_p_split_words(l, w, 5);
	if (n < 3 || n > 4 || rpl_p_parse_long(w[1], &r->from) || rpl_p_parse_long(w[2], &r->to) ||
	    r->from > r->to)
		return rpl_p_fail(p, "RANGE_BEGIN needs <from> <to> [address]");
	if (n == 4 && (ret = range_add_addr(p, r, w[3])) != 0)
		return ret;
	while ((l = rpl_p_next_line(p)) != NULL) {
		if ((ret = rpl_p_directive(p, l)) < 0)
			return ret;
		if (ret == 1)
			continue;
		if (rpl_p_is_kw(l, "RANGE_END") || rpl_p_is_kw(l, "END_RANGE"))
			return 0;
		if (rpl_p_is_kw(l, "ADDRESS")) {
			if (rpl_p_split_words(l, w, 3) != 2)
				return rpl_p_fail(p, "ADDRESS needs one address");
			if ((ret = range_add_addr(p, r, w[1])) != 0)
				return ret;
		} else if (rpl_p_is_kw(l, "ENTRY_BEGIN")) {
			if ((ret = rpl_p_parse_entry(p, tail)) != 0)
				return ret;
			tail = &(*tail)->next;
		} else {
			return rpl_p_fail(p, "unexpected '%.40s' in RANGE", l);
		}
	}
	return rpl_p_fail(p, "missing RANGE_END");
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
	struct rpl_step *s = rpl_p_grow(sc->steps, sc->nsteps, sizeof(*s));
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
		return rpl_p_fail(p, "STEP needs a number and a type");
	if (rpl_p_parse_long(w[1], &s->num) || s->num < 0)
		return rpl_p_fail(p, "bad step number '%s'", w[1]);
	if (sc->nsteps > 1 && s->num <= sc->steps[sc->nsteps - 2].num)
		return rpl_p_fail(p, "step %ld does not follow step %ld", s->num,
				  sc->steps[sc->nsteps - 2].num);
	s->type_word = strdup(w[2]);
	s->arg = strdup(rpl_p_trim(rest));
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
			return rpl_p_fail(p, "unknown STEP type '%s'", w[2]);
		if (strcmp(w[2], "CHECK_AUTOTRUST") == 0 || strcmp(w[2], "CHECK_TEMPFILE") == 0) {
			char *junk;
			if ((l = rpl_p_next_line(p)) == NULL || !rpl_p_is_kw(l, "FILE_BEGIN"))
				return rpl_p_fail(p, "%s needs FILE_BEGIN", w[2]);
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
		if (rpl_p_split_words(tmp, a, 3) != 2)
			return rpl_p_fail(p, "TIME_PASSES needs ELAPSE <seconds> or EVAL <expr>");
		if (strcmp(a[0], "EVAL") == 0) {
			/* ${...} expressions need ASSIGN, which is testbound-only. */
			s->type = RPL_STEP_UNSUPPORTED;
			return 0;
		}
		char *end;
		double sec = strtod(a[1], &end);
		if (strcmp(a[0], "ELAPSE") != 0 || *end || sec < 0 || sec > 1e9)
			return rpl_p_fail(p, "TIME_PASSES needs ELAPSE <seconds>");
		s->elapse_ms = (uint64_t)(sec * 1000.0 + 0.5);
		return 0;
	}
	if (s->type == RPL_STEP_QUERY || s->type == RPL_STEP_CHECK_ANSWER ||
	    s->type == RPL_STEP_CHECK_OUT_QUERY || s->type == RPL_STEP_REPLY) {
		if ((l = rpl_p_next_line(p)) == NULL || !rpl_p_is_kw(l, "ENTRY_BEGIN"))
			return rpl_p_fail(p, "STEP %ld %s needs an ENTRY", s->num, w[2]);
		return rpl_p_parse_entry(p, &s->entry);
	}
	return 0;
}

static int parse_body(struct parser *p)
{
	char *l;
	int ret;

	while ((l = rpl_p_next_line(p)) != NULL) {
		if (rpl_p_is_kw(l, "SCENARIO_BEGIN")) {
			p->sc->title = strdup(rpl_p_trim(l + strlen("SCENARIO_BEGIN")));
			if (!p->sc->title)
				return -ENOMEM;
			break;
		}
		return rpl_p_fail(p, "expected SCENARIO_BEGIN, got '%.40s'", l);
	}
	if (!l)
		return rpl_p_fail(p, "missing SCENARIO_BEGIN");
	while ((l = rpl_p_next_line(p)) != NULL) {
		if ((ret = rpl_p_directive(p, l)) < 0)
			return ret;
		if (ret == 1)
			continue;
		if (rpl_p_is_kw(l, "SCENARIO_END"))
			return 0;
		if (rpl_p_is_kw(l, "RANGE_BEGIN"))
			ret = parse_range(p, l);
		else if (rpl_p_is_kw(l, "STEP"))
			ret = parse_step(p, l);
		else
			ret = rpl_p_fail(p, "unexpected '%.40s'", l);
		if (ret)
			return ret;
	}
	return rpl_p_fail(p, "missing SCENARIO_END");
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
			char *tl = rpl_p_trim(l);
			if (rpl_p_is_kw(tl, "$INCLUDE_TEMPFILE")) {
				const char *inc = rpl_p_trim(tl + strlen("$INCLUDE_TEMPFILE"));
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
		rpl_p_entry_free(sc->ranges[i].entries);
		free(sc->ranges[i].addrs);
	}
	free(sc->ranges);
	for (size_t i = 0; i < sc->nsteps; i++) {
		rpl_p_entry_free(sc->steps[i].entry);
		free(sc->steps[i].type_word);
		free(sc->steps[i].arg);
	}
	free(sc->steps);
	free(sc->title);
	free(sc->path);
	free(sc);
}
