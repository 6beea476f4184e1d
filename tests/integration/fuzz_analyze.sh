#!/usr/bin/env bash
# The analyze log parsers under libFuzzer with ASan+UBSan: each target in
# tests/fuzz/fuzz_analyze_*.c is built with clang and run for a bounded
# time from its seed corpus (tests/fuzz/corpus/<format>/, left unchanged:
# new inputs go to a scratch corpus). A crash, a leak or a sanitizer report
# fails, with the input that did it kept and named.
#   FUZZ_SECONDS (default 20) per target; FUZZ_CLANG to pick a compiler.
# No root needed. SKIP when clang or its libFuzzer runtime (Debian:
# libclang-rt-dev, in tools/deps.txt) is missing.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
cd "$(dirname "$0")/../.." || exit 1
SECONDS_EACH=${FUZZ_SECONDS:-20}
OUT=${OUTPUT:-$PWD/.output}/fuzz
CLANG=${FUZZ_CLANG:-clang}
SRCS=(tools/analyze/parse*.c)
FLAGS=(-std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Wall -Wextra -Werror -Itools)

if ! command -v "$CLANG" >/dev/null 2>&1; then
	skip fuzz_analyze "no $CLANG (Debian package clang)"
	exit 0
fi
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' >"$T_TMP/probe.c"
if ! "$CLANG" -fsanitize=fuzzer "$T_TMP/probe.c" -o "$T_TMP/probe" 2>"$T_TMP/probe.err"; then
	skip fuzz_analyze "$CLANG cannot link libFuzzer (Debian package libclang-rt-dev): $(head -c 200 "$T_TMP/probe.err")"
	exit 0
fi
mkdir -p "$OUT"
for src in tests/fuzz/fuzz_analyze_*.c; do
	fmt=$(basename "$src" .c)
	fmt=${fmt#fuzz_analyze_}
	name=fuzz_analyze_$fmt
	if ! "$CLANG" "${FLAGS[@]}" "$src" "${SRCS[@]}" -o "$OUT/$name" 2>"$T_TMP/$name.cc"; then
		fail "$name" "build: $(head -c 300 "$T_TMP/$name.cc")"
		continue
	fi
	mkdir -p "$T_TMP/$name.corpus" "$T_TMP/$name.art"
	# leaks count: the parser frees all it takes, whatever the input
	if "$OUT/$name" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
		-print_final_stats=1 -artifact_prefix="$T_TMP/$name.art/" \
		"$T_TMP/$name.corpus" "tests/fuzz/corpus/$fmt" >"$T_TMP/$name.log" 2>&1; then
		runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$T_TMP/$name.log")
		echo "    $name: ${runs:-?} inputs in ${SECONDS_EACH} s"
		pass "$name"
	else
		keep=$OUT/$name.crash
		rm -rf "$keep" && cp -r "$T_TMP/$name.art" "$keep"
		fail "$name" "$(grep -m1 -E 'ERROR|SUMMARY|runtime error' "$T_TMP/$name.log" | head -c 300); inputs kept in $keep"
		tail -n 30 "$T_TMP/$name.log"
	fi
done
