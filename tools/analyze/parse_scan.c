// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Bounded scanners for the log parsers: every one takes an end pointer and
 * never looks past it, since lines are not NUL-terminated (and may hold
 * any byte). No locale, no strtod: the logs print plain ASCII decimals.
 */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>
#include "parse_int.h"

const char *an_find(const char *p, size_t n, const char *lit, size_t litlen)
{
	return memmem(p, n, lit, litlen);
}

const char *an_field(const char *p, size_t n, const char *key, size_t keylen)
{
	const char *e = p + n, *q = p;

	while (q < e) {
		const char *hit = memmem(q, (size_t)(e - q), key, keylen);

		if (!hit)
			return NULL;
		if (hit == p || hit[-1] == ' ' || hit[-1] == '\t' || hit[-1] == ',' || hit[-1] == '(')
			return hit + keylen;
		q = hit + 1;
	}
	return NULL;
}

const char *an_skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

bool an_uint(const char *p, const char *e, uint64_t *v, const char **end)
{
	uint64_t x = 0;
	const char *s = p;

	while (p < e && *p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
		p++;
	}
	if (p == s)
		return false;
	*v = x;
	if (end)
		*end = p;
	return true;
}

bool an_decimal(const char *p, const char *e, int digits, int64_t *v, const char **end)
{
	bool neg = false;
	uint64_t whole, frac = 0;
	int got = 0;
	const char *q;

	if (p < e && (*p == '-' || *p == '+')) {
		neg = *p == '-';
		p++;
	}
	if (!an_uint(p, e, &whole, &q))
		return false;
	p = q;
	if (p < e && *p == '.') {
		p++;
		while (p < e && *p >= '0' && *p <= '9') {
			if (got < digits) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				got++;
			} else if (got == digits) {
				/* the first digit dropped decides the rounding */
				if (*p >= '5')
					frac++;
				got++;
			}
			p++;
		}
	}
	for (int i = got < digits ? got : digits; i < digits; i++)
		frac *= 10;
	uint64_t scale = 1;

	for (int i = 0; i < digits; i++)
		scale *= 10;
	/* a value past ~292 years in ns is not a latency: refuse, not wrap */
	if (whole > (uint64_t)INT64_MAX / scale - 1)
		return false;
	int64_t x = (int64_t)(whole * scale + frac);

	*v = neg ? -x : x;
	if (end)
		*end = p;
	return true;
}

bool an_ipv4(const char *p, const char *e, uint32_t *be, const char **end)
{
	uint8_t b[4];

	for (int i = 0; i < 4; i++) {
		uint64_t x;
		const char *q;

		if (i) {
			if (p >= e || *p != '.')
				return false;
			p++;
		}
		if (!an_uint(p, e, &x, &q) || x > 255 || q - p > 3)
			return false;
		b[i] = (uint8_t)x;
		p = q;
	}
	memcpy(be, b, 4);
	if (end)
		*end = p;
	return true;
}

/* exactly n digits */
static bool digits(const char *p, const char *e, int n, unsigned *v)
{
	unsigned x = 0;

	if (e - p < n)
		return false;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		x = x * 10 + (unsigned)(p[i] - '0');
	}
	*v = x;
	return true;
}

bool an_clock(const char *p, const char *e, uint64_t *ns, const char **end)
{
	unsigned y = 0, mo = 0, d = 0, h, mi, sec;
	uint64_t day_ns = 0;
	bool dated = false;

	if (e - p >= 10 && p[4] == '-' && p[7] == '-') {
		if (!digits(p, e, 4, &y) || !digits(p + 5, e, 2, &mo) || !digits(p + 8, e, 2, &d))
			return false;
		if (mo < 1 || mo > 12 || d < 1 || d > 31 || y < 1970)
			return false;
		p += 10;
		if (p >= e || *p != ' ')
			return false;
		p++;
		dated = true;
	}
	if (!digits(p, e, 2, &h) || e - p < 8 || p[2] != ':' || !digits(p + 3, e, 2, &mi) ||
	    p[5] != ':' || !digits(p + 6, e, 2, &sec) || h > 23 || mi > 59 || sec > 60)
		return false;
	p += 8;
	uint64_t frac = 0;

	if (p < e && *p == '.') {
		int got = 0;

		p++;
		while (p < e && *p >= '0' && *p <= '9') {
			if (got < 9) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				got++;
			}
			p++;
		}
		for (; got < 9; got++)
			frac *= 10;
	}
	if (dated) {
		struct tm tm = { .tm_year = (int)y - 1900, .tm_mon = (int)mo - 1, .tm_mday = (int)d };
		time_t t = timegm(&tm);

		if (t < 0)
			return false;
		day_ns = (uint64_t)t * 1000000000ull;
	}
	*ns = day_ns + ((uint64_t)h * 3600 + mi * 60 + sec) * 1000000000ull + frac;
	if (end)
		*end = p;
	return true;
}
