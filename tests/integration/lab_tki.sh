#!/usr/bin/env bash
# tun_tx_to_kvm_irq on the lab's hosts, in the role it was made for: on HR
# for the requests toward VM-R (segment E), on HS for the replies toward
# VM-S (L). This kernel has only tracepoints, so chains link through the
# vmm-sim thread that reads the tap and writes the KVM irqfd ("thread").
# Truths: ping's own echoes and RTTs, the GSI and vector vmm-sim programs,
# vmm-sim's pids, a delay vmm-sim is told to add, the taps' own counters.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
NS=$NETSEG_BIN/netseg
TKI=$NETSEG_BIN/tun_tx_to_kvm_irq
A="ta$$"     # plain lab
B="tb$$"     # a second plain lab: another VM with the same GSI
D="td$$"     # vmm-sims add DELAY_US toward each VM
E="te$$"     # vmm-sims add 1 us: the same timed, real-time pump as D, as the baseline
DELAY_US=500
GSI=24       # vmm-sim's MSI route (tools/lab/lab_vmm.c)
VECTOR=65    # its MSI data 0x4041

if ! is_root; then
	skip lab_tki "needs root"
	exit 0
fi
if [ ! -w /dev/kvm ]; then
	skip lab_tki "needs /dev/kvm: the lab's vmm-sims own the KVM irqfds the chains end in"
	exit 0
fi
up() { t_lab_up "$@" || { fail "lab_tki_up_$1" "$(head -c 300 "$T_TMP/$1.uperr")"; return 1; }; }
# tki NAME PREFIX ROLE ARGS...: the tracer in a role's namespace, JSON
tki() {
	local name=$1 p=$2 role=$3
	shift 3
	t_bg "$T_TMP/$name.json" "$NS" lab exec "$role" --prefix "$p" -- "$TKI" -j \
		--ready-file "$T_TMP/$name.ready" "$@"
	eval "pid_$name=$T_LAST_PID"
	t_wait_file "$T_TMP/$name.ready" 10 || { fail "lab_tki_$name" "never ready: $(head -c 300 "$T_TMP/$name.json.err")"; return 1; }
}
chains() { jq -c 'select(.type=="chain")' "$T_TMP/$1.json"; }
median() { jq -r "select(.type==\"chain\" and .complete) | .$2" "$T_TMP/$1.json" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
vmm_pid() { "$NS" lab status --prefix "$1" --json | jq -r ".processes[] | select(.name==\"$2\") | .pid"; }
ping_seqs() { sed -n 's/.*icmp_seq=\([0-9]*\) .*/\1/p' "$1" | sort -n | tr '\n' ' '; }

# ---- 50 pings: the requests on HR, the replies on HS -----------------------
up "$A" || exit 0
tki hr "$A" hr -d vnet0 --protocol icmp || exit 0
tki hs "$A" hs --vm-interface vnet0 --direction rx --protocol icmp || exit 0
"$NS" lab exec vm-s --prefix "$A" -- ping -U -n -c 50 -i 0.02 198.18.0.2 >"$T_TMP/a.ping" 2>&1
t_tracer_stop hr
t_tracer_stop hs
seqs=$(ping_seqs "$T_TMP/a.ping")
for side in hr:8:vmm-r hs:0:vmm-s; do
	IFS=: read -r name type vmm <<<"$side"
	got=$(chains "$name" | jq -r "select(.complete and .icmp_type==$type) | .seq" | sort -n | tr '\n' ' ')
	check "lab_tki_${name}_complete_chains_are_the_50_pings" "type $type seqs [$got], ping got [$seqs]" \
		test "$got" = "$seqs" -a -n "$got"
	other=$(chains "$name" | jq -r "select(.complete | not) or .icmp_type != $type" | grep -c true)
	check "lab_tki_${name}_nothing_else_reported" "$other chains partial or of another type" test "$other" -eq 0
	pid=$(vmm_pid "$A" "$vmm")
	bad=$(chains "$name" | jq -r --argjson pid "$pid" --argjson gsi $GSI --argjson vec $VECTOR \
		'select(.linking != "thread" or .gsi != $gsi or .vector != $vec
		        or ([.stages[].name] != ["tun_xmit","dequeue","eventfd","kvm_inject"])
		        or (.stages[-1].hook != "kvm_msi_set_irq")
		        or ([.stages[1:][].pid] | unique) != [$pid]) | .seq' | wc -l)
	check "lab_tki_${name}_thread_linked_to_its_vmm_with_its_gsi" \
		"$bad chains not tun_xmit->dequeue->eventfd->kvm_msi_set_irq in $vmm (pid $pid) with GSI $GSI vector $VECTOR" \
		test "$bad" -eq 0
	unordered=$(chains "$name" | jq 'select([.stages[].ts_ns] != ([.stages[].ts_ns] | sort)) | .seq' | wc -l)
	check "lab_tki_${name}_stages_in_time_order_and_add_up" "$unordered chains out of order" \
		test "$unordered" -eq 0 -a "$(chains "$name" | jq 'select(.dequeue_ns + .eventfd_ns + .kvm_inject_ns != .total_ns)' | wc -l)" -eq 0
done
# the tap -> interrupt part of a request lies inside ping's round trip
over=0
while read -r seq t; do
	total=$(chains hr | jq -r "select(.seq==$seq) | .total_ns")
	[ -n "$total" ] && [ "$total" -gt "$(awk -v t="$t" 'BEGIN {printf "%d", t * 1000000}')" ] && over=$((over + 1))
done < <(sed -n 's/.*icmp_seq=\([0-9]*\) .*time=\([0-9.]*\) ms/\1 \2/p' "$T_TMP/a.ping")
check lab_tki_total_inside_pings_rtt "$over chains longer than ping's RTT" test "$over" -eq 0
check lab_tki_summary_accounts_every_chain \
	"summary $(jq -c 'select(.type=="summary") | [.chains_started, .chains_completed, .chains_partial, .chains_dropped, .lost]' "$T_TMP/hr.json")" \
	test "$(t_summary hr '[.chains_started, .chains_completed, .chains_partial, .chains_dropped, .chains_in_flight, .lost] | map(tostring) | join(" ")')" = "50 50 0 0 0 0"

# ---- the packet filters: UDP to one port among others ----------------------
tki udp "$A" hr -d vnet0 --protocol udp --dst-port 9001 --src-ip 198.18.0.1 || exit 0
tki nomatch "$A" hr -d vnet0 --src-ip 198.18.0.9 || exit 0
"$NS" lab exec vm-s --prefix "$A" -- bash -c \
	'for i in $(seq 30); do echo a >/dev/udp/198.18.0.2/9001; echo b >/dev/udp/198.18.0.2/9002; done'
sleep 0.3 # the last datagrams reach VM-R's vmm
t_tracer_stop udp
t_tracer_stop nomatch
got=$(chains udp | jq -r 'select(.complete and .proto==17 and .dport==9001 and .src=="198.18.0.1") | .sport' | wc -l)
check lab_tki_filter_udp_port_gives_those_datagrams "$got complete chains to port 9001 of 30 sent (30 more to 9002), $(chains udp | wc -l) chains in all" \
	test "$got" -eq 30 -a "$(chains udp | wc -l)" -eq 30
check lab_tki_filter_other_source_gives_nothing "$(chains nomatch | wc -l) chains, $(t_summary nomatch .packets_filtered_out) filtered out" \
	test "$(chains nomatch | wc -l)" -eq 0 -a "$(t_summary nomatch .packets_filtered_out)" -ge 60

# ---- two VMs, both on GSI 24: one tracer over every namespace ---------------
up "$B" || exit 0
t_bg "$T_TMP/two.json" "$TKI" -j --netns all --protocol icmp --dst-ip 198.18.0.2 --ready-file "$T_TMP/two.ready"
pid_two=$T_LAST_PID
t_wait_file "$T_TMP/two.ready" 10 || fail lab_tki_two_vms "never ready: $(head -c 300 "$T_TMP/two.json.err")"
"$NS" lab exec vm-s --prefix "$A" -- ping -U -n -c 20 -i 0.02 -e 4001 198.18.0.2 >"$T_TMP/a2.ping" 2>&1 &
pa=$!
"$NS" lab exec vm-s --prefix "$B" -- ping -U -n -c 20 -i 0.02 -e 4002 198.18.0.2 >"$T_TMP/b2.ping" 2>&1
wait $pa
t_tracer_stop two
for l in "$A:4001" "$B:4002"; do
	IFS=: read -r p id <<<"$l"
	pid=$(vmm_pid "$p" vmm-r)
	# the VM's own tap (eth0 in the VM namespace) also sends the requests,
	# toward vmm-sim: those chains never reach an interrupt
	n=$(chains two | jq -r --argjson id "$id" --argjson pid "$pid" \
		'select(.dev=="vnet0" and .id==$id and .complete and .gsi==24 and .stages[-1].pid==$pid) | .seq' | sort -un | wc -l)
	check "lab_tki_two_vms_${id}_chains_end_in_their_own_vmm" "$n of 20 chains of ping id $id end in vmm-r pid $pid with GSI 24" \
		test "$n" -eq 20
done
kvms=$(chains two | jq -r 'select(.complete and .dev=="vnet0") | "\(.id) \(.kvm)"' | sort -u)
check lab_tki_two_vms_each_its_own_kvm "pairs (id kvm): $(echo "$kvms" | tr '\n' ';')" \
	test "$(echo "$kvms" | wc -l)" -eq 2 -a "$(echo "$kvms" | awk '{print $2}' | sort -u | wc -l)" -eq 2
check lab_tki_two_vms_summary_lists_both "vms: $(t_summary two '.vms' | jq -c .)" \
	test "$(t_summary two '.vms | length')" -eq 2

# ---- a flood toward VM-R: every packet accounted ---------------------------
tki flood "$A" hr -d vnet0 --protocol icmp || exit 0
# beside it, fleet mode: the kernel's histograms, no record per chain
tki fleet "$A" hr -d vnet0 --protocol icmp --metrics 127.0.0.1:0 --quiet || exit 0
"$NS" lab exec vm-s --prefix "$A" -- ping -f -n -c 3000 198.18.0.2 >"$T_TMP/flood.ping" 2>&1
t_tracer_stop flood
t_tracer_stop fleet
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$T_TMP/flood.ping")
read -r started complete partial dropped flight evicted lost < <(t_summary flood \
	'[.chains_started, .chains_completed, .chains_partial, .chains_dropped, .chains_in_flight, .chains_evicted, .lost] | map(tostring) | join(" ")')
echo "    flood: ping sent $sent; started $started complete $complete partial $partial dropped $dropped in flight $flight evicted $evicted lost $lost"
check lab_tki_flood_every_request_has_a_chain "started $started, ping sent $sent" test "$started" = "$sent"
check lab_tki_flood_every_chain_accounted "complete+partial+dropped+in flight = $((complete + partial + dropped + flight)) of $started, evicted $evicted, lost $lost" \
	test $((complete + partial + dropped + flight)) -eq "$started" -a "$evicted" -eq 0 -a "$lost" -eq 0
gate=$(t_summary flood .spans_open_gate)
check lab_tki_flood_signal_gate_closes "chains the signal hooks' gate holds open at the end: $gate, in flight $flight" \
	test "$gate" = "$flight"
check lab_tki_flood_records_match_summary "$(chains flood | wc -l) chain records, summary says $((complete + partial + dropped))" \
	test "$(chains flood | wc -l)" -eq $((complete + partial + dropped))
read -r q_complete q_total < <(t_summary fleet '[.chains_completed, .segments_kernel.total.count] | map(tostring) | join(" ")')
q_tables=$(t_summary fleet .chain_tables)
q_recs=$(chains fleet | jq -r 'select(.complete)' | wc -l)
check lab_tki_flood_quiet_counts_in_the_kernel "quiet: completed $q_complete, kernel total histogram $q_total, complete chain records $q_recs; record mode completed $complete" \
	test "$q_complete" = "$complete" -a "$q_total" = "$complete" -a "$q_recs" = 0
check lab_tki_flood_quiet_leaves_record_tables_out "chain_tables: $q_tables, queues: $(t_summary fleet .queues)" \
	test "$(t_summary fleet .queues)" = null -a -n "$q_tables" -a "$q_tables" != null

# ---- a VMM that stops reading: its tap queues, then it reads in batches ----
# vmm-r stopped (SIGSTOP, by its pid) while VM-S pings: the tap queues what
# its ring holds (and drops the rest, or stops its queue and leaves the
# excess to the qdisc, as newer kernels do); once vmm-r runs again it reads
# the queue in batches and signals once per batch. No filter: every frame
# the tap took is a chain. Truths: the tap's own counters.
tki stall "$A" hr -d vnet0 --timeout-ms 30000 --metrics 127.0.0.1:0 || exit 0
vmm=$(vmm_pid "$A" vmm-r)
tap_tx() { ip -n "$A-rhost" -s -j link show vnet0 | jq ".[0].stats64.tx.$1"; }
pk0=$(tap_tx packets) dr0=$(tap_tx dropped)
kill -STOP "$vmm"
"$NS" lab exec vm-s --prefix "$A" -- ping -n -c 1500 -i 0.002 -W 0.001 198.18.0.2 >"$T_TMP/stall.ping" 2>&1
kill -CONT "$vmm"
# vmm-r drains the tap's queue: wait until the tracer has them all
for _ in $(seq 100); do
	[ "$(chains stall 2>/dev/null | wc -l)" -ge $(($(tap_tx packets) - pk0 + $(tap_tx dropped) - dr0)) ] && break
	sleep 0.1
done
# the counters before the stop and after it: a frame (an ARP probe) the tap
# takes while the tracer detaches is counted by one and maybe not the other
taken=$(($(tap_tx packets) - pk0)) tap_drops=$(($(tap_tx dropped) - dr0))
# the tracer serves inside HR's namespace
ip netns exec "$A-rhost" curl -s --max-time 5 "http://$(jq -r .metrics "$T_TMP/stall.ready")/metrics" >"$T_TMP/stall.prom"
t_tracer_stop stall
taken_after=$(($(tap_tx packets) - pk0))
read -r started complete partial dropped flight lost < <(t_summary stall \
	'[.chains_started, .chains_completed, .chains_partial, .chains_dropped, .chains_in_flight, .lost] | map(tostring) | join(" ")')
echo "    stalled vmm: the tap sent $taken and dropped $tap_drops; chains started $started complete $complete partial $partial dropped $dropped"
gate=$(t_summary stall .spans_open_gate)
check lab_tki_stall_signal_gate_closes "gate holds $gate open after drops and batches, in flight $flight" test "$gate" = "$flight"
check lab_tki_stall_every_frame_the_tap_took_is_a_chain "started $started, the tap sent $taken ($taken_after after the stop) + dropped $tap_drops" \
	test "$started" -ge $((taken + tap_drops)) -a "$started" -le $((taken_after + tap_drops))
check lab_tki_stall_chains_complete_or_dropped_as_the_tap_says "complete $complete (tap sent $taken..$taken_after), dropped $dropped (tap dropped $tap_drops), partial $partial, in flight $flight, lost $lost" \
	test "$complete" -ge "$taken" -a "$complete" -le "$taken_after" -a "$dropped" -eq "$tap_drops" -a "$partial" -eq 0 -a "$flight" -eq 0 -a "$lost" -eq 0
big=$(chains stall | jq 'select(.complete and .batch > 1)' | wc -l)
same=$(chains stall | jq -r 'select(.complete and .batch > 1) | "\(.stages[2].ts_ns) \(.batch)"' | sort | uniq -c |
	awk '$1 != $3' | wc -l)
check lab_tki_stall_one_signal_covers_a_batch "$big chains in batches; $same signals whose chain count differs from their batch size" \
	test "$big" -gt 0 -a "$same" -eq 0
if [ "$tap_drops" -gt 0 ]; then
	reasons=$(chains stall | jq -r 'select(.end=="dropped") | .drop_reason' | sort -u | tr '\n' ' ')
	check lab_tki_stall_drops_carry_a_reason "drop reasons [$reasons]" test -n "$reasons" -a "$reasons" != "0 "
	# named as this kernel's BTF names the value (enum skb_drop_reason)
	btf_names=$(bpftool btf dump file /sys/kernel/btf/vmlinux |
		awk "/ENUM 'skb_drop_reason'/ {f=1; next} f && /^\[/ {exit} f" |
		sed -n "s/.*'SKB_DROP_REASON_\([A-Z0-9_]*\)' val=\([0-9]*\)/\2=\1/p")
	named=$(chains stall | jq -r 'select(.end=="dropped") | "\(.drop_reason)=\(.drop_reason_name)"' | sort -u)
	unnamed=$(comm -23 <(echo "$named") <(echo "$btf_names" | sort -u) | tr '\n' ' ')
	m_dropped=$(awk '$1 == "netseg_echoes_total{tool=\"tun_tx_to_kvm_irq\",state=\"dropped\"}" {print $2}' "$T_TMP/stall.prom")
	m_reasons=$(sed -n 's/^netseg_drops_total{tool="tun_tx_to_kvm_irq",class="dropped_in_tap",reason="\([^"]*\)"} \([0-9]*\)/\1=\2/p' "$T_TMP/stall.prom" | tr '\n' ' ')
	check lab_tki_stall_drops_are_metrics_states "echoes_total{state=dropped} $m_dropped, drops_total by reason [$m_reasons], the tap dropped $tap_drops" \
		test "$m_dropped" = "$tap_drops" -a -n "$m_reasons" -a -z "$(tr ' ' '\n' <<<"$m_reasons" | grep '^[0-9]*=')"
	check lab_tki_stall_drop_reasons_named_by_btf "reasons $(echo $named); not as BTF names them: [${unnamed}]" \
		test -n "$named" -a -z "$unnamed"
fi

# ---- a programmed vmm-sim delay lands in the VMM's stage, nowhere else -----
# A delayed vmm-sim holds frames on a timer in a real-time thread, which
# wakes for the tap differently from the plain pump: the baseline is a
# vmm-sim told to add 1 us, so only the programmed delay differs. Both labs
# are pinged at the same time, so the machine's noise falls on both alike.
for l in "$E:1:base" "$D:$DELAY_US:del"; do
	IFS=: read -r p us name <<<"$l"
	up "$p" --vmm-delay-us "$us" || exit 0
	tki "$name" "$p" hr -d vnet0 --protocol icmp || exit 0
done
"$NS" lab exec vm-s --prefix "$E" -- ping -U -n -c 100 -i 0.02 198.18.0.2 >"$T_TMP/base.ping" 2>&1 &
pe=$!
"$NS" lab exec vm-s --prefix "$D" -- ping -U -n -c 100 -i 0.02 198.18.0.2 >"$T_TMP/del.ping" 2>&1
wait $pe
t_tracer_stop base
t_tracer_stop del
for f in total_ns dequeue_ns eventfd_ns kvm_inject_ns; do
	eval "a_${f%_ns}=$(median base "$f")"
	eval "d_${f%_ns}=$(median del "$f")"
done
rise=$((d_total - a_total))
want=$(((DELAY_US - 1) * 1000))
echo "    medians (ns), 1 us / $DELAY_US us in vmm-sim: total $a_total / $d_total (rise $rise), dequeue $a_dequeue / $d_dequeue, eventfd $a_eventfd / $d_eventfd, kvm_inject $a_kvm_inject / $d_kvm_inject"
check lab_tki_vmm_delay_raises_the_total "median total rose by $rise ns, want $want +-10%" \
	test "$rise" -ge $((want * 90 / 100)) -a "$rise" -le $((want * 110 / 100))
for f in dequeue kvm_inject; do
	a=$(eval echo "\$a_$f")
	d=$(eval echo "\$d_$f")
	delta=$((d > a ? d - a : a - d))
	check "lab_tki_vmm_delay_leaves_${f}_alone" "$f median moved by $delta ns (plain $a, delayed $d)" \
		test "$delta" -lt $((want / 10))
done

# ---- bad input: one line, exit 2, nothing on stdout ------------------------
bad() { # bad NAME WANT ARGS...
	local name=$1 want=$2 rc
	shift 2
	"$NS" lab exec hr --prefix "$A" -- "$TKI" "$@" >"$T_TMP/bad.out" 2>"$T_TMP/bad.err"
	rc=$?
	check "lab_tki_refuses_$name" "rc $rc, stderr '$(head -c 200 "$T_TMP/bad.err")', want one line with '$want'" \
		test "$rc" -eq 2 -a "$(wc -l <"$T_TMP/bad.err")" -eq 1 -a ! -s "$T_TMP/bad.out" -a \
		"$(grep -cF -- "$want" "$T_TMP/bad.err")" -eq 1
}
bad a_bridge "'br0' is not a tap" -d br0
bad a_veth "'phy0' is not a tap" -d phy0
bad a_missing_device "nosuchtap0" -d nosuchtap0
bad a_queue_the_tap_lacks "tap 'vnet0' has 1 transmit queue" -d vnet0 -q 5
bad a_queue_out_of_range "--queue" -d vnet0 -q 300
bad another_direction "--direction" -d vnet0 --direction tx
bad ports_with_icmp "--protocol icmp" -d vnet0 --protocol icmp --dst-port 80
