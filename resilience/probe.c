/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Active probes (standards.md §7.1): each target (a root server address, a
 * foreign TLD server, a national server) is asked for the SOA or NS of its
 * zone every interval ± jitter, through the engine's transport, and each
 * finished probe is fed to the failover machine. A probe is good when the
 * answer has our ID and question, QR, AA, NOERROR and a record of the asked
 * type at the asked name; a packet with a wrong ID or question is rejected
 * (-EAGAIN) and the probe keeps waiting, so a spoofer cannot fake health.
 * A lost try is retried (RFC 9520 §3.1 allows up to 3 queries), which is what
 * separates random loss from a cut: at 30 % loss per try a 3-try probe fails
 * 2.7 % of the time, under a cut 100 %.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/failover.h"
#include "ostrov/log.h"

struct target {
	struct ost_probe *p;
	struct ost_upstream_query q;
	uint8_t *wire; /* query being sent, ldns-allocated */
	ldns_rdf *qname;
	uint16_t qtype;
	uint16_t id;
	enum ost_fo_class cls;
	struct ost_timer *timer; /* next probe */
	struct ost_timer *retry; /* deferred retry (never send from inside a callback) */
	bool is_in_flight;
	unsigned try_no;  /* 1-based try of the probe in flight */
	uint64_t round;   /* probes started */
	uint64_t sent_ms; /* send time of the current try */
	struct ost_probe_stats st;
};

struct ost_probe {
	struct ost_probe_config cfg;
	const struct ost_clock *clock;
	const struct ost_transport *tp;
	struct ost_fo *fo;
	uint64_t rng;
	bool is_running;
	struct target **t;
	size_t n;
};

void ost_probe_config_default(struct ost_probe_config *cfg)
{
	*cfg = (struct ost_probe_config){
		.interval_ms = 3000,
		.jitter = 0.2,
		.timeout_ms = 750,
		.tries = 3,
		.tcp_every = 6,
	};
}

/* splitmix64: IDs and jitter; seeded by the caller from a real random source. */
static uint64_t next_rand(struct ost_probe *p)
{
	uint64_t z = (p->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int ost_probe_config_check(const struct ost_probe_config *cfg, char *err, size_t errlen)
{
	/* One probe (all its tries) must end before the next one of the same target starts. */
	double shortest = cfg->interval_ms * (1.0 - cfg->jitter);
	if (cfg->interval_ms == 0 || cfg->jitter < 0 || cfg->jitter >= 1 || cfg->tries == 0 ||
	    cfg->tries > 3 || cfg->timeout_ms == 0 ||
	    (double)cfg->tries * cfg->timeout_ms > shortest) {
		if (err && errlen)
			snprintf(err, errlen,
				 "bad probe settings: tries x timeout-ms must fit in interval-ms x "
				 "(1 - jitter), tries 1..3");
		return -EINVAL;
	}
	return 0;
}

int ost_probe_new(const struct ost_probe_config *cfg, const struct ost_clock *clock,
		  const struct ost_transport *tp, struct ost_fo *fo, uint64_t seed,
		  struct ost_probe **out)
{
	struct ost_probe_config def;
	if (!cfg) {
		ost_probe_config_default(&def);
		cfg = &def;
	}
	char err[160];
	if (ost_probe_config_check(cfg, err, sizeof(err)) < 0) {
		ost_log(OST_LOG_ERR, "probe", "%s", err);
		return -EINVAL;
	}
	struct ost_probe *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cfg = *cfg;
	p->clock = clock;
	p->tp = tp;
	p->fo = fo;
	p->rng = seed;
	*out = p;
	return 0;
}

int ost_probe_add(struct ost_probe *p, const struct sockaddr *sa, socklen_t salen,
		  enum ost_fo_class cls, const char *qname, uint16_t qtype)
{
	if (!sa || salen > sizeof(struct sockaddr_storage) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
	    (unsigned)cls >= OST_FO_CLASS_COUNT ||
	    (qtype != LDNS_RR_TYPE_SOA && qtype != LDNS_RR_TYPE_NS) || !qname)
		return -EINVAL;
	ldns_rdf *name = NULL;
	if (ldns_str2rdf_dname(&name, qname) != LDNS_STATUS_OK)
		return -EINVAL;
	struct target **v = realloc(p->t, (p->n + 1) * sizeof(*v));
	struct target *t = calloc(1, sizeof(*t));
	if (!v || !t) {
		if (v)
			p->t = v;
		free(t);
		ldns_rdf_deep_free(name);
		return -ENOMEM;
	}
	p->t = v;
	t->p = p;
	t->qname = name;
	t->qtype = qtype;
	t->cls = cls;
	memcpy(&t->q.addr, sa, salen);
	t->q.addrlen = salen;
	char host[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	}
	snprintf(t->st.addr, sizeof(t->st.addr), "%s@%u", host, port);
	char *qs = ldns_rdf2str(name);
	snprintf(t->st.qname, sizeof(t->st.qname), "%s", qs ? qs : "?");
	free(qs);
	t->st.cls = cls;
	t->st.qtype = qtype;
	p->t[p->n++] = t;
	return 0;
}

static void probe_fire(void *arg);
static int send_try(struct target *t);

static void finish(struct target *t, bool is_ok, uint64_t now)
{
	t->is_in_flight = false;
	t->st.probes++;
	if (is_ok) {
		t->st.ok++;
		t->st.last_rtt_ms = (uint32_t)(now - t->sent_ms);
	}
	if (t->st.is_up != is_ok)
		ost_log(OST_LOG_DEBUG, "probe", "target %s addr=%s class=%s", is_ok ? "up" : "down",
			t->st.addr, ost_fo_class_str(t->cls));
	t->st.is_up = is_ok;
	ost_fo_feed_probe(t->p->fo, t->cls, is_ok);
}

static void retry_fire(void *arg)
{
	struct target *t = arg;
	t->retry = NULL;
	if (send_try(t) < 0)
		finish(t, false, ost_clock_mono_ms(t->p->clock));
}

/* Does @p pkt answer the query in flight? Question, ID and QR must match. */
static bool is_ours(const struct target *t, const ldns_pkt *a)
{
	if (ldns_pkt_id(a) != t->id || !ldns_pkt_qr(a) || ldns_pkt_qdcount(a) != 1)
		return false;
	const ldns_rr *qq = ldns_rr_list_rr(ldns_pkt_question(a), 0);
	return qq && ldns_rr_get_type(qq) == t->qtype &&
	       ldns_rr_get_class(qq) == LDNS_RR_CLASS_IN &&
	       ldns_dname_compare(ldns_rr_owner(qq), t->qname) == 0;
}

static bool is_good(const struct target *t, const ldns_pkt *a)
{
	if (ldns_pkt_get_rcode(a) != LDNS_RCODE_NOERROR || !ldns_pkt_aa(a))
		return false;
	const ldns_rr_list *an = ldns_pkt_answer(a);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) == t->qtype &&
		    ldns_dname_compare(ldns_rr_owner(rr), t->qname) == 0)
			return true;
	}
	return false;
}

static int on_reply(struct ost_upstream_query *q, int status, const uint8_t *pkt, size_t len)
{
	struct target *t = q->arg;
	uint64_t now = ost_clock_mono_ms(t->p->clock);
	if (status == 0) {
		ldns_pkt *a = NULL;
		if (ldns_wire2pkt(&a, pkt, len) != LDNS_STATUS_OK || !is_ours(t, a)) {
			t->st.spoofed++;
			ldns_pkt_free(a);
			return -EAGAIN;
		}
		bool ok = is_good(t, a);
		ldns_pkt_free(a);
		LDNS_FREE(t->wire);
		t->wire = NULL;
		/* A wrong answer is a reachable but broken server: no retry. */
		finish(t, ok, now);
		return 0;
	}
	LDNS_FREE(t->wire);
	t->wire = NULL;
	if (t->try_no < t->p->cfg.tries && t->p->is_running) {
		t->retry = ost_clock_timer_start(t->p->clock, 0, retry_fire, t);
		if (t->retry)
			return 0;
	}
	finish(t, false, now);
	return 0;
}

static int send_try(struct target *t)
{
	struct ost_probe *p = t->p;
	ldns_pkt *qp = ldns_pkt_query_new(ldns_rdf_clone(t->qname), t->qtype, LDNS_RR_CLASS_IN, 0);
	if (!qp)
		return -ENOMEM;
	t->id = (uint16_t)next_rand(p);
	ldns_pkt_set_id(qp, t->id);
	size_t len = 0;
	ldns_status st = ldns_pkt2wire(&t->wire, qp, &len);
	ldns_pkt_free(qp);
	if (st != LDNS_STATUS_OK)
		return -ENOMEM;
	t->try_no++;
	t->q.wire = t->wire;
	t->q.len = len;
	t->q.timeout_ms = p->cfg.timeout_ms;
	t->q.cb = on_reply;
	t->q.arg = t;
	t->q.proto = (p->cfg.tcp_every && t->round % p->cfg.tcp_every == 0) ? OST_PROTO_TCP
									    : OST_PROTO_UDP;
	t->sent_ms = ost_clock_mono_ms(p->clock);
	t->st.tries++;
	int rc = p->tp->ops->send(p->tp->ctx, &t->q);
	if (rc < 0) {
		LDNS_FREE(t->wire);
		t->wire = NULL;
		ost_log(OST_LOG_DEBUG, "probe", "send failed addr=%s err=\"%s\"", t->st.addr,
			ost_strerror(rc));
	}
	return rc;
}

static uint64_t jittered(struct ost_probe *p)
{
	double j = p->cfg.interval_ms * p->cfg.jitter;
	double u = (double)(next_rand(p) >> 11) / (double)(1ULL << 53); /* [0, 1) */
	return (uint64_t)(p->cfg.interval_ms - j + 2 * j * u);
}

static void probe_fire(void *arg)
{
	struct target *t = arg;
	struct ost_probe *p = t->p;
	t->timer = ost_clock_timer_start(p->clock, jittered(p), probe_fire, t);
	if (t->is_in_flight)
		return; /* cannot happen with valid settings; never stack probes */
	t->round++;
	t->is_in_flight = true;
	t->try_no = 0;
	if (send_try(t) < 0)
		finish(t, false, ost_clock_mono_ms(p->clock));
}

int ost_probe_start(struct ost_probe *p)
{
	if (p->is_running)
		return 0;
	p->is_running = true;
	/*
	 * The default window (10 s) needs 4 results per class to compute a
	 * ratio; with one probe every 3 s that takes at least 2 targets, and 3
	 * keep the no-flapping margin. Fewer is allowed (the passive signal
	 * still works) but the operator should know.
	 */
	unsigned per_class[OST_FO_CLASS_COUNT] = {0};
	for (size_t i = 0; i < p->n; i++)
		per_class[p->t[i]->cls]++;
	for (int c = OST_FO_ROOT; c <= OST_FO_FOREIGN; c++)
		if (per_class[c] < 3)
			ost_log(OST_LOG_WARN, "probe",
				"few probe targets, 3 or more per class recommended (fewer leave "
				"detection to passive traffic) class=%s targets=%u",
				ost_fo_class_str((enum ost_fo_class)c), per_class[c]);
	for (size_t i = 0; i < p->n; i++) {
		struct target *t = p->t[i];
		t->timer = ost_clock_timer_start(p->clock, next_rand(p) % p->cfg.interval_ms,
						 probe_fire, t);
		if (!t->timer) {
			ost_probe_stop(p);
			return -ENOMEM;
		}
	}
	return 0;
}

/*
 * A reload's new timing. Probes in flight finish with the timeout and tries
 * they were sent with (the tries count is read at each reply, so a lowered
 * one ends them sooner). With a new interval each waiting target is
 * re-armed at a random point of one new interval, as at start, so a
 * shortened interval applies now rather than after the old one, and the
 * targets stay spread.
 */
int ost_probe_set_config(struct ost_probe *p, const struct ost_probe_config *cfg)
{
	char err[160];
	if (ost_probe_config_check(cfg, err, sizeof(err)) < 0) {
		ost_log(OST_LOG_ERR, "probe", "new settings refused: %s", err);
		return -EINVAL;
	}
	bool is_new_interval = cfg->interval_ms != p->cfg.interval_ms;
	p->cfg = *cfg;
	if (!is_new_interval || !p->is_running)
		return 0;
	for (size_t i = 0; i < p->n; i++) {
		struct target *t = p->t[i];
		if (!t->timer)
			continue;
		ost_clock_timer_stop(p->clock, t->timer);
		t->timer = ost_clock_timer_start(p->clock, next_rand(p) % p->cfg.interval_ms,
						 probe_fire, t);
		if (!t->timer)
			return -ENOMEM;
	}
	return 0;
}

void ost_probe_stop(struct ost_probe *p)
{
	p->is_running = false;
	for (size_t i = 0; i < p->n; i++) {
		struct target *t = p->t[i];
		ost_clock_timer_stop(p->clock, t->timer);
		ost_clock_timer_stop(p->clock, t->retry);
		t->timer = t->retry = NULL;
		if (t->wire) {
			p->tp->ops->cancel(p->tp->ctx, &t->q);
			LDNS_FREE(t->wire);
			t->wire = NULL;
		}
		t->is_in_flight = false;
	}
}

void ost_probe_free(struct ost_probe *p)
{
	if (!p)
		return;
	ost_probe_stop(p);
	for (size_t i = 0; i < p->n; i++) {
		ldns_rdf_deep_free(p->t[i]->qname);
		free(p->t[i]);
	}
	free(p->t);
	free(p);
}

size_t ost_probe_count(const struct ost_probe *p)
{
	return p->n;
}

int ost_probe_stats(const struct ost_probe *p, size_t i, struct ost_probe_stats *out)
{
	if (i >= p->n)
		return -ENOENT;
	*out = p->t[i]->st;
	return 0;
}

int ost_probe_write(const struct ost_probe *p, bool is_json, struct ost_buf *b)
{
	if (is_json)
		ost_buf_printf(b, "[");
	for (size_t i = 0; i < p->n; i++) {
		const struct ost_probe_stats *s = &p->t[i]->st;
		if (is_json) {
			ost_buf_printf(b, "%s{\"addr\":", i ? "," : "");
			ost_buf_json_str(b, s->addr);
			ost_buf_printf(b, ",\"class\":\"%s\",\"qname\":", ost_fo_class_str(s->cls));
			ost_buf_json_str(b, s->qname);
			ost_buf_printf(b,
				       ",\"qtype\":%u,\"up\":%s,\"probes\":%llu,\"ok\":%llu,"
				       "\"tries\":%llu,\"spoofed\":%llu,\"last_rtt_ms\":%u}",
				       s->qtype, s->is_up ? "true" : "false",
				       (unsigned long long)s->probes, (unsigned long long)s->ok,
				       (unsigned long long)s->tries, (unsigned long long)s->spoofed,
				       s->last_rtt_ms);
		} else {
			ost_buf_printf(b, "  %-24s %-8s %-10s %-4s %s  %llu/%llu ok  rtt %u ms\n",
				       s->addr, ost_fo_class_str(s->cls), s->qname,
				       s->qtype == LDNS_RR_TYPE_NS ? "NS" : "SOA",
				       s->is_up ? "up  " : "down", (unsigned long long)s->ok,
				       (unsigned long long)s->probes, s->last_rtt_ms);
		}
	}
	if (is_json)
		ost_buf_printf(b, "]");
	return b->has_oom ? -ENOMEM : 0;
}
