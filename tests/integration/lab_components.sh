#!/usr/bin/env bash
# The lab's two frame movers on their own, with real traffic between
# namespaces made here: vmm-sim (VM tap <-> host tap, a KVM irqfd written per
# batch toward the VM) and the wire relay (two taps, a programmed one-way
# delay). Independent truths: ping's own counts and RTTs, and the kernel's
# kvm:kvm_msi_set_irq events counted in a tracefs instance of our own.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
NS=$NETSEG_BIN/netseg
N=20
TESTS=(vmm_sim_carries_ping_both_ways vmm_sim_msi_irq_fires_in_to_vm_thread_per_echo
	vmm_sim_taps_vanish_on_sigterm vmm_sim_delay_to_vm_adds_to_rtt vmm_sim_no_kvm_says_kvm_stages_missing
	relay_delay_2000us_adds_4ms_rtt relay_wire_delay_matches_program_for_tracers
	lab_components_bad_input_exit_2 lab_components_not_root_exit_1
	lab_components_no_kvm_no_tun_exit_1)

skip_all() {
	for t in "${TESTS[@]}"; do skip "$t" "$1"; done
	exit 0
}
is_root || skip_all "needs root (namespaces, taps, KVM)"
"$NS" lab vmm-sim --help >/dev/null 2>&1 || skip_all "this netseg has no 'lab vmm-sim' subcommand"
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

# a tracefs instance of our own, removed on exit (before lib.sh's cleanup)
TRACEFS=
INSTANCE=
MOUNTED_TRACEFS=
# shellcheck disable=SC2317  # called by the EXIT trap
lab_cleanup() {
	if [ -n "$INSTANCE" ] && [ -d "$INSTANCE" ]; then
		echo 0 >"$INSTANCE/events/kvm/kvm_msi_set_irq/enable" 2>/dev/null
		rmdir "$INSTANCE" 2>/dev/null
	fi
	t_cleanup
	[ -n "$MOUNTED_TRACEFS" ] && umount "$MOUNTED_TRACEFS" 2>/dev/null
}
trap lab_cleanup EXIT

netns_add() {
	ip netns add "$T_PREFIX$1" && T_NETNS+=("$T_PREFIX$1") && ip -n "$T_PREFIX$1" link set lo up
}

# start_proc NAME ARGS...: netseg lab ARGS with --json --ready-file; sets PID
start_proc() {
	local name=$1
	shift
	rm -f "$T_TMP/$name.ready"
	t_bg "$T_TMP/$name.out" "$NS" lab "$@" --json --ready-file "$T_TMP/$name.ready"
	PID=$T_LAST_PID
	t_wait_file "$T_TMP/$name.ready" 10
}

# addr NS IF ADDR: address it and bring it up
addr() {
	ip -n "$(ns "$1")" addr add "$3/24" dev "$2" && ip -n "$(ns "$1")" link set "$2" up
}

summary() { jq -c 'select(.type=="summary")' "$T_TMP/$1.out"; }

# avg RTT in ms from ping's last line
ping_avg() { sed -n 's|^rtt .* = [0-9.]*/\([0-9.]*\)/.*|\1|p' "$1"; }

if ! { netns_add vm && netns_add host && netns_add a && netns_add b; }; then
	fail lab_components_setup "cannot create namespaces"
	exit 1
fi

# ---- vmm-sim: ping through it, with the KVM MSI counted by the kernel -------
have_kvm=0
[ -c /dev/kvm ] && have_kvm=1
kvm_flag=()
[ $have_kvm = 1 ] || kvm_flag=(--no-kvm)
if ! start_proc vmm vmm-sim --vm-netns "$(ns vm)" --vm-if eth0 --host-netns "/run/netns/$(ns host)" \
	--host-if vnet0 "${kvm_flag[@]}"; then
	fail vmm_sim_carries_ping_both_ways "no ready file in 10 s: $(head -c 300 "$T_TMP/vmm.out.err")"
	exit 1
fi
vmm_pid=$PID
ready=$(cat "$T_TMP/vmm.ready")
tid_vm=$(jq -r .tid_to_vm <<<"$ready")
tid_host=$(jq -r .tid_to_host <<<"$ready")
addr vm eth0 198.18.50.1 && addr host vnet0 198.18.50.2

if [ $have_kvm = 1 ]; then
	TRACEFS=/sys/kernel/tracing
	if [ ! -d $TRACEFS/instances ]; then
		mount -t tracefs nodev $TRACEFS 2>/dev/null && MOUNTED_TRACEFS=$TRACEFS
	fi
	if [ -d $TRACEFS/events/kvm/kvm_msi_set_irq ]; then
		INSTANCE=$TRACEFS/instances/netseg-$T_PREFIX-lab
		mkdir "$INSTANCE" &&
			echo "common_pid == $tid_vm || common_pid == $tid_host" \
				>"$INSTANCE/events/kvm/kvm_msi_set_irq/filter" &&
			echo 1 >"$INSTANCE/events/kvm/kvm_msi_set_irq/enable" || INSTANCE=
	fi
fi
# the host pings the VM: every request goes host -> VM (an interrupt each)
ip netns exec "$(ns host)" ping -n -c $N -i 0.05 -W 2 198.18.50.1 >"$T_TMP/vmm.ping" 2>&1
[ -n "$INSTANCE" ] && echo 0 >"$INSTANCE/events/kvm/kvm_msi_set_irq/enable"
t_stop "$vmm_pid" TERM
vmm_rc=$?
sum=$(summary vmm)
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T_TMP/vmm.ping")
to_vm=$(jq -r '.to_vm.frames // 0' <<<"$sum")
to_host=$(jq -r '.to_host.frames // 0' <<<"$sum")
signals=$(jq -r '.irq_signals // 0' <<<"$sum")
if [ "${received:-0}" != $N ]; then
	fail vmm_sim_carries_ping_both_ways "ping got ${received:-0}/$N replies: $(tail -n 2 "$T_TMP/vmm.ping" | tr '\n' ' ')"
elif [ $vmm_rc != 0 ] || [ -z "$sum" ]; then
	fail vmm_sim_carries_ping_both_ways "SIGTERM: exit $vmm_rc, summary [$sum]"
elif [ "$to_vm" -lt $N ] || [ "$to_host" -lt $N ]; then
	fail vmm_sim_carries_ping_both_ways "stats count $to_vm frames to the VM, $to_host to the host; ping moved $N each way"
else
	pass "vmm_sim_carries_ping_both_ways: frames to_vm=$to_vm to_host=$to_host irq_signals=$signals"
fi

if [ $have_kvm = 0 ]; then
	skip vmm_sim_msi_irq_fires_in_to_vm_thread_per_echo "no /dev/kvm"
elif [ -z "$INSTANCE" ]; then
	skip vmm_sim_msi_irq_fires_in_to_vm_thread_per_echo "no tracefs instance with kvm/kvm_msi_set_irq"
else
	ev_vm=$(grep -c -- "-$tid_vm *\[" "$INSTANCE/trace")
	ev_host=$(grep -c -- "-$tid_host *\[" "$INSTANCE/trace")
	rmdir "$INSTANCE" && INSTANCE=
	# tracing stops before vmm-sim does: a frame in between (an ARP) is a
	# signal without a recorded event, never the other way round
	if [ "$ev_vm" -ge "${received:-0}" ] && [ "$ev_vm" -ge $N ] && [ "$ev_host" = 0 ] &&
		[ "$ev_vm" -le "$signals" ]; then
		pass "vmm_sim_msi_irq_fires_in_to_vm_thread_per_echo: $ev_vm events in tid $tid_vm for $received echoes, $signals signals"
	else
		fail vmm_sim_msi_irq_fires_in_to_vm_thread_per_echo "kvm_msi_set_irq: $ev_vm in the to_vm thread ($tid_vm), $ev_host in to_host ($tid_host); want >= $received echoes, <= $signals signals, 0 in to_host"
	fi
fi

# not persistent: the taps left with the process
if ip -n "$(ns vm)" link show eth0 >/dev/null 2>&1 || ip -n "$(ns host)" link show vnet0 >/dev/null 2>&1; then
	fail vmm_sim_taps_vanish_on_sigterm "eth0 or vnet0 still exists after vmm-sim exited"
else
	pass vmm_sim_taps_vanish_on_sigterm
fi

# ---- vmm-sim with a programmed delay toward the VM -------------------------
# Two CPUs shared with whatever else runs: one burst of scheduling noise can
# move an average of 20 pings, so a miss is measured once more (and said).
vmm_delay_try() {
	start_proc vmmd vmm-sim --vm-netns "$(ns vm)" --host-netns "$(ns host)" --delay-us-to-vm 1000 \
		"${kvm_flag[@]}" || { t_stop "$PID" TERM; return 1; }
	addr vm eth0 198.18.50.1 && addr host vnet0 198.18.50.2
	ip netns exec "$(ns host)" ping -n -c 2 -i 0.05 -W 2 198.18.50.1 >/dev/null 2>&1
	ip netns exec "$(ns host)" ping -n -c $N -i 0.05 -W 2 198.18.50.1 >"$T_TMP/vmmd.ping" 2>&1
	t_stop "$PID" TERM
	avg=$(ping_avg "$T_TMP/vmmd.ping")
	p50=$(summary vmmd | jq -r '.to_vm.error.p50_ns // empty')
	p99=$(summary vmmd | jq -r '.to_vm.error.p99_ns // empty')
	# the delay once, plus the undelayed rest of the round trip: that rest
	# was 0.3-0.5 ms here and went past 0.5 ms on a busy machine (1.508,
	# 1.512 ms); twice the delay would be past 2 ms
	[ -n "$avg" ] && [ -n "$p50" ] && awk -v a="$avg" 'BEGIN { exit !(a >= 1.0 && a < 1.8) }'
}
name=vmm_sim_delay_to_vm_adds_to_rtt
again=
ok=0
if vmm_delay_try; then
	ok=1
else
	again=" (second try; the first gave avg '$avg' ms)"
	vmm_delay_try && ok=1
fi
if [ $ok = 1 ]; then
	pass "$name: avg rtt $avg ms with 1000 us toward the VM$again; achieved-programmed p50/p99 $(awk -v a="$p50" -v b="$p99" 'BEGIN { printf "%.1f/%.1f us", a / 1e3, b / 1e3 }')"
else
	fail $name "avg rtt '${avg}' ms (want 1.0-1.8 with 1000 us toward the VM)$again, error p50 '$p50' ns: $(head -c 200 "$T_TMP/vmmd.out.err")"
fi

# ---- vmm-sim --no-kvm ------------------------------------------------------
if start_proc nokvm vmm-sim --vm-netns "$(ns vm)" --host-netns "$(ns host)" --no-kvm; then
	addr vm eth0 198.18.50.1 && addr host vnet0 198.18.50.2
	ip netns exec "$(ns host)" ping -n -c 3 -i 0.05 -W 2 198.18.50.1 >"$T_TMP/nokvm.ping" 2>&1
	t_stop "$PID" TERM
	kvm=$(jq -r .kvm "$T_TMP/nokvm.ready")
	if [ "$kvm" = false ] && grep -q "KVM stages.*missing" "$T_TMP/nokvm.out.err" &&
		jq -e '.missing | test("kvm")' "$T_TMP/nokvm.ready" >/dev/null && grep -q " 3 received" "$T_TMP/nokvm.ping"; then
		pass vmm_sim_no_kvm_says_kvm_stages_missing
	else
		fail vmm_sim_no_kvm_says_kvm_stages_missing "ready kvm=$kvm, stderr [$(head -c 200 "$T_TMP/nokvm.out.err")], ping: $(tail -n 2 "$T_TMP/nokvm.ping" | head -1)"
	fi
else
	fail vmm_sim_no_kvm_says_kvm_stages_missing "no ready file: $(head -c 300 "$T_TMP/nokvm.out.err")"
	t_stop "$PID" TERM
fi

# ---- relay: 2000 us each way adds 4 ms to ping's RTT ------------------------
# relay_run NAME DELAY [watch]: ping a -> b through a relay; leaves
# NAME.ping/out, and with "watch" NAME.pw: pktwatch in every namespace
relay_run() {
	start_proc "$1" relay --a-netns "$(ns a)" --a-if phy0 --b-netns "$(ns b)" --b-if phy0 --delay-us "$2" ||
		{ t_stop "$PID" TERM; return 1; }
	local relay_pid=$PID pw_pid=
	addr a phy0 198.18.51.1 && addr b phy0 198.18.51.2
	# ARP first, so the 20 measured echoes each cross the relay twice, nothing more
	ip netns exec "$(ns a)" ping -n -c 2 -i 0.05 -W 2 198.18.51.2 >/dev/null 2>&1
	if [ "${3:-}" = watch ] && [ -x "$NETSEG_BIN/pktwatch" ]; then
		t_bg "$T_TMP/$1.pw" "$NETSEG_BIN/pktwatch" --netns all --host 198.18.51.2 -j \
			--ready-file "$T_TMP/$1.pw.ready"
		pw_pid=$T_LAST_PID
		t_wait_file "$T_TMP/$1.pw.ready" 10 || { t_stop "$pw_pid" INT; pw_pid=; rm -f "$T_TMP/$1.pw"; }
	fi
	ip netns exec "$(ns a)" ping -n -c $N -i 0.05 -W 2 198.18.51.2 >"$T_TMP/$1.ping" 2>&1
	[ -n "$pw_pid" ] && t_stop "$pw_pid" INT
	t_stop "$relay_pid" TERM
}
relay_err() { # NAME DIR: "p50/p99/max us" of achieved - programmed, then of write start - due
	summary "$1" | jq -r --arg d "$2" '.[$d] | [.error, .late] |
		map("\(.p50_ns/1e3|.*10|round/10)/\(.p99_ns/1e3|.*10|round/10)/\(.max_ns/1e3|.*10|round/10)") |
		"\(.[0]) (late \(.[1]))"'
}
# wire_delay NAME DIR: median one-way delay in us that pktwatch saw for DIR
# (a_to_b: echo requests, b_to_a: replies), net_dev_start_xmit on phy0 in one
# namespace to netif_receive_skb on phy0 in the other
wire_delay() {
	local ina inb
	ina=$(stat -L -c %i "/run/netns/$(ns a)")
	inb=$(stat -L -c %i "/run/netns/$(ns b)")
	jq -r --argjson a "$ina" --argjson b "$inb" --arg d "$2" '
		select(.type=="pkt" and .ifname=="phy0" and
			.icmp_type==(if $d=="a_to_b" then 8 else 0 end)) |
		"\(.seq) \(.stage) \(if .netns==$a then "a" else if .netns==$b then "b" else "?" end end) \(.ts_ns)"' "$T_TMP/$1.pw" |
		awk -v d="$2" '{ k = $1; if ($2 == "xmit" && $3 == substr(d, 1, 1)) x[k] = $4
			if ($2 == "recv" && $3 == substr(d, 6, 1)) r[k] = $4 }
			END { for (k in x) if (k in r) print (r[k] - x[k]) / 1000 }' |
		sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.1f %d", v[int((NR + 1) / 2)], NR }'
}
relay_try() {
	relay_run relay0 0 && relay_run relay2000 2000 watch || return 2
	avg0=$(ping_avg "$T_TMP/relay0.ping")
	avg2=$(ping_avg "$T_TMP/relay2000.ping")
	info="rtt $avg0 -> $avg2 ms; relay achieved-programmed p50/p99/max us: a_to_b $(relay_err relay2000 a_to_b), b_to_a $(relay_err relay2000 b_to_a)"
	echo "relay: $info"
	[ -n "$avg0" ] && [ -n "$avg2" ] &&
		awk -v a="$avg0" -v b="$avg2" 'BEGIN { d = b - a; exit !(d >= 3.6 && d <= 4.4) }'
}
name=relay_delay_2000us_adds_4ms_rtt
again=
relay_try
rc=$?
if [ $rc = 1 ]; then
	again=" (second try; the first gave $avg0 -> $avg2 ms)"
	relay_try
	rc=$?
fi
case $rc in
0) pass "$name: $info$again" ;;
1) fail $name "want +4 ms +-10 %: $info$again" ;;
*) fail $name "relay did not start: $(cat "$T_TMP"/relay*.out.err | head -c 300)" ;;
esac

# the wire as a tracer sees it: the relay's 2000 us, plus at most 50 us
# (median of the 20 echoes, each direction), measured by pktwatch
name=relay_wire_delay_matches_program_for_tracers
if [ $rc = 2 ]; then
	fail $name "relay did not start"
elif [ ! -s "$T_TMP/relay2000.pw" ]; then
	skip $name "pktwatch did not run: $(head -c 200 "$T_TMP/relay2000.pw.err" 2>/dev/null)"
else
	read -r ab nab <<<"$(wire_delay relay2000 a_to_b)"
	read -r ba nba <<<"$(wire_delay relay2000 b_to_a)"
	if [ "${nab:-0}" -ge $N ] && [ "${nba:-0}" -ge $N ] &&
		awk -v a="$ab" -v b="$ba" 'BEGIN { exit !(a >= 2000 && a <= 2050 && b >= 2000 && b <= 2050) }'; then
		pass "$name: median one-way a_to_b $ab us, b_to_a $ba us for 2000 programmed"
	else
		fail $name "want 2000-2050 us: a_to_b '${ab:-}' us over ${nab:-0} echoes, b_to_a '${ba:-}' us over ${nba:-0}"
	fi
fi

# ---- bad input: one line, exit 2; not root: one line, exit 1 ---------------
bad_cases=(
	"vmm-sim --vm-netns $T_PREFIX-missing --host-netns $(ns host)"
	"vmm-sim --vm-netns $(ns vm) --host-netns $(ns host) --delay-us-to-vm 12ms"
	"vmm-sim --vm-netns $(ns vm)"
	"relay --a-netns $(ns a) --b-netns /nonexistent/$T_PREFIX --delay-us 100"
	"relay --a-netns $(ns a) --b-netns $(ns b) --delay-us abc"
	"relay --a-netns $(ns a) --b-netns $(ns b) --delay-us 100,x"
)
bad=
for c in "${bad_cases[@]}"; do
	# shellcheck disable=SC2086
	"$NS" lab $c >"$T_TMP/bad.out" 2>"$T_TMP/bad.err"
	rc=$?
	lines=$(wc -l <"$T_TMP/bad.err")
	if [ $rc != 2 ] || [ "$lines" != 1 ] || [ -s "$T_TMP/bad.out" ]; then
		bad+="[$c]: rc=$rc, $lines lines: $(head -c 160 "$T_TMP/bad.err" | tr '\n' ' ') "
	fi
done
if [ -z "$bad" ]; then pass lab_components_bad_input_exit_2; else fail lab_components_bad_input_exit_2 "$bad"; fi

if command -v setpriv >/dev/null; then
	setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all \
		"$NS" lab relay --a-netns "$(ns a)" --b-netns "$(ns b)" >"$T_TMP/nr.out" 2>"$T_TMP/nr.err"
	rc=$?
	if [ $rc = 1 ] && [ "$(wc -l <"$T_TMP/nr.err")" = 1 ] && grep -q "needs root" "$T_TMP/nr.err" &&
		! ip -n "$(ns a)" link show phy0 >/dev/null 2>&1; then
		pass lab_components_not_root_exit_1
	else
		fail lab_components_not_root_exit_1 "rc=$rc: $(head -c 200 "$T_TMP/nr.err")"
	fi
else
	skip lab_components_not_root_exit_1 "no setpriv"
fi
# no /dev/kvm, then no /dev/net/tun: a private /dev in a mount namespace of
# our own; one line each, exit 1, nothing created
if command -v unshare >/dev/null; then
	# shellcheck disable=SC2016
	unshare -m sh -c 'mount -t tmpfs none /dev && mkdir /dev/net && mknod /dev/net/tun c 10 200 &&
		mknod /dev/null c 1 3 || exit 99
		"$1" lab vmm-sim --vm-netns "$2" --host-netns "$3" 2>"$4/nokvm.err"; echo "kvm=$?"
		rm /dev/net/tun
		"$1" lab relay --a-netns "$2" --b-netns "$3" 2>"$4/notun.err"; echo "tun=$?"' \
		sh "$NS" "$(ns vm)" "$(ns host)" "$T_TMP" >"$T_TMP/nodev.out" 2>&1
	got=$(tr '\n' ' ' <"$T_TMP/nodev.out")
	if [ "$got" = "kvm=1 tun=1 " ] && [ "$(wc -l <"$T_TMP/nokvm.err")" = 1 ] &&
		[ "$(wc -l <"$T_TMP/notun.err")" = 1 ] && grep -q "/dev/kvm" "$T_TMP/nokvm.err" &&
		grep -q -- "--no-kvm" "$T_TMP/nokvm.err" && grep -q "/dev/net/tun" "$T_TMP/notun.err" &&
		! ip -n "$(ns vm)" link show eth0 >/dev/null 2>&1; then
		pass lab_components_no_kvm_no_tun_exit_1
	else
		fail lab_components_no_kvm_no_tun_exit_1 "got [$got]: $(cat "$T_TMP/nokvm.err" "$T_TMP/notun.err" 2>/dev/null | head -c 300)"
	fi
else
	skip lab_components_no_kvm_no_tun_exit_1 "no unshare"
fi

[ -n "${LAB_KEEP:-}" ] && cp -r "$T_TMP" /tmp/labwork/last
exit 0
