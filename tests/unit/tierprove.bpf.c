// SPDX-License-Identifier: GPL-2.0
/* Programs for test_tierprove: hooks this kernel offers, with programs it
 * accepts or rejects there. Each rejected one reads a context argument the
 * tracepoint does not have, as kfree_skb's `reason` on kernels before 5.17. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* Written by the test between open and load: the verifier only accepts
 * tp_cfg_ok when it sees tp_cfg_safe = 1, so a proof that forgets the
 * tool's rodata rejects it. */
const volatile __u32 tp_cfg_safe = 0;
/* Written from the plan by the test's configure callback. */
const volatile __u32 tp_has_opt = 0;

/* What the programs read lands here, so the compiler keeps the reads. */
__u64 tp_sink = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

/* No size in the ELF: the kernel refuses to create it unless the test sets
 * max_entries, so a proof that forgets the tool's map sizes fails. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 0);
	__type(key, __u32);
	__type(value, __u64);
} sized SEC(".maps");

/* netif_receive_skb(skb): one argument */
SEC("tp_btf/netif_receive_skb")
int tp_recv_ctx3(__u64 *ctx)
{
	tp_sink = ctx[3];
	return 0;
}

SEC("tp_btf/netif_receive_skb")
int tp_recv_ok(__u64 *ctx)
{
	tp_sink = ctx[0];
	return 0;
}

/* raw_tp loads whatever it reads; the attach compares with the arguments */
SEC("raw_tp/netif_receive_skb")
int tp_rraw_ctx3(struct bpf_raw_tracepoint_args *ctx)
{
	tp_sink = ctx->args[3];
	return 0;
}

SEC("raw_tp/netif_receive_skb")
int tp_rraw_ok(struct bpf_raw_tracepoint_args *ctx)
{
	tp_sink = ctx->args[0];
	return 0;
}

/* net_dev_xmit(skb, rc, dev, skb_len): four arguments */
SEC("tp_btf/net_dev_xmit")
int tp_xmit_ctx6(__u64 *ctx)
{
	tp_sink = ctx[6];
	return 0;
}

/* net_dev_start_xmit(skb, dev): two arguments */
SEC("tp_btf/net_dev_start_xmit")
int tp_cfg_ok(__u64 *ctx)
{
	__u32 k = 0;
	__u64 *v;

	if (!tp_cfg_safe) {
		tp_sink = ctx[7];
		return 0;
	}
	v = bpf_map_lookup_elem(&sized, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
