/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The user half of spans (bpf/netseg_span.bpf.h): the expiry sweep, the
 * accounting every tracer reports the same way, and segments declared once
 * (a segment is a pair of stages) from which statistics, record fields and
 * the summary all come.
 */
#ifndef NETSEG_SPAN_H
#define NETSEG_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "netseg.h"
#include "loop.h"
#include "output.h"
#include "stats.h"

struct tracer;

/* A span map: the value starts with struct netseg_span. */
struct span_map {
	int fd;
	size_t key_size;
	size_t value_size;
	/* the object's netseg_spans_open (its mapped .bss), counted down for
	 * each span the sweep ends; NULL: not kept, the kernel's gate stays open */
	int64_t *open;
};

typedef void (*span_expired_fn)(void *ctx, const void *key, const void *value);

struct bpf_map;

/* The span map of a loaded object (its fd, key and value sizes), and the
 * object's netseg_spans_open (&skel->bss->netseg_spans_open). */
struct span_map span_map_of(const struct bpf_map *map, int64_t *open);
/* The gate's count now, as "spans_open_gate" (JSON only): at the end of a
 * run it equals the spans in flight, unless LRU evicted some. */
void span_gate_field(struct out_rec *r, const struct span_map *m);

/*
 * Expire the spans whose start is more than timeout_ns before `now_ns`
 * (CLOCK_MONOTONIC, read by the caller before the sweep): fn sees each one
 * exactly once, and only when this sweep's delete removed it, so a span
 * that completes or is replaced in the kernel meanwhile is never reported
 * twice. Spans started after `now_ns` are left alone (signed age). Returns
 * how many expired, or a negative errno when memory ran out.
 */
long span_sweep(const struct span_map *m, uint64_t now_ns, uint64_t timeout_ns, span_expired_fn fn,
		void *ctx);

/* span_sweep at this moment, for a loop tick: 0, or a negative errno.
 * The expired spans also count as netseg_echoes_total{state="expired"}
 * when --metrics is on. */
int span_expire(const struct span_map *m, uint64_t timeout_ns, span_expired_fn fn, void *ctx);

/* Entries in the map now. */
uint64_t span_in_flight(const struct span_map *m);

/* What happened to the spans of a run. evicted is what the LRU map dropped
 * silently: started and not otherwise accounted for. */
struct span_acct {
	uint64_t started, completed, filtered, replaced, expired, in_flight, evicted;
	uint64_t duplicate, orphan;
};

/* cnt: the summed netseg_counters; expired: counted by the tool's sweep. */
void span_acct_make(struct span_acct *a, const uint64_t *cnt, uint64_t expired,
		    uint64_t in_flight);
/* Spans the tool ended its own way (a chain whose packet was dropped):
 * accounted, so not taken for LRU evictions. */
void span_acct_ended(struct span_acct *a, uint64_t n);
/* The standard fields, "<noun>_started" ... in JSON, "started" ... in text. */
void span_acct_fields(struct out_rec *r, const struct span_acct *a, const char *noun);

/* ---- segments ---------------------------------------------------------- */

enum span_seg_text {
	SPAN_SEG_TEXT_LINE,   /* an indented line "Label: 12.345 us" (label ends with ':') */
	SPAN_SEG_TEXT_INLINE, /* "Label=12.345" in microseconds, on the record's line */
	SPAN_SEG_TEXT_NONE,   /* JSON only: the tool writes its own text */
};

/* Stage indexes resolved per span: a tool whose spans skip stages (not
 * hooked on this kernel, not on this span's path) measures each stage from
 * the one stamped before it, and the total up to the last one stamped. */
#define SPAN_SEG_PREV (-1)   /* `from`: the last stamped stage before `to` */
#define SPAN_SEG_LAST (-2)   /* `to`: the last stamped stage */

struct span_segment {
	const char *key;      /* JSON: "<key>_ns"; summary: "<key>" */
	const char *label;    /* text */
	int from, to;         /* stage indexes: to - from */
};

#define SPAN_MAX_SEGMENTS 12

struct span_segtab {
	const struct span_segment *def;
	int n;
	enum span_seg_text text;
	int n_stages;         /* stamps per span: set it to use SPAN_SEG_LAST */
	struct stats st[SPAN_MAX_SEGMENTS];
	uint64_t negative[SPAN_MAX_SEGMENTS]; /* `to` stamped before `from` */
	int metric[SPAN_MAX_SEGMENTS];        /* its histogram in metrics_default(); -1: none */
};

void span_segtab_init(struct span_segtab *t, const struct span_segment *def, int n,
		      enum span_seg_text text);
void span_segtab_free(struct span_segtab *t);
/* Add one complete span: every segment into its statistics (and into its
 * --metrics histogram, registered by span_segtab_init under the segment's
 * key) and, when r is not NULL, into the record (signed ns in JSON; a
 * segment whose `to` came before its `from` counts 0 in the statistics and
 * is counted apart). A segment with an unstamped end is left out of all. */
void span_segtab_add(struct span_segtab *t, const struct netseg_stamp *st, struct out_rec *r);
/* The summary: the segments' statistics, and their `negative` counts. */
void span_segtab_summary(struct span_segtab *t, struct tracer *tr, struct out_rec *r,
			 enum loop_end how);

#endif /* NETSEG_SPAN_H */
