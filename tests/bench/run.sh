#!/usr/bin/env bash
# make bench: pktwatch's cost, measured side by side in one run on this
# machine (numbers from one run are comparable with each other, not with
# another machine's). Needs root. Prints a table; nothing here is a test.
#   P1 exec -> ready (median of runs)       P2 peak RSS
#   P3 ns per program run (bpf_stats)       P4 ping-flood rate, tracer on / off
#   P5 records lost while tracing a flood
set -u
cd "$(dirname "$0")/../.."
# shellcheck source=../lib.sh
source tests/lib.sh
PW=$NETSEG_BIN/pktwatch
RUNS=${BENCH_RUNS:-10}
FLOOD=${BENCH_FLOOD:-20000}

if ! is_root; then
	echo "bench: needs root" >&2
	exit 1
fi
t_netns_pair a b 198.18.40.1 198.18.40.2 || exit 1

median() { sort -n | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

# P1 + P2: start to ready, and resident memory once ready
for i in $(seq "$RUNS"); do
	rm -f "$T_TMP/ready"
	start=$(date +%s%N)
	t_bg "$T_TMP/p1.out" ip netns exec "$(ns a)" "$PW" --ready-file "$T_TMP/ready"
	pid=$T_LAST_PID
	t_wait_file "$T_TMP/ready" 10
	ready=$(jq -r .wall_ns "$T_TMP/ready")
	echo $(((ready - start) / 1000)) >>"$T_TMP/p1"
	awk '/VmHWM/ {print $2}' /proc/"$pid"/status >>"$T_TMP/p2"
	t_stop "$pid" TERM
done
p1_us=$(median <"$T_TMP/p1" | cut -d. -f1)
p2_kb=$(sort -n "$T_TMP/p2" | tail -n 1)

flood() { # prints elapsed ms of a ping flood of $FLOOD echoes
	local s e
	s=$(date +%s%N)
	ip netns exec "$(ns a)" ping -n -q -f -c "$FLOOD" 198.18.40.2 >/dev/null 2>&1
	e=$(date +%s%N)
	echo $(((e - s) / 1000000))
}

# P4: flood rate with the tracer attached but matching nothing (the cost
# every unrelated packet pays) against no tracer, alternating to share noise
sysctl -q -w kernel.bpf_stats_enabled=1
off_ms=() on_ms=()
for i in 1 2 3; do
	off_ms+=("$(flood)")
	t_bg "$T_TMP/p4.out" ip netns exec "$(ns a)" "$PW" --host 198.18.99.99 --ready-file "$T_TMP/p4.ready"
	pid=$T_LAST_PID
	t_wait_file "$T_TMP/p4.ready" 10
	on_ms+=("$(flood)")
	# P3 from the attached programs' own counters
	bpftool prog show -j | jq -r '.[] | select(.name|startswith("pw_")) | "\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"' >>"$T_TMP/p3"
	t_stop "$pid" TERM
	rm -f "$T_TMP/p4.ready"
done
sysctl -q -w kernel.bpf_stats_enabled=0
off_med=$(printf '%s\n' "${off_ms[@]}" | median)
on_med=$(printf '%s\n' "${on_ms[@]}" | median)
p3=$(awk '{t[$1]+=$2; c[$1]+=$3} END {for (n in t) if (c[n]) printf "%s=%.0f ", n, t[n]/c[n]}' "$T_TMP/p3")

# P5: trace the flood itself; every echo must come out, nothing lost
t_bg "$T_TMP/p5.json" ip netns exec "$(ns a)" "$PW" -j --ready-file "$T_TMP/p5.ready"
pid=$T_LAST_PID
t_wait_file "$T_TMP/p5.ready" 10
flood >/dev/null
t_stop "$pid" INT
p5_lost=$(jq -r 'select(.type=="summary") | .lost' "$T_TMP/p5.json")
p5_rec=$(jq -r 'select(.type=="summary") | .records' "$T_TMP/p5.json")

echo "pktwatch benchmark, $(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs"
printf '%-34s %s\n' "P1 exec -> ready (median of $RUNS)" "$((p1_us / 1000)).$(printf '%03d' $((p1_us % 1000))) ms"
printf '%-34s %s\n' "P2 peak RSS" "$p2_kb KiB"
printf '%-34s %s\n' "P3 ns per program run" "$p3"
printf '%-34s %s\n' "P4 flood time off / on (median)" "$off_med ms / $on_med ms = rate ratio $(awk -v a="$off_med" -v b="$on_med" 'BEGIN {printf "%.3f", a/b}')"
printf '%-34s %s\n' "P5 flood of $FLOOD traced" "records=$p5_rec (want $((2 * FLOOD))) lost=$p5_lost"
