# The mesh scripts for real over ssh: our own sshd on 127.0.0.1 with generated keys; two
# probes + one server probe through it, one probe host unreachable.
TESTS+=(mesh_ssh_probes_concurrent_one_unreachable_reported_rest_analyzed
	mesh_run_all_entry_point_over_ssh run_bad_input_exit_2_one_line)

start_sshd() {
	local d=$1 try port
	SSHD=$(command -v sshd || echo /usr/sbin/sshd)
	[ -x "$SSHD" ] || { echo "SKIP: sshd not installed (Debian package openssh-server)"; return 77; }
	command -v rsync >/dev/null || { echo "SKIP: rsync not installed"; return 77; }
	ssh-keygen -q -t ed25519 -N '' -f "$d/hostkey" -C host >/dev/null
	ssh-keygen -q -t ed25519 -N '' -f "$d/clientkey" -C client >/dev/null
	cp "$d/clientkey.pub" "$d/authorized_keys"
	chmod 600 "$d/authorized_keys"
	# as root, sshd needs its privilege separation directory (what the package's service creates)
	if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
		mkdir -p /run/sshd && chmod 755 /run/sshd
	fi
	for try in 1 2 3 4 5; do
		port=$(free_base "$try")
		cat >"$d/sshd_config" <<C
ListenAddress 127.0.0.1:$port
HostKey $d/hostkey
AuthorizedKeysFile $d/authorized_keys
PidFile none
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
LogLevel ERROR
C
		"$SSHD" -D -e -f "$d/sshd_config" 2>"$d/sshd.log" &
		SSHD_PID=$!
		IPT_PIDS+=("$SSHD_PID")
		local i
		for i in $(seq 1 50); do
			if ssh -o BatchMode=yes -o ConnectTimeout=2 -o StrictHostKeyChecking=no \
				-o UserKnownHostsFile="$d/known_hosts" -i "$d/clientkey" -p "$port" \
				"$(id -un)@127.0.0.1" true 2>/dev/null; then
				SSH_PORT=$port
				return 0
			fi
			kill -0 "$SSHD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$SSHD_PID" 2>/dev/null; wait "$SSHD_PID" 2>/dev/null
	done
	echo "SKIP: could not start sshd on loopback: $(tail -2 "$d/sshd.log" | tr '\n' ' ')"
	return 77
}

mesh_ssh_probes_concurrent_one_unreachable_reported_rest_analyzed() {
	local d rc; d=$(mktmp)
	start_sshd "$d" || return $?
	printf 'node 1 offset_us=40000\n' >"$d/sim.conf"
	start_sim "$d" --nodes 3 --config "$d/sim.conf" || return 1
	local user dead p
	user=$(id -un)
	# a port where nothing listens (connect refused now)
	for p in $(seq $((SSH_PORT + 1)) $((SSH_PORT + 50))); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { dead=$p; break; }
	done
	# tr-b points at a port where nothing listens: unreachable probe host
	cat >"$d/inv.yaml" <<Y
servers:
  - {name: srv1, host: 127.0.0.1, ssh_user: $user, ssh_port: $SSH_PORT, node_index_range: [0, 2]}
threadrippers:
  - {name: tr-a, host: 127.0.0.1, ssh_user: $user, ssh_port: $SSH_PORT}
  - {name: tr-b, host: 127.0.0.1, ssh_user: $user, ssh_port: $dead}
http: {base_port: $SIM_BASE, timeout_sec: 1}
probe: {samples: 60, interval_ms: 20}
Y
	mkdir -p "$d/out"
	IPPANTIME_BIN="$IPT" IPPANTIME_INVENTORY="$d/inv.yaml" IPPANTIME_OUT_DIR="$d/out" \
	IPPANTIME_REMOTE_DIR="$d/remote-%p" IPPANTIME_SSH_TIMEOUT=3 IPPANTIME_READY_TIMEOUT=10 \
	IPPANTIME_SSH_OPTS="-i $d/clientkey -o UserKnownHostsFile=$d/known_hosts -o StrictHostKeyChecking=no" \
	INCLUDE_SERVER_PROBES=1 \
		timeout 120 bash "$MOD/run_mesh_from_all_probes.sh" >"$d/log" 2>&1; rc=$?
	[ $rc -eq 1 ] || { echo "exit $rc (want 1: one probe failed): $(tail -5 "$d/log")"; return 1; }
	grep -q '^tr-a: OK' "$d/log" && grep -q '^srv1: OK' "$d/log" || { echo "ok probes: $(grep -E '^(tr-a|srv1):' "$d/log")"; return 1; }
	grep -q '^tr-b: FAILED at rsync to host (see .*): ssh: connect to host 127.0.0.1 port [0-9]*: Connection refused$' "$d/log" || { echo "tr-b not reported: $(grep '^tr-b' "$d/log")"; return 1; }
	grep -q "^DONE. See $d/out/REPORT.md$" "$d/log" || { echo "no DONE line"; return 1; }
	[ "$(tail -n +2 "$d/out/ippantime_tr-a.csv" | wc -l)" -eq 180 ] || { echo "tr-a rows"; return 1; }
	[ ! -e "$d/out/ippantime_tr-b.csv" ] || { echo "tr-b CSV exists"; return 1; }
	local r=$d/out/REPORT.md
	grep -q '^## Probe: `tr-a`$' "$r" && grep -q '^## Probe: `srv1`$' "$r" && ! grep -q 'tr-b' "$r" \
		|| { echo "report probes: $(grep '^## Probe' "$r")"; return 1; }
	grep -q '^## Cross-probe consistency (srv1 vs tr-a)$' "$r" || { echo "no cross-probe"; return 1; }
	# the 40 ms node is seen as such through the mesh (off_us p50 column of tr-a's table)
	sed -n '/^## Probe: `tr-a`/,/^$/p' "$r" | awk -F'|' '$2 ~ /node-01/ { v = $4 + 0; ok = (v > 35000 && v < 45000) } END { exit !ok }' \
		|| { echo "node-01 offset: $(grep '^| node-01 | [0-9]' "$r" | head -1)"; return 1; }
	# the two probes ran at the same time: their sampling windows overlap
	local a0 a1 s0 s1
	a0=$(awk -F, 'NR==2{print $6}' "$d/out/ippantime_tr-a.csv"); a1=$(tail -1 "$d/out/ippantime_tr-a.csv" | cut -d, -f6)
	s0=$(awk -F, 'NR==2{print $6}' "$d/out/ippantime_srv1.csv"); s1=$(tail -1 "$d/out/ippantime_srv1.csv" | cut -d, -f6)
	[ "$a0" -lt "$s1" ] && [ "$s0" -lt "$a1" ] || { echo "probe windows do not overlap"; return 1; }
	grep -q 'Readiness OK' "$d/out/run_tr-a.log" || { echo "no readiness gate in tr-a log"; return 1; }
	grep -q 'BatchMode=yes' "$d/out/run_tr-b.log" || echo "ssh without BatchMode"
	[ -n "${IPT_KEEP_LOG:-}" ] && cp "$d/log" "$d/out/run_tr-a.log" "$d/out/run_tr-b.log" /tmp/ 2>/dev/null; true
}

mesh_run_all_entry_point_over_ssh() {
	local d rc; d=$(mktmp)
	start_sshd "$d" || return $?
	start_sim "$d" --nodes 2 || return 1
	local user; user=$(id -un)
	cat >"$d/inv.yaml" <<Y
servers:
  - {name: srv1, host: 127.0.0.1, node_index_range: [0, 1]}
threadrippers:
  - {name: tr-a, host: 127.0.0.1, ssh_user: $user, ssh_port: $SSH_PORT}
http: {base_port: $SIM_BASE, timeout_sec: 1}
probe: {samples: 10, interval_ms: 20}
Y
	mkdir -p "$d/out"
	IPPANTIME_BIN="$IPT" IPPANTIME_INVENTORY="$d/inv.yaml" IPPANTIME_OUT_DIR="$d/out" \
	IPPANTIME_REMOTE_DIR="$d/remote-%p" IPPANTIME_SSH_TIMEOUT=3 \
	IPPANTIME_SSH_OPTS="-i $d/clientkey -o UserKnownHostsFile=$d/known_hosts -o StrictHostKeyChecking=no" \
		timeout 120 bash "$MOD/run_all.sh" >"$d/log" 2>&1; rc=$?
	[ $rc -eq 0 ] || { echo "exit $rc: $(tail -5 "$d/log")"; return 1; }
	grep -qx 'Targets generation OK' "$d/log" && grep -qx 'Artifacts:' "$d/log" && grep -qx " - $d/out/REPORT.md" "$d/log" \
		|| { echo "run_all output: $(head -5 "$d/log")"; return 1; }
	grep -q '^tr-a: OK' "$d/log" && [ -s "$d/out/REPORT.md" ] && [ -s "$d/out/ippantime_tr-a.csv" ] || echo "no report"
}

run_bad_input_exit_2_one_line() {
	local d rc err; d=$(mktmp)
	mkdir -p "$d/out"
	printf 'servers:\n  - {host: h, node_index_range: [0, 1]}\n' >"$d/inv.yaml"
	err=$("$IPT" run --inventory "$d/inv.yaml" --out-dir "$d/out" 2>&1 >/dev/null); rc=$?
	[ $rc -eq 2 ] && [ "$err" = "ippantime: run: $d/inv.yaml: no probes (threadrippers empty; INCLUDE_SERVER_PROBES=1 adds the servers)" ] \
		|| { echo "no probes: rc=$rc '$err'"; return 1; }
	printf 'threadrippers:\n  - {name: "tr a", host: h}\n' >"$d/inv.yaml"
	err=$("$IPT" run --inventory "$d/inv.yaml" --out-dir "$d/out" 2>&1 >/dev/null); rc=$?
	[ $rc -eq 2 ] && [ "$err" = "ippantime: run: $d/inv.yaml: probe name 'tr a' may only hold letters, digits and . _ - :" ] \
		|| { echo "bad name: rc=$rc '$err'"; return 1; }
	err=$("$IPT" run --inventory "$d/inv.yaml" --out-dir "$d/nope" 2>&1 >/dev/null); rc=$?
	[ $rc -eq 2 ] && [ "$err" = "ippantime: run: --out-dir '$d/nope' is not a writable directory" ] || echo "out dir: rc=$rc '$err'"
}
