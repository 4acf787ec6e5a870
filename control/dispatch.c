/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control dispatcher: a table of handlers per command, filled by the
 * daemon (failover and drill handlers come from handlers.c; cache, zones and
 * reload are registered by their owners at integration). It turns one
 * request line into one complete reply and never fails: garbage, unknown
 * commands and commands nobody registered all become "ERR <message>", so a
 * bad client can never leave the daemon half-way through a command.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ostrov/log.h"

#include "ctl_internal.h"

struct handler {
	ost_ctl_handler_cb cb;
	void *arg;
};

struct ost_ctl_dispatch {
	struct handler h[OST_CTL_CMD_COUNT];
	ost_ctl_exec_cb exec;
	void *exec_ctx;
	void **owned; /* handler contexts freed with the dispatcher */
	size_t n_owned;
};

struct ost_ctl_dispatch *ost_ctl_dispatch_new(void)
{
	return calloc(1, sizeof(struct ost_ctl_dispatch));
}

void ost_ctl_dispatch_free(struct ost_ctl_dispatch *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_owned; i++)
		free(d->owned[i]);
	free(d->owned);
	free(d);
}

int ctl_dispatch_own(struct ost_ctl_dispatch *d, void *ptr)
{
	void **v = realloc(d->owned, (d->n_owned + 1) * sizeof(*v));
	if (!v) {
		free(ptr);
		return -ENOMEM;
	}
	d->owned = v;
	d->owned[d->n_owned++] = ptr;
	return 0;
}

int ost_ctl_register(struct ost_ctl_dispatch *d, enum ost_ctl_cmd cmd, ost_ctl_handler_cb cb,
		     void *arg)
{
	if ((unsigned)cmd >= OST_CTL_CMD_COUNT || !cb)
		return -EINVAL;
	d->h[cmd] = (struct handler){.cb = cb, .arg = arg};
	return 0;
}

void ost_ctl_set_executor(struct ost_ctl_dispatch *d, ost_ctl_exec_cb exec, void *ctx)
{
	d->exec = exec;
	d->exec_ctx = ctx;
}

struct job {
	const struct handler *h;
	const struct ost_ctl_request *req;
	struct ost_buf *out;
	int rc;
};

static void run_job(void *arg)
{
	struct job *j = arg;
	j->rc = j->h->cb(j->req, j->out, j->h->arg);
}

static void reply_error(struct ost_buf *reply, bool is_json, const char *msg)
{
	/* the status line is one line whatever the handler wrote */
	size_t n = strcspn(msg, "\n");
	ost_buf_printf(reply, "ERR %.*s\n", (int)n, msg);
	if (is_json) {
		char *one = strndup(msg, n);
		ost_buf_printf(reply, "{\"ok\":false,\"error\":");
		ost_buf_json_str(reply, one ? one : "out of memory");
		ost_buf_printf(reply, "}\n");
		free(one);
	}
}

/* Without a parsed request we still answer in JSON when the client clearly asked for it. */
static bool wants_json(const char *line, size_t len)
{
	const char *needle = "--json";
	for (size_t i = 0; i + 6 <= len; i++)
		if (memcmp(line + i, needle, 6) == 0)
			return true;
	return false;
}

int ost_ctl_handle_line(struct ost_ctl_dispatch *d, const char *line, size_t len,
			const char *operator_name, struct ost_buf *reply)
{
	struct ost_ctl_request *req = malloc(sizeof(*req));
	if (!req) {
		reply_error(reply, false, "out of memory");
		return -ENOMEM;
	}
	char err[256];
	int rc = ost_ctl_parse_line(line, len, req, err, sizeof(err));
	if (rc < 0) {
		ost_log(OST_LOG_WARN, "control", "bad request rejected operator=%s reason=\"%s\"",
			operator_name ? operator_name : "-", err);
		reply_error(reply, wants_json(line, len), err);
		free(req);
		return rc;
	}
	snprintf(req->operator_name, sizeof(req->operator_name), "%s",
		 operator_name ? operator_name : "unknown");
	const struct handler *h = &d->h[req->cmd];
	if (!h->cb) {
		snprintf(err, sizeof(err), "'%s' is not available in this daemon",
			 ost_ctl_cmd_str(req->cmd));
		reply_error(reply, req->is_json, err);
		free(req);
		return -ENOTSUP;
	}
	struct ost_buf body = {0};
	struct job j = {.h = h, .req = req, .out = &body};
	if (d->exec)
		d->exec(d->exec_ctx, run_job, &j);
	else
		run_job(&j);
	ost_log(OST_LOG_INFO, "control", "command cmd=\"%s\" operator=%s rc=%d",
		ost_ctl_cmd_str(req->cmd), req->operator_name, j.rc);
	if (j.rc < 0) {
		reply_error(reply, req->is_json,
			    body.len ? ost_buf_str(&body) : ost_strerror(j.rc));
	} else {
		ost_buf_printf(reply, "OK\n%s", ost_buf_str(&body));
		if (body.len && body.s[body.len - 1] != '\n')
			ost_buf_printf(reply, "\n");
	}
	ost_buf_deinit(&body);
	free(req);
	return j.rc;
}
