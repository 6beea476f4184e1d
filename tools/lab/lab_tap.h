/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The lab's frame movers and what they share.
 *
 * vmm-sim (lab_vmm.c) plays the VMM + vhost for one VM: a tap in the VM's
 * namespace, a tap in the host's, frames copied both ways and, for every
 * batch delivered toward the VM, one write to a KVM irqfd's eventfd from the
 * thread that read the batch. The wire relay (lab_relay.c) joins two taps
 * with a programmed one-way delay per direction.
 *
 * Both run one "pump" per direction (lab_pump_start: a thread each): read
 * what the input tap has queued (non-blocking, until EAGAIN, a bounded
 * batch), give each frame its t0, hold it until t0 + delay (an absolute-time
 * timerfd, then a short spin), write everything that is due back to back,
 * signal the eventfd once for that delivery, just before its first write
 * (a guest handles its ring when the interrupt comes). The pump keeps reading
 * while it holds frames, so frames closer together than the delay keep
 * their own times.
 *
 * t0 is CLOCK_MONOTONIC when the frame's read returned, or (--stamp xmit,
 * the relay's default) the kernel's own stamp of the moment the namespace
 * transmitted it into the tap, from a packet socket on that tap: that is
 * what a tracer's net_dev_start_xmit sees, and it is earlier than our read
 * by our wake-up (20-90 us on this 2-CPU VM). Measured with pktwatch on
 * both ends, a relay on xmit stamps is programmed + 1-3 us (p50) from
 * transmit to receive; on read stamps, programmed + 30-40 us.
 *
 * Per frame the pump records: achieved = write done - t0 ("error" is
 * achieved - programmed; the write includes the receiving namespace's
 * processing of the frame, tens of us when it answers a ping inside it),
 * late = write start - due (the hold's own error: where a tracer's receive
 * hook fires, a few us after the write starts), and with xmit stamps
 * wake = read - t0.
 */
#ifndef NETSEG_LAB_TAP_H
#define NETSEG_LAB_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>
#include "lib/stats.h"

/* argv[0] is the subcommand's own name ("vmm-sim", "relay"). */
int lab_vmm_main(int argc, char **argv);
int lab_relay_main(int argc, char **argv);

#define LAB_EXIT_USAGE 2     /* bad input */
#define LAB_EXIT_RESOURCE 1  /* not root, no /dev/net/tun, no /dev/kvm, ... */

/* ---- namespaces and taps ----------------------------------------------- */

struct lab_netns {
	char spec[256];      /* as the user gave it */
	char path[256];      /* a file naming the namespace */
	uint64_t ino;
};

struct lab_tap {
	int fd;              /* -1 when closed */
	int stamp_fd;        /* packet socket for transmit stamps, -1: none */
	char stamp_err[160]; /* why there is none, when asked for */
	char name[IFNAMSIZ];
	int ifindex;
	struct lab_netns ns;
};

/* Each returns 0, or LAB_EXIT_USAGE / LAB_EXIT_RESOURCE with one line in
 * err (no prefix) that names the option the user typed. */
int lab_netns_resolve(const char *opt, const char *spec, struct lab_netns *out, char *err,
		      size_t errlen);
int lab_ifname_check(const char *opt, const char *name, char *err, size_t errlen);
/* A delay option: "N" or, with `pair`, "N,M" (M defaults to N); us. */
int lab_parse_delay(const char *opt, const char *s, bool pair, uint64_t *first,
		    uint64_t *second, char *err, size_t errlen);
/* Root or CAP_NET_ADMIN + CAP_SYS_ADMIN (taps, setns). */
int lab_privs_check(char *err, size_t errlen);
/* Open /dev/net/tun while inside ns, TUNSETIFF name as IFF_TAP|IFF_NO_PI
 * (not persistent: the tap goes with the process), return to our own
 * namespace. The fd is non-blocking and close-on-exec.
 * With xmit_stamps, also a packet socket on the tap that receives only
 * frames the namespace transmits into it, stamped by the kernel where the
 * device transmit starts (dev_queue_xmit_nit, beside the net_dev_start_xmit
 * tracepoint): a pump then times each frame from that stamp instead of from
 * its own read, which comes a wake-up later. Failing that is not an error:
 * stamp_fd stays -1 and stamp_err says why. */
int lab_tap_open(const struct lab_netns *ns, const char *name, bool xmit_stamps,
		 struct lab_tap *tap, char *err, size_t errlen);
void lab_tap_close(struct lab_tap *tap);
/* {"name":..,"ifindex":..,"netns":..,"netns_ino":..} and "name@netns (ifindex N)" */
void lab_tap_json(const struct lab_tap *tap, char *buf, size_t len);
void lab_tap_text(const struct lab_tap *tap, char *buf, size_t len);

/* ---- stopping ------------------------------------------------------------ */

/* SIGINT/SIGTERM (sigaction; replaces an inherited SIG_IGN) make the
 * stop eventfd readable, which every pump polls; SIGPIPE is ignored. */
int lab_stop_install(void);
int lab_stop_fd(void);
void lab_stop_request(void);
const char *lab_ended_by(void);  /* "SIGTERM", "SIGINT" or "error" */

/* ---- pumps --------------------------------------------------------------- */

#define LAB_DROP_REASONS 8

struct lab_pump {
	/* set by the caller */
	const char *name;        /* "to_vm", "a_to_b": JSON key and thread name part */
	const char *thread_name; /* <= 15 characters */
	int in_fd, out_fd;
	uint64_t delay_ns;
	uint64_t spin_ns;        /* spin this long before a due time instead of sleeping */
	int signal_fd;           /* eventfd written once per delivery, -1: none */
	int rt_prio;             /* SCHED_FIFO priority for the thread, 0: normal */
	int stamp_fd;            /* the input tap's packet socket, -1: time from the read */
	/* filled by the pump */
	pid_t tid;
	int rt_applied;          /* the FIFO priority the thread got (0: none) */
	int rt_errno;            /* why it did not */
	uint64_t frames, bytes;  /* delivered */
	uint64_t deliveries;     /* back-to-back write runs (one signal each) */
	uint64_t signals, signal_errors;
	uint64_t read_batches, max_batch, max_held, queue_full;
	uint64_t stamped;        /* frames timed from the kernel's transmit stamp */
	uint64_t unstamped;      /* frames with no stamp found: timed from the read */
	uint64_t stamps_unmatched; /* stamps of frames the tap never handed us */
	uint64_t dropped;
	struct {
		char reason[32];
		uint64_t count;
	} drops[LAB_DROP_REASONS];
	/* t0 is the frame's transmit stamp when it has one, else its read */
	struct stats achieved;   /* write_done - t0, ns */
	struct stats err;        /* achieved - programmed, ns */
	struct stats late;       /* write_start - due, ns: how late the hold ended */
	struct stats wake;       /* read - transmit stamp, ns: the pump's wake-up */
	char fatal[160];         /* why the pump ended early, "" when it did not */
};

void lab_pump_init(struct lab_pump *p);
void lab_pump_free(struct lab_pump *p);
/* Start a thread running the pump; returns once its tid is known and its
 * scheduling class is set. */
int lab_pump_start(struct lab_pump *p, pthread_t *th);

/* Per-direction summary: JSON object and text ("frames=.. bytes=.."). */
void lab_pump_json(struct lab_pump *p, char *buf, size_t len);
void lab_pump_text(struct lab_pump *p, char *buf, size_t len);

/* --rt-prio: "N" in 0..99; the default when the option is absent is
 * LAB_RT_PRIO_DELAYED for a tool with a programmed delay, else 0. Under
 * load, ordinary (CFS) threads were woken milliseconds late here; FIFO
 * threads kept the relay's p99 error in the tens of us. */
#define LAB_RT_PRIO_DELAYED 10
int lab_parse_rt_prio(const char *s, int *out, char *err, size_t errlen);
/* "" or a stderr note when a pump asked for FIFO and did not get it */
void lab_rt_note(const char *tool, const struct lab_pump *p);

/* out_json() with a text label ("to_vm:" reads "to_vm: frames=.."). */
struct out_rec;
void lab_out_json_labeled(struct out_rec *r, const char *key, const char *label,
			  const char *json, const char *text);

/* Write the one-line JSON ready record to path (NULL: nothing). */
int lab_write_ready(const char *tool, const char *path, const char *json_line);

#endif /* NETSEG_LAB_TAP_H */
