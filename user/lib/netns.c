// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <linux/nsfs.h>
#include <unistd.h>
#include "netns.h"

uint32_t netns_current_ino(void)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st))
		return 0;
	return (uint32_t)st.st_ino;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int netns_resolve(const char *spec, struct netseg_netns *out, char *err, size_t errlen)
{
	return netns_resolve_opt("--netns", spec, out, err, errlen);
}

int netns_resolve_opt(const char *opt, const char *spec, struct netseg_netns *out, char *err,
		      size_t errlen)
{
	struct stat st;
	int fd;

	memset(out, 0, sizeof(*out));
	if (!spec || !strcmp(spec, "current")) {
		snprintf(out->path, sizeof(out->path), "/proc/self/ns/net");
	} else if (!strcmp(spec, "all")) {
		return 0;
	} else if (all_digits(spec)) {
		snprintf(out->path, sizeof(out->path), "/proc/%s/ns/net", spec);
	} else if (strchr(spec, '/')) {
		snprintf(out->path, sizeof(out->path), "%s", spec);
	} else {
		/* a name as `ip netns` uses them */
		snprintf(out->path, sizeof(out->path), "/run/netns/%s", spec);
	}
	if (stat(out->path, &st)) {
		snprintf(err, errlen, "invalid %s '%s': %s: %s", opt, spec, out->path,
			 strerror(errno));
		return -1;
	}
	out->ino = (uint32_t)st.st_ino;
	/* a file that exists is not yet a network namespace */
	fd = open(out->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		int type = ioctl(fd, NS_GET_NSTYPE);

		close(fd);
		if (type >= 0 && type != CLONE_NEWNET) {
			snprintf(err, errlen, "invalid %s '%s': %s is not a network namespace", opt,
				 spec, out->path);
			return -1;
		}
	}
	return 0;
}

int netns_run_in(const struct netseg_netns *ns, int (*fn)(void *), void *arg)
{
	int self, target, rc;

	if (!ns->ino || ns->ino == netns_current_ino())
		return fn(arg);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	target = open(ns->path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || target < 0 || setns(target, CLONE_NEWNET)) {
		rc = -errno;
		goto out;
	}
	rc = fn(arg);
	if (setns(self, CLONE_NEWNET)) {
		/* running on in the wrong namespace would be worse than stopping */
		perror("netseg: returning to own network namespace");
		exit(1);
	}
out:
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
	return rc;
}
