/* A kts.h stand-in for tests: kernel timestamps that say where they came from. Linked instead
 * of kts_none.c into a test-only ippantime, so the probe's kernel path (which connection,
 * which window, which transfer, what lands in the CSV and the summary) is checked without
 * status_ts. The stamps are arithmetic on what the probe passed:
 *   t_sent_wall_ns       = from + 2 ms + 20 us  (the probe's t_sent + 20 us, if its slack is 2 ms)
 *   t_first_byte_wall_ns = to + remote_port     (the probe's t_first_byte plus the node's port)
 * Every 4th take finds nothing; a connection that is not 127.0.0.1 on both ends with real
 * ports finds nothing either. */
#include "kts.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

struct kts {
	unsigned long takes;
};

struct kts *kts_open(char *why, size_t whylen)
{
	struct kts *k = calloc(1, sizeof(*k));
	if (!k)
		snprintf(why, whylen, "out of memory");
	return k;
}

const char *kts_describe(const struct kts *k)
{
	(void)k;
	return "fake: tx=test rx=test";
}

int kts_take(struct kts *k, const struct kts_conn *c, int64_t from_wall_ns, int64_t to_wall_ns,
	     struct kts_times *out)
{
	const uint32_t lo = htonl(INADDR_LOOPBACK);
	if (++k->takes % 4 == 0)
		return -1;
	if (c->local_ip != lo || c->remote_ip != lo || !c->local_port || !c->remote_port)
		return -1;
	out->t_sent_wall_ns = from_wall_ns + 2000000 + 20000;
	out->t_first_byte_wall_ns = to_wall_ns + c->remote_port;
	return 0;
}

uint64_t kts_lost(const struct kts *k)
{
	(void)k;
	return 3;
}

void kts_close(struct kts *k)
{
	free(k);
}
