/* Where a sample's clock value is taken to have been read: the mid-point of an interval of the
 * probe's wall clock that surely contains the node's read. */
#ifndef IPT_MIDPOINT_H
#define IPT_MIDPOINT_H
#include <stdint.h>

/* honest: [request handed to the socket, first reply byte]; classic: the original's
 * [t0 before connect, t1 after the body], biased by the handshake and by any hold of the body. */
enum ipt_midpoint { IPT_MID_HONEST = 0, IPT_MID_CLASSIC };

const char *ipt_midpoint_name(enum ipt_midpoint m);
/* 0 and *m set for "honest" or "classic", else -1. */
int ipt_midpoint_parse(const char *s, enum ipt_midpoint *m);

/* floor(floor((a+b)/2)/1000): the original's mid_wall_us of [a, b] in ns, as Python's // would
 * give it, for any pair of int64 (the sum is never formed, so it cannot overflow). */
int64_t ipt_mid_us(int64_t a_ns, int64_t b_ns);
/* value_us - ipt_mid_us(a, b): positive when the node is ahead. */
int64_t ipt_offset_us(int64_t value_us, int64_t a_ns, int64_t b_ns);
/* Half of [a, b] in us: how far the mid-point can be from the read, whatever the path's
 * asymmetry (the read happened somewhere inside the interval). */
double ipt_half_us(int64_t a_ns, int64_t b_ns);

#endif
