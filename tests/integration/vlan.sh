#!/usr/bin/env bash
# 802.1Q in the packet data. This kernel may have no 8021q module, so the
# tagged frames are written by hand on a packet socket: ICMP echoes inside
# an 802.1Q tag, and inside 802.1ad+802.1Q (QinQ), from namespace a to b
# over a veth. Then skb->protocol names the outer tag and the tags are in
# the data at both of pktwatch's hooks: on transmit (network header left
# at the tag by the packet socket) and on the peer's receive tracepoint
# (data at the outer TCI, before the stack untags). pktwatch must see every
# echo inside, by its sequence number.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
PW=$NETSEG_BIN/pktwatch
N=4
names=(vlan_8021q_echoes_seen_at_xmit_and_recv vlan_qinq_echoes_seen_at_xmit_and_recv)

if ! is_root; then
	for t in "${names[@]}"; do skip "$t" "needs root (network namespaces and BPF)"; done
	exit 0
fi
if ! command -v python3 >/dev/null; then
	for t in "${names[@]}"; do skip "$t" "python3 is missing (it writes the tagged frames)"; done
	exit 0
fi

t_netns_pair a b 198.18.50.1 198.18.50.2 || { fail vlan_setup "cannot create namespaces"; exit 1; }
mac_b=$(ip netns exec "$(ns b)" cat /sys/class/net/veth-b/address)

# send_tagged TPIDS ID: N echoes (seq 1..N, id ID) from veth-a, tagged with
# the comma list of TPIDs (outer first), VLAN ids 10, 20, ...
send_tagged() {
	ip netns exec "$(ns a)" python3 - "$mac_b" "$1" "$2" "$N" <<'PY'
import socket, struct, sys
dst = bytes.fromhex(sys.argv[1].replace(':', ''))
tpids = [int(t, 16) for t in sys.argv[2].split(',')]
ident, n = int(sys.argv[3]), int(sys.argv[4])

def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16)
    return ~(s + (s >> 16)) & 0xffff

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(tpids[0]))
s.bind(('veth-a', tpids[0]))
src = s.getsockname()[4]
for seq in range(1, n + 1):
    icmp = struct.pack('!BBHHH', 8, 0, 0, ident, seq)
    icmp = icmp[:2] + struct.pack('!H', csum(icmp)) + icmp[4:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(icmp), seq, 0, 64, 1, 0,
                     socket.inet_aton('198.18.50.1'), socket.inet_aton('198.18.50.2'))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    tags = b''.join(struct.pack('!HH', t, 10 * (i + 1)) for i, t in enumerate(tpids))
    s.send(dst + src + tags + b'\x08\x00' + ip + icmp)
PY
}

# run_case NAME TPIDS ID
run_case() {
	local name=$1 tpids=$2 id=$3 want xmit recv
	t_bg "$T_TMP/$name.a.json" ip netns exec "$(ns a)" "$PW" -j -i veth-a --ready-file "$T_TMP/$name.a.ready"
	local pa=$T_LAST_PID
	t_bg "$T_TMP/$name.b.json" ip netns exec "$(ns b)" "$PW" -j -i veth-b --ready-file "$T_TMP/$name.b.ready"
	local pb=$T_LAST_PID
	if ! t_wait_file "$T_TMP/$name.a.ready" 10 || ! t_wait_file "$T_TMP/$name.b.ready" 10; then
		fail "$name" "pktwatch never became ready"
		return
	fi
	if ! send_tagged "$tpids" "$id" 2>"$T_TMP/$name.send.err"; then
		t_stop "$pa" INT; t_stop "$pb" INT
		skip "$name" "cannot write frames on a packet socket: $(tail -n 1 "$T_TMP/$name.send.err")"
		return
	fi
	sleep 0.3
	t_stop "$pa" INT
	t_stop "$pb" INT
	want="$(seq -s ' ' 1 $N) "
	xmit=$(jq -r --argjson id "$id" 'select(.type=="pkt" and .stage=="xmit" and .icmp_type==8 and .id==$id) | .seq' "$T_TMP/$name.a.json" | sort -n | tr '\n' ' ')
	recv=$(jq -r --argjson id "$id" 'select(.type=="pkt" and .stage=="recv" and .icmp_type==8 and .id==$id) | .seq' "$T_TMP/$name.b.json" | sort -n | tr '\n' ' ')
	check "$name" "echoes with tags $tpids: at xmit on veth-a [$xmit], at recv on veth-b [$recv], want [$want] each" \
		test "$xmit" = "$want" -a "$recv" = "$want"
}

run_case vlan_8021q_echoes_seen_at_xmit_and_recv 8100 4660
run_case vlan_qinq_echoes_seen_at_xmit_and_recv 88a8,8100 4661
