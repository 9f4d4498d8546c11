/* npy.c — NumPy .npy arrays (format versions 1.0, 2.0, 3.0) and the fc_array helpers.
 *
 * The header is a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False,
 * 'shape': (2, 3), }. We parse exactly that grammar (strings, True/False, tuples of ints)
 * and nothing more; every length is bounds-checked, the payload size must match the shape
 * exactly, and Fortran-ordered data is transposed to C order so callers see one layout. */
#include "common/fc_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_HEADER_MAX (1u << 20)   /* real headers are < 1 KiB; cap hostile ones */

void fc_array_free(fc_array *a)
{
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

int fc_array_alloc(fc_array *a, int dtype, int ndim, const int64_t *dims, fc_error *err)
{
    memset(a, 0, sizeof *a);
    size_t numel, nbytes, esize = fc_dtype_size(dtype);
    if (esize == 0) return fc_fail(err, FC_EINPUT, "array: invalid dtype %d", dtype);
    if (ndim < 0 || ndim > FC_MAX_DIMS) return fc_fail(err, FC_EINPUT, "array: %d dims (at most %d)", ndim, FC_MAX_DIMS);
    if (fc_numel(ndim, dims, &numel) || fc_mul_size(numel, esize, &nbytes))
        return fc_fail(err, FC_EINPUT, "array: negative or overflowing dims");
    if (nbytes > fc_limits_current.max_tensor_bytes)
        return fc_fail(err, FC_EINPUT, "array: %zu bytes, over the tensor limit of %llu", nbytes,
                       (unsigned long long)fc_limits_current.max_tensor_bytes);
    a->data = calloc(nbytes ? nbytes : 1, 1);
    if (!a->data) return fc_fail(err, FC_ENOMEM, "array: out of memory (%zu bytes)", nbytes);
    a->dtype = dtype;
    a->ndim = ndim;
    for (int i = 0; i < ndim; i++) a->dims[i] = dims[i];
    a->nbytes = nbytes;
    return 0;
}

/* ---- header parsing ----------------------------------------------------------------------- */

typedef struct {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int take(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted string without escapes (numpy never writes any in these keys/values). */
static int parse_str(cursor *c, char *out, size_t cap)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return -1;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap) return -1;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end) return -1;
    c->p++;
    out[n] = 0;
    return 0;
}

static int parse_word(cursor *c, const char *w)
{
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

static int parse_shape(cursor *c, int *ndim, int64_t *dims)
{
    if (!take(c, '(')) return -1;
    int n = 0;
    for (;;) {
        if (take(c, ')')) break;
        skip_ws(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9') return -1;
        uint64_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            v = v * 10 + (uint64_t)(*c->p - '0');
            if (v > (1ull << 62)) return -1;
            c->p++;
        }
        if (c->p < c->end && *c->p == 'L') c->p++;   /* python 2 longs */
        if (n >= FC_MAX_DIMS) return -2;
        dims[n++] = (int64_t)v;
        if (take(c, ',')) continue;
        if (take(c, ')')) break;
        return -1;
    }
    *ndim = n;
    return 0;
}

static int descr_to_dtype(const char *d, int *dtype, int *swap)
{
    *swap = 0;
    if (strlen(d) < 3) return -1;
    char order = d[0], kind = d[1];
    const char *digits = d + 2;
    if (order != '<' && order != '|' && order != '=' && order != '>') return -1;
    char *end;
    errno = 0;
    long size = strtol(digits, &end, 10);
    if (*end || errno) return -1;
    int t = FC_DT_INVALID;
    if (kind == 'f' && size == 2) t = FC_DT_F16;
    else if (kind == 'f' && size == 4) t = FC_DT_F32;
    else if (kind == 'f' && size == 8) t = FC_DT_F64;
    else if (kind == 'i' && size == 1) t = FC_DT_I8;
    else if (kind == 'i' && size == 2) t = FC_DT_I16;
    else if (kind == 'i' && size == 4) t = FC_DT_I32;
    else if (kind == 'i' && size == 8) t = FC_DT_I64;
    else if (kind == 'u' && size == 1) t = FC_DT_U8;
    else if (kind == 'u' && size == 2) t = FC_DT_U16;
    else if (kind == 'u' && size == 4) t = FC_DT_U32;
    else if (kind == 'u' && size == 8) t = FC_DT_U64;
    else if (kind == 'b' && size == 1) t = FC_DT_BOOL;
    if (t == FC_DT_INVALID) return -1;
    if (order == '>' && size > 1) *swap = 1;
    *dtype = t;
    return 0;
}

static void byteswap(uint8_t *p, size_t n, size_t esize)
{
    for (size_t i = 0; i < n; i++, p += esize)
        for (size_t a = 0, b = esize - 1; a < b; a++, b--) {
            uint8_t t = p[a]; p[a] = p[b]; p[b] = t;
        }
}

/* Fortran order: element (i0..in-1) lives at i0 + d0*(i1 + d1*(...)). Walk the C-order
 * index with an odometer and compute the Fortran offset incrementally. */
static void fortran_to_c(const uint8_t *src, uint8_t *dst, int ndim, const int64_t *dims, size_t esize,
                         size_t numel)
{
    int64_t idx[FC_MAX_DIMS] = { 0 };
    size_t fstride[FC_MAX_DIMS];
    size_t s = 1;
    for (int i = 0; i < ndim; i++) {
        fstride[i] = s;
        s *= (size_t)dims[i];
    }
    size_t foff = 0;
    for (size_t k = 0; k < numel; k++) {
        memcpy(dst + k * esize, src + foff * esize, esize);
        for (int d = ndim - 1; d >= 0; d--) {
            idx[d]++;
            foff += fstride[d];
            if (idx[d] < dims[d]) break;
            foff -= fstride[d] * (size_t)dims[d];
            idx[d] = 0;
        }
    }
}

int fc_npy_parse(const uint8_t *buf, size_t size, const char *name, fc_array *out, fc_error *err)
{
    memset(out, 0, sizeof *out);
    if (!name) name = "npy";
    if (size < 10 || memcmp(buf, NPY_MAGIC, 6) != 0)
        return fc_fail(err, FC_EINPUT, "%s: not a .npy file (bad magic)", name);
    int major = buf[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) return fc_fail(err, FC_EINPUT, "%s: truncated .npy header", name);
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        hstart = 12;
    } else {
        return fc_fail(err, FC_EINPUT, "%s: unsupported .npy version %d.%d", name, major, buf[7]);
    }
    if (hlen > NPY_HEADER_MAX || hlen > size - hstart)
        return fc_fail(err, FC_EINPUT, "%s: .npy header length %zu exceeds the file (%zu bytes)", name, hlen, size);

    cursor c = { (const char *)buf + hstart, (const char *)buf + hstart + hlen };
    char descr[32] = "";
    int fortran = -1, have_shape = 0, ndim = 0, dtype = 0, swap = 0;
    int64_t dims[FC_MAX_DIMS] = { 0 };
    if (!take(&c, '{')) return fc_fail(err, FC_EINPUT, "%s: malformed .npy header (no dict)", name);
    for (;;) {
        if (take(&c, '}')) break;
        char key[32];
        if (parse_str(&c, key, sizeof key) || !take(&c, ':'))
            return fc_fail(err, FC_EINPUT, "%s: malformed .npy header", name);
        if (strcmp(key, "descr") == 0) {
            skip_ws(&c);
            if (c.p < c.end && *c.p == '[')
                return fc_fail(err, FC_EINPUT, "%s: structured .npy arrays are not supported", name);
            if (parse_str(&c, descr, sizeof descr))
                return fc_fail(err, FC_EINPUT, "%s: malformed .npy descr", name);
        } else if (strcmp(key, "fortran_order") == 0) {
            if (parse_word(&c, "True")) fortran = 1;
            else if (parse_word(&c, "False")) fortran = 0;
            else return fc_fail(err, FC_EINPUT, "%s: malformed .npy fortran_order", name);
        } else if (strcmp(key, "shape") == 0) {
            int r = parse_shape(&c, &ndim, dims);
            if (r == -2) return fc_fail(err, FC_EINPUT, "%s: .npy array has more than %d dims", name, FC_MAX_DIMS);
            if (r) return fc_fail(err, FC_EINPUT, "%s: malformed .npy shape", name);
            have_shape = 1;
        } else {
            return fc_fail(err, FC_EINPUT, "%s: unknown .npy header key '%s'", name, key);
        }
        if (take(&c, ',')) continue;
        if (take(&c, '}')) break;
        return fc_fail(err, FC_EINPUT, "%s: malformed .npy header", name);
    }
    if (!descr[0] || fortran < 0 || !have_shape)
        return fc_fail(err, FC_EINPUT, "%s: .npy header lacks descr, fortran_order or shape", name);
    if (descr[1] == 'O')
        return fc_fail(err, FC_EINPUT, "%s: object arrays (dtype %s) are not supported", name, descr);
    if (descr_to_dtype(descr, &dtype, &swap))
        return fc_fail(err, FC_EINPUT, "%s: unsupported .npy dtype '%s'", name, descr);

    size_t esize = fc_dtype_size(dtype), numel, nbytes;
    if (fc_numel(ndim, dims, &numel) || fc_mul_size(numel, esize, &nbytes))
        return fc_fail(err, FC_EINPUT, "%s: .npy shape overflows", name);
    if (nbytes > fc_limits_current.max_tensor_bytes)
        return fc_fail(err, FC_EINPUT, "%s: .npy array of %zu bytes is over the limit of %llu", name, nbytes,
                       (unsigned long long)fc_limits_current.max_tensor_bytes);
    size_t payload = size - hstart - hlen;
    if (payload < nbytes)
        return fc_fail(err, FC_EINPUT, "%s: .npy data truncated: shape needs %zu bytes, file has %zu", name,
                       nbytes, payload);
    if (payload > nbytes)
        return fc_fail(err, FC_EINPUT, "%s: .npy has %zu trailing bytes after the data", name, payload - nbytes);

    if (fc_array_alloc(out, dtype, ndim, dims, err)) return fc_wrap(err, "%s", name);
    const uint8_t *src = buf + hstart + hlen;
    if (fortran && ndim > 1) fortran_to_c(src, out->data, ndim, dims, esize, numel);
    else if (nbytes) memcpy(out->data, src, nbytes);
    if (swap) byteswap(out->data, numel, esize);
    return 0;
}

int fc_npy_read(const char *path, fc_array *out, fc_error *err)
{
    uint8_t *buf;
    size_t size;
    memset(out, 0, sizeof *out);
    if (fc_read_file(path, fc_limits_current.max_file_bytes, &buf, &size, err)) return -1;
    int rc = fc_npy_parse(buf, size, path, out, err);
    free(buf);
    return rc;
}

/* ---- writing ---------------------------------------------------------------------------------- */

static const char *dtype_descr(int dtype)
{
    switch (dtype) {
    case FC_DT_F32: return "<f4";
    case FC_DT_F16: return "<f2";
    case FC_DT_F64: return "<f8";
    case FC_DT_I8: return "|i1";
    case FC_DT_I16: return "<i2";
    case FC_DT_I32: return "<i4";
    case FC_DT_I64: return "<i8";
    case FC_DT_U8: return "|u1";
    case FC_DT_U16: return "<u2";
    case FC_DT_U32: return "<u4";
    case FC_DT_U64: return "<u8";
    case FC_DT_BOOL: return "|b1";
    default: return NULL;
    }
}

int fc_npy_serialize(const fc_array *a, uint8_t **buf, size_t *size, fc_error *err)
{
    *buf = NULL;
    *size = 0;
    const char *descr = dtype_descr(a->dtype);
    if (!descr) return fc_fail(err, FC_EINPUT, "npy: dtype %s has no .npy equivalent", fc_dtype_name(a->dtype));
    size_t numel, nbytes;
    if (fc_numel(a->ndim, a->dims, &numel) || fc_mul_size(numel, fc_dtype_size(a->dtype), &nbytes) ||
        nbytes != a->nbytes)
        return fc_fail(err, FC_EINTERNAL, "npy: array size does not match its shape");
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < a->ndim; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%lld,%s", (long long)a->dims[i],
                      (a->ndim == 1 || i + 1 == a->ndim) ? "" : " ");
    /* numpy writes "(3,)" for one dim and "(2, 3)" for more */
    if (a->ndim > 1 && dict[n - 1] == ',') n--;
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    /* pad with spaces and a final newline so the data starts at a multiple of 64 (numpy's
     * alignment), as version 1.0 (2-byte header length) */
    size_t hlen = (size_t)n + 1;
    size_t total_hdr = 10 + hlen;
    size_t padded = (total_hdr + 63) / 64 * 64;
    hlen += padded - total_hdr;
    size_t total;
    if (fc_add_size(10 + hlen, nbytes, &total))
        return fc_fail(err, FC_EINPUT, "npy: array too large");
    uint8_t *out = malloc(total);
    if (!out) return fc_fail(err, FC_ENOMEM, "npy: out of memory (%zu bytes)", total);
    memcpy(out, NPY_MAGIC, 6);
    out[6] = 1;
    out[7] = 0;
    out[8] = (uint8_t)(hlen & 0xff);
    out[9] = (uint8_t)(hlen >> 8);
    memset(out + 10, ' ', hlen);
    memcpy(out + 10, dict, (size_t)n);
    out[10 + hlen - 1] = '\n';
    if (nbytes) memcpy(out + 10 + hlen, a->data, nbytes);
    *buf = out;
    *size = total;
    return 0;
}

int fc_npy_write(const char *path, const fc_array *a, int force, fc_error *err)
{
    uint8_t *buf;
    size_t size;
    if (fc_npy_serialize(a, &buf, &size, err)) return fc_wrap(err, "%s", path);
    int rc = fc_write_file_atomic(path, buf, size, force, err);
    free(buf);
    return rc;
}

/* ---- conversion ------------------------------------------------------------------------------- */

static float bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

int fc_array_to_f32(fc_array *a, fc_error *err)
{
    if (a->dtype == FC_DT_F32) return 0;
    size_t numel, nbytes;
    if (fc_numel(a->ndim, a->dims, &numel) || fc_mul_size(numel, 4, &nbytes))
        return fc_fail(err, FC_EINPUT, "array: overflowing dims");
    if (fc_dtype_size(a->dtype) == 0) return fc_fail(err, FC_EINPUT, "array: invalid dtype %d", a->dtype);
    float *dst = malloc(nbytes ? nbytes : 1);
    if (!dst) return fc_fail(err, FC_ENOMEM, "array: out of memory (%zu bytes)", nbytes);
    const uint8_t *src = a->data;
    for (size_t i = 0; i < numel; i++) {
        float v = 0;
        switch (a->dtype) {
        case FC_DT_F16: { uint16_t h; memcpy(&h, src + 2 * i, 2); v = fc_f16_to_f32(h); break; }
        case FC_DT_BF16: { uint16_t h; memcpy(&h, src + 2 * i, 2); v = bf16_to_f32(h); break; }
        case FC_DT_F64: { double d; memcpy(&d, src + 8 * i, 8); v = (float)d; break; }
        case FC_DT_I8: v = (float)(int8_t)src[i]; break;
        case FC_DT_U8: v = (float)src[i]; break;
        case FC_DT_BOOL: v = src[i] ? 1.0f : 0.0f; break;
        case FC_DT_I16: { int16_t x; memcpy(&x, src + 2 * i, 2); v = (float)x; break; }
        case FC_DT_U16: { uint16_t x; memcpy(&x, src + 2 * i, 2); v = (float)x; break; }
        case FC_DT_I32: { int32_t x; memcpy(&x, src + 4 * i, 4); v = (float)x; break; }
        case FC_DT_U32: { uint32_t x; memcpy(&x, src + 4 * i, 4); v = (float)x; break; }
        case FC_DT_I64: { int64_t x; memcpy(&x, src + 8 * i, 8); v = (float)x; break; }
        case FC_DT_U64: { uint64_t x; memcpy(&x, src + 8 * i, 8); v = (float)x; break; }
        default: break;
        }
        dst[i] = v;
    }
    free(a->data);
    a->data = dst;
    a->dtype = FC_DT_F32;
    a->nbytes = nbytes;
    return 0;
}
