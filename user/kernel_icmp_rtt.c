// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kernel_icmp_rtt: per-echo ICMP round trip split into path 1 (request),
 * path 2 (reply) and the time in between, from four kernel stamps. Runs in
 * a VM (or any host) for its own pings (tx) or for pings it answers (rx).
 */
#include <argp.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kernel_icmp_rtt.h"
#include "kernel_icmp_rtt.skel.h"
#include "lib/catalog.h"
#include "lib/cli.h"
#include "lib/ksyms.h"
#include "lib/span.h"
#include "lib/span_hist.h"
#include "lib/tracer.h"

static struct env {
	uint32_t src_ip;          /* initiator, network order; 0: any */
	uint32_t dst_ip;          /* target */
	const char *ifnames;
	struct netseg_ifset ifs;
	int direction;            /* -1: decide from the addresses */
	const char *direction_why;
	uint64_t latency_ns;
	uint64_t timeout_ms;
	bool stacks;
	struct ksyms *ksyms;
	struct span_segtab segs;
	uint64_t expired, replaced;
} env = {
	.direction = -1,
	.timeout_ms = 1000,
};

/* The segments, in the order the original printed them. */
static const struct span_segment segments[] = {
	{ "path1", "Total Path 1:", RTT_P1_START, RTT_P1_END },
	{ "path2", "Total Path 2:", RTT_P2_START, RTT_P2_END },
	{ "inter", "Inter-Path Latency:", RTT_P1_END, RTT_P2_START },
	{ "total", "Total RTT:", RTT_P1_START, RTT_P2_END },
};

const char *argp_program_version = "kernel_icmp_rtt " NETSEG_VERSION;
const char *argp_program_bug_address = "netseg issue tracker";
static const char doc[] =
	"Per-echo ICMP round trip inside this kernel, split into path 1 (the request),\n"
	"path 2 (the reply) and the time between them.\n"
	"\n"
	"  tx (this machine pings):      path 1 = IP output -> leaves the NIC,\n"
	"                                path 2 = NIC receive -> ICMP layer (or the ping socket)\n"
	"  rx (this machine is pinged):  path 1 = NIC receive -> ICMP layer,\n"
	"                                path 2 = IP output -> leaves the NIC\n"
	"\n"
	"--src-ip is the ping initiator in both directions. Without --direction the\n"
	"direction follows from which of --src-ip/--dst-ip is an address of this\n"
	"namespace, so the same command line works on both VMs.\n"
	"\n"
	"An echo still incomplete after --timeout-ms (a lost request or reply) is\n"
	"reported as incomplete, with the stages it reached, and counted as expired;\n"
	"a new request with the same (id, seq) never completes an older echo.\n"
	"\n"
	"EXAMPLES:\n"
	"  kernel_icmp_rtt --src-ip 198.18.0.1 --dst-ip 198.18.0.2        # the seed's line, either VM\n"
	"  kernel_icmp_rtt --src-ip 198.18.0.1 --dst-ip 198.18.0.2 --direction tx -i eth0\n"
	"  kernel_icmp_rtt --direction rx --latency-ms 1                  # only slow echoes\n"
	"  kernel_icmp_rtt --src-ip 198.18.0.1 -j --kernel-stacks\n"
	"  kernel_icmp_rtt --duration 60 --ready-file /tmp/rtt.ready > sfsvm-send.log";

enum {
	OPT_SRC = 0x2000,
	OPT_DST,
	OPT_DIRECTION,
	OPT_LAT_MS,
	OPT_LAT_US,
	OPT_NO_STACKS,
	OPT_STACKS,
	OPT_TIMEOUT,
};

static const struct argp_option opts[] = {
	{ "src-ip", OPT_SRC, "ADDR", 0, "the ping initiator (request source), both directions", 0 },
	{ "dst-ip", OPT_DST, "ADDR", 0, "the pinged address (request destination)", 0 },
	{ "interface", 'i', "IFS", 0, "only these interfaces (comma list, e.g. bond slaves)", 0 },
	{ "direction", OPT_DIRECTION, "tx|rx", 0, "tx: this machine pings; rx: it is pinged", 0 },
	{ "latency-ms", OPT_LAT_MS, "MS", 0, "report only echoes with Total RTT >= MS (decided in the kernel)", 0 },
	{ "latency-us", OPT_LAT_US, "US", 0, "the same in microseconds", 0 },
	{ "timeout-ms", OPT_TIMEOUT, "MS", 0, "an echo incomplete this long is expired (default 1000)", 0 },
	{ "kernel-stacks", OPT_STACKS, NULL, 0, "record a kernel stack at every stamp", 0 },
	{ "disable-kernel-stacks", OPT_NO_STACKS, NULL, 0, "no stacks (the default; accepted for the original's habit)", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	static const char *const dirs[] = { "tx", "rx", NULL };
	char err[256];
	uint64_t v;

	(void)state;
	switch (key) {
	case OPT_SRC:
		if (cli_parse_ipv4("--src-ip", arg, &env.src_ip, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_DST:
		if (cli_parse_ipv4("--dst-ip", arg, &env.dst_ip, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case 'i':
		env.ifnames = arg;
		break;
	case OPT_DIRECTION:
		env.direction = cli_parse_choice("--direction", arg, dirs, err, sizeof(err));
		if (env.direction < 0)
			cli_usage_error("%s", err);
		env.direction_why = "--direction";
		break;
	case OPT_LAT_MS:
		if (cli_parse_u64("--latency-ms", arg, 0, 3600000, &v, err, sizeof(err)))
			cli_usage_error("%s", err);
		env.latency_ns = v * 1000000ull;
		break;
	case OPT_LAT_US:
		if (cli_parse_u64("--latency-us", arg, 0, 3600000000ull, &v, err, sizeof(err)))
			cli_usage_error("%s", err);
		env.latency_ns = v * 1000ull;
		break;
	case OPT_TIMEOUT:
		if (cli_parse_u64("--timeout-ms", arg, 1, 3600000, &env.timeout_ms, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_STACKS:
		env.stacks = true;
		break;
	case OPT_NO_STACKS:
		env.stacks = false;
		break;
	case ARGP_KEY_ARG:
		cli_usage_error("unexpected argument '%s' (see --help)", arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ---- direction from the addresses (run inside the watched namespace) -- */

struct local_check {
	uint32_t addr;
	bool local;
};

static int addr_is_local(void *arg)
{
	struct local_check *c = arg;
	struct ifaddrs *ifa, *i;

	c->local = false;
	if (getifaddrs(&ifa))
		return -1;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == c->addr)
			c->local = true;
	freeifaddrs(ifa);
	return 0;
}

static void decide_direction(const struct netseg_netns *ns)
{
	struct local_check src = { env.src_ip, false }, dst = { env.dst_ip, false };

	if (env.direction >= 0)
		return;
	if (env.src_ip)
		netns_run_in(ns, addr_is_local, &src);
	if (env.dst_ip)
		netns_run_in(ns, addr_is_local, &dst);
	if (src.local && !dst.local) {
		env.direction = RTT_DIR_TX;
		env.direction_why = "--src-ip is local";
	} else if (dst.local && !src.local) {
		env.direction = RTT_DIR_RX;
		env.direction_why = "--dst-ip is local";
	} else {
		env.direction = RTT_DIR_TX;
		env.direction_why = "default (neither or both addresses local)";
	}
}

static int resolve_ifnames(void *arg)
{
	return cli_parse_ifnames("--interface", env.ifnames, &env.ifs, NULL, arg, 256);
}

/* ---- records -------------------------------------------------------- */

static const char *const hook_names[RTT_N_HOOKS] = {
	[RTT_HOOK_LOCAL_OUT] = "__ip_local_out",  [RTT_HOOK_IP_OUTPUT] = "ip_output",
	[RTT_HOOK_DEV_QUEUE] = "net_dev_queue",   [RTT_HOOK_DEV_XMIT] = "net_dev_xmit",
	[RTT_HOOK_RECV] = "netif_receive_skb",    [RTT_HOOK_RECV_ENTRY] = "netif_receive_skb_entry",
	[RTT_HOOK_RECV_LIST] = "netif_receive_skb_list_entry",
	[RTT_HOOK_ICMP_RCV] = "icmp_rcv",         [RTT_HOOK_SK_DATA_READY] = "sk_data_ready",
	[RTT_HOOK_FROM_REPLY] = "(reply's first stamp)",
	[RTT_HOOK_DEV_START_XMIT] = "net_dev_start_xmit",
	[RTT_HOOK_SKB_COPY] = "skb_copy_datagram_iovec",
};

static const char *hook_name(unsigned h)
{
	return h < RTT_N_HOOKS && hook_names[h] ? hook_names[h] : "?";
}

static void stack_json_and_text(int map_fd, int stack_id, char *json, size_t jlen, char *text,
				size_t tlen)
{
	uint64_t ips[127] = {};
	size_t jo = 0, to = 0;
	char sym[192];

	jo += snprintf(json, jlen, "[");
	text[0] = 0;
	if (stack_id >= 0 && !bpf_map_lookup_elem(map_fd, &stack_id, ips)) {
		for (int i = 0; i < 127 && ips[i]; i++) {
			ksyms_format(env.ksyms, ips[i], sym, sizeof(sym));
			if (jo < jlen)
				jo += snprintf(json + jo, jlen - jo, "%s\"%s\"", i ? "," : "", sym);
			if (to < tlen)
				to += snprintf(text + to, tlen - to, "\n      %s", sym);
		}
	}
	if (jo < jlen)
		snprintf(json + jo, jlen - jo, "]");
}

static const char *const stage_names[RTT_N_STAGES] = { "p1_start", "p1_end", "p2_start",
						       "p2_end" };

struct ctx {
	struct tracer *t;
	struct kernel_icmp_rtt_bpf *skel;
	struct span_map echoes;
};

/* The stages as text lines and as a JSON array; missing ones (an
 * incomplete echo) are left out of both. */
static void add_stages(struct ctx *c, struct out_rec *r, const struct rtt_echo *e)
{
	const struct netseg_stamp *st = e->st;
	char stages[4096], line[1024], stack_json[4096], stack_text[4096], tsbuf[32];
	bool tx = e->direction == RTT_DIR_TX;
	size_t off = 0;
	bool first = true;

	off += snprintf(stages, sizeof(stages), "[");
	for (int i = 0; i < RTT_N_STAGES; i++) {
		const struct netseg_stamp *s = &st[i];
		char ifname[17], comm[17], comm_json[64], ifname_json[64];
		int64_t rel = (int64_t)(s->ts_ns - st[RTT_P1_START].ts_ns);

		if (i == RTT_P1_START || i == RTT_P2_START) {
			snprintf(line, sizeof(line), "Path %d (%s, %s):", i == RTT_P1_START ? 1 : 2,
				 i == RTT_P1_START ? "request" : "reply",
				 (i == RTT_P1_START) == tx ? "TX" : "RX");
			out_str(r, i == RTT_P1_START ? "path1_hdr" : "path2_hdr", NULL, line,
				OUT_TEXT_NEWLINE | OUT_TEXT_BARE | OUT_JSON_HIDE);
		}
		if (!s->ts_ns) {
			snprintf(line, sizeof(line), "  Stage %d: (not reached)", i);
			out_str(r, stage_names[i], NULL, line,
				OUT_TEXT_NEWLINE | OUT_TEXT_BARE | OUT_JSON_HIDE);
			continue;
		}
		memcpy(ifname, s->ifname, 16);
		ifname[16] = 0;
		memcpy(comm, s->comm, 16);
		comm[16] = 0;
		if (env.stacks)
			stack_json_and_text(bpf_map__fd(c->skel->maps.stacks), s->stack_id, stack_json,
					    sizeof(stack_json), stack_text, sizeof(stack_text));
		snprintf(tsbuf, sizeof(tsbuf), "%s%llu.%03llu us", rel < 0 ? "-" : "+",
			 (unsigned long long)((rel < 0 ? -rel : rel) / 1000),
			 (unsigned long long)((rel < 0 ? -rel : rel) % 1000));
		snprintf(line, sizeof(line), "  Stage %d: %-28s [%-10s] %14s %-10s CPU %-3u PID %-7u %s%s",
			 i, hook_name(s->hook), tier_name(s->tier), tsbuf, ifname, s->cpu, s->pid,
			 comm, env.stacks ? stack_text : "");
		out_str(r, stage_names[i], NULL, line, OUT_TEXT_NEWLINE | OUT_TEXT_BARE | OUT_JSON_HIDE);
		if (off < sizeof(stages)) {
			out_json_string(comm_json, sizeof(comm_json), comm);
			out_json_string(ifname_json, sizeof(ifname_json), ifname);
			off += snprintf(stages + off, sizeof(stages) - off,
					"%s{\"stage\":\"%s\",\"hook\":\"%s\",\"tier\":\"%s\",\"ts_ns\":%llu,"
					"\"wall_ns\":%llu,\"ifname\":%s,\"ifindex\":%u,\"cpu\":%u,"
					"\"pid\":%u,\"comm\":%s%s%s}",
					first ? "" : ",", stage_names[i], hook_name(s->hook),
					tier_name(s->tier), (unsigned long long)s->ts_ns,
					(unsigned long long)tracer_wall(c->t, s->ts_ns), ifname_json,
					s->ifindex, s->cpu, s->pid, comm_json,
					env.stacks ? ",\"stack\":" : "", env.stacks ? stack_json : "");
			first = false;
		}
	}
	if (off < sizeof(stages))
		snprintf(stages + off, sizeof(stages) - off, "]");
	out_json(r, "stages", stages, NULL, OUT_TEXT_HIDE);
}

static void add_header(struct ctx *c, struct out_rec *r, const struct rtt_echo *e,
		       const char *banner)
{
	out_str(r, "banner", NULL, banner, OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_wall(r, "wall_ns", NULL, tracer_wall(c->t, e->st[RTT_P1_START].ts_ns),
		 c->t->opts->timestamp ? OUT_TEXT_BARE : OUT_TEXT_HIDE);
	out_str(r, "direction", NULL, e->direction == RTT_DIR_TX ? "tx" : "rx", OUT_TEXT_BARE);
	out_ip4(r, "src", NULL, e->key.initiator, OUT_TEXT_BARE);
	out_str(r, "arrow", NULL, "->", OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_ip4(r, "dst", NULL, e->key.target, OUT_TEXT_BARE);
	out_u64(r, "id", NULL, e->key.id, 0);
	out_u64(r, "seq", NULL, e->key.seq, 0);
}

/* One record at a time: the ring buffer callback is not reentered. */
static struct out_rec rec;

static void emit_echo(struct ctx *c, const struct rtt_echo *e)
{
	struct out_rec *r = &rec;

	out_begin_event(r, "echo");
	add_header(c, r, e, "=== ICMP RTT");
	out_str(r, "banner_end", NULL, "===", OUT_TEXT_BARE | OUT_JSON_HIDE);
	add_stages(c, r, e);
	span_segtab_add(&env.segs, e->st, r);
	out_emit(r);
}

/* An echo that did not complete: its request or reply was lost (or, on a
 * forwarding host, it was never this machine's), or a new request with the
 * same id and seq came before it completed. */
static void emit_incomplete(struct ctx *c, const struct rtt_echo *e, const char *why)
{
	struct out_rec *r = &rec;
	int last = RTT_P1_START;

	for (int i = 0; i < RTT_N_STAGES; i++)
		if (e->st[i].ts_ns && e->st[i].ts_ns >= e->st[last].ts_ns)
			last = i;
	out_begin_event(r, "incomplete");
	add_header(c, r, e, "=== ICMP RTT INCOMPLETE");
	out_str(r, "why", NULL, why, 0);
	out_str(r, "last_stage", "last-stage", stage_names[last], 0);
	out_str(r, "banner_end", NULL, "===", OUT_TEXT_BARE | OUT_JSON_HIDE);
	add_stages(c, r, e);
	out_emit(r);
}

static int handle_event(void *arg, void *data, size_t size)
{
	const struct rtt_event *ev = data;
	struct ctx *c = arg;

	if (size < sizeof(*ev))
		return 0;
	c->t->records++;
	switch (ev->h.kind) {
	case NETSEG_SPAN_EV_COMPLETE:
		emit_echo(c, &ev->e);
		break;
	case NETSEG_SPAN_EV_REPLACED:
		env.replaced++;
		emit_incomplete(c, &ev->e, "replaced");
		break;
	}
	return 0;
}

static void on_expired(void *arg, const void *key, const void *value)
{
	struct ctx *c = arg;

	(void)key;
	env.expired++;
	/* quiet: counted for the scrape, not printed */
	if (!span_hist_quiet(c->t->opts))
		emit_incomplete(c, value, "timeout");
}

static int tick(void *arg)
{
	struct ctx *c = arg;

	return span_expire(&c->echoes, env.timeout_ms * 1000000ull, on_expired, c);
}

static void print_summary(struct ctx *c, enum loop_end how)
{
	uint64_t cnt[NETSEG_CNT_MAX];
	struct out_rec *r = malloc(sizeof(*r));
	struct span_acct a;

	if (!r)
		return;
	tracer_counters(c->t, cnt, NULL, 0);
	span_acct_make(&a, cnt, env.expired, span_in_flight(&c->echoes));
	out_begin(r, "summary");
	out_str(r, "kind", NULL, "SUMMARY", OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_str(r, "tool", NULL, c->t->tool, OUT_TEXT_BARE);
	out_str(r, "direction", NULL, env.direction == RTT_DIR_TX ? "tx" : "rx", 0);
	span_acct_fields(r, &a, "echoes");
	span_gate_field(r, &c->echoes);
	out_u64(r, "echoes_below_latency", "below-latency", a.filtered, 0);
	out_u64(r, "packets_forwarded", "forwarded", cnt[RTT_CNT_FORWARDED], 0);
	/* quiet: the echoes went into the kernel's histograms, not the table */
	if (span_hist_quiet(c->t->opts))
		span_hist_summary(r, bpf_map__fd(c->skel->maps.netseg_hist), &env.segs);
	span_segtab_summary(&env.segs, c->t, r, how);
	free(r);
}

/* Before every load; again if a program this kernel rejects made the tier
 * plan change (path 1's end depends on whether icmp_rcv is hooked). */
static int configure(struct tracer *t, void *arg)
{
	struct kernel_icmp_rtt_bpf *skel = arg;

	skel->rodata->netseg_netns_ino = t->ns.ino;
	skel->rodata->rtt_direction = env.direction;
	skel->rodata->rtt_initiator = env.src_ip;
	skel->rodata->rtt_target = env.dst_ip;
	memcpy((void *)&skel->rodata->rtt_ifs, &env.ifs, sizeof(env.ifs));
	skel->rodata->rtt_min_total_ns = env.latency_ns;
	skel->rodata->netseg_span_timeout_ns = env.timeout_ms * 1000000ull;
	skel->rodata->rtt_stacks = env.stacks;
	skel->rodata->rtt_p1_end_from_reply =
		env.direction == RTT_DIR_RX && !tier_plan_stage_available(&t->plan, "icmp_rcv");
	if (!env.stacks)
		bpf_map__set_max_entries(skel->maps.stacks, 1);
	return span_hist_setup(&skel->rodata->netseg_quiet, &skel->rodata->netseg_hist_cfg,
			       &env.segs, t->opts);
}

int main(int argc, char **argv)
{
	static const struct argp_child children[] = { { &cli_common_argp, 0, NULL, 0 }, {} };
	static const struct argp argp = { opts, parse_arg, NULL, doc, children, NULL, NULL };
	struct kernel_icmp_rtt_bpf *skel = NULL;
	struct cli_common *common = cli_common_get();
	struct ring_buffer *rb = NULL;
	struct netseg_netns ns;
	struct out_rec *ready = NULL;
	struct tracer t;
	struct ctx c;
	enum loop_end how;
	int rc;

	cli_set_tool("kernel_icmp_rtt");
	cli_common_init(common);
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return CLI_EXIT_USAGE;
	out_setup(stdout, common->json);
	rc = tracer_netns("kernel_icmp_rtt", common, &ns, env.ifnames ? resolve_ifnames : NULL);
	if (rc)
		return rc;
	decide_direction(&ns);

	rc = tracer_begin(&t, "kernel_icmp_rtt", common,
			  env.direction == RTT_DIR_TX ? &catalog_kernel_icmp_rtt_tx
						      : &catalog_kernel_icmp_rtt_rx);
	if (rc)
		return rc;
	span_segtab_init(&env.segs, segments, sizeof(segments) / sizeof(segments[0]),
			 SPAN_SEG_TEXT_LINE);

	rc = 1;
	skel = kernel_icmp_rtt_bpf__open();
	if (!skel) {
		fprintf(stderr, "kernel_icmp_rtt: opening the BPF object failed\n");
		goto cleanup;
	}
	c.t = &t;
	c.skel = skel;
	if (tracer_load_attach_cfg(&t, skel->skeleton, configure, skel, handle_event, &c, &rb))
		goto cleanup;
	if (span_hist_quiet(common))
		tracer_kernel_hist(&t, &env.segs, bpf_map__fd(skel->maps.netseg_hist));
	c.echoes = span_map_of(skel->maps.echoes, (int64_t *)&skel->bss->netseg_spans_open);
	if (env.stacks && !(env.ksyms = ksyms_load()))
		fprintf(stderr, "kernel_icmp_rtt: /proc/kallsyms unreadable: stacks shown as addresses\n");

	ready = malloc(sizeof(*ready));
	if (!ready)
		goto cleanup;
	tracer_ready_begin(&t, ready);
	out_str(ready, "direction", NULL, env.direction == RTT_DIR_TX ? "tx" : "rx", 0);
	out_str(ready, "direction_from", NULL, env.direction_why, OUT_TEXT_HIDE);
	if (env.src_ip)
		out_ip4(ready, "src_ip", NULL, env.src_ip, 0);
	if (env.dst_ip)
		out_ip4(ready, "dst_ip", NULL, env.dst_ip, 0);
	if (env.ifnames)
		out_str(ready, "interfaces", NULL, env.ifnames, 0);
	out_u64(ready, "latency_ns", NULL, env.latency_ns, env.latency_ns ? 0 : OUT_TEXT_HIDE);
	out_bool(ready, "kernel_stacks", NULL, env.stacks, OUT_TEXT_HIDE);
	out_u64(ready, "timeout_ms", NULL, env.timeout_ms, OUT_TEXT_HIDE);
	if (tracer_ready_emit(&t, ready))
		goto cleanup;

	how = tracer_loop(&t, rb, tick, &c, 100);
	tracer_stop(&t, rb);
	/* what is older than the timeout now is expired; the rest in flight */
	tick(&c);
	print_summary(&c, how);
	rc = how == LOOP_END_ERROR;

cleanup:
	free(ready);
	tracer_end(&t);
	ring_buffer__free(rb);
	kernel_icmp_rtt_bpf__destroy(skel);
	ksyms_free(env.ksyms);
	span_segtab_free(&env.segs);
	return rc;
}
