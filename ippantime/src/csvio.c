#include "csvio.h"

#include <stdlib.h>
#include <string.h>

const char *const ipt_csv_cols[IPT_CSV_NCOLS] = {
	"probe", "sample_idx", "node", "url", "ok", "t0_wall_ns", "t1_wall_ns", "rtt_ms",
	"mid_wall_us", "ippan_time_us", "offset_us", "jitter_us", "monotonic_backwards",
};

const char *const ipt_csv_extra[IPT_CSV_NEXTRA] = {
	"error", "t_sent_wall_ns", "t_first_byte_wall_ns", "midpoint",
	"k_t0_wall_ns", "k_t1_wall_ns", "k_rtt_us", "k_offset_us",
};

void csv_field(struct strbuf *b, const char *s, int first)
{
	if (!first)
		sb_add(b, ",", 1);
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		sb_puts(b, s);
		return;
	}
	sb_add(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"')
			sb_add(b, "\"", 1);
		sb_add(b, s, 1);
	}
	sb_add(b, "\"", 1);
}

void csv_end_row(struct strbuf *b)
{
	sb_add(b, "\r\n", 2);
}

void csv_header(struct strbuf *b)
{
	for (int i = 0; i < IPT_CSV_NCOLS; i++)
		csv_field(b, ipt_csv_cols[i], i == 0);
	for (int i = 0; i < IPT_CSV_NEXTRA; i++)
		csv_field(b, ipt_csv_extra[i], 0);
	csv_end_row(b);
}

void csv_reader_init(struct csv_reader *r, const char *buf, size_t len)
{
	r->p = buf;
	r->end = buf + len;
	r->line = 1;
}

static void row_push(struct csv_row *row, struct strbuf *cell)
{
	if (row->n == row->cap) {
		row->cap = row->cap ? row->cap * 2 : 16;
		row->f = xrealloc(row->f, row->cap * sizeof(*row->f));
	}
	row->f[row->n++] = cell->p ? cell->p : xstrdup("");
	memset(cell, 0, sizeof(*cell));
}

int csv_next(struct csv_reader *r, struct csv_row *row)
{
	struct strbuf cell = {0};
	int quoted = 0, any = 0;

	for (size_t i = 0; i < row->n; i++)
		free(row->f[i]);
	row->n = 0;
	if (r->p >= r->end)
		return 0;
	while (r->p < r->end) {
		char ch = *r->p++;
		any = 1;
		if (quoted) {
			if (ch == '"') {
				if (r->p < r->end && *r->p == '"') {
					sb_add(&cell, "\"", 1);
					r->p++;
				} else {
					quoted = 0;
				}
			} else {
				if (ch == '\n')
					r->line++;
				sb_add(&cell, &ch, 1);
			}
		} else if (ch == '"' && cell.len == 0) {
			quoted = 1;
		} else if (ch == ',') {
			row_push(row, &cell);
		} else if (ch == '\r' && r->p < r->end && *r->p == '\n') {
			continue; /* CR of CRLF: the LF ends the record */
		} else if (ch == '\n') {
			r->line++;
			row_push(row, &cell);
			return 1;
		} else {
			sb_add(&cell, &ch, 1);
		}
	}
	if (quoted) {
		sb_free(&cell);
		return -1;
	}
	if (any)
		row_push(row, &cell);
	return 1;
}

void csv_row_free(struct csv_row *row)
{
	for (size_t i = 0; i < row->n; i++)
		free(row->f[i]);
	free(row->f);
	memset(row, 0, sizeof(*row));
}
