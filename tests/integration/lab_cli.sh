#!/usr/bin/env bash
# netseg lab's command line: options go before or after exec's ROLE (as
# getopt users expect), as --opt V or --opt=V, and everything after -- is
# CMD's own, its options never read by lab. Bad input: one line, exit 2.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
NS=$NETSEG_BIN/netseg
P="lc$$"

if ! is_root; then
	skip lab_cli_option_order "needs root (namespaces, taps, KVM)"
	exit 0
fi

# the options-first form of up, with a relay wire so --wire-delay-us is seen
kvm=()
[ -w /dev/kvm ] || kvm=(--no-kvm)
T_LABS+=("$P")
if ! "$NS" lab up --prefix "$P" --wire-delay-us 10 "${kvm[@]}" >"$T_TMP/up.env" 2>"$T_TMP/up.err"; then
	fail lab_cli_up_prefix_first "netseg lab up failed: $(head -c 400 "$T_TMP/up.err")"
	exit 1
fi
pass lab_cli_up_prefix_first
check lab_cli_up_wire_delay_after_prefix "env lacks the relay wire" \
	grep -q 'delay_us: \[10, 10\]' "$T_TMP/up.env"

# exec: options before ROLE, after ROLE, and --prefix=P
"$NS" lab exec --prefix "$P" vm-s -- ip -o addr show eth0 >"$T_TMP/addr1" 2>&1
check lab_cli_exec_prefix_before_role "$(head -c 200 "$T_TMP/addr1")" grep -q 'inet 198\.18\.0\.1/' "$T_TMP/addr1"
"$NS" lab exec vm-s --prefix "$P" -- ip -o addr show eth0 >"$T_TMP/addr2" 2>&1
check lab_cli_exec_prefix_after_role "$(head -c 200 "$T_TMP/addr2")" grep -q 'inet 198\.18\.0\.1/' "$T_TMP/addr2"
"$NS" lab exec --prefix="$P" vm-r -- ip -o addr show eth0 >"$T_TMP/addr3" 2>&1
check lab_cli_exec_prefix_equals "$(head -c 200 "$T_TMP/addr3")" grep -q 'inet 198\.18\.0\.2/' "$T_TMP/addr3"
"$NS" lab exec --prefix "$P" vm-s -- ping -n -c 1 -W 1 198.18.0.2 >"$T_TMP/ping1" 2>&1
check lab_cli_exec_ping_prefix_first "$(tail -n 2 "$T_TMP/ping1" | tr '\n' ' ')" grep -q ' 1 received' "$T_TMP/ping1"
# -c 3 is ping's: if lab ate or dropped it, ping would not send exactly 3
"$NS" lab exec vm-s --prefix "$P" -- ping -n -c 3 -i 0.2 -W 1 198.18.0.2 >"$T_TMP/ping3" 2>&1
check lab_cli_exec_cmd_options_reach_cmd "$(tail -n 2 "$T_TMP/ping3" | tr '\n' ' ')" \
	grep -q '^3 packets transmitted, 3 received' "$T_TMP/ping3"
# words that are lab's own options, and a second --, after -- all belong to CMD
"$NS" lab exec --prefix "$P" hs -- sh -c 'printf "%s|" "$@"' sh --prefix zz --json -h -- --no-kvm >"$T_TMP/argv" 2>&1
check lab_cli_exec_args_after_dashdash_untouched "CMD got '$(cat "$T_TMP/argv")'" \
	test "$(cat "$T_TMP/argv")" = "--prefix|zz|--json|-h|--|--no-kvm|"
"$NS" lab exec vm-s --prefix "$P" -- false
rc=$?
check lab_cli_exec_passes_cmd_status "exit $rc, want 1" test $rc -eq 1

# status and env with options in any order
"$NS" lab status --json --prefix "$P" >"$T_TMP/st1" 2>&1
rc=$?
check lab_cli_status_json_then_prefix "rc=$rc: $(head -c 200 "$T_TMP/st1")" \
	test $rc -eq 0 -a "$(jq -r '.prefix + " " + (.healthy|tostring)' "$T_TMP/st1" 2>/dev/null)" = "$P true"
"$NS" lab status --prefix "$P" --json >"$T_TMP/st2" 2>&1
check lab_cli_status_prefix_then_json "$(head -c 200 "$T_TMP/st2")" \
	test "$(jq -r .prefix "$T_TMP/st2" 2>/dev/null)" = "$P"
check lab_cli_env_prefix "lab env --prefix differs from what up printed" \
	test "$("$NS" lab env --prefix "$P")" = "$(cat "$T_TMP/up.env")"

# bad input: one clear line, exit 2, nothing run
usage_err() { # usage_err NAME ARGS...: lab ARGS must exit 2 with one line
	local name=$1 rc
	shift
	"$NS" lab "$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
	rc=$?
	check "$name" "rc=$rc, $(wc -l <"$T_TMP/$name.err") lines: $(head -c 200 "$T_TMP/$name.err")" \
		test $rc -eq 2 -a "$(wc -l <"$T_TMP/$name.err")" -eq 1 -a ! -s "$T_TMP/$name.out"
}
usage_err lab_cli_unknown_option_exit_2 exec --prefix "$P" --bogus vm-s -- true
usage_err lab_cli_unknown_option_after_role_exit_2 exec vm-s --prefix "$P" --bogus -- true
usage_err lab_cli_missing_role_exit_2 exec --prefix "$P" -- true
usage_err lab_cli_unknown_role_exit_2 exec --prefix "$P" nobody -- true
usage_err lab_cli_missing_cmd_exit_2 exec --prefix "$P" vm-s
usage_err lab_cli_empty_cmd_exit_2 exec vm-s --prefix "$P" --
usage_err lab_cli_cmd_without_dashdash_exit_2 exec --prefix "$P" vm-s ping -c 1 198.18.0.2
usage_err lab_cli_prefix_without_value_exit_2 status --prefix
usage_err lab_cli_down_extra_arg_exit_2 down --prefix "$P" extra
usage_err lab_cli_up_only_option_on_down_exit_2 down --no-kvm --prefix "$P"
check lab_cli_bad_input_left_lab_alone "lab $P is no longer healthy" quiet "$NS" lab status --prefix "$P"

# down with the prefix given as --prefix=P
"$NS" lab down --prefix="$P" >"$T_TMP/down" 2>&1
check lab_cli_down_prefix_equals "$(cat "$T_TMP/down")" grep -q "^lab '$P' is down" "$T_TMP/down"
check lab_cli_down_removes_namespaces "namespaces left" test "$(ip netns list | grep -c "^$P-")" -eq 0
