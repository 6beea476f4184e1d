/* analyze: every out/ippantime_*.csv -> REPORT.md (the original's layout, then ours:
 * verdicts, jitter hotspots, plots) and optionally REPORT.json. */
#include "cmds.h"
#include "common.h"
#include "stats.h"
#include "reportdata.h"
#include "svg.h"

#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
	"usage: ippantime analyze [--out-dir DIR] [--json] [CSV...]\n"
	"\n"
	"Read DIR/ippantime_*.csv (or the CSV files given), keyed by their probe column, and write\n"
	"DIR/REPORT.md: per probe a table of nodes ranked worst first (|off p99|, jitter p99,\n"
	"rtt p99) with the bound of each offset (rtt/2_us p50: a mid-point is off by at most half\n"
	"its interval), every pair of probes compared round by round (median of the per-round\n"
	"differences), a verdict per node that never calls an offset within its bound clock\n"
	"drift, jitter hotspots and SVG plots (DIR/offset_<probe>.svg, DIR/heatmap_off_p99.svg).\n"
	"Kernel offsets (k_offset_us) are shown and preferred where present. Old CSVs (13 or 14\n"
	"columns, classic mid-point) are read too, and the report says they carry its bias. A node\n"
	"without a valid sample is listed with '—'. DIR defaults to ./out.\n"
	"  --json   also write DIR/REPORT.json and print it on stdout\n"
	"\n"
	"examples:\n"
	"  ippantime analyze --out-dir out\n"
	"  ippantime analyze --out-dir /tmp/r --json /tmp/a.csv /tmp/b.csv | jq .verdicts\n";

/* Verdict thresholds (the seed's interpretation table made concrete). */
#define BIG_OFFSET_US 10000   /* "large offset (>10ms)" */
#define HIGH_JITTER_US 2000   /* jitter p95 above this is "high" (p95: one CPU stall on the
                                * probe must not turn a stable clock into a noisy one) */
#define DISAGREE_US 2000      /* probes whose paired per-round offsets differ by more disagree */

struct report {
	struct an a;
	const char *dir;
	char **nodes; /* sorted union of node names */
	size_t nnodes;
	struct strbuf md;
	json_t *jprobes, *jcross, *jverd, *jhot, *jplots;
	int rc;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Worst first: (|off p99|, jitter p99, rtt p99) descending; a node without data counts as
 * the worst (as the original ranked it); ties keep first-seen order. */
static int cmp_rank(const void *x, const void *y)
{
	const struct nstat *a = *(struct nstat *const *)x, *b = *(struct nstat *const *)y;
	long double ka[3], kb[3];
	ka[0] = a->have ? (long double)llabs(a->p99) : 1e30L;
	kb[0] = b->have ? (long double)llabs(b->p99) : 1e30L;
	ka[1] = a->have ? (long double)a->j99 : 1e30L;
	kb[1] = b->have ? (long double)b->j99 : 1e30L;
	ka[2] = a->have_r ? (long double)a->r99 : 1e20L;
	kb[2] = b->have_r ? (long double)b->r99 : 1e20L;
	for (int i = 0; i < 3; i++)
		if (ka[i] != kb[i])
			return ka[i] < kb[i] ? 1 : -1;
	return a < b ? -1 : a > b;
}

static void cell_i64(struct strbuf *b, int have, int64_t v)
{
	if (have)
		sb_printf(b, " %" PRId64 " |", v);
	else
		sb_puts(b, " — |");
}

static json_t *jint(int have, int64_t v)
{
	return have ? json_integer(v) : json_null();
}

static struct nstat *find_node(struct pstat *p, const char *node)
{
	for (size_t i = 0; i < p->nn; i++)
		if (!strcmp(p->n[i].node, node))
			return &p->n[i];
	return NULL;
}

/* Sorted union of node names over all probes. */
static char **all_nodes(struct an *a, size_t *count)
{
	char **v = NULL;
	size_t n = 0;
	for (size_t i = 0; i < a->np; i++)
		for (size_t j = 0; j < a->p[i].nn; j++) {
			size_t k;
			for (k = 0; k < n; k++)
				if (!strcmp(v[k], a->p[i].n[j].node))
					break;
			if (k == n) {
				v = rd_grow(v, n, sizeof(*v));
				v[n++] = a->p[i].n[j].node;
			}
		}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*count = n;
	return v;
}

static int cmp_probe(const void *x, const void *y)
{
	return strcmp(((const struct pstat *)x)->probe, ((const struct pstat *)y)->probe);
}

static char *slug(const char *s)
{
	char *r = xstrdup(s);
	for (char *q = r; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
		      *q == '-' || *q == '_' || *q == '.'))
			*q = '_';
	return r;
}

/* Median of x's minus y's offsets over the rounds both have; returns the number of rounds. */
static size_t paired_median(struct nstat *x, struct nstat *y, int64_t *med)
{
	int64_t *d = NULL;
	size_t n = x && y ? rd_pair(x, y, &d) : 0;
	if (n)
		*med = ipt_trunc(ipt_pct_i64(d, n, 50));
	free(d);
	return n;
}

static void md_method(struct report *R)
{
	sb_puts(&R->md, "\n## Method\n");
	sb_puts(&R->md, "offset_us = node clock - the mid-point of an interval of the probe's clock that "
			"contains the node's read, so |error| <= RTT/2 of that interval (`rtt/2_us p50`: the "
			"median of that bound). Honest mid-point: [request handed to the socket, first reply "
			"byte]. Kernel offsets (`k_off_us`, socket timestamps), where present, are preferred "
			"in the verdicts.\n");
	for (size_t i = 0, first = 1; i < R->a.np; i++) {
		struct pstat *p = &R->a.p[i];
		if (!p->classic)
			continue;
		sb_printf(&R->md, "%s`%s` %ld of %ld", first ? "\nRows on the classic mid-point of [t0 "
				  "before connect, t1 after the body] (midpoint column classic, or an old CSV "
				  "without it): " : ", ", p->probe, p->classic, p->ok);
		first = 0;
	}
	for (size_t i = 0; i < R->a.np; i++)
		if (R->a.p[i].classic) {
			sb_puts(&R->md, " ok rows. Their offsets carry the +RTT/2 bias (half the handshake on "
					"fresh connections, half of any hold of the body on reused ones).\n");
			break;
		}
}

static void md_header(struct report *R)
{
	sb_puts(&R->md, "# IPPAN Time Mesh Report\n");
	sb_printf(&R->md, "Inputs: %zu CSV files\n", R->a.ninputs);
	sb_puts(&R->md, "\n## Probes included\n");
	for (size_t i = 0; i < R->a.np; i++)
		sb_printf(&R->md, "- `%s`\n", R->a.p[i].probe);
	md_method(R);
}

static json_t *node_json(const struct nstat *n)
{
	json_t *o = json_object();
	json_object_set_new(o, "node", json_string(n->node));
	json_object_set_new(o, "ok", json_integer(n->ok));
	json_object_set_new(o, "total", json_integer(n->total));
	json_object_set_new(o, "off_us_p50", jint(n->have, n->p50));
	json_object_set_new(o, "off_us_p95", jint(n->have, n->p95));
	json_object_set_new(o, "off_us_p99", jint(n->have, n->p99));
	json_object_set_new(o, "half_rtt_us_p50", n->have && n->have_half ? json_real(n->half50) : json_null());
	json_object_set_new(o, "k_off_us_p50", jint(n->nkoff > 0, n->k50));
	json_object_set_new(o, "k_samples", json_integer((json_int_t)n->nkoff));
	json_object_set_new(o, "classic_rows", json_integer(n->classic));
	json_object_set_new(o, "jitter_us_p95", jint(n->have, n->j95));
	json_object_set_new(o, "jitter_us_p99", jint(n->have, n->j99));
	json_object_set_new(o, "rtt_ms_p99", n->have && n->have_r ? json_real(n->r99) : json_null());
	json_object_set_new(o, "backwards", json_integer(n->back));
	return o;
}

static void md_node_row(struct report *R, const struct pstat *p, const struct nstat *n)
{
	struct strbuf *b = &R->md;
	sb_printf(b, "| %s | %ld/%ld |", n->node, n->ok, n->total);
	cell_i64(b, n->have, n->p50);
	cell_i64(b, n->have, n->p95);
	cell_i64(b, n->have, n->p99);
	cell_i64(b, n->have && n->have_half, ipt_trunc(n->half50));
	if (p->any_k)
		cell_i64(b, n->nkoff > 0, n->k50);
	cell_i64(b, n->have, n->j95);
	cell_i64(b, n->have, n->j99);
	if (n->have && n->have_r)
		sb_printf(b, " %.3f |", n->r99);
	else
		sb_puts(b, " — |");
	sb_printf(b, " %ld |\n", n->back);
}

static void md_probe(struct report *R, struct pstat *p)
{
	struct nstat **rk = xcalloc(p->nn, sizeof(*rk));
	json_t *jp = json_object(), *jn = json_array();
	for (size_t j = 0; j < p->nn; j++)
		rk[j] = &p->n[j];
	qsort(rk, p->nn, sizeof(*rk), cmp_rank);
	sb_printf(&R->md, "\n## Probe: `%s`\n", p->probe);
	sb_printf(&R->md, "| node | ok/total | off_us p50 | off_us p95 | off_us p99 | rtt/2_us p50 |%s "
			  "jitter_us p95 | jitter_us p99 | rtt_ms p99 | backwards |\n",
		  p->any_k ? " k_off_us p50 |" : "");
	sb_printf(&R->md, "|---|---:|---:|---:|---:|---:|%s---:|---:|---:|---:|\n", p->any_k ? "---:|" : "");
	for (size_t j = 0; j < p->nn; j++) {
		md_node_row(R, p, rk[j]);
		json_array_append_new(jn, node_json(rk[j]));
	}
	json_object_set_new(jp, "probe", json_string(p->probe));
	json_object_set_new(jp, "nodes", jn);
	json_array_append_new(R->jprobes, jp);
	free(rk);
}

static void md_cross(struct report *R, struct pstat *A, struct pstat *B)
{
	json_t *jc = json_object(), *jn = json_array();
	sb_printf(&R->md, "\n## Cross-probe consistency (%s vs %s)\n", A->probe, B->probe);
	sb_printf(&R->md, "| node | %s off_p99 | %s off_p99 | paired rounds | delta_us p50 (%s - %s) |\n",
		  A->probe, B->probe, A->probe, B->probe);
	sb_puts(&R->md, "|---|---:|---:|---:|---:|\n");
	for (size_t j = 0; j < R->nnodes; j++) {
		struct nstat *x = find_node(A, R->nodes[j]), *y = find_node(B, R->nodes[j]);
		int hx = x && x->have, hy = y && y->have;
		int64_t med = 0;
		size_t nr = paired_median(x, y, &med);
		json_t *o = json_object();
		sb_printf(&R->md, "| %s |", R->nodes[j]);
		cell_i64(&R->md, hx, hx ? x->p99 : 0);
		cell_i64(&R->md, hy, hy ? y->p99 : 0);
		sb_printf(&R->md, " %zu |", nr);
		cell_i64(&R->md, nr > 0, med);
		sb_puts(&R->md, "\n");
		json_object_set_new(o, "node", json_string(R->nodes[j]));
		json_object_set_new(o, "a_off_p99", jint(hx, hx ? x->p99 : 0));
		json_object_set_new(o, "b_off_p99", jint(hy, hy ? y->p99 : 0));
		json_object_set_new(o, "paired_rounds", json_integer((json_int_t)nr));
		json_object_set_new(o, "delta_us_p50", jint(nr > 0, med));
		json_array_append_new(jn, o);
	}
	json_object_set_new(jc, "a", json_string(A->probe));
	json_object_set_new(jc, "b", json_string(B->probe));
	json_object_set_new(jc, "nodes", jn);
	json_array_append_new(R->jcross, jc);
}

/* What the verdict of one node rests on, over all probes. */
struct vsum {
	int any;
	long back;
	int64_t maxjit;
	/* the probe whose offset stands out most beyond its bound */
	const char *probe, *source;
	int64_t off;
	double bound; /* us; < 0: unknown */
	/* the pair of probes whose paired rounds differ most */
	const char *pa, *pb;
	int64_t delta;
	size_t rounds;
};

/* A probe's offset of a node and its bound: the kernel's when it has them. */
static void node_offset(const struct nstat *n, int64_t *off, double *bound, const char **source)
{
	if (n->nkoff) {
		*off = n->k50;
		*bound = n->have_khalf ? n->khalf50 : n->have_half ? n->half50 : -1;
		*source = "kernel";
		return;
	}
	*off = n->p50;
	*bound = n->have_half ? n->half50 : -1;
	*source = !n->classic ? "honest" : n->classic == (long)n->noff ? "classic" : "honest+classic";
}

static double beyond(int64_t off, double bound)
{
	return (double)llabs(off) - (bound < 0 ? 0 : bound);
}

static void vsum_probe(struct vsum *v, const struct pstat *p, const struct nstat *n)
{
	int64_t off;
	double bound;
	const char *src;
	v->back += n->back;
	if (!n->have && !n->nkoff)
		return;
	if (n->have && n->j95 > v->maxjit)
		v->maxjit = n->j95;
	node_offset(n, &off, &bound, &src);
	if (!v->any || beyond(off, bound) > beyond(v->off, v->bound)) {
		v->probe = p->probe;
		v->source = src;
		v->off = off;
		v->bound = bound;
	}
	v->any = 1;
}

static void vsum_pairs(struct report *R, struct vsum *v, const char *node)
{
	for (size_t i = 0; i < R->a.np; i++)
		for (size_t k = i + 1; k < R->a.np; k++) {
			int64_t med = 0;
			size_t nr = paired_median(find_node(&R->a.p[i], node), find_node(&R->a.p[k], node), &med);
			if (nr && (!v->rounds || llabs(med) > llabs(v->delta))) {
				v->pa = R->a.p[i].probe;
				v->pb = R->a.p[k].probe;
				v->delta = med;
				v->rounds = nr;
			}
		}
}

static void verdict_add(struct strbuf *v, json_t *jv, const char *s)
{
	sb_printf(v, "%s%s", v->len ? "; " : "", s);
	json_array_append_new(jv, json_string(s));
}

static void verdict_text(const struct vsum *s, struct strbuf *v, json_t *jv)
{
	int64_t a = llabs(s->off);
	int big = a > BIG_OFFSET_US, within = s->bound >= 0 && (double)a <= s->bound;
	/* "low jitter" = too small to explain the offset: below the threshold, or below a quarter
	 * of the offset (a noisy path cannot fake a steady 30 ms) */
	int lowjit = s->maxjit <= HIGH_JITTER_US || s->maxjit * 4 < a;
	if (!s->any) {
		verdict_add(v, jv, "no valid samples: unreachable or field missing");
		return;
	}
	if (s->back > 0)
		verdict_add(v, jv, "time-service bug: clock went backwards");
	if (big && within)
		verdict_add(v, jv, "offset within the ±RTT/2 bound: path asymmetry can explain it, not called clock drift");
	else if (big && lowjit)
		verdict_add(v, jv, "clock drift: tune chrony");
	else if (big)
		verdict_add(v, jv, "large offset with high jitter");
	else if (s->maxjit > HIGH_JITTER_US)
		verdict_add(v, jv, "network congestion or node overload");
	if (s->rounds && llabs(s->delta) > DISAGREE_US)
		verdict_add(v, jv, "probes disagree: path asymmetry or drift during the test");
	if (!v->len)
		verdict_add(v, jv, "ok");
}

static void evidence_text(const struct vsum *s, struct strbuf *e)
{
	if (s->any) {
		sb_printf(e, "%s p50 %" PRId64 " at `%s` (%s)", strcmp(s->source, "kernel") ? "off_us" : "k_off_us",
			  s->off, s->probe, s->source);
		if (s->bound < 0)
			sb_puts(e, ", ±RTT/2 bound unknown");
		else
			sb_printf(e, ", %s the ±RTT/2 bound (%.2f ms)",
				  (double)llabs(s->off) <= s->bound ? "within" : "beyond", s->bound / 1000.0);
		sb_printf(e, "; max jitter_us p95 %" PRId64, s->maxjit);
		if (s->rounds)
			sb_printf(e, "; paired delta_us p50 %" PRId64 " (%s - %s, %zu round%s)", s->delta, s->pa,
				  s->pb, s->rounds, s->rounds == 1 ? "" : "s");
	}
	if (s->back)
		sb_printf(e, "%sbackwards %ld", e->len ? "; " : "", s->back);
}

static json_t *vsum_json(const struct vsum *s)
{
	json_t *o = json_object();
	if (!s->any)
		return o;
	json_object_set_new(o, "probe", json_string(s->probe));
	json_object_set_new(o, "source", json_string(s->source));
	json_object_set_new(o, "off_us_p50", json_integer(s->off));
	json_object_set_new(o, "bound_us", s->bound >= 0 ? json_real(s->bound) : json_null());
	json_object_set_new(o, "within_bound", json_boolean(s->bound >= 0 && (double)llabs(s->off) <= s->bound));
	json_object_set_new(o, "max_jitter_us_p95", json_integer(s->maxjit));
	if (s->rounds) {
		json_object_set_new(o, "paired_delta_us_p50", json_integer(s->delta));
		json_object_set_new(o, "paired_rounds", json_integer((json_int_t)s->rounds));
	}
	return o;
}

static void md_verdict(struct report *R, const char *node)
{
	struct vsum s = {0};
	struct strbuf v = {0}, e = {0};
	json_t *o = json_object(), *jv = json_array();
	for (size_t i = 0; i < R->a.np; i++) {
		struct nstat *n = find_node(&R->a.p[i], node);
		if (n)
			vsum_probe(&s, &R->a.p[i], n);
	}
	vsum_pairs(R, &s, node);
	verdict_text(&s, &v, jv);
	evidence_text(&s, &e);
	sb_printf(&R->md, "| %s | %s | %s |\n", node, v.p, e.len ? e.p : "—");
	json_object_set_new(o, "node", json_string(node));
	json_object_set_new(o, "verdicts", jv);
	json_object_set_new(o, "evidence", vsum_json(&s));
	json_array_append_new(R->jverd, o);
	sb_free(&v);
	sb_free(&e);
}

static void md_verdicts(struct report *R)
{
	sb_puts(&R->md, "\n## Verdicts\n");
	sb_printf(&R->md, "Each offset is judged against its bound: a mid-point is off by at most half its "
			  "interval (|error| <= RTT/2), so an offset within that bound is never called clock "
			  "drift. Thresholds: large offset |off_us p50| > %d and beyond the bound; high jitter "
			  "jitter_us p95 > %d (for a large offset: also > |off_us p50|/4); probes disagree when "
			  "the median of their per-round differences exceeds %d. The offset shown is the probe's "
			  "that stands out most beyond its bound (kernel offsets where present).\n\n",
		  BIG_OFFSET_US, HIGH_JITTER_US, DISAGREE_US);
	sb_puts(&R->md, "| node | verdict | evidence |\n|---|---|---|\n");
	for (size_t j = 0; j < R->nnodes; j++)
		md_verdict(R, R->nodes[j]);
}

struct hot {
	struct pstat *p;
	struct nstat *n;
};

static int cmp_hot(const void *x, const void *y)
{
	const struct hot *a = x, *b = y;
	if (a->n->j99 != b->n->j99)
		return a->n->j99 < b->n->j99 ? 1 : -1;
	return strcmp(a->n->node, b->n->node);
}

static void md_hotspots(struct report *R)
{
	struct hot *hot = NULL;
	size_t nh = 0;
	for (size_t i = 0; i < R->a.np; i++)
		for (size_t j = 0; j < R->a.p[i].nn; j++)
			if (R->a.p[i].n[j].have) {
				hot = rd_grow(hot, nh, sizeof(*hot));
				hot[nh].p = &R->a.p[i];
				hot[nh++].n = &R->a.p[i].n[j];
			}
	if (nh)
		qsort(hot, nh, sizeof(*hot), cmp_hot);
	sb_puts(&R->md, "\n## Jitter hotspots (top 20 by jitter_us p99)\n");
	sb_puts(&R->md, "| probe | node | jitter_us p95 | jitter_us p99 | rtt_ms p99 |\n|---|---|---:|---:|---:|\n");
	for (size_t i = 0; i < nh && i < 20; i++) {
		json_t *o = json_object();
		sb_printf(&R->md, "| %s | %s | %" PRId64 " | %" PRId64 " |", hot[i].p->probe, hot[i].n->node,
			  hot[i].n->j95, hot[i].n->j99);
		if (hot[i].n->have_r)
			sb_printf(&R->md, " %.3f |\n", hot[i].n->r99);
		else
			sb_puts(&R->md, " — |\n");
		json_object_set_new(o, "probe", json_string(hot[i].p->probe));
		json_object_set_new(o, "node", json_string(hot[i].n->node));
		json_object_set_new(o, "jitter_us_p99", json_integer(hot[i].n->j99));
		json_array_append_new(R->jhot, o);
	}
	free(hot);
}

static void write_or_fail(struct report *R, const char *file, const char *s)
{
	char *path = xasprintf("%s/%s", R->dir, file);
	if (ipt_write_file(path, s, strlen(s))) {
		ipt_err("analyze: cannot write '%s': %s", path, strerror(errno));
		R->rc = IPT_EXIT_FAIL;
	}
	json_array_append_new(R->jplots, json_string(file));
	free(path);
}

static void plot_probe(struct report *R, struct pstat *p)
{
	struct svg_series *ss = xcalloc(p->nn, sizeof(*ss));
	char *s, *name = slug(p->probe), *title = xasprintf("offset_us over time, probe %s", p->probe);
	char *file = xasprintf("offset_%s.svg", name);
	for (size_t j = 0; j < p->nn; j++) {
		ss[j].name = p->n[j].node;
		ss[j].t = p->n[j].ts;
		ss[j].y = p->n[j].tso;
		ss[j].n = p->n[j].nts;
	}
	s = svg_offset_panels(title, ss, p->nn);
	write_or_fail(R, file, s);
	sb_printf(&R->md, "- ![offset over time, probe `%s`](%s)\n", p->probe, file);
	free(s);
	free(ss);
	free(name);
	free(title);
	free(file);
}

static void plot_heatmap(struct report *R)
{
	size_t np = R->a.np, nn = R->nnodes;
	int64_t *vals = xcalloc(nn * np, sizeof(*vals));
	unsigned char *have = xcalloc(nn * np, 1);
	const char **cols = xcalloc(np, sizeof(*cols));
	char *s;
	for (size_t i = 0; i < np; i++)
		cols[i] = R->a.p[i].probe;
	for (size_t j = 0; j < nn; j++)
		for (size_t i = 0; i < np; i++) {
			struct nstat *n = find_node(&R->a.p[i], R->nodes[j]);
			if (n && n->have) {
				vals[j * np + i] = n->p99;
				have[j * np + i] = 1;
			}
		}
	s = svg_heatmap("offset_us p99: node x probe", (const char *const *)R->nodes, nn, cols, np, vals, have);
	write_or_fail(R, "heatmap_off_p99.svg", s);
	sb_puts(&R->md, "- ![offset p99 heat map, node x probe](heatmap_off_p99.svg)\n");
	free(s);
	free(vals);
	free(have);
	free(cols);
}

/* One panel set per probe, one heat map for all. */
static void md_plots(struct report *R)
{
	sb_puts(&R->md, "\n## Plots\n");
	for (size_t i = 0; i < R->a.np; i++)
		plot_probe(R, &R->a.p[i]);
	if (R->a.np && R->nnodes)
		plot_heatmap(R);
}

static int write_json(struct report *R, json_t *jin)
{
	json_t *J = json_object();
	char *s, *jpath = xasprintf("%s/REPORT.json", R->dir);
	int rc = 0;
	json_object_set_new(J, "inputs", jin);
	json_object_set_new(J, "probes", R->jprobes);
	json_object_set_new(J, "cross_probe", R->jcross);
	json_object_set_new(J, "verdicts", R->jverd);
	json_object_set_new(J, "jitter_hotspots", R->jhot);
	json_object_set_new(J, "plots", R->jplots);
	R->jprobes = R->jcross = R->jverd = R->jhot = R->jplots = NULL;
	s = json_dumps(J, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (ipt_write_file(jpath, s, strlen(s))) {
		ipt_err("analyze: cannot write '%s': %s", jpath, strerror(errno));
		rc = IPT_EXIT_FAIL;
	}
	puts(s);
	free(s);
	free(jpath);
	json_decref(J);
	return rc;
}

static void compute_all(struct report *R)
{
	struct an *a = &R->a;
	if (a->np)
		qsort(a->p, a->np, sizeof(*a->p), cmp_probe);
	for (size_t i = 0; i < a->np; i++)
		for (size_t j = 0; j < a->p[i].nn; j++) {
			struct nstat *n = &a->p[i].n[j];
			rd_compute(n);
			for (size_t k = 0; k < n->nts; k++)
				n->ts[k] = (n->ts[k] - (double)a->p[i].tmin) / 1e9;
		}
	R->nodes = all_nodes(a, &R->nnodes);
}

static void build_report(struct report *R)
{
	md_header(R);
	for (size_t i = 0; i < R->a.np; i++)
		md_probe(R, &R->a.p[i]);
	for (size_t i = 0; i < R->a.np; i++)
		for (size_t k = i + 1; k < R->a.np; k++)
			md_cross(R, &R->a.p[i], &R->a.p[k]);
	md_verdicts(R);
	md_hotspots(R);
	md_plots(R);
}

/* The CSVs given, else DIR/ippantime_*.csv (sorted, as the original's sorted(glob())). */
static int find_inputs(struct report *R, int argc, char **argv, glob_t *g)
{
	char *pat;
	if (optind < argc) {
		R->a.ninputs = (size_t)(argc - optind);
		R->a.inputs = argv + optind;
		return 0;
	}
	pat = xasprintf("%s/ippantime_*.csv", R->dir);
	if (glob(pat, 0, NULL, g) != 0 || g->gl_pathc == 0) {
		ipt_err("analyze: no inputs matching %s", pat);
		free(pat);
		return -1;
	}
	free(pat);
	R->a.ninputs = g->gl_pathc;
	R->a.inputs = g->gl_pathv;
	return 0;
}

static void report_free(struct report *R)
{
	json_decref(R->jprobes), json_decref(R->jcross), json_decref(R->jverd);
	json_decref(R->jhot), json_decref(R->jplots);
	free(R->nodes);
	rd_free(&R->a);
	sb_free(&R->md);
}

int cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out-dir", required_argument, 0, 'o'},
		{"json", no_argument, 0, 'j'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	struct report R = {.dir = "out"};
	int want_json = 0, c;
	glob_t g = {0};
	json_t *jin;
	char *path;
	struct stat st;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'o') {
			R.dir = optarg;
		} else if (c == 'j') {
			want_json = 1;
		} else if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		} else {
			return ipt_getopt_error("analyze", c, argv);
		}
	}
	if (stat(R.dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		ipt_err("analyze: --out-dir '%s' is not a directory", R.dir);
		return IPT_EXIT_USAGE;
	}
	if (find_inputs(&R, argc, argv, &g))
		return IPT_EXIT_USAGE;
	jin = json_array();
	for (size_t i = 0; i < R.a.ninputs; i++) {
		if (rd_read_csv(&R.a, R.a.inputs[i])) {
			json_decref(jin);
			rd_free(&R.a);
			globfree(&g);
			return IPT_EXIT_USAGE;
		}
		json_array_append_new(jin, json_string(R.a.inputs[i]));
	}
	R.jprobes = json_array(), R.jcross = json_array(), R.jverd = json_array();
	R.jhot = json_array(), R.jplots = json_array();
	compute_all(&R);
	build_report(&R);
	path = xasprintf("%s/REPORT.md", R.dir);
	if (ipt_write_file(path, R.md.p, R.md.len)) {
		ipt_err("analyze: cannot write '%s': %s", path, strerror(errno));
		R.rc = IPT_EXIT_USAGE;
		json_decref(jin);
	} else if (want_json) {
		int r = write_json(&R, jin);
		if (r)
			R.rc = r;
	} else {
		json_decref(jin);
		printf("Wrote %s\n", path);
	}
	free(path);
	report_free(&R);
	globfree(&g);
	return R.rc;
}
