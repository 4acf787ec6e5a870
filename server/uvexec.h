/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The daemon's executor (include/ostrov/exec.h) over a small pool of
 * uv_thread_create() threads: zones/ verifies the RRsets of a zone version on
 * every core without knowing about threads or libuv. Private to server/ and
 * the bench drivers.
 */
#ifndef OSTROV_SERVER_UVEXEC_H
#define OSTROV_SERVER_UVEXEC_H

#include "ostrov/exec.h"

/** A thread-pool executor (opaque). */
struct ost_uv_exec;

/**
 * Start an executor that runs up to @p width tasks at once: width - 1 pool
 * threads plus the thread calling run().
 * @param width tasks at once; 0 = number of cores (uv_available_parallelism())
 * @param out receives the executor
 * @return 0, -ENOMEM, or a libuv error (negative errno)
 */
int ost_uv_exec_new(unsigned width, struct ost_uv_exec **out) __attribute__((warn_unused_result));

/** Stop and join the pool threads (NULL is fine); no run may be in progress. */
void ost_uv_exec_free(struct ost_uv_exec *e);

/** @return the executor interface of @p e (valid until ost_uv_exec_free()) */
const struct ost_exec *ost_uv_exec_get(const struct ost_uv_exec *e);

/**
 * Tune the process's allocator for zone imports (call once, before any import).
 * ldns allocates and frees two 64 KiB buffers per parsed record; with glibc's
 * default trim threshold (128 KiB) each free shrinks the heap and the next
 * malloc grows it again (brk, page faults): about 35 % of a 1,000,000-record
 * parse. A 256 MiB threshold keeps those pages.
 */
void ost_uv_exec_tune_malloc(void);

#endif
