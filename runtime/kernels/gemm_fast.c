/* gemm_fast.c — fast path for fully-connected layers: Gemm (and 2-D MatMul) whose weight is
 * a constant. Y = alpha·A·op(B) + beta·C with C a bias row is computed as Y[r] = W'·A[r] + c'
 * with W' = alpha·op(B)ᵀ stored N×K row-major once at session creation (c' = beta·C), so every
 * output is a dot product of a contiguous weight row with the contiguous input row: a
 * matrix–vector product streaming each weight once per 4 input rows.
 *
 * A weight already K×N (Gemm transB 0 with alpha 1, or MatMul): the weight is used in place,
 * input-major, and only the rows of the input's nonzero entries are read (fcn_cols_run, four
 * input rows at a time over the union of their nonzero positions). The converter writes an FC
 * whose input comes from a ReLU that way (converter/passes/fc_columns.c): a third to a half of
 * its inputs are zeros. A dense batch costs a little more than the row product (4 rows, 9216 →
 * 4096: 13.3–13.8 against 13.0–13.2 ms at one thread, 7.9–8.6 against 6.8–7.6 at two), but
 * needs no transposed copy of the weight at session creation. */
#include <stdlib.h>
#include <string.h>
#include "runtime/kernels/kernels.h"

typedef struct gemm_fast {
    int64_t M, N, K;               /* rows of A, outputs, reduction */
    const float *w;                /* N×K: the model's own weight when it is already N×K (transB, alpha 1);
                                    * cols: K×N, the model's own */
    float *w_owned;                /* else a transposed/scaled copy */
    float *bias;                   /* N or NULL */
    int cols;                      /* w is K×N (input-major): fcn_cols_run */
    int warm;                      /* fcn_gemv_warm_avx2 (fcn_node.weights_warm) */
    fcn_cols c;
} gemm_fast;

static void gemm_fast_free(void *p)
{
    gemm_fast *g = p;
    if (g) { free(g->w_owned); free(g->bias); fcn_cols_free(&g->c); }
    free(g);
}

typedef struct fc_task { const gemm_fast *g; const fcn_node *n; int64_t r0; int rows; } fc_task;

static void fc_range(void *vctx, int64_t m0, int64_t m1, int tid)
{
    (void)tid;
    const fc_task *t = vctx;
    const gemm_fast *g = t->g;
    const float *xs[4];
    float *ys[4];
    for (int r = 0; r < t->rows; r++) {
        xs[r] = (const float *)t->n->in[0]->data + (t->r0 + r) * g->K;
        ys[r] = (float *)t->n->out[0]->data + (t->r0 + r) * g->N;
    }
    (g->warm ? fcn_gemv_warm_avx2 : fcn_gemv_avx2)(g->w, g->K, m0, m1, xs, t->rows, g->bias, ys);
    for (int r = 0; r < t->rows; r++)
        fcn_act_apply(t->n->act, t->n->act_alpha, t->n->act_beta, ys[r] + m0, m1 - m0);
}

/* ---- input-major weights (fcn_cols) ---------------------------------------------------------- */

int fcn_cols_init(fcn_cols *c, const float *w, int64_t K, int64_t N)
{
    memset(c, 0, sizeof *c);
    if (K < 1 || K > INT32_MAX || N < 1) return -1;
    c->w = w;
    c->K = K;
    c->N = N;
    c->nz = malloc(sizeof(int32_t) * (size_t)K);
    c->xv = malloc(sizeof(float) * (size_t)K * 4);
    c->part = malloc(sizeof(float) * (size_t)N * FCN_COLS_PIECES * 4);
    if (!c->nz || !c->xv || !c->part) {
        fcn_cols_free(c);
        return -1;
    }
    return 0;
}

void fcn_cols_free(fcn_cols *c)
{
    free(c->nz);
    free(c->xv);
    free(c->part);
    c->nz = NULL;
    c->xv = c->part = NULL;
}

/* The list in FCN_COLS_PIECES pieces, each summed over all N columns into its own partial row.
 * Whole rows per piece: each thread streams its rows end to end, as the row product does. Split
 * by columns instead (every thread a stretch of each listed row), AlexNet took 9.7–10.5 ms
 * against 9.2–9.6 at two threads (docs/KERNELS.md "Sparse inputs"). A fixed number of pieces:
 * the same bits on any number of threads. */
typedef struct cols_task { const fcn_cols *c; int64_t nnz; int rows; } cols_task;

static void cols_pieces(void *vctx, int64_t p0, int64_t p1, int tid)
{
    (void)tid;
    const cols_task *t = vctx;
    const fcn_cols *c = t->c;
    for (int64_t p = p0; p < p1; p++) {
        int64_t i0 = t->nnz * p / FCN_COLS_PIECES, i1 = t->nnz * (p + 1) / FCN_COLS_PIECES;
        fcn_gemv_cols_rows_avx2(c->w, c->N, c->nz + i0, c->xv + i0 * t->rows, t->rows, i1 - i0, 0, c->N, NULL,
                                c->part + p * t->rows * c->N, c->N);
    }
}

void fcn_cols_run(const fcn_cols *c, const float *x, int64_t rows, const float *bias, float *y, const fcn_exec *ex)
{
    for (int64_t r0 = 0; r0 < rows; r0 += 4) {
        int nr = (int)(rows - r0 < 4 ? rows - r0 : 4);
        const float *xr = x + r0 * c->K;
        int64_t nnz = nr == 1 ? fcn_nonzeros(xr, c->K, c->nz, c->xv)
                              : fcn_nonzeros_rows(xr, c->K, nr, c->K, c->nz, c->xv);
        cols_task t = { c, nnz, nr };
        fcn_parallel_for(ex, FCN_COLS_PIECES, cols_pieces, &t);
        for (int r = 0; r < nr; r++) {
            float *yr = y + (r0 + r) * c->N;
            for (int64_t j = 0; j < c->N; j++) {
                float v = bias ? bias[j] : 0.0f;
                for (int p = 0; p < FCN_COLS_PIECES; p++) v += c->part[(p * nr + r) * c->N + j];
                yr[j] = v;
            }
        }
    }
}

static void run_fc_cols(fcn_node *n, const fcn_exec *x)
{
    const gemm_fast *g = n->fast;
    float *y = n->out[0]->data;
    fcn_cols_run(&g->c, n->in[0]->data, g->M, g->bias, y, x);
    fcn_act_apply(n->act, n->act_alpha, n->act_beta, y, g->M * g->N);
}

static void run_fc(fcn_node *n, const fcn_exec *x)
{
    const gemm_fast *g = n->fast;
    for (int64_t r = 0; r < g->M; r += 4) {
        fc_task t = { g, n, r, (int)(g->M - r < 4 ? g->M - r : 4) };
        fcn_parallel_for(x, g->N, fc_range, &t);
    }
}

int fcn_fast_gemm_prepare(fcn_node *n, fc_error *err)
{
    fcn_tensor *A = n->in[0], *B = n->in[1], *C = n->n_in > 2 ? n->in[2] : NULL, *Y = n->out[0];
    if (A->dtype != FC_DT_F32 || A->ndim != 2 || !B->is_const || B->dtype != FC_DT_F32 || B->ndim != 2 ||
        Y->ndim != 2)
        return 0;
    int is_gemm = n->op == FCN_OP_GEMM;
    int trans_a = is_gemm ? (int)fcn_attr_int(n, FCN_ATTR_TRANS_A, 0) : 0;
    int trans_b = is_gemm ? (int)fcn_attr_int(n, FCN_ATTR_TRANS_B, 0) : 0;
    float alpha = is_gemm ? fcn_attr_float(n, FCN_ATTR_ALPHA, 1.0f) : 1.0f;
    float beta = is_gemm ? fcn_attr_float(n, FCN_ATTR_BETA, 1.0f) : 1.0f;
    if (trans_a) return 0;
    int64_t M = A->dims[0], K = A->dims[1];
    int64_t N = trans_b ? B->dims[0] : B->dims[1];
    if ((trans_b ? B->dims[1] : B->dims[0]) != K || Y->dims[0] != M || Y->dims[1] != N) return 0;
    if (C) {
        if (!C->is_const || C->dtype != FC_DT_F32) return 0;
        int64_t cn = (int64_t)C->numel;
        int row_like = (C->ndim == 1 && C->dims[0] == N) || (C->ndim == 2 && C->dims[0] == 1 && C->dims[1] == N);
        if (!row_like && cn != 1) return 0;
    }
    gemm_fast *g = calloc(1, sizeof *g);
    if (!g) return fc_fail(err, FC_ENOMEM, "node '%s': out of memory", n->name);
    g->M = M; g->N = N; g->K = K;
    /* input-major K×N in place, four rows at a time (K < 2^31: the list holds int32 positions) */
    g->cols = !trans_b && alpha == 1.0f && K <= INT32_MAX;
    if (g->cols && fcn_cols_init(&g->c, B->data, K, N)) {
        gemm_fast_free(g);
        return fc_fail(err, FC_ENOMEM, "node '%s': out of memory", n->name);
    }
    /* A transB weight with alpha 1 is already N×K row-major: use it in place (an FC of AlexNet
     * or VGG is 100+ MB; copying it costs more than the session's whole setup otherwise). */
    int in_place = (trans_b && alpha == 1.0f) || g->cols;
    if (!in_place) g->w_owned = malloc(sizeof(float) * (size_t)N * (size_t)K + 64);
    if (C) g->bias = malloc(sizeof(float) * (size_t)N);
    if ((!in_place && !g->w_owned) || (C && !g->bias)) {
        gemm_fast_free(g);
        return fc_fail(err, FC_ENOMEM, "node '%s': out of memory", n->name);
    }
    const float *bw = B->data;
    if (in_place) {
        g->w = bw;
    } else {
        float *w = g->w_owned;
        if (trans_b) {
            memcpy(w, bw, sizeof(float) * (size_t)N * (size_t)K);
        } else {
            /* a K×N weight transposed 8 rows at a time by the packing's 8×8 transpose: a walk
             * down each column read it with a stride of N floats, a cache line for every float */
            int64_t k = 0;
            for (; k + 8 <= K; k += 8) fcn_transpose_rows8_avx2(bw + k * N, N, N, w + k, K);
            for (; k < K; k++)
                for (int64_t j = 0; j < N; j++) w[j * K + k] = bw[k * N + j];
        }
        if (alpha != 1.0f)
            for (size_t i = 0; i < (size_t)N * (size_t)K; i++) w[i] *= alpha;
        g->w = w;
    }
    if (C) {
        const float *cb = C->data;
        for (int64_t j = 0; j < N; j++) g->bias[j] = beta * (C->numel == 1 ? cb[0] : cb[j]);
    }
    n->fast = g;
    n->free_fast = gemm_fast_free;
    n->run_fast = g->cols ? run_fc_cols : run_fc;
    g->warm = n->weights_warm;
    n->kernel = g->cols ? "gemv-cols-avx2" : g->warm ? "gemv-warm-avx2" : "gemv-avx2";
    return 1;
}
