#!/usr/bin/env bash
# --metrics --quiet: the kernel aggregates. kernel_icmp_rtt between two
# namespaces sends no record per echo; its netseg_hist map, read with
# bpftool while it runs, holds each echo once in the `total` segment, with
# a sum inside what ping measured around the same echoes. Every span tool
# loads in quiet mode on each tracepoint tier; pktwatch counts per stage.
# The metrics server is not needed: --metrics is only stored here.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
RTT=$NETSEG_BIN/kernel_icmp_rtt
A=198.18.26.1
B=198.18.26.2
N=40
# no server needs to answer here: the address is only carried along
QUIET=(--metrics 127.0.0.1:0 --quiet)

if ! is_root; then
	skip quiet_hist_tests "needs root (namespaces, BPF)"
	exit 0
fi
t_netns_pair a b $A $B || { fail quiet_setup "cannot create namespaces"; exit 1; }

# hist_of NAME: the tracer's netseg_hist map as {"<segment index>": {count,
# sum_ns, negative}} summed over CPUs; found by the map ids its descriptors
# hold (other runs on the machine have maps of that name too)
hist_of() {
	local pid ids id
	pid=$(eval echo "\$pid_$1")
	ids=$(cat /proc/"$pid"/fdinfo/* 2>/dev/null | awk '/^map_id:/ {print $2}' | sort -un)
	for id in $ids; do
		[ "$(bpftool map show id "$id" -j | jq -r .name)" = netseg_hist ] || continue
		bpftool map dump id "$id" -j | jq -c '
			map(.formatted | {key: (.key | tostring), value: {
				count: ([.values[].value.counts[]] | add),
				sum_ns: ([.values[].value.sum_ns] | add),
				negative: ([.values[].value.negative] | add)}}) | from_entries'
		return
	done
	echo '{}'
}

# 1. both ends of N echoes, quiet; the segment table is path1, path2, inter, total
t_tracer send a "$RTT" --src-ip $A --dst-ip $B "${QUIET[@]}" &&
	t_tracer recv b "$RTT" --src-ip $A --dst-ip $B "${QUIET[@]}" || exit 1
# -U: ping's RTT from user space to user space, around every kernel stamp
ip netns exec "$(ns a)" ping -U -n -c $N -i 0.02 $B >"$T_TMP/ping" 2>&1
sleep 0.2
hs=$(hist_of send)
hr=$(hist_of recv)
t_tracer_stop send
t_tracer_stop recv
got=$(grep -c 'icmp_seq=' "$T_TMP/ping")
check quiet_ping_answered "ping got $got of $N replies" test "$got" -eq $N
for side in send recv; do
	h=$hs
	[ $side = recv ] && h=$hr
	n=$(jq '."3".count' <<<"$h")
	check "quiet_${side}_total_holds_each_echo_once" "total segment count $n, want $N ($h)" test "$n" = $N
	recs=$(t_records $side echo | wc -l)
	records=$(t_summary $side .records)
	check "quiet_${side}_no_record_per_echo" "$recs echo records, summary records=$records" \
		test "$recs" -eq 0 -a "$records" = 0
	sk=$(t_summary $side '.segments_kernel.total.count')
	check "quiet_${side}_summary_reads_the_same_histogram" "summary total count $sk, map $n" test "$sk" = "$n"
	done_=$(t_summary $side .echoes_completed)
	check "quiet_${side}_completed_counted_in_kernel" "echoes_completed $done_" test "$done_" = $N
	# each segment once per echo: path1 + inter + path2 add up to total
	bad=$(jq '[."0".sum_ns, ."1".sum_ns, ."2".sum_ns] | add' <<<"$h")
	check "quiet_${side}_segments_add_up" "path1+path2+inter=$bad, total=$(jq '."3".sum_ns' <<<"$h")" \
		test "$bad" = "$(jq '."3".sum_ns' <<<"$h")"
done
# kernel stamps lie inside ping's measurement of the same echoes (ping
# prints 3 decimals of ms: up to 1 us of rounding per echo)
ping_sum=$(sed -n 's/.*time=\([0-9.]*\) ms/\1/p' "$T_TMP/ping" | awk '{s += $1 * 1000000 + 1000} END {printf "%d", s}')
ksum=$(jq '."3".sum_ns' <<<"$hs")
check quiet_total_sum_within_pings_rtts "kernel total ${ksum} ns, ping's ${ping_sum} ns" \
	test "$ksum" -gt 0 -a "$ksum" -le "$ping_sum"

# 2. every span tool loads in quiet mode on each tracepoint tier, and
# kernel_icmp_rtt counts on each
doctor=$("$NETSEG_BIN"/netseg doctor --json)
for tier in tp_btf raw_tp tp; do
	fam=$tier
	[ $tier = tp ] && fam=tracepoint
	if [ "$(jq -r ".families.$fam.available" <<<"$doctor")" != true ]; then
		skip "quiet_loads_on_$tier" "doctor: $fam unavailable"
		continue
	fi
	bad=
	for cmd in "icmp_drop_detector --rx-iface veth-a --tx-iface lo" tun_tx_to_kvm_irq \
		"status_ts --role server --port 80" pktwatch; do
		read -r -a argv <<<"$cmd"
		ip netns exec "$(ns a)" "$NETSEG_BIN/${argv[0]}" "${argv[@]:1}" -j --tier $tier \
			"${QUIET[@]}" --duration 0.5 >"$T_TMP/load.out" 2>"$T_TMP/load.err" ||
			bad="$bad ${argv[0]}($(head -c 200 "$T_TMP/load.err"))"
	done
	t_tracer "q_$tier" a "$RTT" --src-ip $A --tier $tier "${QUIET[@]}" || continue
	ip netns exec "$(ns a)" ping -n -q -c 5 -i 0.02 $B >/dev/null 2>&1
	sleep 0.2
	n=$(hist_of "q_$tier" | jq '."3".count')
	t_tracer_stop "q_$tier"
	check "quiet_loads_on_$tier" "failed:${bad:- none}; kernel_icmp_rtt total count $n of 5" \
		test -z "$bad" -a "$n" = 5
done

# 3. pktwatch: no record per packet, the kernel's count per stage instead
t_tracer pw a "$NETSEG_BIN/pktwatch" --host $B "${QUIET[@]}" || exit 1
ip netns exec "$(ns a)" ping -n -q -c 10 -i 0.02 $B >/dev/null 2>&1
t_tracer_stop pw
pkts=$(t_records pw pkt | wc -l)
xmit=$(t_summary pw .count_xmit)
recv=$(t_summary pw .count_recv)
check quiet_pktwatch_counts_per_stage_without_records "$pkts records, xmit=$xmit recv=$recv" \
	test "$pkts" -eq 0 -a "$xmit" -ge 10 -a "$recv" -ge 10
