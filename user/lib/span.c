// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "metrics.h"
#include "span.h"
#include "tracer.h"

struct candidate {
	uint64_t start_ns;
	unsigned char *key;
	unsigned char *value;
};

struct walk {
	const struct span_map *m;
	struct candidate *c;
	size_t n, cap;
	unsigned char *keys, *values;
};

static int walk_keep(struct walk *w, const void *key, const void *value)
{
	const struct netseg_span *sp = value;

	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct candidate *c = realloc(w->c, cap * sizeof(*c));
		unsigned char *k = realloc(w->keys, cap * w->m->key_size);
		unsigned char *v;

		if (c)
			w->c = c;
		if (k)
			w->keys = k;
		if (!c || !k)
			return -ENOMEM;
		v = realloc(w->values, cap * w->m->value_size);
		if (!v)
			return -ENOMEM;
		w->values = v;
		w->cap = cap;
	}
	memcpy(w->keys + w->n * w->m->key_size, key, w->m->key_size);
	memcpy(w->values + w->n * w->m->value_size, value, w->m->value_size);
	w->c[w->n].start_ns = sp->start_ns;
	w->n++;
	return 0;
}

long span_sweep(const struct span_map *m, uint64_t now_ns, uint64_t timeout_ns, span_expired_fn fn,
		void *ctx)
{
	unsigned char key[256], next[256], value[4096], again[4096];
	struct walk w = { .m = m };
	void *prev = NULL;
	uint64_t steps = 0;
	long expired = 0;
	int rc = 0;

	if (m->key_size > sizeof(key) || m->value_size > sizeof(value) ||
	    m->value_size < sizeof(struct netseg_span))
		return -EINVAL;
	/* A walk that loses its place (the kernel deleted the previous key)
	 * starts over from the first key: the same entry may be seen twice,
	 * which the delete below settles. The bound stops a walk that the
	 * kernel keeps restarting. */
	while (bpf_map_get_next_key(m->fd, prev, next) == 0 && steps++ < 4000000) {
		const struct netseg_span *sp = (const void *)value;

		memcpy(key, next, m->key_size);
		prev = key;
		if (bpf_map_lookup_elem(m->fd, key, value))
			continue;
		if ((int64_t)(now_ns - sp->start_ns) <= (int64_t)timeout_ns)
			continue;
		if ((rc = walk_keep(&w, key, value)))
			break;
	}
	/* Deleting during the walk would restart it at every delete. */
	for (size_t i = 0; i < w.n && !rc; i++) {
		const unsigned char *k = w.keys + i * m->key_size;
		const struct netseg_span *sp = (const void *)again;

		/* the kernel may have replaced it with a new span of that key */
		if (bpf_map_lookup_elem(m->fd, k, again) || sp->start_ns != w.c[i].start_ns)
			continue;
		if (bpf_map_delete_elem(m->fd, k))
			continue; /* completed or replaced in the kernel meanwhile */
		if (m->open)
			__atomic_fetch_sub(m->open, 1, __ATOMIC_SEQ_CST);
		fn(ctx, k, w.values + i * m->value_size);
		expired++;
	}
	free(w.c);
	free(w.keys);
	free(w.values);
	return rc ? rc : expired;
}

struct span_map span_map_of(const struct bpf_map *map, int64_t *open)
{
	struct span_map m = { bpf_map__fd(map), bpf_map__key_size(map), bpf_map__value_size(map),
			      open };

	return m;
}

void span_gate_field(struct out_rec *r, const struct span_map *m)
{
	if (m->open)
		out_u64(r, "spans_open_gate", NULL, (uint64_t)__atomic_load_n(m->open, __ATOMIC_SEQ_CST),
			OUT_TEXT_HIDE);
}

int span_expire(const struct span_map *m, uint64_t timeout_ns, span_expired_fn fn, void *ctx)
{
	long n = span_sweep(m, clock_mono_ns(), timeout_ns, fn, ctx);

	if (n > 0)
		metrics_count_add(metrics_default(), "echoes", "expired", NULL, (uint64_t)n);
	return n < 0 ? (int)n : 0;
}

uint64_t span_in_flight(const struct span_map *m)
{
	return tracer_map_count(m->fd, m->key_size);
}

void span_acct_make(struct span_acct *a, const uint64_t *cnt, uint64_t expired,
		    uint64_t in_flight)
{
	uint64_t accounted;

	memset(a, 0, sizeof(*a));
	a->started = cnt[NETSEG_CNT_SPAN_STARTED];
	a->completed = cnt[NETSEG_CNT_SPAN_COMPLETED];
	a->filtered = cnt[NETSEG_CNT_FILTERED];
	a->replaced = cnt[NETSEG_CNT_SPAN_REPLACED];
	a->duplicate = cnt[NETSEG_CNT_SPAN_DUPLICATE];
	a->orphan = cnt[NETSEG_CNT_SPAN_ORPHAN];
	a->expired = expired;
	a->in_flight = in_flight;
	/* LRU eviction is silent in the kernel */
	accounted = a->completed + a->filtered + a->replaced + a->expired + a->in_flight;
	a->evicted = a->started > accounted ? a->started - accounted : 0;
}

void span_acct_ended(struct span_acct *a, uint64_t n)
{
	a->evicted = a->evicted > n ? a->evicted - n : 0;
}

void span_acct_fields(struct out_rec *r, const struct span_acct *a, const char *noun)
{
	static const char *const names[] = { "started", "completed", "expired", "replaced",
					     "in_flight", "evicted" };
	const uint64_t vals[] = { a->started, a->completed, a->expired, a->replaced,
				  a->in_flight, a->evicted };
	/* out_* copy keys and labels into the record */
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		char key[64];

		snprintf(key, sizeof(key), "%s_%s", noun, names[i]);
		out_u64(r, key, names[i], vals[i], 0);
	}
	out_u64(r, "stamps_orphaned", "orphaned-stamps", a->orphan, 0);
	out_u64(r, "starts_duplicate", NULL, a->duplicate, OUT_TEXT_HIDE);
}

void span_segtab_init(struct span_segtab *t, const struct span_segment *def, int n,
		      enum span_seg_text text)
{
	memset(t, 0, sizeof(*t));
	t->def = def;
	t->n = n < SPAN_MAX_SEGMENTS ? n : SPAN_MAX_SEGMENTS;
	t->text = text;
	for (int i = 0; i < t->n; i++) {
		stats_init(&t->st[i], 0);
		t->metric[i] = metrics_segment(metrics_default(), def[i].key);
	}
}

void span_segtab_free(struct span_segtab *t)
{
	for (int i = 0; i < t->n; i++)
		stats_free(&t->st[i]);
}

/* A segment's stage indexes for this span; false when an end is unstamped. */
static bool seg_ends(const struct span_segment *d, const struct netseg_stamp *st, int n_stages,
		     int *from, int *to)
{
	*to = d->to;
	if (*to == SPAN_SEG_LAST)
		for (*to = n_stages - 1; *to > 0 && !st[*to].ts_ns; (*to)--)
			;
	*from = d->from;
	if (*from == SPAN_SEG_PREV)
		for (*from = *to - 1; *from >= 0 && !st[*from].ts_ns; (*from)--)
			;
	return *from >= 0 && *to >= 0 && *from != *to && st[*from].ts_ns && st[*to].ts_ns;
}

void span_segtab_add(struct span_segtab *t, const struct netseg_stamp *st, struct out_rec *r)
{
	int64_t v[SPAN_MAX_SEGMENTS];
	bool have[SPAN_MAX_SEGMENTS];

	for (int i = 0; i < t->n; i++) {
		int from, to;

		have[i] = seg_ends(&t->def[i], st, t->n_stages, &from, &to);
		if (!have[i])
			continue;
		v[i] = (int64_t)(st[to].ts_ns - st[from].ts_ns);
		if (v[i] < 0)
			t->negative[i]++;
		stats_add(&t->st[i], v[i] < 0 ? 0 : (uint64_t)v[i]);
		metrics_observe_ns(metrics_default(), t->metric[i], v[i] < 0 ? 0 : (uint64_t)v[i]);
	}
	if (!r)
		return;
	for (int i = 0; i < t->n; i++) {
		const struct span_segment *d = &t->def[i];
		unsigned flags = t->text == SPAN_SEG_TEXT_LINE ? OUT_TEXT_NEWLINE :
				 t->text == SPAN_SEG_TEXT_NONE ? OUT_TEXT_HIDE : 0;
		char key[64];

		if (!have[i])
			continue;
		snprintf(key, sizeof(key), "%s_ns", d->key);
		out_sns(r, key, d->label, v[i], flags);
	}
}

void span_segtab_summary(struct span_segtab *t, struct tracer *tr, struct out_rec *r,
			 enum loop_end how)
{
	struct tracer_segment segs[SPAN_MAX_SEGMENTS];
	char labels[SPAN_MAX_SEGMENTS][64], buf[512];
	size_t off = 0;

	off += snprintf(buf, sizeof(buf), "{");
	for (int i = 0; i < t->n; i++) {
		const char *label = t->def[i].label;
		size_t len = strlen(label);

		/* the table shows labels without the text form's colon */
		segs[i].key = t->def[i].key;
		snprintf(labels[i], sizeof(labels[i]), "%.*s",
			 (int)(len && label[len - 1] == ':' ? len - 1 : len), label);
		segs[i].label = labels[i];
		segs[i].st = &t->st[i];
		if (off < sizeof(buf))
			off += snprintf(buf + off, sizeof(buf) - off, "%s\"%s\":%llu", i ? "," : "",
					t->def[i].key, (unsigned long long)t->negative[i]);
	}
	if (off < sizeof(buf))
		snprintf(buf + off, sizeof(buf) - off, "}");
	out_json(r, "segments_negative", buf, buf, OUT_TEXT_HIDE);
	tracer_summary_emit(tr, r, segs, t->n, how);
}
