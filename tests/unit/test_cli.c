// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "lib/cli.h"
#include "lib/netns.h"
#include "lib/tier.h"

static char err[256];

static void ipv4_good_and_bad(void **state)
{
	uint32_t a;

	(void)state;
	assert_int_equal(cli_parse_ipv4("--src-ip", "198.18.0.1", &a, err, sizeof(err)), 0);
	assert_int_equal(a, htonl(0xC6120001));
	assert_int_equal(cli_parse_ipv4("--src-ip", "198.18.0", &a, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid --src-ip '198.18.0': not an IPv4 address (a.b.c.d)");
	assert_int_equal(cli_parse_ipv4("--dst-ip", "256.1.1.1", &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'256.1.1.1'"));
	assert_int_equal(cli_parse_ipv4("--dst-ip", "fd00::1", &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "IPv6 is not supported"));
}

static void u64_bounds_and_garbage(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(cli_parse_u64("--n", "42", 1, 100, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cli_parse_u64("--n", "0", 1, 100, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid --n '0': must be between 1 and 100");
	assert_int_equal(cli_parse_u64("--n", "12x", 1, 100, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid --n '12x': not a whole number");
	assert_int_equal(cli_parse_u64("--n", "-3", 0, 100, &v, err, sizeof(err)), -1);
	assert_int_equal(cli_parse_u64("--n", "", 0, 100, &v, err, sizeof(err)), -1);
	assert_int_equal(cli_parse_u64("--n", "99999999999999999999999", 0, UINT64_MAX, &v, err,
				       sizeof(err)), -1);
}

static void ranges(void **state)
{
	uint64_t lo, hi;

	(void)state;
	assert_int_equal(cli_parse_range("--port", "8080-8119", 1, 65535, &lo, &hi, err, sizeof(err)), 0);
	assert_int_equal(lo, 8080);
	assert_int_equal(hi, 8119);
	assert_int_equal(cli_parse_range("--port", "53", 1, 65535, &lo, &hi, err, sizeof(err)), 0);
	assert_int_equal(lo, 53);
	assert_int_equal(hi, 53);
	assert_int_equal(cli_parse_range("--port", "9000-8000", 1, 65535, &lo, &hi, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid --port '9000-8000': inverted range (9000 > 8000)");
	assert_int_equal(cli_parse_range("--port", "1-70000", 1, 65535, &lo, &hi, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'1-70000'"));
	assert_int_equal(cli_parse_range("--port", "-5", 1, 65535, &lo, &hi, err, sizeof(err)), -1);
	assert_int_equal(cli_parse_range("--port", "5-", 1, 65535, &lo, &hi, err, sizeof(err)), -1);
}

static void seconds(void **state)
{
	double d;

	(void)state;
	assert_int_equal(cli_parse_seconds("--duration", "2.5", &d, err, sizeof(err)), 0);
	assert_true(d == 2.5);
	assert_int_equal(cli_parse_seconds("--duration", "0", &d, err, sizeof(err)), -1);
	assert_int_equal(cli_parse_seconds("--duration", "nan", &d, err, sizeof(err)), -1);
	assert_int_equal(cli_parse_seconds("--duration", "5s", &d, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid --duration '5s': expected a positive number of seconds");
}

static void interfaces(void **state)
{
	struct netseg_ifset set;
	char names[NETSEG_MAX_IFS][16];

	(void)state;
	assert_int_equal(cli_parse_ifnames("--interface", "lo", &set, names, err, sizeof(err)), 0);
	assert_int_equal(set.n, 1);
	assert_true(set.ifindex[0] > 0);
	/* an index means something only with its namespace */
	assert_true(set.netns[0] != 0);
	assert_int_equal(set.netns[0], netns_current_ino());
	assert_string_equal(names[0], "lo");
	assert_int_equal(cli_parse_ifnames("--interface", "lo,nosuchif0", &set, names, err,
					   sizeof(err)), -1);
	assert_string_equal(err, "invalid --interface: unknown interface 'nosuchif0'");
	assert_int_equal(cli_parse_ifnames("--interface", "lo,lo", &set, names, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "given twice"));
	assert_int_equal(cli_parse_ifnames("--interface", "averyveryverylongname", &set, names, err,
					   sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(cli_parse_ifnames("--interface", ",", &set, names, err, sizeof(err)), -1);
}

static void choices(void **state)
{
	static const char *const dirs[] = { "tx", "rx", NULL };

	(void)state;
	assert_int_equal(cli_parse_choice("--direction", "rx", dirs, err, sizeof(err)), 1);
	assert_int_equal(cli_parse_choice("--direction", "up", dirs, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid --direction 'up': expected tx or rx");
}

static void tier_names_round_trip(void **state)
{
	enum tier_force f;

	(void)state;
	assert_int_equal(tier_force_parse("fentry", &f), 0);
	assert_int_equal(f, TIER_FORCE_FENTRY);
	assert_int_equal(tier_force_parse("tracepoint", &f), 0);
	assert_int_equal(f, TIER_FORCE_TRACEPOINT_ANY);
	assert_int_equal(tier_force_parse("tp", &f), 0);
	assert_int_equal(f, TIER_FORCE_TP);
	assert_int_not_equal(tier_force_parse("kprobes", &f), 0);
	assert_string_equal(tier_name(NETSEG_TIER_RAW_TP), "raw_tp");
	assert_string_equal(tier_name(NETSEG_TIER_NONE), "unavailable");
}

/* A tool's parser with its own -q, as tun_tx_to_kvm_irq's --queue */
static int queue_seen;

static error_t tool_parse(int key, char *arg, struct argp_state *state)
{
	(void)arg;
	(void)state;
	if (key != 'q')
		return ARGP_ERR_UNKNOWN;
	queue_seen++;
	return 0;
}

static void parse_common(int argc, char **argv, bool tool_has_q)
{
	static const struct argp_option tool_opts[] = { { "queue", 'q', "N", 0, "", 0 }, {} };
	const struct argp_child children[] = { { &cli_common_argp, 0, NULL, 0 }, {} };
	const struct argp argp = { tool_has_q ? tool_opts : NULL, tool_parse, NULL, NULL,
				   children, NULL, NULL };

	queue_seen = 0;
	assert_int_equal(argp_parse(&argp, argc, argv, ARGP_NO_EXIT, NULL, NULL), 0);
}

/* --metrics is kept as given (bound later, by tracer_begin); -q is
 * --quiet, unless the tool took the letter back for an option of its own */
static void metrics_and_quiet_options(void **state)
{
	char *plain[] = { "t", "--metrics", "127.0.0.1:9464", NULL };
	char *quiet[] = { "t", "-q", NULL };
	char *both[] = { "t", "-q", "3", "--quiet", NULL };
	struct cli_common *c = cli_common_get();

	(void)state;
	parse_common(3, plain, false);
	assert_string_equal(c->metrics, "127.0.0.1:9464");
	assert_false(c->quiet);
	parse_common(2, quiet, false);
	assert_true(c->quiet);
	assert_null(c->metrics);
	cli_common_yield_short('q');
	parse_common(4, both, true);
	assert_int_equal(queue_seen, 1);
	assert_true(c->quiet);
	parse_common(3, (char *[]){ "t", "-q", "3", NULL }, true);
	assert_int_equal(queue_seen, 1);
	assert_false(c->quiet);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ipv4_good_and_bad),
		cmocka_unit_test(u64_bounds_and_garbage),
		cmocka_unit_test(ranges),
		cmocka_unit_test(seconds),
		cmocka_unit_test(interfaces),
		cmocka_unit_test(choices),
		cmocka_unit_test(tier_names_round_trip),
		cmocka_unit_test(metrics_and_quiet_options),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
