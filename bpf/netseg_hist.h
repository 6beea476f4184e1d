/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The latency histogram's arithmetic, one copy for both halves: the kernel
 * fills its per-CPU histograms with it (netseg_hist.bpf.h), user space uses
 * the same bucket mapping for what it observes itself, so a value lands in
 * the same bucket whoever counted it. Plain C without loops the BPF
 * verifier of 5.10 cannot bound, no variable stack index, no clz.
 */
#ifndef NETSEG_HIST_H
#define NETSEG_HIST_H

#include "netseg.h"

#ifdef __always_inline
#define NETSEG_HIST_INLINE static __always_inline
#else
#define NETSEG_HIST_INLINE static inline
#endif

/* BPF needs the stage loops unrolled (constant indexes); gcc would warn
 * about clang's pragma, and needs nothing. */
#ifdef __clang__
#define NETSEG_HIST_UNROLL _Pragma("unroll")
#else
#define NETSEG_HIST_UNROLL
#endif

/* floor(log2(v)) for v > 0, by halving the range six times (BPF has no
 * count-leading-zeros instruction). */
NETSEG_HIST_INLINE __u32 netseg_hist_log2(__u64 v)
{
	__u32 l = 0;

	if (v >> 32) {
		v >>= 32;
		l += 32;
	}
	if (v >> 16) {
		v >>= 16;
		l += 16;
	}
	if (v >> 8) {
		v >>= 8;
		l += 8;
	}
	if (v >> 4) {
		v >>= 4;
		l += 4;
	}
	if (v >> 2) {
		v >>= 2;
		l += 2;
	}
	if (v >> 1)
		l += 1;
	return l;
}

/* The bucket of a value in ns (see NETSEG_HIST_BUCKETS in netseg.h): the
 * bit below the top one says which half of its octave the value is in. */
NETSEG_HIST_INLINE __u32 netseg_hist_bucket(__u64 ns)
{
	__u32 l;

	if (ns < (1ull << NETSEG_HIST_MIN_LOG2))
		return 0;
	l = netseg_hist_log2(ns);
	if (l > NETSEG_HIST_MAX_LOG2)
		return NETSEG_HIST_BUCKETS - 1;
	return 1 + 2 * (l - NETSEG_HIST_MIN_LOG2) + (__u32)((ns >> (l - 1)) & 1);
}

/* The upper bound of bucket b in ns, exclusive; 0 for the last (+Inf). */
NETSEG_HIST_INLINE __u64 netseg_hist_upper_ns(__u32 b)
{
	__u32 l;

	if (b == 0)
		return 1ull << NETSEG_HIST_MIN_LOG2;
	if (b >= NETSEG_HIST_BUCKETS - 1)
		return 0;
	l = NETSEG_HIST_MIN_LOG2 + (b - 1) / 2;
	return (b - 1) % 2 ? 2ull << l : 3ull << (l - 1);
}

/*
 * A complete span's stage times, and what PREV and LAST need of them,
 * worked out once per span: ts[i] is stage i's time (0: not stamped, as
 * is every stage past the tool's count), prev[i] the time of the last
 * stamped stage before i (0: none), last and before_last the last two
 * stamped stages (last_i: the last one's index).
 */
struct netseg_hist_span {
	__u64 ts[NETSEG_SPAN_MAX_STAGES];
	__u64 prev[NETSEG_SPAN_MAX_STAGES];
	__u64 last, before_last;
	__u32 last_i;
};

/* Fill prev, last, before_last and last_i from ts. Branch-free: whether a
 * stage is stamped selects by a mask, so the verifier walks one path
 * whatever the stamps are. */
NETSEG_HIST_INLINE void netseg_hist_span_prepare(struct netseg_hist_span *p)
{
	__u64 last = 0, before = 0, sel;
	__u32 last_i = 0;

NETSEG_HIST_UNROLL
	for (__u32 i = 0; i < NETSEG_SPAN_MAX_STAGES; i++) {
		__u64 t = p->ts[i];

		p->prev[i] = last;
		/* all ones when t != 0: either t or its negation has the top bit */
		sel = 0 - ((t | (0 - t)) >> 63);
		before = (last & sel) | (before & ~sel);
		last = (t & sel) | (last & ~sel);
		last_i = (i & (__u32)sel) | (last_i & ~(__u32)sel);
	}
	p->last = last;
	p->before_last = before;
	p->last_i = last_i;
}

/*
 * One segment of the span, as user space's span_segtab_add measures it:
 * from/to are stage indexes or NETSEG_HIST_PREV/NETSEG_HIST_LAST. Returns
 * 1 with the signed difference in *ns, or 0 when an end is not stamped
 * (the segment is left out, as in user space). In the kernel from and to
 * are read-only constants, so each index into p is a fixed offset.
 */
NETSEG_HIST_INLINE int netseg_hist_seg_ns(const struct netseg_hist_span *p, int from, int to,
					  __s64 *ns)
{
	__u64 from_ts, to_ts;
	int to_i;

	if (to == NETSEG_HIST_LAST) {
		to_ts = p->last;
		to_i = (int)p->last_i;
		if (from == NETSEG_HIST_PREV)
			from_ts = p->before_last;
		else if (from >= 0 && from < NETSEG_SPAN_MAX_STAGES)
			from_ts = p->ts[from];
		else
			return 0;
	} else if (to >= 0 && to < NETSEG_SPAN_MAX_STAGES) {
		to_ts = p->ts[to];
		to_i = to;
		if (from == NETSEG_HIST_PREV)
			from_ts = p->prev[to];
		else if (from >= 0 && from < NETSEG_SPAN_MAX_STAGES)
			from_ts = p->ts[from];
		else
			return 0;
	} else {
		return 0;
	}
	/* a stage is not a segment of itself (PREV never is `to`) */
	if (!from_ts || !to_ts || from == to_i)
		return 0;
	*ns = (__s64)(to_ts - from_ts);
	return 1;
}

#endif /* NETSEG_HIST_H */
