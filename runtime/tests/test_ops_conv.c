/* test_ops_conv.c — Conv: hand-computed cases (ONNX examples), randomized comparison against
 * a naive gather-style loop (one output element at a time, pads computed independently here),
 * and attribute/shape errors that must name the node. */
#include "ops_test_util.h"

static const float in5x5[25] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
                                 20, 21, 22, 23, 24 };
static const float ones9[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };

static void test_conv_onnx_basic(void **state)
{
    (void)state;
    fcn_tensor *in[2] = { T_F32(in5x5, 1, 1, 5, 5), T_F32(ones9, 1, 1, 3, 3) };
    attrs a = { 0 };
    A_INTS(&a, FCN_ATTR_KERNEL_SHAPE, 3, 3);
    A_INTS(&a, FCN_ATTR_PADS, 1, 1, 1, 1);
    fcn_tensor *o = eval1(FCN_OP_CONV, &a, in, 2);
    static const float want[25] = { 12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81,
                                    93, 144, 153, 162, 111, 72, 111, 117, 123, 84 };
    ASSERT_SHAPE(o, 1, 1, 5, 5);
    assert_vals(o, want, 25);
    t_free(o);

    attrs b = { 0 };   /* strides 2, asymmetric pads [1,0,1,0] (ONNX conv_with_strides_and_asymmetric_padding) */
    fcn_tensor *in7 = T_F32(NULL, 1, 1, 7, 5);
    for (int i = 0; i < 35; i++) ((float *)in7->data)[i] = (float)i;
    fcn_tensor *in2[2] = { in7, in[1] };
    A_INTS(&b, FCN_ATTR_STRIDES, 2, 2);
    A_INTS(&b, FCN_ATTR_PADS, 1, 0, 1, 0);
    o = eval1(FCN_OP_CONV, &b, in2, 2);
    static const float want2[8] = { 21, 33, 99, 117, 189, 207, 171, 183 };
    ASSERT_SHAPE(o, 1, 1, 4, 2);
    assert_vals(o, want2, 8);
    assert_int_equal(o->numel, 8);
    t_free(o);
    t_free(in7);
    t_free(in[0]);
    t_free(in[1]);
}

static void test_conv_bias_group_act(void **state)
{
    (void)state;
    /* depthwise 2 channels, 1x1 kernels with weights 2 and -1, bias 1 and 0.5, fused relu */
    const float x[8] = { 1, 2, 3, 4, 1, 2, 3, 4 };
    const float w[2] = { 2, -1 }, b[2] = { 1, 0.5f };
    fcn_tensor *in[3] = { T_F32(x, 1, 2, 2, 2), T_F32(w, 2, 1, 1, 1), T_F32(b, 2) };
    attrs a = { 0 };
    a_int(&a, FCN_ATTR_GROUP, 2);
    a_int(&a, FCN_ATTR_ACT, FCN_ACT_RELU);
    fcn_tensor *o = eval1(FCN_OP_CONV, &a, in, 3);
    const float want[8] = { 3, 5, 7, 9, 0, 0, 0, 0 };
    assert_vals(o, want, 8);
    t_free(o);
    /* absent optional bias given as NULL */
    fcn_tensor *in2[3] = { in[0], in[1], NULL };
    attrs g = { 0 };
    a_int(&g, FCN_ATTR_GROUP, 2);
    o = eval1(FCN_OP_CONV, &g, in2, 3);
    const float want2[8] = { 2, 4, 6, 8, -1, -2, -3, -4 };
    assert_vals(o, want2, 8);
    t_free(o);
    for (int i = 0; i < 3; i++) t_free(in[i]);
}

/* Naive reference: every output element gathers its window; pads resolved here from scratch. */
typedef struct conv_cfg {
    int n, c, h, w, k, kh, kw, sh, sw, dh, dw, group, auto_pad, bias, act;
    int pads[4];
} conv_cfg;

static void naive_pads(int in, int k, int s, int d, int auto_pad, int *pb, int *pe, int *out)
{
    int eff = d * (k - 1) + 1;
    if (auto_pad == 1 || auto_pad == 2) {
        *out = (in + s - 1) / s;
        int need = (*out - 1) * s + eff - in;
        if (need < 0) need = 0;
        *pb = auto_pad == 1 ? need / 2 : need - need / 2;
        *pe = need - *pb;
        return;
    }
    if (auto_pad == 3) *pb = *pe = 0;
    *out = (in + *pb + *pe - eff) / s + 1;
}

static void run_conv_case(const conv_cfg *c)
{
    int64_t xd[4] = { c->n, c->c, c->h, c->w }, wd[4] = { c->k, c->c / c->group, c->kh, c->kw }, bd[1] = { c->k };
    fcn_tensor *x = t_rand(4, xd), *w = t_rand(4, wd), *b = c->bias ? t_rand(1, bd) : NULL;
    attrs a = { 0 };
    A_INTS(&a, FCN_ATTR_KERNEL_SHAPE, c->kh, c->kw);
    A_INTS(&a, FCN_ATTR_STRIDES, c->sh, c->sw);
    A_INTS(&a, FCN_ATTR_DILATIONS, c->dh, c->dw);
    a_int(&a, FCN_ATTR_GROUP, c->group);
    if (c->auto_pad) a_int(&a, FCN_ATTR_AUTO_PAD, c->auto_pad);
    else A_INTS(&a, FCN_ATTR_PADS, c->pads[0], c->pads[1], c->pads[2], c->pads[3]);
    if (c->act) { a_int(&a, FCN_ATTR_ACT, FCN_ACT_CLIP); a_float(&a, FCN_ATTR_ACT_ALPHA, -0.5); a_float(&a, FCN_ATTR_ACT_BETA, 0.5); }
    fcn_tensor *in[3] = { x, w, b };
    fcn_tensor *o = eval1(FCN_OP_CONV, &a, in, c->bias ? 3 : 2);

    int pt = c->pads[0], pl = c->pads[1], pb = c->pads[2], pr = c->pads[3], oh, ow;
    naive_pads(c->h, c->kh, c->sh, c->dh, c->auto_pad, &pt, &pb, &oh);
    naive_pads(c->w, c->kw, c->sw, c->dw, c->auto_pad, &pl, &pr, &ow);
    ASSERT_SHAPE(o, c->n, c->k, oh, ow);
    assert_int_equal(o->nbytes, (size_t)c->n * c->k * oh * ow * 4);
    const float *X = x->data, *W = w->data, *B = b ? b->data : NULL;
    float *want = fbuf((size_t)c->n * c->k * oh * ow);
    int cpg = c->c / c->group, kpg = c->k / c->group;
    for (int ni = 0; ni < c->n; ni++)
        for (int ki = 0; ki < c->k; ki++)
            for (int y = 0; y < oh; y++)
                for (int xx = 0; xx < ow; xx++) {
                    double acc = B ? B[ki] : 0.0;
                    int g = ki / kpg;
                    for (int ci = 0; ci < cpg; ci++)
                        for (int u = 0; u < c->kh; u++)
                            for (int v = 0; v < c->kw; v++) {
                                int iy = y * c->sh + u * c->dh - pt, ix = xx * c->sw + v * c->dw - pl;
                                if (iy < 0 || ix < 0 || iy >= c->h || ix >= c->w) continue;
                                acc += (double)X[((ni * c->c + g * cpg + ci) * c->h + iy) * c->w + ix] *
                                       W[((ki * cpg + ci) * c->kh + u) * c->kw + v];
                            }
                    if (c->act) acc = acc < -0.5 ? -0.5 : (acc > 0.5 ? 0.5 : acc);
                    want[((ni * c->k + ki) * oh + y) * ow + xx] = (float)acc;
                }
    assert_close_f32(o->data, want, o->numel, 1e-4, 1e-5);
    if (c->n * c->k > 1) {   /* the thread-split run gives the same bits */
        fcn_tensor *ot = eval_threaded(FCN_OP_CONV, &a, in, c->bias ? 3 : 2);
        assert_memory_equal(ot->data, o->data, o->nbytes);
        t_free(ot);
    }
    free(want);
    t_free(o); t_free(x); t_free(w); t_free(b);
}

static void test_conv_random(void **state)
{
    (void)state;
    rng_seed(11);
    for (int iter = 0; iter < 150; iter++) {
        conv_cfg c;
        memset(&c, 0, sizeof c);
        c.n = rng_int(1, 2);
        c.group = rng_int(0, 3) == 0 ? 1 : rng_int(1, 3);
        int depthwise = rng_int(0, 4) == 0;
        c.c = c.group * rng_int(1, 3);
        c.k = c.group * rng_int(1, 3);
        if (depthwise) { c.group = c.c = c.k = rng_int(2, 5); }
        c.kh = rng_int(1, 4); c.kw = rng_int(1, 4);
        c.sh = rng_int(1, 3); c.sw = rng_int(1, 3);
        c.dh = rng_int(1, 2); c.dw = rng_int(1, 2);
        c.auto_pad = rng_int(0, 5);
        if (c.auto_pad > 3) c.auto_pad = 0;
        for (int i = 0; i < 4; i++) c.pads[i] = rng_int(0, 2);
        int minh = (c.kh - 1) * c.dh + 1, minw = (c.kw - 1) * c.dw + 1;
        c.h = minh + rng_int(0, 6);
        c.w = minw + rng_int(0, 6);
        c.bias = rng_int(0, 1);
        c.act = rng_int(0, 3) == 0;
        run_conv_case(&c);
    }
}

static void test_conv_macs(void **state)
{
    (void)state;
    int64_t xd[4] = { 2, 4, 8, 8 }, wd[4] = { 6, 2, 3, 3 };
    fcn_tensor *x = t_rand(4, xd), *w = t_rand(4, wd);
    attrs a = { 0 };
    a_int(&a, FCN_ATTR_GROUP, 2);
    /* through the op table directly: infer must set macs = N*K*Ho*Wo*(C/g)*kh*kw */
    const fcn_op_def *def = fcn_op_lookup(FCN_OP_CONV);
    assert_string_equal(def->name, "Conv");
    fcn_tensor *out = t_out();
    fcn_tensor *ins[2] = { x, w };
    fcn_node n;
    memset(&n, 0, sizeof n);
    n.op = FCN_OP_CONV; n.name = "c"; n.n_in = 2; n.n_out = 1; n.in = ins; n.out = &out;
    n.attrs = a.rec; n.n_attrs = a.n; n.slots = a.slots;
    fc_error err = { 0 };
    assert_int_equal(def->infer(&n, &err), 0);
    ASSERT_SHAPE(out, 2, 6, 6, 6);
    assert_int_equal(n.macs, 2ull * 6 * 6 * 6 * 2 * 3 * 3);
    free(n.params);
    free(out); t_free(x); t_free(w);
}

static void test_conv_errors(void **state)
{
    (void)state;
    int64_t xd[4] = { 1, 4, 5, 5 }, wd[4] = { 6, 2, 3, 3 }, x3[3] = { 1, 4, 5 }, w3[3] = { 6, 4, 3 };
    fcn_tensor *x = t_rand(4, xd), *w = t_rand(4, wd), *x1 = t_rand(3, x3), *w1 = t_rand(3, w3);
    fcn_tensor *in[2] = { x, w };
    attrs g3 = { 0 };
    a_int(&g3, FCN_ATTR_GROUP, 3);
    expect_fail(FCN_OP_CONV, &g3, in, 2, 1, "group 3 does not divide");
    attrs none = { 0 };
    expect_fail(FCN_OP_CONV, &none, in, 2, 1, "input channels per group");   /* W has 2, C = 4, group 1 */
    attrs ks = { 0 };
    a_int(&ks, FCN_ATTR_GROUP, 2);
    A_INTS(&ks, FCN_ATTR_KERNEL_SHAPE, 5, 5);
    expect_fail(FCN_OP_CONV, &ks, in, 2, 1, "kernel_shape");
    attrs pads = { 0 };
    a_int(&pads, FCN_ATTR_GROUP, 2);
    A_INTS(&pads, FCN_ATTR_PADS, 1, 1);
    expect_fail(FCN_OP_CONV, &pads, in, 2, 1, "pads has 2 values");
    attrs big = { 0 };
    a_int(&big, FCN_ATTR_GROUP, 2);
    A_INTS(&big, FCN_ATTR_DILATIONS, 4, 4);
    expect_fail(FCN_OP_CONV, &big, in, 2, 1, "smaller than the window");
    fcn_tensor *in1[2] = { x1, w1 };
    expect_fail(FCN_OP_CONV, &none, in1, 2, 1, "only 2-D conv supported");
    int64_t bd[1] = { 5 };
    fcn_tensor *b = t_rand(1, bd);
    fcn_tensor *in3[3] = { x, w, b };
    expect_fail(FCN_OP_CONV, &g3, in3, 3, 1, "group");
    attrs g2 = { 0 };
    a_int(&g2, FCN_ATTR_GROUP, 2);
    expect_fail(FCN_OP_CONV, &g2, in3, 3, 1, "bias has shape 5");
    t_free(x); t_free(w); t_free(x1); t_free(w1); t_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_onnx_basic),
        cmocka_unit_test(test_conv_bias_group_act),
        cmocka_unit_test(test_conv_random),
        cmocka_unit_test(test_conv_macs),
        cmocka_unit_test(test_conv_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
