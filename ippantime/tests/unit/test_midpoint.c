/* The mid-point arithmetic: the original's floor(floor((t0+t1)/2)/1000) for the classic
 * interval, the same for the honest one, exact over the whole int64 range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "midpoint.h"

static void matches_the_originals_formula_on_real_stamps(void **st)
{
	/* a row of the README: t0, t1, mid_wall_us, value, offset */
	int64_t t0 = 1795412924043117345LL, t1 = 1795412924046245243LL;
	(void)st;
	assert_true(ipt_mid_us(t0, t1) == 1795412924044681LL);
	assert_true(ipt_mid_us(t0, t1) == (t0 + t1) / 2 / 1000);
	assert_true(ipt_offset_us(1795412924045987LL, t0, t1) == 1306);
	/* order of the ends does not matter */
	assert_true(ipt_mid_us(t1, t0) == ipt_mid_us(t0, t1));
}

static void floors_at_both_divisions(void **st)
{
	(void)st;
	/* (1 + 2) / 2 = 1.5 -> 1 ns -> 0 us; 1999 + 2000 -> 1999 ns -> 1 us */
	assert_true(ipt_mid_us(1, 2) == 0);
	assert_true(ipt_mid_us(1999, 2000) == 1);
	/* negatives floor like Python's //: (-3 + 0) // 2 = -2 ns, -2 // 1000 = -1 us */
	assert_true(ipt_mid_us(-3, 0) == -1);
	assert_true(ipt_mid_us(-2000, 0) == -1);
	assert_true(ipt_mid_us(-2002, 0) == -2);
}

static void exact_at_the_int64_ends(void **st)
{
	(void)st;
	/* the sum would overflow; the halves do not */
	assert_true(ipt_mid_us(INT64_MAX, INT64_MAX) == INT64_MAX / 1000);
	assert_true(ipt_mid_us(INT64_MIN, INT64_MIN) == INT64_MIN / 1000 - 1);
	assert_true(ipt_mid_us(INT64_MIN, INT64_MAX) == -1); /* (-1)//2 = -1 ns -> -1 us */
}

static void honest_and_classic_differ_by_the_hold(void **st)
{
	/* a reused connection: request at 1000 us, reply read by the node at 1100 us, first byte
	 * back at 1200 us, body held 40 ms by Nagle + delayed ACK. The node is exact (value 1100). */
	int64_t t0 = 999000, t_sent = 1000000, t_fb = 1200000, t1 = 41200000, v = 1100;
	(void)st;
	assert_true(ipt_offset_us(v, t_sent, t_fb) == 0);
	assert_true(ipt_offset_us(v, t0, t1) == 1100 - 21099);
	assert_true(ipt_half_us(t_sent, t_fb) == 100.0);
	assert_true(ipt_half_us(t_fb, t_sent) == -100.0);
	/* wall-clock ns are beyond a double's 2^53: the difference must be taken first */
	assert_true(ipt_half_us(1800000000000100000LL, 1800000000002100001LL) == 1000.0005);
}

static void method_names_round_trip(void **st)
{
	enum ipt_midpoint m = IPT_MID_CLASSIC;
	(void)st;
	assert_true(ipt_midpoint_parse("honest", &m) == 0 && m == IPT_MID_HONEST);
	assert_true(ipt_midpoint_parse("classic", &m) == 0 && m == IPT_MID_CLASSIC);
	assert_true(ipt_midpoint_parse("Honest", &m) == -1 && m == IPT_MID_CLASSIC);
	assert_true(ipt_midpoint_parse("", &m) == -1);
	assert_string_equal(ipt_midpoint_name(IPT_MID_HONEST), "honest");
	assert_string_equal(ipt_midpoint_name(IPT_MID_CLASSIC), "classic");
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(matches_the_originals_formula_on_real_stamps),
		cmocka_unit_test(floors_at_both_divisions),
		cmocka_unit_test(exact_at_the_int64_ends),
		cmocka_unit_test(honest_and_classic_differ_by_the_hold),
		cmocka_unit_test(method_names_round_trip),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
