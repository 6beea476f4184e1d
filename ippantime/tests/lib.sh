# Helpers for tests/run.sh: result lines, temp dirs, the simulated fleet, cleanup by pid.
IPT_PIDS=()
IPT_TMPS=()

ipt_cleanup() {
	local p
	for p in "${IPT_PIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	IPT_PIDS=()
	for p in "${IPT_TMPS[@]}"; do
		rm -rf -- "$p"
	done
	IPT_TMPS=()
}

mktmp() {
	local d
	d=$(mktemp -d /tmp/ippantime-test.XXXXXX)
	IPT_TMPS+=("$d")
	echo "$d"
}

# free_base SALT: a random base port below the kernel's ephemeral range (the probes' own
# client sockets use that range, and a listener cannot bind a port a client socket holds),
# with room for up to 200 nodes above it.
free_base() {
	local lo=10000 hi
	hi=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$hi" -gt $((lo + 1000)) ] || { lo=$((hi + 0)); hi=$((lo + 20000)); }
	echo $(( lo + (RANDOM * 7 + $$ + ${1:-0} * 977) % (hi - lo - 200) ))
}

# start_sim DIR ARGS...: starts `ippantime sim` on a free loopback port range, waits for
# its ready line; sets SIM_PID and SIM_BASE. Tries a few random bases if one is busy.
start_sim() {
	local dir=$1 try base
	shift
	for try in 1 2 3 4 5 6 7 8; do
		base=$(free_base "$try")
		"$IPT" sim --base-port "$base" "$@" >"$dir/sim.out" 2>"$dir/sim.err" &
		SIM_PID=$!
		IPT_PIDS+=("$SIM_PID")
		local i
		for i in $(seq 1 100); do
			grep -q '^ready:' "$dir/sim.out" 2>/dev/null && { SIM_BASE=$base; return 0; }
			kill -0 "$SIM_PID" 2>/dev/null || break
			sleep 0.05
		done
		kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null
	done
	echo "sim did not start: $(cat "$dir/sim.err")" >&2
	return 1
}

stop_sim() {
	kill "$SIM_PID" 2>/dev/null
	wait "$SIM_PID" 2>/dev/null
}

# targets_json BASE N: the JSON list for nodes 0..N-1 of a sim on BASE.
targets_json() {
	local base=$1 n=$2 i sep=""
	printf '['
	for ((i = 0; i < n; i++)); do
		printf '%s{"node":"node-%02d","url":"http://127.0.0.1:%d"}' "$sep" "$i" $((base + i))
		sep=","
	done
	printf ']'
}

# col CSV NODE COLUMN: values of a named column for one node (data rows only).
col() {
	awk -F, -v node="$2" -v name="$3" 'NR==1{for(i=1;i<=NF;i++){gsub("\r","",$i); if($i==name)c=i}; next}
		$3==node{v=$c; gsub("\r","",v); print v}' "$1"
}

median() { sort -n | awk '{a[NR]=$1} END{ if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

# errs CSV NODE: the distinct error words of a node's failed rows, without `busy` (a round
# skipped because the previous request was still running, which a loaded CI machine can
# cause on any node) — tests compare these, never exact ok counts at short intervals.
errs() {
	col "$1" "$2" error | grep -v '^busy$' | grep . | sort -u | tr '\n' ' ' | sed 's/ $//'
}
# nok CSV NODE: number of ok rows of a node.
nok() { col "$1" "$2" ok | grep -c '^1$'; }
# colnb CSV NODE COLUMN: like col, without the `busy` rows.
colnb() {
	awk -F, -v node="$2" -v name="$3" 'NR==1{for(i=1;i<=NF;i++){gsub("\r","",$i); if($i==name)c=i; if($i=="error")e=i}; next}
		{gsub("\r","")} $3==node && $e!="busy"{print $c}' "$1"
}
