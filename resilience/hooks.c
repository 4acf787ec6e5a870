/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The failover machine seen through the engine's policy hooks
 * (struct ost_resolver_policy in resolver.h): which upstream addresses may be
 * asked, how stale an answer may be, and whether stale data goes out at once.
 * standards.md §7.2 ISOLATED: "Outbound to foreign authorities: probes only
 * plus 1 refresh per name per failure-recheck interval"; the per-name part is
 * the engine's failure cache, the global cap is the recheck token bucket.
 */
#include <ldns/ldns.h>

#include "ostrov/drill.h"
#include "ostrov/resolver.h"

static bool hook_may_query(void *ctx, const struct sockaddr *addr)
{
	struct ost_fo_resolver_hooks *h = ctx;
	struct ost_fo_policy pol;
	ost_fo_policy(h->fo, OST_FO_NAME_FOREIGN, NULL, &pol);
	if (pol.may_query_foreign)
		return true;
	enum ost_dest_class c = ost_dest_map_classify(h->map, addr);
	if (c == OST_DEST_NATIONAL || c == OST_DEST_MIRROR_SOURCE)
		return true;
	return ost_fo_recheck_allow(h->fo);
}

static uint32_t hook_max_stale_s(void *ctx)
{
	struct ost_fo_resolver_hooks *h = ctx;
	struct ost_fo_policy pol;
	ost_fo_policy(h->fo, OST_FO_NAME_FOREIGN, NULL, &pol);
	return pol.stale_max_age_s;
}

/*
 * standards.md §7.2 (failure F3): while isolated, foreign names go stale at
 * once (nobody can refresh them), but national names are still answered by
 * national servers, so they get the normal client response timer and a
 * fresh answer rather than a stale one with EDE 3.
 */
static bool hook_stale_immediately(void *ctx, const uint8_t *qname, uint16_t qtype)
{
	struct ost_fo_resolver_hooks *h = ctx;
	struct ost_fo_policy pol;
	enum ost_fo_name_class nc = OST_FO_NAME_FOREIGN;
	(void)qtype;
	if (h->name_class && qname) {
		size_t len = 0;
		while (len < 255 && qname[len] != 0)
			len += (size_t)qname[len] + 1;
		if (len < 255)
			nc = h->name_class(h->name_class_ctx, qname, len + 1);
	}
	ost_fo_policy(h->fo, nc, NULL, &pol);
	return pol.serve_stale_immediately;
}

/*
 * standards.md §7.2 MIRROR-EXPIRED: a mirror past its SOA expire deadline is
 * withdrawn unless the operator extended it (`ostrovctl mirror extend`), and
 * never used past its RRSIG horizon less the margin. The machine tracks the
 * horizons it was fed (every few seconds); a mirror it does not know yet is
 * left to the engine's own rule.
 */
static int hook_mirror_use(void *ctx, const char *zone)
{
	struct ost_fo_resolver_hooks *h = ctx;
	struct ost_fo_policy pol;
	ost_fo_policy(h->fo, OST_FO_NAME_NATIONAL, zone, &pol);
	switch (pol.mirror) {
	case OST_FO_MIRROR_USE:
		return OST_MIRROR_USABLE;
	case OST_FO_MIRROR_EXTENDED:
		return OST_MIRROR_EXTENDED;
	case OST_FO_MIRROR_WITHDRAWN:
		return OST_MIRROR_WITHDRAWN;
	case OST_FO_MIRROR_UNKNOWN:
		break;
	}
	return OST_MIRROR_NO_OPINION;
}

void ost_fo_resolver_hooks_init(struct ost_fo_resolver_hooks *h, struct ost_fo *fo,
				const struct ost_dest_map *map, struct ost_resolver_policy *out)
{
	h->fo = fo;
	h->map = map;
	h->name_class = NULL;
	h->name_class_ctx = NULL;
	*out = (struct ost_resolver_policy){
		.ctx = h,
		.may_query = hook_may_query,
		.max_stale_s = hook_max_stale_s,
		.stale_immediately = hook_stale_immediately,
		.mirror_use = hook_mirror_use,
	};
}
