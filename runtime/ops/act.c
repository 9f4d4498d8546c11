/* act.c — element-wise activations on f32 (same shape out), and PRelu (slope broadcast to X).
 * Each unary op is one scalar function; one infer and one loop serve them all. */
#include "runtime/ops/ops_internal.h"

#include <math.h>

typedef struct unary_params { float alpha, beta, gamma; } unary_params;

/* Shared by every unary op: f32 in, same shape out, fresh zeroed params. */
static unary_params *unary_common(fcn_node *n, fc_error *err)
{
    if (fcn_check_dtype(n, err, 0, FC_DT_F32)) return NULL;
    unary_params *p = fcn_alloc_params(n, err, sizeof *p);
    if (!p) return NULL;
    fcn_set_out(n->out[0], FC_DT_F32, n->in[0]->ndim, n->in[0]->dims);
    n->macs = (uint64_t)fcn_numel_dims(n->in[0]->ndim, n->in[0]->dims);
    return p;
}

static int unary_infer(fcn_node *n, fc_error *err)
{
    return unary_common(n, err) ? 0 : -1;
}

/* attribute defaults are ONNX's */
static int leaky_relu_infer(fcn_node *n, fc_error *err)
{
    unary_params *p = unary_common(n, err);
    if (!p) return -1;
    p->alpha = fcn_attr_float(n, FCN_ATTR_ALPHA, 0.01f);
    return 0;
}

static int hard_sigmoid_infer(fcn_node *n, fc_error *err)
{
    unary_params *p = unary_common(n, err);
    if (!p) return -1;
    p->alpha = fcn_attr_float(n, FCN_ATTR_ALPHA, 0.2f);
    p->beta = fcn_attr_float(n, FCN_ATTR_BETA, 0.5f);
    return 0;
}

static int elu_infer(fcn_node *n, fc_error *err)
{
    unary_params *p = unary_common(n, err);
    if (!p) return -1;
    p->alpha = fcn_attr_float(n, FCN_ATTR_ALPHA, 1.0f);
    return 0;
}

static int selu_infer(fcn_node *n, fc_error *err)
{
    unary_params *p = unary_common(n, err);
    if (!p) return -1;
    p->alpha = fcn_attr_float(n, FCN_ATTR_ALPHA, 1.67326319217681884765625f);
    p->gamma = fcn_attr_float(n, FCN_ATTR_GAMMA, 1.05070102214813232421875f);
    return 0;
}

/* Clip: MIN / MAX attributes (the importer moves opset-11 inputs here); absent = unbounded */
static int clip_infer(fcn_node *n, fc_error *err)
{
    unary_params *p = unary_common(n, err);
    if (!p) return -1;
    p->alpha = fcn_attr_float(n, FCN_ATTR_MIN, -INFINITY);
    p->beta = fcn_attr_float(n, FCN_ATTR_MAX, INFINITY);
    if (isnan(p->alpha) || isnan(p->beta)) return fcn_node_fail(n, err, "min/max must not be NaN");
    return 0;
}

#define UNARY_OP(fname, expr)                                                                  \
    static void fname(fcn_node *n, const fcn_exec *x)                                         \
    {                                                                                          \
        (void)x;                                                                               \
        const unary_params *p = n->params;                                                     \
        (void)p;                                                                               \
        const float *in = n->in[0]->data;                                                      \
        float *out = n->out[0]->data;                                                          \
        size_t count = n->out[0]->numel;                                                       \
        for (size_t i = 0; i < count; i++) {                                                   \
            float v = in[i];                                                                   \
            out[i] = (expr);                                                                   \
        }                                                                                      \
    }

static inline float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }
/* log(1 + e^v) without overflow for large v */
static inline float softplusf(float v) { return v > 0.0f ? v + log1pf(expf(-v)) : log1pf(expf(v)); }

UNARY_OP(relu_run, v > 0.0f ? v : 0.0f)
UNARY_OP(leaky_relu_run, v >= 0.0f ? v : v * p->alpha)
UNARY_OP(clip_run, clampf(v, p->alpha, p->beta))
UNARY_OP(sigmoid_run, fcn_sigmoidf(v))
UNARY_OP(tanh_run, tanhf(v))
UNARY_OP(hard_sigmoid_run, clampf(p->alpha * v + p->beta, 0.0f, 1.0f))
UNARY_OP(hard_swish_run, v * clampf(v / 6.0f + 0.5f, 0.0f, 1.0f))
UNARY_OP(exp_run, expf(v))
UNARY_OP(log_run, logf(v))
UNARY_OP(abs_run, fabsf(v))
UNARY_OP(neg_run, -v)
UNARY_OP(sqrt_run, sqrtf(v))
UNARY_OP(reciprocal_run, 1.0f / v)
UNARY_OP(floor_run, floorf(v))
UNARY_OP(ceil_run, ceilf(v))
UNARY_OP(elu_run, v >= 0.0f ? v : p->alpha * (expf(v) - 1.0f))
UNARY_OP(selu_run, v > 0.0f ? p->gamma * v : p->gamma * p->alpha * (expf(v) - 1.0f))
UNARY_OP(softplus_run, softplusf(v))
UNARY_OP(softsign_run, v / (1.0f + fabsf(v)))
UNARY_OP(swish_run, v * fcn_sigmoidf(v))

#define UNARY_DEF(sym, onnx, run) UNARY_DEF_I(sym, onnx, unary_infer, run)
#define UNARY_DEF_I(sym, onnx, infer, run) const fcn_op_def sym = { onnx, 1, 1, 1, 1, infer, NULL, run };
UNARY_DEF(fcn_opdef_relu, "Relu", relu_run)
UNARY_DEF_I(fcn_opdef_leaky_relu, "LeakyRelu", leaky_relu_infer, leaky_relu_run)
UNARY_DEF_I(fcn_opdef_clip, "Clip", clip_infer, clip_run)
UNARY_DEF(fcn_opdef_sigmoid, "Sigmoid", sigmoid_run)
UNARY_DEF(fcn_opdef_tanh, "Tanh", tanh_run)
UNARY_DEF_I(fcn_opdef_hard_sigmoid, "HardSigmoid", hard_sigmoid_infer, hard_sigmoid_run)
UNARY_DEF(fcn_opdef_hard_swish, "HardSwish", hard_swish_run)
UNARY_DEF(fcn_opdef_exp, "Exp", exp_run)
UNARY_DEF(fcn_opdef_log, "Log", log_run)
UNARY_DEF(fcn_opdef_abs, "Abs", abs_run)
UNARY_DEF(fcn_opdef_neg, "Neg", neg_run)
UNARY_DEF(fcn_opdef_sqrt, "Sqrt", sqrt_run)
UNARY_DEF(fcn_opdef_reciprocal, "Reciprocal", reciprocal_run)
UNARY_DEF(fcn_opdef_floor, "Floor", floor_run)
UNARY_DEF(fcn_opdef_ceil, "Ceil", ceil_run)
UNARY_DEF_I(fcn_opdef_elu, "Elu", elu_infer, elu_run)
UNARY_DEF_I(fcn_opdef_selu, "Selu", selu_infer, selu_run)
UNARY_DEF(fcn_opdef_softplus, "Softplus", softplus_run)
UNARY_DEF(fcn_opdef_softsign, "Softsign", softsign_run)
UNARY_DEF(fcn_opdef_swish, "Swish", swish_run)

/* ---- PRelu: y = x < 0 ? slope * x : x, slope broadcast (unidirectionally) to X ---------- */

typedef struct prelu_params { int ndim; int64_t dims[FCN_MAX_DIMS], slope_strides[FCN_MAX_DIMS]; } prelu_params;

static int prelu_infer(fcn_node *n, fc_error *err)
{
    if (fcn_check_dtype(n, err, 0, FC_DT_F32) || fcn_check_dtype(n, err, 1, FC_DT_F32)) return -1;
    const fcn_tensor *x = n->in[0], *s = n->in[1];
    int nd;
    int64_t dims[FCN_MAX_DIMS];
    int ok = !fcn_broadcast_shape(x->ndim, x->dims, s->ndim, s->dims, &nd, dims) && nd == x->ndim;
    for (int i = 0; ok && i < nd; i++) ok = dims[i] == x->dims[i];
    if (!ok) {
        char bx[64], bs[64];
        return fcn_node_fail(n, err, "slope of shape %s does not broadcast to X of shape %s",
                             fcn_dims_str(s, bs, sizeof bs), fcn_dims_str(x, bx, sizeof bx));
    }
    prelu_params *p = fcn_alloc_params(n, err, sizeof *p);
    if (!p) return -1;
    p->ndim = x->ndim;
    for (int i = 0; i < x->ndim; i++) p->dims[i] = x->dims[i];
    fcn_broadcast_strides(x->ndim, x->dims, s->ndim, s->dims, p->slope_strides);
    fcn_set_out(n->out[0], FC_DT_F32, x->ndim, x->dims);
    n->macs = (uint64_t)fcn_numel_dims(x->ndim, x->dims);
    return 0;
}

static void prelu_run(fcn_node *n, const fcn_exec *x)
{
    (void)x;
    const prelu_params *p = n->params;
    const float *in = n->in[0]->data, *slope = n->in[1]->data;
    float *out = n->out[0]->data;
    size_t count = n->out[0]->numel;
    int64_t idx[FCN_MAX_DIMS] = { 0 };
    int64_t so = 0;
    for (size_t i = 0; i < count; i++) {
        float v = in[i];
        out[i] = v < 0.0f ? v * slope[so] : v;
        for (int d = p->ndim - 1; d >= 0; d--) {   /* odometer: advance the slope offset */
            so += p->slope_strides[d];
            if (++idx[d] < p->dims[d]) break;
            so -= p->slope_strides[d] * idx[d];
            idx[d] = 0;
        }
    }
}

const fcn_op_def fcn_opdef_prelu = { "PRelu", 2, 2, 1, 1, prelu_infer, NULL, prelu_run };
