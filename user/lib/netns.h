/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --netns PATH|PID|NAME|current|all: which network namespace a tracer
 * watches. The BPF side compares the device's namespace inode. */
#ifndef NETSEG_NETNS_H
#define NETSEG_NETNS_H

#include <stdint.h>
#include <stddef.h>

struct netseg_netns {
	uint32_t ino;        /* 0: all namespaces */
	char path[256];      /* a file naming the namespace, "" for all */
};

/* Returns 0, or -1 with a one-line reason in err naming `spec`. */
int netns_resolve(const char *spec, struct netseg_netns *out, char *err, size_t errlen);
/* The same, naming `opt` in the error (e.g. "--vm-netns"). */
int netns_resolve_opt(const char *opt, const char *spec, struct netseg_netns *out, char *err,
		      size_t errlen);
uint32_t netns_current_ino(void);

/* Run `fn` inside the namespace (for interface names that live there),
 * then return to the current one. */
int netns_run_in(const struct netseg_netns *ns, int (*fn)(void *), void *arg);

#endif /* NETSEG_NETNS_H */
