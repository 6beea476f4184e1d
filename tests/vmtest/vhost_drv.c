// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * vhost_drv: a user-space vhost-net driver, the test helper that makes the
 * kernel's vhost-net RX path run for real without any VM:
 *
 *   namespace stack -> tap (tun_net_xmit) -> vhost worker handle_rx ->
 *   copy into our RX buffers -> used ring -> vhost_add_used_and_signal_n ->
 *   eventfd_signal on our call eventfd
 *
 * It plays the guest's virtio-net driver and the VMM at once: it owns a
 * vhost-net instance, gives it a memory table over its own buffers (guest
 * physical address == our virtual address, so descriptors carry plain
 * pointers), sets up the RX (0) and TX (1) split vrings with one kick and
 * one call eventfd each, attaches a tap as the backend, posts writable RX
 * buffers and kicks once. Then it reaps the used ring whenever the call
 * eventfd fires (or every 100 ms), re-posts the buffers and counts.
 *
 * The recipe that works (tests/vmtest/README.md): the tap must be opened
 * with IFF_VNET_HDR and a 12-byte vnet header, and only VIRTIO_F_VERSION_1
 * and VIRTIO_NET_F_MRG_RXBUF negotiated; vhost-net then leaves the
 * virtio_net_hdr_mrg_rxbuf to the tap. Without the vnet header vhost
 * delivers nothing.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include "vmt_util.h"
#include "lib/cli.h"
#include "lib/loop.h"
#include "lib/netns.h"
#include "lib/output.h"

#define VQ_RX 0
#define VQ_TX 1
#define BUF_SIZE 2048u /* a 1514-byte frame plus the 12-byte header fits */
#define HDR_LEN 12u    /* sizeof(struct virtio_net_hdr_mrg_rxbuf) */
#define RING_ALIGN 4096u

struct vq {
	struct vring vr;
	unsigned num;
	int kick, call;
	uint16_t avail_idx; /* next avail->idx we publish */
	uint16_t last_used; /* used entries consumed so far */
	uint64_t call_signals;
};

static struct {
	const char *tap;
	const char *netns;
	uint64_t num;
	double duration_s;
	const char *ready_file;
	bool verbose;
} env = {
	.tap = "vtap0",
	.num = 256,
};

static struct {
	uint64_t frames, bytes, used_entries, kicks, first_used_len;
	uint64_t max_batch; /* most used entries reaped in one pass */
} st;

const char *argp_program_version = "vhost_drv (netseg vmtest)";
/* argp wraps paragraphs itself: one string piece per paragraph */
static const char doc[] =
	"A user-space vhost-net driver (netseg VM test helper).\n"
	"\n"
	"Creates a tap (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR) in the current network namespace or in "
	"--netns, makes it the backend of a /dev/vhost-net instance with RX and TX vrings over "
	"this process's own memory, posts RX buffers and counts what the kernel's vhost worker "
	"delivers: frames, bytes, used-ring entries and signals on the call eventfds.\n"
	"\n"
	"The tap is not configured: bring it up and address it after the ready record (it "
	"carries the ifindex). Stops on SIGINT, SIGTERM or --duration and prints one JSON "
	"summary line.\n"
	"\n"
	"EXAMPLES:\n"
	"  vhost_drv --netns blue --tap vtap0 --ready-file /tmp/r --duration 20";

enum { OPT_READY = 0x3000, OPT_RING };

static const struct argp_option opts[] = {
	{ "tap", 't', "NAME", 0, "tap interface to create (default vtap0)", 0 },
	{ "netns", 'n', "NAME|PATH", 0, "create the tap in this network namespace", 0 },
	{ "ring", OPT_RING, "N", 0, "descriptors per vring, a power of two 2..1024 (default 256)", 0 },
	{ "duration", 'd', "SECONDS", 0, "stop after this long (default: until a signal)", 0 },
	{ "ready-file", OPT_READY, "FILE", 0, "write the ready record here once set up", 0 },
	{ "verbose", 'v', NULL, 0, "print every used-ring entry on stderr", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char err[256];

	switch (key) {
	case 't':
		if (!*arg || strlen(arg) >= IFNAMSIZ || strchr(arg, '/') || strchr(arg, ' '))
			cli_usage_error("invalid --tap '%s': an interface name of 1..%d characters",
					arg, IFNAMSIZ - 1);
		env.tap = arg;
		break;
	case 'n':
		env.netns = arg;
		break;
	case OPT_RING:
		if (cli_parse_u64("--ring", arg, 2, 1024, &env.num, err, sizeof(err)))
			cli_usage_error("%s", err);
		if (env.num & (env.num - 1))
			cli_usage_error("invalid --ring '%s': vhost wants a power of two", arg);
		break;
	case 'd':
		if (cli_parse_seconds("--duration", arg, &env.duration_s, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_READY:
		env.ready_file = arg;
		break;
	case 'v':
		env.verbose = true;
		break;
	case ARGP_KEY_ARG:
		cli_usage_error("unexpected argument '%s' (see --help)", arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	(void)state;
	return 0;
}

static int fail(const char *what)
{
	fprintf(stderr, "vhost_drv: %s: %s\n", what, strerror(errno));
	return -1;
}

/* Runs inside the target namespace (netns_run_in): a tun device belongs to
 * the namespace /dev/net/tun was opened in, so open it there. */
static int tap_fd = -1;
static int tap_ifindex;

static int open_tap(void *arg)
{
	struct ifreq ifr;
	int hdr = HDR_LEN;

	(void)arg;
	tap_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (tap_fd < 0)
		return fail("/dev/net/tun (is the tun module loaded?)");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", env.tap);
	if (ioctl(tap_fd, TUNSETIFF, &ifr))
		return fail("TUNSETIFF");
	/* the 12-byte virtio_net_hdr_mrg_rxbuf vhost expects the socket to give */
	if (ioctl(tap_fd, TUNSETVNETHDRSZ, &hdr))
		return fail("TUNSETVNETHDRSZ");
	tap_ifindex = (int)if_nametoindex(env.tap);
	return 0;
}

static int vq_setup(int vfd, struct vq *q, unsigned index, void *ring_mem)
{
	struct vhost_vring_state s = { .index = index };
	struct vhost_vring_file f = { .index = index };
	struct vhost_vring_addr a = { .index = index };

	q->num = (unsigned)env.num;
	vring_init(&q->vr, q->num, ring_mem, RING_ALIGN);
	s.num = q->num;
	if (ioctl(vfd, VHOST_SET_VRING_NUM, &s))
		return fail("VHOST_SET_VRING_NUM");
	s.num = 0;
	if (ioctl(vfd, VHOST_SET_VRING_BASE, &s))
		return fail("VHOST_SET_VRING_BASE");
	a.desc_user_addr = (uint64_t)(uintptr_t)q->vr.desc;
	a.avail_user_addr = (uint64_t)(uintptr_t)q->vr.avail;
	a.used_user_addr = (uint64_t)(uintptr_t)q->vr.used;
	if (ioctl(vfd, VHOST_SET_VRING_ADDR, &a))
		return fail("VHOST_SET_VRING_ADDR");
	q->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->kick < 0 || q->call < 0)
		return fail("eventfd");
	f.fd = q->kick;
	if (ioctl(vfd, VHOST_SET_VRING_KICK, &f))
		return fail("VHOST_SET_VRING_KICK");
	f.fd = q->call;
	if (ioctl(vfd, VHOST_SET_VRING_CALL, &f))
		return fail("VHOST_SET_VRING_CALL");
	return 0;
}

static void kick(struct vq *q)
{
	uint64_t one = 1;

	if (write(q->kick, &one, sizeof(one)) == sizeof(one))
		st.kicks++;
}

/* Publish avail entries up to q->avail_idx; kick unless vhost said it is
 * polling anyway (VRING_USED_F_NO_NOTIFY, no EVENT_IDX negotiated). */
static void publish(struct vq *q, bool force_kick)
{
	__atomic_store_n(&q->vr.avail->idx, htole16(q->avail_idx), __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (force_kick ||
	    !(le16toh(__atomic_load_n(&q->vr.used->flags, __ATOMIC_ACQUIRE)) &
	      VRING_USED_F_NO_NOTIFY))
		kick(q);
}

/* Take every new used entry, count it, hand its buffer back. */
static unsigned reap_rx(struct vq *q)
{
	static unsigned pending; /* more buffers of a merged frame to come */
	uint16_t used_idx = le16toh(__atomic_load_n(&q->vr.used->idx, __ATOMIC_ACQUIRE));
	unsigned n = 0;

	while (q->last_used != used_idx) {
		struct vring_used_elem *e = &q->vr.used->ring[q->last_used % q->num];
		uint32_t id = le32toh(e->id), len = le32toh(e->len);

		q->last_used++;
		n++;
		st.used_entries++;
		if (id >= q->num) {
			fprintf(stderr, "vhost_drv: used ring names descriptor %u of %u\n", id,
				q->num);
			continue;
		}
		if (!st.first_used_len)
			st.first_used_len = len;
		if (pending) {
			pending--;
			st.bytes += len;
		} else {
			const struct virtio_net_hdr_mrg_rxbuf *h =
				(const void *)(uintptr_t)le64toh(q->vr.desc[id].addr);
			uint16_t nb = le16toh(h->num_buffers);

			st.frames++;
			st.bytes += len > HDR_LEN ? len - HDR_LEN : 0;
			pending = nb > 1 ? nb - 1u : 0;
		}
		if (env.verbose)
			fprintf(stderr, "vhost_drv: used id=%u len=%u\n", id, len);
		q->vr.avail->ring[q->avail_idx % q->num] = htole16((uint16_t)id);
		q->avail_idx++;
	}
	if (n) {
		if (n > st.max_batch)
			st.max_batch = n;
		publish(q, false);
	}
	return n;
}

static void drain_call(struct vq *q)
{
	uint64_t v;

	/* the counter holds the sum of every eventfd_signal since the last read */
	if (read(q->call, &v, sizeof(v)) == sizeof(v))
		q->call_signals += v;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, NULL, doc, NULL, NULL, NULL };
	struct netseg_netns ns;
	struct vq q[2];
	struct vhost_memory *mem = NULL;
	struct out_rec r;
	char err[512], line[4096];
	uint64_t features, want;
	size_t ring_bytes, region_len;
	uint8_t *region = MAP_FAILED, *bufs;
	double start, end;
	int vfd = -1, rc = 1;

	cli_set_tool("vhost_drv");
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return CLI_EXIT_USAGE;
	if (netns_resolve(env.netns, &ns, err, sizeof(err))) {
		fprintf(stderr, "vhost_drv: %s\n", err);
		return CLI_EXIT_USAGE;
	}
	out_setup(stdout, true);
	memset(q, 0, sizeof(q));
	q[0].kick = q[0].call = q[1].kick = q[1].call = -1;
	if (loop_signals_install()) {
		fprintf(stderr, "vhost_drv: installing signal handlers failed\n");
		return 1;
	}

	if (netns_run_in(&ns, open_tap, NULL))
		goto out;
	vfd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
	if (vfd < 0) {
		fail("/dev/vhost-net (is the vhost_net module loaded?)");
		goto out;
	}
	if (ioctl(vfd, VHOST_SET_OWNER, NULL)) {
		fail("VHOST_SET_OWNER");
		goto out;
	}
	if (ioctl(vfd, VHOST_GET_FEATURES, &features)) {
		fail("VHOST_GET_FEATURES");
		goto out;
	}
	want = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MRG_RXBUF);
	if ((features & want) != want) {
		fprintf(stderr, "vhost_drv: vhost-net offers features 0x%llx, without 0x%llx\n",
			(unsigned long long)features, (unsigned long long)want);
		goto out;
	}
	if (ioctl(vfd, VHOST_SET_FEATURES, &want)) {
		fail("VHOST_SET_FEATURES");
		goto out;
	}

	/* one region: RX ring, TX ring, RX buffers */
	ring_bytes = (vring_size((unsigned)env.num, RING_ALIGN) + RING_ALIGN - 1) &
		     ~(size_t)(RING_ALIGN - 1);
	region_len = 2 * ring_bytes + env.num * BUF_SIZE;
	region = mmap(NULL, region_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		      MAP_POPULATE, -1, 0);
	if (region == MAP_FAILED) {
		fail("mmap");
		goto out;
	}
	bufs = region + 2 * ring_bytes;
	mem = calloc(1, sizeof(*mem) + sizeof(mem->regions[0]));
	if (!mem) {
		fail("calloc");
		goto out;
	}
	mem->nregions = 1;
	mem->regions[0].guest_phys_addr = (uint64_t)(uintptr_t)region;
	mem->regions[0].userspace_addr = (uint64_t)(uintptr_t)region;
	mem->regions[0].memory_size = region_len;
	if (ioctl(vfd, VHOST_SET_MEM_TABLE, mem)) {
		fail("VHOST_SET_MEM_TABLE");
		goto out;
	}
	if (vq_setup(vfd, &q[VQ_RX], VQ_RX, region) ||
	    vq_setup(vfd, &q[VQ_TX], VQ_TX, region + ring_bytes))
		goto out;

	/* every RX descriptor: one device-writable buffer, all made available */
	for (unsigned i = 0; i < q[VQ_RX].num; i++) {
		q[VQ_RX].vr.desc[i].addr = htole64((uint64_t)(uintptr_t)(bufs + (size_t)i * BUF_SIZE));
		q[VQ_RX].vr.desc[i].len = htole32(BUF_SIZE);
		q[VQ_RX].vr.desc[i].flags = htole16(VRING_DESC_F_WRITE);
		q[VQ_RX].vr.desc[i].next = 0;
		q[VQ_RX].vr.avail->ring[i] = htole16((uint16_t)i);
	}
	q[VQ_RX].avail_idx = (uint16_t)q[VQ_RX].num;
	__atomic_store_n(&q[VQ_RX].vr.avail->idx, htole16(q[VQ_RX].avail_idx), __ATOMIC_RELEASE);

	for (unsigned i = 0; i < 2; i++) {
		struct vhost_vring_file b = { .index = i, .fd = tap_fd };

		if (ioctl(vfd, VHOST_NET_SET_BACKEND, &b)) {
			fail(i == VQ_RX ? "VHOST_NET_SET_BACKEND (rx)" : "VHOST_NET_SET_BACKEND (tx)");
			goto out;
		}
	}
	kick(&q[VQ_RX]);

	out_begin(&r, "ready");
	out_str(&r, "tool", NULL, "vhost_drv", 0);
	out_u64(&r, "pid", NULL, (uint64_t)getpid(), 0);
	out_str(&r, "tap", NULL, env.tap, 0);
	out_u64(&r, "ifindex", NULL, (uint64_t)tap_ifindex, 0);
	out_u64(&r, "netns", NULL, ns.ino, 0);
	out_u64(&r, "ring", NULL, env.num, 0);
	out_u64(&r, "features_offered", NULL, features, 0);
	out_u64(&r, "features_acked", NULL, want, 0);
	out_emit(&r);
	out_flush();
	out_render(&r, true, line, sizeof(line));
	if (vmt_ready_file("vhost_drv", env.ready_file, line))
		goto out;

	start = vmt_now_s();
	end = env.duration_s > 0 ? start + env.duration_s : 0;
	while (!loop_stop_requested()) {
		struct pollfd p[2] = { { .fd = q[VQ_RX].call, .events = POLLIN },
				       { .fd = q[VQ_TX].call, .events = POLLIN } };
		double now = vmt_now_s();
		int ms = 100, n;

		if (end && now >= end)
			break;
		if (end && (end - now) * 1000 < ms)
			ms = (int)((end - now) * 1000) + 1;
		n = poll(p, 2, ms);
		if (n < 0 && errno != EINTR) {
			fail("poll");
			goto out;
		}
		if (n > 0 && (p[0].revents & POLLIN))
			drain_call(&q[VQ_RX]);
		if (n > 0 && (p[1].revents & POLLIN))
			drain_call(&q[VQ_TX]);
		/* also without a signal: a signal may be suppressed, never a completion */
		reap_rx(&q[VQ_RX]);
	}
	/* what the worker finished before we stopped belongs in the summary */
	drain_call(&q[VQ_RX]);
	drain_call(&q[VQ_TX]);
	reap_rx(&q[VQ_RX]);

	out_begin(&r, "summary");
	out_str(&r, "tool", NULL, "vhost_drv", 0);
	out_str(&r, "tap", NULL, env.tap, 0);
	out_u64(&r, "frames", NULL, st.frames, 0);
	out_u64(&r, "bytes", NULL, st.bytes, 0);
	out_u64(&r, "used_entries", NULL, st.used_entries, 0);
	out_u64(&r, "first_used_len", NULL, st.first_used_len, 0);
	out_u64(&r, "max_batch", NULL, st.max_batch, 0);
	out_u64(&r, "call_signals", NULL, q[VQ_RX].call_signals + q[VQ_TX].call_signals, 0);
	out_u64(&r, "rx_call_signals", NULL, q[VQ_RX].call_signals, 0);
	out_u64(&r, "tx_call_signals", NULL, q[VQ_TX].call_signals, 0);
	out_u64(&r, "kicks", NULL, st.kicks, 0);
	out_f64(&r, "run_s", NULL, vmt_now_s() - start, 0);
	out_str(&r, "ended_by", NULL,
		loop_stop_requested() ? (loop_stop_signal() == SIGTERM ? "SIGTERM" : "SIGINT")
				      : "duration",
		0);
	out_emit(&r);
	out_flush();
	rc = 0;
out:
	if (vfd >= 0) {
		/* detach the tap before the rings go away */
		for (unsigned i = 0; i < 2; i++) {
			struct vhost_vring_file b = { .index = i, .fd = -1 };

			ioctl(vfd, VHOST_NET_SET_BACKEND, &b);
		}
		close(vfd);
	}
	for (unsigned i = 0; i < 2; i++) {
		if (q[i].kick >= 0)
			close(q[i].kick);
		if (q[i].call >= 0)
			close(q[i].call);
	}
	if (tap_fd >= 0)
		close(tap_fd);
	if (region != MAP_FAILED)
		munmap(region, region_len);
	free(mem);
	return rc;
}
