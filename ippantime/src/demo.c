/* demo: a simulated fleet, two local probes at once (fresh and reuse connections), analyze. */
#include "cmds.h"
#include "common.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"usage: ippantime demo [--out-dir DIR] [--nodes N] [--base-port P] [--samples N]\n"
	"                      [--interval-ms MS]\n"
	"\n"
	"Start `ippantime sim` on 127.0.0.1 (default 8 nodes from port 18080) with a known set of\n"
	"clock problems (25 ms offset, jitter, a backwards step, a node that only serves /time, an\n"
	"intermittent timeout, a node that is down), run probes tr-a (fresh connections) and tr-b\n"
	"(reused connections) at the same time, then analyze: DIR/REPORT.md (default DIR: out).\n"
	"\n"
	"examples:\n"
	"  ippantime demo\n"
	"  ippantime demo --out-dir /tmp/ippantime-demo --nodes 12 --base-port 28080 --samples 200\n";

static const char *const demo_conf[] = {
	"node 1 offset_us=25000          # clock drift: tune chrony",
	"node 2 jitter_us=8000           # network congestion or node overload",
	"node 3 step_at_req=40 step_us=-30000    # time-service bug: goes back after 40 replies",
	"node 4 fault=time_only offset_us=3000   # serves the clock at /time only",
	"node 5 fault=timeout fault_every=10     # every 10th request times out",
	"node 6 fault=down               # never answers: no valid samples",
};

int cmd_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out-dir", required_argument, 0, 'o'}, {"nodes", required_argument, 0, 'n'},
		{"base-port", required_argument, 0, 'p'}, {"samples", required_argument, 0, 's'},
		{"interval-ms", required_argument, 0, 'i'}, {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	const char *outdir = "out";
	long nodes = 8, port = 18080, samples = 120, interval = 25;
	char *self = ipt_self_exe(), *conf, *targets, *csv[2], *log[2], *line = NULL;
	char nb[16], pb[16], sb[16], ib[16];
	struct strbuf tj = {0};
	pid_t sim, pr[2];
	int c, pfd[2], rc = 0, ready = 0;
	size_t cap = 0;
	FILE *simout, *f;
	struct stat st;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': outdir = optarg; break;
		case 'n':
			if (ipt_parse_int_range(optarg, 1, 1000, &nodes))
				return ipt_err("demo: bad --nodes '%s' (1..1000)", optarg), IPT_EXIT_USAGE;
			break;
		case 'p':
			if (ipt_parse_int_range(optarg, 1, 65535, &port))
				return ipt_err("demo: bad --base-port '%s'", optarg), IPT_EXIT_USAGE;
			break;
		case 's':
			if (ipt_parse_int_range(optarg, 1, 1000000, &samples))
				return ipt_err("demo: bad --samples '%s'", optarg), IPT_EXIT_USAGE;
			break;
		case 'i':
			if (ipt_parse_int_range(optarg, 1, 60000, &interval))
				return ipt_err("demo: bad --interval-ms '%s'", optarg), IPT_EXIT_USAGE;
			break;
		case 'h': fputs(usage, stdout); free(self); return 0;
		default: free(self); return ipt_getopt_error("demo", c, argv);
		}
	}
	if (!self) {
		ipt_err("demo: cannot find this binary (/proc/self/exe)");
		return IPT_EXIT_FAIL;
	}
	if (stat(outdir, &st) != 0 && mkdir(outdir, 0755) != 0) {
		ipt_err("demo: cannot create --out-dir '%s': %s", outdir, strerror(errno));
		free(self);
		return IPT_EXIT_USAGE;
	}
	conf = xasprintf("%s/demo_sim.conf", outdir);
	f = fopen(conf, "w");
	if (!f) {
		ipt_err("demo: cannot write '%s': %s", conf, strerror(errno));
		free(conf);
		free(self);
		return IPT_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(demo_conf) / sizeof(demo_conf[0]); i++)
		if ((long)i + 1 < nodes)
			fprintf(f, "%s\n", demo_conf[i]);
	fclose(f);

	snprintf(nb, sizeof(nb), "%ld", nodes);
	snprintf(pb, sizeof(pb), "%ld", port);
	snprintf(sb, sizeof(sb), "%ld", samples);
	snprintf(ib, sizeof(ib), "%ld", interval);
	if (pipe(pfd)) {
		ipt_err("demo: pipe: %s", strerror(errno));
		return IPT_EXIT_FAIL;
	}
	{
		char *av[] = {self, "sim", "--nodes", nb, "--base-port", pb, "--config", conf, NULL};
		sim = ipt_spawn(av, -1, pfd[1]);
	}
	close(pfd[1]);
	simout = fdopen(pfd[0], "r");
	while (sim > 0 && getline(&line, &cap, simout) > 0) {
		fputs(line, stdout);
		if (!strncmp(line, "ready:", 6)) {
			ready = 1;
			break;
		}
	}
	if (!ready) {
		ipt_err("demo: the simulated fleet did not start (port range %ld..%ld busy? try --base-port)",
			port, port + nodes - 1);
		if (sim > 0)
			ipt_wait(sim);
		rc = IPT_EXIT_FAIL;
		goto out;
	}
	for (long i = 0; i < nodes; i++)
		sb_printf(&tj, "%s{\"node\":\"node-%02ld\",\"url\":\"http://127.0.0.1:%ld\"}", i ? "," : "[", i, port + i);
	sb_puts(&tj, "]");
	targets = tj.p;
	printf("probing %ld nodes x %ld samples every %ld ms from tr-a (fresh) and tr-b (reuse) at once...\n",
	       nodes, samples, interval);
	fflush(stdout);
	for (int k = 0; k < 2; k++) {
		const char *name = k ? "tr-b" : "tr-a";
		int fd;
		csv[k] = xasprintf("%s/ippantime_%s.csv", outdir, name);
		log[k] = xasprintf("%s/demo_%s.log", outdir, name);
		fd = open(log[k], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		{
			char *av[] = {self, "probe", "--targets-json", targets, "--samples", sb, "--interval-ms", ib,
				      "--timeout", "0.5", "--connection", k ? "reuse" : "fresh", "--probe-name",
				      (char *)name, "--out", csv[k], NULL};
			pr[k] = ipt_spawn(av, fd, -1);
		}
		if (fd >= 0)
			close(fd);
	}
	for (int k = 0; k < 2; k++) {
		int r = pr[k] > 0 ? ipt_wait(pr[k]) : 127;
		printf("probe %s: %s (summary in %s)\n", k ? "tr-b" : "tr-a", r == 0 ? "OK" : "FAILED", log[k]);
		if (r)
			rc = IPT_EXIT_FAIL;
	}
	kill(sim, SIGTERM);
	ipt_wait(sim);
	if (!rc) {
		char *av[] = {"analyze", "--out-dir", (char *)outdir, NULL};
		optind = 0;
		rc = cmd_analyze(3, av);
	}
	for (int k = 0; k < 2; k++) {
		free(csv[k]);
		free(log[k]);
	}
out:
	if (simout)
		fclose(simout);
	free(line);
	sb_free(&tj);
	free(conf);
	free(self);
	return rc;
}
