#!/usr/bin/env bash
# Every program a user can run has a man page that renders cleanly, and
# --help with examples, and --version.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
cd "$(dirname "$0")/../.."

for bin in "$NETSEG_BIN"/*; do
	name=$(basename "$bin")
	page=$(ls man/man*/"$name".[18] 2>/dev/null | head -n 1)
	if [ -z "$page" ]; then
		fail "man_page_exists_$name" "no man/man*/$name.[18]"
		continue
	fi
	warnings=$(LC_ALL=C.UTF-8 groff -ww -z -man "$page" 2>&1)
	check "man_page_renders_without_warnings_$name" "$warnings" test -z "$warnings"
	for section in NAME SYNOPSIS DESCRIPTION EXAMPLES "EXIT STATUS" "SEE ALSO"; do
		grep -q "^\.SH \"\?$section" "$page" || { fail "man_page_sections_$name" "no $section"; section=; break; }
	done
	[ -n "$section" ] && pass "man_page_sections_$name"
done

help=$("$NETSEG_BIN"/pktwatch --help)
check pktwatch_help_has_examples "no EXAMPLES in --help" grep -q EXAMPLES <<<"$help"
check pktwatch_short_h_is_help "-h did not print usage" grep -q '^Usage: pktwatch' <<<"$("$NETSEG_BIN"/pktwatch -h)"
check pktwatch_version "--version" grep -q '^pktwatch [0-9]' <<<"$("$NETSEG_BIN"/pktwatch --version)"
check netseg_doctor_help_has_examples "no EXAMPLES in doctor --help" grep -q EXAMPLES <<<"$("$NETSEG_BIN"/netseg doctor --help)"
check netseg_version "--version" grep -q '^netseg [0-9]' <<<"$("$NETSEG_BIN"/netseg --version)"
