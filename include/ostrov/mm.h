/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file mm.h
 * Memory contexts: an allocator handle (struct ost_mm) and a per-request
 * arena (struct ost_arena).
 *
 * Everything that lives only as long as a request is allocated from the
 * request's arena and freed at once with it. Objects that must be freed by
 * their own function (ldns_pkt, ldns_rr_list ...) are registered with
 * ost_arena_defer() so they go with the arena too.
 *
 * Example: a request does `struct ost_arena a; ost_arena_init(&a, 4096);`,
 * parses an upstream reply with ldns, defers ldns_pkt_free on it, copies cache
 * entries into the arena, and ends with ost_arena_deinit(&a).
 */
#ifndef OSTROV_MM_H
#define OSTROV_MM_H

#include <stddef.h>

/** An allocator: the arena below, the heap, or cmocka's test allocator. */
struct ost_mm {
	void *ctx;                              /**< allocator state */
	void *(*alloc)(void *ctx, size_t size); /**< allocate, NULL on failure */
	void (*free)(void *ctx, void *ptr);     /**< release (no-op for arenas) */
};

/** Allocate from @p mm. */
static inline void *ost_mm_alloc(const struct ost_mm *mm, size_t size)
{
	return mm->alloc(mm->ctx, size);
}

/** Release to @p mm (a no-op for arenas). */
static inline void ost_mm_free(const struct ost_mm *mm, void *ptr)
{
	if (mm->free)
		mm->free(mm->ctx, ptr);
}

/** An allocator handle over malloc/free. */
extern const struct ost_mm ost_mm_heap;

struct ost_arena_chunk;
struct ost_arena_cleanup;

/** A bump allocator freed all at once, with deferred cleanups. */
struct ost_arena {
	struct ost_arena_chunk *head;       /**< current chunk, chained to older ones */
	struct ost_arena_cleanup *cleanups; /**< run in reverse order at deinit/reset */
	size_t chunk_size;                  /**< default size of new chunks */
};

/**
 * Prepare an empty arena (allocates nothing yet).
 * @param a the arena
 * @param chunk_size size of each chunk (a larger allocation gets its own chunk)
 */
void ost_arena_init(struct ost_arena *a, size_t chunk_size);

/**
 * Allocate @p size bytes, 16-byte aligned.
 * @return memory valid until the arena is reset or deinitialised, or NULL
 */
void *ost_arena_alloc(struct ost_arena *a, size_t size);

/**
 * Register @p fn(@p arg) to run when the arena is reset or deinitialised.
 * @return 0 or -ENOMEM (then @p fn has been called already)
 */
int ost_arena_defer(struct ost_arena *a, void (*fn)(void *), void *arg);

/** Run cleanups and free all but the first chunk, for reuse. */
void ost_arena_reset(struct ost_arena *a);

/** Run cleanups and free everything. */
void ost_arena_deinit(struct ost_arena *a);

/**
 * Make an allocator handle that allocates from @p a.
 * @param mm receives the handle
 * @param a the arena, which must outlive the handle
 */
void ost_mm_from_arena(struct ost_mm *mm, struct ost_arena *a);

#endif
