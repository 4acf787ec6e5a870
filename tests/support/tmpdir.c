/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Temporary directories of the tests (caches, zone stores): a fresh cache in
 * one, and removal of a whole tree, without a shell, so a test can assert
 * that it worked.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "ostrov/cache.h"

#include "ost_test.h"

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 ? 0 : -errno;
}

int fake_rmtree(const char *dir)
{
	/* FTW_DEPTH: a directory after its contents; FTW_PHYS: links are not followed. */
	int rc = nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc == -1 ? -errno : rc;
}

int fake_cache_new(char *dir, size_t dirlen, const char *tag, const struct ost_clock *clock,
		   struct ost_cache **out)
{
	snprintf(dir, dirlen, "/tmp/ost-%s-XXXXXX", tag);
	if (!mkdtemp(dir))
		return -errno;
	struct ost_cache_config cc = {.path = dir,
				      .max_bytes = 8u << 20,
				      .max_ttl = 86400,
				      .max_neg_ttl = 3600,
				      .max_readers = 8};
	return ost_cache_open(out, &cc, clock);
}
