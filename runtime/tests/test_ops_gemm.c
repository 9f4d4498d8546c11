/* test_ops_gemm.c — Gemm (transA/transB/alpha/beta, every C broadcast form, fused act) and
 * MatMul (2-D, 1-D operands, batched broadcasting): hand cases, randomized comparison against
 * naive triple loops indexing the untransposed storage, and errors naming the node. */
#include "ops_test_util.h"

static void test_gemm_hand(void **state)
{
    (void)state;
    const float a[6] = { 1, 2, 3, 4, 5, 6 };        /* 2x3 */
    const float b[6] = { 1, 0, 0, 1, 1, 1 };        /* 3x2 */
    const float c[2] = { 10, 20 };                  /* [N] */
    fcn_tensor *in[3] = { T_F32(a, 2, 3), T_F32(b, 3, 2), T_F32(c, 2) };
    attrs at = { 0 };
    a_float(&at, FCN_ATTR_ALPHA, 2.0);
    a_float(&at, FCN_ATTR_BETA, 0.5);
    fcn_tensor *o = eval1(FCN_OP_GEMM, &at, in, 3);
    /* A B = [[4,5],[10,11]]; *2 = [[8,10],[20,22]]; + 0.5*[10,20] */
    const float want[4] = { 13, 20, 25, 32 };
    ASSERT_SHAPE(o, 2, 2);
    assert_vals(o, want, 4);
    t_free(o);
    /* no C, fused leaky relu on A B - 5 -> use C = -5 scalar */
    const float m5 = -5;
    fcn_tensor *cs = t_new(FC_DT_F32, 0, NULL, &m5);
    fcn_tensor *in2[3] = { in[0], in[1], cs };
    attrs lk = { 0 };
    a_int(&lk, FCN_ATTR_ACT, FCN_ACT_LEAKY_RELU);
    a_float(&lk, FCN_ATTR_ACT_ALPHA, 0.1);
    o = eval1(FCN_OP_GEMM, &lk, in2, 3);
    const float want2[4] = { -0.1f, 0, 5, 6 };
    assert_vals(o, want2, 4);
    t_free(o);
    for (int i = 0; i < 3; i++) t_free(in[i]);
    t_free(cs);
}

static void test_gemm_random(void **state)
{
    (void)state;
    rng_seed(5);
    for (int iter = 0; iter < 120; iter++) {
        int m = rng_int(1, 9), n = rng_int(1, 9), k = rng_int(1, 9), ta = rng_int(0, 1), tb = rng_int(0, 1);
        int cform = rng_int(0, 5);   /* 0 none, 1 scalar, 2 [N], 3 [M,1], 4 [M,N], 5 [1,N] */
        float alpha = rng_float() * 2, beta = rng_float() * 2;
        int64_t ad[2] = { ta ? k : m, ta ? m : k }, bd[2] = { tb ? n : k, tb ? k : n };
        fcn_tensor *A = t_rand(2, ad), *B = t_rand(2, bd), *Ct = NULL;
        int64_t cd[2];
        int cnd = 0;
        if (cform == 2) { cnd = 1; cd[0] = n; }
        if (cform == 3) { cnd = 2; cd[0] = m; cd[1] = 1; }
        if (cform == 4) { cnd = 2; cd[0] = m; cd[1] = n; }
        if (cform == 5) { cnd = 2; cd[0] = 1; cd[1] = n; }
        if (cform) Ct = t_rand(cnd, cd);
        attrs at = { 0 };
        a_int(&at, FCN_ATTR_TRANS_A, ta);
        a_int(&at, FCN_ATTR_TRANS_B, tb);
        a_float(&at, FCN_ATTR_ALPHA, alpha);
        a_float(&at, FCN_ATTR_BETA, beta);
        fcn_tensor *in[3] = { A, B, Ct };
        fcn_tensor *o = eval1(FCN_OP_GEMM, &at, in, cform ? 3 : 2);
        ASSERT_SHAPE(o, m, n);
        float *want = fbuf((size_t)m * n);
        const float *a = A->data, *b = B->data, *c = Ct ? Ct->data : NULL;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (double)(ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
                s *= alpha;
                if (c) {
                    double cv = cform == 1 ? c[0] : cform == 2 ? c[j] : cform == 3 ? c[i] : cform == 4 ? c[i * n + j] : c[j];
                    s += beta * cv;
                }
                want[i * n + j] = (float)s;
            }
        assert_close_f32(o->data, want, (size_t)m * n, 1e-4, 1e-5);
        fcn_tensor *ot = eval_threaded(FCN_OP_GEMM, &at, in, cform ? 3 : 2);
        assert_memory_equal(ot->data, o->data, o->nbytes);
        t_free(ot);
        free(want);
        t_free(o); t_free(A); t_free(B); t_free(Ct);
    }
}

/* naive numpy matmul over explicit shapes (any rank >= 1) */
static void naive_matmul(const fcn_tensor *A, const fcn_tensor *B, const fcn_tensor *O, float *want)
{
    int ra = A->ndim, rb = B->ndim;
    int64_t m = ra == 1 ? 1 : A->dims[ra - 2], k = A->dims[ra - 1], n = rb == 1 ? 1 : B->dims[rb - 1];
    int nb = O->ndim - (ra > 1) - (rb > 1);   /* batch rank of the output */
    int64_t nbatch = 1;
    for (int d = 0; d < nb; d++) nbatch *= O->dims[d];
    for (int64_t t = 0; t < nbatch; t++) {
        int64_t idx[8], rem = t;
        for (int d = nb - 1; d >= 0; d--) { idx[d] = rem % O->dims[d]; rem /= O->dims[d]; }
        int64_t aoff = 0, boff = 0, am = 1, bm = 1;
        for (int d = nb - 1, da = ra - 3, db = rb - 3; d >= 0; d--, da--, db--) {
            if (da >= 0) { aoff += (A->dims[da] == 1 ? 0 : idx[d]) * am; am *= A->dims[da]; }
            if (db >= 0) { boff += (B->dims[db] == 1 ? 0 : idx[d]) * bm; bm *= B->dims[db]; }
        }
        const float *a = (const float *)A->data + aoff * m * k, *b = (const float *)B->data + boff * k * n;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double s = 0;
                for (int64_t p = 0; p < k; p++) s += (double)a[i * k + p] * b[p * n + j];
                want[t * m * n + i * n + j] = (float)s;
            }
    }
}

static void matmul_case(int ra, const int64_t *ad, int rb, const int64_t *bd, int ro, const int64_t *od)
{
    fcn_tensor *A = t_rand(ra, ad), *B = t_rand(rb, bd);
    fcn_tensor *in[2] = { A, B };
    fcn_tensor *o = eval1(FCN_OP_MATMUL, NULL, in, 2);
    assert_shape(o, ro, od);
    float *want = fbuf(o->numel);
    naive_matmul(A, B, o, want);
    assert_close_f32(o->data, want, o->numel, 1e-4, 1e-5);
    attrs none = { 0 };
    fcn_tensor *ot = eval_threaded(FCN_OP_MATMUL, &none, in, 2);
    assert_memory_equal(ot->data, o->data, o->nbytes);
    t_free(ot);
    free(want);
    t_free(o); t_free(A); t_free(B);
}

static void test_matmul_shapes(void **state)
{
    (void)state;
    rng_seed(9);
    matmul_case(2, DIMS(3, 4), 2, DIMS(4, 5), 2, DIMS(3, 5));
    matmul_case(1, DIMS(4), 2, DIMS(4, 5), 1, DIMS(5));
    matmul_case(2, DIMS(3, 4), 1, DIMS(4), 1, DIMS(3));
    matmul_case(1, DIMS(4), 1, DIMS(4), 0, NULL);
    matmul_case(3, DIMS(2, 3, 4), 2, DIMS(4, 5), 3, DIMS(2, 3, 5));
    matmul_case(4, DIMS(2, 1, 3, 4), 3, DIMS(3, 4, 5), 4, DIMS(2, 3, 3, 5));
    matmul_case(3, DIMS(1, 3, 4), 3, DIMS(6, 4, 2), 3, DIMS(6, 3, 2));
    matmul_case(1, DIMS(4), 3, DIMS(2, 4, 5), 2, DIMS(2, 5));
    matmul_case(3, DIMS(2, 3, 4), 1, DIMS(4), 2, DIMS(2, 3));
    /* hand: [[1,2],[3,4]] x [[5],[6]] */
    const float a[4] = { 1, 2, 3, 4 }, b[2] = { 5, 6 };
    fcn_tensor *in[2] = { T_F32(a, 2, 2), T_F32(b, 2, 1) };
    attrs r = { 0 };
    a_int(&r, FCN_ATTR_ACT, FCN_ACT_CLIP);
    a_float(&r, FCN_ATTR_ACT_ALPHA, 0);
    a_float(&r, FCN_ATTR_ACT_BETA, 20);
    fcn_tensor *o = eval1(FCN_OP_MATMUL, &r, in, 2);
    const float want[2] = { 17, 20 };   /* 39 clipped to 20 */
    assert_vals(o, want, 2);
    t_free(o); t_free(in[0]); t_free(in[1]);
}

static void test_matmul_random(void **state)
{
    (void)state;
    rng_seed(77);
    for (int iter = 0; iter < 60; iter++) {
        int m = rng_int(1, 6), k = rng_int(1, 6), n = rng_int(1, 6);
        int nba = rng_int(0, 2), nbb = rng_int(0, 2);
        int64_t ad[4], bd[4], od[4];
        int nbo = nba > nbb ? nba : nbb;
        int64_t batch[2] = { rng_int(1, 3), rng_int(1, 3) };
        for (int d = 0; d < nbo; d++) od[d] = batch[d];
        for (int d = 0; d < nba; d++) ad[d] = rng_int(0, 1) ? batch[nbo - nba + d] : 1;
        for (int d = 0; d < nbb; d++) bd[d] = rng_int(0, 1) ? batch[nbo - nbb + d] : 1;
        for (int d = 0; d < nbo; d++) {   /* output batch dim = max of the aligned dims */
            int64_t x = 1;
            int da = d - (nbo - nba), db = d - (nbo - nbb);
            if (da >= 0 && ad[da] > x) x = ad[da];
            if (db >= 0 && bd[db] > x) x = bd[db];
            od[d] = x;
        }
        ad[nba] = m; ad[nba + 1] = k;
        bd[nbb] = k; bd[nbb + 1] = n;
        od[nbo] = m; od[nbo + 1] = n;
        matmul_case(nba + 2, ad, nbb + 2, bd, nbo + 2, od);
    }
}

static void test_gemm_matmul_errors(void **state)
{
    (void)state;
    fcn_tensor *a = t_rand(2, DIMS(3, 4)), *b = t_rand(2, DIMS(5, 6)), *b3 = t_rand(3, DIMS(2, 4, 6));
    fcn_tensor *c = t_rand(2, DIMS(2, 6)), *b46 = t_rand(2, DIMS(4, 6)), *a3 = t_rand(3, DIMS(3, 3, 4));
    fcn_tensor *in[3] = { a, b, NULL };
    expect_fail(FCN_OP_GEMM, NULL, in, 2, 1, "inner dimensions differ");
    expect_fail(FCN_OP_MATMUL, NULL, in, 2, 1, "inner dimensions 4 and 5 differ");
    fcn_tensor *in3[2] = { a, b3 };
    expect_fail(FCN_OP_GEMM, NULL, in3, 2, 1, "rank 3");
    fcn_tensor *inc[3] = { a, b46, c };
    expect_fail(FCN_OP_GEMM, NULL, inc, 3, 1, "does not broadcast to 3x6");
    attrs t = { 0 };
    a_int(&t, FCN_ATTR_TRANS_A, 2);
    expect_fail(FCN_OP_GEMM, &t, inc, 2, 1, "transA");
    fcn_tensor *inb[2] = { a3, b3 };
    expect_fail(FCN_OP_MATMUL, NULL, inb, 2, 1, "do not broadcast");
    t_free(a); t_free(b); t_free(b3); t_free(c); t_free(b46); t_free(a3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_hand),
        cmocka_unit_test(test_gemm_random),
        cmocka_unit_test(test_matmul_shapes),
        cmocka_unit_test(test_matmul_random),
        cmocka_unit_test(test_gemm_matmul_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
