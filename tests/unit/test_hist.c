// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The kernel's histogram arithmetic (bpf/netseg_hist.h), compiled here as
 * plain C: the bucket of a value, each bucket's bound, and segments taken
 * from a span's stamps exactly as user space's span_segtab_add takes them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "netseg_hist.h"
#include "lib/span.h"
#include "lib/span_hist.h"

#define LAST_BUCKET (NETSEG_HIST_BUCKETS - 1)

static void bucket_edges(void **state)
{
	static const struct {
		uint64_t ns;
		unsigned bucket;
	} cases[] = {
		{ 0, 0 },
		{ 1, 0 },
		{ 1023, 0 },
		{ 1024, 1 },                  /* [1024, 1536) */
		{ 1535, 1 },
		{ 1536, 2 },                  /* [1536, 2048) */
		{ 2047, 2 },
		{ 2048, 3 },
		{ 3071, 3 },
		{ 3072, 4 },
		{ 1000000, 1 + 2 * (19 - 10) + 1 },   /* 1 ms: 2^19 * 1.907 */
		{ (1ull << 33) - 1, 1 + 2 * 22 + 1 },
		{ 1ull << 33, 1 + 2 * 23 },           /* l = 33, lower half */
		{ (1ull << 33) + (1ull << 32) - 1, 1 + 2 * 23 },
		{ (1ull << 33) + (1ull << 32), 1 + 2 * 23 + 1 },
		{ (1ull << 34) - 1, 1 + 2 * 23 + 1 },   /* the last bounded bucket */
		{ 1ull << 34, LAST_BUCKET },
		{ 1ull << 63, LAST_BUCKET },
		{ UINT64_MAX, LAST_BUCKET },
	};

	(void)state;
	assert_int_equal(NETSEG_HIST_BUCKETS, 50);
	assert_int_equal(1 + 2 * 23 + 1, LAST_BUCKET - 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (netseg_hist_bucket(cases[i].ns) != cases[i].bucket)
			fail_msg("%llu ns: bucket %u, want %u", (unsigned long long)cases[i].ns,
				 netseg_hist_bucket(cases[i].ns), cases[i].bucket);
	}
}

static void log2_of_each_power(void **state)
{
	(void)state;
	for (unsigned l = 0; l < 64; l++) {
		uint64_t p = 1ull << l;

		assert_int_equal(netseg_hist_log2(p), l);
		assert_int_equal(netseg_hist_log2(p | (p - 1)), l);
		if (l)
			assert_int_equal(netseg_hist_log2(p - 1), l - 1);
	}
}

/* Every bucket holds exactly [previous bound, its bound): checked at both
 * ends of each, so the mapping and the bounds user space exports agree. */
static void buckets_tile_their_bounds(void **state)
{
	uint64_t lo = 0;

	(void)state;
	for (unsigned b = 0; b < LAST_BUCKET; b++) {
		uint64_t hi = netseg_hist_upper_ns(b);

		assert_true(hi > lo);
		assert_int_equal(netseg_hist_bucket(lo), b);
		assert_int_equal(netseg_hist_bucket(hi - 1), b);
		assert_int_equal(netseg_hist_bucket(hi), b + 1);
		lo = hi;
	}
	assert_int_equal(lo, 1ull << 34);
	assert_int_equal(netseg_hist_upper_ns(LAST_BUCKET), 0);
	assert_int_equal(netseg_hist_upper_ns(0), 1024);
	assert_int_equal(netseg_hist_upper_ns(1), 1536);
	assert_int_equal(netseg_hist_upper_ns(2), 2048);
}

/* The tools' tables and some odd ones, PREV and LAST included. */
static const struct span_segment defs[] = {
	{ "a", "a", 0, 1 },
	{ "b", "b", 1, 3 },
	{ "c", "c", 3, 1 },                   /* `to` before `from` in the table */
	{ "d", "d", 0, 5 },
	{ "e", "e", SPAN_SEG_PREV, 1 },
	{ "f", "f", SPAN_SEG_PREV, 2 },
	{ "g", "g", SPAN_SEG_PREV, 5 },
	{ "h", "h", 0, SPAN_SEG_LAST },
	{ "i", "i", 2, SPAN_SEG_LAST },
	{ "j", "j", 5, SPAN_SEG_LAST },
	{ "k", "k", SPAN_SEG_PREV, SPAN_SEG_LAST },
	{ "l", "l", 0, 0 },
	{ "m", "m", SPAN_SEG_PREV, 0 },
};

/*
 * For every set of stamped stages of a 6-stage span, with times in order
 * and out of order: the kernel's segment (netseg_hist_seg_ns) is present
 * exactly when span_segtab_add counts one, with the same value, and is
 * negative exactly when span_segtab_add counts it negative (as 0).
 */
static void segments_match_span_segtab_add(void **state)
{
	const int n_stages = 6;
	unsigned checked = 0;

	(void)state;
	for (int order = 0; order < 3; order++) {
		for (unsigned mask = 0; mask < (1u << n_stages); mask++) {
			struct netseg_stamp st[NETSEG_SPAN_MAX_STAGES] = {};
			struct netseg_hist_span hs = {};

			for (int i = 0; i < n_stages; i++) {
				/* ascending; descending; a scramble with ties */
				uint64_t t = order == 0 ? 1000 + 100 * i :
					     order == 1 ? 5000 - 300 * i : 2000 + 700 * ((i * 5) % 4);

				if (mask & (1u << i))
					st[i].ts_ns = hs.ts[i] = t;
			}
			netseg_hist_span_prepare(&hs);
			for (size_t d = 0; d < sizeof(defs) / sizeof(defs[0]); d++) {
				struct span_segtab t;
				__s64 ns = 0;
				int have;

				span_segtab_init(&t, &defs[d], 1, SPAN_SEG_TEXT_NONE);
				t.n_stages = n_stages;
				span_segtab_add(&t, st, NULL);
				have = netseg_hist_seg_ns(&hs, defs[d].from, defs[d].to, &ns);
				if (have != (t.st[0].count == 1))
					fail_msg("mask %#x order %d segment %s: kernel %s, user space %s",
						 mask, order, defs[d].key, have ? "has it" : "not",
						 t.st[0].count ? "has it" : "not");
				if (have) {
					assert_int_equal(ns < 0, t.negative[0]);
					assert_int_equal(ns < 0 ? 0 : (uint64_t)ns, t.st[0].min);
				}
				span_segtab_free(&t);
				checked++;
			}
		}
	}
	assert_int_equal(checked, 3 * 64 * sizeof(defs) / sizeof(defs[0]));
}

static void cfg_from_a_segment_table(void **state)
{
	struct netseg_hist_cfg cfg;
	struct span_segment many[NETSEG_HIST_MAX_SEGS + 1];
	const struct span_segment bad[] = { { "x", "x", 0, NETSEG_SPAN_MAX_STAGES } };

	(void)state;
	assert_int_equal(span_hist_cfg_make(&cfg, &defs[3], NETSEG_HIST_MAX_SEGS), 0);
	assert_int_equal(cfg.n, NETSEG_HIST_MAX_SEGS);
	for (size_t i = 0; i < NETSEG_HIST_MAX_SEGS + 1; i++)
		many[i] = defs[0];
	assert_int_equal(span_hist_cfg_make(&cfg, many, NETSEG_HIST_MAX_SEGS + 1), -E2BIG);
	assert_int_equal(span_hist_cfg_make(&cfg, bad, 1), -EINVAL);
	assert_int_equal(span_hist_cfg_make(&cfg, &defs[4], 4), 0);
	assert_int_equal(cfg.n, 4);
	assert_int_equal(cfg.seg[0].from, NETSEG_HIST_PREV);
	assert_int_equal(cfg.seg[0].to, 1);
	assert_int_equal(cfg.seg[3].from, 0);
	assert_int_equal(cfg.seg[3].to, NETSEG_HIST_LAST);
}

static void quiet_needs_metrics(void **state)
{
	struct cli_common o;

	(void)state;
	cli_common_init(&o);
	assert_false(span_hist_quiet(&o));
	o.quiet = true;
	assert_false(span_hist_quiet(&o));
	o.metrics = "127.0.0.1:9100";
	assert_true(span_hist_quiet(&o));
	o.quiet = false;
	assert_false(span_hist_quiet(&o));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bucket_edges),
		cmocka_unit_test(log2_of_each_power),
		cmocka_unit_test(buckets_tile_their_bounds),
		cmocka_unit_test(segments_match_span_segtab_add),
		cmocka_unit_test(cfg_from_a_segment_table),
		cmocka_unit_test(quiet_needs_metrics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
