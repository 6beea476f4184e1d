/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The span test object: a 4-stage span keyed by a number, driven from user
 * space through BPF_PROG_TEST_RUN so that every order and race is chosen. */
#ifndef SPAN_TEST_H
#define SPAN_TEST_H

#include "netseg.h"

#define ST_STAGES 4
#define ST_REQUIRED 0xf

enum st_op {
	ST_OP_START = 1,   /* a start-stage packet (stage 0) */
	ST_OP_STAMP = 2,   /* a later stage */
};

struct st_value {
	struct netseg_span span;
	__u32 key;
	__u32 pad;
	struct netseg_stamp st[ST_STAGES];
};

#endif /* SPAN_TEST_H */
