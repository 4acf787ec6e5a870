/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private to zones/store.c (versions written, loaded, removed) and
 * zones/store_read.c (read transactions and lookups): the mirror store's
 * LMDB layout, its structures and the small helpers both need. These two
 * files are the only ones in zones/ that include <lmdb.h>; the layout
 * itself is described at the top of store.c.
 */
#ifndef OSTROV_ZONES_STORE_LMDB_H
#define OSTROV_ZONES_STORE_LMDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lmdb.h>

#include "ostrov/error.h"
#include "ostrov/zone.h"

#include "store_internal.h"
#include "zone_internal.h"

#define META_MAGIC    0x4f5a4d31u /* "OZM1" */
#define GEN_LEN       8
#define DKEY_MAX      (GEN_LEN + 1 + ZKEY_MAX + 5)
#define HDR_FIXED     12   /* type, class, ttl, n_rr, n_sig after the owner */
#define MAX_PER_OWNER 4096 /* RRs in one RRset / RRSIGs at one owner */

/** Metadata as stored. Host byte order: the store is not moved between machines. */
struct meta_disk {
	uint32_t magic;
	uint32_t serial;
	uint32_t refresh;
	uint32_t retry;
	uint32_t expire;
	uint32_t pad;
	int64_t fetched_at;
	int64_t verified_at;
	int64_t soa_expire_deadline;
	int64_t rrsig_horizon;
	uint64_t records;
	uint64_t generation;
	uint8_t zonemd_result;
	uint8_t zonemd_alg;
	uint8_t pad2[6];
	char source[96];
};

struct ost_zone_store {
	MDB_env *env;
	MDB_dbi meta;
	MDB_dbi data;
	ost_zone_store_hook_cb hook; /* test hook called during commit */
	void *hook_arg;
	unsigned hook_every;
};

/*
 * A zone read transaction. It may be reset (ost_zone_rtxn_reset()): the
 * snapshot is given up, so LMDB may reuse the pages of the versions it saw,
 * while the MDB_txn, its cursor and its reader slot (MDB_NOTLS ties the slot
 * to the MDB_txn) are kept for ost_zone_rtxn_renew(), which allocates
 * nothing. gen and serial are those of the version the live snapshot sees.
 */
struct ost_zone_rtxn {
	MDB_txn *txn;
	MDB_cursor *cur;
	struct ost_zone_store *s;
	uint64_t gen;
	uint32_t serial;
	bool is_reset;            /* no snapshot: renew before any lookup */
	uint8_t mk[ZKEY_MAX + 1]; /* the zone's meta key: 'Z' + apex name key */
	size_t mk_len;
};

/* The apex name key of @p t (its meta key without the 'Z'). */
#define APEX_KEY(t)     ((t)->mk + 1)
#define APEX_KEY_LEN(t) ((t)->mk_len - 1)

/* The one place LMDB errors become ostrov errors. */
static inline int mdb_to_ost(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return OST_EFULL;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return OST_ECORRUPT;
	default:
		return rc > 0 ? -rc : -EIO;
	}
}

static inline void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put_gen(uint8_t *p, uint64_t g)
{
	for (int i = 7; i >= 0; i--, g >>= 8)
		p[i] = (uint8_t)g;
}

/**
 * The meta key of @p apex ('Z' + its canonical name key) into @p out
 * (ZKEY_MAX + 1 octets). @return 0 or -EINVAL
 */
int ost_zstore_apex_key(const char *apex, uint8_t *out, size_t *len);

/**
 * Read and check the meta record under key @p k in @p txn.
 * @return 0, -ENOENT, OST_ECORRUPT or another LMDB error as ostrov's
 */
int ost_zstore_meta_read(MDB_txn *txn, struct ost_zone_store *s, const uint8_t *k, size_t klen,
			 struct meta_disk *md);

/**
 * Decode a stored RRset value into a view pointing into it.
 * @return 0 or OST_ECORRUPT
 */
int ost_zstore_decode_view(const MDB_val *val, struct ost_zone_rrset_view *v);

#endif
