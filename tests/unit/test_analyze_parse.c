// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "analyze/records.h"

#define MAX_RECS 64

struct got {
	struct an_rec r[MAX_RECS];
	int n;
	int warns;
	unsigned warn_line[MAX_RECS];
	char warn_msg[MAX_RECS][256];
	struct an_file_info info;
};

static void on_rec(void *ctx, const struct an_rec *r)
{
	struct got *g = ctx;

	if (g->n < MAX_RECS)
		g->r[g->n] = *r;
	g->n++;
}

static void on_warn(void *ctx, const char *file, unsigned line, const char *msg)
{
	struct got *g = ctx;

	(void)file;
	if (g->warns < MAX_RECS) {
		g->warn_line[g->warns] = line;
		snprintf(g->warn_msg[g->warns], sizeof(g->warn_msg[0]), "%s", msg);
	}
	g->warns++;
}

static struct got *parse(const char *text, size_t len)
{
	struct got *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	assert_int_equal(an_parse_buffer("t.log", text, len, on_rec, on_warn, g, &g->info), 0);
	return g;
}
#define PARSE(s) parse((s), strlen(s))

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* ---- our --json records -------------------------------------------------- */

#define J_READY_RTT "{\"type\":\"ready\",\"tool\":\"kernel_icmp_rtt\",\"pid\":1,\"tiers\":{\"x\":{\"tier\":\"tp_btf\",\"hooks\":[]}},\"direction\":\"tx\"}\n"
#define J_RTT(seq) "{\"type\":\"echo\",\"wall_ns\":1795988324780526015,\"direction\":\"tx\",\"src\":\"198.18.0.1\",\"dst\":\"198.18.0.2\",\"id\":12842,\"seq\":" #seq ",\"stages\":[{\"stage\":\"p1_start\",\"ts_ns\":1,\"comm\":\"a\\\"]}\"}],\"path1_ns\":37881,\"path2_ns\":11041,\"inter_ns\":507491,\"total_ns\":556413}\n"
#define J_IDD "{\"type\":\"echo\",\"wall_ns\":5,\"src\":\"198.18.0.1\",\"dst\":\"198.18.0.2\",\"id\":7,\"seq\":3,\"rx_if\":\"vnet0\",\"tx_if\":\"phy0\",\"req_internal_ns\":59251,\"external_ns\":254367,\"rep_internal_ns\":28033,\"total_ns\":341651,\"points\":{\"req_rx\":{\"ts_ns\":1}}}\n"
#define J_CHAIN(src, dst, type) "{\"type\":\"chain\",\"dev\":\"vnet0\",\"queue\":0,\"src\":\"" src "\",\"dst\":\"" dst "\",\"proto\":1,\"id\":9,\"seq\":4,\"icmp_type\":" #type ",\"complete\":true,\"end\":\"complete\",\"missing\":[],\"stages\":[{\"name\":\"tun_xmit\",\"ts_ns\":1000,\"wall_ns\":77},{\"name\":\"dequeue\",\"ts_ns\":1500},{\"name\":\"kvm_inject\",\"ts_ns\":4000}],\"total_ns\":3000}\n"

static void json_rtt_echo_gives_its_four_durations(void **state)
{
	(void)state;
	struct got *g = PARSE(J_READY_RTT J_RTT(1));

	assert_int_equal(g->n, 1);
	assert_int_equal(g->warns, 0);
	assert_int_equal(g->info.format, AN_FMT_JSON);
	assert_int_equal(g->info.tool, AN_TOOL_RTT);
	assert_int_equal(g->info.rtt_direction, 1);
	assert_int_equal(g->info.runs, 1);
	const struct an_rec *r = &g->r[0];

	assert_int_equal(r->tool, AN_TOOL_RTT);
	assert_int_equal(r->line, 2);
	assert_int_equal(r->key.initiator, ip("198.18.0.1"));
	assert_int_equal(r->key.target, ip("198.18.0.2"));
	assert_int_equal(r->key.id, 12842);
	assert_int_equal(r->key.seq, 1);
	assert_true(r->u.rtt.tx);
	assert_int_equal(r->u.rtt.path1_ns, 37881);
	assert_int_equal(r->u.rtt.path2_ns, 11041);
	assert_int_equal(r->u.rtt.inter_ns, 507491);
	assert_int_equal(r->u.rtt.total_ns, 556413);
	assert_int_equal(r->wall_ns, 1795988324780526015ull);
	free(g);
}

static void json_idd_echo_and_drops_counted(void **state)
{
	(void)state;
	struct got *g = PARSE(J_IDD "{\"type\":\"drop\",\"src\":\"1.2.3.4\"}\n"
			      "{\"type\":\"point\",\"id\":1}\n{\"type\":\"summary\",\"total_ns\":5}\n");

	assert_int_equal(g->n, 1);
	assert_int_equal(g->warns, 0);
	assert_int_equal(g->info.drops, 1);
	assert_int_equal(g->r[0].tool, AN_TOOL_IDD);
	assert_int_equal(g->r[0].u.idd.req_internal_ns, 59251);
	assert_int_equal(g->r[0].u.idd.external_ns, 254367);
	assert_int_equal(g->r[0].u.idd.rep_internal_ns, 28033);
	assert_int_equal(g->r[0].u.idd.total_ns, 341651);
	assert_int_equal(g->r[0].key.id, 7);
	free(g);
}

static void json_chain_total_is_last_minus_first_stage(void **state)
{
	(void)state;
	struct got *g = PARSE(J_CHAIN("10.0.0.1", "10.0.0.2", 8)
			      "{\"type\":\"chain\",\"src\":\"10.0.0.1\",\"dst\":\"10.0.0.2\",\"proto\":6,\"sport\":1,\"dport\":2,\"complete\":true,\"stages\":[]}\n"
			      "{\"type\":\"chain\",\"src\":\"10.0.0.1\",\"dst\":\"10.0.0.2\",\"proto\":1,\"id\":1,\"seq\":1,\"icmp_type\":8,\"complete\":false,\"end\":\"timeout\",\"stages\":[]}\n"
			      "{\"type\":\"incomplete\",\"id\":1}\n");

	assert_int_equal(g->n, 1);
	assert_int_equal(g->warns, 0);
	assert_int_equal(g->info.drops, 2);  /* the partial chain, the incomplete echo */
	assert_int_equal(g->r[0].u.tki.total_ns, 3000);
	assert_int_equal(g->r[0].u.tki.n_stages, 3);
	assert_int_equal(g->r[0].u.tki.icmp_type, 8);
	assert_int_equal(g->r[0].wall_ns, 77);
	assert_int_equal(g->r[0].key.initiator, ip("10.0.0.1"));
	assert_int_equal(g->r[0].key.target, ip("10.0.0.2"));
	free(g);
}

static void reply_chains_are_keyed_by_the_echo_initiator(void **state)
{
	(void)state;
	/* a reply goes target -> initiator: the key turns it round */
	struct got *g = PARSE(J_CHAIN("10.0.0.2", "10.0.0.1", 0));

	assert_int_equal(g->n, 1);
	assert_int_equal(g->r[0].u.tki.icmp_type, 0);
	assert_int_equal(g->r[0].key.initiator, ip("10.0.0.1"));
	assert_int_equal(g->r[0].key.target, ip("10.0.0.2"));
	free(g);
	g = PARSE("TUN TX INTERRUPT [vnet0:q0] Stage 1 [net_dev_start_xmit]: Time=21:38:45.572560 Queue=0 CPU=1 PID=2 COMM=x ICMP 10.0.0.2 -> 10.0.0.1 type=0 code=0 id=5 seq=6\n"
		  "TUN TX INTERRUPT [vnet0:q0] Stage 5 [kvm_msi_set_irq]: Time=21:38:45.572690 Delay=0.130ms CPU=1 PID=2 COMM=x\n"
		  "  -> Total(S1->S5): 0.130ms linking=thread batch=1 gsi=24 vector=65\n");
	assert_int_equal(g->n, 1);
	assert_int_equal(g->r[0].key.initiator, ip("10.0.0.1"));
	assert_int_equal(g->r[0].key.target, ip("10.0.0.2"));
	assert_int_equal(g->r[0].key.id, 5);
	assert_int_equal(g->r[0].key.seq, 6);
	free(g);
}

/* ---- our text ------------------------------------------------------------ */

static const char text_rtt[] =
	"READY kernel_icmp_rtt pid=12844 tiers=recv=tp_btf netns=1 direction=rx src_ip=198.18.0.1 dst_ip=198.18.0.2\n"
	"=== ICMP RTT 21:38:45.572390 rx 198.18.0.1 -> 198.18.0.2 id=12866 seq=1 ===\n"
	"  Path 1 (request, RX):\n"
	"    Stage 0: netif_receive_skb_entry      [tp_btf    ]      +0.000 us eth0       CPU 1   PID 11796   vmm-to-vm\n"
	"  Total Path 1: 82.275 us\n"
	"  Total Path 2: 13.525 us\n"
	"  Inter-Path Latency: 0.000 us\n"
	"  Total RTT: 95.800 us\n"
	"=== ICMP RTT INCOMPLETE 21:38:45.600000 rx 198.18.0.1 -> 198.18.0.2 id=12866 seq=2 why=timeout last-stage=p1_start ===\n"
	"  Path 1 (request, RX):\n"
	"SUMMARY kernel_icmp_rtt echoes=1\n"
	"\n"
	"segment (us)              count          min\n"
	"Total Path 1                  5       31.900\n"
	"Total Path 1:\n"
	"          usecs          : count    distribution\n";

static void text_rtt_block_and_incomplete(void **state)
{
	(void)state;
	struct got *g = PARSE(text_rtt);

	assert_int_equal(g->warns, 0);
	assert_int_equal(g->n, 1);
	assert_int_equal(g->info.format, AN_FMT_TEXT);
	assert_int_equal(g->info.rtt_direction, 0);
	assert_int_equal(g->info.drops, 1);
	assert_int_equal(g->r[0].line, 2);
	assert_false(g->r[0].u.rtt.tx);
	assert_int_equal(g->r[0].u.rtt.path1_ns, 82275);
	assert_int_equal(g->r[0].u.rtt.path2_ns, 13525);
	assert_int_equal(g->r[0].u.rtt.inter_ns, 0);
	assert_int_equal(g->r[0].u.rtt.total_ns, 95800);
	assert_int_equal(g->r[0].key.seq, 1);
	assert_int_equal(g->r[0].wall_ns, (21 * 3600 + 38 * 60 + 45) * 1000000000ull + 572390000ull);
	free(g);
}

static void text_idd_line_and_drop(void **state)
{
	(void)state;
	struct got *g = PARSE(
		"21:38:45.572179 198.18.0.1 -> 198.18.0.2 id=12866 seq=1 rx_if=vnet0 tx_if=phy0 Latency(us): ReqInternal=66.995 External=309.821 RepInternal=38.362 Total=415.178\n"
		"DROP 21:38:46.000000 198.18.0.1 -> 198.18.0.2 id=12866 seq=2 \n"
		"  request dropped inside this host detected-by=timeout last-point=ReqRX\n"
		"  reason=unknown\n"
		"POINT 21:38:46.000000 198.18.0.1 -> 198.18.0.2 id=12866 seq=3 ReqRX vnet0 cpu=1\n");

	assert_int_equal(g->warns, 0);
	assert_int_equal(g->n, 1);
	assert_int_equal(g->info.tool, AN_TOOL_IDD);
	assert_int_equal(g->info.drops, 1);
	assert_int_equal(g->r[0].u.idd.req_internal_ns, 66995);
	assert_int_equal(g->r[0].u.idd.external_ns, 309821);
	assert_int_equal(g->r[0].u.idd.rep_internal_ns, 38362);
	assert_int_equal(g->r[0].u.idd.total_ns, 415178);
	assert_int_equal(g->r[0].key.initiator, ip("198.18.0.1"));
	free(g);
}

static void text_chain_total_is_the_sum_of_its_delays(void **state)
{
	(void)state;
	/* the Time= clocks say 224 us; the Delays, with ns behind them, 223 */
	struct got *g = PARSE(
		"TUN TX INTERRUPT [vnet0:q0] Stage 1 [net_dev_start_xmit]: Time=21:38:45.572278 Queue=0 CPU=1 PID=11793 COMM=vmm-to-host ICMP 198.18.0.1 -> 198.18.0.2 type=8 code=0 id=12866 seq=1\n"
		"TUN TX INTERRUPT [vnet0:q0] Dequeue [consume_skb]: Time=21:38:45.572361 Delay=0.083ms CPU=1 PID=11796 COMM=vmm-to-vm\n"
		"TUN TX INTERRUPT [vnet0:q0] Stage 3 [eventfd_write]: Time=21:38:45.572496 EventFD(arg)=0xffff88810883c980 Delay=0.134ms CPU=1 PID=11796 COMM=vmm-to-vm\n"
		"TUN TX INTERRUPT [vnet0:q0] Stage 5 [kvm_msi_set_irq]: Time=21:38:45.572502 Vector(arg)=65 Delay=0.006ms CPU=1 PID=11796 COMM=vmm-to-vm\n"
		"  -> Total(S1->S5): 0.224ms linking=thread batch=1 gsi=24 vector=65\n"
		"TUN TX INTERRUPT [vnet0:q0] Stage 1 [net_dev_start_xmit]: Time=21:38:46.0 Queue=0 CPU=1 PID=1 COMM=a ICMP 198.18.0.1 -> 198.18.0.2 type=8 code=0 id=12866 seq=2\n"
		"TUN TX INTERRUPT [vnet0:q0] Stage 3 [eventfd]: missing\n"
		"  -> PARTIAL CHAIN (missing eventfd): Total(S1->S1): 0.000ms linking=none batch=0 gsi=? vector=?\n"
		"TUN TX INTERRUPT [vnet0:q0] Stage 1 [net_dev_start_xmit]: Time=21:38:47.0 Queue=0 CPU=1 PID=1 COMM=a TCP 1.1.1.1:5 -> 2.2.2.2:6\n"
		"TUN TX INTERRUPT [vnet0:q0] Stage 5 [kvm_msi_set_irq]: Time=21:38:47.1 Delay=0.100ms CPU=1 PID=1 COMM=a\n"
		"  -> Total(S1->S5): 0.100ms linking=thread batch=1 gsi=24 vector=65\n"
		"TUN TX INTERRUPT TRACING STOPPED - FINAL SUMMARY started=5\n"
		"segment (us)              count          min\n");

	assert_int_equal(g->warns, 0);
	assert_int_equal(g->n, 1);     /* the TCP chain is not an echo: skipped */
	assert_int_equal(g->info.drops, 1);
	assert_int_equal(g->info.format, AN_FMT_TEXT);
	assert_int_equal(g->r[0].u.tki.total_ns, 223000);
	assert_int_equal(g->r[0].u.tki.n_stages, 4);
	assert_true(g->r[0].u.tki.complete);
	free(g);
}

/* ---- the originals -------------------------------------------------------- */

static const char orig_rtt[] =
	"================================================================================\n"
	"=== ICMP RTT Trace: 2026-01-23 12:00:00.123 (TX (Local -> Remote)) ===\n"
	"Session: 10.0.0.1 -> 10.0.0.2 (ID: 1234, Seq: 7)\n"
	"Path 1 (Request: TX to 10.0.0.2)             : PID=5678   COMM=ping         IF=eth0       ICMP_Type=8\n"
	"Path 2 (Reply:   RX from 10.0.0.2)           : PID=0      COMM=swapper/3    IF=eth0       ICMP_Type=0\n"
	"SKB Pointers:\n"
	"  Stage 0 (P1 (ip_local_out)   ...): 0xffff...\n"
	"Path 1 Latencies (us):\n"
	"  [0->1] P1 (ip_local_out) -> P1 (net_dev_xmit)           :  15.234 us\n"
	"  Total Path 1:  15.234 us\n"
	"Path 2 Latencies (us):\n"
	"  [3->5] P2 (netif_receive_skb) -> P2 (icmp_rcv)          :  17.456 us\n"
	"  Total Path 2:  17.456 us\n"
	"Total RTT (Path1 Start to Path2 End): 582.813 us\n"
	"Inter-Path Latency (P1 end -> P2 start): 550.123 us\n"
	"Kernel Stack Traces:\n"
	"  Stage 0 (P1 (ip_local_out)):\n"
	"    ip_local_out+0x1\n"
	"================================================================================\n";

static void original_rtt_block(void **state)
{
	(void)state;
	struct got *g = PARSE(orig_rtt);

	assert_int_equal(g->warns, 0);
	assert_int_equal(g->n, 1);
	assert_int_equal(g->info.format, AN_FMT_ORIGINAL);
	assert_int_equal(g->info.tool, AN_TOOL_RTT);
	assert_int_equal(g->info.rtt_direction, 1);
	const struct an_rec *r = &g->r[0];

	assert_int_equal(r->line, 2);
	assert_true(r->u.rtt.tx);
	assert_int_equal(r->key.initiator, ip("10.0.0.1"));
	assert_int_equal(r->key.target, ip("10.0.0.2"));
	assert_int_equal(r->key.id, 1234);
	assert_int_equal(r->key.seq, 7);
	assert_int_equal(r->u.rtt.path1_ns, 15234);
	assert_int_equal(r->u.rtt.path2_ns, 17456);
	assert_int_equal(r->u.rtt.total_ns, 582813);
	assert_int_equal(r->u.rtt.inter_ns, 550123);
	/* 2026-01-23 12:00:00.123 UTC */
	assert_int_equal(r->wall_ns, 1769169600123000000ull);
	free(g);
}

static void original_idd_complete_and_latency_lines(void **state)
{
	(void)state;
	struct got *g = PARSE(
		"2026-01-07 18:00:00.123 [new] ID=4321 Seq=15 ReqRX:Y ReqTX:- RepRX:- RepTX:-\n"
		"2026-01-07 18:00:00.124 [complete] ID=4321 Seq=15 ReqRX:Y ReqTX:Y RepRX:Y RepTX:Y\n"
		"  Latency(us): ReqInternal=13.5  External=144.1  RepInternal=8.3  Total=165.3\n"
		"--------------------------------------------------------------------------------\n"
		"=== ICMP Drop Detected: 2026-01-07 18:00:01.123 ===\n"
		"Flow: 10.0.0.1 -> 10.0.0.2 (ID=4321, Seq=16)\n"
		"  [0] ReqRX: recorded\n"
		"  [2] RepRX: MISSING\n"
		"Drop Location: EXTERNAL (network or peer)\n"
		"  Request sent from vnet0 but Reply NOT received at vnet0\n"
		"2026-01-07 18:00:02.124 [complete] ID=4321 Seq=17 ReqRX:Y ReqTX:Y RepRX:Y RepTX:Y\n"
		"  Latency(us): ReqInternal=1.0  External=2.0  RepInternal=3.0  Total=6.0\n");

	assert_int_equal(g->warns, 0);
	assert_int_equal(g->n, 2);
	assert_int_equal(g->info.drops, 1);
	assert_int_equal(g->info.format, AN_FMT_ORIGINAL);
	/* no address known yet: 0, joined by id/seq alone */
	assert_int_equal(g->r[0].key.initiator, 0);
	assert_int_equal(g->r[0].key.target, 0);
	assert_int_equal(g->r[0].key.id, 4321);
	assert_int_equal(g->r[0].key.seq, 15);
	assert_int_equal(g->r[0].line, 2);
	assert_int_equal(g->r[0].u.idd.req_internal_ns, 13500);
	assert_int_equal(g->r[0].u.idd.external_ns, 144100);
	assert_int_equal(g->r[0].u.idd.rep_internal_ns, 8300);
	assert_int_equal(g->r[0].u.idd.total_ns, 165300);
	/* after the drop report's Flow: line, its addresses */
	assert_int_equal(g->r[1].key.initiator, ip("10.0.0.1"));
	assert_int_equal(g->r[1].key.target, ip("10.0.0.2"));
	assert_int_equal(g->r[1].key.seq, 17);
	free(g);
}

/* t1 = 0, t2 = 16 us, t3 = 24 us, t4 = 30 us, t5 = 31 us: the original
 * prints D2 = 16, D3 = 8, D4 = t4 - t2 = 14, D5 = 1 and Total = 39 us
 * (S2->S3 twice); the truth is t5 - t1 = 31 us */
static const char orig_tki[] =
	"TUN TX INTERRUPT [vnet2:q2] Stage 1 [tun_net_xmit]: Time=05:28:58.266000 Queue=2 Sock(tfile)=0xffff1 CPU=36 PID=1 COMM=a ICMP 10.0.129.145 -> 10.0.129.143 type=8 code=0 id=77 seq=3\n"
	"TUN TX INTERRUPT [vnet2:q2] Stage 2 [vhost_signal]: Time=05:28:58.266016 Sock(vq)=0x1 EventFD(vq)=0x2 VQ=0x3 Delay=0.016ms CPU=12 PID=73868 COMM=vhost-1\n"
	"TUN TX INTERRUPT [vnet2:q2] Stage 3 [eventfd_signal]: Time=05:28:58.266024 EventFD(arg)=0x2 Delay=0.008ms CPU=12 PID=73868 COMM=vhost-1\n"
	"TUN TX INTERRUPT [vnet2:q2] Stage 4 [irqfd_wakeup]: Time=05:28:58.266030 EventFD(irqfd)=0x2 GSI(irqfd)=33 Delay=0.014ms CPU=12 PID=73868 COMM=vhost-1\n"
	"TUN TX INTERRUPT [vnet2:q2] Stage 5 [posted_int]: Time=05:28:58.266031 Vector(arg)=34 VCPU=0x4 Delay=0.001ms CPU=12 PID=73868 COMM=vhost-1\n"
	"  -> Total(S1->S5): 0.039ms\n";

static void original_tun_total_is_recomputed_as_t5_minus_t1(void **state)
{
	(void)state;
	struct got *g = PARSE(orig_tki);

	assert_int_equal(g->warns, 0);
	assert_int_equal(g->n, 1);
	assert_int_equal(g->info.format, AN_FMT_ORIGINAL);
	assert_int_equal(g->r[0].u.tki.total_ns, 31000);
	assert_int_equal(g->r[0].u.tki.n_stages, 5);
	assert_int_equal(g->r[0].key.id, 77);
	assert_int_equal(g->r[0].key.initiator, ip("10.0.129.145"));
	free(g);
	/* main's original has no Total line: the chain ends at Stage 5 */
	char buf[sizeof(orig_tki)];
	size_t n = strstr(orig_tki, "  -> Total") - orig_tki;

	memcpy(buf, orig_tki, n);
	g = parse(buf, n);
	assert_int_equal(g->n, 1);
	assert_int_equal(g->r[0].u.tki.total_ns, 31000);
	free(g);
}

static void original_tun_chains_of_two_queues_interleave(void **state)
{
	(void)state;
	struct got *g = PARSE(
		"TUN TX INTERRUPT [vnet2:q0] Stage 1 [tun_net_xmit]: Time=00:00:01.000000 Queue=0 Sock(tfile)=0x1 ICMP 10.0.0.1 -> 10.0.0.2 type=8 code=0 id=1 seq=1\n"
		"TUN TX INTERRUPT [vnet2:q1] Stage 1 [tun_net_xmit]: Time=00:00:01.000000 Queue=1 Sock(tfile)=0x2 ICMP 10.0.0.1 -> 10.0.0.2 type=8 code=0 id=1 seq=2\n"
		"TUN TX INTERRUPT [vnet2:q0] Stage 2 [vhost_signal]: Time=x Delay=0.010ms\n"
		"TUN TX INTERRUPT [vnet2:q1] Stage 2 [vhost_signal]: Time=x Delay=0.020ms\n"
		"TUN TX INTERRUPT [vnet2:q0] Stage 4 [irqfd_wakeup]: Time=x Delay=0.001ms\n"
		"TUN TX INTERRUPT [vnet2:q1] Stage 4 [irqfd_wakeup]: Time=x Delay=0.002ms\n"
		"TUN TX INTERRUPT [vnet2:q1] Stage 5 [posted_int]: Time=x Delay=0.003ms\n"
		"TUN TX INTERRUPT [vnet2:q0] Stage 5 [posted_int]: Time=x Delay=0.004ms\n"
		"TUN TX INTERRUPT [vnet2:q0] Stage 1 [tun_net_xmit]: Time=00:00:02.000000 Queue=0 Sock(tfile)=0x1 ICMP 10.0.0.1 -> 10.0.0.2 type=8 code=0 id=1 seq=3\n"
		"TUN TX INTERRUPT TRACING STOPPED - FINAL SUMMARY\n"
		"Total events collected: 9\n");

	assert_int_equal(g->warns, 0);
	assert_int_equal(g->n, 2);
	assert_int_equal(g->info.drops, 1);  /* seq 3 never got past S1 */
	assert_int_equal(g->r[0].key.seq, 2);
	assert_int_equal(g->r[0].u.tki.total_ns, 25000);
	assert_int_equal(g->r[1].key.seq, 1);
	assert_int_equal(g->r[1].u.tki.total_ns, 15000);
	free(g);
}

/* ---- robustness ------------------------------------------------------------ */

static void crlf_line_ends(void **state)
{
	(void)state;
	char buf[8192];
	size_t o = 0;

	for (const char *p = text_rtt; *p; p++) {
		if (*p == '\n')
			buf[o++] = '\r';
		buf[o++] = *p;
	}
	struct got *g = parse(buf, o);

	assert_int_equal(g->warns, 0);
	assert_int_equal(g->n, 1);
	assert_int_equal(g->r[0].u.rtt.total_ns, 95800);
	free(g);
	g = PARSE(J_READY_RTT "\r\n" J_RTT(2) "\r\n");
	assert_int_equal(g->n, 1);
	free(g);
	/* a JSON line ending in \r\n */
	g = PARSE("{\"type\":\"echo\",\"src\":\"1.1.1.1\",\"dst\":\"2.2.2.2\",\"id\":1,\"seq\":1,\"req_internal_ns\":1,\"external_ns\":2,\"rep_internal_ns\":3,\"total_ns\":6}\r\n");
	assert_int_equal(g->n, 1);
	assert_int_equal(g->warns, 0);
	free(g);
}

static void truncated_last_line_is_warned_and_skipped(void **state)
{
	(void)state;
	const char *json = J_READY_RTT J_RTT(1) J_RTT(2);
	struct got *g = parse(json, strlen(json) - 60);

	assert_int_equal(g->n, 1);
	assert_int_equal(g->warns, 1);
	assert_int_equal(g->warn_line[0], 3);
	assert_non_null(strstr(g->warn_msg[0], "truncated"));
	free(g);
	/* text: "  Total RTT: 95.8" cut mid-number must not become 95.8 us */
	const char *cut = strstr(text_rtt, "  Total RTT: 95.800") + strlen("  Total RTT: 95.8");

	g = parse(text_rtt, (size_t)(cut - text_rtt));
	assert_int_equal(g->n, 0);
	assert_true(g->warns >= 1);
	free(g);
}

static void garbage_lines_between_records_warn_with_their_line(void **state)
{
	(void)state;
	struct got *g = PARSE(J_READY_RTT "libbpf: map 'x': something went wrong\n" J_RTT(1)
			      "{\"type\":\"echo\",\"src\": oops\n" "\x01\x02\xff\n" J_RTT(2));

	assert_int_equal(g->n, 2);
	assert_int_equal(g->warns, 3);
	assert_int_equal(g->warn_line[0], 2);
	assert_int_equal(g->warn_line[1], 4);
	assert_int_equal(g->warn_line[2], 5);
	assert_int_equal(g->r[1].line, 6);
	free(g);
}

static void unknown_type_warns_once_per_type(void **state)
{
	(void)state;
	struct got *g = PARSE("{\"type\":\"newthing\",\"a\":1}\n{\"type\":\"newthing\",\"a\":2}\n"
			      "{\"type\":\"other\"}\n" J_IDD "{\"type\":\"newthing\"}\n");

	assert_int_equal(g->n, 1);
	assert_int_equal(g->warns, 2);
	assert_int_equal(g->warn_line[0], 1);
	assert_int_equal(g->warn_line[1], 3);
	assert_non_null(strstr(g->warn_msg[0], "newthing"));
	free(g);
}

static void two_runs_in_one_file(void **state)
{
	(void)state;
	struct got *g = PARSE(J_READY_RTT J_RTT(1) "{\"type\":\"summary\"}\n" J_READY_RTT J_RTT(1));

	assert_int_equal(g->n, 2);
	assert_int_equal(g->info.runs, 2);
	assert_int_equal(g->r[0].run, 0);
	assert_int_equal(g->r[1].run, 1);
	free(g);
	/* the originals: split by their end-of-run sections */
	g = PARSE("2026-01-07 18:00:00.124 [complete] ID=1 Seq=1 ReqRX:Y\n"
		  "  Latency(us): ReqInternal=1.0  External=2.0  RepInternal=3.0  Total=6.0\n"
		  "=== ICMP Flow Statistics ===\nTotal flows tracked: 1\nComplete flows: 1\n"
		  "2026-01-07 19:00:00.124 [complete] ID=2 Seq=1 ReqRX:Y\n"
		  "  Latency(us): ReqInternal=1.0  External=2.0  RepInternal=3.0  Total=6.0\n"
		  "=== ICMP Flow Statistics ===\nTotal flows tracked: 1\n");
	assert_int_equal(g->warns, 0);
	assert_int_equal(g->n, 2);
	assert_int_equal(g->info.runs, 2);
	assert_int_equal(g->r[0].run, 0);
	assert_int_equal(g->r[1].run, 1);
	free(g);
	/* our text: by READY lines */
	g = PARSE("READY icmp_drop_detector pid=1\n"
		  "1.1.1.1 -> 2.2.2.2 id=1 seq=1 Latency(us): ReqInternal=1 External=2 RepInternal=3 Total=6\n"
		  "SUMMARY icmp_drop_detector flows=1\n"
		  "READY icmp_drop_detector pid=2\n"
		  "1.1.1.1 -> 2.2.2.2 id=1 seq=1 Latency(us): ReqInternal=1 External=2 RepInternal=3 Total=6\n");
	assert_int_equal(g->warns, 0);
	assert_int_equal(g->info.runs, 2);
	assert_int_equal(g->r[1].run, 1);
	free(g);
}

static void a_log_of_another_tool_says_which(void **state)
{
	(void)state;
	/* an RTT log where an IDD one was expected: parsed, and told */
	struct got *g = PARSE(J_READY_RTT J_RTT(1));

	assert_int_equal(g->info.tool, AN_TOOL_RTT);
	assert_int_equal(g->n, 1);
	free(g);
	g = PARSE(orig_tki);
	assert_int_equal(g->info.tool, AN_TOOL_TKI);
	free(g);
	g = PARSE(J_IDD);
	assert_int_equal(g->info.tool, AN_TOOL_IDD);
	free(g);
}

static void empty_input(void **state)
{
	(void)state;
	struct got *g = parse("", 0);

	assert_int_equal(g->n, 0);
	assert_int_equal(g->warns, 0);
	assert_int_equal(g->info.runs, 0);
	assert_int_equal(g->info.tool, AN_TOOL_UNKNOWN);
	assert_int_equal(g->info.format, AN_FMT_UNKNOWN);
	assert_int_equal(g->info.rtt_direction, -1);
	free(g);
	g = PARSE("\n\n  \n");
	assert_int_equal(g->n, 0);
	assert_int_equal(g->warns, 0);
	free(g);
}

static void binary_junk_never_crashes_and_warnings_are_bounded(void **state)
{
	(void)state;
	size_t n = 1 << 20;
	char *buf = malloc(n);
	uint32_t x = 12345;

	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (char)(x >> 16);
	}
	/* the parser's own prefixes, cut at random, so the readers are entered */
	static const char *const frags[] = { "{\"type\":\"chain\",\"stages\":[{", "TUN TX INTERRUPT [",
					     "=== ICMP RTT ", "  Total RTT: ", "Session: ", "  -> Total(",
					     "Latency(us): ", "{\"type\":\"echo\",\"src\":\"1." };
	for (size_t i = 0; i + 64 < n; i += 997)
		memcpy(buf + i, frags[(i / 997) % 8], strlen(frags[(i / 997) % 8]));
	struct got *g = parse(buf, n);

	assert_true(g->warns <= 51);
	assert_true(g->info.warnings >= (uint64_t)g->warns);
	free(g);
	free(buf);
}

static void parse_file_reads_what_parse_buffer_reads(void **state)
{
	(void)state;
	char path[] = "/tmp/netseg-anparse-XXXXXX";
	int fd = mkstemp(path);
	struct got g = { 0 };

	assert_true(fd >= 0);
	assert_int_equal(write(fd, orig_rtt, strlen(orig_rtt)), (ssize_t)strlen(orig_rtt));
	close(fd);
	assert_int_equal(an_parse_file(path, on_rec, on_warn, &g, &g.info), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].u.rtt.total_ns, 582813);
	unlink(path);
	errno = 0;
	assert_int_equal(an_parse_file("/nonexistent/x.log", on_rec, on_warn, &g, &g.info), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(an_parse_file("/tmp", on_rec, on_warn, &g, &g.info), -1);
	assert_int_equal(errno, EISDIR);
}

static void names(void **state)
{
	(void)state;
	assert_string_equal(an_role_name(AN_SENDER_VM), "sender-vm");
	assert_string_equal(an_role_name(AN_SENDER_VHOST), "sender-vhost");
	assert_string_equal(an_role_file(AN_RECEIVER_VHOST), "vhost-recv-request.log");
	assert_string_equal(an_role_file(AN_SENDER_HOST), "host-send.log");
	assert_string_equal(an_tool_name(AN_TOOL_TKI), "tun_tx_to_kvm_irq");
	assert_string_equal(an_role_name(AN_N_ROLES), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_rtt_echo_gives_its_four_durations),
		cmocka_unit_test(json_idd_echo_and_drops_counted),
		cmocka_unit_test(json_chain_total_is_last_minus_first_stage),
		cmocka_unit_test(reply_chains_are_keyed_by_the_echo_initiator),
		cmocka_unit_test(text_rtt_block_and_incomplete),
		cmocka_unit_test(text_idd_line_and_drop),
		cmocka_unit_test(text_chain_total_is_the_sum_of_its_delays),
		cmocka_unit_test(original_rtt_block),
		cmocka_unit_test(original_idd_complete_and_latency_lines),
		cmocka_unit_test(original_tun_total_is_recomputed_as_t5_minus_t1),
		cmocka_unit_test(original_tun_chains_of_two_queues_interleave),
		cmocka_unit_test(crlf_line_ends),
		cmocka_unit_test(truncated_last_line_is_warned_and_skipped),
		cmocka_unit_test(garbage_lines_between_records_warn_with_their_line),
		cmocka_unit_test(unknown_type_warns_once_per_type),
		cmocka_unit_test(two_runs_in_one_file),
		cmocka_unit_test(a_log_of_another_tool_says_which),
		cmocka_unit_test(empty_input),
		cmocka_unit_test(binary_junk_never_crashes_and_warnings_are_bounded),
		cmocka_unit_test(parse_file_reads_what_parse_buffer_reads),
		cmocka_unit_test(names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
