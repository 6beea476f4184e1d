# analyze: exact REPORT.md layout from fixed CSVs, JSON, SVGs, bad input; and the report of a
# real probe run against the simulated fleet.
TESTS+=(analyze_report_exact_layout_ranking_and_all_probe_pairs analyze_json_and_svg_plots_written
	analyze_bad_input_one_line_errors analyze_sim_run_zero_valid_node_listed_and_verdicts)

analyze_report_exact_layout_ranking_and_all_probe_pairs() {
	local d; d=$(mktmp)
	cp "$HERE"/fixtures/analyze/ippantime_*.csv "$d/"
	# default --out-dir is ./out: run it there
	mkdir -p "$d/out" && cp "$d"/ippantime_*.csv "$d/out/"
	(cd "$d" && "$IPT" analyze >"$d/stdout" 2>"$d/stderr") || { echo "exit $?: $(cat "$d/stderr")"; return 1; }
	[ "$(cat "$d/stdout")" = "Wrote out/REPORT.md" ] || { echo "stdout: $(cat "$d/stdout")"; return 1; }
	[ ! -s "$d/stderr" ] || { echo "stderr: $(cat "$d/stderr")"; return 1; }
	diff -u "$HERE/fixtures/analyze/REPORT.md.expected" "$d/out/REPORT.md"
}

analyze_json_and_svg_plots_written() {
	local d; d=$(mktmp)
	"$IPT" analyze --out-dir "$d" --json "$HERE"/fixtures/analyze/ippantime_*.csv >"$d/stdout" || { echo "exit $?"; return 1; }
	cmp -s "$d/stdout" <(cat "$d/REPORT.json"; echo) || { echo "stdout differs from REPORT.json"; return 1; }
	grep -q '"node": "node-01"' "$d/REPORT.json" && grep -q '"off_us_p99": null' "$d/REPORT.json" \
		|| { echo "no-valid node not null in JSON"; return 1; }
	grep -q '"time-service bug: clock went backwards"' "$d/REPORT.json" || { echo "verdict missing"; return 1; }
	local f
	for f in offset_srv1.svg offset_tr-a.svg offset_tr-b.svg heatmap_off_p99.svg; do
		[ -s "$d/$f" ] && head -c 4 "$d/$f" | grep -q '<svg' && tail -1 "$d/$f" | grep -q '</svg>' \
			|| { echo "$f missing or not SVG"; return 1; }
		grep -q "($f)" "$d/REPORT.md" || { echo "$f not linked from REPORT.md"; return 1; }
	done
	grep -q 'no valid samples' "$d/offset_tr-a.svg" || { echo "empty panel for node-01 missing"; return 1; }
	[ "$(grep -c '<polyline' "$d/offset_tr-a.svg")" -eq 2 ] || echo "expected 2 offset lines in tr-a"
}

analyze_bad_input_one_line_errors() {
	local d rc; d=$(mktmp)
	"$IPT" analyze --out-dir "$d" >/dev/null 2>"$d/err"; rc=$?
	[ $rc -eq 2 ] && [ "$(cat "$d/err")" = "ippantime: analyze: no inputs matching $d/ippantime_*.csv" ] || { echo "empty dir: $rc $(cat "$d/err")"; return 1; }
	"$IPT" analyze --out-dir "$d/nope" >/dev/null 2>"$d/err"; rc=$?
	[ $rc -eq 2 ] && [ "$(cat "$d/err")" = "ippantime: analyze: --out-dir '$d/nope' is not a directory" ] || { echo "no dir: $rc $(cat "$d/err")"; return 1; }
	printf 'probe,node,ok\r\ntr-a,n,1\r\n' >"$d/ippantime_x.csv"
	"$IPT" analyze --out-dir "$d" >/dev/null 2>"$d/err"; rc=$?
	[ $rc -eq 2 ] && [ "$(cat "$d/err")" = "ippantime: analyze: $d/ippantime_x.csv:1: missing column 't0_wall_ns'" ] || { echo "bad csv: $rc $(cat "$d/err")"; return 1; }
	rm "$d/ippantime_x.csv"
	# a truncated last row (probe killed mid-write) is skipped with a warning, not a crash
	cp "$HERE/fixtures/analyze/ippantime_tr-b.csv" "$d/"
	printf 'tr-b,2,node-00,http://h' >>"$d/ippantime_tr-b.csv"
	"$IPT" analyze --out-dir "$d" >/dev/null 2>"$d/err"; rc=$?
	[ $rc -eq 0 ] && grep -q 'short row (4 fields) ignored' "$d/err" || { echo "truncated: $rc $(cat "$d/err")"; return 1; }
	if [ "$(id -u)" != 0 ]; then
		chmod 555 "$d"
		"$IPT" analyze --out-dir "$d" >/dev/null 2>"$d/err"; rc=$?
		chmod 755 "$d"
		[ $rc -ne 0 ] && grep -q 'cannot write' "$d/err" || { echo "unwritable: $rc"; return 1; }
	fi
}

analyze_sim_run_zero_valid_node_listed_and_verdicts() {
	local d; d=$(mktmp)
	printf 'node 1 fault=down\nnode 2 offset_us=30000\nnode 3 jitter_us=15000\nnode 4 step_at_req=20 step_us=-40000\n' >"$d/sim.conf"
	start_sim "$d" --nodes 5 --config "$d/sim.conf" || return 1
	mkdir -p "$d/out"
	"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 5)" --samples 60 --interval-ms 15 --timeout 0.5 \
		--probe-name tr-a --out "$d/out/ippantime_tr-a.csv" >/dev/null || { echo "probe a $?"; return 1; }
	"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 5)" --samples 60 --interval-ms 15 --timeout 0.5 \
		--connection reuse --probe-name tr-b --out "$d/out/ippantime_tr-b.csv" >/dev/null || { echo "probe b $?"; return 1; }
	"$IPT" analyze --out-dir "$d/out" >/dev/null || { echo "analyze $?"; return 1; }
	local r=$d/out/REPORT.md
	grep -qx '| node-01 | 0/60 | — | — | — | — | — | — | — | 0 |' "$r" || { echo "node-01 row: $(grep node-01 "$r" | head -1)"; return 1; }
	grep -q '^## Cross-probe consistency (tr-a vs tr-b)$' "$r" || { echo "no cross-probe section"; return 1; }
	grep -q '^| node-01 | no valid samples' "$r" || { echo "node-01 verdict"; return 1; }
	# (on a saturated machine the probe's own jitter can exceed 30 ms / 4: then "large offset")
	grep -Eq '^\| node-02 \| (clock drift: tune chrony|large offset)' "$r" || { echo "node-02 verdict: $(grep '^| node-02 | [a-z]' "$r")"; return 1; }
	grep -q '^| node-03 | .*network congestion or node overload' "$r" || { echo "node-03 verdict: $(grep '^| node-03 | [a-z]' "$r")"; return 1; }
	grep -q '^| node-04 | time-service bug: clock went backwards' "$r" || { echo "node-04 verdict: $(grep '^| node-04 | [a-z]' "$r")"; return 1; }
	# ranking: node-01 (no data) first; the 30 ms node above the clean node-00
	[ "$(sed -n '/^## Probe: `tr-a`/,/^$/p' "$r" | grep -o '^| node-0[0-9]' | head -1)" = "| node-01" ] || { echo "ranking"; return 1; }
	local order; order=$(sed -n '/^## Probe: `tr-a`/,/^$/p' "$r" | grep -o '^| node-0[0-9]' | tr -d '| ' | tr '\n' ' ')
	[[ "$order" == *node-02*node-00* ]] || echo "node-02 (30 ms) not ranked above node-00: $order"
}
