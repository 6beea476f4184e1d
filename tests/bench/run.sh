#!/usr/bin/env bash
# make bench: each tracer's cost, measured side by side in one run on this
# machine (numbers of one run compare with each other, not with another
# machine's). Needs root. Prints a table per tracer; nothing here is a test.
#   P1 exec -> ready (median)            P2 peak RSS (VmHWM)
#   P3 ns per program run (bpf_stats)    P4 UDP packet rate, tracer on / off
#   P5 records lost while tracing a ping flood
#   every tracer twice: as it prints records, and in fleet mode
#   (--metrics --quiet: the kernel's histograms, no record per echo)
#   P7 ippantime_offsets: median |offset error| of the probe's kernel and
#      user-space mid-points against ippantime sim's truth, idle and beside
#      a CPU hog, over a veth pair
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
TOOLS=${BENCH_TOOLS:-pktwatch kernel_icmp_rtt icmp_drop_detector status_ts tun_tx_to_kvm_irq analyze_parse ippantime_offsets}
FLOODER=${OUTPUT:-$PWD/.output}/bench/udp_flood
FLOOR=${OUTPUT:-$PWD/.output}/bench/hook_floor
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

# fleet mode (issue 15): the same tracer with its metrics endpoint and no
# record per event (the kernel aggregates); port 0: whatever is free
QUIET="--metrics 127.0.0.1:0 --quiet"
median() { sort -n | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

# Traffic for the bench of one tracer, set by bench_on_bridge or bench_on_lab.
# bridge: a -- h (a bridging host, like a hypervisor between its VM and the
# wire) -- b; veth hands each datagram on inside the sender's send, so the
# sender's own rate is the path's.
bench_on_bridge() {
	# the sender on CPU 1, where veth also delivers: one CPU does all of
	# a datagram's work, and the rate stops depending on where it migrates
	# The host steals the VM's CPU in bursts: the time stolen from CPU 1
	# while it sent (/proc/stat, in USER_HZ ticks) is not the tracer's
	udp_rate() {
		local st0 st1 r
		st0=$(awk '$1 == "cpu1" {print $9}' /proc/stat)
		r=$(ip netns exec "$(ns a)" taskset -c 1 "$FLOODER" send $B 9999 "$UDP")
		st1=$(awk '$1 == "cpu1" {print $9}' /proc/stat)
		awk -v n="$UDP" -v r="$r" -v st=$((st1 - st0)) -v hz="$(getconf CLK_TCK)" \
			'BEGIN { d = n / r - st / hz; printf "%.0f\n", (d > 0) ? n / d : r }'
	}
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

# tracer_tracepoints PID: the tracepoints PID's programs are attached to
# (tp_btf and raw_tp links name them; classic tracepoints do not)
tracer_tracepoints() {
	local ids
	ids=$(cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '/^prog_id:/ {print $2}' | sort -un | jq -sc .)
	bpftool link show -j | jq -r --argjson ids "${ids:-[]}" \
		'.[] | select(.tp_name and (.prog_id as $i | $ids | index($i))) | .tp_name' | sort -u | tr '\n' ' '
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b > 0) ? a/b : 0}'; }

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
	local tps
	tps=$(tracer_tracepoints "$(jq -r .pid "$T_TMP/p5.ready")")
	t_stop "$pid" INT
	lost=$(jq -r 'select(.type=="summary") | .lost' "$T_TMP/p5.json")
	recs=$(jq -c --arg t "$rtype" 'select(.type==$t)' "$T_TMP/p5.json" | wc -l)
	# --quiet: no record per echo; what the kernel's histograms counted instead
	kcount=$(jq -r 'select(.type=="summary") | .segments_kernel // empty | [to_entries[] | "\(.key)=\(.value.count)"] | join(" ")' "$T_TMP/p5.json")
	# records that carry "complete" (chains): how many of them are
	complete=$(jq -c --arg t "$rtype" 'select(.type==$t and .complete==true)' "$T_TMP/p5.json" | wc -l)
	rm -f "$T_TMP/p5.ready"

	# The floor: an empty program on the same tracepoints, what hooking
	# costs before any tracer code runs
	floor_on() {
		rm -f "$T_TMP/floor.ready"
		t_bg "$T_TMP/floor.out" "$FLOOR" "$T_TMP/floor.ready" $tps
		floor_pid=$T_LAST_PID
		t_wait_file "$T_TMP/floor.ready" 10
	}

	# P4: UDP the tracer must reject, alternating off/on to share the noise
	# (bpf_stats off: it adds two clock reads to every program run)
	local off=() on=() floor=()
	for i in $(seq "${BENCH_ALTERNATIONS:-9}"); do
		off+=("$(udp_rate)")
		if [ -n "$tps" ]; then
			floor_on
			floor+=("$(udp_rate)")
			t_stop "$floor_pid" TERM
		fi
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
	local floor_ns=-
	if [ -n "$tps" ]; then
		floor_on
		udp_rate >/dev/null
		floor_ns=$(prog_stats floor_ "$floor_pid" | awk '$3 > 0 {t += $2; c += $3} END {printf "%.0f", c ? t/c : 0}')
		t_stop "$floor_pid" TERM
	fi
	sysctl -q -w kernel.bpf_stats_enabled="$STATS_BEFORE"
	local off_m on_m floor_m p1 p3 r_on r_floor r_net
	off_m=$(printf '%s\n' "${off[@]}" | median)
	on_m=$(printf '%s\n' "${on[@]}" | median)
	floor_m=$( ((${#floor[@]})) && printf '%s\n' "${floor[@]}" | median)
	# ratios within each alternation (measured seconds apart), then their
	# median: the machine's slower stretches fall on both sides of a ratio
	r_on=$(for i in "${!off[@]}"; do ratio "${on[i]}" "${off[i]}"; echo; done | median)
	r_floor=$( ((${#floor[@]})) && for i in "${!off[@]}"; do ratio "${floor[i]}" "${off[i]}"; echo; done | median)
	r_net=$( ((${#floor[@]})) && for i in "${!off[@]}"; do ratio "${on[i]}" "${floor[i]}"; echo; done | median)
	p1=$(median <"$T_TMP/p1" | cut -d. -f1)
	# per program: ns per run under UDP alone, and per run of the flood's extra runs
	p3=$(awk 'NR==FNR {t[$1]=$2; c[$1]=$3; next}
		{ du = c[$1] ? t[$1]/c[$1] : 0; dc = $3 - c[$1]; dt = $2 - t[$1];
		  printf "%s=%.0f/%s ", $1, du, ((dc > 0) ? sprintf("%.0f", dt/dc) : "-") }' "$T_TMP/p3.udp" "$T_TMP/p3.all")

	echo "== $tool $* (in namespace $where) =="
	printf '  %-36s %s\n' "P1 exec -> ready (median of $RUNS)" "$((p1 / 1000)).$(printf '%03d' $((p1 % 1000))) ms"
	printf '  %-36s %s\n' "P2 peak RSS after a traced flood" "$hwm KiB"
	printf '  %-36s %s\n' "P3 ns/run: UDP rejected / ping matched" "$p3"
	printf '  %-36s %s\n' "P3 floor: empty program, same hooks" "$floor_ns ns/run on $(wc -w <<<"$tps") tracepoints ($(echo $tps))"
	printf '  %-36s %s\n' "P4 UDP pps on / off" "$r_on (median rates $on_m / $off_m; $(printf '%s ' "${on[@]}")/ $(printf '%s ' "${off[@]}"))"
	[ -n "$floor_m" ] && printf '  %-36s %s\n' "P4 floor: empty program / off" "$r_floor (median rate $floor_m); tracer / floor $r_net"
	printf '  %-36s %s\n' "P5 ping flood of $FLOOD traced" "$rtype records=$recs (want $((per_echo * FLOOD)))$(
		[ "$complete" -gt 0 ] && echo " complete=$complete") lost=$lost${kcount:+ kernel histograms: $kcount}"
}

echo "netseg benchmark, $(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs"
if want pktwatch || want kernel_icmp_rtt || want icmp_drop_detector || want status_ts; then
	t_bridge_host $A $B || exit 1
	t_bg "$T_TMP/sink.out" ip netns exec "$(ns b)" taskset -c 0 "$FLOODER" sink 9999
	sink_pid=$T_LAST_PID
	bench_on_bridge
	want pktwatch && bench_tracer "$(ns a)" pktwatch pw_ pkt 2
	want pktwatch && bench_tracer "$(ns a)" pktwatch pw_ pkt 0 $QUIET
	want kernel_icmp_rtt && bench_tracer "$(ns a)" kernel_icmp_rtt rtt_ echo 1 --src-ip $A --dst-ip $B
	want kernel_icmp_rtt && bench_tracer "$(ns a)" kernel_icmp_rtt rtt_ echo 0 --src-ip $A --dst-ip $B $QUIET
	want icmp_drop_detector && bench_tracer "$(ns h)" icmp_drop_detector idd_ echo 1 \
		--src-ip $A --dst-ip $B --vm-interface h-a --phy-interface h-b
	want icmp_drop_detector && bench_tracer "$(ns h)" icmp_drop_detector idd_ echo 0 \
		--src-ip $A --dst-ip $B --vm-interface h-a --phy-interface h-b $QUIET
	# a node's server role on the receiver: the UDP sink's socket wake-ups
	# and every transmitted packet pass its hooks and are rejected; pings
	# are no HTTP exchange (P5 wants 0 records)
	want status_ts && bench_tracer "$(ns b)" status_ts sts_ exchange 0 --port 8080-8119
	want status_ts && bench_tracer "$(ns b)" status_ts sts_ exchange 0 --port 8080-8119 $QUIET
	t_stop "$sink_pid" TERM
fi
# On HR, toward VM-R: ICMP is traced (P2, P5: one chain per request), the
# UDP flood of P3 and P4 is forwarded through the same vnet0 and rejected by
# --protocol icmp after the parse, the most a non-matching packet costs.
if want tun_tx_to_kvm_irq; then
	t_lab_up "$LAB" || { echo "bench: lab up failed: $(head -c 300 "$T_TMP/$LAB.uperr")" >&2; exit 1; }
	bench_on_lab
	bench_tracer "$LAB-rhost" tun_tx_to_kvm_irq tki_ chain 1 -d vnet0 --protocol icmp
	bench_tracer "$LAB-rhost" tun_tx_to_kvm_irq tki_ chain 0 -d vnet0 --protocol icmp $QUIET
fi
# P7: one probe run, both mid-points from the same samples: the kernel's
# (status_ts linked in) and user space's, against the sim's programmed
# offsets. A node reads its clock at the end of its service (which
# status_ts --port measures on the node), so the error is also shown less
# half of it. The sim runs on CPU 1, the probe on CPU 0: first alone, then
# beside two busy loops on CPU 0 at a higher priority (nice -10: at equal
# priority the scheduler's wake-up preemption keeps the probe's stamps as
# they were), which delay the probe's wake-ups, not the kernel's stamps.
if want ippantime_offsets; then
	IPT=${OUTPUT:-$PWD/.output}/ippantime/ippantime
	t_netns_pair po pn 198.18.41.1 198.18.41.2 || exit 1
	printf 'node 0 offset_us=0\nnode 1 offset_us=-7000\nnode 2 offset_us=30000\nnode 3 offset_us=500\n' >"$T_TMP/p7.conf"
	t_bg "$T_TMP/p7.sim" ip netns exec "$(ns pn)" taskset -c 1 "$IPT" sim --bind 198.18.41.2 --nodes 4 \
		--base-port 8080 --config "$T_TMP/p7.conf" --ready-file "$T_TMP/p7.simready"
	p7_sim=$T_LAST_PID
	t_wait_file "$T_TMP/p7.simready" 10
	p7_targets=$(for i in 0 1 2 3; do printf '{"node":"node-%02d","url":"http://198.18.41.2:%d"},' $i $((8080 + i)); done)
	p7_targets="[${p7_targets%,}]"
	# p7_run TAG: median |error| (us) of k_offset_us and offset_us, and of
	# both less the node's service/2 (the sample joined to the node's
	# exchange whose request arrived inside its kernel interval)
	p7_run() {
		local node
		rm -f "$T_TMP/p7.node.ready"
		t_bg "$T_TMP/p7.$1.node" "$NETSEG_BIN/status_ts" -j --netns "$(ns pn)" --port 8080-8083 \
			--ready-file "$T_TMP/p7.node.ready"
		node=$T_LAST_PID
		t_wait_file "$T_TMP/p7.node.ready" 10
		ip netns exec "$(ns po)" taskset -c 0 "$IPT" probe --targets-json "$p7_targets" --samples 300 \
			--interval-ms 20 --kernel-ts on --probe-name p7 --out "$T_TMP/p7.$1.csv" >/dev/null 2>&1
		t_stop "$node" INT
		t_join_samples "$T_TMP/p7.$1.node" "$T_TMP/p7.$1.csv" 8080 "node-00=0 node-01=-7000 node-02=30000 node-03=500" |
			awk 'function mag(x) { return x < 0 ? -x : x } { print mag($2), mag($3), mag($2 - $4), mag($3 - $4), $4 }' >"$T_TMP/p7.$1.err"
		printf '  %-36s kernel %s us, user space %s us; less service/2 (median %s us): kernel %s us, user space %s us (%s samples)\n' "$2" \
			"$(awk '{print $1}' "$T_TMP/p7.$1.err" | median)" "$(awk '{print $2}' "$T_TMP/p7.$1.err" | median)" \
			"$(awk '{print $5}' "$T_TMP/p7.$1.err" | median)" \
			"$(awk '{print $3}' "$T_TMP/p7.$1.err" | median)" "$(awk '{print $4}' "$T_TMP/p7.$1.err" | median)" \
			"$(wc -l <"$T_TMP/p7.$1.err")"
	}
	echo "== P7 ippantime probe offsets over veth, 4 sim nodes (median |error|; goals: kernel <= 20, user <= 50) =="
	p7_run idle "idle"
	hogs=()
	for _ in 1 2; do
		nice -n -10 taskset -c 0 sh -c 'while :; do :; done' &
		hogs+=($!)
	done
	p7_run hog "beside two busy loops (nice -10)"
	for h in "${hogs[@]}"; do kill "$h"; wait "$h" 2>/dev/null; done
	t_stop "$p7_sim" TERM
fi
# netseg analyze reads six logs per measurement, of up to millions of lines:
# the goal is >= 1 M lines/s for each format
if want analyze_parse; then
	echo "== netseg analyze log parsers (best of 3 reads of a generated log) =="
	"$PARSE_BENCH" "${BENCH_PARSE_LINES:-1000000}" 3 | sed 's/^/  /'
fi
