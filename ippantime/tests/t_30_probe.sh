# probe against the simulated fleet: CSV layout, recovered truth, faults, fallbacks, bad input.
TESTS+=(probe_csv_header_column_order_crlf_3dec_rtt_empty_cells probe_honest_offsets_within_50us_fresh_and_reuse
	probe_split_writes_reuse_honest_holds_classic_off_10ms probe_midpoint_classic_is_the_original_arithmetic
	probe_backwards_count_exact_and_flagged_rows probe_injected_jitter_shows_in_p99
	probe_faulty_nodes_ok0_with_error_and_rounds_never_stall probe_time_fallback_used_once_and_reported
	probe_value_forms_string_float_negative_bool probe_body_cap_and_redirect_policy
	probe_reuse_connection_mode_same_truth probe_bad_targets_json_exit2_and_no_csv
	probe_unwritable_out_dir_one_line_error probe_kernel_ts_modes probe_kernel_ts_stamps_of_the_value_transfer
	probe_inventory_settings_and_flags_win
	probe_progress_line_only_on_terminal probe_sigterm_keeps_whole_rounds_exit_130
	probe_sim_service_delay_in_rtt_and_half_in_offset probe_sim_drift_recovered_as_offset_slope)

probe_csv_header_column_order_crlf_3dec_rtt_empty_cells() {
	local d; d=$(mktmp)
	printf 'node 1 fault=http500\n' >"$d/sim.conf"
	start_sim "$d" --nodes 2 --config "$d/sim.conf" || return 1
	"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 2)" --samples 3 --interval-ms 150 --timeout 1 \
		--probe-name tr-x --out "$d/p.csv" >/dev/null || { echo "probe exit $?"; return 1; }
	local hdr; hdr=$(head -1 "$d/p.csv")
	# the original's 13 columns byte for byte and in order, then ours appended
	[ "$(echo "$hdr" | cut -d, -f1-13)" = "probe,sample_idx,node,url,ok,t0_wall_ns,t1_wall_ns,rtt_ms,mid_wall_us,ippan_time_us,offset_us,jitter_us,monotonic_backwards" ] \
		|| { echo "original columns: $hdr"; return 1; }
	[ "$(echo "$hdr" | cut -d, -f14-)" = $'error,t_sent_wall_ns,t_first_byte_wall_ns,midpoint,k_t0_wall_ns,k_t1_wall_ns,k_rtt_us,k_offset_us\r' ] \
		|| { echo "appended columns: $hdr"; return 1; }
	[ "$(wc -l <"$d/p.csv")" -eq 7 ] || { echo "rows: $(wc -l <"$d/p.csv")"; return 1; }
	# every line ends in CRLF, no bare LF
	[ "$(grep -c $'\r$' "$d/p.csv")" -eq 7 ] || { echo "not all CRLF"; return 1; }
	# round-major order: sample_idx 0 0 1 1 2 2 and node-00 node-01 alternating
	[ "$(tail -n +2 "$d/p.csv" | cut -d, -f2,3 | tr '\n\r' ' ' | tr -s ' ')" = "0,node-00 0,node-01 1,node-00 1,node-01 2,node-00 2,node-01 " ] \
		|| { echo "order: $(tail -n +2 "$d/p.csv" | cut -d, -f2,3 | tr '\r\n' '  ')"; return 1; }
	local ok1 ok2 bad
	ok1=$(sed -n 2p "$d/p.csv")
	ok2=$(sed -n 4p "$d/p.csv")
	bad=$(sed -n 3p "$d/p.csv")
	# ok row, first sample: jitter empty; rtt with exactly 3 decimals; all 21 cells, the
	# kernel's empty (no status_ts in this build)
	echo "$ok1" | grep -Eq "^tr-x,0,node-00,http://127\.0\.0\.1:$SIM_BASE/status,1,[0-9]{19},[0-9]{19},[0-9]+\.[0-9]{3},[0-9]{16},[0-9]{16},-?[0-9]+,,0,,[0-9]{19},[0-9]{19},honest,,,,"$'\r$' \
		|| { echo "ok row: $ok1"; return 1; }
	echo "$ok2" | grep -Eq "^tr-x,1,node-00,[^,]+,1,[0-9]{19},[0-9]{19},[0-9]+\.[0-9]{3},[0-9]{16},[0-9]{16},-?[0-9]+,-?[0-9]+,0,,[0-9]{19},[0-9]{19},honest,,,,"$'\r$' \
		|| { echo "ok row 2: $ok2"; return 1; }
	# failed row: t0/t1/rtt present, value/offset/jitter empty, backwards 0, error column;
	# the reply came, so its honest interval is there
	echo "$bad" | grep -Eq "^tr-x,0,node-01,[^,]+,0,[0-9]{19},[0-9]{19},[0-9]+\.[0-9]{3},,,,,0,http_500,[0-9]{19},[0-9]{19},honest,,,,"$'\r$' \
		|| { echo "fail row: $bad"; return 1; }
	# arithmetic of the row (bash integers are 64-bit): the honest mid-point
	# mid = floor((t_sent+t_first_byte)/2/1000) inside [t0, t1], offset = value - mid,
	# rtt_ms = (t1-t0)/1e6 with 3 decimals
	local t0 t1 mid v off rtt us ts tf
	IFS=, read -r _ _ _ _ _ t0 t1 rtt mid v off _ _ _ ts tf _ <<<"$ok1"
	[ "$t0" -le "$ts" ] && [ "$ts" -lt "$tf" ] && [ "$tf" -le "$t1" ] || { echo "t0 $t0 t_sent $ts t_first_byte $tf t1 $t1"; return 1; }
	[ $(( (ts + tf) / 2 / 1000 )) -eq "$mid" ] || { echo "mid $mid"; return 1; }
	[ $(( v - mid )) -eq "$off" ] || { echo "offset $off"; return 1; }
	us=$(( (t1 - t0) / 1000 ))
	[ "$(awk -v n=$((t1 - t0)) 'BEGIN{printf "%.3f", n/1e6}')" = "$rtt" ] || { echo "rtt $rtt for $((t1 - t0)) ns"; return 1; }
}

# err_us CSV NODE TRUTH: offset_us - TRUTH of every ok row of NODE.
err_us() { col "$1" "$2" offset_us | awk -v t="$3" '$1 != "" { print $1 - t }'; }

# within MEDIAN BOUND: |MEDIAN| <= BOUND
within() { awk -v m="$1" -v b="$2" 'BEGIN { if (m < 0) m = -m; exit !(m != "nan" && m <= b) }'; }

probe_honest_offsets_within_50us_fresh_and_reuse() {
	# under ASan+UBSan the sim spends several times longer between its clock read and its
	# write, and the probe in its callbacks: the 50 us are for the optimized build
	local honest_limit=50
	[ "${IPPANTIME_SANITIZE:-0}" = 1 ] && honest_limit=250
	local d i mode; d=$(mktmp)
	local truth=(0 15000 -250000 3000000)
	printf 'node 0 offset_us=0\nnode 1 offset_us=15000\nnode 2 offset_us=-250000\nnode 3 offset_us=3000000\n' >"$d/sim.conf"
	start_sim "$d" --nodes 4 --config "$d/sim.conf" || return 1
	for mode in fresh reuse; do
		"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 4)" --samples 100 --interval-ms 10 --timeout 1 \
			--connection $mode --probe-name t --out "$d/$mode.csv" >/dev/null || { echo "probe $mode exit $?"; return 1; }
		: >"$d/$mode.err"
		for i in 0 1 2 3; do
			err_us "$d/$mode.csv" node-0$i "${truth[$i]}" >"$d/$mode.err$i"
			cat "$d/$mode.err$i" >>"$d/$mode.err"
			# per node: a sim thread woken from idle by a round's first request reads its
			# clock ~100 us late on this VM, later still when it was woken onto the CPU the
			# probe keeps busy firing the round (service time before the read, which no
			# mid-point removes): ~60 us of error for that node, ~200 us under ASan
			within "$(median <"$d/$mode.err$i")" 500 || { echo "$mode node-0$i median error $(median <"$d/$mode.err$i") us"; return 1; }
		done
		# over all samples: within 50 us (the classic mid-point is +100..+200 us off here on
		# fresh connections, by half the handshake)
		within "$(median <"$d/$mode.err")" "$honest_limit" || { echo "$mode: median error $(median <"$d/$mode.err") us over all nodes (limit $honest_limit)"; return 1; }
	done
}

probe_split_writes_reuse_honest_holds_classic_off_10ms() {
	local d m; d=$(mktmp)
	# headers and body in two writes, Nagle on: on a kept-alive connection the body waits for
	# the probe's delayed ACK (~40 ms) after the clock was read. At 25 ms (the default cadence)
	# the probe's socket answers within its ACK timeout, so Linux keeps it in delayed-ACK
	# (ping-pong) mode; at 80 ms it would ACK at once and nothing would be held. A held node is
	# busy for the next round, so about every other round is sampled.
	# (four nodes, as in probe_honest_offsets_within_50us_fresh_and_reuse: the first request
	# of a round wakes an idle sim thread, whose late clock read weighs less among four)
	local truth=(0 20000 -5000 1000000) i
	printf 'node 1 offset_us=20000\nnode 2 offset_us=-5000\nnode 3 offset_us=1000000\n' >"$d/sim.conf"
	start_sim "$d" --nodes 4 --config "$d/sim.conf" --split-writes || return 1
	for m in honest classic; do
		"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 4)" --samples 40 --interval-ms 25 --timeout 1 \
			--connection reuse --midpoint $m --probe-name t --out "$d/$m.csv" >/dev/null || { echo "probe $m exit $?"; return 1; }
		for i in 0 1 2 3; do err_us "$d/$m.csv" node-0$i "${truth[$i]}"; done >"$d/$m.err"
		[ "$(grep -c . "$d/$m.err")" -ge 32 ] || { echo "$m: only $(grep -c . "$d/$m.err") ok samples"; return 1; }
	done
	for i in 0 1 2 3; do
		within "$(err_us "$d/honest.csv" node-0$i "${truth[$i]}" | median)" 500 \
			|| { echo "honest node-0$i median error $(err_us "$d/honest.csv" node-0$i "${truth[$i]}" | median) us"; return 1; }
	done
	# the hold happened: the body came >= 10 ms after the first byte (bash: 64-bit integers)
	local tf t1 held=()
	while IFS=, read -r tf t1; do held+=($(( (t1 - tf) / 1000 ))); done \
		< <(awk -F, 'NR > 1 && $5 == "1" { print $16 "," $7 }' "$d/honest.csv" | tr -d '\r')
	[ "$(printf '%s\n' "${held[@]}" | median | cut -d. -f1)" -ge 10000 ] || { echo "no hold: body after first byte $(printf '%s\n' "${held[@]}" | median) us"; return 1; }
	within "$(median <"$d/honest.err")" 50 || { echo "honest: median error $(median <"$d/honest.err") us"; return 1; }
	# the classic interval ends after the held body: its mid-point is >= 10 ms late
	awk -v m="$(median <"$d/classic.err")" 'BEGIN { exit !(m <= -10000) }' || { echo "classic: median error $(median <"$d/classic.err") us, expected <= -10000"; return 1; }
	grep -q 'split_writes=1$' "$d/sim.out" || echo "sim does not list split_writes=1"
}

probe_midpoint_classic_is_the_original_arithmetic() {
	local d m; d=$(mktmp)
	printf 'node 0 offset_us=5000\n' >"$d/sim.conf"
	start_sim "$d" --nodes 1 --config "$d/sim.conf" || return 1
	for m in classic honest; do
		"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 1)" --samples 12 --interval-ms 20 --timeout 1 \
			--midpoint $m --probe-name t --out "$d/$m.csv" >/dev/null || { echo "probe $m exit $?"; return 1; }
	done
	# every ok row recomputed from its own cells, in bash's 64-bit integers
	local _a t0 t1 mid v off jit ts tf meth prev="" n=0
	while IFS=, read -r _a _a _a _a ok t0 t1 _a mid v off jit _a _a ts tf meth _a; do
		[ "$ok" = 1 ] || continue
		n=$((n + 1))
		[ "$meth" = classic ] || { echo "classic run, row says '$meth'"; return 1; }
		[ "$mid" -eq $(( (t0 + t1) / 2 / 1000 )) ] || { echo "classic mid $mid, (t0+t1)/2/1000 = $(( (t0 + t1) / 2 / 1000 ))"; return 1; }
		[ "$off" -eq $(( v - (t0 + t1) / 2 / 1000 )) ] || { echo "classic offset $off"; return 1; }
		[ -z "$prev" ] || [ "$jit" -eq $(( off - prev )) ] || { echo "jitter $jit after $prev"; return 1; }
		prev=$off
	done < <(tail -n +2 "$d/classic.csv" | tr -d '\r')
	[ "$n" -ge 8 ] || { echo "classic: $n ok rows"; return 1; }
	n=0
	while IFS=, read -r _a _a _a _a ok t0 t1 _a mid v off jit _a _a ts tf meth _a; do
		[ "$ok" = 1 ] || continue
		n=$((n + 1))
		[ "$meth" = honest ] && [ "$mid" -eq $(( (ts + tf) / 2 / 1000 )) ] && [ "$off" -eq $(( v - mid )) ] \
			|| { echo "honest row: $meth mid $mid t_sent $ts t_first_byte $tf"; return 1; }
	done < <(tail -n +2 "$d/honest.csv" | tr -d '\r')
	[ "$n" -ge 8 ] || { echo "honest: $n ok rows"; return 1; }
	"$IPT" probe --targets-json "$(targets_json $SIM_BASE 1)" --midpoint middle --probe-name t --out "$d/x.csv" 2>"$d/err"
	[ $? -eq 2 ] && [ ! -e "$d/x.csv" ] && [ "$(cat "$d/err")" = "ippantime: probe: bad --midpoint 'middle' (honest or classic)" ] \
		|| echo "bad --midpoint: $(cat "$d/err")"
}

probe_backwards_count_exact_and_flagged_rows() {
	local d; d=$(mktmp)
	# node 1 steps back 50 ms once, after its 10th reply: exactly one backwards sample
	printf 'node 1 step_at_req=10 step_us=-50000\nnode 2 step_at_req=10 step_us=50000\n' >"$d/sim.conf"
	start_sim "$d" --nodes 3 --config "$d/sim.conf" || return 1
	"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 3)" --samples 40 --interval-ms 20 --timeout 1 \
		--probe-name t --out "$d/p.csv" >"$d/out" || { echo "probe exit $?"; return 1; }
	local b0 b1 b2
	b0=$(col "$d/p.csv" node-00 monotonic_backwards | grep -c '^1$')
	b1=$(col "$d/p.csv" node-01 monotonic_backwards | grep -c '^1$')
	b2=$(col "$d/p.csv" node-02 monotonic_backwards | grep -c '^1$')
	[ "$b0 $b1 $b2" = "0 1 0" ] || { echo "backwards rows $b0 $b1 $b2"; return 1; }
	grep -q '^node-01 .*| backwards=1$' "$d/out" && grep -q '^node-00 .*| backwards=0$' "$d/out" \
		|| { echo "summary: $(grep node-01 "$d/out")"; return 1; }
}

probe_injected_jitter_shows_in_p99() {
	local d; d=$(mktmp)
	printf 'node 1 jitter_us=100000\n' >"$d/sim.conf"
	start_sim "$d" --nodes 2 --config "$d/sim.conf" || return 1
	"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 2)" --samples 60 --interval-ms 10 --timeout 1 \
		--probe-name t --out "$d/p.csv" >"$d/out" || { echo "probe exit $?"; return 1; }
	local j0 j1
	j0=$(sed -nE 's/^node-00 .*jit_us p95=-?[0-9]+ p99=([0-9]+) .*/\1/p' "$d/out")
	j1=$(sed -nE 's/^node-01 .*jit_us p95=-?[0-9]+ p99=([0-9]+) .*/\1/p' "$d/out")
	# uniform +-100 ms: consecutive differences reach past 100 ms at p99; the clean node stays
	# far below (a few ms at worst on a loaded machine)
	[ -n "$j0" ] && [ -n "$j1" ] && [ "$j1" -ge 100000 ] && [ "$j1" -gt $((j0 * 4)) ] \
		|| { echo "jitter p99 clean=$j0 jittery=$j1"; return 1; }
}

probe_faulty_nodes_ok0_with_error_and_rounds_never_stall() {
	local d; d=$(mktmp)
	printf 'node 1 fault=timeout\nnode 2 fault=down\nnode 3 fault=nonjson\nnode 4 fault=missing\nnode 5 fault=slow\nnode 6 fault=close\nnode 7 fault=http500 fault_every=2\n' >"$d/sim.conf"
	start_sim "$d" --nodes 8 --config "$d/sim.conf" || return 1
	local t0 t1
	t0=$(date +%s%N)
	"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 8)" --samples 30 --interval-ms 20 --timeout 0.4 \
		--probe-name t --out "$d/p.csv" >"$d/out" || { echo "probe exit $?"; return 1; }
	t1=$(date +%s%N)
	# every round has a row for every node; the healthy node is sampled in (nearly) every round
	# even though node-01/05 hold their 0.4 s timeouts: no round waited for the faulty ones
	[ "$(tail -n +2 "$d/p.csv" | wc -l)" -eq 240 ] || { echo "row count"; return 1; }
	[ "$(nok "$d/p.csv" node-00)" -ge 20 ] || { echo "node-00 ok in only $(nok "$d/p.csv" node-00)/30 rounds"; return 1; }
	[ "$(errs "$d/p.csv" node-00)" = "" ] || { echo "node-00 errors: $(errs "$d/p.csv" node-00)"; return 1; }
	# a timed-out node is busy for the rounds its request spans, never queued
	[ "$(col "$d/p.csv" node-01 error | sort -u | tr '\n' ' ')" = "busy timeout " ] || { echo "node-01 errors: $(col "$d/p.csv" node-01 error | sort -u)"; return 1; }
	[ "$(errs "$d/p.csv" node-02)" = connect ] || { echo "node-02: $(errs "$d/p.csv" node-02)"; return 1; }
	[ "$(errs "$d/p.csv" node-03)" = bad_json ] || { echo "node-03: $(errs "$d/p.csv" node-03)"; return 1; }
	[ "$(errs "$d/p.csv" node-04)" = missing_field ] || { echo "node-04: $(errs "$d/p.csv" node-04)"; return 1; }
	[ "$(errs "$d/p.csv" node-05)" = timeout ] || { echo "node-05: $(errs "$d/p.csv" node-05)"; return 1; }
	[ "$(errs "$d/p.csv" node-06)" = transfer ] || { echo "node-06: $(errs "$d/p.csv" node-06)"; return 1; }
	# every other request fails: both kinds present, and nothing else
	[ "$(errs "$d/p.csv" node-07)" = http_500 ] && [ "$(nok "$d/p.csv" node-07)" -ge 5 ] \
		|| { echo "node-07 every other fails: $(errs "$d/p.csv" node-07), ok $(nok "$d/p.csv" node-07)"; return 1; }
	# failures do not reset jitter: every ok row after the first has a jitter value
	[ "$(col "$d/p.csv" node-07 jitter_us | grep -c '^-\?[0-9]')" -eq $(( $(nok "$d/p.csv" node-07) - 1 )) ] \
		|| { echo "node-07 jitter after failures"; return 1; }
	# ok=0 rows never carry a value or offset
	awk -F, 'NR>1 && $5=="0" && ($10!="" || $11!="" || $12!="") {bad=1} END{exit bad}' "$d/p.csv" || { echo "ok=0 row with a value"; return 1; }
	grep -q "^node-01: NO VALID SAMPLES (missing field 'ippan_time_us'?)$" "$d/out" || { echo "summary line"; return 1; }
	# generous bound (30 x 20 ms = 0.6 s): a stalled design would wait 0.4 s per faulty node per round
	[ $(( (t1 - t0) / 1000000 )) -lt 3000 ] || echo "took $(( (t1 - t0) / 1000000 )) ms"
}

probe_time_fallback_used_once_and_reported() {
	local d; d=$(mktmp)
	printf 'node 1 fault=time_only offset_us=7000\nnode 2 fault=missing\n' >"$d/sim.conf"
	start_sim "$d" --nodes 3 --config "$d/sim.conf" || return 1
	"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 3)" --samples 10 --interval-ms 20 --timeout 1 \
		--probe-name t --out "$d/p.csv" >"$d/out" 2>"$d/err" || { echo "probe exit $?"; return 1; }
	[ "$(grep -c "using /time" "$d/err")" -eq 1 ] && grep -q "^ippantime: node-01: '/status' has no 'ippan_time_us'; using /time (time_us) for this node$" "$d/err" \
		|| { echo "stderr: $(cat "$d/err")"; return 1; }
	[ "$(errs "$d/p.csv" node-01)" = "" ] && [ "$(nok "$d/p.csv" node-01)" -ge 5 ] || { echo "node-01 errors: $(errs "$d/p.csv" node-01)"; return 1; }
	[ "$(colnb "$d/p.csv" node-01 url | sort -u)" = "http://127.0.0.1:$((SIM_BASE+1))/time" ] || { echo "url column"; return 1; }
	local m; m=$(col "$d/p.csv" node-01 offset_us | median)
	awk -v m="$m" 'BEGIN{e=m-7000; if(e<0)e=-e; exit !(e<=500)}' || { echo "offset via /time $m"; return 1; }
	grep -q '^node-01 .*| source=/time$' "$d/out" || { echo "summary does not say /time"; return 1; }
	# a node with neither: missing_field rows, tried once
	[ "$(errs "$d/p.csv" node-02)" = missing_field ] || { echo "node-02"; return 1; }
	[ "$(colnb "$d/p.csv" node-02 url | sort -u)" = "http://127.0.0.1:$((SIM_BASE+2))/status" ] || { echo "node-02 url"; return 1; }
}

probe_value_forms_string_float_negative_bool() {
	local d; d=$(mktmp)
	printf 'node 0 fault=string offset_us=1000\nnode 1 fault=float offset_us=1000\nnode 2 fault=negative\nnode 3 fault=bool\nnode 4 fault=null\nnode 5 fault=badstring\nnode 6 fault=negstring\nnode 7 fault=array\n' >"$d/sim.conf"
	start_sim "$d" --nodes 8 --config "$d/sim.conf" || return 1
	"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 8)" --samples 5 --interval-ms 20 --timeout 1 \
		--probe-name t --out "$d/p.csv" >/dev/null 2>"$d/err" || { echo "probe exit $?"; return 1; }
	[ "$(errs "$d/p.csv" node-00)" = "" ] && [ "$(nok "$d/p.csv" node-00)" -ge 1 ] || { echo "digit string not accepted"; return 1; }
	[ "$(errs "$d/p.csv" node-01)" = "" ] && [ "$(nok "$d/p.csv" node-01)" -ge 1 ] || { echo "float not accepted"; return 1; }
	# the float is N.75: the stored value is its integer part (truncated, never rounded up)
	col "$d/p.csv" node-01 ippan_time_us | grep -Eqx '[0-9]{16}' || { echo "float value form"; return 1; }
	[ "$(errs "$d/p.csv" node-02)" = "" ] && col "$d/p.csv" node-02 ippan_time_us | grep -q '^-' \
		|| { echo "negative integer not accepted as integer"; return 1; }
	[ "$(errs "$d/p.csv" node-03)" = bad_value ] || { echo "bool: $(col "$d/p.csv" node-03 error | sort -u)"; return 1; }
	# null counts as missing (as in the original), so the /time fallback takes over
	[ "$(colnb "$d/p.csv" node-04 url | sort -u)" = "http://127.0.0.1:$((SIM_BASE+4))/time" ] && grep -q "node-04: '/status' has no" "$d/err" \
		|| { echo "null: $(colnb "$d/p.csv" node-04 url | sort -u)"; return 1; }
	[ "$(errs "$d/p.csv" node-05)" = bad_value ] || { echo "badstring"; return 1; }
	[ "$(errs "$d/p.csv" node-06)" = bad_value ] || { echo "negstring"; return 1; }
	[ "$(errs "$d/p.csv" node-07)" = bad_json ] || { echo "array"; return 1; }
}

probe_body_cap_and_redirect_policy() {
	local d; d=$(mktmp)
	printf 'node 0 fault=huge\nnode 1 fault=redirect_same offset_us=2000\nnode 2 fault=redirect_other\n' >"$d/sim.conf"
	start_sim "$d" --nodes 3 --config "$d/sim.conf" || return 1
	"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 3)" --samples 4 --interval-ms 50 --timeout 1 \
		--probe-name t --out "$d/p.csv" >/dev/null || { echo "probe exit $?"; return 1; }
	[ "$(errs "$d/p.csv" node-00)" = body_too_large ] || { echo "huge: $(errs "$d/p.csv" node-00)"; return 1; }
	[ "$(errs "$d/p.csv" node-01)" = "" ] && [ "$(nok "$d/p.csv" node-01)" -ge 1 ] || { echo "same-host redirect not followed"; return 1; }
	[ "$(errs "$d/p.csv" node-02)" = redirect ] || { echo "other-host redirect: $(errs "$d/p.csv" node-02)"; return 1; }
}

probe_reuse_connection_mode_same_truth() {
	local d; d=$(mktmp)
	printf 'node 1 offset_us=40000\n' >"$d/sim.conf"
	start_sim "$d" --nodes 2 --config "$d/sim.conf" || return 1
	"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 2)" --samples 40 --interval-ms 10 --timeout 1 \
		--connection reuse --probe-name t --out "$d/p.csv" >/dev/null || { echo "probe exit $?"; return 1; }
	local m; m=$(col "$d/p.csv" node-01 offset_us | median)
	awk -v m="$m" 'BEGIN{e=m-40000; if(e<0)e=-e; exit !(e<=200)}' || { echo "reuse median $m"; return 1; }
	[ "$(errs "$d/p.csv" node-00)" = "" ] || echo "reuse errors: $(errs "$d/p.csv" node-00)"
}

probe_bad_targets_json_exit2_and_no_csv() {
	local d rc j; d=$(mktmp)
	for j in '[]' '{}' 'not json' '[{"node":"a"}]' '[{"node":"a","url":"http://x"},{"node":"a","url":"http://y"}]'; do
		"$IPT" probe --kernel-ts off --targets-json "$j" --probe-name t --out "$d/p.csv" >/dev/null 2>"$d/err"; rc=$?
		[ $rc -eq 2 ] || { echo "targets '$j': exit $rc"; return 1; }
		[ ! -e "$d/p.csv" ] || { echo "CSV created for '$j'"; return 1; }
		[ "$(wc -l <"$d/err")" -eq 1 ] || { echo "not one line for '$j': $(cat "$d/err")"; return 1; }
	done
	"$IPT" probe --kernel-ts off --targets-json '[]' --probe-name t --out "$d/p.csv" 2>&1 | grep -qx 'targets must be a non-empty JSON list' || { echo "message"; return 1; }
	"$IPT" probe --kernel-ts off --targets-json '[{"node":"a","url":"http://127.0.0.1:1"}]' --samples 0 --probe-name t --out "$d/p.csv" 2>"$d/err"; rc=$?
	[ $rc -eq 2 ] && grep -qx "ippantime: probe: bad --samples '0' (integer >= 1)" "$d/err" || { echo "samples 0: $rc $(cat "$d/err")"; return 1; }
	"$IPT" probe --kernel-ts off --targets-json '[{"node":"a","url":"http://127.0.0.1:1"}]' --probe-name t 2>"$d/err"; rc=$?
	[ $rc -eq 2 ] || echo "missing --out: exit $rc"
}

probe_unwritable_out_dir_one_line_error() {
	local d rc; d=$(mktmp)
	# (default --kernel-ts auto: its line would come after the CSV is open, so not here)
	"$IPT" probe --targets-json '[{"node":"a","url":"http://127.0.0.1:1"}]' --samples 1 --probe-name t \
		--out "$d/no/such/dir/p.csv" >/dev/null 2>"$d/err"; rc=$?
	[ $rc -eq 2 ] && [ "$(cat "$d/err")" = "ippantime: probe: cannot write --out '$d/no/such/dir/p.csv': No such file or directory" ] \
		|| { echo "rc=$rc err=$(cat "$d/err")"; return 1; }
}

probe_kernel_ts_modes() {
	local d rc why as=(); d=$(mktmp)
	why="kernel timestamps need netseg's status_ts, not in this build"
	if [ "${IPPANTIME_KTS:-0}" = 1 ]; then
		# status_ts is linked in: it works as root (netseg's tests/integration/ippantime_kts.sh);
		# the refusals are those of a user without the privileges
		why="needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)"
		if [ "$(id -u)" = 0 ]; then
			as=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
			chmod 0777 "$d"
		fi
	fi
	start_sim "$d" --nodes 1 || return 1
	local args=(--targets-json "$(targets_json $SIM_BASE 1)" --samples 3 --interval-ms 20 --probe-name t)
	# on, without kernel timestamps: one line with the why, exit 2, no CSV
	"${as[@]}" "$IPT" probe "${args[@]}" --kernel-ts on --out "$d/p.csv" >"$d/out" 2>"$d/err"; rc=$?
	[ $rc -eq 2 ] && [ "$(cat "$d/err")" = "ippantime: probe: --kernel-ts on: $why" ] && [ ! -e "$d/p.csv" ] && [ ! -s "$d/out" ] \
		|| { echo "on: rc=$rc $(cat "$d/err")"; return 1; }
	# auto, given or by default: exactly one line, and the probe works on user-space stamps
	local m
	for m in "--kernel-ts auto" ""; do
		# shellcheck disable=SC2086  # $m is zero or two words
		"${as[@]}" "$IPT" probe "${args[@]}" $m --out "$d/p.csv" >/dev/null 2>"$d/err"; rc=$?
		[ $rc -eq 0 ] && [ "$(cat "$d/err")" = "ippantime: kernel timestamps off: $why" ] \
			|| { echo "auto ($m): rc=$rc $(cat "$d/err")"; return 1; }
		[ "$(nok "$d/p.csv" node-00)" -eq 3 ] && [ "$(col "$d/p.csv" node-00 k_offset_us | grep -c .)" -eq 0 ] \
			|| { echo "auto ($m): rows"; return 1; }
	done
	# off: not a word about it
	"$IPT" probe "${args[@]}" --kernel-ts off --out "$d/p.csv" >/dev/null 2>"$d/err"; rc=$?
	[ $rc -eq 0 ] && [ ! -s "$d/err" ] && [ "$(nok "$d/p.csv" node-00)" -eq 3 ] || { echo "off: rc=$rc $(cat "$d/err")"; return 1; }
	"$IPT" probe "${args[@]}" --kernel-ts maybe --out "$d/p.csv" 2>"$d/err"; rc=$?
	[ $rc -eq 2 ] && [ "$(cat "$d/err")" = "ippantime: probe: bad --kernel-ts 'maybe' (auto, on or off)" ] || echo "bad mode: rc=$rc $(cat "$d/err")"
}

# Against tests/unit/kts_fake.c (a test-only build): its stamps are t_sent + 20 us (when the
# probe's window opens 2 ms before t_sent) and t_first_byte plus the connection's remote port,
# so every k cell says which window and which connection the probe passed.
probe_kernel_ts_stamps_of_the_value_transfer() {
	local d K=$UNIT_DIR/ippantime-ktsfake; d=$(mktmp)
	[ -x "$K" ] || { echo "$K not built"; return 1; }
	# node 1: the value comes from the /time fallback; node 2: after a same-host redirect
	printf 'node 1 fault=time_only offset_us=7000\nnode 2 fault=redirect_same offset_us=-3000\nnode 3 fault=http500\n' >"$d/sim.conf"
	start_sim "$d" --nodes 4 --config "$d/sim.conf" || return 1
	"$K" probe --targets-json "$(targets_json $SIM_BASE 4)" --samples 12 --interval-ms 20 --timeout 1 --kernel-ts on \
		--probe-name t --out "$d/p.csv" >"$d/out" 2>"$d/err" || { echo "exit $?: $(cat "$d/err")"; return 1; }
	[ "$(grep -c 'kernel timestamps' "$d/err")" -eq 1 ] && grep -qx 'ippantime: kernel timestamps on (fake: tx=test rx=test)' "$d/err" \
		|| { echo "stderr: $(cat "$d/err")"; return 1; }
	local _a node url ok v ts tf k0 k1 krtt koff port nk=0 nmiss=0 d01=0
	while IFS=, read -r _a _a node url ok _a _a _a _a v _a _a _a _a ts tf _a k0 k1 krtt koff; do
		if [ "$ok" != 1 ]; then
			[ -z "$k0$k1$krtt$koff" ] || { echo "$node: k cells on a failed row"; return 1; }
			continue
		fi
		[ -n "$k0" ] || { nmiss=$((nmiss + 1)); [ -z "$k1$krtt$koff" ] || { echo "$node: half-filled k cells"; return 1; }; continue; }
		nk=$((nk + 1))
		[ "$node" = node-01 ] && d01=$((d01 + 1))
		port=${url#http://127.0.0.1:}
		port=${port%%/*}
		[ "$k0" -eq $((ts + 20000)) ] || { echo "$node: k_t0 $k0, t_sent $ts: window not [t_sent - 2 ms, ...] of this transfer"; return 1; }
		[ "$k1" -eq $((tf + port)) ] || { echo "$node: k_t1 $k1, t_first_byte $tf, port $port: wrong connection or window end"; return 1; }
		[ "$krtt" = "$(( (k1 - k0) / 1000 )).$(printf %03d $(( (k1 - k0) % 1000 )))" ] || { echo "$node: k_rtt_us $krtt"; return 1; }
		[ "$koff" -eq $(( v - (k0 + k1) / 2 / 1000 )) ] || { echo "$node: k_offset_us $koff"; return 1; }
	done < <(tail -n +2 "$d/p.csv" | tr -d '\r')
	# node-03 fails (HTTP 500), the others give 12 values each; the fake finds nothing on
	# every 4th take
	[ $((nk + nmiss)) -ge 30 ] && [ "$nmiss" -ge 5 ] && [ "$d01" -ge 5 ] || { echo "rows with stamps $nk, without $nmiss, node-01 $d01"; return 1; }
	# the summary: both offsets per node, and the lost records
	local k50; k50=$(col "$d/p.csv" node-01 k_offset_us | grep . | median | awk '{ printf "%d", $1 }')
	grep -Eq "^node-01 .*\| source=/time \| k_off_us p50=$k50 user-k_us p50=-?[0-9]+ k_samples=$d01$" "$d/out" \
		|| { echo "summary: $(grep node-01 "$d/out"), k p50 $k50 from $d01 rows"; return 1; }
	grep -q '^node-03: NO VALID SAMPLES' "$d/out" || { echo "node-03 summary"; return 1; }
	grep -qx 'kernel timestamps: 3 records lost (status_ts ring buffer full); those samples have no k_\* values' "$d/out" \
		|| { echo "no lost line: $(cat "$d/out")"; return 1; }
	# --json, and auto: on when the kernel side opens
	"$K" probe --targets-json "$(targets_json $SIM_BASE 1)" --samples 4 --interval-ms 20 --json --probe-name t \
		--out "$d/j.csv" >"$d/j.json" 2>"$d/err" || { echo "json exit $?"; return 1; }
	grep -qx 'ippantime: kernel timestamps on (fake: tx=test rx=test)' "$d/err" || { echo "auto: $(cat "$d/err")"; return 1; }
	tr -d ' \n' <"$d/j.json" | grep -q '"kernel_ts":{"mode":"auto","on":true,"hooks":"fake:tx=testrx=test","lost":3}' \
		&& grep -q '"k_off_us_p50": -\?[0-9]' "$d/j.json" && grep -q '"user_minus_k_us_p50": -\?[0-9]' "$d/j.json" \
		|| echo "json: $(tr -d ' \n' <"$d/j.json" | cut -c1-300)"
}

probe_inventory_settings_and_flags_win() {
	local d; d=$(mktmp)
	start_sim "$d" --nodes 3 || return 1
	cat >"$d/inv.yaml" <<Y
servers:
  - {name: s, host: 127.0.0.1, node_index_range: [0, 2]}
http: {base_port: $SIM_BASE, timeout_sec: 1}
probe: {samples: 4, interval_ms: 10}
Y
	"$IPT" probe --kernel-ts off --inventory "$d/inv.yaml" --probe-name t --out "$d/p.csv" >/dev/null || { echo "exit $?"; return 1; }
	[ "$(tail -n +2 "$d/p.csv" | wc -l)" -eq 12 ] || { echo "inventory samples not used"; return 1; }
	"$IPT" probe --kernel-ts off --inventory "$d/inv.yaml" --samples 2 --probe-name t --out "$d/p.csv" >/dev/null || { echo "exit $?"; return 1; }
	[ "$(tail -n +2 "$d/p.csv" | wc -l)" -eq 6 ] || { echo "--samples did not win"; return 1; }
	# --targets-file with --inventory: the file's targets, the inventory's settings
	targets_json $SIM_BASE 1 >"$d/t.json"
	"$IPT" probe --kernel-ts off --inventory "$d/inv.yaml" --targets-file "$d/t.json" --probe-name t --out "$d/p.csv" >/dev/null || { echo "exit $?"; return 1; }
	[ "$(tail -n +2 "$d/p.csv" | wc -l)" -eq 4 ] || echo "--targets-file: $(tail -n +2 "$d/p.csv" | wc -l) rows"
}

probe_progress_line_only_on_terminal() {
	local d; d=$(mktmp)
	command -v script >/dev/null || { echo "SKIP: script(1) (util-linux) not installed"; return 77; }
	start_sim "$d" --nodes 2 || return 1
	local args="--targets-json '$(targets_json $SIM_BASE 2)' --samples 20 --interval-ms 20 --timeout 1 --probe-name t"
	# on a terminal (script gives the probe a pty): the progress line appears
	script -qec "$IPT probe $args --out $d/tty.csv" /dev/null >"$d/tty.out" 2>&1 || { echo "probe on pty failed"; return 1; }
	grep -q 'round [0-9]*/20  ok=' "$d/tty.out" || { echo "no progress line on a terminal"; return 1; }
	# not a terminal: no progress anywhere, and never in the CSV
	eval "\"$IPT\" probe $args --out $d/p.csv" >"$d/out" 2>"$d/err" || { echo "probe failed"; return 1; }
	! grep -q 'round ' "$d/out" "$d/err" "$d/p.csv" "$d/tty.csv" || { echo "progress line outside a terminal"; return 1; }
}

probe_sigterm_keeps_whole_rounds_exit_130() {
	local d pid rc; d=$(mktmp)
	start_sim "$d" --nodes 3 || return 1
	"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 3)" --samples 100000 --interval-ms 10 --timeout 1 \
		--probe-name t --out "$d/p.csv" >"$d/out" 2>"$d/err" &
	pid=$!
	IPT_PIDS+=("$pid")
	sleep 0.5
	kill -TERM "$pid"
	wait "$pid"; rc=$?
	[ $rc -eq 130 ] || { echo "exit $rc"; return 1; }
	grep -q '^ippantime: probe: interrupted after [0-9]* of 100000 rounds$' "$d/err" || { echo "stderr: $(cat "$d/err")"; return 1; }
	local rows; rows=$(tail -n +2 "$d/p.csv" | wc -l)
	[ "$rows" -gt 0 ] && [ $((rows % 3)) -eq 0 ] || { echo "rows $rows not whole rounds"; return 1; }
	tail -c 2 "$d/p.csv" | od -c | grep -q '\\r  \\n' || { echo "last row incomplete"; return 1; }
	grep -q '^=== PROBE SUMMARY \[t\] ===$' "$d/out" || echo "no summary after SIGTERM"
}

probe_sim_service_delay_in_rtt_and_half_in_offset() {
	local d; d=$(mktmp)
	printf 'node 1 delay_ms=40\n' >"$d/sim.conf"
	start_sim "$d" --nodes 2 --config "$d/sim.conf" || return 1
	"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 2)" --samples 5 --interval-ms 100 --timeout 1 \
		--probe-name t --out "$d/p.csv" >/dev/null || { echo "probe exit $?"; return 1; }
	[ "$(nok "$d/p.csv" node-01)" -ge 1 ] || { echo "no ok sample"; return 1; }
	colnb "$d/p.csv" node-01 rtt_ms | awk '$1 < 40 { bad = 1 } END { exit bad }' \
		|| { echo "rtt below the 40 ms service delay: $(colnb "$d/p.csv" node-01 rtt_ms | tr '\n' ' ')"; return 1; }
	# the delay is spent before the clock read (request, work, read, reply): the honest
	# mid-point sees the node ahead by half of it, 20 ms (+ the sim's ms timer granularity)
	local m; m=$(col "$d/p.csv" node-01 offset_us | median)
	awk -v m="$m" 'BEGIN { exit !(m >= 19000 && m <= 22000) }' || echo "offset with a 40 ms service delay: $m us, expected ~ +20000"
}

probe_sim_drift_recovered_as_offset_slope() {
	local d; d=$(mktmp)
	printf 'node 0 drift_ppm=20000\n' >"$d/sim.conf"
	start_sim "$d" --nodes 1 --config "$d/sim.conf" || return 1
	"$IPT" probe --kernel-ts off --targets-json "$(targets_json $SIM_BASE 1)" --samples 50 --interval-ms 20 --timeout 1 \
		--probe-name t --out "$d/p.csv" >/dev/null || { echo "probe exit $?"; return 1; }
	# slope between the medians of the first and last 10 ok samples, in ppm (20000 injected)
	awk -F, 'NR > 1 && $5 == "1" { n++; t[n] = substr($6, 5) / 1000; o[n] = $11 }
		function med(a, lo, hi,   i, j, k, v, x) { k = 0; for (i = lo; i <= hi; i++) v[k++] = a[i]
			for (i = 0; i < k; i++) for (j = i + 1; j < k; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
			return (v[int((k - 1) / 2)] + v[int(k / 2)]) / 2 }
		END { if (n < 30) { print "only " n " ok samples"; exit 1 }
			ppm = (med(o, n - 9, n) - med(o, 1, 10)) / (med(t, n - 9, n) - med(t, 1, 10)) * 1e6
			if (ppm < 15000 || ppm > 25000) { print "drift " ppm " ppm, injected 20000"; exit 1 } }' "$d/p.csv"
}
