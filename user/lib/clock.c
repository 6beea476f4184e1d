// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/timerfd.h>
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

void clock_note(struct netseg_clock *c, uint64_t mono_ns, int64_t offset_ns)
{
	c->epochs[c->next_epoch] = (struct netseg_clock_epoch){ mono_ns, offset_ns };
	c->next_epoch = (c->next_epoch + 1) % CLOCK_HISTORY;
	if (c->n_epochs < CLOCK_HISTORY)
		c->n_epochs++;
}

int64_t clock_measure(struct netseg_clock *c)
{
	uint64_t best_width = UINT64_MAX;
	int64_t best = 0;
	uint64_t mid = 0;

	/* The narrowest bracket is the one least disturbed by preemption. */
	for (int i = 0; i < 7; i++) {
		uint64_t a = clock_mono_ns();
		uint64_t r = clock_real_ns();
		uint64_t b = clock_mono_ns();

		if (b - a < best_width) {
			best_width = b - a;
			mid = a + (b - a) / 2;
			best = (int64_t)(r - mid);
		}
	}
	if (c->measured_mono_ns) {
		c->last_drift_ns = best - c->offset_ns;
		c->remeasures++;
	}
	c->offset_ns = best;
	c->uncertainty_ns = best_width;
	c->measured_mono_ns = mid;
	clock_note(c, mid, best);
	return best;
}

int clock_refresh(struct netseg_clock *c, uint64_t interval_ns)
{
	if (interval_ns && c->measured_mono_ns &&
	    clock_mono_ns() - c->measured_mono_ns < interval_ns)
		return 0;
	clock_measure(c);
	return 1;
}

uint64_t clock_mono_to_wall(const struct netseg_clock *c, uint64_t mono_ns)
{
	int64_t offset = c->offset_ns;

	/* newest first: nearly every record was stamped after the last
	 * measurement, so this ends at the first entry */
	for (unsigned k = 1; k <= c->n_epochs; k++) {
		const struct netseg_clock_epoch *e =
			&c->epochs[(c->next_epoch + CLOCK_HISTORY - k) % CLOCK_HISTORY];

		offset = e->offset_ns;
		if (e->mono_ns <= mono_ns)
			break;
	}
	return (uint64_t)((int64_t)mono_ns + offset);
}

/* Far in the future, so it only ever ends by cancellation. */
static int step_fd_arm(int fd)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)INT32_MAX } };

	return timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
}

int clock_step_fd(struct netseg_clock *c)
{
	int fd;

	if (c->step_fd_open)
		return c->step_fd;
	fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (step_fd_arm(fd)) {
		close(fd);
		return -1;
	}
	c->step_fd = fd;
	c->step_fd_open = true;
	return fd;
}

int clock_step_check(struct netseg_clock *c)
{
	uint64_t expirations;

	if (!c->step_fd_open)
		return 0;
	if (read(c->step_fd, &expirations, sizeof(expirations)) >= 0 || errno != ECANCELED)
		return 0;
	/* re-arm first: a second step during the measurement must not be missed */
	step_fd_arm(c->step_fd);
	c->steps++;
	clock_measure(c);
	return 1;
}

struct netseg_clock *clock_default(void)
{
	static struct netseg_clock c;

	if (!c.measured_mono_ns)
		clock_measure(&c);
	return &c;
}
