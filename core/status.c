/* Status names and the last-error message. */
#include <stdarg.h>
#include <stdio.h>

#include "core/core.h"

static _Thread_local char last_error[512];

const char *scnn_status_name(scnn_status s)
{
    switch (s) {
    case SCNN_OK: return "ok";
    case SCNN_ERR_IO: return "I/O error";
    case SCNN_ERR_FORMAT: return "malformed file";
    case SCNN_ERR_CHECKSUM: return "checksum mismatch";
    case SCNN_ERR_VERSION: return "unsupported version";
    case SCNN_ERR_SHAPE: return "shape mismatch";
    case SCNN_ERR_NOMEM: return "out of memory";
    case SCNN_ERR_ARG: return "bad argument";
    case SCNN_ERR_BACKEND: return "backend unavailable";
    }
    return "unknown status";
}

const char *scnn_last_error(void)
{
    return last_error[0] ? last_error : "no error";
}

scnn_status scnn_fail(scnn_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}
