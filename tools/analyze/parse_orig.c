// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The original BCC tools' text (shared/spec/originals.md): their RTT
 * blocks, icmp_drop_detector's verbose "[complete]" + "Latency(us):" pairs
 * and drop reports, and the end-of-run banners, which are all that splits
 * an original log into runs (the originals print no start banner we could
 * rely on; kernel_icmp_rtt's original prints no end one either, so such a
 * log is one run). The RTT value lines are shared with our text format.
 */
#include <string.h>
#include "parse_int.h"

static void rtt_try_emit(struct an_state *s)
{
	struct an_rtt_block *b = &s->rtt;

	if (!b->open || !b->have_key || b->have != 15)
		return;
	b->open = false;
	s->in_ignored_block = true;
	an_emit(s, &b->rec);
}

/* "Total Path 1: 82.275 us", "Total RTT (Path1 Start to Path2 End): 582.813 us" */
void an_rtt_value(struct an_state *s, const char *p, size_t n, unsigned bit, const char *label)
{
	const char *e = p + n, *colon = memchr(p, ':', n);
	int64_t v;

	if (!colon || !an_decimal(an_skip_ws(colon + 1, e), e, 3, &v, NULL)) {
		an_warn(s, s->line, "%s line without a value: skipped", label);
		return;
	}
	switch (bit) {
	case 1:
		s->rtt.rec.u.rtt.path1_ns = v;
		break;
	case 2:
		s->rtt.rec.u.rtt.path2_ns = v;
		break;
	case 4:
		s->rtt.rec.u.rtt.inter_ns = v;
		break;
	default:
		s->rtt.rec.u.rtt.total_ns = v;
		break;
	}
	s->rtt.have |= bit;
	rtt_try_emit(s);
}

void an_rtt_close(struct an_state *s, bool at_end)
{
	if (!s->rtt.open)
		return;
	s->rtt.open = false;
	an_warn(s, s->rtt.line, at_end ? "the log ends inside this echo's block: skipped" :
					 "echo block without all four totals: skipped");
}

/* "=== ICMP RTT Trace: 2026-01-23 12:00:00.123 (TX (Local -> Remote)) ===" */
static void rtt_header(struct an_state *s, const char *p, size_t n)
{
	const char *e = p + n, *q = an_skip_ws(p + 19, e);
	struct an_rtt_block *b = &s->rtt;

	an_rtt_close(s, false);
	an_set_tool(s, AN_TOOL_RTT);
	an_set_format(s, AN_FMT_ORIGINAL);
	s->in_tail = s->in_ignored_block = false;
	memset(b, 0, sizeof(*b));
	b->rec.tool = AN_TOOL_RTT;
	b->rec.line = b->line = s->line;
	b->original = true;
	b->open = true;
	if (!an_clock(q, e, &b->rec.wall_ns, NULL))
		b->rec.wall_ns = 0;
	if (AN_FIND(q, (size_t)(e - q), "(TX"))
		b->rec.u.rtt.tx = true;
	else if (!AN_FIND(q, (size_t)(e - q), "(RX")) {
		b->rec.u.rtt.tx = s->info->rtt_direction == 1;
		an_warn(s, s->line, "echo header without TX/RX: taken as %s",
			b->rec.u.rtt.tx ? "tx" : "rx");
	}
}

/* "Session: 10.0.0.1 -> 10.0.0.2 (ID: 1234, Seq: 7)" */
static void session(struct an_state *s, const char *p, size_t n)
{
	const char *e = p + n, *q = an_skip_ws(p + 8, e), *v;
	struct an_rtt_block *b = &s->rtt;
	uint64_t id, seq;

	if (!b->open)
		return;
	if (!an_ipv4(q, e, &b->rec.key.initiator, &q) || e - q < 4 || memcmp(q, " -> ", 4) ||
	    !an_ipv4(q + 4, e, &b->rec.key.target, &q) || !(v = AN_FIND(q, (size_t)(e - q), "ID: ")) ||
	    !an_uint(v + 4, e, &id, NULL) || id > 0xffff ||
	    !(v = AN_FIND(q, (size_t)(e - q), "Seq: ")) || !an_uint(v + 5, e, &seq, NULL) ||
	    seq > 0xffff) {
		an_warn(s, s->line, "Session line not understood: this echo is skipped");
		b->open = false;
		s->in_ignored_block = true;
		return;
	}
	b->rec.key.id = (uint16_t)id;
	b->rec.key.seq = (uint16_t)seq;
	b->have_key = true;
	rtt_try_emit(s);
}

/* "<date> <time> [complete] ID=4321 Seq=15 ReqRX:Y ..." */
static bool idd_state(struct an_state *s, const char *p, size_t n)
{
	const char *e = p + n, *br = memchr(p, '[', n), *v;
	uint64_t id, seq, wall = 0;

	if (!br || !AN_FIELD(p, n, "ID=") || !AN_FIELD(p, n, "Seq="))
		return false;
	if (!AN_STARTS(br, (size_t)(e - br), "[complete]"))
		return true;   /* [new], [update] ...: the stamps as they come */
	if (!(v = AN_FIELD(p, n, "ID=")) || !an_uint(v, e, &id, NULL) || id > 0xffff ||
	    !(v = AN_FIELD(p, n, "Seq=")) || !an_uint(v, e, &seq, NULL) || seq > 0xffff) {
		an_warn(s, s->line, "[complete] line without ID/Seq: skipped");
		return true;
	}
	if (s->idd_pending)
		an_warn(s, s->idd_line, "[complete] line without its latency line: skipped");
	if (!an_clock(p, e, &wall, NULL))
		wall = 0;
	an_set_tool(s, AN_TOOL_IDD);
	an_set_format(s, AN_FMT_ORIGINAL);
	s->in_tail = s->in_ignored_block = false;
	s->idd_pending = true;
	s->idd_line = s->line;
	s->idd_id = (uint16_t)id;
	s->idd_seq = (uint16_t)seq;
	s->idd_wall_ns = wall;
	return true;
}

/* "Flow: 10.0.0.1 -> 10.0.0.2 (ID=4321, Seq=15)": the addresses every
 * later [complete] line of this run is taken to have */
static void flow_line(struct an_state *s, const char *p, size_t n)
{
	const char *e = p + n, *q = an_skip_ws(p + 5, e);
	uint32_t a, b;

	if (an_ipv4(q, e, &a, &q) && e - q >= 4 && !memcmp(q, " -> ", 4) &&
	    an_ipv4(q + 4, e, &b, NULL)) {
		s->flow_src = a;
		s->flow_dst = b;
	}
}

bool an_orig_line(struct an_state *s, const char *p, size_t n)
{
	if (AN_STARTS(p, n, "=== ICMP RTT Trace:")) {
		rtt_header(s, p, n);
		return true;
	}
	if (AN_STARTS(p, n, "Session:")) {
		session(s, p, n);
		return true;
	}
	/* the rest of an RTT block: paths, skb pointers, stacks, its rulers */
	if (AN_STARTS(p, n, "Path 1 ") || AN_STARTS(p, n, "Path 2 ") ||
	    AN_STARTS(p, n, "SKB Pointers:") || AN_STARTS(p, n, "Kernel Stack Traces:") ||
	    AN_STARTS(p, n, "=========="))
		return true;
	if (AN_STARTS(p, n, "=== ICMP Drop Detected:")) {
		an_rtt_close(s, false);
		an_set_tool(s, AN_TOOL_IDD);
		an_set_format(s, AN_FMT_ORIGINAL);
		an_count_drop(s);
		s->in_tail = false;
		s->in_ignored_block = true;
		return true;
	}
	if (AN_STARTS(p, n, "Flow:")) {
		flow_line(s, p, n);
		return true;
	}
	if (AN_STARTS(p, n, "Drop Location:") || AN_STARTS(p, n, "----------"))
		return true;
	if (AN_STARTS(p, n, "=== ICMP Flow Statistics ===")) {
		an_set_tool(s, AN_TOOL_IDD);
		an_set_format(s, AN_FMT_ORIGINAL);
		an_run_end(s);
		s->idd_pending = false;
		s->flow_src = s->flow_dst = 0;
		s->in_tail = true;
		return true;
	}
	/* the tun tool's periodic and final sections: the same labels in ours */
	if (AN_STARTS(p, n, "TUN TX INTERRUPT TRACING STOPPED")) {
		an_tki_finish(s);
		an_set_tool(s, AN_TOOL_TKI);
		an_run_end(s);
		s->in_tail = true;
		return true;
	}
	if (AN_STARTS(p, n, "TUN TX QUEUE INTERRUPT TRACING STATISTICS") ||
	    AN_STARTS(p, n, "TUN TX INTERRUPT CHAIN ANALYSIS")) {
		s->in_tail = true;
		return true;
	}
	if (AN_STARTS(p, n, "Total events collected:"))
		return true;
	return idd_state(s, p, n);
}
