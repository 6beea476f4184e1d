/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Segment histograms kept in the kernel (--metrics --quiet): a complete
 * span's segments go into per-CPU histograms instead of a ring-buffer
 * record, and user space sums the CPUs only when Prometheus scrapes
 * (user/lib/span_hist.h). Per-CPU, plain adds: no locked instruction and
 * no cache line passed between CPUs at every echo. A program that a softirq
 * interrupts between its load and store on the same CPU may lose a count,
 * as netseg_count may: rare, and never a count twice.
 *
 * Included by netseg_span.bpf.h, after netseg_emit.bpf.h.
 */
#ifndef NETSEG_HIST_BPF_H
#define NETSEG_HIST_BPF_H

#include "netseg.h"
#include "netseg_hist.h"

/* Key: the segment's index in the tool's segment table. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NETSEG_HIST_MAX_SEGS);
	__type(key, __u32);
	__type(value, struct netseg_hist_seg);
} netseg_hist SEC(".maps");

/* Written by the loader from the tool's segment table (span_hist_setup). */
const volatile struct netseg_hist_cfg netseg_hist_cfg = {};

/*
 * One segment's value into its histogram. A global function: the verifier
 * checks it once per program with any arguments, instead of once per
 * segment at every place a span completes.
 */
__noinline int netseg_hist_add(__u32 seg, __s64 ns)
{
	struct netseg_hist_seg *h = bpf_map_lookup_elem(&netseg_hist, &seg);
	__u64 b;

	if (!h)
		return 0;
	/* as user space's statistics: counted as 0, and apart */
	if (ns < 0) {
		h->negative++;
		ns = 0;
	}
	b = netseg_hist_bucket(ns);
	/*
	 * Never true, but the verifier cannot follow the arithmetic. Written
	 * in assembly so the test is on the very register that indexes: clang
	 * tests a copy, and 5.10's verifier does not carry a bound learned on
	 * a copy back to the original (5.11 does).
	 */
	asm volatile("if %[b] < %[n] goto +1\n\t"
		     "%[b] = %[last]"
		     : [b] "+r"(b)
		     : [n] "i"(NETSEG_HIST_BUCKETS), [last] "i"(NETSEG_HIST_BUCKETS - 1));
	h->counts[b]++;
	h->sum_ns += ns;
	return 0;
}

/* A complete span (p->ts filled) into the histograms of every configured
 * segment whose ends are both stamped. */
static __always_inline void netseg_hist_span(struct netseg_hist_span *p)
{
	netseg_hist_span_prepare(p);
	/* the table is read-only to the program: segments past n are dead
	 * code the verifier never walks */
#pragma unroll
	for (__u32 s = 0; s < NETSEG_HIST_MAX_SEGS; s++) {
		__s64 ns;

		if (s >= netseg_hist_cfg.n)
			break;
		if (netseg_hist_seg_ns(p, netseg_hist_cfg.seg[s].from, netseg_hist_cfg.seg[s].to,
				       &ns))
			netseg_hist_add(s, ns);
	}
}

#endif /* NETSEG_HIST_BPF_H */
