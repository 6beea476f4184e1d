// SPDX-License-Identifier: GPL-2.0
/* Drives bpf/netseg_span.bpf.h with chosen keys, stages, times and packets:
 * args = (op, key, stage, now_ns, skb). Never attached; run by test_span. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "netseg_emit.bpf.h"
#include "netseg_span.bpf.h"
#include "span.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct st_value);
} spans SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct st_value);
} scratch SEC(".maps");

SEC("raw_tp/sys_enter")
int BPF_PROG(span_drive, __u64 op, __u64 key64, __u64 stage, __u64 now, __u64 skb)
{
	__u32 key = key64, zero = 0;
	struct st_value *v = bpf_map_lookup_elem(&spans, &key);

	if (stage >= ST_STAGES)
		return 1;
	if (op == ST_OP_START) {
		if (!netseg_span_start_ok(&spans, &key, v, v ? &v->span : NULL, v ? v->st : NULL,
					  sizeof(*v), 0, ST_STAGES, now, skb))
			return 0;
		v = bpf_map_lookup_elem(&scratch, &zero);
		if (!v)
			return 1;
		__builtin_memset(v, 0, sizeof(*v));
		v->key = key;
		v->span.start_ns = now;
		netseg_stamp_fill(&v->st[0], skb, 0, 0, 0);
		netseg_stamp_commit(&v->st[0], now);
		netseg_span_insert(&spans, &key, v);
		return 0;
	}
	if (!v) {
		netseg_count(NETSEG_CNT_SPAN_ORPHAN);
		return 0;
	}
	if (v->st[stage].ts_ns)
		return 0;
	netseg_stamp_fill(&v->st[stage], skb, 0, 0, 0);
	netseg_stamp_commit(&v->st[stage], now);
	if (netseg_span_ready(&v->span, v->st, ST_STAGES, ST_REQUIRED))
		netseg_span_finish(&spans, &key, v, sizeof(*v), true, v->st, ST_STAGES);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
