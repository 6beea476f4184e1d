/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The stage tables of every netseg tracer: which kernel hooks each stage
 * can use, in order of preference. One definition, read by the tracers
 * themselves and by `netseg doctor`. */
#ifndef NETSEG_CATALOG_H
#define NETSEG_CATALOG_H

#include "tier.h"

extern const struct tier_tool catalog_pktwatch;
extern const struct tier_tool catalog_kernel_icmp_rtt_tx;
extern const struct tier_tool catalog_kernel_icmp_rtt_rx;
extern const struct tier_tool catalog_icmp_drop_detector;
extern const struct tier_tool catalog_tun_tx_to_kvm_irq;
extern const struct tier_tool catalog_status_ts;

/* NULL-terminated list of all of them, for doctor. */
extern const struct tier_tool *const catalog_tools[];

#endif /* NETSEG_CATALOG_H */
