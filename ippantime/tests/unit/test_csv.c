/* CSV writing as Python's csv.writer (minimal quoting, CRLF) and reading it back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "csvio.h"

static void header_is_13_columns_then_ours_crlf(void **st)
{
	struct strbuf b = {0};
	(void)st;
	csv_header(&b);
	assert_string_equal(b.p, "probe,sample_idx,node,url,ok,t0_wall_ns,t1_wall_ns,rtt_ms,mid_wall_us,"
				 "ippan_time_us,offset_us,jitter_us,monotonic_backwards,error,t_sent_wall_ns,"
				 "t_first_byte_wall_ns,midpoint,k_t0_wall_ns,k_t1_wall_ns,k_rtt_us,k_offset_us\r\n");
	sb_free(&b);
}

static void quoting_only_when_needed(void **st)
{
	struct strbuf b = {0};
	(void)st;
	csv_field(&b, "plain", 1);
	csv_field(&b, "a,b", 0);
	csv_field(&b, "say \"hi\"", 0);
	csv_field(&b, "", 0);
	csv_end_row(&b);
	assert_string_equal(b.p, "plain,\"a,b\",\"say \"\"hi\"\"\",\r\n");
	sb_free(&b);
}

static void reader_round_trips_and_handles_lf(void **st)
{
	const char *in = "a,\"b,c\",\"d\"\"e\",\r\nx,y\n\"multi\nline\",z";
	struct csv_reader r;
	struct csv_row row = {0};
	(void)st;
	csv_reader_init(&r, in, strlen(in));
	assert_int_equal(csv_next(&r, &row), 1);
	assert_int_equal(row.n, 4);
	assert_string_equal(row.f[1], "b,c");
	assert_string_equal(row.f[2], "d\"e");
	assert_string_equal(row.f[3], "");
	assert_int_equal(csv_next(&r, &row), 1);
	assert_int_equal(row.n, 2);
	assert_string_equal(row.f[1], "y");
	assert_int_equal(csv_next(&r, &row), 1);
	assert_string_equal(row.f[0], "multi\nline");
	assert_int_equal(csv_next(&r, &row), 0);
	csv_row_free(&row);
}

static void unterminated_quote_is_an_error(void **st)
{
	const char *in = "a,\"open";
	struct csv_reader r;
	struct csv_row row = {0};
	(void)st;
	csv_reader_init(&r, in, strlen(in));
	assert_int_equal(csv_next(&r, &row), -1);
	csv_row_free(&row);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(header_is_13_columns_then_ours_crlf),
		cmocka_unit_test(quoting_only_when_needed),
		cmocka_unit_test(reader_round_trips_and_handles_lf),
		cmocka_unit_test(unterminated_quote_is_an_error),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
