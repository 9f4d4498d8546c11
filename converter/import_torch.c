/* import_torch.c — PyTorch .pt/.pth zip archives (torch >= 1.6): state_dicts, whole-model
 * pickles (nn.Sequential, torchvision classes) and TorchScript archives, read with the
 * restricted pickle VM (pickle.c): nothing in the file is ever executed.
 *
 * Archive layout: <prefix>/data.pkl (the pickled object), <prefix>/data/<key> (raw storages,
 * referenced by persistent ids ('storage', torch.XStorage, key, location, numel)),
 * <prefix>/byteorder ("little"/"big", absent = little), <prefix>/version; TorchScript adds
 * constants.pkl and code/ (Python source we never interpret: weights are read from the module
 * object tree in data.pkl, the graph comes from --arch).
 * Graphs: state_dicts, TorchScript and torchvision whole models go through the architecture
 * templates (converter/arch/, named or guessed from the key names); nn.Sequential whole models through
 * arch/sequential.c, which maps each module record to a layer. */
#include "converter/arch/arch_build.h"
#include "converter/pickle.h"
#include "common/fc_zip.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct torch_storage {
    char *key;
    uint8_t *data;
    size_t nbytes;
    int dtype;
} torch_storage;

/* Names -> position by open addressing, so files with 10^5 tensors or storages stay linear
 * (fcv_weights_find and the storage list are plain arrays). slot = position + 1, 0 = empty. */
typedef struct name_index {
    int *slot;
    size_t cap, n;
} name_index;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* Position of key, or -1. names[i] must stay valid (the arrays the positions point into). */
static int index_find(const name_index *ix, const char *key, const char *(*name_at)(const void *, int), const void *ctx)
{
    if (!ix->cap) return -1;
    for (size_t i = name_hash(key) & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
        if (!ix->slot[i]) return -1;
        if (strcmp(name_at(ctx, ix->slot[i] - 1), key) == 0) return ix->slot[i] - 1;
    }
}

static int index_add(name_index *ix, int pos, const char *(*name_at)(const void *, int), const void *ctx)
{
    if (2 * (ix->n + 1) > ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 256;
        int *slot = calloc(cap, sizeof *slot);
        if (!slot) return -1;
        for (size_t j = 0; j < ix->cap; j++) {
            if (!ix->slot[j]) continue;
            size_t i = name_hash(name_at(ctx, ix->slot[j] - 1)) & (cap - 1);
            while (slot[i]) i = (i + 1) & (cap - 1);
            slot[i] = ix->slot[j];
        }
        free(ix->slot);
        ix->slot = slot;
        ix->cap = cap;
    }
    size_t i = name_hash(name_at(ctx, pos)) & (ix->cap - 1);
    while (ix->slot[i]) i = (i + 1) & (ix->cap - 1);
    ix->slot[i] = pos + 1;
    ix->n++;
    return 0;
}

typedef struct torch_ctx {
    const char *file;
    fc_zip *z;
    char prefix[256];
    int big_endian;
    torch_storage *st;
    int n_st, cap_st;
    fcv_weights *collect_only;    /* fcv_read_torch_weights: tensors only, no graph */
    name_index storage_ix;        /* key -> st[] */
    name_index weight_ix;         /* name -> w->names[] of the set being collected */
    uint64_t visits;              /* module records walked (shared submodules could make a DAG explode) */
    fc_error *err;
} torch_ctx;

#define TORCH_MAX_VISITS 1000000

static const char *storage_name_at(const void *ctx, int i) { return ((const torch_ctx *)ctx)->st[i].key; }
static const char *weight_name_at(const void *ctx, int i) { return ((const fcv_weights *)ctx)->names[i]; }

static int count_visit(torch_ctx *c)
{
    if (++c->visits > TORCH_MAX_VISITS)
        return fc_fail(c->err, FC_EINPUT, "%s: more than %d module records to walk (shared submodules?)", c->file,
                       TORCH_MAX_VISITS);
    return 0;
}

static const struct { const char *name; int dtype; } storage_types[] = {
    {"torch.FloatStorage", FC_DT_F32}, {"torch.HalfStorage", FC_DT_F16},   {"torch.DoubleStorage", FC_DT_F64},
    {"torch.BFloat16Storage", FC_DT_BF16}, {"torch.LongStorage", FC_DT_I64}, {"torch.IntStorage", FC_DT_I32},
    {"torch.ShortStorage", FC_DT_I16}, {"torch.CharStorage", FC_DT_I8},  {"torch.ByteStorage", FC_DT_U8},
    {"torch.BoolStorage", FC_DT_BOOL},
};

/* Training checkpoints wrap the weights: {'epoch': .., 'state_dict': {...}, 'optimizer': ..}. */
static const char *const checkpoint_keys[] = {"state_dict", "model_state_dict", "model", "net", "model_state", NULL};

/* ---- storages ---- */
static void byteswap(uint8_t *p, size_t nbytes, size_t elem)
{
    for (size_t off = 0; off + elem <= nbytes; off += elem)
        for (size_t i = 0; i < elem / 2; i++) {
            uint8_t t = p[off + i];
            p[off + i] = p[off + elem - 1 - i];
            p[off + elem - 1 - i] = t;
        }
}

static int key_is_safe(const char *k)
{
    if (!*k || strlen(k) > 64) return 0;
    for (; *k; k++)
        if (!((*k >= '0' && *k <= '9') || (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_')) return 0;
    return 1;
}

static int load_storage(torch_ctx *c, const fcv_pk *persid, const char *tensor, torch_storage **out)
{
    const fcv_pk *pid = persid->pid;
    if (!pid || pid->kind != FCV_PK_TUPLE || pid->n < 5 || !fcv_pk_is_str(pid->items[0], "storage") ||
        pid->items[1]->kind != FCV_PK_GLOBAL || pid->items[2]->kind != FCV_PK_STR || pid->items[4]->kind != FCV_PK_INT)
        return fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': malformed storage reference", c->file, tensor);
    const char *type = pid->items[1]->s, *key = pid->items[2]->s;
    int64_t numel = pid->items[4]->i;
    int dtype = 0;
    for (size_t i = 0; i < sizeof storage_types / sizeof *storage_types; i++)
        if (strcmp(type, storage_types[i].name) == 0) dtype = storage_types[i].dtype;
    if (!dtype) return fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': storage type '%s' is not supported", c->file, tensor, type);
    if (!key_is_safe(key)) return fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': bad storage key", c->file, tensor);
    int known = index_find(&c->storage_ix, key, storage_name_at, c);
    if (known >= 0) {
        if (c->st[known].dtype != dtype)
            return fc_fail(c->err, FC_EINPUT, "%s: storage '%s' is used with two element types", c->file, key);
        *out = &c->st[known];
        return 0;
    }
    size_t want;
    if (numel < 0 || fc_mul_size((size_t)numel, fc_dtype_size(dtype), &want) || want > fc_limits_current.max_tensor_bytes)
        return fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': storage of %lld elements is too large", c->file, tensor,
                       (long long)numel);
    char entry[400];
    snprintf(entry, sizeof entry, "%s/data/%s", c->prefix, key);
    int idx = fc_zip_find(c->z, entry);
    if (idx < 0) return fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': storage entry '%s' is missing", c->file, tensor, entry);
    if (fc_zip_entry_size(c->z, idx) != want)
        return fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': storage '%s' has %llu bytes, %lld x %s needs %zu", c->file,
                       tensor, entry, (unsigned long long)fc_zip_entry_size(c->z, idx), (long long)numel,
                       fc_dtype_name(dtype), want);
    if (c->n_st == c->cap_st) {
        int cap = c->cap_st ? c->cap_st * 2 : 64;
        torch_storage *st = realloc(c->st, (size_t)cap * sizeof *st);
        if (!st) return fc_fail(c->err, FC_ENOMEM, "%s: out of memory", c->file);
        c->st = st;
        c->cap_st = cap;
    }
    torch_storage *s = &c->st[c->n_st];
    memset(s, 0, sizeof *s);
    if (fc_zip_read(c->z, idx, &s->data, &s->nbytes, c->err)) return -1;
    s->key = strdup(key);
    if (!s->key) {
        free(s->data);
        return fc_fail(c->err, FC_ENOMEM, "%s: out of memory", c->file);
    }
    s->dtype = dtype;
    if (c->big_endian) byteswap(s->data, s->nbytes, fc_dtype_size(dtype));
    c->n_st++;
    if (index_add(&c->storage_ix, c->n_st - 1, storage_name_at, c)) return fc_fail(c->err, FC_ENOMEM, "%s: out of memory", c->file);
    *out = s;
    return 0;
}

static int int_tuple(const fcv_pk *v, int64_t *out, int max)
{
    /* torch.Size pickles as a plain tuple in _rebuild_tensor_v2 */
    if (!v || (v->kind != FCV_PK_TUPLE && v->kind != FCV_PK_LIST) || v->n > (size_t)max) return -1;
    for (size_t i = 0; i < v->n; i++) {
        if (v->items[i]->kind != FCV_PK_INT) return -1;
        out[i] = v->items[i]->i;
    }
    return (int)v->n;
}

static float to_f32(const uint8_t *p, int dtype)
{
    switch (dtype) {
    case FC_DT_F32: { float f; memcpy(&f, p, 4); return f; }
    case FC_DT_F16: { uint16_t h; memcpy(&h, p, 2); return fc_f16_to_f32(h); }
    case FC_DT_BF16: { uint16_t h; memcpy(&h, p, 2); uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }
    case FC_DT_F64: { double d; memcpy(&d, p, 8); return (float)d; }
    case FC_DT_I64: { int64_t i; memcpy(&i, p, 8); return (float)i; }
    case FC_DT_I32: { int32_t i; memcpy(&i, p, 4); return (float)i; }
    case FC_DT_I16: { int16_t i; memcpy(&i, p, 2); return (float)i; }
    case FC_DT_I8: return (float)(int8_t)p[0];
    default: return (float)p[0];   /* u8, bool */
    }
}

/* Returns 1 if v is not a tensor record, 0 with *out filled (f32, contiguous), -1 on error. */
static int decode_tensor(torch_ctx *c, const fcv_pk *v, const char *name, fc_array *out, int depth)
{
    const char *cls = fcv_pk_class(v);
    if (!cls || v->kind != FCV_PK_OBJECT) return 1;
    if (depth > 4) return fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': nested parameter records", c->file, name);
    if (strcmp(cls, "torch._utils._rebuild_parameter") == 0 || strcmp(cls, "torch._utils._rebuild_parameter_with_state") == 0) {
        if (v->args->n < 1) return fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': empty parameter record", c->file, name);
        int rc = decode_tensor(c, v->args->items[0], name, out, depth + 1);
        return rc == 1 ? fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': parameter without a tensor", c->file, name) : rc;
    }
    if (strcmp(cls, "torch._tensor._rebuild_from_type_v2") == 0) {
        /* (func, type, func_args, state): a tensor (sub)class rebuilt by func(*func_args) */
        const fcv_pk *a = v->args;
        if (a->n < 3 || a->items[0]->kind != FCV_PK_GLOBAL || a->items[2]->kind != FCV_PK_TUPLE)
            return fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': malformed _rebuild_from_type_v2 arguments", c->file, name);
        fcv_pk call;
        memset(&call, 0, sizeof call);
        call.kind = FCV_PK_OBJECT;
        call.cls = a->items[0];
        call.args = a->items[2];
        int rc = decode_tensor(c, &call, name, out, depth + 1);
        return rc == 1 ? fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': unsupported tensor subclass record", c->file, name) : rc;
    }
    if (strcmp(cls, "torch._utils._rebuild_tensor_v2") != 0) return 1;
    const fcv_pk *a = v->args;
    if (a->n < 4 || a->items[0]->kind != FCV_PK_PERSID || a->items[1]->kind != FCV_PK_INT)
        return fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': malformed _rebuild_tensor_v2 arguments", c->file, name);
    torch_storage *s = NULL;
    if (load_storage(c, a->items[0], name, &s)) return -1;
    int64_t size[FC_MAX_DIMS], stride[FC_MAX_DIMS], offset = a->items[1]->i;
    int nd = int_tuple(a->items[2], size, FC_MAX_DIMS), nds = int_tuple(a->items[3], stride, FC_MAX_DIMS);
    if (nd < 0 || nds != nd)
        return fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': bad size/stride (at most %d dims)", c->file, name, FC_MAX_DIMS);
    size_t esize = fc_dtype_size(s->dtype), storage_numel = s->nbytes / esize, numel;
    if (fc_numel(nd, size, &numel))
        return fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': negative or overflowing size", c->file, name);
    /* the largest element index touched must lie inside the storage */
    if (offset < 0) return fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': negative storage offset", c->file, name);
    if (numel > 0) {
        uint64_t last = (uint64_t)offset;
        for (int i = 0; i < nd; i++) {
            if (stride[i] < 0) return fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': negative stride", c->file, name);
            uint64_t span;
            if (__builtin_mul_overflow((uint64_t)(size[i] - 1), (uint64_t)stride[i], &span) ||
                __builtin_add_overflow(last, span, &last))
                return fc_fail(c->err, FC_EINPUT, "%s: tensor '%s': strides overflow", c->file, name);
        }
        if (last >= storage_numel)
            return fc_fail(c->err, FC_EINPUT,
                           "%s: tensor '%s': offset %lld with size/stride reaches element %llu of a %zu-element storage",
                           c->file, name, (long long)offset, (unsigned long long)last, storage_numel);
    }
    fc_array arr;
    memset(&arr, 0, sizeof arr);
    if (fc_array_alloc(&arr, FC_DT_F32, nd, size, c->err)) return fc_wrap(c->err, "%s: tensor '%s'", c->file, name);
    float *dst = arr.data;
    int contiguous = 1;
    int64_t expect = 1;
    for (int i = nd - 1; i >= 0; i--) {
        if (size[i] != 1 && stride[i] != expect) contiguous = 0;
        expect *= size[i];
    }
    if (contiguous && s->dtype == FC_DT_F32) {
        if (numel) memcpy(dst, s->data + (size_t)offset * esize, numel * esize);
        *out = arr;
        return 0;
    }
    int64_t idx[FC_MAX_DIMS] = {0};
    for (size_t e = 0; e < numel; e++) {
        int64_t src = offset;
        for (int i = 0; i < nd; i++) src += idx[i] * stride[i];
        dst[e] = to_f32(s->data + (size_t)src * esize, s->dtype);
        for (int i = nd - 1; i >= 0; i--) {
            if (++idx[i] < size[i]) break;
            idx[i] = 0;
        }
    }
    *out = arr;
    return 0;
}

/* ---- collecting named tensors ---- */
static int add_tensor(torch_ctx *c, fcv_weights *w, const char *name, const fcv_pk *v, int *is_tensor)
{
    fc_array arr;
    int rc = decode_tensor(c, v, name, &arr, 0);
    if (rc < 0) return -1;
    *is_tensor = rc == 0;
    if (rc == 1) return 0;
    if (index_find(&c->weight_ix, name, weight_name_at, w) >= 0) {
        fc_array_free(&arr);
        return fc_fail(c->err, FC_EINPUT, "%s: tensor '%.200s' appears twice", c->file, name);
    }
    if (gb_weights_append(w, name, &arr, c->err)) return fc_wrap(c->err, "%s", c->file);
    if (index_add(&c->weight_ix, w->count - 1, weight_name_at, w)) return fc_fail(c->err, FC_ENOMEM, "%s: out of memory", c->file);
    return 0;
}

static int in_set(const fcv_pk *set, const char *s)
{
    if (!set || (set->kind != FCV_PK_SET && set->kind != FCV_PK_LIST && set->kind != FCV_PK_TUPLE)) return 0;
    for (size_t i = 0; i < set->n; i++)
        if (fcv_pk_is_str(set->items[i], s)) return 1;
    return 0;
}

static int join(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s%s%s", a, *a ? "." : "", b);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* nn.Module records: _parameters and persistent _buffers of every submodule, by path (the
 * state_dict order: a module's own tensors, then its children). */
static int collect_module(torch_ctx *c, fcv_weights *w, const fcv_pk *mod, const char *path, int depth)
{
    if (count_visit(c)) return -1;
    if ((uint32_t)depth > fc_limits_current.max_nesting)
        return fc_fail(c->err, FC_EINPUT, "%s: module tree deeper than %u", c->file, fc_limits_current.max_nesting);
    const fcv_pk *st = mod->state;
    if (!st || st->kind != FCV_PK_DICT)
        return fc_fail(c->err, FC_EINPUT, "%s: module '%s' (%s) has no state", c->file, *path ? path : "(root)",
                       fcv_pk_class(mod));
    const fcv_pk *skip = fcv_pk_dict_get(st, "_non_persistent_buffers_set");
    static const char *const groups[2] = {"_parameters", "_buffers"};
    char name[512];
    for (int gi = 0; gi < 2; gi++) {
        const fcv_pk *d = fcv_pk_dict_get(st, groups[gi]);
        if (!d) continue;
        if (d->kind != FCV_PK_DICT) return fc_fail(c->err, FC_EINPUT, "%s: module '%s': %s is not a dict", c->file, path, groups[gi]);
        for (size_t i = 0; i + 1 < d->n; i += 2) {
            const fcv_pk *k = d->items[i], *v = d->items[i + 1];
            if (k->kind != FCV_PK_STR) return fc_fail(c->err, FC_EINPUT, "%s: module '%s': non-string tensor name", c->file, path);
            if (v->kind == FCV_PK_NONE || (gi == 1 && in_set(skip, k->s))) continue;
            if (join(name, sizeof name, path, k->s)) return fc_fail(c->err, FC_EINPUT, "%s: module path too long", c->file);
            int is_tensor;
            if (add_tensor(c, w, name, v, &is_tensor)) return -1;
            if (!is_tensor) return fc_fail(c->err, FC_EINPUT, "%s: '%s' is a %s, not a tensor", c->file, name, fcv_pk_kind_name(v->kind));
        }
    }
    const fcv_pk *mods = fcv_pk_dict_get(st, "_modules");
    if (mods && mods->kind == FCV_PK_DICT)
        for (size_t i = 0; i + 1 < mods->n; i += 2) {
            const fcv_pk *k = mods->items[i], *v = mods->items[i + 1];
            if (k->kind != FCV_PK_STR) return fc_fail(c->err, FC_EINPUT, "%s: module '%s': non-string child name", c->file, path);
            if (v->kind == FCV_PK_NONE) continue;
            if (v->kind != FCV_PK_OBJECT)
                return fc_fail(c->err, FC_EINPUT, "%s: child '%s' of '%s' is not a module", c->file, k->s, path);
            if (join(name, sizeof name, path, k->s)) return fc_fail(c->err, FC_EINPUT, "%s: module path too long", c->file);
            if (collect_module(c, w, v, name, depth + 1)) return -1;
        }
    return 0;
}

/* TorchScript module objects keep parameters, buffers and submodules as plain attributes. */
static int collect_script(torch_ctx *c, fcv_weights *w, const fcv_pk *obj, const char *path, int depth)
{
    if (count_visit(c)) return -1;
    if ((uint32_t)depth > fc_limits_current.max_nesting)
        return fc_fail(c->err, FC_EINPUT, "%s: module tree deeper than %u", c->file, fc_limits_current.max_nesting);
    const fcv_pk *st = obj->state;
    if (!st || st->kind != FCV_PK_DICT) return 0;
    char name[512];
    for (size_t i = 0; i + 1 < st->n; i += 2) {
        const fcv_pk *k = st->items[i], *v = st->items[i + 1];
        if (k->kind != FCV_PK_STR) continue;
        if (join(name, sizeof name, path, k->s)) return fc_fail(c->err, FC_EINPUT, "%s: module path too long", c->file);
        const char *cls = fcv_pk_class(v);
        if (v->kind == FCV_PK_OBJECT && cls && strncmp(cls, "__torch__.", 10) == 0) {
            if (collect_script(c, w, v, name, depth + 1)) return -1;
            continue;
        }
        int is_tensor;
        if (add_tensor(c, w, name, v, &is_tensor)) return -1;
    }
    return 0;
}

/* A state_dict: a dict of name -> tensor (non-tensor entries refused). DataParallel's
 * "module." prefix is dropped when every key has it. */
static int collect_state_dict(torch_ctx *c, fcv_weights *w, const fcv_pk *d)
{
    int all_prefixed = d->n > 0;
    for (size_t i = 0; i + 1 < d->n; i += 2)
        if (d->items[i]->kind != FCV_PK_STR || strncmp(d->items[i]->s, "module.", 7) != 0) all_prefixed = 0;
    for (size_t i = 0; i + 1 < d->n; i += 2) {
        const fcv_pk *k = d->items[i], *v = d->items[i + 1];
        if (k->kind != FCV_PK_STR)
            return fc_fail(c->err, FC_EINPUT, "%s: state_dict key is a %s, not a string", c->file, fcv_pk_kind_name(k->kind));
        int is_tensor;
        if (add_tensor(c, w, k->s + (all_prefixed ? 7 : 0), v, &is_tensor)) return -1;
        if (!is_tensor)
            return fc_fail(c->err, FC_EINPUT, "%s: state_dict entry '%.200s' is a %s, not a tensor", c->file, k->s,
                           v->kind == FCV_PK_OBJECT ? fcv_pk_class(v) : fcv_pk_kind_name(v->kind));
    }
    if (!w->count) return fc_fail(c->err, FC_EINPUT, "%s: the state_dict holds no tensors", c->file);
    return 0;
}

/* ---- top level ---- */
static const char *torchvision_arch(const char *cls, const fcv_weights *w)
{
    if (strcmp(cls, "torchvision.models.resnet.ResNet") == 0) return fcv_arch_guess_resnet(w);
    if (strcmp(cls, "torchvision.models.alexnet.AlexNet") == 0) return "alexnet";
    if (strcmp(cls, "torchvision.models.vgg.VGG") == 0) return fcv_arch_guess_vgg(w);
    if (strcmp(cls, "torchvision.models.mobilenetv2.MobileNetV2") == 0) return "mobilenet_v2";
    if (strcmp(cls, "torchvision.models.squeezenet.SqueezeNet") == 0) return fcv_arch_guess(w);
    return NULL;
}

static int find_prefix(torch_ctx *c)
{
    int found = -1;
    for (int i = 0; i < fc_zip_count(c->z); i++) {
        const char *n = fc_zip_name(c->z, i);
        const char *slash = strchr(n, '/');
        if (!slash || strcmp(slash, "/data.pkl") != 0) continue;
        if (found >= 0) return fc_fail(c->err, FC_EINPUT, "%s: more than one data.pkl in the archive", c->file);
        found = i;
        size_t len = (size_t)(slash - n);
        if (len >= sizeof c->prefix) return fc_fail(c->err, FC_EINPUT, "%s: archive prefix too long", c->file);
        memcpy(c->prefix, n, len);
        c->prefix[len] = 0;
    }
    if (found < 0) return fc_fail(c->err, FC_EINPUT, "%s: zip archive without <name>/data.pkl: not a PyTorch file", c->file);
    return found;
}

static int read_small_entry(torch_ctx *c, const char *leaf, char *out, size_t cap)
{
    char name[400];
    snprintf(name, sizeof name, "%s/%s", c->prefix, leaf);
    int idx = fc_zip_find(c->z, name);
    out[0] = 0;
    if (idx < 0) return 0;
    if (fc_zip_entry_size(c->z, idx) >= cap) return fc_fail(c->err, FC_EINPUT, "%s: entry '%s' is too long", c->file, name);
    uint8_t *buf;
    size_t size;
    if (fc_zip_read(c->z, idx, &buf, &size, c->err)) return -1;
    memcpy(out, buf, size);
    out[size] = 0;
    free(buf);
    for (size_t i = size; i > 0 && (out[i - 1] == '\n' || out[i - 1] == '\r' || out[i - 1] == ' '); i--) out[i - 1] = 0;
    return 1;
}

static int has_entry_prefix(const torch_ctx *c, const char *leaf)
{
    char name[400];
    snprintf(name, sizeof name, "%s/%s", c->prefix, leaf);
    size_t len = strlen(name);
    for (int i = 0; i < fc_zip_count(c->z); i++)
        if (strncmp(fc_zip_name(c->z, i), name, len) == 0) return 1;
    return 0;
}

static int finish_arch(torch_ctx *c, fcv_weights *w, const fcv_import_options *opt, const char *guess,
                       const char *what, cJSON *meta, ir_graph **out)
{
    const char *arch = opt && opt->arch ? opt->arch : guess;
    if (!arch)
        return fc_fail(c->err, FC_EINPUT, "%s: %s with %d tensors: cannot tell the architecture from the names; pass --arch (%s)",
                       c->file, what, w->count, fcv_arch_list());
    const char *looks_like = opt && opt->arch ? fcv_arch_guess(w) : NULL;   /* before w is consumed */
    if (fcv_arch_build(arch, c->file, w, opt, out, c->err)) {
        if (c->err && looks_like && strcmp(looks_like, arch) != 0) {
            size_t len = strlen(c->err->msg);
            snprintf(c->err->msg + len, sizeof c->err->msg - len, " (the weight names look like %s)", looks_like);
        }
        return -1;
    }
    /* said only once it worked: a failing conversion prints its one error line and nothing else */
    if (!(opt && opt->arch)) {
        fprintf(stderr, "%s: guessed --arch %s from the weight names\n", c->file, arch);
        if (meta) cJSON_AddBoolToObject(meta, "torch_arch_guessed", 1);
    }
    if (meta) cJSON_AddStringToObject(meta, "torch_arch", arch);
    return 0;
}

static int import_root(torch_ctx *c, const fcv_pk *root, int script, const fcv_import_options *opt, cJSON *meta,
                       ir_graph **out)
{
    fcv_weights w = {0};
    int rc;
    const char *cls = fcv_pk_class(root);
    if (script) {
        if (!cls || strncmp(cls, "__torch__.", 10) != 0)
            return fc_fail(c->err, FC_EINPUT, "%s: TorchScript data.pkl does not hold a module object", c->file);
        if (meta) cJSON_AddStringToObject(meta, "torch_module_class", cls + 10);
        rc = collect_script(c, &w, root, "", 0);
        if (rc == 0) {
            const char *guess = fcv_arch_guess(&w);
            rc = finish_arch(c, &w, opt, guess, "TorchScript archive (its code is never run)", meta, out);
        }
    } else if (root->kind == FCV_PK_DICT) {
        const fcv_pk *d = root;
        for (int i = 0; checkpoint_keys[i]; i++) {
            const fcv_pk *inner = fcv_pk_dict_get(root, checkpoint_keys[i]);
            if (inner && (inner->kind == FCV_PK_DICT || inner->kind == FCV_PK_OBJECT)) {
                if (inner->kind == FCV_PK_OBJECT) return import_root(c, inner, 0, opt, meta, out);
                d = inner;
                break;
            }
        }
        rc = collect_state_dict(c, &w, d);
        if (rc == 0) rc = finish_arch(c, &w, opt, fcv_arch_guess(&w), "state_dict", meta, out);
    } else if (root->kind == FCV_PK_OBJECT && cls &&
               (strncmp(cls, "torch.nn.modules.", 17) == 0 || strncmp(cls, "torchvision.models.", 19) == 0)) {
        if (meta) cJSON_AddStringToObject(meta, "torch_module_class", cls);
        rc = collect_module(c, &w, root, fcv_sequential_weight_prefix(root), 0);
        if (rc == 0) {
            if (strncmp(cls, "torchvision.", 12) == 0) {
                const char *guess = torchvision_arch(cls, &w);
                if (!guess && !(opt && opt->arch))
                    rc = fc_fail(c->err, FC_EINPUT, "%s: whole-model pickle of %s: not a supported torchvision layout (%s)",
                                 c->file, cls, fcv_arch_list());
                else
                    rc = finish_arch(c, &w, opt, guess, cls, meta, out);
            } else if (opt && opt->arch) {
                rc = finish_arch(c, &w, opt, NULL, cls, meta, out);
            } else {
                rc = fcv_arch_sequential(c->file, root, &w, opt, meta, out, c->err);
            }
        }
    } else {
        rc = fc_fail(c->err, FC_EINPUT, "%s: data.pkl holds a %s%s%s: expected a state_dict or an nn.Module", c->file,
                     fcv_pk_kind_name(root->kind), cls ? " " : "", cls ? cls : "");
    }
    fcv_weights_free(&w);
    return rc;
}

/* Every tensor of the file, no graph: state_dict entries, module parameters/buffers by path,
 * TorchScript attributes. */
static int collect_root(torch_ctx *c, const fcv_pk *root, int script, fcv_weights *w, int depth)
{
    const char *cls = fcv_pk_class(root);
    if (depth > 2) return fc_fail(c->err, FC_EINPUT, "%s: nested checkpoint wrappers", c->file);
    if (script && cls && strncmp(cls, "__torch__.", 10) == 0) return collect_script(c, w, root, "", 0);
    if (root->kind == FCV_PK_DICT) {
        for (int i = 0; checkpoint_keys[i]; i++) {
            const fcv_pk *inner = fcv_pk_dict_get(root, checkpoint_keys[i]);
            if (inner && (inner->kind == FCV_PK_DICT || inner->kind == FCV_PK_OBJECT))
                return collect_root(c, inner, script, w, depth + 1);
        }
        return collect_state_dict(c, w, root);
    }
    if (root->kind == FCV_PK_OBJECT && cls && (strncmp(cls, "torch.nn.modules.", 17) == 0 || strncmp(cls, "torchvision.models.", 19) == 0))
        return collect_module(c, w, root, "", 0);
    return fc_fail(c->err, FC_EINPUT, "%s: data.pkl holds a %s%s%s: expected a state_dict or an nn.Module", c->file,
                   fcv_pk_kind_name(root->kind), cls ? " " : "", cls ? cls : "");
}

/* out == NULL: collect the tensors into c->collect_only instead of building a graph. */
static int import_archive(torch_ctx *c, const fcv_import_options *opt, ir_graph **out)
{
    int pkl = find_prefix(c);
    if (pkl < 0) return -1;
    char text[64];
    int r = read_small_entry(c, "byteorder", text, sizeof text);
    if (r < 0) return -1;
    if (r > 0 && strcmp(text, "little") != 0 && strcmp(text, "big") != 0)
        return fc_fail(c->err, FC_EINPUT, "%s: byteorder '%s' is neither little nor big", c->file, text);
    c->big_endian = r > 0 && strcmp(text, "big") == 0;
    char version[64];
    if (read_small_entry(c, "version", version, sizeof version) < 0) return -1;
    int script = has_entry_prefix(c, "constants.pkl") || has_entry_prefix(c, "code/");
    uint8_t *buf;
    size_t size;
    if (fc_zip_read(c->z, pkl, &buf, &size, c->err)) return -1;
    fcv_pickle *p = NULL;
    char entry[300];
    snprintf(entry, sizeof entry, "%s/data.pkl", c->prefix);
    int rc = fcv_pickle_load(buf, size, c->file, entry, 0, &p, c->err);
    free(buf);
    if (rc) {
        /* a model class of the user's own script: only its weights can be read */
        if (c->err && strstr(c->err->msg, "global '__main__.")) {
            size_t len = strlen(c->err->msg);
            snprintf(c->err->msg + len, sizeof c->err->msg - len,
                     "; save model.state_dict() instead and convert with --arch");
        }
        return -1;
    }
    if (!out) {
        rc = collect_root(c, fcv_pickle_root(p), script, c->collect_only, 0);
        fcv_pickle_free(p);
        return rc;
    }
    cJSON *meta = cJSON_CreateObject();
    if (meta) {
        cJSON_AddStringToObject(meta, "torch_format", script ? "torchscript" : "torch-zip");
        if (version[0]) cJSON_AddStringToObject(meta, "torch_archive_version", version);
        if (c->big_endian) cJSON_AddBoolToObject(meta, "torch_big_endian", 1);
    }
    rc = import_root(c, fcv_pickle_root(p), script, opt, meta, out);
    fcv_pickle_free(p);
    if (rc) {
        cJSON_Delete(meta);
        return -1;
    }
    ir_graph *g = *out;
    g->source_format = strdup(script ? "torchscript" : "torch-zip");
    if (version[0] && asprintf(&g->producer, "pytorch (archive version %s)", version) < 0) g->producer = NULL;
    if (g->extra_meta) cJSON_Delete(g->extra_meta);
    g->extra_meta = meta;
    return 0;
}

static int open_and_import(const char *path, const fcv_import_options *opt, fcv_weights *collect_only,
                           ir_graph **out, fc_error *err)
{
    uint8_t *data;
    size_t size;
    if (fc_read_file(path, fc_limits_current.max_file_bytes, &data, &size, err)) return -1;
    torch_ctx c = {0};
    c.file = path;
    c.err = err;
    c.collect_only = collect_only;
    int rc = -1;
    if (!fc_zip_sniff(data, size)) {
        /* torch < 1.6 wrote a bare pickle stream (magic number, protocol, sys info, ...) or a tar */
        if ((size >= 2 && data[0] == 0x80 && data[1] <= 5) || (size > 262 && memcmp(data + 257, "ustar", 5) == 0))
            fc_fail(err, FC_EINPUT, "%s: legacy (pre-1.6, non-zip) PyTorch file: re-save with torch >= 1.6 (torch.save(obj, f))",
                    path);
        else
            fc_fail(err, FC_EINPUT, "%s: not a PyTorch zip archive", path);
    } else if (fc_zip_open_memory(data, size, path, &c.z, err) == 0) {
        rc = import_archive(&c, opt, out);
        if (rc == 0 && out) {
            ir_graph *g = *out;
            g->source_path = strdup(path);
            g->source_bytes = size;
            fc_sha256(data, size, g->source_sha256);
        }
    }
    for (int i = 0; i < c.n_st; i++) {
        free(c.st[i].key);
        free(c.st[i].data);
    }
    free(c.st);
    free(c.storage_ix.slot);
    free(c.weight_ix.slot);
    fc_zip_close(c.z);
    free(data);
    if (rc && out && *out) {
        ir_graph_free(*out);
        *out = NULL;
    }
    return rc;
}

int fcv_import_torch(const char *path, const fcv_import_options *opt, ir_graph **out, fc_error *err)
{
    *out = NULL;
    return open_and_import(path, opt, NULL, out, err);
}

int fcv_read_torch_weights(const char *path, fcv_weights *w, fc_error *err)
{
    int rc = open_and_import(path, NULL, w, NULL, err);
    if (rc) fcv_weights_free(w);
    return rc;
}
