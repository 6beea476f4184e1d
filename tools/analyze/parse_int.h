/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Inside the log parsers: the per-file state the three line readers
 * (parse_json.c, parse_text.c, parse_orig.c, parse_tki.c) share, and the
 * bounded scanning helpers they all use. Lines are (pointer, length) pairs
 * into the caller's buffer: never NUL-terminated, never copied, so a NUL or
 * any other byte inside a line is just a byte.
 */
#ifndef NETSEG_ANALYZE_PARSE_INT_H
#define NETSEG_ANALYZE_PARSE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "records.h"

/* Chains of the tun tool are printed one line per stage; lines of several
 * queues may interleave in the original's output, so each queue's head
 * ("[vnet0:q1]") has its own chain being built. More queues than this at
 * once: the oldest chain is given up (counted as partial). */
#define AN_TKI_HEADS 16
#define AN_TKI_HEAD_MAX 48
#define AN_TKI_MAX_STAGES 8
/* One warning per unknown JSON type per file, for this many distinct types. */
#define AN_MAX_UNKNOWN_TYPES 16
#define AN_TYPE_NAME_MAX 32
/* Warnings passed to the callback per file; the rest are only counted, so
 * that a binary file cannot print a million lines. */
#define AN_WARN_LIMIT 50

struct an_tki_chain {
	bool used;
	char head[AN_TKI_HEAD_MAX];
	size_t head_len;
	unsigned line;
	uint64_t wall_ns;
	uint64_t age;             /* order of creation, to give up the oldest */
	struct an_key key;
	uint8_t icmp_type;
	bool icmp_echo;           /* the flow is an ICMP echo or echo reply */
	bool ours;                /* a line only our tracer prints was seen */
	bool orig;                /* a field only the original prints was seen */
	bool s5_seen;             /* the injection: the original's chain ends here */
	int n_stages;
	int64_t delay_sum_ns;     /* our text: each Delay is to the previous stage */
	bool have_stage[6];       /* the original's stage numbers 1..5 */
	int64_t delay_ns[6];      /* the original's Delay per stage number */
};

/* An RTT block (ours or the original's) being read. */
struct an_rtt_block {
	bool open;
	bool have_key, original;
	unsigned line;
	struct an_rec rec;
	unsigned have;            /* bits: 1 path1, 2 path2, 4 inter, 8 total */
};

struct an_state {
	const char *name;
	an_rec_fn rec;
	an_warn_fn warn;
	void *ctx;
	struct an_file_info *info;
	unsigned line;

	int run;
	int readies;              /* ready records / READY lines seen */
	bool any_in_run;          /* a record or a drop belongs to the current run */
	bool run_ended;           /* an end-of-run banner: the next record starts a run */
	bool any_run;

	/* text: after a summary, the table and histograms that follow are not
	 * records and not garbage either */
	bool in_tail;
	bool in_ignored_block;    /* an incomplete echo's or a drop report's lines */

	struct an_rtt_block rtt;

	/* icmp_drop_detector's original verbose output: "[complete]" names the
	 * echo, the "Latency(us):" line after it gives its values */
	bool idd_pending;
	unsigned idd_line;
	uint16_t idd_id, idd_seq;
	uint64_t idd_wall_ns;
	uint32_t flow_src, flow_dst; /* from a Flow:/ready line; 0: unknown */

	struct an_tki_chain tki[AN_TKI_HEADS];
	uint64_t tki_age;
	int tki_last;             /* the chain of the last stage line, -1: none */
	int tki_wait;             /* a chain at its Stage 5 whose next line may
				   * still be our "-> Total" line, -1: none */

	char unknown_types[AN_MAX_UNKNOWN_TYPES][AN_TYPE_NAME_MAX];
	int n_unknown_types;
};

/* parse.c */
void an_warn(struct an_state *s, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void an_emit(struct an_state *s, struct an_rec *r);
void an_count_drop(struct an_state *s);
void an_ready(struct an_state *s, enum an_tool tool, int direction);
void an_run_end(struct an_state *s);
void an_set_tool(struct an_state *s, enum an_tool tool);
void an_set_format(struct an_state *s, enum an_format f);
enum an_tool an_tool_from(const char *p, size_t n);

/* parse_json.c: a line starting with '{' */
void an_json_line(struct an_state *s, const char *p, size_t n, bool last_unterminated);
/* parse_text.c: any other line, ours or the original's */
void an_text_line(struct an_state *s, const char *p, size_t n);
void an_text_finish(struct an_state *s);
/* parse_orig.c: the original's lines; false when the line is not one */
bool an_orig_line(struct an_state *s, const char *p, size_t n);
void an_rtt_value(struct an_state *s, const char *p, size_t n, unsigned bit, const char *label);
void an_rtt_close(struct an_state *s, bool at_end);
/* parse_tki.c: a "TUN TX INTERRUPT [head] ..." stage line and a "  -> " end */
void an_tki_stage(struct an_state *s, const char *p, size_t n);
void an_tki_end_line(struct an_state *s, const char *p, size_t n);
/* before any line: a chain waiting at its Stage 5 is ended unless this is
 * its "-> " line */
void an_tki_before_line(struct an_state *s, const char *p, size_t n);
void an_tki_finish(struct an_state *s);

/* ---- bounded scanning (parse_scan.c) ------------------------------------ */
static inline bool an_starts(const char *p, size_t n, const char *lit, size_t litlen)
{
	return n >= litlen && __builtin_memcmp(p, lit, litlen) == 0;
}
#define AN_STARTS(p, n, lit) an_starts((p), (n), (lit), sizeof(lit) - 1)
/* position of lit in [p, p+n), or NULL */
const char *an_find(const char *p, size_t n, const char *lit, size_t litlen);
#define AN_FIND(p, n, lit) an_find((p), (n), (lit), sizeof(lit) - 1)
/* "key=" as a word (at the start or after a space/tab/comma/parenthesis):
 * the value's start, or NULL */
const char *an_field(const char *p, size_t n, const char *key, size_t keylen);
#define AN_FIELD(p, n, key) an_field((p), (n), (key), sizeof(key) - 1)
/* unsigned decimal integer; *end after it. false: none or overflow */
bool an_uint(const char *p, const char *e, uint64_t *v, const char **end);
/* "[-]123[.456]" scaled by 10^digits (us with 3 -> ns), rounded half up
 * on the first digit it drops. false: no number or out of range */
bool an_decimal(const char *p, const char *e, int digits, int64_t *v, const char **end);
/* a dotted quad, network order */
bool an_ipv4(const char *p, const char *e, uint32_t *be, const char **end);
/* "HH:MM:SS[.frac]" (time of day) or "YYYY-MM-DD HH:MM:SS[.frac]": ns since
 * the epoch (the date taken as UTC) or since midnight */
bool an_clock(const char *p, const char *e, uint64_t *ns, const char **end);
const char *an_skip_ws(const char *p, const char *e);

#endif /* NETSEG_ANALYZE_PARSE_INT_H */
