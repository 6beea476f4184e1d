/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* kernel_icmp_rtt: one record per ICMP echo, with four kernel stamps. */
#ifndef KERNEL_ICMP_RTT_H
#define KERNEL_ICMP_RTT_H

#include "netseg.h"

/* tx: this machine pings (request out, reply in).
 * rx: this machine is pinged (request in, reply out). */
enum rtt_direction {
	RTT_DIR_TX = 0,
	RTT_DIR_RX = 1,
};

/* The four stamps of an echo, in time order on both directions. */
enum rtt_stage {
	RTT_P1_START = 0,
	RTT_P1_END = 1,
	RTT_P2_START = 2,
	RTT_P2_END = 3,
	RTT_N_STAGES = 4,
};

/* What the hook that produced a stamp is; which stage it gives depends
 * on the direction (ip_out starts path 1 on tx and path 2 on rx). */
enum rtt_hook {
	RTT_HOOK_LOCAL_OUT = 0,   /* __ip_local_out */
	RTT_HOOK_IP_OUTPUT,       /* ip_output */
	RTT_HOOK_DEV_QUEUE,       /* net:net_dev_queue */
	RTT_HOOK_DEV_XMIT,        /* net:net_dev_xmit */
	RTT_HOOK_RECV,            /* net:netif_receive_skb */
	RTT_HOOK_RECV_ENTRY,      /* net:netif_receive_skb_entry */
	RTT_HOOK_RECV_LIST,       /* net:netif_receive_skb_list_entry */
	RTT_HOOK_ICMP_RCV,        /* icmp_rcv */
	RTT_HOOK_SK_DATA_READY,   /* sock:sk_data_ready of the ICMP socket */
	RTT_HOOK_FROM_REPLY,      /* rx without icmp_rcv: P1 end = reply's first stamp */
	RTT_HOOK_DEV_START_XMIT,  /* net:net_dev_start_xmit (classic tracepoint tier) */
	RTT_HOOK_SKB_COPY,        /* skb:skb_copy_datagram_iovec: ping reads the reply */
	RTT_N_HOOKS,
};

/* Tool counters, after the shared ones (enum netseg_counter). */
enum rtt_counter {
	RTT_CNT_FORWARDED = NETSEG_CNT_TOOL0, /* an echo packet this machine only forwards */
};

struct rtt_key {
	__u32 initiator;      /* network order: the host that sent the request */
	__u32 target;         /* network order */
	__u16 id;             /* ICMP echo id, host order */
	__u16 seq;            /* ICMP echo sequence, host order */
};

/* A span (netseg_span.bpf.h): stamps indexed by enum rtt_stage; each
 * stamp's hook is an enum rtt_hook. */
struct rtt_echo {
	struct netseg_span span;
	struct rtt_key key;
	__u8 direction;       /* enum rtt_direction */
	__u8 pad[7];
	struct netseg_stamp st[RTT_N_STAGES];
};

/* A ring-buffer record: what happened to the echo, then the echo. */
struct rtt_event {
	struct netseg_rec_hdr h;
	struct rtt_echo e;
};

#endif /* KERNEL_ICMP_RTT_H */
