/* limits_env.c — raising (or lowering) the hostile-input caps of fc_limits_current for trusted
 * inputs: FULLCONV_LIMITS="max_file_bytes=16G,max_nesting=200" (docs/LIMITS.md). The spec is
 * parsed completely into a copy first, so a bad spec changes nothing. */
#include "common/fc_common.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct limit_field {
    const char *name;
    size_t offset;
    int is64;          /* uint64_t field, else uint32_t */
} limit_field;

#define F64(f) { #f, offsetof(fc_limits, f), 1 }
#define F32(f) { #f, offsetof(fc_limits, f), 0 }
static const limit_field fields[] = {
    F64(max_file_bytes), F64(max_tensor_bytes), F64(max_inflated_bytes), F64(max_zip_entries),
    F32(max_zip_ratio), F32(max_tensors), F32(max_nodes), F32(max_nesting),
    F32(max_pickle_memo), F64(max_string_bytes), F64(max_arena_bytes),
};

/* "123", "64M", "4G": a positive integer with an optional binary suffix; -1 if bad/overflowing. */
static int parse_value(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 30) return -1;
    char buf[32];
    memcpy(buf, s, len);
    buf[len] = 0;
    if (buf[0] < '0' || buf[0] > '9') return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(buf, &end, 10);
    if (errno) return -1;
    int shift = 0;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        case 't': case 'T': shift = 40; break;
        default: return -1;
        }
        if (end[1]) return -1;
    }
    if (v > (UINT64_MAX >> shift)) return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

int fc_limits_parse(const char *spec, fc_error *err)
{
    fc_limits next = fc_limits_current;
    const char *p = spec ? spec : "";
    while (*p) {
        const char *item_end = strchr(p, ',');
        size_t item_len = item_end ? (size_t)(item_end - p) : strlen(p);
        const char *eq = memchr(p, '=', item_len);
        if (item_len == 0) {
            p += item_end ? 1 : 0;
            if (!item_end) break;
            continue;
        }
        if (!eq)
            return fc_fail(err, FC_EINPUT, "FULLCONV_LIMITS: '%.*s' is not NAME=VALUE", (int)item_len, p);
        size_t name_len = (size_t)(eq - p);
        const limit_field *f = NULL;
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            if (strlen(fields[i].name) == name_len && !memcmp(fields[i].name, p, name_len)) f = &fields[i];
        if (!f)
            return fc_fail(err, FC_EINPUT, "FULLCONV_LIMITS: unknown limit '%.*s' (see docs/LIMITS.md)", (int)name_len, p);
        uint64_t v;
        const char *val = eq + 1;
        size_t val_len = item_len - name_len - 1;
        if (parse_value(val, val_len, &v) || v == 0 || (!f->is64 && v > UINT32_MAX))
            return fc_fail(err, FC_EINPUT, "FULLCONV_LIMITS: bad value '%.*s' for %s (a positive integer, optional k/M/G/T)",
                           (int)val_len, val, f->name);
        uint8_t *base = (uint8_t *)&next + f->offset;
        if (f->is64) {
            memcpy(base, &v, sizeof v);
        } else {
            uint32_t v32 = (uint32_t)v;
            memcpy(base, &v32, sizeof v32);
        }
        if (!item_end) break;
        p = item_end + 1;
    }
    fc_limits_current = next;
    return 0;
}

int fc_limits_init_from_env(fc_error *err)
{
    const char *spec = getenv("FULLCONV_LIMITS");
    if (!spec || !*spec) return 0;
    return fc_limits_parse(spec, err);
}
