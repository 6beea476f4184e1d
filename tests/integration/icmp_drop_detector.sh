#!/usr/bin/env bash
# icmp_drop_detector on a bridging host between two namespaces, without the
# lab: every tracepoint tier on its own, both orientation modes, --verbose.
# The same topology runs inside Debian 6.1 in the VM test.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
IDD=$NETSEG_BIN/icmp_drop_detector
A=198.18.26.1
B=198.18.26.2

if ! is_root; then
	skip icmp_drop_detector_host_tests "needs root"
	exit 0
fi
t_bridge_host $A $B || { fail idd_host_setup "cannot build the bridge topology"; exit 1; }

run() { # run TAG PINGER TARGET COUNT ARGS...: detector on h while PINGER pings
	local tag=$1 from=$2 to=$3 n=$4
	shift 4
	t_bg "$T_TMP/$tag" ip netns exec "$(ns h)" "$IDD" -j --timeout-ms 300 --ready-file "$T_TMP/$tag.ready" "$@"
	local pid=$T_LAST_PID
	t_wait_file "$T_TMP/$tag.ready" 10 || { fail "$tag" "never ready: $(head -c 300 "$T_TMP/$tag.err")"; return 1; }
	ip netns exec "$(ns "$from")" ping -n -q -c "$n" -i 0.02 -W 1 "$to" >/dev/null 2>&1
	t_stop "$pid" INT
}
seqs() { jq -r 'select(.type=="echo") | .seq' "$T_TMP/$1" | sort -n | tr '\n' ' ' | sed 's/ $//'; }

doctor=$("$NETSEG_BIN"/netseg doctor --json)
for tier in tp_btf raw_tp tp; do
	fam=$tier; [ $tier = tp ] && fam=tracepoint
	if [ "$(jq -r ".families.$fam.available" <<<"$doctor")" != true ]; then
		skip "idd_forced_${tier}_reports_every_echo" "doctor: $fam unavailable"
		continue
	fi
	run "t_$tier" a $B 10 --vm-interface h-a --phy-interface h-b --tier $tier
	got=$(seqs "t_$tier")
	check "idd_forced_${tier}_reports_every_echo" "seqs [$got]" test "$got" = "$(seq -s' ' 1 10)"
done

# fixed orientation: requests arriving on the tx side are not ours, those
# arriving on the rx side are (pinged in the same run, so nothing at all
# would not pass)
t_bg "$T_TMP/fixed" ip netns exec "$(ns h)" "$IDD" -j --timeout-ms 300 --ready-file "$T_TMP/fixed.ready" \
	--rx-iface h-a --tx-iface h-b
fixed_pid=$T_LAST_PID
t_wait_file "$T_TMP/fixed.ready" 10
ip netns exec "$(ns b)" ping -n -q -c 5 -i 0.02 -W 1 $A >/dev/null 2>&1
ip netns exec "$(ns a)" ping -n -q -c 3 -i 0.02 -W 1 $B >/dev/null 2>&1
t_stop $fixed_pid INT
n=$(jq -r --arg b $B 'select((.type=="echo" or .type=="drop") and .src==$b)' "$T_TMP/fixed" | grep -c '"seq"')
own=$(jq -r --arg a $A 'select(.type=="echo" and .src==$a) | .seq' "$T_TMP/fixed" | sort -un | wc -l)
check idd_fixed_orientation_ignores_requests_from_tx_side "$n echoes or drops for pings entering on --tx-iface, $own of 3 from the rx side" \
	test "$n" -eq 0 -a "$own" -eq 3
run byp b $A 5 --vm-interface h-a --phy-interface h-b
got=$(seqs byp)
rx=$(jq -r 'select(.type=="echo") | .rx_if' "$T_TMP/byp" | sort -u)
check idd_by_packets_orientation_tracks_either_way "seqs [$got], received on [$rx]" \
	test "$got" = "1 2 3 4 5" -a "$rx" = h-b

# --verbose: every point as it happens, four per echo
run verbose a $B 3 --vm-interface h-a --phy-interface h-b --verbose
pts=$(jq -r 'select(.type=="point") | "\(.seq)\(.point)"' "$T_TMP/verbose" | sort -u | wc -l)
check idd_verbose_prints_every_point "$pts distinct points for 3 echoes, want 12" test "$pts" -eq 12

# a reply lost beyond this host, then the same (id, seq) again before the
# timeout: the first echo is a drop (replaced), the second its own echo
t_bg "$T_TMP/again" ip netns exec "$(ns h)" "$IDD" -j --timeout-ms 10000 --ready-file "$T_TMP/again.ready" \
	--vm-interface h-a --phy-interface h-b
again_pid=$T_LAST_PID
if t_wait_file "$T_TMP/again.ready" 10; then
	ip netns exec "$(ns b)" nft -f - <<'NFT'
table inet idddrop { chain out { type filter hook output priority 0; icmp type echo-reply drop; }; }
NFT
	ip netns exec "$(ns a)" ping -n -c 1 -W 1 -e 4242 $B >/dev/null 2>&1
	ip netns exec "$(ns b)" nft delete table inet idddrop
	ip netns exec "$(ns a)" ping -n -c 1 -W 1 -e 4242 $B >"$T_TMP/again.ping" 2>&1
	t_stop "$again_pid" INT
	d=$(jq -r 'select(.type=="drop" and .id==4242) | "\(.class)/\(.detected_by)"' "$T_TMP/again" | tr '\n' ' ')
	total=$(jq -r 'select(.type=="echo" and .id==4242 and .seq==1) | .total_ns' "$T_TMP/again")
	pms=$(sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$T_TMP/again.ping")
	ok=$(awk -v t="${total:-0}" -v p="${pms:-0}" 'BEGIN { print (t > 0 && t <= p * 1e6 + 1000) ? 1 : 0 }')
	check idd_same_id_seq_after_lost_reply_is_one_drop_then_its_own_echo \
		"drops [$d], echo total ${total:-none} ns, ping said ${pms:-nothing} ms, replaced=$(jq -r 'select(.type=="summary") | .echoes_replaced' "$T_TMP/again")" \
		test "$d" = "lost_outside/replaced " -a "$ok" -eq 1 \
		-a "$(jq -r 'select(.type=="summary") | .echoes_replaced' "$T_TMP/again")" -eq 1
else
	fail idd_same_id_seq_after_lost_reply_is_one_drop_then_its_own_echo "never ready: $(head -c 300 "$T_TMP/again.err")"
fi
