/* error.c — errors are values: a code plus a one-line message the caller prints. */
#include "common/fc_common.h"

#include <stdarg.h>
#include <string.h>

int fc_fail(fc_error *err, int code, const char *fmt, ...)
{
    if (!err) return -1;
    err->code = code ? code : FC_EINTERNAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* one line: a newline inside a message would break "file: what" parsing downstream */
    for (char *p = err->msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return -1;
}

int fc_wrap(fc_error *err, const char *fmt, ...)
{
    if (!err) return -1;
    char prefix[FC_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[FC_ERR_MAX];
    memcpy(old, err->msg, sizeof old);
    old[FC_ERR_MAX - 1] = 0;
    size_t plen = strlen(prefix);
    /* context already there (several layers naming the same file): say it once */
    if (strncmp(old, prefix, plen) == 0 && old[plen] == ':') {
        if (!err->code) err->code = FC_EINTERNAL;
        return -1;
    }
    if (plen > FC_ERR_MAX - 3) plen = FC_ERR_MAX - 3;
    memcpy(err->msg, prefix, plen);
    memcpy(err->msg + plen, ": ", 2);
    size_t room = FC_ERR_MAX - 1 - plen - 2, olen = strlen(old);
    if (olen > room) olen = room;
    memcpy(err->msg + plen + 2, old, olen);
    err->msg[plen + 2 + olen] = 0;
    if (!err->code) err->code = FC_EINTERNAL;
    return -1;
}

int fc_exit_status(const fc_error *err)
{
    if (!err || err->code == FC_OK) return 0;
    if (err->code == FC_ECHECK) return 1;
    return 2;
}
