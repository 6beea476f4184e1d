// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * udp_flood: non-ICMP load for benchmarks. `send ADDR PORT COUNT` sends
 * COUNT 64-byte datagrams as fast as sendmmsg allows and prints the rate;
 * `sink PORT` drains a port until SIGTERM so the sender is never refused;
 * `rate PORT IDLE_MS` prints "ready" once bound, then counts what arrives
 * and, IDLE_MS after the last datagram, prints "COUNT PPS" and exits. The
 * receiver's rate is the one that means something where the sender writes
 * into a tap: a full tap drops without slowing the sender down.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int do_send(const char *addr, int port, long count)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	char payload[64] = "netseg-bench";
	long sent = 0;
	double t0;
	int fd;

	if (inet_pton(AF_INET, addr, &to.sin_addr) != 1) {
		fprintf(stderr, "udp_flood: bad address '%s'\n", addr);
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to))) {
		perror("udp_flood: socket");
		return 1;
	}
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = payload;
		iov[i].iov_len = sizeof(payload);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = now_s();
	while (sent < count) {
		int n = count - sent < BATCH ? (int)(count - sent) : BATCH;
		int r = sendmmsg(fd, msgs, n, 0);

		if (r < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED)
				continue;
			perror("udp_flood: sendmmsg");
			return 1;
		}
		sent += r;
	}
	printf("%.0f\n", sent / (now_s() - t0));
	close(fd);
	return 0;
}

static int do_sink(int port)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sigaction sa = { .sa_handler = on_term };
	char buf[2048];
	long got = 0;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct timeval tv = { 0, 100000 };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me))) {
		perror("udp_flood: bind");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (!stop)
		if (recv(fd, buf, sizeof(buf), 0) > 0)
			got++;
	printf("%ld\n", got);
	return 0;
}

static int do_rate(int port, int idle_ms)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sigaction sa = { .sa_handler = on_term };
	struct timeval tv = { idle_ms / 1000, (idle_ms % 1000) * 1000 };
	double first = 0, last = 0, waited = 0;
	char buf[2048];
	long got = 0;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me))) {
		perror("udp_flood: bind");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	printf("ready\n");
	fflush(stdout);
	/* bounded: a flood that never arrives ends it after 30 s */
	while (!stop) {
		if (recv(fd, buf, sizeof(buf), 0) > 0) {
			last = now_s();
			if (!got++)
				first = last;
			continue;
		}
		if (got)
			break;
		waited += idle_ms / 1e3;
		if (waited > 30)
			break;
	}
	printf("%ld %.0f\n", got, got > 1 && last > first ? (got - 1) / (last - first) : 0.0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "send"))
		return do_send(argv[2], atoi(argv[3]), atol(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "sink"))
		return do_sink(atoi(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "rate") && atoi(argv[3]) > 0)
		return do_rate(atoi(argv[2]), atoi(argv[3]));
	fprintf(stderr, "usage: udp_flood send ADDR PORT COUNT | udp_flood sink PORT | "
			"udp_flood rate PORT IDLE_MS\n");
	return 2;
}
