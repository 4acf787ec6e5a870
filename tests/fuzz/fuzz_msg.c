/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target for the cache-hit path: ost_msg_to_wire() turns an OST_CTAG_MSG
 * cache entry into a client's response without parsing it with ldns. The
 * cache file is data on disk (a crash, a bad disk, another program), so the
 * payload must be read defensively: arbitrary bytes give a refusal, or a
 * response that fits the buffer and carries the client's ID and question,
 * never a crash or a read outside the entry. (The records themselves are
 * copied as stored: random damage is caught by the entry checksum of
 * cache/entry.c before this function sees the payload, so the records of a
 * payload are not required to parse here.)
 *
 * Input: byte 0 chooses the entry (bits 0-1 enum ost_sec, bit 2
 * OST_MSG_F_UNVALIDATED, bits 3-7 seconds since it was stored); byte 1 the
 * client (bit 0 EDNS, bit 1 DO, bit 2 CD, bit 3 TCP, bit 4 a small output
 * buffer); the rest is the payload. The client's question is the one the
 * payload says it holds (so the match succeeds and the records are copied),
 * or "example." A when the payload is too short to say.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/cache.h"
#include "ostrov/resolver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const int64_t now = 1767225600;
	uint8_t ent = data[0], cli = data[1];
	const uint8_t *pl = data + 2;
	size_t pl_len = size - 2;

	/* The client's query: header, question, optional OPT. */
	uint8_t q[12 + 255 + 4 + 11];
	size_t ql = 0;
	memset(q, 0, 12);
	q[0] = 0x12;
	q[1] = 0x34;
	q[2] = 0x01; /* RD */
	q[3] = (cli & 4) ? 0x10 : 0;
	q[5] = 1;
	ql = 12;
	size_t qnl = pl_len >= 16 ? pl[3] : 0;
	if (qnl > 0 && 16 + qnl <= pl_len) {
		memcpy(q + ql, pl + 16, qnl);
		ql += qnl;
		uint16_t t, c; /* host order in the payload */
		memcpy(&t, pl + 4, 2);
		memcpy(&c, pl + 6, 2);
		ldns_write_uint16(q + ql, t);
		ldns_write_uint16(q + ql + 2, c);
		ql += 4;
	} else {
		static const uint8_t ex[] = "\7example\0\0\1\0\1";
		memcpy(q + ql, ex, sizeof(ex) - 1);
		ql += sizeof(ex) - 1;
	}
	if (cli & 1) {
		q[11] = 1;
		uint8_t *o = q + ql;
		memset(o, 0, 11);
		ldns_write_uint16(o + 1, LDNS_RR_TYPE_OPT);
		ldns_write_uint16(o + 3, 1232);
		if (cli & 2)
			o[7] = 0x80;
		ql += 11;
	}

	/* An exact-size copy of the payload, so ASan sees any read past it. */
	uint8_t *copy = malloc(pl_len ? pl_len : 1);
	if (!copy)
		abort();
	memcpy(copy, pl, pl_len);
	struct ost_cache_entry e = {
		.tag = OST_CTAG_MSG,
		.rank = OST_RANK_ANSWER,
		.sec = ent & 3,
		.flags = (ent & 4) ? OST_MSG_F_UNVALIDATED : 0,
		.ttl = 300,
		.stored_at = now - (ent >> 3),
		.expires_at = now - (ent >> 3) + 300,
		.data = copy,
		.len = (uint32_t)pl_len,
	};
	static uint8_t out[65535];
	size_t cap = (cli & 16) ? 100 : sizeof(out);
	size_t len = 0;
	int ret = ost_msg_to_wire(&e, q, ql, now, (cli & 8) != 0, 1232, out, cap, &len);
	if (ret == 0) {
		if (len < ql || len > cap)
			abort();
		/* The client's ID and question, QR set, one question. */
		if (memcmp(out, q, 2) != 0 || !(out[2] & 0x80) || out[4] != 0 || out[5] != 1 ||
		    memcmp(out + 12, q + 12, ql - 12 - ((cli & 1) ? 11 : 0)) != 0)
			abort();
	} else if (ret != -ENOENT && ret != OST_EMALFORMED && ret != -ENOBUFS) {
		abort();
	}
	free(copy);
	return 0;
}
