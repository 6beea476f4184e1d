# Set "tun_tx_to_kvm_irq": the tracer's function tiers (fentry, kprobe) and
# its "vhost" linking, on a real vhost-net datapath. vhost_drv owns a
# vhost-net instance whose backend is a tap in a namespace; echo requests to
# a permanent neighbour (no ARP, IPv6 off) are the only frames the tap sends.
# Each must come out as one chain tun_xmit -> dequeue (the vhost worker
# frees the skb it copied out) -> vhost_signal -> eventfd, linked "vhost".
# There is no KVM in the guest: irqfd and kvm_inject must be reported absent.
# Independent truths: ping's own transmitted count and sequence numbers,
# the tap's tx counter and vhost_drv's own count of frames it received.
# With --metrics --quiet the chains go into the kernel's histograms instead.
# tests: tki_vhost_chains_auto_tier tki_vhost_chains_kprobe_tier tki_icmp_seq_filter_gives_one_chain tki_quiet_vhost_chains_in_kernel_histograms
# shellcheck shell=sh
. /vmtest/lib.sh
AUTO=tki_vhost_chains_auto_tier
KPRB=tki_vhost_chains_kprobe_tier
FILT=tki_icmp_seq_filter_gives_one_chain
QUIET=tki_quiet_vhost_chains_in_kernel_histograms
N=6 # echo requests per test
NS=tk
VD_PID='' TK_PID=''

cleanup() {
	for p in $TK_PID $VD_PID; do stop "$p" TERM 10; done
	TK_PID='' VD_PID=''
	ip netns del $NS 2>/dev/null
	rm -rf "$T"
}

# the processes of one case, by pid
cleanup_case() {
	for p in $TK_PID $VD_PID; do stop "$p" TERM 10; done
	TK_PID='' VD_PID=''
}

ip netns add $NS || {
	for t in $AUTO $KPRB $FILT $QUIET; do fail "$t" "ip netns add failed"; done
	cleanup
	exit 0
}
# no IPv6: the tap carries only the echo requests we send
inns $NS sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n $NS link set lo up

# The tier tun_net_xmit (tun.ko) and vhost_add_used_and_signal_n (vhost.ko)
# should get in auto mode: fentry needs the module's BTF (5.11+), which
# 5.10 lacks, so there it must be kprobe. Read from the kernel, not from
# its version.
if [ -e /sys/kernel/btf/tun ]; then mod_tier=fentry; else mod_tier=kprobe; fi
echo "  tki: kernel $(uname -r), module BTF for tun: $([ -e /sys/kernel/btf/tun ] && echo yes || echo no), functions in modules want $mod_tier"

# run_case TAG TAP NET WANT_CHAINS TRACER-ARGS...: vhost_drv with a fresh tap,
# the tracer on it, N pings; leaves $TAG.{json,vd.json,ping} in $T and sets
# sent, tx, frames, trc_rc, why (non-empty: the case could not run)
run_case() {
	tag=$1 tap=$2 net=$3 want=$4
	shift 4
	why='' sent='' tx='' frames=''
	vhost_drv --netns $NS --tap "$tap" --ready-file "$T/$tag.vd.ready" --duration 90 \
		>"$T/$tag.vd.json" 2>"$T/$tag.vd.err" &
	VD_PID=$!
	vd_pid=$VD_PID
	if ! wait_ready "$T/$tag.vd.ready" "$VD_PID" 30; then
		why="vhost_drv never became ready: $(head -c 300 "$T/$tag.vd.err")"
		return 1
	fi
	if ! { ip -n $NS addr add "$net.1/24" dev "$tap" && ip -n $NS link set "$tap" up &&
		ip -n $NS neigh replace "$net.2" lladdr 02:00:c6:12:32:02 dev "$tap" nud permanent; }; then
		why="configuring $tap failed"
		return 1
	fi
	# the tracer stays in the root namespace and watches $NS by name;
	# its ready file is written once everything is attached
	tun_tx_to_kvm_irq -d "$tap" --netns $NS --json --ready-file "$T/$tag.ready" "$@" \
		>"$T/$tag.json" 2>"$T/$tag.err" &
	TK_PID=$!
	read -r up0 _ </proc/uptime
	# generous: loading and verifying under TCG is slow
	if ! wait_ready "$T/$tag.ready" "$TK_PID" 90; then
		why="tun_tx_to_kvm_irq $* never became ready: $(head -c 400 "$T/$tag.err")"
		return 1
	fi
	read -r up1 _ </proc/uptime
	tap_tx() { ip -n $NS -s -j link show "$tap" | jq -r '.[0].stats64.tx.packets'; }
	tx0=$(tap_tx)
	# nobody answers: ping sends its requests and gives up 1 s after the last
	inns $NS "$PING" -n -c $N -i 0.2 -W 1 "$net.2" >"$T/$tag.ping" 2>&1
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$T/$tag.ping")
	# bounded: until the vhost worker has taken them all out of the tap,
	# then until the tracer has written the chains we expect (it flushes
	# after every ring-buffer poll)
	i=0
	while [ $(($(tap_tx) - tx0)) -lt "${sent:-0}" ] && [ $i -lt 100 ]; do
		usleep 100000
		i=$((i + 1))
	done
	tx=$(($(tap_tx) - tx0))
	i=0
	while [ "$(grep -c '"type":"chain"' "$T/$tag.json")" -lt "$want" ] && [ $i -lt 100 ]; do
		usleep 100000
		i=$((i + 1))
	done
	# quiet: no record to wait for; the worker signals right after it
	# dequeued, well within this
	[ "$want" = 0 ] && usleep 500000
	stop "$TK_PID" INT 20
	trc_rc=$?
	TK_PID=
	stop "$VD_PID" INT 10
	VD_PID=
	frames=$(json "$T/$tag.vd.json" summary | jq -r '.frames // empty' 2>/dev/null)
	echo "  tki $tag: start to ready $(awk -v a="$up0" -v b="$up1" 'BEGIN{printf "%.1f", b-a}') s; sent=$sent tap_tx=$tx vhost_drv_frames=$frames tracer_rc=$trc_rc"
	echo "  tki $tag ready: $(json "$T/$tag.json" ready | jq -c '{tiers: (.tiers | map_values(.tier)), absent, stages_vhost}' 2>/dev/null)"
	echo "  tki $tag summary: $(json "$T/$tag.json" summary | jq -c '{chains_started, chains_completed, chains_expired, chains_in_flight, chains_evicted, chains_complete, chains_partial, chains_dropped, linking_vhost, partial_by_missing, lost, records}' 2>/dev/null)"
	echo "  tki $tag chain: $(jq -c 'select(.type=="chain") | del(.stages) + {stages: (.stages | map("\(.name)@\(.tier)/\(.hook) pid \(.pid) \(.comm)"))}' "$T/$tag.json" 2>/dev/null | head -n 1)"
	return 0
}

# check_chains TAG FUNC_TIER WANT_SEQS: every chain complete, linked by vhost,
# tun_xmit/dequeue/vhost_signal/eventfd in that order with rising stamps,
# the last three in one thread, vhost_drv's worker vhost-<its pid>,
# the function stages on FUNC_TIER (tun_xmit, vhost_signal: the modules'
# functions; eventfd: vmlinux's; both the same tier when forced), seqs
# exactly WANT_SEQS; sets bad (empty: all fine)
check_chains() {
	out=$T/$1.json ft=$2 wantseq=$3
	bad=''
	nwant=$(echo "$wantseq" | wc -w)
	ready=$(json "$out" ready)
	summary=$(json "$out" summary)
	nchain=$(grep -c '"type":"chain"' "$out")
	seqs=$(jq -r 'select(.type=="chain") | .seq' "$out" | sort -n | tr '\n' ' ')
	# the first chain that breaks a rule, with the rule
	odd=$(jq -r --arg ft "$ft" --arg w "vhost-$vd_pid" 'select(.type=="chain") |
		[.stages[].name] as $n | [.stages[].ts_ns] as $ts |
		if .complete != true or .end != "complete" then "seq \(.seq): complete=\(.complete) end=\(.end) missing=\(.missing)"
		elif .linking != "vhost" then "seq \(.seq): linking \(.linking)"
		elif $n != ["tun_xmit","dequeue","vhost_signal","eventfd"] then "seq \(.seq): stages \($n)"
		elif ($ts | map(select(. == 0)) | length) > 0 then "seq \(.seq): a stage with ts_ns 0: \($ts)"
		elif ([range(1; $ts | length)] | map(select($ts[.] <= $ts[. - 1])) | length) > 0 then "seq \(.seq): stamps do not rise: \($ts)"
		elif (.absent | index("irqfd")) == null or (.absent | index("kvm_inject")) == null then "seq \(.seq): absent \(.absent)"
		elif .icmp_type != 8 or .dst == null then "seq \(.seq): not an echo request (type \(.icmp_type))"
		elif (.stages[1:] | map("\(.pid) \(.comm)") | unique | length) != 1 or .stages[1].comm != $w then
			"seq \(.seq): dequeue..eventfd not all in the vhost worker \($w): \(.stages[1:] | map("\(.name)=\(.pid)/\(.comm)") | join(","))"
		elif (.batch // 0) < 1 then "seq \(.seq): batch \(.batch) (the signal covers at least this chain)"
		elif (.stages | map(select(.name == "tun_xmit" or .name == "vhost_signal")) | map(.tier) | unique) != [$ft] then
			"seq \(.seq): module functions on tiers \(.stages | map("\(.name)=\(.tier)") | join(","))"
		else empty end' "$out" 2>&1 | head -n 1)
	started=$(echo "$summary" | jq -r '.chains_started' 2>/dev/null)
	lost=$(echo "$summary" | jq -r '.lost' 2>/dev/null)
	rtun=$(echo "$ready" | jq -r '.tiers.tun_xmit.tier' 2>/dev/null)
	rvh=$(echo "$ready" | jq -r '.tiers.vhost_signal.tier' 2>/dev/null)
	rabs=$(echo "$ready" | jq -c '.absent' 2>/dev/null)
	if [ "$sent" != "$N" ]; then
		bad="ping sent [$sent] requests, wanted $N: $(tail -n 2 "$T/$1.ping" | tr '\n' ' ')"
	elif [ "$tx" != "$sent" ] || [ "$frames" != "$sent" ]; then
		bad="ping sent $sent, the tap handed over [$tx], vhost_drv received [$frames]"
	elif [ "$trc_rc" != 0 ] || [ -z "$summary" ]; then
		bad="tun_tx_to_kvm_irq exited $trc_rc, summary [$summary]: $(head -c 300 "$T/$1.err")"
	elif [ "$rtun" != "$ft" ] || [ "$rvh" != "$ft" ]; then
		bad="ready record: tun_xmit on [$rtun], vhost_signal on [$rvh], want $ft"
	elif [ "$rabs" != '["irqfd","kvm_inject"]' ]; then
		bad="ready record: absent $rabs, want [\"irqfd\",\"kvm_inject\"] (no KVM in the guest)"
	elif [ "$nchain" != "$nwant" ]; then
		bad="$nchain chain records for $nwant (seqs [$seqs])"
	elif [ "$seqs" != "$wantseq" ]; then
		bad="chain seqs [$seqs], want [$wantseq]"
	elif [ -n "$odd" ]; then
		bad="$odd"
	elif [ "$started" != "$nwant" ]; then
		bad="summary chains_started=$started, want $nwant"
	elif [ "$lost" != 0 ]; then
		bad="summary lost=$lost"
	fi
	[ -z "$bad" ]
}

report() { # NAME TAG
	if [ -n "$why" ]; then
		fail "$1" "$why"
	elif [ -n "$bad" ]; then
		fail "$1" "$bad"
	else
		pass "$1"
		return
	fi
	show "$T/$2.err" 15
	show "$T/$2.json" 8
	show "$T/$2.vd.err" 5
}

ALL="$(seq -s ' ' 1 $N) "

# 1: auto tier. The module functions get fentry where the module has BTF,
# else kprobe; eventfd_signal (vmlinux) gets fentry either way.
bad=''
if run_case auto tkt0 198.18.50 $N; then
	check_chains auto "$mod_tier" "$ALL"
	if [ -z "$bad" ]; then
		efd=$(jq -r 'select(.type=="chain") | .stages[] | select(.name=="eventfd") | .tier' "$T/auto.json" | sort -u | tr '\n' ' ')
		[ "$efd" = "fentry " ] || bad="eventfd stage on tiers [$efd], want fentry (vmlinux has BTF)"
	fi
fi
report $AUTO auto
cleanup_case

# 2: every function stage forced to kprobe (dequeue has tracepoints only and
# keeps its best one)
bad=''
if run_case kprobe tkt1 198.18.51 $N --tier kprobe; then
	check_chains kprobe kprobe "$ALL"
	if [ -z "$bad" ]; then
		k=$(jq -r 'select(.type=="chain") | .stages[] | select(.name!="dequeue") | .tier' "$T/kprobe.json" | sort -u | tr '\n' ' ')
		[ "$k" = "kprobe " ] || bad="function stages on tiers [$k], forced kprobe"
	fi
fi
report $KPRB kprobe
cleanup_case

# 3: --icmp-seq 3: one chain, seq 3, of the N frames that went through
bad=''
if run_case filter tkt2 198.18.52 1 --icmp-seq 3; then
	check_chains filter "$mod_tier" "3 "
	if [ -z "$bad" ]; then
		fo=$(json "$T/filter.json" summary | jq -r '.packets_filtered_out')
		[ "$fo" = $((N - 1)) ] || bad="summary packets_filtered_out=$fo, want $((N - 1))"
	fi
fi
report $FILT filter
cleanup_case

# 4: quiet: no chain record, each chain once in the kernel's histograms:
# dequeue, vhost_signal, eventfd and total, nothing where KVM is absent
bad=''
if run_case quiet tkt3 198.18.53 0 --metrics 127.0.0.1:0 --quiet; then
	s=$(json "$T/quiet.json" summary)
	hist=$(echo "$s" | jq -c '.segments_kernel | map_values(.count)' 2>/dev/null)
	want="{\"dequeue\":$N,\"vhost_signal\":$N,\"eventfd\":$N,\"irqfd\":0,\"kvm_inject\":0,\"total\":$N}"
	echo "  tki quiet: $(echo "$s" | jq -c .segments_kernel 2>/dev/null)"
	if [ "$sent" != "$N" ] || [ "$trc_rc" != 0 ]; then
		bad="ping sent [$sent] of $N, tracer exited $trc_rc: $(head -c 300 "$T/quiet.err")"
	elif [ "$(grep -c '"type":"chain"' "$T/quiet.json")" != 0 ]; then
		bad="chain records in quiet mode"
	elif [ "$hist" != "$want" ]; then
		bad="histogram counts $hist, want $want"
	elif [ "$(echo "$s" | jq -c '[.chains_completed, .records]')" != "[$N,0]" ]; then
		bad="summary [completed, records] $(echo "$s" | jq -c '[.chains_completed, .records]'), want [$N,0]"
	fi
fi
report $QUIET quiet
cleanup
