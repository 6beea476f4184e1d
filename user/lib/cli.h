/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Command line: the options every tracer shares (an argp child parser) and
 * value parsers whose errors name the bad value. A bad value is a usage
 * error: one line on stderr, exit status 2, before anything is loaded.
 */
#ifndef NETSEG_CLI_H
#define NETSEG_CLI_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "netseg.h"
#include "tier.h"

#define CLI_EXIT_USAGE 2
#define CLI_EXIT_PRIVS 1

struct cli_common {
	bool json;
	bool verbose;
	bool timestamp;          /* wall time on each text record (on by default) */
	double duration_s;       /* 0: until a signal */
	const char *netns;       /* NULL: the tracer's own */
	enum tier_force tier;
	const char *ready_file;
	/* Issue 15, stored only: the metrics server (user/lib/metrics.h)
	 * serves --metrics ADDR:PORT; --quiet with it: no record per event,
	 * the kernel aggregates (span_hist.h). The metrics side owns these
	 * options and may reshape them. */
	const char *metrics;
	bool quiet;
};

/* argp child: -j/--json -v/--verbose -T/--timestamp --no-timestamp
 * --duration --netns --tier --ready-file --metrics --quiet. `common` must
 * outlive parsing. */
extern struct argp cli_common_argp;
void cli_common_init(struct cli_common *c);
struct cli_common *cli_common_get(void);

/* The tool name used as the prefix of error lines. */
void cli_set_tool(const char *name);
const char *cli_tool(void);

/* Print "<tool>: <message>" and exit with status 2. */
void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Each returns 0 or -1 with a one-line reason in err that names the value.
 * `what` is the option as the user typed it ("--src-ip"). */
int cli_parse_ipv4(const char *what, const char *s, uint32_t *be_addr, char *err, size_t errlen);
int cli_parse_u64(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out,
		  char *err, size_t errlen);
int cli_parse_seconds(const char *what, const char *s, double *out, char *err, size_t errlen);
/* "N" or "LO-HI", inclusive, both within [min, max], LO <= HI. */
int cli_parse_range(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *lo,
		    uint64_t *hi, char *err, size_t errlen);
/* "eth0,eth1": names resolved to indexes in the current namespace, each
 * tagged with that namespace's inode (an ifindex alone is ambiguous once
 * every namespace is watched). */
int cli_parse_ifnames(const char *what, const char *s, struct netseg_ifset *set,
		      char names[][16], char *err, size_t errlen);
/* One word out of a list: "tx" of {"tx","rx",NULL}; returns its index. */
int cli_parse_choice(const char *what, const char *s, const char *const *choices, char *err,
		     size_t errlen);

#endif /* NETSEG_CLI_H */
