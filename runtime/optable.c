/* optable.c — fcn_op -> fcn_op_def, and the names of ops and attribute keys for messages.
 * One table indexed by the enum, so adding an op is one line here plus its family file. */
#include "runtime/op.h"
#include "runtime/ops/ops_internal.h"

static const fcn_op_def *const op_table[FCN_OP_COUNT] = {
    [FCN_OP_CONV] = &fcn_opdef_conv,
    [FCN_OP_GEMM] = &fcn_opdef_gemm,
    [FCN_OP_MATMUL] = &fcn_opdef_matmul,
    [FCN_OP_BATCHNORM] = &fcn_opdef_batchnorm,
    [FCN_OP_RELU] = &fcn_opdef_relu,
    [FCN_OP_LEAKY_RELU] = &fcn_opdef_leaky_relu,
    [FCN_OP_CLIP] = &fcn_opdef_clip,
    [FCN_OP_SIGMOID] = &fcn_opdef_sigmoid,
    [FCN_OP_TANH] = &fcn_opdef_tanh,
    [FCN_OP_HARD_SIGMOID] = &fcn_opdef_hard_sigmoid,
    [FCN_OP_HARD_SWISH] = &fcn_opdef_hard_swish,
    [FCN_OP_ADD] = &fcn_opdef_add,
    [FCN_OP_SUB] = &fcn_opdef_sub,
    [FCN_OP_MUL] = &fcn_opdef_mul,
    [FCN_OP_DIV] = &fcn_opdef_div,
    [FCN_OP_CONCAT] = &fcn_opdef_concat,
    [FCN_OP_MAXPOOL] = &fcn_opdef_maxpool,
    [FCN_OP_AVGPOOL] = &fcn_opdef_avgpool,
    [FCN_OP_GLOBAL_AVGPOOL] = &fcn_opdef_global_avgpool,
    [FCN_OP_GLOBAL_MAXPOOL] = &fcn_opdef_global_maxpool,
    [FCN_OP_REDUCE_MEAN] = &fcn_opdef_reduce_mean,
    [FCN_OP_FLATTEN] = &fcn_opdef_flatten,
    [FCN_OP_RESHAPE] = &fcn_opdef_reshape,
    [FCN_OP_TRANSPOSE] = &fcn_opdef_transpose,
    [FCN_OP_SQUEEZE] = &fcn_opdef_squeeze,
    [FCN_OP_UNSQUEEZE] = &fcn_opdef_unsqueeze,
    [FCN_OP_PAD] = &fcn_opdef_pad,
    [FCN_OP_SOFTMAX] = &fcn_opdef_softmax,
    [FCN_OP_LOG_SOFTMAX] = &fcn_opdef_log_softmax,
    [FCN_OP_IDENTITY] = &fcn_opdef_identity,
    [FCN_OP_SLICE] = &fcn_opdef_slice,
    [FCN_OP_GATHER] = &fcn_opdef_gather,
    [FCN_OP_SHAPE] = &fcn_opdef_shape,
    [FCN_OP_CAST] = &fcn_opdef_cast,
    [FCN_OP_EXP] = &fcn_opdef_exp,
    [FCN_OP_LOG] = &fcn_opdef_log,
    [FCN_OP_ABS] = &fcn_opdef_abs,
    [FCN_OP_NEG] = &fcn_opdef_neg,
    [FCN_OP_SQRT] = &fcn_opdef_sqrt,
    [FCN_OP_RECIPROCAL] = &fcn_opdef_reciprocal,
    [FCN_OP_FLOOR] = &fcn_opdef_floor,
    [FCN_OP_CEIL] = &fcn_opdef_ceil,
    [FCN_OP_ELU] = &fcn_opdef_elu,
    [FCN_OP_SELU] = &fcn_opdef_selu,
    [FCN_OP_SOFTPLUS] = &fcn_opdef_softplus,
    [FCN_OP_SOFTSIGN] = &fcn_opdef_softsign,
    [FCN_OP_PRELU] = &fcn_opdef_prelu,
    [FCN_OP_POW] = &fcn_opdef_pow,
    [FCN_OP_MAX] = &fcn_opdef_max,
    [FCN_OP_MIN] = &fcn_opdef_min,
    [FCN_OP_SUM] = &fcn_opdef_sum,
    [FCN_OP_MEAN] = &fcn_opdef_mean,
    [FCN_OP_REDUCE_MAX] = &fcn_opdef_reduce_max,
    [FCN_OP_REDUCE_SUM] = &fcn_opdef_reduce_sum,
    [FCN_OP_LRN] = &fcn_opdef_lrn,
    [FCN_OP_EXPAND] = &fcn_opdef_expand,
    [FCN_OP_SWISH] = &fcn_opdef_swish,
};

const fcn_op_def *fcn_op_lookup(int op)
{
    if (op <= FCN_OP_INVALID || op >= FCN_OP_COUNT) return NULL;
    return op_table[op];
}

const char *fcn_op_name(int op)
{
    const fcn_op_def *d = fcn_op_lookup(op);
    return d ? d->name : "?";
}

static const char *const attr_names[FCN_ATTR_COUNT] = {
    [FCN_ATTR_KERNEL_SHAPE] = "kernel_shape",
    [FCN_ATTR_STRIDES] = "strides",
    [FCN_ATTR_PADS] = "pads",
    [FCN_ATTR_DILATIONS] = "dilations",
    [FCN_ATTR_GROUP] = "group",
    [FCN_ATTR_AUTO_PAD] = "auto_pad",
    [FCN_ATTR_CEIL_MODE] = "ceil_mode",
    [FCN_ATTR_COUNT_INCLUDE_PAD] = "count_include_pad",
    [FCN_ATTR_AXIS] = "axis",
    [FCN_ATTR_AXES] = "axes",
    [FCN_ATTR_KEEPDIMS] = "keepdims",
    [FCN_ATTR_PERM] = "perm",
    [FCN_ATTR_SHAPE] = "shape",
    [FCN_ATTR_ALPHA] = "alpha",
    [FCN_ATTR_BETA] = "beta",
    [FCN_ATTR_GAMMA] = "gamma",
    [FCN_ATTR_TRANS_A] = "transA",
    [FCN_ATTR_TRANS_B] = "transB",
    [FCN_ATTR_EPSILON] = "epsilon",
    [FCN_ATTR_MIN] = "min",
    [FCN_ATTR_MAX] = "max",
    [FCN_ATTR_PAD_VALUE] = "value",
    [FCN_ATTR_STARTS] = "starts",
    [FCN_ATTR_ENDS] = "ends",
    [FCN_ATTR_STEPS] = "steps",
    [FCN_ATTR_TO] = "to",
    [FCN_ATTR_ALLOWZERO] = "allowzero",
    [FCN_ATTR_STORAGE_ORDER] = "storage_order",
    [FCN_ATTR_NOOP_WITH_EMPTY_AXES] = "noop_with_empty_axes",
    [FCN_ATTR_START] = "start",
    [FCN_ATTR_END] = "end",
    [FCN_ATTR_MODE] = "mode",
    [FCN_ATTR_SIZE] = "size",
    [FCN_ATTR_BIAS] = "bias",
    [FCN_ATTR_ACT] = "act",
    [FCN_ATTR_ACT_ALPHA] = "act_alpha",
    [FCN_ATTR_ACT_BETA] = "act_beta",
    [FCN_ATTR_W_LAYOUT] = "w_layout",
};

const char *fcn_attr_name(int key)
{
    if (key <= 0 || key >= FCN_ATTR_COUNT || !attr_names[key]) return "?";
    return attr_names[key];
}
