#!/usr/bin/env bash
# Run the probes on all probe hosts at the same time over ssh, collect their CSVs, analyze.
# INCLUDE_SERVER_PROBES=1 adds the servers as probes. A failed probe is reported; the others
# complete. ssh runs with BatchMode (no password prompt) and a connect timeout.
set -euo pipefail

BASE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INV="${IPPANTIME_INVENTORY:-$BASE_DIR/inventory.yaml}"
OUTDIR="${IPPANTIME_OUT_DIR:-$BASE_DIR/out}"

IPT="${IPPANTIME_BIN:-}"
[ -n "$IPT" ] || { [ -x "$BASE_DIR/.output/ippantime" ] && IPT="$BASE_DIR/.output/ippantime"; } || true
[ -n "$IPT" ] || IPT="$(command -v ippantime || true)"
[ -n "$IPT" ] || { echo "ERROR: ippantime binary not found (build it: make -C ippantime)" >&2; exit 1; }

mkdir -p "$OUTDIR"
rc=0
"$IPT" run --inventory "$INV" --out-dir "$OUTDIR" --module-dir "$BASE_DIR" "$@" || rc=$?
if [ -f "$OUTDIR/REPORT.md" ]; then
	echo "DONE. See $OUTDIR/REPORT.md"
fi
exit "$rc"
