/* The stand-in when ippantime is built on its own, without netseg's status_ts. */
#include "kts.h"

#include <stdio.h>

struct kts *kts_open(char *why, size_t whylen)
{
	snprintf(why, whylen, "kernel timestamps need netseg's status_ts, not in this build");
	return NULL;
}

const char *kts_describe(const struct kts *k)
{
	(void)k;
	return "";
}

int kts_take(struct kts *k, const struct kts_conn *c, int64_t from_wall_ns, int64_t to_wall_ns,
	     struct kts_times *out)
{
	(void)k, (void)c, (void)from_wall_ns, (void)to_wall_ns, (void)out;
	return -1;
}

uint64_t kts_lost(const struct kts *k)
{
	(void)k;
	return 0;
}

void kts_close(struct kts *k)
{
	(void)k;
}
