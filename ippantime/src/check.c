/* check-targets: which targets answer with an accepted clock value right now. */
#include "cmds.h"
#include "common.h"
#include "fetch.h"
#include "inventory.h"
#include "statusval.h"
#include "targets.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: ippantime check-targets INVENTORY [--mode expected|explicit|auto] [--timeout SEC]\n"
	"\n"
	"GET <url><status_path> on every target at once and report which ones expose the clock\n"
	"field. Exit 0 when all are OK, 1 when any is missing, 2 on an empty target list or bad input.\n"
	"  --mode M      expected (default: the range-based port layout), explicit (explicit_targets\n"
	"                only), auto (explicit_targets if present, else expected)\n"
	"  --timeout S   HTTP timeout in seconds (default: http.timeout_sec of the inventory)\n"
	"\n"
	"examples:\n"
	"  ippantime check-targets inventory.yaml\n"
	"  ippantime check-targets inventory.yaml --mode explicit --timeout 0.5 || true\n";

struct result {
	const char *why; /* NULL: OK */
	double rtt_ms;
};

/* 0 when every target is OK, 1 when any is missing. */
static int ipt_check_run(const struct target_list *tl, const char *status_path, const char *field,
		  double timeout, struct result *res)
{
	CURLM *multi = curl_multi_init();
	struct fetch *f = xcalloc(tl->n, sizeof(*f));
	char **urls = xcalloc(tl->n, sizeof(*urls));
	int running = 0, miss = 0;

	for (size_t i = 0; i < tl->n; i++) {
		fetch_init(&f[i], timeout, 1, (void *)(uintptr_t)i);
		urls[i] = target_join(tl->v[i].url, status_path);
		fetch_start(&f[i], multi, urls[i]);
	}
	do {
		CURLMsg *m;
		int q;
		curl_multi_perform(multi, &running);
		while ((m = curl_multi_info_read(multi, &q))) {
			struct fetch *cf;
			const char *err;
			size_t i;
			int64_t v;
			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&cf);
			i = (size_t)(uintptr_t)cf->user;
			if (fetch_done(cf, multi, m->data.result, &err)) {
				running = 1;
				continue;
			}
			res[i].rtt_ms = (double)(ipt_wall_ns() - cf->t0_ns) / 1e6;
			if (err) {
				res[i].why = "unreachable";
			} else {
				enum ipt_vres r = ipt_status_value(cf->body.p ? cf->body.p : "", cf->body.len, field, &v);
				res[i].why = r == IPT_V_OK ? NULL : r == IPT_V_BAD_VALUE ? "bad_value"
					     : r == IPT_V_MISSING ? "missing_field" : "unreachable";
			}
		}
		if (running)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	} while (running);
	for (size_t i = 0; i < tl->n; i++) {
		if (res[i].why)
			miss++;
		fetch_cleanup(&f[i]);
		free(urls[i]);
	}
	free(f);
	free(urls);
	curl_multi_cleanup(multi);
	return miss ? 1 : 0;
}

int cmd_check_targets(int argc, char **argv)
{
	static const struct option opts[] = {
		{"mode", required_argument, 0, 'm'},
		{"timeout", required_argument, 0, 't'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	enum target_mode mode = TM_EXPECTED;
	double timeout = -1;
	struct inventory inv;
	struct target_list tl;
	struct result *res;
	char err[512];
	int c, rc;
	size_t nok = 0;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (target_mode_parse(optarg, &mode)) {
				ipt_err("check-targets: bad --mode '%s' (expected, explicit or auto)", optarg);
				return IPT_EXIT_USAGE;
			}
			break;
		case 't':
			if (ipt_parse_double(optarg, &timeout) || timeout <= 0) {
				ipt_err("check-targets: bad --timeout '%s' (seconds > 0)", optarg);
				return IPT_EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return ipt_getopt_error("check-targets", c, argv);
		}
	}
	if (optind != argc - 1) {
		ipt_err("check-targets: exactly one INVENTORY argument is required (see ippantime check-targets --help)");
		return IPT_EXIT_USAGE;
	}
	if (inv_load(argv[optind], &inv, err, sizeof(err))) {
		ipt_err("%s", err);
		inv_free(&inv);
		return IPT_EXIT_USAGE;
	}
	if (timeout < 0)
		timeout = inv.timeout_sec;
	targets_from_inventory(&inv, mode, &tl);
	if (tl.n == 0) {
		fprintf(stderr, "No targets to check (empty target list).\n");
		inv_free(&inv);
		return IPT_EXIT_USAGE;
	}
	res = xcalloc(tl.n, sizeof(*res));
	rc = ipt_check_run(&tl, inv.status_path, inv.field, timeout, res);
	for (size_t i = 0; i < tl.n; i++)
		nok += !res[i].why;
	printf("Checked %zu targets (mode=%s)\n", tl.n, target_mode_name(mode));
	printf("OK:   %zu\n", nok);
	printf("MISS: %zu\n", tl.n - nok);
	for (int pass = 0; pass < 2; pass++) {
		int header = 0;
		for (size_t i = 0; i < tl.n; i++) {
			char *u;
			if (!res[i].why != !pass)
				continue;
			if (!header) {
				printf(pass == 0 ? "\n== OK ==\n" : "\n== MISSING ==\n");
				header = 1;
			}
			u = target_join(tl.v[i].url, inv.status_path);
			if (pass == 0)
				printf("%s %s rtt_ms=%.3f\n", tl.v[i].node, u, res[i].rtt_ms);
			else
				printf("%s %s [%s] rtt_ms=%.3f\n", tl.v[i].node, u, res[i].why, res[i].rtt_ms);
			free(u);
		}
	}
	free(res);
	targets_free(&tl);
	inv_free(&inv);
	return rc;
}
