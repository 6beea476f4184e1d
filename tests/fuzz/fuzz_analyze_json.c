// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the analyze log parsers on any bytes, seeded with
 * our tracers' --json logs (tests/fuzz/corpus/json/).
 * The parser detects the format per input, so every target reaches every
 * reader; the seeds decide where the fuzzer starts. ASan/UBSan judge.
 */
#include "fuzz_analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_parse_after("", data, size);
}
