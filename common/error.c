/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Error strings and assertion reporting for every module. ost_strerror()
 * maps project codes to text and defers to strerror() for errno values, so
 * one function names any error an ostrov call can return.
 */
#include "ostrov/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ostrov/log.h"

static const char *const project_errors[] = {
	[0] = "unknown ostrov error",
	[1] = "malformed data",
	[2] = "DNSSEC validation failed",
	[3] = "zone mirror past its SOA expire deadline",
	[4] = "storage file corrupt or not ours",
	[5] = "hard limit reached",
	[6] = "configuration error",
	[7] = "storage full",
	[8] = "not allowed by policy",
};

const char *ost_strerror(int err)
{
	if (err == 0)
		return "success";
	if (err < OST_EBASE && err > OST_ELAST) {
		size_t i = (size_t)(OST_EBASE - err);
		if (i < sizeof(project_errors) / sizeof(project_errors[0]))
			return project_errors[i];
		return project_errors[0];
	}
	if (err < 0 && err > OST_EBASE)
		return strerror(-err);
	return "unknown error";
}

void ost_assert_failed(const char *expr, const char *file, int line, bool fatal)
{
	ost_log(OST_LOG_ERR, "assert", "assertion failed expr=\"%s\" file=%s line=%d", expr, file,
		line);
#ifndef NDEBUG
	fatal = true;
#endif
	if (fatal)
		abort();
}
