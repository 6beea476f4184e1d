/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * netseg analyze, inside: the six logs joined per echo, every segment of
 * ../shared/spec/segments.md computed per echo, the nesting identities
 * checked per echo, and only then aggregated.
 */
#ifndef NETSEG_ANALYZE_H
#define NETSEG_ANALYZE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "records.h"

/* What each joined echo carries, in microseconds. */
enum an_val {
	V_A, V_S_INTER, V_M, V_RTT,          /* VM-S kernel_icmp_rtt tx */
	V_F, V_G, V_H, V_R_TOTAL,            /* VM-R kernel_icmp_rtt rx */
	V_B, V_HS_EXT, V_K, V_HS_TOTAL,      /* HS icmp_drop_detector */
	V_D, V_HR_EXT, V_I, V_HR_TOTAL,      /* HR icmp_drop_detector */
	V_E, V_L,                            /* tun_tx_to_kvm_irq on HR, HS */
	V_N,
};

struct an_echo {
	struct an_key key;
	uint8_t have;             /* roles seen (1 << enum an_role) */
	uint64_t wall_ns;         /* VM-S's, for display */
	double v[V_N];
	uint64_t hs_ts[4], hr_ts[4]; /* icmp_drop_detector points (lab: one clock) */
};

/* A reported quantity: a segment, a derived one, a layer, a total. */
struct an_metric {
	const char *name;         /* "A", "C+J", "vm_internal" */
	const char *what;         /* one line for people */
	const char *source;       /* which log and field, or the formula */
	bool measured_lab_only;   /* C, J: only with --same-clock */
};

enum an_metric_id {
	SEG_A, SEG_B, SEG_CJ, SEG_D, SEG_E, SEG_F, SEG_G, SEG_H, SEG_I, SEG_K, SEG_L, SEG_M,
	SEG_C, SEG_J,                 /* measured directly, one-clock lab only */
	SEG_VIRT_RECV, SEG_VIRT_SEND, /* unmeasured virtualization, derived */
	SEG_RTT,
	SEG_LAYER_VM, SEG_LAYER_HOST, SEG_LAYER_WIRE, SEG_LAYER_VIRT_MEASURED, SEG_LAYER_VIRT_UNMEASURED,
	SEG_N,
};
#define SEG_FIRST_LAYER SEG_LAYER_VM
#define SEG_N_LAYERS (SEG_N - SEG_FIRST_LAYER)

extern const struct an_metric an_metrics[SEG_N];

/* Per-metric aggregate over the joined echoes. */
struct an_agg {
	uint64_t count;
	double min, mean, p50, p90, p99, max;
	double share_pct;         /* layers: mean / mean RTT */
};

enum an_ident {
	ID_SENDER_VM_SUM,         /* A + Inter + M = RTT */
	ID_RECEIVER_VM_SUM,       /* F + G + H = VM-R Total */
	ID_SENDER_HOST_SUM,       /* B + External + K = HS Total */
	ID_RECEIVER_HOST_SUM,     /* D + External + I = HR Total */
	ID_WIRE_NONNEG,           /* HR Total <= HS External (C+J >= 0) */
	ID_RECV_VIRT_NONNEG,      /* E + F + G + H <= HR External */
	ID_SEND_VIRT_NONNEG,      /* HS Total + L <= VM-S Inter-Path */
	ID_LAYERS_SUM,            /* the layers add up to RTT */
	ID_LAYERS_NONNEG,         /* no layer below zero (the attribution is sound) */
	ID_CJ_MEASURED,           /* lab: measured C + J = derived C + J */
	ID_N,
};

struct an_identity {
	const char *name;
	const char *formula;
	uint64_t held, of;
};

struct an_partial {
	struct an_key key;
	uint8_t missing;          /* roles */
};

struct an_input {
	const char *path[AN_N_ROLES];
	struct an_file_info info[AN_N_ROLES];
	bool present[AN_N_ROLES];
	uint64_t ignored[AN_N_ROLES];   /* records of the wrong kind for the role */
	uint64_t duplicates[AN_N_ROLES];
};

struct an_result {
	const char *env;
	bool same_clock;
	struct an_input in;
	uint64_t echoes_total;    /* keys seen in any log */
	uint64_t joined;
	struct an_partial *partial;
	uint64_t n_partial;
	struct an_agg agg[SEG_N];
	struct an_identity ident[ID_N];
	double tolerance_pct, tolerance_us;
	/* the slowest joined echo (by RTT) and the median one, for the waterfall */
	struct an_echo slowest, median, p99;
	bool have_slowest;
	uint64_t warnings;
};

/* segments.c */
void an_echo_metrics(const struct an_echo *e, bool same_clock, double *m, bool *have);
void an_analyze(struct an_echo *echoes, uint64_t n, struct an_result *res);
/* report.c */
int an_write_json(FILE *fp, const struct an_result *res);
int an_write_md(FILE *fp, const struct an_result *res);
/* svg.c */
int an_write_svg(FILE *fp, const struct an_result *res);
/* compare.c: A and B each a directory of logs or of a report.json */
int an_compare_main(const char *a, const char *b, const char *out, bool json);
/* analyze.c: run the analysis of one directory / file set */
int an_run(struct an_input *in, const char *env, bool same_clock, struct an_result *res,
	   bool quiet);
void an_result_free(struct an_result *res);

#endif /* NETSEG_ANALYZE_H */
