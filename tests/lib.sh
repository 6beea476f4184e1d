# Shared helpers for integration scripts: result lines, namespaces made
# with a per-run prefix, processes tracked by pid, cleanup on exit.
# shellcheck shell=bash
set -u
NETSEG_BIN=${NETSEG_BIN:-${OUTPUT:-$PWD/.output}/bin}
T_PREFIX="nst$$"
T_PIDS=()
T_NETNS=()
T_LABS=()
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
	local pid ns lab
	for lab in "${T_LABS[@]}"; do
		"$NETSEG_BIN/netseg" lab down --prefix "$lab" >/dev/null 2>&1
	done
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
	# T_KEEP=1: keep the outputs to look at a failure
	if [ -n "${T_KEEP:-}" ]; then echo "    kept $T_TMP"; else rm -rf "$T_TMP"; fi
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

# t_tracer NAME NS BIN ARGS...: a tracer in namespace NS (ns suffix) with -j
# and a ready file; output in $T_TMP/NAME.json, pid in pid_NAME. Waits for
# its ready record, else a FAIL line named NAME.
t_tracer() {
	local name=$1 where=$2 bin=$3
	shift 3
	t_bg "$T_TMP/$name.json" ip netns exec "$(ns "$where")" "$bin" -j --ready-file "$T_TMP/$name.ready" "$@"
	eval "pid_$name=$T_LAST_PID"
	t_wait_file "$T_TMP/$name.ready" 10 || { fail "$name" "never ready: $(head -c 300 "$T_TMP/$name.json.err")"; return 1; }
}
# t_tracer_stop NAME: SIGINT, and wait for its summary
t_tracer_stop() { t_stop "$(eval echo "\$pid_$1")" INT; }
# t_records NAME TYPE: its records of that type; t_summary NAME JQ: a summary field
t_records() { jq -c "select(.type==\"$2\")" "$T_TMP/$1.json"; }
t_summary() { jq -r "select(.type==\"summary\") | $2" "$T_TMP/$1.json"; }

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

# t_bridge_host A_ADDR B_ADDR: namespaces a and b (eth0 each) joined through
# a host namespace h that bridges h-a and h-b in br0, like a hypervisor
# between its VM and the wire. Returns once both ports forward.
t_bridge_host() {
	local h side
	h=$(ns h)
	ip netns add "$h" && T_NETNS+=("$h") || return 1
	for side in a b; do
		ip netns add "$(ns $side)" && T_NETNS+=("$(ns $side)") || return 1
		ip link add eth0 netns "$(ns $side)" type veth peer name "h-$side" netns "$h" || return 1
		ip -n "$(ns $side)" link set lo up && ip -n "$(ns $side)" link set eth0 up || return 1
	done
	ip -n "$(ns a)" addr add "$1/24" dev eth0 && ip -n "$(ns b)" addr add "$2/24" dev eth0 || return 1
	ip -n "$h" link add br0 type bridge && ip -n "$h" link set br0 up || return 1
	for side in a b; do
		ip -n "$h" link set "h-$side" master br0 && ip -n "$h" link set "h-$side" up || return 1
	done
	# a new port forwards once the kernel processed its carrier change
	for _ in $(seq 100); do
		[ "$(bridge -n "$h" link | grep -c 'state forwarding')" -eq 2 ] && return 0
		sleep 0.05
	done
	return 1
}

# t_lab_up PREFIX ARGS...: netseg lab up (with --no-kvm where /dev/kvm is not
# usable), taken down again by t_cleanup; the environment file it printed
# is in $T_TMP/PREFIX.env, its errors in $T_TMP/PREFIX.uperr
t_lab_up() {
	local p=$1 kvm=()
	shift
	[ -w /dev/kvm ] || kvm=(--no-kvm)
	T_LABS+=("$p")
	"$NETSEG_BIN/netseg" lab up --prefix "$p" "${kvm[@]}" "$@" >"$T_TMP/$p.env" 2>"$T_TMP/$p.uperr"
}

# t_join_samples NODE_JSON CSV BASE_PORT TRUTHS: an ippantime probe's ok
# samples with kernel stamps (CSV), each joined to the node's exchange
# (status_ts --port, JSON lines) on its port (BASE_PORT + the node's
# number) whose request arrived inside the sample's kernel interval. One
# line per joined sample: "node k_err u_err svc/2 asym/2" in us, where err
# is the kernel's or user space's offset less the node's programmed one
# (TRUTHS: "node-00=0 node-01=-7000 ..."), svc the node's service (request
# in -> reply written), asym the forward less the backward one-way delay.
t_join_samples() {
	jq -r 'select(.type=="exchange") | "\(.local_port) \(.rx_wall_ns) \(.tx_wall_ns)"' "$1" >"$1.exch"
	tr -d '\r' <"$2" | awk -F, -v exch="$1.exch" -v base="$3" -v truths="$4" '
		BEGIN {
			nt = split(truths, tt, " ")
			for (i = 1; i <= nt; i++) { split(tt[i], kv, "="); truth[kv[1]] = kv[2] }
			while ((getline line < exch) > 0) { split(line, f, " "); port[++n] = f[1]; rx[n] = f[2]; tx[n] = f[3] }
		}
		NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
		$h["ok"] == 1 && $h["k_t0_wall_ns"] != "" {
			node = $h["node"]; p = base + substr(node, 6); t0 = $h["k_t0_wall_ns"]; t1 = $h["k_t1_wall_ns"]
			for (i = 1; i <= n; i++)
				if (port[i] == p && rx[i] >= t0 && rx[i] <= t1) {
					printf "%s %d %d %d %d\n", node, $h["k_offset_us"] - truth[node], $h["offset_us"] - truth[node],
						(tx[i] - rx[i]) / 2000, ((rx[i] - t0) - (t1 - tx[i])) / 2000
					break
				}
		}'
}
