/* flatmask512.h — the tap masks of a small "same" plane taken as flat vectors of 16 outputs
 * (the flat paths of dwconv_avx512.c and gconv_avx512.c): for output vector v and tap
 * (ky, kx), the lanes whose input pixel (y + ky − ph, x + kx − pw) lies inside the H×W image,
 * outputs past the plane's H·W excluded. Each output's row and column come from counters and
 * the tests are vector compares: the per-lane divisions these were made with cost 10–15 µs a
 * call, as much as a 14×14 depthwise layer's FMAs. Include from AVX-512 code only. */
#ifndef FCN_FLATMASK512_H
#define FCN_FLATMASK512_H
#include <immintrin.h>
#include <stdint.h>

enum { FCN_FLAT_MASK_MAX = 256 };   /* outputs a plane may have */

/* m[v·ld + ky·kw + kx] for v < ceil(H·W / 16); H·W <= FCN_FLAT_MASK_MAX */
__attribute__((target("avx512f,avx512vl,avx2,fma"))) static inline void
fcn_flat_tap_masks(int64_t H, int64_t W, int64_t kh, int64_t kw, int64_t ph, int64_t pw, __mmask16 *m, int64_t ld)
{
    const int64_t n = H * W, nv = (n + 15) / 16;
    int32_t ys[FCN_FLAT_MASK_MAX], xs[FCN_FLAT_MASK_MAX];
    for (int64_t o = 0, y = 0, x = 0; o < nv * 16; o++) {
        ys[o] = o < n ? (int32_t)y : INT32_MIN / 2;   /* past the plane: every tap out */
        xs[o] = (int32_t)x;
        if (++x == W) { x = 0; y++; }
    }
    const __m512i vH = _mm512_set1_epi32((int32_t)H), vW = _mm512_set1_epi32((int32_t)W);
    const __m512i zero = _mm512_setzero_si512();
    for (int64_t v = 0; v < nv; v++) {
        __m512i vy = _mm512_loadu_si512(ys + v * 16), vx = _mm512_loadu_si512(xs + v * 16);
        for (int64_t ky = 0; ky < kh; ky++) {
            __m512i iy = _mm512_add_epi32(vy, _mm512_set1_epi32((int32_t)(ky - ph)));
            __mmask16 my = _mm512_cmpge_epi32_mask(iy, zero) & _mm512_cmplt_epi32_mask(iy, vH);
            for (int64_t kx = 0; kx < kw; kx++) {
                __m512i ix = _mm512_add_epi32(vx, _mm512_set1_epi32((int32_t)(kx - pw)));
                m[v * ld + ky * kw + kx] = my & _mm512_cmpge_epi32_mask(ix, zero) & _mm512_cmplt_epi32_mask(ix, vW);
            }
        }
    }
}
#endif
