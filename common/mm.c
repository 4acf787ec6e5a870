/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Allocators: the heap handle and the per-request arena. The arena is a chain
 * of chunks with a bump pointer, plus a list of deferred cleanups for objects
 * that other libraries allocate (ldns) and that must die with the request.
 */
#include "ostrov/mm.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

struct ost_arena_chunk {
	struct ost_arena_chunk *next;
	size_t size;
	size_t used;
	_Alignas(16) unsigned char data[];
};

struct ost_arena_cleanup {
	struct ost_arena_cleanup *next;
	void (*fn)(void *);
	void *arg;
};

static void *heap_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size);
}

static void heap_free(void *ctx, void *ptr)
{
	(void)ctx;
	free(ptr);
}

const struct ost_mm ost_mm_heap = {.ctx = NULL, .alloc = heap_alloc, .free = heap_free};

void ost_arena_init(struct ost_arena *a, size_t chunk_size)
{
	a->head = NULL;
	a->cleanups = NULL;
	a->chunk_size = chunk_size < 256 ? 256 : chunk_size;
}

void *ost_arena_alloc(struct ost_arena *a, size_t size)
{
	size_t need = (size + 15) & ~(size_t)15;
	if (need < size)
		return NULL;
	struct ost_arena_chunk *c = a->head;
	if (!c || c->size - c->used < need) {
		size_t csize = need > a->chunk_size ? need : a->chunk_size;
		if (csize > SIZE_MAX - sizeof(*c))
			return NULL;
		c = malloc(sizeof(*c) + csize);
		if (!c)
			return NULL;
		c->size = csize;
		c->used = 0;
		/* A one-off large chunk goes behind the current one so the
		 * current one keeps serving small allocations. */
		if (a->head && need > a->chunk_size) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	void *p = c->data + c->used;
	c->used += need;
	return p;
}

int ost_arena_defer(struct ost_arena *a, void (*fn)(void *), void *arg)
{
	struct ost_arena_cleanup *cl = ost_arena_alloc(a, sizeof(*cl));
	if (!cl) {
		fn(arg);
		return -ENOMEM;
	}
	cl->fn = fn;
	cl->arg = arg;
	cl->next = a->cleanups;
	a->cleanups = cl;
	return 0;
}

static void run_cleanups(struct ost_arena *a)
{
	struct ost_arena_cleanup *cl = a->cleanups;
	a->cleanups = NULL;
	while (cl) {
		struct ost_arena_cleanup *next = cl->next;
		cl->fn(cl->arg);
		cl = next;
	}
}

void ost_arena_reset(struct ost_arena *a)
{
	run_cleanups(a);
	struct ost_arena_chunk *keep = NULL;
	struct ost_arena_chunk *c = a->head;
	while (c) {
		struct ost_arena_chunk *next = c->next;
		if (!keep && c->size == a->chunk_size) {
			keep = c;
			keep->used = 0;
			keep->next = NULL;
		} else {
			free(c);
		}
		c = next;
	}
	a->head = keep;
}

void ost_arena_deinit(struct ost_arena *a)
{
	run_cleanups(a);
	struct ost_arena_chunk *c = a->head;
	while (c) {
		struct ost_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
}

static void *arena_mm_alloc(void *ctx, size_t size)
{
	return ost_arena_alloc(ctx, size);
}

void ost_mm_from_arena(struct ost_mm *mm, struct ost_arena *a)
{
	mm->ctx = a;
	mm->alloc = arena_mm_alloc;
	mm->free = NULL;
}
