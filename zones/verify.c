/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Verification of one zone version as a whole: the order of the checks and
 * the metadata a verified version carries (serial, SOA timers, RRSIG
 * horizon, ZONEMD result). The individual checks live in dnssec_check.c and
 * zonemd.c.
 *
 * Order: cheap structural checks first (limits, RFC 1982 serial), then
 * DNSSEC (RFC 8976 §4 step 3 needs the SOA and ZONEMD signatures to chain to
 * an anchor before the digest means anything), then the digest.
 */
#include <errno.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/clock.h"
#include "ostrov/log.h"
#include "ostrov/zone.h"

#include "zone_internal.h"

static const char *const verdict_names[OST_ZV_COUNT] = {
	[OST_ZV_OK] = "ok",
	[OST_ZV_ZONEMD_MISMATCH] = "zonemd_mismatch",
	[OST_ZV_NO_ZONEMD] = "no_zonemd",
	[OST_ZV_ZONEMD_SERIAL_MISMATCH] = "zonemd_serial_mismatch",
	[OST_ZV_UNSUPPORTED_ZONEMD] = "unsupported_zonemd",
	[OST_ZV_BOGUS_SIG] = "bogus_sig",
	[OST_ZV_EXPIRED_SIG] = "expired_sig",
	[OST_ZV_MISSING_SIG] = "missing_sig",
	[OST_ZV_DNSKEY_NOT_CHAINED] = "dnskey_not_chained",
	[OST_ZV_LOWER_SERIAL] = "lower_serial",
	[OST_ZV_PARSE_ERROR] = "parse_error",
	[OST_ZV_TOO_LARGE] = "too_large",
	[OST_ZV_SOA_EXPIRED] = "soa_expired",
	[OST_ZV_STORE_ERROR] = "store_error",
};

const char *ost_zone_verdict_str(enum ost_zone_verdict v)
{
	if ((unsigned)v >= OST_ZV_COUNT)
		return "unknown";
	return verdict_names[v];
}

const char *ost_zonemd_result_str(enum ost_zonemd_result r)
{
	static const char *const names[OST_ZONEMD_RESULT_COUNT] = {"not_checked", "absent",
								   "verified", "failed"};
	if ((unsigned)r >= OST_ZONEMD_RESULT_COUNT)
		return "unknown";
	return names[r];
}

int ost_zone_serial_cmp(uint32_t a, uint32_t b)
{
	/* RFC 1982 §3.2 with SERIAL_BITS = 32. */
	if (a == b)
		return 0;
	uint32_t d = a - b;
	if (d == 0x80000000u)
		return 2;
	return d < 0x80000000u ? 1 : -1;
}

static void soa_info(const struct ost_zone_data *z, struct ost_zone_info *info)
{
	ldns_rr *soa = z->v[z->soa].rr;
	info->serial = ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
	info->refresh = ldns_rdf2native_int32(ldns_rr_rdf(soa, 3));
	info->retry = ldns_rdf2native_int32(ldns_rr_rdf(soa, 4));
	info->expire = ldns_rdf2native_int32(ldns_rr_rdf(soa, 5));
	info->minimum = ldns_rdf2native_int32(ldns_rr_rdf(soa, 6));
	info->soa_ttl = ldns_rr_ttl(soa);
	info->records = z->n;
	info->bytes = z->bytes;
	info->rrsets = 0;
	for (size_t i = 0; i < z->n; i++) {
		const struct zrr *r = &z->v[i];
		if (r->type == LDNS_RR_TYPE_RRSIG)
			continue;
		if (i == 0 || r->type != z->v[i - 1].type || r->rclass != z->v[i - 1].rclass ||
		    zkey_cmp(r->key, r->key_len, z->v[i - 1].key, z->v[i - 1].key_len) != 0)
			info->rrsets++;
	}
}

int ost_zone_verify(const struct ost_zone_data *z, const struct ost_zone_verify_ctx *ctx,
		    const struct ost_zone_policy *policy, struct ost_zone_verify_result *res)
{
	static const struct ost_zone_policy defaults = {0};
	enum ost_zone_verdict v;

	if (!policy)
		policy = &defaults;
	memset(res, 0, sizeof(*res));
	res->verdict = OST_ZV_OK;
	soa_info(z, &res->info);

	if (policy->max_records && z->n > policy->max_records) {
		zres_set(res, OST_ZV_TOO_LARGE, "%zu records, limit %llu", z->n,
			 (unsigned long long)policy->max_records);
		return OST_EBOGUS;
	}
	if (policy->max_bytes && z->bytes > policy->max_bytes) {
		zres_set(res, OST_ZV_TOO_LARGE, "%llu bytes, limit %llu",
			 (unsigned long long)z->bytes, (unsigned long long)policy->max_bytes);
		return OST_EBOGUS;
	}
	if (ctx->has_prev_serial) {
		int c = ost_zone_serial_cmp(res->info.serial, ctx->prev_serial);
		if (c < 0 || c == 2) {
			zres_set(
				res, OST_ZV_LOWER_SERIAL,
				"SOA serial %u of %s is not above the current copy's %u (RFC 1982)",
				res->info.serial, z->apex_str, ctx->prev_serial);
			return OST_EBOGUS;
		}
	}
	if (ctx->anchors && ldns_rr_list_rr_count(ctx->anchors) > 0) {
		v = dnssec_check(z, ctx->anchors, ost_clock_wall_s(ctx->clock),
				 policy->max_key_tries, policy->exec, res);
		if (v != OST_ZV_OK)
			return OST_EBOGUS;
		res->info.is_dnssec_checked = true;
	}
	v = zonemd_check(z, policy->zonemd, res);
	if (v != OST_ZV_OK)
		return OST_EBOGUS;
	return 0;
}
