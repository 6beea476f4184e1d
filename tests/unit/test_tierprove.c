// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tier probe proves hooks; these tests prove that a program of ours the
 * running kernel rejects at a hook it offers does not stop the tracer: the
 * next alternative or tier is used, an optional stage is turned off with
 * one line, a required one fails naming the program. Real loads: root.
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
#include <bpf/libbpf.h>
#include "lib/tracer.h"
#include "tierprove.skel.h"

#define BTF NETSEG_TIER_TP_BTF
#define RAW NETSEG_TIER_RAW_TP

#define RECV_OK { BTF, "netif_receive_skb", "tp_recv_ok" }
#define RECV_CTX3 { BTF, "netif_receive_skb", "tp_recv_ctx3" }
#define RRAW_OK { RAW, "netif_receive_skb", "tp_rraw_ok" }
#define RRAW_CTX3 { RAW, "netif_receive_skb", "tp_rraw_ctx3" }
#define XMIT_CTX6 { BTF, "net_dev_xmit", "tp_xmit_ctx6" }
#define CFG_OK { BTF, "net_dev_start_xmit", "tp_cfg_ok" }

/* One tracer under test: its skeleton, what it printed on stderr. */
struct run {
	struct tier_tool tool;
	struct cli_common opts;
	struct tracer t;
	struct tierprove_bpf *skel;
	struct ring_buffer *rb;
	int rc;
	char err_text[4096];
	int configured;              /* configure() calls */
	bool unsized;                /* leave `sized` at 0 entries: no object */
	enum tier_force force;       /* --tier */
};

static int on_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

/* Like a tracer without -v: libbpf's warnings only. */
static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

/* What a tool does between open and load. */
static void write_settings(struct tierprove_bpf *skel)
{
	skel->rodata->tp_cfg_safe = 1;
	bpf_map__set_max_entries(skel->maps.sized, 4);
}

static int configure(struct tracer *t, void *arg)
{
	struct run *r = arg;

	r->configured++;
	write_settings(r->skel);
	r->skel->rodata->tp_has_opt = tier_plan_stage_available(&t->plan, "opt");
	return 0;
}

/* stderr into err_text while `fn` runs the load. */
static void capture_stderr(struct run *r, int (*fn)(struct run *))
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	r->rc = fn(r);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(r->err_text, 1, sizeof(r->err_text) - 1, tmp);
	r->err_text[n] = 0;
	fclose(tmp);
}

static int load_plain(struct run *r)
{
	if (!r->unsized)
		write_settings(r->skel);
	return tracer_load_attach(&r->t, r->skel->skeleton, r->skel->obj, on_record, NULL, &r->rb);
}

static int load_cfg(struct run *r)
{
	return tracer_load_attach_cfg(&r->t, r->skel->skeleton, configure, r, on_record, NULL,
				      &r->rb);
}

/* Plan the stages and load the object through the tracer as a tool does. */
static void start(struct run *r, const struct tier_stage *stages, int n, bool with_cfg)
{
	bool unsized = r->unsized;
	enum tier_force force = r->force;
	char err[512];

	memset(r, 0, sizeof(*r));
	r->unsized = unsized;
	r->force = force;
	r->tool = (struct tier_tool){ "tproof", false, stages, n };
	r->t.tool = "tproof";
	r->t.opts = &r->opts;
	r->t.counters_fd = -1;
	libbpf_set_print(quiet_print);
	assert_int_equal(tier_plan_make(&r->tool, r->force, &r->t.plan, err, sizeof(err)), 0);
	r->skel = tierprove_bpf__open();
	assert_non_null(r->skel);
	capture_stderr(r, with_cfg ? load_cfg : load_plain);
}

static void finish(struct run *r)
{
	if (getenv("TIERPROVE_SHOW"))
		fprintf(stderr, "--- stderr of the load:\n%s", r->err_text);
	tracer_end(&r->t);
	ring_buffer__free(r->rb);
	tierprove_bpf__destroy(r->skel);
}

static int stage_index(const struct run *r, const char *name)
{
	for (int s = 0; s < r->tool.n_stages; s++)
		if (!strcmp(r->tool.stages[s].name, name))
			return s;
	fail_msg("no stage %s", name);
	return -1;
}

/* The program a stage attached, as the ready record names it. */
static void assert_uses(const struct run *r, const char *stage, enum netseg_tier tier,
			const char *prog)
{
	int s = stage_index(r, stage);
	const struct tier_stage *st = &r->tool.stages[s];
	const struct tier_choice *c = &r->t.plan.stage[s];
	char json[4096], want[256];
	int used = 0;

	assert_int_equal(c->tier, tier);
	for (int i = 0; i < TIER_MAX_HOOKS && st->hooks[i].tier; i++) {
		bool is = !strcmp(st->hooks[i].prog, prog);

		assert_int_equal(c->hook_ok[i], is);
		assert_int_equal(c->links[i] != NULL, is);
		used += is;
	}
	assert_int_equal(used, 1);
	tracer_tiers_json(&r->t.plan, json, sizeof(json));
	snprintf(want, sizeof(want), "\"%s\":{\"tier\":\"%s\",\"hooks\":[{\"target\":\"%s\",\"prog\":\"%s\"}]}",
		 stage, tier_name(tier), "netif_receive_skb", prog);
	if (!strcmp(stage, "recv"))
		assert_non_null(strstr(json, want));
}

static int lines_in(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void need_root(void)
{
	if (geteuid() != 0)
		skip();
}

static void rejected_first_alternative_gives_way_to_the_second(void **state)
{
	static const struct tier_stage stages[] = {
		{ "recv", "received", false, { RECV_CTX3, RECV_OK } },
	};
	struct run r = { 0 };

	(void)state;
	need_root();
	start(&r, stages, 1, false);
	assert_int_equal(r.rc, 0);
	assert_uses(&r, "recv", BTF, "tp_recv_ok");
	assert_non_null(strstr(r.err_text, "tproof: stage recv: program tp_recv_ctx3 rejected by this kernel ("));
	assert_non_null(strstr(r.err_text, "); using tp_btf tp_recv_ok\n"));
	assert_int_equal(lines_in(r.err_text), 1);
	finish(&r);
}

static void raw_tp_alternative_refused_at_attach_gives_way(void **state)
{
	static const struct tier_stage stages[] = {
		{ "recv", "received", false, { RRAW_CTX3, RRAW_OK } },
	};
	struct run r = { 0 };

	(void)state;
	need_root();
	start(&r, stages, 1, false);
	assert_int_equal(r.rc, 0);
	assert_uses(&r, "recv", RAW, "tp_rraw_ok");
	assert_non_null(strstr(r.err_text, "program tp_rraw_ctx3 rejected by this kernel (attach to raw_tp netif_receive_skb: Invalid argument"));
	finish(&r);
}

static void rejected_program_falls_back_to_the_next_tier(void **state)
{
	static const struct tier_stage stages[] = {
		{ "recv", "received", false, { RECV_CTX3, RRAW_OK } },
	};
	struct run r = { 0 };

	(void)state;
	need_root();
	start(&r, stages, 1, false);
	assert_int_equal(r.rc, 0);
	assert_uses(&r, "recv", RAW, "tp_rraw_ok");
	assert_non_null(strstr(r.err_text, "); using raw_tp tp_rraw_ok\n"));
	finish(&r);
}

static void optional_stage_with_its_only_program_rejected_is_off_in_one_line(void **state)
{
	static const struct tier_stage stages[] = {
		{ "recv", "received", false, { RECV_OK } },
		{ "opt", "sent with a length", true, { XMIT_CTX6 } },
	};
	struct run r = { 0 };

	(void)state;
	need_root();
	start(&r, stages, 2, false);
	assert_int_equal(r.rc, 0);
	assert_uses(&r, "recv", BTF, "tp_recv_ok");
	assert_int_equal(r.t.plan.stage[1].tier, NETSEG_TIER_NONE);
	assert_null(r.t.plan.stage[1].links[0]);
	/* the verifier's own words, not its instruction dump */
	assert_non_null(strstr(r.err_text, "tproof: stage opt off: program tp_xmit_ctx6 rejected by this kernel (func 'net_dev_xmit' doesn't have 7-th argument); lost: sent with a length\n"));
	assert_int_equal(lines_in(r.err_text), 1);
	finish(&r);
}

static void required_stage_with_its_only_program_rejected_fails_naming_it(void **state)
{
	static const struct tier_stage stages[] = {
		{ "recv", "received", false, { RECV_OK } },
		{ "req", "sent with a length", false, { XMIT_CTX6 } },
	};
	struct run r = { 0 };

	(void)state;
	need_root();
	start(&r, stages, 2, false);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err_text, "tproof: stage 'req' cannot start: program tp_xmit_ctx6 rejected by this kernel (func 'net_dev_xmit' doesn't have 7-th argument)"));
	assert_int_equal(lines_in(r.err_text), 1);
	for (int s = 0; s < 2; s++)
		assert_null(r.t.plan.stage[s].links[0]);
	finish(&r);
}

/* As when planning: --tier holds a stage to one tier; a program rejected
 * there fails the start even for an optional stage. */
static void forced_tier_with_its_program_rejected_fails(void **state)
{
	static const struct tier_stage stages[] = {
		{ "recv", "received", false, { RRAW_OK } },
		{ "opt", "received twice", true, { RECV_CTX3, RRAW_OK } },
	};
	struct run r = { .force = TIER_FORCE_TP_BTF };

	(void)state;
	need_root();
	start(&r, stages, 2, false);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err_text, "tproof: --tier tp_btf: stage 'opt' cannot start: program tp_recv_ctx3 rejected by this kernel ("));
	finish(&r);
}

/* --tier is refused for an optional stage only where the stage exists on
 * another tier; one whose hooks exist on no tier is absent, as unforced. */
static void forced_tier_leaves_an_optional_stage_absent_that_exists_nowhere(void **state)
{
	static const struct tier_stage gone[] = {
		{ "recv", "received", false, { RRAW_OK } },
		{ "gone", "in a module not loaded", true,
		  { { BTF, "no_such_tracepoint_tki", "tp_recv_ok" },
		    { RAW, "no_such_tracepoint_tki", "tp_rraw_ok" } } },
	};
	static const struct tier_stage elsewhere[] = {
		{ "recv", "received", false, { RRAW_OK } },
		{ "opt", "on raw_tp only", true,
		  { { BTF, "no_such_tracepoint_tki", "tp_recv_ok" }, RRAW_OK } },
	};
	struct tier_tool tool = { "tproof", false, gone, 2 };
	struct tier_plan plan;
	char err[512] = "";

	(void)state;
	need_root();
	assert_int_equal(tier_plan_make(&tool, TIER_FORCE_TP_BTF, &plan, err, sizeof(err)), 0);
	assert_int_equal(plan.stage[0].tier, RAW);
	assert_int_equal(plan.stage[1].tier, NETSEG_TIER_NONE);
	tool.stages = elsewhere;
	err[0] = 0;
	assert_int_equal(tier_plan_make(&tool, TIER_FORCE_TP_BTF, &plan, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--tier tp_btf: not available on this kernel for stage 'opt'"));
}

/* tp_cfg_ok verifies only with the test's rodata, and the object creates
 * only with its map size: proofs and the reload must both carry them. */
static void proofs_and_reload_keep_the_tools_rodata_and_map_sizes(void **state)
{
	static const struct tier_stage stages[] = {
		{ "cfg", "configured", false, { CFG_OK } },
		{ "opt", "sent with a length", true, { XMIT_CTX6 } },
	};
	struct run r = { 0 };

	(void)state;
	need_root();
	start(&r, stages, 2, false);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.t.plan.stage[0].tier, BTF);
	assert_non_null(r.t.plan.stage[0].links[0]);
	assert_int_equal(bpf_map__max_entries(r.skel->maps.sized), 4);
	assert_int_equal(r.skel->rodata->tp_cfg_safe, 1);
	finish(&r);
}

/* A tool whose rodata depends on the plan writes it again after a stage
 * is turned off, on the reopened object. */
static void configure_runs_again_with_the_plan_as_it_is_now(void **state)
{
	static const struct tier_stage stages[] = {
		{ "cfg", "configured", false, { CFG_OK } },
		{ "opt", "sent with a length", true, { XMIT_CTX6 } },
	};
	struct run r = { 0 };

	(void)state;
	need_root();
	start(&r, stages, 2, true);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.configured, 2);
	assert_int_equal(r.skel->rodata->tp_has_opt, 0);
	assert_non_null(r.t.plan.stage[0].links[0]);
	finish(&r);
}

/* Nothing rejected: one open, one configure, one load, nothing printed. */
static void accepted_programs_load_once(void **state)
{
	static const struct tier_stage stages[] = {
		{ "cfg", "configured", false, { CFG_OK } },
		{ "recv", "received", false, { RECV_OK, RECV_CTX3 } },
	};
	struct run r = { 0 };

	(void)state;
	need_root();
	start(&r, stages, 2, true);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.configured, 1);
	assert_string_equal(r.err_text, "");
	assert_uses(&r, "recv", BTF, "tp_recv_ok");
	finish(&r);
}

/* A map the kernel cannot create is no program's fault: nothing is turned
 * off, and the user sees today's error and libbpf's own words. */
static void object_refused_for_other_reasons_fails_as_before(void **state)
{
	static const struct tier_stage stages[] = {
		{ "recv", "received", false, { RECV_CTX3, RECV_OK } },
		{ "opt", "sent with a length", true, { XMIT_CTX6 } },
	};
	struct run r = { .unsized = true };

	(void)state;
	need_root();
	start(&r, stages, 2, false);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err_text, "map 'sized': failed to create"));
	assert_non_null(strstr(r.err_text, "tproof: loading BPF programs failed (run with -v for the verifier log)\n"));
	assert_null(strstr(r.err_text, "rejected"));
	assert_int_equal(r.t.plan.stage[1].tier, BTF);
	finish(&r);
}

static void verifier_reason_skips_the_instruction_dump(void **state)
{
	const char *log = "func#0 @0\n0: R1=ctx() R10=fp0\n; tp_sink = ctx[3]; @ x.c:3\n"
			  "0: (79) r1 = *(u64 *)(r1 +24)\n"
			  "func 'netif_receive_skb' doesn't have 4-th argument\n"
			  "invalid bpf_context access off=24 size=8\n"
			  "processed 1 insns (limit 1000000)\n";
	char out[160];

	(void)state;
	tier_verifier_reason(log, out, sizeof(out));
	assert_string_equal(out, "func 'netif_receive_skb' doesn't have 4-th argument");
	tier_verifier_reason("", out, sizeof(out));
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rejected_first_alternative_gives_way_to_the_second),
		cmocka_unit_test(raw_tp_alternative_refused_at_attach_gives_way),
		cmocka_unit_test(rejected_program_falls_back_to_the_next_tier),
		cmocka_unit_test(optional_stage_with_its_only_program_rejected_is_off_in_one_line),
		cmocka_unit_test(required_stage_with_its_only_program_rejected_fails_naming_it),
		cmocka_unit_test(forced_tier_with_its_program_rejected_fails),
		cmocka_unit_test(forced_tier_leaves_an_optional_stage_absent_that_exists_nowhere),
		cmocka_unit_test(proofs_and_reload_keep_the_tools_rodata_and_map_sizes),
		cmocka_unit_test(configure_runs_again_with_the_plan_as_it_is_now),
		cmocka_unit_test(accepted_programs_load_once),
		cmocka_unit_test(object_refused_for_other_reasons_fails_as_before),
		cmocka_unit_test(verifier_reason_skips_the_instruction_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
