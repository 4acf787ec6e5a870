/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A growable text buffer for the status, report and control writers, with
 * a JSON string escaper. Output of resilience/ and control/ is either text
 * for people or one JSON object for scripts; both are built here so neither
 * path has a fixed-size truncation that would cut a JSON object in half.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ostrov/failover.h"

static int grow(struct ost_buf *b, size_t need)
{
	if (b->len + need + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + need + 1)
		cap *= 2;
	char *s = realloc(b->s, cap);
	if (!s) {
		b->has_oom = true;
		return -ENOMEM;
	}
	b->s = s;
	b->cap = cap;
	return 0;
}

int ost_buf_printf(struct ost_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if (grow(b, (size_t)n) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* RFC 8259 §7: quote, backslash and control characters must be escaped. */
int ost_buf_json_str(struct ost_buf *b, const char *s)
{
	if (!s)
		return ost_buf_printf(b, "null");
	if (grow(b, strlen(s) * 6 + 2) < 0)
		return -ENOMEM;
	b->s[b->len++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			b->s[b->len++] = '\\';
			b->s[b->len++] = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			b->len += (size_t)snprintf(b->s + b->len, 7, "\\u%04x", *p);
		} else {
			b->s[b->len++] = (char)*p;
		}
	}
	b->s[b->len++] = '"';
	b->s[b->len] = '\0';
	return 0;
}

const char *ost_buf_str(const struct ost_buf *b)
{
	return b->s ? b->s : "";
}

void ost_buf_deinit(struct ost_buf *b)
{
	free(b->s);
	*b = (struct ost_buf){0};
}
