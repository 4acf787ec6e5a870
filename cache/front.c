/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The front table of a reader: copies of the entries its hits read lately, so
 * that a repeated hit skips LMDB's B-tree walk and the entry's checksum and
 * decode (about 5 % of a cache hit's CPU, most of what is not the kernel's).
 *
 * Correctness. A copy is served only while the reader's snapshot is the one
 * it was copied from: every slot carries the LMDB transaction id of its
 * snapshot, and any commit of any process sharing the file (a new entry, a
 * touch, a flush, an eviction) makes a new id. A copy is therefore byte for
 * byte what LMDB holds in the snapshot being read, and the caller sees no
 * difference but the speed. Under a hit-only load nothing commits and the
 * copies live on; under a mixed load they are renewed once per commit (the
 * writer commits at most once per cache.commit-interval).
 *
 * Lending. ost_cache_reader_get() lends entries until the session ends, so a
 * slot lent in the current session is never overwritten in it: a colliding
 * key is then served from LMDB as before, uncopied.
 *
 * Shape. A direct-mapped table of fixed slots (a power of two), allocated
 * once per reader: no allocation on the hit path. A slot holds the key and the
 * payload together, at most OST_CACHE_FRONT_BYTES; bigger entries are not
 * copied. Nothing is copied before its second read in one snapshot, so a flood
 * of names read once does not churn the copies of hot ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "impl.h"

#define MAX_SLOTS 65536u

struct front_slot {
	uint64_t txn;             /* snapshot the copy belongs to; 0 = empty */
	uint64_t hash;            /* of the key */
	uint64_t lent;            /* session that last lent it */
	int64_t last_used;        /* the entry's last-use stamp */
	struct ost_cache_entry e; /* decoded; e.data points into bytes */
	uint16_t klen;            /* key length; key first in bytes */
	uint8_t bytes[OST_CACHE_FRONT_BYTES];
};

/* A key read once in this snapshot, not yet copied. */
struct front_seen {
	uint64_t txn;
	uint64_t hash;
};

struct ost_cache_front {
	unsigned mask;           /* slots - 1 */
	struct front_slot *slot; /* slots */
	struct front_seen *seen; /* slots */
};

unsigned ost_cache_front_slots(uint32_t configured)
{
	if (configured == OST_CACHE_FRONT_OFF)
		return 0;
	if (configured == 0)
		configured = OST_CACHE_FRONT_DEFAULT;
	unsigned n = 1;
	while (n < configured && n < MAX_SLOTS)
		n <<= 1;
	return n;
}

int ost_cache_front_new(unsigned slots, struct ost_cache_front **out)
{
	*out = NULL;
	if (slots == 0)
		return 0;
	if (slots & (slots - 1))
		return -EINVAL;
	struct ost_cache_front *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	/* calloc: pages of slots never used are never touched, so cost no memory. */
	f->slot = calloc(slots, sizeof(*f->slot));
	f->seen = calloc(slots, sizeof(*f->seen));
	if (!f->slot || !f->seen) {
		ost_cache_front_free(f);
		return -ENOMEM;
	}
	f->mask = slots - 1;
	*out = f;
	return 0;
}

void ost_cache_front_free(struct ost_cache_front *f)
{
	if (!f)
		return;
	free(f->slot);
	free(f->seen);
	free(f);
}

const struct ost_cache_entry *ost_cache_front_get(struct ost_cache_front *f, uint64_t txn,
						  uint64_t session, const uint8_t *key, size_t klen,
						  uint64_t hash, int64_t *last_used)
{
	struct front_slot *s = &f->slot[hash & f->mask];
	if (s->txn != txn || s->hash != hash || s->klen != klen || memcmp(s->bytes, key, klen))
		return NULL;
	s->lent = session;
	*last_used = s->last_used;
	return &s->e;
}

void ost_cache_front_touched(struct ost_cache_front *f, uint64_t hash, int64_t now)
{
	f->slot[hash & f->mask].last_used = now;
}

void ost_cache_front_put(struct ost_cache_front *f, uint64_t txn, uint64_t session,
			 const uint8_t *key, size_t klen, uint64_t hash,
			 const struct ost_cache_entry *e, int64_t last_used)
{
	struct front_seen *seen = &f->seen[hash & f->mask];
	if (seen->txn != txn || seen->hash != hash) {
		seen->txn = txn;
		seen->hash = hash;
		return;
	}
	struct front_slot *s = &f->slot[hash & f->mask];
	if (klen + (size_t)e->len > sizeof(s->bytes) || (s->txn != 0 && s->lent == session))
		return;
	memcpy(s->bytes, key, klen);
	if (e->len)
		memcpy(s->bytes + klen, e->data, e->len);
	s->e = *e;
	s->e.data = s->bytes + klen;
	s->klen = (uint16_t)klen;
	s->hash = hash;
	s->last_used = last_used;
	s->txn = txn;
	s->lent = session;
}
