/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * status_ts inside another program (ippantime probe): the client role for
 * the calling process's own connections, loaded quietly, with a lookup of
 * each finished exchange by connection and time instead of printed records.
 */
#ifndef STATUS_TS_CLIENT_H
#define STATUS_TS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct sts_client;
struct tier_plan;

/* Settle the plan before each load (both status_ts and the client role):
 * the wire stamp is the first segment after the write, so it means
 * something only where the write is stamped as it begins; with only
 * sock:sock_send_length (after the send returned: classic tracepoints,
 * 6.3 to 6.9) the first segment has already left and wire is dropped. */
void sts_plan_settle(struct tier_plan *plan);

struct sts_conn4 {
	uint32_t laddr, raddr;   /* network order */
	uint16_t lport, rport;   /* host order */
};

/* The kernel's stamps of one exchange, on the wall clock. */
struct sts_client_times {
	uint64_t tx_wall_ns;     /* the request was handed to the socket layer */
	uint64_t wire_wall_ns;   /* its first segment reached the device (0: not seen) */
	uint64_t rx_wall_ns;     /* the reply's first bytes reached the socket */
};

/* Load and attach for this process's IPv4 TCP connections. Returns 0, or -1
 * with one line in err (not privileged, no BTF, the kernel refused). */
int sts_client_open(struct sts_client **out, char *err, size_t errlen);
/* "rx=tp_btf tx=tp_btf wire=tp_btf state=tp_btf" */
const char *sts_client_tiers(const struct sts_client *c);
/* The exchange on `conn` whose request was written within [from, to] (wall
 * ns): 0 with *out filled (and forgotten: each is handed out once), or -1. */
int sts_client_take(struct sts_client *c, const struct sts_conn4 *conn, uint64_t from_wall_ns,
		    uint64_t to_wall_ns, struct sts_client_times *out);
/* Exchanges the kernel could not hand over (ring buffer full, map full). */
uint64_t sts_client_lost(struct sts_client *c);
void sts_client_close(struct sts_client *c);

#endif /* STATUS_TS_CLIENT_H */
