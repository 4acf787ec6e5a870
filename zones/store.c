/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The mirror store: an LMDB environment of its own (not the cache's) that
 * holds, per mirrored zone, the current verified version and its metadata.
 * This is the only file in zones/ that includes <lmdb.h>.
 *
 * Layout, two named databases:
 *   "meta"  'Z' + apex name key          -> struct meta_disk (serial, times, generation)
 *           'G'                          -> next generation number (u64)
 *   "data"  gen(8) 'R' key 0x00 type class -> RRset (with its RRSIGs)
 *           gen(8) 'N' key                 -> the owner's NSEC RRset (predecessor search)
 *           gen(8) 'H' key                 -> the owner's NSEC3 RRset (predecessor search)
 * where "key" is the canonical name key of zone_internal.h, so memcmp order
 * of the LMDB keys is canonical DNS order and MDB_SET_RANGE + MDB_PREV finds
 * the NSEC/NSEC3 predecessor of a name.
 *
 * A new version is written under a fresh generation number, the meta record
 * is switched to it, and the previous generation's keys are deleted, all in
 * ONE write transaction. LMDB's copy-on-write B-tree makes that atomic:
 * readers keep their snapshot (old or new, never a mix), and a crash or
 * kill -9 before mdb_txn_commit() leaves the old version untouched.
 *
 * Why generations in one database and not one named database per version:
 * dropping a named database closes its DBI handle for the whole process
 * while concurrent read transactions may still use it, and mdb_dbi_open()
 * must not race with other transactions. Two DBIs opened once at start
 * avoid both problems at the cost of a prefix per key.
 *
 * RRset value encoding (big-endian):
 *   u8 owner_len, owner, u16 type, u16 class, u32 ttl, u16 n_rr, u16 n_sig,
 *   n_rr x (u32 ttl, u16 rdlen, rdata), n_sig x (u32 ttl, u16 rdlen, rdata)
 * The set TTL is the smallest member TTL (RFC 2181 §5.2); members keep their
 * own TTL because the ZONEMD digest covers it and a stored copy must
 * re-digest exactly when it is re-verified after a restart.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <ldns/ldns.h>
#include <lmdb.h>

#include "ostrov/log.h"
#include "ostrov/zone.h"

#include "store_internal.h"
#include "zone_internal.h"

#define META_MAGIC    0x4f5a4d31u /* "OZM1" */
#define GEN_LEN       8
#define DKEY_MAX      (GEN_LEN + 1 + ZKEY_MAX + 5)
#define DEFAULT_MAP   ((size_t)1 << 30)
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
static int mdb_to_ost(int rc)
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

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_gen(uint8_t *p, uint64_t g)
{
	for (int i = 7; i >= 0; i--, g >>= 8)
		p[i] = (uint8_t)g;
}

static int apex_key(const char *apex, uint8_t *out, size_t *len)
{
	ldns_rdf *d = NULL;
	if (ldns_str2rdf_dname(&d, apex) != LDNS_STATUS_OK)
		return -EINVAL;
	int k = zname_key(ldns_rdf_data(d), ldns_rdf_size(d), out + 1, ZKEY_MAX);
	ldns_rdf_deep_free(d);
	if (k < 0)
		return -EINVAL;
	out[0] = 'Z';
	*len = (size_t)k + 1;
	return 0;
}

int ost_zone_store_open(const struct ost_zone_store_opts *opts, struct ost_zone_store **out)
{
	struct ost_zone_store *s = calloc(1, sizeof(*s));
	MDB_txn *txn = NULL;
	int rc;

	if (!s)
		return -ENOMEM;
	if (mkdir(opts->path, 0700) != 0 && errno != EEXIST) {
		rc = -errno;
		goto fail;
	}
	rc = mdb_to_ost(mdb_env_create(&s->env));
	if (rc)
		goto fail;
	rc = mdb_to_ost(mdb_env_set_maxdbs(s->env, 4));
	if (!rc)
		rc = mdb_to_ost(
			mdb_env_set_mapsize(s->env, opts->map_size ? opts->map_size : DEFAULT_MAP));
	/* Each resolver keeps a read transaction per mirrored zone open across
	 * questions (resolver/mirror.c): workers x zones slots, more than
	 * LMDB's default of 126 on a large machine. A slot is 64 octets. */
	if (!rc)
		rc = mdb_to_ost(mdb_env_set_maxreaders(s->env, 1024));
	/* MDB_NOTLS: one thread may hold read transactions on several zones. */
	if (!rc)
		rc = mdb_to_ost(mdb_env_open(s->env, opts->path, MDB_NOTLS, 0600));
	if (!rc)
		rc = mdb_to_ost(mdb_txn_begin(s->env, NULL, 0, &txn));
	if (!rc)
		rc = mdb_to_ost(mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta));
	if (!rc)
		rc = mdb_to_ost(mdb_dbi_open(txn, "data", MDB_CREATE, &s->data));
	if (!rc) {
		rc = mdb_to_ost(mdb_txn_commit(txn));
		txn = NULL;
	}
	if (rc)
		goto fail;
	*out = s;
	return 0;
fail:
	ost_log(OST_LOG_ERR, "zones", "cannot open mirror store path=%s err=\"%s\"", opts->path,
		ost_strerror(rc));
	if (txn)
		mdb_txn_abort(txn);
	if (s->env)
		mdb_env_close(s->env);
	free(s);
	return rc;
}

void ost_zone_store_close(struct ost_zone_store *s)
{
	if (!s)
		return;
	mdb_env_close(s->env);
	free(s);
}

void ost_zone_store_set_hook(struct ost_zone_store *s, unsigned every, ost_zone_store_hook_cb cb,
			     void *arg)
{
	s->hook = cb;
	s->hook_arg = arg;
	s->hook_every = every;
}

static int meta_read(MDB_txn *txn, struct ost_zone_store *s, const uint8_t *k, size_t klen,
		     struct meta_disk *md)
{
	MDB_val key = {klen, (void *)k}, val;
	int rc = mdb_to_ost(mdb_get(txn, s->meta, &key, &val));
	if (rc)
		return rc;
	if (val.mv_size != sizeof(*md))
		return OST_ECORRUPT;
	memcpy(md, val.mv_data, sizeof(*md));
	if (md->magic != META_MAGIC)
		return OST_ECORRUPT;
	md->source[sizeof(md->source) - 1] = 0;
	return 0;
}

static void meta_to_pub(const struct meta_disk *md, struct ost_zone_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->serial = md->serial;
	m->refresh = md->refresh;
	m->retry = md->retry;
	m->expire = md->expire;
	m->fetched_at = md->fetched_at;
	m->verified_at = md->verified_at;
	m->soa_expire_deadline = md->soa_expire_deadline;
	m->rrsig_horizon = md->rrsig_horizon;
	m->zonemd_result = md->zonemd_result;
	m->zonemd_alg = md->zonemd_alg;
	m->records = md->records;
	m->generation = md->generation;
	memcpy(m->source, md->source, sizeof(m->source));
}

static void meta_from_pub(const struct ost_zone_meta *m, struct meta_disk *md)
{
	memset(md, 0, sizeof(*md));
	md->magic = META_MAGIC;
	md->serial = m->serial;
	md->refresh = m->refresh;
	md->retry = m->retry;
	md->expire = m->expire;
	md->fetched_at = m->fetched_at;
	md->verified_at = m->verified_at;
	md->soa_expire_deadline = m->soa_expire_deadline;
	md->rrsig_horizon = m->rrsig_horizon;
	md->zonemd_result = m->zonemd_result;
	md->zonemd_alg = m->zonemd_alg;
	md->records = m->records;
	md->generation = m->generation;
	snprintf(md->source, sizeof(md->source), "%s", m->source);
}

/* Encode the records rrs[0..nrr) (one owner, class, type) plus the
 * signatures sigs[0..nsig) into buf; returns the length or 0 if it does not fit. */
static size_t encode_set(const struct zrr *const *rrs, size_t nrr, const struct zrr *const *sigs,
			 size_t nsig, uint16_t type, uint8_t *buf, size_t cap)
{
	const struct zrr *f = rrs[0];
	size_t o = 0;

	if (1u + f->owner_len + HDR_FIXED > cap || nrr > 0xffff || nsig > 0xffff)
		return 0;
	buf[o++] = (uint8_t)f->owner_len;
	memcpy(buf + o, f->wire, f->owner_len);
	o += f->owner_len;
	uint32_t ttl = f->ttl;
	for (size_t i = 1; i < nrr; i++)
		if (rrs[i]->ttl < ttl)
			ttl = rrs[i]->ttl;
	put_u16(buf + o, type);
	put_u16(buf + o + 2, f->rclass);
	put_u32(buf + o + 4, ttl);
	put_u16(buf + o + 8, (uint16_t)nrr);
	put_u16(buf + o + 10, (uint16_t)nsig);
	o += HDR_FIXED;
	for (size_t i = 0; i < nrr; i++) {
		uint32_t rl = zrr_rdlen(rrs[i]);
		if (o + 6 + rl > cap)
			return 0;
		put_u32(buf + o, rrs[i]->ttl);
		put_u16(buf + o + 4, (uint16_t)rl);
		memcpy(buf + o + 6, zrr_rdata(rrs[i]), rl);
		o += 6 + rl;
	}
	for (size_t i = 0; i < nsig; i++) {
		uint32_t rl = zrr_rdlen(sigs[i]);
		if (o + 6 + rl > cap)
			return 0;
		put_u32(buf + o, sigs[i]->ttl);
		put_u16(buf + o + 4, (uint16_t)rl);
		memcpy(buf + o + 6, zrr_rdata(sigs[i]), rl);
		o += 6 + rl;
	}
	return o;
}

/** Writer state of one commit. */
struct wctx {
	struct ost_zone_store *s;
	MDB_txn *txn;
	uint64_t gen;
	uint8_t *buf;
	size_t cap;
	uint64_t puts;
	const struct zrr *sigs[MAX_PER_OWNER]; /* scratch for write_owner() */
	const struct zrr *mine[MAX_PER_OWNER];
	const struct zrr *rrs[MAX_PER_OWNER];
	bool used[MAX_PER_OWNER];
	uint8_t last_r[DKEY_MAX]; /* the greatest 'R' key written so far */
	size_t last_r_len;
};

/* LMDB's default key order: memcmp, then the shorter key first. */
static bool key_gt(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	return c > 0 || (c == 0 && alen > blen);
}

static int wput(struct wctx *w, char kind, const struct zrr *f, uint16_t type, size_t vlen)
{
	uint8_t k[DKEY_MAX];
	size_t kl = 0;
	put_gen(k, w->gen);
	kl = GEN_LEN;
	k[kl++] = (uint8_t)kind;
	memcpy(k + kl, f->key, f->key_len);
	kl += f->key_len;
	if (kind == 'R') {
		k[kl++] = 0;
		put_u16(k + kl, type);
		put_u16(k + kl + 2, f->rclass);
		kl += 4;
	}
	/* The version's records come in canonical order and its generation is
	 * the newest, so its 'R' keys are the greatest of the database and
	 * almost always increasing: MDB_APPEND then fills pages completely
	 * instead of splitting them, which halves the pages written. 'N' and 'H'
	 * keys sort below every 'R' key and do not disturb that; a key out of
	 * order (records of several classes at one owner) is put normally. */
	unsigned flags = 0;
	if (kind == 'R') {
		if (key_gt(k, kl, w->last_r, w->last_r_len)) {
			flags = MDB_APPEND;
			memcpy(w->last_r, k, kl);
			w->last_r_len = kl;
		}
	}
	MDB_val key = {kl, k}, val = {vlen, w->buf};
	int mrc = mdb_put(w->txn, w->s->data, &key, &val, flags);
	if (mrc == MDB_KEYEXIST && flags) /* not the greatest after all: an ordinary put */
		mrc = mdb_put(w->txn, w->s->data, &key, &val, 0);
	int rc = mdb_to_ost(mrc);
	if (rc)
		return rc;
	w->puts++;
	if (w->s->hook && w->s->hook_every && w->puts % w->s->hook_every == 0)
		w->s->hook(w->s->hook_arg, w->puts);
	return 0;
}

/* Write every RRset of one owner v[nfrom..nto), attaching RRSIGs to the
 * RRset they cover; RRSIGs covering nothing are kept as an RRSIG-typed set
 * so that a reloaded version digests exactly like the imported one. */
static int write_owner(struct wctx *w, const struct ost_zone_data *z, size_t nfrom, size_t nto)
{
	const struct zrr **sigs = w->sigs, **mine = w->mine, **rrs = w->rrs;
	bool *used = w->used;
	size_t nsig = 0;

	for (size_t i = nfrom; i < nto; i++)
		if (z->v[i].type == LDNS_RR_TYPE_RRSIG) {
			if (nsig == MAX_PER_OWNER)
				return OST_ELIMIT;
			used[nsig] = false;
			sigs[nsig++] = &z->v[i];
		}
	for (size_t i = nfrom; i < nto;) {
		size_t j = i + 1, nm = 0, nr = 0;
		const struct zrr *f = &z->v[i];
		while (j < nto && z->v[j].type == f->type && z->v[j].rclass == f->rclass)
			j++;
		if (f->type == LDNS_RR_TYPE_RRSIG) {
			i = j;
			continue;
		}
		if (j - i > MAX_PER_OWNER)
			return OST_ELIMIT;
		for (size_t r = i; r < j; r++)
			rrs[nr++] = &z->v[r];
		for (size_t s = 0; s < nsig; s++)
			if (sigs[s]->covered == f->type && sigs[s]->rclass == f->rclass) {
				mine[nm++] = sigs[s];
				used[s] = true;
			}
		size_t vl = encode_set(rrs, nr, mine, nm, f->type, w->buf, w->cap);
		if (vl == 0)
			return OST_EMALFORMED;
		int rc = wput(w, 'R', f, f->type, vl);
		if (!rc && f->rclass == z->zclass && f->type == LDNS_RR_TYPE_NSEC)
			rc = wput(w, 'N', f, f->type, vl);
		if (!rc && f->rclass == z->zclass && f->type == LDNS_RR_TYPE_NSEC3)
			rc = wput(w, 'H', f, f->type, vl);
		if (rc)
			return rc;
		i = j;
	}
	/* Orphan RRSIGs, one set per class. */
	for (size_t s = 0; s < nsig; s++) {
		size_t nr = 0;
		if (used[s])
			continue;
		for (size_t t = s; t < nsig; t++)
			if (!used[t] && sigs[t]->rclass == sigs[s]->rclass) {
				rrs[nr++] = sigs[t];
				used[t] = true;
			}
		size_t vl = encode_set(rrs, nr, NULL, 0, LDNS_RR_TYPE_RRSIG, w->buf, w->cap);
		if (vl == 0)
			return OST_EMALFORMED;
		int rc = wput(w, 'R', rrs[0], LDNS_RR_TYPE_RRSIG, vl);
		if (rc)
			return rc;
	}
	return 0;
}

static int delete_gen(MDB_txn *txn, MDB_dbi dbi, uint64_t gen)
{
	MDB_cursor *cur;
	uint8_t k[GEN_LEN];
	MDB_val key = {GEN_LEN, k}, val;
	int rc;

	put_gen(k, gen);
	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return mdb_to_ost(rc);
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	while (rc == 0 && key.mv_size >= GEN_LEN && memcmp(key.mv_data, k, GEN_LEN) == 0) {
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			break;
		rc = mdb_cursor_get(cur, &key, &val, MDB_GET_CURRENT);
		if (rc == EINVAL || rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : mdb_to_ost(rc);
}

/*
 * Take the next generation number in a write transaction of its own,
 * committed before the version is written. Why not inside the version's
 * transaction: LMDB reuses a page freed by transaction X only in a
 * transaction later than X + 1, and only once no reader's snapshot is X or
 * older. The import that replaced the zone's previous version freed that
 * version's pages; written right after it, the next import could reuse none
 * of them and would need room for three versions of the zone (replaced,
 * current, new), a big national zone's import failing on a full map where
 * two fit. This small commit puts one transaction in between. A crash after
 * it only skips a generation number.
 */
static int reserve_gen(struct ost_zone_store *s, uint64_t *gen)
{
	MDB_txn *txn;
	MDB_val gk = {1, "G"}, gv;
	uint64_t next = 1;
	int rc = mdb_to_ost(mdb_txn_begin(s->env, NULL, 0, &txn));
	if (rc)
		return rc;
	if (mdb_get(txn, s->meta, &gk, &gv) == 0 && gv.mv_size == sizeof(next))
		memcpy(&next, gv.mv_data, sizeof(next));
	*gen = next++;
	gv = (MDB_val){sizeof(next), &next};
	rc = mdb_to_ost(mdb_put(txn, s->meta, &gk, &gv, 0));
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_to_ost(mdb_txn_commit(txn));
}

int ost_zone_store_commit(struct ost_zone_store *s, const struct ost_zone_data *z,
			  const struct ost_zone_meta *meta)
{
	uint8_t mk[ZKEY_MAX + 1];
	size_t mkl;
	struct meta_disk old, md;
	struct wctx *w = calloc(1, sizeof(*w));
	bool has_old;
	int rc;

	if (!w)
		return -ENOMEM;
	w->s = s;
	w->cap = (size_t)1 << 22; /* 4 MiB: the largest RRset value we accept */
	rc = apex_key(z->apex_str, mk, &mkl);
	if (rc) {
		free(w);
		return rc;
	}
	w->buf = malloc(w->cap);
	if (!w->buf) {
		free(w);
		return -ENOMEM;
	}
	rc = reserve_gen(s, &w->gen);
	if (!rc)
		rc = mdb_to_ost(mdb_txn_begin(s->env, NULL, 0, &w->txn));
	if (rc)
		goto out;
	rc = meta_read(w->txn, s, mk, mkl, &old);
	has_old = rc == 0;
	if (rc && rc != -ENOENT)
		goto abort;

	for (size_t nfrom = 0; nfrom < z->n;) {
		size_t nto = nfrom + 1;
		while (nto < z->n && zkey_cmp(z->v[nto].key, z->v[nto].key_len, z->v[nfrom].key,
					      z->v[nfrom].key_len) == 0)
			nto++;
		rc = write_owner(w, z, nfrom, nto);
		if (rc)
			goto abort;
		nfrom = nto;
	}

	meta_from_pub(meta, &md);
	md.generation = w->gen;
	md.records = z->n;
	MDB_val key = {mkl, mk}, val = {sizeof(md), &md};
	rc = mdb_to_ost(mdb_put(w->txn, s->meta, &key, &val, 0));
	if (!rc && has_old)
		rc = delete_gen(w->txn, s->data, old.generation);
	if (rc)
		goto abort;
	rc = mdb_to_ost(mdb_txn_commit(w->txn));
	w->txn = NULL;
	goto out;
abort:
	mdb_txn_abort(w->txn);
out:
	if (rc)
		ost_log(OST_LOG_ERR, "zones", "store commit failed zone=%s err=\"%s\"", z->apex_str,
			ost_strerror(rc));
	free(w->buf);
	free(w);
	return rc;
}

int ost_zone_store_remove(struct ost_zone_store *s, const char *apex)
{
	uint8_t mk[ZKEY_MAX + 1];
	size_t mkl;
	struct meta_disk md;
	MDB_txn *txn;
	int rc = apex_key(apex, mk, &mkl);
	if (rc)
		return rc;
	rc = mdb_to_ost(mdb_txn_begin(s->env, NULL, 0, &txn));
	if (rc)
		return rc;
	rc = meta_read(txn, s, mk, mkl, &md);
	if (!rc) {
		MDB_val key = {mkl, mk};
		rc = mdb_to_ost(mdb_del(txn, s->meta, &key, NULL));
	}
	if (!rc)
		rc = delete_gen(txn, s->data, md.generation);
	if (!rc)
		return mdb_to_ost(mdb_txn_commit(txn));
	mdb_txn_abort(txn);
	return rc;
}

int ost_zone_store_get_meta(struct ost_zone_store *s, const char *apex, struct ost_zone_meta *out)
{
	uint8_t mk[ZKEY_MAX + 1];
	size_t mkl;
	struct meta_disk md;
	MDB_txn *txn;
	int rc = apex_key(apex, mk, &mkl);
	if (rc)
		return rc;
	rc = mdb_to_ost(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
	if (rc)
		return rc;
	rc = meta_read(txn, s, mk, mkl, &md);
	mdb_txn_abort(txn);
	if (!rc)
		meta_to_pub(&md, out);
	return rc;
}

int ost_zone_store_put_meta(struct ost_zone_store *s, const char *apex,
			    const struct ost_zone_meta *meta)
{
	uint8_t mk[ZKEY_MAX + 1];
	size_t mkl;
	struct meta_disk old, md;
	MDB_txn *txn;
	int rc = apex_key(apex, mk, &mkl);
	if (rc)
		return rc;
	rc = mdb_to_ost(mdb_txn_begin(s->env, NULL, 0, &txn));
	if (rc)
		return rc;
	rc = meta_read(txn, s, mk, mkl, &old);
	if (!rc && old.generation != meta->generation)
		rc = -ESTALE;
	if (!rc) {
		meta_from_pub(meta, &md);
		md.generation = old.generation;
		md.records = old.records;
		MDB_val key = {mkl, mk}, val = {sizeof(md), &md};
		rc = mdb_to_ost(mdb_put(txn, s->meta, &key, &val, 0));
	}
	if (!rc)
		return mdb_to_ost(mdb_txn_commit(txn));
	mdb_txn_abort(txn);
	return rc;
}

int ost_zone_rtxn_begin(struct ost_zone_store *s, const char *apex, struct ost_zone_rtxn **out)
{
	struct ost_zone_rtxn *t = calloc(1, sizeof(*t));
	struct meta_disk md;
	int rc;

	if (!t)
		return -ENOMEM;
	rc = apex_key(apex, t->mk, &t->mk_len);
	if (!rc)
		rc = mdb_to_ost(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->txn));
	if (!rc)
		rc = meta_read(t->txn, s, t->mk, t->mk_len, &md);
	if (!rc)
		rc = mdb_to_ost(mdb_cursor_open(t->txn, s->data, &t->cur));
	if (rc) {
		if (t->txn)
			mdb_txn_abort(t->txn);
		free(t);
		return rc;
	}
	t->s = s;
	t->gen = md.generation;
	t->serial = md.serial;
	*out = t;
	return 0;
}

void ost_zone_rtxn_end(struct ost_zone_rtxn *t)
{
	if (!t)
		return;
	/* A read-only cursor outlives its transaction's reset; it is closed
	 * before the transaction, as LMDB asks. */
	mdb_cursor_close(t->cur);
	mdb_txn_abort(t->txn);
	free(t);
}

void ost_zone_rtxn_reset(struct ost_zone_rtxn *t)
{
	if (t->is_reset)
		return;
	mdb_txn_reset(t->txn);
	t->is_reset = true;
}

int ost_zone_rtxn_renew(struct ost_zone_rtxn *t)
{
	struct meta_disk md;
	int rc;

	ost_zone_rtxn_reset(t);
	rc = mdb_to_ost(mdb_txn_renew(t->txn));
	if (rc)
		return rc;
	/* The snapshot may hold a newer version than before (or none): its
	 * generation and serial are read again, and the cursor, bound to the
	 * transaction's database state, is renewed with it (read-only cursors
	 * may be, whether their transaction was live or not). */
	rc = meta_read(t->txn, t->s, t->mk, t->mk_len, &md);
	if (!rc)
		rc = mdb_to_ost(mdb_cursor_renew(t->txn, t->cur));
	if (rc) {
		mdb_txn_reset(t->txn);
		return rc;
	}
	t->gen = md.generation;
	t->serial = md.serial;
	t->is_reset = false;
	return 0;
}

bool ost_zone_rtxn_is_reset(const struct ost_zone_rtxn *t)
{
	return t->is_reset;
}

uint64_t ost_zone_rtxn_generation(const struct ost_zone_rtxn *t)
{
	return t->gen;
}

uint32_t ost_zone_rtxn_serial(const struct ost_zone_rtxn *t)
{
	return t->serial;
}

/* Decode an RRset value into a view, checking every length against the value. */
static int decode_view(const MDB_val *val, struct ost_zone_rrset_view *v)
{
	const uint8_t *p = val->mv_data;
	size_t n = val->mv_size, o;

	if (n < 1 || n < 1u + p[0] + HDR_FIXED)
		return OST_ECORRUPT;
	v->owner_len = p[0];
	v->owner = p + 1;
	o = 1 + v->owner_len;
	v->type = get_u16(p + o);
	v->rclass = get_u16(p + o + 2);
	v->ttl = get_u32(p + o + 4);
	v->rr_count = get_u16(p + o + 8);
	v->sig_count = get_u16(p + o + 10);
	o += HDR_FIXED;
	v->data = p + o;
	v->data_len = n - o;
	/* Validate the body once so that consumers can walk it without checks. */
	size_t q = 0;
	for (unsigned i = 0; i < (unsigned)v->rr_count + v->sig_count; i++) {
		if (q + 6 > v->data_len || q + 6 + get_u16(v->data + q + 4) > v->data_len)
			return OST_ECORRUPT;
		q += 6u + get_u16(v->data + q + 4);
	}
	return q == v->data_len ? 0 : OST_ECORRUPT;
}

static int rdf_key(const ldns_rdf *name, uint8_t *out, size_t *len)
{
	if (!name || ldns_rdf_get_type(name) != LDNS_RDF_TYPE_DNAME)
		return -EINVAL;
	int k = zname_key(ldns_rdf_data(name), ldns_rdf_size(name), out, ZKEY_MAX);
	if (k < 0)
		return -EINVAL;
	*len = (size_t)k;
	return 0;
}

/*
 * A reset transaction has no snapshot: its views are gone and a lookup must
 * not run on it (LMDB would refuse it too, with MDB_BAD_TXN). Its keeper
 * renews it first (ost_zone_rtxn_renew()); forgetting to is a bug.
 */
static bool is_reset_misuse(const struct ost_zone_rtxn *t)
{
	return ost_fails_assert(!t->is_reset);
}

static int get_set(struct ost_zone_rtxn *t, const uint8_t *nk, size_t nkl, uint16_t type,
		   struct ost_zone_rrset_view *out)
{
	uint8_t k[DKEY_MAX];
	size_t kl = GEN_LEN;
	put_gen(k, t->gen);
	k[kl++] = 'R';
	memcpy(k + kl, nk, nkl);
	kl += nkl;
	k[kl++] = 0;
	put_u16(k + kl, type);
	put_u16(k + kl + 2, LDNS_RR_CLASS_IN);
	kl += 4;
	MDB_val key = {kl, k}, val;
	int rc = mdb_to_ost(mdb_get(t->txn, t->s->data, &key, &val));
	return rc ? rc : decode_view(&val, out);
}

int ost_zone_rtxn_find(struct ost_zone_rtxn *t, const ldns_rdf *name, uint16_t type,
		       struct ost_zone_rrset_view *out)
{
	uint8_t nk[ZKEY_MAX];
	size_t nkl;
	if (is_reset_misuse(t))
		return -EINVAL;
	int rc = rdf_key(name, nk, &nkl);
	return rc ? rc : get_set(t, nk, nkl, type, out);
}

/* The key of @p name, which must be at or below the apex (else -ENOENT). */
static int key_in_zone(const struct ost_zone_rtxn *t, const ldns_rdf *name, uint8_t *nk,
		       size_t *nkl)
{
	int rc = rdf_key(name, nk, nkl);
	if (rc)
		return rc;
	return zkey_is_under(nk, *nkl, APEX_KEY(t), APEX_KEY_LEN(t)) ? 0 : -ENOENT;
}

int ost_zone_rtxn_find_cut(struct ost_zone_rtxn *t, const ldns_rdf *name,
			   struct ost_zone_rrset_view *out)
{
	uint8_t nk[ZKEY_MAX];
	size_t nkl;
	if (is_reset_misuse(t))
		return -EINVAL;
	int rc = key_in_zone(t, name, nk, &nkl);
	if (rc)
		return rc;
	/* Each 0x00 in the key ends a label; walk down from the apex and return
	 * the first (topmost) name that owns an NS RRset. */
	for (size_t i = APEX_KEY_LEN(t); i < nkl; i++) {
		if (nk[i] != 0)
			continue;
		rc = get_set(t, nk, i + 1, LDNS_RR_TYPE_NS, out);
		if (rc != -ENOENT)
			return rc;
	}
	return -ENOENT;
}

/* Greatest key <= prefix+nk within the kind's range; wrap to the last one. */
static int find_pred(struct ost_zone_rtxn *t, char kind, const uint8_t *nk, size_t nkl, bool wrap,
		     struct ost_zone_rrset_view *out)
{
	uint8_t k[DKEY_MAX], pre[GEN_LEN + 1];
	size_t kl = GEN_LEN;
	MDB_val key, val;
	int rc;

	put_gen(k, t->gen);
	k[kl++] = (uint8_t)kind;
	memcpy(pre, k, sizeof(pre));
	memcpy(k + kl, nk, nkl);
	kl += nkl;
	key = (MDB_val){kl, k};
	rc = mdb_cursor_get(t->cur, &key, &val, MDB_SET_RANGE);
	if (rc == 0 && key.mv_size == kl && memcmp(key.mv_data, k, kl) == 0)
		return decode_view(&val, out);
	if (rc == 0)
		rc = mdb_cursor_get(t->cur, &key, &val, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(t->cur, &key, &val, MDB_LAST);
	if (rc == 0 && key.mv_size > sizeof(pre) && memcmp(key.mv_data, pre, sizeof(pre)) == 0)
		return decode_view(&val, out);
	if (rc && rc != MDB_NOTFOUND)
		return mdb_to_ost(rc);
	if (!wrap)
		return -ENOENT;
	/* Before the first owner: the last record of the chain covers it. */
	pre[GEN_LEN]++;
	key = (MDB_val){sizeof(pre), pre};
	rc = mdb_cursor_get(t->cur, &key, &val, MDB_SET_RANGE);
	rc = rc == 0 ? mdb_cursor_get(t->cur, &key, &val, MDB_PREV)
		     : mdb_cursor_get(t->cur, &key, &val, MDB_LAST);
	pre[GEN_LEN]--;
	if (rc == 0 && key.mv_size > sizeof(pre) && memcmp(key.mv_data, pre, sizeof(pre)) == 0)
		return decode_view(&val, out);
	return rc && rc != MDB_NOTFOUND ? mdb_to_ost(rc) : -ENOENT;
}

int ost_zone_rtxn_find_nsec(struct ost_zone_rtxn *t, const ldns_rdf *name,
			    struct ost_zone_rrset_view *out)
{
	uint8_t nk[ZKEY_MAX];
	size_t nkl;
	if (is_reset_misuse(t))
		return -EINVAL;
	int rc = key_in_zone(t, name, nk, &nkl);
	return rc ? rc : find_pred(t, 'N', nk, nkl, false, out);
}

int ost_zone_rtxn_find_nsec3(struct ost_zone_rtxn *t, const ldns_rdf *hashed_owner,
			     struct ost_zone_rrset_view *out)
{
	uint8_t nk[ZKEY_MAX];
	size_t nkl;
	if (is_reset_misuse(t))
		return -EINVAL;
	int rc = rdf_key(hashed_owner, nk, &nkl);
	return rc ? rc : find_pred(t, 'H', nk, nkl, true, out);
}

/* Build one ldns_rr from owner + header + rdata. */
static int make_rr(const struct ost_zone_rrset_view *v, uint16_t type, uint32_t ttl,
		   const uint8_t *rd, uint16_t rdlen, ldns_rr **out)
{
	uint8_t buf[255 + 10 + 65535];
	size_t o = v->owner_len, pos = 0;
	memcpy(buf, v->owner, o);
	put_u16(buf + o, type);
	put_u16(buf + o + 2, v->rclass);
	put_u32(buf + o + 4, ttl);
	put_u16(buf + o + 8, rdlen);
	memcpy(buf + o + 10, rd, rdlen);
	if (ldns_wire2rr(out, buf, o + 10 + rdlen, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
		return OST_ECORRUPT;
	return 0;
}

int ost_zone_rrset_view_to_ldns(const struct ost_zone_rrset_view *v, ldns_rr_list **rrs,
				ldns_rr_list **sigs)
{
	ldns_rr_list *l = ldns_rr_list_new(), *sl = sigs ? ldns_rr_list_new() : NULL;
	size_t q = 0;
	int rc = -ENOMEM;

	if (!l || (sigs && !sl))
		goto fail;
	for (unsigned i = 0; i < v->rr_count; i++) {
		ldns_rr *rr;
		uint16_t rl = get_u16(v->data + q + 4);
		rc = make_rr(v, v->type, get_u32(v->data + q), v->data + q + 6, rl, &rr);
		if (rc)
			goto fail;
		if (!ldns_rr_list_push_rr(l, rr)) {
			ldns_rr_free(rr);
			rc = -ENOMEM;
			goto fail;
		}
		q += 6u + rl;
	}
	for (unsigned i = 0; sl && i < v->sig_count; i++) {
		ldns_rr *rr;
		uint16_t rl = get_u16(v->data + q + 4);
		rc = make_rr(v, LDNS_RR_TYPE_RRSIG, get_u32(v->data + q), v->data + q + 6, rl, &rr);
		if (rc)
			goto fail;
		if (!ldns_rr_list_push_rr(sl, rr)) {
			ldns_rr_free(rr);
			rc = -ENOMEM;
			goto fail;
		}
		q += 6u + rl;
	}
	*rrs = l;
	if (sigs)
		*sigs = sl;
	return 0;
fail:
	ldns_rr_list_deep_free(l);
	ldns_rr_list_deep_free(sl);
	return rc;
}

int ost_zone_store_load(struct ost_zone_store *s, const char *apex, struct ost_zone_data **out)
{
	struct ost_zone_rtxn *t;
	struct ost_zone_verify_result res;
	ldns_rr_list *all = ldns_rr_list_new();
	uint8_t pre[GEN_LEN + 1];
	MDB_val key, val;
	int rc;

	if (!all)
		return -ENOMEM;
	rc = ost_zone_rtxn_begin(s, apex, &t);
	if (rc) {
		ldns_rr_list_free(all);
		return rc;
	}
	put_gen(pre, t->gen);
	pre[GEN_LEN] = 'R';
	key = (MDB_val){sizeof(pre), pre};
	rc = mdb_cursor_get(t->cur, &key, &val, MDB_SET_RANGE);
	while (rc == 0 && key.mv_size > sizeof(pre) && memcmp(key.mv_data, pre, sizeof(pre)) == 0) {
		struct ost_zone_rrset_view v;
		ldns_rr_list *rrs, *sigs;
		rc = decode_view(&val, &v);
		if (!rc)
			rc = ost_zone_rrset_view_to_ldns(&v, &rrs, &sigs);
		if (rc)
			break;
		bool ok = ldns_rr_list_cat(all, rrs) && ldns_rr_list_cat(all, sigs);
		ldns_rr_list_free(rrs);
		ldns_rr_list_free(sigs);
		if (!ok) {
			rc = -ENOMEM;
			break;
		}
		rc = mdb_cursor_get(t->cur, &key, &val, MDB_NEXT);
	}
	ost_zone_rtxn_end(t);
	if (rc == MDB_NOTFOUND || rc == 0) {
		memset(&res, 0, sizeof(res));
		rc = zone_data_build(apex, all, NULL, NULL, out, &res);
		if (rc)
			ost_log(OST_LOG_ERR, "zones",
				"stored zone unreadable zone=%s reason=\"%s\"", apex, res.reason);
		return rc ? OST_ECORRUPT : 0;
	}
	ldns_rr_list_deep_free(all);
	return rc > 0 ? mdb_to_ost(rc) : rc;
}

int ost_zone_store_reverify(struct ost_zone_store *s, const char *apex,
			    const struct ost_zone_verify_ctx *ctx,
			    const struct ost_zone_policy *policy,
			    struct ost_zone_verify_result *res)
{
	struct ost_zone_verify_ctx c = *ctx;
	struct ost_zone_data *z = NULL;
	struct ost_zone_meta meta;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = ost_zone_store_get_meta(s, apex, &meta);
	if (!rc)
		rc = ost_zone_store_load(s, apex, &z);
	if (rc) {
		zres_set(res, OST_ZV_STORE_ERROR, "stored copy of %s unreadable: %s", apex,
			 ost_strerror(rc));
		return rc;
	}
	c.has_prev_serial = false;
	rc = ost_zone_verify(z, &c, policy, res);
	if (rc == 0 && res->info.serial != meta.serial) {
		zres_set(res, OST_ZV_STORE_ERROR, "stored serial %u differs from metadata %u",
			 res->info.serial, meta.serial);
		rc = OST_ECORRUPT;
	}
	if (rc == 0) {
		meta.verified_at = ost_clock_wall_s(ctx->clock);
		meta.rrsig_horizon = res->info.rrsig_horizon;
		meta.zonemd_result = (uint8_t)res->info.zonemd;
		meta.zonemd_alg = res->info.zonemd_alg;
		rc = ost_zone_store_put_meta(s, apex, &meta);
	}
	ost_zone_data_free(z);
	return rc;
}
