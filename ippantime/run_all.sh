#!/usr/bin/env bash
# Single entry point: check tools, generate targets, run the mesh, list the outputs.
set -euo pipefail

echo "== IPPAN TIME MESH TEST =="
BASE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INV="${IPPANTIME_INVENTORY:-$BASE_DIR/inventory.yaml}"
OUTDIR="${IPPANTIME_OUT_DIR:-$BASE_DIR/out}"
export IPPANTIME_INVENTORY="$INV" IPPANTIME_OUT_DIR="$OUTDIR"

IPT="${IPPANTIME_BIN:-}"
[ -n "$IPT" ] || { [ -x "$BASE_DIR/.output/ippantime" ] && IPT="$BASE_DIR/.output/ippantime"; } || true
[ -n "$IPT" ] || IPT="$(command -v ippantime || true)"
if [ -z "$IPT" ]; then
	echo "ippantime not built yet: make -C $BASE_DIR"
	make -C "$BASE_DIR" >/dev/null
	IPT="$BASE_DIR/.output/ippantime"
fi
export IPPANTIME_BIN="$IPT"

# 1) local sanity: tools and targets
for tool in ssh rsync; do
	command -v "$tool" >/dev/null || { echo "ERROR: $tool is required" >&2; exit 1; }
done
"$IPT" --version
"$IPT" gen-targets "$INV" >/dev/null
echo "Targets generation OK"

# 2) run mesh probes remotely and collect (a failed probe does not hide the others' report)
rc=0
bash "$BASE_DIR/run_mesh_from_all_probes.sh" || rc=$?

# 3) final outputs
echo
echo "Artifacts:"
ls -la "$OUTDIR" || true
echo
echo "Open:"
echo " - $OUTDIR/REPORT.md"
exit "$rc"
