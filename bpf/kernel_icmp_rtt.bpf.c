// SPDX-License-Identifier: GPL-2.0
/*
 * kernel_icmp_rtt: per-echo ICMP round trip inside one machine, split into
 * path 1 (the request through this kernel), path 2 (the reply) and what lies
 * between (the network and the peer, or the echo processing here).
 *
 *   tx (this machine pings):  P1 = request: IP output -> leaves the NIC
 *                             P2 = reply: NIC receive -> ICMP layer / socket
 *   rx (this machine is pinged): P1 = request: NIC receive -> ICMP layer
 *                                P2 = reply: IP output -> leaves the NIC
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
/* 4 MiB: ~14k echo records, a ping flood's worth of output while the
 * loader is descheduled for a moment (1 MiB lost records on this machine) */
#define NETSEG_RINGBUF_BYTES (4 << 20)
#include "netseg_emit.bpf.h"
#include "netseg_skb.bpf.h"
#include "netseg_filter.bpf.h"
#include "netseg_span.bpf.h"
#include "kernel_icmp_rtt.h"

/* Written by the loader between open and load; 0 disables a filter. */
const volatile __u8 rtt_direction = RTT_DIR_TX;
const volatile __u32 rtt_initiator = 0;      /* --src-ip, network order */
const volatile __u32 rtt_target = 0;         /* --dst-ip, network order */
const volatile struct netseg_ifset rtt_ifs = {};
const volatile __u64 rtt_min_total_ns = 0;   /* --latency-us/-ms, decided here */
const volatile bool rtt_stacks = false;
/* rx without an icmp_rcv hook: path 1 ends where the reply starts */
const volatile bool rtt_p1_end_from_reply = false;

/* Echoes in flight (spans), keyed by (initiator, target, id, seq). A ping
 * flood keeps at most a few hundred in flight, and the loader expires what
 * stays incomplete past the timeout, so 16k entries hold 16k new echoes a
 * second; beyond, LRU eviction is counted. The kernel preallocates every
 * entry when the map is made: 64k of these cost ~8 ms of start-up. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct rtt_key);
	__type(value, struct rtt_echo);
} echoes SEC(".maps");

/* Kernel stacks per stamp; the loader shrinks it to 1 entry when stacks
 * are off. A full map makes bpf_get_stackid fail: recorded as -errno. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

/* An rtt_echo is too large to build on the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rtt_echo);
} scratch SEC(".maps");

static __always_inline int stage_of(enum rtt_hook hook)
{
	bool tx = rtt_direction == RTT_DIR_TX;

	switch (hook) {
	case RTT_HOOK_LOCAL_OUT:
	case RTT_HOOK_IP_OUTPUT:
	case RTT_HOOK_DEV_QUEUE:
		return tx ? RTT_P1_START : RTT_P2_START;
	case RTT_HOOK_DEV_XMIT:
	case RTT_HOOK_DEV_START_XMIT:
		return tx ? RTT_P1_END : RTT_P2_END;
	case RTT_HOOK_RECV:
	case RTT_HOOK_RECV_ENTRY:
	case RTT_HOOK_RECV_LIST:
		return tx ? RTT_P2_START : RTT_P1_START;
	case RTT_HOOK_ICMP_RCV:
	case RTT_HOOK_SK_DATA_READY:
	case RTT_HOOK_SKB_COPY:
		return tx ? RTT_P2_END : RTT_P1_END;
	default:
		return -1;
	}
}

/* A later stage's hook while no echo is open: nothing it could stamp, so
 * it returns before reading anything (most hooks see every packet). */
static __always_inline bool idle_later_stage(enum rtt_hook hook)
{
	return stage_of(hook) != RTT_P1_START && !netseg_spans_any();
}

/* Where a packet is when a hook fires. Socket-layer hooks have no device
 * (the socket queue drops skb->dev): they name the incoming interface by
 * index and the namespace by the socket's. */
struct rtt_where {
	struct net_device *dev;   /* NULL on socket hooks */
	__u32 ifindex;
	__u32 netns;
};

static __always_inline void stamp(void *ctx, struct netseg_stamp *st, struct sk_buff *skb,
				  const struct rtt_where *w, enum rtt_hook hook,
				  enum netseg_tier tier, __u64 now)
{
	netseg_stamp_fill(st, (__u64)skb, w->ifindex, tier, hook);
	if (rtt_stacks)
		st->stack_id = bpf_get_stackid(ctx, &stacks, 0);
	if (w->dev) {
		struct net_device *dev = w->dev;

		BPF_CORE_READ_STR_INTO(&st->ifname, dev, name);
	}
	netseg_stamp_commit(st, now);
}

/*
 * The one handler behind every hook of every tier. `skb_direct` and
 * `dev_direct` say whether those pointers came typed from the hook (fentry,
 * tp_btf: plain loads allowed) or were read from memory (probe reads only).
 */
static __always_inline int handle_at(void *ctx, struct sk_buff *skb, const struct rtt_where *w,
				     enum rtt_hook hook, enum netseg_tier tier,
				     enum netseg_l3_at at, bool skb_direct)
{
	int stage = stage_of(hook);
	struct netseg_pkt pkt;
	struct rtt_echo *e;
	struct rtt_key key;
	bool request;
	__u64 now;
	int rc;

	if (!skb || stage < 0)
		return 0;
	/* cheap rejections first: every packet of the machine passes here */
	if (netseg_netns_ino && w->netns != netseg_netns_ino)
		return 0;
	if (!netseg_ifset_has(&rtt_ifs, w->netns, w->ifindex))
		return 0;
	rc = netseg_parse_skb_l4(skb, at, &pkt, skb_direct, NETSEG_IPPROTO_ICMP);
	if (rc != NETSEG_PARSE_OK) {
		netseg_count_parse_reject(rc);
		return 0;
	}
	/* path 1 carries the request, path 2 the reply, in both directions */
	request = stage < RTT_P2_START;
	if (pkt.icmp_type != (request ? NETSEG_ICMP_ECHO : NETSEG_ICMP_ECHOREPLY))
		return 0;
	key.initiator = request ? pkt.saddr : pkt.daddr;
	key.target = request ? pkt.daddr : pkt.saddr;
	key.id = pkt.sport;
	key.seq = pkt.dport;
	if (rtt_initiator && key.initiator != rtt_initiator)
		return 0;
	if (rtt_target && key.target != rtt_target)
		return 0;

	/* IP output also sees what this machine only forwards: neither a
	 * request it sends nor a reply it gives, so never a stamp of its echo.
	 * What it sends itself is owned by a socket (ping's, or ICMP's own
	 * for replies). */
	if ((hook == RTT_HOOK_LOCAL_OUT || hook == RTT_HOOK_IP_OUTPUT ||
	     hook == RTT_HOOK_DEV_QUEUE) && !NETSEG_READ(skb_direct, skb, sk)) {
		netseg_count(RTT_CNT_FORWARDED);
		return 0;
	}
	e = bpf_map_lookup_elem(&echoes, &key);
	if (stage == RTT_P1_START) {
		__u32 zero = 0;

		now = bpf_ktime_get_ns();

		if (!netseg_span_start_ok(&echoes, &key, e, e ? &e->span : NULL, e ? e->st : NULL,
					  sizeof(*e), RTT_P1_START, RTT_N_STAGES, now, (__u64)skb))
			return 0;
		e = bpf_map_lookup_elem(&scratch, &zero);
		if (!e)
			return 0;
		netseg_span_zero(e);
		e->key = key;
		e->direction = rtt_direction;
		e->span.start_ns = now;
		for (int i = 0; i < RTT_N_STAGES; i++)
			e->st[i].stack_id = -1;
		stamp(ctx, &e->st[RTT_P1_START], skb, w, hook, tier, now);
		netseg_span_insert(&echoes, &key, e);
		return 0;
	}
	if (!e) {
		/* the read of a reply whose socket wake-up already ended its
		 * echo is the usual case, not an orphan */
		if (hook != RTT_HOOK_SKB_COPY)
			netseg_count(NETSEG_CNT_SPAN_ORPHAN);
		return 0;
	}
	if (e->st[stage].ts_ns)
		return 0; /* first hook of the family wins */
	now = bpf_ktime_get_ns();
	stamp(ctx, &e->st[stage], skb, w, hook, tier, now);
	if (stage == RTT_P2_START && rtt_p1_end_from_reply && !e->st[RTT_P1_END].ts_ns) {
		e->st[RTT_P1_END] = e->st[RTT_P2_START];
		e->st[RTT_P1_END].hook = RTT_HOOK_FROM_REPLY;
	}
	if (netseg_span_ready(&e->span, e->st, RTT_N_STAGES, (1u << RTT_N_STAGES) - 1))
		netseg_span_finish(&echoes, &key, e, sizeof(*e),
				   e->st[RTT_P2_END].ts_ns - e->st[RTT_P1_START].ts_ns >=
					   rtt_min_total_ns,
				   e->st, RTT_N_STAGES);
	return 0;
}

static __always_inline int handle_ptrs(void *ctx, struct sk_buff *skb, struct net_device *dev,
				       enum rtt_hook hook, enum netseg_tier tier,
				       enum netseg_l3_at at, bool skb_direct, bool dev_direct)
{
	struct rtt_where w;

	if (!dev || idle_later_stage(hook))
		return 0;
	w.dev = dev;
	/* only read the namespace when a namespace filter is on */
	w.netns = netseg_netns_needed(&rtt_ifs) ? netseg_dev_netns_tier(dev, dev_direct) : 0;
	w.ifindex = NETSEG_READ(dev_direct, dev, ifindex);
	return handle_at(ctx, skb, &w, hook, tier, at, skb_direct);
}

/* Hooks whose skb and dev both come typed from the hook, or neither. */
static __always_inline int handle(void *ctx, struct sk_buff *skb, struct net_device *dev,
				  enum rtt_hook hook, enum netseg_tier tier, enum netseg_l3_at at)
{
	bool direct = netseg_tier_direct(tier);

	return handle_ptrs(ctx, skb, dev, hook, tier, at, direct, direct);
}

/* Before ip_output sets skb->dev, the route knows the device. NULL (the
 * hook returns) for an idle later stage, before any read. */
static __always_inline struct net_device *route_dev(struct sk_buff *skb, bool direct,
						    enum rtt_hook hook)
{
	unsigned long refdst;
	struct dst_entry *dst;

	if (idle_later_stage(hook))
		return NULL;
	refdst = NETSEG_READ(direct, skb, _skb_refdst);
	dst = (struct dst_entry *)(refdst & ~1UL);

	if (!dst)
		return NULL;
	return BPF_CORE_READ(dst, dev);
}

/* skb->dev read through memory (no typed pointer on this tier): not read
 * at all for an idle later stage */
static __always_inline struct net_device *skb_dev(struct sk_buff *skb, enum rtt_hook hook)
{
	return idle_later_stage(hook) ? NULL : BPF_CORE_READ(skb, dev);
}

/* ---- ip_out: the echo enters IP output (else: the device queue) ------- */
SEC("fentry/__ip_local_out")
int BPF_PROG(rtt_lout_fe, struct net *net, struct sock *sk, struct sk_buff *skb)
{
	return handle_ptrs(ctx, skb, route_dev(skb, true, RTT_HOOK_LOCAL_OUT), RTT_HOOK_LOCAL_OUT,
			   NETSEG_TIER_FENTRY, NETSEG_L3_AT_NETHDR, true, false);
}

SEC("fentry/ip_output")
int BPF_PROG(rtt_iout_fe, struct net *net, struct sock *sk, struct sk_buff *skb)
{
	return handle_ptrs(ctx, skb, route_dev(skb, true, RTT_HOOK_IP_OUTPUT), RTT_HOOK_IP_OUTPUT,
			   NETSEG_TIER_FENTRY, NETSEG_L3_AT_NETHDR, true, false);
}

SEC("kprobe")
int BPF_KPROBE(rtt_lout_kp, struct net *net, struct sock *sk, struct sk_buff *skb)
{
	return handle(ctx, skb, route_dev(skb, false, RTT_HOOK_LOCAL_OUT), RTT_HOOK_LOCAL_OUT,
		      NETSEG_TIER_KPROBE, NETSEG_L3_AT_NETHDR);
}

SEC("kprobe")
int BPF_KPROBE(rtt_iout_kp, struct net *net, struct sock *sk, struct sk_buff *skb)
{
	return handle(ctx, skb, route_dev(skb, false, RTT_HOOK_IP_OUTPUT), RTT_HOOK_IP_OUTPUT,
		      NETSEG_TIER_KPROBE, NETSEG_L3_AT_NETHDR);
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(rtt_devq_btf, struct sk_buff *skb)
{
	return handle(ctx, skb, skb->dev, RTT_HOOK_DEV_QUEUE, NETSEG_TIER_TP_BTF,
		      NETSEG_L3_AT_NETHDR);
}

SEC("raw_tp/net_dev_queue")
int BPF_PROG(rtt_devq_raw, struct sk_buff *skb)
{
	return handle(ctx, skb, skb_dev(skb, RTT_HOOK_DEV_QUEUE), RTT_HOOK_DEV_QUEUE, NETSEG_TIER_RAW_TP,
		      NETSEG_L3_AT_NETHDR);
}

SEC("tracepoint/net/net_dev_queue")
int rtt_devq_tp(struct trace_event_raw_net_dev_template *args)
{
	struct sk_buff *skb = (struct sk_buff *)args->skbaddr;

	return handle(args, skb, skb_dev(skb, RTT_HOOK_DEV_QUEUE), RTT_HOOK_DEV_QUEUE,
		      NETSEG_TIER_TRACEPOINT, NETSEG_L3_AT_NETHDR);
}

/* ---- xmit: the echo leaves the NIC ------------------------------------ */
SEC("tp_btf/net_dev_xmit")
int BPF_PROG(rtt_xmit_btf, struct sk_buff *skb, int rc, struct net_device *dev)
{
	/* a driver that refused the packet did not send it */
	if (rc)
		return 0;
	return handle(ctx, skb, dev, RTT_HOOK_DEV_XMIT, NETSEG_TIER_TP_BTF, NETSEG_L3_AT_NETHDR);
}

SEC("raw_tp/net_dev_xmit")
int BPF_PROG(rtt_xmit_raw, struct sk_buff *skb, int rc, struct net_device *dev)
{
	if (rc)
		return 0;
	return handle(ctx, skb, dev, RTT_HOOK_DEV_XMIT, NETSEG_TIER_RAW_TP, NETSEG_L3_AT_NETHDR);
}

/* The classic net_dev_xmit record names no device, and by then a veth has
 * moved skb->dev to its peer in the other namespace: classic tracepoints
 * stamp the transmit just before the driver runs instead. */
SEC("tracepoint/net/net_dev_start_xmit")
int rtt_xmit_tp(struct trace_event_raw_net_dev_start_xmit *args)
{
	struct sk_buff *skb = (struct sk_buff *)args->skbaddr;

	return handle(args, skb, skb_dev(skb, RTT_HOOK_DEV_START_XMIT), RTT_HOOK_DEV_START_XMIT,
		      NETSEG_TIER_TRACEPOINT, NETSEG_L3_AT_NETHDR);
}

/* ---- recv: the echo is received by the NIC (first tracepoint wins) ---- */
#define RTT_RECV_PROGS(tp, hook, btf_name, raw_name, tp_name, tp_struct)                   \
	SEC("tp_btf/" #tp)                                                                   \
	int BPF_PROG(btf_name, struct sk_buff *skb)                                          \
	{                                                                                    \
		return handle(ctx, skb, skb->dev, hook, NETSEG_TIER_TP_BTF,                  \
			      NETSEG_L3_AT_DATA);                                            \
	}                                                                                    \
	SEC("raw_tp/" #tp)                                                                   \
	int BPF_PROG(raw_name, struct sk_buff *skb)                                          \
	{                                                                                    \
		return handle(ctx, skb, skb_dev(skb, hook), hook, NETSEG_TIER_RAW_TP,   \
			      NETSEG_L3_AT_DATA);                                            \
	}                                                                                    \
	SEC("tracepoint/net/" #tp)                                                           \
	int tp_name(struct tp_struct *args)                                                  \
	{                                                                                    \
		struct sk_buff *skb = (struct sk_buff *)args->skbaddr;                       \
		return handle(args, skb, skb_dev(skb, hook), hook,                      \
			      NETSEG_TIER_TRACEPOINT, NETSEG_L3_AT_DATA);                    \
	}

RTT_RECV_PROGS(netif_receive_skb, RTT_HOOK_RECV, rtt_recv_btf, rtt_recv_raw, rtt_recv_tp,
	       trace_event_raw_net_dev_template)
RTT_RECV_PROGS(netif_receive_skb_entry, RTT_HOOK_RECV_ENTRY, rtt_rxe_btf, rtt_rxe_raw,
	       rtt_rxe_tp, trace_event_raw_net_dev_rx_verbose_template)
RTT_RECV_PROGS(netif_receive_skb_list_entry, RTT_HOOK_RECV_LIST, rtt_rxl_btf, rtt_rxl_raw,
	       rtt_rxl_tp, trace_event_raw_net_dev_rx_verbose_template)

/* ---- icmp_rcv: the echo reaches ICMP (else: the ping socket wakes) ---- */
SEC("fentry/icmp_rcv")
int BPF_PROG(rtt_icmp_fe, struct sk_buff *skb)
{
	return handle(ctx, skb, skb->dev, RTT_HOOK_ICMP_RCV, NETSEG_TIER_FENTRY,
		      NETSEG_L3_AT_NETHDR);
}

SEC("kprobe")
int BPF_KPROBE(rtt_icmp_kp, struct sk_buff *skb)
{
	return handle(ctx, skb, skb_dev(skb, RTT_HOOK_ICMP_RCV), RTT_HOOK_ICMP_RCV, NETSEG_TIER_KPROBE,
		      NETSEG_L3_AT_NETHDR);
}

/* The socket layer queued the reply and wakes the reader: the newest skb
 * on the receive queue is the one that woke it. */
/* An ICMP socket of the watched namespace (its inode in *netns): the first
 * test of the socket-layer hooks, which see every socket of the machine. */
static __always_inline bool icmp_sock_watched(const struct sock *sk, bool direct, __u32 *netns)
{
	if (!sk || NETSEG_READ(direct, sk, sk_protocol) != NETSEG_IPPROTO_ICMP)
		return false;
	*netns = direct ? sk->__sk_common.skc_net.net->ns.inum
			: BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	return !netseg_netns_ino || *netns == netseg_netns_ino;
}

static __always_inline int handle_sk_ready(void *ctx, const struct sock *sk,
					   enum netseg_tier tier)
{
	bool direct = netseg_tier_direct(tier);
	struct rtt_where w = { .dev = NULL };
	struct sk_buff *skb;

	/* every socket wake-up of the machine passes here: before the queue */
	if (idle_later_stage(RTT_HOOK_SK_DATA_READY) || !icmp_sock_watched(sk, direct, &w.netns))
		return 0;
	skb = BPF_CORE_READ(sk, sk_receive_queue.prev);
	if (!skb || (void *)skb == (void *)&sk->sk_receive_queue)
		return 0;
	w.ifindex = BPF_CORE_READ(skb, skb_iif);
	/* read from the socket's queue: no typed pointer here on any tier */
	return handle_at(ctx, skb, &w, RTT_HOOK_SK_DATA_READY, tier, NETSEG_L3_AT_NETHDR, false);
}

SEC("tp_btf/sk_data_ready")
int BPF_PROG(rtt_skrdy_btf, const struct sock *sk)
{
	return handle_sk_ready(ctx, sk, NETSEG_TIER_TP_BTF);
}

SEC("raw_tp/sk_data_ready")
int BPF_PROG(rtt_skrdy_raw, const struct sock *sk)
{
	return handle_sk_ready(ctx, sk, NETSEG_TIER_RAW_TP);
}

SEC("tracepoint/sock/sk_data_ready")
int rtt_skrdy_tp(struct trace_event_raw_sk_data_ready *args)
{
	return handle_sk_ready(args, (const struct sock *)args->skaddr, NETSEG_TIER_TRACEPOINT);
}

/*
 * The wake-up reads the newest skb of the socket's queue, but a reader
 * already running on another CPU can take the reply off the queue between
 * its queueing and the wake-up: the wake-up then finds it gone. The reader
 * copying it out comes microseconds later and names the skb itself, so it
 * stamps what the wake-up missed (its hook says which one stamped).
 */
static __always_inline int handle_sk_copy(void *ctx, const struct sk_buff *skb,
					  enum netseg_tier tier)
{
	bool direct = netseg_tier_direct(tier);
	struct rtt_where w = { .dev = NULL };
	struct sock *sk;

	/* every datagram read of the machine passes here */
	if (!skb || idle_later_stage(RTT_HOOK_SKB_COPY))
		return 0;
	sk = NETSEG_READ(direct, skb, sk);
	if (!icmp_sock_watched(sk, direct, &w.netns))
		return 0;
	w.ifindex = NETSEG_READ(direct, skb, skb_iif);
	return handle_at(ctx, (struct sk_buff *)skb, &w, RTT_HOOK_SKB_COPY, tier,
			 NETSEG_L3_AT_NETHDR, direct);
}

SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(rtt_skcp_btf, const struct sk_buff *skb, int len)
{
	return handle_sk_copy(ctx, skb, NETSEG_TIER_TP_BTF);
}

SEC("raw_tp/skb_copy_datagram_iovec")
int BPF_PROG(rtt_skcp_raw, const struct sk_buff *skb, int len)
{
	return handle_sk_copy(ctx, skb, NETSEG_TIER_RAW_TP);
}

SEC("tracepoint/skb/skb_copy_datagram_iovec")
int rtt_skcp_tp(struct trace_event_raw_skb_copy_datagram_iovec *args)
{
	return handle_sk_copy(args, (const struct sk_buff *)args->skbaddr, NETSEG_TIER_TRACEPOINT);
}

char LICENSE[] SEC("license") = "GPL";
