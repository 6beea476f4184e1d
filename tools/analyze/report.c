// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* report.json (a contract other tools read) and report.md (for people). */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "analyze.h"
#include "lib/output.h"
#include "lib/tracer.h"

static const char *format_name(enum an_format f)
{
	switch (f) {
	case AN_FMT_JSON:
		return "json";
	case AN_FMT_TEXT:
		return "text";
	case AN_FMT_ORIGINAL:
		return "original";
	default:
		return "unknown";
	}
}

static void json_str(FILE *fp, const char *s)
{
	char buf[1024];

	out_json_string(buf, sizeof(buf), s ? s : "");
	fputs(buf, fp);
}

static void json_agg(FILE *fp, const struct an_agg *a, const char *source, bool share)
{
	fprintf(fp, "{\"count\":%llu,\"min_us\":%.3f,\"mean_us\":%.3f,\"p50_us\":%.3f,"
		    "\"p90_us\":%.3f,\"p99_us\":%.3f,\"max_us\":%.3f",
		(unsigned long long)a->count, a->min, a->mean, a->p50, a->p90, a->p99, a->max);
	if (share)
		fprintf(fp, ",\"share_pct\":%.2f", a->share_pct);
	fputs(",\"source\":", fp);
	json_str(fp, source);
	fputc('}', fp);
}

static void ip(char *buf, uint32_t a)
{
	if (a)
		inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
	else
		snprintf(buf, INET_ADDRSTRLEN, "?");
}

/* The layers' mean sum against the mean RTT: shown, never hidden. */
static double residual(const struct an_result *res)
{
	double sum = 0;

	for (int i = SEG_FIRST_LAYER; i < SEG_N; i++)
		sum += res->agg[i].mean;
	sum = res->agg[SEG_RTT].mean - sum;
	/* rounding noise must not print as "-0.000" */
	return fabs(sum) < 0.0005 ? 0 : sum;
}

/* Facts worth a sentence, most important first. */
static int findings(const struct an_result *res, char out[][256], int max)
{
	int n = 0, big = -1, var = -1, layer = SEG_FIRST_LAYER;

	if (!res->joined) {
		snprintf(out[n++], 256, "no echo was found in all six logs: nothing to break down");
		return n;
	}
	for (int i = SEG_A; i <= SEG_M; i++) {
		if (!res->agg[i].count)
			continue;
		if (big < 0 || res->agg[i].mean > res->agg[big].mean)
			big = i;
		if (var < 0 || res->agg[i].p99 - res->agg[i].p50 > res->agg[var].p99 - res->agg[var].p50)
			var = i;
	}
	for (int i = SEG_FIRST_LAYER; i < SEG_N; i++)
		if (res->agg[i].mean > res->agg[layer].mean)
			layer = i;
	snprintf(out[n++], 256, "largest layer: %s, %.1f %% of the mean RTT (%.1f of %.1f us)",
		 an_metrics[layer].name, res->agg[layer].share_pct, res->agg[layer].mean,
		 res->agg[SEG_RTT].mean);
	if (big >= 0 && n < max)
		snprintf(out[n++], 256, "largest segment: %s (%s), mean %.1f us", an_metrics[big].name,
			 an_metrics[big].what, res->agg[big].mean);
	if (var >= 0 && n < max)
		snprintf(out[n++], 256, "largest variance: %s, p99 - p50 = %.1f us",
			 an_metrics[var].name, res->agg[var].p99 - res->agg[var].p50);
	for (int r = 0; r < AN_N_ROLES && n < max; r++)
		if (res->in.info[r].drops)
			snprintf(out[n++], 256, "%s log: %llu echoes dropped or incomplete there",
				 an_role_name(r), (unsigned long long)res->in.info[r].drops);
	if (res->n_partial && n < max)
		snprintf(out[n++], 256, "%llu echoes are missing from at least one log (listed under echoes.partial)",
			 (unsigned long long)res->n_partial);
	for (int i = 0; i < ID_N && n < max; i++)
		if (res->ident[i].of && res->ident[i].held != res->ident[i].of)
			snprintf(out[n++], 256, "identity %s failed on %llu of %llu echoes",
				 res->ident[i].name,
				 (unsigned long long)(res->ident[i].of - res->ident[i].held),
				 (unsigned long long)res->ident[i].of);
	return n;
}

static void roles_json(FILE *fp, uint8_t mask)
{
	bool first = true;

	fputc('[', fp);
	for (int r = 0; r < AN_N_ROLES; r++)
		if (mask & (1u << r)) {
			fprintf(fp, "%s\"%s\"", first ? "" : ",", an_role_name(r));
			first = false;
		}
	fputc(']', fp);
}

int an_write_json(FILE *fp, const struct an_result *res)
{
	char f[16][256], a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	int nf = findings(res, f, 16);
	bool first = true;

	fprintf(fp, "{\"type\":\"report\",\"tool\":\"netseg analyze\",\"version\":\"%s\",",
		NETSEG_VERSION);
	fputs("\"environment\":{\"name\":", fp);
	json_str(fp, res->env ? res->env : "");
	fprintf(fp, ",\"same_clock\":%s,\"logs\":{", res->same_clock ? "true" : "false");
	for (int r = 0; r < AN_N_ROLES; r++) {
		const struct an_file_info *fi = &res->in.info[r];

		fprintf(fp, "%s\"%s\":{\"file\":", r ? "," : "", an_role_name(r));
		json_str(fp, res->in.path[r]);
		fprintf(fp, ",\"present\":%s,\"tool\":\"%s\",\"format\":\"%s\",\"lines\":%llu,"
			    "\"records\":%llu,\"runs\":%d,\"drops\":%llu,\"warnings\":%llu,"
			    "\"ignored\":%llu,\"duplicates\":%llu}",
			res->in.present[r] ? "true" : "false", an_tool_name(fi->tool),
			format_name(fi->format), (unsigned long long)fi->lines,
			(unsigned long long)fi->records, fi->runs, (unsigned long long)fi->drops,
			(unsigned long long)fi->warnings, (unsigned long long)res->in.ignored[r],
			(unsigned long long)res->in.duplicates[r]);
	}
	fputs("}},\"segments\":{", fp);
	for (int i = SEG_A; i <= SEG_J; i++) {
		if (an_metrics[i].measured_lab_only && !res->agg[i].count)
			continue;
		fprintf(fp, "%s\"%s\":", first ? "" : ",", an_metrics[i].name);
		json_agg(fp, &res->agg[i], an_metrics[i].source, false);
		first = false;
	}
	fputs("},\"derived\":{", fp);
	for (int i = SEG_VIRT_RECV; i <= SEG_VIRT_SEND; i++) {
		fprintf(fp, "%s\"%s\":", i == SEG_VIRT_RECV ? "" : ",", an_metrics[i].name);
		json_agg(fp, &res->agg[i], an_metrics[i].source, false);
	}
	fputs("},\"rtt\":", fp);
	json_agg(fp, &res->agg[SEG_RTT], an_metrics[SEG_RTT].source, false);
	fputs(",\"layers\":{", fp);
	for (int i = SEG_FIRST_LAYER; i < SEG_N; i++) {
		fprintf(fp, "%s\"%s\":", i == SEG_FIRST_LAYER ? "" : ",", an_metrics[i].name);
		json_agg(fp, &res->agg[i], an_metrics[i].source, true);
	}
	fprintf(fp, "},\"layers_residual_us\":%.3f,", residual(res));
	fprintf(fp, "\"echoes\":{\"seen\":%llu,\"joined\":%llu,\"partial\":[",
		(unsigned long long)res->echoes_total, (unsigned long long)res->joined);
	for (uint64_t i = 0; i < res->n_partial; i++) {
		const struct an_partial *p = &res->partial[i];

		ip(a, p->key.initiator);
		ip(b, p->key.target);
		fprintf(fp, "%s{\"initiator\":\"%s\",\"target\":\"%s\",\"id\":%u,\"seq\":%u,\"missing\":",
			i ? "," : "", a, b, p->key.id, p->key.seq);
		roles_json(fp, p->missing);
		fputc('}', fp);
	}
	fprintf(fp, "]},\"validation\":{\"tolerance\":\"max(%.0f us, %.0f %% of the echo's RTT)\","
		    "\"identities\":[",
		res->tolerance_us, res->tolerance_pct);
	for (int i = 0; i < ID_N; i++) {
		fprintf(fp, "%s{\"name\":\"%s\",\"formula\":", i ? "," : "", res->ident[i].name);
		json_str(fp, res->ident[i].formula);
		fprintf(fp, ",\"held\":%llu,\"of\":%llu,\"tolerance\":\"max(%.0f us, %.0f %%)\"}",
			(unsigned long long)res->ident[i].held, (unsigned long long)res->ident[i].of,
			res->tolerance_us, res->tolerance_pct);
	}
	fputs("]},\"findings\":[", fp);
	for (int i = 0; i < nf; i++) {
		fputs(i ? "," : "", fp);
		json_str(fp, f[i]);
	}
	fputs("]}\n", fp);
	return ferror(fp) ? -1 : 0;
}

/* ---- report.md ----------------------------------------------------------- */

static void md_row(FILE *fp, const char *name, const struct an_agg *a, const char *last)
{
	if (!a->count) {
		fprintf(fp, "| %s | 0 | - | - | - | - | - | - | %s |\n", name, last);
		return;
	}
	fprintf(fp, "| %s | %llu | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %s |\n", name,
		(unsigned long long)a->count, a->min, a->mean, a->p50, a->p90, a->p99, a->max, last);
}

#define MD_HEAD(last) \
	"| metric | count | min | mean | p50 | p90 | p99 | max | " last " |\n" \
	"|---|---|---|---|---|---|---|---|---|\n"

static const struct {
	enum an_role role;
	const char *title;
	int metrics[5];
} tool_tables[] = {
	{ AN_SENDER_VM, "VM-S, kernel_icmp_rtt tx", { SEG_A, SEG_M, SEG_RTT, -1 } },
	{ AN_RECEIVER_VM, "VM-R, kernel_icmp_rtt rx", { SEG_F, SEG_G, SEG_H, -1 } },
	{ AN_SENDER_HOST, "HS, icmp_drop_detector", { SEG_B, SEG_K, -1 } },
	{ AN_RECEIVER_HOST, "HR, icmp_drop_detector", { SEG_D, SEG_I, -1 } },
	{ AN_RECEIVER_VHOST, "HR, tun_tx_to_kvm_irq", { SEG_E, -1 } },
	{ AN_SENDER_VHOST, "HS, tun_tx_to_kvm_irq", { SEG_L, -1 } },
};

int an_write_md(FILE *fp, const struct an_result *res)
{
	const struct an_echo *e = &res->median;
	char f[16][256];
	int nf = findings(res, f, 16);
	double m[SEG_N];
	bool have[SEG_N];

	fprintf(fp, "# netseg analyze: where a VM-to-VM ping spends its time\n\n");
	fprintf(fp, "## Environment\n\n");
	fprintf(fp, "- name: %s\n- one clock for every log (lab): %s\n", res->env ? res->env : "(not given)",
		res->same_clock ? "yes" : "no");
	fprintf(fp, "- echoes: %llu seen, %llu in all six logs (the statistics cover these), %llu partial\n\n",
		(unsigned long long)res->echoes_total, (unsigned long long)res->joined,
		(unsigned long long)res->n_partial);
	fprintf(fp, "| role | file | tool | format | records | runs | drops | warnings |\n|---|---|---|---|---|---|---|---|\n");
	for (int r = 0; r < AN_N_ROLES; r++) {
		const struct an_file_info *fi = &res->in.info[r];

		fprintf(fp, "| %s | %s | %s | %s | %llu | %d | %llu | %llu |\n", an_role_name(r),
			res->in.path[r] ? res->in.path[r] : "(none)", an_tool_name(fi->tool),
			format_name(fi->format), (unsigned long long)fi->records, fi->runs,
			(unsigned long long)fi->drops, (unsigned long long)fi->warnings);
	}

	fprintf(fp, "\n## The median echo, along its path (us)\n\n");
	an_echo_metrics(e, res->same_clock, m, have);
	if (res->joined && have[SEG_RTT]) {
		fprintf(fp, "```\nVM-S  A %.1f -> [virt %.1f] -> HS  B %.1f -> wire C+J %.1f (both ways) -> HR  D %.1f\n"
			    "  -> E %.1f -> VM-R  F %.1f  G %.1f  H %.1f -> [virt %.1f] -> HR  I %.1f\n"
			    "  -> HS  K %.1f -> L %.1f -> VM-S  M %.1f        RTT %.1f (id %u seq %u)\n```\n",
			m[SEG_A], m[SEG_VIRT_SEND], m[SEG_B], m[SEG_CJ], m[SEG_D], m[SEG_E], m[SEG_F], m[SEG_G], m[SEG_H],
			m[SEG_VIRT_RECV], m[SEG_I], m[SEG_K], m[SEG_L], m[SEG_M], m[SEG_RTT], e->key.id, e->key.seq);
	} else {
		fprintf(fp, "(no joined echo)\n");
	}

	fprintf(fp, "\n## Per tool (us)\n");
	for (size_t t = 0; t < sizeof(tool_tables) / sizeof(tool_tables[0]); t++) {
		fprintf(fp, "\n### %s (%s)\n\n" MD_HEAD("field"), tool_tables[t].title,
			an_role_file(tool_tables[t].role));
		for (int k = 0; k < 5 && tool_tables[t].metrics[k] >= 0; k++) {
			int id = tool_tables[t].metrics[k];

			md_row(fp, an_metrics[id].name, &res->agg[id], an_metrics[id].source);
		}
	}

	fprintf(fp, "\n## Segments (us)\n\n" MD_HEAD("source"));
	for (int i = SEG_A; i <= SEG_J; i++) {
		char name[64];

		if (an_metrics[i].measured_lab_only && !res->agg[i].count)
			continue;
		snprintf(name, sizeof(name), "%s: %s", an_metrics[i].name, an_metrics[i].what);
		md_row(fp, name, &res->agg[i], an_metrics[i].source);
	}
	md_row(fp, "RTT", &res->agg[SEG_RTT], an_metrics[SEG_RTT].source);

	fprintf(fp, "\n## Derived segments (us)\n\n" MD_HEAD("formula"));
	md_row(fp, "C+J (wire, both ways)", &res->agg[SEG_CJ], "HS External - HR Total");
	for (int i = SEG_VIRT_RECV; i <= SEG_VIRT_SEND; i++)
		md_row(fp, an_metrics[i].name, &res->agg[i], an_metrics[i].source);
	fprintf(fp, "\nC and J are not split: halving C+J assumes a symmetric wire, which nothing here measures%s.\n",
		res->same_clock ? " (in this one-clock lab C and J are also measured directly, above)" : "");

	fprintf(fp, "\n## Layers (share of the mean RTT)\n\n"
		    "| layer | formula | mean us | p50 us | p99 us | share |\n|---|---|---|---|---|---|\n");
	for (int i = SEG_FIRST_LAYER; i < SEG_N; i++)
		fprintf(fp, "| %s | %s | %.1f | %.1f | %.1f | %.1f %% |\n", an_metrics[i].name,
			an_metrics[i].source, res->agg[i].mean, res->agg[i].p50, res->agg[i].p99,
			res->agg[i].share_pct);
	fprintf(fp, "| residual | mean RTT - sum of the layers' means | %.3f | | | |\n", residual(res));

	fprintf(fp, "\n## Validation (per echo, tolerance max(%.0f us, %.0f %% of its RTT))\n\n"
		    "| identity | formula | held |\n|---|---|---|\n",
		res->tolerance_us, res->tolerance_pct);
	for (int i = 0; i < ID_N; i++)
		fprintf(fp, "| %s | %s | %llu of %llu |\n", res->ident[i].name, res->ident[i].formula,
			(unsigned long long)res->ident[i].held, (unsigned long long)res->ident[i].of);

	fprintf(fp, "\n## Findings\n\n");
	for (int i = 0; i < nf; i++)
		fprintf(fp, "- %s\n", f[i]);
	if (res->n_partial) {
		fprintf(fp, "\n## Partial echoes (not in the statistics)\n\n| id | seq | missing from |\n|---|---|---|\n");
		for (uint64_t i = 0; i < res->n_partial && i < 50; i++) {
			fprintf(fp, "| %u | %u |", res->partial[i].key.id, res->partial[i].key.seq);
			for (int r = 0; r < AN_N_ROLES; r++)
				if (res->partial[i].missing & (1u << r))
					fprintf(fp, " %s", an_role_file(r));
			fprintf(fp, " |\n");
		}
		if (res->n_partial > 50)
			fprintf(fp, "\n(%llu more in report.json)\n", (unsigned long long)(res->n_partial - 50));
	}
	return ferror(fp) ? -1 : 0;
}
