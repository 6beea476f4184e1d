/* Kernel timestamps from netseg's status_ts (client role), when ippantime is built inside
 * netseg: the top-level Makefile links it in. */
#include "kts.h"
#include "status_ts_client.h"

#include <stdio.h>
#include <stdlib.h>

struct kts {
	struct sts_client *c;
	char desc[320];
};

struct kts *kts_open(char *why, size_t whylen)
{
	struct kts *k = calloc(1, sizeof(*k));

	if (!k) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if (sts_client_open(&k->c, why, whylen)) {
		free(k);
		return NULL;
	}
	snprintf(k->desc, sizeof(k->desc), "status_ts: %s", sts_client_tiers(k->c));
	return k;
}

const char *kts_describe(const struct kts *k)
{
	return k ? k->desc : "";
}

int kts_take(struct kts *k, const struct kts_conn *c, int64_t from_wall_ns, int64_t to_wall_ns,
	     struct kts_times *out)
{
	struct sts_conn4 conn = { c->local_ip, c->remote_ip, c->local_port, c->remote_port };
	struct sts_client_times t;

	if (!k || from_wall_ns < 0 || to_wall_ns < from_wall_ns ||
	    sts_client_take(k->c, &conn, (uint64_t)from_wall_ns, (uint64_t)to_wall_ns, &t))
		return -1;
	out->t_sent_wall_ns = (int64_t)t.tx_wall_ns;
	out->t_first_byte_wall_ns = (int64_t)t.rx_wall_ns;
	return 0;
}

uint64_t kts_lost(const struct kts *k)
{
	return k ? sts_client_lost(k->c) : 0;
}

void kts_close(struct kts *k)
{
	if (!k)
		return;
	sts_client_close(k->c);
	free(k);
}
