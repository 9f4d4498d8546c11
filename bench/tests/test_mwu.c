/* test_mwu.c — the Mann–Whitney U test and order statistics against values derived by hand:
 * exact p-values from counting orderings (C(n1+n2, n1) equally likely rank arrangements under
 * the null), normal-approximation p-values from the tie-corrected variance written out below. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "bench/bench.h"

#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

/* Completely separated 3 vs 3: U1 = 0; only 1 of C(6,3) = 20 orderings has U <= 0;
 * two-sided p = 2/20. */
static void separated_3v3_exact(void **state)
{
    (void)state;
    const double x[] = {1, 2, 3}, y[] = {4, 5, 6};
    bench_mwu_result r;
    assert_int_equal(bench_mwu(x, 3, y, 3, 0, &r), 0);
    assert_true(r.exact);
    NEAR(r.u1, 0, 0);
    NEAR(r.u2, 9, 0);
    NEAR(r.p_two_sided, 0.1, 1e-12);
}

/* 4 vs 4 separated: p = 2 / C(8,4) = 2/70 — the smallest n where p can go below 0.05. */
static void separated_4v4_exact(void **state)
{
    (void)state;
    const double x[] = {10, 11, 12, 13}, y[] = {1, 2, 3, 4};
    bench_mwu_result r;
    assert_int_equal(bench_mwu(x, 4, y, 4, 0, &r), 0);
    NEAR(r.u1, 16, 0);
    NEAR(r.p_two_sided, 2.0 / 70.0, 1e-12);
}

/* Interleaved 3 vs 3: x = {1,3,5}, y = {2,4,6}: U1 = 0 + 1 + 2 = 3, U2 = 6.
 * The null distribution of U for 3 vs 3 counts 1,1,2,3,3,3,3,2,1,1 orderings at U = 0..9,
 * so P(U <= 3) = 7/20 and p = 0.7. For x = {1,4,5}, y = {2,3,6}: U1 = 4, P(U <= 4) = 10/20, p = 1. */
static void interleaved_exact(void **state)
{
    (void)state;
    const double x[] = {1, 3, 5}, y[] = {2, 4, 6};
    bench_mwu_result r;
    assert_int_equal(bench_mwu(x, 3, y, 3, 0, &r), 0);
    NEAR(r.u1, 3, 0);
    NEAR(r.p_two_sided, 0.7, 1e-12);
    const double x2[] = {5, 1, 4}, y2[] = {6, 3, 2};   /* order of input does not matter */
    assert_int_equal(bench_mwu(x2, 3, y2, 3, 0, &r), 0);
    NEAR(r.u1, 4, 0);
    NEAR(r.p_two_sided, 1.0, 1e-12);
}

/* 10 vs 10 separated: p = 2 / C(20,10) = 2 / 184756. */
static void separated_10v10_exact(void **state)
{
    (void)state;
    double x[10], y[10];
    for (int i = 0; i < 10; i++) { x[i] = 100 + i; y[i] = i; }
    bench_mwu_result r;
    assert_int_equal(bench_mwu(x, 10, y, 10, 0, &r), 0);
    assert_true(r.exact);
    NEAR(r.p_two_sided, 2.0 / 184756.0, 1e-15);
}

/* Ties force the normal approximation. x = {1,2,2,3}, y = {2,3,4,5}:
 * average ranks 1 | 3 3 3 | 5.5 5.5 | 7 | 8, R_x = 1+3+3+5.5 = 12.5, U1 = 12.5 - 10 = 2.5,
 * U2 = 13.5, mu = 8; tie groups of 3 and 2: sum(t^3 - t) = 24 + 6 = 30;
 * var = 4*4/12 * (9 - 30/(8*7)) = 79/7; z = (13.5 - 8 - 0.5)/sqrt(79/7) = 1.48835;
 * p = 2(1 - Phi(1.48835)) = 0.136660 (Phi from a normal table: 0.93167). */
static void ties_normal(void **state)
{
    (void)state;
    const double x[] = {1, 2, 2, 3}, y[] = {2, 3, 4, 5};
    bench_mwu_result r;
    assert_int_equal(bench_mwu(x, 4, y, 4, 0, &r), 0);
    assert_false(r.exact);
    NEAR(r.u1, 2.5, 1e-12);
    NEAR(r.u2, 13.5, 1e-12);
    NEAR(r.z, 5.0 / sqrt(79.0 / 7.0), 1e-12);
    NEAR(r.z, 1.48835, 1e-5);
    NEAR(r.p_two_sided, 0.13666, 2e-5);
}

/* No ties but normal forced, 3 vs 3 separated: mu = 4.5, var = 9/12 * 7 = 5.25,
 * z = (9 - 4.5 - 0.5)/sqrt(5.25) = 1.745743, p = 2(1 - Phi(1.745743)) = 0.080856. */
static void forced_normal(void **state)
{
    (void)state;
    const double x[] = {1, 2, 3}, y[] = {4, 5, 6};
    bench_mwu_result r;
    assert_int_equal(bench_mwu(x, 3, y, 3, 1, &r), 0);
    assert_false(r.exact);
    NEAR(r.z, 1.745743, 1e-6);
    NEAR(r.p_two_sided, 0.080856, 2e-6);
}

static void all_equal_and_empty(void **state)
{
    (void)state;
    const double x[] = {2, 2, 2}, y[] = {2, 2};
    bench_mwu_result r;
    assert_int_equal(bench_mwu(x, 3, y, 2, 0, &r), 0);
    NEAR(r.p_two_sided, 1.0, 0);
    NEAR(r.u1, 3, 0);   /* every pair a tie: 6 pairs * 0.5 */
    assert_int_equal(bench_mwu(x, 0, y, 2, 0, &r), -1);
}

static void quantiles(void **state)
{
    (void)state;
    const double odd[] = {3, 1, 2}, even[] = {4, 1, 3, 2};
    NEAR(bench_median(odd, 3), 2, 0);
    NEAR(bench_median(even, 4), 2.5, 0);
    NEAR(bench_min(even, 4), 1, 0);
    double ten[10];
    for (int i = 0; i < 10; i++) ten[i] = 10 - i;   /* 10..1 */
    NEAR(bench_quantile(ten, 10, 0.9), 9.1, 1e-12); /* position 8.1 between 9 and 10 */
    NEAR(bench_quantile(ten, 10, 0), 1, 0);
    NEAR(bench_quantile(ten, 10, 1), 10, 0);
    assert_true(isnan(bench_median(ten, 0)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(separated_3v3_exact), cmocka_unit_test(separated_4v4_exact),
        cmocka_unit_test(interleaved_exact),   cmocka_unit_test(separated_10v10_exact),
        cmocka_unit_test(ties_normal),         cmocka_unit_test(forced_normal),
        cmocka_unit_test(all_equal_and_empty), cmocka_unit_test(quantiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
