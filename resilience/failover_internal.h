/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private helpers shared by failover.c (the machine) and failover_status.c
 * (its writers).
 */
#ifndef OSTROV_RESILIENCE_FAILOVER_INTERNAL_H
#define OSTROV_RESILIENCE_FAILOVER_INTERNAL_H

#include "ostrov/failover.h"

/** Log names of the states and classes, indexed by their enums. */
extern const char *const fo_state_names[OST_FO_STATE_COUNT];
extern const char *const fo_class_names[OST_FO_CLASS_COUNT];

/** @return true when the transition table has an edge @p from -> @p to (from != to) */
bool fo_has_edge(int from, int to);

/** Write the evidence object (windows newest first, mirrors) of a transition record. */
void fo_write_evidence(const struct ost_fo_window *w, unsigned n_w, const struct ost_fo_mirror *m,
		       unsigned n_m, struct ost_buf *b);

#endif
