/* softmax.c — Softmax / LogSoftmax over one axis (opset-13 semantics; the importer rewrites the
 * older "flatten to 2-D" form). Stable: exp(x - max), log-softmax as x - max - log(sum). */
#include "runtime/ops/ops_internal.h"

#include <math.h>

typedef struct softmax_params { int64_t outer, len, inner; } softmax_params;

static int softmax_infer(fcn_node *n, fc_error *err)
{
    if (fcn_check_dtype(n, err, 0, FC_DT_F32)) return -1;
    const fcn_tensor *x = n->in[0];
    if (x->ndim < 1) return fcn_node_fail(n, err, "input is a scalar");
    int axis;
    if (fcn_norm_axis(n, err, fcn_attr_int(n, FCN_ATTR_AXIS, -1), x->ndim, "axis", &axis)) return -1;
    softmax_params *p = fcn_alloc_params(n, err, sizeof *p);
    if (!p) return -1;
    p->outer = fcn_numel_dims(axis, x->dims);
    p->len = x->dims[axis];
    p->inner = fcn_numel_dims(x->ndim - axis - 1, x->dims + axis + 1);
    fcn_set_out(n->out[0], FC_DT_F32, x->ndim, x->dims);
    n->macs = (uint64_t)fcn_numel_dims(x->ndim, x->dims);
    return 0;
}

static void softmax_run(fcn_node *n, const fcn_exec *x)
{
    (void)x;
    const softmax_params *p = n->params;
    const float *in = n->in[0]->data;
    float *out = n->out[0]->data;
    int is_log = n->op == FCN_OP_LOG_SOFTMAX;
    for (int64_t o = 0; o < p->outer; o++) {
        for (int64_t i = 0; i < p->inner; i++) {
            const float *src = in + o * p->len * p->inner + i;
            float *dst = out + o * p->len * p->inner + i;
            float m = -INFINITY;
            for (int64_t k = 0; k < p->len; k++)
                if (src[k * p->inner] > m) m = src[k * p->inner];
            double sum = 0.0;
            for (int64_t k = 0; k < p->len; k++) {
                float e = expf(src[k * p->inner] - m);
                sum += e;
                if (!is_log) dst[k * p->inner] = e;
            }
            if (is_log) {
                float lse = (float)log(sum);
                for (int64_t k = 0; k < p->len; k++) dst[k * p->inner] = src[k * p->inner] - m - lse;
            } else {
                float inv = (float)(1.0 / sum);
                for (int64_t k = 0; k < p->len; k++) dst[k * p->inner] *= inv;
            }
        }
    }
}

const fcn_op_def fcn_opdef_softmax = { "Softmax", 1, 1, 1, 1, softmax_infer, NULL, softmax_run };
const fcn_op_def fcn_opdef_log_softmax = { "LogSoftmax", 1, 1, 1, 1, softmax_infer, NULL, softmax_run };
