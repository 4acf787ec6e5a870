/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Control handlers over the resilience objects: status, isolate, unisolate
 * and mirror extend over the failover machine; drill start, stop and report
 * over the drill controller. Each error gets a sentence an operator can act
 * on ("not isolated (state is NORMAL)"), never a bare errno, and leaves the
 * state as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_internal.h"

struct fo_ctx {
	struct ost_fo *fo;
	struct ost_probe *probe;
};

static int h_status(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct fo_ctx *c = arg;
	int rc;
	if (req->is_json) {
		ost_buf_printf(out, "{\"ok\":true,\"failover\":");
		rc = ost_fo_status_write(c->fo, true, out);
		if (c->probe) {
			ost_buf_printf(out, ",\"probes\":");
			if (rc == 0)
				rc = ost_probe_write(c->probe, true, out);
		}
		ost_buf_printf(out, "}");
	} else {
		rc = ost_fo_status_write(c->fo, false, out);
		if (c->probe && rc == 0) {
			ost_buf_printf(out, "probes:\n");
			rc = ost_probe_write(c->probe, false, out);
		}
	}
	return rc < 0 ? rc : (out->has_oom ? -ENOMEM : 0);
}

static int state_reply(const struct ost_ctl_request *req, struct ost_buf *out,
		       enum ost_fo_state before, enum ost_fo_state after, const char *what)
{
	if (req->is_json)
		ost_buf_printf(out, "{\"ok\":true,\"state\":\"%s\",\"previous\":\"%s\"}",
			       ost_fo_state_str(after), ost_fo_state_str(before));
	else
		ost_buf_printf(out, "%s: %s -> %s\n", what, ost_fo_state_str(before),
			       ost_fo_state_str(after));
	return 0;
}

static int h_isolate(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct fo_ctx *c = arg;
	enum ost_fo_state before = ost_fo_state(c->fo);
	int rc = ost_fo_isolate(c->fo, req->operator_name);
	if (rc == -EALREADY) {
		ost_buf_printf(out, "already isolated by an operator (state is %s)",
			       ost_fo_state_str(before));
		return rc;
	}
	if (rc < 0) {
		ost_buf_printf(out, "cannot isolate in state %s", ost_fo_state_str(before));
		return rc;
	}
	return state_reply(req, out, before, ost_fo_state(c->fo),
			   "isolated (held until unisolate)");
}

static int h_unisolate(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct fo_ctx *c = arg;
	enum ost_fo_state before = ost_fo_state(c->fo);
	int rc = ost_fo_unisolate(c->fo, req->operator_name);
	if (rc < 0) {
		ost_buf_printf(out, "not isolated (state is %s)", ost_fo_state_str(before));
		return rc;
	}
	return state_reply(req, out, before, ost_fo_state(c->fo), "unisolated, recovering");
}

static void iso(int64_t t, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%lld", (long long)t);
}

static int h_extend(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct fo_ctx *c = arg;
	int64_t until = 0;
	int rc =
		ost_fo_extend_mirror(c->fo, req->name, req->duration_s, req->operator_name, &until);
	switch (rc) {
	case 0:
		break;
	case -ENOENT:
		ost_buf_printf(out, "no mirror of zone %s", req->name);
		return rc;
	case -EPERM:
		ost_buf_printf(out, "the mirror of %s is not verified: it cannot be extended",
			       req->name);
		return rc;
	case -EINVAL:
		ost_buf_printf(out, "duration %u s is outside the allowed range", req->duration_s);
		return rc;
	case OST_ELIMIT:
		ost_buf_printf(out,
			       "the mirror of %s is too close to its RRSIG horizon: nothing can be "
			       "granted (only a negative trust anchor decision can go further)",
			       req->name);
		return rc;
	default:
		ost_buf_printf(out, "%s", ost_strerror(rc));
		return rc;
	}
	struct ost_fo_status st;
	ost_fo_status(c->fo, &st);
	int64_t now = st.wall_s;
	bool is_clamped = until < now + (int64_t)req->duration_s;
	char when[40];
	iso(until, when, sizeof(when));
	if (req->is_json) {
		ost_buf_printf(out, "{\"ok\":true,\"zone\":");
		ost_buf_json_str(out, req->name);
		ost_buf_printf(out,
			       ",\"until\":%lld,\"until_iso\":\"%s\",\"granted_s\":%lld,"
			       "\"clamped_to_rrsig_horizon\":%s}",
			       (long long)until, when, (long long)(until - now),
			       is_clamped ? "true" : "false");
	} else {
		ost_buf_printf(out,
			       "mirror %s extended until %s (%lld s)%s; every answer from it "
			       "carries EDE 3\n",
			       req->name, when, (long long)(until - now),
			       is_clamped ? ", shortened to stay before the RRSIG horizon" : "");
	}
	return 0;
}

int ost_ctl_register_failover(struct ost_ctl_dispatch *d, struct ost_fo *fo,
			      struct ost_probe *probe)
{
	if (!d || !fo)
		return -EINVAL;
	struct fo_ctx *c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = (struct fo_ctx){.fo = fo, .probe = probe};
	int rc = ctl_dispatch_own(d, c);
	if (rc == 0)
		rc = ost_ctl_register(d, OST_CTL_STATUS, h_status, c);
	if (rc == 0)
		rc = ost_ctl_register(d, OST_CTL_ISOLATE, h_isolate, c);
	if (rc == 0)
		rc = ost_ctl_register(d, OST_CTL_UNISOLATE, h_unisolate, c);
	if (rc == 0)
		rc = ost_ctl_register(d, OST_CTL_MIRROR_EXTEND, h_extend, c);
	return rc;
}

static int h_drill_start(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct ost_drill *drill = arg;
	char id[64];
	int rc = ost_drill_start(drill, req->profile, req->has_duration ? req->duration_s : 0,
				 req->operator_name, id, sizeof(id));
	if (rc == -EBUSY) {
		struct ost_drill_report *r = malloc(sizeof(*r));
		if (r && ost_drill_report_get(drill, r) == 0)
			ost_buf_printf(out, "a drill is already running (%s); stop it first",
				       r->id);
		else
			ost_buf_printf(out, "a drill is already running; stop it first");
		free(r);
		return rc;
	}
	if (rc == -EINVAL) {
		ost_buf_printf(out, "duration %u s is longer than the configured maximum",
			       req->duration_s);
		return rc;
	}
	if (rc < 0)
		return rc;
	if (req->is_json) {
		ost_buf_printf(out, "{\"ok\":true,\"id\":");
		ost_buf_json_str(out, id);
		ost_buf_printf(out, ",\"profile\":\"%s\"}", ost_drill_profile_str(req->profile));
	} else {
		ost_buf_printf(out, "drill %s started (profile %s)\n", id,
			       ost_drill_profile_str(req->profile));
	}
	return 0;
}

static int h_drill_stop(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct ost_drill *drill = arg;
	int rc = ost_drill_stop(drill, "operator");
	if (rc == -ENOENT) {
		ost_buf_printf(out, "no drill is running");
		return rc;
	}
	if (rc < 0)
		return rc;
	if (req->is_json)
		ost_buf_printf(out, "{\"ok\":true,\"stopped\":true}");
	else
		ost_buf_printf(out, "drill stopped; `drill report` shows the results\n");
	return 0;
}

static int h_drill_report(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct ost_drill *drill = arg;
	int rc = ost_drill_report_write(drill, req->is_json, out);
	if (rc == -ENOENT) {
		out->len = 0;
		ost_buf_printf(out, "no drill has run yet");
	}
	return rc;
}

int ost_ctl_register_drill(struct ost_ctl_dispatch *d, struct ost_drill *drill)
{
	if (!d || !drill)
		return -EINVAL;
	int rc = ost_ctl_register(d, OST_CTL_DRILL_START, h_drill_start, drill);
	if (rc == 0)
		rc = ost_ctl_register(d, OST_CTL_DRILL_STOP, h_drill_stop, drill);
	if (rc == 0)
		rc = ost_ctl_register(d, OST_CTL_DRILL_REPORT, h_drill_report, drill);
	return rc;
}
