#!/usr/bin/env bash
# `sudo make demo` (tools/demo.sh) does what the README says: the seed's
# whole workflow on the built-in lab, a breakdown whose layers add up to the
# RTT with the residual shown, the report files kept, the lab removed.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

if ! is_root; then
	skip demo "needs root"
	exit 0
fi
if [ ! -w /dev/kvm ]; then
	skip demo "needs /dev/kvm for the lab's KVM irqfds"
	exit 0
fi
out=$T_TMP/demo
DEMO_OUT=$out OUTPUT=${OUTPUT:-$PWD/.output} timeout 300 bash "$(dirname "$0")/../../tools/demo.sh" >"$T_TMP/demo.txt" 2>&1
rc=$?
check demo_runs_to_the_end "rc $rc: $(tail -c 300 "$T_TMP/demo.txt")" test "$rc" -eq 0
check demo_prints_the_breakdown "no layers table with its residual in the output" \
	grep -q '^| residual | mean RTT - sum of the layers' "$T_TMP/demo.txt"
sum=$(jq -r '[.layers[].mean_us] | add' "$out/report.json" 2>/dev/null)
rtt=$(jq -r '.rtt.mean_us' "$out/report.json" 2>/dev/null)
check demo_layers_add_up_to_the_rtt "layers sum $sum, mean RTT $rtt" \
	awk -v s="$sum" -v r="$rtt" 'BEGIN {d = s - r; exit !(r > 0 && d < 0.01 && d > -0.01)}'
missing=
for f in sfsvm-send.log sfsvm-recv.log host-send.log host-recv.log vhost-recv-request.log vhost-send-reply.log report.md report.json report.svg; do
	[ -s "$out/$f" ] || missing="$missing $f"
done
check demo_keeps_the_logs_and_reports "missing:$missing" test -z "$missing"
left=$(ip netns list | grep -c '^demo[0-9]*-')
check demo_removes_its_lab "$left demo namespaces left" test "$left" -eq 0
