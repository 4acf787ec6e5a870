/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Prometheus endpoint (metrics.h): the exposition writer, which renders
 * the daemon's snapshot, the failover machine's status, the drill's numbers
 * and the mirror zones as families of the text format 0.0.4, and the small
 * HTTP/1.x server on the main loop that hands it to scrapers.
 *
 * It reads the modules' public snapshots (ost_fo_status, ost_drill_report_get,
 * ost_mirror_zone_status_at) and writes every family once, whole (the text
 * format wants all lines of a family together), each with its HELP and TYPE.
 *
 * The server is deliberately small and strict, since its port is reachable
 * by whoever metrics-allow admits: an allow-list checked before a byte is
 * read, at most MAX_CONNS connections, a request head of at most 8 KiB that
 * must arrive within READ_TIMEOUT_MS (a total deadline, not an idle one, so
 * a byte a second cannot hold a slot), one response per connection and then
 * close (after the client's FIN or the deadline, so the response is not cut
 * by a reset).
 */
#include "metrics.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ostrov/log.h"

#include "metrics_http.h"
#include "worker.h"

#define P "ostrov_"

/* ---- the exposition writer ---------------------------------------------------------- */

static void family(struct ost_buf *b, const char *name, const char *type, const char *help)
{
	ost_buf_printf(b, "# HELP " P "%s %s\n# TYPE " P "%s %s\n", name, help, name, type);
}

/* One sample with one label whose value needs no escaping. */
static void sample1(struct ost_buf *b, const char *name, const char *label, const char *value,
		    uint64_t v)
{
	ost_buf_printf(b, P "%s{%s=\"%s\"} %llu\n", name, label, value, (unsigned long long)v);
}

/* Text format: a label value escapes backslash, double quote and line feed. */
static const char *esc(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (; *in && o + 3 < cap; in++) {
		char c = *in;
		if (c == '\\' || c == '"' || c == '\n') {
			out[o++] = '\\';
			c = c == '\n' ? 'n' : c;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

/* One counter or gauge of the snapshot without labels. */
struct scalar {
	const char *name;
	const char *type;
	const char *help;
	size_t off; /* of a uint64_t in struct ost_server_snapshot */
};

#define SUM(f) offsetof(struct ost_server_snapshot, sum.f)
#define RS(f)  offsetof(struct ost_server_snapshot, sum.rs.f)
#define CS(f)  offsetof(struct ost_server_snapshot, cache.f)

static const struct scalar daemon_scalars[] = {
	{"fastpath_hits_total", "counter", "Queries answered from the cache by the fast path.",
	 SUM(hits)},
	{"fastpath_misses_total", "counter", "Queries handed to the resolution engine.",
	 SUM(misses)},
	{"fastpath_rejected_total", "counter",
	 "Cached answers found but left to the engine (expired, unvalidated for CD=0 ...).",
	 SUM(hit_rejected)},
	{"inflight_requests", "gauge", "Client requests waiting for the engine.", SUM(inflight)},
	{"overload_dropped_total", "counter",
	 "Cache misses dropped unanswered: too many requests in flight.", SUM(overload)},
	{"cancelled_total", "counter", "Client requests cancelled (shutdown, TCP client gone).",
	 SUM(cancelled)},
	{"norec_refused_total", "counter", "RD=0 queries answered REFUSED.", SUM(norec)},
	{"local_fail_total", "counter", "Queries answered SERVFAIL without the engine.",
	 SUM(local_fail)},
	{"isolated_servfail_total", "counter",
	 "Unknown foreign names answered SERVFAIL with EDE 22 at once while isolated.",
	 SUM(isolated_servfail)},
	{"send_failed_total", "counter", "Replies that could not be sent.", SUM(send_failed)},
	{"dropped_total", "counter",
	 "Packets dropped unanswered (short, responses, denied clients under deny-action drop).",
	 SUM(dropped)},
	{"format_errors_total", "counter", "Queries answered FORMERR, NOTIMP or BADVERS.",
	 SUM(errors)},
	{"acl_denied_total", "counter", "Packets or connections from clients outside access.allow.",
	 SUM(acl_denied)},
	{"tcp_refused_total", "counter", "TCP connections refused over tcp-max-connections.",
	 SUM(tcp_refused)},
	{"resolver_requests_total", "counter", "Requests started in the resolution engine.",
	 RS(requests)},
	{"resolver_coalesced_total", "counter",
	 "Requests attached to an identical request in flight.", RS(coalesced)},
	{"resolver_subrequests_total", "counter", "Sub-requests started (name server addresses).",
	 RS(subrequests)},
	{"resolver_servfail_total", "counter", "Engine requests answered SERVFAIL.", RS(servfail)},
	{"resolver_limit_hits_total", "counter", "Engine requests ended by a hard limit.",
	 RS(limit_hits)},
	{"resolver_cache_answers_total", "counter",
	 "Engine requests answered from cached records without asking anyone.", RS(cache_answers)},
	{"stale_answers_total", "counter", "Engine answers served from expired data (RFC 8767).",
	 RS(stale_answers)},
	{"stale_refreshes_total", "counter", "Background refreshes that replaced stale data.",
	 RS(stale_refreshes)},
	{"stale_infra_total", "counter",
	 "Expired delegations, DS or DNSKEY used because their refresh failed.", RS(stale_infra)},
	{"prefetch_started_total", "counter",
	 "Background refreshes of cached answers hit in the last tenth of their TTL.",
	 RS(prefetch_started)},
	{"prefetch_skipped_total", "counter",
	 "Prefetches due but not started: one for the same answer was started recently or is "
	 "in flight, or too many are in flight.",
	 RS(prefetch_skipped)},
	{"prefetch_failed_total", "counter",
	 "Prefetches that got no new answer (the cached one is served until it expires).",
	 RS(prefetch_failed)},
	{"aggressive_nsec_total", "counter",
	 "Negative answers synthesised from validated NSEC records (RFC 8198).",
	 RS(aggressive_nsec)},
	{"mirror_answers_total", "counter",
	 "Engine replies built from a verified zone mirror instead of asking (RFC 8806).",
	 RS(mirror_answers)},
	{"mirror_fast_answers_total", "counter",
	 "Final answers made straight from a verified zone mirror by the worker, without the "
	 "engine.",
	 RS(mirror_fast)},
	{"upstream_timeouts_total", "counter", "Upstream queries that timed out.", RS(timeouts)},
	{"upstream_lame_total", "counter", "Upstream answers rejected as lame.", RS(lame)},
	{"resolver_cache_errors_total", "counter",
	 "Cache reads or writes of the engine that failed.", RS(cache_errors)},
};

static const struct scalar cache_scalars[] = {
	{"cache_entries", "gauge", "Entries stored in the cache.", CS(entries)},
	{"cache_bytes_used", "gauge", "Bytes of the cache map in use.", CS(bytes_used)},
	{"cache_bytes_max", "gauge", "Size of the cache map.", CS(bytes_max)},
	{"cache_inserts_total", "counter", "Cache entries written.", CS(inserts)},
	{"cache_evictions_total", "counter", "Cache entries removed to make room.", CS(evictions)},
	{"cache_commits_total", "counter", "Cache write transactions committed.", CS(commits)},
	{"cache_write_dropped_total", "counter",
	 "Cache entries not written (map full, writer behind).", CS(write_dropped)},
	{"cache_decode_errors_total", "counter",
	 "Cache entries dropped because they did not decode.", CS(decode_errors)},
	{"cache_front_hits_total", "counter",
	 "Cache hits served from a worker's front table, without an LMDB lookup.", CS(front_hits)},
	{"cache_damaged", "gauge", "1 once the cache file was found damaged and set aside.",
	 CS(damaged)},
};

static void write_scalars(struct ost_buf *b, const struct ost_server_snapshot *s,
			  const struct scalar *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v;
		memcpy(&v, (const char *)s + t[i].off, sizeof(v));
		family(b, t[i].name, t[i].type, t[i].help);
		ost_buf_printf(b, P "%s %llu\n", t[i].name, (unsigned long long)v);
	}
}

static const char *const rcode_names[OST_RCODE_SLOTS] = {
	"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE", NULL,
	NULL,       NULL,      NULL,       NULL,       "BADVERS",
};

static const char *const sec_names[OST_SEC_COUNT] = {"unchecked", "insecure", "secure", "bogus",
						     "indeterminate"};

static void write_answers(struct ost_buf *b, const struct ost_server_snapshot *s)
{
	const struct ost_worker_counters *c = &s->sum;
	family(b, "workers", "gauge", "Worker threads answering queries.");
	ost_buf_printf(b, P "workers %u\n", s->n_workers);

	family(b, "queries_total", "counter", "Well-formed queries received, by transport.");
	sample1(b, "queries_total", "transport", "udp", c->udp_queries);
	sample1(b, "queries_total", "transport", "tcp", c->tcp_queries);

	family(b, "responses_total", "counter", "Replies sent, by rcode.");
	for (int r = 0; r < OST_RCODE_SLOTS; r++) {
		if (rcode_names[r])
			sample1(b, "responses_total", "rcode", rcode_names[r], c->rcode[r]);
		else if (c->rcode[r])
			ost_buf_printf(b, P "responses_total{rcode=\"RCODE%d\"} %llu\n", r,
				       (unsigned long long)c->rcode[r]);
	}

	family(b, "answers_total", "counter",
	       "Answers of the answering path (cache hits, engine results, isolation SERVFAILs) "
	       "by source.");
	for (int k = 0; k < OST_DRILL_SRC_COUNT; k++)
		sample1(b, "answers_total", "source",
			ost_drill_source_str((enum ost_drill_source)k), c->by_source[k]);

	family(b, "validation_total", "counter",
	       "Answers of the answering path by DNSSEC status of their data.");
	for (int k = 0; k < OST_SEC_COUNT; k++)
		sample1(b, "validation_total", "result", sec_names[k], c->sec[k]);

	family(b, "ede_total", "counter",
	       "Replies sent with an Extended DNS Error option (RFC 8914), by INFO-CODE.");
	for (int e = 0; e < OST_EDE_SLOTS; e++) {
		if (!c->ede[e])
			continue;
		if (e == OST_EDE_SLOTS - 1)
			sample1(b, "ede_total", "code", "other", c->ede[e]);
		else
			ost_buf_printf(b, P "ede_total{code=\"%d\"} %llu\n", e,
				       (unsigned long long)c->ede[e]);
	}

	family(b, "client_latency_seconds", "histogram",
	       "Time from a query's arrival (the read of its batch) to its reply being sent, "
	       "by answer source.");
	for (int k = 0; k < OST_DRILL_SRC_COUNT; k++) {
		const char *src = ost_drill_source_str((enum ost_drill_source)k);
		uint64_t cum = 0;
		for (int i = 0; i <= OST_LAT_BUCKETS; i++) {
			cum += c->latency[k][i];
			if (i < OST_LAT_BUCKETS)
				ost_buf_printf(b,
					       P "client_latency_seconds_bucket{source=\"%s\","
						 "le=\"%g\"} %llu\n",
					       src, ost_latency_bounds_ns[i] / 1e9,
					       (unsigned long long)cum);
			else
				ost_buf_printf(b,
					       P "client_latency_seconds_bucket{source=\"%s\","
						 "le=\"+Inf\"} %llu\n",
					       src, (unsigned long long)cum);
		}
		ost_buf_printf(b, P "client_latency_seconds_sum{source=\"%s\"} %.9f\n", src,
			       c->latency_sum_ns[k] / 1e9);
		sample1(b, "client_latency_seconds_count", "source", src, cum);
	}

	const struct ost_resolver_stats *rs = &c->rs;
	family(b, "upstream_queries_total", "counter",
	       "Queries sent to authorities, by transport.");
	sample1(b, "upstream_queries_total", "transport", "udp",
		(rs->queries_sent - rs->queries_tcp));
	sample1(b, "upstream_queries_total", "transport", "tcp", rs->queries_tcp);
	family(b, "upstream_errors_total", "counter",
	       "Upstream queries failed by the network (refused, unreachable).");
	ost_buf_printf(b, P "upstream_errors_total %llu\n", (unsigned long long)rs->net_errors);
	family(b, "upstream_skipped_total", "counter",
	       "Upstream addresses not queried, by reason (upstream-allow, failover policy).");
	sample1(b, "upstream_skipped_total", "reason", "not_allowed", rs->not_allowed);
	sample1(b, "upstream_skipped_total", "reason", "policy", rs->policy_blocked);
	family(b, "upstream_ignored_total", "counter",
	       "Upstream packets or records ignored, by reason.");
	sample1(b, "upstream_ignored_total", "reason", "wrong_id", rs->drop_wrong_id);
	sample1(b, "upstream_ignored_total", "reason", "wrong_question", rs->drop_wrong_qname);
	sample1(b, "upstream_ignored_total", "reason", "malformed", rs->drop_malformed);
	sample1(b, "upstream_ignored_total", "reason", "out_of_bailiwick", rs->drop_bailiwick);
	family(b, "resolver_fallbacks_total", "counter",
	       "Resolution fallbacks, by kind (EDNS off, TCP after TC=1, QNAME minimisation off).");
	sample1(b, "resolver_fallbacks_total", "kind", "edns", rs->edns_fallback);
	sample1(b, "resolver_fallbacks_total", "kind", "tcp", rs->tc_fallback);
	sample1(b, "resolver_fallbacks_total", "kind", "qname_minimisation", rs->qmin_fallback);
}

static void write_cache(struct ost_buf *b, const struct ost_server_snapshot *s)
{
	if (!s->has_cache)
		return;
	family(b, "cache_lookups_total", "counter", "Cache lookups, by result.");
	sample1(b, "cache_lookups_total", "result", "hit", s->cache.hits);
	sample1(b, "cache_lookups_total", "result", "miss", s->cache.misses);
	write_scalars(b, s, cache_scalars, sizeof(cache_scalars) / sizeof(cache_scalars[0]));
}

static void write_failover(struct ost_buf *b, struct ost_fo *fo)
{
	struct ost_fo_status *st = malloc(sizeof(*st));
	if (!st) {
		b->has_oom = true;
		return;
	}
	ost_fo_status(fo, st);
	family(b, "resolver_state", "gauge",
	       "Failover state (standards.md 7.2): 1 for the current state, 0 for the others.");
	for (int s = 0; s < OST_FO_STATE_COUNT; s++)
		ost_buf_printf(b, P "resolver_state{state=\"%s\"} %d\n",
			       ost_fo_state_str((enum ost_fo_state)s), s == (int)st->state);
	family(b, "resolver_state_transitions_total", "counter",
	       "Failover state transitions, by edge.");
	for (int f = 0; f < OST_FO_STATE_COUNT; f++)
		for (int t = 0; t < OST_FO_STATE_COUNT; t++)
			if (f != t)
				ost_buf_printf(
					b,
					P "resolver_state_transitions_total{from=\"%s\",to=\"%s\"} "
					  "%llu\n",
					ost_fo_state_str((enum ost_fo_state)f),
					ost_fo_state_str((enum ost_fo_state)t),
					(unsigned long long)st->transitions[f][t]);
	family(b, "resolver_state_seconds", "counter", "Time spent in each failover state.");
	for (int s = 0; s < OST_FO_STATE_COUNT; s++)
		ost_buf_printf(b, P "resolver_state_seconds{state=\"%s\"} %.3f\n",
			       ost_fo_state_str((enum ost_fo_state)s), st->state_ms[s] / 1000.0);
	family(b, "resolver_forced_isolation", "gauge",
	       "1 while an operator isolation is in force.");
	ost_buf_printf(b, P "resolver_forced_isolation %d\n", st->is_forced);
	family(b, "failover_illegal_events_total", "counter",
	       "Events the failover machine rejected as illegal in their state.");
	ost_buf_printf(b, P "failover_illegal_events_total %llu\n",
		       (unsigned long long)st->illegal_events);
	if (st->n_windows) {
		family(b, "reachability_ratio", "gauge",
		       "Share of probes answered in the last window (r_root, r_foreign, "
		       "r_national), by destination class.");
		for (int c = 0; c < OST_FO_CLASS_COUNT; c++)
			if (st->windows[0].r[c] >= 0)
				ost_buf_printf(b, P "reachability_ratio{class=\"%s\"} %.3f\n",
					       ost_fo_class_str((enum ost_fo_class)c),
					       st->windows[0].r[c]);
	}
	free(st);
}

static const char *const name_class_names[OST_FO_NAME_CLASS_COUNT] = {"root", "national",
								      "foreign"};

/*
 * Issue 6: while a drill runs (and after it, until the next one), its
 * numbers are exported with the labels drill="PROFILE" and drill_id="ID",
 * so that dashboards can put a drill's answers next to the daemon-wide
 * series. The daemon-wide families keep their labels: adding the drill to
 * them would start new series at each drill and break their rates.
 */
static void write_drill(struct ost_buf *b, struct ost_drill *d)
{
	struct ost_drill_report *r = malloc(sizeof(*r));
	if (!r) {
		b->has_oom = true;
		return;
	}
	if (ost_drill_report_get(d, r) != 0) {
		free(r);
		return;
	}
	char id[160], lb[256];
	snprintf(lb, sizeof(lb), "drill=\"%s\",drill_id=\"%s\"", ost_drill_profile_str(r->profile),
		 esc(r->id, id, sizeof(id)));
	family(b, "drill_running", "gauge", "1 while the drill runs, 0 once it stopped.");
	ost_buf_printf(b, P "drill_running{%s} %d\n", lb, r->is_running);
	family(b, "drill_duration_seconds", "gauge", "Running time of the drill so far.");
	ost_buf_printf(b, P "drill_duration_seconds{%s} %.3f\n", lb, r->duration_ms / 1000.0);
	family(b, "drill_answers_total", "counter",
	       "Client answers during the drill, by name class.");
	for (int c = 0; c < OST_FO_NAME_CLASS_COUNT; c++)
		ost_buf_printf(b, P "drill_answers_total{%s,names=\"%s\"} %llu\n", lb,
			       name_class_names[c], (unsigned long long)r->queries[c]);
	family(b, "drill_answered_total", "counter",
	       "Client answers during the drill with NOERROR or NXDOMAIN, by name class.");
	for (int c = 0; c < OST_FO_NAME_CLASS_COUNT; c++)
		ost_buf_printf(b, P "drill_answered_total{%s,names=\"%s\"} %llu\n", lb,
			       name_class_names[c], (unsigned long long)r->answered[c]);
	family(b, "drill_answers_by_source_total", "counter",
	       "Client answers during the drill, by source.");
	for (int s = 0; s < OST_DRILL_SRC_COUNT; s++)
		ost_buf_printf(b, P "drill_answers_by_source_total{%s,source=\"%s\"} %llu\n", lb,
			       ost_drill_source_str((enum ost_drill_source)s),
			       (unsigned long long)r->by_source[s]);
	family(b, "drill_servfail_total", "counter",
	       "SERVFAIL answers during the drill, by EDE INFO-CODE (\"none\" without one).");
	for (int e = 0; e < OST_DRILL_EDE_SLOTS; e++) {
		if (!r->servfail_by_ede[e])
			continue;
		if (e == 32)
			ost_buf_printf(b, P "drill_servfail_total{%s,ede=\"none\"} %llu\n", lb,
				       (unsigned long long)r->servfail_by_ede[e]);
		else
			ost_buf_printf(b, P "drill_servfail_total{%s,ede=\"%d\"} %llu\n", lb, e,
				       (unsigned long long)r->servfail_by_ede[e]);
	}
	family(b, "drill_upstream_total", "counter",
	       "Upstream queries seen during the drill, by destination class and fate.");
	for (int c = 0; c < OST_DEST_CLASS_COUNT; c++) {
		const char *dc = ost_dest_class_str((enum ost_dest_class)c);
		ost_buf_printf(b, P "drill_upstream_total{%s,dest=\"%s\",fate=\"sent\"} %llu\n", lb,
			       dc, (unsigned long long)r->sent[c]);
		ost_buf_printf(b, P "drill_upstream_total{%s,dest=\"%s\",fate=\"cut\"} %llu\n", lb,
			       dc, (unsigned long long)r->cut[c]);
	}
	free(r);
}

/* Most mirror zones shown; a national operator mirrors a handful. */
#define MAX_MIRROR_ZONES 64

static void write_mirror(struct ost_buf *b, struct ost_mirror *m, const struct ost_clock *clock)
{
	struct ost_mirror_zone_status *st = calloc(MAX_MIRROR_ZONES, sizeof(*st));
	if (!st) {
		b->has_oom = true;
		return;
	}
	size_t n = 0;
	while (n < MAX_MIRROR_ZONES && ost_mirror_zone_status_at(m, n, &st[n]) == 0)
		n++;
	int64_t now = clock ? ost_clock_wall_s(clock) : 0;
	family(b, "mirror_usable", "gauge",
	       "1 while the zone's mirror copy is verified and before its SOA expire deadline.");
	for (size_t i = 0; i < n; i++) {
		char z[520];
		ost_buf_printf(b, P "mirror_usable{zone=\"%s\"} %d\n",
			       esc(st[i].name, z, sizeof(z)), st[i].is_usable);
	}
	family(b, "mirror_serial", "gauge", "SOA serial of the stored mirror copy.");
	for (size_t i = 0; i < n; i++) {
		char z[520];
		if (st[i].has_version)
			ost_buf_printf(b, P "mirror_serial{zone=\"%s\"} %u\n",
				       esc(st[i].name, z, sizeof(z)), st[i].meta.serial);
	}
	family(b, "mirror_age_seconds", "gauge", "Time since the stored copy was fetched.");
	for (size_t i = 0; i < n; i++) {
		char z[520];
		if (st[i].has_version)
			ost_buf_printf(b, P "mirror_age_seconds{zone=\"%s\"} %lld\n",
				       esc(st[i].name, z, sizeof(z)),
				       (long long)(now - st[i].meta.fetched_at));
	}
	family(b, "mirror_soa_expire_deadline_seconds", "gauge",
	       "Time left until the copy passes its SOA expire deadline (negative: past it).");
	for (size_t i = 0; i < n; i++) {
		char z[520];
		if (st[i].has_version)
			ost_buf_printf(b,
				       P "mirror_soa_expire_deadline_seconds{zone=\"%s\"} %lld\n",
				       esc(st[i].name, z, sizeof(z)),
				       (long long)(st[i].meta.soa_expire_deadline - now));
	}
	family(b, "mirror_rrsig_horizon_seconds", "gauge",
	       "Time left until the first signature of the copy expires.");
	for (size_t i = 0; i < n; i++) {
		char z[520];
		if (st[i].has_version && st[i].meta.rrsig_horizon)
			ost_buf_printf(b, P "mirror_rrsig_horizon_seconds{zone=\"%s\"} %lld\n",
				       esc(st[i].name, z, sizeof(z)),
				       (long long)(st[i].meta.rrsig_horizon - now));
	}
	family(b, "mirror_verify_total", "counter",
	       "Verifications of mirror copies (import or re-verify), by result.");
	for (size_t i = 0; i < n; i++) {
		char z[520];
		esc(st[i].name, z, sizeof(z));
		for (int v = 0; v < OST_ZV_COUNT; v++)
			ost_buf_printf(b, P "mirror_verify_total{zone=\"%s\",result=\"%s\"} %llu\n",
				       z, ost_zone_verdict_str((enum ost_zone_verdict)v),
				       (unsigned long long)st[i].verify_total[v]);
	}
	free(st);
}

int ost_metrics_write(struct ost_buf *b, const struct ost_metrics_sources *src)
{
	write_answers(b, src->snap);
	write_scalars(b, src->snap, daemon_scalars,
		      sizeof(daemon_scalars) / sizeof(daemon_scalars[0]));
	family(b, "tcp_connections", "gauge", "Client TCP connections open now.");
	ost_buf_printf(b, P "tcp_connections %llu\n", (unsigned long long)src->tcp_connections);
	write_cache(b, src->snap);
	if (src->fo)
		write_failover(b, src->fo);
	if (src->drill)
		write_drill(b, src->drill);
	if (src->mirror)
		write_mirror(b, src->mirror, src->clock);
	return b->has_oom ? -ENOMEM : 0;
}

/* ---- the HTTP server ---------------------------------------------------------------- */

/* Connections served at once; more are closed at accept. */
#define MAX_CONNS       16
/* Deadline for a whole request head, and again for the response to be read. */
#define READ_TIMEOUT_MS 5000

struct conn {
	struct conn *prev, *next; /* in ost_metrics_srv.conns */
	struct ost_metrics_srv *m;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wr;
	uv_shutdown_t sh;
	int open_handles;   /* freed when both handles closed */
	bool is_closing;    /* conn_close() ran */
	bool is_responded;  /* the response is queued: what arrives now is discarded */
	bool is_sent;       /* ... and written; our FIN is on its way */
	bool has_peer_fin;  /* the client closed its side (EOF read) */
	size_t len;         /* bytes of the head in buf */
	char head[256];     /* the response's status line and header fields */
	struct ost_buf out; /* the response's body, until written */
	uint8_t buf[OST_HTTP_HEAD_MAX];
};

struct ost_metrics_srv {
	uv_tcp_t listener;
	bool has_listener; /* the listener handle is open */
	bool is_stopping;
	struct ost_server *srv;
	struct ost_metrics_sources src;
	struct conn *conns;
	unsigned n_conns;
};

static void srv_maybe_free(struct ost_metrics_srv *m)
{
	if (m->is_stopping && !m->has_listener && !m->conns)
		free(m);
}

static void on_conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->open_handles > 0)
		return;
	struct ost_metrics_srv *m = c->m;
	if (c->prev)
		c->prev->next = c->next;
	else
		m->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	m->n_conns--;
	ost_buf_deinit(&c->out);
	free(c);
	srv_maybe_free(m);
}

static void conn_close(struct conn *c)
{
	if (c->is_closing)
		return;
	c->is_closing = true;
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
	uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void on_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct conn *c = req->data;
	if (status < 0 || c->has_peer_fin)
		conn_close(c);
}

/*
 * The response is out: send FIN and wait for the client's (read until EOF)
 * before closing, so that closing never resets a connection whose response
 * the client has not read yet.
 */
static void on_written(uv_write_t *req, int status)
{
	struct conn *c = req->data;
	ost_buf_deinit(&c->out);
	if (status < 0 || c->is_closing) {
		conn_close(c);
		return;
	}
	c->is_sent = true;
	c->sh.data = c;
	if (uv_shutdown(&c->sh, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
		conn_close(c);
}

static void respond(struct conn *c, enum ost_http_verdict v)
{
	struct ost_metrics_srv *m = c->m;
	struct ost_buf *body = &c->out;
	const char *ctype = "text/plain; charset=utf-8";
	int status = ost_http_status(v);
	const char *reason = ost_http_reason(v);
	c->is_responded = true;
	if (v == OST_HTTP_OK) {
		struct ost_server_snapshot *snap = malloc(sizeof(*snap));
		int ret = -ENOMEM;
		if (snap) {
			ost_server_snapshot(m->srv, snap);
			struct ost_metrics_sources src = m->src;
			src.snap = snap;
			src.tcp_connections = atomic_load(&m->srv->tcp_conns);
			ret = ost_metrics_write(body, &src);
			free(snap);
		}
		if (ret < 0) {
			ost_buf_deinit(body);
			status = 500;
			reason = "Internal Server Error";
		} else {
			ctype = "text/plain; version=0.0.4; charset=utf-8";
		}
	}
	if (status != 200)
		ost_buf_printf(body, "%s\n", reason);
	if (body->has_oom) {
		conn_close(c);
		return;
	}
	int n = snprintf(c->head, sizeof(c->head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n%s\r\n",
			 status, reason, ctype, body->len,
			 v == OST_HTTP_BAD_METHOD ? "Allow: GET\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(c->head)) {
		conn_close(c);
		return;
	}
	/* A fresh deadline for the client to read the response. */
	uv_timer_start(&c->timer, on_timeout, READ_TIMEOUT_MS, 0);
	uv_buf_t bufs[2] = {uv_buf_init(c->head, (unsigned)n),
			    uv_buf_init(body->s, (unsigned)body->len)};
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, bufs, 2, on_written) < 0) {
		ost_buf_deinit(&c->out);
		conn_close(c);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct conn *c = h->data;
	/* After the response, whatever still comes is read here and dropped. */
	static char discard[512];
	if (c->is_responded)
		*buf = uv_buf_init(discard, sizeof(discard));
	else
		*buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(sizeof(c->buf) - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	struct conn *c = s->data;
	if (nread < 0) {
		/*
		 * EOF after the response (the normal end), or a client that gave
		 * up. A client may also half-close right after its request
		 * (shutdown(SHUT_WR)): then the response still being written is
		 * finished first, and on_shutdown() closes.
		 */
		if (nread == UV_EOF && c->is_responded && !c->is_sent) {
			c->has_peer_fin = true;
			uv_read_stop(s);
			return;
		}
		conn_close(c);
		return;
	}
	if (nread == 0 || c->is_responded || c->is_closing)
		return;
	c->len += (size_t)nread;
	size_t head_len;
	enum ost_http_verdict v = ost_http_parse(c->buf, c->len, sizeof(c->buf), &head_len);
	if (v != OST_HTTP_INCOMPLETE)
		respond(c, v);
}

static void on_connection(uv_stream_t *l, int status)
{
	struct ost_metrics_srv *m = l->data;
	if (status < 0) {
		ost_log(OST_LOG_WARN, "metrics", "accept failed err=\"%s\"", uv_strerror(status));
		return;
	}
	/* Always accept (libuv stops listening until we do); refusals close at once. */
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		ost_log(OST_LOG_WARN, "metrics", "out of memory: connection left waiting");
		return;
	}
	c->m = m;
	c->tcp.data = c->timer.data = c;
	uv_tcp_init(l->loop, &c->tcp);
	uv_timer_init(l->loop, &c->timer);
	c->open_handles = 2;
	c->next = m->conns;
	if (m->conns)
		m->conns->prev = c;
	m->conns = c;
	m->n_conns++;
	if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c);
		return;
	}
	struct sockaddr_storage peer;
	memset(&peer, 0, sizeof(peer));
	int plen = sizeof(peer);
	char text[OST_ADDR_TEXT_MAX];
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &plen) < 0 ||
	    !ost_acl_match(&m->srv->cfg->server.metrics_allow, (struct sockaddr *)&peer)) {
		ost_log(OST_LOG_DEBUG, "metrics", "scrape refused client=%s reason=acl",
			ost_sockaddr_str((struct sockaddr *)&peer, text, sizeof(text)));
		conn_close(c);
		return;
	}
	if (m->n_conns > MAX_CONNS) {
		ost_log(OST_LOG_DEBUG, "metrics", "scrape refused client=%s reason=connections",
			ost_sockaddr_str((struct sockaddr *)&peer, text, sizeof(text)));
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, on_timeout, READ_TIMEOUT_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		conn_close(c);
}

static void on_listener_closed(uv_handle_t *h)
{
	struct ost_metrics_srv *m = h->data;
	m->has_listener = false;
	srv_maybe_free(m);
}

int ost_metrics_srv_start(uv_loop_t *loop, int fd, struct ost_server *srv,
			  const struct ost_metrics_sources *src, struct ost_metrics_srv **out)
{
	*out = NULL;
	struct ost_metrics_srv *m = calloc(1, sizeof(*m));
	if (!m) {
		close(fd);
		return -ENOMEM;
	}
	m->srv = srv;
	m->src = *src;
	m->listener.data = m;
	int ret = uv_tcp_init(loop, &m->listener);
	if (ret < 0) {
		close(fd);
		free(m);
		return ret;
	}
	m->has_listener = true;
	ret = uv_tcp_open(&m->listener, fd);
	if (ret < 0)
		close(fd);
	if (ret == 0)
		ret = uv_listen((uv_stream_t *)&m->listener, 16, on_connection);
	if (ret < 0) {
		m->is_stopping = true;
		uv_close((uv_handle_t *)&m->listener, on_listener_closed);
		return ret;
	}
	ost_log(OST_LOG_INFO, "metrics", "serving /metrics addr=%s",
		srv->cfg->server.metrics_listen.text);
	*out = m;
	return 0;
}

void ost_metrics_srv_stop(struct ost_metrics_srv *m)
{
	if (!m || m->is_stopping)
		return;
	m->is_stopping = true;
	for (struct conn *c = m->conns; c; c = c->next)
		conn_close(c);
	uv_close((uv_handle_t *)&m->listener, on_listener_closed);
}
