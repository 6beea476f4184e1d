#!/usr/bin/env bash
# Fleet mode in the lab: kernel_icmp_rtt --metrics on VM-S, icmp_drop_detector
# --metrics on HS, in record mode and in --quiet mode (histograms kept in the
# kernel), scraped by curl, checked by promtool, and by a real Prometheus
# whose HTTP API must return the series and answer every query of
# contrib/'s dashboard and rules. Truth: ping's own count of echoes.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
NS=$NETSEG_BIN/netseg
L="tm$$"
N=50
BASE=$((30000 + $$ % 20000))
VM_S=198.18.0.1
VM_R=198.18.0.2

if ! is_root; then
	skip lab_metrics "needs root (the lab, BPF)"
	exit 0
fi
for c in curl jq promtool prometheus; do
	command -v $c >/dev/null || { fail lab_metrics_setup "$c is missing (tools/deps.txt)"; exit 1; }
done
t_lab_up "$L" || { fail lab_metrics_up "$(head -c 300 "$T_TMP/$L.uperr")"; exit 1; }

# tracer NAME PORT BIN ARGS...: in the root namespace, watching a lab one
# (--netns), serving /metrics on 127.0.0.1:PORT
tracer() {
	local name=$1 port=$2 bin=$3
	shift 3
	t_bg "$T_TMP/$name.out" "$NETSEG_BIN/$bin" -j --metrics 127.0.0.1:"$port" --ready-file "$T_TMP/$name.ready" "$@"
	eval "pid_$name=$T_LAST_PID"
	t_wait_file "$T_TMP/$name.ready" 10 || { fail "lab_metrics_$name" "never ready: $(head -c 300 "$T_TMP/$name.out.err")"; return 1; }
}
scrape() { curl -s --max-time 5 "http://127.0.0.1:$1/metrics"; }
# sample PORT SERIES: the value of one series (exact name and labels)
sample() { scrape "$1" | awk -v s="$2" '$1 == s { print $2; exit }'; }

# run MODE ARGS...: both tracers (ports BASE+k), N pings; leaves scrapes in $T_TMP/MODE.*.prom
run() {
	local mode=$1 k=$2
	shift 2
	tracer "rtt_$mode" $((BASE + k)) kernel_icmp_rtt --netns "$L-svm" --src-ip $VM_S --dst-ip $VM_R "$@" || return 1
	tracer "idd_$mode" $((BASE + k + 1)) icmp_drop_detector --netns "$L-shost" --src-ip $VM_S --dst-ip $VM_R \
		--vm-interface vnet0 --phy-interface phy0 "$@" || return 1
	ip netns exec "$L-svm" ping -n -c $N -i 0.05 -W 2 $VM_R >"$T_TMP/$mode.ping" 2>&1
	sleep 0.5
	scrape $((BASE + k)) >"$T_TMP/$mode.rtt.prom"
	scrape $((BASE + k + 1)) >"$T_TMP/$mode.idd.prom"
}

check_mode() {
	local mode=$1 got recv
	recv=$(awk '/packets transmitted/ {print $4}' "$T_TMP/$mode.ping")
	got=$(awk '$1 == "netseg_segment_seconds_count{tool=\"kernel_icmp_rtt\",segment=\"total\"}" {print $2}' "$T_TMP/$mode.rtt.prom")
	check "lab_metrics_${mode}_rtt_histogram_counts_every_echo" "total count $got, ping received $recv" \
		test -n "$got" -a "$got" = "$recv" -a "$recv" = $N
	got=$(awk '$1 == "netseg_echoes_total{tool=\"icmp_drop_detector\",state=\"complete\"}" {print $2}' "$T_TMP/$mode.idd.prom")
	drops=$(awk '$1 ~ /^netseg_drops_total/ {s += $2} END {print s + 0}' "$T_TMP/$mode.idd.prom")
	check "lab_metrics_${mode}_detector_counts_complete_no_drops" "complete $got, drops $drops, ping $recv" \
		test "$got,$drops" = "$recv,0"
	for t in rtt idd; do
		check "lab_metrics_${mode}_${t}_promtool_accepts" "$(promtool check metrics <"$T_TMP/$mode.$t.prom" 2>&1 | head -3)" \
			quiet promtool check metrics <"$T_TMP/$mode.$t.prom"
	done
}

run record 0 && check_mode record
# quiet: no record per echo on stdout, the same numbers from the kernel's maps
run quiet 10 --quiet && check_mode quiet
check lab_metrics_quiet_prints_no_echo "$(jq -c 'select(.type=="echo")' "$T_TMP/rtt_quiet.out" | wc -l) echo records" \
	test "$(jq -c 'select(.type=="echo")' "$T_TMP/rtt_quiet.out" | wc -l)" = 0

# A real Prometheus scrapes all four endpoints
PROM=$((BASE + 20))
cat >"$T_TMP/prom.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ['$PWD/contrib/prometheus/netseg-rules.yml']
scrape_configs:
  - job_name: netseg-lab
    static_configs:
      - targets: ['127.0.0.1:$BASE', '127.0.0.1:$((BASE + 1))', '127.0.0.1:$((BASE + 10))', '127.0.0.1:$((BASE + 11))']
EOF
t_bg "$T_TMP/prom.log" prometheus --config.file="$T_TMP/prom.yml" --storage.tsdb.path="$T_TMP/tsdb" \
	--web.listen-address=127.0.0.1:$PROM
prom_pid=$T_LAST_PID
api() { curl -s --max-time 5 -G "http://127.0.0.1:$PROM/api/v1/query" --data-urlencode "query=$1"; }
# the record-mode tracer still runs: it saw both rounds of pings, the quiet one the second
q='netseg_segment_seconds_count{tool="kernel_icmp_rtt",segment="total"}'
for _ in $(seq 60); do
	n=$(api "$q" | jq -r '.data.result | length' 2>/dev/null)
	[ "${n:-0}" -ge 2 ] && break
	sleep 0.5
done
vals=$(api "$q" | jq -r '[.data.result[].value[1] | tonumber] | sort | map(tostring) | join(",")')
check lab_metrics_prometheus_scrapes_the_series "Prometheus has kernel_icmp_rtt total counts [$vals] (want $N,$((2 * N)))" \
	test "$vals" = "$N,$((2 * N))"
# every query of the dashboard and the rules, with its variables filled
bad=""
while IFS= read -r q; do
	q=${q//\$__rate_interval/1m}
	q=${q//\$instance/.*}
	q=${q//\$tool/kernel_icmp_rtt}
	q=${q//\$segment/total}
	st=$(api "$q" | jq -r .status 2>/dev/null)
	[ "$st" = success ] || bad="$bad [$q: ${st:-no answer}]"
done < <(jq -r '.. | objects | select(has("expr")) | .expr' contrib/grafana/netseg-dashboard.json
	awk '/expr:/ { sub(/^[^:]*expr: */, ""); print }' contrib/prometheus/netseg-rules.yml)
check lab_metrics_contrib_queries_run "queries that failed:$bad" test -z "$bad"
check lab_metrics_contrib_config_checks "$(promtool check config contrib/prometheus/prometheus.yml 2>&1 | tail -3)" \
	quiet promtool check config contrib/prometheus/prometheus.yml
t_stop "$prom_pid" TERM

# A scrape storm during a ping flood holds nothing up: no record lost
( for _ in $(seq 200); do scrape $((BASE + 10)) >/dev/null; scrape $((BASE)) >/dev/null; done ) &
storm=$!
ip netns exec "$L-svm" ping -n -q -f -c 5000 $VM_R >"$T_TMP/flood.ping" 2>&1
wait $storm
lost_r=$(sample $BASE 'netseg_records_lost_total{tool="kernel_icmp_rtt"}')
lost_q=$(sample $((BASE + 10)) 'netseg_records_lost_total{tool="kernel_icmp_rtt"}')
check lab_metrics_scrapes_during_a_flood_lose_nothing "records lost: record mode $lost_r, quiet $lost_q" \
	test "$lost_r,$lost_q" = "0,0"

for p in rtt_record idd_record rtt_quiet idd_quiet; do t_stop "$(eval echo "\$pid_$p")" INT; done
# The detector's per-side counts are the kernel's: quiet mode has them too
# (every request came in on the VM side, from VM-S)
for m in record quiet; do
	sides=$(jq -r 'select(.type=="summary") | "\(.complete) \(.rx_on_vm_side) \(.rx_on_phy_side)"' "$T_TMP/idd_$m.out")
	read -r c v p <<<"$sides"
	check "lab_metrics_${m}_detector_counts_sides" "complete $c, rx on vm side $v, on phy side $p" \
		test "${c:-0}" -ge $N -a "$v" = "$c" -a "$p" = 0
done
