/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The packet filter options a tracer can offer (an argp child): --src-ip
 * --dst-ip --protocol --src-port --dst-port --icmp-id --icmp-seq, parsed
 * into the struct netseg_pktfilter its BPF half checks
 * (netseg_pktfilter_match in netseg_filter.bpf.h).
 */
#ifndef NETSEG_PKTFILTER_H
#define NETSEG_PKTFILTER_H

#include <argp.h>
#include "netseg.h"

struct out_rec;

extern struct argp pktfilter_argp;
/* What was parsed; `on` is set when any option was given. */
const struct netseg_pktfilter *pktfilter_get(void);
/* The filters in force as fields of the ready record (none: nothing). */
void pktfilter_fields(struct out_rec *r, const struct netseg_pktfilter *f);

#endif /* NETSEG_PKTFILTER_H */
