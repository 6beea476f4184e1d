// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "netseg_hist.h"
#include "lib/metrics.h"
#include "lib/tier.h"

static char page[1 << 17];
static char err[256];

static struct metrics *open_any(void)
{
	struct metrics *m = metrics_open("t", "127.0.0.1:0", err, sizeof(err));

	assert_non_null(m);
	return m;
}

static const char *render(struct metrics *m, bool om)
{
	size_t n = metrics_render(m, om, page, sizeof(page));

	assert_true(n < sizeof(page));
	assert_int_equal(strlen(page), n);
	return page;
}

static void has(const char *text, const char *line)
{
	if (!strstr(text, line))
		fail_msg("missing: %s\n--- in:\n%s", line, text);
}

static void has_not(const char *text, const char *part)
{
	if (strstr(text, part))
		fail_msg("unexpected: %s\n--- in:\n%s", part, text);
}

/* ---- the bucket layout shared with the kernel ------------------------ */

static void bucket_edges_follow_the_layout(void **state)
{
	(void)state;
	assert_int_equal(netseg_hist_bucket(0), 0);
	assert_int_equal(netseg_hist_bucket(1023), 0);
	assert_int_equal(netseg_hist_bucket(1024), 1);
	assert_int_equal(netseg_hist_bucket(1535), 1);
	assert_int_equal(netseg_hist_bucket(1536), 2);
	assert_int_equal(netseg_hist_bucket(2047), 2);
	assert_int_equal(netseg_hist_bucket(2048), 3);
	assert_int_equal(netseg_hist_bucket(3071), 3);
	assert_int_equal(netseg_hist_bucket(3072), 4);
	/* the last finite octave, 2^33 .. 2^34 ns (8.6 .. 17.2 s) */
	assert_int_equal(netseg_hist_bucket((1ull << 34) - 1), NETSEG_HIST_BUCKETS - 2);
	assert_int_equal(netseg_hist_bucket(1ull << 34), NETSEG_HIST_BUCKETS - 1);
	assert_int_equal(netseg_hist_bucket(1ull << 63), NETSEG_HIST_BUCKETS - 1);
	assert_int_equal(netseg_hist_bucket(UINT64_MAX), NETSEG_HIST_BUCKETS - 1);
}

/* Every bound: the value just below it is in its bucket, the bound itself
 * in the next; bounds grow; the last bucket has none (+Inf). */
static void bucket_bounds_agree_with_the_mapping(void **state)
{
	uint64_t prev = 0;

	(void)state;
	assert_int_equal(NETSEG_HIST_BUCKETS, 50);
	for (uint32_t i = 0; i + 1 < NETSEG_HIST_BUCKETS; i++) {
		uint64_t b = netseg_hist_upper_ns(i);

		assert_true(b > prev);
		assert_int_equal(netseg_hist_bucket(b - 1), i);
		assert_int_equal(netseg_hist_bucket(b), i + 1);
		prev = b;
	}
	assert_int_equal(netseg_hist_upper_ns(NETSEG_HIST_BUCKETS - 1), 0);
	assert_int_equal(netseg_hist_upper_ns(NETSEG_HIST_BUCKETS - 2), 1ull << 34);
}

/* ---- rendering ------------------------------------------------------- */

static void histogram_is_cumulative_with_sum_and_count(void **state)
{
	struct metrics *m = open_any();
	int seg;
	const char *t;

	(void)state;
	seg = metrics_segment(m, "total");
	assert_int_equal(seg, 0);
	assert_int_equal(metrics_segment(m, "total"), 0);
	metrics_observe_ns(m, seg, 1000);
	metrics_observe_ns(m, seg, 1500);
	metrics_observe_ns(m, seg, 1600);
	metrics_observe_ns(m, seg, 5000000000ull);
	t = render(m, false);
	has(t, "# HELP netseg_segment_seconds ");
	has(t, "# TYPE netseg_segment_seconds histogram\n");
	has(t, "netseg_segment_seconds_bucket{tool=\"t\",segment=\"total\",le=\"1.024e-06\"} 1\n");
	has(t, "netseg_segment_seconds_bucket{tool=\"t\",segment=\"total\",le=\"1.536e-06\"} 2\n");
	has(t, "netseg_segment_seconds_bucket{tool=\"t\",segment=\"total\",le=\"2.048e-06\"} 3\n");
	has(t, "netseg_segment_seconds_bucket{tool=\"t\",segment=\"total\",le=\"4.294967296\"} 3\n");
	has(t, "netseg_segment_seconds_bucket{tool=\"t\",segment=\"total\",le=\"6.442450944\"} 4\n");
	has(t, "netseg_segment_seconds_bucket{tool=\"t\",segment=\"total\",le=\"17.179869184\"} 4\n");
	has(t, "netseg_segment_seconds_bucket{tool=\"t\",segment=\"total\",le=\"+Inf\"} 4\n");
	has(t, "netseg_segment_seconds_sum{tool=\"t\",segment=\"total\"} 5.0000041\n");
	has(t, "netseg_segment_seconds_count{tool=\"t\",segment=\"total\"} 4\n");
	has_not(t, "# UNIT");
	has_not(t, "# EOF");
	metrics_close(m);
}

/* le values as printed parse to strictly increasing numbers, one line per
 * bucket, +Inf last */
static void bucket_bounds_print_increasing(void **state)
{
	struct metrics *m = open_any();
	const char *p;
	double prev = 0;
	int n = 0;

	(void)state;
	metrics_segment(m, "s");
	render(m, false);
	for (p = strstr(page, "le=\""); p; p = strstr(p + 1, "le=\"")) {
		double v = strtod(p + 4, NULL);

		assert_true(v > prev);
		prev = v;
		n++;
	}
	assert_int_equal(n, NETSEG_HIST_BUCKETS);
	assert_true(prev > 1e300); /* strtod("+Inf") */
	metrics_close(m);
}

static void hist_set_replaces_counts_and_sum(void **state)
{
	struct metrics *m = open_any();
	uint64_t counts[NETSEG_HIST_BUCKETS] = { 0 };
	int seg;

	(void)state;
	seg = metrics_segment(m, "k");
	metrics_observe_ns(m, seg, 100);
	counts[1] = 2;                       /* [1.024, 1.536) us */
	counts[NETSEG_HIST_BUCKETS - 1] = 1; /* beyond 17 s */
	metrics_hist_set(m, seg, counts, 2500);
	render(m, false);
	has(page, "segment=\"k\",le=\"1.024e-06\"} 0\n");
	has(page, "segment=\"k\",le=\"1.536e-06\"} 2\n");
	has(page, "segment=\"k\",le=\"17.179869184\"} 2\n");
	has(page, "segment=\"k\",le=\"+Inf\"} 3\n");
	has(page, "netseg_segment_seconds_sum{tool=\"t\",segment=\"k\"} 2.5e-06\n");
	has(page, "netseg_segment_seconds_count{tool=\"t\",segment=\"k\"} 3\n");
	metrics_close(m);
}

static void counters_in_the_text_format(void **state)
{
	struct metrics *m = open_any();

	(void)state;
	metrics_count_add(m, "echoes", "complete", NULL, 2);
	metrics_count_add(m, "echoes", "complete", NULL, 3);
	metrics_count_set(m, "echoes", "started", NULL, 9);
	metrics_count_set(m, "echoes", "started", NULL, 7);
	metrics_count_add(m, "drops", "lost_outside", "unknown", 1);
	metrics_count_set(m, "records_lost", NULL, NULL, 4);
	metrics_count_add(m, "no_such_family", "x", NULL, 1);
	render(m, false);
	has(page, "# TYPE netseg_echoes_total counter\n");
	has(page, "netseg_echoes_total{tool=\"t\",state=\"complete\"} 5\n");
	has(page, "netseg_echoes_total{tool=\"t\",state=\"started\"} 7\n");
	has(page, "# TYPE netseg_drops_total counter\n");
	has(page, "netseg_drops_total{tool=\"t\",class=\"lost_outside\",reason=\"unknown\"} 1\n");
	has(page, "# HELP netseg_records_lost_total ");
	has(page, "netseg_records_lost_total{tool=\"t\"} 4\n");
	has_not(page, "no_such_family");
	/* nothing observed, no histogram family at all */
	has_not(page, "netseg_segment_seconds");
	metrics_close(m);
}

static void openmetrics_names_families_and_ends_with_eof(void **state)
{
	struct metrics *m = open_any();
	size_t n;

	(void)state;
	metrics_build_info(m, "0.1.0");
	metrics_segment(m, "total");
	metrics_count_add(m, "echoes", "complete", NULL, 1);
	render(m, true);
	has(page, "# TYPE netseg_build info\n");
	has(page, "netseg_build_info{tool=\"t\",version=\"0.1.0\"} 1\n");
	has(page, "# TYPE netseg_segment_seconds histogram\n");
	has(page, "# UNIT netseg_segment_seconds seconds\n");
	has(page, "# TYPE netseg_echoes counter\n");
	has(page, "# HELP netseg_echoes ");
	has(page, "netseg_echoes_total{tool=\"t\",state=\"complete\"} 1\n");
	has_not(page, "# TYPE netseg_echoes_total");
	n = strlen(page);
	assert_true(n > 6);
	assert_string_equal(page + n - 6, "# EOF\n");
	/* and the text format: the same build info as a gauge */
	render(m, false);
	has(page, "# TYPE netseg_build_info gauge\n");
	has(page, "# TYPE netseg_echoes_total counter\n");
	metrics_close(m);
}

static void label_values_are_escaped(void **state)
{
	struct metrics *m = open_any();

	(void)state;
	metrics_count_add(m, "drops", "a\"b", "c\\d\ne", 1);
	metrics_segment(m, "x\"y");
	render(m, false);
	has(page, "netseg_drops_total{tool=\"t\",class=\"a\\\"b\",reason=\"c\\\\d\\ne\"} 1\n");
	has(page, "netseg_segment_seconds_count{tool=\"t\",segment=\"x\\\"y\"} 0\n");
	render(m, true);
	has(page, "class=\"a\\\"b\",reason=\"c\\\\d\\ne\"} 1\n");
	metrics_close(m);
}

static void render_says_how_much_room_it_needed(void **state)
{
	struct metrics *m = open_any();
	char small[64];
	size_t need, got;

	(void)state;
	metrics_segment(m, "total");
	need = metrics_render(m, false, small, sizeof(small));
	assert_true(need >= sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	got = metrics_render(m, false, page, sizeof(page));
	assert_int_equal(got, need);
	assert_memory_equal(small, page, sizeof(small) - 1);
	metrics_close(m);
}

static void tiers_list_attached_hooks(void **state)
{
	static const struct tier_stage stages[] = {
		{ "xmit", "", false, { { NETSEG_TIER_TP_BTF, "net_dev_xmit", "p_x" },
				       { NETSEG_TIER_KPROBE, "dev_hard_start_xmit", "p_k" } } },
		{ "l4", "", true, { { NETSEG_TIER_FENTRY, "icmp_rcv", "p_l" } } },
	};
	static const struct tier_tool tool = { "t", false, stages, 2 };
	struct tier_plan plan;
	struct metrics *m = open_any();

	(void)state;
	memset(&plan, 0, sizeof(plan));
	plan.tool = &tool;
	plan.stage[0].tier = NETSEG_TIER_TP_BTF;
	plan.stage[0].hook_ok[0] = true;
	plan.stage[0].hook_ok[1] = true; /* of another tier: not attached */
	metrics_tiers(m, &plan);
	render(m, false);
	has(page, "netseg_tier_info{tool=\"t\",stage=\"xmit\",tier=\"tp_btf\",hook=\"net_dev_xmit\"} 1\n");
	has_not(page, "dev_hard_start_xmit");
	has_not(page, "stage=\"l4\"");
	metrics_close(m);
}

/* ---- negotiation ----------------------------------------------------- */

static void accept_header_chooses_the_format(void **state)
{
	(void)state;
	assert_false(metrics_wants_openmetrics(NULL));
	assert_false(metrics_wants_openmetrics("*/*"));
	assert_false(metrics_wants_openmetrics("text/plain;version=0.0.4"));
	assert_true(metrics_wants_openmetrics("application/openmetrics-text"));
	assert_true(metrics_wants_openmetrics("Application/OpenMetrics-Text; version=1.0.0"));
	/* what Prometheus sends */
	assert_true(metrics_wants_openmetrics(
		"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
		"text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
	assert_false(metrics_wants_openmetrics("application/openmetrics-text;q=0.4, text/plain"));
	assert_false(metrics_wants_openmetrics("application/openmetrics-text;q=0"));
	assert_false(metrics_wants_openmetrics("application/openmetrics-textual"));
}

/* ---- addresses ------------------------------------------------------- */

static void bad_addresses_name_the_value(void **state)
{
	static const char *const bad[] = { "nonsense", "1.2.3:99", "127.0.0.1", "127.0.0.1:",
					   "127.0.0.1:65536", "127.0.0.1:-1", ":9100",
					   "::1:9100", "[::1:9100", "[nope]:9100" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[64];

		err[0] = 0;
		assert_null(metrics_open("t", bad[i], err, sizeof(err)));
		snprintf(want, sizeof(want), "'%s': ", bad[i]);
		if (strncmp(err, want, strlen(want)))
			fail_msg("%s: %s", bad[i], err);
		assert_null(strchr(err, '\n'));
	}
}

static void port_in_use_is_refused_and_address_says_the_port(void **state)
{
	struct metrics *a = open_any(), *b;
	const char *addr = metrics_address(a);
	char again[64];

	(void)state;
	assert_int_equal(strncmp(addr, "127.0.0.1:", 10), 0);
	assert_true(atoi(addr + 10) > 0);
	snprintf(again, sizeof(again), "%s", addr);
	b = metrics_open("t", again, err, sizeof(err));
	assert_null(b);
	has(err, "port in use");
	metrics_close(a);
	/* once closed, the port is free again */
	b = metrics_open("t", again, err, sizeof(err));
	assert_non_null(b);
	metrics_close(b);
}

static void ipv6_loopback_in_brackets(void **state)
{
	struct metrics *m = metrics_open("t", "[::1]:0", err, sizeof(err));

	(void)state;
	if (!m)
		skip(); /* no IPv6 here */
	assert_int_equal(strncmp(metrics_address(m), "[::1]:", 6), 0);
	metrics_close(m);
}

/* ---- the server ------------------------------------------------------ */

/* One request over a fresh connection; the whole response into page. */
static void http(struct metrics *m, const char *request)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *addr = metrics_address(m);
	size_t off = 0;
	ssize_t n;
	int fd;

	sa.sin_port = htons((uint16_t)atoi(strchr(addr, ':') + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while ((n = read(fd, page + off, sizeof(page) - 1 - off)) > 0)
		off += (size_t)n;
	page[off] = 0;
	close(fd);
}

static int scrapes;

static void on_scrape(void *ctx, struct metrics *m)
{
	(void)ctx;
	scrapes++;
	metrics_count_set(m, "records_lost", NULL, NULL, 42);
}

static void server_answers_get_metrics_only(void **state)
{
	struct metrics *m = open_any();

	(void)state;
	metrics_on_scrape(m, on_scrape, NULL);
	assert_int_equal(metrics_serve(m, err, sizeof(err)), 0);
	http(m, "GET /metrics HTTP/1.0\r\n\r\n");
	has(page, "HTTP/1.0 200");
	has(page, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n");
	has(page, "netseg_records_lost_total{tool=\"t\"} 42\n");
	has_not(page, "# EOF");
	http(m, "GET /metrics HTTP/1.0\r\nAccept: application/openmetrics-text; version=1.0.0\r\n\r\n");
	has(page, "Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\n");
	has(page, "# EOF\n");
	http(m, "GET / HTTP/1.0\r\n\r\n");
	has(page, " 404 ");
	http(m, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
	has(page, " 405 ");
	http(m, "DELETE /metrics HTTP/1.0\r\n\r\n");
	has(page, " 405 ");
	assert_int_equal(scrapes, 2);
	metrics_close(m);
}

static void close_stops_a_server_that_never_served(void **state)
{
	struct metrics *m = open_any();

	(void)state;
	assert_int_equal(metrics_serve(m, err, sizeof(err)), 0);
	metrics_close(m);
	metrics_close(NULL);
}

static void null_registry_is_a_no_op(void **state)
{
	(void)state;
	metrics_observe_ns(NULL, 0, 5);
	metrics_count_add(NULL, "echoes", "complete", NULL, 1);
	assert_int_equal(metrics_segment(NULL, "x"), -1);
	assert_int_equal(metrics_segment_count(NULL), 0);
	assert_int_equal(metrics_render(NULL, false, page, sizeof(page)), 0);
	assert_string_equal(page, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bucket_edges_follow_the_layout),
		cmocka_unit_test(bucket_bounds_agree_with_the_mapping),
		cmocka_unit_test(histogram_is_cumulative_with_sum_and_count),
		cmocka_unit_test(bucket_bounds_print_increasing),
		cmocka_unit_test(hist_set_replaces_counts_and_sum),
		cmocka_unit_test(counters_in_the_text_format),
		cmocka_unit_test(openmetrics_names_families_and_ends_with_eof),
		cmocka_unit_test(label_values_are_escaped),
		cmocka_unit_test(render_says_how_much_room_it_needed),
		cmocka_unit_test(tiers_list_attached_hooks),
		cmocka_unit_test(accept_header_chooses_the_format),
		cmocka_unit_test(bad_addresses_name_the_value),
		cmocka_unit_test(port_in_use_is_refused_and_address_says_the_port),
		cmocka_unit_test(ipv6_loopback_in_brackets),
		cmocka_unit_test(server_answers_get_metrics_only),
		cmocka_unit_test(close_stops_a_server_that_never_served),
		cmocka_unit_test(null_registry_is_a_no_op),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
