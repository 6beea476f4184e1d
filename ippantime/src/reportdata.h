/* The data behind REPORT.md: probe CSVs read back into per-probe, per-node statistics. */
#ifndef IPT_REPORTDATA_H
#define IPT_REPORTDATA_H
#include <stddef.h>
#include <stdint.h>

struct nstat {
	char *node;
	int64_t *off, *jit;
	double *rtt, *ts;
	int64_t *tso;
	size_t noff, njit, nrtt, nts;
	long ok, total, back;
	/* results */
	int have;
	int64_t p50, p95, p99, j95, j99, norm;
	double r99;
	int have_r;
};

struct pstat {
	char *probe;
	struct nstat *n;
	size_t nn, hint;
	int64_t tmin;
	int have_tmin;
};

struct an {
	struct pstat *p;
	size_t np;
	size_t ninputs;
	char **inputs;
};

/* Adds one CSV's rows (keyed by its probe column). -1 after a one-line error on stderr. */
int rd_read_csv(struct an *a, const char *path);
/* Percentiles of one node (call once all CSVs are read). */
void rd_compute(struct nstat *n);
void rd_free(struct an *a);
void *rd_grow(void *a, size_t n, size_t sz);

#endif
