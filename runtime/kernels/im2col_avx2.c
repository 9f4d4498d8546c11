/* im2col_avx2.c — packs the implicit im2col matrix of a convolution straight from the image
 * into the SGEMM's 16-column B panels. Row k of im2col is (channel, ky, kx), column n is the
 * output pixel (oy, ox), so when a panel's 16 pixels lie in one output row, a panel row is 16
 * input pixels at stride `sw` from one input row: two unaligned loads for stride 1, four loads
 * and a deinterleave for stride 2. Panels that straddle rows or touch padding go element by
 * element. (k walks (channel, ky, kx) incrementally: no division in the inner loops.) */
#include <immintrin.h>
#include <string.h>
#include "runtime/kernels/kernels.h"

static inline __m256 even_lanes(const float *p)
{
    __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
    __m256 ev = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), _MM_SHUFFLE(3, 1, 2, 0)));
}

void fcn_pack_im2col_avx2(const void *vctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *out)
{
    const fcn_im2col *c = vctx;
    int64_t khw = c->kh * c->kw;
    for (int64_t j0 = 0; j0 < nc; j0 += FCN_NR) {
        int64_t w = nc - j0 < FCN_NR ? nc - j0 : FCN_NR;
        int64_t n = n0 + j0, ox = n % c->Wo;
        int one_row = w == FCN_NR && ox + FCN_NR <= c->Wo;
        int64_t y0[FCN_NR], x0[FCN_NR];
        for (int64_t j = 0; j < w; j++) {
            int64_t nn = n + j;
            y0[j] = (nn / c->Wo) * c->sh - c->ph;
            x0[j] = (nn % c->Wo) * c->sw - c->pw;
        }
        float *dst = out + (j0 / FCN_NR) * kc * FCN_NR;
        int64_t ch = k0 / khw, r = k0 % khw, ky = r / c->kw, kx = r % c->kw;
        for (int64_t k = 0; k < kc; k++) {
            const float *plane = c->in + ch * c->H * c->W;
            float *d = dst + k * FCN_NR;
            int done = 0;
            if (one_row) {
                int64_t iy = y0[0] + ky * c->dh, ix = x0[0] + kx * c->dw;
                if (iy < 0 || iy >= c->H) {
                    memset(d, 0, sizeof(float) * FCN_NR);
                    done = 1;
                } else if (ix >= 0) {
                    const float *p = plane + iy * c->W + ix;
                    if (c->sw == 1 && ix + 16 <= c->W) {
                        _mm256_store_ps(d, _mm256_loadu_ps(p));
                        _mm256_store_ps(d + 8, _mm256_loadu_ps(p + 8));
                        done = 1;
                    } else if (c->sw == 2 && ix + 32 <= c->W) {
                        _mm256_store_ps(d, even_lanes(p));
                        _mm256_store_ps(d + 8, even_lanes(p + 16));
                        done = 1;
                    }
                }
            }
            if (!done) {
                int64_t j = 0;
                for (; j < w; j++) {
                    int64_t iy = y0[j] + ky * c->dh, ix = x0[j] + kx * c->dw;
                    d[j] = (iy >= 0 && iy < c->H && ix >= 0 && ix < c->W) ? plane[iy * c->W + ix] : 0.0f;
                }
                for (; j < FCN_NR; j++) d[j] = 0.0f;
            }
            if (++kx == c->kw) {
                kx = 0;
                if (++ky == c->kh) { ky = 0; ch++; }
            }
        }
    }
}
