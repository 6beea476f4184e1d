// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the analyze log parsers on any bytes, seeded with
 * the original BCC tools' text (made by gen_originals) (tests/fuzz/corpus/orig/).
 * The parser detects the format per input, so every target reaches every
 * reader; the seeds decide where the fuzzer starts. ASan/UBSan judge.
 * It starts every input with an end-of-run banner of
 * the original, so the input is read as the original's (the tun chains'
 * Delays mean the original's: S4 from S2) unless it says otherwise.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include "analyze/records.h"

static void on_rec(void *ctx, const struct an_rec *r)
{
	(void)ctx;
	/* touch what a record holds, so a bad one is read */
	volatile int64_t sink = r->key.id + r->key.seq + r->run + (int64_t)r->line;

	(void)sink;
}

static void on_warn(void *ctx, const char *file, unsigned line, const char *msg)
{
	(void)ctx;
	(void)file;
	(void)line;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char prefix[] = "=== ICMP Flow Statistics ===\n";
	struct an_file_info info;
	char *buf = malloc(sizeof(prefix) - 1 + size);

	if (!buf)
		return 0;
	memcpy(buf, prefix, sizeof(prefix) - 1);
	if (size)
		memcpy(buf + sizeof(prefix) - 1, data, size);
	an_parse_buffer("fuzz", buf, sizeof(prefix) - 1 + size, on_rec, on_warn, NULL, &info);
	free(buf);
	return 0;
}
