#include "targets.h"
#include "common.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int target_mode_parse(const char *s, enum target_mode *m)
{
	if (!strcmp(s, "expected"))
		*m = TM_EXPECTED;
	else if (!strcmp(s, "explicit"))
		*m = TM_EXPLICIT;
	else if (!strcmp(s, "auto"))
		*m = TM_AUTO;
	else
		return -1;
	return 0;
}

const char *target_mode_name(enum target_mode m)
{
	return m == TM_EXPECTED ? "expected" : m == TM_EXPLICIT ? "explicit" : "auto";
}

static void push(struct target_list *tl, char *node, char *url)
{
	tl->v = xrealloc(tl->v, (tl->n + 1) * sizeof(*tl->v));
	tl->v[tl->n].node = node;
	tl->v[tl->n].url = url;
	tl->n++;
}

void targets_from_inventory(const struct inventory *inv, enum target_mode m, struct target_list *out)
{
	memset(out, 0, sizeof(*out));
	if (m == TM_AUTO)
		m = inv->nexplicit ? TM_EXPLICIT : TM_EXPECTED;
	if (m == TM_EXPLICIT) {
		for (size_t i = 0; i < inv->nexplicit; i++)
			push(out, xstrdup(inv->explicit_targets[i].node),
			     xstrdup(inv->explicit_targets[i].url));
		return;
	}
	for (size_t s = 0; s < inv->nservers; s++) {
		const struct inv_host *h = &inv->servers[s];
		/* An IPv6 literal needs brackets in a URL; names and IPv4 do not. */
		int v6 = strchr(h->host, ':') && h->host[0] != '[';
		for (long i = h->first; i <= h->last; i++)
			push(out, xasprintf("node-%02ld", i),
			     xasprintf(v6 ? "http://[%s]:%ld" : "http://%s:%ld", h->host, inv->base_port + i));
	}
}

int targets_from_json(const char *json, size_t len, struct target_list *out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
	size_t i;
	json_t *e;

	memset(out, 0, sizeof(*out));
	if (!root) {
		snprintf(err, errlen, "targets must be a non-empty JSON list: %s (line %d)", jerr.text, jerr.line);
		return -1;
	}
	if (!json_is_array(root) || json_array_size(root) == 0) {
		snprintf(err, errlen, "targets must be a non-empty JSON list");
		json_decref(root);
		return -1;
	}
	json_array_foreach(root, i, e) {
		json_t *n = json_object_get(e, "node"), *u = json_object_get(e, "url");
		if (!json_is_object(e) || !json_is_string(n) || !json_is_string(u) ||
		    !*json_string_value(n) || !*json_string_value(u)) {
			snprintf(err, errlen, "targets entry %zu must be an object with string 'node' and 'url'", i);
			json_decref(root);
			targets_free(out);
			return -1;
		}
		for (size_t j = 0; j < out->n; j++)
			if (!strcmp(out->v[j].node, json_string_value(n))) {
				snprintf(err, errlen, "targets entry %zu: duplicate node name '%s'", i,
					 json_string_value(n));
				json_decref(root);
				targets_free(out);
				return -1;
			}
		push(out, xstrdup(json_string_value(n)), xstrdup(json_string_value(u)));
	}
	json_decref(root);
	return 0;
}

char *targets_to_json(const struct target_list *tl)
{
	json_t *arr = json_array();
	char *s, *r;
	for (size_t i = 0; i < tl->n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "node", json_string(tl->v[i].node));
		json_object_set_new(o, "url", json_string(tl->v[i].url));
		json_array_append_new(arr, o);
	}
	s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(arr);
	r = xstrdup(s ? s : "[]");
	free(s);
	return r;
}

char *target_join(const char *base, const char *path)
{
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, base, path);
}

void targets_free(struct target_list *tl)
{
	for (size_t i = 0; i < tl->n; i++) {
		free(tl->v[i].node);
		free(tl->v[i].url);
	}
	free(tl->v);
	memset(tl, 0, sizeof(*tl));
}
