/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * BPF stamps are CLOCK_MONOTONIC (bpf_ktime_get_ns). People want wall time.
 * The offset realtime - monotonic is measured at start (best of several
 * bracketed reads) and again every so often, since NTP slews the realtime
 * clock; the drift between measurements is reported, never hidden.
 */
#ifndef NETSEG_CLOCK_H
#define NETSEG_CLOCK_H

#include <stdint.h>

struct netseg_clock {
	int64_t offset_ns;          /* realtime - monotonic */
	uint64_t uncertainty_ns;    /* width of the best bracketing read */
	uint64_t measured_mono_ns;  /* when the offset was last measured */
	int64_t last_drift_ns;      /* change of offset at the last re-measure */
	uint64_t remeasures;
};

uint64_t clock_mono_ns(void);
uint64_t clock_real_ns(void);

/* Measure now; returns the offset. */
int64_t clock_measure(struct netseg_clock *c);
/* Re-measure when `interval_ns` passed since the last one; returns 1 when
 * it re-measured. */
int clock_refresh(struct netseg_clock *c, uint64_t interval_ns);
uint64_t clock_mono_to_wall(const struct netseg_clock *c, uint64_t mono_ns);

/* The process-wide clock most tools use. */
struct netseg_clock *clock_default(void);

#endif /* NETSEG_CLOCK_H */
