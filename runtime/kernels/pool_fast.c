/* pool_fast.c — fast paths for MaxPool (2-D, no dilation), GlobalAveragePool and same-shape
 * Add. Each kernel is threaded over planes / chunks; the reference op remains the fallback
 * for every other configuration (dilated pools, broadcasting adds, ...). */
#include <stdlib.h>
#include <string.h>
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/pool.h"

static void maxpool_range(void *ctx, int64_t p0, int64_t p1, int tid)
{
    (void)tid;
    fcn_maxpool_avx2(ctx, p0, p1);
}

static void run_maxpool(fcn_node *n, const fcn_exec *x)
{
    fcn_pool_args a = *(const fcn_pool_args *)n->fast;
    a.in = n->in[0]->data;
    a.out = n->out[0]->data;
    fcn_parallel_for(x, a.planes, maxpool_range, &a);
}

const fcn_pool_args *fcn_fast_maxpool_args(const fcn_node *n)
{
    return n->run_fast == run_maxpool ? n->fast : NULL;
}

static int64_t pad_begin(int64_t in, int64_t out, int64_t k, int64_t s, int auto_pad, int64_t explicit_begin)
{
    if (auto_pad == 3) return 0;
    if (auto_pad == 1 || auto_pad == 2) {
        int64_t total = (out - 1) * s + k - in;
        if (total < 0) total = 0;
        return auto_pad == 1 ? total / 2 : total - total / 2;
    }
    return explicit_begin;
}

static int maxpool_prepare(fcn_node *n, fc_error *err)
{
    fcn_tensor *X = n->in[0], *Y = n->out[0];
    if (n->n_out != 1 || X->dtype != FC_DT_F32 || X->ndim != 4 || Y->ndim != 4) return 0;
    int64_t k[2], s[2] = { 1, 1 }, d[2] = { 1, 1 }, pads[4] = { 0, 0, 0, 0 };
    if (fcn_attr_ints(n, FCN_ATTR_KERNEL_SHAPE, k, 2) != 2) return 0;
    fcn_attr_ints(n, FCN_ATTR_STRIDES, s, 2);
    if (fcn_attr_ints(n, FCN_ATTR_DILATIONS, d, 2) == 2 && (d[0] != 1 || d[1] != 1)) return 0;
    fcn_attr_ints(n, FCN_ATTR_PADS, pads, 4);
    int auto_pad = (int)fcn_attr_int(n, FCN_ATTR_AUTO_PAD, 0);
    fcn_pool_args *a = calloc(1, sizeof *a);
    if (!a) return fc_fail(err, FC_ENOMEM, "node '%s': out of memory", n->name);
    a->planes = X->dims[0] * X->dims[1];
    a->H = X->dims[2]; a->W = X->dims[3]; a->Ho = Y->dims[2]; a->Wo = Y->dims[3];
    a->kh = k[0]; a->kw = k[1]; a->sh = s[0]; a->sw = s[1];
    a->ph = pad_begin(a->H, a->Ho, a->kh, a->sh, auto_pad, pads[0]);
    a->pw = pad_begin(a->W, a->Wo, a->kw, a->sw, auto_pad, pads[1]);
    n->fast = a;
    n->free_fast = free;
    n->run_fast = run_maxpool;
    n->kernel = "maxpool-avx2";
    return 1;
}

/* AveragePool through fcn_poolk_avx512 (AVX-512): divides by the window's in-image count, which
 * is ONNX's count_include_pad = 0, and also its = 1 when there is no padding and no window
 * passes the image (ceil_mode) */
typedef struct avgpool_fast { fcn_pool_args a; } avgpool_fast;

static void avgpool_range(void *ctx, int64_t p0, int64_t p1, int tid)
{
    (void)tid;
    fcn_poolk_avx512(ctx, 1, 0, p0, p1);
}

static void run_avgpool(fcn_node *n, const fcn_exec *x)
{
    fcn_pool_args a = *(const fcn_pool_args *)n->fast;
    a.in = n->in[0]->data;
    a.out = n->out[0]->data;
    fcn_parallel_for(x, a.planes, avgpool_range, &a);
}

/* Installs run (kernel name `kernel`) with a malloc'd copy of its `bytes` of state as n->fast. */
static int install(fcn_node *n, const void *state, size_t bytes, void (*run)(fcn_node *, const fcn_exec *),
                   const char *kernel, fc_error *err)
{
    void *st = malloc(bytes);
    if (!st) return fc_fail(err, FC_ENOMEM, "node '%s': out of memory", n->name);
    memcpy(st, state, bytes);
    n->fast = st;
    n->free_fast = free;
    n->run_fast = run;
    n->kernel = kernel;
    return 1;
}

static int avgpool_prepare(fcn_node *n, fc_error *err)
{
    fcn_tensor *X = n->in[0], *Y = n->out[0];
    if (n->n_out != 1 || X->dtype != FC_DT_F32 || X->ndim != 4 || Y->ndim != 4) return 0;
    int64_t k[2], s[2] = { 1, 1 }, pads[4] = { 0, 0, 0, 0 };
    if (fcn_attr_ints(n, FCN_ATTR_KERNEL_SHAPE, k, 2) != 2) return 0;
    fcn_attr_ints(n, FCN_ATTR_STRIDES, s, 2);
    fcn_attr_ints(n, FCN_ATTR_PADS, pads, 4);
    int auto_pad = (int)fcn_attr_int(n, FCN_ATTR_AUTO_PAD, 0);
    fcn_pool_args a = { 0 };
    a.planes = X->dims[0] * X->dims[1];
    a.H = X->dims[2]; a.W = X->dims[3]; a.Ho = Y->dims[2]; a.Wo = Y->dims[3];
    a.kh = k[0]; a.kw = k[1]; a.sh = s[0]; a.sw = s[1];
    a.ph = pad_begin(a.H, a.Ho, a.kh, a.sh, auto_pad, pads[0]);
    a.pw = pad_begin(a.W, a.Wo, a.kw, a.sw, auto_pad, pads[1]);
    if (!fcn_poolk_avx512_applies(&a)) return 0;
    if (fcn_attr_int(n, FCN_ATTR_COUNT_INCLUDE_PAD, 0) != 0) {
        int inside = a.ph == 0 && a.pw == 0 && auto_pad == 0 && pads[2] == 0 && pads[3] == 0 &&
                     (a.Ho - 1) * a.sh + a.kh <= a.H && (a.Wo - 1) * a.sw + a.kw <= a.W;
        if (!inside) return 0;
    }
    return install(n, &a, sizeof a, run_avgpool, "avgpool-avx512", err);
}

typedef struct gap_ctx { const float *in; float *out; int64_t hw; } gap_ctx;
static void gap_range(void *vctx, int64_t p0, int64_t p1, int tid)
{
    (void)tid;
    const gap_ctx *g = vctx;
    fcn_gap_avx2(g->in, g->out, g->hw, p0, p1);
}

static void run_gap(fcn_node *n, const fcn_exec *x)
{
    const fcn_tensor *X = n->in[0];
    gap_ctx g = { X->data, n->out[0]->data, X->dims[2] * X->dims[3] };
    fcn_parallel_for(x, X->dims[0] * X->dims[1], gap_range, &g);
}

/* ReduceMean over the trailing axes (x.mean([2, 3]) in MnasNet, ResNet variants): the same
 * rows-of-inner-size means as GlobalAveragePool, whatever keepdims (the output cells are the
 * leading axes in order either way). */
static int64_t trailing_mean_inner(const fcn_node *n)
{
    const fcn_tensor *X = n->in[0];
    if (X->dtype != FC_DT_F32 || X->ndim < 2 || fcn_attr_int(n, FCN_ATTR_NOOP_WITH_EMPTY_AXES, 0)) return 0;
    int64_t axes[FCN_MAX_ATTR_VALUES];
    int na = fcn_attr_ints(n, FCN_ATTR_AXES, axes, FCN_MAX_ATTR_VALUES);
    if (na <= 0 || na >= X->ndim) return 0;
    int reduced[FCN_MAX_DIMS] = { 0 };
    for (int i = 0; i < na; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + X->ndim : axes[i];
        if (a < 0 || a >= X->ndim || reduced[a]) return 0;
        reduced[a] = 1;
    }
    int64_t inner = 1;
    for (int i = 0; i < X->ndim; i++) {
        if (reduced[i] != (i >= X->ndim - na)) return 0;
        if (reduced[i]) inner *= X->dims[i];
    }
    return inner > 0 ? inner : 0;
}

static void run_trailing_mean(fcn_node *n, const fcn_exec *x)
{
    const fcn_tensor *X = n->in[0];
    gap_ctx g = { X->data, n->out[0]->data, *(const int64_t *)n->fast };
    fcn_parallel_for(x, (int64_t)n->out[0]->numel, gap_range, &g);
}

typedef struct add_ctx { const float *a, *b; float *y; const fcn_node *n; } add_ctx;
static void add_range(void *vctx, int64_t i0, int64_t i1, int tid)
{
    (void)tid;
    const add_ctx *c = vctx;
    /* chunks of 4096 elements */
    int64_t total = (int64_t)c->n->out[0]->numel;
    int64_t b = i0 * 4096, e = i1 * 4096 > total ? total : i1 * 4096;
    fcn_add_avx2(c->a + b, c->b + b, c->y + b, e - b, c->n->act, c->n->act_alpha, c->n->act_beta);
}

static void run_add(fcn_node *n, const fcn_exec *x)
{
    add_ctx c = { n->in[0]->data, n->in[1]->data, n->out[0]->data, n };
    fcn_parallel_for(x, ((int64_t)n->out[0]->numel + 4095) / 4096, add_range, &c);
}

static int same_shape(const fcn_tensor *a, const fcn_tensor *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

int fcn_fast_pool_prepare(fcn_node *n, fc_error *err)
{
    switch (n->op) {
    case FCN_OP_MAXPOOL:
        return maxpool_prepare(n, err);
    case FCN_OP_AVGPOOL:
        return avgpool_prepare(n, err);
    case FCN_OP_GLOBAL_AVGPOOL:
        if (n->in[0]->dtype != FC_DT_F32 || n->in[0]->ndim != 4) return 0;
        n->run_fast = run_gap;
        n->kernel = "gap-avx2";
        return 1;
    case FCN_OP_REDUCE_MEAN: {
        int64_t inner = trailing_mean_inner(n);
        if (!inner || (int64_t)n->out[0]->numel * inner != (int64_t)n->in[0]->numel) return 0;
        return install(n, &inner, sizeof inner, run_trailing_mean, "gap-avx2", err);
    }
    case FCN_OP_ADD:
        if (n->n_in != 2 || n->in[0]->dtype != FC_DT_F32 || n->in[1]->dtype != FC_DT_F32 ||
            !same_shape(n->in[0], n->in[1]) || !same_shape(n->in[0], n->out[0]))
            return 0;
        n->run_fast = run_add;
        n->kernel = "add-avx2";
        return 1;
    default:
        return 0;
    }
}
