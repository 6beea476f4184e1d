// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "lab_link.h"
#include "lib/cli.h"
#include "lib/output.h"
#include "lib/tracer.h"

struct lab_link_opts lab_link_opts = { .spin_us = 100, .rt_prio = -1 };

enum {
	OPT_SPIN_US = 0x3000,
	OPT_RT_PRIO,
	OPT_STAMP,
	OPT_READY_FILE,
};

static const struct argp_option link_options[] = {
	{ "spin-us", OPT_SPIN_US, "US", 0,
	  "sleep until US before each due time, then spin (default 100, 0: never spin)", 0 },
	{ "rt-prio", OPT_RT_PRIO, "N", 0,
	  "SCHED_FIFO priority of the copying threads (default: 10 for a delayed direction, else none; 0: none)", 0 },
	{ "stamp", OPT_STAMP, "xmit|read", 0,
	  "time each frame from the kernel's transmit into the tap (xmit: a packet socket's "
	  "stamp) or from our read of it (read, a wake-up later)", 0 },
	{ "ready-file", OPT_READY_FILE, "PATH", 0, "write the ready record here", 0 },
	{ "json", 'j', NULL, 0, "ready and stats records as JSON lines", 0 },
	{},
};

static error_t link_parse(int key, char *arg, struct argp_state *state)
{
	static const char *const stamps[] = { "read", "xmit", NULL };
	struct lab_link_opts *o = &lab_link_opts;
	char err[256];
	int c;

	(void)state;
	switch (key) {
	case OPT_SPIN_US:
		if (cli_parse_u64("--spin-us", arg, 0, 10000, &o->spin_us, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_RT_PRIO:
		if (lab_parse_rt_prio(arg, &o->rt_prio, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_STAMP:
		c = cli_parse_choice("--stamp", arg, stamps, err, sizeof(err));
		if (c < 0)
			cli_usage_error("%s", err);
		o->xmit_stamps = c == 1;
		break;
	case OPT_READY_FILE:
		o->ready_file = arg;
		break;
	case 'j':
		o->json = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct argp lab_link_argp = { link_options, link_parse, NULL, NULL, NULL, NULL, NULL };

void lab_link_init(struct lab_link *l)
{
	memset(l, 0, sizeof(*l));
	l->a.fd = l->b.fd = -1;
	l->a.stamp_fd = l->b.stamp_fd = -1;
	lab_pump_init(&l->ab);
	lab_pump_init(&l->ba);
}

int lab_link_check(struct lab_link_cfg *c, struct lab_link *l, char *err, size_t errlen)
{
	int rc;

	c->spin_us = lab_link_opts.spin_us;
	c->xmit_stamps = lab_link_opts.xmit_stamps;
	c->rt_prio = lab_link_opts.rt_prio;
	c->ready_file = lab_link_opts.ready_file;
	out_setup(stdout, lab_link_opts.json);
	if ((rc = lab_ifname_check(c->a_if_opt, c->a_if, err, errlen)) ||
	    (rc = lab_ifname_check(c->b_if_opt, c->b_if, err, errlen)) ||
	    (rc = lab_netns_resolve(c->a_ns_opt, c->a_ns, &l->a_ns, err, errlen)) ||
	    (rc = lab_netns_resolve(c->b_ns_opt, c->b_ns, &l->b_ns, err, errlen)))
		return rc;
	if (l->a_ns.ino == l->b_ns.ino && !strcmp(c->a_if, c->b_if)) {
		snprintf(err, errlen, "%s and %s are both '%s' in one namespace", c->a_if_opt,
			 c->b_if_opt, c->a_if);
		return LAB_EXIT_USAGE;
	}
	return lab_privs_check(err, errlen);
}

/* One direction: in from `from`, out to `to`, timed from `from`'s stamps. */
static void setup_pump(const struct lab_link_cfg *c, struct lab_pump *p, const char *name,
		       const char *thread, const struct lab_tap *from, const struct lab_tap *to,
		       uint64_t delay_us, int signal_fd)
{
	p->name = name;
	p->thread_name = thread;
	p->in_fd = from->fd;
	p->out_fd = to->fd;
	p->delay_ns = delay_us * 1000;
	p->spin_ns = delay_us || c->spin_undelayed ? c->spin_us * 1000 : 0;
	p->signal_fd = signal_fd;
	p->stamp_fd = from->stamp_fd;
	p->rt_prio = c->rt_prio >= 0 ? c->rt_prio : delay_us ? LAB_RT_PRIO_DELAYED : 0;
	if (c->xmit_stamps && from->stamp_fd < 0)
		fprintf(stderr, "netseg lab %s: %s: timing frames from our read (%s)\n", c->tool,
			name, from->stamp_err);
}

int lab_link_start(const struct lab_link_cfg *c, struct lab_link *l, char *err, size_t errlen)
{
	int rc;

	if ((rc = lab_tap_open(&l->a_ns, c->a_if, c->xmit_stamps, &l->a, err, errlen)) ||
	    (rc = lab_tap_open(&l->b_ns, c->b_if, c->xmit_stamps, &l->b, err, errlen)))
		return rc;
	if (lab_stop_install()) {
		snprintf(err, errlen, "cannot install signal handlers: %s", strerror(errno));
		return LAB_EXIT_RESOURCE;
	}
	setup_pump(c, &l->ab, c->ab_name, c->ab_thread, &l->a, &l->b, c->ab_delay_us,
		   c->ab_signal_fd);
	setup_pump(c, &l->ba, c->ba_name, c->ba_thread, &l->b, &l->a, c->ba_delay_us, -1);
	if ((rc = -lab_pump_start(&l->ab, &l->th_ab))) {
		snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
		return LAB_EXIT_RESOURCE;
	}
	l->started_ab = true;
	if ((rc = -lab_pump_start(&l->ba, &l->th_ba))) {
		snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
		lab_stop_request();
		return LAB_EXIT_RESOURCE;
	}
	l->started_ba = true;
	lab_rt_note(c->tool, &l->ab);
	lab_rt_note(c->tool, &l->ba);
	return 0;
}

static void out_tap(struct out_rec *r, const char *key, const struct lab_tap *tap)
{
	char json[700], text[300];

	lab_tap_json(tap, json, sizeof(json));
	lab_tap_text(tap, text, sizeof(text));
	out_json(r, key, json, text, 0);
}

void lab_link_ready_begin(const struct lab_link_cfg *c, struct lab_link *l, struct out_rec *r)
{
	out_begin(r, "ready");
	out_str(r, "kind", NULL, "READY", OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_str(r, "tool", NULL, c->tool, OUT_TEXT_BARE);
	out_str(r, "version", NULL, NETSEG_VERSION, OUT_TEXT_HIDE);
	out_u64(r, "pid", NULL, (uint64_t)getpid(), 0);
	out_tap(r, c->a_key, &l->a);
	out_tap(r, c->b_key, &l->b);
}

static void out_direction_ready(struct out_rec *r, const struct lab_pump *p)
{
	char key[64];

	snprintf(key, sizeof(key), "delay_us_%s", p->name);
	out_u64(r, key, NULL, p->delay_ns / 1000, 0);
	snprintf(key, sizeof(key), "t0_%s", p->name);
	out_str(r, key, NULL, p->stamp_fd >= 0 ? "xmit" : "read", OUT_TEXT_HIDE);
	snprintf(key, sizeof(key), "tid_%s", p->name);
	out_u64(r, key, NULL, (uint64_t)p->tid, 0);
	snprintf(key, sizeof(key), "rt_prio_%s", p->name);
	out_u64(r, key, NULL, (uint64_t)p->rt_applied, OUT_TEXT_HIDE);
}

int lab_link_ready_end(const struct lab_link_cfg *c, struct lab_link *l, struct out_rec *r)
{
	char line[4096];
	int rc;

	out_direction_ready(r, &l->ab);
	out_direction_ready(r, &l->ba);
	out_u64(r, "spin_us", NULL, c->spin_us, OUT_TEXT_HIDE);
	out_emit(r);
	out_flush();
	out_render(r, true, line, sizeof(line));
	rc = lab_write_ready(c->tool, c->ready_file, line);
	if (rc)
		lab_stop_request();
	return rc;
}

void lab_link_wait(struct lab_link *l)
{
	if (l->started_ab)
		pthread_join(l->th_ab, NULL);
	if (l->started_ba)
		pthread_join(l->th_ba, NULL);
	l->started_ab = l->started_ba = false;
}

void lab_link_summary_begin(const struct lab_link_cfg *c, struct out_rec *r)
{
	out_begin(r, "summary");
	out_str(r, "kind", NULL, "SUMMARY", OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_str(r, "tool", NULL, c->tool, OUT_TEXT_BARE);
	out_u64(r, "pid", NULL, (uint64_t)getpid(), OUT_TEXT_HIDE);
	out_str(r, "ended_by", "ended-by", lab_ended_by(), 0);
}

static void out_direction_summary(struct out_rec *r, struct lab_pump *p)
{
	char json[4096], text[1024], label[40];

	lab_pump_json(p, json, sizeof(json));
	lab_pump_text(p, text, sizeof(text));
	snprintf(label, sizeof(label), "%s:", p->name);
	lab_out_json_labeled(r, p->name, label, json, text);
}

void lab_link_summary_end(struct lab_link *l, struct out_rec *r)
{
	out_u64(r, "dropped", NULL, l->ab.dropped + l->ba.dropped, 0);
	out_direction_summary(r, &l->ab);
	out_direction_summary(r, &l->ba);
	out_emit(r);
	out_flush();
}

int lab_link_status(const struct lab_link_cfg *c, const struct lab_link *l)
{
	if (l->ab.fatal[0])
		fprintf(stderr, "netseg lab %s: %s: %s\n", c->tool, l->ab.name, l->ab.fatal);
	if (l->ba.fatal[0])
		fprintf(stderr, "netseg lab %s: %s: %s\n", c->tool, l->ba.name, l->ba.fatal);
	return l->ab.fatal[0] || l->ba.fatal[0] ? LAB_EXIT_RESOURCE : 0;
}

void lab_link_close(struct lab_link *l)
{
	lab_link_wait(l);
	lab_tap_close(&l->a);
	lab_tap_close(&l->b);
	lab_pump_free(&l->ab);
	lab_pump_free(&l->ba);
}
