# Helpers for the guest test sets (busybox ash inside the 6.1 VM).
# Result lines carry a marker so the host never mistakes a kernel message
# or a tool's output for a result: "@@VMTEST@@ PASS name" etc.
# shellcheck shell=sh
M='@@VMTEST@@'
export PATH=/usr/local/bin:/netseg/bin:/netseg/vmtest:/bin

# Debian's busybox-static runs its own applets before PATH (ash and nsenter
# alike), and its ip cannot make veth pairs: name the host's tools by path
IP=/usr/local/bin/ip
PING=/usr/local/bin/ping
ip() { "$IP" "$@"; }
ping() { "$PING" "$@"; }

pass() { echo "$M PASS $1"; }
fail() { echo "$M FAIL $1: $2"; }
skip() { echo "$M SKIP $1: $2"; }

# a per-set scratch directory on the guest's tmpfs
T=$(mktemp -d /tmp/vt.XXXXXX)

# show FILE [N]: a file's last N lines (40) as indented diagnostics
show() {
	[ -f "$1" ] || return 0
	echo "  --- $1"
	tail -n "${2:-40}" "$1" | sed 's/^/  | /'
}

# wait_file FILE SECONDS: until FILE exists and is non-empty
wait_file() {
	i=0
	while [ "$i" -lt $(($2 * 20)) ]; do
		[ -s "$1" ] && return 0
		usleep 50000
		i=$((i + 1))
	done
	return 1
}

# stop PID SIG SECONDS: signal, wait for the exit (bounded), then SIGKILL;
# returns the process's exit status
stop() {
	kill -"$2" "$1" 2>/dev/null
	i=0
	while [ "$i" -lt $(($3 * 20)) ] && kill -0 "$1" 2>/dev/null; do
		usleep 50000
		i=$((i + 1))
	done
	kill -0 "$1" 2>/dev/null && kill -KILL "$1" 2>/dev/null
	wait "$1"
}

# inns NS CMD...: run CMD in network namespace NS (no mount namespace games,
# unlike `ip netns exec`: the tracefs and sysfs mounts stay as they are)
inns() {
	_ns=$1
	shift
	nsenter --net="/run/netns/$_ns" "$@"
}

# json FILE TYPE: the last JSON line of that record type in FILE
json() {
	jq -c --arg t "$2" 'select(.type==$t)' "$1" 2>/dev/null | tail -n 1
}

# alive PID: the process exists and is not a zombie (an exited background
# job stays one until the shell reaps it)
alive() {
	_st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	_st=${_st##*) }
	[ "${_st%% *}" != Z ]
}

# wait_ready FILE PID SECONDS: like wait_file, but gives up as soon as PID
# (the program that writes FILE) has exited without writing it
wait_ready() {
	i=0
	while [ "$i" -lt $(($3 * 20)) ]; do
		[ -s "$1" ] && return 0
		alive "$2" || { [ -s "$1" ]; return; }
		usleep 50000
		i=$((i + 1))
	done
	return 1
}
