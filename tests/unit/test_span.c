// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The span mechanism in the running kernel: bpf/netseg_span.bpf.h driven
 * through BPF_PROG_TEST_RUN with chosen orders, times and packets, and the
 * user-space sweep of user/lib/span.c against the same map.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "span.h"
#include "span.skel.h"
#include "lib/span.h"
#include "lib/span_hist.h"

#define TIMEOUT 1000 /* ns: the test's own clock */

struct seen {
	int kind[64];
	struct st_value v[64];
	int n;
};

struct fixture {
	struct span_bpf *skel;
	struct ring_buffer *rb;
	struct seen seen;
	int ncpu;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct seen *s = ctx;
	const struct netseg_rec_hdr *h = data;

	if (size < sizeof(*h) + sizeof(struct st_value) || s->n >= 64)
		return 0;
	s->kind[s->n] = h->kind;
	memcpy(&s->v[s->n], h + 1, sizeof(struct st_value));
	s->n++;
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (geteuid() != 0) {
		free(f);
		skip();
	}
	f->skel = span_bpf__open();
	assert_non_null(f->skel);
	f->skel->rodata->netseg_span_timeout_ns = TIMEOUT;
	assert_int_equal(span_bpf__load(f->skel), 0);
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.events), on_record, &f->seen, NULL);
	assert_non_null(f->rb);
	f->ncpu = libbpf_num_possible_cpus();
	*state = f;
	return 0;
}

/* Quiet mode (--metrics --quiet): the kernel's histograms of these
 * segments instead of records. */
static const struct span_segment quiet_segs[] = {
	{ "first", "first", 0, 1 },
	{ "to3", "to3", SPAN_SEG_PREV, 3 },
	{ "total", "total", 0, SPAN_SEG_LAST },
	{ "back", "back", 2, 1 },             /* stage 2 comes after 1: negative */
};
#define N_QUIET_SEGS (int)(sizeof(quiet_segs) / sizeof(quiet_segs[0]))

static int setup_quiet(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (geteuid() != 0) {
		free(f);
		skip();
	}
	f->skel = span_bpf__open();
	assert_non_null(f->skel);
	f->skel->rodata->netseg_span_timeout_ns = TIMEOUT;
	f->skel->rodata->netseg_quiet = true;
	assert_int_equal(span_hist_cfg_make(&f->skel->rodata->netseg_hist_cfg, quiet_segs,
					    N_QUIET_SEGS), 0);
	assert_int_equal(span_bpf__load(f->skel), 0);
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.events), on_record, &f->seen, NULL);
	assert_non_null(f->rb);
	f->ncpu = libbpf_num_possible_cpus();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f) {
		ring_buffer__free(f->rb);
		span_bpf__destroy(f->skel);
		free(f);
	}
	return 0;
}

static void drive(struct fixture *f, int op, uint32_t key, int stage, uint64_t now, uint64_t skb)
{
	uint64_t args[5] = { op, key, stage, now, skb };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(f->skel->progs.span_drive), &opts), 0);
	assert_int_equal(opts.retval, 0);
}

static uint64_t counter(struct fixture *f, uint32_t k)
{
	uint64_t vals[512] = {}, sum = 0;

	assert_true(f->ncpu <= 512);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.netseg_counters), &k, vals), 0);
	for (int i = 0; i < f->ncpu; i++)
		sum += vals[i];
	return sum;
}

static void collect(struct fixture *f)
{
	f->seen.n = 0;
	ring_buffer__consume(f->rb);
}

static struct span_map map_of(struct fixture *f)
{
	struct span_map m = { bpf_map__fd(f->skel->maps.spans), sizeof(uint32_t),
			      sizeof(struct st_value), (int64_t *)&f->skel->bss->netseg_spans_open };
	return m;
}

static void completes_in_any_order(void **state)
{
	struct fixture *f = *state;

	/* the "last" stage first, then the others backwards */
	drive(f, ST_OP_START, 7, 0, 1000, 0xa);
	drive(f, ST_OP_STAMP, 7, 3, 1400, 0xb);
	drive(f, ST_OP_STAMP, 7, 2, 1300, 0xb);
	collect(f);
	assert_int_equal(f->seen.n, 0);
	drive(f, ST_OP_STAMP, 7, 1, 1100, 0xa);
	collect(f);
	assert_int_equal(f->seen.n, 1);
	assert_int_equal(f->seen.kind[0], NETSEG_SPAN_EV_COMPLETE);
	assert_int_equal(f->seen.v[0].key, 7);
	assert_int_equal(f->seen.v[0].st[0].ts_ns, 1000);
	assert_int_equal(f->seen.v[0].st[1].ts_ns, 1100);
	assert_int_equal(f->seen.v[0].st[2].ts_ns, 1300);
	assert_int_equal(f->seen.v[0].st[3].ts_ns, 1400);
	assert_int_equal(counter(f, NETSEG_CNT_SPAN_COMPLETED), 1);
	struct span_map m = map_of(f);
	assert_int_equal(span_in_flight(&m), 0);
	/* a stamp after completion belongs to nothing */
	drive(f, ST_OP_STAMP, 7, 2, 1500, 0xb);
	assert_int_equal(counter(f, NETSEG_CNT_SPAN_ORPHAN), 1);
}

static void same_packet_again_is_not_a_new_span(void **state)
{
	struct fixture *f = *state;

	drive(f, ST_OP_START, 1, 0, 1000, 0xa);
	drive(f, ST_OP_START, 1, 0, 1010, 0xa); /* another hook of the start family */
	collect(f);
	assert_int_equal(f->seen.n, 0);
	assert_int_equal(counter(f, NETSEG_CNT_SPAN_DUPLICATE), 1);
	assert_int_equal(counter(f, NETSEG_CNT_SPAN_STARTED), 1);
	for (int s = 1; s < ST_STAGES; s++)
		drive(f, ST_OP_STAMP, 1, s, 1100 + s, 0xa);
	collect(f);
	assert_int_equal(f->seen.n, 1);
	assert_int_equal(f->seen.v[0].st[0].ts_ns, 1000); /* first hook wins */
}

static void new_packet_with_the_same_key_replaces_never_merges(void **state)
{
	struct fixture *f = *state;

	/* a request whose reply was lost: stages 0 and 1 only */
	drive(f, ST_OP_START, 2, 0, 1000, 0xa);
	drive(f, ST_OP_STAMP, 2, 1, 1100, 0xa);
	/* the same key again, soon (ping -e ID), then its whole echo */
	drive(f, ST_OP_START, 2, 0, 1500, 0xc);
	collect(f);
	assert_int_equal(f->seen.n, 1);
	assert_int_equal(f->seen.kind[0], NETSEG_SPAN_EV_REPLACED);
	assert_int_equal(f->seen.v[0].st[0].ts_ns, 1000);
	assert_int_equal(f->seen.v[0].st[2].ts_ns, 0);
	for (int s = 1; s < ST_STAGES; s++)
		drive(f, ST_OP_STAMP, 2, s, 1500 + 10 * s, 0xc);
	collect(f);
	assert_int_equal(f->seen.n, 1);
	assert_int_equal(f->seen.kind[0], NETSEG_SPAN_EV_COMPLETE);
	/* its own times: 30 ns, not 530 */
	assert_int_equal(f->seen.v[0].st[3].ts_ns - f->seen.v[0].st[0].ts_ns, 30);
	assert_int_equal(counter(f, NETSEG_CNT_SPAN_REPLACED), 1);
}

static void stale_span_is_replaced_even_by_the_same_packet_address(void **state)
{
	struct fixture *f = *state;

	/* the allocator hands the new request the old one's skb address */
	drive(f, ST_OP_START, 3, 0, 1000, 0xa);
	drive(f, ST_OP_START, 3, 0, 1000 + TIMEOUT + 1, 0xa);
	collect(f);
	assert_int_equal(f->seen.n, 1);
	assert_int_equal(f->seen.kind[0], NETSEG_SPAN_EV_REPLACED);
	assert_int_equal(f->seen.v[0].span.start_ns, 1000);
}

struct expired {
	uint32_t keys[64];
	int n;
};

static void on_expired(void *ctx, const void *key, const void *value)
{
	struct expired *e = ctx;
	const struct st_value *v = value;

	assert_int_equal(*(const uint32_t *)key, v->key);
	if (e->n < 64)
		e->keys[e->n++] = v->key;
}

static void sweep_expires_each_old_span_once_and_spares_new_ones(void **state)
{
	struct fixture *f = *state;
	struct span_map m = map_of(f);
	struct expired ex = {};

	drive(f, ST_OP_START, 10, 0, 1000, 0xa);    /* old */
	drive(f, ST_OP_STAMP, 10, 1, 1100, 0xa);
	drive(f, ST_OP_START, 11, 0, 2500, 0xb);    /* young at now=3000 */
	drive(f, ST_OP_START, 12, 0, 3100, 0xc);    /* started after the sweep read now */
	assert_int_equal(span_sweep(&m, 3000, TIMEOUT, on_expired, &ex), 1);
	assert_int_equal(ex.n, 1);
	assert_int_equal(ex.keys[0], 10);
	/* a second sweep at the same time finds nothing more */
	assert_int_equal(span_sweep(&m, 3000, TIMEOUT, on_expired, &ex), 0);
	assert_int_equal(span_in_flight(&m), 2);
	/* the expired span's late stage is an orphan, never a completion */
	drive(f, ST_OP_STAMP, 10, 2, 3200, 0xa);
	assert_int_equal(counter(f, NETSEG_CNT_SPAN_ORPHAN), 1);
	collect(f);
	assert_int_equal(f->seen.n, 0);
}

static void replaced_span_is_not_also_expired(void **state)
{
	struct fixture *f = *state;
	struct span_map m = map_of(f);
	struct expired ex = {};

	drive(f, ST_OP_START, 20, 0, 1000, 0xa);
	drive(f, ST_OP_START, 20, 0, 5000, 0xb);    /* replaces the stale one */
	/* the sweep sees only the new one, which is young */
	assert_int_equal(span_sweep(&m, 5500, TIMEOUT, on_expired, &ex), 0);
	collect(f);
	assert_int_equal(f->seen.n, 1);
	assert_int_equal(f->seen.kind[0], NETSEG_SPAN_EV_REPLACED);
}

/* The later stages' gate counts exactly the spans open: up at each start,
 * down at each end, whoever ends it (completion, replacement, the sweep). */
static void gate_counts_the_open_spans(void **state)
{
	struct fixture *f = *state;
	struct span_map m = map_of(f);
	struct expired ex = {};

	assert_int_equal(*m.open, 0);
	drive(f, ST_OP_START, 50, 0, 1000, 0xa);
	drive(f, ST_OP_START, 51, 0, 1000, 0xb);
	drive(f, ST_OP_START, 51, 0, 1000, 0xb);    /* the same packet again: no new span */
	assert_int_equal(*m.open, 2);
	for (int s = 1; s < ST_STAGES; s++)
		drive(f, ST_OP_STAMP, 50, s, 1000 + s, 0xa);
	assert_int_equal(*m.open, 1);               /* 50 completed */
	drive(f, ST_OP_START, 51, 0, 1100, 0xc);    /* replaces 51 */
	assert_int_equal(*m.open, 1);
	assert_int_equal(span_sweep(&m, 1100 + TIMEOUT + 1, TIMEOUT, on_expired, &ex), 1);
	assert_int_equal(*m.open, 0);
	assert_int_equal(span_in_flight(&m), 0);
	/* a stamp with nothing open changes nothing */
	drive(f, ST_OP_STAMP, 51, 1, 9000, 0xc);
	assert_int_equal(*m.open, 0);
}

static void accounting_adds_up(void **state)
{
	struct fixture *f = *state;
	struct span_map m = map_of(f);
	struct expired ex = {};
	uint64_t cnt[NETSEG_CNT_MAX] = {};
	struct span_acct a;

	drive(f, ST_OP_START, 30, 0, 1000, 0xa);    /* completes */
	for (int s = 1; s < ST_STAGES; s++)
		drive(f, ST_OP_STAMP, 30, s, 1000 + s, 0xa);
	drive(f, ST_OP_START, 31, 0, 1000, 0xb);    /* replaced */
	drive(f, ST_OP_START, 31, 0, 1100, 0xc);    /* then in flight */
	drive(f, ST_OP_START, 32, 0, 1000, 0xd);    /* expires */
	assert_int_equal(span_sweep(&m, 2050, TIMEOUT, on_expired, &ex), 1);
	for (uint32_t k = 0; k < NETSEG_CNT_MAX; k++)
		cnt[k] = counter(f, k);
	span_acct_make(&a, cnt, ex.n, span_in_flight(&m));
	assert_int_equal(a.started, 4);
	assert_int_equal(a.completed, 1);
	assert_int_equal(a.replaced, 1);
	assert_int_equal(a.expired, 1);
	assert_int_equal(a.in_flight, 1);
	assert_int_equal(a.evicted, 0);
}

static uint64_t hist_count(struct fixture *f, int seg, uint64_t *counts, uint64_t *sum)
{
	uint64_t n = 0;

	assert_int_equal(span_hist_read(bpf_map__fd(f->skel->maps.netseg_hist), seg, counts, sum), 0);
	for (int b = 0; b < NETSEG_HIST_BUCKETS; b++)
		n += counts[b];
	return n;
}

static void quiet_complete_span_goes_to_histograms_not_ring(void **state)
{
	struct fixture *f = *state;
	uint64_t counts[NETSEG_HIST_BUCKETS], sum, neg;
	struct span_map m = map_of(f);

	/* stage 2 never stamped: "to3" measures from stage 1 (PREV) */
	drive(f, ST_OP_START, 40, 0, 1000000, 0xa);
	drive(f, ST_OP_STAMP, 40, 1, 1000000 + 1500, 0xa);        /* first: 1500 ns */
	drive(f, ST_OP_STAMP, 40, 3, 1000000 + 1500 + 3000, 0xa); /* to3: 3000 ns */
	collect(f);
	/* ST_REQUIRED wants stage 2 too: not complete yet */
	assert_int_equal(counter(f, NETSEG_CNT_SPAN_COMPLETED), 0);
	drive(f, ST_OP_STAMP, 40, 2, 1000000 + 1500 + 1000, 0xa);
	collect(f);
	assert_int_equal(f->seen.n, 0);
	assert_int_equal(counter(f, NETSEG_CNT_SPAN_COMPLETED), 1);
	assert_int_equal(span_in_flight(&m), 0);
	assert_int_equal(*m.open, 0);

	assert_int_equal(hist_count(f, 0, counts, &sum), 1);
	assert_int_equal(counts[netseg_hist_bucket(1500)], 1);
	assert_int_equal(sum, 1500);
	/* with stage 2 stamped now, PREV of 3 is 2: 2000 ns */
	assert_int_equal(hist_count(f, 1, counts, &sum), 1);
	assert_int_equal(counts[netseg_hist_bucket(2000)], 1);
	assert_int_equal(sum, 2000);
	assert_int_equal(hist_count(f, 2, counts, &sum), 1);
	assert_int_equal(sum, 4500);
	/* stage 1 before stage 2: counted as 0, and apart */
	assert_int_equal(hist_count(f, 3, counts, &sum), 1);
	assert_int_equal(counts[0], 1);
	assert_int_equal(sum, 0);
	assert_int_equal(span_hist_negative(bpf_map__fd(f->skel->maps.netseg_hist), 3, &neg), 0);
	assert_int_equal(neg, 1);
	assert_int_equal(span_hist_negative(bpf_map__fd(f->skel->maps.netseg_hist), 0, &neg), 0);
	assert_int_equal(neg, 0);
	/* segments past the table's stay empty */
	assert_int_equal(hist_count(f, N_QUIET_SEGS, counts, &sum), 0);

	/* a late stamp of the finished span is an orphan and adds nothing */
	drive(f, ST_OP_STAMP, 40, 2, 1000000 + 9000, 0xa);
	assert_int_equal(counter(f, NETSEG_CNT_SPAN_ORPHAN), 1);
	assert_int_equal(hist_count(f, 2, counts, &sum), 1);
}

static void quiet_histograms_add_up_and_bound_the_tail(void **state)
{
	struct fixture *f = *state;
	uint64_t counts[NETSEG_HIST_BUCKETS], sum, want = 0;

	for (uint32_t k = 0; k < 20; k++) {
		uint64_t t0 = 1000000 + k * 100000, total = k < 19 ? 1000 * (k + 1) : 1ull << 35;

		want += total;
		drive(f, ST_OP_START, 100 + k, 0, t0, 0x100 + k);
		drive(f, ST_OP_STAMP, 100 + k, 1, t0 + 1, 0x100 + k);
		drive(f, ST_OP_STAMP, 100 + k, 2, t0 + 2, 0x100 + k);
		drive(f, ST_OP_STAMP, 100 + k, 3, t0 + total, 0x100 + k);
	}
	collect(f);
	assert_int_equal(f->seen.n, 0);
	assert_int_equal(hist_count(f, 2, counts, &sum), 20);
	assert_int_equal(sum, want);
	assert_int_equal(counts[0], 1);             /* 1000 ns */
	assert_int_equal(counts[NETSEG_HIST_BUCKETS - 1], 1); /* 2^35 ns: past 2^34 */
	/* [16384, 24576): 17000, 18000 and 19000 */
	assert_int_equal(counts[netseg_hist_bucket(19000)], 3);
}

static void quiet_replaced_span_is_counted_without_record(void **state)
{
	struct fixture *f = *state;
	uint64_t counts[NETSEG_HIST_BUCKETS], sum;

	drive(f, ST_OP_START, 50, 0, 1000, 0xa);
	drive(f, ST_OP_STAMP, 50, 1, 1100, 0xa);
	drive(f, ST_OP_START, 50, 0, 1500, 0xc);
	collect(f);
	assert_int_equal(f->seen.n, 0);
	assert_int_equal(counter(f, NETSEG_CNT_SPAN_REPLACED), 1);
	/* the incomplete one is in no histogram; the new one is in flight */
	assert_int_equal(hist_count(f, 0, counts, &sum), 0);
	struct span_map m = map_of(f);
	assert_int_equal(span_in_flight(&m), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(completes_in_any_order, setup, teardown),
		cmocka_unit_test_setup_teardown(same_packet_again_is_not_a_new_span, setup, teardown),
		cmocka_unit_test_setup_teardown(new_packet_with_the_same_key_replaces_never_merges,
						setup, teardown),
		cmocka_unit_test_setup_teardown(stale_span_is_replaced_even_by_the_same_packet_address,
						setup, teardown),
		cmocka_unit_test_setup_teardown(sweep_expires_each_old_span_once_and_spares_new_ones,
						setup, teardown),
		cmocka_unit_test_setup_teardown(replaced_span_is_not_also_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(gate_counts_the_open_spans, setup, teardown),
		cmocka_unit_test_setup_teardown(accounting_adds_up, setup, teardown),
		cmocka_unit_test_setup_teardown(quiet_complete_span_goes_to_histograms_not_ring,
						setup_quiet, teardown),
		cmocka_unit_test_setup_teardown(quiet_histograms_add_up_and_bound_the_tail,
						setup_quiet, teardown),
		cmocka_unit_test_setup_teardown(quiet_replaced_span_is_counted_without_record,
						setup_quiet, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
