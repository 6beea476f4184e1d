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
	NETSEG_CNT_FILTERED,         /* matched the flow but below a threshold */
	/* spans (netseg_span.bpf.h): the same accounting in every tracer */
	NETSEG_CNT_SPAN_STARTED,     /* a start stamp created a span */
	NETSEG_CNT_SPAN_COMPLETED,   /* every required stage stamped: claimed once */
	NETSEG_CNT_SPAN_REPLACED,    /* a new start with the same key ended a stale span */
	NETSEG_CNT_SPAN_DUPLICATE,   /* another hook of the start family, same packet */
	NETSEG_CNT_SPAN_ORPHAN,      /* a later stage for a key with no span */
	NETSEG_CNT_TOOL0,            /* first of the tool-specific counters */
	NETSEG_CNT_MAX = 24,
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
	NETSEG_PARSE_OTHER_L4,       /* not the one L4 protocol the caller wants */
};

/* One stage of a span: when and where it was stamped. */
struct netseg_stamp {
	__u64 ts_ns;                 /* CLOCK_MONOTONIC; 0: not stamped */
	__u64 skb;                   /* kernel address of the packet here: tells the packet
				      * itself from a copy of it (never dereferenced) */
	__u32 cpu;
	__u32 pid;                   /* thread group id of the current task */
	__u32 ifindex;
	__s32 stack_id;              /* kernel stack id, <0: none */
	__u8 tier;                   /* enum netseg_tier */
	__u8 hook;                   /* the tool's hook id */
	__u8 pad[6];
	char comm[16];
	char ifname[16];
};

#define NETSEG_SPAN_MAX_STAGES 8

/* The head of every span value: first member of a tool's value struct, so
 * user space finds it at offset 0 whatever the tool. */
struct netseg_span {
	__u64 start_ns;              /* the start stamp: age for expiry and replacement */
	__u32 barrier;               /* bumped atomically after each stamp, see netseg_span_ready() */
	__u32 pad;
};

/* What a ring-buffer record of a span says happened to it. */
enum netseg_span_event {
	NETSEG_SPAN_EV_COMPLETE = 1, /* every required stage stamped */
	NETSEG_SPAN_EV_REPLACED = 2, /* ended by a new start with its key (stale or another packet) */
	NETSEG_SPAN_EV_STAGE = 4,    /* one stage as it happens (verbose tools) */
	NETSEG_SPAN_EV_TOOL0 = 16,   /* first tool-specific record kind */
};

/* Precedes the span value in every ring-buffer record of a span. */
struct netseg_rec_hdr {
	__u8 kind;                   /* enum netseg_span_event */
	__u8 stage;                  /* NETSEG_SPAN_EV_STAGE: which one */
	__u8 pad[6];
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

/* --src-ip --dst-ip --protocol --src-port --dst-port --icmp-id --icmp-seq:
 * zero fields match anything; ICMP id and seq can be 0, so flags say
 * whether they are set. Ports only match TCP/UDP, id/seq only echoes. */
#define NETSEG_PF_ICMP_ID 1
#define NETSEG_PF_ICMP_SEQ 2
struct netseg_pktfilter {
	__u32 saddr;                 /* network order */
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u16 icmp_id;
	__u16 icmp_seq;
	__u8 proto;                  /* IPPROTO_*; 0: any */
	__u8 flags;                  /* NETSEG_PF_* */
	__u8 on;                     /* any field set: parse the packet */
	__u8 pad;
};

#define NETSEG_IPPROTO_ICMP 1
#define NETSEG_IPPROTO_TCP 6
#define NETSEG_IPPROTO_UDP 17
#define NETSEG_ICMP_ECHOREPLY 0
#define NETSEG_ICMP_ECHO 8

/* Latency histograms, the same in the kernel's per-CPU maps and in user
 * space (Prometheus buckets): bucket 0 holds values below 1024 ns; then two
 * buckets per octave [2^l, 1.5 * 2^l) and [1.5 * 2^l, 2^(l+1)) for l = 10
 * .. 33 (1.024 us .. 17 s); the last holds the rest (+Inf). Bucket
 * 1 + 2 * (l - 10) + h has the upper bound 2^l * (h ? 2 : 1.5) ns. */
#define NETSEG_HIST_MIN_LOG2 10
#define NETSEG_HIST_MAX_LOG2 33
#define NETSEG_HIST_BUCKETS (2 + 2 * (NETSEG_HIST_MAX_LOG2 - NETSEG_HIST_MIN_LOG2 + 1))

/* With --metrics --quiet the kernel keeps these histograms itself, one per
 * segment of a span tool (bpf/netseg_hist.bpf.h): up to this many, a few
 * more than the longest segment table. */
#define NETSEG_HIST_MAX_SEGS 8
/* A segment's ends, as user/lib/span.h's SPAN_SEG_PREV and SPAN_SEG_LAST. */
#define NETSEG_HIST_PREV (-1)        /* `from`: the last stamped stage before `to` */
#define NETSEG_HIST_LAST (-2)        /* `to`: the last stamped stage */

struct netseg_hist_segdef {
	__s8 from;                   /* stage index, or NETSEG_HIST_PREV */
	__s8 to;                     /* stage index, or NETSEG_HIST_LAST */
};

/* The segments the kernel measures: written by the loader from the tool's
 * segment table, in that table's order (segment i is key i). */
struct netseg_hist_cfg {
	__u32 n;
	struct netseg_hist_segdef seg[NETSEG_HIST_MAX_SEGS];
};

/* One segment's histogram on one CPU: the value of netseg_hist[segment].
 * A segment whose `to` came before its `from` counts 0 ns, as in user
 * space's statistics, and is also counted in `negative`. */
struct netseg_hist_seg {
	__u64 counts[NETSEG_HIST_BUCKETS];   /* not cumulative */
	__u64 sum_ns;
	__u64 negative;
};

#endif /* NETSEG_H */
