/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Definitions shared by every netseg tracer's kernel half and user half.
 * Plain fixed-width types only: this header is compiled both by clang for
 * the BPF target (after vmlinux.h) and by the host compiler.
 */
#ifndef NETSEG_H
#define NETSEG_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* How a stage's program reached the kernel; carried in every record so a
 * reader of one line knows which hook produced the timestamp. */
enum netseg_tier {
	NETSEG_TIER_NONE = 0,
	NETSEG_TIER_FENTRY = 1,
	NETSEG_TIER_KPROBE = 2,
	NETSEG_TIER_TP_BTF = 3,
	NETSEG_TIER_RAW_TP = 4,
	NETSEG_TIER_TRACEPOINT = 5,
	NETSEG_TIER_MAX,
};

/* Per-CPU counters every tracer keeps in its `netseg_counters` map.
 * User space sums them over CPUs for the summary; nothing is lost silently. */
enum netseg_counter {
	NETSEG_CNT_RB_LOST = 0,      /* ring buffer reserve failed: record dropped */
	NETSEG_CNT_PARSE_REJECT,     /* packet not parseable as IPv4 (counted, not an error) */
	NETSEG_CNT_IPV6,             /* IPv6 packets seen and rejected */
	NETSEG_CNT_MAP_FULL,         /* a map insert failed */
	NETSEG_CNT_EVICTED,          /* an incomplete item was evicted (LRU) */
	NETSEG_CNT_FILTERED,         /* matched the flow but below a threshold */
	NETSEG_CNT_TOOL0,            /* first of the tool-specific counters */
	NETSEG_CNT_MAX = 16,
};

/* Result of the shared packet parser; >0 values are reasons for rejection. */
enum netseg_parse_rc {
	NETSEG_PARSE_OK = 0,
	NETSEG_PARSE_NOT_IP,         /* ethertype is neither IPv4 nor IPv6, or bad IPv4 header */
	NETSEG_PARSE_IPV6,           /* IPv6: recognised and rejected cleanly */
	NETSEG_PARSE_NO_L3,          /* the skb has no network header set yet */
	NETSEG_PARSE_SHORT,          /* headers not in the linear part of the skb */
	NETSEG_PARSE_READ,           /* reading kernel memory failed */
	NETSEG_PARSE_FRAGMENT,       /* IPv4 non-first fragment: no L4 header */
};

#define NETSEG_MAX_IFS 8

/* A set of interfaces (bond slaves, or several taps). An ifindex only
 * means something inside its namespace (every fresh namespace has an index
 * 2), so each entry carries the inode of the namespace it was resolved in.
 * The BPF side compares it only when every namespace is watched: with one
 * namespace the namespace filter already did. */
struct netseg_ifset {
	__u32 n;                     /* 0: every interface */
	__u32 ifindex[NETSEG_MAX_IFS];
	__u32 netns[NETSEG_MAX_IFS]; /* namespace inode of ifindex[i] */
};

/* One parsed IPv4 packet: addresses in network order, ports (or ICMP echo
 * id and sequence) in host order. */
struct netseg_pkt {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;                 /* TCP/UDP source port; ICMP echo: id */
	__u16 dport;                 /* TCP/UDP destination port; ICMP echo: sequence */
	__u16 ip_len;                /* IPv4 total length, bytes */
	__u8 l4proto;                /* IPPROTO_* */
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 pad[3];
};

#define NETSEG_IPPROTO_ICMP 1
#define NETSEG_IPPROTO_TCP 6
#define NETSEG_IPPROTO_UDP 17
#define NETSEG_ICMP_ECHOREPLY 0
#define NETSEG_ICMP_ECHO 8

#endif /* NETSEG_H */
