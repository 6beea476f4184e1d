// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* netseg lab vmm-sim (being written). */
#include <stdio.h>
#include "lab_tap.h"

int lab_vmm_main(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "%s: not implemented yet\n", argv[0]);
	return 1;
}
