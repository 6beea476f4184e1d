/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Between tier.c (probing, the plan) and tier_prove.c (our programs on
 * this kernel): the pieces both need, not for tools. */
#ifndef NETSEG_TIER_PRIV_H
#define NETSEG_TIER_PRIV_H

#include "tier.h"

struct bpf_program;

int tier_stage_n_hooks(const struct tier_stage *st);

/* (Re)decide one stage: the first tier (allowed by `force`) with at least
 * one working hook, skipping programs marked rejected. Returns whether
 * `force` restricted the stage to its tier; first_err/first_target receive
 * the first failure seen (when still 0). */
bool tier_choose_stage(const struct tier_stage *st, enum tier_force force, struct tier_choice *c,
		       int *first_err, const char **first_target);

struct bpf_link *tier_attach_hook(struct bpf_program *prog, enum netseg_tier tier,
				  const char *resolved);

#endif /* NETSEG_TIER_PRIV_H */
