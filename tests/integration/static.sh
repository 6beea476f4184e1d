#!/usr/bin/env bash
# Every binary must run on a machine that has none of our libraries:
# statically linked, so ldd finds no libbpf or libelf.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

for bin in "$NETSEG_BIN"/*; do
	name=$(basename "$bin")
	desc=$(file -b "$bin")
	deps=$(ldd "$bin" 2>&1)
	if grep -q "statically linked" <<<"$desc" && ! grep -qE 'libbpf|libelf|libz' <<<"$deps"; then
		pass "static_binary_$name"
	else
		fail "static_binary_$name" "file: $desc; ldd: $(head -c 200 <<<"$deps")"
	fi
done
