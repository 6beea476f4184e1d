/* The probe CSV: writing rows the way Python's csv module did, and reading them back. */
#ifndef IPT_CSVIO_H
#define IPT_CSVIO_H
#include <stddef.h>

#include "common.h"

#define IPT_CSV_NCOLS 13
extern const char *const ipt_csv_cols[IPT_CSV_NCOLS];
/* Ours, appended after the 13 original columns (never between them, so the original's readers
 * keep working): the error word, the honest interval, the mid-point method of the row, and the
 * kernel's stamps (status_ts) when it had them. */
#define IPT_CSV_NEXTRA 8
extern const char *const ipt_csv_extra[IPT_CSV_NEXTRA];

/* Append one field, quoted only when it holds a comma, quote, CR or LF. */
void csv_field(struct strbuf *b, const char *s, int first);
void csv_end_row(struct strbuf *b); /* CRLF, as csv.writer's default dialect */
void csv_header(struct strbuf *b);

struct csv_reader {
	const char *p, *end;
	size_t line; /* line where the next record starts, 1-based */
};
struct csv_row {
	char **f;
	size_t n, cap;
};

void csv_reader_init(struct csv_reader *r, const char *buf, size_t len);
/* 1: a record in row, 0: end of input, -1: unterminated quoted field. */
int csv_next(struct csv_reader *r, struct csv_row *row);
void csv_row_free(struct csv_row *row);

#endif
