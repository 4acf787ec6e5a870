/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target for the client-packet path: every byte a client sends meets
 * ost_pkt_classify() first, then one of the header-only answers. The target
 * checks the classifier's own promises (the question it reports fits its
 * buffer, answers fit the output) on arbitrary input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ost_question q;
	enum ost_pkt_verdict v = ost_pkt_classify(data, size, &q);
	if (v >= OST_PKT_VERDICT_COUNT)
		abort();
	if (q.has_question && (q.qname_len == 0))
		abort();
	uint8_t out[1232];
	int rc = ost_pkt_verdict_rcode(v);
	if (v == OST_PKT_QUERY)
		rc = 5; /* REFUSED, as the ACL path writes it */
	if (rc >= 0) {
		size_t n = ost_pkt_write_rcode(&q, (unsigned)rc, 1232, out, sizeof(out));
		if (n > sizeof(out))
			abort();
		/* What we answer must itself classify as a response (dropped). */
		struct ost_question back;
		if (n > 0 && ost_pkt_classify(out, n, &back) != OST_PKT_DROP)
			abort();
	}
	return 0;
}
