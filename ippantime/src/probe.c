/* probe: every node sampled once per round, rounds at a fixed cadence, rows into the CSV. */
#include "cmds.h"
#include "common.h"
#include "csvio.h"
#include "fetch.h"
#include "inventory.h"
#include "kts.h"
#include "midpoint.h"
#include "stats.h"
#include "statusval.h"
#include "targets.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: ippantime probe --out CSV --probe-name NAME\n"
	"                       (--targets-json JSON | --targets-file FILE | --inventory FILE) [options]\n"
	"\n"
	"Sample every target's clock once per round; round k starts at t0 + k*interval (no drift),\n"
	"all nodes of a round at once, never more than one request in flight per node (a node still\n"
	"busy when its next round starts gets an ok=0 row with error 'busy' for that round).\n"
	"  --targets-json JSON   a JSON list [{\"node\":..,\"url\":..},...] (as gen-targets prints)\n"
	"  --targets-file FILE   the same list read from a file\n"
	"  --inventory FILE      targets (explicit_targets, else the range layout) and http/probe\n"
	"                        settings from an inventory; explicit flags win\n"
	"  --status-path P       default /status\n"
	"  --ippan-field F       default ippan_time_us\n"
	"  --samples N           rounds, default 600\n"
	"  --interval-ms MS      round cadence, default 25\n"
	"  --timeout S           per-request timeout in seconds, default 2.0\n"
	"  --out CSV             output CSV (required)\n"
	"  --probe-name NAME     this vantage point (required), e.g. tr-a\n"
	"  --connection M        fresh (default: new TCP connection per request, as the original)\n"
	"                        or reuse (keep-alive: RTT without the handshake)\n"
	"  --midpoint M          honest (default): offset_us against the mid-point of [request\n"
	"                        handed to the socket, first reply byte]; its error is at most half\n"
	"                        that interval. classic: the original's mid-point of [t0 before\n"
	"                        connect, t1 after the body], +RTT/2 biased on fresh connections\n"
	"  --kernel-ts M         auto (default): kernel socket timestamps (netseg's status_ts) when\n"
	"                        they can be had, said in one line on stderr either way; on: a\n"
	"                        must (exit 2 when not); off: user-space timestamps only\n"
	"  --json                print the summary as JSON instead of text\n"
	"\n"
	"CSV: the original's 13 columns, then error, t_sent_wall_ns, t_first_byte_wall_ns,\n"
	"midpoint, k_t0_wall_ns, k_t1_wall_ns, k_rtt_us, k_offset_us (k_*: the kernel's stamps).\n"
	"\n"
	"examples:\n"
	"  ippantime probe --inventory inventory.yaml --probe-name tr-a --out out/ippantime_tr-a.csv\n"
	"  ippantime probe --targets-json \"$(ippantime gen-targets inventory.yaml)\" --samples 100 \\\n"
	"      --interval-ms 50 --connection reuse --probe-name lab --out /tmp/lab.csv\n"
	"  sudo ippantime probe --inventory inventory.yaml --kernel-ts on --probe-name tr-a \\\n"
	"      --out out/ippantime_tr-a.csv        # fail unless kernel timestamps work\n"
	"  ippantime probe --inventory inventory.yaml --midpoint classic --kernel-ts off \\\n"
	"      --probe-name old --out /tmp/old.csv  # the original's arithmetic, for comparison\n";

struct sample {
	int64_t t0, t1, mid, val;
	int64_t t_sent, t_fb; /* the honest interval; 0 when not seen */
	int64_t k_t0, k_t1;   /* the kernel's, when status_ts had the exchange */
	const char *err;
	unsigned char done, ok, has_t1, has_mid, via_time, classic, has_k;
};

enum { FB_NONE = 0, FB_TRYING, FB_USING, FB_FAILED };

struct pnode {
	const char *name;
	char *status_url, *time_url;
	struct fetch f;
	int busy;
	long round;
	int fallback;
	int64_t prev_off, prev_val, prev_t0;
	int have_prev_off, have_prev_val, have_prev_t0;
	int64_t *offs, *jits, *koffs, *kdiffs;
	double *rtts, *spacing;
	size_t noff, njit, nrtt, nspacing, nkoff, nkdiff;
	long backwards, ok, total;
	long nerr[8];
};

static const char *const err_names[8] = {"timeout", "connect", "http", "bad_json",
					 "missing_field", "bad_value", "busy", "other"};

static int err_slot(const char *e)
{
	for (int i = 0; i < 7; i++)
		if (!strncmp(e, err_names[i], strlen(err_names[i])))
			return i;
	return 7;
}

struct probe {
	const char *probe_name, *field, *status_path, *out_path;
	long samples, interval_ms;
	double timeout;
	int fresh, json, progress;
	enum ipt_midpoint midpoint;
	enum kts_mode kmode;
	struct kts *kts;
	char kwhy[256]; /* why kernel timestamps are off */
	struct target_list tl;
	struct pnode *nodes;
	size_t n;
	struct sample *S; /* ring of `ring` rounds: only rounds not yet written are kept */
	long ring;
	long fired, flushed;
	long ok_rows, fail_rows;
	FILE *out;
	struct strbuf buf;
	CURLM *multi;
	int active;
};

static struct sample *round_row(struct probe *p, long k)
{
	return &p->S[(size_t)(k % p->ring) * p->n];
}

/* A round stays in memory until every node of it has finished; a slow node (timeout,
 * redirects, the /time try) can hold a few rounds back. Grow the ring when that happens. */
static void ring_reserve(struct probe *p)
{
	long nr;
	struct sample *ns;
	if (p->fired - p->flushed < p->ring)
		return;
	nr = p->ring * 2;
	ns = xcalloc((size_t)nr * p->n, sizeof(*ns));
	for (long k = p->flushed; k < p->fired; k++)
		memcpy(&ns[(size_t)(k % nr) * p->n], round_row(p, k), p->n * sizeof(*ns));
	free(p->S);
	p->S = ns;
	p->ring = nr;
}

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void push_i64(int64_t **a, size_t *n, int64_t v)
{
	/* grow in powers of two */
	if ((*n & (*n - 1)) == 0)
		*a = xrealloc(*a, (*n ? *n * 2 : 1) * sizeof(**a));
	(*a)[(*n)++] = v;
}

static void push_dbl(double **a, size_t *n, double v)
{
	if ((*n & (*n - 1)) == 0)
		*a = xrealloc(*a, (*n ? *n * 2 : 1) * sizeof(**a));
	(*a)[(*n)++] = v;
}

/* What a sample adds to its node's running state, and the row cells that depend on it. */
struct derived {
	int64_t off, jit;
	int have_off, have_jit, back;
};

static void account_ok(struct probe *p, struct pnode *nd, const struct sample *s, struct derived *d)
{
	d->off = s->val - s->mid;
	d->have_off = 1;
	if (nd->have_prev_off) {
		d->jit = d->off - nd->prev_off;
		d->have_jit = 1;
		push_i64(&nd->jits, &nd->njit, d->jit < 0 ? -d->jit : d->jit);
	}
	nd->prev_off = d->off;
	nd->have_prev_off = 1;
	if (nd->have_prev_val && s->val < nd->prev_val) {
		d->back = 1;
		nd->backwards++;
	}
	nd->prev_val = s->val;
	nd->have_prev_val = 1;
	push_i64(&nd->offs, &nd->noff, d->off);
	push_dbl(&nd->rtts, &nd->nrtt, (double)(s->t1 - s->t0) / 1e6);
	if (s->has_k) {
		int64_t koff = ipt_offset_us(s->val, s->k_t0, s->k_t1);
		push_i64(&nd->koffs, &nd->nkoff, koff);
		push_i64(&nd->kdiffs, &nd->nkdiff, d->off - koff);
	}
	nd->ok++;
	p->ok_rows++;
}

static struct derived account(struct probe *p, struct pnode *nd, const struct sample *s)
{
	struct derived d = {0};
	nd->total++;
	if (s->ok) {
		account_ok(p, nd, s, &d);
	} else {
		nd->nerr[err_slot(s->err)]++;
		p->fail_rows++;
	}
	if (s->has_t1) {
		if (nd->have_prev_t0)
			push_dbl(&nd->spacing, &nd->nspacing, (double)(s->t0 - nd->prev_t0) / 1e6);
		nd->prev_t0 = s->t0;
		nd->have_prev_t0 = 1;
	}
	return d;
}

static void cell_i64(struct strbuf *b, int have, int64_t v)
{
	char t[24];
	if (have)
		snprintf(t, sizeof(t), "%" PRId64, v);
	csv_field(b, have ? t : "", 0);
}

/* ns as us with exactly 3 decimals, by integer arithmetic (no rounding of big values). */
static void cell_us3(struct strbuf *b, int have, int64_t ns)
{
	char t[32];
	uint64_t m = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;
	if (have)
		snprintf(t, sizeof(t), "%s%" PRIu64 ".%03u", ns < 0 ? "-" : "", m / 1000, (unsigned)(m % 1000));
	csv_field(b, have ? t : "", 0);
}

static void write_row(struct probe *p, long round, const struct pnode *nd, const struct sample *s,
		      const struct derived *d)
{
	struct strbuf *b = &p->buf;
	/* a row without a mid-point says which method the run asked for */
	enum ipt_midpoint m = !s->has_mid ? p->midpoint : s->classic ? IPT_MID_CLASSIC : IPT_MID_HONEST;
	char t[32];

	csv_field(b, p->probe_name, 1);
	snprintf(t, sizeof(t), "%ld", round);
	csv_field(b, t, 0);
	csv_field(b, nd->name, 0);
	csv_field(b, s->via_time ? nd->time_url : nd->status_url, 0);
	csv_field(b, s->ok ? "1" : "0", 0);
	cell_i64(b, 1, s->t0);
	cell_i64(b, s->has_t1, s->t1);
	if (s->has_t1) /* the original's rounding of a double, kept for old readers */
		snprintf(t, sizeof(t), "%.3f", (double)(s->t1 - s->t0) / 1e6);
	csv_field(b, s->has_t1 ? t : "", 0);
	cell_i64(b, s->has_mid, s->mid);
	cell_i64(b, s->ok, s->val);
	cell_i64(b, d->have_off, d->off);
	cell_i64(b, d->have_jit, d->jit);
	csv_field(b, d->back ? "1" : "0", 0);
	csv_field(b, s->ok ? "" : s->err, 0);
	cell_i64(b, s->t_sent != 0, s->t_sent);
	cell_i64(b, s->t_fb != 0, s->t_fb);
	csv_field(b, ipt_midpoint_name(m), 0);
	cell_i64(b, s->has_k, s->k_t0);
	cell_i64(b, s->has_k, s->k_t1);
	cell_us3(b, s->has_k, s->k_t1 - s->k_t0);
	cell_i64(b, s->has_k, s->has_k ? ipt_offset_us(s->val, s->k_t0, s->k_t1) : 0);
	csv_end_row(b);
}

/* Rows are written round by round, once every node of the round has finished, so the
 * file is round-major and jitter/backwards follow sample order even when replies of
 * different rounds complete out of order. */
static void flush_rounds(struct probe *p)
{
	while (p->flushed < p->fired) {
		struct sample *row = round_row(p, p->flushed);
		for (size_t i = 0; i < p->n; i++)
			if (!row[i].done)
				return;
		for (size_t i = 0; i < p->n; i++) {
			struct derived d = account(p, &p->nodes[i], &row[i]);
			write_row(p, p->flushed, &p->nodes[i], &row[i], &d);
		}
		memset(row, 0, p->n * sizeof(*row));
		p->flushed++;
		if (p->buf.len > 65536) {
			fwrite(p->buf.p, 1, p->buf.len, p->out);
			p->buf.len = 0;
		}
	}
}

static void start_request(struct probe *p, size_t i, const char *url)
{
	fetch_start(&p->nodes[i].f, p->multi, url);
	p->active++;
}

static void fire_round(struct probe *p, long k)
{
	struct sample *row;
	ring_reserve(p);
	row = round_row(p, k);
	for (size_t i = 0; i < p->n; i++) {
		struct pnode *nd = &p->nodes[i];
		if (nd->busy) {
			/* Never queue behind a slow node: that would break the fixed cadence. */
			row[i].t0 = ipt_wall_ns();
			row[i].err = "busy";
			/* the url it is busy with */
			row[i].via_time = nd->fallback == FB_USING || nd->fallback == FB_TRYING;
			row[i].done = 1;
			continue;
		}
		nd->busy = 1;
		nd->round = k;
		row[i].via_time = nd->fallback == FB_USING;
		start_request(p, i, row[i].via_time ? nd->time_url : nd->status_url);
		/* Drive libcurl after each start: the requests already connected go out now
		 * (instead of waiting, inside the classic interval, until the whole round is
		 * queued), and replies that came in meanwhile are read now: the honest interval
		 * ends when a reply is read, and a round fired as one burst first would leave the
		 * early replies unread for up to the whole burst (-0.5 ms of error at 40 nodes). */
		/* bounded: with hundreds of nodes, one pass per start would cost O(n^2) a round */
		if (p->n <= 64 || i % (p->n / 32) == 0 || i + 1 == p->n) {
			int running;
			curl_multi_perform(p->multi, &running);
		}
	}
	p->fired = k + 1;
}

/* The honest interval needs both stamps of the transfer that produced the reply; a row
 * without them (not seen so far) falls back to the classic interval and says so in its
 * midpoint column. */
static void set_mid(const struct probe *p, struct sample *s)
{
	s->classic = p->midpoint == IPT_MID_CLASSIC || !s->t_sent || !s->t_fb || s->t_fb < s->t_sent;
	s->mid = s->classic ? ipt_mid_us(s->t0, s->t1) : ipt_mid_us(s->t_sent, s->t_fb);
	s->has_mid = 1;
}

/* The kernel writes the request a few us after t_sent (libcurl writes it right after its
 * pre-request callback), but status_ts turns its monotonic stamps into wall time with an
 * offset taken earlier, which drifts from this process's CLOCK_REALTIME readings while NTP
 * slews the clock. The window opens 2 ms before t_sent to absorb that; it stays well under the
 * 25 ms default interval, so it does not reach back to the previous request of a reused
 * connection. It ends at t_first_byte: a request written later cannot have brought this reply. */
#define KTS_SLACK_NS 2000000LL

/* Called for the transfer that produced the value (after a redirect or the /time fallback,
 * that is the last one: its connection and its honest stamps). */
static void take_kernel_stamps(struct probe *p, struct pnode *nd, struct sample *s)
{
	struct kts_conn c;
	struct kts_times t;
	if (!p->kts || !s->t_sent || !s->t_fb || fetch_conn_v4(&nd->f, &c))
		return;
	if (kts_take(p->kts, &c, s->t_sent - KTS_SLACK_NS, s->t_fb, &t))
		return;
	s->k_t0 = t.t_sent_wall_ns;
	s->k_t1 = t.t_first_byte_wall_ns;
	s->has_k = 1;
}

static void complete(struct probe *p, struct pnode *nd, size_t i, CURLcode rc)
{
	struct sample *s = &round_row(p, nd->round)[i];
	const char *err;
	int64_t v = 0, t_parse0;
	enum ipt_vres r;

	if (fetch_done(&nd->f, p->multi, rc, &err))
		return; /* same-host redirect re-issued */
	p->active--;
	s->t0 = nd->f.t0_ns;
	s->t_sent = nd->f.t_sent_ns;
	s->t_fb = nd->f.t_first_byte_ns;
	if (err) {
		s->t1 = ipt_wall_ns();
		s->has_t1 = 1;
		s->err = err;
		if (nd->fallback == FB_TRYING)
			nd->fallback = FB_FAILED, s->err = "missing_field", s->via_time = 0;
		goto done;
	}
	t_parse0 = ipt_wall_ns();
	r = ipt_status_value(nd->f.body.p ? nd->f.body.p : "", nd->f.body.len,
			     s->via_time || nd->fallback == FB_TRYING ? "time_us" : p->field, &v);
	/* t1: when the body was read, plus the parse; not when this loop got around to this
	 * node (with 40 replies in one libcurl pass that would skew the later ones). */
	s->t1 = nd->f.t_body_ns ? nd->f.t_body_ns + (ipt_wall_ns() - t_parse0) : ipt_wall_ns();
	s->has_t1 = 1;
	set_mid(p, s);
	if (r == IPT_V_MISSING && nd->fallback == FB_NONE && !s->via_time) {
		/* Today's nodes serve the clock at GET /time; try it once per node. */
		nd->fallback = FB_TRYING;
		s->via_time = 1;
		start_request(p, i, nd->time_url);
		return;
	}
	if (nd->fallback == FB_TRYING) {
		if (r == IPT_V_OK) {
			nd->fallback = FB_USING;
			fprintf(stderr, "ippantime: %s: '%s' has no '%s'; using /time (time_us) for this node\n",
				nd->name, p->status_path, p->field);
		} else {
			nd->fallback = FB_FAILED;
			s->via_time = 0;
			r = IPT_V_MISSING;
		}
	}
	if (r == IPT_V_OK) {
		s->ok = 1;
		s->val = v;
		take_kernel_stamps(p, nd, s);
	} else {
		s->err = ipt_vres_name(r);
	}
done:
	s->done = 1;
	nd->busy = 0;
}

static void drain(struct probe *p)
{
	CURLMsg *m;
	int q, running;
	curl_multi_perform(p->multi, &running);
	while ((m = curl_multi_info_read(p->multi, &q))) {
		struct fetch *f;
		size_t i;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&f);
		i = (size_t)(uintptr_t)f->user;
		complete(p, &p->nodes[i], i, m->data.result);
	}
}

static void progress(struct probe *p, int final)
{
	if (!p->progress)
		return;
	if (final)
		fputs("\r\033[K", stderr);
	else
		fprintf(stderr, "\rround %ld/%ld  ok=%ld fail=%ld ", p->fired, p->samples, p->ok_rows,
			p->fail_rows);
	fflush(stderr);
}

static void run_rounds(struct probe *p)
{
	const int64_t ivl = p->interval_ms * 1000000LL;
	const int64_t start = ipt_mono_ns();
	int64_t next_progress = start;
	long k = 0;

	while (p->flushed < p->samples) {
		int64_t now = ipt_mono_ns(), deadline;
		if (stop_flag) {
			/* Finish cleanly: abort what is in flight, keep every finished round. */
			for (size_t i = 0; i < p->n; i++)
				if (p->nodes[i].busy) {
					struct sample *s = &round_row(p, p->nodes[i].round)[i];
					curl_multi_remove_handle(p->multi, p->nodes[i].f.easy);
					s->t0 = p->nodes[i].f.t0_ns;
					s->err = "interrupted";
					s->done = 1;
					p->nodes[i].busy = 0;
				}
			p->active = 0;
			flush_rounds(p);
			break;
		}
		if (k < p->samples && now >= start + k * ivl) {
			fire_round(p, k++);
			drain(p);
			continue;
		}
		deadline = k < p->samples ? start + k * ivl : now + 100000000LL;
		if (p->active > 0) {
			/* Requests in flight: watch their sockets up to the next round, rounded up
			 * to whole milliseconds (all libcurl can wait). A reply is then read, and its
			 * first byte stamped, when it comes: that stamp is half the mid-point. The
			 * next round may start up to 1 ms late; its own schedule stays absolute. */
			int64_t ms = (deadline - now + 999999) / 1000000;
			curl_multi_poll(p->multi, NULL, 0, (int)(ms > 100 ? 100 : ms < 1 ? 1 : ms), NULL);
		} else if (k < p->samples) {
			/* Nothing in flight: sleep to the absolute deadline so rounds do not
			 * accumulate drift. */
			struct timespec ts = {.tv_sec = deadline / 1000000000LL,
					      .tv_nsec = deadline % 1000000000LL};
			if (deadline - now > 100000000LL) {
				int64_t d = now + 100000000LL; /* wake up to notice signals */
				ts.tv_sec = d / 1000000000LL;
				ts.tv_nsec = d % 1000000000LL;
			}
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		drain(p);
		flush_rounds(p);
		if (p->progress && now >= next_progress) {
			progress(p, 0);
			next_progress = now + 200000000LL;
		}
	}
	progress(p, 1);
}

static int64_t p50_i64(int64_t *v, size_t n)
{
	return ipt_trunc(ipt_pct_i64(v, n, 50));
}

static void node_summary_text(struct probe *p, struct pnode *nd)
{
	if (!nd->noff) {
		printf("%s: NO VALID SAMPLES (missing field '%s'?)\n", nd->name, p->field);
		return;
	}
	printf("%s  off_us p50=%" PRId64 " p95=%" PRId64 " p99=%" PRId64, nd->name,
	       ipt_trunc(ipt_pct_i64(nd->offs, nd->noff, 50)), ipt_trunc(ipt_pct_i64(nd->offs, nd->noff, 95)),
	       ipt_trunc(ipt_pct_i64(nd->offs, nd->noff, 99)));
	printf(" | jit_us p95=%" PRId64 " p99=%" PRId64,
	       nd->njit ? ipt_trunc(ipt_pct_i64(nd->jits, nd->njit, 95)) : 0,
	       nd->njit ? ipt_trunc(ipt_pct_i64(nd->jits, nd->njit, 99)) : 0);
	printf(" | rtt_ms p95=%.3f p99=%.3f", ipt_pct_dbl(nd->rtts, nd->nrtt, 95),
	       ipt_pct_dbl(nd->rtts, nd->nrtt, 99));
	printf(" | backwards=%ld", nd->backwards);
	if (nd->fallback == FB_USING)
		printf(" | source=/time");
	/* both, so the user sees what user-space timestamps cost on this path */
	if (nd->nkoff)
		printf(" | k_off_us p50=%" PRId64 " user-k_us p50=%" PRId64 " k_samples=%zu",
		       p50_i64(nd->koffs, nd->nkoff), p50_i64(nd->kdiffs, nd->nkdiff), nd->nkoff);
	printf("\n");
}

static json_t *node_summary_json(struct probe *p, struct pnode *nd)
{
	json_t *o = json_object(), *errs = json_object();
	(void)p;
	json_object_set_new(o, "node", json_string(nd->name));
	json_object_set_new(o, "ok", json_integer(nd->ok));
	json_object_set_new(o, "total", json_integer(nd->total));
	json_object_set_new(o, "source", json_string(nd->fallback == FB_USING ? "/time" : "status"));
	if (nd->noff) {
		json_object_set_new(o, "off_us_p50", json_integer(ipt_trunc(ipt_pct_i64(nd->offs, nd->noff, 50))));
		json_object_set_new(o, "off_us_p95", json_integer(ipt_trunc(ipt_pct_i64(nd->offs, nd->noff, 95))));
		json_object_set_new(o, "off_us_p99", json_integer(ipt_trunc(ipt_pct_i64(nd->offs, nd->noff, 99))));
		json_object_set_new(o, "jit_us_p95", json_integer(nd->njit ? ipt_trunc(ipt_pct_i64(nd->jits, nd->njit, 95)) : 0));
		json_object_set_new(o, "jit_us_p99", json_integer(nd->njit ? ipt_trunc(ipt_pct_i64(nd->jits, nd->njit, 99)) : 0));
		json_object_set_new(o, "rtt_ms_p95", json_real(ipt_pct_dbl(nd->rtts, nd->nrtt, 95)));
		json_object_set_new(o, "rtt_ms_p99", json_real(ipt_pct_dbl(nd->rtts, nd->nrtt, 99)));
	} else {
		json_object_set_new(o, "off_us_p50", json_null());
	}
	if (nd->nkoff) {
		json_object_set_new(o, "k_off_us_p50", json_integer(p50_i64(nd->koffs, nd->nkoff)));
		json_object_set_new(o, "user_minus_k_us_p50", json_integer(p50_i64(nd->kdiffs, nd->nkdiff)));
	}
	json_object_set_new(o, "k_samples", json_integer((json_int_t)nd->nkoff));
	if (nd->nspacing) {
		json_object_set_new(o, "spacing_ms_p50", json_real(ipt_pct_dbl(nd->spacing, nd->nspacing, 50)));
		json_object_set_new(o, "spacing_ms_p99", json_real(ipt_pct_dbl(nd->spacing, nd->nspacing, 99)));
	}
	json_object_set_new(o, "backwards", json_integer(nd->backwards));
	for (int i = 0; i < 8; i++)
		if (nd->nerr[i])
			json_object_set_new(errs, err_names[i], json_integer(nd->nerr[i]));
	json_object_set_new(o, "errors", errs);
	return o;
}

static const char *const kmode_names[] = {"off", "auto", "on"};

static json_t *kernel_ts_json(struct probe *p, uint64_t lost)
{
	json_t *o = json_object();
	json_object_set_new(o, "mode", json_string(kmode_names[p->kmode]));
	json_object_set_new(o, "on", json_boolean(p->kts != NULL));
	if (p->kts)
		json_object_set_new(o, "hooks", json_string(kts_describe(p->kts)));
	else if (p->kmode != KTS_OFF)
		json_object_set_new(o, "why_off", json_string(p->kwhy));
	json_object_set_new(o, "lost", json_integer((json_int_t)lost));
	return o;
}

static void summary_json(struct probe *p, double wall_s, uint64_t lost)
{
	json_t *o = json_object(), *arr = json_array();
	char *s;
	json_object_set_new(o, "probe", json_string(p->probe_name));
	json_object_set_new(o, "out", json_string(p->out_path));
	json_object_set_new(o, "samples", json_integer(p->samples));
	json_object_set_new(o, "rounds_written", json_integer(p->flushed));
	json_object_set_new(o, "interval_ms", json_integer(p->interval_ms));
	json_object_set_new(o, "connection", json_string(p->fresh ? "fresh" : "reuse"));
	json_object_set_new(o, "midpoint", json_string(ipt_midpoint_name(p->midpoint)));
	json_object_set_new(o, "kernel_ts", kernel_ts_json(p, lost));
	json_object_set_new(o, "wall_s", json_real(wall_s));
	json_object_set_new(o, "ideal_s", json_real((double)p->samples * (double)p->interval_ms / 1e3));
	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(arr, node_summary_json(p, &p->nodes[i]));
	json_object_set_new(o, "nodes", arr);
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	puts(s);
	free(s);
	json_decref(o);
}

static void summary_text(struct probe *p, uint64_t lost)
{
	printf("\n=== PROBE SUMMARY [%s] ===\n", p->probe_name);
	for (size_t i = 0; i < p->n; i++)
		node_summary_text(p, &p->nodes[i]);
	if (lost)
		printf("kernel timestamps: %" PRIu64 " records lost (status_ts ring buffer full); those "
		       "samples have no k_* values\n", lost);
	printf("Wrote: %s\n", p->out_path);
}

/* Before the CSV exists: with --kernel-ts on, a failure must leave no file behind. */
static int kernel_ts_open(struct probe *p)
{
	if (p->kmode == KTS_OFF)
		return 0;
	p->kts = kts_open(p->kwhy, sizeof(p->kwhy));
	if (!p->kts && p->kmode == KTS_ON) {
		ipt_err("probe: --kernel-ts on: %s", p->kwhy);
		return -1;
	}
	return 0;
}

/* After the CSV is open, so that a bad --out is the only line of its run. */
static void kernel_ts_announce(const struct probe *p)
{
	if (p->kts)
		fprintf(stderr, "ippantime: kernel timestamps on (%s)\n", kts_describe(p->kts));
	else if (p->kmode != KTS_OFF)
		fprintf(stderr, "ippantime: kernel timestamps off: %s\n", p->kwhy);
}

static int bad(const char *flag, const char *v, const char *want)
{
	ipt_err("probe: bad %s '%s' (%s)", flag, v, want);
	return IPT_EXIT_USAGE;
}

static int parse_kernel_ts(const char *v, enum kts_mode *m)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(v, kmode_names[i])) {
			*m = (enum kts_mode)i;
			return 0;
		}
	return -1;
}

static void free_nodes(struct probe *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct pnode *nd = &p->nodes[i];
		fetch_cleanup(&nd->f);
		free(nd->status_url);
		free(nd->time_url);
		free(nd->offs);
		free(nd->jits);
		free(nd->koffs);
		free(nd->kdiffs);
		free(nd->rtts);
		free(nd->spacing);
	}
	free(p->nodes);
}

int cmd_probe(int argc, char **argv)
{
	static const struct option opts[] = {
		{"targets-json", required_argument, 0, 'j'}, {"targets-file", required_argument, 0, 'F'},
		{"inventory", required_argument, 0, 'I'},    {"status-path", required_argument, 0, 'p'},
		{"ippan-field", required_argument, 0, 'f'},  {"samples", required_argument, 0, 'n'},
		{"interval-ms", required_argument, 0, 'i'},  {"timeout", required_argument, 0, 't'},
		{"out", required_argument, 0, 'o'},          {"probe-name", required_argument, 0, 'P'},
		{"connection", required_argument, 0, 'c'},   {"kernel-ts", required_argument, 0, 'k'},
		{"midpoint", required_argument, 0, 'm'},     {"json", no_argument, 0, 'J'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	struct probe p = {0};
	const char *tjson = NULL, *tfile = NULL, *invpath = NULL, *status_path = NULL, *field = NULL;
	long samples = -1, interval = -1;
	double timeout = -1;
	struct inventory inv;
	char err[512];
	int c, have_inv = 0, rc = 0;
	int64_t t_start, t_end;
	uint64_t lost;
	long lv;

	p.fresh = 1;
	p.midpoint = IPT_MID_HONEST;
	p.kmode = KTS_AUTO;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': tjson = optarg; break;
		case 'F': tfile = optarg; break;
		case 'I': invpath = optarg; break;
		case 'p':
			if (optarg[0] != '/')
				return bad("--status-path", optarg, "must start with '/'");
			status_path = optarg;
			break;
		case 'f':
			if (!*optarg)
				return bad("--ippan-field", optarg, "must not be empty");
			field = optarg;
			break;
		case 'n':
			if (ipt_parse_int_range(optarg, 1, 100000000L, &lv))
				return bad("--samples", optarg, "integer >= 1");
			samples = lv;
			break;
		case 'i':
			if (ipt_parse_int_range(optarg, 1, 3600000L, &lv))
				return bad("--interval-ms", optarg, "integer milliseconds >= 1");
			interval = lv;
			break;
		case 't':
			if (ipt_parse_double(optarg, &timeout) || timeout <= 0 || timeout > 3600)
				return bad("--timeout", optarg, "seconds > 0");
			break;
		case 'o': p.out_path = optarg; break;
		case 'P':
			if (!*optarg)
				return bad("--probe-name", optarg, "must not be empty");
			p.probe_name = optarg;
			break;
		case 'c':
			if (!strcmp(optarg, "fresh"))
				p.fresh = 1;
			else if (!strcmp(optarg, "reuse"))
				p.fresh = 0;
			else
				return bad("--connection", optarg, "fresh or reuse");
			break;
		case 'k':
			if (parse_kernel_ts(optarg, &p.kmode))
				return bad("--kernel-ts", optarg, "auto, on or off");
			break;
		case 'm':
			if (ipt_midpoint_parse(optarg, &p.midpoint))
				return bad("--midpoint", optarg, "honest or classic");
			break;
		case 'J': p.json = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return ipt_getopt_error("probe", c, argv);
		}
	}
	if (optind < argc) {
		ipt_err("probe: unexpected argument '%s'", argv[optind]);
		return IPT_EXIT_USAGE;
	}
	if (!p.out_path || !p.probe_name) {
		ipt_err("probe: --out and --probe-name are required (see ippantime probe --help)");
		return IPT_EXIT_USAGE;
	}
	if (!!tjson + !!tfile > 1) {
		ipt_err("probe: give only one of --targets-json and --targets-file");
		return IPT_EXIT_USAGE;
	}
	inv_defaults(&inv);
	if (invpath) {
		inv_free(&inv);
		if (inv_load(invpath, &inv, err, sizeof(err))) {
			ipt_err("%s", err);
			inv_free(&inv);
			return IPT_EXIT_USAGE;
		}
		have_inv = 1;
	}
	if (tjson || tfile) {
		size_t len = 0;
		char *buf = tfile ? ipt_read_file(tfile, &len) : NULL;
		if (tfile && !buf) {
			ipt_err("probe: cannot read --targets-file '%s': %s", tfile, strerror(errno));
			inv_free(&inv);
			return IPT_EXIT_USAGE;
		}
		if (targets_from_json(tfile ? buf : tjson, tfile ? len : strlen(tjson), &p.tl, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			free(buf);
			inv_free(&inv);
			return IPT_EXIT_USAGE;
		}
		free(buf);
	} else if (have_inv) {
		targets_from_inventory(&inv, TM_AUTO, &p.tl);
		if (!p.tl.n) {
			ipt_err("probe: %s: no targets (no servers and no explicit_targets)", invpath);
			inv_free(&inv);
			return IPT_EXIT_USAGE;
		}
	} else {
		ipt_err("probe: one of --targets-json, --targets-file or --inventory is required");
		inv_free(&inv);
		return IPT_EXIT_USAGE;
	}
	p.status_path = status_path ? status_path : inv.status_path;
	p.field = field ? field : inv.field;
	p.samples = samples > 0 ? samples : inv.samples;
	p.interval_ms = interval > 0 ? interval : inv.interval_ms;
	p.timeout = timeout > 0 ? timeout : inv.timeout_sec;
	p.n = p.tl.n;

	if (kernel_ts_open(&p)) {
		rc = IPT_EXIT_USAGE;
		goto out_inv;
	}
	p.out = fopen(p.out_path, "w");
	if (!p.out) {
		ipt_err("probe: cannot write --out '%s': %s", p.out_path, strerror(errno));
		rc = IPT_EXIT_USAGE;
		goto out_inv;
	}
	kernel_ts_announce(&p);
	csv_header(&p.buf);
	/* room for the rounds one timeout spans, doubled on demand */
	p.ring = (long)(p.timeout * 1000.0 / (double)p.interval_ms) + 4;
	if (p.ring > p.samples)
		p.ring = p.samples;
	p.S = xcalloc((size_t)p.ring * p.n, sizeof(*p.S));
	p.nodes = xcalloc(p.n, sizeof(*p.nodes));
	p.multi = curl_multi_init();
	curl_multi_setopt(p.multi, CURLMOPT_MAXCONNECTS, (long)(p.n * 2 + 4));
	for (size_t i = 0; i < p.n; i++) {
		struct pnode *nd = &p.nodes[i];
		nd->name = p.tl.v[i].node;
		nd->status_url = target_join(p.tl.v[i].url, p.status_path);
		nd->time_url = target_join(p.tl.v[i].url, "/time");
		fetch_init(&nd->f, p.timeout, p.fresh, (void *)(uintptr_t)i);
	}
	p.progress = isatty(STDERR_FILENO);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	t_start = ipt_mono_ns();
	run_rounds(&p);
	t_end = ipt_mono_ns();
	if (p.buf.len)
		fwrite(p.buf.p, 1, p.buf.len, p.out);
	if (fclose(p.out) != 0) {
		ipt_err("probe: writing '%s' failed: %s", p.out_path, strerror(errno));
		rc = IPT_EXIT_FAIL;
	}
	lost = p.kts ? kts_lost(p.kts) : 0;
	if (p.json)
		summary_json(&p, (double)(t_end - t_start) / 1e9, lost);
	else
		summary_text(&p, lost);
	if (stop_flag) {
		ipt_err("probe: interrupted after %ld of %ld rounds", p.flushed, p.samples);
		rc = 130;
	}
	free_nodes(&p);
	curl_multi_cleanup(p.multi);
	free(p.S);
	sb_free(&p.buf);
out_inv:
	if (p.kts)
		kts_close(p.kts);
	targets_free(&p.tl);
	inv_free(&inv);
	return rc;
}
