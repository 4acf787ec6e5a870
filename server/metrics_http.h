/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file metrics_http.h
 * The request parser of the /metrics endpoint: a pure function over the
 * bytes a client sent so far, deciding whether the request head is complete
 * and what the answer is. No libuv, no allocation, no globals, safe on any
 * input (tests/fuzz/fuzz_http.c feeds it arbitrary bytes).
 *
 * Only what a Prometheus scraper needs is accepted (RFC 9112): one request
 * line `GET /metrics HTTP/1.1` (or HTTP/1.0, with an optional query string),
 * header fields of the form `name: value`, no body, no obsolete line
 * folding, Host present exactly once in HTTP/1.1. Everything else is
 * answered with an error status, and every connection is closed after its
 * one response, so pipelining and request smuggling have nothing to work on.
 *
 * Example: "GET /metrics HTTP/1.1\r\nHost: x\r\n" gives OST_HTTP_INCOMPLETE;
 * once "\r\n" follows, OST_HTTP_OK with head_len = the bytes up to and
 * including the empty line. "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
 * gives OST_HTTP_BAD_METHOD (405); "GET / HTTP/1.1..." OST_HTTP_NOT_FOUND;
 * "\x16\x03\x01..." (a TLS hello) OST_HTTP_BAD_REQUEST at once.
 */
#ifndef OSTROV_SERVER_METRICS_HTTP_H
#define OSTROV_SERVER_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>

/** Largest request head the endpoint reads (request line and header fields). */
#define OST_HTTP_HEAD_MAX 8192

/** What to do with the bytes received so far. */
enum ost_http_verdict {
	OST_HTTP_INCOMPLETE = 0, /**< nothing wrong yet: read more */
	OST_HTTP_OK,             /**< GET /metrics: answer 200 with the metrics */
	OST_HTTP_NOT_FOUND,      /**< a valid GET for another path: 404 */
	OST_HTTP_BAD_METHOD,     /**< a valid request with another method: 405 */
	OST_HTTP_BAD_REQUEST,    /**< malformed request line or header field: 400 */
	OST_HTTP_TOO_LARGE,      /**< no end of the head within the limit: 431 */
	OST_HTTP_BAD_VERSION,    /**< HTTP/x.y other than 1.0 and 1.1: 505 */
	OST_HTTP_VERDICT_COUNT,
};

/**
 * Parse a request head.
 * @param buf the bytes received so far
 * @param len how many
 * @param cap the most the caller will ever read (OST_HTTP_HEAD_MAX); a head
 *        that has not ended after @p cap bytes is OST_HTTP_TOO_LARGE
 * @param head_len receives the length of the complete head (including the
 *        empty line) for every verdict but OST_HTTP_INCOMPLETE and the errors
 *        found before the end of the head; 0 otherwise
 * @return the verdict; OST_HTTP_INCOMPLETE only while @p len < @p cap and
 *         the bytes so far could still begin a valid request
 */
enum ost_http_verdict ost_http_parse(const uint8_t *buf, size_t len, size_t cap, size_t *head_len);

/** @return the status code of a final verdict (200, 404 ...), 0 for OST_HTTP_INCOMPLETE */
int ost_http_status(enum ost_http_verdict v);

/** @return the reason phrase of a final verdict ("OK", "Not Found" ...) */
const char *ost_http_reason(enum ost_http_verdict v);

#endif
