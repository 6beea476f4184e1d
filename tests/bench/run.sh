#!/usr/bin/env bash
# make bench: each tracer's cost, measured side by side in one run on this
# machine (numbers of one run compare with each other, not with another
# machine's). Needs root. Prints a table per tracer; nothing here is a test.
#   P1 exec -> ready (median)            P2 peak RSS (VmHWM)
#   P3 ns per program run (bpf_stats)    P4 UDP packet rate, tracer on / off
#   P5 records lost while tracing a ping flood
set -u
cd "$(dirname "$0")/../.."
# shellcheck source=../lib.sh
source tests/lib.sh
RUNS=${BENCH_RUNS:-10}
FLOOD=${BENCH_FLOOD:-20000}
UDP=${BENCH_UDP:-300000}
FLOODER=${OUTPUT:-$PWD/.output}/bench/udp_flood
A=198.18.40.1
B=198.18.40.2

if ! is_root; then
	echo "bench: needs root" >&2
	exit 1
fi
# a -- h (a bridging host, like a hypervisor between its VM and the wire) -- b
t_bridge_host $A $B || exit 1
t_bg "$T_TMP/sink.out" ip netns exec "$(ns b)" "$FLOODER" sink 9999
sink_pid=$T_LAST_PID

median() { sort -n | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
udp_rate() { ip netns exec "$(ns a)" "$FLOODER" send $B 9999 "$UDP"; }
ping_flood() { ip netns exec "$(ns a)" ping -n -q -f -c "$FLOOD" $B >/dev/null 2>&1; }

# bench_tracer WHERE TOOL PROG_PREFIX RECORD_TYPE RECORDS_PER_ECHO ARGS...:
# the tool as a user runs it, in namespace WHERE (a: the pinger, h: the host)
bench_tracer() {
	local where=$1 tool=$2 prefix=$3 rtype=$4 per_echo=$5 bin=$NETSEG_BIN/$2 i pid
	shift 5
	rm -f "$T_TMP"/p1 "$T_TMP"/p2 "$T_TMP"/p3
	for i in $(seq "$RUNS"); do
		rm -f "$T_TMP/ready"
		start=$(date +%s%N)
		t_bg "$T_TMP/p1.out" ip netns exec "$(ns "$where")" "$bin" "$@" --ready-file "$T_TMP/ready"
		pid=$T_LAST_PID
		t_wait_file "$T_TMP/ready" 10
		echo $((($(jq -r .wall_ns "$T_TMP/ready") - start) / 1000)) >>"$T_TMP/p1"
		t_stop "$pid" TERM
		awk '/VmHWM/ {print $2}' "$T_TMP/p1.out" >/dev/null
	done
	# P2 from a run that traced a flood (the ring buffer's pages are touched)
	t_bg "$T_TMP/p5.json" ip netns exec "$(ns "$where")" "$bin" -j "$@" --ready-file "$T_TMP/p5.ready"
	pid=$T_LAST_PID
	t_wait_file "$T_TMP/p5.ready" 10
	ping_flood
	hwm=$(awk '/VmHWM/ {print $2}' /proc/"$pid"/status)
	t_stop "$pid" INT
	lost=$(jq -r 'select(.type=="summary") | .lost' "$T_TMP/p5.json")
	recs=$(jq -r --arg t "$rtype" 'select(.type==$t)' "$T_TMP/p5.json" | grep -c '"type"')
	rm -f "$T_TMP/p5.ready"

	# P4: UDP the tracer must reject, alternating off/on to share the noise
	# (bpf_stats off: it adds two clock reads to every program run)
	local off=() on=()
	for i in $(seq "${BENCH_ALTERNATIONS:-5}"); do
		off+=("$(udp_rate)")
		t_bg "$T_TMP/p4.out" ip netns exec "$(ns "$where")" "$bin" "$@" --ready-file "$T_TMP/p4.ready"
		pid=$T_LAST_PID
		t_wait_file "$T_TMP/p4.ready" 10
		on+=("$(udp_rate)")
		t_stop "$pid" TERM
		rm -f "$T_TMP/p4.ready"
	done
	# P3: the programs' own counters, under UDP (rejected) and a ping flood (matched)
	sysctl -q -w kernel.bpf_stats_enabled=1
	t_bg "$T_TMP/p3.out" ip netns exec "$(ns "$where")" "$bin" "$@" --ready-file "$T_TMP/p3.ready"
	pid=$T_LAST_PID
	t_wait_file "$T_TMP/p3.ready" 10
	udp_rate >/dev/null
	bpftool prog show -j | jq -r --arg p "$prefix" \
		'.[] | select(.name|startswith($p)) | "\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"' >"$T_TMP/p3.udp"
	ping_flood
	bpftool prog show -j | jq -r --arg p "$prefix" \
		'.[] | select(.name|startswith($p)) | "\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"' >"$T_TMP/p3.all"
	t_stop "$pid" TERM
	rm -f "$T_TMP/p3.ready"
	sysctl -q -w kernel.bpf_stats_enabled=0
	local off_m on_m p1 p3
	off_m=$(printf '%s\n' "${off[@]}" | median)
	on_m=$(printf '%s\n' "${on[@]}" | median)
	p1=$(median <"$T_TMP/p1" | cut -d. -f1)
	# per program: ns per run under UDP alone, and per run of the flood's extra runs
	p3=$(awk 'NR==FNR {t[$1]=$2; c[$1]=$3; next}
		{ du = c[$1] ? t[$1]/c[$1] : 0; dc = $3 - c[$1]; dt = $2 - t[$1];
		  printf "%s=%.0f/%s ", $1, du, ((dc > 0) ? sprintf("%.0f", dt/dc) : "-") }' "$T_TMP/p3.udp" "$T_TMP/p3.all")

	echo "== $tool $* (in namespace $where) =="
	printf '  %-36s %s\n' "P1 exec -> ready (median of $RUNS)" "$((p1 / 1000)).$(printf '%03d' $((p1 % 1000))) ms"
	printf '  %-36s %s\n' "P2 peak RSS after a traced flood" "$hwm KiB"
	printf '  %-36s %s\n' "P3 ns/run: UDP rejected / ping matched" "$p3"
	printf '  %-36s %s\n' "P4 UDP pps on / off (medians)" "$on_m / $off_m = $(awk -v a="$on_m" -v b="$off_m" 'BEGIN {printf "%.3f", a/b}')"
	printf '  %-36s %s\n' "P5 ping flood of $FLOOD traced" "$rtype records=$recs (want $((per_echo * FLOOD))) lost=$lost"
}

echo "netseg benchmark, $(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs"
bench_tracer a pktwatch pw_ pkt 2
bench_tracer a kernel_icmp_rtt rtt_ echo 1 --src-ip $A --dst-ip $B
bench_tracer h icmp_drop_detector idd_ echo 1 --src-ip $A --dst-ip $B --vm-interface h-a --phy-interface h-b
t_stop $sink_pid TERM
