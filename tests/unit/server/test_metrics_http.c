/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for server/metrics_http.c, the request parser of /metrics:
 * valid scrapes (HTTP/1.1 and 1.0, query strings, bare LF), every prefix of
 * a valid head being incomplete, oversized heads, other methods and paths,
 * bad versions, malformed header fields, bodies, Host rules, binary garbage
 * caught in its first bytes, and a pseudo-random sweep that checks the
 * parser's promises on arbitrary bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics_http.h"

static enum ost_http_verdict parse(const char *s, size_t *head_len)
{
	return ost_http_parse((const uint8_t *)s, strlen(s), OST_HTTP_HEAD_MAX, head_len);
}

static enum ost_http_verdict verdict(const char *s)
{
	size_t hl;
	return parse(s, &hl);
}

static const char scrape[] = "GET /metrics HTTP/1.1\r\n"
			     "Host: 127.0.0.1:9153\r\n"
			     "User-Agent: Prometheus/2.45.0\r\n"
			     "Accept: application/openmetrics-text;version=1.0.0,text/plain;"
			     "version=0.0.4;q=0.5,*/*;q=0.1\r\n"
			     "Accept-Encoding: gzip\r\n"
			     "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n"
			     "\r\n";

static void test_valid_get(void **state)
{
	(void)state;
	size_t hl = 0;
	assert_int_equal(parse(scrape, &hl), OST_HTTP_OK);
	assert_int_equal(hl, strlen(scrape));
	assert_int_equal(verdict("GET /metrics HTTP/1.0\r\n\r\n"), OST_HTTP_OK);
	assert_int_equal(verdict("GET /metrics?name[]=ostrov_workers HTTP/1.1\r\nHost: a\r\n\r\n"),
			 OST_HTTP_OK);
	/* RFC 9112 §2.2: a bare LF ends a line too. */
	assert_int_equal(verdict("GET /metrics HTTP/1.1\nHost: a\n\n"), OST_HTTP_OK);
	assert_int_equal(verdict("GET /metrics HTTP/1.1\r\nhOsT:a\r\nContent-Length: 0\r\n\r\n"),
			 OST_HTTP_OK);
	/* Bytes after the head (a pipelined request) are not part of it. */
	const char *two = "GET /metrics HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n";
	assert_int_equal(parse(two, &hl), OST_HTTP_OK);
	assert_int_equal(hl, strlen("GET /metrics HTTP/1.0\r\n\r\n"));
	assert_int_equal(ost_http_status(OST_HTTP_OK), 200);
	assert_string_equal(ost_http_reason(OST_HTTP_OK), "OK");
}

static void test_partial_head(void **state)
{
	(void)state;
	/* Every proper prefix of a valid head asks for more, and reports no head. */
	size_t n = strlen(scrape);
	for (size_t k = 0; k < n; k++) {
		size_t hl = 99;
		enum ost_http_verdict v =
			ost_http_parse((const uint8_t *)scrape, k, OST_HTTP_HEAD_MAX, &hl);
		if (v != OST_HTTP_INCOMPLETE)
			fail_msg("prefix of %zu bytes: verdict %d", k, v);
		assert_int_equal(hl, 0);
	}
	assert_int_equal(verdict("GET /metrics HTTP/1.1\r\nHost: a\r\n\r"), OST_HTTP_INCOMPLETE);
}

static void test_oversized(void **state)
{
	(void)state;
	size_t cap = OST_HTTP_HEAD_MAX;
	char *big = malloc(cap + 100);
	assert_non_null(big);
	strcpy(big, "GET /metrics HTTP/1.1\r\nHost: a\r\nX-Pad: ");
	size_t n = strlen(big);
	memset(big + n, 'a', cap + 100 - n);
	size_t hl = 99;
	/* Short of the cap: still a possible request. */
	assert_int_equal(ost_http_parse((uint8_t *)big, cap - 1, cap, &hl), OST_HTTP_INCOMPLETE);
	assert_int_equal(ost_http_parse((uint8_t *)big, cap, cap, &hl), OST_HTTP_TOO_LARGE);
	assert_int_equal(ost_http_parse((uint8_t *)big, cap + 100, cap, &hl), OST_HTTP_TOO_LARGE);
	assert_int_equal(hl, 0);
	/* A request line alone longer than the cap. */
	memcpy(big, "GET /", 5);
	memset(big + 5, 'm', cap + 95);
	assert_int_equal(ost_http_parse((uint8_t *)big, cap + 100, cap, &hl), OST_HTTP_TOO_LARGE);
	/* A head that ends exactly at the cap is fine. */
	const char *pre = "GET /metrics HTTP/1.0\r\nX-Pad: ";
	n = strlen(pre);
	memcpy(big, pre, n);
	memset(big + n, 'b', cap - n - 4);
	memcpy(big + cap - 4, "\r\n\r\n", 4);
	assert_int_equal(ost_http_parse((uint8_t *)big, cap, cap, &hl), OST_HTTP_OK);
	assert_int_equal(hl, cap);
	free(big);
	assert_int_equal(ost_http_status(OST_HTTP_TOO_LARGE), 431);
}

static void test_bad_method(void **state)
{
	(void)state;
	assert_int_equal(verdict("POST /metrics HTTP/1.1\r\nHost: a\r\n\r\n"), OST_HTTP_BAD_METHOD);
	assert_int_equal(verdict("HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n"), OST_HTTP_BAD_METHOD);
	assert_int_equal(verdict("DELETE / HTTP/1.1\r\nHost: a\r\n\r\n"), OST_HTTP_BAD_METHOD);
	/* Methods are case-sensitive (RFC 9110 §9.1). */
	assert_int_equal(verdict("get /metrics HTTP/1.1\r\nHost: a\r\n\r\n"), OST_HTTP_BAD_METHOD);
	assert_int_equal(ost_http_status(OST_HTTP_BAD_METHOD), 405);
	/* Not a token: malformed, not merely another method. */
	assert_int_equal(verdict("G(T /metrics HTTP/1.1\r\nHost: a\r\n\r\n"), OST_HTTP_BAD_REQUEST);
}

static void test_bad_path(void **state)
{
	(void)state;
	assert_int_equal(verdict("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), OST_HTTP_NOT_FOUND);
	assert_int_equal(verdict("GET /metricsx HTTP/1.1\r\nHost: a\r\n\r\n"), OST_HTTP_NOT_FOUND);
	assert_int_equal(verdict("GET /metrics/ HTTP/1.1\r\nHost: a\r\n\r\n"), OST_HTTP_NOT_FOUND);
	assert_int_equal(verdict("GET /Metrics HTTP/1.1\r\nHost: a\r\n\r\n"), OST_HTTP_NOT_FOUND);
	assert_int_equal(ost_http_status(OST_HTTP_NOT_FOUND), 404);
	/* Only origin-form targets. */
	assert_int_equal(verdict("GET http://a/metrics HTTP/1.1\r\nHost: a\r\n\r\n"),
			 OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("GET  /metrics HTTP/1.1\r\nHost: a\r\n\r\n"),
			 OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("GET /met\x01rics HTTP/1.1\r\nHost: a\r\n\r\n"),
			 OST_HTTP_BAD_REQUEST);
}

static void test_versions(void **state)
{
	(void)state;
	assert_int_equal(verdict("GET /metrics HTTP/2.0\r\n\r\n"), OST_HTTP_BAD_VERSION);
	assert_int_equal(verdict("GET /metrics HTTP/1.2\r\n\r\n"), OST_HTTP_BAD_VERSION);
	assert_int_equal(ost_http_status(OST_HTTP_BAD_VERSION), 505);
	assert_int_equal(verdict("GET /metrics HTTP/1.1x\r\n\r\n"), OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("GET /metrics HTTPS/1.1\r\n\r\n"), OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("GET /metrics HTTP/1\r\n\r\n"), OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("GET /metrics\r\n\r\n"), OST_HTTP_BAD_REQUEST); /* HTTP/0.9 */
	assert_int_equal(verdict("GET /metrics HTTP/1.1 \r\n\r\n"), OST_HTTP_BAD_REQUEST);
}

static void test_fields(void **state)
{
	(void)state;
	/* RFC 9112 §3.2: Host exactly once in HTTP/1.1. */
	assert_int_equal(verdict("GET /metrics HTTP/1.1\r\n\r\n"), OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
			 OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("GET /metrics HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
			 OST_HTTP_BAD_REQUEST);
	/* §5.1: no whitespace before the colon; §5.2: no obs-fold. */
	assert_int_equal(verdict("GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n"),
			 OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("GET /metrics HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n"),
			 OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("GET /metrics HTTP/1.1\r\nHost: a\r\nno-colon\r\n\r\n"),
			 OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("GET /metrics HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n"),
			 OST_HTTP_BAD_REQUEST);
	/* No body may be announced: nothing would read it. */
	assert_int_equal(verdict("GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"),
			 OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"),
			 OST_HTTP_BAD_REQUEST);
	assert_int_equal(
		verdict("GET /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
		OST_HTTP_BAD_REQUEST);
	/* A bare CR, a NUL or a DEL inside a field. */
	assert_int_equal(verdict("GET /metrics HTTP/1.1\r\nHost: a\rb\r\n\r\n"),
			 OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("GET /metrics HTTP/1.1\r\nHost: a\x7f\r\n\r\n"),
			 OST_HTTP_BAD_REQUEST);
	size_t hl;
	static const uint8_t nul[] = "GET /metrics HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	assert_int_equal(ost_http_parse(nul, sizeof(nul) - 1, OST_HTTP_HEAD_MAX, &hl),
			 OST_HTTP_BAD_REQUEST);
	/* Field values may carry obs-text (bytes above 0x7f). */
	assert_int_equal(verdict("GET /metrics HTTP/1.1\r\nHost: a\r\nX-A: caf\xc3\xa9\r\n\r\n"),
			 OST_HTTP_OK);
	/* An empty line first is not a request line. */
	assert_int_equal(verdict("\r\nGET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"),
			 OST_HTTP_BAD_REQUEST);
	assert_int_equal(ost_http_status(OST_HTTP_BAD_REQUEST), 400);
}

static void test_garbage(void **state)
{
	(void)state;
	size_t hl;
	/* A TLS ClientHello and a DNS query: refused on their first bytes. */
	static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc};
	assert_int_equal(ost_http_parse(tls, sizeof(tls), OST_HTTP_HEAD_MAX, &hl),
			 OST_HTTP_BAD_REQUEST);
	assert_int_equal(ost_http_parse(tls, 1, OST_HTTP_HEAD_MAX, &hl), OST_HTTP_BAD_REQUEST);
	static const uint8_t dns[] = {0x00, 0x1d, 0x12, 0x34, 0x01, 0x00, 0x00, 0x01};
	assert_int_equal(ost_http_parse(dns, sizeof(dns), OST_HTTP_HEAD_MAX, &hl),
			 OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("SSH-2.0-OpenSSH_9.2\r\n"), OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("GET /metrics HTTP/1.1\r\n\x01"), OST_HTTP_BAD_REQUEST);
	assert_int_equal(verdict("GET /metrics HTTP/1.1\r\n X"), OST_HTTP_BAD_REQUEST);
	assert_int_equal(ost_http_parse(NULL, 0, OST_HTTP_HEAD_MAX, &hl), OST_HTTP_INCOMPLETE);

	/*
	 * Pseudo-random bytes (a fixed LCG, so failures reproduce), alone and
	 * after a valid request line: whatever the verdict, it is one of the
	 * enum, a complete head lies within the input, and at the cap the
	 * parser never asks for more.
	 */
	uint8_t buf[600];
	uint32_t x = 12345;
	for (int round = 0; round < 4000; round++) {
		size_t n = 1 + round % sizeof(buf);
		size_t pre = 0;
		if (round & 1) {
			static const char rl[] = "GET /metrics HTTP/1.1\r\nHost: a\r\n";
			pre = sizeof(rl) - 1;
			memcpy(buf, rl, pre);
			if (n < pre)
				n = pre + 1;
		}
		for (size_t i = pre; i < n; i++) {
			x = x * 1103515245u + 12345u;
			uint8_t c = (uint8_t)(x >> 16);
			/* Bias toward the bytes that matter to the grammar. */
			if ((x >> 8 & 3) == 0)
				c = (uint8_t) "\r\n: /GHT.1"[(x >> 24) % 11];
			buf[i] = c;
		}
		for (size_t cap = n; cap <= n + 1; cap++) {
			hl = 0;
			enum ost_http_verdict v = ost_http_parse(buf, n, cap, &hl);
			assert_true((unsigned)v < OST_HTTP_VERDICT_COUNT);
			assert_true(hl <= n);
			if (cap == n)
				assert_int_not_equal(v, OST_HTTP_INCOMPLETE);
			if (v == OST_HTTP_INCOMPLETE)
				assert_int_equal(hl, 0);
			assert_true(ost_http_status(v) == 0 || ost_http_status(v) >= 200);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_get), cmocka_unit_test(test_partial_head),
		cmocka_unit_test(test_oversized), cmocka_unit_test(test_bad_method),
		cmocka_unit_test(test_bad_path),  cmocka_unit_test(test_versions),
		cmocka_unit_test(test_fields),    cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
