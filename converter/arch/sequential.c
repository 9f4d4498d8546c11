/* sequential.c — whole-model pickles of nn.Sequential (nested too) and of lone layers: the
 * module records read by pickle.c (class name + __dict__ state: _modules, hyper-parameters such
 * as stride/padding/eps) mapped layer by layer onto the IR, weights taken by module path.
 * torch.flatten and nn.Linear semantics are NCHW / row-major like the runtime, so no permutes. */
#include "converter/arch/arch_build.h"
#include "converter/pickle.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

typedef struct seq_ctx {
    const char *file;
    fc_error *err;
    uint64_t visits;              /* module records walked: shared submodules could make a DAG explode */
} seq_ctx;

#define SEQ_MAX_VISITS 1000000

static int count_visit(seq_ctx *c)
{
    if (++c->visits > SEQ_MAX_VISITS)
        return fc_fail(c->err, FC_EINPUT, "%s: more than %d module records to walk (shared submodules?)", c->file,
                       SEQ_MAX_VISITS);
    return 0;
}

static int join(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s%s%s", a, *a ? "." : "", b);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static const fcv_pk *attr(const fcv_pk *mod, const char *key) { return fcv_pk_dict_get(mod->state, key); }

/* int or (int, int) hyper-parameter */
static int pair(seq_ctx *c, const fcv_pk *mod, const char *path, const char *key, int64_t def, int64_t out[2])
{
    const fcv_pk *v = attr(mod, key);
    if (!v || v->kind == FCV_PK_NONE) { out[0] = out[1] = def; return 0; }
    if (v->kind == FCV_PK_INT) { out[0] = out[1] = v->i; return 0; }
    if ((v->kind == FCV_PK_TUPLE || v->kind == FCV_PK_LIST) && v->n == 2 && v->items[0]->kind == FCV_PK_INT &&
        v->items[1]->kind == FCV_PK_INT) {
        out[0] = v->items[0]->i;
        out[1] = v->items[1]->i;
        return 0;
    }
    if ((v->kind == FCV_PK_TUPLE || v->kind == FCV_PK_LIST) && v->n == 2) {   /* (6, None) */
        out[0] = v->items[0]->kind == FCV_PK_INT ? v->items[0]->i : -1;
        out[1] = v->items[1]->kind == FCV_PK_INT ? v->items[1]->i : -1;
        return 0;
    }
    return fc_fail(c->err, FC_EINPUT, "%s: module '%s': '%s' is not an int or a pair", c->file, path, key);
}

static double num(const fcv_pk *mod, const char *key, double def)
{
    const fcv_pk *v = attr(mod, key);
    if (!v) return def;
    if (v->kind == FCV_PK_FLOAT) return v->f;
    if (v->kind == FCV_PK_INT || v->kind == FCV_PK_BOOL) return (double)v->i;
    return def;
}

static const char *short_class(const fcv_pk *mod)
{
    const char *cls = fcv_pk_class(mod);
    if (!cls) return "";
    const char *dot = strrchr(cls, '.');
    return dot ? dot + 1 : cls;
}

static int is_container(const fcv_pk *mod)
{
    const char *cls = fcv_pk_class(mod);
    return cls && strcmp(cls, "torch.nn.modules.container.Sequential") == 0;
}

/* The first leaf module in forward order (for the input-shape guess). */
static const fcv_pk *first_leaf(const fcv_pk *mod, int depth)
{
    if (depth > 100 || !mod || mod->kind != FCV_PK_OBJECT) return NULL;
    if (!is_container(mod)) return mod;
    const fcv_pk *mods = attr(mod, "_modules");
    if (!mods || mods->kind != FCV_PK_DICT) return NULL;
    for (size_t i = 0; i + 1 < mods->n; i += 2) {
        const fcv_pk *leaf = first_leaf(mods->items[i + 1], depth + 1);
        if (leaf) return leaf;
    }
    return NULL;
}

static int seq_layer(seq_ctx *c, fcv_gb *b, const fcv_pk *mod, const char *path, gb_val *x)
{
    const char *k = short_class(mod);
    int64_t s[2], p[2], d[2], ks[2];
    if (strcmp(k, "Conv2d") == 0) {
        const fcv_pk *pad = attr(mod, "padding"), *pm = attr(mod, "padding_mode");
        if (pm && !fcv_pk_is_str(pm, "zeros"))
            return fc_fail(c->err, FC_EINPUT, "%s: module '%s': Conv2d padding_mode '%s' is not supported", c->file, path, pm->s);
        if (pair(c, mod, path, "stride", 1, s) || pair(c, mod, path, "dilation", 1, d) ||
            pair(c, mod, path, "kernel_size", 1, ks))
            return -1;
        if (fcv_pk_is_str(pad, "valid")) {
            p[0] = p[1] = 0;
        } else if (fcv_pk_is_str(pad, "same")) {
            for (int i = 0; i < 2; i++) {
                int64_t total = d[i] * (ks[i] - 1);
                if (total % 2) return fc_fail(c->err, FC_EINPUT, "%s: module '%s': padding='same' with an even kernel is asymmetric (not supported)", c->file, path);
                p[i] = total / 2;
            }
        } else if (pair(c, mod, path, "padding", 0, p)) {
            return -1;
        }
        return gb_conv2(b, x, path, s, p, d, (int64_t)num(mod, "groups", 1));
    }
    if (strcmp(k, "Linear") == 0) return gb_linear(b, x, path);
    if (strcmp(k, "BatchNorm2d") == 0 || strcmp(k, "BatchNorm1d") == 0) {
        const fcv_pk *trs = attr(mod, "track_running_stats");
        if (trs && trs->kind == FCV_PK_BOOL && !trs->i)
            return fc_fail(c->err, FC_EINPUT, "%s: module '%s': BatchNorm without running statistics", c->file, path);
        return gb_bn(b, x, path, num(mod, "eps", 1e-5));
    }
    if (strcmp(k, "ReLU") == 0) return gb_act(b, x, FCN_OP_RELU, path, 0, 0);
    if (strcmp(k, "ReLU6") == 0 || strcmp(k, "Hardtanh") == 0)
        return gb_act(b, x, FCN_OP_CLIP, path, num(mod, "min_val", 0), num(mod, "max_val", 6));
    if (strcmp(k, "LeakyReLU") == 0) return gb_act(b, x, FCN_OP_LEAKY_RELU, path, num(mod, "negative_slope", 0.01), 0);
    if (strcmp(k, "Sigmoid") == 0) return gb_act(b, x, FCN_OP_SIGMOID, path, 0, 0);
    if (strcmp(k, "Tanh") == 0) return gb_act(b, x, FCN_OP_TANH, path, 0, 0);
    if (strcmp(k, "Hardswish") == 0) return gb_act(b, x, FCN_OP_HARD_SWISH, path, 0, 0);
    if (strcmp(k, "MaxPool2d") == 0 || strcmp(k, "AvgPool2d") == 0) {
        int is_max = k[0] == 'M';
        if (pair(c, mod, path, "kernel_size", 1, ks) || pair(c, mod, path, "stride", 0, s) ||
            pair(c, mod, path, "padding", 0, p) || (is_max && pair(c, mod, path, "dilation", 1, d)))
            return -1;
        if (s[0] <= 0) { s[0] = ks[0]; s[1] = ks[1]; }   /* stride=None means the kernel size */
        if (is_max && (d[0] != 1 || d[1] != 1))
            return fc_fail(c->err, FC_EINPUT, "%s: module '%s': dilated MaxPool2d is not supported", c->file, path);
        if (is_max && num(mod, "return_indices", 0))
            return fc_fail(c->err, FC_EINPUT, "%s: module '%s': MaxPool2d(return_indices=True) is not supported", c->file, path);
        const fcv_pk *div = attr(mod, "divisor_override");
        if (!is_max && div && div->kind != FCV_PK_NONE)
            return fc_fail(c->err, FC_EINPUT, "%s: module '%s': AvgPool2d divisor_override is not supported", c->file, path);
        return gb_pool(b, x, is_max ? FCN_OP_MAXPOOL : FCN_OP_AVGPOOL, path, ks, s, p, (int)num(mod, "ceil_mode", 0),
                       (int)num(mod, "count_include_pad", 1));
    }
    if (strcmp(k, "AdaptiveAvgPool2d") == 0) {
        int64_t o[2];
        if (pair(c, mod, path, "output_size", 1, o)) return -1;
        return gb_adaptive_avg(b, x, path, o[0], o[1]);
    }
    if (strcmp(k, "Flatten") == 0) {
        if (num(mod, "end_dim", -1) != -1)
            return fc_fail(c->err, FC_EINPUT, "%s: module '%s': Flatten end_dim other than -1 is not supported", c->file, path);
        return gb_flatten(b, x, path, (int64_t)num(mod, "start_dim", 1));
    }
    if (strcmp(k, "Softmax") == 0) {
        const fcv_pk *dim = attr(mod, "dim");
        if (!dim || dim->kind != FCV_PK_INT)
            return fc_fail(c->err, FC_EINPUT, "%s: module '%s': Softmax without an explicit dim", c->file, path);
        return gb_softmax(b, x, path, dim->i);
    }
    if (strcmp(k, "Dropout") == 0 || strcmp(k, "Dropout2d") == 0 || strcmp(k, "Identity") == 0) return 0;
    return fc_fail(c->err, FC_EINPUT, "%s: module '%s' (%s) is not supported in an nn.Sequential import", c->file, path,
                   fcv_pk_class(mod));
}

static int seq_walk(seq_ctx *c, fcv_gb *b, const fcv_pk *mod, const char *path, gb_val *x, int depth)
{
    if (count_visit(c)) return -1;
    if ((uint32_t)depth > fc_limits_current.max_nesting)
        return fc_fail(c->err, FC_EINPUT, "%s: module tree deeper than %u", c->file, fc_limits_current.max_nesting);
    if (!mod->state || mod->state->kind != FCV_PK_DICT)
        return fc_fail(c->err, FC_EINPUT, "%s: module '%s' has no state", c->file, path);
    if (!is_container(mod)) return seq_layer(c, b, mod, path, x);
    const fcv_pk *mods = attr(mod, "_modules");
    if (!mods || mods->kind != FCV_PK_DICT) return fc_fail(c->err, FC_EINPUT, "%s: Sequential '%s' without _modules", c->file, path);
    char name[512];
    for (size_t i = 0; i + 1 < mods->n; i += 2) {
        const fcv_pk *k = mods->items[i], *v = mods->items[i + 1];
        if (k->kind != FCV_PK_STR || v->kind != FCV_PK_OBJECT)
            return fc_fail(c->err, FC_EINPUT, "%s: Sequential '%s': bad child", c->file, path);
        if (join(name, sizeof name, path, k->s)) return fc_fail(c->err, FC_EINPUT, "%s: module path too long", c->file);
        if (seq_walk(c, b, v, name, x, depth + 1)) return -1;
    }
    return 0;
}

const char *fcv_sequential_weight_prefix(const fcv_pk *root)
{
    const char *cls = fcv_pk_class(root);
    return cls && strncmp(cls, "torch.nn.modules.", 17) == 0 && !is_container(root) ? short_class(root) : "";
}

int fcv_arch_sequential(const char *file, const fcv_pk *root, fcv_weights *w, const fcv_import_options *opt,
                        cJSON *meta, ir_graph **out, fc_error *err)
{
    seq_ctx ctx = {file, err, 0}, *c = &ctx;
    const char *root_path = fcv_sequential_weight_prefix(root);
    fcv_gb b;
    if (gb_init(&b, c->file, w, c->err)) return -1;
    gb_val x;
    int rc;
    char guessed[64] = "";
    if (opt && opt->n_input_dims) {
        rc = gb_input_dims(&b, opt->n_input_dims, opt->input_dims, &x);
    } else {
        /* no shape in the file: take it from the first layer and say so */
        const fcv_pk *leaf = first_leaf(root, 0);
        const char *k = leaf ? short_class(leaf) : "";
        int64_t dims[4] = {1, 0, 224, 224};
        int nd = 0;
        if (strcmp(k, "Conv2d") == 0) { dims[1] = (int64_t)num(leaf, "in_channels", 0); nd = 4; }
        else if (strcmp(k, "Linear") == 0) { dims[1] = (int64_t)num(leaf, "in_features", 0); nd = 2; }
        if (!nd || dims[1] <= 0) {
            gb_fini(&b);
            return fc_fail(c->err, FC_EINPUT, "%s: cannot tell the input shape (first layer %s): pass --input-shape", c->file,
                           *k ? k : "unknown");
        }
        fc_format_dims(nd, dims, guessed, sizeof guessed);
        rc = gb_input_dims(&b, nd, dims, &x);
    }
    if (rc == 0) rc = seq_walk(c, &b, root, root_path, &x, 0);
    if (rc == 0) rc = gb_finish(&b, x, "nn.Sequential", out);
    if (rc == 0 && guessed[0]) {
        fprintf(stderr, "%s: no input shape in the file: using %s from the first layer (--input-shape to change)\n",
                c->file, guessed);
        if (meta) cJSON_AddStringToObject(meta, "torch_input_shape_guessed", guessed);
    }
    gb_fini(&b);
    return rc;
}

