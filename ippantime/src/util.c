#include "common.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void ipt_err(const char *fmt, ...)
{
	va_list ap;
	fputs("ippantime: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ipt_getopt_error(const char *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";
	if (c == ':')
		ipt_err("%s: option '%s' needs a value (see ippantime %s --help)", cmd, arg, cmd);
	else
		ipt_err("%s: unknown option '%s' (see ippantime %s --help)", cmd, arg, cmd);
	return IPT_EXIT_USAGE;
}

int64_t ipt_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t ipt_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void oom(void)
{
	fputs("ippantime: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		oom();
	va_end(ap);
	return p;
}

int ipt_parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;
	if (!s || !*s || (*s != '-' && *s != '+' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int ipt_parse_int_range(const char *s, long lo, long hi, long *out)
{
	int64_t v;
	if (ipt_parse_i64(s, &v) || v < lo || v > hi)
		return -1;
	*out = (long)v;
	return 0;
}

int ipt_parse_double(const char *s, double *out)
{
	char *end;
	double v;
	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

void sb_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		while (nc < b->len + n + 1)
			nc *= 2;
		b->p = xrealloc(b->p, nc);
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void sb_puts(struct strbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

void sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;
	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	sb_add(b, p, (size_t)n);
	free(p);
}

void sb_free(struct strbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

char *ipt_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct strbuf b = {0};
	char buf[65536];
	size_t n;
	if (!f)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_add(&b, buf, n);
	if (ferror(f)) {
		int e = errno;
		fclose(f);
		sb_free(&b);
		errno = e;
		return NULL;
	}
	fclose(f);
	if (!b.p)
		sb_add(&b, "", 0);
	if (len)
		*len = b.len;
	return b.p;
}

int ipt_write_file(const char *path, const char *data, size_t len)
{
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	FILE *f = fopen(tmp, "wb");
	int e;
	if (!f) {
		e = errno;
		free(tmp);
		errno = e;
		return -1;
	}
	if (fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		e = errno;
		unlink(tmp);
		free(tmp);
		errno = e;
		return -1;
	}
	if (rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		free(tmp);
		errno = e;
		return -1;
	}
	free(tmp);
	return 0;
}
