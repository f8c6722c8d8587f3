#include "a2m/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char detail[512];

static const char *const messages[A2M_ERR_COUNT_] = {
    [A2M_OK] = "ok",
    [A2M_ERR_NOMEM] = "out of memory",
    [A2M_ERR_IO] = "input/output error",
    [A2M_ERR_FORMAT] = "malformed input",
    [A2M_ERR_ARG] = "invalid argument",
    [A2M_ERR_EMPTY] = "empty input",
    [A2M_ERR_NONFINITE] = "NaN or infinity in input",
    [A2M_ERR_SHAPE] = "shape mismatch",
    [A2M_ERR_ARCH] = "unknown or incompatible model architecture",
    [A2M_ERR_EXISTS] = "output exists",
    [A2M_ERR_UNSUPPORTED] = "unsupported",
    [A2M_ERR_RANGE] = "value out of range",
    [A2M_ERR_INTERNAL] = "internal error",
    [A2M_ERR_CANCELLED] = "cancelled",
};

const char *a2m_strerror(int err) {
    if (err < 0 || err >= A2M_ERR_COUNT_) return "unknown error";
    return messages[err];
}

const char *a2m_errmsg(void) { return detail; }

void a2m_error_clear(void) { detail[0] = '\0'; }

int a2m_error(int err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return err;
}

int a2m_error_prefix(int err, const char *prefix) {
    size_t n = strlen(prefix);
    if (strncmp(detail, prefix, n) == 0) return err; /* already names it */
    char old[sizeof detail];
    memcpy(old, detail, sizeof old);
    snprintf(detail, sizeof detail, "%s: %s", prefix, old);
    return err;
}
