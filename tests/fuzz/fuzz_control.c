/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target for the control-socket parser: every line a client writes to
 * the socket goes through ost_ctl_parse_line(). On arbitrary bytes it must
 * either refuse with a message or produce a request whose canonical line
 * parses back to the same request.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ostrov/control.h"
#include "ostrov/failover.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ost_ctl_request req, back;
	char err[256];
	if (ost_ctl_parse_line((const char *)data, size, &req, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort(); /* a refusal must say why */
		return 0;
	}
	struct ost_buf b = {0};
	if (ost_ctl_format_line(&req, &b) == 0) {
		if (ost_ctl_parse_line(ost_buf_str(&b), b.len, &back, err, sizeof(err)) != 0)
			abort();
		if (back.cmd != req.cmd || back.is_json != req.is_json ||
		    back.has_name != req.has_name || back.has_duration != req.has_duration ||
		    (req.has_duration && back.duration_s != req.duration_s))
			abort();
	}
	ost_buf_deinit(&b);
	return 0;
}
