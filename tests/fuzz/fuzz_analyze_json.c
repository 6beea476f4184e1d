// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the analyze log parsers on any bytes, seeded with
 * our tracers' --json logs (tests/fuzz/corpus/json/).
 * The parser detects the format per input, so every target reaches every
 * reader; the seeds decide where the fuzzer starts. ASan/UBSan judge.
 */
#include <stddef.h>
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
	struct an_file_info info;

	an_parse_buffer("fuzz", (const char *)data, size, on_rec, on_warn, NULL, &info);
	return 0;
}
