// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "metrics.h"
#include "span_hist.h"

_Static_assert(SPAN_SEG_PREV == NETSEG_HIST_PREV && SPAN_SEG_LAST == NETSEG_HIST_LAST,
	       "the kernel reads the segment table's ends as they are");

bool span_hist_quiet(const struct cli_common *opts)
{
	return opts->quiet && opts->metrics;
}

static bool end_ok(int v, int special)
{
	return v == special || (v >= 0 && v < NETSEG_SPAN_MAX_STAGES);
}

int span_hist_cfg_make(struct netseg_hist_cfg *cfg, const struct span_segment *def, int n)
{
	memset(cfg, 0, sizeof(*cfg));
	if (n < 0 || n > NETSEG_HIST_MAX_SEGS)
		return -E2BIG;
	for (int i = 0; i < n; i++) {
		if (!end_ok(def[i].from, SPAN_SEG_PREV) || !end_ok(def[i].to, SPAN_SEG_LAST))
			return -EINVAL;
		cfg->seg[i].from = (__s8)def[i].from;
		cfg->seg[i].to = (__s8)def[i].to;
	}
	cfg->n = (__u32)n;
	return 0;
}

int span_hist_setup(bool *rodata_quiet, struct netseg_hist_cfg *rodata_cfg,
		    const struct span_segtab *t, const struct cli_common *opts)
{
	int rc;

	*rodata_quiet = span_hist_quiet(opts);
	rc = span_hist_cfg_make(rodata_cfg, t->def, t->n);
	if (rc)
		fprintf(stderr, "%s: %d segments do not fit the kernel's histograms (at most %d, stages below %d)\n",
			cli_tool(), t->n, NETSEG_HIST_MAX_SEGS, NETSEG_SPAN_MAX_STAGES);
	return rc;
}

int span_hist_read_seg(int map_fd, int seg, struct netseg_hist_seg *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct netseg_hist_seg *v;
	__u32 key = (__u32)seg;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	if (seg < 0 || seg >= NETSEG_HIST_MAX_SEGS)
		return -EINVAL;
	/* a per-CPU value comes as one copy per possible CPU, each rounded
	 * up to 8 bytes (the struct is u64s already) */
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &key, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	for (int c = 0; c < ncpu; c++) {
		for (int b = 0; b < NETSEG_HIST_BUCKETS; b++)
			out->counts[b] += v[c].counts[b];
		out->sum_ns += v[c].sum_ns;
		out->negative += v[c].negative;
	}
	free(v);
	return 0;
}

int span_hist_read(int map_fd, int seg, uint64_t *counts, uint64_t *sum_ns)
{
	struct netseg_hist_seg h;
	int rc = span_hist_read_seg(map_fd, seg, &h);

	if (rc)
		return rc;
	for (int b = 0; b < NETSEG_HIST_BUCKETS; b++)
		counts[b] = h.counts[b];
	*sum_ns = h.sum_ns;
	return 0;
}

int span_hist_negative(int map_fd, int seg, uint64_t *negative)
{
	struct netseg_hist_seg h;
	int rc = span_hist_read_seg(map_fd, seg, &h);

	if (rc)
		return rc;
	*negative = h.negative;
	return 0;
}

void span_hist_summary(struct out_rec *r, int map_fd, const struct span_segtab *t)
{
	char json[1024], text[1024];
	size_t jo = 0, to = 0;

	jo += snprintf(json, sizeof(json), "{");
	for (int i = 0; i < t->n && i < NETSEG_HIST_MAX_SEGS; i++) {
		struct netseg_hist_seg h;
		uint64_t n = 0;

		if (span_hist_read_seg(map_fd, i, &h))
			continue;
		for (int b = 0; b < NETSEG_HIST_BUCKETS; b++)
			n += h.counts[b];
		if (jo < sizeof(json))
			jo += snprintf(json + jo, sizeof(json) - jo,
				       "%s\"%s\":{\"count\":%llu,\"sum_ns\":%llu,\"negative\":%llu}",
				       jo > 1 ? "," : "", t->def[i].key, (unsigned long long)n,
				       (unsigned long long)h.sum_ns, (unsigned long long)h.negative);
		if (to < sizeof(text))
			to += snprintf(text + to, sizeof(text) - to, "%s%s n=%llu mean=%.3fus",
				       to ? ", " : "", t->def[i].key, (unsigned long long)n,
				       n ? (double)h.sum_ns / (double)n / 1e3 : 0.0);
	}
	if (jo < sizeof(json))
		snprintf(json + jo, sizeof(json) - jo, "}");
	if (!to)
		snprintf(text, sizeof(text), "none");
	out_json(r, "segments_kernel", json, text, 0);
}

void span_hist_publish(struct metrics *m, int map_fd, const struct span_segtab *t)
{
	uint64_t counts[NETSEG_HIST_BUCKETS], sum;

	for (int i = 0; i < t->n; i++) {
		if (t->metric[i] < 0 || span_hist_read(map_fd, i, counts, &sum))
			continue;
		metrics_hist_set(m, t->metric[i], counts, sum);
	}
}
