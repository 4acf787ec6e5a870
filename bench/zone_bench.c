/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Benchmark of the zone mirror pipeline on a real-size zone: parse, full
 * verification (DNSKEY chain, every RRSIG, ZONEMD) and the atomic LMDB
 * commit, timed separately (wall and process CPU time, all threads), best
 * and median of N runs. Not part of the test run; built with the release
 * preset (cmake --build build/release --target zone_bench):
 *
 *   build/release/bench/zone_bench [-j THREADS] ZONEFILE ORIGIN UNIX_TIME RUNS ANCHOR.ds...
 *   build/release/bench/zone_bench -j 2 /work/shared/testdata/zonemd/44-root-zone/root.zone.hashed
 * \ . 1612137600 5 /work/shared/testdata/zonemd/44-root-zone/Keys/K.+008+21544.ds
 *
 * -j is the number of threads of the daemon's executor (server/uvexec.c) used for the
 * parse and the signature checks: 1 (default) = serial, 0 = one per core.
 * "records/s" is the records of the version over the total (parse + verify + commit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "ostrov/clock.h"
#include "ostrov/zone.h"

#include "uvexec.h"

static int64_t pinned;

static uint64_t b_mono(void *ctx)
{
	(void)ctx;
	return 0;
}

static int64_t b_wall(void *ctx)
{
	(void)ctx;
	return pinned;
}

static const struct ost_clock_ops ops = {b_mono, b_wall, NULL, NULL};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Process CPU time (user + system, every thread). */
static double cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* CPU time of the calling thread only. */
static double cpu_self(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

enum {
	PH_PARSE,
	PH_VERIFY,
	PH_COMMIT,
	PH_TOTAL,
	PH_COUNT
};
static const char *const ph_names[PH_COUNT] = {"parse", "verify", "commit", "total"};

int main(int argc, char **argv)
{
	long threads = 1;
	int opt;

	while ((opt = getopt(argc, argv, "j:")) != -1) {
		if (opt != 'j')
			return 2;
		threads = strtol(optarg, NULL, 10);
	}
	argv += optind - 1;
	argc -= optind - 1;
	if (argc < 6 || threads < 0 || threads > 256) {
		fprintf(stderr, "usage: zone_bench [-j THREADS] zonefile origin unix-time runs "
				"anchor.ds...\n");
		return 2;
	}
	const char *path = argv[1], *origin = argv[2];
	int runs = atoi(argv[4]);
	if (runs < 1)
		runs = 1;
	pinned = atoll(argv[3]);
	struct ost_clock clock = {&ops, NULL};
	ldns_rr_list *anchors = ldns_rr_list_new();
	for (int i = 5; i < argc; i++) {
		FILE *f = fopen(argv[i], "r");
		ldns_rr *rr;
		uint32_t ttl = 3600;
		while (f && ldns_rr_new_frm_fp(&rr, f, &ttl, NULL, NULL) == LDNS_STATUS_OK)
			ldns_rr_list_push_rr(anchors, rr);
		if (f)
			fclose(f);
	}
	struct ost_uv_exec *exec = NULL;
	ost_uv_exec_tune_malloc(); /* as ostrovd does when it mirrors zones */
	if (threads != 1 && ost_uv_exec_new((unsigned)threads, &exec) != 0)
		return 1;
	char dir[] = "/tmp/ost-zone-bench-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	struct ost_zone_store *store;
	struct ost_zone_store_opts so = {.path = dir, .map_size = 4ull << 30};
	if (ost_zone_store_open(&so, &store) != 0)
		return 1;
	double *wall[PH_COUNT], *cput[PH_COUNT];
	double *crit = calloc((size_t)runs, sizeof(double));
	for (int p = 0; p < PH_COUNT; p++) {
		wall[p] = calloc((size_t)runs, sizeof(double));
		cput[p] = calloc((size_t)runs, sizeof(double));
	}
	struct ost_zone_policy pol = {.zonemd = OST_ZONEMD_REQUIRE,
				      .exec = exec ? ost_uv_exec_get(exec) : NULL};
	unsigned long long records = 0;
	for (int r = 0; r < runs; r++) {
		struct ost_zone_verify_result res;
		struct ost_zone_data *z = NULL;
		struct ost_zone_verify_ctx ctx = {.clock = &clock, .anchors = anchors};
		double w0 = now(), c0 = cpu(), s0 = cpu_self();
		if (ost_zone_parse_file(origin, path, &pol, &z, &res) != 0) {
			fprintf(stderr, "parse: %s\n", res.reason);
			return 1;
		}
		double w1 = now(), c1 = cpu(), s1 = cpu_self();
		if (ost_zone_verify(z, &ctx, &pol, &res) != 0) {
			fprintf(stderr, "verify: %s: %s\n", ost_zone_verdict_str(res.verdict),
				res.reason);
			return 1;
		}
		double w2 = now(), c2 = cpu(), s2 = cpu_self();
		struct ost_zone_meta m = {.serial = res.info.serial};
		if (ost_zone_store_commit(store, z, &m) != 0)
			return 1;
		double w3 = now(), c3 = cpu(), s3 = cpu_self();
		wall[PH_PARSE][r] = w1 - w0;
		wall[PH_VERIFY][r] = w2 - w1;
		wall[PH_COMMIT][r] = w3 - w2;
		wall[PH_TOTAL][r] = w3 - w0;
		cput[PH_PARSE][r] = c1 - c0;
		cput[PH_VERIFY][r] = c2 - c1;
		cput[PH_COMMIT][r] = c3 - c2;
		cput[PH_TOTAL][r] = c3 - c0;
		/* On a busy machine wall time says little. With two threads the wall
		 * time on two idle cores is about, per phase, the larger of this
		 * thread's CPU time and the other thread's (process minus this). */
		const double pc[3] = {c1 - c0, c2 - c1, c3 - c2},
			     sc[3] = {s1 - s0, s2 - s1, s3 - s2};
		double cp = 0;
		for (int p = 0; p < 3; p++)
			cp += sc[p] > pc[p] - sc[p] ? sc[p] : pc[p] - sc[p];
		crit[r] = cp;
		records = (unsigned long long)res.info.records;
		if (r == 0)
			printf("records=%llu rrsets=%llu sig_checks=%llu zonemd=%s threads=%u\n",
			       records, (unsigned long long)res.info.rrsets,
			       (unsigned long long)res.info.sigs_checked,
			       ost_zonemd_result_str(res.info.zonemd), ost_exec_width(pol.exec));
		ost_zone_data_free(z);
	}
	printf("phase   wall best  wall median  cpu best  cpu median  (seconds, %d runs)\n", runs);
	for (int p = 0; p < PH_COUNT; p++) {
		qsort(wall[p], (size_t)runs, sizeof(double), cmp_d);
		qsort(cput[p], (size_t)runs, sizeof(double), cmp_d);
		printf("%-7s %9.3f  %11.3f  %8.3f  %10.3f\n", ph_names[p], wall[p][0],
		       wall[p][runs / 2], cput[p][0], cput[p][runs / 2]);
	}
	printf("records/s: wall median %.0f, cpu median %.0f\n",
	       (double)records / wall[PH_TOTAL][runs / 2],
	       (double)records / cput[PH_TOTAL][runs / 2]);
	qsort(crit, (size_t)runs, sizeof(double), cmp_d);
	if (ost_exec_width(pol.exec) == 2)
		printf("two-thread critical path (max of the two threads' CPU per phase): median "
		       "%.3f s, %.0f records/s\n",
		       crit[runs / 2], (double)records / crit[runs / 2]);
	ost_zone_store_close(store);
	ost_uv_exec_free(exec);
	ldns_rr_list_deep_free(anchors);
	for (int p = 0; p < PH_COUNT; p++) {
		free(wall[p]);
		free(cput[p]);
	}
	free(crit);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
