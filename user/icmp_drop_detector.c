// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * icmp_drop_detector: on a hypervisor host, the four points of every ICMP
 * echo crossing it (request in, request out, reply in, reply out), the
 * latency between them, and drops: where (inside this host on the request
 * or the reply path, or outside) and, beyond the original tool, why (the
 * kernel's drop reason and the function that freed the packet).
 */
#include <argp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "icmp_drop_detector.h"
#include "icmp_drop_detector.skel.h"
#include "lib/catalog.h"
#include "lib/dropreason.h"
#include "lib/cli.h"
#include "lib/ksyms.h"
#include "lib/metrics.h"
#include "lib/span.h"
#include "lib/span_hist.h"
#include "lib/tracer.h"

enum drop_class {
	DROP_REQ_INSIDE = 0,   /* request received here, never sent on */
	DROP_OUTSIDE,          /* request sent on, no reply came back */
	DROP_REP_INSIDE,       /* reply received here, never sent on */
	N_DROP_CLASSES,
};

static const char *const class_keys[N_DROP_CLASSES] = {
	"request_dropped_inside", "lost_outside", "reply_dropped_inside",
};
static const char *const class_text[N_DROP_CLASSES] = {
	"request dropped inside this host", "lost outside (network or peer)",
	"reply dropped inside this host",
};

#define MAX_REASONS DROP_REASON_MAX_CORE
#define MAX_SUBSYS_REASONS 64

/* The four segments of an echo on this host, declared once. */
static const struct span_segment segments[] = {
	{ "req_internal", "ReqInternal", IDD_REQ_RX, IDD_REQ_TX },
	{ "external", "External", IDD_REQ_TX, IDD_REP_RX },
	{ "rep_internal", "RepInternal", IDD_REP_RX, IDD_REP_TX },
	{ "total", "Total", IDD_REQ_RX, IDD_REP_TX },
};

static struct env {
	uint32_t src_ip, dst_ip;
	const char *a_names, *b_names;   /* A: rx or vm side; B: tx or phy side */
	bool fixed;                      /* --rx-iface/--tx-iface given */
	bool vm_phy;                     /* --vm-interface/--phy-interface given */
	struct netseg_ifset a, b;
	char a_ifnames[NETSEG_MAX_IFS][16], b_ifnames[NETSEG_MAX_IFS][16];
	uint64_t timeout_ms;
	struct span_segtab segs;
	uint64_t drops[N_DROP_CLASSES];
	uint64_t reason_count[MAX_REASONS];
	uint32_t subsys_reason[MAX_SUBSYS_REASONS];   /* reasons with subsystem bits */
	uint64_t subsys_count[MAX_SUBSYS_REASONS];
	uint64_t drops_unexplained, drops_no_reason;
	uint64_t complete, expired, replaced;
	struct ksyms *ksyms;
	bool ksyms_tried;
} env = {
	.timeout_ms = 1000,
};

const char *argp_program_version = "icmp_drop_detector " NETSEG_VERSION;
const char *argp_program_bug_address = "netseg issue tracker";
static const char doc[] =
	"Per ICMP echo crossing this host: four points (request in, request out, reply in,\n"
	"reply out), the latency between them, and drops with where and why.\n"
	"\n"
	"  ReqInternal = request out - request in     External = reply in - request out\n"
	"  RepInternal = reply out - reply in         Total    = reply out - request in\n"
	"\n"
	"With --vm-interface and --phy-interface the side a request arrives on is its\n"
	"receive side (the VM's tap on the sender's host, the NIC on the receiver's), so the\n"
	"same command line works on both hosts. An echo still incomplete after\n"
	"--timeout-ms (or when a new request with the same id and seq arrives) is a drop,\n"
	"decided once and classified by the points it reached. The kernel free\n"
	"(skb:kfree_skb) of the packet that was inside this host then gives the drop\n"
	"reason, the function that freed it, the interface and the namespace. Frees of\n"
	"copies or clones (a capture that falls behind, flood copies) and of packets that\n"
	"already left are counted apart, never as drops.\n"
	"\n"
	"EXAMPLES:\n"
	"  icmp_drop_detector --src-ip 198.18.0.1 --dst-ip 198.18.0.2 --phy-interface phy0 --vm-interface vnet0\n"
	"  icmp_drop_detector --src-ip 198.18.0.1 --dst-ip 198.18.0.2 --rx-iface vnet0 --tx-iface bond0s1,bond0s2\n"
	"  icmp_drop_detector --vm-interface vnet0 --phy-interface phy0 --timeout-ms 200 -j\n"
	"  icmp_drop_detector --vm-interface vnet0 --phy-interface phy0 --verbose   # every point as it happens";

enum {
	OPT_SRC = 0x2000,
	OPT_DST,
	OPT_RX,
	OPT_TX,
	OPT_VM,
	OPT_PHY,
	OPT_TIMEOUT,
};

static const struct argp_option opts[] = {
	{ "src-ip", OPT_SRC, "ADDR", 0, "the pinging side (the request's source)", 0 },
	{ "dst-ip", OPT_DST, "ADDR", 0, "the pinged side (the request's destination)", 0 },
	{ "rx-iface", OPT_RX, "IFS", 0, "where requests enter this host (comma list)", 0 },
	{ "tx-iface", OPT_TX, "IFS", 0, "where requests leave this host (comma list)", 0 },
	{ "vm-interface", OPT_VM, "IFS", 0, "the VM's tap(s); orientation follows the packets", 0 },
	{ "phy-interface", OPT_PHY, "IFS", 0, "the physical NIC(s); orientation follows the packets", 0 },
	{ "timeout-ms", OPT_TIMEOUT, "MS", 0, "an echo incomplete this long is a drop (default 1000)", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char err[256];

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
	case OPT_RX:
		env.a_names = arg;
		env.fixed = true;
		break;
	case OPT_TX:
		env.b_names = arg;
		env.fixed = true;
		break;
	case OPT_VM:
		env.a_names = arg;
		env.vm_phy = true;
		break;
	case OPT_PHY:
		env.b_names = arg;
		env.vm_phy = true;
		break;
	case OPT_TIMEOUT:
		if (cli_parse_u64("--timeout-ms", arg, 1, 3600000, &env.timeout_ms, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case ARGP_KEY_ARG:
		cli_usage_error("unexpected argument '%s' (see --help)", arg);
	case ARGP_KEY_END:
		if (env.fixed && env.vm_phy)
			cli_usage_error("give either --rx-iface/--tx-iface or --vm-interface/--phy-interface, not both");
		if (!env.a_names || !env.b_names)
			cli_usage_error(env.vm_phy ? "both --vm-interface and --phy-interface are needed"
						   : "both --rx-iface and --tx-iface (or --vm-interface and --phy-interface) are needed");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const char *a_flag(void)
{
	return env.fixed ? "--rx-iface" : "--vm-interface";
}

static const char *b_flag(void)
{
	return env.fixed ? "--tx-iface" : "--phy-interface";
}

static int resolve_ifaces(void *arg)
{
	char *err = arg;

	if (cli_parse_ifnames(a_flag(), env.a_names, &env.a, env.a_ifnames, err, 256) ||
	    cli_parse_ifnames(b_flag(), env.b_names, &env.b, env.b_ifnames, err, 256))
		return -1;
	for (unsigned i = 0; i < env.a.n; i++)
		for (unsigned j = 0; j < env.b.n; j++)
			if (env.a.ifindex[i] == env.b.ifindex[j]) {
				snprintf(err, 256, "interface '%s' is on both sides (%s and %s)",
					 env.a_ifnames[i], a_flag(), b_flag());
				return -1;
			}
	return 0;
}

/* ---- drop reasons and sites ----------------------------------------- */

static void count_reason(uint32_t reason)
{
	if (reason < MAX_REASONS) {
		env.reason_count[reason]++;
		return;
	}
	for (int i = 0; i < MAX_SUBSYS_REASONS; i++) {
		if (env.subsys_count[i] && env.subsys_reason[i] != reason)
			continue;
		env.subsys_reason[i] = reason;
		env.subsys_count[i]++;
		return;
	}
}

static const char *site_name(uint64_t addr, char *buf, size_t len)
{
	if (!env.ksyms_tried) {
		env.ksyms_tried = true;
		env.ksyms = ksyms_load();
	}
	return ksyms_format(env.ksyms, addr, buf, len);
}

/* ---- records ---------------------------------------------------------- */

static const char *const point_keys[IDD_N_POINTS] = { "req_rx", "req_tx", "rep_rx", "rep_tx" };
static const char *const point_text[IDD_N_POINTS] = { "ReqRX", "ReqTX", "RepRX", "RepTX" };

static void add_header(struct tracer *t, struct out_rec *r, const struct idd_echo *e,
		       uint64_t ts_ns)
{
	out_wall(r, "wall_ns", NULL, tracer_wall(t, ts_ns),
		 t->opts->timestamp ? OUT_TEXT_BARE : OUT_TEXT_HIDE);
	out_ip4(r, "src", NULL, e->key.src, OUT_TEXT_BARE);
	out_str(r, "arrow", NULL, "->", OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_ip4(r, "dst", NULL, e->key.dst, OUT_TEXT_BARE);
	out_u64(r, "id", NULL, e->key.id, 0);
	out_u64(r, "seq", NULL, e->key.seq, 0);
}

static void add_points_json(struct tracer *t, struct out_rec *r, const struct idd_echo *e)
{
	char buf[1024];
	size_t off = 0;

	off += snprintf(buf, sizeof(buf), "{");
	for (int i = 0, first = 1; i < IDD_N_POINTS; i++) {
		const struct netseg_stamp *p = &e->st[i];
		char ifname[17], ifname_json[64];

		if (!p->ts_ns)
			continue;
		memcpy(ifname, p->ifname, 16);
		ifname[16] = 0;
		out_json_string(ifname_json, sizeof(ifname_json), ifname);
		off += snprintf(buf + off, sizeof(buf) - off,
				"%s\"%s\":{\"ts_ns\":%llu,\"wall_ns\":%llu,\"ifname\":%s,\"ifindex\":%u,\"cpu\":%u}",
				first ? "" : ",", point_keys[i], (unsigned long long)p->ts_ns,
				(unsigned long long)tracer_wall(t, p->ts_ns), ifname_json, p->ifindex,
				p->cpu);
		first = 0;
		if (off >= sizeof(buf))
			break;
	}
	if (off < sizeof(buf))
		snprintf(buf + off, sizeof(buf) - off, "}");
	out_json(r, "points", buf, NULL, OUT_TEXT_HIDE);
}

static void ifname_of(char out[17], const char in[16])
{
	memcpy(out, in, 16);
	out[16] = 0;
}

/* One record at a time: the ring buffer callback is not reentered. */
static struct out_rec rec;

static void emit_echo(struct tracer *t, const struct idd_echo *e)
{
	const struct netseg_stamp *p = e->st;
	struct out_rec *r = &rec;
	char rx_if[17], tx_if[17];

	env.complete++;
	/* per side and frees inside complete echoes: the kernel counts them */
	ifname_of(rx_if, p[IDD_REQ_RX].ifname);
	ifname_of(tx_if, p[IDD_REQ_TX].ifname);
	out_begin_event(r, "echo");
	add_header(t, r, e, p[IDD_REQ_RX].ts_ns);
	out_str(r, "rx_if", NULL, rx_if, 0);
	out_str(r, "tx_if", NULL, tx_if, 0);
	out_str(r, "latency_label", NULL, "Latency(us):", OUT_TEXT_BARE | OUT_JSON_HIDE);
	span_segtab_add(&env.segs, p, r);
	add_points_json(t, r, e);
	out_emit(r);
}

static int last_point(const struct idd_echo *e)
{
	const struct netseg_stamp *p = e->st;

	return p[IDD_REP_RX].ts_ns ? IDD_REP_RX : p[IDD_REQ_TX].ts_ns ? IDD_REQ_TX : IDD_REQ_RX;
}

/* An echo that did not complete: a drop, decided once, by the points it
 * reached; the free recorded while its packet was inside says why. */
static void emit_drop(struct tracer *t, const struct idd_echo *e, const char *detected_by)
{
	const struct netseg_stamp *p = e->st;
	const struct idd_free *f = &e->free;
	enum drop_class cls;
	char rbuf[32], sbuf[192], ifname[17];
	struct out_rec *r = &rec;
	const char *why = "unknown"; /* netseg_drops_total's reason */

	if (!p[IDD_REQ_TX].ts_ns)
		cls = DROP_REQ_INSIDE;
	else if (!p[IDD_REP_RX].ts_ns)
		cls = DROP_OUTSIDE;
	else
		cls = DROP_REP_INSIDE;
	env.drops[cls]++;
	out_begin_event(r, "drop");
	out_str(r, "banner", NULL, "DROP", OUT_TEXT_BARE | OUT_JSON_HIDE);
	add_header(t, r, e, p[IDD_REQ_RX].ts_ns);
	out_str(r, "class", NULL, class_keys[cls], OUT_TEXT_HIDE);
	out_str(r, "where", NULL, class_text[cls], OUT_TEXT_NEWLINE | OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_str(r, "detected_by", "detected-by", detected_by, 0);
	out_str(r, "last_point", "last-point", point_text[last_point(e)], 0);
	if (f->match) {
		if (f->has_reason) {
			count_reason(f->reason);
			why = drop_reason_name(f->reason, rbuf, sizeof(rbuf));
			out_str(r, "reason", NULL, why, OUT_TEXT_NEWLINE);
			out_u64(r, "reason_code", NULL, f->reason, OUT_TEXT_HIDE);
		} else {
			why = "not_provided";
			env.drops_no_reason++;
			out_str(r, "reason", NULL, "not provided by this kernel", OUT_TEXT_NEWLINE);
		}
		out_str(r, "site", NULL, site_name(f->location, sbuf, sizeof(sbuf)), 0);
		ifname_of(ifname, f->ifname);
		out_str(r, "ifname", "dev", ifname, 0);
		out_u64(r, "netns", NULL, f->netns, 0);
		out_str(r, "freed", NULL, f->match == IDD_FREE_SAME_PACKET ? "the packet" : "a packet of the flow",
			OUT_TEXT_HIDE);
		out_str(r, "freed_packet", "freed", f->is_reply ? "reply" : "request", 0);
	} else {
		env.drops_unexplained++;
		out_str(r, "reason", NULL, "unknown (no kernel free of this echo in this namespace)",
			OUT_TEXT_NEWLINE);
	}
	add_points_json(t, r, e);
	out_emit(r);
	metrics_count_add(metrics_default(), "drops", class_keys[cls], why, 1);
}

static void emit_point(struct tracer *t, const struct idd_echo *e, unsigned point)
{
	struct out_rec *r = &rec;
	char ifname[17];

	if (point >= IDD_N_POINTS)
		return;
	ifname_of(ifname, e->st[point].ifname);
	out_begin_event(r, "point");
	out_str(r, "banner", NULL, "POINT", OUT_TEXT_BARE | OUT_JSON_HIDE);
	add_header(t, r, e, e->st[point].ts_ns);
	out_str(r, "point", NULL, point_text[point], OUT_TEXT_BARE);
	out_str(r, "ifname", NULL, ifname, OUT_TEXT_BARE);
	out_u64(r, "ts_ns", NULL, e->st[point].ts_ns, OUT_TEXT_HIDE);
	out_u64(r, "cpu", NULL, e->st[point].cpu, 0);
	out_emit(r);
}

struct ctx {
	struct tracer *t;
	struct icmp_drop_detector_bpf *skel;
	struct span_map echoes;
};

static int handle_event(void *arg, void *data, size_t size)
{
	struct ctx *c = arg;
	const struct idd_event *ev = data;

	if (size < sizeof(*ev))
		return 0;
	c->t->records++;
	switch (ev->h.kind) {
	case NETSEG_SPAN_EV_COMPLETE:
		emit_echo(c->t, &ev->e);
		break;
	case NETSEG_SPAN_EV_REPLACED:
		/* a new request with this id and seq came first */
		env.replaced++;
		emit_drop(c->t, &ev->e, "replaced");
		break;
	case NETSEG_SPAN_EV_STAGE:
		emit_point(c->t, &ev->e, ev->h.stage);
		break;
	}
	return 0;
}

static void on_expired(void *arg, const void *key, const void *value)
{
	struct ctx *c = arg;

	(void)key;
	env.expired++;
	emit_drop(c->t, value, "timeout");
}

static int tick(void *arg)
{
	struct ctx *c = arg;

	return span_expire(&c->echoes, env.timeout_ms * 1000000ull, on_expired, c);
}

static void print_summary(struct ctx *c, enum loop_end how)
{
	uint64_t cnt[NETSEG_CNT_MAX], drops = 0;
	char reasons[4096], rbuf[32];
	size_t off = 0;
	struct out_rec *r = malloc(sizeof(*r));
	struct span_acct a;

	if (!r)
		return;
	tracer_counters(c->t, cnt, NULL, 0);
	span_acct_make(&a, cnt, env.expired, span_in_flight(&c->echoes));
	for (int i = 0; i < N_DROP_CLASSES; i++)
		drops += env.drops[i];
	out_begin(r, "summary");
	out_str(r, "kind", NULL, "SUMMARY", OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_str(r, "tool", NULL, c->t->tool, OUT_TEXT_BARE);
	out_u64(r, "flows", NULL, a.started, 0);
	/* quiet: complete echoes were counted in the kernel, not printed */
	out_u64(r, "complete", NULL, span_hist_quiet(c->t->opts) ? a.completed : env.complete, 0);
	out_u64(r, "drops", NULL, drops, 0);
	for (int i = 0; i < N_DROP_CLASSES; i++)
		out_u64(r, class_keys[i], NULL, env.drops[i], 0);
	off += snprintf(reasons, sizeof(reasons), "{");
	for (int i = 0, first = 1; i < MAX_REASONS + MAX_SUBSYS_REASONS && off < sizeof(reasons); i++) {
		uint32_t code = i < MAX_REASONS ? (uint32_t)i : env.subsys_reason[i - MAX_REASONS];
		uint64_t n = i < MAX_REASONS ? env.reason_count[i] : env.subsys_count[i - MAX_REASONS];

		if (!n)
			continue;
		off += snprintf(reasons + off, sizeof(reasons) - off, "%s\"%s\":%llu", first ? "" : ",",
				drop_reason_name(code, rbuf, sizeof(rbuf)), (unsigned long long)n);
		first = 0;
	}
	if (off < sizeof(reasons))
		snprintf(reasons + off, sizeof(reasons) - off, "}");
	out_json(r, "drop_reasons", reasons, reasons, 0);
	out_u64(r, "drops_reason_not_provided", NULL, env.drops_no_reason, OUT_TEXT_HIDE);
	out_u64(r, "drops_without_free", NULL, env.drops_unexplained, OUT_TEXT_HIDE);
	span_acct_fields(r, &a, "echoes");
	span_gate_field(r, &c->echoes);
	out_u64(r, "in_flight", "in-flight", a.in_flight, OUT_TEXT_HIDE);
	/* a free seen while the packet was inside was not its loss: it came through */
	out_u64(r, "frees_not_drops", "frees-not-drops",
		cnt[IDD_CNT_FREE_NOT_PATH] + cnt[IDD_CNT_DONE_FREED], 0);
	out_u64(r, "kfree_without_device", "kfree-no-dev", cnt[IDD_CNT_FREED_NO_DEV], 0);
	out_u64(r, "rx_on_vm_side", NULL, cnt[IDD_CNT_DONE_RX_A], env.vm_phy ? 0 : OUT_TEXT_HIDE);
	out_u64(r, "rx_on_phy_side", NULL, cnt[IDD_CNT_DONE_RX_B], env.vm_phy ? 0 : OUT_TEXT_HIDE);
	if (span_hist_quiet(c->t->opts))
		span_hist_summary(r, bpf_map__fd(c->skel->maps.netseg_hist), &env.segs);
	span_segtab_summary(&env.segs, c->t, r, how);
	free(r);
}

static int configure(struct tracer *t, void *arg)
{
	struct icmp_drop_detector_bpf *skel = arg;

	skel->rodata->netseg_netns_ino = t->ns.ino;
	skel->rodata->idd_src = env.src_ip;
	skel->rodata->idd_dst = env.dst_ip;
	memcpy((void *)&skel->rodata->idd_set_a, &env.a, sizeof(env.a));
	memcpy((void *)&skel->rodata->idd_set_b, &env.b, sizeof(env.b));
	skel->rodata->idd_fixed_orientation = env.fixed;
	/* a record per stage is the very thing quiet mode is without */
	skel->rodata->idd_verbose = t->opts->verbose && !span_hist_quiet(t->opts);
	skel->rodata->netseg_span_timeout_ns = env.timeout_ms * 1000000ull;
	return span_hist_setup(&skel->rodata->netseg_quiet, &skel->rodata->netseg_hist_cfg,
			       &env.segs, t->opts);
}

int main(int argc, char **argv)
{
	static const struct argp_child children[] = { { &cli_common_argp, 0, NULL, 0 }, {} };
	static const struct argp argp = { opts, parse_arg, NULL, doc, children, NULL, NULL };
	struct icmp_drop_detector_bpf *skel = NULL;
	struct cli_common *common = cli_common_get();
	struct ring_buffer *rb = NULL;
	struct out_rec *ready = NULL;
	struct netseg_netns ns;
	struct tracer t;
	struct ctx c;
	enum loop_end how;
	int rc;

	cli_set_tool("icmp_drop_detector");
	cli_common_init(common);
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return CLI_EXIT_USAGE;
	out_setup(stdout, common->json);
	rc = tracer_netns("icmp_drop_detector", common, &ns, resolve_ifaces);
	if (rc)
		return rc;
	rc = tracer_begin(&t, "icmp_drop_detector", common, &catalog_icmp_drop_detector);
	if (rc)
		return rc;
	span_segtab_init(&env.segs, segments, sizeof(segments) / sizeof(segments[0]),
			 SPAN_SEG_TEXT_INLINE);

	rc = 1;
	skel = icmp_drop_detector_bpf__open();
	if (!skel) {
		fprintf(stderr, "icmp_drop_detector: opening the BPF object failed\n");
		goto cleanup;
	}
	c.t = &t;
	c.skel = skel;
	if (tracer_load_attach_cfg(&t, skel->skeleton, configure, skel, handle_event, &c, &rb))
		goto cleanup;
	if (span_hist_quiet(common))
		tracer_kernel_hist(&t, &env.segs, bpf_map__fd(skel->maps.netseg_hist));
	c.echoes = span_map_of(skel->maps.echoes, (int64_t *)&skel->bss->netseg_spans_open);
	if (!tier_plan_stage_available(&t.plan, "drop") && !tier_plan_stage_rejected(&t.plan, "drop"))
		fprintf(stderr, "icmp_drop_detector: no kfree_skb hook on this kernel: drops are found by timeout only, without a reason\n");

	ready = malloc(sizeof(*ready));
	if (!ready)
		goto cleanup;
	tracer_ready_begin(&t, ready);
	if (env.src_ip)
		out_ip4(ready, "src_ip", NULL, env.src_ip, 0);
	if (env.dst_ip)
		out_ip4(ready, "dst_ip", NULL, env.dst_ip, 0);
	if (env.fixed) {
		out_str(ready, "orientation", NULL, "fixed", 0);
		out_str(ready, "rx_iface", NULL, env.a_names, 0);
		out_str(ready, "tx_iface", NULL, env.b_names, 0);
	} else {
		/* which side receives requests is decided per echo, by the packets */
		out_str(ready, "orientation", NULL, "by-packets", 0);
		out_str(ready, "vm_interface", NULL, env.a_names, 0);
		out_str(ready, "phy_interface", NULL, env.b_names, 0);
	}
	out_u64(ready, "timeout_ms", NULL, env.timeout_ms, 0);
	if (tracer_ready_emit(&t, ready))
		goto cleanup;

	how = tracer_loop(&t, rb, tick, &c, 100);
	tracer_stop(&t, rb);
	/* what is still incomplete at the end was not given its timeout: drop
	 * only those older than it, and count the rest as in flight */
	tick(&c);
	print_summary(&c, how);
	rc = how == LOOP_END_ERROR;

cleanup:
	free(ready);
	tracer_end(&t);
	ring_buffer__free(rb);
	icmp_drop_detector_bpf__destroy(skel);
	ksyms_free(env.ksyms);
	drop_reason_names_free();
	span_segtab_free(&env.segs);
	return rc;
}
