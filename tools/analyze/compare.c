// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * netseg analyze --compare A B: two environments side by side, per
 * segment and per layer: A, B, the difference, its % change and its share
 * of the RTT's difference. Means are compared: per echo the layers add up
 * to the RTT, so their means do too, and the shares of the difference add
 * up to 100 % (medians do not add).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "analyze.h"

struct side {
	const char *name;
	bool have[SEG_N];
	double mean[SEG_N];
	uint64_t joined;
};

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!fp)
		return NULL;
	if (!fseek(fp, 0, SEEK_END) && (n = ftell(fp)) >= 0 && n < (64l << 20) &&
	    !fseek(fp, 0, SEEK_SET) && (buf = malloc((size_t)n + 1))) {
		if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = 0;
		}
	}
	fclose(fp);
	return buf;
}

/* Our own report.json: each metric is `"NAME":{"count":N,...,"mean_us":X` */
static int from_report(const char *path, struct side *s)
{
	char *buf = slurp(path), pat[64];
	const char *p;

	if (!buf)
		return -1;
	for (int i = 0; i < SEG_N; i++) {
		unsigned long long count;
		double mean;

		snprintf(pat, sizeof(pat), "\"%s\":{\"count\":", i == SEG_RTT ? "rtt" : an_metrics[i].name);
		p = strstr(buf, pat);
		if (!p || sscanf(p + strlen(pat), "%llu", &count) != 1)
			continue;
		p = strstr(p, "\"mean_us\":");
		if (!p || sscanf(p + 10, "%lf", &mean) != 1)
			continue;
		s->have[i] = count > 0;
		s->mean[i] = mean;
	}
	p = strstr(buf, "\"joined\":");
	if (p)
		s->joined = strtoull(p + 9, NULL, 10);
	free(buf);
	return s->have[SEG_RTT] ? 0 : -1;
}

static int load_side(const char *dir, struct side *s)
{
	struct an_input in = {};
	struct an_result res;
	char path[4096];
	struct stat sb;
	int logs = 0;

	s->name = dir;
	if (!stat(dir, &sb) && S_ISREG(sb.st_mode))
		return from_report(dir, s);
	for (int r = 0; r < AN_N_ROLES; r++) {
		snprintf(path, sizeof(path), "%s/%s", dir, an_role_file(r));
		logs += !access(path, R_OK);
	}
	if (!logs) {
		snprintf(path, sizeof(path), "%s/report.json", dir);
		return from_report(path, s);
	}
	static char paths[2][AN_N_ROLES][4096];
	static int which;

	for (int r = 0; r < AN_N_ROLES; r++) {
		snprintf(paths[which][r], sizeof(paths[which][r]), "%s/%s", dir, an_role_file(r));
		if (!access(paths[which][r], R_OK))
			in.path[r] = paths[which][r];
	}
	which = (which + 1) % 2;
	an_run(&in, dir, false, &res, true);
	for (int i = 0; i < SEG_N; i++) {
		s->have[i] = res.agg[i].count > 0;
		s->mean[i] = res.agg[i].mean;
	}
	s->joined = res.joined;
	an_result_free(&res);
	return res.joined ? 0 : -1;
}

static const int rows[] = { SEG_A, SEG_B, SEG_CJ, SEG_D, SEG_E, SEG_F, SEG_G, SEG_H, SEG_I, SEG_K, SEG_L, SEG_M,
			    SEG_VIRT_RECV, SEG_VIRT_SEND, SEG_LAYER_VM, SEG_LAYER_HOST, SEG_LAYER_WIRE,
			    SEG_LAYER_VIRT_MEASURED, SEG_LAYER_VIRT_UNMEASURED, SEG_RTT };

int an_compare_main(const char *a, const char *b, const char *out, bool json)
{
	struct side sa = {}, sb = {};
	char path[4096];
	double total;
	FILE *md, *js;

	if (load_side(a, &sa) || load_side(b, &sb)) {
		fprintf(stderr, "netseg analyze: --compare: %s has no joined echo (a directory of logs, "
				"or one with a report.json, or a report.json)\n",
			sa.have[SEG_RTT] ? b : a);
		return 1;
	}
	out = out ? out : ".";
	if (mkdir(out, 0755) && errno != EEXIST) {
		fprintf(stderr, "netseg analyze: cannot create %s: %s\n", out, strerror(errno));
		return 2;
	}
	total = sb.mean[SEG_RTT] - sa.mean[SEG_RTT];
	snprintf(path, sizeof(path), "%s/compare.md", out);
	md = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/compare.json", out);
	js = fopen(path, "w");
	if (!md || !js) {
		fprintf(stderr, "netseg analyze: cannot write into %s: %s\n", out, strerror(errno));
		if (md)
			fclose(md);
		if (js)
			fclose(js);
		return 1;
	}
	fprintf(md, "# netseg analyze: %s against %s (means, us)\n\n"
		    "A: %s (%llu echoes); B: %s (%llu echoes). The share is each row's part of the RTT's difference (%.1f us).\n\n"
		    "| metric | A | B | B - A | change | share of the difference |\n|---|---|---|---|---|---|\n",
		b, a, a, (unsigned long long)sa.joined, b, (unsigned long long)sb.joined, total);
	fprintf(js, "{\"type\":\"compare\",\"a\":\"%s\",\"b\":\"%s\",\"rtt_difference_us\":%.3f,\"rows\":{",
		a, b, total);
	if (!json)
		printf("%-26s %10s %10s %10s %8s %8s\n", "metric (mean us)", "A", "B", "B-A", "change",
		       "share");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int m = rows[i];
		double d = sb.mean[m] - sa.mean[m];
		double pct = sa.mean[m] ? 100.0 * d / sa.mean[m] : 0;
		double share = total ? 100.0 * d / total : 0;

		if (!sa.have[m] && !sb.have[m])
			continue;
		fprintf(md, "| %s | %.1f | %.1f | %+.1f | %+.1f %% | %.1f %% |\n", an_metrics[m].name,
			sa.mean[m], sb.mean[m], d, pct, share);
		fprintf(js, "%s\"%s\":{\"a_us\":%.3f,\"b_us\":%.3f,\"diff_us\":%.3f,\"change_pct\":%.2f,"
			    "\"share_of_difference_pct\":%.2f}",
			i ? "," : "", an_metrics[m].name, sa.mean[m], sb.mean[m], d, pct, share);
		if (!json)
			printf("%-26s %10.1f %10.1f %+10.1f %+7.1f%% %7.1f%%\n", an_metrics[m].name,
			       sa.mean[m], sb.mean[m], d, pct, share);
	}
	fputs("}}\n", js);
	fclose(md);
	fclose(js);
	if (json) {
		snprintf(path, sizeof(path), "%s/compare.json", out);
		char *buf = slurp(path);

		if (buf)
			fputs(buf, stdout);
		free(buf);
	} else {
		printf("reports: %s/compare.md %s/compare.json\n", out, out);
	}
	return 0;
}
