/* sim: a fleet of fake IPPAN nodes on 127.0.0.1 with programmable clocks and faults.
 * Event loops on epoll. A node's model: the request arrives, the service delay passes, the
 * clock is read once, and the reply is written right away; the injected offset is the truth
 * at that read, the instant a probe's mid-point estimates. */
#include "cmds.h"
#include "common.h"
#include "simconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static const char usage[] =
	"usage: ippantime sim [--nodes N] [--base-port P] [--config FILE] [--field F]\n"
	"                     [--status-path P] [--duration S] [--seed N] [--ready-file F]\n"
	"                     [--threads T] [--split-writes] [--bind ADDR]\n"
	"\n"
	"Serve N simulated nodes on 127.0.0.1:P..P+N-1 (default 40 from 8080). Node i answers\n"
	"GET <status-path> with {\"<field>\": <clock_us>, ...} and GET /time with\n"
	"{\"time_us\": N, \"timestamp\": N}. Each node's clock and faults come from the config.\n"
	"Prints one line per node (its url and truth), then 'ready'. Stops on SIGINT/SIGTERM or\n"
	"after --duration seconds. --threads T serves the nodes from T event loops (default 2).\n"
	"--split-writes: every node as with split_writes=1 (below).\n"
	"--bind ADDR: listen on this IPv4 address instead of 127.0.0.1 (a lab's VM address), or on\n"
	"'::' (dual stack: IPv4 clients reach the nodes on IPv6 sockets, as on many real hosts).\n"
	"\n"
	"A node reads its clock once per request, after the service delay, right before it writes\n"
	"the reply: that read is what a probe's mid-point estimates. With delay_ms=N the honest\n"
	"mid-point shows the node about N/2 ms ahead (the delay sits between request and read),\n"
	"within its +-RTT/2 bound.\n"
	"\n"
	"config file (one directive per line, '#' comments):\n"
	"  nodes 40 | base_port 8080 | field ippan_time_us | status_path /status\n"
	"  all  KEY=VALUE ...       defaults for every node (put before node lines)\n"
	"  node I KEY=VALUE ...     node I (0-based)\n"
	"keys: offset_us=N  drift_ppm=X  jitter_us=N (uniform +-N)  step_at_ms=T step_us=N (the\n"
	"  clock jumps by N at T ms after start; negative = backwards)  step_at_req=R (instead:\n"
	"  after the node's R-th reply)  delay_ms=N (service delay, before the clock read)\n"
	"  split_writes=1 (headers and body in two write()s with Nagle on: on a reused connection\n"
	"  the body waits for the client's delayed ACK, ~40 ms, after the clock read)\n"
	"  fault=F  fault_every=N (fault only every Nth status request; default 1 = always)\n"
	"faults: none timeout close down http500 nonjson missing time_only string badstring\n"
	"  negstring float negative bool null array huge slow redirect_same redirect_other\n"
	"\n"
	"examples:\n"
	"  ippantime sim --nodes 4 --base-port 18080\n"
	"  printf 'node 1 offset_us=25000\\nnode 2 fault=timeout\\n' > sim.conf\n"
	"  ippantime sim --config sim.conf --nodes 4 --base-port 18080 --duration 60\n"
	"  ippantime sim --nodes 2 --base-port 18080 --split-writes   # the Nagle/delayed-ACK hold\n";

enum cstate { C_READ, C_WAIT, C_WRITE, C_HOLD, C_SLOW };

struct conn {
	int fd, node;
	enum cstate st;
	char in[8192];
	size_t inlen;
	struct strbuf out;
	size_t outoff;
	int64_t wake_ns; /* C_WAIT: reply at; C_SLOW: next byte at */
	int keepalive;
	int kind; /* what to answer once the delay is over */
	int fault_now;
	size_t slow_left;
	int split;      /* the node's split_writes */
	size_t hdr_len; /* the headers' part of out, written on their own when split */
};


/* One event loop per thread; node i belongs to thread i % threads, with its listening socket,
 * its connections and its clock state, so threads share nothing they write. */
struct simthr {
	struct simnode *nodes;
	long n, base_port;
	const char *field, *status_path;
	int64_t start_mono, end_ns;
	int ep;
	struct conn **conns;
	int nconns_cap, maxfd;
	pthread_t th;
};

/* set from a signal handler, read by every loop thread: a lock-free atomic is safe for both */
static atomic_int sim_stop;
static void sim_on_signal(int s)
{
	(void)s;
	atomic_store(&sim_stop, 1);
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static int64_t clock_value(struct simthr *s, struct simnode *nd)
{
	int64_t wall_us = ipt_wall_ns() / 1000;
	int64_t el_us = (ipt_mono_ns() - s->start_mono) / 1000;
	int64_t v = wall_us + nd->offset_us + (int64_t)((double)el_us * nd->drift_ppm / 1e6);
	if (nd->jitter_us > 0)
		v += (int64_t)(rng_next(&nd->rng) % (uint64_t)(2 * nd->jitter_us + 1)) - nd->jitter_us;
	nd->served++;
	/* step_at_req makes the step independent of when the probe starts: tests rely on it */
	if ((nd->step_mode == 1 && el_us >= nd->step_at_ms * 1000) ||
	    (nd->step_mode == 2 && nd->served > nd->step_at_req))
		v += nd->step_us;
	return v;
}

static struct conn *conn_get(struct simthr *s, int fd)
{
	return fd >= 0 && fd < s->nconns_cap ? s->conns[fd] : NULL;
}

static void conn_close(struct simthr *s, struct conn *c)
{
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	s->conns[c->fd] = NULL;
	sb_free(&c->out);
	free(c);
}

static void set_events(struct simthr *s, struct conn *c, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.fd = c->fd};
	epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &e);
}

enum { K_STATUS, K_TIME, K_STATUS2, K_NOTFOUND };

static void on_writable(struct simthr *s, struct conn *c);

/* Writes the reply at once rather than on the next EPOLLOUT: the clock was read just before,
 * and a loop iteration in between would put other connections' work between the read and
 * the reply. Only what the socket does not take now waits for EPOLLOUT. The conn may be
 * gone afterwards (Connection: close): callers do not touch it again. */
static void send_now(struct simthr *s, struct conn *c)
{
	int fd = c->fd;
	c->st = C_WRITE;
	on_writable(s, c);
	c = conn_get(s, fd);
	if (c && c->st == C_WRITE)
		set_events(s, c, EPOLLOUT);
}

static void respond(struct simthr *s, struct conn *c, int code, const char *ctype, const char *body,
		    size_t blen, const char *extra)
{
	const char *reason = code == 200 ? "OK" : code == 302 ? "Found" : code == 404 ? "Not Found"
			     : "Internal Server Error";
	c->out.len = 0;
	sb_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
		  code, reason, ctype, blen, extra ? extra : "",
		  c->keepalive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
	c->hdr_len = c->out.len;
	sb_add(&c->out, body, blen);
	c->outoff = 0;
	send_now(s, c);
}

static void answer(struct simthr *s, struct conn *c)
{
	struct simnode *nd = &s->nodes[c->node];
	char body[512], extra[256];
	/* The one clock read of this request: after the service delay (on_timer calls us once
	 * it is over), right before the reply is formatted and written by send_now(). The honest
	 * mid-point estimates this instant, so a delay here would be a bias of the sim, not of
	 * the method; the delay before it is the node's own (it shows as delay/2). */
	int64_t v = clock_value(s, nd);
	enum fault f = c->fault_now ? nd->fault : F_NONE;
	int n = 0;

	if (c->kind == K_NOTFOUND || (c->kind == K_TIME && nd->fault == F_MISSING)) {
		respond(s, c, 404, "application/json", "{\"error\":\"not found\"}", 21, NULL);
		return;
	}
	if (c->kind == K_TIME) {
		n = snprintf(body, sizeof(body), "{\"time_us\": %" PRId64 ", \"timestamp\": %" PRId64 "}", v, v);
		respond(s, c, 200, "application/json", body, (size_t)n, NULL);
		return;
	}
	if (c->kind == K_STATUS2)
		f = F_NONE;
	switch (f) {
	case F_HTTP500:
		respond(s, c, 500, "application/json", "{\"error\":\"boom\"}", 16, NULL);
		return;
	case F_NONJSON:
		respond(s, c, 200, "text/html", "<html>not json</html>", 21, NULL);
		return;
	case F_ARRAY:
		n = snprintf(body, sizeof(body), "[%" PRId64 "]", v);
		respond(s, c, 200, "application/json", body, (size_t)n, NULL);
		return;
	case F_HUGE: {
		size_t big = 2u * 1024 * 1024;
		char *b = xmalloc(big);
		memset(b, ' ', big);
		n = snprintf(b, 64, "{\"%s\": %" PRId64 ",\"pad\":\"", s->field, v);
		b[n] = ' ';
		memcpy(b + big - 2, "\"}", 2);
		respond(s, c, 200, "application/json", b, big, NULL);
		free(b);
		return;
	}
	case F_SLOW:
		c->out.len = 0;
		sb_printf(&c->out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n");
		c->outoff = 0;
		c->hdr_len = 0;
		c->slow_left = 100000;
		c->keepalive = 0;
		c->kind = -1; /* after the headers: trickle */
		send_now(s, c);
		return;
	case F_REDIR_SAME:
	case F_REDIR_OTHER:
		if (f == F_REDIR_SAME)
			snprintf(extra, sizeof(extra), "Location: /status2\r\n");
		else /* another host: must not be followed */
			snprintf(extra, sizeof(extra), "Location: http://127.0.0.2:%ld%s\r\n",
				 s->base_port + c->node, s->status_path);
		respond(s, c, 302, "text/plain", "", 0, extra);
		return;
	default:
		break;
	}
	switch (f) {
	case F_MISSING:
	case F_TIME_ONLY:
		n = snprintf(body, sizeof(body), "{\"version\": \"sim\", \"node\": %d}", c->node);
		break;
	case F_STRING:
		n = snprintf(body, sizeof(body), "{\"%s\": \"%" PRId64 "\"}", s->field, v);
		break;
	case F_BADSTRING:
		n = snprintf(body, sizeof(body), "{\"%s\": \"%" PRId64 "us\"}", s->field, v);
		break;
	case F_NEGSTRING:
		n = snprintf(body, sizeof(body), "{\"%s\": \"-%" PRId64 "\"}", s->field, v);
		break;
	case F_FLOAT:
		n = snprintf(body, sizeof(body), "{\"%s\": %" PRId64 ".75}", s->field, v);
		break;
	case F_NEGATIVE:
		n = snprintf(body, sizeof(body), "{\"%s\": %" PRId64 "}", s->field, -v);
		break;
	case F_BOOL:
		n = snprintf(body, sizeof(body), "{\"%s\": true}", s->field);
		break;
	case F_NULL:
		n = snprintf(body, sizeof(body), "{\"%s\": null}", s->field);
		break;
	default:
		n = snprintf(body, sizeof(body), "{\"%s\": %" PRId64 ", \"node\": %d, \"version\": \"sim\"}",
			     s->field, v, c->node);
	}
	respond(s, c, 200, "application/json", body, (size_t)n, NULL);
}

/* A full request head is in c->in: decide what to do with it. */
static void on_request(struct simthr *s, struct conn *c, size_t head_len)
{
	struct simnode *nd = &s->nodes[c->node];
	char path[1024] = "", ver[16] = "";
	char *p;
	c->keepalive = 1;
	if (sscanf(c->in, "GET %1023s HTTP/%15s", path, ver) < 1) {
		c->keepalive = 0;
		c->kind = K_NOTFOUND;
	} else {
		if (!strcmp(ver, "1.0"))
			c->keepalive = 0;
		for (p = c->in; p && p < c->in + head_len; p = strstr(p, "\r\n")) {
			p += 2;
			if (!strncasecmp(p, "Connection:", 11)) {
				char *v = p + 11;
				while (*v == ' ')
					v++;
				if (!strncasecmp(v, "close", 5))
					c->keepalive = 0;
				else if (!strncasecmp(v, "keep-alive", 10))
					c->keepalive = 1;
			}
		}
		if (!strcmp(path, s->status_path))
			c->kind = K_STATUS;
		else if (!strcmp(path, "/time"))
			c->kind = K_TIME;
		else if (!strcmp(path, "/status2"))
			c->kind = K_STATUS2;
		else
			c->kind = K_NOTFOUND;
	}
	memmove(c->in, c->in + head_len, c->inlen - head_len);
	c->inlen -= head_len;
	c->in[c->inlen] = 0;
	c->fault_now = 0;
	if (c->kind == K_STATUS) {
		nd->requests++;
		c->fault_now = nd->fault != F_NONE && nd->requests % nd->fault_every == 0;
	}
	if (c->fault_now && nd->fault == F_TIMEOUT) {
		c->st = C_HOLD; /* never answer; the client gives up */
		set_events(s, c, EPOLLIN);
		return;
	}
	if (c->fault_now && nd->fault == F_CLOSE) {
		conn_close(s, c);
		return;
	}
	if (nd->delay_ms > 0) {
		c->st = C_WAIT;
		c->wake_ns = ipt_mono_ns() + nd->delay_ms * 1000000LL;
		set_events(s, c, EPOLLIN);
		return;
	}
	answer(s, c);
}

static void on_readable(struct simthr *s, struct conn *c)
{
	for (;;) {
		ssize_t r;
		char *end;
		if (c->inlen >= sizeof(c->in) - 1) {
			conn_close(s, c);
			return;
		}
		r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(s, c);
			return;
		}
		if (r < 0)
			return;
		if (c->st != C_READ)
			continue; /* held or delayed: discard nothing, just notice a close */
		c->inlen += (size_t)r;
		c->in[c->inlen] = 0;
		end = strstr(c->in, "\r\n\r\n");
		if (end) {
			on_request(s, c, (size_t)(end + 4 - c->in));
			return;
		}
	}
}

static void on_writable(struct simthr *s, struct conn *c)
{
	while (c->outoff < c->out.len) {
		/* split: the headers go in a write() of their own; with Nagle on, the body then waits
		 * until the client ACKs them, which a client in delayed-ACK mode does ~40 ms later */
		size_t end = c->split && c->outoff < c->hdr_len ? c->hdr_len : c->out.len;
		ssize_t w = send(c->fd, c->out.p + c->outoff, end - c->outoff, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			conn_close(s, c);
			return;
		}
		c->outoff += (size_t)w;
	}
	if (c->kind == -1) {
		c->st = C_SLOW;
		c->wake_ns = ipt_mono_ns() + 100000000LL;
		set_events(s, c, EPOLLIN);
		return;
	}
	if (!c->keepalive) {
		shutdown(c->fd, SHUT_WR);
		conn_close(s, c);
		return;
	}
	c->st = C_READ;
	c->out.len = c->outoff = 0;
	set_events(s, c, EPOLLIN);
	if (strstr(c->in, "\r\n\r\n")) /* pipelined request already buffered */
		on_request(s, c, (size_t)(strstr(c->in, "\r\n\r\n") + 4 - c->in));
}

static void on_timer(struct simthr *s, struct conn *c)
{
	if (c->st == C_WAIT) {
		answer(s, c);
		return;
	}
	if (c->st == C_SLOW) {
		if (c->slow_left == 0 || send(c->fd, " ", 1, MSG_NOSIGNAL) != 1) {
			conn_close(s, c);
			return;
		}
		c->slow_left--;
		c->wake_ns = ipt_mono_ns() + 100000000LL;
	}
}

/* bind4: the IPv4 address (network order); dual: [::] accepting IPv4 too */
static int listen_on(uint32_t bind4, int dual, long port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
	int one = 1, zero = 0;
	int fd = socket(dual ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr *sa = dual ? (struct sockaddr *)&a6 : (struct sockaddr *)&a;
	socklen_t salen = dual ? sizeof(a6) : sizeof(a);
	a.sin_addr.s_addr = bind4;
	a6.sin6_addr = in6addr_any;
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (dual)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, sa, salen) || listen(fd, 1024)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void *sim_loop(void *arg)
{
	struct simthr *t = arg;
	int64_t end_ns = t->end_ns;
	while (!atomic_load(&sim_stop)) {
		struct epoll_event ev[256];
		int64_t now = ipt_mono_ns(), next = now + 200000000LL;
		int n, tmo;
		if (end_ns && now >= end_ns)
			break;
		for (int fd = 0; fd <= t->maxfd; fd++) {
			struct conn *cc = t->conns[fd];
			if (!cc || (cc->st != C_WAIT && cc->st != C_SLOW))
				continue;
			if (cc->wake_ns <= now)
				on_timer(t, cc);
			else if (cc->wake_ns < next)
				next = cc->wake_ns;
		}
		if (end_ns && end_ns < next)
			next = end_ns;
		now = ipt_mono_ns();
		tmo = next > now ? (int)((next - now + 999999) / 1000000) : 0;
		n = epoll_wait(t->ep, ev, 256, tmo);
		for (int k = 0; k < n; k++) {
			int tag = ev[k].data.fd;
			if (tag < 0) {
				int node = -tag - 1;
				for (;;) {
					int cfd = accept4(t->nodes[node].lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					struct conn *nc;
					struct epoll_event e = {.events = EPOLLIN};
					int one = 1;
					if (cfd < 0)
						break;
					if (cfd >= t->nconns_cap) {
						close(cfd);
						continue;
					}
					/* Nagle stays on where the node splits its writes: that is the hold */
					if (!t->nodes[node].split_writes)
						setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					nc = xcalloc(1, sizeof(*nc));
					nc->fd = cfd;
					nc->node = node;
					nc->split = t->nodes[node].split_writes;
					nc->st = C_READ;
					t->conns[cfd] = nc;
					if (cfd > t->maxfd)
						t->maxfd = cfd;
					e.data.fd = cfd;
					epoll_ctl(t->ep, EPOLL_CTL_ADD, cfd, &e);
				}
				continue;
			}
			{
				struct conn *cc = conn_get(t, tag);
				if (!cc)
					continue;
				if (ev[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					on_readable(t, cc);
				cc = conn_get(t, tag);
				if (cc && (ev[k].events & EPOLLOUT) && cc->st == C_WRITE)
					on_writable(t, cc);
			}
		}
	}
	for (int fd = 0; fd <= t->maxfd; fd++)
		if (t->conns[fd])
			conn_close(t, t->conns[fd]);
	return NULL;
}

int cmd_sim(int argc, char **argv)
{
	static const struct option opts[] = {
		{"nodes", required_argument, 0, 'n'},   {"base-port", required_argument, 0, 'p'},
		{"config", required_argument, 0, 'c'},  {"field", required_argument, 0, 'f'},
		{"status-path", required_argument, 0, 's'}, {"duration", required_argument, 0, 'd'},
		{"seed", required_argument, 0, 'S'},    {"ready-file", required_argument, 0, 'r'},
		{"threads", required_argument, 0, 'T'}, {"split-writes", no_argument, 0, 'W'},
		{"bind", required_argument, 0, 'b'},    {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	struct sim s = {.n = 40, .base_port = 8080};
	const char *config = NULL, *ready_file = NULL, *field = NULL, *spath = NULL;
	double duration = 0;
	long seed = 1, v;
	int c, nodes_given = 0, port_given = 0, rc = 0, nthreads = 2, split_all = 0, dual = 0;
	uint32_t bind4 = htonl(INADDR_LOOPBACK);
	char host[INET_ADDRSTRLEN + 2] = "127.0.0.1";
	int64_t end_ns = 0;
	struct rlimit rl;
	struct simthr *thr = NULL;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (ipt_parse_int_range(optarg, 1, 4096, &s.n)) {
				ipt_err("sim: bad --nodes '%s' (1..4096)", optarg);
				return IPT_EXIT_USAGE;
			}
			nodes_given = 1;
			break;
		case 'p':
			if (ipt_parse_int_range(optarg, 1, 65535, &s.base_port)) {
				ipt_err("sim: bad --base-port '%s' (1..65535)", optarg);
				return IPT_EXIT_USAGE;
			}
			port_given = 1;
			break;
		case 'c': config = optarg; break;
		case 'f': field = optarg; break;
		case 's':
			if (optarg[0] != '/') {
				ipt_err("sim: bad --status-path '%s' (must start with '/')", optarg);
				return IPT_EXIT_USAGE;
			}
			spath = optarg;
			break;
		case 'd':
			if (ipt_parse_double(optarg, &duration) || duration <= 0) {
				ipt_err("sim: bad --duration '%s' (seconds > 0)", optarg);
				return IPT_EXIT_USAGE;
			}
			break;
		case 'S':
			if (ipt_parse_int_range(optarg, 0, 1L << 30, &v)) {
				ipt_err("sim: bad --seed '%s'", optarg);
				return IPT_EXIT_USAGE;
			}
			seed = v;
			break;
		case 'r': ready_file = optarg; break;
		case 'T':
			if (ipt_parse_int_range(optarg, 1, 64, &v)) {
				ipt_err("sim: bad --threads '%s' (1..64)", optarg);
				return IPT_EXIT_USAGE;
			}
			nthreads = (int)v;
			break;
		case 'W': split_all = 1; break;
		case 'b':
			if (!strcmp(optarg, "::")) {
				dual = 1;
				snprintf(host, sizeof(host), "[::]");
			} else if (inet_pton(AF_INET, optarg, &bind4) == 1) {
				snprintf(host, sizeof(host), "%s", optarg);
			} else {
				ipt_err("sim: bad --bind '%s' (an IPv4 address, or :: for dual stack)", optarg);
				return IPT_EXIT_USAGE;
			}
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: return ipt_getopt_error("sim", c, argv);
		}
	}
	if (optind < argc) {
		ipt_err("sim: unexpected argument '%s'", argv[optind]);
		return IPT_EXIT_USAGE;
	}
	s.field = xstrdup("ippan_time_us");
	s.status_path = xstrdup("/status");
	if (config) {
		if (sim_load_config(&s, config, nodes_given, port_given)) {
			rc = IPT_EXIT_USAGE;
			goto out;
		}
	} else {
		sim_default_nodes(&s);
	}
	if (field) {
		free(s.field);
		s.field = xstrdup(field);
	}
	if (spath) {
		free(s.status_path);
		s.status_path = xstrdup(spath);
	}
	if (s.base_port + s.n - 1 > 65535) {
		ipt_err("sim: ports %ld..%ld go above 65535", s.base_port, s.base_port + s.n - 1);
		rc = IPT_EXIT_USAGE;
		goto out;
	}
	for (long i = 0; i < s.n; i++) {
		s.nodes[i].rng ^= (uint64_t)seed * 0x94D049BB133111EBULL;
		if (split_all)
			s.nodes[i].split_writes = 1;
	}

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (nthreads > s.n)
		nthreads = (int)s.n;
	thr = xcalloc((size_t)nthreads, sizeof(*thr));
	for (int k = 0; k < nthreads; k++) {
		thr[k].nodes = s.nodes;
		thr[k].n = s.n;
		thr[k].base_port = s.base_port;
		thr[k].field = s.field;
		thr[k].status_path = s.status_path;
		thr[k].nconns_cap = 65536;
		thr[k].conns = xcalloc((size_t)thr[k].nconns_cap, sizeof(*thr[k].conns));
		thr[k].ep = epoll_create1(EPOLL_CLOEXEC);
	}
	for (long i = 0; i < s.n; i++)
		s.nodes[i].lfd = -1;
	for (long i = 0; i < s.n; i++) {
		struct epoll_event e = {.events = EPOLLIN};
		if (s.nodes[i].fault == F_DOWN)
			continue;
		s.nodes[i].lfd = listen_on(bind4, dual, s.base_port + i);
		if (s.nodes[i].lfd < 0) {
			ipt_err("sim: cannot listen on %s:%ld: %s", host, s.base_port + i, strerror(errno));
			rc = IPT_EXIT_FAIL;
			goto out;
		}
		/* listening sockets are told apart from connections by a negative tag */
		e.data.fd = -(int)(i + 1);
		epoll_ctl(thr[i % nthreads].ep, EPOLL_CTL_ADD, s.nodes[i].lfd, &e);
	}
	s.start_mono = ipt_mono_ns();
	if (duration > 0)
		end_ns = s.start_mono + (int64_t)(duration * 1e9);
	for (int k = 0; k < nthreads; k++) {
		thr[k].start_mono = s.start_mono;
		thr[k].end_ns = end_ns;
	}
	for (long i = 0; i < s.n; i++) {
		struct simnode *nd = &s.nodes[i];
		printf("node-%02ld http://%s:%ld offset_us=%" PRId64 " drift_ppm=%g jitter_us=%" PRId64
		       " step_at_ms=%" PRId64 " step_at_req=%" PRId64 " step_us=%" PRId64 " delay_ms=%" PRId64
		       " fault=%s fault_every=%ld split_writes=%d\n",
		       i, host, s.base_port + i, nd->offset_us, nd->drift_ppm, nd->jitter_us, nd->step_at_ms,
		       nd->step_at_req, nd->step_us, nd->delay_ms, fault_names[nd->fault], nd->fault_every,
		       nd->split_writes);
	}
	printf("ready: %ld nodes on %s:%ld..%ld (%s field '%s')\n", s.n, host, s.base_port,
	       s.base_port + s.n - 1, s.status_path, s.field);
	fflush(stdout);
	if (ready_file) {
		FILE *f = fopen(ready_file, "w");
		if (f) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	signal(SIGINT, sim_on_signal);
	signal(SIGTERM, sim_on_signal);
	signal(SIGPIPE, SIG_IGN);

	for (int k = 0; k < nthreads; k++) {
		if (k > 0 && pthread_create(&thr[k].th, NULL, sim_loop, &thr[k]) != 0) {
			ipt_err("sim: cannot start thread %d", k);
			atomic_store(&sim_stop, 1);
			nthreads = k;
			break;
		}
	}
	sim_loop(&thr[0]);
	atomic_store(&sim_stop, 1);
	for (int k = 1; k < nthreads; k++)
		pthread_join(thr[k].th, NULL);
out:
	for (long i = 0; thr && i < s.n; i++)
		if (s.nodes[i].lfd >= 0)
			close(s.nodes[i].lfd);
	for (int k = 0; thr && k < nthreads; k++) {
		free(thr[k].conns);
		close(thr[k].ep);
	}
	free(thr);
	free(s.nodes);
	free(s.field);
	free(s.status_path);
	return rc;
}
