// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * netseg doctor: what this kernel lets each tracer do. Every "yes" comes
 * from a real probe (a program loaded and attached), never from a version
 * number, so the answer is right on patched and backported kernels too.
 */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/catalog.h"
#include "lib/output.h"
#include "lib/privs.h"
#include "lib/tier.h"
#include "../subcommands.h"

struct family_probe {
	enum netseg_tier tier;
	const char *targets[4];   /* first that works proves the family */
};

static const struct family_probe families[] = {
	{ NETSEG_TIER_FENTRY, { "icmp_rcv", "tcp_v4_rcv", "dev_hard_start_xmit", NULL } },
	{ NETSEG_TIER_KPROBE, { "icmp_rcv", "tcp_v4_rcv", "dev_hard_start_xmit", NULL } },
	{ NETSEG_TIER_TP_BTF, { "net_dev_xmit", "netif_receive_skb", NULL } },
	{ NETSEG_TIER_RAW_TP, { "net_dev_xmit", "netif_receive_skb", NULL } },
	{ NETSEG_TIER_TRACEPOINT, { "net/net_dev_xmit", "net/netif_receive_skb", NULL } },
};

static bool doctor_json;

static const char doctor_doc[] =
	"Report what this kernel allows netseg's tracers: BTF, tracefs, each hook family\n"
	"(fentry, kprobe, tp_btf, raw_tp, tracepoint) probed for real, every hook each\n"
	"tracer wants with the tier it would get, the ring buffer, /dev/kvm, /dev/net/tun\n"
	"and vhost-net. Exit 0 when every tracer can run at some tier, 1 otherwise.\n"
	"\n"
	"EXAMPLES:\n"
	"  sudo netseg doctor\n"
	"  sudo netseg doctor --json | jq .families";

static const struct argp_option doctor_opts[] = {
	{ "json", 'j', NULL, 0, "one JSON object instead of text", 0 },
	{},
};

static error_t doctor_parse(int key, char *arg, struct argp_state *state)
{
	(void)state;
	switch (key) {
	case 'j':
		doctor_json = true;
		return 0;
	case ARGP_KEY_ARG:
		fprintf(stderr, "netseg doctor: unexpected argument '%s'\n", arg);
		exit(2);
	}
	return ARGP_ERR_UNKNOWN;
}

/* A small JSON writer into a growing buffer: doctor's output is one object. */
struct jbuf {
	char *p;
	size_t len, cap;
};

static void jput(struct jbuf *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void jput(struct jbuf *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(j->p ? j->p + j->len : NULL, j->p ? j->cap - j->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (j->p && j->len + n < j->cap) {
			j->len += n;
			return;
		}
		size_t cap = (j->cap ? j->cap * 2 : 4096) + n;
		char *p = realloc(j->p, cap);

		if (!p)
			return;
		j->p = p;
		j->cap = cap;
	}
}

static void jstr(struct jbuf *j, const char *s)
{
	char tmp[1024];

	out_json_string(tmp, sizeof(tmp), s);
	jput(j, "%s", tmp);
}

static bool path_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static int list_module_btf(char *buf, size_t len)
{
	DIR *d = opendir("/sys/kernel/btf");
	struct dirent *de;
	size_t off = 0;
	int n = 0;

	buf[0] = 0;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "vmlinux"))
			continue;
		if (off < len)
			off += snprintf(buf + off, len - off, "%s%s", n ? "," : "", de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static int probe_ringbuf(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "netseg_probe", 0, 0, 4096, NULL);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

struct fam_result {
	int rc;
	const char *target;
};

static void probe_families(struct fam_result *res)
{
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		res[f].rc = -ENOENT;
		res[f].target = families[f].targets[0];
		for (int i = 0; families[f].targets[i]; i++) {
			int rc = tier_probe(families[f].tier, families[f].targets[i], NULL, 0);

			if (i == 0 || rc == 0) {
				res[f].rc = rc;
				res[f].target = families[f].targets[i];
			}
			if (rc == 0)
				break;
		}
	}
}

static const char *why(int rc)
{
	switch (rc) {
	case -EOPNOTSUPP:
		return "kernel has no kprobes (no kprobe PMU)";
	case -ENOENT:
		return "hook not found in this kernel";
	}
	return strerror(-rc);
}

static void hook_line(struct jbuf *j, const struct tier_stage *st, const struct tier_choice *c,
		      bool text)
{
	bool first = true;

	if (text) {
		printf("    %-14s %-12s", st->name, tier_name(c->tier));
		for (int i = 0; i < TIER_MAX_HOOKS && st->hooks[i].tier; i++)
			if (st->hooks[i].tier == c->tier && c->hook_ok[i])
				printf(" %s", c->tier == NETSEG_TIER_KPROBE ? c->resolved[i]
									     : st->hooks[i].target);
		if (c->tier == NETSEG_TIER_NONE)
			printf(" %s", st->optional ? "(optional: the tracer runs without it)"
						   : "(required)");
		printf("\n");
		return;
	}
	jput(j, "{\"stage\":");
	jstr(j, st->name);
	jput(j, ",\"tier\":\"%s\",\"optional\":%s,\"hooks\":[", tier_name(c->tier),
	     st->optional ? "true" : "false");
	for (int i = 0; i < TIER_MAX_HOOKS && st->hooks[i].tier; i++) {
		int rc = tier_probe(st->hooks[i].tier, st->hooks[i].target, NULL, 0);

		jput(j, "%s{\"tier\":\"%s\",\"target\":", first ? "" : ",",
		     tier_name(st->hooks[i].tier));
		jstr(j, st->hooks[i].target);
		jput(j, ",\"available\":%s,\"chosen\":%s", rc == 0 ? "true" : "false",
		     st->hooks[i].tier == c->tier && c->hook_ok[i] ? "true" : "false");
		if (rc) {
			jput(j, ",\"reason\":");
			jstr(j, why(rc));
		}
		jput(j, "}");
		first = false;
	}
	jput(j, "]}");
}

int doctor_main(int argc, char **argv)
{
	static const struct argp argp = { doctor_opts, doctor_parse, NULL, doctor_doc, NULL, NULL,
					  NULL };
	struct fam_result fam[sizeof(families) / sizeof(families[0])];
	struct jbuf j = { 0 };
	struct utsname u;
	char mods[2048];
	bool all_run = true;
	const char *events;
	int n_mods, rb;
	bool text;

	argp_err_exit_status = 2;
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return 2;
	text = !doctor_json;
	if (!privs_can_trace()) {
		fprintf(stderr, "netseg doctor: needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN) to probe the kernel for real; run it with sudo\n");
		return 1;
	}
	libbpf_set_print(NULL);
	uname(&u);
	n_mods = list_module_btf(mods, sizeof(mods));
	events = tier_tracefs_events_dir();
	rb = probe_ringbuf();
	probe_families(fam);

	if (text) {
		printf("netseg doctor: kernel %s %s\n\n", u.release, u.machine);
		printf("Kernel\n");
		printf("  %-22s %s\n", "BTF (vmlinux)",
		       path_exists("/sys/kernel/btf/vmlinux") ? "yes" : "NO: CO-RE tracers cannot run");
		printf("  %-22s %s\n", "BTF (modules)", n_mods ? mods : "none");
		printf("  %-22s %s\n", "tracefs", events ? events : "no (classic tracepoints unavailable)");
		printf("  %-22s %s\n", "ring buffer", rb ? why(rb) : "yes");
		printf("\nHook families (a program really loaded and attached)\n");
		for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
			printf("  %-12s %-4s %s%s%s\n", tier_name(families[f].tier),
			       fam[f].rc ? "no" : "yes", fam[f].target, fam[f].rc ? ": " : "",
			       fam[f].rc ? why(fam[f].rc) : "");
		printf("\nDevices\n");
		printf("  %-22s %s\n", "/dev/kvm", path_exists("/dev/kvm") ? "yes" : "no");
		printf("  %-22s %s\n", "/dev/net/tun", path_exists("/dev/net/tun") ? "yes" : "no");
		printf("  %-22s %s\n", "/dev/vhost-net",
		       path_exists("/dev/vhost-net") ? "yes" : "no (modprobe vhost_net)");
		printf("\nTracers (stage, tier it would get, hooks)\n");
	} else {
		jput(&j, "{\"type\":\"doctor\",\"kernel\":");
		jstr(&j, u.release);
		jput(&j, ",\"machine\":");
		jstr(&j, u.machine);
		jput(&j, ",\"btf_vmlinux\":%s,\"btf_modules\":[",
		     path_exists("/sys/kernel/btf/vmlinux") ? "true" : "false");
		if (n_mods) {
			char *save = NULL, *tok;
			bool first = true;

			for (tok = strtok_r(mods, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				jput(&j, "%s", first ? "" : ",");
				jstr(&j, tok);
				first = false;
			}
		}
		jput(&j, "],\"tracefs\":");
		if (events)
			jstr(&j, events);
		else
			jput(&j, "null");
		jput(&j, ",\"ringbuf\":%s,\"families\":{", rb ? "false" : "true");
		for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
			jput(&j, "%s\"%s\":{\"available\":%s,\"target\":", f ? "," : "",
			     tier_name(families[f].tier), fam[f].rc ? "false" : "true");
			jstr(&j, fam[f].target);
			if (fam[f].rc) {
				jput(&j, ",\"reason\":");
				jstr(&j, why(fam[f].rc));
			}
			jput(&j, "}");
		}
		jput(&j, "},\"devices\":{\"kvm\":%s,\"tun\":%s,\"vhost_net\":%s},\"tracers\":[",
		     path_exists("/dev/kvm") ? "true" : "false",
		     path_exists("/dev/net/tun") ? "true" : "false",
		     path_exists("/dev/vhost-net") ? "true" : "false");
	}

	for (int t = 0; catalog_tools[t]; t++) {
		const struct tier_tool *tool = catalog_tools[t];
		struct tier_plan plan;
		char err[512] = "";
		bool runs = tier_plan_make(tool, TIER_FORCE_AUTO, &plan, err, sizeof(err)) == 0;

		all_run &= runs;
		if (text) {
			printf("  %s%s: %s%s\n", tool->name, tool->planned ? " (planned)" : "",
			       runs ? "can run" : "CANNOT RUN: ", runs ? "" : err);
		} else {
			jput(&j, "%s{\"tool\":", t ? "," : "");
			jstr(&j, tool->name);
			jput(&j, ",\"planned\":%s,\"runs\":%s,", tool->planned ? "true" : "false",
			     runs ? "true" : "false");
			if (!runs) {
				jput(&j, "\"reason\":");
				jstr(&j, err);
				jput(&j, ",");
			}
			jput(&j, "\"stages\":[");
		}
		/* a failed plan stops at the failing stage; list what it decided */
		for (int s = 0; s < tool->n_stages; s++) {
			if (!text && s)
				jput(&j, ",");
			hook_line(&j, &tool->stages[s], &plan.stage[s], text);
		}
		if (!text)
			jput(&j, "]}");
	}
	if (text) {
		printf("\n%s\n", all_run ? "Verdict: every tracer can run on this kernel."
					 : "Verdict: some tracer cannot run on this kernel (see above).");
	} else {
		jput(&j, "],\"all_tracers_run\":%s}", all_run ? "true" : "false");
		printf("%s\n", j.p ? j.p : "{}");
		free(j.p);
	}
	return all_run ? 0 : 1;
}
