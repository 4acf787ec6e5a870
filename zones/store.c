/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The mirror store: an LMDB environment of its own (not the cache's) that
 * holds, per mirrored zone, the current verified version and its metadata.
 * Read transactions and lookups live in store_read.c; the structures and
 * helpers both files share in store_lmdb.h (the only other file of zones/
 * that includes <lmdb.h>).
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

#include "store_lmdb.h"

#define DEFAULT_MAP ((size_t)1 << 30)

int ost_zstore_apex_key(const char *apex, uint8_t *out, size_t *len)
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

int ost_zstore_meta_read(MDB_txn *txn, struct ost_zone_store *s, const uint8_t *k, size_t klen,
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
	rc = ost_zstore_apex_key(z->apex_str, mk, &mkl);
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
	rc = ost_zstore_meta_read(w->txn, s, mk, mkl, &old);
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
	int rc = ost_zstore_apex_key(apex, mk, &mkl);
	if (rc)
		return rc;
	rc = mdb_to_ost(mdb_txn_begin(s->env, NULL, 0, &txn));
	if (rc)
		return rc;
	rc = ost_zstore_meta_read(txn, s, mk, mkl, &md);
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
	int rc = ost_zstore_apex_key(apex, mk, &mkl);
	if (rc)
		return rc;
	rc = mdb_to_ost(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
	if (rc)
		return rc;
	rc = ost_zstore_meta_read(txn, s, mk, mkl, &md);
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
	int rc = ost_zstore_apex_key(apex, mk, &mkl);
	if (rc)
		return rc;
	rc = mdb_to_ost(mdb_txn_begin(s->env, NULL, 0, &txn));
	if (rc)
		return rc;
	rc = ost_zstore_meta_read(txn, s, mk, mkl, &old);
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
		rc = ost_zstore_decode_view(&val, &v);
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
