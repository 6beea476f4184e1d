/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * BPF stamps are CLOCK_MONOTONIC (bpf_ktime_get_ns). People want wall time.
 * The offset realtime - monotonic is measured at start (best of several
 * bracketed reads) and again on every loop tick, since NTP slews the
 * realtime clock; the drift between measurements is reported, never hidden.
 *
 * A step of the realtime clock (settime, a VM resumed, NTP's initial
 * jump) changes the offset at one instant. The poll loop learns of it at
 * once through a timerfd armed with TFD_TIMER_CANCEL_ON_SET and re-measures.
 * Records reach user space late (ring buffer, batching), so each offset is
 * kept with the monotonic time it took effect, and a record is converted
 * with the offset in force when it was stamped, not the newest one.
 */
#ifndef NETSEG_CLOCK_H
#define NETSEG_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Enough for a minute of per-second re-measures; records are converted
 * within a poll interval of being stamped. */
#define CLOCK_HISTORY 64

struct netseg_clock_epoch {
	uint64_t mono_ns;           /* from this monotonic time on ... */
	int64_t offset_ns;          /* ... wall = mono + offset */
};

struct netseg_clock {
	int64_t offset_ns;          /* realtime - monotonic, latest */
	uint64_t uncertainty_ns;    /* width of the best bracketing read */
	uint64_t measured_mono_ns;  /* when the offset was last measured */
	int64_t last_drift_ns;      /* change of offset at the last re-measure */
	uint64_t remeasures;
	uint64_t steps;             /* realtime steps seen through the timerfd */
	int step_fd;                /* that timerfd; meaningful when step_fd_open */
	bool step_fd_open;
	unsigned n_epochs;          /* valid entries in epochs (ring) */
	unsigned next_epoch;        /* where the next one goes */
	struct netseg_clock_epoch epochs[CLOCK_HISTORY];
};

uint64_t clock_mono_ns(void);
uint64_t clock_real_ns(void);

/* Measure now; records the offset from the measurement's monotonic time
 * on, and returns it. */
int64_t clock_measure(struct netseg_clock *c);
/* Re-measure when `interval_ns` passed since the last one (0: always);
 * returns 1 when it re-measured. */
int clock_refresh(struct netseg_clock *c, uint64_t interval_ns);
/* Record that `offset_ns` holds from `mono_ns` on (clock_measure's
 * bookkeeping; tests use it to replay a step without making one). Times
 * must not go backwards. */
void clock_note(struct netseg_clock *c, uint64_t mono_ns, int64_t offset_ns);
/* Wall time of a monotonic stamp, with the offset in force at that time
 * (the oldest one kept for stamps older than the history). */
uint64_t clock_mono_to_wall(const struct netseg_clock *c, uint64_t mono_ns);

/* A timerfd that becomes readable when the realtime clock is set (created
 * on first use; -1 when the kernel refuses). Poll it; when readable, call
 * clock_step_check. */
int clock_step_fd(struct netseg_clock *c);
/* Returns 1 (and re-measures, re-arms) when the clock was set since the
 * last call, else 0. */
int clock_step_check(struct netseg_clock *c);

/* The process-wide clock most tools use. */
struct netseg_clock *clock_default(void);

#endif /* NETSEG_CLOCK_H */
