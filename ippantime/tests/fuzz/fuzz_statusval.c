/* libFuzzer: the /status value parser on arbitrary bodies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "statusval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t v = 0;
	enum ipt_vres r = ipt_status_value((const char *)data, size, "ippan_time_us", &v);
	if (r != IPT_V_OK && r != IPT_V_BAD_JSON && r != IPT_V_MISSING && r != IPT_V_BAD_VALUE)
		abort();
	if (!ipt_vres_name(r)[0])
		abort();
	return 0;
}
