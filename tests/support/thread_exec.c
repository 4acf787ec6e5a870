/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The race-provoking test executor of thread_exec.h: fresh threads per run,
 * a start barrier, a shuffled task order. Failures to make threads are
 * fixture failures (fake_fail()), never a silent serial run, which would
 * hide exactly what a stress test looks for.
 */
#include "thread_exec.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ost_test.h"

#define MAX_WIDTH 16

struct trun {
	ost_exec_task_cb fn;
	void *arg;
	const size_t *order; /* task numbers in the order they are handed out */
	size_t n;
	_Atomic size_t next;
	pthread_barrier_t start;
};

static void *trun_main(void *p)
{
	struct trun *r = p;
	size_t i;

	pthread_barrier_wait(&r->start);
	while ((i = atomic_fetch_add(&r->next, 1)) < r->n)
		r->fn(r->arg, r->order[i]);
	return NULL;
}

/* splitmix64: a small, good, reproducible stream for the shuffle. */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void thread_run(void *ctx, ost_exec_task_cb fn, void *arg, size_t n_tasks)
{
	struct test_thread_exec *x = ctx;
	unsigned width = x->exec.width;
	pthread_t th[MAX_WIDTH];
	struct trun r = {.fn = fn, .arg = arg, .n = n_tasks};
	size_t *order = malloc((n_tasks ? n_tasks : 1) * sizeof(*order));

	if (!order)
		fake_fail("thread_exec: out of memory for %zu tasks", n_tasks);
	for (size_t i = 0; i < n_tasks; i++)
		order[i] = i;
	for (size_t i = n_tasks; i > 1; i--) { /* Fisher-Yates */
		size_t j = (size_t)(next_rand(&x->seed) % i);
		size_t t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	r.order = order;
	atomic_init(&r.next, 0);
	if (pthread_barrier_init(&r.start, NULL, width) != 0)
		fake_fail("thread_exec: pthread_barrier_init failed");
	for (unsigned t = 0; t < width; t++)
		if (pthread_create(&th[t], NULL, trun_main, &r) != 0)
			fake_fail("thread_exec: pthread_create failed (thread %u of %u)", t, width);
	for (unsigned t = 0; t < width; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&r.start);
	free(order);
	x->runs++;
	x->tasks += n_tasks;
}

static const struct ost_exec_ops thread_ops = {.run = thread_run};

void test_thread_exec_init(struct test_thread_exec *x, unsigned width, uint64_t seed)
{
	if (width < 2 || width > MAX_WIDTH)
		fake_fail("thread_exec: width %u outside 2..%d", width, MAX_WIDTH);
	memset(x, 0, sizeof(*x));
	x->exec = (struct ost_exec){.ops = &thread_ops, .ctx = x, .width = width};
	x->seed = seed;
}
