// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * status_ts in the client role, linked into a program that makes the
 * requests itself (ippantime probe). Nothing is printed: the program asks
 * for the stamps of each request it finished.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "status_ts.h"
#include "status_ts.skel.h"
#include "status_ts_client.h"
#include "lib/catalog.h"
#include "lib/clock.h"
#include "lib/privs.h"
#include "lib/tier.h"

/* Ephemeral ports name a client's connections; a port reused for a new
 * connection before the old exchange was taken overwrites the older slot. */
#define STS_SLOTS_PER_PORT 2

struct slot {
	struct sts_conn4 conn;
	struct sts_client_times t;
	bool used;
};

struct sts_client {
	struct status_ts_bpf *skel;
	struct tier_plan plan;
	struct ring_buffer *rb;
	struct netseg_clock clock;
	FILE *notes;
	char tiers[256];
	struct slot (*slots)[STS_SLOTS_PER_PORT]; /* indexed by local port */
};

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level, (void)fmt, (void)args;
	return 0;
}

static int keep(void *ctx, void *data, size_t size)
{
	struct sts_client *c = ctx;
	const struct sts_event *ev = data;
	const struct sts_exch *x = &ev->x;
	struct slot *s, *pick;

	if (size < sizeof(*ev) || ev->h.kind != NETSEG_SPAN_EV_COMPLETE)
		return 0;
	s = c->slots[x->lport];
	pick = !s[0].used ? &s[0] : !s[1].used ? &s[1]
		: s[0].t.tx_wall_ns <= s[1].t.tx_wall_ns ? &s[0] : &s[1];
	pick->conn = (struct sts_conn4){ x->laddr, x->raddr, x->lport, x->rport };
	pick->t.tx_wall_ns = clock_mono_to_wall(&c->clock, x->st[STS_TX].ts_ns);
	pick->t.rx_wall_ns = clock_mono_to_wall(&c->clock, x->st[STS_RX].ts_ns);
	pick->t.wire_wall_ns = x->st[STS_WIRE].ts_ns
		? clock_mono_to_wall(&c->clock, x->st[STS_WIRE].ts_ns) : 0;
	pick->used = true;
	return 0;
}

void sts_plan_settle(struct tier_plan *plan)
{
	static const char *const at_start[] = { "sts_tx_fe", "sts_tx_kp", "sts_txl_btf",
						"sts_txl_raw" };
	bool early = false;

	for (size_t i = 0; i < sizeof(at_start) / sizeof(at_start[0]); i++)
		early |= tier_plan_prog_chosen(plan, at_start[i]);
	if (!early)
		tier_plan_drop_stage(plan, "wire");
}

static int configure(void *arg)
{
	struct sts_client *c = arg;
	struct status_ts_bpf *skel = c->skel;

	sts_plan_settle(&c->plan);
	skel->rodata->sts_role = STS_ROLE_CLIENT;
	skel->rodata->sts_tgid = (uint32_t)getpid();
	skel->rodata->sts_has_wire = tier_plan_stage_available(&c->plan, "wire");
	/* a probe keeps at most one request per node in flight */
	bpf_map__set_max_entries(skel->maps.exchanges, 4096);
	return 0;
}

int sts_client_open(struct sts_client **out, char *err, size_t errlen)
{
	struct tier_load_ops ops = { .tool = "status_ts", .configure = configure };
	struct sts_client *c;

	*out = NULL;
	if (!privs_can_trace()) {
		snprintf(err, errlen, "needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)");
		return -1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(err, errlen, "this kernel exposes no BTF (/sys/kernel/btf/vmlinux)");
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->slots = calloc(65536, sizeof(*c->slots)))) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return -1;
	}
	libbpf_set_print(quiet_print);
	/* which stage lost a program is for status_ts's own output, not a probe's */
	c->notes = fopen("/dev/null", "we");
	ops.notes = c->notes;
	ops.arg = c;
	if (tier_plan_make(&catalog_status_ts, TIER_FORCE_AUTO, &c->plan, err, errlen))
		goto fail;
	c->skel = status_ts_bpf__open();
	if (!c->skel) {
		snprintf(err, errlen, "opening the BPF object failed: %s", strerror(errno));
		goto fail;
	}
	if (tier_plan_load_attach(&c->plan, c->skel->skeleton, &ops, err, errlen))
		goto fail;
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), keep, c, NULL);
	if (!c->rb) {
		snprintf(err, errlen, "creating the ring buffer failed");
		goto fail;
	}
	clock_measure(&c->clock);
	tier_plan_format(&c->plan, c->tiers, sizeof(c->tiers));
	tier_probe_release();
	*out = c;
	return 0;
fail:
	sts_client_close(c);
	return -1;
}

const char *sts_client_tiers(const struct sts_client *c)
{
	return c->tiers;
}

int sts_client_take(struct sts_client *c, const struct sts_conn4 *conn, uint64_t from_wall_ns,
		    uint64_t to_wall_ns, struct sts_client_times *out)
{
	struct slot *s = c->slots[conn->lport];

	/* NTP slews the wall clock: keep the conversion fresh */
	clock_refresh(&c->clock, 1000000000ull);
	ring_buffer__consume(c->rb);
	for (int i = 0; i < STS_SLOTS_PER_PORT; i++) {
		if (!s[i].used || s[i].conn.rport != conn->rport || s[i].conn.raddr != conn->raddr ||
		    (conn->laddr && s[i].conn.laddr != conn->laddr))
			continue;
		if (s[i].t.tx_wall_ns < from_wall_ns || s[i].t.tx_wall_ns > to_wall_ns)
			continue;
		*out = s[i].t;
		s[i].used = false;
		return 0;
	}
	return -1;
}

uint64_t sts_client_lost(struct sts_client *c)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(c->skel->maps.netseg_counters);
	uint64_t sum = 0, *v;
	uint32_t keys[] = { NETSEG_CNT_RB_LOST, NETSEG_CNT_MAP_FULL };

	if (ncpu <= 0 || !(v = calloc((size_t)ncpu, sizeof(*v))))
		return 0;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (!bpf_map_lookup_elem(fd, &keys[k], v))
			for (int i = 0; i < ncpu; i++)
				sum += v[i];
	free(v);
	return sum;
}

void sts_client_close(struct sts_client *c)
{
	if (!c)
		return;
	ring_buffer__free(c->rb);
	tier_plan_detach(&c->plan);
	status_ts_bpf__destroy(c->skel);
	if (c->notes)
		fclose(c->notes);
	free(c->slots);
	free(c);
}
