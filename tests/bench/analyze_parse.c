// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * How fast `netseg analyze` reads logs: a big JSON log and a big text log
 * (our tracers' records from the lab, repeated) are written to a temporary
 * file each, then read with an_parse_file REPS times; prints lines/s.
 *   analyze_parse [LINES [REPS]]   (default 1000000 lines, 3 reps)
 * The goal is >= 1 M lines/s for both.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "analyze/records.h"

/* one echo of each kind, as the lab's tracers wrote them (/work/samples) */
static const char *const json_lines[] = {
	"{\"type\":\"echo\",\"wall_ns\":1795988324780526015,\"direction\":\"tx\",\"src\":\"198.18.0.1\",\"dst\":\"198.18.0.2\",\"id\":12842,\"seq\":1,\"stages\":[{\"stage\":\"p1_start\",\"hook\":\"net_dev_queue\",\"tier\":\"tp_btf\",\"ts_ns\":12064994207894,\"wall_ns\":1795988324780526015,\"ifname\":\"eth0\",\"ifindex\":2,\"cpu\":0,\"pid\":12842,\"comm\":\"ping\"},{\"stage\":\"p1_end\",\"hook\":\"net_dev_xmit\",\"tier\":\"tp_btf\",\"ts_ns\":12064994245775,\"wall_ns\":1795988324780563896,\"ifname\":\"eth0\",\"ifindex\":2,\"cpu\":0,\"pid\":12842,\"comm\":\"ping\"},{\"stage\":\"p2_start\",\"hook\":\"netif_receive_skb_entry\",\"tier\":\"tp_btf\",\"ts_ns\":12064994753266,\"wall_ns\":1795988324781071387,\"ifname\":\"eth0\",\"ifindex\":2,\"cpu\":1,\"pid\":11793,\"comm\":\"vmm-to-vm\"},{\"stage\":\"p2_end\",\"hook\":\"sk_data_ready\",\"tier\":\"tp_btf\",\"ts_ns\":12064994764307,\"wall_ns\":1795988324781082428,\"ifname\":\"\",\"ifindex\":2,\"cpu\":1,\"pid\":11793,\"comm\":\"vmm-to-vm\"}],\"path1_ns\":37881,\"path2_ns\":11041,\"inter_ns\":507491,\"total_ns\":556413}\n",
	"{\"type\":\"echo\",\"wall_ns\":1795988324780691596,\"src\":\"198.18.0.1\",\"dst\":\"198.18.0.2\",\"id\":12842,\"seq\":1,\"rx_if\":\"vnet0\",\"tx_if\":\"phy0\",\"req_internal_ns\":59251,\"external_ns\":254367,\"rep_internal_ns\":28033,\"total_ns\":341651,\"points\":{\"req_rx\":{\"ts_ns\":12064994373474,\"wall_ns\":1795988324780691596,\"ifname\":\"vnet0\",\"ifindex\":2,\"cpu\":1},\"req_tx\":{\"ts_ns\":12064994432725,\"wall_ns\":1795988324780750847,\"ifname\":\"phy0\",\"ifindex\":3,\"cpu\":1},\"rep_rx\":{\"ts_ns\":12064994687092,\"wall_ns\":1795988324781005214,\"ifname\":\"phy0\",\"ifindex\":3,\"cpu\":1},\"rep_tx\":{\"ts_ns\":12064994715125,\"wall_ns\":1795988324781033247,\"ifname\":\"vnet0\",\"ifindex\":2,\"cpu\":1}}}\n",
	"{\"type\":\"chain\",\"dev\":\"vnet0\",\"ifindex\":2,\"queue\":0,\"src\":\"198.18.0.1\",\"dst\":\"198.18.0.2\",\"proto\":1,\"id\":12842,\"seq\":1,\"icmp_type\":8,\"complete\":true,\"end\":\"complete\",\"missing\":[],\"absent\":[\"vhost_signal\",\"irqfd\"],\"linking\":\"thread\",\"gsi\":24,\"vector\":65,\"kvm\":\"0xffff888114ab9000\",\"batch\":1,\"stages\":[{\"name\":\"tun_xmit\",\"hook\":\"net_dev_start_xmit\",\"tier\":\"tp_btf\",\"ts_ns\":12064994462200,\"wall_ns\":1795988324780780311,\"cpu\":1,\"pid\":11793,\"comm\":\"vmm-to-host\"},{\"name\":\"dequeue\",\"hook\":\"consume_skb\",\"tier\":\"tp_btf\",\"ts_ns\":12064994529377,\"wall_ns\":1795988324780847488,\"cpu\":1,\"pid\":11796,\"comm\":\"vmm-to-vm\"},{\"name\":\"eventfd\",\"hook\":\"eventfd_write\",\"tier\":\"tracepoint\",\"ts_ns\":12064994624956,\"wall_ns\":1795988324780943067,\"cpu\":1,\"pid\":11796,\"comm\":\"vmm-to-vm\"},{\"name\":\"kvm_inject\",\"hook\":\"kvm_msi_set_irq\",\"tier\":\"tp_btf\",\"ts_ns\":12064994630747,\"wall_ns\":1795988324780948858,\"cpu\":1,\"pid\":11796,\"comm\":\"vmm-to-vm\"}],\"dequeue_ns\":67177,\"eventfd_ns\":95579,\"kvm_inject_ns\":5791,\"total_ns\":168547}\n",
};
static const char *const text_blocks[] = {
	"=== ICMP RTT 21:38:45.571980 tx 198.18.0.1 -> 198.18.0.2 id=12866 seq=1 ===\n"
	"  Path 1 (request, TX):\n"
	"    Stage 0: net_dev_queue                [tp_btf    ]      +0.000 us eth0       CPU 0   PID 12866   ping\n"
	"    Stage 1: net_dev_xmit                 [tp_btf    ]     +43.732 us eth0       CPU 0   PID 12866   ping\n"
	"  Path 2 (reply, RX):\n"
	"    Stage 2: netif_receive_skb_entry      [tp_btf    ]    +663.604 us eth0       CPU 1   PID 11793   vmm-to-vm\n"
	"    Stage 3: sk_data_ready                [tp_btf    ]    +676.719 us            CPU 1   PID 11793   vmm-to-vm\n"
	"  Total Path 1: 43.732 us\n"
	"  Total Path 2: 13.115 us\n"
	"  Inter-Path Latency: 619.872 us\n"
	"  Total RTT: 676.719 us\n",
	"21:38:45.572179 198.18.0.1 -> 198.18.0.2 id=12866 seq=1 rx_if=vnet0 tx_if=phy0 Latency(us): ReqInternal=66.995 External=309.821 RepInternal=38.362 Total=415.178\n",
	"TUN TX INTERRUPT [vnet0:q0] Stage 1 [net_dev_start_xmit]: Time=21:38:45.572278 Queue=0 CPU=1 PID=11793 COMM=vmm-to-host ICMP 198.18.0.1 -> 198.18.0.2 type=8 code=0 id=12866 seq=1\n"
	"TUN TX INTERRUPT [vnet0:q0] Dequeue [consume_skb]: Time=21:38:45.572361 Delay=0.083ms CPU=1 PID=11796 COMM=vmm-to-vm\n"
	"TUN TX INTERRUPT [vnet0:q0] Stage 3 [eventfd_write]: Time=21:38:45.572496 EventFD(arg)=0xffff88810883c980 Delay=0.134ms CPU=1 PID=11796 COMM=vmm-to-vm\n"
	"TUN TX INTERRUPT [vnet0:q0] Stage 5 [kvm_msi_set_irq]: Time=21:38:45.572502 Vector(arg)=65 Delay=0.006ms CPU=1 PID=11796 COMM=vmm-to-vm\n"
	"  -> Total(S1->S5): 0.224ms linking=thread batch=1 gsi=24 vector=65\n",
};

static uint64_t records;

static void on_rec(void *ctx, const struct an_rec *r)
{
	(void)ctx;
	(void)r;
	records++;
}

static void on_warn(void *ctx, const char *file, unsigned line, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s:%u: %s\n", file, line, msg);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* at least `lines` lines of the blocks, round robin; returns the lines written */
static uint64_t write_log(FILE *f, const char *const *blocks, size_t n, uint64_t lines)
{
	uint64_t done = 0;

	for (size_t i = 0; done < lines; i = (i + 1) % n) {
		fputs(blocks[i], f);
		for (const char *p = blocks[i]; *p; p++)
			done += *p == '\n';
	}
	return done;
}

static int bench(const char *what, const char *const *blocks, size_t n, uint64_t lines, int reps)
{
	char path[] = "/tmp/netseg-bench-parse-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	struct an_file_info info;
	double best = 1e30;
	uint64_t written;
	long size;

	if (!f) {
		perror("analyze_parse: temporary file");
		return 1;
	}
	written = write_log(f, blocks, n, lines);
	size = ftell(f);
	fclose(f);
	for (int r = 0; r < reps; r++) {
		double t0 = now();

		records = 0;
		if (an_parse_file(path, on_rec, on_warn, NULL, &info)) {
			perror(path);
			unlink(path);
			return 1;
		}
		double dt = now() - t0;

		if (dt < best)
			best = dt;
	}
	unlink(path);
	printf("%-5s %9llu lines %7.1f MB  best of %d: %.3f s  %6.2f M lines/s  %6.0f MB/s  records=%llu warnings=%llu\n",
	       what, (unsigned long long)written, size / 1e6, reps, best, written / best / 1e6,
	       size / best / 1e6, (unsigned long long)info.records, (unsigned long long)info.warnings);
	return info.lines == written && info.warnings == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	uint64_t lines = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	int reps = argc > 2 ? atoi(argv[2]) : 3;
	int rc = 0;

	if (!lines || reps < 1) {
		fprintf(stderr, "usage: analyze_parse [LINES [REPS]]\n");
		return 2;
	}
	rc |= bench("json", json_lines, sizeof(json_lines) / sizeof(json_lines[0]), lines, reps);
	rc |= bench("text", text_blocks, sizeof(text_blocks) / sizeof(text_blocks[0]), lines, reps);
	return rc;
}
