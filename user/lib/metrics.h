/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A tracer's Prometheus endpoint (--metrics ADDR:PORT): a registry of the
 * families every tracer exports the same way, and an HTTP server (libevent's
 * evhttp, in a thread of its own so a scrape never holds up the ring
 * buffer) serving GET /metrics in the Prometheus text format, or in
 * OpenMetrics when the scraper asks for it (Accept).
 *
 *   netseg_build_info{tool,version} 1
 *   netseg_tier_info{tool,stage,tier,hook} 1
 *   netseg_segment_seconds{tool,segment}        histogram (NETSEG_HIST_* buckets)
 *   netseg_echoes_total{tool,state}             counter (complete, expired, replaced, ...)
 *   netseg_drops_total{tool,class,reason}       counter
 *   netseg_records_lost_total{tool}             counter
 *
 * Values come two ways: observed one by one by the tracer's thread
 * (metrics_observe_ns, metrics_count_add), or read from the kernel's maps
 * at each scrape by a callback (metrics_on_scrape) that sets them
 * (metrics_hist_set, metrics_count_set). All calls are thread-safe, and
 * all accept a NULL registry (no --metrics) and do nothing then.
 */
#ifndef NETSEG_METRICS_H
#define NETSEG_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct metrics;
struct tier_plan;

/* Parse "ADDR:PORT" (IPv4 or [IPv6], port 0..65535; 0: one the kernel
 * chooses) and bind it now, so a port in use or a bad address is an error
 * before anything is attached; serving starts with metrics_serve. NULL with
 * one line in err, which names the value ("'1.2.3:99': ..."). */
struct metrics *metrics_open(const char *tool, const char *addr_port, char *err, size_t errlen);
/* Start the server thread. 0, or -1 with one line in err. */
int metrics_serve(struct metrics *m, char *err, size_t errlen);
/* The bound address as "ADDR:PORT" (the port chosen when 0 was asked). */
const char *metrics_address(const struct metrics *m);

/* netseg_tier_info from the plan: one series per stage and attached hook. */
void metrics_tiers(struct metrics *m, const struct tier_plan *plan);
/* netseg_build_info: the tool (from metrics_open) and this version. */
void metrics_build_info(struct metrics *m, const char *version);

/* A segment histogram; returns its id (>= 0), or -1 when the table is full. */
int metrics_segment(struct metrics *m, const char *segment);
void metrics_observe_ns(struct metrics *m, int segment, uint64_t ns);
/* Replace a histogram with counts read from the kernel: counts[i] for
 * bucket i of NETSEG_HIST_BUCKETS (not cumulative), the sum in ns. */
void metrics_hist_set(struct metrics *m, int segment, const uint64_t *counts, uint64_t sum_ns);
/* How many segment histograms are registered (0: the tool has no spans). */
int metrics_segment_count(struct metrics *m);

/* Counters: family is "echoes" (labels: state), "drops" (class, reason) or
 * "records_lost" (no labels: pass NULL). */
void metrics_count_add(struct metrics *m, const char *family, const char *label1,
		       const char *label2, uint64_t n);
void metrics_count_set(struct metrics *m, const char *family, const char *label1,
		       const char *label2, uint64_t v);

/* Called (from the server's thread) before every scrape is rendered. */
void metrics_on_scrape(struct metrics *m, void (*fn)(void *ctx, struct metrics *m), void *ctx);

/* Render the exposition into buf (tests; the server uses the same).
 * Returns the length it needed, like snprintf: >= len means cut short. */
size_t metrics_render(struct metrics *m, bool openmetrics, char *buf, size_t len);
/* Whether an Accept header prefers OpenMetrics to the Prometheus text
 * format (q-values weighed; NULL or no mention: the text format). */
bool metrics_wants_openmetrics(const char *accept);

void metrics_close(struct metrics *m);

/* The process's registry when --metrics was given (NULL otherwise): shared
 * code (span_segtab_add) observes into it without each tool wiring it. */
struct metrics *metrics_default(void);
void metrics_set_default(struct metrics *m);

#endif /* NETSEG_METRICS_H */
