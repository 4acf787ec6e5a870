/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A malloc counter preloaded into ostrovd by
 * tests/integration/test_cache_hit_alloc.py (LD_PRELOAD): it counts every
 * malloc, calloc, realloc and aligned allocation of the process, and on
 * SIGUSR2 writes the count, in decimal, to the file named by
 * OST_MALLOC_COUNT_FILE. The test reads the count before and after a burst
 * of cache-hit queries: the hit path must not allocate.
 *
 * glibc's __libc_* entry points do the real work, so nothing here needs
 * dlsym() (which may itself allocate). The signal handler only uses
 * async-signal-safe calls (open, write, close).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);

static atomic_ulong n_alloc;
static char out_path[512];

__attribute__((visibility("default"))) void *malloc(size_t size)
{
	atomic_fetch_add_explicit(&n_alloc, 1, memory_order_relaxed);
	return __libc_malloc(size);
}

__attribute__((visibility("default"))) void *calloc(size_t n, size_t size)
{
	atomic_fetch_add_explicit(&n_alloc, 1, memory_order_relaxed);
	return __libc_calloc(n, size);
}

__attribute__((visibility("default"))) void *realloc(void *p, size_t size)
{
	atomic_fetch_add_explicit(&n_alloc, 1, memory_order_relaxed);
	return __libc_realloc(p, size);
}

__attribute__((visibility("default"))) int posix_memalign(void **out, size_t align, size_t size)
{
	atomic_fetch_add_explicit(&n_alloc, 1, memory_order_relaxed);
	void *p = __libc_memalign(align, size);
	if (!p)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

__attribute__((visibility("default"))) void *aligned_alloc(size_t align, size_t size)
{
	atomic_fetch_add_explicit(&n_alloc, 1, memory_order_relaxed);
	return __libc_memalign(align, size);
}

static void on_usr2(int sig)
{
	(void)sig;
	unsigned long v = atomic_load(&n_alloc);
	char buf[32];
	size_t i = sizeof(buf);
	buf[--i] = '\n';
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		ssize_t w = write(fd, buf + i, sizeof(buf) - i);
		(void)w;
		close(fd);
	}
}

__attribute__((constructor)) static void malloc_count_init(void)
{
	const char *p = getenv("OST_MALLOC_COUNT_FILE");
	if (!p || strlen(p) >= sizeof(out_path))
		return;
	memcpy(out_path, p, strlen(p) + 1);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
}
