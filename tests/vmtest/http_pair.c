// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * http_pair: both ends of a small HTTP/1.1 exchange, the test helper whose
 * own clock readings are the truth status_ts's kernel stamps are held to.
 *
 *   http_pair serve ADDR:PORT --delay-us 3000   a server: GET /status gets a
 *       small JSON body, written in one write() no earlier than --delay-us
 *       after the request was read (busy-waiting by default, so the reply
 *       leaves on time; --sleep uses clock_nanosleep, which oversleeps: by
 *       0.2-1.3 ms under the VM test's TCG, where the busy wait is off by
 *       30-100 us unless the host preempts the vCPU).
 *       One connection at a time; keep-alive unless the request says
 *       "Connection: close". One "request" line per request.
 *   http_pair get ADDR:PORT -n 5 [--reuse]      a client: N requests for
 *       /status, each on a fresh connection (or all on one, --reuse). One
 *       "response" line per request, then a "summary".
 *
 * Every time printed is CLOCK_MONOTONIC in ns, the clock of the kernel's
 * bpf_ktime_get_ns(), so the lines compare directly with a tracer's raw
 * stamps (status_ts's stages[].ts_ns):
 *
 *   server: read_ns   just after the read() that completed the request's
 *                     headers (the bytes reached the socket before it)
 *           reply_ns  just before the reply's write() (after the delay)
 *           wrote_ns  just after that write() returned
 *   client: send_ns   just before the request's write()
 *           sent_ns   just after that write() returned
 *           first_ns  just after the first read() of the reply that
 *                     returned bytes (they reached the socket before it)
 *
 * So a kernel stamp of "the socket layer takes the bytes" lies between a
 * writer's before and after, and one of "the bytes reached the socket"
 * before the reader's read returned.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "vmt_util.h"
#include "lib/cli.h"
#include "lib/loop.h"
#include "lib/netns.h"
#include "lib/output.h"

static struct {
	int serve; /* 1 serve, 0 get, -1 not given */
	struct sockaddr_in addr;
	const char *netns;
	uint64_t delay_us, count, timeout_ms, pause_ms;
	bool sleep, reuse;
	double duration_s;
	const char *ready_file;
} env = {
	.serve = -1,
	.count = 1,
	.timeout_ms = 5000,
};

const char *argp_program_version = "http_pair (netseg vmtest)";
/* argp wraps paragraphs itself: one string piece per paragraph */
static const char doc[] =
	"Both ends of a small HTTP/1.1 exchange (netseg VM test helper).\n"
	"\n"
	"serve ADDR:PORT: answer GET /status with a small JSON body after --delay-us (a busy "
	"wait from the moment the request was read; --sleep: clock_nanosleep), one connection "
	"at a time, keep-alive unless the request says Connection: close; any other request "
	"gets 404. One JSON line per request (read_ns, reply_ns, wrote_ns) until SIGINT, SIGTERM or "
	"--duration, then a summary.\n"
	"\n"
	"get ADDR:PORT: -n requests for /status, a fresh connection each (Connection: close) or "
	"all on one (--reuse); one JSON line per request (local_port, send_ns before the write, "
	"sent_ns after it, first_ns after the first read with bytes), then a summary. Exit 1 unless every "
	"request got 200.\n"
	"\n"
	"Times are CLOCK_MONOTONIC ns, the clock of bpf_ktime_get_ns().\n"
	"\n"
	"EXAMPLES:\n"
	"  http_pair serve 198.18.40.1:8080 --netns srv --delay-us 3000 --ready-file /tmp/r\n"
	"  http_pair get 198.18.40.1:8080 --netns cli -n 5 --reuse";

enum { OPT_READY = 0x3000, OPT_NETNS, OPT_DELAY, OPT_SLEEP, OPT_REUSE, OPT_TIMEOUT, OPT_PAUSE };

static const struct argp_option opts[] = {
	{ "netns", OPT_NETNS, "NAME|PATH", 0, "make the sockets in this network namespace", 0 },
	{ "delay-us", OPT_DELAY, "US", 0, "serve: hold each reply this long (default 0)", 0 },
	{ "sleep", OPT_SLEEP, NULL, 0, "serve: sleep through the delay instead of busy-waiting", 0 },
	{ "duration", 'd', "SECONDS", 0, "serve: stop after this long (default: until a signal)", 0 },
	{ "ready-file", OPT_READY, "FILE", 0, "serve: write the ready record here once listening", 0 },
	{ "count", 'n', "N", 0, "get: requests to make (default 1)", 0 },
	{ "reuse", OPT_REUSE, NULL, 0, "get: all requests on one keep-alive connection", 0 },
	{ "pause-ms", OPT_PAUSE, "MS", 0, "get: wait this long after connecting, before the request", 0 },
	{ "timeout-ms", OPT_TIMEOUT, "MS", 0, "get: give up on a reply after this long (default 5000)", 0 },
	{},
};

static void parse_addr(const char *s)
{
	char host[64], err[256];
	const char *colon = strrchr(s, ':');
	uint64_t port;
	uint32_t a;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		cli_usage_error("invalid address '%s': want IPV4:PORT", s);
	memcpy(host, s, colon - s);
	host[colon - s] = 0;
	if (cli_parse_ipv4("ADDR", host, &a, err, sizeof(err)) ||
	    cli_parse_u64("PORT", colon + 1, 1, 65535, &port, err, sizeof(err)))
		cli_usage_error("%s", err);
	env.addr.sin_family = AF_INET;
	env.addr.sin_addr.s_addr = a;
	env.addr.sin_port = htons((uint16_t)port);
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char err[256];

	switch (key) {
	case OPT_NETNS:
		env.netns = arg;
		break;
	case OPT_DELAY:
		if (cli_parse_u64("--delay-us", arg, 0, 10000000, &env.delay_us, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_SLEEP:
		env.sleep = true;
		break;
	case 'd':
		if (cli_parse_seconds("--duration", arg, &env.duration_s, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_READY:
		env.ready_file = arg;
		break;
	case 'n':
		if (cli_parse_u64("--count", arg, 1, 100000, &env.count, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_REUSE:
		env.reuse = true;
		break;
	case OPT_TIMEOUT:
		if (cli_parse_u64("--timeout-ms", arg, 1, 600000, &env.timeout_ms, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_PAUSE:
		if (cli_parse_u64("--pause-ms", arg, 0, 60000, &env.pause_ms, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case ARGP_KEY_ARG:
		if (state->arg_num == 0) {
			if (strcmp(arg, "serve") && strcmp(arg, "get"))
				cli_usage_error("unknown mode '%s': serve or get", arg);
			env.serve = !strcmp(arg, "serve");
		} else if (state->arg_num == 1) {
			parse_addr(arg);
		} else {
			cli_usage_error("unexpected argument '%s' (see --help)", arg);
		}
		break;
	case ARGP_KEY_END:
		if (state->arg_num < 2)
			cli_usage_error("want a mode and an address: serve|get IPV4:PORT (see --help)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int fail(const char *what)
{
	fprintf(stderr, "http_pair: %s: %s\n", what, strerror(errno));
	return -1;
}

/* Runs inside the namespace (netns_run_in): a socket belongs to the
 * namespace it was made in. */
static int new_socket(void *arg)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	*(int *)arg = fd;
	if (fd < 0)
		return fail("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return 0;
}

/* wait until fd is readable; 0: ready, 1: stop requested or time is up */
static int wait_in(int fd, uint64_t deadline_ns)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ns();
		int ms = 100, n;

		if (loop_stop_requested() || (deadline_ns && now >= deadline_ns))
			return 1;
		if (deadline_ns && (deadline_ns - now) / 1000000 < (uint64_t)ms)
			ms = (int)((deadline_ns - now) / 1000000) + 1;
		n = poll(&p, 1, ms);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return fail("poll"), 1;
	}
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail("write");
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- serve ---------------------------------------------------------- */

static struct {
	uint64_t requests, connections, not_found;
} st;

/* one connection, request after request until the peer closes */
static void serve_conn(int fd, const struct sockaddr_in *peer, uint64_t conn, uint64_t end_ns)
{
	char buf[4096], reply[512], body[128], path[128], peer_s[INET_ADDRSTRLEN];
	size_t have = 0;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	inet_ntop(AF_INET, &peer->sin_addr, peer_s, sizeof(peer_s));
	for (;;) {
		char *eoh = NULL;
		uint64_t read_ns, reply_ns, wrote_ns, deadline;
		bool close_after, ok;
		struct out_rec r;
		int blen, rlen;
		ssize_t n;

		/* the request's headers (a GET has no body) */
		while (!(eoh = memmem(buf, have, "\r\n\r\n", 4))) {
			if (have == sizeof(buf) || wait_in(fd, end_ns))
				return;
			n = read(fd, buf + have, sizeof(buf) - have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return; /* the peer closed (or reset): done */
			have += (size_t)n;
		}
		read_ns = now_ns();
		path[0] = 0;
		sscanf(buf, "GET %127s HTTP/1.", path);
		ok = !strcmp(path, "/status");
		*eoh = 0;
		close_after = strcasestr(buf, "\r\nConnection: close") != NULL;
		/* whatever follows belongs to the next request */
		have -= (size_t)(eoh + 4 - buf);
		memmove(buf, eoh + 4, have);

		deadline = read_ns + env.delay_us * 1000;
		if (env.sleep) {
			struct timespec ts = { deadline / 1000000000ull, deadline % 1000000000ull };

			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
		while (now_ns() < deadline)
			;
		st.requests++;
		st.not_found += !ok;
		blen = snprintf(body, sizeof(body), "{\"status\":\"%s\",\"n\":%llu}\n",
				ok ? "ok" : "not found", (unsigned long long)st.requests);
		rlen = snprintf(reply, sizeof(reply),
				"HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
				"Content-Length: %d\r\nConnection: %s\r\n\r\n%s",
				ok ? "200 OK" : "404 Not Found", blen,
				close_after ? "close" : "keep-alive", body);
		reply_ns = now_ns();
		/* headers and body in one write: one tcp_sendmsg */
		if (write_all(fd, reply, (size_t)rlen))
			return;
		wrote_ns = now_ns();

		out_begin(&r, "request");
		out_u64(&r, "n", NULL, st.requests, 0);
		out_u64(&r, "conn", NULL, conn, 0);
		out_str(&r, "peer", NULL, peer_s, 0);
		out_u64(&r, "peer_port", NULL, ntohs(peer->sin_port), 0);
		out_str(&r, "path", NULL, path, 0);
		out_u64(&r, "status", NULL, ok ? 200 : 404, 0);
		out_u64(&r, "read_ns", NULL, read_ns, 0);
		out_u64(&r, "reply_ns", NULL, reply_ns, 0);
		out_u64(&r, "wrote_ns", NULL, wrote_ns, 0);
		out_u64(&r, "held_ns", NULL, reply_ns - read_ns, 0);
		out_emit(&r);
		out_flush();
		if (close_after)
			return;
	}
}

static int serve(const struct netseg_netns *ns)
{
	char line[1024];
	struct out_rec r;
	uint64_t end_ns = 0;
	int lfd = -1;

	if (netns_run_in(ns, new_socket, &lfd) || lfd < 0)
		return 1;
	/* the sleep ends at its deadline, not up to 50 us (the default slack) later */
	if (env.sleep)
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	if (bind(lfd, (struct sockaddr *)&env.addr, sizeof(env.addr)) || listen(lfd, 64)) {
		fail("bind/listen");
		close(lfd);
		return 1;
	}
	out_begin(&r, "ready");
	out_str(&r, "tool", NULL, "http_pair", 0);
	out_u64(&r, "pid", NULL, (uint64_t)getpid(), 0);
	out_ip4(&r, "addr", NULL, env.addr.sin_addr.s_addr, 0);
	out_u64(&r, "port", NULL, ntohs(env.addr.sin_port), 0);
	out_u64(&r, "delay_us", NULL, env.delay_us, 0);
	out_str(&r, "wait", NULL, env.sleep ? "sleep" : "busy", 0);
	out_emit(&r);
	out_flush();
	out_render(&r, true, line, sizeof(line));
	if (vmt_ready_file("http_pair", env.ready_file, line)) {
		close(lfd);
		return 1;
	}
	if (env.duration_s > 0)
		end_ns = now_ns() + (uint64_t)(env.duration_s * 1e9);
	while (!wait_in(lfd, end_ns)) {
		struct sockaddr_in peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fail("accept");
			break;
		}
		serve_conn(fd, &peer, ++st.connections, end_ns);
		close(fd);
	}
	close(lfd);
	out_begin(&r, "summary");
	out_str(&r, "tool", NULL, "http_pair", 0);
	out_u64(&r, "requests", NULL, st.requests, 0);
	out_u64(&r, "not_found", NULL, st.not_found, 0);
	out_u64(&r, "connections", NULL, st.connections, 0);
	out_emit(&r);
	out_flush();
	return 0;
}

/* ---- get ------------------------------------------------------------- */

/* one request on fd: its status code (0: no proper reply) */
static int get_one(int fd, uint64_t *send_ns, uint64_t *sent_ns, uint64_t *first_ns)
{
	char buf[4096], *eoh = NULL, *cl;
	const char *req = env.reuse
		? "GET /status HTTP/1.1\r\nHost: netseg\r\n\r\n"
		: "GET /status HTTP/1.1\r\nHost: netseg\r\nConnection: close\r\n\r\n";
	uint64_t deadline;
	size_t have = 0, want = 0;
	int status = 0;

	*first_ns = 0;
	*send_ns = now_ns();
	if (write_all(fd, req, strlen(req)))
		return 0;
	*sent_ns = now_ns();
	deadline = now_ns() + env.timeout_ms * 1000000;
	for (;;) {
		ssize_t n;

		if (have == sizeof(buf) - 1 || wait_in(fd, deadline))
			return 0;
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		if (!*first_ns)
			*first_ns = now_ns();
		have += (size_t)n;
		buf[have] = 0;
		if (!eoh && (eoh = strstr(buf, "\r\n\r\n"))) {
			if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
				return 0;
			cl = strcasestr(buf, "\r\nContent-Length:");
			want = (size_t)(eoh + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (eoh && have >= want)
			return status;
	}
}

static int get(const struct netseg_netns *ns)
{
	uint64_t ok = 0, conns = 0;
	int fd = -1;

	for (uint64_t i = 1; i <= env.count && !loop_stop_requested(); i++) {
		struct sockaddr_in local;
		socklen_t llen = sizeof(local);
		uint64_t send_ns, sent_ns = 0, first_ns;
		struct out_rec r;
		int one = 1, status;

		if (fd < 0) {
			if (netns_run_in(ns, new_socket, &fd) || fd < 0)
				break;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			if (connect(fd, (struct sockaddr *)&env.addr, sizeof(env.addr))) {
				fail("connect");
				break;
			}
			conns++;
			if (env.pause_ms)
				usleep((useconds_t)(env.pause_ms * 1000));
		}
		getsockname(fd, (struct sockaddr *)&local, &llen);
		status = get_one(fd, &send_ns, &sent_ns, &first_ns);
		ok += status == 200;
		out_begin(&r, "response");
		out_u64(&r, "n", NULL, i, 0);
		out_u64(&r, "conn", NULL, conns, 0);
		out_u64(&r, "local_port", NULL, ntohs(local.sin_port), 0);
		out_u64(&r, "status", NULL, (uint64_t)status, 0);
		out_u64(&r, "send_ns", NULL, send_ns, 0);
		out_u64(&r, "sent_ns", NULL, sent_ns, 0);
		out_u64(&r, "first_ns", NULL, first_ns, 0);
		out_u64(&r, "interval_ns", NULL, first_ns ? first_ns - send_ns : 0, 0);
		out_emit(&r);
		out_flush();
		if (!env.reuse || status != 200) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	{
		struct out_rec r;

		out_begin(&r, "summary");
		out_str(&r, "tool", NULL, "http_pair", 0);
		out_u64(&r, "requests", NULL, env.count, 0);
		out_u64(&r, "ok", NULL, ok, 0);
		out_u64(&r, "connections", NULL, conns, 0);
		out_emit(&r);
		out_flush();
	}
	return ok == env.count ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, "serve|get IPV4:PORT", doc,
					  NULL, NULL, NULL };
	struct netseg_netns ns;
	char err[512];

	cli_set_tool("http_pair");
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return CLI_EXIT_USAGE;
	if (netns_resolve(env.netns, &ns, err, sizeof(err))) {
		fprintf(stderr, "http_pair: %s\n", err);
		return CLI_EXIT_USAGE;
	}
	out_setup(stdout, true);
	if (loop_signals_install()) {
		fprintf(stderr, "http_pair: installing signal handlers failed\n");
		return 1;
	}
	return env.serve ? serve(&ns) : get(&ns);
}
