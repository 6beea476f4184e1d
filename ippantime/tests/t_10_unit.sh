# Unit tests (cmocka) of the parsers and the percentile code.
TESTS+=(unit_statusval_accepts_and_rejects_value_forms unit_inventory_defaults_layout_and_line_errors
	unit_csv_writer_quoting_crlf_and_reader unit_percentiles_numpy_linear_truncated
	unit_midpoint_floor_arithmetic_honest_and_classic)

unit() {
	local out
	[ -x "$UNIT_DIR/$1" ] || { echo "$UNIT_DIR/$1 not built"; return 1; }
	out=$("$UNIT_DIR/$1" 2>&1) || { echo "$out" | grep -E 'FAILED|Failure|error' | head -5; return 1; }
}
unit_statusval_accepts_and_rejects_value_forms() { unit test_statusval; }
unit_inventory_defaults_layout_and_line_errors() { unit test_inventory; }
unit_csv_writer_quoting_crlf_and_reader() { unit test_csv; }
unit_percentiles_numpy_linear_truncated() { unit test_stats; }
unit_midpoint_floor_arithmetic_honest_and_classic() { unit test_midpoint; }
