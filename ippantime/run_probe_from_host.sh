#!/usr/bin/env bash
# Run one probe on this host: wait (up to 120 s) until every target exposes the clock field,
# then sample. `ippantime run` calls this over ssh on every probe host; it also works by hand:
#   bash run_probe_from_host.sh tr-a
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROBE_NAME="${1:?usage: run_probe_from_host.sh <probe-name>}"
INV="${IPPANTIME_INVENTORY:-$SCRIPT_DIR/inventory.yaml}"
OUTDIR="${IPPANTIME_OUT_DIR:-$SCRIPT_DIR/out}"
READY_TIMEOUT="${IPPANTIME_READY_TIMEOUT:-120}"
READY_INTERVAL="${IPPANTIME_READY_INTERVAL:-2}"

find_ippantime() {
	local c
	for c in "${IPPANTIME_BIN:-}" "$SCRIPT_DIR/ippantime" "$SCRIPT_DIR/.output/ippantime"; do
		[ -n "$c" ] && [ -x "$c" ] && [ ! -d "$c" ] && { echo "$c"; return 0; }
	done
	command -v ippantime 2>/dev/null
}
IPT="$(find_ippantime)" || { echo "ERROR: ippantime binary not found (build it: make -C ippantime)" >&2; exit 1; }
if ! "$IPT" --version; then
	echo "ERROR: $IPT does not start on this host (missing libcurl4? apt-get install libcurl4)" >&2
	exit 1
fi

echo "== Readiness gate: waiting for the clock field on all targets (<=${READY_TIMEOUT}s) =="
deadline=$((SECONDS + READY_TIMEOUT))
while :; do
	rc=0
	report="$("$IPT" check-targets "$INV" --mode auto 2>&1)" || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "Readiness OK: $(echo "$report" | sed -n 's/^OK: *//p') targets expose the field"
		break
	fi
	if [ "$rc" -eq 2 ]; then
		echo "ERROR: $report" >&2
		exit 2
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		echo "ERROR: readiness gate timed out. Not ready:" >&2
		echo "$report" | sed -n '/^== MISSING ==$/,$p' | tail -n +2 >&2
		exit 1
	fi
	sleep "$READY_INTERVAL"
done

mkdir -p "$OUTDIR"
OUT="$OUTDIR/ippantime_${PROBE_NAME}.csv"
# shellcheck disable=SC2086  # IPPANTIME_PROBE_ARGS is a list of extra flags
"$IPT" probe --inventory "$INV" --probe-name "$PROBE_NAME" --out "$OUT" ${IPPANTIME_PROBE_ARGS:-}
echo "OK: $OUT"
