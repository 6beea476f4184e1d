#!/usr/bin/env bash
# kernel_icmp_rtt between two namespaces joined by a veth pair: the sender
# side (tx) and the receiver side (rx) run the seed's identical command line;
# ping's own counts, ids, sequence numbers and RTTs are the truth.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
RTT=$NETSEG_BIN/kernel_icmp_rtt
A=198.18.24.1
B=198.18.24.2
B2=198.18.24.3

if ! is_root; then
	skip kernel_icmp_rtt_host_tests "needs root (namespaces, BPF)"
	exit 0
fi
t_netns_pair a b $A $B || { fail rtt_setup "cannot create namespaces"; exit 1; }
ip -n "$(ns b)" addr add $B2/24 dev veth-b

start() { t_tracer "$1" "$2" "$RTT" "${@:3}"; }
stop() { t_tracer_stop "$1"; }
echoes() { t_records "$1" echo; }
summary() { t_summary "$@"; }

# 1. the seed's command line on both sides; direction follows the addresses
start send a --src-ip $A --dst-ip $B && start recv b --src-ip $A --dst-ip $B
# -U: ping's RTT from user space to user space, around every kernel stamp
# (by default it ends at the kernel's receive timestamp, before the socket)
ip netns exec "$(ns a)" ping -U -n -c 50 -i 0.02 $B >"$T_TMP/ping50" 2>&1
stop send
stop recv
check rtt_direction_auto_tx_on_sender "sender direction $(jq -r .direction "$T_TMP/send.ready")" \
	test "$(jq -r .direction "$T_TMP/send.ready")" = tx
check rtt_direction_auto_rx_on_receiver "receiver direction $(jq -r .direction "$T_TMP/recv.ready")" \
	test "$(jq -r .direction "$T_TMP/recv.ready")" = rx
want=$(seq -s' ' 1 50)
for side in send recv; do
	got=$(echoes $side | jq -r .seq | sort -n | tr '\n' ' ' | sed 's/ $//')
	check "rtt_${side}_reports_each_of_50_echoes_once" "seqs [$got]" test "$got" = "$want"
	ids=$(echoes $side | jq -r .id | sort -u | wc -l)
	check "rtt_${side}_one_echo_id" "$ids ids" test "$ids" -eq 1
	bad=$(echoes $side | jq 'select(.path1_ns + .inter_ns + .path2_ns != .total_ns)' | wc -l)
	check "rtt_${side}_paths_add_up_to_total_exactly" "$bad echoes where path1+inter+path2 != total" test "$bad" -eq 0
done
# kernel stamps lie inside ping's user-space measurement of the same echo
over=0
while read -r seq t; do
	total=$(echoes send | jq -r "select(.seq==$seq) | .total_ns")
	ping_ns=$(awk -v t="$t" 'BEGIN {printf "%d", t * 1000000 + 1000}') # ping prints 3 decimals of ms
	[ -n "$total" ] && [ "$total" -gt "$ping_ns" ] && over=$((over + 1))
done < <(sed -n 's/.*icmp_seq=\([0-9]*\) .*time=\([0-9.]*\) ms/\1 \2/p' "$T_TMP/ping50")
check rtt_total_not_above_pings_own_rtt "$over echoes with Total RTT above ping's time" test "$over" -eq 0
rx_inter=$(echoes recv | jq -r '.stages[1].hook' | sort -u | tr '\n' ' ')
echo "    receiver path-1 end hook(s): $rx_inter"

# 2. each tracepoint tier on its own, both directions
doctor=$("$NETSEG_BIN"/netseg doctor --json)
for tier in tp_btf raw_tp tp; do
	fam=$tier; [ $tier = tp ] && fam=tracepoint
	if [ "$(jq -r ".families.$fam.available" <<<"$doctor")" != true ]; then
		skip "rtt_forced_${tier}_both_directions" "doctor: $fam unavailable"
		continue
	fi
	start "s_$tier" a --src-ip $A --tier $tier && start "r_$tier" b --dst-ip $B --tier $tier
	ip netns exec "$(ns a)" ping -n -q -c 10 -i 0.02 $B >/dev/null 2>&1
	stop "s_$tier"
	stop "r_$tier"
	ns_=$(echoes "s_$tier" | jq -r .seq | sort -un | wc -l)
	nr=$(echoes "r_$tier" | jq -r .seq | sort -un | wc -l)
	tiers=$(cat "$T_TMP/s_$tier.json" "$T_TMP/r_$tier.json" | jq -r 'select(.type=="echo") | .stages[].tier' | sort -u | tr '\n' ' ')
	check "rtt_forced_${tier}_both_directions" "tx $ns_/10, rx $nr/10, tiers [$tiers]" \
		test "$ns_" -eq 10 -a "$nr" -eq 10 -a "$tiers" = "$fam "
done
for tier in fentry kprobe; do
	if [ "$(jq -r ".families.$tier.available" <<<"$doctor")" = true ]; then
		start "s_$tier" a --src-ip $A --tier $tier
		ip netns exec "$(ns a)" ping -n -q -c 5 -i 0.05 $B >/dev/null 2>&1
		stop "s_$tier"
		n=$(echoes "s_$tier" | jq -r 'select(.stages[3].hook=="icmp_rcv") | .seq' | wc -l)
		check "rtt_forced_${tier}_uses_icmp_rcv" "$n of 5 echoes ended at icmp_rcv" test "$n" -eq 5
	else
		ip netns exec "$(ns a)" "$RTT" --tier $tier --duration 1 >"$T_TMP/$tier.out" 2>"$T_TMP/$tier.err"
		rc=$?
		check "rtt_forced_${tier}_refused_cleanly" "rc=$rc, $(wc -l <"$T_TMP/$tier.err") lines" \
			test $rc -eq 1 -a "$(wc -l <"$T_TMP/$tier.err")" -eq 1 -a ! -s "$T_TMP/$tier.out"
	fi
done

# 3. two pings at once with different ids; only the one to --dst-ip counts
start filt a --src-ip $A --dst-ip $B
ip netns exec "$(ns a)" ping -n -c 10 -i 0.05 $B >"$T_TMP/p1" 2>&1 &
p1=$!
ip netns exec "$(ns a)" ping -n -c 10 -i 0.05 $B2 >"$T_TMP/p2" 2>&1 &
p2=$!
wait $p1 $p2
stop filt
dsts=$(echoes filt | jq -r .dst | sort -u | tr '\n' ' ')
n=$(echoes filt | jq -r .seq | sort -un | wc -l)
check rtt_dst_filter_keeps_only_matching_echoes "dsts [$dsts], $n seqs" test "$dsts" = "$B " -a "$n" -eq 10

# 3b. --interface: the echo's interface in the list counts, others do not
start ifok a --src-ip $A -i lo,veth-a
start ifno a --src-ip $A -i lo
ip netns exec "$(ns a)" ping -n -q -c 5 -i 0.05 $B >/dev/null 2>&1
stop ifok
stop ifno
n_ok=$(echoes ifok | jq -r .seq | sort -un | wc -l)
n_no=$(echoes ifno | wc -l)
check rtt_interface_list_filters_in_kernel "with lo,veth-a $n_ok of 5, with lo only $n_no (want 0)" \
	test "$n_ok" -eq 5 -a "$n_no" -eq 0

# 4. --latency-us above every RTT: nothing leaves the kernel, and it says so
start slow a --src-ip $A --latency-us 1000000
ip netns exec "$(ns a)" ping -n -q -c 20 -i 0.02 $B >/dev/null 2>&1
stop slow
n=$(echoes slow | wc -l)
below=$(summary slow .echoes_below_latency)
check rtt_latency_threshold_filters_in_kernel "$n echoes reported, $below counted below" \
	test "$n" -eq 0 -a "$below" -eq 20

# 5. a flood: every echo ping sent is reported or accounted for
start flood a --src-ip $A
ip netns exec "$(ns a)" ping -n -q -f -c 20000 $B >"$T_TMP/flood" 2>&1
stop flood
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$T_TMP/flood")
rep=$(echoes flood | wc -l)
acc=$(summary flood '.echoes_completed + .echoes_evicted + .echoes_expired + .echoes_replaced + .echoes_in_flight + .echoes_below_latency')
started=$(summary flood .echoes_started)
echo "    flood: sent=$sent started=$started reported=$rep lost=$(summary flood .lost) evicted=$(summary flood .echoes_evicted) expired=$(summary flood .echoes_expired) in_flight=$(summary flood .echoes_in_flight)"
check rtt_flood_every_echo_accounted "sent $sent, started $started, accounted $acc, printed $rep" \
	test "$started" = "$sent" -a "$acc" = "$sent" -a "$rep" = "$(summary flood '.echoes_completed - .lost')"

# 6. stacks on request
start stk a --src-ip $A --kernel-stacks
ip netns exec "$(ns a)" ping -n -q -c 2 -i 0.05 $B >/dev/null 2>&1
stop stk
frames=$(echoes stk | jq -r '.stages[0].stack[]?' | grep -c '+0x')
check rtt_kernel_stacks_symbolized "$frames symbolized frames" test "$frames" -gt 0

# 7. bad input: one line naming the value
bad() {
	local name=$1 want_rc=$2 text=$3 rc
	shift 3
	"$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
	rc=$?
	check "$name" "rc=$rc: $(head -c 200 "$T_TMP/$name.err")" \
		test $rc -eq "$want_rc" -a "$(wc -l <"$T_TMP/$name.err")" -eq 1 -a ! -s "$T_TMP/$name.out"
	grep -qF -- "$text" "$T_TMP/$name.err" || fail "${name}_names_value" "no '$text' in: $(cat "$T_TMP/$name.err")"
}
bad rtt_unknown_interface_exit_2 2 "'nosuch0'" "$RTT" -i nosuch0
bad rtt_ipv6_address_exit_2 2 "IPv6" "$RTT" --src-ip fd00::1
bad rtt_bad_direction_exit_2 2 "'up'" "$RTT" --direction up
bad rtt_bad_latency_exit_2 2 "'fast'" "$RTT" --latency-ms fast
if command -v setpriv >/dev/null; then
	bad rtt_non_root_exit_1 1 "needs root" setpriv --reuid=65534 --regid=65534 --clear-groups "$RTT"
fi
