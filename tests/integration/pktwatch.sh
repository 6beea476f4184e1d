#!/usr/bin/env bash
# pktwatch against real pings between network namespaces. The independent
# truth is ping itself: how many echoes it sent and got back, and their
# sequence numbers.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
PW=$NETSEG_BIN/pktwatch
N=5

if ! is_root; then
	for t in pktwatch_sees_every_echo pktwatch_netns_isolation pktwatch_bad_input; do
		skip "$t" "needs root (network namespaces and BPF)"
	done
	exit 0
fi

t_netns_pair a b 198.18.20.1 198.18.20.2 || { fail pktwatch_setup "cannot create namespaces"; exit 1; }
t_netns_pair c d 198.18.21.1 198.18.21.2 || { fail pktwatch_setup "cannot create namespaces"; exit 1; }

# run_traced NAME ARGS...: pktwatch in ns a with ARGS while ns a pings b N
# times; leaves $T_TMP/NAME.json (records) and $T_TMP/NAME.ping
run_traced() {
	local name=$1 out=$T_TMP/$1.json
	shift
	t_bg "$out" ip netns exec "$(ns a)" "$PW" -j --ready-file "$T_TMP/$name.ready" "$@"
	local pid=$T_LAST_PID
	if ! t_wait_file "$T_TMP/$name.ready" 10; then
		t_stop "$pid" INT
		return 1
	fi
	ip netns exec "$(ns a)" ping -n -c $N -i 0.2 -W 2 198.18.20.2 >"$T_TMP/$name.ping" 2>&1
	t_stop "$pid" INT
}

# seqs FILE STAGE TYPE: sorted sequence numbers of echo records
seqs() {
	jq -r --arg st "$2" --argjson ty "$3" \
		'select(.type=="pkt" and .stage==$st and .icmp_type==$ty) | .seq' "$1" | sort -n | tr '\n' ' '
}

expect_echoes() {
	local name=$1 tier=$2 out=$T_TMP/$1.json want got_req got_rep ids tiers lost
	want=$(seq -s ' ' 1 $N)' '
	if ! grep -q "$N received" "$T_TMP/$name.ping"; then
		fail "$name" "ping did not get $N replies: $(tail -n 2 "$T_TMP/$name.ping" | tr '\n' ' ')"
		return
	fi
	got_req=$(seqs "$out" xmit 8)
	got_rep=$(seqs "$out" recv 0)
	ids=$(jq -r 'select(.type=="pkt" and (.stage=="xmit" or .stage=="recv")) | .id' "$out" | sort -u | wc -l)
	tiers=$(jq -r 'select(.type=="pkt" and (.stage=="xmit" or .stage=="recv")) | .tier' "$out" | sort -u | tr '\n' ' ')
	lost=$(jq -r 'select(.type=="summary") | .lost' "$out")
	if [ "$got_req" != "$want" ]; then
		fail "$name" "requests at xmit: got seqs [$got_req], ping sent [$want]"
	elif [ "$got_rep" != "$want" ]; then
		fail "$name" "replies at recv: got seqs [$got_rep], ping got [$want]"
	elif [ "$ids" != 1 ]; then
		fail "$name" "echo ids differ between records ($ids distinct)"
	elif [ -n "$tier" ] && [ "$tiers" != "$tier " ]; then
		fail "$name" "records came from tiers [$tiers], forced [$tier]"
	elif [ "$lost" != 0 ]; then
		fail "$name" "summary reports lost=$lost"
	else
		pass "$name"
	fi
}

# 1. auto tier: every echo ping sent and received, once, in order
run_traced pktwatch_sees_every_echo_auto_tier
expect_echoes pktwatch_sees_every_echo_auto_tier ""
ready_tier=$(jq -r 'select(.type=="ready") | .tiers.xmit.tier' "$T_TMP/pktwatch_sees_every_echo_auto_tier.json")
check pktwatch_ready_record_names_tier_per_stage "ready record lacks tiers.xmit.tier" \
	test -n "$ready_tier" -a "$ready_tier" != null
check pktwatch_ready_file_is_the_ready_record "ready file differs from the ready line" \
	test "$(jq -c . "$T_TMP/pktwatch_sees_every_echo_auto_tier.ready")" = \
	"$(jq -c 'select(.type=="ready")' "$T_TMP/pktwatch_sees_every_echo_auto_tier.json")"

# 2. each tracepoint tier, forced, on its own
doctor=$("$NETSEG_BIN"/netseg doctor --json)
for tier in tp_btf raw_tp tp; do
	fam=$tier; [ "$tier" = tp ] && fam=tracepoint
	if [ "$(jq -r ".families.$fam.available" <<<"$doctor")" != true ]; then
		skip "pktwatch_forced_${tier}_sees_every_echo" "doctor says $fam is unavailable on this kernel"
		continue
	fi
	run_traced "pktwatch_forced_${tier}_sees_every_echo" --tier "$tier"
	expect_echoes "pktwatch_forced_${tier}_sees_every_echo" "$fam"
done

# 3. fentry and kprobe: used where the kernel has them, refused cleanly where not
for tier in fentry kprobe; do
	name=pktwatch_forced_${tier}_matches_kernel
	if [ "$(jq -r ".families.$tier.available" <<<"$doctor")" = true ]; then
		run_traced "$name" --tier "$tier"
		l4=$(jq -r --arg t "$tier" 'select(.type=="pkt" and .stage=="l4" and .tier==$t and .icmp_type==0) | .seq' \
			"$T_TMP/$name.json" | sort -n | tr '\n' ' ')
		check "$name" "$tier l4 stage saw replies [$l4], want [$(seq -s ' ' 1 $N) ]" \
			test "$l4" = "$(seq -s ' ' 1 $N) "
	else
		out=$(ip netns exec "$(ns a)" "$PW" --tier "$tier" --duration 1 2>"$T_TMP/$name.err")
		rc=$?
		lines=$(wc -l <"$T_TMP/$name.err")
		if [ $rc -eq 1 ] && [ "$lines" -eq 1 ] && [ -z "$out" ] && grep -q -- "--tier $tier" "$T_TMP/$name.err"; then
			pass "$name"
		else
			fail "$name" "want exit 1, one stderr line naming --tier $tier, no output; got rc=$rc, $lines lines: $(head -c 300 "$T_TMP/$name.err")"
		fi
	fi
done

# 4. namespaces: by default only our own; --netns all sees the others too
t_bg "$T_TMP/iso.json" ip netns exec "$(ns a)" "$PW" -j --ready-file "$T_TMP/iso.ready"
iso_pid=$T_LAST_PID
t_bg "$T_TMP/all.json" ip netns exec "$(ns a)" "$PW" -j --netns all --host 198.18.21.2 --ready-file "$T_TMP/all.ready"
all_pid=$T_LAST_PID
t_wait_file "$T_TMP/iso.ready" 10 && t_wait_file "$T_TMP/all.ready" 10
ip netns exec "$(ns c)" ping -n -c 3 -i 0.2 198.18.21.2 >/dev/null 2>&1
# and its own namespace's pings, so that seeing nothing proves the filter
ip netns exec "$(ns a)" ping -n -c 2 -i 0.2 198.18.20.2 >/dev/null 2>&1
t_stop $iso_pid TERM
t_stop $all_pid TERM
n_iso=$(jq -r 'select(.type=="pkt" and (.src=="198.18.21.2" or .dst=="198.18.21.2"))' "$T_TMP/iso.json" | grep -c '"seq"')
n_own=$(jq -r 'select(.type=="pkt" and .stage=="xmit" and .dst=="198.18.20.2") | .seq' "$T_TMP/iso.json" | sort -un | wc -l)
n_all=$(jq -r 'select(.type=="pkt" and .icmp_type==8 and .stage=="xmit") | .seq' "$T_TMP/all.json" | sort -un | wc -l)
check pktwatch_default_netns_ignores_other_namespaces "saw $n_iso records of pings in another namespace, $n_own of 2 of its own" \
	test "$n_iso" -eq 0 -a "$n_own" -eq 2
check pktwatch_netns_all_sees_other_namespaces "saw $n_all of 3 requests with --netns all" \
	test "$n_all" -eq 3
check pktwatch_sigterm_prints_summary "no summary with ended_by SIGTERM" \
	test "$(jq -r 'select(.type=="summary") | .ended_by' "$T_TMP/iso.json")" = SIGTERM

# 5. bpftool shows programs named after tool and stage
t_bg "$T_TMP/names.json" ip netns exec "$(ns a)" "$PW" -j --tier tp_btf --ready-file "$T_TMP/names.ready"
names_pid=$T_LAST_PID
if t_wait_file "$T_TMP/names.ready" 10; then
	progs=$(bpftool prog show 2>/dev/null | grep -o 'name pw_[a-z_0-9]*' | sort -u | tr '\n' ' ')
	check pktwatch_bpftool_lists_tool_stage_names "bpftool listed [$progs]" \
		test "$progs" = "name pw_recv_btf name pw_xmit_btf "
else
	fail pktwatch_bpftool_lists_tool_stage_names "pktwatch never became ready"
fi
# a background job of a script starts with SIGINT ignored; we must still stop
t_stop $names_pid INT
check pktwatch_sigint_in_background_prints_summary "no summary with ended_by SIGINT" \
	test "$(jq -r 'select(.type=="summary") | .ended_by' "$T_TMP/names.json")" = SIGINT

# 6. --duration ends the run with a summary
ip netns exec "$(ns a)" "$PW" -j --duration 0.5 >"$T_TMP/dur.json" 2>&1
check pktwatch_duration_ends_with_summary "no summary with ended_by duration" \
	test "$(jq -r 'select(.type=="summary") | .ended_by' "$T_TMP/dur.json" 2>/dev/null)" = duration

# 7. --port range filters TCP/UDP both ways; ICMP stays out with --proto udp
t_bg "$T_TMP/port.json" ip netns exec "$(ns a)" "$PW" -j --proto udp --port 5000-5001 --ready-file "$T_TMP/port.ready"
port_pid=$T_LAST_PID
t_wait_file "$T_TMP/port.ready" 10
for p in 4999 5000 5001 5002; do
	ip netns exec "$(ns a)" bash -c "echo x > /dev/udp/198.18.20.2/$p" 2>/dev/null
done
sleep 0.2
t_stop $port_pid INT
ports=$(jq -r 'select(.type=="pkt" and .stage=="xmit") | .dport' "$T_TMP/port.json" | sort -n | tr '\n' ' ')
check pktwatch_port_range_filters_in_kernel "udp dports seen [$ports], want [5000 5001]" \
	test "$ports" = "5000 5001 "

# 8. --netns NAME from outside: interfaces are resolved inside that namespace
t_bg "$T_TMP/outside.json" "$PW" -j --netns "$(ns a)" -i veth-a --ready-file "$T_TMP/outside.ready"
out_pid=$T_LAST_PID
t_wait_file "$T_TMP/outside.ready" 10
ip netns exec "$(ns a)" ping -n -c 2 -i 0.2 198.18.20.2 >/dev/null 2>&1
t_stop $out_pid INT
n_out=$(jq -r 'select(.type=="pkt" and .ifname=="veth-a" and .icmp_type==8) | .seq' "$T_TMP/outside.json" | sort -un | wc -l)
check pktwatch_netns_by_name_resolves_interfaces_there "saw $n_out of 2 requests on veth-a" \
	test "$n_out" -eq 2

# 9. bad input: one line naming the value, exit 2 (1 for privileges), nothing attached
bad() {
	local name=$1 want_rc=$2 want_text=$3 rc lines
	shift 3
	"$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
	rc=$?
	lines=$(wc -l <"$T_TMP/$name.err")
	if [ $rc -eq "$want_rc" ] && [ "$lines" -eq 1 ] && grep -qF -- "$want_text" "$T_TMP/$name.err" &&
		[ ! -s "$T_TMP/$name.out" ]; then
		pass "$name"
	else
		fail "$name" "want rc=$want_rc and one line with '$want_text'; got rc=$rc, $lines lines: $(head -c 300 "$T_TMP/$name.err")"
	fi
}
bad pktwatch_unknown_interface_exit_2 2 "unknown interface 'nosuch0'" "$PW" -i lo,nosuch0
bad pktwatch_interface_of_another_netns_rejected_exit_2 2 "unknown interface 'veth-a'" "$PW" -i veth-a
bad pktwatch_malformed_ip_exit_2 2 "'198.18.0'" "$PW" --host 198.18.0
bad pktwatch_ipv6_address_exit_2 2 "IPv6 is not supported" "$PW" --host fd00::1
bad pktwatch_inverted_port_range_exit_2 2 "inverted range" "$PW" --port 9000-8000
bad pktwatch_bad_proto_exit_2 2 "'sctp'" "$PW" --proto sctp
bad pktwatch_bad_tier_exit_2 2 "'fast'" "$PW" --tier fast
bad pktwatch_bad_netns_exit_2 2 "'nosuchns'" "$PW" --netns nosuchns
bad pktwatch_bad_duration_exit_2 2 "'-1'" "$PW" --duration -1
if command -v setpriv >/dev/null; then
	bad pktwatch_non_root_exit_1 1 "needs root" setpriv --reuid=65534 --regid=65534 --clear-groups "$PW"
else
	skip pktwatch_non_root_exit_1 "setpriv (util-linux) is missing"
fi
left=$(bpftool prog show 2>/dev/null | grep -c 'name pw_')
check pktwatch_nothing_left_attached "$left pw_ programs still loaded after all runs" test "$left" -eq 0
