/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Ring buffer and per-CPU counters shared by every tracer's BPF half.
 * Include once per BPF object, after vmlinux.h and bpf_helpers.h. */
#ifndef NETSEG_EMIT_BPF_H
#define NETSEG_EMIT_BPF_H

#include "netseg.h"

#ifndef NETSEG_RINGBUF_BYTES
/* 1 MiB holds ~10k records of ~100 bytes: a ping flood's worth between
 * two polls of a busy loader. Tools with larger records raise it. */
#define NETSEG_RINGBUF_BYTES (1 << 20)
#endif

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, NETSEG_RINGBUF_BYTES);
} events SEC(".maps");

/* --metrics --quiet: no ring-buffer record per packet or complete span;
 * the kernel counts (and keeps histograms, netseg_hist.bpf.h) instead,
 * and user space reads the maps when scraped. Written by the loader. */
const volatile bool netseg_quiet = false;

/* Indexed by enum netseg_counter; per-CPU so counting never contends. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NETSEG_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} netseg_counters SEC(".maps");

static __noinline void netseg_count(__u32 counter)
{
	__u64 *v = bpf_map_lookup_elem(&netseg_counters, &counter);

	if (v)
		*v += 1;
}

/* Reserve a record; a full ring buffer is counted, never silent. */
#define netseg_reserve(type)                                              \
	({                                                                \
		type *__r = bpf_ringbuf_reserve(&events, sizeof(type), 0);  \
		if (!__r)                                                 \
			netseg_count(NETSEG_CNT_RB_LOST);                 \
		__r;                                                      \
	})

/*
 * Hand a record to the reader. Waking it costs an interrupt per record (a
 * self-IPI; in a guest a VM exit of microseconds), so the reader is woken
 * only once a quarter of the ring waits; otherwise it finds the records at
 * its next poll, which comes at least every 100 ms.
 */
static __always_inline void netseg_submit(void *rec)
{
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(rec, waiting >= NETSEG_RINGBUF_BYTES / 4 ? BPF_RB_FORCE_WAKEUP
								   : BPF_RB_NO_WAKEUP);
}

#endif /* NETSEG_EMIT_BPF_H */
