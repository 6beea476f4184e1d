// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "privs.h"

#define CAP_SYS_ADMIN_BIT 21
#define CAP_PERFMON_BIT 38
#define CAP_BPF_BIT 39

static uint64_t effective_caps(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long caps = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return caps;
}

bool privs_can_trace(void)
{
	uint64_t caps = effective_caps();

	if (caps & (1ull << CAP_SYS_ADMIN_BIT))
		return true;
	return (caps & (1ull << CAP_BPF_BIT)) && (caps & (1ull << CAP_PERFMON_BIT));
}

int privs_require(const char *tool)
{
	if (privs_can_trace())
		return 0;
	fprintf(stderr,
		"%s: needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN) to load BPF programs; run it with sudo\n",
		tool);
	return 1;
}

int btf_require(const char *tool)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK) == 0)
		return 0;
	fprintf(stderr,
		"%s: this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing; it needs CONFIG_DEBUG_INFO_BTF=y), which CO-RE tracing requires\n",
		tool);
	return 1;
}
