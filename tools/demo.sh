#!/usr/bin/env bash
# `sudo make demo`: what this kernel allows (netseg doctor), then the lab
# (two hosts, two VMs, real taps and a KVM irqfd per VM): one echo followed
# through every device by pktwatch, and kernel_icmp_rtt on both VMs while
# VM-S pings VM-R. Everything is removed on exit.
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

echo "== kernel_icmp_rtt on VM-S and VM-R, icmp_drop_detector on HS and HR (the seed's command lines) =="
echo "   5 pings, then 2 more while an nftables rule on HR drops echo replies coming from VM-R"
for role in vm-s vm-r; do
	"$BIN/netseg" lab exec $role --prefix "$P" -- "$BIN/kernel_icmp_rtt" --src-ip 198.18.0.1 --dst-ip 198.18.0.2 \
		--ready-file "$TMP/$role.ready" >"$TMP/$role.log" 2>&1 &
	PIDS+=($!)
	wait_ready "$TMP/$role.ready"
done
for role in hs hr; do
	"$BIN/netseg" lab exec $role --prefix "$P" -- "$BIN/icmp_drop_detector" --src-ip 198.18.0.1 --dst-ip 198.18.0.2 \
		--phy-interface phy0 --vm-interface vnet0 --timeout-ms 300 --ready-file "$TMP/$role.ready" >"$TMP/$role.log" 2>&1 &
	PIDS+=($!)
	wait_ready "$TMP/$role.ready"
done
"$BIN/netseg" lab exec vm-s --prefix "$P" -- ping -n -c 5 -i 0.2 198.18.0.2 >"$TMP/ping"
"$BIN/netseg" lab exec hr --prefix "$P" -- nft -f - <<'NFT'
table netdev netseg_demo { chain c { type filter hook ingress device vnet0 priority 0; icmp type echo-reply drop; }; }
NFT
"$BIN/netseg" lab exec vm-s --prefix "$P" -- ping -n -c 2 -i 0.2 -W 1 198.18.0.2 >/dev/null
"$BIN/netseg" lab exec hr --prefix "$P" -- nft delete table netdev netseg_demo
sleep 0.5
for p in "${PIDS[@]}"; do kill -INT "$p"; wait "$p"; done
PIDS=()
echo "-- VM-S (sfsvm-send.log) --"
cat "$TMP/vm-s.log"
echo
echo "-- VM-R (sfsvm-recv.log), summary --"
sed -n '/^SUMMARY/,$p' "$TMP/vm-r.log"
echo
echo "-- HS (host-send.log), echoes and drops --"
grep -v -E '^(SUMMARY|DROP| |$|segment|ReqInternal|External|RepInternal|Total)' "$TMP/hs.log" | head -20
grep -A2 '^DROP' "$TMP/hs.log" | head -6
echo
echo "-- HR (host-recv.log), echoes and drops --"
grep -v -E '^(SUMMARY|DROP| |$|segment|ReqInternal|External|RepInternal|Total)' "$TMP/hr.log" | head -20
grep -A2 '^DROP' "$TMP/hr.log" | head -6
echo
echo "== ping's own view =="
tail -n 2 "$TMP/ping"
