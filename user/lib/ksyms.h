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
/* One pass over /proc/kallsyms for a few names (modules included): addrs[i]
 * is 0 where names[i] is absent or hidden. Returns how many were found, -1
 * when kallsyms cannot be read. */
int ksyms_addr_of(const char *const *names, uint64_t *addrs, size_t n);
const char *ksyms_format(const struct ksyms *k, uint64_t addr, char *buf, size_t len);

#endif /* NETSEG_KSYMS_H */
