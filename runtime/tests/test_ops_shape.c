/* test_ops_shape.c — data movement and shape arithmetic on any dtype: Flatten, Reshape,
 * Transpose, Squeeze, Unsqueeze, Concat, Slice, Gather, Shape, Cast, Expand, Identity.
 * Hand cases from the ONNX operator docs, randomized Transpose/Slice/Concat against naive
 * index arithmetic, and errors naming the node. */
#include "ops_test_util.h"

static fcn_tensor *iota_f32(int ndim, const int64_t *dims)
{
    fcn_tensor *t = t_new(FC_DT_F32, ndim, dims, NULL);
    for (size_t i = 0; i < t->numel; i++) ((float *)t->data)[i] = (float)i;
    return t;
}

static void assert_i64(const fcn_tensor *t, const int64_t *want, size_t n)
{
    assert_int_equal(t->dtype, FC_DT_I64);
    assert_int_equal(t->numel, n);
    for (size_t i = 0; i < n; i++)
        if (((const int64_t *)t->data)[i] != want[i])
            fail_msg("element %zu: %lld, expected %lld", i, (long long)((const int64_t *)t->data)[i], (long long)want[i]);
}

static void test_flatten_reshape(void **state)
{
    (void)state;
    fcn_tensor *X = iota_f32(4, DIMS(2, 3, 4, 5));
    fcn_tensor *in[1] = { X };
    static const int64_t axes[5] = { 0, 1, 2, -1, 4 };
    static const int64_t rows[5] = { 1, 2, 6, 24, 120 };
    for (int i = 0; i < 5; i++) {
        attrs a = { 0 };
        a_int(&a, FCN_ATTR_AXIS, axes[i]);
        fcn_tensor *o = eval1(FCN_OP_FLATTEN, &a, in, 1);
        ASSERT_SHAPE(o, rows[i], 120 / rows[i]);
        assert_memory_equal(o->data, X->data, X->nbytes);
        t_free(o);
    }
    attrs r = { 0 };
    A_INTS(&r, FCN_ATTR_SHAPE, 0, -1, 5);
    fcn_tensor *o = eval1(FCN_OP_RESHAPE, &r, in, 1);
    ASSERT_SHAPE(o, 2, 12, 5);
    assert_memory_equal(o->data, X->data, X->nbytes);
    t_free(o);
    attrs r2 = { 0 };
    A_INTS(&r2, FCN_ATTR_SHAPE, 4, 0, -1);   /* 0 copies input dim 1 (3) */
    o = eval1(FCN_OP_RESHAPE, &r2, in, 1);
    ASSERT_SHAPE(o, 4, 3, 10);
    t_free(o);
    /* allowzero: 0 is a real zero; an empty input reshapes to [0, 4] */
    fcn_tensor *E = t_new(FC_DT_F32, 2, DIMS(0, 4), NULL);
    fcn_tensor *ine[1] = { E };
    attrs z = { 0 };
    A_INTS(&z, FCN_ATTR_SHAPE, 0, 4);
    a_int(&z, FCN_ATTR_ALLOWZERO, 1);
    o = eval1(FCN_OP_RESHAPE, &z, ine, 1);
    ASSERT_SHAPE(o, 0, 4);
    t_free(o);
    attrs bad = { 0 };
    A_INTS(&bad, FCN_ATTR_SHAPE, 7, -1);
    expect_fail(FCN_OP_RESHAPE, &bad, in, 1, 1, "cannot infer -1");
    attrs bad2 = { 0 };
    A_INTS(&bad2, FCN_ATTR_SHAPE, -1, -1);
    expect_fail(FCN_OP_RESHAPE, &bad2, in, 1, 1, "more than one -1");
    attrs bad3 = { 0 };
    A_INTS(&bad3, FCN_ATTR_SHAPE, 2, 3, 4, 6);
    expect_fail(FCN_OP_RESHAPE, &bad3, in, 1, 1, "cannot reshape 2x3x4x5");
    expect_fail(FCN_OP_RESHAPE, NULL, in, 1, 1, "shape attribute is required");
    attrs fa = { 0 };
    a_int(&fa, FCN_ATTR_AXIS, 5);
    expect_fail(FCN_OP_FLATTEN, &fa, in, 1, 1, "axis 5 out of range");
    t_free(X); t_free(E);
}

static void test_transpose_random(void **state)
{
    (void)state;
    rng_seed(31);
    for (int iter = 0; iter < 60; iter++) {
        int r = rng_int(1, 5);
        int64_t d[5], perm[5];
        for (int i = 0; i < r; i++) { d[i] = rng_int(1, 4); perm[i] = i; }
        for (int i = r - 1; i > 0; i--) { int j = rng_int(0, i); int64_t t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
        int use_default = rng_int(0, 4) == 0;
        if (use_default) for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
        /* i64 data to exercise 8-byte elements */
        fcn_tensor *X = t_new(FC_DT_I64, r, d, NULL);
        for (size_t i = 0; i < X->numel; i++) ((int64_t *)X->data)[i] = (int64_t)i * 3 - 7;
        attrs a = { 0 };
        if (!use_default) a_ints(&a, FCN_ATTR_PERM, r, perm);
        fcn_tensor *in[1] = { X };
        fcn_tensor *o = eval1(FCN_OP_TRANSPOSE, &a, in, 1);
        for (int i = 0; i < r; i++) assert_int_equal(o->dims[i], d[perm[i]]);
        /* each input element lands at its permuted coordinates */
        for (size_t i = 0; i < X->numel; i++) {
            int64_t idx[5], rem = (int64_t)i, off = 0;
            for (int k = r - 1; k >= 0; k--) { idx[k] = rem % d[k]; rem /= d[k]; }
            for (int k = 0; k < r; k++) off = off * o->dims[k] + idx[perm[k]];
            assert_int_equal(((int64_t *)o->data)[off], ((int64_t *)X->data)[i]);
        }
        t_free(o); t_free(X);
    }
    fcn_tensor *X = iota_f32(2, DIMS(2, 3));
    fcn_tensor *in[1] = { X };
    attrs bad = { 0 };
    A_INTS(&bad, FCN_ATTR_PERM, 0, 0);
    expect_fail(FCN_OP_TRANSPOSE, &bad, in, 1, 1, "not a permutation");
    t_free(X);
}

static void test_squeeze_unsqueeze(void **state)
{
    (void)state;
    fcn_tensor *X = iota_f32(4, DIMS(1, 3, 1, 5));
    fcn_tensor *in[1] = { X };
    fcn_tensor *o = eval1(FCN_OP_SQUEEZE, NULL, in, 1);
    ASSERT_SHAPE(o, 3, 5);
    t_free(o);
    attrs a = { 0 };
    A_INTS(&a, FCN_ATTR_AXES, -2);
    o = eval1(FCN_OP_SQUEEZE, &a, in, 1);
    ASSERT_SHAPE(o, 1, 3, 5);
    assert_memory_equal(o->data, X->data, X->nbytes);
    t_free(o);
    attrs b = { 0 };
    A_INTS(&b, FCN_ATTR_AXES, 1);
    expect_fail(FCN_OP_SQUEEZE, &b, in, 1, 1, "cannot squeeze axis 1 of size 3");
    attrs u = { 0 };
    A_INTS(&u, FCN_ATTR_AXES, -1, 0);   /* ONNX: axes against the output rank 6 */
    o = eval1(FCN_OP_UNSQUEEZE, &u, in, 1);
    ASSERT_SHAPE(o, 1, 1, 3, 1, 5, 1);
    t_free(o);
    attrs u2 = { 0 };
    A_INTS(&u2, FCN_ATTR_AXES, 5, 2);
    o = eval1(FCN_OP_UNSQUEEZE, &u2, in, 1);
    ASSERT_SHAPE(o, 1, 3, 1, 1, 5, 1);
    t_free(o);
    attrs u3 = { 0 };
    A_INTS(&u3, FCN_ATTR_AXES, 6);
    expect_fail(FCN_OP_UNSQUEEZE, &u3, in, 1, 1, "axis 6 out of range for rank 5");
    attrs u4 = { 0 };
    A_INTS(&u4, FCN_ATTR_AXES, 1, -5);
    expect_fail(FCN_OP_UNSQUEEZE, &u4, in, 1, 1, "listed twice");
    expect_fail(FCN_OP_UNSQUEEZE, NULL, in, 1, 1, "axes attribute is required");
    /* scalar i64 -> [1] (shape arithmetic as torch exports it) */
    const int64_t seven = 7;
    fcn_tensor *S = t_new(FC_DT_I64, 0, NULL, &seven);
    fcn_tensor *ins[1] = { S };
    attrs z = { 0 };
    A_INTS(&z, FCN_ATTR_AXES, 0);
    o = eval1(FCN_OP_UNSQUEEZE, &z, ins, 1);
    ASSERT_SHAPE(o, 1);
    assert_i64(o, &seven, 1);
    t_free(o);
    o = eval1(FCN_OP_IDENTITY, NULL, ins, 1);
    assert_int_equal(o->ndim, 0);
    assert_i64(o, &seven, 1);
    t_free(o);
    t_free(X); t_free(S);
}

static void test_concat(void **state)
{
    (void)state;
    const int64_t a[2] = { 1, 3 }, b[1] = { -1 }, c[2] = { 224, 224 };
    fcn_tensor *in[3] = { T_I64(a, 2), T_I64(b, 1), T_I64(c, 2) };
    attrs ax = { 0 };
    a_int(&ax, FCN_ATTR_AXIS, 0);
    fcn_tensor *o = eval1(FCN_OP_CONCAT, &ax, in, 3);
    const int64_t want[5] = { 1, 3, -1, 224, 224 };
    assert_i64(o, want, 5);
    t_free(o);
    for (int i = 0; i < 3; i++) t_free(in[i]);
    /* random f32 along every axis, against per-element placement */
    rng_seed(41);
    for (int iter = 0; iter < 30; iter++) {
        int r = rng_int(1, 4), axis = rng_int(0, r - 1), count = rng_int(1, 3);
        int64_t d[4];
        for (int i = 0; i < r; i++) d[i] = rng_int(1, 3);
        fcn_tensor *ins[3];
        int64_t total = 0, starts[3];
        for (int t = 0; t < count; t++) {
            int64_t dd[4];
            memcpy(dd, d, sizeof dd);
            dd[axis] = rng_int(0, 3);
            starts[t] = total;
            total += dd[axis];
            ins[t] = t_rand(r, dd);
        }
        attrs at = { 0 };
        a_int(&at, FCN_ATTR_AXIS, axis - (rng_int(0, 1) ? r : 0));
        o = eval1(FCN_OP_CONCAT, &at, ins, count);
        assert_int_equal(o->dims[axis], total);
        for (int t = 0; t < count; t++) {
            const fcn_tensor *T = ins[t];
            for (size_t i = 0; i < T->numel; i++) {
                int64_t idx[4], rem = (int64_t)i, off = 0;
                for (int k = r - 1; k >= 0; k--) { idx[k] = rem % T->dims[k]; rem /= T->dims[k]; }
                idx[axis] += starts[t];
                for (int k = 0; k < r; k++) off = off * o->dims[k] + idx[k];
                assert_true(((float *)o->data)[off] == ((float *)T->data)[i]);
            }
        }
        t_free(o);
        for (int t = 0; t < count; t++) t_free(ins[t]);
    }
    fcn_tensor *A = t_rand(2, DIMS(2, 3)), *B = t_rand(2, DIMS(3, 3)), *I = T_I64(NULL, 2, 3);
    fcn_tensor *bad[2] = { A, B };
    attrs a1 = { 0 };
    a_int(&a1, FCN_ATTR_AXIS, 1);
    expect_fail(FCN_OP_CONCAT, &a1, bad, 2, 1, "incompatible");
    fcn_tensor *bad2[2] = { A, I };
    expect_fail(FCN_OP_CONCAT, &a1, bad2, 2, 1, "dtype i64");
    expect_fail(FCN_OP_CONCAT, NULL, bad, 2, 1, "axis attribute is required");
    t_free(A); t_free(B); t_free(I);
}

/* python slice semantics, written independently: the indices visited */
static int py_slice(int64_t d, int64_t start, int64_t end, int64_t step, int64_t *out)
{
    if (start < 0) start += d;
    if (end < 0) end += d;
    if (step > 0) {
        if (start < 0) start = 0;
        if (start > d) start = d;
        if (end < 0) end = 0;
        if (end > d) end = d;
    } else {
        if (start < 0) start = -1;
        if (start >= d) start = d - 1;
        if (end < -1) end = -1;
        if (end >= d) end = d - 1;
    }
    int n = 0;
    for (int64_t i = start; step > 0 ? i < end : i > end; i += step) out[n++] = i;
    return n;
}

static void test_slice(void **state)
{
    (void)state;
    /* ONNX doc example: data [[1,2,3,4],[5,6,7,8]], axes [0,1], starts [1,0], ends [2,3], steps [1,2] */
    const float x[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    fcn_tensor *X = T_F32(x, 2, 4);
    fcn_tensor *in[1] = { X };
    attrs a = { 0 };
    A_INTS(&a, FCN_ATTR_STARTS, 1, 0);
    A_INTS(&a, FCN_ATTR_ENDS, 2, 3);
    A_INTS(&a, FCN_ATTR_AXES, 0, 1);
    A_INTS(&a, FCN_ATTR_STEPS, 1, 2);
    fcn_tensor *o = eval1(FCN_OP_SLICE, &a, in, 1);
    ASSERT_SHAPE(o, 1, 2);
    const float w1[2] = { 5, 7 };
    assert_vals(o, w1, 2);
    t_free(o);
    /* starts [0,1], ends [-1, 1000] -> [[2,3,4]] */
    attrs b = { 0 };
    A_INTS(&b, FCN_ATTR_STARTS, 0, 1);
    A_INTS(&b, FCN_ATTR_ENDS, -1, 1000);
    o = eval1(FCN_OP_SLICE, &b, in, 1);
    const float w2[3] = { 2, 3, 4 };
    ASSERT_SHAPE(o, 1, 3);
    assert_vals(o, w2, 3);
    t_free(o);
    /* reverse the last axis with INT64_MIN end */
    attrs c = { 0 };
    A_INTS(&c, FCN_ATTR_STARTS, -1);
    A_INTS(&c, FCN_ATTR_ENDS, INT64_MIN);
    A_INTS(&c, FCN_ATTR_AXES, -1);
    A_INTS(&c, FCN_ATTR_STEPS, -1);
    o = eval1(FCN_OP_SLICE, &c, in, 1);
    const float w3[8] = { 4, 3, 2, 1, 8, 7, 6, 5 };
    assert_vals(o, w3, 8);
    t_free(o);
    attrs z = { 0 };
    A_INTS(&z, FCN_ATTR_STARTS, 0);
    A_INTS(&z, FCN_ATTR_ENDS, 1);
    A_INTS(&z, FCN_ATTR_STEPS, 0);
    expect_fail(FCN_OP_SLICE, &z, in, 1, 1, "step 0");
    attrs ax = { 0 };
    A_INTS(&ax, FCN_ATTR_STARTS, 0);
    A_INTS(&ax, FCN_ATTR_ENDS, 1);
    A_INTS(&ax, FCN_ATTR_AXES, 2);
    expect_fail(FCN_OP_SLICE, &ax, in, 1, 1, "axis 2 out of range");
    t_free(X);

    rng_seed(51);
    for (int iter = 0; iter < 100; iter++) {
        int r = rng_int(1, 4);
        int64_t d[4];
        for (int i = 0; i < r; i++) d[i] = rng_int(1, 6);
        fcn_tensor *T = iota_f32(r, d);
        int64_t st[4], en[4], sp[4], axes[4];
        int n = rng_int(1, r);
        int64_t sel[4][16], cnt[4];
        for (int i = 0; i < r; i++) { cnt[i] = d[i]; for (int k = 0; k < d[i]; k++) sel[i][k] = k; }
        for (int i = 0; i < n; i++) {
            axes[i] = i;   /* a prefix of axes, given negative half of the time */
            st[i] = rng_int(-8, 8);
            en[i] = rng_int(0, 5) == 0 ? (rng_int(0, 1) ? INT64_MAX : INT64_MIN) : rng_int(-8, 8);
            sp[i] = rng_int(1, 3) * (rng_int(0, 1) ? 1 : -1);
            cnt[i] = py_slice(d[i], st[i], en[i], sp[i], sel[i]);
        }
        attrs sa = { 0 };
        a_ints(&sa, FCN_ATTR_STARTS, n, st);
        a_ints(&sa, FCN_ATTR_ENDS, n, en);
        int64_t axneg[4];
        for (int i = 0; i < n; i++) axneg[i] = rng_int(0, 1) ? axes[i] - r : axes[i];
        a_ints(&sa, FCN_ATTR_AXES, n, axneg);
        a_ints(&sa, FCN_ATTR_STEPS, n, sp);
        fcn_tensor *ti[1] = { T };
        o = eval1(FCN_OP_SLICE, &sa, ti, 1);
        for (int i = 0; i < r; i++) assert_int_equal(o->dims[i], cnt[i]);
        for (size_t e = 0; e < o->numel; e++) {
            int64_t idx[4], rem = (int64_t)e, off = 0;
            for (int k = r - 1; k >= 0; k--) { idx[k] = rem % cnt[k]; rem /= cnt[k]; }
            for (int k = 0; k < r; k++) off = off * d[k] + sel[k][idx[k]];
            assert_true(((float *)o->data)[e] == (float)off);
        }
        t_free(o); t_free(T);
    }
}

static void test_gather(void **state)
{
    (void)state;
    /* ONNX doc: data [[1,1.2],[2.3,3.4],[4.5,5.7]], indices [[0,1],[1,2]] axis 0 */
    const float x[6] = { 1, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f };
    const int64_t ind[4] = { 0, 1, 1, 2 };
    fcn_tensor *X = T_F32(x, 3, 2), *I = T_I64(ind, 2, 2);
    fcn_tensor *in[2] = { X, I };
    fcn_tensor *o = eval1(FCN_OP_GATHER, NULL, in, 2);
    ASSERT_SHAPE(o, 2, 2, 2);
    const float w[8] = { 1, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f };
    assert_vals(o, w, 8);
    t_free(o);
    /* axis 1 with i32 negative indices */
    const int32_t i32[2] = { -1, 0 };
    fcn_tensor *J = t_new(FC_DT_I32, 1, DIMS(2), i32);
    fcn_tensor *in2[2] = { X, J };
    attrs a1 = { 0 };
    a_int(&a1, FCN_ATTR_AXIS, -1);
    o = eval1(FCN_OP_GATHER, &a1, in2, 2);
    ASSERT_SHAPE(o, 3, 2);
    const float w2[6] = { 1.2f, 1, 3.4f, 2.3f, 5.7f, 4.5f };
    assert_vals(o, w2, 6);
    t_free(o);
    /* i64 shape arithmetic: Shape -> Gather(scalar index 1) */
    const int64_t dims[4] = { 1, 3, 224, 224 }, one = 1;
    fcn_tensor *D = T_I64(dims, 4), *K = t_new(FC_DT_I64, 0, NULL, &one);
    fcn_tensor *in3[2] = { D, K };
    o = eval1(FCN_OP_GATHER, NULL, in3, 2);
    assert_int_equal(o->ndim, 0);
    assert_i64(o, &dims[1], 1);
    t_free(o);
    /* constant out of range index: infer refuses */
    const int64_t bad[2] = { 0, 3 };
    fcn_tensor *B = T_I64(bad, 2);
    fcn_tensor *in4[2] = { X, B };
    expect_fail(FCN_OP_GATHER, NULL, in4, 2, 1, "index 3 out of range for axis 0 of size 3");
    fcn_tensor *F = t_rand(1, DIMS(2));
    fcn_tensor *in5[2] = { X, F };
    expect_fail(FCN_OP_GATHER, NULL, in5, 2, 1, "indices have dtype f32");
    /* non-constant indices out of range at run time: zeros (run cannot fail) */
    const fcn_op_def *def = fcn_op_lookup(FCN_OP_GATHER);
    B->is_const = 0;
    fcn_tensor *out = t_out();
    fcn_node n;
    memset(&n, 0, sizeof n);
    n.op = FCN_OP_GATHER; n.name = "g"; n.n_in = 2; n.n_out = 1; n.in = in4; n.out = &out;
    fc_error err = { 0 };
    assert_int_equal(def->infer(&n, &err), 0);
    ASSERT_SHAPE(out, 2, 2);
    float res[4] = { -1, -1, -1, -1 };
    out->data = res;
    out->numel = 4;
    def->run(&n, NULL);
    const float w4[4] = { 1, 1.2f, 0, 0 };
    assert_close_f32(res, w4, 4, 0, 0);
    free(n.params);
    free(out);
    t_free(X); t_free(I); t_free(J); t_free(D); t_free(K); t_free(B); t_free(F);
}

static void test_shape_cast_expand(void **state)
{
    (void)state;
    fcn_tensor *X = t_rand(4, DIMS(2, 3, 4, 5));
    fcn_tensor *in[1] = { X };
    fcn_tensor *o = eval1(FCN_OP_SHAPE, NULL, in, 1);
    const int64_t all[4] = { 2, 3, 4, 5 };
    assert_i64(o, all, 4);
    t_free(o);
    attrs se = { 0 };
    a_int(&se, FCN_ATTR_START, -3);
    a_int(&se, FCN_ATTR_END, -1);
    o = eval1(FCN_OP_SHAPE, &se, in, 1);
    assert_i64(o, all + 1, 2);
    t_free(o);
    attrs cl = { 0 };
    a_int(&cl, FCN_ATTR_START, -10);
    a_int(&cl, FCN_ATTR_END, 10);
    o = eval1(FCN_OP_SHAPE, &cl, in, 1);
    assert_i64(o, all, 4);
    t_free(o);
    t_free(X);

    /* Cast f32 -> i64 (truncation), -> f16 -> f32 round trip, -> bool, -> u8 (wrap), i64 -> f32 */
    const float v[6] = { 1.7f, -2.5f, 0.0f, 300.0f, 65504.0f, 0.1f };
    fcn_tensor *V = T_F32(v, 6);
    fcn_tensor *vin[1] = { V };
    attrs to = { 0 };
    a_int(&to, FCN_ATTR_TO, FC_DT_I64);
    o = eval1(FCN_OP_CAST, &to, vin, 1);
    const int64_t wi[6] = { 1, -2, 0, 300, 65504, 0 };
    assert_i64(o, wi, 6);
    fcn_tensor *ci[1] = { o };
    attrs tf = { 0 };
    a_int(&tf, FCN_ATTR_TO, FC_DT_F32);
    fcn_tensor *back = eval1(FCN_OP_CAST, &tf, ci, 1);
    const float wf[6] = { 1, -2, 0, 300, 65504, 0 };
    assert_vals(back, wf, 6);
    t_free(back);
    attrs tu = { 0 };
    a_int(&tu, FCN_ATTR_TO, FC_DT_U8);
    fcn_tensor *u8 = eval1(FCN_OP_CAST, &tu, ci, 1);
    assert_int_equal(u8->dtype, FC_DT_U8);
    assert_int_equal(((uint8_t *)u8->data)[3], 300 % 256);
    assert_int_equal(((uint8_t *)u8->data)[1], 254);
    t_free(u8);
    t_free(o);
    attrs th = { 0 };
    a_int(&th, FCN_ATTR_TO, FC_DT_F16);
    fcn_tensor *h = eval1(FCN_OP_CAST, &th, vin, 1);
    assert_int_equal(h->nbytes, 12);
    fcn_tensor *hi[1] = { h };
    back = eval1(FCN_OP_CAST, &tf, hi, 1);
    const float wh[6] = { 1.7001953125f, -2.5f, 0, 300, 65504, 0.0999755859375f };
    assert_vals(back, wh, 6);
    t_free(back); t_free(h);
    attrs tb = { 0 };
    a_int(&tb, FCN_ATTR_TO, FC_DT_BOOL);
    fcn_tensor *bo = eval1(FCN_OP_CAST, &tb, vin, 1);
    const uint8_t wb[6] = { 1, 1, 0, 1, 1, 1 };
    assert_memory_equal(bo->data, wb, 6);
    t_free(bo);
    attrs td = { 0 };
    a_int(&td, FCN_ATTR_TO, FC_DT_F64);
    fcn_tensor *dd = eval1(FCN_OP_CAST, &td, vin, 1);
    assert_true(((double *)dd->data)[0] == (double)1.7f);
    t_free(dd);
    expect_fail(FCN_OP_CAST, NULL, vin, 1, 1, "'to' attribute is required");
    t_free(V);

    /* Expand [3,1] to [2,1,4] -> [2,3,4] */
    const float e[3] = { 1, 2, 3 };
    fcn_tensor *E = T_F32(e, 3, 1);
    fcn_tensor *ein[1] = { E };
    attrs sh = { 0 };
    A_INTS(&sh, FCN_ATTR_SHAPE, 2, 1, 4);
    o = eval1(FCN_OP_EXPAND, &sh, ein, 1);
    ASSERT_SHAPE(o, 2, 3, 4);
    for (int i = 0; i < 24; i++) assert_true(((float *)o->data)[i] == e[(i / 4) % 3]);
    t_free(o);
    attrs sb = { 0 };
    A_INTS(&sb, FCN_ATTR_SHAPE, 2, 2);
    expect_fail(FCN_OP_EXPAND, &sb, ein, 1, 1, "does not broadcast");
    t_free(E);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flatten_reshape),
        cmocka_unit_test(test_transpose_random),
        cmocka_unit_test(test_squeeze_unsqueeze),
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_shape_cast_expand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
