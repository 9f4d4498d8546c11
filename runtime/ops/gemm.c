/* gemm.c — Gemm (Y = alpha * A' B' + beta * C, A' = transA ? A^T : A, C broadcast to MxN) and
 * MatMul (numpy: 1-D operands get a dimension prepended/appended and removed again, batch
 * dimensions broadcast). Both apply the fused activation. */
#include "runtime/ops/ops_internal.h"

#include <string.h>

/* out[M,N] (+)= A'[M,K] B'[K,N] with element strides for A' and B' (transposes as strides). */
static void matmul_ref(int64_t m, int64_t nn, int64_t k, const float *a, int64_t a_rs, int64_t a_cs,
                       const float *b, int64_t b_rs, int64_t b_cs, float alpha, float *out)
{
    for (int64_t i = 0; i < m; i++) {
        float *row = out + i * nn;
        if (b_cs == 1) {
            /* B' rows contiguous: accumulate scaled rows of B' (innermost loop contiguous) */
            for (int64_t j = 0; j < nn; j++) row[j] = 0.0f;
            for (int64_t p = 0; p < k; p++) {
                float av = a[i * a_rs + p * a_cs];
                const float *brow = b + p * b_rs;
                for (int64_t j = 0; j < nn; j++) row[j] += av * brow[j];
            }
        } else {
            /* B' columns contiguous (transB): dot products */
            for (int64_t j = 0; j < nn; j++) {
                float acc = 0.0f;
                const float *bcol = b + j * b_cs;
                for (int64_t p = 0; p < k; p++) acc += a[i * a_rs + p * a_cs] * bcol[p * b_rs];
                row[j] = acc;
            }
        }
        if (alpha != 1.0f)
            for (int64_t j = 0; j < nn; j++) row[j] *= alpha;
    }
}

/* ---- Gemm ------------------------------------------------------------------------------- */

static int gemm_infer(fcn_node *n, fc_error *err)
{
    if (fcn_check_dtype(n, err, 0, FC_DT_F32) || fcn_check_dtype(n, err, 1, FC_DT_F32)) return -1;
    if (fcn_check_rank(n, err, 0, 2, 2) || fcn_check_rank(n, err, 1, 2, 2)) return -1;
    const fcn_tensor *a = n->in[0], *b = n->in[1], *c = n->n_in > 2 ? n->in[2] : NULL;
    int64_t ta = fcn_attr_int(n, FCN_ATTR_TRANS_A, 0), tb = fcn_attr_int(n, FCN_ATTR_TRANS_B, 0);
    if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1))
        return fcn_node_fail(n, err, "transA/transB must be 0 or 1, got %lld/%lld", (long long)ta, (long long)tb);
    int64_t m = ta ? a->dims[1] : a->dims[0], k = ta ? a->dims[0] : a->dims[1];
    int64_t kb = tb ? b->dims[1] : b->dims[0], nn = tb ? b->dims[0] : b->dims[1];
    if (k != kb)
        return fcn_node_fail(n, err, "inner dimensions differ: A' is %lldx%lld, B' is %lldx%lld", (long long)m,
                             (long long)k, (long long)kb, (long long)nn);
    fcn_gemm_params *p = fcn_alloc_params(n, err, sizeof *p);
    if (!p) return -1;
    p->m = m; p->n = nn; p->k = k;
    p->trans_a = (int)ta; p->trans_b = (int)tb;
    p->alpha = fcn_attr_float(n, FCN_ATTR_ALPHA, 1.0f);
    p->beta = fcn_attr_float(n, FCN_ATTR_BETA, 1.0f);
    if (c) {
        if (fcn_check_dtype(n, err, 2, FC_DT_F32)) return -1;
        int64_t cm = c->ndim == 2 ? c->dims[0] : 1, cn = c->ndim >= 1 ? c->dims[c->ndim - 1] : 1;
        if (c->ndim > 2 || (cm != 1 && cm != m) || (cn != 1 && cn != nn)) {
            char buf[64];
            return fcn_node_fail(n, err, "C of shape %s does not broadcast to %lldx%lld", fcn_dims_str(c, buf, sizeof buf),
                                 (long long)m, (long long)nn);
        }
        p->c_stride_m = cm == 1 ? 0 : cn;
        p->c_stride_n = cn == 1 ? 0 : 1;
    }
    int64_t dims[2] = { m, nn };
    fcn_set_out(n->out[0], FC_DT_F32, 2, dims);
    n->macs = (uint64_t)m * (uint64_t)nn * (uint64_t)k;
    return 0;
}

/* rows [begin, end) of the output, split across threads */
static void gemm_rows(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    fcn_node *n = ctx;
    const fcn_gemm_params *p = n->params;
    const float *a = n->in[0]->data, *b = n->in[1]->data;
    const fcn_tensor *c = n->n_in > 2 ? n->in[2] : NULL;
    float *out = n->out[0]->data;
    int64_t a_rs = p->trans_a ? 1 : p->k, a_cs = p->trans_a ? p->m : 1;
    int64_t b_rs = p->trans_b ? 1 : p->n, b_cs = p->trans_b ? p->k : 1;
    matmul_ref(end - begin, p->n, p->k, a + begin * a_rs, a_rs, a_cs, b, b_rs, b_cs, p->alpha, out + begin * p->n);
    if (c && p->beta != 0.0f) {
        const float *cv = c->data;
        for (int64_t i = begin; i < end; i++)
            for (int64_t j = 0; j < p->n; j++) out[i * p->n + j] += p->beta * cv[i * p->c_stride_m + j * p->c_stride_n];
    }
    if (n->act) fcn_apply_act(n, out + begin * p->n, (size_t)((end - begin) * p->n));
}

static void gemm_run(fcn_node *n, const fcn_exec *x)
{
    const fcn_gemm_params *p = n->params;
    fcn_parallel_for(x, p->m, gemm_rows, n);
}

const fcn_op_def fcn_opdef_gemm = { "Gemm", 2, 3, 1, 1, gemm_infer, NULL, gemm_run };

/* ---- MatMul ----------------------------------------------------------------------------- */

typedef struct matmul_params {
    int64_t m, n, k;
    int nbatch;                          /* batch rank of the output */
    int64_t batch_dims[FCN_MAX_DIMS];
    int64_t a_strides[FCN_MAX_DIMS];     /* in matrices, 0 where broadcast */
    int64_t b_strides[FCN_MAX_DIMS];
    int64_t batch_count;
} matmul_params;

static int matmul_infer(fcn_node *n, fc_error *err)
{
    if (fcn_check_dtype(n, err, 0, FC_DT_F32) || fcn_check_dtype(n, err, 1, FC_DT_F32)) return -1;
    if (fcn_check_rank(n, err, 0, 1, FCN_MAX_DIMS) || fcn_check_rank(n, err, 1, 1, FCN_MAX_DIMS)) return -1;
    const fcn_tensor *a = n->in[0], *b = n->in[1];
    int64_t m = a->ndim == 1 ? 1 : a->dims[a->ndim - 2], k = a->dims[a->ndim - 1];
    int64_t kb = b->ndim == 1 ? b->dims[0] : b->dims[b->ndim - 2], nn = b->ndim == 1 ? 1 : b->dims[b->ndim - 1];
    char ba[64], bb[64];
    if (k != kb)
        return fcn_node_fail(n, err, "shapes %s and %s: inner dimensions %lld and %lld differ",
                             fcn_dims_str(a, ba, sizeof ba), fcn_dims_str(b, bb, sizeof bb), (long long)k,
                             (long long)kb);
    int na = a->ndim > 2 ? a->ndim - 2 : 0, nb = b->ndim > 2 ? b->ndim - 2 : 0;
    matmul_params *p = fcn_alloc_params(n, err, sizeof *p);
    if (!p) return -1;
    if (fcn_broadcast_shape(na, a->dims, nb, b->dims, &p->nbatch, p->batch_dims))
        return fcn_node_fail(n, err, "batch dimensions of %s and %s do not broadcast",
                             fcn_dims_str(a, ba, sizeof ba), fcn_dims_str(b, bb, sizeof bb));
    fcn_broadcast_strides(p->nbatch, p->batch_dims, na, a->dims, p->a_strides);
    fcn_broadcast_strides(p->nbatch, p->batch_dims, nb, b->dims, p->b_strides);
    p->m = m; p->n = nn; p->k = k;
    p->batch_count = fcn_numel_dims(p->nbatch, p->batch_dims);
    int64_t dims[FCN_MAX_DIMS];
    int nd = p->nbatch;
    memcpy(dims, p->batch_dims, (size_t)nd * sizeof *dims);
    if (a->ndim > 1) dims[nd++] = m;
    if (b->ndim > 1) dims[nd++] = nn;
    if (nd > FCN_MAX_DIMS) return fcn_node_fail(n, err, "output rank %d exceeds %d", nd, FCN_MAX_DIMS);
    fcn_set_out(n->out[0], FC_DT_F32, nd, dims);
    n->macs = (uint64_t)p->batch_count * (uint64_t)m * (uint64_t)nn * (uint64_t)k;
    return 0;
}

/* output rows [begin, end) over all batches (row r = batch r / m, row r % m) */
static void matmul_rows(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    fcn_node *n = ctx;
    const matmul_params *p = n->params;
    const float *a = n->in[0]->data, *b = n->in[1]->data;
    float *out = n->out[0]->data;
    for (int64_t r = begin; r < end; r++) {
        int64_t t = r / p->m, i = r % p->m, rem = t, ao = 0, bo = 0;
        for (int d = p->nbatch - 1; d >= 0; d--) {   /* unravel the batch index */
            int64_t idx = rem % p->batch_dims[d];
            rem /= p->batch_dims[d];
            ao += idx * p->a_strides[d];
            bo += idx * p->b_strides[d];
        }
        matmul_ref(1, p->n, p->k, a + (ao * p->m + i) * p->k, p->k, 1, b + bo * p->k * p->n, p->n, 1, 1.0f,
                   out + r * p->n);
        if (n->act) fcn_apply_act(n, out + r * p->n, (size_t)p->n);
    }
}

static void matmul_run(fcn_node *n, const fcn_exec *x)
{
    const matmul_params *p = n->params;
    fcn_parallel_for(x, p->batch_count * p->m, matmul_rows, n);
}

const fcn_op_def fcn_opdef_matmul = { "MatMul", 2, 2, 1, 1, matmul_infer, NULL, matmul_run };
