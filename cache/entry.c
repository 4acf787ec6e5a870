/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The stored form of a cache entry: a 48-octet little-endian header followed
 * by the payload. The header carries a magic, a format version, the entry
 * metadata, the payload length and a 32-bit checksum over header and payload.
 * Entries are only written by us, but a value read back can still be damaged
 * (a torn page after an OS crash in no-sync mode, a disk error, a foreign
 * writer), so every read checks magic, version, length, enum ranges, the tag
 * against the key and the checksum before anything is served.
 *
 * Layout: 0 magic u16 | 2 version u8 | 3 tag | 4 rank | 5 sec | 6 flags |
 * 7 zero | 8 ede u16 | 10 rcode u16 | 12 ttl u32 | 16 stored_at i64 |
 * 24 expires_at i64 | 32 last_used i64 | 40 len u32 | 44 checksum u32.
 */
#include <endian.h>
#include <string.h>

#include "impl.h"

#define OFF_MAGIC   0
#define OFF_VERSION 2
#define OFF_TAG     3
#define OFF_RANK    4
#define OFF_SEC     5
#define OFF_FLAGS   6
#define OFF_ZERO    7
#define OFF_EDE     8
#define OFF_RCODE   10
#define OFF_TTL     12
#define OFF_STORED  16
#define OFF_EXPIRES 24
#define OFF_USED    32
#define OFF_LEN     40
#define OFF_SUM     44

_Static_assert(OFF_SUM + 4 == OST_CACHE_HDR_LEN, "header layout");

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return le16toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

/*
 * The checksum runs on every cache hit, so it is a cheap multiply-xorshift
 * over 64-bit words in four independent lanes (the multiplies overlap in
 * the pipeline). It detects damage, it is not a defence against an attacker
 * who can write the file: such an attacker owns the resolver anyway.
 */
#define K1 0x9e3779b97f4a7c15ull
#define K2 0xc2b2ae3d27d4eb4full

static inline uint64_t lane(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= K1;
	return h ^ (h >> 29);
}

static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	uint64_t a = h, b = h ^ K2, c = h + K1, d = h - K2;
	while (n >= 32) {
		a = lane(a, get64(p));
		b = lane(b, get64(p + 8));
		c = lane(c, get64(p + 16));
		d = lane(d, get64(p + 24));
		p += 32;
		n -= 32;
	}
	h = lane(a, b ^ (c << 1) ^ (d >> 1));
	h = lane(h, c + d);
	while (n >= 8) {
		h = lane(h, get64(p));
		p += 8;
		n -= 8;
	}
	uint64_t tail = 0;
	for (size_t i = 0; i < n; i++)
		tail |= (uint64_t)p[i] << (8 * i);
	return lane(h, tail ^ ((uint64_t)n << 56));
}

uint64_t ost_cache_hash(const uint8_t *p, size_t n)
{
	return hash_bytes(K1, p, n);
}

static uint32_t checksum(const uint8_t *val, uint32_t payload_len)
{
	uint64_t h = hash_bytes(K2, val, OFF_SUM);
	h = hash_bytes(h, val + OST_CACHE_HDR_LEN, payload_len);
	h = lane(h, payload_len);
	return (uint32_t)(h ^ (h >> 32));
}

void ost_cache_entry_encode(uint8_t *dst, const struct ost_cache_entry *e, int64_t last_used)
{
	put16(dst + OFF_MAGIC, OST_CACHE_ENTRY_MAGIC);
	dst[OFF_VERSION] = OST_CACHE_ENTRY_VERSION;
	dst[OFF_TAG] = e->tag;
	dst[OFF_RANK] = e->rank;
	dst[OFF_SEC] = e->sec;
	dst[OFF_FLAGS] = e->flags;
	dst[OFF_ZERO] = 0;
	put16(dst + OFF_EDE, e->ede);
	put16(dst + OFF_RCODE, e->rcode);
	put32(dst + OFF_TTL, e->ttl);
	put64(dst + OFF_STORED, (uint64_t)e->stored_at);
	put64(dst + OFF_EXPIRES, (uint64_t)e->expires_at);
	put64(dst + OFF_USED, (uint64_t)last_used);
	put32(dst + OFF_LEN, e->len);
	if (e->len)
		memcpy(dst + OST_CACHE_HDR_LEN, e->data, e->len);
	put32(dst + OFF_SUM, checksum(dst, e->len));
}

/* The checks shared by decode and peek: everything but the checksum. */
static bool header_ok(const uint8_t *val, size_t len)
{
	if (len < OST_CACHE_HDR_LEN)
		return false;
	if (get16(val + OFF_MAGIC) != OST_CACHE_ENTRY_MAGIC ||
	    val[OFF_VERSION] != OST_CACHE_ENTRY_VERSION || val[OFF_ZERO] != 0)
		return false;
	if (val[OFF_TAG] >= OST_CTAG_COUNT || val[OFF_RANK] >= OST_RANK_COUNT ||
	    val[OFF_SEC] >= OST_SEC_COUNT)
		return false;
	uint32_t plen = get32(val + OFF_LEN);
	return plen <= OST_CACHE_MAX_PAYLOAD && len == OST_CACHE_HDR_LEN + (size_t)plen;
}

int ost_cache_entry_decode(const uint8_t *val, size_t len, uint8_t want_tag,
			   struct ost_cache_entry *out, int64_t *last_used)
{
	if (!header_ok(val, len) || val[OFF_TAG] != want_tag)
		return OST_ECORRUPT;
	uint32_t plen = get32(val + OFF_LEN);
	if (get32(val + OFF_SUM) != checksum(val, plen))
		return OST_ECORRUPT;
	out->tag = val[OFF_TAG];
	out->rank = val[OFF_RANK];
	out->sec = val[OFF_SEC];
	out->flags = val[OFF_FLAGS];
	out->ede = get16(val + OFF_EDE);
	out->rcode = get16(val + OFF_RCODE);
	out->ttl = get32(val + OFF_TTL);
	out->stored_at = (int64_t)get64(val + OFF_STORED);
	out->expires_at = (int64_t)get64(val + OFF_EXPIRES);
	out->data = val + OST_CACHE_HDR_LEN;
	out->len = plen;
	if (last_used)
		*last_used = (int64_t)get64(val + OFF_USED);
	return 0;
}

int ost_cache_entry_peek(const uint8_t *val, size_t len, struct ost_cache_meta *out)
{
	if (!header_ok(val, len))
		return OST_ECORRUPT;
	out->rank = val[OFF_RANK];
	out->expires_at = (int64_t)get64(val + OFF_EXPIRES);
	out->last_used = (int64_t)get64(val + OFF_USED);
	return 0;
}

void ost_cache_entry_set_last_used(uint8_t *val, size_t len, int64_t last_used)
{
	if (!header_ok(val, len))
		return;
	put64(val + OFF_USED, (uint64_t)last_used);
	put32(val + OFF_SUM, checksum(val, get32(val + OFF_LEN)));
}
