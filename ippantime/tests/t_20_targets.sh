# gen-targets, inventory errors (file:line, exit 2), check-targets output and exit codes.
TESTS+=(gen_targets_global_index_ports_pretty_json gen_targets_explicit_targets_replace_layout
	inventory_bad_input_one_line_errors_with_file_line check_targets_output_and_exit_0_1_2_exact
	check_targets_run_concurrently cli_version_help_and_unknown_command)

gen_targets_global_index_ports_pretty_json() {
	local d; d=$(mktmp)
	cat >"$d/inv.yaml" <<'Y'
servers:
  - {name: srv1, host: 10.1.1.1, node_index_range: [0, 1]}
  - {name: srv2, host: 10.1.1.2, node_index_range: [10, 11]}
Y
	"$IPT" gen-targets "$d/inv.yaml" >"$d/out" || { echo "exit $?"; return 1; }
	cat >"$d/want" <<'J'
[
  {
    "node": "node-00",
    "url": "http://10.1.1.1:8080"
  },
  {
    "node": "node-01",
    "url": "http://10.1.1.1:8081"
  },
  {
    "node": "node-10",
    "url": "http://10.1.1.2:8090"
  },
  {
    "node": "node-11",
    "url": "http://10.1.1.2:8091"
  }
]
J
	diff -u "$d/want" "$d/out"
}

gen_targets_explicit_targets_replace_layout() {
	local d; d=$(mktmp)
	cat >"$d/inv.yaml" <<'Y'
servers:
  - {name: srv1, host: 10.1.1.1, node_index_range: [0, 9]}
explicit_targets:
  - {node: node-00, url: "http://10.1.1.1:8080/"}
Y
	"$IPT" gen-targets "$d/inv.yaml" | tr -d ' \n' >"$d/out"
	[ "$(cat "$d/out")" = '[{"node":"node-00","url":"http://10.1.1.1:8080/"}]' ] || { echo "got $(cat "$d/out")"; return 1; }
	n=$("$IPT" gen-targets --mode expected "$d/inv.yaml" | grep -c '"node"')
	[ "$n" = 10 ] || echo "expected mode gave $n targets"
}

# expect_err FILE_CONTENT WANT: gen-targets must exit 2 with exactly one stderr line WANT.
expect_inv_err() {
	local d=$1 body=$2 want=$3 err rc
	printf '%s' "$body" >"$d/inventory.yaml"
	(cd "$d" && "$IPT" gen-targets inventory.yaml >/dev/null 2>"$d/err"); rc=$?
	err=$(cat "$d/err")
	[ $rc -eq 2 ] || { echo "exit $rc for: $want"; return 1; }
	[ "$(wc -l <"$d/err")" -eq 1 ] || { echo "not one line: $err"; return 1; }
	[ "$err" = "$want" ] || { echo "got '$err' want '$want'"; return 1; }
}

inventory_bad_input_one_line_errors_with_file_line() {
	local d; d=$(mktmp)
	expect_inv_err "$d" $'servers:\n  - host: h\n    node_index_range: [0, 9\n' \
		"ippantime: inventory.yaml:4: malformed YAML: did not find expected ',' or ']'" || return 1
	expect_inv_err "$d" $'servers:\n  - host: h\n    node_index_range: [9, 0]\n' \
		"ippantime: inventory.yaml:3: inverted node_index_range [9, 0] (first > last)" || return 1
	expect_inv_err "$d" $'http:\n  base_port: 70000\n' \
		"ippantime: inventory.yaml:2: 'base_port' = 70000 out of range 1..65535" || return 1
	expect_inv_err "$d" $'http: {base_port: 65530}\nservers:\n  - {host: h, node_index_range: [0, 9]}\n' \
		"ippantime: inventory.yaml:3: server 'srv1': port 65539 (base_port 65530 + index 9) is above 65535" || return 1
	expect_inv_err "$d" $'servers:\n  - {host: a, node_index_range: [0, 9]}\n  - {host: b, node_index_range: [5, 12]}\n' \
		"ippantime: inventory.yaml:3: server 'srv2': node_index_range overlaps server 'srv1' (line 2): duplicate node name 'node-05'" || return 1
	expect_inv_err "$d" $'http:\n  base_port: eighty\n' \
		"ippantime: inventory.yaml:2: 'base_port' must be an integer, got 'eighty'" || return 1
	expect_inv_err "$d" $'threadrippers: {name: tr-a}\n' \
		"ippantime: inventory.yaml:1: 'threadrippers' must be a list" || return 1
	expect_inv_err "$d" $'http: {base_port: 80}\nhttp: {base_port: 81}\n' \
		"ippantime: inventory.yaml:2: duplicate key 'http' (first at line 1)" || return 1
	expect_inv_err "$d" $'explicit_targets:\n  - {node: a, url: ftp://x}\n' \
		"ippantime: inventory.yaml:2: 'url' must start with http:// or https://, got 'ftp://x'" || return 1
	expect_inv_err "$d" $'# nothing\n' \
		"ippantime: inventory.yaml: no targets (no servers with node_index_range and no explicit_targets)" || return 1
	(cd "$d" && "$IPT" gen-targets missing.yaml 2>"$d/err"); rc=$?
	[ $rc -eq 2 ] && grep -q "^ippantime: missing.yaml: cannot read inventory: No such file or directory$" "$d/err" \
		|| { echo "missing file: rc=$rc $(cat "$d/err")"; return 1; }
}

check_targets_output_and_exit_0_1_2_exact() {
	local d rc; d=$(mktmp)
	printf 'node 2 fault=missing\nnode 3 fault=down\nnode 4 fault=bool\n' >"$d/sim.conf"
	start_sim "$d" --nodes 5 --config "$d/sim.conf" || return 1
	local b=$SIM_BASE
	cat >"$d/ok.yaml" <<Y
servers:
  - {name: s, host: 127.0.0.1, node_index_range: [0, 1]}
http: {base_port: $b, timeout_sec: 1.0}
Y
	"$IPT" check-targets "$d/ok.yaml" >"$d/out" 2>&1; rc=$?
	[ $rc -eq 0 ] || { echo "all-ok exit $rc"; return 1; }
	sed -E 's/ rtt_ms=[0-9]+\.[0-9]{3}$//' "$d/out" >"$d/out2"
	printf 'Checked 2 targets (mode=expected)\nOK:   2\nMISS: 0\n\n== OK ==\nnode-00 http://127.0.0.1:%d/status\nnode-01 http://127.0.0.1:%d/status\n' $b $((b+1)) >"$d/want"
	diff -u "$d/want" "$d/out2" || return 1
	cat >"$d/miss.yaml" <<Y
servers:
  - {name: s, host: 127.0.0.1, node_index_range: [0, 4]}
http: {base_port: $b, timeout_sec: 1.0}
explicit_targets:
  - {node: only, url: "http://127.0.0.1:$b"}
Y
	"$IPT" check-targets "$d/miss.yaml" --mode expected --timeout 1 >"$d/out" 2>&1; rc=$?
	[ $rc -eq 1 ] || { echo "miss exit $rc"; return 1; }
	sed -E 's/ rtt_ms=[0-9]+\.[0-9]{3}$//' "$d/out" >"$d/out2"
	printf 'Checked 5 targets (mode=expected)\nOK:   2\nMISS: 3\n\n== OK ==\nnode-00 http://127.0.0.1:%d/status\nnode-01 http://127.0.0.1:%d/status\n\n== MISSING ==\nnode-02 http://127.0.0.1:%d/status [missing_field]\nnode-03 http://127.0.0.1:%d/status [unreachable]\nnode-04 http://127.0.0.1:%d/status [bad_value]\n' \
		$b $((b+1)) $((b+2)) $((b+3)) $((b+4)) >"$d/want"
	diff -u "$d/want" "$d/out2" || return 1
	"$IPT" check-targets "$d/miss.yaml" --mode auto >"$d/out" 2>&1; rc=$?
	[ $rc -eq 0 ] && head -1 "$d/out" | grep -qx 'Checked 1 targets (mode=auto)' || { echo "auto: rc=$rc $(head -1 "$d/out")"; return 1; }
	"$IPT" check-targets "$d/ok.yaml" --mode explicit >"$d/out" 2>"$d/err"; rc=$?
	[ $rc -eq 2 ] && [ "$(cat "$d/err")" = "No targets to check (empty target list)." ] && [ ! -s "$d/out" ] \
		|| { echo "empty: rc=$rc $(cat "$d/err")"; return 1; }
	"$IPT" check-targets "$d/ok.yaml" --mode sideways 2>"$d/err"; rc=$?
	[ $rc -eq 2 ] && grep -q "bad --mode 'sideways'" "$d/err" || { echo "bad mode rc=$rc"; return 1; }
}

cli_version_help_and_unknown_command() {
	local c rc
	"$IPT" --version | grep -q '^ippantime [0-9]' || { echo "no version"; return 1; }
	for c in gen-targets check-targets probe analyze run sim demo; do
		"$IPT" $c --help | grep -q 'example' || { echo "$c --help has no examples"; return 1; }
	done
	"$IPT" frobnicate 2>/dev/null; rc=$?
	[ $rc -eq 2 ] || { echo "unknown command exit $rc"; return 1; }
	local err
	for c in gen-targets check-targets probe analyze run sim demo; do
		err=$("$IPT" $c --frob 2>&1 >/dev/null); rc=$?
		[ $rc -eq 2 ] && [ "$err" = "ippantime: $c: unknown option '--frob' (see ippantime $c --help)" ] \
			|| { echo "$c --frob: rc=$rc '$err'"; return 1; }
	done
	err=$("$IPT" probe --samples 2>&1 >/dev/null); rc=$?
	[ $rc -eq 2 ] && [ "$err" = "ippantime: probe: option '--samples' needs a value (see ippantime probe --help)" ] \
		|| echo "probe --samples: rc=$rc '$err'"
}

check_targets_run_concurrently() {
	local d rc t0 t1; d=$(mktmp)
	printf 'all fault=timeout\n' >"$d/sim.conf"
	start_sim "$d" --nodes 6 --config "$d/sim.conf" || return 1
	cat >"$d/inv.yaml" <<Y
servers:
  - {host: 127.0.0.1, node_index_range: [0, 5]}
http: {base_port: $SIM_BASE, timeout_sec: 1}
Y
	t0=$(date +%s%N)
	"$IPT" check-targets "$d/inv.yaml" >"$d/out" 2>&1; rc=$?
	t1=$(date +%s%N)
	[ $rc -eq 1 ] && [ "$(grep -c '\[unreachable\]' "$d/out")" -eq 6 ] || { echo "rc=$rc $(cat "$d/out")"; return 1; }
	# six 1 s timeouts one after another would take 6 s; at once about 1 s
	[ $(( (t1 - t0) / 1000000 )) -lt 4500 ] || echo "took $(( (t1 - t0) / 1000000 )) ms: not concurrent"
}
