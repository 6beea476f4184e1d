/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* icmp_drop_detector: four points per echo on a host, and drops. */
#ifndef ICMP_DROP_DETECTOR_H
#define ICMP_DROP_DETECTOR_H

#include "netseg.h"

/* The request enters on the rx side and leaves on the tx side; the reply
 * comes back on the tx side and leaves on the rx side. */
enum idd_point {
	IDD_REQ_RX = 0,
	IDD_REQ_TX = 1,
	IDD_REP_RX = 2,
	IDD_REP_TX = 3,
	IDD_N_POINTS = 4,
};

/* The two interface sets given on the command line. With --rx-iface and
 * --tx-iface, A is rx and B is tx. With --vm-interface (A) and
 * --phy-interface (B) the side where a request arrives is its rx side. */
enum idd_side {
	IDD_SIDE_A = 0,
	IDD_SIDE_B = 1,
};

/* Tool counters, after the shared ones (enum netseg_counter). */
enum idd_counter {
	IDD_CNT_FREE_NOT_PATH = NETSEG_CNT_TOOL0, /* a free of a tracked echo's flow that is not the
						   * packet on its path here: a copy or clone, or a
						   * packet that already left (TX completion) */
	IDD_CNT_FREED_NO_DEV,                /* a free of our flow with no device: not attributable */
	IDD_CNT_DONE_RX_A,                   /* complete echoes whose request came in on side A */
	IDD_CNT_DONE_RX_B,                   /* ... on side B */
	IDD_CNT_DONE_FREED,                  /* complete echoes with a free seen inside: not drops */
};

struct idd_key {
	__u32 src;            /* request source, network order */
	__u32 dst;
	__u16 id;
	__u16 seq;
};

/* How a recorded free relates to the packet on the echo's path. */
enum idd_free_match {
	IDD_FREE_NONE = 0,
	IDD_FREE_SAME_PACKET = 1,    /* the very skb stamped where it entered this host */
	IDD_FREE_SAME_NETNS = 2,     /* another skb of the flow, freed in the watched namespace
				      * while the packet was inside (a copy of it, or it) */
};

/* The kernel free that may explain a drop. Decided only when the echo does
 * not complete: a completed echo's frees were not its loss. */
struct idd_free {
	__u64 ts_ns;
	__u64 location;       /* kernel address of the caller of kfree_skb */
	__u32 reason;         /* enum skb_drop_reason; subsystem reasons use bits 16+ */
	__u32 ifindex;
	__u32 netns;
	__u8 match;           /* enum idd_free_match */
	__u8 is_reply;
	__u8 has_reason;      /* 0: this kernel's kfree_skb gives no reason */
	__u8 pad;
	char ifname[16];
};

/* A span (netseg_span.bpf.h): stamps indexed by enum idd_point. */
struct idd_echo {
	struct netseg_span span;
	struct idd_key key;
	__u8 rx_side;         /* enum idd_side the request arrived on */
	__u8 pad[3];
	struct idd_free free;
	struct netseg_stamp st[IDD_N_POINTS];
};

struct idd_event {
	struct netseg_rec_hdr h;
	struct idd_echo e;
};

#endif /* ICMP_DROP_DETECTOR_H */
