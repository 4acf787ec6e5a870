/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The trust-anchor store: where DNSSEC chains of trust start (RFC 4035 §4.4)
 * and where operators switch validation off for a broken zone with a negative
 * trust anchor (RFC 7646). Anchors are loaded at start, before the store is
 * shared by the workers, and are read without locking afterwards; a reload
 * publishes a whole new anchor list with one atomic pointer store and keeps
 * the old list until the store is freed (a worker may still hold an anchor
 * of it: lookups hand out pointers without a reference count, and reloads
 * are rare enough that a few hundred bytes per reload are the cheaper
 * price). NTAs change at run time and are guarded by a mutex; those from the
 * configuration never expire (Unbound's domain-insecure), those added by an
 * operator always do (RFC 7646 §2). The built-in anchors are the
 * IANA root KSKs: KSK-2017 (20326), which signs until 11 Oct 2026, and
 * KSK-2024 (38696), which signs after it (standards.md §4.2). A resolver
 * isolated across the rollover must already trust both.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/log.h"
#include "ostrov/validator.h"

#include "internal.h"

/** NTAs are for incidents, not for bulk policy. */
#define MAX_NTA 256

/* IANA root-anchors.xml / Debian dns-root-data root.ds (testdata/real/root.ds). */
static const char *const builtin_root[] = {
	". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
	". IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
};

struct nta {
	ldns_rdf *name;
	int64_t until; /* OST_NTA_FOREVER for configured ones */
	enum ost_nta_source source;
};

/* An anchor list replaced by a reload, kept until the store is freed. */
struct retired {
	struct ost_ta *head;
	struct retired *next;
};

struct ost_ta_store {
	struct ost_ta *head;  /* read and replaced with __atomic operations */
	size_t count;         /* idem */
	pthread_mutex_t lock; /* guards ntas/n_nta and retired */
	struct nta ntas[MAX_NTA];
	size_t n_nta;
	struct retired *retired;
	uint64_t generation; /* anchor lists published so far (reloads) */
};

const char *ost_nta_source_str(enum ost_nta_source src)
{
	switch (src) {
	case OST_NTA_RUNTIME:
		return "runtime";
	case OST_NTA_CONFIG:
		return "config";
	default:
		return "?";
	}
}

int ost_ta_store_new(struct ost_ta_store **out)
{
	struct ost_ta_store *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return -ENOMEM;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

static void free_list(struct ost_ta *head)
{
	for (struct ost_ta *t = head, *n; t; t = n) {
		n = t->next;
		ldns_rdf_deep_free(t->owner);
		ldns_rr_list_deep_free(t->ds);
		ldns_rr_list_deep_free(t->keys);
		free(t);
	}
}

void ost_ta_store_free(struct ost_ta_store *s)
{
	if (!s)
		return;
	free_list(s->head);
	for (struct retired *r = s->retired, *n; r; r = n) {
		n = r->next;
		free_list(r->head);
		free(r);
	}
	for (size_t i = 0; i < s->n_nta; i++)
		ldns_rdf_deep_free(s->ntas[i].name);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static struct ost_ta *find_exact(struct ost_ta_store *s, const ldns_rdf *owner)
{
	for (struct ost_ta *t = s->head; t; t = t->next)
		if (ldns_dname_compare(t->owner, owner) == 0)
			return t;
	return NULL;
}

int ost_ta_add_rr(struct ost_ta_store *s, const ldns_rr *rr)
{
	ldns_rr_type type = ldns_rr_get_type(rr);
	struct ost_ta *t;
	ldns_rr *copy;

	if (type != LDNS_RR_TYPE_DS && type != LDNS_RR_TYPE_DNSKEY)
		return -EINVAL;
	if (ldns_rr_rd_count(rr) != 4 || !ldns_rr_owner(rr))
		return -EINVAL;
	/* RFC 4034 §2.1.1: only zone keys may sign zone data. */
	if (type == LDNS_RR_TYPE_DNSKEY && !(ldns_rdf2native_int16(ldns_rr_rdf(rr, 0)) & 0x0100))
		return -EINVAL;
	t = find_exact(s, ldns_rr_owner(rr));
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return -ENOMEM;
		t->owner = ldns_rdf_clone(ldns_rr_owner(rr));
		t->ds = ldns_rr_list_new();
		t->keys = ldns_rr_list_new();
		if (!t->owner || !t->ds || !t->keys) {
			ldns_rdf_deep_free(t->owner);
			ldns_rr_list_free(t->ds);
			ldns_rr_list_free(t->keys);
			free(t);
			return -ENOMEM;
		}
		ldns_dname2canonical(t->owner);
		t->next = s->head;
		s->head = t;
		s->count++;
	}
	copy = ldns_rr_clone(rr);
	if (!copy)
		return -ENOMEM;
	ldns_rr2canonical(copy);
	if (!ldns_rr_list_push_rr(type == LDNS_RR_TYPE_DS ? t->ds : t->keys, copy)) {
		ldns_rr_free(copy);
		return -ENOMEM;
	}
	return 0;
}

int ost_ta_add_str(struct ost_ta_store *s, const char *text)
{
	ldns_rr *rr = NULL;
	int ret;

	if (ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL) != LDNS_STATUS_OK || !rr)
		return OST_EMALFORMED;
	ret = ost_ta_add_rr(s, rr);
	ldns_rr_free(rr);
	return ret;
}

int ost_ta_add_builtin_root(struct ost_ta_store *s)
{
	for (size_t i = 0; i < sizeof(builtin_root) / sizeof(builtin_root[0]); i++) {
		int ret = ost_ta_add_str(s, builtin_root[i]);

		/* The strings are constants: a parse error is a bug, not input. */
		if (ost_fails_assert(ret != OST_EMALFORMED && ret != -EINVAL))
			return -EINVAL;
		if (ret < 0)
			return ret;
	}
	return 0;
}

int ost_ta_load_file(struct ost_ta_store *s, const char *path, char *err, size_t errlen)
{
	ldns_rdf *origin = NULL;
	ldns_rdf *prev = NULL;
	uint32_t ttl = 3600;
	int line = 0;
	size_t added = 0;
	int ret = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	origin = ldns_dname_new_frm_str(".");
	if (!origin) {
		fclose(f);
		return -ENOMEM;
	}
	for (;;) {
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);

		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN) {
			if (feof(f))
				break;
			continue;
		}
		if (st != LDNS_STATUS_OK && feof(f) && st == LDNS_STATUS_SYNTAX_ERR && !rr) {
			/* ldns reports the end of a file without a final
			 * newline as a syntax error on an empty record. */
			break;
		}
		if (st != LDNS_STATUS_OK) {
			snprintf(err, errlen, "%s:%d: %s", path, line, ldns_get_errorstr_by_id(st));
			ret = OST_EMALFORMED;
			break;
		}
		ret = ost_ta_add_rr(s, rr);
		ldns_rr_free(rr);
		if (ret == -EINVAL) {
			snprintf(err, errlen, "%s:%d: not a DS or zone-key DNSKEY record", path,
				 line);
			ret = OST_ECONFIG;
			break;
		}
		if (ret < 0)
			break;
		added++;
	}
	if (ret == 0 && added == 0) {
		snprintf(err, errlen, "%s: no trust anchor in the file", path);
		ret = OST_ECONFIG;
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	fclose(f);
	return ret;
}

size_t ost_ta_count(const struct ost_ta_store *s)
{
	return __atomic_load_n(&s->count, __ATOMIC_ACQUIRE);
}

const struct ost_ta *ost_ta_first(const struct ost_ta_store *s)
{
	return __atomic_load_n(&s->head, __ATOMIC_ACQUIRE);
}

/* @return true when @p name equals @p zone or is below it */
static bool name_under(const ldns_rdf *name, const ldns_rdf *zone)
{
	/* Without ldns_dname_is_subdomain()'s clones: this runs for every
	 * answer of the mirror fast path (mirror_fast.c). */
	return ost_dname_under(name, zone);
}

enum ost_ta_kind ost_ta_lookup(struct ost_ta_store *s, const ldns_rdf *name, int64_t now_wall,
			       const struct ost_ta **ta)
{
	const struct ost_ta *best = NULL;
	size_t best_labels = 0;
	bool nta = false;

	*ta = NULL;
	for (const struct ost_ta *t = ost_ta_first(s); t; t = t->next) {
		size_t l = ldns_dname_label_count(t->owner);

		if (name_under(name, t->owner) && (!best || l > best_labels)) {
			best = t;
			best_labels = l;
		}
	}
	if (!best)
		return OST_TA_NONE;
	/* RFC 7646 §2: an NTA applies to its name and below, but a trust anchor
	 * configured deeper than the NTA takes precedence. */
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_nta; i++) {
		const struct nta *n = &s->ntas[i];

		if (n->until > now_wall && name_under(name, n->name) &&
		    ldns_dname_label_count(n->name) >= best_labels)
			nta = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (nta)
		return OST_TA_NTA;
	*ta = best;
	return OST_TA_ANCHOR;
}

/* The slot of @p name, or -1. Called with the lock held. */
static int nta_find(struct ost_ta_store *s, const ldns_rdf *name)
{
	for (size_t i = 0; i < s->n_nta; i++)
		if (ldns_dname_compare(s->ntas[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Append an NTA. Called with the lock held. */
static int nta_append(struct ost_ta_store *s, const ldns_rdf *name, int64_t until,
		      enum ost_nta_source src)
{
	ldns_rdf *copy;

	if (s->n_nta == MAX_NTA)
		return -ENOSPC;
	copy = ldns_rdf_clone(name);
	if (!copy)
		return -ENOMEM;
	ldns_dname2canonical(copy);
	s->ntas[s->n_nta++] = (struct nta){.name = copy, .until = until, .source = src};
	return 0;
}

static void nta_drop(struct ost_ta_store *s, size_t i)
{
	ldns_rdf_deep_free(s->ntas[i].name);
	s->ntas[i] = s->ntas[--s->n_nta];
}

int ost_ta_nta_add(struct ost_ta_store *s, const ldns_rdf *name, int64_t until_wall)
{
	int ret = 0;
	int i;

	if (!name || ldns_rdf_get_type(name) != LDNS_RDF_TYPE_DNAME)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	i = nta_find(s, name);
	if (i >= 0 && s->ntas[i].source == OST_NTA_CONFIG)
		ret = -EPERM; /* the file says "for ever": only a reload changes that */
	else if (i >= 0)
		s->ntas[i].until = until_wall;
	else
		ret = nta_append(s, name, until_wall, OST_NTA_RUNTIME);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int ost_ta_nta_remove(struct ost_ta_store *s, const ldns_rdf *name)
{
	int ret = -ENOENT;
	int i;

	pthread_mutex_lock(&s->lock);
	i = nta_find(s, name);
	if (i >= 0 && s->ntas[i].source == OST_NTA_CONFIG) {
		ret = -EPERM;
	} else if (i >= 0) {
		nta_drop(s, (size_t)i);
		ret = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int ost_ta_nta_set_config(struct ost_ta_store *s, const ldns_rdf *const *names, size_t n)
{
	int ret = 0;

	for (size_t k = 0; k < n; k++)
		if (!names[k] || ldns_rdf_get_type(names[k]) != LDNS_RDF_TYPE_DNAME)
			return -EINVAL;
	pthread_mutex_lock(&s->lock);
	/* Configured NTAs that the new list no longer has go first ... */
	for (size_t i = s->n_nta; i-- > 0;) {
		bool keep = false;

		if (s->ntas[i].source != OST_NTA_CONFIG)
			continue;
		for (size_t k = 0; k < n && !keep; k++)
			keep = ldns_dname_compare(s->ntas[i].name, names[k]) == 0;
		if (!keep)
			nta_drop(s, i);
	}
	/* ... then the list's names become (or stay) configured ones; a runtime
	 * NTA of the same name is taken over and no longer expires. */
	for (size_t k = 0; k < n && ret == 0; k++) {
		int i = nta_find(s, names[k]);

		if (i >= 0) {
			s->ntas[i].source = OST_NTA_CONFIG;
			s->ntas[i].until = OST_NTA_FOREVER;
		} else {
			ret = nta_append(s, names[k], OST_NTA_FOREVER, OST_NTA_CONFIG);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static void nta_info(const struct nta *n, struct ost_nta_info *out)
{
	char *str = ldns_rdf2str(n->name);

	snprintf(out->name, sizeof(out->name), "%s", str ? str : "?");
	free(str);
	out->source = n->source;
	out->until = n->until;
}

size_t ost_ta_nta_list(struct ost_ta_store *s, int64_t now_wall, struct ost_nta_info *out,
		       size_t cap)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_nta; i++) {
		if (s->ntas[i].until <= now_wall)
			continue;
		if (n < cap)
			nta_info(&s->ntas[i], &out[n]);
		n++;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t ost_ta_nta_expire(struct ost_ta_store *s, int64_t now_wall, struct ost_nta_info *out,
			 size_t cap)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = s->n_nta; i-- > 0;) {
		if (s->ntas[i].until > now_wall)
			continue;
		if (n < cap)
			nta_info(&s->ntas[i], &out[n]);
		n++;
		nta_drop(s, i);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t ost_ta_nta_count(struct ost_ta_store *s, int64_t now_wall)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_nta; i++)
		n += s->ntas[i].until > now_wall;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* @return true when every record of @p a is in @p b (canonical forms) */
static bool rrs_within(const ldns_rr_list *a, const ldns_rr_list *b)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(a); i++) {
		bool found = false;

		for (size_t k = 0; k < ldns_rr_list_rr_count(b) && !found; k++)
			found = ldns_rr_compare(ldns_rr_list_rr(a, i), ldns_rr_list_rr(b, k)) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* @return true when every anchor of @p a is in @p b with the same records */
static bool anchors_within(const struct ost_ta_store *a, const struct ost_ta_store *b)
{
	for (const struct ost_ta *t = ost_ta_first(a); t; t = t->next) {
		const struct ost_ta *u = ost_ta_first(b);

		while (u && ldns_dname_compare(u->owner, t->owner) != 0)
			u = u->next;
		if (!u || ldns_rr_list_rr_count(t->ds) != ldns_rr_list_rr_count(u->ds) ||
		    ldns_rr_list_rr_count(t->keys) != ldns_rr_list_rr_count(u->keys) ||
		    !rrs_within(t->ds, u->ds) || !rrs_within(t->keys, u->keys))
			return false;
	}
	return true;
}

bool ost_ta_same_anchors(const struct ost_ta_store *a, const struct ost_ta_store *b)
{
	return ost_ta_count(a) == ost_ta_count(b) && anchors_within(a, b) && anchors_within(b, a);
}

int ost_ta_replace_anchors(struct ost_ta_store *s, struct ost_ta_store *from)
{
	struct retired *r = calloc(1, sizeof(*r));
	struct ost_ta *head;
	size_t count;

	if (!r)
		return -ENOMEM;
	if (s == from) {
		free(r);
		return -EINVAL;
	}
	/* @p from is private to the caller: plain reads. */
	head = from->head;
	count = from->count;
	from->head = NULL;
	from->count = 0;
	pthread_mutex_lock(&s->lock);
	r->head = s->head;
	r->next = s->retired;
	s->retired = r;
	__atomic_store_n(&s->count, count, __ATOMIC_RELEASE);
	__atomic_store_n(&s->head, head, __ATOMIC_RELEASE);
	s->generation++;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

uint64_t ost_ta_generation(struct ost_ta_store *s)
{
	uint64_t g;

	pthread_mutex_lock(&s->lock);
	g = s->generation;
	pthread_mutex_unlock(&s->lock);
	return g;
}
