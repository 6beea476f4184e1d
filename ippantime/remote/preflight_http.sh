#!/usr/bin/env bash
# Reachability of one node: show the start of the reply body, then (ours) let ippantime
# read the clock field from it the way the probe will.
#   bash remote/preflight_http.sh http://10.0.0.11:8080/status [FIELD]
set -euo pipefail
URL="${1:?usage: preflight_http.sh URL [FIELD]}"
FIELD="${2:-ippan_time_us}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

echo "curl $URL"
if command -v curl >/dev/null; then
	curl -fsS --max-time 2 "$URL" | head -c 400
	echo
fi

IPT="${IPPANTIME_BIN:-}"
for c in "$HERE/../ippantime" "$HERE/../.output/ippantime"; do
	[ -n "$IPT" ] || { [ -x "$c" ] && [ ! -d "$c" ] && IPT="$c"; } || true
done
[ -n "$IPT" ] || IPT="$(command -v ippantime || true)"
[ -n "$IPT" ] || exit 0

# split URL into base and path for the probe's --status-path
rest="${URL#*://}"
path="/${rest#*/}"
[ "$rest" = "${rest#*/}" ] && path="/status"
base="${URL%"$path"}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$IPT" probe --targets-json "[{\"node\":\"preflight\",\"url\":\"$base\"}]" --status-path "$path" \
	--ippan-field "$FIELD" --samples 1 --timeout 2 --probe-name preflight --out "$tmp/p.csv" | sed -n 's/^preflight/node/p'
err="$(awk -F, 'NR==2 {gsub("\r",""); print $5 == "1" ? "" : $14}' "$tmp/p.csv")"
if [ -n "$err" ]; then
	echo "NOT OK: $err"
	exit 1
fi
echo "OK: '$FIELD' readable"
