#include "svg.h"
#include "common.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void esc(struct strbuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': sb_puts(b, "&lt;"); break;
		case '>': sb_puts(b, "&gt;"); break;
		case '&': sb_puts(b, "&amp;"); break;
		case '"': sb_puts(b, "&quot;"); break;
		default: sb_add(b, s, 1);
		}
	}
}

#define PW 300
#define PH 130
#define COLS 4

char *svg_offset_panels(const char *title, const struct svg_series *s, size_t n)
{
	struct strbuf b = {0};
	size_t rows = (n + COLS - 1) / COLS;
	int W = COLS * PW + 20, H = (int)rows * PH + 50;

	sb_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		      "font-family=\"sans-serif\" font-size=\"11\">\n", W, H);
	sb_printf(&b, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n<text x=\"10\" y=\"20\" font-size=\"14\">", W, H);
	esc(&b, title);
	sb_puts(&b, "</text>\n");
	for (size_t i = 0; i < n; i++) {
		int x0 = 10 + (int)(i % COLS) * PW, y0 = 35 + (int)(i / COLS) * PH;
		int px = x0 + 45, py = y0 + 18, pw = PW - 60, ph = PH - 45;
		const struct svg_series *se = &s[i];
		int64_t lo = INT64_MAX, hi = INT64_MIN;
		double tmax = 0;
		size_t stride;
		sb_printf(&b, "<text x=\"%d\" y=\"%d\">", x0 + 5, y0 + 12);
		esc(&b, se->name);
		sb_puts(&b, "</text>\n");
		sb_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n",
			  px, py, pw, ph);
		if (!se->n) {
			sb_printf(&b, "<text x=\"%d\" y=\"%d\" fill=\"#b00\">no valid samples</text>\n",
				  px + 10, py + ph / 2);
			continue;
		}
		for (size_t k = 0; k < se->n; k++) {
			if (se->y[k] < lo) lo = se->y[k];
			if (se->y[k] > hi) hi = se->y[k];
			if (se->t[k] > tmax) tmax = se->t[k];
		}
		if (hi == lo)
			hi = lo + 1;
		if (tmax <= 0)
			tmax = 1;
		sb_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"9\">%" PRId64 "</text>\n",
			  px - 2, py + 8, hi);
		sb_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"9\">%" PRId64 "</text>\n",
			  px - 2, py + ph, lo);
		sb_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"9\">%.1f s</text>\n",
			  px + pw, py + ph + 12, tmax);
		sb_puts(&b, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1\" points=\"");
		/* keep files small on long runs */
		stride = se->n > 2000 ? se->n / 2000 : 1;
		for (size_t k = 0; k < se->n; k += stride) {
			double x = px + pw * (se->t[k] / tmax);
			double y = py + ph - ph * ((long double)se->y[k] - lo) / ((long double)hi - lo);
			sb_printf(&b, "%.1f,%.1f ", x, y);
		}
		sb_puts(&b, "\"/>\n");
	}
	sb_puts(&b, "<text x=\"10\" y=\"");
	sb_printf(&b, "%d\" font-size=\"10\" fill=\"#555\">offset_us over time (each panel has its own scale)</text>\n</svg>\n", H - 5);
	return b.p;
}

char *svg_heatmap(const char *title, const char *const *rows, size_t nr, const char *const *cols,
		  size_t nc, const int64_t *vals, const unsigned char *have)
{
	struct strbuf b = {0};
	int cw = 110, ch = 18, lx = 110, ty = 60;
	int W = lx + (int)nc * cw + 20, H = ty + (int)nr * ch + 40;
	double vmax = 1;

	for (size_t i = 0; i < nr * nc; i++)
		if (have[i]) {
			double a = fabs((double)vals[i]);
			if (a > vmax)
				vmax = a;
		}
	sb_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
		  W, H, W, H);
	sb_puts(&b, "<text x=\"10\" y=\"20\" font-size=\"14\">");
	esc(&b, title);
	sb_puts(&b, "</text>\n");
	for (size_t c = 0; c < nc; c++) {
		sb_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", lx + (int)c * cw + cw / 2, ty - 8);
		esc(&b, cols[c]);
		sb_puts(&b, "</text>\n");
	}
	for (size_t r = 0; r < nr; r++) {
		int y = ty + (int)r * ch;
		sb_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", lx - 6, y + 13);
		esc(&b, rows[r]);
		sb_puts(&b, "</text>\n");
		for (size_t c = 0; c < nc; c++) {
			size_t i = r * nc + c;
			int x = lx + (int)c * cw;
			if (!have[i]) {
				sb_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#ccc\" stroke=\"white\"/>"
					      "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">—</text>\n",
					  x, y, cw, ch, x + cw / 2, y + 13);
				continue;
			}
			{
				/* log scale from 1 us to the largest |p99|: white -> red */
				double f = log10(1 + fabs((double)vals[i])) / log10(1 + vmax);
				int g = (int)(255 - 200 * f);
				sb_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(255,%d,%d)\" stroke=\"white\"/>"
					      "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%" PRId64 "</text>\n",
					  x, y, cw, ch, g, g, x + cw / 2, y + 13, vals[i]);
			}
		}
	}
	sb_printf(&b, "<text x=\"10\" y=\"%d\" font-size=\"10\" fill=\"#555\">offset_us p99 per node and probe "
		      "(colour: log |p99|; grey: no valid samples)</text>\n</svg>\n", H - 10);
	return b.p;
}
