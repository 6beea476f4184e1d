// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ksyms.h"

struct ksym {
	uint64_t addr;
	char *name;
};

struct ksyms {
	struct ksym *syms;
	size_t n, cap;
};

static int cmp_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void ksyms_free(struct ksyms *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		free(k->syms[i].name);
	free(k->syms);
	free(k);
}

struct ksyms *ksyms_load(void)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	struct ksyms *k;
	char line[512];
	bool nonzero = false;

	if (!f)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		goto fail;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, name[256];

		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		/* text symbols only: stacks and drop sites are code addresses */
		if (type != 't' && type != 'T')
			continue;
		if (k->n == k->cap) {
			size_t cap = k->cap ? k->cap * 2 : 65536;
			struct ksym *p = realloc(k->syms, cap * sizeof(*p));

			if (!p)
				goto fail;
			k->syms = p;
			k->cap = cap;
		}
		k->syms[k->n].addr = addr;
		k->syms[k->n].name = strdup(name);
		if (!k->syms[k->n].name)
			goto fail;
		nonzero |= addr != 0;
		k->n++;
	}
	fclose(f);
	f = NULL;
	/* without privileges kallsyms shows zeros: useless, say so by NULL */
	if (!nonzero)
		goto fail;
	qsort(k->syms, k->n, sizeof(*k->syms), cmp_addr);
	return k;
fail:
	if (f)
		fclose(f);
	ksyms_free(k);
	return NULL;
}

const char *ksyms_format(const struct ksyms *k, uint64_t addr, char *buf, size_t len)
{
	size_t lo = 0, hi = k ? k->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo) {
		snprintf(buf, len, "0x%llx", (unsigned long long)addr);
		return buf;
	}
	snprintf(buf, len, "%s+0x%llx", k->syms[lo - 1].name,
		 (unsigned long long)(addr - k->syms[lo - 1].addr));
	return buf;
}

int ksyms_addr_of(const char *const *names, uint64_t *addrs, size_t n)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[512];
	size_t found = 0;

	for (size_t i = 0; i < n; i++)
		addrs[i] = 0;
	if (!f)
		return -1;
	/* ~120k lines: compare the name in place, parse only a match */
	while (found < n && fgets(line, sizeof(line), f)) {
		char *name = strchr(line, ' '), *end;

		if (!name || !(name = strchr(name + 1, ' ')))
			continue;
		name++;
		end = name + strcspn(name, " \t\n");
		for (size_t i = 0; i < n; i++) {
			size_t len = strlen(names[i]);

			if (!addrs[i] && (size_t)(end - name) == len && !memcmp(name, names[i], len)) {
				addrs[i] = strtoull(line, NULL, 16);
				found += addrs[i] != 0;
			}
		}
	}
	fclose(f);
	return (int)found;
}
