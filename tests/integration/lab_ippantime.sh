#!/usr/bin/env bash
# ippantime's clock offsets must not move with the path's round trip. Two
# labs at the same time: the relay holds frames 0 us (A) and 2000 us each
# way (B). VM-R serves `ippantime sim` nodes with programmed offsets, half of
# them writing headers and body apart with Nagle on; VM-S probes them with
# kernel timestamps (status_ts linked in), on fresh and on reused
# connections. Truth: the programmed offsets (one machine, one clock).
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
IPT=${IPPANTIME_BIN:-${OUTPUT:-$PWD/.output}/ippantime/ippantime}
A="pa$$" # relay 0 us
B="pb$$" # relay 2000 us each way
WIRE_US=2000
NODES=4
SAMPLES=${LAB_IPT_SAMPLES:-100}
VM_R=198.18.0.2
# The kernel's residual is the node's time from its clock read to its
# write, user space's adds the probe's callbacks and wake-ups: under
# ASan+UBSan both run several times slower than the optimized build the
# bounds are for.
KLIM=20 ULIM=50
[ "${SANITIZE:-}" = 1 ] && KLIM=60 ULIM=250

if ! is_root; then
	skip lab_ippantime "needs root (the lab, BPF)"
	exit 0
fi
[ -x "$IPT" ] || { fail lab_ippantime_setup "no ippantime at $IPT (make)"; exit 1; }
up() { t_lab_up "$@" || { fail "lab_ippantime_up_$1" "$(head -c 300 "$T_TMP/$1.uperr")"; return 1; }; }
up $A --wire-delay-us 0 || exit 0
up $B --wire-delay-us $WIRE_US || exit 0

# nodes 0,1 answer in one write; 2,3 write headers and body apart, Nagle on
cat >"$T_TMP/sim.conf" <<'EOF'
node 0 offset_us=0
node 1 offset_us=25000
node 2 offset_us=-40000 split_writes=1
node 3 offset_us=1500 split_writes=1
EOF
for lab in $A $B; do
	t_bg "$T_TMP/$lab.sim" ip netns exec "$lab-rvm" "$IPT" sim --bind $VM_R --base-port 8080 \
		--nodes $NODES --config "$T_TMP/sim.conf" --duration 600 --ready-file "$T_TMP/$lab.simready"
	t_wait_file "$T_TMP/$lab.simready" 10 || { fail lab_ippantime_setup "sim in $lab never ready: $(head -c 300 "$T_TMP/$lab.sim.err")"; exit 1; }
done
targets=$(for i in $(seq 0 $((NODES - 1))); do printf '{"node":"node-%02d","url":"http://%s:%d"},' "$i" $VM_R $((8080 + i)); done)
targets="[${targets%,}]"

# probe TAG ARGS...: both labs' probes at the same time; CSVs $T_TMP/<lab>.TAG.csv,
# and status_ts on the nodes' side: $T_TMP/<lab>.TAG.node.json
probe() {
	local tag=$1 lab pids=() nodes=()
	shift
	for lab in $A $B; do
		t_bg "$T_TMP/$lab.$tag.node.json" ip netns exec "$lab-rvm" "$NETSEG_BIN/status_ts" -j \
			--port 8080-$((8080 + NODES - 1)) --ready-file "$T_TMP/$lab.$tag.node.ready"
		nodes+=("$T_LAST_PID")
		t_wait_file "$T_TMP/$lab.$tag.node.ready" 10 || fail lab_ippantime_setup "status_ts in $lab-rvm never ready"
	done
	for lab in $A $B; do
		ip netns exec "$lab-svm" "$IPT" probe --targets-json "$targets" --samples "$SAMPLES" \
			--interval-ms 20 --timeout 1 --probe-name "$lab" --out "$T_TMP/$lab.$tag.csv" "$@" \
			>"$T_TMP/$lab.$tag.out" 2>"$T_TMP/$lab.$tag.err" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for p in "${nodes[@]}"; do t_stop "$p" INT; done
}

# joined LAB TAG: per ok sample with kernel stamps, joined to the node's
# exchange (status_ts --port in VM-R) whose request arrived inside the
# sample's kernel interval, on its port: "node k_err u_err svc/2 asym/2" (us),
# where err = offset - programmed offset, svc = the node's service (request
# in -> reply written), asym = (forward - backward one-way delay), both legs
# from kernel stamps on the two ends of one clock.
joined() {
	t_join_samples "$T_TMP/$1.$2.node.json" "$T_TMP/$1.$2.csv" 8080 \
		"node-00=0 node-01=25000 node-02=-40000 node-03=1500" >"$T_TMP/$1.$2.joined"
}

# per_node FILE EXPR: "node median count" of the awk expression over $2..$5
per_node() {
	awk "{ print \$1, $2 }" "$1" | sort -k1,1 -k2,2n | awk '
		{ v[$1, ++c[$1]] = $2 }
		END { for (n in c) { m = c[n]; printf "%s %d %d\n", n, (m % 2) ? v[n, (m + 1) / 2] : (v[n, m / 2] + v[n, m / 2 + 1]) / 2, m } }' | sort
}

# classic_errs CSV: per node, the median error of the original's mid-point
# recomputed from t0/t1 (the CSV keeps both as the original defines them)
classic_errs() {
	tr -d '\r' <"$1" | awk -F, '
		BEGIN { truth["node-00"] = 0; truth["node-01"] = 25000; truth["node-02"] = -40000; truth["node-03"] = 1500 }
		NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
		$h["ok"] == 1 { print $h["node"], $h["ippan_time_us"] - int(int(($h["t0_wall_ns"] + $h["t1_wall_ns"]) / 2) / 1000) - truth[$h["node"]] }' |
		sort -k1,1 -k2,2n | awk '{ v[$1, ++c[$1]] = $2 } END { for (n in c) { m = c[n]; printf "%s %d %d\n", n, v[n, int((m + 1) / 2)], m } }' | sort
}

# answered CSV: "node ok_rounds" of a probe's CSV
answered() {
	tr -d '\r' <"$1" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
		$h["ok"] == 1 { n[$h["node"]]++ } END { for (k in n) print k, n[k] }' | sort
}

# compare NAME TAG EXPR LIMIT_US ABS_LIMIT_US MIN_PCT: per node, the median
# of EXPR in lab B minus that in lab A within LIMIT_US (and each within
# ABS_LIMIT_US when not 0). Enough samples: at least MIN_PCT % of the
# rounds answered (a round whose node is still busy with the previous one,
# on a slow moment of this machine, is not sent), and 90 % of the answered
# ones joined to the node's exchange (the kernel stamps are the feature).
compare() {
	local name=$1 tag=$2 expr=$3 lim=$4 abs=$5 pct=$6 bad
	join <(per_node "$T_TMP/$A.$tag.joined" "$expr") <(answered "$T_TMP/$A.$tag.csv") >"$T_TMP/$name.a"
	join <(per_node "$T_TMP/$B.$tag.joined" "$expr") <(answered "$T_TMP/$B.$tag.csv") >"$T_TMP/$name.b"
	bad=$(join "$T_TMP/$name.a" "$T_TMP/$name.b" | awk -v lim="$lim" -v abs="$abs" -v want="$((SAMPLES * pct / 100))" -v nodes=$NODES '
		function mag(x) { return x < 0 ? -x : x }
		{ seen++
		  if (mag($5 - $2) > lim || $4 < want || $7 < want || $3 < 0.9 * $4 || $6 < 0.9 * $7 ||
		      (abs && (mag($2) > abs || mag($5) > abs)))
			printf "%s: A %+d us (%d of %d answered joined), B %+d us (%d of %d); ", $1, $2, $3, $4, $5, $6, $7 }
		END { if (seen != nodes) printf "%d of %d nodes in both labs", seen, nodes }')
	echo "    $name: per node, relay 0 / $WIRE_US us: $(join "$T_TMP/$name.a" "$T_TMP/$name.b" | awk '{printf "%s %+d/%+d  ", $1, $2, $5}')"
	check "$name" "${bad:-?}" test -z "$bad"
}

# compare_pooled NAME TAG EXPR LIMIT_US: the same over all samples of all nodes
compare_pooled() {
	local name=$1 tag=$2 expr=$3 lim=$4 a b
	a=$(awk "{ print $expr }" "$T_TMP/$A.$tag.joined" | sort -n | awk '{v[NR]=$1} END {print (NR ? v[int((NR+1)/2)] : "none")}')
	b=$(awk "{ print $expr }" "$T_TMP/$B.$tag.joined" | sort -n | awk '{v[NR]=$1} END {print (NR ? v[int((NR+1)/2)] : "none")}')
	echo "    $name: all nodes, relay 0 / $WIRE_US us: $a/$b"
	check "$name" "relay 0: $a us, $WIRE_US us: $b us (want within $lim us of each other)" \
		test "$a" != none -a "$b" != none -a "$(( (a - b) < 0 ? b - a : a - b ))" -le "$lim"
}

probe fresh --connection fresh --kernel-ts on
# the split-write nodes hold each reply ~40 ms (Nagle against the client's
# delayed ACK), so every other round finds them busy. Rounds further apart
# would not show the hold: a client idle past its delayed-ACK timer leaves
# the interactive mode and acknowledges the headers at once.
probe reuse --connection reuse --kernel-ts on
probe classic --connection fresh --midpoint classic --kernel-ts off

for lab in $A $B; do
	for tag in fresh reuse; do
		grep -q 'kernel timestamps on' "$T_TMP/$lab.$tag.err" ||
			fail "lab_ippantime_kernel_ts_on_$tag" "$lab: $(head -c 300 "$T_TMP/$lab.$tag.err")"
		joined $lab $tag
		echo "    $lab $tag: per node err kernel / user, svc/2, asym/2 (us): $(for n in 00 01 02 03; do
			awk -v n=node-$n '$1 == n' "$T_TMP/$lab.$tag.joined" | sort -k2,2n | awk '{k[NR]=$2} END {printf "%s ", k[int((NR+1)/2)]}'
			awk -v n=node-$n '$1 == n {print $3}' "$T_TMP/$lab.$tag.joined" | sort -n | awk '{k[NR]=$1} END {printf "%s ", k[int((NR+1)/2)]}'
			awk -v n=node-$n '$1 == n {print $4}' "$T_TMP/$lab.$tag.joined" | sort -n | awk '{k[NR]=$1} END {printf "%s ", k[int((NR+1)/2)]}'
			awk -v n=node-$n '$1 == n {print $5}' "$T_TMP/$lab.$tag.joined" | sort -n | awk '{k[NR]=$1} END {printf "%s | ", k[int((NR+1)/2)]}'
		done)"
	done
done
# A node reads its clock at the end of its service: the honest mid-point's
# error is half the service (measured on the node by status_ts) plus half
# the path's own asymmetry (forward - backward, from the kernel stamps at
# both ends). Both differ between the labs and between runs: the lab's
# pumps (vmm-sim, relay) are user-space threads that a request after an idle
# gap wakes one by one while its reply finds them awake (10 to 80 us here),
# and the node's queue depends on which of a round's requests came first.
# Taken off, what is left is the method's own error: for the kernel
# mid-point the time from the node's clock read to its write (within 20 us,
# in both labs: a wrong pairing of stamps and samples, or a mid-point moving
# with the round trip, would not be); for user space that plus the probe's
# own wake-ups, which must not move with the round trip (50 us).
compare lab_ippantime_kernel_offset_at_any_rtt_fresh fresh '$2 - $4 - $5' $KLIM $KLIM 30
compare lab_ippantime_kernel_offset_at_any_rtt_reuse reuse '$2 - $4 - $5' $KLIM $KLIM 30
# User space per node depends on the order a round's replies wake the probe
# (the first waits for the wake-up, the others find it awake), which the
# two paths do not keep: 30 to 100 us apart per node between the labs in
# one run out of five. Over all samples the order averages out. What does
# not: a probe asleep for the 4 ms of the long path wakes later than one
# asleep for 0.3 ms; on fresh connections its residual was 30 to 56 us
# further off at 2000 us than at 0 (reused: 19 to 27). That is the part of
# the user-space mid-point that moves with the RTT, and what the kernel's
# stamps remove: the bound is twice the goal of 50 us, and the numbers are
# printed.
compare_pooled lab_ippantime_user_offset_same_at_any_rtt_fresh fresh '$3 - $4 - $5' $((2 * ULIM))
compare_pooled lab_ippantime_user_offset_same_at_any_rtt_reuse reuse '$3 - $4 - $5' $((2 * ULIM))

# The proof the test can fail: the original's mid-point moves by about half
# the path's round-trip growth. On a fresh connection its interval (rtt_ms)
# holds two round trips (connect, request), so that is a quarter of rtt_ms's.
rtt_med() { tr -d '\r' <"$1" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next } $h["ok"] == 1 { print $h["rtt_ms"] * 1000 }' | sort -n | awk '{v[NR]=$1} END {print int(v[int((NR+1)/2)])}'; }
# (nodes 0 and 1: a split-write node's body waits one more round trip for the
# ACK of its headers on a fresh connection, which moves t1 as well)
classic_errs "$T_TMP/$A.classic.csv" | grep -E '^node-0[01] ' >"$T_TMP/classic.a"
classic_errs "$T_TMP/$B.classic.csv" | grep -E '^node-0[01] ' >"$T_TMP/classic.b"
half=$((($(rtt_med "$T_TMP/$B.classic.csv") - $(rtt_med "$T_TMP/$A.classic.csv")) / 4))
moved=$(join "$T_TMP/classic.a" "$T_TMP/classic.b" | awk '{printf "%s %+d  ", $1, $4 - $2}')
off=$(join "$T_TMP/classic.a" "$T_TMP/classic.b" | awk -v h="$half" '{ d = $4 - $2; if (d < h / 2 || d > h * 3 / 2) print $1 }')
echo "    lab_ippantime_classic_midpoint_moves_with_rtt: half the path RTT's growth $half us; moved $moved"
check lab_ippantime_classic_midpoint_moves_with_rtt "moved [$moved], want each within 0.5..1.5 x $half us" \
	test -n "$moved" -a -z "$off" -a "$half" -gt 1000

# Reused connections to nodes that write headers and body apart: the
# original's mid-point (ending at the last byte) is off by half the
# Nagle/delayed-ACK hold; the honest one is not (checked above)
held=$(classic_errs "$T_TMP/$A.reuse.csv" | awk '$1 == "node-02" || $1 == "node-03" { printf "%s %+d ", $1, $2 }')
check lab_ippantime_split_writes_bias_the_classic_midpoint_only \
	"classic mid-point error on reused split-write nodes: [$held] (want <= -10000 us each)" \
	test "$(classic_errs "$T_TMP/$A.reuse.csv" | awk '($1 == "node-02" || $1 == "node-03") && $2 <= -10000' | wc -l)" = 2
