/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The request parser of the /metrics endpoint (metrics_http.h). It reads the
 * head line by line from the start each time more bytes arrive: heads are
 * capped at 8 KiB and scrapes come once every few seconds, so re-parsing
 * costs nothing worth an incremental state, and a pure function over the
 * whole buffer is what the unit tests and the fuzzer can pin down.
 *
 * Strictness is deliberate (RFC 9112 lets a server reject what it does not
 * need): a bare CR, obsolete line folding, whitespace before a header
 * field's colon, a body (Content-Length other than 0, Transfer-Encoding) and
 * a missing or repeated Host in HTTP/1.1 are all 400. An error that shows in
 * the first bytes (a TLS hello, a DNS message sent to the wrong port) is
 * reported at once instead of after the read timeout.
 */
#include "metrics_http.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 §5.6.2: tchar. */
static bool is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 9110 §5.5: field-vchar, SP and HTAB (obs-text included). */
static bool is_field_char(uint8_t c)
{
	return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

/* What the request line said. */
struct request_line {
	bool is_get;
	bool is_metrics;
	int minor; /* HTTP/1.minor */
};

/*
 * Check a request line (RFC 9112 §3: method SP request-target SP
 * HTTP-version), or a prefix of one when @is_complete is false.
 * @return OST_HTTP_INCOMPLETE when it is (or may still become) valid,
 *         OST_HTTP_BAD_REQUEST or OST_HTTP_BAD_VERSION otherwise
 */
static enum ost_http_verdict request_line(const uint8_t *s, size_t n, bool is_complete,
					  struct request_line *rl)
{
	static const char version[] = "HTTP/1.1";
	size_t i = 0, m0, t0, v0;
	for (m0 = i; i < n && is_tchar(s[i]); i++)
		;
	if (i == n)
		return is_complete ? OST_HTTP_BAD_REQUEST : OST_HTTP_INCOMPLETE;
	if (s[i] != ' ' || i == m0)
		return OST_HTTP_BAD_REQUEST;
	size_t mlen = i - m0;
	i++;
	/* origin-form only (§3.2.1): an absolute path, no scheme, no '*'. */
	t0 = i;
	if (i < n && s[i] != '/')
		return OST_HTTP_BAD_REQUEST;
	for (; i < n && s[i] >= 0x21 && s[i] <= 0x7e; i++)
		;
	if (i == n)
		return is_complete ? OST_HTTP_BAD_REQUEST : OST_HTTP_INCOMPLETE;
	if (s[i] != ' ' || i == t0)
		return OST_HTTP_BAD_REQUEST;
	size_t tlen = i - t0;
	i++;
	v0 = i;
	size_t vlen = n - v0;
	if (vlen > sizeof(version) - 1)
		return OST_HTTP_BAD_REQUEST;
	/* "HTTP/" DIGIT "." DIGIT, checked as far as it goes. */
	for (size_t k = 0; k < vlen; k++) {
		uint8_t c = s[v0 + k];
		bool ok = (k == 5 || k == 7) ? (c >= '0' && c <= '9') : c == (uint8_t)version[k];
		if (!ok)
			return OST_HTTP_BAD_REQUEST;
	}
	if (!is_complete)
		return OST_HTTP_INCOMPLETE;
	if (vlen != sizeof(version) - 1)
		return OST_HTTP_BAD_REQUEST;
	if (s[v0 + 5] != '1' || (s[v0 + 7] != '0' && s[v0 + 7] != '1'))
		return OST_HTTP_BAD_VERSION;
	rl->minor = s[v0 + 7] - '0';
	rl->is_get = mlen == 3 && memcmp(s + m0, "GET", 3) == 0;
	/* The query string (a scraper's ?name[]= filters) is ignored. */
	const uint8_t *q = memchr(s + t0, '?', tlen);
	size_t plen = q ? (size_t)(q - (s + t0)) : tlen;
	rl->is_metrics = plen == 8 && memcmp(s + t0, "/metrics", 8) == 0;
	return OST_HTTP_INCOMPLETE;
}

/* What the header fields said. */
struct fields {
	unsigned n_host;
};

static bool name_is(const uint8_t *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp((const char *)s, name, n) == 0;
}

/*
 * Check one complete header field line (RFC 9112 §5): field-name ":" OWS
 * field-value OWS. @return OST_HTTP_INCOMPLETE when it is acceptable
 */
static enum ost_http_verdict field_line(const uint8_t *s, size_t n, struct fields *f)
{
	size_t i = 0;
	while (i < n && is_tchar(s[i]))
		i++;
	/* §5.1: no whitespace between the name and the colon; obs-fold is not accepted. */
	if (i == 0 || i == n || s[i] != ':')
		return OST_HTTP_BAD_REQUEST;
	size_t nlen = i++;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	size_t v0 = i, vend = n;
	for (; i < n; i++)
		if (!is_field_char(s[i]))
			return OST_HTTP_BAD_REQUEST;
	while (vend > v0 && (s[vend - 1] == ' ' || s[vend - 1] == '\t'))
		vend--;
	if (name_is(s, nlen, "host")) {
		f->n_host++;
	} else if (name_is(s, nlen, "transfer-encoding")) {
		return OST_HTTP_BAD_REQUEST; /* no body is read, so none may be announced */
	} else if (name_is(s, nlen, "content-length")) {
		if (vend == v0)
			return OST_HTTP_BAD_REQUEST;
		for (size_t k = v0; k < vend; k++)
			if (s[k] != '0')
				return OST_HTTP_BAD_REQUEST;
	}
	return OST_HTTP_INCOMPLETE;
}

/* Can @p n bytes still become a header line? Only field characters, not starting with SP/HT. */
static bool partial_field_ok(const uint8_t *s, size_t n)
{
	if (n > 0 && (s[0] == ' ' || s[0] == '\t'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_field_char(s[i]) && !(s[i] == '\r' && i == n - 1))
			return false;
	return true;
}

enum ost_http_verdict ost_http_parse(const uint8_t *buf, size_t len, size_t cap, size_t *head_len)
{
	*head_len = 0;
	if (len > cap)
		len = cap;
	if (len == 0)
		return cap == 0 ? OST_HTTP_TOO_LARGE : OST_HTTP_INCOMPLETE;
	struct request_line rl = {0};
	struct fields f = {0};
	size_t pos = 0;
	unsigned line = 0;
	enum ost_http_verdict v;
	for (;;) {
		const uint8_t *s = buf + pos;
		const uint8_t *lf = memchr(s, '\n', len - pos);
		if (!lf) {
			/* A partial line: reject what can never become valid. */
			size_t n = len - pos;
			if (line == 0) {
				size_t k = n > 0 && s[n - 1] == '\r' ? n - 1 : n;
				v = request_line(s, k, false, &rl);
				if (v != OST_HTTP_INCOMPLETE)
					return v;
			} else if (!partial_field_ok(s, n)) {
				return OST_HTTP_BAD_REQUEST;
			}
			return len >= cap ? OST_HTTP_TOO_LARGE : OST_HTTP_INCOMPLETE;
		}
		size_t n = (size_t)(lf - s);
		size_t next = pos + n + 1;
		/* RFC 9112 §2.2: CRLF ends a line; a bare LF is accepted, a bare CR is not. */
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (memchr(s, '\r', n))
			return OST_HTTP_BAD_REQUEST;
		if (line == 0) {
			v = request_line(s, n, true, &rl);
			if (v != OST_HTTP_INCOMPLETE)
				return v;
		} else if (n == 0) {
			*head_len = next;
			break;
		} else {
			v = field_line(s, n, &f);
			if (v != OST_HTTP_INCOMPLETE)
				return v;
		}
		line++;
		pos = next;
	}
	/* RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one in HTTP/1.0. */
	if (f.n_host > 1 || (rl.minor == 1 && f.n_host == 0))
		return OST_HTTP_BAD_REQUEST;
	if (!rl.is_get)
		return OST_HTTP_BAD_METHOD;
	return rl.is_metrics ? OST_HTTP_OK : OST_HTTP_NOT_FOUND;
}

int ost_http_status(enum ost_http_verdict v)
{
	static const int status[OST_HTTP_VERDICT_COUNT] = {0, 200, 404, 405, 400, 431, 505};
	return (unsigned)v < OST_HTTP_VERDICT_COUNT ? status[v] : 500;
}

const char *ost_http_reason(enum ost_http_verdict v)
{
	static const char *const reason[OST_HTTP_VERDICT_COUNT] = {
		"",
		"OK",
		"Not Found",
		"Method Not Allowed",
		"Bad Request",
		"Request Header Fields Too Large",
		"HTTP Version Not Supported"};
	return (unsigned)v < OST_HTTP_VERDICT_COUNT ? reason[v] : "Internal Server Error";
}
