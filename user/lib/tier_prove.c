// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tier probe proves a hook with a two-instruction program; the kernel
 * may still refuse *our* program there (an argument an older tracepoint
 * does not have). Loading is all-or-nothing, so when the whole object is
 * refused we find out which chosen programs the kernel rejects on their
 * own, choose again without them, reopen the skeleton and load once more.
 * Nothing here runs when the first load and attach succeed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "tier.h"
#include "tier_priv.h"

/* Enough for the tail of a level-1 verifier log, where the reason is. */
#define PROVE_LOG_SZ (256 * 1024)
#define WHY_LEN 160

/* ---- libbpf's messages while we try things -------------------------------- */

/* A refused load makes libbpf print warnings and the whole verifier log.
 * When we recover, that is noise (kept for -v); when we cannot, it is
 * what the user needs, so warnings are held back and replayed at the end
 * at the level the outcome deserves. libbpf's callback has no context
 * argument: one capture at a time, process-wide. */
static struct {
	libbpf_print_fn_t prev;
	bool probing;                /* copies we try: their warnings are -v only */
	char *buf;
	size_t len, cap;
} held;

static void held_append(const char *fmt, va_list args)
{
	va_list again;
	int n;

	va_copy(again, args);
	n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n <= 0 || held.len + n + 1 > 1024 * 1024)
		return;
	if (held.len + n + 1 > held.cap) {
		size_t cap = (held.len + n + 1) * 2;
		char *b = realloc(held.buf, cap);

		if (!b)
			return;
		held.buf = b;
		held.cap = cap;
	}
	vsnprintf(held.buf + held.len, held.cap - held.len, fmt, args);
	held.len += n;
}

static int held_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_WARN && held.probing)
		level = LIBBPF_INFO;
	if (level == LIBBPF_WARN) {
		held_append(fmt, args);
		return 0;
	}
	return held.prev ? held.prev(level, fmt, args) : 0;
}

static void held_begin(void)
{
	held.len = 0;
	held.prev = libbpf_set_print(held_print);
}

static int print_via(libbpf_print_fn_t fn, enum libbpf_print_level level, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fn(level, fmt, ap);
	va_end(ap);
	return n;
}

/* Restore the tool's callback and hand it what was held, as `level`. */
static void held_end(enum libbpf_print_level level)
{
	libbpf_set_print(held.prev);
	if (held.prev && held.len)
		print_via(held.prev, level, "%s", held.buf);
	free(held.buf);
	held.buf = NULL;
	held.len = held.cap = 0;
}

/* ---- the verifier's reason ----------------------------------------------- */

/* Lines that trace the verifier's walk rather than say what is wrong. */
static bool log_line_is_trace(const char *l, size_t n)
{
	static const char *const trace[] = {
		"func#",       "from ",     "last_idx",          "regs=",       "parent ",
		"mark_precise", "processed ", "verification time", "stack depth", "Validating ",
		"Live regs",   "insn ",     "-- BEGIN",          "-- END",      "libbpf:",
	};

	if (!n || isdigit((unsigned char)l[0]) || l[0] == ';' || isspace((unsigned char)l[0]))
		return true;
	for (size_t i = 0; i < sizeof(trace) / sizeof(trace[0]); i++)
		if (n >= strlen(trace[i]) && !strncmp(l, trace[i], strlen(trace[i])))
			return true;
	return false;
}

void tier_verifier_reason(const char *log, char *out, size_t outlen)
{
	out[0] = 0;
	for (const char *l = log; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);

		if (!log_line_is_trace(l, n)) {
			snprintf(out, outlen, "%.*s", (int)n, l);
			return;
		}
		l = nl ? nl + 1 : NULL;
	}
}

/* ---- a copy of the tool's object ----------------------------------------- */

/* Global data (.rodata/.bss/.data) but not .kconfig, which libbpf fills. */
static bool map_has_tool_values(const struct bpf_map *m)
{
	const char *dot = strrchr(bpf_map__name(m), '.');

	return bpf_map__is_internal(m) && !(dot && !strcmp(dot, ".kconfig"));
}

/* What the tool set between open and load, so the verifier sees the same
 * constants and the same map sizes in `to` as it did in `from`. */
static void copy_settings(struct bpf_object *from, struct bpf_object *to)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, from) {
		struct bpf_map *n = bpf_object__find_map_by_name(to, bpf_map__name(m));
		const void *init;
		size_t sz;

		if (!n)
			continue;
		bpf_map__set_max_entries(n, bpf_map__max_entries(m));
		bpf_map__set_map_flags(n, bpf_map__map_flags(m));
		if (map_has_tool_values(m) && (init = bpf_map__initial_value(m, &sz)))
			bpf_map__set_initial_value(n, init, sz);
	}
}

static struct bpf_object *open_copy(const struct bpf_object_skeleton *skel,
				    struct bpf_object *configured)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = skel->name);
	struct bpf_object *obj = bpf_object__open_mem(skel->data, skel->data_sz, &opts);

	if (!obj)
		return NULL;
	copy_settings(configured, obj);
	return obj;
}

/* Load a copy with only `only` (NULL: no program) and attach it where the
 * plan would. 0, or -errno with the kernel's reason in why. */
static int prove_one(const struct bpf_object_skeleton *skel, struct bpf_object *configured,
		     const struct tier_hook *h, const char *resolved, char *why, size_t whylen)
{
	struct bpf_object *obj = open_copy(skel, configured);
	struct bpf_program *p, *prog = NULL;
	struct bpf_link *link;
	char *log = calloc(1, PROVE_LOG_SZ);
	int err = -ENOMEM;

	snprintf(why, whylen, "cannot open a copy of the object");
	if (!obj || !log)
		goto out;
	bpf_object__for_each_program(p, obj) {
		bool me = h && !strcmp(bpf_program__name(p), h->prog);

		bpf_program__set_autoload(p, me);
		if (me)
			prog = p;
	}
	if (prog)
		bpf_program__set_log_buf(prog, log, PROVE_LOG_SZ);
	err = bpf_object__load(obj);
	if (err) {
		tier_verifier_reason(log, why, whylen);
		if (!why[0])
			snprintf(why, whylen, "load: %s", strerror(-err));
		goto out;
	}
	if (!prog)
		goto out;
	link = tier_attach_hook(prog, h->tier, resolved);
	if (!link) {
		err = -errno;
		/* raw_tp: the attach checks the context the program reads
		 * against the tracepoint's arguments */
		snprintf(why, whylen, "attach to %s %s: %s%s", tier_name(h->tier), h->target,
			 strerror(-err),
			 h->tier == NETSEG_TIER_RAW_TP && err == -EINVAL
				 ? ", reads more arguments than the tracepoint has?"
				 : "");
	}
	bpf_link__destroy(link);
out:
	bpf_object__close(obj);
	free(log);
	return err > 0 ? -err : err;
}

/* ---- prove, then choose again --------------------------------------------- */

struct verdict {
	bool proven;
	int err;
	char why[WHY_LEN];
};

static bool hook_chosen(const struct tier_stage *st, const struct tier_choice *c, int i)
{
	return c->tier == st->hooks[i].tier && c->hook_ok[i];
}

/* Prove every chosen program not proven yet; mark the rejected ones.
 * Returns the stages that lost a program, as a bit mask. */
static unsigned prove_chosen(struct tier_plan *plan, const struct bpf_object_skeleton *skel,
			     struct bpf_object *configured, struct verdict (*v)[TIER_MAX_HOOKS])
{
	unsigned lost = 0;

	for (int s = 0; s < plan->tool->n_stages && s < TIER_MAX_STAGES; s++) {
		const struct tier_stage *st = &plan->tool->stages[s];
		struct tier_choice *c = &plan->stage[s];

		for (int i = 0; i < tier_stage_n_hooks(st); i++) {
			if (!hook_chosen(st, c, i) || v[s][i].proven)
				continue;
			v[s][i].proven = true;
			v[s][i].err = prove_one(skel, configured, &st->hooks[i], c->resolved[i],
						v[s][i].why, WHY_LEN);
			if (v[s][i].err) {
				c->rejected[i] = v[s][i].err;
				lost |= 1u << s;
			}
		}
	}
	return lost;
}

/* Alternatives and the next tiers are proven in turn, until every chosen
 * program has been. Returns whether anything was rejected; *forced gets
 * the stages --tier held to one tier, as a bit mask. */
static bool prove_and_choose(struct tier_plan *plan, const struct bpf_object_skeleton *skel,
			     struct bpf_object *configured, struct verdict (*v)[TIER_MAX_HOOKS],
			     unsigned *forced)
{
	unsigned lost, any = 0;

	while ((lost = prove_chosen(plan, skel, configured, v))) {
		any |= lost;
		for (int s = 0; s < plan->tool->n_stages && s < TIER_MAX_STAGES; s++) {
			int first_err = 0;
			const char *first_target = NULL;

			if ((lost & (1u << s)) &&
			    tier_choose_stage(&plan->tool->stages[s], plan->force, &plan->stage[s],
					      &first_err, &first_target))
				*forced |= 1u << s;
		}
	}
	return any != 0;
}

/* "tp_btf idd_drop0_btf, idd_rxe_btf": what a stage uses now. */
static void format_used(const struct tier_stage *st, const struct tier_choice *c, char *buf,
			size_t len)
{
	size_t off = snprintf(buf, len, "%s", tier_name(c->tier));

	for (int i = 0, n = 0; i < tier_stage_n_hooks(st) && off < len; i++)
		if (hook_chosen(st, c, i))
			off += snprintf(buf + off, len - off, "%s%s", n++ ? ", " : " ", st->hooks[i].prog);
}

/* One line per stage that lost a program; -1 with err when a required
 * stage has nothing left (then nothing is printed). */
static int report(const struct tier_plan *plan, struct verdict (*v)[TIER_MAX_HOOKS],
		  unsigned forced, const struct tier_load_ops *ops, char *err, size_t errlen)
{
	const char *tool = ops && ops->tool ? ops->tool : plan->tool->name;
	FILE *notes = ops && ops->notes ? ops->notes : stderr;
	char lines[TIER_MAX_STAGES][512];
	int n_lines = 0;

	for (int s = 0; s < plan->tool->n_stages && s < TIER_MAX_STAGES; s++) {
		const struct tier_stage *st = &plan->tool->stages[s];
		const struct tier_choice *c = &plan->stage[s];
		int first = -1, more = 0;
		char who[96], used[256];

		for (int i = 0; i < tier_stage_n_hooks(st); i++) {
			if (!v[s][i].err)
				continue;
			if (first < 0)
				first = i;
			else
				more++;
		}
		if (first < 0)
			continue;
		if (more)
			snprintf(who, sizeof(who), "%s (and %d more)", st->hooks[first].prog, more);
		else
			snprintf(who, sizeof(who), "%s", st->hooks[first].prog);
		/* as when planning: a stage --tier holds to a tier it lacks fails */
		if (c->tier == NETSEG_TIER_NONE && (!st->optional || (forced & (1u << s)))) {
			char pre[48] = "";

			if (forced & (1u << s))
				snprintf(pre, sizeof(pre), "--tier %s: ", tier_force_name(plan->force));
			snprintf(err, errlen,
				 "%sstage '%s' cannot start: program %s rejected by this kernel (%s), and no other hook works here; nothing attached",
				 pre, st->name, who, v[s][first].why);
			return -1;
		}
		if (c->tier == NETSEG_TIER_NONE) {
			snprintf(lines[n_lines++], sizeof(lines[0]),
				 "%s: stage %s off: program %s rejected by this kernel (%s); lost: %s",
				 tool, st->name, who, v[s][first].why, st->what);
			continue;
		}
		format_used(st, c, used, sizeof(used));
		snprintf(lines[n_lines++], sizeof(lines[0]),
			 "%s: stage %s: program %s rejected by this kernel (%s); using %s", tool,
			 st->name, who, v[s][first].why, used);
	}
	for (int i = 0; i < n_lines; i++)
		fprintf(notes, "%s\n", lines[i]);
	fflush(notes);
	return 0;
}

/* ---- load, and when refused, again --------------------------------------- */

/* A failed bpf_object__load cannot be retried (libbpf 1.1): open the same
 * ELF into the same skeleton, so every pointer the tool holds (its maps,
 * programs, rodata) points into the new object, and carry the settings. */
static int reopen_in_place(struct bpf_object_skeleton *skel)
{
	struct bpf_object *old = *skel->obj;
	int err = bpf_object__open_skeleton(skel, NULL);

	if (err) {
		*skel->obj = old;
		return err;
	}
	copy_settings(old, *skel->obj);
	bpf_object__close(old);
	return 0;
}

/* 0 attached; 1 the kernel refused the object (worth proving); -1 other. */
static int load_attach_once(struct tier_plan *plan, struct bpf_object_skeleton *skel,
			    const struct tier_load_ops *ops, char *err, size_t errlen)
{
	struct bpf_object *obj = *skel->obj;

	if (ops && ops->configure && ops->configure(ops->arg)) {
		snprintf(err, errlen, "configuring the BPF object failed");
		return -1;
	}
	if (tier_plan_apply(plan, obj, err, errlen))
		return -1;
	if (bpf_object__load_skeleton(skel)) {
		snprintf(err, errlen, "loading BPF programs failed (run with -v for the verifier log)");
		return 1;
	}
	return tier_plan_attach(plan, obj, err, errlen) ? 1 : 0;
}

/* After a refusal. *explained: the programs' verdicts say why it failed. */
static int recover(struct tier_plan *plan, struct bpf_object_skeleton *skel,
		   const struct tier_load_ops *ops, char *err, size_t errlen, bool *explained)
{
	struct verdict(*v)[TIER_MAX_HOOKS] = calloc(TIER_MAX_STAGES, sizeof(*v));
	char why[WHY_LEN];
	unsigned forced = 0;
	int rc = -1;

	*explained = false;
	if (!v)
		return -1;
	held.probing = true;
	/* the object without programs must load, else no program is to blame */
	if (!prove_one(skel, *skel->obj, NULL, NULL, why, sizeof(why)))
		*explained = prove_and_choose(plan, skel, *skel->obj, v, &forced);
	held.probing = false;
	tier_probe_release();
	if (!*explained || report(plan, v, forced, ops, err, errlen))
		goto out;
	if (reopen_in_place(skel)) {
		snprintf(err, errlen, "reopening the BPF object failed");
		goto out;
	}
	rc = load_attach_once(plan, skel, ops, err, errlen) ? -1 : 0;
	/* a second refusal is not explained by what we proved */
	*explained = rc == 0;
out:
	free(v);
	return rc;
}

int tier_plan_load_attach(struct tier_plan *plan, struct bpf_object_skeleton *skel,
			  const struct tier_load_ops *ops, char *err, size_t errlen)
{
	bool explained = false;
	int rc;

	held_begin();
	rc = load_attach_once(plan, skel, ops, err, errlen);
	if (rc == 0) {
		held_end(LIBBPF_WARN);
		return 0;
	}
	if (rc == 1)
		rc = recover(plan, skel, ops, err, errlen, &explained);
	/* once explained in one line, the verifier's dump is for -v only */
	held_end(explained ? LIBBPF_INFO : LIBBPF_WARN);
	return rc ? -1 : 0;
}
