/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ring-buffer loop every tracer runs: poll until SIGINT, SIGTERM, the
 * end of --duration or an error, calling a tick hook about once a second
 * (clock re-measure, live counters). SIGTERM is handled exactly like SIGINT
 * so `kill PID` still prints the summary; handlers are installed with
 * sigaction, which also undoes a SIG_IGN inherited by background jobs.
 */
#ifndef NETSEG_LOOP_H
#define NETSEG_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct ring_buffer;

enum loop_end {
	LOOP_END_SIGNAL,
	LOOP_END_DURATION,
	LOOP_END_ERROR,
};

int loop_signals_install(void);
bool loop_stop_requested(void);
int loop_stop_signal(void);      /* the signal that stopped us, 0 if none */

/* tick runs every tick_ms (0: 1000) and may return non-zero to end the
 * loop (as LOOP_END_ERROR). */
enum loop_end loop_run(struct ring_buffer *rb, double duration_s, int (*tick)(void *ctx),
		       void *ctx, unsigned tick_ms, int *err_out);
const char *loop_end_name(enum loop_end e);

#endif /* NETSEG_LOOP_H */
