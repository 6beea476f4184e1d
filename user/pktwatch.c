// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pktwatch: print IPv4 packets at device transmit, device receive and local
 * L4 delivery. The smallest netseg tracer: it shows which attach tier this
 * kernel gives each stage, and proves the shared machinery end to end.
 */
#include <argp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "pktwatch.h"
#include "pktwatch.skel.h"
#include "lib/catalog.h"
#include "lib/cli.h"
#include "lib/span_hist.h"
#include "lib/tracer.h"

static struct env {
	int l4proto;              /* 0: any */
	uint32_t host;            /* network order; 0: any */
	const char *ifnames;
	uint64_t port_lo, port_hi;  /* 0-0: any */
	struct netseg_ifset ifs;
	uint64_t stage_count[PW_STAGE_MAX];
	uint64_t tier_count[NETSEG_TIER_MAX];
} env = {
	.l4proto = NETSEG_IPPROTO_ICMP,
};

const char *argp_program_version = "pktwatch " NETSEG_VERSION;
const char *argp_program_bug_address = "netseg issue tracker";
static const char doc[] =
	"Print IPv4 packets at device transmit, device receive and local L4 delivery.\n"
	"\n"
	"Each record says which attach tier produced it. Runs until Ctrl-C, SIGTERM or\n"
	"--duration, then prints a summary with per-stage counts and lost records.\n"
	"\n"
	"EXAMPLES:\n"
	"  pktwatch                          # ICMP in this network namespace\n"
	"  pktwatch --host 198.18.0.2 -j     # ICMP to or from one address, JSON lines\n"
	"  pktwatch --proto all -i eth0,eth1 # every IPv4 packet on two interfaces\n"
	"  pktwatch --proto tcp --port 8080-8119\n"
	"  pktwatch --tier raw_tp --duration 5\n"
	"  pktwatch --netns all --tier tp    # every namespace, classic tracepoints";

enum { OPT_PROTO = 0x2000, OPT_HOST, OPT_PORT };

static const struct argp_option opts[] = {
	{ "proto", OPT_PROTO, "PROTO", 0, "icmp (default), tcp, udp or all", 0 },
	{ "host", OPT_HOST, "ADDR", 0, "only packets from or to this IPv4 address", 0 },
	{ "interface", 'i', "IFS", 0,
	  "only these interfaces (comma list); with --netns all, those of the tracer's own namespace", 0 },
	{ "port", OPT_PORT, "N|LO-HI", 0, "TCP/UDP only: source or destination port in range", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	static const char *const protos[] = { "all", "icmp", "tcp", "udp", NULL };
	static const int proto_nums[] = { 0, NETSEG_IPPROTO_ICMP, NETSEG_IPPROTO_TCP,
					  NETSEG_IPPROTO_UDP };
	char err[256];
	int i;

	switch (key) {
	case OPT_PROTO:
		i = cli_parse_choice("--proto", arg, protos, err, sizeof(err));
		if (i < 0)
			cli_usage_error("%s", err);
		env.l4proto = proto_nums[i];
		break;
	case OPT_HOST:
		if (cli_parse_ipv4("--host", arg, &env.host, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case 'i':
		env.ifnames = arg;
		break;
	case OPT_PORT:
		if (cli_parse_range("--port", arg, 1, 65535, &env.port_lo, &env.port_hi, err,
				    sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case ARGP_KEY_ARG:
		cli_usage_error("unexpected argument '%s' (see --help)", arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	(void)state;
	return 0;
}

static const char *stage_name(unsigned stage)
{
	static const char *const names[PW_STAGE_MAX] = { "xmit", "recv", "l4" };

	return stage < PW_STAGE_MAX ? names[stage] : "?";
}

static const char *proto_name(unsigned p)
{
	switch (p) {
	case NETSEG_IPPROTO_ICMP:
		return "icmp";
	case NETSEG_IPPROTO_TCP:
		return "tcp";
	case NETSEG_IPPROTO_UDP:
		return "udp";
	}
	return "ip";
}

static int resolve_ifnames(void *arg)
{
	char *err = arg;

	return cli_parse_ifnames("--interface", env.ifnames, &env.ifs, NULL, err, 256);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	const struct pw_event *e = data;
	struct out_rec r;

	if (size < sizeof(*e))
		return 0;
	t->records++;
	env.stage_count[e->stage < PW_STAGE_MAX ? e->stage : 0]++;
	env.tier_count[e->tier < NETSEG_TIER_MAX ? e->tier : 0]++;

	out_begin_event(&r, "pkt");
	out_wall(&r, "wall_ns", NULL, tracer_wall(t, e->ts_ns),
		 t->opts->timestamp ? OUT_TEXT_BARE : OUT_TEXT_HIDE);
	out_u64(&r, "ts_ns", NULL, e->ts_ns, OUT_TEXT_HIDE);
	out_str(&r, "stage", NULL, stage_name(e->stage), OUT_TEXT_BARE);
	out_str(&r, "tier", NULL, tier_name(e->tier), OUT_TEXT_BARE);
	out_str(&r, "ifname", NULL, e->ifname, OUT_TEXT_BARE);
	out_u64(&r, "ifindex", NULL, e->ifindex, OUT_TEXT_HIDE);
	out_u64(&r, "netns", NULL, e->netns_ino, OUT_TEXT_HIDE);
	out_ip4(&r, "src", NULL, e->saddr, OUT_TEXT_BARE);
	out_str(&r, "arrow", NULL, "->", OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_ip4(&r, "dst", NULL, e->daddr, OUT_TEXT_BARE);
	out_str(&r, "proto", NULL, proto_name(e->l4proto), OUT_TEXT_BARE);
	if (e->l4proto == NETSEG_IPPROTO_ICMP) {
		out_u64(&r, "icmp_type", "type", e->icmp_type, 0);
		if (e->icmp_type == NETSEG_ICMP_ECHO || e->icmp_type == NETSEG_ICMP_ECHOREPLY) {
			out_u64(&r, "id", NULL, e->sport, 0);
			out_u64(&r, "seq", NULL, e->dport, 0);
		}
	} else if (e->l4proto == NETSEG_IPPROTO_TCP || e->l4proto == NETSEG_IPPROTO_UDP) {
		out_u64(&r, "sport", NULL, e->sport, 0);
		out_u64(&r, "dport", NULL, e->dport, 0);
	}
	out_u64(&r, "len", NULL, e->ip_len, 0);
	out_u64(&r, "cpu", NULL, e->cpu, 0);
	out_u64(&r, "pid", NULL, e->pid, 0);
	out_str(&r, "comm", NULL, e->comm, 0);
	out_emit(&r);
	return 0;
}

static void print_summary(struct tracer *t, enum loop_end how)
{
	struct out_rec r;
	char buf[256];
	size_t off = 0;

	/* quiet: no records; the kernel counted the packets of each stage */
	if (span_hist_quiet(t->opts)) {
		uint64_t cnt[NETSEG_CNT_MAX];

		tracer_counters(t, cnt, NULL, 0);
		for (int s = 0; s < PW_STAGE_MAX; s++)
			env.stage_count[s] = cnt[PW_CNT_STAGE0 + s];
	}
	out_begin(&r, "summary");
	out_str(&r, "kind", NULL, "SUMMARY", OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_str(&r, "tool", NULL, t->tool, OUT_TEXT_BARE);
	for (int s = 0; s < PW_STAGE_MAX; s++) {
		snprintf(buf, sizeof(buf), "count_%s", stage_name(s));
		out_u64(&r, buf, NULL, env.stage_count[s], 0);
	}
	off += snprintf(buf, sizeof(buf), "{");
	for (int i = 1; i < NETSEG_TIER_MAX; i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s\"%s\":%llu", i > 1 ? "," : "",
				tier_name(i), (unsigned long long)env.tier_count[i]);
	snprintf(buf + off, sizeof(buf) - off, "}");
	out_json(&r, "count_by_tier", buf, NULL, OUT_TEXT_HIDE);
	tracer_summary_emit(t, &r, NULL, 0, how);
}

int main(int argc, char **argv)
{
	static const struct argp_child children[] = { { &cli_common_argp, 0, NULL, 0 }, {} };
	static const struct argp argp = { opts, parse_arg, NULL, doc, children, NULL, NULL };
	struct pktwatch_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	struct cli_common *common = cli_common_get();
	struct netseg_netns ns;
	struct tracer t;
	struct out_rec ready;
	enum loop_end how;
	int rc;

	cli_set_tool("pktwatch");
	cli_common_init(common);
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return CLI_EXIT_USAGE;
	out_setup(stdout, common->json);

	rc = tracer_netns("pktwatch", common, &ns, env.ifnames ? resolve_ifnames : NULL);
	if (rc)
		return rc;
	rc = tracer_begin(&t, "pktwatch", common, &catalog_pktwatch);
	if (rc)
		return rc;

	rc = 1;
	skel = pktwatch_bpf__open();
	if (!skel) {
		fprintf(stderr, "pktwatch: opening the BPF object failed\n");
		goto cleanup;
	}
	skel->rodata->netseg_netns_ino = t.ns.ino;
	skel->rodata->pw_l4proto = env.l4proto;
	skel->rodata->pw_addr = env.host;
	memcpy((void *)&skel->rodata->pw_ifs, &env.ifs, sizeof(env.ifs));
	skel->rodata->pw_port_lo = env.port_lo;
	skel->rodata->pw_port_hi = env.port_hi;
	skel->rodata->netseg_quiet = span_hist_quiet(common);
	if (tracer_load_attach(&t, skel->skeleton, skel->obj, handle_event, &t, &rb))
		goto cleanup;

	tracer_ready_begin(&t, &ready);
	out_str(&ready, "proto", NULL, env.l4proto ? proto_name(env.l4proto) : "all", 0);
	if (env.host)
		out_ip4(&ready, "host", NULL, env.host, 0);
	if (env.ifnames)
		out_str(&ready, "interfaces", NULL, env.ifnames, 0);
	if (env.port_hi) {
		out_u64(&ready, "port_lo", NULL, env.port_lo, 0);
		out_u64(&ready, "port_hi", NULL, env.port_hi, 0);
	}
	if (tracer_ready_emit(&t, &ready))
		goto cleanup;

	how = tracer_loop(&t, rb, NULL, NULL, 0);
	tracer_stop(&t, rb);
	print_summary(&t, how);
	rc = how == LOOP_END_ERROR;

cleanup:
	tracer_end(&t);
	ring_buffer__free(rb);
	pktwatch_bpf__destroy(skel);
	return rc;
}
