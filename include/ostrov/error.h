/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file error.h
 * Error codes and assertions shared by every ostrov module.
 *
 * Fallible functions return int: 0 is success, a negative errno (-ENOMEM,
 * -EINVAL, ...) or one of the project codes below is failure. libuv codes are
 * negative errno already and pass through unchanged. DNS outcomes (SERVFAIL,
 * NXDOMAIN, BOGUS) are data on a request, never error returns.
 *
 * Example: ost_cache_open() on a file that is not an LMDB environment returns
 * OST_ECORRUPT; the caller logs ost_strerror(OST_ECORRUPT), moves the file
 * aside and opens a fresh cache.
 */
#ifndef OSTROV_ERROR_H
#define OSTROV_ERROR_H

#include <stdbool.h>

/** Mark a symbol as part of the library's exported interface. */
#define OST_EXPORT __attribute__((visibility("default")))
/** Warn when a fallible function's result is ignored. */
#define OST_WUR    __attribute__((warn_unused_result))

/** Project error codes, in a reserved negative range below any errno. */
enum ost_error {
	OST_EBASE = -20000,         /**< first project code, never returned */
	OST_EMALFORMED = -20001,    /**< malformed wire data or file */
	OST_EBOGUS = -20002,        /**< DNSSEC validation failed */
	OST_ESTALE_MIRROR = -20003, /**< mirror past its SOA expire deadline */
	OST_ECORRUPT = -20004,      /**< a storage file is corrupt or foreign */
	OST_ELIMIT = -20005,        /**< a configured hard limit was hit */
	OST_ECONFIG = -20006,       /**< configuration error */
	OST_EFULL = -20007,         /**< storage full even after eviction */
	OST_ENOTALLOWED = -20008,   /**< address or operation not allowed by policy */
	OST_ELAST = -20009,         /**< one past the last code, never returned */
};

/**
 * Describe an error code.
 * @param err a negative errno or project code
 * @return a static string, never NULL
 */
OST_EXPORT const char *ost_strerror(int err);

/** Report a failed assertion; used by the macros below. */
OST_EXPORT void ost_assert_failed(const char *expr, const char *file, int line, bool fatal);

/** Always-on, fatal assertion for invariants whose failure makes going on unsafe. */
#define ost_require(x)                                                   \
	do {                                                             \
		if (__builtin_expect(!(x), 0))                           \
			ost_assert_failed(#x, __FILE__, __LINE__, true); \
	} while (0)

/**
 * Recoverable assertion: logs, aborts in debug builds, and evaluates to true
 * when @p x is false, so the caller handles the failure:
 * `if (ost_fails_assert(len <= cap)) return -EINVAL;`
 */
#define ost_fails_assert(x)                                                                   \
	(__builtin_expect(!(x), 0) ? (ost_assert_failed(#x, __FILE__, __LINE__, false), true) \
				   : false)

#endif
