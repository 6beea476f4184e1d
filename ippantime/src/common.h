/* Small helpers shared by every ippantime source file. */
#ifndef IPT_COMMON_H
#define IPT_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define IPT_VERSION "1.0.0"

/* Exit codes: 0 ok, 1 measured problem (miss, failed probe), 2 usage or bad input. */
enum { IPT_EXIT_OK = 0, IPT_EXIT_FAIL = 1, IPT_EXIT_USAGE = 2 };

void ipt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line for getopt's '?' (unknown option) or ':' (missing value); returns exit code 2. */
int ipt_getopt_error(const char *cmd, int c, char **argv);

int64_t ipt_wall_ns(void);
int64_t ipt_mono_ns(void);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whole-string decimal parsers with range checks; return 0 on success. */
int ipt_parse_i64(const char *s, int64_t *out);
int ipt_parse_int_range(const char *s, long lo, long hi, long *out);
int ipt_parse_double(const char *s, double *out);

struct strbuf {
	char *p;
	size_t len, cap;
};
void sb_add(struct strbuf *b, const char *s, size_t n);
void sb_puts(struct strbuf *b, const char *s);
void sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_free(struct strbuf *b);

/* Read a whole file into a NUL-terminated buffer; NULL + errno on failure. */
char *ipt_read_file(const char *path, size_t *len);
/* Write atomically (tmp + rename) so a reader never sees half a report. */
int ipt_write_file(const char *path, const char *data, size_t len);

#endif
