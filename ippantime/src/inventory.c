#include "inventory.h"
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Parse state: a loaded libyaml document plus where to report errors. */
struct ctx {
	const char *name;
	yaml_document_t doc;
	char *err;
	size_t errlen;
	int failed;
};

static int fail(struct ctx *c, yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	int off;
	if (c->failed)
		return -1;
	c->failed = 1;
	off = snprintf(c->err, c->errlen, "%s:%zu: ", c->name, n ? n->start_mark.line + 1 : 1);
	if (off < 0 || (size_t)off >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + off, c->errlen - (size_t)off, fmt, ap);
	va_end(ap);
	return -1;
}

static void warn_unknown(struct ctx *c, yaml_node_t *k, const char *where)
{
	fprintf(stderr, "ippantime: %s:%zu: warning: unknown key '%s' in %s ignored\n", c->name,
		k->start_mark.line + 1, (const char *)k->data.scalar.value, where);
}

static int is_null(yaml_node_t *n)
{
	const char *s;
	if (!n)
		return 1;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	s = (const char *)n->data.scalar.value;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static const char *scalar(yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int get_string(struct ctx *c, yaml_node_t *n, const char *key, char **out)
{
	if (is_null(n))
		return 0;
	if (n->type != YAML_SCALAR_NODE)
		return fail(c, n, "'%s' must be a string", key);
	if (!*scalar(n))
		return fail(c, n, "'%s' must not be empty", key);
	free(*out);
	*out = xstrdup(scalar(n));
	return 0;
}

static int get_long(struct ctx *c, yaml_node_t *n, const char *key, long lo, long hi, long *out)
{
	int64_t v;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SCALAR_NODE || ipt_parse_i64(scalar(n), &v))
		return fail(c, n, "'%s' must be an integer, got '%s'", key,
			    n->type == YAML_SCALAR_NODE ? scalar(n) : "(not a scalar)");
	if (v < lo || v > hi)
		return fail(c, n, "'%s' = %lld out of range %ld..%ld", key, (long long)v, lo, hi);
	*out = (long)v;
	return 0;
}

static int get_double(struct ctx *c, yaml_node_t *n, const char *key, double *out)
{
	double v;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SCALAR_NODE || ipt_parse_double(scalar(n), &v))
		return fail(c, n, "'%s' must be a number, got '%s'", key,
			    n->type == YAML_SCALAR_NODE ? scalar(n) : "(not a scalar)");
	if (!(v > 0))
		return fail(c, n, "'%s' must be > 0, got '%s'", key, scalar(n));
	*out = v;
	return 0;
}

static yaml_node_t *node_at(struct ctx *c, int idx)
{
	return yaml_document_get_node(&c->doc, idx);
}

/* YAML allows a key twice in a mapping (the last wins); in an inventory that is a typo. */
static int dup_key(struct ctx *c, yaml_node_t *map, yaml_node_pair_t *p)
{
	yaml_node_t *k = node_at(c, p->key);
	if (k->type != YAML_SCALAR_NODE)
		return fail(c, k, "keys must be strings");
	for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
		yaml_node_t *o = node_at(c, q->key);
		if (o->type == YAML_SCALAR_NODE && !strcmp(scalar(o), scalar(k)))
			return fail(c, k, "duplicate key '%s' (first at line %zu)", scalar(k),
				    o->start_mark.line + 1);
	}
	return 0;
}

static int parse_range(struct ctx *c, yaml_node_t *n, struct inv_host *h)
{
	yaml_node_t *a, *b;
	long first = 0, last = 0;
	if (n->type != YAML_SEQUENCE_NODE ||
	    n->data.sequence.items.top - n->data.sequence.items.start != 2)
		return fail(c, n, "'node_index_range' must be a list of two integers [first, last]");
	a = node_at(c, n->data.sequence.items.start[0]);
	b = node_at(c, n->data.sequence.items.start[1]);
	if (is_null(a) || is_null(b))
		return fail(c, n, "'node_index_range' must be a list of two integers [first, last]");
	if (get_long(c, a, "node_index_range", 0, 65535, &first) ||
	    get_long(c, b, "node_index_range", 0, 65535, &last))
		return -1;
	if (first > last)
		return fail(c, n, "inverted node_index_range [%ld, %ld] (first > last)", first, last);
	h->first = first;
	h->last = last;
	return 0;
}

static int parse_host(struct ctx *c, yaml_node_t *n, struct inv_host *h, int server, size_t idx)
{
	yaml_node_pair_t *p;
	int have_range = 0;
	h->line = (int)n->start_mark.line + 1;
	h->ssh_port = 22;
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "each %s entry must be a mapping", server ? "servers" : "threadrippers");
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_at(c, p->key), *v = node_at(c, p->value);
		const char *key;
		if (dup_key(c, n, p))
			return -1;
		key = scalar(k);
		if (!strcmp(key, "name")) {
			if (get_string(c, v, key, &h->name)) return -1;
		} else if (!strcmp(key, "host")) {
			if (get_string(c, v, key, &h->host)) return -1;
		} else if (!strcmp(key, "ssh_user")) {
			if (get_string(c, v, key, &h->ssh_user)) return -1;
		} else if (!strcmp(key, "ssh_port")) {
			if (get_long(c, v, key, 1, 65535, &h->ssh_port)) return -1;
		} else if (server && !strcmp(key, "node_index_range")) {
			if (parse_range(c, v, h)) return -1;
			have_range = 1;
		} else {
			warn_unknown(c, k, server ? "servers" : "threadrippers");
		}
	}
	if (!h->host)
		return fail(c, n, "%s entry %zu has no 'host'", server ? "servers" : "threadrippers", idx + 1);
	if (!h->name)
		h->name = server ? xasprintf("srv%zu", idx + 1) : xstrdup(h->host);
	if (!h->ssh_user)
		h->ssh_user = xstrdup("root");
	if (server && !have_range)
		return fail(c, n, "server '%s' has no 'node_index_range'", h->name);
	return 0;
}

static int parse_hosts(struct ctx *c, yaml_node_t *n, const char *key, struct inv_host **out,
		       size_t *count, int server)
{
	size_t cnt, i;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, "'%s' must be a list", key);
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	*out = xcalloc(cnt, sizeof(**out));
	*count = cnt;
	for (i = 0; i < cnt; i++)
		if (parse_host(c, node_at(c, n->data.sequence.items.start[i]), &(*out)[i], server, i))
			return -1;
	for (i = 0; i < cnt; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp((*out)[i].name, (*out)[j].name)) {
				yaml_node_t *e = node_at(c, n->data.sequence.items.start[i]);
				return fail(c, e, "duplicate %s name '%s' (first at line %d)", key,
					    (*out)[i].name, (*out)[j].line);
			}
	return 0;
}

static int parse_http(struct ctx *c, yaml_node_t *n, struct inventory *inv)
{
	yaml_node_pair_t *p;
	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "'http' must be a mapping");
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_at(c, p->key), *v = node_at(c, p->value);
		const char *key;
		if (dup_key(c, n, p))
			return -1;
		key = scalar(k);
		if (!strcmp(key, "base_port")) {
			if (get_long(c, v, key, 1, 65535, &inv->base_port)) return -1;
		} else if (!strcmp(key, "status_path")) {
			if (get_string(c, v, key, &inv->status_path)) return -1;
			if (inv->status_path[0] != '/')
				return fail(c, v, "'status_path' must start with '/', got '%s'", inv->status_path);
		} else if (!strcmp(key, "ippan_time_field")) {
			if (get_string(c, v, key, &inv->field)) return -1;
		} else if (!strcmp(key, "timeout_sec")) {
			if (get_double(c, v, key, &inv->timeout_sec)) return -1;
		} else {
			warn_unknown(c, k, "http");
		}
	}
	return 0;
}

static int parse_probe(struct ctx *c, yaml_node_t *n, struct inventory *inv)
{
	yaml_node_pair_t *p;
	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "'probe' must be a mapping");
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_at(c, p->key), *v = node_at(c, p->value);
		const char *key;
		if (dup_key(c, n, p))
			return -1;
		key = scalar(k);
		if (!strcmp(key, "samples")) {
			if (get_long(c, v, key, 1, 100000000L, &inv->samples)) return -1;
		} else if (!strcmp(key, "interval_ms")) {
			if (get_long(c, v, key, 1, 3600000L, &inv->interval_ms)) return -1;
		} else {
			warn_unknown(c, k, "probe");
		}
	}
	return 0;
}

static int parse_explicit(struct ctx *c, yaml_node_t *n, struct inventory *inv)
{
	size_t cnt, i;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, "'explicit_targets' must be a list");
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	inv->explicit_targets = xcalloc(cnt, sizeof(*inv->explicit_targets));
	inv->nexplicit = cnt;
	for (i = 0; i < cnt; i++) {
		yaml_node_t *e = node_at(c, n->data.sequence.items.start[i]);
		struct inv_target *t = &inv->explicit_targets[i];
		yaml_node_pair_t *p;
		t->line = (int)e->start_mark.line + 1;
		if (e->type != YAML_MAPPING_NODE)
			return fail(c, e, "each explicit_targets entry must be a mapping {node, url}");
		for (p = e->data.mapping.pairs.start; p < e->data.mapping.pairs.top; p++) {
			yaml_node_t *k = node_at(c, p->key), *v = node_at(c, p->value);
			const char *key;
			if (dup_key(c, e, p))
				return -1;
			key = scalar(k);
			if (!strcmp(key, "node")) {
				if (get_string(c, v, key, &t->node)) return -1;
			} else if (!strcmp(key, "url")) {
				if (get_string(c, v, key, &t->url)) return -1;
				if (t->url && strncmp(t->url, "http://", 7) && strncmp(t->url, "https://", 8))
					return fail(c, v, "'url' must start with http:// or https://, got '%s'", t->url);
			} else {
				warn_unknown(c, k, "explicit_targets");
			}
		}
		if (!t->node || !t->url)
			return fail(c, e, "explicit_targets entry %zu needs both 'node' and 'url'", i + 1);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(inv->explicit_targets[j].node, t->node))
				return fail(c, e, "duplicate node name '%s' (first at line %d)", t->node,
					    inv->explicit_targets[j].line);
	}
	return 0;
}

/* Checks that need the whole file: ports of the generated layout and node name clashes. */
static int check_layout(struct ctx *c, struct inventory *inv)
{
	for (size_t i = 0; i < inv->nservers; i++) {
		struct inv_host *s = &inv->servers[i];
		if (inv->base_port + s->last > 65535) {
			c->failed = 0;
			snprintf(c->err, c->errlen,
				 "%s:%d: server '%s': port %ld (base_port %ld + index %ld) is above 65535",
				 c->name, s->line, s->name, inv->base_port + s->last, inv->base_port, s->last);
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			struct inv_host *o = &inv->servers[j];
			if (s->first <= o->last && o->first <= s->last) {
				long dup = s->first > o->first ? s->first : o->first;
				snprintf(c->err, c->errlen,
					 "%s:%d: server '%s': node_index_range overlaps server '%s' (line %d): duplicate node name 'node-%02ld'",
					 c->name, s->line, s->name, o->name, o->line, dup);
				return -1;
			}
		}
	}
	return 0;
}

void inv_defaults(struct inventory *inv)
{
	memset(inv, 0, sizeof(*inv));
	inv->base_port = 8080;
	inv->status_path = xstrdup("/status");
	inv->field = xstrdup("ippan_time_us");
	inv->timeout_sec = 2.0;
	inv->samples = 600;
	inv->interval_ms = 25;
}

int inv_load_buf(const char *name, const char *buf, size_t len, struct inventory *inv, char *err,
		 size_t errlen)
{
	yaml_parser_t parser;
	struct ctx c = {.name = name, .err = err, .errlen = errlen};
	yaml_node_t *root;
	int rc = -1;

	inv_defaults(inv);
	inv->path = xstrdup(name);
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: cannot initialise YAML parser", name);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &c.doc)) {
		snprintf(err, errlen, "%s:%zu: malformed YAML: %s", name,
			 parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		return -1;
	}
	yaml_parser_delete(&parser);

	root = yaml_document_get_root_node(&c.doc);
	if (root && !is_null(root)) {
		yaml_node_pair_t *p;
		if (root->type != YAML_MAPPING_NODE) {
			fail(&c, root, "top level must be a mapping (servers:, threadrippers:, http:, probe:)");
			goto out;
		}
		for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
			yaml_node_t *k = node_at(&c, p->key), *v = node_at(&c, p->value);
			const char *key;
			int r = 0;
			if (dup_key(&c, root, p))
				goto out;
			key = scalar(k);
			if (!strcmp(key, "servers"))
				r = parse_hosts(&c, v, key, &inv->servers, &inv->nservers, 1);
			else if (!strcmp(key, "threadrippers"))
				r = parse_hosts(&c, v, key, &inv->probes, &inv->nprobes, 0);
			else if (!strcmp(key, "http"))
				r = parse_http(&c, v, inv);
			else if (!strcmp(key, "probe"))
				r = parse_probe(&c, v, inv);
			else if (!strcmp(key, "explicit_targets"))
				r = parse_explicit(&c, v, inv);
			else
				warn_unknown(&c, k, "the top level");
			if (r)
				goto out;
		}
	}
	if (check_layout(&c, inv))
		goto out;
	rc = 0;
out:
	yaml_document_delete(&c.doc);
	return rc;
}

int inv_load(const char *path, struct inventory *inv, char *err, size_t errlen)
{
	size_t len;
	char *buf = ipt_read_file(path, &len);
	int rc;
	if (!buf) {
		snprintf(err, errlen, "%s: cannot read inventory: %s", path, strerror(errno));
		inv_defaults(inv);
		return -1;
	}
	rc = inv_load_buf(path, buf, len, inv, err, errlen);
	free(buf);
	return rc;
}

static void free_hosts(struct inv_host *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].host);
		free(h[i].ssh_user);
	}
	free(h);
}

void inv_free(struct inventory *inv)
{
	free(inv->path);
	free_hosts(inv->servers, inv->nservers);
	free_hosts(inv->probes, inv->nprobes);
	free(inv->status_path);
	free(inv->field);
	for (size_t i = 0; i < inv->nexplicit; i++) {
		free(inv->explicit_targets[i].node);
		free(inv->explicit_targets[i].url);
	}
	free(inv->explicit_targets);
	memset(inv, 0, sizeof(*inv));
}
