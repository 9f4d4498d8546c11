/* test_peak.c — the FMA peak probe: both kernels compute the recurrence x <- 0.999 x + 0.001,
 * whose fixed point is 1, so after enough rounds every lane is 1 (sum = lanes); the flop counts
 * per round are 12 chains x 8 lanes x 2 and 8 x 2; the measured peak is positive and finite. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "bench/bench.h"

static void scalar_kernel_converges(void **state)
{
    (void)state;
    double flops = 0;
    float s = bench_peak_kernel_scalar(100000, &flops);
    assert_true(flops == 16.0);
    assert_true(fabsf(s - 8.0f) < 1e-3f);
    /* After one round from x0 = 0.10: 0.999*0.10 + 0.001 = 0.1009, etc.: sum of 8 lanes. */
    float one = bench_peak_kernel_scalar(1, &flops);
    double expect = 0;
    for (int k = 0; k < 8; k++) expect += 0.999 * (0.10 + 0.01 * k) + 0.001;
    assert_true(fabs(one - expect) < 1e-5);
}

static void avx2_kernel_converges(void **state)
{
    (void)state;
    const char *isa = NULL;
    bench_peak_kernel_fn k = bench_peak_kernel_select(&isa);
    assert_non_null(isa);
    double flops = 0;
    float s = k(100000, &flops);
    if (k == bench_peak_kernel_avx2) {
        assert_string_equal(isa, "avx2+fma");
        assert_true(flops == 192.0);
        assert_true(fabsf(s - 96.0f) < 1e-2f);
    } else {
        assert_string_equal(isa, "scalar");
        assert_true(flops == 16.0);
        assert_true(fabsf(s - 8.0f) < 1e-3f);
    }
}

static void peak_is_measured(void **state)
{
    (void)state;
    const char *isa = NULL;
    double g = bench_peak_gflops(0.05, &isa);
    assert_true(g > 0.1 && isfinite(g));
    assert_non_null(isa);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scalar_kernel_converges),
        cmocka_unit_test(avx2_kernel_converges),
        cmocka_unit_test(peak_is_measured),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
