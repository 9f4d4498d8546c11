/* lrn.c — LRN across channels (AlexNet):
 *   y[c] = x[c] / (bias + alpha / size * sum_{c' in [c - (size-1)/2, c + size/2]} x[c']^2)^beta */
#include "runtime/ops/ops_internal.h"

#include <math.h>

typedef struct lrn_params { int64_t size; float alpha, beta, bias; } lrn_params;

static int lrn_infer(fcn_node *n, fc_error *err)
{
    if (fcn_check_dtype(n, err, 0, FC_DT_F32) || fcn_check_rank(n, err, 0, 3, FCN_MAX_DIMS)) return -1;
    const fcn_tensor *x = n->in[0];
    lrn_params *p = fcn_alloc_params(n, err, sizeof *p);
    if (!p) return -1;
    if (!fcn_attr_has(n, FCN_ATTR_SIZE)) return fcn_node_fail(n, err, "size attribute is required");
    p->size = fcn_attr_int(n, FCN_ATTR_SIZE, 0);
    if (p->size < 1 || p->size > INT32_MAX) return fcn_node_fail(n, err, "size must be >= 1, got %lld", (long long)p->size);
    p->alpha = fcn_attr_float(n, FCN_ATTR_ALPHA, 1e-4f);
    p->beta = fcn_attr_float(n, FCN_ATTR_BETA, 0.75f);
    p->bias = fcn_attr_float(n, FCN_ATTR_BIAS, 1.0f);
    fcn_set_out(n->out[0], FC_DT_F32, x->ndim, x->dims);
    n->macs = (uint64_t)fcn_numel_dims(x->ndim, x->dims) * (uint64_t)p->size;
    return 0;
}

static void lrn_run(fcn_node *n, const fcn_exec *x)
{
    (void)x;
    const lrn_params *p = n->params;
    const fcn_tensor *t = n->in[0];
    const float *in = t->data;
    float *out = n->out[0]->data;
    int64_t batch = t->dims[0], ch = t->dims[1], inner = fcn_numel_dims(t->ndim - 2, t->dims + 2);
    int64_t lo_off = (p->size - 1) / 2, hi_off = p->size - 1 - lo_off;
    float scale = p->alpha / (float)p->size;
    for (int64_t b = 0; b < batch; b++) {
        for (int64_t c = 0; c < ch; c++) {
            int64_t c0 = c - lo_off < 0 ? 0 : c - lo_off, c1 = c + hi_off >= ch ? ch - 1 : c + hi_off;
            const float *src = in + (b * ch + c) * inner;
            float *dst = out + (b * ch + c) * inner;
            for (int64_t i = 0; i < inner; i++) dst[i] = 0.0f;
            for (int64_t cc = c0; cc <= c1; cc++) {
                const float *s2 = in + (b * ch + cc) * inner;
                for (int64_t i = 0; i < inner; i++) dst[i] += s2[i] * s2[i];
            }
            for (int64_t i = 0; i < inner; i++) dst[i] = src[i] / powf(p->bias + scale * dst[i], p->beta);
        }
    }
}

const fcn_op_def fcn_opdef_lrn = { "LRN", 1, 1, 1, 1, lrn_infer, NULL, lrn_run };
