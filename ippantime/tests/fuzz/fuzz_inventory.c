/* libFuzzer: the inventory parser must never crash, leak or accept an invalid layout. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inventory inv;
	char err[512];
	if (inv_load_buf("fuzz.yaml", (const char *)data, size, &inv, err, sizeof(err)) == 0) {
		/* what the parser accepts must be consistent */
		for (size_t i = 0; i < inv.nservers; i++)
			if (inv.servers[i].first > inv.servers[i].last ||
			    inv.base_port + inv.servers[i].last > 65535)
				abort();
	} else if (!memchr(err, ':', strlen(err))) {
		abort(); /* every error names the file (and line) */
	}
	inv_free(&inv);
	return 0;
}
