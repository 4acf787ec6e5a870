/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Prefetch: refreshing a cached answer that clients still ask for before it
 * expires, so that hot names never miss (Unbound's `prefetch: yes`, Knot
 * Resolver's cache/prefetch/expiring, PowerDNS Recursor's
 * refresh-on-ttl-perc). For a national resolver it also keeps the cache as
 * fresh as it can be on the day the country is cut off.
 *
 * The server's hit path answers from an OST_CTAG_MSG entry without the
 * engine; after sending, ost_prefetch_due() (inline, one comparison) tells it
 * whether the entry is in the last tenth of its TTL, and only then does it
 * call ost_resolver_prefetch_hit() here. That decides whether the entry is
 * one the engine refreshes and whether a refresh of it was started
 * recently, and starts one with ost_resolver_prefetch() (request.c): a
 * top-level task without waiters that skips the cache's answer, iterates
 * from the closest cached cut (or answers from the zone mirror) and stores
 * the new answer as any resolution does. The serve-stale refresh
 * (stale.c) is the same kind of task; a prefetch is one started while the
 * answer is still fresh.
 *
 * A hot name is hit thousands of times in its last tenth, on every worker.
 * Each resolver keeps a fixed table (OST_PF_SLOTS slots, allocated once,
 * direct-mapped by a hash of the question and flags) of the last prefetch
 * started per slot and the version of the entry it refreshes (the entry's
 * expires_at): further hits of that version start nothing for
 * cfg.stale_recheck_s seconds, a failed refresh is retried after that, and
 * a refreshed entry (a new expires_at) is a new version. Two questions in
 * one slot only cost a second prefetch: an identical one still in flight
 * is joined (ost_resolver_prefetch() returns -EALREADY).
 *
 * Example: "www.example.ru. A" was stored at 12:00:00 with TTL 300. A hit at
 * 12:04:31 (29 s left, at most 30) calls ost_resolver_prefetch_hit(): the
 * slot holds nothing for it, so the time and the version are written and a
 * prefetch is started, which asks example.ru.'s servers; the 500 hits until
 * its answer is committed find the slot and start nothing. At 12:04:31.040
 * the answer arrives with TTL 300 and replaces the entry; the next hit is
 * served with TTL 300 and is not due until 12:09:01.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include <ldns/ldns.h>

#include "internal.h"

int ost_pf_init(struct ost_resolver *r)
{
	r->pf = calloc(OST_PF_SLOTS, sizeof(*r->pf));
	return r->pf ? 0 : -ENOMEM;
}

void ost_pf_deinit(struct ost_resolver *r)
{
	free(r->pf);
	r->pf = NULL;
}

/*
 * FNV-1a of the name (case folded: clients spell names as they like), type,
 * class and flags; never 0, which marks an unused slot. @return 0 when the
 * name is not a well-formed uncompressed wire name of at most 255 octets
 */
static uint32_t question_hash(const uint8_t *name, uint16_t qtype, uint16_t qclass, unsigned flags)
{
	uint32_t h = 2166136261u;
	size_t i = 0;
	/* The final zero label sits at most at offset 254 (RFC 1035 §3.1). */
	while (name[i] != 0) {
		size_t len = name[i];
		if ((len & 0xc0) || i + 1 + len > LDNS_MAX_DOMAINLEN - 1)
			return 0;
		for (size_t end = i + 1 + len; i < end; i++)
			h = (h ^ (uint8_t)tolower(name[i])) * 16777619u;
	}
	uint32_t extra[3] = {qtype, qclass, flags};
	for (int k = 0; k < 3; k++)
		h = (h ^ extra[k]) * 16777619u;
	return h ? h : 1;
}

int ost_resolver_prefetch_hit(struct ost_resolver *r, const struct ost_cache_entry *e,
			      const uint8_t *qname_wire, uint16_t qtype, uint16_t qclass,
			      bool is_do, int64_t now_wall)
{
	if (!r || !e || !qname_wire)
		return -EINVAL;
	/*
	 * Only answers the engine makes and may make again: a zone mirror
	 * answer is made from the mirror whenever asked (and expires with the
	 * copy's use, not a TTL); a bogus one is kept briefly on purpose; an
	 * expired one is serve-stale's. Below OST_PREFETCH_MIN_TTL the last
	 * tenth is under a second (ost_prefetch_due() is never true for such a
	 * fresh entry, in whole seconds; the floor is checked in words too).
	 */
	if (e->tag != OST_CTAG_MSG || e->rank == OST_RANK_MIRROR || e->sec == OST_SEC_BOGUS ||
	    e->ttl < OST_PREFETCH_MIN_TTL || e->expires_at <= now_wall ||
	    !ost_prefetch_due(e, now_wall))
		return -ENOENT;
	/* What the entry serves: an entry stored unvalidated for CD=1 clients
	 * is refreshed the same way, a validated one with validation. */
	unsigned flags = OST_RF_RD | (is_do ? OST_RF_DO : 0) |
			 ((e->flags & OST_MSG_F_UNVALIDATED) ? OST_RF_CD : 0);
	/* Checked before the table, which then still says "not started". */
	if (r->n_prefetch >= OST_PREFETCH_MAX_INFLIGHT) {
		r->stats.prefetch_skipped++;
		return -EBUSY;
	}
	uint32_t h = question_hash(qname_wire, qtype, qclass, flags);
	if (h == 0)
		return -EINVAL;
	struct ost_pf_slot *s = &r->pf[h & (OST_PF_SLOTS - 1)];
	uint32_t recheck = r->cfg.stale_recheck_s ? r->cfg.stale_recheck_s : 1;
	if (s->hash == h && s->version == e->expires_at && now_wall >= s->started_at &&
	    now_wall - s->started_at < (int64_t)recheck) {
		r->stats.prefetch_skipped++;
		return -EALREADY;
	}
	s->hash = h;
	s->version = e->expires_at;
	s->started_at = now_wall;
	return ost_resolver_prefetch(r, qname_wire, qtype, qclass, flags);
}
