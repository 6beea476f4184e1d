#!/usr/bin/env bash
# netseg doctor: its answers must agree with what really attaches. Each
# family doctor calls available is forced on pktwatch, which must start;
# each one it calls unavailable must be refused.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
NS=$NETSEG_BIN/netseg
PW=$NETSEG_BIN/pktwatch

if ! is_root; then
	skip doctor_matches_real_attach "needs root (BPF probes)"
	exit 0
fi

json=$("$NS" doctor --json)
rc=$?
if ! jq -e . >/dev/null 2>&1 <<<"$json"; then
	fail doctor_json_is_one_object "not JSON: $(head -c 200 <<<"$json")"
	exit 0
fi
pass doctor_json_is_one_object

for fam in fentry kprobe tp_btf raw_tp tracepoint; do
	avail=$(jq -r ".families.$fam.available" <<<"$json")
	tier=$fam
	[ "$fam" = tracepoint ] && tier=tp
	"$PW" --tier "$tier" --duration 0.2 >"$T_TMP/$fam.out" 2>"$T_TMP/$fam.err"
	prc=$?
	if [ "$avail" = true ] && [ $prc -eq 0 ] && grep -q "^READY" "$T_TMP/$fam.out"; then
		pass "doctor_${fam}_available_and_pktwatch_attaches"
	elif [ "$avail" = false ] && [ $prc -eq 1 ] && ! grep -q "^READY" "$T_TMP/$fam.out"; then
		pass "doctor_${fam}_unavailable_and_pktwatch_refuses"
	else
		fail "doctor_${fam}_agrees_with_real_attach" "doctor says available=$avail, pktwatch --tier $tier exited $prc: $(head -c 200 "$T_TMP/$fam.err")"
	fi
done

all=$(jq -r .all_tracers_run <<<"$json")
if { [ "$all" = true ] && [ $rc -eq 0 ]; } || { [ "$all" = false ] && [ $rc -eq 1 ]; }; then
	pass doctor_exit_status_follows_verdict
else
	fail doctor_exit_status_follows_verdict "all_tracers_run=$all but exit $rc"
fi

n_tools=$(jq '.tracers | length' <<<"$json")
n_staged=$(jq '[.tracers[] | select(.stages | length > 0)] | length' <<<"$json")
check doctor_lists_every_tracer_with_stages "$n_staged of $n_tools tracers have stages" \
	test "$n_tools" -ge 5 -a "$n_staged" = "$n_tools"

# a tracer that is built is no longer "planned": every binary but the
# front end is listed (by its first word: kernel_icmp_rtt has one entry
# per direction), and none of its entries says planned
for bin in "$NETSEG_BIN"/*; do
	name=$(basename "$bin")
	[ "$name" = netseg ] && continue
	entries=$(jq -c --arg n "$name" '[.tracers[] | select((.tool | split(" ")[0]) == $n) | .planned]' <<<"$json")
	check "doctor_lists_built_tracer_${name}_not_planned" "entries' planned flags: $entries" \
		test "$entries" != "[]" -a "$(jq 'all(. == false)' <<<"$entries")" = true
done

# every chosen hook must be one doctor also reports available
bad=$(jq '[.tracers[].stages[].hooks[] | select(.chosen and (.available|not))] | length' <<<"$json")
check doctor_chooses_only_available_hooks "$bad chosen hooks are unavailable" test "$bad" -eq 0

text=$("$NS" doctor)
for section in "Hook families" "Devices" "Tracers" "Verdict"; do
	grep -q "^$section" <<<"$text" || { fail doctor_text_has_sections "missing '$section'"; section=; break; }
done
[ -n "$section" ] && pass doctor_text_has_sections

# tracefs hidden by `ip netns exec` (fresh sysfs): doctor mounts it itself
t_netns_pair x y 198.18.22.1 198.18.22.2
tp=$(ip netns exec "$(ns x)" "$NS" doctor --json | jq -r .families.tracepoint.available)
check doctor_mounts_tracefs_inside_ip_netns_exec "classic tracepoints unavailable inside ip netns exec" \
	test "$tp" = "$(jq -r .families.tracepoint.available <<<"$json")"

if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$NS" doctor >"$T_TMP/np.out" 2>"$T_TMP/np.err"
	rc=$?
	check doctor_non_root_one_line_exit_1 "rc=$rc, $(wc -l <"$T_TMP/np.err") lines" \
		test $rc -eq 1 -a "$(wc -l <"$T_TMP/np.err")" -eq 1
fi
"$NS" doctor --bogus >/dev/null 2>&1
rc=$?
check netseg_unknown_option_exit_2 "doctor --bogus exited $rc" test $rc -eq 2
"$PW" --bogus >/dev/null 2>&1
rc=$?
check pktwatch_unknown_option_exit_2 "pktwatch --bogus exited $rc" test $rc -eq 2
"$NS" frobnicate >/dev/null 2>"$T_TMP/unk.err"
rc=$?
check netseg_unknown_command_exit_2 "rc=$rc" test $rc -eq 2 -a "$(wc -l <"$T_TMP/unk.err")" -eq 1
