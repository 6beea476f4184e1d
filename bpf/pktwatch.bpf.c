// SPDX-License-Identifier: GPL-2.0
/* pktwatch: IPv4 packets at device transmit, device receive and local L4
 * delivery, through whichever tier the running kernel allows. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "netseg_emit.bpf.h"
#include "netseg_skb.bpf.h"
#include "netseg_filter.bpf.h"
#include "pktwatch.h"

/* Filters, written by the loader between open and load. Zero disables. */
const volatile __u8 pw_l4proto = 0;
const volatile __u32 pw_addr = 0;        /* network order; either end */
const volatile struct netseg_ifset pw_ifs = {};
const volatile __u16 pw_port_lo = 0;     /* TCP/UDP: either port in range */
const volatile __u16 pw_port_hi = 0;

static __always_inline int pw_handle(struct sk_buff *skb, struct net_device *dev,
				     enum pw_stage stage, enum netseg_tier tier,
				     enum netseg_l3_at at)
{
	bool direct = netseg_tier_direct(tier);
	struct netseg_pkt pkt;
	struct pw_event *e;
	int rc;

	if (!skb)
		return 0;
	if (!dev)
		dev = NETSEG_READ(direct, skb, dev);
	if (!dev || !netseg_netns_ok_tier(dev, direct))
		return 0;
	if (!netseg_dev_in_ifset(&pw_ifs, dev, direct))
		return 0;

	rc = netseg_parse_skb_l4(skb, at, &pkt, direct, pw_l4proto);
	if (rc != NETSEG_PARSE_OK) {
		netseg_count_parse_reject(rc);
		return 0;
	}
	if (pw_addr && pkt.saddr != pw_addr && pkt.daddr != pw_addr)
		return 0;
	if (pw_port_hi && !((pkt.sport >= pw_port_lo && pkt.sport <= pw_port_hi) ||
			    (pkt.dport >= pw_port_lo && pkt.dport <= pw_port_hi)))
		return 0;

	/* quiet mode: a count per stage, read when scraped, no record */
	if (netseg_quiet) {
		netseg_count(PW_CNT_STAGE0 + stage);
		return 0;
	}
	e = netseg_reserve(struct pw_event);
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->saddr = pkt.saddr;
	e->daddr = pkt.daddr;
	e->sport = pkt.sport;
	e->dport = pkt.dport;
	e->ip_len = pkt.ip_len;
	e->l4proto = pkt.l4proto;
	e->icmp_type = pkt.icmp_type;
	e->icmp_code = pkt.icmp_code;
	e->stage = stage;
	e->tier = tier;
	e->pad = 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->cpu = bpf_get_smp_processor_id();
	e->ifindex = NETSEG_READ(direct, dev, ifindex);
	e->netns_ino = netseg_dev_netns_tier(dev, direct);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	BPF_CORE_READ_STR_INTO(&e->ifname, dev, name);
	netseg_submit(e);
	return 0;
}

/* Stage xmit: the driver is about to get the packet. */
SEC("fentry/dev_hard_start_xmit")
int BPF_PROG(pw_xmit_fe, struct sk_buff *skb, struct net_device *dev)
{
	return pw_handle(skb, dev, PW_STAGE_XMIT, NETSEG_TIER_FENTRY, NETSEG_L3_AT_NETHDR);
}

SEC("kprobe")
int BPF_KPROBE(pw_xmit_kp, struct sk_buff *skb, struct net_device *dev)
{
	return pw_handle(skb, dev, PW_STAGE_XMIT, NETSEG_TIER_KPROBE, NETSEG_L3_AT_NETHDR);
}

SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(pw_xmit_btf, struct sk_buff *skb, struct net_device *dev)
{
	return pw_handle(skb, dev, PW_STAGE_XMIT, NETSEG_TIER_TP_BTF, NETSEG_L3_AT_NETHDR);
}

SEC("raw_tp/net_dev_start_xmit")
int BPF_PROG(pw_xmit_raw, struct sk_buff *skb, struct net_device *dev)
{
	return pw_handle(skb, dev, PW_STAGE_XMIT, NETSEG_TIER_RAW_TP, NETSEG_L3_AT_NETHDR);
}

SEC("tracepoint/net/net_dev_start_xmit")
int pw_xmit_tp(struct trace_event_raw_net_dev_start_xmit *args)
{
	return pw_handle((struct sk_buff *)args->skbaddr, NULL, PW_STAGE_XMIT,
			 NETSEG_TIER_TRACEPOINT, NETSEG_L3_AT_NETHDR);
}

/* Stage recv: a device handed the packet to the stack. */
SEC("tp_btf/netif_receive_skb")
int BPF_PROG(pw_recv_btf, struct sk_buff *skb)
{
	return pw_handle(skb, NULL, PW_STAGE_RECV, NETSEG_TIER_TP_BTF, NETSEG_L3_AT_DATA);
}

SEC("raw_tp/netif_receive_skb")
int BPF_PROG(pw_recv_raw, struct sk_buff *skb)
{
	return pw_handle(skb, NULL, PW_STAGE_RECV, NETSEG_TIER_RAW_TP, NETSEG_L3_AT_DATA);
}

SEC("tracepoint/net/netif_receive_skb")
int pw_recv_tp(struct trace_event_raw_net_dev_template *args)
{
	return pw_handle((struct sk_buff *)args->skbaddr, NULL, PW_STAGE_RECV,
			 NETSEG_TIER_TRACEPOINT, NETSEG_L3_AT_DATA);
}

/* Stage l4: local delivery. Only functions exist here, no tracepoint, so
 * on a kernel without fentry and kprobes this stage is unavailable. */
#define PW_L4_PROGS(fn, fe_name, kp_name)                                              \
	SEC("fentry/" #fn)                                                             \
	int BPF_PROG(fe_name, struct sk_buff *skb)                                     \
	{                                                                              \
		return pw_handle(skb, NULL, PW_STAGE_L4, NETSEG_TIER_FENTRY,      \
				 NETSEG_L3_AT_NETHDR);                                 \
	}                                                                              \
	SEC("kprobe")                                                                  \
	int BPF_KPROBE(kp_name, struct sk_buff *skb)                                   \
	{                                                                              \
		return pw_handle(skb, NULL, PW_STAGE_L4, NETSEG_TIER_KPROBE,      \
				 NETSEG_L3_AT_NETHDR);                                 \
	}

PW_L4_PROGS(icmp_rcv, pw_icmp_fe, pw_icmp_kp)
PW_L4_PROGS(udp_rcv, pw_udp_fe, pw_udp_kp)
PW_L4_PROGS(tcp_v4_rcv, pw_tcp_fe, pw_tcp_kp)

char LICENSE[] SEC("license") = "GPL";
