# analyze: exact REPORT.md layout from fixed CSVs, JSON, SVGs, bad input; and the report of a
# real probe run against the simulated fleet.
TESTS+=(analyze_report_exact_layout_ranking_and_all_probe_pairs analyze_json_and_svg_plots_written
	analyze_bad_input_one_line_errors analyze_sim_run_zero_valid_node_listed_and_verdicts
	analyze_cross_probe_pairs_rounds_not_p99s analyze_verdicts_judge_offsets_by_their_bound)

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

# csvrow PROBE ROUND NODE OFFSET_US INTERVAL_US [K_OFFSET_US K_INTERVAL_US]: one ok row of a
# probe CSV as the probe writes it (honest mid-point; the kernel's cells when given).
csvrow() {
	local t0=$((1800000000000000000 + $2 * 25000000)) iv=$(($5 * 1000)) k=",,,"
	local ts=$((t0 + 100000)) tf=$((t0 + 100000 + $5 * 1000)) t1 mid
	t1=$((tf + 50000))
	mid=$(( (ts + tf) / 2 / 1000 ))
	[ -z "${6:-}" ] || k="$((ts + 10000)),$((ts + 10000 + $7 * 1000)),$7.000,$6"
	printf '%s,%s,%s,http://h:8080/status,1,%s,%s,%s,%s,%s,%s,,0,,%s,%s,honest,%s\r\n' "$1" "$2" "$3" \
		"$t0" "$t1" "$(awk -v n=$((t1 - t0)) 'BEGIN { printf "%.3f", n / 1e6 }')" "$mid" $((mid + $4)) "$4" "$ts" "$tf" "$k"
}
csvhead() {
	printf 'probe,sample_idx,node,url,ok,t0_wall_ns,t1_wall_ns,rtt_ms,mid_wall_us,ippan_time_us,offset_us,jitter_us,monotonic_backwards,error,t_sent_wall_ns,t_first_byte_wall_ns,midpoint,k_t0_wall_ns,k_t1_wall_ns,k_rtt_us,k_offset_us\r\n'
}

analyze_cross_probe_pairs_rounds_not_p99s() {
	local d k r; d=$(mktmp)
	# node-00: the same ten offsets at both probes (same p99), but b is one round ahead of a:
	# round by round a - b is -3000 in nine rounds of ten
	# node-01: 100 us at both in rounds 0..9; a alone also has round 10 at 30 ms, so the
	# p99s differ by ~27 ms while every paired round agrees
	{ csvhead; for k in 0 1 2 3 4 5 6 7 8 9; do
		csvrow tr-a $k node-00 $((3000 * k)) 2000; csvrow tr-a $k node-01 100 2000; done
		csvrow tr-a 10 node-01 30000 2000; } >"$d/ippantime_tr-a.csv"
	{ csvhead; for k in 0 1 2 3 4 5 6 7 8 9; do
		csvrow tr-b $k node-00 $(( k == 9 ? 0 : 3000 * (k + 1) )) 2000; csvrow tr-b $k node-01 100 2000; done
		csvrow tr-b 11 node-01 -40000 2000; } >"$d/ippantime_tr-b.csv"
	"$IPT" analyze --out-dir "$d" --json >"$d/json" || { echo "analyze exit $?"; return 1; }
	r=$d/REPORT.md
	grep -qx '| node | tr-a off_p99 | tr-b off_p99 | paired rounds | delta_us p50 (tr-a - tr-b) |' "$r" || { echo "header: $(grep '^| node | tr-a off' "$r")"; return 1; }
	grep -qx '| node-00 | 26730 | 26730 | 10 | -3000 |' "$r" || { echo "node-00: $(grep '^| node-00 | [0-9]* | [0-9]* |' "$r")"; return 1; }
	# b's round 11 has no partner: 10 paired rounds, median 0
	grep -qx '| node-01 | 27010 | 100 | 10 | 0 |' "$r" || { echo "node-01: $(grep '^| node-01 | [0-9]* | -\?[0-9]* |' "$r")"; return 1; }
	grep -q '^| node-00 | .*probes disagree.* paired delta_us p50 -3000 (tr-a - tr-b, 10 rounds)' "$r" || { echo "node-00 verdict: $(grep '^| node-00 | [a-z]' "$r")"; return 1; }
	! grep -q '^| node-01 | .*probes disagree' "$r" || { echo "node-01 called disagreeing: $(grep '^| node-01 | [a-z]' "$r")"; return 1; }
	tr -d ' \n' <"$d/json" | grep -q '"node":"node-00","a_off_p99":26730,"b_off_p99":26730,"paired_rounds":10,"delta_us_p50":-3000' \
		|| echo "json cross_probe: $(tr -d ' \n' <"$d/json" | grep -o '"cross_probe".\{0,200\}')"
}

analyze_verdicts_judge_offsets_by_their_bound() {
	local d k r; d=$(mktmp)
	# node-00: 300 us with a 2 ms interval (bound 1 ms); node-01: 15 ms with a 40 ms interval
	# (bound 20 ms); node-02: 15 ms with a 2 ms interval (bound 1 ms, the only clock drift);
	# node-03: 15 ms in user space, but 200 us by the kernel's stamps (1 ms interval)
	{ csvhead; for k in 0 1 2 3 4 5; do
		csvrow x $k node-00 300 2000; csvrow x $k node-01 15000 40000; csvrow x $k node-02 15000 2000
		csvrow x $k node-03 15000 2000 200 1000; done; } >"$d/ippantime_x.csv"
	# an old 13-column CSV of another probe (the original's), and one with classic rows
	printf 'probe,sample_idx,node,url,ok,t0_wall_ns,t1_wall_ns,rtt_ms,mid_wall_us,ippan_time_us,offset_us,jitter_us,monotonic_backwards\r\n' >"$d/ippantime_old.csv"
	printf 'old,0,node-09,http://h:8089/status,1,1800000000000000000,1800000000000500000,0.500,1800000000000250,1800000000020250,20000,,0\r\n' >>"$d/ippantime_old.csv"
	{ csvhead; csvrow cl 0 node-09 20000 500; } | sed 's/,honest,/,classic,/' >"$d/ippantime_cl.csv"
	"$IPT" analyze --out-dir "$d" >/dev/null 2>"$d/err" || { echo "analyze exit $?: $(cat "$d/err")"; return 1; }
	[ ! -s "$d/err" ] || { echo "stderr: $(cat "$d/err")"; return 1; }
	r=$d/REPORT.md
	grep -q '^| node-00 | ok | off_us p50 300 at `x` (honest), within the ±RTT/2 bound (1.00 ms);' "$r" || { echo "node-00: $(grep '^| node-00 | [a-z]' "$r")"; return 1; }
	grep -q '^| node-01 | offset within the ±RTT/2 bound: path asymmetry can explain it, not called clock drift | off_us p50 15000 at `x` (honest), within the ±RTT/2 bound (20.00 ms);' "$r" \
		|| { echo "node-01: $(grep '^| node-01 | [a-z]' "$r")"; return 1; }
	grep -q '^| node-02 | clock drift: tune chrony | off_us p50 15000 at `x` (honest), beyond the ±RTT/2 bound (1.00 ms);' "$r" || { echo "node-02: $(grep '^| node-02 | [a-z]' "$r")"; return 1; }
	grep -q '^| node-03 | ok | k_off_us p50 200 at `x` (kernel), within the ±RTT/2 bound (0.50 ms);' "$r" || { echo "node-03: $(grep '^| node-03 | [a-z]' "$r")"; return 1; }
	! grep -E '^\| node-0[013] \|' "$r" | grep -q 'clock drift: tune' || { echo "clock drift within the bound"; return 1; }
	# the bound and the kernel's offset in the probe's table
	grep -qx '| node | ok/total | off_us p50 | off_us p95 | off_us p99 | rtt/2_us p50 | k_off_us p50 | jitter_us p95 | jitter_us p99 | rtt_ms p99 | backwards |' "$r" \
		|| { echo "x table header: $(grep -m1 '^| node | ok' "$r")"; return 1; }
	grep -qx '| node-03 | 6/6 | 15000 | 15000 | 15000 | 1000 | 200 | 0 | 0 | 2.150 | 0 |' "$r" || { echo "node-03 row: $(grep '^| node-03 | 6/6' "$r")"; return 1; }
	grep -qx '| node-01 | 6/6 | 15000 | 15000 | 15000 | 20000 | — | 0 | 0 | 40.150 | 0 |' "$r" || { echo "node-01 row: $(grep '^| node-01 | 6/6' "$r")"; return 1; }
	# the classic rows are named, with their bias; the honest probe is not
	grep -q '^Rows on the classic mid-point .*: `cl` 1 of 1, `old` 1 of 1 ok rows. Their offsets carry the +RTT/2 bias' "$r" \
		|| { echo "classic note: $(grep -A1 '^## Method' "$r" | tail -1; grep '^Rows on' "$r")"; return 1; }
	grep -q '`x` [0-9]* of' "$r" && echo "honest probe x listed as classic"
	# old CSV: its bound is half its [t0, t1]
	grep -qx '| node-09 | 1/1 | 20000 | 20000 | 20000 | 250 | 0 | 0 | 0.500 | 0 |' "$r" || echo "old row: $(grep '^| node-09 | 1/1' "$r")"
}

