#!/usr/bin/env bash
# How a tracer's output ends: a reader that goes away (`| head`) stops it by
# itself, and a stop during heavy output loses no record the summary counts.
# pktwatch stands for every tracer: the loop, output and stop step are shared.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
PW=$NETSEG_BIN/pktwatch

if ! is_root; then
	for t in output_head_ends_tracer_with_traffic output_head_ends_tracer_without_traffic \
		output_sigterm_into_slow_pipe_prints_every_counted_record \
		output_sigterm_into_file_prints_every_counted_record; do
		skip "$t" "needs root (network namespaces and BPF)"
	done
	exit 0
fi

t_netns_pair a b 198.18.30.1 198.18.30.2 || { fail output_setup "cannot create namespaces"; exit 1; }

# pid_gone PID SECONDS: wait until PID exits
pid_gone() {
	local i
	for i in $(seq $(($2 * 20))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}

# head_case NAME SECONDS ARGS...: `pktwatch ARGS | head -3`; PASS when the
# whole pipeline is over within SECONDS (pktwatch noticed the reader left)
head_case() {
	local name=$1 limit=$2 start end pw_pid
	shift 2
	start=$(date +%s%N)
	ip netns exec "$(ns a)" "$PW" --ready-file "$T_TMP/$name.ready" "$@" 2>"$T_TMP/$name.err" |
		head -3 >"$T_TMP/$name.out" &
	local pipe_pid=$!
	T_PIDS+=("$pipe_pid")
	if ! t_wait_file "$T_TMP/$name.ready" 10; then
		fail "$name" "pktwatch never became ready: $(head -c 300 "$T_TMP/$name.err")"
		return
	fi
	pw_pid=$(jq -r .pid "$T_TMP/$name.ready")
	if ! pid_gone "$pw_pid" "$limit"; then
		kill -TERM "$pw_pid" 2>/dev/null
		fail "$name" "pktwatch still running ${limit}s after head exited ($(wc -l <"$T_TMP/$name.out") lines read)"
		return
	fi
	wait "$pipe_pid" 2>/dev/null
	end=$(date +%s%N)
	if [ -s "$T_TMP/$name.err" ]; then
		fail "$name" "stderr is not empty: $(head -c 300 "$T_TMP/$name.err")"
	elif [ "$(wc -l <"$T_TMP/$name.out")" -ne 3 ]; then
		fail "$name" "head read $(wc -l <"$T_TMP/$name.out") lines"
	else
		pass "$name ($(((end - start) / 1000000)) ms)"
	fi
}

# 1. with traffic: the next flush fails with EPIPE
ip netns exec "$(ns a)" ping -n -q -i 0.02 198.18.30.2 >/dev/null 2>&1 &
ping_pid=$!
T_PIDS+=("$ping_pid")
head_case output_head_ends_tracer_with_traffic 3
t_stop "$ping_pid" INT

# 2. without traffic: nothing is written, the pipe's POLLERR alone must do it
# (head reads the ready line and the first two echoes of a short ping)
ip netns exec "$(ns a)" bash -c 'sleep 1; ping -n -q -c 1 198.18.30.2' >/dev/null 2>&1 &
ping_pid=$!
T_PIDS+=("$ping_pid")
head_case output_head_ends_tracer_without_traffic 4
t_stop "$ping_pid" INT

# summary_matches NAME FILE: the summary's record count equals the pkt
# records in FILE, and the run really was busy and stopped by SIGTERM
summary_matches() {
	local name=$1 file=$2 counted printed ended
	counted=$(jq -r 'select(.type=="summary") | .records' "$file" 2>/dev/null)
	ended=$(jq -r 'select(.type=="summary") | .ended_by' "$file" 2>/dev/null)
	printed=$(grep -c '^{"type":"pkt"' "$file")
	if [ -z "$counted" ]; then
		fail "$name" "no summary record ($printed pkt records): $(head -c 300 "$file.err" 2>/dev/null)"
	elif [ "$ended" != SIGTERM ]; then
		fail "$name" "summary ended_by=$ended, want SIGTERM"
	elif [ "$counted" -lt 1000 ]; then
		fail "$name" "only $counted records: not the heavy output this test needs"
	elif [ "$counted" -ne "$printed" ]; then
		fail "$name" "summary counts $counted records, output holds $printed"
	else
		pass "$name ($counted records)"
	fi
}

# 3. SIGTERM while blocked writing into a full pipe whose reader sleeps:
# the interrupted write must not drop the buffered records
ip netns exec "$(ns a)" ping -n -q -f 198.18.30.2 >/dev/null 2>&1 &
ping_pid=$!
T_PIDS+=("$ping_pid")
name=output_sigterm_into_slow_pipe_prints_every_counted_record
ip netns exec "$(ns a)" "$PW" -j --ready-file "$T_TMP/slow.ready" 2>"$T_TMP/slow.json.err" |
	{ sleep 3; cat; } >"$T_TMP/slow.json" &
pipe_pid=$!
T_PIDS+=("$pipe_pid")
if t_wait_file "$T_TMP/slow.ready" 10; then
	pw_pid=$(jq -r .pid "$T_TMP/slow.ready")
	sleep 1.5
	kill -TERM "$pw_pid"
	pid_gone "$pw_pid" 20 || kill -KILL "$pw_pid" 2>/dev/null
	wait "$pipe_pid" 2>/dev/null
	summary_matches "$name" "$T_TMP/slow.json"
else
	fail "$name" "pktwatch never became ready"
fi

# 4. the same into a file, stopped mid-flood: the stop step detaches, then
# drains, so the count and the records agree exactly
t_bg "$T_TMP/file.json" ip netns exec "$(ns a)" "$PW" -j --ready-file "$T_TMP/file.ready"
file_pid=$T_LAST_PID
if t_wait_file "$T_TMP/file.ready" 10; then
	sleep 1.5
	t_stop "$file_pid" TERM
	summary_matches output_sigterm_into_file_prints_every_counted_record "$T_TMP/file.json"
else
	fail output_sigterm_into_file_prints_every_counted_record "pktwatch never became ready"
fi
t_stop "$ping_pid" INT
