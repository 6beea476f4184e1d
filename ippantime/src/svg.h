/* Plain SVG plots for REPORT.md: no plotting library, just text. */
#ifndef IPT_SVG_H
#define IPT_SVG_H
#include <stddef.h>
#include <stdint.h>

struct svg_series {
	const char *name;
	const double *t;   /* seconds since the probe's first sample */
	const int64_t *y;  /* offset_us */
	size_t n;
};

/* One panel per node (each with its own y scale: offsets of nodes differ by orders). */
char *svg_offset_panels(const char *title, const struct svg_series *s, size_t n);
/* rows x cols cells coloured by |value| (log scale); have[r*nc+c] == 0 draws a grey cell. */
char *svg_heatmap(const char *title, const char *const *rows, size_t nr, const char *const *cols,
		  size_t nc, const int64_t *vals, const unsigned char *have);

#endif
