// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "clock.h"
#include "loop.h"
#include "output.h"

static volatile sig_atomic_t stop_sig;
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	stop_sig = sig;
	stop_flag = 1;
}

int loop_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	/* a reader that went away must not kill us before the summary */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

bool loop_stop_requested(void)
{
	return stop_flag;
}

int loop_stop_signal(void)
{
	return stop_sig;
}

const char *loop_end_name(enum loop_end e)
{
	switch (e) {
	case LOOP_END_SIGNAL:
		return "signal";
	case LOOP_END_DURATION:
		return "duration";
	case LOOP_END_ERROR:
		return "error";
	}
	return "?";
}

enum loop_end loop_run(struct ring_buffer *rb, double duration_s, int (*tick)(void *ctx),
		       void *ctx, unsigned tick_ms, int *err_out)
{
	uint64_t start = clock_mono_ns();
	uint64_t end = duration_s > 0 ? start + (uint64_t)(duration_s * 1e9) : UINT64_MAX;
	uint64_t every = (tick_ms ? tick_ms : 1000) * 1000000ull;
	uint64_t next_tick = start + every;

	*err_out = 0;
	while (!stop_flag) {
		uint64_t now = clock_mono_ns();
		int timeout_ms = 100;
		int n;

		if (now >= end)
			break;
		if (end - now < 100000000ull)
			timeout_ms = (int)((end - now) / 1000000ull) + 1;
		if (tick && next_tick > now && next_tick - now < (uint64_t)timeout_ms * 1000000ull)
			timeout_ms = (int)((next_tick - now) / 1000000ull) + 1;
		n = ring_buffer__poll(rb, timeout_ms);
		/* records submitted without a wakeup (netseg_submit) wait for us:
		 * poll returns on its timeout without reading them */
		if (n >= 0)
			n = ring_buffer__consume(rb);
		out_flush();
		if (n < 0 && n != -EINTR) {
			*err_out = n;
			return LOOP_END_ERROR;
		}
		now = clock_mono_ns();
		if (tick && now >= next_tick) {
			next_tick = now + every;
			if ((*err_out = tick(ctx)))
				return LOOP_END_ERROR;
		}
	}
	/* whatever the kernel already wrote belongs in the output */
	ring_buffer__consume(rb);
	out_flush();
	return stop_flag ? LOOP_END_SIGNAL : LOOP_END_DURATION;
}
