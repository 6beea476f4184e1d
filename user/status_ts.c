// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * status_ts: kernel stamps of HTTP exchanges on TCP sockets. On a node
 * (server role, --port) each reply's service time: request in -> reply
 * written -> first reply segment to the device. On a probe host (client
 * role, --pid or --remote-port) each request's round trip from the socket
 * layer: request written -> reply's first bytes in. `ippantime probe` links
 * the client role in (--kernel-ts) for its own requests.
 */
#include <argp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "status_ts.h"
#include "status_ts.skel.h"
#include "status_ts_client.h"
#include "lib/catalog.h"
#include "lib/cli.h"
#include "lib/span.h"
#include "lib/span_hist.h"
#include "lib/tracer.h"

static struct env {
	int role;                 /* enum sts_role; -1: from the options */
	uint64_t lport_lo, lport_hi;
	uint64_t rport_lo, rport_hi;
	uint64_t pid;
	uint64_t timeout_ms;
	struct span_segtab segs;
	uint64_t expired, replaced, closed;
} env = {
	.role = -1,
	.timeout_ms = 2000,
};

static const struct span_segment server_segments[] = {
	{ "service", "service", STS_RX, STS_TX },
	{ "to_wire", "to_wire", STS_TX, STS_WIRE },
	{ "reply_out", "reply_out", STS_RX, STS_WIRE },
};

static const struct span_segment client_segments[] = {
	{ "to_wire", "to_wire", STS_TX, STS_WIRE },
	{ "rtt", "rtt", STS_TX, STS_RX },
};

const char *argp_program_version = "status_ts " NETSEG_VERSION;
const char *argp_program_bug_address = "netseg issue tracker";
static const char doc[] =
	"Kernel timestamps of HTTP exchanges (a request and the start of its reply) on\n"
	"IPv4 TCP connections (also on IPv6 sockets of a node listening on [::]), one\n"
	"record per exchange.\n"
	"\n"
	"  server role (--port, on a node): rx = the request's first bytes reach the\n"
	"      socket, tx = the reply is written, wire = its first segment is handed to\n"
	"      a device. service = tx - rx is the node's part of a probe's round trip:\n"
	"      a clock read during it is off the probe's mid-point by <= service/2.\n"
	"  client role (--pid or --remote-port, on a probe host): tx = the request is\n"
	"      written, wire = its first segment leaves, rx = the reply's first bytes\n"
	"      arrive. rtt = rx - tx, free of the handshake and of the client's\n"
	"      scheduling.\n"
	"\n"
	"Further bytes of the same request or reply stamp nothing. An exchange whose\n"
	"connection closes first, or still open after --timeout-ms, is reported\n"
	"incomplete with the stages it reached.\n"
	"\n"
	"EXAMPLES:\n"
	"  status_ts --port 8080-8119                      # a node host's 40 nodes\n"
	"  status_ts --port 8080 -j --duration 60 > node-00.jsonl\n"
	"  status_ts --remote-port 8080-8119               # every client on this host\n"
	"  status_ts --pid 4242 --netns probe              # one probe process\n"
	"  ippantime probe --kernel-ts on ...              # the client role, linked in";

enum {
	OPT_PORT = 0x2000,
	OPT_RPORT,
	OPT_PID,
	OPT_ROLE,
	OPT_TIMEOUT,
};

static const struct argp_option opts[] = {
	{ "port", OPT_PORT, "N|LO-HI", 0, "server role: the node's listening ports", 0 },
	{ "remote-port", OPT_RPORT, "N|LO-HI", 0, "client role: connections to these ports", 0 },
	{ "pid", OPT_PID, "PID", 0, "client role: connections of this process", 0 },
	{ "role", OPT_ROLE, "server|client", 0, "(normally follows from the options above)", 0 },
	{ "timeout-ms", OPT_TIMEOUT, "MS", 0, "an exchange open this long is expired (default 2000)", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	static const char *const roles[] = { "client", "server", NULL };
	char err[256];

	(void)state;
	switch (key) {
	case OPT_PORT:
		if (cli_parse_range("--port", arg, 1, 65535, &env.lport_lo, &env.lport_hi, err,
				    sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_RPORT:
		if (cli_parse_range("--remote-port", arg, 1, 65535, &env.rport_lo, &env.rport_hi,
				    err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_PID:
		if (cli_parse_u64("--pid", arg, 1, 4194304, &env.pid, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_ROLE:
		env.role = cli_parse_choice("--role", arg, roles, err, sizeof(err));
		if (env.role < 0)
			cli_usage_error("%s", err);
		break;
	case OPT_TIMEOUT:
		if (cli_parse_u64("--timeout-ms", arg, 1, 3600000, &env.timeout_ms, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case ARGP_KEY_ARG:
		cli_usage_error("unexpected argument '%s' (see --help)", arg);
	case ARGP_KEY_END:
		if (env.role < 0)
			env.role = env.lport_lo ? STS_ROLE_SERVER
				 : env.pid || env.rport_lo ? STS_ROLE_CLIENT : -1;
		if (env.role < 0)
			cli_usage_error("say whose exchanges: --port (a node) or --pid / --remote-port (a client)");
		if (env.role == STS_ROLE_SERVER && (env.pid || env.rport_lo))
			cli_usage_error("--pid and --remote-port are for the client role; a node takes --port");
		if (env.role == STS_ROLE_CLIENT && env.lport_lo)
			cli_usage_error("--port is for the server role; a client takes --pid or --remote-port");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ---- records -------------------------------------------------------- */

static const char *const hook_names[STS_N_HOOKS] = {
	[STS_HOOK_TCP_DATA_READY] = "tcp_data_ready",
	[STS_HOOK_SK_DATA_READY] = "sk_data_ready",
	[STS_HOOK_TCP_SENDMSG] = "tcp_sendmsg",
	[STS_HOOK_TCP_SENDMSG_LOCKED] = "tcp_sendmsg_locked",
	[STS_HOOK_SOCK_SEND_LENGTH] = "sock_send_length",
	[STS_HOOK_DEV_START_XMIT] = "net_dev_start_xmit",
};

static const char *const stage_names[STS_N_STAGES] = { "rx", "tx", "wire" };

struct ctx {
	struct tracer *t;
	struct span_map exchanges;
	int hist_fd;          /* netseg_hist: the kernel's histograms when quiet */
};

/* The stamps in time order of the role, as a JSON array; text shows only
 * the segments (and, for incomplete ones, the last stage). */
static void add_stages(struct ctx *c, struct out_rec *r, const struct sts_exch *x)
{
	static const int order[2][STS_N_STAGES] = {
		[STS_ROLE_CLIENT] = { STS_TX, STS_WIRE, STS_RX },
		[STS_ROLE_SERVER] = { STS_RX, STS_TX, STS_WIRE },
	};
	char json[2048], comm[17], ifname[17], comm_json[64], ifname_json[64];
	size_t off = 0;
	bool first = true;

	off += snprintf(json, sizeof(json), "[");
	for (int k = 0; k < STS_N_STAGES; k++) {
		int i = order[x->role == STS_ROLE_SERVER][k];
		const struct netseg_stamp *s = &x->st[i];

		if (!s->ts_ns || off >= sizeof(json))
			continue;
		memcpy(comm, s->comm, 16);
		comm[16] = 0;
		memcpy(ifname, s->ifname, 16);
		ifname[16] = 0;
		out_json_string(comm_json, sizeof(comm_json), comm);
		out_json_string(ifname_json, sizeof(ifname_json), ifname);
		off += snprintf(json + off, sizeof(json) - off,
				"%s{\"stage\":\"%s\",\"hook\":\"%s\",\"tier\":\"%s\",\"ts_ns\":%llu,"
				"\"wall_ns\":%llu,\"cpu\":%u,\"pid\":%u,\"comm\":%s,\"ifname\":%s}",
				first ? "" : ",", stage_names[i],
				s->hook < STS_N_HOOKS ? hook_names[s->hook] : "?", tier_name(s->tier),
				(unsigned long long)s->ts_ns,
				(unsigned long long)tracer_wall(c->t, s->ts_ns), s->cpu, s->pid,
				comm_json, ifname_json);
		first = false;
	}
	if (off < sizeof(json))
		snprintf(json + off, sizeof(json) - off, "]");
	out_json(r, "stages", json, NULL, OUT_TEXT_HIDE);
}

/* "198.18.0.2:8080 <- 198.18.0.1:41234": the node's side first, then whose */
static const char *conn_text(const struct sts_exch *x, char *buf, size_t len)
{
	char l[INET_ADDRSTRLEN], r[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &x->laddr, l, sizeof(l));
	inet_ntop(AF_INET, &x->raddr, r, sizeof(r));
	snprintf(buf, len, "%s:%u %s %s:%u", l, x->lport,
		 x->role == STS_ROLE_SERVER ? "<-" : "->", r, x->rport);
	return buf;
}

static void add_header(struct ctx *c, struct out_rec *r, const struct sts_exch *x)
{
	bool server = x->role == STS_ROLE_SERVER;
	char conn[64];
	int first = server ? STS_RX : STS_TX;

	out_wall(r, "wall_ns", NULL, tracer_wall(c->t, x->st[first].ts_ns),
		 c->t->opts->timestamp ? OUT_TEXT_BARE : OUT_TEXT_HIDE);
	out_str(r, "role", NULL, server ? "server" : "client", OUT_TEXT_BARE);
	out_ip4(r, "local", NULL, x->laddr, OUT_TEXT_HIDE);
	out_u64(r, "local_port", NULL, x->lport, OUT_TEXT_HIDE);
	out_ip4(r, "remote", NULL, x->raddr, OUT_TEXT_HIDE);
	out_u64(r, "remote_port", NULL, x->rport, OUT_TEXT_HIDE);
	out_str(r, "conn", NULL, conn_text(x, conn, sizeof(conn)), OUT_TEXT_BARE | OUT_JSON_HIDE);
	/* the writer is the node's or the client's process; a server's first
	 * stamp runs in whatever the receive interrupted */
	if (x->st[STS_TX].ts_ns)
		out_u64(r, "pid", NULL, x->st[STS_TX].pid, OUT_TEXT_HIDE);
	else if (!server)
		out_u64(r, "pid", NULL, x->tgid, OUT_TEXT_HIDE);
	for (int i = 0; i < STS_N_STAGES; i++) {
		char key[32];

		if (!x->st[i].ts_ns)
			continue;
		snprintf(key, sizeof(key), "%s_wall_ns", stage_names[i]);
		out_u64(r, key, NULL, tracer_wall(c->t, x->st[i].ts_ns), OUT_TEXT_HIDE);
	}
}

/* One record at a time: the ring buffer callback is not reentered. */
static struct out_rec rec;

static void emit_exchange(struct ctx *c, const struct sts_exch *x)
{
	out_begin_event(&rec, "exchange");
	add_header(c, &rec, x);
	span_segtab_add(&env.segs, x->st, &rec);
	add_stages(c, &rec, x);
	out_emit(&rec);
}

static void emit_incomplete(struct ctx *c, const struct sts_exch *x, const char *why)
{
	int last = -1;

	for (int i = 0; i < STS_N_STAGES; i++)
		if (x->st[i].ts_ns && (last < 0 || x->st[i].ts_ns >= x->st[last].ts_ns))
			last = i;
	out_begin_event(&rec, "incomplete");
	add_header(c, &rec, x);
	out_str(&rec, "why", NULL, why, 0);
	out_str(&rec, "last_stage", "last-stage", last >= 0 ? stage_names[last] : "none", 0);
	add_stages(c, &rec, x);
	out_emit(&rec);
}

static int handle_event(void *arg, void *data, size_t size)
{
	const struct sts_event *ev = data;
	struct ctx *c = arg;

	if (size < sizeof(*ev))
		return 0;
	c->t->records++;
	switch (ev->h.kind) {
	case NETSEG_SPAN_EV_COMPLETE:
		emit_exchange(c, &ev->x);
		break;
	case NETSEG_SPAN_EV_REPLACED:
		env.replaced++;
		emit_incomplete(c, &ev->x, "replaced");
		break;
	case STS_EV_CLOSED:
		env.closed++;
		emit_incomplete(c, &ev->x, "closed");
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

	return span_expire(&c->exchanges, env.timeout_ms * 1000000ull, on_expired, c);
}

static void print_summary(struct ctx *c, enum loop_end how)
{
	uint64_t cnt[NETSEG_CNT_MAX];
	struct out_rec *r = malloc(sizeof(*r));
	struct span_acct a;

	if (!r)
		return;
	tracer_counters(c->t, cnt, NULL, 0);
	span_acct_make(&a, cnt, env.expired, span_in_flight(&c->exchanges));
	/* closed mid-exchange: accounted, not taken for LRU evictions */
	span_acct_ended(&a, cnt[STS_CNT_CLOSED]);
	out_begin(r, "summary");
	out_str(r, "kind", NULL, "SUMMARY", OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_str(r, "tool", NULL, c->t->tool, OUT_TEXT_BARE);
	out_str(r, "role", NULL, env.role == STS_ROLE_SERVER ? "server" : "client", 0);
	span_acct_fields(r, &a, "exchanges");
	span_gate_field(r, &c->exchanges);
	out_u64(r, "exchanges_closed", "closed", cnt[STS_CNT_CLOSED], 0);
	if (span_hist_quiet(c->t->opts))
		span_hist_summary(r, c->hist_fd, &env.segs);
	span_segtab_summary(&env.segs, c->t, r, how);
	free(r);
}

static int configure(struct tracer *t, void *arg)
{
	struct status_ts_bpf *skel = arg;

	sts_plan_settle(&t->plan);
	skel->rodata->netseg_netns_ino = t->ns.ino;
	skel->rodata->netseg_span_timeout_ns = env.timeout_ms * 1000000ull;
	skel->rodata->sts_role = env.role;
	skel->rodata->sts_tgid = env.pid;
	skel->rodata->sts_lport_lo = env.lport_lo;
	skel->rodata->sts_lport_hi = env.lport_hi;
	skel->rodata->sts_rport_lo = env.rport_lo;
	skel->rodata->sts_rport_hi = env.rport_hi;
	skel->rodata->sts_has_wire = tier_plan_stage_available(&t->plan, "wire");
	return span_hist_setup(&skel->rodata->netseg_quiet, &skel->rodata->netseg_hist_cfg,
			       &env.segs, t->opts);
}

static void ready_filters(struct out_rec *r)
{
	char range[32];

	out_str(r, "role", NULL, env.role == STS_ROLE_SERVER ? "server" : "client", 0);
	if (env.lport_lo) {
		snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)env.lport_lo,
			 (unsigned long long)env.lport_hi);
		out_str(r, "ports", NULL, range, 0);
	}
	if (env.rport_lo) {
		snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)env.rport_lo,
			 (unsigned long long)env.rport_hi);
		out_str(r, "remote_ports", "remote-ports", range, 0);
	}
	if (env.pid)
		out_u64(r, "traced_pid", "traced-pid", env.pid, 0);
	out_u64(r, "timeout_ms", NULL, env.timeout_ms, OUT_TEXT_HIDE);
}

/* an exchange whose connection closed before it completed */
static const struct tracer_state closed_state[] = { { "closed", STS_CNT_CLOSED }, { NULL, 0 } };

int main(int argc, char **argv)
{
	static const struct argp_child children[] = { { &cli_common_argp, 0, NULL, 0 }, {} };
	static const struct argp argp = { opts, parse_arg, NULL, doc, children, NULL, NULL };
	struct status_ts_bpf *skel = NULL;
	struct cli_common *common = cli_common_get();
	struct ring_buffer *rb = NULL;
	struct out_rec *ready = NULL;
	struct tracer t;
	struct ctx c;
	enum loop_end how;
	int rc;

	cli_set_tool("status_ts");
	cli_common_init(common);
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return CLI_EXIT_USAGE;
	out_setup(stdout, common->json);
	rc = tracer_begin(&t, "status_ts", common, &catalog_status_ts);
	if (rc)
		return rc;
	if (env.role == STS_ROLE_SERVER)
		span_segtab_init(&env.segs, server_segments,
				 sizeof(server_segments) / sizeof(server_segments[0]),
				 SPAN_SEG_TEXT_INLINE);
	else
		span_segtab_init(&env.segs, client_segments,
				 sizeof(client_segments) / sizeof(client_segments[0]),
				 SPAN_SEG_TEXT_INLINE);

	rc = 1;
	skel = status_ts_bpf__open();
	if (!skel) {
		fprintf(stderr, "status_ts: opening the BPF object failed\n");
		goto cleanup;
	}
	c.t = &t;
	if (tracer_load_attach_cfg(&t, skel->skeleton, configure, skel, handle_event, &c, &rb))
		goto cleanup;
	if (span_hist_quiet(common))
		tracer_kernel_hist(&t, &env.segs, bpf_map__fd(skel->maps.netseg_hist));
	t.states = closed_state;
	c.exchanges = span_map_of(skel->maps.exchanges, (int64_t *)&skel->bss->netseg_spans_open);
	c.hist_fd = bpf_map__fd(skel->maps.netseg_hist);

	ready = malloc(sizeof(*ready));
	if (!ready)
		goto cleanup;
	tracer_ready_begin(&t, ready);
	ready_filters(ready);
	if (tracer_ready_emit(&t, ready))
		goto cleanup;

	how = tracer_loop(&t, rb, tick, &c, 100);
	tracer_stop(&t, rb);
	tick(&c);
	print_summary(&c, how);
	rc = how == LOOP_END_ERROR;

cleanup:
	free(ready);
	tracer_end(&t);
	ring_buffer__free(rb);
	status_ts_bpf__destroy(skel);
	span_segtab_free(&env.segs);
	return rc;
}
