// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "output.h"

static FILE *out_fp;
static bool out_json_mode;
static int out_err;
static int out_pipe = -1;
static bool out_quiet;

void out_setup(FILE *stream, bool json)
{
	struct stat st;

	out_fp = stream;
	out_json_mode = json;
	out_err = 0;
	out_pipe = fstat(fileno(stream), &st) == 0 && S_ISFIFO(st.st_mode) ? fileno(stream) : -1;
	/* A terminal sees each line at once. A pipe or file gets whole batches:
	 * one write per ring-buffer poll instead of one per record, which is
	 * what keeps a traced ping flood from overrunning the ring buffer.
	 * The loop flushes after every poll, so a record reaches the fd at most
	 * one poll (<= 100 ms) after the kernel wrote it. */
	if (isatty(fileno(stream)))
		setvbuf(stream, NULL, _IOLBF, 0);
	else
		setvbuf(stream, NULL, _IOFBF, 1 << 16);
}

/* errno of a failed stdio call, never 0 (a failed call that left errno
 * alone still failed) */
static int note_error(void)
{
	if (!out_err)
		out_err = errno ? -errno : -EIO;
	return out_err;
}

int out_flush(void)
{
	FILE *fp = out_stream();

	if (out_err)
		return out_err;
	errno = 0;
	if (fflush(fp) == EOF || ferror(fp))
		return note_error();
	return 0;
}

int out_error(void)
{
	return out_err;
}

int out_pipe_fd(void)
{
	return out_fp ? out_pipe : -1;
}

bool out_is_json(void)
{
	return out_json_mode;
}

FILE *out_stream(void)
{
	return out_fp ? out_fp : stdout;
}

void out_set_quiet(bool quiet)
{
	out_quiet = quiet;
}

void out_begin(struct out_rec *r, const char *type)
{
	r->type = type;
	r->event = false;
	r->n = 0;
	r->overflow = false;
	r->strused = 0;
}

void out_begin_event(struct out_rec *r, const char *type)
{
	out_begin(r, type);
	r->event = true;
}

static const char *keep(struct out_rec *r, const char *s)
{
	size_t n;
	char *p;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	if (r->strused + n > sizeof(r->strbuf)) {
		r->overflow = true;
		return "";
	}
	p = r->strbuf + r->strused;
	memcpy(p, s, n);
	r->strused += n;
	return p;
}

static struct out_field *add(struct out_rec *r, const char *key, const char *label,
			     enum out_kind kind, unsigned flags)
{
	struct out_field *f;

	if (r->n >= OUT_MAX_FIELDS) {
		r->overflow = true;
		return NULL;
	}
	f = &r->f[r->n++];
	memset(f, 0, sizeof(*f));
	f->key = keep(r, key);
	f->label = label ? keep(r, label) : NULL;
	f->kind = kind;
	f->flags = flags;
	return f;
}

void out_u64(struct out_rec *r, const char *key, const char *label, uint64_t v, unsigned flags)
{
	struct out_field *f = add(r, key, label, OUT_U64, flags);

	if (f)
		f->u = v;
}

void out_s64(struct out_rec *r, const char *key, const char *label, int64_t v, unsigned flags)
{
	struct out_field *f = add(r, key, label, OUT_S64, flags);

	if (f)
		f->s = v;
}

void out_f64(struct out_rec *r, const char *key, const char *label, double v, unsigned flags)
{
	struct out_field *f = add(r, key, label, OUT_F64, flags);

	if (f)
		f->f = v;
}

void out_bool(struct out_rec *r, const char *key, const char *label, bool v, unsigned flags)
{
	struct out_field *f = add(r, key, label, OUT_BOOL, flags);

	if (f)
		f->u = v;
}

void out_str(struct out_rec *r, const char *key, const char *label, const char *v,
	     unsigned flags)
{
	struct out_field *f = add(r, key, label, OUT_STR, flags);

	if (f)
		f->str = keep(r, v ? v : "");
}

void out_ip4(struct out_rec *r, const char *key, const char *label, uint32_t be_addr,
	     unsigned flags)
{
	struct out_field *f = add(r, key, label, OUT_IP4, flags);

	if (f)
		f->u = be_addr;
}

void out_sns(struct out_rec *r, const char *key, const char *label, int64_t ns, unsigned flags)
{
	struct out_field *f = add(r, key, label, OUT_SNS, flags);

	if (f)
		f->s = ns;
}

void out_ns(struct out_rec *r, const char *key, const char *label, uint64_t ns, unsigned flags)
{
	struct out_field *f = add(r, key, label, OUT_NS, flags);

	if (f)
		f->u = ns;
}

void out_wall(struct out_rec *r, const char *key, const char *label, uint64_t wall_ns,
	      unsigned flags)
{
	struct out_field *f = add(r, key, label, OUT_WALL, flags);

	if (f)
		f->u = wall_ns;
}

void out_json(struct out_rec *r, const char *key, const char *json, const char *text,
	      unsigned flags)
{
	struct out_field *f = add(r, key, NULL, OUT_JSON, flags);

	if (f) {
		f->str = keep(r, json);
		f->text = keep(r, text ? text : json);
	}
}

/* ---- rendering ---------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, used;
};

static void sb_put(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_put(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room = b->used < b->len ? b->len - b->used : 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? b->p + b->used : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->used += n;
}

size_t out_json_string(char *buf, size_t len, const char *s)
{
	struct sbuf b = { buf, len, 0 };

	if (len)
		buf[0] = 0;
	sb_put(&b, "\"");
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			sb_put(&b, "\\%c", *c);
		else if (*c == '\n')
			sb_put(&b, "\\n");
		else if (*c == '\t')
			sb_put(&b, "\\t");
		else if (*c < 0x20 || *c == 0x7f)
			sb_put(&b, "\\u%04x", *c);
		else
			sb_put(&b, "%c", *c);
	}
	sb_put(&b, "\"");
	return b.used;
}

static void put_json_string(struct sbuf *b, const char *s)
{
	size_t room = b->used < b->len ? b->len - b->used : 0;

	b->used += out_json_string(room ? b->p + b->used : NULL, room, s);
}

void out_wall_text(uint64_t wall_ns, char *buf, size_t len)
{
	time_t secs = wall_ns / 1000000000ull;
	struct tm tm;

	localtime_r(&secs, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%06u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(wall_ns % 1000000000ull / 1000));
}

static void render_value_text(struct sbuf *b, const struct out_field *f, bool label_colon)
{
	char tmp[64];

	switch (f->kind) {
	case OUT_U64:
		sb_put(b, "%" PRIu64, f->u);
		break;
	case OUT_S64:
		sb_put(b, "%" PRId64, f->s);
		break;
	case OUT_F64:
		sb_put(b, "%.3f", f->f);
		break;
	case OUT_BOOL:
		sb_put(b, "%s", f->u ? "yes" : "no");
		break;
	case OUT_STR:
		sb_put(b, "%s", f->str);
		break;
	case OUT_IP4: {
		struct in_addr a = { .s_addr = (uint32_t)f->u };

		sb_put(b, "%s", inet_ntop(AF_INET, &a, tmp, sizeof(tmp)));
		break;
	}
	case OUT_NS:
		sb_put(b, "%" PRIu64 ".%03" PRIu64 "%s", f->u / 1000, f->u % 1000,
		       label_colon ? " us" : "");
		break;
	case OUT_SNS: {
		uint64_t mag = f->s < 0 ? -(uint64_t)f->s : (uint64_t)f->s;

		sb_put(b, "%s%" PRIu64 ".%03" PRIu64 "%s", f->s < 0 ? "-" : "", mag / 1000, mag % 1000,
		       label_colon ? " us" : "");
		break;
	}
	case OUT_WALL:
		out_wall_text(f->u, tmp, sizeof(tmp));
		sb_put(b, "%s", tmp);
		break;
	case OUT_JSON:
		sb_put(b, "%s", f->text);
		break;
	}
}

static void render_value_json(struct sbuf *b, const struct out_field *f)
{
	char tmp[64];

	switch (f->kind) {
	case OUT_U64:
	case OUT_NS:
	case OUT_WALL:
		sb_put(b, "%" PRIu64, f->u);
		break;
	case OUT_S64:
	case OUT_SNS:
		sb_put(b, "%" PRId64, f->s);
		break;
	case OUT_F64:
		if (f->f != f->f || f->f > 1e300 || f->f < -1e300)
			sb_put(b, "null");
		else
			sb_put(b, "%.6g", f->f);
		break;
	case OUT_BOOL:
		sb_put(b, "%s", f->u ? "true" : "false");
		break;
	case OUT_STR:
		put_json_string(b, f->str);
		break;
	case OUT_IP4: {
		struct in_addr a = { .s_addr = (uint32_t)f->u };

		put_json_string(b, inet_ntop(AF_INET, &a, tmp, sizeof(tmp)));
		break;
	}
	case OUT_JSON:
		sb_put(b, "%s", f->str && f->str[0] ? f->str : "null");
		break;
	}
}

int out_render(const struct out_rec *r, bool json, char *buf, size_t len)
{
	struct sbuf b = { buf, len, 0 };
	bool first = true;

	if (len)
		buf[0] = 0;
	if (json) {
		sb_put(&b, "{\"type\":");
		put_json_string(&b, r->type);
		for (int i = 0; i < r->n; i++) {
			const struct out_field *f = &r->f[i];

			if (f->flags & OUT_JSON_HIDE)
				continue;
			sb_put(&b, ",");
			put_json_string(&b, f->key);
			sb_put(&b, ":");
			render_value_json(&b, f);
		}
		if (r->overflow)
			sb_put(&b, ",\"truncated\":true");
		sb_put(&b, "}");
	} else {
		for (int i = 0; i < r->n; i++) {
			const struct out_field *f = &r->f[i];
			const char *label = f->label ? f->label : f->key;
			size_t ll = strlen(label);
			bool colon = ll && (label[ll - 1] == ':');

			if (f->flags & OUT_TEXT_HIDE)
				continue;
			if (f->flags & OUT_TEXT_NEWLINE)
				sb_put(&b, "\n  ");
			else if (!first)
				sb_put(&b, " ");
			first = false;
			if (!(f->flags & OUT_TEXT_BARE))
				sb_put(&b, colon ? "%s " : "%s=", label);
			render_value_text(&b, f, colon);
		}
	}
	return (int)b.used;
}

static void put_line(FILE *fp, const char *line)
{
	errno = 0;
	if (fprintf(fp, "%s\n", line) < 0)
		note_error();
}

void out_emit(const struct out_rec *r)
{
	char stackbuf[8192];
	int n;
	FILE *fp = out_stream();

	if (out_err || (r->event && out_quiet))
		return;
	n = out_render(r, out_json_mode, stackbuf, sizeof(stackbuf));
	if (n < (int)sizeof(stackbuf)) {
		put_line(fp, stackbuf);
		return;
	}
	char *big = malloc(n + 1);

	if (!big) {
		put_line(fp, stackbuf);
		return;
	}
	out_render(r, out_json_mode, big, n + 1);
	put_line(fp, big);
	free(big);
}
