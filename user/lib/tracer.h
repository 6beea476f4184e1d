/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every tracer's main() does around its own logic, in one place:
 * privilege and BTF checks, libbpf logging, namespace resolution, the tier
 * plan, the ready record (stdout and --ready-file), the poll loop and the
 * shared counters in the summary.
 */
#ifndef NETSEG_TRACER_H
#define NETSEG_TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include "cli.h"
#include "clock.h"
#include "loop.h"
#include "netns.h"
#include "output.h"
#include "stats.h"
#include "tier.h"

struct bpf_object;
struct bpf_object_skeleton;
struct metrics;
struct ring_buffer;
struct span_segtab;

#define NETSEG_VERSION "0.1.0"

/* A tool's own way a span ends, counted by the kernel in counter `cnt`:
 * a netseg_echoes_total state beside the shared ones. */
struct tracer_state {
	const char *state;
	int cnt;
};

struct tracer {
	const char *tool;
	struct cli_common *opts;
	struct tier_plan plan;
	struct netseg_netns ns;
	struct netseg_clock *clock;
	int counters_fd;
	uint64_t start_mono_ns;
	uint64_t records;
	/* the tool's ring-buffer callback, called through tracer_record */
	int (*record_fn)(void *ctx, void *data, size_t size);
	void *record_ctx;
	struct metrics *metrics;  /* --metrics: also metrics_default() */
	/* --metrics --quiet: the kernel's segment histograms, read per scrape */
	const struct span_segtab *hist_tab;
	int hist_fd;
	/* set by the tool before tracer_ready_emit; NULL-terminated */
	const struct tracer_state *states;
};

/* The watched namespace (--netns), and the tool's interface names resolved
 * inside it by `resolve(err)` (may be NULL). Returns 0, or 2 after one
 * line naming the bad value. Before tracer_begin: some tools choose their
 * stage table from what they find there. */
int tracer_netns(const char *tool, const struct cli_common *opts, struct netseg_netns *ns,
		 int (*resolve)(void *err));

/* Checks and decisions before open: returns 0, or the exit status after
 * printing one line (1: privileges/BTF/tier, 2: bad --netns, --metrics
 * address bad or in use). With --metrics the registry is open (bound, not
 * serving yet) and every tracer's shared families are filled at each
 * scrape from the netseg_counters map. */
int tracer_begin(struct tracer *t, const char *tool, struct cli_common *opts,
		 const struct tier_tool *stages);
/* After open: `configure(t, arg)` writes the tool's rodata and map sizes
 * (it may read t->plan, e.g. tier_plan_stage_available); then autoload per
 * plan, load (through the skeleton, which also maps its globals), attach,
 * and the ring buffer on the object's `events` map calling fn(ctx, ...).
 * When this kernel rejects one of the chosen programs, the stage uses its
 * next alternative or tier, or is off (optional: one line on stderr), and
 * the skeleton is reopened in place: `configure` runs again on the fresh
 * object, with the plan as it is now. Returns 0, or 1 after one line on
 * stderr (nothing attached). A tool's main:
 *
 *	static int configure(struct tracer *t, void *arg)
 *	{
 *		struct tool_bpf *skel = arg;
 *
 *		skel->rodata->netseg_netns_ino = t->ns.ino;
 *		skel->rodata->has_l4 = tier_plan_stage_available(&t->plan, "l4");
 *		return 0;
 *	}
 *	...
 *	skel = tool_bpf__open();
 *	if (!skel || tracer_load_attach_cfg(&t, skel->skeleton, configure, skel,
 *					    handle_event, ctx, &rb))
 *		goto cleanup;
 *	// skel->maps.x, skel->rodata: valid, whichever object got loaded
 */
int tracer_load_attach_cfg(struct tracer *t, struct bpf_object_skeleton *skel,
			   int (*configure)(struct tracer *t, void *arg), void *arg,
			   int (*fn)(void *ctx, void *data, size_t size), void *ctx,
			   struct ring_buffer **rb);
/* The same for a tool that wrote its rodata before: on a reopen, the
 * values it wrote (rodata/data/bss, max_entries, map flags) are copied to
 * the fresh object. Settings derived from t->plan stay as first written:
 * such a tool should use tracer_load_attach_cfg. */
int tracer_load_attach(struct tracer *t, struct bpf_object_skeleton *skel, struct bpf_object *obj,
		       int (*fn)(void *ctx, void *data, size_t size), void *ctx,
		       struct ring_buffer **rb);
/* The ready record: begin adds tool, pid, tiers, netns (and the metrics
 * address); the tool adds its filters; emit starts serving --metrics (now
 * that the tiers are final), prints it and writes --ready-file. */
void tracer_ready_begin(struct tracer *t, struct out_rec *r);
int tracer_ready_emit(struct tracer *t, const struct out_rec *r);
/* Loop until a stop; ticks re-measure the clock and call `tick` (if any)
 * every tick_ms (0: every second). */
enum loop_end tracer_loop(struct tracer *t, struct ring_buffer *rb, int (*tick)(void *),
			  void *ctx, unsigned tick_ms);
/* The one way a run ends, before the tool builds its summary: detach
 * every program (nothing new can be counted or stamped after this), then
 * drain the ring buffer completely and flush, so every record the summary
 * counts has been printed. */
void tracer_stop(struct tracer *t, struct ring_buffer *rb);
/* Sum the per-CPU counters into out[NETSEG_CNT_MAX]; per_cpu_lost, when not
 * NULL, receives the lost-record count per CPU (up to max_cpus). */
int tracer_counters(struct tracer *t, uint64_t *out, uint64_t *per_cpu_lost, int max_cpus);
/* Add the shared counters, tiers and run facts to a summary record. */
void tracer_summary_fields(struct tracer *t, struct out_rec *r, enum loop_end how);
void tracer_end(struct tracer *t);

/* A latency segment a tracer reports in its summary. */
struct tracer_segment {
	const char *key;      /* JSON key: "path1" */
	const char *label;    /* text: "Path 1 (request)" */
	struct stats *st;
};

/* Complete and print the summary: the tool's own fields in `r`, then the
 * shared ones, the segments (JSON object; in text a table and a log2
 * histogram per segment), flushed. */
void tracer_summary_emit(struct tracer *t, struct out_rec *r, const struct tracer_segment *segs,
			 int n_segs, enum loop_end how);

/* The tiers per stage as a JSON object, for ready and summary records. */
int tracer_tiers_json(const struct tier_plan *plan, char *buf, size_t len);
uint64_t tracer_wall(struct tracer *t, uint64_t mono_ns);
/* With --metrics --quiet: every scrape reads the segment histograms the
 * kernel keeps in `map_fd` (netseg_hist) for the segments of `tab`. */
void tracer_kernel_hist(struct tracer *t, const struct span_segtab *tab, int map_fd);
/* Entries in a hash map (items still in flight), walked key by key. */
uint64_t tracer_map_count(int map_fd, size_t key_size);

#endif /* NETSEG_TRACER_H */
