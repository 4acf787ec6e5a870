/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Temporary directories of the tests (caches, zone stores): removal of a
 * whole tree, without a shell, so a test can assert that it worked.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>

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
