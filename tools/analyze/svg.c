// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * report.svg: readable without the text. Top: the median and the p99 echo
 * as stacked bars, by layer and by segment. Bottom: the slowest echo as a
 * waterfall along its path, each segment starting where the one before
 * it ended, so the reader sees where along the way the time went.
 */
#include <stdio.h>
#include "analyze.h"

#define W 1000
#define LEFT 170
#define BAR_W (W - LEFT - 30)

static const char *const layer_color[SEG_N_LAYERS] = {
	"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
};

/* A segment's color: the color of its layer. */
static const char *seg_color(int m)
{
	switch (m) {
	case SEG_A: case SEG_F: case SEG_G: case SEG_H: case SEG_M:
		return layer_color[0];
	case SEG_B: case SEG_D: case SEG_I: case SEG_K:
		return layer_color[1];
	case SEG_CJ: case SEG_C: case SEG_J:
		return layer_color[2];
	case SEG_E: case SEG_L:
		return layer_color[3];
	default:
		return layer_color[4];
	}
}

static void text(FILE *fp, double x, double y, const char *anchor, int size, const char *s)
{
	fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\">%s</text>\n", x,
		y, anchor, size, s);
}

/* One stacked bar: parts (metric ids) of one echo, scaled to `scale` us. */
static void bar(FILE *fp, double y, const char *label, const double *m, const int *parts, int n,
		double scale, bool layers)
{
	double x = LEFT;
	char buf[128];

	text(fp, LEFT - 8, y + 15, "end", 12, label);
	for (int i = 0; i < n; i++) {
		double v = m[parts[i]] > 0 ? m[parts[i]] : 0, w = v / scale * BAR_W;

		fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"22\" fill=\"%s\" "
			    "stroke=\"white\"><title>%s %.1f us</title></rect>\n",
			x, y, w, layers ? layer_color[parts[i] - SEG_FIRST_LAYER] : seg_color(parts[i]),
			an_metrics[parts[i]].name, v);
		if (w > 34) {
			snprintf(buf, sizeof(buf), "%s", an_metrics[parts[i]].name);
			if (layers)
				snprintf(buf, sizeof(buf), "%.0f%%", 100.0 * v / m[SEG_RTT]);
			fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\" "
				    "fill=\"white\">%s</text>\n", x + w / 2, y + 15, buf);
		}
		x += w;
	}
	snprintf(buf, sizeof(buf), "%.1f us", m[SEG_RTT]);
	text(fp, x + 4, y + 15, "start", 11, buf);
}

int an_write_svg(FILE *fp, const struct an_result *res)
{
	static const int layers[] = { SEG_LAYER_VM, SEG_LAYER_HOST, SEG_LAYER_WIRE, SEG_LAYER_VIRT_MEASURED,
				      SEG_LAYER_VIRT_UNMEASURED };
	/* along the path; the wire's two directions are one derived number */
	static const int path[] = { SEG_A, SEG_VIRT_SEND, SEG_B, SEG_CJ, SEG_D, SEG_E, SEG_F, SEG_G, SEG_H,
				    SEG_VIRT_RECV, SEG_I, SEG_K, SEG_L, SEG_M };
	const int n_layers = sizeof(layers) / sizeof(layers[0]);
	const int n_path = sizeof(path) / sizeof(path[0]);
	double med[SEG_N], p99[SEG_N], slow[SEG_N], scale, x, y;
	bool have[SEG_N];
	char buf[160];
	int h = 200 + 22 * n_path + 60;

	fprintf(fp, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		    "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		W, h);
	snprintf(buf, sizeof(buf), "Where a VM-to-VM ping spends its time%s%s (%llu echoes)",
		 res->env ? ": " : "", res->env ? res->env : "", (unsigned long long)res->joined);
	text(fp, 20, 24, "start", 16, buf);
	if (!res->joined || !res->have_slowest) {
		text(fp, 20, 60, "start", 13, "no echo was found in all six logs");
		fputs("</svg>\n", fp);
		return ferror(fp) ? -1 : 0;
	}
	an_echo_metrics(&res->median, res->same_clock, med, have);
	an_echo_metrics(&res->p99, res->same_clock, p99, have);
	an_echo_metrics(&res->slowest, res->same_clock, slow, have);
	scale = p99[SEG_RTT] > med[SEG_RTT] ? p99[SEG_RTT] : med[SEG_RTT];
	if (slow[SEG_RTT] > scale)
		scale = slow[SEG_RTT];
	if (scale <= 0)
		scale = 1;

	y = 44;
	bar(fp, y, "median echo, layers", med, layers, n_layers, scale, true);
	bar(fp, y + 28, "median echo, segments", med, path, n_path, scale, false);
	bar(fp, y + 62, "p99 echo, layers", p99, layers, n_layers, scale, true);
	bar(fp, y + 90, "p99 echo, segments", p99, path, n_path, scale, false);
	/* legend */
	x = LEFT;
	for (int i = 0; i < n_layers; i++) {
		fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", x,
			y + 122, layer_color[i]);
		text(fp, x + 16, y + 132, "start", 11, an_metrics[layers[i]].name);
		x += 150;
	}

	y = 200;
	snprintf(buf, sizeof(buf), "The slowest echo (id %u seq %u, RTT %.1f us), along its path",
		 res->slowest.key.id, res->slowest.key.seq, slow[SEG_RTT]);
	text(fp, 20, y - 8, "start", 13, buf);
	x = 0;
	for (int i = 0; i < n_path; i++) {
		double v = slow[path[i]] > 0 ? slow[path[i]] : 0;
		double x0 = LEFT + x / scale * BAR_W, w = v / scale * BAR_W;

		snprintf(buf, sizeof(buf), "%s", an_metrics[path[i]].name);
		text(fp, LEFT - 8, y + 22 * i + 14, "end", 11, buf);
		fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"16\" fill=\"%s\"/>\n",
			x0, y + 22 * i, w < 1 ? 1 : w, seg_color(path[i]));
		snprintf(buf, sizeof(buf), "%.1f us", slow[path[i]]);
		text(fp, x0 + (w < 1 ? 1 : w) + 4, y + 22 * i + 13, "start", 10, buf);
		x += v;
	}
	fputs("</svg>\n", fp);
	return ferror(fp) ? -1 : 0;
}
