/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Benchmark of the zone mirror pipeline on a real-size zone: parse, full
 * verification (DNSKEY chain, every RRSIG, ZONEMD) and the atomic LMDB
 * commit, timed separately, best and median of N runs. Not part of the
 * test run. Build against a release build of the core library:
 *
 *   cmake --preset release && cmake --build build/release -j2 --target ostrov_core
 *   cc -O2 -D_GNU_SOURCE -Iinclude bench/zone_bench.c build/release/libostrov_core.a \
 *      -lldns -llmdb -lcrypto -lpthread -o build/release/zone_bench
 *   build/release/zone_bench /work/shared/testdata/zonemd/44-root-zone/root.zone.hashed . \
 *      1612137600 5 /work/shared/testdata/zonemd/44-root-zone/Keys/K.+008+21544.ds
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "ostrov/clock.h"
#include "ostrov/zone.h"

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

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s zonefile origin unix-time runs anchor.ds...\n", argv[0]);
		return 2;
	}
	const char *path = argv[1], *origin = argv[2];
	int runs = atoi(argv[4]);
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
	char dir[] = "/tmp/ost-zone-bench-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	struct ost_zone_store *store;
	struct ost_zone_store_opts so = {.path = dir};
	if (ost_zone_store_open(&so, &store) != 0)
		return 1;
	double *tp = calloc((size_t)runs, sizeof(double)),
	       *tv = calloc((size_t)runs, sizeof(double));
	double *tc = calloc((size_t)runs, sizeof(double)),
	       *tt = calloc((size_t)runs, sizeof(double));
	struct ost_zone_policy pol = {.zonemd = OST_ZONEMD_REQUIRE};
	for (int r = 0; r < runs; r++) {
		struct ost_zone_verify_result res;
		struct ost_zone_data *z = NULL;
		struct ost_zone_verify_ctx ctx = {.clock = &clock, .anchors = anchors};
		double t0 = now();
		if (ost_zone_parse_file(origin, path, &pol, &z, &res) != 0) {
			fprintf(stderr, "parse: %s\n", res.reason);
			return 1;
		}
		double t1 = now();
		if (ost_zone_verify(z, &ctx, &pol, &res) != 0) {
			fprintf(stderr, "verify: %s: %s\n", ost_zone_verdict_str(res.verdict),
				res.reason);
			return 1;
		}
		double t2 = now();
		struct ost_zone_meta m = {.serial = res.info.serial};
		if (ost_zone_store_commit(store, z, &m) != 0)
			return 1;
		double t3 = now();
		tp[r] = t1 - t0;
		tv[r] = t2 - t1;
		tc[r] = t3 - t2;
		tt[r] = t3 - t0;
		if (r == 0)
			printf("records=%llu sig_checks=%llu zonemd=%s\n",
			       (unsigned long long)res.info.records,
			       (unsigned long long)res.info.sigs_checked,
			       ost_zonemd_result_str(res.info.zonemd));
		ost_zone_data_free(z);
	}
	qsort(tp, (size_t)runs, sizeof(double), cmp_d);
	qsort(tv, (size_t)runs, sizeof(double), cmp_d);
	qsort(tc, (size_t)runs, sizeof(double), cmp_d);
	qsort(tt, (size_t)runs, sizeof(double), cmp_d);
	printf("phase   best     median   (seconds, %d runs)\n", runs);
	printf("parse   %.3f    %.3f\n", tp[0], tp[runs / 2]);
	printf("verify  %.3f    %.3f\n", tv[0], tv[runs / 2]);
	printf("commit  %.3f    %.3f\n", tc[0], tc[runs / 2]);
	printf("total   %.3f    %.3f\n", tt[0], tt[runs / 2]);
	ost_zone_store_close(store);
	ldns_rr_list_deep_free(anchors);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
