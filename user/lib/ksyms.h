/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Kernel addresses to "function+0xoff" from /proc/kallsyms (stacks, drop sites). */
#ifndef NETSEG_KSYMS_H
#define NETSEG_KSYMS_H

#include <stddef.h>
#include <stdint.h>

struct ksyms;

/* NULL when /proc/kallsyms cannot be read or shows only zero addresses. */
struct ksyms *ksyms_load(void);
void ksyms_free(struct ksyms *k);
/* "name+0xoff", or the hex address when unknown. Returns buf. */
const char *ksyms_format(const struct ksyms *k, uint64_t addr, char *buf, size_t len);

#endif /* NETSEG_KSYMS_H */
