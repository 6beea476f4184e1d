/* libFuzzer: the CSV reader; anything it reads must survive a write/read round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csvio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_reader r, r2;
	struct csv_row row = {0}, row2 = {0};
	/* a NUL inside a field truncates it as a C string: no round trip check then */
	int embedded_nul = memchr(data, 0, size) != NULL;
	csv_reader_init(&r, (const char *)data, size);
	while (csv_next(&r, &row) == 1) {
		struct strbuf b = {0};
		for (size_t i = 0; i < row.n; i++)
			csv_field(&b, row.f[i], i == 0);
		csv_end_row(&b);
		csv_reader_init(&r2, b.p, b.len);
		if (!embedded_nul) {
			if (csv_next(&r2, &row2) != 1 || row2.n != row.n)
				abort();
			for (size_t i = 0; i < row.n; i++)
				if (strcmp(row.f[i], row2.f[i]))
					abort();
		}
		sb_free(&b);
	}
	csv_row_free(&row);
	csv_row_free(&row2);
	return 0;
}
