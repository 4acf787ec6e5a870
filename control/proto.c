/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control protocol's request side, as pure functions: split a line into
 * words (with double quotes for file names with spaces), match the words
 * against the command grammar, validate every argument (DNS names with
 * ldns, durations, drill profiles), and write the canonical line back. The
 * server runs this on bytes from the socket, so anything unexpected (control
 * characters, NUL, unbalanced quotes, extra words, over-long lines) is a
 * clear error, never a guess.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/control.h"

#define MAX_WORDS 8

static const char *const cmd_words[OST_CTL_CMD_COUNT] = {
	[OST_CTL_STATUS] = "status",
	[OST_CTL_STATS] = "stats",
	[OST_CTL_CACHE_FLUSH] = "cache flush",
	[OST_CTL_ZONE_LIST] = "zone list",
	[OST_CTL_ZONE_REFRESH] = "zone refresh",
	[OST_CTL_ZONE_IMPORT] = "zone import",
	[OST_CTL_MIRROR_EXTEND] = "mirror extend",
	[OST_CTL_ISOLATE] = "isolate",
	[OST_CTL_UNISOLATE] = "unisolate",
	[OST_CTL_DRILL_START] = "drill start",
	[OST_CTL_DRILL_STOP] = "drill stop",
	[OST_CTL_DRILL_REPORT] = "drill report",
	[OST_CTL_RELOAD] = "reload",
	[OST_CTL_NTA_ADD] = "nta add",
	[OST_CTL_NTA_REMOVE] = "nta remove",
	[OST_CTL_NTA_LIST] = "nta list",
};

/* Arguments each command takes after its words: minimum and maximum. */
static const struct {
	unsigned min, max;
	const char *usage;
} cmd_args[OST_CTL_CMD_COUNT] = {
	[OST_CTL_STATUS] = {0, 0, "status"},
	[OST_CTL_STATS] = {0, 0, "stats"},
	[OST_CTL_CACHE_FLUSH] = {0, 1, "cache flush [NAME]"},
	[OST_CTL_ZONE_LIST] = {0, 0, "zone list"},
	[OST_CTL_ZONE_REFRESH] = {1, 1, "zone refresh NAME"},
	[OST_CTL_ZONE_IMPORT] = {2, 2, "zone import NAME FILE"},
	[OST_CTL_MIRROR_EXTEND] = {2, 2, "mirror extend NAME DURATION"},
	[OST_CTL_ISOLATE] = {0, 0, "isolate"},
	[OST_CTL_UNISOLATE] = {0, 0, "unisolate"},
	[OST_CTL_DRILL_START] = {1, 1, "drill start PROFILE [--duration S]"},
	[OST_CTL_DRILL_STOP] = {0, 0, "drill stop"},
	[OST_CTL_DRILL_REPORT] = {0, 0, "drill report"},
	[OST_CTL_RELOAD] = {0, 0, "reload"},
	[OST_CTL_NTA_ADD] = {1, 2, "nta add NAME [DURATION]"},
	[OST_CTL_NTA_REMOVE] = {1, 1, "nta remove NAME"},
	[OST_CTL_NTA_LIST] = {0, 0, "nta list"},
};

const char *ost_ctl_cmd_str(enum ost_ctl_cmd c)
{
	return (unsigned)c < OST_CTL_CMD_COUNT ? cmd_words[c] : "?";
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int ost_ctl_parse_duration(const char *s, uint32_t *out)
{
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	unsigned long long mul = 1;
	if (*end) {
		if (end[1])
			return -EINVAL;
		switch (*end) {
		case 's':
			mul = 1;
			break;
		case 'm':
			mul = 60;
			break;
		case 'h':
			mul = 3600;
			break;
		case 'd':
			mul = 86400;
			break;
		default:
			return -EINVAL;
		}
	}
	if (v == 0 || v > 3650ULL * 86400 / mul)
		return -EINVAL;
	*out = (uint32_t)(v * mul);
	return 0;
}

/* A DNS name, made fully qualified in presentation format. */
static int parse_name(const char *s, char *out, size_t cap, char *err, size_t errlen)
{
	ldns_rdf *rd = NULL;
	if (!*s || ldns_str2rdf_dname(&rd, s) != LDNS_STATUS_OK)
		return fail(err, errlen, "not a valid DNS name: '%.64s'", s);
	char *text = ldns_rdf2str(rd);
	ldns_rdf_deep_free(rd);
	if (!text || strlen(text) >= cap) {
		free(text);
		return fail(err, errlen, "name too long");
	}
	strcpy(out, text);
	free(text);
	return 0;
}

/*
 * Split @p line into words. Words are separated by spaces or tabs; a word
 * may be double-quoted, with \" and \\ as the only escapes. Every word is
 * copied into @p store.
 */
static int split(const char *line, size_t len, char *store, size_t store_cap, char **words,
		 bool *quoted, unsigned *n, char *err, size_t errlen)
{
	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	if (len > OST_CTL_LINE_MAX)
		return fail(err, errlen, "request longer than %d bytes", OST_CTL_LINE_MAX);
	size_t used = 0;
	*n = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)line[i];
		if (c == ' ' || c == '\t') {
			i++;
			continue;
		}
		if (*n == MAX_WORDS)
			return fail(err, errlen, "too many words");
		char *w = store + used;
		bool is_quoted = c == '"';
		if (is_quoted)
			i++;
		for (;;) {
			if (i == len) {
				if (is_quoted)
					return fail(err, errlen, "unterminated quote");
				break;
			}
			c = (unsigned char)line[i];
			if (c < 0x20 || c == 0x7f)
				return fail(err, errlen, "control character 0x%02x in request", c);
			if (!is_quoted && (c == ' ' || c == '\t'))
				break;
			if (!is_quoted && c == '"')
				return fail(err, errlen, "quote inside a word");
			if (is_quoted && c == '"') {
				i++;
				if (i < len && line[i] != ' ' && line[i] != '\t')
					return fail(err, errlen,
						    "text right after a closing quote");
				break;
			}
			if (is_quoted && c == '\\') {
				if (i + 1 == len || (line[i + 1] != '"' && line[i + 1] != '\\'))
					return fail(err, errlen, "bad escape in quoted word");
				i++;
				c = (unsigned char)line[i];
			}
			if (used + 1 >= store_cap)
				return fail(err, errlen, "request too long");
			store[used++] = (char)c;
			i++;
		}
		store[used++] = '\0';
		quoted[*n] = is_quoted;
		words[(*n)++] = w;
	}
	return 0;
}

/*
 * A quoted word is always an argument, never an option: that is how a name or
 * file that starts with "--" travels over the socket (ost_ctl_format_line()
 * quotes such words). @p quoted may be NULL (argv: no quoting exists there).
 */
static int parse_words(char **w, const bool *quoted, unsigned n, struct ost_ctl_request *req,
		       char *err, size_t errlen)
{
	memset(req, 0, sizeof(*req));
	if (n == 0)
		return fail(err, errlen, "empty request");
	/* --json may stand anywhere after the command; --duration only where allowed */
	char *args[MAX_WORDS];
	unsigned na = 0;
	const char *duration = NULL;
	for (unsigned i = 0; i < n; i++) {
		if (quoted && quoted[i]) {
			args[na++] = w[i];
		} else if (strcmp(w[i], "--json") == 0) {
			req->is_json = true;
		} else if (strcmp(w[i], "--duration") == 0) {
			if (i + 1 == n)
				return fail(err, errlen, "--duration needs a value");
			duration = w[++i];
		} else if (strncmp(w[i], "--duration=", 11) == 0) {
			duration = w[i] + 11;
		} else if (w[i][0] == '-' && w[i][1] == '-') {
			return fail(err, errlen, "unknown option '%.32s'", w[i]);
		} else {
			args[na++] = w[i];
		}
	}
	if (na == 0)
		return fail(err, errlen, "no command");
	int cmd = -1;
	unsigned used = 0;
	for (int c = 0; c < OST_CTL_CMD_COUNT && cmd < 0; c++) {
		const char *words = cmd_words[c];
		const char *sp = strchr(words, ' ');
		if (!sp) {
			if (strcmp(args[0], words) == 0) {
				cmd = c;
				used = 1;
			}
		} else if (na >= 2 && strlen(args[0]) == (size_t)(sp - words) &&
			   strncmp(args[0], words, (size_t)(sp - words)) == 0 &&
			   strcmp(args[1], sp + 1) == 0) {
			cmd = c;
			used = 2;
		}
	}
	if (cmd < 0) {
		bool is_group = strcmp(args[0], "cache") == 0 || strcmp(args[0], "zone") == 0 ||
				strcmp(args[0], "mirror") == 0 || strcmp(args[0], "drill") == 0 ||
				strcmp(args[0], "nta") == 0;
		if (is_group)
			return fail(err, errlen, "unknown %s command '%.32s'", args[0],
				    na > 1 ? args[1] : "");
		return fail(err, errlen, "unknown command '%.32s'", args[0]);
	}
	req->cmd = (enum ost_ctl_cmd)cmd;
	unsigned nargs = na - used;
	char **a = args + used;
	if (nargs < cmd_args[cmd].min || nargs > cmd_args[cmd].max)
		return fail(err, errlen, "usage: %s", cmd_args[cmd].usage);
	if (duration && cmd != OST_CTL_DRILL_START)
		return fail(err, errlen, "--duration applies to drill start only");

	switch (req->cmd) {
	case OST_CTL_CACHE_FLUSH:
	case OST_CTL_ZONE_REFRESH:
	case OST_CTL_ZONE_IMPORT:
	case OST_CTL_MIRROR_EXTEND:
	case OST_CTL_NTA_ADD:
	case OST_CTL_NTA_REMOVE:
		if (nargs >= 1) {
			if (parse_name(a[0], req->name, sizeof(req->name), err, errlen) < 0)
				return -EINVAL;
			req->has_name = true;
		}
		break;
	default:
		break;
	}
	if (req->cmd == OST_CTL_ZONE_IMPORT) {
		if (!a[1][0] || strlen(a[1]) >= sizeof(req->file))
			return fail(err, errlen, "bad file name");
		strcpy(req->file, a[1]);
	}
	if (req->cmd == OST_CTL_MIRROR_EXTEND) {
		if (ost_ctl_parse_duration(a[1], &req->duration_s) < 0)
			return fail(err, errlen,
				    "bad duration '%.32s' (use e.g. 3600, 90m, 12h, 2d)", a[1]);
		req->has_duration = true;
	}
	if (req->cmd == OST_CTL_NTA_ADD && strcmp(req->name, ".") == 0)
		return fail(err, errlen,
			    "no negative trust anchor for the root: it would switch validation off "
			    "for every name (resolver.validation: no does that openly)");
	if (req->cmd == OST_CTL_NTA_ADD && nargs == 2) {
		/* The daemon checks it against its configured maximum. */
		if (ost_ctl_parse_duration(a[1], &req->duration_s) < 0)
			return fail(err, errlen,
				    "bad duration '%.32s' (use e.g. 3600, 90m, 12h, 2d)", a[1]);
		req->has_duration = true;
	}
	if (req->cmd == OST_CTL_DRILL_START) {
		if (ost_drill_profile_parse(a[0], &req->profile) < 0)
			return fail(err, errlen,
				    "unknown drill profile '%.32s' (foreign-cut, foreign-loss, "
				    "tld-cut, poisoned-source)",
				    a[0]);
		if (duration) {
			if (ost_ctl_parse_duration(duration, &req->duration_s) < 0)
				return fail(err, errlen, "bad --duration '%.32s'", duration);
			req->has_duration = true;
		}
	}
	return 0;
}

int ost_ctl_parse_line(const char *line, size_t len, struct ost_ctl_request *req, char *err,
		       size_t errlen)
{
	if (!line)
		return fail(err, errlen, "empty request");
	if (memchr(line, '\0', len))
		return fail(err, errlen, "NUL byte in request");
	char store[OST_CTL_LINE_MAX + MAX_WORDS + 1];
	char *words[MAX_WORDS];
	bool quoted[MAX_WORDS];
	unsigned n = 0;
	int rc = split(line, len, store, sizeof(store), words, quoted, &n, err, errlen);
	if (rc < 0) {
		memset(req, 0, sizeof(*req));
		return rc;
	}
	return parse_words(words, quoted, n, req, err, errlen);
}

int ost_ctl_parse_argv(int argc, char *const *argv, struct ost_ctl_request *req, char *err,
		       size_t errlen)
{
	if (argc < 0 || argc > MAX_WORDS)
		return fail(err, errlen, "too many words");
	char *words[MAX_WORDS];
	size_t total = 0;
	for (int i = 0; i < argc; i++) {
		for (const unsigned char *p = (const unsigned char *)argv[i]; *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				return fail(err, errlen, "control character in argument %d", i + 1);
		total += strlen(argv[i]) + 3;
		words[i] = argv[i];
	}
	if (total > OST_CTL_LINE_MAX)
		return fail(err, errlen, "request longer than %d bytes", OST_CTL_LINE_MAX);
	return parse_words(words, NULL, (unsigned)argc, req, err, errlen);
}

static void word(struct ost_buf *b, const char *w)
{
	bool needs_quotes = !*w || w[0] == '-' || strpbrk(w, " \t\"\\") != NULL;
	if (!needs_quotes) {
		ost_buf_printf(b, " %s", w);
		return;
	}
	ost_buf_printf(b, " \"");
	for (const char *p = w; *p; p++)
		ost_buf_printf(b, "%s%c", (*p == '"' || *p == '\\') ? "\\" : "", *p);
	ost_buf_printf(b, "\"");
}

int ost_ctl_format_line(const struct ost_ctl_request *req, struct ost_buf *b)
{
	if ((unsigned)req->cmd >= OST_CTL_CMD_COUNT)
		return -EINVAL;
	ost_buf_printf(b, "%s", cmd_words[req->cmd]);
	if (req->has_name)
		word(b, req->name);
	if (req->cmd == OST_CTL_ZONE_IMPORT)
		word(b, req->file);
	if (req->cmd == OST_CTL_MIRROR_EXTEND)
		ost_buf_printf(b, " %u", req->duration_s);
	if (req->cmd == OST_CTL_NTA_ADD && req->has_duration)
		ost_buf_printf(b, " %u", req->duration_s);
	if (req->cmd == OST_CTL_DRILL_START) {
		word(b, ost_drill_profile_str(req->profile));
		if (req->has_duration)
			ost_buf_printf(b, " --duration %u", req->duration_s);
	}
	if (req->is_json)
		ost_buf_printf(b, " --json");
	if (b->has_oom)
		return -ENOMEM;
	/* Quoting and escapes can make the canonical line longer than what
	 * was parsed; a line the server would refuse is refused here. */
	return b->len > OST_CTL_LINE_MAX ? -E2BIG : 0;
}
