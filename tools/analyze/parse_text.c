// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Text logs, line by line: our tracers' text output here, the original
 * BCC tools' own lines in parse_orig.c, the tun tool's chains (same labels
 * in both) in parse_tki.c. What no reader knows is a warning, except
 * inside a block we know (an echo's stage and stack lines, a drop report)
 * and after a summary, whose tables and histograms are for people.
 */
#include <string.h>
#include "parse_int.h"

/* "[HH:MM:SS.ffffff ]" where the tracer ran with -T (the default in text) */
static const char *opt_clock(const char *p, const char *e, uint64_t *wall)
{
	const char *q;

	if (an_clock(p, e, wall, &q) && q < e && *q == ' ')
		return q + 1;
	*wall = 0;
	return p;
}

/* "A -> B": both addresses; just after B, or NULL */
static const char *flow(const char *p, const char *e, uint32_t *a, uint32_t *b)
{
	if (!an_ipv4(p, e, a, &p) || e - p < 4 || memcmp(p, " -> ", 4))
		return NULL;
	if (!an_ipv4(p + 4, e, b, &p))
		return NULL;
	return p;
}

static bool id_seq(const char *p, size_t n, struct an_key *k)
{
	const char *e = p + n, *v;
	uint64_t id, seq;

	if (!(v = AN_FIELD(p, n, "id=")) || !an_uint(v, e, &id, NULL) || id > 0xffff)
		return false;
	if (!(v = AN_FIELD(p, n, "seq=")) || !an_uint(v, e, &seq, NULL) || seq > 0xffff)
		return false;
	k->id = (uint16_t)id;
	k->seq = (uint16_t)seq;
	return true;
}

/* "READY <tool> pid=.. [direction=tx] [src_ip=..] [dst_ip=..] ..." */
static void ready(struct an_state *s, const char *p, size_t n)
{
	const char *e = p + n, *v;
	enum an_tool tool = an_tool_from(p + 6, n - 6);
	int dir = -1;
	uint32_t a = 0, b = 0;

	if (tool == AN_TOOL_RTT && (v = AN_FIELD(p, n, "direction=")))
		dir = e - v >= 2 && !memcmp(v, "tx", 2) ? 1 : e - v >= 2 && !memcmp(v, "rx", 2) ? 0 : -1;
	an_rtt_close(s, false);
	an_tki_finish(s);
	an_set_format(s, AN_FMT_TEXT);
	an_ready(s, tool, dir);
	if ((v = AN_FIELD(p, n, "src_ip=")) && an_ipv4(v, e, &a, NULL) &&
	    (v = AN_FIELD(p, n, "dst_ip=")) && an_ipv4(v, e, &b, NULL)) {
		s->flow_src = a;
		s->flow_dst = b;
	}
}

/* "=== ICMP RTT [INCOMPLETE ][clock ]tx|rx A -> B id=N seq=N ... ===" */
static void rtt_header(struct an_state *s, const char *p, size_t n)
{
	const char *e = p + n, *q = p + 13;
	struct an_rtt_block *b = &s->rtt;
	uint64_t wall;

	an_rtt_close(s, false);
	an_set_tool(s, AN_TOOL_RTT);
	an_set_format(s, AN_FMT_TEXT);
	if (AN_STARTS(q, (size_t)(e - q), "INCOMPLETE ")) {
		an_count_drop(s);
		s->in_ignored_block = true;
		return;
	}
	memset(b, 0, sizeof(*b));
	b->rec.tool = AN_TOOL_RTT;
	b->rec.line = b->line = s->line;
	q = opt_clock(q, e, &wall);
	b->rec.wall_ns = wall;
	if (e - q < 3 || (memcmp(q, "tx ", 3) && memcmp(q, "rx ", 3)) ||
	    !flow(q + 3, e, &b->rec.key.initiator, &b->rec.key.target) ||
	    !id_seq(q, (size_t)(e - q), &b->rec.key)) {
		an_warn(s, s->line, "echo header not understood: its block is skipped");
		s->in_ignored_block = true;
		return;
	}
	b->rec.u.rtt.tx = q[0] == 't';
	b->open = b->have_key = true;
}

/* "Latency(us): ReqInternal=a External=b RepInternal=c Total=d" (us) */
static bool idd_values(const char *p, size_t n, struct an_rec *r)
{
	const char *e = p + n, *v;

#define GET(key, dst)                                                                 \
	if (!(v = AN_FIELD(p, n, key)) || !an_decimal(v, e, 3, &r->u.idd.dst, NULL)) \
		return false;
	GET("ReqInternal=", req_internal_ns)
	GET("External=", external_ns)
	GET("RepInternal=", rep_internal_ns)
	GET("Total=", total_ns)
#undef GET
	return true;
}

/* ours: "[clock ]A -> B id=N seq=N rx_if=.. tx_if=.. Latency(us): ..."; the
 * original's line has only the values (its id/seq came the line before) */
static void idd_latency(struct an_state *s, const char *p, size_t n, const char *lat)
{
	const char *e = p + n, *q = an_skip_ws(p, lat);
	struct an_rec r = { .tool = AN_TOOL_IDD, .line = s->line };
	uint64_t wall;

	if (!idd_values(lat, (size_t)(e - lat), &r)) {
		an_warn(s, s->line, "latency line without its four values: skipped");
		return;
	}
	if (q == lat) {
		if (!s->idd_pending) {
			an_warn(s, s->line, "latency line without a [complete] line before it: skipped");
			return;
		}
		/* The original's verbose line names the echo by id/seq only; the
		 * addresses are those of the file's last Flow: line, else unknown.
		 * With initiator and target 0 the analyzer joins this record by
		 * (id, seq) alone, which the seed's filtered single-flow runs allow. */
		s->idd_pending = false;
		r.line = s->idd_line;
		r.wall_ns = s->idd_wall_ns;
		r.key = (struct an_key){ s->flow_src, s->flow_dst, s->idd_id, s->idd_seq };
		an_set_format(s, AN_FMT_ORIGINAL);
		an_emit(s, &r);
		return;
	}
	q = opt_clock(q, lat, &wall);
	r.wall_ns = wall;
	if (!flow(q, lat, &r.key.initiator, &r.key.target) ||
	    !id_seq(q, (size_t)(lat - q), &r.key)) {
		an_warn(s, s->line, "echo line not understood: skipped");
		return;
	}
	an_set_format(s, AN_FMT_TEXT);
	an_emit(s, &r);
}

void an_text_line(struct an_state *s, const char *p, size_t n)
{
	const char *e = p + n, *q = an_skip_ws(p, e), *lat;
	size_t qn = (size_t)(e - q);

	if (AN_STARTS(p, n, "TUN TX INTERRUPT [")) {
		s->in_tail = s->in_ignored_block = false;
		an_tki_stage(s, p, n);
		return;
	}
	if (q > p && AN_STARTS(q, qn, "-> ")) {
		an_tki_end_line(s, q, qn);
		return;
	}
	if (s->rtt.open) {
		if (AN_STARTS(q, qn, "Total Path 1")) {
			an_rtt_value(s, q, qn, 1, "Total Path 1");
			return;
		}
		if (AN_STARTS(q, qn, "Total Path 2")) {
			an_rtt_value(s, q, qn, 2, "Total Path 2");
			return;
		}
		if (AN_STARTS(q, qn, "Inter-Path Latency")) {
			an_rtt_value(s, q, qn, 4, "Inter-Path Latency");
			return;
		}
		if (AN_STARTS(q, qn, "Total RTT")) {
			an_rtt_value(s, q, qn, 8, "Total RTT");
			return;
		}
	}
	if (AN_STARTS(p, n, "=== ICMP RTT ") && !AN_STARTS(p, n, "=== ICMP RTT Trace:")) {
		s->in_tail = s->in_ignored_block = false;
		rtt_header(s, p, n);
		return;
	}
	if ((lat = AN_FIND(p, n, "Latency(us):"))) {
		s->in_tail = s->in_ignored_block = false;
		an_set_tool(s, AN_TOOL_IDD);
		idd_latency(s, p, n, lat);
		return;
	}
	if (AN_STARTS(p, n, "READY ")) {
		ready(s, p, n);
		return;
	}
	if (AN_STARTS(p, n, "DROP ")) {
		uint32_t a, b;
		uint64_t wall;
		const char *f = opt_clock(p + 5, e, &wall);

		an_set_tool(s, AN_TOOL_IDD);
		an_set_format(s, AN_FMT_TEXT);
		an_count_drop(s);
		if (flow(f, e, &a, &b)) {
			s->flow_src = a;
			s->flow_dst = b;
		}
		s->in_tail = false;
		s->in_ignored_block = true;
		return;
	}
	if (AN_STARTS(p, n, "POINT "))
		return;
	if (AN_STARTS(p, n, "SUMMARY ")) {
		an_rtt_close(s, false);
		s->in_tail = true;
		return;
	}
	if (an_orig_line(s, p, n))
		return;
	/* a block's own lines (stages, stacks, a drop's details) are indented */
	if (s->in_tail || ((s->in_ignored_block || s->rtt.open) && q > p))
		return;
	an_warn(s, s->line, "line not understood: skipped");
}

void an_text_finish(struct an_state *s)
{
	an_rtt_close(s, true);
	an_tki_finish(s);
	if (s->idd_pending)
		an_warn(s, s->idd_line, "[complete] line without its latency line: skipped");
	s->idd_pending = false;
}
