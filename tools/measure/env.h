/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * netseg measure: the environment file (the seed's ENV.yaml, plus
 * `transport` and per-role `sudo`), parsed and validated. Every value that
 * will reach a command line is checked here, before anything runs: a
 * hostile value is refused with one line naming the key.
 */
#ifndef NETSEG_MEASURE_ENV_H
#define NETSEG_MEASURE_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum env_transport {
	ENV_TRANSPORT_SSH = 0,   /* the default */
	ENV_TRANSPORT_LAB,       /* roles are `netseg lab` namespaces */
};

/* The four roles, in the order the seed names them. */
enum env_role {
	ENV_SENDER_VM = 0,
	ENV_SENDER_HOST,
	ENV_RECEIVER_VM,
	ENV_RECEIVER_HOST,
	ENV_N_ROLES,
};

struct env_role_cfg {
	char ssh[256];           /* user@host or host (ssh); "" with transport lab */
	char netns[64];          /* transport lab: the role's namespace (e.g. P-svm) */
	char ip[16];             /* VMs: dotted IPv4 */
	char vnet[16];           /* hosts: the VM's tap */
	char phy[16];            /* hosts: the physical NIC */
	bool sudo;               /* prefix remote commands with `sudo -n` (default true) */
};

struct env_cfg {
	char name[128];
	enum env_transport transport;
	char lab_prefix[32];     /* transport lab: the lab's prefix */
	struct env_role_cfg role[ENV_N_ROLES];
	/* tools: the directory on each target where the static tracers go
	 * (default /tmp/netseg-<version>) */
	char tools_dir[256];
	double duration_s;       /* measurement.duration: a bound on the run */
	unsigned ping_count;     /* measurement.ping_count */
	double ping_interval_s;  /* measurement.ping_interval (default 0.2) */
};

/*
 * Parse and validate. Returns 0, or -1 with one line in err naming the
 * file, the key and what is wrong ("env.yaml: sender.host.vnet_interface:
 * 'vnet0;rm' is not an interface name"). Rules:
 *  - interface names: 1..15 of [A-Za-z0-9_.-], not "." or "..";
 *  - ip: a dotted IPv4 address, canonical;
 *  - ssh: [user@]host with user [a-z_][a-z0-9_-]*, host a DNS name or an
 *    IPv4 address; never starting with '-';
 *  - paths: absolute, of [A-Za-z0-9_./+-], no "..";
 *  - netns / prefix / name: [A-Za-z0-9_.-] (name may hold spaces);
 *  - numbers in range: ping_count 1..100000, duration 1..86400 s.
 * Unknown keys are errors too (a typo must not pass silently).
 */
int env_load(const char *path, struct env_cfg *cfg, char *err, size_t errlen);

/* The same validators, for the unit tests and for values from elsewhere. */
bool env_valid_ifname(const char *s);
bool env_valid_ipv4(const char *s);
bool env_valid_ssh_target(const char *s);
bool env_valid_path(const char *s);
bool env_valid_word(const char *s);

const char *env_role_name(enum env_role r); /* "sender-vm", "sender-host", ... */

#endif /* NETSEG_MEASURE_ENV_H */
