#!/usr/bin/env bash
# `--netns all -i X`: interface X of the tracer's own namespace, not every
# interface that happens to share its ifindex (each fresh namespace numbers
# its devices from 1, so two namespaces' veths are both index 2).
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
PW=$NETSEG_BIN/pktwatch
name=netns_all_interface_is_the_one_of_own_namespace

if ! is_root; then
	skip "$name" "needs root (network namespaces and BPF)"
	exit 0
fi

t_netns_pair a b 198.18.40.1 198.18.40.2 || { fail netns_ifset_setup "cannot create namespaces"; exit 1; }
t_netns_pair c d 198.18.41.1 198.18.41.2 || { fail netns_ifset_setup "cannot create namespaces"; exit 1; }
idx_a=$(ip netns exec "$(ns a)" cat /sys/class/net/veth-a/ifindex)
idx_c=$(ip netns exec "$(ns c)" cat /sys/class/net/veth-a/ifindex)
if [ "$idx_a" != "$idx_c" ]; then
	skip "$name" "the kernel gave veth-a different indexes ($idx_a, $idx_c): nothing to confuse"
	exit 0
fi
ino_a=$(ip netns exec "$(ns a)" stat -L -c %i /proc/self/ns/net)

t_bg "$T_TMP/all.json" ip netns exec "$(ns a)" "$PW" -j --netns all -i veth-a --ready-file "$T_TMP/all.ready"
pid=$T_LAST_PID
if ! t_wait_file "$T_TMP/all.ready" 10; then
	fail "$name" "pktwatch never became ready: $(head -c 300 "$T_TMP/all.json.err")"
	exit 0
fi
# the same ifindex carries echoes in both namespaces; only a's may show
ip netns exec "$(ns c)" ping -n -q -c 3 -i 0.2 198.18.41.2 >/dev/null 2>&1
ip netns exec "$(ns a)" ping -n -q -c 2 -i 0.2 198.18.40.2 >/dev/null 2>&1
t_stop "$pid" INT
own=$(jq -r 'select(.type=="pkt" and .stage=="xmit" and .icmp_type==8 and .dst=="198.18.40.2") | .seq' "$T_TMP/all.json" | sort -un | wc -l)
other=$(jq -r 'select(.type=="pkt" and (.src=="198.18.41.2" or .dst=="198.18.41.2")) | .seq' "$T_TMP/all.json" | wc -l)
foreign_ns=$(jq -r --argjson ino "$ino_a" 'select(.type=="pkt" and .netns!=$ino) | .netns' "$T_TMP/all.json" | wc -l)
check "$name" "own namespace: $own of 2 requests; other namespace (same ifindex $idx_a): $other records, $foreign_ns records not of netns $ino_a" \
	test "$own" -eq 2 -a "$other" -eq 0 -a "$foreign_ns" -eq 0
