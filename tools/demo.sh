#!/usr/bin/env bash
# `sudo make demo`: what this kernel allows (netseg doctor), then the lab
# (two hosts, two VMs, real taps and a KVM irqfd per VM): one echo followed
# through every device by pktwatch, then the seed's whole workflow with
# `netseg measure`: six tracers in their roles, 20 pings, the per-echo
# breakdown. The lab is removed on exit; the reports stay in
# ./netseg-demo-report (DEMO_OUT to choose).
set -u
cd "$(dirname "$0")/.."
BIN=${OUTPUT:-$PWD/.output}/bin
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (network namespaces, taps, BPF): sudo make demo" >&2
	exit 1
fi
P="demo$$"
TMP=$(mktemp -d /tmp/netseg-demo.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	"$BIN/netseg" lab down --prefix "$P" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
wait_ready() { for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }

echo "== netseg doctor =="
"$BIN/netseg" doctor
echo
kvm=()
[ -w /dev/kvm ] || kvm=(--no-kvm)
echo "== netseg lab up --prefix $P ${kvm[*]} =="
"$BIN/netseg" lab up --prefix "$P" "${kvm[@]}" || exit 1
echo

echo "== one echo through every device of the lab (pktwatch --netns all) =="
"$BIN/pktwatch" --netns all --host 198.18.0.2 --no-timestamp --ready-file "$TMP/pw.ready" >"$TMP/pw" &
PIDS+=($!)
wait_ready "$TMP/pw.ready"
"$BIN/netseg" lab exec vm-s --prefix "$P" -- ping -n -c 1 198.18.0.2 >/dev/null
sleep 0.2
kill -INT "${PIDS[0]}"
wait "${PIDS[0]}"
PIDS=()
grep -v '^SUMMARY' "$TMP/pw"
echo

echo "== the seed's workflow in one command: netseg measure (the lab adds 200 us of wire each way and 100 us in each vmm-sim toward its VM) =="
"$BIN/netseg" lab down --prefix "$P" >/dev/null 2>&1
"$BIN/netseg" lab up --prefix "$P" "${kvm[@]}" --wire-delay-us 200 --vmm-delay-us 100,0 >/dev/null || exit 1
"$BIN/netseg" lab env --prefix "$P" >"$TMP/env.yaml"
OUT=${DEMO_OUT:-$PWD/netseg-demo-report}
rm -rf "$OUT"
"$BIN/netseg" measure "$TMP/env.yaml" --out "$OUT" --count 20 --interval 0.05 || exit 1
echo
echo "-- the median echo and the layers (from $OUT/report.md) --"
sed -n '/^## The median echo/,/^## Per tool/p' "$OUT/report.md" | grep -v '^## Per tool'
sed -n '/^## Layers/,/^## Validation/p' "$OUT/report.md" | grep -v '^## Validation'
echo "The six logs, report.md, report.json and report.svg are in $OUT"
