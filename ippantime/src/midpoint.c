#include "midpoint.h"

#include <string.h>

const char *ipt_midpoint_name(enum ipt_midpoint m)
{
	return m == IPT_MID_CLASSIC ? "classic" : "honest";
}

int ipt_midpoint_parse(const char *s, enum ipt_midpoint *m)
{
	if (!strcmp(s, "honest"))
		*m = IPT_MID_HONEST;
	else if (!strcmp(s, "classic"))
		*m = IPT_MID_CLASSIC;
	else
		return -1;
	return 0;
}

/* C's / truncates; the original's // floors. They differ only for negative quotients. */
static int64_t floor_div(int64_t x, int64_t d)
{
	int64_t q = x / d;
	return (x % d != 0 && (x < 0) != (d < 0)) ? q - 1 : q;
}

int64_t ipt_mid_us(int64_t a_ns, int64_t b_ns)
{
	/* a = 2*qa + ra with ra in {0, 1}, so floor((a+b)/2) = qa + qb + (ra+rb)/2, and that sum
	 * stays within int64 for any a and b (each half is at most 2^62 in magnitude) */
	int64_t qa = floor_div(a_ns, 2), qb = floor_div(b_ns, 2);
	int64_t r = (a_ns - 2 * qa) + (b_ns - 2 * qb);
	return floor_div(qa + qb + r / 2, 1000);
}

int64_t ipt_offset_us(int64_t value_us, int64_t a_ns, int64_t b_ns)
{
	return value_us - ipt_mid_us(a_ns, b_ns);
}

double ipt_half_us(int64_t a_ns, int64_t b_ns)
{
	/* long double holds any int64 exactly; two doubles of wall-clock ns would each be
	 * rounded to 256 ns before the difference is taken */
	return (double)(((long double)b_ns - (long double)a_ns) / 2000.0L);
}
