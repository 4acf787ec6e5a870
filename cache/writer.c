/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The cache's writer thread: takes write batches off the workers so that no
 * client answer waits for LMDB's single writer lock.
 *
 * LMDB allows one write transaction at a time per environment, across all
 * processes. A worker committing its own batch could wait behind another
 * worker's commit, another process's eviction round or an fdatasync, and
 * every query queued on that worker would wait with it. Instead a worker calls
 * ost_cache_batch_submit(): its buffer is swapped with an empty one under a
 * short mutex (no I/O, no LMDB) and the writer thread commits everything that
 * has queued up in one transaction (group commit: the busier the resolver,
 * the more entries per fdatasync). If the writer falls far behind, new
 * batches are dropped and counted rather than blocking a worker: a cache
 * entry not stored costs a later upstream query, a blocked worker costs every
 * client behind it.
 *
 * Pacing (commit_interval_ms). Every commit ends in an fdatasync (lmdb.c), and
 * at a low query rate each one would carry a single answer: measured on the
 * mirror bench (1,000 first answers/s, one entry per commit), the commit and
 * its sync took ~46 % of ostrovd's CPU, ~170 µs per answer. So the writer
 * starts a commit at most once per interval, unless a quarter MiB or more is
 * queued: under load nothing changes (a commit takes longer than the
 * interval), at low load several answers share one sync. The price is that an
 * entry becomes visible to other workers and processes up to one interval
 * later; ost_cache_sync() and close never wait for it. The interval is real
 * time (CLOCK_MONOTONIC), not the cache's clock: it paces disk I/O, and a
 * test's frozen clock must not stall the writer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ostrov/log.h"

#include "impl.h"

#define SPARE_MAX  8
#define PACE_BYTES (256u << 10) /* queued bytes that start a commit at once */

struct ost_cache_writer {
	pthread_mutex_t lock;          /* everything below */
	pthread_cond_t work;           /* a batch was queued, or stop */
	pthread_cond_t idle;           /* a pass finished */
	pthread_t thread;              /* the writer */
	bool is_started;               /* thread created */
	bool is_stopping;              /* close in progress */
	unsigned urgent;               /* ost_cache_sync() callers waiting: no pacing */
	struct timespec next_commit;   /* earliest start of the next paced commit */
	struct ost_cache_batch *head;  /* queued batches, oldest first */
	struct ost_cache_batch **tail; /* where the next one goes */
	struct ost_cache_batch *spare; /* emptied nodes for reuse */
	unsigned spare_count;          /* nodes in spare */
	size_t queued_bytes;           /* bytes in the queue */
	uint64_t submitted;            /* batches queued since open */
	uint64_t done;                 /* batches committed or dropped */
};

int ost_cache_writer_init(struct ost_cache *cache)
{
	struct ost_cache_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	if (pthread_mutex_init(&w->lock, NULL)) {
		free(w);
		return -ENOMEM;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&w->idle, NULL);
	w->tail = &w->head;
	cache->writer = w;
	return 0;
}

/* Called with the lock held: whether the queued work may wait for next_commit. */
static bool may_wait(const struct ost_cache *cache, const struct ost_cache_writer *w)
{
	if (!cache->cfg.commit_interval_ms || w->is_stopping || w->urgent ||
	    w->queued_bytes >= PACE_BYTES)
		return false;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec < w->next_commit.tv_sec ||
	       (now.tv_sec == w->next_commit.tv_sec && now.tv_nsec < w->next_commit.tv_nsec);
}

static void set_next_commit(const struct ost_cache *cache, struct ost_cache_writer *w)
{
	uint64_t ns = (uint64_t)cache->cfg.commit_interval_ms * 1000000u;
	clock_gettime(CLOCK_MONOTONIC, &w->next_commit);
	ns += (uint64_t)w->next_commit.tv_nsec;
	w->next_commit.tv_sec += (time_t)(ns / 1000000000u);
	w->next_commit.tv_nsec = (long)(ns % 1000000000u);
}

static void *writer_main(void *arg)
{
	struct ost_cache *cache = arg;
	struct ost_cache_writer *w = cache->writer;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->head && !w->is_stopping)
			pthread_cond_wait(&w->work, &w->lock);
		if (!w->head)
			break;
		if (may_wait(cache, w)) {
			/* Woken early by more work, a sync or close: look again. */
			(void)pthread_cond_timedwait(&w->work, &w->lock, &w->next_commit);
			continue;
		}
		set_next_commit(cache, w);
		struct ost_cache_batch *chain = w->head;
		uint64_t upto = w->submitted;
		w->head = NULL;
		w->tail = &w->head;
		w->queued_bytes = 0;
		pthread_mutex_unlock(&w->lock);

		(void)ost_cache_commit_chain(chain); /* logs and counts its failures */

		pthread_mutex_lock(&w->lock);
		while (chain) {
			struct ost_cache_batch *next = chain->next;
			if (w->spare_count < SPARE_MAX) {
				chain->next = w->spare;
				w->spare = chain;
				w->spare_count++;
			} else {
				ost_cache_batch_free(chain);
			}
			chain = next;
		}
		w->done = upto;
		pthread_cond_broadcast(&w->idle);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int ost_cache_batch_submit(struct ost_cache_batch *b)
{
	struct ost_cache *cache = b->cache;
	struct ost_cache_writer *w = cache->writer;
	/* An empty submit only wakes the writer when readers queued touches. */
	if (b->count == 0 && !atomic_load_explicit(&cache->maint_hint, memory_order_relaxed))
		return 0;
	pthread_mutex_lock(&w->lock);
	if (!w->is_started) {
		if (pthread_create(&w->thread, NULL, writer_main, cache) != 0) {
			pthread_mutex_unlock(&w->lock);
			ost_log(OST_LOG_WARN, "cache", "no writer thread, committing inline");
			return ost_cache_batch_commit(b);
		}
		w->is_started = true;
	}
	struct ost_cache_batch *node = w->spare;
	if (node) {
		w->spare = node->next;
		w->spare_count--;
	} else {
		node = calloc(1, sizeof(*node));
	}
	if (!node || w->queued_bytes + b->len > ost_cache_db_map_size(cache->db) / 8) {
		if (node) {
			node->next = w->spare;
			w->spare = node;
			w->spare_count++;
		}
		pthread_mutex_unlock(&w->lock);
		atomic_fetch_add_explicit(&cache->write_dropped, b->count, memory_order_relaxed);
		b->len = 0;
		b->count = 0;
		return node ? OST_ELIMIT : -ENOMEM;
	}
	/* Swap buffers: the worker keeps an empty one of the node's. */
	uint8_t *buf = node->buf;
	size_t cap = node->cap;
	node->cache = cache;
	node->next = NULL;
	node->buf = b->buf;
	node->cap = b->cap;
	node->len = b->len;
	node->count = b->count;
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->count = 0;
	*w->tail = node;
	w->tail = &node->next;
	w->queued_bytes += node->len;
	w->submitted++;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

void ost_cache_sync(struct ost_cache *cache)
{
	struct ost_cache_writer *w = cache->writer;
	pthread_mutex_lock(&w->lock);
	uint64_t target = w->submitted;
	w->urgent++;
	pthread_cond_signal(&w->work); /* a paced writer commits now */
	while (w->done < target)
		pthread_cond_wait(&w->idle, &w->lock);
	w->urgent--;
	pthread_mutex_unlock(&w->lock);
}

void ost_cache_writer_stop(struct ost_cache *cache)
{
	struct ost_cache_writer *w = cache->writer;
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->is_stopping = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
	if (w->is_started)
		pthread_join(w->thread, NULL); /* commits what is queued first */
	while (w->spare) {
		struct ost_cache_batch *next = w->spare->next;
		ost_cache_batch_free(w->spare);
		w->spare = next;
	}
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->idle);
	pthread_mutex_destroy(&w->lock);
	free(w);
	cache->writer = NULL;
}
