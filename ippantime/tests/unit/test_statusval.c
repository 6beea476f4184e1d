/* The accepted and rejected value forms of the spec, with exact 64-bit results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "statusval.h"

static enum ipt_vres val(const char *body, int64_t *out)
{
	return ipt_status_value(body, strlen(body), "ippan_time_us", out);
}

static void accepts_integer_exactly(void **st)
{
	int64_t v = 0;
	(void)st;
	assert_int_equal(val("{\"ippan_time_us\": 1732000000123457}", &v), IPT_V_OK);
	assert_true(v == 1732000000123457LL);
	/* beyond 2^53: a double would round this */
	assert_int_equal(val("{\"ippan_time_us\": 9007199254740993}", &v), IPT_V_OK);
	assert_true(v == 9007199254740993LL);
	assert_int_equal(val("{\"ippan_time_us\": 9223372036854775807}", &v), IPT_V_OK);
	assert_true(v == INT64_MAX);
	assert_int_equal(val("{\"ippan_time_us\": -5}", &v), IPT_V_OK);
	assert_true(v == -5);
}

static void float_truncates_toward_zero(void **st)
{
	int64_t v = 0;
	(void)st;
	assert_int_equal(val("{\"ippan_time_us\": 1732000000123456.75}", &v), IPT_V_OK);
	assert_true(v == 1732000000123456LL);
	assert_int_equal(val("{\"ippan_time_us\": -3.9}", &v), IPT_V_OK);
	assert_true(v == -3);
	assert_int_equal(val("{\"ippan_time_us\": 1e300}", &v), IPT_V_BAD_VALUE);
}

static void digit_strings_only(void **st)
{
	int64_t v = 0;
	(void)st;
	assert_int_equal(val("{\"ippan_time_us\": \"1732000000123457\"}", &v), IPT_V_OK);
	assert_true(v == 1732000000123457LL);
	assert_int_equal(val("{\"ippan_time_us\": \"-5\"}", &v), IPT_V_BAD_VALUE);
	assert_int_equal(val("{\"ippan_time_us\": \"12us\"}", &v), IPT_V_BAD_VALUE);
	assert_int_equal(val("{\"ippan_time_us\": \" 12\"}", &v), IPT_V_BAD_VALUE);
	assert_int_equal(val("{\"ippan_time_us\": \"\"}", &v), IPT_V_BAD_VALUE);
	assert_int_equal(val("{\"ippan_time_us\": \"1.5\"}", &v), IPT_V_BAD_VALUE);
	assert_int_equal(val("{\"ippan_time_us\": \"99999999999999999999\"}", &v), IPT_V_BAD_VALUE);
}

static void rejected_forms(void **st)
{
	int64_t v = 0;
	(void)st;
	assert_int_equal(val("{\"other\": 1}", &v), IPT_V_MISSING);
	assert_int_equal(val("{\"ippan_time_us\": null}", &v), IPT_V_MISSING);
	assert_int_equal(val("{\"ippan_time_us\": true}", &v), IPT_V_BAD_VALUE);
	assert_int_equal(val("{\"ippan_time_us\": false}", &v), IPT_V_BAD_VALUE);
	assert_int_equal(val("{\"ippan_time_us\": [1]}", &v), IPT_V_BAD_VALUE);
	assert_int_equal(val("{\"ippan_time_us\": {}}", &v), IPT_V_BAD_VALUE);
	assert_int_equal(val("[1, 2]", &v), IPT_V_BAD_JSON);
	assert_int_equal(val("<html>", &v), IPT_V_BAD_JSON);
	assert_int_equal(val("", &v), IPT_V_BAD_JSON);
	assert_string_equal(ipt_vres_name(IPT_V_MISSING), "missing_field");
	assert_string_equal(ipt_vres_name(IPT_V_BAD_VALUE), "bad_value");
	assert_string_equal(ipt_vres_name(IPT_V_BAD_JSON), "bad_json");
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(accepts_integer_exactly),
		cmocka_unit_test(float_truncates_toward_zero),
		cmocka_unit_test(digit_strings_only),
		cmocka_unit_test(rejected_forms),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
