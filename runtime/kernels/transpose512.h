/* transpose512.h — the 16×16 float transpose in zmm registers shared by the AVX-512 kernels
 * that turn channel blocks around (dwconv_c16_avx512.c, stem_avx512.c). Include only from
 * files compiled for AVX-512 (the function carries the target attribute). */
#ifndef FCN_TRANSPOSE512_H
#define FCN_TRANSPOSE512_H
#include <immintrin.h>

/* r[i] = row i (16 floats) -> r[i] = column i */
__attribute__((always_inline, target("avx512f,avx512vl,avx2,fma"))) static inline void fcn_transpose16(__m512 r[16])
{
    __m512 t[16], u[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 4
    for (int g = 0; g < 16; g += 4) {   /* u[g + e] lane k = rows g..g+3 at column 4k + e */
        u[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[g]), _mm512_castps_pd(t[g + 2])));
        u[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[g]), _mm512_castps_pd(t[g + 2])));
        u[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[g + 1]), _mm512_castps_pd(t[g + 3])));
        u[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[g + 1]), _mm512_castps_pd(t[g + 3])));
    }
#pragma GCC unroll 4
    for (int e = 0; e < 4; e++) {
        __m512 p = _mm512_shuffle_f32x4(u[e], u[4 + e], _MM_SHUFFLE(2, 0, 2, 0));
        __m512 q = _mm512_shuffle_f32x4(u[e], u[4 + e], _MM_SHUFFLE(3, 1, 3, 1));
        __m512 s = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], _MM_SHUFFLE(2, 0, 2, 0));
        __m512 v = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], _MM_SHUFFLE(3, 1, 3, 1));
        r[e] = _mm512_shuffle_f32x4(p, s, _MM_SHUFFLE(2, 0, 2, 0));
        r[8 + e] = _mm512_shuffle_f32x4(p, s, _MM_SHUFFLE(3, 1, 3, 1));
        r[4 + e] = _mm512_shuffle_f32x4(q, v, _MM_SHUFFLE(2, 0, 2, 0));
        r[12 + e] = _mm512_shuffle_f32x4(q, v, _MM_SHUFFLE(3, 1, 3, 1));
    }
}

#endif
