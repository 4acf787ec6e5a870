/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control commands of the zone mirror: `ostrovctl zone list`, `zone
 * refresh NAME` and `zone import NAME FILE` (offline seeding: a zone file
 * brought on a USB stick goes through the same parse, DNSSEC and ZONEMD
 * verification as a transfer, and is committed atomically or rejected with
 * the reason, the previous version kept).
 *
 * Handlers run on the control server's thread. Listing and importing only
 * use the mirror, which is thread-safe; a refresh, and the NOTIFY to the
 * downstream mirrors after an import, belong to the mirror thread, so they
 * are queued and the mirror loop is woken with uv_async_send().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ostrov/control.h"
#include "ostrov/log.h"

#include "xfr_out.h"

void ost_mirror_srv_queue(struct ost_mirror_srv *s, const char *zone, bool refresh,
			  uint32_t serial);

static int h_zone_list(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct ost_mirror_srv *s = arg;
	int64_t now = ost_clock_wall_s(s->clock);
	size_t n = ost_mirror_zone_count(s->m);
	if (req->is_json)
		ost_buf_printf(out, "[");
	for (size_t i = 0; i < n; i++) {
		struct ost_mirror_zone_status st;
		if (ost_mirror_zone_status_at(s->m, i, &st) != 0)
			continue;
		long long age = st.has_version ? (long long)(now - st.meta.fetched_at) : -1;
		long long left =
			st.has_version ? (long long)(st.meta.soa_expire_deadline - now) : -1;
		if (req->is_json)
			ost_buf_printf(
				out,
				"%s{\"zone\":\"%s\",\"usable\":%s,\"serial\":%u,\"age_s\":%lld,"
				"\"expire_in_s\":%lld,\"source\":\"%s\",\"zonemd\":\"%s\","
				"\"last\":\"%s\"}",
				i ? "," : "", st.name, st.is_usable ? "true" : "false",
				st.meta.serial, age, left, st.meta.source,
				ost_zonemd_result_str(
					(enum ost_zonemd_result)st.meta.zonemd_result),
				ost_zone_verdict_str(st.last_verdict));
		else
			ost_buf_printf(
				out,
				"%s%s usable=%s serial=%u age=%llds expire_in=%llds source=%s "
				"zonemd=%s last=%s%s%s%s",
				i ? "\n" : "", st.name, st.is_usable ? "yes" : "no", st.meta.serial,
				age, left, st.meta.source[0] ? st.meta.source : "-",
				ost_zonemd_result_str(
					(enum ost_zonemd_result)st.meta.zonemd_result),
				ost_zone_verdict_str(st.last_verdict),
				st.last_reason[0] ? " reason=\"" : "", st.last_reason,
				st.last_reason[0] ? "\"" : "");
	}
	if (req->is_json)
		ost_buf_printf(out, "]");
	return 0;
}

static int h_zone_import(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct ost_mirror_srv *s = arg;
	struct ost_zone_verify_result res;
	int rc = ost_mirror_import_file(s->m, req->name, req->file, &res);
	if (rc == -ENOENT) {
		ost_buf_printf(out, "zone %s is not mirrored", req->name);
		return rc;
	}
	if (rc != 0) {
		ost_buf_printf(out, "rejected: %s: %s%s", ost_zone_verdict_str(res.verdict),
			       res.reason, " (the previous version is kept)");
		return rc;
	}
	ost_log(OST_LOG_INFO, "mirror", "zone imported by %s zone=%s file=%s serial=%u",
		req->operator_name, req->name, req->file, res.info.serial);
	ost_mirror_srv_queue(s, req->name, false, res.info.serial);
	if (req->is_json)
		ost_buf_printf(out, "{\"zone\":\"%s\",\"serial\":%u,\"records\":%llu}", req->name,
			       res.info.serial, (unsigned long long)res.info.records);
	else
		ost_buf_printf(out, "imported %s serial %u (%llu records, zonemd %s)", req->name,
			       res.info.serial, (unsigned long long)res.info.records,
			       ost_zonemd_result_str(res.info.zonemd));
	return 0;
}

static int h_zone_refresh(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	struct ost_mirror_srv *s = arg;
	struct ost_mirror_zone_status st;
	if (ost_mirror_zone_status(s->m, req->name, &st) != 0) {
		ost_buf_printf(out, "zone %s is not mirrored", req->name);
		return -ENOENT;
	}
	ost_mirror_srv_queue(s, req->name, true, 0);
	ost_buf_printf(out,
		       req->is_json ? "{\"zone\":\"%s\",\"refresh\":\"started\"}"
				    : "refresh of %s started",
		       st.name);
	return 0;
}

int ost_mirror_srv_register_ctl(struct ost_mirror_srv *s, struct ost_ctl_dispatch *d)
{
	int rc = ost_ctl_register(d, OST_CTL_ZONE_LIST, h_zone_list, s);
	if (rc == 0)
		rc = ost_ctl_register(d, OST_CTL_ZONE_IMPORT, h_zone_import, s);
	if (rc == 0)
		rc = ost_ctl_register(d, OST_CTL_ZONE_REFRESH, h_zone_refresh, s);
	return rc;
}
