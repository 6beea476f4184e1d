// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include "stats.h"

void stats_init(struct stats *s, size_t keep)
{
	memset(s, 0, sizeof(*s));
	s->keep = keep ? keep : STATS_DEFAULT_KEEP;
	s->min = UINT64_MAX;
}

void stats_free(struct stats *s)
{
	free(s->samples);
	s->samples = NULL;
	s->n = s->cap = 0;
}

unsigned stats_log2_slot(uint64_t v)
{
	return v ? 63 - __builtin_clzll(v) : 0;
}

unsigned stats_fine_slot(uint64_t v)
{
	unsigned msb;

	if (v < STATS_SUB)
		return (unsigned)v;
	msb = 63 - __builtin_clzll(v);
	/* msb >= 5: keep the 5 bits below the leading one */
	return (msb - 4) * STATS_SUB + (unsigned)((v >> (msb - 5)) & (STATS_SUB - 1));
}

/* Smallest value and width of a fine slot. */
static void fine_bounds(unsigned slot, uint64_t *lo, uint64_t *width)
{
	unsigned msb;

	if (slot < STATS_SUB) {
		*lo = slot;
		*width = 1;
		return;
	}
	msb = slot / STATS_SUB + 4;
	*width = 1ull << (msb - 5);
	*lo = (1ull << msb) + (uint64_t)(slot % STATS_SUB) * *width;
}

static void drop_samples(struct stats *s)
{
	free(s->samples);
	s->samples = NULL;
	s->n = s->cap = 0;
	s->approximate = true;
}

int stats_add(struct stats *s, uint64_t v)
{
	int rc = 0;

	s->count++;
	s->sum += v;
	if (v < s->min)
		s->min = v;
	if (v > s->max)
		s->max = v;
	s->log2[stats_log2_slot(v)]++;
	s->log2_us[stats_log2_slot(v / 1000)]++;
	s->fine[stats_fine_slot(v)]++;
	if (s->approximate)
		return 0;
	if (s->n == s->keep) {
		drop_samples(s);
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		uint64_t *p;

		if (cap > s->keep)
			cap = s->keep;
		p = realloc(s->samples, cap * sizeof(*p));
		if (!p) {
			drop_samples(s);
			return -1;
		}
		s->samples = p;
		s->cap = cap;
	}
	s->samples[s->n++] = v;
	s->sorted = false;
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double fine_percentile(const struct stats *s, double pct)
{
	double rank = pct / 100.0 * (double)(s->count - 1);
	uint64_t seen = 0;

	for (unsigned i = 0; i < STATS_FINE_SLOTS; i++) {
		if (!s->fine[i])
			continue;
		seen += s->fine[i];
		if ((double)seen > rank) {
			uint64_t lo, width;
			double mid;

			fine_bounds(i, &lo, &width);
			mid = (double)lo + (double)(width - 1) / 2.0;
			if (mid < (double)s->min)
				mid = (double)s->min;
			if (mid > (double)s->max)
				mid = (double)s->max;
			return mid;
		}
	}
	return (double)s->max;
}

double stats_percentile(struct stats *s, double pct)
{
	double pos, frac;
	size_t lo;

	if (!s->count)
		return 0;
	if (pct < 0)
		pct = 0;
	if (pct > 100)
		pct = 100;
	if (s->approximate)
		return fine_percentile(s, pct);
	if (!s->sorted) {
		qsort(s->samples, s->n, sizeof(*s->samples), cmp_u64);
		s->sorted = true;
	}
	pos = pct / 100.0 * (double)(s->n - 1);
	lo = (size_t)pos;
	frac = pos - (double)lo;
	if (lo + 1 >= s->n)
		return (double)s->samples[s->n - 1];
	return (double)s->samples[lo] + ((double)s->samples[lo + 1] - (double)s->samples[lo]) * frac;
}

void stats_summarize(struct stats *s, struct stats_summary *out)
{
	memset(out, 0, sizeof(*out));
	out->count = s->count;
	if (!s->count)
		return;
	out->min = s->min;
	out->max = s->max;
	out->mean = (double)(s->sum / (long double)s->count);
	out->p50 = stats_percentile(s, 50);
	out->p90 = stats_percentile(s, 90);
	out->p99 = stats_percentile(s, 99);
	out->approximate = s->approximate;
}

void stats_print_log2_hist(FILE *fp, const uint64_t *slots, unsigned n_slots, uint64_t div,
			   const char *unit)
{
	int first = -1, last = -1;
	uint64_t peak = 0;
	const int bar = 40;

	for (unsigned i = 0; i < n_slots; i++) {
		if (!slots[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (slots[i] > peak)
			peak = slots[i];
	}
	if (last < 0)
		return;
	if (!div)
		div = 1;
	fprintf(fp, "%*s%-*s : count    distribution\n", 10, "", 14, unit);
	/* after scaling, rows below the unit collapse into the first one shown */
	for (int i = first; i <= last; i++) {
		uint64_t lo = i ? (1ull << i) : 0, hi = i == 63 ? UINT64_MAX : (1ull << (i + 1)) - 1;
		int stars = (int)((slots[i] * bar + peak - 1) / peak);
		char starbuf[64];

		if (!slots[i])
			stars = 0;
		memset(starbuf, '*', stars);
		memset(starbuf + stars, ' ', bar - stars);
		starbuf[bar] = 0;
		fprintf(fp, "%14llu -> %-14llu : %-8llu |%s|\n", (unsigned long long)(lo / div),
			(unsigned long long)(hi / div), (unsigned long long)slots[i], starbuf);
	}
}

int stats_log2_json(const uint64_t *slots, unsigned n_slots, char *buf, size_t len)
{
	size_t used = 0;
	bool first = true;

	used += snprintf(buf, len, "[");
	for (unsigned i = 0; i < n_slots; i++) {
		uint64_t lo = i ? (1ull << i) : 0, hi = i == 63 ? UINT64_MAX : (1ull << (i + 1)) - 1;

		if (!slots[i])
			continue;
		used += snprintf(used < len ? buf + used : NULL, used < len ? len - used : 0,
				 "%s[%llu,%llu,%llu]", first ? "" : ",", (unsigned long long)lo,
				 (unsigned long long)hi, (unsigned long long)slots[i]);
		first = false;
	}
	used += snprintf(used < len ? buf + used : NULL, used < len ? len - used : 0, "]");
	return (int)used;
}

int stats_to_json(struct stats *s, char *buf, size_t len)
{
	struct stats_summary m;
	size_t off;

	stats_summarize(s, &m);
	off = snprintf(buf, len,
		       "{\"count\":%llu,\"min_ns\":%llu,\"mean_ns\":%.0f,\"p50_ns\":%.0f,"
		       "\"p90_ns\":%.0f,\"p99_ns\":%.0f,\"max_ns\":%llu,\"approximate\":%s,\"hist\":",
		       (unsigned long long)m.count, (unsigned long long)m.min, m.mean, m.p50, m.p90,
		       m.p99, (unsigned long long)m.max, m.approximate ? "true" : "false");
	off += stats_log2_json(s->log2, STATS_LOG2_SLOTS, off < len ? buf + off : NULL,
			       off < len ? len - off : 0);
	off += snprintf(off < len ? buf + off : NULL, off < len ? len - off : 0, "}");
	return (int)off;
}

void stats_print_header(FILE *fp)
{
	fprintf(fp, "%-22s %8s %12s %12s %12s %12s %12s %12s\n", "segment (us)", "count", "min",
		"mean", "p50", "p90", "p99", "max");
}

void stats_print_row(FILE *fp, const char *name, struct stats *s)
{
	struct stats_summary m;

	stats_summarize(s, &m);
	if (!m.count) {
		fprintf(fp, "%-22s %8d %12s %12s %12s %12s %12s %12s\n", name, 0, "-", "-", "-", "-",
			"-", "-");
		return;
	}
	fprintf(fp, "%-22s %8llu %12.3f %12.3f %12.3f %12.3f %12.3f %12.3f%s\n", name,
		(unsigned long long)m.count, m.min / 1e3, m.mean / 1e3, m.p50 / 1e3, m.p90 / 1e3,
		m.p99 / 1e3, m.max / 1e3, m.approximate ? " (approx.)" : "");
}
