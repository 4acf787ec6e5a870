/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file control.h
 * The control channel: the line protocol spoken on the control socket, the
 * command dispatcher the daemon fills with handlers, the socket server
 * (a small blocking thread, unix socket mode 0600, peer uid checked with
 * SO_PEERCRED) and the client used by ostrovctl.
 *
 * Protocol. One request per connection: one line of at most
 * OST_CTL_LINE_MAX bytes, words separated by spaces, a word may be
 * double-quoted ("a b", with \" and \\ escapes), ended by "\n". Words are the
 * command and its arguments exactly as typed after ostrovctl
 * (`drill start foreign-cut --duration 600 --json`). The reply is a status
 * line, "OK" or "ERR <message>", then the body (text for people, or one JSON
 * object with --json, also for errors: {"ok":false,"error":"..."}), then the
 * server closes the connection.
 *
 * Worked example. `ostrovctl -s /run/ostrov/control.sock isolate --json`
 * parses its argv with ost_ctl_parse_argv() (a usage error exits 2 before
 * connecting), formats the canonical line "isolate --json", connects, sends
 * it and reads until EOF. In ostrovd the server thread accepts, checks that
 * the peer uid is 0 or the daemon's, reads the line, and
 * ost_ctl_handle_line() parses it again (the server never trusts the
 * client), runs the handler registered for OST_CTL_ISOLATE on the daemon's
 * loop thread through the executor, and writes
 * "OK\n{"ok":true,"state":"ISOLATED"}\n".
 */
#ifndef OSTROV_CONTROL_H
#define OSTROV_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ostrov/drill.h"
#include "ostrov/error.h"
#include "ostrov/failover.h"

/** Longest request line, newline excluded. */
#define OST_CTL_LINE_MAX 4096

/** Commands of ostrovctl (brief.md "Interfaces users will script against"). */
enum ost_ctl_cmd {
	OST_CTL_STATUS = 0,    /**< status */
	OST_CTL_STATS,         /**< stats */
	OST_CTL_CACHE_FLUSH,   /**< cache flush [NAME] */
	OST_CTL_ZONE_LIST,     /**< zone list */
	OST_CTL_ZONE_REFRESH,  /**< zone refresh NAME */
	OST_CTL_ZONE_IMPORT,   /**< zone import NAME FILE */
	OST_CTL_MIRROR_EXTEND, /**< mirror extend NAME DURATION */
	OST_CTL_ISOLATE,       /**< isolate */
	OST_CTL_UNISOLATE,     /**< unisolate */
	OST_CTL_DRILL_START,   /**< drill start PROFILE [--duration S] */
	OST_CTL_DRILL_STOP,    /**< drill stop */
	OST_CTL_DRILL_REPORT,  /**< drill report */
	OST_CTL_RELOAD,        /**< reload */
	OST_CTL_NTA_ADD,       /**< nta add NAME [DURATION] */
	OST_CTL_NTA_REMOVE,    /**< nta remove NAME */
	OST_CTL_NTA_LIST,      /**< nta list */
	OST_CTL_CMD_COUNT,
};

/** @return the command's words ("mirror extend"), "?" when out of range */
OST_EXPORT const char *ost_ctl_cmd_str(enum ost_ctl_cmd c);

/** A parsed request. */
struct ost_ctl_request {
	enum ost_ctl_cmd cmd;        /**< the command */
	bool is_json;                /**< --json given */
	bool has_name;               /**< @p name is set */
	char name[256];              /**< zone / cache / NTA name, presentation format */
	char file[OST_CTL_LINE_MAX]; /**< zone import FILE */
	bool has_duration;           /**< @p duration_s is set */
	uint32_t duration_s; /**< mirror extend DURATION, drill --duration, nta add DURATION */
	enum ost_drill_profile profile; /**< drill start PROFILE */
	char operator_name[64];         /**< who asked ("uid:0"), filled by the server */
};

/**
 * Parse a duration: "600", "600s", "30m", "12h", "2d" (1 s .. 3650 d).
 * @return 0, or -EINVAL (garbage, zero, overflow)
 */
OST_EXPORT int ost_ctl_parse_duration(const char *s, uint32_t *out) OST_WUR;

/**
 * Parse a request line (pure; what the server runs on untrusted input).
 * @param line the bytes (a trailing "\n" or "\r\n" is allowed)
 * @param len their number
 * @param req receives the request
 * @param err receives a one-line message on failure
 * @param errlen size of @p err
 * @return 0, or -EINVAL (the message says what is wrong)
 */
OST_EXPORT int ost_ctl_parse_line(const char *line, size_t len, struct ost_ctl_request *req,
				  char *err, size_t errlen) OST_WUR;

/**
 * Parse command words (ostrovctl's argv after its own options).
 * @return 0 or -EINVAL with a message
 */
OST_EXPORT int ost_ctl_parse_argv(int argc, char *const *argv, struct ost_ctl_request *req,
				  char *err, size_t errlen) OST_WUR;

/**
 * Write the canonical line of @p req (no newline); parsing it gives @p req back.
 * @return 0, -ENOMEM, or -E2BIG when the line would exceed OST_CTL_LINE_MAX
 */
OST_EXPORT int ost_ctl_format_line(const struct ost_ctl_request *req, struct ost_buf *b) OST_WUR;

/*
 * ---------------------------------------------------------------------------
 * Dispatcher
 * ---------------------------------------------------------------------------
 */

/**
 * A command handler. Writes the body (text, or JSON when req->is_json) to
 * @p out. On failure it returns a negative error and may write a one-line
 * message to @p out (otherwise ost_strerror() is used).
 */
typedef int (*ost_ctl_handler_cb)(const struct ost_ctl_request *req, struct ost_buf *out,
				  void *arg);

/**
 * Runs @p fn(@p fn_arg) on the thread that owns the engine objects and
 * returns when it has run (ostrovd: uv_async_send + wait). The default runs
 * it in the calling thread.
 */
typedef void (*ost_ctl_exec_cb)(void *ctx, void (*fn)(void *), void *fn_arg);

struct ost_ctl_dispatch;

/** @return a dispatcher with no handlers, or NULL when out of memory */
OST_EXPORT struct ost_ctl_dispatch *ost_ctl_dispatch_new(void);

/** Release (NULL allowed). */
OST_EXPORT void ost_ctl_dispatch_free(struct ost_ctl_dispatch *d);

/**
 * Register the handler of @p cmd (replacing any).
 * @return 0 or -EINVAL
 */
OST_EXPORT int ost_ctl_register(struct ost_ctl_dispatch *d, enum ost_ctl_cmd cmd,
				ost_ctl_handler_cb cb, void *arg) OST_WUR;

/** Set the executor (NULL: run handlers in the calling thread). */
OST_EXPORT void ost_ctl_set_executor(struct ost_ctl_dispatch *d, ost_ctl_exec_cb exec, void *ctx);

/**
 * Handle one request line: parse, dispatch, and write the whole reply
 * (status line + body + "\n") to @p reply. Never fails: garbage, unknown
 * commands and commands without handler give an "ERR ..." reply.
 * @param d the dispatcher
 * @param line the request bytes
 * @param len their number
 * @param operator_name who asked (for logs), or NULL
 * @param reply receives the reply
 * @return 0 when the command ran, else the negative error sent in the reply
 */
OST_EXPORT int ost_ctl_handle_line(struct ost_ctl_dispatch *d, const char *line, size_t len,
				   const char *operator_name, struct ost_buf *reply);

/**
 * Register status, isolate, unisolate and mirror extend over a failover
 * machine (and probe counters in status when @p probe is not NULL).
 * @return 0, -EINVAL or -ENOMEM
 */
OST_EXPORT int ost_ctl_register_failover(struct ost_ctl_dispatch *d, struct ost_fo *fo,
					 struct ost_probe *probe) OST_WUR;

/**
 * Register drill start, drill stop and drill report over a drill controller.
 * @return 0 or -EINVAL
 */
OST_EXPORT int ost_ctl_register_drill(struct ost_ctl_dispatch *d, struct ost_drill *drill) OST_WUR;

/*
 * ---------------------------------------------------------------------------
 * Socket server and client
 * ---------------------------------------------------------------------------
 */

/**
 * May a peer with @p uid use the control socket? Root and the daemon's own
 * uid may; nobody else (the socket's mode 0600 already stops them; this is
 * the second lock).
 */
OST_EXPORT bool ost_ctl_peer_allowed(uid_t uid, uid_t daemon_uid);

struct ost_ctl_server;

/**
 * Create the socket at @p path (mode 0600; a stale socket file is replaced,
 * any other file is refused) and start the server thread.
 * @param path socket path (shorter than sun_path)
 * @param d dispatcher (borrowed; must outlive the server)
 * @param out receives the server
 * @return 0, -ENAMETOOLONG, -EEXIST (a non-socket file is in the way), or a
 *         negative errno from socket/bind/listen/pthread_create
 */
OST_EXPORT int ost_ctl_server_start(const char *path, struct ost_ctl_dispatch *d,
				    struct ost_ctl_server **out) OST_WUR;

/** Stop the thread, close and unlink the socket, release (NULL allowed). */
OST_EXPORT void ost_ctl_server_stop(struct ost_ctl_server *s);

/**
 * Send one request line and read the whole reply.
 * @param path socket path
 * @param line request line without newline
 * @param timeout_ms give up after this long without progress
 * @param reply receives the reply (status line and body)
 * @return 0, or a negative errno (-ENOENT, -ECONNREFUSED, -EACCES, -ETIMEDOUT ...)
 */
OST_EXPORT int ost_ctl_client_call(const char *path, const char *line, int timeout_ms,
				   struct ost_buf *reply) OST_WUR;

#endif
