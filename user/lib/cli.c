// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "netns.h"

static const char *tool_name = "netseg";
static struct cli_common common_opts;

void cli_set_tool(const char *name)
{
	tool_name = name;
	/* argp's own usage errors (unknown option) exit like ours */
	argp_err_exit_status = CLI_EXIT_USAGE;
}

const char *cli_tool(void)
{
	return tool_name;
}

void cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", tool_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(CLI_EXIT_USAGE);
}

void cli_common_init(struct cli_common *c)
{
	memset(c, 0, sizeof(*c));
	c->timestamp = true;
	c->tier = TIER_FORCE_AUTO;
}

struct cli_common *cli_common_get(void)
{
	return &common_opts;
}

enum {
	OPT_DURATION = 0x1000,
	OPT_NETNS,
	OPT_TIER,
	OPT_READY_FILE,
	OPT_NO_TIMESTAMP,
	OPT_METRICS,
	OPT_QUIET,
};

static const struct argp_option common_options[] = {
	{ NULL, 0, NULL, 0, "Common options:", 100 },
	{ "json", 'j', NULL, 0, "JSON lines instead of text", 100 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "give this help list", 100 },
	{ "verbose", 'v', NULL, 0, "libbpf debug output and live counters", 100 },
	{ "timestamp", 'T', NULL, 0, "wall time on each text record (default)", 100 },
	{ "no-timestamp", OPT_NO_TIMESTAMP, NULL, 0, "no wall time on text records", 100 },
	{ "duration", OPT_DURATION, "SEC", 0, "stop after SEC seconds (default: until SIGINT/SIGTERM)", 100 },
	{ "netns", OPT_NETNS, "NS", 0,
	  "namespace to watch: current (default), all, a PID, a path, or an `ip netns` name; "
	  "interface names are those of that namespace, with all those of the tracer's own", 100 },
	{ "tier", OPT_TIER, "TIER", 0,
	  "attach tier: auto (default), fentry, kprobe, tracepoint (best of tp_btf/raw_tp/tp), tp_btf, raw_tp, tp", 100 },
	{ "ready-file", OPT_READY_FILE, "PATH", 0, "write the ready record here once attached", 100 },
	/* long options only: tun_tx_to_kvm_irq's -q is --queue */
	{ "metrics", OPT_METRICS, "ADDR:PORT", 0, "serve Prometheus metrics on ADDR:PORT", 100 },
	{ "quiet", OPT_QUIET, NULL, 0,
	  "with --metrics: no record per event; the kernel keeps the histograms", 100 },
	{},
};

static error_t common_parse(int key, char *arg, struct argp_state *state)
{
	struct cli_common *c = &common_opts;
	char err[256];

	switch (key) {
	case ARGP_KEY_INIT:
		cli_common_init(c);
		break;
	case 'j':
		c->json = true;
		break;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case 'v':
		c->verbose = true;
		break;
	case 'T':
		c->timestamp = true;
		break;
	case OPT_NO_TIMESTAMP:
		c->timestamp = false;
		break;
	case OPT_DURATION:
		if (cli_parse_seconds("--duration", arg, &c->duration_s, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_NETNS:
		c->netns = arg;
		break;
	case OPT_TIER:
		if (tier_force_parse(arg, &c->tier))
			cli_usage_error("invalid --tier '%s': expected auto, fentry, kprobe, "
					"tracepoint, tp_btf, raw_tp or tp", arg);
		break;
	case OPT_READY_FILE:
		c->ready_file = arg;
		break;
	/* stored as given: the metrics server parses and binds the address */
	case OPT_METRICS:
		c->metrics = arg;
		break;
	case OPT_QUIET:
		c->quiet = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct argp cli_common_argp = { common_options, common_parse, NULL, NULL, NULL, NULL, NULL };

int cli_parse_ipv4(const char *what, const char *s, uint32_t *be_addr, char *err, size_t errlen)
{
	struct in_addr a;
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, &a) == 1) {
		*be_addr = a.s_addr;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1)
		snprintf(err, errlen, "invalid %s '%s': IPv6 is not supported, give an IPv4 address",
			 what, s);
	else
		snprintf(err, errlen, "invalid %s '%s': not an IPv4 address (a.b.c.d)", what, s);
	return -1;
}

int cli_parse_u64(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out,
		  char *err, size_t errlen)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!*s || *s == '-' || *s == '+')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		goto bad;
	if (v < min || v > max) {
		snprintf(err, errlen, "invalid %s '%s': must be between %llu and %llu", what, s,
			 (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
bad:
	snprintf(err, errlen, "invalid %s '%s': not a whole number", what, s);
	return -1;
}

int cli_parse_seconds(const char *what, const char *s, double *out, char *err, size_t errlen)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 1e7) {
		snprintf(err, errlen, "invalid %s '%s': expected a positive number of seconds", what,
			 s);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_parse_range(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *lo,
		    uint64_t *hi, char *err, size_t errlen)
{
	const char *dash = strchr(s, '-');
	char a[32], b[32], sub[256];

	if (!dash) {
		if (cli_parse_u64(what, s, min, max, lo, err, errlen))
			return -1;
		*hi = *lo;
		return 0;
	}
	if ((size_t)(dash - s) >= sizeof(a) || strlen(dash + 1) >= sizeof(b) || dash == s ||
	    !dash[1]) {
		snprintf(err, errlen, "invalid %s '%s': expected N or LO-HI", what, s);
		return -1;
	}
	memcpy(a, s, dash - s);
	a[dash - s] = 0;
	snprintf(b, sizeof(b), "%s", dash + 1);
	if (cli_parse_u64(what, a, min, max, lo, sub, sizeof(sub)) ||
	    cli_parse_u64(what, b, min, max, hi, sub, sizeof(sub))) {
		snprintf(err, errlen, "invalid %s '%s': both ends must be whole numbers between %llu and %llu",
			 what, s, (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	if (*lo > *hi) {
		snprintf(err, errlen, "invalid %s '%s': inverted range (%llu > %llu)", what, s,
			 (unsigned long long)*lo, (unsigned long long)*hi);
		return -1;
	}
	return 0;
}

int cli_parse_ifnames(const char *what, const char *s, struct netseg_ifset *set,
		      char names[][16], char *err, size_t errlen)
{
	char buf[512], *save = NULL, *tok;
	uint32_t ns_ino = netns_current_ino();

	memset(set, 0, sizeof(*set));
	if (strlen(s) >= sizeof(buf) || !*s) {
		snprintf(err, errlen, "invalid %s '%s': expected interface names separated by commas",
			 what, s);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned idx;

		if (strlen(tok) >= IF_NAMESIZE) {
			snprintf(err, errlen, "invalid %s: interface name '%s' is too long", what, tok);
			return -1;
		}
		idx = if_nametoindex(tok);
		if (!idx) {
			snprintf(err, errlen, "invalid %s: unknown interface '%s'", what, tok);
			return -1;
		}
		for (unsigned i = 0; i < set->n; i++) {
			if (set->ifindex[i] == idx) {
				snprintf(err, errlen, "invalid %s: interface '%s' given twice", what, tok);
				return -1;
			}
		}
		if (set->n == NETSEG_MAX_IFS) {
			snprintf(err, errlen, "invalid %s '%s': at most %d interfaces", what, s,
				 NETSEG_MAX_IFS);
			return -1;
		}
		if (names)
			snprintf(names[set->n], 16, "%s", tok);
		/* we run inside the namespace the names belong to (netns_run_in) */
		set->netns[set->n] = ns_ino;
		set->ifindex[set->n++] = idx;
	}
	if (!set->n) {
		snprintf(err, errlen, "invalid %s '%s': no interface named", what, s);
		return -1;
	}
	return 0;
}

int cli_parse_choice(const char *what, const char *s, const char *const *choices, char *err,
		     size_t errlen)
{
	size_t off;

	for (int i = 0; choices[i]; i++)
		if (!strcmp(s, choices[i]))
			return i;
	off = snprintf(err, errlen, "invalid %s '%s': expected ", what, s);
	for (int i = 0; choices[i] && off < errlen; i++)
		off += snprintf(err + off, errlen - off, "%s%s", i ? (choices[i + 1] ? ", " : " or ") : "",
				choices[i]);
	return -1;
}
