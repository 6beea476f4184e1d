// SPDX-License-Identifier: GPL-2.0
/* fcount: count calls of kernel functions with fentry programs. The object
 * has FC_SLOTS identical programs with no fixed target: user space points
 * each used slot at a function (vmlinux or module BTF) before load, so one
 * object serves any list of functions. A bare SEC("fentry") takes its
 * target from bpf_program__set_attach_target(). Each slot also has a bare
 * SEC("kprobe") twin, for a function that has no BTF (a module's function
 * on a kernel without module BTF, such as 5.10): user space loads one of
 * the two per slot and attaches the kprobe by name. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "fcount.h"

char LICENSE[] SEC("license") = "GPL";

/* 0: every process; else only calls made by this tgid (written before load) */
const volatile __u32 fc_tgid = 0;

/* calls per slot; user space reads them through the mmapped .bss */
__u64 fc_counts[FC_SLOTS];

static __always_inline int fc_hit(int slot)
{
	if (fc_tgid && (bpf_get_current_pid_tgid() >> 32) != fc_tgid)
		return 0;
	__sync_fetch_and_add(&fc_counts[slot], 1);
	return 0;
}

#define FC_SLOT(n)                       \
	SEC("fentry")                    \
	int BPF_PROG(fc_slot##n)         \
	{                                \
		return fc_hit(n);        \
	}

#define FC_KSLOT(n)                      \
	SEC("kprobe")                    \
	int BPF_KPROBE(fc_kslot##n)      \
	{                                \
		return fc_hit(n);        \
	}

FC_SLOT(0)
FC_SLOT(1)
FC_SLOT(2)
FC_SLOT(3)
FC_SLOT(4)
FC_SLOT(5)
FC_SLOT(6)
FC_SLOT(7)
FC_KSLOT(0)
FC_KSLOT(1)
FC_KSLOT(2)
FC_KSLOT(3)
FC_KSLOT(4)
FC_KSLOT(5)
FC_KSLOT(6)
FC_KSLOT(7)
