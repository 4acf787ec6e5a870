/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the support library's files share and its users do not need: the
 * transport (fake_transport.c) frees the servers' data (fake_auth.c) when a
 * network goes away.
 */
#ifndef OSTROV_TEST_SUPPORT_INTERNAL_H
#define OSTROV_TEST_SUPPORT_INTERNAL_H

#include "ost_test.h"

/**
 * Free every server's zones and inject records.
 * @param n the network
 */
void fake_servers_free(struct fake_net *n);

#endif
