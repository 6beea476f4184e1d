/* run: the whole mesh. Every probe host gets the module by rsync and runs its probe over ssh
 * at the same time as the others; CSVs are collected and analyzed. A failing probe is
 * reported and does not stop the others. */
#include "cmds.h"
#include "common.h"
#include "inventory.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef IPT_SHARE_DIR
#define IPT_SHARE_DIR "/usr/local/share/ippantime"
#endif

static const char usage[] =
	"usage: ippantime run [--inventory FILE] [--out-dir DIR] [--module-dir DIR]\n"
	"                     [--remote-dir DIR] [--include-servers] [--no-analyze]\n"
	"\n"
	"Run the mesh: for every probe (the inventory's threadrippers, plus its servers with\n"
	"--include-servers or INCLUDE_SERVER_PROBES=1), at the same time: rsync the module (scripts,\n"
	"this binary, the inventory) to USER@HOST:REMOTE_DIR, run run_probe_from_host.sh NAME there\n"
	"over ssh (readiness gate, then the probe), fetch out/ippantime_NAME.csv into DIR. Then\n"
	"analyze DIR. A failed probe is reported (its log is DIR/run_NAME.log); the others finish.\n"
	"Exit 0 all probes OK, 1 any failed, 2 bad input.\n"
	"  --inventory FILE   default inventory.yaml\n"
	"  --out-dir DIR      default out\n"
	"  --module-dir DIR   where run_probe_from_host.sh and remote/ are (default: found from\n"
	"                     this binary, or $IPPANTIME_HOME)\n"
	"  --remote-dir DIR   on the probe hosts (default $IPPANTIME_REMOTE_DIR or 'ippantime' in the\n"
	"                     remote home); %p is replaced by the probe name\n"
	"environment: IPPANTIME_SSH_OPTS (extra ssh options, e.g. '-i key'), IPPANTIME_SSH_TIMEOUT\n"
	"  (connect timeout, default 10 s), IPPANTIME_READY_TIMEOUT (readiness gate, default 120 s),\n"
	"  IPPANTIME_PROBE_ARGS (extra probe flags, e.g. '--connection reuse').\n"
	"ssh always runs with BatchMode=yes: a missing key fails fast instead of prompting.\n"
	"\n"
	"examples:\n"
	"  ippantime run --inventory inventory.yaml --out-dir out\n"
	"  INCLUDE_SERVER_PROBES=1 IPPANTIME_SSH_OPTS='-i ~/.ssh/mesh' ippantime run\n";

struct rprobe {
	const char *name, *host, *user;
	long port;
	pid_t pid;
	int rc;
	char *log;
};

static const char *const step_names[] = {"ok", "rsync to host", "ssh probe", "fetch CSV"};

/* argv for ssh: base options, user extras, then the destination. */
static void ssh_base(char **av, int *n, long port, char *extra)
{
	static char ct[64];
	const char *t = getenv("IPPANTIME_SSH_TIMEOUT");
	snprintf(ct, sizeof(ct), "ConnectTimeout=%s", t && *t ? t : "10");
	av[(*n)++] = "ssh";
	av[(*n)++] = "-o";
	av[(*n)++] = "BatchMode=yes";
	av[(*n)++] = "-o";
	av[(*n)++] = ct;
	av[(*n)++] = "-o";
	av[(*n)++] = "StrictHostKeyChecking=accept-new";
	av[(*n)++] = "-p";
	av[(*n)++] = xasprintf("%ld", port);
	if (extra)
		for (char *tok = strtok(extra, " \t"); tok && *n < 60; tok = strtok(NULL, " \t"))
			av[(*n)++] = tok;
}

static char *ssh_cmd_string(long port)
{
	const char *t = getenv("IPPANTIME_SSH_TIMEOUT"), *x = getenv("IPPANTIME_SSH_OPTS");
	return xasprintf("ssh -o BatchMode=yes -o ConnectTimeout=%s -o StrictHostKeyChecking=accept-new -p %ld %s",
			 t && *t ? t : "10", port, x ? x : "");
}

static int step(char **av, int logfd)
{
	pid_t pid;
	dprintf(logfd, "+");
	for (int i = 0; av[i]; i++)
		dprintf(logfd, " %s", av[i]);
	dprintf(logfd, "\n");
	pid = ipt_spawn(av, logfd, -1);
	return pid < 0 ? 127 : ipt_wait(pid);
}

/* Runs in a child process per probe: returns 0 or the failed step number. */
static int probe_host(struct rprobe *p, const char *stage, const char *remote, const char *outdir)
{
	int logfd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char *dest = xasprintf("%s@%s", p->user, p->host);
	/* rsync needs an IPv6 literal in brackets before the ':path' */
	char *rdest = strchr(p->host, ':') ? xasprintf("%s@[%s]", p->user, p->host) : dest;
	char *rsh = ssh_cmd_string(p->port);
	char *av[80];
	int n, rc;
	char *extra = getenv("IPPANTIME_SSH_OPTS") ? xstrdup(getenv("IPPANTIME_SSH_OPTS")) : NULL;
	const char *pargs = getenv("IPPANTIME_PROBE_ARGS");
	const char *ready = getenv("IPPANTIME_READY_TIMEOUT");

	if (logfd < 0)
		return 1;
	/* 1: module to the host (no --delete: earlier CSVs there are kept) */
	n = 0;
	av[n++] = "rsync";
	av[n++] = "-a";
	av[n++] = "-e";
	av[n++] = rsh;
	av[n++] = "--rsync-path";
	av[n++] = xasprintf("mkdir -p '%s' && rsync", remote);
	av[n++] = xasprintf("%s/", stage);
	av[n++] = xasprintf("%s:%s/", rdest, remote);
	av[n] = NULL;
	if ((rc = step(av, logfd)))
		return dprintf(logfd, "step failed: exit %d\n", rc), 1;
	/* 2: the probe, on the host */
	n = 0;
	ssh_base(av, &n, p->port, extra);
	av[n++] = dest;
	av[n++] = xasprintf("cd '%s' && IPPANTIME_READY_TIMEOUT='%s' IPPANTIME_PROBE_ARGS='%s' bash run_probe_from_host.sh '%s'",
			    remote, ready ? ready : "120", pargs ? pargs : "", p->name);
	av[n] = NULL;
	if ((rc = step(av, logfd)))
		return dprintf(logfd, "step failed: exit %d\n", rc), 2;
	/* 3: its CSV back */
	n = 0;
	av[n++] = "rsync";
	av[n++] = "-a";
	av[n++] = "-e";
	av[n++] = rsh;
	av[n++] = xasprintf("%s:%s/out/ippantime_%s.csv", rdest, remote, p->name);
	av[n++] = xasprintf("%s/", outdir);
	av[n] = NULL;
	if ((rc = step(av, logfd)))
		return dprintf(logfd, "step failed: exit %d\n", rc), 3;
	close(logfd);
	return 0;
}

static char *find_module_dir(const char *given)
{
	const char *env = getenv("IPPANTIME_HOME");
	char *self, *cand, *probe;
	struct stat st;
	if (given)
		return xstrdup(given);
	if (env && *env)
		return xstrdup(env);
	self = ipt_self_exe();
	if (self) {
		/* built in place: ippantime/.output/ippantime */
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			slash = strrchr(self, '/');
			if (slash) {
				*slash = 0;
				probe = xasprintf("%s/run_probe_from_host.sh", self);
				if (stat(probe, &st) == 0) {
					free(probe);
					return self;
				}
				free(probe);
			}
		}
		free(self);
	}
	cand = xstrdup(IPT_SHARE_DIR);
	return cand;
}

static char *subst_probe(const char *tmpl, const char *name)
{
	struct strbuf b = {0};
	/* the remote command quotes the path, so '~' would not expand: the home is the
	 * starting directory of an ssh session anyway */
	if (tmpl[0] == '~' && tmpl[1] == '/')
		tmpl += 2;
	for (const char *s = tmpl; *s; s++) {
		if (s[0] == '%' && s[1] == 'p') {
			sb_puts(&b, name);
			s++;
		} else {
			sb_add(&b, s, 1);
		}
	}
	return b.p ? b.p : xstrdup("");
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"inventory", required_argument, 0, 'i'},  {"out-dir", required_argument, 0, 'o'},
		{"module-dir", required_argument, 0, 'm'}, {"remote-dir", required_argument, 0, 'r'},
		{"include-servers", no_argument, 0, 's'},  {"no-analyze", no_argument, 0, 'n'},
		{"help", no_argument, 0, 'h'},             {0, 0, 0, 0},
	};
	const char *invpath = "inventory.yaml", *outdir = "out", *moddir_arg = NULL;
	const char *remote_tmpl = getenv("IPPANTIME_REMOTE_DIR");
	const char *isp = getenv("INCLUDE_SERVER_PROBES");
	int include_servers = isp && !strcmp(isp, "1"), analyze = 1, c, failed = 0, collected = 0;
	struct inventory inv;
	struct rprobe *pr;
	size_t np = 0;
	char err[512], stage[] = "/tmp/ippantime-stage.XXXXXX", *moddir, *self;
	struct stat st;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': invpath = optarg; break;
		case 'o': outdir = optarg; break;
		case 'm': moddir_arg = optarg; break;
		case 'r': remote_tmpl = optarg; break;
		case 's': include_servers = 1; break;
		case 'n': analyze = 0; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return ipt_getopt_error("run", c, argv);
		}
	}
	if (optind < argc) {
		ipt_err("run: unexpected argument '%s'", argv[optind]);
		return IPT_EXIT_USAGE;
	}
	if (!remote_tmpl || !*remote_tmpl)
		remote_tmpl = "ippantime";
	if (inv_load(invpath, &inv, err, sizeof(err))) {
		ipt_err("%s", err);
		inv_free(&inv);
		return IPT_EXIT_USAGE;
	}
	if (stat(outdir, &st) != 0 || !S_ISDIR(st.st_mode) || access(outdir, W_OK) != 0) {
		ipt_err("run: --out-dir '%s' is not a writable directory", outdir);
		inv_free(&inv);
		return IPT_EXIT_USAGE;
	}
	pr = xcalloc(inv.nprobes + inv.nservers + 1, sizeof(*pr));
	for (size_t i = 0; i < inv.nprobes; i++)
		pr[np++] = (struct rprobe){inv.probes[i].name, inv.probes[i].host, inv.probes[i].ssh_user,
					   inv.probes[i].ssh_port, 0, 0, NULL};
	for (size_t i = 0; include_servers && i < inv.nservers; i++)
		pr[np++] = (struct rprobe){inv.servers[i].name, inv.servers[i].host, inv.servers[i].ssh_user,
					   inv.servers[i].ssh_port, 0, 0, NULL};
	for (size_t i = 0; i < np; i++) {
		/* names end up in a remote shell command and in file names: keep them plain */
		const char *fields[3] = {pr[i].name, pr[i].user, pr[i].host};
		for (int f = 0; f < 3; f++)
			if (!*fields[f] || strspn(fields[f], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						    "0123456789._-:") != strlen(fields[f])) {
				ipt_err("run: %s: %s '%s' may only hold letters, digits and . _ - :", invpath,
					f == 0 ? "probe name" : f == 1 ? "ssh_user" : "host", fields[f]);
				free(pr);
				inv_free(&inv);
				return IPT_EXIT_USAGE;
			}
	}
	if (remote_tmpl && strpbrk(remote_tmpl, "'\"\\$`")) {
		ipt_err("run: remote dir '%s' must not hold quotes, '$', '`' or '\\'", remote_tmpl);
		free(pr);
		inv_free(&inv);
		return IPT_EXIT_USAGE;
	}
	if (!np) {
		ipt_err("run: %s: no probes (threadrippers empty%s)", invpath,
			include_servers ? " and no servers" : "; INCLUDE_SERVER_PROBES=1 adds the servers");
		free(pr);
		inv_free(&inv);
		return IPT_EXIT_USAGE;
	}

	/* The staging folder is what lands on every probe host. */
	moddir = find_module_dir(moddir_arg);
	self = ipt_self_exe();
	if (!mkdtemp(stage)) {
		ipt_err("run: cannot create a staging folder: %s", strerror(errno));
		return IPT_EXIT_FAIL;
	}
	{
		char *d = xasprintf("%s/remote", stage);
		const char *files[][3] = {
			{"run_probe_from_host.sh", "run_probe_from_host.sh", "755"},
			{"remote/preflight_time.sh", "remote/preflight_time.sh", "755"},
			{"remote/preflight_http.sh", "remote/preflight_http.sh", "755"},
		};
		mkdir(d, 0755);
		free(d);
		d = xasprintf("%s/out", stage);
		mkdir(d, 0755);
		free(d);
		for (size_t i = 0; i < 3; i++) {
			char *from = xasprintf("%s/%s", moddir, files[i][0]), *to = xasprintf("%s/%s", stage, files[i][1]);
			if (ipt_copy_file(from, to, 0755)) {
				ipt_err("run: cannot copy '%s' (set --module-dir or IPPANTIME_HOME): %s", from, strerror(errno));
				free(from);
				free(to);
				failed = -1;
				goto out;
			}
			free(from);
			free(to);
		}
		d = xasprintf("%s/inventory.yaml", stage);
		if (ipt_copy_file(invpath, d, 0644)) {
			ipt_err("run: cannot copy '%s': %s", invpath, strerror(errno));
			free(d);
			failed = -1;
			goto out;
		}
		free(d);
		d = xasprintf("%s/ippantime", stage);
		if (!self || ipt_copy_file(self, d, 0755)) {
			ipt_err("run: cannot copy this binary to the staging folder: %s", strerror(errno));
			free(d);
			failed = -1;
			goto out;
		}
		free(d);
	}

	printf("== IPPAN TIME MESH: %zu probes at once ==\n", np);
	for (size_t i = 0; i < np; i++) {
		char *remote = subst_probe(remote_tmpl, pr[i].name);
		pr[i].log = xasprintf("%s/run_%s.log", outdir, pr[i].name);
		printf("== PROBE: %s (%s@%s:%ld) -> %s\n", pr[i].name, pr[i].user, pr[i].host, pr[i].port, remote);
		fflush(stdout);
		pr[i].pid = fork();
		if (pr[i].pid == 0)
			_exit(probe_host(&pr[i], stage, remote, outdir));
		free(remote);
		if (pr[i].pid < 0) {
			ipt_err("run: fork: %s", strerror(errno));
			pr[i].rc = 1;
		}
	}
	for (size_t i = 0; i < np; i++) {
		if (pr[i].pid > 0)
			pr[i].rc = ipt_wait(pr[i].pid);
	}
	printf("\n== Results ==\n");
	for (size_t i = 0; i < np; i++) {
		if (pr[i].rc == 0) {
			printf("%s: OK (%s/ippantime_%s.csv)\n", pr[i].name, outdir, pr[i].name);
			collected++;
		} else {
			size_t len;
			char *log = ipt_read_file(pr[i].log, &len), *last = NULL;
			/* the last meaningful line of the log says why */
			if (log) {
				char *save = NULL;
				char *sshl = NULL;
				for (char *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
					if (strncmp(l, "step failed", 11) && strncmp(l, "+ ", 2))
						last = l;
					if (!sshl && !strncmp(l, "ssh: ", 5))
						sshl = l; /* ssh's own words beat rsync's follow-up */
				}
				if (sshl)
					last = sshl;
				if (last && *last && last[strlen(last) - 1] == '\r')
					last[strlen(last) - 1] = 0; /* ssh ends its messages with CRLF */
			}
			printf("%s: FAILED at %s (see %s)%s%s\n", pr[i].name,
			       pr[i].rc >= 1 && pr[i].rc <= 3 ? step_names[pr[i].rc] : "start", pr[i].log,
			       last ? ": " : "", last ? last : "");
			free(log);
			failed++;
		}
	}
	fflush(stdout);
	if (analyze && collected) {
		char *av[] = {"analyze", "--out-dir", (char *)outdir, NULL};
		printf("\n== Analyze ==\n");
		fflush(stdout);
		optind = 0;
		if (cmd_analyze(3, av) != 0)
			failed++;
	} else if (analyze) {
		ipt_err("run: no probe produced a CSV: nothing to analyze");
	}
out:
	{
		char *rmv[] = {"rm", "-rf", "--", stage, NULL};
		pid_t pid = ipt_spawn(rmv, -1, -1);
		if (pid > 0)
			ipt_wait(pid);
	}
	for (size_t i = 0; i < np; i++)
		free(pr[i].log);
	free(pr);
	free(moddir);
	free(self);
	inv_free(&inv);
	if (failed < 0)
		return IPT_EXIT_FAIL;
	return failed ? IPT_EXIT_FAIL : 0;
}
