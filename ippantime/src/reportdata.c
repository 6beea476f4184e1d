#include "reportdata.h"
#include "common.h"
#include "csvio.h"
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

enum { C_PROBE, C_NODE, C_OK, C_T0, C_RTT, C_OFF, C_JIT, C_BACK, C__N };
static const char *const need[C__N] = {"probe", "node", "ok", "t0_wall_ns", "rtt_ms",
				       "offset_us", "jitter_us", "monotonic_backwards"};

int rd_read_csv(struct an *a, const char *path)
{
	size_t len;
	char *buf = ipt_read_file(path, &len);
	struct csv_reader r;
	struct csv_row row = {0};
	int idx[C__N], rc;
	size_t maxidx = 0;

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
	for (int c = 0; c < C__N; c++) {
		idx[c] = -1;
		for (size_t i = 0; i < row.n; i++)
			if (!strcmp(row.f[i], need[c]))
				idx[c] = (int)i;
		if (idx[c] < 0) {
			ipt_err("analyze: %s:1: missing column '%s'", path, need[c]);
			free(buf);
			csv_row_free(&row);
			return -1;
		}
		if ((size_t)idx[c] > maxidx)
			maxidx = (size_t)idx[c];
	}
	for (;;) {
		size_t line = r.line;
		struct pstat *p;
		struct nstat *n;
		int64_t off, jit, t0;
		double rtt;
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
		if (!strcmp(row.f[idx[C_OK]], "1")) {
			n->ok++;
			if (!ipt_parse_i64(row.f[idx[C_OFF]], &off)) {
				n->off = rd_grow(n->off, n->noff, sizeof(*n->off));
				n->off[n->noff++] = off;
				if (!ipt_parse_i64(row.f[idx[C_T0]], &t0)) {
					n->ts = rd_grow(n->ts, n->nts, sizeof(*n->ts));
					n->tso = rd_grow(n->tso, n->nts, sizeof(*n->tso));
					n->ts[n->nts] = (double)t0; /* made relative later */
					n->tso[n->nts++] = off;
					if (!p->have_tmin || t0 < p->tmin)
						p->tmin = t0, p->have_tmin = 1;
				}
			}
			if (!ipt_parse_i64(row.f[idx[C_JIT]], &jit)) {
				n->jit = rd_grow(n->jit, n->njit, sizeof(*n->jit));
				n->jit[n->njit++] = jit < 0 ? -jit : jit;
			}
			if (!ipt_parse_double(row.f[idx[C_RTT]], &rtt)) {
				n->rtt = rd_grow(n->rtt, n->nrtt, sizeof(*n->rtt));
				n->rtt[n->nrtt++] = rtt;
			}
		}
		if (!strcmp(row.f[idx[C_BACK]], "1"))
			n->back++;
	}
	csv_row_free(&row);
	free(buf);
	return 0;
}

void rd_compute(struct nstat *n)
{
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
		/* double, as the original: int(p99 - (r99 * 1000.0 / 2.0)) */
		n->norm = ipt_trunc((long double)((double)n->p99 - (n->r99 * 1000.0 / 2.0)));
	}
}

void rd_free(struct an *a)
{
	for (size_t i = 0; i < a->np; i++) {
		for (size_t j = 0; j < a->p[i].nn; j++) {
			struct nstat *n = &a->p[i].n[j];
			free(n->node), free(n->off), free(n->jit), free(n->rtt), free(n->ts), free(n->tso);
		}
		free(a->p[i].n);
		free(a->p[i].probe);
	}
	free(a->p);
	a->p = NULL;
	a->np = 0;
}
