// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <poll.h>
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
	/* A signal arriving while a write to a full pipe blocks must not turn
	 * that write into EINTR: stdio drops its buffer on a failed write, and
	 * those records were already counted. Restarted, the write completes
	 * and the loop sees the stop flag right after. (poll() is never
	 * restarted, so the loop still wakes up.) */
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	/* A reader that went away shows as EPIPE from write, which the loop
	 * checks after every flush and ends on; dying of SIGPIPE instead would
	 * skip detaching and the --ready-file's owner's cleanup. */
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

enum { PFD_RB, PFD_WAKE, PFD_OUT, PFD_N };

/* Wait for ring-buffer data, the wake fd, or the output pipe's reader to
 * leave (a pipe with no reader reports POLLERR on its write end, whatever
 * events we ask for). Returns <0 on a poll error, else 0; sets *woke and
 * *reader_gone. */
static int loop_wait(struct ring_buffer *rb, int wake_fd, int timeout_ms, bool *woke,
		     bool *reader_gone)
{
	struct pollfd pfd[PFD_N] = {
		[PFD_RB] = { .fd = ring_buffer__epoll_fd(rb), .events = POLLIN },
		[PFD_WAKE] = { .fd = wake_fd, .events = POLLIN },
		[PFD_OUT] = { .fd = out_pipe_fd(), .events = 0 },
	};
	int n = poll(pfd, PFD_N, timeout_ms);

	*woke = *reader_gone = false;
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	*woke = wake_fd >= 0 && (pfd[PFD_WAKE].revents & POLLIN);
	*reader_gone = pfd[PFD_OUT].fd >= 0 && (pfd[PFD_OUT].revents & (POLLERR | POLLHUP));
	return 0;
}

static int next_timeout_ms(uint64_t now, uint64_t end, uint64_t next_tick)
{
	int timeout_ms = 100;

	if (end - now < 100000000ull)
		timeout_ms = (int)((end - now) / 1000000ull) + 1;
	if (next_tick > now && next_tick - now < (uint64_t)timeout_ms * 1000000ull)
		timeout_ms = (int)((next_tick - now) / 1000000ull) + 1;
	return timeout_ms;
}

/* One consume may not run longer than this: a producer faster than the
 * reader (a flood traced into a slow pipe) would otherwise keep it busy
 * forever, and neither a stop nor the end of --duration would be seen. */
#define CONSUME_BUDGET_NS (200 * 1000000ull)

static uint64_t consume_deadline = UINT64_MAX;
static unsigned consume_records;
static bool draining;

bool loop_record_may_continue(void)
{
	if (draining)
		return true;
	if (stop_flag)
		return false;
	/* the clock every 256 records: a read costs more than a record */
	return ++consume_records % 256 || clock_mono_ns() < consume_deadline;
}

void loop_drain_begin(void)
{
	draining = true;
}

/* A consume that loop_record_may_continue cut short is no error. */
static int consume(struct ring_buffer *rb)
{
	int n;

	consume_deadline = clock_mono_ns() + CONSUME_BUDGET_NS;
	n = ring_buffer__consume(rb);
	return n == -ECANCELED ? 0 : n;
}

enum loop_end loop_run(struct ring_buffer *rb, double duration_s, int (*tick)(void *ctx),
		       void *ctx, unsigned tick_ms, int wake_fd, int *err_out)
{
	uint64_t start = clock_mono_ns();
	uint64_t end = duration_s > 0 ? start + (uint64_t)(duration_s * 1e9) : UINT64_MAX;
	uint64_t every = (tick_ms ? tick_ms : 1000) * 1000000ull;
	uint64_t next_tick = start + every;

	*err_out = 0;
	while (!stop_flag) {
		uint64_t now = clock_mono_ns();
		bool woke, reader_gone;
		int n;

		if (now >= end)
			break;
		n = loop_wait(rb, tick ? wake_fd : -1, next_timeout_ms(now, end, next_tick), &woke,
			      &reader_gone);
		if (reader_gone)
			n = -EPIPE;
		/* records submitted without a wakeup (netseg_submit) wait for us:
		 * the wait ends on its timeout without reading them */
		if (n >= 0)
			n = consume(rb);
		if (n >= 0 || n == -EINTR) {
			int werr = out_flush();

			if (werr)
				n = werr;
		}
		if (n < 0 && n != -EINTR) {
			*err_out = n;
			return LOOP_END_ERROR;
		}
		now = clock_mono_ns();
		if (tick && (woke || now >= next_tick)) {
			next_tick = now + every;
			if ((*err_out = tick(ctx)))
				return LOOP_END_ERROR;
		}
	}
	/* what the kernel wrote is drained once the programs are detached
	 * (tracer_stop): while they run, a flood can refill as fast as we read */
	if ((*err_out = out_flush()))
		return LOOP_END_ERROR;
	return stop_flag ? LOOP_END_SIGNAL : LOOP_END_DURATION;
}
