#!/usr/bin/env bash
# netseg measure with transport ssh, through a real OpenSSH: an sshd of the
# test's own on 127.0.0.1 (a free high port, generated keys), one client key
# per role whose forced command runs the request inside that role's lab
# namespace. measure reaches each role by a Host alias of an ssh_config
# named by NETSEG_SSH_CONFIG. Truths: ping's own count, the tracers' pids
# (nothing may be left running), sshd stopped by pid to lose a role.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
NS=$NETSEG_BIN/netseg
P="ms$$"
SEED_LOGS="sfsvm-send.log sfsvm-recv.log host-send.log host-recv.log vhost-recv-request.log vhost-send-reply.log"

if ! is_root; then
	skip measure_ssh "needs root"
	exit 0
fi
for b in ssh sshd ssh-keygen; do
	if ! command -v "$b" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$b" ]; then
		skip measure_ssh "needs $b (openssh-server, openssh-client: make deps)"
		exit 0
	fi
done
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
leftovers() {
	local f pid n=0
	for f in "$1"/*.ready; do
		[ -s "$f" ] || continue
		pid=$(jq -r .pid "$f" 2>/dev/null)
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && n=$((n + 1))
	done
	echo $n
}
free_port() {
	local p
	for p in $(shuf -i 30000-60000 -n 50); do
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

t_lab_up "$P" || { fail measure_ssh_lab_up "$(head -c 300 "$T_TMP/$P.uperr")"; exit 0; }
S=$T_TMP/ssh
mkdir -p "$S" /run/sshd && chmod 700 "$S"
ssh-keygen -q -t ed25519 -N '' -f "$S/host_key" || { fail measure_ssh_keys "ssh-keygen"; exit 0; }
PORT=$(free_port) || { fail measure_ssh_port "no free port"; exit 0; }
: >"$S/authorized_keys"
# alias:namespace suffix (netseg lab names its namespaces PREFIX-svm, ...)
ROLES="vm-s:svm host-s:shost vm-r:rvm host-r:rhost"
for pair in $ROLES; do
	alias=${pair%%:*} nsname="$P-${pair#*:}"
	ip netns list | grep -qw "$nsname" || { fail measure_ssh_lab_names "no namespace $nsname: $(ip netns list | grep "$P" | tr '\n' ' ')"; exit 0; }
	ssh-keygen -q -t ed25519 -N '' -f "$S/key-$alias"
	# the request runs inside the role's namespace, by the remote shell as
	# OpenSSH would: $SSH_ORIGINAL_COMMAND is one word for sh -c
	printf 'command="ip netns exec %s sh -c \\"$SSH_ORIGINAL_COMMAND\\"",no-pty,no-agent-forwarding,no-port-forwarding,no-X11-forwarding %s\n' \
		"$nsname" "$(cat "$S/key-$alias.pub")" >>"$S/authorized_keys"
	cat >>"$S/ssh_config" <<EOC
Host $alias
	HostName 127.0.0.1
	Port $PORT
	User root
	IdentityFile $S/key-$alias
	IdentitiesOnly yes
	UserKnownHostsFile $S/known_hosts
	StrictHostKeyChecking accept-new
EOC
done
cat >"$S/sshd_config" <<EOC
ListenAddress 127.0.0.1:$PORT
HostKey $S/host_key
AuthorizedKeysFile $S/authorized_keys
PidFile none
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100
MaxSessions 50
EOC
start_sshd() {
	t_bg "$T_TMP/sshd.out" "$SSHD" -f "$S/sshd_config" -D -e
	SSHD_PID=$T_LAST_PID
	for _ in $(seq 100); do
		ss -Htln "sport = :$PORT" | grep -q . && return 0
		sleep 0.05
	done
	return 1
}
start_sshd || { fail measure_ssh_sshd "$(head -c 300 "$T_TMP/sshd.out.err")"; exit 0; }
export NETSEG_SSH_CONFIG=$S/ssh_config
got=$(ssh -F "$S/ssh_config" -o BatchMode=yes vm-r 'ip -br addr show eth0' 2>"$T_TMP/probe.err")
check measure_ssh_forced_command_lands_in_the_role "got '$got', $(head -c 200 "$T_TMP/probe.err")" \
	grep -q 198.18.0.2 <<<"$got"

# the lab's environment, reached by ssh instead
"$NS" lab env --prefix "$P" | awk -v tools="$T_TMP/tools" '
	/^  kind: lab/ { print "  transport: ssh"; next }
	/^  prefix:/ { next }
	/^    netns:/ { n++; a = (n == 1 ? "vm-s" : n == 2 ? "host-s" : n == 3 ? "vm-r" : "host-r");
		print "    ssh: " a; print "    sudo: false"; next }
	{ print }
	END { print "tools:"; print "  dir: " tools }' >"$T_TMP/env.yaml"

"$NS" measure "$T_TMP/env.yaml" --count 20 --interval 0.05 --out "$T_TMP/run" >"$T_TMP/run.out" 2>"$T_TMP/run.err"
rc=$?
check measure_ssh_run_ends_well "rc $rc: $(tail -c 400 "$T_TMP/run.err")" test "$rc" -eq 0
missing=
for f in $SEED_LOGS; do [ -s "$T_TMP/run/$f" ] || missing="$missing $f"; done
check measure_ssh_keeps_the_six_logs_under_the_seeds_names "missing:$missing" test -z "$missing"
check measure_ssh_joins_20_echoes "joined $(jq .echoes.joined "$T_TMP/run/report.json" 2>/dev/null)" \
	test "$(jq .echoes.joined "$T_TMP/run/report.json" 2>/dev/null)" = 20
check measure_ssh_leaves_nothing_running "$(leftovers "$T_TMP/run") tracers alive" test "$(leftovers "$T_TMP/run")" -eq 0
check measure_ssh_deploys_the_tracers "$(ls "$T_TMP/tools" 2>&1)" \
	test -x "$T_TMP/tools/kernel_icmp_rtt" -a -x "$T_TMP/tools/icmp_drop_detector" -a -x "$T_TMP/tools/tun_tx_to_kvm_irq"
# a second run finds the same versions there and copies nothing
"$NS" measure "$T_TMP/env.yaml" --count 5 --interval 0.05 --out "$T_TMP/run2" >"$T_TMP/run2.out" 2>"$T_TMP/run2.err"
rc=$?
check measure_ssh_skips_a_tracer_already_there "rc $rc, copies: $(grep -c copying "$T_TMP/run2.err")" \
	test "$rc" -eq 0 -a "$(grep -c copying "$T_TMP/run2.err")" -eq 0

# one role unreachable (its target a closed port): sender-host is reached
# after the receivers' three tracers started, which must all be stopped
sed 's/ssh: host-s$/ssh: host-s-gone/' "$T_TMP/env.yaml" >"$T_TMP/gone.yaml"
PORT2=$(free_port)
printf 'Host host-s-gone\n\tHostName 127.0.0.1\n\tPort %s\n\tUser root\n\tIdentityFile %s\n\tIdentitiesOnly yes\n\tUserKnownHostsFile %s\n' \
	"$PORT2" "$S/key-host-s" "$S/known_hosts" >>"$S/ssh_config"
"$NS" measure "$T_TMP/gone.yaml" --count 20 --interval 0.05 --out "$T_TMP/gone" >"$T_TMP/gone.out" 2>"$T_TMP/gone.err"
rc=$?
check measure_ssh_an_unreachable_host_is_named_once "rc $rc: $(grep 'netseg measure' "$T_TMP/gone.err" | head -c 400)" \
	test "$rc" -eq 1 -a "$(grep -c 'sender-host (host-s-gone): host does not answer' "$T_TMP/gone.err")" -eq 1
check measure_ssh_an_unreachable_host_stops_the_others "$(leftovers "$T_TMP/gone") alive; ready files: $(ls "$T_TMP/gone" | grep -c ready)" \
	test "$(leftovers "$T_TMP/gone")" -eq 0 -a "$(ls "$T_TMP/gone" | grep -c ready)" -eq 3
check measure_ssh_an_unreachable_host_keeps_partial_logs "$(ls "$T_TMP/gone" | tr '\n' ' ')" \
	test -e "$T_TMP/gone/sfsvm-recv.log" -a -e "$T_TMP/gone/host-recv.log"

# a tracer that dies while VM-S pings: noticed by the remote kill -0 checks
"$NS" measure "$T_TMP/env.yaml" --count 400 --interval 0.05 --out "$T_TMP/die" >"$T_TMP/die.out" 2>"$T_TMP/die.err" &
pm=$!
T_PIDS+=("$pm")
for _ in $(seq 600); do [ -s "$T_TMP/die/ping.txt" ] || grep -q 'pings VM-R' "$T_TMP/die.err" && break; sleep 0.05; done
sleep 1
victim=$(jq -r .pid "$T_TMP"/tools/run-*-"$pm"/host-recv.log.ready 2>/dev/null)
[ -n "$victim" ] && kill -KILL "$victim"
for _ in $(seq 600); do kill -0 "$pm" 2>/dev/null || break; sleep 0.1; done
wait "$pm"
rc=$?
check measure_ssh_a_dead_tracer_ends_the_run "rc $rc, victim '$victim': $(grep 'netseg measure' "$T_TMP/die.err" | head -c 400)" \
	test "$rc" -eq 1 -a "$(grep -c 'receiver-host (host-r): icmp_drop_detector (host-recv.log) ended' "$T_TMP/die.err")" -eq 1
check measure_ssh_a_dead_tracer_stops_the_others "$(leftovers "$T_TMP/die") alive" test "$(leftovers "$T_TMP/die")" -eq 0
check measure_ssh_a_dead_tracer_keeps_partial_logs "$(ls "$T_TMP/die" | tr '\n' ' ')" test -s "$T_TMP/die/sfsvm-send.log"

# Ctrl-C: the same clean end
"$NS" measure "$T_TMP/env.yaml" --count 400 --interval 0.05 --out "$T_TMP/int" >"$T_TMP/int.out" 2>"$T_TMP/int.err" &
pm=$!
T_PIDS+=("$pm")
for _ in $(seq 600); do grep -q 'pings VM-R' "$T_TMP/int.err" && break; sleep 0.05; done
sleep 1
kill -INT "$pm"
for _ in $(seq 600); do kill -0 "$pm" 2>/dev/null || break; sleep 0.1; done
wait "$pm"
rc=$?
check measure_ssh_interrupted_stops_everything "rc $rc, $(leftovers "$T_TMP/int") alive: $(tail -c 200 "$T_TMP/int.err")" \
	test "$rc" -eq 130 -a "$(leftovers "$T_TMP/int")" -eq 0 -a -s "$T_TMP/int/sfsvm-send.log"
t_stop "$SSHD_PID" TERM
