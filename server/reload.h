/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file reload.h
 * `ostrovctl reload` and SIGHUP: re-read the configuration file ostrovd was
 * started with, check it as `ostrovd --check-config` does, and apply what can
 * change while the daemon runs; and the bookkeeping every change of a
 * negative trust anchor needs (cache entries dropped, one JSON log record).
 *
 * Example: an operator adds "192.0.2.0/24" to access.allow and a zone to
 * resolver.negative-trust-anchors, then runs `ostrovctl reload`. The control
 * thread hands the request to the main loop, where ost_reload() loads the
 * file into a new struct ost_config, loads the resolver half of it into a
 * private engine (trust anchors, root hints) and compares both with what
 * runs. The new NTA is added to the shared trust-anchor store and the cache
 * entries under it are flushed; the new configuration is handed to every
 * worker (ost_worker_engine_set_config()), whose own loop switches its
 * w->cfg, so the next datagram from 192.0.2.1 is answered. The previous
 * configuration is freed once every worker has switched. Had the operator
 * also lowered cache.max-ttl to 300, that resolver half would become the
 * live one, every worker would replace its resolver by one capping TTLs at
 * 300 and the cache would clamp what it stores from then on. A change of
 * server.listen is not applied: the reply and a log line say
 * "needs a restart: server.listen".
 */
#ifndef OSTROV_SERVER_RELOAD_H
#define OSTROV_SERVER_RELOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "ostrov/error.h"
#include "ostrov/validator.h"

struct ost_buf;
struct ost_server;
struct ost_engine;
struct ost_config;

/**
 * Reload the configuration (main loop thread only). Nothing changes unless
 * the whole file is good: a bad file leaves the daemon as it was.
 * @param srv the server (its cfg->path is re-read)
 * @param operator_name who asked ("uid:0", "signal:SIGHUP"), for the logs
 * @param is_json write the reply body as one JSON object
 * @param out receives the reply body; on failure the one-line reason
 *        ("FILE:LINE: key: problem")
 * @return 0, OST_ECONFIG (bad file: nothing applied), or a negative error
 */
int ost_reload(struct ost_server *srv, const char *operator_name, bool is_json,
	       struct ost_buf *out) OST_WUR;

/** @return the configuration the workers run with (the last reload's, or the start one) */
const struct ost_config *ost_reload_live_cfg(const struct ost_server *srv);

/**
 * A negative trust anchor appeared, went away or expired: drop every cache
 * entry at and below its name (bogus answers and RFC 9520 failures cached
 * before an add; answers cached insecure because of it before a remove) and
 * write one JSON log record.
 * @param e the engine (its cache may be NULL)
 * @param event "nta_add", "nta_remove" or "nta_expire"
 * @param n the NTA
 * @param operator_name who did it, or NULL
 * @return the number of cache entries removed, or a negative error
 */
int ost_nta_event(struct ost_engine *e, const char *event, const struct ost_nta_info *n,
		  const char *operator_name);

#endif
