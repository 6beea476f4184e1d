/* Target lists ({node, url}): generated from an inventory or read from JSON. */
#ifndef IPT_TARGETS_H
#define IPT_TARGETS_H
#include <stddef.h>

#include "inventory.h"

struct target {
	char *node;
	char *url; /* base url, no status path */
};

struct target_list {
	struct target *v;
	size_t n;
};

enum target_mode { TM_EXPECTED, TM_EXPLICIT, TM_AUTO };

int target_mode_parse(const char *s, enum target_mode *m);
const char *target_mode_name(enum target_mode m);
void targets_from_inventory(const struct inventory *inv, enum target_mode m, struct target_list *out);
/* JSON text must be a non-empty array of {node, url}; -1 with a message in err otherwise. */
int targets_from_json(const char *json, size_t len, struct target_list *out, char *err, size_t errlen);
char *targets_to_json(const struct target_list *tl); /* pretty-printed, caller frees */
/* base url with trailing '/' removed, then path appended (as the original did). */
char *target_join(const char *base, const char *path);
void targets_free(struct target_list *tl);

#endif
