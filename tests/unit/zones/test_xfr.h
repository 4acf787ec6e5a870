/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared between the transfer tests: the fake primary and fixture of
 * test_xfr.c, used by the refresh and NOTIFY tests of test_xfr_refresh.c.
 */
#ifndef OSTROV_TEST_XFR_H
#define OSTROV_TEST_XFR_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ostrov/xfr.h"

struct xfr_fixture;
struct fake_clock;

extern const struct CMUnitTest xfr_tests[];
extern const size_t xfr_tests_count;
extern const struct CMUnitTest refresh_tests[];
extern const size_t refresh_tests_count;

/** A temp store, a mirror with the unsigned zone "example.", a fake network. */
struct xfr_fixture *xfx_new(void);
void xfx_free(struct xfr_fixture *f);
struct fake_clock *xfx_clock(struct xfr_fixture *f);
const struct ost_transport *xfx_tp(struct xfr_fixture *f);
struct ost_mirror *xfx_mirror(struct xfr_fixture *f);
struct ost_zone_store *xfx_store(struct xfr_fixture *f);
/** Add a primary at @p ip serving version 1 or 2 of example. */
const struct ost_xfr_source *xfx_add_source(struct xfr_fixture *f, const char *ip, int version,
					    unsigned flags);
/** Import version 1 (serial 1) directly. */
void xfx_seed_v1(struct xfr_fixture *f);
/** @return the stored serial, 0 without a version */
uint32_t xfx_serial(struct xfr_fixture *f);
/** SOA queries and transfers primary @p srv received. */
void xfx_counts(struct xfr_fixture *f, size_t srv, unsigned *udp, unsigned *axfr);
void xfx_set_flags(struct xfr_fixture *f, size_t srv, unsigned flags);
unsigned xfx_flag_silent(void);
unsigned xfx_flag_cut(void);

#endif
