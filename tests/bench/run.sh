#!/usr/bin/env bash
# make bench: each tracer's cost, measured side by side in one run on this
# machine (numbers of one run compare with each other, not with another
# machine's). Needs root. Prints a table per tracer; nothing here is a test.
#   P1 exec -> ready (median)            P2 peak RSS (VmHWM)
#   P3 ns per program run (bpf_stats)    P4 UDP packet rate, tracer on / off
#   P5 records lost while tracing a ping flood
#   analyze_parse: netseg analyze's log parsers, lines/s of JSON and text
#   (user space only; BENCH_PARSE_LINES lines per log, default 1000000)
# BENCH_TOOLS picks tracers (default: all), e.g. BENCH_TOOLS=tun_tx_to_kvm_irq.
set -u
cd "$(dirname "$0")/../.."
# shellcheck source=../lib.sh
source tests/lib.sh
RUNS=${BENCH_RUNS:-10}
FLOOD=${BENCH_FLOOD:-20000}
UDP=${BENCH_UDP:-300000}
TOOLS=${BENCH_TOOLS:-pktwatch kernel_icmp_rtt icmp_drop_detector status_ts tun_tx_to_kvm_irq analyze_parse}
FLOODER=${OUTPUT:-$PWD/.output}/bench/udp_flood
PARSE_BENCH=${OUTPUT:-$PWD/.output}/bench/analyze_parse
A=198.18.40.1
B=198.18.40.2
LAB="nb$$"
# the lab's fixed addresses (netseg lab up)
VM_R=198.18.0.2

if ! is_root; then
	echo "bench: needs root" >&2
	exit 1
fi
want() { [[ " $TOOLS " == *" $1 "* ]]; }
# bpf_stats is machine-wide: give it back as found, also when interrupted
STATS_BEFORE=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -q -w kernel.bpf_stats_enabled="$STATS_BEFORE"; t_cleanup' EXIT

median() { sort -n | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

# Traffic for the bench of one tracer, set by bench_on_bridge or bench_on_lab.
# bridge: a -- h (a bridging host, like a hypervisor between its VM and the
# wire) -- b; veth hands each datagram on inside the sender's send, so the
# sender's own rate is the path's.
bench_on_bridge() {
	udp_rate() { ip netns exec "$(ns a)" "$FLOODER" send $B 9999 "$UDP"; }
	ping_flood() { ip netns exec "$(ns a)" ping -n -q -f -c "$FLOOD" $B >/dev/null 2>&1; }
}
# lab: VM-S -> HS -> wire -> HR -> VM-R through taps and vmm-sim threads. A
# tap that is full drops without slowing the sender, so the rate is what
# VM-R received, from its first datagram to its last.
bench_on_lab() {
	# the receiver ends by itself 300 ms after the last datagram (30 s
	# without any): waited for, not signalled, so it counts the whole flood
	udp_rate() {
		local f=$T_TMP/rate.out pid
		rm -f "$f"
		ip netns exec "$LAB-rvm" "$FLOODER" rate 9999 300 >"$f" 2>"$f.err" &
		pid=$!
		t_wait_file "$f" 10 || { kill "$pid" 2>/dev/null; wait "$pid"; echo 0; return; }
		ip netns exec "$LAB-svm" "$FLOODER" send $VM_R 9999 "$UDP" >/dev/null
		wait "$pid"
		tail -n 1 "$f" | awk '{print $2}'
	}
	ping_flood() { ip netns exec "$LAB-svm" ping -n -q -f -c "$FLOOD" $VM_R >/dev/null 2>&1; }
}

# prog_stats PREFIX PID: "name run_time_ns run_cnt" of the programs PID
# holds (other sessions on the machine may run the same tracer); the ids
# come from its descriptors' fdinfo, as bpftool here does not list pids
prog_stats() {
	local ids
	ids=$(cat /proc/"$2"/fdinfo/* 2>/dev/null | awk '/^prog_id:/ {print $2}' | sort -un | jq -sc .)
	bpftool prog show -j | jq -r --arg p "$1" --argjson ids "${ids:-[]}" \
		'.[] | select((.name|startswith($p)) and (.id as $i | $ids | index($i)))
		 | "\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"'
}

# bench_tracer NETNS TOOL PROG_PREFIX RECORD_TYPE RECORDS_PER_ECHO ARGS...:
# the tool as a user runs it, in namespace NETNS (the full `ip netns` name)
bench_tracer() {
	local where=$1 tool=$2 prefix=$3 rtype=$4 per_echo=$5 bin=$NETSEG_BIN/$2 i pid tpid complete
	shift 5
	rm -f "$T_TMP"/p1 "$T_TMP"/p2 "$T_TMP"/p3
	for i in $(seq "$RUNS"); do
		rm -f "$T_TMP/ready"
		start=$(date +%s%N)
		t_bg "$T_TMP/p1.out" ip netns exec "$where" "$bin" "$@" --ready-file "$T_TMP/ready"
		pid=$T_LAST_PID
		t_wait_file "$T_TMP/ready" 10
		echo $((($(jq -r .wall_ns "$T_TMP/ready") - start) / 1000)) >>"$T_TMP/p1"
		t_stop "$pid" TERM
		awk '/VmHWM/ {print $2}' "$T_TMP/p1.out" >/dev/null
	done
	# P2 from a run that traced a flood (the ring buffer's pages are touched)
	t_bg "$T_TMP/p5.json" ip netns exec "$where" "$bin" -j "$@" --ready-file "$T_TMP/p5.ready"
	pid=$T_LAST_PID
	t_wait_file "$T_TMP/p5.ready" 10
	ping_flood
	hwm=$(awk '/VmHWM/ {print $2}' /proc/"$pid"/status)
	t_stop "$pid" INT
	lost=$(jq -r 'select(.type=="summary") | .lost' "$T_TMP/p5.json")
	recs=$(jq -c --arg t "$rtype" 'select(.type==$t)' "$T_TMP/p5.json" | wc -l)
	# records that carry "complete" (chains): how many of them are
	complete=$(jq -c --arg t "$rtype" 'select(.type==$t and .complete==true)' "$T_TMP/p5.json" | wc -l)
	rm -f "$T_TMP/p5.ready"

	# P4: UDP the tracer must reject, alternating off/on to share the noise
	# (bpf_stats off: it adds two clock reads to every program run)
	local off=() on=()
	for i in $(seq "${BENCH_ALTERNATIONS:-5}"); do
		off+=("$(udp_rate)")
		t_bg "$T_TMP/p4.out" ip netns exec "$where" "$bin" "$@" --ready-file "$T_TMP/p4.ready"
		pid=$T_LAST_PID
		t_wait_file "$T_TMP/p4.ready" 10
		on+=("$(udp_rate)")
		t_stop "$pid" TERM
		rm -f "$T_TMP/p4.ready"
	done
	# P3: the programs' own counters, under UDP (rejected) and a ping flood (matched)
	sysctl -q -w kernel.bpf_stats_enabled=1
	t_bg "$T_TMP/p3.out" ip netns exec "$where" "$bin" "$@" --ready-file "$T_TMP/p3.ready"
	pid=$T_LAST_PID
	t_wait_file "$T_TMP/p3.ready" 10
	tpid=$(jq -r .pid "$T_TMP/p3.ready")
	udp_rate >/dev/null
	prog_stats "$prefix" "$tpid" >"$T_TMP/p3.udp"
	ping_flood
	prog_stats "$prefix" "$tpid" >"$T_TMP/p3.all"
	t_stop "$pid" TERM
	rm -f "$T_TMP/p3.ready"
	sysctl -q -w kernel.bpf_stats_enabled="$STATS_BEFORE"
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
	printf '  %-36s %s\n' "P5 ping flood of $FLOOD traced" "$rtype records=$recs (want $((per_echo * FLOOD)))$(
		[ "$complete" -gt 0 ] && echo " complete=$complete") lost=$lost"
}

echo "netseg benchmark, $(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs"
if want pktwatch || want kernel_icmp_rtt || want icmp_drop_detector || want status_ts; then
	t_bridge_host $A $B || exit 1
	t_bg "$T_TMP/sink.out" ip netns exec "$(ns b)" "$FLOODER" sink 9999
	sink_pid=$T_LAST_PID
	bench_on_bridge
	want pktwatch && bench_tracer "$(ns a)" pktwatch pw_ pkt 2
	want kernel_icmp_rtt && bench_tracer "$(ns a)" kernel_icmp_rtt rtt_ echo 1 --src-ip $A --dst-ip $B
	want icmp_drop_detector && bench_tracer "$(ns h)" icmp_drop_detector idd_ echo 1 \
		--src-ip $A --dst-ip $B --vm-interface h-a --phy-interface h-b
	# a node's server role on the receiver: the UDP sink's socket wake-ups
	# and every transmitted packet pass its hooks and are rejected; pings
	# are no HTTP exchange (P5 wants 0 records)
	want status_ts && bench_tracer "$(ns b)" status_ts sts_ exchange 0 --port 8080-8119
	t_stop "$sink_pid" TERM
fi
# On HR, toward VM-R: ICMP is traced (P2, P5: one chain per request), the
# UDP flood of P3 and P4 is forwarded through the same vnet0 and rejected by
# --protocol icmp after the parse, the most a non-matching packet costs.
if want tun_tx_to_kvm_irq; then
	t_lab_up "$LAB" || { echo "bench: lab up failed: $(head -c 300 "$T_TMP/$LAB.uperr")" >&2; exit 1; }
	bench_on_lab
	bench_tracer "$LAB-rhost" tun_tx_to_kvm_irq tki_ chain 1 -d vnet0 --protocol icmp
fi
# netseg analyze reads six logs per measurement, of up to millions of lines:
# the goal is >= 1 M lines/s for each format
if want analyze_parse; then
	echo "== netseg analyze log parsers (best of 3 reads of a generated log) =="
	"$PARSE_BENCH" "${BENCH_PARSE_LINES:-1000000}" 3 | sed 's/^/  /'
fi
