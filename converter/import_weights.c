/* import_weights.c — weight-only files: safetensors and numpy .npz, turned into a graph by a
 * named architecture (--arch, or guessed from the key names; converter/arch.h).
 *
 * safetensors (https://github.com/huggingface/safetensors, format spec and reference reader):
 *   8-byte little-endian header length N, then N bytes of UTF-8 JSON, then the byte buffer.
 *   The reference reader refuses N > 100 MB or N > file size - 8, a header that is not valid
 *   UTF-8 or does not start with '{', and any entry whose data_offsets are not contiguous from
 *   0 (no holes, no overlaps) ending exactly at the end of the file, or whose byte size differs
 *   from numel × dtype size (overflow-checked). We do all of that, plus: duplicate keys (serde
 *   refuses them; cJSON keeps both silently, so the key list is scanned here), JSON depth
 *   bounded before cJSON (which recurses), and integers beyond 2^53 (not exact in a double).
 * .npz: read through common/npz.c (hardened zip layer + npy parser).
 * Every numeric tensor is converted to f32: the arch templates consume f32. */
#include "converter/arch.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_MAX_HEADER 100000000ull   /* the reference reader's MAX_HEADER_SIZE */
#define ST_MAX_EXACT_INT 9007199254740992.0   /* 2^53 */

/* ---- small guards ------------------------------------------------------------------------- */

static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) { i++; continue; }
        int len;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
        else return 0;
        if (i + (size_t)len > n) return 0;
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        /* overlong forms, surrogates and code points past U+10FFFF are not UTF-8 */
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return 0;
        i += (size_t)len;
    }
    return 1;
}


static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key appearing twice in obj, or NULL. */
static const char *duplicate_key(const cJSON *obj, int *oom)
{
    int n = cJSON_GetArraySize(obj);
    *oom = 0;
    if (n < 2) return NULL;
    const char **keys = malloc(sizeof *keys * (size_t)n);
    if (!keys) { *oom = 1; return NULL; }
    int k = 0;
    for (const cJSON *it = obj->child; it; it = it->next) keys[k++] = it->string ? it->string : "";
    qsort(keys, (size_t)n, sizeof *keys, cmp_str_ptr);
    const char *dup = NULL;
    for (int i = 1; i < n && !dup; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0) dup = keys[i];
    free(keys);
    return dup;
}

static int exact_uint(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= ST_MAX_EXACT_INT) || d != floor(d)) return 0;
    *out = (uint64_t)d;
    return 1;
}

/* ---- safetensors ----------------------------------------------------------------------------- */

typedef struct st_entry {
    const char *name;
    int dtype;                    /* storage dtype (fc_dtype) */
    int ndim;
    int64_t dims[FC_MAX_DIMS];
    uint64_t begin, end;
    int order;                    /* position in the header (state_dict order) */
} st_entry;

static int st_dtype(const char *s)
{
    static const struct { const char *name; int dtype; } map[] = {
        {"F32", FC_DT_F32}, {"F16", FC_DT_F16}, {"BF16", FC_DT_BF16}, {"F64", FC_DT_F64},
        {"I64", FC_DT_I64}, {"I32", FC_DT_I32}, {"I16", FC_DT_I16}, {"I8", FC_DT_I8},
        {"U8", FC_DT_U8}, {"BOOL", FC_DT_BOOL},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(s, map[i].name) == 0) return map[i].dtype;
    return FC_DT_INVALID;
}

static int cmp_entry(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static int cmp_order(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    return (x->order > y->order) - (x->order < y->order);
}

static int parse_entry(const char *path, const cJSON *item, st_entry *e, fc_error *err)
{
    const char *name = item->string;
    int oom;
    if (!cJSON_IsObject(item)) return fc_fail(err, FC_EINPUT, "%s: tensor '%.200s': entry is not an object", path, name);
    const char *dup = duplicate_key(item, &oom);
    if (oom) return fc_fail(err, FC_ENOMEM, "%s: out of memory", path);
    if (dup) return fc_fail(err, FC_EINPUT, "%s: tensor '%.200s': duplicate key '%.60s'", path, name, dup);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs))
        return fc_fail(err, FC_EINPUT, "%s: tensor '%.200s': needs string 'dtype', list 'shape' and 'data_offsets'",
                       path, name);
    e->name = name;
    e->dtype = st_dtype(dt->valuestring);
    if (e->dtype == FC_DT_INVALID)
        return fc_fail(err, FC_EINPUT, "%s: tensor '%.200s': dtype '%.20s' not supported "
                       "(F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL)", path, name, dt->valuestring);
    e->ndim = cJSON_GetArraySize(shape);
    if (e->ndim > FC_MAX_DIMS)
        return fc_fail(err, FC_EINPUT, "%s: tensor '%.200s': %d dims (at most %d)", path, name, e->ndim, FC_MAX_DIMS);
    int k = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape) {
        uint64_t u;
        if (!exact_uint(d, &u))
            return fc_fail(err, FC_EINPUT, "%s: tensor '%.200s': shape entries must be non-negative integers", path, name);
        e->dims[k++] = (int64_t)u;
    }
    if (cJSON_GetArraySize(offs) != 2 || !exact_uint(offs->child, &e->begin) || !exact_uint(offs->child->next, &e->end))
        return fc_fail(err, FC_EINPUT, "%s: tensor '%.200s': data_offsets must be two non-negative integers",
                       path, name);
    if (e->begin > e->end)
        return fc_fail(err, FC_EINPUT, "%s: tensor '%.200s': data_offsets [%llu, %llu] run backwards", path, name,
                       (unsigned long long)e->begin, (unsigned long long)e->end);
    size_t numel, bytes;
    if (fc_numel(e->ndim, e->dims, &numel) || fc_mul_size(numel, fc_dtype_size(e->dtype), &bytes))
        return fc_fail(err, FC_EINPUT, "%s: tensor '%.200s': shape overflows", path, name);
    if ((uint64_t)bytes != e->end - e->begin)
        return fc_fail(err, FC_EINPUT, "%s: tensor '%.200s': data_offsets span %llu bytes, shape x %s needs %zu",
                       path, name, (unsigned long long)(e->end - e->begin), dt->valuestring, bytes);
    if (bytes > fc_limits_current.max_tensor_bytes)
        return fc_fail(err, FC_EINPUT, "%s: tensor '%.200s': %zu bytes, over the limit", path, name, bytes);
    return 0;
}

static int check_metadata(const char *path, const cJSON *meta, fc_error *err)
{
    if (!cJSON_IsObject(meta))
        return fc_fail(err, FC_EINPUT, "%s: '__metadata__' must be an object of strings", path);
    int oom;
    const char *dup = duplicate_key(meta, &oom);
    if (oom) return fc_fail(err, FC_ENOMEM, "%s: out of memory", path);
    if (dup) return fc_fail(err, FC_EINPUT, "%s: '__metadata__': duplicate key '%.60s'", path, dup);
    for (const cJSON *it = meta->child; it; it = it->next)
        if (!cJSON_IsString(it))
            return fc_fail(err, FC_EINPUT, "%s: '__metadata__' value '%.60s' is not a string", path, it->string);
    return 0;
}

/* Converts one stored tensor to an f32 fc_array. */
static int to_f32(const char *path, const st_entry *e, const uint8_t *src, fc_array *out, fc_error *err)
{
    if (fc_array_alloc(out, FC_DT_F32, e->ndim, e->dims, err)) return fc_wrap(err, "%s: tensor '%.200s'", path, e->name);
    float *dst = out->data;
    size_t n = out->nbytes / 4;
    for (size_t i = 0; i < n; i++) {
        float v;
        switch (e->dtype) {
        case FC_DT_F32: memcpy(&v, src + 4 * i, 4); break;
        case FC_DT_F16: { uint16_t h; memcpy(&h, src + 2 * i, 2); v = fc_f16_to_f32(h); break; }
        case FC_DT_BF16: { uint16_t h; memcpy(&h, src + 2 * i, 2); uint32_t b = (uint32_t)h << 16; memcpy(&v, &b, 4); break; }
        case FC_DT_F64: { double x; memcpy(&x, src + 8 * i, 8); v = (float)x; break; }
        case FC_DT_I64: { int64_t x; memcpy(&x, src + 8 * i, 8); v = (float)x; break; }
        case FC_DT_I32: { int32_t x; memcpy(&x, src + 4 * i, 4); v = (float)x; break; }
        case FC_DT_I16: { int16_t x; memcpy(&x, src + 2 * i, 2); v = (float)x; break; }
        case FC_DT_I8: v = (float)(int8_t)src[i]; break;
        case FC_DT_U8: v = (float)src[i]; break;
        case FC_DT_BOOL:
            if (src[i] > 1) {
                fc_array_free(out);
                return fc_fail(err, FC_EINPUT, "%s: tensor '%.200s': BOOL byte %u is neither 0 nor 1", path, e->name, src[i]);
            }
            v = (float)src[i];
            break;
        default: v = 0; break;
        }
        dst[i] = v;
    }
    return 0;
}

/* Parses and validates the header; fills entries (header order, names pointing into root). */
static int st_parse_header(const char *path, const uint8_t *buf, size_t size, cJSON **root_out, st_entry **entries_out,
                           int *count_out, size_t *data_start, fc_error *err)
{
    *root_out = NULL;
    *entries_out = NULL;
    *count_out = 0;
    if (size < 8) return fc_fail(err, FC_EINPUT, "%s: %zu bytes, too short for a safetensors header", path, size);
    uint64_t n;
    memcpy(&n, buf, 8);
    if (n > ST_MAX_HEADER)
        return fc_fail(err, FC_EINPUT, "%s: safetensors header of %llu bytes is over the 100 MB limit", path,
                       (unsigned long long)n);
    if (n > size - 8)
        return fc_fail(err, FC_EINPUT, "%s: safetensors header of %llu bytes runs past the end of the file (%zu bytes)",
                       path, (unsigned long long)n, size);
    const uint8_t *hdr = buf + 8;
    if (n == 0 || hdr[0] != '{') return fc_fail(err, FC_EINPUT, "%s: safetensors header does not start with '{'", path);
    if (!utf8_valid(hdr, (size_t)n)) return fc_fail(err, FC_EINPUT, "%s: safetensors header is not valid UTF-8", path);
    if (!fc_json_depth_ok((const char *)hdr, (size_t)n, fc_limits_current.max_nesting))
        return fc_fail(err, FC_EINPUT, "%s: safetensors header JSON nested deeper than %u levels", path,
                       fc_limits_current.max_nesting);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)hdr, (size_t)n, &end, 0);
    if (!root) return fc_fail(err, FC_EINPUT, "%s: safetensors header is not valid JSON", path);
    /* trailing bytes: the reference writer pads with spaces; anything else is garbage */
    for (const char *p = end; p < (const char *)hdr + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(root);
            return fc_fail(err, FC_EINPUT, "%s: safetensors header has bytes after the JSON object", path);
        }
    *root_out = root;
    if (!cJSON_IsObject(root)) return fc_fail(err, FC_EINPUT, "%s: safetensors header is not a JSON object", path);
    int oom;
    const char *dup = duplicate_key(root, &oom);
    if (oom) return fc_fail(err, FC_ENOMEM, "%s: out of memory", path);
    if (dup) return fc_fail(err, FC_EINPUT, "%s: safetensors header has the key '%.200s' twice", path, dup);
    int total = cJSON_GetArraySize(root);
    if ((uint64_t)total > fc_limits_current.max_tensors)
        return fc_fail(err, FC_EINPUT, "%s: %d tensors, over the limit of %u", path, total, fc_limits_current.max_tensors);
    st_entry *entries = calloc((size_t)(total ? total : 1), sizeof *entries);
    if (!entries) return fc_fail(err, FC_ENOMEM, "%s: out of memory", path);
    *entries_out = entries;
    int count = 0;
    for (const cJSON *it = root->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) {
            if (check_metadata(path, it, err)) return -1;
            continue;
        }
        if (parse_entry(path, it, &entries[count], err)) return -1;
        entries[count].order = count;
        count++;
    }
    *count_out = count;
    qsort(entries, (size_t)count, sizeof *entries, cmp_entry);
    uint64_t buffer_len = size - 8 - n, at = 0;
    for (int i = 0; i < count; i++) {
        if (entries[i].begin != at)
            return fc_fail(err, FC_EINPUT, "%s: tensor '%.200s': data starts at %llu, expected %llu (%s)", path,
                           entries[i].name, (unsigned long long)entries[i].begin, (unsigned long long)at,
                           entries[i].begin > at ? "a hole before it" : "overlaps the previous tensor");
        at = entries[i].end;
    }
    if (at != buffer_len)
        return fc_fail(err, FC_EINPUT, "%s: tensors cover %llu bytes of a %llu-byte data buffer", path,
                       (unsigned long long)at, (unsigned long long)buffer_len);
    qsort(entries, (size_t)count, sizeof *entries, cmp_order);
    *data_start = 8 + (size_t)n;
    return 0;
}

/* Reads and validates; optionally hashes the file while it is in memory (provenance). */
static int read_safetensors(const char *path, fcv_weights *w, uint8_t sha[32], uint64_t *file_bytes, fc_error *err)
{
    uint8_t *buf;
    size_t size;
    if (fc_read_file(path, (size_t)fc_limits_current.max_file_bytes, &buf, &size, err)) return -1;
    if (sha) fc_sha256(buf, size, sha);
    if (file_bytes) *file_bytes = size;
    cJSON *root = NULL;
    st_entry *entries = NULL;
    int count, rc = -1;
    size_t data_start = 0;
    if (st_parse_header(path, buf, size, &root, &entries, &count, &data_start, err)) goto done;
    for (int i = 0; i < count; i++) {
        const st_entry *e = &entries[i];
        fc_array arr;
        if (to_f32(path, e, buf + data_start + e->begin, &arr, err)) goto done;
        if (fcv_weights_add(w, e->name, &arr, err)) { fc_wrap(err, "%s", path); goto done; }
    }
    rc = 0;
done:
    free(entries);
    cJSON_Delete(root);
    free(buf);
    return rc;
}

int fcv_read_safetensors(const char *path, fcv_weights *w, fc_error *err)
{
    return read_safetensors(path, w, NULL, NULL, err);
}

int fcv_read_npz_weights(const char *path, fcv_weights *w, fc_error *err)
{
    fc_npz z;
    if (fc_npz_read(path, &z, err)) return -1;
    for (int i = 0; i < z.count; i++) {
        fc_array *a = &z.entries[i].arr;
        if (a->dtype != FC_DT_F32 && fc_array_to_f32(a, err)) {
            fc_wrap(err, "%s: array '%.200s'", path, z.entries[i].name);
            fc_npz_free(&z);
            return -1;
        }
        if (fcv_weights_add(w, z.entries[i].name, a, err)) {
            fc_wrap(err, "%s", path);
            fc_npz_free(&z);
            return -1;
        }
    }
    fc_npz_free(&z);
    return 0;
}

/* ---- graph from --arch ------------------------------------------------------------------------- */

typedef struct source_info {
    int hashed;                   /* sha/bytes already known (file was read whole) */
    uint8_t sha[32];
    uint64_t bytes;
} source_info;

static int set_source(ir_graph *g, const char *path, const char *format, const source_info *src, const char *arch,
                      int guessed, fc_error *err)
{
    if (src->hashed) {
        memcpy(g->source_sha256, src->sha, 32);
        g->source_bytes = src->bytes;
    } else {
        uint8_t *buf;
        size_t size;
        if (fc_read_file(path, (size_t)fc_limits_current.max_file_bytes, &buf, &size, err)) return -1;
        fc_sha256(buf, size, g->source_sha256);
        free(buf);
        g->source_bytes = size;
    }
    free(g->source_path);
    free(g->source_format);
    g->source_path = strdup(path);
    g->source_format = strdup(format);
    if (!g->extra_meta) g->extra_meta = cJSON_CreateObject();
    if (!g->source_path || !g->source_format || !g->extra_meta) return fc_fail(err, FC_ENOMEM, "%s: out of memory", path);
    cJSON_DeleteItemFromObjectCaseSensitive(g->extra_meta, "arch");
    cJSON_DeleteItemFromObjectCaseSensitive(g->extra_meta, "arch_guessed");
    cJSON_AddStringToObject(g->extra_meta, "arch", arch);
    cJSON_AddBoolToObject(g->extra_meta, "arch_guessed", guessed);
    return 0;
}

static int build_from_weights(const char *path, const char *format, const source_info *src, fcv_weights *w,
                              const fcv_import_options *opt, ir_graph **out, fc_error *err)
{
    const char *arch = opt ? opt->arch : NULL;
    int guessed = 0;
    if (!arch) {
        arch = fcv_arch_guess(w);
        guessed = 1;
        if (!arch)
            return fc_fail(err, FC_EINPUT, "%s: %s weights need --arch NAME (could not guess from the key names); "
                           "known: %s", path, format, fcv_arch_list());
    }
    if (fcv_arch_build(arch, path, w, opt, out, err)) return -1;
    if (set_source(*out, path, format, src, arch, guessed, err)) {
        ir_graph_free(*out);
        *out = NULL;
        return -1;
    }
    /* the issue asks to say what was guessed; one line, like the PyTorch importer */
    if (guessed) fprintf(stderr, "%s: guessed --arch %s from the weight names\n", path, arch);
    return 0;
}

int fcv_import_safetensors(const char *path, const fcv_import_options *opt, ir_graph **out, fc_error *err)
{
    *out = NULL;
    fcv_weights w = {0};
    source_info src = {.hashed = 1};
    int rc = read_safetensors(path, &w, src.sha, &src.bytes, err);
    if (rc == 0) rc = build_from_weights(path, "safetensors", &src, &w, opt, out, err);
    fcv_weights_free(&w);
    return rc;
}

int fcv_import_npz(const char *path, const fcv_import_options *opt, ir_graph **out, fc_error *err)
{
    *out = NULL;
    fcv_weights w = {0};
    source_info src = {.hashed = 0};   /* libzip read it: hash in a second pass */
    int rc = fcv_read_npz_weights(path, &w, err);
    if (rc == 0) rc = build_from_weights(path, "npz", &src, &w, opt, out, err);
    fcv_weights_free(&w);
    return rc;
}
