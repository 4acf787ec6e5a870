/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Serve-stale (RFC 8767) and failure-cache (RFC 9520) policy helpers: pure
 * functions the resolver calls with a cache entry's expiry, the clock and the
 * failover policy's limits, so the rules live in one tested place.
 */
#include <errno.h>

#include "ostrov/failover.h"

/*
 * ---------------------------------------------------------------------------
 * Serve-stale and failure-cache helpers (pure)
 * ---------------------------------------------------------------------------
 */

/*
 * RFC 8767 §4: a stale record goes out with TTL 30 (never 0), and §5 bounds
 * how long past expiry it may be used. RFC 8914: EDE 3 marks a stale answer,
 * 19 a stale NXDOMAIN.
 */
void ost_stale_decide(int64_t expires_at, int64_t now, uint32_t stale_max_age_s, bool is_nxdomain,
		      struct ost_stale_decision *out)
{
	*out = (struct ost_stale_decision){0};
	if (now < expires_at) {
		int64_t left = expires_at - now;
		out->verdict = OST_STALE_FRESH;
		out->ttl = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
		return;
	}
	int64_t age = now - expires_at;
	if (age <= (int64_t)stale_max_age_s) {
		out->verdict = OST_STALE_SERVE;
		out->ttl = OST_STALE_ANSWER_TTL;
		out->ede = is_nxdomain ? 19 : 3;
		out->stale_age_s = (uint32_t)age;
		return;
	}
	out->verdict = OST_STALE_REFUSE;
	out->stale_age_s = age > UINT32_MAX ? UINT32_MAX : (uint32_t)age;
}

/* RFC 9520 §3.2: at least 1 s, at most 5 min, backing off for persistent failures. */
uint32_t ost_failcache_ttl(unsigned consecutive)
{
	if (consecutive <= 1)
		return OST_FAILCACHE_MIN_S;
	if (consecutive > 10)
		return OST_FAILCACHE_MAX_S;
	uint32_t ttl = OST_FAILCACHE_MIN_S << (consecutive - 1);
	return ttl > OST_FAILCACHE_MAX_S ? OST_FAILCACHE_MAX_S : ttl;
}

uint16_t ost_failure_ede(int last_status)
{
	if (last_status == 0 || last_status == -ETIMEDOUT)
		return 22;
	return 23;
}

/*
 * RFC 8767 §5 and RFC 9520: in isolation the answer for an unknown foreign
 * name is known in advance (nobody can be reached), so waiting for timeouts
 * would only add latency and load; SERVFAIL + EDE 22 goes out at once and is
 * cached. NXDOMAIN is never an option: absence cannot be proven from here
 * (standards.md §6 F3).
 */
void ost_fo_uncached(const struct ost_fo_policy *pol, unsigned consecutive, bool recheck_allowed,
		     struct ost_uncached_decision *out)
{
	*out = (struct ost_uncached_decision){.is_resolve = true};
	if (!pol->servfail_unknown_at_once)
		return;
	out->is_resolve = recheck_allowed;
	out->is_servfail_now = true;
	out->ede = 22;
	out->cache_ttl_s = ost_failcache_ttl(consecutive + 1);
}
