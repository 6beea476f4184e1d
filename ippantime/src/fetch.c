#include "fetch.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static size_t on_body(char *ptr, size_t sz, size_t nm, void *ud)
{
	struct fetch *f = ud;
	size_t n = sz * nm;
	if (f->body.len + n > IPT_BODY_CAP) {
		f->too_big = 1;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	sb_add(&f->body, ptr, n);
	f->t_body_ns = ipt_wall_ns();
	return n;
}

/* t0 is taken when the socket is opened, not when the handle is queued: for a fresh
 * connection the RTT then covers connect + request, as in the original, without counting
 * the time curl spends on the other nodes' handles queued in the same round. */
static curl_socket_t on_open(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct fetch *f = ud;
	(void)purpose;
	f->t0_ns = ipt_wall_ns();
	f->t0_fixed = 1;
	return socket(a->family, a->socktype, a->protocol);
}

/* libcurl calls this once the connection is up (new or reused), right before it writes the
 * request: the start of the honest interval, for every transfer. On a reused connection no
 * socket is opened, so it is also the classic t0. */
static int on_prereq(void *ud, char *ip, char *lip, int rport, int lport)
{
	struct fetch *f = ud;
	(void)ip, (void)lip, (void)rport, (void)lport;
	f->t_sent_ns = ipt_wall_ns();
	if (!f->t0_fixed)
		f->t0_ns = f->t_sent_ns;
	return CURL_PREREQFUNC_OK;
}

/* The status line is the first thing libcurl hands over from a reply: the end of the honest
 * interval. The body may come much later (a server writing headers and body apart, with Nagle
 * waiting for our delayed ACK), and that wait says nothing about when the clock was read. */
static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
	struct fetch *f = ud;
	(void)p;
	if (!f->t_first_byte_ns)
		f->t_first_byte_ns = ipt_wall_ns();
	return sz * nm;
}

void fetch_init(struct fetch *f, double timeout_s, int fresh, void *user)
{
	long ms = (long)(timeout_s * 1000.0);
	memset(f, 0, sizeof(*f));
	f->user = user;
	f->easy = curl_easy_init();
	if (!f->easy) {
		ipt_err("curl_easy_init failed");
		exit(IPT_EXIT_FAIL);
	}
	curl_easy_setopt(f->easy, CURLOPT_PRIVATE, f);
	curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(f->easy, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(f->easy, CURLOPT_OPENSOCKETDATA, f);
	curl_easy_setopt(f->easy, CURLOPT_PREREQFUNCTION, on_prereq);
	curl_easy_setopt(f->easy, CURLOPT_PREREQDATA, f);
	curl_easy_setopt(f->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(f->easy, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(f->easy, CURLOPT_ERRORBUFFER, f->errbuf);
	curl_easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f->easy, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
	curl_easy_setopt(f->easy, CURLOPT_USERAGENT, "ippantime/" IPT_VERSION);
	curl_easy_setopt(f->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Redirects are checked by hand (same host only), never followed blindly. */
	curl_easy_setopt(f->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(f->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)IPT_BODY_CAP);
	curl_easy_setopt(f->easy, CURLOPT_TCP_NODELAY, 1L);
	if (fresh) {
		curl_easy_setopt(f->easy, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(f->easy, CURLOPT_FORBID_REUSE, 1L);
	}
}

void fetch_start(struct fetch *f, CURLM *multi, const char *url)
{
	if (f->url != url) {
		free(f->url);
		f->url = xstrdup(url);
	}
	f->body.len = 0;
	if (f->body.p)
		f->body.p[0] = 0;
	f->too_big = 0;
	f->t_body_ns = 0;
	f->t_sent_ns = f->t_first_byte_ns = 0;
	f->redirects = 0;
	f->t0_fixed = 0;
	f->t0_ns = ipt_wall_ns();
	curl_easy_setopt(f->easy, CURLOPT_URL, f->url);
	curl_multi_add_handle(multi, f->easy);
}

static int same_origin(const char *a, const char *b)
{
	CURLU *ua = curl_url(), *ub = curl_url();
	char *ha = NULL, *hb = NULL, *pa = NULL, *pb = NULL, *sa = NULL, *sb = NULL;
	int same = 0;
	if (ua && ub && !curl_url_set(ua, CURLUPART_URL, a, 0) && !curl_url_set(ub, CURLUPART_URL, b, 0) &&
	    !curl_url_get(ua, CURLUPART_HOST, &ha, 0) && !curl_url_get(ub, CURLUPART_HOST, &hb, 0) &&
	    !curl_url_get(ua, CURLUPART_PORT, &pa, CURLU_DEFAULT_PORT) &&
	    !curl_url_get(ub, CURLUPART_PORT, &pb, CURLU_DEFAULT_PORT) &&
	    !curl_url_get(ua, CURLUPART_SCHEME, &sa, 0) && !curl_url_get(ub, CURLUPART_SCHEME, &sb, 0))
		same = !strcasecmp(ha, hb) && !strcmp(pa, pb) && !strcasecmp(sa, sb);
	curl_free(ha), curl_free(hb), curl_free(pa), curl_free(pb), curl_free(sa), curl_free(sb);
	curl_url_cleanup(ua);
	curl_url_cleanup(ub);
	return same;
}

int fetch_done(struct fetch *f, CURLM *multi, CURLcode rc, const char **err)
{
	static char codes[1000][9];
	long status = 0;

	curl_multi_remove_handle(multi, f->easy);
	*err = NULL;
	if (rc != CURLE_OK) {
		if (f->too_big || rc == CURLE_FILESIZE_EXCEEDED)
			*err = "body_too_large";
		else if (rc == CURLE_OPERATION_TIMEDOUT)
			*err = "timeout";
		else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
			*err = "connect";
		else
			*err = "transfer";
		return 0;
	}
	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 300 && status < 400) {
		char *loc = NULL;
		curl_easy_getinfo(f->easy, CURLINFO_REDIRECT_URL, &loc);
		if (loc && f->redirects < IPT_MAX_SAME_HOST_REDIRECTS && same_origin(f->url, loc)) {
			int n = f->redirects + 1;
			char *next = xstrdup(loc);
			int64_t t0 = f->t0_ns;
			fetch_start(f, multi, next);
			free(next);
			f->redirects = n;
			f->t0_ns = t0;  /* the sample still started at the first request */
			f->t0_fixed = 1;
			return 1;
		}
		*err = "redirect";
		return 0;
	}
	if (status < 200 || status > 299) {
		if (status < 100 || status > 999)
			status = 999;
		if (!codes[status][0])
			snprintf(codes[status], sizeof(codes[status]), "http_%03ld", status);
		*err = codes[status];
		return 0;
	}
	return 0;
}

void fetch_cleanup(struct fetch *f)
{
	if (f->easy)
		curl_easy_cleanup(f->easy);
	free(f->url);
	sb_free(&f->body);
	memset(f, 0, sizeof(*f));
}

static int parse_v4(const char *ip, uint32_t *out)
{
	struct in_addr a;
	if (!ip || inet_pton(AF_INET, ip, &a) != 1)
		return -1;
	*out = a.s_addr;
	return 0;
}

int fetch_conn_v4(const struct fetch *f, struct kts_conn *c)
{
	char *lip = NULL, *rip = NULL;
	long lport = 0, rport = 0;
	if (curl_easy_getinfo(f->easy, CURLINFO_LOCAL_IP, &lip) != CURLE_OK ||
	    curl_easy_getinfo(f->easy, CURLINFO_PRIMARY_IP, &rip) != CURLE_OK ||
	    curl_easy_getinfo(f->easy, CURLINFO_LOCAL_PORT, &lport) != CURLE_OK ||
	    curl_easy_getinfo(f->easy, CURLINFO_PRIMARY_PORT, &rport) != CURLE_OK)
		return -1;
	if (parse_v4(lip, &c->local_ip) || parse_v4(rip, &c->remote_ip) || lport < 1 ||
	    lport > 65535 || rport < 1 || rport > 65535)
		return -1;
	c->local_port = (uint16_t)lport;
	c->remote_port = (uint16_t)rport;
	return 0;
}
