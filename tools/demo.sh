#!/usr/bin/env bash
# `sudo make demo`: what this kernel allows (netseg doctor), then a short
# ping between two throw-away network namespaces traced by pktwatch.
# Everything it creates carries a per-run prefix and is removed on exit.
set -u
cd "$(dirname "$0")/.."
BIN=${OUTPUT:-$PWD/.output}/bin
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (network namespaces and BPF): sudo make demo" >&2
	exit 1
fi
P="nsdemo$$"
TMP=$(mktemp -d /tmp/netseg-demo.XXXXXX)
PW_PID=
cleanup() {
	[ -n "$PW_PID" ] && kill -TERM "$PW_PID" 2>/dev/null && wait "$PW_PID" 2>/dev/null
	ip netns del "${P}a" 2>/dev/null
	ip netns del "${P}b" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

echo "== netseg doctor =="
"$BIN/netseg" doctor
echo
echo "== pktwatch: 5 pings from ${P}a (198.18.30.1) to ${P}b (198.18.30.2) =="
ip netns add "${P}a" && ip netns add "${P}b" || exit 1
ip link add veth-a netns "${P}a" type veth peer name veth-b netns "${P}b" || exit 1
ip -n "${P}a" addr add 198.18.30.1/24 dev veth-a
ip -n "${P}b" addr add 198.18.30.2/24 dev veth-b
for n in a b; do ip -n "$P$n" link set lo up; ip -n "$P$n" link set "veth-$n" up; done

ip netns exec "${P}a" "$BIN/pktwatch" --ready-file "$TMP/ready" &
PW_PID=$!
for _ in $(seq 100); do [ -s "$TMP/ready" ] && break; sleep 0.05; done
ip netns exec "${P}a" ping -n -c 5 -i 0.2 198.18.30.2 >"$TMP/ping" 2>&1
sleep 0.1
kill -INT "$PW_PID"
wait "$PW_PID"
PW_PID=
echo
echo "== ping's own view =="
tail -n 2 "$TMP/ping"
