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

enum idd_record {
	IDD_REC_ECHO = 1,      /* all four points */
	IDD_REC_FREED = 2,     /* the kernel freed a packet of a tracked echo (kfree_skb) */
	IDD_REC_POINT = 3,     /* one point, with --verbose */
};

enum idd_counter {
	IDD_CNT_STARTED = NETSEG_CNT_TOOL0,  /* echoes with a ReqRX */
	IDD_CNT_COMPLETE,                    /* echoes with all four points */
	IDD_CNT_FREED,                       /* kfree_skb of a tracked echo */
	IDD_CNT_FREED_NO_DEV,                /* kfree_skb of our flow with no device: not attributable */
	IDD_CNT_ORPHAN,                      /* a later point for an echo never started */
};

struct idd_key {
	__u32 src;            /* request source, network order */
	__u32 dst;
	__u16 id;
	__u16 seq;
};

struct idd_point_stamp {
	__u64 ts_ns;          /* CLOCK_MONOTONIC; 0: not seen */
	__u32 ifindex;
	__u32 cpu;
	char ifname[16];
};

struct idd_echo {
	struct idd_key key;
	__u8 rx_side;         /* enum idd_side the request arrived on */
	__u8 freed;           /* a kfree_skb of this echo was seen */
	__u16 freed_reason;   /* enum skb_drop_reason of the running kernel */
	__u32 freed_ifindex;
	__u32 freed_netns;
	__u8 freed_point;     /* the last point the echo reached before the free */
	__u8 freed_is_reply;
	__u8 pad[2];
	__u64 freed_ts_ns;
	__u64 freed_location; /* kernel address of the caller of kfree_skb */
	char freed_ifname[16];
	struct idd_point_stamp pt[IDD_N_POINTS];
};

struct idd_event {
	__u8 kind;            /* enum idd_record */
	__u8 point;           /* IDD_REC_POINT: which one */
	__u8 pad[6];
	struct idd_echo echo;
};

#endif /* ICMP_DROP_DETECTOR_H */
