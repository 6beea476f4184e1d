/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small helpers shared by the vmtest programs (header only: the Makefile
 * builds every tests/vmtest/<n>.c as its own program). */
#ifndef NETSEG_VMTEST_UTIL_H
#define NETSEG_VMTEST_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Write one line to `path` so that a reader polling for a non-empty file
 * never sees half of it: write a sibling, then rename over. */
static inline int vmt_ready_file(const char *tool, const char *path, const char *line)
{
	char tmp[4096];
	FILE *f;

	if (!path)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "%s\n", line) < 0 || fclose(f) || rename(tmp, path)) {
		fprintf(stderr, "%s: cannot write --ready-file '%s': %s\n", tool, path,
			strerror(errno));
		return -1;
	}
	return 0;
}

static inline double vmt_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
