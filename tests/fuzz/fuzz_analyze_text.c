// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the analyze log parsers on any bytes, seeded with
 * our tracers' text logs (tests/fuzz/corpus/text/).
 * The parser detects the format per input, so every target reaches every
 * reader; the seeds decide where the fuzzer starts. ASan/UBSan judge.
 * It starts every input with our READY line, so the
 * input is read as our text from its first line (the tun chains' Delays
 * mean ours).
 */
#include "fuzz_analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_parse_after("READY kernel_icmp_rtt pid=1 direction=tx\n", data, size);
}
