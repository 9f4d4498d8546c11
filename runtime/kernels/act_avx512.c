/* act_avx512.c — the activations of act_avx2.c, 16 lanes (fcn_act_apply and the elementwise fast
 * paths call these when AVX-512 is enabled). Same e^x scheme; the sigmoid's division is a 14-bit
 * reciprocal estimate refined by one Newton step (relative error ~2^-28, below float rounding):
 * Swish after EfficientNet's convolutions cost as much as the convolutions with a divide. */
#ifndef __clang__
#pragma GCC target("avx512f,avx512vl,avx2,fma")
#endif
#include <immintrin.h>
#include "runtime/kernels/kernels.h"

#define AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))

AVX512 static inline __m512 exp16(__m512 x)
{
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3365478515625f)), _mm512_set1_ps(88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    /* e^r on [−ln2/2, ln2/2] as 1 + r·q(r), q of degree 4 fitted for the least largest relative
     * error (9e-8; 1.7e-7 evaluated in float): 5 FMAs where Cephes' degree-6 form took 8 operations */
    __m512 p = _mm512_set1_ps(8.2903131843e-3f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1897930205e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6667635739e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.9999150634e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(9.9999970198e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);   /* p · 2^n */
}

AVX512 static inline __m512 sigmoid16(__m512 x)
{
    __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), exp16(_mm512_sub_ps(_mm512_setzero_ps(), x)));
    __m512 r = _mm512_rcp14_ps(d);
    /* one Newton step: r (2 - d r) */
    return _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.0f)));
}

AVX512 static inline __m512 act16(int act, __m512 v, __m512 a, __m512 b)
{
    const __m512 zero = _mm512_setzero_ps();
    switch (act) {
    case FCN_ACT_RELU: return _mm512_max_ps(v, zero);
    case FCN_ACT_CLIP: return _mm512_min_ps(_mm512_max_ps(v, a), b);
    case FCN_ACT_LEAKY_RELU:
        return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, a);
    case FCN_ACT_SIGMOID: return sigmoid16(v);
    case FCN_ACT_SWISH: return _mm512_mul_ps(v, sigmoid16(v));
    case FCN_ACT_HARD_SWISH: {
        /* x · clamp(x / 6 + 1/2, 0, 1) (ONNX's HardSwish) with one FMA: the divide by 6 held the
         * pass to 5.6 G elements/s (ReLU: 12.7) */
        __m512 g = _mm512_fmadd_ps(v, _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f));
        return _mm512_mul_ps(v, _mm512_min_ps(_mm512_max_ps(g, zero), _mm512_set1_ps(1.0f)));
    }
    case FCN_ACT_HARD_SIGMOID:
        return _mm512_min_ps(_mm512_max_ps(_mm512_fmadd_ps(a, v, b), zero), _mm512_set1_ps(1.0f));
    default: return v;
    }
}

AVX512 void fcn_act_map_avx512(int act, float alpha, float beta, const float *in, float *out, int64_t n)
{
    const __m512 a = _mm512_set1_ps(alpha), b = _mm512_set1_ps(beta);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, act16(act, _mm512_loadu_ps(in + i), a, b));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(out + i, m, act16(act, _mm512_maskz_loadu_ps(m, in + i), a, b));
    }
}

AVX512 void fcn_affine_act_avx512(const float *in, float *out, int64_t n, float scale, float shift, int act,
                                  float alpha, float beta)
{
    const __m512 s = _mm512_set1_ps(scale), t = _mm512_set1_ps(shift);
    const __m512 a = _mm512_set1_ps(alpha), b = _mm512_set1_ps(beta);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i, act16(act, _mm512_fmadd_ps(_mm512_loadu_ps(in + i), s, t), a, b));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(out + i, m, act16(act, _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, in + i), s, t), a, b));
    }
}
