/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Cache keys. An owner name is stored with its labels reversed, ASCII
 * lowercased and each label ended by a 0x00 octet, then a 0x00 "end of name"
 * marker, the type (big-endian) and the tag. LMDB compares keys as octet
 * strings, so this order is the DNSSEC canonical order of RFC 4034 §6.1:
 * names sort by their rightmost label first, labels compare as lowercase
 * octet strings, and a label that is a prefix of another sorts first because
 * its terminator 0x00 is smaller than any label octet. A whole subtree is one
 * key range (the encoded name without the end marker is its prefix), which
 * makes `cache flush NAME` a range scan and lets the validator find NSEC
 * neighbours later (RFC 8198).
 *
 * Labels may hold any octet, 0x00 included. Written as is, 0x00 would make
 * "a\0b.ru" and "b.a.ru" the same key, a poisoning hazard, so 0x00 and 0x01
 * are escaped as 0x01 0x01 and 0x01 0x02, which keeps the order of octets.
 *
 * Length bound: a 255-octet name has at most 250 label octets in 4 labels;
 * escaped that is at most 2 * 250 + 4 terminators = 504 octets
 * (OST_CACHE_NAME_ENC_MAX), plus marker, type and tag = 508 = OST_CACHE_KEY_MAX,
 * under LMDB's default key limit of 511.
 */
#include <errno.h>
#include <string.h>

#include "impl.h"

_Static_assert(OST_CACHE_NAME_ENC_MAX + 4 == OST_CACHE_KEY_MAX, "key size arithmetic");

int ost_cache_name_encode(const uint8_t *name, uint8_t out[OST_CACHE_NAME_ENC_MAX], size_t *out_len)
{
	/* At most 127 labels fit in 255 octets; remember where each starts. */
	uint8_t starts[128];
	unsigned nlabels = 0;
	size_t pos = 0;

	if (!name)
		return -EINVAL;
	for (;;) {
		uint8_t l = name[pos];
		if (l == 0)
			break;
		if (l > 63) /* compression pointer or extended label type */
			return -EINVAL;
		if (pos + 1 + l + 1 > 255)
			return -EINVAL;
		starts[nlabels++] = (uint8_t)pos;
		pos += 1 + (size_t)l;
	}

	size_t o = 0;
	while (nlabels > 0) {
		const uint8_t *lab = name + starts[--nlabels];
		for (unsigned i = 1; i <= lab[0]; i++) {
			uint8_t c = lab[i];
			/* ASCII-only case folding (RFC 4343), branch-free: on the hit path. */
			c = (uint8_t)(c + (((unsigned)(c - 'A') < 26u) << 5));
			if (__builtin_expect(c <= 1, 0)) {
				out[o++] = 1;
				out[o++] = (uint8_t)(c + 1);
			} else {
				out[o++] = c;
			}
		}
		out[o++] = 0;
	}
	*out_len = o;
	return 0;
}

int ost_cache_key_encode(const uint8_t *owner, uint16_t type, uint8_t tag,
			 uint8_t out[OST_CACHE_KEY_MAX], size_t *out_len)
{
	size_t n;
	int rc = ost_cache_name_encode(owner, out, &n);
	if (rc)
		return rc;
	out[n++] = 0; /* end of name: sorts before any child label */
	out[n++] = (uint8_t)(type >> 8);
	out[n++] = (uint8_t)type;
	out[n++] = tag;
	*out_len = n;
	return 0;
}

uint8_t ost_cache_key_tag(const uint8_t *key, size_t len)
{
	return len < 4 ? 0xff : key[len - 1];
}
