// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * netseg measure: the environment file, parsed with libyaml's event API
 * into a small tree, then checked against a fixed schema.
 *
 * Why events and not yaml_parser_load(): the loader resolves aliases into
 * shared nodes, so a billion-laughs file would still cost a walk of every
 * expansion, and we could not tell an alias from a plain value. With
 * events we see every anchor, alias and tag and refuse them outright: an
 * environment file has no use for any of them.
 *
 * Every value ends up on a command line on some remote machine, so each is
 * checked against a whitelist of characters before it is stored; anything
 * echoed back in an error is escaped so the error stays one line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "lib/tracer.h"   /* NETSEG_VERSION, for the default tools dir */
#include "measure/env.h"

/* Bounds on the input: an environment file is a few hundred bytes, so
 * these only stop a hostile or mistaken file from costing memory/time. */
#define ENV_MAX_BYTES   (64 * 1024)
#define ENV_MAX_DEPTH   8
#define ENV_MAX_NODES   2048
#define PATHLEN         256

/* ---- validators ------------------------------------------------------ */

static bool in_set(char c, const char *extra)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr(extra, c);
}

bool env_valid_ifname(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	/* a leading '-' would read as an option to ip/tc/tcpdump */
	if (s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!in_set(s[i], "_.-"))
			return false;
	return true;
}

bool env_valid_ipv4(const char *s)
{
	struct in_addr a;
	char back[INET_ADDRSTRLEN];

	if (!s || strlen(s) >= sizeof(back))
		return false;
	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	/* canonical: the address must print back exactly as written, so
	 * "010.0.0.1" and friends cannot mean different things to different
	 * tools downstream */
	if (!inet_ntop(AF_INET, &a, back, sizeof(back)))
		return false;
	return !strcmp(back, s);
}

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* A DNS name: dot-separated labels of 1..63 letters, digits and '-', not
 * starting or ending with '-'. A name whose last label is numeric can
 * only be meant as an IPv4 address, so it must be a valid one (otherwise
 * "10.0.0.256" would pass as a "host name"). */
static bool valid_host(const char *h)
{
	size_t n = strlen(h);
	const char *label = h, *last = h;

	if (n < 1 || n > 253)
		return false;
	for (const char *p = h;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t ln = (size_t)(p - label);

			if (ln < 1 || ln > 63 || label[0] == '-' || label[ln - 1] == '-')
				return false;
			last = label;
			if (!*p)
				break;
			label = p + 1;
			continue;
		}
		if (!in_set(*p, "-"))
			return false;
	}
	if (all_digits(last, strlen(last)))
		return env_valid_ipv4(h);
	return true;
}

bool env_valid_ssh_target(const char *s)
{
	const char *at, *host;

	if (!s || !*s || s[0] == '-' || strlen(s) >= sizeof(((struct env_role_cfg *)0)->ssh))
		return false;
	at = strchr(s, '@');
	host = s;
	if (at) {
		size_t un = (size_t)(at - s);

		if (un < 1 || un > 32)
			return false;
		if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
			return false;
		for (size_t i = 1; i < un; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
			      s[i] == '_' || s[i] == '-'))
				return false;
		host = at + 1;
	}
	return valid_host(host);
}

bool env_valid_path(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 2 || n >= sizeof(((struct env_cfg *)0)->tools_dir) || s[0] != '/')
		return false;  /* "/" alone: the tools go *into* this directory */
	if (strstr(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!in_set(s[i], "_./+-"))
			return false;
	return true;
}

bool env_valid_word(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	/* a leading '-' would read as an option to `ip netns exec` */
	if (n < 1 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!in_set(s[i], "_.-"))
			return false;
	return true;
}

/* environment.name: a word that may also hold single spaces inside; it
 * goes into report titles, so the same whitelist applies otherwise. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || s[0] == '-' || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!in_set(s[i], "_.- "))
			return false;
	return true;
}

const char *env_role_name(enum env_role r)
{
	static const char *const names[ENV_N_ROLES] = {
		"sender-vm", "sender-host", "receiver-vm", "receiver-host",
	};

	return (unsigned)r < ENV_N_ROLES ? names[r] : "?";
}

/* ---- error reporting ------------------------------------------------- */

struct ctx {
	const char *file;
	char *err;
	size_t errlen;
	unsigned nodes;
};

/* Copy s for display: printable ASCII as is, the rest escaped, long
 * values cut, so a hostile value cannot split or flood the error line. */
static void show(char *out, size_t outlen, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 8 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= 48) {
			o += (size_t)snprintf(out + o, outlen - o, "...");
			break;
		}
		if (c == '\n')
			o += (size_t)snprintf(out + o, outlen - o, "\\n");
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

__attribute__((format(printf, 3, 4)))
static int fail(struct ctx *c, const char *path, const char *fmt, ...)
{
	char msg[512], file[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	show(file, sizeof(file), c->file, strlen(c->file));
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: %s: %s", file, path, msg);
	return -1;
}

static void join(char *out, const char *parent, const char *key, size_t keylen)
{
	char k[128];
	size_t o = 0;

	/* copied by hand and cut at PATHLEN: a path cut short still names
	 * the place well enough, and snprintf would draw truncation warnings */
	show(k, sizeof(k), key, keylen);
	for (const char *q = parent; *q && o + 1 < PATHLEN; q++)
		out[o++] = *q;
	if (parent[0] && o + 1 < PATHLEN)
		out[o++] = '.';
	for (const char *q = k; *q && o + 1 < PATHLEN; q++)
		out[o++] = *q;
	out[o] = '\0';
}

/* ---- YAML events -> tree --------------------------------------------- */

enum ykind { Y_SCALAR, Y_MAP, Y_SEQ };

struct ynode {
	enum ykind kind;
	char *s;              /* scalar text (NUL-terminated copy) */
	size_t len;           /* its length, which may differ from strlen */
	struct ynode **kid;   /* map: key, value, key, value...; seq: items */
	size_t n, cap;
};

static void yfree(struct ynode *y)
{
	if (!y)
		return;
	for (size_t i = 0; i < y->n; i++)
		yfree(y->kid[i]);
	free(y->kid);
	free(y->s);
	free(y);
}

static const char *kind_name(enum ykind k)
{
	return k == Y_MAP ? "a mapping" : k == Y_SEQ ? "a list" : "a single value";
}

static int next_event(struct ctx *c, yaml_parser_t *p, yaml_event_t *ev, const char *path)
{
	if (yaml_parser_parse(p, ev))
		return 0;
	return fail(c, path[0] ? path : "(file)", "not valid YAML: %s at line %zu column %zu",
		    p->problem ? p->problem : "syntax error",
		    (size_t)p->problem_mark.line + 1, (size_t)p->problem_mark.column + 1);
}

static int push(struct ynode *y, struct ynode *k)
{
	if (y->n == y->cap) {
		size_t cap = y->cap ? y->cap * 2 : 8;
		struct ynode **nk = realloc(y->kid, cap * sizeof(*nk));

		if (!nk)
			return -1;
		y->kid = nk;
		y->cap = cap;
	}
	y->kid[y->n++] = k;
	return 0;
}

/* Build the node that starts with ev (which this consumes). */
static struct ynode *build(struct ctx *c, yaml_parser_t *p, yaml_event_t *ev,
			   const char *path, int depth)
{
	const char *where = path[0] ? path : "(top level)";
	yaml_char_t *anchor = NULL, *tag = NULL;
	struct ynode *y = NULL;
	enum ykind kind;

	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		fail(c, where, "aliases (*name) are not accepted");
		goto out;
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		/* a plain scalar reports no tag unless one was written */
		tag = ev->data.scalar.tag;
		kind = Y_SCALAR;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		kind = Y_MAP;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		kind = Y_SEQ;
		break;
	default:
		fail(c, where, "unexpected YAML structure");
		goto out;
	}
	if (anchor) {
		fail(c, where, "anchors (&name) are not accepted");
		goto out;
	}
	if (tag) {
		fail(c, where, "tags (!name) are not accepted");
		goto out;
	}
	if (++c->nodes > ENV_MAX_NODES) {
		fail(c, where, "too many values (more than %d)", ENV_MAX_NODES);
		goto out;
	}
	if (depth > ENV_MAX_DEPTH) {
		fail(c, where, "nested too deep (more than %d levels)", ENV_MAX_DEPTH);
		goto out;
	}
	y = calloc(1, sizeof(*y));
	if (!y) {
		fail(c, where, "out of memory");
		goto out;
	}
	y->kind = kind;
	if (kind == Y_SCALAR) {
		y->len = ev->data.scalar.length;
		y->s = malloc(y->len + 1);
		if (!y->s) {
			fail(c, where, "out of memory");
			free(y);
			y = NULL;
		}
		else {
			memcpy(y->s, ev->data.scalar.value, y->len);
			y->s[y->len] = '\0';
		}
		goto out;
	}

	yaml_event_delete(ev);
	for (size_t i = 0;; i++) {
		yaml_event_t kev;
		struct ynode *k, *v;
		char sub[PATHLEN];

		if (next_event(c, p, &kev, path))
			goto bad;
		if (kev.type == YAML_MAPPING_END_EVENT || kev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&kev);
			return y;
		}
		if (kind == Y_SEQ) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			v = build(c, p, &kev, sub, depth + 1);
			if (!v || push(y, v)) {
				yfree(v);
				goto bad;
			}
			continue;
		}
		k = build(c, p, &kev, path, depth + 1);
		if (!k)
			goto bad;
		if (push(y, k)) {
			yfree(k);
			goto bad;
		}
		if (k->kind != Y_SCALAR) {
			fail(c, where, "a key must be a single value, not %s", kind_name(k->kind));
			goto bad;
		}
		join(sub, path, k->s, k->len);
		if (next_event(c, p, &kev, sub))
			goto bad;
		v = build(c, p, &kev, sub, depth + 1);
		if (!v || push(y, v)) {
			yfree(v);
			goto bad;
		}
	}
bad:
	yfree(y);
	return NULL;
out:
	yaml_event_delete(ev);
	return y;
}

/* ---- schema ---------------------------------------------------------- */

/* Refuse duplicate and unknown keys in a mapping. `known` and `tolerated`
 * are NULL-terminated; tolerated keys are the seed's, accepted and unused. */
static int check_keys(struct ctx *c, const struct ynode *m, const char *path,
		      const char *const *known, const char *const *tolerated)
{
	char sub[PATHLEN];

	for (size_t i = 0; i < m->n; i += 2) {
		const struct ynode *k = m->kid[i];
		bool ok = false;

		join(sub, path, k->s, k->len);
		for (size_t j = 0; j < i; j += 2)
			if (m->kid[j]->len == k->len && !memcmp(m->kid[j]->s, k->s, k->len))
				return fail(c, sub, "duplicate key");
		for (const char *const *q = known; *q && !ok; q++)
			ok = strlen(*q) == k->len && !memcmp(*q, k->s, k->len);
		for (const char *const *q = tolerated; q && *q && !ok; q++)
			ok = strlen(*q) == k->len && !memcmp(*q, k->s, k->len);
		if (!ok)
			return fail(c, sub, "unknown key");
	}
	return 0;
}

static const struct ynode *get(const struct ynode *m, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; m && i + 1 < m->n; i += 2)
		if (m->kid[i]->len == n && !memcmp(m->kid[i]->s, key, n))
			return m->kid[i + 1];
	return NULL;
}

/* A mapping under `key`; NULL with *rc = 0 when absent and not required. */
static const struct ynode *get_map(struct ctx *c, const struct ynode *m, const char *path,
				   const char *key, bool required, int *rc)
{
	const struct ynode *v = get(m, key);
	char sub[PATHLEN];

	join(sub, path, key, strlen(key));
	*rc = 0;
	if (!v) {
		if (required)
			*rc = fail(c, sub, "missing (a mapping of keys is expected)");
		return NULL;
	}
	if (v->kind != Y_MAP) {
		*rc = fail(c, sub, "expected a mapping of keys, got %s", kind_name(v->kind));
		return NULL;
	}
	return v;
}

typedef bool (*validator)(const char *);

/*
 * A string value under `key` into out (outlen bytes). Returns 1 when
 * present and valid, 0 when absent (an error when required), -1 on error.
 * `what` says what is expected, for the message.
 */
static int get_str(struct ctx *c, const struct ynode *m, const char *path, const char *key,
		   char *out, size_t outlen, bool required, validator ok, const char *what)
{
	const struct ynode *v = get(m, key);
	char sub[PATHLEN], shown[128];

	join(sub, path, key, strlen(key));
	if (!v) {
		if (required)
			return fail(c, sub, "missing (%s)", what);
		return 0;
	}
	if (v->kind != Y_SCALAR)
		return fail(c, sub, "expected %s, got %s", what, kind_name(v->kind));
	show(shown, sizeof(shown), v->s, v->len);
	if (v->len == 0)
		return fail(c, sub, "empty (%s)", what);
	if (strlen(v->s) != v->len)
		return fail(c, sub, "'%s' holds a NUL byte", shown);
	if (v->len >= outlen)
		return fail(c, sub, "'%s' is too long (at most %zu characters)", shown, outlen - 1);
	if (!ok(v->s))
		return fail(c, sub, "'%s' is not %s", shown, what);
	memcpy(out, v->s, v->len + 1);
	return 1;
}

/* A plain decimal: digits, with an optional fraction when frac is set.
 * No signs, exponents, hex, inf or nan: strtod alone would take all. */
static bool parse_decimal(const char *s, bool frac, double *out)
{
	size_t i = 0, n = strlen(s);

	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == 0 || i > 12)
		return false;
	if (i < n) {
		size_t j;

		if (!frac || s[i] != '.')
			return false;
		j = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == j || i != n || i - j > 9)
			return false;
	}
	*out = strtod(s, NULL);
	return true;
}

/* Numbers: 1 when present and in [lo, hi], 0 when absent, -1 on error. */
static int get_num(struct ctx *c, const struct ynode *m, const char *path, const char *key,
		   bool frac, double lo, double hi, double *out)
{
	const struct ynode *v = get(m, key);
	char sub[PATHLEN], shown[128];
	const char *what = frac ? "a number" : "a whole number";
	double d;

	join(sub, path, key, strlen(key));
	if (!v)
		return 0;
	if (v->kind != Y_SCALAR)
		return fail(c, sub, "expected %s, got %s", what, kind_name(v->kind));
	show(shown, sizeof(shown), v->s, v->len);
	if (strlen(v->s) != v->len || !parse_decimal(v->s, frac, &d) || d < lo || d > hi)
		return fail(c, sub, "'%s' is not %s in %g..%g", shown, what, lo, hi);
	*out = d;
	return 1;
}

static int get_bool(struct ctx *c, const struct ynode *m, const char *path, const char *key,
		    bool *out)
{
	const struct ynode *v = get(m, key);
	char sub[PATHLEN], shown[128];

	join(sub, path, key, strlen(key));
	if (!v)
		return 0;
	if (v->kind != Y_SCALAR)
		return fail(c, sub, "expected true or false, got %s", kind_name(v->kind));
	/* only YAML 1.2's spellings: "yes"/"no"/"on" mean different things
	 * to different parsers, and this value decides whether we run sudo */
	if (!strcmp(v->s, "true") && v->len == 4)
		*out = true;
	else if (!strcmp(v->s, "false") && v->len == 5)
		*out = false;
	else {
		show(shown, sizeof(shown), v->s, v->len);
		return fail(c, sub, "'%s' is not true or false", shown);
	}
	return 1;
}

static bool is_transport(const char *s)
{
	return !strcmp(s, "ssh") || !strcmp(s, "lab");
}

static int parse_environment(struct ctx *c, const struct ynode *root, struct env_cfg *cfg)
{
	static const char *const known[] = { "name", "transport", "kind", "prefix", NULL };
	const struct ynode *e;
	char transport[8] = "", kind[8] = "";
	int rc, has_prefix;

	e = get_map(c, root, "", "environment", false, &rc);
	if (rc)
		return rc;
	if (!e)
		return 0;  /* all of it is optional for transport ssh */
	if (check_keys(c, e, "environment", known, NULL))
		return -1;
	if (get_str(c, e, "environment", "name", cfg->name, sizeof(cfg->name), false, valid_name,
		    "a name of A-Z a-z 0-9 _ . - and spaces") < 0)
		return -1;
	if (get_str(c, e, "environment", "transport", transport, sizeof(transport), false,
		    is_transport, "ssh or lab") < 0)
		return -1;
	/* `netseg lab env` writes `kind: lab`: the same thing, another name */
	if (get_str(c, e, "environment", "kind", kind, sizeof(kind), false, is_transport,
		    "ssh or lab") < 0)
		return -1;
	if (transport[0] && kind[0] && strcmp(transport, kind))
		return fail(c, "environment.kind", "'%s' contradicts transport '%s'", kind, transport);
	if (!strcmp(transport, "lab") || !strcmp(kind, "lab"))
		cfg->transport = ENV_TRANSPORT_LAB;
	has_prefix = get_str(c, e, "environment", "prefix", cfg->lab_prefix,
			     sizeof(cfg->lab_prefix), false, env_valid_word,
			     "a lab prefix of A-Z a-z 0-9 _ . -");
	if (has_prefix < 0)
		return -1;
	if (has_prefix && cfg->transport != ENV_TRANSPORT_LAB)
		return fail(c, "environment.prefix", "only with transport lab");
	return 0;
}

/* Finish a lab config once we know whether this is one. */
static int check_lab_prefix(struct ctx *c, const struct env_cfg *cfg)
{
	if (cfg->transport == ENV_TRANSPORT_LAB && !cfg->lab_prefix[0])
		return fail(c, "environment.prefix", "missing (transport lab needs the lab's prefix)");
	return 0;
}

static int parse_role(struct ctx *c, const struct ynode *side, const char *sidename,
		      bool vm, struct env_cfg *cfg, struct env_role_cfg *r)
{
	/* `interface` is the VM's own NIC as `netseg lab env` names it: known,
	 * checked, not stored (nothing in env_cfg needs it yet) */
	static const char *const vm_keys[] = { "ssh", "ip", "sudo", "netns", "interface", NULL };
	static const char *const host_keys[] = { "ssh", "vnet_interface", "phy_interface", "sudo",
						 "netns", NULL };
	const char *ifwhat = "an interface name (1-15 of A-Z a-z 0-9 _ . -)";
	const struct ynode *m;
	char path[PATHLEN], ifname[16];
	bool lab = cfg->transport == ENV_TRANSPORT_LAB;
	int rc;

	snprintf(path, sizeof(path), "%s", sidename);
	m = get_map(c, side, path, vm ? "vm" : "host", true, &rc);
	if (!m)
		return rc ? rc : -1;
	snprintf(path, sizeof(path), "%s.%s", sidename, vm ? "vm" : "host");
	if (check_keys(c, m, path, vm ? vm_keys : host_keys, NULL))
		return -1;

	rc = get_str(c, m, path, "ssh", r->ssh, sizeof(r->ssh), !lab, env_valid_ssh_target,
		     "an ssh target ([user@]host, not starting with '-')");
	if (rc < 0)
		return -1;
	if (rc && lab) {
		char sub[PATHLEN];

		join(sub, path, "ssh", 3);
		return fail(c, sub, "not with transport lab (the roles are namespaces)");
	}
	rc = get_str(c, m, path, "netns", r->netns, sizeof(r->netns), lab, env_valid_word,
		     "a namespace name of A-Z a-z 0-9 _ . -");
	if (rc < 0)
		return -1;
	if (rc && !lab) {
		char sub[PATHLEN];

		join(sub, path, "netns", 5);
		return fail(c, sub, "only with transport lab");
	}
	if (get_bool(c, m, path, "sudo", &r->sudo) < 0)
		return -1;
	if (vm) {
		if (get_str(c, m, path, "ip", r->ip, sizeof(r->ip), true, env_valid_ipv4,
			    "a dotted IPv4 address") < 0)
			return -1;
		if (get_str(c, m, path, "interface", ifname, sizeof(ifname), false,
			    env_valid_ifname, ifwhat) < 0)
			return -1;
		return 0;
	}
	if (get_str(c, m, path, "vnet_interface", r->vnet, sizeof(r->vnet), true,
		    env_valid_ifname, ifwhat) < 0)
		return -1;
	if (get_str(c, m, path, "phy_interface", r->phy, sizeof(r->phy), true,
		    env_valid_ifname, ifwhat) < 0)
		return -1;
	return 0;
}

static int parse_side(struct ctx *c, const struct ynode *root, const char *name,
		      struct env_cfg *cfg, enum env_role vm, enum env_role host)
{
	static const char *const known[] = { "vm", "host", NULL };
	const struct ynode *s;
	int rc;

	s = get_map(c, root, "", name, true, &rc);
	if (!s)
		return rc ? rc : -1;
	if (check_keys(c, s, name, known, NULL))
		return -1;
	if (parse_role(c, s, name, true, cfg, &cfg->role[vm]))
		return -1;
	return parse_role(c, s, name, false, cfg, &cfg->role[host]);
}

static bool any_scalar(const char *s)
{
	(void)s;
	return true;
}

static int parse_tools(struct ctx *c, const struct ynode *root, struct env_cfg *cfg)
{
	static const char *const known[] = { "dir", NULL };
	/* the seed named each tracer's path; measure copies its own tracers
	 * into dir, so those paths are accepted (as single values) and unused */
	static const char *const seed[] = { "pktwatch", "kernel_icmp_rtt", "icmp_drop_detector",
					    "tun_tx_to_kvm_irq", NULL };
	const struct ynode *t;
	char unused[1024];
	int rc;

	t = get_map(c, root, "", "tools", false, &rc);
	if (!t)
		return rc;
	if (check_keys(c, t, "tools", known, seed))
		return -1;
	for (const char *const *q = seed; *q; q++)
		if (get_str(c, t, "tools", *q, unused, sizeof(unused), false, any_scalar,
			    "a path") < 0)
			return -1;
	if (get_str(c, t, "tools", "dir", cfg->tools_dir, sizeof(cfg->tools_dir), false,
		    env_valid_path, "an absolute path of A-Z a-z 0-9 _ . / + - without '..'") < 0)
		return -1;
	return 0;
}

static int parse_measurement(struct ctx *c, const struct ynode *root, struct env_cfg *cfg)
{
	static const char *const known[] = { "duration", "ping_count", "ping_interval", NULL };
	const struct ynode *m;
	double d;
	int rc;

	m = get_map(c, root, "", "measurement", false, &rc);
	if (!m)
		return rc;
	if (check_keys(c, m, "measurement", known, NULL))
		return -1;
	if (get_num(c, m, "measurement", "duration", true, 1, 86400, &cfg->duration_s) < 0)
		return -1;
	rc = get_num(c, m, "measurement", "ping_count", false, 1, 100000, &d);
	if (rc < 0)
		return -1;
	if (rc)
		cfg->ping_count = (unsigned)d;
	/* ping's own floor is 0.002 s (unprivileged); an hour is surely a typo */
	if (get_num(c, m, "measurement", "ping_interval", true, 0.002, 3600,
		    &cfg->ping_interval_s) < 0)
		return -1;
	return 0;
}

static bool is_wire_kind(const char *s)
{
	return !strcmp(s, "veth") || !strcmp(s, "relay");
}

/* `netseg lab env`'s description of the lab's wire and vmm: known keys,
 * checked for shape so a typo is still caught, not stored. */
static int parse_lab_extras(struct ctx *c, const struct ynode *root)
{
	static const char *const wire_keys[] = { "kind", "delay_us", NULL };
	static const char *const vmm_keys[] = { "kvm", "delay_us_to_vm", "delay_us_from_vm", NULL };
	const struct ynode *w, *v, *d;
	char kind[8];
	double x;
	bool b;
	int rc;

	w = get_map(c, root, "", "wire", false, &rc);
	if (rc)
		return rc;
	if (w) {
		if (check_keys(c, w, "wire", wire_keys, NULL))
			return -1;
		if (get_str(c, w, "wire", "kind", kind, sizeof(kind), false, is_wire_kind,
			    "veth or relay") < 0)
			return -1;
		d = get(w, "delay_us");
		if (d && (d->kind != Y_SEQ || d->n != 2))
			return fail(c, "wire.delay_us", "expected a list of two whole numbers");
		for (size_t i = 0; d && i < d->n; i++) {
			char shown[128], sub[PATHLEN];

			snprintf(sub, sizeof(sub), "wire.delay_us[%zu]", i);
			if (d->kid[i]->kind != Y_SCALAR)
				return fail(c, sub, "expected a whole number, got %s",
					    kind_name(d->kid[i]->kind));
			show(shown, sizeof(shown), d->kid[i]->s, d->kid[i]->len);
			if (strlen(d->kid[i]->s) != d->kid[i]->len ||
			    !parse_decimal(d->kid[i]->s, false, &x) || x > 10e6)
				return fail(c, sub, "'%s' is not a whole number in 0..10000000",
					    shown);
		}
	}
	v = get_map(c, root, "", "vmm", false, &rc);
	if (rc)
		return rc;
	if (v) {
		if (check_keys(c, v, "vmm", vmm_keys, NULL))
			return -1;
		if (get_bool(c, v, "vmm", "kvm", &b) < 0 ||
		    get_num(c, v, "vmm", "delay_us_to_vm", false, 0, 10e6, &x) < 0 ||
		    get_num(c, v, "vmm", "delay_us_from_vm", false, 0, 10e6, &x) < 0)
			return -1;
	}
	return 0;
}

static int parse_root(struct ctx *c, const struct ynode *root, struct env_cfg *cfg)
{
	static const char *const known[] = { "environment", "sender", "receiver", "tools",
					     "measurement", "wire", "vmm", NULL };

	if (root->kind != Y_MAP)
		return fail(c, "(top level)", "expected a mapping (environment:, sender:, "
			    "receiver:, ...), got %s", kind_name(root->kind));
	if (check_keys(c, root, "", known, NULL))
		return -1;
	if (parse_environment(c, root, cfg) || check_lab_prefix(c, cfg))
		return -1;
	if (parse_side(c, root, "sender", cfg, ENV_SENDER_VM, ENV_SENDER_HOST) ||
	    parse_side(c, root, "receiver", cfg, ENV_RECEIVER_VM, ENV_RECEIVER_HOST))
		return -1;
	if (!strcmp(cfg->role[ENV_SENDER_VM].ip, cfg->role[ENV_RECEIVER_VM].ip))
		return fail(c, "receiver.vm.ip", "'%s' is the sender's address too",
			    cfg->role[ENV_RECEIVER_VM].ip);
	if (parse_tools(c, root, cfg) || parse_measurement(c, root, cfg) ||
	    parse_lab_extras(c, root))
		return -1;
	return 0;
}

/* ---- the file -------------------------------------------------------- */

static char *read_file(struct ctx *c, const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fail(c, "(file)", "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fail(c, "(file)", "not a regular file");
		goto out;
	}
	buf = malloc(ENV_MAX_BYTES + 1);
	if (!buf) {
		fail(c, "(file)", "out of memory");
		goto out;
	}
	/* read one byte past the limit to tell "exactly at" from "over" */
	while (n <= ENV_MAX_BYTES) {
		ssize_t r = read(fd, buf + n, ENV_MAX_BYTES + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fail(c, "(file)", "cannot read: %s", strerror(errno));
			goto bad;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > ENV_MAX_BYTES) {
		fail(c, "(file)", "too large (over %d bytes)", ENV_MAX_BYTES);
		goto bad;
	}
	*len = n;
	goto out;
bad:
	free(buf);
	buf = NULL;
out:
	close(fd);
	return buf;
}

int env_load(const char *path, struct env_cfg *cfg, char *err, size_t errlen)
{
	struct ctx c = { .file = path ? path : "(null)", .err = err, .errlen = errlen };
	yaml_parser_t p;
	yaml_event_t ev;
	struct ynode *root = NULL;
	size_t len = 0;
	char *buf;
	int rc = -1;

	if (err && errlen)
		err[0] = '\0';
	memset(cfg, 0, sizeof(*cfg));
	cfg->transport = ENV_TRANSPORT_SSH;
	for (int r = 0; r < ENV_N_ROLES; r++)
		cfg->role[r].sudo = true;
	snprintf(cfg->tools_dir, sizeof(cfg->tools_dir), "/tmp/netseg-%s", NETSEG_VERSION);
	cfg->duration_s = 60;
	cfg->ping_count = 50;
	cfg->ping_interval_s = 0.2;
	if (!path)
		return fail(&c, "(file)", "no file given");

	buf = read_file(&c, path, &len);
	if (!buf)
		return -1;
	if (!yaml_parser_initialize(&p)) {
		free(buf);
		return fail(&c, "(file)", "out of memory");
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);

	/* stream start, then exactly one document */
	if (next_event(&c, &p, &ev, ""))
		goto out;
	yaml_event_delete(&ev);
	if (next_event(&c, &p, &ev, ""))
		goto out;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		fail(&c, "(file)", "empty (an environment file names sender: and receiver:)");
		goto out;
	}
	yaml_event_delete(&ev);  /* document start */
	if (next_event(&c, &p, &ev, ""))
		goto out;
	root = build(&c, &p, &ev, "", 0);
	if (!root)
		goto out;
	if (next_event(&c, &p, &ev, ""))  /* document end */
		goto out;
	yaml_event_delete(&ev);
	if (next_event(&c, &p, &ev, ""))
		goto out;
	if (ev.type != YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		fail(&c, "(file)", "more than one YAML document");
		goto out;
	}
	yaml_event_delete(&ev);
	rc = parse_root(&c, root, cfg);
out:
	yfree(root);
	yaml_parser_delete(&p);
	free(buf);
	return rc;
}
