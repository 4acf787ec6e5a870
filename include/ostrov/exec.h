/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file exec.h
 * The executor interface: how engine code (zones/) runs independent pieces
 * of one job on several cores without creating threads or knowing libuv.
 *
 * The caller cuts a job into @c n_tasks tasks numbered 0..n_tasks-1 that
 * share nothing writable except per-task slots, and calls ost_exec_run();
 * it returns when every task has finished. The serial executor (a NULL
 * executor) runs them one after the other on the calling thread, in order.
 * server/ provides one over a pool of uv_thread_create() threads
 * (server/exec.c); tests and bench drivers may provide their own.
 *
 * Results must not depend on the executor: a task writes only its own slot,
 * and the caller combines the slots in task order afterwards, so a parallel
 * run reports exactly what the serial run would (same verdict, same first
 * error).
 *
 * Example: zones/dnssec_check.c collects the 40,000 signed RRsets of a
 * national TLD version, cuts them into 64 tasks of consecutive RRsets and
 * calls ost_exec_run(policy->exec, verify_task, &job, 64); on a two-core
 * daemon two threads take tasks until none is left, each task stops at its
 * first bad RRset, and the check reports the failure of the lowest task.
 */
#ifndef OSTROV_EXEC_H
#define OSTROV_EXEC_H

#include <stddef.h>

/**
 * One task of a job.
 * @param arg the job (shared by all tasks; read-only but for per-task slots)
 * @param task the task number, 0 <= task < n_tasks
 */
typedef void (*ost_exec_task_cb)(void *arg, size_t task);

/** Operations an executor provides. */
struct ost_exec_ops {
	/**
	 * Run tasks 0..n_tasks-1 of @p fn, each exactly once, in any order and on
	 * any of the executor's threads (the calling thread may take part), and
	 * return when all have finished. Callers on different threads may call it
	 * at the same time (an executor may run their jobs one after the other);
	 * a task must not call run() on the same executor.
	 */
	void (*run)(void *ctx, ost_exec_task_cb fn, void *arg, size_t n_tasks);
};

/** An executor: operations, their state and how many tasks it runs at once. */
struct ost_exec {
	const struct ost_exec_ops *ops; /**< the operations */
	void *ctx;                      /**< passed to every operation */
	unsigned width;                 /**< threads running tasks at once (>= 1); callers
					   use it to decide how finely to cut a job */
};

/**
 * Run @p n_tasks tasks of @p fn on @p e and wait for all of them.
 * @param e the executor, or NULL for the serial one (tasks in order, this thread)
 * @param fn the task function
 * @param arg its job argument
 * @param n_tasks number of tasks (0 runs nothing)
 */
static inline void ost_exec_run(const struct ost_exec *e, ost_exec_task_cb fn, void *arg,
				size_t n_tasks)
{
	if (e && e->ops && e->width > 1 && n_tasks > 1) {
		e->ops->run(e->ctx, fn, arg, n_tasks);
		return;
	}
	for (size_t i = 0; i < n_tasks; i++)
		fn(arg, i);
}

/**
 * @param e an executor or NULL
 * @return how many tasks @p e runs at once (1 for the serial executor)
 */
static inline unsigned ost_exec_width(const struct ost_exec *e)
{
	return e && e->ops && e->width > 1 ? e->width : 1;
}

#endif
