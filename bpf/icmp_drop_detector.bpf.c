// SPDX-License-Identifier: GPL-2.0
/*
 * icmp_drop_detector: on a hypervisor host, stamp each ICMP echo at four
 * points (request in, request out, reply in, reply out) and explain drops.
 * A drop is decided once per echo, when it does not complete in time
 * (classified by the points it reached); the kernel free of the packet that
 * was inside this host then (kfree_skb) says where and why. Frees of copies,
 * of clones and of packets that already left never make a drop.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
/* 2 MiB: ~5k records of ~400 bytes, as many as 1 MiB held of the smaller
 * records before spans; each MiB more costs ~1 ms of start-up */
#define NETSEG_RINGBUF_BYTES (2 << 20)
#include "netseg_emit.bpf.h"
#include "netseg_skb.bpf.h"
#include "netseg_filter.bpf.h"
/* an echo replaced before it completed is a drop here: its record stays
 * even in quiet mode */
#define NETSEG_SPAN_QUIET_KEEPS_REPLACED 1
#include "netseg_span.bpf.h"
#include "icmp_drop_detector.h"

/* Written by the loader between open and load. */
const volatile __u32 idd_src = 0;             /* request source, 0: any */
const volatile __u32 idd_dst = 0;             /* request destination, 0: any */
const volatile struct netseg_ifset idd_set_a = {};
const volatile struct netseg_ifset idd_set_b = {};
/* --rx-iface/--tx-iface: requests count only when they arrive on A */
const volatile bool idd_fixed_orientation = false;
const volatile bool idd_verbose = false;

/* Echoes in flight on this host (spans), keyed by flow. User space expires
 * them after --timeout-ms, so 16k entries hold 16k new echoes a second;
 * beyond, LRU evictions are accounted by difference. The kernel
 * preallocates every entry when the map is made: 64k of these cost ~8 ms
 * of start-up. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct idd_key);
	__type(value, struct idd_echo);
} echoes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct idd_echo);
} scratch SEC(".maps");

/* Which set an interface is in: 0 A, 1 B, -1 neither. */
static __always_inline int side_of(__u32 netns, __u32 ifindex)
{
	if (idd_set_a.n && netseg_ifset_has(&idd_set_a, netns, ifindex))
		return IDD_SIDE_A;
	if (idd_set_b.n && netseg_ifset_has(&idd_set_b, netns, ifindex))
		return IDD_SIDE_B;
	return -1;
}

/* Parse and match the flow; fills the key. Returns 1 for a request, 0 for
 * a reply, -1 for anything else. */
static __always_inline int match_echo(struct sk_buff *skb, enum netseg_l3_at at, bool direct,
				      struct idd_key *key, bool count_rejects)
{
	struct netseg_pkt pkt;
	int rc = netseg_parse_skb_l4(skb, at, &pkt, direct, NETSEG_IPPROTO_ICMP);

	if (rc != NETSEG_PARSE_OK) {
		if (count_rejects)
			netseg_count_parse_reject(rc);
		return -1;
	}
	if (pkt.icmp_type == NETSEG_ICMP_ECHO) {
		key->src = pkt.saddr;
		key->dst = pkt.daddr;
	} else if (pkt.icmp_type == NETSEG_ICMP_ECHOREPLY) {
		key->src = pkt.daddr;
		key->dst = pkt.saddr;
	} else {
		return -1;
	}
	if ((idd_src && key->src != idd_src) || (idd_dst && key->dst != idd_dst))
		return -1;
	key->id = pkt.sport;
	key->seq = pkt.dport;
	return pkt.icmp_type == NETSEG_ICMP_ECHO;
}

static __always_inline void stamp(struct netseg_stamp *p, struct sk_buff *skb,
				  struct net_device *dev, __u32 ifindex, __u8 point, __u64 now)
{
	netseg_stamp_fill(p, (__u64)skb, ifindex, 0, point);
	BPF_CORE_READ_STR_INTO(&p->ifname, dev, name);
	netseg_stamp_commit(p, now);
}

/* A device hook: receive (rx=true) or transmit. */
static __always_inline int handle(struct sk_buff *skb, struct net_device *dev, bool rx,
				  enum netseg_l3_at at, bool direct)
{
	struct idd_echo *e;
	struct idd_key key;
	__u32 ifindex;
	int side, request, point;
	__u64 now;

	/* a transmit is never an echo's start: with none open, nothing to do */
	if (!skb || !dev || (!rx && !netseg_spans_any()))
		return 0;
	/* first the cheap tests every packet of the host pays */
	if (!netseg_netns_ok_tier(dev, direct))
		return 0;
	ifindex = NETSEG_READ(direct, dev, ifindex);
	side = side_of(netseg_dev_netns_known(dev, direct), ifindex);
	if (side < 0)
		return 0;
	request = match_echo(skb, at, direct, &key, true);
	if (request < 0)
		return 0;

	e = bpf_map_lookup_elem(&echoes, &key);
	if (request && rx) {
		__u32 zero = 0;

		if (idd_fixed_orientation && side != IDD_SIDE_A)
			return 0;
		now = bpf_ktime_get_ns();
		if (!netseg_span_start_ok(&echoes, &key, e, e ? &e->span : NULL, e ? e->st : NULL,
					  sizeof(*e), IDD_REQ_RX, IDD_N_POINTS, now, (__u64)skb))
			return 0;
		e = bpf_map_lookup_elem(&scratch, &zero);
		if (!e)
			return 0;
		netseg_span_zero(e);
		e->key = key;
		e->rx_side = side;
		e->span.start_ns = now;
		stamp(&e->st[IDD_REQ_RX], skb, dev, ifindex, IDD_REQ_RX, now);
		netseg_span_insert(&echoes, &key, e);
		if (idd_verbose)
			netseg_span_emit_stage(e, sizeof(*e), IDD_REQ_RX);
		return 0;
	}
	if (!e) {
		netseg_count(NETSEG_CNT_SPAN_ORPHAN);
		return 0;
	}
	/* requests leave and replies enter on the other side; replies leave
	 * where the request came in */
	if (request)
		point = IDD_REQ_TX;
	else
		point = rx ? IDD_REP_RX : IDD_REP_TX;
	if ((point == IDD_REP_TX) != (side == e->rx_side))
		return 0;
	if (e->st[point].ts_ns)
		return 0; /* first of a tracepoint family wins */
	now = bpf_ktime_get_ns();
	stamp(&e->st[point], skb, dev, ifindex, point, now);
	if (idd_verbose)
		netseg_span_emit_stage(e, sizeof(*e), point);
	if (netseg_span_ready(&e->span, e->st, IDD_N_POINTS, (1u << IDD_N_POINTS) - 1)) {
		/* read before the delete that may let the entry be reused */
		__u8 rx_side = e->rx_side, freed = e->free.match;

		/* counted here, not from records: quiet mode sends none */
		if (netseg_span_finish(&echoes, &key, e, sizeof(*e), true, e->st, IDD_N_POINTS)) {
			netseg_count(rx_side == IDD_SIDE_A ? IDD_CNT_DONE_RX_A : IDD_CNT_DONE_RX_B);
			if (freed)
				netseg_count(IDD_CNT_DONE_FREED);
		}
	}
	return 0;
}

/* ---- receive: the netif_receive_skb family, first wins ----------------- */
#define IDD_RECV_PROGS(tp, btf_name, raw_name, tp_name, tp_struct)                          \
	SEC("tp_btf/" #tp)                                                                    \
	int BPF_PROG(btf_name, struct sk_buff *skb)                                           \
	{                                                                                     \
		return handle(skb, skb->dev, true, NETSEG_L3_AT_DATA, true);                  \
	}                                                                                     \
	SEC("raw_tp/" #tp)                                                                    \
	int BPF_PROG(raw_name, struct sk_buff *skb)                                           \
	{                                                                                     \
		return handle(skb, BPF_CORE_READ(skb, dev), true, NETSEG_L3_AT_DATA, false);  \
	}                                                                                     \
	SEC("tracepoint/net/" #tp)                                                            \
	int tp_name(struct tp_struct *args)                                                   \
	{                                                                                     \
		struct sk_buff *skb = (struct sk_buff *)args->skbaddr;                        \
		return handle(skb, BPF_CORE_READ(skb, dev), true, NETSEG_L3_AT_DATA, false);  \
	}

IDD_RECV_PROGS(netif_receive_skb, idd_recv_btf, idd_recv_raw, idd_recv_tp,
	       trace_event_raw_net_dev_template)
IDD_RECV_PROGS(netif_receive_skb_entry, idd_rxe_btf, idd_rxe_raw, idd_rxe_tp,
	       trace_event_raw_net_dev_rx_verbose_template)
IDD_RECV_PROGS(netif_receive_skb_list_entry, idd_rxl_btf, idd_rxl_raw, idd_rxl_tp,
	       trace_event_raw_net_dev_rx_verbose_template)

/* ---- transmit ----------------------------------------------------------- */
SEC("tp_btf/net_dev_xmit")
int BPF_PROG(idd_xmit_btf, struct sk_buff *skb, int rc, struct net_device *dev)
{
	if (rc)
		return 0;
	return handle(skb, dev, false, NETSEG_L3_AT_NETHDR, true);
}

SEC("raw_tp/net_dev_xmit")
int BPF_PROG(idd_xmit_raw, struct sk_buff *skb, int rc, struct net_device *dev)
{
	if (rc)
		return 0;
	return handle(skb, dev, false, NETSEG_L3_AT_NETHDR, false);
}

/* classic net_dev_xmit names no device and a veth has moved skb->dev to
 * its peer by then: stamp just before the driver instead */
SEC("tracepoint/net/net_dev_start_xmit")
int idd_xmit_tp(struct trace_event_raw_net_dev_start_xmit *args)
{
	struct sk_buff *skb = (struct sk_buff *)args->skbaddr;

	/* no read of the device while no echo is open */
	return handle(skb, netseg_spans_any() ? BPF_CORE_READ(skb, dev) : NULL, false,
		      NETSEG_L3_AT_NETHDR, false);
}

/* ---- drops: the kernel frees a packet of a tracked echo ----------------
 * Only recorded here; whether it was the echo's loss is decided when the
 * echo does not complete. */
static __always_inline int handle_free(struct sk_buff *skb, void *location, __u32 reason,
				       bool has_reason, bool direct)
{
	struct net_device *dev;
	struct idd_echo *e;
	struct idd_key key;
	__u8 in_pt, out_pt, match;
	__u16 nh;
	int request;

	/* every free of the machine passes here: none matters while no echo
	 * is open, and other namespaces' leave first */
	if (!skb || !netseg_spans_any())
		return 0;
	dev = NETSEG_READ(direct, skb, dev);
	if (dev && !netseg_netns_ok_tier(dev, direct))
		return 0;
	/* where the network header is depends on how far the packet got */
	nh = NETSEG_READ(direct, skb, network_header);
	/* every free of the machine: a non-IP one is no reject of ours */
	request = match_echo(skb, nh && nh != (__u16)~0U ? NETSEG_L3_AT_NETHDR : NETSEG_L3_AT_DATA,
			     direct, &key, false);
	if (request < 0)
		return 0;
	e = bpf_map_lookup_elem(&echoes, &key);
	if (!e)
		return 0;
	if (!dev) {
		/* without a device the free cannot be placed in a namespace */
		netseg_count(IDD_CNT_FREED_NO_DEV);
		return 0;
	}
	/* the packet must be inside this host: entered, not yet left */
	in_pt = request ? IDD_REQ_RX : IDD_REP_RX;
	out_pt = request ? IDD_REQ_TX : IDD_REP_TX;
	if (!e->st[in_pt].ts_ns || e->st[out_pt].ts_ns) {
		netseg_count(IDD_CNT_FREE_NOT_PATH);
		return 0;
	}
	match = e->st[in_pt].skb == (__u64)skb ? IDD_FREE_SAME_PACKET : IDD_FREE_SAME_NETNS;
	/* the packet itself wins over a copy; otherwise the first one stays */
	if (e->free.match == IDD_FREE_SAME_PACKET ||
	    (e->free.match && match == IDD_FREE_SAME_NETNS)) {
		netseg_count(IDD_CNT_FREE_NOT_PATH);
		return 0;
	}
	if (e->free.match)
		netseg_count(IDD_CNT_FREE_NOT_PATH); /* the copy it replaces */
	e->free.reason = reason;
	e->free.has_reason = has_reason;
	e->free.location = (__u64)location;
	e->free.ts_ns = bpf_ktime_get_ns();
	e->free.ifindex = BPF_CORE_READ(dev, ifindex);
	e->free.netns = netseg_dev_netns(dev);
	e->free.is_reply = !request;
	BPF_CORE_READ_STR_INTO(&e->free.ifname, dev, name);
	e->free.match = match;
	return 0;
}

/* Kernels before 5.17 have no reason argument: a program that reads one is
 * rejected there, so each tier has a variant without it. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(idd_drop_btf, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return handle_free(skb, location, reason, true, true);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(idd_drop0_btf, struct sk_buff *skb, void *location)
{
	return handle_free(skb, location, 0, false, true);
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(idd_drop_raw, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return handle_free(skb, location, reason, true, false);
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(idd_drop0_raw, struct sk_buff *skb, void *location)
{
	return handle_free(skb, location, 0, false, false);
}

SEC("tracepoint/skb/kfree_skb")
int idd_drop_tp(struct trace_event_raw_kfree_skb *args)
{
	bool has_reason = bpf_core_field_exists(args->reason);
	__u32 reason = 0;

	if (has_reason)
		reason = BPF_CORE_READ(args, reason);
	return handle_free((struct sk_buff *)args->skbaddr, args->location, reason, has_reason,
			   false);
}

char LICENSE[] SEC("license") = "GPL";
