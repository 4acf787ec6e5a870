/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The step driver: runs one parsed scenario against a resolver reached
 * through struct rpl_resolver_ops, on the fake clock and fake network.
 *
 * Steps run in file order; the fake network answers with the RANGEs active
 * at the current step. After each step the driver pumps the network until
 * nothing moves. CHECK_ANSWER accepts any not yet checked answer that
 * matches (testbound: answers may arrive in any order); while none does and
 * client queries are still outstanding it lets time run, one timer at a
 * time (upstream timeouts included), so a resolver that must wait for a
 * timeout gets to do so without any real waiting. The scenario passes when
 * every step succeeded, every answer was checked and every MANDATORY entry
 * was used (FORMAT.md §6).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rpl.h"

/** Upper bound on timer firings while waiting for one answer. */
#define MAX_WAIT_FIRINGS 10000

/** Date used when a scenario pins none: 2020-01-01T00:00:00Z (deterministic). */
#define DEFAULT_WALL_S 1577836800

struct run;

/** One client query sent to the resolver. */
struct client_query {
	struct run *run;  /**< back pointer for the callback */
	long step;        /**< QUERY step */
	uint16_t id;      /**< message ID */
	bool is_answered; /**< the callback came */
};

/** One answer received from the resolver. */
struct client_answer {
	struct client_query *cq; /**< its query */
	ldns_pkt *pkt;           /**< parsed answer, NULL if unparseable */
	bool is_checked;         /**< consumed by a CHECK_ANSWER */
};

struct run {
	struct rpl_scenario *sc;
	const struct rpl_resolver_ops *ops;
	void *res;
	struct fake_clock clock;
	struct rpl_net net;
	FILE *log;
	bool verbose;
	struct client_query **queries;
	size_t nqueries;
	struct client_answer *answers;
	size_t nanswers;
	bool oom;
};

__attribute__((format(printf, 3, 4))) static bool step_fail(struct run *r, const struct rpl_step *s,
							    const char *fmt, ...)
{
	va_list ap;

	fprintf(r->log, "FAIL %s: step %ld %s (line %d): ", r->sc->path, s->num,
		rpl_step_type_str(s->type), s->line);
	va_start(ap, fmt);
	vfprintf(r->log, fmt, ap);
	va_end(ap);
	fputc('\n', r->log);
	return false;
}

void rpl_clock_init(struct fake_clock *c, int64_t wall_s)
{
	fake_clock_init(c, 0);
	fake_clock_set_wall(c, wall_s);
}

/** Let the network deliver what it can, then give the resolver its tick. */
static void pump(struct run *r)
{
	rpl_net_pump(&r->net);
	if (r->ops->tick)
		r->ops->tick(r->res);
}

static void on_answer(void *arg, const uint8_t *wire, size_t len)
{
	struct client_query *cq = arg;
	struct run *r = cq->run;
	struct client_answer *a;

	if (cq->is_answered) {
		fprintf(r->log, "  note: second answer to the query of step %ld ignored\n",
			cq->step);
		return;
	}
	cq->is_answered = true;
	a = realloc(r->answers, (r->nanswers + 1) * sizeof(*a));
	if (!a) {
		r->oom = true;
		return;
	}
	r->answers = a;
	a = &r->answers[r->nanswers++];
	memset(a, 0, sizeof(*a));
	a->cq = cq;
	if (ldns_wire2pkt(&a->pkt, wire, len) != LDNS_STATUS_OK)
		a->pkt = NULL;
	if (r->verbose)
		fprintf(r->log, "  [client] answer to the query of step %ld (%zu bytes)\n",
			cq->step, len);
}

static size_t outstanding(const struct run *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nqueries; i++)
		n += !r->queries[i]->is_answered;
	return n;
}

static bool do_query(struct run *r, const struct rpl_step *s)
{
	struct client_query *cq = calloc(1, sizeof(*cq)), **q;
	uint8_t *wire = NULL;
	size_t len;
	int ret;

	if (!cq)
		return step_fail(r, s, "out of memory");
	q = realloc(r->queries, (r->nqueries + 1) * sizeof(*q));
	if (!q) {
		free(cq);
		return step_fail(r, s, "out of memory");
	}
	r->queries = q;
	r->queries[r->nqueries++] = cq;
	cq->run = r;
	cq->step = s->num;
	cq->id = (uint16_t)(0x4000 + r->nqueries);
	if (!ldns_pkt_qdcount(s->entry->pkt))
		return step_fail(r, s, "QUERY without a question");
	if ((ret = rpl_entry_query(s->entry, cq->id, &wire, &len)) != 0)
		return step_fail(r, s, "cannot build the query: %s", strerror(-ret));
	ret = r->ops->query(r->res, wire, len, on_answer, cq);
	free(wire);
	if (ret != 0)
		return step_fail(r, s, "the resolver refused the query: %d", ret);
	pump(r);
	return true;
}

static void print_pkt(FILE *f, const char *title, const ldns_pkt *p)
{
	char *s = p ? ldns_pkt2str(p) : NULL;

	fprintf(f, "  --- %s ---\n%s", title, s ? s : "(unparseable)\n");
	free(s);
}

static bool do_check_answer(struct run *r, const struct rpl_step *s)
{
	char why[1024] = "";

	for (int i = 0; i < MAX_WAIT_FIRINGS; i++) {
		pump(r);
		for (size_t j = 0; j < r->nanswers; j++) {
			struct client_answer *a = &r->answers[j];
			if (a->is_checked || !a->pkt)
				continue;
			if (rpl_match(s->entry, a->pkt, OST_PROTO_UDP, why, sizeof(why))) {
				a->is_checked = true;
				return true;
			}
		}
		if (outstanding(r) == 0 || !fake_clock_fire_next(&r->clock))
			break;
	}
	for (size_t j = 0; j < r->nanswers; j++) {
		struct client_answer *a = &r->answers[j];
		if (a->is_checked)
			continue;
		if (a->pkt)
			rpl_match(s->entry, a->pkt, OST_PROTO_UDP, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "unparseable answer");
		step_fail(r, s, "the answer to the query of step %ld does not match: %s",
			  a->cq->step, why);
		print_pkt(r->log, "expected", s->entry->pkt);
		print_pkt(r->log, "got", a->pkt);
		return false;
	}
	return step_fail(r, s,
			 "no answer (%zu client queries outstanding, %zu upstream queries "
			 "pending, %zu timers armed)",
			 outstanding(r), rpl_net_pending(&r->net), fake_clock_armed(&r->clock));
}

/** Let pending traffic flow until quiet (TRAFFIC), timers included. */
static void run_until_quiet(struct run *r)
{
	for (int i = 0; i < MAX_WAIT_FIRINGS; i++) {
		pump(r);
		if (rpl_net_pending(&r->net) == 0 && outstanding(r) == 0)
			break;
		if (!fake_clock_fire_next(&r->clock))
			break;
	}
}

static bool do_step(struct run *r, const struct rpl_step *s)
{
	char why[2048];

	r->net.step = s->num;
	if (r->verbose)
		fprintf(r->log, "  step %ld %s\n", s->num, s->type_word);
	switch (s->type) {
	case RPL_STEP_QUERY:
		return do_query(r, s);
	case RPL_STEP_CHECK_ANSWER:
		return do_check_answer(r, s);
	case RPL_STEP_CHECK_OUT_QUERY:
		pump(r);
		if (rpl_net_check_out(&r->net, s->entry, why, sizeof(why)) != 0) {
			step_fail(r, s, "no upstream query matches; %s", why);
			print_pkt(r->log, "expected", s->entry->pkt);
			return false;
		}
		return true;
	case RPL_STEP_REPLY:
		pump(r);
		if (rpl_net_reply(&r->net, s->entry) != 0)
			return step_fail(r, s, "no pending upstream query to answer (%zu pending)",
					 rpl_net_pending(&r->net));
		pump(r);
		return true;
	case RPL_STEP_TIME_PASSES:
		fake_clock_advance(&r->clock, s->elapse_ms);
		pump(r);
		return true;
	case RPL_STEP_TIMEOUT:
		pump(r);
		if (rpl_net_timeout_oldest(&r->net) != 0)
			return step_fail(r, s, "no pending upstream query to time out");
		pump(r);
		return true;
	case RPL_STEP_TRAFFIC:
		run_until_quiet(r);
		return true;
	case RPL_STEP_NOTHING:
		pump(r);
		return true;
	case RPL_STEP_UNSUPPORTED:
	case RPL_STEP_COUNT:
		break;
	}
	return step_fail(r, s, "step type %s %s is testbound-only and not supported", s->type_word,
			 s->arg);
}

/** End-of-scenario checks: every answer checked, every MANDATORY entry used. */
static bool final_checks(struct run *r)
{
	bool ok = true;

	pump(r);
	for (size_t j = 0; j < r->nanswers; j++) {
		if (r->answers[j].is_checked)
			continue;
		fprintf(r->log, "FAIL %s: the answer to the query of step %ld was never checked\n",
			r->sc->path, r->answers[j].cq->step);
		print_pkt(r->log, "unchecked answer", r->answers[j].pkt);
		ok = false;
	}
	for (size_t i = 0; i < r->sc->nranges; i++)
		for (struct rpl_entry *e = r->sc->ranges[i].entries; e; e = e->next)
			if (e->is_mandatory && !e->used) {
				fprintf(r->log, "FAIL %s: MANDATORY entry at line %d never used\n",
					r->sc->path, e->line);
				ok = false;
			}
	/* Queries no RANGE could answer are allowed (they timed out) but reported. */
	for (size_t i = 0; i < r->net.nlog; i++) {
		const struct rpl_outq *o = r->net.log[i];
		char addr[80];
		if (o->had_range_answer || o->state == RPL_OUTQ_ANSWERED)
			continue;
		rpl_addr_str(&o->addr, addr, sizeof(addr));
		char *q = o->pkt && ldns_pkt_qdcount(o->pkt)
				  ? ldns_rr2str(ldns_rr_list_rr(ldns_pkt_question(o->pkt), 0))
				  : NULL;
		fprintf(r->log, "  note: unscripted upstream query at step %ld to %s: %s%s",
			o->step, addr, q ? q : "(unparseable)\n",
			o->state == RPL_OUTQ_CANCELLED ? "" : "");
		free(q);
	}
	return ok;
}

enum rpl_verdict rpl_run(struct rpl_scenario *sc, const struct rpl_resolver_ops *ops, FILE *log,
			 bool verbose)
{
	struct run r = {.sc = sc, .ops = ops, .log = log, .verbose = verbose};
	struct rpl_settings set;
	enum rpl_verdict v = RPL_ERROR;
	char err[512] = "";
	bool ok = true;
	int ret;

	if ((ret = rpl_settings_init(&set, sc, err, sizeof(err))) != 0) {
		fprintf(log, "ERROR %s: config: %s\n", sc->path, err);
		return RPL_ERROR;
	}
	if ((ret = rpl_tempfiles_write(sc)) != 0) {
		fprintf(log, "ERROR %s: cannot write temp files: %s\n", sc->path, strerror(-ret));
		rpl_settings_deinit(&set);
		return RPL_ERROR;
	}
	rpl_clock_init(&r.clock, set.has_override_time ? set.override_time : DEFAULT_WALL_S);
	rpl_net_init(&r.net, sc, &r.clock);
	r.net.trace = verbose ? log : NULL;
	r.net.is_reply_routed = !set.is_deckard;
	ret = ops->open(&r.res, &set, sc, &r.clock.clock, &r.net.tp, err, sizeof(err));
	if (ret != 0) {
		fprintf(log, "FAIL %s: the %s resolver cannot run this scenario: %s\n", sc->path,
			ops->name, err[0] ? err : strerror(-ret));
		v = RPL_FAIL;
		goto out;
	}
	for (size_t i = 0; i < sc->nsteps && ok; i++) {
		ok = do_step(&r, &sc->steps[i]);
		if (r.oom) {
			fprintf(log, "ERROR %s: out of memory\n", sc->path);
			ok = false;
		}
	}
	if (ok)
		ok = final_checks(&r);
	v = ok ? RPL_PASS : RPL_FAIL;
	ops->close(r.res);
out:
	rpl_net_deinit(&r.net);
	fake_clock_deinit(&r.clock);
	for (size_t i = 0; i < r.nanswers; i++)
		ldns_pkt_free(r.answers[i].pkt);
	free(r.answers);
	for (size_t i = 0; i < r.nqueries; i++)
		free(r.queries[i]);
	free(r.queries);
	rpl_settings_deinit(&set);
	return v;
}
