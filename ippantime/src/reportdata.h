/* The data behind REPORT.md: probe CSVs read back into per-probe, per-node statistics. */
#ifndef IPT_REPORTDATA_H
#define IPT_REPORTDATA_H
#include <stddef.h>
#include <stdint.h>

/* One ok sample's offset in its round (sample_idx), for pairing probes round by round. */
struct roff {
	long round;
	size_t seq; /* order read, so the first row of a round repeated is the one kept */
	int64_t off;
};

struct nstat {
	char *node;
	int64_t *off, *jit, *koff;
	double *rtt, *ts, *half, *khalf;
	int64_t *tso;
	struct roff *ro;
	size_t noff, njit, nrtt, nts, nhalf, nkoff, nkhalf, nro;
	long ok, total, back;
	long classic; /* ok rows whose offset uses the classic mid-point (or an old CSV) */
	/* results */
	int have, have_r, have_half, have_khalf;
	int64_t p50, p95, p99, j95, j99, k50;
	double r99, half50, khalf50; /* half50: the median bound |error| <= interval/2, in us */
};

struct pstat {
	char *probe;
	struct nstat *n;
	size_t nn, hint;
	int64_t tmin;
	int have_tmin;
	long ok, classic; /* ok rows, and how many of them are classic */
	int any_k;        /* some row carries a kernel offset */
};

struct an {
	struct pstat *p;
	size_t np;
	size_t ninputs;
	char **inputs;
};

/* Adds one CSV's rows (keyed by its probe column; columns found by header name, so the
 * original's 13-column files and ours both read). -1 after a one-line error on stderr. */
int rd_read_csv(struct an *a, const char *path);
/* Percentiles of one node (call once all CSVs are read). */
void rd_compute(struct nstat *n);
/* Offsets of a and b in the rounds both have (the first row of a round when a probe has it
 * twice): *d gets a[k] - b[k] per paired round (caller frees); returns the count. */
size_t rd_pair(struct nstat *a, struct nstat *b, int64_t **d);
void rd_free(struct an *a);
void *rd_grow(void *a, size_t n, size_t sz);

#endif
