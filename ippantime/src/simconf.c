/* sim config file: "nodes N", "base_port P", "field F", "status_path P", "all K=V ...",
 * "node I K=V ..." (see ippantime sim --help). */
#include "simconf.h"
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const fault_names[F__COUNT] = {
	"none", "timeout", "close", "down", "http500", "nonjson", "missing", "time_only", "string",
	"badstring", "negstring", "float", "negative", "bool", "null", "array", "huge", "slow",
	"redirect_same", "redirect_other",
};


static int set_key(struct simnode *nd, const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	char key[32];
	const char *v;
	int64_t iv;
	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key)) {
		snprintf(err, errlen, "expected KEY=VALUE, got '%s'", kv);
		return -1;
	}
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = 0;
	v = eq + 1;
	if (!strcmp(key, "fault")) {
		for (int f = 0; f < F__COUNT; f++)
			if (!strcmp(v, fault_names[f])) {
				nd->fault = (enum fault)f;
				return 0;
			}
		snprintf(err, errlen, "unknown fault '%s'", v);
		return -1;
	}
	if (!strcmp(key, "drift_ppm")) {
		if (ipt_parse_double(v, &nd->drift_ppm)) {
			snprintf(err, errlen, "bad drift_ppm '%s'", v);
			return -1;
		}
		return 0;
	}
	if (ipt_parse_i64(v, &iv)) {
		snprintf(err, errlen, "bad integer for %s: '%s'", key, v);
		return -1;
	}
	if (!strcmp(key, "offset_us"))
		nd->offset_us = iv;
	else if (!strcmp(key, "jitter_us") && iv >= 0)
		nd->jitter_us = iv;
	else if (!strcmp(key, "step_at_ms") && iv >= 0)
		nd->step_at_ms = iv, nd->step_mode = 1;
	else if (!strcmp(key, "step_at_req") && iv >= 1)
		nd->step_at_req = iv, nd->step_mode = 2;
	else if (!strcmp(key, "step_us")) {
		nd->step_us = iv;
		if (!nd->step_mode)
			nd->step_mode = 1;
	}
	else if (!strcmp(key, "delay_ms") && iv >= 0)
		nd->delay_ms = iv;
	else if (!strcmp(key, "fault_every") && iv >= 1)
		nd->fault_every = (long)iv;
	else if (!strcmp(key, "split_writes") && (iv == 0 || iv == 1))
		nd->split_writes = (int)iv;
	else {
		snprintf(err, errlen, "unknown key or bad value '%s'", kv);
		return -1;
	}
	return 0;
}

/* Two passes: globals (nodes/base_port/...) first so node lines can be range-checked. */
int sim_load_config(struct sim *s, const char *path, int nodes_given, int port_given)
{
	size_t len;
	char *buf = ipt_read_file(path, &len), *line, *save = NULL;
	char err[256];
	int lineno = 0;
	struct simnode all = {.fault_every = 1};

	if (!buf) {
		ipt_err("sim: cannot read --config '%s': %s", path, strerror(errno));
		return -1;
	}
	for (int pass = 0; pass < 2; pass++) {
		char *copy = xstrdup(buf);
		lineno = 0;
		for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *tok[64], *sv2 = NULL, *t, *hash = strchr(line, '#');
			int nt = 0;
			lineno++;
			if (hash)
				*hash = 0;
			for (t = strtok_r(line, " \t\r", &sv2); t && nt < 64; t = strtok_r(NULL, " \t\r", &sv2))
				tok[nt++] = t;
			if (!nt)
				continue;
			if (pass == 0) {
				long v;
				if (!strcmp(tok[0], "nodes") && nt == 2) {
					if (ipt_parse_int_range(tok[1], 1, 4096, &v))
						goto bad_value;
					if (!nodes_given)
						s->n = v;
				} else if (!strcmp(tok[0], "base_port") && nt == 2) {
					if (ipt_parse_int_range(tok[1], 1, 65535, &v))
						goto bad_value;
					if (!port_given)
						s->base_port = v;
				} else if (!strcmp(tok[0], "field") && nt == 2) {
					free(s->field);
					s->field = xstrdup(tok[1]);
				} else if (!strcmp(tok[0], "status_path") && nt == 2 && tok[1][0] == '/') {
					free(s->status_path);
					s->status_path = xstrdup(tok[1]);
				} else if (strcmp(tok[0], "all") && strcmp(tok[0], "node")) {
					ipt_err("sim: %s:%d: unknown directive '%s'", path, lineno, tok[0]);
					free(copy);
					free(buf);
					return -1;
				}
				continue;
			}
			if (!strcmp(tok[0], "all")) {
				for (int i = 1; i < nt; i++)
					if (set_key(&all, tok[i], err, sizeof(err)))
						goto bad_key;
				for (long i = 0; i < s->n; i++) {
					uint64_t rng = s->nodes[i].rng;
					s->nodes[i] = all;
					s->nodes[i].rng = rng;
				}
			} else if (!strcmp(tok[0], "node")) {
				long idx;
				if (nt < 2 || ipt_parse_int_range(tok[1], 0, s->n - 1, &idx)) {
					ipt_err("sim: %s:%d: node index '%s' not in 0..%ld", path, lineno,
						nt > 1 ? tok[1] : "", s->n - 1);
					free(copy);
					free(buf);
					return -1;
				}
				for (int i = 2; i < nt; i++)
					if (set_key(&s->nodes[idx], tok[i], err, sizeof(err)))
						goto bad_key;
			}
			continue;
		bad_key:
			ipt_err("sim: %s:%d: %s", path, lineno, err);
			free(copy);
			free(buf);
			return -1;
		bad_value:
			ipt_err("sim: %s:%d: bad value '%s' for %s", path, lineno, tok[1], tok[0]);
			free(copy);
			free(buf);
			return -1;
		}
		free(copy);
		if (pass == 0) {
			s->nodes = xcalloc((size_t)s->n, sizeof(*s->nodes));
			for (long i = 0; i < s->n; i++)
				s->nodes[i].fault_every = 1;
		}
		for (long i = 0; pass == 0 && i < s->n; i++)
			s->nodes[i].rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(i + 1) * 0xBF58476D1CE4E5B9ULL;
	}
	free(buf);
	return 0;
}

void sim_default_nodes(struct sim *s)
{
	s->nodes = xcalloc((size_t)s->n, sizeof(*s->nodes));
	for (long i = 0; i < s->n; i++)
		s->nodes[i].fault_every = 1;
}
