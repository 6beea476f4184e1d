#include "statusval.h"

#include <jansson.h>
#include <string.h>

const char *ipt_vres_name(enum ipt_vres r)
{
	switch (r) {
	case IPT_V_OK: return "ok";
	case IPT_V_BAD_JSON: return "bad_json";
	case IPT_V_MISSING: return "missing_field";
	case IPT_V_BAD_VALUE: return "bad_value";
	}
	return "bad_value";
}

static enum ipt_vres digits_value(const char *s, size_t n, int64_t *out)
{
	uint64_t v = 0;
	if (n == 0)
		return IPT_V_BAD_VALUE;
	for (size_t i = 0; i < n; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9')
			return IPT_V_BAD_VALUE;
		d = (unsigned)(s[i] - '0');
		if (v > ((uint64_t)INT64_MAX - d) / 10)
			return IPT_V_BAD_VALUE;
		v = v * 10 + d;
	}
	*out = (int64_t)v;
	return IPT_V_OK;
}

enum ipt_vres ipt_status_value(const char *body, size_t len, const char *field, int64_t *out)
{
	json_error_t jerr;
	json_t *root, *v;
	enum ipt_vres r = IPT_V_BAD_VALUE;

	/* Integers stay json_int_t (64-bit): never let a clock value pass through a double. */
	root = json_loadb(body, len, 0, &jerr);
	if (!root)
		return IPT_V_BAD_JSON;
	if (!json_is_object(root)) {
		json_decref(root);
		return IPT_V_BAD_JSON;
	}
	v = json_object_get(root, field);
	if (!v || json_is_null(v)) {
		r = IPT_V_MISSING;
	} else if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		r = IPT_V_OK;
	} else if (json_is_real(v)) {
		double d = json_real_value(v);
		/* 2^63 is exactly representable; anything at or past it does not fit int64. */
		if (d < 9223372036854775808.0 && d >= -9223372036854775808.0) {
			*out = (int64_t)d; /* C conversion truncates toward zero, like Python int() */
			r = IPT_V_OK;
		}
	} else if (json_is_string(v)) {
		r = digits_value(json_string_value(v), json_string_length(v), out);
	}
	json_decref(root);
	return r;
}
