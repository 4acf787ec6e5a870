/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Zone data: parse a zone (file, in-memory text, transferred records) with
 * ldns and turn it into one canonically ordered, duplicate-free array of
 * records with their canonical wire forms (zone_internal.h). Everything
 * downstream, ZONEMD digest, signature checks and the LMDB store, works on
 * that array, so canonicalisation happens exactly once.
 *
 * Two parsing decisions matter for ZONEMD digests, because the digest covers
 * the TTL and the class of every record:
 *
 * 1. A record without a TTL when no $TTL is in force gets 3600 s (ldns'
 *    LDNS_DEFAULT_TTL). ldns 1.8.3's ldns_zone_new_frm_fp_l() instead uses
 *    "the last explicitly stated value" (RFC 1035 §5.1) and copies the TTL of
 *    the previous record of the same RRset. Zone-file dialects disagree here
 *    (BIND, NSD, Unbound and older ldns all differ), and the RFC 8976 test
 *    vectors (Verisign zonemd-test-cases, 22-lots-rr-types) were digested
 *    with the 3600 s default, which Unbound's parser also uses. We read the
 *    file record by record with ldns_rr_new_frm_fp_l() and keep the default,
 *    so those vectors verify. Real zones (the root zone file, AXFR) carry
 *    explicit TTLs and are unaffected.
 * 2. Records of a class other than the SOA's are kept, and ordering is by
 *    owner, then class, then type (ldns_rr_compare's order). RFC 4034 §6.3
 *    orders by owner and type only because a zone has one class; for mixed
 *    classes (vector 80-mixed-classes) the published digest uses class
 *    before type, and ldns_dnssec_zone, which files records by type only and
 *    so interleaves classes inside one RRset, gets it wrong.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ldns/ldns.h>

#include "ostrov/log.h"
#include "ostrov/zone.h"

#include "zone_internal.h"

int zname_key(const uint8_t *wire, size_t len, uint8_t *out, size_t cap)
{
	size_t offs[128];
	size_t nlab = 0, pos = 0, o = 0;

	/* Collect label offsets; the root label ends the name. */
	while (pos < len && wire[pos] != 0) {
		if ((wire[pos] & 0xc0) != 0 || nlab == 128)
			return -1; /* compression pointers never occur in canonical wire */
		offs[nlab++] = pos;
		pos += 1u + wire[pos];
	}
	if (pos >= len)
		return -1;
	for (size_t i = nlab; i-- > 0;) {
		const uint8_t *lab = wire + offs[i] + 1;
		uint8_t ll = wire[offs[i]];
		for (uint8_t j = 0; j < ll; j++) {
			uint8_t c = lab[j];
			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c - 'A' + 'a');
			if (o + 2 > cap)
				return -1;
			if (c <= 1) {
				out[o++] = 1;
				out[o++] = (uint8_t)(c + 1);
			} else {
				out[o++] = c;
			}
		}
		if (o + 1 > cap)
			return -1;
		out[o++] = 0;
	}
	return (int)o;
}

int zkey_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t m = alen < blen ? alen : blen;
	int c = memcmp(a, b, m);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

enum ost_zone_verdict zres_set(struct ost_zone_verify_result *res, enum ost_zone_verdict v,
			       const char *fmt, ...)
{
	va_list ap;
	res->verdict = v;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	return v;
}

const char *zrr_setname(const struct zrr *r, uint16_t type, char *buf, size_t len)
{
	char *owner = ldns_rdf2str(ldns_rr_owner(r->rr));
	const ldns_rr_descriptor *d = ldns_rr_descript(type);
	if (d && d->_name)
		snprintf(buf, len, "%s/%s", owner ? owner : "?", d->_name);
	else
		snprintf(buf, len, "%s/TYPE%u", owner ? owner : "?", type);
	free(owner);
	return buf;
}

/* Canonical order: owner name, class, type, then RDATA as octet strings with
 * the shorter first on a common prefix (RFC 4034 §6.1-6.3). */
static int zrr_cmp(const void *pa, const void *pb)
{
	const struct zrr *a = pa, *b = pb;
	int c = zkey_cmp(a->key, a->key_len, b->key, b->key_len);
	if (c)
		return c;
	if (a->rclass != b->rclass)
		return a->rclass < b->rclass ? -1 : 1;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	c = zkey_cmp(zrr_rdata(a), zrr_rdlen(a), zrr_rdata(b), zrr_rdlen(b));
	if (c)
		return c;
	/* Keep the earlier record of duplicates first (input order). */
	return a->ord < b->ord ? -1 : a->ord > b->ord;
}

void ost_zone_data_free(struct ost_zone_data *z)
{
	if (!z)
		return;
	if (z->v) {
		for (size_t i = 0; i < z->n; i++)
			free(z->v[i].key);
		free(z->v);
	}
	ldns_rr_list_deep_free(z->rrs);
	ldns_rdf_deep_free(z->apex);
	free(z);
}

uint32_t ost_zone_data_serial(const struct ost_zone_data *z)
{
	return ldns_rdf2native_int32(ldns_rr_rdf(z->v[z->soa].rr, 2));
}

size_t ost_zone_data_count(const struct ost_zone_data *z)
{
	return z->n;
}

/* Fill one entry: canonical wire via ldns, name key, type fields. */
static int zrr_fill(struct zrr *e, ldns_rr *rr, int line, ldns_buffer *buf)
{
	uint8_t kbuf[ZKEY_MAX];
	ldns_rdf *owner = ldns_rr_owner(rr);
	int klen;

	/* RFC 3597 "\# 0" makes ldns accept a known type without its rdata
	 * fields (an empty DNAME); readers of the zone rely on them. Opaque
	 * types (NULL) and unknown ones may be empty. */
	const ldns_rr_descriptor *d = ldns_rr_descript((uint16_t)ldns_rr_get_type(rr));
	if (d && d->_type == (uint16_t)ldns_rr_get_type(rr) &&
	    ldns_rr_descriptor_field_type(d, 0) != LDNS_RDF_TYPE_UNKNOWN &&
	    ldns_rr_rd_count(rr) < ldns_rr_descriptor_minimum(d))
		return OST_EMALFORMED;
	ldns_buffer_clear(buf);
	if (ldns_rr2buffer_wire_canonical(buf, rr, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
		return OST_EMALFORMED;
	klen = zname_key(ldns_rdf_data(owner), ldns_rdf_size(owner), kbuf, sizeof(kbuf));
	if (klen < 0)
		return OST_EMALFORMED;
	e->rr = rr;
	e->wire_len = (uint32_t)ldns_buffer_position(buf);
	e->key_len = (uint16_t)klen;
	e->owner_len = (uint16_t)ldns_rdf_size(owner);
	if (e->wire_len < e->owner_len + 10u)
		return OST_EMALFORMED;
	e->key = malloc((size_t)klen + e->wire_len + 1);
	if (!e->key)
		return -ENOMEM;
	memcpy(e->key, kbuf, (size_t)klen);
	e->wire = e->key + klen;
	memcpy(e->wire, ldns_buffer_begin(buf), e->wire_len);
	e->type = ldns_rr_get_type(rr);
	e->rclass = ldns_rr_get_class(rr);
	e->ttl = ldns_rr_ttl(rr);
	e->line = line;
	e->covered = 0;
	if (e->type == LDNS_RR_TYPE_RRSIG) {
		const uint8_t *rd = zrr_rdata(e);
		if (zrr_rdlen(e) < 18)
			return OST_EMALFORMED;
		e->covered = (uint16_t)(rd[0] << 8 | rd[1]);
	}
	return 0;
}

/* Below this many records a build is not worth cutting into tasks. */
#define BUILD_PARALLEL_MIN 4096

/** Canonical forms of the records of a build, cut into tasks. */
struct fjob {
	ldns_rr_list *rrs;
	const int *lines;
	struct zrr *v; /* v[i] for record i */
	int *status;   /* zrr_fill()'s result for record i */
	size_t count;
	size_t per;
};

static void fill_task(void *arg, size_t t)
{
	struct fjob *j = arg;
	size_t from = t * j->per, to = from + j->per < j->count ? from + j->per : j->count;
	ldns_buffer *buf = ldns_buffer_new(65536 + 512);

	for (size_t i = from; i < to; i++) {
		j->status[i] = buf ? zrr_fill(&j->v[i], ldns_rr_list_rr(j->rrs, i),
					      j->lines ? j->lines[i] : 0, buf)
				   : -ENOMEM;
		j->v[i].ord = (uint32_t)i;
	}
	ldns_buffer_free(buf);
}

/** Runs of a parallel sort. */
struct sjob {
	struct zrr *v;
	size_t bounds[65]; /* run t is v[bounds[t], bounds[t + 1]) */
};

static void sort_task(void *arg, size_t t)
{
	struct sjob *j = arg;
	qsort(j->v + j->bounds[t], j->bounds[t + 1] - j->bounds[t], sizeof(*j->v), zrr_cmp);
}

/* Sort into canonical order: with several threads, runs sorted in parallel
 * and then merged. zrr_cmp() is a total order (it ends on the input
 * position), so the result is the same array as one qsort() gives. */
static int sort_zrrs(struct zrr *v, size_t n, const struct ost_exec *exec)
{
	unsigned width = ost_exec_width(exec);
	size_t runs = width == 1 || n < BUILD_PARALLEL_MIN ? 1 : width;
	struct sjob j = {.v = v};

	if (runs > 64)
		runs = 64;
	if (runs == 1) {
		qsort(v, n, sizeof(*v), zrr_cmp);
		return 0;
	}
	for (size_t t = 0; t <= runs; t++)
		j.bounds[t] = n * t / runs;
	ost_exec_run(exec, sort_task, &j, runs);
	struct zrr *tmp = malloc(n * sizeof(*tmp)), *src = v, *dst = tmp;
	if (!tmp)
		return -ENOMEM;
	/* Merge neighbouring runs until one is left. */
	for (size_t width_runs = 1; width_runs < runs; width_runs *= 2) {
		for (size_t r = 0; r < runs; r += 2 * width_runs) {
			size_t lo = j.bounds[r];
			size_t mid = j.bounds[r + width_runs < runs ? r + width_runs : runs];
			size_t hi = j.bounds[r + 2 * width_runs < runs ? r + 2 * width_runs : runs];
			size_t a = lo, b = mid, o = lo;
			while (a < mid && b < hi)
				dst[o++] = zrr_cmp(&src[b], &src[a]) < 0 ? src[b++] : src[a++];
			while (a < mid)
				dst[o++] = src[a++];
			while (b < hi)
				dst[o++] = src[b++];
		}
		struct zrr *sw = src;
		src = dst;
		dst = sw;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
	return 0;
}

int zone_data_build(const char *apex, ldns_rr_list *rrs, const int *lines,
		    const struct ost_zone_policy *policy, struct ost_zone_data **out,
		    struct ost_zone_verify_result *res)
{
	struct ost_zone_data *z = calloc(1, sizeof(*z));
	size_t count = ldns_rr_list_rr_count(rrs);
	size_t soa_count = 0;
	int *status = NULL;
	int ret = -ENOMEM;
	int klen;

	if (!z)
		goto fail;
	z->rrs = rrs;
	rrs = NULL;
	snprintf(z->apex_str, sizeof(z->apex_str), "%s", apex);
	if (ldns_str2rdf_dname(&z->apex, apex) != LDNS_STATUS_OK) {
		ret = OST_EMALFORMED;
		zres_set(res, OST_ZV_PARSE_ERROR, "bad zone name \"%s\"", apex);
		goto fail;
	}
	klen = zname_key(ldns_rdf_data(z->apex), ldns_rdf_size(z->apex), z->apex_key,
			 sizeof(z->apex_key));
	if (klen < 0) {
		ret = OST_EMALFORMED;
		zres_set(res, OST_ZV_PARSE_ERROR, "bad zone name \"%s\"", apex);
		goto fail;
	}
	z->apex_key_len = (uint16_t)klen;
	z->v = calloc(count ? count : 1, sizeof(*z->v));
	status = calloc(count ? count : 1, sizeof(*status));
	if (!z->v || !status || count > UINT32_MAX)
		goto fail;

	/* Canonical forms, in parallel when an executor is given. */
	unsigned width = ost_exec_width(policy ? policy->exec : NULL);
	size_t n_tasks = width == 1 || count < BUILD_PARALLEL_MIN ? 1 : (size_t)width * 4;
	struct fjob fj = {.rrs = z->rrs,
			  .lines = lines,
			  .v = z->v,
			  .status = status,
			  .count = count,
			  .per = (count + n_tasks - 1) / n_tasks};
	ost_exec_run(policy ? policy->exec : NULL, fill_task, &fj, n_tasks);

	/* Then, in input order, what the serial loop did: the first record that
	 * fails decides, out-of-zone records are dropped. */
	for (size_t i = 0; i < count; i++) {
		struct zrr *e = &z->v[i];
		ret = status[i];
		if (ret) {
			int line = lines ? lines[i] : 0;
			for (size_t k = i; k < count; k++)
				free(z->v[k].key);
			if (ret == -ENOMEM)
				goto fail;
			res->line = line;
			zres_set(res, OST_ZV_PARSE_ERROR, "record %zu cannot be put in wire form",
				 i + 1);
			goto fail;
		}
		/* RFC 8976 §3.3.1.1: out-of-zone data is excluded. */
		if (!zkey_is_under(e->key, e->key_len, z->apex_key, z->apex_key_len)) {
			free(e->key);
			e->key = NULL;
			z->dropped_out_of_zone++;
			continue;
		}
		z->v[z->n++] = *e;
	}
	free(status);
	status = NULL;

	if (sort_zrrs(z->v, z->n, policy ? policy->exec : NULL) != 0) {
		ret = -ENOMEM;
		goto fail;
	}
	/* Duplicates are digested once (RFC 8976 §3.3.1.1) and stored once. */
	size_t w = 0;
	for (size_t i = 0; i < z->n; i++) {
		struct zrr *e = &z->v[i];
		if (w > 0) {
			struct zrr *p = &z->v[w - 1];
			if (p->rclass == e->rclass && p->type == e->type &&
			    zkey_cmp(p->key, p->key_len, e->key, e->key_len) == 0 &&
			    zkey_cmp(zrr_rdata(p), zrr_rdlen(p), zrr_rdata(e), zrr_rdlen(e)) == 0) {
				free(e->key);
				z->dropped_duplicates++;
				continue;
			}
		}
		z->v[w++] = *e;
	}
	z->n = w;

	for (size_t i = 0; i < z->n; i++) {
		z->bytes += z->v[i].wire_len;
		if (z->v[i].type == LDNS_RR_TYPE_SOA && zrr_at_apex(z, &z->v[i])) {
			if (soa_count++ == 0)
				z->soa = i;
		}
	}
	if (soa_count == 0) {
		ret = OST_EMALFORMED;
		zres_set(res, OST_ZV_PARSE_ERROR, "no SOA record at the apex %s", apex);
		goto fail;
	}
	if (soa_count > 1) {
		ret = OST_EMALFORMED;
		res->line = z->v[z->soa].line;
		zres_set(res, OST_ZV_PARSE_ERROR, "%zu different SOA records at the apex %s",
			 soa_count, apex);
		goto fail;
	}
	if (ldns_rr_rd_count(z->v[z->soa].rr) != 7) {
		ret = OST_EMALFORMED;
		zres_set(res, OST_ZV_PARSE_ERROR, "malformed SOA at the apex %s", apex);
		goto fail;
	}
	z->zclass = z->v[z->soa].rclass;
	if (policy && policy->max_bytes && z->bytes > policy->max_bytes) {
		ret = OST_ELIMIT;
		zres_set(res, OST_ZV_TOO_LARGE, "zone is %llu bytes in wire form, limit %llu",
			 (unsigned long long)z->bytes, (unsigned long long)policy->max_bytes);
		goto fail;
	}
	*out = z;
	return 0;
fail:
	if (ret == -ENOMEM && res->verdict == OST_ZV_OK)
		zres_set(res, OST_ZV_PARSE_ERROR, "out of memory");
	free(status);
	ldns_rr_list_deep_free(rrs);
	ost_zone_data_free(z);
	return ret;
}

static void res_reset(struct ost_zone_verify_result *res)
{
	memset(res, 0, sizeof(*res));
	res->verdict = OST_ZV_OK;
}

/* ldns counts the newlines it consumed, so a record on a last line without
 * a newline is reported one line early; both our inputs are seekable. */
static bool ends_with_newline(FILE *fp)
{
	long pos = ftell(fp);
	bool nl = true;
	if (pos > 0 && fseek(fp, -1, SEEK_END) == 0) {
		nl = fgetc(fp) == '\n';
		(void)fseek(fp, pos, SEEK_SET);
	}
	return nl;
}

/** Parser state carried from record to record (ldns_rr_new_frm_fp_l()). */
struct pstate {
	ldns_rdf *origin;     /* $ORIGIN in force */
	ldns_rdf *prev;       /* owner of the previous record */
	uint32_t default_ttl; /* $TTL in force */
	int line;             /* newlines consumed */
};

/** Records read so far, with their lines. */
struct pout {
	ldns_rr_list *rrs;
	int *lines;
	size_t lines_cap;
};

/* Append a parsed record and its line to @p o (takes ownership of @p rr). */
static int pout_push(struct pout *o, ldns_rr *rr, int line, uint64_t max_records,
		     struct ost_zone_verify_result *res)
{
	size_t n = ldns_rr_list_rr_count(o->rrs);
	if (max_records && n >= max_records) {
		ldns_rr_free(rr);
		res->line = line;
		zres_set(res, OST_ZV_TOO_LARGE, "more than %llu records",
			 (unsigned long long)max_records);
		return OST_ELIMIT;
	}
	if (n == o->lines_cap) {
		size_t nc = o->lines_cap ? o->lines_cap * 2 : 1024;
		int *nl = realloc(o->lines, nc * sizeof(*nl));
		if (!nl) {
			ldns_rr_free(rr);
			return -ENOMEM;
		}
		o->lines = nl;
		o->lines_cap = nc;
	}
	if (!ldns_rr_list_push_rr(o->rrs, rr)) {
		ldns_rr_free(rr);
		return -ENOMEM;
	}
	o->lines[n] = line;
	return 0;
}

static int syntax_error(struct ost_zone_verify_result *res, int line, ldns_status st)
{
	res->line = line;
	if (st == LDNS_STATUS_SYNTAX_INCLUDE)
		zres_set(res, OST_ZV_PARSE_ERROR, "line %d: $INCLUDE is not supported", line);
	else
		zres_set(res, OST_ZV_PARSE_ERROR, "line %d: %s", line, ldns_get_errorstr_by_id(st));
	return OST_EMALFORMED;
}

/* Read one record (or directive, or nothing at the end) with ldns' own
 * reader, so that we control TTL defaults (see top of file), refuse
 * $INCLUDE (a mirrored zone must be one self-contained file) and report the
 * line of the first syntax error. @return 0 to go on, 1 at the end, <0. */
static int parse_one(FILE *fp, struct pstate *ps, struct pout *o, uint64_t max_records,
		     struct ost_zone_verify_result *res)
{
	ldns_rr *rr = NULL;
	int start = ps->line;
	ldns_status st =
		ldns_rr_new_frm_fp_l(&rr, fp, &ps->default_ttl, &ps->origin, &ps->prev, &ps->line);
	if (st == LDNS_STATUS_OK) {
		int line = feof(fp) && !ends_with_newline(fp) ? ps->line + 1 : ps->line;
		int ret = pout_push(o, rr, line, max_records, res);
		return ret ? ret : feof(fp) ? 1 : 0;
	}
	if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
	    st == LDNS_STATUS_SYNTAX_ORIGIN)
		return feof(fp) ? 1 : 0;
	if (feof(fp) && ps->line == start && st == LDNS_STATUS_SYNTAX_ERR)
		return 1;
	if (feof(fp) && !ends_with_newline(fp))
		ps->line++;
	return syntax_error(res, ps->line, st);
}

static int parse_loop(FILE *fp, struct pstate *ps, struct pout *o, uint64_t max_records,
		      struct ost_zone_verify_result *res)
{
	int ret;
	while ((ret = parse_one(fp, ps, o, max_records, res)) == 0)
		;
	return ret < 0 ? ret : 0;
}

/* Bytes that make ldns_fget_token_l_st() do more than copy a line:
 * parentheses, comments, quotes, escapes, and the characters it treats as
 * line ends or blanks ('\r' becomes a space). */
static bool is_plain_line(const char *l, size_t n)
{
	if (l[0] == '$')
		return false;
	for (size_t i = 0; i < n; i++) {
		switch (l[i]) {
		case '(':
		case ')':
		case ';':
		case '"':
		case '\\':
		case '\r':
		case '\f':
		case '\v':
		case '\0':
			return false;
		default:
			break;
		}
	}
	return true;
}

#define PLAIN_LINE_MAX 4096

/*
 * Zone text in memory, record by record, with exactly the results of
 * parse_loop() over the same text, but faster. For a plain line (no
 * parenthesis, comment, quote, escape or directive) ldns_rr_new_frm_fp_l()
 * only copies the line into a fresh 64 KiB buffer with one getc() per byte
 * and hands it to ldns_rr_new_frm_str() (ldns 1.8.3 rr.c, parse.c); about a
 * third of the parse time went there. Such lines are given to
 * ldns_rr_new_frm_str() directly, with the same TTL, origin and previous
 * owner; every other line, and the lines a multi-line record spans, go
 * through ldns_rr_new_frm_fp_l() from that position. A record's line is the
 * number of newlines before it plus one, as ldns counts them.
 */
static int parse_text_loop(const char *text, size_t len, struct pstate *ps, struct pout *o,
			   uint64_t max_records, struct ost_zone_verify_result *res)
{
	char buf[PLAIN_LINE_MAX + 1];
	FILE *fp = NULL;
	size_t pos = 0;
	int ret = 0;

	while (pos < len && ret == 0) {
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - l) : len - pos;
		if (ll <= PLAIN_LINE_MAX && is_plain_line(l, ll)) {
			int line = ps->line + 1;
			ps->line += nl ? 1 : 0;
			pos += ll + (nl ? 1 : 0);
			memcpy(buf, l, ll);
			buf[ll] = 0;
			size_t b = 0;
			while (b < ll && isspace((unsigned char)buf[b]))
				b++;
			if (b == ll)
				continue; /* blank: LDNS_STATUS_SYNTAX_EMPTY */
			ldns_rr *rr = NULL;
			ldns_status st = ldns_rr_new_frm_str(&rr, buf, ps->default_ttl, ps->origin,
							     &ps->prev);
			if (st != LDNS_STATUS_OK)
				ret = syntax_error(res, line, st);
			else
				ret = pout_push(o, rr, line, max_records, res);
			continue;
		}
		if (!fp && !(fp = fmemopen((void *)text, len, "r"))) {
			ret = -ENOMEM;
			break;
		}
		if (fseek(fp, (long)pos, SEEK_SET) != 0) {
			ret = -EIO;
			break;
		}
		ret = parse_one(fp, ps, o, max_records, res);
		long at = ftell(fp);
		if (ret != 0)
			break; /* the end, or an error */
		if (at < 0 || (size_t)at <= pos) {
			zres_set(res, OST_ZV_PARSE_ERROR, "line %d: the parser made no progress",
				 ps->line + 1);
			res->line = ps->line + 1;
			ret = OST_EMALFORMED;
			break;
		}
		pos = (size_t)at;
	}
	if (fp)
		fclose(fp);
	return ret < 0 ? ret : 0;
}

static int pstate_init(struct pstate *ps, const char *apex, struct ost_zone_verify_result *res)
{
	memset(ps, 0, sizeof(*ps));
	ps->default_ttl = LDNS_DEFAULT_TTL;
	if (ldns_str2rdf_dname(&ps->origin, apex) != LDNS_STATUS_OK) {
		zres_set(res, OST_ZV_PARSE_ERROR, "bad zone name \"%s\"", apex);
		return OST_EMALFORMED;
	}
	ps->prev = ldns_rdf_clone(ps->origin);
	return ps->prev ? 0 : -ENOMEM;
}

static void pstate_deinit(struct pstate *ps)
{
	ldns_rdf_deep_free(ps->origin);
	ldns_rdf_deep_free(ps->prev);
}

static int parse_fp(const char *apex, FILE *fp, const struct ost_zone_policy *policy,
		    struct ost_zone_data **out, struct ost_zone_verify_result *res)
{
	struct pstate ps;
	struct pout o = {.rrs = ldns_rr_list_new()};
	int ret = o.rrs ? pstate_init(&ps, apex, res) : -ENOMEM;

	if (ret == 0)
		ret = parse_loop(fp, &ps, &o, policy ? policy->max_records : 0, res);
	if (o.rrs)
		pstate_deinit(&ps);
	if (ret == 0) {
		ret = zone_data_build(apex, o.rrs, o.lines, policy, out, res);
		o.rrs = NULL;
	}
	ldns_rr_list_deep_free(o.rrs);
	free(o.lines);
	return ret;
}

/* Serial parse of zone text in memory. */
static int parse_text_all(const char *apex, const char *text, size_t len,
			  const struct ost_zone_policy *policy, struct ost_zone_data **out,
			  struct ost_zone_verify_result *res)
{
	struct pstate ps;
	struct pout o = {.rrs = ldns_rr_list_new()};
	int ret = o.rrs ? pstate_init(&ps, apex, res) : -ENOMEM;

	if (ret == 0)
		ret = parse_text_loop(text, len, &ps, &o, policy ? policy->max_records : 0, res);
	if (o.rrs)
		pstate_deinit(&ps);
	if (ret == 0) {
		ret = zone_data_build(apex, o.rrs, o.lines, policy, out, res);
		o.rrs = NULL;
	}
	ldns_rr_list_deep_free(o.rrs);
	free(o.lines);
	return ret;
}

/*
 * Parallel parse of zone text in memory (a 1,000,000-record file takes ~5 s
 * of ldns parsing on one core, the largest cost after signature checks).
 *
 * The text is cut at line starts that certainly begin a record: outside
 * parentheses, quotes and comments (tracked as ldns_fget_token_l() does: an
 * unescaped '(' or ')' outside quotes and comments, ';' outside quotes, '"'
 * outside comments), and with an explicit owner (not blank, '$' or ';'), so
 * the previous owner does not matter there. The rest of the parser state is
 * the last $ORIGIN and $TTL lines before the cut, which ldns applies
 * wholesale; each chunk replays those two lines, then parses its records with
 * the same loop as the serial path, counting lines from the newlines before
 * it. Chunks are concatenated in order, so the records and lines are those of
 * the serial parse. If any chunk fails (a syntax error, a limit, or a cut the
 * scan got wrong), the whole text is parsed again serially, so errors and
 * their lines are exactly the serial ones.
 */
#define PARSE_CHUNK_MIN         (16u * 1024u) /* below, setting a chunk up costs more than it saves */
#define PARSE_CHUNKS_PER_THREAD 8

struct pchunk {
	size_t off, len;   /* the chunk's text */
	int line0;         /* newlines before it */
	size_t origin_off; /* last "$ORIGIN" line before it, or SIZE_MAX */
	size_t ttl_off;    /* last "$TTL" line before it, or SIZE_MAX */
	struct pout o;     /* its records */
	int ret;           /* its outcome */
};

struct pjob {
	const char *apex;
	const char *text;
	size_t len;
	uint64_t max_records;
	struct pchunk *chunks;
};

/* Length of the line at @p off, newline included. */
static size_t line_len(const char *text, size_t len, size_t off)
{
	const char *nl = memchr(text + off, '\n', len - off);
	return nl ? (size_t)(nl - (text + off)) + 1 : len - off;
}

static void parse_chunk_task(void *arg, size_t i)
{
	struct pjob *j = arg;
	struct pchunk *c = &j->chunks[i];
	struct ost_zone_verify_result res;
	struct pstate ps;
	FILE *fp;

	memset(&res, 0, sizeof(res));
	c->o.rrs = ldns_rr_list_new();
	if (!c->o.rrs) {
		c->ret = -ENOMEM;
		return;
	}
	if ((c->ret = pstate_init(&ps, j->apex, &res)) != 0)
		return;
	/* Replay the directives in force at the cut ($ORIGIN, then $TTL: they
	 * are independent, each replaces the previous value). */
	const size_t dir_off[2] = {c->origin_off, c->ttl_off};
	for (size_t d = 0; d < 2 && c->ret == 0; d++) {
		if (dir_off[d] == SIZE_MAX)
			continue;
		fp = fmemopen((void *)(j->text + dir_off[d]), line_len(j->text, j->len, dir_off[d]),
			      "r");
		if (!fp) {
			c->ret = -ENOMEM;
			break;
		}
		c->ret = parse_loop(fp, &ps, &c->o, 1, &res);
		if (c->ret == 0 && ldns_rr_list_rr_count(c->o.rrs) != 0)
			c->ret = OST_EMALFORMED; /* a directive line made a record? */
		fclose(fp);
	}
	ps.line = c->line0;
	if (c->ret == 0 && c->len > 0)
		c->ret =
			parse_text_loop(j->text + c->off, c->len, &ps, &c->o, j->max_records, &res);
	pstate_deinit(&ps);
}

static bool is_directive(const char *p, size_t n, const char *word)
{
	size_t w = strlen(word);
	return n > w && memcmp(p, word, w) == 0 && (p[w] == ' ' || p[w] == '\t');
}

/* Cut @p text into about @p want chunks (see above). */
static size_t plan_chunks(const char *text, size_t len, size_t want, struct pchunk *chunks)
{
	size_t target = len / want, n = 0, origin_off = SIZE_MAX, ttl_off = SIZE_MAX;
	int depth = 0, line = 0;
	bool quoted = false, comment = false;
	char prev_c = '\n';

	chunks[0] = (struct pchunk){.off = 0, .origin_off = SIZE_MAX, .ttl_off = SIZE_MAX};
	n = 1;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (prev_c == '\n' && depth == 0 && !quoted) {
			/* A line start outside any record continuation. */
			if (c == '$') {
				if (is_directive(text + i, len - i, "$ORIGIN"))
					origin_off = i;
				else if (is_directive(text + i, len - i, "$TTL"))
					ttl_off = i;
			} else if (c != ' ' && c != '\t' && c != ';' && c != '\n' && c != '\r' &&
				   c != '(' && n < want && i >= chunks[n - 1].off + target) {
				chunks[n - 1].len = i - chunks[n - 1].off;
				chunks[n] = (struct pchunk){.off = i,
							    .line0 = line,
							    .origin_off = origin_off,
							    .ttl_off = ttl_off};
				n++;
			}
		}
		if (c == '\n') {
			line++;
			comment = false;
		} else if (!comment) {
			if (c == '(' && prev_c != '\\' && !quoted)
				depth++;
			else if (c == ')' && prev_c != '\\' && !quoted && depth > 0)
				depth--;
			else if (c == ';' && !quoted)
				comment = true;
			else if (c == '"' && prev_c != '\\')
				quoted = !quoted;
		}
		prev_c = c;
	}
	chunks[n - 1].len = len - chunks[n - 1].off;
	return n;
}

static int parse_mem(const char *apex, const char *text, size_t len,
		     const struct ost_zone_policy *policy, struct ost_zone_data **out,
		     struct ost_zone_verify_result *res)
{
	unsigned width = ost_exec_width(policy ? policy->exec : NULL);
	size_t want = (size_t)width * PARSE_CHUNKS_PER_THREAD;
	struct pout all = {0};
	struct pchunk *chunks = NULL;
	size_t n = 0, total = 0;
	int ret = -ENOMEM;

	if (len / PARSE_CHUNK_MIN < want)
		want = len / PARSE_CHUNK_MIN;
	if (width == 1 || want < 2)
		goto serial;
	chunks = calloc(want, sizeof(*chunks));
	if (!chunks)
		goto serial;
	n = plan_chunks(text, len, want, chunks);
	struct pjob job = {
		.apex = apex,
		.text = text,
		.len = len,
		.max_records = policy->max_records,
		.chunks = chunks,
	};
	ost_exec_run(policy->exec, parse_chunk_task, &job, n);
	for (size_t i = 0; i < n; i++) {
		if (chunks[i].ret != 0)
			goto serial;
		total += ldns_rr_list_rr_count(chunks[i].o.rrs);
	}
	if (policy->max_records && total > policy->max_records)
		goto serial;
	all.rrs = ldns_rr_list_new();
	all.lines = malloc((total ? total : 1) * sizeof(*all.lines));
	if (!all.rrs || !all.lines)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct pchunk *c = &chunks[i];
		size_t cn = ldns_rr_list_rr_count(c->o.rrs);
		size_t at = ldns_rr_list_rr_count(all.rrs);
		if (!ldns_rr_list_cat(all.rrs, c->o.rrs))
			goto fail;
		memcpy(all.lines + at, c->o.lines, cn * sizeof(*all.lines));
		/* The records now belong to all.rrs. */
		ldns_rr_list_free(c->o.rrs);
		c->o.rrs = NULL;
	}
	for (size_t i = 0; i < n; i++)
		free(chunks[i].o.lines);
	free(chunks);
	ret = zone_data_build(apex, all.rrs, all.lines, policy, out, res);
	free(all.lines);
	res->info.parse_chunks = (uint32_t)n;
	return ret;
serial:
	for (size_t i = 0; chunks && i < n; i++) {
		ldns_rr_list_deep_free(chunks[i].o.rrs);
		free(chunks[i].o.lines);
	}
	free(chunks);
	return parse_text_all(apex, text, len, policy, out, res);
fail:
	for (size_t i = 0; i < n; i++) {
		ldns_rr_list_deep_free(chunks[i].o.rrs);
		free(chunks[i].o.lines);
	}
	free(chunks);
	ldns_rr_list_deep_free(all.rrs);
	free(all.lines);
	zres_set(res, OST_ZV_PARSE_ERROR, "out of memory");
	return ret;
}

int ost_zone_parse_file(const char *apex, const char *path, const struct ost_zone_policy *policy,
			struct ost_zone_data **out, struct ost_zone_verify_result *res)
{
	struct stat st;
	FILE *fp;
	int ret;

	res_reset(res);
	fp = fopen(path, "r");
	if (!fp) {
		ret = -errno;
		zres_set(res, OST_ZV_PARSE_ERROR, "cannot open %s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fileno(fp), &st) == 0 && policy && policy->max_bytes &&
	    (uint64_t)st.st_size > policy->max_bytes) {
		fclose(fp);
		zres_set(res, OST_ZV_TOO_LARGE, "%s is %lld bytes, limit %llu", path,
			 (long long)st.st_size, (unsigned long long)policy->max_bytes);
		return OST_ELIMIT;
	}
	/* Read the file once and parse it from memory (parse_mem(): plain lines
	 * straight to ldns_rr_new_frm_str(), chunks in parallel with several
	 * threads); stream it only if it cannot be held in memory. */
	if (st.st_size > 0 && (uint64_t)st.st_size < ((uint64_t)1 << 32)) {
		size_t len = (size_t)st.st_size;
		char *text = malloc(len);
		if (text && fread(text, 1, len, fp) == len) {
			fclose(fp);
			ret = parse_mem(apex, text, len, policy, out, res);
			free(text);
			return ret;
		}
		free(text);
		rewind(fp);
	}
	ret = parse_fp(apex, fp, policy, out, res);
	fclose(fp);
	return ret;
}

int ost_zone_parse_text(const char *apex, const char *text, size_t len,
			const struct ost_zone_policy *policy, struct ost_zone_data **out,
			struct ost_zone_verify_result *res)
{
	res_reset(res);
	if (policy && policy->max_bytes && len > policy->max_bytes) {
		zres_set(res, OST_ZV_TOO_LARGE, "zone text is %zu bytes, limit %llu", len,
			 (unsigned long long)policy->max_bytes);
		return OST_ELIMIT;
	}
	if (len == 0) {
		zres_set(res, OST_ZV_PARSE_ERROR, "empty zone");
		return OST_EMALFORMED;
	}
	return parse_mem(apex, text, len, policy, out, res);
}

int ost_zone_from_rrs(const char *apex, const ldns_rr_list *rrs,
		      const struct ost_zone_policy *policy, struct ost_zone_data **out,
		      struct ost_zone_verify_result *res)
{
	ldns_rr_list *copy;

	res_reset(res);
	if (policy && policy->max_records && ldns_rr_list_rr_count(rrs) > policy->max_records) {
		zres_set(res, OST_ZV_TOO_LARGE, "%zu records, limit %llu",
			 ldns_rr_list_rr_count(rrs), (unsigned long long)policy->max_records);
		return OST_ELIMIT;
	}
	copy = ldns_rr_list_clone(rrs);
	if (!copy) {
		zres_set(res, OST_ZV_PARSE_ERROR, "out of memory");
		return -ENOMEM;
	}
	return zone_data_build(apex, copy, NULL, policy, out, res);
}
