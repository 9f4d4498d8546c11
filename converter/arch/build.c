/* build.c — named weights (fcv_weights) and the layer helpers the templates share.
 *
 * Shapes are traced here with PyTorch's formulas (conv/pool output sizes, ceil_mode rule)
 * so a template can decide at build time, e.g. that AlexNet's AdaptiveAvgPool2d((6,6)) is an
 * identity at 224x224; activations are registered with unknown shape and the runtime's shape
 * inference fills them, so a mismatch between the two would surface at verification. */
#include "converter/arch/arch_build.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- fcv_weights ---- */
void fcv_weights_free(fcv_weights *w)
{
    if (!w) return;
    for (int i = 0; i < w->count; i++) {
        free(w->names[i]);
        fc_array_free(&w->arrays[i]);
    }
    free(w->names);
    free(w->arrays);
    memset(w, 0, sizeof *w);
}

int fcv_weights_add(fcv_weights *w, const char *name, fc_array *arr, fc_error *err)
{
    if (fcv_weights_find(w, name)) {
        fc_array_free(arr);
        return fc_fail(err, FC_EINPUT, "weight '%.200s' appears twice", name);
    }
    return gb_weights_append(w, name, arr, err);
}

int gb_weights_append(fcv_weights *w, const char *name, fc_array *arr, fc_error *err)
{
    if ((uint32_t)w->count >= fc_limits_current.max_tensors) {
        fc_array_free(arr);
        return fc_fail(err, FC_EINPUT, "more than %u tensors (limit)", fc_limits_current.max_tensors);
    }
    if (w->count == w->cap) {
        int cap = w->cap ? w->cap * 2 : 64;
        char **names = realloc(w->names, (size_t)cap * sizeof *names);
        if (names) w->names = names;
        fc_array *arrays = names ? realloc(w->arrays, (size_t)cap * sizeof *arrays) : NULL;
        if (!arrays) {
            fc_array_free(arr);
            return fc_fail(err, FC_ENOMEM, "out of memory");
        }
        w->arrays = arrays;
        w->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy) {
        fc_array_free(arr);
        return fc_fail(err, FC_ENOMEM, "out of memory");
    }
    w->names[w->count] = copy;
    w->arrays[w->count] = *arr;
    memset(arr, 0, sizeof *arr);
    w->count++;
    return 0;
}

static int weights_index(const fcv_weights *w, const char *name)
{
    if (!w) return -1;
    for (int i = 0; i < w->count; i++)
        if (strcmp(w->names[i], name) == 0) return i;
    return -1;
}

const fc_array *fcv_weights_find(const fcv_weights *w, const char *name)
{
    int i = weights_index(w, name);
    return i >= 0 ? &w->arrays[i] : NULL;
}

/* ---- builder ---- */
int gb_init(fcv_gb *b, const char *file, fcv_weights *w, fc_error *err)
{
    memset(b, 0, sizeof *b);
    b->file = file ? file : "(weights)";
    b->w = w;
    b->err = err;
    b->g = ir_graph_new();
    b->used = calloc((size_t)(w && w->count ? w->count : 1), 1);
    if (!b->g || !b->used) {
        gb_fini(b);
        return fc_fail(err, FC_ENOMEM, "%s: out of memory", b->file);
    }
    return 0;
}

void gb_fini(fcv_gb *b)
{
    ir_graph_free(b->g);
    b->g = NULL;
    free(b->used);
    b->used = NULL;
}

int gb_finish(fcv_gb *b, gb_val x, const char *arch, ir_graph **out)
{
    int unused = 0;
    const char *first = NULL;
    for (int i = 0; i < b->w->count; i++) {
        if (b->used[i]) continue;
        const char *n = b->w->names[i];
        size_t len = strlen(n);
        if (len >= 19 && strcmp(n + len - 19, "num_batches_tracked") == 0) continue;
        if (!first) first = n;
        unused++;
    }
    if (unused)
        return fc_fail(b->err, FC_EINPUT, "%s: %d weight(s) not used by %s, e.g. '%.200s' (wrong --arch?)", b->file,
                       unused, arch, first);
    int *outs = malloc(sizeof *outs);
    if (!outs) return fc_fail(b->err, FC_ENOMEM, "%s: out of memory", b->file);
    outs[0] = x.id;
    free(b->g->outputs);
    b->g->outputs = outs;
    b->g->n_outputs = 1;
    ir_update_links(b->g);
    *out = b->g;
    b->g = NULL;
    return 0;
}

static int add_input(fcv_gb *b, int ndim, const int64_t *dims, gb_val *x)
{
    int id = ir_add_value(b->g, "input", FC_DT_F32, ndim, dims, b->err);
    if (id < 0) return fc_wrap(b->err, "%s", b->file);
    int *ins = malloc(sizeof *ins);
    if (!ins) return fc_fail(b->err, FC_ENOMEM, "%s: out of memory", b->file);
    ins[0] = id;
    free(b->g->inputs);
    b->g->inputs = ins;
    b->g->n_inputs = 1;
    x->id = id;
    x->ndim = ndim;
    for (int i = 0; i < ndim && i < 4; i++) x->d[i] = dims[i];
    return 0;
}

int gb_input_dims(fcv_gb *b, int ndim, const int64_t *dims, gb_val *x)
{
    if (ndim < 2 || ndim > 4)
        return fc_fail(b->err, FC_EINPUT, "%s: input shape must have 2 to 4 dims, got %d", b->file, ndim);
    for (int i = 0; i < ndim; i++)
        if (dims[i] <= 0 || dims[i] > (1 << 24))
            return fc_fail(b->err, FC_EINPUT, "%s: input dim %d is %lld", b->file, i, (long long)dims[i]);
    return add_input(b, ndim, dims, x);
}

int gb_input(fcv_gb *b, const fcv_import_options *opt, int64_t c, int64_t def_h, int64_t def_w, gb_val *x)
{
    int64_t dims[4] = {1, c, def_h, def_w};
    if (opt && opt->n_input_dims) {
        if (opt->n_input_dims != 4)
            return fc_fail(b->err, FC_EINPUT, "%s: --input-shape must be NxCxHxW for this model", b->file);
        memcpy(dims, opt->input_dims, sizeof dims);
        if (dims[1] != c)
            return fc_fail(b->err, FC_EINPUT, "%s: --input-shape has %lld channels, the first layer takes %lld",
                           b->file, (long long)dims[1], (long long)c);
    }
    return gb_input_dims(b, 4, dims, x);
}

static int vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, cap, fmt, ap);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

const fc_array *gb_weight(const fcv_gb *b, const char *fmt, ...)
{
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    int bad = vformat(name, sizeof name, fmt, ap);
    va_end(ap);
    return bad ? NULL : fcv_weights_find(b->w, name);
}

int gb_has(const fcv_gb *b, const char *fmt, ...)
{
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    int bad = vformat(name, sizeof name, fmt, ap);
    va_end(ap);
    return !bad && fcv_weights_find(b->w, name) != NULL;
}

/* Moves weight "<module>.<leaf>" into the graph as a constant named like the key.
 * want_ndim < 0: any. Returns the value id, -2 if absent and optional, -1 on error. */
static int take(fcv_gb *b, const char *module, const char *leaf, int want_ndim, int optional, const fc_array **shape)
{
    char name[512];
    if (snprintf(name, sizeof name, "%s%s%s", module, *module ? "." : "", leaf) >= (int)sizeof name)
        return fc_fail(b->err, FC_EINPUT, "%s: module name too long", b->file);
    int i = weights_index(b->w, name);
    if (i < 0) {
        if (optional) return -2;
        return fc_fail(b->err, FC_EINPUT, "%s: weight '%s' is missing", b->file, name);
    }
    if (b->used[i]) return fc_fail(b->err, FC_EINTERNAL, "%s: weight '%s' used twice", b->file, name);
    fc_array *a = &b->w->arrays[i];
    if (a->dtype != FC_DT_F32)
        return fc_fail(b->err, FC_EINPUT, "%s: weight '%s' is %s, expected floating point", b->file, name,
                       fc_dtype_name(a->dtype));
    if (want_ndim >= 0 && a->ndim != want_ndim)
        return fc_fail(b->err, FC_EINPUT, "%s: weight '%s' has %d dims, expected %d", b->file, name, a->ndim, want_ndim);
    if (shape) *shape = a;
    int64_t dims[FC_MAX_DIMS];
    for (int k = 0; k < a->ndim; k++) dims[k] = a->dims[k];
    int id = ir_add_const_owned(b->g, name, FC_DT_F32, a->ndim, dims, a->data, a->nbytes, b->err);
    /* ownership moved (ir_add_const_owned frees it on failure too); keep dims for callers */
    a->data = NULL;
    b->used[i] = 1;
    if (id < 0) return fc_wrap(b->err, "%s", b->file);
    return id;
}

static int new_node(fcv_gb *b, int op, const char *name, const int *ins, int n_in, gb_val *y, ir_node **node)
{
    char *vname = ir_unique_name(b->g, name);
    if (!vname) return fc_fail(b->err, FC_ENOMEM, "%s: out of memory", b->file);
    int out = ir_add_value(b->g, vname, FC_DT_F32, -1, NULL, b->err);
    free(vname);
    if (out < 0) return fc_wrap(b->err, "%s", b->file);
    int idx = ir_add_node(b->g, op, name, ins, n_in, &out, 1, b->err);
    if (idx < 0) return fc_wrap(b->err, "%s", b->file);
    y->id = out;
    *node = &b->g->nodes[idx];
    return 0;
}

static int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

int gb_conv2(fcv_gb *b, gb_val *x, const char *name, const int64_t stride[2], const int64_t pad[2],
             const int64_t dil[2], int64_t groups)
{
    const fc_array *wa;
    if (x->ndim != 4)
        return fc_fail(b->err, FC_EINPUT, "%s: module '%s': Conv2d needs a 4-d input, got %d dims", b->file, name, x->ndim);
    int wid = take(b, name, "weight", 4, 0, &wa);
    if (wid < 0) return -1;
    int64_t cout = wa->dims[0], cin_g = wa->dims[1], kh = wa->dims[2], kw = wa->dims[3];
    if (groups <= 0) groups = cin_g > 0 && x->d[1] % cin_g == 0 ? x->d[1] / cin_g : 0;
    if (groups <= 0 || cin_g * groups != x->d[1] || cout % groups)
        return fc_fail(b->err, FC_EINPUT, "%s: module '%s': weight %lldx%lldx%lldx%lld does not fit %lld input channels",
                       b->file, name, (long long)cout, (long long)cin_g, (long long)kh, (long long)kw, (long long)x->d[1]);
    int bid = take(b, name, "bias", 1, 1, NULL);
    if (bid == -1) return -1;
    int64_t oh = conv_out(x->d[2], kh, stride[0], pad[0], dil[0]), ow = conv_out(x->d[3], kw, stride[1], pad[1], dil[1]);
    if (oh <= 0 || ow <= 0)
        return fc_fail(b->err, FC_EINPUT, "%s: module '%s': input %lldx%lld is too small for a %lldx%lld kernel", b->file,
                       name, (long long)x->d[2], (long long)x->d[3], (long long)kh, (long long)kw);
    int ins[3] = {x->id, wid, bid >= 0 ? bid : -1};
    ir_node *n;
    gb_val y;
    if (new_node(b, FCN_OP_CONV, name, ins, bid >= 0 ? 3 : 2, &y, &n)) return -1;
    int64_t ks[2] = {kh, kw}, pads[4] = {pad[0], pad[1], pad[0], pad[1]};
    ir_set_ints(n, FCN_ATTR_KERNEL_SHAPE, ks, 2);
    ir_set_ints(n, FCN_ATTR_STRIDES, stride, 2);
    ir_set_ints(n, FCN_ATTR_PADS, pads, 4);
    ir_set_ints(n, FCN_ATTR_DILATIONS, dil, 2);
    ir_set_int(n, FCN_ATTR_GROUP, groups);
    y.ndim = 4;
    y.d[0] = x->d[0]; y.d[1] = cout; y.d[2] = oh; y.d[3] = ow;
    *x = y;
    return 0;
}

int gb_conv(fcv_gb *b, gb_val *x, const char *name, int64_t stride, int64_t pad, int64_t dilation)
{
    int64_t s[2] = {stride, stride}, p[2] = {pad, pad}, d[2] = {dilation, dilation};
    return gb_conv2(b, x, name, s, p, d, 0);
}

int gb_bn(fcv_gb *b, gb_val *x, const char *name, double eps)
{
    const fc_array *a[4];
    static const char *const leaf[4] = {"weight", "bias", "running_mean", "running_var"};
    int ids[5] = {x->id};
    for (int i = 0; i < 4; i++) {
        ids[i + 1] = take(b, name, leaf[i], 1, 0, &a[i]);
        if (ids[i + 1] < 0) return -1;
        if (x->ndim < 2 || a[i]->dims[0] != x->d[1])
            return fc_fail(b->err, FC_EINPUT, "%s: module '%s': %s has %lld entries for %lld channels", b->file, name,
                           leaf[i], (long long)a[i]->dims[0], (long long)(x->ndim >= 2 ? x->d[1] : 0));
    }
    ir_node *n;
    gb_val y = *x;
    if (new_node(b, FCN_OP_BATCHNORM, name, ids, 5, &y, &n)) return -1;
    ir_set_float(n, FCN_ATTR_EPSILON, eps);
    *x = y;
    return 0;
}

int gb_linear(fcv_gb *b, gb_val *x, const char *name)
{
    const fc_array *wa;
    if (x->ndim != 2)
        return fc_fail(b->err, FC_EINPUT, "%s: module '%s': Linear on a %d-d input (flatten first)", b->file, name, x->ndim);
    int wid = take(b, name, "weight", 2, 0, &wa);
    if (wid < 0) return -1;
    if (wa->dims[1] != x->d[1])
        return fc_fail(b->err, FC_EINPUT, "%s: module '%s': weight %lldx%lld takes %lld features, the input has %lld",
                       b->file, name, (long long)wa->dims[0], (long long)wa->dims[1], (long long)wa->dims[1],
                       (long long)x->d[1]);
    int bid = take(b, name, "bias", 1, 1, NULL);
    if (bid == -1) return -1;
    int ins[3] = {x->id, wid, bid >= 0 ? bid : -1};
    ir_node *n;
    gb_val y;
    if (new_node(b, FCN_OP_GEMM, name, ins, bid >= 0 ? 3 : 2, &y, &n)) return -1;
    ir_set_int(n, FCN_ATTR_TRANS_B, 1);
    y.ndim = 2;
    y.d[0] = x->d[0];
    y.d[1] = wa->dims[0];
    *x = y;
    return 0;
}

int gb_act(fcv_gb *b, gb_val *x, int op, const char *name, double alpha, double beta)
{
    ir_node *n;
    gb_val y = *x;
    if (new_node(b, op, name, &x->id, 1, &y, &n)) return -1;
    if (op == FCN_OP_CLIP) {
        ir_set_float(n, FCN_ATTR_MIN, alpha);
        ir_set_float(n, FCN_ATTR_MAX, beta);
    } else if (op == FCN_OP_LEAKY_RELU) {
        ir_set_float(n, FCN_ATTR_ALPHA, alpha);
    }
    *x = y;
    return 0;
}

/* PyTorch's pooling output size, including its ceil_mode rule: the last window must start
 * inside the input or the left padding. */
static int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, int ceil_mode)
{
    int64_t span = in + 2 * p - (k - 1) - 1;
    if (span < 0) return 0;
    int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (out - 1) * s >= in + p) out--;
    return out;
}

int gb_pool(fcv_gb *b, gb_val *x, int op, const char *name, const int64_t k[2], const int64_t s[2],
            const int64_t p[2], int ceil_mode, int count_include_pad)
{
    if (x->ndim != 4)
        return fc_fail(b->err, FC_EINPUT, "%s: module '%s': 2-d pooling needs a 4-d input", b->file, name);
    if (k[0] <= 0 || k[1] <= 0 || s[0] <= 0 || s[1] <= 0 || p[0] < 0 || p[1] < 0 || 2 * p[0] > k[0] || 2 * p[1] > k[1])
        return fc_fail(b->err, FC_EINPUT, "%s: module '%s': bad pooling parameters", b->file, name);
    int64_t oh = pool_out(x->d[2], k[0], s[0], p[0], ceil_mode), ow = pool_out(x->d[3], k[1], s[1], p[1], ceil_mode);
    if (oh <= 0 || ow <= 0)
        return fc_fail(b->err, FC_EINPUT, "%s: module '%s': input %lldx%lld is smaller than the %lldx%lld window", b->file,
                       name, (long long)x->d[2], (long long)x->d[3], (long long)k[0], (long long)k[1]);
    ir_node *n;
    gb_val y = *x;
    if (new_node(b, op, name, &x->id, 1, &y, &n)) return -1;
    int64_t pads[4] = {p[0], p[1], p[0], p[1]};
    ir_set_ints(n, FCN_ATTR_KERNEL_SHAPE, k, 2);
    ir_set_ints(n, FCN_ATTR_STRIDES, s, 2);
    ir_set_ints(n, FCN_ATTR_PADS, pads, 4);
    if (ceil_mode) ir_set_int(n, FCN_ATTR_CEIL_MODE, 1);
    if (op == FCN_OP_AVGPOOL) ir_set_int(n, FCN_ATTR_COUNT_INCLUDE_PAD, count_include_pad);
    y.d[2] = oh;
    y.d[3] = ow;
    *x = y;
    return 0;
}

/* AdaptiveAvgPool2d is a plain pooling only when the bins are uniform: output 1x1 (global
 * pool), the same size (identity) or a size dividing the input (kernel = stride = in/out). */
int gb_adaptive_avg(fcv_gb *b, gb_val *x, const char *name, int64_t oh, int64_t ow)
{
    if (x->ndim != 4)
        return fc_fail(b->err, FC_EINPUT, "%s: module '%s': AdaptiveAvgPool2d needs a 4-d input", b->file, name);
    int64_t h = x->d[2], w = x->d[3];
    if (oh <= 0) oh = h;    /* None in output_size keeps the dimension */
    if (ow <= 0) ow = w;
    if (oh == h && ow == w) return 0;
    if (oh == 1 && ow == 1) {
        ir_node *n;
        gb_val y = *x;
        if (new_node(b, FCN_OP_GLOBAL_AVGPOOL, name, &x->id, 1, &y, &n)) return -1;
        y.d[2] = y.d[3] = 1;
        *x = y;
        return 0;
    }
    if (h < oh || w < ow || h % oh || w % ow)
        return fc_fail(b->err, FC_EINPUT,
                       "%s: module '%s': AdaptiveAvgPool2d to %lldx%lld at a %lldx%lld input is not a uniform pooling "
                       "(choose --input-shape so the map is a multiple of the output)",
                       b->file, name, (long long)oh, (long long)ow, (long long)h, (long long)w);
    int64_t k[2] = {h / oh, w / ow}, p[2] = {0, 0};
    return gb_pool(b, x, FCN_OP_AVGPOOL, name, k, k, p, 0, 0);
}

int gb_flatten(fcv_gb *b, gb_val *x, const char *name, int64_t start_dim)
{
    if (start_dim < 0) start_dim += x->ndim;
    if (start_dim != 1)
        return fc_fail(b->err, FC_EINPUT, "%s: module '%s': Flatten(start_dim=%lld) is not supported (only 1)", b->file,
                       name, (long long)start_dim);
    if (x->ndim == 2) return 0;
    int64_t f = 1;
    for (int i = 1; i < x->ndim; i++) f *= x->d[i];
    ir_node *n;
    gb_val y = *x;
    if (new_node(b, FCN_OP_FLATTEN, name, &x->id, 1, &y, &n)) return -1;
    ir_set_int(n, FCN_ATTR_AXIS, 1);
    y.ndim = 2;
    y.d[1] = f;
    y.d[2] = y.d[3] = 0;
    *x = y;
    return 0;
}

int gb_softmax(fcv_gb *b, gb_val *x, const char *name, int64_t axis)
{
    if (axis < 0) axis += x->ndim;
    if (axis < 0 || axis >= x->ndim)
        return fc_fail(b->err, FC_EINPUT, "%s: module '%s': Softmax dim out of range", b->file, name);
    ir_node *n;
    gb_val y = *x;
    if (new_node(b, FCN_OP_SOFTMAX, name, &x->id, 1, &y, &n)) return -1;
    ir_set_int(n, FCN_ATTR_AXIS, axis);
    *x = y;
    return 0;
}

int gb_add(fcv_gb *b, gb_val *x, gb_val y, const char *name)
{
    if (x->ndim != y.ndim || memcmp(x->d, y.d, sizeof x->d) != 0)
        return fc_fail(b->err, FC_EINPUT, "%s: '%s': residual shapes differ (%lldx%lldx%lld vs %lldx%lldx%lld)", b->file,
                       name, (long long)x->d[1], (long long)x->d[2], (long long)x->d[3], (long long)y.d[1],
                       (long long)y.d[2], (long long)y.d[3]);
    int ins[2] = {x->id, y.id};
    ir_node *n;
    gb_val z = *x;
    if (new_node(b, FCN_OP_ADD, name, ins, 2, &z, &n)) return -1;
    *x = z;
    return 0;
}

int gb_concat(fcv_gb *b, gb_val *x, const gb_val *parts, int n_parts, const char *name)
{
    int ins[8];
    if (n_parts < 1 || n_parts > 8) return fc_fail(b->err, FC_EINTERNAL, "%s: concat of %d parts", b->file, n_parts);
    gb_val z = parts[0];
    z.d[1] = 0;
    for (int i = 0; i < n_parts; i++) {
        if (parts[i].ndim != 4 || parts[i].d[2] != parts[0].d[2] || parts[i].d[3] != parts[0].d[3])
            return fc_fail(b->err, FC_EINPUT, "%s: '%s': concatenated maps differ in size", b->file, name);
        ins[i] = parts[i].id;
        z.d[1] += parts[i].d[1];
    }
    ir_node *n;
    if (new_node(b, FCN_OP_CONCAT, name, ins, n_parts, &z, &n)) return -1;
    ir_set_int(n, FCN_ATTR_AXIS, 1);
    *x = z;
    return 0;
}

/* ---- dispatch ---- */
typedef int (*arch_fn)(fcv_gb *, const char *, const fcv_import_options *, gb_val *);
static const struct { const char *name; arch_fn build; } archs[] = {
    {"alexnet", fcv_arch_alexnet},
    {"vgg11", fcv_arch_vgg}, {"vgg11_bn", fcv_arch_vgg}, {"vgg13", fcv_arch_vgg}, {"vgg13_bn", fcv_arch_vgg},
    {"vgg16", fcv_arch_vgg}, {"vgg16_bn", fcv_arch_vgg}, {"vgg19", fcv_arch_vgg}, {"vgg19_bn", fcv_arch_vgg},
    {"resnet18", fcv_arch_resnet}, {"resnet34", fcv_arch_resnet}, {"resnet50", fcv_arch_resnet},
    {"resnet101", fcv_arch_resnet}, {"resnet152", fcv_arch_resnet},
    {"mobilenet_v2", fcv_arch_mobilenet_v2},
    {"squeezenet1_0", fcv_arch_squeezenet}, {"squeezenet1_1", fcv_arch_squeezenet},
};

const char *fcv_arch_list(void)
{
    return "alexnet, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn, resnet18, resnet34, "
           "resnet50, resnet101, resnet152, mobilenet_v2, squeezenet1_0, squeezenet1_1";
}

int fcv_arch_build(const char *arch, const char *file, fcv_weights *w, const fcv_import_options *opt, ir_graph **out,
                   fc_error *err)
{
    *out = NULL;
    if (!file) file = "(weights)";
    arch_fn fn = NULL;
    for (size_t i = 0; i < sizeof archs / sizeof *archs; i++)
        if (arch && strcmp(arch, archs[i].name) == 0) fn = archs[i].build;
    if (!fn) return fc_fail(err, FC_EINPUT, "%s: unknown --arch '%s' (known: %s)", file, arch ? arch : "", fcv_arch_list());
    fcv_gb b;
    if (gb_init(&b, file, w, err)) return -1;
    gb_val x;
    int rc = fn(&b, arch, opt, &x);
    if (rc == 0) rc = gb_finish(&b, x, arch, out);
    gb_fini(&b);
    return rc;
}

static int has_key(const fcv_weights *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int has_key(const fcv_weights *w, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    int bad = vformat(name, sizeof name, fmt, ap);
    va_end(ap);
    return !bad && fcv_weights_find(w, name) != NULL;
}

const char *fcv_arch_guess(const fcv_weights *w)
{
    if (!w || !w->count) return NULL;
    if (has_key(w, "fc.weight") && has_key(w, "layer4.0.conv1.weight")) return fcv_arch_guess_resnet(w);
    if (has_key(w, "features.0.0.weight") && has_key(w, "features.18.0.weight") &&
        has_key(w, "features.1.conv.0.0.weight") && has_key(w, "classifier.1.weight"))
        return "mobilenet_v2";
    if (has_key(w, "features.3.squeeze.weight") && has_key(w, "classifier.1.weight")) {
        const fc_array *c0 = fcv_weights_find(w, "features.0.weight");
        if (!c0 || c0->ndim != 4) return NULL;
        if (c0->dims[2] == 7 && has_key(w, "features.12.squeeze.weight")) return "squeezenet1_0";
        if (c0->dims[2] == 3 && has_key(w, "features.12.squeeze.weight")) return "squeezenet1_1";
        return NULL;
    }
    if (has_key(w, "classifier.6.weight")) return fcv_arch_guess_vgg(w);
    return NULL;
}
