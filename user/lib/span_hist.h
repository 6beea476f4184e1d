/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The user half of the kernel's segment histograms (bpf/netseg_hist.bpf.h),
 * kept instead of a record per span with --metrics --quiet: the loader
 * writes the tool's segment table into the object, and the histograms are
 * read (summed over CPUs) when Prometheus scrapes. The bucket mapping both
 * halves use is netseg_hist_bucket() in bpf/netseg_hist.h.
 */
#ifndef NETSEG_SPAN_HIST_H
#define NETSEG_SPAN_HIST_H

#include <stdbool.h>
#include <stdint.h>
#include "netseg.h"
#include "netseg_hist.h"
#include "cli.h"
#include "output.h"
#include "span.h"

/* Quiet mode: --quiet together with --metrics. */
bool span_hist_quiet(const struct cli_common *opts);

/* The kernel's table for segments def[0..n): -E2BIG when more than
 * NETSEG_HIST_MAX_SEGS, -EINVAL for a stage index the kernel cannot hold. */
int span_hist_cfg_make(struct netseg_hist_cfg *cfg, const struct span_segment *def, int n);

/*
 * In a tool's configure callback, before load: the object's netseg_quiet
 * and netseg_hist_cfg (skel->rodata->...) from the options and the tool's
 * segment table. 0, or a negative errno after one line on stderr.
 */
int span_hist_setup(bool *rodata_quiet, struct netseg_hist_cfg *rodata_cfg,
		    const struct span_segtab *t, const struct cli_common *opts);

/* Segment `seg` of the per-CPU netseg_hist map (its fd), summed over CPUs:
 * counts[NETSEG_HIST_BUCKETS] (not cumulative) and the sum in ns, as
 * metrics_hist_set takes them. 0, or a negative errno. */
int span_hist_read(int map_fd, int seg, uint64_t *counts, uint64_t *sum_ns);
/* The same segment's count of `to` before `from` (also in bucket 0). */
int span_hist_negative(int map_fd, int seg, uint64_t *negative);
/* All of it at once. */
int span_hist_read_seg(int map_fd, int seg, struct netseg_hist_seg *out);

/* The summary field "segments_kernel": per segment key its count, sum_ns
 * and negative count as the kernel has them now. */
void span_hist_summary(struct out_rec *r, int map_fd, const struct span_segtab *t);
struct metrics;
/* Hand the kernel's histograms of `t`'s segments to their --metrics
 * histograms (metrics_hist_set), for a scrape. */
void span_hist_publish(struct metrics *m, int map_fd, const struct span_segtab *t);

#endif /* NETSEG_SPAN_HIST_H */
