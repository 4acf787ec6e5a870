/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private helpers shared inside control/.
 */
#ifndef OSTROV_CONTROL_CTL_INTERNAL_H
#define OSTROV_CONTROL_CTL_INTERNAL_H

#include "ostrov/control.h"

/**
 * Let the dispatcher own a malloc'd handler context: it is freed with the
 * dispatcher. @return 0, or -ENOMEM (then @p ptr is freed at once)
 */
int ctl_dispatch_own(struct ost_ctl_dispatch *d, void *ptr);

#endif
