/* pool.c — MaxPool (dilations, ceil_mode, pads, auto_pad; storage_order is irrelevant without
 * the Indices output, which is refused), AveragePool (pads, count_include_pad, ceil_mode,
 * auto_pad, dilations as in opset 19; divisor as PyTorch / onnxruntime, see avgpool_planes),
 * both 2-D NCHW; GlobalAveragePool / GlobalMaxPool over all spatial dims (any rank). */
#include "runtime/ops/ops_internal.h"

#include <math.h>

static int pool_infer(fcn_node *n, fc_error *err)
{
        if (n->n_out != 1)
        return fcn_node_fail(n, err, "the Indices output (%d outputs) is not supported", n->n_out);
    if (fcn_check_dtype(n, err, 0, FC_DT_F32)) return -1;
    const fcn_tensor *x = n->in[0];
    if (x->ndim != 4)
        return fcn_node_fail(n, err, "only 2-D pooling supported (input has rank %d, expected 4: NCHW)", x->ndim);
    int64_t ks[FCN_MAX_ATTR_VALUES];
    int nk = fcn_attr_ints(n, FCN_ATTR_KERNEL_SHAPE, ks, FCN_MAX_ATTR_VALUES);
    if (nk < 0) return fcn_node_fail(n, err, "kernel_shape is required");
    if (nk != 2) return fcn_node_fail(n, err, "kernel_shape has %d values, expected 2 (2-D)", nk);
    if (ks[0] > INT32_MAX || ks[1] > INT32_MAX)
        return fcn_node_fail(n, err, "kernel_shape [%lld, %lld] is too large", (long long)ks[0], (long long)ks[1]);
    fcn_pool_params *p = fcn_alloc_params(n, err, sizeof *p);
    if (!p) return -1;
    if (fcn_window2d_resolve(n, err, x->dims[2], x->dims[3], ks[0], ks[1], 1, 1, &p->win)) return -1;
    int64_t cip = fcn_attr_int(n, FCN_ATTR_COUNT_INCLUDE_PAD, 0);
    if (cip != 0 && cip != 1) return fcn_node_fail(n, err, "count_include_pad must be 0 or 1, got %lld", (long long)cip);
    p->count_include_pad = (int)cip;
    p->batch = x->dims[0];
    p->channels = x->dims[1];
    int64_t dims[4] = { x->dims[0], x->dims[1], p->win.oh, p->win.ow };
    fcn_set_out(n->out[0], FC_DT_F32, 4, dims);
    n->macs = (uint64_t)fcn_numel_dims(4, dims) * (uint64_t)(ks[0] * ks[1]);
    return 0;
}

/* planes [begin, end) of (batch, channel), split across threads */
static void maxpool_planes(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    fcn_node *n = ctx;
    const fcn_pool_params *p = n->params;
    const fcn_window2d *w = &p->win;
    const float *in = n->in[0]->data;
    float *out = n->out[0]->data;
    for (int64_t plane = begin; plane < end; plane++) {
        const float *src = in + plane * w->ih * w->iw;
        float *dst = out + plane * w->oh * w->ow;
        for (int64_t oy = 0; oy < w->oh; oy++) {
            for (int64_t ox = 0; ox < w->ow; ox++) {
                float m = -INFINITY;
                for (int64_t ky = 0; ky < w->kh; ky++) {
                    int64_t iy = oy * w->sh - w->pad_top + ky * w->dh;
                    if (iy < 0 || iy >= w->ih) continue;
                    for (int64_t kx = 0; kx < w->kw; kx++) {
                        int64_t ix = ox * w->sw - w->pad_left + kx * w->dw;
                        if (ix < 0 || ix >= w->iw) continue;
                        float v = src[iy * w->iw + ix];
                        if (v > m || v != v) m = v;
                    }
                }
                dst[oy * w->ow + ox] = m;
            }
        }
    }
}

/* The divisor counts window cells inside the input (count_include_pad = 0) or inside the
 * explicitly padded area (= 1); cells a ceil_mode window hangs past the padding never count. */
static void avgpool_planes(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    fcn_node *n = ctx;
    const fcn_pool_params *p = n->params;
    const fcn_window2d *w = &p->win;
    const float *in = n->in[0]->data;
    float *out = n->out[0]->data;
    for (int64_t plane = begin; plane < end; plane++) {
        const float *src = in + plane * w->ih * w->iw;
        float *dst = out + plane * w->oh * w->ow;
        for (int64_t oy = 0; oy < w->oh; oy++) {
            for (int64_t ox = 0; ox < w->ow; ox++) {
                float sum = 0.0f;
                int64_t inside = 0, padded = 0;
                for (int64_t ky = 0; ky < w->kh; ky++) {
                    int64_t iy = oy * w->sh - w->pad_top + ky * w->dh;
                    int y_in = iy >= 0 && iy < w->ih, y_pad = iy >= -w->pad_top && iy < w->ih + w->pad_bottom;
                    for (int64_t kx = 0; kx < w->kw; kx++) {
                        int64_t ix = ox * w->sw - w->pad_left + kx * w->dw;
                        if (y_in && ix >= 0 && ix < w->iw) {
                            sum += src[iy * w->iw + ix];
                            inside++;
                        } else if (y_pad && ix >= -w->pad_left && ix < w->iw + w->pad_right) {
                            padded++;
                        }
                    }
                }
                int64_t count = p->count_include_pad ? inside + padded : inside;
                dst[oy * w->ow + ox] = count > 0 ? sum / (float)count : 0.0f;
            }
        }
    }
}

static void maxpool_run(fcn_node *n, const fcn_exec *x)
{
    const fcn_pool_params *p = n->params;
    fcn_parallel_for(x, p->batch * p->channels, maxpool_planes, n);
}

static void avgpool_run(fcn_node *n, const fcn_exec *x)
{
    const fcn_pool_params *p = n->params;
    fcn_parallel_for(x, p->batch * p->channels, avgpool_planes, n);
}

/* ---- global pools ------------------------------------------------------------------------ */

static int global_pool_infer(fcn_node *n, fc_error *err)
{
    if (fcn_check_dtype(n, err, 0, FC_DT_F32) || fcn_check_rank(n, err, 0, 3, FCN_MAX_DIMS)) return -1;
    const fcn_tensor *x = n->in[0];
    int64_t dims[FCN_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    if (fcn_numel_dims(x->ndim - 2, x->dims + 2) == 0)
        return fcn_node_fail(n, err, "spatial size is 0");
    fcn_set_out(n->out[0], FC_DT_F32, x->ndim, dims);
    n->macs = (uint64_t)fcn_numel_dims(x->ndim, x->dims);
    return 0;
}

static void global_pool_run(fcn_node *n, const fcn_exec *x)
{
    (void)x;
    const fcn_tensor *t = n->in[0];
    const float *in = t->data;
    float *out = n->out[0]->data;
    int64_t planes = t->dims[0] * t->dims[1], size = fcn_numel_dims(t->ndim - 2, t->dims + 2);
    int is_max = n->op == FCN_OP_GLOBAL_MAXPOOL;
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *src = in + pl * size;
        if (is_max) {
            float m = -INFINITY;
            for (int64_t i = 0; i < size; i++)
                if (src[i] > m || src[i] != src[i]) m = src[i];
            out[pl] = m;
        } else {
            double s = 0.0;   /* large maps: accumulate in double */
            for (int64_t i = 0; i < size; i++) s += src[i];
            out[pl] = (float)(s / (double)size);
        }
    }
}

const fcn_op_def fcn_opdef_maxpool = { "MaxPool", 1, 1, 1, 2, pool_infer, NULL, maxpool_run };
const fcn_op_def fcn_opdef_avgpool = { "AveragePool", 1, 1, 1, 1, pool_infer, NULL, avgpool_run };
const fcn_op_def fcn_opdef_global_avgpool = { "GlobalAveragePool", 1, 1, 1, 1, global_pool_infer, NULL, global_pool_run };
const fcn_op_def fcn_opdef_global_maxpool = { "GlobalMaxPool", 1, 1, 1, 1, global_pool_infer, NULL, global_pool_run };
