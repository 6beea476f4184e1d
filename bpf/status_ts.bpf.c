// SPDX-License-Identifier: GPL-2.0
/*
 * status_ts: kernel stamps of HTTP exchanges on TCP sockets (see status_ts.h).
 *
 * One span per socket and exchange, keyed by the socket's address. The
 * exchange starts where its role says (client: the request is written;
 * server: the request's first bytes arrive) and ends with the first bytes
 * of the other direction (client: the reply arrives; server: the reply is
 * written and its first segment reaches the device). Further bytes of the
 * same request or reply stamp nothing: a split request stays one exchange,
 * the body segment of a reply after its headers changes no stamp.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "netseg_emit.bpf.h"
#include "netseg_skb.bpf.h"
#include "netseg_filter.bpf.h"
#include "netseg_span.bpf.h"
#include "status_ts.h"

#define STS_AF_INET 2
#define STS_AF_INET6 10
#define STS_TCP_ESTABLISHED 1
#define STS_TCP_CLOSE 7

/* Written by the loader between open and load; 0 disables a filter. */
const volatile __u8 sts_role = STS_ROLE_CLIENT;
const volatile __u32 sts_tgid = 0;        /* client: only this process's sockets */
const volatile __u16 sts_lport_lo = 0;    /* server: the node's listening ports */
const volatile __u16 sts_lport_hi = 0;
const volatile __u16 sts_rport_lo = 0;    /* client: the nodes' ports */
const volatile __u16 sts_rport_hi = 0;
/* the device hook is attached: a server's exchange waits for it */
const volatile bool sts_has_wire = false;

/* Exchanges in flight: one per connection at most (HTTP/1.1 without
 * pipelining), finished within the loader's timeout. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sts_key);
	__type(value, struct sts_exch);
} exchanges SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sts_exch);
} scratch SEC(".maps");

static __always_inline __u32 required_stages(void)
{
	if (sts_role == STS_ROLE_CLIENT)
		return 1u << STS_TX | 1u << STS_RX;
	return 1u << STS_RX | 1u << STS_TX | (sts_has_wire ? 1u << STS_WIRE : 0);
}

static __always_inline bool in_range(__u16 v, __u16 lo, __u16 hi)
{
	return !lo || (v >= lo && v <= hi);
}

/*
 * The start test of the role's first hook, which sees every socket of the
 * machine: an established IPv4 TCP connection (or IPv4 on an IPv6 socket)
 * of the watched namespace,
 * process and ports. Established, because a listener is woken for each new
 * connection, and a peer's FIN wakes the reader too, after moving the
 * connection to CLOSE_WAIT: neither is a request. Fills the addresses.
 */
/* A node listening on [::] serves IPv4 clients on IPv6 sockets whose peer
 * is ::ffff:a.b.c.d; the kernel keeps the IPv4 fields of those filled. */
static __always_inline bool v4mapped(const struct sock_common *c)
{
	struct in6_addr a;

	if (BPF_CORE_READ_INTO(&a, c, skc_v6_daddr))
		return false;
	return !a.in6_u.u6_addr32[0] && !a.in6_u.u6_addr32[1] &&
	       a.in6_u.u6_addr32[2] == bpf_htonl(0xffff);
}

struct sts_conn {
	__u32 laddr, raddr, netns;
	__u16 lport, rport;
};

static __always_inline bool watched(const struct sock *sk, bool direct, struct sts_conn *x)
{
	const struct sock_common *c = &sk->__sk_common;

	if (sts_tgid && (bpf_get_current_pid_tgid() >> 32) != sts_tgid)
		return false;
	__u16 family = NETSEG_READ(direct, c, skc_family);

	if ((family != STS_AF_INET && !(family == STS_AF_INET6 && v4mapped(c))) ||
	    NETSEG_READ(direct, sk, sk_protocol) != NETSEG_IPPROTO_TCP ||
	    NETSEG_READ(direct, c, skc_state) != STS_TCP_ESTABLISHED)
		return false;
	x->lport = NETSEG_READ(direct, c, skc_num);
	x->rport = bpf_ntohs(NETSEG_READ(direct, c, skc_dport));
	if (!in_range(x->lport, sts_lport_lo, sts_lport_hi) ||
	    !in_range(x->rport, sts_rport_lo, sts_rport_hi))
		return false;
	x->netns = direct ? c->skc_net.net->ns.inum : BPF_CORE_READ(c, skc_net.net, ns.inum);
	if (netseg_netns_ino && x->netns != netseg_netns_ino)
		return false;
	x->laddr = NETSEG_READ(direct, c, skc_rcv_saddr);
	x->raddr = NETSEG_READ(direct, c, skc_daddr);
	return true;
}

static __always_inline void stamp(struct netseg_stamp *s, __u64 obj, enum sts_hook hook,
				  enum netseg_tier tier, const struct net_device *dev, __u64 now)
{
	netseg_stamp_fill(s, obj, dev ? BPF_CORE_READ(dev, ifindex) : 0, tier, hook);
	if (dev)
		BPF_CORE_READ_STR_INTO(&s->ifname, dev, name);
	netseg_stamp_commit(s, now);
}

/* The role's first stamp: a new exchange, unless it is more bytes of the
 * request an exchange on this connection already holds. */
static __always_inline int start(const struct sock *sk, bool direct, enum sts_stage stage,
				 enum sts_hook hook, enum netseg_tier tier)
{
	enum sts_stage end = stage == STS_TX ? STS_RX : STS_TX;
	struct sts_key key = { (__u64)sk };
	struct sts_exch *old, *x;
	struct sts_conn conn;
	__u32 zero = 0;
	__u64 now;

	if (!sk || !watched(sk, direct, &conn))
		return 0;
	now = bpf_ktime_get_ns();
	old = bpf_map_lookup_elem(&exchanges, &key);
	if (old) {
		bool stale = (__s64)(now - old->span.start_ns) > (__s64)netseg_span_timeout_ns;

		if (!stale && !old->st[end].ts_ns) {
			netseg_count(NETSEG_CNT_SPAN_DUPLICATE);
			return 0;
		}
		/* the answer went out but not all of it was stamped (a server
		 * whose segment we did not see), or the peer went silent */
		if (netseg_span_end(&exchanges, &key, old, sizeof(*old), NETSEG_SPAN_EV_REPLACED,
				    !netseg_quiet) == 0)
			netseg_count(NETSEG_CNT_SPAN_REPLACED);
	}
	x = bpf_map_lookup_elem(&scratch, &zero);
	if (!x)
		return 0;
	netseg_span_zero(x);
	x->laddr = conn.laddr;
	x->raddr = conn.raddr;
	x->lport = conn.lport;
	x->rport = conn.rport;
	x->netns = conn.netns;
	x->span.start_ns = now;
	x->tgid = bpf_get_current_pid_tgid() >> 32;
	x->role = sts_role;
	stamp(&x->st[stage], (__u64)sk, hook, tier, NULL, now);
	netseg_span_insert(&exchanges, &key, x);
	return 0;
}

/* A later stamp of an exchange in flight (first wins), and its completion. */
static __always_inline int later(const void *sk, __u64 obj, enum sts_stage stage,
				 enum sts_hook hook, enum netseg_tier tier,
				 const struct net_device *dev)
{
	struct sts_key key = { (__u64)sk };
	struct sts_exch *x = bpf_map_lookup_elem(&exchanges, &key);

	if (!x || x->st[stage].ts_ns)
		return 0;
	/* the device hook names the segment after the write, no other */
	if (stage == STS_WIRE && !x->st[STS_TX].ts_ns)
		return 0;
	stamp(&x->st[stage], obj, hook, tier, dev, bpf_ktime_get_ns());
	if (netseg_span_ready(&x->span, x->st, STS_N_STAGES, required_stages()))
		netseg_span_finish(&exchanges, &key, x, sizeof(*x), true, x->st, STS_N_STAGES);
	return 0;
}

/* Before a map lookup on a hook every socket (or every packet) passes:
 * three loads are cheaper, and only the watched ports' sockets hold an
 * exchange */
static __always_inline bool is_watched_tcp(const struct sock *sk, bool direct)
{
	const struct sock_common *c = &sk->__sk_common;

	if (!sk || NETSEG_READ(direct, sk, sk_protocol) != NETSEG_IPPROTO_TCP)
		return false;
	return in_range(NETSEG_READ(direct, c, skc_num), sts_lport_lo, sts_lport_hi) &&
	       in_range(bpf_ntohs(NETSEG_READ(direct, c, skc_dport)), sts_rport_lo, sts_rport_hi);
}

static __always_inline int on_rx(const struct sock *sk, bool direct, enum sts_hook hook,
				 enum netseg_tier tier)
{
	if (sts_role == STS_ROLE_SERVER)
		return start(sk, direct, STS_RX, hook, tier);
	if (!netseg_spans_any() || !is_watched_tcp(sk, direct))
		return 0;
	return later(sk, (__u64)sk, STS_RX, hook, tier, NULL);
}

static __always_inline int on_tx(const struct sock *sk, bool direct, enum sts_hook hook,
				 enum netseg_tier tier)
{
	if (sts_role == STS_ROLE_CLIENT)
		return start(sk, direct, STS_TX, hook, tier);
	if (!netseg_spans_any() || !is_watched_tcp(sk, direct))
		return 0;
	return later(sk, (__u64)sk, STS_TX, hook, tier, NULL);
}

/* ---- rx: bytes reach the socket ------------------------------------- */
SEC("fentry/tcp_data_ready")
int BPF_PROG(sts_rx_fe, struct sock *sk)
{
	return on_rx(sk, true, STS_HOOK_TCP_DATA_READY, NETSEG_TIER_FENTRY);
}

SEC("kprobe")
int BPF_KPROBE(sts_rx_kp, struct sock *sk)
{
	return on_rx(sk, false, STS_HOOK_TCP_DATA_READY, NETSEG_TIER_KPROBE);
}

SEC("tp_btf/sk_data_ready")
int BPF_PROG(sts_rx_btf, const struct sock *sk)
{
	return on_rx(sk, true, STS_HOOK_SK_DATA_READY, NETSEG_TIER_TP_BTF);
}

SEC("raw_tp/sk_data_ready")
int BPF_PROG(sts_rx_raw, const struct sock *sk)
{
	return on_rx(sk, false, STS_HOOK_SK_DATA_READY, NETSEG_TIER_RAW_TP);
}

SEC("tracepoint/sock/sk_data_ready")
int sts_rx_tp(struct trace_event_raw_sk_data_ready *args)
{
	/* the record names family and protocol: most sockets end here */
	if ((args->family != STS_AF_INET && args->family != STS_AF_INET6) ||
	    args->protocol != NETSEG_IPPROTO_TCP)
		return 0;
	return on_rx(args->skaddr, false, STS_HOOK_SK_DATA_READY, NETSEG_TIER_TRACEPOINT);
}

/* ---- tx: the socket layer takes bytes to send ------------------------ */
SEC("fentry/tcp_sendmsg")
int BPF_PROG(sts_tx_fe, struct sock *sk)
{
	return on_tx(sk, true, STS_HOOK_TCP_SENDMSG, NETSEG_TIER_FENTRY);
}

SEC("kprobe")
int BPF_KPROBE(sts_tx_kp, struct sock *sk)
{
	return on_tx(sk, false, STS_HOOK_TCP_SENDMSG, NETSEG_TIER_KPROBE);
}

/* tcp_sendmsg_locked (6.10+) fires as the send begins; sock_send_length
 * (6.3+) only after it returned, when a loopback or veth peer may already
 * have received the bytes: where both exist the first stamp wins. */
SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(sts_txl_btf, const struct sock *sk)
{
	return on_tx(sk, true, STS_HOOK_TCP_SENDMSG_LOCKED, NETSEG_TIER_TP_BTF);
}

SEC("raw_tp/tcp_sendmsg_locked")
int BPF_PROG(sts_txl_raw, const struct sock *sk)
{
	return on_tx(sk, false, STS_HOOK_TCP_SENDMSG_LOCKED, NETSEG_TIER_RAW_TP);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(sts_tx_btf, struct sock *sk, int ret)
{
	if (ret <= 0)
		return 0;
	return on_tx(sk, true, STS_HOOK_SOCK_SEND_LENGTH, NETSEG_TIER_TP_BTF);
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(sts_tx_raw, struct sock *sk, int ret)
{
	if (ret <= 0)
		return 0;
	return on_tx(sk, false, STS_HOOK_SOCK_SEND_LENGTH, NETSEG_TIER_RAW_TP);
}

SEC("tracepoint/sock/sock_send_length")
int sts_tx_tp(struct trace_event_raw_sock_msg_length *args)
{
	if (args->ret <= 0 || (args->family != STS_AF_INET && args->family != STS_AF_INET6) ||
	    args->protocol != NETSEG_IPPROTO_TCP)
		return 0;
	return on_tx(args->sk, false, STS_HOOK_SOCK_SEND_LENGTH, NETSEG_TIER_TRACEPOINT);
}

/* ---- wire: the first segment after the write reaches a device -------- */
static __always_inline int on_wire(const struct sk_buff *skb, bool direct, enum netseg_tier tier)
{
	const struct sock *sk;

	/* every packet of the machine passes here: a load while no exchange
	 * is open, else three reads before a lookup */
	if (!skb || !netseg_spans_any())
		return 0;
	sk = NETSEG_READ(direct, skb, sk);
	if (!is_watched_tcp(sk, direct))
		return 0;
	return later(sk, (__u64)skb, STS_WIRE, STS_HOOK_DEV_START_XMIT, tier,
		     NETSEG_READ(direct, skb, dev));
}

SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(sts_wire_btf, const struct sk_buff *skb)
{
	return on_wire(skb, true, NETSEG_TIER_TP_BTF);
}

SEC("raw_tp/net_dev_start_xmit")
int BPF_PROG(sts_wire_raw, const struct sk_buff *skb)
{
	return on_wire(skb, false, NETSEG_TIER_RAW_TP);
}

SEC("tracepoint/net/net_dev_start_xmit")
int sts_wire_tp(struct trace_event_raw_net_dev_start_xmit *args)
{
	return on_wire(args->skbaddr, false, NETSEG_TIER_TRACEPOINT);
}

/* ---- state: a connection that closes ends its exchange --------------- */
/* Its socket's address may soon name another connection. */
static __always_inline int on_state(const void *sk, int newstate)
{
	struct sts_key key = { (__u64)sk };
	struct sts_exch *x;

	if (newstate != STS_TCP_CLOSE || !netseg_spans_any())
		return 0;
	x = bpf_map_lookup_elem(&exchanges, &key);
	/* quiet mode: counted only, as a replaced exchange is */
	if (x && netseg_span_end(&exchanges, &key, x, sizeof(*x), STS_EV_CLOSED, !netseg_quiet) == 0)
		netseg_count(STS_CNT_CLOSED);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sts_state_btf, const struct sock *sk, int oldstate, int newstate)
{
	return on_state(sk, newstate);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(sts_state_raw, const struct sock *sk, int oldstate, int newstate)
{
	return on_state(sk, newstate);
}

SEC("tracepoint/sock/inet_sock_set_state")
int sts_state_tp(struct trace_event_raw_inet_sock_set_state *args)
{
	if (args->protocol != NETSEG_IPPROTO_TCP)
		return 0;
	return on_state(args->skaddr, args->newstate);
}

char LICENSE[] SEC("license") = "GPL";
