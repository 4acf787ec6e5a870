/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The fields of the statistics line (`ostrovctl stats`, SIGUSR1, the
 * periodic debug line) in their order: every worker counter, the resolver's
 * and the cache's, as "key=value" pairs (ost_stat_fields(), engine.h). A
 * table of its own so that engine.c, the answering path, stays about the
 * answering path; /metrics has its own families (metrics.c).
 */
#include <string.h>

#include "engine.h"

void ost_stat_fields(const struct ost_worker_counters *c, const struct ost_cache_stats *cs,
		     struct ost_stat_field *f)
{
	const struct ost_resolver_stats *rs = &c->rs;
	const struct ost_stat_field v[OST_STAT_FIELDS] = {
		{"udp_queries", c->udp_queries},
		{"tcp_queries", c->tcp_queries},
		{"hits", c->hits},
		{"misses", c->misses},
		{"answered", c->answered},
		{"inflight", c->inflight},
		{"cancelled", c->cancelled},
		{"overload", c->overload},
		{"norec_refused", c->norec},
		{"local_fail", c->local_fail},
		{"isolated_servfail", c->isolated_servfail},
		{"hit_rejected", c->hit_rejected},
		{"send_failed", c->send_failed},
		{"udp_wakeups", c->udp_wakeups},
		{"udp_recv_calls", c->udp_recv_calls},
		{"udp_datagrams", c->udp_datagrams},
		{"udp_batch_1", c->udp_batch[0]},
		{"udp_batch_2_4", c->udp_batch[1]},
		{"udp_batch_5_16", c->udp_batch[2]},
		{"udp_batch_17_64", c->udp_batch[3]},
		{"udp_send_calls", c->udp_send_calls},
		{"udp_coalesced", c->udp_coalesced},
		{"udp_gso_sends", c->udp_gso_sends},
		{"udp_gso_dgrams", c->udp_gso_dgrams},
		{"requests", rs->requests},
		{"coalesced", rs->coalesced},
		{"subrequests", rs->subrequests},
		{"queries_sent", rs->queries_sent},
		{"queries_tcp", rs->queries_tcp},
		{"timeouts", rs->timeouts},
		{"net_errors", rs->net_errors},
		{"lame", rs->lame},
		{"servfail", rs->servfail},
		{"cache_answers", rs->cache_answers},
		{"stale_answers", rs->stale_answers},
		{"cache_errors", rs->cache_errors},
		{"limit_hits", rs->limit_hits},
		{"policy_blocked", rs->policy_blocked},
		{"cache_entries", cs->entries},
		{"cache_bytes_used", cs->bytes_used},
		{"cache_bytes_max", cs->bytes_max},
		{"cache_hits", cs->hits},
		{"cache_misses", cs->misses},
		{"cache_inserts", cs->inserts},
		{"cache_evictions", cs->evictions},
		{"cache_commits", cs->commits},
		{"cache_write_dropped", cs->write_dropped},
		{"cache_decode_errors", cs->decode_errors},
		{"cache_front_hits", cs->front_hits},
		{"dropped", c->dropped},
		{"format_errors", c->errors},
		{"acl_denied", c->acl_denied},
		{"tcp_refused", c->tcp_refused},
		{"aggressive_nsec", rs->aggressive_nsec},
		{"mirror_answers", rs->mirror_answers},
		{"mirror_fast_answers", rs->mirror_fast},
		{"prefetch_started", rs->prefetch_started},
		{"prefetch_skipped", rs->prefetch_skipped},
		{"prefetch_failed", rs->prefetch_failed},
	};
	memcpy(f, v, sizeof(v));
}
