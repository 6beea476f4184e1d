#include "reportdata.h"
#include "common.h"
#include "csvio.h"
#include "midpoint.h"
#include "stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void *rd_grow(void *a, size_t n, size_t sz)
{
	if ((n & (n - 1)) == 0)
		a = xrealloc(a, (n ? n * 2 : 1) * sz);
	return a;
}

static struct pstat *get_probe(struct an *a, const char *name)
{
	for (size_t i = 0; i < a->np; i++)
		if (!strcmp(a->p[i].probe, name))
			return &a->p[i];
	a->p = rd_grow(a->p, a->np, sizeof(*a->p));
	memset(&a->p[a->np], 0, sizeof(a->p[0]));
	a->p[a->np].probe = xstrdup(name);
	return &a->p[a->np++];
}

static struct nstat *get_node(struct pstat *p, const char *name)
{
	/* rows cycle through the nodes in order: try the one after the last hit first */
	if (p->nn) {
		size_t h = (p->hint + 1) % p->nn;
		if (!strcmp(p->n[h].node, name)) {
			p->hint = h;
			return &p->n[h];
		}
	}
	for (size_t i = 0; i < p->nn; i++)
		if (!strcmp(p->n[i].node, name)) {
			p->hint = i;
			return &p->n[i];
		}
	p->hint = p->nn;
	p->n = rd_grow(p->n, p->nn, sizeof(*p->n));
	memset(&p->n[p->nn], 0, sizeof(p->n[0]));
	p->n[p->nn].node = xstrdup(name);
	return &p->n[p->nn++];
}

enum { C_PROBE, C_NODE, C_OK, C_T0, C_RTT, C_OFF, C_JIT, C_BACK, C_ROUND, C__NEED,
       C_MID = C__NEED, C_TSENT, C_TFB, C_KT0, C_KT1, C_KOFF, C__N };
/* the first C__NEED are required (all in the original's 13), the rest are ours and optional */
static const char *const colname[C__N] = {
	"probe", "node", "ok", "t0_wall_ns", "rtt_ms", "offset_us", "jitter_us", "monotonic_backwards",
	"sample_idx", "midpoint", "t_sent_wall_ns", "t_first_byte_wall_ns", "k_t0_wall_ns",
	"k_t1_wall_ns", "k_offset_us",
};

static void push_i64(int64_t **a, size_t *n, int64_t v)
{
	*a = rd_grow(*a, *n, sizeof(**a));
	(*a)[(*n)++] = v;
}

static void push_dbl(double **a, size_t *n, double v)
{
	*a = rd_grow(*a, *n, sizeof(**a));
	(*a)[(*n)++] = v;
}

/* Column indexes from the header; -1 after the error for a missing required one. */
static int find_columns(const char *path, const struct csv_row *hdr, int idx[C__N], size_t *maxidx)
{
	*maxidx = 0;
	for (int c = 0; c < C__N; c++) {
		idx[c] = -1;
		for (size_t i = 0; i < hdr->n; i++)
			if (!strcmp(hdr->f[i], colname[c]))
				idx[c] = (int)i;
		if (idx[c] < 0 && c < C__NEED) {
			ipt_err("analyze: %s:1: missing column '%s'", path, colname[c]);
			return -1;
		}
		if (c < C__NEED && (size_t)idx[c] > *maxidx)
			*maxidx = (size_t)idx[c];
	}
	return 0;
}

/* An optional cell: NULL when the file has no such column or the row is too short for it. */
static const char *opt_cell(const struct csv_row *row, const int idx[C__N], int c)
{
	return idx[c] >= 0 && (size_t)idx[c] < row->n ? row->f[idx[c]] : NULL;
}

static int opt_i64(const struct csv_row *row, const int idx[C__N], int c, int64_t *v)
{
	const char *s = opt_cell(row, idx, c);
	return s && !ipt_parse_i64(s, v) ? 0 : -1;
}

/* The bound of a row's offset: half the interval its mid-point was taken from. Old CSVs and
 * classic rows used [t0, t1], whose length rtt_ms is. */
static void add_bound(struct nstat *n, const struct csv_row *row, const int idx[C__N], int classic)
{
	int64_t ts, tf;
	double rtt;
	if (!classic && !opt_i64(row, idx, C_TSENT, &ts) && !opt_i64(row, idx, C_TFB, &tf))
		push_dbl(&n->half, &n->nhalf, ipt_half_us(ts, tf));
	else if (classic && !ipt_parse_double(row->f[idx[C_RTT]], &rtt))
		push_dbl(&n->half, &n->nhalf, rtt * 500.0);
}

static void add_kernel(struct nstat *n, struct pstat *p, const struct csv_row *row, const int idx[C__N])
{
	int64_t koff, k0, k1;
	if (opt_i64(row, idx, C_KOFF, &koff))
		return;
	push_i64(&n->koff, &n->nkoff, koff);
	p->any_k = 1;
	if (!opt_i64(row, idx, C_KT0, &k0) && !opt_i64(row, idx, C_KT1, &k1))
		push_dbl(&n->khalf, &n->nkhalf, ipt_half_us(k0, k1));
}

static void add_ok_row(struct pstat *p, struct nstat *n, const struct csv_row *row, const int idx[C__N])
{
	const char *mid = opt_cell(row, idx, C_MID);
	/* no column (the original's file) or anything but "honest": the classic bias applies */
	int classic = !mid || strcmp(mid, "honest");
	int64_t off, jit, t0;
	long round;
	double rtt;

	n->ok++;
	p->ok++;
	if (!ipt_parse_i64(row->f[idx[C_OFF]], &off)) {
		push_i64(&n->off, &n->noff, off);
		n->classic += classic;
		p->classic += classic;
		add_bound(n, row, idx, classic);
		if (!ipt_parse_int_range(row->f[idx[C_ROUND]], 0, 1L << 40, &round)) {
			n->ro = rd_grow(n->ro, n->nro, sizeof(*n->ro));
			n->ro[n->nro].round = round;
			n->ro[n->nro].seq = n->nro;
			n->ro[n->nro++].off = off;
		}
		if (!ipt_parse_i64(row->f[idx[C_T0]], &t0)) {
			n->ts = rd_grow(n->ts, n->nts, sizeof(*n->ts));
			n->tso = rd_grow(n->tso, n->nts, sizeof(*n->tso));
			n->ts[n->nts] = (double)t0; /* made relative later */
			n->tso[n->nts++] = off;
			if (!p->have_tmin || t0 < p->tmin)
				p->tmin = t0, p->have_tmin = 1;
		}
	}
	add_kernel(n, p, row, idx);
	if (!ipt_parse_i64(row->f[idx[C_JIT]], &jit))
		push_i64(&n->jit, &n->njit, jit < 0 ? -jit : jit);
	if (!ipt_parse_double(row->f[idx[C_RTT]], &rtt))
		push_dbl(&n->rtt, &n->nrtt, rtt);
}

int rd_read_csv(struct an *a, const char *path)
{
	size_t len, maxidx;
	char *buf = ipt_read_file(path, &len);
	struct csv_reader r;
	struct csv_row row = {0};
	int idx[C__N], rc;

	if (!buf) {
		ipt_err("analyze: cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	csv_reader_init(&r, buf, len);
	if (csv_next(&r, &row) != 1) {
		ipt_err("analyze: %s: empty file (no header)", path);
		free(buf);
		csv_row_free(&row);
		return -1;
	}
	if (find_columns(path, &row, idx, &maxidx)) {
		free(buf);
		csv_row_free(&row);
		return -1;
	}
	for (;;) {
		size_t line = r.line;
		struct pstat *p;
		struct nstat *n;
		rc = csv_next(&r, &row);
		if (rc == 0)
			break;
		if (rc < 0) {
			fprintf(stderr, "ippantime: analyze: %s:%zu: warning: unterminated quoted field, rest ignored\n",
				path, line);
			break;
		}
		if (row.n == 1 && !row.f[0][0])
			continue; /* blank line */
		if (row.n <= maxidx) {
			/* e.g. the last line of a probe killed mid-write */
			fprintf(stderr, "ippantime: analyze: %s:%zu: warning: short row (%zu fields) ignored\n",
				path, line, row.n);
			continue;
		}
		p = get_probe(a, row.f[idx[C_PROBE]]);
		n = get_node(p, row.f[idx[C_NODE]]);
		n->total++;
		if (!strcmp(row.f[idx[C_OK]], "1"))
			add_ok_row(p, n, &row, idx);
		if (!strcmp(row.f[idx[C_BACK]], "1"))
			n->back++;
	}
	csv_row_free(&row);
	free(buf);
	return 0;
}

void rd_compute(struct nstat *n)
{
	if (n->nkoff)
		n->k50 = ipt_trunc(ipt_pct_i64(n->koff, n->nkoff, 50));
	if (n->nkhalf) {
		n->have_khalf = 1;
		n->khalf50 = ipt_pct_dbl(n->khalf, n->nkhalf, 50);
	}
	if (!n->noff)
		return;
	n->have = 1;
	n->p50 = ipt_trunc(ipt_pct_i64(n->off, n->noff, 50));
	n->p95 = ipt_trunc(ipt_pct_i64(n->off, n->noff, 95));
	n->p99 = ipt_trunc(ipt_pct_i64(n->off, n->noff, 99));
	n->j95 = n->njit ? ipt_trunc(ipt_pct_i64(n->jit, n->njit, 95)) : 0;
	n->j99 = n->njit ? ipt_trunc(ipt_pct_i64(n->jit, n->njit, 99)) : 0;
	if (n->nrtt) {
		n->have_r = 1;
		n->r99 = ipt_pct_dbl(n->rtt, n->nrtt, 99);
	}
	if (n->nhalf) {
		n->have_half = 1;
		n->half50 = ipt_pct_dbl(n->half, n->nhalf, 50);
	}
}

static int cmp_round(const void *x, const void *y)
{
	const struct roff *a = x, *b = y;
	if (a->round != b->round)
		return a->round < b->round ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

/* Sorted by round, each round once. Idempotent, so a node paired with several probes is
 * only sorted the first time. */
static void rounds_sorted(struct nstat *n)
{
	size_t w = 0;
	if (n->nro < 2)
		return;
	qsort(n->ro, n->nro, sizeof(*n->ro), cmp_round);
	for (size_t i = 0; i < n->nro; i++)
		if (!w || n->ro[i].round != n->ro[w - 1].round)
			n->ro[w++] = n->ro[i];
	n->nro = w;
}

size_t rd_pair(struct nstat *a, struct nstat *b, int64_t **d)
{
	size_t i = 0, j = 0, k = 0;
	rounds_sorted(a);
	rounds_sorted(b);
	*d = xcalloc(a->nro < b->nro ? a->nro : b->nro, sizeof(**d));
	while (i < a->nro && j < b->nro) {
		if (a->ro[i].round < b->ro[j].round) {
			i++;
		} else if (a->ro[i].round > b->ro[j].round) {
			j++;
		} else {
			int64_t x;
			/* saturate: offsets read from a file may be anything */
			if (__builtin_sub_overflow(a->ro[i].off, b->ro[j].off, &x))
				x = a->ro[i].off < 0 ? INT64_MIN : INT64_MAX;
			(*d)[k++] = x;
			i++, j++;
		}
	}
	return k;
}

void rd_free(struct an *a)
{
	for (size_t i = 0; i < a->np; i++) {
		for (size_t j = 0; j < a->p[i].nn; j++) {
			struct nstat *n = &a->p[i].n[j];
			free(n->node), free(n->off), free(n->jit), free(n->rtt), free(n->ts), free(n->tso);
			free(n->koff), free(n->half), free(n->khalf), free(n->ro);
		}
		free(a->p[i].n);
		free(a->p[i].probe);
	}
	free(a->p);
	a->p = NULL;
	a->np = 0;
}
