# The remaining entry points: preflight scripts, run_all.sh's local checks, make install.
TESTS+=(preflight_http_reads_field_ok_and_reports_missing preflight_time_prints_state_exit_0_or_1
	make_install_destdir_puts_binary_man_and_scripts sim_config_errors_name_file_line)

preflight_http_reads_field_ok_and_reports_missing() {
	local d rc; d=$(mktmp)
	printf 'node 1 fault=bool\n' >"$d/sim.conf"
	start_sim "$d" --nodes 2 --config "$d/sim.conf" || return 1
	IPPANTIME_BIN="$IPT" bash "$MOD/remote/preflight_http.sh" "http://127.0.0.1:$SIM_BASE/status" >"$d/ok" 2>&1; rc=$?
	[ $rc -eq 0 ] && grep -q '^{"ippan_time_us": [0-9]*' "$d/ok" && grep -qx "OK: 'ippan_time_us' readable" "$d/ok" \
		|| { echo "ok node: rc=$rc $(cat "$d/ok")"; return 1; }
	IPPANTIME_BIN="$IPT" bash "$MOD/remote/preflight_http.sh" "http://127.0.0.1:$((SIM_BASE + 1))/status" >"$d/bad" 2>&1; rc=$?
	[ $rc -eq 1 ] && grep -qx 'NOT OK: bad_value' "$d/bad" || { echo "bool node: rc=$rc $(cat "$d/bad")"; return 1; }
}

preflight_time_prints_state_exit_0_or_1() {
	local d rc; d=$(mktmp)
	bash "$MOD/remote/preflight_time.sh" >"$d/out" 2>&1; rc=$?
	[ $rc -le 1 ] || { echo "exit $rc"; return 1; }
	grep -qx '== timedatectl ==' "$d/out" && grep -qx '== chrony tracking ==' "$d/out" || { echo "sections missing"; return 1; }
	# exit 1 exactly when it warned
	if [ $rc -eq 1 ]; then grep -q '^WARN: ' "$d/out" || echo "exit 1 without WARN"; else grep -qx 'Clock OK' "$d/out" || echo "exit 0 without 'Clock OK'"; fi
}

make_install_destdir_puts_binary_man_and_scripts() {
	local d f; d=$(mktmp)
	# same OUTPUT/SANITIZE/CC as the build under test, so install copies it instead of rebuilding
	# shellcheck disable=SC2086
	make -s -C "$MOD" install ${IPPANTIME_MAKEVARS:-OUTPUT=$(dirname "$IPT")} DESTDIR="$d/root" >"$d/log" 2>&1 || { echo "install failed: $(tail -3 "$d/log")"; return 1; }
	for f in usr/local/bin/ippantime usr/local/share/man/man1/ippantime.1 usr/local/share/ippantime/run_all.sh \
		usr/local/share/ippantime/run_mesh_from_all_probes.sh usr/local/share/ippantime/run_probe_from_host.sh \
		usr/local/share/ippantime/remote/preflight_time.sh usr/local/share/ippantime/remote/preflight_http.sh \
		usr/local/share/ippantime/inventory.yaml; do
		[ -s "$d/root/$f" ] || { echo "missing $f"; return 1; }
	done
	"$d/root/usr/local/bin/ippantime" --version >/dev/null || echo "installed binary does not run"
}

sim_config_errors_name_file_line() {
	local d rc err; d=$(mktmp)
	printf '# fleet\nnode 1 offset_us=5\nnode 2 fault=gremlins\n' >"$d/a.conf"
	err=$("$IPT" sim --nodes 3 --base-port 1 --config "$d/a.conf" 2>&1 >/dev/null); rc=$?
	[ $rc -eq 2 ] && [ "$err" = "ippantime: sim: $d/a.conf:3: unknown fault 'gremlins'" ] || { echo "rc=$rc '$err'"; return 1; }
	printf 'node 7 offset_us=5\n' >"$d/b.conf"
	err=$("$IPT" sim --nodes 3 --base-port 1 --config "$d/b.conf" 2>&1 >/dev/null); rc=$?
	[ $rc -eq 2 ] && [ "$err" = "ippantime: sim: $d/b.conf:1: node index '7' not in 0..2" ] || { echo "rc=$rc '$err'"; return 1; }
	printf 'node 0 jitter_us=lots\n' >"$d/c.conf"
	err=$("$IPT" sim --nodes 3 --base-port 1 --config "$d/c.conf" 2>&1 >/dev/null); rc=$?
	[ $rc -eq 2 ] && [ "$err" = "ippantime: sim: $d/c.conf:1: bad integer for jitter_us: 'lots'" ] || { echo "rc=$rc '$err'"; return 1; }
	err=$("$IPT" sim --nodes 3 --base-port 65534 2>&1 >/dev/null); rc=$?
	[ $rc -eq 2 ] && [ "$err" = "ippantime: sim: ports 65534..65536 go above 65535" ] || echo "rc=$rc '$err'"
}
