# Set "vhost": vhost-net driven from user space (vhost_drv) with a tap in a
# namespace as its backend. Frames the namespace stack sends into the tap
# must come back in vhost_drv's used ring with call-eventfd signals, and an
# fentry counter (fcount) must see the kernel path that did it:
# tun_net_xmit -> vhost handle_rx -> vhost_add_used_and_signal_n -> eventfd_signal.
# On 5.10 (no module BTF) fcount counts the module functions (tun_net_xmit,
# vhost_add_used_and_signal_n) with kprobes; the facts line names the hooks.
# The truth for "frames sent" is ping's own count of transmitted requests
# (to neighbours with permanent entries, so no ARP, and no IPv6 chatter).
# tests: vhost_net_delivers_tap_frames_and_signals_call_eventfd vhost_worker_thread_signals_the_call_eventfd fcount_pid_filter_counts_only_that_process vhost_drv_recycles_buffers_beyond_ring_size vhost_drv_and_fcount_reject_bad_input
# shellcheck shell=sh
. /vmtest/lib.sh
MAIN=vhost_net_delivers_tap_frames_and_signals_call_eventfd
PIDT=fcount_pid_filter_counts_only_that_process
BAD=vhost_drv_and_fcount_reject_bad_input
RECY=vhost_drv_recycles_buffers_beyond_ring_size
WORK=vhost_worker_thread_signals_the_call_eventfd
N=5 # frames from the main ping
NA=3 # frames from the second pinger, the one fcount --pid watches
FC_PID='' FA_PID='' FW_PID='' VD_PID='' A_PID=''

cleanup() {
	for p in $VD_PID $FA_PID $FW_PID $FC_PID $A_PID; do stop "$p" TERM 10; done
	ip netns del vh 2>/dev/null
	rm -rf "$T"
}

# bail WHY: setup failed; the traffic tests fail with the reason
bail() {
	fail "$MAIN" "$1"
	fail "$WORK" "$1"
	fail "$PIDT" "$1"
	fail "$RECY" "$1"
	show "$T/vd.err" 10
	show "$T/fc.err" 10
	show "$T/fa.err" 10
	show "$T/fw.err" 10
	cleanup
	exit 0
}

# bad_one RC TEXT CMD...: CMD exits RC, prints one stderr line containing
# TEXT and nothing on stdout (else bad_why says what it did)
bad_one() {
	want_rc=$1 want=$2
	shift 2
	"$@" >"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	if [ $rc -ne "$want_rc" ] || [ "$(wc -l <"$T/bad.err")" -ne 1 ] ||
		! grep -qF -- "$want" "$T/bad.err" || [ -s "$T/bad.out" ]; then
		bad_why="$*: want rc=$want_rc and one line with '$want'; got rc=$rc: $(head -c 200 "$T/bad.err")"
		return 1
	fi
}
bad_why=
if bad_one 2 "power of two" vhost_drv --ring 3 &&
	bad_one 2 "'nosuchns'" vhost_drv --netns nosuchns &&
	bad_one 2 "'-1'" vhost_drv --duration -1 &&
	bad_one 2 "at least one kernel function" fcount &&
	bad_one 2 "named twice" fcount tun_net_xmit tun_net_xmit &&
	bad_one 1 "'no_such_function_x'" fcount no_such_function_x; then
	pass "$BAD"
else
	fail "$BAD" "$bad_why"
fi

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
wait_ready "$T/fc.ready" "$FC_PID" 60 || bail "fcount never became ready: $(head -c 300 "$T/fc.err")"

# vhost_drv bounds itself too (--duration), in case this script dies
vhost_drv --netns vh --tap vtap0 --ready-file "$T/vd.ready" --duration 90 \
	>"$T/vd.json" 2>"$T/vd.err" &
VD_PID=$!
wait_ready "$T/vd.ready" "$VD_PID" 30 || bail "vhost_drv never became ready: $(head -c 300 "$T/vd.err")"

# SET_OWNER made the vhost worker: a kthread "vhost-<owner pid>" on 6.1 (its
# own tgid), a thread of the owner's process from 6.4 on (tgid = the owner).
# A third fcount watches only it: the signal must come from that thread,
# which is what lets a tracer follow tap dequeue -> used ring -> signal in
# one context.
wtgid=''
for d in /proc/[0-9]*; do
	[ "$(cat "$d/comm" 2>/dev/null)" = "vhost-$VD_PID" ] && wtgid=${d#/proc/} && break
done
for c in /proc/"$VD_PID"/task/*/comm; do
	[ -z "$wtgid" ] && [ "$(cat "$c" 2>/dev/null)" = "vhost-$VD_PID" ] && wtgid=$VD_PID
done
if [ -n "$wtgid" ]; then
	fcount --pid "$wtgid" --ready-file "$T/fw.ready" tun_net_xmit vhost_add_used_and_signal_n "$esig" \
		>"$T/fw.json" 2>"$T/fw.err" &
	FW_PID=$!
	wait_ready "$T/fw.ready" "$FW_PID" 60 || bail "fcount --pid (vhost worker) never became ready: $(head -c 300 "$T/fw.err")"
fi

# permanent neighbours: the stack sends echo requests straight into the tap
ip -n vh addr add 198.18.40.1/24 dev vtap0 &&
	ip -n vh link set vtap0 up &&
	ip -n vh neigh replace 198.18.40.2 lladdr 02:00:c6:12:28:02 dev vtap0 nud permanent &&
	ip -n vh neigh replace 198.18.40.3 lladdr 02:00:c6:12:28:03 dev vtap0 nud permanent ||
	bail "configuring vtap0 failed"

# pinger A waits for a go file, then becomes ping (same pid: sh execs it),
# so fcount --pid can be pointed at it before it sends anything
nsenter --net=/run/netns/vh sh -c \
	'i=0; while [ ! -e "$1" ] && [ $i -lt 600 ]; do usleep 50000; i=$((i+1)); done; exec "$2" -n -c "$3" -i 0.2 -W 1 198.18.40.3' \
	sh "$T/go" "$PING" "$NA" >"$T/pingA" 2>&1 &
A_PID=$!
fcount --pid "$A_PID" --ready-file "$T/fa.ready" tun_net_xmit >"$T/fa.json" 2>"$T/fa.err" &
FA_PID=$!
wait_ready "$T/fa.ready" "$FA_PID" 60 || bail "fcount --pid never became ready: $(head -c 300 "$T/fa.err")"

# tap_tx: frames the tap handed to its reader (tun counts them in tun_put_user)
tap_tx() { ip -n vh -s -j link show vtap0 | jq -r '.[0].stats64.tx.packets'; }
# nobody answers: ping sends its requests and gives up 1 s after the last
inns vh "$PING" -n -c $N -i 0.2 -W 1 198.18.40.2 >"$T/ping" 2>&1
touch "$T/go"
a_pid=$A_PID
stop "$A_PID" 0 15 # signal 0: only wait for it (bounded)
A_PID=
sent_main=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$T/ping")
sent_a=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$T/pingA")
[ "$sent_main" = "$N" ] || bail "ping sent [$sent_main] requests, wanted $N: $(tail -n 2 "$T/ping" | tr '\n' ' ')"
[ "$sent_a" = "$NA" ] || bail "pinger A sent [$sent_a] requests, wanted $NA: $(tail -n 2 "$T/pingA" | tr '\n' ' ')"
sent=$((sent_main + sent_a))
# bounded wait until the vhost worker has taken them all out of the tap
i=0
while [ "$(tap_tx)" -lt "$sent" ] && [ $i -lt 100 ]; do
	usleep 100000
	i=$((i + 1))
done
tx=$(tap_tx)
usleep 300000 # vhost_drv reaps at least every 100 ms
stop "$VD_PID" INT 10
vd_rc=$?
VD_PID=
stop "$FC_PID" INT 10
fc_rc=$?
FC_PID=
stop "$FA_PID" INT 10
fa_rc=$?
FA_PID=
fw_rc=1
if [ -n "$FW_PID" ]; then
	stop "$FW_PID" INT 10
	fw_rc=$?
	FW_PID=
fi

vd=$(json "$T/vd.json" summary)
fc=$(json "$T/fc.json" counts)
fa=$(json "$T/fa.json" counts)
[ $vd_rc -eq 0 ] && [ -n "$vd" ] || bail "vhost_drv exited $vd_rc without a summary"
[ $fc_rc -eq 0 ] && [ -n "$fc" ] || bail "fcount exited $fc_rc without counts"
frames=$(echo "$vd" | jq -r .frames)
used=$(echo "$vd" | jq -r .used_entries)
calls=$(echo "$vd" | jq -r .call_signals)
c_tun=$(echo "$fc" | jq -r '.counts.tun_net_xmit')
c_vhost=$(echo "$fc" | jq -r '.counts.vhost_add_used_and_signal_n')
c_efd=$(echo "$fc" | jq -r --arg f "$esig" '.counts[$f]')
hooks=$(json "$T/fc.json" ready | jq -r '.hooks // {} | to_entries | map("\(.key):\(.value)") | join(",")')
facts="sent=$sent tap_tx=$tx frames=$frames used=$used calls=$calls tun_net_xmit=$c_tun vhost_add_used_and_signal_n=$c_vhost $esig=$c_efd hooks=$hooks"
echo "  vhost: $facts"
echo "  vhost_drv: $vd"

if [ "$used" -lt "$sent" ] || [ "$frames" -lt "$sent" ]; then
	fail "$MAIN" "used ring: $frames frames in $used entries for $sent frames sent ($facts)"
elif [ "$frames" -ne "$tx" ]; then
	# the kernel's own count of frames the tap gave its reader
	fail "$MAIN" "vhost_drv got $frames frames, the tap handed over $tx ($facts)"
elif [ "$calls" -le 0 ]; then
	fail "$MAIN" "no call-eventfd signal ($facts)"
elif [ "$c_tun" -lt "$sent" ]; then
	fail "$MAIN" "fcount saw tun_net_xmit $c_tun times for $sent frames ($facts)"
elif [ "$c_vhost" -le 0 ]; then
	fail "$MAIN" "fcount never saw vhost_add_used_and_signal_n ($facts)"
elif [ "$c_efd" -lt "$calls" ]; then
	# every signal the driver read off its call eventfds was one eventfd_signal
	fail "$MAIN" "fcount saw $esig $c_efd times, fewer than the $calls call signals ($facts)"
else
	pass "$MAIN"
fi

# in the worker: every call signal the driver read, and no tap transmit
fw=$(json "$T/fw.json" counts)
w_tun=$(echo "$fw" | jq -r '.counts.tun_net_xmit' 2>/dev/null)
w_vhost=$(echo "$fw" | jq -r '.counts.vhost_add_used_and_signal_n' 2>/dev/null)
w_efd=$(echo "$fw" | jq -r --arg f "$esig" '.counts[$f]' 2>/dev/null)
if [ -z "$wtgid" ]; then
	fail "$WORK" "no vhost worker named vhost-$VD_PID (neither a process nor a thread of vhost_drv)"
elif [ $fw_rc -ne 0 ] || [ -z "$fw" ]; then
	fail "$WORK" "fcount --pid $wtgid exited $fw_rc without counts: $(head -c 200 "$T/fw.err")"
elif [ "$w_efd" != "$calls" ] || [ "$w_vhost" -le 0 ] || [ "$w_tun" != 0 ]; then
	fail "$WORK" "in vhost-$VD_PID (tgid $wtgid): $esig $w_efd (driver read $calls signals), vhost_add_used_and_signal_n $w_vhost (want > 0), tun_net_xmit $w_tun (want 0)"
else
	pass "$WORK"
fi

# pinger A's frames went through tun_net_xmit in its own context, the main
# ping's in another: the filtered count is exactly A's, the total is more
a_tun=$(echo "$fa" | jq -r '.counts.tun_net_xmit' 2>/dev/null)
a_tgid=$(echo "$fa" | jq -r '.tgid_filter' 2>/dev/null)
if [ $fa_rc -ne 0 ] || [ -z "$fa" ]; then
	fail "$PIDT" "fcount --pid exited $fa_rc without counts: $(head -c 200 "$T/fa.err")"
elif [ "$a_tgid" != "$a_pid" ]; then
	fail "$PIDT" "counts name tgid $a_tgid, not pinger A ($a_pid)"
elif [ "$a_tun" != "$sent_a" ] || [ "$c_tun" -lt $((sent_a + sent_main)) ]; then
	fail "$PIDT" "tun_net_xmit from pinger A: $a_tun, want exactly $sent_a; unfiltered $c_tun, want >= $((sent_a + sent_main))"
else
	pass "$PIDT"
fi

# a 16-descriptor ring and 100 frames: delivery goes on only if the driver
# hands every used buffer back (and kicks when vhost asks for it)
NR=100
vhost_drv --netns vh --tap vtap1 --ring 16 --ready-file "$T/vr.ready" --duration 60 \
	>"$T/vr.json" 2>"$T/vr.err" &
VD_PID=$!
if ! wait_ready "$T/vr.ready" "$VD_PID" 30; then
	fail "$RECY" "vhost_drv --ring 16 never became ready: $(head -c 300 "$T/vr.err")"
elif ! { ip -n vh addr add 198.18.41.1/24 dev vtap1 && ip -n vh link set vtap1 up &&
	ip -n vh neigh replace 198.18.41.2 lladdr 02:00:c6:12:29:02 dev vtap1 nud permanent; }; then
	fail "$RECY" "configuring vtap1 failed"
else
	inns vh "$PING" -n -q -c $NR -i 0.002 -W 1 198.18.41.2 >"$T/pingR" 2>&1
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$T/pingR")
	txr() { ip -n vh -s -j link show vtap1 | jq -r '.[0].stats64.tx.packets'; }
	i=0
	while [ "$(txr)" -lt "${sent:-0}" ] && [ $i -lt 100 ]; do
		usleep 100000
		i=$((i + 1))
	done
	tx=$(txr)
	usleep 300000
	stop "$VD_PID" INT 10
	VD_PID=
	vr=$(json "$T/vr.json" summary)
	frames=$(echo "$vr" | jq -r '.frames // 0' 2>/dev/null)
	calls=$(echo "$vr" | jq -r '.call_signals // 0' 2>/dev/null)
	echo "  vhost ring 16: sent=$sent tap_tx=$tx summary=$vr"
	if [ "$sent" != "$NR" ]; then
		fail "$RECY" "ping sent [$sent] of $NR: $(tail -n 2 "$T/pingR" | tr '\n' ' ')"
	elif [ "$frames" != "$NR" ] || [ "$tx" != "$NR" ]; then
		fail "$RECY" "vhost_drv got [$frames] frames, the tap handed over [$tx], ping sent $NR (ring of 16)"
	elif [ "$calls" -le 0 ]; then
		fail "$RECY" "no call-eventfd signal: $vr"
	else
		pass "$RECY"
	fi
fi
cleanup
