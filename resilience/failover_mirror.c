/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The failover machine's view of the mirrored zones (standards.md §7.2): each
 * copy's SOA expire deadline and RRSIG horizon as the zones module reports
 * them, the operator's extensions past the deadline, and from these whether a
 * copy may still be used and whether ISOLATED must become MIRROR-EXPIRED.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "failover_internal.h"

struct ost_fo_mirror *fo_mirror_find(struct ost_fo *fo, const char *zone)
{
	for (unsigned i = 0; i < fo->n_mirrors; i++)
		if (strcasecmp(fo->mirrors[i].zone, zone) == 0)
			return &fo->mirrors[i];
	return NULL;
}

int ost_fo_feed_mirror(struct ost_fo *fo, const char *zone, uint32_t serial,
		       int64_t soa_expire_deadline, int64_t rrsig_horizon, bool is_verified)
{
	if (!zone || !*zone || strlen(zone) >= sizeof(fo->mirrors[0].zone))
		return -EINVAL;
	int rc = 0;
	pthread_mutex_lock(&fo->lock);
	struct ost_fo_mirror *m = fo_mirror_find(fo, zone);
	if (!m) {
		if (fo->n_mirrors == OST_FO_MAX_MIRRORS) {
			rc = -ENOSPC;
			goto out;
		}
		m = &fo->mirrors[fo->n_mirrors++];
		*m = (struct ost_fo_mirror){0};
		snprintf(m->zone, sizeof(m->zone), "%s", zone);
	} else if (m->serial != serial) {
		/* An extension was granted for one copy; a new copy has its own horizons. */
		m->extended_until = 0;
	}
	m->serial = serial;
	m->soa_expire_deadline = soa_expire_deadline;
	m->rrsig_horizon = rrsig_horizon;
	m->is_verified = is_verified;
out:
	pthread_mutex_unlock(&fo->lock);
	return rc;
}

/*
 * RFC 8806 §3: past the SOA expire deadline the local copy must not be used.
 * An operator extension may go beyond it, but never past the RRSIG horizon
 * less the margin: signatures that are about to expire make the mirror's
 * referrals unverifiable, and only an explicit NTA decision can change that.
 */
enum ost_fo_mirror_use fo_mirror_use(const struct ost_fo *fo, const struct ost_fo_mirror *m,
				     int64_t now)
{
	if (!m->is_verified)
		return OST_FO_MIRROR_WITHDRAWN;
	if (now >= m->rrsig_horizon - (int64_t)fo->cfg.rrsig_margin_s)
		return OST_FO_MIRROR_WITHDRAWN;
	if (now < m->soa_expire_deadline)
		return OST_FO_MIRROR_USE;
	if (m->extended_until > now)
		return OST_FO_MIRROR_EXTENDED;
	return OST_FO_MIRROR_WITHDRAWN;
}

/* A verified mirror past its deadline or horizon, extended or not (standards.md §7.2). */
bool fo_is_mirror_expired(const struct ost_fo *fo, int64_t now)
{
	for (unsigned i = 0; i < fo->n_mirrors; i++) {
		const struct ost_fo_mirror *m = &fo->mirrors[i];
		if (!m->is_verified)
			continue;
		if (now >= m->soa_expire_deadline ||
		    now >= m->rrsig_horizon - (int64_t)fo->cfg.rrsig_margin_s)
			return true;
	}
	return false;
}

int ost_fo_extend_mirror(struct ost_fo *fo, const char *zone, uint32_t duration_s,
			 const char *operator_name, int64_t *until)
{
	if (!zone || duration_s == 0)
		return -EINVAL;
	int rc = 0;
	pthread_mutex_lock(&fo->lock);
	/* Under the lock: a reload may change the limit (ost_fo_set_config()). */
	if (duration_s > fo->cfg.max_extend_s) {
		pthread_mutex_unlock(&fo->lock);
		return -EINVAL;
	}
	struct ost_fo_mirror *m = fo_mirror_find(fo, zone);
	int64_t now = ost_clock_wall_s(fo->clock);
	if (!m) {
		rc = -ENOENT;
		goto out;
	}
	if (!m->is_verified) {
		rc = -EPERM;
		goto out;
	}
	int64_t limit = m->rrsig_horizon - (int64_t)fo->cfg.rrsig_margin_s;
	if (limit <= now) {
		rc = OST_ELIMIT;
		goto out;
	}
	int64_t end = now + (int64_t)duration_s;
	if (end > limit)
		end = limit;
	m->extended_until = end;
	if (until)
		*until = end;

	fo_log_extend(fo, m, now, end, duration_s, operator_name);
out:
	pthread_mutex_unlock(&fo->lock);
	return rc;
}
