/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * status_ts: kernel stamps of HTTP exchanges on TCP sockets, one record per
 * exchange (a request and the beginning of its reply).
 *
 *   client (a probe, ippantime): the request is written (tx), its first
 *          segment goes to the device (wire), the reply's first bytes reach
 *          the socket (rx). rx - tx is the round trip without the handshake
 *          and without the probe's own scheduling.
 *   server (a node): the request's first bytes reach the socket (rx), the
 *          reply is written (tx), its first segment goes to the device
 *          (wire). tx - rx is the node's service time.
 */
#ifndef STATUS_TS_H
#define STATUS_TS_H

#include "netseg.h"

enum sts_role {
	STS_ROLE_CLIENT = 0,
	STS_ROLE_SERVER = 1,
};

enum sts_stage {
	STS_RX = 0,      /* bytes reach the socket */
	STS_TX = 1,      /* the socket layer takes bytes to send */
	STS_WIRE = 2,    /* the first segment after tx is handed to a device */
	STS_N_STAGES = 3,
};

enum sts_hook {
	STS_HOOK_TCP_DATA_READY = 0,
	STS_HOOK_SK_DATA_READY,      /* sock:sk_data_ready */
	STS_HOOK_TCP_SENDMSG,
	STS_HOOK_TCP_SENDMSG_LOCKED, /* tcp:tcp_sendmsg_locked */
	STS_HOOK_SOCK_SEND_LENGTH,   /* sock:sock_send_length (after the send) */
	STS_HOOK_DEV_START_XMIT,     /* net:net_dev_start_xmit */
	STS_N_HOOKS,
};

/* Tool counters, after the shared ones (enum netseg_counter). */
enum sts_counter {
	STS_CNT_CLOSED = NETSEG_CNT_TOOL0, /* the connection closed mid-exchange */
};

/* A ring-buffer record kind of its own: the connection closed before the
 * exchange completed (a reset, a server that never answered). */
#define STS_EV_CLOSED NETSEG_SPAN_EV_TOOL0

/* A socket's address, never dereferenced in user space: it names the
 * connection for as long as it lives. */
struct sts_key {
	__u64 sk;
};

/* A span (netseg_span.bpf.h): stamps indexed by enum sts_stage. */
struct sts_exch {
	struct netseg_span span;
	__u32 laddr;          /* network order */
	__u32 raddr;
	__u16 lport;          /* host order */
	__u16 rport;
	__u32 netns;
	__u32 tgid;           /* the process that wrote (client) */
	__u8 role;            /* enum sts_role */
	__u8 pad[3];
	struct netseg_stamp st[STS_N_STAGES];
};

struct sts_event {
	struct netseg_rec_hdr h;
	struct sts_exch x;
};

#endif /* STATUS_TS_H */
