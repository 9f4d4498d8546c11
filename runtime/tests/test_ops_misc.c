/* test_ops_misc.c — activations (each against its formula in double precision), PRelu,
 * BatchNormalization, Softmax/LogSoftmax, ReduceMean/Max/Sum, Pad, LRN; the op table, the
 * attribute accessors and fcn_eval_op's own checks. */
#include "ops_test_util.h"

static double ref_act(int op, double x)
{
    switch (op) {
    case FCN_OP_RELU: return x > 0 ? x : 0;
    case FCN_OP_LEAKY_RELU: return x >= 0 ? x : 0.01 * x;
    case FCN_OP_SIGMOID: return 1 / (1 + exp(-x));
    case FCN_OP_TANH: return tanh(x);
    case FCN_OP_HARD_SIGMOID: return fmax(0, fmin(1, 0.2 * x + 0.5));
    case FCN_OP_HARD_SWISH: return x * fmax(0, fmin(1, x / 6 + 0.5));
    case FCN_OP_EXP: return exp(x);
    case FCN_OP_LOG: return log(x);
    case FCN_OP_ABS: return fabs(x);
    case FCN_OP_NEG: return -x;
    case FCN_OP_SQRT: return sqrt(x);
    case FCN_OP_RECIPROCAL: return 1 / x;
    case FCN_OP_FLOOR: return floor(x);
    case FCN_OP_CEIL: return ceil(x);
    case FCN_OP_ELU: return x >= 0 ? x : exp(x) - 1;
    case FCN_OP_SELU: return x > 0 ? 1.0507009873554805 * x : 1.0507009873554805 * 1.6732632423543772 * (exp(x) - 1);
    case FCN_OP_SOFTPLUS: return log(1 + exp(x));
    case FCN_OP_SOFTSIGN: return x / (1 + fabs(x));
    case FCN_OP_SWISH: return x / (1 + exp(-x));
    default: return NAN;
    }
}

static void test_activations(void **state)
{
    (void)state;
    static const int ops[] = { FCN_OP_RELU, FCN_OP_LEAKY_RELU, FCN_OP_SIGMOID, FCN_OP_TANH, FCN_OP_HARD_SIGMOID,
                               FCN_OP_HARD_SWISH, FCN_OP_EXP, FCN_OP_LOG, FCN_OP_ABS, FCN_OP_NEG, FCN_OP_SQRT,
                               FCN_OP_RECIPROCAL, FCN_OP_FLOOR, FCN_OP_CEIL, FCN_OP_ELU, FCN_OP_SELU,
                               FCN_OP_SOFTPLUS, FCN_OP_SOFTSIGN, FCN_OP_SWISH };
    rng_seed(61);
    fcn_tensor *X = t_rand(3, DIMS(2, 3, 7));
    float *x = X->data;
    for (size_t i = 0; i < X->numel; i++) x[i] *= 8;   /* [-8, 8] */
    x[0] = 0; x[1] = -3; x[2] = 3;
    fcn_tensor *P = t_new(FC_DT_F32, 3, DIMS(2, 3, 7), NULL);   /* positive copy for log/sqrt/reciprocal */
    for (size_t i = 0; i < X->numel; i++) ((float *)P->data)[i] = fabsf(x[i]) + 0.01f;
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        int op = ops[k];
        int positive = op == FCN_OP_LOG || op == FCN_OP_SQRT || op == FCN_OP_RECIPROCAL;
        fcn_tensor *in[1] = { positive ? P : X };
        fcn_tensor *o = eval1(op, NULL, in, 1);
        ASSERT_SHAPE(o, 2, 3, 7);
        float *want = fbuf(o->numel);
        for (size_t i = 0; i < o->numel; i++) want[i] = (float)ref_act(op, ((float *)in[0]->data)[i]);
        assert_close_f32(o->data, want, o->numel, 1e-5, 1e-6);
        free(want);
        t_free(o);
    }
    /* attributes: LeakyRelu alpha, Clip min/max (and absent bounds), Elu alpha, HardSigmoid */
    const float v[5] = { -2, -0.5f, 0, 0.5f, 2 };
    fcn_tensor *V = T_F32(v, 5);
    fcn_tensor *vin[1] = { V };
    attrs la = { 0 };
    a_float(&la, FCN_ATTR_ALPHA, 0.5);
    fcn_tensor *o = eval1(FCN_OP_LEAKY_RELU, &la, vin, 1);
    const float wl[5] = { -1, -0.25f, 0, 0.5f, 2 };
    assert_vals(o, wl, 5);
    t_free(o);
    attrs c6 = { 0 };
    a_float(&c6, FCN_ATTR_MIN, -1);
    a_float(&c6, FCN_ATTR_MAX, 1);
    o = eval1(FCN_OP_CLIP, &c6, vin, 1);
    const float wc[5] = { -1, -0.5f, 0, 0.5f, 1 };
    assert_vals(o, wc, 5);
    t_free(o);
    attrs cmin = { 0 };
    a_float(&cmin, FCN_ATTR_MIN, 0);
    o = eval1(FCN_OP_CLIP, &cmin, vin, 1);
    const float wcm[5] = { 0, 0, 0, 0.5f, 2 };
    assert_vals(o, wcm, 5);
    t_free(o);
    o = eval1(FCN_OP_CLIP, NULL, vin, 1);
    assert_vals(o, v, 5);
    t_free(o);
    attrs el = { 0 };
    a_float(&el, FCN_ATTR_ALPHA, 2);
    o = eval1(FCN_OP_ELU, &el, vin, 1);
    const float we[5] = { (float)(2 * (exp(-2) - 1)), (float)(2 * (exp(-0.5) - 1)), 0, 0.5f, 2 };
    assert_vals(o, we, 5);
    t_free(o);
    attrs hs = { 0 };
    a_float(&hs, FCN_ATTR_ALPHA, 0.5);
    a_float(&hs, FCN_ATTR_BETA, 0.6);
    o = eval1(FCN_OP_HARD_SIGMOID, &hs, vin, 1);
    const float wh[5] = { 0, 0.35f, 0.6f, 0.85f, 1 };
    assert_vals(o, wh, 5);
    t_free(o);
    /* softplus stays finite for large inputs */
    const float big[2] = { 100, -100 };
    fcn_tensor *Bg = T_F32(big, 2);
    fcn_tensor *bin[1] = { Bg };
    o = eval1(FCN_OP_SOFTPLUS, NULL, bin, 1);
    const float wsp[2] = { 100, (float)exp(-100) };
    assert_close_f32(o->data, wsp, 2, 1e-5, 1e-30);
    t_free(o);
    fcn_tensor *I = T_I64(NULL, 3);
    fcn_tensor *iin[1] = { I };
    expect_fail(FCN_OP_RELU, NULL, iin, 1, 1, "dtype i64, expected f32");
    t_free(X); t_free(P); t_free(V); t_free(Bg); t_free(I);
}

static void test_prelu(void **state)
{
    (void)state;
    rng_seed(62);
    fcn_tensor *X = t_rand(4, DIMS(2, 3, 4, 5));
    static const int64_t shapes[3][4] = { { 3, 1, 1 }, { 5 }, { 2, 3, 4, 5 } };
    static const int ranks[3] = { 3, 1, 4 };
    for (int s = 0; s < 3; s++) {
        fcn_tensor *S = t_rand(ranks[s], shapes[s]);
        fcn_tensor *in[2] = { X, S };
        fcn_tensor *o = eval1(FCN_OP_PRELU, NULL, in, 2);
        ASSERT_SHAPE(o, 2, 3, 4, 5);
        const float *x = X->data, *sl = S->data;
        for (int i = 0; i < 120; i++) {
            int c = (i / 20) % 3, w = i % 5;
            float slope = s == 0 ? sl[c] : s == 1 ? sl[w] : sl[i];
            float want = x[i] < 0 ? x[i] * slope : x[i];
            assert_true(fabsf(((float *)o->data)[i] - want) <= 1e-6f);
        }
        t_free(o); t_free(S);
    }
    fcn_tensor *S = t_rand(1, DIMS(4));
    fcn_tensor *in[2] = { X, S };
    expect_fail(FCN_OP_PRELU, NULL, in, 2, 1, "does not broadcast");
    t_free(S); t_free(X);
}

static void test_batchnorm(void **state)
{
    (void)state;
    rng_seed(63);
    fcn_tensor *X = t_rand(4, DIMS(2, 3, 4, 5));
    fcn_tensor *p[4];
    for (int i = 0; i < 4; i++) p[i] = t_rand(1, DIMS(3));
    for (int c = 0; c < 3; c++) ((float *)p[3]->data)[c] = fabsf(((float *)p[3]->data)[c]) + 0.1f;   /* var > 0 */
    fcn_tensor *in[5] = { X, p[0], p[1], p[2], p[3] };
    attrs a = { 0 };
    a_float(&a, FCN_ATTR_EPSILON, 1e-3);
    fcn_tensor *o = eval1(FCN_OP_BATCHNORM, &a, in, 5);
    float *want = fbuf(120);
    for (int i = 0; i < 120; i++) {
        int c = (i / 20) % 3;
        const float *sc = p[0]->data, *b = p[1]->data, *m = p[2]->data, *v = p[3]->data;
        want[i] = (float)((((float *)X->data)[i] - m[c]) / sqrt(v[c] + 1e-3) * sc[c] + b[c]);
    }
    assert_close_f32(o->data, want, 120, 1e-5, 1e-6);
    free(want);
    t_free(o);
    fcn_tensor *bad = t_rand(1, DIMS(4));
    fcn_tensor *in2[5] = { X, p[0], bad, p[2], p[3] };
    expect_fail(FCN_OP_BATCHNORM, &a, in2, 5, 1, "B has shape 4, expected [3]");
    expect_fail(FCN_OP_BATCHNORM, &a, in, 5, 3, "training mode");
    t_free(bad); t_free(X);
    for (int i = 0; i < 4; i++) t_free(p[i]);
}

static void test_softmax(void **state)
{
    (void)state;
    /* ONNX example: [[-1, 0, 1]] -> [0.09003057, 0.24472848, 0.66524094] */
    const float x[3] = { -1, 0, 1 };
    fcn_tensor *X = T_F32(x, 1, 3);
    fcn_tensor *in[1] = { X };
    fcn_tensor *o = eval1(FCN_OP_SOFTMAX, NULL, in, 1);
    const float w[3] = { 0.09003057f, 0.24472848f, 0.66524094f };
    assert_vals(o, w, 3);
    t_free(o);
    t_free(X);
    /* large numbers stay finite */
    const float lg[4] = { 10000, 10001, 10002, 10003 };
    fcn_tensor *L = T_F32(lg, 4);
    fcn_tensor *lin[1] = { L };
    o = eval1(FCN_OP_LOG_SOFTMAX, NULL, lin, 1);
    const float wl[4] = { -3.4401896f, -2.4401896f, -1.4401897f, -0.44018966f };
    assert_vals(o, wl, 4);
    t_free(o);
    t_free(L);
    rng_seed(64);
    fcn_tensor *R = t_rand(4, DIMS(2, 3, 4, 5));
    for (size_t i = 0; i < R->numel; i++) ((float *)R->data)[i] *= 10;
    fcn_tensor *rin[1] = { R };
    for (int axis = -4; axis < 4; axis++)
        for (int lg2 = 0; lg2 < 2; lg2++) {
            attrs a = { 0 };
            a_int(&a, FCN_ATTR_AXIS, axis);
            o = eval1(lg2 ? FCN_OP_LOG_SOFTMAX : FCN_OP_SOFTMAX, &a, rin, 1);
            int ax = axis < 0 ? axis + 4 : axis;
            int64_t d[4] = { 2, 3, 4, 5 }, st[4] = { 60, 20, 5, 1 };
            float *want = fbuf(120);
            for (int i = 0; i < 120; i++) {
                int64_t base = i - ((i / st[ax]) % d[ax]) * st[ax];
                double sum = 0;
                for (int k = 0; k < d[ax]; k++) sum += exp(((float *)R->data)[base + k * st[ax]]);
                double xi = ((float *)R->data)[i];
                want[i] = (float)(lg2 ? xi - log(sum) : exp(xi) / sum);
            }
            assert_close_f32(o->data, want, 120, 1e-4, 1e-6);
            free(want);
            t_free(o);
        }
    attrs bad = { 0 };
    a_int(&bad, FCN_ATTR_AXIS, 4);
    expect_fail(FCN_OP_SOFTMAX, &bad, rin, 1, 1, "axis 4 out of range for rank 4");
    t_free(R);
}

static void test_reduce(void **state)
{
    (void)state;
    rng_seed(65);
    fcn_tensor *X = t_rand(4, DIMS(2, 3, 4, 5));
    const float *x = X->data;
    fcn_tensor *in[1] = { X };
    static const int ops[3] = { FCN_OP_REDUCE_MEAN, FCN_OP_REDUCE_MAX, FCN_OP_REDUCE_SUM };
    for (int mask = 0; mask < 16; mask++)
        for (int k = 0; k < 3; k++)
            for (int keep = 0; keep < 2; keep++) {
                attrs a = { 0 };
                int64_t axes[4];
                int na = 0;
                for (int d = 0; d < 4; d++)
                    if (mask & (1 << d)) axes[na++] = (d % 2) ? d - 4 : d;
                if (na) a_ints(&a, FCN_ATTR_AXES, na, axes);
                a_int(&a, FCN_ATTR_KEEPDIMS, keep);
                fcn_tensor *o = eval1(ops[k], &a, in, 1);
                int full = na == 0 ? 15 : mask;   /* no axes: all */
                int64_t d4[4] = { 2, 3, 4, 5 }, od[4];
                int ond = 0;
                for (int d = 0; d < 4; d++) {
                    if (!(full & (1 << d))) od[ond++] = d4[d];
                    else if (keep) od[ond++] = 1;
                }
                assert_shape(o, ond, od);
                double acc[120];
                int cnt[120];
                for (int i = 0; i < 120; i++) { acc[i] = ops[k] == FCN_OP_REDUCE_MAX ? -INFINITY : 0; cnt[i] = 0; }
                for (int i = 0; i < 120; i++) {
                    int idx[4] = { i / 60, (i / 20) % 3, (i / 5) % 4, i % 5 }, oi = 0;
                    for (int d = 0; d < 4; d++) oi = oi * (int)((full & (1 << d)) ? 1 : d4[d]) + ((full & (1 << d)) ? 0 : idx[d]);
                    acc[oi] = ops[k] == FCN_OP_REDUCE_MAX ? fmax(acc[oi], x[i]) : acc[oi] + x[i];
                    cnt[oi]++;
                }
                float want[120];
                for (size_t i = 0; i < o->numel; i++) want[i] = (float)(ops[k] == FCN_OP_REDUCE_MEAN ? acc[i] / cnt[i] : acc[i]);
                assert_close_f32(o->data, want, o->numel, 1e-5, 1e-6);
                t_free(o);
            }
    attrs noop = { 0 };
    a_int(&noop, FCN_ATTR_NOOP_WITH_EMPTY_AXES, 1);
    fcn_tensor *o = eval1(FCN_OP_REDUCE_SUM, &noop, in, 1);
    ASSERT_SHAPE(o, 2, 3, 4, 5);
    assert_memory_equal(o->data, X->data, X->nbytes);
    t_free(o);
    attrs dup = { 0 };
    A_INTS(&dup, FCN_ATTR_AXES, 1, -3);
    expect_fail(FCN_OP_REDUCE_MEAN, &dup, in, 1, 1, "listed twice");
    attrs oob = { 0 };
    A_INTS(&oob, FCN_ATTR_AXES, 4);
    expect_fail(FCN_OP_REDUCE_MAX, &oob, in, 1, 1, "axis 4 out of range");
    t_free(X);
}

static void test_pad(void **state)
{
    (void)state;
    /* ONNX doc examples on [[1.0, 1.2], [2.3, 3.4], [4.5, 5.7]], pads [0, 2, 0, 0] */
    const float x[6] = { 1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f };
    fcn_tensor *X = T_F32(x, 3, 2);
    fcn_tensor *in[1] = { X };
    attrs c = { 0 };
    A_INTS(&c, FCN_ATTR_PADS, 0, 2, 0, 0);
    fcn_tensor *o = eval1(FCN_OP_PAD, &c, in, 1);
    ASSERT_SHAPE(o, 3, 4);
    const float wc[12] = { 0, 0, 1.0f, 1.2f, 0, 0, 2.3f, 3.4f, 0, 0, 4.5f, 5.7f };
    assert_vals(o, wc, 12);
    t_free(o);
    attrs r = { 0 };
    A_INTS(&r, FCN_ATTR_PADS, 0, 1, 0, 0);   /* reflect needs pad < dim: 1 on a width of 2 */
    a_int(&r, FCN_ATTR_MODE, 1);
    o = eval1(FCN_OP_PAD, &r, in, 1);
    const float wr[9] = { 1.2f, 1.0f, 1.2f, 3.4f, 2.3f, 3.4f, 5.7f, 4.5f, 5.7f };
    assert_vals(o, wr, 9);
    t_free(o);
    attrs e = { 0 };
    A_INTS(&e, FCN_ATTR_PADS, 0, 2, 0, 0);
    a_int(&e, FCN_ATTR_MODE, 2);
    o = eval1(FCN_OP_PAD, &e, in, 1);
    const float we[12] = { 1.0f, 1.0f, 1.0f, 1.2f, 2.3f, 2.3f, 2.3f, 3.4f, 4.5f, 4.5f, 4.5f, 5.7f };
    assert_vals(o, we, 12);
    t_free(o);
    /* constant value, both axes, and a negative (cropping) pad */
    attrs v = { 0 };
    A_INTS(&v, FCN_ATTR_PADS, 1, 0, -1, 1);
    a_float(&v, FCN_ATTR_PAD_VALUE, 9);
    o = eval1(FCN_OP_PAD, &v, in, 1);
    ASSERT_SHAPE(o, 3, 3);
    const float wv[9] = { 9, 9, 9, 1.0f, 1.2f, 9, 2.3f, 3.4f, 9 };
    assert_vals(o, wv, 9);
    t_free(o);
    /* reflect on a 4-D NCHW map against the index formula */
    fcn_tensor *M = t_rand(4, DIMS(1, 2, 4, 5));
    fcn_tensor *min[1] = { M };
    attrs m = { 0 };
    A_INTS(&m, FCN_ATTR_PADS, 0, 0, 2, 3, 0, 0, 3, 1);
    a_int(&m, FCN_ATTR_MODE, 1);
    o = eval1(FCN_OP_PAD, &m, min, 1);
    ASSERT_SHAPE(o, 1, 2, 9, 9);
    for (int ch = 0; ch < 2; ch++)
        for (int y = 0; y < 9; y++)
            for (int xx = 0; xx < 9; xx++) {
                int iy = y - 2, ix = xx - 3;
                iy = iy < 0 ? -iy : (iy > 3 ? 6 - iy : iy);
                ix = ix < 0 ? -ix : (ix > 4 ? 8 - ix : ix);
                assert_true(((float *)o->data)[(ch * 9 + y) * 9 + xx] == ((float *)M->data)[(ch * 4 + iy) * 5 + ix]);
            }
    t_free(o);
    attrs bad = { 0 };
    A_INTS(&bad, FCN_ATTR_PADS, 0, 2);
    expect_fail(FCN_OP_PAD, &bad, in, 1, 1, "pads has 2 values, expected 4");
    attrs br = { 0 };
    A_INTS(&br, FCN_ATTR_PADS, 0, 2, 0, 0);
    a_int(&br, FCN_ATTR_MODE, 1);
    expect_fail(FCN_OP_PAD, &br, in, 1, 1, "reflect pads");
    t_free(X); t_free(M);
}

static void test_lrn(void **state)
{
    (void)state;
    rng_seed(66);
    fcn_tensor *X = t_rand(4, DIMS(2, 5, 3, 3));
    fcn_tensor *in[1] = { X };
    for (int size = 1; size <= 4; size++) {
        attrs a = { 0 };
        a_int(&a, FCN_ATTR_SIZE, size);
        a_float(&a, FCN_ATTR_ALPHA, 0.02);
        a_float(&a, FCN_ATTR_BETA, 0.75);
        a_float(&a, FCN_ATTR_BIAS, 2);
        fcn_tensor *o = eval1(FCN_OP_LRN, &a, in, 1);
        const float *x = X->data;
        float want[90];
        for (int i = 0; i < 90; i++) {
            int n = i / 45, c = (i / 9) % 5, s = i % 9;
            double sq = 0;
            for (int cc = c - (size - 1) / 2; cc <= c + size / 2; cc++)   /* floor / ceil of (size-1)/2 */
                if (cc >= 0 && cc < 5) sq += (double)x[(n * 5 + cc) * 9 + s] * x[(n * 5 + cc) * 9 + s];
            want[i] = (float)(x[i] / pow(2 + 0.02 / size * sq, 0.75));
        }
        assert_close_f32(o->data, want, 90, 1e-5, 1e-6);
        t_free(o);
    }
    expect_fail(FCN_OP_LRN, NULL, in, 1, 1, "size attribute is required");
    t_free(X);
}

static void test_table_and_attrs(void **state)
{
    (void)state;
    for (int op = 1; op < FCN_OP_COUNT; op++) {
        const fcn_op_def *d = fcn_op_lookup(op);
        assert_non_null(d);
        assert_non_null(d->infer);
        assert_non_null(d->run);
        assert_string_equal(fcn_op_name(op), d->name);
    }
    assert_null(fcn_op_lookup(0));
    assert_null(fcn_op_lookup(FCN_OP_COUNT));
    assert_null(fcn_op_lookup(-3));
    assert_string_equal(fcn_op_name(999), "?");
    assert_string_equal(fcn_op_name(FCN_OP_BATCHNORM), "BatchNormalization");
    assert_string_equal(fcn_op_name(FCN_OP_IDENTITY), "Identity");
    assert_string_equal(fcn_attr_name(FCN_ATTR_KERNEL_SHAPE), "kernel_shape");
    assert_string_equal(fcn_attr_name(FCN_ATTR_TRANS_B), "transB");
    assert_string_equal(fcn_attr_name(0), "?");
    assert_string_equal(fcn_attr_name(39), "?");

    attrs a = { 0 };
    A_INTS(&a, FCN_ATTR_PADS, 1, -2, 3);
    a_float(&a, FCN_ATTR_ALPHA, 0.25);
    a_int(&a, FCN_ATTR_GROUP, -7);
    const double fl[2] = { 1.5, -2.5 };
    a_floats(&a, FCN_ATTR_SHAPE, 2, fl);
    fcn_node n;
    memset(&n, 0, sizeof n);
    n.op = FCN_OP_CONV; n.name = "my_conv"; n.attrs = a.rec; n.n_attrs = a.n; n.slots = a.slots;
    assert_true(fcn_attr_has(&n, FCN_ATTR_PADS));
    assert_false(fcn_attr_has(&n, FCN_ATTR_STRIDES));
    int64_t v[4];
    assert_int_equal(fcn_attr_ints(&n, FCN_ATTR_PADS, v, 4), 3);
    assert_true(v[0] == 1 && v[1] == -2 && v[2] == 3);
    assert_int_equal(fcn_attr_ints(&n, FCN_ATTR_STRIDES, v, 4), -1);
    assert_int_equal(fcn_attr_int(&n, FCN_ATTR_GROUP, 1), -7);
    assert_int_equal(fcn_attr_int(&n, FCN_ATTR_AXIS, 42), 42);
    assert_true(fcn_attr_float(&n, FCN_ATTR_ALPHA, 0) == 0.25f);
    assert_true(fcn_attr_float(&n, FCN_ATTR_GROUP, 0) == -7.0f);   /* int read as float */
    assert_true(fcn_attr_float(&n, FCN_ATTR_BETA, 3.5f) == 3.5f);
    float f[2];
    assert_int_equal(fcn_attr_floats(&n, FCN_ATTR_SHAPE, f, 2), 2);
    assert_true(f[0] == 1.5f && f[1] == -2.5f);
    assert_int_equal(fcn_attr_ints(&n, FCN_ATTR_SHAPE, v, 4), 2);   /* floats read as ints truncate */
    assert_true(v[0] == 1 && v[1] == -2);
    fc_error err = { 0 };
    assert_int_equal(fcn_node_fail(&n, &err, "bad %s %d", "thing", 3), -1);
    assert_string_equal(err.msg, "node 'my_conv' (Conv): bad thing 3");
    assert_int_equal(err.code, FC_EINPUT);
}

static void test_eval_checks(void **state)
{
    (void)state;
    fcn_tensor *X = t_rand(2, DIMS(2, 3));
    fcn_tensor *in[2] = { X, X };
    fcn_tensor *out[2] = { t_out(), t_out() };
    fc_error err = { 0 };
    assert_int_equal(fcn_eval_op(0, "x", NULL, 0, NULL, in, 1, out, 1, &err), -1);
    assert_non_null(strstr(err.msg, "unknown op"));
    assert_int_equal(fcn_eval_op(FCN_OP_RELU, "x", NULL, 0, NULL, in, 2, out, 1, &err), -1);
    assert_non_null(strstr(err.msg, "2 inputs"));
    assert_int_equal(fcn_eval_op(FCN_OP_RELU, "x", NULL, 0, NULL, in, 1, out, 2, &err), -1);
    assert_non_null(strstr(err.msg, "2 outputs"));
    /* a tensor without data is refused */
    fcn_tensor nodata = *X;
    nodata.data = NULL;
    fcn_tensor *in2[1] = { &nodata };
    assert_int_equal(fcn_eval_op(FCN_OP_RELU, "x", NULL, 0, NULL, in2, 1, out, 1, &err), -1);
    assert_non_null(strstr(err.msg, "no data"));
    /* the caller's input structs are not modified (eval works on copies) */
    fcn_tensor copy = *X;
    assert_int_equal(fcn_eval_op(FCN_OP_RELU, "x", NULL, 0, NULL, in, 1, out, 1, &err), 0);
    assert_memory_equal(&copy, X, sizeof copy);
    assert_int_equal(out[0]->numel, 6);
    assert_int_equal(out[0]->nbytes, 24);
    free(out[0]->data);
    free(out[0]); free(out[1]);
    t_free(X);
}

/* Hostile attributes and shapes: every op, random input counts/dtypes/shapes and attribute
 * values (negative, huge, wrong lengths). Each call must succeed or fail with an error naming
 * the node; ASan/UBSan builds (make test-asan) turn any out-of-bounds access into a failure. */
static void test_hostile_inputs(void **state)
{
    (void)state;
    static const int64_t vals[] = { -3, -2, -1, 0, 1, 2, 3, 4, 5, INT64_MAX, INT64_MIN, (int64_t)1 << 40, INT32_MAX };
    static const int keys[] = { FCN_ATTR_KERNEL_SHAPE, FCN_ATTR_STRIDES, FCN_ATTR_PADS, FCN_ATTR_DILATIONS,
                                FCN_ATTR_GROUP, FCN_ATTR_AUTO_PAD, FCN_ATTR_CEIL_MODE, FCN_ATTR_AXIS, FCN_ATTR_AXES,
                                FCN_ATTR_KEEPDIMS, FCN_ATTR_PERM, FCN_ATTR_SHAPE, FCN_ATTR_TRANS_A, FCN_ATTR_STARTS,
                                FCN_ATTR_ENDS, FCN_ATTR_STEPS, FCN_ATTR_TO, FCN_ATTR_START, FCN_ATTR_END,
                                FCN_ATTR_MODE, FCN_ATTR_SIZE, FCN_ATTR_ALLOWZERO, FCN_ATTR_ACT };
    uint64_t saved = fc_limits_current.max_tensor_bytes;
    fc_limits_current.max_tensor_bytes = 1 << 20;   /* keep accidental huge outputs cheap */
    rng_seed(99);
    int ok = 0, refused = 0;
    for (int iter = 0; iter < 6000; iter++) {
        int op = rng_int(1, FCN_OP_COUNT - 1);
        const fcn_op_def *def = fcn_op_lookup(op);
        int n_in = def->min_in + rng_int(0, 1);
        if (def->max_in >= 0 && n_in > def->max_in) n_in = def->max_in;
        fcn_tensor *in[6] = { 0 };
        for (int i = 0; i < n_in; i++) {
            int r = rng_int(0, 5);
            int64_t d[5];
            for (int k = 0; k < r; k++) d[k] = rng_int(0, 4);
            int dt = rng_int(0, 5) == 0 ? (rng_int(0, 1) ? FC_DT_I64 : FC_DT_I32) : FC_DT_F32;
            in[i] = t_new(dt, r, d, NULL);
            if (dt == FC_DT_F32) for (size_t e = 0; e < in[i]->numel; e++) ((float *)in[i]->data)[e] = rng_float();
        }
        attrs a = { 0 };
        int na = rng_int(0, 4);
        for (int k = 0; k < na; k++) {
            int key = keys[rng_int(0, (int)(sizeof keys / sizeof keys[0]) - 1)];
            int dup = 0;
            for (int j = 0; j < a.n; j++) dup |= (int)a.rec[j].key == key;
            if (dup) continue;   /* the model reader guarantees unique keys */
            int count = rng_int(0, 6);
            int64_t v[6];
            for (int j = 0; j < count; j++) v[j] = vals[rng_int(0, (int)(sizeof vals / sizeof vals[0]) - 1)];
            if (count == 1 && rng_int(0, 1)) a_int(&a, key, v[0]);
            else a_ints(&a, key, count, v);
        }
        fcn_tensor *out[2];
        fc_error err;
        int rc = eval_op_n(op, &a, in, n_in, out, def->min_out, &err);
        if (rc == 0) {
            ok++;
            for (int i = 0; i < def->min_out; i++) free(out[i]->data);
        } else {
            refused++;
            if (!strstr(err.msg, "node_under_test")) fail_msg("%s: error without the node name: %s", def->name, err.msg);
        }
        for (int i = 0; i < def->min_out; i++) free(out[i]);
        for (int i = 0; i < n_in; i++) t_free(in[i]);
    }
    fc_limits_current.max_tensor_bytes = saved;
    assert_true(ok > 300 && refused > 300);   /* both paths were exercised */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_prelu),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_reduce),
        cmocka_unit_test(test_pad),
        cmocka_unit_test(test_lrn),
        cmocka_unit_test(test_table_and_attrs),
        cmocka_unit_test(test_eval_checks),
        cmocka_unit_test(test_hostile_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
