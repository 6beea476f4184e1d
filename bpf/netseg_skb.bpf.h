/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The one packet parser of netseg's BPF programs. Offsets come from the
 * running kernel's sk_buff via CO-RE; nothing assumes a layout. */
#ifndef NETSEG_SKB_BPF_H
#define NETSEG_SKB_BPF_H

#include "netseg.h"

#define NETSEG_ETH_P_IP 0x0800
#define NETSEG_ETH_P_IPV6 0x86DD
#define NETSEG_ETH_P_8021Q 0x8100
#define NETSEG_ETH_P_8021AD 0x88A8
#define NETSEG_VLAN_HLEN 4           /* TCI + the next ethertype */
#define NETSEG_VLAN_MAX 2            /* 802.1ad outer + 802.1Q inner */

/* Where the IPv4 header is when a hook fires. On receive tracepoints the
 * link header has been pulled but network_header is not reset yet, so
 * skb->data is right; after the IP layer ran (output, l4 receive) the
 * network header offset is right and data may point elsewhere. */
enum netseg_l3_at {
	NETSEG_L3_AT_DATA,
	NETSEG_L3_AT_NETHDR,
};

struct netseg_icmp_echo_hdr {
	__u8 type;
	__u8 code;
	__u16 csum;
	__u16 id;
	__u16 seq;
};

/*
 * Read a field of a kernel struct. fentry and tp_btf programs get typed
 * pointers the verifier lets them load from directly (a plain load, still
 * relocated by CO-RE through vmlinux.h's preserve_access_index); kprobe,
 * raw_tp and tracepoint programs must go through bpf_probe_read_kernel.
 * `direct` is a constant in every caller, so only one branch is compiled.
 * A dozen helper calls on every packet of the machine is the difference
 * between ~100 and ~300 ns per hook.
 */
#define NETSEG_READ(direct, ptr, field) ((direct) ? (ptr)->field : BPF_CORE_READ(ptr, field))

static __always_inline bool netseg_tier_direct(enum netseg_tier tier)
{
	return tier == NETSEG_TIER_FENTRY || tier == NETSEG_TIER_TP_BTF;
}

static __always_inline bool netseg_is_vlan(__u16 be_proto)
{
	return be_proto == bpf_htons(NETSEG_ETH_P_8021Q) ||
	       be_proto == bpf_htons(NETSEG_ETH_P_8021AD);
}

/*
 * A software-tagged frame (a VLAN on a device without tag offload, or a
 * tagged frame arriving on a tap or phy) still carries its 802.1Q/802.1ad
 * tags in the packet data, and skb->protocol names the outer tag. Where
 * `l3` points then depends on the hook:
 * - receive (NETSEG_L3_AT_DATA, before the stack untags): at the outer
 *   tag's TCI, right after the outer TPID;
 * - transmit (NETSEG_L3_AT_NETHDR: the IP layer set the network header,
 *   then the tag was pushed inside in front of it): at the IP header, right
 *   after the inner ethertype.
 * One rule covers both: the two bytes before a position name what starts
 * there. So while that ethertype is a TPID, step over one tag. On return
 * *proto is the final ethertype (network order) and *l3 points at it.
 */
/* Step over one tag at *p when *type says one starts there. */
static __always_inline int netseg_vlan_step(unsigned char **p, unsigned char *linear_end,
					    __u16 *type)
{
	if (!netseg_is_vlan(*type))
		return NETSEG_PARSE_OK;
	if (*p + NETSEG_VLAN_HLEN > linear_end)
		return NETSEG_PARSE_SHORT;
	if (bpf_probe_read_kernel(type, sizeof(*type), *p + 2))
		return NETSEG_PARSE_READ;
	*p += NETSEG_VLAN_HLEN;
	return NETSEG_PARSE_OK;
}

static __always_inline int netseg_skip_vlan(unsigned char *head, unsigned char *linear_end,
					    unsigned char **l3, __u16 *proto)
{
	unsigned char *p = *l3;
	__u16 type;
	int rc;

	if (p - 2 < head || p > linear_end)
		return NETSEG_PARSE_SHORT;
	if (bpf_probe_read_kernel(&type, sizeof(type), p - 2))
		return NETSEG_PARSE_READ;
	/* NETSEG_VLAN_MAX steps, written out: no loop for old verifiers, and
	 * the header also compiles on the host for the unit tests */
	rc = netseg_vlan_step(&p, linear_end, &type);
	if (rc == NETSEG_PARSE_OK)
		rc = netseg_vlan_step(&p, linear_end, &type);
	if (rc != NETSEG_PARSE_OK)
		return rc;
	*l3 = p;
	*proto = type;
	return NETSEG_PARSE_OK;
}

/*
 * `l4_only`: the one L4 protocol the caller can use (0: any). Others stop
 * after the IP header with NETSEG_PARSE_OTHER_L4, which is no error and
 * counted nowhere: on a hook every packet of the machine passes, the L4
 * read it saves is a third of what a rejected packet costs.
 */
static __always_inline int netseg_parse_skb_l4(const struct sk_buff *skb, enum netseg_l3_at at,
						struct netseg_pkt *pkt, bool direct, __u8 l4_only)
{
	__u16 proto = NETSEG_READ(direct, skb, protocol);
	unsigned char *head, *data, *l3, *l4, *linear_end;
	struct iphdr iph;
	__u32 len, data_len;
	bool vlan = netseg_is_vlan(proto);
	int rc;

	if (proto == bpf_htons(NETSEG_ETH_P_IPV6))
		return NETSEG_PARSE_IPV6;
	if (proto != bpf_htons(NETSEG_ETH_P_IP) && !vlan)
		return NETSEG_PARSE_NOT_IP;

	head = NETSEG_READ(direct, skb, head);
	data = NETSEG_READ(direct, skb, data);
	len = NETSEG_READ(direct, skb, len);
	data_len = NETSEG_READ(direct, skb, data_len);
	linear_end = data + (len - data_len);

	if (at == NETSEG_L3_AT_DATA) {
		l3 = data;
	} else {
		__u16 nh = NETSEG_READ(direct, skb, network_header);

		/* alloc_skb leaves it 0; nothing real starts at head[0] */
		if (nh == 0 || nh == (__u16)~0U)
			return NETSEG_PARSE_NO_L3;
		l3 = head + nh;
	}
	/* untagged frames, nearly all of them, pay nothing for this */
	if (vlan) {
		rc = netseg_skip_vlan(head, linear_end, &l3, &proto);
		if (rc != NETSEG_PARSE_OK)
			return rc;
		if (proto == bpf_htons(NETSEG_ETH_P_IPV6))
			return NETSEG_PARSE_IPV6;
		if (proto != bpf_htons(NETSEG_ETH_P_IP))
			return NETSEG_PARSE_NOT_IP;
	}
	if (l3 + sizeof(iph) > linear_end)
		return NETSEG_PARSE_SHORT;
	if (bpf_probe_read_kernel(&iph, sizeof(iph), l3))
		return NETSEG_PARSE_READ;
	if (iph.version != 4 || iph.ihl < 5)
		return NETSEG_PARSE_NOT_IP;

	pkt->saddr = iph.saddr;
	pkt->daddr = iph.daddr;
	pkt->l4proto = iph.protocol;
	pkt->ip_len = bpf_ntohs(iph.tot_len);
	pkt->sport = pkt->dport = 0;
	pkt->icmp_type = pkt->icmp_code = 0;
	if (l4_only && iph.protocol != l4_only)
		return NETSEG_PARSE_OTHER_L4;
	if (iph.frag_off & bpf_htons(0x1fff))
		return NETSEG_PARSE_FRAGMENT;

	l4 = l3 + iph.ihl * 4;
	if (iph.protocol == NETSEG_IPPROTO_ICMP) {
		struct netseg_icmp_echo_hdr ih;

		if (l4 + sizeof(ih) > linear_end)
			return NETSEG_PARSE_SHORT;
		if (bpf_probe_read_kernel(&ih, sizeof(ih), l4))
			return NETSEG_PARSE_READ;
		pkt->icmp_type = ih.type;
		pkt->icmp_code = ih.code;
		pkt->sport = bpf_ntohs(ih.id);
		pkt->dport = bpf_ntohs(ih.seq);
	} else if (iph.protocol == NETSEG_IPPROTO_TCP || iph.protocol == NETSEG_IPPROTO_UDP) {
		__u16 ports[2];

		if (l4 + sizeof(ports) > linear_end)
			return NETSEG_PARSE_SHORT;
		if (bpf_probe_read_kernel(ports, sizeof(ports), l4))
			return NETSEG_PARSE_READ;
		pkt->sport = bpf_ntohs(ports[0]);
		pkt->dport = bpf_ntohs(ports[1]);
	}
	return NETSEG_PARSE_OK;
}

static __always_inline int netseg_parse_skb_tier(const struct sk_buff *skb, enum netseg_l3_at at,
						  struct netseg_pkt *pkt, bool direct)
{
	return netseg_parse_skb_l4(skb, at, pkt, direct, 0);
}

/* Count a rejection by reason so the summary explains what was skipped. */
static __always_inline void netseg_count_parse_reject(int rc)
{
	if (rc == NETSEG_PARSE_OTHER_L4)
		return;
	netseg_count(rc == NETSEG_PARSE_IPV6 ? NETSEG_CNT_IPV6 : NETSEG_CNT_PARSE_REJECT);
}

#endif /* NETSEG_SKB_BPF_H */
