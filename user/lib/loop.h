/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ring-buffer loop every tracer runs: poll until SIGINT, SIGTERM, the
 * end of --duration or an error, calling a tick hook about once a second
 * (clock re-measure, live counters). SIGTERM is handled exactly like SIGINT
 * so `kill PID` still prints the summary; handlers are installed with
 * sigaction, which also undoes a SIG_IGN inherited by background jobs.
 *
 * Output failures end the loop too: a reader that went away (EPIPE, or a
 * pipe whose read end is closed while we wait) stops the tracer at once,
 * silently; any other write error ends it with one line on stderr.
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

/* tick runs every tick_ms (0: 1000), and at once when wake_fd (-1: none)
 * becomes readable; it may return non-zero to end the loop (as
 * LOOP_END_ERROR). *err_out is then that value, or the negative errno of a
 * failed poll or write (-EPIPE: the reader of our output went away). */
enum loop_end loop_run(struct ring_buffer *rb, double duration_s, int (*tick)(void *ctx),
		       void *ctx, unsigned tick_ms, int wake_fd, int *err_out);
const char *loop_end_name(enum loop_end e);

/* For a ring-buffer callback, after each record: false once the loop has
 * to look up (a stop, or one consume ran too long); the callback then ends
 * the consume with -ECANCELED and the rest waits (never before handling
 * the record: libbpf has moved past it). After loop_drain_begin
 * (programs detached, nothing new comes) every record is taken. */
bool loop_record_may_continue(void);
void loop_drain_begin(void);

#endif /* NETSEG_LOOP_H */
