// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The BPF packet parser compiled for the host: CO-RE reads become plain
 * member reads over a stand-in sk_buff, so every branch of the one parser
 * all tracers share is tested on packets built byte by byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/ip.h>
#include <cmocka.h>
#include "netseg.h"

struct sk_buff {
	unsigned char *head;
	unsigned char *data;
	unsigned int len;
	unsigned int data_len;
	__u16 protocol;
	__u16 network_header;
};

static unsigned counted[NETSEG_CNT_MAX];
static unsigned reads;

#define BPF_CORE_READ(s, f) ((s)->f)
#define bpf_htons(x) htons(x)
#define bpf_ntohs(x) ntohs(x)
static int bpf_probe_read_kernel(void *dst, unsigned size, const void *src)
{
	reads++;
	memcpy(dst, src, size);
	return 0;
}
static void netseg_count(unsigned c)
{
	counted[c]++;
}

#include "netseg_skb.bpf.h"

/* headroom, then an Ethernet header, then IPv4 at a 4-byte boundary, as
 * drivers arrange it (NET_IP_ALIGN) */
struct frame {
	unsigned char buf[256] __attribute__((aligned(8)));
	struct sk_buff skb;
};

static void build(struct frame *f, __u8 proto, const void *l4, size_t l4len, __u16 frag_off)
{
	struct iphdr *ip;
	unsigned char *eth;

	memset(f, 0, sizeof(*f));
	eth = f->buf + 66;
	eth[12] = 0x08;
	eth[13] = 0x00;
	ip = (struct iphdr *)(eth + 14);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(sizeof(*ip) + l4len);
	ip->protocol = proto;
	ip->frag_off = htons(frag_off);
	ip->saddr = htonl(0xC6120001); /* 198.18.0.1 */
	ip->daddr = htonl(0xC6120002);
	memcpy(ip + 1, l4, l4len);
	f->skb.head = f->buf;
	f->skb.data = (unsigned char *)ip; /* receive side: link header pulled */
	f->skb.len = sizeof(*ip) + l4len;
	f->skb.protocol = htons(0x0800);
	f->skb.network_header = (unsigned char *)ip - f->buf;
}

static const unsigned char echo_req[8] = { 8, 0, 0, 0, 0x12, 0x34, 0x00, 0x07 };

static void icmp_echo_at_data(void **state)
{
	struct frame f;
	struct netseg_pkt p;

	(void)state;
	build(&f, 1, echo_req, sizeof(echo_req), 0);
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_OK);
	assert_int_equal(p.l4proto, 1);
	assert_int_equal(p.icmp_type, 8);
	assert_int_equal(p.sport, 0x1234); /* id */
	assert_int_equal(p.dport, 7);      /* seq */
	assert_int_equal(p.saddr, htonl(0xC6120001));
	assert_int_equal(p.ip_len, 28);
}

static void icmp_echo_at_network_header_with_data_at_mac(void **state)
{
	struct frame f;
	struct netseg_pkt p;

	(void)state;
	build(&f, 1, echo_req, sizeof(echo_req), 0);
	/* transmit side: data points at the Ethernet header */
	f.skb.data -= 14;
	f.skb.len += 14;
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_NETHDR, &p, false), NETSEG_PARSE_OK);
	assert_int_equal(p.dport, 7);
}

static void udp_and_tcp_ports(void **state)
{
	const unsigned char ports[8] = { 0x1f, 0x90, 0x00, 0x35, 0, 8, 0, 0 };
	struct frame f;
	struct netseg_pkt p;

	(void)state;
	build(&f, 17, ports, sizeof(ports), 0);
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_OK);
	assert_int_equal(p.sport, 8080);
	assert_int_equal(p.dport, 53);
	build(&f, 6, ports, sizeof(ports), 0);
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_OK);
	assert_int_equal(p.l4proto, 6);
	assert_int_equal(p.sport, 8080);
}

/* A caller that wants one L4 protocol: others stop after the IP header
 * (one read, not two), are not counted as rejects, and the wanted one is
 * parsed in full. */
static void other_l4_stops_after_the_ip_header(void **state)
{
	const unsigned char ports[8] = { 0x1f, 0x90, 0x00, 0x35, 0, 8, 0, 0 };
	unsigned before = counted[NETSEG_CNT_PARSE_REJECT];
	struct frame f;
	struct netseg_pkt p;
	int rc;

	(void)state;
	build(&f, 17, ports, sizeof(ports), 0);
	reads = 0;
	rc = netseg_parse_skb_l4(&f.skb, NETSEG_L3_AT_DATA, &p, false, 1);
	assert_int_equal(rc, NETSEG_PARSE_OTHER_L4);
	assert_int_equal(reads, 1);
	netseg_count_parse_reject(rc);
	assert_int_equal(counted[NETSEG_CNT_PARSE_REJECT], before);
	build(&f, 1, echo_req, sizeof(echo_req), 0);
	reads = 0;
	assert_int_equal(netseg_parse_skb_l4(&f.skb, NETSEG_L3_AT_DATA, &p, false, 1), NETSEG_PARSE_OK);
	assert_int_equal(reads, 2);
	assert_int_equal(p.icmp_type, 8);
	assert_int_equal(p.dport, 7);
	/* 0 wants every protocol */
	build(&f, 17, ports, sizeof(ports), 0);
	assert_int_equal(netseg_parse_skb_l4(&f.skb, NETSEG_L3_AT_DATA, &p, false, 0), NETSEG_PARSE_OK);
	assert_int_equal(p.dport, 53);
}

static void ipv6_rejected_cleanly_and_counted(void **state)
{
	struct frame f;
	struct netseg_pkt p;
	unsigned before = counted[NETSEG_CNT_IPV6];
	int rc;

	(void)state;
	build(&f, 1, echo_req, sizeof(echo_req), 0);
	f.skb.protocol = htons(0x86DD);
	rc = netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false);
	assert_int_equal(rc, NETSEG_PARSE_IPV6);
	netseg_count_parse_reject(rc);
	assert_int_equal(counted[NETSEG_CNT_IPV6], before + 1);
}

static void arp_is_not_ip(void **state)
{
	struct frame f;
	struct netseg_pkt p;

	(void)state;
	build(&f, 1, echo_req, sizeof(echo_req), 0);
	f.skb.protocol = htons(0x0806);
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_NOT_IP);
}

static void bad_ip_version_rejected(void **state)
{
	struct frame f;
	struct netseg_pkt p;

	(void)state;
	build(&f, 1, echo_req, sizeof(echo_req), 0);
	((struct iphdr *)f.skb.data)->version = 6;
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_NOT_IP);
	((struct iphdr *)f.skb.data)->version = 4;
	((struct iphdr *)f.skb.data)->ihl = 4;
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_NOT_IP);
}

static void unset_network_header_rejected(void **state)
{
	struct frame f;
	struct netseg_pkt p;

	(void)state;
	build(&f, 1, echo_req, sizeof(echo_req), 0);
	f.skb.network_header = 0;
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_NETHDR, &p, false), NETSEG_PARSE_NO_L3);
	f.skb.network_header = 0xffff;
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_NETHDR, &p, false), NETSEG_PARSE_NO_L3);
}

static void headers_outside_linear_part_rejected(void **state)
{
	struct frame f;
	struct netseg_pkt p;

	(void)state;
	build(&f, 1, echo_req, sizeof(echo_req), 0);
	/* all but 24 bytes in page frags: the ICMP header is not linear */
	f.skb.data_len = f.skb.len - 24;
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_SHORT);
	f.skb.data_len = f.skb.len - 10;
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_SHORT);
}

static void non_first_fragment_has_no_ports(void **state)
{
	struct frame f;
	struct netseg_pkt p;

	(void)state;
	build(&f, 17, echo_req, sizeof(echo_req), 185);
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_FRAGMENT);
	assert_int_equal(p.l4proto, 17);
	assert_int_equal(p.sport, 0);
}

static void ip_options_shift_l4(void **state)
{
	unsigned char l4[12] = { 1, 1, 1, 1, 8, 0, 0, 0, 0xab, 0xcd, 0x01, 0x00 };
	struct frame f;
	struct netseg_pkt p;

	(void)state;
	/* 4 bytes of options (NOPs) before the ICMP header */
	build(&f, 1, l4, sizeof(l4), 0);
	((struct iphdr *)f.skb.data)->ihl = 6;
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_OK);
	assert_int_equal(p.icmp_type, 8);
	assert_int_equal(p.sport, 0xabcd);
	assert_int_equal(p.dport, 256);
}

/* A frame with its VLAN tags in the data: Ethernet addresses, then for
 * each tag its TPID and TCI, then the inner ethertype and the IPv4 echo.
 * `at_rx`: as the receive tracepoint sees it (link header pulled: data at
 * the outer TCI, network header reset there); else as the transmit hooks
 * see it (data at the MAC header, network header at IPv4, set before the
 * tag was pushed inside). */
static void build_vlan(struct frame *f, const __u16 *tpids, int ntags, __u16 inner, bool at_rx)
{
	unsigned char *eth, *pos;

	build(f, 1, echo_req, sizeof(echo_req), 0);
	eth = f->skb.data - 14 - 4 * ntags;
	memset(eth, 0xee, 12);
	pos = eth + 12;
	for (int i = 0; i < ntags; i++) {
		pos[0] = tpids[i] >> 8;
		pos[1] = tpids[i] & 0xff;
		pos[2] = 0x20 | i;  /* PCP 1, VID 0x0i0a: a TCI whose nibble looks like IPv4 */
		pos[3] = 0x0a;
		pos += 4;
	}
	pos[0] = inner >> 8;
	pos[1] = inner & 0xff;
	f->skb.protocol = htons(tpids[0]);
	if (at_rx) {
		unsigned char *ip = f->skb.data;

		f->skb.data = eth + 14;
		f->skb.len += ip - f->skb.data;
		f->skb.network_header = f->skb.data - f->buf;
	} else {
		f->skb.len += f->skb.data - eth;
		f->skb.data = eth;
	}
}

static void assert_echo_7(const struct netseg_pkt *p)
{
	assert_int_equal(p->l4proto, 1);
	assert_int_equal(p->icmp_type, 8);
	assert_int_equal(p->sport, 0x1234);
	assert_int_equal(p->dport, 7);
	assert_int_equal(p->saddr, htonl(0xC6120001));
	assert_int_equal(p->ip_len, 28);
}

static void vlan_tag_skipped_on_receive(void **state)
{
	static const __u16 q[] = { 0x8100 };
	struct frame f;
	struct netseg_pkt p;

	(void)state;
	build_vlan(&f, q, 1, 0x0800, true);
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_OK);
	assert_echo_7(&p);
}

static void vlan_tag_skipped_on_transmit(void **state)
{
	static const __u16 q[] = { 0x8100 };
	struct frame f;
	struct netseg_pkt p;

	(void)state;
	build_vlan(&f, q, 1, 0x0800, false);
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_NETHDR, &p, false), NETSEG_PARSE_OK);
	assert_echo_7(&p);
}

/* a network header left at the tag (reset on receive before untagging) */
static void vlan_tag_skipped_when_network_header_is_at_the_tag(void **state)
{
	static const __u16 q[] = { 0x8100 };
	struct frame f;
	struct netseg_pkt p;

	(void)state;
	build_vlan(&f, q, 1, 0x0800, true);
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_NETHDR, &p, false), NETSEG_PARSE_OK);
	assert_echo_7(&p);
}

static void qinq_tags_skipped_at_both_hooks(void **state)
{
	static const __u16 qinq[] = { 0x88a8, 0x8100 };
	struct frame f;
	struct netseg_pkt p;

	(void)state;
	build_vlan(&f, qinq, 2, 0x0800, true);
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_OK);
	assert_echo_7(&p);
	build_vlan(&f, qinq, 2, 0x0800, false);
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_NETHDR, &p, false), NETSEG_PARSE_OK);
	assert_echo_7(&p);
}

static void vlan_inner_type_decides(void **state)
{
	static const __u16 q[] = { 0x8100 }, three[] = { 0x88a8, 0x8100, 0x8100 };
	struct frame f;
	struct netseg_pkt p;

	(void)state;
	build_vlan(&f, q, 1, 0x86DD, true);
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_IPV6);
	build_vlan(&f, q, 1, 0x0806, true);
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_NOT_IP);
	/* more tags than we skip: not read as IPv4 at a wrong offset */
	build_vlan(&f, three, 3, 0x0800, true);
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_NOT_IP);
}

static void vlan_tag_outside_linear_part_rejected(void **state)
{
	static const __u16 q[] = { 0x8100 };
	struct frame f;
	struct netseg_pkt p;

	(void)state;
	build_vlan(&f, q, 1, 0x0800, true);
	f.skb.data_len = f.skb.len - 2;   /* only the TCI is linear */
	assert_int_equal(netseg_parse_skb_tier(&f.skb, NETSEG_L3_AT_DATA, &p, false), NETSEG_PARSE_SHORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(icmp_echo_at_data),
		cmocka_unit_test(icmp_echo_at_network_header_with_data_at_mac),
		cmocka_unit_test(udp_and_tcp_ports),
		cmocka_unit_test(other_l4_stops_after_the_ip_header),
		cmocka_unit_test(ipv6_rejected_cleanly_and_counted),
		cmocka_unit_test(arp_is_not_ip),
		cmocka_unit_test(bad_ip_version_rejected),
		cmocka_unit_test(unset_network_header_rejected),
		cmocka_unit_test(headers_outside_linear_part_rejected),
		cmocka_unit_test(non_first_fragment_has_no_ports),
		cmocka_unit_test(ip_options_shift_l4),
		cmocka_unit_test(vlan_tag_skipped_on_receive),
		cmocka_unit_test(vlan_tag_skipped_on_transmit),
		cmocka_unit_test(vlan_tag_skipped_when_network_header_is_at_the_tag),
		cmocka_unit_test(qinq_tags_skipped_at_both_hooks),
		cmocka_unit_test(vlan_inner_type_decides),
		cmocka_unit_test(vlan_tag_outside_linear_part_rejected),
	};

	return cmocka_run_group_tests_name("skb_parse", tests, NULL, NULL);
}
