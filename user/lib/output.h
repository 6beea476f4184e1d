/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records for people and for programs from one description: a tool fills a
 * record with typed fields, and out_emit() prints it either as text (labels
 * kept from the original tools) or as one JSON line. Output is line
 * buffered, so a tracer killed mid-run has lost nothing it printed.
 */
#ifndef NETSEG_OUTPUT_H
#define NETSEG_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum out_kind {
	OUT_U64,
	OUT_S64,
	OUT_F64,
	OUT_BOOL,
	OUT_STR,
	OUT_IP4,      /* u: IPv4 address in network order */
	OUT_NS,       /* u: duration in ns; text shows us with 3 decimals */
	OUT_SNS,      /* s: signed duration in ns, shown like OUT_NS */
	OUT_WALL,     /* u: ns since the epoch; text shows local HH:MM:SS.uuuuuu */
	OUT_JSON,     /* str: a ready JSON value (array/object); text shows `text` */
};

enum out_flags {
	OUT_TEXT_HIDE = 1 << 0,
	OUT_JSON_HIDE = 1 << 1,
	OUT_TEXT_NEWLINE = 1 << 2,   /* text: start an indented line before it */
	OUT_TEXT_BARE = 1 << 3,      /* text: value without its label */
};

#define OUT_MAX_FIELDS 96
#define OUT_STRBUF 16384

struct out_field {
	const char *key;     /* JSON key */
	const char *label;   /* text label; NULL: same as key. "X:" prints "X: v" */
	enum out_kind kind;
	unsigned flags;
	uint64_t u;
	int64_t s;
	double f;
	const char *str;
	const char *text;    /* OUT_JSON: what text shows instead */
};

struct out_rec {
	const char *type;
	bool event;          /* one traced event (out_begin_event) */
	int n;
	bool overflow;
	struct out_field f[OUT_MAX_FIELDS];
	size_t strused;
	char strbuf[OUT_STRBUF];
};

/* Where records go, and in which form. Line buffered on a terminal, else
 * block buffered and flushed by out_flush() (the poll loop calls it after
 * every batch; ready and summary records flush themselves). */
void out_setup(FILE *stream, bool json);
/* Returns 0, or the first write error as a negative errno (sticky: after
 * it nothing more is written, since stdio has dropped what it held and a
 * later line would hide the gap). */
int out_flush(void);
int out_error(void);
/* The stream's fd when it is a pipe (its reader may go away), else -1. */
int out_pipe_fd(void);
bool out_is_json(void);
FILE *out_stream(void);

void out_begin(struct out_rec *r, const char *type);
/* A record of one traced event (a packet, an echo, a drop...), as opposed
 * to a record of the run (ready, stats, summary): --quiet drops these
 * and keeps the others. */
void out_begin_event(struct out_rec *r, const char *type);
void out_set_quiet(bool quiet);
void out_u64(struct out_rec *r, const char *key, const char *label, uint64_t v, unsigned flags);
void out_s64(struct out_rec *r, const char *key, const char *label, int64_t v, unsigned flags);
void out_f64(struct out_rec *r, const char *key, const char *label, double v, unsigned flags);
void out_bool(struct out_rec *r, const char *key, const char *label, bool v, unsigned flags);
void out_str(struct out_rec *r, const char *key, const char *label, const char *v,
	     unsigned flags);
void out_ip4(struct out_rec *r, const char *key, const char *label, uint32_t be_addr,
	     unsigned flags);
void out_ns(struct out_rec *r, const char *key, const char *label, uint64_t ns, unsigned flags);
void out_sns(struct out_rec *r, const char *key, const char *label, int64_t ns, unsigned flags);
void out_wall(struct out_rec *r, const char *key, const char *label, uint64_t wall_ns,
	      unsigned flags);
void out_json(struct out_rec *r, const char *key, const char *json, const char *text,
	      unsigned flags);

/* Render to a buffer (tests) or to the configured stream. */
int out_render(const struct out_rec *r, bool json, char *buf, size_t len);
void out_emit(const struct out_rec *r);

/* Append `s` to buf as a JSON string literal (with quotes). Returns the
 * length it needed, like snprintf. */
/* Local HH:MM:SS.uuuuuu, as OUT_WALL shows it in text. */
void out_wall_text(uint64_t wall_ns, char *buf, size_t len);
size_t out_json_string(char *buf, size_t len, const char *s);

#endif /* NETSEG_OUTPUT_H */
