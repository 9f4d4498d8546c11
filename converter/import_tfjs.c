/* import_tfjs.c — Keras models saved by TF.js in the layers format: model.json
 * (modelTopology: Sequential or Functional, Keras 2 style configs as written by tfjs 4.x and by
 * tensorflowjs_converter) + the weight shards of its weightsManifest.
 *
 * Layout: Keras is channels_last; the runtime is NCHW. Every rank-4 Keras tensor (N,H,W,C) is
 * held as an NCHW value (N,C,H,W); tensors of other ranks keep Keras' order. So the graph
 * input is declared N×C×H×W (users feed NCHW; META says so), conv kernels HWIO become OIHW,
 * and every op whose meaning depends on memory order is made faithful explicitly:
 *   Flatten of (N,H,W,C)  -> Transpose(0,2,3,1) -> Flatten  (Keras flattens H,W,C; the FC->conv
 *                            pass recognises this exact pattern and permutes the weight instead)
 *   Reshape from rank 4   -> Transpose(0,2,3,1) first; Reshape to rank 4 -> Transpose(0,3,1,2) after
 *   Concatenate/Softmax   -> Keras axis mapped to the NCHW axis
 *   TF "same" padding     -> extra padding at the end (ONNX SAME_UPPER); average pools exclude it
 *
 * Weights are matched by name "<layer>/<weight>" (or ".../<layer>/<weight>"), and every shape is
 * checked against the layer's config before use. Shard paths resolve only inside the folder of
 * model.json. Quantized weights (uint8/uint16 with scale and min, float16) are dequantized the way
 * tfjs does it: value = q * scale + min, computed in double and rounded to float.
 *
 * Covered: Sequential and Functional (Keras 2 style inbound_nodes, shared layers, several inputs
 * or outputs) with InputLayer, Conv2D (groups), DepthwiseConv2D, SeparableConv2D, Dense (rank 2,
 * 3 and 4 inputs), BatchNormalization (channel axis), Activation/ReLU/LeakyReLU/ELU/Softmax,
 * PReLU, Max/AveragePooling2D, GlobalAverage/MaxPooling2D, Flatten, Reshape, ZeroPadding2D,
 * Cropping2D, Rescaling, Dropout and other inference no-ops, Add/Multiply/Subtract/Maximum/Minimum/
 * Average, Concatenate.
 * Not covered: channels_first configs, Conv1D/3D, recurrent and attention layers, nested models
 * (a Model used as a layer), Keras 3 configs (inbound_nodes as {"args": ...} dicts), TF.js graph
 * models (a TensorFlow GraphDef: would need a second importer), and native `.keras` / `.h5` files:
 * those hold the same JSON config, so supporting them takes a zip reader (have it: fc_zip.h) for
 * `.keras` plus an HDF5 reader for the weights (libhdf5, or a minimal reader of the contiguous
 * datasets Keras writes) mapping "layers/<name>/vars/<i>" to the weight names used here. */
#include "converter/ir.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define TFJS_MAX_JSON_BYTES (64u << 20)

/* A Keras tensor: the IR value holding it and its Keras (channels_last) shape, batch included. */
typedef struct kt {
    int id;
    int rank;
    int64_t shape[FC_MAX_DIMS];
} kt;

typedef struct tfjs_weight {
    char *name;
    int dtype;                    /* FC_DT_F32 or FC_DT_I32 */
    int ndim;
    int64_t dims[FC_MAX_DIMS];
    void *data;                   /* malloc'd, decoded */
    size_t nbytes;
} tfjs_weight;

/* String -> index map (open addressing, FNV-1a): layer and weight lookups stay linear in the
 * model size, whatever order a hostile file lists things in. Keys are borrowed. */
typedef struct strmap {
    const char **keys;
    int *vals;
    size_t cap;                   /* power of two, >= 2 × entries */
} strmap;

typedef struct tfjs_import {
    const char *file;             /* model.json as given, for messages */
    char dir[PATH_MAX];           /* realpath of its folder */
    ir_graph *g;
    tfjs_weight *w; int n_w, cap_w;
    strmap wmap;                  /* weight name -> index into w */
    const char *layer, *cls;      /* the layer being mapped, for messages */
} tfjs_import;

/* ---- errors ------------------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static int lfail(tfjs_import *im, fc_error *err, const char *fmt, ...)
{
    char msg[FC_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (im->layer)
        return fc_fail(err, FC_EINPUT, "%s: layer '%s' (%s): %s", im->file, im->layer,
                       im->cls ? im->cls : "?", msg);
    return fc_fail(err, FC_EINPUT, "%s: %s", im->file, msg);
}

/* ---- string map ------------------------------------------------------------------------------ */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int strmap_init(strmap *m, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n + 2) cap *= 2;
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = calloc(cap, sizeof *m->vals);
    m->cap = cap;
    return m->keys && m->vals ? 0 : -1;
}

static void strmap_free(strmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* Inserts key -> val; returns the existing value when key is already there, else -1. */
static int strmap_put(strmap *m, const char *key, int val)
{
    size_t i = (size_t)fnv1a(key) & (m->cap - 1);
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0) return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    m->keys[i] = key;
    m->vals[i] = val;
    return -1;
}

static int strmap_get(const strmap *m, const char *key)
{
    if (!m->cap) return -1;
    size_t i = (size_t)fnv1a(key) & (m->cap - 1);
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0) return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    return -1;
}

/* ---- JSON helpers (the depth guard run before cJSON_Parse is fc_json_depth_ok) ------------------ */


static const cJSON *jget(const cJSON *obj, const char *key)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

static const char *jstr(const cJSON *obj, const char *key)
{
    const cJSON *v = jget(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int is_int_number(const cJSON *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= (double)lo && d <= (double)hi) || d != floor(d)) return 0;
    *out = (int64_t)d;
    return 1;
}

/* Integer config entry; absent/null -> def. */
static int cfg_int(tfjs_import *im, const cJSON *cfg, const char *key, int64_t def, int64_t lo, int64_t hi,
                   int64_t *out, fc_error *err)
{
    const cJSON *v = jget(cfg, key);
    *out = def;   /* also on errors: callers' values are never left unset */
    if (!v || cJSON_IsNull(v)) return 0;
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 1) v = v->child;   /* e.g. axis: [3] */
    if (!is_int_number(v, lo, hi, out))
        return lfail(im, err, "'%s' must be an integer in [%lld, %lld]", key, (long long)lo, (long long)hi);
    return 0;
}

/* A pair such as kernel_size/strides: integer or list of two integers. */
static int cfg_pair(tfjs_import *im, const cJSON *cfg, const char *key, const int64_t *def, int64_t lo,
                    int64_t hi, int64_t out[2], fc_error *err)
{
    const cJSON *v = jget(cfg, key);
    int64_t x;
    out[0] = out[1] = 1;
    if (!v || cJSON_IsNull(v)) {
        if (!def) return lfail(im, err, "'%s' is missing", key);
        out[0] = def[0]; out[1] = def[1];
        return 0;
    }
    if (is_int_number(v, lo, hi, &x)) { out[0] = out[1] = x; return 0; }
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 && is_int_number(v->child, lo, hi, &out[0]) &&
        is_int_number(v->child->next, lo, hi, &out[1]))
        return 0;
    return lfail(im, err, "'%s' must be an integer or two integers in [%lld, %lld]", key, (long long)lo,
                 (long long)hi);
}

static int cfg_bool(tfjs_import *im, const cJSON *cfg, const char *key, int def, int *out, fc_error *err)
{
    const cJSON *v = jget(cfg, key);
    *out = def;
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsBool(v)) return lfail(im, err, "'%s' must be true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

static int cfg_double(tfjs_import *im, const cJSON *cfg, const char *key, double def, double *out, fc_error *err)
{
    const cJSON *v = jget(cfg, key);
    *out = def;
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return lfail(im, err, "'%s' must be a finite number", key);
    *out = v->valuedouble;
    return 0;
}

/* ---- weights manifest -------------------------------------------------------------------------- */

static void free_weights(tfjs_import *im)
{
    for (int i = 0; i < im->n_w; i++) {
        free(im->w[i].name);
        free(im->w[i].data);
    }
    free(im->w);
    im->w = NULL;
    im->n_w = im->cap_w = 0;
    strmap_free(&im->wmap);
}

/* Resolves a shard path strictly inside the model folder: relative, no "..", no backslash, and
 * its realpath (symlinks followed) still inside. */
static int resolve_shard(tfjs_import *im, const char *rel, char *out, size_t cap, fc_error *err)
{
    if (!*rel || rel[0] == '/' || strchr(rel, '\\') || strlen(rel) > 1024)
        return lfail(im, err, "weight shard path '%.200s' must be a relative path inside the model folder", rel);
    for (const char *p = rel; *p;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return lfail(im, err, "weight shard path '%.200s' leaves the model folder ('..')", rel);
        p += len + (slash ? 1 : 0);
    }
    char joined[PATH_MAX + 1100];
    snprintf(joined, sizeof joined, "%s/%s", im->dir, rel);
    char real[PATH_MAX];
    if (!realpath(joined, real)) return lfail(im, err, "weight shard '%.200s' not found next to model.json", rel);
    size_t dl = strlen(im->dir);
    if (strncmp(real, im->dir, dl) != 0 || (real[dl] != '/' && strcmp(im->dir, "/") != 0))
        return lfail(im, err, "weight shard '%.200s' resolves outside the model folder (symlink)", rel);
    if (strlen(real) >= cap) return lfail(im, err, "weight shard path '%.200s' too long", rel);
    strcpy(out, real);
    return 0;
}

static int read_group(tfjs_import *im, const cJSON *paths, uint8_t **buf, size_t *size, uint64_t *total,
                      fc_error *err)
{
    *buf = NULL;
    *size = 0;
    if (!cJSON_IsArray(paths)) return lfail(im, err, "weightsManifest group without a 'paths' list");
    const cJSON *p;
    cJSON_ArrayForEach(p, paths) {
        if (!cJSON_IsString(p)) { free(*buf); return lfail(im, err, "weightsManifest path is not a string"); }
        char real[PATH_MAX];
        if (resolve_shard(im, p->valuestring, real, sizeof real, err)) { free(*buf); return -1; }
        uint8_t *shard;
        size_t n;
        if (fc_read_file(real, (size_t)fc_limits_current.max_file_bytes, &shard, &n, err)) {
            free(*buf);
            return fc_wrap(err, "%s: weight shard '%s'", im->file, p->valuestring);
        }
        *total += n;
        size_t grown;
        if (*total > fc_limits_current.max_file_bytes || fc_add_size(*size, n, &grown)) {
            free(shard); free(*buf);
            return lfail(im, err, "weight shards total over the limit of %llu bytes",
                         (unsigned long long)fc_limits_current.max_file_bytes);
        }
        uint8_t *nb = realloc(*buf, grown ? grown : 1);
        if (!nb) { free(shard); free(*buf); return fc_fail(err, FC_ENOMEM, "%s: out of memory reading shards", im->file); }
        if (n) memcpy(nb + *size, shard, n);
        free(shard);
        *buf = nb;
        *size = grown;
    }
    return 0;
}

/* Decodes one weight spec at buf[*off]: checks bytes = numel × stored size, dequantizes. */
static int decode_weight(tfjs_import *im, const cJSON *spec, const uint8_t *buf, size_t size, size_t *off,
                         fc_error *err)
{
    const char *name = jstr(spec, "name");
    const char *dtype = jstr(spec, "dtype");
    const cJSON *shape = jget(spec, "shape");
    if (!name || !dtype || !cJSON_IsArray(shape))
        return lfail(im, err, "weightsManifest entry without name, dtype or shape");
    tfjs_weight w = {0};
    w.ndim = cJSON_GetArraySize(shape);
    if (w.ndim > FC_MAX_DIMS) return lfail(im, err, "weight '%s': %d dims (at most %d)", name, w.ndim, FC_MAX_DIMS);
    int k = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape)
        if (!is_int_number(d, 0, INT64_MAX / 2, &w.dims[k++]))
            return lfail(im, err, "weight '%s': shape entries must be non-negative integers", name);
    size_t numel;
    if (fc_numel(w.ndim, w.dims, &numel)) return lfail(im, err, "weight '%s': shape overflows", name);
    if (strcmp(dtype, "float32") == 0) w.dtype = FC_DT_F32;
    else if (strcmp(dtype, "int32") == 0) w.dtype = FC_DT_I32;
    else return lfail(im, err, "weight '%s': dtype '%.40s' not supported (float32, int32)", name, dtype);

    const cJSON *q = jget(spec, "quantization");
    const char *qdtype = NULL;
    double scale = 1, minv = 0;
    size_t stored = 4;
    if (q) {
        qdtype = jstr(q, "dtype");
        if (!qdtype) return lfail(im, err, "weight '%s': quantization without dtype", name);
        if (strcmp(qdtype, "uint8") == 0 || strcmp(qdtype, "uint16") == 0) {
            const cJSON *s = jget(q, "scale"), *m = jget(q, "min");
            if (!cJSON_IsNumber(s) || !cJSON_IsNumber(m) || !isfinite(s->valuedouble) || !isfinite(m->valuedouble))
                return lfail(im, err, "weight '%s': %s quantization needs finite 'scale' and 'min'", name, qdtype);
            scale = s->valuedouble;
            minv = m->valuedouble;
            stored = qdtype[4] == '8' ? 1 : 2;
        } else if (strcmp(qdtype, "float16") == 0) {
            if (w.dtype != FC_DT_F32) return lfail(im, err, "weight '%s': float16 quantization of a non-float32 weight", name);
            stored = 2;
        } else {
            return lfail(im, err, "weight '%s': quantization dtype '%.40s' not supported (uint8, uint16, float16)",
                         name, qdtype);
        }
    }
    size_t bytes, out_bytes;
    if (fc_mul_size(numel, stored, &bytes) || fc_mul_size(numel, 4, &out_bytes) ||
        out_bytes > fc_limits_current.max_tensor_bytes)
        return lfail(im, err, "weight '%s': too large", name);
    if (*off > size || bytes > size - *off)
        return lfail(im, err, "weight '%s': needs %zu bytes at offset %zu, the shards hold only %zu", name, bytes,
                     *off, size);
    const uint8_t *src = buf + *off;
    *off += bytes;
    w.data = malloc(out_bytes ? out_bytes : 1);
    w.name = strdup(name);
    if (!w.data || !w.name) { free(w.data); free(w.name); return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file); }
    w.nbytes = out_bytes;
    for (size_t i = 0; i < numel; i++) {
        double v;
        if (!qdtype) {
            if (w.dtype == FC_DT_F32) { float f; memcpy(&f, src + 4 * i, 4); ((float *)w.data)[i] = f; continue; }
            int32_t x; memcpy(&x, src + 4 * i, 4); ((int32_t *)w.data)[i] = x; continue;
        }
        if (stored == 1) v = src[i] * scale + minv;
        else {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            if (qdtype[0] == 'f') { ((float *)w.data)[i] = fc_f16_to_f32(h); continue; }
            v = h * scale + minv;
        }
        if (w.dtype == FC_DT_F32) ((float *)w.data)[i] = (float)v;
        else ((int32_t *)w.data)[i] = (int32_t)lround(v);
    }
    if (im->n_w == im->cap_w) {
        int nc = im->cap_w ? 2 * im->cap_w : 32;
        tfjs_weight *nw = realloc(im->w, sizeof *nw * (size_t)nc);
        if (!nw) { free(w.data); free(w.name); return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file); }
        im->w = nw;
        im->cap_w = nc;
    }
    im->w[im->n_w++] = w;
    return 0;
}

static int load_manifest(tfjs_import *im, const cJSON *manifest, fc_error *err)
{
    if (!manifest) return 0;   /* a model without weights is legal (e.g. only pooling) */
    if (!cJSON_IsArray(manifest)) return lfail(im, err, "'weightsManifest' must be a list of groups");
    uint64_t total = 0;
    const cJSON *group;
    cJSON_ArrayForEach(group, manifest) {
        const cJSON *specs = jget(group, "weights");
        if (!cJSON_IsArray(specs)) return lfail(im, err, "weightsManifest group without a 'weights' list");
        if ((uint64_t)im->n_w + (uint64_t)cJSON_GetArraySize(specs) > fc_limits_current.max_tensors)
            return lfail(im, err, "more than %u weights", fc_limits_current.max_tensors);
        uint8_t *buf;
        size_t size, off = 0;
        if (read_group(im, jget(group, "paths"), &buf, &size, &total, err)) return -1;
        const cJSON *spec;
        cJSON_ArrayForEach(spec, specs)
            if (decode_weight(im, spec, buf, size, &off, err)) { free(buf); return -1; }
        free(buf);
        if (off != size)
            return lfail(im, err, "weight shards hold %zu bytes, the manifest describes %zu", size, off);
    }
    if (strmap_init(&im->wmap, (size_t)im->n_w)) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    for (int i = 0; i < im->n_w; i++)
        if (strmap_put(&im->wmap, im->w[i].name, i) >= 0)
            return lfail(im, err, "weight '%.200s' listed twice in weightsManifest", im->w[i].name);
    return 0;
}

/* The weight "<layer>/<suffix>" (also accepted with a scope prefix: ".../<layer>/<suffix>"),
 * with its shape checked. Returns the index, or -1 (err set when required). */
static int find_weight(tfjs_import *im, const char *suffix, int ndim, const int64_t *dims, int required,
                       fc_error *err)
{
    char want[600];
    snprintf(want, sizeof want, "%s/%s", im->layer, suffix);
    size_t wl = strlen(want);
    int found = strmap_get(&im->wmap, want);
    for (int i = 0; i < im->n_w && found < 0; i++) {
        size_t nl = strlen(im->w[i].name);
        if (nl > wl && im->w[i].name[nl - wl - 1] == '/' && strcmp(im->w[i].name + nl - wl, want) == 0) found = i;
    }
    if (found < 0) {
        if (required) lfail(im, err, "weight '%s' not in weightsManifest", want);
        return -1;
    }
    tfjs_weight *w = &im->w[found];
    int same = w->ndim == ndim && w->dtype == FC_DT_F32;
    for (int i = 0; same && i < ndim; i++) same = w->dims[i] == dims[i];
    if (!same) {
        char got[128], exp[128];
        fc_format_dims(w->ndim, w->dims, got, sizeof got);
        fc_format_dims(ndim, dims, exp, sizeof exp);
        return lfail(im, err, "weight '%s' has shape %s (%s), expected %s float32", w->name, got,
                     fc_dtype_name(w->dtype), exp), -1;
    }
    return found;
}

static const float *wdata(tfjs_import *im, int idx) { return (const float *)im->w[idx].data; }

/* ---- graph building ---------------------------------------------------------------------------- */

static void ir_dims_of(const kt *t, int64_t *dims)
{
    if (t->rank == 4) {
        dims[0] = t->shape[0]; dims[1] = t->shape[3]; dims[2] = t->shape[1]; dims[3] = t->shape[2];
    } else {
        for (int i = 0; i < t->rank; i++) dims[i] = t->shape[i];
    }
}

/* A new activation value for a Keras tensor of the given shape, named base (made unique). */
static int new_tensor(tfjs_import *im, const char *base, int rank, const int64_t *shape, kt *out, fc_error *err)
{
    out->rank = rank;
    for (int i = 0; i < rank; i++) out->shape[i] = shape[i];
    for (int i = 1; i < rank; i++)
        if (shape[i] <= 0) return lfail(im, err, "output shape has a non-positive dimension");
    size_t numel;
    if (fc_numel(rank, shape, &numel) || numel > fc_limits_current.max_tensor_bytes / 4)
        return lfail(im, err, "output tensor too large");
    int64_t dims[FC_MAX_DIMS];
    ir_dims_of(out, dims);
    char *name = ir_unique_name(im->g, base);
    if (!name) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    out->id = ir_add_value(im->g, name, FC_DT_F32, rank, dims, err);
    free(name);
    return out->id < 0 ? -1 : 0;
}

static int add_const(tfjs_import *im, const char *suffix, int ndim, const int64_t *dims, float *data, fc_error *err)
{
    char base[600];
    snprintf(base, sizeof base, "%s/%s", im->layer, suffix);
    size_t numel;
    fc_numel(ndim, dims, &numel);
    /* a shared layer's later calls reuse the constant of its first call (same name, same bytes) */
    int prev = ir_find_value(im->g, base);
    if (prev >= 0) {
        const ir_value *v = &im->g->values[prev];
        if (v->data && v->nbytes == numel * sizeof(float) && v->ndim == ndim &&
            memcmp(v->dims, dims, sizeof(int64_t) * (size_t)ndim) == 0 && memcmp(v->data, data, v->nbytes) == 0) {
            free(data);
            return prev;
        }
    }
    char *name = ir_unique_name(im->g, base);
    if (!name) { free(data); return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file); }
    int id = ir_add_const_owned(im->g, name, FC_DT_F32, ndim, dims, data, numel * sizeof(float), err);
    free(name);
    return id;
}

static int emit(tfjs_import *im, int op, const char *suffix, const int *ins, int n_in, int out_id, fc_error *err)
{
    char name[600];
    if (suffix) snprintf(name, sizeof name, "%s/%s", im->layer, suffix);
    else snprintf(name, sizeof name, "%s", im->layer);
    int n = ir_add_node(im->g, op, name, ins, n_in, &out_id, 1, err);
    if (n < 0) fc_wrap(err, "%s", im->file);
    return n;
}

static int is_linear(const char *act) { return !act || strcmp(act, "linear") == 0; }

/* Keras axis (negative allowed) of a rank-r tensor -> the IR axis. */
static int map_axis(tfjs_import *im, int64_t axis, int rank, int *out, fc_error *err)
{
    *out = 0;
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return lfail(im, err, "axis %lld out of range for a rank-%d tensor", (long long)axis, rank);
    static const int nhwc_to_nchw[4] = {0, 2, 3, 1};
    *out = rank == 4 ? nhwc_to_nchw[axis] : (int)axis;
    return 0;
}

/* Emits activation `act` on `in`, giving a value named `out_base`. linear -> out = in. */
static int emit_activation(tfjs_import *im, const char *act, kt in, const char *out_base, kt *out, fc_error *err)
{
    if (is_linear(act)) { *out = in; return 0; }
    int op;
    double a = 0, b = 0;
    int has_a = 0, has_b = 0, clip = 0;
    if (strcmp(act, "relu") == 0) op = FCN_OP_RELU;
    else if (strcmp(act, "relu6") == 0) { op = FCN_OP_CLIP; clip = 1; a = 0; b = 6; }
    else if (strcmp(act, "sigmoid") == 0) op = FCN_OP_SIGMOID;
    else if (strcmp(act, "tanh") == 0) op = FCN_OP_TANH;
    else if (strcmp(act, "softmax") == 0) op = FCN_OP_SOFTMAX;
    else if (strcmp(act, "elu") == 0) { op = FCN_OP_ELU; a = 1.0; has_a = 1; }
    else if (strcmp(act, "selu") == 0) {
        op = FCN_OP_SELU; a = 1.6732632423543772848170429916717; b = 1.0507009873554804934193349852946;
        has_a = has_b = 1;
    }
    else if (strcmp(act, "swish") == 0 || strcmp(act, "silu") == 0) op = FCN_OP_SWISH;
    /* tfjs and Keras 2: clip(0.2 x + 0.5, 0, 1) */
    else if (strcmp(act, "hard_sigmoid") == 0 || strcmp(act, "hardSigmoid") == 0) {
        op = FCN_OP_HARD_SIGMOID; a = 0.2; b = 0.5; has_a = has_b = 1;
    }
    else if (strcmp(act, "softplus") == 0) op = FCN_OP_SOFTPLUS;
    else if (strcmp(act, "softsign") == 0) op = FCN_OP_SOFTSIGN;
    else return lfail(im, err, "activation '%.40s' not supported (relu, relu6, sigmoid, tanh, softmax, linear, elu, "
                      "selu, swish, hard_sigmoid, softplus, softsign)", act);
    if (new_tensor(im, out_base, in.rank, in.shape, out, err)) return -1;
    int n = emit(im, op, act, &in.id, 1, out->id, err);
    if (n < 0) return -1;
    ir_node *node = &im->g->nodes[n];
    if (clip) { ir_set_float(node, FCN_ATTR_MIN, a); ir_set_float(node, FCN_ATTR_MAX, b); }
    if (has_a) ir_set_float(node, FCN_ATTR_ALPHA, a);
    if (has_b) ir_set_float(node, op == FCN_OP_SELU ? FCN_ATTR_GAMMA : FCN_ATTR_BETA, b);
    if (op == FCN_OP_SOFTMAX) {
        int axis = 0;
        if (map_axis(im, -1, in.rank, &axis, err)) return -1;
        ir_set_int(node, FCN_ATTR_AXIS, axis);
    }
    return 0;
}

/* Name of the value a layer's main op writes: the layer name, or "<layer>/preact" when a fused
 * activation follows (then the activation's output carries the layer name). */
static void main_name(tfjs_import *im, const char *act, char *buf, size_t cap)
{
    if (is_linear(act)) snprintf(buf, cap, "%s", im->layer);
    else snprintf(buf, cap, "%s/preact", im->layer);
}

/* ---- spatial layers ------------------------------------------------------------------------------ */

typedef struct window {
    int64_t k[2], s[2], d[2];
    int same;
    int64_t pads[4];              /* ONNX order: top, left, bottom, right */
    int64_t out[2];
} window;

static int check_channels_last(tfjs_import *im, const cJSON *cfg, fc_error *err)
{
    const char *fmt = jstr(cfg, "data_format");
    if (fmt && strcmp(fmt, "channels_last") != 0)
        return lfail(im, err, "data_format '%.40s' not supported (channels_last only)", fmt);
    return 0;
}

/* Reads kernel/stride/dilation/padding and computes TF's output size and pads. */
static int read_window(tfjs_import *im, const cJSON *cfg, const char *kkey, const kt *in, window *w, fc_error *err)
{
    static const int64_t one[2] = {1, 1};
    if (in->rank != 4) return lfail(im, err, "expects a rank-4 (N,H,W,C) input, got rank %d", in->rank);
    if (check_channels_last(im, cfg, err)) return -1;
    if (cfg_pair(im, cfg, kkey, NULL, 1, 1 << 16, w->k, err)) return -1;
    /* pools stride by their size unless told otherwise */
    if (cfg_pair(im, cfg, "strides", strcmp(kkey, "pool_size") == 0 ? w->k : one, 1, 1 << 16, w->s, err)) return -1;
    if (cfg_pair(im, cfg, "dilation_rate", one, 1, 1 << 16, w->d, err)) return -1;
    if ((w->s[0] > 1 || w->s[1] > 1) && (w->d[0] > 1 || w->d[1] > 1))
        return lfail(im, err, "strides > 1 together with dilation_rate > 1 are not supported by Keras either");
    const char *pad = jstr(cfg, "padding");
    if (!pad) pad = "valid";
    if (strcmp(pad, "same") == 0) w->same = 1;
    else if (strcmp(pad, "valid") == 0) w->same = 0;
    else return lfail(im, err, "padding '%.40s' not supported (same, valid)", pad);
    for (int a = 0; a < 2; a++) {
        int64_t size = in->shape[1 + a];
        int64_t span = (w->k[a] - 1) * w->d[a] + 1;
        if (w->same) {
            w->out[a] = (size + w->s[a] - 1) / w->s[a];
            int64_t total = (w->out[a] - 1) * w->s[a] + span - size;
            if (total < 0) total = 0;
            w->pads[a] = total / 2;               /* TF: the odd pixel goes at the end */
            w->pads[2 + a] = total - total / 2;
        } else {
            if (size < span) return lfail(im, err, "window %lld larger than the input (%lld) with padding 'valid'",
                                          (long long)span, (long long)size);
            w->out[a] = (size - span) / w->s[a] + 1;
            w->pads[a] = w->pads[2 + a] = 0;
        }
    }
    return 0;
}

/* Stride 1: the pads do not depend on the input size, so they are written explicitly. Strided
 * "same" depends on it: SAME_UPPER keeps TF's semantics when the graph runs at other sizes. */
static void set_window_attrs(ir_node *n, const window *w, int dilations)
{
    ir_set_ints(n, FCN_ATTR_KERNEL_SHAPE, w->k, 2);
    ir_set_ints(n, FCN_ATTR_STRIDES, w->s, 2);
    if (dilations) ir_set_ints(n, FCN_ATTR_DILATIONS, w->d, 2);
    if (w->same && (w->s[0] > 1 || w->s[1] > 1)) ir_set_int(n, FCN_ATTR_AUTO_PAD, 1);
    else ir_set_ints(n, FCN_ATTR_PADS, w->pads, 4);
}

/* Emits a Conv with weight (O, I/g, kh, kw) and optional bias; out named base. */
static int emit_conv(tfjs_import *im, const kt *in, const window *w, int64_t out_ch, int64_t group, int wid,
                     int bid, const char *base, const char *suffix, kt *out, fc_error *err)
{
    int64_t shape[4] = {in->shape[0], w->out[0], w->out[1], out_ch};
    if (new_tensor(im, base, 4, shape, out, err)) return -1;
    int ins[3] = {in->id, wid, bid};
    int n = emit(im, FCN_OP_CONV, suffix, ins, bid >= 0 ? 3 : 2, out->id, err);
    if (n < 0) return -1;
    ir_node *node = &im->g->nodes[n];
    set_window_attrs(node, w, 1);
    ir_set_int(node, FCN_ATTR_GROUP, group);
    return 0;
}

static int bias_const(tfjs_import *im, int64_t n, int use_bias, fc_error *err)
{
    if (!use_bias) return -2;
    int b = find_weight(im, "bias", 1, &n, 1, err);
    if (b < 0) return -1;
    float *data = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!data) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    memcpy(data, wdata(im, b), sizeof(float) * (size_t)n);
    return add_const(im, "bias", 1, &n, data, err);
}

static int map_conv2d(tfjs_import *im, const cJSON *cfg, const kt *in, kt *out, fc_error *err)
{
    window w;
    int64_t filters, groups;
    int use_bias;
    if (read_window(im, cfg, "kernel_size", in, &w, err) ||
        cfg_int(im, cfg, "filters", -1, 1, 1 << 24, &filters, err) ||
        cfg_int(im, cfg, "groups", 1, 1, 1 << 24, &groups, err) || cfg_bool(im, cfg, "use_bias", 1, &use_bias, err))
        return -1;
    int64_t cin = in->shape[3];
    if (cin % groups || filters % groups)
        return lfail(im, err, "groups %lld does not divide %lld input channels and %lld filters", (long long)groups,
                     (long long)cin, (long long)filters);
    int64_t icg = cin / groups;
    int64_t kdims[4] = {w.k[0], w.k[1], icg, filters};
    int kw = find_weight(im, "kernel", 4, kdims, 1, err);
    if (kw < 0) return -1;
    /* HWIO -> OIHW */
    int64_t odims[4] = {filters, icg, w.k[0], w.k[1]};
    size_t numel = (size_t)(filters * icg * w.k[0] * w.k[1]);
    float *k = malloc(sizeof(float) * (numel ? numel : 1));
    if (!k) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    const float *src = wdata(im, kw);
    for (int64_t y = 0; y < w.k[0]; y++)
        for (int64_t x = 0; x < w.k[1]; x++)
            for (int64_t i = 0; i < icg; i++)
                for (int64_t o = 0; o < filters; o++)
                    k[((o * icg + i) * w.k[0] + y) * w.k[1] + x] = src[((y * w.k[1] + x) * icg + i) * filters + o];
    int wid = add_const(im, "kernel", 4, odims, k, err);
    if (wid < 0) return -1;
    int bid = bias_const(im, filters, use_bias, err);
    if (bid == -1) return -1;
    const char *act = jstr(cfg, "activation");
    char base[600];
    main_name(im, act, base, sizeof base);
    kt pre;
    if (emit_conv(im, in, &w, filters, groups, wid, bid < 0 ? -1 : bid, base, NULL, &pre, err)) return -1;
    return emit_activation(im, act, pre, im->layer, out, err);
}

/* Depthwise (kh,kw,C,M) -> grouped conv weight (C·M, 1, kh, kw): output channel c·M+m, as TF orders it. */
static int depthwise_part(tfjs_import *im, const cJSON *cfg, const kt *in, window *w, int use_bias_here,
                          const char *base, const char *suffix, kt *out, fc_error *err)
{
    int64_t mult;
    if (cfg_int(im, cfg, "depth_multiplier", 1, 1, 1 << 16, &mult, err)) return -1;
    int64_t c = in->shape[3];
    int64_t kdims[4] = {w->k[0], w->k[1], c, mult};
    int kw = find_weight(im, "depthwise_kernel", 4, kdims, 1, err);
    if (kw < 0) return -1;
    int64_t odims[4] = {c * mult, 1, w->k[0], w->k[1]};
    size_t numel = (size_t)(c * mult * w->k[0] * w->k[1]);
    float *k = malloc(sizeof(float) * (numel ? numel : 1));
    if (!k) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    const float *src = wdata(im, kw);
    for (int64_t y = 0; y < w->k[0]; y++)
        for (int64_t x = 0; x < w->k[1]; x++)
            for (int64_t ci = 0; ci < c; ci++)
                for (int64_t m = 0; m < mult; m++)
                    k[((ci * mult + m) * w->k[0] + y) * w->k[1] + x] = src[((y * w->k[1] + x) * c + ci) * mult + m];
    int wid = add_const(im, "depthwise_kernel", 4, odims, k, err);
    if (wid < 0) return -1;
    int bid = use_bias_here ? bias_const(im, c * mult, 1, err) : -2;
    if (bid == -1) return -1;
    return emit_conv(im, in, w, c * mult, c, wid, bid < 0 ? -1 : bid, base, suffix, out, err);
}

static int map_depthwise(tfjs_import *im, const cJSON *cfg, const kt *in, kt *out, fc_error *err)
{
    window w;
    int use_bias;
    if (read_window(im, cfg, "kernel_size", in, &w, err) || cfg_bool(im, cfg, "use_bias", 1, &use_bias, err))
        return -1;
    const char *act = jstr(cfg, "activation");
    char base[600];
    main_name(im, act, base, sizeof base);
    kt pre;
    if (depthwise_part(im, cfg, in, &w, use_bias, base, NULL, &pre, err)) return -1;
    return emit_activation(im, act, pre, im->layer, out, err);
}

static int map_separable(tfjs_import *im, const cJSON *cfg, const kt *in, kt *out, fc_error *err)
{
    window w;
    int use_bias;
    int64_t filters;
    if (read_window(im, cfg, "kernel_size", in, &w, err) || cfg_bool(im, cfg, "use_bias", 1, &use_bias, err) ||
        cfg_int(im, cfg, "filters", -1, 1, 1 << 24, &filters, err))
        return -1;
    char base[600];
    snprintf(base, sizeof base, "%s/depthwise", im->layer);
    kt dw;
    if (depthwise_part(im, cfg, in, &w, 0, base, "depthwise", &dw, err)) return -1;
    int64_t cm = dw.shape[3];
    int64_t pdims[4] = {1, 1, cm, filters};
    int pw = find_weight(im, "pointwise_kernel", 4, pdims, 1, err);
    if (pw < 0) return -1;
    int64_t odims[4] = {filters, cm, 1, 1};
    float *k = malloc(sizeof(float) * (size_t)(filters * cm));
    if (!k) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    const float *src = wdata(im, pw);
    for (int64_t i = 0; i < cm; i++)
        for (int64_t o = 0; o < filters; o++) k[o * cm + i] = src[i * filters + o];
    int wid = add_const(im, "pointwise_kernel", 4, odims, k, err);
    if (wid < 0) return -1;
    int bid = bias_const(im, filters, use_bias, err);
    if (bid == -1) return -1;
    window pw1 = {.k = {1, 1}, .s = {1, 1}, .d = {1, 1}, .out = {dw.shape[1], dw.shape[2]}};
    const char *act = jstr(cfg, "activation");
    main_name(im, act, base, sizeof base);
    kt pre;
    if (emit_conv(im, &dw, &pw1, filters, 1, wid, bid < 0 ? -1 : bid, base, NULL, &pre, err)) return -1;
    return emit_activation(im, act, pre, im->layer, out, err);
}

static int map_pool(tfjs_import *im, const cJSON *cfg, const kt *in, int op, kt *out, fc_error *err)
{
    window w;
    if (read_window(im, cfg, "pool_size", in, &w, err)) return -1;
    if (w.d[0] != 1 || w.d[1] != 1) return lfail(im, err, "pooling with dilation is not supported");
    int64_t shape[4] = {in->shape[0], w.out[0], w.out[1], in->shape[3]};
    if (new_tensor(im, im->layer, 4, shape, out, err)) return -1;
    int n = emit(im, op, NULL, &in->id, 1, out->id, err);
    if (n < 0) return -1;
    set_window_attrs(&im->g->nodes[n], &w, 0);
    /* TF averages over the valid pixels only */
    if (op == FCN_OP_AVGPOOL) ir_set_int(&im->g->nodes[n], FCN_ATTR_COUNT_INCLUDE_PAD, 0);
    return 0;
}

static int map_global_pool(tfjs_import *im, const cJSON *cfg, const kt *in, int op, kt *out, fc_error *err)
{
    if (in->rank != 4) return lfail(im, err, "expects a rank-4 (N,H,W,C) input, got rank %d", in->rank);
    if (check_channels_last(im, cfg, err)) return -1;
    int keep;
    if (cfg_bool(im, cfg, "keepdims", 0, &keep, err)) return -1;
    int64_t shape4[4] = {in->shape[0], 1, 1, in->shape[3]};
    char base[600];
    snprintf(base, sizeof base, "%s/pooled", im->layer);
    kt pooled;
    if (new_tensor(im, keep ? im->layer : base, 4, shape4, &pooled, err)) return -1;
    if (emit(im, op, NULL, &in->id, 1, pooled.id, err) < 0) return -1;
    if (keep) { *out = pooled; return 0; }
    /* N×C×1×1 -> N×C, the Keras result (GAP -> Flatten is what the gap-head pass looks for) */
    int64_t shape2[2] = {in->shape[0], in->shape[3]};
    if (new_tensor(im, im->layer, 2, shape2, out, err)) return -1;
    int n = emit(im, FCN_OP_FLATTEN, "flatten", &pooled.id, 1, out->id, err);
    if (n < 0) return -1;
    ir_set_int(&im->g->nodes[n], FCN_ATTR_AXIS, 1);
    return 0;
}

/* A rank-4 tensor's data in Keras' own NHWC order, for ops whose result depends on memory
 * order (Flatten, Reshape). Returns the value id of the transposed copy. */
static int to_nhwc(tfjs_import *im, const kt *in, int *id_out, fc_error *err)
{
    static const int64_t perm[4] = {0, 2, 3, 1};
    char base[600];
    snprintf(base, sizeof base, "%s/nhwc", im->layer);
    char *name = ir_unique_name(im->g, base);
    if (!name) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    int id = ir_add_value(im->g, name, FC_DT_F32, 4, in->shape, err);
    free(name);
    if (id < 0) return -1;
    int n = emit(im, FCN_OP_TRANSPOSE, "to_nhwc", &in->id, 1, id, err);
    if (n < 0) return -1;
    ir_set_ints(&im->g->nodes[n], FCN_ATTR_PERM, perm, 4);
    *id_out = id;
    return 0;
}

static int map_flatten(tfjs_import *im, const cJSON *cfg, const kt *in, kt *out, fc_error *err)
{
    if (check_channels_last(im, cfg, err)) return -1;
    if (in->rank <= 2) { *out = *in; return 0; }
    int src = in->id;
    if (in->rank == 4 && to_nhwc(im, in, &src, err)) return -1;   /* Keras flattens H,W,C */
    int64_t shape[2] = {in->shape[0], 1};
    for (int i = 1; i < in->rank; i++) shape[1] *= in->shape[i];
    if (new_tensor(im, im->layer, 2, shape, out, err)) return -1;
    int n = emit(im, FCN_OP_FLATTEN, NULL, &src, 1, out->id, err);
    if (n < 0) return -1;
    ir_set_int(&im->g->nodes[n], FCN_ATTR_AXIS, 1);
    return 0;
}

static int map_reshape(tfjs_import *im, const cJSON *cfg, const kt *in, kt *out, fc_error *err)
{
    const cJSON *ts = jget(cfg, "target_shape");
    int r = cJSON_GetArraySize(ts);
    if (!cJSON_IsArray(ts) || r < 1 || r + 1 > FC_MAX_DIMS)
        return lfail(im, err, "'target_shape' must be a list of 1 to %d integers", FC_MAX_DIMS - 1);
    int64_t shape[FC_MAX_DIMS];
    shape[0] = in->shape[0];
    int64_t known = 1, in_numel = 1;
    int free_at = -1, k = 1;
    for (int i = 1; i < in->rank; i++) in_numel *= in->shape[i];
    const cJSON *d;
    cJSON_ArrayForEach(d, ts) {
        if (!is_int_number(d, -1, INT32_MAX, &shape[k]) || shape[k] == 0)
            return lfail(im, err, "'target_shape' entries must be positive integers or one -1");
        if (shape[k] == -1) {
            if (free_at >= 0) return lfail(im, err, "'target_shape' has more than one -1");
            free_at = k;
        } else {
            known *= shape[k];   /* <= in_numel * 2^31: no overflow */
            if (known > in_numel)
                return lfail(im, err, "cannot reshape %lld elements to the target shape", (long long)in_numel);
        }
        k++;
    }
    if (free_at >= 0 && known > 0 && in_numel % known == 0) shape[free_at] = in_numel / known;
    else if (free_at >= 0) known = -1;
    int64_t numel = 1;
    for (int i = 1; i <= r && known >= 0; i++) numel *= shape[i];
    if (known < 0 || numel != in_numel)
        return lfail(im, err, "cannot reshape %lld elements to the target shape", (long long)in_numel);
    int src = in->id;
    if (in->rank == 4 && to_nhwc(im, in, &src, err)) return -1;
    int64_t ir_shape[FC_MAX_DIMS];
    ir_shape[0] = 0;                                          /* ONNX: copy the batch dimension */
    for (int i = 1; i <= r; i++) ir_shape[i] = shape[i];
    char base[600];
    snprintf(base, sizeof base, "%s/nhwc_out", im->layer);
    kt flat;
    if (r + 1 == 4) {
        /* the reshaped data is NHWC; its NCHW value comes from a transpose after */
        char *name = ir_unique_name(im->g, base);
        if (!name) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
        flat.id = ir_add_value(im->g, name, FC_DT_F32, 4, shape, err);
        free(name);
        if (flat.id < 0) return -1;
    } else if (new_tensor(im, im->layer, r + 1, shape, &flat, err)) {
        return -1;
    }
    int n = emit(im, FCN_OP_RESHAPE, NULL, &src, 1, flat.id, err);
    if (n < 0) return -1;
    ir_set_ints(&im->g->nodes[n], FCN_ATTR_SHAPE, ir_shape, r + 1);
    if (r + 1 != 4) { *out = flat; return 0; }
    static const int64_t to_nchw[4] = {0, 3, 1, 2};
    if (new_tensor(im, im->layer, 4, shape, out, err)) return -1;
    n = emit(im, FCN_OP_TRANSPOSE, "to_nchw", &flat.id, 1, out->id, err);
    if (n < 0) return -1;
    ir_set_ints(&im->g->nodes[n], FCN_ATTR_PERM, to_nchw, 4);
    return 0;
}

/* Dense acts on the last axis: Gemm for (N,C); a 1×1 conv for (N,H,W,C) (NCHW in the IR);
 * MatMul + Add for rank 3. */
static int map_dense(tfjs_import *im, const cJSON *cfg, const kt *in, kt *out, fc_error *err)
{
    int64_t units;
    int use_bias;
    if (cfg_int(im, cfg, "units", -1, 1, 1 << 28, &units, err) || cfg_bool(im, cfg, "use_bias", 1, &use_bias, err))
        return -1;
    if (in->rank < 2 || in->rank > 4) return lfail(im, err, "rank-%d input not supported", in->rank);
    int64_t cin = in->shape[in->rank - 1];
    int64_t kdims[2] = {cin, units};
    int kw = find_weight(im, "kernel", 2, kdims, 1, err);
    if (kw < 0) return -1;
    const float *src = wdata(im, kw);
    float *k = malloc(sizeof(float) * ((size_t)(cin * units) + 1));
    if (!k) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    if (in->rank == 3) memcpy(k, src, sizeof(float) * (size_t)(cin * units));
    else
        for (int64_t i = 0; i < cin; i++)
            for (int64_t o = 0; o < units; o++) k[o * cin + i] = src[i * units + o];   /* (in,out) -> (out,in) */
    int wid;
    if (in->rank == 2) { int64_t d[2] = {units, cin}; wid = add_const(im, "kernel", 2, d, k, err); }
    else if (in->rank == 4) { int64_t d[4] = {units, cin, 1, 1}; wid = add_const(im, "kernel", 4, d, k, err); }
    else wid = add_const(im, "kernel", 2, kdims, k, err);
    if (wid < 0) return -1;
    int bid = bias_const(im, units, use_bias, err);
    if (bid == -1) return -1;
    const char *act = jstr(cfg, "activation");
    char base[600];
    main_name(im, act, base, sizeof base);
    int64_t shape[FC_MAX_DIMS];
    for (int i = 0; i < in->rank; i++) shape[i] = in->shape[i];
    shape[in->rank - 1] = units;
    kt pre;
    if (in->rank == 2) {
        if (new_tensor(im, base, 2, shape, &pre, err)) return -1;
        int ins[3] = {in->id, wid, bid};
        int n = emit(im, FCN_OP_GEMM, NULL, ins, bid >= 0 ? 3 : 2, pre.id, err);
        if (n < 0) return -1;
        ir_set_int(&im->g->nodes[n], FCN_ATTR_TRANS_B, 1);
    } else if (in->rank == 4) {
        window w1 = {.k = {1, 1}, .s = {1, 1}, .d = {1, 1}, .out = {in->shape[1], in->shape[2]}};
        if (emit_conv(im, in, &w1, units, 1, wid, bid >= 0 ? bid : -1, base, NULL, &pre, err)) return -1;
    } else {
        char mm[600];
        snprintf(mm, sizeof mm, "%s/matmul", im->layer);
        kt prod;
        if (new_tensor(im, bid >= 0 ? mm : base, 3, shape, &prod, err)) return -1;
        int ins[2] = {in->id, wid};
        if (emit(im, FCN_OP_MATMUL, NULL, ins, 2, prod.id, err) < 0) return -1;
        pre = prod;
        if (bid >= 0) {
            if (new_tensor(im, base, 3, shape, &pre, err)) return -1;
            int ai[2] = {prod.id, bid};
            if (emit(im, FCN_OP_ADD, "bias_add", ai, 2, pre.id, err) < 0) return -1;
        }
    }
    return emit_activation(im, act, pre, im->layer, out, err);
}

static int map_batchnorm(tfjs_import *im, const cJSON *cfg, const kt *in, kt *out, fc_error *err)
{
    int64_t axis;
    int center, scale;
    double eps;
    if (cfg_int(im, cfg, "axis", -1, -8, 8, &axis, err) || cfg_bool(im, cfg, "center", 1, &center, err) ||
        cfg_bool(im, cfg, "scale", 1, &scale, err) || cfg_double(im, cfg, "epsilon", 1e-3, &eps, err))
        return -1;
    if (axis < 0) axis += in->rank;
    if ((in->rank != 4 && in->rank != 2) || axis != in->rank - 1)
        return lfail(im, err, "only the channel axis of a rank-2 or rank-4 input is supported (axis %lld, rank %d)",
                     (long long)axis, in->rank);
    int64_t c = in->shape[in->rank - 1];
    static const char *names[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
    int present[4] = {scale, center, 1, 1};
    int ids[5] = {in->id, -1, -1, -1, -1};
    for (int i = 0; i < 4; i++) {
        float *data = malloc(sizeof(float) * (size_t)(c ? c : 1));
        if (!data) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
        if (present[i]) {
            int wi = find_weight(im, names[i], 1, &c, 1, err);
            if (wi < 0) { free(data); return -1; }
            memcpy(data, wdata(im, wi), sizeof(float) * (size_t)c);
        } else {
            for (int64_t j = 0; j < c; j++) data[j] = i == 0 ? 1.0f : 0.0f;
        }
        if ((ids[1 + i] = add_const(im, names[i], 1, &c, data, err)) < 0) return -1;
    }
    if (new_tensor(im, im->layer, in->rank, in->shape, out, err)) return -1;
    int n = emit(im, FCN_OP_BATCHNORM, NULL, ids, 5, out->id, err);
    if (n < 0) return -1;
    ir_set_float(&im->g->nodes[n], FCN_ATTR_EPSILON, eps);
    return 0;
}

static int map_relu_layer(tfjs_import *im, const cJSON *cfg, const kt *in, kt *out, fc_error *err)
{
    double maxv, slope, threshold;
    const cJSON *mv = jget(cfg, "max_value");
    int has_max = mv && !cJSON_IsNull(mv);
    if (cfg_double(im, cfg, "max_value", 0, &maxv, err) || cfg_double(im, cfg, "negative_slope", 0, &slope, err) ||
        cfg_double(im, cfg, "threshold", 0, &threshold, err))
        return -1;
    if (threshold != 0) return lfail(im, err, "threshold %g not supported", threshold);
    if (has_max && maxv < 0) return lfail(im, err, "negative max_value %g", maxv);
    kt cur = *in;
    char base[600];
    snprintf(base, sizeof base, "%s/leaky", im->layer);
    if (slope != 0 || !has_max) {
        if (new_tensor(im, slope != 0 && has_max ? base : im->layer, in->rank, in->shape, &cur, err)) return -1;
        int n = emit(im, slope != 0 ? FCN_OP_LEAKY_RELU : FCN_OP_RELU, has_max ? "leaky" : NULL, &in->id, 1, cur.id, err);
        if (n < 0) return -1;
        if (slope != 0) ir_set_float(&im->g->nodes[n], FCN_ATTR_ALPHA, slope);
        if (!has_max) { *out = cur; return 0; }
    }
    if (new_tensor(im, im->layer, in->rank, in->shape, out, err)) return -1;
    int n = emit(im, FCN_OP_CLIP, NULL, &cur.id, 1, out->id, err);
    if (n < 0) return -1;
    if (slope == 0) ir_set_float(&im->g->nodes[n], FCN_ATTR_MIN, 0.0);
    ir_set_float(&im->g->nodes[n], FCN_ATTR_MAX, maxv);
    return 0;
}

static int map_simple_act(tfjs_import *im, int op, const char *alpha_key, double alpha_def, const cJSON *cfg,
                          const kt *in, kt *out, fc_error *err)
{
    double alpha = alpha_def;
    if (alpha_key && cfg_double(im, cfg, alpha_key, alpha_def, &alpha, err)) return -1;
    if (new_tensor(im, im->layer, in->rank, in->shape, out, err)) return -1;
    int n = emit(im, op, NULL, &in->id, 1, out->id, err);
    if (n < 0) return -1;
    if (alpha_key) ir_set_float(&im->g->nodes[n], FCN_ATTR_ALPHA, alpha);
    return 0;
}

static int map_softmax(tfjs_import *im, const cJSON *cfg, const kt *in, kt *out, fc_error *err)
{
    int64_t axis;
    int ax = 0;
    if (cfg_int(im, cfg, "axis", -1, -8, 8, &axis, err) || map_axis(im, axis, in->rank, &ax, err)) return -1;
    if (new_tensor(im, im->layer, in->rank, in->shape, out, err)) return -1;
    int n = emit(im, FCN_OP_SOFTMAX, NULL, &in->id, 1, out->id, err);
    if (n < 0) return -1;
    ir_set_int(&im->g->nodes[n], FCN_ATTR_AXIS, ax);
    return 0;
}

/* ZeroPadding2D "padding" / Cropping2D "cropping": int, (rows, cols) or ((top, bottom), (left, right)). */
static int read_edges(tfjs_import *im, const cJSON *cfg, const char *key, const kt *in, int64_t tb[2], int64_t lr[2],
                      fc_error *err)
{
    if (in->rank != 4) return lfail(im, err, "expects a rank-4 (N,H,W,C) input, got rank %d", in->rank);
    if (check_channels_last(im, cfg, err)) return -1;
    const cJSON *p = jget(cfg, key);
    int64_t x;
    tb[0] = tb[1] = lr[0] = lr[1] = 0;
    if (!p || cJSON_IsNull(p)) { tb[0] = tb[1] = lr[0] = lr[1] = 1; return 0; }
    if (is_int_number(p, 0, 1 << 20, &x)) { tb[0] = tb[1] = lr[0] = lr[1] = x; return 0; }
    if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 2) {
        const cJSON *a = p->child, *b = p->child->next;
        if (is_int_number(a, 0, 1 << 20, &tb[0]) && is_int_number(b, 0, 1 << 20, &lr[0])) {
            tb[1] = tb[0];
            lr[1] = lr[0];
            return 0;
        }
        if (cJSON_GetArraySize(a) == 2 && cJSON_GetArraySize(b) == 2 && cJSON_IsArray(a) && cJSON_IsArray(b) &&
            is_int_number(a->child, 0, 1 << 20, &tb[0]) && is_int_number(a->child->next, 0, 1 << 20, &tb[1]) &&
            is_int_number(b->child, 0, 1 << 20, &lr[0]) && is_int_number(b->child->next, 0, 1 << 20, &lr[1]))
            return 0;
    }
    return lfail(im, err, "'%s' must be an integer, two integers or ((top, bottom), (left, right))", key);
}

static int map_zero_padding(tfjs_import *im, const cJSON *cfg, const kt *in, kt *out, fc_error *err)
{
    int64_t tb[2], lr[2];
    if (read_edges(im, cfg, "padding", in, tb, lr, err)) return -1;
    int64_t shape[4] = {in->shape[0], in->shape[1] + tb[0] + tb[1], in->shape[2] + lr[0] + lr[1], in->shape[3]};
    if (new_tensor(im, im->layer, 4, shape, out, err)) return -1;
    int n = emit(im, FCN_OP_PAD, NULL, &in->id, 1, out->id, err);
    if (n < 0) return -1;
    int64_t pads[8] = {0, 0, tb[0], lr[0], 0, 0, tb[1], lr[1]};
    ir_set_ints(&im->g->nodes[n], FCN_ATTR_PADS, pads, 8);
    ir_set_int(&im->g->nodes[n], FCN_ATTR_MODE, 0);
    ir_set_float(&im->g->nodes[n], FCN_ATTR_PAD_VALUE, 0.0);
    return 0;
}

static int map_cropping(tfjs_import *im, const cJSON *cfg, const kt *in, kt *out, fc_error *err)
{
    int64_t tb[2], lr[2];
    if (read_edges(im, cfg, "cropping", in, tb, lr, err)) return -1;
    if (tb[0] + tb[1] >= in->shape[1] || lr[0] + lr[1] >= in->shape[2])
        return lfail(im, err, "cropping removes the whole %lldx%lld input", (long long)in->shape[1], (long long)in->shape[2]);
    int64_t shape[4] = {in->shape[0], in->shape[1] - tb[0] - tb[1], in->shape[2] - lr[0] - lr[1], in->shape[3]};
    if (new_tensor(im, im->layer, 4, shape, out, err)) return -1;
    int n = emit(im, FCN_OP_SLICE, NULL, &in->id, 1, out->id, err);
    if (n < 0) return -1;
    int64_t starts[2] = {tb[0], lr[0]}, ends[2] = {in->shape[1] - tb[1], in->shape[2] - lr[1]};
    int64_t axes[2] = {2, 3}, steps[2] = {1, 1};   /* H, W of the NCHW value */
    ir_set_ints(&im->g->nodes[n], FCN_ATTR_STARTS, starts, 2);
    ir_set_ints(&im->g->nodes[n], FCN_ATTR_ENDS, ends, 2);
    ir_set_ints(&im->g->nodes[n], FCN_ATTR_AXES, axes, 2);
    ir_set_ints(&im->g->nodes[n], FCN_ATTR_STEPS, steps, 2);
    return 0;
}

/* Adds `x <op> c` for a scalar constant c, output named base. */
static int emit_scalar_op(tfjs_import *im, int op, const char *suffix, const kt *x, double c, const char *base, kt *out,
                          fc_error *err)
{
    static const int64_t one = 1;
    float *data = malloc(sizeof(float));
    if (!data) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    data[0] = (float)c;
    int cid = add_const(im, suffix, 1, &one, data, err);
    if (cid < 0 || new_tensor(im, base, x->rank, x->shape, out, err)) return -1;
    int ins[2] = {x->id, cid};
    return emit(im, op, suffix, ins, 2, out->id, err) < 0 ? -1 : 0;
}

/* y = x * scale + offset (Keras preprocessing layer kept in the graph). */
static int map_rescaling(tfjs_import *im, const cJSON *cfg, const kt *in, kt *out, fc_error *err)
{
    double scale, offset;
    if (cfg_double(im, cfg, "scale", 1.0, &scale, err) || cfg_double(im, cfg, "offset", 0.0, &offset, err)) return -1;
    if (offset == 0) return emit_scalar_op(im, FCN_OP_MUL, "scale", in, scale, im->layer, out, err);
    kt scaled = *in;
    char base[600];
    snprintf(base, sizeof base, "%s/scaled", im->layer);
    if (scale != 1.0 && emit_scalar_op(im, FCN_OP_MUL, "scale", in, scale, base, &scaled, err)) return -1;
    return emit_scalar_op(im, FCN_OP_ADD, "offset", &scaled, offset, im->layer, out, err);
}

/* PReLU: slope "alpha" of shape input[1:] with the shared axes set to 1; for (N,H,W,C) data the
 * slope is permuted to (C,H,W) so it broadcasts against the NCHW value. */
static int map_prelu(tfjs_import *im, const cJSON *cfg, const kt *in, kt *out, fc_error *err)
{
    (void)cfg;
    int r = in->rank - 1;
    const tfjs_weight *w = NULL;
    char want[600];
    snprintf(want, sizeof want, "%s/alpha", im->layer);
    int wi = strmap_get(&im->wmap, want);
    if (wi >= 0) w = &im->w[wi];
    if (!w || w->dtype != FC_DT_F32 || w->ndim != r || r < 1)
        return lfail(im, err, "weight '%s' missing or not float32 of rank %d", want, r);
    for (int i = 0; i < r; i++)
        if (w->dims[i] != 1 && w->dims[i] != in->shape[1 + i])
            return lfail(im, err, "weight '%s' dim %d is %lld, expected 1 or %lld", want, i, (long long)w->dims[i],
                         (long long)in->shape[1 + i]);
    int64_t dims[FC_MAX_DIMS];
    size_t numel;
    fc_numel(w->ndim, w->dims, &numel);
    float *slope = malloc(sizeof(float) * (numel ? numel : 1));
    if (!slope) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    const float *src = w->data;
    if (r == 3) {
        int64_t h = w->dims[0], wd = w->dims[1], c = w->dims[2];
        dims[0] = c; dims[1] = h; dims[2] = wd;
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < wd; x++)
                for (int64_t ch = 0; ch < c; ch++) slope[(ch * h + y) * wd + x] = src[(y * wd + x) * c + ch];
    } else {
        for (int i = 0; i < r; i++) dims[i] = w->dims[i];
        memcpy(slope, src, sizeof(float) * numel);
    }
    int sid = add_const(im, "alpha", r, dims, slope, err);
    if (sid < 0) return -1;
    if (new_tensor(im, im->layer, in->rank, in->shape, out, err)) return -1;
    int ins[2] = {in->id, sid};
    return emit(im, FCN_OP_PRELU, NULL, ins, 2, out->id, err) < 0 ? -1 : 0;
}

static int same_shape(const kt *a, const kt *b)
{
    if (a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++) if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

/* Add / Subtract / Multiply / Maximum / Minimum: equal shapes (no broadcasting across layouts). */
static int map_merge(tfjs_import *im, int op, const kt *ins, int n_in, kt *out, fc_error *err)
{
    if (n_in < 2 || (op == FCN_OP_SUB && n_in != 2)) return lfail(im, err, "%d inputs", n_in);
    for (int i = 1; i < n_in; i++)
        if (!same_shape(&ins[0], &ins[i])) {
            char a[128], b[128];
            fc_format_dims(ins[0].rank, ins[0].shape, a, sizeof a);
            fc_format_dims(ins[i].rank, ins[i].shape, b, sizeof b);
            return lfail(im, err, "inputs have different shapes %s and %s (broadcasting not supported)", a, b);
        }
    kt acc = ins[0];
    for (int i = 1; i < n_in; i++) {
        char base[600];
        if (i + 1 == n_in) snprintf(base, sizeof base, "%s", im->layer);
        else snprintf(base, sizeof base, "%s/partial%d", im->layer, i);
        kt next;
        if (new_tensor(im, base, acc.rank, acc.shape, &next, err)) return -1;
        int pair[2] = {acc.id, ins[i].id};
        if (emit(im, op, i + 1 == n_in ? NULL : "partial", pair, 2, next.id, err) < 0) return -1;
        acc = next;
    }
    *out = acc;
    return 0;
}

/* Average: one variadic Mean node (ONNX Mean), equal shapes. */
static int map_average(tfjs_import *im, const kt *ins, int n_in, kt *out, fc_error *err)
{
    if (n_in < 2) return lfail(im, err, "%d inputs", n_in);
    int ids[64];
    for (int i = 0; i < n_in; i++) {
        if (!same_shape(&ins[0], &ins[i])) return lfail(im, err, "inputs have different shapes (broadcasting not supported)");
        ids[i] = ins[i].id;
    }
    if (new_tensor(im, im->layer, ins[0].rank, ins[0].shape, out, err)) return -1;
    return emit(im, FCN_OP_MEAN, NULL, ids, n_in, out->id, err) < 0 ? -1 : 0;
}

static int map_concat(tfjs_import *im, const cJSON *cfg, const kt *ins, int n_in, kt *out, fc_error *err)
{
    int64_t axis;
    if (n_in < 1) return lfail(im, err, "no inputs");
    if (cfg_int(im, cfg, "axis", -1, -8, 8, &axis, err)) return -1;
    int rank = ins[0].rank, ax = 0;
    if (map_axis(im, axis, rank, &ax, err)) return -1;
    int64_t k = axis < 0 ? axis + rank : axis;
    if (k == 0) return lfail(im, err, "concatenation along the batch axis is not supported");
    int64_t shape[FC_MAX_DIMS];
    for (int i = 0; i < rank; i++) shape[i] = ins[0].shape[i];
    int ids[FCN_MAX_NODE_IO];
    for (int j = 0; j < n_in; j++) {
        if (ins[j].rank != rank) return lfail(im, err, "inputs of different ranks");
        for (int i = 0; i < rank; i++)
            if (i != k && ins[j].shape[i] != shape[i]) return lfail(im, err, "input %d: shapes differ off the concat axis", j);
        if (j) shape[k] += ins[j].shape[k];
        ids[j] = ins[j].id;
    }
    if (new_tensor(im, im->layer, rank, shape, out, err)) return -1;
    int n = emit(im, FCN_OP_CONCAT, NULL, ids, n_in, out->id, err);
    if (n < 0) return -1;
    ir_set_int(&im->g->nodes[n], FCN_ATTR_AXIS, ax);
    return 0;
}

/* ---- layer dispatch ------------------------------------------------------------------------------- */

static int map_layer(tfjs_import *im, const char *cls, const cJSON *cfg, const kt *ins, int n_in, kt *out,
                     fc_error *err)
{
    if (n_in != 1 && strcmp(cls, "Add") && strcmp(cls, "Concatenate") && strcmp(cls, "Subtract") && strcmp(cls, "Average") &&
        strcmp(cls, "Multiply") && strcmp(cls, "Maximum") && strcmp(cls, "Minimum"))
        return lfail(im, err, "takes one input, got %d", n_in);
    const kt *in = &ins[0];
    if (!strcmp(cls, "Conv2D") || !strcmp(cls, "Convolution2D")) return map_conv2d(im, cfg, in, out, err);
    if (!strcmp(cls, "DepthwiseConv2D")) return map_depthwise(im, cfg, in, out, err);
    if (!strcmp(cls, "SeparableConv2D") || !strcmp(cls, "SeparableConvolution2D")) return map_separable(im, cfg, in, out, err);
    if (!strcmp(cls, "Dense")) return map_dense(im, cfg, in, out, err);
    if (!strcmp(cls, "BatchNormalization")) return map_batchnorm(im, cfg, in, out, err);
    if (!strcmp(cls, "Activation")) {
        const char *act = jstr(cfg, "activation");
        if (!act) return lfail(im, err, "'activation' missing");
        if (is_linear(act)) { *out = *in; return 0; }
        return emit_activation(im, act, *in, im->layer, out, err);
    }
    if (!strcmp(cls, "ReLU")) return map_relu_layer(im, cfg, in, out, err);
    if (!strcmp(cls, "LeakyReLU")) {
        /* Keras 2 / tfjs: alpha (0.3); Keras 3: negative_slope */
        const char *key = jget(cfg, "negative_slope") ? "negative_slope" : "alpha";
        return map_simple_act(im, FCN_OP_LEAKY_RELU, key, 0.3, cfg, in, out, err);
    }
    if (!strcmp(cls, "ELU")) return map_simple_act(im, FCN_OP_ELU, "alpha", 1.0, cfg, in, out, err);
    if (!strcmp(cls, "Softmax")) return map_softmax(im, cfg, in, out, err);
    if (!strcmp(cls, "MaxPooling2D") || !strcmp(cls, "MaxPool2D")) return map_pool(im, cfg, in, FCN_OP_MAXPOOL, out, err);
    if (!strcmp(cls, "AveragePooling2D") || !strcmp(cls, "AvgPool2D"))
        return map_pool(im, cfg, in, FCN_OP_AVGPOOL, out, err);
    if (!strcmp(cls, "GlobalAveragePooling2D") || !strcmp(cls, "GlobalAvgPool2D"))
        return map_global_pool(im, cfg, in, FCN_OP_GLOBAL_AVGPOOL, out, err);
    if (!strcmp(cls, "GlobalMaxPooling2D") || !strcmp(cls, "GlobalMaxPool2D"))
        return map_global_pool(im, cfg, in, FCN_OP_GLOBAL_MAXPOOL, out, err);
    if (!strcmp(cls, "Flatten")) return map_flatten(im, cfg, in, out, err);
    if (!strcmp(cls, "Reshape")) return map_reshape(im, cfg, in, out, err);
    if (!strcmp(cls, "ZeroPadding2D")) return map_zero_padding(im, cfg, in, out, err);
    if (!strcmp(cls, "Cropping2D")) return map_cropping(im, cfg, in, out, err);
    if (!strcmp(cls, "Rescaling")) return map_rescaling(im, cfg, in, out, err);
    if (!strcmp(cls, "PReLU")) return map_prelu(im, cfg, in, out, err);
    /* identity at inference */
    if (!strcmp(cls, "Dropout") || !strcmp(cls, "SpatialDropout2D") || !strcmp(cls, "GaussianNoise") ||
        !strcmp(cls, "GaussianDropout") || !strcmp(cls, "AlphaDropout") || !strcmp(cls, "ActivityRegularization")) {
        *out = *in;
        return 0;
    }
    if (!strcmp(cls, "Add")) return map_merge(im, FCN_OP_ADD, ins, n_in, out, err);
    if (!strcmp(cls, "Subtract")) return map_merge(im, FCN_OP_SUB, ins, n_in, out, err);
    if (!strcmp(cls, "Multiply")) return map_merge(im, FCN_OP_MUL, ins, n_in, out, err);
    if (!strcmp(cls, "Maximum")) return map_merge(im, FCN_OP_MAX, ins, n_in, out, err);
    if (!strcmp(cls, "Minimum")) return map_merge(im, FCN_OP_MIN, ins, n_in, out, err);
    if (!strcmp(cls, "Average")) return map_average(im, ins, n_in, out, err);
    if (!strcmp(cls, "Concatenate")) return map_concat(im, cfg, ins, n_in, out, err);
    return lfail(im, err, "layer class not supported");
}

/* ---- topology ---------------------------------------------------------------------------------------- */

/* The Keras input shape of an input layer: batch_input_shape (Keras 2, tfjs) or batch_shape
 * (Keras 3); the batch comes from --input-shape or is 1. The graph input is NCHW for rank 4. */
static int make_input(tfjs_import *im, const cJSON *cfg, const fcv_import_options *opt, const char *name, kt *out,
                      fc_error *err)
{
    const cJSON *bs = jget(cfg, "batch_input_shape");
    if (!bs) bs = jget(cfg, "batch_shape");
    int rank = cJSON_GetArraySize(bs);
    if (!cJSON_IsArray(bs) || rank < 2 || rank > FC_MAX_DIMS)
        return lfail(im, err, "input without a usable 'batch_input_shape'");
    int64_t shape[FC_MAX_DIMS];
    int k = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, bs) {
        if (k == 0) { shape[k++] = 1; continue; }
        if (cJSON_IsNull(d)) shape[k] = -1;
        else if (!is_int_number(d, 1, 1 << 24, &shape[k])) return lfail(im, err, "bad 'batch_input_shape' entry");
        k++;
    }
    const char *dtype = jstr(cfg, "dtype");
    if (dtype && strcmp(dtype, "float32") != 0) return lfail(im, err, "input dtype '%.40s' not supported", dtype);
    if (opt && opt->n_input_dims) {
        if (opt->n_input_dims != rank) return lfail(im, err, "--input-shape has %d dims, the model takes %d", opt->n_input_dims, rank);
        int64_t given[FC_MAX_DIMS];   /* --input-shape is in the runtime's order: NCHW for rank 4 */
        for (int i = 0; i < rank; i++) given[i] = opt->input_dims[i];
        if (rank == 4) { given[1] = opt->input_dims[2]; given[2] = opt->input_dims[3]; given[3] = opt->input_dims[1]; }
        for (int i = 0; i < rank; i++) {
            if (given[i] <= 0) return lfail(im, err, "--input-shape has a non-positive dimension");
            if (i > 0 && shape[i] > 0 && shape[i] != given[i] && !(rank == 4 && (i == 1 || i == 2)))
                return lfail(im, err, "--input-shape disagrees with the model's input on dim %d", i);
            shape[i] = given[i];
        }
    }
    for (int i = 1; i < rank; i++)
        if (shape[i] < 0)
            return lfail(im, err, "input dimension %d is free (null): give --input-shape", i);
    if (new_tensor(im, name, rank, shape, out, err)) return -1;
    int *ni = realloc(im->g->inputs, sizeof(int) * (size_t)(im->g->n_inputs + 1));
    if (!ni) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    im->g->inputs = ni;
    ni[im->g->n_inputs++] = out->id;
    return 0;
}

static int add_output(tfjs_import *im, const kt *t, fc_error *err)
{
    int *no = realloc(im->g->outputs, sizeof(int) * (size_t)(im->g->n_outputs + 1));
    if (!no) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    im->g->outputs = no;
    no[im->g->n_outputs++] = t->id;
    return 0;
}

static int layer_header(tfjs_import *im, const cJSON *layer, const char **cls, const cJSON **cfg, fc_error *err)
{
    im->layer = NULL;
    im->cls = NULL;
    *cls = jstr(layer, "class_name");
    *cfg = jget(layer, "config");
    if (!*cls || !cJSON_IsObject(*cfg)) return lfail(im, err, "a layer without class_name/config");
    const char *name = jstr(*cfg, "name");
    if (!name) name = jstr(layer, "name");
    if (!name || !*name || strlen(name) > 256) return lfail(im, err, "a %.60s layer without a usable name", *cls);
    im->layer = name;
    im->cls = *cls;
    if (!strcmp(*cls, "Sequential") || !strcmp(*cls, "Model") || !strcmp(*cls, "Functional"))
        return lfail(im, err, "nested models are not supported (flatten the model before saving)");
    return 0;
}

static int build_sequential(tfjs_import *im, const cJSON *config, const fcv_import_options *opt, fc_error *err)
{
    const cJSON *layers = cJSON_IsArray(config) ? config : jget(config, "layers");
    if (!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) == 0)
        return lfail(im, err, "Sequential model without layers");
    kt cur;
    int first = 1;
    const cJSON *layer;
    cJSON_ArrayForEach(layer, layers) {
        const char *cls;
        const cJSON *cfg;
        if (layer_header(im, layer, &cls, &cfg, err)) return -1;
        if (first) {
            first = 0;
            if (!strcmp(cls, "InputLayer")) {
                if (make_input(im, cfg, opt, im->layer, &cur, err)) return -1;
                continue;
            }
            /* the first layer carries the input shape itself; Keras names that input "<layer>_input" */
            char in_name[600];
            snprintf(in_name, sizeof in_name, "%s_input", im->layer);
            if (make_input(im, cfg, opt, in_name, &cur, err)) return -1;
        } else if (!strcmp(cls, "InputLayer")) {
            return lfail(im, err, "InputLayer after the first layer");
        }
        kt next;
        if (map_layer(im, cls, cfg, &cur, 1, &next, err)) return -1;
        cur = next;
    }
    im->layer = NULL;
    return add_output(im, &cur, err);
}

/* Parses one inbound tensor reference [layer, node_index, tensor_index, kwargs]. */
static int inbound_ref(tfjs_import *im, const cJSON *ref, const char **layer, int64_t *node_index, fc_error *err)
{
    int64_t tensor_index;
    if (!cJSON_IsArray(ref) || cJSON_GetArraySize(ref) < 3 || !cJSON_IsString(ref->child) ||
        !is_int_number(ref->child->next, 0, 1 << 20, node_index) ||
        !is_int_number(ref->child->next->next, 0, 1 << 20, &tensor_index))
        return lfail(im, err, "inbound node entry is not [layer, node_index, tensor_index, kwargs] "
                     "(Keras 3 configs are not supported)");
    if (tensor_index != 0) return lfail(im, err, "multi-output layers are not supported");
    const cJSON *kw = cJSON_GetArrayItem(ref, 3);
    if (kw && cJSON_IsObject(kw) && kw->child) return lfail(im, err, "call arguments (%s) are not supported", kw->child->string);
    *layer = ref->child->valuestring;
    return 0;
}

/* One layer of a Functional config and the outputs of its calls (inbound nodes) so far. */
typedef struct fn_layer {
    const cJSON *json, *cfg, *nodes;
    const char *cls, *name;
    int n_nodes, done;            /* calls listed / already mapped */
    kt *outs;                     /* one per call */
} fn_layer;

#define TFJS_MAX_PASSES 64         /* Keras lists layers in dependency order: one pass suffices */

static const kt *lookup_output(const fn_layer *ls, const strmap *names, const char *layer, int64_t node_index)
{
    int i = strmap_get(names, layer);
    if (i < 0 || node_index >= ls[i].done) return NULL;
    return &ls[i].outs[node_index];
}

static int add_named_output(tfjs_import *im, const fn_layer *ls, const strmap *names, const cJSON *ref, fc_error *err)
{
    const char *src;
    int64_t ni;
    if (inbound_ref(im, ref, &src, &ni, err)) return -1;
    const kt *t = lookup_output(ls, names, src, ni);
    if (!t) return lfail(im, err, "output layer '%.200s' not found", src);
    return add_output(im, t, err);
}

/* Maps call k of layer l if all its inputs exist: 1 mapped, 0 not ready, -1 error. */
static int try_call(tfjs_import *im, fn_layer *ls, const strmap *names, fn_layer *l, const fcv_import_options *opt,
                    fc_error *err)
{
    im->layer = l->name;
    im->cls = l->cls;
    if (!strcmp(l->cls, "InputLayer")) {
        if (make_input(im, l->cfg, opt, l->name, &l->outs[0], err)) return -1;
        l->done = 1;
        return 1;
    }
    const cJSON *node = cJSON_GetArrayItem(l->nodes, l->done);
    if (cJSON_IsObject(node)) return lfail(im, err, "Keras 3 inbound_nodes format is not supported");
    int n_in = cJSON_GetArraySize(node);
    if (!cJSON_IsArray(node) || n_in < 1) return lfail(im, err, "bad inbound node");
    if (n_in > 64) return lfail(im, err, "more than 64 inputs");
    kt ins[64];
    int j = 0;
    const cJSON *ref;
    cJSON_ArrayForEach(ref, node) {
        const char *src;
        int64_t ni;
        if (inbound_ref(im, ref, &src, &ni, err)) return -1;
        const kt *t = lookup_output(ls, names, src, ni);
        if (!t) return 0;
        ins[j++] = *t;
    }
    if (map_layer(im, l->cls, l->cfg, ins, n_in, &l->outs[l->done], err)) return -1;
    l->done++;
    return 1;
}

/* Functional: layers listed with their inbound nodes (calls); each call is mapped once its
 * inputs exist. Shared layers (several calls) get one graph node per call. */
static int build_functional(tfjs_import *im, const cJSON *config, const fcv_import_options *opt, fc_error *err)
{
    const cJSON *layers = jget(config, "layers");
    int n = cJSON_GetArraySize(layers);
    if (!cJSON_IsArray(layers) || n == 0) return lfail(im, err, "model without layers");
    if ((uint32_t)n > fc_limits_current.max_nodes) return lfail(im, err, "%d layers, over the limit", n);
    fn_layer *ls = calloc((size_t)n, sizeof *ls);
    strmap names = {0};
    int rc = -1, remaining = 0, i = 0;
    if (!ls || strmap_init(&names, (size_t)n)) { fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file); goto out; }
    const cJSON *layer;
    cJSON_ArrayForEach(layer, layers) {
        fn_layer *l = &ls[i];
        if (layer_header(im, layer, &l->cls, &l->cfg, err)) goto out;
        l->json = layer;
        l->name = im->layer;
        l->nodes = jget(layer, "inbound_nodes");
        int is_input = !strcmp(l->cls, "InputLayer");
        l->n_nodes = is_input ? 1 : cJSON_GetArraySize(l->nodes);
        if (!is_input && (!cJSON_IsArray(l->nodes) || l->n_nodes == 0)) { lfail(im, err, "layer without inbound_nodes"); goto out; }
        if (strmap_put(&names, l->name, i) >= 0) { lfail(im, err, "layer name used twice"); goto out; }
        if (!(l->outs = calloc((size_t)l->n_nodes, sizeof *l->outs))) { fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file); goto out; }
        remaining += l->n_nodes;
        i++;
    }
    for (int pass = 0, progress = 1; remaining > 0 && progress; pass++) {
        if (pass == TFJS_MAX_PASSES) {
            im->layer = NULL;
            lfail(im, err, "layers are not listed in dependency order (%d calls still waiting after %d passes)",
                  remaining, TFJS_MAX_PASSES);
            goto out;
        }
        progress = 0;
        for (i = 0; i < n; i++) {
            while (ls[i].done < ls[i].n_nodes) {
                int r = try_call(im, ls, &names, &ls[i], opt, err);
                if (r < 0) goto out;
                if (r == 0) break;
                remaining--;
                progress = 1;
            }
        }
    }
    im->layer = NULL;
    if (remaining > 0) {
        lfail(im, err, "some layers' inputs are never produced (missing layer or cycle)");
        goto out;
    }
    const cJSON *outs = jget(config, "output_layers");
    if (cJSON_IsArray(outs) && cJSON_IsString(outs->child)) {   /* a single [name, 0, 0] */
        if (add_named_output(im, ls, &names, outs, err)) goto out;
    } else {
        const cJSON *ref;
        if (!cJSON_IsArray(outs) || !outs->child) { lfail(im, err, "model without output_layers"); goto out; }
        cJSON_ArrayForEach(ref, outs)
            if (add_named_output(im, ls, &names, ref, err)) goto out;
    }
    /* graph inputs in input_layers order (InputLayers were created in listing order) */
    const cJSON *ins = jget(config, "input_layers");
    if (cJSON_IsArray(ins) && cJSON_IsArray(ins->child) && cJSON_GetArraySize(ins) == im->g->n_inputs) {
        int k = 0;
        const cJSON *ref;
        cJSON_ArrayForEach(ref, ins) {
            const char *src;
            int64_t ni;
            if (inbound_ref(im, ref, &src, &ni, err)) goto out;
            const kt *t = lookup_output(ls, &names, src, ni);
            if (!t) { lfail(im, err, "input layer '%.200s' not found", src); goto out; }
            im->g->inputs[k++] = t->id;
        }
    }
    rc = 0;
out:
    for (i = 0; ls && i < n; i++) free(ls[i].outs);
    free(ls);
    strmap_free(&names);
    return rc;
}

/* ---- entry ------------------------------------------------------------------------------------------- */

static int set_provenance(tfjs_import *im, const char *path, const uint8_t *json, size_t size,
                          const cJSON *root, const cJSON *topo, fc_error *err)
{
    ir_graph *g = im->g;
    free(g->source_path);
    free(g->source_format);
    g->source_path = strdup(path);
    g->source_format = strdup("tfjs");
    fc_sha256(json, size, g->source_sha256);
    g->source_bytes = size;
    const char *by = jstr(root, "generatedBy");
    const char *kv = jstr(topo, "keras_version");
    if (by || kv) g->producer = strdup(by ? by : kv);
    if (!g->extra_meta) g->extra_meta = cJSON_CreateObject();
    if (!g->source_path || !g->source_format || !g->extra_meta || ((by || kv) && !g->producer))
        return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    cJSON *note = cJSON_AddObjectToObject(g->extra_meta, "tfjs");
    if (!note) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    cJSON_AddStringToObject(note, "source_layout", "channels_last (NHWC)");
    cJSON_AddStringToObject(note, "input_layout",
                            "NCHW: rank-4 inputs are fed N,C,H,W (transpose NHWC images with perm 0,3,1,2)");
    const char *cls = jstr(topo, "class_name");
    if (cls) cJSON_AddStringToObject(note, "class_name", cls);
    return 0;
}

int fcv_import_tfjs(const char *path, const fcv_import_options *opt, ir_graph **out, fc_error *err)
{
    *out = NULL;
    tfjs_import im = {.file = path};
    uint8_t *text = NULL;
    size_t size = 0;
    cJSON *root = NULL;
    int rc = -1;
    size_t cap = fc_limits_current.max_string_bytes < TFJS_MAX_JSON_BYTES ? (size_t)fc_limits_current.max_string_bytes
                                                                           : TFJS_MAX_JSON_BYTES;
    if (fc_read_file(path, cap, &text, &size, err)) return -1;
    if (!fc_json_depth_ok((const char *)text, size, fc_limits_current.max_nesting)) {
        lfail(&im, err, "JSON nested deeper than %u levels", fc_limits_current.max_nesting);
        goto done;
    }
    root = cJSON_ParseWithLength((const char *)text, size);
    if (!cJSON_IsObject(root)) {
        lfail(&im, err, "not a JSON object (TF.js model.json expected)");
        goto done;
    }
    const char *format = jstr(root, "format");
    if (format && strcmp(format, "layers-model") != 0) {
        lfail(&im, err, "format '%.40s' is not supported: only TF.js layers models (Keras); graph models "
              "need the TensorFlow graph, which fullconv does not read", format);
        goto done;
    }
    const cJSON *topo = jget(root, "modelTopology");
    const cJSON *model = jget(topo, "model_config") ? jget(topo, "model_config") : topo;   /* converter layout */
    const char *cls = jstr(model, "class_name");
    if (!cls) {
        lfail(&im, err, "no modelTopology.class_name: not a TF.js layers model");
        goto done;
    }
    /* the folder the shards resolve against */
    char tmp[PATH_MAX];
    if (strlen(path) >= sizeof tmp) { lfail(&im, err, "path too long"); goto done; }
    strcpy(tmp, path);
    char *slash = strrchr(tmp, '/');
    const char *folder = slash ? (slash == tmp ? "/" : (*slash = 0, tmp)) : ".";
    if (!realpath(folder, im.dir)) { lfail(&im, err, "cannot resolve the model folder"); goto done; }
    if (!(im.g = ir_graph_new())) { fc_fail(err, FC_ENOMEM, "%s: out of memory", path); goto done; }
    if (load_manifest(&im, jget(root, "weightsManifest"), err)) goto done;
    if (!strcmp(cls, "Sequential")) {
        if (build_sequential(&im, jget(model, "config"), opt, err)) goto done;
    } else if (!strcmp(cls, "Model") || !strcmp(cls, "Functional")) {
        if (build_functional(&im, jget(model, "config"), opt, err)) goto done;
    } else {
        lfail(&im, err, "modelTopology class '%.60s' not supported (Sequential, Model, Functional)", cls);
        goto done;
    }
    if (set_provenance(&im, path, text, size, root, model, err)) goto done;
    *out = im.g;
    im.g = NULL;
    rc = 0;
done:
    free_weights(&im);
    ir_graph_free(im.g);
    cJSON_Delete(root);
    free(text);
    return rc;
}
