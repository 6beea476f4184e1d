// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "tier.h"
#include "tier_priv.h"

static const char *const tier_names[NETSEG_TIER_MAX] = {
	[NETSEG_TIER_NONE] = "unavailable", [NETSEG_TIER_FENTRY] = "fentry",
	[NETSEG_TIER_KPROBE] = "kprobe",    [NETSEG_TIER_TP_BTF] = "tp_btf",
	[NETSEG_TIER_RAW_TP] = "raw_tp",    [NETSEG_TIER_TRACEPOINT] = "tracepoint",
};

const char *tier_name(enum netseg_tier tier)
{
	if ((unsigned)tier >= NETSEG_TIER_MAX)
		return "?";
	return tier_names[tier];
}

static const char *const force_names[] = {
	[TIER_FORCE_AUTO] = "auto",       [TIER_FORCE_FENTRY] = "fentry",
	[TIER_FORCE_KPROBE] = "kprobe",   [TIER_FORCE_TRACEPOINT_ANY] = "tracepoint",
	[TIER_FORCE_TP_BTF] = "tp_btf",   [TIER_FORCE_RAW_TP] = "raw_tp",
	[TIER_FORCE_TP] = "tp",
};

const char *tier_force_name(enum tier_force f)
{
	return force_names[f];
}

int tier_force_parse(const char *s, enum tier_force *out)
{
	for (size_t i = 0; i < sizeof(force_names) / sizeof(force_names[0]); i++) {
		if (!strcmp(s, force_names[i])) {
			*out = (enum tier_force)i;
			return 0;
		}
	}
	return -EINVAL;
}

static bool force_allows(enum tier_force f, enum netseg_tier t)
{
	switch (f) {
	case TIER_FORCE_AUTO:
		return true;
	case TIER_FORCE_FENTRY:
		return t == NETSEG_TIER_FENTRY;
	case TIER_FORCE_KPROBE:
		return t == NETSEG_TIER_KPROBE;
	case TIER_FORCE_TRACEPOINT_ANY:
		return t == NETSEG_TIER_TP_BTF || t == NETSEG_TIER_RAW_TP ||
		       t == NETSEG_TIER_TRACEPOINT;
	case TIER_FORCE_TP_BTF:
		return t == NETSEG_TIER_TP_BTF;
	case TIER_FORCE_RAW_TP:
		return t == NETSEG_TIER_RAW_TP;
	case TIER_FORCE_TP:
		return t == NETSEG_TIER_TRACEPOINT;
	}
	return false;
}

/* ---- tracefs ------------------------------------------------------------ */

static bool dir_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *tier_tracefs_events_dir(void)
{
	static const char *const candidates[] = {
		"/sys/kernel/tracing/events",
		"/sys/kernel/debug/tracing/events",
	};

	for (size_t i = 0; i < 2; i++)
		if (dir_exists(candidates[i]))
			return candidates[i];
	/* `ip netns exec` gives a fresh sysfs without tracefs on it */
	if (dir_exists("/sys/kernel/tracing") &&
	    mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0 &&
	    dir_exists(candidates[0]))
		return candidates[0];
	return NULL;
}

/* ---- BTF lookups -------------------------------------------------------- */

/* Parsed kernel BTF is several MB; it is kept only while probing and
 * released once a plan is made, before libbpf parses its own copy. */
static struct btf *cached_vmlinux_btf;

static struct btf *vmlinux_btf(void)
{
	if (!cached_vmlinux_btf)
		cached_vmlinux_btf = btf__load_vmlinux_btf();
	return cached_vmlinux_btf;
}

void tier_probe_release(void)
{
	btf__free(cached_vmlinux_btf);
	cached_vmlinux_btf = NULL;
}

/* The fd of a loaded kernel BTF object by name (a module), for attaching
 * to a function that lives in that module. */
static int module_btf_fd(const char *module)
{
	__u32 id = 0;

	while (!bpf_btf_get_next_id(id, &id)) {
		struct bpf_btf_info info = {};
		__u32 len = sizeof(info);
		char name[64] = "";
		int fd = bpf_btf_get_fd_by_id(id);

		if (fd < 0)
			continue;
		info.name = (uintptr_t)name;
		info.name_len = sizeof(name);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.kernel_btf &&
		    !strcmp(name, module))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

/* Find `name` of `kind` in vmlinux, then in each module's BTF. */
static int find_kernel_btf_id(const char *name, int kind, __u32 *id, int *obj_fd)
{
	struct btf *vmlinux = vmlinux_btf();
	struct dirent *de;
	DIR *dir;
	int found = -ENOENT;

	*obj_fd = 0;
	if (!vmlinux)
		return -ENOTSUP;
	int r = btf__find_by_name_kind(vmlinux, name, kind);
	if (r > 0) {
		*id = r;
		return 0;
	}
	dir = opendir("/sys/kernel/btf");
	if (!dir)
		return -ENOENT;
	while ((de = readdir(dir)) && found) {
		struct btf *mod;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "vmlinux"))
			continue;
		mod = btf__load_module_btf(de->d_name, vmlinux);
		if (!mod)
			continue;
		r = btf__find_by_name_kind(mod, name, kind);
		btf__free(mod);
		if (r > 0) {
			int fd = module_btf_fd(de->d_name);

			if (fd < 0) {
				found = fd;
				break;
			}
			*id = r;
			*obj_fd = fd;
			found = 0;
		}
	}
	closedir(dir);
	return found;
}

/* ---- the probes --------------------------------------------------------- */

static int load_tiny(enum bpf_prog_type type, enum bpf_attach_type eat, __u32 btf_id,
		     int btf_obj_fd)
{
	/* r0 = 0; exit */
	static const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = eat,
		    .attach_btf_id = btf_id, .attach_btf_obj_fd = btf_obj_fd);
	int fd = bpf_prog_load(type, "netseg_probe", "GPL", insns, 2, &opts);

	return fd < 0 ? -errno : fd;
}

static int perf_event_open(struct perf_event_attr *attr)
{
	int fd = syscall(__NR_perf_event_open, attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Open the perf event, load a tiny program of `type`, attach, undo. */
static int probe_perf_event(struct perf_event_attr *attr, enum bpf_prog_type type)
{
	int pfd = perf_event_open(attr), prog_fd, err = 0;

	if (pfd < 0)
		return pfd;
	prog_fd = load_tiny(type, 0, 0, 0);
	if (prog_fd < 0) {
		close(pfd);
		return prog_fd;
	}
	if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog_fd) < 0)
		err = -errno;
	close(prog_fd);
	close(pfd);
	return err;
}

static int probe_btf_tracing(const char *name, int kind, enum bpf_attach_type eat)
{
	__u32 id;
	int obj_fd, prog_fd, link_fd, err;

	err = find_kernel_btf_id(name, kind, &id, &obj_fd);
	if (err)
		return err;
	prog_fd = load_tiny(BPF_PROG_TYPE_TRACING, eat, id, obj_fd);
	if (obj_fd > 0)
		close(obj_fd);
	if (prog_fd < 0)
		return prog_fd;
	link_fd = bpf_raw_tracepoint_open(NULL, prog_fd);
	err = link_fd < 0 ? -errno : 0;
	if (link_fd >= 0)
		close(link_fd);
	close(prog_fd);
	return err;
}

static int probe_fentry(const char *fn)
{
	return probe_btf_tracing(fn, BTF_KIND_FUNC, BPF_TRACE_FENTRY);
}

static int probe_tp_btf(const char *tp)
{
	char name[160];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return probe_btf_tracing(name, BTF_KIND_TYPEDEF, BPF_TRACE_RAW_TP);
}

static int probe_raw_tp(const char *tp)
{
	int prog_fd = load_tiny(BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0, 0);
	int link_fd, err;

	if (prog_fd < 0)
		return prog_fd;
	link_fd = bpf_raw_tracepoint_open(tp, prog_fd);
	err = link_fd < 0 ? -errno : 0;
	if (link_fd >= 0)
		close(link_fd);
	close(prog_fd);
	return err;
}

static int read_int_file(const char *path, long *out)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = 0;
	*out = strtol(buf, NULL, 10);
	return 0;
}

static int probe_tracepoint(const char *cat_name)
{
	struct perf_event_attr attr = {};
	const char *events = tier_tracefs_events_dir();
	char path[PATH_MAX];
	long id;
	int err;

	if (!events)
		return -ENOTSUP;
	snprintf(path, sizeof(path), "%s/%s/id", events, cat_name);
	err = read_int_file(path, &id);
	if (err)
		return err;
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof(attr);
	attr.config = id;
	attr.sample_period = 1;
	return probe_perf_event(&attr, BPF_PROG_TYPE_TRACEPOINT);
}

/* The symbol a kprobe should use: `fn` itself, or a compiler clone of it
 * ("fn.isra.0", "fn.constprop.0") when only the clone exists. */
static int kallsyms_resolve(const char *fn, char *out, size_t outlen)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[512], clone[128] = "";
	size_t fnlen = strlen(fn);
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char type, sym[128];

		if (sscanf(line, "%*s %c %127s", &type, sym) != 2)
			continue;
		if (type != 't' && type != 'T')
			continue;
		if (!strcmp(sym, fn)) {
			snprintf(out, outlen, "%s", sym);
			rc = 0;
			break;
		}
		if (!clone[0] && !strncmp(sym, fn, fnlen) && sym[fnlen] == '.')
			snprintf(clone, sizeof(clone), "%s", sym);
	}
	fclose(f);
	if (rc && clone[0]) {
		snprintf(out, outlen, "%s", clone);
		rc = 0;
	}
	return rc;
}

static int probe_kprobe(const char *fn, char *resolved, size_t resolved_len)
{
	struct perf_event_attr attr = {};
	char sym[128];
	long type;
	int err;

	/* the kprobe PMU exists exactly when the kernel has kprobes */
	err = read_int_file("/sys/bus/event_source/devices/kprobe/type", &type);
	if (err)
		return -EOPNOTSUPP;
	err = kallsyms_resolve(fn, sym, sizeof(sym));
	if (err)
		return err;
	attr.type = type;
	attr.size = sizeof(attr);
	attr.config1 = (uintptr_t)sym;
	attr.config2 = 0;
	err = probe_perf_event(&attr, BPF_PROG_TYPE_KPROBE);
	if (!err && resolved)
		snprintf(resolved, resolved_len, "%s", sym);
	return err;
}

struct probe_cache_entry {
	enum netseg_tier tier;
	char target[128];
	char resolved[128];
	int rc;
};

static struct probe_cache_entry probe_cache[256];
static int probe_cache_n;

/* Attaching to a tracepoint costs the kernel milliseconds (probe
 * registration, static key patching): one real load-and-attach proves a
 * tracepoint tier works here, and every further tracepoint of that tier is
 * checked for existence only, in the running kernel's own BTF (tp_btf,
 * raw_tp) or tracefs (classic). fentry and kprobe are probed per function:
 * a function can exist and still refuse (notrace, blacklisted, inlined). */
static int tracepoint_exists(enum netseg_tier tier, const char *target)
{
	char path[PATH_MAX];
	const char *events;
	__u32 id;
	int obj_fd, err;

	if (tier == NETSEG_TIER_TRACEPOINT) {
		events = tier_tracefs_events_dir();
		if (!events)
			return -ENOTSUP;
		snprintf(path, sizeof(path), "%s/%s/id", events, target);
		return access(path, R_OK) ? -ENOENT : 0;
	}
	snprintf(path, sizeof(path), "btf_trace_%s", target);
	err = find_kernel_btf_id(path, BTF_KIND_TYPEDEF, &id, &obj_fd);
	if (obj_fd > 0)
		close(obj_fd);
	return err;
}

static int probe_uncached(enum netseg_tier tier, const char *target, char *res, size_t reslen)
{
	static int tier_works[NETSEG_TIER_MAX] = { [0 ... NETSEG_TIER_MAX - 1] = 1 };
	int rc;

	switch (tier) {
	case NETSEG_TIER_FENTRY:
		return probe_fentry(target);
	case NETSEG_TIER_KPROBE:
		return probe_kprobe(target, res, reslen);
	case NETSEG_TIER_TP_BTF:
	case NETSEG_TIER_RAW_TP:
	case NETSEG_TIER_TRACEPOINT:
		if (tier_works[tier] == 0) {
			rc = tracepoint_exists(tier, target);
			return rc;
		}
		rc = tier == NETSEG_TIER_TP_BTF ? probe_tp_btf(target)
		     : tier == NETSEG_TIER_RAW_TP ? probe_raw_tp(target)
						  : probe_tracepoint(target);
		/* proven once: the tier works; a missing target says nothing about it */
		if (rc == 0)
			tier_works[tier] = 0;
		return rc;
	default:
		return -EINVAL;
	}
}

int tier_probe(enum netseg_tier tier, const char *target, char *resolved, size_t resolved_len)
{
	struct probe_cache_entry *e = NULL;
	char res[128];
	int rc;

	for (int i = 0; i < probe_cache_n; i++) {
		if (probe_cache[i].tier == tier && !strcmp(probe_cache[i].target, target)) {
			e = &probe_cache[i];
			goto done;
		}
	}
	snprintf(res, sizeof(res), "%s", target);
	rc = probe_uncached(tier, target, res, sizeof(res));
	if (probe_cache_n == (int)(sizeof(probe_cache) / sizeof(probe_cache[0]))) {
		if (resolved)
			snprintf(resolved, resolved_len, "%s", res);
		return rc;
	}
	e = &probe_cache[probe_cache_n++];
	e->tier = tier;
	snprintf(e->target, sizeof(e->target), "%s", target);
	snprintf(e->resolved, sizeof(e->resolved), "%s", res);
	e->rc = rc;
done:
	if (resolved)
		snprintf(resolved, resolved_len, "%s", e->resolved);
	return e->rc;
}

/* ---- the plan ----------------------------------------------------------- */

int tier_stage_n_hooks(const struct tier_stage *st)
{
	int n = 0;

	while (n < TIER_MAX_HOOKS && st->hooks[n].tier != NETSEG_TIER_NONE)
		n++;
	return n;
}

static bool stage_offers(const struct tier_stage *st, enum tier_force f)
{
	for (int i = 0; i < tier_stage_n_hooks(st); i++)
		if (force_allows(f, st->hooks[i].tier))
			return true;
	return false;
}

/* Hooks of one tier and one target are alternatives: the same hook, read
 * by programs that ask more or less of the kernel. Whether an earlier one
 * already serves this hook. */
static bool alternative_chosen(const struct tier_stage *st, const struct tier_choice *c, int i)
{
	for (int j = 0; j < i; j++)
		if (c->hook_ok[j] && st->hooks[j].tier == st->hooks[i].tier &&
		    !strcmp(st->hooks[j].target, st->hooks[i].target))
			return true;
	return false;
}

/* Try one tier for a stage: every hook of it that the kernel takes, one
 * program per hook (the first alternative the kernel has not rejected). */
static bool try_tier(const struct tier_stage *st, enum netseg_tier t, struct tier_choice *c,
		     int *first_err, const char **first_target)
{
	bool any = false;

	for (int i = 0; i < tier_stage_n_hooks(st); i++) {
		if (st->hooks[i].tier != t || alternative_chosen(st, c, i))
			continue;
		/* a program the kernel rejected counts as a hook that does not work */
		int rc = c->rejected[i] ? c->rejected[i]
			 : tier_probe(t, st->hooks[i].target, c->resolved[i],
				      sizeof(c->resolved[i]));

		c->hook_ok[i] = rc == 0;
		if (rc == 0)
			any = true;
		else if (!*first_err) {
			*first_err = rc;
			*first_target = st->hooks[i].target;
		}
	}
	return any;
}

bool tier_choose_stage(const struct tier_stage *st, enum tier_force force, struct tier_choice *c,
		       int *first_err, const char **first_target)
{
	bool restrict_tier = force != TIER_FORCE_AUTO && stage_offers(st, force);

	c->tier = NETSEG_TIER_NONE;
	memset(c->hook_ok, 0, sizeof(c->hook_ok));
	for (int i = 0; i < tier_stage_n_hooks(st) && c->tier == NETSEG_TIER_NONE; i++) {
		enum netseg_tier t = st->hooks[i].tier;

		if (restrict_tier && !force_allows(force, t))
			continue;
		/* each tier once, in the order the table first names it */
		bool seen = false;
		for (int j = 0; j < i; j++)
			seen |= st->hooks[j].tier == t;
		if (seen)
			continue;
		memset(c->hook_ok, 0, sizeof(c->hook_ok));
		if (try_tier(st, t, c, first_err, first_target))
			c->tier = t;
	}
	return restrict_tier;
}

static int plan_make(const struct tier_tool *tool, enum tier_force force, struct tier_plan *plan,
		     char *err, size_t errlen)
{
	bool forced_used = false;

	memset(plan, 0, sizeof(*plan));
	plan->tool = tool;
	plan->force = force;
	for (int s = 0; s < tool->n_stages && s < TIER_MAX_STAGES; s++) {
		const struct tier_stage *st = &tool->stages[s];
		struct tier_choice *c = &plan->stage[s];
		int first_err = 0;
		const char *first_target = NULL;
		bool restrict_tier = tier_choose_stage(st, force, c, &first_err, &first_target);

		forced_used |= restrict_tier;
		if (c->tier != NETSEG_TIER_NONE)
			continue;
		if (restrict_tier && st->optional) {
			/* --tier cannot be honoured only where the stage exists on
			 * another tier; an optional stage whose hooks exist on no
			 * tier (a module that is not loaded: kvm's irqfd_wakeup in
			 * a guest) is absent here, forced or not */
			struct tier_choice any = { 0 };
			int any_err = 0;
			const char *any_target = NULL;

			tier_choose_stage(st, TIER_FORCE_AUTO, &any, &any_err, &any_target);
			if (any.tier == NETSEG_TIER_NONE)
				continue;
		}
		if (restrict_tier) {
			snprintf(err, errlen,
				 "--tier %s: not available on this kernel for stage '%s' (%s: %s)",
				 tier_force_name(force), st->name, first_target ? first_target : "?",
				 strerror(-first_err));
			return -1;
		}
		if (!st->optional) {
			snprintf(err, errlen,
				 "stage '%s' has no working hook on this kernel (first tried %s: %s)",
				 st->name, first_target ? first_target : "?", strerror(-first_err));
			return -1;
		}
	}
	if (force != TIER_FORCE_AUTO && !forced_used) {
		snprintf(err, errlen, "--tier %s: %s has no stage with a %s hook",
			 tier_force_name(force), tool->name, tier_force_name(force));
		return -1;
	}
	return 0;
}

int tier_plan_make(const struct tier_tool *tool, enum tier_force force, struct tier_plan *plan,
		   char *err, size_t errlen)
{
	int rc = plan_make(tool, force, plan, err, errlen);

	tier_probe_release();
	return rc;
}

int tier_plan_apply(const struct tier_plan *plan, struct bpf_object *obj, char *err,
		    size_t errlen)
{
	const struct tier_tool *tool = plan->tool;
	struct bpf_program *p;

	/* a program no stage chose is never loaded: its hook may not exist */
	bpf_object__for_each_program(p, obj)
		bpf_program__set_autoload(p, false);

	for (int s = 0; s < tool->n_stages; s++) {
		const struct tier_stage *st = &tool->stages[s];
		const struct tier_choice *c = &plan->stage[s];

		for (int i = 0; i < tier_stage_n_hooks(st); i++) {
			struct bpf_program *prog =
				bpf_object__find_program_by_name(obj, st->hooks[i].prog);

			if (!prog) {
				snprintf(err, errlen, "internal: program %s of stage %s not in object",
					 st->hooks[i].prog, st->name);
				return -1;
			}
			bpf_program__set_autoload(prog, c->tier == st->hooks[i].tier &&
								c->hook_ok[i]);
		}
	}
	return 0;
}

struct bpf_link *tier_attach_hook(struct bpf_program *prog, enum netseg_tier tier,
				  const char *resolved)
{
	/* a kprobe goes to the clone the probe found, not the name in the table */
	if (tier == NETSEG_TIER_KPROBE)
		return bpf_program__attach_kprobe(prog, false, resolved);
	return bpf_program__attach(prog);
}

int tier_plan_attach(struct tier_plan *plan, struct bpf_object *obj, char *err, size_t errlen)
{
	const struct tier_tool *tool = plan->tool;

	for (int s = 0; s < tool->n_stages; s++) {
		const struct tier_stage *st = &tool->stages[s];
		struct tier_choice *c = &plan->stage[s];

		for (int i = 0; i < tier_stage_n_hooks(st); i++) {
			struct bpf_program *prog;
			struct bpf_link *link;

			if (c->tier != st->hooks[i].tier || !c->hook_ok[i])
				continue;
			prog = bpf_object__find_program_by_name(obj, st->hooks[i].prog);
			link = tier_attach_hook(prog, st->hooks[i].tier, c->resolved[i]);
			if (!link) {
				int e = errno;

				snprintf(err, errlen, "attaching %s (%s %s) failed: %s",
					 st->hooks[i].prog, tier_name(c->tier), st->hooks[i].target,
					 strerror(e));
				tier_plan_detach(plan);
				return -1;
			}
			c->links[i] = link;
		}
	}
	return 0;
}

void tier_plan_detach(struct tier_plan *plan)
{
	for (int s = 0; s < TIER_MAX_STAGES; s++) {
		for (int i = 0; i < TIER_MAX_HOOKS; i++) {
			bpf_link__destroy(plan->stage[s].links[i]);
			plan->stage[s].links[i] = NULL;
		}
	}
}

void tier_plan_format(const struct tier_plan *plan, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int s = 0; s < plan->tool->n_stages && off < len; s++)
		off += snprintf(buf + off, len - off, "%s%s=%s", s ? " " : "",
				plan->tool->stages[s].name, tier_name(plan->stage[s].tier));
}

bool tier_plan_stage_available(const struct tier_plan *plan, const char *stage)
{
	for (int s = 0; s < plan->tool->n_stages; s++)
		if (!strcmp(plan->tool->stages[s].name, stage))
			return plan->stage[s].tier != NETSEG_TIER_NONE;
	return false;
}

bool tier_plan_prog_chosen(const struct tier_plan *plan, const char *prog)
{
	for (int s = 0; s < plan->tool->n_stages; s++) {
		const struct tier_stage *st = &plan->tool->stages[s];
		const struct tier_choice *c = &plan->stage[s];

		for (int i = 0; i < tier_stage_n_hooks(st); i++)
			if (c->tier == st->hooks[i].tier && c->hook_ok[i] &&
			    !strcmp(st->hooks[i].prog, prog))
				return true;
	}
	return false;
}

void tier_plan_drop_stage(struct tier_plan *plan, const char *stage)
{
	for (int s = 0; s < plan->tool->n_stages; s++) {
		if (strcmp(plan->tool->stages[s].name, stage))
			continue;
		plan->stage[s].tier = NETSEG_TIER_NONE;
		memset(plan->stage[s].hook_ok, 0, sizeof(plan->stage[s].hook_ok));
	}
}

bool tier_plan_stage_rejected(const struct tier_plan *plan, const char *stage)
{
	for (int s = 0; s < plan->tool->n_stages; s++) {
		if (strcmp(plan->tool->stages[s].name, stage))
			continue;
		for (int i = 0; i < TIER_MAX_HOOKS; i++)
			if (plan->stage[s].rejected[i])
				return true;
	}
	return false;
}
