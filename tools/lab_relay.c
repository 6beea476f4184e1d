// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * netseg lab relay: the lab's wire with a programmed one-way delay.
 *
 * Two taps, one in each host namespace, and one thread per direction (SCHED_FIFO
 * when delayed) that times each frame from the kernel's stamp of its transmit
 * into the tap (a packet socket on the tap; --stamp read: from our read of
 * it), holds it until that time + delay (absolute-time timerfd, then a spin
 * of --spin-us) and writes it to the other tap. At exit, per direction:
 * "error" = write done - t0 - programmed (the write includes the receiving
 * namespace's handling of the frame) and "late" = write start - due, which is
 * what a tracer sees on the wire: pktwatch's net_dev_start_xmit on one side
 * to netif_receive_skb on the other measured programmed + late + 1-3 us.
 * These are the ground truth later tests compare tracers against.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lab_tap.h"
#include "lib/cli.h"
#include "lib/output.h"
#include "lib/tracer.h"

#define RELAY_SPIN_US_DEFAULT 100

static struct relay_env {
	const char *a_netns, *a_if, *b_netns, *b_if;
	uint64_t delay_ab_us, delay_ba_us;
	uint64_t spin_us;
	int rt_prio;    /* -1: LAB_RT_PRIO_DELAYED for a delayed direction */
	bool read_stamps; /* --stamp read: time frames from our read, not the kernel's xmit */
	bool json;
	const char *ready_file;
} renv = { .a_if = "phy0", .b_if = "phy0", .spin_us = RELAY_SPIN_US_DEFAULT,
	  .rt_prio = -1 };

enum {
	OPT_A_NETNS = 0x1000,
	OPT_A_IF,
	OPT_B_NETNS,
	OPT_B_IF,
	OPT_DELAY,
	OPT_READY_FILE,
	OPT_SPIN_US,
	OPT_RT_PRIO,
	OPT_STAMP,
};

static const char relay_doc[] =
	"The lab's wire with a programmed one-way delay: create a tap named\n"
	"--a-if inside --a-netns and one named --b-if inside --b-netns (not\n"
	"persistent; addresses, bridges and link state are the lab's job) and copy\n"
	"frames between them, one thread per direction, each frame held N us (a->b)\n"
	"or M us (b->a; M defaults to N) after the kernel transmitted it into the\n"
	"tap (--stamp read: after the relay read it). On SIGINT/SIGTERM one stats\n"
	"line gives, per direction, frames and achieved minus programmed delay\n"
	"(count, p50, p99, max). NS is a path or an `ip netns` name.\n"
	"Exit 2: bad input; 1: not root, no /dev/net/tun.\n"
	"\n"
	"EXAMPLES:\n"
	"  netseg lab relay --a-netns shost --b-netns rhost --delay-us 2000\n"
	"  netseg lab relay --a-netns shost --a-if phy0 --b-netns rhost \\\n"
	"      --b-if phy0 --delay-us 1000,3000 --json --ready-file /run/relay.ready";

static const struct argp_option relay_opts[] = {
	{ "a-netns", OPT_A_NETNS, "NS", 0, "namespace of side a (required)", 0 },
	{ "a-if", OPT_A_IF, "NAME", 0, "tap inside side a (default phy0)", 0 },
	{ "b-netns", OPT_B_NETNS, "NS", 0, "namespace of side b (required)", 0 },
	{ "b-if", OPT_B_IF, "NAME", 0, "tap inside side b (default phy0)", 0 },
	{ "delay-us", OPT_DELAY, "N[,M]", 0, "hold a->b frames N us, b->a frames M us (default 0)", 0 },
	{ "spin-us", OPT_SPIN_US, "US", 0,
	  "sleep until US before each due time, then spin (default 100, 0: never spin)", 0 },
	{ "rt-prio", OPT_RT_PRIO, "N", 0,
	  "SCHED_FIFO priority of the copying threads (default: 10 for a delayed direction, else none; 0: none)", 0 },
	{ "stamp", OPT_STAMP, "xmit|read", 0,
	  "time each frame from the kernel's transmit into the tap (xmit, default: a packet "
	  "socket's stamp) or from the relay's read of it (read, a wake-up later)", 0 },
	{ "ready-file", OPT_READY_FILE, "PATH", 0, "write the ready record here", 0 },
	{ "json", 'j', NULL, 0, "ready and stats records as JSON lines", 0 },
	{},
};

static error_t relay_parse(int key, char *arg, struct argp_state *state)
{
	char err[256];

	(void)state;
	switch (key) {
	case OPT_A_NETNS:
		renv.a_netns = arg;
		break;
	case OPT_A_IF:
		renv.a_if = arg;
		break;
	case OPT_B_NETNS:
		renv.b_netns = arg;
		break;
	case OPT_B_IF:
		renv.b_if = arg;
		break;
	case OPT_DELAY:
		if (lab_parse_delay("--delay-us", arg, true, &renv.delay_ab_us, &renv.delay_ba_us,
				    err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_SPIN_US:
		if (cli_parse_u64("--spin-us", arg, 0, 10000, &renv.spin_us, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_RT_PRIO:
		if (lab_parse_rt_prio(arg, &renv.rt_prio, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_STAMP: {
		static const char *const choices[] = { "xmit", "read", NULL };
		int c = cli_parse_choice("--stamp", arg, choices, err, sizeof(err));

		if (c < 0)
			cli_usage_error("%s", err);
		renv.read_stamps = c == 1;
		break;
	}
	case OPT_READY_FILE:
		renv.ready_file = arg;
		break;
	case 'j':
		renv.json = true;
		break;
	case ARGP_KEY_ARG:
		cli_usage_error("unexpected argument '%s'", arg);
	case ARGP_KEY_END:
		if (!renv.a_netns)
			cli_usage_error("missing --a-netns NS (side a's network namespace)");
		if (!renv.b_netns)
			cli_usage_error("missing --b-netns NS (side b's network namespace)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int lab_relay_main(int argc, char **argv)
{
	static const struct argp argp = { relay_opts, relay_parse, NULL, relay_doc, NULL, NULL,
					  NULL };
	static struct lab_pump ab, ba;
	struct lab_tap a_tap = { .fd = -1 }, b_tap = { .fd = -1 };
	struct lab_netns a_ns, b_ns;
	pthread_t th_ab, th_ba;
	bool started_ab = false, started_ba = false;
	char err[512] = "", a_json[700], b_json[700], a_text[300], b_text[300];
	struct out_rec *r = NULL;
	int rc;

	cli_set_tool("netseg lab relay");
	lab_pump_init(&ab);
	lab_pump_init(&ba);
	argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if ((rc = lab_ifname_check("--a-if", renv.a_if, err, sizeof(err))) ||
	    (rc = lab_ifname_check("--b-if", renv.b_if, err, sizeof(err))) ||
	    (rc = lab_netns_resolve("--a-netns", renv.a_netns, &a_ns, err, sizeof(err))) ||
	    (rc = lab_netns_resolve("--b-netns", renv.b_netns, &b_ns, err, sizeof(err))))
		goto fail;
	if (a_ns.ino == b_ns.ino && !strcmp(renv.a_if, renv.b_if)) {
		snprintf(err, sizeof(err), "--a-if and --b-if are both '%s' in one namespace",
			 renv.a_if);
		rc = LAB_EXIT_USAGE;
		goto fail;
	}
	if ((rc = lab_privs_check(err, sizeof(err))))
		goto fail;
	out_setup(stdout, renv.json);
	if ((rc = lab_tap_open(&a_ns, renv.a_if, !renv.read_stamps, &a_tap, err, sizeof(err))) ||
	    (rc = lab_tap_open(&b_ns, renv.b_if, !renv.read_stamps, &b_tap, err, sizeof(err))))
		goto fail;
	if (lab_stop_install()) {
		snprintf(err, sizeof(err), "cannot install signal handlers: %s", strerror(errno));
		rc = LAB_EXIT_RESOURCE;
		goto fail;
	}

	ab.name = "a_to_b";
	ab.thread_name = "relay-a-to-b";
	ab.in_fd = a_tap.fd;
	ab.out_fd = b_tap.fd;
	ab.delay_ns = renv.delay_ab_us * 1000;
	ab.spin_ns = renv.spin_us * 1000;
	ba.name = "b_to_a";
	ba.thread_name = "relay-b-to-a";
	ba.in_fd = b_tap.fd;
	ba.out_fd = a_tap.fd;
	ba.delay_ns = renv.delay_ba_us * 1000;
	ba.spin_ns = renv.spin_us * 1000;
	ab.stamp_fd = a_tap.stamp_fd;
	ba.stamp_fd = b_tap.stamp_fd;
	if (!renv.read_stamps && a_tap.stamp_fd < 0)
		fprintf(stderr, "netseg lab relay: a_to_b: timing frames from our read (%s)\n",
			a_tap.stamp_err);
	if (!renv.read_stamps && b_tap.stamp_fd < 0)
		fprintf(stderr, "netseg lab relay: b_to_a: timing frames from our read (%s)\n",
			b_tap.stamp_err);
	ab.rt_prio = renv.rt_prio >= 0 ? renv.rt_prio : ab.delay_ns ? LAB_RT_PRIO_DELAYED : 0;
	ba.rt_prio = renv.rt_prio >= 0 ? renv.rt_prio : ba.delay_ns ? LAB_RT_PRIO_DELAYED : 0;
	if ((rc = -lab_pump_start(&ab, &th_ab))) {
		snprintf(err, sizeof(err), "cannot start a thread: %s", strerror(rc));
		rc = LAB_EXIT_RESOURCE;
		goto fail;
	}
	started_ab = true;
	if ((rc = -lab_pump_start(&ba, &th_ba))) {
		snprintf(err, sizeof(err), "cannot start a thread: %s", strerror(rc));
		rc = LAB_EXIT_RESOURCE;
		lab_stop_request();
		goto fail;
	}
	started_ba = true;
	lab_rt_note("relay", &ab);
	lab_rt_note("relay", &ba);

	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, sizeof(err), "out of memory");
		rc = LAB_EXIT_RESOURCE;
		lab_stop_request();
		goto fail;
	}
	lab_tap_json(&a_tap, a_json, sizeof(a_json));
	lab_tap_json(&b_tap, b_json, sizeof(b_json));
	lab_tap_text(&a_tap, a_text, sizeof(a_text));
	lab_tap_text(&b_tap, b_text, sizeof(b_text));
	out_begin(r, "ready");
	out_str(r, "kind", NULL, "READY", OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_str(r, "tool", NULL, "relay", OUT_TEXT_BARE);
	out_str(r, "version", NULL, NETSEG_VERSION, OUT_TEXT_HIDE);
	out_u64(r, "pid", NULL, (uint64_t)getpid(), 0);
	out_json(r, "a_tap", a_json, a_text, 0);
	out_json(r, "b_tap", b_json, b_text, 0);
	out_u64(r, "delay_us_a_to_b", NULL, renv.delay_ab_us, 0);
	out_u64(r, "delay_us_b_to_a", NULL, renv.delay_ba_us, 0);
	out_u64(r, "spin_us", NULL, renv.spin_us, 0);
	out_str(r, "t0_a_to_b", NULL, ab.stamp_fd >= 0 ? "xmit" : "read", 0);
	out_str(r, "t0_b_to_a", NULL, ba.stamp_fd >= 0 ? "xmit" : "read", 0);
	out_u64(r, "tid_a_to_b", NULL, (uint64_t)ab.tid, 0);
	out_u64(r, "tid_b_to_a", NULL, (uint64_t)ba.tid, 0);
	out_u64(r, "rt_prio_a_to_b", NULL, (uint64_t)ab.rt_applied, OUT_TEXT_HIDE);
	out_u64(r, "rt_prio_b_to_a", NULL, (uint64_t)ba.rt_applied, OUT_TEXT_HIDE);
	out_emit(r);
	out_flush();
	{
		char line[4096];

		out_render(r, true, line, sizeof(line));
		if ((rc = lab_write_ready("relay", renv.ready_file, line))) {
			lab_stop_request();
			err[0] = 0;
			goto fail;
		}
	}

	pthread_join(th_ab, NULL);
	pthread_join(th_ba, NULL);
	started_ab = started_ba = false;

	{
		char jab[4096], jba[4096], tab[1024], tba[1024];

		lab_pump_json(&ab, jab, sizeof(jab));
		lab_pump_json(&ba, jba, sizeof(jba));
		lab_pump_text(&ab, tab, sizeof(tab));
		lab_pump_text(&ba, tba, sizeof(tba));
		out_begin(r, "summary");
		out_str(r, "kind", NULL, "SUMMARY", OUT_TEXT_BARE | OUT_JSON_HIDE);
		out_str(r, "tool", NULL, "relay", OUT_TEXT_BARE);
		out_u64(r, "pid", NULL, (uint64_t)getpid(), OUT_TEXT_HIDE);
		out_str(r, "ended_by", "ended-by", lab_ended_by(), 0);
		out_u64(r, "dropped", NULL, ab.dropped + ba.dropped, 0);
		lab_out_json_labeled(r, "a_to_b", "a_to_b:", jab, tab);
		lab_out_json_labeled(r, "b_to_a", "b_to_a:", jba, tba);
		out_emit(r);
		out_flush();
	}
	rc = (ab.fatal[0] || ba.fatal[0]) ? LAB_EXIT_RESOURCE : 0;
	if (ab.fatal[0])
		fprintf(stderr, "netseg lab relay: a_to_b: %s\n", ab.fatal);
	if (ba.fatal[0])
		fprintf(stderr, "netseg lab relay: b_to_a: %s\n", ba.fatal);
	goto cleanup;

fail:
	if (err[0])
		fprintf(stderr, "netseg lab relay: %s\n", err);
cleanup:
	if (started_ab)
		pthread_join(th_ab, NULL);
	if (started_ba)
		pthread_join(th_ba, NULL);
	lab_tap_close(&a_tap);
	lab_tap_close(&b_tap);
	lab_pump_free(&ab);
	lab_pump_free(&ba);
	free(r);
	return rc;
}
