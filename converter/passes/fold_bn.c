/* fold_bn.c — BatchNormalization after a linear op folds into it:
 *   BN(Wx + b) = s·(Wx + b − μ) + β  with s = γ/√(σ²+ε)   ⇒   W' = s·W (per output channel),
 *   b' = (b − μ)·s + β.  Producers: Conv, Gemm, MatMul(+Add) with constant f32 weights whose
 * output feeds only the BN. A BN anywhere else (no linear producer) is kept. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "converter/passes/rewrites.h"

static int count_uses(const ir_graph *g, int v)
{
    int uses = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_in; k++) uses += n->in[k] == v;
    }
    return uses + rw_is_graph_output(g, v);
}

/* The node's input slot as a constant this node alone may modify (copied if shared). */
static float *private_const(ir_graph *g, int node, int slot, fc_error *err)
{
    int v = g->nodes[node].in[slot];
    if (!rw_const_f32(g, v)) return NULL;
    if (count_uses(g, v) > 1) {
        ir_value *x = &g->values[v];
        int copy = rw_new_const_f32(g, x->name, x->ndim, x->dims, (const float *)x->data, err);
        if (copy < 0) return NULL;
        g->nodes[node].in[slot] = copy;
        v = copy;
    }
    return (float *)g->values[v].data;
}

/* BN parameters s and t (y = s*x + t per channel) for C channels, or -1 (not foldable). */
static int bn_affine(ir_graph *g, const ir_node *bn, int64_t channels, double **s_out, double **t_out)
{
    if (bn->n_in < 5) return -1;
    const float *p[4];
    for (int k = 0; k < 4; k++) {
        int v = bn->in[1 + k];
        size_t n;
        if (!(p[k] = rw_const_f32(g, v)) || rw_numel(&g->values[v], &n) || (int64_t)n != channels) return -1;
    }
    double eps = ir_get_float(bn, FCN_ATTR_EPSILON, 1e-5);
    double *s = malloc(sizeof(double) * (size_t)channels), *t = malloc(sizeof(double) * (size_t)channels);
    if (!s || !t) {
        free(s); free(t);
        return -1;
    }
    for (int64_t c = 0; c < channels; c++) {
        double var = p[3][c];
        s[c] = p[0][c] / sqrt(var + eps);
        t[c] = p[1][c] - p[2][c] * s[c];
    }
    *s_out = s;
    *t_out = t;
    return 0;
}

/* bias' = bias*s + t as a fresh [C] constant; bias may be NULL (zero). */
static int new_bias(ir_graph *g, const char *base, int64_t channels, const float *bias, double bias_scale,
                    const double *s, const double *t, fc_error *err)
{
    float *b = malloc(sizeof(float) * (size_t)channels);
    if (!b) return fc_fail(err, FC_ENOMEM, "out of memory folding BatchNormalization");
    for (int64_t c = 0; c < channels; c++)
        b[c] = (float)((bias ? bias_scale * bias[c] : 0.0) * s[c] + t[c]);
    int64_t dims[1] = { channels };
    int id = rw_new_const_f32(g, base, 1, dims, b, err);
    free(b);
    return id;
}

/* Conv: W [K, C/g, kh, kw], optional B [K]. */
static int fold_into_conv(ir_graph *g, int ci, const ir_node *bn, fc_error *err)
{
    ir_node *conv = &g->nodes[ci];
    if (conv->n_in < 2 || !rw_const_f32(g, conv->in[1]) || ir_get_attr(conv, FCN_ATTR_ACT)) return 0;
    const ir_value *w = &g->values[conv->in[1]];
    size_t numel;
    if (w->ndim < 3 || rw_numel(w, &numel)) return 0;
    int64_t k_out = w->dims[0];
    if (conv->n_in > 2 && conv->in[2] >= 0) {
        size_t nb;
        if (!rw_const_f32(g, conv->in[2]) || rw_numel(&g->values[conv->in[2]], &nb) || (int64_t)nb != k_out)
            return 0;
    }
    double *s, *t;
    if (bn_affine(g, bn, k_out, &s, &t)) return 0;
    float *wd = private_const(g, ci, 1, err);
    conv = &g->nodes[ci];
    if (!wd) goto fail;
    size_t per = numel / (size_t)k_out;
    for (int64_t k = 0; k < k_out; k++)
        for (size_t j = 0; j < per; j++) wd[(size_t)k * per + j] = (float)(wd[(size_t)k * per + j] * s[k]);
    const float *bias = (conv->n_in > 2 && conv->in[2] >= 0) ? rw_const_f32(g, conv->in[2]) : NULL;
    int b = new_bias(g, conv->name, k_out, bias, 1.0, s, t, err);
    if (b < 0) goto fail;
    conv = &g->nodes[ci];
    if (conv->n_in > 2) {
        conv->in[2] = b;
    } else {
        int *in = realloc(conv->in, sizeof(int) * 3);
        if (!in) { fc_fail(err, FC_ENOMEM, "out of memory"); goto fail; }
        conv->in = in;
        conv->in[2] = b;
        conv->n_in = 3;
    }
    free(s); free(t);
    return 1;
fail:
    free(s); free(t);
    return -1;
}

/* Gemm: Y = alpha·A·op(B) + beta·C with op(B) [in, K]; scale column k of op(B) by s[k]. */
static int fold_into_gemm(ir_graph *g, int gi, const ir_node *bn, fc_error *err)
{
    ir_node *gm = &g->nodes[gi];
    if (gm->n_in < 2 || !rw_const_f32(g, gm->in[1]) || ir_get_attr(gm, FCN_ATTR_ACT)) return 0;
    const ir_value *w = &g->values[gm->in[1]];
    if (w->ndim != 2 || w->dims[0] < 0 || w->dims[1] < 0) return 0;
    int trans_b = (int)ir_get_int(gm, FCN_ATTR_TRANS_B, 0);
    int64_t k_out = trans_b ? w->dims[0] : w->dims[1], k_in = trans_b ? w->dims[1] : w->dims[0];
    const float *c = NULL;
    if (gm->n_in > 2 && gm->in[2] >= 0) {
        size_t nc;
        c = rw_const_f32(g, gm->in[2]);
        if (!c || rw_numel(&g->values[gm->in[2]], &nc) || (int64_t)nc != k_out) return 0;
    }
    double beta = ir_get_float(gm, FCN_ATTR_BETA, 1.0);
    double *s, *t;
    if (bn_affine(g, bn, k_out, &s, &t)) return 0;
    float *wd = private_const(g, gi, 1, err);
    if (!wd) goto fail;
    for (int64_t i = 0; i < k_in; i++)
        for (int64_t k = 0; k < k_out; k++) {
            size_t at = trans_b ? (size_t)(k * k_in + i) : (size_t)(i * k_out + k);
            wd[at] = (float)(wd[at] * s[k]);
        }
    int b = new_bias(g, g->nodes[gi].name, k_out, c, beta, s, t, err);
    if (b < 0) goto fail;
    gm = &g->nodes[gi];
    if (gm->n_in < 3) {
        int *in = realloc(gm->in, sizeof(int) * 3);
        if (!in) { fc_fail(err, FC_ENOMEM, "out of memory"); goto fail; }
        gm->in = in;
        gm->n_in = 3;
    }
    gm->in[2] = b;
    ir_set_float(gm, FCN_ATTR_BETA, 1.0);
    free(s); free(t);
    return 1;
fail:
    free(s); free(t);
    return -1;
}

/* MatMul(A, W [in, K]) [+ Add(b [K])]: scale W's columns; the Add's bias becomes (b-μ)s+β,
 * or a new Add is created when there was none. `add` is -1 when BN follows the MatMul. */
static int fold_into_matmul(ir_graph *g, int mi, int add, int bn_out, const ir_node *bn, fc_error *err)
{
    ir_node *mm = &g->nodes[mi];
    if (mm->n_in != 2 || !rw_const_f32(g, mm->in[1]) || ir_get_attr(mm, FCN_ATTR_ACT)) return 0;
    const ir_value *w = &g->values[mm->in[1]];
    if (w->ndim != 2 || w->dims[0] < 0 || w->dims[1] < 0) return 0;
    int64_t k_in = w->dims[0], k_out = w->dims[1];
    int bias_slot = -1;
    const float *bias = NULL;
    if (add >= 0) {
        ir_node *an = &g->nodes[add];
        if (ir_get_attr(an, FCN_ATTR_ACT) || an->n_in != 2) return 0;
        bias_slot = an->in[0] == mm->out[0] ? 1 : 0;
        size_t nb;
        bias = rw_const_f32(g, an->in[bias_slot]);
        if (!bias || rw_numel(&g->values[an->in[bias_slot]], &nb) || (int64_t)nb != k_out) return 0;
    }
    double *s, *t;
    if (bn_affine(g, bn, k_out, &s, &t)) return 0;
    float *wd = private_const(g, mi, 1, err);
    if (!wd) goto fail;
    for (int64_t i = 0; i < k_in; i++)
        for (int64_t k = 0; k < k_out; k++) wd[i * k_out + k] = (float)(wd[i * k_out + k] * s[k]);
    int b = new_bias(g, g->nodes[mi].name, k_out, bias, 1.0, s, t, err);
    if (b < 0) goto fail;
    if (add >= 0) {
        g->nodes[add].in[bias_slot] = b;
        g->nodes[add].out[0] = bn_out;
    } else {
        int mid = rw_new_value(g, g->nodes[mi].name, err);
        if (mid < 0) goto fail;
        rw_set_shape(g, mid, g->values[bn_out].ndim, g->values[bn_out].dims);
        int ins[2] = { mid, b };
        g->nodes[mi].out[0] = mid;
        if (rw_new_node(g, FCN_OP_ADD, bn->name, ins, 2, &bn_out, 1, err) < 0) goto fail;
    }
    free(s); free(t);
    return 1;
fail:
    free(s); free(t);
    return -1;
}

int fcv_fold_bn(ir_graph *g, cJSON *log, fc_error *err)
{
    int folded = 0;
    int n_nodes = g->n_nodes;   /* nodes added while folding are never BNs */
    for (int i = 0; i < n_nodes; i++) {
        if (g->nodes[i].dead || g->nodes[i].op != FCN_OP_BATCHNORM || g->nodes[i].n_in < 5) continue;
        /* a BN carrying a fused activation (a .fcn converted again) stays: folding would drop it */
        if (ir_get_int(&g->nodes[i], FCN_ATTR_ACT, FCN_ACT_NONE) != FCN_ACT_NONE) continue;
        ir_update_links(g);
        ir_node bn = g->nodes[i];   /* copy: adding nodes may move the array */
        int x = bn.in[0], bn_out = bn.out[0];
        if (x < 0 || bn.n_out < 1 || g->values[x].n_consumers != 1 || rw_is_graph_output(g, x)) continue;
        int prod = g->values[x].producer;
        if (prod < 0) continue;
        int op = g->nodes[prod].op, rc = 0, add = -1, mm = -1;
        if (op == FCN_OP_CONV) rc = fold_into_conv(g, prod, &bn, err);
        else if (op == FCN_OP_GEMM) rc = fold_into_gemm(g, prod, &bn, err);
        else if (op == FCN_OP_MATMUL) mm = prod;
        else if (op == FCN_OP_ADD) {
            /* MatMul -> Add(bias) -> BN: the MatMul output must feed only the Add */
            ir_node *an = &g->nodes[prod];
            for (int k = 0; k < an->n_in && an->n_in == 2; k++) {
                int v = an->in[k], p = v >= 0 ? g->values[v].producer : -1;
                if (p >= 0 && g->nodes[p].op == FCN_OP_MATMUL && g->values[v].n_consumers == 1 &&
                    !rw_is_graph_output(g, v))
                    mm = p, add = prod;
            }
        }
        if (mm >= 0) rc = fold_into_matmul(g, mm, add, bn_out, &bn, err);
        if (rc < 0) return fc_wrap(err, "folding BatchNormalization '%s'", bn.name);
        if (rc == 0) continue;
        if (op == FCN_OP_CONV || op == FCN_OP_GEMM) g->nodes[prod].out[0] = bn_out;
        g->nodes[i].dead = 1;
        rw_log_add(log, "matched", bn.name);
        rw_log_add(log, "produced", g->nodes[add >= 0 ? add : (mm >= 0 && add < 0 ? g->n_nodes - 1 : prod)].name);
        folded++;
    }
    ir_update_links(g);
    return folded;
}
