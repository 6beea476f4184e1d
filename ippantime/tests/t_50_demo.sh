# demo: sim + two concurrent local probes + analyze, end to end.
TESTS+=(demo_sim_two_probes_report_with_expected_verdicts)

demo_sim_two_probes_report_with_expected_verdicts() {
	local d try rc=1 base; d=$(mktmp)
	for try in 1 2 3; do
		base=$(free_base "$try")
		"$IPT" demo --out-dir "$d/out" --base-port "$base" --samples 80 --interval-ms 20 >"$d/log" 2>&1 && { rc=0; break; }
		grep -q 'did not start' "$d/log" || break
	done
	[ $rc -eq 0 ] || { echo "demo failed: $(tail -3 "$d/log")"; return 1; }
	local r=$d/out/REPORT.md
	[ -f "$d/out/ippantime_tr-a.csv" ] && [ -f "$d/out/ippantime_tr-b.csv" ] || { echo "CSVs missing"; return 1; }
	grep -q '^## Cross-probe consistency (tr-a vs tr-b)$' "$r" || { echo "no cross-probe"; return 1; }
	grep -Eq '^\| node-01 \| (clock drift: tune chrony|large offset)' "$r" || { echo "node-01: $(grep '^| node-01 | [a-z]' "$r")"; return 1; }
	grep -q '^| node-03 | time-service bug' "$r" || { echo "node-03: $(grep '^| node-03 | [a-z]' "$r")"; return 1; }
	grep -q '^| node-06 | no valid samples' "$r" || { echo "node-06"; return 1; }
	grep -q 'node-04.*source=/time' "$d/out/demo_tr-a.log" || { echo "no /time fallback for node-04"; return 1; }
	# the demo stopped its sim: nothing listens on its first port any more
	! (exec 3<>"/dev/tcp/127.0.0.1/$base") 2>/dev/null || echo "sim still listening on $base"
}
