/* test_rewrites.c — the rewrite passes on graphs built by hand in the IR, each checked by
 * running the original and the rewritten graph in the runtime on the same inputs:
 * BN folding and activation fusion (exact), FC→conv on every export form (Flatten/Reshape →
 * Gemm transB 0/1 with alpha/beta, Flatten → MatMul → Add, identity pools, NHWC flatten),
 * the score map at a larger input against the original on crops (no padding: exact), GAP head
 * exact (cam output, its mean = logits), fold (W' = Σ_hw W, error reported), fit (ridge
 * optimality conditions), fp16/int8 weights, and the error messages of the bad cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "common/fc_dataset.h"
#include "converter/cam.h"
#include "converter/ir.h"
#include "converter/verify.h"
#include "converter/passes/rewrites.h"

/* ---- graph building --------------------------------------------------------------------- */

static uint32_t rng = 1;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static int cst(ir_graph *g, const char *name, int ndim, const int64_t *dims, float scale, float offset)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
    float *d = malloc(n * sizeof(float) + 1);
    for (size_t i = 0; i < n; i++) d[i] = offset + scale * frand();
    fc_error err = { 0 };
    int id = ir_add_const_owned(g, name, FC_DT_F32, ndim, dims, d, n * sizeof(float), &err);
    assert_true(id >= 0);
    return id;
}

static int act(ir_graph *g, const char *name)
{
    fc_error err = { 0 };
    int id = ir_add_value(g, name, FC_DT_F32, -1, NULL, &err);
    assert_true(id >= 0);
    return id;
}

static int node(ir_graph *g, int op, const char *name, int n_in, const int *in, int out)
{
    fc_error err = { 0 };
    int id = ir_add_node(g, op, name, in, n_in, &out, 1, &err);
    assert_true(id >= 0);
    return id;
}

static ir_graph *new_graph(int c, int h, int w, int *x)
{
    ir_graph *g = ir_graph_new();
    fc_error err = { 0 };
    int64_t dims[4] = { -1, c, h, w };
    *x = ir_add_value(g, "x", FC_DT_F32, 4, dims, &err);
    g->inputs = malloc(sizeof(int));
    g->inputs[0] = *x;
    g->n_inputs = 1;
    return g;
}

static void set_output(ir_graph *g, int v)
{
    g->outputs = malloc(sizeof(int));
    g->outputs[0] = v;
    g->n_outputs = 1;
    ir_update_links(g);
}

static void conv_attrs(ir_graph *g, int n, int k, int pad, int stride)
{
    int64_t ks[2] = { k, k }, st[2] = { stride, stride }, pd[4] = { pad, pad, pad, pad };
    ir_set_ints(&g->nodes[n], FCN_ATTR_KERNEL_SHAPE, ks, 2);
    ir_set_ints(&g->nodes[n], FCN_ATTR_STRIDES, st, 2);
    ir_set_ints(&g->nodes[n], FCN_ATTR_PADS, pd, 4);
}

/* x[N,1,8,8] -> Conv 3x3 (4) -> BN -> Relu -> MaxPool 2 -> [N,4,3,3] : returns the map value */
static int backbone(ir_graph *g, int x, int pad, int with_bn)
{
    int64_t wd[4] = { 4, 1, 3, 3 }, bd[1] = { 4 };
    int ins[5] = { x, cst(g, "conv_w", 4, wd, 0.5f, 0), cst(g, "conv_b", 1, bd, 0.1f, 0) };
    int c = act(g, "conv_out");
    conv_attrs(g, node(g, FCN_OP_CONV, "conv", 3, ins, c), 3, pad, 1);
    int r_in = c;
    if (with_bn) {
        int bn = act(g, "bn_out");
        int bi[5] = { c, cst(g, "bn_g", 1, bd, 0.5f, 1.0f), cst(g, "bn_b", 1, bd, 0.3f, 0), cst(g, "bn_m", 1, bd, 0.2f, 0),
                      cst(g, "bn_v", 1, bd, 0.4f, 1.0f) };
        int n = node(g, FCN_OP_BATCHNORM, "bn", 5, bi, bn);
        ir_set_float(&g->nodes[n], FCN_ATTR_EPSILON, 1e-5);
        r_in = bn;
    }
    int r = act(g, "relu_out");
    node(g, FCN_OP_RELU, "relu", 1, &r_in, r);
    int p = act(g, "pool_out");
    int pn = node(g, FCN_OP_MAXPOOL, "pool", 1, &r, p);
    int64_t ks[2] = { 2, 2 };
    ir_set_ints(&g->nodes[pn], FCN_ATTR_KERNEL_SHAPE, ks, 2);
    ir_set_ints(&g->nodes[pn], FCN_ATTR_STRIDES, ks, 2);
    return p;
}

/* A 1x1 stride-1 pool (op) of `in` (an adaptive pool whose output is its input's size): its output */
static int unit_pool(ir_graph *g, int op, const char *name, const char *out, int in)
{
    int o = act(g, out);
    int n = node(g, op, name, 1, &in, o);
    int64_t one[2] = { 1, 1 };
    ir_set_ints(&g->nodes[n], FCN_ATTR_KERNEL_SHAPE, one, 2);
    ir_set_ints(&g->nodes[n], FCN_ATTR_STRIDES, one, 2);
    return o;
}

enum { FORM_FLATTEN_GEMM_T1, FORM_FLATTEN_GEMM_T0, FORM_RESHAPE_GEMM, FORM_MATMUL_ADD, FORM_AVGPOOL1,
       FORM_NHWC, FORM_COUNT };

/* Backbone + head of the given form: FC(36->6) [+Relu, Dropout] -> FC(6->5). */
static ir_graph *fc_model(int form, int pad, int with_bn)
{
    int x;
    ir_graph *g = new_graph(1, 8, 8, &x);
    int m = backbone(g, x, pad, with_bn);   /* 4x3x3 (pad 0) or 4x4x4 (pad 1) */
    int64_t chw = pad ? 64 : 36;
    if (form == FORM_AVGPOOL1) m = unit_pool(g, FCN_OP_AVGPOOL, "adaptive_avg", "avg_out", m);
    if (form == FORM_NHWC) {
        int t = act(g, "nhwc");
        int n = node(g, FCN_OP_TRANSPOSE, "to_nhwc", 1, &m, t);
        int64_t perm[4] = { 0, 2, 3, 1 };
        ir_set_ints(&g->nodes[n], FCN_ATTR_PERM, perm, 4);
        m = t;
    }
    int f = act(g, "flat");
    if (form == FORM_RESHAPE_GEMM) {
        int n = node(g, FCN_OP_RESHAPE, "reshape", 1, &m, f);
        int64_t shape[2] = { -1, chw };
        ir_set_ints(&g->nodes[n], FCN_ATTR_SHAPE, shape, 2);
    } else {
        int n = node(g, FCN_OP_FLATTEN, "flatten", 1, &m, f);
        ir_set_int(&g->nodes[n], FCN_ATTR_AXIS, 1);
    }
    int h1 = act(g, "fc1_out");
    int64_t b1d[1] = { 6 };
    if (form == FORM_MATMUL_ADD) {
        int64_t wd[2] = { chw, 6 };
        int mm = act(g, "mm_out");
        int ins[2] = { f, cst(g, "fc1_w", 2, wd, 0.3f, 0) };
        node(g, FCN_OP_MATMUL, "fc1_matmul", 2, ins, mm);
        int ai[2] = { mm, cst(g, "fc1_b", 1, b1d, 0.2f, 0) };
        node(g, FCN_OP_ADD, "fc1_add", 2, ai, h1);
    } else {
        int t1 = form != FORM_FLATTEN_GEMM_T0;
        int64_t wd[2] = { t1 ? 6 : chw, t1 ? chw : 6 };
        int ins[3] = { f, cst(g, "fc1_w", 2, wd, 0.3f, 0), cst(g, "fc1_b", 1, b1d, 0.2f, 0) };
        int n = node(g, FCN_OP_GEMM, "fc1", 3, ins, h1);
        ir_set_int(&g->nodes[n], FCN_ATTR_TRANS_B, t1);
        if (form == FORM_FLATTEN_GEMM_T0) {
            ir_set_float(&g->nodes[n], FCN_ATTR_ALPHA, 0.75);
            ir_set_float(&g->nodes[n], FCN_ATTR_BETA, 1.5);
        }
    }
    if (with_bn == 2) {   /* BatchNorm1d after the first FC: folds into the Gemm / MatMul+Add */
        int bn = act(g, "fc1_bn");
        int bi[5] = { h1, cst(g, "fbn_g", 1, b1d, 0.5f, 1.0f), cst(g, "fbn_b", 1, b1d, 0.3f, 0),
                      cst(g, "fbn_m", 1, b1d, 0.2f, 0), cst(g, "fbn_v", 1, b1d, 0.4f, 1.0f) };
        node(g, FCN_OP_BATCHNORM, "fc1_bn", 5, bi, bn);
        h1 = bn;
    }
    int r = act(g, "fc1_relu"), d = act(g, "drop");
    node(g, FCN_OP_RELU, "relu1", 1, &h1, r);
    node(g, FCN_OP_IDENTITY, "dropout", 1, &r, d);
    int y = act(g, "y");
    int64_t w2[2] = { 5, 6 }, b2[1] = { 5 };
    int ins2[3] = { d, cst(g, "fc2_w", 2, w2, 0.4f, 0), cst(g, "fc2_b", 1, b2, 0.2f, 0) };
    int n2 = node(g, FCN_OP_GEMM, "fc2", 3, ins2, y);
    ir_set_int(&g->nodes[n2], FCN_ATTR_TRANS_B, 1);
    set_output(g, y);
    fc_error err = { 0 };
    assert_int_equal(fcv_infer_shapes(g, &err), 0);
    return g;
}

/* x -> conv 3x3 pad 1 (8) -> relu -> pool -> GlobalAveragePool|ReduceMean -> Flatten -> Gemm(8->5) */
static ir_graph *gap_model(int reduce_mean)
{
    int x;
    ir_graph *g = new_graph(1, 8, 8, &x);
    int m = backbone(g, x, 1, 1);   /* 4x4x4 */
    int p = act(g, "gap_out");
    if (reduce_mean) {
        int n = node(g, FCN_OP_REDUCE_MEAN, "mean", 1, &m, p);
        int64_t ax[2] = { 2, 3 };
        ir_set_ints(&g->nodes[n], FCN_ATTR_AXES, ax, 2);
        ir_set_int(&g->nodes[n], FCN_ATTR_KEEPDIMS, 1);
    } else {
        node(g, FCN_OP_GLOBAL_AVGPOOL, "gap", 1, &m, p);
    }
    int f = act(g, "flat");
    int fl = node(g, FCN_OP_FLATTEN, "flatten", 1, &p, f);   /* (node() may move g->nodes) */
    ir_set_int(&g->nodes[fl], FCN_ATTR_AXIS, 1);
    int y = act(g, "y");
    int64_t wd[2] = { 5, 4 }, bd[1] = { 5 };
    int ins[3] = { f, cst(g, "fc_w", 2, wd, 0.5f, 0), cst(g, "fc_b", 1, bd, 0.2f, 0) };
    int fc = node(g, FCN_OP_GEMM, "fc", 3, ins, y);
    ir_set_int(&g->nodes[fc], FCN_ATTR_TRANS_B, 1);
    set_output(g, y);
    fc_error err = { 0 };
    assert_int_equal(fcv_infer_shapes(g, &err), 0);
    return g;
}

/* ---- running ------------------------------------------------------------------------------- */

/* Runs g on x (shape n×1×h×w), copies output `name` into out (returns its element count). */
static size_t run(const ir_graph *g, const float *x, int64_t n, int64_t h, int64_t w, const char *name, float *out,
                  fcn_shape *shape_out)
{
    fcv_graph_runner r;
    fc_error err = { 0 };
    fcn_shape s = { 4, { n, 1, h, w } };
    if (fcv_runner_open(g, &s, &r, &err)) fail_msg("runner: %s", err.msg);
    if (fcv_runner_run(&r, x, (size_t)(n * h * w), &err)) fail_msg("run: %s", err.msg);
    fcn_shape os;
    const float *y = fcv_runner_output(&r, name, &os);
    if (!y) fail_msg("no output '%s'", name);
    size_t count = 1;
    for (int i = 0; i < os.ndim; i++) count *= (size_t)os.dims[i];
    memcpy(out, y, count * sizeof(float));
    if (shape_out) *shape_out = os;
    fcv_runner_close(&r);
    return count;
}

static double rel_diff(const float *a, const float *b, size_t n)
{
    double m = 0, d = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs((double)a[i]));
    }
    return m > 0 ? d / m : d;
}

static void random_input(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = frand();
}

static fcv_options quiet_options(void)
{
    fcv_options o;
    fcv_options_default(&o);
    o.quiet = 1;
    o.report = NULL;
    return o;
}

static const cJSON *pass_log(const ir_graph *g, const char *name)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, g->passes_meta) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "pass");
        if (p && !strcmp(p->valuestring, name)) return it;
    }
    return NULL;
}

static double verify_num(const ir_graph *g, const char *pass, const char *key)
{
    const cJSON *l = pass_log(g, pass);
    assert_non_null(l);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(l, "verify");
    assert_non_null(v);
    return cJSON_GetObjectItemCaseSensitive(v, key)->valuedouble;
}

static int count_op(const ir_graph *g, int op)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += !g->nodes[i].dead && g->nodes[i].op == op;
    return n;
}

/* Converts a clone of g with opt; asserts success; compares output y on random inputs. */
static ir_graph *convert_and_compare(const ir_graph *g, fcv_options *opt, double tol)
{
    fc_error err = { 0 };
    ir_graph *c = ir_clone(g, &err);
    assert_non_null(c);
    if (fcv_run_passes(c, opt, &err)) fail_msg("convert: %s", err.msg);
    float x[3 * 64], a[64], b[64];
    random_input(x, 3 * 64);
    size_t na = run(g, x, 3, 8, 8, "y", a, NULL), nb = run(c, x, 3, 8, 8, "y", b, NULL);
    assert_int_equal(na, nb);
    double rel = rel_diff(a, b, na);
    if (!(rel <= tol)) fail_msg("rel err %g > %g", rel, tol);
    return c;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_fold_bn_and_fuse(void **state)
{
    (void)state;
    ir_graph *g = fc_model(FORM_FLATTEN_GEMM_T1, 0, 1);
    fcv_options o = quiet_options();
    ir_graph *c = convert_and_compare(g, &o, 1e-5);
    assert_int_equal(count_op(c, FCN_OP_BATCHNORM), 0);
    assert_int_equal(count_op(c, FCN_OP_RELU), 0);       /* both fused */
    assert_int_equal(count_op(c, FCN_OP_IDENTITY), 0);   /* dropout removed */
    assert_true(verify_num(c, "verify", "max_rel_err") <= 1e-5);
    assert_true(verify_num(c, "verify", "top1_agreement") == 1.0);
    ir_graph_free(c);
    ir_graph_free(g);
}

static void test_fold_bn_after_fc(void **state)
{
    (void)state;
    int forms[3] = { FORM_FLATTEN_GEMM_T1, FORM_FLATTEN_GEMM_T0, FORM_MATMUL_ADD };
    for (int i = 0; i < 3; i++) {
        ir_graph *g = fc_model(forms[i], 0, 2);
        fcv_options o = quiet_options();
        ir_graph *c = convert_and_compare(g, &o, 1e-5);
        assert_int_equal(count_op(c, FCN_OP_BATCHNORM), 0);
        const cJSON *l = pass_log(c, "fold_bn");
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(l, "rewrites")->valueint, 2);
        ir_graph_free(c);
        o.fc_to_conv = 1;   /* and the folded FC still converts */
        c = convert_and_compare(g, &o, 1e-5);
        assert_int_equal(count_op(c, FCN_OP_GEMM) + count_op(c, FCN_OP_MATMUL), 0);
        ir_graph_free(c);
        ir_graph_free(g);
    }
}

/* MatMul -> BatchNorm without a bias Add: the fold creates the Add. */
static void test_fold_bn_matmul_no_bias(void **state)
{
    (void)state;
    int x;
    ir_graph *g = new_graph(1, 8, 8, &x);
    int f = act(g, "flat"), mm = act(g, "mm"), y = act(g, "y");
    int fl = node(g, FCN_OP_FLATTEN, "flatten", 1, &x, f);
    ir_set_int(&g->nodes[fl], FCN_ATTR_AXIS, 1);
    int64_t wd[2] = { 64, 6 }, bd[1] = { 6 };
    int ins[2] = { f, cst(g, "w", 2, wd, 0.3f, 0) };
    node(g, FCN_OP_MATMUL, "matmul", 2, ins, mm);
    int bi[5] = { mm, cst(g, "g", 1, bd, 0.5f, 1.0f), cst(g, "b", 1, bd, 0.3f, 0), cst(g, "m", 1, bd, 0.2f, 0),
                  cst(g, "v", 1, bd, 0.4f, 1.0f) };
    node(g, FCN_OP_BATCHNORM, "bn", 5, bi, y);
    set_output(g, y);
    fc_error err = { 0 };
    assert_int_equal(fcv_infer_shapes(g, &err), 0);
    fcv_options o = quiet_options();
    ir_graph *c = ir_clone(g, &err);
    if (fcv_run_passes(c, &o, &err)) fail_msg("%s", err.msg);
    assert_int_equal(count_op(c, FCN_OP_BATCHNORM), 0);
    assert_int_equal(count_op(c, FCN_OP_ADD), 1);
    float in[128], a[12], b[12];
    random_input(in, 128);
    run(g, in, 2, 8, 8, "y", a, NULL);
    run(c, in, 2, 8, 8, "y", b, NULL);
    assert_true(rel_diff(a, b, 12) <= 1e-5);
    ir_graph_free(c);
    ir_graph_free(g);
}

static void test_cam_images(void **state)
{
    (void)state;
    /* 1 input, 3 classes, 2x2 maps; class 2 has the largest logit, then class 0 */
    float cam[12] = { 0, 1, 2, 3, /* class 0 */ 5, 5, 5, 5, /* class 1 (constant) */ 3, 2, 1, 0 /* class 2 */ };
    float logits[3] = { 1.0f, -1.0f, 2.0f };
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/test_rewrites_cams_%d", (int)getpid());
    fcv_cam_options o = { .top_k = 2, .grayscale = 1, .force = 1 };
    fc_error err = { 0 };
    assert_int_equal(fcv_write_cams(cam, 1, 3, 2, 2, logits, 4, 4, &o, dir, &err), 2);
    char p[512];
    snprintf(p, sizeof p, "%s/0_top1_class2.pgm", dir);
    uint8_t *buf;
    size_t size;
    assert_int_equal(fc_read_file(p, 1 << 20, &buf, &size, &err), 0);
    assert_int_equal(size, 11 + 16);   /* "P5\n4 4\n255\n" + 16 pixels */
    assert_memory_equal(buf, "P5\n4 4\n255\n", 11);
    const uint8_t *px = buf + 11;
    /* bilinear (align_corners=false): the top-left corner keeps the map's maximum (3 -> 255),
     * the bottom-right its minimum (0 -> 0); values decrease along the diagonal */
    assert_int_equal(px[0], 255);
    assert_int_equal(px[15], 0);
    assert_true(px[5] > px[10]);
    free(buf);
    unlink(p);
    snprintf(p, sizeof p, "%s/0_top2_class0.pgm", dir);
    assert_int_equal(access(p, R_OK), 0);
    unlink(p);
    rmdir(dir);
}

static void test_fc_to_conv_forms(void **state)
{
    (void)state;
    for (int form = 0; form < FORM_COUNT; form++) {
        ir_graph *g = fc_model(form, 0, form % 2);
        fcv_options o = quiet_options();
        o.fc_to_conv = 1;
        ir_graph *c = convert_and_compare(g, &o, 1e-5);
        assert_int_equal(count_op(c, FCN_OP_GEMM), 0);
        assert_int_equal(count_op(c, FCN_OP_MATMUL), 0);
        assert_int_equal(count_op(c, FCN_OP_TRANSPOSE), 0);
        assert_int_equal(count_op(c, FCN_OP_CONV), 3);
        assert_int_equal(c->n_outputs, 2);
        assert_string_equal(c->values[c->outputs[0]].name, "y");
        assert_string_equal(c->values[c->outputs[1]].name, "score_map");
        assert_true(verify_num(c, "fc_to_conv", "max_rel_err") <= 1e-5);
        /* the first FC is a 3x3 conv over the 4x3x3 map */
        int found = 0;
        for (int i = 0; i < c->n_nodes; i++) {
            const ir_node *n = &c->nodes[i];
            if (n->op != FCN_OP_CONV) continue;
            const ir_value *w = &c->values[n->in[1]];
            if (w->dims[0] == 6) {
                assert_int_equal(w->dims[1], 4);
                assert_int_equal(w->dims[2], 3);
                assert_int_equal(w->dims[3], 3);
                found = 1;
            }
        }
        assert_true(found);
        ir_graph_free(c);
        ir_graph_free(g);
    }
}

/* No padding: every position of the score map at a 12x12 input equals the original on the
 * 8x8 crop at (2i, 2j) (total stride 2). */
static void test_score_map_matches_crops(void **state)
{
    (void)state;
    for (int form = 0; form < FORM_COUNT; form++) {
        ir_graph *g = fc_model(form, 0, 1);
        fcv_options o = quiet_options();
        o.fc_to_conv = 1;
        ir_graph *c = convert_and_compare(g, &o, 1e-5);
        float big[144], crop[64], ref[5], map[5 * 9];
        random_input(big, 144);
        fcn_shape ms;
        run(c, big, 1, 12, 12, "score_map", map, &ms);
        assert_int_equal(ms.ndim, 4);
        assert_int_equal(ms.dims[1], 5);
        assert_int_equal(ms.dims[2], 3);
        assert_int_equal(ms.dims[3], 3);
        double worst = 0;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                for (int y = 0; y < 8; y++)
                    for (int x = 0; x < 8; x++) crop[y * 8 + x] = big[(2 * i + y) * 12 + 2 * j + x];
                run(g, crop, 1, 8, 8, "y", ref, NULL);
                float at[5];
                for (int k = 0; k < 5; k++) at[k] = map[k * 9 + i * 3 + j];
                worst = fmax(worst, rel_diff(ref, at, 5));
            }
        if (!(worst <= 1e-5)) fail_msg("form %d: score map vs crops rel err %g", form, worst);
        ir_graph_free(c);
        ir_graph_free(g);
    }
}

static void test_gap_exact(void **state)
{
    (void)state;
    for (int rm = 0; rm < 2; rm++) {
        ir_graph *g = gap_model(rm);
        fcv_options o = quiet_options();
        o.gap_head = "exact";
        ir_graph *c = convert_and_compare(g, &o, 1e-5);
        assert_int_equal(c->n_outputs, 2);
        assert_string_equal(c->values[c->outputs[1]].name, "cam");
        float x[64], y[5], cam[5 * 16];
        random_input(x, 64);
        fcn_shape cs;
        run(c, x, 1, 8, 8, "y", y, NULL);
        run(c, x, 1, 8, 8, "cam", cam, &cs);
        assert_int_equal(cs.ndim, 4);
        assert_int_equal(cs.dims[1], 5);
        assert_int_equal(cs.dims[2], 4);
        assert_int_equal(cs.dims[3], 4);
        for (int k = 0; k < 5; k++) {   /* mean of the cam is the logit */
            double s = 0;
            for (int p = 0; p < 16; p++) s += cam[k * 16 + p];
            assert_true(fabs(s / 16 - y[k]) <= 1e-5 * (1 + fabs(y[k])));
        }
        assert_true(verify_num(c, "gap_head", "max_rel_err") <= 1e-5);
        ir_graph_free(c);
        ir_graph_free(g);
    }
}

/* A fully convolutional source (free H and W): GAP exact still applies; verification is skipped
 * with a note (no shape to probe at), and the model runs at any size. */
static void test_gap_exact_free_size(void **state)
{
    (void)state;
    ir_graph *g = gap_model(0);
    /* what an importer that knows channel counts but not sizes leaves: H and W free */
    for (int v = 0; v < g->n_values; v++) {
        ir_value *x = &g->values[v];
        if (!x->data && x->ndim == 4) x->dims[2] = x->dims[3] = -1;
    }
    fc_error err = { 0 };
    fcv_options o = quiet_options();
    o.gap_head = "exact";
    ir_graph *c = ir_clone(g, &err);
    if (fcv_run_passes(c, &o, &err)) fail_msg("%s", err.msg);
    const cJSON *v = pass_log(c, "verify");
    assert_non_null(v);
    assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(v, "skipped")->valuestring, "free dimension"));
    float in[144], a[5], b[5];
    random_input(in, 144);
    run(g, in, 1, 12, 12, "y", a, NULL);
    run(c, in, 1, 12, 12, "y", b, NULL);
    assert_true(rel_diff(a, b, 5) <= 1e-5);
    ir_graph_free(c);
    o.gap_head = "fold";   /* a pooled head: fold refuses and points to exact */
    c = ir_clone(g, &err);
    assert_int_equal(fcv_run_passes(c, &o, &err), -1);
    assert_non_null(strstr(err.msg, "use --gap-head exact"));
    ir_graph_free(c);
    ir_graph_free(g);
}

static void test_gap_fold(void **state)
{
    (void)state;
    ir_graph *g = fc_model(FORM_FLATTEN_GEMM_T1, 0, 0);
    fcv_options o = quiet_options();
    o.gap_head = "fold";
    fc_error err = { 0 };
    ir_graph *c = ir_clone(g, &err);
    if (fcv_run_passes(c, &o, &err)) fail_msg("%s", err.msg);
    const cJSON *l = pass_log(c, "gap_head");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(l, "approximate")));
    assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(l, "note")->valuestring, "APPROXIMATION"));
    assert_true(verify_num(c, "gap_head", "max_rel_err") > 1e-4);   /* it is not exact, and says so */
    /* W'[k,c] = Σ_hw W[k,c,h,w] */
    const float *w = rw_const_f32(g, ir_find_value(g, "fc1_w"));
    int gemm = -1;
    for (int i = 0; i < c->n_nodes; i++)
        if (c->nodes[i].op == FCN_OP_GEMM && c->values[c->nodes[i].in[1]].dims[0] == 6) gemm = i;
    assert_true(gemm >= 0);
    const float *wf = rw_const_f32(c, c->nodes[gemm].in[1]);
    assert_int_equal(c->values[c->nodes[gemm].in[1]].dims[1], 4);
    for (int k = 0; k < 6; k++)
        for (int ch = 0; ch < 4; ch++) {
            double s = 0;
            for (int p = 0; p < 9; p++) s += w[k * 36 + ch * 9 + p];
            assert_true(fabs(s - wf[k * 4 + ch]) < 1e-5);
        }
    ir_graph_free(c);
    ir_graph_free(g);
    /* the identity itself: a constant image through an unpadded backbone gives a spatially
     * constant map, where fold is exact — in NCHW and in NHWC flatten order */
    int forms[3] = { FORM_FLATTEN_GEMM_T1, FORM_MATMUL_ADD, FORM_NHWC };
    for (int i = 0; i < 3; i++) {
        g = fc_model(forms[i], 0, 1);
        c = ir_clone(g, &err);
        if (fcv_run_passes(c, &o, &err)) fail_msg("%s", err.msg);
        float x[64], a[5], b[5];
        for (int k = 0; k < 64; k++) x[k] = 0.7f;
        run(g, x, 1, 8, 8, "y", a, NULL);
        run(c, x, 1, 8, 8, "y", b, NULL);
        double rel = rel_diff(a, b, 5);
        if (!(rel <= 1e-5)) fail_msg("form %d: fold on a constant map rel err %g", forms[i], rel);
        ir_graph_free(c);
        ir_graph_free(g);
    }
}

static char *write_calib(int n, int with_labels, int label_max)
{
    static char path[600];
    snprintf(path, sizeof path, "/tmp/test_rewrites_calib_%d.npz", (int)getpid());
    char xp[256], yp[256];
    snprintf(xp, sizeof xp, "/tmp/test_rewrites_x_%d.npy", (int)getpid());
    snprintf(yp, sizeof yp, "/tmp/test_rewrites_y_%d.npy", (int)getpid());
    fc_array x = { 0 }, y = { 0 };
    fc_error err = { 0 };
    int64_t xd[4] = { n, 1, 8, 8 }, yd[1] = { n };
    assert_int_equal(fc_array_alloc(&x, FC_DT_F32, 4, xd, &err), 0);
    assert_int_equal(fc_array_alloc(&y, FC_DT_I64, 1, yd, &err), 0);
    random_input(x.data, (size_t)n * 64);
    for (int i = 0; i < n; i++) ((int64_t *)y.data)[i] = i % (label_max + 1);
    unlink(xp);
    unlink(yp);
    assert_int_equal(fc_npy_write(xp, &x, 1, &err), 0);
    assert_int_equal(fc_npy_write(yp, &y, 1, &err), 0);
    fc_array_free(&x);
    fc_array_free(&y);
    if (with_labels) snprintf(path, sizeof path, "%s:%s", xp, yp);
    else snprintf(path, sizeof path, "%s", xp);
    return path;
}

/* The fitted head satisfies the ridge normal equations: [X 1]ᵀ([X 1]B − Y) + λ·D·B = 0. */
static void test_gap_fit(void **state)
{
    (void)state;
    ir_graph *g = fc_model(FORM_FLATTEN_GEMM_T1, 0, 1);
    fcv_options o = quiet_options();
    o.gap_head = "fit";
    o.calib = write_calib(200, 1, 4);
    fc_error err = { 0 };
    ir_graph *c = ir_clone(g, &err);
    if (fcv_run_passes(c, &o, &err)) fail_msg("%s", err.msg);
    const cJSON *l = pass_log(c, "gap_head");
    double lambda = cJSON_GetObjectItemCaseSensitive(l, "lambda")->valuedouble;
    assert_true(lambda > 0);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(l, "heldout_acc_original"));
    /* features and targets from the original graph */
    ir_graph *g2 = ir_clone(g, &err);
    ir_update_links(g2);
    double *X, *Y;
    int64_t C, K, N;
    int *lab;
    assert_int_equal(fcv_collect_gap_features(g2, ir_find_value(g2, "pool_out"), ir_find_value(g2, "y"), o.calib, 0, 1, 0, &X,
                                              &C, &Y, &K, &lab, &N, &err), 0);
    assert_int_equal(C, 4);
    assert_int_equal(K, 5);
    assert_int_equal(N, 200);
    int gemm = -1;
    for (int i = 0; i < c->n_nodes; i++)
        if (c->nodes[i].op == FCN_OP_GEMM) gemm = i;
    assert_true(gemm >= 0);
    const float *w = rw_const_f32(c, c->nodes[gemm].in[1]), *b = rw_const_f32(c, c->nodes[gemm].in[2]);
    double grad_max = 0, scale = 0;
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j <= C; j++) {
            double s = 0;
            for (int64_t i = 0; i < N; i++) {
                double pred = b[k];
                for (int64_t ch = 0; ch < C; ch++) pred += w[k * C + ch] * X[i * C + ch];
                double a = j < C ? X[i * C + j] : 1.0;
                s += a * (pred - Y[i * K + k]);
                scale = fmax(scale, fabs(a * Y[i * K + k]));
            }
            if (j < C) s += lambda * w[k * C + j];
            grad_max = fmax(grad_max, fabs(s));
        }
    if (!(grad_max <= 1e-4 * scale * (double)N)) fail_msg("normal equations residual %g (scale %g)", grad_max, scale);
    free(X); free(Y); free(lab);
    ir_graph_free(g2);
    ir_graph_free(c);
    /* labels as targets */
    o.calib_labels = 1;
    c = ir_clone(g, &err);
    if (fcv_run_passes(c, &o, &err)) fail_msg("%s", err.msg);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(pass_log(c, "gap_head"), "targets")->valuestring, "labels");
    ir_graph_free(c);
    ir_graph_free(g);
}

static void test_ridge_solver(void **state)
{
    (void)state;
    /* y = 2·x0 − x1 + 3 exactly: with λ → 0 the solution recovers it */
    fcv_ridge_stats st;
    fc_error err = { 0 };
    assert_int_equal(fcv_ridge_init(&st, 2, 1, &err), 0);
    for (int i = 0; i < 50; i++) {
        double x[2] = { frand(), frand() }, y = 2 * x[0] - x[1] + 3;
        fcv_ridge_add(&st, x, &y);
    }
    double *B;
    assert_int_equal(fcv_ridge_solve(&st, 1e-9, &B, &err), 0);
    assert_true(fabs(B[0] - 2) < 1e-6 && fabs(B[1] + 1) < 1e-6 && fabs(B[2] - 3) < 1e-6);
    free(B);
    fcv_ridge_free(&st);
    /* duplicated feature columns and λ = 0: singular */
    assert_int_equal(fcv_ridge_init(&st, 2, 1, &err), 0);
    for (int i = 0; i < 20; i++) {
        double v = frand(), x[2] = { v, v }, y = v;
        fcv_ridge_add(&st, x, &y);
    }
    assert_int_equal(fcv_ridge_solve(&st, 0.0, &B, &err), -1);
    assert_non_null(strstr(err.msg, "singular"));
    fcv_ridge_free(&st);
}

static void test_quantize(void **state)
{
    (void)state;
    const char *modes[2] = { "fp16", "int8" };
    double tol[2] = { 2e-3, 5e-2 };
    for (int m = 0; m < 2; m++) {
        ir_graph *g = fc_model(FORM_FLATTEN_GEMM_T1, 1, 1);
        fcv_options o = quiet_options();
        o.weights = modes[m];
        ir_graph *c = convert_and_compare(g, &o, tol[m]);
        const cJSON *l = pass_log(c, "quantize");
        const cJSON *layers = cJSON_GetObjectItemCaseSensitive(l, "layers");
        assert_int_equal(cJSON_GetArraySize(layers), 3);
        const cJSON *it;
        cJSON_ArrayForEach(it, layers) {
            double before = cJSON_GetObjectItemCaseSensitive(it, "bytes_before")->valuedouble;
            double after = cJSON_GetObjectItemCaseSensitive(it, "bytes_after")->valuedouble;
            double e = cJSON_GetObjectItemCaseSensitive(it, "output_rel_err")->valuedouble;
            assert_true(after < before);
            assert_true(e > 0 && e < tol[m]);
        }
        int want = m ? FC_DT_I8 : FC_DT_F16;
        assert_int_equal(c->values[ir_find_value(c, "fc2_w")].dtype, want);
        ir_graph_free(c);
        /* --keep-fp32 and the threshold */
        o.keep_fp32 = "fc2";
        c = convert_and_compare(g, &o, tol[m]);
        assert_int_equal(c->values[ir_find_value(c, "fc2_w")].dtype, FC_DT_F32);
        ir_graph_free(c);
        o.keep_fp32 = NULL;
        o.quant_max_err = 1e-12;
        c = convert_and_compare(g, &o, 1e-5);
        assert_int_equal(c->values[ir_find_value(c, "fc2_w")].dtype, FC_DT_F32);
        ir_graph_free(c);
        ir_graph_free(g);
    }
}

/* fc_columns' graphs, batch `batch`: kind 0 the backbone's ReLU → MaxPool → Flatten →
 * FC(64→4096) → Relu → FC(4096→64); 1 the same with an Inf in the first FC's weight; 2
 * GlobalAveragePool → Flatten → FC(4→65536) (dense input); 3 a Relu6 (Clip 0..6) then MaxPool →
 * FC(64→4096); 4 FC(64→20) → Relu → FC(20→17) (weights too small for the pass). The FCs of kinds
 * 0–3 have 2^18 weights, the pass's minimum. */
static int64_t cols_outputs(int kind) { return kind < 2 ? 64 : kind == 2 ? 65536 : kind == 3 ? 4096 : 17; }

static ir_graph *cols_model(int kind, int batch)
{
    ir_graph *g = ir_graph_new();
    fc_error err = { 0 };
    int64_t xd[4] = { batch, 1, 8, 8 };
    int x = ir_add_value(g, "x", FC_DT_F32, 4, xd, &err);
    g->inputs = malloc(sizeof(int));
    g->inputs[0] = x;
    g->n_inputs = 1;
    int m = backbone(g, x, 1, 0);   /* 4x4x4 after ReLU and MaxPool */
    if (kind == 2) {
        int p = act(g, "gap_out");
        node(g, FCN_OP_GLOBAL_AVGPOOL, "gap", 1, &m, p);
        m = p;
    }
    if (kind == 3) {   /* the backbone's ReLU becomes a Relu6, and a second MaxPool follows it */
        g->nodes[ir_find_node(g, "relu")].op = FCN_OP_CLIP;
        ir_set_float(&g->nodes[ir_find_node(g, "relu")], FCN_ATTR_MIN, 0.0);
        ir_set_float(&g->nodes[ir_find_node(g, "relu")], FCN_ATTR_MAX, 6.0);
        m = unit_pool(g, FCN_OP_MAXPOOL, "pool2", "pool2_out", m);
    }
    int f = act(g, "flat");
    int fl = node(g, FCN_OP_FLATTEN, "flatten", 1, &m, f);
    ir_set_int(&g->nodes[fl], FCN_ATTR_AXIS, 1);
    int64_t k = kind == 2 ? 4 : 64, n1 = kind == 4 ? 20 : kind == 2 ? 65536 : 4096;
    int64_t wd[2] = { n1, k }, bd[1] = { n1 };
    int w1 = cst(g, "fc1_w", 2, wd, 0.3f, 0);
    if (kind == 1) ((float *)g->values[w1].data)[5] = INFINITY;
    int two = kind < 2 || kind == 4;
    int h = act(g, two ? "fc1_out" : "y");
    int ins[3] = { f, w1, cst(g, "fc1_b", 1, bd, 0.2f, 0) };
    int n = node(g, FCN_OP_GEMM, "fc1", 3, ins, h);
    ir_set_int(&g->nodes[n], FCN_ATTR_TRANS_B, 1);
    if (two) {
        int r = act(g, "fc1_relu"), y = act(g, "y");
        node(g, FCN_OP_RELU, "relu1", 1, &h, r);
        int64_t w2[2] = { cols_outputs(kind), n1 }, b2[1] = { cols_outputs(kind) };
        int ins2[3] = { r, cst(g, "fc2_w", 2, w2, 0.4f, 0), cst(g, "fc2_b", 1, b2, 0.2f, 0) };
        int n2 = node(g, FCN_OP_GEMM, "fc2", 3, ins2, y);
        ir_set_int(&g->nodes[n2], FCN_ATTR_TRANS_B, 1);
        h = y;
    }
    set_output(g, h);
    assert_int_equal(fcv_infer_shapes(g, &err), 0);
    return g;
}

/* The first j where b[j] is not a[j] within 1e-4 of the largest |a| (at least 1; sums of 4096
 * terms in another order), NaN matching NaN and infinities equal; -1 when none. */
static long cols_mismatch(const float *a, const float *b, size_t n)
{
    float big = 1.0f;
    for (size_t j = 0; j < n; j++)
        if (isfinite(a[j])) big = fmaxf(big, fabsf(a[j]));
    for (size_t j = 0; j < n; j++)
        if (!(fabsf(a[j] - b[j]) <= 1e-4f * big) && !(isnan(a[j]) && isnan(b[j])) && a[j] != b[j]) return (long)j;
    return -1;
}

/* transB of node `name` and the dims of its weight */
static int trans_b_of(const ir_graph *g, const char *name, int64_t *d0, int64_t *d1)
{
    const ir_node *n = &g->nodes[ir_find_node(g, name)];
    const ir_value *w = &g->values[n->in[1]];
    *d0 = w->dims[0];
    *d1 = w->dims[1];
    return (int)ir_get_int(n, FCN_ATTR_TRANS_B, 0);
}

static ir_graph *convert_with(const ir_graph *g, const char *weights, int no_cols, int no_verify)
{
    fcv_options o = quiet_options();
    o.weights = weights;
    o.no_fc_columns = no_cols;
    o.no_verify = no_verify;
    fc_error err = { 0 };
    ir_graph *c = ir_clone(g, &err);
    assert_non_null(c);
    if (fcv_run_passes(c, &o, &err)) fail_msg("convert: %s", err.msg);
    return c;
}

/* FC weights after a ReLU stored input-major: the same outputs as the same conversion without
 * the pass (the runtime now skipping the zero inputs' rows), only where the input has a ReLU's
 * zeros, finite weights, fp32 or fp16 (int8 keeps its per-output scales), and not with
 * --no-fc-columns; batches of 1, 2 and 3. */
static void test_fc_columns(void **state)
{
    (void)state;
    /* kind, batch, FCs rewritten */
    const int cases[][3] = { { 0, 1, 2 }, { 1, 1, 1 }, { 2, 1, 0 }, { 3, 1, 1 }, { 4, 1, 0 }, { 0, 2, 2 }, { 0, 3, 2 } };
    const char *modes[3] = { "fp32", "fp16", "int8" };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int m = 0; m < 3; m++) {
            int kind = cases[i][0], batch = cases[i][1], want = m == 2 ? 0 : cases[i][2];
            ir_graph *g = cols_model(kind, batch);
            /* (the Inf weight's NaN outputs fail any verification) */
            ir_graph *c = convert_with(g, modes[m], 0, kind == 1), *off = convert_with(g, modes[m], 1, kind == 1);
            const cJSON *l = pass_log(c, "fc_columns");
            assert_non_null(l);
            assert_int_equal(cJSON_GetObjectItemCaseSensitive(l, "rewrites")->valueint, want);
            assert_null(pass_log(off, "fc_columns"));
            int64_t d0, d1;
            int fc1 = want && kind != 1;   /* the Inf weight stays output-major */
            assert_int_equal(trans_b_of(c, "fc1", &d0, &d1), !fc1);
            int64_t n1 = kind == 4 ? 20 : kind == 2 ? 65536 : 4096, k = kind == 2 ? 4 : 64;
            assert_int_equal(d0, fc1 ? k : n1);
            assert_int_equal(d1, fc1 ? n1 : k);
            assert_int_equal(trans_b_of(off, "fc1", &d0, &d1), 1);
            if (kind < 2) assert_int_equal(trans_b_of(c, "fc2", &d0, &d1), !want);
            /* the same outputs: random inputs, and inputs whose whole map is negative (all zeros) */
            size_t ny = (size_t)(batch * cols_outputs(kind));
            float x[3 * 64], *a = malloc(sizeof(float) * ny), *b = malloc(sizeof(float) * ny);
            for (int neg = 0; neg < 2; neg++) {
                random_input(x, (size_t)(batch * 64));
                if (neg)
                    for (int j = 0; j < batch * 64; j++) x[j] = -fabsf(x[j]) - 1.0f;
                size_t na = run(off, x, batch, 8, 8, "y", a, NULL), nb = run(c, x, batch, 8, 8, "y", b, NULL);
                assert_int_equal(na, nb);
                long j = cols_mismatch(a, b, na);
                if (j >= 0) fail_msg("case %zu %s neg %d: y[%ld] %g vs %g", i, modes[m], neg, j, (double)b[j], (double)a[j]);
            }
            free(a);
            free(b);
            ir_graph_free(c);
            ir_graph_free(off);
            ir_graph_free(g);
        }
}

/* After --fc-to-conv: the FCs turned convolutions whose input holds a ReLU's zeros keep their dims
 * and get their weight bytes input-major (W_LAYOUT 1, any batch); the outputs equal the same
 * conversion without fc_columns at the model's size (the cols product) and as a score map at a
 * larger one (the GEMM, A packed from that order), on random and all-negative inputs. Not for a
 * dense input (after GAP), an Inf weight, int8 weights, small weights, or with --no-fc-columns. */
static void test_fc_columns_conv(void **state)
{
    (void)state;
    /* kind, batch, convs rewritten */
    const int cases[][3] = { { 0, 1, 2 }, { 0, 2, 2 }, { 0, 3, 2 }, { 1, 1, 1 }, { 2, 1, 0 }, { 3, 1, 1 }, { 4, 1, 0 } };
    const char *modes[3] = { "fp32", "fp16", "int8" };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int m = 0; m < 3; m++) {
            int kind = cases[i][0], batch = cases[i][1], want = m == 2 ? 0 : cases[i][2];
            ir_graph *g = cols_model(kind, batch);
            fcv_options o = quiet_options();
            o.weights = modes[m];
            o.fc_to_conv = 1;
            o.no_verify = kind == 1;
            fc_error err = { 0 };
            ir_graph *c = ir_clone(g, &err), *off = ir_clone(g, &err);
            if (fcv_run_passes(c, &o, &err)) fail_msg("convert: %s", err.msg);
            o.no_fc_columns = 1;
            if (fcv_run_passes(off, &o, &err)) fail_msg("convert: %s", err.msg);
            const cJSON *l = pass_log(c, "fc_columns");
            assert_non_null(l);
            assert_int_equal(cJSON_GetObjectItemCaseSensitive(l, "rewrites")->valueint, want);
            int layouts = 0;
            for (int j = 0; j < c->n_nodes; j++) {
                const ir_node *n = &c->nodes[j];
                if (n->dead || n->op != FCN_OP_CONV || !ir_get_int(n, FCN_ATTR_W_LAYOUT, 0)) continue;
                layouts++;
                const ir_value *w = &c->values[n->in[1]], *x = &c->values[n->in[0]];
                assert_int_equal(w->dims[1], x->dims[1]);   /* dims kept: [K, C, kh, kw] */
                assert_int_equal(w->dims[2], x->dims[2]);
                assert_int_equal(w->dims[3], x->dims[3]);
            }
            assert_int_equal(layouts, want);
            for (int j = 0; j < off->n_nodes; j++) assert_int_equal(ir_get_int(&off->nodes[j], FCN_ATTR_W_LAYOUT, 0), 0);
            /* the model's size (8×8), then a score map at 12×12 (3×3 positions, 1 after GAP) */
            size_t ny = (size_t)(batch * cols_outputs(kind) * 9);
            float *a = malloc(sizeof(float) * ny), *b = malloc(sizeof(float) * ny);
            for (int big = 0; big < 2; big++)
                for (int neg = 0; neg < 2; neg++) {
                    int64_t hw = big ? 12 : 8;
                    float x[3 * 144];
                    random_input(x, (size_t)(batch * hw * hw));
                    if (neg)
                        for (int j = 0; j < batch * hw * hw; j++) x[j] = -fabsf(x[j]) - 1.0f;
                    const char *out = big ? "score_map" : "y";
                    size_t na = run(off, x, batch, hw, hw, out, a, NULL), nb = run(c, x, batch, hw, hw, out, b, NULL);
                    assert_int_equal(na, nb);
                    long j = cols_mismatch(a, b, na);
                    if (j >= 0)
                        fail_msg("case %zu %s %s neg %d: %s[%ld] %g vs %g", i, modes[m], big ? "12x12" : "8x8", neg, out,
                                 j, (double)b[j], (double)a[j]);
                }
            free(a);
            free(b);
            ir_graph_free(c);
            ir_graph_free(off);
            ir_graph_free(g);
        }
}

static void expect_error(ir_graph *g, fcv_options *o, int code, const char *needle)
{
    fc_error err = { 0 };
    ir_graph *c = ir_clone(g, &err);
    assert_int_equal(fcv_run_passes(c, o, &err), -1);
    assert_int_equal(err.code, code);
    if (!strstr(err.msg, needle)) fail_msg("message '%s' lacks '%s'", err.msg, needle);
    ir_graph_free(c);
}

static void test_bad_cases(void **state)
{
    (void)state;
    ir_graph *g = fc_model(FORM_FLATTEN_GEMM_T1, 0, 0);
    fcv_options o = quiet_options();
    o.gap_head = "exact";
    expect_error(g, &o, FC_EINPUT, "no GlobalAveragePool→Flatten→Gemm head found; looked from output 'y' back to node 'fc1' (Gemm), whose input comes from 'flatten' (Flatten) over a 4x3x3 map");
    o.gap_head = "fit";
    o.calib = "/nonexistent/calib.npy";
    expect_error(g, &o, FC_EINPUT, "calib.npy");
    /* wrong image size */
    char p[256];
    snprintf(p, sizeof p, "/tmp/test_rewrites_bad_%d.npy", (int)getpid());
    fc_array x = { 0 };
    fc_error err = { 0 };
    int64_t d[3] = { 20, 9, 9 };
    fc_array_alloc(&x, FC_DT_U8, 3, d, &err);
    unlink(p);
    fc_npy_write(p, &x, 1, &err);
    fc_array_free(&x);
    o.calib = p;
    expect_error(g, &o, FC_EINPUT, "images are 1x9x9, the model input is");
    unlink(p);
    /* labels out of range */
    o.calib = write_calib(40, 1, 7);
    o.calib_labels = 1;
    expect_error(g, &o, FC_EINPUT, "has label 5, the model has 5 classes");
    ir_graph_free(g);
    /* --fc-to-conv without a head */
    g = gap_model(0);
    int out = g->outputs[0];
    (void)out;
    ir_graph_free(g);
    int xv;
    g = new_graph(1, 8, 8, &xv);
    int m = backbone(g, xv, 1, 0);
    set_output(g, m);
    fcv_infer_shapes(g, &err);
    o = quiet_options();
    o.fc_to_conv = 1;
    expect_error(g, &o, FC_EINPUT, "--fc-to-conv: no Flatten/Reshape -> Gemm/MatMul head found; looked from output 'pool_out' back to node 'pool' (MaxPool)");
    ir_graph_free(g);
}

static void test_dataset(void **state)
{
    (void)state;
    fc_dataset *ds;
    fc_error err = { 0 };
    if (access("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", R_OK) == 0) {
        assert_int_equal(fc_dataset_open("fashion-mnist:test[10:110]", 0, 1, &ds, &err), 0);
        assert_int_equal(ds->count, 100);
        assert_int_equal(ds->c, 1);
        assert_int_equal(ds->h, 28);
        assert_int_equal(ds->w, 28);
        assert_true(ds->has_labels);
        assert_int_equal(ds->n_classes, 10);
        float *px = malloc(sizeof(float) * 784 * 2);
        int lab[2];
        assert_int_equal(fc_dataset_batch(ds, 98, 2, px, lab, &err), 0);
        for (int i = 0; i < 784 * 2; i++) assert_true(px[i] >= 0 && px[i] <= 1);
        assert_int_equal(fc_dataset_batch(ds, 99, 2, px, lab, &err), -1);
        free(px);
        fc_dataset_close(ds);
    }
    /* hostile IDX: header promises more than the file holds */
    char p[256];
    snprintf(p, sizeof p, "/tmp/test_rewrites_%d-images-idx3-ubyte", (int)getpid());
    FILE *f = fopen(p, "wb");
    uint8_t head[16] = { 0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28 };
    fwrite(head, 1, 16, f);
    fwrite(head, 1, 16, f);
    fclose(f);
    assert_int_equal(fc_dataset_open(p, 0, 1, &ds, &err), -1);
    assert_non_null(strstr(err.msg, "IDX header promises 1568 bytes of data, the file has 16"));
    f = fopen(p, "wb");
    head[2] = 0x0d;
    fwrite(head, 1, 16, f);
    fclose(f);
    assert_int_equal(fc_dataset_open(p, 0, 1, &ds, &err), -1);
    assert_non_null(strstr(err.msg, "only unsigned bytes"));
    unlink(p);
    assert_int_equal(fc_dataset_open("fashion-mnist:validation", 0, 1, &ds, &err), -1);
    assert_int_equal(fc_dataset_open("x.npy[5:2]", 0, 1, &ds, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_bn_and_fuse),
        cmocka_unit_test(test_fold_bn_after_fc),
        cmocka_unit_test(test_fold_bn_matmul_no_bias),
        cmocka_unit_test(test_cam_images),
        cmocka_unit_test(test_fc_to_conv_forms),
        cmocka_unit_test(test_score_map_matches_crops),
        cmocka_unit_test(test_gap_exact),
        cmocka_unit_test(test_gap_exact_free_size),
        cmocka_unit_test(test_gap_fold),
        cmocka_unit_test(test_gap_fit),
        cmocka_unit_test(test_ridge_solver),
        cmocka_unit_test(test_quantize),
        cmocka_unit_test(test_fc_columns),
        cmocka_unit_test(test_fc_columns_conv),
        cmocka_unit_test(test_bad_cases),
        cmocka_unit_test(test_dataset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
