// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fcount: count calls of kernel functions named on the command line, with
 * one fentry program per function, optionally only calls made by one
 * process. A test helper for the VM test: it proves that a code path (e.g.
 * tun_net_xmit -> vhost_add_used_and_signal_n -> eventfd_signal) really ran
 * in the kernel under test. Functions of loaded modules resolve through the
 * module's BTF. A function in no BTF but in /proc/kallsyms (a module's, on a
 * kernel without module BTF such as 5.10) is counted with a kprobe instead;
 * the ready record says which hook each function got.
 *
 *   fcount --ready-file F tun_net_xmit vhost_add_used_and_signal_n eventfd_signal
 *
 * Prints a ready record once every program is attached, and the counts as
 * one JSON line on SIGINT, SIGTERM or the end of --duration.
 */
#include <argp.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "fcount.h"
#include "fcount.skel.h"
#include "vmt_util.h"
#include "lib/cli.h"
#include "lib/loop.h"
#include "lib/output.h"
#include "lib/privs.h"

static struct {
	const char *funcs[FC_SLOTS];
	int nfuncs;
	uint64_t tgid;
	double duration_s;
	const char *ready_file;
	bool verbose;
	bool kprobe[FC_SLOTS]; /* this slot counts with its kprobe twin */
} env;

const char *argp_program_version = "fcount (netseg vmtest)";
/* argp wraps paragraphs itself: one string piece per paragraph */
static const char doc[] =
	"Count calls of kernel functions with fentry programs (netseg VM test helper).\n"
	"\n"
	"Each FUNC gets its own fentry program; functions of loaded modules resolve through "
	"module BTF. Runs until SIGINT, SIGTERM or --duration, then prints "
	"{\"type\":\"counts\",\"counts\":{FUNC:N,...},...} as one JSON line.\n"
	"\n"
	"EXAMPLES:\n"
	"  fcount tun_net_xmit vhost_add_used_and_signal_n eventfd_signal\n"
	"  fcount --pid 1234 --duration 5 tun_net_xmit";

enum { OPT_READY = 0x3000 };

static const struct argp_option opts[] = {
	{ "pid", 'p', "TGID", 0, "count only calls made by this process (thread group id)", 0 },
	{ "duration", 'd', "SECONDS", 0, "stop after this long (default: until a signal)", 0 },
	{ "ready-file", OPT_READY, "FILE", 0, "write the ready record here once attached", 0 },
	{ "verbose", 'v', NULL, 0, "libbpf messages (verifier log on failure)", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char err[256];

	switch (key) {
	case 'p':
		if (cli_parse_u64("--pid", arg, 1, 0x7fffffff, &env.tgid, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case 'd':
		if (cli_parse_seconds("--duration", arg, &env.duration_s, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_READY:
		env.ready_file = arg;
		break;
	case 'v':
		env.verbose = true;
		break;
	case ARGP_KEY_ARG:
		if (env.nfuncs >= FC_SLOTS)
			cli_usage_error("at most %d functions (got '%s' as number %d)", FC_SLOTS, arg,
					env.nfuncs + 1);
		if (!*arg || strlen(arg) > 127)
			cli_usage_error("invalid function name '%s'", arg);
		for (int i = 0; i < env.nfuncs; i++)
			if (!strcmp(env.funcs[i], arg))
				cli_usage_error("function '%s' named twice", arg);
		env.funcs[env.nfuncs++] = arg;
		break;
	case ARGP_KEY_END:
		if (!env.nfuncs)
			cli_usage_error("name at least one kernel function (see --help)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	(void)state;
	return 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !env.verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static struct bpf_program *slot_prog(struct fcount_bpf *skel, int i)
{
	struct bpf_program *progs[FC_SLOTS] = {
		skel->progs.fc_slot0, skel->progs.fc_slot1, skel->progs.fc_slot2,
		skel->progs.fc_slot3, skel->progs.fc_slot4, skel->progs.fc_slot5,
		skel->progs.fc_slot6, skel->progs.fc_slot7,
	};

	return progs[i];
}

static struct bpf_program *kslot_prog(struct fcount_bpf *skel, int i)
{
	struct bpf_program *progs[FC_SLOTS] = {
		skel->progs.fc_kslot0, skel->progs.fc_kslot1, skel->progs.fc_kslot2,
		skel->progs.fc_kslot3, skel->progs.fc_kslot4, skel->progs.fc_kslot5,
		skel->progs.fc_kslot6, skel->progs.fc_kslot7,
	};

	return progs[i];
}

/* the exact name is a text symbol in /proc/kallsyms (a module's too) */
static bool in_kallsyms(const char *name)
{
	char line[512], sym[256], type;
	unsigned long long addr;
	bool found = false;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, sym) == 3 &&
		    (type == 't' || type == 'T') && !strcmp(sym, name))
			found = true;
	}
	fclose(f);
	return found;
}

/* {"f1":n1,...} from the counters, the function list when counts is NULL,
 * or {"f1":"fentry",...} with hooks */
static void funcs_json(const volatile __u64 *counts, bool hooks, char *buf, size_t len)
{
	bool obj = counts || hooks;

	size_t off = 0;

	off += snprintf(buf + off, len - off, obj ? "{" : "[");
	for (int i = 0; i < env.nfuncs && off < len; i++) {
		if (i)
			off += snprintf(buf + off, len - off, ",");
		if (off < len)
			off += out_json_string(buf + off, len - off, env.funcs[i]);
		if (counts && off < len)
			off += snprintf(buf + off, len - off, ":%llu",
					(unsigned long long)counts[i]);
		else if (hooks && off < len)
			off += snprintf(buf + off, len - off, ":\"%s\"",
					env.kprobe[i] ? "kprobe" : "fentry");
	}
	if (off < len)
		snprintf(buf + off, len - off, obj ? "}" : "]");
}

int main(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, "FUNC...", doc, NULL, NULL, NULL };
	struct bpf_link *links[FC_SLOTS] = {};
	struct fcount_bpf *skel = NULL;
	struct out_rec r;
	char buf[2048], line[4096];
	double start, end;
	int rc = 1, err;

	cli_set_tool("fcount");
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return CLI_EXIT_USAGE;
	out_setup(stdout, true);
	libbpf_set_print(libbpf_print);
	if (privs_require("fcount") || btf_require("fcount"))
		return 1;
	/* before attaching: a signal during setup must still end in counts */
	if (loop_signals_install()) {
		fprintf(stderr, "fcount: installing signal handlers failed\n");
		return 1;
	}

	skel = fcount_bpf__open();
	if (!skel) {
		fprintf(stderr, "fcount: opening the BPF object failed: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->fc_tgid = (uint32_t)env.tgid;
	for (int i = 0; i < FC_SLOTS; i++) {
		struct bpf_program *p = slot_prog(skel, i);

		bpf_program__set_autoload(kslot_prog(skel, i), false);
		if (i >= env.nfuncs) {
			bpf_program__set_autoload(p, false);
			continue;
		}
		/* looks the name up in vmlinux BTF, then in every module's BTF */
		err = bpf_program__set_attach_target(p, 0, env.funcs[i]);
		if (err == -ESRCH && in_kallsyms(env.funcs[i])) {
			/* no BTF for it (a module without BTF): its kprobe twin */
			env.kprobe[i] = true;
			bpf_program__set_autoload(p, false);
			bpf_program__set_autoload(kslot_prog(skel, i), true);
			continue;
		}
		if (err) {
			/* libbpf says -ESRCH for "not in any BTF" */
			fprintf(stderr, "fcount: cannot trace '%s': %s\n", env.funcs[i],
				err == -ESRCH ? "no such function in the kernel's BTF (vmlinux or a loaded module) nor in /proc/kallsyms"
					      : strerror(-err));
			goto out;
		}
	}
	err = fcount_bpf__load(skel);
	if (err) {
		fprintf(stderr,
			"fcount: loading the fentry/kprobe programs failed: %s (does this kernel allow fentry? `netseg doctor` says; -v shows the verifier log)\n",
			strerror(-err));
		goto out;
	}
	for (int i = 0; i < env.nfuncs; i++) {
		if (env.kprobe[i])
			links[i] = bpf_program__attach_kprobe(kslot_prog(skel, i), false, env.funcs[i]);
		else
			links[i] = bpf_program__attach(slot_prog(skel, i));
		if (!links[i]) {
			fprintf(stderr, "fcount: attaching %s to '%s' failed: %s\n",
				env.kprobe[i] ? "a kprobe" : "fentry", env.funcs[i], strerror(errno));
			goto out;
		}
	}

	out_begin(&r, "ready");
	out_str(&r, "tool", NULL, "fcount", 0);
	out_u64(&r, "pid", NULL, (uint64_t)getpid(), 0);
	funcs_json(NULL, false, buf, sizeof(buf));
	out_json(&r, "functions", buf, NULL, 0);
	funcs_json(NULL, true, buf, sizeof(buf));
	out_json(&r, "hooks", buf, NULL, 0);
	out_u64(&r, "tgid_filter", NULL, env.tgid, 0);
	out_emit(&r);
	out_flush();
	out_render(&r, true, line, sizeof(line));
	if (vmt_ready_file("fcount", env.ready_file, line))
		goto out;

	/* nothing to poll: the counters live in the mmapped .bss */
	start = vmt_now_s();
	end = env.duration_s > 0 ? start + env.duration_s : 0;
	while (!loop_stop_requested()) {
		double now = vmt_now_s();
		int ms = 100;

		if (end && now >= end)
			break;
		if (end && (end - now) * 1000 < ms)
			ms = (int)((end - now) * 1000) + 1;
		poll(NULL, 0, ms);
	}

	out_begin(&r, "counts");
	out_str(&r, "tool", NULL, "fcount", 0);
	funcs_json(skel->bss->fc_counts, false, buf, sizeof(buf));
	out_json(&r, "counts", buf, NULL, 0);
	out_u64(&r, "tgid_filter", NULL, env.tgid, 0);
	out_f64(&r, "run_s", NULL, vmt_now_s() - start, 0);
	out_str(&r, "ended_by", NULL,
		loop_stop_requested() ? (loop_stop_signal() == SIGTERM ? "SIGTERM" : "SIGINT")
				      : "duration",
		0);
	out_emit(&r);
	out_flush();
	rc = 0;
out:
	for (int i = 0; i < FC_SLOTS; i++)
		bpf_link__destroy(links[i]);
	fcount_bpf__destroy(skel);
	return rc;
}
