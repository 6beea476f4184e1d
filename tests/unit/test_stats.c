// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "lib/stats.h"

static void empty_summary_is_zero(void **state)
{
	struct stats s;
	struct stats_summary sum;

	(void)state;
	stats_init(&s, 0);
	stats_summarize(&s, &sum);
	assert_int_equal(sum.count, 0);
	assert_true(sum.p99 == 0);
	stats_free(&s);
}

static void exact_percentiles_interpolate_like_numpy(void **state)
{
	struct stats s;
	struct stats_summary sum;

	(void)state;
	stats_init(&s, 0);
	/* 1..10 in shuffled order */
	const uint64_t v[] = { 7, 3, 10, 1, 9, 2, 8, 4, 6, 5 };
	for (size_t i = 0; i < 10; i++)
		stats_add(&s, v[i]);
	stats_summarize(&s, &sum);
	assert_int_equal(sum.count, 10);
	assert_int_equal(sum.min, 1);
	assert_int_equal(sum.max, 10);
	assert_true(sum.mean == 5.5);
	/* numpy.percentile([1..10], 50) = 5.5, 90 -> 9.1, 99 -> 9.91 */
	assert_true(sum.p50 == 5.5);
	assert_true(sum.p90 > 9.0999 && sum.p90 < 9.1001);
	assert_true(sum.p99 > 9.9099 && sum.p99 < 9.9101);
	assert_false(sum.approximate);
	stats_free(&s);
}

static void single_sample(void **state)
{
	struct stats s;

	(void)state;
	stats_init(&s, 0);
	stats_add(&s, 42);
	assert_true(stats_percentile(&s, 0) == 42);
	assert_true(stats_percentile(&s, 100) == 42);
	stats_free(&s);
}

static void past_the_bound_percentiles_stay_within_documented_error(void **state)
{
	struct stats exact, approx;
	uint64_t x = 88172645463325252ull;

	(void)state;
	stats_init(&exact, 1 << 20);
	stats_init(&approx, 1000);
	for (int i = 0; i < 50000; i++) {
		/* xorshift: a spread of latencies from 1 us to ~1 s */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t v = 1000 + x % 1000000000ull;
		stats_add(&exact, v);
		stats_add(&approx, v);
	}
	assert_true(approx.approximate);
	assert_null(approx.samples);
	assert_int_equal(approx.count, 50000);
	assert_int_equal(approx.min, exact.min);
	assert_int_equal(approx.max, exact.max);
	for (double p = 1; p <= 99; p += 7) {
		double e = stats_percentile(&exact, p), a = stats_percentile(&approx, p);
		double rel = (a - e) / e;
		/* bucket midpoint (1/64) plus the rank step between neighbours */
		assert_true(rel < 0.02 && rel > -0.02);
	}
	stats_free(&exact);
	stats_free(&approx);
}

static void small_values_are_exact_in_the_histogram(void **state)
{
	struct stats s;

	(void)state;
	stats_init(&s, 2);
	for (int i = 0; i < 31; i++)
		stats_add(&s, 7);
	assert_true(s.approximate);
	assert_true(stats_percentile(&s, 50) == 7);
	stats_free(&s);
}

static void log2_slots(void **state)
{
	(void)state;
	assert_int_equal(stats_log2_slot(0), 0);
	assert_int_equal(stats_log2_slot(1), 0);
	assert_int_equal(stats_log2_slot(2), 1);
	assert_int_equal(stats_log2_slot(3), 1);
	assert_int_equal(stats_log2_slot(1024), 10);
	assert_int_equal(stats_log2_slot(UINT64_MAX), 63);
	assert_int_equal(stats_fine_slot(31), 31);
	assert_int_equal(stats_fine_slot(32), 32);
	assert_int_equal(stats_fine_slot(63), 63);
	assert_int_equal(stats_fine_slot(64), 64);
	assert_true(stats_fine_slot(UINT64_MAX) < STATS_FINE_SLOTS);
}

static void log2_hist_prints_rows_and_stars(void **state)
{
	uint64_t slots[64] = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	(void)state;
	slots[10] = 4; /* 1024..2047 ns */
	slots[12] = 2;
	stats_print_log2_hist(fp, slots, 64, 1000, "usecs");
	fclose(fp);
	assert_non_null(strstr(buf, "usecs"));
	assert_non_null(strstr(buf, "count    distribution"));
	/* ns -> us: 1024..2047 ns is 1 -> 2 us; peak row has 40 stars */
	assert_non_null(strstr(buf, "1 -> 2"));
	assert_non_null(strstr(buf, ": 4        |****************************************|"));
	assert_non_null(strstr(buf, ": 2        |********************                    |"));
	/* the empty slot between is printed with no stars */
	assert_non_null(strstr(buf, ": 0        |                                        |"));
	free(buf);
}

static void log2_json(void **state)
{
	uint64_t slots[64] = { 0 };
	char buf[256];

	(void)state;
	slots[0] = 1;
	slots[3] = 2;
	stats_log2_json(slots, 64, buf, sizeof(buf));
	assert_string_equal(buf, "[[0,1,1],[8,15,2]]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_summary_is_zero),
		cmocka_unit_test(exact_percentiles_interpolate_like_numpy),
		cmocka_unit_test(single_sample),
		cmocka_unit_test(past_the_bound_percentiles_stay_within_documented_error),
		cmocka_unit_test(small_values_are_exact_in_the_histogram),
		cmocka_unit_test(log2_slots),
		cmocka_unit_test(log2_hist_prints_rows_and_stars),
		cmocka_unit_test(log2_json),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
