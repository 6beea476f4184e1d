# Set "icmp_drop_detector": a host between two namespaces in the VM kernel,
# routing (the guest image has no bridge module): every echo reported, and
# a drop injected with nftables
# explained with the kernel's reason (values of enum skb_drop_reason differ
# from the host kernel's: the names must come from this kernel's BTF). A
# kernel whose kfree_skb tracepoint has no reason (5.10) still names the
# site (netfilter frees in nf_hook_slow there, in nft_do_chain on 6.x),
# and says the reason is not provided; the tracepoint's own format
# file is the truth for which kind of kernel this is.
# tests: idd_reports_every_echo_in_vm idd_reply_drop_reason_from_this_kernel idd_drop_program_fits_this_kernel
# shellcheck shell=sh
. /vmtest/lib.sh
A=198.18.32.1
B=198.18.33.1
NFT=/usr/local/bin/nft

setup() {
	ip netns add ih && ip netns add ia && ip netns add ib || return 1
	for s in a b; do
		ip link add eth0 netns i$s type veth peer name h-$s netns ih || return 1
		ip -n i$s link set lo up && ip -n i$s link set eth0 up && ip -n ih link set h-$s up || return 1
	done
	ip -n ia addr add $A/24 dev eth0 && ip -n ib addr add $B/24 dev eth0 &&
		ip -n ih addr add 198.18.32.254/24 dev h-a && ip -n ih addr add 198.18.33.254/24 dev h-b &&
		ip -n ia route add default via 198.18.32.254 && ip -n ib route add default via 198.18.33.254 &&
		inns ih sysctl -q -w net.ipv4.ip_forward=1
}
if ! setup >"$T/setup.err" 2>&1; then
	fail idd_reports_every_echo_in_vm "cannot build the routed topology: $(head -n 2 "$T/setup.err" | tr '\n' ' ')"
	fail idd_reply_drop_reason_from_this_kernel "no topology"
	fail idd_drop_program_fits_this_kernel "no topology"
	exit 0
fi

nsenter --net=/run/netns/ih icmp_drop_detector --vm-interface h-a --phy-interface h-b --timeout-ms 300 -j \
	--ready-file "$T/ready" >"$T/out" 2>"$T/err" &
pid=$!
if ! wait_ready "$T/ready" $pid 90; then
	stop $pid INT 10
	fail idd_reports_every_echo_in_vm "never ready: $(head -c 300 "$T/err")"
	fail idd_reply_drop_reason_from_this_kernel "never ready"
	fail idd_drop_program_fits_this_kernel "never ready"
	show "$T/err" 20
	exit 0
fi
inns ia "$PING" -n -q -c 10 -i 0.05 -W 1 $B >"$T/ping" 2>&1
# drop the replies as they come back into the host from b
inns ih "$NFT" -f - <<'NFT'
table netdev vt { chain c { type filter hook ingress device h-b priority 0; icmp type echo-reply drop; }; }
NFT
inns ia "$PING" -n -q -c 3 -i 0.05 -W 1 $B >"$T/ping2" 2>&1
inns ih "$NFT" delete table netdev vt
sleep 1
stop $pid INT 20

got=$(jq -r 'select(.type=="echo") | .seq' "$T/out" | sort -n | tr '\n' ' ')
if [ "$got" = "$(seq -s ' ' 1 10) " ]; then
	pass idd_reports_every_echo_in_vm
else
	fail idd_reports_every_echo_in_vm "echo seqs [$got], want 1..10"
	show "$T/err" 10
fi
if grep -q 'field:.* reason;' /sys/kernel/tracing/events/skb/kfree_skb/format 2>/dev/null; then
	want_reason=NETFILTER_DROP
else
	want_reason="not provided by this kernel"
fi
# the reason-reading program where the kernel has one, else its variant
# without (chosen because the kernel rejected the first one)
if [ "$want_reason" = NETFILTER_DROP ]; then want_prog=idd_drop_btf; else want_prog=idd_drop0_btf; fi
prog=$(jq -r '.tiers.drop.hooks[].prog' "$T/ready" | tr '\n' ' ')
if [ "$prog" = "$want_prog " ]; then
	pass idd_drop_program_fits_this_kernel
else
	fail idd_drop_program_fits_this_kernel "drop stage uses [$prog], want $want_prog"
fi
n=$(jq -r --arg r "$want_reason" 'select(.type=="drop" and .class=="reply_dropped_inside" and .reason==$r and (.site | test("^(nft_do_chain|nf_hook_slow)\\+"))) | .seq' "$T/out" | wc -l)
if [ "$n" -eq 3 ]; then
	pass idd_reply_drop_reason_from_this_kernel
else
	fail idd_reply_drop_reason_from_this_kernel "$n of 3 reply drops with reason '$want_reason' in netfilter: $(jq -c 'select(.type=="drop") | {class,reason,site}' "$T/out" | head -3 | tr '\n' ' ')"
	show "$T/out" 10
	show "$T/err" 10
fi
ip netns del ih
ip netns del ia
ip netns del ib
rm -rf "$T"
