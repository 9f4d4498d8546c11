/* eltwise_fast.c — fast paths for the elementwise ops that whole model families lean on:
 *   unary activations  Relu, Clip (constant bounds), LeakyRelu, Sigmoid, Swish, HardSwish,
 *                      HardSigmoid: act_avx2.c over chunks (EfficientNet's 49 Swish nodes ran
 *                      the scalar expf at 17 ms of a 31 ms model)
 *   BatchNormalization y = x·a[c] + b[c] (+ its fused activation), a and b folded once here
 *                      (DenseNet's pre-activation BN → ReLU, which cannot fold into a conv)
 *   Mul by a per-channel tensor  x[N,C,H,W] · s[N,C,1,1] in either order (the squeeze-and-
 *                      excitation scale of MobileNetV3 / EfficientNet / MnasNet-style blocks)
 * Each threaded over chunks or planes; every other case stays on the reference op. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "runtime/kernels/kernels.h"

#define CHUNK 8192   /* floats a task: 32 KB, one L1's worth */

/* ---- unary activations ------------------------------------------------------------------ */
typedef struct unary_fast { int act; float alpha, beta; } unary_fast;

typedef struct unary_task { const unary_fast *u; const float *in; float *out; int64_t n; } unary_task;

static void unary_range(void *vctx, int64_t c0, int64_t c1, int tid)
{
    (void)tid;
    const unary_task *t = vctx;
    int64_t b = c0 * CHUNK, e = c1 * CHUNK < t->n ? c1 * CHUNK : t->n;
    fcn_act_map_avx2(t->u->act, t->u->alpha, t->u->beta, t->in + b, t->out + b, e - b);
}

static void run_unary(fcn_node *n, const fcn_exec *x)
{
    unary_task t = { n->fast, n->in[0]->data, n->out[0]->data, (int64_t)n->out[0]->numel };
    fcn_parallel_for(x, (t.n + CHUNK - 1) / CHUNK, unary_range, &t);
}

static int unary_prepare(fcn_node *n)
{
    unary_fast u = { FCN_ACT_NONE, 0.0f, 0.0f };
    switch (n->op) {
    case FCN_OP_RELU: u.act = FCN_ACT_RELU; break;
    case FCN_OP_SIGMOID: u.act = FCN_ACT_SIGMOID; break;
    case FCN_OP_SWISH: u.act = FCN_ACT_SWISH; break;
    case FCN_OP_HARD_SWISH: u.act = FCN_ACT_HARD_SWISH; break;
    case FCN_OP_LEAKY_RELU:
        u.act = FCN_ACT_LEAKY_RELU;
        u.alpha = fcn_attr_float(n, FCN_ATTR_ALPHA, 0.01f);
        break;
    case FCN_OP_HARD_SIGMOID:
        u.act = FCN_ACT_HARD_SIGMOID;
        u.alpha = fcn_attr_float(n, FCN_ATTR_ALPHA, 0.2f);
        u.beta = fcn_attr_float(n, FCN_ATTR_BETA, 0.5f);
        break;
    case FCN_OP_CLIP:
        if (n->n_in > 1) return 0;   /* bounds as tensors: the reference op */
        u.act = FCN_ACT_CLIP;
        u.alpha = fcn_attr_float(n, FCN_ATTR_MIN, -INFINITY);
        u.beta = fcn_attr_float(n, FCN_ATTR_MAX, INFINITY);
        break;
    default: return 0;
    }
    if (n->n_in < 1 || n->n_out != 1 || n->in[0]->dtype != FC_DT_F32 || n->out[0]->numel != n->in[0]->numel) return 0;
    unary_fast *st = malloc(sizeof *st);
    if (!st) return -1;
    *st = u;
    n->fast = st;
    n->free_fast = free;
    n->run_fast = run_unary;
    n->kernel = "act-avx2";
    return 1;
}

/* ---- per-channel affine: BatchNormalization, Mul by [N,C,1,1] --------------------------- */
typedef struct affine_fast {
    int64_t batch, channels, inner;
    int scale_input;               /* Mul: the input holding the per-channel factors (0 or 1) */
    float *ab;                     /* BN: a[c], b[c] interleaved */
} affine_fast;

static void affine_free(void *p)
{
    affine_fast *f = p;
    if (f) free(f->ab);
    free(f);
}

typedef struct affine_task { const affine_fast *f; const fcn_node *n; } affine_task;

static void affine_range(void *vctx, int64_t p0, int64_t p1, int tid)
{
    (void)tid;
    const affine_task *t = vctx;
    const affine_fast *f = t->f;
    const fcn_node *n = t->n;
    int mul = n->op == FCN_OP_MUL;
    const float *x = n->in[mul ? 1 - f->scale_input : 0]->data;
    const float *s = mul ? n->in[f->scale_input]->data : NULL;
    float *y = n->out[0]->data;
    for (int64_t p = p0; p < p1; p++) {
        int64_t c = p % f->channels;
        float a = mul ? s[p] : f->ab[2 * c], b = mul ? 0.0f : f->ab[2 * c + 1];
        fcn_affine_act_avx2(x + p * f->inner, y + p * f->inner, f->inner, a, b, n->act, n->act_alpha, n->act_beta);
    }
}

static void run_affine(fcn_node *n, const fcn_exec *x)
{
    const affine_fast *f = n->fast;
    affine_task t = { f, n };
    fcn_parallel_for(x, f->batch * f->channels, affine_range, &t);
}

static int install_affine(fcn_node *n, affine_fast *f, const char *kernel)
{
    affine_fast *st = malloc(sizeof *st);
    if (!st) {
        free(f->ab);
        return -1;
    }
    *st = *f;
    n->fast = st;
    n->free_fast = affine_free;
    n->run_fast = run_affine;
    n->kernel = kernel;
    return 1;
}

const float *fcn_fast_bn_ab(const fcn_node *n)
{
    return n->op == FCN_OP_BATCHNORM && n->run_fast == run_affine ? ((const affine_fast *)n->fast)->ab : NULL;
}

static int bn_prepare(fcn_node *n)
{
    if (n->n_in != 5 || n->n_out != 1 || n->in[0]->dtype != FC_DT_F32 || n->in[0]->ndim < 2) return 0;
    for (int i = 1; i < 5; i++)
        if (!n->in[i] || !n->in[i]->is_const || n->in[i]->dtype != FC_DT_F32) return 0;
    const fcn_tensor *x = n->in[0];
    affine_fast f = { x->dims[0], x->dims[1], 1, 0, NULL };
    for (int d = 2; d < x->ndim; d++) f.inner *= x->dims[d];
    float eps = fcn_attr_float(n, FCN_ATTR_EPSILON, 1e-5f);
    f.ab = malloc(sizeof(float) * 2 * (size_t)(f.channels > 0 ? f.channels : 1));
    if (!f.ab) return -1;
    const float *scale = n->in[1]->data, *bias = n->in[2]->data, *mean = n->in[3]->data, *var = n->in[4]->data;
    for (int64_t c = 0; c < f.channels; c++) {   /* as the reference op computes them */
        float a = scale[c] / sqrtf(var[c] + eps);
        f.ab[2 * c] = a;
        f.ab[2 * c + 1] = bias[c] - mean[c] * a;
    }
    return install_affine(n, &f, "bn-avx2");
}

/* x [N,C,...] (rank >= 3) times s of shape [N,C,1,...]; either input order */
static int mul_prepare(fcn_node *n)
{
    if (n->n_in != 2 || n->n_out != 1 || !n->in[0] || !n->in[1] || n->act != FCN_ACT_NONE) return 0;
    for (int si = 0; si < 2; si++) {
        const fcn_tensor *x = n->in[1 - si], *s = n->in[si];
        if (x->dtype != FC_DT_F32 || s->dtype != FC_DT_F32 || x->ndim < 3 || n->out[0]->numel != x->numel) continue;
        int ok = s->ndim == x->ndim && s->dims[0] == x->dims[0] && s->dims[1] == x->dims[1];
        for (int d = 2; ok && d < x->ndim; d++) ok = s->dims[d] == 1;
        if (!ok) continue;
        affine_fast f = { x->dims[0], x->dims[1], 1, si, NULL };
        for (int d = 2; d < x->ndim; d++) f.inner *= x->dims[d];
        if (f.inner < 16) return 0;   /* tiny planes: the task overhead wins */
        return install_affine(n, &f, "scale-avx2");
    }
    return 0;
}

int fcn_fast_eltwise_prepare(fcn_node *n, fc_error *err)
{
    int r;
    switch (n->op) {
    case FCN_OP_BATCHNORM: r = bn_prepare(n); break;
    case FCN_OP_MUL: r = mul_prepare(n); break;
    default: r = unary_prepare(n); break;
    }
    if (r < 0) return fc_fail(err, FC_ENOMEM, "node '%s': out of memory", n->name);
    return r;
}
