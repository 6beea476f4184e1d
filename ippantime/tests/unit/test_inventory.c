/* Inventory defaults, the layout it generates, and file:line errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "inventory.h"
#include "targets.h"

static int load(const char *y, struct inventory *inv, char *err)
{
	return inv_load_buf("inv.yaml", y, strlen(y), inv, err, 256);
}

static void defaults_for_every_key(void **st)
{
	struct inventory inv;
	char err[256];
	(void)st;
	assert_int_equal(load("servers:\n  - host: h1\n    node_index_range: [0, 1]\n", &inv, err), 0);
	assert_int_equal(inv.base_port, 8080);
	assert_string_equal(inv.status_path, "/status");
	assert_string_equal(inv.field, "ippan_time_us");
	assert_true(inv.timeout_sec == 2.0);
	assert_int_equal(inv.samples, 600);
	assert_int_equal(inv.interval_ms, 25);
	assert_string_equal(inv.servers[0].name, "srv1");
	assert_string_equal(inv.servers[0].ssh_user, "root");
	assert_int_equal(inv.servers[0].ssh_port, 22);
	inv_free(&inv);
	assert_int_equal(load("", &inv, err), 0);
	assert_int_equal(inv.nservers, 0);
	inv_free(&inv);
}

static void global_index_ports(void **st)
{
	struct inventory inv;
	struct target_list tl;
	char err[256];
	(void)st;
	assert_int_equal(load("servers:\n - {name: a, host: h1, node_index_range: [0, 1]}\n"
			      " - {name: b, host: h2, node_index_range: [10, 11]}\n"
			      "http: {base_port: 9000}\n", &inv, err), 0);
	targets_from_inventory(&inv, TM_EXPECTED, &tl);
	assert_int_equal(tl.n, 4);
	assert_string_equal(tl.v[2].node, "node-10");
	assert_string_equal(tl.v[2].url, "http://h2:9010");
	targets_free(&tl);
	inv_free(&inv);
}

static void errors_name_the_line(void **st)
{
	struct inventory inv;
	char err[256];
	(void)st;
	assert_int_equal(load("servers:\n  - host: h\n    node_index_range: [3, 1]\n", &inv, err), -1);
	assert_string_equal(err, "inv.yaml:3: inverted node_index_range [3, 1] (first > last)");
	inv_free(&inv);
	assert_int_equal(load("http:\n  timeout_sec: fast\n", &inv, err), -1);
	assert_string_equal(err, "inv.yaml:2: 'timeout_sec' must be a number, got 'fast'");
	inv_free(&inv);
	assert_int_equal(load("probe:\n  samples: [1]\n", &inv, err), -1);
	assert_string_equal(err, "inv.yaml:2: 'samples' must be an integer, got '(not a scalar)'");
	inv_free(&inv);
	assert_int_equal(load("explicit_targets:\n - {node: n1, url: 'http://a'}\n - {node: n1, url: 'http://b'}\n",
			      &inv, err), -1);
	assert_string_equal(err, "inv.yaml:3: duplicate node name 'n1' (first at line 2)");
	inv_free(&inv);
	assert_int_equal(load("servers: [\n", &inv, err), -1);
	assert_non_null(strstr(err, "malformed YAML"));
	inv_free(&inv);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(defaults_for_every_key),
		cmocka_unit_test(global_index_ports),
		cmocka_unit_test(errors_name_the_line),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
