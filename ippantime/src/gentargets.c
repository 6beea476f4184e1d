/* gen-targets: the node list as JSON, for the probe's --targets-json. */
#include "cmds.h"
#include "common.h"
#include "inventory.h"
#include "targets.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: ippantime gen-targets [INVENTORY] [--mode expected|explicit|auto]\n"
	"\n"
	"Print the targets as a JSON array of {\"node\",\"url\"}. For each server in file order and\n"
	"each index i of its node_index_range: node-%02d, http://HOST:(base_port+i). A non-empty\n"
	"explicit_targets list replaces generation (mode auto, the default).\n"
	"INVENTORY defaults to inventory.yaml in the current directory.\n"
	"\n"
	"examples:\n"
	"  ippantime gen-targets inventory.yaml\n"
	"  ippantime probe --targets-json \"$(ippantime gen-targets inventory.yaml)\" --out out/x.csv --probe-name tr-a\n";

int cmd_gen_targets(int argc, char **argv)
{
	static const struct option opts[] = {
		{"mode", required_argument, 0, 'm'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	enum target_mode mode = TM_AUTO;
	const char *path = "inventory.yaml";
	struct inventory inv;
	struct target_list tl;
	char err[512], *js;
	int c;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'm') {
			if (target_mode_parse(optarg, &mode)) {
				ipt_err("gen-targets: bad --mode '%s' (expected, explicit or auto)", optarg);
				return IPT_EXIT_USAGE;
			}
		} else if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		} else {
			return ipt_getopt_error("gen-targets", c, argv);
		}
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc) {
		ipt_err("gen-targets: unexpected argument '%s'", argv[optind]);
		return IPT_EXIT_USAGE;
	}
	if (inv_load(path, &inv, err, sizeof(err))) {
		ipt_err("%s", err);
		inv_free(&inv);
		return IPT_EXIT_USAGE;
	}
	targets_from_inventory(&inv, mode, &tl);
	if (tl.n == 0) {
		ipt_err("%s: no targets (no servers with node_index_range and no explicit_targets)", path);
		inv_free(&inv);
		return IPT_EXIT_USAGE;
	}
	js = targets_to_json(&tl);
	puts(js);
	free(js);
	targets_free(&tl);
	inv_free(&inv);
	return 0;
}
