/* dwconv_avx512.c — the AVX-512 twin of the 3×3 depthwise plane kernel of dwconv_avx2.c.
 *
 * Works on the same zero-bordered plane copy P, so there are no bounds checks:
 *   out[oy][ox..ox+15] = bias + Σ_ky,kx w[ky][kx] · P[oy·s + ky][(ox..ox+15)·s + kx].
 * Stride 1 computes output rows oy and oy+1 together: their 4 input rows are loaded once
 * (12 loads feed 18 FMAs instead of 9 per row). Stride 2 deinterleaves 32 input columns into
 * the even (kx 0) and odd (kx 1) lanes with one permute each; kx 2 is the even lanes of the
 * window two columns on. The row end is a masked store. */
#ifndef __clang__
#pragma GCC target("avx512f,avx512vl,avx2,fma")
#endif
#include <immintrin.h>
#include "runtime/kernels/kernels.h"

#define AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))

AVX512 static inline __m512 finish(__m512 s, int act, __m512 lo, __m512 hi)
{
    if (act == FCN_ACT_RELU || act == FCN_ACT_CLIP) s = _mm512_max_ps(s, lo);
    if (act == FCN_ACT_CLIP) s = _mm512_min_ps(s, hi);
    return s;
}

AVX512 static inline __mmask16 row_mask(int64_t left)
{
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

AVX512 void fcn_dw3x3_plane_avx512(const float *P, int64_t cols, int64_t Ho, int64_t Wo, int64_t stride,
                                   const float *w, float bias, float *out, int act, float lo, float hi)
{
    __m512 wv[9];
    for (int t = 0; t < 9; t++) wv[t] = _mm512_set1_ps(w[t]);
    const __m512 b = _mm512_set1_ps(bias), vlo = _mm512_set1_ps(act == FCN_ACT_RELU ? 0.0f : lo),
                 vhi = _mm512_set1_ps(hi);
    if (stride == 1) {
        int64_t oy = 0;
        for (; oy + 2 <= Ho; oy += 2) {
            const float *r = P + oy * cols;
            float *o0 = out + oy * Wo, *o1 = o0 + Wo;
            for (int64_t ox = 0; ox < Wo; ox += 16) {
                __m512 s0 = b, s1 = b;
                for (int ky = 0; ky < 4; ky++) {
                    const float *p = r + ky * cols + ox;
                    __m512 x0 = _mm512_loadu_ps(p), x1 = _mm512_loadu_ps(p + 1), x2 = _mm512_loadu_ps(p + 2);
                    if (ky < 3) {
                        s0 = _mm512_fmadd_ps(x0, wv[ky * 3], s0);
                        s0 = _mm512_fmadd_ps(x1, wv[ky * 3 + 1], s0);
                        s0 = _mm512_fmadd_ps(x2, wv[ky * 3 + 2], s0);
                    }
                    if (ky > 0) {
                        s1 = _mm512_fmadd_ps(x0, wv[(ky - 1) * 3], s1);
                        s1 = _mm512_fmadd_ps(x1, wv[(ky - 1) * 3 + 1], s1);
                        s1 = _mm512_fmadd_ps(x2, wv[(ky - 1) * 3 + 2], s1);
                    }
                }
                __mmask16 m = row_mask(Wo - ox);
                _mm512_mask_storeu_ps(o0 + ox, m, finish(s0, act, vlo, vhi));
                _mm512_mask_storeu_ps(o1 + ox, m, finish(s1, act, vlo, vhi));
            }
        }
        for (; oy < Ho; oy++) {
            const float *r = P + oy * cols;
            for (int64_t ox = 0; ox < Wo; ox += 16) {
                __m512 s = b;
                for (int ky = 0; ky < 3; ky++) {
                    const float *p = r + ky * cols + ox;
                    s = _mm512_fmadd_ps(_mm512_loadu_ps(p), wv[ky * 3], s);
                    s = _mm512_fmadd_ps(_mm512_loadu_ps(p + 1), wv[ky * 3 + 1], s);
                    s = _mm512_fmadd_ps(_mm512_loadu_ps(p + 2), wv[ky * 3 + 2], s);
                }
                _mm512_mask_storeu_ps(out + oy * Wo + ox, row_mask(Wo - ox), finish(s, act, vlo, vhi));
            }
        }
        return;
    }
    /* stride 2 */
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int64_t oy = 0; oy < Ho; oy++) {
        const float *r = P + oy * 2 * cols;
        for (int64_t ox = 0; ox < Wo; ox += 16) {
            __m512 s = b, t = _mm512_setzero_ps();
            for (int ky = 0; ky < 3; ky++) {
                const float *p = r + ky * cols + ox * 2;
                __m512 l0 = _mm512_loadu_ps(p), l1 = _mm512_loadu_ps(p + 16);
                __m512 l2 = _mm512_loadu_ps(p + 2), l3 = _mm512_loadu_ps(p + 18);
                __m512 e = _mm512_permutex2var_ps(l0, even, l1), o = _mm512_permutex2var_ps(l0, odd, l1);
                __m512 e2 = _mm512_permutex2var_ps(l2, even, l3);
                s = _mm512_fmadd_ps(e, wv[ky * 3], s);
                t = _mm512_fmadd_ps(o, wv[ky * 3 + 1], t);
                s = _mm512_fmadd_ps(e2, wv[ky * 3 + 2], s);
            }
            _mm512_mask_storeu_ps(out + oy * Wo + ox, row_mask(Wo - ox), finish(_mm512_add_ps(s, t), act, vlo, vhi));
        }
    }
}
