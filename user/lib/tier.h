/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Attach tiers: for each stage of a tracer, the hooks it could use in order
 * of preference, a probe that asks the running kernel (by really loading and
 * attaching a two-instruction program) which of them work, and the plan that
 * results: which programs to load, which to leave out, and what to print.
 */
#ifndef NETSEG_TIER_H
#define NETSEG_TIER_H

#include <stdbool.h>
#include <stdio.h>
#include "netseg.h"

struct bpf_object;
struct bpf_link;
struct bpf_object_skeleton;

#define TIER_MAX_HOOKS 16
#define TIER_MAX_STAGES 16

/* One way a stage can be hooked. `target` is a kernel function for fentry
 * and kprobe, a tracepoint name for tp_btf/raw_tp ("net_dev_xmit"), and
 * "category/name" for classic tracepoints. `prog` names the BPF program. */
struct tier_hook {
	enum netseg_tier tier;
	const char *target;
	const char *prog;
};

/* Hooks of the chosen tier are all attached where they exist (a family
 * such as __ip_local_out + ip_output); at least one must. Hooks with the
 * same tier AND target are alternatives, in order: programs for one hook
 * that ask more or less of the kernel (kfree_skb with and without the
 * `reason` argument); the first the kernel accepts is used, the others are
 * neither loaded nor attached. */
struct tier_stage {
	const char *name;
	const char *what;            /* one line for people: what the stamp means */
	bool optional;               /* the tool still works without it */
	struct tier_hook hooks[TIER_MAX_HOOKS];  /* terminated by tier NONE */
};

struct tier_tool {
	const char *name;
	bool planned;                /* stage table settled, tracer not built yet */
	const struct tier_stage *stages;
	int n_stages;
};

/* What --tier asks for. TRACEPOINT_ANY takes the best of tp_btf, raw_tp
 * and classic tracepoints; the others force exactly one tier. */
enum tier_force {
	TIER_FORCE_AUTO = 0,
	TIER_FORCE_FENTRY,
	TIER_FORCE_KPROBE,
	TIER_FORCE_TRACEPOINT_ANY,
	TIER_FORCE_TP_BTF,
	TIER_FORCE_RAW_TP,
	TIER_FORCE_TP,
};

struct tier_choice {
	enum netseg_tier tier;       /* NONE: stage unavailable on this kernel */
	bool hook_ok[TIER_MAX_HOOKS];/* per hook of the stage: will be attached */
	char resolved[TIER_MAX_HOOKS][128]; /* kprobe target after clone resolution */
	int rejected[TIER_MAX_HOOKS];  /* -errno: the kernel refused our program */
	struct bpf_link *links[TIER_MAX_HOOKS];
};

struct tier_plan {
	const struct tier_tool *tool;
	enum tier_force force;
	struct tier_choice stage[TIER_MAX_STAGES];
};

const char *tier_name(enum netseg_tier tier);
int tier_force_parse(const char *s, enum tier_force *out);
const char *tier_force_name(enum tier_force f);

/* 0 when a program of this tier can be loaded and attached to `target`
 * here, else a negative errno. Results are cached per process. For kprobes
 * `resolved` (may be NULL) receives the symbol to attach to, which differs
 * from `target` when the compiler cloned the function (".isra.0"). */
int tier_probe(enum netseg_tier tier, const char *target, char *resolved, size_t resolved_len);

/* Free what probing cached (the parsed kernel BTF); probes still work after. */
void tier_probe_release(void);

/* Decide per stage. On failure (a forced tier that the kernel lacks, or a
 * required stage with no hook at all) returns -1 with a one-line reason in
 * err; nothing has been loaded or attached. */
int tier_plan_make(const struct tier_tool *tool, enum tier_force force, struct tier_plan *plan,
		   char *err, size_t errlen);

/* Autoload on for exactly the chosen programs, off for every other program
 * named in the stage table. Call between open and load. */
int tier_plan_apply(const struct tier_plan *plan, struct bpf_object *obj, char *err,
		    size_t errlen);

/* Attach the chosen programs (after load). On failure everything attached
 * so far is detached again. */
int tier_plan_attach(struct tier_plan *plan, struct bpf_object *obj, char *err, size_t errlen);
void tier_plan_detach(struct tier_plan *plan);

/* How tier_plan_load_attach reaches the tool. */
struct tier_load_ops {
	const char *tool;            /* prefix of the lines on `notes` */
	FILE *notes;                 /* one line per stage that lost a program */
	/* Writes the tool's settings (rodata, map sizes) into the freshly
	 * opened object, from the plan as it is now; called before every
	 * load. May be NULL: after a reopen the settings of the first object
	 * are copied over (rodata/data/bss contents, max_entries, map flags). */
	int (*configure)(void *arg);
	void *arg;
};

/* Open state of `skel` (bpf_object__open_skeleton done) -> loaded and
 * attached per plan. The common case costs what it did before: one load of
 * the whole object. When the kernel refuses it (load or attach), each
 * chosen program is loaded and attached alone in a copy of the object; a
 * rejected program gives way to its next alternative, else to the stage's
 * next tier, else the stage is off (optional) or the start fails
 * (required). Then the skeleton is reopened IN PLACE (the tool's skeleton
 * struct, its maps/progs/rodata pointers stay valid) and loaded again.
 * Returns 0, or -1 with one line in err (nothing attached). */
int tier_plan_load_attach(struct tier_plan *plan, struct bpf_object_skeleton *skel,
			  const struct tier_load_ops *ops, char *err, size_t errlen);

/* The line of a verifier log that says why (not the instruction dump). */
void tier_verifier_reason(const char *log, char *out, size_t outlen);

/* "xmit=tp_btf recv=tp_btf l4=unavailable" */
void tier_plan_format(const struct tier_plan *plan, char *buf, size_t len);
bool tier_plan_stage_available(const struct tier_plan *plan, const char *stage);
/* Whether the plan loads and attaches the program named `prog`. */
bool tier_plan_prog_chosen(const struct tier_plan *plan, const char *prog);
/* Take a stage out of the plan: none of its programs is loaded or
 * attached, and it reads as unavailable. For a stage whose meaning depends
 * on what another stage got (from a tool's configure callback). */
void tier_plan_drop_stage(struct tier_plan *plan, const char *stage);
/* Whether the kernel rejected one of the stage's programs (already said). */
bool tier_plan_stage_rejected(const struct tier_plan *plan, const char *stage);

/* Make sure classic tracepoints can be found: tracefs mounted (mounting it
 * at /sys/kernel/tracing when needed, as `ip netns exec` hides it). Returns
 * the events directory or NULL. */
const char *tier_tracefs_events_dir(void);

#endif /* NETSEG_TIER_H */
