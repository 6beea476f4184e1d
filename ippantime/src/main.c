#include "cmds.h"
#include "common.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: ippantime COMMAND [ARGS]   (ippantime COMMAND --help for details)\n"
	"\n"
	"IPPAN Time mesh test: sample every node's clock from several probes, then compare.\n"
	"  gen-targets [INVENTORY]          node list as JSON (from servers x node_index_range)\n"
	"  check-targets INVENTORY [--mode expected|explicit|auto] [--timeout S]\n"
	"                                   which targets expose the clock field now (exit 0/1/2)\n"
	"  probe --out CSV --probe-name P (--targets-json J | --targets-file F | --inventory I)\n"
	"                                   sample all nodes at a fixed cadence into a CSV\n"
	"  analyze [--out-dir D] [--json]   out/ippantime_*.csv -> REPORT.md (+ SVG plots)\n"
	"  run [--inventory I]              the whole mesh over ssh: probes at once, collect, analyze\n"
	"  sim [--nodes N --base-port P --config F]\n"
	"                                   a simulated fleet on 127.0.0.1 with known clocks/faults\n"
	"  demo [--out-dir D]               sim + two local probes + analyze -> REPORT.md\n"
	"\n"
	"examples:\n"
	"  ippantime check-targets inventory.yaml --mode expected || true\n"
	"  ippantime probe --inventory inventory.yaml --probe-name tr-a --out out/ippantime_tr-a.csv\n"
	"  ippantime analyze --out-dir out\n"
	"  ippantime demo --out-dir /tmp/ippantime-demo\n";

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{"gen-targets", cmd_gen_targets}, {"check-targets", cmd_check_targets},
		{"probe", cmd_probe},             {"analyze", cmd_analyze},
		{"run", cmd_run},                 {"sim", cmd_sim},
		{"demo", cmd_demo},
	};
	int rc;

	opterr = 0; /* our own one-line messages: ipt_getopt_error() */
	if (argc < 2) {
		fputs(usage, stderr);
		return IPT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("ippantime %s (%s)\n", IPT_VERSION, curl_version());
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
			ipt_err("libcurl initialisation failed");
			return IPT_EXIT_FAIL;
		}
		rc = cmds[i].fn(argc - 1, argv + 1);
		curl_global_cleanup();
		return rc;
	}
	ipt_err("unknown command '%s' (try: ippantime --help)", argv[1]);
	return IPT_EXIT_USAGE;
}
