/* fc_columns.c — FC weights stored input-major where the FC's input comes from a ReLU.
 *
 * A Gemm y = x·Wᵀ + b with W N×K (transB 1, as PyTorch exports) becomes y = x·W' + b with
 * W' = Wᵀ K×N (transB 0): the same product, each input's N weights now contiguous. The runtime
 * then reads only the weight rows of the input's nonzero entries (fcn_gemv_cols): after a ReLU
 * (fused into the producer, or a Relu / Relu6 node), through MaxPool, AveragePool and the shape
 * ops between a feature map and its classifier, a third to a half of the inputs are zeros, and
 * an FC layer of AlexNet or VGG spends its time streaming weights from memory.
 *
 * Exact: the rewrite moves numbers, and the kernel skips only terms 0·w. The one difference is
 * a weight that is Inf or NaN (0·Inf is NaN): such layers are left as they are. fp16 weights
 * are moved as they are (the runtime expands them at session creation, the layout kept); int8
 * ones keep their layout, as their scales are per output channel. An FC whose
 * input is dense (after global average pooling, a softmax, the graph input) keeps its layout,
 * in which a dense product streams slightly faster on one thread. --no-fc-columns turns it off.
 *
 * An FC turned convolution by fc_to_conv (a conv whose kernel covers its whole unpadded input,
 * so its output is 1×1 at the model's input size) gets the same treatment, its weight's bytes
 * reordered to [C][kh][kw][K] (the input's own order, so a flattened image is the GEMV's x) and
 * marked by the W_LAYOUT attribute (format 1.3), its dims kept. On a larger input the runtime
 * packs the GEMM's A from that order.
 *
 * Any batch, fixed or free: the runtime takes four input rows at a time over the union of their
 * nonzero positions, each weight row read once for the four (as the row product reads each
 * weight once per four rows), so a batch costs no more than in the N×K layout. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "converter/passes/rewrites.h"

/* Weights of fewer elements (1 MB of fp32) stay in cache from run to run, where the layer takes
 * microseconds and the list and partial sums are a fair share of them: LeNet's 512 → 128 layer
 * (bench-ci, its own inputs) took 2.8–2.9 µs input-major against 2.5–2.7 (node minima). Larger
 * weights are streamed, and the sparse product wins (a random input with half zeros, one thread,
 * node minima): 1024 → 256 10.5 → 6.5 µs, 2048 → 512 54 → 30, 4096 → 1024 240 → 110. */
#define COLS_MIN_WEIGHTS (1 << 18)

/* Does v hold a ReLU's zeros? Follows single-input shape ops and pooling back to a producer. */
static int relu_zeros(const ir_graph *g, int v)
{
    for (int hops = 0; v >= 0 && hops < 16; hops++) {
        int p = g->values[v].producer;
        if (p < 0) return 0;
        const ir_node *n = &g->nodes[p];
        int act = (int)ir_get_int(n, FCN_ATTR_ACT, FCN_ACT_NONE);
        if (act == FCN_ACT_RELU || (act == FCN_ACT_CLIP && ir_get_float(n, FCN_ATTR_ACT_ALPHA, -1.0) == 0.0))
            return 1;
        switch (n->op) {
        case FCN_OP_RELU: return 1;
        case FCN_OP_CLIP: return n->n_in == 1 && ir_get_float(n, FCN_ATTR_MIN, -1.0) == 0.0;
        case FCN_OP_FLATTEN: case FCN_OP_RESHAPE: case FCN_OP_SQUEEZE: case FCN_OP_UNSQUEEZE:
        case FCN_OP_IDENTITY: case FCN_OP_MAXPOOL: case FCN_OP_AVGPOOL:
            if (act != FCN_ACT_NONE || n->n_in < 1) return 0;
            v = n->in[0];
            break;
        default: return 0;
        }
    }
    return 0;
}

static int all_finite(const ir_value *w, size_t n)
{
    if (w->dtype == FC_DT_F16) {   /* exponent all ones: Inf or NaN */
        const uint16_t *h = w->data;
        for (size_t i = 0; i < n; i++)
            if ((h[i] & 0x7C00u) == 0x7C00u) return 0;
        return 1;
    }
    const float *f = w->data;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(f[i])) return 0;
    return 1;
}

/* t[c][r] = src[r][c] for an R×C matrix of `size`-byte elements, in 32×32 blocks (both sides
 * stay in cache while a block moves) */
static void transpose(const void *src, void *t, int64_t R, int64_t C, size_t size)
{
    for (int64_t r0 = 0; r0 < R; r0 += 32)
        for (int64_t c0 = 0; c0 < C; c0 += 32)
            for (int64_t r = r0; r < R && r < r0 + 32; r++)
                for (int64_t c = c0; c < C && c < c0 + 32; c++) {
                    if (size == 4) ((float *)t)[c * R + r] = ((const float *)src)[r * C + c];
                    else ((uint16_t *)t)[c * R + r] = ((const uint16_t *)src)[r * C + c];
                }
}

/* all of an INTS attribute's values equal v (absent: true) */
static int ints_all(const ir_node *n, int key, int64_t v)
{
    const ir_attr *a = ir_get_attr(n, key);
    if (!a) return 1;
    for (int k = 0; k < a->count; k++)
        if (a->i[k] != v) return 0;
    return 1;
}

/* A Conv that is an FC (fc_to_conv's output): one group, no dilation or padding, the kernel the
 * input's whole map. Its weight [K][C][kh][kw] becomes [C][kh][kw][K], W_LAYOUT 1. */
static int conv_columns(ir_graph *g, ir_node *n, fc_error *err)
{
    if (n->n_in < 2 || n->n_out != 1 || n->in[0] < 0 || n->in[1] < 0 || ir_get_int(n, FCN_ATTR_GROUP, 1) != 1 ||
        ir_get_int(n, FCN_ATTR_AUTO_PAD, 0) != 0 || ir_get_int(n, FCN_ATTR_W_LAYOUT, 0) != 0 ||
        !ints_all(n, FCN_ATTR_PADS, 0) || !ints_all(n, FCN_ATTR_DILATIONS, 1))
        return 0;
    const ir_value *x = &g->values[n->in[0]];
    ir_value *w = &g->values[n->in[1]];
    if (x->ndim != 4 || w->ndim != 4 || !w->data || (w->dtype != FC_DT_F32 && w->dtype != FC_DT_F16) ||
        w->n_consumers != 1 || rw_is_graph_output(g, n->in[1]))
        return 0;
    int64_t K = w->dims[0], C = w->dims[1], kh = w->dims[2], kw = w->dims[3];
    if (K < 16 || C < 1 || x->dims[1] != C || x->dims[2] != kh || x->dims[3] != kw ||
        K * C * kh * kw < COLS_MIN_WEIGHTS || !relu_zeros(g, n->in[0]))
        return 0;
    size_t rows = (size_t)C * (size_t)kh * (size_t)kw, size = w->dtype == FC_DT_F16 ? 2 : 4;
    if (w->nbytes != rows * (size_t)K * size || !all_finite(w, rows * (size_t)K)) return 0;
    void *t = malloc(w->nbytes);
    if (!t) return fc_fail(err, FC_ENOMEM, "node '%s': out of memory", n->name);
    transpose(w->data, t, K, (int64_t)rows, size);
    free(w->data);
    w->data = t;
    ir_set_int(n, FCN_ATTR_W_LAYOUT, 1);
    return 1;
}

int fcv_fc_columns(ir_graph *g, cJSON *log, fc_error *err)
{
    int done = 0;
    ir_update_links(g);
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (!n->dead && n->op == FCN_OP_CONV) {
            int r = conv_columns(g, n, err);
            if (r < 0) return -1;
            if (r) {
                rw_log_add(log, "matched", n->name);
                done++;
            }
            continue;
        }
        if (n->dead || n->op != FCN_OP_GEMM || n->n_in < 2 || n->n_out != 1 || n->in[0] < 0 || n->in[1] < 0)
            continue;
        if (ir_get_int(n, FCN_ATTR_TRANS_A, 0) || !ir_get_int(n, FCN_ATTR_TRANS_B, 0) ||
            ir_get_float(n, FCN_ATTR_ALPHA, 1.0) != 1.0)
            continue;
        const ir_value *a = &g->values[n->in[0]];
        ir_value *w = &g->values[n->in[1]];
        if (a->ndim != 2 || !w->data || (w->dtype != FC_DT_F32 && w->dtype != FC_DT_F16) || w->ndim != 2 ||
            w->n_consumers != 1 || rw_is_graph_output(g, n->in[1]))
            continue;
        int64_t N = w->dims[0], K = w->dims[1];
        /* a few outputs: the lanes of a column step would be mostly empty */
        if (N < 16 || K < 1 || N * K < COLS_MIN_WEIGHTS || a->dims[1] != K || !relu_zeros(g, n->in[0])) continue;
        size_t count = (size_t)N * (size_t)K, size = w->dtype == FC_DT_F16 ? 2 : 4;
        if (w->nbytes != count * size || !all_finite(w, count)) continue;
        void *t = malloc(w->nbytes);
        if (!t) return fc_fail(err, FC_ENOMEM, "node '%s': out of memory", n->name);
        transpose(w->data, t, N, K, size);
        free(w->data);
        w->data = t;
        w->dims[0] = K;
        w->dims[1] = N;
        ir_set_int(n, FCN_ATTR_TRANS_B, 0);
        rw_log_add(log, "matched", n->name);
        done++;
    }
    return done;
}
