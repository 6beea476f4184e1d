# Shared helpers for integration scripts: result lines, namespaces made
# with a per-run prefix, processes tracked by pid, cleanup on exit.
# shellcheck shell=bash
set -u
NETSEG_BIN=${NETSEG_BIN:-${OUTPUT:-$PWD/.output}/bin}
T_PREFIX="nst$$"
T_PIDS=()
T_NETNS=()
T_TMP=$(mktemp -d /tmp/netseg-test.XXXXXX)

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }

# check NAME COND-DESCRIPTION: run the rest as a command; PASS if it succeeds
check() {
	local name=$1 why=$2
	shift 2
	if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

t_cleanup() {
	local pid ns
	for pid in "${T_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${T_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	done
	for ns in "${T_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT

# quiet CMD...: run CMD with its output discarded (for check)
quiet() { "$@" >/dev/null 2>&1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# t_netns_pair A B ADDR_A ADDR_B: two namespaces joined by a veth pair
# (interfaces named veth-a / veth-b), addresses /24, up.
t_netns_pair() {
	local a="$T_PREFIX$1" b="$T_PREFIX$2"
	ip netns add "$a" && T_NETNS+=("$a") || return 1
	ip netns add "$b" && T_NETNS+=("$b") || return 1
	ip link add veth-a netns "$a" type veth peer name veth-b netns "$b" || return 1
	ip -n "$a" addr add "$3/24" dev veth-a && ip -n "$b" addr add "$4/24" dev veth-b || return 1
	ip -n "$a" link set lo up && ip -n "$b" link set lo up || return 1
	ip -n "$a" link set veth-a up && ip -n "$b" link set veth-b up || return 1
}

ns() { echo "$T_PREFIX$1"; }

# t_bg OUTFILE CMD...: start CMD in the background, stdout to OUTFILE,
# stderr to OUTFILE.err; sets T_LAST_PID.
t_bg() {
	local out=$1
	shift
	"$@" >"$out" 2>"$out.err" &
	T_LAST_PID=$!
	T_PIDS+=("$T_LAST_PID")
}

# t_wait_file FILE SECONDS: wait until FILE is non-empty
t_wait_file() {
	local i
	for i in $(seq $(($2 * 20))); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# t_stop PID SIGNAL: signal and wait for exit (10 s); returns its status
t_stop() {
	local i
	kill -"$2" "$1" 2>/dev/null
	for i in $(seq 200); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	wait "$1" 2>/dev/null
	local rc=$? keep=() p
	for p in "${T_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	T_PIDS=("${keep[@]}")
	return $rc
}
