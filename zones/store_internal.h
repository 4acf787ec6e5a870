/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private to zones/ and its unit tests: a hook into the store's write path.
 * The crash-safety test uses it to learn, from inside a child process, that
 * a commit is half-written, so that the parent can kill -9 the child at
 * exactly that point without sleeping.
 */
#ifndef OSTROV_ZONES_STORE_INTERNAL_H
#define OSTROV_ZONES_STORE_INTERNAL_H

#include <stdint.h>

#include "ostrov/zone.h"

/** Called every `every` records written during a commit. */
typedef void (*ost_zone_store_hook_cb)(void *arg, uint64_t written);

/**
 * Install (cb != NULL) or remove the commit hook.
 * @param s the store
 * @param every call interval in written records
 * @param cb callback
 * @param arg its argument
 */
OST_EXPORT void ost_zone_store_set_hook(struct ost_zone_store *s, unsigned every,
					ost_zone_store_hook_cb cb, void *arg);

#endif
