// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * netseg measure ENV.yaml: the seed's measurement workflow as one command.
 * Six tracers started in the seed's order (receivers first), each awaited
 * through its ready record, VM-S pings VM-R, every tracer stopped with
 * SIGINT by its pid (summaries kept), the six logs collected under the
 * seed's names, analyzed. Anything failing on the way stops everything
 * already started, keeps what was logged, and names the role and step.
 *
 * Transports: "lab" (the roles are `netseg lab` namespaces on this machine;
 * every argument is a separate argv entry, never a shell string) and "ssh"
 * (OpenSSH, one quoted command string per remote step; see below).
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "env.h"
#include "../analyze/analyze.h"
#include "../subcommands.h"
#include "lib/cli.h"

#define READY_TIMEOUT_S 20
#define STOP_TIMEOUT_S 10

/* One tracer of the workflow. */
struct step {
	enum env_role role;
	const char *file;          /* the seed's log name */
	enum an_role an;           /* which log of the analyzer it is */
	const char *tool;
	pid_t pid;
	char log[PATH_MAX], ready[PATH_MAX], err[PATH_MAX];
};

static struct step steps[] = {
	{ ENV_RECEIVER_VM, "sfsvm-recv.log", AN_RECEIVER_VM, "kernel_icmp_rtt", 0, "", "", "" },
	{ ENV_RECEIVER_HOST, "host-recv.log", AN_RECEIVER_HOST, "icmp_drop_detector", 0, "", "", "" },
	{ ENV_RECEIVER_HOST, "vhost-recv-request.log", AN_RECEIVER_VHOST, "tun_tx_to_kvm_irq", 0, "", "", "" },
	{ ENV_SENDER_HOST, "host-send.log", AN_SENDER_HOST, "icmp_drop_detector", 0, "", "", "" },
	{ ENV_SENDER_HOST, "vhost-send-reply.log", AN_SENDER_VHOST, "tun_tx_to_kvm_irq", 0, "", "", "" },
	{ ENV_SENDER_VM, "sfsvm-send.log", AN_SENDER_VM, "kernel_icmp_rtt", 0, "", "", "" },
};
#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

static struct {
	const char *env_path, *out, *compare;
	long count;
	double duration, interval;
	bool json;
	struct env_cfg cfg;
	char bindir[PATH_MAX];
	bool tty;
} m = { .count = -1, .duration = -1, .interval = -1 };

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	if (m.json)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- running things in a role (lab transport) ---------------------------- */

/* argv for CMD in the role: `ip netns exec NS CMD...` */
static int role_argv(enum env_role r, const char **cmd, const char **out, int max)
{
	int n = 0;

	out[n++] = "ip";
	out[n++] = "netns";
	out[n++] = "exec";
	out[n++] = m.cfg.role[r].netns;
	for (int i = 0; cmd[i] && n < max - 1; i++)
		out[n++] = cmd[i];
	out[n] = NULL;
	return n;
}

/* Start argv with stdout into `out` and stderr into `err`; the child gets
 * the default signal dispositions (a tracer must see SIGINT). */
static pid_t spawn(const char **argv, const char *out, const char *err)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int o = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int e = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		setpgid(0, 0); /* a terminal's Ctrl-C goes to us; we stop them in order */
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static bool alive(pid_t pid)
{
	return pid > 0 && waitpid(pid, NULL, WNOHANG) == 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* SIGINT, then wait; SIGKILL only when it does not end (summaries lost). */
static int stop(pid_t pid)
{
	int status = 0;

	if (pid <= 0)
		return 0;
	kill(pid, SIGINT);
	for (int i = 0; i < STOP_TIMEOUT_S * 20; i++) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid || (w < 0 && errno == ECHILD))
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		sleep_ms(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 128 + SIGKILL;
}

static bool ssh_mode(void)
{
	return m.cfg.transport == ENV_TRANSPORT_SSH;
}

static void ssh_stop(struct step *s);

static void stop_all(void)
{
	for (int i = (int)N_STEPS - 1; i >= 0; i--) {
		if (steps[i].pid > 0 && ssh_mode()) {
			ssh_stop(&steps[i]);
		} else if (steps[i].pid > 0) {
			stop(steps[i].pid);
			steps[i].pid = 0;
		}
	}
}

static void last_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	char line[512];

	buf[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '\n')
			snprintf(buf, len, "%s", line);
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
}

/* ---- running things in a role (ssh transport) ----------------------------
 *
 * One OpenSSH connection per remote command: `ssh [-F $NETSEG_SSH_CONFIG]
 * -o BatchMode=yes ... -- TARGET CMD`. CMD is one string for the remote
 * shell: `[sudo -n] sh -c 'SCRIPT'`, SCRIPT built only from values env.c
 * validated, every one single-quoted anyway. Files move through the same
 * connection (`cat`), so they work with `sudo -n` and with a forced command.
 */

#define SSH_UNREACHABLE 255
#define SCRIPT_MAX 8192

struct sbuf {
	char b[SCRIPT_MAX];
	size_t n;
	bool over;
};

static void sb_add(struct sbuf *sb, const char *s)
{
	size_t l = strlen(s);

	if (sb->n + l + 1 > sizeof(sb->b)) {
		sb->over = true;
		return;
	}
	memcpy(sb->b + sb->n, s, l + 1);
	sb->n += l;
}

/* s as one single-quoted shell word: ' becomes '\'' */
static void sb_q(struct sbuf *sb, const char *s)
{
	char one[2] = "";

	sb_add(sb, "'");
	for (; *s; s++) {
		if (*s == '\'') {
			sb_add(sb, "'\\''");
			continue;
		}
		one[0] = *s;
		sb_add(sb, one);
	}
	sb_add(sb, "'");
}

/* the words of argv, quoted, separated by spaces */
static void sb_words(struct sbuf *sb, const char **argv)
{
	for (int i = 0; argv[i]; i++) {
		if (i)
			sb_add(sb, " ");
		sb_q(sb, argv[i]);
	}
}

static char run_dir[PATH_MAX];  /* on every target: tools_dir/run-ID */
static char ssh_err[PATH_MAX];  /* ssh's own stderr, appended */

static const char *target(enum env_role r)
{
	return m.cfg.role[r].ssh;
}

/* argv of `ssh ... TARGET CMD`, CMD = [sudo -n] sh -c 'SCRIPT' */
static int ssh_argv(enum env_role r, const char *script, struct sbuf *cmd, const char **argv)
{
	const char *cfgfile = getenv("NETSEG_SSH_CONFIG");
	int n = 0;

	cmd->n = 0;
	cmd->b[0] = 0;
	cmd->over = false;
	if (m.cfg.role[r].sudo)
		sb_add(cmd, "sudo -n ");
	sb_add(cmd, "sh -c ");
	sb_q(cmd, script);
	if (cmd->over)
		return -1;
	argv[n++] = "ssh";
	if (cfgfile && *cfgfile) {
		argv[n++] = "-F";
		argv[n++] = cfgfile;
	}
	argv[n++] = "-o";
	argv[n++] = "BatchMode=yes";
	argv[n++] = "-o";
	argv[n++] = "ConnectTimeout=5";
	argv[n++] = "-o";
	argv[n++] = "StrictHostKeyChecking=accept-new";
	argv[n++] = "-o";
	argv[n++] = "LogLevel=ERROR";
	argv[n++] = "--";
	argv[n++] = target(r);
	argv[n++] = cmd->b;
	argv[n] = NULL;
	return 0;
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Run argv with stdin from `in` (or /dev/null), stdout into `out` (a file)
 * or into buf; stderr appended to ssh_err. Returns the exit status. */
static int run_capture(const char **argv, const char *in, const char *out, char *buf, size_t len)
{
	int p[2] = { -1, -1 };
	size_t got = 0;
	pid_t pid;

	if (buf && len)
		buf[0] = 0;
	if (!out && (pipe(p) || fcntl(p[0], F_SETFD, FD_CLOEXEC) ||
		     fcntl(p[1], F_SETFD, FD_CLOEXEC)))
		return 127;
	pid = fork();
	if (pid < 0)
		return 127;
	if (pid == 0) {
		int i = open(in ? in : "/dev/null", O_RDONLY | O_CLOEXEC);
		int o = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : p[1];
		int e = open(ssh_err[0] ? ssh_err : "/dev/null",
			     O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		setpgid(0, 0);
		if (i < 0 || o < 0 || e < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (!out) {
		char tmp[512];
		ssize_t k;

		close(p[1]);
		while ((k = read(p[0], tmp, sizeof(tmp))) != 0) {
			if (k < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			for (ssize_t j = 0; j < k && buf && got + 1 < len; j++)
				buf[got++] = tmp[j];
		}
		if (buf && len)
			buf[got] = 0;
		close(p[0]);
	}
	return wait_child(pid);
}

/* SCRIPT on role r; see run_capture */
static int rsh(enum env_role r, const char *script, const char *in, const char *out, char *buf,
	       size_t len)
{
	struct sbuf cmd;
	const char *argv[24];

	if (ssh_argv(r, script, &cmd, argv))
		return 127;
	return run_capture(argv, in, out, buf, len);
}

/* the host does not answer: one line naming the role, its target, the step */
static void unreachable(enum env_role r, const char *step)
{
	char why[512];

	last_line(ssh_err, why, sizeof(why));
	fprintf(stderr, "netseg measure: %s (%s): host does not answer (ssh) while %s: %s\n",
		env_role_name(r), target(r), step, why[0] ? why : "(ssh said nothing)");
}

static void sb_reset(struct sbuf *sb)
{
	sb->n = 0;
	sb->b[0] = 0;
	sb->over = false;
}

/* the first line of `BIN --version`, local (argv) or remote (script) */
static void first_line(char *s)
{
	s[strcspn(s, "\n")] = 0;
}

/* Role r's part, before its first tracer starts: mkdir the run directory,
 * copy each tracer it runs unless the same version is there already. */
static int deploy(enum env_role r)
{
	bool done = false;

	for (size_t i = 0; i < N_STEPS; i++) {
		bool seen = false;
		char local[PATH_MAX + 64], remote[PATH_MAX + 64], tmp[PATH_MAX + 96], lv[256],
			rv[256], pid[24];
		const char *argv[3];
		struct sbuf sb;
		int rc;

		if (steps[i].role != r)
			continue;
		for (size_t j = 0; j < i; j++)
			seen |= steps[j].role == r && !strcmp(steps[j].tool, steps[i].tool);
		if (seen)
			continue;
		snprintf(local, sizeof(local), "%s/%s", m.bindir, steps[i].tool);
		snprintf(remote, sizeof(remote), "%s/%s", m.cfg.tools_dir, steps[i].tool);
		if (!done) {
			sb_reset(&sb);
			sb_add(&sb, "mkdir -p ");
			sb_q(&sb, run_dir);
			rc = rsh(r, sb.b, NULL, NULL, NULL, 0);
			if (rc == SSH_UNREACHABLE) {
				unreachable(r, "creating the tools directory");
				return -1;
			}
			if (rc) {
				fprintf(stderr, "netseg measure: %s (%s): cannot create %s (exit %d)\n",
					env_role_name(r), target(r), run_dir, rc);
				return -1;
			}
			done = true;
		}
		argv[0] = local;
		argv[1] = "--version";
		argv[2] = NULL;
		if (run_capture(argv, NULL, NULL, lv, sizeof(lv)) || !lv[0]) {
			fprintf(stderr, "netseg measure: cannot run %s --version\n", local);
			return -1;
		}
		first_line(lv);
		sb_reset(&sb);
		sb_q(&sb, remote);
		sb_add(&sb, " --version 2>/dev/null; true");
		rc = rsh(r, sb.b, NULL, NULL, rv, sizeof(rv));
		if (rc == SSH_UNREACHABLE) {
			unreachable(r, "checking the tracers' version");
			return -1;
		}
		first_line(rv);
		if (!strcmp(lv, rv)) {
			say("[1/6] %s: %s %s already there", env_role_name(r), remote, lv);
			continue;
		}
		say("[1/6] %s: copying %s to %s:%s", env_role_name(r), steps[i].tool, target(r),
		    m.cfg.tools_dir);
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		snprintf(tmp, sizeof(tmp), "%s.new.%s", remote, pid);
		sb_reset(&sb);
		sb_add(&sb, "cat > ");
		sb_q(&sb, tmp);
		sb_add(&sb, " && chmod 0755 ");
		sb_q(&sb, tmp);
		sb_add(&sb, " && mv -f ");
		sb_q(&sb, tmp);
		sb_add(&sb, " ");
		sb_q(&sb, remote);
		rc = rsh(r, sb.b, local, NULL, NULL, 0);
		if (rc == SSH_UNREACHABLE) {
			unreachable(r, "copying the tracers");
			return -1;
		}
		if (rc) {
			fprintf(stderr, "netseg measure: %s (%s): cannot copy %s into %s (exit %d)\n",
				env_role_name(r), target(r), steps[i].tool, m.cfg.tools_dir, rc);
			return -1;
		}
	}
	return 0;
}

/* start the tracer detached from the ssh session; its pid in s->pid */
static int ssh_start(struct step *s, const char **cmd)
{
	char out[64], rfile[PATH_MAX + 64];
	struct sbuf sb;
	char *end;
	long pid;
	int rc;

	sb_reset(&sb);
	sb_add(&sb, "cd ");
	sb_q(&sb, run_dir);
	sb_add(&sb, " && { setsid ");
	sb_words(&sb, cmd);
	sb_add(&sb, " > ");
	snprintf(rfile, sizeof(rfile), "%s/%s", run_dir, s->file);
	sb_q(&sb, rfile);
	sb_add(&sb, " 2> ");
	snprintf(rfile, sizeof(rfile), "%s/%s.err", run_dir, s->file);
	sb_q(&sb, rfile);
	sb_add(&sb, " < /dev/null & echo $!; }");
	rc = rsh(s->role, sb.b, NULL, NULL, out, sizeof(out));
	if (rc == SSH_UNREACHABLE) {
		char step[128];

		snprintf(step, sizeof(step), "starting %s", s->tool);
		unreachable(s->role, step);
		return -1;
	}
	pid = strtol(out, &end, 10);
	if (rc || pid <= 1 || (*end && *end != '\n')) {
		fprintf(stderr, "netseg measure: %s (%s): cannot start %s (exit %d)\n",
			env_role_name(s->role), target(s->role), s->tool, rc);
		return -1;
	}
	s->pid = (pid_t)pid;
	return 0;
}

/* copy REMOTE (in the run directory) to LOCAL; an absent file leaves none */
static void fetch(enum env_role r, const char *name, const char *local)
{
	char remote[PATH_MAX + 64];
	struct sbuf sb;
	struct stat st;
	int rc;

	snprintf(remote, sizeof(remote), "%s/%s", run_dir, name);
	sb_reset(&sb);
	sb_add(&sb, "cat ");
	sb_q(&sb, remote);
	sb_add(&sb, " 2>/dev/null");
	rc = rsh(r, sb.b, NULL, local, NULL, 0);
	if (rc && !stat(local, &st) && !st.st_size)
		unlink(local);
}

static void fetch_step(struct step *s)
{
	char name[PATH_MAX];

	fetch(s->role, s->file, s->log);
	snprintf(name, sizeof(name), "%s.ready", s->file);
	fetch(s->role, name, s->ready);
	snprintf(name, sizeof(name), "%s.err", s->file);
	fetch(s->role, name, s->err);
}

/* "ready", "alive" or "gone"; "" when the host did not answer */
static const char *ssh_state(struct step *s, bool ready_too)
{
	char pid[24], out[64], ready[PATH_MAX + 64];
	struct sbuf sb;
	int rc;

	snprintf(pid, sizeof(pid), "%d", (int)s->pid);
	snprintf(ready, sizeof(ready), "%s/%s.ready", run_dir, s->file);
	sb_reset(&sb);
	if (ready_too) {
		sb_add(&sb, "if test -s ");
		sb_q(&sb, ready);
		sb_add(&sb, "; then echo ready; el");
	}
	sb_add(&sb, "if kill -0 ");
	sb_q(&sb, pid);
	sb_add(&sb, " 2>/dev/null; then echo alive; else echo gone; fi");
	rc = rsh(s->role, sb.b, NULL, NULL, out, sizeof(out));
	if (rc == SSH_UNREACHABLE)
		return "";
	first_line(out);
	return !strcmp(out, "ready") ? "ready" : !strcmp(out, "alive") ? "alive" : "gone";
}

static int ssh_await_ready(struct step *s)
{
	char why[512], step[128];

	snprintf(step, sizeof(step), "waiting for %s to be ready", s->tool);
	for (int i = 0; i < READY_TIMEOUT_S * 5; i++) {
		const char *st;

		if (interrupted)
			return -1;
		st = ssh_state(s, true);
		if (!*st) {
			unreachable(s->role, step);
			return -1;
		}
		if (!strcmp(st, "ready"))
			return 0;
		if (!strcmp(st, "gone")) {
			fetch_step(s);
			last_line(s->err, why, sizeof(why));
			fprintf(stderr, "netseg measure: %s (%s): %s exited before it was ready: %s\n",
				env_role_name(s->role), target(s->role), s->tool,
				why[0] ? why : "(nothing on stderr)");
			s->pid = 0;
			return -1;
		}
		sleep_ms(200);
	}
	fprintf(stderr, "netseg measure: %s (%s): %s not ready after %d s (see %s)\n",
		env_role_name(s->role), target(s->role), s->tool, READY_TIMEOUT_S, s->err);
	return -1;
}

/* SIGINT by pid, wait until gone (bounded), SIGKILL only then */
static void ssh_stop(struct step *s)
{
	char pid[24];
	struct sbuf sb;

	if (s->pid <= 0)
		return;
	snprintf(pid, sizeof(pid), "%d", (int)s->pid);
	sb_reset(&sb);
	sb_add(&sb, "p=");
	sb_q(&sb, pid);
	sb_add(&sb, "; kill -INT \"$p\" 2>/dev/null; i=0; while kill -0 \"$p\" 2>/dev/null && "
		    "[ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; "
		    "if kill -0 \"$p\" 2>/dev/null; then kill -KILL \"$p\"; echo killed; fi");
	if (rsh(s->role, sb.b, NULL, NULL, NULL, 0) == SSH_UNREACHABLE) {
		char step[128];

		snprintf(step, sizeof(step), "stopping %s (pid %s)", s->tool, pid);
		unreachable(s->role, step);
	}
	s->pid = 0;
}

/* ---- the workflow -------------------------------------------------------- */

static void ip_of(enum env_role r, char *buf, size_t len)
{
	snprintf(buf, len, "%s", m.cfg.role[r].ip);
}

static int start_step(struct step *s)
{
	char bin[PATH_MAX + 64], rready[PATH_MAX + 64], src[16], dst[16];
	const char *cmd[24], *argv[32];
	const struct env_role_cfg *rc = &m.cfg.role[s->role];
	bool reply = s->an == AN_SENDER_VHOST;
	int n = 0;

	ip_of(ENV_SENDER_VM, src, sizeof(src));
	ip_of(ENV_RECEIVER_VM, dst, sizeof(dst));
	snprintf(bin, sizeof(bin), "%s/%s", ssh_mode() ? m.cfg.tools_dir : m.bindir, s->tool);
	snprintf(s->log, sizeof(s->log), "%s/%s", m.out, s->file);
	snprintf(s->ready, sizeof(s->ready), "%s/%s.ready", m.out, s->file);
	snprintf(s->err, sizeof(s->err), "%s/%s.err", m.out, s->file);
	unlink(s->ready);
	if (ssh_mode())
		snprintf(rready, sizeof(rready), "%s/%s.ready", run_dir, s->file);
	cmd[n++] = bin;
	if (!strcmp(s->tool, "tun_tx_to_kvm_irq")) {
		/* the tap carries toward its VM: requests on HR, replies on HS */
		cmd[n++] = "-d";
		cmd[n++] = rc->vnet;
		cmd[n++] = "--protocol";
		cmd[n++] = "icmp";
		cmd[n++] = "--src-ip";
		cmd[n++] = reply ? dst : src;
		cmd[n++] = "--dst-ip";
		cmd[n++] = reply ? src : dst;
	} else {
		cmd[n++] = "--src-ip";
		cmd[n++] = src;
		cmd[n++] = "--dst-ip";
		cmd[n++] = dst;
		if (!strcmp(s->tool, "icmp_drop_detector")) {
			cmd[n++] = "--vm-interface";
			cmd[n++] = rc->vnet;
			cmd[n++] = "--phy-interface";
			cmd[n++] = rc->phy;
		}
	}
	cmd[n++] = "-j";
	cmd[n++] = "--ready-file";
	cmd[n++] = ssh_mode() ? rready : s->ready;
	cmd[n] = NULL;
	if (ssh_mode())
		return ssh_start(s, cmd);
	role_argv(s->role, cmd, argv, 32);
	s->pid = spawn(argv, s->log, s->err);
	if (s->pid < 0) {
		fprintf(stderr, "netseg measure: %s: cannot start %s: %s\n", env_role_name(s->role),
			s->tool, strerror((int)-s->pid));
		s->pid = 0;
		return -1;
	}
	return 0;
}

/* Until its ready file has a line; fails when it exits or takes too long. */
static int await_ready(struct step *s)
{
	struct stat sb;
	char why[512];

	if (ssh_mode())
		return ssh_await_ready(s);
	for (int i = 0; i < READY_TIMEOUT_S * 20; i++) {
		if (interrupted)
			return -1;
		if (!stat(s->ready, &sb) && sb.st_size > 0)
			return 0;
		if (!alive(s->pid)) {
			last_line(s->err, why, sizeof(why));
			fprintf(stderr, "netseg measure: %s: %s exited before it was ready: %s\n",
				env_role_name(s->role), s->tool, why[0] ? why : "(nothing on stderr)");
			s->pid = 0;
			return -1;
		}
		sleep_ms(50);
	}
	fprintf(stderr, "netseg measure: %s: %s not ready after %d s (see %s)\n",
		env_role_name(s->role), s->tool, READY_TIMEOUT_S, s->err);
	return -1;
}

static int ping(void)
{
	char count[24], interval[32], deadline[32], dst[16], out[PATH_MAX];
	const char *cmd[16], *argv[24];
	static struct sbuf pcmd;
	struct timespec last = {}, now;
	int status;
	pid_t pid;

	snprintf(count, sizeof(count), "%ld", m.count > 0 ? m.count : (long)m.cfg.ping_count);
	snprintf(interval, sizeof(interval), "%.3f", m.interval > 0 ? m.interval : m.cfg.ping_interval_s);
	snprintf(deadline, sizeof(deadline), "%.0f",
		 m.duration > 0 ? m.duration : m.cfg.duration_s);
	ip_of(ENV_RECEIVER_VM, dst, sizeof(dst));
	snprintf(out, sizeof(out), "%s/ping.txt", m.out);
	cmd[0] = "ping";
	cmd[1] = "-n";
	cmd[2] = "-c";
	cmd[3] = count;
	cmd[4] = "-i";
	cmd[5] = interval;
	cmd[6] = "-w";
	cmd[7] = deadline;
	cmd[8] = dst;
	cmd[9] = NULL;
	if (ssh_mode()) {
		struct sbuf words;

		sb_reset(&words);
		sb_words(&words, cmd);
		if (ssh_argv(ENV_SENDER_VM, words.b, &pcmd, argv))
			return -1;
	} else {
		role_argv(ENV_SENDER_VM, cmd, argv, 24);
	}
	say("[4/6] VM-S pings VM-R: %s echoes, %s s apart", count, interval);
	pid = spawn(argv, out, ssh_mode() ? ssh_err : NULL);
	if (pid < 0)
		return -1;
	/* while it pings, every tracer must stay up: one that ends (crashed,
	 * killed, its role gone) ends the run */
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid && ssh_mode() && WIFEXITED(status) &&
		    WEXITSTATUS(status) == SSH_UNREACHABLE) {
			unreachable(ENV_SENDER_VM, "VM-S pinged VM-R");
			return -1;
		}
		if (w == pid || (w < 0 && errno != EINTR))
			return 0;
		if (interrupted) {
			kill(pid, SIGINT);
			waitpid(pid, &status, 0);
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ssh_mode() && now.tv_sec - last.tv_sec < 1) {
			sleep_ms(50);
			continue;
		}
		last = now;
		for (size_t i = 0; ssh_mode() && i < N_STEPS; i++) {
			const char *st = ssh_state(&steps[i], false);
			char why[512];

			if (!strcmp(st, "alive"))
				continue;
			if (!*st) {
				unreachable(steps[i].role, "checking the tracers while VM-S pinged");
			} else {
				fetch_step(&steps[i]);
				last_line(steps[i].err, why, sizeof(why));
				fprintf(stderr, "netseg measure: %s (%s): %s (%s) ended while VM-S pinged: %s\n",
					env_role_name(steps[i].role), target(steps[i].role), steps[i].tool,
					steps[i].file, why[0] ? why : "(nothing on stderr)");
				steps[i].pid = 0;
			}
			kill(pid, SIGINT);
			waitpid(pid, &status, 0);
			return -1;
		}
		for (size_t i = 0; !ssh_mode() && i < N_STEPS; i++) {
			char why[512];

			if (alive(steps[i].pid))
				continue;
			last_line(steps[i].err, why, sizeof(why));
			fprintf(stderr, "netseg measure: %s: %s (%s) ended while VM-S pinged: %s\n",
				env_role_name(steps[i].role), steps[i].tool, steps[i].file,
				why[0] ? why : "(nothing on stderr)");
			steps[i].pid = 0;
			kill(pid, SIGINT);
			waitpid(pid, &status, 0);
			return -1;
		}
		sleep_ms(50);
	}
}

static void headline(const struct an_result *res)
{
	int order[SEG_M + 1], n = 0;

	if (m.json)
		return;
	printf("netseg measure %s: %llu echoes joined; RTT p50 %.1f us, mean %.1f us\n",
	       m.cfg.name, (unsigned long long)res->joined, res->agg[SEG_RTT].p50,
	       res->agg[SEG_RTT].mean);
	for (int i = SEG_A; i <= SEG_M; i++)
		if (res->agg[i].count)
			order[n++] = i;
	/* the three largest segments by mean */
	for (int k = 0; k < 3 && k < n; k++) {
		int best = k;

		for (int i = k + 1; i < n; i++)
			if (res->agg[order[i]].mean > res->agg[order[best]].mean)
				best = i;
		int t = order[k];
		order[k] = order[best];
		order[best] = t;
		printf("  %-4s %8.1f us  %s\n", an_metrics[order[k]].name, res->agg[order[k]].mean,
		       an_metrics[order[k]].what);
	}
	for (int i = SEG_FIRST_LAYER; i < SEG_N; i++)
		printf("  layer %-16s %8.1f us %5.1f %%\n", an_metrics[i].name, res->agg[i].mean,
		       res->agg[i].share_pct);
	printf("reports: %s/report.md %s/report.json %s/report.svg\n", m.out, m.out, m.out);
}

static int analyze_logs(void)
{
	struct an_input in = {};
	struct an_result res;
	int rc = 0;

	for (size_t i = 0; i < N_STEPS; i++)
		in.path[steps[i].an] = steps[i].log;
	an_run(&in, m.cfg.name, !ssh_mode(), &res, false);
	for (int k = 0; k < 3; k++) {
		static const char *const names[] = { "report.json", "report.md", "report.svg" };
		static int (*const fns[])(FILE *, const struct an_result *) = { an_write_json,
										    an_write_md,
										    an_write_svg };
		char path[PATH_MAX];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/%s", m.out, names[k]);
		fp = fopen(path, "w");
		if (!fp || fns[k](fp, &res)) {
			fprintf(stderr, "netseg measure: cannot write %s\n", path);
			rc = 1;
		}
		if (fp)
			fclose(fp);
	}
	if (m.json)
		an_write_json(stdout, &res);
	headline(&res);
	if (!res.joined) {
		fprintf(stderr, "netseg measure: no echo reached all six logs (see %s)\n", m.out);
		rc = 1;
	}
	an_result_free(&res);
	if (!rc && m.compare)
		rc = an_compare_main(m.compare, m.out, m.out, false);
	return rc;
}

static void collect(void)
{
	for (size_t i = 0; ssh_mode() && i < N_STEPS; i++)
		fetch_step(&steps[i]);
}

static int run(void)
{
	bool deployed[ENV_N_ROLES] = {};

	if (ssh_mode()) {
		say("[1/6] %s: transport ssh, tracers in %s on each target, logs into %s", m.cfg.name,
		    run_dir, m.out);
	} else {
		say("[1/6] %s: transport lab (lab '%s'), logs into %s", m.cfg.name, m.cfg.lab_prefix,
		    m.out);
	}
	for (size_t i = 0; i < N_STEPS; i++) {
		struct step *s = &steps[i];

		if (ssh_mode() && !deployed[s->role]) {
			if (deploy(s->role))
				goto fail;
			deployed[s->role] = true;
		}
		say("[%s] starting %s for %s", i < 3 ? "2/6" : "3/6", s->tool, s->file);
		if (start_step(s) || await_ready(s))
			goto fail;
	}
	if (ping() || interrupted)
		goto fail;
	say("[5/6] stopping the tracers (SIGINT, by pid)");
	stop_all();
	collect();
	say("[6/6] analyzing");
	return analyze_logs();
fail:
	stop_all();
	collect();
	if (interrupted)
		fprintf(stderr, "netseg measure: interrupted: every tracer stopped, logs kept in %s\n",
			m.out);
	else
		fprintf(stderr, "netseg measure: stopped every tracer; partial logs kept in %s\n",
			m.out);
	return interrupted ? 130 : 1;
}

/* ---- the command --------------------------------------------------------- */

enum { OPT_OUT = 0x4000, OPT_COUNT, OPT_DURATION, OPT_COMPARE, OPT_INTERVAL };

static const char doc[] =
	"Run the seed's measurement: six tracers in their roles (receivers first),\n"
	"VM-S pings VM-R, every tracer stopped by its pid, the six logs collected\n"
	"under the seed's names into --out, analyzed (report.md, report.json,\n"
	"report.svg) and the headline printed. ENV.yaml is the seed's environment\n"
	"file; `netseg lab env` prints one for the built-in lab (transport lab).\n"
	"Every value in it is checked before anything runs. With transport ssh the\n"
	"roles are reached by OpenSSH (NETSEG_SSH_CONFIG: an ssh_config for -F).\n"
	"\n"
	"EXAMPLES:\n"
	"  sudo netseg lab up && sudo netseg lab env > lab.yaml\n"
	"  sudo netseg measure lab.yaml --out run1 --count 50\n"
	"  sudo netseg measure lab.yaml --out run2 --compare run1";

static const struct argp_option options[] = {
	{ "out", OPT_OUT, "DIR", 0, "where logs and reports go (default: measure-<name>-<time>)", 0 },
	{ "count", OPT_COUNT, "N", 0, "pings (default: measurement.ping_count)", 0 },
	{ "duration", OPT_DURATION, "S", 0, "bound on the pinging (default: measurement.duration)", 0 },
	{ "interval", OPT_INTERVAL, "S", 0, "seconds between pings (default: measurement.ping_interval, 0.2)", 0 },
	{ "compare", OPT_COMPARE, "DIR", 0, "also compare with an earlier run's directory", 0 },
	{ "json", 'j', NULL, 0, "print report.json instead of the headline", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	char err[256];
	uint64_t v;

	(void)state;
	switch (key) {
	case OPT_OUT:
		m.out = arg;
		break;
	case OPT_COUNT:
		if (cli_parse_u64("--count", arg, 1, 100000, &v, err, sizeof(err)))
			cli_usage_error("%s", err);
		m.count = (long)v;
		break;
	case OPT_DURATION:
		if (cli_parse_seconds("--duration", arg, &m.duration, err, sizeof(err)) || m.duration < 1)
			cli_usage_error("--duration '%s': seconds, at least 1", arg);
		break;
	case OPT_COMPARE:
		m.compare = arg;
		break;
	case OPT_INTERVAL:
		if (cli_parse_seconds("--interval", arg, &m.interval, err, sizeof(err)) ||
		    m.interval < 0.002 || m.interval > 3600)
			cli_usage_error("--interval '%s': seconds, 0.002 to 3600", arg);
		break;
	case 'j':
		m.json = true;
		break;
	case ARGP_KEY_ARG:
		if (m.env_path)
			cli_usage_error("one environment file, not '%s' too", arg);
		m.env_path = arg;
		break;
	case ARGP_KEY_END:
		if (!m.env_path)
			cli_usage_error("which environment? netseg measure ENV.yaml (see --help)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int measure_main(int argc, char **argv)
{
	static const struct argp argp = { options, parse, "ENV.yaml", doc, NULL, NULL, NULL };
	static char outbuf[PATH_MAX];
	struct sigaction sa = { .sa_handler = on_signal };
	char err[512];
	ssize_t n;

	cli_set_tool("netseg measure");
	argv[0] = "netseg measure";
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return 2;
	if (env_load(m.env_path, &m.cfg, err, sizeof(err))) {
		fprintf(stderr, "netseg measure: %s\n", err);
		return 2;
	}
	if (!ssh_mode() && geteuid()) {
		fprintf(stderr, "netseg measure: the lab's namespaces and the tracers need root\n");
		return 1;
	}
	n = readlink("/proc/self/exe", m.bindir, sizeof(m.bindir) - 1);
	if (n <= 0) {
		fprintf(stderr, "netseg measure: cannot find where netseg is installed\n");
		return 1;
	}
	m.bindir[n] = 0;
	*strrchr(m.bindir, '/') = 0;
	if (!m.out) {
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		snprintf(outbuf, sizeof(outbuf), "measure-%04d%02d%02d-%02d%02d%02d",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		m.out = outbuf;
	}
	if (mkdir(m.out, 0755) && errno != EEXIST) {
		fprintf(stderr, "netseg measure: cannot create %s: %s\n", m.out, strerror(errno));
		return 1;
	}
	if (ssh_mode()) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(run_dir, sizeof(run_dir), "%s/run-%lld-%d", m.cfg.tools_dir,
			 (long long)ts.tv_sec, (int)getpid());
		snprintf(ssh_err, sizeof(ssh_err), "%s/ssh.err", m.out);
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return run();
}
