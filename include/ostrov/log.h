/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file log.h
 * Structured logging to stderr.
 *
 * Each record is one line of logfmt: `ts=2026-11-26T18:00:00.123Z level=info
 * mod=server msg="listening" addr=127.0.0.1:5353`. Machine-readable records
 * (state transitions, drill reports) use ost_log_json(), one JSON object per
 * line. Logging is thread-safe: each record is written with one write(2).
 *
 * Example: ost_log(OST_LOG_INFO, "server", "listening addr=%s proto=udp", a);
 */
#ifndef OSTROV_LOG_H
#define OSTROV_LOG_H

/** Severity of a record, most severe first. */
enum ost_log_level {
	OST_LOG_ERR = 0, /**< an operation failed and was abandoned */
	OST_LOG_WARN,    /**< something is wrong but service goes on */
	OST_LOG_INFO,    /**< normal, notable events */
	OST_LOG_DEBUG,   /**< detail for developers */
	OST_LOG_LEVEL_COUNT,
};

/**
 * Set the most verbose level that is written (default OST_LOG_INFO).
 * @param level records above it are dropped
 */
void ost_log_set_level(enum ost_log_level level);

/**
 * Parse a level name ("err", "warn", "info", "debug").
 * @param name the name
 * @param out receives the level
 * @return 0, or -EINVAL for an unknown name
 */
int ost_log_level_parse(const char *name, enum ost_log_level *out);

/**
 * Write one logfmt record.
 * @param level severity
 * @param mod module name ("server", "cache", ...)
 * @param fmt printf format of the message; `key=value` pairs after the first
 *        word-group are written as they are, the rest is quoted as msg
 */
void ost_log(enum ost_log_level level, const char *mod, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Write one JSON record (already formatted, without newline).
 * @param json a complete JSON object
 */
void ost_log_json(const char *json);

#endif
