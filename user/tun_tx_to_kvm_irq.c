// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tun_tx_to_kvm_irq: on a hypervisor host, per packet a tap sends toward
 * its VM, the chain from the tap's transmit to the interrupt KVM injects:
 * segment E (requests toward VM-R, on HR) and L (replies toward VM-S, on HS).
 */
#include <argp.h>
#include <errno.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tun_tx_to_kvm_irq.h"
#include "tun_tx_to_kvm_irq.skel.h"
#include "lib/catalog.h"
#include "lib/dropreason.h"
#include "lib/cli.h"
#include "lib/ksyms.h"
#include "lib/metrics.h"
#include "lib/pktfilter.h"
#include "lib/span.h"
#include "lib/span_hist.h"
#include "lib/tracer.h"

#define MAX_QUEUES 64   /* per-queue rows in the summary */
#define MAX_VMS 32      /* per-VM rows */

struct queue_row {
	uint32_t ifindex, queue;
	char dev[IFNAMSIZ];
	uint64_t complete, partial, dropped;
};

struct vm_row {
	uint64_t kvm;
	uint32_t gsi;
	uint64_t chains;
};

static struct env {
	const char *devices;
	struct netseg_ifset ifs;
	char names[NETSEG_MAX_IFS][16];
	int queue;                  /* -1: every queue */
	uint64_t timeout_ms;
	bool analyze;
	double stats_interval_s;
	uint64_t irqfd_wakeup_addr, eventfd_write_addr;
	uint32_t req_vhost, req_thread;
	struct span_segtab segs;
	/* what the run saw */
	uint64_t complete, partial, dropped, expired;
	uint64_t by_linking[3];
	uint64_t missing_first[TKI_N_STAGES]; /* partial chains by first missing stage */
	struct queue_row queues[MAX_QUEUES];
	int n_queues;
	uint64_t queues_overflow;
	struct vm_row vms[MAX_VMS];
	int n_vms;
	uint64_t next_stats_ns;
} env = {
	.queue = -1,
	.timeout_ms = 1000,
};

/* Per stage: from the stage stamped before it; the total, first to last. */
static const struct span_segment segments[] = {
	{ "dequeue", "xmit -> dequeue", SPAN_SEG_PREV, TKI_S_DEQUEUE },
	{ "vhost_signal", "-> vhost signal (S2)", SPAN_SEG_PREV, TKI_S_VHOST },
	{ "eventfd", "-> eventfd (S3)", SPAN_SEG_PREV, TKI_S_EVENTFD },
	{ "irqfd", "-> irqfd wake-up (S4)", SPAN_SEG_PREV, TKI_S_IRQFD },
	{ "kvm_inject", "-> KVM injection (S5)", SPAN_SEG_PREV, TKI_S_INJECT },
	{ "total", "Total (first -> last)", TKI_S_XMIT, SPAN_SEG_LAST },
};

static const char *const stage_names[TKI_N_STAGES] = {
	[TKI_S_XMIT] = "tun_xmit",   [TKI_S_DEQUEUE] = "dequeue", [TKI_S_VHOST] = "vhost_signal",
	[TKI_S_EVENTFD] = "eventfd", [TKI_S_IRQFD] = "irqfd",     [TKI_S_INJECT] = "kvm_inject",
};

/* The original's stage numbers; the dequeue is ours (0: no number). */
static const int stage_numbers[TKI_N_STAGES] = { 1, 0, 2, 3, 4, 5 };

static const char *const hook_names[TKI_N_HOOKS] = {
	[TKI_HOOK_TUN_NET_XMIT] = "tun_net_xmit",
	[TKI_HOOK_DEV_START_XMIT] = "net_dev_start_xmit",
	[TKI_HOOK_CONSUME_SKB] = "consume_skb",
	[TKI_HOOK_VHOST_SIGNAL] = "vhost_add_used_and_signal_n",
	[TKI_HOOK_EVENTFD_SIGNAL] = "eventfd_signal",
	[TKI_HOOK_EVENTFD_WRITE] = "eventfd_write",
	[TKI_HOOK_IRQFD_WAKEUP] = "irqfd_wakeup",
	[TKI_HOOK_KVM_MSI] = "kvm_msi_set_irq",
	[TKI_HOOK_KVM_SET_IRQ] = "kvm_set_irq",
	[TKI_HOOK_APIC_ACCEPT] = "kvm_apic_accept_irq",
	[TKI_HOOK_KFREE_SKB] = "kfree_skb",
};

static const char *const linking_names[] = { "none", "vhost", "thread" };

static const char *hook_name(unsigned h)
{
	return h < TKI_N_HOOKS && hook_names[h] ? hook_names[h] : "?";
}

const char *argp_program_version = "tun_tx_to_kvm_irq " NETSEG_VERSION;
const char *argp_program_bug_address = "netseg issue tracker";
static const char doc[] =
	"Per packet a tap sends toward its VM, on a hypervisor host: the chain from\n"
	"the tap's transmit to the interrupt KVM injects into the guest (segment E\n"
	"on the receiver's host, L on the sender's).\n"
	"\n"
	"  1 tap transmit -> dequeue (the tap's reader copies it out) ->\n"
	"  2 vhost signal -> 3 eventfd signal (or a VMM's write) -> 4 irqfd -> 5 KVM inject\n"
	"\n"
	"Each packet is followed by its own keys: the skb until the tap's reader\n"
	"frees it, then the reader's thread, which signals the guest (a vhost\n"
	"worker: \"vhost\" linking; a user-space VMM such as qemu without vhost:\n"
	"\"thread\" linking), then the eventfd and the irqfd, which name the VM\n"
	"(kvm, gsi). One signal covers every packet dequeued before it: each gets\n"
	"its chain, with the batch size. Stages this kernel cannot hook are\n"
	"reported absent, never as zero; a chain still missing a stage after\n"
	"--timeout-ms is reported partial, with the stages it lacks; a packet the\n"
	"kernel freed in the tap is reported dropped.\n"
	"\n"
	"EXAMPLES:\n"
	"  tun_tx_to_kvm_irq --vm-interface vnet0 --direction rx     # the seed's line\n"
	"  tun_tx_to_kvm_irq -d vnet0 -q 0 --protocol icmp --icmp-seq 7\n"
	"  tun_tx_to_kvm_irq -d vnet0,vnet1 --src-ip 198.18.0.1 -j --duration 60\n"
	"  tun_tx_to_kvm_irq -d vnet0 --analyze-chains --stats-interval 10\n"
	"  netseg lab exec hr -- tun_tx_to_kvm_irq -d vnet0 --ready-file /tmp/tki.ready";

enum {
	OPT_VM_IF = 0x2000,
	OPT_DIRECTION,
	OPT_ANALYZE,
	OPT_STATS_INTERVAL,
	OPT_TIMEOUT,
};

static const struct argp_option opts[] = {
	{ "device", 'd', "TAPS", 0, "the VM's tap(s), comma list (default: every tap of the namespace)", 0 },
	{ "vm-interface", OPT_VM_IF, "TAPS", 0, "the same (the seed's name)", 0 },
	{ "queue", 'q', "N", 0, "only this queue of the tap", 0 },
	{ "direction", OPT_DIRECTION, "rx", 0, "rx: toward the VM (the only direction; accepted)", 0 },
	{ "analyze-chains", OPT_ANALYZE, NULL, 0, "chain analysis per queue at every --stats-interval and at the end", 0 },
	{ "stats-interval", OPT_STATS_INTERVAL, "SEC", 0, "a stats record every SEC seconds", 0 },
	{ "timeout-ms", OPT_TIMEOUT, "MS", 0, "a chain incomplete this long is partial (default 1000)", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	static const char *const dirs[] = { "rx", NULL };
	char err[256];
	uint64_t v;

	(void)state;
	switch (key) {
	case 'd':
	case OPT_VM_IF:
		if (env.devices)
			cli_usage_error("--device/--vm-interface given twice: use one comma list");
		env.devices = arg;
		break;
	case 'q':
		if (cli_parse_u64("--queue", arg, 0, 255, &v, err, sizeof(err)))
			cli_usage_error("%s (a tap has at most 256 queues)", err);
		env.queue = (int)v;
		break;
	case OPT_DIRECTION:
		if (cli_parse_choice("--direction", arg, dirs, err, sizeof(err)) < 0)
			cli_usage_error("%s: this tool measures toward the VM only", err);
		break;
	case OPT_ANALYZE:
		env.analyze = true;
		break;
	case OPT_STATS_INTERVAL:
		if (cli_parse_seconds("--stats-interval", arg, &env.stats_interval_s, err,
				      sizeof(err)))
			cli_usage_error("%s", err);
		if (env.stats_interval_s <= 0)
			cli_usage_error("--stats-interval '%s': must be more than 0", arg);
		break;
	case OPT_TIMEOUT:
		if (cli_parse_u64("--timeout-ms", arg, 1, 3600000, &env.timeout_ms, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case ARGP_KEY_ARG:
		cli_usage_error("unexpected argument '%s' (see --help)", arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ---- the devices, checked inside the watched namespace ------------------- */

/* The driver name of a device ("tun" for taps), "" when it says none. */
static int driver_of(const char *name, char *drv, size_t len)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&info;
	rc = ioctl(fd, SIOCETHTOOL, &ifr) ? -errno : 0;
	close(fd);
	snprintf(drv, len, "%s", rc ? "" : info.driver);
	return rc;
}

/* The tap's transmit queues from sysfs, when sysfs shows this namespace
 * (it does under `ip netns exec`); 0 when it cannot tell. */
static unsigned tx_queues(const char *name, unsigned ifindex)
{
	char path[256];
	unsigned n = 0, idx = 0;
	struct stat sb;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex", name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%u", &idx) != 1)
		idx = 0;
	fclose(f);
	if (idx != ifindex)
		return 0;
	for (n = 0; n < 256; n++) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/tx-%u", name, n);
		if (stat(path, &sb))
			break;
	}
	return n;
}

static int resolve_devices(void *arg)
{
	char *err = arg, drv[64];

	if (cli_parse_ifnames("--device", env.devices, &env.ifs, env.names, err, 256))
		return -1;
	for (unsigned i = 0; i < env.ifs.n; i++) {
		unsigned nq;

		driver_of(env.names[i], drv, sizeof(drv));
		if (strcmp(drv, "tun")) {
			snprintf(err, 256, "--device '%s' is not a tap (driver '%s'): this tool follows "
				 "what a tap sends to its VM", env.names[i], drv[0] ? drv : "unknown");
			return -1;
		}
		nq = tx_queues(env.names[i], env.ifs.ifindex[i]);
		if (env.queue >= 0 && nq && (unsigned)env.queue >= nq) {
			snprintf(err, 256, "--queue %d: tap '%s' has %u transmit queue%s (0..%u)",
				 env.queue, env.names[i], nq, nq == 1 ? "" : "s", nq - 1);
			return -1;
		}
	}
	return 0;
}

/* ---- records ------------------------------------------------------------- */

struct ctx {
	struct tracer *t;
	struct tun_tx_to_kvm_irq_bpf *skel;
	struct span_map chains;
};

static uint32_t all_stages_hooked(void)
{
	return env.req_vhost | env.req_thread;
}

/* The stages a chain of this linking should have; before any signal, what
 * both linkings need. */
static uint32_t expected_of(const struct tki_chain *c)
{
	switch (c->linking) {
	case TKI_LINK_VHOST:
		return env.req_vhost;
	case TKI_LINK_THREAD:
		return env.req_thread;
	default:
		return env.req_vhost & env.req_thread;
	}
}

static void cstr(char *dst, const char *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = 0;
}

static void flow_text(const struct tki_chain *c, char *buf, size_t len)
{
	const struct netseg_pkt *p = &c->pkt;
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];

	if (!p->saddr && !p->daddr && !p->l4proto) {
		snprintf(buf, len, "(not IPv4)");
		return;
	}
	inet_ntop(AF_INET, &p->saddr, s, sizeof(s));
	inet_ntop(AF_INET, &p->daddr, d, sizeof(d));
	if (p->l4proto == NETSEG_IPPROTO_ICMP)
		snprintf(buf, len, "ICMP %s -> %s type=%u code=%u id=%u seq=%u", s, d, p->icmp_type,
			 p->icmp_code, p->sport, p->dport);
	else if (p->l4proto == NETSEG_IPPROTO_TCP || p->l4proto == NETSEG_IPPROTO_UDP)
		snprintf(buf, len, "%s %s:%u -> %s:%u", p->l4proto == NETSEG_IPPROTO_TCP ? "TCP" : "UDP",
			 s, p->sport, d, p->dport);
	else
		snprintf(buf, len, "proto=%u %s -> %s", p->l4proto, s, d);
}

static void flow_json(struct out_rec *r, const struct tki_chain *c)
{
	const struct netseg_pkt *p = &c->pkt;
	bool echo = p->l4proto == NETSEG_IPPROTO_ICMP &&
		    (p->icmp_type == NETSEG_ICMP_ECHO || p->icmp_type == NETSEG_ICMP_ECHOREPLY);

	if (!p->saddr && !p->daddr && !p->l4proto)
		return;
	out_ip4(r, "src", NULL, p->saddr, OUT_TEXT_HIDE);
	out_ip4(r, "dst", NULL, p->daddr, OUT_TEXT_HIDE);
	out_u64(r, "proto", NULL, p->l4proto, OUT_TEXT_HIDE);
	if (echo) {
		out_u64(r, "id", NULL, p->sport, OUT_TEXT_HIDE);
		out_u64(r, "seq", NULL, p->dport, OUT_TEXT_HIDE);
	}
	if (p->l4proto == NETSEG_IPPROTO_ICMP)
		out_u64(r, "icmp_type", NULL, p->icmp_type, OUT_TEXT_HIDE);
	if (p->l4proto == NETSEG_IPPROTO_TCP || p->l4proto == NETSEG_IPPROTO_UDP) {
		out_u64(r, "sport", NULL, p->sport, OUT_TEXT_HIDE);
		out_u64(r, "dport", NULL, p->dport, OUT_TEXT_HIDE);
	}
}

/* "[a","b"]" of the stages in mask. */
static void stage_list_json(uint32_t mask, char *buf, size_t len)
{
	size_t off = snprintf(buf, len, "[");

	for (int i = 0; i < TKI_N_STAGES && off < len; i++)
		if (mask & (1u << i))
			off += snprintf(buf + off, len - off, "%s\"%s\"", off > 1 ? "," : "",
					stage_names[i]);
	if (off < len)
		snprintf(buf + off, len - off, "]");
}

static void stage_list_text(uint32_t mask, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int i = 0; i < TKI_N_STAGES && off < len; i++)
		if (mask & (1u << i))
			off += snprintf(buf + off, len - off, "%s%s", off ? "," : "", stage_names[i]);
}

static struct queue_row *queue_row_of(const struct tki_chain *c)
{
	const struct netseg_stamp *x = &c->st[TKI_S_XMIT];

	for (int i = 0; i < env.n_queues; i++)
		if (env.queues[i].ifindex == x->ifindex && env.queues[i].queue == c->queue)
			return &env.queues[i];
	if (env.n_queues == MAX_QUEUES) {
		env.queues_overflow++;
		return NULL;
	}
	env.queues[env.n_queues].ifindex = x->ifindex;
	env.queues[env.n_queues].queue = c->queue;
	cstr(env.queues[env.n_queues].dev, x->ifname, sizeof(x->ifname) - 1);
	return &env.queues[env.n_queues++];
}

static void count_vm(const struct tki_chain *c)
{
	if (!c->kvm && !c->gsi_known)
		return;
	for (int i = 0; i < env.n_vms; i++)
		if (env.vms[i].kvm == c->kvm && env.vms[i].gsi == c->gsi) {
			env.vms[i].chains++;
			return;
		}
	if (env.n_vms < MAX_VMS)
		env.vms[env.n_vms++] = (struct vm_row){ c->kvm, c->gsi, 1 };
}

/* netseg_drops_total: the kernel's reason, named by this kernel's BTF. */
static void count_drop(const struct tki_chain *ch)
{
	char buf[32];

	metrics_count_add(metrics_default(), "drops", "dropped_in_tap",
			  drop_reason_name(ch->drop_reason, buf, sizeof(buf)), 1);
}

/* One record at a time: the ring buffer callback is not reentered. */
static struct out_rec rec;

enum chain_end { END_COMPLETE, END_TIMEOUT, END_DROPPED };

static void emit_chain(struct ctx *c, const struct tki_chain *ch, enum chain_end end)
{
	const struct netseg_stamp *st = ch->st;
	struct out_rec *r = &rec;
	static char text[8192], stages[4096];
	char head[64], dev[17], comm[17], comm_json[64], flow[160], wall[40], extra[160], rbuf[32];
	char missing_json[160], missing_text[128], absent_json[160], gsi[16] = "?", vector[16] = "?";
	uint32_t stamped = 0, expected = expected_of(ch), missing, absent;
	size_t to = 0, so = 0;
	int last = TKI_S_XMIT, prev = -1;
	struct queue_row *q = queue_row_of(ch);

	for (int i = 0; i < TKI_N_STAGES; i++)
		if (st[i].ts_ns) {
			stamped |= 1u << i;
			if (st[i].ts_ns >= st[last].ts_ns)
				last = i;
		}
	missing = end == END_DROPPED ? 0 : expected & ~stamped;
	absent = ~all_stages_hooked() & ((1u << TKI_N_STAGES) - 1);

	cstr(dev, st[TKI_S_XMIT].ifname, 16);
	if (ch->gsi_known)
		snprintf(gsi, sizeof(gsi), "%u", ch->gsi);
	if (ch->vector_known)
		snprintf(vector, sizeof(vector), "%u", ch->vector);
	snprintf(head, sizeof(head), "TUN TX INTERRUPT [%s:q%u]", dev, ch->queue);
	flow_text(ch, flow, sizeof(flow));
	so += snprintf(stages, sizeof(stages), "[");
	for (int i = 0; i < TKI_N_STAGES; i++) {
		const struct netseg_stamp *s = &st[i];
		char label[32];

		if (!s->ts_ns) {
			if ((missing & (1u << i)) && stage_numbers[i] && to < sizeof(text))
				to += snprintf(text + to, sizeof(text) - to, "%s%s Stage %d [%s]: missing",
					       to ? "\n" : "", head, stage_numbers[i], stage_names[i]);
			continue;
		}
		cstr(comm, s->comm, 16);
		out_wall_text(tracer_wall(c->t, s->ts_ns), wall, sizeof(wall));
		if (stage_numbers[i])
			snprintf(label, sizeof(label), "Stage %d", stage_numbers[i]);
		else
			snprintf(label, sizeof(label), "%s", s->hook == TKI_HOOK_KFREE_SKB ? "Dropped" : "Dequeue");
		extra[0] = 0;
		switch (i) {
		case TKI_S_XMIT:
			snprintf(extra, sizeof(extra), " Queue=%u", ch->queue);
			break;
		case TKI_S_VHOST:
			snprintf(extra, sizeof(extra), " EventFD(vq)=0x%" PRIx64 " Used=%u", (uint64_t)ch->eventfd, ch->used);
			break;
		case TKI_S_EVENTFD:
			snprintf(extra, sizeof(extra), " EventFD(arg)=0x%" PRIx64, (uint64_t)ch->eventfd);
			break;
		case TKI_S_IRQFD:
			snprintf(extra, sizeof(extra), " GSI(irqfd)=%u KVM=0x%" PRIx64, ch->gsi, (uint64_t)ch->kvm);
			break;
		case TKI_S_INJECT:
			if (ch->vector_known)
				snprintf(extra, sizeof(extra), " Vector(arg)=%u", ch->vector);
			break;
		case TKI_S_DEQUEUE:
			if (s->hook == TKI_HOOK_KFREE_SKB)
				snprintf(extra, sizeof(extra), " Reason=%s",
					 drop_reason_name(ch->drop_reason, rbuf, sizeof(rbuf)));
			break;
		}
		if (to < sizeof(text)) {
			to += snprintf(text + to, sizeof(text) - to, "%s%s %s [%s]: Time=%s%s", to ? "\n" : "",
				       head, label, hook_name(s->hook), wall, extra);
			if (prev >= 0 && to < sizeof(text))
				to += snprintf(text + to, sizeof(text) - to, " Delay=%.3fms",
					       (double)(int64_t)(s->ts_ns - st[prev].ts_ns) / 1e6);
			if (to < sizeof(text))
				to += snprintf(text + to, sizeof(text) - to, " CPU=%u PID=%u COMM=%s%s%s",
					       s->cpu, s->pid, comm, i == TKI_S_XMIT ? " " : "",
					       i == TKI_S_XMIT ? flow : "");
		}
		if (so < sizeof(stages)) {
			out_json_string(comm_json, sizeof(comm_json), comm);
			so += snprintf(stages + so, sizeof(stages) - so,
				       "%s{\"name\":\"%s\",\"hook\":\"%s\",\"tier\":\"%s\",\"ts_ns\":%llu,"
				       "\"wall_ns\":%llu,\"cpu\":%u,\"pid\":%u,\"comm\":%s}",
				       prev >= 0 ? "," : "", s->hook == TKI_HOOK_KFREE_SKB ? "drop" : stage_names[i],
				       hook_name(s->hook), tier_name(s->tier), (unsigned long long)s->ts_ns,
				       (unsigned long long)tracer_wall(c->t, s->ts_ns), s->cpu, s->pid,
				       comm_json);
		}
		prev = i;
	}
	if (so < sizeof(stages))
		snprintf(stages + so, sizeof(stages) - so, "]");
	stage_list_json(missing, missing_json, sizeof(missing_json));
	stage_list_json(absent, absent_json, sizeof(absent_json));
	stage_list_text(missing, missing_text, sizeof(missing_text));
	if (to < sizeof(text)) {
		int64_t total = (int64_t)(st[last].ts_ns - st[TKI_S_XMIT].ts_ns);
		int last_no = stage_numbers[last] ? stage_numbers[last] : 1;

		if (end == END_COMPLETE)
			to += snprintf(text + to, sizeof(text) - to, "\n  -> Total(S1->S%d): %.3fms",
				       last_no, (double)total / 1e6);
		else if (end == END_DROPPED)
			to += snprintf(text + to, sizeof(text) - to, "\n  -> DROPPED in the tap after %.3fms",
				       (double)total / 1e6);
		else
			to += snprintf(text + to, sizeof(text) - to,
				       "\n  -> PARTIAL CHAIN (missing %s): Total(S1->S%d): %.3fms",
				       missing_text, last_no, (double)total / 1e6);
		if (to < sizeof(text))
			snprintf(text + to, sizeof(text) - to, " linking=%s batch=%u gsi=%s vector=%s",
				 linking_names[ch->linking % 3], ch->batch, gsi, vector);
	}

	out_begin_event(r, "chain");
	out_str(r, "text", NULL, text, OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_str(r, "dev", NULL, dev, OUT_TEXT_HIDE);
	out_u64(r, "ifindex", NULL, st[TKI_S_XMIT].ifindex, OUT_TEXT_HIDE);
	out_u64(r, "queue", NULL, ch->queue, OUT_TEXT_HIDE);
	flow_json(r, ch);
	out_bool(r, "complete", NULL, end == END_COMPLETE, OUT_TEXT_HIDE);
	out_str(r, "end", NULL,
		end == END_COMPLETE ? "complete" : end == END_DROPPED ? "dropped" : "timeout",
		OUT_TEXT_HIDE);
	out_json(r, "missing", missing_json, NULL, OUT_TEXT_HIDE);
	out_json(r, "absent", absent_json, NULL, OUT_TEXT_HIDE);
	out_str(r, "linking", NULL, linking_names[ch->linking % 3], OUT_TEXT_HIDE);
	if (ch->gsi_known)
		out_u64(r, "gsi", NULL, ch->gsi, OUT_TEXT_HIDE);
	if (ch->vector_known)
		out_u64(r, "vector", NULL, ch->vector, OUT_TEXT_HIDE);
	if (ch->kvm) {
		char kvm[24];

		snprintf(kvm, sizeof(kvm), "0x%" PRIx64, (uint64_t)ch->kvm);
		out_str(r, "kvm", NULL, kvm, OUT_TEXT_HIDE);
	}
	out_u64(r, "batch", NULL, ch->batch, OUT_TEXT_HIDE);
	if (ch->used)
		out_u64(r, "used", NULL, ch->used, OUT_TEXT_HIDE);
	if (end == END_DROPPED) {
		char rbuf[32];

		out_u64(r, "drop_reason", NULL, ch->drop_reason, OUT_TEXT_HIDE);
		out_str(r, "drop_reason_name", NULL, drop_reason_name(ch->drop_reason, rbuf, sizeof(rbuf)),
			OUT_TEXT_HIDE);
	}
	out_json(r, "stages", stages, NULL, OUT_TEXT_HIDE);
	/* a complete chain's total comes with its stage delays */
	if (end == END_COMPLETE)
		span_segtab_add(&env.segs, st, r);
	else
		out_u64(r, "total_ns", NULL, st[last].ts_ns - st[TKI_S_XMIT].ts_ns, OUT_TEXT_HIDE);
	/* quiet: a partial chain is counted below but not printed; drops are */
	if (end == END_DROPPED || !span_hist_quiet(c->t->opts))
		out_emit(r);

	env.by_linking[ch->linking % 3]++;
	if (end == END_COMPLETE) {
		env.complete++;
		count_vm(ch);
	} else if (end == END_DROPPED) {
		env.dropped++;
		count_drop(ch);
	} else {
		env.partial++;
		for (int i = 0; i < TKI_N_STAGES; i++)
			if (missing & (1u << i)) {
				env.missing_first[i]++;
				break;
			}
	}
	if (q) {
		if (end == END_COMPLETE)
			q->complete++;
		else if (end == END_DROPPED)
			q->dropped++;
		else
			q->partial++;
	}
}

static int handle_event(void *arg, void *data, size_t size)
{
	const struct tki_event_rec *ev = data;
	struct ctx *c = arg;

	if (size < sizeof(*ev))
		return 0;
	c->t->records++;
	switch (ev->h.kind) {
	case NETSEG_SPAN_EV_COMPLETE:
		emit_chain(c, &ev->c, END_COMPLETE);
		break;
	case TKI_EV_DROPPED:
		emit_chain(c, &ev->c, END_DROPPED);
		break;
	}
	return 0;
}

static void on_expired(void *arg, const void *key, const void *value)
{
	(void)key;
	env.expired++;
	emit_chain(arg, value, END_TIMEOUT);
}

/* ---- analysis and summary ------------------------------------------------ */

static void queues_json(char *buf, size_t len)
{
	size_t off = snprintf(buf, len, "[");

	for (int i = 0; i < env.n_queues && off < len; i++) {
		const struct queue_row *q = &env.queues[i];

		off += snprintf(buf + off, len - off,
				"%s{\"dev\":\"%s\",\"queue\":%u,\"complete\":%llu,\"partial\":%llu,"
				"\"dropped\":%llu}",
				i ? "," : "", q->dev, q->queue, (unsigned long long)q->complete,
				(unsigned long long)q->partial, (unsigned long long)q->dropped);
	}
	if (off < len)
		snprintf(buf + off, len - off, "]");
}

static void missing_json(char *buf, size_t len)
{
	size_t off = snprintf(buf, len, "{");
	bool first = true;

	for (int i = 0; i < TKI_N_STAGES && off < len; i++)
		if (env.missing_first[i]) {
			off += snprintf(buf + off, len - off, "%s\"%s\":%llu", first ? "" : ",",
					stage_names[i], (unsigned long long)env.missing_first[i]);
			first = false;
		}
	if (off < len)
		snprintf(buf + off, len - off, "}");
}

static void vms_json(char *buf, size_t len)
{
	size_t off = snprintf(buf, len, "[");

	for (int i = 0; i < env.n_vms && off < len; i++)
		off += snprintf(buf + off, len - off, "%s{\"kvm\":\"0x%" PRIx64 "\",\"gsi\":%u,\"chains\":%llu}",
				i ? "," : "", env.vms[i].kvm, env.vms[i].gsi,
				(unsigned long long)env.vms[i].chains);
	if (off < len)
		snprintf(buf + off, len - off, "]");
}

/* The original's chain analysis, as text lines. */
static void analysis_text(char *buf, size_t len)
{
	size_t off = snprintf(buf, len, "TUN TX INTERRUPT CHAIN ANALYSIS");

	for (int i = 0; i < env.n_queues && off < len; i++) {
		const struct queue_row *q = &env.queues[i];
		uint64_t all = q->complete + q->partial + q->dropped;

		off += snprintf(buf + off, len - off,
				"\n  [%s:q%u] chains=%llu Chain Completeness: %.1f%% complete=%llu partial=%llu dropped=%llu",
				q->dev, q->queue, (unsigned long long)all,
				all ? 100.0 * (double)q->complete / (double)all : 0.0,
				(unsigned long long)q->complete, (unsigned long long)q->partial,
				(unsigned long long)q->dropped);
	}
	for (int i = 0; i < TKI_N_STAGES && off < len; i++)
		if (env.missing_first[i])
			off += snprintf(buf + off, len - off, "\n  PARTIAL CHAIN (missing %s): %llu",
					stage_names[i], (unsigned long long)env.missing_first[i]);
}

static void add_chain_fields(struct out_rec *r, bool analysis, bool quiet)
{
	static char qbuf[8192], mbuf[512], vbuf[4096], abuf[8192];

	out_u64(r, "chains_partial", "partial", env.partial, 0);
	out_u64(r, "chains_dropped", "dropped", env.dropped, 0);
	missing_json(mbuf, sizeof(mbuf));
	out_json(r, "partial_by_missing", mbuf, NULL, OUT_TEXT_HIDE);
	/* the tables below count complete chains from their records, which
	 * quiet mode does not send: left out rather than shown short */
	if (quiet) {
		out_str(r, "chain_tables", NULL, "not kept in quiet mode", OUT_TEXT_HIDE);
		return;
	}
	out_u64(r, "linking_vhost", NULL, env.by_linking[TKI_LINK_VHOST], OUT_TEXT_HIDE);
	out_u64(r, "linking_thread", NULL, env.by_linking[TKI_LINK_THREAD], OUT_TEXT_HIDE);
	queues_json(qbuf, sizeof(qbuf));
	out_json(r, "queues", qbuf, NULL, OUT_TEXT_HIDE);
	if (env.queues_overflow)
		out_u64(r, "queues_not_listed", NULL, env.queues_overflow, OUT_TEXT_HIDE);
	vms_json(vbuf, sizeof(vbuf));
	out_json(r, "vms", vbuf, NULL, OUT_TEXT_HIDE);
	if (analysis) {
		analysis_text(abuf, sizeof(abuf));
		out_str(r, "analysis", NULL, abuf, OUT_TEXT_NEWLINE | OUT_TEXT_BARE | OUT_JSON_HIDE);
	}
}

static int tick(void *arg)
{
	struct ctx *c = arg;
	int rc = span_expire(&c->chains, env.timeout_ms * 1000000ull, on_expired, c);
	uint64_t now = clock_mono_ns();

	if (env.stats_interval_s > 0 && now >= env.next_stats_ns) {
		struct out_rec *r = malloc(sizeof(*r));

		env.next_stats_ns = now + (uint64_t)(env.stats_interval_s * 1e9);
		if (r) {
			out_begin(r, "stats");
			out_str(r, "kind", NULL, "TUN TX QUEUE INTERRUPT TRACING STATISTICS",
				OUT_TEXT_BARE | OUT_JSON_HIDE);
			out_u64(r, "chains_in_flight", "in_flight", span_in_flight(&c->chains), 0);
			out_u64(r, "chains_completed", "completed", env.complete, 0);
			add_chain_fields(r, env.analyze, span_hist_quiet(c->t->opts));
			out_emit(r);
			free(r);
		}
	}
	return rc;
}

static void print_summary(struct ctx *c, enum loop_end how)
{
	uint64_t cnt[NETSEG_CNT_MAX];
	struct out_rec *r = malloc(sizeof(*r));
	struct span_acct a;

	if (!r)
		return;
	tracer_counters(c->t, cnt, NULL, 0);
	span_acct_make(&a, cnt, env.expired, span_in_flight(&c->chains));
	span_acct_ended(&a, cnt[TKI_CNT_TAP_DROPPED]);
	if (env.analyze) {
		/* the final analysis on lines of its own, before the summary */
		out_begin(r, "analysis");
		add_chain_fields(r, true, span_hist_quiet(c->t->opts));
		out_emit(r);
	}
	out_begin(r, "summary");
	out_str(r, "kind", NULL, "TUN TX INTERRUPT TRACING STOPPED - FINAL SUMMARY",
		OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_str(r, "tool", NULL, c->t->tool, OUT_TEXT_HIDE);
	span_acct_fields(r, &a, "chains");
	add_chain_fields(r, false, span_hist_quiet(c->t->opts));
	out_u64(r, "packets_filtered_out", "filtered-out", cnt[TKI_CNT_FILTERED_OUT], 0);
	out_u64(r, "batch_overflow", NULL, cnt[TKI_CNT_BATCH_OVERFLOW],
		cnt[TKI_CNT_BATCH_OVERFLOW] ? 0 : OUT_TEXT_HIDE);
	out_u64(r, "signals_of_other_vm", NULL, cnt[TKI_CNT_OTHER_VM], OUT_TEXT_HIDE);
	span_gate_field(r, &c->chains);
	out_u64(r, "total_events", "Total events collected:", c->t->records, OUT_TEXT_HIDE);
	if (span_hist_quiet(c->t->opts))
		span_hist_summary(r, bpf_map__fd(c->skel->maps.netseg_hist), &env.segs);
	span_segtab_summary(&env.segs, c->t, r, how);
	free(r);
}

/* ---- loading ------------------------------------------------------------- */

static void decide_required(const struct tier_plan *plan)
{
	uint32_t base = 1u << TKI_S_XMIT | 1u << TKI_S_DEQUEUE, kvm = 0;

	if (tier_plan_stage_available(plan, "irqfd"))
		kvm |= 1u << TKI_S_IRQFD;
	if (tier_plan_stage_available(plan, "kvm_inject"))
		kvm |= 1u << TKI_S_INJECT;
	env.req_vhost = base | kvm;
	if (tier_plan_stage_available(plan, "vhost_signal"))
		env.req_vhost |= 1u << TKI_S_VHOST;
	if (tier_plan_stage_available(plan, "eventfd"))
		env.req_vhost |= 1u << TKI_S_EVENTFD;
	env.req_thread = base | kvm;
	if (tier_plan_stage_available(plan, "eventfd_write") && env.eventfd_write_addr)
		env.req_thread |= 1u << TKI_S_EVENTFD;
}

static int configure(struct tracer *t, void *arg)
{
	struct tun_tx_to_kvm_irq_bpf *skel = arg;

	decide_required(&t->plan);
	skel->rodata->netseg_netns_ino = t->ns.ino;
	memcpy((void *)&skel->rodata->tki_ifs, &env.ifs, sizeof(env.ifs));
	memcpy((void *)&skel->rodata->tki_filter, pktfilter_get(), sizeof(struct netseg_pktfilter));
	skel->rodata->tki_queue = env.queue;
	skel->rodata->tki_required_vhost = env.req_vhost;
	skel->rodata->tki_required_thread = env.req_thread;
	skel->rodata->tki_irqfd_wakeup_addr = env.irqfd_wakeup_addr;
	skel->rodata->tki_eventfd_write_addr = env.eventfd_write_addr;
	skel->rodata->netseg_span_timeout_ns = env.timeout_ms * 1000000ull;
	return span_hist_setup(&skel->rodata->netseg_quiet, &skel->rodata->netseg_hist_cfg,
			       &env.segs, t->opts);
}

static void find_symbols(void)
{
	static const char *const names[] = { "irqfd_wakeup", "eventfd_write" };
	uint64_t addrs[2];

	ksyms_addr_of(names, addrs, 2);
	env.irqfd_wakeup_addr = addrs[0];
	env.eventfd_write_addr = addrs[1];
}

/* a chain whose packet the kernel freed in the tap (its reason in
 * netseg_drops_total) */
static const struct tracer_state dropped_state[] = { { "dropped", TKI_CNT_TAP_DROPPED }, { NULL, 0 } };

int main(int argc, char **argv)
{
	static const struct argp_child children[] = { { &pktfilter_argp, 0, NULL, 0 },
						      { &cli_common_argp, 0, NULL, 0 }, {} };
	static const struct argp argp = { opts, parse_arg, NULL, doc, children, NULL, NULL };
	struct tun_tx_to_kvm_irq_bpf *skel = NULL;
	struct cli_common *common = cli_common_get();
	struct ring_buffer *rb = NULL;
	struct out_rec *ready = NULL;
	struct netseg_netns ns;
	char buf[256];
	struct tracer t;
	struct ctx c;
	enum loop_end how;
	int rc;

	cli_set_tool("tun_tx_to_kvm_irq");
	/* -q is --queue here, as in the original; --quiet keeps its long name */
	cli_common_yield_short('q');
	cli_common_init(common);
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return CLI_EXIT_USAGE;
	out_setup(stdout, common->json);
	rc = tracer_netns("tun_tx_to_kvm_irq", common, &ns, env.devices ? resolve_devices : NULL);
	if (rc)
		return rc;
	rc = tracer_begin(&t, "tun_tx_to_kvm_irq", common, &catalog_tun_tx_to_kvm_irq);
	if (rc)
		return rc;
	find_symbols();
	span_segtab_init(&env.segs, segments, sizeof(segments) / sizeof(segments[0]),
			 SPAN_SEG_TEXT_NONE);
	env.segs.n_stages = TKI_N_STAGES;

	rc = 1;
	skel = tun_tx_to_kvm_irq_bpf__open();
	if (!skel) {
		fprintf(stderr, "tun_tx_to_kvm_irq: opening the BPF object failed\n");
		goto cleanup;
	}
	c.t = &t;
	c.skel = skel;
	if (tracer_load_attach_cfg(&t, skel->skeleton, configure, skel, handle_event, &c, &rb))
		goto cleanup;
	if (span_hist_quiet(common))
		tracer_kernel_hist(&t, &env.segs, bpf_map__fd(skel->maps.netseg_hist));
	c.chains = span_map_of(skel->maps.chains, (int64_t *)&skel->bss->netseg_spans_open);
	if (!(env.req_thread & (1u << TKI_S_EVENTFD)) && !tier_plan_stage_available(&t.plan, "vhost_signal"))
		fprintf(stderr, "tun_tx_to_kvm_irq: neither vhost nor a VMM's eventfd write can be "
				"followed here: chains end at the dequeue\n");

	ready = malloc(sizeof(*ready));
	if (!ready)
		goto cleanup;
	t.states = dropped_state;
	tracer_ready_begin(&t, ready);
	out_str(ready, "direction", NULL, "rx", OUT_TEXT_HIDE);
	out_str(ready, "devices", NULL, env.devices ? env.devices : "every tap", 0);
	if (env.queue >= 0)
		out_u64(ready, "queue", NULL, (uint64_t)env.queue, 0);
	pktfilter_fields(ready, pktfilter_get());
	stage_list_json(env.req_vhost, buf, sizeof(buf));
	out_json(ready, "stages_vhost", buf, NULL, OUT_TEXT_HIDE);
	stage_list_json(env.req_thread, buf, sizeof(buf));
	out_json(ready, "stages_thread", buf, NULL, OUT_TEXT_HIDE);
	stage_list_json(~all_stages_hooked() & ((1u << TKI_N_STAGES) - 1), buf, sizeof(buf));
	out_json(ready, "absent", buf, NULL, OUT_TEXT_HIDE);
	stage_list_text(~all_stages_hooked() & ((1u << TKI_N_STAGES) - 1), buf, sizeof(buf));
	if (buf[0])
		out_str(ready, "absent_text", "absent", buf, OUT_JSON_HIDE);
	out_u64(ready, "timeout_ms", NULL, env.timeout_ms, OUT_TEXT_HIDE);
	if (tracer_ready_emit(&t, ready))
		goto cleanup;

	how = tracer_loop(&t, rb, tick, &c, 100);
	tracer_stop(&t, rb);
	/* what is older than the timeout now is partial; the rest in flight */
	span_expire(&c.chains, env.timeout_ms * 1000000ull, on_expired, &c);
	print_summary(&c, how);
	rc = how == LOOP_END_ERROR;

cleanup:
	free(ready);
	tracer_end(&t);
	ring_buffer__free(rb);
	tun_tx_to_kvm_irq_bpf__destroy(skel);
	span_segtab_free(&env.segs);
	drop_reason_names_free();
	return rc;
}
