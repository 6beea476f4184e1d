/* One HTTP GET on a libcurl easy handle, driven by a caller-owned multi handle. */
#ifndef IPT_FETCH_H
#define IPT_FETCH_H
#include <curl/curl.h>
#include <stdint.h>

#include "common.h"
#include "kts.h"

#define IPT_BODY_CAP (1024 * 1024)
#define IPT_MAX_SAME_HOST_REDIRECTS 3

struct fetch {
	CURL *easy;
	struct strbuf body;
	int too_big;
	int redirects;
	char *url;        /* current url (changes on same-host redirects) */
	int64_t t0_ns;    /* wall clock just before the request went out */
	int t0_fixed;     /* t0 already taken at socket open for this transfer */
	int64_t t_body_ns; /* wall clock when the last body bytes were handed to us */
	/* The honest interval of this transfer (0 until seen): the request handed to the socket
	 * (connected or reused), and the reply's first byte read back. */
	int64_t t_sent_ns, t_first_byte_ns;
	void *user;
	char errbuf[CURL_ERROR_SIZE];
};

/* fresh: a new TCP connection per request (the original's behaviour). */
void fetch_init(struct fetch *f, double timeout_s, int fresh, void *user);
void fetch_start(struct fetch *f, CURLM *multi, const char *url);
/* After curl reports the transfer done. Returns 1 when a same-host redirect was re-issued
 * (keep waiting), else 0 with *err NULL on a 2xx body or an error word (timeout, connect,
 * http_NNN, body_too_large, redirect, transfer). */
int fetch_done(struct fetch *f, CURLM *multi, CURLcode rc, const char **err);
void fetch_cleanup(struct fetch *f);
/* The last transfer's TCP connection (IPv4 only): 0 and *c filled, or -1. */
int fetch_conn_v4(const struct fetch *f, struct kts_conn *c);

#endif
