/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The mirror store's read side (store.c writes): zone read transactions
 * (begin, reset, renew, end) and the lookups the resolver's mirror code
 * makes inside one: an RRset, the zone cut above a name, the NSEC or NSEC3
 * predecessor of a name, and a stored RRset as ldns records. Views point
 * into the LMDB map and are valid until the transaction is reset or ended.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>
#include <lmdb.h>

#include "ostrov/log.h"
#include "ostrov/zone.h"

#include "store_lmdb.h"

int ost_zone_rtxn_begin(struct ost_zone_store *s, const char *apex, struct ost_zone_rtxn **out)
{
	struct ost_zone_rtxn *t = calloc(1, sizeof(*t));
	struct meta_disk md;
	int rc;

	if (!t)
		return -ENOMEM;
	rc = ost_zstore_apex_key(apex, t->mk, &t->mk_len);
	if (!rc)
		rc = mdb_to_ost(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->txn));
	if (!rc)
		rc = ost_zstore_meta_read(t->txn, s, t->mk, t->mk_len, &md);
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
	rc = ost_zstore_meta_read(t->txn, t->s, t->mk, t->mk_len, &md);
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
int ost_zstore_decode_view(const MDB_val *val, struct ost_zone_rrset_view *v)
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
	return rc ? rc : ost_zstore_decode_view(&val, out);
}

/*
 * The start of every lookup: refuse a reset transaction (-EINVAL), then the
 * key of @p name, which must be at or below the apex when @p in_zone (else
 * -ENOENT). A reset transaction has no snapshot: its views are gone and a
 * lookup must not run on it (LMDB would refuse it too, with MDB_BAD_TXN). Its
 * keeper renews it first (ost_zone_rtxn_renew()); forgetting to is a bug.
 */
static int lookup_key(const struct ost_zone_rtxn *t, const ldns_rdf *name, bool in_zone,
		      uint8_t *nk, size_t *nkl)
{
	if (ost_fails_assert(!t->is_reset))
		return -EINVAL;
	int rc = rdf_key(name, nk, nkl);
	if (rc || !in_zone)
		return rc;
	return zkey_is_under(nk, *nkl, APEX_KEY(t), APEX_KEY_LEN(t)) ? 0 : -ENOENT;
}

int ost_zone_rtxn_find(struct ost_zone_rtxn *t, const ldns_rdf *name, uint16_t type,
		       struct ost_zone_rrset_view *out)
{
	uint8_t nk[ZKEY_MAX];
	size_t nkl;
	int rc = lookup_key(t, name, false, nk, &nkl);
	return rc ? rc : get_set(t, nk, nkl, type, out);
}

int ost_zone_rtxn_find_cut(struct ost_zone_rtxn *t, const ldns_rdf *name,
			   struct ost_zone_rrset_view *out)
{
	uint8_t nk[ZKEY_MAX];
	size_t nkl;
	int rc = lookup_key(t, name, true, nk, &nkl);
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
		return ost_zstore_decode_view(&val, out);
	if (rc == 0)
		rc = mdb_cursor_get(t->cur, &key, &val, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(t->cur, &key, &val, MDB_LAST);
	if (rc == 0 && key.mv_size > sizeof(pre) && memcmp(key.mv_data, pre, sizeof(pre)) == 0)
		return ost_zstore_decode_view(&val, out);
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
		return ost_zstore_decode_view(&val, out);
	return rc && rc != MDB_NOTFOUND ? mdb_to_ost(rc) : -ENOENT;
}

int ost_zone_rtxn_find_nsec(struct ost_zone_rtxn *t, const ldns_rdf *name,
			    struct ost_zone_rrset_view *out)
{
	uint8_t nk[ZKEY_MAX];
	size_t nkl;
	int rc = lookup_key(t, name, true, nk, &nkl);
	return rc ? rc : find_pred(t, 'N', nk, nkl, false, out);
}

int ost_zone_rtxn_find_nsec3(struct ost_zone_rtxn *t, const ldns_rdf *hashed_owner,
			     struct ost_zone_rrset_view *out)
{
	uint8_t nk[ZKEY_MAX];
	size_t nkl;
	int rc = lookup_key(t, hashed_owner, false, nk, &nkl);
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
