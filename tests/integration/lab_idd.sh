#!/usr/bin/env bash
# icmp_drop_detector on the lab's two hosts with the seed's command line
# (the same on both). Truth: ping's echoes; the wire delay the relay is
# programmed with; drops injected with nftables rules in one namespace.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
NS=$NETSEG_BIN/netseg
IDD=$NETSEG_BIN/icmp_drop_detector
A="da$$"     # plain lab
W="dw$$"     # lab with a delayed wire
WIRE_US=1000

if ! is_root; then
	skip lab_idd "needs root"
	exit 0
fi
up() { # up PREFIX ARGS...: a lab, or a FAIL line saying why not
	t_lab_up "$@" || { fail "lab_up_$1" "$(head -c 300 "$T_TMP/$1.uperr")"; return 1; }
}
# start_hosts PREFIX TAG: the seed's command line on HS and HR
start_hosts() {
	local p=$1 tag=$2 role
	for role in hs hr; do
		t_bg "$T_TMP/$tag.$role" "$NS" lab exec $role --prefix "$p" -- "$IDD" --src-ip 198.18.0.1 --dst-ip 198.18.0.2 \
			--phy-interface phy0 --vm-interface vnet0 --timeout-ms 300 -j --ready-file "$T_TMP/$tag.$role.ready"
		eval "pid_${tag}_$role=$T_LAST_PID"
	done
	t_wait_file "$T_TMP/$tag.hs.ready" 10 && t_wait_file "$T_TMP/$tag.hr.ready" 10
}
stop_hosts() {
	local tag=$1
	t_stop "$(eval echo "\$pid_${tag}_hs")" INT
	t_stop "$(eval echo "\$pid_${tag}_hr")" INT
}
ping_n() { # ping_n PREFIX COUNT: VM-S pings VM-R
	"$NS" lab exec vm-s --prefix "$1" -- ping -n -c "$2" -i 0.02 -W 1 198.18.0.2 >"$T_TMP/$1.ping.$2" 2>&1
}
echoes() { jq -c 'select(.type=="echo")' "$1"; }
drops() { jq -r --arg c "$2" 'select(.type=="drop" and .class==$c) | "\(.seq) \(.reason) \(.site)"' "$1"; }

up "$A" || exit 0
start_hosts "$A" plain
ping_n "$A" 50
stop_hosts plain
want=$(seq -s' ' 1 50)
for role in hs hr; do
	got=$(echoes "$T_TMP/plain.$role" | jq -r .seq | sort -n | tr '\n' ' ' | sed 's/ $//')
	check "idd_${role}_reports_each_of_50_echoes" "seqs [$got]" test "$got" = "$want"
	bad=$(echoes "$T_TMP/plain.$role" | jq 'select(.req_internal_ns + .external_ns + .rep_internal_ns != .total_ns)' | wc -l)
	check "idd_${role}_parts_add_up_to_total_exactly" "$bad echoes" test "$bad" -eq 0
done
check idd_orientation_follows_the_packets "HS received requests on [$(echoes "$T_TMP/plain.hs" | jq -r .rx_if | sort -u | tr '\n' ' ')], HR on [$(echoes "$T_TMP/plain.hr" | jq -r .rx_if | sort -u | tr '\n' ' ')]" \
	test "$(echoes "$T_TMP/plain.hs" | jq -r .rx_if | sort -u)/$(echoes "$T_TMP/plain.hr" | jq -r .rx_if | sort -u)" = vnet0/phy0
# the receiver host's whole echo sits inside the sender host's External
jq -s 'map(select(.type=="echo")) | map({key: (.seq|tostring), value: .total_ns}) | from_entries' "$T_TMP/plain.hr" >"$T_TMP/hr_total"
viol=$(echoes "$T_TMP/plain.hs" | jq -r --slurpfile hr "$T_TMP/hr_total" 'select(.external_ns <= ($hr[0][.seq|tostring] // 0)) | .seq' | wc -l)
check idd_hs_external_contains_hr_total "$viol echoes with HS External <= HR Total" test "$viol" -eq 0

# wire delay: HS.External - HR.Total is the wire both ways (C + J)
wire() { # median of HS.External - HR.Total in ns, per echo
	jq -s 'map(select(.type=="echo")) | map({key: (.seq|tostring), value: .total_ns}) | from_entries' "$T_TMP/$1.hr" >"$T_TMP/$1.hr_total"
	echoes "$T_TMP/$1.hs" | jq -r --slurpfile hr "$T_TMP/$1.hr_total" \
		'select($hr[0][.seq|tostring]) | .external_ns - $hr[0][.seq|tostring]' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
if up "$W" --wire-delay-us "$WIRE_US"; then
	start_hosts "$W" delayed
	ping_n "$W" 50
	stop_hosts delayed
	plain_wire=$(wire plain)
	delayed_wire=$(wire delayed)
	rise=$((delayed_wire - plain_wire))
	want_ns=$((2 * WIRE_US * 1000))
	echo "    wire (HS.External - HR.Total) median: plain $plain_wire ns, delayed $delayed_wire ns, rise $rise ns (programmed 2 x $WIRE_US us)"
	check idd_wire_delay_shows_in_external_minus_hr_total "rose by $rise ns, want $want_ns +-10%" \
		test "$rise" -ge $((want_ns * 9 / 10)) -a "$rise" -le $((want_ns * 11 / 10))
fi

# drops: replies dropped at HR's vnet0 ingress (the reply from VM-R never leaves HR)
start_hosts "$A" drop1
"$NS" lab exec hr --prefix "$A" -- nft -f - <<'NFT'
table netdev netseg_test { chain c { type filter hook ingress device vnet0 priority 0; icmp type echo-reply drop; }; }
NFT
ping_n "$A" 5
"$NS" lab exec hr --prefix "$A" -- nft delete table netdev netseg_test
sleep 0.6 # past --timeout-ms, so the sender host classifies its five
stop_hosts drop1
hr_drops=$(drops "$T_TMP/drop1.hr" reply_dropped_inside)
n_hr=$(grep -c 'NETFILTER_DROP nft_do_chain' <<<"$hr_drops")
n_hs=$(drops "$T_TMP/drop1.hs" lost_outside | wc -l)
check idd_reply_drop_at_receiver_vnet_reports_netfilter "HR: $n_hr of 5 reply drops with NETFILTER_DROP at nft_do_chain [$hr_drops]" test "$n_hr" -eq 5
check idd_reply_drop_at_receiver_is_lost_outside_for_sender "HS: $n_hs of 5 lost outside" test "$n_hs" -eq 5
others=$(jq -r 'select(.type=="drop") | .class' "$T_TMP/drop1.hs" "$T_TMP/drop1.hr" | sort | uniq -c | tr '\n' ' ')
check idd_reply_drop_no_other_drops "drop classes seen: $others" test "$(jq -r 'select(.type=="drop")' "$T_TMP/drop1.hs" "$T_TMP/drop1.hr" | grep -c '"class"')" -eq 10

# requests dropped on HS's phy0 egress: the sender host's own fault
start_hosts "$A" drop2
"$NS" lab exec hs --prefix "$A" -- nft -f - <<'NFT'
table netdev netseg_test { chain c { type filter hook egress device phy0 priority 0; icmp type echo-request drop; }; }
NFT
ping_n "$A" 4
"$NS" lab exec hs --prefix "$A" -- nft delete table netdev netseg_test
sleep 0.6
stop_hosts drop2
hs_drops=$(drops "$T_TMP/drop2.hs" request_dropped_inside)
n=$(grep -c 'NETFILTER_DROP' <<<"$hs_drops")
check idd_request_drop_at_sender_phy_reports_netfilter "HS: $n of 4 request drops with NETFILTER_DROP [$hs_drops]" test "$n" -eq 4
n_hr2=$(jq -r 'select(.type=="echo" or .type=="drop")' "$T_TMP/drop2.hr" | grep -c '"seq"')
check idd_request_drop_at_sender_never_reaches_receiver "HR saw $n_hr2 echoes or drops" test "$n_hr2" -eq 0
sum=$(jq -r 'select(.type=="summary") | "\(.flows) \(.request_dropped_inside) \(.drop_reasons.NETFILTER_DROP // 0)"' "$T_TMP/drop2.hs")
check idd_summary_counts_drops_by_class_and_reason "summary flows/req-drops/netfilter = $sum" test "$sum" = "4 4 4"

# bad input: one line, exit 2
bad() {
	local name=$1 text=$2 rc
	shift 2
	"$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
	rc=$?
	check "$name" "rc=$rc: $(head -c 200 "$T_TMP/$name.err")" \
		test $rc -eq 2 -a "$(wc -l <"$T_TMP/$name.err")" -eq 1 -a ! -s "$T_TMP/$name.out"
	grep -qF -- "$text" "$T_TMP/$name.err" || fail "${name}_names_value" "no '$text' in $(cat "$T_TMP/$name.err")"
}
bad idd_missing_phy_interface_exit_2 "--phy-interface" "$IDD" --vm-interface lo
bad idd_same_interface_both_sides_exit_2 "'lo' is on both sides" "$IDD" --vm-interface lo --phy-interface lo
bad idd_ipv6_address_exit_2 "IPv6" "$IDD" --src-ip fd00::2 --vm-interface lo --phy-interface lo
bad idd_unknown_interface_exit_2 "'nosuch0'" "$IDD" --vm-interface nosuch0 --phy-interface lo
bad idd_mixed_flag_forms_exit_2 "not both" "$IDD" --rx-iface lo --phy-interface lo
