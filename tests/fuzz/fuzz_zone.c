/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target for zone files: a mirrored zone arrives as text (a file or a
 * transfer turned into records) and goes through ost_zone_parse_text() and
 * ost_zone_verify() before anything may use it. On arbitrary text both must
 * end in a verdict with a reason, never a crash, a leak or an "ok" for a zone
 * the checks did not accept. Each input is verified twice at a pinned time
 * (2004-04-20, inside the validity window of the RFC 4035 Appendix A
 * signature): without anchors (ZONEMD only) and with the RFC 4035 example
 * ZSK of "example." as the trust anchor.
 *
 * Seeds (corpus/zone/): unmodified copies of small zones from
 * /work/shared/testdata: zonemd/NN-* (wessels/zonemd-test-cases, BSD-2-Clause,
 * Copyright 2021 Verisign, Inc.), the RFC 8976 Appendix A examples and the
 * RFC 4035 Appendix A excerpt (see testdata/SOURCES.md).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 4035 Appendix A, ZSK 38519 of "example." (RSA/SHA-1). */
static const char anchor_text[] =
	"example. 3600 IN DNSKEY 256 3 5 "
	"AQOy1bZVvpPqhg4j7EJoM9rI3ZmyEx2OzDBVrZy/lvI5CQePxXHZS4i8dANH4DX3tbHol61ek8EFMcsG"
	"XxKciJFHyhl94C+NwILQdzsUlSFovBZsyl/NX6yEbtw/xN9ZNcrbYvgjjZ/UVPZIySFNsgEYvh0z2542"
	"lzMKR4Dh8uZffQ==";

static const int64_t pinned_now = 1082419200; /* 2004-04-20T00:00:00Z */

static uint64_t fixed_mono(void *ctx)
{
	(void)ctx;
	return 1000;
}

static int64_t fixed_wall(void *ctx)
{
	(void)ctx;
	return pinned_now;
}

static struct ost_timer *no_timer(void *ctx, uint64_t ms, ost_timer_cb cb, void *arg)
{
	(void)ctx;
	(void)ms;
	(void)cb;
	(void)arg;
	abort(); /* verification never waits */
}

static void no_stop(void *ctx, struct ost_timer *t)
{
	(void)ctx;
	(void)t;
	abort();
}

static const struct ost_clock_ops fixed_ops = {.mono_ms = fixed_mono,
					       .wall_s = fixed_wall,
					       .timer_start = no_timer,
					       .timer_stop = no_stop};
static const struct ost_clock fixed_clock = {.ops = &fixed_ops, .ctx = NULL};

static ldns_rr_list *anchors;

static void check_verdict(const struct ost_zone_verify_result *res, int ret)
{
	if (res->verdict >= OST_ZV_COUNT)
		abort();
	if ((ret == 0) != (res->verdict == OST_ZV_OK))
		abort();
	if (ret != 0 && res->reason[0] == '\0')
		abort(); /* a refusal must say why */
	if (memchr(res->reason, '\0', sizeof(res->reason)) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!anchors) {
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, anchor_text, 3600, NULL, NULL) != LDNS_STATUS_OK)
			abort();
		anchors = ldns_rr_list_new();
		if (!anchors || !ldns_rr_list_push_rr(anchors, rr))
			abort();
	}
	struct ost_zone_policy pol = {
		.zonemd = OST_ZONEMD_CHECK_IF_PRESENT, .max_bytes = 1 << 20, .max_records = 4096};
	struct ost_zone_data *z = NULL;
	struct ost_zone_verify_result res;
	memset(&res, 0, sizeof(res));
	int ret = ost_zone_parse_text("example.", (const char *)data, size, &pol, &z, &res);
	if (ret != 0) {
		if (z || res.reason[0] == '\0')
			abort();
		if (res.verdict != OST_ZV_PARSE_ERROR && res.verdict != OST_ZV_TOO_LARGE)
			abort();
		return 0;
	}
	if (!z)
		abort();
	struct ost_zone_verify_ctx ctx = {.clock = &fixed_clock, .anchors = NULL};
	memset(&res, 0, sizeof(res));
	check_verdict(&res, ost_zone_verify(z, &ctx, &pol, &res));

	ctx.anchors = anchors;
	ctx.has_prev_serial = true;
	ctx.prev_serial = 1081539377; /* the RFC 4035 example's SOA serial */
	memset(&res, 0, sizeof(res));
	check_verdict(&res, ost_zone_verify(z, &ctx, &pol, &res));
	ost_zone_data_free(z);
	return 0;
}
