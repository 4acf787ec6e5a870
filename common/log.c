/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Structured logging: one logfmt or JSON record per line on stderr. Each
 * record is formatted into a stack buffer and written with a single write(2)
 * so records from several worker threads never interleave.
 */
#include "ostrov/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum ost_log_level max_level = OST_LOG_INFO;

static const char *const level_names[OST_LOG_LEVEL_COUNT] = {
	[OST_LOG_ERR] = "err",
	[OST_LOG_WARN] = "warn",
	[OST_LOG_INFO] = "info",
	[OST_LOG_DEBUG] = "debug",
};

void ost_log_set_level(enum ost_log_level level)
{
	max_level = level;
}

int ost_log_level_parse(const char *name, enum ost_log_level *out)
{
	for (int i = 0; i < OST_LOG_LEVEL_COUNT; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum ost_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Logging is best effort: a failed write to stderr has nowhere to be reported. */
static void write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static size_t timestamp(char *buf, size_t cap)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	int m = snprintf(buf + n, cap - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
	return n + (m > 0 ? (size_t)m : 0);
}

void ost_log(enum ost_log_level level, const char *mod, const char *fmt, ...)
{
	if (level > max_level)
		return;
	char buf[4352];
	char ts[40];
	timestamp(ts, sizeof(ts));
	int n = snprintf(buf, sizeof(buf), "ts=%s level=%s mod=%s msg=\"", ts, level_names[level],
			 mod);
	if (n < 0)
		return;
	size_t len = (size_t)n;
	va_list ap;
	va_start(ap, fmt);
	char msg[4096];
	int m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	/*
	 * The message's first words up to the first "key=" are the quoted msg;
	 * what follows are fields that are written as they are.
	 */
	const char *fields = NULL;
	for (const char *p = msg; *p; p++) {
		if (*p == '=' && p > msg) {
			const char *k = p;
			while (k > msg && k[-1] != ' ')
				k--;
			fields = k;
			break;
		}
	}
	size_t msglen = fields ? (size_t)(fields - msg) : strlen(msg);
	while (msglen > 0 && msg[msglen - 1] == ' ')
		msglen--;
	for (size_t i = 0; i < msglen && len + 3 < sizeof(buf); i++) {
		char c = msg[i];
		if (c == '"' || c == '\\')
			buf[len++] = '\\';
		buf[len++] = (c == '\n') ? ' ' : c;
	}
	if (len + 2 < sizeof(buf))
		buf[len++] = '"';
	if (fields) {
		n = snprintf(buf + len, sizeof(buf) - len, " %s", fields);
		if (n > 0)
			len += (size_t)n < sizeof(buf) - len ? (size_t)n : sizeof(buf) - len - 1;
	}
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	buf[len++] = '\n';
	write_all(buf, len);
}

void ost_log_json(const char *json)
{
	size_t len = strlen(json);
	char buf[8192];
	if (len + 1 < sizeof(buf)) {
		memcpy(buf, json, len);
		buf[len] = '\n';
		write_all(buf, len + 1);
	} else {
		write_all(json, len);
		write_all("\n", 1);
	}
}
