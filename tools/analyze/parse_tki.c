// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tun tool's chains in text: one "TUN TX INTERRUPT [dev:qN] ..." line
 * per stage, in our output and in the original's alike. What differs is
 * what the Delay values mean:
 *  - ours: each Delay is to the previous stage printed, and the chain
 *    always ends with a "  -> ..." line (the whole chain is one write, so
 *    its lines are contiguous); total = the sum of the Delays (the Time=
 *    clocks have only microseconds);
 *  - the original: Delay of S2 is t2-t1, of S3 t3-t2, of S4 t4-t2 (not
 *    from S3), of S5 t5-t4, and the "-> Total" line (only on its dev
 *    branch) is the sum of the four, which counts S2->S3 twice; so
 *    total = t5-t1 = D2 + D4 + D5, and the printed Total is never used.
 * Lines of several queues may interleave in the original, so each queue's
 * head has its own chain. The Stage 1 line gives the packet's flow.
 */
#include <string.h>
#include "parse_int.h"

static bool head_of(const char *p, size_t n, const char **h, size_t *hn, const char **rest)
{
	const char *e = p + n, *b = p + 18 /* "TUN TX INTERRUPT [" */, *c;

	c = memchr(b, ']', (size_t)(e - b));
	if (!c || (size_t)(c - b) >= AN_TKI_HEAD_MAX)
		return false;
	*h = b;
	*hn = (size_t)(c - b);
	*rest = an_skip_ws(c + 1, e);
	return true;
}

static int find(struct an_state *s, const char *h, size_t hn)
{
	for (int i = 0; i < AN_TKI_HEADS; i++)
		if (s->tki[i].used && s->tki[i].head_len == hn && !memcmp(s->tki[i].head, h, hn))
			return i;
	return -1;
}

/* ours or the original's, by what the chain and the file showed */
static bool is_ours(const struct an_state *s, const struct an_tki_chain *c, bool linking)
{
	if (c->ours || linking)
		return true;
	if (c->orig)
		return false;
	/* without a sign, the file's format says; else it is the original's,
	 * since ours always ends a chain with a "-> " line naming its linking */
	return s->info->format == AN_FMT_TEXT;
}

/* complete: the chain reached its end (our "-> Total" line, the original's
 * Stage 5); else it is partial and only counted */
static void end_chain(struct an_state *s, int i, bool complete, bool linking)
{
	struct an_tki_chain *c = &s->tki[i];
	struct an_rec r = { .tool = AN_TOOL_TKI, .line = c->line, .wall_ns = c->wall_ns };
	bool ours = is_ours(s, c, linking);

	c->used = false;
	if (s->tki_last == i)
		s->tki_last = -1;
	if (s->tki_wait == i)
		s->tki_wait = -1;
	if (!c->icmp_echo)
		return;
	an_set_format(s, ours ? AN_FMT_TEXT : AN_FMT_ORIGINAL);
	if (ours) {
		r.u.tki.total_ns = c->delay_sum_ns;
	} else {
		complete = complete && c->have_stage[1] && c->have_stage[2] && c->have_stage[4] &&
			   c->have_stage[5];
		r.u.tki.total_ns = c->delay_ns[2] + c->delay_ns[4] + c->delay_ns[5];
	}
	if (!complete) {
		an_count_drop(s);
		return;
	}
	r.key = c->key;
	r.u.tki.icmp_type = c->icmp_type;
	r.u.tki.n_stages = c->n_stages;
	r.u.tki.complete = true;
	an_emit(s, &r);
}

/* "... ICMP A -> B type=8 code=0 id=N seq=N" of a Stage 1 line */
static void flow_of(struct an_tki_chain *c, const char *p, size_t n)
{
	const char *e = p + n, *f = AN_FIELD(p, n, "ICMP "), *v;
	uint32_t a, b;
	uint64_t type, id, seq;

	c->icmp_echo = false;
	if (!f || !an_ipv4(f, e, &a, &f) || e - f < 4 || memcmp(f, " -> ", 4) ||
	    !an_ipv4(f + 4, e, &b, &f))
		return;
	n = (size_t)(e - f);
	if (!(v = AN_FIELD(f, n, "type=")) || !an_uint(v, e, &type, NULL) ||
	    !(v = AN_FIELD(f, n, "id=")) || !an_uint(v, e, &id, NULL) || id > 0xffff ||
	    !(v = AN_FIELD(f, n, "seq=")) || !an_uint(v, e, &seq, NULL) || seq > 0xffff)
		return;
	if (type != 8 && type != 0)
		return;
	c->icmp_echo = true;
	c->icmp_type = (uint8_t)type;
	/* the key names the echo: a reply travels target -> initiator */
	c->key = type == 8 ? (struct an_key){ a, b, (uint16_t)id, (uint16_t)seq } :
			     (struct an_key){ b, a, (uint16_t)id, (uint16_t)seq };
}

static int new_chain(struct an_state *s, const char *h, size_t hn)
{
	int slot = -1;

	for (int i = 0; i < AN_TKI_HEADS && slot < 0; i++)
		if (!s->tki[i].used)
			slot = i;
	if (slot < 0) {
		slot = 0;
		for (int i = 1; i < AN_TKI_HEADS; i++)
			if (s->tki[i].age < s->tki[slot].age)
				slot = i;
		an_warn(s, s->tki[slot].line, "more than %d queues at once: this chain is given up",
			AN_TKI_HEADS);
		end_chain(s, slot, s->tki[slot].s5_seen, false);
	}
	struct an_tki_chain *c = &s->tki[slot];

	memset(c, 0, sizeof(*c));
	c->used = true;
	memcpy(c->head, h, hn);
	c->head_len = hn;
	c->line = s->line;
	c->age = ++s->tki_age;
	return slot;
}

void an_tki_stage(struct an_state *s, const char *p, size_t n)
{
	const char *e = p + n, *h, *rest, *v;
	size_t hn;
	int i, num = 0;
	int64_t delay = 0;
	bool has_delay;

	an_set_tool(s, AN_TOOL_TKI);
	if (!head_of(p, n, &h, &hn, &rest)) {
		an_warn(s, s->line, "tun stage line without its [device:queue]: skipped");
		return;
	}
	size_t rn = (size_t)(e - rest);

	if (AN_STARTS(rest, rn, "Stage ") && rn > 6 && rest[6] >= '1' && rest[6] <= '5')
		num = rest[6] - '0';
	else if (!AN_STARTS(rest, rn, "Dequeue ") && !AN_STARTS(rest, rn, "Dropped ")) {
		an_warn(s, s->line, "tun line not understood: skipped");
		return;
	}
	i = find(s, h, hn);
	if (num == 1) {
		if (i >= 0)
			end_chain(s, i, s->tki[i].s5_seen, false);
		i = new_chain(s, h, hn);
		flow_of(&s->tki[i], rest, rn);
		if ((v = AN_FIELD(rest, rn, "Time=")) && !an_clock(v, e, &s->tki[i].wall_ns, NULL))
			s->tki[i].wall_ns = 0;
	} else if (i < 0) {
		an_warn(s, s->line, "tun stage line of a chain whose Stage 1 is not in the log: skipped");
		return;
	}
	struct an_tki_chain *c = &s->tki[i];

	s->tki_last = i;
	if (AN_FIND(rest, rn, "]: missing")) {
		c->ours = true;      /* our partial chain names what it lacks */
		return;
	}
	if (num == 0)
		c->ours = true;      /* the dequeue stage is ours only */
	if (AN_FIND(rest, rn, " Sock("))
		c->orig = true;
	has_delay = (v = AN_FIELD(rest, rn, "Delay=")) && an_decimal(v, e, 6, &delay, NULL);
	if (num > 1 && !has_delay) {
		an_warn(s, s->line, "tun stage line without its Delay: the chain is given up");
		c->icmp_echo = false;
	}
	c->n_stages++;
	c->delay_sum_ns += delay;
	if (num) {
		c->have_stage[num] = true;
		c->delay_ns[num] = delay;
	}
	if (num == 5) {
		c->s5_seen = true;
		if (!is_ours(s, c, false))
			s->tki_wait = i;
	}
}

/* "  -> Total(S1->S5): 0.224ms [linking=..]", "  -> PARTIAL CHAIN ...",
 * "  -> DROPPED in the tap ..." (ours); the original's "-> Total" */
void an_tki_end_line(struct an_state *s, const char *p, size_t n)
{
	int i = s->tki_last;
	bool linking = AN_FIELD(p, n, "linking=") != NULL;

	if (i < 0 || !s->tki[i].used) {
		an_warn(s, s->line, "chain end line without its chain: skipped");
		return;
	}
	if (AN_STARTS(p, n, "-> Total("))
		end_chain(s, i, is_ours(s, &s->tki[i], linking) || s->tki[i].s5_seen, linking);
	else
		end_chain(s, i, false, true);
}

void an_tki_before_line(struct an_state *s, const char *p, size_t n)
{
	if (AN_STARTS(p, n, "-> "))
		return;
	end_chain(s, s->tki_wait, true, false);
}

void an_tki_finish(struct an_state *s)
{
	for (int i = 0; i < AN_TKI_HEADS; i++)
		if (s->tki[i].used)
			end_chain(s, i, s->tki[i].s5_seen && !is_ours(s, &s->tki[i], false), false);
}
