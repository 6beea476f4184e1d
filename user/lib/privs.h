/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The checks a tracer makes before touching the kernel, each with one line
 * that says what is missing. */
#ifndef NETSEG_PRIVS_H
#define NETSEG_PRIVS_H

#include <stdbool.h>

/* CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN, in the effective set. */
bool privs_can_trace(void);
/* Print "<tool>: needs root ..." and return 1 when privileges are missing. */
int privs_require(const char *tool);
/* Print "<tool>: this kernel has no BTF ..." and return 1 when missing. */
int btf_require(const char *tool);

#endif /* NETSEG_PRIVS_H */
