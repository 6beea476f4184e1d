// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Our tracers' --json lines. Each is one flat object whose few fields we
 * need sit at the top level (the stages' ts_ns one level down), so a
 * scanner that reads those keys and skips every other value whole is all
 * it takes: no tree is built, nothing is copied, and a line is left as soon
 * as the record has what it needs (an echo's stage and point details come
 * after its durations or are not needed at all).
 */
#define _GNU_SOURCE /* memmem */
#include <string.h>
#include "parse_int.h"
#include "parse_json_scan.h"

enum {
	H_TYPE = 1u << 0, H_TOOL = 1u << 1, H_DIR = 1u << 2, H_SRC = 1u << 3, H_DST = 1u << 4,
	H_ID = 1u << 5, H_SEQ = 1u << 6, H_ICMPT = 1u << 7, H_WALL = 1u << 8, H_P1 = 1u << 9,
	H_INTER = 1u << 10, H_P2 = 1u << 11, H_TOTAL = 1u << 12, H_REQ = 1u << 13,
	H_EXT = 1u << 14, H_REP = 1u << 15, H_COMPLETE = 1u << 16, H_STAGES = 1u << 17,
	H_POINTS = 1u << 18,
};
#define NEED_KEY (H_SRC | H_DST | H_ID | H_SEQ)
#define NEED_RTT (H_TYPE | NEED_KEY | H_DIR | H_P1 | H_INTER | H_P2 | H_TOTAL)
#define NEED_IDD (H_TYPE | NEED_KEY | H_REQ | H_EXT | H_REP | H_TOTAL)
#define NEED_CHAIN (H_TYPE | NEED_KEY | H_ICMPT | H_COMPLETE | H_STAGES)

enum kind { K_UNKNOWN, K_READY, K_ECHO, K_INCOMPLETE, K_DROP, K_CHAIN, K_IGNORED, K_OTHER };

struct jrec {
	unsigned have;
	uint64_t points[4];     /* icmp_drop_detector: req_rx req_tx rep_rx rep_tx ts_ns */
	enum kind kind;
	const char *type, *tool, *dir;
	size_t type_len, tool_len, dir_len;
	uint32_t src, dst;
	uint64_t id, seq, icmp_type, wall_ns;
	int64_t p1, inter, p2, total, req, ext, rep;
	bool complete;
	uint64_t first_ts, max_ts;
	int n_stages;
};

/* The stages array of a chain: how many, the first ts_ns and the latest.
 * Its end is found as any container's; inside it, each stage is found by
 * its "ts_ns": key (an unescaped quote, the name and '":' can only be a
 * key: inside a string every quote is escaped), not walked key by key. */
static const char *stages_value(const char *p, const char *e, struct jrec *r)
{
	static const char ts_key[] = "\"ts_ns\":", wall_key[] = "\"wall_ns\":";
	const char *end, *q;

	if (p >= e || *p != '[' || !(end = skip_container(p, e)))
		return NULL;
	for (q = p; (q = find_key(q, end, ts_key, sizeof(ts_key) - 1)); ) {
		int64_t ts;
		const char *after;

		q += sizeof(ts_key) - 1;
		if (!(after = int_value(q, end, &ts)) || ts < 0)
			return NULL;
		if (!r->n_stages++) {
			r->first_ts = r->max_ts = (uint64_t)ts;
			/* a chain's wall clock is its first stage's */
			const char *w = find_key(after, end, wall_key, sizeof(wall_key) - 1);
			const char *next = find_key(after, end, ts_key, sizeof(ts_key) - 1);
			int64_t wall;

			if (w && (!next || w < next) && !(r->have & H_WALL) &&
			    int_value(w + sizeof(wall_key) - 1, end, &wall) && wall > 0)
				r->wall_ns = (uint64_t)wall;
		} else if ((uint64_t)ts > r->max_ts) {
			r->max_ts = (uint64_t)ts;
		}
		q = after;
	}
	return end;
}

#define KEY(lit) (kn == sizeof(lit) - 1 && !memcmp(k, lit, sizeof(lit) - 1))

static enum kind kind_of(const char *t, size_t n)
{
#define IS(lit) (n == sizeof(lit) - 1 && !memcmp(t, lit, n))
	if (IS("echo"))
		return K_ECHO;
	if (IS("chain"))
		return K_CHAIN;
	if (IS("ready"))
		return K_READY;
	if (IS("incomplete"))
		return K_INCOMPLETE;
	if (IS("drop"))
		return K_DROP;
	if (IS("summary") || IS("stats") || IS("analysis") || IS("point"))
		return K_IGNORED;
	return K_OTHER;
#undef IS
}

/* Has the record all it needs? Then the rest of the line is not read. */
static bool enough(const struct jrec *r)
{
	switch (r->kind) {
	case K_INCOMPLETE:
	case K_DROP:
	case K_IGNORED:
	case K_OTHER:
		return true;
	case K_ECHO:
		/* icmp_drop_detector's points come last: wanted for the lab's
		 * direct wire measurement */
		return (r->have & NEED_RTT) == NEED_RTT ||
		       (r->have & (NEED_IDD | H_POINTS)) == (NEED_IDD | H_POINTS);
	case K_CHAIN:
		return (r->have & NEED_CHAIN) == NEED_CHAIN;
	default:
		return false;
	}
}

/* One value of the top level; NULL: not JSON we can read */
/* {"req_rx":{"ts_ns":N,...},...}: the four monotonic stamps, by name */
static const char *points_value(const char *p, const char *e, struct jrec *r)
{
	static const char *const names[4] = { "\"req_rx\":{\"ts_ns\":", "\"req_tx\":{\"ts_ns\":",
					      "\"rep_rx\":{\"ts_ns\":", "\"rep_tx\":{\"ts_ns\":" };
	const char *end = skip_value(p, e);

	if (!end)
		return NULL;
	for (int i = 0; i < 4; i++) {
		size_t len = strlen(names[i]);
		const char *k = memmem(p, (size_t)(end - p), names[i], len);
		uint64_t v = 0;

		for (k = k ? k + len : NULL; k && k < end && *k >= '0' && *k <= '9'; k++)
			v = v * 10 + (uint64_t)(*k - '0');
		r->points[i] = v;
	}
	return end;
}

static const char *field(const char *k, size_t kn, const char *p, const char *e, struct jrec *r)
{
	const char *q = NULL;
	unsigned bit = 0;

	switch (kn ? k[0] : 0) {
	case 't':
		if (KEY("type")) {
			q = str_value(p, e, &r->type, &r->type_len);
			if (q)
				r->kind = kind_of(r->type, r->type_len);
			bit = H_TYPE;
		} else if (KEY("tool")) {
			q = str_value(p, e, &r->tool, &r->tool_len);
			bit = H_TOOL;
		} else if (KEY("total_ns")) {
			q = int_value(p, e, &r->total);
			bit = H_TOTAL;
		}
		break;
	case 'd':
		if (KEY("dst")) {
			q = ip_value(p, e, &r->dst);
			bit = H_DST;
		} else if (KEY("direction")) {
			q = str_value(p, e, &r->dir, &r->dir_len);
			bit = H_DIR;
		}
		break;
	case 's':
		if (KEY("src")) {
			q = ip_value(p, e, &r->src);
			bit = H_SRC;
		} else if (KEY("seq")) {
			q = uint_value(p, e, &r->seq);
			bit = H_SEQ;
		} else if (KEY("stages") && (r->kind == K_CHAIN || r->kind == K_UNKNOWN)) {
			q = stages_value(p, e, r);
			bit = H_STAGES;
		}
		break;
	case 'i':
		if (KEY("id")) {
			q = uint_value(p, e, &r->id);
			bit = H_ID;
		} else if (KEY("icmp_type")) {
			q = uint_value(p, e, &r->icmp_type);
			bit = H_ICMPT;
		} else if (KEY("inter_ns")) {
			q = int_value(p, e, &r->inter);
			bit = H_INTER;
		}
		break;
	case 'p':
		if (KEY("points")) {
			q = points_value(p, e, r);
			bit = H_POINTS;
		} else if (KEY("path1_ns")) {
			q = int_value(p, e, &r->p1);
			bit = H_P1;
		} else if (KEY("path2_ns")) {
			q = int_value(p, e, &r->p2);
			bit = H_P2;
		}
		break;
	case 'r':
		if (KEY("req_internal_ns")) {
			q = int_value(p, e, &r->req);
			bit = H_REQ;
		} else if (KEY("rep_internal_ns")) {
			q = int_value(p, e, &r->rep);
			bit = H_REP;
		}
		break;
	case 'e':
		if (KEY("external_ns")) {
			q = int_value(p, e, &r->ext);
			bit = H_EXT;
		}
		break;
	case 'w':
		if (KEY("wall_ns")) {
			q = uint_value(p, e, &r->wall_ns);
			bit = H_WALL;
		}
		break;
	case 'c':
		if (KEY("complete")) {
			if (e - p >= 4 && !memcmp(p, "true", 4)) {
				r->complete = true;
				q = p + 4;
			} else if (e - p >= 5 && !memcmp(p, "false", 5)) {
				q = p + 5;
			}
			bit = H_COMPLETE;
		}
		break;
	}
	if (!bit)
		return skip_value(p, e);
	if (q)
		r->have |= bit;
	return q;
}

/* The rest of a chain record, whose keys are looked up by their quoted
 * names instead of walked one by one: a chain carries some twenty keys
 * before its stages, and none of the ones wanted here is nested (a stage
 * has no src, id, seq ...), so each one's first place is its own. */
static void chain_keys(const char *p, const char *e, struct jrec *r)
{
	static const struct {
		const char *lit;
		size_t n;
	} keys[] = {
#define K(s) { "\"" s "\":", sizeof(s) + 2 }
		K("src"), K("dst"), K("id"), K("seq"), K("icmp_type"), K("complete"), K("stages"),
#undef K
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *k = find_key(p, e, keys[i].lit, keys[i].n);

		if (k)
			field(k + 1, keys[i].n - 3, ws(k + keys[i].n, e), e, r);
	}
}

/* 1: read (whole or enough of it), 0: not an object we can read */
static int scan(const char *p, const char *e, struct jrec *r, bool whole)
{
	p = ws(p + 1, e);
	if (p < e && *p == '}')
		return 1;
	while (p < e) {
		const char *k;
		size_t kn;

		if (!(p = str_value(p, e, &k, &kn)))
			return 0;
		p = ws(p, e);
		if (p >= e || *p != ':')
			return 0;
		p = ws(p + 1, e);
		if (!(p = field(k, kn, p, e, r)))
			return 0;
		if (!whole && enough(r))
			return 1;
		if (!whole && r->kind == K_CHAIN && r->have == H_TYPE) {
			chain_keys(p, e, r);
			return 1;
		}
		p = ws(p, e);
		if (p < e && *p == ',') {
			p = ws(p + 1, e);
			continue;
		}
		return p < e && *p == '}' && ws(p + 1, e) == e;
	}
	return 0;
}

static void unknown_type(struct an_state *s, const struct jrec *r)
{
	size_t n = r->type_len < AN_TYPE_NAME_MAX - 1 ? r->type_len : AN_TYPE_NAME_MAX - 1;

	for (int i = 0; i < s->n_unknown_types; i++)
		if (strlen(s->unknown_types[i]) == n && !memcmp(s->unknown_types[i], r->type, n))
			return;
	if (s->n_unknown_types >= AN_MAX_UNKNOWN_TYPES)
		return;
	memcpy(s->unknown_types[s->n_unknown_types], r->type, n);
	s->unknown_types[s->n_unknown_types][n] = 0;
	/* the name may hold any byte: printed with the non-printable ones as '?' */
	char shown[AN_TYPE_NAME_MAX];

	for (size_t i = 0; i <= n; i++)
		shown[i] = i == n ? 0 : (r->type[i] >= 0x20 && r->type[i] < 0x7f ? r->type[i] : '?');
	s->n_unknown_types++;
	an_warn(s, s->line, "unknown record type \"%s\": its records are skipped", shown);
}

static void echo(struct an_state *s, const struct jrec *r)
{
	struct an_rec out = { .line = s->line, .wall_ns = r->wall_ns };

	if ((r->have & NEED_KEY) != NEED_KEY || r->id > 0xffff || r->seq > 0xffff) {
		an_warn(s, s->line, "echo record without its addresses, id or seq: skipped");
		return;
	}
	out.key = (struct an_key){ r->src, r->dst, (uint16_t)r->id, (uint16_t)r->seq };
	if ((r->have & NEED_IDD) == NEED_IDD) {
		out.tool = AN_TOOL_IDD;
		out.u.idd.req_internal_ns = r->req;
		out.u.idd.external_ns = r->ext;
		out.u.idd.rep_internal_ns = r->rep;
		out.u.idd.total_ns = r->total;
		memcpy(out.u.idd.ts_ns, r->points, sizeof(out.u.idd.ts_ns));
	} else if ((r->have & NEED_RTT) == NEED_RTT) {
		out.tool = AN_TOOL_RTT;
		out.u.rtt.tx = r->dir_len == 2 && !memcmp(r->dir, "tx", 2);
		out.u.rtt.path1_ns = r->p1;
		out.u.rtt.inter_ns = r->inter;
		out.u.rtt.path2_ns = r->p2;
		out.u.rtt.total_ns = r->total;
	} else {
		an_warn(s, s->line, "echo record without its durations: skipped");
		return;
	}
	an_emit(s, &out);
}

static void chain(struct an_state *s, const struct jrec *r)
{
	struct an_rec out = { .tool = AN_TOOL_TKI, .line = s->line, .wall_ns = r->wall_ns };

	/* only echoes and replies join with the other logs */
	if (!(r->have & H_ICMPT) || (r->icmp_type != 0 && r->icmp_type != 8) ||
	    (r->have & NEED_KEY) != NEED_KEY || r->id > 0xffff || r->seq > 0xffff)
		return;
	if (!r->complete) {
		an_count_drop(s);
		return;
	}
	if (!(r->have & H_STAGES) || r->n_stages < 1) {
		an_warn(s, s->line, "chain record without its stages: skipped");
		return;
	}
	/* the key names the echo: a reply travels target -> initiator */
	if (r->icmp_type == 8)
		out.key = (struct an_key){ r->src, r->dst, (uint16_t)r->id, (uint16_t)r->seq };
	else
		out.key = (struct an_key){ r->dst, r->src, (uint16_t)r->id, (uint16_t)r->seq };
	out.u.tki.icmp_type = (uint8_t)r->icmp_type;
	out.u.tki.total_ns = (int64_t)(r->max_ts - r->first_ts);
	out.u.tki.n_stages = r->n_stages;
	out.u.tki.complete = true;
	an_emit(s, &out);
}

void an_json_line(struct an_state *s, const char *p, size_t n, bool last_unterminated)
{
	struct jrec r;

	memset(&r, 0, sizeof(r));
	/* a cut last line may still hold enough keys: only a whole one counts */
	if (!scan(p, p + n, &r, last_unterminated) || !(r.have & H_TYPE)) {
		if (last_unterminated)
			an_warn(s, s->line, "last line has no end (truncated?): skipped");
		else
			an_warn(s, s->line, "not a JSON record of ours: skipped");
		return;
	}
	an_set_format(s, AN_FMT_JSON);
	switch (r.kind) {
	case K_READY: {
		int dir = -1;

		if (r.have & H_DIR)
			dir = r.dir_len == 2 && !memcmp(r.dir, "tx", 2) ? 1 :
			      r.dir_len == 2 && !memcmp(r.dir, "rx", 2) ? 0 : -1;
		an_ready(s, r.have & H_TOOL ? an_tool_from(r.tool, r.tool_len) : AN_TOOL_UNKNOWN,
			 /* tun_tx_to_kvm_irq says "rx" too: only the RTT tool's matters */
			 r.have & H_TOOL && an_tool_from(r.tool, r.tool_len) == AN_TOOL_RTT ? dir : -1);
		break;
	}
	case K_ECHO:
		echo(s, &r);
		break;
	case K_CHAIN:
		chain(s, &r);
		break;
	case K_INCOMPLETE:
		an_set_tool(s, AN_TOOL_RTT);
		an_count_drop(s);
		break;
	case K_DROP:
		an_set_tool(s, AN_TOOL_IDD);
		an_count_drop(s);
		break;
	case K_IGNORED:
		break;
	default:
		unknown_type(s, &r);
		break;
	}
}
