#!/usr/bin/env bash
# make install and make dist put every binary and man page where a user
# (or a host receiving the tarball) expects them.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
cd "$(dirname "$0")/../.."
export OUTPUT=${OUTPUT:-$PWD/.output}

dest=$T_TMP/root
if make --no-print-directory install DESTDIR="$dest" PREFIX=/usr/local SANITIZE="${SANITIZE:-}" >"$T_TMP/install.log" 2>&1; then
	missing=""
	for f in sbin/pktwatch sbin/netseg share/man/man8/pktwatch.8 share/man/man8/netseg.8; do
		[ -e "$dest/usr/local/$f" ] || missing="$missing $f"
	done
	check install_puts_binaries_and_man_pages "missing:$missing" test -z "$missing"
	check installed_binary_runs "installed pktwatch --version failed" "$dest/usr/local/sbin/pktwatch" --version
else
	fail install_puts_binaries_and_man_pages "make install failed: $(tail -n 3 "$T_TMP/install.log" | tr '\n' ' ')"
fi

if make --no-print-directory dist SANITIZE="${SANITIZE:-}" >"$T_TMP/dist.log" 2>&1; then
	tarball=$(ls "$OUTPUT"/netseg-*-"$(uname -m)".tar.gz | head -n 1)
	listing=$(tar tzf "$tarball")
	ok=1
	for f in sbin/pktwatch sbin/netseg share/man/man8/pktwatch.8; do
		grep -q "/$f\$" <<<"$listing" || ok=0
	done
	check dist_tarball_holds_binaries_and_man_pages "tarball lacks files: $listing" test $ok = 1
else
	fail dist_tarball_holds_binaries_and_man_pages "make dist failed: $(tail -n 3 "$T_TMP/dist.log" | tr '\n' ' ')"
fi
