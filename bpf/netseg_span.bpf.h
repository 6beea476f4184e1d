/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Spans: the one correlation mechanism of every netseg tracer. A span is a
 * map entry (key chosen by the tool) whose value starts with struct
 * netseg_span and holds one struct netseg_stamp per stage. Rules:
 *
 *  - Only the start stage creates a span. A start for a key that already
 *    has one replaces it when the old one is stale (older than the timeout),
 *    belongs to another packet (another skb), or already went past its start
 *    stage; the old span is reported as REPLACED, never merged with the new
 *    packet. Otherwise it is the same packet seen by another hook of the
 *    start family (first wins).
 *  - A span completes when every required stage is stamped, in any order.
 *  - Whoever reports a span (completion here, replacement here, expiry in
 *    user space) first deletes its entry; only the caller whose delete
 *    succeeded hands its copy on. So each span is reported exactly once
 *    even when CPUs and the user-space sweep race for it.
 *  - In quiet mode (netseg_quiet: --metrics --quiet) a complete span goes
 *    into the kernel's segment histograms (netseg_hist.bpf.h) instead of a
 *    record, by that same one caller; a replaced one is only counted,
 *    unless the tool defines NETSEG_SPAN_QUIET_KEEPS_REPLACED (for it a
 *    replaced span is a drop, rare and wanted).
 *
 * Include after netseg_emit.bpf.h. The loader sets netseg_span_timeout_ns.
 */
#ifndef NETSEG_SPAN_BPF_H
#define NETSEG_SPAN_BPF_H

#include "netseg.h"
#include "netseg_hist.bpf.h"

#define NETSEG_EEXIST 17

#ifndef NETSEG_SPAN_QUIET_KEEPS_REPLACED
#define NETSEG_SPAN_QUIET_KEEPS_REPLACED 0
#endif

/* Spans older than this are stale: replaced by a new start, expired by the
 * user-space sweep. Written by the loader between open and load. */
const volatile __u64 netseg_span_timeout_ns = 1000000000ull;

/*
 * Spans open in the kernel: counted up before an insert (down again if it
 * fails), down by whoever ends one (the one whose delete succeeded here,
 * or the user-space sweep, given the counter by span_map_of). Hooks of later stages
 * see every packet of the machine and return on this one load while no
 * span is open. It may read high (an entry LRU evicted is never counted
 * down): the gate then stays open, it never shuts on a span.
 */
__s64 netseg_spans_open = 0;

static __always_inline bool netseg_spans_any(void)
{
	return *(volatile __s64 *)&netseg_spans_open > 0;
}

static __always_inline void netseg_span_closed(void)
{
	__sync_fetch_and_add(&netseg_spans_open, -1);
}

/* Zeroes to clear a span value with one helper call: a memset of a few
 * hundred bytes is that many stores in every program, which the kernel
 * then has to check and compile at each load. */
const volatile char netseg_span_zeroes[1024] = {};
#define netseg_span_zero(v)                                                               \
	({                                                                                \
		_Static_assert(sizeof(*(v)) <= sizeof(netseg_span_zeroes), "span too large"); \
		bpf_probe_read_kernel((v), sizeof(*(v)), (const void *)netseg_span_zeroes);   \
	})

static __always_inline __u32 netseg_span_mask(const struct netseg_stamp *st, __u32 n_stages)
{
	__u32 mask = 0;

#pragma unroll
	for (__u32 i = 0; i < NETSEG_SPAN_MAX_STAGES; i++)
		if (i < n_stages && st[i].ts_ns)
			mask |= 1u << i;
	return mask;
}

/* Publish a stamp whose other fields are filled: the time goes in last, so
 * a CPU that sees it set copies a whole stamp. */
static __always_inline void netseg_stamp_commit(struct netseg_stamp *s, __u64 now)
{
	asm volatile("" ::: "memory");
	*(volatile __u64 *)&s->ts_ns = now;
}

/* Report a span and remove it, if nobody else did first. Returns 0 when
 * this caller's delete removed it (the record went out, or was counted as
 * lost when the ring buffer was full), -1 when another one had it. */
static __noinline int netseg_span_claim(void *map, const void *key, const void *val,
					 __u32 size, __u8 kind)
{
	struct netseg_rec_hdr *h = bpf_ringbuf_reserve(&events, sizeof(*h) + size, 0);

	if (h) {
		h->kind = kind;
		h->stage = 0;
		/* the value may be changed by another CPU: copy before the delete
		 * that makes it ours, so what goes out is what was claimed */
		bpf_probe_read_kernel(h + 1, size, val);
	}
	if (bpf_map_delete_elem(map, key)) {
		if (h)
			bpf_ringbuf_discard(h, BPF_RB_NO_WAKEUP);
		return -1;
	}
	netseg_span_closed();
	if (h)
		netseg_submit(h);
	else
		netseg_count(NETSEG_CNT_RB_LOST);
	return 0;
}

/* End a span this caller found incomplete: reported like netseg_span_claim
 * when `record`, else only removed. Returns 0 when this caller removed it. */
static __always_inline int netseg_span_end(void *map, const void *key, const void *val,
					   __u32 size, __u8 kind, bool record)
{
	if (record)
		return netseg_span_claim(map, key, val, size, kind);
	if (bpf_map_delete_elem(map, key))
		return -1;
	netseg_span_closed();
	return 0;
}

/*
 * A start-stage packet arrived for a key whose span is `old` (NULL: none).
 * Returns true when the caller should create a new span (after reporting
 * `old` as replaced), false when `old` is this very packet seen again.
 */
static __always_inline bool netseg_span_start_ok(void *map, const void *key, const void *old,
						 const struct netseg_span *sp,
						 const struct netseg_stamp *st, __u32 size,
						 __u32 start_stage, __u32 n_stages, __u64 now, __u64 skb)
{
	bool stale, other_packet, went_on;

	if (!old)
		return true;
	/* signed: a span started on another CPU a moment after `now` is new */
	stale = (__s64)(now - sp->start_ns) > (__s64)netseg_span_timeout_ns;
	other_packet = st[start_stage].skb != skb;
	went_on = netseg_span_mask(st, n_stages) & ~(1u << start_stage);
	if (!stale && !other_packet && !went_on) {
		netseg_count(NETSEG_CNT_SPAN_DUPLICATE);
		return false;
	}
	if (netseg_span_end(map, key, old, size, NETSEG_SPAN_EV_REPLACED,
			    !netseg_quiet || NETSEG_SPAN_QUIET_KEEPS_REPLACED) == 0)
		netseg_count(NETSEG_CNT_SPAN_REPLACED);
	return true;
}

/* Every new span's insert (BPF_NOEXIST), counted open before it exists:
 * its end, maybe on another CPU, comes after. The update's result. */
static __always_inline long netseg_span_update(void *map, const void *key, const void *val)
{
	long rc;

	__sync_fetch_and_add(&netseg_spans_open, 1);
	rc = bpf_map_update_elem(map, key, val, BPF_NOEXIST);
	if (rc)
		netseg_span_closed();
	return rc;
}

/* Insert a span built by the caller (start stamp committed, start_ns set). */
static __always_inline void netseg_span_insert(void *map, const void *key, const void *val)
{
	long rc = netseg_span_update(map, key, val);

	if (rc == 0)
		netseg_count(NETSEG_CNT_SPAN_STARTED);
	else if (rc == -NETSEG_EEXIST)
		/* another CPU's start hook of the same packet won the race */
		netseg_count(NETSEG_CNT_SPAN_DUPLICATE);
	else
		netseg_count(NETSEG_CNT_MAP_FULL);
}

/*
 * After a later stage's stamp was committed: true when every required stage
 * is now stamped. Two CPUs committing the last two stamps at once must not
 * both miss the other's: the locked add orders each CPU's stamp before its
 * check (a full barrier on x86), so at least one of them sees both, and
 * netseg_span_finish lets only one report.
 */
static __always_inline bool netseg_span_ready(struct netseg_span *sp, const struct netseg_stamp *st,
					      __u32 n_stages, __u32 required)
{
	__sync_fetch_and_add(&sp->barrier, 1);
	return (netseg_span_mask(st, n_stages) & required) == required;
}

/*
 * A complete span: reported, or (report false: below the tool's threshold)
 * only removed and counted as filtered. In quiet mode its segments go into
 * the histograms instead of a record: `st` are its n_stages stamps (a
 * tool's stage count, a constant). True for the one caller whose span
 * completed here (reported or counted in the histograms): a tool may count
 * more of it then, in both modes.
 */
static __always_inline bool netseg_span_finish(void *map, const void *key, const void *val,
					       __u32 size, bool report,
					       const struct netseg_stamp *st, __u32 n_stages)
{
	struct netseg_hist_span hs;

	if (!report) {
		if (bpf_map_delete_elem(map, key) == 0) {
			netseg_span_closed();
			netseg_count(NETSEG_CNT_FILTERED);
		}
		return false;
	}
	if (!netseg_quiet) {
		if (netseg_span_claim(map, key, val, size, NETSEG_SPAN_EV_COMPLETE))
			return false;
		netseg_count(NETSEG_CNT_SPAN_COMPLETED);
		return true;
	}
	/* the times are copied before the delete that makes the span ours, as
	 * a record's copy is: once deleted, the entry may hold a new span */
#pragma unroll
	for (__u32 i = 0; i < NETSEG_SPAN_MAX_STAGES; i++)
		hs.ts[i] = i < n_stages ? *(volatile const __u64 *)&st[i].ts_ns : 0;
	if (bpf_map_delete_elem(map, key))
		return false;
	netseg_span_closed();
	netseg_count(NETSEG_CNT_SPAN_COMPLETED);
	netseg_hist_span(&hs);
	return true;
}

/* A copy of a span as it is now, without claiming it (verbose stage records). */
static __always_inline void netseg_span_emit_stage(const void *val, __u32 size, __u8 stage)
{
	struct netseg_rec_hdr *h = bpf_ringbuf_reserve(&events, sizeof(*h) + size, 0);

	if (!h) {
		netseg_count(NETSEG_CNT_RB_LOST);
		return;
	}
	h->kind = NETSEG_SPAN_EV_STAGE;
	h->stage = stage;
	bpf_probe_read_kernel(h + 1, size, val);
	netseg_submit(h);
}

/* The fields every stamp has; the tool adds ifname, stack and the time. */
static __always_inline void netseg_stamp_fill(struct netseg_stamp *s, __u64 skb, __u32 ifindex,
					      __u8 tier, __u8 hook)
{
	s->skb = skb;
	s->cpu = bpf_get_smp_processor_id();
	s->pid = bpf_get_current_pid_tgid() >> 32;
	s->ifindex = ifindex;
	s->stack_id = -1;
	s->tier = tier;
	s->hook = hook;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
}

#endif /* NETSEG_SPAN_BPF_H */
