/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* fcount: shared between the BPF half and the user half. */
#ifndef NETSEG_VMTEST_FCOUNT_H
#define NETSEG_VMTEST_FCOUNT_H

/* Program slots in the object: fc_slot0 .. fc_slot7 (fentry) and their
 * kprobe twins fc_kslot0 .. fc_kslot7. Each used slot loads one of the two,
 * its target chosen at run time; slots not asked for stay unloaded. */
#define FC_SLOTS 8

#endif
