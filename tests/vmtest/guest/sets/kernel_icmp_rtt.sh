# Set "kernel_icmp_rtt": the fentry and kprobe tiers of kernel_icmp_rtt,
# forced, on both directions. Two namespaces joined by a veth pair; the
# sender traces its own pings (tx), the receiver the pings it answers (rx),
# both with the seed's command line. The truth is ping's own sequence numbers.
# With --metrics --quiet the echoes go into the kernel's histograms instead
# (no server is needed: the address is only carried along).
# tests: rtt_fentry_both_directions_with_icmp_rcv rtt_kprobe_both_directions_with_icmp_rcv rtt_quiet_fentry_and_kprobe_histograms
# shellcheck shell=sh
. /vmtest/lib.sh
N=5
WANT="$(seq -s ' ' 1 $N) "
A=198.18.31.1
B=198.18.31.2

setup() {
	ip netns add rta && ip netns add rtb &&
		ip link add veth-a netns rta type veth peer name veth-b netns rtb &&
		ip -n rta addr add $A/24 dev veth-a &&
		ip -n rtb addr add $B/24 dev veth-b &&
		ip -n rta link set lo up && ip -n rtb link set lo up &&
		ip -n rta link set veth-a up && ip -n rtb link set veth-b up
}
if ! setup >"$T/setup.err" 2>&1; then
	for tier in fentry kprobe; do
		fail "rtt_${tier}_both_directions_with_icmp_rcv" "cannot build namespaces: $(head -n 2 "$T/setup.err" | tr '\n' ' ')"
	done
	fail rtt_quiet_fentry_and_kprobe_histograms "cannot build namespaces"
	exit 0
fi

# seqs FILE: sorted sequence numbers of the echo records
seqs() {
	jq -r 'select(.type=="echo") | .seq' "$1" | sort -n | tr '\n' ' '
}

for tier in fentry kprobe; do
	name=rtt_${tier}_both_directions_with_icmp_rcv
	# nsenter execs the tracer, so $! is the tracer and gets the SIGINT
	nsenter --net=/run/netns/rta kernel_icmp_rtt --src-ip $A --dst-ip $B --tier "$tier" -j \
		--ready-file "$T/$tier.tx.ready" >"$T/$tier.tx" 2>"$T/$tier.tx.err" &
	tx=$!
	nsenter --net=/run/netns/rtb kernel_icmp_rtt --src-ip $A --dst-ip $B --tier "$tier" -j \
		--ready-file "$T/$tier.rx.ready" >"$T/$tier.rx" 2>"$T/$tier.rx.err" &
	rx=$!
	if ! wait_ready "$T/$tier.tx.ready" $tx 90 || ! wait_ready "$T/$tier.rx.ready" $rx 90; then
		stop $tx INT 10
		stop $rx INT 10
		fail "$name" "never ready: $(head -c 200 "$T/$tier.tx.err") $(head -c 200 "$T/$tier.rx.err")"
		continue
	fi
	inns rta "$PING" -n -c $N -i 0.2 -W 2 $B >"$T/$tier.ping" 2>&1
	stop $tx INT 20
	stop $rx INT 20
	got_tx=$(seqs "$T/$tier.tx")
	got_rx=$(seqs "$T/$tier.rx")
	dirs="$(jq -r .direction "$T/$tier.tx.ready")/$(jq -r .direction "$T/$tier.rx.ready")"
	# tx: the reply ends at icmp_rcv; rx: the request's path 1 ends there
	tx_end=$(jq -r 'select(.type=="echo") | "\(.stages[3].hook):\(.stages[3].tier)"' "$T/$tier.tx" | sort -u | tr '\n' ' ')
	rx_end=$(jq -r 'select(.type=="echo") | "\(.stages[1].hook):\(.stages[1].tier)"' "$T/$tier.rx" | sort -u | tr '\n' ' ')
	tx_start=$(jq -r 'select(.type=="echo") | .stages[0].tier' "$T/$tier.tx" | sort -u | tr '\n' ' ')
	bad=$(cat "$T/$tier.tx" "$T/$tier.rx" | jq 'select(.type=="echo" and .path1_ns + .inter_ns + .path2_ns != .total_ns)' | wc -l)
	if ! grep -q "$N received" "$T/$tier.ping"; then
		fail "$name" "ping did not get $N replies: $(tail -n 2 "$T/$tier.ping" | tr '\n' ' ')"
	elif [ "$dirs" != tx/rx ]; then
		fail "$name" "directions [$dirs], want tx/rx"
	elif [ "$got_tx" != "$WANT" ] || [ "$got_rx" != "$WANT" ]; then
		fail "$name" "echo seqs tx [$got_tx] rx [$got_rx], ping [$WANT]"
	elif [ "$tx_end" != "icmp_rcv:$tier " ] || [ "$rx_end" != "icmp_rcv:$tier " ]; then
		fail "$name" "icmp_rcv stage: tx ends [$tx_end], rx path 1 ends [$rx_end]"
	elif [ "$tx_start" != "$tier " ]; then
		fail "$name" "tx path 1 starts on tier [$tx_start], want $tier (IP output family)"
	elif [ "$bad" -ne 0 ]; then
		fail "$name" "$bad echoes where path1+inter+path2 != total"
	else
		pass "$name"
		continue
	fi
	show "$T/$tier.tx.err" 10
	show "$T/$tier.tx" 10
	show "$T/$tier.rx" 10
done

# quiet: the sender's function tiers, each echo once in the kernel's `total`
# histogram (the summary reads it), and no echo record
bad=''
for tier in fentry kprobe; do
	nsenter --net=/run/netns/rta kernel_icmp_rtt --src-ip $A --dst-ip $B --tier "$tier" -j \
		--metrics 127.0.0.1:0 --quiet --ready-file "$T/q$tier.ready" >"$T/q$tier" 2>"$T/q$tier.err" &
	tx=$!
	if ! wait_ready "$T/q$tier.ready" $tx 90; then
		stop $tx INT 10
		bad="$bad $tier: never ready: $(head -c 200 "$T/q$tier.err")"
		continue
	fi
	inns rta "$PING" -n -c $N -i 0.2 -W 2 $B >"$T/q$tier.ping" 2>&1
	stop $tx INT 20
	got=$(json "$T/q$tier" summary | jq -c '[.segments_kernel.total.count, .echoes_completed, .records]')
	recs=$(grep -c '"type":"echo"' "$T/q$tier")
	echo "  rtt quiet $tier: $(json "$T/q$tier" summary | jq -c .segments_kernel)"
	if [ "$got" != "[$N,$N,0]" ] || [ "$recs" != 0 ]; then
		bad="$bad $tier: [total count, completed, records] $got, want [$N,$N,0]; $recs echo records"
		show "$T/q$tier.err" 10
	fi
done
if [ -z "$bad" ]; then pass rtt_quiet_fentry_and_kprobe_histograms; else fail rtt_quiet_fentry_and_kprobe_histograms "$bad"; fi
ip netns del rta
ip netns del rtb
rm -rf "$T"
