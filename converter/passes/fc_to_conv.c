/* fc_to_conv.c — a fully connected layer over a flattened C×H×W map is an H×W convolution:
 *   y[k] = Σ_{c,h,w} W[k, c·H·W + h·W + w]·x[c,h,w] + b[k] = Conv(x, W reshaped K×C×H×W)[k, 0, 0]
 * (NHWC flatten after Transpose(0,2,3,1): column (h·W + w)·C + c). Later FCs act on K×1×1 maps:
 * 1×1 convs. At a larger input the same convs slide, giving an N×K×H'×W' score map.
 *
 * Output contract: the last converted layer's map (N×K×1×1 at the trained size) goes through
 * Flatten(axis 1) into the ORIGINAL output value (same name, shape and values), and the map
 * itself becomes an extra graph output named "score_map". A static graph cannot drop the
 * Flatten at larger inputs, so there the original output is N×(K·H'·W') and `score_map` is the
 * N×K×H'×W' map to use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "converter/passes/rewrites.h"

static int is_identity_avgpool(const ir_graph *g, const ir_node *n)
{
    if (n->op == FCN_OP_GLOBAL_AVGPOOL) {
        const ir_value *x = &g->values[n->in[0]];
        return x->ndim == 4 && x->dims[2] == 1 && x->dims[3] == 1;   /* identity at the trained size */
    }
    if (n->op != FCN_OP_AVGPOOL) return 0;
    const ir_attr *k = ir_get_attr(n, FCN_ATTR_KERNEL_SHAPE), *s = ir_get_attr(n, FCN_ATTR_STRIDES);
    const ir_attr *p = ir_get_attr(n, FCN_ATTR_PADS);
    if (!k || k->count != 2 || k->i[0] != 1 || k->i[1] != 1) return 0;
    if (s && (s->count != 2 || s->i[0] != 1 || s->i[1] != 1)) return 0;
    if (p)
        for (int i = 0; i < p->count; i++)
            if (p->i[i]) return 0;
    return ir_get_int(n, FCN_ATTR_AUTO_PAD, 0) == 0 || ir_get_int(n, FCN_ATTR_AUTO_PAD, 0) == 3;
}

static int is_nhwc_transpose(const ir_node *n)
{
    const ir_attr *perm = ir_get_attr(n, FCN_ATTR_PERM);
    return n->op == FCN_OP_TRANSPOSE && perm && perm->count == 4 && perm->i[0] == 0 && perm->i[1] == 2 &&
           perm->i[2] == 3 && perm->i[3] == 1;
}

/* A flatten of a 4-D map into N×(C·H·W): Flatten(axis 1), or Reshape to 2 dims of that size. */
static int is_flatten(const ir_graph *g, const ir_node *n, int64_t chw)
{
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out != 1) return 0;
    if (n->op == FCN_OP_FLATTEN) return ir_get_int(n, FCN_ATTR_AXIS, 1) == 1;
    if (n->op != FCN_OP_RESHAPE) return 0;
    const ir_value *y = &g->values[n->out[0]];
    return y->ndim == 2 && y->dims[1] == chw;
}

typedef struct head {
    int flatten;                  /* Flatten/Reshape node */
    int transpose;                /* NHWC Transpose node or -1 */
    int map;                      /* the 4-D value the FC really reads */
    int64_t c, h, w;
    int pools[8], n_pools;        /* identity pools skipped */
    rw_fc fc;
} head;

/* Matches a head starting at the Flatten/Reshape node f. */
static int match_head(const ir_graph *g, int f, head *hd)
{
    const ir_node *fn = &g->nodes[f];
    if (fn->dead || (fn->op != FCN_OP_FLATTEN && fn->op != FCN_OP_RESHAPE) || fn->n_in < 1 || fn->in[0] < 0)
        return 0;
    memset(hd, 0, sizeof *hd);
    hd->flatten = f;
    hd->transpose = -1;
    int x = fn->in[0];
    int p = g->values[x].producer;
    if (p >= 0 && is_nhwc_transpose(&g->nodes[p]) && rw_sole_consumer(g, x) == f) {
        hd->transpose = p;
        x = g->nodes[p].in[0];
    }
    const ir_value *m = &g->values[x];
    if (m->ndim != 4 || m->dims[1] < 1 || m->dims[2] < 1 || m->dims[3] < 1) return 0;
    hd->c = m->dims[1];
    hd->h = m->dims[2];
    hd->w = m->dims[3];
    int64_t chw = hd->c * hd->h * hd->w;
    if (!is_flatten(g, fn, chw)) return 0;
    int fc_node = rw_sole_consumer(g, fn->out[0]);
    if (fc_node < 0 || !rw_match_fc(g, fc_node, &hd->fc) || hd->fc.in != fn->out[0] || hd->fc.k_in != chw)
        return 0;
    /* identity pools in front (AdaptiveAvgPool at its trained size) go away */
    for (;;) {
        int pp = g->values[x].producer;
        if (pp < 0 || hd->n_pools == 8 || !is_identity_avgpool(g, &g->nodes[pp])) break;
        int user = hd->transpose >= 0 ? hd->transpose : f;
        if (rw_sole_consumer(g, x) != user && hd->n_pools == 0) break;
        if (hd->n_pools > 0 && rw_sole_consumer(g, x) != hd->pools[hd->n_pools - 1]) break;
        hd->pools[hd->n_pools++] = pp;
        x = g->nodes[pp].in[0];
    }
    hd->map = x;
    return 1;
}

/* Conv(x) -> y for the FC layer fc, kernel c×kh×kw. The weight is reshaped in place when it is
 * already in K×(C·kh·kw) order; otherwise w (K×(C·kh·kw), or NULL: read from the FC) is copied. */
static int add_conv(ir_graph *g, const rw_fc *fc, int x, float *w, int64_t c, int64_t kh, int64_t kw, int y,
                    cJSON *log, fc_error *err)
{
    const char *name = g->nodes[fc->node].name;
    float *b = NULL, *own = NULL;
    int64_t wd[4] = { fc->k_out, c, kh, kw }, bd[1] = { fc->k_out };
    int wid = w ? -1 : rw_fc_weight_in_place(g, fc, 4, wd);
    if (wid < 0 && !w) {
        if (rw_fc_weight(g, fc, &own, err)) return -1;
        w = own;
    }
    if (rw_fc_bias(g, fc, &b, err)) {
        free(own);
        return -1;
    }
    if (wid < 0) wid = rw_new_const_f32(g, name, 4, wd, w, err);
    free(own);
    int bid = wid < 0 ? -1 : rw_new_const_f32(g, name, 1, bd, b, err);
    free(b);
    if (bid < 0) return -1;
    int ins[3] = { x, wid, bid };
    char cname[300];
    snprintf(cname, sizeof cname, "%.280s_conv", name);
    int n = rw_new_node(g, FCN_OP_CONV, cname, ins, 3, &y, 1, err);
    if (n < 0) return -1;
    ir_node *conv = &g->nodes[n];
    int64_t kernel[2] = { kh, kw }, ones[2] = { 1, 1 }, pads[4] = { 0, 0, 0, 0 };
    ir_set_ints(conv, FCN_ATTR_KERNEL_SHAPE, kernel, 2);
    ir_set_ints(conv, FCN_ATTR_STRIDES, ones, 2);
    ir_set_ints(conv, FCN_ATTR_DILATIONS, ones, 2);
    ir_set_ints(conv, FCN_ATTR_PADS, pads, 4);
    ir_set_int(conv, FCN_ATTR_GROUP, 1);
    rw_copy_act(fc, conv);
    rw_log_add(log, "matched", name);
    if (fc->add >= 0) rw_log_add(log, "matched", g->nodes[fc->add].name);
    rw_take_name(g, n, fc->add >= 0 ? fc->add : fc->node);
    rw_log_add(log, "produced", conv->name);
    g->nodes[fc->node].dead = 1;
    if (fc->add >= 0) g->nodes[fc->add].dead = 1;
    return n;
}

static int convert_head(ir_graph *g, head *hd, cJSON *log, fc_error *err)
{
    float *w = NULL;
    int64_t C = hd->c, H = hd->h, W = hd->w, K = hd->fc.k_out;
    int64_t batch = g->values[hd->map].dims[0];
    if (hd->transpose >= 0) {
        if (rw_fc_weight(g, &hd->fc, &w, err)) return -1;
        /* NHWC flatten: column (h·W + w)·C + c  ->  NCHW position c·H·W + h·W + w */
        float *p = malloc(sizeof(float) * (size_t)(K * C * H * W) + 1);
        if (!p) {
            free(w);
            return fc_fail(err, FC_ENOMEM, "out of memory permuting an NHWC weight");
        }
        for (int64_t k = 0; k < K; k++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t x = 0; x < W; x++)
                    for (int64_t c = 0; c < C; c++)
                        p[((k * C + c) * H + h) * W + x] = w[k * H * W * C + (h * W + x) * C + c];
        free(w);
        w = p;
        rw_log_add(log, "matched", g->nodes[hd->transpose].name);
        rw_log_set_str(log, "flatten_order", "NHWC");
        g->nodes[hd->transpose].dead = 1;
    }
    for (int i = 0; i < hd->n_pools; i++) {
        rw_log_add(log, "matched", g->nodes[hd->pools[i]].name);
        g->nodes[hd->pools[i]].dead = 1;
    }
    rw_log_add(log, "matched", g->nodes[hd->flatten].name);
    g->nodes[hd->flatten].dead = 1;

    int cur = rw_new_value(g, g->nodes[hd->fc.node].name, err);
    int rc = cur < 0 ? -1 : add_conv(g, &hd->fc, hd->map, w, C, H, W, cur, log, err);
    free(w);
    if (rc < 0) return -1;
    int64_t map_dims[4] = { batch, K, 1, 1 };
    rw_set_shape(g, cur, 4, map_dims);
    int last = hd->fc.out;   /* the original 2-D value the chain has reached */
    int layers = 1;
    int64_t prev_k = hd->fc.k_out;
    ir_update_links(g);
    for (;;) {
        int c = rw_sole_consumer(g, last);
        if (c < 0) break;
        ir_node *n = &g->nodes[c];
        rw_fc next;
        if (rw_is_elementwise_unary(n->op) && n->n_in == 1 && n->n_out == 1) {
            int v = rw_new_value(g, n->name, err);
            if (v < 0) return -1;
            n = &g->nodes[c];
            n->in[0] = cur;
            last = n->out[0];
            n->out[0] = v;
            rw_set_shape(g, v, 4, g->values[cur].dims);
            cur = v;
        } else if (rw_match_fc(g, c, &next) && next.in == last && next.k_in == prev_k) {
            int v = rw_new_value(g, n->name, err);
            if (v < 0) return -1;
            int made = add_conv(g, &next, cur, NULL, next.k_in, 1, 1, v, log, err);
            if (made < 0) return -1;
            int64_t d[4] = { batch, next.k_out, 1, 1 };
            rw_set_shape(g, v, 4, d);
            last = next.out;
            cur = v;
            prev_k = next.k_out;
            layers++;
        } else {
            break;
        }
        ir_update_links(g);
    }
    /* back to the original value: Flatten(axis 1) of the N×K×1×1 map */
    int fl = rw_new_node(g, FCN_OP_FLATTEN, "score_map_flatten", &cur, 1, &last, 1, err);
    if (fl < 0) return -1;
    ir_set_int(&g->nodes[fl], FCN_ATTR_AXIS, 1);
    rw_log_add(log, "produced", g->nodes[fl].name);
    if (rw_add_graph_output(g, cur, "score_map", err)) return -1;
    ir_update_links(g);
    return layers;
}

/* Why nothing matched: walk back from output 0 over the head's usual tail. */
static int no_match(const ir_graph *g, fc_error *err)
{
    if (g->n_outputs < 1) return fc_fail(err, FC_EINPUT, "--fc-to-conv: the graph has no output");
    int v = g->outputs[0], p = -1, saw_fc = 0;
    const char *reason = "";
    for (int steps = 0; steps < 10000; steps++) {
        p = g->values[v].producer;
        if (p < 0) break;
        const ir_node *n = &g->nodes[p];
        if (n->op == FCN_OP_SOFTMAX || n->op == FCN_OP_LOG_SOFTMAX || rw_is_elementwise_unary(n->op) ||
            n->op == FCN_OP_GEMM || n->op == FCN_OP_MATMUL || n->op == FCN_OP_ADD) {
            if (n->op == FCN_OP_ADD || n->op == FCN_OP_MATMUL || n->op == FCN_OP_GEMM) {
                rw_fc fc;
                saw_fc = 1;
                if ((n->op != FCN_OP_ADD) && !rw_match_fc(g, p, &fc)) {
                    reason = " (not an FC with a constant weight)";
                    break;
                }
            }
            v = n->in[0];
            continue;
        }
        if ((n->op == FCN_OP_FLATTEN || n->op == FCN_OP_RESHAPE) && !saw_fc) {
            int q = g->values[n->in[0]].producer;
            return fc_fail(err, FC_EINPUT,
                           "--fc-to-conv: no Flatten/Reshape -> Gemm/MatMul head found; looked from output '%s' back to "
                           "node '%s' (%s), which no fully connected layer follows: the model has no FC head (its "
                           "output comes from '%s' (%s)); use --gap-head exact to expose a class map",
                           g->values[g->outputs[0]].name, n->name, fcn_op_name(n->op), q >= 0 ? g->nodes[q].name : "?",
                           q >= 0 ? fcn_op_name(g->nodes[q].op) : "an input");
        }
        if (n->op == FCN_OP_FLATTEN || n->op == FCN_OP_RESHAPE) {
            const ir_value *x = &g->values[n->in[0]];
            char buf[64];
            fc_format_dims(x->ndim < 0 ? 0 : x->ndim, x->dims, buf, sizeof buf);
            return fc_fail(err, FC_EINPUT,
                           "--fc-to-conv: no Flatten/Reshape -> Gemm/MatMul head over a C×H×W map found; looked "
                           "from output '%s' back to node '%s' (%s), whose input '%s' is %s, not a known N×C×H×W "
                           "map flattened in full",
                           g->values[g->outputs[0]].name, n->name, fcn_op_name(n->op), x->name, x->ndim < 0 ? "?" : buf);
        }
        break;
    }
    if (p < 0)
        return fc_fail(err, FC_EINPUT,
                       "--fc-to-conv: no Flatten/Reshape -> Gemm/MatMul head found; looked from output '%s' back "
                       "to the graph input '%s'", g->values[g->outputs[0]].name, g->values[v].name);
    return fc_fail(err, FC_EINPUT,
                   "--fc-to-conv: no Flatten/Reshape -> Gemm/MatMul head found; looked from output '%s' back to "
                   "node '%s' (%s)%s", g->values[g->outputs[0]].name, g->nodes[p].name, fcn_op_name(g->nodes[p].op),
                   reason);
}

int fcv_fc_to_conv(ir_graph *g, cJSON *log, fc_error *err)
{
    ir_update_links(g);
    int heads = 0, layers = 0;
    int n_nodes = g->n_nodes;
    for (int i = 0; i < n_nodes; i++) {
        head hd;
        if (!match_head(g, i, &hd)) continue;
        int n = convert_head(g, &hd, log, err);
        if (n < 0) return fc_wrap(err, "--fc-to-conv");
        heads++;
        layers += n;
    }
    if (heads == 0) return no_match(g, err);
    rw_log_set_num(log, "heads", heads);
    rw_log_set_num(log, "fc_layers", layers);
    rw_log_set_str(log, "note", "the original output is Flatten(score map); the map itself is the extra output "
                                "'score_map' (N×K×H'×W' at larger inputs)");
    return layers;
}
