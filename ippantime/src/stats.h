/* Percentiles as the original computed them (numpy's default linear interpolation). */
#ifndef IPT_STATS_H
#define IPT_STATS_H
#include <stddef.h>
#include <stdint.h>

/* v is sorted in place; q in [0,100]; n must be > 0. */
long double ipt_pct_i64(int64_t *v, size_t n, double q);
double ipt_pct_dbl(double *v, size_t n, double q);
/* Truncate toward zero, as Python's int() of the interpolated value. */
int64_t ipt_trunc(long double x);

#endif
