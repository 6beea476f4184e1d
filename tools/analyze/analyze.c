// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * netseg analyze: the six logs of one measurement -> one row per echo ->
 * report.md, report.json, report.svg. Echoes are joined by (initiator,
 * target, ICMP id, seq), never by time.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "analyze.h"
#include "lib/cli.h"
#include "../subcommands.h"

/* ---- the echo table: open addressing on (id, seq) ------------------------ */

struct table {
	struct an_echo *e;
	uint64_t n, cap;          /* cap: a power of two */
	uint64_t *slot;           /* index + 1 into e, 0: empty */
	uint64_t nslots;
};

static uint64_t key_hash(const struct an_key *k)
{
	uint64_t h = ((uint64_t)k->id << 16 | k->seq) * 0x9e3779b97f4a7c15ull;

	return h ^ (h >> 29);
}

/* Addresses only count when both sides know them: the original
 * icmp_drop_detector's latency lines carry id and seq alone. */
static bool key_eq(const struct an_key *a, const struct an_key *b)
{
	if (a->id != b->id || a->seq != b->seq)
		return false;
	if (a->initiator && b->initiator && a->initiator != b->initiator)
		return false;
	if (a->target && b->target && a->target != b->target)
		return false;
	return true;
}

static int table_grow(struct table *t)
{
	uint64_t ns = t->nslots ? t->nslots * 2 : 1024;
	uint64_t *slot = calloc(ns, sizeof(*slot));

	if (!slot)
		return -1;
	for (uint64_t i = 0; i < t->n; i++) {
		uint64_t h = key_hash(&t->e[i].key) & (ns - 1);

		while (slot[h])
			h = (h + 1) & (ns - 1);
		slot[h] = i + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->nslots = ns;
	return 0;
}

static struct an_echo *table_get(struct table *t, const struct an_key *k)
{
	uint64_t h;

	if ((t->n + 1) * 2 > t->nslots && table_grow(t))
		return NULL;
	for (h = key_hash(k) & (t->nslots - 1); t->slot[h]; h = (h + 1) & (t->nslots - 1)) {
		struct an_echo *e = &t->e[t->slot[h] - 1];

		if (key_eq(&e->key, k)) {
			/* learn the addresses a later log knows */
			if (!e->key.initiator)
				e->key.initiator = k->initiator;
			if (!e->key.target)
				e->key.target = k->target;
			return e;
		}
	}
	if (t->n == t->cap) {
		uint64_t cap = t->cap ? t->cap * 2 : 1024;
		struct an_echo *ne = realloc(t->e, cap * sizeof(*ne));

		if (!ne)
			return NULL;
		t->e = ne;
		t->cap = cap;
	}
	memset(&t->e[t->n], 0, sizeof(t->e[t->n]));
	t->e[t->n].key = *k;
	t->slot[h] = ++t->n;
	return &t->e[t->n - 1];
}

/* ---- loading ------------------------------------------------------------- */

struct load_ctx {
	struct table *t;
	struct an_input *in;
	enum an_role role;
	uint64_t warnings;
	bool quiet;
};

static void on_warn(void *arg, const char *file, unsigned line, const char *msg)
{
	struct load_ctx *c = arg;

	c->warnings++;
	if (!c->quiet)
		fprintf(stderr, "netseg analyze: %s:%u: %s\n", file, line, msg);
}

/* The tool and, for kernel_icmp_rtt, the direction each role's log holds. */
static const enum an_tool role_tool[AN_N_ROLES] = {
	[AN_SENDER_VM] = AN_TOOL_RTT,      [AN_RECEIVER_VM] = AN_TOOL_RTT,
	[AN_SENDER_HOST] = AN_TOOL_IDD,    [AN_RECEIVER_HOST] = AN_TOOL_IDD,
	[AN_RECEIVER_VHOST] = AN_TOOL_TKI, [AN_SENDER_VHOST] = AN_TOOL_TKI,
};

static bool rec_fits_role(enum an_role role, const struct an_rec *r)
{
	if (r->tool != role_tool[role])
		return false;
	switch (role) {
	case AN_SENDER_VM:
		return r->u.rtt.tx;
	case AN_RECEIVER_VM:
		return !r->u.rtt.tx;
	case AN_RECEIVER_VHOST:
		return r->u.tki.complete && r->u.tki.icmp_type == 8;
	case AN_SENDER_VHOST:
		return r->u.tki.complete && r->u.tki.icmp_type == 0;
	default:
		return true;
	}
}

static double us(int64_t ns)
{
	return (double)ns / 1e3;
}

static void on_rec(void *arg, const struct an_rec *r)
{
	struct load_ctx *c = arg;
	struct an_echo *e;
	uint8_t bit = 1u << c->role;

	if (!rec_fits_role(c->role, r)) {
		c->in->ignored[c->role]++;
		return;
	}
	e = table_get(c->t, &r->key);
	if (!e)
		return;
	if (e->have & bit) {
		c->in->duplicates[c->role]++;
		return;
	}
	e->have |= bit;
	switch (c->role) {
	case AN_SENDER_VM:
		e->v[V_A] = us(r->u.rtt.path1_ns);
		e->v[V_S_INTER] = us(r->u.rtt.inter_ns);
		e->v[V_M] = us(r->u.rtt.path2_ns);
		e->v[V_RTT] = us(r->u.rtt.total_ns);
		e->wall_ns = r->wall_ns;
		break;
	case AN_RECEIVER_VM:
		e->v[V_F] = us(r->u.rtt.path1_ns);
		e->v[V_G] = us(r->u.rtt.inter_ns);
		e->v[V_H] = us(r->u.rtt.path2_ns);
		e->v[V_R_TOTAL] = us(r->u.rtt.total_ns);
		break;
	case AN_SENDER_HOST:
	case AN_RECEIVER_HOST: {
		bool s = c->role == AN_SENDER_HOST;

		e->v[s ? V_B : V_D] = us(r->u.idd.req_internal_ns);
		e->v[s ? V_HS_EXT : V_HR_EXT] = us(r->u.idd.external_ns);
		e->v[s ? V_K : V_I] = us(r->u.idd.rep_internal_ns);
		e->v[s ? V_HS_TOTAL : V_HR_TOTAL] = us(r->u.idd.total_ns);
		memcpy(s ? e->hs_ts : e->hr_ts, r->u.idd.ts_ns, sizeof(e->hs_ts));
		break;
	}
	case AN_RECEIVER_VHOST:
		e->v[V_E] = us(r->u.tki.total_ns);
		break;
	case AN_SENDER_VHOST:
		e->v[V_L] = us(r->u.tki.total_ns);
		break;
	default:
		break;
	}
}

static void role_check(struct an_input *in, enum an_role role, struct load_ctx *c)
{
	const struct an_file_info *fi = &in->info[role];
	char msg[256];

	if (fi->tool != AN_TOOL_UNKNOWN && fi->tool != role_tool[role]) {
		snprintf(msg, sizeof(msg),
			 "this is a %s log, but the %s log comes from %s: is it in the right place?",
			 an_tool_name(fi->tool), an_role_name(role), an_tool_name(role_tool[role]));
		on_warn(c, in->path[role], 1, msg);
	} else if (fi->tool == AN_TOOL_RTT && fi->rtt_direction >= 0 &&
		   fi->rtt_direction != (role == AN_SENDER_VM)) {
		snprintf(msg, sizeof(msg), "kernel_icmp_rtt --direction %s, but the %s log is %s",
			 fi->rtt_direction ? "tx" : "rx", an_role_name(role),
			 role == AN_SENDER_VM ? "tx" : "rx");
		on_warn(c, in->path[role], 1, msg);
	} else if (fi->records && in->ignored[role] == fi->records) {
		snprintf(msg, sizeof(msg), "none of its %llu records fits the %s role",
			 (unsigned long long)fi->records, an_role_name(role));
		on_warn(c, in->path[role], 1, msg);
	}
	if (fi->runs > 1) {
		snprintf(msg, sizeof(msg), "%d runs in one log (split at each start): joined by echo",
			 fi->runs);
		on_warn(c, in->path[role], 1, msg);
	}
}

/* Big logs take seconds: say which one is being read, on a terminal only. */
static void progress(const char *path, bool quiet)
{
	struct stat sb;

	if (quiet || !isatty(STDERR_FILENO) || stat(path, &sb) || sb.st_size < (16 << 20))
		return;
	fprintf(stderr, "netseg analyze: reading %s (%lld MiB)...\r", path,
		(long long)(sb.st_size >> 20));
	fflush(stderr);
}

static int cmp_partial(const void *a, const void *b)
{
	const struct an_partial *x = a, *y = b;

	if (x->key.id != y->key.id)
		return x->key.id < y->key.id ? -1 : 1;
	return x->key.seq < y->key.seq ? -1 : x->key.seq > y->key.seq;
}

int an_run(struct an_input *in, const char *env, bool same_clock, struct an_result *res,
	   bool quiet)
{
	struct table t = {};
	struct load_ctx c = { .t = &t, .in = in, .quiet = quiet };

	memset(res, 0, sizeof(*res));
	res->env = env;
	res->same_clock = same_clock;
	for (int r = 0; r < AN_N_ROLES; r++) {
		if (!in->path[r])
			continue;
		c.role = r;
		memset(&in->info[r], 0, sizeof(in->info[r]));
		progress(in->path[r], quiet);
		if (an_parse_file(in->path[r], on_rec, on_warn, &c, &in->info[r])) {
			char msg[256];

			snprintf(msg, sizeof(msg), "cannot read it: %s", strerror(errno));
			on_warn(&c, in->path[r], 0, msg);
			continue;
		}
		in->present[r] = true;
		role_check(in, r, &c);
	}
	res->in = *in;
	res->echoes_total = t.n;
	res->partial = calloc(t.n ? t.n : 1, sizeof(*res->partial));
	for (uint64_t i = 0; i < t.n && res->partial; i++) {
		uint8_t miss = ((1u << AN_N_ROLES) - 1) & ~t.e[i].have;

		if (miss) {
			res->partial[res->n_partial].key = t.e[i].key;
			res->partial[res->n_partial++].missing = miss;
		}
	}
	if (res->partial)
		qsort(res->partial, res->n_partial, sizeof(*res->partial), cmp_partial);
	an_analyze(t.e, t.n, res);
	res->warnings = c.warnings;
	free(t.e);
	free(t.slot);
	return 0;
}

void an_result_free(struct an_result *res)
{
	free(res->partial);
	res->partial = NULL;
}

/* ---- the command --------------------------------------------------------- */

static struct {
	const char *dir, *out, *env, *compare[2];
	bool json, same_clock;
	struct an_input in;
} opt;

enum {
	OPT_ROLE0 = 0x3000, /* + enum an_role */
	OPT_ENV = 0x3100,
	OPT_OUT,
	OPT_COMPARE,
	OPT_SAME_CLOCK,
};

static const char doc[] =
	"Join the six logs of one measurement per echo and break each VM-to-VM ping\n"
	"into its segments A..M (netseg-analyze(8) has the model): report.md,\n"
	"report.json and report.svg in --out (default: the logs' directory).\n"
	"\n"
	"DIR holds the seed's names: sfsvm-send.log, sfsvm-recv.log, host-send.log,\n"
	"host-recv.log, vhost-recv-request.log, vhost-send-reply.log. Each may be our\n"
	"tracers' --json or text output, or the original BCC tools' text. Echoes\n"
	"are joined by (initiator, target, ICMP id, seq), never by time; statistics\n"
	"cover only echoes every log has, the others are listed with the logs they\n"
	"are missing from. Exit status: 0, 1 when no echo could be joined, 2 for\n"
	"bad usage.\n"
	"\n"
	"EXAMPLES:\n"
	"  netseg analyze ./run1\n"
	"  netseg analyze --sender-vm a.log --receiver-vm b.log --sender-host c.log \\\n"
	"      --receiver-host d.log --receiver-vhost e.log --sender-vhost f.log --out rep\n"
	"  netseg analyze ./run1 --env prod-a --json > report.json\n"
	"  netseg analyze --compare ./before ./after --out cmp";

static const struct argp_option options[] = {
	{ "sender-vm", OPT_ROLE0 + AN_SENDER_VM, "FILE", 0, "VM-S's kernel_icmp_rtt log (sfsvm-send.log)", 0 },
	{ "receiver-vm", OPT_ROLE0 + AN_RECEIVER_VM, "FILE", 0, "VM-R's kernel_icmp_rtt log (sfsvm-recv.log)", 0 },
	{ "sender-host", OPT_ROLE0 + AN_SENDER_HOST, "FILE", 0, "HS's icmp_drop_detector log (host-send.log)", 0 },
	{ "receiver-host", OPT_ROLE0 + AN_RECEIVER_HOST, "FILE", 0, "HR's icmp_drop_detector log (host-recv.log)", 0 },
	{ "receiver-vhost", OPT_ROLE0 + AN_RECEIVER_VHOST, "FILE", 0, "HR's tun_tx_to_kvm_irq log (vhost-recv-request.log)", 0 },
	{ "sender-vhost", OPT_ROLE0 + AN_SENDER_VHOST, "FILE", 0, "HS's tun_tx_to_kvm_irq log (vhost-send-reply.log)", 0 },
	{ "env", OPT_ENV, "NAME", 0, "the environment's name, for the report", 0 },
	{ "out", OPT_OUT, "DIR", 0, "where the reports go (created)", 0 },
	{ "json", 'j', NULL, 0, "print report.json on stdout instead of the summary", 0 },
	{ "compare", OPT_COMPARE, NULL, 0, "compare two runs: DIR_A DIR_B (logs or a report.json each)", 0 },
	{ "same-clock", OPT_SAME_CLOCK, NULL, 0,
	  "every log comes from one kernel (the lab): also measure C and J directly", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_ENV:
		opt.env = arg;
		break;
	case OPT_OUT:
		opt.out = arg;
		break;
	case 'j':
		opt.json = true;
		break;
	case OPT_COMPARE:
		opt.compare[0] = "";
		break;
	case OPT_SAME_CLOCK:
		opt.same_clock = true;
		break;
	case ARGP_KEY_ARG:
		if (opt.compare[0]) {
			if (!opt.compare[0][0])
				opt.compare[0] = arg;
			else if (!opt.compare[1])
				opt.compare[1] = arg;
			else
				cli_usage_error("--compare takes two directories, not '%s' too", arg);
		} else if (!opt.dir) {
			opt.dir = arg;
		} else {
			cli_usage_error("one directory of logs, not '%s' too (see --help)", arg);
		}
		break;
	case ARGP_KEY_END:
		if (opt.compare[0] && (!opt.compare[0][0] || !opt.compare[1]))
			cli_usage_error("--compare needs two directories: DIR_A DIR_B");
		break;
	default:
		if (key >= OPT_ROLE0 && key < OPT_ROLE0 + AN_N_ROLES) {
			opt.in.path[key - OPT_ROLE0] = arg;
			break;
		}
		(void)state;
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static char role_paths[AN_N_ROLES][4096];

/* DIR's six files; a role given by option keeps its file. */
static int paths_from_dir(const char *dir, struct an_input *in)
{
	struct stat sb;
	int found = 0;

	if (stat(dir, &sb) || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "netseg analyze: '%s' is not a directory\n", dir);
		return -1;
	}
	for (int r = 0; r < AN_N_ROLES; r++) {
		if (in->path[r])
			continue;
		snprintf(role_paths[r], sizeof(role_paths[r]), "%s/%s", dir, an_role_file(r));
		if (!access(role_paths[r], R_OK)) {
			in->path[r] = role_paths[r];
			found++;
		}
	}
	return found;
}

static int write_file(const char *dir, const char *name, int (*fn)(FILE *, const struct an_result *),
		      const struct an_result *res)
{
	char path[4096];
	FILE *fp;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	if (!fp) {
		fprintf(stderr, "netseg analyze: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = fn(fp, res);
	if (fclose(fp) || rc) {
		fprintf(stderr, "netseg analyze: writing %s failed\n", path);
		return -1;
	}
	return 0;
}

static void print_summary(const struct an_result *res, const char *out)
{
	const struct an_agg *rtt = &res->agg[SEG_RTT];
	int order[SEG_N], n = 0;

	printf("netseg analyze%s%s: %llu echoes joined from all six logs, %llu partial\n",
	       res->env ? " " : "", res->env ? res->env : "", (unsigned long long)res->joined,
	       (unsigned long long)res->n_partial);
	if (!res->joined)
		return;
	printf("RTT (VM-S): p50 %.1f us, mean %.1f us, p99 %.1f us\n", rtt->p50, rtt->mean,
	       rtt->p99);
	for (int i = SEG_FIRST_LAYER; i < SEG_N; i++)
		order[n++] = i;
	printf("layers (mean, share of RTT):\n");
	for (int i = 0; i < n; i++)
		printf("  %-16s %10.1f us %6.1f %%\n", an_metrics[order[i]].name,
		       res->agg[order[i]].mean, res->agg[order[i]].share_pct);
	printf("validation: %s %llu/%llu echoes\n", res->ident[ID_LAYERS_SUM].name,
	       (unsigned long long)res->ident[ID_LAYERS_SUM].held,
	       (unsigned long long)res->ident[ID_LAYERS_SUM].of);
	printf("reports: %s/report.md %s/report.json %s/report.svg\n", out, out, out);
}

int analyze_main(int argc, char **argv)
{
	static const struct argp argp = { options, parse, "[DIR]", doc, NULL, NULL, NULL };
	struct an_result res;
	const char *out;
	int given = 0, rc;

	cli_set_tool("netseg analyze");
	argv[0] = "netseg analyze";
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return 2;
	if (opt.compare[0])
		return an_compare_main(opt.compare[0], opt.compare[1], opt.out, opt.json);
	for (int r = 0; r < AN_N_ROLES; r++)
		given += opt.in.path[r] != NULL;
	if (opt.dir && paths_from_dir(opt.dir, &opt.in) < 0)
		return 2;
	if (!opt.dir && !given)
		cli_usage_error("give a directory of logs or the logs one by one (see --help)");
	out = opt.out ? opt.out : opt.dir ? opt.dir : ".";
	if (mkdir(out, 0755) && errno != EEXIST) {
		fprintf(stderr, "netseg analyze: cannot create %s: %s\n", out, strerror(errno));
		return 2;
	}
	for (int r = 0; r < AN_N_ROLES; r++)
		if (!opt.in.path[r])
			fprintf(stderr, "netseg analyze: no %s log (%s): its segments stay empty\n",
				an_role_name(r), an_role_file(r));
	an_run(&opt.in, opt.env, opt.same_clock, &res, false);
	rc = write_file(out, "report.json", an_write_json, &res) |
	     write_file(out, "report.md", an_write_md, &res) |
	     write_file(out, "report.svg", an_write_svg, &res);
	if (opt.json)
		an_write_json(stdout, &res);
	else
		print_summary(&res, out);
	if (!res.joined)
		fprintf(stderr, "netseg analyze: no echo is in every log: nothing to break down\n");
	rc = rc ? 1 : !res.joined;
	an_result_free(&res);
	return rc;
}
