/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ostrovd's control socket (brief "Interfaces users will script against"):
 * the executor that moves each request onto the main loop, and the handlers
 * that belong to the daemon rather than to control/: stats summed over the
 * workers, cache flush, reload (server/reload.c), negative trust anchors
 * (RFC 7646: `nta add|remove|list`, and a once-a-second timer that retires
 * the expired ones) and the zone commands.
 *
 * Why an executor: drill start/stop and isolate arm and stop timers on the
 * main clock, and libuv allows that only on the loop's own thread; status
 * reads the probes, which the loop writes. The socket thread therefore hands
 * each parsed request to the loop (uv_async_send) and sleeps on a condition
 * variable until the loop has run it. Shutdown must not join that thread
 * from the loop while it waits for the loop, so the join runs on the thread
 * pool (uv_queue_work) and the loop goes on serving the executor until the
 * socket thread is gone.
 */
#include "daemon_ctl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "ostrov/control.h"
#include "ostrov/log.h"

#include "engine.h"
#include "reload.h"
#include "resilience.h"
#include "worker.h"
#include "xfr_out.h"

/* One request waiting for the main loop. */
struct job {
	struct job *next;
	void (*fn)(void *);
	void *arg;
	bool is_done;
};

/* Period of the check that retires expired run-time NTAs. */
#define NTA_EXPIRE_MS 1000

struct ost_daemon_ctl {
	uv_async_t async;     /* wakes the loop for queued jobs; first member: freed on close */
	uv_timer_t nta_timer; /* retires expired NTAs (drops what they made insecure) */
	int open_handles;     /* async and timer: freed when both are closed */
	uv_work_t stop_work;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *queue; /* guarded by mu */
	bool is_closed;    /* guarded by mu: no loop to run jobs any more */
	struct ost_ctl_dispatch *d;
	struct ost_ctl_server *srv;
	struct ost_server *server;
	struct ost_resilience *res;
	void (*done)(void *);
	void *done_arg;
};

/* ---- the executor -------------------------------------------------------------------- */

static void run_queue(struct ost_daemon_ctl *c)
{
	pthread_mutex_lock(&c->mu);
	while (c->queue) {
		struct job *j = c->queue;
		c->queue = j->next;
		pthread_mutex_unlock(&c->mu);
		j->fn(j->arg);
		pthread_mutex_lock(&c->mu);
		j->is_done = true;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
}

static void on_async(uv_async_t *a)
{
	run_queue(a->data);
}

/* Called by the socket thread; returns once the loop ran @p fn. */
static void exec_on_loop(void *ctx, void (*fn)(void *), void *arg)
{
	struct ost_daemon_ctl *c = ctx;
	struct job j = {.fn = fn, .arg = arg};
	pthread_mutex_lock(&c->mu);
	if (c->is_closed) {
		/* Cannot happen: the socket thread is joined before the executor closes. */
		pthread_mutex_unlock(&c->mu);
		ost_log(OST_LOG_ERR, "control", "request after the executor closed: not run");
		return;
	}
	struct job **tail = &c->queue;
	while (*tail)
		tail = &(*tail)->next;
	*tail = &j;
	uv_async_send(&c->async);
	while (!j.is_done)
		pthread_cond_wait(&c->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
}

/* ---- handlers ------------------------------------------------------------------------ */

static int h_stats(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct ost_daemon_ctl *c = arg;
	struct ost_server *srv = c->server;
	struct ost_worker_counters sum;
	memset(&sum, 0, sizeof(sum));
	unsigned n = 0;
	for (unsigned i = 0; i < srv->n_workers; i++) {
		struct ost_worker_counters w;
		if (ost_worker_engine_counters(&srv->workers[i], &w) < 0)
			continue;
		n++;
		/* Every field is a uint64_t: add them as an array. */
		const uint64_t *src = (const uint64_t *)&w;
		uint64_t *dst = (uint64_t *)&sum;
		for (size_t k = 0; k < sizeof(sum) / sizeof(uint64_t); k++)
			dst[k] += src[k];
	}
	struct ost_cache_stats cs;
	memset(&cs, 0, sizeof(cs));
	if (srv->engine && srv->engine->cache)
		ost_cache_stats_get(srv->engine->cache, &cs);
	struct ost_stat_field f[OST_STAT_FIELDS];
	ost_stat_fields(&sum, &cs, f);
	if (req->is_json) {
		ost_buf_printf(out, "{\"workers\":%u", n);
		for (size_t i = 0; i < OST_STAT_FIELDS; i++)
			ost_buf_printf(out, ",\"%s\":%llu", f[i].key,
				       (unsigned long long)f[i].value);
		ost_buf_printf(out, "}\n");
	} else {
		ost_buf_printf(out, "%-20s %u\n", "workers", n);
		for (size_t i = 0; i < OST_STAT_FIELDS; i++)
			ost_buf_printf(out, "%-20s %llu\n", f[i].key,
				       (unsigned long long)f[i].value);
	}
	return out->has_oom ? -ENOMEM : 0;
}

_Static_assert(sizeof(struct ost_worker_counters) % sizeof(uint64_t) == 0,
	       "ost_worker_counters is summed as an array of uint64_t");

static int h_cache_flush(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct ost_daemon_ctl *c = arg;
	struct ost_cache *cache = c->server->engine ? c->server->engine->cache : NULL;
	if (!cache) {
		ost_buf_printf(out, "no cache configured (cache.path)");
		return -ENOENT;
	}
	ldns_rdf *name = NULL;
	if (req->has_name && ldns_str2rdf_dname(&name, req->name) != LDNS_STATUS_OK) {
		ost_buf_printf(out, "bad name '%s'", req->name);
		return -EINVAL;
	}
	int n = ost_cache_flush(cache, name ? ldns_rdf_data(name) : NULL);
	ldns_rdf_deep_free(name);
	if (n < 0) {
		ost_buf_printf(out, "cache flush failed: %s", ost_strerror(n));
		return n;
	}
	if (req->is_json)
		ost_buf_printf(out, "{\"ok\":true,\"removed\":%d}\n", n);
	else
		ost_buf_printf(out, "removed %d entries%s%s\n", n,
			       req->has_name ? " at and below " : "",
			       req->has_name ? req->name : "");
	return 0;
}

static int h_reload(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct ost_daemon_ctl *c = arg;
	return ost_reload(c->server, req->operator_name, req->is_json, out);
}

/* ---- negative trust anchors (RFC 7646) ------------------------------------------------ */

static void iso(int64_t t, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%lld", (long long)t);
}

static int64_t wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

/* The shared store, or NULL with a message when validation is off. */
static struct ost_ta_store *nta_store(struct ost_daemon_ctl *c, struct ost_buf *out)
{
	struct ost_engine *e = c->server->engine;
	if (!e || !e->anchors) {
		ost_buf_printf(out, "validation is off (resolver.validation): negative trust "
				    "anchors have nothing to switch off");
		return NULL;
	}
	return e->anchors;
}

static int nta_name(const struct ost_ctl_request *req, struct ost_buf *out, ldns_rdf **name)
{
	*name = NULL;
	if (ldns_str2rdf_dname(name, req->name) != LDNS_STATUS_OK) {
		ost_buf_printf(out, "bad name '%s'", req->name);
		return -EINVAL;
	}
	ldns_dname2canonical(*name);
	return 0;
}

static void nta_perm(struct ost_buf *out, const char *name)
{
	ost_buf_printf(out,
		       "%s is a configured negative trust anchor (resolver.negative-trust-"
		       "anchors): change the file and reload",
		       name);
}

static int h_nta_add(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct ost_daemon_ctl *c = arg;
	struct ost_ta_store *s = nta_store(c, out);
	if (!s)
		return -ENOTSUP;
	const struct ost_config *cfg = ost_reload_live_cfg(c->server);
	uint32_t d = req->has_duration ? req->duration_s : cfg->resolver.nta_lifetime_s;
	if (d > cfg->resolver.nta_max_lifetime_s) {
		ost_buf_printf(out, "duration %u s is longer than resolver.nta-max-lifetime (%u s)",
			       d, cfg->resolver.nta_max_lifetime_s);
		return -EINVAL;
	}
	ldns_rdf *name;
	int rc = nta_name(req, out, &name);
	if (rc < 0)
		return rc;
	struct ost_nta_info n = {.source = OST_NTA_RUNTIME, .until = wall_now() + (int64_t)d};
	char *text = ldns_rdf2str(name);
	snprintf(n.name, sizeof(n.name), "%s", text ? text : req->name);
	free(text);
	rc = ost_ta_nta_add(s, name, n.until);
	ldns_rdf_deep_free(name);
	if (rc == -EPERM) {
		nta_perm(out, n.name);
		return rc;
	}
	if (rc == -ENOSPC) {
		ost_buf_printf(out, "too many negative trust anchors: remove some first");
		return rc;
	}
	if (rc < 0)
		return rc;
	/* Drop the bogus answers and RFC 9520 failures cached under it: the next
	 * query is validated again, and the NTA makes it insecure. */
	int flushed = ost_nta_event(c->server->engine, "nta_add", &n, req->operator_name);
	char when[40];
	iso(n.until, when, sizeof(when));
	if (req->is_json) {
		ost_buf_printf(out, "{\"ok\":true,\"zone\":");
		ost_buf_json_str(out, n.name);
		ost_buf_printf(out,
			       ",\"source\":\"runtime\",\"until\":%lld,\"until_iso\":\"%s\","
			       "\"seconds\":%u,\"cache_flushed\":%d}\n",
			       (long long)n.until, when, d, flushed < 0 ? 0 : flushed);
	} else {
		ost_buf_printf(
			out,
			"negative trust anchor %s until %s (%u s): names at and below it are "
			"answered without validation (no AD); %d cached entries dropped\n",
			n.name, when, d, flushed < 0 ? 0 : flushed);
	}
	return 0;
}

static int h_nta_remove(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct ost_daemon_ctl *c = arg;
	struct ost_ta_store *s = nta_store(c, out);
	if (!s)
		return -ENOTSUP;
	ldns_rdf *name;
	int rc = nta_name(req, out, &name);
	if (rc < 0)
		return rc;
	struct ost_nta_info n = {.source = OST_NTA_RUNTIME, .until = wall_now()};
	char *text = ldns_rdf2str(name);
	snprintf(n.name, sizeof(n.name), "%s", text ? text : req->name);
	free(text);
	rc = ost_ta_nta_remove(s, name);
	ldns_rdf_deep_free(name);
	if (rc == -EPERM) {
		nta_perm(out, n.name);
		return rc;
	}
	if (rc == -ENOENT) {
		ost_buf_printf(out, "no negative trust anchor for %s", n.name);
		return rc;
	}
	if (rc < 0)
		return rc;
	/* Answers cached as insecure because of it must be validated again. */
	int flushed = ost_nta_event(c->server->engine, "nta_remove", &n, req->operator_name);
	if (req->is_json) {
		ost_buf_printf(out, "{\"ok\":true,\"zone\":");
		ost_buf_json_str(out, n.name);
		ost_buf_printf(out, ",\"removed\":true,\"cache_flushed\":%d}\n",
			       flushed < 0 ? 0 : flushed);
	} else {
		ost_buf_printf(out,
			       "negative trust anchor %s removed: names under it are validated "
			       "again; %d cached entries dropped\n",
			       n.name, flushed < 0 ? 0 : flushed);
	}
	return 0;
}

static int h_nta_list(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct ost_daemon_ctl *c = arg;
	struct ost_ta_store *s = nta_store(c, out);
	if (!s)
		return -ENOTSUP;
	int64_t now = wall_now();
	size_t n = ost_ta_nta_list(s, now, NULL, 0);
	struct ost_nta_info *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = ost_ta_nta_list(s, now, v, n);
	if (req->is_json)
		ost_buf_printf(out, "{\"ok\":true,\"ntas\":[");
	else if (n == 0)
		ost_buf_printf(out, "no negative trust anchors\n");
	else
		ost_buf_printf(out, "%-40s %-8s %s\n", "NAME", "SOURCE", "SECONDS-LEFT");
	for (size_t i = 0; i < n; i++) {
		const struct ost_nta_info *x = &v[i];
		bool is_forever = x->until == OST_NTA_FOREVER;
		long long left = is_forever ? -1 : (long long)(x->until - now);
		if (req->is_json) {
			ost_buf_printf(out, "%s{\"name\":", i ? "," : "");
			ost_buf_json_str(out, x->name);
			ost_buf_printf(out, ",\"source\":\"%s\",\"seconds_left\":",
				       ost_nta_source_str(x->source));
			if (is_forever)
				ost_buf_printf(out, "null}");
			else
				ost_buf_printf(out, "%lld}", left);
		} else if (is_forever) {
			ost_buf_printf(out, "%-40s %-8s %s\n", x->name,
				       ost_nta_source_str(x->source), "never");
		} else {
			ost_buf_printf(out, "%-40s %-8s %lld\n", x->name,
				       ost_nta_source_str(x->source), left);
		}
	}
	if (req->is_json)
		ost_buf_printf(out, "]}\n");
	free(v);
	return out->has_oom ? -ENOMEM : 0;
}

/* RFC 7646 §2: a run-time NTA ends by itself; what it made insecure goes with it. */
static void on_nta_timer(uv_timer_t *t)
{
	struct ost_daemon_ctl *c = t->data;
	struct ost_engine *e = c->server->engine;
	if (!e || !e->anchors)
		return;
	struct ost_nta_info v[16];
	size_t n = ost_ta_nta_expire(e->anchors, wall_now(), v, 16);
	for (size_t i = 0; i < n && i < 16; i++)
		(void)ost_nta_event(e, "nta_expire", &v[i], NULL);
	if (n > 16)
		uv_timer_start(t, on_nta_timer, 0, NTA_EXPIRE_MS);
}

static int h_zone(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	(void)arg;
	if (req->cmd == OST_CTL_ZONE_LIST && req->is_json) {
		ost_buf_printf(out, "{\"zones\":[]}\n");
		return 0;
	}
	if (req->cmd == OST_CTL_ZONE_LIST) {
		ost_buf_printf(out, "no mirror configured\n");
		return 0;
	}
	ost_buf_printf(out, "no mirror configured: '%s' needs a mirror: section",
		       ost_ctl_cmd_str(req->cmd));
	return -ENOENT;
}

/* ---- life cycle ---------------------------------------------------------------------- */

static void ctl_free(struct ost_daemon_ctl *c)
{
	ost_ctl_dispatch_free(c->d);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}

static void on_async_closed(uv_handle_t *h)
{
	struct ost_daemon_ctl *c = h->data;
	if (--c->open_handles > 0)
		return;
	void (*done)(void *) = c->done;
	void *done_arg = c->done_arg;
	ctl_free(c);
	if (done)
		done(done_arg);
}

int ost_daemon_ctl_start(uv_loop_t *loop, struct ost_server *srv, struct ost_resilience *res,
			 struct ost_mirror_srv *msrv, struct ost_daemon_ctl **out)
{
	*out = NULL;
	const char *path = srv->cfg->server.control_socket;
	if (!path)
		return 0;
	struct ost_daemon_ctl *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->server = srv;
	c->res = res;
	c->d = ost_ctl_dispatch_new();
	int ret = c->d ? 0 : -ENOMEM;
	if (ret == 0 && res)
		ret = ost_ctl_register_failover(c->d, res->fo, res->probe);
	if (ret == 0 && res)
		ret = ost_ctl_register_drill(c->d, res->drill);
	if (ret == 0)
		ret = ost_ctl_register(c->d, OST_CTL_STATS, h_stats, c);
	if (ret == 0)
		ret = ost_ctl_register(c->d, OST_CTL_CACHE_FLUSH, h_cache_flush, c);
	if (ret == 0)
		ret = ost_ctl_register(c->d, OST_CTL_RELOAD, h_reload, c);
	if (ret == 0)
		ret = ost_ctl_register(c->d, OST_CTL_NTA_ADD, h_nta_add, c);
	if (ret == 0)
		ret = ost_ctl_register(c->d, OST_CTL_NTA_REMOVE, h_nta_remove, c);
	if (ret == 0)
		ret = ost_ctl_register(c->d, OST_CTL_NTA_LIST, h_nta_list, c);
	for (int k = OST_CTL_ZONE_LIST; ret == 0 && k <= OST_CTL_ZONE_IMPORT; k++)
		ret = ost_ctl_register(c->d, (enum ost_ctl_cmd)k, h_zone, c);
	/* The mirror's own handlers replace the "no mirror configured" ones. */
	if (ret == 0 && msrv)
		ret = ost_mirror_srv_register_ctl(msrv, c->d);
	if (ret < 0) {
		ctl_free(c);
		return ret;
	}
	ret = uv_async_init(loop, &c->async, on_async);
	if (ret < 0) {
		ctl_free(c);
		return ret;
	}
	c->async.data = c;
	c->open_handles = 1;
	uv_timer_init(loop, &c->nta_timer);
	c->nta_timer.data = c;
	c->open_handles++;
	uv_timer_start(&c->nta_timer, on_nta_timer, NTA_EXPIRE_MS, NTA_EXPIRE_MS);
	ost_ctl_set_executor(c->d, exec_on_loop, c);
	ret = ost_ctl_server_start(path, c->d, &c->srv);
	if (ret < 0) {
		ost_log(OST_LOG_ERR, "control",
			"cannot create the control socket path=%s err=\"%s\"", path,
			ost_strerror(ret));
		uv_close((uv_handle_t *)&c->nta_timer, on_async_closed);
		uv_close((uv_handle_t *)&c->async, on_async_closed);
		return ret;
	}
	*out = c;
	return 0;
}

static void stop_work(uv_work_t *req)
{
	struct ost_daemon_ctl *c = req->data;
	ost_ctl_server_stop(c->srv);
}

static void stop_after(uv_work_t *req, int status)
{
	(void)status;
	struct ost_daemon_ctl *c = req->data;
	c->srv = NULL;
	/* Jobs queued after the last wake-up would wait forever: run them now. */
	run_queue(c);
	pthread_mutex_lock(&c->mu);
	c->is_closed = true;
	pthread_mutex_unlock(&c->mu);
	uv_close((uv_handle_t *)&c->nta_timer, on_async_closed);
	uv_close((uv_handle_t *)&c->async, on_async_closed);
}

void ost_daemon_ctl_stop(struct ost_daemon_ctl *c, void (*done)(void *arg), void *arg)
{
	if (!c) {
		if (done)
			done(arg);
		return;
	}
	c->done = done;
	c->done_arg = arg;
	c->stop_work.data = c;
	if (uv_queue_work(c->async.loop, &c->stop_work, stop_work, stop_after) < 0) {
		/* No thread pool: join here; a request in flight cannot complete, so
		 * this only happens when nothing else works either. */
		stop_work(&c->stop_work);
		stop_after(&c->stop_work, 0);
	}
}
