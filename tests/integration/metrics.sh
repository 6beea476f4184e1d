#!/usr/bin/env bash
# --metrics: a tracer's Prometheus endpoint. kernel_icmp_rtt between two
# namespaces with ping's own received count as the truth, pktwatch on the
# host's loopback, icmp_drop_detector on a bridging host whose peer drops
# every reply; promtool and an OpenMetrics parser judge the exposition,
# strace says whether a refused --metrics loaded anything.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
RTT=$NETSEG_BIN/kernel_icmp_rtt
PW=$NETSEG_BIN/pktwatch
IDD=$NETSEG_BIN/icmp_drop_detector
A=198.18.26.1
B=198.18.26.2
N=20
# Debian's python3 (the one with python3-prometheus-client), not whatever
# python3 comes first on PATH
PY=/usr/bin/python3

if ! is_root; then
	skip metrics_tests "needs root (namespaces, BPF)"
	exit 0
fi
for tool in curl promtool strace jq; do
	command -v $tool >/dev/null || { fail "metrics_needs_$tool" "not installed (make deps)"; exit 1; }
done
t_netns_pair s r $A $B || { fail metrics_setup "cannot create namespaces"; exit 1; }

# scrape NS URL [ACCEPT]: the body into $T_TMP/body, headers into $T_TMP/head
scrape() {
	local where=$1 url=$2 accept=${3:-}
	local hdr=()
	[ -n "$accept" ] && hdr=(-H "Accept: $accept")
	ip netns exec "$(ns "$where")" curl -sS --max-time 5 -D "$T_TMP/head" -o "$T_TMP/body" \
		"${hdr[@]}" "$url"
}
# sample NAME{LABELS}: its value in $T_TMP/body (empty when absent)
sample() { grep -F -- "$1 " "$T_TMP/body" | awk '{print $2}' | head -n 1; }
status() {
	ip netns exec "$(ns "$1")" curl -s --max-time 5 -o /dev/null -w '%{http_code}' "${@:3}" "$2"
}

# 1. kernel_icmp_rtt in namespace a, quiet, metrics on a port it chooses
t_tracer rtt s "$RTT" --src-ip $A --dst-ip $B --metrics 127.0.0.1:0 --quiet || exit 1
addr=$(jq -r .metrics "$T_TMP/rtt.ready")
check metrics_ready_record_names_the_bound_address "ready says '$addr'" \
	grep -qE '^127\.0\.0\.1:[1-9][0-9]*$' <<<"$addr"
url=http://$addr/metrics
ip netns exec "$(ns s)" ping -n -c $N -i 0.05 $B >"$T_TMP/ping" 2>&1
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T_TMP/ping")
# records reach user space within a poll (100 ms); give it a few
total='netseg_segment_seconds_count{tool="kernel_icmp_rtt",segment="total"}'
for _ in $(seq 30); do
	scrape s "$url" && [ "$(sample "$total")" = "$received" ] && break
	sleep 0.1
done
check metrics_total_count_equals_pings_received "count $(sample "$total"), ping received '$received' of $N" \
	test -n "$received" -a "$received" -gt 0 -a "$(sample "$total")" = "$received"
complete=$(sample 'netseg_echoes_total{tool="kernel_icmp_rtt",state="complete"}')
check metrics_echoes_complete_equals_pings_received "complete '$complete', received $received" \
	test "$complete" = "$received"
inf=$(sample 'netseg_segment_seconds_bucket{tool="kernel_icmp_rtt",segment="total",le="+Inf"}')
check metrics_inf_bucket_equals_count "+Inf bucket '$inf', count $(sample "$total")" test "$inf" = "$(sample "$total")"
# cumulative: no bucket of a segment below the one before it
bad=$(awk -F'[{}]' '/^netseg_segment_seconds_bucket/ {
	split($2, l, ",le="); v = $3 + 0
	if (l[1] == prev && v < last) n++
	prev = l[1]; last = v
} END { print n + 0 }' "$T_TMP/body")
check metrics_buckets_are_cumulative "$bad buckets below their predecessor" test "$bad" -eq 0
check metrics_text_content_type "$(grep -i '^content-type' "$T_TMP/head")" \
	grep -qi '^content-type: text/plain; version=0.0.4; charset=utf-8' "$T_TMP/head"
promtool check metrics <"$T_TMP/body" >"$T_TMP/promtool" 2>&1
rc=$?
check metrics_promtool_check_passes "rc=$rc: $(head -c 400 "$T_TMP/promtool")" test $rc -eq 0 -a ! -s "$T_TMP/promtool"
stages=$(jq -r '.tiers | to_entries[] | select(.value.tier != "unavailable") | .key' "$T_TMP/rtt.ready" | sort | tr '\n' ' ')
tier_stages=$(sed -n 's/^netseg_tier_info{.*stage="\([^"]*\)".*} 1$/\1/p' "$T_TMP/body" | sort -u | tr '\n' ' ')
check metrics_tier_info_has_every_attached_stage "ready [$stages], metrics [$tier_stages]" \
	test -n "$stages" -a "$stages" = "$tier_stages"
check metrics_build_info "no build info" \
	grep -q '^netseg_build_info{tool="kernel_icmp_rtt",version="[0-9.]*"} 1$' "$T_TMP/body"

# OpenMetrics when asked, as Prometheus asks
scrape s "$url" 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
check metrics_openmetrics_negotiated "$(grep -i '^content-type' "$T_TMP/head")" \
	grep -qi '^content-type: application/openmetrics-text; version=1.0.0; charset=utf-8' "$T_TMP/head"
check metrics_openmetrics_ends_with_eof "last line '$(tail -n 1 "$T_TMP/body")'" \
	test "$(tail -n 1 "$T_TMP/body")" = "# EOF"
if $PY -c 'import prometheus_client.openmetrics.parser' 2>/dev/null; then
	$PY - "$T_TMP/body" >"$T_TMP/omparse" 2>&1 <<'EOF'
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
assert fams["netseg_segment_seconds"].type == "histogram", fams.keys()
assert fams["netseg_echoes"].type == "counter"
assert fams["netseg_build"].type == "info"
EOF
	rc=$?
	check metrics_openmetrics_parses "rc=$rc: $(tail -n 3 "$T_TMP/omparse")" test $rc -eq 0
else
	fail metrics_openmetrics_parses "no prometheus_client for $PY (python3-prometheus-client, make deps)"
fi
check metrics_other_paths_404 "got $(status s "http://$addr/")" test "$(status s "http://$addr/")" = 404
check metrics_other_methods_405 "got $(status s "$url" -X POST)" test "$(status s "$url" -X POST)" = 405

# 2. bad --metrics: one line, exit 2, nothing loaded (strace sees every
# bpf() and perf_event_open(); the tier probe alone would load programs)
bad() {
	local name=$1 text=$2 rc
	shift 2
	# LeakSanitizer cannot run under ptrace (it ends the process with 1):
	# a sanitized build is traced without it
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
		ip netns exec "$(ns s)" strace -f -qq -e trace=bpf,perf_event_open -o "$T_TMP/$name.strace" \
		"$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
	rc=$?
	check "$name" "rc=$rc: $(head -c 200 "$T_TMP/$name.err")" \
		test $rc -eq 2 -a "$(wc -l <"$T_TMP/$name.err")" -eq 1 -a ! -s "$T_TMP/$name.out"
	check "${name}_names_value_and_why" "$(cat "$T_TMP/$name.err")" grep -qF -- "$text" "$T_TMP/$name.err"
	check "${name}_loads_nothing" "$(grep -cE 'BPF_PROG_LOAD|BPF_LINK_CREATE|BPF_RAW_TRACEPOINT_OPEN|perf_event_open' "$T_TMP/$name.strace") loads/attaches" \
		test "$(grep -cE 'BPF_PROG_LOAD|BPF_LINK_CREATE|BPF_RAW_TRACEPOINT_OPEN|perf_event_open' "$T_TMP/$name.strace")" -eq 0
}
# programs of the tool's prefix nobody holds: what a failed start could leave
orphans() { bpftool prog show -j | jq '[.[] | select((.name // "") | startswith("rtt_")) | select((.pids // []) | length == 0)] | length'; }
before=$(orphans)
bad metrics_port_in_use_exit_2 "--metrics '$addr': port in use" "$RTT" --metrics "$addr"
bad metrics_bad_address_exit_2 "--metrics '1.2.3:99': not an IPv4 address" "$RTT" --metrics 1.2.3:99
bad metrics_nonsense_exit_2 "--metrics 'nonsense': expected ADDR:PORT" "$RTT" --metrics nonsense
after=$(orphans)
check metrics_refused_starts_leave_no_program "rtt_ programs without a holder: $before before, $after after" \
	test "$before" = "$after"

pid=$pid_rtt
t_tracer_stop rtt
rc=$?
check metrics_tracer_exits_cleanly_while_serving "exit $rc: $(head -c 300 "$T_TMP/rtt.json.err")" test $rc -eq 0
n_echo=$(t_records rtt echo | wc -l)
check metrics_quiet_prints_no_echo_but_the_summary "$n_echo echo records, summary completed '$(t_summary rtt .echoes_completed)'" \
	test "$n_echo" -eq 0 -a "$(t_summary rtt .echoes_completed)" = "$received"
code=$(status s "$url")
check metrics_endpoint_gone_after_exit "pid $pid gone, $url answered $code" test "$code" = 000

# 3. pktwatch on the host's loopback: no spans, still a citizen
t_bg "$T_TMP/pw.json" "$PW" -j --quiet --ready-file "$T_TMP/pw.ready" --metrics 127.0.0.1:0 --host $A
pw=$T_LAST_PID
if t_wait_file "$T_TMP/pw.ready" 10; then
	pwaddr=$(jq -r .metrics "$T_TMP/pw.ready")
	curl -sS --max-time 5 -o "$T_TMP/body" "http://$pwaddr/metrics"
	check metrics_pktwatch_records_lost_and_build_info "$(head -c 300 "$T_TMP/body")" \
		grep -q '^netseg_records_lost_total{tool="pktwatch"} 0$' "$T_TMP/body"
	check metrics_pktwatch_no_span_families "$(grep -c 'netseg_echoes\|netseg_segment' "$T_TMP/body") span lines" \
		test "$(grep -c 'netseg_echoes\|netseg_segment' "$T_TMP/body")" -eq 0
	promtool check metrics <"$T_TMP/body" >"$T_TMP/promtool" 2>&1
	rc=$?
	check metrics_pktwatch_promtool_check_passes "rc=$rc: $(head -c 300 "$T_TMP/promtool")" test $rc -eq 0 -a ! -s "$T_TMP/promtool"
else
	fail metrics_pktwatch_ready "never ready: $(head -c 300 "$T_TMP/pw.json.err")"
fi
t_stop "$pw" INT

# 4. icmp_drop_detector on a host bridging a and b, b's replies dropped by
# b itself (beyond this host): each of ping's unanswered echoes is a drop
# "lost_outside", decided at the timeout
t_bridge_host 198.18.27.1 198.18.27.2 || { fail metrics_idd_setup "cannot build the bridge topology"; exit 1; }
# the scraper reaches the endpoint on h's own loopback
ip -n "$(ns h)" link set lo up
t_tracer idd h "$IDD" --vm-interface h-a --phy-interface h-b --timeout-ms 300 --metrics 127.0.0.1:0 -q || exit 1
iddurl=http://$(jq -r .metrics "$T_TMP/idd.ready")/metrics
ip netns exec "$(ns b)" nft -f - <<'NFT'
table inet metricsdrop { chain out { type filter hook output priority 0; icmp type echo-reply drop; }; }
NFT
ip netns exec "$(ns a)" ping -n -c 5 -i 0.1 -W 1 198.18.27.2 >"$T_TMP/idd.ping" 2>&1
lost=$(( $(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1-\2/p' "$T_TMP/idd.ping") ))
drops='netseg_drops_total{tool="icmp_drop_detector",class="lost_outside",reason="unknown"}'
for _ in $(seq 30); do
	scrape h "$iddurl" && [ "$(sample "$drops")" = "$lost" ] && break
	sleep 0.1
done
check metrics_idd_drops_by_class_equal_pings_lost "$(grep '^netseg_drops_total' "$T_TMP/body" | tr '\n' ' '), ping lost $lost" \
	test "$lost" -eq 5 -a "$(sample "$drops")" = "$lost"
expired=$(sample 'netseg_echoes_total{tool="icmp_drop_detector",state="expired"}')
check metrics_idd_expired_echoes_counted "expired '$expired', lost $lost" test "$expired" = "$lost"
promtool check metrics <"$T_TMP/body" >"$T_TMP/promtool" 2>&1
rc=$?
check metrics_idd_promtool_check_passes "rc=$rc: $(head -c 300 "$T_TMP/promtool")" \
	test $rc -eq 0 -a ! -s "$T_TMP/promtool" -a -s "$T_TMP/body"
t_tracer_stop idd
