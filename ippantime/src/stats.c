#include "stats.h"

#include <math.h>
#include <stdlib.h>

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

long double ipt_pct_i64(int64_t *v, size_t n, double q)
{
	const int64_t exact = (int64_t)1 << 52;
	size_t f, c;
	qsort(v, n, sizeof(*v), cmp_i64);
	if (v[0] > -exact && v[n - 1] < exact) {
		/* Same double arithmetic as the original's Python, so truncation lands on the
		 * same integer as int(percentile(...)) did. Exact for these magnitudes. */
		double k = (double)(n - 1) * (q / 100.0);
		f = (size_t)k;
		c = f + 1 < n ? f + 1 : n - 1;
		if (f == c)
			return (long double)v[f];
		return (long double)((double)v[f] + (double)(v[c] - v[f]) * (k - (double)f));
	}
	{
		/* Beyond 2^52 a double would round the values themselves: interpolate in long
		 * double, and take the difference there too (it may overflow int64). */
		long double k = (long double)(n - 1) * ((long double)q / 100.0L);
		f = (size_t)k;
		c = f + 1 < n ? f + 1 : n - 1;
		if (f == c)
			return (long double)v[f];
		return (long double)v[f] + ((long double)v[c] - (long double)v[f]) * (k - (long double)f);
	}
}

double ipt_pct_dbl(double *v, size_t n, double q)
{
	double k;
	size_t f, c;
	qsort(v, n, sizeof(*v), cmp_dbl);
	k = (double)(n - 1) * (q / 100.0);
	f = (size_t)k;
	c = f + 1 < n ? f + 1 : n - 1;
	if (f == c)
		return v[f];
	return v[f] + (v[c] - v[f]) * (k - (double)f);
}

int64_t ipt_trunc(long double x)
{
	if (x >= 9223372036854775807.0L)
		return INT64_MAX;
	if (x <= -9223372036854775808.0L)
		return INT64_MIN;
	return (int64_t)truncl(x);
}
