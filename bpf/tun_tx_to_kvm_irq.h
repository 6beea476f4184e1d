/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tun_tx_to_kvm_irq: one chain per packet a tap transmits toward its VM,
 * from the transmit to the interrupt KVM injects into the guest.
 */
#ifndef TUN_TX_TO_KVM_IRQ_H
#define TUN_TX_TO_KVM_IRQ_H

#include "netseg.h"

/*
 * Stamp slots of a chain, in the order things happen. Stages 1-5 are the
 * original tool's; the dequeue is what links them per packet: the tap's
 * reader (a vhost worker, or a VMM thread) frees the very skb the tap
 * queued once it has copied it out, and then signals in that same thread.
 */
enum tki_stage {
	TKI_S_XMIT = 0,       /* 1: the tap transmits (queues for its reader) */
	TKI_S_DEQUEUE = 1,    /* the reader copied it out of the tap (tun_do_read) */
	TKI_S_VHOST = 2,      /* 2: vhost adds used buffers and signals */
	TKI_S_EVENTFD = 3,    /* 3: the call eventfd is signalled (vhost) or written (VMM) */
	TKI_S_IRQFD = 4,      /* 4: KVM's irqfd wakes on it */
	TKI_S_INJECT = 5,     /* 5: KVM injects the interrupt */
	TKI_N_STAGES = 6,
};

enum tki_hook {
	TKI_HOOK_TUN_NET_XMIT = 0,
	TKI_HOOK_DEV_START_XMIT,  /* net:net_dev_start_xmit on a tun device */
	TKI_HOOK_CONSUME_SKB,     /* skb:consume_skb of the queued skb */
	TKI_HOOK_VHOST_SIGNAL,    /* vhost_add_used_and_signal_n */
	TKI_HOOK_EVENTFD_SIGNAL,  /* eventfd_signal / eventfd_signal_mask */
	TKI_HOOK_EVENTFD_WRITE,   /* write(2) on an eventfd (a user-space VMM) */
	TKI_HOOK_IRQFD_WAKEUP,
	TKI_HOOK_KVM_MSI,         /* kvm:kvm_msi_set_irq */
	TKI_HOOK_KVM_SET_IRQ,     /* kvm:kvm_set_irq */
	TKI_HOOK_APIC_ACCEPT,     /* kvm:kvm_apic_accept_irq */
	TKI_HOOK_KFREE_SKB,       /* skb:kfree_skb: freed before its reader had it */
	TKI_N_HOOKS,
};

/* How the signal side was tied to the packet: both go through the thread
 * that dequeued it; "vhost" when that thread is a vhost worker. */
enum tki_linking {
	TKI_LINK_NONE = 0,
	TKI_LINK_VHOST = 1,
	TKI_LINK_THREAD = 2,
};

enum tki_counter {
	TKI_CNT_TAP_DROPPED = NETSEG_CNT_TOOL0, /* the kernel freed a traced packet in the tap */
	TKI_CNT_BATCH_OVERFLOW,   /* TKI_BATCH_MAX dequeues without a signal: a new batch began */
	TKI_CNT_OTHER_VM,         /* a KVM stage of another VM in the same thread: not stamped */
	TKI_CNT_FILTERED_OUT,     /* a tap packet the filters rejected */
};

/* Record kinds after the span ones. */
enum tki_event {
	TKI_EV_DROPPED = NETSEG_SPAN_EV_TOOL0, /* the packet was freed, never dequeued */
};

#define TKI_BATCH_MAX 64     /* vhost-net signals at least every 64 buffers */

/* A span (netseg_span.bpf.h), keyed by a chain id: the packet's keys
 * change at every hop (skb, thread, eventfd, (kvm, gsi)). */
struct tki_chain {
	struct netseg_span span;
	__u64 id;
	struct netseg_pkt pkt;
	__u32 queue;              /* the tap's queue (skb queue_mapping) */
	__u32 batch;              /* traced packets the signal covered */
	__u64 eventfd;            /* eventfd_ctx signalled (0: not known) */
	__u64 kvm;                /* struct kvm of the irqfd (0: not known) */
	__u64 msi_address;
	__u32 gsi;
	__u32 vector;
	__u32 drop_reason;        /* TKI_EV_DROPPED: kfree_skb's reason (0: none given) */
	__u32 used;               /* vhost: used buffers added with the signal */
	__u8 linking;             /* enum tki_linking */
	__u8 gsi_known;
	__u8 vector_known;
	__u8 pad[5];
	struct netseg_stamp st[TKI_N_STAGES];
};

/* The chains a thread dequeued and has not signalled yet. */
struct tki_batch {
	__u32 n;                  /* ids used */
	__u32 signalled;          /* stages stamped for this batch: the next dequeue starts a new one */
	__u64 ids[TKI_BATCH_MAX];
};

struct tki_event_rec {
	struct netseg_rec_hdr h;
	struct tki_chain c;
};

#endif /* TUN_TX_TO_KVM_IRQ_H */
