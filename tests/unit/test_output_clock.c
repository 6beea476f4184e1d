// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "lib/clock.h"
#include "lib/output.h"

static struct out_rec r;
static char buf[4096];

static void same_record_as_text_and_json(void **state)
{
	(void)state;
	out_begin(&r, "echo");
	out_str(&r, "dir", NULL, "tx", OUT_TEXT_BARE);
	out_ip4(&r, "src", NULL, htonl(0xC6120001), OUT_TEXT_BARE);
	out_u64(&r, "seq", NULL, 7, 0);
	out_ns(&r, "total_ns", "Total RTT:", 123456, OUT_TEXT_NEWLINE);
	out_ns(&r, "p1_ns", "p1", 5, 0);
	out_s64(&r, "delta", NULL, -4, OUT_TEXT_HIDE);
	out_bool(&r, "complete", NULL, true, OUT_JSON_HIDE);
	out_render(&r, false, buf, sizeof(buf));
	assert_string_equal(buf, "tx 198.18.0.1 seq=7\n  Total RTT: 123.456 us p1=0.005 complete=yes");
	out_render(&r, true, buf, sizeof(buf));
	assert_string_equal(buf, "{\"type\":\"echo\",\"dir\":\"tx\",\"src\":\"198.18.0.1\",\"seq\":7,"
				 "\"total_ns\":123456,\"p1_ns\":5,\"delta\":-4}");
}

static void json_strings_are_escaped(void **state)
{
	char tmp[64];

	(void)state;
	out_json_string(tmp, sizeof(tmp), "a\"b\\c\n\x01");
	assert_string_equal(tmp, "\"a\\\"b\\\\c\\n\\u0001\"");
	out_begin(&r, "x");
	out_str(&r, "comm", NULL, "we\"ird", 0);
	out_json(&r, "hist", "[[1,2,3]]", "1-2:3", 0);
	out_f64(&r, "nan", NULL, 0.0 / 0.0, 0);
	out_render(&r, true, buf, sizeof(buf));
	assert_string_equal(buf, "{\"type\":\"x\",\"comm\":\"we\\\"ird\",\"hist\":[[1,2,3]],\"nan\":null}");
}

static void render_reports_needed_length_when_truncated(void **state)
{
	char small[8];
	int n;

	(void)state;
	out_begin(&r, "long");
	out_str(&r, "k", NULL, "0123456789", 0);
	n = out_render(&r, true, small, sizeof(small));
	assert_int_equal(n, (int)strlen("{\"type\":\"long\",\"k\":\"0123456789\"}"));
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void too_many_fields_marks_truncation(void **state)
{
	(void)state;
	out_begin(&r, "many");
	for (int i = 0; i < OUT_MAX_FIELDS + 5; i++)
		out_u64(&r, "k", NULL, i, 0);
	out_render(&r, true, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"truncated\":true"));
}

static void wall_text_is_local_time_of_day(void **state)
{
	struct tm tm;
	time_t t = 1700000000;
	char want[32];

	(void)state;
	localtime_r(&t, &tm);
	snprintf(want, sizeof(want), "%02d:%02d:%02d.123456", tm.tm_hour, tm.tm_min, tm.tm_sec);
	out_begin(&r, "w");
	out_wall(&r, "wall_ns", NULL, 1700000000123456789ull, OUT_TEXT_BARE);
	out_render(&r, false, buf, sizeof(buf));
	assert_string_equal(buf, want);
	out_render(&r, true, buf, sizeof(buf));
	assert_string_equal(buf, "{\"type\":\"w\",\"wall_ns\":1700000000123456789}");
}

static void clock_converts_monotonic_to_realtime(void **state)
{
	struct netseg_clock c = { 0 };

	(void)state;
	clock_measure(&c);
	uint64_t mono = clock_mono_ns();
	uint64_t wall = clock_mono_to_wall(&c, mono);
	uint64_t real = clock_real_ns();
	/* not 1970: within a second of the real clock, and not after it */
	assert_true(wall <= real + c.uncertainty_ns);
	assert_true(real - wall < 1000000000ull);
	assert_true(wall > 1600000000ull * 1000000000ull);
}

static void clock_refresh_respects_interval_and_reports_drift(void **state)
{
	struct netseg_clock c = { 0 };

	(void)state;
	clock_measure(&c);
	assert_int_equal(clock_refresh(&c, 3600ull * 1000000000ull), 0);
	assert_int_equal(c.remeasures, 0);
	/* pretend the offset was 5 ms off; a re-measure must report that */
	c.offset_ns -= 5000000;
	assert_int_equal(clock_refresh(&c, 0), 1);
	assert_int_equal(c.remeasures, 1);
	assert_true(c.last_drift_ns > 4000000 && c.last_drift_ns < 6000000);
}

/* A step of realtime between two measures: records stamped before the
 * step's measure keep the old offset even when converted after it, the
 * way records sit in the ring buffer while the loop re-measures. */
static void clock_converts_with_offset_in_force_at_stamp(void **state)
{
	struct netseg_clock c = { 0 };
	const int64_t before = 1700000000000000000ll, after = before + 3600ll * 1000000000ll;

	(void)state;
	clock_note(&c, 1000, before);
	clock_note(&c, 5000, after);   /* the clock was set forward one hour */
	assert_int_equal(clock_mono_to_wall(&c, 1000), 1000 + before);
	assert_int_equal(clock_mono_to_wall(&c, 4999), 4999 + before);
	assert_int_equal(clock_mono_to_wall(&c, 5000), 5000 + after);
	assert_int_equal(clock_mono_to_wall(&c, 9000), 9000 + after);
	/* older than anything kept: the oldest offset, not the newest */
	assert_int_equal(clock_mono_to_wall(&c, 10), 10 + before);
}

static void clock_step_backwards_is_kept_too(void **state)
{
	struct netseg_clock c = { 0 };

	(void)state;
	clock_note(&c, 100, 5000000000ll);
	clock_note(&c, 200, 2000000000ll);   /* set back three seconds */
	clock_note(&c, 300, 2000000100ll);   /* then slewed a little */
	assert_int_equal(clock_mono_to_wall(&c, 150), 150 + 5000000000ll);
	assert_int_equal(clock_mono_to_wall(&c, 250), 250 + 2000000000ll);
	assert_int_equal(clock_mono_to_wall(&c, 300), 300 + 2000000100ll);
}

static void clock_history_keeps_the_newest_entries(void **state)
{
	struct netseg_clock c = { 0 };

	(void)state;
	for (int i = 0; i < CLOCK_HISTORY + 10; i++)
		clock_note(&c, 1000ull * (i + 1), (int64_t)i * 7);
	assert_int_equal(c.n_epochs, CLOCK_HISTORY);
	/* entry i took effect at 1000*(i+1); the first 10 were overwritten */
	assert_int_equal(clock_mono_to_wall(&c, 1000ull * 31 + 5), 1000ull * 31 + 5 + 30 * 7);
	assert_int_equal(clock_mono_to_wall(&c, 5), 5 + 10 * 7);
	assert_int_equal(clock_mono_to_wall(&c, 1ull << 40), (1ull << 40) + (CLOCK_HISTORY + 9) * 7);
}

/* Every measure is an entry of its own, from the time it was taken: the
 * loop re-measures every tick, and steps between ticks are told apart. */
static void clock_measure_adds_an_entry_at_its_time(void **state)
{
	struct netseg_clock c = { 0 };
	uint64_t t0, t1;

	(void)state;
	t0 = clock_mono_ns();
	clock_measure(&c);
	t1 = clock_mono_ns();
	assert_int_equal(c.n_epochs, 1);
	assert_true(c.epochs[0].mono_ns >= t0 && c.epochs[0].mono_ns <= t1);
	assert_int_equal(c.epochs[0].offset_ns, c.offset_ns);
	assert_int_equal(clock_refresh(&c, 0), 1);
	assert_int_equal(c.n_epochs, 2);
	assert_true(c.epochs[1].mono_ns >= c.epochs[0].mono_ns);
}

/* The step timerfd exists and stays quiet while nobody sets the clock
 * (stepping the machine's clock in a test is not an option: time
 * namespaces do not virtualize CLOCK_REALTIME). */
static void clock_step_fd_is_quiet_without_a_step(void **state)
{
	struct netseg_clock c = { 0 };
	int fd;

	(void)state;
	clock_measure(&c);
	fd = clock_step_fd(&c);
	assert_true(fd >= 0);
	assert_int_equal(clock_step_fd(&c), fd);
	assert_int_equal(clock_step_check(&c), 0);
	assert_int_equal(c.steps, 0);
	assert_int_equal(c.n_epochs, 1);
	close(fd);
}

/* A reader that went away: the flush reports EPIPE (SIGPIPE is ignored by
 * the tracers), the error sticks, and nothing more is attempted. */
static void flush_reports_a_reader_that_left(void **state)
{
	int p[2];
	FILE *w;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(p), 0);
	w = fdopen(p[1], "w");
	assert_non_null(w);
	out_setup(w, true);
	assert_int_equal(out_pipe_fd(), p[1]);
	out_begin(&r, "x");
	out_u64(&r, "n", NULL, 1, 0);
	out_emit(&r);
	assert_int_equal(out_flush(), 0);
	close(p[0]);
	out_emit(&r);
	assert_int_equal(out_flush(), -EPIPE);
	assert_int_equal(out_error(), -EPIPE);
	out_emit(&r);
	assert_int_equal(out_flush(), -EPIPE);
	fclose(w);
	out_setup(stdout, false);
	assert_int_equal(out_error(), 0);
}

/* --quiet: the records of events go, the records of the run stay */
static void quiet_drops_event_records_only(void **state)
{
	char text[256] = "";
	FILE *f = tmpfile();
	size_t n;

	(void)state;
	assert_non_null(f);
	out_setup(f, true);
	out_set_quiet(true);
	out_begin_event(&r, "echo");
	out_u64(&r, "seq", NULL, 1, 0);
	out_emit(&r);
	out_begin(&r, "summary");
	out_u64(&r, "echoes", NULL, 1, 0);
	out_emit(&r);
	out_set_quiet(false);
	out_begin_event(&r, "echo");
	out_u64(&r, "seq", NULL, 2, 0);
	out_emit(&r);
	assert_int_equal(out_flush(), 0);
	rewind(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = 0;
	fclose(f);
	out_setup(stdout, false);
	assert_string_equal(text, "{\"type\":\"summary\",\"echoes\":1}\n{\"type\":\"echo\",\"seq\":2}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_record_as_text_and_json),
		cmocka_unit_test(json_strings_are_escaped),
		cmocka_unit_test(render_reports_needed_length_when_truncated),
		cmocka_unit_test(too_many_fields_marks_truncation),
		cmocka_unit_test(wall_text_is_local_time_of_day),
		cmocka_unit_test(clock_converts_monotonic_to_realtime),
		cmocka_unit_test(clock_refresh_respects_interval_and_reports_drift),
		cmocka_unit_test(flush_reports_a_reader_that_left),
		cmocka_unit_test(quiet_drops_event_records_only),
		cmocka_unit_test(clock_converts_with_offset_in_force_at_stamp),
		cmocka_unit_test(clock_step_backwards_is_kept_too),
		cmocka_unit_test(clock_history_keeps_the_newest_entries),
		cmocka_unit_test(clock_measure_adds_an_entry_at_its_time),
		cmocka_unit_test(clock_step_fd_is_quiet_without_a_step),
	};

	return cmocka_run_group_tests_name("output_clock", tests, NULL, NULL);
}
