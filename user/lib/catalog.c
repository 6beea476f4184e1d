// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "catalog.h"

#define FE NETSEG_TIER_FENTRY
#define KP NETSEG_TIER_KPROBE
#define BTF NETSEG_TIER_TP_BTF
#define RAW NETSEG_TIER_RAW_TP
#define TP NETSEG_TIER_TRACEPOINT

/* A tracepoint offered at all three tracepoint tiers; programs are named
 * <base>_btf, <base>_raw and <base>_tp. */
#define TP3(cat, name, base)                                                   \
	{ BTF, #name, base "_btf" }, { RAW, #name, base "_raw" }, { TP, #cat "/" #name, base "_tp" }

/* ---- pktwatch: the small tracer that proves the machinery ---------------- */
static const struct tier_stage pktwatch_stages[] = {
	{ "xmit", "packet handed to a device driver", false,
	  { { FE, "dev_hard_start_xmit", "pw_xmit_fe" },
	    { KP, "dev_hard_start_xmit", "pw_xmit_kp" },
	    TP3(net, net_dev_start_xmit, "pw_xmit") } },
	{ "recv", "packet received by a device, before IP", false,
	  { TP3(net, netif_receive_skb, "pw_recv") } },
	{ "l4", "packet delivered to the local ICMP/UDP/TCP receive function", true,
	  { { FE, "icmp_rcv", "pw_icmp_fe" }, { FE, "udp_rcv", "pw_udp_fe" },
	    { FE, "tcp_v4_rcv", "pw_tcp_fe" }, { KP, "icmp_rcv", "pw_icmp_kp" },
	    { KP, "udp_rcv", "pw_udp_kp" }, { KP, "tcp_v4_rcv", "pw_tcp_kp" } } },
};

const struct tier_tool catalog_pktwatch = {
	"pktwatch", false, pktwatch_stages, sizeof(pktwatch_stages) / sizeof(pktwatch_stages[0]),
};

/* ---- kernel_icmp_rtt (segments A, M on the sender VM; F, G, H receiver) -- */
/* 5.10 sends requests through __ip_local_out and replies through ip_output:
 * hook the family; without functions, the device queue. */
#define RTT_IP_OUT                                                                         \
	{ "ip_out", "echo enters IP output (else: the device queue)", false,               \
	  { { FE, "__ip_local_out", "rtt_lout_fe" }, { FE, "ip_output", "rtt_iout_fe" },      \
	    { KP, "__ip_local_out", "rtt_lout_kp" }, { KP, "ip_output", "rtt_iout_kp" },      \
	    TP3(net, net_dev_queue, "rtt_devq") } }
/* classic tracepoints: net_dev_start_xmit, see kernel_icmp_rtt.bpf.c */
#define RTT_XMIT                                                                           \
	{ "xmit", "echo leaves the NIC (classic tier: handed to the driver)", false,       \
	  { { BTF, "net_dev_xmit", "rtt_xmit_btf" }, { RAW, "net_dev_xmit", "rtt_xmit_raw" }, \
	    { TP, "net/net_dev_start_xmit", "rtt_xmit_tp" } } }
#define RTT_RECV                                                                           \
	{ "recv", "echo received by the NIC (first of the receive tracepoints)", false,    \
	  { { BTF, "netif_receive_skb", "rtt_recv_btf" },                                   \
	    { BTF, "netif_receive_skb_entry", "rtt_rxe_btf" },                              \
	    { BTF, "netif_receive_skb_list_entry", "rtt_rxl_btf" },                         \
	    { RAW, "netif_receive_skb", "rtt_recv_raw" },                                   \
	    { RAW, "netif_receive_skb_entry", "rtt_rxe_raw" },                              \
	    { RAW, "netif_receive_skb_list_entry", "rtt_rxl_raw" },                         \
	    { TP, "net/netif_receive_skb", "rtt_recv_tp" },                                 \
	    { TP, "net/netif_receive_skb_entry", "rtt_rxe_tp" },                            \
	    { TP, "net/netif_receive_skb_list_entry", "rtt_rxl_tp" } } }

/* --direction tx: path 1 = ip_out -> xmit (request), path 2 = recv -> icmp_rcv */
static const struct tier_stage rtt_tx_stages[] = {
	RTT_IP_OUT,
	RTT_XMIT,
	RTT_RECV,
	/* tracepoints: the wake-up, or the read when the reader was quicker */
	{ "icmp_rcv", "reply reaches the ICMP layer (else: the ping socket wakes or reads it)", false,
	  { { FE, "icmp_rcv", "rtt_icmp_fe" }, { KP, "icmp_rcv", "rtt_icmp_kp" },
	    TP3(sock, sk_data_ready, "rtt_skrdy"), TP3(skb, skb_copy_datagram_iovec, "rtt_skcp") } },
};

/* --direction rx: path 1 = recv -> icmp_rcv (request), path 2 = ip_out -> xmit.
 * No tracepoint marks a request reaching ICMP: without functions, path 1
 * ends where the reply starts. */
static const struct tier_stage rtt_rx_stages[] = {
	RTT_RECV,
	{ "icmp_rcv", "request reaches the ICMP layer (else: path 1 ends at the reply)", true,
	  { { FE, "icmp_rcv", "rtt_icmp_fe" }, { KP, "icmp_rcv", "rtt_icmp_kp" } } },
	RTT_IP_OUT,
	RTT_XMIT,
};

const struct tier_tool catalog_kernel_icmp_rtt_tx = {
	"kernel_icmp_rtt --direction tx", false, rtt_tx_stages,
	sizeof(rtt_tx_stages) / sizeof(rtt_tx_stages[0]),
};

const struct tier_tool catalog_kernel_icmp_rtt_rx = {
	"kernel_icmp_rtt --direction rx", false, rtt_rx_stages,
	sizeof(rtt_rx_stages) / sizeof(rtt_rx_stages[0]),
};

/* ---- icmp_drop_detector (segments B, K, D, I and drops) ------------------ */
static const struct tier_stage idd_stages[] = {
	{ "recv", "request or reply received on an interface", false,
	  { { BTF, "netif_receive_skb", "idd_recv_btf" },
	    { BTF, "netif_receive_skb_entry", "idd_rxe_btf" },
	    { BTF, "netif_receive_skb_list_entry", "idd_rxl_btf" },
	    { RAW, "netif_receive_skb", "idd_recv_raw" },
	    { RAW, "netif_receive_skb_entry", "idd_rxe_raw" },
	    { RAW, "netif_receive_skb_list_entry", "idd_rxl_raw" },
	    { TP, "net/netif_receive_skb", "idd_recv_tp" },
	    { TP, "net/netif_receive_skb_entry", "idd_rxe_tp" },
	    { TP, "net/netif_receive_skb_list_entry", "idd_rxl_tp" } } },
	/* classic tracepoints: net_dev_start_xmit, see icmp_drop_detector.bpf.c */
	{ "xmit", "request or reply sent on an interface (classic tier: handed to the driver)", false,
	  { { BTF, "net_dev_xmit", "idd_xmit_btf" }, { RAW, "net_dev_xmit", "idd_xmit_raw" },
	    { TP, "net/net_dev_start_xmit", "idd_xmit_tp" } } },
	/* kfree_skb has a reason from 5.17 on: each typed tier has a variant
	 * without it, tried when the kernel rejects the one that reads it */
	{ "drop", "the kernel frees a packet of the flow (with the drop reason where the kernel gives one)", true,
	  { { BTF, "kfree_skb", "idd_drop_btf" }, { BTF, "kfree_skb", "idd_drop0_btf" },
	    { RAW, "kfree_skb", "idd_drop_raw" }, { RAW, "kfree_skb", "idd_drop0_raw" },
	    { TP, "skb/kfree_skb", "idd_drop_tp" } } },
};

const struct tier_tool catalog_icmp_drop_detector = {
	"icmp_drop_detector", false, idd_stages, sizeof(idd_stages) / sizeof(idd_stages[0]),
};

/* ---- tun_tx_to_kvm_irq (segments E, L) ----------------------------------- */
static const struct tier_stage tki_stages[] = {
	{ "tun_xmit", "stage 1: the tap transmits the packet toward the VM", false,
	  { { FE, "tun_net_xmit", "tki_tun_fe" }, { KP, "tun_net_xmit", "tki_tun_kp" },
	    TP3(net, net_dev_start_xmit, "tki_tun") } },
	/* tun_do_read frees the very skb it copied out, in the reader's
	 * thread: the per-packet link to everything the reader does next */
	{ "dequeue", "the tap's reader (vhost worker or VMM thread) copies the packet out", false,
	  { TP3(skb, consume_skb, "tki_deq") } },
	{ "drop", "the kernel frees a traced packet before its reader had it", true,
	  { { BTF, "kfree_skb", "tki_drop_btf" }, { BTF, "kfree_skb", "tki_drop0_btf" },
	    { RAW, "kfree_skb", "tki_drop_raw" }, { RAW, "kfree_skb", "tki_drop0_raw" },
	    { TP, "skb/kfree_skb", "tki_drop_tp" } } },
	/* vhost_signal is inlined on 5.x; this is the call that survives */
	{ "vhost_signal", "stage 2: vhost adds used buffers and signals the guest", true,
	  { { FE, "vhost_add_used_and_signal_n", "tki_vhost_fe" },
	    { KP, "vhost_add_used_and_signal_n", "tki_vhost_kp" } } },
	/* eventfd_signal became a wrapper of eventfd_signal_mask in 6.8 */
	{ "eventfd", "stage 3: the vq's call eventfd is signalled (vhost)", true,
	  { { FE, "eventfd_signal", "tki_efd_fe" }, { FE, "eventfd_signal_mask", "tki_efdm_fe" },
	    { KP, "eventfd_signal", "tki_efd_kp" }, { KP, "eventfd_signal_mask", "tki_efdm_kp" } } },
	{ "eventfd_write", "stage 3: a user-space VMM writes the irqfd's eventfd", true,
	  { { TP, "syscalls/sys_enter_write", "tki_efdw_tp" } } },
	{ "irqfd", "stage 4: KVM's irqfd wakes on that eventfd", true,
	  { { FE, "irqfd_wakeup", "tki_irqfd_fe" }, { KP, "irqfd_wakeup", "tki_irqfd_kp" } } },
	{ "kvm_inject", "stage 5: KVM injects the interrupt (MSI, GSI, or the LAPIC accepts it)", true,
	  { { BTF, "kvm_msi_set_irq", "tki_msi_btf" }, { BTF, "kvm_set_irq", "tki_gsi_btf" },
	    { BTF, "kvm_apic_accept_irq", "tki_apic_btf" },
	    { RAW, "kvm_msi_set_irq", "tki_msi_raw" }, { RAW, "kvm_set_irq", "tki_gsi_raw" },
	    { RAW, "kvm_apic_accept_irq", "tki_apic_raw" },
	    { TP, "kvm/kvm_msi_set_irq", "tki_msi_tp" }, { TP, "kvm/kvm_set_irq", "tki_gsi_tp" },
	    { TP, "kvm/kvm_apic_accept_irq", "tki_apic_tp" } } },
};

const struct tier_tool catalog_tun_tx_to_kvm_irq = {
	"tun_tx_to_kvm_irq", false, tki_stages, sizeof(tki_stages) / sizeof(tki_stages[0]),
};

/* ---- status_ts (socket-level stamps of HTTP exchanges) -------------------- */
static const struct tier_stage sts_stages[] = {
	{ "rx", "bytes reach a TCP socket (a request on a node, a reply on a probe)", false,
	  { { FE, "tcp_data_ready", "sts_rx_fe" }, { KP, "tcp_data_ready", "sts_rx_kp" },
	    TP3(sock, sk_data_ready, "sts_rx") } },
	/* tcp_sendmsg_locked as the send begins (6.10+), sock_send_length after
	 * it (6.3+): both where both exist, the first stamp wins */
	{ "tx", "the socket layer takes bytes to send", false,
	  { { FE, "tcp_sendmsg", "sts_tx_fe" }, { KP, "tcp_sendmsg", "sts_tx_kp" },
	    { BTF, "tcp_sendmsg_locked", "sts_txl_btf" }, { BTF, "sock_send_length", "sts_tx_btf" },
	    { RAW, "tcp_sendmsg_locked", "sts_txl_raw" }, { RAW, "sock_send_length", "sts_tx_raw" },
	    { TP, "sock/sock_send_length", "sts_tx_tp" } } },
	{ "wire", "the first segment after a write is handed to a device driver", true,
	  { TP3(net, net_dev_start_xmit, "sts_wire") } },
	{ "state", "a connection closes (ends its exchange; the socket may be reused)", true,
	  { TP3(sock, inet_sock_set_state, "sts_state") } },
};

const struct tier_tool catalog_status_ts = {
	"status_ts", false, sts_stages, sizeof(sts_stages) / sizeof(sts_stages[0]),
};

const struct tier_tool *const catalog_tools[] = {
	&catalog_pktwatch,           &catalog_kernel_icmp_rtt_tx, &catalog_kernel_icmp_rtt_rx,
	&catalog_icmp_drop_detector, &catalog_tun_tx_to_kvm_irq,  &catalog_status_ts,
	NULL,
};
