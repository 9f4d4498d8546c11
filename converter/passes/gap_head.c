/* gap_head.c — replacing a classifier's dense head by global average pooling + one FC.
 *
 *   exact: FC(mean_hw x) = mean_hw (W·x[:,h,w] + b)  (linearity), so GAP→Flatten→FC becomes
 *          1×1 Conv → GAP → Flatten; the conv's map (N×K×H×W) is the class activation map,
 *          an extra output named "cam".
 *   fold:  y = Σ_{c,h,w} W[k,c,h,w]·x[c,h,w] + b  ≈  Σ_c W'[k,c]·mean_hw(x[c]) + b with
 *          W'[k,c] = Σ_hw W[k,c,h,w]: equal when x is spatially constant, an approximation
 *          otherwise (reported as such, with its measured error).
 *   fit:   the whole head (Flatten, any number of FCs and activations) becomes GAP→FC(C→K) with
 *          ridge-regression weights fitted on the GAP features of calibration data (ridge.c),
 *          targets = the original head's outputs (default) or one-hot labels.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "converter/passes/rewrites.h"
#include "converter/verify.h"
#include "common/fc_dataset.h"

#define MAX_HEAD_FC 16

typedef struct dense_head {
    int n_fc;
    rw_fc fc[MAX_HEAD_FC];        /* backbone side first */
    int flatten;                  /* Flatten / Reshape / Squeeze node, or -1 */
    int transpose;                /* NHWC Transpose before the flatten, or -1 */
    int pool;                     /* GAP / ReduceMean / covering AveragePool, or -1 */
    int map;                      /* the 4-D value the head starts from, or -1 */
    int64_t c, h, w;
    int stop;                     /* node where the backward search stopped, or -1 */
    int stop_value;               /* its value when it stopped at a graph input */
} dense_head;

static int is_passthrough(int op)
{
    return op == FCN_OP_SOFTMAX || op == FCN_OP_LOG_SOFTMAX || rw_is_elementwise_unary(op);
}

/* The FC layer producing value v (Gemm, MatMul, or Add of a MatMul+bias), or 0. */
static int fc_producing(const ir_graph *g, int v, rw_fc *fc)
{
    int p = g->values[v].producer;
    if (p < 0) return 0;
    const ir_node *n = &g->nodes[p];
    if (n->op == FCN_OP_ADD) {
        for (int k = 0; k < n->n_in; k++) {
            int u = n->in[k];
            int q = u >= 0 ? g->values[u].producer : -1;
            if (q >= 0 && g->nodes[q].op == FCN_OP_MATMUL && rw_match_fc(g, q, fc) && fc->out == v) return 1;
        }
        return 0;
    }
    return rw_match_fc(g, p, fc) && fc->out == v;
}

/* A pool reducing a 4-D map to N×C×1×1 (or N×C with keepdims 0). */
static int is_global_pool(const ir_graph *g, const ir_node *n, int *keeps_dims)
{
    const ir_value *x = &g->values[n->in[0]];
    *keeps_dims = 1;
    if (x->ndim != 4) return 0;
    if (n->op == FCN_OP_GLOBAL_AVGPOOL) return 1;
    if (n->op == FCN_OP_REDUCE_MEAN) {
        const ir_attr *ax = ir_get_attr(n, FCN_ATTR_AXES);
        if (!ax || ax->count != 2) return 0;
        int64_t a0 = ax->i[0] < 0 ? ax->i[0] + 4 : ax->i[0], a1 = ax->i[1] < 0 ? ax->i[1] + 4 : ax->i[1];
        if (!((a0 == 2 && a1 == 3) || (a0 == 3 && a1 == 2))) return 0;
        *keeps_dims = (int)ir_get_int(n, FCN_ATTR_KEEPDIMS, 1);
        return 1;
    }
    if (n->op == FCN_OP_AVGPOOL) {
        const ir_attr *k = ir_get_attr(n, FCN_ATTR_KERNEL_SHAPE), *p = ir_get_attr(n, FCN_ATTR_PADS);
        if (!k || k->count != 2 || k->i[0] != x->dims[2] || k->i[1] != x->dims[3]) return 0;
        if (p)
            for (int i = 0; i < p->count; i++)
                if (p->i[i]) return 0;
        const ir_value *y = &g->values[n->out[0]];
        return y->ndim == 4 && y->dims[2] == 1 && y->dims[3] == 1;
    }
    return 0;
}

static int is_vector_flatten(const ir_graph *g, const ir_node *n)
{
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out != 1) return 0;
    const ir_value *y = &g->values[n->out[0]];
    if (n->op == FCN_OP_FLATTEN) return ir_get_int(n, FCN_ATTR_AXIS, 1) == 1;
    if (n->op == FCN_OP_RESHAPE || n->op == FCN_OP_SQUEEZE) return y->ndim == 2;
    return 0;
}

/* Walks back from output 0 over softmax/activations and FC layers to the flatten / pool. */
static void find_head(const ir_graph *g, dense_head *hd)
{
    memset(hd, 0, sizeof *hd);
    hd->flatten = hd->transpose = hd->pool = hd->map = hd->stop = hd->stop_value = -1;
    if (g->n_outputs < 1) return;
    int v = g->outputs[0];
    rw_fc fcs[MAX_HEAD_FC];
    int n = 0;
    for (int steps = 0; steps < 100000; steps++) {
        int p = g->values[v].producer;
        if (p < 0) {
            hd->stop_value = v;
            break;
        }
        const ir_node *node = &g->nodes[p];
        rw_fc fc;
        if (n < MAX_HEAD_FC && fc_producing(g, v, &fc)) {
            fcs[n++] = fc;
            v = fc.in;
            continue;
        }
        if (is_passthrough(node->op) && node->n_in >= 1 && node->in[0] >= 0) {
            v = node->in[0];
            continue;
        }
        int keeps;
        if (is_vector_flatten(g, node)) {
            hd->flatten = p;
            v = node->in[0];
            int q = g->values[v].producer;
            if (q >= 0 && g->nodes[q].op == FCN_OP_TRANSPOSE) {
                const ir_attr *perm = ir_get_attr(&g->nodes[q], FCN_ATTR_PERM);
                if (perm && perm->count == 4 && perm->i[0] == 0 && perm->i[1] == 2 && perm->i[2] == 3 &&
                    perm->i[3] == 1) {
                    hd->transpose = q;
                    v = g->nodes[q].in[0];
                }
            }
            q = g->values[v].producer;
            if (hd->transpose < 0 && q >= 0 && is_global_pool(g, &g->nodes[q], &keeps) && keeps) {
                hd->pool = q;
                v = g->nodes[q].in[0];
            }
        } else if (is_global_pool(g, node, &keeps) && !keeps) {
            hd->pool = p;
            v = node->in[0];
        }
        hd->stop = p;
        break;
    }
    for (int i = 0; i < n; i++) hd->fc[i] = fcs[n - 1 - i];
    hd->n_fc = n;
    if ((hd->flatten >= 0 || hd->pool >= 0)) {
        const ir_value *m = &g->values[v];
        if (m->ndim == 4 && m->dims[1] > 0) {   /* H, W may be free: exact does not need them */
            hd->map = v;
            hd->c = m->dims[1];
            hd->h = m->dims[2];
            hd->w = m->dims[3];
        }
    }
}

/* "looked from output 'y' back to node 'fc1' (Gemm), whose input comes from 'flatten' (Flatten) over a 32×4×4 map" */
static void describe_search(const ir_graph *g, const dense_head *hd, char *buf, size_t cap)
{
    const char *out = g->n_outputs ? g->values[g->outputs[0]].name : "?";
    if (hd->n_fc > 0) {
        const ir_node *f = &g->nodes[hd->fc[0].node];
        int src = hd->fc[0].in, p = g->values[src].producer;
        char dims[64] = "an unknown";
        int mv = hd->flatten >= 0 ? g->nodes[hd->flatten].in[0] : src;
        if (hd->map >= 0) mv = hd->map;
        const ir_value *m = &g->values[mv];
        if (m->ndim >= 2) {
            int64_t sub[FCN_MAX_DIMS];
            for (int i = 1; i < m->ndim; i++) sub[i - 1] = m->dims[i];
            fc_format_dims(m->ndim - 1, sub, dims, sizeof dims);
        }
        if (p >= 0)
            snprintf(buf, cap, "looked from output '%s' back to node '%s' (%s), whose input comes from '%s' (%s) over a %s map",
                     out, f->name, fcn_op_name(f->op), g->nodes[p].name, fcn_op_name(g->nodes[p].op), dims);
        else
            snprintf(buf, cap, "looked from output '%s' back to node '%s' (%s), whose input is the graph input '%s'",
                     out, f->name, fcn_op_name(f->op), g->values[src].name);
    } else if (hd->stop >= 0) {
        snprintf(buf, cap, "looked from output '%s' back to node '%s' (%s), which is not a fully connected layer",
                 out, g->nodes[hd->stop].name, fcn_op_name(g->nodes[hd->stop].op));
    } else {
        snprintf(buf, cap, "looked from output '%s' back to the graph input without finding a fully connected layer",
                 out);
    }
}

static void kill_head_prefix(ir_graph *g, const dense_head *hd, cJSON *log)
{
    int nodes[3] = { hd->pool, hd->transpose, hd->flatten };
    for (int i = 0; i < 3; i++)
        if (nodes[i] >= 0) {
            g->nodes[nodes[i]].dead = 1;
            rw_log_add(log, "matched", g->nodes[nodes[i]].name);
        }
}

/* GAP(map) -> Flatten -> [Gemm(w K×C, b)] -> out, with act. Returns the Flatten's output value. */
static int add_gap_fc(ir_graph *g, int map, const float *w, const float *b, int64_t c, int64_t k, const char *base,
                      int act, double act_alpha, double act_beta, int out, cJSON *log, fc_error *err)
{
    int pooled = rw_new_value(g, "gap", err);
    int flat = pooled < 0 ? -1 : rw_new_value(g, "gap_flat", err);
    if (flat < 0) return -1;
    int64_t pd[4] = { g->values[map].dims[0], g->values[map].dims[1], 1, 1 };
    rw_set_shape(g, pooled, 4, pd);
    rw_set_shape(g, flat, 2, pd);
    int n1 = rw_new_node(g, FCN_OP_GLOBAL_AVGPOOL, "gap", &map, 1, &pooled, 1, err);
    int n2 = n1 < 0 ? -1 : rw_new_node(g, FCN_OP_FLATTEN, "gap_flatten", &pooled, 1, &flat, 1, err);
    if (n2 < 0) return -1;
    ir_set_int(&g->nodes[n2], FCN_ATTR_AXIS, 1);
    rw_log_add(log, "produced", g->nodes[n1].name);
    rw_log_add(log, "produced", g->nodes[n2].name);
    int64_t wd[2] = { k, c }, bd[1] = { k };
    int wid = rw_new_const_f32(g, base, 2, wd, w, err);
    int bid = wid < 0 ? -1 : rw_new_const_f32(g, base, 1, bd, b, err);
    if (bid < 0) return -1;
    int ins[3] = { flat, wid, bid };
    int n3 = rw_new_node(g, FCN_OP_GEMM, base, ins, 3, &out, 1, err);
    if (n3 < 0) return -1;
    ir_set_int(&g->nodes[n3], FCN_ATTR_TRANS_B, 1);
    rw_fc act_src = { .act = act, .act_alpha = act_alpha, .act_beta = act_beta };
    rw_copy_act(&act_src, &g->nodes[n3]);
    return 0;
}

/* Parameters of the dense head's FC layers (weights + biases). */
static double head_params(const dense_head *hd, int from, int to)
{
    double p = 0;
    for (int i = from; i < to; i++) p += (double)(hd->fc[i].k_in + 1) * (double)hd->fc[i].k_out;
    return p;
}

static void log_head_params(cJSON *log, double before, double after)
{
    rw_log_set_num(log, "head_params_before", before);
    rw_log_set_num(log, "head_params_after", after);
    char line[160];
    snprintf(line, sizeof line, "head: %.0f params (%.0f bytes f32) -> %.0f params (%.0f bytes)", before, 4 * before,
             after, 4 * after);
    rw_log_add(log, "report", line);
}

/* ---- exact ----------------------------------------------------------------------------------- */

/* GAP -> Flatten with no FC after it (SqueezeNet): the pooled map already holds the class
 * scores, so it is the CAM as it stands; nothing to rewrite but the extra output. */
static int expose_class_map(ir_graph *g, dense_head *hd, cJSON *log, fc_error *err)
{
    if (rw_add_graph_output(g, hd->map, "cam", err)) return -1;
    rw_log_add(log, "matched", g->nodes[hd->pool].name);
    rw_log_set_str(log, "mode", "exact");
    rw_log_set_str(log, "note", "no FC after the global pool: the pooled map already holds the class scores and "
                                "is exposed unchanged as the extra output 'cam'");
    return 1;
}

static int gap_exact(ir_graph *g, dense_head *hd, cJSON *log, fc_error *err)
{
    if (hd->n_fc == 0 && hd->pool >= 0 && hd->map >= 0 && !rw_is_graph_output(g, hd->map))
        return expose_class_map(g, hd, log, err);
    if (hd->pool < 0 || hd->map < 0 || hd->n_fc < 1) {
        char where[512];
        describe_search(g, hd, where, sizeof where);
        return fc_fail(err, FC_EINPUT, "--gap-head exact: no GlobalAveragePool→Flatten→Gemm head found; %s "
                       "(use --gap-head fold or fit)", where);
    }
    const rw_fc *fc = &hd->fc[0];
    if (fc->k_in != hd->c)
        return fc_fail(err, FC_EINPUT, "--gap-head exact: FC '%s' reads %lld features, the pooled map has %lld channels",
                       g->nodes[fc->node].name, (long long)fc->k_in, (long long)hd->c);
    /* the pooled vector must feed only the FC (else the pool stays needed) */
    int pooled = g->nodes[hd->pool].out[0];
    if (rw_sole_consumer(g, pooled) != (hd->flatten >= 0 ? hd->flatten : fc->node) ||
        (hd->flatten >= 0 && rw_sole_consumer(g, g->nodes[hd->flatten].out[0]) != fc->node))
        return fc_fail(err, FC_EINPUT, "--gap-head exact: the pooled features of '%s' have other consumers",
                       g->nodes[hd->pool].name);
    float *w = NULL, *b = NULL;
    if (rw_fc_weight(g, fc, &w, err) || rw_fc_bias(g, fc, &b, err)) {
        free(w);
        return -1;
    }
    const char *name = g->nodes[fc->node].name;
    int64_t wd[4] = { fc->k_out, hd->c, 1, 1 }, bd[1] = { fc->k_out };
    int wid = rw_new_const_f32(g, name, 4, wd, w, err);
    int bid = wid < 0 ? -1 : rw_new_const_f32(g, name, 1, bd, b, err);
    free(w);
    free(b);
    if (bid < 0) return -1;
    int cam = rw_new_value(g, "cam", err);
    int pooled2 = cam < 0 ? -1 : rw_new_value(g, "cam_pool", err);
    int flat = pooled2 < 0 ? -1 : rw_new_value(g, "cam_flat", err);
    if (flat < 0) return -1;
    int64_t cd[4] = { g->values[hd->map].dims[0], fc->k_out, hd->h, hd->w }, pd[4] = { cd[0], cd[1], 1, 1 };
    rw_set_shape(g, cam, 4, cd);
    rw_set_shape(g, pooled2, 4, pd);
    rw_set_shape(g, flat, 2, pd);
    int ins[3] = { hd->map, wid, bid };
    char cname[300];
    snprintf(cname, sizeof cname, "%.280s_cam_conv", name);
    int conv = rw_new_node(g, FCN_OP_CONV, cname, ins, 3, &cam, 1, err);
    if (conv < 0) return -1;
    int64_t ones[2] = { 1, 1 }, pads[4] = { 0 };
    ir_set_ints(&g->nodes[conv], FCN_ATTR_KERNEL_SHAPE, ones, 2);
    ir_set_ints(&g->nodes[conv], FCN_ATTR_STRIDES, ones, 2);
    ir_set_ints(&g->nodes[conv], FCN_ATTR_DILATIONS, ones, 2);
    ir_set_ints(&g->nodes[conv], FCN_ATTR_PADS, pads, 4);
    ir_set_int(&g->nodes[conv], FCN_ATTR_GROUP, 1);
    int gap = rw_new_node(g, FCN_OP_GLOBAL_AVGPOOL, "cam_gap", &cam, 1, &pooled2, 1, err);
    int after = fc->act != FCN_ACT_NONE;   /* act(mean) != mean(act): apply it after the pool */
    int flat_out = after ? flat : fc->out;
    int fl = gap < 0 ? -1 : rw_new_node(g, FCN_OP_FLATTEN, "cam_flatten", &pooled2, 1, &flat_out, 1, err);
    if (fl < 0) return -1;
    ir_set_int(&g->nodes[fl], FCN_ATTR_AXIS, 1);
    if (after && rw_add_act_node(g, fc->act, fc->act_alpha, fc->act_beta, name, flat, fc->out, err) < 0) return -1;
    kill_head_prefix(g, hd, log);
    rw_log_add(log, "matched", name);
    g->nodes[fc->node].dead = 1;
    if (fc->add >= 0) {
        rw_log_add(log, "matched", g->nodes[fc->add].name);
        g->nodes[fc->add].dead = 1;
    }
    rw_take_name(g, conv, fc->node);
    rw_log_add(log, "produced", g->nodes[conv].name);
    rw_log_add(log, "produced", g->nodes[gap].name);
    rw_log_add(log, "produced", g->nodes[fl].name);
    if (rw_add_graph_output(g, cam, "cam", err)) return -1;
    rw_log_set_str(log, "mode", "exact");
    rw_log_set_str(log, "note", "GAP→FC rewritten as 1×1 conv→GAP (linearity: identical output); the class "
                                "activation map is the extra output 'cam'");
    if (hd->n_fc > 1) rw_log_set_str(log, "cam_caveat", "more FC layers follow: 'cam' holds the first FC's outputs, not class scores");
    return 1;
}

/* ---- fold ------------------------------------------------------------------------------------ */

static int gap_fold(ir_graph *g, dense_head *hd, cJSON *log, fc_error *err)
{
    if (hd->flatten < 0 || hd->map < 0 || hd->n_fc < 1 || hd->pool >= 0) {
        char where[512];
        describe_search(g, hd, where, sizeof where);
        if (hd->pool >= 0)
            return fc_fail(err, FC_EINPUT, "--gap-head fold: the head already pools ('%s'); use --gap-head exact",
                           g->nodes[hd->pool].name);
        return fc_fail(err, FC_EINPUT, "--gap-head fold: no Flatten→FC head over a C×H×W map found; %s", where);
    }
    const rw_fc *fc = &hd->fc[0];
    int64_t C = hd->c, H = hd->h, W = hd->w, K = fc->k_out;
    if (H < 1 || W < 1)
        return fc_fail(err, FC_EINPUT, "--gap-head fold: the map '%s' has a free size (%lldx%lld): give --input-shape",
                       g->values[hd->map].name, (long long)H, (long long)W);
    if (fc->k_in != C * H * W)
        return fc_fail(err, FC_EINPUT, "--gap-head fold: FC '%s' reads %lld inputs, the map has %lld", g->nodes[fc->node].name,
                       (long long)fc->k_in, (long long)(C * H * W));
    float *w = NULL, *b = NULL;
    if (rw_fc_weight(g, fc, &w, err) || rw_fc_bias(g, fc, &b, err)) {
        free(w);
        return -1;
    }
    float *wf = malloc(sizeof(float) * (size_t)(K * C) + 1);
    if (!wf) {
        free(w); free(b);
        return fc_fail(err, FC_ENOMEM, "out of memory");
    }
    int nhwc = hd->transpose >= 0;
    for (int64_t k = 0; k < K; k++)
        for (int64_t c = 0; c < C; c++) {
            double s = 0;
            for (int64_t p = 0; p < H * W; p++)
                s += w[k * C * H * W + (nhwc ? p * C + c : c * H * W + p)];
            wf[k * C + c] = (float)s;
        }
    const char *name = g->nodes[fc->node].name;
    kill_head_prefix(g, hd, log);
    rw_log_add(log, "matched", name);
    char fname[300];
    snprintf(fname, sizeof fname, "%.280s_gapfold", name);
    int rc = add_gap_fc(g, hd->map, wf, b, C, K, fname, fc->act, fc->act_alpha, fc->act_beta, fc->out, log, err);
    free(w); free(b); free(wf);
    if (rc) return -1;
    g->nodes[fc->node].dead = 1;
    if (fc->add >= 0) g->nodes[fc->add].dead = 1;
    rw_take_name(g, g->n_nodes - 1, fc->node);   /* the new Gemm is the last node added */
    rw_log_add(log, "produced", g->nodes[g->n_nodes - 1].name);
    log_head_params(log, head_params(hd, 0, 1), (double)(C + 1) * (double)K);
    rw_log_set_str(log, "mode", "fold");
    rw_log_set_bool(log, "approximate", 1);
    char note[256];
    snprintf(note, sizeof note, "APPROXIMATION: W'[k,c] = sum over the %lldx%lld positions of W[k,c,h,w]; exact only "
             "for spatially constant features (see the verify line for the error it introduces)", (long long)H, (long long)W);
    rw_log_set_str(log, "note", note);
    return 1;
}

/* ---- fit ------------------------------------------------------------------------------------- */

static void progress(int64_t done, int64_t total)
{
    static int tty = -1;
    if (tty < 0) tty = isatty(2);
    if (!tty) return;
    int width = 30, fill = total ? (int)(done * width / total) : width;
    fprintf(stderr, "\r  collecting GAP features [%.*s%*s] %lld/%lld", fill, "##############################",
            width - fill, "", (long long)done, (long long)total);
    if (done == total) fprintf(stderr, "\n");
}

int fcv_collect_gap_features(const ir_graph *g, int map, int head_out, const char *calib, float mean, float std,
                             int64_t max_samples, double **features, int64_t *c_out, double **head, int64_t *k_out, int **labels,
                             int64_t *n_out, fc_error *err)
{
    *features = NULL;
    if (head) *head = NULL;
    if (labels) *labels = NULL;
    fc_dataset *ds = NULL;
    ir_graph *t = NULL;
    fcv_graph_runner r = { 0 };
    float *batch = NULL;
    double *feat = NULL, *hv = NULL;
    int *lab = NULL;
    if (fc_dataset_open(calib, mean, std, &ds, err)) return -1;
    fcn_shape shape;
    if (fcv_input_shape(g, 64, &shape, err)) goto fail;
    if (shape.ndim != 4 || shape.dims[1] != ds->c || shape.dims[2] != ds->h || shape.dims[3] != ds->w) {
        char buf[64];
        fc_format_dims(shape.ndim, shape.dims, buf, sizeof buf);
        fc_fail(err, FC_EINPUT, "--calib %s: images are %lldx%lldx%lld, the model input is %s", calib, (long long)ds->c,
                (long long)ds->h, (long long)ds->w, buf);
        goto fail;
    }
    /* a temporary graph whose outputs are the map (and the head's output) */
    if (!(t = ir_clone(g, err))) goto fail;
    int outs[2] = { map, head_out };
    int n_outs = head_out >= 0 ? 2 : 1;
    int *no = realloc(t->outputs, sizeof(int) * 2);
    if (!no) {
        fc_fail(err, FC_ENOMEM, "out of memory");
        goto fail;
    }
    t->outputs = no;
    memcpy(t->outputs, outs, sizeof(int) * (size_t)n_outs);
    t->n_outputs = n_outs;
    ir_update_links(t);
    if (ir_compact(t, err) || ir_toposort(t, err) || fcv_dce(t, err)) goto fail;
    const char *map_name = t->values[t->outputs[0]].name;
    const char *head_name = n_outs > 1 ? t->values[t->outputs[1]].name : NULL;
    if (fcv_runner_open(t, &shape, &r, err)) goto fail;
    int64_t B = shape.dims[0], N = ds->count, C = g->values[map].dims[1], K = -1;
    if (max_samples > 0 && N > max_samples) N = max_samples;
    size_t per = (size_t)(ds->c * ds->h * ds->w);
    batch = calloc((size_t)B * per, sizeof(float));
    feat = malloc(sizeof(double) * (size_t)(N * C));
    lab = malloc(sizeof(int) * (size_t)N);
    if (!batch || !feat || !lab) {
        fc_fail(err, FC_ENOMEM, "out of memory collecting %lld calibration features", (long long)N);
        goto fail;
    }
    fc_dataset_batch(ds, 0, N, NULL, lab, err);
    for (int64_t s = 0; s < N; s += B) {
        int64_t n = N - s < B ? N - s : B;
        memset(batch, 0, (size_t)B * per * sizeof(float));
        if (fc_dataset_batch(ds, s, n, batch, NULL, err) || fcv_runner_run(&r, batch, (size_t)B * per, err)) goto fail;
        fcn_shape ms, hs;
        const float *m = fcv_runner_output(&r, map_name, &ms);
        if (!m || ms.ndim != 4 || ms.dims[1] != C) {
            fc_fail(err, FC_EINTERNAL, "feature map '%s' missing from the backbone run", map_name);
            goto fail;
        }
        size_t hw = (size_t)(ms.dims[2] * ms.dims[3]);
        for (int64_t i = 0; i < n; i++)
            for (int64_t c = 0; c < C; c++) {
                const float *x = m + ((size_t)(i * C + c)) * hw;
                double acc = 0;
                for (size_t p = 0; p < hw; p++) acc += x[p];
                feat[(s + i) * C + c] = acc / (double)hw;
            }
        if (head_name) {
            const float *y = fcv_runner_output(&r, head_name, &hs);
            if (!y || hs.ndim < 2) {
                fc_fail(err, FC_EINTERNAL, "head output '%s' missing", head_name);
                goto fail;
            }
            if (K < 0) {
                K = 1;
                for (int d = 1; d < hs.ndim; d++) K *= hs.dims[d];
                if (!(hv = malloc(sizeof(double) * (size_t)(N * K) + 1))) {
                    fc_fail(err, FC_ENOMEM, "out of memory");
                    goto fail;
                }
            }
            for (int64_t i = 0; i < n * K; i++) hv[s * K + i] = y[i];
        }
        progress(s + n, N);
    }
    *features = feat;
    *c_out = C;
    *n_out = N;
    if (head) *head = hv; else free(hv);
    if (k_out) *k_out = K;
    if (labels && ds->has_labels) *labels = lab; else free(lab);
    free(batch);
    fcv_runner_close(&r);
    ir_graph_free(t);
    fc_dataset_close(ds);
    return 0;
fail:
    free(batch); free(feat); free(hv); free(lab);
    fcv_runner_close(&r);
    ir_graph_free(t);
    fc_dataset_close(ds);
    return -1;
}

static int argmax(const double *x, int64_t n)
{
    int64_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return (int)b;
}

/* Predictions x·B for sample features x (C) into y (K). */
static void predict(const double *B, const double *x, int64_t C, int64_t K, double *y)
{
    for (int64_t k = 0; k < K; k++) y[k] = B[C * K + k];
    for (int64_t c = 0; c < C; c++)
        for (int64_t k = 0; k < K; k++) y[k] += x[c] * B[c * K + k];
}

typedef struct fit_eval { double mse, agree, acc_new, acc_old; } fit_eval;

static void evaluate(const double *B, const double *X, const double *T, const double *logits, const int *lab,
                     int64_t from, int64_t to, int64_t C, int64_t K, double *yb, fit_eval *e)
{
    memset(e, 0, sizeof *e);
    int64_t n = to - from;
    for (int64_t i = from; i < to; i++) {
        predict(B, X + i * C, C, K, yb);
        for (int64_t k = 0; k < K; k++) {
            double d = yb[k] - T[i * K + k];
            e->mse += d * d;
        }
        int p = argmax(yb, K), o = argmax(logits + i * K, K);
        e->agree += p == o;
        if (lab) {
            e->acc_new += p == lab[i];
            e->acc_old += o == lab[i];
        }
    }
    if (n > 0) {
        e->mse /= (double)(n * K);
        e->agree /= (double)n;
        e->acc_new /= (double)n;
        e->acc_old /= (double)n;
    }
}

static void log_line(cJSON *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(cJSON *log, const char *fmt, ...)
{
    if (!log) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    rw_log_add(log, "report", buf);
}

static int gap_fit(ir_graph *g, dense_head *hd, const fcv_options *opt, cJSON *log, fc_error *err)
{
    if (hd->n_fc < 1 || hd->map < 0) {
        char where[512];
        describe_search(g, hd, where, sizeof where);
        return fc_fail(err, FC_EINPUT, "--gap-head fit: no dense head (Flatten→FC…) over a C×H×W map found; %s", where);
    }
    const rw_fc *last = &hd->fc[hd->n_fc - 1];
    int head_out = last->out;
    double *X = NULL, *logits = NULL, *T = NULL, *B = NULL, *yb = NULL;
    int *lab = NULL;
    int64_t C, K, N;
    fcv_ridge_stats st = { 0 };
    int rc = -1;
    int64_t cap = strchr(opt->calib, '[') ? 0 : FCV_FIT_DEFAULT_SAMPLES;
    if (fcv_collect_gap_features(g, hd->map, head_out, opt->calib, opt->mean, opt->std, cap, &X, &C, &logits, &K, &lab,
                                 &N, err))
        return fc_wrap(err, "--gap-head fit");
    if (cap && N == cap)
        log_line(log, "calibration: the first %lld samples of '%s' (append [start:end] to choose others or more)",
                 (long long)N, opt->calib);
    if (N < 10) {
        fc_fail(err, FC_EINPUT, "--gap-head fit: %lld calibration samples, at least 10 are needed", (long long)N);
        goto out;
    }
    if (opt->calib_labels) {
        if (!lab) {
            fc_fail(err, FC_EINPUT, "--calib-labels: calibration data '%s' has no labels", opt->calib);
            goto out;
        }
        for (int64_t i = 0; i < N; i++)
            if (lab[i] < 0 || lab[i] >= K) {
                fc_fail(err, FC_EINPUT, "--calib-labels: sample %lld of '%s' has label %d, the model has %lld classes (0..%lld)",
                        (long long)i, opt->calib, lab[i], (long long)K, (long long)(K - 1));
                goto out;
            }
        if (!(T = calloc((size_t)(N * K), sizeof(double)))) {
            fc_fail(err, FC_ENOMEM, "out of memory");
            goto out;
        }
        for (int64_t i = 0; i < N; i++) T[i * K + lab[i]] = 1.0;
    } else {
        T = logits;
    }
    if (lab)
        for (int64_t i = 0; i < N; i++)
            if (lab[i] < 0 || lab[i] >= K) {   /* labels only used for reporting: drop them */
                free(lab);
                lab = NULL;
                log_line(log, "labels of '%s' exceed the model's %lld classes: accuracy not reported", opt->calib, (long long)K);
                break;
            }
    /* λ on a held-out split: the last 20% of the samples (deterministic) */
    int64_t n_train = N - N / 5;
    if (fcv_ridge_init(&st, C, K, err)) goto out;
    for (int64_t i = 0; i < n_train; i++) fcv_ridge_add(&st, X + i * C, T + i * K);
    double scale = fcv_ridge_feature_trace(&st) / (double)C;
    if (!(scale > 0)) {
        fc_fail(err, FC_EINPUT, "--gap-head fit: the GAP features of '%s' are all zero: singular Gram matrix",
                opt->calib);
        goto out;
    }
    static const double grid[] = { 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100 };
    double best_lambda = -1, best_mse = INFINITY;
    fit_eval best_eval = { 0 };
    if (!(yb = malloc(sizeof(double) * (size_t)K))) {
        fc_fail(err, FC_ENOMEM, "out of memory");
        goto out;
    }
    fc_error last_err = { 0 };
    for (size_t gi = 0; gi < sizeof grid / sizeof grid[0]; gi++) {
        double lambda = grid[gi] * scale;
        double *Bt;
        if (fcv_ridge_solve(&st, lambda, &Bt, &last_err)) continue;
        fit_eval e;
        evaluate(Bt, X, T, logits, lab, n_train, N, C, K, yb, &e);
        free(Bt);
        log_line(log, "lambda %.3g (%.0e x trace/C): held-out mse %.4g, top-1 agreement %.2f%%", lambda, grid[gi], e.mse,
                 100 * e.agree);
        if (e.mse < best_mse) {
            best_mse = e.mse;
            best_lambda = lambda;
            best_eval = e;
        }
    }
    if (best_lambda < 0) {
        fc_fail(err, FC_EINPUT, "--gap-head fit: %s", last_err.msg);
        goto out;
    }
    /* refit on every sample with the chosen λ */
    for (int64_t i = n_train; i < N; i++) fcv_ridge_add(&st, X + i * C, T + i * K);
    if (fcv_ridge_solve(&st, best_lambda, &B, err)) goto out;
    log_line(log, "chosen lambda %.4g on the held-out last 20%% (%lld of %lld samples): top-1 agreement with the "
             "original head %.2f%%", best_lambda, (long long)(N - n_train), (long long)N, 100 * best_eval.agree);
    if (lab)
        log_line(log, "held-out accuracy: original head %.2f%%, fitted GAP head %.2f%%", 100 * best_eval.acc_old,
                 100 * best_eval.acc_new);
    rw_log_set_num(log, "lambda", best_lambda);
    rw_log_set_num(log, "calib_samples", (double)N);
    rw_log_set_num(log, "heldout_agreement", best_eval.agree);
    if (lab) {
        rw_log_set_num(log, "heldout_acc_original", best_eval.acc_old);
        rw_log_set_num(log, "heldout_acc_fitted", best_eval.acc_new);
    }
    rw_log_set_str(log, "targets", opt->calib_labels ? "labels" : "logits");
    /* B is (C+1)×K: Gemm weight K×C (transB) and bias K */
    float *w = malloc(sizeof(float) * (size_t)(K * C) + 1), *b = malloc(sizeof(float) * (size_t)K + 1);
    if (!w || !b) {
        free(w); free(b);
        fc_fail(err, FC_ENOMEM, "out of memory");
        goto out;
    }
    for (int64_t k = 0; k < K; k++) {
        for (int64_t c = 0; c < C; c++) w[k * C + c] = (float)B[c * K + k];
        b[k] = (float)B[C * K + k];
    }
    kill_head_prefix(g, hd, log);
    for (int i = 0; i < hd->n_fc; i++) rw_log_add(log, "matched", g->nodes[hd->fc[i].node].name);
    /* the old head dies by dead-code elimination once nothing reads its output */
    int r2 = add_gap_fc(g, hd->map, w, b, C, K, "gap_fit_fc", FCN_ACT_NONE, 0, 0, head_out, log, err);
    free(w); free(b);
    if (r2) goto out;
    rw_log_add(log, "produced", g->nodes[g->n_nodes - 1].name);
    for (int i = 0; i < hd->n_fc; i++) {
        g->nodes[hd->fc[i].node].dead = 1;
        if (hd->fc[i].add >= 0) g->nodes[hd->fc[i].add].dead = 1;
    }
    log_head_params(log, head_params(hd, 0, hd->n_fc), (double)(C + 1) * (double)K);
    rw_log_set_str(log, "mode", "fit");
    rw_log_set_bool(log, "approximate", 1);
    rw_log_set_str(log, "note", "APPROXIMATION: dense head replaced by GAP→FC fitted by ridge regression (closed form, "
                                "Cholesky) on the calibration features");
    rc = 1;
out:
    free(X);
    if (T != logits) free(T);
    free(logits); free(B); free(yb); free(lab);
    fcv_ridge_free(&st);
    return rc;
}

int fcv_gap_head(ir_graph *g, const fcv_options *opt, cJSON *log, fc_error *err)
{
    ir_update_links(g);
    dense_head hd;
    find_head(g, &hd);
    if (!strcmp(opt->gap_head, "exact")) return gap_exact(g, &hd, log, err);
    if (!strcmp(opt->gap_head, "fold")) return gap_fold(g, &hd, log, err);
    if (!strcmp(opt->gap_head, "fit")) return gap_fit(g, &hd, opt, log, err);
    return fc_fail(err, FC_EINPUT, "--gap-head must be exact, fold or fit, not '%s'", opt->gap_head);
}
