#!/usr/bin/env bash
# netseg lab: VM-S pings VM-R across two hosts built from real devices; the
# KVM interrupt toward each VM really fires, from its vmm-sim; a programmed
# wire delay shows up in ping's own RTT; down leaves nothing behind.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
NS=$NETSEG_BIN/netseg
A="la$$"      # plain lab
B="lb$$"      # lab with a 2 ms wire delay each way
Z="lz$$"      # lab whose wire is the relay with no delay: B's baseline

if ! is_root; then
	skip lab_up_ping_down "needs root (namespaces, taps, KVM)"
	exit 0
fi
decoy_cleanup() {
	ip netns del "${A}q-svm" 2>/dev/null
	t_cleanup
}
trap decoy_cleanup EXIT
up() { t_lab_up "$@"; }

# ping_avg PREFIX: ping's own average RTT in microseconds over 20 echoes
ping_avg() {
	"$NS" lab exec vm-s --prefix "$1" -- ping -n -q -c 20 -i 0.05 -W 2 198.18.0.2 >"$T_TMP/$1.ping" 2>&1 || return 1
	awk -F'/' '/^rtt/ {printf "%d\n", $5 * 1000}' "$T_TMP/$1.ping"
}

vmm_pid() { # vmm_pid PREFIX vmm-s|vmm-r
	awk -v n="$2" '$1 == n {print $2}' "/run/netseg/lab-$1/state"
}

if ! up "$A"; then
	fail lab_up "netseg lab up failed: $(head -c 400 "$T_TMP/$A.uperr")"
	exit 1
fi
pass lab_up
check lab_up_prints_environment_file "env file lacks the VMs" \
	grep -q "netns: $A-svm" "$T_TMP/$A.env"
check lab_env_matches_up "lab env differs from what up printed" \
	test "$("$NS" lab env --prefix "$A")" = "$(cat "$T_TMP/$A.env")"
"$NS" lab status --prefix "$A" >"$T_TMP/status" 2>&1
check lab_status_healthy "status: $(tail -n 1 "$T_TMP/status")" grep -q '^healthy' "$T_TMP/status"

# the KVM interrupt toward each VM, counted by the kernel's own tracepoint
tracefs=/sys/kernel/tracing
[ -d $tracefs/events ] || mount -t tracefs nodev $tracefs 2>/dev/null
inst=$tracefs/instances/netseg_lab_$$
have_trace=0
if [ -w /dev/kvm ] && [ -d $tracefs/events/kvm/kvm_msi_set_irq ] && mkdir "$inst" 2>/dev/null; then
	have_trace=1
	echo 1 >"$inst/events/kvm/kvm_msi_set_irq/enable"
fi

avg_a=$(ping_avg "$A")
received=$(grep -o '[0-9]* received' "$T_TMP/$A.ping" | cut -d' ' -f1)
check lab_vm_s_pings_vm_r "ping: $(tail -n 2 "$T_TMP/$A.ping" | tr '\n' ' ')" test "${received:-0}" -eq 20

if [ $have_trace -eq 1 ]; then
	echo 0 >"$inst/events/kvm/kvm_msi_set_irq/enable"
	cat "$inst/trace" >"$T_TMP/kvm.trace"
	rmdir "$inst"
	for vmm in vmm-s vmm-r; do
		pid=$(vmm_pid "$A" $vmm)
		tids=$(ls /proc/"$pid"/task 2>/dev/null | tr '\n' '|')
		n=$(grep kvm_msi_set_irq "$T_TMP/kvm.trace" | awk -v tids="|$tids" '{
			split($1, a, "-"); tid = a[length(a)]; if (index(tids, "|" tid "|")) c++ } END {print c+0}')
		check "lab_kvm_msi_irq_fires_from_${vmm}_per_echo" "$n kvm_msi_set_irq events from $vmm (pid $pid), want >= 20" \
			test "$n" -ge 20
	done
elif [ ! -w /dev/kvm ]; then
	skip lab_kvm_msi_irq_fires_per_echo "/dev/kvm is not usable here"
else
	fail lab_kvm_msi_irq_fires_per_echo "cannot create a tracefs instance for kvm:kvm_msi_set_irq"
fi

# a second lab with a 2 ms wire each way, side by side with the first; its
# baseline is a relay holding frames for 0 us, so that what the relay
# itself costs (reading, writing, waking) cancels out
if up "$B" --wire-delay-us 2000 && up "$Z" --wire-delay-us 0; then
	avg_b=$(ping_avg "$B")
	avg_z=$(ping_avg "$Z")
	avg_b2=$(ping_avg "$B")
	avg_z2=$(ping_avg "$Z")
	delayed=$(((avg_b + avg_b2) / 2))
	base=$(((avg_z + avg_z2) / 2))
	rise=$((delayed - base))
	check lab_two_prefixes_coexist "second lab's ping failed" grep -q ' 0% packet loss' "$T_TMP/$B.ping"
	check lab_wire_delay_2000us_adds_4ms_rtt "RTT rose by $rise us (delayed $delayed, relay without delay $base), want 4000 +- 400" \
		test "$rise" -ge 3600 -a "$rise" -le 4400
	echo "    wire delay: relay at 0 us avg ${base} us, at 2000 us avg ${delayed} us, rise ${rise} us; plain veth avg ${avg_a} us"
else
	fail lab_two_prefixes_coexist "second lab up failed: $(head -c 300 "$T_TMP/$B.uperr" "$T_TMP/$Z.uperr")"
fi

# down removes exactly its own names, and its processes
ip netns add "${A}q-svm"   # a decoy that shares the first letters of the prefix
pids="$(vmm_pid "$A" vmm-s) $(vmm_pid "$A" vmm-r)"
"$NS" lab down --prefix "$A" >/dev/null
left_ns=$(ip netns list | awk '{print $1}' | grep -c "^$A-")
left_proc=0
# a zombie whose parent is gone may linger until init reaps it: not running
for p in $pids; do
	st=$(awk '{print $3}' /proc/"$p"/stat 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ] && left_proc=$((left_proc + 1))
done
check lab_down_removes_namespaces "$left_ns namespaces left" test "$left_ns" -eq 0
check lab_down_stops_its_processes "$left_proc processes left" test "$left_proc" -eq 0
check lab_down_leaves_other_names_alone "decoy ${A}q-svm was removed" test -e "/run/netns/${A}q-svm"
check lab_down_removes_state "state dir left" test ! -e "/run/netseg/lab-$A"
check lab_other_lab_still_works_after_down "lab $B broke when $A went down" \
	quiet "$NS" lab exec vm-s --prefix "$B" -- ping -n -q -c 2 -i 0.1 -W 2 198.18.0.2

# a crashed vmm-sim: status says so, down still cleans up
pid=$(vmm_pid "$B" vmm-r)
kill -KILL "$pid"
sleep 0.2
"$NS" lab status --prefix "$B" >"$T_TMP/status2" 2>&1
rc=$?
check lab_status_reports_dead_vmm "status rc=$rc: $(tail -n 1 "$T_TMP/status2")" test $rc -eq 1
"$NS" lab down --prefix "$B" >/dev/null
check lab_down_after_crash_leaves_nothing "namespaces left" test "$(ip netns list | grep -c "^$B-")" -eq 0

# an `up` that died halfway left two namespaces and no state: down removes them
ip netns add "$A-svm"
ip netns add "$A-shost"
"$NS" lab down --prefix "$A" >/dev/null
check lab_down_after_half_up "namespaces left" test "$(ip netns list | grep -c "^$A-")" -eq 0

# refusals
up "$A" && up "$A"
rc=$?
check lab_up_twice_refused "second up exited $rc" test $rc -eq 1 -a "$(wc -l <"$T_TMP/$A.uperr")" -eq 1
"$NS" lab down --prefix "$A" >/dev/null
"$NS" lab up --prefix "bad-prefix" >/dev/null 2>"$T_TMP/bp.err"
rc=$?
check lab_bad_prefix_exit_2 "rc=$rc" test $rc -eq 2 -a "$(wc -l <"$T_TMP/bp.err")" -eq 1
"$NS" lab exec nobody -- true 2>/dev/null
rc=$?
check lab_unknown_role_exit_2 "rc=$rc" test $rc -eq 2
"$NS" lab up --prefix "$A" --wire-delay-us 5,x >/dev/null 2>"$T_TMP/wd.err"
rc=$?
check lab_bad_delay_exit_2 "rc=$rc" test $rc -eq 2 -a "$(wc -l <"$T_TMP/wd.err")" -eq 1
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$NS" lab up --prefix np >/dev/null 2>"$T_TMP/np.err"
	rc=$?
	check lab_non_root_one_line_exit_1 "rc=$rc: $(cat "$T_TMP/np.err")" \
		test $rc -eq 1 -a "$(wc -l <"$T_TMP/np.err")" -eq 1
fi
