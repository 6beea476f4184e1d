# A short bounded libFuzzer run of each target over its seed corpus (regressions included).
TESTS+=(fuzz_inventory_statusval_csv_bounded_run_clean)

fuzz_inventory_statusval_csv_bounded_run_clean() {
	local d f out; d=$(mktmp)
	for f in inventory statusval csv; do
		[ -x "$FUZZ_DIR/fuzz_$f" ] || { echo "SKIP: fuzzers not built (needs clang with libFuzzer: make -C ippantime fuzz)"; return 77; }
	done
	for f in inventory statusval csv; do
		# libFuzzer adds new inputs to its first corpus folder: give it a copy
		cp -r "$HERE/fuzz/corpus/$f" "$d/$f"
		out=$("$FUZZ_DIR/fuzz_$f" -max_total_time="${IPPANTIME_FUZZ_SECONDS:-8}" -max_len=4096 \
			-artifact_prefix="$d/" "$d/$f" 2>&1) || { echo "fuzz_$f: $(echo "$out" | grep -E 'ERROR|SUMMARY' | head -3)"; return 1; }
	done
}
