/* test_ridge_golden.c — `--gap-head fit` is the optimal ridge head, not an approximation of it:
 * the GAP features of lenet_fc's backbone are collected through the runtime on the same
 * Fashion-MNIST images as two independent numpy goldens, the ridge system is solved with the
 * golden's λ, and the weights must match within 1e-4 relative (to max |W|):
 *   testdata/ridge_golden.npz     scripts/make_ridge_golden.py (numpy forward pass, N=2000)
 *   testdata/lenet_fc_ridge.npz   scripts/make_testdata.py (PyTorch features, N=256, fixed λ)
 * Skipped when the model, the golden or the dataset is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "converter/ir.h"
#include "converter/passes/rewrites.h"

static double scalar(const fc_npz *z, const char *key)
{
    const fc_array *a = fc_npz_find(z, key);
    if (!a) fail_msg("golden lacks '%s'", key);
    fc_array c = *a;
    if (c.dtype == FC_DT_F64) return *(const double *)c.data;
    if (c.dtype == FC_DT_I64) return (double)*(const int64_t *)c.data;
    if (c.dtype == FC_DT_F32) return *(const float *)c.data;
    fail_msg("'%s' has dtype %s", key, fc_dtype_name(c.dtype));
    return 0;
}

static double at(const fc_array *a, size_t i)
{
    if (a->dtype == FC_DT_F64) return ((const double *)a->data)[i];
    return ((const float *)a->data)[i];
}

/* The value the head flattens: input of the first Flatten/Reshape feeding a Gemm. */
static int flattened_map(const ir_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        if ((g->nodes[i].op == FCN_OP_FLATTEN || g->nodes[i].op == FCN_OP_RESHAPE) &&
            g->values[g->nodes[i].in[0]].ndim == 4)
            return g->nodes[i].in[0];
    return -1;
}

static void check_golden(const char *golden, const char *weight_key, const char *bias_key, int64_t n_default)
{
    const char *model = "testdata/lenet_fc.onnx";
    if (access(model, R_OK) || access(golden, R_OK) ||
        access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK)) {
        print_message("skipping: %s, %s or Fashion-MNIST missing\n", model, golden);
        skip();
    }
    fc_error err = { 0 };
    fc_npz z = { 0 };
    ir_graph *g = NULL;
    if (fc_npz_read(golden, &z, &err)) fail_msg("%s", err.msg);
    fcv_import_options io = { 0 };
    if (fcv_import(model, &io, &g, &err)) fail_msg("%s", err.msg);
    ir_update_links(g);
    int map = flattened_map(g);
    assert_true(map >= 0);
    double lambda = scalar(&z, "lambda");
    int64_t n = fc_npz_find(&z, "n") ? (int64_t)scalar(&z, "n") : n_default;
    char spec[64];
    snprintf(spec, sizeof spec, "fashion-mnist:train[:%lld]", (long long)n);
    double *X, *Y;
    int64_t C, K, N;
    int *lab;
    if (fcv_collect_gap_features(g, map, g->outputs[0], spec, 0, 1, 0, &X, &C, &Y, &K, &lab, &N, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(N, n);
    const fc_array *feats = fc_npz_find(&z, "features");
    if (feats) {   /* the features themselves, from PyTorch */
        double worst = 0, m = 0;
        for (int64_t i = 0; i < N * C; i++) {
            worst = fmax(worst, fabs(X[i] - at(feats, (size_t)i)));
            m = fmax(m, fabs(at(feats, (size_t)i)));
        }
        print_message("%s: features max abs diff %.3g (max %.3g)\n", golden, worst, m);
        assert_true(worst <= 1e-4 * m);
    }
    fcv_ridge_stats st;
    assert_int_equal(fcv_ridge_init(&st, C, K, &err), 0);
    for (int64_t i = 0; i < N; i++) fcv_ridge_add(&st, X + i * C, Y + i * K);
    double *B;
    if (fcv_ridge_solve(&st, lambda, &B, &err)) fail_msg("%s", err.msg);
    const fc_array *W = fc_npz_find(&z, weight_key), *b = fc_npz_find(&z, bias_key);
    assert_non_null(W);
    assert_non_null(b);
    assert_int_equal(W->dims[0], K);
    assert_int_equal(W->dims[1], C);
    double wmax = 0, dw = 0, bmax = 0, db = 0;
    for (int64_t k = 0; k < K; k++) {
        for (int64_t c = 0; c < C; c++) {
            double gw = at(W, (size_t)(k * C + c));
            wmax = fmax(wmax, fabs(gw));
            dw = fmax(dw, fabs(gw - B[c * K + k]));
        }
        double gb = at(b, (size_t)k);
        bmax = fmax(bmax, fabs(gb));
        db = fmax(db, fabs(gb - B[C * K + k]));
    }
    print_message("%s: lambda %.6g, N %lld: W rel diff %.3g, b rel diff %.3g\n", golden, lambda, (long long)N, dw / wmax,
                  db / bmax);
    assert_true(dw <= 1e-4 * wmax);
    assert_true(db <= 1e-4 * bmax);
    free(B);
    fcv_ridge_free(&st);
    free(X); free(Y); free(lab);
    ir_graph_free(g);
    fc_npz_free(&z);
}

static void test_numpy_forward_golden(void **state)
{
    (void)state;
    check_golden("testdata/ridge_golden.npz", "W", "b", 2000);
}

static void test_torch_features_golden(void **state)
{
    (void)state;
    check_golden("testdata/lenet_fc_ridge.npz", "W", "b", 256);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numpy_forward_golden),
        cmocka_unit_test(test_torch_features_golden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
