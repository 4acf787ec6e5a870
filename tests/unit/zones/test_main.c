/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Entry point of the zones/ unit tests and their shared helpers: the fake
 * clock, temporary directories and file helpers.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ostrov/log.h"

#include "test_zones.h"

static uint64_t fc_mono(void *ctx)
{
	(void)ctx;
	return 0;
}

static int64_t fc_wall(void *ctx)
{
	return ((struct fake_clock *)ctx)->wall;
}

static struct ost_timer *fc_start(void *ctx, uint64_t ms, ost_timer_cb cb, void *arg)
{
	(void)ctx;
	(void)ms;
	(void)cb;
	(void)arg;
	return NULL;
}

static void fc_stop(void *ctx, struct ost_timer *t)
{
	(void)ctx;
	(void)t;
}

static const struct ost_clock_ops fc_ops = {fc_mono, fc_wall, fc_start, fc_stop};

void fake_clock_init(struct fake_clock *fc, int64_t wall)
{
	fc->clock.ops = &fc_ops;
	fc->clock.ctx = fc;
	fc->wall = wall;
}

const char *tdata(const char *rel)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s/%s", OST_TESTDATA, rel);
	return buf;
}

int have_testdata(void)
{
	struct stat st;
	return stat(OST_TESTDATA "/zonemd", &st) == 0;
}

char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/ost-zones-XXXXXX";
	char *d = mkdtemp(tmpl);
	return d ? strdup(d) : NULL;
}

void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[4096];
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(path);
}

char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = 0;
		if (len)
			*len = (size_t)n;
	}
	return buf;
}

int write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(data, 1, len, f);
	return fclose(f) == 0 && w == len ? 0 : -1;
}

double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	int fails;
	ost_log_set_level(OST_LOG_WARN);
	fails = _cmocka_run_group_tests("zones", zones_tests, zones_tests_count, NULL, NULL);
	fails += _cmocka_run_group_tests("store", store_tests, store_tests_count, NULL, NULL);
	fails += _cmocka_run_group_tests("signed", signed_tests, signed_tests_count, NULL, NULL);
	fails += _cmocka_run_group_tests("exec", exec_tests, exec_tests_count, NULL, NULL);
	return fails ? 1 : 0;
}
