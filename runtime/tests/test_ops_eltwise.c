/* test_ops_eltwise.c — Add/Sub/Mul/Div/Pow with numpy broadcasting (f32 random vs a naive
 * unravel/ravel loop; i64/i32 hand cases incl. truncating division and /0), variadic
 * Max/Min/Sum/Mean, fused activation on Add, and errors naming the node. */
#include "ops_test_util.h"

static double apply(int op, double x, double y)
{
    switch (op) {
    case FCN_OP_ADD: case FCN_OP_SUM: case FCN_OP_MEAN: return x + y;
    case FCN_OP_SUB: return x - y;
    case FCN_OP_MUL: return x * y;
    case FCN_OP_DIV: return x / y;
    case FCN_OP_POW: return pow(x, y);
    case FCN_OP_MAX: return x > y ? x : y;
    default: return x < y ? x : y;
    }
}

/* offset in input t of output multi-index idx (output rank nd): numpy right alignment */
static int64_t bcast_offset(const fcn_tensor *t, int nd, const int64_t *idx)
{
    int64_t off = 0;
    for (int d = 0; d < t->ndim; d++) {
        int od = nd - t->ndim + d;
        off = off * t->dims[d] + (t->dims[d] == 1 ? 0 : idx[od]);
    }
    return off;
}

static void random_shape_pair(int *nd, int64_t *out, int *na, int64_t *a, int *nb, int64_t *b)
{
    *nd = rng_int(0, 4);
    for (int d = 0; d < *nd; d++) out[d] = rng_int(1, 4);
    *na = rng_int(0, *nd);
    *nb = *nd - rng_int(0, *nd) ;
    if (rng_int(0, 1)) *nb = *nd;
    else *na = *nd;
    for (int d = 0; d < *na; d++) a[d] = rng_int(0, 2) ? out[*nd - *na + d] : 1;
    for (int d = 0; d < *nb; d++) b[d] = rng_int(0, 2) ? out[*nd - *nb + d] : 1;
    for (int d = 0; d < *nd; d++) {   /* the output dim is the max of the aligned input dims */
        int64_t x = 1;
        int da = d - (*nd - *na), db = d - (*nd - *nb);
        if (da >= 0 && a[da] > x) x = a[da];
        if (db >= 0 && b[db] > x) x = b[db];
        out[d] = x;
    }
}

static void test_binary_random(void **state)
{
    (void)state;
    static const int ops[] = { FCN_OP_ADD, FCN_OP_SUB, FCN_OP_MUL, FCN_OP_DIV, FCN_OP_POW };
    rng_seed(3);
    for (int iter = 0; iter < 200; iter++) {
        int op = ops[iter % 5];
        int nd, na, nb;
        int64_t od[8], ad[8], bd[8];
        random_shape_pair(&nd, od, &na, ad, &nb, bd);
        fcn_tensor *A = t_rand(na, ad), *B = t_rand(nb, bd);
        if (op == FCN_OP_POW) {   /* positive base, any exponent */
            float *f = A->data;
            for (size_t i = 0; i < A->numel; i++) f[i] = fabsf(f[i]) + 0.1f;
        }
        if (op == FCN_OP_DIV) {
            float *f = B->data;
            for (size_t i = 0; i < B->numel; i++) f[i] = f[i] >= 0 ? f[i] + 0.5f : f[i] - 0.5f;
        }
        fcn_tensor *in[2] = { A, B };
        fcn_tensor *o = eval1(op, NULL, in, 2);
        assert_shape(o, nd, od);
        float *want = fbuf(o->numel);
        for (size_t i = 0; i < o->numel; i++) {
            int64_t idx[8], rem = (int64_t)i;
            for (int d = nd - 1; d >= 0; d--) { idx[d] = rem % od[d]; rem /= od[d]; }
            want[i] = (float)apply(op, ((float *)A->data)[bcast_offset(A, nd, idx)],
                                   ((float *)B->data)[bcast_offset(B, nd, idx)]);
        }
        assert_close_f32(o->data, want, o->numel, 1e-5, 1e-6);
        free(want);
        t_free(o); t_free(A); t_free(B);
    }
}

static void test_variadic_random(void **state)
{
    (void)state;
    static const int ops[] = { FCN_OP_MAX, FCN_OP_MIN, FCN_OP_SUM, FCN_OP_MEAN };
    rng_seed(4);
    for (int iter = 0; iter < 80; iter++) {
        int op = ops[iter % 4], count = rng_int(1, 4);
        int64_t od[8];
        int nd = rng_int(0, 3);
        for (int d = 0; d < nd; d++) od[d] = rng_int(1, 4);
        fcn_tensor *in[4];
        for (int t = 0; t < count; t++) {   /* each input: a suffix of the shape with some 1s */
            int r = rng_int(0, nd);
            int64_t dd[8];
            for (int d = 0; d < r; d++) dd[d] = rng_int(0, 1) ? od[nd - r + d] : 1;
            if (t == 0) { r = nd; memcpy(dd, od, sizeof dd); }
            in[t] = t_rand(r, dd);
        }
        fcn_tensor *o = eval1(op, NULL, in, count);
        assert_shape(o, nd, od);
        float *want = fbuf(o->numel);
        for (size_t i = 0; i < o->numel; i++) {
            int64_t idx[8], rem = (int64_t)i;
            for (int d = nd - 1; d >= 0; d--) { idx[d] = rem % od[d]; rem /= od[d]; }
            double acc = ((float *)in[0]->data)[bcast_offset(in[0], nd, idx)];
            for (int t = 1; t < count; t++) acc = apply(op, acc, ((float *)in[t]->data)[bcast_offset(in[t], nd, idx)]);
            if (op == FCN_OP_MEAN) acc /= count;
            want[i] = (float)acc;
        }
        assert_close_f32(o->data, want, o->numel, 1e-5, 1e-6);
        free(want);
        t_free(o);
        for (int t = 0; t < count; t++) t_free(in[t]);
    }
}

static void test_hand_f32(void **state)
{
    (void)state;
    const float a[6] = { 1, 2, 3, 4, 5, 6 }, b[3] = { 10, 20, 30 }, col[2] = { -100, 100 };
    fcn_tensor *A = T_F32(a, 2, 3), *B = T_F32(b, 3), *Col = T_F32(col, 2, 1);
    fcn_tensor *in[2] = { A, B };
    fcn_tensor *o = eval1(FCN_OP_ADD, NULL, in, 2);
    const float add[6] = { 11, 22, 33, 14, 25, 36 };
    assert_vals(o, add, 6);
    t_free(o);
    fcn_tensor *in2[2] = { A, Col };
    attrs r = { 0 };
    a_int(&r, FCN_ATTR_ACT, FCN_ACT_RELU);
    o = eval1(FCN_OP_ADD, &r, in2, 2);   /* fused relu */
    const float addr[6] = { 0, 0, 0, 104, 105, 106 };
    assert_vals(o, addr, 6);
    t_free(o);
    fcn_tensor *in3[3] = { A, B, Col };
    o = eval1(FCN_OP_MAX, NULL, in3, 3);
    const float mx[6] = { 10, 20, 30, 100, 100, 100 };
    assert_vals(o, mx, 6);
    t_free(o);
    o = eval1(FCN_OP_MEAN, NULL, in3, 3);
    const float mean[6] = { -89.0f / 3, -78.0f / 3, -67.0f / 3, 114.0f / 3, 125.0f / 3, 136.0f / 3 };
    assert_vals(o, mean, 6);
    t_free(o);
    const float two = 2;
    fcn_tensor *S = t_new(FC_DT_F32, 0, NULL, &two);
    fcn_tensor *in4[2] = { A, S };
    o = eval1(FCN_OP_POW, NULL, in4, 2);
    const float sq[6] = { 1, 4, 9, 16, 25, 36 };
    assert_vals(o, sq, 6);
    t_free(o);
    t_free(A); t_free(B); t_free(Col); t_free(S);
}

static void test_integer(void **state)
{
    (void)state;
    const int64_t a[4] = { 7, -7, 9, INT64_MIN }, b[4] = { 2, 2, 0, -1 };
    fcn_tensor *A = T_I64(a, 4), *B = T_I64(b, 4);
    fcn_tensor *in[2] = { A, B };
    fcn_tensor *o = eval1(FCN_OP_DIV, NULL, in, 2);
    assert_int_equal(o->dtype, FC_DT_I64);
    const int64_t *d = o->data;
    assert_true(d[0] == 3 && d[1] == -3 && d[2] == 0 && d[3] == INT64_MIN);   /* trunc; /0 -> 0 */
    t_free(o);
    o = eval1(FCN_OP_MUL, NULL, in, 2);
    d = o->data;
    assert_true(d[0] == 14 && d[1] == -14 && d[2] == 0);
    t_free(o);
    const int64_t one = 1;
    fcn_tensor *S = t_new(FC_DT_I64, 0, NULL, &one);
    fcn_tensor *in2[2] = { S, A };
    o = eval1(FCN_OP_SUB, NULL, in2, 2);
    d = o->data;
    assert_true(d[0] == -6 && d[1] == 8 && d[2] == -8);
    t_free(o);
    o = eval1(FCN_OP_MIN, NULL, in, 2);
    d = o->data;
    assert_true(d[0] == 2 && d[1] == -7 && d[2] == 0 && d[3] == INT64_MIN);
    t_free(o);
    const int32_t x[3] = { 5, -9, 4 }, y[1] = { 4 };
    fcn_tensor *X = t_new(FC_DT_I32, 1, DIMS(3), x), *Y = t_new(FC_DT_I32, 1, DIMS(1), y);
    fcn_tensor *in3[2] = { X, Y };
    o = eval1(FCN_OP_ADD, NULL, in3, 2);
    assert_int_equal(o->dtype, FC_DT_I32);
    const int32_t *e = o->data;
    assert_true(e[0] == 9 && e[1] == -5 && e[2] == 8);
    t_free(o);
    t_free(A); t_free(B); t_free(S); t_free(X); t_free(Y);
}

static void test_eltwise_errors(void **state)
{
    (void)state;
    fcn_tensor *A = t_rand(2, DIMS(2, 3)), *B = t_rand(1, DIMS(2)), *I = T_I64(NULL, 3);
    fcn_tensor *in[2] = { A, B };
    expect_fail(FCN_OP_ADD, NULL, in, 2, 1, "do not broadcast");
    fcn_tensor *in2[2] = { A, I };
    expect_fail(FCN_OP_MUL, NULL, in2, 2, 1, "input 1 has dtype i64");
    fcn_tensor *in3[2] = { I, I };
    expect_fail(FCN_OP_POW, NULL, in3, 2, 1, "dtype i64 is not supported");
    fcn_tensor *in4[3] = { A, A, B };
    expect_fail(FCN_OP_SUM, NULL, in4, 3, 1, "do not broadcast");
    /* eval-level arity check: Add with 3 inputs */
    fcn_tensor *out[1];
    fc_error err;
    assert_int_equal(eval_op_n(FCN_OP_ADD, NULL, in4, 3, out, 1, &err), -1);
    assert_non_null(strstr(err.msg, "3 inputs"));
    free(out[0]);
    t_free(A); t_free(B); t_free(I);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_f32),
        cmocka_unit_test(test_integer),
        cmocka_unit_test(test_binary_random),
        cmocka_unit_test(test_variadic_random),
        cmocka_unit_test(test_eltwise_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
