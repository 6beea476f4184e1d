#!/usr/bin/env bash
# tests/vmtest/run.sh [-q] [--list] [--kernel 6.1|5.10] [SET...]
#
# Boot a Debian cloud kernel under qemu (TCG, no KVM): Debian 12's 6.1 (the
# default) or Debian 11's 5.10 (--kernel 5.10), with an initramfs
# built here and now (busybox-static, the host's ip/ping/nft/jq with their
# libraries, the static netseg binaries, the vmtest programs, the guest test
# sets and the kernel's own modules), run the named test sets inside (default:
# all), and report their results as our own:
#
#   PASS vm6.1/<name> | FAIL vm6.1/<name>: <why> | SKIP vm6.1/<name>: <why>
#
# (vm5.10/<name> for 5.10),
# one line per test on stdout; the guest console streams to stderr ("  vm| ").
# Exit 1 when anything failed, the guest did not boot or the time limit
# (VMTEST_TIMEOUT, default 240 s) ran out; 2 for a usage error.
#
# The kernel package is found with apt (newest linux-image-6.1.*-cloud-amd64-
# unsigned), fetched with `apt-get download` into VMTEST_CACHE (default
# /var/cache/netseg/vmtest, outside the repo) and reused from there. The 5.10
# one (linux-image-5.10.*-cloud-amd64-unsigned, suite bullseye) comes the same
# way through a private apt state in VMTEST_CACHE/apt-bullseye (its own
# sources list, lists, cache and status) whose one source is the machine's own
# Debian mirror with suite bullseye: the machine's apt sources stay untouched.
# Nothing here uses host network namespaces: the guest makes its own.

# The whole script is one brace group: bash parses it completely before
# running any of it, so editing this file during a run cannot break that run.
{
set -u
shopt -s nullglob

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUTPUT=${OUTPUT:-$REPO/.output}
CACHE=${VMTEST_CACHE:-/var/cache/netseg/vmtest}
TIMEOUT=${VMTEST_TIMEOUT:-420}
SET_TIMEOUT=${VMTEST_SET_TIMEOUT:-150}
KSER=${VMTEST_KERNEL:-6.1}
MARK='@@VMTEST@@'
QUIET=0

usage() {
	cat <<EOF
usage: tests/vmtest/run.sh [-q] [--list] [--kernel 6.1|5.10] [SET...]
Boot a Debian cloud kernel under qemu and run netseg's guest tests.
  SET      one of: $(all_sets | tr '\n' ' ')(default: all)
  --kernel 6.1 (Debian 12's, the default) or 5.10 (Debian 11's)
  -q       do not stream the guest console to stderr (its last 40 lines
           still go there when something failed)
  --list   print each set with its tests and exit
Environment: OUTPUT (build dir), SANITIZE=1 (build static unsanitized copies),
VMTEST_KERNEL (the default for --kernel),
VMTEST_CACHE (kernel package cache, default /var/cache/netseg/vmtest),
VMTEST_TIMEOUT (whole guest run, default 240 s), VMTEST_SET_TIMEOUT (one set
inside the guest, default 150 s), VMTEST_QEMU (the qemu binary),
VMTEST_QEMU_OPTS (extra qemu options, split on spaces), VMTEST_DEB (use this
kernel package file instead of asking apt).
EOF
}

all_sets() {
	local f
	for f in "$HERE"/guest/sets/*.sh; do basename "$f" .sh; done
}

# the tests a set promises, from its "# tests:" line
set_tests() {
	sed -n 's/^# tests: *//p' "$HERE/guest/sets/$1.sh"
}

sets=()
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	-q) QUIET=1 ;;
	--kernel)
		[ $# -ge 2 ] || { echo "vmtest: --kernel needs 6.1 or 5.10" >&2; exit 2; }
		KSER=$2
		shift
		;;
	--kernel=*) KSER=${1#--kernel=} ;;
	--list)
		for s in $(all_sets); do echo "$s: $(set_tests "$s")"; done
		exit 0
		;;
	-*) echo "vmtest: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*)
		if [ ! -f "$HERE/guest/sets/$1.sh" ]; then
			echo "vmtest: unknown set '$1' (sets: $(all_sets | tr '\n' ' '))" >&2
			exit 2
		fi
		sets+=("$1")
		;;
	esac
	shift
done
[ ${#sets[@]} -gt 0 ] || mapfile -t sets < <(all_sets)
# the kernel series: its package names, and where apt finds them (SUITE empty:
# the machine's own apt; otherwise a private apt state for that Debian suite)
case $KSER in
6.1) SUITE='' KDESC="Debian 12 main or security" ;;
5.10) SUITE=bullseye KDESC="Debian 11 (bullseye) main" ;;
*) echo "vmtest: unknown kernel '$KSER' (kernels: 6.1 5.10)" >&2; exit 2 ;;
esac
# linux-image-6.1.<N>-<abi>-cloud-amd64-unsigned: the pattern must not match 6.12
KPAT="^linux-image-${KSER//./\\.}\\.[0-9]+-[0-9]+-cloud-amd64-unsigned\$"
KGLOB="linux-image-$KSER.*-cloud-amd64-unsigned_*.deb"
P=vm$KSER

failed=0
result() { # KIND NAME [WHY]
	case $1 in FAIL) failed=1 ;; esac
	if [ $# -ge 3 ]; then echo "$1 $P/$2: $3"; else echo "$1 $P/$2"; fi
}
note() { echo "vmtest: $*" >&2; }

TMP=$(mktemp -d /tmp/netseg-vmtest.XXXXXX)
QPID=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
		kill -TERM "$QPID" 2>/dev/null
		sleep 1
		kill -KILL "$QPID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# setup_fail WHY: one FAIL line, nothing ran
setup_fail() {
	result FAIL setup "$1"
	exit 1
}

# ---- host tools -------------------------------------------------------------
QEMU=$(command -v "${VMTEST_QEMU:-qemu-system-x86_64}") ||
	setup_fail "${VMTEST_QEMU:-qemu-system-x86_64} is missing (Debian package qemu-system-x86; tests/vmtest/deps.txt lists all)"
BUSYBOX=$(command -v busybox) || setup_fail "busybox is missing (Debian package busybox-static)"
is_static() { LC_ALL=C ldd "$1" 2>&1 | grep -qE 'not a dynamic executable|statically linked'; }
is_static "$BUSYBOX" || setup_fail "$BUSYBOX is dynamically linked: install busybox-static (it replaces busybox)"
for t in cpio depmod dpkg-deb apt-get apt-cache ip ping jq timeout; do
	command -v "$t" >/dev/null || setup_fail "'$t' is missing (tests/vmtest/deps.txt lists the Debian packages)"
done

# ---- the kernel package -----------------------------------------------------
# APT: the options that make apt-get/apt-cache use the private state of
# $SUITE (none for 6.1: the machine's own apt). Nothing under /etc/apt is
# written: the private state has its own sources list, lists, cache and status.
APT=()
if [ -n "$SUITE" ]; then
	AST=$CACHE/apt-$SUITE
	APT=(-o "Dir::State=$AST/state" -o "Dir::State::Lists=$AST/lists"
		-o "Dir::State::status=$AST/status" -o "Dir::Cache=$AST/cache"
		-o "Dir::Etc::SourceList=$AST/sources.list" -o Dir::Etc::SourceParts=/nonexistent)
fi

# newest cloud image of the series by name (6.1.0-N sorts numerically with
# sort -V); prints "PACKAGE VERSION" (the candidate version apt would download)
find_pkg() {
	apt-cache "${APT[@]}" search --names-only "$KPAT" 2>/dev/null |
		awk '{print $1}' | sort -V | while read -r p; do
		v=$(apt-cache "${APT[@]}" policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
		case $v in '' | '(none)') ;; *) echo "$p $v" ;; esac
	done | tail -n 1
}

# newest FILE...: the last of the (nullglob-expanded) names in version order,
# nothing when there are none (never `ls` with no arguments)
newest() {
	[ $# -gt 0 ] || return 0
	printf '%s\n' "$@" | sort -V | tail -n 1
}

# the machine's own Debian archive: the URI of the first enabled "deb" source
# for the release itself (a suite without "-updates", "-security" or "/...")
# with component main, read from sources.list, sources.list.d/*.list (one-line
# style) and sources.list.d/*.sources (deb822)
debian_mirror() {
	local f
	{
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			# "deb [options] URI SUITE COMPONENT..." -> "URI SUITE COMPONENT..."
			sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
				awk '$1 == "deb" && NF >= 4 { $1 = ""; print substr($0, 2) }'
		done
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			awk 'BEGIN { RS = ""; FS = "\n" }
			{
				delete v; k = ""
				for (i = 1; i <= NF; i++) {
					l = $i
					if (l ~ /^#/) continue
					if (l ~ /^[ \t]/) { v[k] = v[k] " " l; continue } # continued
					j = index(l, ":"); if (!j) continue
					k = tolower(substr(l, 1, j - 1)); v[k] = substr(l, j + 1)
				}
				if (tolower(v["enabled"]) ~ /no/ || (" " v["types"] " ") !~ /[ \t]deb[ \t]/) next
				split(v["uris"], u, " "); ns = split(v["suites"], s, " ")
				for (n = 1; n <= ns; n++) print u[1], s[n], v["components"]
			}' "$f"
		done
	} | awk '$2 !~ /[-\/]/ && $1 ~ /^(https?|ftp|file):/ {
		for (i = 3; i <= NF; i++) if ($i == "main") { sub(/\/+$/, "", $1); print $1; exit }
	}'
}

# write $AST/sources.list: the machine's Debian mirror with suite $SUITE,
# signed by the archive keyrings that hold that release's keys
private_sources() {
	local uri keys='' k
	PS_ERR=
	uri=$(debian_mirror)
	[ -n "$uri" ] || { PS_ERR="no Debian main archive (a deb source with component main) in /etc/apt/sources.list or sources.list.d/*.list, *.sources"; return 1; }
	for k in /usr/share/keyrings/debian-archive-"$SUITE"-automatic.gpg \
		/usr/share/keyrings/debian-archive-"$SUITE"-stable.gpg \
		/usr/share/keyrings/debian-archive-keyring.gpg; do
		[ -f "$k" ] && keys=${keys:+$keys,}$k
	done
	[ -n "$keys" ] || { PS_ERR="no Debian archive keyring in /usr/share/keyrings (package debian-archive-keyring)"; return 1; }
	mkdir -p "$AST"/state "$AST"/lists/partial "$AST"/cache/archives/partial ||
		{ PS_ERR="cannot make the private apt state in $AST"; return 1; }
	[ -f "$AST/status" ] || : >"$AST/status"
	printf 'deb [signed-by=%s] %s %s main\n' "$keys" "$uri" "$SUITE" >"$AST/sources.list.new"
	if cmp -s "$AST/sources.list.new" "$AST/sources.list"; then
		rm -f "$AST/sources.list.new"
	else
		# another mirror (or the first run): the old lists are not its
		mv "$AST/sources.list.new" "$AST/sources.list" && rm -f "$AST"/lists/*_dists_*
	fi
}

# apt-get update, of the machine's lists (6.1) or of the private ones
apt_update() {
	# root fetches without the _apt sandbox user in the private state: it is ours alone
	if [ -n "$SUITE" ]; then
		apt-get "${APT[@]}" -o APT::Sandbox::User=root update -qq
	else
		apt-get update -qq
	fi
}

fetch_kernel() {
	local pkg='' ver='' deb failed_dl='' stale='' lists=1
	if [ -n "$SUITE" ]; then
		if [ "$(id -u)" -ne 0 ]; then
			# not root: the private lists as they are, read-only, when there are any
			[ -f "$AST/sources.list" ] || lists=0
		elif ! private_sources; then
			lists=0 failed_dl=$PS_ERR # only the cache can help now
		elif [ -n "$(find "$AST/lists" -maxdepth 1 -name '*_Packages*' -mtime +30)" ]; then
			stale=1 # a month old: ask the mirror again
		fi
	fi
	[ $lists = 0 ] || read -r pkg ver <<<"$(find_pkg)"
	if [ $lists = 1 ] && { [ -z "$pkg" ] || [ -n "$stale" ]; } && [ "$(id -u)" -eq 0 ]; then
		note "no $KSER cloud kernel in apt's lists${SUITE:+ ($SUITE, in $AST)}${stale:+, or they are a month old}; running apt-get update"
		apt_update >"$TMP/apt.log" 2>&1 || note "apt-get update failed: $(tail -n 1 "$TMP/apt.log")"
		read -r pkg ver <<<"$(find_pkg)"
	fi
	if [ -n "$pkg" ]; then
		# the file apt-get download names it (an epoch's ':' becomes %3a)
		deb=$CACHE/${pkg}_${ver//:/%3a}_amd64.deb
		if [ ! -f "$deb" ]; then
			mkdir -p "$CACHE" 2>/dev/null && [ -w "$CACHE" ] ||
				{ echo "SKIPROOT"; return; }
			note "downloading $pkg into $CACHE"
			mkdir -p "$TMP/dl"
			# root downloads without the _apt sandbox user: $TMP is ours alone
			(cd "$TMP/dl" && apt-get "${APT[@]}" -o APT::Sandbox::User=root download "$pkg") >"$TMP/apt.log" 2>&1
			deb=$(newest "$TMP/dl/${pkg}"_*.deb)
			if [ -n "$deb" ] && mv "$deb" "$CACHE/"; then
				# a newer revision replaces the older ones (and their unpacked trees)
				local old
				# shellcheck disable=SC2086 # KGLOB is a pattern on purpose
				for old in "$CACHE"/$KGLOB; do
					[ "$old" = "$CACHE/$(basename "$deb")" ] && continue
					note "removing the superseded $(basename "$old")"
					rm -rf "$old" "${old%.deb}.d"
				done
				echo "OK $CACHE/$(basename "$deb")"
				return
			fi
			note "apt-get download $pkg failed: $(tail -n 1 "$TMP/apt.log")"
			failed_dl="apt-get download $pkg failed ($(tail -n 1 "$TMP/apt.log"))"
		else
			echo "OK $deb"
			return
		fi
	fi
	# offline: whatever cloud kernel of the series the cache already holds
	# shellcheck disable=SC2086 # KGLOB is a pattern on purpose
	deb=$(newest "$CACHE"/$KGLOB)
	if [ -n "$deb" ]; then
		note "using the cached $(basename "$deb")"
		echo "OK $deb"
	elif [ $lists = 0 ] && [ "$(id -u)" -ne 0 ]; then
		echo "SKIPROOT"
	elif [ -n "$failed_dl" ]; then
		echo "ERR $failed_dl and none cached in $CACHE"
	else
		echo "ERR no linux-image-$KSER.*-cloud-amd64-unsigned package in apt's lists ($KDESC) and none cached in $CACHE"
	fi
}

MODULES=(veth tun tap vhost_iotlb vhost vhost_net sch_netem nf_tables)

# extract DEB into $CACHE/<deb name>.d once: vmlinuz, the modules we load
# (decompressed) and load.list in dependency order from modules.dep
prepare_kernel() {
	local deb=$1 dir x rel m
	dir=$CACHE/$(basename "$deb" .deb).d
	if [ -f "$dir/load.list" ] && [ -f "$dir/vmlinuz" ]; then
		echo "$dir"
		return 0
	fi
	x=$TMP/x
	mkdir -p "$x" && dpkg-deb -x "$deb" "$x" || { note "dpkg-deb -x $deb failed"; return 1; }
	rel=$(newest "$x"/lib/modules/*)
	rel=${rel##*/}
	[ -n "$rel" ] && [ -f "$x/boot/vmlinuz-$rel" ] || { note "$deb has no vmlinuz/modules"; return 1; }
	# the package ships no modules.dep (depmod runs at install): make one
	depmod -b "$x" "$rel" || { note "depmod failed for $rel"; return 1; }
	local new=$dir.tmp.$$
	mkdir -p "$new/modules"
	cp "$x/boot/vmlinuz-$rel" "$new/vmlinuz"
	echo "$rel" >"$new/release"
	# dependency-first walk over modules.dep (it lists each module's
	# transitive dependencies; visiting them first gives a valid order)
	declare -A dep_of=() seen=()
	local line mod deps mod_name
	while IFS= read -r line; do
		mod=${line%%:*}
		deps=${line#*:}
		mod_name=${mod##*/}
		dep_of[${mod_name%%.ko*}]="$mod:$deps"
	done <"$x/lib/modules/$rel/modules.dep"
	order=()
	visit() {
		local name=$1 entry path d
		[ -n "${seen[$name]:-}" ] && return 0
		seen[$name]=1
		entry=${dep_of[$name]:-}
		[ -n "$entry" ] || { note "module $name is not in $rel's modules.dep"; return 1; }
		path=${entry%%:*}
		for d in ${entry#*:}; do
			d=${d##*/}
			visit "${d%%.ko*}" || return 1
		done
		order+=("$name:$path")
	}
	for m in "${MODULES[@]}"; do visit "$m" || return 1; done
	: >"$new/load.list"
	local e name path src
	for e in "${order[@]}"; do
		name=${e%%:*}
		path=${e#*:}
		src=$x/lib/modules/$rel/$path
		# busybox insmod takes plain .ko: decompress here
		case $path in
		*.ko.xz) xz -dc "$src" >"$new/modules/$name.ko" ;;
		*.ko.zst) zstd -qdc "$src" >"$new/modules/$name.ko" ;;
		*.ko.gz) gzip -dc "$src" >"$new/modules/$name.ko" ;;
		*) cp "$src" "$new/modules/$name.ko" ;;
		esac || { note "cannot unpack $path"; return 1; }
		echo "$name.ko" >>"$new/load.list"
	done
	rm -rf "$dir" && mv "$new" "$dir" || return 1
	rm -rf "$x"
	echo "$dir"
}

mkdir -p "$CACHE" 2>/dev/null
# one run at a time fetches and extracts (flock when util-linux has it)
if [ -w "$CACHE" ] && command -v flock >/dev/null; then
	exec 9>>"$CACHE/.lock"
	flock -w 300 9 || setup_fail "another vmtest run holds $CACHE/.lock for 300 s"
	# leftovers of an interrupted unpacking (we hold the lock: nobody else is here)
	rm -rf "$CACHE"/*.d.tmp.*
fi
if [ -n "${VMTEST_DEB:-}" ]; then
	# a given package file (another revision, or another kernel to try)
	[ -f "$VMTEST_DEB" ] || setup_fail "VMTEST_DEB=$VMTEST_DEB does not exist"
	got="OK $VMTEST_DEB"
else
	got=$(fetch_kernel)
fi
case $got in
OK\ *) DEB=${got#OK } ;;
SKIPROOT)
	result SKIP setup "no cached $KSER kernel and $CACHE is not writable: run as root (or set VMTEST_CACHE)"
	exit 0
	;;
*) setup_fail "kernel package: ${got#ERR }" ;;
esac
KDIR=$(prepare_kernel "$DEB") || setup_fail "cannot extract the kernel from $DEB"
exec 9>&- # releases the lock
KREL=$(cat "$KDIR/release")
# results are named after the kernel: vm6.1/... (another VMTEST_DEB: its own)
P=vm$(echo "$KREL" | cut -d. -f1-2)

# ---- static netseg binaries -------------------------------------------------
# the tracers the Makefile builds (its TRACERS line), netseg, and the vmtest
# programs (tests/vmtest/<n>.c)
TRACERS=$(sed -n 's/^TRACERS *:\?= *//p' "$REPO/Makefile" | head -n 1)
[ -n "$TRACERS" ] || TRACERS=pktwatch
# only tracers that have a user half yet (one being written is not built)
have=
for t in $TRACERS; do [ -f "$REPO/user/$t.c" ] && have="$have $t"; done
TRACERS=$have
BINS=()
for t in $TRACERS netseg; do BINS+=("bin/$t"); done
PROGS=()
for c in "$HERE"/*.c; do
	case $c in *.bpf.c) continue ;; esac
	PROGS+=("$(basename "$c" .c)")
done
for p in "${PROGS[@]}"; do BINS+=("vmtest/$p"); done
if [ "${SANITIZE:-}" = 1 ]; then
	# sanitized binaries are dynamic and need the host's runtime: the guest
	# gets its own static, unsanitized build (make keeps it up to date)
	BOUT=$OUTPUT/vm-static
	build=1
else
	# `make test` has just built these; build only what is missing
	BOUT=$OUTPUT
	build=0
	for b in "${BINS[@]}"; do [ -x "$BOUT/$b" ] || build=1; done
fi
targets=()
if [ $build = 1 ]; then
	targets=(vmtest-progs)
	for t in $TRACERS netseg; do targets+=("$BOUT/bin/$t"); done
fi
if [ ${#targets[@]} -gt 0 ]; then
	note "building static binaries in $BOUT"
	if ! make -C "$REPO" --no-print-directory OUTPUT="$BOUT" SANITIZE= "${targets[@]}" >"$TMP/make.log" 2>&1; then
		sed 's/^/  make| /' "$TMP/make.log" | tail -n 30 >&2
		setup_fail "building the static binaries failed (make OUTPUT=$BOUT SANITIZE= ${targets[*]})"
	fi
fi
for b in "${BINS[@]}"; do
	[ -x "$BOUT/$b" ] || setup_fail "$BOUT/$b is missing after the build"
	is_static "$BOUT/$b" || setup_fail "$BOUT/$b is not statically linked (the guest has no libraries for it)"
done

# ---- the initramfs ----------------------------------------------------------
R=$TMP/root
mkdir -p "$R"/{bin,dev,proc,sys,run,tmp,etc,root,usr/local/bin,lib/modules/vmtest,netseg/bin,netseg/vmtest,vmtest/sets}
cp "$BUSYBOX" "$R/bin/busybox"
for a in $("$BUSYBOX" --list); do
	[ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"
done
ln -s bin "$R/sbin"
# busybox's ip cannot make veth pairs: the host's iproute2, iputils ping,
# nft and jq go in /usr/local/bin (first in PATH) with what ldd lists
copy_dyn() {
	local bin=$1 lib
	cp -L "$bin" "$R/usr/local/bin/" || return 1
	for lib in $(ldd "$bin" | awk '/=> \//{print $3} /^\t\//{print $1}'); do
		[ -e "$R$lib" ] && continue
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib" || return 1
	done
}
for t in ip ping jq nft; do
	p=$(command -v "$t") || { [ "$t" = nft ] && continue; setup_fail "'$t' is missing on the host"; }
	copy_dyn "$p" || setup_fail "cannot copy $p and its libraries into the initramfs"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
for b in "${BINS[@]}"; do cp "$BOUT/$b" "$R/netseg/$b"; done
cp "$KDIR"/modules/*.ko "$KDIR/load.list" "$R/lib/modules/vmtest/"
install -m 0755 "$HERE/guest/init" "$R/init"
cp "$HERE/guest/lib.sh" "$R/vmtest/"
for s in "${sets[@]}"; do cp "$HERE/guest/sets/$s.sh" "$R/vmtest/sets/"; done
printf '%s\n' "${sets[@]}" >"$R/vmtest/sets.list"
echo "$SET_TIMEOUT" >"$R/vmtest/set_timeout"
# uncompressed newc: the kernel unpacks it without a decompressor (faster under TCG)
(cd "$R" && find . -print0 | cpio --null -o -H newc --quiet) >"$TMP/initrd.cpio" ||
	setup_fail "cpio failed"
rm -rf "$R"
note "kernel $KREL ($(basename "$DEB")), initramfs $(($(stat -c %s "$TMP/initrd.cpio") / 1024 / 1024)) MiB, sets: ${sets[*]}"

# ---- boot -------------------------------------------------------------------
declare -A reported=()
booted=0 done=0 cur_set=boot
declare -A set_rc=()
# 6.1's is vmtest-console.log; another kernel's names itself (5.10: vmtest-console-5.10.log)
log=$OUTPUT/vmtest-console.log
[ "$KSER" = 6.1 ] || log=$OUTPUT/vmtest-console-$KSER.log
if ! { mkdir -p "$OUTPUT" && : >"$log"; } 2>/dev/null; then
	log=$TMP/console.log # $OUTPUT is not ours to write: the log goes with $TMP
fi

mkfifo "$TMP/console"
t0=$(date +%s.%N)
# -nographic: the serial console on stdio; no NIC; TCG (no -enable-kvm).
# A soft lockup (seen once: both vCPUs stuck for minutes in the
# tun_tx_to_kvm_irq set) panics the guest at once with every CPU's stack on
# the console (loglevel 5 lets the stacks through), instead of a silent
# timeout.
# shellcheck disable=SC2086 # VMTEST_QEMU_OPTS is a list of words on purpose
timeout -k 5 "$TIMEOUT" "$QEMU" -nographic -no-reboot -m 1G -smp 2 \
	-nic none -kernel "$KDIR/vmlinuz" -initrd "$TMP/initrd.cpio" ${VMTEST_QEMU_OPTS:-} \
	-append "console=ttyS0 quiet loglevel=5 panic=-1 oops=panic softlockup_panic=1 softlockup_all_cpu_backtrace=1 rdinit=/init mitigations=off" \
	</dev/null >"$TMP/console" 2>&1 &
QPID=$!

t_boot='' set_t0='' set_times=''
while IFS= read -r line; do
	# no carriage returns, no escape sequences (SeaBIOS clears the screen)
	line=${line//$'\r'/}
	while [[ $line =~ $'\e'(\[[0-9?\;]*[A-Za-z]|c) ]]; do
		line=${line/"${BASH_REMATCH[0]}"/}
	done
	printf '%s\n' "$line" >>"$log"
	[ $QUIET = 1 ] || printf '  vm| %s\n' "$line" >&2
	case $line in *"$MARK "*) ;; *) continue ;; esac
	# a marker may follow stray console bytes: parse from the marker on
	msg=${line#*"$MARK "}
	case $msg in
	BOOTED*) booted=1; t_boot=$(date +%s.%N) ;;
	"SET "*) # SET name uptime=S
		read -r cur_set up <<<"${msg#SET }"
		set_t0=${up#uptime=}
		;;
	"ENDSET "*) # ENDSET name status uptime=S
		read -r s rc up <<<"${msg#ENDSET }"
		set_rc[$s]=$rc
		set_times+=" $s=$(awk -v a="${set_t0:-0}" -v b="${up#uptime=}" 'BEGIN{printf "%.1fs", b-a}')"
		;;
	DONE*) done=1 ;;
	PASS\ * | FAIL\ * | SKIP\ *)
		kind=${msg%% *}
		rest=${msg#* }
		name=${rest%%:*}
		if [ "$name" = "$rest" ]; then why=; else why=${rest#*: }; fi
		reported[$name]=1
		if [ "$kind" = PASS ]; then result PASS "$name"; else result "$kind" "$name" "$why"; fi
		;;
	esac
done <"$TMP/console"
wait "$QPID"
qrc=$?
QPID=
t1=$(date +%s.%N)

why=
if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
	why="the guest did not finish within ${TIMEOUT} s (in set '$cur_set')"
	result FAIL timeout "$why"
elif [ $booted = 0 ]; then
	why="the guest never reached /init (qemu exited $qrc; console: $log)"
	result FAIL boot "$why"
elif [ $done = 0 ]; then
	why="the guest stopped before finishing (qemu exited $qrc, in set '$cur_set'; console: $log)"
	result FAIL guest "$why"
fi
# every promised test has a line, even when its set never got to it
for s in boot "${sets[@]}"; do
	if [ "$s" = boot ]; then tests=boot_modules_load; else tests=$(set_tests "$s"); fi
	for t in $tests; do
		[ -n "${reported[$t]:-}" ] && continue
		if [ -n "$why" ]; then
			result FAIL "$t" "no result: $why"
		else
			result FAIL "$t" "set '$s' ended (status ${set_rc[$s]:-?}) without reporting it"
		fi
	done
done
if [ $failed = 1 ] && [ $QUIET = 1 ]; then
	# -q kept the console to itself: on a failure its end is the evidence
	echo "vmtest: the guest console's last 40 lines:" >&2
	tail -n 40 "$log" | sed 's/^/  vm| /' >&2
fi
boot_s=$([ -n "$t_boot" ] && awk -v a="$t0" -v b="$t_boot" 'BEGIN{printf "%.1f", b-a}' || echo "?")
note "boot to /init ${boot_s} s, qemu start to exit $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s; sets (guest time):${set_times:- none}; console log: $log"
exit $failed
}
