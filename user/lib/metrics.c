// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include "netseg_hist.h"
#include "metrics.h"
#include "tier.h"

#define METRICS_MAX_SEGMENTS 32
/* a scrape that waits longer than this for its request is dropped */
#define METRICS_HTTP_TIMEOUT_S 10

struct seg {
	char *name;
	uint64_t counts[NETSEG_HIST_BUCKETS];
	uint64_t sum_ns;
};

enum family { FAM_ECHOES, FAM_DROPS, FAM_LOST, FAM_N };

static const struct family_def {
	const char *key;      /* what callers pass: "echoes" */
	const char *name;     /* without the _total that samples carry */
	const char *help;
	const char *label1, *label2;
} families[FAM_N] = {
	[FAM_ECHOES] = { "echoes", "netseg_echoes",
			 "Spans (echoes, exchanges, chains) by what became of them.", "state", NULL },
	[FAM_DROPS] = { "drops", "netseg_drops", "Packets found dropped, by where and why.",
			"class", "reason" },
	[FAM_LOST] = { "records_lost", "netseg_records_lost",
		       "Records the kernel could not queue: the ring buffer was full.", NULL, NULL },
};

struct series {
	enum family fam;
	char *l1, *l2;
	uint64_t v;
};

struct tier_row {
	char *stage, *tier, *hook;
};

struct metrics {
	pthread_mutex_t mu;
	char *tool, *version;
	char address[INET6_ADDRSTRLEN + 16];
	int fd;                       /* listening; evhttp's once serving */
	struct seg segs[METRICS_MAX_SEGMENTS];
	int n_segs;
	struct series *series;
	size_t n_series, cap_series;
	struct tier_row *tiers;
	int n_tiers;
	void (*scrape_fn)(void *ctx, struct metrics *m);
	void *scrape_ctx;
	/* the server, in its own thread */
	struct event_base *base;
	struct evhttp *http;
	struct event *stop_ev;
	int stop_fd;
	pthread_t thread;
	bool serving;
	char *page;                   /* the server thread's render buffer */
	size_t page_cap;
};

static struct metrics *default_registry;

struct metrics *metrics_default(void)
{
	return default_registry;
}

void metrics_set_default(struct metrics *m)
{
	default_registry = m;
}

/* ---- the address ---------------------------------------------------- */

/* "PORT": 0..65535, digits only */
static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 5)
		return -1;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* "a.b.c.d:PORT" or "[v6]:PORT" into a socket address; why: one phrase. */
static int parse_addr_port(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
			   const char **why)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *hs = s;
	size_t hlen;
	uint16_t port;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':') {
			*why = "expected [IPv6]:PORT";
			return -1;
		}
		hs = s + 1;
		hlen = (size_t)(close - hs);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			*why = "expected ADDR:PORT (a.b.c.d:PORT or [IPv6]:PORT)";
			return -1;
		}
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen)) {
			*why = "an IPv6 address goes in brackets: [ADDR]:PORT";
			return -1;
		}
	}
	if (parse_port(colon + 1, &port)) {
		*why = "the port must be a number from 0 to 65535";
		return -1;
	}
	if (!hlen || hlen >= sizeof(host)) {
		*why = "no address before the port";
		return -1;
	}
	memcpy(host, hs, hlen);
	host[hlen] = 0;
	if (*s == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*sslen = sizeof(*a6);
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1)
			return 0;
		*why = "not an IPv6 address";
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*sslen = sizeof(*a4);
		if (inet_pton(AF_INET, host, &a4->sin_addr) == 1)
			return 0;
		*why = "not an IPv4 address (a.b.c.d), nor [IPv6]";
	}
	return -1;
}

static const char *bind_why(int err)
{
	switch (err) {
	case EADDRINUSE:
		return "port in use";
	case EADDRNOTAVAIL:
		return "address not on this host";
	case EACCES:
		return "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)";
	}
	return strerror(err);
}

/* A listening socket on the address; -1 with *why set. */
static int listen_on(const struct sockaddr_storage *ss, socklen_t len, const char **why)
{
	int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	/* a restarted tracer rebinds at once despite its old connections in
	 * TIME_WAIT; a live listener still makes bind fail */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 16)) {
		*why = bind_why(errno);
		close(fd);
		return -1;
	}
	return fd;
}

static void format_address(struct metrics *m)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	if (getsockname(m->fd, (struct sockaddr *)&ss, &len))
		return;
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const void *)&ss;

		inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
		snprintf(m->address, sizeof(m->address), "[%s]:%u", host, ntohs(a6->sin6_port));
	} else {
		const struct sockaddr_in *a4 = (const void *)&ss;

		inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
		snprintf(m->address, sizeof(m->address), "%s:%u", host, ntohs(a4->sin_port));
	}
}

struct metrics *metrics_open(const char *tool, const char *addr_port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	const char *why = NULL;
	struct metrics *m;
	int fd;

	if (parse_addr_port(addr_port, &ss, &sslen, &why) ||
	    (fd = listen_on(&ss, sslen, &why)) < 0) {
		snprintf(err, errlen, "'%s': %s", addr_port, why);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m || !(m->tool = strdup(tool))) {
		free(m);
		close(fd);
		snprintf(err, errlen, "'%s': out of memory", addr_port);
		return NULL;
	}
	pthread_mutex_init(&m->mu, NULL);
	m->fd = fd;
	m->stop_fd = -1;
	format_address(m);
	return m;
}

const char *metrics_address(const struct metrics *m)
{
	return m ? m->address : "";
}

/* ---- the registry --------------------------------------------------- */

static void tiers_clear(struct metrics *m)
{
	for (int i = 0; i < m->n_tiers; i++) {
		free(m->tiers[i].stage);
		free(m->tiers[i].tier);
		free(m->tiers[i].hook);
	}
	free(m->tiers);
	m->tiers = NULL;
	m->n_tiers = 0;
}

static void tier_add(struct metrics *m, const char *stage, const char *tier, const char *hook)
{
	struct tier_row *rows = realloc(m->tiers, (size_t)(m->n_tiers + 1) * sizeof(*rows));
	struct tier_row *r;

	if (!rows)
		return;
	m->tiers = rows;
	r = &rows[m->n_tiers];
	r->stage = strdup(stage);
	r->tier = strdup(tier);
	r->hook = strdup(hook);
	if (r->stage && r->tier && r->hook) {
		m->n_tiers++;
		return;
	}
	free(r->stage);
	free(r->tier);
	free(r->hook);
}

void metrics_tiers(struct metrics *m, const struct tier_plan *plan)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	tiers_clear(m);
	for (int s = 0; plan->tool && s < plan->tool->n_stages; s++) {
		const struct tier_stage *st = &plan->tool->stages[s];
		const struct tier_choice *c = &plan->stage[s];

		for (int i = 0; c->tier != NETSEG_TIER_NONE && i < TIER_MAX_HOOKS && st->hooks[i].tier; i++) {
			if (st->hooks[i].tier != c->tier || !c->hook_ok[i])
				continue;
			/* a kprobe may sit on a clone (".isra.0"): name what was hooked */
			tier_add(m, st->name, tier_name(c->tier),
				 c->tier == NETSEG_TIER_KPROBE && c->resolved[i][0] ? c->resolved[i]
										      : st->hooks[i].target);
		}
	}
	pthread_mutex_unlock(&m->mu);
}

void metrics_build_info(struct metrics *m, const char *version)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	free(m->version);
	m->version = strdup(version);
	pthread_mutex_unlock(&m->mu);
}

int metrics_segment(struct metrics *m, const char *segment)
{
	int id = -1;

	if (!m)
		return -1;
	pthread_mutex_lock(&m->mu);
	for (int i = 0; i < m->n_segs && id < 0; i++)
		if (!strcmp(m->segs[i].name, segment))
			id = i;
	if (id < 0 && m->n_segs < METRICS_MAX_SEGMENTS &&
	    (m->segs[m->n_segs].name = strdup(segment)))
		id = m->n_segs++;
	pthread_mutex_unlock(&m->mu);
	return id;
}

int metrics_segment_count(struct metrics *m)
{
	int n;

	if (!m)
		return 0;
	pthread_mutex_lock(&m->mu);
	n = m->n_segs;
	pthread_mutex_unlock(&m->mu);
	return n;
}

void metrics_observe_ns(struct metrics *m, int segment, uint64_t ns)
{
	if (!m || segment < 0)
		return;
	pthread_mutex_lock(&m->mu);
	if (segment < m->n_segs) {
		m->segs[segment].counts[netseg_hist_bucket(ns)]++;
		m->segs[segment].sum_ns += ns;
	}
	pthread_mutex_unlock(&m->mu);
}

void metrics_hist_set(struct metrics *m, int segment, const uint64_t *counts, uint64_t sum_ns)
{
	if (!m || segment < 0)
		return;
	pthread_mutex_lock(&m->mu);
	if (segment < m->n_segs) {
		memcpy(m->segs[segment].counts, counts, sizeof(m->segs[segment].counts));
		m->segs[segment].sum_ns = sum_ns;
	}
	pthread_mutex_unlock(&m->mu);
}

static bool label_eq(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

static int family_of(const char *key)
{
	for (int f = 0; f < FAM_N; f++)
		if (!strcmp(families[f].key, key))
			return f;
	return -1;
}

/* The series (created at 0 when new); NULL when memory ran out. Labels a
 * family does not have are ignored, so callers cannot make stray ones. */
static struct series *series_of(struct metrics *m, enum family f, const char *l1, const char *l2)
{
	struct series *s;

	l1 = families[f].label1 ? (l1 ? l1 : "") : NULL;
	l2 = families[f].label2 ? (l2 ? l2 : "") : NULL;
	for (size_t i = 0; i < m->n_series; i++) {
		s = &m->series[i];
		if (s->fam == f && label_eq(s->l1, l1) && label_eq(s->l2, l2))
			return s;
	}
	if (m->n_series == m->cap_series) {
		size_t cap = m->cap_series ? m->cap_series * 2 : 16;

		s = realloc(m->series, cap * sizeof(*s));
		if (!s)
			return NULL;
		m->series = s;
		m->cap_series = cap;
	}
	s = &m->series[m->n_series];
	*s = (struct series){ f, l1 ? strdup(l1) : NULL, l2 ? strdup(l2) : NULL, 0 };
	if ((l1 && !s->l1) || (l2 && !s->l2)) {
		free(s->l1);
		free(s->l2);
		return NULL;
	}
	m->n_series++;
	return s;
}

static void count_update(struct metrics *m, const char *family, const char *l1, const char *l2,
			 uint64_t n, bool add)
{
	int f = m ? family_of(family) : -1;
	struct series *s;

	if (f < 0)
		return;
	pthread_mutex_lock(&m->mu);
	s = series_of(m, (enum family)f, l1, l2);
	if (s)
		s->v = add ? s->v + n : n;
	pthread_mutex_unlock(&m->mu);
}

void metrics_count_add(struct metrics *m, const char *family, const char *label1,
		       const char *label2, uint64_t n)
{
	count_update(m, family, label1, label2, n, true);
}

void metrics_count_set(struct metrics *m, const char *family, const char *label1,
		       const char *label2, uint64_t v)
{
	count_update(m, family, label1, label2, v, false);
}

void metrics_on_scrape(struct metrics *m, void (*fn)(void *ctx, struct metrics *m), void *ctx)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->scrape_fn = fn;
	m->scrape_ctx = ctx;
	pthread_mutex_unlock(&m->mu);
}

/* ---- the exposition ------------------------------------------------- */

/* snprintf into a buffer that may be too small: the length needed is
 * still counted, so the caller can grow the buffer and render again */
struct sink {
	char *buf;
	size_t len, off;
};

static void put(struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct sink *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->off < s->len ? s->buf + s->off : NULL, s->off < s->len ? s->len - s->off : 0,
		      fmt, ap);
	va_end(ap);
	if (n > 0)
		s->off += (size_t)n;
}

static void put_char(struct sink *s, char c)
{
	if (s->off + 1 < s->len) {
		s->buf[s->off] = c;
		s->buf[s->off + 1] = 0;
	}
	s->off++;
}

/* A label value: backslash, double quote and line feed escaped, as both
 * formats want (any other byte, UTF-8 included, goes as it is). */
static void put_label(struct sink *s, char sep, const char *name, const char *value)
{
	put(s, "%c%s=\"", sep, name);
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			put_char(s, '\\');
		if (*p == '\n') {
			put(s, "\\n");
			continue;
		}
		put_char(s, *p);
	}
	put_char(s, '"');
}

/* A float as Go's strconv 'g' with the shortest exact digits writes it
 * (what Prometheus' own clients print, so le values match theirs). */
static void put_float(struct sink *s, double v)
{
	char e[40];
	int digits, exp;

	if (isinf(v)) {
		put(s, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == 0) {
		put(s, "0");
		return;
	}
	for (digits = 1; digits < 17; digits++) {
		snprintf(e, sizeof(e), "%.*e", digits - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	snprintf(e, sizeof(e), "%.*e", digits - 1, v);
	exp = atoi(strchr(e, 'e') + 1);
	if (exp < -4 || exp >= 6)
		put(s, "%s", e);
	else
		put(s, "%.*f", digits - 1 - exp > 0 ? digits - 1 - exp : 0, v);
}

static void put_meta(struct sink *s, bool om, const char *name, const char *type,
		     const char *help)
{
	if (om)
		put(s, "# TYPE %s %s\n# HELP %s %s\n", name, type, name, help);
	else
		put(s, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_info(struct metrics *m, struct sink *s, bool om)
{
	if (m->version) {
		/* OpenMetrics has a type for it; the text format calls it a gauge */
		put_meta(s, om, om ? "netseg_build" : "netseg_build_info", om ? "info" : "gauge",
			 "The tracer and its version (always 1).");
		put(s, "netseg_build_info");
		put_label(s, '{', "tool", m->tool);
		put_label(s, ',', "version", m->version);
		put(s, "} 1\n");
	}
	if (!m->n_tiers)
		return;
	put_meta(s, om, om ? "netseg_tier" : "netseg_tier_info", om ? "info" : "gauge",
		 "The attach tier and hook of each stage (1 per attached hook).");
	for (int i = 0; i < m->n_tiers; i++) {
		put(s, "netseg_tier_info");
		put_label(s, '{', "tool", m->tool);
		put_label(s, ',', "stage", m->tiers[i].stage);
		put_label(s, ',', "tier", m->tiers[i].tier);
		put_label(s, ',', "hook", m->tiers[i].hook);
		put(s, "} 1\n");
	}
}

static void put_seg_labels(struct sink *s, const struct metrics *m, const struct seg *g)
{
	put_label(s, '{', "tool", m->tool);
	put_label(s, ',', "segment", g->name);
}

static void render_segment(struct metrics *m, struct sink *s, const struct seg *g)
{
	uint64_t cum = 0;

	for (int b = 0; b < NETSEG_HIST_BUCKETS; b++) {
		uint64_t upper = netseg_hist_upper_ns((__u32)b);

		cum += g->counts[b];
		put(s, "netseg_segment_seconds_bucket");
		put_seg_labels(s, m, g);
		put(s, ",le=\"");
		/* le means "at most" and a bucket holds [a, b): a value of
		 * exactly b ns is one bucket up, 1 ns off, which no latency
		 * reader can see; b is what the shared layout names */
		put_float(s, upper ? (double)upper / 1e9 : INFINITY);
		put(s, "\"} %llu\n", (unsigned long long)cum);
	}
	put(s, "netseg_segment_seconds_sum");
	put_seg_labels(s, m, g);
	put(s, "} ");
	put_float(s, (double)g->sum_ns / 1e9);
	put(s, "\nnetseg_segment_seconds_count");
	put_seg_labels(s, m, g);
	put(s, "} %llu\n", (unsigned long long)cum);
}

static void render_segments(struct metrics *m, struct sink *s, bool om)
{
	if (!m->n_segs)
		return;
	put_meta(s, om, "netseg_segment_seconds", "histogram",
		 "Time between two stages of a completed span, per segment.");
	if (om)
		put(s, "# UNIT netseg_segment_seconds seconds\n");
	for (int i = 0; i < m->n_segs; i++)
		render_segment(m, s, &m->segs[i]);
}

static void render_counter(struct metrics *m, struct sink *s, bool om, enum family f)
{
	const struct family_def *d = &families[f];
	char total[64];
	bool any = false;

	snprintf(total, sizeof(total), "%s_total", d->name);
	for (size_t i = 0; i < m->n_series; i++) {
		const struct series *x = &m->series[i];

		if (x->fam != f)
			continue;
		/* OpenMetrics names the family without the suffix its samples carry */
		if (!any)
			put_meta(s, om, om ? d->name : total, "counter", d->help);
		any = true;
		put(s, "%s", total);
		put_label(s, '{', "tool", m->tool);
		if (d->label1)
			put_label(s, ',', d->label1, x->l1);
		if (d->label2)
			put_label(s, ',', d->label2, x->l2);
		put(s, "} %llu\n", (unsigned long long)x->v);
	}
}

size_t metrics_render(struct metrics *m, bool openmetrics, char *buf, size_t len)
{
	struct sink s = { buf, len, 0 };

	if (len)
		buf[0] = 0;
	if (!m)
		return 0;
	pthread_mutex_lock(&m->mu);
	render_info(m, &s, openmetrics);
	render_segments(m, &s, openmetrics);
	for (int f = 0; f < FAM_N; f++)
		render_counter(m, &s, openmetrics, (enum family)f);
	if (openmetrics)
		put(&s, "# EOF\n");
	pthread_mutex_unlock(&m->mu);
	return s.off;
}

/* ---- content negotiation -------------------------------------------- */

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* The q of one media range "type/sub; a=b; q=0.5" (1 when not given). */
static double range_q(const char *p, const char *end)
{
	double q = 1;

	for (p = memchr(p, ';', (size_t)(end - p)); p && p < end;
	     p = memchr(p + 1, ';', (size_t)(end - p - 1))) {
		const char *v = skip_space(p + 1, end);

		if (end - v > 2 && (v[0] == 'q' || v[0] == 'Q') && v[1] == '=')
			q = strtod(v + 2, NULL);
	}
	return q;
}

static bool range_is(const char *p, const char *end, const char *type)
{
	size_t n = strlen(type);
	const char *t;

	p = skip_space(p, end);
	if ((size_t)(end - p) < n || strncasecmp(p, type, n))
		return false;
	t = skip_space(p + n, end);
	return t == end || *t == ';';
}

bool metrics_wants_openmetrics(const char *accept)
{
	double om = 0, text = 0;

	if (!accept)
		return false;
	for (const char *p = accept; *p;) {
		const char *end = strchr(p, ',');
		double q;

		if (!end)
			end = p + strlen(p);
		q = range_q(p, end);
		if (range_is(p, end, "application/openmetrics-text"))
			om = fmax(om, q);
		else if (range_is(p, end, "text/plain") || range_is(p, end, "text/*") ||
			 range_is(p, end, "*/*"))
			text = fmax(text, q);
		p = *end ? end + 1 : end;
	}
	return om > 0 && om >= text;
}

/* ---- the server ----------------------------------------------------- */

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *body)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; charset=utf-8");
	if (b)
		evbuffer_add(b, body, strlen(body));
	evhttp_send_reply(req, code, reason, b);
	if (b)
		evbuffer_free(b);
}

/* Render into the thread's buffer, growing it until the page fits. */
static size_t render_page(struct metrics *m, bool om)
{
	size_t n;

	for (int tries = 0; tries < 8; tries++) {
		n = metrics_render(m, om, m->page, m->page_cap);
		if (n < m->page_cap)
			return n;
		free(m->page);
		m->page_cap = n + 4096;
		m->page = malloc(m->page_cap);
		if (!m->page) {
			m->page_cap = 0;
			return 0;
		}
	}
	return 0;
}

static void serve_metrics(struct metrics *m, struct evhttp_request *req)
{
	const char *accept = evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");
	bool om = metrics_wants_openmetrics(accept);
	void (*fn)(void *, struct metrics *);
	struct evbuffer *b;
	void *ctx;
	size_t n;

	pthread_mutex_lock(&m->mu);
	fn = m->scrape_fn;
	ctx = m->scrape_ctx;
	pthread_mutex_unlock(&m->mu);
	/* outside the lock: the callback sets values through the same calls */
	if (fn)
		fn(ctx, m);
	n = render_page(m, om);
	b = evbuffer_new();
	if (!n || !b) {
		if (b)
			evbuffer_free(b);
		reply_text(req, HTTP_INTERNAL, "Internal Server Error", "out of memory\n");
		return;
	}
	evbuffer_add(b, m->page, n);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
			     : "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

	if (!path || strcmp(path, "/metrics")) {
		reply_text(req, HTTP_NOTFOUND, "Not Found", "not found: this server has GET /metrics only\n");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
		reply_text(req, HTTP_BADMETHOD, "Method Not Allowed", "method not allowed: GET only\n");
		return;
	}
	serve_metrics(arg, req);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void *server_main(void *arg)
{
	struct metrics *m = arg;

	event_base_dispatch(m->base);
	return NULL;
}

/* Every method reaches on_request, which answers 405 itself: evhttp
 * would refuse the ones it does not allow with its own status. */
#define ALL_METHODS                                                                         \
	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |               \
	 EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |    \
	 EVHTTP_REQ_PATCH)

static int server_setup(struct metrics *m)
{
	m->base = event_base_new();
	m->http = m->base ? evhttp_new(m->base) : NULL;
	if (!m->http)
		return -1;
	evhttp_set_allowed_methods(m->http, ALL_METHODS);
	evhttp_set_timeout(m->http, METRICS_HTTP_TIMEOUT_S);
	evhttp_set_max_headers_size(m->http, 16384);
	evhttp_set_max_body_size(m->http, 4096);
	evhttp_set_gencb(m->http, on_request, m);
	if (!evhttp_accept_socket_with_handle(m->http, m->fd))
		return -1;
	m->fd = -1; /* evhttp's now: closed by evhttp_free */
	m->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->stop_fd < 0)
		return -1;
	m->stop_ev = event_new(m->base, m->stop_fd, EV_READ, on_stop, m->base);
	return m->stop_ev && !event_add(m->stop_ev, NULL) ? 0 : -1;
}

static void server_free(struct metrics *m)
{
	if (m->stop_ev)
		event_free(m->stop_ev);
	if (m->http)
		evhttp_free(m->http);
	if (m->base)
		event_base_free(m->base);
	if (m->stop_fd >= 0)
		close(m->stop_fd);
	m->stop_ev = NULL;
	m->http = NULL;
	m->base = NULL;
	m->stop_fd = -1;
}

int metrics_serve(struct metrics *m, char *err, size_t errlen)
{
	sigset_t all, old;
	int rc;

	if (!m || m->serving)
		return 0;
	if (server_setup(m)) {
		snprintf(err, errlen, "metrics server on %s: cannot set up: %s", m->address,
			 strerror(errno ? errno : ENOMEM));
		server_free(m);
		return -1;
	}
	/* signals stay the main thread's: its poll loop is what stops a run */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&m->thread, NULL, server_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		snprintf(err, errlen, "metrics server on %s: no thread: %s", m->address, strerror(rc));
		server_free(m);
		return -1;
	}
	m->serving = true;
	return 0;
}

static void registry_free(struct metrics *m)
{
	for (int i = 0; i < m->n_segs; i++)
		free(m->segs[i].name);
	for (size_t i = 0; i < m->n_series; i++) {
		free(m->series[i].l1);
		free(m->series[i].l2);
	}
	free(m->series);
	tiers_clear(m);
	free(m->tool);
	free(m->version);
	free(m->page);
}

void metrics_close(struct metrics *m)
{
	uint64_t one = 1;

	if (!m)
		return;
	if (m->serving) {
		/* the loop breaks in its own thread; a scrape in progress ends first */
		if (write(m->stop_fd, &one, sizeof(one)) != sizeof(one))
			pthread_cancel(m->thread);
		pthread_join(m->thread, NULL);
		m->serving = false;
	}
	server_free(m);
	if (m->fd >= 0)
		close(m->fd);
	if (default_registry == m)
		default_registry = NULL;
	registry_free(m);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
