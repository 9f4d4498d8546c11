/* select.c — installs a fast kernel for a node when one applies (called by the session after
 * the op's reference prepare, only when fcn_simd_enabled()). The reference kernels stay the
 * fallback for everything not listed here, and the oracle in the kernel tests.
 * The per-op rules are documented where they are decided: conv_fast.c, gemm_fast.c, pool_fast.c. */
#include "runtime/kernels/kernels.h"

int fcn_fast_prepare(fcn_node *n, fc_error *err)
{
    int r = 0;
    switch (n->op) {
    case FCN_OP_CONV:
        r = fcn_fast_conv_prepare(n, err);
        break;
    case FCN_OP_GEMM:
    case FCN_OP_MATMUL:
        r = fcn_fast_gemm_prepare(n, err);
        break;
    case FCN_OP_MAXPOOL:
    case FCN_OP_AVGPOOL:
    case FCN_OP_GLOBAL_AVGPOOL:
    case FCN_OP_REDUCE_MEAN:
    case FCN_OP_ADD:
        r = fcn_fast_pool_prepare(n, err);
        break;
    case FCN_OP_RELU:
    case FCN_OP_CLIP:
    case FCN_OP_LEAKY_RELU:
    case FCN_OP_SIGMOID:
    case FCN_OP_SWISH:
    case FCN_OP_HARD_SWISH:
    case FCN_OP_HARD_SIGMOID:
    case FCN_OP_BATCHNORM:
    case FCN_OP_MUL:
        r = fcn_fast_eltwise_prepare(n, err);
        break;
    default:
        break;
    }
    return r < 0 ? -1 : 0;
}
