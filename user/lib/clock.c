// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <time.h>
#include "clock.h"

static uint64_t read_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t clock_mono_ns(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

uint64_t clock_real_ns(void)
{
	return read_clock(CLOCK_REALTIME);
}

int64_t clock_measure(struct netseg_clock *c)
{
	uint64_t best_width = UINT64_MAX;
	int64_t best = 0;
	uint64_t m1 = 0;

	/* The narrowest bracket is the one least disturbed by preemption. */
	for (int i = 0; i < 7; i++) {
		uint64_t a = clock_mono_ns();
		uint64_t r = clock_real_ns();
		uint64_t b = clock_mono_ns();

		if (b - a < best_width) {
			best_width = b - a;
			best = (int64_t)(r - (a + (b - a) / 2));
			m1 = b;
		}
	}
	if (c->measured_mono_ns) {
		c->last_drift_ns = best - c->offset_ns;
		c->remeasures++;
	}
	c->offset_ns = best;
	c->uncertainty_ns = best_width;
	c->measured_mono_ns = m1;
	return best;
}

int clock_refresh(struct netseg_clock *c, uint64_t interval_ns)
{
	if (c->measured_mono_ns && clock_mono_ns() - c->measured_mono_ns < interval_ns)
		return 0;
	clock_measure(c);
	return 1;
}

uint64_t clock_mono_to_wall(const struct netseg_clock *c, uint64_t mono_ns)
{
	return (uint64_t)((int64_t)mono_ns + c->offset_ns);
}

struct netseg_clock *clock_default(void)
{
	static struct netseg_clock c;

	if (!c.measured_mono_ns)
		clock_measure(&c);
	return &c;
}
