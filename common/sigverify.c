/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * RRSIG verification with keys converted once (include/ostrov/sigverify.h):
 * key conversion, the canonical signed data of an ldns RRset, the signature
 * check, the validity window, and a small per-thread cache of converted keys.
 *
 * Everything cryptographic or canonical is ldns's or OpenSSL's: the key
 * converters, ldns_rr2buffer_wire_canonical() and ldns_rrsig2buffer_wire()
 * for the canonical forms, ldns_convert_ecdsa_rrsig_rdf2asn1() and
 * ldns_verify_rrsig_evp_raw() for the check. What is ours is the order of
 * work: ldns_verify_rrsig_keylist_notime() does all of it again for every
 * (signature, key) pair, with a deep clone of the RRset and two 64 KiB
 * buffers each time.
 */
#include "ostrov/sigverify.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

/* Largest RRset ost_sig_signed_data() sorts (a DNS message holds fewer). */
#define MAX_SET_RRS 512

bool ost_sigkey_alg_supported(uint8_t alg)
{
	switch (alg) {
	case LDNS_RSASHA1:
	case LDNS_RSASHA1_NSEC3:
	case LDNS_RSASHA256:
	case LDNS_RSASHA512:
	case LDNS_ECDSAP256SHA256:
	case LDNS_ECDSAP384SHA384:
	case LDNS_ED25519:
	case LDNS_ED448:
		return true;
	default:
		return false;
	}
}

/* An RSA DNSKEY's public key (RFC 3110 §2: exponent length in one octet, or
 * zero and two octets, then exponent and modulus) as an EVP_PKEY, built from
 * parameters (ldns_key_buf2rsa_raw() returns a deprecated RSA object that
 * OpenSSL 3 converts again on every use). NULL for a malformed key. */
static EVP_PKEY *rsa_pkey(const uint8_t *k, size_t len)
{
	size_t elen, off;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *pc = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *n = NULL, *e = NULL;

	if (len < 1)
		return NULL;
	if (k[0] != 0) {
		elen = k[0];
		off = 1;
	} else {
		if (len < 3)
			return NULL;
		elen = (size_t)k[1] << 8 | k[2];
		off = 3;
	}
	if (elen == 0 || off + elen >= len)
		return NULL;
	e = BN_bin2bn(k + off, (int)elen, NULL);
	n = BN_bin2bn(k + off + elen, (int)(len - off - elen), NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!e || !n || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
	    EVP_PKEY_fromdata_init(pc) <= 0 ||
	    EVP_PKEY_fromdata(pc, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey;
}

int ost_sigkey_init(struct ost_sigkey *k, uint8_t alg, const uint8_t *pub, size_t len)
{
	memset(k, 0, sizeof(*k));
	k->alg = alg;
	switch (alg) {
	case LDNS_RSASHA1:
	case LDNS_RSASHA1_NSEC3:
		k->md = EVP_sha1();
		k->pkey = rsa_pkey(pub, len);
		break;
	case LDNS_RSASHA256:
		k->md = EVP_sha256();
		k->pkey = rsa_pkey(pub, len);
		break;
	case LDNS_RSASHA512:
		k->md = EVP_sha512();
		k->pkey = rsa_pkey(pub, len);
		break;
	case LDNS_ECDSAP256SHA256:
	case LDNS_ECDSAP384SHA384:
		/* RFC 6605 §4: the key is the uncompressed point without its 0x04. */
		k->md = alg == LDNS_ECDSAP256SHA256 ? EVP_sha256() : EVP_sha384();
		k->is_ecdsa = true;
		k->pkey = ldns_ecdsa2pkey_raw(pub, len, alg);
		break;
	case LDNS_ED25519:
		k->pkey = ldns_ed255192pkey_raw(pub, len); /* RFC 8080 §3 */
		break;
	case LDNS_ED448:
		k->pkey = ldns_ed4482pkey_raw(pub, len);
		break;
	default:
		return -ENOTSUP;
	}
	if (!k->pkey) {
		memset(k, 0, sizeof(*k));
		return -EINVAL;
	}
	if (k->md) {
		/* The context ldns_verify_rrsig_evp_raw() would build per call. A
		 * key OpenSSL refuses here is refused for good (bogus), as it
		 * would be at every call. */
		k->fetched_md = EVP_MD_fetch(NULL, EVP_MD_get0_name(k->md), NULL);
		k->vctx = EVP_PKEY_CTX_new(k->pkey, NULL);
		k->mdctx = EVP_MD_CTX_new();
		if (!k->fetched_md || !k->vctx || !k->mdctx) {
			ost_sigkey_deinit(k);
			return -ENOMEM;
		}
		if (EVP_PKEY_verify_init(k->vctx) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(k->vctx, k->fetched_md) != 1) {
			ost_sigkey_deinit(k);
			return -EINVAL;
		}
	}
	return 0;
}

int ost_sigkey_from_dnskey(struct ost_sigkey *k, const ldns_rr *dnskey)
{
	const ldns_rdf *alg, *pub;

	memset(k, 0, sizeof(*k));
	if (!dnskey || ldns_rr_get_type(dnskey) != LDNS_RR_TYPE_DNSKEY ||
	    ldns_rr_rd_count(dnskey) != 4)
		return -EINVAL;
	alg = ldns_rr_rdf(dnskey, 2);
	pub = ldns_rr_rdf(dnskey, 3);
	if (ldns_rdf_size(alg) != 1)
		return -EINVAL;
	return ost_sigkey_init(k, ldns_rdf_data(alg)[0], ldns_rdf_data(pub), ldns_rdf_size(pub));
}

void ost_sigkey_deinit(struct ost_sigkey *k)
{
	EVP_MD_CTX_free(k->mdctx);
	EVP_PKEY_CTX_free(k->vctx);
	EVP_MD_free(k->fetched_md);
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

/* The r|s -> ASN.1 step of both entry points (RFC 6605 §4). */
static int ecdsa_der(const uint8_t **sig, size_t *siglen, ldns_buffer *scratch)
{
	/* ldns's converter takes an rdf; this one borrows @p sig. */
	ldns_rdf view = {._size = *siglen, ._type = LDNS_RDF_TYPE_B64, ._data = (void *)*sig};

	ldns_buffer_clear(scratch);
	if (ldns_convert_ecdsa_rrsig_rdf2asn1(scratch, &view) != LDNS_STATUS_OK)
		return ldns_buffer_status_ok(scratch) ? OST_EBOGUS : -ENOMEM;
	*sig = ldns_buffer_begin(scratch);
	*siglen = ldns_buffer_position(scratch);
	return 0;
}

int ost_sigverify(const struct ost_sigkey *k, const uint8_t *sig, size_t siglen,
		  const ldns_buffer *signed_data, ldns_buffer *scratch)
{
	ldns_status st;

	if (!k->pkey || !sig || siglen == 0)
		return OST_EBOGUS;
	/* RFC 6605 §4: r|s, each half the length; OpenSSL wants ASN.1. */
	if (k->is_ecdsa) {
		int ret = ecdsa_der(&sig, &siglen, scratch);
		if (ret != 0)
			return ret;
	}
	if (k->vctx) {
		/* RSA, ECDSA: what EVP_VerifyFinal() does, on the contexts made
		 * once. The data is ldns_buffer_begin() .. position, as ldns. */
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		int ok;

		if (EVP_DigestInit_ex(k->mdctx, k->fetched_md, NULL) != 1 ||
		    EVP_DigestUpdate(k->mdctx, ldns_buffer_begin(signed_data),
				     ldns_buffer_position(signed_data)) != 1 ||
		    EVP_DigestFinal_ex(k->mdctx, md, &mdlen) != 1)
			return -ENOMEM;
		ok = EVP_PKEY_verify(k->vctx, sig, siglen, md, mdlen);
		return ok == 1 ? 0 : OST_EBOGUS;
	}
	/* EdDSA: a NULL digest selects ldns's one-shot verification. */
	st = ldns_verify_rrsig_evp_raw(sig, siglen, signed_data, k->pkey, k->md);
	if (st == LDNS_STATUS_OK)
		return 0;
	return st == LDNS_STATUS_MEM_ERR ? -ENOMEM : OST_EBOGUS;
}

int ost_sigverify_shared(const struct ost_sigkey *k, const uint8_t *sig, size_t siglen,
			 const ldns_buffer *signed_data, ldns_buffer *scratch)
{
	EVP_MD_CTX *ctx;
	int ret, ok;

	if (!k->pkey || !sig || siglen == 0)
		return OST_EBOGUS;
	if (k->is_ecdsa && (ret = ecdsa_der(&sig, &siglen, scratch)) != 0)
		return ret;
	/* What ldns_verify_rrsig_evp_raw() does (one-shot for EdDSA, whose
	 * digest is NULL), on a context of this call only. A failure to set it
	 * up is OpenSSL's (memory, provider), never the signature's. */
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestVerifyInit(ctx, NULL, k->fetched_md ? k->fetched_md : k->md, NULL, k->pkey) !=
	    1) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	ok = EVP_DigestVerify(ctx, sig, siglen, ldns_buffer_begin(signed_data),
			      ldns_buffer_position(signed_data));
	EVP_MD_CTX_free(ctx);
	return ok == 1 ? 0 : OST_EBOGUS;
}

enum ost_sig_time ost_sig_window(uint32_t expiration, uint32_t inception, int64_t now)
{
	uint32_t n = (uint32_t)now;

	/* RFC 4034 §3.1.5: serial numbers, differences read as signed. */
	if ((int32_t)(expiration - inception) < 0)
		return OST_SIG_TIME_EXP_BEFORE_INC;
	if ((int32_t)(n - inception) < 0)
		return OST_SIG_TIME_NOT_YET;
	if ((int32_t)(expiration - n) < 0)
		return OST_SIG_TIME_EXPIRED;
	return OST_SIG_TIME_OK;
}

/* ---- the signed data ------------------------------------------------------------------ */

/* One RR's canonical wire form inside the scratch buffer. */
struct seg {
	size_t off;   /* start of the canonical RR (owner first) */
	size_t len;   /* its length */
	size_t rdata; /* offset of its RDATA inside it (after RDLENGTH) */
};

/* RFC 4034 §6.3: RDATA compared as left-justified octet strings, absent
 * octets sorting first (ldns_rr_compare_wire() orders the same way). */
static int seg_cmp(const uint8_t *base, const struct seg *a, const struct seg *b)
{
	size_t la = a->len - a->rdata, lb = b->len - b->rdata;
	int c = memcmp(base + a->off + a->rdata, base + b->off + b->rdata, la < lb ? la : lb);

	if (c)
		return c;
	return la < lb ? -1 : la > lb;
}

/* Skip @p n labels of the uncompressed wire name @p w (length @p len). */
static size_t skip_labels(const uint8_t *w, size_t len, unsigned n)
{
	size_t i = 0;

	while (n-- > 0 && i < len && w[i] != 0)
		i += (size_t)w[i] + 1;
	return i;
}

int ost_sig_signed_data(ldns_buffer *out, ldns_buffer *scratch, const ldns_rr_list *rrset,
			const ldns_rr *rrsig)
{
	struct seg segs_small[8], *segs = segs_small;
	size_t n = rrset ? ldns_rr_list_rr_count(rrset) : 0;
	const ldns_rr *first;
	uint32_t orig_ttl;
	uint8_t labels, owner_labels;
	size_t owner_len, wc_skip = 0;
	int ret = 0;

	if (n == 0 || n > MAX_SET_RRS || !rrsig || ldns_rr_get_type(rrsig) != LDNS_RR_TYPE_RRSIG ||
	    ldns_rr_rd_count(rrsig) != 9)
		return -EINVAL;
	first = ldns_rr_list_rr(rrset, 0);
	if (ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rrsig)) != ldns_rr_get_type(first))
		return -EINVAL;
	labels = ldns_rdf2native_int8(ldns_rr_rrsig_labels(rrsig));
	orig_ttl = ldns_rdf2native_int32(ldns_rr_rrsig_origttl(rrsig));
	owner_labels = ldns_dname_label_count(ldns_rr_owner(first));
	if (labels > owner_labels)
		return -EINVAL;
	owner_len = ldns_rdf_size(ldns_rr_owner(first));
	/* RFC 4035 §5.3.2: a labels field below the owner's label count means
	 * the RRset was expanded from "*." + the owner's last `labels` labels. */
	if (labels < owner_labels)
		wc_skip = skip_labels(ldns_rdf_data(ldns_rr_owner(first)), owner_len,
				      (unsigned)(owner_labels - labels));
	if (n > sizeof(segs_small) / sizeof(segs_small[0])) {
		segs = malloc(n * sizeof(*segs));
		if (!segs)
			return -ENOMEM;
	}

	/* Each RR's canonical form (lowercased names, RFC 4034 §6.2) into the
	 * scratch buffer, then sorted by RDATA. */
	ldns_buffer_clear(scratch);
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrset, i);
		size_t start = ldns_buffer_position(scratch);

		if (ldns_rr_get_type(rr) != ldns_rr_get_type(first) ||
		    ldns_rr_get_class(rr) != ldns_rr_get_class(first) ||
		    ldns_rdf_size(ldns_rr_owner(rr)) != owner_len) {
			ret = -EINVAL;
			goto out;
		}
		if (ldns_rr2buffer_wire_canonical(scratch, rr, LDNS_SECTION_ANSWER) !=
		    LDNS_STATUS_OK) {
			ret = -ENOMEM;
			goto out;
		}
		segs[i].off = start;
		segs[i].len = ldns_buffer_position(scratch) - start;
		segs[i].rdata = owner_len + 10; /* type, class, TTL, RDLENGTH */
		if (segs[i].len < segs[i].rdata) {
			ret = -EINVAL;
			goto out;
		}
		/* insertion sort: RRsets are small, and it is stable */
		for (size_t j = i;
		     j > 0 && seg_cmp(ldns_buffer_begin(scratch), &segs[j - 1], &segs[j]) > 0;
		     j--) {
			struct seg t = segs[j];
			segs[j] = segs[j - 1];
			segs[j - 1] = t;
		}
	}

	ldns_buffer_clear(out);
	if (ldns_rrsig2buffer_wire(out, rrsig) != LDNS_STATUS_OK) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *w = ldns_buffer_at(scratch, segs[i].off);
		size_t need = segs[i].len + 2;

		if (!ldns_buffer_reserve(out, need)) {
			ret = -ENOMEM;
			goto out;
		}
		if (wc_skip) {
			ldns_buffer_write_u8(out, 1);
			ldns_buffer_write_u8(out, '*');
			ldns_buffer_write(out, w + wc_skip, owner_len - wc_skip);
		} else {
			ldns_buffer_write(out, w, owner_len);
		}
		ldns_buffer_write(out, w + owner_len, 4); /* type, class */
		ldns_buffer_write_u32(out, orig_ttl);     /* RFC 4034 §3.1.8.1 */
		ldns_buffer_write(out, w + owner_len + 8, segs[i].len - owner_len - 8);
	}
out:
	if (segs != segs_small)
		free(segs);
	return ret;
}

/* ---- the key cache ---------------------------------------------------------------------- */

#define WAYS 4

struct centry {
	uint64_t hash;      /* of the identity; 0 with ident NULL = empty */
	uint64_t last_used; /* LRU stamp */
	uint8_t *ident;     /* lowercased owner + DNSKEY RDATA (owned) */
	size_t ident_len;
	struct ost_sigkey key;
};

struct ost_sigkey_cache {
	struct centry *e; /* n_sets * WAYS */
	size_t n_sets;    /* power of two */
	uint64_t seed;    /* per-cache hash seed: collisions cannot be planned */
	uint64_t clock;   /* LRU counter */
	uint8_t *ident;   /* scratch identity of the key looked up */
	size_t ident_cap;
	struct ost_sigkey_cache_stats st;
};

int ost_sigkey_cache_new(struct ost_sigkey_cache **out, size_t capacity)
{
	struct ost_sigkey_cache *c = calloc(1, sizeof(*c));
	size_t sets = 1;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	if (capacity == 0)
		capacity = 256;
	while (sets * WAYS < capacity)
		sets <<= 1;
	c->n_sets = sets;
	c->e = calloc(sets * WAYS, sizeof(*c->e));
	if (!c->e) {
		free(c);
		return -ENOMEM;
	}
	if (RAND_bytes((unsigned char *)&c->seed, sizeof(c->seed)) != 1)
		c->seed = (uint64_t)(uintptr_t)c ^ 0x9e3779b97f4a7c15ull;
	c->st.capacity = sets * WAYS;
	*out = c;
	return 0;
}

static void entry_clear(struct centry *e)
{
	ost_sigkey_deinit(&e->key);
	free(e->ident);
	memset(e, 0, sizeof(*e));
}

void ost_sigkey_cache_free(struct ost_sigkey_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_sets * WAYS; i++)
		entry_clear(&c->e[i]);
	free(c->e);
	free(c->ident);
	free(c);
}

/* FNV-1a, seeded. Mixed at the end so the low bits (the set index) depend on
 * every byte. */
static uint64_t ident_hash(uint64_t seed, const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h ? h : 1;
}

/* The identity of a DNSKEY: its owner lowercased (RFC 4034 §6.2) and its
 * RDATA (flags, protocol, algorithm, key). */
static int make_ident(struct ost_sigkey_cache *c, const ldns_rr *k, size_t *len)
{
	const ldns_rdf *owner = ldns_rr_owner(k);
	size_t need = ldns_rdf_size(owner), pos;

	for (size_t i = 0; i < 4; i++)
		need += ldns_rdf_size(ldns_rr_rdf(k, i));
	if (need > c->ident_cap) {
		uint8_t *n = realloc(c->ident, need);
		if (!n)
			return -ENOMEM;
		c->ident = n;
		c->ident_cap = need;
	}
	pos = ldns_rdf_size(owner);
	for (size_t i = 0; i < pos; i++)
		c->ident[i] = (uint8_t)tolower(ldns_rdf_data(owner)[i]);
	for (size_t i = 0; i < 4; i++) {
		const ldns_rdf *f = ldns_rr_rdf(k, i);
		memcpy(c->ident + pos, ldns_rdf_data(f), ldns_rdf_size(f));
		pos += ldns_rdf_size(f);
	}
	*len = pos;
	return 0;
}

const struct ost_sigkey *ost_sigkey_cache_get(struct ost_sigkey_cache *c, const ldns_rr *dnskey,
					      int *err)
{
	struct centry *set, *victim = NULL;
	struct ost_sigkey key;
	uint64_t h;
	size_t len;
	int ret;

	*err = 0;
	if (!dnskey || ldns_rr_get_type(dnskey) != LDNS_RR_TYPE_DNSKEY ||
	    ldns_rr_rd_count(dnskey) != 4) {
		*err = -EINVAL;
		return NULL;
	}
	ret = make_ident(c, dnskey, &len);
	if (ret < 0) {
		*err = ret;
		return NULL;
	}
	h = ident_hash(c->seed, c->ident, len);
	set = &c->e[(h & (c->n_sets - 1)) * WAYS];
	for (size_t w = 0; w < WAYS; w++) {
		struct centry *e = &set[w];
		if (e->ident && e->hash == h && e->ident_len == len &&
		    memcmp(e->ident, c->ident, len) == 0) {
			e->last_used = ++c->clock;
			c->st.hits++;
			return &e->key;
		}
		if (!victim || !e->ident || (victim->ident && e->last_used < victim->last_used))
			victim = e;
	}
	c->st.misses++;
	ret = ost_sigkey_from_dnskey(&key, dnskey);
	if (ret < 0) {
		c->st.failures++;
		*err = ret;
		return NULL;
	}
	uint8_t *ident = malloc(len);
	if (!ident) {
		ost_sigkey_deinit(&key);
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(ident, c->ident, len);
	if (victim->ident) {
		c->st.evictions++;
		c->st.count--;
		entry_clear(victim);
	}
	victim->hash = h;
	victim->ident = ident;
	victim->ident_len = len;
	victim->key = key;
	victim->last_used = ++c->clock;
	c->st.count++;
	return &victim->key;
}

void ost_sigkey_cache_stats(const struct ost_sigkey_cache *c, struct ost_sigkey_cache_stats *st)
{
	*st = c->st;
}

int ost_sigverify_fresh(const ldns_rr_list *rrset, const ldns_rr *rrsig, const ldns_rr *dnskey)
{
	const ldns_rdf *sf = ldns_rr_rd_count(rrsig) > 8 ? ldns_rr_rdf(rrsig, 8) : NULL;
	ldns_buffer *data = ldns_buffer_new(4096), *scratch = ldns_buffer_new(4096);
	struct ost_sigkey k;
	int rc = -ENOMEM;

	if (!sf)
		rc = -EINVAL;
	else if (data && scratch && (rc = ost_sigkey_from_dnskey(&k, dnskey)) == 0) {
		rc = ost_sig_signed_data(data, scratch, rrset, rrsig);
		if (rc == 0)
			rc = ost_sigverify_shared(&k, ldns_rdf_data(sf), ldns_rdf_size(sf), data,
						  scratch);
		ost_sigkey_deinit(&k);
	}
	if (data)
		ldns_buffer_free(data);
	if (scratch)
		ldns_buffer_free(scratch);
	return rc == -ENOTSUP ? -EINVAL : rc;
}
