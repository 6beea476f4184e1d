/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The JSON value scanners of parse_json.c, kept apart so that file holds
 * what our records mean and this one how their bytes are stepped over.
 * Bounded by an end pointer, never past it; all inline, for the speed
 * the analyzer needs (>= 1 M lines/s), and included by parse_json.c only.
 */
#ifndef NETSEG_ANALYZE_PARSE_JSON_SCAN_H
#define NETSEG_ANALYZE_PARSE_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "parse_int.h"

/* p just after the opening quote: just after the closing one, or NULL.
 * Our strings are short (keys, names): a byte loop beats memchr's call. */
static inline __attribute__((always_inline)) const char *skip_string(const char *p, const char *e)
{
	while (p < e) {
		char c = *p++;

		if (c == '"')
			return p;
		if (c == '\\') {
			if (p >= e)
				return NULL;
			p++;
		}
	}
	return NULL;
}

static inline __attribute__((always_inline)) const char *ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

#ifdef __SSE2__
/* the four 16-byte compare results as one 64-bit mask */
static inline __attribute__((always_inline)) uint64_t mask64(__m128i a, __m128i b, __m128i c,
							      __m128i d)
{
	return (uint64_t)(uint16_t)_mm_movemask_epi8(a) |
	       (uint64_t)(uint16_t)_mm_movemask_epi8(b) << 16 |
	       (uint64_t)(uint16_t)_mm_movemask_epi8(c) << 32 |
	       (uint64_t)(uint16_t)_mm_movemask_epi8(d) << 48;
}

/* bit i: an odd number of bits at or below i (inside a string, for quotes) */
static inline uint64_t prefix_xor(uint64_t x)
{
	x ^= x << 1;
	x ^= x << 2;
	x ^= x << 4;
	x ^= x << 8;
	x ^= x << 16;
	x ^= x << 32;
	return x;
}
#endif

/* An object or array at p ('{' or '['): just after its end, or NULL. The
 * echo records are mostly their stages, which are skipped whole: 64 bytes
 * at a time, brackets inside strings told apart by the parity of the
 * quotes before them; a block with a backslash (an escaped quote in a
 * comm) goes to the byte loop, which carries on to the end. */
static inline const char *skip_container(const char *p, const char *e)
{
	unsigned depth = 0;
	bool in_str = false;

#ifdef __SSE2__
	/* '[' and '{', ']' and '}' differ only in 0x20: one compare each */
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i lower = _mm_set1_epi8(0x20), open_c = _mm_set1_epi8('{');
	const __m128i close_c = _mm_set1_epi8('}');

	while (e - p >= 64) {
		__m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
		__m128i v2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
		__m128i v3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
		__m128i bs = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v0, bslash), _mm_cmpeq_epi8(v1, bslash)),
					  _mm_or_si128(_mm_cmpeq_epi8(v2, bslash), _mm_cmpeq_epi8(v3, bslash)));

		if (_mm_movemask_epi8(bs))
			break;
		uint64_t q = prefix_xor(mask64(_mm_cmpeq_epi8(v0, quote), _mm_cmpeq_epi8(v1, quote),
					       _mm_cmpeq_epi8(v2, quote), _mm_cmpeq_epi8(v3, quote))) ^
			     (in_str ? ~0ull : 0);
		v0 = _mm_or_si128(v0, lower);
		v1 = _mm_or_si128(v1, lower);
		v2 = _mm_or_si128(v2, lower);
		v3 = _mm_or_si128(v3, lower);
		uint64_t open = mask64(_mm_cmpeq_epi8(v0, open_c), _mm_cmpeq_epi8(v1, open_c),
				       _mm_cmpeq_epi8(v2, open_c), _mm_cmpeq_epi8(v3, open_c)) & ~q;
		uint64_t brackets = open | (mask64(_mm_cmpeq_epi8(v0, close_c), _mm_cmpeq_epi8(v1, close_c),
						   _mm_cmpeq_epi8(v2, close_c), _mm_cmpeq_epi8(v3, close_c)) & ~q);

		in_str = q >> 63;
		while (brackets) {
			int i = __builtin_ctzll(brackets);

			if (open >> i & 1)
				depth++;
			else if (--depth == 0)
				return p + i + 1;
			brackets &= brackets - 1;
		}
		p += 64;
	}
#endif
	while (p < e) {
		char c = *p++;

		if (in_str) {
			if (c == '\\') {
				if (p >= e)
					return NULL;
				p++;
			} else if (c == '"') {
				in_str = false;
			}
			continue;
		}
		switch (c) {
		case '"':
			in_str = true;
			break;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (--depth == 0)
				return p;
			break;
		}
	}
	return NULL;
}

/* any value: just after it, or NULL */
static inline const char *skip_value(const char *p, const char *e)
{
	if (p >= e)
		return NULL;
	if (*p == '"')
		return skip_string(p + 1, e);
	if (*p == '{' || *p == '[')
		return skip_container(p, e);
	const char *s = p;

	while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ')
		p++;
	return p > s ? p : NULL;
}

static inline __attribute__((always_inline)) const char *str_value(const char *p, const char *e, const char **s, size_t *n)
{
	const char *q;

	if (p >= e || *p != '"' || !(q = skip_string(p + 1, e)))
		return NULL;
	*s = p + 1;
	*n = (size_t)(q - 1 - (p + 1));
	return q;
}

/* digits -> value; false: none, or more than fit */
static inline bool digits_u64(const char *p, const char *e, uint64_t *v, const char **end)
{
	const char *s = p;
	uint64_t x = 0;

	while (p < e && (unsigned)(*p - '0') < 10) {
		unsigned d = (unsigned)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
		p++;
	}
	*v = x;
	*end = p;
	return p > s;
}

/* an integer, nothing else (a float where we want ns is a broken record) */
static inline __attribute__((always_inline)) const char *int_value(const char *p, const char *e, int64_t *v)
{
	bool neg = p < e && *p == '-';
	uint64_t x;
	const char *q;

	if (!digits_u64(p + neg, e, &x, &q) || x > (uint64_t)INT64_MAX)
		return NULL;
	if (q < e && (*q == '.' || *q == 'e' || *q == 'E'))
		return NULL;
	*v = neg ? -(int64_t)x : (int64_t)x;
	return q;
}

static inline const char *uint_value(const char *p, const char *e, uint64_t *v)
{
	const char *q;

	if (!digits_u64(p, e, v, &q) || (q < e && (*q == '.' || *q == 'e' || *q == 'E')))
		return NULL;
	return q;
}

static inline const char *ip_value(const char *p, const char *e, uint32_t *v)
{
	const char *q;

	if (p >= e || *p != '"' || !an_ipv4(p + 1, e, v, &q) || q >= e || *q != '"')
		return NULL;
	return q + 1;
}

/* The quoted key lit (n >= 3 bytes, '"' ... ':') in [p, e): its start, or
 * NULL. 16 places at a time are tested on the key's first and last byte,
 * which few other keys of the records share at the same distance. */
static inline const char *find_key(const char *p, const char *e, const char *lit, size_t n)
{
#ifdef __SSE2__
	__m128i first = _mm_set1_epi8(lit[0]), last = _mm_set1_epi8(lit[n - 1]);

	while (e - p >= (ptrdiff_t)(16 + n - 1)) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + n - 1));
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last)));

		while (m) {
			int i = __builtin_ctz(m);

			if (!memcmp(p + i + 1, lit + 1, n - 2))
				return p + i;
			m &= m - 1;
		}
		p += 16;
	}
#endif
	for (; e - p >= (ptrdiff_t)n; p++)
		if (*p == lit[0] && !memcmp(p, lit, n))
			return p;
	return NULL;
}

#endif /* NETSEG_ANALYZE_PARSE_JSON_SCAN_H */
