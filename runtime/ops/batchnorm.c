/* batchnorm.c — BatchNormalization at inference:
 *   y = (x - mean) / sqrt(var + epsilon) * scale + B   per channel (dim 1),
 * computed as y = x * a + b with a = scale / sqrt(var + eps), b = B - mean * a. */
#include "runtime/ops/ops_internal.h"

#include <math.h>

typedef struct bn_params { float epsilon; int64_t batch, channels, inner; } bn_params;

static int bn_infer(fcn_node *n, fc_error *err)
{
    if (n->n_out != 1)
        return fcn_node_fail(n, err, "training mode (%d outputs: running mean/var) is not supported", n->n_out);
    if (fcn_check_dtype(n, err, 0, FC_DT_F32) || fcn_check_rank(n, err, 0, 2, FCN_MAX_DIMS)) return -1;
    const fcn_tensor *x = n->in[0];
    static const char *const what[5] = { "X", "scale", "B", "mean", "var" };
    for (int i = 1; i < 5; i++) {
        if (fcn_check_dtype(n, err, i, FC_DT_F32)) return -1;
        if (n->in[i]->ndim != 1 || n->in[i]->dims[0] != x->dims[1]) {
            char buf[64];
            return fcn_node_fail(n, err, "%s has shape %s, expected [%lld] (channels)", what[i],
                                 fcn_dims_str(n->in[i], buf, sizeof buf), (long long)x->dims[1]);
        }
    }
    bn_params *p = fcn_alloc_params(n, err, sizeof *p);
    if (!p) return -1;
    p->epsilon = fcn_attr_float(n, FCN_ATTR_EPSILON, 1e-5f);
    if (!(p->epsilon >= 0.0f)) return fcn_node_fail(n, err, "epsilon must be >= 0, got %g", (double)p->epsilon);
    p->batch = x->dims[0];
    p->channels = x->dims[1];
    p->inner = fcn_numel_dims(x->ndim - 2, x->dims + 2);
    fcn_set_out(n->out[0], FC_DT_F32, x->ndim, x->dims);
    n->macs = (uint64_t)fcn_numel_dims(x->ndim, x->dims);
    return 0;
}

static void bn_run(fcn_node *n, const fcn_exec *x)
{
    (void)x;
    const bn_params *p = n->params;
    const float *in = n->in[0]->data, *scale = n->in[1]->data, *bias = n->in[2]->data;
    const float *mean = n->in[3]->data, *var = n->in[4]->data;
    float *out = n->out[0]->data;
    for (int64_t c = 0; c < p->channels; c++) {
        float a = scale[c] / sqrtf(var[c] + p->epsilon), b = bias[c] - mean[c] * a;
        for (int64_t bi = 0; bi < p->batch; bi++) {
            int64_t off = (bi * p->channels + c) * p->inner;
            for (int64_t i = 0; i < p->inner; i++) out[off + i] = in[off + i] * a + b;
            fcn_apply_act(n, out + off, (size_t)p->inner);   /* a fused activation, if any */
        }
    }
}

const fcn_op_def fcn_opdef_batchnorm = { "BatchNormalization", 5, 5, 1, 3, bn_infer, NULL, bn_run };
