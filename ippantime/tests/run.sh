#!/usr/bin/env bash
# The ippantime test suite: one line per test (PASS/FAIL/SKIP), a total, non-zero on failure.
# Integration tests drive the real binary against `ippantime sim` on 127.0.0.1 only.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MOD=$(dirname "$HERE")
IPT=$(realpath "${IPPANTIME_BIN:-$MOD/.output/ippantime}")
UNIT_DIR=$(realpath -m "${IPPANTIME_UNIT_DIR:-$MOD/.output/tests}")
FUZZ_DIR=$(realpath -m "${IPPANTIME_FUZZ_DIR:-$MOD/.output/fuzz}")
export IPT MOD HERE UNIT_DIR FUZZ_DIR
ONLY=${1:-}

. "$HERE/lib.sh"
trap 'ipt_cleanup' EXIT
trap 'ipt_cleanup; exit 130' INT TERM

npass=0 nfail=0 nskip=0
# Each test runs in a subshell: its own cleanup, and a stray `exit` cannot end the suite.
# It prints nothing on success, "SKIP: why" to skip, anything else is the failure reason.
run_test() {
	local name=$1 fn=$2 out rc
	[ -n "$ONLY" ] && [[ "$name" != *$ONLY* ]] && return
	out=$( (trap 'ipt_cleanup' EXIT; "$fn") 2>&1 )
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ]; then
		echo "PASS $name"; npass=$((npass + 1))
	elif [ $rc -eq 77 ]; then
		echo "SKIP $name: ${out:-skipped}" | head -1; nskip=$((nskip + 1))
	else
		echo "FAIL $name: $(printf '%s' "${out:-exit $rc}" | tr '\n' ' ' | cut -c1-400)"; nfail=$((nfail + 1))
	fi
}

for f in "$HERE"/t_*.sh; do
	. "$f"
done

for t in "${TESTS[@]}"; do
	run_test "$t" "$t"
done

echo "$npass passed, $nfail failed, $nskip skipped"
[ $nfail -eq 0 ]
