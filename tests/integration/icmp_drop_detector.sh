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
