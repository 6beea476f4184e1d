#!/usr/bin/env bash
# A ping flood through the lab with every tracer of the path running: each
# echo is reported exactly once by each of them, and nothing is called a
# drop, also while a packet capture on HR's vnet0 falls behind, and while
# copies of every request are freed on another port of HR. Truth: ping's
# own count and its 0 % loss.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
NS=$NETSEG_BIN/netseg
RTT=$NETSEG_BIN/kernel_icmp_rtt
IDD=$NETSEG_BIN/icmp_drop_detector
P="fl$$"
N=${FLOOD_COUNT:-20000}

if ! is_root; then
	skip lab_flood "needs root"
	exit 0
fi
t_lab_up "$P" || { fail lab_flood_up "$(head -c 300 "$T_TMP/$P.uperr")"; exit 0; }

# run TAG: the three tracers, a flood, the tracers stopped
run() {
	local tag=$1 role
	t_bg "$T_TMP/$tag.vms" "$NS" lab exec vm-s --prefix "$P" -- "$RTT" --src-ip 198.18.0.1 --dst-ip 198.18.0.2 \
		-j --ready-file "$T_TMP/$tag.vms.ready"
	pid_vms=$T_LAST_PID
	for role in hs hr; do
		t_bg "$T_TMP/$tag.$role" "$NS" lab exec $role --prefix "$P" -- "$IDD" --src-ip 198.18.0.1 --dst-ip 198.18.0.2 \
			--phy-interface phy0 --vm-interface vnet0 -j --ready-file "$T_TMP/$tag.$role.ready"
		eval "pid_$role=$T_LAST_PID"
	done
	for role in vms hs hr; do
		t_wait_file "$T_TMP/$tag.$role.ready" 10 || { fail "lab_flood_${tag}_ready" "$role: $(head -c 300 "$T_TMP/$tag.$role.err")"; return 1; }
	done
	"$NS" lab exec vm-s --prefix "$P" -- ping -n -q -f -c "$N" 198.18.0.2 >"$T_TMP/$tag.ping" 2>&1
	sleep 0.2
	for role in vms hs hr; do t_stop "$(eval echo "\$pid_$role")" INT; done
}

# verify TAG: every tracer has each of ping's echoes once, no drop
verify() {
	local tag=$1 role type got uniq
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' "$T_TMP/$tag.ping")
	check "lab_flood_${tag}_ping_lost_nothing" "ping: $sent" test "$sent" = "$N $N"
	for role in vms hs hr; do
		got=$(jq -r 'select(.type=="echo") | .seq' "$T_TMP/$tag.$role" | wc -l)
		uniq=$(jq -r 'select(.type=="echo") | .seq' "$T_TMP/$tag.$role" | sort -un | wc -l)
		check "lab_flood_${tag}_${role}_reports_each_echo_once" "$got echo records, $uniq distinct seqs, want $N" \
			test "$got" -eq "$N" -a "$uniq" -eq "$N"
	done
	for role in hs hr; do
		local d
		d=$(jq -r 'select(.type=="summary") | "\(.drops) \(.complete)"' "$T_TMP/$tag.$role")
		check "lab_flood_${tag}_${role}_no_drop" "drops/complete: $d; drop records $(jq -c 'select(.type=="drop") | [.seq,.class,.detected_by,.reason]' "$T_TMP/$tag.$role" | head -3 | tr '\n' ' ')" \
			test "$d" = "0 $N" -a "$(jq -c 'select(.type=="drop")' "$T_TMP/$tag.$role" | wc -l)" -eq 0
	done
	d=$(jq -r 'select(.type=="summary") | "\(.echoes_expired) \(.echoes_replaced) \(.echoes_completed)"' "$T_TMP/$tag.vms")
	check "lab_flood_${tag}_vms_nothing_expired" "expired/replaced/completed: $d" test "$d" = "0 0 $N"
}

run plain && verify plain

# a capture on HR's vnet0 that cannot keep up: stopped, with a 64 KiB
# buffer, its socket drops nearly every copy (kfree_skb of a clone)
t_bg "$T_TMP/tcpdump" "$NS" lab exec hr --prefix "$P" -- tcpdump -n -i vnet0 -B 64 -w /dev/null icmp
tcpd=$T_LAST_PID
for _ in $(seq 100); do grep -q listening "$T_TMP/tcpdump.err" && break; sleep 0.05; done
kill -STOP "$tcpd"
run capture && verify capture
kill -CONT "$tcpd"
t_stop "$tcpd" INT

# copies of every request, dropped on another port of HR: the kernel frees
# each copy while the request itself is inside HR and then goes on
"$NS" lab exec hr --prefix "$P" -- ip link add dupsink type veth peer name dupsink1
"$NS" lab exec hr --prefix "$P" -- nft -f - <<'NFT'
table netdev netseg_dup { chain c { type filter hook ingress device phy0 priority 0; icmp type echo-request dup to "dupsink"; }; }
NFT
run copies && verify copies
"$NS" lab exec hr --prefix "$P" -- nft delete table netdev netseg_dup
fnd=$(jq -r 'select(.type=="summary") | .frees_not_drops' "$T_TMP/copies.hr")
check lab_flood_copies_freed_are_counted_apart_not_drops "HR frees_not_drops=$fnd, want $N (one dropped copy per request)" \
	test "${fnd:-0}" -eq "$N"
