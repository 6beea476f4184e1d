# Set "pktwatch": the fentry and kprobe tiers, forced, really used. Two
# namespaces joined by a veth pair; pktwatch in one of them while it pings
# the other. The truth is ping's own count and sequence numbers.
# tests: pktwatch_fentry_sees_echoes_with_l4_stage pktwatch_kprobe_sees_echoes_with_l4_stage
# shellcheck shell=sh
. /vmtest/lib.sh
N=5
WANT="$(seq -s ' ' 1 $N) "

setup() {
	ip netns add pwa && ip netns add pwb &&
		ip link add veth-a netns pwa type veth peer name veth-b netns pwb &&
		ip -n pwa addr add 198.18.30.1/24 dev veth-a &&
		ip -n pwb addr add 198.18.30.2/24 dev veth-b &&
		ip -n pwa link set lo up && ip -n pwb link set lo up &&
		ip -n pwa link set veth-a up && ip -n pwb link set veth-b up
}
if ! setup >"$T/setup.err" 2>&1; then
	for tier in fentry kprobe; do
		fail "pktwatch_${tier}_sees_echoes_with_l4_stage" "cannot build namespaces: $(head -n 2 "$T/setup.err" | tr '\n' ' ')"
	done
	exit 0
fi

# seqs FILE STAGE TYPE: sorted echo sequence numbers seen at that stage
seqs() {
	jq -r --arg st "$2" --argjson ty "$3" \
		'select(.type=="pkt" and .stage==$st and .icmp_type==$ty) | .seq' "$1" | sort -n | tr '\n' ' '
}

for tier in fentry kprobe; do
	name=pktwatch_${tier}_sees_echoes_with_l4_stage
	out=$T/$tier.json
	# the ready wait is generous: loading and verifying under TCG is slow
	# nsenter itself, not the inns function: $! must be pktwatch (nsenter
	# execs it), not a subshell that would swallow the SIGINT
	nsenter --net=/run/netns/pwa pktwatch --tier "$tier" -j --ready-file "$T/$tier.ready" \
		>"$out" 2>"$T/$tier.err" &
	pid=$!
	if ! wait_ready "$T/$tier.ready" $pid 60; then
		stop $pid INT 10
		fail "$name" "pktwatch --tier $tier never became ready: $(head -c 300 "$T/$tier.err")"
		continue
	fi
	inns pwa "$PING" -n -c $N -i 0.2 -W 2 198.18.30.2 >"$T/$tier.ping" 2>&1
	stop $pid INT 20
	rc=$?
	req=$(seqs "$out" xmit 8)
	rep=$(seqs "$out" recv 0)
	l4=$(seqs "$out" l4 0)
	# recv offers only tracepoints, so a forced fentry/kprobe leaves it on its
	# best tracepoint tier: every record must carry its stage's ready tier,
	# and the stages that offer the forced tier (xmit, l4) must have it
	ready_tiers=$(jq -r 'select(.type=="ready") | "xmit=\(.tiers.xmit.tier) l4=\(.tiers.l4.tier)"' "$out")
	odd=$(jq -r -s '(map(select(.type=="ready"))[0].tiers) as $t |
		map(select(.type=="pkt" and .tier != $t[.stage].tier) | "\(.stage)=\(.tier)") | unique | join(" ")' "$out")
	summary=$(json "$out" summary)
	lost=$(echo "$summary" | jq -r '.lost // "none"' 2>/dev/null)
	if ! grep -q "$N received" "$T/$tier.ping"; then
		fail "$name" "ping did not get $N replies: $(tail -n 2 "$T/$tier.ping" | tr '\n' ' ')"
	elif [ $rc -ne 0 ] || [ -z "$summary" ]; then
		fail "$name" "pktwatch exited $rc, summary [$summary]: $(head -c 200 "$T/$tier.err")"
	elif [ "$ready_tiers" != "xmit=$tier l4=$tier" ]; then
		fail "$name" "ready record gives [$ready_tiers], forced $tier"
	elif [ "$req" != "$WANT" ]; then
		fail "$name" "echo requests at xmit: seqs [$req], ping sent [$WANT]"
	elif [ "$rep" != "$WANT" ]; then
		fail "$name" "echo replies at recv: seqs [$rep], ping got [$WANT]"
	elif [ "$l4" != "$WANT" ]; then
		fail "$name" "echo replies at l4: seqs [$l4], ping got [$WANT]"
	elif [ -n "$odd" ]; then
		fail "$name" "records from tiers other than their stage's ready tier: [$odd]"
	elif [ "$lost" != 0 ]; then
		fail "$name" "summary reports lost=$lost"
	else
		pass "$name"
		continue
	fi
	show "$T/$tier.err" 10
	show "$out" 20
done
ip netns del pwa
ip netns del pwb
rm -rf "$T"
