// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * netseg analyze: reading one log. This file cuts the input into lines
 * (a file is read in fixed chunks, so memory stays bounded however big the
 * log), hands each to the JSON or the text reader, and keeps what they
 * share: runs, counts, warnings, names.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "parse_int.h"

/* A line longer than this is no line of ours: skipped with a warning. */
#define AN_CHUNK (1u << 20)

static const char *const role_names[AN_N_ROLES] = {
	[AN_SENDER_VM] = "sender-vm",         [AN_RECEIVER_VM] = "receiver-vm",
	[AN_SENDER_HOST] = "sender-host",     [AN_RECEIVER_HOST] = "receiver-host",
	[AN_RECEIVER_VHOST] = "receiver-vhost", [AN_SENDER_VHOST] = "sender-vhost",
};

/* the seed's workflow redirects each tool to these names */
static const char *const role_files[AN_N_ROLES] = {
	[AN_SENDER_VM] = "sfsvm-send.log",
	[AN_RECEIVER_VM] = "sfsvm-recv.log",
	[AN_SENDER_HOST] = "host-send.log",
	[AN_RECEIVER_HOST] = "host-recv.log",
	[AN_RECEIVER_VHOST] = "vhost-recv-request.log",
	[AN_SENDER_VHOST] = "vhost-send-reply.log",
};

const char *an_role_name(enum an_role r)
{
	return (unsigned)r < AN_N_ROLES ? role_names[r] : "unknown";
}

const char *an_role_file(enum an_role r)
{
	return (unsigned)r < AN_N_ROLES ? role_files[r] : "unknown";
}

const char *an_tool_name(enum an_tool t)
{
	switch (t) {
	case AN_TOOL_RTT:
		return "kernel_icmp_rtt";
	case AN_TOOL_IDD:
		return "icmp_drop_detector";
	case AN_TOOL_TKI:
		return "tun_tx_to_kvm_irq";
	default:
		return "unknown";
	}
}

enum an_tool an_tool_from(const char *p, size_t n)
{
	/* a prefix, so that the originals' "kernel_icmp_rtt.py" also names it */
	if (AN_STARTS(p, n, "kernel_icmp_rtt"))
		return AN_TOOL_RTT;
	if (AN_STARTS(p, n, "icmp_drop_detector"))
		return AN_TOOL_IDD;
	if (AN_STARTS(p, n, "tun_tx_to_kvm_irq"))
		return AN_TOOL_TKI;
	return AN_TOOL_UNKNOWN;
}

void an_warn(struct an_state *s, unsigned line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	s->info->warnings++;
	if (!s->warn || s->info->warnings > AN_WARN_LIMIT + 1)
		return;
	if (s->info->warnings == AN_WARN_LIMIT + 1) {
		s->warn(s->ctx, s->name, line, "more warnings in this file are not shown");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->warn(s->ctx, s->name, line, msg);
}

void an_set_tool(struct an_state *s, enum an_tool tool)
{
	if (s->info->tool == AN_TOOL_UNKNOWN)
		s->info->tool = tool;
}

void an_set_format(struct an_state *s, enum an_format f)
{
	if (s->info->format == AN_FMT_UNKNOWN)
		s->info->format = f;
}

/* Something of the current run: after an end-of-run banner the first such
 * thing opens the next run (the originals have end banners, not start ones). */
static void in_run(struct an_state *s)
{
	if (s->run_ended && s->any_in_run) {
		s->run++;
		s->any_in_run = false;
	}
	s->run_ended = false;
	s->any_in_run = true;
	s->any_run = true;
}

void an_emit(struct an_state *s, struct an_rec *r)
{
	in_run(s);
	r->run = s->run;
	an_set_tool(s, r->tool);
	if (r->tool == AN_TOOL_RTT && s->info->rtt_direction < 0)
		s->info->rtt_direction = r->u.rtt.tx ? 1 : 0;
	s->info->records++;
	if (s->rec)
		s->rec(s->ctx, r);
}

void an_count_drop(struct an_state *s)
{
	in_run(s);
	s->info->drops++;
}

/* A tracer's start: a new run unless it is the file's first thing. */
void an_ready(struct an_state *s, enum an_tool tool, int direction)
{
	if (s->readies > 0 || s->any_in_run)
		s->run++;
	s->readies++;
	s->any_in_run = false;
	s->run_ended = false;
	s->any_run = true;
	s->in_tail = false;
	s->in_ignored_block = false;
	s->idd_pending = false;
	s->flow_src = s->flow_dst = 0;
	if (tool != AN_TOOL_UNKNOWN)
		an_set_tool(s, tool);
	if (direction >= 0 && s->info->rtt_direction < 0)
		s->info->rtt_direction = direction;
}

void an_run_end(struct an_state *s)
{
	s->run_ended = true;
}

static void one_line(struct an_state *s, const char *p, size_t n, bool unterminated)
{
	s->line++;
	s->info->lines++;
	if (n && p[n - 1] == '\r')
		n--;
	const char *q = an_skip_ws(p, p + n);

	if (q == p + n)
		return;
	if (s->tki_wait >= 0)
		an_tki_before_line(s, q, (size_t)(p + n - q));
	if (*q == '{') {
		an_json_line(s, q, (size_t)(p + n - q), unterminated);
		return;
	}
	if (unterminated) {
		/* the writer was stopped mid-line: half a number is a wrong number */
		an_warn(s, s->line, "last line has no end (truncated?): skipped");
		return;
	}
	an_text_line(s, p, n);
}

/* The complete lines of b; with eof also the unterminated rest. Returns
 * the bytes used. */
static size_t feed(struct an_state *s, const char *b, size_t n, bool eof)
{
	size_t off = 0;

	while (off < n) {
		const char *nl = memchr(b + off, '\n', n - off);

		if (!nl) {
			if (!eof)
				break;
			one_line(s, b + off, n - off, true);
			return n;
		}
		one_line(s, b + off, (size_t)(nl - (b + off)), false);
		off = (size_t)(nl - b) + 1;
	}
	return off;
}

static void begin(struct an_state *s, const char *name, an_rec_fn rec, an_warn_fn warn,
		  void *ctx, struct an_file_info *info)
{
	memset(s, 0, sizeof(*s));
	memset(info, 0, sizeof(*info));
	info->rtt_direction = -1;
	s->name = name ? name : "-";
	s->rec = rec;
	s->warn = warn;
	s->ctx = ctx;
	s->info = info;
	s->tki_last = s->tki_wait = -1;
}

static void finish(struct an_state *s)
{
	an_text_finish(s);
	s->info->runs = s->any_run ? s->run + 1 : 0;
}

int an_parse_buffer(const char *name, const char *buf, size_t len, an_rec_fn rec,
		    an_warn_fn warn, void *ctx, struct an_file_info *info)
{
	struct an_state *s = malloc(sizeof(*s));

	if (!s)
		return -1;
	begin(s, name, rec, warn, ctx, info);
	if (buf && len)
		feed(s, buf, len, true);
	finish(s);
	free(s);
	return 0;
}

int an_parse_file(const char *path, an_rec_fn rec, an_warn_fn warn, void *ctx,
		  struct an_file_info *info)
{
	struct an_state *s;
	char *buf;
	size_t have = 0;
	bool skipping = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	s = malloc(sizeof(*s));
	buf = malloc(AN_CHUNK);
	if (!s || !buf) {
		free(s);
		free(buf);
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	begin(s, path, rec, warn, ctx, info);
	for (;;) {
		ssize_t got = read(fd, buf + have, AN_CHUNK - have);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int err = errno;

			/* nothing read (a directory): the file could not be read at all */
			if (!s->info->lines && !have) {
				free(buf);
				free(s);
				close(fd);
				errno = err;
				return -1;
			}
			an_warn(s, s->line + 1, "read failed: %s", strerror(err));
			break;
		}
		if (got == 0)
			break;
		have += (size_t)got;
		if (skipping) {
			char *nl = memchr(buf, '\n', have);

			if (!nl) {
				have = 0;
				continue;
			}
			skipping = false;
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have);
		}
		size_t used = feed(s, buf, have, false);

		have -= used;
		memmove(buf, buf + used, have);
		if (have == AN_CHUNK) {
			s->line++;
			s->info->lines++;
			an_warn(s, s->line, "line longer than %u bytes: skipped", AN_CHUNK);
			skipping = true;
			have = 0;
		}
	}
	if (have && !skipping)
		feed(s, buf, have, true);
	finish(s);
	free(buf);
	free(s);
	close(fd);
	return 0;
}
