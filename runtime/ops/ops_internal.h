/* ops_internal.h — what the op families (the files in runtime/ops/) share: their exported defs (listed by
 * runtime/optable.c), the parameter structs a SIMD twin may read from node->params
 * (fcn_conv_params, fcn_pool_params, fcn_gemm_params), and small helpers in common.c for
 * validation (dtype, rank, axis), 2-D window resolution (pads, auto_pad, ceil_mode) and
 * numpy broadcasting iteration. */
#ifndef FCN_OPS_INTERNAL_H
#define FCN_OPS_INTERNAL_H

#include <math.h>
#include "runtime/op.h"

/* ---- defs, one per op, grouped by family file ------------------------------------------- */
extern const fcn_op_def fcn_opdef_conv;                                        /* conv.c */
extern const fcn_op_def fcn_opdef_gemm, fcn_opdef_matmul;                      /* gemm.c */
extern const fcn_op_def fcn_opdef_batchnorm;                                   /* batchnorm.c */
extern const fcn_op_def fcn_opdef_relu, fcn_opdef_leaky_relu, fcn_opdef_clip,  /* act.c */
    fcn_opdef_sigmoid, fcn_opdef_tanh, fcn_opdef_hard_sigmoid, fcn_opdef_hard_swish,
    fcn_opdef_exp, fcn_opdef_log, fcn_opdef_abs, fcn_opdef_neg, fcn_opdef_sqrt,
    fcn_opdef_reciprocal, fcn_opdef_floor, fcn_opdef_ceil, fcn_opdef_elu, fcn_opdef_selu,
    fcn_opdef_softplus, fcn_opdef_softsign, fcn_opdef_swish, fcn_opdef_prelu;
extern const fcn_op_def fcn_opdef_add, fcn_opdef_sub, fcn_opdef_mul, fcn_opdef_div, /* eltwise.c */
    fcn_opdef_pow, fcn_opdef_max, fcn_opdef_min, fcn_opdef_sum, fcn_opdef_mean;
extern const fcn_op_def fcn_opdef_maxpool, fcn_opdef_avgpool,                  /* pool.c */
    fcn_opdef_global_avgpool, fcn_opdef_global_maxpool;
extern const fcn_op_def fcn_opdef_reduce_mean, fcn_opdef_reduce_max,           /* reduce.c */
    fcn_opdef_reduce_sum;
extern const fcn_op_def fcn_opdef_flatten, fcn_opdef_reshape, fcn_opdef_transpose, /* shape.c */
    fcn_opdef_squeeze, fcn_opdef_unsqueeze, fcn_opdef_concat, fcn_opdef_slice,
    fcn_opdef_gather, fcn_opdef_shape, fcn_opdef_cast, fcn_opdef_expand, fcn_opdef_identity;
extern const fcn_op_def fcn_opdef_pad;                                         /* pad.c */
extern const fcn_op_def fcn_opdef_softmax, fcn_opdef_log_softmax;              /* softmax.c */
extern const fcn_op_def fcn_opdef_lrn;                                         /* lrn.c */

/* ---- 2-D sliding windows (Conv, MaxPool, AveragePool) ----------------------------------- */
enum { FCN_AUTO_PAD_NOTSET = 0, FCN_AUTO_PAD_SAME_UPPER = 1, FCN_AUTO_PAD_SAME_LOWER = 2,
       FCN_AUTO_PAD_VALID = 3 };

typedef struct fcn_window2d {
    int64_t ih, iw;               /* input spatial size */
    int64_t kh, kw;               /* kernel */
    int64_t sh, sw;               /* strides */
    int64_t dh, dw;               /* dilations */
    int64_t pad_top, pad_left, pad_bottom, pad_right;   /* resolved (auto_pad applied) */
    int64_t oh, ow;               /* output spatial size */
} fcn_window2d;

/* Reads STRIDES, DILATIONS (if allow_dilations), PADS, AUTO_PAD and CEIL_MODE (if allow_ceil)
 * and computes the output size with ONNX's rules:
 *   NOTSET  o = floor_or_ceil((i + pb + pe - ((k-1)*d+1)) / s) + 1   (ceil: last window must
 *           start inside the input or its begin padding, as PyTorch and onnxruntime do)
 *   SAME_*  o = ceil(i / s), total pad = max(0, (o-1)*s + (k-1)*d+1 - i), the odd pixel at the
 *           end (UPPER) or the beginning (LOWER)
 *   VALID   no pads, o = floor((i - ((k-1)*d+1)) / s) + 1 */
int fcn_window2d_resolve(const fcn_node *n, fc_error *err, int64_t ih, int64_t iw,
                         int64_t kh, int64_t kw, int allow_dilations, int allow_ceil,
                         fcn_window2d *w);

typedef struct fcn_conv_params {
    fcn_window2d win;
    int64_t batch, in_channels, out_channels, group;
    int has_bias;
    int w_layout;                 /* FCN_ATTR_W_LAYOUT: 0 [K][C/g][kh][kw], 1 [C][kh][kw][K] (group 1) */
} fcn_conv_params;

typedef struct fcn_pool_params {
    fcn_window2d win;
    int64_t batch, channels;
    int count_include_pad;        /* AveragePool */
} fcn_pool_params;

typedef struct fcn_gemm_params {
    int64_t m, n, k;
    int trans_a, trans_b;
    float alpha, beta;
    /* C (if any) broadcast to MxN: element (i, j) is at c_stride_m*i + c_stride_n*j */
    int64_t c_stride_m, c_stride_n;
} fcn_gemm_params;

/* ---- validation helpers (all return -1 with an error naming the node) ------------------- */
/* Input i must be present and of dtype (F32 etc.). */
int fcn_check_dtype(const fcn_node *n, fc_error *err, int i, int dtype);
/* Input i must be present with a rank in [min_rank, max_rank]. */
int fcn_check_rank(const fcn_node *n, fc_error *err, int i, int min_rank, int max_rank);
/* Normalizes a possibly negative axis against rank (valid: [-rank, rank)). */
int fcn_norm_axis(const fcn_node *n, fc_error *err, int64_t axis, int rank, const char *what,
                  int *out);
/* Replaces node->params with size zeroed bytes (freeing an earlier one); NULL + error on ENOMEM. */
void *fcn_alloc_params(fcn_node *n, fc_error *err, size_t size);
/* Sets an output's dtype and shape. */
void fcn_set_out(fcn_tensor *t, int dtype, int ndim, const int64_t *dims);
/* The node's op name, for messages. */
const char *fcn_node_op_name(const fcn_node *n);
/* A value's dims as "1x3x224x224" in a static-free caller buffer. */
const char *fcn_dims_str(const fcn_tensor *t, char *buf, size_t cap);

/* ---- numpy broadcasting ----------------------------------------------------------------- */
/* Element strides of an input of shape (nin, in) read at each index of the output shape
 * (nout, out): right-aligned, 0 where the input dim is 1 (or missing). */
void fcn_broadcast_strides(int nout, const int64_t *out, int nin, const int64_t *in,
                           int64_t *strides);

/* The float activations the fused ACT and the standalone ops share. */
static inline float fcn_sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

#endif
