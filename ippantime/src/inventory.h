/* inventory.yaml: hosts, port layout and probe settings, with defaults for every key. */
#ifndef IPT_INVENTORY_H
#define IPT_INVENTORY_H
#include <stddef.h>

struct inv_host {
	char *name, *host, *ssh_user;
	long ssh_port;
	long first, last; /* node_index_range, servers only */
	int line;
};

struct inv_target {
	char *node, *url;
	int line;
};

struct inventory {
	char *path;
	struct inv_host *servers;
	size_t nservers;
	struct inv_host *probes; /* the `threadrippers` list */
	size_t nprobes;
	long base_port;
	char *status_path;
	char *field;
	double timeout_sec;
	long samples;
	long interval_ms;
	struct inv_target *explicit_targets;
	size_t nexplicit;
};

/* On error returns -1 and writes one line "FILE:LINE: message" into err. */
int inv_load(const char *path, struct inventory *inv, char *err, size_t errlen);
int inv_load_buf(const char *name, const char *buf, size_t len, struct inventory *inv,
		 char *err, size_t errlen);
void inv_defaults(struct inventory *inv);
void inv_free(struct inventory *inv);

#endif
