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
#include "lab_link.h"
#include "lib/cli.h"
#include "lib/output.h"
#include "lib/tracer.h"


static struct relay_env {
	const char *a_netns, *a_if, *b_netns, *b_if;
	uint64_t delay_ab_us, delay_ba_us;
} renv = { .a_if = "phy0", .b_if = "phy0" };

enum {
	OPT_A_NETNS = 0x1000,
	OPT_A_IF,
	OPT_B_NETNS,
	OPT_B_IF,
	OPT_DELAY,
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
	static const struct argp_child children[] = { { &lab_link_argp, 0, NULL, 0 }, {} };
	static const struct argp argp = { relay_opts, relay_parse, NULL, relay_doc, children, NULL,
					  NULL };
	static struct lab_link l;
	struct lab_link_cfg c = {
		.tool = "relay",
		.a_ns_opt = "--a-netns", .a_if_opt = "--a-if",
		.b_ns_opt = "--b-netns", .b_if_opt = "--b-if",
		.a_key = "a_tap", .b_key = "b_tap",
		.ab_name = "a_to_b", .ba_name = "b_to_a",
		.ab_thread = "relay-a-to-b", .ba_thread = "relay-b-to-a",
		.spin_undelayed = true,
		.ab_signal_fd = -1,
	};
	char err[512] = "";
	struct out_rec *r = &l.rec;
	int rc;

	cli_set_tool("netseg lab relay");
	lab_link_init(&l);
	/* the wire starts when the kernel sent the frame, not when we woke */
	lab_link_opts.xmit_stamps = true;
	argp_parse(&argp, argc, argv, 0, NULL, NULL);
	c.a_ns = renv.a_netns;
	c.a_if = renv.a_if;
	c.b_ns = renv.b_netns;
	c.b_if = renv.b_if;
	c.ab_delay_us = renv.delay_ab_us;
	c.ba_delay_us = renv.delay_ba_us;
	if ((rc = lab_link_check(&c, &l, err, sizeof(err))))
		goto fail;
	if ((rc = lab_link_start(&c, &l, err, sizeof(err))))
		goto fail;
	lab_link_ready_begin(&c, &l, r);
	if ((rc = lab_link_ready_end(&c, &l, r)))
		goto cleanup;
	lab_link_wait(&l);
	lab_link_summary_begin(&c, r);
	lab_link_summary_end(&l, r);
	rc = lab_link_status(&c, &l);
	goto cleanup;

fail:
	if (err[0])
		fprintf(stderr, "netseg lab relay: %s\n", err);
cleanup:
	lab_link_close(&l);
	return rc;
}
