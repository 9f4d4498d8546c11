/* im2col_avx2.c — packs the implicit im2col matrix of a convolution straight from the image
 * into the SGEMM's 16-column B panels. Row k of im2col is (channel, ky, kx), column n is the
 * output pixel (oy, ox), so when a panel's 16 pixels lie in one output row, a panel row is 16
 * input pixels at stride `sw` from one input row: two unaligned loads for stride 1, four loads
 * and a deinterleave for stride 2. Panels that straddle rows (every panel of a map narrower than
 * 16, e.g. ResNet's 14×14 and 7×7 layers) or touch padding use two masked 8-lane gathers whose
 * mask is the bounds check (element by element, packing cost ~10% of ResNet-18). k walks
 * (channel, ky, kx) incrementally: no division in the inner loops. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>
#include "runtime/kernels/kernels.h"

static inline __m256 even_lanes(const float *p)
{
    __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
    __m256 ev = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), _MM_SHUFFLE(3, 1, 2, 0)));
}

static int64_t n_last(int64_t n0, int64_t nc) { return n0 + nc - 1; }

void fcn_pack_im2col_avx2(const void *vctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *out)
{
    const fcn_im2col *c = vctx;
    int64_t khw = c->kh * c->kw;
    /* the gather path computes offsets in int32: only when every coordinate it can form fits */
    const int64_t lim = (int64_t)1 << 20;
    int64_t Ho = c->Wo > 0 ? (n_last(n0, nc) / c->Wo + 1) : 0;
    int gather_ok = c->H * c->W < INT32_MAX / 4 && c->H < lim && c->W < lim && c->ph < lim && c->pw < lim &&
                    c->ph > -lim && c->pw > -lim && c->sh < lim && c->sw < lim && Ho < lim && c->Wo < lim &&
                    c->kh < lim && c->kw < lim && c->dh < lim && c->dw < lim &&
                    Ho * c->sh + c->kh * c->dh < lim && c->Wo * c->sw + c->kw * c->dw < lim;
    const __m256i minus1 = _mm256_set1_epi32(-1), vh = _mm256_set1_epi32((int)c->H), vw = _mm256_set1_epi32((int)c->W);
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
        /* lanes past the panel's width get a row far outside the image: always masked off */
        int32_t ly[FCN_NR], lx[FCN_NR];
        for (int64_t j = 0; j < FCN_NR; j++) {
            ly[j] = j < w ? (int32_t)y0[j] : INT32_MIN / 2;
            lx[j] = j < w ? (int32_t)x0[j] : 0;
        }
        __m256i vy[2] = { _mm256_loadu_si256((const __m256i *)ly), _mm256_loadu_si256((const __m256i *)(ly + 8)) };
        __m256i vx[2] = { _mm256_loadu_si256((const __m256i *)lx), _mm256_loadu_si256((const __m256i *)(lx + 8)) };
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
            if (!done && gather_ok) {
                /* panel straddles output rows or touches the border: masked gathers, 8 lanes at
                 * a time (lane j reads plane[iy_j*W + ix_j] when in bounds, else 0) */
                __m256i dy = _mm256_set1_epi32((int)(ky * c->dh)), dx = _mm256_set1_epi32((int)(kx * c->dw));
                for (int h = 0; h < 2; h++) {
                    __m256i iy = _mm256_add_epi32(vy[h], dy), ix = _mm256_add_epi32(vx[h], dx);
                    __m256i ok = _mm256_and_si256(
                        _mm256_and_si256(_mm256_cmpgt_epi32(iy, minus1), _mm256_cmpgt_epi32(vh, iy)),
                        _mm256_and_si256(_mm256_cmpgt_epi32(ix, minus1), _mm256_cmpgt_epi32(vw, ix)));
                    __m256i off = _mm256_add_epi32(_mm256_mullo_epi32(iy, vw), ix);
                    __m256 g = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), plane, off, _mm256_castsi256_ps(ok), 4);
                    _mm256_store_ps(d + 8 * h, g);
                }
                done = 1;
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

/* fcn_pack_b_strided for rows of unit stride (a 1×1 conv's input planes): row by row as the
 * generic one (each plane read front to back, 16 floats dealt to each panel), but with two
 * 8-lane moves per panel row where the generic build's memcpy made four 16-byte ones; the
 * last, partial panel is a masked load whose padding lanes are zero. */
void fcn_pack_b_rows_avx2(const void *vctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *out)
{
    const fcn_strided_b *s = vctx;
    const int64_t full = nc / FCN_NR * FCN_NR, w = nc - full;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)w), lane);
    const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)w - 8), lane);
    for (int64_t k = 0; k < kc; k++) {
        const float *src = s->b + (k0 + k) * s->rs + n0;
        float *d = out + k * FCN_NR;
        int64_t j0 = 0;
        for (; j0 < full; j0 += FCN_NR, d += kc * FCN_NR) {
            _mm256_storeu_ps(d, _mm256_loadu_ps(src + j0));
            _mm256_storeu_ps(d + 8, _mm256_loadu_ps(src + j0 + 8));
        }
        if (w) {
            _mm256_storeu_ps(d, _mm256_maskload_ps(src + j0, m0));
            _mm256_storeu_ps(d + 8, _mm256_maskload_ps(src + j0 + 8, m1));
        }
    }
}

/* Rows [oy0, oy1) of a 1×1 stride-2 convolution's input, every second pixel of every second row:
 * dst[c][(oy − oy0)·Wo + ox] = img[c·in_cs + 2·oy·W + 2·ox] for the C channels (dst a dense band
 * the GEMM reads in place). 32 columns a step: two masked loads and the even lanes by one permute. */
__attribute__((target("avx512f,avx512vl")))
void fcn_subsample2_avx512(const float *img, int64_t C, int64_t in_cs, int64_t W, int64_t oy0, int64_t oy1, int64_t Wo,
                           float *dst)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int64_t c = 0; c < C; c++)
        for (int64_t oy = oy0; oy < oy1; oy++) {
            const float *src = img + c * in_cs + 2 * oy * W;
            float *d = dst + (c * (oy1 - oy0) + (oy - oy0)) * Wo;
            for (int64_t x = 0; x < Wo; x += 16) {
                int64_t left = W - 2 * x;   /* input columns from 2·x on */
                __mmask16 m0 = (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1u);
                __mmask16 m1 = (__mmask16)(left >= 32 ? 0xFFFF : left <= 16 ? 0 : (1u << (left - 16)) - 1u);
                __m512 v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(m0, src + 2 * x), even,
                                                  _mm512_maskz_loadu_ps(m1, src + 2 * x + 16));
                int64_t n = Wo - x < 16 ? Wo - x : 16;
                _mm512_mask_storeu_ps(d + x, (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1u), v);
            }
        }
}

/* fcn_pack_im2col_avx2 for a 1×1 stride-2 convolution without padding (ResNets' downsamples onto
 * 28×28 and smaller maps), row by row as fcn_pack_b_rows_avx2: each channel's rows are read front
 * to back, 16 outputs a permute of two masked loads into a row of the block in L1, then dealt out
 * 16 floats a panel. Panel by panel instead read 16 pixels from every channel a plane apart, and
 * every panel that crossed an output row by two gathers (a 28×28 map: 3 panels in 7). */
__attribute__((target("avx512f,avx512vl")))
void fcn_pack_1x1s2_avx512(const void *vctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *out)
{
    const fcn_im2col *c = vctx;
    if (nc > FCN_NC || c->Wo <= 0) {
        fcn_pack_im2col_avx2(vctx, k0, kc, n0, nc, out);
        return;
    }
    /* the block's runs along output rows: input offset, first column, length */
    int64_t off[FCN_NC], col[FCN_NC], len[FCN_NC];
    int runs = 0;
    for (int64_t j = 0, n = n0; j < nc; runs++) {
        int64_t oy = n / c->Wo, ox = n % c->Wo, l = c->Wo - ox < nc - j ? c->Wo - ox : nc - j;
        off[runs] = 2 * oy * c->W + 2 * ox;
        col[runs] = j;
        len[runs] = l;
        j += l;
        n += l;
    }
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const int64_t full = nc / FCN_NR * FCN_NR, w = nc - full;
    const __mmask16 tail = (__mmask16)((1u << w) - 1u);
    float row[FCN_NC + FCN_NR] __attribute__((aligned(64)));
    for (int64_t k = 0; k < kc; k++) {
        const float *plane = c->in + (k0 + k) * c->H * c->W;
        for (int r = 0; r < runs; r++) {
            const float *src = plane + off[r];
            int64_t avail = c->W - off[r] % c->W;   /* input columns left on the row */
            for (int64_t x = 0; x < len[r]; x += 16) {
                int64_t left = avail - 2 * x;
                __mmask16 m0 = (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1u);
                __mmask16 m1 = (__mmask16)(left >= 32 ? 0xFFFF : left <= 16 ? 0 : (1u << (left - 16)) - 1u);
                __m512 v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(m0, src + 2 * x), even,
                                                  _mm512_maskz_loadu_ps(m1, src + 2 * x + 16));
                int64_t cnt = len[r] - x < 16 ? len[r] - x : 16;
                _mm512_mask_storeu_ps(row + col[r] + x, (__mmask16)(cnt >= 16 ? 0xFFFF : (1u << cnt) - 1u), v);
            }
        }
        float *d = out + k * FCN_NR;
        int64_t j0 = 0;
        for (; j0 < full; j0 += FCN_NR, d += kc * FCN_NR) _mm512_store_ps(d, _mm512_load_ps(row + j0));
        if (w) _mm512_store_ps(d, _mm512_maskz_load_ps(tail, row + j0));
    }
}
