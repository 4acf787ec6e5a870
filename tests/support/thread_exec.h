/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A pthread executor for tests (include/ostrov/exec.h) that is built to make
 * races show: every run starts @c width fresh threads, holds them at a
 * barrier so they all begin at the same moment, and hands the tasks out in a
 * shuffled order, so neighbouring tasks, which share the most (the same keys,
 * the same RRsets' neighbours), run at the same time on different threads.
 * The order is drawn from a seed (the same seed, the same order); the threads'
 * timing is the machine's. The calling thread only waits.
 *
 * It has none of the daemon pool's (server/uvexec.c) machinery: a bug found
 * with it is in the code under test, not in a shared pool.
 *
 * Example: struct test_thread_exec x; test_thread_exec_init(&x, 4, 1);
 * policy.exec = &x.exec; ... ost_zone_verify(...) runs its 64 tasks on four
 * new threads in an order drawn from seed 1, then x.runs == 1.
 */
#ifndef OSTROV_TEST_THREAD_EXEC_H
#define OSTROV_TEST_THREAD_EXEC_H

#include <stdint.h>

#include "ostrov/exec.h"

/** The executor; fill it with test_thread_exec_init(), no deinit needed. */
struct test_thread_exec {
	struct ost_exec exec; /**< hand &exec to the code under test */
	uint64_t seed;        /**< next shuffle's seed (advanced per run) */
	uint64_t runs;        /**< jobs run so far */
	uint64_t tasks;       /**< tasks run so far */
};

/**
 * Set up an executor.
 * @param x the executor
 * @param width threads per run (>= 2: one would make ost_exec_run() serial)
 * @param seed seed of the first shuffle
 */
void test_thread_exec_init(struct test_thread_exec *x, unsigned width, uint64_t seed);

#endif
