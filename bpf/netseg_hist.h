/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The NETSEG_HIST_* bucket of a latency (netseg.h), computed the same way
 * by the kernel's programs and by user space, so a histogram read from a
 * per-CPU map and one observed record by record cannot disagree. Plain C
 * that both clang -target bpf and the host compiler accept: no loops (the
 * verifier would have to bound them) and no clz (BPF has no instruction
 * for it), only shifts and compares.
 */
#ifndef NETSEG_HIST_H
#define NETSEG_HIST_H

#include "netseg.h"

/* floor(log2(v)) for v > 0, by halving the search range six times. */
static inline __attribute__((always_inline)) __u32 netseg_hist_log2(__u64 v)
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

/* The bucket of a value in ns: 0 below 2^10; then for its octave l the
 * lower half [2^l, 1.5 * 2^l) or the upper one, told by the bit under the
 * leading one; NETSEG_HIST_BUCKETS - 1 from 2^34 on. */
static inline __attribute__((always_inline)) __u32 netseg_hist_bucket(__u64 ns)
{
	__u32 l, upper;

	if (ns < (1ull << NETSEG_HIST_MIN_LOG2))
		return 0;
	l = netseg_hist_log2(ns);
	if (l > NETSEG_HIST_MAX_LOG2)
		return NETSEG_HIST_BUCKETS - 1;
	upper = (ns >> (l - 1)) & 1;
	return 1 + 2 * (l - NETSEG_HIST_MIN_LOG2) + upper;
}

/* The upper bound (exclusive) of bucket i in ns; 0 for the last (+Inf). */
static inline __attribute__((always_inline)) __u64 netseg_hist_upper_ns(__u32 i)
{
	__u32 l;

	if (i == 0)
		return 1ull << NETSEG_HIST_MIN_LOG2;
	if (i >= NETSEG_HIST_BUCKETS - 1)
		return 0;
	l = NETSEG_HIST_MIN_LOG2 + (i - 1) / 2;
	return (i - 1) & 1 ? 1ull << (l + 1) : 3ull << (l - 1);
}

#endif /* NETSEG_HIST_H */
