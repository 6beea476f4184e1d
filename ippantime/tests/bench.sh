#!/usr/bin/env bash
# make bench (P6): 40 nodes x 600 samples at 25 ms against `ippantime sim` on 127.0.0.1.
# Reports wall time / (600 x 25 ms) (goal <= 1.03), per-node sample spacing p99 - 25 ms,
# both for fresh and reused connections, and the offset error against the injected truth
# (user-space timestamps). Speed goals live here only, never in the test suite.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MOD=$(dirname "$HERE")
IPT=${IPPANTIME_BIN:-$MOD/.output/ippantime}
NODES=${BENCH_NODES:-40}
SAMPLES=${BENCH_SAMPLES:-600}
INTERVAL=${BENCH_INTERVAL_MS:-25}
. "$HERE/lib.sh"
trap 'ipt_cleanup' EXIT

d=$(mktmp)
# node i: offset (i * 7919 mod 20001) - 10000 us, so the truth differs per node
for ((i = 0; i < NODES; i++)); do
	echo "node $i offset_us=$(( (i * 7919) % 20001 - 10000 ))"
done >"$d/sim.conf"
start_sim "$d" --nodes "$NODES" --config "$d/sim.conf" --threads "${BENCH_SIM_THREADS:-2}" || exit 1
echo "bench P6: $NODES nodes x $SAMPLES samples every $INTERVAL ms, sim on 127.0.0.1:$SIM_BASE ($(nproc) CPUs)"
printf '%-7s %8s %8s %10s %14s %14s %16s %16s\n' mode wall_s ideal_s ratio spacing_p50_ms "spacing_p99-iv" "off_err_med_us" "off_err_max_us"
for mode in fresh reuse; do
	t0=$(date +%s%N)
	"$IPT" probe --targets-json "$(targets_json "$SIM_BASE" "$NODES")" --samples "$SAMPLES" \
		--interval-ms "$INTERVAL" --timeout 2 --connection "$mode" --kernel-ts off --probe-name "bench-$mode" \
		--out "$d/$mode.csv" --json >"$d/$mode.json" || { echo "probe failed"; exit 1; }
	t1=$(date +%s%N)
	awk -v ext=$(( (t1 - t0) / 1000000 )) -v mode="$mode" -v iv="$INTERVAL" -v conf="$d/sim.conf" '
		BEGIN { while ((getline l < conf) > 0) { split(l, a, /[ =]/); truth[sprintf("node-%02d", a[2])] = a[4] } }
		/"wall_s"/ { gsub(/[,]/, "", $2); wall = $2 }
		/"ideal_s"/ { gsub(/[,]/, "", $2); ideal = $2 }
		/"node":/ { gsub(/[",]/, "", $2); node = $2 }
		/"off_us_p50"/ { gsub(/,/, "", $2); if ($2 != "null") { e = $2 - truth[node]; if (e < 0) e = -e; errs[n++] = e } }
		/"spacing_ms_p50"/ { gsub(/,/, "", $2); sp50[m50++] = $2 }
		/"spacing_ms_p99"/ { gsub(/,/, "", $2); sp99[m99++] = $2 }
		function med(arr, k,   i, j, t) { for (i = 0; i < k; i++) for (j = i + 1; j < k; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t } return k % 2 ? arr[(k - 1) / 2] : (arr[k / 2 - 1] + arr[k / 2]) / 2 }
		function max(arr, k,   i, x) { x = arr[0]; for (i = 1; i < k; i++) if (arr[i] > x) x = arr[i]; return x }
		END {
			printf "%-7s %8.3f %8.3f %10.4f %14.3f %14.3f %16.1f %16.1f\n", mode, wall, ideal, wall / ideal,
				med(sp50, m50), max(sp99, m99) - iv, med(errs, n), max(errs, n)
			printf "        (process wall incl. start-up: %.3f s, ratio %.4f; spacing column: worst node p99 - interval)\n", ext / 1000, ext / 1000 / ideal
		}' "$d/$mode.json"
	# how long firing one round takes: t0 of the last node minus t0 of the first, per round
	awk -F, -v first=node-00 -v last="$(printf 'node-%02d' $((NODES - 1)))" '
		NR > 1 && $3 == first { a[$2] = substr($6, 5) + 0 }
		NR > 1 && $3 == last { b[$2] = substr($6, 5) + 0 }
		END { n = 0; for (k in a) if (k in b) v[n++] = (b[k] - a[k]) / 1e6
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			printf "        (round fire spread, first to last node t0: p50 %.2f ms, p99 %.2f ms)\n", v[int(n / 2)], v[int(n * 0.99)] }' "$d/$mode.csv"
done
