#!/usr/bin/env bash
# kernel_icmp_rtt must never invent an echo: a reply lost, then the same
# (id, seq) again; a router that only forwards echoes. Truth: ping's own
# per-echo times and counts, and the replies an nftables rule dropped.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
RTT=$NETSEG_BIN/kernel_icmp_rtt
A=198.18.26.1
B=198.18.26.2

if ! is_root; then
	skip rtt_correlation "needs root (namespaces, BPF)"
	exit 0
fi
t_netns_pair a b $A $B || { fail rtt_corr_setup "cannot create namespaces"; exit 1; }

start() { t_tracer "$1" "$2" "$RTT" "${@:3}"; }
stop() { t_tracer_stop "$1"; }
recs() { t_records "$@"; }
summary() { t_summary "$@"; }
drop_replies() { # in b: replies never leave
	ip netns exec "$(ns b)" nft -f - <<'NFT'
table inet rttdrop { chain out { type filter hook output priority 0; icmp type echo-reply drop; }; }
NFT
}
allow_replies() { ip netns exec "$(ns b)" nft delete table inet rttdrop; }
ping_id() { # ping_id OUT: one echo with id 4242, seq 1
	ip netns exec "$(ns a)" ping -n -c 1 -W 1 -e 4242 $B >"$T_TMP/$1" 2>&1
}
ping_ms() { sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$T_TMP/$1"; }

# 1. lost reply, the same (id, seq) again within the timeout: a new span
# replaces the stale one; the new echo has its own RTT, ping's
start again a --src-ip $A --dst-ip $B --timeout-ms 10000
drop_replies
ping_id lost1
allow_replies
sleep 0.3
ping_id ok1
stop again
n=$(recs again echo | jq -r 'select(.id==4242 and .seq==1) | .total_ns' | wc -l)
total=$(recs again echo | jq -r 'select(.id==4242 and .seq==1) | .total_ns')
pms=$(ping_ms ok1)
ok=$(awk -v t="${total:-0}" -v p="${pms:-0}" 'BEGIN { print (t > 0 && t <= p * 1e6 + 1000) ? 1 : 0 }')
check rtt_same_id_seq_after_lost_reply_gets_its_own_rtt \
	"$n echo(es), total ${total:-none} ns, ping said ${pms:-nothing} ms" test "$n" -eq 1 -a "$ok" -eq 1
why=$(recs again incomplete | jq -r '"\(.why)/\(.last_stage)"')
check rtt_lost_reply_reported_as_replaced_incomplete "incomplete: [$why], replaced=$(summary again .echoes_replaced)" \
	test "$why" = "replaced/p1_end" -a "$(summary again .echoes_replaced)" -eq 1

# 2. the same after the timeout: the sweep expires the lost echo first
start exp a --src-ip $A --dst-ip $B --timeout-ms 200
drop_replies
ping_id lost2
allow_replies
sleep 0.6
ping_id ok2
stop exp
total=$(recs exp echo | jq -r 'select(.id==4242 and .seq==1) | .total_ns')
pms=$(ping_ms ok2)
ok=$(awk -v t="${total:-0}" -v p="${pms:-0}" 'BEGIN { print (t > 0 && t <= p * 1e6 + 1000) ? 1 : 0 }')
check rtt_same_id_seq_after_expiry_gets_its_own_rtt "total ${total:-none} ns, ping said ${pms:-nothing} ms" \
	test "$ok" -eq 1
check rtt_lost_reply_expired_once "expired=$(summary exp .echoes_expired), incomplete records $(recs exp incomplete | wc -l) ($(recs exp incomplete | jq -r .why))" \
	test "$(summary exp .echoes_expired)" -eq 1 -a "$(recs exp incomplete | jq -r .why)" = timeout

# 3. a router between two namespaces: it forwards echoes, it never answers
# or sends them, so it has no echo of its own and keeps nothing
R1=198.18.27.1 R2=198.18.28.1 C=198.18.27.2 D=198.18.28.2
for x in r c d; do ip netns add "$(ns $x)" && T_NETNS+=("$(ns $x)"); ip -n "$(ns $x)" link set lo up; done
ip link add eth0 netns "$(ns c)" type veth peer name r-c netns "$(ns r)"
ip link add eth0 netns "$(ns d)" type veth peer name r-d netns "$(ns r)"
ip -n "$(ns c)" addr add $C/24 dev eth0; ip -n "$(ns c)" link set eth0 up; ip -n "$(ns c)" route add default via $R1
ip -n "$(ns d)" addr add $D/24 dev eth0; ip -n "$(ns d)" link set eth0 up; ip -n "$(ns d)" route add default via $R2
ip -n "$(ns r)" addr add $R1/24 dev r-c; ip -n "$(ns r)" addr add $R2/24 dev r-d
ip -n "$(ns r)" link set r-c up; ip -n "$(ns r)" link set r-d up
ip netns exec "$(ns r)" sysctl -qw net.ipv4.ip_forward=1
start fwd_tx r --src-ip $C --dst-ip $D --direction tx --timeout-ms 200
start fwd_rx r --src-ip $C --dst-ip $D --direction rx --timeout-ms 200
ip netns exec "$(ns c)" ping -n -q -c 300 -i 0.005 $D >"$T_TMP/fwdping" 2>&1
stop fwd_tx
stop fwd_rx
sent=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\2/p' "$T_TMP/fwdping")
check rtt_router_tx_starts_nothing_for_forwarded_echoes \
	"forwarded=$(summary fwd_tx .packets_forwarded) (ping got $sent replies) started=$(summary fwd_tx .echoes_started) in_flight=$(summary fwd_tx .echoes_in_flight)" \
	test "$(summary fwd_tx .packets_forwarded)" -ge "${sent:-1}" -a "$(summary fwd_tx .echoes_started)" -eq 0 \
	-a "$(summary fwd_tx .echoes_in_flight)" -eq 0 -a "$(recs fwd_tx echo | wc -l)" -eq 0
st=$(summary fwd_rx .echoes_started) ex=$(summary fwd_rx .echoes_expired) fl=$(summary fwd_rx .echoes_in_flight)
# 300 echoes over >= 1.5 s with a 200 ms timeout: never more than ~50 kept
check rtt_router_rx_keeps_a_bounded_number_of_entries \
	"started=$st expired=$ex in_flight=$fl completed=$(summary fwd_rx .echoes_completed)" \
	test "$st" -eq 300 -a "$fl" -le 60 -a $((ex + fl)) -eq "$st" -a "$(summary fwd_rx .echoes_completed)" -eq 0

# 4. a reader that stops reading: `kernel_icmp_rtt | head -3` ends by itself
ip netns exec "$(ns a)" ping -n -q -i 0.01 -c 1000 $B >/dev/null 2>&1 &
pinger=$!
T_PIDS+=("$pinger")
start_ns=$(date +%s%N)
timeout 20 bash -c "ip netns exec $(ns a) $RTT --src-ip $A | head -3 >$T_TMP/head3"
rc=$?
secs=$(( ($(date +%s%N) - start_ns) / 1000000000 ))
t_stop "$pinger" INT
check rtt_pipe_into_head_exits_by_itself "rc=$rc after ${secs}s, $(wc -l <"$T_TMP/head3") lines" \
	test "$rc" -ne 124 -a "$(wc -l <"$T_TMP/head3")" -eq 3

# 5. SIGTERM in the middle of a flood: every echo the summary counts as
# completed (and not lost) is in the output
start term a --src-ip $A
ip netns exec "$(ns a)" ping -n -q -f -c 100000 $B >/dev/null 2>&1 &
pinger=$!
T_PIDS+=("$pinger")
sleep 1.5
t_stop "$pid_term" TERM
t_stop "$pinger" INT
printed=$(recs term echo | wc -l)
want=$(summary term '.echoes_completed - .lost')
check rtt_sigterm_mid_flood_prints_every_counted_echo "printed $printed, summary completed-lost $want, ended by $(summary term .ended_by)" \
	test "$printed" -eq "${want:--1}" -a "$printed" -gt 0 -a "$(summary term .ended_by)" = SIGTERM
