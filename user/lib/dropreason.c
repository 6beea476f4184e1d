// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include "dropreason.h"

static char *names[DROP_REASON_MAX_CORE];
static bool loaded;

static void load_names(void)
{
	const struct btf_type *t;
	struct btf *btf;
	int id;

	loaded = true;
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return;
	id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
	if (id > 0 && (t = btf__type_by_id(btf, id))) {
		const struct btf_enum *e = btf_enum(t);

		for (int i = 0; i < btf_vlen(t); i++) {
			const char *name = btf__name_by_offset(btf, e[i].name_off);

			if (e[i].val >= 0 && e[i].val < DROP_REASON_MAX_CORE && name) {
				if (!strncmp(name, "SKB_DROP_REASON_", 16))
					name += 16;
				names[e[i].val] = strdup(name);
			}
		}
	}
	btf__free(btf);
}

const char *drop_reason_name(uint32_t reason, char *buf, size_t len)
{
	if (!loaded)
		load_names();
	if (reason < DROP_REASON_MAX_CORE && names[reason])
		return names[reason];
	if (reason >> 16)
		snprintf(buf, len, "SUBSYS_%u_%u", reason >> 16, reason & 0xffff);
	else
		snprintf(buf, len, "%u", reason);
	return buf;
}

void drop_reason_names_free(void)
{
	for (int i = 0; i < DROP_REASON_MAX_CORE; i++) {
		free(names[i]);
		names[i] = NULL;
	}
	loaded = false;
}
