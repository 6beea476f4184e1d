/* Turning a /status (or /time) reply body into an exact 64-bit clock value. */
#ifndef IPT_STATUSVAL_H
#define IPT_STATUSVAL_H
#include <stddef.h>
#include <stdint.h>

enum ipt_vres {
	IPT_V_OK = 0,
	IPT_V_BAD_JSON,      /* not JSON, or JSON that is not an object */
	IPT_V_MISSING,       /* field absent or null */
	IPT_V_BAD_VALUE,     /* present but not an accepted form */
};

/* Accepted: JSON integer; JSON real truncated toward zero; string of ASCII digits only.
 * Everything else is rejected, as the original probe did. */
enum ipt_vres ipt_status_value(const char *body, size_t len, const char *field, int64_t *out);
const char *ipt_vres_name(enum ipt_vres r);

#endif
