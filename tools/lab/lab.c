// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * netseg lab: two hosts and two VMs on one machine, from real kernel
 * objects (namespaces, taps, bridges, a veth or a delay relay as the wire,
 * and a vmm-sim per VM that owns a real KVM irqfd).
 *
 *  <P>-svm (VM-S)         <P>-shost (HS)                   <P>-rhost (HR)       <P>-rvm (VM-R)
 *  eth0 198.18.0.1 <=vmm=> vnet0 -br0- phy0 ==== wire ==== phy0 -br0- vnet0 <=vmm=> eth0 198.18.0.2
 *
 * Everything is named with the prefix P, and `down` removes only names
 * it derives from P, so several labs and anything else on the machine
 * never collide. Processes are recorded in /run/netseg/lab-P/state as soon
 * as they are started, so `down` also cleans up after an `up` that died.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "lab_tap.h"
#include "lib/cli.h"
#include "../subcommands.h"

#define LAB_RUN_DIR "/run/netseg"
#define LAB_READY_TIMEOUT_MS 10000

struct lab_role {
	const char *role;     /* as users name it: lab exec vm-s */
	const char *suffix;   /* namespace: <prefix>-<suffix> */
	const char *what;
};

static const struct lab_role roles[] = {
	{ "vm-s", "svm", "sender VM (VM-S), eth0 198.18.0.1" },
	{ "hs", "shost", "sender host (HS): vnet0, br0, phy0" },
	{ "hr", "rhost", "receiver host (HR): phy0, br0, vnet0" },
	{ "vm-r", "rvm", "receiver VM (VM-R), eth0 198.18.0.2" },
};
#define N_ROLES 4
enum { R_SVM, R_SHOST, R_RHOST, R_RVM };

static const char *const vm_addr[N_ROLES] = { "198.18.0.1/24", NULL, NULL, "198.18.0.2/24" };
static const char *const vm_mac[N_ROLES] = { "02:00:c6:12:00:01", NULL, NULL, "02:00:c6:12:00:02" };

struct lab_opts {
	const char *prefix;
	bool no_kvm;
	bool json;
	bool wire_delay;
	uint64_t wire_us[2];     /* HS->HR, HR->HS */
	bool vmm_delay;
	uint64_t vmm_us[2];      /* toward the VM, from the VM */
};

/* Processes the lab starts, in the order `down` stops them. */
enum { P_VMM_S, P_VMM_R, P_RELAY, N_PROCS };
static const char *const proc_names[N_PROCS] = { "vmm-s", "vmm-r", "relay" };

static char *self_exe;

static void ns_name(const struct lab_opts *o, int r, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%s", o->prefix, roles[r].suffix);
}

static void run_dir(const struct lab_opts *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s/lab-%s", LAB_RUN_DIR, o->prefix);
}

static bool netns_exists(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return access(path, F_OK) == 0;
}

/* Run a command (argv, no shell) and wait, keeping what it printed in
 * out (may be NULL). Returns 0 when it exited 0. */
static int run_capture(const char *const *argv, char *out, size_t outlen)
{
	char buf[2048];
	int pipefd[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	close(pipefd[0]);
	buf[got] = 0;
	if (out)
		snprintf(out, outlen, "%s", buf);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Run a command (argv, no shell) and wait; what it printed reaches our
 * stderr only when it fails, so a healthy `up` is quiet. */
static int run(const char *const *argv)
{
	char out[2048];

	if (run_capture(argv, out, sizeof(out)) == 0)
		return 0;
	fprintf(stderr, "netseg lab:");
	for (int i = 0; argv[i]; i++)
		fprintf(stderr, " %s", argv[i]);
	fprintf(stderr, ": %s", out[0] ? out : "failed\n");
	if (out[0] && out[strlen(out) - 1] != '\n')
		fputc('\n', stderr);
	return -1;
}

#define RUN(...)                                                    \
	({                                                          \
		const char *const __argv[] = { __VA_ARGS__, NULL }; \
		run(__argv);                                        \
	})

/* ---- state: which processes belong to this lab ----------------------- */

struct lab_state {
	pid_t pid[N_PROCS];
	unsigned long long start[N_PROCS];  /* /proc/PID/stat start time */
	char line[512];                    /* the options `up` was given */
};

static unsigned long long proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* field 22, counted after the ")" that ends the command name */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* a zombie nobody reaped (our parent may be gone) is not running */
	if (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
		return 0;
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	return start;
}

/* A recorded pid is ours only if it still runs with the same start time:
 * never signal a pid the kernel has since given to someone else. */
static bool proc_is_ours(pid_t pid, unsigned long long start)
{
	return pid > 0 && start && proc_start_time(pid) == start;
}

static int state_write(const struct lab_opts *o, const struct lab_state *st)
{
	char dir[256], path[300], tmp[310];
	FILE *f;

	run_dir(o, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "options %s\n", st->line);
	for (int i = 0; i < N_PROCS; i++)
		if (st->pid[i])
			fprintf(f, "%s %d %llu\n", proc_names[i], st->pid[i], st->start[i]);
	if (fclose(f))
		return -errno;
	return rename(tmp, path) ? -errno : 0;
}

static int state_read(const struct lab_opts *o, struct lab_state *st)
{
	char dir[256], path[300], line[500];
	FILE *f;

	memset(st, 0, sizeof(*st));
	run_dir(o, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char name[32];
		int pid;
		unsigned long long start;

		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "options ", 8)) {
			snprintf(st->line, sizeof(st->line), "%s", line + 8);
			continue;
		}
		if (sscanf(line, "%31s %d %llu", name, &pid, &start) != 3)
			continue;
		for (int i = 0; i < N_PROCS; i++) {
			if (!strcmp(name, proc_names[i])) {
				st->pid[i] = pid;
				st->start[i] = start;
			}
		}
	}
	fclose(f);
	return 0;
}

/* ---- starting lab processes ------------------------------------------ */

static pid_t spawn_logged(const char *log, char *const argv[])
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		/* its own session: a Ctrl-C meant for `lab up` must not stop the lab */
		setsid();
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (null >= 0)
			dup2(null, 0);
		execv(self_exe, argv);
		fprintf(stderr, "cannot run %s: %s\n", self_exe, strerror(errno));
		_exit(127);
	}
	return pid;
}

static void print_log_tail(const char *log)
{
	char buf[2048];
	ssize_t n;
	int fd = open(log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		fprintf(stderr, "%s%s", buf, buf[n - 1] == '\n' ? "" : "\n");
	}
}

/* Wait until `ready` is non-empty, or the child exits, or time runs out. */
static int wait_ready(pid_t pid, const char *ready, const char *log, const char *what)
{
	struct timespec step = { 0, 20 * 1000000 };
	struct stat st;

	for (int waited = 0; waited < LAB_READY_TIMEOUT_MS; waited += 20) {
		int status;

		if (stat(ready, &st) == 0 && st.st_size > 0)
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "netseg lab: %s exited before it was ready:\n", what);
			print_log_tail(log);
			return -1;
		}
		nanosleep(&step, NULL);
	}
	fprintf(stderr, "netseg lab: %s not ready after %d s\n", what, LAB_READY_TIMEOUT_MS / 1000);
	print_log_tail(log);
	return -1;
}

static int start_proc(const struct lab_opts *o, struct lab_state *st, int which, char **argv)
{
	char dir[256], log[300], ready[300];
	pid_t pid;

	run_dir(o, dir, sizeof(dir));
	snprintf(log, sizeof(log), "%s/%s.log", dir, proc_names[which]);
	snprintf(ready, sizeof(ready), "%s/%s.ready", dir, proc_names[which]);
	unlink(ready);
	/* argv ends with "--ready-file", <slot for the path>, NULL */
	for (int i = 0; argv[i]; i++)
		if (!strcmp(argv[i], "--ready-file"))
			argv[i + 1] = ready;
	pid = spawn_logged(log, argv);
	if (pid < 0) {
		fprintf(stderr, "netseg lab: cannot start %s: %s\n", proc_names[which], strerror(-pid));
		return -1;
	}
	st->pid[which] = pid;
	st->start[which] = proc_start_time(pid);
	if (state_write(o, st))
		fprintf(stderr, "netseg lab: warning: cannot record %s's pid\n", proc_names[which]);
	return wait_ready(pid, ready, log, proc_names[which]);
}

static int start_vmm(const struct lab_opts *o, struct lab_state *st, int which, int vm, int host)
{
	char vm_ns[128], host_ns[128], to_vm[32], from_vm[32];
	char *argv[24];
	int n = 0;

	ns_name(o, vm, vm_ns, sizeof(vm_ns));
	ns_name(o, host, host_ns, sizeof(host_ns));
	snprintf(to_vm, sizeof(to_vm), "%llu", (unsigned long long)o->vmm_us[0]);
	snprintf(from_vm, sizeof(from_vm), "%llu", (unsigned long long)o->vmm_us[1]);
	argv[n++] = "netseg";
	argv[n++] = "lab";
	argv[n++] = "vmm-sim";
	argv[n++] = "--vm-netns";
	argv[n++] = vm_ns;
	argv[n++] = "--vm-if";
	argv[n++] = "eth0";
	argv[n++] = "--host-netns";
	argv[n++] = host_ns;
	argv[n++] = "--host-if";
	argv[n++] = "vnet0";
	argv[n++] = "--json";
	if (o->vmm_delay) {
		argv[n++] = "--delay-us-to-vm";
		argv[n++] = to_vm;
		argv[n++] = "--delay-us-to-host";
		argv[n++] = from_vm;
	}
	if (o->no_kvm)
		argv[n++] = "--no-kvm";
	argv[n++] = "--ready-file";
	argv[n++] = ""; /* start_proc fills in the path */
	argv[n] = NULL;
	return start_proc(o, st, which, argv);
}

static int start_relay(const struct lab_opts *o, struct lab_state *st)
{
	char a_ns[128], b_ns[128], delay[64];
	char *argv[] = { "netseg", "lab", "relay", "--a-netns", a_ns, "--a-if", "phy0",
			 "--b-netns", b_ns, "--b-if", "phy0", "--delay-us", delay, "--json",
			 "--ready-file", "", NULL };

	ns_name(o, R_SHOST, a_ns, sizeof(a_ns));
	ns_name(o, R_RHOST, b_ns, sizeof(b_ns));
	snprintf(delay, sizeof(delay), "%llu,%llu", (unsigned long long)o->wire_us[0],
		 (unsigned long long)o->wire_us[1]);
	return start_proc(o, st, P_RELAY, argv);
}

/* ---- down ------------------------------------------------------------ */

static void stop_pid(pid_t pid, unsigned long long start)
{
	struct timespec step = { 0, 20 * 1000000 };

	if (!proc_is_ours(pid, start))
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 250 && proc_is_ours(pid, start); i++) {
		waitpid(pid, NULL, WNOHANG);
		nanosleep(&step, NULL);
	}
	if (proc_is_ours(pid, start)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static int lab_down(const struct lab_opts *o, bool quiet)
{
	struct lab_state st;
	char name[128], dir[256], path[320];
	int rc = 0;

	if (state_read(o, &st) == 0)
		for (int i = 0; i < N_PROCS; i++)
			stop_pid(st.pid[i], st.start[i]);
	/* deleting a namespace takes its veths, bridges and addresses with it;
	 * the taps went with the vmm-sim and relay processes */
	for (int r = 0; r < N_ROLES; r++) {
		ns_name(o, r, name, sizeof(name));
		if (netns_exists(name) && RUN("ip", "netns", "del", name))
			rc = 1;
	}
	run_dir(o, dir, sizeof(dir));
	for (int i = 0; i < N_PROCS; i++) {
		snprintf(path, sizeof(path), "%s/%s.ready", dir, proc_names[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s.log", dir, proc_names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	unlink(path);
	rmdir(dir);
	if (!quiet && !rc)
		printf("lab '%s' is down\n", o->prefix);
	return rc;
}

/* ---- env and status -------------------------------------------------- */

static void print_env(const struct lab_opts *o, FILE *f)
{
	char ns[N_ROLES][128];

	for (int r = 0; r < N_ROLES; r++)
		ns_name(o, r, ns[r], sizeof(ns[r]));
	fprintf(f,
		"# netseg lab environment, read by `netseg measure`\n"
		"environment:\n"
		"  name: \"netseg lab %s\"\n"
		"  kind: lab\n"
		"  prefix: %s\n"
		"sender:\n"
		"  vm:\n"
		"    netns: %s\n"
		"    ip: 198.18.0.1\n"
		"    interface: eth0\n"
		"  host:\n"
		"    netns: %s\n"
		"    vnet_interface: vnet0\n"
		"    phy_interface: phy0\n"
		"receiver:\n"
		"  vm:\n"
		"    netns: %s\n"
		"    ip: 198.18.0.2\n"
		"    interface: eth0\n"
		"  host:\n"
		"    netns: %s\n"
		"    vnet_interface: vnet0\n"
		"    phy_interface: phy0\n"
		"wire:\n"
		"  kind: %s\n"
		"  delay_us: [%llu, %llu]\n"
		"vmm:\n"
		"  kvm: %s\n"
		"  delay_us_to_vm: %llu\n"
		"  delay_us_from_vm: %llu\n",
		o->prefix, o->prefix, ns[R_SVM], ns[R_SHOST], ns[R_RVM], ns[R_RHOST],
		o->wire_delay ? "relay" : "veth", (unsigned long long)o->wire_us[0],
		(unsigned long long)o->wire_us[1], o->no_kvm ? "false" : "true",
		(unsigned long long)o->vmm_us[0], (unsigned long long)o->vmm_us[1]);
}

/* `up` records its options so env/status describe the lab as it is. */
static void options_line(const struct lab_opts *o, char *buf, size_t len)
{
	snprintf(buf, len, "wire=%d:%llu,%llu vmm=%d:%llu,%llu kvm=%d", o->wire_delay,
		 (unsigned long long)o->wire_us[0], (unsigned long long)o->wire_us[1], o->vmm_delay,
		 (unsigned long long)o->vmm_us[0], (unsigned long long)o->vmm_us[1], !o->no_kvm);
}

static void options_from_line(struct lab_opts *o, const char *line)
{
	int wire, vmm, kvm;
	unsigned long long w0, w1, v0, v1;

	if (sscanf(line, "wire=%d:%llu,%llu vmm=%d:%llu,%llu kvm=%d", &wire, &w0, &w1, &vmm, &v0,
		   &v1, &kvm) == 7) {
		o->wire_delay = wire;
		o->wire_us[0] = w0;
		o->wire_us[1] = w1;
		o->vmm_delay = vmm;
		o->vmm_us[0] = v0;
		o->vmm_us[1] = v1;
		o->no_kvm = !kvm;
	}
}

static int lab_status(struct lab_opts *o)
{
	struct lab_state st;
	bool have_state = state_read(o, &st) == 0, healthy = have_state;
	char name[128];
	int n_ns = 0;

	if (have_state)
		options_from_line(o, st.line);
	if (o->json)
		printf("{\"type\":\"lab_status\",\"prefix\":\"%s\",\"roles\":[", o->prefix);
	else
		printf("lab '%s'\n", o->prefix);
	for (int r = 0; r < N_ROLES; r++) {
		bool there;

		ns_name(o, r, name, sizeof(name));
		there = netns_exists(name);
		n_ns += there;
		healthy &= there;
		if (o->json)
			printf("%s{\"role\":\"%s\",\"netns\":\"%s\",\"present\":%s}", r ? "," : "",
			       roles[r].role, name, there ? "true" : "false");
		else
			printf("  %-5s %-22s %-8s %s\n", roles[r].role, name, there ? "up" : "missing",
			       roles[r].what);
	}
	if (o->json)
		printf("],\"processes\":[");
	for (int i = 0, first = 1; i < N_PROCS; i++) {
		bool alive;

		if (!have_state || !st.pid[i])
			continue;
		alive = proc_is_ours(st.pid[i], st.start[i]);
		healthy &= alive;
		if (o->json)
			printf("%s{\"name\":\"%s\",\"pid\":%d,\"alive\":%s}", first ? "" : ",",
			       proc_names[i], st.pid[i], alive ? "true" : "false");
		else
			printf("  %-5s pid %-8d %s\n", proc_names[i], st.pid[i],
			       alive ? "running" : "GONE");
		first = 0;
	}
	if (o->json) {
		printf("],\"up\":%s,\"healthy\":%s}\n", n_ns ? "true" : "false",
		       healthy ? "true" : "false");
	} else {
		if (have_state)
			printf("  wire  %s, delay %llu/%llu us; vmm delay %llu/%llu us; kvm %s\n",
			       o->wire_delay ? "relay" : "veth", (unsigned long long)o->wire_us[0],
			       (unsigned long long)o->wire_us[1], (unsigned long long)o->vmm_us[0],
			       (unsigned long long)o->vmm_us[1], o->no_kvm ? "off" : "on");
		printf("%s\n", !n_ns ? "not up" : healthy ? "healthy" : "DEGRADED (netseg lab down, then up)");
	}
	return healthy ? 0 : (n_ns ? 1 : 3);
}

/* ---- up -------------------------------------------------------------- */

static int in_ns(const char *ns, const char *const *argv)
{
	const char *full[32] = { "ip", "netns", "exec", ns };
	int n = 4;

	for (int i = 0; argv[i] && n < 31; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	return run(full);
}

#define IN_NS(ns, ...)                                              \
	({                                                          \
		const char *const __argv[] = { __VA_ARGS__, NULL }; \
		in_ns(ns, __argv);                                  \
	})

static int build_host(const struct lab_opts *o, int host)
{
	char ns[128];

	ns_name(o, host, ns, sizeof(ns));
	/* STP off (the default) forwards from the first frame: no 15 s wait */
	if (RUN("ip", "-n", ns, "link", "add", "br0", "type", "bridge") ||
	    RUN("ip", "-n", ns, "link", "set", "vnet0", "master", "br0") ||
	    RUN("ip", "-n", ns, "link", "set", "phy0", "master", "br0") ||
	    RUN("ip", "-n", ns, "link", "set", "vnet0", "up") ||
	    RUN("ip", "-n", ns, "link", "set", "phy0", "up") ||
	    RUN("ip", "-n", ns, "link", "set", "br0", "up"))
		return -1;
	return 0;
}

/* A new bridge port forwards only once the kernel has processed its
 * carrier change (linkwatch: up to a second later). Until then the bridge
 * drops frames (BRIDGE_INGRESS_STP_STATE): the first ARP of a ping would
 * vanish and cost a 1 s retry. `up` returns only when every port forwards. */
static int wait_forwarding(const struct lab_opts *o)
{
	static const char *const ports[] = { "vnet0", "phy0" };
	struct timespec step = { 0, 20 * 1000000 };
	char ns[128], out[2048];

	for (int waited = 0; waited < 5000; waited += 20) {
		bool all = true;

		for (int h = R_SHOST; h <= R_RHOST && all; h++) {
			ns_name(o, h, ns, sizeof(ns));
			for (int i = 0; i < 2 && all; i++) {
				const char *const argv[] = { "bridge", "-n", ns, "link", "show", "dev",
							     ports[i], NULL };

				all = run_capture(argv, out, sizeof(out)) == 0 &&
				      strstr(out, "state forwarding");
			}
		}
		if (all)
			return 0;
		nanosleep(&step, NULL);
	}
	fprintf(stderr, "netseg lab: bridge ports not forwarding after 5 s\n");
	return -1;
}

static int build_vm(const struct lab_opts *o, int vm)
{
	char ns[128];

	ns_name(o, vm, ns, sizeof(ns));
	if (RUN("ip", "-n", ns, "link", "set", "eth0", "address", vm_mac[vm]) ||
	    RUN("ip", "-n", ns, "addr", "add", vm_addr[vm], "dev", "eth0") ||
	    RUN("ip", "-n", ns, "link", "set", "eth0", "up"))
		return -1;
	return 0;
}

static int lab_up(const struct lab_opts *o)
{
	struct lab_state st = { 0 };
	char name[128], dir[256];

	for (int r = 0; r < N_ROLES; r++) {
		ns_name(o, r, name, sizeof(name));
		if (netns_exists(name)) {
			fprintf(stderr, "netseg lab: lab '%s' exists already (namespace %s); run 'netseg lab down --prefix %s' first\n",
				o->prefix, name, o->prefix);
			return 1;
		}
	}
	if (access("/dev/net/tun", R_OK | W_OK)) {
		fprintf(stderr, "netseg lab: /dev/net/tun is not usable (%s); the lab needs tap devices\n",
			strerror(errno));
		return 1;
	}
	if (!o->no_kvm && access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "netseg lab: /dev/kvm is not usable (%s); use --no-kvm to run without it (the KVM interrupt stages will then be missing)\n",
			strerror(errno));
		return 1;
	}
	if (o->no_kvm)
		fprintf(stderr, "netseg lab: --no-kvm: no KVM irqfd, so tun_tx_to_kvm_irq's injection stage will have nothing to see\n");
	run_dir(o, dir, sizeof(dir));
	if ((mkdir(LAB_RUN_DIR, 0755) && errno != EEXIST) || (mkdir(dir, 0755) && errno != EEXIST)) {
		fprintf(stderr, "netseg lab: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
	}
	options_line(o, st.line, sizeof(st.line));
	state_write(o, &st);

	for (int r = 0; r < N_ROLES; r++) {
		ns_name(o, r, name, sizeof(name));
		if (RUN("ip", "netns", "add", name) || RUN("ip", "-n", name, "link", "set", "lo", "up"))
			goto fail;
		/* IPv6 autoconfiguration would add its own packets to every trace */
		IN_NS(name, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1");
		IN_NS(name, "sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1");
	}
	if (start_vmm(o, &st, P_VMM_S, R_SVM, R_SHOST) || start_vmm(o, &st, P_VMM_R, R_RVM, R_RHOST))
		goto fail;
	if (o->wire_delay) {
		if (start_relay(o, &st))
			goto fail;
	} else {
		char a[128], b[128];

		ns_name(o, R_SHOST, a, sizeof(a));
		ns_name(o, R_RHOST, b, sizeof(b));
		if (RUN("ip", "link", "add", "phy0", "netns", a, "type", "veth", "peer", "name", "phy0",
			"netns", b))
			goto fail;
	}
	if (build_host(o, R_SHOST) || build_host(o, R_RHOST) || build_vm(o, R_SVM) ||
	    build_vm(o, R_RVM) || wait_forwarding(o))
		goto fail;
	print_env(o, stdout);
	return 0;
fail:
	fprintf(stderr, "netseg lab: 'up' failed; removing what it made\n");
	lab_down(o, true);
	return 1;
}

/* ---- command line ---------------------------------------------------- */

static const char lab_usage[] =
	"Usage: netseg lab COMMAND [OPTIONS]\n"
	"\n"
	"Two hosts and two VMs on this machine from real devices: namespaces, taps,\n"
	"bridges, a veth wire (or a relay with a programmed delay) and a vmm-sim per\n"
	"VM that owns a real KVM irqfd and signals it for every batch toward the VM.\n"
	"\n"
	"Commands:\n"
	"  up [--wire-delay-us N[,M]] [--vmm-delay-us N[,M]] [--no-kvm] [--prefix P]\n"
	"                 build the lab; prints the environment file\n"
	"  down [--prefix P]      remove everything the lab with prefix P made\n"
	"  status [--prefix P] [--json]\n"
	"  exec [--prefix P] ROLE -- CMD [ARGS...]   run CMD in a role's namespace\n"
	"  env [--prefix P]       print the environment file `netseg measure` reads\n"
	"\n"
	"Roles: vm-s (198.18.0.1), hs, hr, vm-r (198.18.0.2). Namespaces are named\n"
	"P-svm, P-shost, P-rhost, P-rvm; the default prefix is 'netseg'.\n"
	"--wire-delay-us N,M holds frames N us from HS to HR and M us back (M = N\n"
	"when omitted); --vmm-delay-us N,M delays frames toward / from each VM.\n"
	"Options go before or after ROLE, as --opt V or --opt=V; everything after\n"
	"-- is CMD's own (its options are never read as the lab's).\n"
	"\n"
	"EXAMPLES:\n"
	"  sudo netseg lab up\n"
	"  sudo netseg lab exec vm-s -- ping -c 20 198.18.0.2\n"
	"  sudo netseg lab up --prefix slow --wire-delay-us 2000\n"
	"  sudo netseg lab status --prefix slow\n"
	"  sudo netseg lab down --prefix slow\n";

static void parse_pair(const char *what, const char *s, uint64_t out[2])
{
	char err[256], a[32];
	const char *comma = strchr(s, ',');

	if (!comma) {
		if (cli_parse_u64(what, s, 0, 10000000, &out[0], err, sizeof(err)))
			cli_usage_error("%s", err);
		out[1] = out[0];
		return;
	}
	if ((size_t)(comma - s) >= sizeof(a))
		cli_usage_error("invalid %s '%s': expected N or N,M microseconds", what, s);
	memcpy(a, s, comma - s);
	a[comma - s] = 0;
	if (cli_parse_u64(what, a, 0, 10000000, &out[0], err, sizeof(err)) ||
	    cli_parse_u64(what, comma + 1, 0, 10000000, &out[1], err, sizeof(err)))
		cli_usage_error("invalid %s '%s': expected N or N,M microseconds (0..10000000)", what,
				s);
}

static void check_prefix(const char *p)
{
	size_t n = strlen(p);

	if (!n || n > 24)
		cli_usage_error("invalid --prefix '%s': 1 to 24 characters", p);
	for (const char *c = p; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_'))
			cli_usage_error("invalid --prefix '%s': letters, digits and '_' only", p);
}

static int role_index(const char *role)
{
	for (int r = 0; r < N_ROLES; r++)
		if (!strcmp(role, roles[r].role))
			return r;
	cli_usage_error("unknown role '%s': expected vm-s, hs, hr or vm-r", role);
}

/* The value of option `name` at argv[*i], given as "--name V" or
 * "--name=V" (both are what getopt users type); NULL when argv[*i] is some
 * other option. Advances *i past a separate value. */
static const char *opt_value(const char *cmd, int argc, char **argv, int *i, const char *name)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n])
		return NULL;
	if (*i + 1 >= argc)
		cli_usage_error("%s: %s needs a value (see netseg lab --help)", cmd, name);
	return argv[++*i];
}

int lab_main(int argc, char **argv)
{
	struct lab_opts o = { .prefix = "netseg" };
	const char *cmd, *v;
	int role = -1, cmd_at = argc, i;

	cli_set_tool("netseg lab");
	self_exe = realpath("/proc/self/exe", NULL);
	if (argc < 2) {
		fputs(lab_usage, stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(lab_usage, stdout);
		return 0;
	}
	/* the lab's own processes, started by `up` */
	if (!strcmp(cmd, "vmm-sim"))
		return lab_vmm_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "relay"))
		return lab_relay_main(argc - 1, argv + 1);
	if (strcmp(cmd, "up") && strcmp(cmd, "down") && strcmp(cmd, "status") &&
	    strcmp(cmd, "exec") && strcmp(cmd, "env"))
		cli_usage_error("unknown command '%s' (see netseg lab --help)", cmd);

	/* Options may come before or after exec's ROLE, as getopt permutes
	 * them; but "--" ends lab's own options for good, so CMD's options
	 * (ping -c 3, ip -o) reach CMD untouched. Nothing after "--" is read
	 * here, so CMD needs no quoting. */
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			cmd_at = i + 1;
			break;
		} else if ((v = opt_value(cmd, argc, argv, &i, "--prefix"))) {
			o.prefix = v;
			check_prefix(o.prefix);
		} else if (!strcmp(a, "--json")) {
			o.json = true;
		} else if (!strcmp(cmd, "up") && !strcmp(a, "--no-kvm")) {
			o.no_kvm = true;
		} else if (!strcmp(cmd, "up") &&
			   (v = opt_value(cmd, argc, argv, &i, "--wire-delay-us"))) {
			parse_pair("--wire-delay-us", v, o.wire_us);
			o.wire_delay = true;
		} else if (!strcmp(cmd, "up") &&
			   (v = opt_value(cmd, argc, argv, &i, "--vmm-delay-us"))) {
			parse_pair("--vmm-delay-us", v, o.vmm_us);
			o.vmm_delay = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(lab_usage, stdout);
			return 0;
		} else if (!strcmp(cmd, "exec") && role < 0 && (a[0] != '-' || !a[1])) {
			role = role_index(a);
		} else if (!strcmp(cmd, "exec") && role >= 0 && a[0] != '-') {
			/* without "--" we could not tell CMD's options from ours */
			cli_usage_error("exec %s: unexpected '%s': the command goes after -- (netseg lab exec ROLE -- CMD ...)",
					roles[role].role, a);
		} else {
			cli_usage_error("%s: unexpected '%s' (see netseg lab --help)", cmd, a);
		}
	}
	/* usage errors before the root check: they are the same for everyone */
	if (strcmp(cmd, "exec") && cmd_at < argc)
		cli_usage_error("%s: unexpected '%s' (see netseg lab --help)", cmd, argv[cmd_at]);
	if (!strcmp(cmd, "exec") && role < 0)
		cli_usage_error("exec needs a role: vm-s, hs, hr or vm-r");
	if (!strcmp(cmd, "exec") && cmd_at >= argc)
		cli_usage_error("exec %s: no command given (netseg lab exec ROLE -- CMD ...)",
				roles[role].role);
	if (strcmp(cmd, "env") && geteuid() != 0) {
		fprintf(stderr, "netseg lab: needs root (namespaces, taps, KVM); run it with sudo\n");
		return 1;
	}
	if (!strcmp(cmd, "up"))
		return lab_up(&o);
	if (!strcmp(cmd, "down"))
		return lab_down(&o, false);
	if (!strcmp(cmd, "status"))
		return lab_status(&o);
	if (!strcmp(cmd, "env")) {
		struct lab_state st;

		if (state_read(&o, &st) == 0)
			options_from_line(&o, st.line);
		print_env(&o, stdout);
		return 0;
	}
	/* exec */
	{
		char ns[128];
		const char **full = calloc(argc - cmd_at + 5, sizeof(char *));
		int n = 0;

		if (!full) {
			fprintf(stderr, "netseg lab: out of memory\n");
			return 1;
		}
		ns_name(&o, role, ns, sizeof(ns));
		if (!netns_exists(ns)) {
			fprintf(stderr, "netseg lab: namespace %s does not exist (is lab '%s' up?)\n", ns,
				o.prefix);
			return 1;
		}
		full[n++] = "ip";
		full[n++] = "netns";
		full[n++] = "exec";
		full[n++] = ns;
		for (i = cmd_at; i < argc; i++)
			full[n++] = argv[i];
		execvp("ip", (char *const *)full);
		fprintf(stderr, "netseg lab: cannot run ip: %s\n", strerror(errno));
		return 127;
	}
}
