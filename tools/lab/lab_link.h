/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A link: two taps and a pump per direction between them. It is the body
 * of both of the lab's frame movers: vmm-sim (a = the host's tap, b = the
 * VM's, a->b signals the VM's interrupt) and the relay (a and b = the two
 * hosts' wire taps). The tools add only what is theirs (KVM, defaults).
 */
#ifndef NETSEG_LAB_LINK_H
#define NETSEG_LAB_LINK_H

#include <argp.h>
#include "lab_tap.h"
#include "lib/output.h"

struct lab_link_cfg {
	const char *tool;                          /* "vmm-sim", "relay" */
	const char *a_ns_opt, *a_if_opt, *b_ns_opt, *b_if_opt; /* as the user types them */
	const char *a_ns, *a_if, *b_ns, *b_if;
	const char *a_key, *b_key;                 /* ready record: "host_tap", "a_tap" */
	const char *ab_name, *ba_name;             /* "to_vm", "a_to_b" */
	const char *ab_thread, *ba_thread;         /* thread names, <= 15 characters */
	uint64_t ab_delay_us, ba_delay_us, spin_us;
	bool spin_undelayed;                       /* spin before due times even without delay */
	bool xmit_stamps;
	int rt_prio;                               /* -1: LAB_RT_PRIO_DELAYED when delayed */
	int ab_signal_fd;                          /* eventfd written per a->b batch, -1: none */
	const char *ready_file;
};

/* Options both movers share, as an argp child. A tool sets its defaults
 * (xmit_stamps differs) before parsing. */
struct lab_link_opts {
	uint64_t spin_us;
	int rt_prio;              /* -1: LAB_RT_PRIO_DELAYED for a delayed direction */
	bool xmit_stamps;
	bool json;
	const char *ready_file;
};
extern struct lab_link_opts lab_link_opts;
extern struct argp lab_link_argp;

struct lab_link {
	struct lab_netns a_ns, b_ns;
	struct lab_tap a, b;
	struct lab_pump ab, ba;
	pthread_t th_ab, th_ba;
	bool started_ab, started_ba;
	struct out_rec rec;        /* the ready and exit records */
};

void lab_link_init(struct lab_link *l);
/* Takes the shared options (lab_link_opts) into c, sets up the output,
 * and checks names, namespaces and privileges before anything is created.
 * Returns 0 or an exit status with one line in err. */
int lab_link_check(struct lab_link_cfg *c, struct lab_link *l, char *err, size_t errlen);
/* Open both taps, install the stop signals, start a thread per direction. */
int lab_link_start(const struct lab_link_cfg *c, struct lab_link *l, char *err, size_t errlen);
/* The ready record: begin (tool, pid, taps); the tool adds its fields;
 * end (per direction: delay, t0, thread id, priority), print, ready file. */
void lab_link_ready_begin(const struct lab_link_cfg *c, struct lab_link *l, struct out_rec *r);
int lab_link_ready_end(const struct lab_link_cfg *c, struct lab_link *l, struct out_rec *r);
/* Until SIGINT/SIGTERM or a pump's error. */
void lab_link_wait(struct lab_link *l);
/* The exit record: begin (tool, pid, ended_by); the tool adds its fields;
 * end (drops, each direction's counts and delays). */
void lab_link_summary_begin(const struct lab_link_cfg *c, struct out_rec *r);
void lab_link_summary_end(struct lab_link *l, struct out_rec *r);
/* 0, or LAB_EXIT_RESOURCE after saying why a pump stopped early. */
int lab_link_status(const struct lab_link_cfg *c, const struct lab_link *l);
void lab_link_close(struct lab_link *l);

#endif /* NETSEG_LAB_LINK_H */
