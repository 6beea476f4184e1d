// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* netseg: the front end. Each subcommand lives in its own file. */
#include <stdio.h>
#include <string.h>
#include "lib/tracer.h"
#include "subcommands.h"

static const struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *what;
} subcommands[] = {
	{ "doctor", doctor_main, "what this kernel allows each tracer (real probes)" },
	{ "lab", lab_main, "two hosts and two VMs on this machine: up, down, status, exec, env" },
	{ "measure", measure_main, "the seed's workflow in one command: six tracers, ping, logs, report" },
	{ "analyze", analyze_main, "the six logs of a measurement -> per-echo segments A..M, report" },
};

static void usage(FILE *fp)
{
	fprintf(fp, "Usage: netseg COMMAND [OPTIONS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(fp, "  %-8s %s\n", subcommands[i].name, subcommands[i].what);
	fprintf(fp, "\n'netseg COMMAND --help' describes each command.\n"
		    "Tracers are separate programs: kernel_icmp_rtt, icmp_drop_detector,\n"
		    "tun_tx_to_kvm_irq, pktwatch (README.md).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("netseg %s\n", NETSEG_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "netseg: unknown command '%s' (see netseg --help)\n", argv[1]);
	return 2;
}
