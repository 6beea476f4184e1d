// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "output.h"
#include "pktfilter.h"

static struct netseg_pktfilter filter;

enum {
	OPT_SRC = 0x3000,
	OPT_DST,
	OPT_PROTO,
	OPT_SPORT,
	OPT_DPORT,
	OPT_ICMP_ID,
	OPT_ICMP_SEQ,
};

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "Packet filters (checked where a packet is first seen):", 50 },
	{ "src-ip", OPT_SRC, "ADDR", 0, "IPv4 source address", 50 },
	{ "dst-ip", OPT_DST, "ADDR", 0, "IPv4 destination address", 50 },
	{ "protocol", OPT_PROTO, "PROTO", 0, "tcp, udp, icmp or all (default)", 50 },
	{ "src-port", OPT_SPORT, "PORT", 0, "TCP/UDP source port", 50 },
	{ "dst-port", OPT_DPORT, "PORT", 0, "TCP/UDP destination port", 50 },
	{ "icmp-id", OPT_ICMP_ID, "ID", 0, "ICMP echo identifier", 50 },
	{ "icmp-seq", OPT_ICMP_SEQ, "SEQ", 0, "ICMP echo sequence number", 50 },
	{},
};

static void parse_u16(const char *what, const char *arg, uint64_t min, __u16 *out)
{
	char err[256];
	uint64_t v;

	if (cli_parse_u64(what, arg, min, 65535, &v, err, sizeof(err)))
		cli_usage_error("%s", err);
	*out = (__u16)v;
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	static const char *const protos[] = { "all", "icmp", "tcp", "udp", NULL };
	static const __u8 proto_nums[] = { 0, NETSEG_IPPROTO_ICMP, NETSEG_IPPROTO_TCP,
					   NETSEG_IPPROTO_UDP };
	struct netseg_pktfilter *f = &filter;
	char err[256];
	int i;

	(void)state;
	switch (key) {
	case OPT_SRC:
		if (cli_parse_ipv4("--src-ip", arg, &f->saddr, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_DST:
		if (cli_parse_ipv4("--dst-ip", arg, &f->daddr, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_PROTO:
		i = cli_parse_choice("--protocol", arg, protos, err, sizeof(err));
		if (i < 0)
			cli_usage_error("%s", err);
		f->proto = proto_nums[i];
		break;
	case OPT_SPORT:
		parse_u16("--src-port", arg, 1, &f->sport);
		break;
	case OPT_DPORT:
		parse_u16("--dst-port", arg, 1, &f->dport);
		break;
	case OPT_ICMP_ID:
		parse_u16("--icmp-id", arg, 0, &f->icmp_id);
		f->flags |= NETSEG_PF_ICMP_ID;
		break;
	case OPT_ICMP_SEQ:
		parse_u16("--icmp-seq", arg, 0, &f->icmp_seq);
		f->flags |= NETSEG_PF_ICMP_SEQ;
		break;
	case ARGP_KEY_END:
		if ((f->sport || f->dport) && f->proto == NETSEG_IPPROTO_ICMP)
			cli_usage_error("--src-port/--dst-port match TCP and UDP, not --protocol icmp");
		if (f->flags && f->proto && f->proto != NETSEG_IPPROTO_ICMP)
			cli_usage_error("--icmp-id/--icmp-seq match ICMP echoes, not --protocol %s",
					f->proto == NETSEG_IPPROTO_TCP ? "tcp" : "udp");
		if (f->flags && (f->sport || f->dport))
			cli_usage_error("--icmp-id/--icmp-seq and --src-port/--dst-port exclude each other");
		f->on = f->saddr || f->daddr || f->proto || f->sport || f->dport || f->flags;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct argp pktfilter_argp = { options, parse, NULL, NULL, NULL, NULL, NULL };

const struct netseg_pktfilter *pktfilter_get(void)
{
	return &filter;
}

void pktfilter_fields(struct out_rec *r, const struct netseg_pktfilter *f)
{
	if (f->saddr)
		out_ip4(r, "src_ip", NULL, f->saddr, 0);
	if (f->daddr)
		out_ip4(r, "dst_ip", NULL, f->daddr, 0);
	if (f->proto)
		out_str(r, "protocol", NULL,
			f->proto == NETSEG_IPPROTO_ICMP ? "icmp" :
			f->proto == NETSEG_IPPROTO_TCP ? "tcp" : "udp", 0);
	if (f->sport)
		out_u64(r, "src_port", NULL, f->sport, 0);
	if (f->dport)
		out_u64(r, "dst_port", NULL, f->dport, 0);
	if (f->flags & NETSEG_PF_ICMP_ID)
		out_u64(r, "icmp_id", NULL, f->icmp_id, 0);
	if (f->flags & NETSEG_PF_ICMP_SEQ)
		out_u64(r, "icmp_seq", NULL, f->icmp_seq, 0);
}
