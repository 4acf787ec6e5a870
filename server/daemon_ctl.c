/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ostrovd's control socket (brief "Interfaces users will script against"):
 * the executor that moves each request onto the main loop, and the handlers
 * that belong to the daemon rather than to control/: stats summed over the
 * workers, cache flush, reload and the zone commands.
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
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ostrov/control.h"
#include "ostrov/log.h"

#include "engine.h"
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

struct ost_daemon_ctl {
	uv_async_t async; /* wakes the loop for queued jobs; first member: freed on close */
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
	/* The same snapshot /metrics shows (server/metrics.c). */
	struct ost_server_snapshot *snap = malloc(sizeof(*snap));
	if (!snap)
		return -ENOMEM;
	ost_server_snapshot(c->server, snap);
	unsigned n = snap->n_workers;
	struct ost_stat_field f[OST_STAT_FIELDS];
	ost_stat_fields(&snap->sum, &snap->cache, f);
	free(snap);
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
	(void)req;
	(void)arg;
	ost_buf_printf(out, "reload is not supported yet: restart ostrovd to apply a new "
			    "configuration (the cache survives restarts)");
	return -ENOTSUP;
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
	ost_ctl_set_executor(c->d, exec_on_loop, c);
	ret = ost_ctl_server_start(path, c->d, &c->srv);
	if (ret < 0) {
		ost_log(OST_LOG_ERR, "control",
			"cannot create the control socket path=%s err=\"%s\"", path,
			ost_strerror(ret));
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
