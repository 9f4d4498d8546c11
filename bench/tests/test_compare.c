/* test_compare.c — the regression gate on small hand-built bench documents: a rerun passes,
 * an injected 30% slowdown fails, noise under the threshold passes, accuracy/agreement drops,
 * size growth and a variant that stopped being applicable fail, and --normalize cancels a
 * machine that is uniformly twice as slow. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "bench/bench.h"

static const double base_reps[9] = {1.00, 1.02, 0.99, 1.01, 1.03, 0.98, 1.00, 1.01, 0.995};

/* One document: variant "original" (+ "gap-fit") with one case "b1/t1" whose repetitions are
 * base_reps * time_scale (+ jitter), and the given top-1, agreement, size and peak. */
static cJSON *make_doc(double time_scale, double jitter, double top1, double agreement, double fcn_bytes,
                       double peak, int gap_applicable)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "schema", BENCH_SCHEMA);
    cJSON *m = cJSON_AddObjectToObject(doc, "machine");
    cJSON_AddNumberToObject(m, "peak_gflops", peak);
    cJSON *vars = cJSON_AddArrayToObject(doc, "variants");
    for (int k = 0; k < 2; k++) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "name", k == 0 ? "original" : "gap-fit");
        int ok = k == 0 || gap_applicable;
        cJSON_AddBoolToObject(v, "applicable", ok);
        if (!ok) cJSON_AddStringToObject(v, "reason", "no dense head");
        cJSON *a = cJSON_AddObjectToObject(v, "accuracy");
        cJSON_AddNumberToObject(a, "top1", top1);
        cJSON_AddNumberToObject(a, "agreement", agreement);
        cJSON *s = cJSON_AddObjectToObject(v, "size");
        cJSON_AddNumberToObject(s, "fcn_bytes", fcn_bytes);
        cJSON *speed = cJSON_AddArrayToObject(v, "speed");
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "case", "b1/t1");
        double reps[9];
        for (int i = 0; i < 9; i++) reps[i] = base_reps[i] * time_scale * (1 + k) + jitter * ((i * 7) % 5 - 2);
        cJSON_AddItemToObject(c, "reps_ms", cJSON_CreateDoubleArray(reps, 9));
        cJSON_AddNumberToObject(c, "median_ms", bench_median(reps, 9));
        cJSON_AddItemToArray(speed, c);
        cJSON_AddItemToArray(vars, v);
    }
    return doc;
}

/* Runs the gate with its output captured; returns the exit value, output in *text. */
static int gate(const cJSON *b, const cJSON *n, int normalize, char **text)
{
    bench_compare_options opt;
    bench_compare_options_default(&opt);
    opt.normalize = normalize;
    size_t len = 0;
    opt.out = open_memstream(text, &len);
    fc_error err = {0};
    int rc = bench_compare_docs(b, n, &opt, &err);
    fclose(opt.out);
    return rc;
}

static void rerun_passes(void **state)
{
    (void)state;
    cJSON *b = make_doc(1, 0, 0.9, 1, 1000, 100, 1), *n = make_doc(1, 0.001, 0.9, 1, 1000, 100, 1);
    char *text = NULL;
    assert_int_equal(gate(b, n, 0, &text), 0);
    assert_non_null(strstr(text, "OK: 0 regression(s)"));
    assert_non_null(strstr(text, "geometric mean"));
    free(text);
    cJSON_Delete(b);
    cJSON_Delete(n);
}

static void slowdown_fails_with_geomean(void **state)
{
    (void)state;
    cJSON *b = make_doc(1, 0, 0.9, 1, 1000, 100, 1), *n = make_doc(1.3, 0, 0.9, 1, 1000, 100, 1);
    char *text = NULL;
    assert_int_equal(gate(b, n, 0, &text), 1);
    assert_non_null(strstr(text, "SLOWER"));
    /* Both cases are exactly 1.3x slower: geometric mean 1.3000, +30.00%. */
    assert_non_null(strstr(text, "1.3000 (+30.00%)"));
    assert_non_null(strstr(text, "FAIL: 2 regression(s)"));
    free(text);
    cJSON_Delete(b);
    cJSON_Delete(n);
}

static void small_change_under_threshold_passes(void **state)
{
    (void)state;
    /* 3% slower everywhere: significant by U, but under the 5% threshold. */
    cJSON *b = make_doc(1, 0, 0.9, 1, 1000, 100, 1), *n = make_doc(1.03, 0, 0.9, 1, 1000, 100, 1);
    char *text = NULL;
    assert_int_equal(gate(b, n, 0, &text), 0);
    free(text);
    cJSON_Delete(b);
    cJSON_Delete(n);
}

static void faster_is_not_a_regression(void **state)
{
    (void)state;
    cJSON *b = make_doc(1, 0, 0.9, 1, 1000, 100, 1), *n = make_doc(0.5, 0, 0.9, 1, 1000, 100, 1);
    char *text = NULL;
    assert_int_equal(gate(b, n, 0, &text), 0);
    assert_non_null(strstr(text, "faster"));
    free(text);
    cJSON_Delete(b);
    cJSON_Delete(n);
}

static void accuracy_agreement_size_checks(void **state)
{
    (void)state;
    cJSON *b = make_doc(1, 0, 0.9, 1, 1000, 100, 1);
    char *text = NULL;
    cJSON *n = make_doc(1, 0, 0.899, 1, 1000, 100, 1);
    assert_int_equal(gate(b, n, 0, &text), 1);
    assert_non_null(strstr(text, "top1 dropped"));
    free(text);
    cJSON_Delete(n);
    n = make_doc(1, 0, 0.9, 0.99, 1000, 100, 1);
    assert_int_equal(gate(b, n, 0, &text), 1);
    assert_non_null(strstr(text, "agreement dropped"));
    free(text);
    cJSON_Delete(n);
    n = make_doc(1, 0, 0.9, 1, 1001, 100, 1);
    assert_int_equal(gate(b, n, 0, &text), 1);
    assert_non_null(strstr(text, "size grew"));
    free(text);
    cJSON_Delete(n);
    n = make_doc(1, 0, 0.91, 1, 999, 100, 1);   /* better accuracy, smaller file: fine */
    assert_int_equal(gate(b, n, 0, &text), 0);
    free(text);
    cJSON_Delete(n);
    n = make_doc(1, 0, 0.9, 1, 1000, 100, 0);
    assert_int_equal(gate(b, n, 0, &text), 1);
    assert_non_null(strstr(text, "no longer applicable: no dense head"));
    free(text);
    cJSON_Delete(n);
    cJSON_Delete(b);
}

static void normalize_cancels_a_slower_machine(void **state)
{
    (void)state;
    /* Twice the time on a machine whose probe measured half the peak: same normalized time. */
    cJSON *b = make_doc(1, 0, 0.9, 1, 1000, 100, 1), *n = make_doc(2, 0, 0.9, 1, 1000, 50, 1);
    char *text = NULL;
    assert_int_equal(gate(b, n, 0, &text), 1);
    free(text);
    assert_int_equal(gate(b, n, 1, &text), 0);
    assert_non_null(strstr(text, "1.0000 (+0.00%)"));
    free(text);
    cJSON_Delete(b);
    cJSON_Delete(n);
}

static void normalize_prefers_the_in_run_probe(void **state)
{
    (void)state;
    /* Peaks say "same machine" but the probe timed inside the run was 2x slower, like the cases:
     * the probe wins when both documents have one, so the 2x cancels. */
    cJSON *b = make_doc(1, 0, 0.9, 1, 1000, 100, 1), *n = make_doc(2, 0, 0.9, 1, 1000, 100, 1);
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(b, "probe"), "median_ms", 0.5);
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(n, "probe"), "median_ms", 1.0);
    char *text = NULL;
    assert_int_equal(gate(b, n, 1, &text), 0);
    assert_non_null(strstr(text, "normalized by the FMA probe"));
    free(text);
    /* Without a probe in one of them, both fall back to peak_gflops: 2x slower remains. */
    cJSON_DeleteItemFromObject(n, "probe");
    assert_int_equal(gate(b, n, 1, &text), 1);
    assert_non_null(strstr(text, "normalized by machine.peak_gflops"));
    free(text);
    cJSON_Delete(b);
    cJSON_Delete(n);
}

static void bad_documents(void **state)
{
    (void)state;
    cJSON *b = make_doc(1, 0, 0.9, 1, 1000, 100, 1);
    cJSON *empty = cJSON_CreateObject();
    bench_compare_options opt;
    bench_compare_options_default(&opt);
    opt.out = NULL;
    fc_error err = {0};
    assert_int_equal(bench_compare_docs(b, empty, &opt, &err), -1);
    assert_non_null(strstr(err.msg, "NEW"));
    cJSON_DeleteItemFromObject(b, "machine");
    opt.normalize = 1;
    assert_int_equal(bench_compare_docs(b, b, &opt, &err), -1);
    assert_non_null(strstr(err.msg, "peak_gflops"));
    cJSON_Delete(b);
    cJSON_Delete(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rerun_passes),
        cmocka_unit_test(slowdown_fails_with_geomean),
        cmocka_unit_test(small_change_under_threshold_passes),
        cmocka_unit_test(faster_is_not_a_regression),
        cmocka_unit_test(accuracy_agreement_size_checks),
        cmocka_unit_test(normalize_cancels_a_slower_machine),
        cmocka_unit_test(normalize_prefers_the_in_run_probe),
        cmocka_unit_test(bad_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
