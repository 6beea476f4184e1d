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

static __always_inline bool netseg_ifset_has(const volatile struct netseg_ifset *set,
					      __u32 ifindex)
{
	__u32 n = set->n;

	if (!n)
		return true;
#pragma unroll
	for (__u32 i = 0; i < NETSEG_MAX_IFS; i++) {
		if (i < n && set->ifindex[i] == ifindex)
			return true;
	}
	return false;
}

#endif /* NETSEG_FILTER_BPF_H */
