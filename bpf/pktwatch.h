/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* pktwatch: the smallest netseg tracer. One record per IPv4 packet that
 * matches the filters, at each stage it passes. It exists to prove the
 * shared machinery (parser, filters, tiers, ring buffer) on a kernel. */
#ifndef PKTWATCH_H
#define PKTWATCH_H

#include "netseg.h"

enum pw_stage {
	PW_STAGE_XMIT = 0,   /* handed to a device driver */
	PW_STAGE_RECV = 1,   /* received by a device, before the IP layer */
	PW_STAGE_L4 = 2,     /* delivered to the local ICMP/UDP/TCP receive function */
	PW_STAGE_MAX,
};

/* Tool counters: in quiet mode (--metrics --quiet) the packets of each
 * stage, counted in the kernel instead of a record each. */
enum pw_counter {
	PW_CNT_STAGE0 = NETSEG_CNT_TOOL0, /* + enum pw_stage */
};

struct pw_event {
	__u64 ts_ns;         /* CLOCK_MONOTONIC, ns */
	__u32 saddr;         /* network order */
	__u32 daddr;         /* network order */
	__u32 pid;           /* thread group id of the current task */
	__u32 cpu;
	__u32 ifindex;
	__u32 netns_ino;
	__u16 sport;         /* ICMP echo: id */
	__u16 dport;         /* ICMP echo: sequence */
	__u16 ip_len;        /* bytes */
	__u8 stage;          /* enum pw_stage */
	__u8 tier;           /* enum netseg_tier */
	__u8 l4proto;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 pad;
	char comm[16];
	char ifname[16];
};

#endif /* PKTWATCH_H */
