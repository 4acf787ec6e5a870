/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target for the request parser of the /metrics endpoint
 * (server/metrics_http.c): every byte a scraper, or anyone the allow-list
 * admits, sends goes through ost_http_parse(). On arbitrary bytes it must
 * keep its promises: a verdict of the enum, a head inside the input, never
 * "read more" once the cap is reached, and the same verdict for the head
 * alone as for the head with whatever followed it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "metrics_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t caps[2] = {OST_HTTP_HEAD_MAX, size};
	for (int i = 0; i < 2; i++) {
		size_t head_len = 0;
		enum ost_http_verdict v = ost_http_parse(data, size, caps[i], &head_len);
		if ((unsigned)v >= OST_HTTP_VERDICT_COUNT || head_len > size)
			abort();
		if (v == OST_HTTP_INCOMPLETE && (head_len != 0 || size >= caps[i]))
			abort();
		if (ost_http_status(v) != 0 && ost_http_status(v) < 200)
			abort();
		if (head_len > 0) {
			size_t again = 0;
			if (ost_http_parse(data, head_len, caps[i], &again) != v ||
			    again != head_len)
				abort();
		}
	}
	return 0;
}
