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

# every tracer (each binary but the front end, which is checked below)
common_opts=$(sed -n '/^\.SS Common options/,/^\.SH/p' man/man8/pktwatch.8 | grep -oE -- '\\-\\-[a-z][a-z0-9\\-]+' | sed 's/\\//g')
for bin in "$NETSEG_BIN"/*; do
	name=$(basename "$bin")
	[ "$name" = netseg ] && continue
	check "${name}_help_has_examples" "no EXAMPLES in --help" grep -q EXAMPLES <<<"$("$bin" --help)"
	check "${name}_short_h_is_help" "-h did not print usage" grep -q "^Usage: $name" <<<"$("$bin" -h)"
	check "${name}_version" "--version" grep -q "^$name [0-9]" <<<"$("$bin" --version)"
	# every long option of --help is in the man page; the common ones may
	# be left to pktwatch(8) where the page says so
	page=man/man8/$name.8
	[ -f "$page" ] || continue
	missing=
	for opt in $("$bin" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u); do
		case $opt in --help | --usage | --version) continue ;; esac
		if grep -q '^\.BR pktwatch (8)' "$page" && grep -q -- "$opt" <<<"$common_opts"; then
			continue
		fi
		grep -qF -- "${opt//-/\\-}" "$page" || missing="$missing $opt"
	done
	check "man_page_has_every_option_$name" "not in $page:$missing" test -z "$missing"
done
check netseg_doctor_help_has_examples "no EXAMPLES in doctor --help" grep -q EXAMPLES <<<"$("$NETSEG_BIN"/netseg doctor --help)"
check netseg_version "--version" grep -q '^netseg [0-9]' <<<"$("$NETSEG_BIN"/netseg --version)"
