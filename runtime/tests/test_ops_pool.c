/* test_ops_pool.c — MaxPool / AveragePool (pads, strides, dilations, ceil_mode,
 * count_include_pad, auto_pad) against ONNX's examples and a naive per-output loop written
 * from the spec's formulas, GlobalAveragePool / GlobalMaxPool, and errors naming the node. */
#include "ops_test_util.h"

static void test_pool_hand(void **state)
{
    (void)state;
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)(i + 1);
    fcn_tensor *X = T_F32(x, 1, 1, 4, 4);
    fcn_tensor *in[1] = { X };
    /* ONNX maxpool_2d_ceil: k3 s2 ceil -> 2x2 [11,12,15,16] */
    attrs a = { 0 };
    A_INTS(&a, FCN_ATTR_KERNEL_SHAPE, 3, 3);
    A_INTS(&a, FCN_ATTR_STRIDES, 2, 2);
    a_int(&a, FCN_ATTR_CEIL_MODE, 1);
    fcn_tensor *o = eval1(FCN_OP_MAXPOOL, &a, in, 1);
    ASSERT_SHAPE(o, 1, 1, 2, 2);
    const float mc[4] = { 11, 12, 15, 16 };
    assert_vals(o, mc, 4);
    t_free(o);
    /* averagepool_2d_ceil: [6, 7.5, 12, 13.5] */
    o = eval1(FCN_OP_AVGPOOL, &a, in, 1);
    const float ac[4] = { 6, 7.5f, 12, 13.5f };
    assert_vals(o, ac, 4);
    t_free(o);
    /* dilated maxpool (ONNX maxpool_2d_dilations): k2 d2 -> [11,12,15,16] */
    attrs d = { 0 };
    A_INTS(&d, FCN_ATTR_KERNEL_SHAPE, 2, 2);
    A_INTS(&d, FCN_ATTR_DILATIONS, 2, 2);
    o = eval1(FCN_OP_MAXPOOL, &d, in, 1);
    assert_vals(o, mc, 4);
    t_free(o);
    /* avg k2 pads 1 with and without count_include_pad: corner = 1/4 or 1/1 */
    attrs p = { 0 };
    A_INTS(&p, FCN_ATTR_KERNEL_SHAPE, 2, 2);
    A_INTS(&p, FCN_ATTR_STRIDES, 2, 2);
    A_INTS(&p, FCN_ATTR_PADS, 1, 1, 1, 1);
    o = eval1(FCN_OP_AVGPOOL, &p, in, 1);
    ASSERT_SHAPE(o, 1, 1, 3, 3);
    const float ex[9] = { 1, 2.5f, 4, 7, 8.5f, 10, 13, 14.5f, 16 };
    assert_vals(o, ex, 9);
    t_free(o);
    a_int(&p, FCN_ATTR_COUNT_INCLUDE_PAD, 1);
    o = eval1(FCN_OP_AVGPOOL, &p, in, 1);
    const float inc[9] = { 0.25f, 1.25f, 1, 3.5f, 8.5f, 5, 3.25f, 7.25f, 4 };
    assert_vals(o, inc, 9);
    t_free(o);
    /* global pools */
    o = eval1(FCN_OP_GLOBAL_AVGPOOL, NULL, in, 1);
    ASSERT_SHAPE(o, 1, 1, 1, 1);
    const float gavg = 8.5f, gmax = 16;
    assert_vals(o, &gavg, 1);
    t_free(o);
    o = eval1(FCN_OP_GLOBAL_MAXPOOL, NULL, in, 1);
    assert_vals(o, &gmax, 1);
    t_free(o);
    t_free(X);
}

typedef struct pool_cfg { int max, h, w, kh, kw, sh, sw, dh, dw, ceil, cip, auto_pad, pads[4]; } pool_cfg;

/* output size and begin pad on one axis, straight from the ONNX operator text */
static int out_size(int in, int k, int s, int d, int ceil_mode, int auto_pad, int *pb, int *pe)
{
    int ek = (k - 1) * d + 1;
    if (auto_pad == 1 || auto_pad == 2) {
        int o = (int)ceil((double)in / s);
        int total = (o - 1) * s + ek - in;
        if (total < 0) total = 0;
        *pb = auto_pad == 2 ? (total + 1) / 2 : total / 2;
        *pe = total - *pb;
        return o;
    }
    if (auto_pad == 3) {
        *pb = *pe = 0;
        return (int)ceil((double)(in - ek + 1) / s);
    }
    double q = (double)(in + *pb + *pe - ek) / s;
    int o = (ceil_mode ? (int)ceil(q) : (int)floor(q)) + 1;
    if (ceil_mode && (o - 1) * s >= in + *pb) o--;
    return o;
}

static void pool_case(const pool_cfg *c)
{
    int64_t xd[4] = { 2, 3, c->h, c->w };
    fcn_tensor *X = t_rand(4, xd);
    attrs a = { 0 };
    A_INTS(&a, FCN_ATTR_KERNEL_SHAPE, c->kh, c->kw);
    A_INTS(&a, FCN_ATTR_STRIDES, c->sh, c->sw);
    A_INTS(&a, FCN_ATTR_DILATIONS, c->dh, c->dw);
    if (c->auto_pad) a_int(&a, FCN_ATTR_AUTO_PAD, c->auto_pad);
    else A_INTS(&a, FCN_ATTR_PADS, c->pads[0], c->pads[1], c->pads[2], c->pads[3]);
    a_int(&a, FCN_ATTR_CEIL_MODE, c->ceil);
    if (!c->max) a_int(&a, FCN_ATTR_COUNT_INCLUDE_PAD, c->cip);
    if (c->max) a_int(&a, FCN_ATTR_STORAGE_ORDER, 0);
    fcn_tensor *in[1] = { X };
    fcn_tensor *o = eval1(c->max ? FCN_OP_MAXPOOL : FCN_OP_AVGPOOL, &a, in, 1);
    int dh = c->dh, dw = c->dw;
    int pt = c->pads[0], pl = c->pads[1], pb = c->pads[2], pr = c->pads[3];
    int ceil_mode = c->auto_pad ? 0 : c->ceil;
    int oh = out_size(c->h, c->kh, c->sh, dh, ceil_mode, c->auto_pad, &pt, &pb);
    int ow = out_size(c->w, c->kw, c->sw, dw, ceil_mode, c->auto_pad, &pl, &pr);
    ASSERT_SHAPE(o, 2, 3, oh, ow);
    float *want = fbuf(o->numel);
    const float *x = X->data;
    for (int pl_ = 0; pl_ < 6; pl_++)
        for (int y = 0; y < oh; y++)
            for (int xx = 0; xx < ow; xx++) {
                double acc = c->max ? -INFINITY : 0;
                int valid = 0, padded = 0;
                for (int u = 0; u < c->kh; u++)
                    for (int v = 0; v < c->kw; v++) {
                        int iy = y * c->sh - pt + u * dh, ix = xx * c->sw - pl + v * dw;
                        int in_pad_area = iy >= -pt && iy < c->h + pb && ix >= -pl && ix < c->w + pr;
                        if (iy < 0 || ix < 0 || iy >= c->h || ix >= c->w) { padded += in_pad_area; continue; }
                        float val = x[(pl_ * c->h + iy) * c->w + ix];
                        valid++;
                        if (c->max) { if (val > acc) acc = val; }
                        else acc += val;
                    }
                if (!c->max) acc /= c->cip ? valid + padded : valid;
                want[(pl_ * oh + y) * ow + xx] = (float)acc;
            }
    assert_close_f32(o->data, want, o->numel, 1e-5, 1e-6);
    fcn_tensor *ot = eval_threaded(c->max ? FCN_OP_MAXPOOL : FCN_OP_AVGPOOL, &a, in, 1);
    assert_memory_equal(ot->data, o->data, o->nbytes);
    t_free(ot);
    free(want);
    t_free(o); t_free(X);
}

static void test_pool_random(void **state)
{
    (void)state;
    rng_seed(21);
    for (int iter = 0; iter < 300; iter++) {
        pool_cfg c;
        memset(&c, 0, sizeof c);
        c.max = iter % 2;
        c.kh = rng_int(1, 4); c.kw = rng_int(1, 4);
        c.sh = rng_int(1, 3); c.sw = rng_int(1, 3);
        c.dh = rng_int(1, 2); c.dw = rng_int(1, 2);
        c.auto_pad = rng_int(0, 6);
        if (c.auto_pad > 3) c.auto_pad = 0;
        c.ceil = rng_int(0, 1);
        c.cip = rng_int(0, 1);
        /* pads smaller than the kernel, as ONNX requires for pooling */
        c.pads[0] = rng_int(0, c.kh - 1); c.pads[2] = rng_int(0, c.kh - 1);
        c.pads[1] = rng_int(0, c.kw - 1); c.pads[3] = rng_int(0, c.kw - 1);
        c.h = (c.kh - 1) * c.dh + 1 + rng_int(0, 6);
        c.w = (c.kw - 1) * c.dw + 1 + rng_int(0, 6);
        pool_case(&c);
    }
}

static void test_global_random(void **state)
{
    (void)state;
    rng_seed(8);
    for (int iter = 0; iter < 20; iter++) {
        int rank = rng_int(3, 5);
        int64_t d[5];
        for (int i = 0; i < rank; i++) d[i] = rng_int(1, 5);
        fcn_tensor *X = t_rand(rank, d);
        fcn_tensor *in[1] = { X };
        for (int mx = 0; mx < 2; mx++) {
            fcn_tensor *o = eval1(mx ? FCN_OP_GLOBAL_MAXPOOL : FCN_OP_GLOBAL_AVGPOOL, NULL, in, 1);
            assert_int_equal(o->ndim, rank);
            int64_t planes = d[0] * d[1], sp = (int64_t)X->numel / planes;
            assert_int_equal(o->numel, planes);
            float *want = fbuf((size_t)planes);
            for (int64_t p = 0; p < planes; p++) {
                double acc = mx ? -INFINITY : 0;
                for (int64_t i = 0; i < sp; i++) {
                    float v = ((float *)X->data)[p * sp + i];
                    acc = mx ? (v > acc ? v : acc) : acc + v;
                }
                want[p] = (float)(mx ? acc : acc / sp);
            }
            assert_close_f32(o->data, want, (size_t)planes, 1e-5, 1e-6);
            free(want);
            t_free(o);
        }
        t_free(X);
    }
}

static void test_pool_errors(void **state)
{
    (void)state;
    fcn_tensor *X = t_rand(4, DIMS(1, 1, 4, 4)), *X1 = t_rand(3, DIMS(1, 1, 4));
    fcn_tensor *in[1] = { X };
    expect_fail(FCN_OP_MAXPOOL, NULL, in, 1, 1, "kernel_shape is required");
    attrs k = { 0 };
    A_INTS(&k, FCN_ATTR_KERNEL_SHAPE, 2, 2);
    expect_fail(FCN_OP_MAXPOOL, &k, in, 1, 2, "Indices output");
    fcn_tensor *in1[1] = { X1 };
    expect_fail(FCN_OP_AVGPOOL, &k, in1, 1, 1, "only 2-D pooling supported");
    attrs big = { 0 };
    A_INTS(&big, FCN_ATTR_KERNEL_SHAPE, 5, 2);
    expect_fail(FCN_OP_AVGPOOL, &big, in, 1, 1, "smaller than the window");
    attrs pads = { 0 };
    A_INTS(&pads, FCN_ATTR_KERNEL_SHAPE, 2, 2);
    A_INTS(&pads, FCN_ATTR_PADS, 0, 0, 0);
    expect_fail(FCN_OP_MAXPOOL, &pads, in, 1, 1, "pads has 3 values");
    attrs st = { 0 };
    A_INTS(&st, FCN_ATTR_KERNEL_SHAPE, 2, 2);
    A_INTS(&st, FCN_ATTR_STRIDES, 0, 1);
    expect_fail(FCN_OP_MAXPOOL, &st, in, 1, 1, "strides must be");
    attrs ap = { 0 };
    A_INTS(&ap, FCN_ATTR_KERNEL_SHAPE, 2, 2);
    a_int(&ap, FCN_ATTR_AUTO_PAD, 7);
    expect_fail(FCN_OP_MAXPOOL, &ap, in, 1, 1, "auto_pad");
    fcn_tensor *X2 = t_rand(2, DIMS(1, 4));
    fcn_tensor *in2[1] = { X2 };
    expect_fail(FCN_OP_GLOBAL_AVGPOOL, NULL, in2, 1, 1, "rank 2");
    t_free(X); t_free(X1); t_free(X2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_hand),
        cmocka_unit_test(test_pool_random),
        cmocka_unit_test(test_global_random),
        cmocka_unit_test(test_pool_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
