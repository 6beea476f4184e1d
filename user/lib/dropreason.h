/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Names of the kernel's drop reasons (kfree_skb's `reason`), read from the
 * running kernel's BTF: the values differ between kernels, so never from a
 * table of our own. */
#ifndef NETSEG_DROPREASON_H
#define NETSEG_DROPREASON_H

#include <stddef.h>
#include <stdint.h>

/* Core reasons below this are named from enum skb_drop_reason. */
#define DROP_REASON_MAX_CORE 512

/* The reason's name without SKB_DROP_REASON_ ("NO_SOCKET"); a subsystem's
 * reason (OVS since 6.8: the subsystem in bits 16 and up) as
 * SUBSYS_<id>_<code>; else the number, written into buf. The BTF is read
 * at the first call. */
const char *drop_reason_name(uint32_t reason, char *buf, size_t len);
/* Free the names (at exit). */
void drop_reason_names_free(void);

#endif /* NETSEG_DROPREASON_H */
