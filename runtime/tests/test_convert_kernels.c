/* test_convert_kernels.c — the load-time kernels against their twins: F16C fp16 expansion vs
 * fc_f16_to_f32 for all 65536 halves, AVX2 int8 dequantization vs the portable loop, the
 * PCLMULQDQ CRC-32 vs zlib's over lengths 0..4096 at every alignment and over tens of MB, and
 * the float Winograd weight transform vs G g Gᵀ computed in double. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "common/crc32_clmul.h"
#include "common/fc_common.h"
#include "runtime/kernels/convert.h"
#include "runtime/kernels/winograd.h"

static uint32_t rng = 2463534242u;
static uint32_t next_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static int simd_ok(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static void test_f16_all_halves(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    /* every half once, at an odd byte offset (the file gives no alignment), plus a tail of 5 */
    size_t n = 65536 + 5;
    uint8_t *raw = malloc(2 * n + 1);
    float *fast = malloc(sizeof(float) * n), *ref = malloc(sizeof(float) * n);
    assert_non_null(raw);
    assert_non_null(fast);
    assert_non_null(ref);
    for (size_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(i & 0xffff);
        memcpy(raw + 1 + 2 * i, &h, 2);
    }
    fcn_f16_expand_avx2(raw + 1, fast, n);
    fcn_f16_expand_ref(raw + 1, ref, n);
    for (size_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(i & 0xffff);
        assert_true(f32_bits(ref[i]) == f32_bits(fc_f16_to_f32(h)));
        if (isnan(ref[i])) {
            /* F16C quiets signalling NaNs: same sign and payload apart from the quiet bit */
            assert_true(isnan(fast[i]));
            assert_int_equal(f32_bits(fast[i]) | 0x00400000u, f32_bits(ref[i]) | 0x00400000u);
        } else if (f32_bits(fast[i]) != f32_bits(ref[i])) {
            fail_msg("half 0x%04x: f16c %a, portable %a", h, (double)fast[i], (double)ref[i]);
        }
    }
    /* exact known values */
    assert_true(fast[0x3c00] == 1.0f);
    assert_true(fast[0x0001] == 5.9604644775390625e-08f);
    assert_true(fast[0x7bff] == 65504.0f);
    assert_true(isinf(fast[0xfc00]) && fast[0xfc00] < 0);
    free(raw);
    free(fast);
    free(ref);
}

static void test_dequant_i8(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    /* per-channel sizes around the 8- and 32-wide steps, and odd channel counts */
    static const size_t pers[] = { 1, 7, 8, 9, 31, 32, 33, 63, 64, 100, 9 * 64, 1153 };
    static const size_t chans[] = { 1, 3, 17 };
    for (size_t a = 0; a < sizeof pers / sizeof pers[0]; a++)
        for (size_t b = 0; b < sizeof chans / sizeof chans[0]; b++) {
            size_t per = pers[a], ch = chans[b], n = per * ch;
            int8_t *q = malloc(n + 1);
            float *scale = malloc(sizeof(float) * ch);
            float *fast = malloc(sizeof(float) * n + 4), *ref = malloc(sizeof(float) * n);
            assert_non_null(q);
            assert_non_null(scale);
            assert_non_null(fast);
            assert_non_null(ref);
            for (size_t i = 0; i < n + 1; i++) q[i] = (int8_t)(next_u32() & 0xff);
            q[0] = -128;
            if (n > 1) q[1] = 127;
            for (size_t c = 0; c < ch; c++) scale[c] = (float)(next_u32() % 10000) * 1e-6f + 1e-7f;
            /* unaligned source and destination */
            fcn_dequant_i8_avx2(q + 1, scale, ch, per, fast + 1);
            fcn_dequant_i8_ref(q + 1, scale, ch, per, ref);
            for (size_t i = 0; i < n; i++) {
                if (f32_bits(fast[1 + i]) != f32_bits(ref[i]))
                    fail_msg("per %zu ch %zu element %zu: %a vs %a", per, ch, i, (double)fast[1 + i], (double)ref[i]);
                assert_true(ref[i] == (float)q[1 + i] * scale[i / per]);
            }
            free(q);
            free(scale);
            free(fast);
            free(ref);
        }
}

static uint32_t zlib_crc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

static void test_crc_vs_zlib(void **state)
{
    (void)state;
    size_t big = 5u << 20;
    uint8_t *buf = malloc(big + 64);
    assert_non_null(buf);
    for (size_t i = 0; i < big + 64; i++) buf[i] = (uint8_t)next_u32();
    int clmul = fc_crc32_clmul_available();
    /* every length 0..4096 at 4 alignments, and every alignment 0..63 for some lengths */
    for (size_t len = 0; len <= 4096; len++)
        for (size_t al = 0; al < 64; al += (len % 97 == 0 ? 1 : 21)) {
            uint32_t want = zlib_crc(buf + al, len);
            assert_int_equal(fc_crc32(buf + al, len), want);
            if (clmul) assert_int_equal(fc_crc32_clmul(0, buf + al, len), want);
        }
    /* MB-sized, odd lengths */
    static const size_t lens[] = { 1u << 20, (1u << 20) + 13, 3333333, 5u << 20 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint32_t want = zlib_crc(buf + i, lens[i]);
        assert_int_equal(fc_crc32(buf + i, lens[i]), want);
        if (clmul) assert_int_equal(fc_crc32_clmul(0, buf + i, lens[i]), want);
    }
    free(buf);
    /* a weight-section-sized buffer, odd length and alignment */
    size_t huge = (37u << 20) + 29;
    buf = malloc(huge + 64 + 4);   /* the 4-byte fill below runs up to 3 bytes past huge + 64 */
    assert_non_null(buf);
    for (size_t i = 0; i < huge + 64; i += 4) {
        uint32_t v = next_u32();
        memcpy(buf + i, &v, 4);
    }
    assert_int_equal(fc_crc32(buf + 3, huge), zlib_crc(buf + 3, huge));
    assert_int_equal(fc_crc32(buf, 16u << 20), zlib_crc(buf, 16u << 20));
    /* continuing a running CRC, as zlib's crc32(crc, ...) does */
    if (clmul) {
        uint32_t c = fc_crc32_clmul(0, buf, 1000);
        c = fc_crc32_clmul(c, buf + 1000, 70001);
        assert_int_equal(c, zlib_crc(buf, 71001));
    }
    /* well-known check value */
    assert_int_equal(fc_crc32("123456789", 9), 0xcbf43926u);
    memset(buf, 0, 4096);
    assert_int_equal(fc_crc32(buf, 4096), zlib_crc(buf, 4096));
    free(buf);
}

/* fn's U_ξ = G g Gᵀ for alpha×alpha positions against the same product in double. */
static void winograd_weights_vs_double(void (*fn)(const float *, int64_t, int64_t, float *), int alpha,
                                       const double (*G)[3], double tol)
{
    static const int64_t shapes[][2] = { { 1, 1 }, { 3, 7 }, { 2, 8 }, { 5, 13 }, { 16, 16 }, { 4, 37 } };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t K = shapes[s][0], C = shapes[s][1];
        float *w = malloc(sizeof(float) * (size_t)(K * C * 9));
        float *u = malloc(sizeof(float) * (size_t)(alpha * alpha * K * C));
        assert_non_null(w);
        assert_non_null(u);
        for (int64_t i = 0; i < K * C * 9; i++) w[i] = (float)((int32_t)next_u32() % 20000) * 1e-4f;
        fn(w, K, C, u);
        for (int64_t k = 0; k < K; k++)
            for (int64_t c = 0; c < C; c++) {
                const float *g = w + (k * C + c) * 9;
                double t[6][3];
                for (int i = 0; i < alpha; i++)
                    for (int j = 0; j < 3; j++)
                        t[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
                for (int i = 0; i < alpha; i++)
                    for (int j = 0; j < alpha; j++) {
                        double want = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
                        double got = u[((int64_t)(i * alpha + j) * K + k) * C + c];
                        /* float math: a few roundings of values up to |g| ≤ 2 */
                        if (fabs(got - want) > tol * (1.0 + fabs(want)))
                            fail_msg("alpha %d K %lld C %lld (k %lld c %lld) position %d: %.9g vs %.9g", alpha,
                                     (long long)K, (long long)C, (long long)k, (long long)c, i * alpha + j, got, want);
                    }
            }
        free(w);
        free(u);
    }
}

static void test_winograd_weights_vs_double(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    static const double G4[6][3] = {
        { 1.0 / 4, 0, 0 }, { -1.0 / 6, -1.0 / 6, -1.0 / 6 }, { -1.0 / 6, 1.0 / 6, -1.0 / 6 },
        { 1.0 / 24, 1.0 / 12, 1.0 / 6 }, { 1.0 / 24, -1.0 / 12, 1.0 / 6 }, { 0, 0, 1 },
    };
    static const double G2[4][3] = { { 1, 0, 0 }, { 0.5, 0.5, 0.5 }, { 0.5, -0.5, 0.5 }, { 0, 0, 1 } };
    winograd_weights_vs_double(fcn_winograd_weights, 6, G4, 2e-6);
    winograd_weights_vs_double(fcn_winograd_weights_f2, 4, G2, 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_all_halves),
        cmocka_unit_test(test_dequant_i8),
        cmocka_unit_test(test_crc_vs_zlib),
        cmocka_unit_test(test_winograd_weights_vs_double),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
