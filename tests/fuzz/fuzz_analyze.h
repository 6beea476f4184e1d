/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What every analyze fuzz target shares: callbacks that read each record
 * (so a bad one is touched), and a parse of the input behind a first line
 * that says which format to read it as ("" reads it as it is). */
#ifndef NETSEG_FUZZ_ANALYZE_H
#define NETSEG_FUZZ_ANALYZE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "analyze/records.h"

static void fuzz_on_rec(void *ctx, const struct an_rec *r)
{
	(void)ctx;
	volatile int64_t sink = r->key.id + r->key.seq + r->run + (int64_t)r->line;

	(void)sink;
}

static void fuzz_on_warn(void *ctx, const char *file, unsigned line, const char *msg)
{
	(void)ctx;
	(void)file;
	(void)line;
	(void)msg;
}

static int fuzz_parse_after(const char *prefix, const uint8_t *data, size_t size)
{
	size_t plen = strlen(prefix);
	struct an_file_info info;
	char *buf = malloc(plen + size + 1);

	if (!buf)
		return 0;
	memcpy(buf, prefix, plen);
	if (size)
		memcpy(buf + plen, data, size);
	an_parse_buffer("fuzz", buf, plen + size, fuzz_on_rec, fuzz_on_warn, NULL, &info);
	free(buf);
	return 0;
}

#endif /* NETSEG_FUZZ_ANALYZE_H */
