/* act_avx2.c — the fused and standalone activations, 8 lanes with AVX2 + FMA.
 *
 * ReLU, Clip, LeakyRelu and HardSigmoid/HardSwish are exact. Sigmoid and Swish need e^x: Cephes'
 * expf scheme, x = n·ln2 + r with |r| <= ln2/2 (ln2 split in two parts so r is exact), e^r by a
 * degree-6 polynomial, 2^n built in the exponent bits; within 2 ulp of expf over the clamped
 * range [-87.3, 88]. Sigmoid is 1 / (1 + e^-x) with a true division (no reciprocal estimate), so
 * the results stay within a few ulp of the scalar reference (ops/act.c), far inside the 1e-4
 * tolerance of the kernel tests; e^-x saturates to +inf/0 through the clamp, which gives 0 and 1
 * exactly at the ends. */
#ifndef __clang__
#pragma GCC target("avx2,fma")
#endif
#include <immintrin.h>
#include <math.h>
#include "runtime/kernels/kernels.h"

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline __m256 exp8(__m256 x)
{
    const __m256 hi = _mm256_set1_ps(88.0f), lo = _mm256_set1_ps(-87.3365478515625f);   /* 2^n stays finite, normal */
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    /* n = round(x / ln2); r = x - n ln2 in two steps (C1 + C2 = ln2, C1 exact in few bits) */
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    /* e^r = 1 + r + r²·P(r), Cephes expf coefficients */
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 r2 = _mm256_mul_ps(r, r);
    p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* 2^n: n + 127 in the exponent field (n in [-126, 127] after the clamp) */
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

AVX2 static inline __m256 sigmoid8(__m256 x)
{
    __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

AVX2 static inline __m256 act8(int act, __m256 v, __m256 a, __m256 b)
{
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    switch (act) {
    case FCN_ACT_RELU: return _mm256_max_ps(v, zero);
    case FCN_ACT_CLIP: return _mm256_min_ps(_mm256_max_ps(v, a), b);
    case FCN_ACT_LEAKY_RELU: return _mm256_blendv_ps(_mm256_mul_ps(v, a), v, _mm256_cmp_ps(v, zero, _CMP_GE_OQ));
    case FCN_ACT_SIGMOID: return sigmoid8(v);
    case FCN_ACT_SWISH: return _mm256_mul_ps(v, sigmoid8(v));
    case FCN_ACT_HARD_SWISH: {
        /* x · clamp(x / 6 + 1/2, 0, 1) (ONNX's HardSwish) with one FMA instead of a divide */
        __m256 g = _mm256_fmadd_ps(v, _mm256_set1_ps(1.0f / 6.0f), _mm256_set1_ps(0.5f));
        return _mm256_mul_ps(v, _mm256_min_ps(_mm256_max_ps(g, zero), _mm256_set1_ps(1.0f)));
    }
    case FCN_ACT_HARD_SIGMOID:
        return _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(a, v, b), zero), one);
    default: return v;
    }
}

AVX2 void fcn_act_map_avx2(int act, float alpha, float beta, const float *in, float *out, int64_t n)
{
    if (fcn_avx512_enabled()) {
        fcn_act_map_avx512(act, alpha, beta, in, out, n);
        return;
    }
    const __m256 a = _mm256_set1_ps(alpha), b = _mm256_set1_ps(beta);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, act8(act, _mm256_loadu_ps(in + i), a, b));
    if (i < n) {
        __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i)), idx);
        __m256 v = act8(act, _mm256_maskload_ps(in + i, m), a, b);
        _mm256_maskstore_ps(out + i, m, v);
    }
}

void fcn_act_apply_avx2(int act, float alpha, float beta, float *p, int64_t n)
{
    fcn_act_map_avx2(act, alpha, beta, p, p, n);
}

AVX2 void fcn_affine_act_avx2(const float *in, float *out, int64_t n, float scale, float shift, int act, float alpha,
                              float beta)
{
    if (fcn_avx512_enabled()) {
        fcn_affine_act_avx512(in, out, n, scale, shift, act, alpha, beta);
        return;
    }
    const __m256 s = _mm256_set1_ps(scale), t = _mm256_set1_ps(shift);
    const __m256 a = _mm256_set1_ps(alpha), b = _mm256_set1_ps(beta);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, act8(act, _mm256_fmadd_ps(_mm256_loadu_ps(in + i), s, t), a, b));
    if (i < n) {
        __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i)), idx);
        _mm256_maskstore_ps(out + i, m, act8(act, _mm256_fmadd_ps(_mm256_maskload_ps(in + i, m), s, t), a, b));
    }
}

AVX2 void fcn_pack_b_affine(const void *ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *out)
{
    const fcn_affine_b *s = ctx;
    const int64_t full = nc / FCN_NR * FCN_NR;
    const __m256 lo = _mm256_set1_ps(s->alpha), hi = _mm256_set1_ps(s->beta);
    for (int64_t k = 0; k < kc; k++) {   /* row by row, as fcn_pack_b_strided */
        const float *src = s->b + (k0 + k) * s->rs + n0;
        float *d = out + k * FCN_NR;
        const __m256 a = _mm256_set1_ps(s->ab[2 * (k0 + k)]), b = _mm256_set1_ps(s->ab[2 * (k0 + k) + 1]);
        int64_t j0 = 0;
        for (; j0 < full; j0 += FCN_NR, d += kc * FCN_NR) {
            _mm256_storeu_ps(d, act8(s->act, _mm256_fmadd_ps(_mm256_loadu_ps(src + j0), a, b), lo, hi));
            _mm256_storeu_ps(d + 8, act8(s->act, _mm256_fmadd_ps(_mm256_loadu_ps(src + j0 + 8), a, b), lo, hi));
        }
        if (j0 < nc) {
            float t[FCN_NR] = { 0 };
            int64_t w = nc - j0;
            for (int64_t j = 0; j < w; j++) t[j] = src[j0 + j];
            _mm256_storeu_ps(d, act8(s->act, _mm256_fmadd_ps(_mm256_loadu_ps(t), a, b), lo, hi));
            _mm256_storeu_ps(d + 8, act8(s->act, _mm256_fmadd_ps(_mm256_loadu_ps(t + 8), a, b), lo, hi));
            for (int64_t j = w; j < FCN_NR; j++) d[j] = 0.0f;   /* padding columns stay zero */
        }
    }
}
