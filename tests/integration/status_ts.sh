#!/usr/bin/env bash
# status_ts on this kernel's tracepoints, against real HTTP exchanges in a
# network namespace. Truths: `ippantime sim`'s programmed service delay,
# curl's own count of requests and its own timings (pre-transfer and first
# byte), the local ports curl used.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
STS=$NETSEG_BIN/status_ts
IPT=${IPPANTIME_BIN:-${OUTPUT:-$PWD/.output}/ippantime/ippantime}
N=20
DELAY_MS=3
P=$((20000 + $$ % 20000)) # a base port of this run's own

if ! is_root; then
	skip status_ts "needs root (network namespaces and BPF)"
	exit 0
fi
for c in curl jq; do
	command -v $c >/dev/null || { fail status_ts_setup "$c is missing"; exit 1; }
done
[ -x "$IPT" ] || { fail status_ts_setup "no ippantime at $IPT (make)"; exit 1; }
t_netns_pair s o 198.18.40.1 198.18.40.2 || { fail status_ts_setup "cannot create namespaces"; exit 1; }
NSS=$(ns s)

# sim NAME BASE NODES CONFIG-LINES [SIM-ARGS...]: ippantime sim in namespace s
sim() {
	local name=$1 base=$2 nodes=$3
	printf '%b' "$4" >"$T_TMP/$name.conf"
	shift 4
	t_bg "$T_TMP/$name.sim" ip netns exec "$NSS" "$IPT" sim --config "$T_TMP/$name.conf" \
		--nodes "$nodes" --base-port "$base" --ready-file "$T_TMP/$name.simready" --duration 300 "$@"
	eval "simpid_$name=$T_LAST_PID"
	t_wait_file "$T_TMP/$name.simready" 10
}

# sts NAME ARGS...: status_ts watching namespace s from the root namespace
sts() {
	local name=$1
	shift
	t_bg "$T_TMP/$name.json" "$STS" -j --netns "$NSS" --ready-file "$T_TMP/$name.ready" "$@"
	eval "pid_$name=$T_LAST_PID"
	t_wait_file "$T_TMP/$name.ready" 10 || { fail "$name" "never ready: $(head -c 300 "$T_TMP/$name.json.err")"; return 1; }
}

# get COUNT URL [CURL-ARGS...]: fresh connections; one line per request:
# "local_port http_code connect_us starttransfer_us" (curl notes its pre-transfer
# time after sending the request: connect done is the bound before it)
get() {
	local n=$1 url=$2 i
	shift 2
	for i in $(seq "$n"); do
		ip netns exec "$NSS" curl -s -o /dev/null -m 2 "$@" \
			-w '%{local_port} %{http_code} %{time_connect} %{time_starttransfer}\n' "$url"
	done | awk '{ printf "%s %s %d %d\n", $1, $2, $3 * 1e6, $4 * 1e6 }'
}

exch() { jq -c "select(.type==\"exchange\") ${2:-}" "$T_TMP/$1.json"; }

sim main $P 2 "all delay_ms=$DELAY_MS\n" || { fail status_ts_setup "sim never ready: $(head -c 300 "$T_TMP/main.sim.err")"; exit 1; }

# 1. server role: one exchange per request, service = the programmed delay
sts srv --port $P-$((P + 1)) || exit 1
get $N "http://127.0.0.1:$P/status" >"$T_TMP/srv.curl"
t_stop "$pid_srv" INT
ok=$(awk '$2 == 200' "$T_TMP/srv.curl" | wc -l)
got=$(exch srv | wc -l)
# no reply can leave before the delay; the sim's timer may wake late on a
# busy machine, so the median is held to +-10 %
early=$(exch srv "| select(.service_ns < $DELAY_MS * 1000000) | .service_ns" | head -3 | tr '\n' ' ')
med=$(exch srv '| .service_ns' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
ports_curl=$(awk '{print $1}' "$T_TMP/srv.curl" | sort -n | tr '\n' ' ')
ports_sts=$(exch srv '| .remote_port' | sort -n | tr '\n' ' ')
if [ "$ok" != $N ]; then
	fail status_ts_server_one_exchange_per_request "curl got $ok of $N replies"
elif [ "$got" != $N ]; then
	fail status_ts_server_one_exchange_per_request "$got exchanges for $N requests"
elif [ "$ports_curl" != "$ports_sts" ]; then
	fail status_ts_server_one_exchange_per_request "client ports differ: curl [$ports_curl] status_ts [$ports_sts]"
else
	pass status_ts_server_one_exchange_per_request
fi
check status_ts_server_service_is_the_sim_delay \
	"median service $med ns for ${DELAY_MS} ms (+-10 %); before the delay: [$early]" \
	test -z "$early" -a "${med:-0}" -ge $((DELAY_MS * 900000)) -a "${med:-0}" -le $((DELAY_MS * 1100000))
check status_ts_server_wire_after_write "an exchange lacks wire or has it before tx" \
	test "$(exch srv '| select(.wire_wall_ns > .tx_wall_ns and .tx_wall_ns > .rx_wall_ns)' | wc -l)" = $N
check status_ts_server_summary_counts "summary: $(t_summary srv '[.exchanges_started,.exchanges_completed,.lost] | @csv')" \
	test "$(t_summary srv '[.exchanges_started,.exchanges_completed,.lost] | @csv')" = "$N,$N,0"
# the ready record's tier per stage is the one the stamps themselves carry
ready_tiers=$(jq -r 'select(.type=="ready") | "rx=\(.tiers.rx.tier) tx=\(.tiers.tx.tier)"' "$T_TMP/srv.json")
stamp_tiers=$(exch srv '| .stages[] | select(.stage=="rx" or .stage=="tx") | "\(.stage)=\(.tier)"' | tr -d '"' | sort -u | tr '\n' ' ')
check status_ts_ready_names_tiers "ready record [$ready_tiers], stamps [$stamp_tiers]" \
	test -n "$stamp_tiers" -a "$ready_tiers " = "$stamp_tiers"

# 2. client role: the kernel's round trip nests inside curl's own
# (connected -> first byte), and holds the node's service time
sts cli --remote-port $P-$((P + 1)) || exit 1
get $N "http://127.0.0.1:$((P + 1))/status" >"$T_TMP/cli.curl"
t_stop "$pid_cli" INT
exch cli '| "\(.local_port) \(.rtt_ns)"' | tr -d '"' | sort >"$T_TMP/cli.k"
awk '{print $1, $3, $4}' "$T_TMP/cli.curl" | sort >"$T_TMP/cli.u"
joined=$(join "$T_TMP/cli.k" "$T_TMP/cli.u" | wc -l)
# curl's times are microseconds: 20 us of rounding and bookkeeping
outside=$(join "$T_TMP/cli.k" "$T_TMP/cli.u" |
	awk -v d=$DELAY_MS '{ k = $2 / 1000; u = $4 - $3; if (k < d * 1000 || k > u + 20) print $1 ":" k "/" u }' | head -3)
if [ "$joined" != $N ]; then
	fail status_ts_client_rtt_nests_in_curls "$joined of $N requests joined by local port"
elif [ -n "$outside" ]; then
	fail status_ts_client_rtt_nests_in_curls "kernel rtt us / curl's us outside [delay, curl]: $outside"
else
	pass status_ts_client_rtt_nests_in_curls
fi

# 3. keep-alive: N requests on one connection are N exchanges
sts ka --port $P || exit 1
urls=()
for _ in $(seq 5); do urls+=("http://127.0.0.1:$P/status"); done
ip netns exec "$NSS" curl -s -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
	-w '%{num_connects}\n' "${urls[@]}" >"$T_TMP/ka.curl"
t_stop "$pid_ka" INT
conns=$(awk '{ s += $1 } END { print s }' "$T_TMP/ka.curl")
check status_ts_keepalive_one_exchange_per_request \
	"$(exch ka | wc -l) exchanges on $(exch ka '| .remote_port' | sort -u | wc -l) connection(s) for 5 requests on $conns" \
	test "$(exch ka | wc -l),$(exch ka '| .remote_port' | sort -u | wc -l),$conns" = "5,1,1"

# 4. a request that arrives in two parts is one exchange, from its first bytes
sts split --port $P || exit 1
ip netns exec "$NSS" bash -c "exec 3<>/dev/tcp/127.0.0.1/$P; printf 'GET /status HTTP/1.1\r\nHost: x\r\n' >&3; sleep 0.1;
	printf 'Connection: close\r\n\r\n' >&3; head -c 1 <&3 >/dev/null; exec 3<&-" 2>/dev/null
sleep 0.2
t_stop "$pid_split" INT
svc=$(exch split '| .service_ns')
check status_ts_split_request_is_one_exchange \
	"$(exch split | wc -l) exchanges, service $svc ns (want 1, >= 100 ms + delay)" \
	test "$(exch split | wc -l)" = 1 -a "${svc:-0}" -ge $(((100 + DELAY_MS) * 1000000))

# 5. each forced tracepoint tier on its own
for tier in raw_tp tp; do
	name=$tier
	[ $tier = tp ] && name=tracepoint
	sts "tier_$tier" --port $P --tier $tier || continue
	get 5 "http://127.0.0.1:$P/status" >/dev/null
	# and 3 on one connection: each must complete before the next request
	ip netns exec "$NSS" curl -s -o /dev/null -o /dev/null -o /dev/null \
		"http://127.0.0.1:$P/status" "http://127.0.0.1:$P/status" "http://127.0.0.1:$P/status"
	t_stop "$(eval echo "\$pid_tier_$tier")" INT
	tiers=$(exch "tier_$tier" '| .stages[].tier' | sort -u | tr -d '"' | tr '\n' ' ')
	inc=$(jq -c 'select(.type=="incomplete")' "$T_TMP/tier_$tier.json" | wc -l)
	check "status_ts_forced_tier_$tier" "$(exch "tier_$tier" | wc -l) exchanges (want 8), $inc incomplete, from tiers [$tiers]" \
		test "$(exch "tier_$tier" | wc -l),$inc,$tiers" = "8,0,$name "
done
# classic tracepoints stamp the write only after it returned, when its
# first segment has left: no wire stamp can mean "the first segment after"
check status_ts_late_write_hook_has_no_wire \
	"--tier tp: ready says wire=$(jq -r 'select(.type=="ready") | .tiers.wire.tier' "$T_TMP/tier_tp.json"), $(exch tier_tp '| select(.wire_wall_ns)' | wc -l) exchanges with a wire stamp" \
	test "$(jq -r 'select(.type=="ready") | .tiers.wire.tier' "$T_TMP/tier_tp.json"),$(exch tier_tp '| select(.wire_wall_ns)' | wc -l)" = "unavailable,0"

# 6. another range, another namespace: nothing
sim other $((P + 10)) 1 "all delay_ms=0\n" || fail status_ts_setup "second sim never ready"
sts only --port $P || exit 1
t_bg "$T_TMP/elsewhere.json" "$STS" -j --netns "$(ns o)" --port $P --ready-file "$T_TMP/elsewhere.ready"
pid_else=$T_LAST_PID
t_wait_file "$T_TMP/elsewhere.ready" 10
get 4 "http://127.0.0.1:$((P + 10))/status" >/dev/null
get 3 "http://127.0.0.1:$P/status" >/dev/null
t_stop "$pid_only" INT
t_stop "$pid_else" INT
check status_ts_ports_and_netns_filter \
	"--port $P saw $(exch only | wc -l) (want 3: $(exch only '| .local_port' | sort -u | tr '\n' ' ')); --netns o saw $(exch elsewhere | wc -l) (want 0)" \
	test "$(exch only '| .local_port' | sort | uniq -c | awk '{print $1 "x" $2}'),$(exch elsewhere | wc -l)" = "3x$P,0"

# 7. a node that never answers: an incomplete exchange, never a made-up one
sim mute $((P + 20)) 1 "all fault=timeout\n" || fail status_ts_setup "mute sim never ready"
sts mute --port $((P + 20)) --timeout-ms 500 || exit 1
get 2 "http://127.0.0.1:$((P + 20))/status" -m 0.3 >/dev/null
sleep 0.8
t_stop "$pid_mute" INT
inc=$(jq -r 'select(.type=="incomplete") | "\(.why):\(.last_stage)"' "$T_TMP/mute.json" | sort | uniq -c | tr -s ' ' | tr '\n' ' ')
check status_ts_unanswered_request_is_incomplete \
	"$(exch mute | wc -l) exchanges, incomplete: [$inc] (want 0 and 2 ending at rx)" \
	test "$(exch mute | wc -l),$(jq -r 'select(.type=="incomplete" and .last_stage=="rx") | .why' "$T_TMP/mute.json" | wc -l)" = "0,2"

# 7a. a node that closes its connections mid-exchange (it stops): fleet
# mode counts them as netseg_echoes_total{state="closed"}, one per request
sim shut $((P + 25)) 1 "all fault=timeout\n" || fail status_ts_setup "shut sim never ready"
sts shut --port $((P + 25)) --timeout-ms 20000 --metrics 127.0.0.1:0 --quiet || exit 1
get 3 "http://127.0.0.1:$((P + 25))/status" -m 0.3 >/dev/null
t_stop "$simpid_shut" TERM
sleep 0.3
closed=$(curl -s --max-time 5 "http://$(jq -r .metrics "$T_TMP/shut.ready")/metrics" |
	awk '$1 == "netseg_echoes_total{tool=\"status_ts\",state=\"closed\"}" {print $2}')
t_stop "$pid_shut" INT
check status_ts_closed_mid_exchange_is_a_metrics_state "echoes_total{state=closed} $closed, summary closed $(jq -r 'select(.type=="summary") | .exchanges_closed' "$T_TMP/shut.json") (want 3)" \
	test "$closed" = 3 -a "$(jq -r 'select(.type=="summary") | .exchanges_closed' "$T_TMP/shut.json")" = 3

# 7b. a node listening on [::]: IPv4 clients on IPv6 sockets are traced too
sim dual $((P + 30)) 1 "all delay_ms=1\n" --bind :: || fail status_ts_setup "dual-stack sim never ready"
sts dual --port $((P + 30)) || exit 1
get 4 "http://127.0.0.1:$((P + 30))/status" >/dev/null
t_stop "$pid_dual" INT
check status_ts_dual_stack_node "$(exch dual | wc -l) exchanges (want 4), addresses $(exch dual '| "\(.local)<-\(.remote)"' | sort -u | tr '\n' ' ')" \
	test "$(exch dual | wc -l),$(exch dual '| "\(.local)<-\(.remote)"' | sort -u | tr -d '"')" = "4,127.0.0.1<-127.0.0.1"

# 8. a flood: every request an exchange, nothing lost
sts flood --port $P || exit 1
seq 400 | ip netns exec "$NSS" xargs -P 4 -I{} curl -H "X-Req: {}" -s -o /dev/null -m 2 -w '%{http_code}\n' \
	"http://127.0.0.1:$P/status" >"$T_TMP/flood.curl"
t_stop "$pid_flood" INT
check status_ts_flood_every_request "curl got $(grep -c 200 "$T_TMP/flood.curl") replies, status_ts $(exch flood | wc -l) exchanges, lost $(t_summary flood .lost)" \
	test "$(grep -c 200 "$T_TMP/flood.curl"),$(t_summary flood .lost)" = "$(exch flood | wc -l),0"

# 9. bad input: one line, exit 2, nothing loaded
bad_input() {
	local out rc
	out=$("$STS" "$@" 2>&1 >/dev/null)
	rc=$?
	[ $rc = 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && printf '%s' "$out" | grep -q '^status_ts: '
}
i=0
for args in "--port 0" "--port 9000-8000" "--port 70000" "--pid 0" "" "--port 80 --pid 1" \
	"--remote-port 80 --role server" "--port 80 --timeout-ms 0"; do
	# shellcheck disable=SC2086 # words on purpose
	i=$((i + 1))
	bad_input $args || { fail "status_ts_bad_input_$i" "'$args': $("$STS" $args 2>&1 | head -2 | tr '\n' ' ')"; continue; }
	pass "status_ts_bad_input_$i"
done
