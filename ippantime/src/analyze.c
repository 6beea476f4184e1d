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
	"rtt p99), every pair of probes compared, a verdict per node, jitter hotspots and SVG\n"
	"plots (DIR/offset_<probe>.svg, DIR/heatmap_off_p99.svg). A node without a valid sample is\n"
	"listed with '—'. DIR defaults to ./out.\n"
	"  --json   also write DIR/REPORT.json and print it on stdout\n"
	"\n"
	"examples:\n"
	"  ippantime analyze --out-dir out\n"
	"  ippantime analyze --out-dir /tmp/r --json /tmp/a.csv /tmp/b.csv | jq .verdicts\n";

/* Verdict thresholds (the seed's interpretation table made concrete). */
#define BIG_OFFSET_US 10000   /* "large offset (>10ms)" */
#define HIGH_JITTER_US 2000   /* jitter p95 above this is "high" (p95: one CPU stall on the
                                * probe must not turn a stable clock into a noisy one) */
#define DISAGREE_US 2000      /* probes whose off p99 differ by more disagree */

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

static char *slug(const char *s)
{
	char *r = xstrdup(s);
	for (char *q = r; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
		      *q == '-' || *q == '_' || *q == '.'))
			*q = '_';
	return r;
}

static json_t *jint(int have, int64_t v)
{
	return have ? json_integer(v) : json_null();
}

int cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out-dir", required_argument, 0, 'o'},
		{"json", no_argument, 0, 'j'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	const char *dir = "out";
	int want_json = 0, c, rc = 0;
	struct an a = {0};
	glob_t g = {0};
	struct strbuf md = {0};
	char **nodes, *path;
	size_t nnodes, nh = 0;
	json_t *J = NULL, *jprobes = NULL, *jcross = NULL, *jverd = NULL, *jhot = NULL, *jin = NULL,
	       *jplots = NULL;
	struct hot *hot = NULL;
	struct stat st;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'o')
			dir = optarg;
		else if (c == 'j')
			want_json = 1;
		else if (c == 'h') {
			fputs(usage, stdout);
			json_decref(J);
			return 0;
		} else {
			return ipt_getopt_error("analyze", c, argv);
		}
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		ipt_err("analyze: --out-dir '%s' is not a directory", dir);
		json_decref(J);
		return IPT_EXIT_USAGE;
	}
	if (optind < argc) {
		a.ninputs = (size_t)(argc - optind);
		a.inputs = argv + optind;
	} else {
		char *pat = xasprintf("%s/ippantime_*.csv", dir);
		if (glob(pat, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
			ipt_err("analyze: no inputs matching %s", pat);
			free(pat);
			json_decref(J);
			return IPT_EXIT_USAGE;
		}
		free(pat);
		a.ninputs = g.gl_pathc;
		a.inputs = g.gl_pathv; /* glob sorts, as the original's sorted(glob()) */
	}
	J = json_object(), jprobes = json_array(), jcross = json_array(), jverd = json_array();
	jhot = json_array(), jin = json_array(), jplots = json_array();
	for (size_t i = 0; i < a.ninputs; i++) {
		if (rd_read_csv(&a, a.inputs[i])) {
			rc = IPT_EXIT_USAGE;
			goto out;
		}
		json_array_append_new(jin, json_string(a.inputs[i]));
	}
	if (a.np)
		qsort(a.p, a.np, sizeof(*a.p), cmp_probe);
	for (size_t i = 0; i < a.np; i++)
		for (size_t j = 0; j < a.p[i].nn; j++) {
			struct nstat *n = &a.p[i].n[j];
			rd_compute(n);
			for (size_t k = 0; k < n->nts; k++)
				n->ts[k] = (n->ts[k] - (double)a.p[i].tmin) / 1e9;
		}

	sb_puts(&md, "# IPPAN Time Mesh Report\n");
	sb_printf(&md, "Inputs: %zu CSV files\n", a.ninputs);
	sb_puts(&md, "\n## Probes included\n");
	for (size_t i = 0; i < a.np; i++)
		sb_printf(&md, "- `%s`\n", a.p[i].probe);

	for (size_t i = 0; i < a.np; i++) {
		struct pstat *p = &a.p[i];
		struct nstat **rk = xcalloc(p->nn, sizeof(*rk));
		json_t *jp = json_object(), *jn = json_array();
		for (size_t j = 0; j < p->nn; j++)
			rk[j] = &p->n[j];
		qsort(rk, p->nn, sizeof(*rk), cmp_rank);
		sb_printf(&md, "\n## Probe: `%s`\n", p->probe);
		sb_puts(&md, "| node | ok/total | off_us p50 | off_us p95 | off_us p99 | off_norm_us p99 | jitter_us p95 | jitter_us p99 | rtt_ms p99 | backwards |\n");
		sb_puts(&md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
		for (size_t j = 0; j < p->nn; j++) {
			struct nstat *n = rk[j];
			json_t *o = json_object();
			sb_printf(&md, "| %s | %ld/%ld |", n->node, n->ok, n->total);
			cell_i64(&md, n->have, n->p50);
			cell_i64(&md, n->have, n->p95);
			cell_i64(&md, n->have, n->p99);
			cell_i64(&md, n->have && n->have_r, n->norm);
			cell_i64(&md, n->have, n->j95);
			cell_i64(&md, n->have, n->j99);
			if (n->have && n->have_r)
				sb_printf(&md, " %.3f |", n->r99);
			else
				sb_puts(&md, " — |");
			sb_printf(&md, " %ld |\n", n->back);
			json_object_set_new(o, "node", json_string(n->node));
			json_object_set_new(o, "ok", json_integer(n->ok));
			json_object_set_new(o, "total", json_integer(n->total));
			json_object_set_new(o, "off_us_p50", jint(n->have, n->p50));
			json_object_set_new(o, "off_us_p95", jint(n->have, n->p95));
			json_object_set_new(o, "off_us_p99", jint(n->have, n->p99));
			json_object_set_new(o, "off_norm_us_p99", jint(n->have && n->have_r, n->norm));
			json_object_set_new(o, "jitter_us_p95", jint(n->have, n->j95));
			json_object_set_new(o, "jitter_us_p99", jint(n->have, n->j99));
			json_object_set_new(o, "rtt_ms_p99", n->have && n->have_r ? json_real(n->r99) : json_null());
			json_object_set_new(o, "backwards", json_integer(n->back));
			json_array_append_new(jn, o);
		}
		json_object_set_new(jp, "probe", json_string(p->probe));
		json_object_set_new(jp, "nodes", jn);
		json_array_append_new(jprobes, jp);
		free(rk);
	}

	nodes = all_nodes(&a, &nnodes);
	for (size_t i = 0; i < a.np; i++)
		for (size_t k = i + 1; k < a.np; k++) {
			struct pstat *A = &a.p[i], *B = &a.p[k];
			json_t *jc = json_object(), *jn = json_array();
			sb_printf(&md, "\n## Cross-probe consistency (%s vs %s)\n", A->probe, B->probe);
			sb_printf(&md, "| node | %s off_p99 | %s off_p99 | delta_p99_abs |\n", A->probe, B->probe);
			sb_puts(&md, "|---|---:|---:|---:|\n");
			for (size_t j = 0; j < nnodes; j++) {
				struct nstat *x = find_node(A, nodes[j]), *y = find_node(B, nodes[j]);
				int hx = x && x->have, hy = y && y->have;
				long double dl = hx && hy ? (long double)x->p99 - (long double)y->p99 : 0;
				int64_t d = ipt_trunc(dl < 0 ? -dl : dl);
				json_t *o = json_object();
				sb_printf(&md, "| %s |", nodes[j]);
				cell_i64(&md, hx, hx ? x->p99 : 0);
				cell_i64(&md, hy, hy ? y->p99 : 0);
				cell_i64(&md, hx && hy, d);
				sb_puts(&md, "\n");
				json_object_set_new(o, "node", json_string(nodes[j]));
				json_object_set_new(o, "a_off_p99", jint(hx, hx ? x->p99 : 0));
				json_object_set_new(o, "b_off_p99", jint(hy, hy ? y->p99 : 0));
				json_object_set_new(o, "delta_p99_abs", jint(hx && hy, d));
				json_array_append_new(jn, o);
			}
			json_object_set_new(jc, "a", json_string(A->probe));
			json_object_set_new(jc, "b", json_string(B->probe));
			json_object_set_new(jc, "nodes", jn);
			json_array_append_new(jcross, jc);
		}

	sb_puts(&md, "\n## Verdicts\n");
	sb_printf(&md, "Thresholds: large offset |off_us p50| > %d, high jitter jitter_us p95 > %d "
		       "(for a large offset: also > |off_us p50|/4), probes disagree when off_us p99 differs by > %d.\n\n",
		  BIG_OFFSET_US, HIGH_JITTER_US, DISAGREE_US);
	sb_puts(&md, "| node | verdict | evidence |\n|---|---|---|\n");
	for (size_t j = 0; j < nnodes; j++) {
		struct strbuf v = {0}, e = {0};
		int64_t maxoff = 0, maxjit = 0, lo = INT64_MAX, hi = INT64_MIN;
		long back = 0;
		int any = 0;
		json_t *o = json_object(), *jv = json_array();
		for (size_t i = 0; i < a.np; i++) {
			struct nstat *n = find_node(&a.p[i], nodes[j]);
			if (!n)
				continue;
			back += n->back;
			if (!n->have)
				continue;
			any = 1;
			if (llabs(n->p50) > maxoff)
				maxoff = llabs(n->p50);
			if (n->j95 > maxjit)
				maxjit = n->j95;
			if (n->p99 < lo) lo = n->p99;
			if (n->p99 > hi) hi = n->p99;
		}
#define VERDICT(s) do { sb_printf(&v, "%s%s", v.len ? "; " : "", s); json_array_append_new(jv, json_string(s)); } while (0)
		if (!any) {
			VERDICT("no valid samples: unreachable or field missing");
		} else {
			if (back > 0)
				VERDICT("time-service bug: clock went backwards");
			/* "low jitter" = too small to explain the offset: below the threshold, or
			 * below a quarter of the offset (a noisy path cannot fake a steady 30 ms) */
			if (maxoff > BIG_OFFSET_US && (maxjit <= HIGH_JITTER_US || maxjit * 4 < maxoff))
				VERDICT("clock drift: tune chrony");
			else if (maxoff > BIG_OFFSET_US)
				VERDICT("large offset with high jitter");
			else if (maxjit > HIGH_JITTER_US)
				VERDICT("network congestion or node overload");
			if ((long double)hi - (long double)lo > DISAGREE_US)
				VERDICT("probes disagree: path asymmetry or drift during the test");
			if (!v.len)
				VERDICT("ok");
			sb_printf(&e, "max abs off_us p50 %" PRId64 ", max jitter_us p95 %" PRId64, maxoff, maxjit);
			if (a.np > 1)
				sb_printf(&e, ", off_us p99 spread %" PRId64, ipt_trunc((long double)hi - (long double)lo));
		}
		if (back)
			sb_printf(&e, "%sbackwards %ld", e.len ? ", " : "", back);
		sb_printf(&md, "| %s | %s | %s |\n", nodes[j], v.p, e.len ? e.p : "—");
		json_object_set_new(o, "node", json_string(nodes[j]));
		json_object_set_new(o, "verdicts", jv);
		json_array_append_new(jverd, o);
		sb_free(&v);
		sb_free(&e);
	}

	for (size_t i = 0; i < a.np; i++)
		for (size_t j = 0; j < a.p[i].nn; j++)
			if (a.p[i].n[j].have) {
				hot = rd_grow(hot, nh, sizeof(*hot));
				hot[nh].p = &a.p[i];
				hot[nh++].n = &a.p[i].n[j];
			}
	if (nh)
		qsort(hot, nh, sizeof(*hot), cmp_hot);
	sb_puts(&md, "\n## Jitter hotspots (top 20 by jitter_us p99)\n");
	sb_puts(&md, "| probe | node | jitter_us p95 | jitter_us p99 | rtt_ms p99 |\n|---|---|---:|---:|---:|\n");
	for (size_t i = 0; i < nh && i < 20; i++) {
		json_t *o = json_object();
		sb_printf(&md, "| %s | %s | %" PRId64 " | %" PRId64 " |", hot[i].p->probe, hot[i].n->node,
			  hot[i].n->j95, hot[i].n->j99);
		if (hot[i].n->have_r)
			sb_printf(&md, " %.3f |\n", hot[i].n->r99);
		else
			sb_puts(&md, " — |\n");
		json_object_set_new(o, "probe", json_string(hot[i].p->probe));
		json_object_set_new(o, "node", json_string(hot[i].n->node));
		json_object_set_new(o, "jitter_us_p99", json_integer(hot[i].n->j99));
		json_array_append_new(jhot, o);
	}

	/* Plots: one panel set per probe, one heat map for all. */
	sb_puts(&md, "\n## Plots\n");
	for (size_t i = 0; i < a.np; i++) {
		struct pstat *p = &a.p[i];
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
		path = xasprintf("%s/%s", dir, file);
		if (ipt_write_file(path, s, strlen(s))) {
			ipt_err("analyze: cannot write '%s': %s", path, strerror(errno));
			rc = IPT_EXIT_FAIL;
		}
		sb_printf(&md, "- ![offset over time, probe `%s`](%s)\n", p->probe, file);
		json_array_append_new(jplots, json_string(file));
		free(path);
		free(s);
		free(ss);
		free(name);
		free(title);
		free(file);
	}
	if (a.np && nnodes) {
		int64_t *vals = xcalloc(nnodes * a.np, sizeof(*vals));
		unsigned char *have = xcalloc(nnodes * a.np, 1);
		const char **cols = xcalloc(a.np, sizeof(*cols));
		char *s;
		for (size_t i = 0; i < a.np; i++)
			cols[i] = a.p[i].probe;
		for (size_t j = 0; j < nnodes; j++)
			for (size_t i = 0; i < a.np; i++) {
				struct nstat *n = find_node(&a.p[i], nodes[j]);
				if (n && n->have) {
					vals[j * a.np + i] = n->p99;
					have[j * a.np + i] = 1;
				}
			}
		s = svg_heatmap("offset_us p99: node x probe", (const char *const *)nodes, nnodes, cols,
				a.np, vals, have);
		path = xasprintf("%s/heatmap_off_p99.svg", dir);
		if (ipt_write_file(path, s, strlen(s))) {
			ipt_err("analyze: cannot write '%s': %s", path, strerror(errno));
			rc = IPT_EXIT_FAIL;
		}
		sb_puts(&md, "- ![offset p99 heat map, node x probe](heatmap_off_p99.svg)\n");
		json_array_append_new(jplots, json_string("heatmap_off_p99.svg"));
		free(path);
		free(s);
		free(vals);
		free(have);
		free(cols);
	}

	path = xasprintf("%s/REPORT.md", dir);
	if (ipt_write_file(path, md.p, md.len)) {
		ipt_err("analyze: cannot write '%s': %s", path, strerror(errno));
		free(path);
		rc = IPT_EXIT_USAGE;
		goto out_nodes;
	}
	if (want_json) {
		char *s, *jpath = xasprintf("%s/REPORT.json", dir);
		json_object_set_new(J, "inputs", jin);
		json_object_set_new(J, "probes", jprobes);
		json_object_set_new(J, "cross_probe", jcross);
		json_object_set_new(J, "verdicts", jverd);
		json_object_set_new(J, "jitter_hotspots", jhot);
		json_object_set_new(J, "plots", jplots);
		jin = jprobes = jcross = jverd = jhot = jplots = NULL;
		s = json_dumps(J, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (ipt_write_file(jpath, s, strlen(s))) {
			ipt_err("analyze: cannot write '%s': %s", jpath, strerror(errno));
			rc = IPT_EXIT_FAIL;
		}
		puts(s);
		free(s);
		free(jpath);
	} else {
		printf("Wrote %s\n", path);
	}
	free(path);
out_nodes:
	free(nodes);
out:
	free(hot);
	json_decref(J);
	json_decref(jin), json_decref(jprobes), json_decref(jcross);
	json_decref(jverd), json_decref(jhot), json_decref(jplots);
	rd_free(&a);
	globfree(&g);
	sb_free(&md);
	return rc;
}
