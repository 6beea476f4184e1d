/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Early rejection shared by every tracer: network namespace and interface
 * sets. These run first on hooks that see every packet of the machine, so
 * they read as little as possible and touch no map. */
#ifndef NETSEG_FILTER_BPF_H
#define NETSEG_FILTER_BPF_H

#include "netseg.h"

/* Inode of the namespace the tracer watches; 0 watches all of them.
 * Written by the loader between open and load. */
const volatile __u32 netseg_netns_ino = 0;

/* `direct`: see NETSEG_READ in netseg_skb.bpf.h */
static __always_inline __u32 netseg_dev_netns_tier(const struct net_device *dev, bool direct)
{
	if (direct)
		return dev->nd_net.net->ns.inum;
	return BPF_CORE_READ(dev, nd_net.net, ns.inum);
}

static __always_inline __u32 netseg_dev_netns(const struct net_device *dev)
{
	return netseg_dev_netns_tier(dev, false);
}

static __always_inline bool netseg_netns_ok_tier(const struct net_device *dev, bool direct)
{
	if (!netseg_netns_ino)
		return true;
	if (!dev)
		return false;
	return netseg_dev_netns_tier(dev, direct) == netseg_netns_ino;
}

static __always_inline bool netseg_netns_ok(const struct net_device *dev)
{
	return netseg_netns_ok_tier(dev, false);
}

/* The namespace of a device that passed netseg_netns_ok: known without a
 * read when one namespace is watched. */
static __always_inline __u32 netseg_dev_netns_known(const struct net_device *dev, bool direct)
{
	return netseg_netns_ino ? netseg_netns_ino : netseg_dev_netns_tier(dev, direct);
}

/* Whether a hook must know the device's namespace: for the namespace
 * filter, or to tell apart equal ifindexes of an interface set when every
 * namespace is watched. */
static __always_inline bool netseg_netns_needed(const volatile struct netseg_ifset *set)
{
	return netseg_netns_ino || set->n;
}

/* `netns` is the inode of the namespace `ifindex` belongs to. With one
 * namespace watched the comparison is dead code the verifier drops (the
 * rodata is a known constant), so that path costs what it always did. */
static __always_inline bool netseg_ifset_has(const volatile struct netseg_ifset *set,
					      __u32 netns, __u32 ifindex)
{
	__u32 n = set->n;

	if (!n)
		return true;
#pragma unroll
	for (__u32 i = 0; i < NETSEG_MAX_IFS; i++) {
		if (i < n && set->ifindex[i] == ifindex &&
		    (netseg_netns_ino || set->netns[i] == netns))
			return true;
	}
	return false;
}

/* The same for a device; reads nothing more when the set is empty. */
static __always_inline bool netseg_dev_in_ifset(const volatile struct netseg_ifset *set,
						const struct net_device *dev, bool direct)
{
	if (!set->n)
		return true;
	return netseg_ifset_has(set, netseg_dev_netns_known(dev, direct),
				direct ? dev->ifindex : BPF_CORE_READ(dev, ifindex));
}

/* The packet filters, cheapest field first. */
static __always_inline bool netseg_pktfilter_match(const volatile struct netseg_pktfilter *f,
						   const struct netseg_pkt *p)
{
	bool echo;

	if (f->saddr && p->saddr != f->saddr)
		return false;
	if (f->daddr && p->daddr != f->daddr)
		return false;
	if (f->proto && p->l4proto != f->proto)
		return false;
	if (f->sport || f->dport) {
		if (p->l4proto != NETSEG_IPPROTO_TCP && p->l4proto != NETSEG_IPPROTO_UDP)
			return false;
		if ((f->sport && p->sport != f->sport) || (f->dport && p->dport != f->dport))
			return false;
	}
	if (f->flags) {
		echo = p->l4proto == NETSEG_IPPROTO_ICMP &&
		       (p->icmp_type == NETSEG_ICMP_ECHO || p->icmp_type == NETSEG_ICMP_ECHOREPLY);
		if (!echo)
			return false;
		if ((f->flags & NETSEG_PF_ICMP_ID) && p->sport != f->icmp_id)
			return false;
		if ((f->flags & NETSEG_PF_ICMP_SEQ) && p->dport != f->icmp_seq)
			return false;
	}
	return true;
}

#endif /* NETSEG_FILTER_BPF_H */
