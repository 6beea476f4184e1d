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
#include "fuzz_analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_parse_after("=== ICMP Flow Statistics ===\n", data, size);
}
