/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * netseg analyze: what the parsers hand the analyzer. Every log, whatever
 * its format (our --json records, our text, the original BCC tools' text),
 * becomes a stream of per-echo records keyed by (initiator, target, ICMP
 * id, seq): the only join key, since each machine's clock is its own.
 */
#ifndef NETSEG_ANALYZE_RECORDS_H
#define NETSEG_ANALYZE_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The six logs of the seed's workflow, by the role that wrote them. */
enum an_role {
	AN_SENDER_VM = 0,     /* sfsvm-send.log: kernel_icmp_rtt tx on VM-S (A, M, Total RTT) */
	AN_RECEIVER_VM,       /* sfsvm-recv.log: kernel_icmp_rtt rx on VM-R (F, G, H) */
	AN_SENDER_HOST,       /* host-send.log: icmp_drop_detector on HS (B, K, External) */
	AN_RECEIVER_HOST,     /* host-recv.log: icmp_drop_detector on HR (D, I, External) */
	AN_RECEIVER_VHOST,    /* vhost-recv-request.log: tun_tx_to_kvm_irq on HR (E) */
	AN_SENDER_VHOST,      /* vhost-send-reply.log: tun_tx_to_kvm_irq on HS (L) */
	AN_N_ROLES,
};

/* Which tool wrote a record (what its values mean). */
enum an_tool {
	AN_TOOL_UNKNOWN = 0,
	AN_TOOL_RTT,          /* kernel_icmp_rtt */
	AN_TOOL_IDD,          /* icmp_drop_detector */
	AN_TOOL_TKI,          /* tun_tx_to_kvm_irq */
};

enum an_format {
	AN_FMT_UNKNOWN = 0,
	AN_FMT_JSON,          /* our --json records */
	AN_FMT_TEXT,          /* our text output */
	AN_FMT_ORIGINAL,      /* the original BCC tools' text (../shared/spec/originals.md) */
};

struct an_key {
	uint32_t initiator;   /* network order: the host that sent the request */
	uint32_t target;      /* network order */
	uint16_t id;          /* ICMP echo id */
	uint16_t seq;         /* ICMP echo sequence */
};

/* Durations are nanoseconds (text formats in us or ms are converted; their
 * precision is what the format printed). Only complete echoes/chains are
 * records; drops and partial chains are counted in an_file_info. */
struct an_rec {
	enum an_tool tool;
	struct an_key key;
	int run;              /* 0, 1, ...: which run of the file (a ready record or
			       * the original's start banner begins the next one) */
	unsigned line;        /* where the record starts in the file (1-based) */
	uint64_t wall_ns;     /* for display only; 0: not given */
	union {
		struct {          /* AN_TOOL_RTT */
			bool tx;      /* direction: tx (this machine pings) / rx */
			int64_t path1_ns, inter_ns, path2_ns, total_ns;
		} rtt;
		struct {          /* AN_TOOL_IDD */
			int64_t req_internal_ns, external_ns, rep_internal_ns, total_ns;
			/* CLOCK_MONOTONIC of req_rx, req_tx, rep_rx, rep_tx (our JSON
			 * `points`; 0 elsewhere): in the one-kernel lab, two hosts'
			 * points measure the wire directly */
			uint64_t ts_ns[4];
		} idd;
		struct {          /* AN_TOOL_TKI: first stage (tap transmit) to last */
			uint8_t icmp_type;   /* 8: request (toward VM-R), 0: reply (toward VM-S) */
			int64_t total_ns;    /* recomputed from the stage times, never the
					      * original's printed Total (it counted S2->S3 twice) */
			int n_stages;
			bool complete;       /* reached the injection (or the last stage the
					      * tracer could hook) */
		} tki;
	} u;
};

struct an_file_info {
	enum an_tool tool;        /* from the first record or ready line that says */
	enum an_format format;
	int runs;                 /* runs seen (>= 1 when any record came) */
	int rtt_direction;        /* kernel_icmp_rtt: 1 tx, 0 rx, -1 not said */
	uint64_t lines;
	uint64_t records;         /* an_rec handed to the callback */
	uint64_t drops;           /* drop / incomplete / partial records seen */
	uint64_t warnings;
};

/* A warning: "file:line: message" is printed by the caller. */
typedef void (*an_warn_fn)(void *ctx, const char *file, unsigned line, const char *msg);
typedef void (*an_rec_fn)(void *ctx, const struct an_rec *r);

/*
 * Read one log (any of the three formats, detected per file; CRLF, a
 * truncated last line, interleaved stderr, unknown record types and
 * garbage lines give warnings, never a failure). Returns 0, or -1 when the
 * file cannot be opened (errno set).
 */
int an_parse_file(const char *path, an_rec_fn rec, an_warn_fn warn, void *ctx,
		  struct an_file_info *info);
/* The same on a buffer already in memory (the fuzz targets use it). */
int an_parse_buffer(const char *name, const char *buf, size_t len, an_rec_fn rec,
		    an_warn_fn warn, void *ctx, struct an_file_info *info);

const char *an_role_name(enum an_role r);     /* "sender-vm" ... */
const char *an_role_file(enum an_role r);     /* "sfsvm-send.log" ... */
const char *an_tool_name(enum an_tool t);

#endif /* NETSEG_ANALYZE_RECORDS_H */
