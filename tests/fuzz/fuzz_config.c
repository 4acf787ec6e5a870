/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target for the YAML configuration loader: ostrovd reads its file with
 * ost_config_load() before anything else, so a corrupt or hostile file must
 * end in a refusal that names the problem, never in a crash or a leak (LSan
 * runs in the fuzz preset). The loader takes a path, so the input is written
 * to one memfd per process and loaded through /proc/self/fd.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ostrov/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (memfd < 0) {
		memfd = memfd_create("ostrov-fuzz-config", 0);
		if (memfd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	struct ost_config cfg;
	char err[512];
	int ret = ost_config_load(&cfg, path, err, sizeof(err));
	if (ret == 0) {
		/* Accepted: the promises the daemon relies on hold. */
		if (cfg.server.n_listen == 0 || !cfg.server.listen)
			abort();
		if (cfg.resolver.edns_buffer_size < 512)
			abort();
	} else {
		/* Refused: with a reason that names the file. */
		if (err[0] == '\0' || !strstr(err, path))
			abort();
		if (ret > 0)
			abort();
	}
	ost_config_deinit(&cfg);
	return 0;
}
