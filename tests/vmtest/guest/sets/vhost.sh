# Set "vhost": vhost-net driven from user space (vhost_drv) with a tap in a
# namespace as its backend. Frames the namespace stack sends into the tap
# must come back in vhost_drv's used ring with call-eventfd signals, and an
# fentry counter (fcount) must see the kernel path that did it:
# tun_net_xmit -> vhost handle_rx -> vhost_add_used_and_signal_n -> eventfd_signal.
# tests: vhost_net_delivers_tap_frames_and_signals_call_eventfd
# shellcheck shell=sh
. /vmtest/lib.sh
name=vhost_net_delivers_tap_frames_and_signals_call_eventfd
N=5
FC_PID=
VD_PID=

bail() {
	fail "$name" "$1"
	[ -n "$VD_PID" ] && stop "$VD_PID" TERM 10
	[ -n "$FC_PID" ] && stop "$FC_PID" TERM 10
	show "$T/vd.err" 10
	show "$T/fc.err" 10
	ip netns del vh 2>/dev/null
	rm -rf "$T"
	exit 0
}

[ -c /dev/vhost-net ] || bail "/dev/vhost-net is missing (vhost_net module not loaded?)"
# 6.1 has eventfd_signal; newer kernels made it an inline wrapper of
# eventfd_signal_mask: count whichever is a real function here
esig=eventfd_signal
grep -q ' eventfd_signal$' /proc/kallsyms || esig=eventfd_signal_mask

# no IPv6 in the namespace, so the tap carries only the frames we send
ip netns add vh || bail "ip netns add failed"
inns vh sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n vh link set lo up

fcount --ready-file "$T/fc.ready" tun_net_xmit vhost_add_used_and_signal_n "$esig" \
	>"$T/fc.json" 2>"$T/fc.err" &
FC_PID=$!
wait_file "$T/fc.ready" 60 || bail "fcount never became ready: $(head -c 300 "$T/fc.err")"

# vhost_drv bounds itself too (--duration), in case this script dies
vhost_drv --netns vh --tap vtap0 --ready-file "$T/vd.ready" --duration 90 \
	>"$T/vd.json" 2>"$T/vd.err" &
VD_PID=$!
wait_file "$T/vd.ready" 30 || bail "vhost_drv never became ready: $(head -c 300 "$T/vd.err")"

# a permanent neighbour: the stack sends the echo requests straight into the
# tap, no ARP first, so we know exactly how many frames go in
ip -n vh addr add 198.18.40.1/24 dev vtap0 &&
	ip -n vh link set vtap0 up &&
	ip -n vh neigh replace 198.18.40.2 lladdr 02:00:c6:12:28:02 dev vtap0 nud permanent ||
	bail "configuring vtap0 failed"

# tap_tx: frames the tap handed to its reader (tun counts them in tun_put_user)
tap_tx() { ip -n vh -s -j link show vtap0 | jq -r '.[0].stats64.tx.packets'; }
tx0=$(tap_tx)
# nobody answers: ping sends N requests and gives up 1 s after the last
inns vh "$PING" -n -c $N -i 0.2 -W 1 198.18.40.2 >"$T/ping" 2>&1
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$T/ping")
[ "$sent" = "$N" ] || bail "ping sent [$sent] requests, wanted $N: $(tail -n 2 "$T/ping" | tr '\n' ' ')"
# bounded wait until the vhost worker has taken them all out of the tap
i=0
while [ $(($(tap_tx) - tx0)) -lt "$sent" ] && [ $i -lt 100 ]; do
	usleep 100000
	i=$((i + 1))
done
tx=$(tap_tx)
usleep 200000 # let vhost_drv's loop reap the last completions (it polls every 100 ms)
stop "$VD_PID" INT 10
vd_rc=$?
VD_PID=
stop "$FC_PID" INT 10
fc_rc=$?
FC_PID=

vd=$(json "$T/vd.json" summary)
fc=$(json "$T/fc.json" counts)
[ $vd_rc -eq 0 ] && [ -n "$vd" ] || bail "vhost_drv exited $vd_rc without a summary"
[ $fc_rc -eq 0 ] && [ -n "$fc" ] || bail "fcount exited $fc_rc without counts"
frames=$(echo "$vd" | jq -r .frames)
used=$(echo "$vd" | jq -r .used_entries)
calls=$(echo "$vd" | jq -r .call_signals)
c_tun=$(echo "$fc" | jq -r '.counts.tun_net_xmit')
c_vhost=$(echo "$fc" | jq -r '.counts.vhost_add_used_and_signal_n')
c_efd=$(echo "$fc" | jq -r --arg f "$esig" '.counts[$f]')
facts="sent=$sent tap_tx=$tx frames=$frames used=$used calls=$calls tun_net_xmit=$c_tun vhost_add_used_and_signal_n=$c_vhost $esig=$c_efd"
echo "  vhost: $facts"
echo "  vhost_drv: $vd"

if [ "$used" -lt "$sent" ] || [ "$frames" -lt "$sent" ]; then
	bail "used ring: $frames frames in $used entries for $sent frames sent ($facts)"
elif [ "$frames" -ne "$tx" ]; then
	# the kernel's own count of frames the tap gave its reader, since creation
	bail "vhost_drv got $frames frames, the tap handed over $tx ($facts)"
elif [ "$calls" -le 0 ]; then
	bail "no call-eventfd signal ($facts)"
elif [ "$c_tun" -lt "$sent" ]; then
	bail "fentry saw tun_net_xmit $c_tun times for $sent frames ($facts)"
elif [ "$c_vhost" -le 0 ]; then
	bail "fentry never saw vhost_add_used_and_signal_n ($facts)"
elif [ "$c_efd" -lt "$calls" ]; then
	# every signal the driver read off its call eventfds was one eventfd_signal
	bail "fentry saw $esig $c_efd times, fewer than the $calls call signals ($facts)"
fi
pass "$name"
ip netns del vh
rm -rf "$T"
