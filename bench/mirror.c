// SPDX-License-Identifier: BSD-2-Clause
/*
 * Mirror benchmark driver: imports one zone file into a fresh zone-mirror store exactly as
 * the daemon would (parse, DNSSEC verification of every RRset against the given anchors,
 * ZONEMD digest, atomic LMDB commit) and prints the verdict and the time it took.
 * bench/run.py times it beside `ldns-verify-zone -ZZ` on the same file (the 2021 root zone of
 * the ZONEMD test cases), both pinned to the same core.
 *
 * Usage: mirror -z ZONE -f FILE -k ANCHOR_FILE [-k ...] -t UNIX_TIME -d STORE_DIR [-j THREADS]
 * -j is the number of threads verifying (the daemon's executor, server/uvexec.c): 0 = one per
 * core, as ostrovd does; 1 (the default here, so older runs stay comparable) = serial.
 * The clock is pinned to -t so that old, signed test zones verify. Exit 0 when the zone was
 * imported, 1 when it was rejected (the reason is printed), 2 on usage or setup errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "ostrov/clock.h"
#include "ostrov/zone.h"

#include "uvexec.h"

#define MAX_ANCHOR_FILES 8

static uint64_t pinned_mono_ms(void *ctx)
{
	(void)ctx;
	return 0;
}

static int64_t pinned_wall_s(void *ctx)
{
	return *(const int64_t *)ctx;
}

static struct ost_timer *no_timer_start(void *ctx, uint64_t ms, ost_timer_cb cb, void *arg)
{
	(void)ctx;
	(void)ms;
	(void)cb;
	(void)arg;
	return NULL;
}

static void no_timer_stop(void *ctx, struct ost_timer *t)
{
	(void)ctx;
	(void)t;
}

static const struct ost_clock_ops pinned_ops = {
	.mono_ms = pinned_mono_ms,
	.wall_s = pinned_wall_s,
	.timer_start = no_timer_start,
	.timer_stop = no_timer_stop,
};

/* Read DS/DNSKEY records from a zone-file-syntax anchor file into @p list. */
static int read_anchors(const char *path, ldns_rr_list *list)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return -errno;
	}
	int line = 0;
	int err = 0;
	while (!feof(f)) {
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, f, NULL, NULL, NULL, &line);
		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN) {
			continue;
		}
		if (st != LDNS_STATUS_OK) {
			fprintf(stderr, "mirror: %s:%d: %s\n", path, line,
				ldns_get_errorstr_by_id(st));
			err = -EINVAL;
			break;
		}
		ldns_rr_list_push_rr(list, rr);
	}
	fclose(f);
	return err;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mirror -z ZONE -f FILE -k ANCHORS [-k ...] -t UNIX_TIME -d DIR [-j N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *zone = NULL;
	const char *file = NULL;
	const char *dir = NULL;
	const char *anchor_files[MAX_ANCHOR_FILES];
	int n_anchor_files = 0;
	int64_t wall = 0;
	long threads = 1;
	int opt;

	while ((opt = getopt(argc, argv, "z:f:k:t:d:j:h")) != -1) {
		switch (opt) {
		case 'z':
			zone = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'k':
			if (n_anchor_files == MAX_ANCHOR_FILES) {
				usage();
			}
			anchor_files[n_anchor_files++] = optarg;
			break;
		case 't':
			wall = strtoll(optarg, NULL, 10);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'j':
			threads = strtol(optarg, NULL, 10);
			if (threads < 0 || threads > 256)
				usage();
			break;
		default:
			usage();
		}
	}
	if (zone == NULL || file == NULL || dir == NULL || n_anchor_files == 0 || wall <= 0) {
		usage();
	}

	ldns_rr_list *anchors = ldns_rr_list_new();
	for (int i = 0; i < n_anchor_files; i++) {
		int err = read_anchors(anchor_files[i], anchors);
		if (err < 0) {
			fprintf(stderr, "mirror: %s: %s\n", anchor_files[i], strerror(-err));
			ldns_rr_list_deep_free(anchors);
			return 2;
		}
	}

	struct ost_clock clock = {.ops = &pinned_ops, .ctx = &wall};
	struct ost_zone_store_opts sopts = {.path = dir, .map_size = 0};
	struct ost_zone_store *store = NULL;
	struct ost_mirror *m = NULL;
	struct ost_uv_exec *exec = NULL;
	int rc = 2;
	ost_uv_exec_tune_malloc(); /* as ostrovd does when it mirrors zones */
	int err = threads == 1 ? 0 : ost_uv_exec_new((unsigned)threads, &exec);
	if (err < 0) {
		fprintf(stderr, "mirror: executor: %s\n", ost_strerror(err));
		goto out;
	}
	err = ost_zone_store_open(&sopts, &store);
	if (err < 0) {
		fprintf(stderr, "mirror: store %s: %s\n", dir, ost_strerror(err));
		goto out;
	}
	err = ost_mirror_new(store, &clock, &m);
	if (err < 0) {
		fprintf(stderr, "mirror: %s\n", ost_strerror(err));
		goto out;
	}
	struct ost_mirror_zone_config cfg = {
		.name = zone,
		.policy = {.zonemd = OST_ZONEMD_REQUIRE,
			   .exec = exec ? ost_uv_exec_get(exec) : NULL},
		.anchors = anchors,
	};
	err = ost_mirror_add_zone(m, &cfg);
	if (err < 0) {
		fprintf(stderr, "mirror: add zone %s: %s\n", zone, ost_strerror(err));
		goto out;
	}

	struct ost_zone_verify_result res;
	memset(&res, 0, sizeof(res));
	double t0 = now_s();
	err = ost_mirror_import_file(m, zone, file, &res);
	double t1 = now_s();
	printf("zone %s serial %u records %llu verdict %s zonemd %s import+verify %.3f s "
	       "threads %u\n",
	       zone, res.info.serial, (unsigned long long)res.info.records,
	       ost_zone_verdict_str(res.verdict), ost_zonemd_result_str(res.info.zonemd), t1 - t0,
	       ost_exec_width(exec ? ost_uv_exec_get(exec) : NULL));
	if (err == 0 && res.verdict == OST_ZV_OK) {
		rc = 0;
	} else {
		printf("rejected: %s (%s)\n", res.reason, ost_strerror(err));
		rc = 1;
	}
out:
	ost_mirror_free(m);
	ost_zone_store_close(store);
	ost_uv_exec_free(exec);
	ldns_rr_list_deep_free(anchors);
	return rc;
}
