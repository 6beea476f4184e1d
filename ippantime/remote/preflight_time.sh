#!/usr/bin/env bash
# Clock health of this host: timedatectl, systemd-timesyncd and chrony state.
# Ours: prints WARN lines and exits 1 when the clock is not synchronized or chrony's offset
# is above PREFLIGHT_MAX_OFFSET_MS (default 10 ms); exit 0 otherwise.
set -uo pipefail
MAX_MS="${PREFLIGHT_MAX_OFFSET_MS:-10}"
warn=0

echo "== timedatectl =="
timedatectl 2>/dev/null || echo "(timedatectl not available)"
echo
echo "== timesync-status =="
timedatectl timesync-status 2>/dev/null || echo "(systemd-timesyncd not available)"
echo
echo "== chrony tracking =="
tracking="$(chronyc tracking 2>/dev/null)" && echo "$tracking" || echo "(chronyc not available)"
echo

synced="$(timedatectl show -p NTPSynchronized --value 2>/dev/null || true)"
if [ "$synced" = "no" ]; then
	echo "WARN: system clock is not synchronized (timedatectl NTPSynchronized=no)"
	warn=1
fi
if [ -n "${tracking:-}" ]; then
	# "System time     : 0.000012345 seconds fast of NTP time"
	off_s="$(echo "$tracking" | awk -F': ' '/^System time/ {split($2, a, " "); print a[1]}')"
	leap="$(echo "$tracking" | awk -F': ' '/^Leap status/ {print $2}')"
	if [ "$leap" = "Not synchronised" ]; then
		echo "WARN: chrony is not synchronised"
		warn=1
	fi
	if [ -n "$off_s" ] && awk -v s="$off_s" -v m="$MAX_MS" 'BEGIN{exit !(s*1000 > m || s*1000 < -m)}'; then
		echo "WARN: chrony offset ${off_s} s is above ${MAX_MS} ms"
		warn=1
	fi
fi
if [ "$synced" = "" ] && [ -z "${tracking:-}" ]; then
	echo "WARN: no time service state found (neither timedatectl nor chronyc)"
	warn=1
fi
[ "$warn" -eq 0 ] && echo "Clock OK"
exit "$warn"
