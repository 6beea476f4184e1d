// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "metrics.h"
#include "privs.h"
#include "span_hist.h"
#include "tracer.h"

static bool libbpf_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !libbpf_verbose)
		return 0;
	if (level == LIBBPF_INFO && !libbpf_verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

int tracer_netns(const char *tool, const struct cli_common *opts, struct netseg_netns *ns,
		 int (*resolve)(void *err))
{
	char err[512] = "";

	if (netns_resolve(opts->netns, ns, err, sizeof(err)) ||
	    (resolve && netns_run_in(ns, resolve, err))) {
		fprintf(stderr, "%s: %s\n", tool, err[0] ? err : "cannot enter the namespace");
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* The span counters every tracer keeps, as netseg_echoes_total states;
 * "expired" is the user-space sweep's (span_expire counts it). */
static const struct {
	const char *state;
	enum netseg_counter cnt;
} echo_states[] = {
	{ "started", NETSEG_CNT_SPAN_STARTED },	    { "complete", NETSEG_CNT_SPAN_COMPLETED },
	{ "filtered", NETSEG_CNT_FILTERED },	    { "replaced", NETSEG_CNT_SPAN_REPLACED },
	{ "duplicate", NETSEG_CNT_SPAN_DUPLICATE }, { "orphan", NETSEG_CNT_SPAN_ORPHAN },
};

/* At each scrape, in the server's thread: the kernel's counters as they
 * are now (map lookups are safe from any thread). */
static void tracer_scrape(void *arg, struct metrics *m)
{
	uint64_t cnt[NETSEG_CNT_MAX];
	struct tracer *t = arg;

	if (tracer_counters(t, cnt, NULL, 0))
		return;
	metrics_count_set(m, "records_lost", NULL, NULL, cnt[NETSEG_CNT_RB_LOST]);
	/* a tool without spans (pktwatch) has no echoes to count */
	if (t->hist_tab)
		span_hist_publish(m, t->hist_fd, t->hist_tab);
	if (!metrics_segment_count(m))
		return;
	for (size_t i = 0; i < sizeof(echo_states) / sizeof(echo_states[0]); i++)
		metrics_count_set(m, "echoes", echo_states[i].state, NULL, cnt[echo_states[i].cnt]);
	metrics_count_add(m, "echoes", "expired", NULL, 0);
	for (const struct tracer_state *x = t->states; x && x->state; x++)
		metrics_count_set(m, "echoes", x->state, NULL, cnt[x->cnt]);
}

/* Bound now, so a bad address or a port in use stops the run before a
 * program is loaded; served once attached (tracer_ready_emit). */
static int tracer_metrics_open(struct tracer *t)
{
	char err[512];

	if (!t->opts->metrics)
		return 0;
	t->metrics = metrics_open(t->tool, t->opts->metrics, err, sizeof(err));
	if (!t->metrics) {
		fprintf(stderr, "%s: --metrics %s\n", t->tool, err);
		return CLI_EXIT_USAGE;
	}
	metrics_set_default(t->metrics);
	metrics_on_scrape(t->metrics, tracer_scrape, t);
	return 0;
}

int tracer_begin(struct tracer *t, const char *tool, struct cli_common *opts,
		 const struct tier_tool *stages)
{
	char err[512];
	int rc;

	memset(t, 0, sizeof(*t));
	t->tool = tool;
	t->opts = opts;
	t->counters_fd = -1;
	libbpf_verbose = opts->verbose;
	libbpf_set_print(libbpf_print);
	if (privs_require(tool) || btf_require(tool))
		return CLI_EXIT_PRIVS;
	if (netns_resolve(opts->netns, &t->ns, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", tool, err);
		return CLI_EXIT_USAGE;
	}
	if (loop_signals_install()) {
		fprintf(stderr, "%s: cannot install signal handlers: %s\n", tool, strerror(errno));
		return 1;
	}
	out_set_quiet(opts->quiet);
	rc = tracer_metrics_open(t);
	if (rc)
		return rc;
	if (tier_plan_make(stages, opts->tier, &t->plan, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", tool, err);
		tracer_end(t);
		return 1;
	}
	t->clock = clock_default();
	return 0;
}

/* Every record passes here on its way to the tool: a stop or a long
 * consume ends the consume, so the loop stays responsive under a flood.
 * Only after the record is handled: libbpf has already moved past it. */
static int tracer_record(void *arg, void *data, size_t size)
{
	struct tracer *t = arg;
	int err = t->record_fn(t->record_ctx, data, size);

	if (err)
		return err;
	return loop_record_may_continue() ? 0 : -ECANCELED;
}

static int tracer_ring(struct tracer *t, struct bpf_object *obj,
		       int (*fn)(void *ctx, void *data, size_t size), void *ctx,
		       struct ring_buffer **rb)
{
	struct bpf_map *events = bpf_object__find_map_by_name(obj, "events");

	t->record_fn = fn;
	t->record_ctx = ctx;
	*rb = events ? ring_buffer__new(bpf_map__fd(events), tracer_record, t, NULL) : NULL;
	if (!*rb) {
		fprintf(stderr, "%s: creating the ring buffer failed\n", t->tool);
		tier_plan_detach(&t->plan);
		return 1;
	}
	return 0;
}

struct tracer_cfg {
	struct tracer *t;
	int (*configure)(struct tracer *t, void *arg);
	void *arg;
};

static int tracer_configure(void *arg)
{
	struct tracer_cfg *cfg = arg;

	return cfg->configure(cfg->t, cfg->arg);
}

int tracer_load_attach_cfg(struct tracer *t, struct bpf_object_skeleton *skel,
			   int (*configure)(struct tracer *t, void *arg), void *arg,
			   int (*fn)(void *ctx, void *data, size_t size), void *ctx,
			   struct ring_buffer **rb)
{
	struct tracer_cfg cfg = { t, configure, arg };
	struct tier_load_ops ops = { .tool = t->tool, .notes = stderr };
	struct bpf_map *counters;
	char err[512];

	if (configure) {
		ops.configure = tracer_configure;
		ops.arg = &cfg;
	}
	if (tier_plan_load_attach(&t->plan, skel, &ops, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", t->tool, err);
		return 1;
	}
	/* the object may have been reopened: ask the skeleton, not the caller */
	counters = bpf_object__find_map_by_name(*skel->obj, "netseg_counters");
	if (counters)
		t->counters_fd = bpf_map__fd(counters);
	t->start_mono_ns = clock_mono_ns();
	return tracer_ring(t, *skel->obj, fn, ctx, rb);
}

int tracer_load_attach(struct tracer *t, struct bpf_object_skeleton *skel, struct bpf_object *obj,
		       int (*fn)(void *ctx, void *data, size_t size), void *ctx,
		       struct ring_buffer **rb)
{
	/* `obj` is *skel->obj; kept for the callers' sake */
	(void)obj;
	return tracer_load_attach_cfg(t, skel, NULL, NULL, fn, ctx, rb);
}

int tracer_tiers_json(const struct tier_plan *plan, char *buf, size_t len)
{
	size_t off = 0;

#define PUT(...) (off += snprintf(off < len ? buf + off : NULL, off < len ? len - off : 0, __VA_ARGS__))
	PUT("{");
	for (int s = 0; s < plan->tool->n_stages; s++) {
		const struct tier_stage *st = &plan->tool->stages[s];
		const struct tier_choice *c = &plan->stage[s];
		bool first = true;

		PUT("%s\"%s\":{\"tier\":\"%s\",\"hooks\":[", s ? "," : "", st->name,
		    tier_name(c->tier));
		for (int i = 0; i < TIER_MAX_HOOKS && st->hooks[i].tier; i++) {
			if (st->hooks[i].tier != c->tier || !c->hook_ok[i])
				continue;
			PUT("%s{\"target\":\"%s\",\"prog\":\"%s\"}", first ? "" : ",",
			    c->tier == NETSEG_TIER_KPROBE ? c->resolved[i] : st->hooks[i].target,
			    st->hooks[i].prog);
			first = false;
		}
		PUT("]}");
	}
	PUT("}");
#undef PUT
	return (int)off;
}

static void add_run_facts(struct tracer *t, struct out_rec *r)
{
	char tiers_text[512], tiers_json[4096];

	tier_plan_format(&t->plan, tiers_text, sizeof(tiers_text));
	tracer_tiers_json(&t->plan, tiers_json, sizeof(tiers_json));
	out_json(r, "tiers", tiers_json, tiers_text, 0);
	out_u64(r, "netns", NULL, t->ns.ino, 0);
}

void tracer_ready_begin(struct tracer *t, struct out_rec *r)
{
	out_begin(r, "ready");
	out_str(r, "kind", NULL, "READY", OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_str(r, "tool", NULL, t->tool, OUT_TEXT_BARE);
	out_str(r, "version", NULL, NETSEG_VERSION, OUT_TEXT_HIDE);
	out_u64(r, "pid", NULL, (uint64_t)getpid(), 0);
	out_wall(r, "wall_ns", NULL, clock_real_ns(), OUT_TEXT_HIDE);
	add_run_facts(t, r);
	if (t->metrics)
		out_str(r, "metrics", NULL, metrics_address(t->metrics), 0);
}

static int tracer_metrics_serve(struct tracer *t)
{
	char err[512];

	if (!t->metrics)
		return 0;
	metrics_build_info(t->metrics, NETSEG_VERSION);
	metrics_tiers(t->metrics, &t->plan);
	if (metrics_serve(t->metrics, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", t->tool, err);
		return 1;
	}
	return 0;
}

int tracer_ready_emit(struct tracer *t, const struct out_rec *r)
{
	char line[8192];
	FILE *f;

	/* serving before the ready line: whoever waits for it can scrape */
	if (tracer_metrics_serve(t))
		return 1;
	out_emit(r);
	out_flush();
	if (!t->opts->ready_file)
		return 0;
	f = fopen(t->opts->ready_file, "we");
	if (!f) {
		fprintf(stderr, "%s: cannot write --ready-file '%s': %s\n", t->tool,
			t->opts->ready_file, strerror(errno));
		return 1;
	}
	out_render(r, true, line, sizeof(line));
	fprintf(f, "%s\n", line);
	fclose(f);
	return 0;
}

struct loop_ctx {
	struct tracer *t;
	int (*tick)(void *);
	void *ctx;
	uint64_t last_verbose_ns;
};

static int tracer_tick(void *arg)
{
	struct loop_ctx *lc = arg;

	/* A step of realtime woke us (timerfd): measured there. Otherwise
	 * re-measure anyway: NTP slews it, and a measure is a few vDSO reads.
	 * Every measure is kept with its time (clock.h), so records stamped
	 * before it keep the offset they were stamped under. */
	if (!clock_step_check(lc->t->clock))
		clock_refresh(lc->t->clock, 0);
	if (lc->t->opts->verbose && clock_mono_ns() - lc->last_verbose_ns >= 1000000000ull) {
		lc->last_verbose_ns = clock_mono_ns();
		uint64_t c[NETSEG_CNT_MAX];

		tracer_counters(lc->t, c, NULL, 0);
		fprintf(stderr,
			"%s: records=%llu lost=%llu parse_rejects=%llu ipv6=%llu map_full=%llu started=%llu completed=%llu filtered=%llu\n",
			lc->t->tool, (unsigned long long)lc->t->records,
			(unsigned long long)c[NETSEG_CNT_RB_LOST],
			(unsigned long long)c[NETSEG_CNT_PARSE_REJECT],
			(unsigned long long)c[NETSEG_CNT_IPV6], (unsigned long long)c[NETSEG_CNT_MAP_FULL],
			(unsigned long long)c[NETSEG_CNT_SPAN_STARTED],
			(unsigned long long)c[NETSEG_CNT_SPAN_COMPLETED],
			(unsigned long long)c[NETSEG_CNT_FILTERED]);
	}
	return lc->tick ? lc->tick(lc->ctx) : 0;
}

enum loop_end tracer_loop(struct tracer *t, struct ring_buffer *rb, int (*tick)(void *),
			  void *ctx, unsigned tick_ms)
{
	struct loop_ctx lc = { t, tick, ctx, 0 };
	enum loop_end how;
	int err;

	how = loop_run(rb, t->opts->duration_s, tracer_tick, &lc, tick_ms,
		       clock_step_fd(t->clock), &err);
	/* a reader that left (`| head`) is how such a run ends: nothing to say */
	if (how == LOOP_END_ERROR && err != -EPIPE)
		fprintf(stderr, "%s: %s failed: %s\n", t->tool,
			out_error() ? "writing records" : "polling the ring buffer", strerror(-err));
	return how;
}

/* Programs already running when their link went away still finish, and
 * may still submit: they run at most microseconds, so a few short waits
 * in which nothing new arrived mean the ring buffer is drained. */
#define TRACER_SETTLE_US 2000
#define TRACER_SETTLE_QUIET 3

void tracer_stop(struct tracer *t, struct ring_buffer *rb)
{
	int quiet = 0;

	tier_plan_detach(&t->plan);
	if (!rb)
		return;
	loop_drain_begin();
	for (int rounds = 0; quiet < TRACER_SETTLE_QUIET && rounds < 1000; rounds++) {
		int n = ring_buffer__consume(rb);

		if (n < 0)
			break;
		quiet = n ? 0 : quiet + 1;
		if (quiet < TRACER_SETTLE_QUIET)
			usleep(TRACER_SETTLE_US);
	}
	out_flush();
}

int tracer_counters(struct tracer *t, uint64_t *out, uint64_t *per_cpu_lost, int max_cpus)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	memset(out, 0, sizeof(uint64_t) * NETSEG_CNT_MAX);
	if (t->counters_fd < 0 || ncpu <= 0)
		return -ENOENT;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 k = 0; k < NETSEG_CNT_MAX; k++) {
		if (bpf_map_lookup_elem(t->counters_fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++) {
			out[k] += vals[c];
			if (k == NETSEG_CNT_RB_LOST && per_cpu_lost && c < max_cpus)
				per_cpu_lost[c] = vals[c];
		}
	}
	free(vals);
	return 0;
}

void tracer_summary_fields(struct tracer *t, struct out_rec *r, enum loop_end how)
{
	uint64_t cnt[NETSEG_CNT_MAX], lost_cpu[256] = {};
	int ncpu = libbpf_num_possible_cpus();
	char buf[4096];
	size_t off = 0;

	tracer_counters(t, cnt, lost_cpu, 256);
	out_str(r, "ended_by", "ended-by", how == LOOP_END_SIGNAL ? (loop_stop_signal() == 15 ?
				"SIGTERM" : "SIGINT") : loop_end_name(how), 0);
	out_ns(r, "run_ns", "run_us", clock_mono_ns() - t->start_mono_ns, 0);
	out_u64(r, "records", NULL, t->records, 0);
	out_u64(r, "lost", NULL, cnt[NETSEG_CNT_RB_LOST], 0);
	off += snprintf(buf, sizeof(buf), "[");
	for (int c = 0; c < ncpu && c < 256 && off < sizeof(buf); c++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%llu", c ? "," : "",
				(unsigned long long)lost_cpu[c]);
	if (off < sizeof(buf))
		snprintf(buf + off, sizeof(buf) - off, "]");
	out_json(r, "lost_per_cpu", buf, buf, OUT_TEXT_HIDE);
	out_u64(r, "parse_rejects", NULL, cnt[NETSEG_CNT_PARSE_REJECT], 0);
	out_u64(r, "ipv6_rejects", NULL, cnt[NETSEG_CNT_IPV6], 0);
	out_u64(r, "map_full", NULL, cnt[NETSEG_CNT_MAP_FULL], 0);
	out_u64(r, "filtered", NULL, cnt[NETSEG_CNT_FILTERED], 0);
	out_s64(r, "clock_drift_ns", NULL, t->clock ? t->clock->last_drift_ns : 0, OUT_TEXT_HIDE);
	out_u64(r, "clock_steps", NULL, t->clock ? t->clock->steps : 0, OUT_TEXT_HIDE);
	add_run_facts(t, r);
}

void tracer_end(struct tracer *t)
{
	tier_plan_detach(&t->plan);
	/* before the tool frees its object: a scrape reads its counters map */
	if (t->metrics) {
		metrics_set_default(NULL);
		metrics_close(t->metrics);
		t->metrics = NULL;
	}
}

void tracer_kernel_hist(struct tracer *t, const struct span_segtab *tab, int map_fd)
{
	t->hist_fd = map_fd;
	t->hist_tab = tab;
}

uint64_t tracer_wall(struct tracer *t, uint64_t mono_ns)
{
	return clock_mono_to_wall(t->clock, mono_ns);
}

void tracer_summary_emit(struct tracer *t, struct out_rec *r, const struct tracer_segment *segs,
			 int n_segs, enum loop_end how)
{
	size_t cap = 1024 + (size_t)n_segs * 4096, off = 0;
	char *json;
	FILE *fp = out_stream();

	/* the output is gone (reader left, disk full): nowhere to print it */
	if (out_error())
		return;
	json = malloc(cap);
	tracer_summary_fields(t, r, how);
	if (json && n_segs) {
		off += snprintf(json, cap, "{");
		for (int i = 0; i < n_segs && off < cap; i++) {
			off += snprintf(json + off, cap - off, "%s\"%s\":", i ? "," : "", segs[i].key);
			if (off < cap)
				off += stats_to_json(segs[i].st, json + off, cap - off);
		}
		if (off < cap)
			snprintf(json + off, cap - off, "}");
		out_json(r, "segments", json, NULL, OUT_TEXT_HIDE);
	}
	out_emit(r);
	free(json);
	if (!out_is_json() && n_segs) {
		fprintf(fp, "\n");
		stats_print_header(fp);
		for (int i = 0; i < n_segs; i++)
			stats_print_row(fp, segs[i].label, segs[i].st);
		for (int i = 0; i < n_segs; i++) {
			if (!segs[i].st->count)
				continue;
			fprintf(fp, "\n%s:\n", segs[i].label);
			stats_print_log2_hist(fp, segs[i].st->log2_us, STATS_LOG2_SLOTS, 1, "usecs");
		}
	}
	out_flush();
}

uint64_t tracer_map_count(int map_fd, size_t key_size)
{
	unsigned char key[64], next[64];
	uint64_t n = 0;
	void *prev = NULL;

	if (key_size > sizeof(key))
		return 0;
	while (bpf_map_get_next_key(map_fd, prev, next) == 0 && n < 10000000) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}
