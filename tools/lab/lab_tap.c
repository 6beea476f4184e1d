// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What vmm-sim and the wire relay share: namespaces, taps, stopping on
 * SIGINT/SIGTERM, and the pump that moves frames from one tap to another
 * (batches like vhost, optional programmed delay, optional signal eventfd).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "lab_tap.h"
#include "lib/clock.h"
#include "lib/netns.h"
#include "lib/output.h"

/* ---- namespaces and taps ----------------------------------------------- */

int lab_netns_resolve(const char *opt, const char *spec, struct lab_netns *out, char *err,
		      size_t errlen)
{
	struct netseg_netns ns;

	memset(out, 0, sizeof(*out));
	if (!spec || !*spec) {
		snprintf(err, errlen, "missing %s (a namespace path or an `ip netns` name)", opt);
		return LAB_EXIT_USAGE;
	}
	/* "all" means every namespace to a tracer; a tap lives in exactly one */
	if (!strcmp(spec, "all") || netns_resolve_opt(opt, spec, &ns, err, errlen)) {
		if (!strcmp(spec, "all"))
			snprintf(err, errlen, "invalid %s 'all': name one namespace", opt);
		return LAB_EXIT_USAGE;
	}
	snprintf(out->spec, sizeof(out->spec), "%s", spec);
	snprintf(out->path, sizeof(out->path), "%s", ns.path);
	out->ino = ns.ino;
	return 0;
}

int lab_ifname_check(const char *opt, const char *name, char *err, size_t errlen)
{
	size_t n = name ? strlen(name) : 0;

	if (!n) {
		snprintf(err, errlen, "missing %s (an interface name)", opt);
		return LAB_EXIT_USAGE;
	}
	if (n >= IFNAMSIZ) {
		snprintf(err, errlen, "invalid %s '%s': interface names have at most %d characters",
			 opt, name, IFNAMSIZ - 1);
		return LAB_EXIT_USAGE;
	}
	for (const char *c = name; *c; c++)
		if (*c == '/' || *c == ':' || *c == '%' || *c <= ' ' || *c == 0x7f) {
			snprintf(err, errlen, "invalid %s '%s': '%c' is not allowed in an interface name",
				 opt, name, *c);
			return LAB_EXIT_USAGE;
		}
	if (!strcmp(name, ".") || !strcmp(name, "..")) {
		snprintf(err, errlen, "invalid %s '%s': not an interface name", opt, name);
		return LAB_EXIT_USAGE;
	}
	return 0;
}

#define LAB_DELAY_MAX_US 10000000ull /* 10 s */

static int parse_us(const char *opt, const char *whole, const char *s, uint64_t *out, char *err,
		    size_t errlen)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!*s || *s < '0' || *s > '9')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		goto bad;
	if (v > LAB_DELAY_MAX_US) {
		snprintf(err, errlen, "invalid %s '%s': at most %llu us", opt, whole,
			 LAB_DELAY_MAX_US);
		return LAB_EXIT_USAGE;
	}
	*out = v;
	return 0;
bad:
	snprintf(err, errlen, "invalid %s '%s': not a whole number of microseconds", opt, whole);
	return LAB_EXIT_USAGE;
}

int lab_parse_delay(const char *opt, const char *s, bool pair, uint64_t *first,
		    uint64_t *second, char *err, size_t errlen)
{
	const char *comma = strchr(s, ',');
	char a[32];

	if (!comma) {
		if (parse_us(opt, s, s, first, err, errlen))
			return LAB_EXIT_USAGE;
		if (second)
			*second = *first;
		return 0;
	}
	if (!pair || (size_t)(comma - s) >= sizeof(a)) {
		snprintf(err, errlen, "invalid %s '%s': expected %s", opt, s,
			 pair ? "N or N,M (microseconds)" : "N (microseconds)");
		return LAB_EXIT_USAGE;
	}
	memcpy(a, s, comma - s);
	a[comma - s] = 0;
	if (parse_us(opt, s, a, first, err, errlen) || parse_us(opt, s, comma + 1, second, err, errlen))
		return LAB_EXIT_USAGE;
	return 0;
}

#define CAP_NET_ADMIN_BIT 12
#define CAP_SYS_ADMIN_BIT 21

int lab_privs_check(char *err, size_t errlen)
{
	FILE *f = fopen("/proc/self/status", "re");
	unsigned long long caps = 0;
	char line[256];
	const unsigned long long need = (1ull << CAP_NET_ADMIN_BIT) | (1ull << CAP_SYS_ADMIN_BIT);

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "CapEff: %llx", &caps) == 1)
				break;
		fclose(f);
	}
	if ((caps & need) == need)
		return 0;
	snprintf(err, errlen,
		 "needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN, to create taps in other network namespaces); run it with sudo");
	return LAB_EXIT_RESOURCE;
}

/* A packet socket on ifindex (in the current namespace) that keeps only
 * frames the stack transmits into the device, with the kernel's software
 * stamp taken as the transmit starts. */
static int stamp_socket_open(int ifindex, char *why, size_t whylen)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0x40000),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = ifindex };
	int on = 1, rcvbuf = 4 << 20;
	const char *step;
	/* protocol 0: nothing is queued before the filter and bind are in place */
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(why, whylen, "packet socket: %s", strerror(errno));
		return -1;
	}
	step = "SO_ATTACH_FILTER";
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		goto fail;
	step = "SO_TIMESTAMPNS";
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)))
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	step = "bind";
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		goto fail;
	return fd;
fail:
	snprintf(why, whylen, "packet socket %s: %s", step, strerror(errno));
	close(fd);
	return -1;
}

int lab_tap_open(const struct lab_netns *ns, const char *name, bool xmit_stamps,
		 struct lab_tap *tap, char *err, size_t errlen)
{
	struct ifreq ifr;
	int self, target, fd = -1, rc = 0, e;

	memset(tap, 0, sizeof(*tap));
	tap->fd = tap->stamp_fd = -1;
	tap->ns = *ns;
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		snprintf(err, errlen, "cannot open our own network namespace: %s", strerror(errno));
		return LAB_EXIT_RESOURCE;
	}
	target = open(ns->path, O_RDONLY | O_CLOEXEC);
	if (target < 0) {
		e = errno;
		snprintf(err, errlen, "cannot open network namespace '%s' (%s): %s", ns->spec,
			 ns->path, strerror(e));
		close(self);
		return e == EACCES || e == EPERM ? LAB_EXIT_RESOURCE : LAB_EXIT_USAGE;
	}
	if (setns(target, CLONE_NEWNET)) {
		e = errno;
		snprintf(err, errlen, "cannot enter network namespace '%s' (%s): %s", ns->spec,
			 ns->path, e == EINVAL ? "not a network namespace" : strerror(e));
		close(target);
		close(self);
		return e == EINVAL ? LAB_EXIT_USAGE : LAB_EXIT_RESOURCE;
	}
	/* inside ns: the tap's device is created in the opener's namespace */
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT || e == ENODEV || e == ENXIO)
			snprintf(err, errlen,
				 "no /dev/net/tun (%s): this kernel or container offers no tun/tap devices (modprobe tun)",
				 strerror(e));
		else
			snprintf(err, errlen, "cannot open /dev/net/tun: %s", strerror(e));
		rc = LAB_EXIT_RESOURCE;
		goto back;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		e = errno;
		snprintf(err, errlen, "cannot create tap '%s' in network namespace '%s': %s%s", name,
			 ns->spec, strerror(e),
			 e == EBUSY || e == EINVAL || e == EEXIST ?
				 " (an interface of that name exists there already?)" : "");
		close(fd);
		fd = -1;
		rc = LAB_EXIT_RESOURCE;
		goto back;
	}
	snprintf(tap->name, sizeof(tap->name), "%s", ifr.ifr_name);
	tap->ifindex = (int)if_nametoindex(tap->name);
	tap->fd = fd;
	if (xmit_stamps)
		tap->stamp_fd = stamp_socket_open(tap->ifindex, tap->stamp_err, sizeof(tap->stamp_err));
back:
	if (setns(self, CLONE_NEWNET)) {
		/* going on in the wrong namespace would be worse than stopping */
		perror("netseg lab: returning to our own network namespace");
		exit(LAB_EXIT_RESOURCE);
	}
	close(target);
	close(self);
	return rc;
}

void lab_tap_close(struct lab_tap *tap)
{
	if (tap->fd >= 0)
		close(tap->fd);
	if (tap->stamp_fd >= 0)
		close(tap->stamp_fd);
	tap->fd = tap->stamp_fd = -1;
}

void lab_tap_json(const struct lab_tap *tap, char *buf, size_t len)
{
	char name[64], path[600];

	out_json_string(name, sizeof(name), tap->name);
	out_json_string(path, sizeof(path), tap->ns.path);
	snprintf(buf, len, "{\"name\":%s,\"ifindex\":%d,\"netns\":%s,\"netns_ino\":%" PRIu64 "}",
		 name, tap->ifindex, path, tap->ns.ino);
}

void lab_tap_text(const struct lab_tap *tap, char *buf, size_t len)
{
	snprintf(buf, len, "%s@%s(ifindex=%d)", tap->name, tap->ns.spec, tap->ifindex);
}

/* ---- stopping ------------------------------------------------------------ */

static int stop_efd = -1;
static volatile sig_atomic_t stop_sig;

static void on_stop_signal(int sig)
{
	uint64_t one = 1;
	int saved = errno;

	stop_sig = sig;
	if (write(stop_efd, &one, sizeof(one)) < 0) {
		/* the counter is already non-zero: the pumps see it */
	}
	errno = saved;
}

int lab_stop_install(void)
{
	struct sigaction sa;

	if (stop_efd < 0)
		stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (stop_efd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int lab_stop_fd(void)
{
	return stop_efd;
}

void lab_stop_request(void)
{
	uint64_t one = 1;

	if (write(stop_efd, &one, sizeof(one)) < 0) {
		/* already readable */
	}
}

const char *lab_ended_by(void)
{
	return stop_sig == SIGTERM ? "SIGTERM" : stop_sig == SIGINT ? "SIGINT" : "error";
}

/* ---- pumps --------------------------------------------------------------- */

/* Held frames: a ring of fixed slots in one lazily backed mapping (a slot
 * holds the largest frame a tap can hand out: 64 KiB MTU + header). When
 * the ring is full the pump stops reading; the tap's own queue holds what
 * comes meanwhile (and drops past its txqueuelen, counted by the kernel). */
#define PUMP_SLOTS 1024u
#define PUMP_SLOT_BYTES (65536u + 256u)
#define PUMP_BATCH 64u

struct held {
	uint64_t read_ns;
	uint64_t due_ns;
	uint32_t len;
};

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void lab_pump_init(struct lab_pump *p)
{
	memset(p, 0, sizeof(*p));
	p->in_fd = p->out_fd = p->signal_fd = p->stamp_fd = -1;
	stats_init(&p->wake, STATS_DEFAULT_KEEP);
	stats_init(&p->achieved, STATS_DEFAULT_KEEP);
	stats_init(&p->err, STATS_DEFAULT_KEEP);
	stats_init(&p->late, STATS_DEFAULT_KEEP);
}

void lab_pump_free(struct lab_pump *p)
{
	stats_free(&p->achieved);
	stats_free(&p->err);
	stats_free(&p->late);
	stats_free(&p->wake);
}

static void count_drop(struct lab_pump *p, const char *reason)
{
	p->dropped++;
	for (int i = 0; i < LAB_DROP_REASONS; i++) {
		if (!p->drops[i].count) {
			snprintf(p->drops[i].reason, sizeof(p->drops[i].reason), "%s", reason);
			p->drops[i].count = 1;
			return;
		}
		if (!strcmp(p->drops[i].reason, reason)) {
			p->drops[i].count++;
			return;
		}
	}
	/* more distinct reasons than slots: the last slot takes the rest */
	p->drops[LAB_DROP_REASONS - 1].count++;
}

static const char *errno_name(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "unknown";
}

/* Transmit stamps waiting for their frame. The packet socket sees each
 * frame just before the tap queues it, so stamps and frames come in the
 * same order; a frame takes the oldest stamp with its length and the hash
 * of its first bytes, and stamps skipped on the way were frames the tap
 * dropped. A frame with no stamp (the socket overflowed) is timed from its
 * read and counted. */
#define STAMP_Q 512u
#define STAMP_HASH_BYTES 256u

struct xstamp {
	uint64_t mono_ns;
	uint32_t len;
	uint32_t hash;
};

struct stamp_state {
	struct xstamp q[STAMP_Q];
	unsigned head, n;
	struct netseg_clock clk;  /* realtime (packet socket stamps) -> monotonic */
};

static uint32_t frame_hash(const uint8_t *b, size_t len)
{
	uint32_t h = 2166136261u;   /* FNV-1a */

	if (len > STAMP_HASH_BYTES)
		len = STAMP_HASH_BYTES;
	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static void stamps_drain(struct lab_pump *p, struct stamp_state *st)
{
	uint8_t buf[STAMP_HASH_BYTES];
	char cbuf[CMSG_SPACE(sizeof(struct timespec)) + 64];

	clock_refresh(&st->clk, 1000000000ull);
	for (;;) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;
		uint64_t real = 0;
		ssize_t n = recvmsg(p->stamp_fd, &mh, MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;

				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
				real = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
			}
		if (!real)
			continue;
		if (st->n == STAMP_Q) {
			st->head = (st->head + 1) % STAMP_Q;
			st->n--;
			p->stamps_unmatched++;
		}
		struct xstamp *x = &st->q[(st->head + st->n) % STAMP_Q];

		x->mono_ns = (uint64_t)((int64_t)real - st->clk.offset_ns);
		x->len = (uint32_t)n;
		x->hash = frame_hash(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf));
		st->n++;
	}
}

/* The transmit stamp of this frame (read at read_ns), or 0. */
static uint64_t stamp_match(struct lab_pump *p, struct stamp_state *st, const uint8_t *frame,
			    uint32_t len, uint64_t read_ns)
{
	uint32_t h = frame_hash(frame, len);

	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < st->n; i++) {
			struct xstamp *x = &st->q[(st->head + i) % STAMP_Q];
			uint64_t t;

			if (x->len != len || x->hash != h)
				continue;
			t = x->mono_ns;
			p->stamps_unmatched += i;
			st->head = (st->head + i + 1) % STAMP_Q;
			st->n -= i + 1;
			/* a stamp from the future or from long ago is not this frame's */
			if (t > read_ns || read_ns - t > 1000000000ull)
				return 0;
			return t;
		}
		if (!pass)
			stamps_drain(p, st);
	}
	return 0;
}

struct pump_start {
	struct lab_pump *p;
	volatile int started;
};

static void pump_fatal(struct lab_pump *p, const char *what, int e)
{
	snprintf(p->fatal, sizeof(p->fatal), "%s: %s", what, strerror(e));
	lab_stop_request();
}

static void *pump_thread(void *arg)
{
	struct pump_start *ps = arg;
	struct lab_pump *p = ps->p;
	struct held meta[PUMP_SLOTS];
	unsigned head = 0, count = 0;     /* ring of held frames */
	struct stamp_state *st = NULL;
	uint8_t *slots;
	int tfd;

	p->tid = (pid_t)syscall(SYS_gettid);
	prctl(PR_SET_NAME, p->thread_name, 0, 0, 0);
	if (p->rt_prio > 0) {
		struct sched_param sp = { .sched_priority = p->rt_prio };
		int e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);

		if (e)
			p->rt_errno = e;
		else
			p->rt_applied = p->rt_prio;
	}
	/* 50 us of default timer slack would be most of the error budget */
	prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
	__atomic_store_n(&ps->started, 1, __ATOMIC_RELEASE);   /* ps is gone after this */

	slots = mmap(NULL, (size_t)PUMP_SLOTS * PUMP_SLOT_BYTES, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (slots == MAP_FAILED) {
		pump_fatal(p, "cannot map the frame ring", errno);
		return NULL;
	}
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tfd < 0) {
		pump_fatal(p, "timerfd_create", errno);
		munmap(slots, (size_t)PUMP_SLOTS * PUMP_SLOT_BYTES);
		return NULL;
	}
	if (p->stamp_fd >= 0) {
		st = calloc(1, sizeof(*st));
		if (st) {
			clock_measure(&st->clk);
			stamps_drain(p, st);   /* what came before we ran is not ours */
			st->n = 0;
		}
	}

	for (;;) {
		uint64_t now = now_ns();

		/*
		 * 1. deliver everything due (within the spin window), back to
		 * back, signalling once. The signal goes first: a guest handles
		 * what vhost put in its ring only when the interrupt comes,
		 * while the lab's "guest" is a namespace that handles a frame
		 * the moment it is written. Signalling after the writes would
		 * put the VM's whole receive, echo and reply inside the
		 * tap-to-interrupt segment (E, L), which no real VM does.
		 */
		if (count && meta[head].due_ns <= now + p->spin_ns) {
			uint64_t delivered = 0;
			bool signalled = false;

			while (count && meta[head].due_ns <= now + p->spin_ns) {
				struct held *h = &meta[head];
				uint8_t *buf = slots + (size_t)head * PUMP_SLOT_BYTES;
				uint64_t start, done;
				ssize_t n;

				/* no PAUSE in this loop: in a VM, pause-loop exiting
				 * hands the vCPU back to the hypervisor, which cost
				 * hundreds of us here; the vDSO clock read paces it */
				while ((start = now_ns()) < h->due_ns)
					;
				if (!signalled && p->signal_fd >= 0) {
					uint64_t one = 1;

					if (write(p->signal_fd, &one, sizeof(one)) == sizeof(one))
						p->signals++;
					else
						p->signal_errors++;
				}
				signalled = true;
				do
					n = write(p->out_fd, buf, h->len);
				while (n < 0 && errno == EINTR);
				done = now_ns();
				if (n < 0) {
					char why[40];

					snprintf(why, sizeof(why), "write:%s", errno_name(errno));
					count_drop(p, why);
				} else {
					p->frames++;
					p->bytes += h->len;
					delivered++;
					stats_add(&p->achieved, done - h->read_ns);
					stats_add(&p->err, done - h->read_ns - p->delay_ns);
					stats_add(&p->late, start - h->due_ns);
				}
				head = (head + 1) % PUMP_SLOTS;
				count--;
				now = done;
			}
			if (delivered)
				p->deliveries++;
			continue;
		}

		/* 2. wait for frames, the next due time, or stop */
		struct pollfd pfd[3] = {
			{ .fd = lab_stop_fd(), .events = POLLIN },
			{ .fd = count < PUMP_SLOTS ? p->in_fd : -1, .events = POLLIN },
			{ .fd = count ? tfd : -1, .events = POLLIN },
		};
		if (count) {
			struct itimerspec its = {};
			uint64_t at = meta[head].due_ns - p->spin_ns;

			its.it_value.tv_sec = (time_t)(at / 1000000000ull);
			its.it_value.tv_nsec = (long)(at % 1000000000ull);
			if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
				its.it_value.tv_nsec = 1;
			timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
		}
		if (count == PUMP_SLOTS)
			p->queue_full++;
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			pump_fatal(p, "poll", errno);
			break;
		}
		if (pfd[0].revents)
			break;
		if (pfd[2].revents) {
			uint64_t ticks;

			if (read(tfd, &ticks, sizeof(ticks)) < 0) {
				/* raced with a re-arm: nothing to consume */
			}
		}
		if (pfd[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			pump_fatal(p, "the input tap went away", EBADFD);
			break;
		}
		if (!(pfd[1].revents & POLLIN))
			continue;

		/* 3. read what is queued: until EAGAIN, at most a batch, and
		 * never more than the ring holds; stamp each frame as it comes */
		unsigned got = 0;

		while (got < PUMP_BATCH && count < PUMP_SLOTS) {
			unsigned slot = (head + count) % PUMP_SLOTS;
			uint8_t *buf = slots + (size_t)slot * PUMP_SLOT_BYTES;
			ssize_t n = read(p->in_fd, buf, PUMP_SLOT_BYTES);
			uint64_t ts = now_ns();

			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN)
					break;
				pump_fatal(p, "reading the input tap", errno);
				goto out;
			}
			if (n == 0)
				break;
			if ((size_t)n >= PUMP_SLOT_BYTES) {
				count_drop(p, "truncated");
				continue;
			}
			uint64_t t0 = ts;

			if (st) {
				uint64_t x = stamp_match(p, st, buf, (uint32_t)n, ts);

				if (x) {
					p->stamped++;
					stats_add(&p->wake, ts - x);
					t0 = x;
				} else {
					p->unstamped++;
				}
			}
			meta[slot].read_ns = t0;
			meta[slot].due_ns = t0 + p->delay_ns;
			meta[slot].len = (uint32_t)n;
			count++;
			got++;
		}
		if (got) {
			p->read_batches++;
			if (got > p->max_batch)
				p->max_batch = got;
		}
		if (count > p->max_held)
			p->max_held = count;
	}
out:
	/* frames still held when we stopped were never delivered */
	for (; count; count--)
		count_drop(p, "held_at_exit");
	free(st);
	close(tfd);
	munmap(slots, (size_t)PUMP_SLOTS * PUMP_SLOT_BYTES);
	return NULL;
}

int lab_pump_start(struct lab_pump *p, pthread_t *th)
{
	struct pump_start ps = { .p = p, .started = 0 };
	int rc = pthread_create(th, NULL, pump_thread, &ps);

	if (rc)
		return -rc;
	while (!__atomic_load_n(&ps.started, __ATOMIC_ACQUIRE)) {
		struct timespec ts = { 0, 100000 };

		nanosleep(&ts, NULL);
	}
	return 0;
}

static size_t stats_json(struct stats *s, const char *key, char *buf, size_t len)
{
	struct stats_summary sum;

	stats_summarize(s, &sum);
	if (!sum.count)
		return snprintf(buf, len, ",\"%s\":{\"count\":0}", key);
	return snprintf(buf, len,
			",\"%s\":{\"count\":%" PRIu64 ",\"min_ns\":%" PRIu64 ",\"p50_ns\":%.0f,"
			"\"p99_ns\":%.0f,\"max_ns\":%" PRIu64 "}",
			key, sum.count, sum.min, sum.p50, sum.p99, sum.max);
}

#define PUT(...)                                                              \
	do {                                                                  \
		if (off < len)                                                \
			off += snprintf(buf + off, len - off, __VA_ARGS__);   \
	} while (0)

static size_t drops_json(const struct lab_pump *p, char *buf, size_t len)
{
	size_t off = 0;

	PUT("{");
	for (int i = 0; i < LAB_DROP_REASONS && p->drops[i].count; i++)
		PUT("%s\"%s\":%" PRIu64, i ? "," : "", p->drops[i].reason, p->drops[i].count);
	PUT("}");
	return off;
}

void lab_pump_json(struct lab_pump *p, char *buf, size_t len)
{
	size_t off = 0;

	PUT("{\"frames\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"deliveries\":%" PRIu64
	    ",\"signals\":%" PRIu64 ",\"signal_errors\":%" PRIu64 ",\"read_batches\":%" PRIu64
	    ",\"max_batch\":%" PRIu64 ",\"max_held\":%" PRIu64 ",\"queue_full\":%" PRIu64
	    ",\"dropped\":%" PRIu64 ",\"drop_reasons\":",
	    p->frames, p->bytes, p->deliveries, p->signals, p->signal_errors, p->read_batches,
	    p->max_batch, p->max_held, p->queue_full, p->dropped);
	if (off < len)
		off += drops_json(p, buf + off, len - off);
	PUT(",\"delay_ns\":%" PRIu64 ",\"spin_ns\":%" PRIu64 ",\"rt_prio\":%d,\"tid\":%d",
	    p->delay_ns, p->spin_ns, p->rt_applied, (int)p->tid);
	PUT(",\"t0\":\"%s\"", p->stamp_fd >= 0 ? "xmit" : "read");
	if (p->stamp_fd >= 0)
		PUT(",\"stamped\":%" PRIu64 ",\"unstamped\":%" PRIu64 ",\"stamps_unmatched\":%" PRIu64,
		    p->stamped, p->unstamped, p->stamps_unmatched);
	if (off < len)
		off += stats_json(&p->achieved, "achieved", buf + off, len - off);
	if (off < len)
		off += stats_json(&p->err, "error", buf + off, len - off);
	if (off < len)
		off += stats_json(&p->late, "late", buf + off, len - off);
	if (p->stamp_fd >= 0 && off < len)
		off += stats_json(&p->wake, "wake", buf + off, len - off);
	if (p->fatal[0]) {
		char f[400];

		out_json_string(f, sizeof(f), p->fatal);
		PUT(",\"fatal\":%s", f);
	}
	PUT("}");
}

void lab_pump_text(struct lab_pump *p, char *buf, size_t len)
{
	struct stats_summary e, l;
	size_t off = 0;

	PUT("frames=%" PRIu64 " bytes=%" PRIu64 " deliveries=%" PRIu64, p->frames, p->bytes,
	    p->deliveries);
	if (p->signal_fd >= 0)
		PUT(" signals=%" PRIu64, p->signals);
	PUT(" dropped=%" PRIu64, p->dropped);
	for (int i = 0; i < LAB_DROP_REASONS && p->drops[i].count; i++)
		PUT("%s%s=%" PRIu64, i ? "," : " (", p->drops[i].reason, p->drops[i].count);
	if (p->dropped)
		PUT(")");
	stats_summarize(&p->err, &e);
	stats_summarize(&p->late, &l);
	PUT(" delay_us=%.3f", p->delay_ns / 1e3);
	if (e.count)
		PUT(" error_us(p50/p99/max)=%.3f/%.3f/%.3f late_us(p50/p99)=%.3f/%.3f", e.p50 / 1e3,
		    e.p99 / 1e3, e.max / 1e3, l.p50 / 1e3, l.p99 / 1e3);
	if (p->stamp_fd >= 0) {
		struct stats_summary w;

		stats_summarize(&p->wake, &w);
		PUT(" t0=xmit stamped=%" PRIu64 " unstamped=%" PRIu64, p->stamped, p->unstamped);
		if (w.count)
			PUT(" wake_us(p50/p99)=%.3f/%.3f", w.p50 / 1e3, w.p99 / 1e3);
	}
	if (p->fatal[0])
		PUT(" fatal=\"%s\"", p->fatal);
}

#undef PUT

int lab_parse_rt_prio(const char *s, int *out, char *err, size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *s < '0' || *s > '9' || errno || *end || v > 99) {
		snprintf(err, errlen,
			 "invalid --rt-prio '%s': expected a SCHED_FIFO priority 1-99, or 0 for none", s);
		return LAB_EXIT_USAGE;
	}
	*out = (int)v;
	return 0;
}

void lab_rt_note(const char *tool, const struct lab_pump *p)
{
	if (p->rt_prio > 0 && !p->rt_applied)
		fprintf(stderr,
			"netseg lab %s: %s: no SCHED_FIFO priority %d (%s); running as an ordinary thread, "
			"expect late deliveries under load\n",
			tool, p->name, p->rt_prio, strerror(p->rt_errno));
}

void lab_out_json_labeled(struct out_rec *r, const char *key, const char *label,
			  const char *json, const char *text)
{
	int n = r->n;

	out_json(r, key, json, text, 0);
	if (r->n == n + 1)
		r->f[n].label = label;   /* a literal: outlives the record */
}

int lab_write_ready(const char *tool, const char *path, const char *json_line)
{
	char tmp[4096];
	FILE *f;

	if (!path)
		return 0;
	/* written whole, then renamed: a reader never sees half a line */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "we");
	if (f) {
		bool ok = fprintf(f, "%s\n", json_line) >= 0;

		if (fclose(f) || !ok)
			f = NULL;
	}
	if (!f || rename(tmp, path)) {
		fprintf(stderr, "netseg lab %s: cannot write --ready-file '%s': %s\n", tool, path,
			strerror(errno));
		unlink(tmp);
		return LAB_EXIT_RESOURCE;
	}
	return 0;
}
