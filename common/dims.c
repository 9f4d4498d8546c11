/* dims.c — dtype sizes and names, element counts without overflow, "NxCxHxW" text,
 * and IEEE half <-> single conversion (round to nearest even, portable). */
#include "common/fc_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t fc_dtype_size(int dtype)
{
    switch (dtype) {
    case FC_DT_F32: case FC_DT_I32: case FC_DT_U32: return 4;
    case FC_DT_F16: case FC_DT_I16: case FC_DT_U16: case FC_DT_BF16: return 2;
    case FC_DT_I8: case FC_DT_U8: case FC_DT_BOOL: return 1;
    case FC_DT_I64: case FC_DT_U64: case FC_DT_F64: return 8;
    default: return 0;
    }
}

const char *fc_dtype_name(int dtype)
{
    static const char *const names[FC_DT_COUNT] = {
        [FC_DT_F32] = "f32", [FC_DT_F16] = "f16", [FC_DT_I8] = "i8", [FC_DT_I32] = "i32",
        [FC_DT_I64] = "i64", [FC_DT_U8] = "u8", [FC_DT_F64] = "f64", [FC_DT_BOOL] = "bool",
        [FC_DT_I16] = "i16", [FC_DT_U16] = "u16", [FC_DT_U32] = "u32", [FC_DT_U64] = "u64",
        [FC_DT_BF16] = "bf16",
    };
    if (dtype <= FC_DT_INVALID || dtype >= FC_DT_COUNT) return "invalid";
    return names[dtype];
}

int fc_numel(int ndim, const int64_t *dims, size_t *out)
{
    size_t n = 1, nonzero = 1;
    if (ndim < 0 || ndim > FC_MAX_DIMS) return -1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0) return -1;
        if ((uint64_t)dims[i] > SIZE_MAX || fc_mul_size(n, (size_t)dims[i], &n)) return -1;
        /* An empty tensor may not hide huge dimensions behind its zero: kernels multiply the
         * other dimensions together (strides, group sizes), and [0, 2^40, 2^40] would overflow
         * them (found by fuzz_fcn). The product of the nonzero dimensions stays under 2^48. */
        if (dims[i] > 0 && (fc_mul_size(nonzero, (size_t)dims[i], &nonzero) || nonzero > ((size_t)1 << 48)))
            return -1;
    }
    *out = n;
    return 0;
}

void fc_format_dims(int ndim, const int64_t *dims, char *buf, size_t cap)
{
    if (!buf || cap == 0) return;
    buf[0] = 0;
    if (ndim <= 0) {
        snprintf(buf, cap, "%s", ndim == 0 ? "scalar" : "?");
        return;
    }
    size_t used = 0;
    for (int i = 0; i < ndim && i < FC_MAX_DIMS && used < cap; i++) {
        int w;
        if (dims[i] < 0) w = snprintf(buf + used, cap - used, "%s?", i ? "x" : "");
        else w = snprintf(buf + used, cap - used, "%s%lld", i ? "x" : "", (long long)dims[i]);
        if (w < 0) return;
        used += (size_t)w;
    }
}

/* Accepts "1x3x224x224" (also 'X' or ',' as separators); every dim a positive integer. */
int fc_parse_dims(const char *s, int *ndim, int64_t *dims)
{
    if (!s || !*s) return -1;
    int n = 0;
    const char *p = s;
    for (;;) {
        if (*p < '0' || *p > '9') return -1;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno || v == 0 || v > (1ull << 40)) return -1;
        if (n >= FC_MAX_DIMS) return -1;
        dims[n++] = (int64_t)v;
        p = end;
        if (*p == 0) break;
        if (*p != 'x' && *p != 'X' && *p != ',') return -1;
        p++;
    }
    *ndim = n;
    return 0;
}

static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

uint16_t fc_f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t exp = (x >> 23) & 0xffu;
    uint32_t mant = x & 0x7fffffu;
    if (exp == 0xff) {                                   /* inf / nan (keep nan quiet) */
        return (uint16_t)(sign | 0x7c00u | (mant ? (0x200u | (mant >> 13)) : 0));
    }
    int32_t e = (int32_t)exp - 127 + 15;
    if (e >= 0x1f) return (uint16_t)(sign | 0x7c00u);     /* overflow -> inf */
    if (e <= 0) {                                         /* subnormal half or zero */
        if (e < -10) return sign;
        mant |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (half & 1u))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)e << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) half++;   /* may carry into exp: correct */
    return (uint16_t)(sign | half);
}

float fc_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0) {
        if (mant == 0) return bits_f32(sign);
        /* subnormal: value = mant * 2^-24 */
        float v = (float)mant * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (mant << 13));
    return bits_f32(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}
