/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A thread-pool executor for zones/ (include/ostrov/exec.h): width - 1
 * threads made with uv_thread_create() wait for a job; run() publishes it,
 * takes tasks itself as well, and returns when every task has finished and
 * every pool thread has let go of the job.
 *
 * Why not uv_queue_work()? It needs a loop and calls back on the loop's
 * thread, while an import blocks the mirror thread until the verdict is known;
 * a pool that the caller joins is simpler and keeps libuv's shared pool (DNS
 * lookups, file system work of other loops) free.
 *
 * Tasks are handed out with one atomic counter; a pool thread joins a job only
 * while it is open (under the mutex), and run() closes the job before waiting
 * for the threads that joined, so a thread waking late never takes a task of a
 * later job with the earlier job's function.
 */
#include "uvexec.h"

#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include <uv.h>

#include "ostrov/exec.h"

struct ost_uv_exec {
	struct ost_exec exec; /* what zones/ sees */
	uv_mutex_t run_mu;    /* one job at a time: callers on other threads queue here */
	uv_mutex_t mu;        /* protects everything below but next */
	uv_cond_t work_cv;    /* a job was published, or stop */
	uv_cond_t done_cv;    /* a pool thread left a job */
	uv_thread_t *threads; /* width - 1 pool threads */
	unsigned n_threads;   /* started */
	ost_exec_task_cb fn;  /* the current job */
	void *arg;            /* its argument */
	size_t n_tasks;       /* its task count */
	_Atomic size_t next;  /* next task to hand out */
	uint64_t gen;         /* job number, bumped per run */
	bool is_open;         /* pool threads may join the current job */
	unsigned active;      /* pool threads inside the current job */
	bool stop;            /* threads exit */
};

static void take_tasks(struct ost_uv_exec *e, ost_exec_task_cb fn, void *arg, size_t n)
{
	size_t i;
	while ((i = atomic_fetch_add_explicit(&e->next, 1, memory_order_relaxed)) < n)
		fn(arg, i);
}

static void pool_main(void *p)
{
	struct ost_uv_exec *e = p;
	uint64_t seen = 0;

	uv_mutex_lock(&e->mu);
	while (!e->stop) {
		if (!e->is_open || e->gen == seen) {
			uv_cond_wait(&e->work_cv, &e->mu);
			continue;
		}
		seen = e->gen;
		ost_exec_task_cb fn = e->fn;
		void *arg = e->arg;
		size_t n = e->n_tasks;
		e->active++;
		uv_mutex_unlock(&e->mu);
		take_tasks(e, fn, arg, n);
		uv_mutex_lock(&e->mu);
		if (--e->active == 0)
			uv_cond_signal(&e->done_cv);
	}
	uv_mutex_unlock(&e->mu);
}

static void exec_run(void *ctx, ost_exec_task_cb fn, void *arg, size_t n_tasks)
{
	struct ost_uv_exec *e = ctx;

	uv_mutex_lock(&e->run_mu);
	uv_mutex_lock(&e->mu);
	e->fn = fn;
	e->arg = arg;
	e->n_tasks = n_tasks;
	atomic_store(&e->next, 0);
	e->gen++;
	e->is_open = true;
	uv_cond_broadcast(&e->work_cv);
	uv_mutex_unlock(&e->mu);

	take_tasks(e, fn, arg, n_tasks);

	/* Every task has been handed out; wait for the ones still running. */
	uv_mutex_lock(&e->mu);
	e->is_open = false;
	while (e->active > 0)
		uv_cond_wait(&e->done_cv, &e->mu);
	uv_mutex_unlock(&e->mu);
	uv_mutex_unlock(&e->run_mu);
}

static const struct ost_exec_ops uv_exec_ops = {.run = exec_run};

int ost_uv_exec_new(unsigned width, struct ost_uv_exec **out)
{
	struct ost_uv_exec *e = calloc(1, sizeof(*e));
	int rc;

	if (!e)
		return -ENOMEM;
	if (width == 0)
		width = uv_available_parallelism();
	if (width == 0)
		width = 1;
	e->threads = calloc(width, sizeof(*e->threads));
	if (!e->threads) {
		free(e);
		return -ENOMEM;
	}
	if ((rc = uv_mutex_init(&e->run_mu)) != 0)
		goto fail;
	if ((rc = uv_mutex_init(&e->mu)) != 0) {
		uv_mutex_destroy(&e->run_mu);
		goto fail;
	}
	if ((rc = uv_cond_init(&e->work_cv)) != 0)
		goto fail_mu;
	if ((rc = uv_cond_init(&e->done_cv)) != 0) {
		uv_cond_destroy(&e->work_cv);
		goto fail_mu;
	}
	for (unsigned i = 0; i + 1 < width; i++) {
		if ((rc = uv_thread_create(&e->threads[i], pool_main, e)) != 0)
			break;
		e->n_threads++;
	}
	/* Fewer threads than asked (e.g. a thread limit) still works, just narrower. */
	e->exec.ops = &uv_exec_ops;
	e->exec.ctx = e;
	e->exec.width = e->n_threads + 1;
	*out = e;
	return 0;
fail_mu:
	uv_mutex_destroy(&e->mu);
	uv_mutex_destroy(&e->run_mu);
fail:
	free(e->threads);
	free(e);
	return rc;
}

void ost_uv_exec_free(struct ost_uv_exec *e)
{
	if (!e)
		return;
	uv_mutex_lock(&e->mu);
	e->stop = true;
	uv_cond_broadcast(&e->work_cv);
	uv_mutex_unlock(&e->mu);
	for (unsigned i = 0; i < e->n_threads; i++)
		uv_thread_join(&e->threads[i]);
	uv_cond_destroy(&e->work_cv);
	uv_cond_destroy(&e->done_cv);
	uv_mutex_destroy(&e->mu);
	uv_mutex_destroy(&e->run_mu);
	free(e->threads);
	free(e);
}

const struct ost_exec *ost_uv_exec_get(const struct ost_uv_exec *e)
{
	return &e->exec;
}

void ost_uv_exec_tune_malloc(void)
{
	(void)mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
}
