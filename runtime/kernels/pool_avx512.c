/* pool_avx512.c — 3×3 stride-2 MaxPool (ResNet's stem, SqueezeNet, AlexNet) with AVX-512,
 * 16 output columns per zmm. The max over the (up to 3, clipped) window rows is taken first on
 * the 33 input columns the 16 windows cover (two full loads and a one-float masked load per
 * row); the even lanes (kx 0), odd lanes (kx 1) and the even lanes moved down one (kx 2) of
 * that vertical max are then 3 permutes. The AVX2 path needed 9 deinterleaving loads per 8
 * outputs. Windows that leave the row on either side take the scalar rule of pool_avx2.c
 * (padding never wins a max). */
#ifndef __clang__
#pragma GCC target("avx512f,avx512vl,avx2,fma")
#endif
#include <immintrin.h>
#include <math.h>
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/pool.h"

static inline __mmask16 first_lanes(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

__attribute__((target("avx512f,avx512vl,avx2,fma")))
void fcn_maxpool_k3s2_avx512(const fcn_pool_args *a, int64_t p0, int64_t p1)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    int64_t x_lo = (a->pw + 1) / 2;   /* first output whose window starts inside the row */
    for (int64_t pl = p0; pl < p1; pl++) {
        const float *in = a->in + pl * a->H * a->W;
        float *out = a->out + pl * a->Ho * a->Wo;
        for (int64_t oy = 0; oy < a->Ho; oy++) {
            int64_t y0 = oy * 2 - a->ph, y1 = y0 + 3;
            if (y0 < 0) y0 = 0;
            if (y1 > a->H) y1 = a->H;
            float *orow = out + oy * a->Wo;
            int64_t ox = 0;
            while (ox < a->Wo) {
                int64_t n = a->Wo - ox < 16 ? a->Wo - ox : 16;
                int64_t xs = ox * 2 - a->pw;
                /* vector block: every window of the n outputs lies inside the row */
                if (ox >= x_lo && y1 > y0 && xs + 2 * (n - 1) + 2 < a->W) {
                    int64_t avail = a->W - xs;   /* floats of the row from xs on */
                    __mmask16 m0 = first_lanes(avail), m1 = first_lanes(avail - 16), m2 = first_lanes(avail - 32) & 1;
                    __m512 v0 = ninf, v1 = ninf, v2 = ninf;
                    for (int64_t iy = y0; iy < y1; iy++) {
                        const float *p = in + iy * a->W + xs;
                        v0 = _mm512_max_ps(v0, _mm512_mask_loadu_ps(ninf, m0, p));
                        v1 = _mm512_max_ps(v1, _mm512_mask_loadu_ps(ninf, m1, p + 16));
                        v2 = _mm512_max_ps(v2, _mm512_mask_loadu_ps(ninf, m2, p + 32));
                    }
                    __m512 e = _mm512_permutex2var_ps(v0, even, v1), o = _mm512_permutex2var_ps(v0, odd, v1);
                    __m512 e2 = _mm512_castsi512_ps(
                        _mm512_alignr_epi32(_mm512_castps_si512(v2), _mm512_castps_si512(e), 1));
                    _mm512_mask_storeu_ps(orow + ox, first_lanes(n), _mm512_max_ps(_mm512_max_ps(e, o), e2));
                    ox += n;
                    continue;
                }
                int64_t x0 = xs < 0 ? 0 : xs, x1 = xs + 3 > a->W ? a->W : xs + 3;
                float m = -INFINITY;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) m = in[iy * a->W + ix] > m ? in[iy * a->W + ix] : m;
                orow[ox] = m;
                ox++;
            }
        }
    }
}
