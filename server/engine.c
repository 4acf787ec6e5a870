/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Answering client queries: the cache-hit fast path, resolution through the
 * worker's struct ost_resolver, and the per-worker plumbing around them (the
 * commit of the cache batch once per loop iteration, the statistics line,
 * the cancellation of requests at shutdown).
 *
 * The fast path is the reason this file exists apart from worker.c. A query
 * whose whole answer sits in the cache as an OST_CTAG_MSG entry is answered
 * without the engine, without a write transaction and without touching the
 * heap:
 *   - the reader session (ost_cache_reader_begin) renews an LMDB read
 *     transaction that the reader keeps between sessions; it is begun by the
 *     first query of a loop iteration and ended by the check handle after the
 *     iteration's I/O, so one recvmmsg batch shares one snapshot;
 *   - ost_cache_reader_get() lends the entry in place: from the reader's
 *     front table when the same snapshot served it before (cache/front.c),
 *     else from LMDB's mmap;
 *   - ost_msg_to_wire() writes into the worker's send buffer, allocated once;
 *   - ost_reply_send() uses uv_udp_try_send() (uv_try_write() for TCP), which
 *     allocate only when the socket buffer is full and the reply must wait;
 *   - the clock costs one vDSO clock_gettime() per hit (the end of its
 *     latency); the arrival time is read once per received batch (udp.c,
 *     tcp.c) and the wall clock once per loop iteration (now_s()).
 * tests/integration/test_cache_hit_alloc.py checks this with a malloc counter
 * preloaded into ostrovd (see the comment there).
 *
 * A miss whose final answer lies in a usable mirrored zone is answered the
 * same way by try_mirror(): resolver/mirror_fast.c makes the OST_CTAG_MSG
 * entry the engine would have cached, straight from the mirror store (its
 * read transaction kept in the worker's resolver), and ost_msg_to_wire()
 * renders it; nothing is cached, nothing allocated.
 *
 * On any other miss the reply target is held (ost_reply_hold) in a struct pending
 * that also keeps a copy of the query, because ost_result_to_wire() rebuilds
 * the reply from it (ID, question case, EDNS) when the result arrives.
 */
#include "engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/log.h"
#include "ostrov/zone.h"

#include "resilience.h"
#include "worker.h"

/* Enough for any DNS message: TCP's 16-bit length is the largest limit. */
#define SEND_BUF_CAP    UINT16_MAX
/*
 * Client requests a worker keeps in flight. Beyond it new cache misses are
 * dropped unanswered (the client retries), as Unbound does when its
 * num-queries-per-thread is full: a flood of unique names (a random-subdomain
 * attack) costs bounded memory and sockets, and cache hits go on.
 */
#define MAX_PENDING     4096
/* The periodic statistics line (only when log-level is debug). */
#define STATS_PERIOD_MS 60000
/* How long a reader of the counters waits for a busy worker to publish them. */
#define PUBLISH_WAIT_MS 250

/* A client request waiting for the engine. */
struct pending {
	struct pending *prev, *next; /* in worker_engine.pending */
	struct worker_engine *we;
	struct ost_reply_to to;      /* held */
	struct ost_request *rq;      /* for ost_request_cancel() */
	uint64_t t0_ns;              /* arrival (ost_client_query.rx_ns), for the histogram */
	enum ost_fo_name_class ncls; /* the question name's class */
	bool has_edns;               /* the reply can carry an EDE option */
	size_t qlen;
	uint8_t query[]; /* the client's message */
};

/* Counters of the answering path, per worker. */
struct answer_stats {
	uint64_t hits;              /* answered by the fast path */
	uint64_t misses;            /* sent to the engine */
	uint64_t answered;          /* engine results sent */
	uint64_t norec;             /* RD=0 queries refused */
	uint64_t local_fail;        /* SERVFAIL without the engine (memory, resolve error) */
	uint64_t hit_rejected;      /* MSG entries found but not served (expired, CD, ...) */
	uint64_t cancelled;         /* requests cancelled: shutdown, TCP client gone */
	uint64_t overload;          /* misses dropped: MAX_PENDING requests in flight */
	uint64_t isolated_servfail; /* unknown foreign names answered SERVFAIL in isolation */
	/* the per-answer accounting of answer_done(), published as ost_worker_counters */
	uint64_t ede[OST_EDE_SLOTS];
	uint64_t by_source[OST_DRILL_SRC_COUNT];
	uint64_t sec[OST_SEC_COUNT];
	uint64_t latency[OST_DRILL_SRC_COUNT][OST_LAT_BUCKETS + 1];
	uint64_t latency_sum_ns[OST_DRILL_SRC_COUNT];
};

struct worker_engine {
	struct ost_worker *w;
	const struct ost_engine *e;
	struct ost_resolver *r;
	struct ost_cache_reader *rd;   /* NULL without a cache */
	struct ost_cache_batch *maint; /* always empty: wakes the writer for touches */
	bool rd_active;                /* a reader session is open */
	bool has_now;                  /* now_s holds this loop iteration's wall clock */
	int64_t now_s;                 /* ... read by now_s() */
	uv_check_t check;              /* end of each loop iteration */
	uv_async_t stats_async;        /* a counters request or SIGUSR1, from another thread */
	atomic_bool is_log_wanted;     /* ... and it was SIGUSR1: log the statistics line */
	uv_async_t cfg_async;          /* a reload's configuration, from the main thread */
	uv_timer_t stats_timer;        /* periodic line at debug level */
	int open_handles;              /* freed when the last one closed */
	struct pending *pending;       /* requests in flight */
	size_t n_pending;
	struct answer_stats st;
	pthread_mutex_t pub_mu;            /* guards pub, pub_gen, cfg_next and cfg_gen */
	pthread_cond_t pub_cv;             /* pub_gen moved */
	const struct ost_config *cfg_next; /* what cfg_async switches w->cfg to */
	/* ... and the resolver configuration it then rebuilds the resolver from (NULL: none) */
	const struct ost_resolver_config *rcfg_next;
	bool is_validating;                /* the worker's resolver validates (hit_usable()) */
	const struct ost_transport *tp;    /* the resolver's transport (a drill face) */
	struct ost_resolver_stats rs_base; /* counters of resolvers rebuilt before */
	unsigned cfg_gen_next;             /* its generation */
	unsigned cfg_gen;                  /* generation w->cfg has */
	struct ost_worker_counters pub;    /* counters as of the last request */
	uint64_t pub_gen;                  /* copies made into pub */
	uint8_t buf[SEND_BUF_CAP];         /* replies are written here */
};

const uint64_t ost_latency_bounds_ns[OST_LAT_BUCKETS] = {
	10000,     25000,     50000,     100000,     250000,     500000,
	1000000,   2500000,   5000000,   10000000,   25000000,   50000000,
	100000000, 250000000, 500000000, 1000000000, 2500000000, 5000000000,
};

/*
 * Every answer of the answering path (a hit, an engine result, an isolation
 * SERVFAIL) is accounted here once, after it was handed to the socket: by
 * source, by DNSSEC status, by EDE (when the reply could carry the option:
 * the client sent EDNS), in the latency histogram, and for the drill report
 * (resilience/README.md, resolver hooks 7). Plain per-worker counters, so on
 * the hit path this costs a clock read and a few increments, no lock and no
 * allocation; ost_drill_record_answer() returns at once (one atomic load)
 * unless a drill runs. The latency is the time from the query's arrival
 * (@p t0_ns: when the listener's recvmmsg() batch or TCP read returned, read
 * once for the whole batch, so it includes the wait behind the queries
 * before it in the batch) to its reply being handed to the socket (for UDP,
 * to the batch's send slots, flushed when the batch is done); not kernel
 * queueing before the read.
 */
static void answer_done(struct worker_engine *we, enum ost_fo_name_class ncls,
			enum ost_drill_source src, uint8_t rcode, int ede, bool has_edns,
			uint8_t sec, uint64_t t0_ns)
{
	uint64_t ns = uv_hrtime() - t0_ns;
	struct answer_stats *st = &we->st;
	st->by_source[src]++;
	st->sec[sec < OST_SEC_COUNT ? sec : OST_SEC_UNCHECKED]++;
	if (ede >= 0 && has_edns)
		st->ede[ede < OST_EDE_SLOTS - 1 ? ede : OST_EDE_SLOTS - 1]++;
	unsigned b = 0;
	while (b < OST_LAT_BUCKETS && ns > ost_latency_bounds_ns[b])
		b++;
	st->latency[src][b]++;
	st->latency_sum_ns[src] += ns;
	struct ost_resilience *res = we->e->res;
	if (res)
		ost_drill_record_answer(res->drill, ncls, src, rcode, ede, ns / 1000u);
}

static enum ost_drill_source result_source(const struct ost_result *res,
					   enum ost_fo_name_class ncls)
{
	switch (res->src) {
	case OST_SRC_CACHE:
		if (res->has_ede &&
		    (res->ede == OST_EDE_STALE_ANSWER || res->ede == OST_EDE_STALE_NXDOMAIN))
			return OST_DRILL_SRC_STALE;
		return OST_DRILL_SRC_CACHE;
	case OST_SRC_UPSTREAM:
		return ncls == OST_FO_NAME_FOREIGN ? OST_DRILL_SRC_FOREIGN : OST_DRILL_SRC_NATIONAL;
	default:
		return OST_DRILL_SRC_LOCAL;
	}
}

static void send_or_count(struct worker_engine *we, const struct ost_reply_to *to, size_t len)
{
	if (ost_reply_send(to, we->buf, len) < 0)
		we->w->stats.send_failed++;
	else
		we->w->stats.rcode[we->buf[3] & 0x0f]++;
}

/* ---- the fast path ------------------------------------------------------------------ */

/*
 * Can this stored answer serve this query? ost_msg_to_wire() drops
 * RRSIG/NSEC/NSEC3 for DO=0, sets AD only for secure data and CD=0, refuses
 * (-ENOENT) bogus entries and entries the engine stored unvalidated for a
 * CD=1 request (OST_MSG_F_UNVALIDATED) when the query has CD=0, and checks
 * question and expiry. What it cannot know is whether the entry has the
 * RRSIGs a DO=1 client expects: the engine asks upstream with DO=1 whenever
 * validation is on, so its entries then carry them; with validation off an
 * entry made for a DO=0 client has none, so DO=1 queries go to the engine.
 */
static bool hit_usable(const struct worker_engine *we, const struct ost_question *q)
{
	return !(q->edns_do && !we->is_validating);
}

/*
 * The wall clock for TTLs, read once per loop iteration instead of once per
 * hit (as Unbound caches its time per event): an iteration lasts micro- to
 * milliseconds, and TTLs count whole seconds. on_check() forgets it.
 */
static int64_t now_s(struct worker_engine *we)
{
	if (!we->has_now) {
		we->now_s = ost_clock_wall_s(&we->e->clock);
		we->has_now = true;
	}
	return we->now_s;
}

/* @return true when the query was answered from the cache */
static bool try_hit(struct worker_engine *we, const struct ost_client_query *cq)
{
	const struct ost_question *q = &cq->q;
	if (!we->rd || !hit_usable(we, q))
		return false;
	if (!we->rd_active) {
		if (ost_cache_reader_begin(we->rd) != 0)
			return false;
		we->rd_active = true;
	}
	struct ost_cache_entry ent;
	if (ost_cache_reader_get(we->rd, q->qname, q->qtype, OST_CTAG_MSG, &ent) != 0)
		return false;
	/* Built from a zone mirror version that is no longer current: the
	 * engine asks the mirror again (resolver/stash.c, same rule). */
	if (ent.rank == OST_RANK_MIRROR &&
	    ost_mirror_is_outdated(we->e->rcfg.mirror, ent.stored_at)) {
		we->st.hit_rejected++;
		return false;
	}
	size_t len = 0;
	int64_t now = now_s(we);
	int ret = ost_msg_to_wire(&ent, cq->wire, cq->len, now, cq->to.proto == OST_PROTO_TCP,
				  we->w->cfg->resolver.edns_buffer_size, we->buf, sizeof(we->buf),
				  &len);
	if (ret != 0) {
		/* Expired (serve-stale is the engine's), unvalidated or bogus for a
		 * CD=0 client, another question, a bad payload: the engine decides. */
		we->st.hit_rejected++;
		return false;
	}
	we->st.hits++;
	send_or_count(we, &cq->to, len);
	/* A hit's source is the cache whatever the name: its class only
	 * matters to a running drill's report, so it is not worked out else. */
	struct ost_resilience *res = we->e->res;
	enum ost_fo_name_class ncls =
		res && ost_drill_is_running(res->drill)
			? ost_resilience_name_class(res, q->qname, q->qname_len)
			: OST_FO_NAME_FOREIGN;
	answer_done(we, ncls, OST_DRILL_SRC_CACHE, we->buf[3] & 0x0f, -1, false, ent.sec,
		    cq->rx_ns);
	/* In the last tenth of its TTL (one comparison for every other hit),
	 * after the reply went out: refresh it (resolver/prefetch.c). */
	if (ost_prefetch_due(&ent, now) && we->w->cfg->resolver.prefetch && we->r)
		(void)ost_resolver_prefetch_hit(we->r, &ent, q->qname, q->qtype, q->qclass,
						q->has_edns && q->edns_do, now);
	return true;
}

/* ---- the zone mirror's fast path ---------------------------------------------------- */

/*
 * The cache missed: a question whose final answer lies in a usable mirrored
 * zone is answered from the mirror store (resolver/mirror_fast.c) without a
 * request, without ldns and without a cache write, as cheap as a hit. The
 * answer comes as the OST_CTAG_MSG entry the engine would have cached, so
 * ost_msg_to_wire() renders it as it renders hits; everything else (a
 * referral to a child zone, CNAME, wildcard, an extended or unanchored
 * copy...) goes to the engine unchanged.
 * @return true when the query was answered from the mirror
 */
static bool try_mirror(struct worker_engine *we, const struct ost_client_query *cq,
		       enum ost_fo_name_class ncls)
{
	const struct ost_question *q = &cq->q;
	if (!we->r || !we->e->rcfg.mirror)
		return false;
	struct ost_cache_entry ent;
	if (ost_mirror_answer(we->r, q->qname, q->qname_len, q->qtype, q->qclass, &ent) != 0)
		return false;
	size_t len = 0;
	if (ost_msg_to_wire(&ent, cq->wire, cq->len, ent.stored_at, cq->to.proto == OST_PROTO_TCP,
			    we->w->cfg->resolver.edns_buffer_size, we->buf, sizeof(we->buf),
			    &len) != 0)
		return false;
	send_or_count(we, &cq->to, len);
	answer_done(we, ncls, OST_DRILL_SRC_MIRROR, we->buf[3] & 0x0f, -1, q->has_edns, ent.sec,
		    cq->rx_ns);
	return true;
}

/* ---- through the engine ------------------------------------------------------------- */

static void pending_unlink(struct pending *p)
{
	struct worker_engine *we = p->we;
	if (p->prev)
		p->prev->next = p->next;
	else
		we->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	we->n_pending--;
}

static void pending_free(struct pending *p)
{
	pending_unlink(p);
	ost_reply_release(&p->to);
	free(p);
}

static void on_resolved(const struct ost_result *res, void *arg)
{
	struct pending *p = arg;
	struct worker_engine *we = p->we;
	size_t len = 0;
	int ret = ost_result_to_wire(res, p->query, p->qlen, p->to.proto == OST_PROTO_TCP,
				     we->w->cfg->resolver.edns_buffer_size, we->buf,
				     sizeof(we->buf), &len);
	if (ret == 0) {
		we->st.answered++;
		send_or_count(we, &p->to, len);
		answer_done(we, p->ncls, result_source(res, p->ncls), res->rcode,
			    res->has_ede ? (int)res->ede : -1, p->has_edns, res->sec, p->t0_ns);
	} else {
		/* The query was good enough for the classifier: answer SERVFAIL. */
		struct ost_question q;
		ost_log(OST_LOG_WARN, "server", "cannot build reply worker=%u err=\"%s\"",
			we->w->id, ost_strerror(ret));
		we->st.local_fail++;
		if (ost_pkt_classify(p->query, p->qlen, &q) == OST_PKT_QUERY)
			ost_worker_answer_rcode(we->w, &p->to, &q, LDNS_RCODE_SERVFAIL);
	}
	pending_free(p);
}

/* Hand pending request @p p (question @p q) to the worker's resolver. */
static void resolve_pending(struct worker_engine *we, struct pending *p,
			    const struct ost_question *q)
{
	unsigned flags = OST_RF_RD;
	if (q->cd)
		flags |= OST_RF_CD;
	if (q->has_edns && q->edns_do)
		flags |= OST_RF_DO;
	struct ost_request *rq = NULL;
	p->rq = NULL;
	int ret = ost_resolve(we->r, q->qname, q->qtype, q->qclass, flags, on_resolved, p, &rq);
	if (ret < 0) {
		/* No callback will come. */
		we->st.local_fail++;
		ost_worker_answer_rcode(we->w, &p->to, q, LDNS_RCODE_SERVFAIL);
		pending_free(p);
		return;
	}
	/* When the callback already ran (a cached or immediate result), p is gone and rq NULL. */
	if (rq)
		p->rq = rq;
}

/* Hand the query to the engine; @p ncls is its name's class, worked out once. */
static void start_resolve(struct worker_engine *we, struct ost_client_query *cq,
			  enum ost_fo_name_class ncls)
{
	const struct ost_question *q = &cq->q;
	if (we->n_pending >= MAX_PENDING) {
		we->st.overload++;
		return;
	}
	struct pending *p = malloc(sizeof(*p) + cq->len);
	if (!p) {
		we->st.local_fail++;
		ost_worker_answer_rcode(we->w, &cq->to, q, LDNS_RCODE_SERVFAIL);
		return;
	}
	p->we = we;
	p->to = cq->to;
	p->rq = NULL;
	p->qlen = cq->len;
	p->t0_ns = cq->rx_ns;
	p->has_edns = q->has_edns;
	p->ncls = ncls;
	memcpy(p->query, cq->wire, cq->len);
	ost_reply_hold(&p->to);
	p->prev = NULL;
	p->next = we->pending;
	if (we->pending)
		we->pending->prev = p;
	we->pending = p;
	we->n_pending++;
	we->st.misses++;
	resolve_pending(we, p, q);
}

void ost_worker_engine_conn_closed(struct ost_worker *w, struct ost_tcp_conn *c)
{
	struct worker_engine *we = w->engine;
	if (!we)
		return;
	struct pending *p = we->pending;
	while (p) {
		struct pending *next = p->next;
		if (p->to.proto == OST_PROTO_TCP && p->to.tcp == c) {
			ost_request_cancel(p->rq);
			we->st.cancelled++;
			pending_free(p);
		}
		p = next;
	}
}

/* ---- isolation: unknown foreign names ---------------------------------------------- */

/* Is anything, fresh or expired, cached for the question (the engine's stale candidates)? */
static bool has_any_cached(struct worker_engine *we, const struct ost_question *q)
{
	if (!we->rd)
		return false;
	if (!we->rd_active) {
		if (ost_cache_reader_begin(we->rd) != 0)
			return true; /* cannot tell: let the engine decide */
		we->rd_active = true;
	}
	static const struct {
		enum ost_cache_tag tag;
		bool is_cname;
	} look[] = {{OST_CTAG_MSG, false},
		    {OST_CTAG_RRSET, false},
		    {OST_CTAG_NEG, false},
		    {OST_CTAG_RRSET, true}};
	for (size_t i = 0; i < sizeof(look) / sizeof(look[0]); i++) {
		struct ost_cache_entry ent;
		uint16_t type = look[i].is_cname ? LDNS_RR_TYPE_CNAME : q->qtype;
		if (ost_cache_reader_get(we->rd, q->qname, type, look[i].tag, &ent) == 0)
			return true;
	}
	return false;
}

/*
 * resilience/README.md, resolver hooks 4 (standards.md §7.2 ISOLATED):
 * nothing usable is cached for a foreign name and nobody abroad can be
 * reached, so the answer is known in advance: SERVFAIL with EDE 22 at once,
 * instead of after the timeouts of the few rate-limited rechecks the policy
 * still lets through. Never NXDOMAIN: absence cannot be proven from here.
 * Anything cached, even expired, goes to the engine, which serves it stale
 * at once (the policy's stale_immediately).
 * @return true when the query was answered here
 */
static bool isolated_unknown(struct worker_engine *we, const struct ost_client_query *cq,
			     enum ost_fo_name_class ncls)
{
	struct ost_resilience *res = we->e->res;
	if (!res || ncls != OST_FO_NAME_FOREIGN)
		return false;
	struct ost_fo_policy pol;
	ost_fo_policy(res->fo, ncls, NULL, &pol);
	if (!pol.servfail_unknown_at_once || has_any_cached(we, &cq->q))
		return false;
	struct ost_uncached_decision u;
	ost_fo_uncached(&pol, 0, false, &u);
	if (!u.is_servfail_now)
		return false;
	ldns_rr_list *empty = ldns_rr_list_new();
	ldns_rdf *qname = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, cq->q.qname_len, cq->q.qname);
	if (!empty || !qname) {
		ldns_rr_list_free(empty);
		ldns_rdf_deep_free(qname);
		return false;
	}
	struct ost_result r = {
		.qname = qname,
		.qtype = cq->q.qtype,
		.qclass = cq->q.qclass,
		.rcode = LDNS_RCODE_SERVFAIL,
		.answer = empty,
		.auth = empty,
		.add = empty,
		.has_ede = true,
		.ede = u.ede,
		.ede_text = "isolated: foreign name not in cache",
		.src = OST_SRC_LOCAL,
	};
	size_t len = 0;
	int ret = ost_result_to_wire(&r, cq->wire, cq->len, cq->to.proto == OST_PROTO_TCP,
				     we->w->cfg->resolver.edns_buffer_size, we->buf,
				     sizeof(we->buf), &len);
	ldns_rr_list_free(empty);
	ldns_rdf_deep_free(qname);
	if (ret != 0)
		return false;
	we->st.isolated_servfail++;
	send_or_count(we, &cq->to, len);
	answer_done(we, ncls, OST_DRILL_SRC_UNSEEN, LDNS_RCODE_SERVFAIL, u.ede, cq->q.has_edns,
		    OST_SEC_UNCHECKED, cq->rx_ns);
	return true;
}

void ost_worker_answer(struct ost_worker *w, struct ost_client_query *cq)
{
	struct worker_engine *we = w->engine;
	if (!we) {
		ost_worker_answer_rcode(w, &cq->to, &cq->q, LDNS_RCODE_REFUSED);
		return;
	}
	/*
	 * RD=0: Unbound refuses non-recursive queries unless the client's
	 * access-control is allow_snoop, and Knot Resolver's refuse_nord does
	 * the same by default: answering them from the cache only lets anyone
	 * see which names others asked for (cache snooping). Our access.allow
	 * is Unbound's "allow", so we answer REFUSED as it does.
	 */
	if (!cq->q.rd) {
		we->st.norec++;
		ost_worker_answer_rcode(w, &cq->to, &cq->q, LDNS_RCODE_REFUSED);
		return;
	}
	if (try_hit(we, cq))
		return;
	enum ost_fo_name_class ncls = OST_FO_NAME_FOREIGN;
	if (we->e->res) {
		ncls = ost_resilience_name_class(we->e->res, cq->q.qname, cq->q.qname_len);
		if (isolated_unknown(we, cq, ncls))
			return;
	}
	if (try_mirror(we, cq, ncls))
		return;
	start_resolve(we, cq, ncls);
}

/* ---- per-worker plumbing ------------------------------------------------------------ */

static void counters_now(const struct worker_engine *we, struct ost_worker_counters *c)
{
	const struct ost_worker *w = we->w;
	*c = (struct ost_worker_counters){
		.udp_queries = w->stats.udp_queries,
		.tcp_queries = w->stats.tcp_queries,
		.hits = we->st.hits,
		.misses = we->st.misses,
		.answered = we->st.answered,
		.inflight = we->n_pending,
		.cancelled = we->st.cancelled,
		.overload = we->st.overload,
		.norec = we->st.norec,
		.local_fail = we->st.local_fail,
		.isolated_servfail = we->st.isolated_servfail,
		.hit_rejected = we->st.hit_rejected,
		.send_failed = w->stats.send_failed,
		.udp_wakeups = w->stats.udp_wakeups,
		.udp_recv_calls = w->stats.udp_recv_calls,
		.udp_datagrams = w->stats.udp_datagrams,
		.udp_batch = {w->stats.udp_batch[0], w->stats.udp_batch[1], w->stats.udp_batch[2],
			      w->stats.udp_batch[3]},
		.udp_send_calls = w->stats.udp_send_calls,
		.udp_coalesced = w->stats.udp_coalesced,
		.udp_gso_sends = w->stats.udp_gso_sends,
		.udp_gso_dgrams = w->stats.udp_gso_dgrams,
		.dropped = w->stats.dropped,
		.errors = w->stats.errors,
		.acl_denied = w->stats.acl_denied,
		.tcp_refused = w->stats.tcp_refused,
	};
	if (we->r)
		ost_resolver_stats_get(we->r, &c->rs);
	/* Every field is a uint64_t counter: a rebuilt resolver's go on from its predecessor's. */
	uint64_t *dst = (uint64_t *)&c->rs;
	const uint64_t *base = (const uint64_t *)&we->rs_base;
	for (size_t k = 0; k < sizeof(c->rs) / sizeof(uint64_t); k++)
		dst[k] += base[k];
	memcpy(c->rcode, w->stats.rcode, sizeof(c->rcode));
	memcpy(c->ede, we->st.ede, sizeof(c->ede));
	memcpy(c->by_source, we->st.by_source, sizeof(c->by_source));
	memcpy(c->sec, we->st.sec, sizeof(c->sec));
	memcpy(c->latency, we->st.latency, sizeof(c->latency));
	memcpy(c->latency_sum_ns, we->st.latency_sum_ns, sizeof(c->latency_sum_ns));
}

_Static_assert(sizeof(struct ost_resolver_stats) % sizeof(uint64_t) == 0,
	       "ost_resolver_stats is summed as an array of uint64_t");

/*
 * `ostrovctl stats` and /metrics read other threads' counters: a worker
 * copies its own under a lock (a few hundred bytes, an uncontended mutex),
 * so nobody reads a counter while it is written. It copies them when asked
 * (stats_async, from ask_counters()), not at every loop iteration: at 40k
 * hits a second the copy at every iteration cost ~0.6 % of the worker's CPU
 * for counters read a few times a minute. The copy is made under the lock
 * and pub_gen moves with it, so a reader that saw pub_gen move gets
 * everything the worker counted before the request: a client that got its
 * reply and then asks for stats sees its query counted.
 */
static void publish(struct worker_engine *we)
{
	pthread_mutex_lock(&we->pub_mu);
	counters_now(we, &we->pub);
	we->pub_gen++;
	pthread_cond_broadcast(&we->pub_cv);
	pthread_mutex_unlock(&we->pub_mu);
}

/* Ask worker @p we to publish. @return the generation to wait past (wait_counters()) */
static uint64_t ask_counters(struct worker_engine *we)
{
	pthread_mutex_lock(&we->pub_mu);
	uint64_t gen = we->pub_gen;
	pthread_mutex_unlock(&we->pub_mu);
	uv_async_send(&we->stats_async);
	return gen;
}

/*
 * Wait until worker @p we published after generation @p gen, at most
 * PUBLISH_WAIT_MS (a worker stuck that long gives its previous copy rather
 * than stalling the caller), and copy its counters to @p out.
 */
static void wait_counters(struct worker_engine *we, uint64_t gen, struct ost_worker_counters *out)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += (long)PUBLISH_WAIT_MS * 1000000L;
	dl.tv_sec += dl.tv_nsec / 1000000000L;
	dl.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&we->pub_mu);
	while (we->pub_gen == gen)
		if (pthread_cond_timedwait(&we->pub_cv, &we->pub_mu, &dl) != 0)
			break;
	*out = we->pub;
	pthread_mutex_unlock(&we->pub_mu);
}

/* Called on worker @p w's own thread, the counters are read directly. */
static bool is_own_thread(struct ost_worker *w)
{
	uv_thread_t self = uv_thread_self();
	return uv_thread_equal(&self, &w->thread) != 0;
}

int ost_worker_engine_counters(struct ost_worker *w, struct ost_worker_counters *out)
{
	struct worker_engine *we = w->engine;
	if (!we)
		return -ENOENT;
	if (is_own_thread(w))
		counters_now(we, out);
	else
		wait_counters(we, ask_counters(we), out);
	return 0;
}

/*
 * After each loop iteration's I/O: close the reader session and reset the
 * resolver's zone mirror read transactions (a snapshot pins pages, so none
 * outlives the iteration: the next question renews them), and hand what
 * the iteration's results queued to the cache writer, after the answers
 * went out.
 */
static void on_check(uv_check_t *h)
{
	struct worker_engine *we = h->data;
	if (we->rd_active) {
		ost_cache_reader_end(we->rd);
		we->rd_active = false;
	}
	we->has_now = false;
	if (we->r) {
		ost_resolver_mirror_release(we->r);
		(void)ost_resolver_commit(we->r);
	}
	/*
	 * The hit path reports LRU touches to the cache writer without writing
	 * (cache.h); the writer applies them when woken by a submit. A worker
	 * that only serves hits submits nothing through its resolver, so it
	 * submits this empty batch, which returns at once unless touches wait.
	 */
	if (we->maint)
		(void)ost_cache_batch_submit(we->maint);
}

void ost_worker_engine_log_stats(struct ost_worker *w)
{
	struct worker_engine *we = w->engine;
	if (!we)
		return;
	struct ost_worker_counters c;
	struct ost_cache_stats cs;
	memset(&cs, 0, sizeof(cs));
	counters_now(we, &c);
	if (we->e->cache)
		ost_cache_stats_get(we->e->cache, &cs);
	struct ost_stat_field f[OST_STAT_FIELDS];
	ost_stat_fields(&c, &cs, f);
	/* ost_log() takes up to 1,800 characters of message: every field fits. */
	char line[3072];
	size_t pos = 0;
	for (size_t i = 0; i < OST_STAT_FIELDS && pos < sizeof(line); i++) {
		int n = snprintf(line + pos, sizeof(line) - pos, " %s=%llu", f[i].key,
				 (unsigned long long)f[i].value);
		if (n < 0)
			break;
		pos += (size_t)n;
	}
	ost_log(OST_LOG_INFO, "server", "stats worker=%u%s", w->id, line);
}

_Static_assert(sizeof(((struct ost_worker_stats *)0)->rcode) == OST_RCODE_SLOTS * sizeof(uint64_t),
	       "worker.h's rcode array has OST_RCODE_SLOTS slots");
_Static_assert(sizeof(struct ost_worker_counters) % sizeof(uint64_t) == 0,
	       "ost_worker_counters is summed as an array of uint64_t");

void ost_server_snapshot(struct ost_server *srv, struct ost_server_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	/* Workers are asked a group at a time and then waited for: they publish in parallel. */
	enum {
		GROUP = 64
	};
	for (unsigned g0 = 0; g0 < srv->n_workers; g0 += GROUP) {
		unsigned n = srv->n_workers - g0 < GROUP ? srv->n_workers - g0 : GROUP;
		uint64_t gen[GROUP] = {0};
		for (unsigned i = 0; i < n; i++) {
			struct worker_engine *we = srv->workers[g0 + i].engine;
			if (we && !is_own_thread(&srv->workers[g0 + i]))
				gen[i] = ask_counters(we);
		}
		for (unsigned i = 0; i < n; i++) {
			struct ost_worker *wk = &srv->workers[g0 + i];
			struct worker_engine *we = wk->engine;
			struct ost_worker_counters w;
			if (!we)
				continue;
			if (is_own_thread(wk))
				counters_now(we, &w);
			else
				wait_counters(we, gen[i], &w);
			out->n_workers++;
			/* Every field is a uint64_t: add them as an array. */
			const uint64_t *src = (const uint64_t *)&w;
			uint64_t *dst = (uint64_t *)&out->sum;
			for (size_t k = 0; k < sizeof(w) / sizeof(uint64_t); k++)
				dst[k] += src[k];
		}
	}
	if (srv->engine && srv->engine->cache) {
		out->has_cache = true;
		ost_cache_stats_get(srv->engine->cache, &out->cache);
	}
}

static void on_stats_async(uv_async_t *a)
{
	struct worker_engine *we = a->data;
	publish(we);
	if (atomic_exchange(&we->is_log_wanted, false))
		ost_worker_engine_log_stats(we->w);
}

static void on_stats_timer(uv_timer_t *t)
{
	struct worker_engine *we = t->data;
	ost_worker_engine_log_stats(we->w);
}

/*
 * A reload (server/reload.c) switches the worker to a new configuration on
 * the worker's own thread, between two packets: udp.c and tcp.c read
 * w->cfg->access for every client without a lock, so the pointer may only
 * change where they run.
 */
/*
 * New trust anchors, or new resolver settings (upstream-allow, forward and
 * stub zones, qname-minimisation, edns-buffer-size, validation, TTL caps):
 * the resolver copies its configuration when made, and keeps every DNSKEY
 * it proved from the old anchors in its key cache, so it is replaced by a
 * fresh one made from @p rcfg. Requests in flight are not lost: the old
 * resolver drops them without a callback (ost_resolver_free()) and each is
 * started again on the new one, from the query the pending request kept, so
 * a narrowed upstream-allow binds them too.
 */
static void rebuild_resolver(struct worker_engine *we, const struct ost_resolver_config *rcfg)
{
	struct ost_worker *w = we->w;
	struct ost_resolver *nr = NULL;
	int ret = ost_resolver_new(&nr, rcfg, we->e->cache, &w->clock.clock, we->tp);
	if (ret < 0) {
		ost_log(OST_LOG_ERR, "server",
			"worker=%u cannot rebuild its resolver, it keeps its settings and the "
			"keys proven by the old trust anchors err=\"%s\"",
			w->id, ost_strerror(ret));
		return;
	}
	we->is_validating = rcfg->validation;
	(void)ost_resolver_commit(we->r);
	struct ost_resolver_stats st;
	ost_resolver_stats_get(we->r, &st);
	uint64_t *dst = (uint64_t *)&we->rs_base;
	const uint64_t *src = (const uint64_t *)&st;
	for (size_t k = 0; k < sizeof(st) / sizeof(uint64_t); k++)
		dst[k] += src[k];
	ost_resolver_free(we->r);
	we->r = nr;
	size_t restarted = 0;
	for (struct pending *p = we->pending, *next; p; p = next) {
		next = p->next;
		struct ost_question q;
		restarted++;
		if (ost_pkt_classify(p->query, p->qlen, &q) != OST_PKT_QUERY) {
			/* It was a query when it came: cannot happen. */
			we->st.local_fail++;
			pending_free(p);
			continue;
		}
		resolve_pending(we, p, &q);
	}
	ost_log(OST_LOG_INFO, "server",
		"worker=%u resolver rebuilt restarted=%zu validation=%d qname_minimisation=%d",
		w->id, restarted, rcfg->validation, rcfg->qname_minimisation);
}

static void on_cfg_async(uv_async_t *a)
{
	struct worker_engine *we = a->data;
	const struct ost_resolver_config *rcfg = NULL;
	bool has_new = false;
	unsigned gen = 0;
	pthread_mutex_lock(&we->pub_mu);
	if (we->cfg_next) {
		we->w->cfg = we->cfg_next;
		we->cfg_next = NULL;
		gen = we->cfg_gen_next;
		has_new = true;
		rcfg = we->rcfg_next;
		we->rcfg_next = NULL;
	}
	pthread_mutex_unlock(&we->pub_mu);
	if (!has_new)
		return;
	/* The worker's transport checks every upstream address against the
	 * allow-list it borrows from the configuration, on this loop only. */
	we->w->transport.allow = &we->w->cfg->resolver.upstream_allow;
	we->w->transport.udp_max_uses = we->w->cfg->resolver.upstream_port_reuse;
	if (rcfg && we->r)
		rebuild_resolver(we, rcfg);
	/* Reported once everything is switched, and only the generation taken
	 * above: a later one may have been handed over meanwhile, whose
	 * configuration this worker does not run yet. */
	pthread_mutex_lock(&we->pub_mu);
	we->cfg_gen = gen;
	pthread_mutex_unlock(&we->pub_mu);
}

int ost_worker_engine_set_config(struct ost_worker *w, const struct ost_config *cfg,
				 const struct ost_resolver_config *rcfg, unsigned gen)
{
	struct worker_engine *we = w->engine;
	if (!we)
		return -ENOENT;
	pthread_mutex_lock(&we->pub_mu);
	we->cfg_next = cfg;
	we->cfg_gen_next = gen;
	/* Two reloads before the worker ran: the rebuild of the first is kept
	 * (its resolver configuration is still the live one, see reload.c). */
	if (rcfg)
		we->rcfg_next = rcfg;
	pthread_mutex_unlock(&we->pub_mu);
	uv_async_send(&we->cfg_async);
	return 0;
}

unsigned ost_worker_engine_config_gen(struct ost_worker *w)
{
	struct worker_engine *we = w->engine;
	if (!we)
		return 0;
	pthread_mutex_lock(&we->pub_mu);
	unsigned g = we->cfg_gen;
	pthread_mutex_unlock(&we->pub_mu);
	return g;
}

void ost_worker_engine_request_stats(struct ost_worker *w)
{
	struct worker_engine *we = w->engine;
	if (!we)
		return;
	atomic_store(&we->is_log_wanted, true);
	uv_async_send(&we->stats_async);
}

static void handle_closed(uv_handle_t *h)
{
	struct worker_engine *we = h->data;
	if (--we->open_handles == 0) {
		pthread_cond_destroy(&we->pub_cv);
		pthread_mutex_destroy(&we->pub_mu);
		free(we);
	}
}

int ost_worker_engine_init(struct ost_worker *w)
{
	const struct ost_engine *e = w->srv->engine;
	if (!ost_engine_can_resolve(e))
		return 0;
	struct worker_engine *we = calloc(1, sizeof(*we));
	if (!we)
		return -ENOMEM;
	we->w = w;
	we->e = e;
	we->is_validating = e->rcfg.validation;
	pthread_mutex_init(&we->pub_mu, NULL);
	/* wait_counters()'s deadline is on the monotonic clock: a wall clock step cannot
	 * stretch it. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&we->pub_cv, &ca);
	pthread_condattr_destroy(&ca);
	/* With resilience, the resolver sends through a drill face over the worker's transport. */
	const struct ost_transport *tp = &w->transport.tp;
	int ret = 0;
	if (e->res)
		ret = ost_resilience_face(e->res, tp, &w->clock.clock, &tp);
	if (ret < 0)
		goto fail;
	we->tp = tp;
	ret = ost_resolver_new(&we->r, &e->rcfg, e->cache, &w->clock.clock, tp);
	if (ret < 0)
		goto fail;
	if (e->cache) {
		ret = ost_cache_reader_new(e->cache, &we->rd);
		if (ret < 0)
			goto fail;
		ret = ost_cache_batch_new(e->cache, &we->maint);
		if (ret < 0)
			goto fail;
	}
	/* From here on the worker owns @we: ost_worker_engine_stop() releases it. */
	w->engine = we;
	uv_check_init(&w->loop, &we->check);
	uv_async_init(&w->loop, &we->stats_async, on_stats_async);
	uv_async_init(&w->loop, &we->cfg_async, on_cfg_async);
	uv_timer_init(&w->loop, &we->stats_timer);
	we->check.data = we->stats_async.data = we->stats_timer.data = we->cfg_async.data = we;
	we->open_handles = 4;
	uv_check_start(&we->check, on_check);
	if (w->cfg->server.log_level >= OST_LOG_DEBUG)
		uv_timer_start(&we->stats_timer, on_stats_timer, STATS_PERIOD_MS, STATS_PERIOD_MS);
	return 0;
fail:
	ost_cache_reader_free(we->rd);
	ost_resolver_free(we->r);
	pthread_cond_destroy(&we->pub_cv);
	pthread_mutex_destroy(&we->pub_mu);
	free(we);
	return ret;
}

void ost_worker_engine_stop(struct ost_worker *w)
{
	struct worker_engine *we = w->engine;
	if (!we)
		return;
	/* Client requests first: nobody is answered through a closing socket. */
	while (we->pending) {
		struct pending *p = we->pending;
		ost_request_cancel(p->rq);
		we->st.cancelled++;
		pending_free(p);
	}
	if (we->rd_active)
		ost_cache_reader_end(we->rd);
	we->rd_active = false;
	/* What finished requests queued still goes to the cache. */
	(void)ost_resolver_commit(we->r);
	ost_log(OST_LOG_DEBUG, "server",
		"worker engine stopping worker=%u hits=%llu misses=%llu cancelled=%llu", w->id,
		(unsigned long long)we->st.hits, (unsigned long long)we->st.misses,
		(unsigned long long)we->st.cancelled);
	ost_resolver_free(we->r);
	we->r = NULL;
	ost_cache_reader_free(we->rd);
	we->rd = NULL;
	ost_cache_batch_free(we->maint);
	we->maint = NULL;
	w->engine = NULL;
	uv_close((uv_handle_t *)&we->check, handle_closed);
	uv_close((uv_handle_t *)&we->stats_async, handle_closed);
	uv_close((uv_handle_t *)&we->cfg_async, handle_closed);
	uv_close((uv_handle_t *)&we->stats_timer, handle_closed);
}
