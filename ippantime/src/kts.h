/* Kernel socket timestamps for probe samples: netseg's status_ts, linked in when ippantime is
 * built inside netseg (the top-level Makefile passes it), else a stand-in that says why not. */
#ifndef IPT_KTS_H
#define IPT_KTS_H
#include <stddef.h>
#include <stdint.h>

enum kts_mode { KTS_OFF = 0, KTS_AUTO, KTS_ON };

struct kts;

/* The connection a sample used, as libcurl reports it (CURLINFO_LOCAL_IP/PORT,
 * CURLINFO_PRIMARY_IP/PORT). Addresses in network order, ports in host order. */
struct kts_conn {
	uint32_t local_ip, remote_ip;
	uint16_t local_port, remote_port;
};

struct kts_times {
	int64_t t_sent_wall_ns;       /* the request left the socket layer */
	int64_t t_first_byte_wall_ns; /* the reply's first byte reached the socket */
};

/* Start kernel timestamping of this process's TCP sockets. Returns NULL with a one-line reason
 * in `why` when it cannot (not root, no BPF, not in this build). */
struct kts *kts_open(char *why, size_t whylen);
/* "tx=tp_btf rx=tp_btf ...": the hooks in use, for the run's header. */
const char *kts_describe(const struct kts *k);
/* Stamps of the exchange on `c` whose request was written within [from_wall_ns, to_wall_ns]:
 * 0 and *out filled, or -1 when the kernel saw none. Each exchange is handed out once. */
int kts_take(struct kts *k, const struct kts_conn *c, int64_t from_wall_ns, int64_t to_wall_ns,
	     struct kts_times *out);
/* Records the kernel could not deliver (ring buffer full): they are counted, never silent. */
uint64_t kts_lost(const struct kts *k);
void kts_close(struct kts *k);

#endif
