/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Latency statistics: count, min, mean, p50/p90/p99, max and a log2
 * histogram. Percentiles are exact (linear interpolation between the two
 * closest ranks, numpy's default) while at most `keep` samples have been
 * seen. Past that the kept samples are dropped and percentiles come from a
 * log-linear histogram with 32 sub-buckets per power of two, always kept:
 * the reported value is the middle of the bucket holding the rank, so its
 * relative error is below 1/64 (1.6 %), and values below 32 stay exact.
 * min, max, mean and count stay exact in both modes.
 */
#ifndef NETSEG_STATS_H
#define NETSEG_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STATS_DEFAULT_KEEP (1u << 20)
#define STATS_LOG2_SLOTS 64
#define STATS_SUB 32
#define STATS_FINE_SLOTS (60 * STATS_SUB)

struct stats {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	long double sum;
	size_t keep;            /* bound on kept samples */
	uint64_t *samples;      /* NULL once past the bound */
	size_t n, cap;
	bool sorted;
	bool approximate;       /* percentiles come from the fine histogram */
	uint64_t log2[STATS_LOG2_SLOTS];
	uint64_t log2_us[STATS_LOG2_SLOTS]; /* of value/1000: text histograms in usecs */
	uint64_t fine[STATS_FINE_SLOTS];
};

struct stats_summary {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	double mean;
	double p50;
	double p90;
	double p99;
	bool approximate;
};

void stats_init(struct stats *s, size_t keep);
void stats_free(struct stats *s);
/* Returns -1 only when memory for keeping samples ran out; the sample is
 * still counted and the statistics switch to the histogram. */
int stats_add(struct stats *s, uint64_t v);
double stats_percentile(struct stats *s, double pct);
void stats_summarize(struct stats *s, struct stats_summary *out);

/* Slot i of the log2 histogram holds values in [2^i, 2^(i+1)), slot 0 also 0. */
unsigned stats_log2_slot(uint64_t v);
unsigned stats_fine_slot(uint64_t v);

/* Print like libbpf-tools: "low -> high : count |****|" rows, values
 * divided by `div` (1000 turns ns into us), `unit` names the column. */
void stats_print_log2_hist(FILE *fp, const uint64_t *slots, unsigned n_slots, uint64_t div,
			   const char *unit);
/* The same histogram as a JSON array of [low, high, count] (in ns). */
int stats_log2_json(const uint64_t *slots, unsigned n_slots, char *buf, size_t len);

/* {"count":..,"min_ns":..,"mean_ns":..,"p50_ns":..,"p90_ns":..,"p99_ns":..,
 * "max_ns":..,"approximate":..,"hist":[[lo,hi,n],...]}. Like snprintf. */
int stats_to_json(struct stats *s, char *buf, size_t len);
/* One row of a text table: name, count, then min/mean/p50/p90/p99/max in
 * microseconds with 3 decimals. */
void stats_print_row(FILE *fp, const char *name, struct stats *s);
void stats_print_header(FILE *fp);

#endif /* NETSEG_STATS_H */
