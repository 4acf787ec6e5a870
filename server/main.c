/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ostrovd: read the configuration, bind every listen address, start the
 * workers, and wait in the main loop for SIGTERM or SIGINT to shut down
 * cleanly; SIGHUP reloads the configuration as `ostrovctl reload` does
 * (server/reload.c). All sockets are bound here, before any thread starts, so that a
 * port in use or an address that is not local ends the daemon at once with
 * exit code 2 and a message naming the address.
 *
 * Exit codes: 0 after a clean shutdown or a good --check-config, 1 on an
 * internal failure, 2 for a bad or unreadable configuration or a failed bind.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "ostrov/config.h"
#include "ostrov/log.h"

#include "daemon_ctl.h"
#include "engine.h"
#include "metrics.h"
#include "reload.h"
#include "resilience.h"
#include "worker.h"
#include "xfr_out.h"

#define EXIT_CONFIG 2

static void usage(FILE *f)
{
	fprintf(f, "usage: ostrovd -c FILE [--check-config]\n"
		   "  -c, --config FILE   configuration file (YAML)\n"
		   "  -t, --check-config  check the configuration and exit\n"
		   "  -h, --help          this text\n");
}

struct main_ctx {
	uv_loop_t loop;
	uv_signal_t sigterm;
	uv_signal_t sigint;
	uv_signal_t sigusr1;
	uv_signal_t sighup;
	struct ost_server *srv;
	struct ost_resilience *res;      /* or NULL */
	struct ost_daemon_ctl *ctl;      /* or NULL */
	struct ost_metrics_srv *metrics; /* or NULL */
	bool is_stopping;
};

/*
 * Second half of the shutdown, once the control socket is gone (no request
 * can reach the failover machine or the workers any more): stop the workers
 * and leave the loop. The failover machine's timers keep the loop alive, so
 * uv_stop() ends uv_run(); run() then joins the workers and frees the rest.
 */
static void shutdown_rest(void *arg)
{
	struct main_ctx *m = arg;
	m->ctl = NULL;
	ost_metrics_srv_stop(m->metrics);
	m->metrics = NULL;
	for (unsigned i = 0; i < m->srv->n_workers; i++)
		ost_worker_stop(&m->srv->workers[i]);
	uv_close((uv_handle_t *)&m->sigterm, NULL);
	uv_close((uv_handle_t *)&m->sigint, NULL);
	uv_close((uv_handle_t *)&m->sigusr1, NULL);
	uv_close((uv_handle_t *)&m->sighup, NULL);
	uv_stop(&m->loop);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct main_ctx *m = s->data;
	if (m->is_stopping)
		return;
	m->is_stopping = true;
	ost_log(OST_LOG_INFO, "server", "shutting down signal=%s", strsignal(signum));
	if (m->res)
		ost_resilience_stop(m->res);
	ost_daemon_ctl_stop(m->ctl, shutdown_rest, m);
}

/* SIGUSR1: every worker logs one statistics line in its own thread. */
static void on_sigusr1(uv_signal_t *s, int signum)
{
	(void)signum;
	struct main_ctx *m = s->data;
	for (unsigned i = 0; i < m->srv->n_workers; i++)
		ost_worker_engine_request_stats(&m->srv->workers[i]);
}

/* SIGHUP: reload; the outcome is in the log (ost_reload() writes it). */
static void on_sighup(uv_signal_t *s, int signum)
{
	(void)signum;
	struct main_ctx *m = s->data;
	if (m->is_stopping)
		return;
	struct ost_buf out = {0};
	int rc = ost_reload(m->srv, "signal:SIGHUP", false, &out);
	if (rc < 0 && rc != OST_ECONFIG)
		ost_log(OST_LOG_ERR, "server", "reload failed err=\"%s\"", ost_strerror(rc));
	ost_buf_deinit(&out);
}

/* Bind everything; on failure log the address and return a negative errno. */
static int bind_all(const struct ost_config *cfg, unsigned n_workers, int *tcp_fds, int *udp_fds)
{
	size_t n = cfg->server.n_listen;
	for (size_t i = 0; i < n; i++) {
		const struct ost_addr *a = &cfg->server.listen[i];
		/* TCP first: its listener (no SO_REUSEPORT) is what detects a second daemon. */
		int fd = ost_tcp_socket(a);
		if (fd < 0) {
			ost_log(OST_LOG_ERR, "server", "cannot bind addr=%s proto=tcp err=\"%s\"",
				a->text, strerror(-fd));
			return fd;
		}
		tcp_fds[i] = fd;
		for (unsigned k = 0; k < n_workers; k++) {
			fd = ost_udp_socket(a);
			if (fd < 0) {
				ost_log(OST_LOG_ERR, "server",
					"cannot bind addr=%s proto=udp err=\"%s\"", a->text,
					strerror(-fd));
				return fd;
			}
			udp_fds[k * n + i] = fd;
		}
	}
	return 0;
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int run(const struct ost_config *cfg)
{
	int rc = 1;
	struct ost_engine engine;
	memset(&engine, 0, sizeof(engine));
	unsigned n_workers = cfg->server.workers ? cfg->server.workers : uv_available_parallelism();
	size_t n = cfg->server.n_listen;
	struct ost_server srv = {.cfg = cfg, .n_workers = n_workers, .engine = &engine};
	atomic_init(&srv.tcp_conns, 0);
	int *tcp_fds = malloc(n * sizeof(int));
	int *udp_fds = malloc(n * n_workers * sizeof(int));
	srv.workers = calloc(n_workers, sizeof(*srv.workers));
	unsigned started = 0, inited = 0;
	struct main_ctx m = {.srv = &srv};
	struct ost_resilience res;
	memset(&res, 0, sizeof(res));
	struct ost_mirror_srv msrv; /* zone mirror (xfr_out.c) */
	memset(&msrv, 0, sizeof(msrv));
	bool has_mirror = false;
	bool loop_ok = false, res_ok = false;
	int metrics_fd = -1;
	if (!tcp_fds || !udp_fds || !srv.workers) {
		ost_log(OST_LOG_ERR, "server", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		tcp_fds[i] = -1;
	for (size_t i = 0; i < n * n_workers; i++)
		udp_fds[i] = -1;
	if (bind_all(cfg, n_workers, tcp_fds, udp_fds) < 0) {
		close_fds(udp_fds, n * n_workers);
		rc = EXIT_CONFIG;
		goto out;
	}
	/* The /metrics endpoint's socket with the others: a busy port is a start-up error. */
	if (cfg->server.metrics_listen.len) {
		metrics_fd = ost_tcp_socket(&cfg->server.metrics_listen);
		if (metrics_fd < 0) {
			ost_log(OST_LOG_ERR, "server",
				"cannot bind addr=%s proto=tcp what=metrics err=\"%s\"",
				cfg->server.metrics_listen.text, strerror(-metrics_fd));
			close_fds(udp_fds, n * n_workers);
			rc = EXIT_CONFIG;
			goto out;
		}
	}
	/* After the binds: a second daemon on the same address never touches the cache. */
	char err[1024];
	int eret = ost_engine_open(&engine, cfg, err, sizeof(err));
	if (eret < 0) {
		ost_log(OST_LOG_ERR, "server", "%s", err);
		close_fds(udp_fds, n * n_workers);
		rc = eret == OST_ECONFIG ? EXIT_CONFIG : 1;
		goto out;
	}
	/* >>> zone mirror (xfr_out.c): before the workers, whose resolvers get it. */
	if (cfg->mirror.n_zones > 0) {
		eret = ost_mirror_srv_open(&msrv, cfg, &engine.clock, err, sizeof(err));
		if (eret == 0)
			eret = ost_mirror_srv_start(&msrv, err, sizeof(err));
		has_mirror = true;
		if (eret < 0) {
			ost_log(OST_LOG_ERR, "server", "%s", err);
			close_fds(udp_fds, n * n_workers);
			rc = EXIT_CONFIG;
			goto out;
		}
		engine.rcfg.mirror = msrv.m;
		engine.rcfg.mirror_store = msrv.store;
		engine.rcfg.mirror_rrsig_margin_s = cfg->resilience.fo.rrsig_margin_s;
	}
	/* <<< zone mirror */
	if (uv_loop_init(&m.loop) < 0) {
		close_fds(udp_fds, n * n_workers);
		goto out;
	}
	loop_ok = true;
	uv_signal_init(&m.loop, &m.sigterm);
	uv_signal_init(&m.loop, &m.sigint);
	uv_signal_init(&m.loop, &m.sigusr1);
	uv_signal_init(&m.loop, &m.sighup);
	m.sigterm.data = m.sigint.data = m.sigusr1.data = m.sighup.data = &m;
	if (ost_engine_can_resolve(&engine)) {
		/* Before the workers: each resolves through a drill face, under the machine's
		 * policy. */
		eret = ost_resilience_open(&res, &m.loop, cfg, &engine, err, sizeof(err));
		res_ok = true;
		if (eret < 0) {
			ost_log(OST_LOG_ERR, "server", "%s", err);
			close_fds(udp_fds, n * n_workers);
			rc = eret == OST_ECONFIG ? EXIT_CONFIG : 1;
			goto out;
		}
		engine.res = &res;
		engine.rcfg.policy = &res.policy;
		m.res = &res;
		if (has_mirror)
			ost_resilience_attach_mirror(&res, msrv.m);
	}
	for (; inited < n_workers; inited++) {
		int ret = ost_worker_init(&srv.workers[inited], &srv, inited, udp_fds + inited * n,
					  tcp_fds);
		/* The worker took over its UDP sockets, whether it succeeded or not. */
		for (size_t i = 0; i < n; i++)
			udp_fds[inited * n + i] = -1;
		if (ret < 0) {
			ost_log(OST_LOG_ERR, "server", "worker setup failed worker=%u err=\"%s\"",
				inited, ost_strerror(ret));
			inited++;
			goto out;
		}
	}
	/* Every worker holds its own dup() of the TCP listeners now. */
	close_fds(tcp_fds, n);
	for (size_t i = 0; i < n; i++)
		tcp_fds[i] = -1;
	uv_signal_start(&m.sigterm, on_signal, SIGTERM);
	uv_signal_start(&m.sigint, on_signal, SIGINT);
	uv_signal_start(&m.sigusr1, on_sigusr1, SIGUSR1);
	uv_signal_start(&m.sighup, on_sighup, SIGHUP);
	for (; started < n_workers; started++) {
		int ret = ost_worker_start(&srv.workers[started]);
		if (ret < 0) {
			ost_log(OST_LOG_ERR, "server", "cannot start worker=%u err=\"%s\"", started,
				uv_strerror(ret));
			goto out;
		}
	}
	if (m.res) {
		int ret = ost_resilience_start(m.res);
		if (ret < 0) {
			ost_log(OST_LOG_ERR, "server", "cannot start the probes err=\"%s\"",
				ost_strerror(ret));
			goto out;
		}
	}
	if (metrics_fd >= 0) {
		struct ost_metrics_sources msrc = {
			.fo = m.res ? m.res->fo : NULL,
			.drill = m.res ? m.res->drill : NULL,
			.mirror = has_mirror ? msrv.m : NULL,
			.clock = &engine.clock,
		};
		int fd = metrics_fd;
		metrics_fd = -1; /* taken over, closed on failure too */
		int mret = ost_metrics_srv_start(&m.loop, fd, &srv, &msrc, &m.metrics);
		if (mret < 0) {
			ost_log(OST_LOG_ERR, "server", "cannot serve metrics addr=%s err=\"%s\"",
				cfg->server.metrics_listen.text, ost_strerror(mret));
			goto out;
		}
	}
	/* The control socket (mode 0600) once everything it reaches exists. */
	int cret = ost_daemon_ctl_start(&m.loop, &srv, m.res, has_mirror ? &msrv : NULL, &m.ctl);
	if (cret < 0) {
		rc = EXIT_CONFIG;
		goto out;
	}
	ost_log(OST_LOG_INFO, "server", "started workers=%u listen=%zu", n_workers, n);
	uv_run(&m.loop, UV_RUN_DEFAULT);
	rc = 0;
out:
	if (loop_ok && rc != 0) {
		/* Start-up failed part-way: stop what runs, as a signal would. */
		for (unsigned i = 0; i < started; i++)
			ost_worker_stop(&srv.workers[i]);
		uv_close((uv_handle_t *)&m.sigterm, NULL);
		uv_close((uv_handle_t *)&m.sigint, NULL);
		uv_close((uv_handle_t *)&m.sigusr1, NULL);
		ost_metrics_srv_stop(m.metrics);
		uv_close((uv_handle_t *)&m.sighup, NULL);
	}
	if (metrics_fd >= 0)
		close(metrics_fd);
	for (unsigned i = 0; i < started; i++)
		ost_worker_join(&srv.workers[i]);
	for (unsigned i = started; i < inited; i++)
		ost_worker_deinit(&srv.workers[i]);
	/* After the workers' resolvers: they used the drill's faces and the machine. */
	if (res_ok)
		ost_resilience_close(&res);
	if (loop_ok) {
		uv_run(&m.loop, UV_RUN_DEFAULT);
		uv_loop_close(&m.loop);
	}
	/* Every worker and the control socket are gone: nobody uses the mirror any more. */
	ost_mirror_srv_close(&msrv);
	if (tcp_fds)
		close_fds(tcp_fds, n);
	/* Every worker is gone: wait for the cache writer and close the cache. */
	ost_engine_close(&engine);
	if (rc == 0)
		ost_log(OST_LOG_INFO, "server", "stopped");
	free(tcp_fds);
	free(udp_fds);
	free(srv.workers);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	bool check = false;
	int c;
	while ((c = getopt_long(argc, argv, "c:th", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return EXIT_CONFIG;
	}
	struct ost_config cfg;
	char err[1024];
	int ret = ost_config_load(&cfg, path, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "%s\n", err);
		ost_config_deinit(&cfg);
		return EXIT_CONFIG;
	}
	if (check) {
		/* The same loading the daemon does at start, minus the cache. */
		struct ost_engine probe;
		memset(&probe, 0, sizeof(probe));
		ost_log_set_level(OST_LOG_WARN);
		ret = ost_engine_load_resolver(&probe, &cfg, err, sizeof(err));
		ost_engine_close(&probe);
		if (ret < 0) {
			fprintf(stderr, "%s\n", err);
			ost_config_deinit(&cfg);
			return EXIT_CONFIG;
		}
	}
	if (check) {
		printf("%s: ok\n", path);
		ost_config_deinit(&cfg);
		return 0;
	}
	ost_log_set_level(cfg.server.log_level);
	/*
	 * Every upstream UDP query has a socket of its own (upstream.c), so a
	 * burst of cache misses needs descriptors: take the hard limit.
	 */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			ost_log(OST_LOG_WARN, "server", "cannot raise the descriptor limit");
	}
	/* A client that resets its TCP connection must not kill the daemon on write. */
	signal(SIGPIPE, SIG_IGN);
	ret = run(&cfg);
	ost_config_deinit(&cfg);
	return ret;
}
