/* Percentiles match numpy's default linear interpolation, truncated toward zero. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stats.h"

static void linear_interpolation_like_numpy(void **st)
{
	int64_t a[] = {40, 10, 30, 20};
	double d[] = {0.5, 0.1, 0.3};
	(void)st;
	/* numpy.percentile([10,20,30,40], 50) == 25.0; 95 -> 38.5; 99 -> 39.7 */
	assert_true(ipt_trunc(ipt_pct_i64(a, 4, 50)) == 25);
	assert_true(ipt_trunc(ipt_pct_i64(a, 4, 95)) == 38);
	assert_true(ipt_trunc(ipt_pct_i64(a, 4, 99)) == 39);
	assert_true(ipt_trunc(ipt_pct_i64(a, 4, 100)) == 40);
	assert_true(ipt_trunc(ipt_pct_i64(a, 4, 0)) == 10);
	/* numpy.percentile([0.1,0.3,0.5], 99) == 0.496 */
	assert_true(ipt_pct_dbl(d, 3, 99) > 0.4959 && ipt_pct_dbl(d, 3, 99) < 0.4961);
}

static void truncation_toward_zero_for_negatives(void **st)
{
	int64_t a[] = {-10, -21};
	int64_t one[] = {7};
	(void)st;
	/* interpolated -15.5 -> -15 (not -16) */
	assert_true(ipt_trunc(ipt_pct_i64(a, 2, 50)) == -15);
	assert_true(ipt_trunc(ipt_pct_i64(one, 1, 99)) == 7);
}

static void large_values_stay_exact(void **st)
{
	int64_t a[] = {1732000000123457LL, 1732000000123457LL};
	int64_t b[] = {INT64_MIN + 1, INT64_MAX};
	(void)st;
	assert_true(ipt_trunc(ipt_pct_i64(a, 2, 99)) == 1732000000123457LL);
	/* the span overflows int64; interpolation must not */
	assert_true(ipt_trunc(ipt_pct_i64(b, 2, 50)) == 0);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(linear_interpolation_like_numpy),
		cmocka_unit_test(truncation_toward_zero_for_negatives),
		cmocka_unit_test(large_values_stay_exact),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
