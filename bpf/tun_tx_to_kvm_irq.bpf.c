// SPDX-License-Identifier: GPL-2.0
/*
 * tun_tx_to_kvm_irq: per packet a tap transmits toward its VM, the chain
 *
 *   1 tap transmit -> dequeue by the tap's reader -> 2 vhost signal ->
 *   3 eventfd signal (or a VMM's write to it) -> 4 irqfd wake-up ->
 *   5 KVM interrupt injection
 *
 * Keys change at every hop, so each one is translated to the chains it
 * stands for: the skb the tap queued -> the chain (until its reader frees
 * it after copying it out); the reader's thread -> the chains it dequeued
 * since its last signal (one signal covers the batch); the eventfd and the
 * irqfd name the VM (kvm, gsi), checked against what the chain already
 * knows so two VMs' chains never mix. vhost workers and user-space VMMs
 * both signal from the thread that dequeued, which is what makes the link
 * exact per packet without any offset or kernel-version test.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
/* 4 MiB: ~7k chain records while the loader is descheduled in a flood */
#define NETSEG_RINGBUF_BYTES (4 << 20)
#include "netseg_emit.bpf.h"
#include "netseg_skb.bpf.h"
#include "netseg_filter.bpf.h"
#include "netseg_span.bpf.h"
#include "tun_tx_to_kvm_irq.h"

/* chain ids: a per-CPU sequence number above the CPU (NR_CPUS is at most
 * 8192); tries when a nested start took the same number */
#define TKI_ID_CPU_BITS 13
#define TKI_ID_TRIES 4

/* uapi values, not in BTF */
#define TKI_KVM_IRQ_ROUTING_MSI 2

/* Written by the loader between open and load. */
const volatile struct netseg_ifset tki_ifs = {};
const volatile struct netseg_pktfilter tki_filter = {};
const volatile __s32 tki_queue = -1;          /* --queue; -1: every queue */
/* stages (1 << enum tki_stage) a chain needs to be complete, per linking:
 * the ones this kernel lets us hook */
const volatile __u32 tki_required_vhost = 0;
const volatile __u32 tki_required_thread = 0;
/* from kallsyms: a wait entry whose function is irqfd_wakeup belongs to an
 * irqfd; a file whose write operation is eventfd_write is an eventfd */
const volatile __u64 tki_irqfd_wakeup_addr = 0;
const volatile __u64 tki_eventfd_write_addr = 0;

/* entries in `queued`: the dequeue and drop hooks see every freed skb of
 * the machine, and when no traced packet waits in a tap they stop here */
__s64 tki_queued_now = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tki_chain);
} chains SEC(".maps");

/* skb a tap queued -> chain id, until its reader frees it */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} queued SEC(".maps");

/* thread id -> chains it dequeued and has not signalled yet */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct tki_batch);
} threads SEC(".maps");

struct tki_scratch {
	struct tki_chain chain;
	struct tki_batch batch;
	__u64 seq;                /* chains this CPU started (the id's upper bits) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tki_scratch);
} scratch SEC(".maps");

/* ---- 1: the tap transmits ------------------------------------------------ */

/* A tun/tap device: its link ops say "tun" (the tracepoint tier sees every
 * device's transmits; tun_net_xmit only tun's). */
static __always_inline bool is_tun(const struct net_device *dev)
{
	const struct rtnl_link_ops *ops = BPF_CORE_READ(dev, rtnl_link_ops);
	char kind[4] = {};

	if (!ops)
		return false;
	bpf_probe_read_kernel_str(kind, sizeof(kind), BPF_CORE_READ(ops, kind));
	return kind[0] == 't' && kind[1] == 'u' && kind[2] == 'n' && kind[3] == 0;
}

/* The one L4 protocol the filter can pass, if it names one (ICMP ids and
 * sequence numbers are ICMP's): the parse stops before others' headers. */
static __always_inline __u8 filter_l4(void)
{
	if (!tki_filter.on)
		return 0;
	if (tki_filter.proto)
		return tki_filter.proto;
	return tki_filter.flags ? NETSEG_IPPROTO_ICMP : 0;
}

static __always_inline int on_xmit(struct sk_buff *skb, struct net_device *dev,
				   enum tki_hook hook, enum netseg_tier tier, bool direct)
{
	struct netseg_pkt pkt;
	struct tki_scratch *s;
	struct tki_chain *c;
	__u64 id, key, now;
	__u32 zero = 0, queue, cpu;
	long rc;

	if (!skb || !dev)
		return 0;
	/* cheap rejections first: on the tracepoint tier every transmit of
	 * the machine passes here */
	if (!netseg_netns_ok_tier(dev, direct))
		return 0;
	if (!netseg_dev_in_ifset(&tki_ifs, dev, direct))
		return 0;
	queue = NETSEG_READ(direct, skb, queue_mapping);
	if (tki_queue >= 0 && queue != (__u32)tki_queue)
		return 0;
	if (hook == TKI_HOOK_DEV_START_XMIT && !tki_ifs.n && !is_tun(dev))
		return 0;
	/* a bridged or routed frame has its network header set: parse from it */
	rc = netseg_parse_skb_l4(skb, NETSEG_L3_AT_NETHDR, &pkt, direct, filter_l4());
	if (rc != NETSEG_PARSE_OK || !netseg_pktfilter_match(&tki_filter, &pkt)) {
		if (tki_filter.on) {
			netseg_count(TKI_CNT_FILTERED_OUT);
			return 0;
		}
		/* no filter: ARP and IPv6 interrupt the guest too */
		if (rc != NETSEG_PARSE_OK)
			__builtin_memset(&pkt, 0, sizeof(pkt));
	}

	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	c = &s->chain;
	netseg_span_zero(c);
	now = bpf_ktime_get_ns();
	c->pkt = pkt;
	c->queue = queue;
	c->span.start_ns = now;
	netseg_stamp_fill(&c->st[TKI_S_XMIT], (__u64)skb, NETSEG_READ(direct, dev, ifindex), tier,
			  hook);
	BPF_CORE_READ_STR_INTO(&c->st[TKI_S_XMIT].ifname, dev, name);
	netseg_stamp_commit(&c->st[TKI_S_XMIT], now);
	/*
	 * The id: this CPU's next sequence number, with the CPU in the low
	 * bits. Not a global fetch-and-add: an atomic add that returns the old
	 * value (BPF_FETCH) is 5.12+, and 5.10 rejects the whole program
	 * ("BPF_STX uses reserved fields"). The per-CPU count is read and
	 * written in two steps, so a start hook nesting on this CPU between
	 * them could take the same number: the insert with BPF_NOEXIST tells,
	 * and the next number is tried (a nested program finishes before the
	 * one it interrupted resumes: one retry per nesting level).
	 */
	cpu = bpf_get_smp_processor_id();
	for (int i = 0; i < TKI_ID_TRIES; i++) {
		s->seq++;
		id = s->seq << TKI_ID_CPU_BITS | (cpu & ((1u << TKI_ID_CPU_BITS) - 1));
		c->id = id;
		rc = netseg_span_update(&chains, &id, c);
		if (rc != -NETSEG_EEXIST)
			break;
	}
	if (rc) {
		netseg_count(NETSEG_CNT_MAP_FULL);
		return 0;
	}
	netseg_count(NETSEG_CNT_SPAN_STARTED);

	/* counted before the entry exists: the reader cannot dequeue the skb
	 * before the driver queued it, which is after this hook */
	key = (__u64)skb;
	__sync_fetch_and_add(&tki_queued_now, 1);
	if (bpf_map_update_elem(&queued, &key, &id, BPF_NOEXIST)) {
		/* an entry for this address whose free we never saw: this is a
		 * new packet, the old chain expires without its dequeue */
		__sync_fetch_and_add(&tki_queued_now, -1);
		if (bpf_map_update_elem(&queued, &key, &id, BPF_EXIST))
			netseg_count(NETSEG_CNT_MAP_FULL);
	}
	return 0;
}

SEC("fentry/tun_net_xmit")
int BPF_PROG(tki_tun_fe, struct sk_buff *skb, struct net_device *dev)
{
	return on_xmit(skb, dev, TKI_HOOK_TUN_NET_XMIT, NETSEG_TIER_FENTRY, true);
}

SEC("kprobe")
int BPF_KPROBE(tki_tun_kp, struct sk_buff *skb, struct net_device *dev)
{
	return on_xmit(skb, dev, TKI_HOOK_TUN_NET_XMIT, NETSEG_TIER_KPROBE, false);
}

SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(tki_tun_btf, struct sk_buff *skb, struct net_device *dev)
{
	return on_xmit(skb, dev, TKI_HOOK_DEV_START_XMIT, NETSEG_TIER_TP_BTF, true);
}

SEC("raw_tp/net_dev_start_xmit")
int BPF_PROG(tki_tun_raw, struct sk_buff *skb, struct net_device *dev)
{
	return on_xmit(skb, dev, TKI_HOOK_DEV_START_XMIT, NETSEG_TIER_RAW_TP, false);
}

SEC("tracepoint/net/net_dev_start_xmit")
int tki_tun_tp(struct trace_event_raw_net_dev_start_xmit *args)
{
	struct sk_buff *skb = (struct sk_buff *)args->skbaddr;

	return on_xmit(skb, BPF_CORE_READ(skb, dev), TKI_HOOK_DEV_START_XMIT,
		       NETSEG_TIER_TRACEPOINT, false);
}

/* ---- the reader takes the packet out of the tap, or the kernel drops it -- */

/* The chain of a queued skb that is being freed, removed from `queued`
 * (0: not ours, or another CPU had it). */
static __always_inline __u64 take_queued(const void *skb)
{
	__u64 key = (__u64)skb, id, *idp;

	if (!skb || *(volatile __s64 *)&tki_queued_now <= 0)
		return 0;
	idp = bpf_map_lookup_elem(&queued, &key);
	if (!idp)
		return 0;
	id = *idp;
	if (bpf_map_delete_elem(&queued, &key))
		return 0;
	__sync_fetch_and_add(&tki_queued_now, -1);
	return id;
}

static __always_inline void stamp(struct netseg_stamp *st, __u64 skb, enum netseg_tier tier,
				  enum tki_hook hook, __u64 now)
{
	netseg_stamp_fill(st, skb, 0, tier, hook);
	netseg_stamp_commit(st, now);
}

static __always_inline int on_dequeue(const void *skb, enum netseg_tier tier)
{
	__u64 id = take_queued(skb), now;
	struct tki_scratch *s;
	struct tki_chain *c;
	struct tki_batch *b;
	__u32 tid, zero = 0, n;

	if (!id)
		return 0;
	c = bpf_map_lookup_elem(&chains, &id);
	if (!c) {
		netseg_count(NETSEG_CNT_SPAN_ORPHAN);
		return 0;
	}
	now = bpf_ktime_get_ns();
	stamp(&c->st[TKI_S_DEQUEUE], (__u64)skb, tier, TKI_HOOK_CONSUME_SKB, now);
	/* a kernel where no signal stage can be hooked: the chain ends here */
	if ((tki_required_vhost | tki_required_thread) == (1u << TKI_S_XMIT | 1u << TKI_S_DEQUEUE)) {
		if (netseg_span_ready(&c->span, c->st, TKI_N_STAGES, tki_required_thread))
			netseg_span_finish(&chains, &id, c, sizeof(*c), true, c->st, TKI_N_STAGES);
		return 0;
	}

	tid = (__u32)bpf_get_current_pid_tgid();
	b = bpf_map_lookup_elem(&threads, &tid);
	if (!b) {
		s = bpf_map_lookup_elem(&scratch, &zero);
		if (!s)
			return 0;
		s->batch.n = 0;
		s->batch.signalled = 0;
		bpf_map_update_elem(&threads, &tid, &s->batch, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&threads, &tid);
		if (!b) {
			netseg_count(NETSEG_CNT_MAP_FULL);
			return 0;
		}
	}
	/* the first dequeue after a signal starts the next batch */
	if (b->signalled) {
		b->n = 0;
		b->signalled = 0;
	}
	n = b->n;
	if (n >= TKI_BATCH_MAX) {
		/* a reader that never signals (not a VMM), or a batch larger
		 * than vhost's: the older chains are left to expire partial */
		netseg_count(TKI_CNT_BATCH_OVERFLOW);
		n = 0;
	}
	b->ids[n & (TKI_BATCH_MAX - 1)] = id;
	b->n = n + 1;
	return 0;
}

SEC("tp_btf/consume_skb")
int BPF_PROG(tki_deq_btf, struct sk_buff *skb)
{
	return on_dequeue(skb, NETSEG_TIER_TP_BTF);
}

SEC("raw_tp/consume_skb")
int BPF_PROG(tki_deq_raw, struct sk_buff *skb)
{
	return on_dequeue(skb, NETSEG_TIER_RAW_TP);
}

SEC("tracepoint/skb/consume_skb")
int tki_deq_tp(struct trace_event_raw_consume_skb *args)
{
	return on_dequeue(args->skbaddr, NETSEG_TIER_TRACEPOINT);
}

/* A traced packet freed before its reader had it (tap ring full, the
 * tap's queue detached): its chain ends here, as a drop. */
static __always_inline int on_drop(const void *skb, __u32 reason, enum netseg_tier tier)
{
	__u64 id = take_queued(skb);
	struct tki_chain *c;

	if (!id)
		return 0;
	c = bpf_map_lookup_elem(&chains, &id);
	if (!c) {
		netseg_count(NETSEG_CNT_SPAN_ORPHAN);
		return 0;
	}
	c->drop_reason = reason;
	stamp(&c->st[TKI_S_DEQUEUE], (__u64)skb, tier, TKI_HOOK_KFREE_SKB, bpf_ktime_get_ns());
	if (netseg_span_claim(&chains, &id, c, sizeof(*c), TKI_EV_DROPPED) == 0)
		netseg_count(TKI_CNT_TAP_DROPPED);
	return 0;
}

/* kfree_skb has a reason from 5.17 on; each typed tier has a variant
 * without it for older kernels */
SEC("tp_btf/kfree_skb")
int BPF_PROG(tki_drop_btf, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return on_drop(skb, reason, NETSEG_TIER_TP_BTF);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(tki_drop0_btf, struct sk_buff *skb, void *location)
{
	return on_drop(skb, 0, NETSEG_TIER_TP_BTF);
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(tki_drop_raw, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return on_drop(skb, reason, NETSEG_TIER_RAW_TP);
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(tki_drop0_raw, struct sk_buff *skb, void *location)
{
	return on_drop(skb, 0, NETSEG_TIER_RAW_TP);
}

SEC("tracepoint/skb/kfree_skb")
int tki_drop_tp(struct trace_event_raw_kfree_skb *args)
{
	__u32 reason = 0;

	if (bpf_core_field_exists(args->reason))
		reason = BPF_CORE_READ(args, reason);
	return on_drop(args->skbaddr, reason, NETSEG_TIER_TRACEPOINT);
}

/* ---- 2-5: the signal side, in the thread that dequeued -------------------- */

/* What a signal-side hook knows; zero fields are unknown. */
struct tki_sig {
	__u64 eventfd;
	__u64 kvm;
	__u64 msi_address;
	__u32 gsi;
	__u32 vector;
	__u32 used;
	__u8 stage;
	__u8 hook;
	__u8 tier;
	__u8 gsi_known;
	__u8 vector_known;
};

/* Whether this signal belongs to the chain: the same eventfd and VM as the
 * stages before it said (a vhost worker also signals its TX queue; one
 * thread may serve queues of several eventfds). */
static __always_inline bool sig_fits(const struct tki_chain *c, const struct tki_sig *s)
{
	if (s->kvm && c->kvm && s->kvm != c->kvm) {
		netseg_count(TKI_CNT_OTHER_VM);
		return false;
	}
	if (s->eventfd && c->eventfd && s->eventfd != c->eventfd)
		return false;
	if (s->gsi_known && c->gsi_known && s->gsi != c->gsi)
		return false;
	return true;
}

static __always_inline void sig_apply(struct tki_chain *c, const struct tki_sig *s, __u32 n)
{
	if (s->eventfd)
		c->eventfd = s->eventfd;
	if (s->kvm)
		c->kvm = s->kvm;
	if (s->gsi_known) {
		c->gsi = s->gsi;
		c->gsi_known = 1;
	}
	if (s->vector_known && !c->vector_known) {
		c->vector = s->vector;
		c->vector_known = 1;
	}
	if (s->msi_address)
		c->msi_address = s->msi_address;
	if (s->used)
		c->used = s->used;
	if (!c->linking)
		c->linking = s->stage == TKI_S_VHOST ? TKI_LINK_VHOST : TKI_LINK_THREAD;
	c->batch = n;
}

/* The signal being applied, for tki_stamp_chain: a global function gets
 * scalars only. Per CPU, written just before the calls. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tki_sig);
} cur_sig SEC(".maps");

static __always_inline int stamp_chain_at(struct tki_chain *c, __u64 id,
					  const struct tki_sig *s, const int stage, __u32 n,
					  __u64 now)
{
	__u32 required;

	if (c->st[stage].ts_ns || !sig_fits(c, s))
		return 0;
	sig_apply(c, s, n);
	stamp(&c->st[stage], 0, s->tier, s->hook, now);
	required = c->linking == TKI_LINK_VHOST ? tki_required_vhost : tki_required_thread;
	/* an injection no eventfd stamp came before: the thread signalled from
	 * inside the kernel (vhost where its functions cannot be hooked), not
	 * by a write the thread linking waits for */
	if (stage == TKI_S_INJECT && !c->st[TKI_S_EVENTFD].ts_ns)
		required &= ~(1u << TKI_S_EVENTFD);
	if (netseg_span_ready(&c->span, c->st, TKI_N_STAGES, required))
		netseg_span_finish(&chains, &id, c, sizeof(*c), true, c->st, TKI_N_STAGES);
	return 1;
}

/*
 * One chain of a batch gets the current signal's stage. A global function:
 * the verifier checks it once, not once per chain of a 64-chain batch.
 * The stage is a constant in each branch, so stamps sit at fixed offsets.
 */
__noinline int tki_stamp_chain(__u64 id, __u32 n, __u64 now)
{
	struct tki_chain *c = bpf_map_lookup_elem(&chains, &id);
	__u32 zero = 0;
	struct tki_sig *s = bpf_map_lookup_elem(&cur_sig, &zero);

	if (!c || !s)
		return 0;
	switch (s->stage) {
	case TKI_S_VHOST:
		return stamp_chain_at(c, id, s, TKI_S_VHOST, n, now);
	case TKI_S_EVENTFD:
		return stamp_chain_at(c, id, s, TKI_S_EVENTFD, n, now);
	case TKI_S_IRQFD:
		return stamp_chain_at(c, id, s, TKI_S_IRQFD, n, now);
	case TKI_S_INJECT:
		return stamp_chain_at(c, id, s, TKI_S_INJECT, n, now);
	}
	return 0;
}

/* Every chain of this thread's batch gets stage s->stage (first hook of a
 * stage wins); those that now have every stage they need complete. */
static __always_inline int on_signal(const struct tki_sig *s, const int stage)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), n, zero = 0;
	struct tki_batch *b = bpf_map_lookup_elem(&threads, &tid);
	struct tki_sig *cur;
	__u64 now;

	if (!b || !b->n)
		return 0;
	cur = bpf_map_lookup_elem(&cur_sig, &zero);
	if (!cur)
		return 0;
	*cur = *s;
	n = b->n;
	now = bpf_ktime_get_ns();
	for (__u32 i = 0; i < TKI_BATCH_MAX; i++) {
		if (i >= n)
			break;
		tki_stamp_chain(b->ids[i], n, now);
	}
	b->signalled |= 1u << stage;
	return 0;
}

/* Which thread has traced packets waiting for their signal: every
 * signal-side hook asks this first. */
static __always_inline bool thread_waits(void)
{
	__u32 tid;
	struct tki_batch *b;

	/* a load, before a lookup on every write of the machine */
	if (!netseg_spans_any())
		return false;
	tid = (__u32)bpf_get_current_pid_tgid();
	b = bpf_map_lookup_elem(&threads, &tid);
	return b && b->n;
}

/* An eventfd's waiters: the irqfd among them names the VM and the GSI (and
 * the vector, for an MSI route). Bounded: an eventfd has a few waiters. */
static __always_inline void irqfd_of_eventfd(struct eventfd_ctx *ctx, struct tki_sig *s)
{
	struct list_head *head, *pos;

	/* kvm's types come from its module's BTF where kvm is a module: a
	 * kernel without module BTF (5.10) keeps the stage, without the VM */
	if (!ctx || !tki_irqfd_wakeup_addr || !bpf_core_type_exists(struct kvm_kernel_irqfd))
		return;
	head = (struct list_head *)((void *)ctx + bpf_core_field_offset(struct eventfd_ctx, wqh) +
				    bpf_core_field_offset(struct wait_queue_head, head));
	pos = BPF_CORE_READ(head, next);
	for (int i = 0; i < 4; i++) {
		struct wait_queue_entry *w;
		struct kvm_kernel_irqfd *irqfd;

		if (!pos || pos == head)
			return;
		w = (void *)pos - bpf_core_field_offset(struct wait_queue_entry, entry);
		if ((__u64)BPF_CORE_READ(w, func) == tki_irqfd_wakeup_addr) {
			irqfd = (void *)w - bpf_core_field_offset(struct kvm_kernel_irqfd, wait);
			s->kvm = (__u64)BPF_CORE_READ(irqfd, kvm);
			s->gsi = BPF_CORE_READ(irqfd, gsi);
			s->gsi_known = 1;
			if (BPF_CORE_READ(irqfd, irq_entry.type) == TKI_KVM_IRQ_ROUTING_MSI) {
				s->vector = BPF_CORE_READ(irqfd, irq_entry.msi.data) & 0xff;
				s->vector_known = 1;
			}
			return;
		}
		pos = BPF_CORE_READ(pos, next);
	}
}

/* vhost's types live in its module's BTF: local definitions of the fields
 * read, relocated against it where the kernel has module BTF */
struct vhost_vring_call___tki {
	struct eventfd_ctx *ctx;
} __attribute__((preserve_access_index));

struct vhost_virtqueue___tki {
	struct vhost_vring_call___tki call_ctx;
} __attribute__((preserve_access_index));

/* before 5.x the call eventfd was a plain pointer */
struct vhost_virtqueue___tki_old {
	struct eventfd_ctx *call_ctx;
} __attribute__((preserve_access_index));

static __always_inline int on_vhost(void *vq, __u32 count, enum netseg_tier tier)
{
	struct tki_sig s = { .stage = TKI_S_VHOST, .hook = TKI_HOOK_VHOST_SIGNAL, .tier = tier };

	if (!thread_waits())
		return 0;
	s.used = count;
	if (bpf_core_field_exists(((struct vhost_virtqueue___tki *)0)->call_ctx.ctx))
		s.eventfd = (__u64)BPF_CORE_READ((struct vhost_virtqueue___tki *)vq, call_ctx.ctx);
	else if (bpf_core_field_exists(((struct vhost_virtqueue___tki_old *)0)->call_ctx))
		s.eventfd = (__u64)BPF_CORE_READ((struct vhost_virtqueue___tki_old *)vq, call_ctx);
	irqfd_of_eventfd((struct eventfd_ctx *)s.eventfd, &s);
	return on_signal(&s, TKI_S_VHOST);
}

SEC("fentry/vhost_add_used_and_signal_n")
int BPF_PROG(tki_vhost_fe, void *dev, void *vq, void *heads, unsigned count)
{
	return on_vhost(vq, count, NETSEG_TIER_FENTRY);
}

SEC("kprobe")
int BPF_KPROBE(tki_vhost_kp, void *dev, void *vq, void *heads, unsigned count)
{
	return on_vhost(vq, count, NETSEG_TIER_KPROBE);
}

static __always_inline int on_eventfd(struct eventfd_ctx *ctx, enum tki_hook hook,
				      enum netseg_tier tier)
{
	struct tki_sig s = { .stage = TKI_S_EVENTFD, .hook = hook, .tier = tier };

	if (!thread_waits())
		return 0;
	s.eventfd = (__u64)ctx;
	irqfd_of_eventfd(ctx, &s);
	return on_signal(&s, TKI_S_EVENTFD);
}

SEC("fentry/eventfd_signal")
int BPF_PROG(tki_efd_fe, struct eventfd_ctx *efd)
{
	return on_eventfd(efd, TKI_HOOK_EVENTFD_SIGNAL, NETSEG_TIER_FENTRY);
}

SEC("fentry/eventfd_signal_mask")
int BPF_PROG(tki_efdm_fe, struct eventfd_ctx *efd)
{
	return on_eventfd(efd, TKI_HOOK_EVENTFD_SIGNAL, NETSEG_TIER_FENTRY);
}

SEC("kprobe")
int BPF_KPROBE(tki_efd_kp, struct eventfd_ctx *efd)
{
	return on_eventfd(efd, TKI_HOOK_EVENTFD_SIGNAL, NETSEG_TIER_KPROBE);
}

SEC("kprobe")
int BPF_KPROBE(tki_efdm_kp, struct eventfd_ctx *efd)
{
	return on_eventfd(efd, TKI_HOOK_EVENTFD_SIGNAL, NETSEG_TIER_KPROBE);
}

/* The file behind one of the current task's descriptors. */
static __always_inline struct file *current_file(__u64 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *f = NULL;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]))
		return NULL;
	return f;
}

/* The classic record of syscalls/sys_enter_write (no BTF type for it). */
struct tki_sys_enter_write {
	struct trace_entry ent;
	int nr;
	__u64 fd;
	__u64 buf;
	__u64 count;
};

/* A user-space VMM (qemu without vhost, the lab's vmm-sim) signals the
 * guest by writing the irqfd's eventfd from the thread that read the tap. */
SEC("tracepoint/syscalls/sys_enter_write")
int tki_efdw_tp(struct tki_sys_enter_write *args)
{
	struct tki_sig s = { .stage = TKI_S_EVENTFD, .hook = TKI_HOOK_EVENTFD_WRITE,
			     .tier = NETSEG_TIER_TRACEPOINT };
	struct file *f;

	if (!tki_eventfd_write_addr || !thread_waits())
		return 0;
	f = current_file(args->fd);
	if (!f || (__u64)BPF_CORE_READ(f, f_op, write) != tki_eventfd_write_addr)
		return 0;
	s.eventfd = (__u64)BPF_CORE_READ(f, private_data);
	irqfd_of_eventfd((struct eventfd_ctx *)s.eventfd, &s);
	return on_signal(&s, TKI_S_EVENTFD);
}

/* EPOLLIN: a signal; EPOLLHUP is the eventfd going away */
#define TKI_EPOLLIN 0x1

static __always_inline int on_irqfd(struct wait_queue_entry *wait, __u64 flags,
				    enum netseg_tier tier)
{
	struct tki_sig s = { .stage = TKI_S_IRQFD, .hook = TKI_HOOK_IRQFD_WAKEUP, .tier = tier };
	struct kvm_kernel_irqfd *irqfd;

	if (!(flags & TKI_EPOLLIN) || !thread_waits())
		return 0;
	if (!bpf_core_type_exists(struct kvm_kernel_irqfd))
		return on_signal(&s, TKI_S_IRQFD);
	irqfd = (void *)wait - bpf_core_field_offset(struct kvm_kernel_irqfd, wait);
	s.kvm = (__u64)BPF_CORE_READ(irqfd, kvm);
	s.eventfd = (__u64)BPF_CORE_READ(irqfd, eventfd);
	s.gsi = BPF_CORE_READ(irqfd, gsi);
	s.gsi_known = 1;
	return on_signal(&s, TKI_S_IRQFD);
}

SEC("fentry/irqfd_wakeup")
int BPF_PROG(tki_irqfd_fe, struct wait_queue_entry *wait, unsigned mode, int sync, void *key)
{
	return on_irqfd(wait, (__u64)key, NETSEG_TIER_FENTRY);
}

SEC("kprobe")
int BPF_KPROBE(tki_irqfd_kp, struct wait_queue_entry *wait, unsigned mode, int sync, void *key)
{
	return on_irqfd(wait, (__u64)key, NETSEG_TIER_KPROBE);
}

/* ---- 5: injection (MSI inline in the signalling thread) ----------------- */
static __always_inline int on_msi(__u64 address, __u64 data, enum netseg_tier tier)
{
	struct tki_sig s = { .stage = TKI_S_INJECT, .hook = TKI_HOOK_KVM_MSI, .tier = tier };

	if (!thread_waits())
		return 0;
	s.msi_address = address;
	s.vector = data & 0xff;
	s.vector_known = 1;
	return on_signal(&s, TKI_S_INJECT);
}

static __always_inline int on_set_irq(__u32 gsi, int level, enum netseg_tier tier)
{
	struct tki_sig s = { .stage = TKI_S_INJECT, .hook = TKI_HOOK_KVM_SET_IRQ, .tier = tier };

	/* an edge GSI is raised then lowered: the raise is the interrupt */
	if (!level || !thread_waits())
		return 0;
	s.gsi = gsi;
	s.gsi_known = 1;
	return on_signal(&s, TKI_S_INJECT);
}

static __always_inline int on_apic(__u32 vec, enum netseg_tier tier)
{
	struct tki_sig s = { .stage = TKI_S_INJECT, .hook = TKI_HOOK_APIC_ACCEPT, .tier = tier };

	if (!thread_waits())
		return 0;
	s.vector = vec;
	s.vector_known = 1;
	return on_signal(&s, TKI_S_INJECT);
}

SEC("tp_btf/kvm_msi_set_irq")
int BPF_PROG(tki_msi_btf, __u64 address, __u64 data)
{
	return on_msi(address, data, NETSEG_TIER_TP_BTF);
}

SEC("raw_tp/kvm_msi_set_irq")
int BPF_PROG(tki_msi_raw, __u64 address, __u64 data)
{
	return on_msi(address, data, NETSEG_TIER_RAW_TP);
}

SEC("tracepoint/kvm/kvm_msi_set_irq")
int tki_msi_tp(struct trace_event_raw_kvm_msi_set_irq *args)
{
	return on_msi(args->address, args->data, NETSEG_TIER_TRACEPOINT);
}

SEC("tp_btf/kvm_set_irq")
int BPF_PROG(tki_gsi_btf, unsigned int gsi, int level, int irq_source_id)
{
	return on_set_irq(gsi, level, NETSEG_TIER_TP_BTF);
}

SEC("raw_tp/kvm_set_irq")
int BPF_PROG(tki_gsi_raw, unsigned int gsi, int level, int irq_source_id)
{
	return on_set_irq(gsi, level, NETSEG_TIER_RAW_TP);
}

SEC("tracepoint/kvm/kvm_set_irq")
int tki_gsi_tp(struct trace_event_raw_kvm_set_irq *args)
{
	return on_set_irq(args->gsi, args->level, NETSEG_TIER_TRACEPOINT);
}

SEC("tp_btf/kvm_apic_accept_irq")
int BPF_PROG(tki_apic_btf, __u32 apicid, __u16 dm, __u16 tm, __u8 vec)
{
	return on_apic(vec, NETSEG_TIER_TP_BTF);
}

SEC("raw_tp/kvm_apic_accept_irq")
int BPF_PROG(tki_apic_raw, __u32 apicid, __u16 dm, __u16 tm, __u8 vec)
{
	return on_apic(vec, NETSEG_TIER_RAW_TP);
}

SEC("tracepoint/kvm/kvm_apic_accept_irq")
int tki_apic_tp(struct trace_event_raw_kvm_apic_accept_irq *args)
{
	return on_apic(args->vec, NETSEG_TIER_TRACEPOINT);
}

char LICENSE[] SEC("license") = "GPL";
