// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * hook_floor: what hooking costs before a tracer does anything. Loads one
 * program that returns at once and attaches it to each tracepoint named on
 * the command line (a tracer's own, read from its links), then waits for
 * SIGTERM. Its P3 is the floor of bpf_stats' ns per run on this machine,
 * its P4 the most any tracer on those tracepoints can keep of the packet
 * rate: a tracer's numbers read against it, measured in the same run.
 *   hook_floor READY_FILE TRACEPOINT...
 * raw_tp and tp_btf programs are dispatched the same way (bpf_trace_run),
 * so raw_tp stands for both. No BPF object: two instructions.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

int main(int argc, char **argv)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	int prog, i;
	FILE *ready;

	if (argc < 3) {
		fprintf(stderr, "usage: hook_floor READY_FILE TRACEPOINT...\n");
		return 2;
	}
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	attr.license = (uintptr_t)"GPL";
	strncpy(attr.prog_name, "floor_empty", sizeof(attr.prog_name) - 1);
	prog = sys_bpf(BPF_PROG_LOAD, &attr);
	if (prog < 0) {
		fprintf(stderr, "hook_floor: load: %s\n", strerror(errno));
		return 1;
	}
	for (i = 2; i < argc; i++) {
		memset(&attr, 0, sizeof(attr));
		attr.raw_tracepoint.name = (uintptr_t)argv[i];
		attr.raw_tracepoint.prog_fd = prog;
		if (sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &attr) < 0) {
			fprintf(stderr, "hook_floor: attach %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	ready = fopen(argv[1], "w");
	if (!ready) {
		fprintf(stderr, "hook_floor: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	fprintf(ready, "{\"pid\":%d,\"hooks\":%d}\n", getpid(), argc - 2);
	fclose(ready);
	while (!stop)
		pause();
	return 0;
}
