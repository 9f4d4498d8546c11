/* dwconv_c16_avx512.c — depthwise k×k (≤ 7, dilation 1, stride 1 or 2) on small maps with
 * AVX-512, 16 channels per zmm.
 *
 * On a 7×7 or 14×14 plane the row-vector kernels (dwconv_avx512.c) leave lanes empty or pay a
 * mask and a cache-line-splitting load for every tap: MnasNet's and EfficientNet's 5×5 layers on
 * 7×7 / 14×14 maps ran at 30–40 GFLOP/s. Here a block of 16 channels is turned around first:
 *   1. transpose in: the block's planes into a zero-bordered copy P[(y, x)][16 channels]
 *      (16×16 in-register transposes, 64 shuffles per 256 floats);
 *   2. every output pixel is 16 lanes of one zmm: acc += P[pixel + tap] · W[tap] with aligned
 *      loads and no masks, 8 pixels a pass (the flat output index, rows crossed freely; each
 *      pixel has its own base pointer), the tap's 16 weights one aligned load shared by the 8;
 *      at stride 1, k 3, 5 or 7, 8 pixels of a row, each input column loaded once (row8);
 *   3. transpose out, 16 pixels of a row at a time, into the NCHW output planes.
 * The work buffer (per thread) holds P and the block's output pixels. Used for maps of at most
 * FCN_DWC16_MAX_OUT output pixels (fcn_dwc16_applies), where the transposes cost less than
 * the masked kernel loses. */
#ifndef __clang__
#pragma GCC target("avx512f,avx512vl,avx2,fma")
#endif
#include <immintrin.h>
#include <string.h>
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/lanes512.h"
#include "runtime/kernels/transpose512.h"

#define AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))

/* stride 1 and these widths go row by row (row8) */
static int by_rows(const fcn_dw_args *a)
{
    return a->sh == 1 && a->sw == 1 && (a->kw == 3 || a->kw == 5 || a->kw == 7);
}

/* padded plane geometry: rows and columns every tap of every output pixel reads (row by row,
 * of every pixel of the groups of 8 that round a row up) */
static int64_t pad_rows(const fcn_dw_args *a)
{
    int64_t need = (a->Ho - 1) * a->sh + a->kh, img = a->ph + a->H;
    return need > img ? need : img;
}
static int64_t pad_cols(const fcn_dw_args *a)
{
    int64_t wo = by_rows(a) ? (a->Wo + 7) / 8 * 8 : a->Wo;
    int64_t need = (wo - 1) * a->sw + a->kw, img = a->pw + a->W;
    return need > img ? need : img;
}

/* Where it wins (interleaved single-layer timings, minima; docs/KERNELS.md): every 7×7 map and
 * 5×5 map up to 1024 outputs (1.2–3.1×) but those the passes rolled down the rows take (5×5
 * stride 1 10 wide or more, stride 2 onto 13 or more columns, "same" 3×3/5×5 planes up to 7 wide
 * and stride 2 onto rows of up to 7, two channels a vector: dwconv_avx512.c, faster still); 3×3
 * only on small maps — 14×14 and under at stride 1
 * (1.0–1.2×: there the transposes weigh against 9 taps), 8×8 and under at stride 2 (2.2×) —
 * and not on 28×28 (0.75–0.85× of the two-rows-a-pass 3×3 kernel). */
static int worth_it(const fcn_dw_args *a)
{
    if (fcn_dw5x5_narrow_ok(a) || fcn_dw5x5_s2roll_ok(a) || fcn_dw5x5_roll_ok(a) || fcn_dw_pair_ok(a)) return 0;
    if (a->kh * a->kw >= 25) return 1;
    /* the flat 3×3 kernel, 4 vectors in flight, beats the transposes on every such plane
     * (µs, c16 → flat: 576 ch at 14×14 48 → 37, 96 at 14×14 8.5 → 6.6, 960 at 7×7 25 → 22) */
    if (fcn_dw3x3_flat_ok(a)) return 0;
    return a->Ho * a->Wo <= (a->sh == 1 ? 196 : 64);
}

int fcn_dwc16_applies(const fcn_dw_args *a)
{
    return fcn_avx512_enabled() && a->kh >= 1 && a->kw >= 1 && worth_it(a) && a->kh <= FCN_DWK_MAX && a->kw <= FCN_DWK_MAX &&
           a->dh == 1 && a->dw == 1 && (a->sw == 1 || a->sw == 2) && a->sh == a->sw && a->ph >= 0 && a->pw >= 0 &&
           a->Ho * a->Wo <= FCN_DWC16_MAX_OUT && a->H * a->W <= 4 * FCN_DWC16_MAX_OUT && a->Ho >= 1 && a->Wo >= 1;
}

size_t fcn_dwc16_work_floats(const fcn_dw_args *a)
{
    /* P, then the block's outputs (16 floats a pixel, rounded up to 16 pixels for the
     * transposes), then the taps' weights */
    size_t planes = a->c16_planes ? (size_t)((a->Ho * a->Wo + 15) / 16 * 16) * 16 : 0;
    return (size_t)(pad_rows(a) * pad_cols(a)) * 16 + (size_t)((a->Ho * a->Wo + 15) / 16 * 16) * 16 +
           (size_t)(a->kh * a->kw) * 16 + planes;
}

/* channels [c, c + n) of the input into P (interior only; the border stays zero) */
AVX512 static void block_in(const fcn_dw_args *a, int64_t c, int n, float *P, int64_t pc)
{
    const int64_t in_cs = fcn_dw_in_cs(a);
    for (int64_t y = 0; y < a->H; y++)
        for (int64_t x = 0; x < a->W; x += 16) {
            __mmask16 m = (__mmask16)fcn_first_lanes16(a->W - x);
            __m512 r[16];
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++)
                r[j] = j < n ? _mm512_maskz_loadu_ps(m, a->in + (c + j) * in_cs + y * a->W + x) : _mm512_setzero_ps();
            fcn_transpose16(r);
            float *dst = P + ((y + a->ph) * pc + a->pw + x) * 16;
            int64_t cols = a->W - x < 16 ? a->W - x : 16;
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                if (i < cols) _mm512_store_ps(dst + i * 16, r[i]);
        }
}

/* the block's output pixels O[q][16] into channels [c, c + n) of the output planes. With
 * c16_planes, transposed into T[16][plane] first and then written one plane after the other:
 * stored straight from the transposes, the 16 planes take a 64-byte piece each in turn, and
 * where the next 1×1 conv reads them on both cores every line must be taken back from the
 * other core's cache — 16 such streams at once scaled 1.2× on two threads (480 channels, 5×5
 * at 14×14, the 1×1 after it: 60 µs on one thread, 50 on two; plane by plane 42). */
AVX512 static void block_out(const fcn_dw_args *a, int64_t c, int n, const float *O, float *T)
{
    const int64_t plane = a->Ho * a->Wo, ocs = fcn_dw_out_cs(a);
    if (a->c16_planes) {
        const int64_t pp = (plane + 15) / 16 * 16;
        for (int64_t q = 0; q < plane; q += 16) {
            __m512 r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) r[i] = _mm512_load_ps(O + (q + i) * 16);
            fcn_transpose16(r);
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++) _mm512_store_ps(T + j * pp + q, r[j]);
        }
        for (int j = 0; j < n; j++) {
            float *dst = a->out + (c + j) * ocs;
            const float *src = T + j * pp;
            for (int64_t q = 0; q < plane; q += 16)
                _mm512_mask_storeu_ps(dst + q, (__mmask16)fcn_first_lanes16(plane - q), _mm512_load_ps(src + q));
        }
        return;
    }
    for (int64_t q = 0; q < plane; q += 16) {
        __m512 r[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) r[i] = _mm512_load_ps(O + (q + i) * 16);   /* rounded up: in bounds */
        fcn_transpose16(r);
        __mmask16 m = (__mmask16)fcn_first_lanes16(plane - q);
#pragma GCC unroll 16
        for (int j = 0; j < 16; j++)
            if (j < n) _mm512_mask_storeu_ps(a->out + (c + j) * ocs + q, m, r[j]);
    }
}

/* the first np of 8 pixels' sums, with ReLU / Clip, to the block's output pixels from O */
__attribute__((always_inline)) AVX512 static inline void store8(const fcn_dw_args *a, const __m512 acc[8], int np,
                                                                float *O, __m512 lo, __m512 hi)
{
#pragma GCC unroll 8
    for (int p = 0; p < 8; p++) {
        if (p >= np) break;
        __m512 y = acc[p];
        if (a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP) y = _mm512_max_ps(y, lo);
        if (a->act == FCN_ACT_CLIP) y = _mm512_min_ps(y, hi);
        _mm512_store_ps(O + p * 16, y);
    }
}

/* up to 8 output pixels from q0: O[q] = bias + Σ_t P[base(q) + off(t)] · W[t], then ReLU/Clip */
AVX512 static inline void pixels8(const fcn_dw_args *a, const float *P, int64_t pc, const float *Wt,
                                  const int64_t *toff, int64_t taps, __m512 bias, int64_t q0, int np, float *O,
                                  __m512 lo, __m512 hi)
{
    const float *base[8];
    int64_t oy = q0 / a->Wo, ox = q0 % a->Wo;
    const float *first = P + (oy * a->sh * pc + ox * a->sw) * 16;
#pragma GCC unroll 8
    for (int p = 0; p < 8; p++) {
        if (p >= np) {   /* past the map: a harmless repeat of pixel q0, not stored */
            base[p] = first;
            continue;
        }
        base[p] = P + (oy * a->sh * pc + ox * a->sw) * 16;
        if (++ox == a->Wo) {
            ox = 0;
            oy++;
        }
    }
    __m512 acc[8];
#pragma GCC unroll 8
    for (int p = 0; p < 8; p++) acc[p] = bias;
    for (int64_t t = 0; t < taps; t++) {
        __m512 w = _mm512_load_ps(Wt + t * 16);
        int64_t o = toff[t];
#pragma GCC unroll 8
        for (int p = 0; p < 8; p++) acc[p] = _mm512_fmadd_ps(_mm512_load_ps(base[p] + o), w, acc[p]);
    }
    store8(a, acc, np, O + q0 * 16, lo, hi);
}

/* 8 output pixels of row oy from column ox0 (np of them real) of a KW-wide kernel at stride 1:
 * in each kernel row the 8 pixels' taps read 7 + KW input columns, and each column is loaded
 * once and multiplied into every pixel that reads it — 17 loads for 40 FMAs at KW 5 where
 * pixels8 makes 50 (MnasNet's and EfficientNet's 5×5 layers, 120 ch at 28×28: 65 → 51 µs,
 * 480 at 14×14: 65 → 55, 1152 at 7×7: 45 → 36). acc[p] takes its taps in the same order
 * (ky, then kx) as in pixels8: the same bits. At stride 2 the same (7·2 + KW columns) gained
 * nothing: the transposes in weigh more there (docs/KERNELS.md). */
__attribute__((always_inline)) AVX512 static inline void row8(const fcn_dw_args *a, const float *P, int64_t pc,
                                                              const float *Wt, __m512 bias, int64_t oy, int64_t ox0,
                                                              int np, float *O, __m512 lo, __m512 hi, const int KW)
{
    __m512 acc[8];
#pragma GCC unroll 8
    for (int p = 0; p < 8; p++) acc[p] = bias;
    for (int64_t ky = 0; ky < a->kh; ky++) {
        const float *row = P + ((oy + ky) * pc + ox0) * 16;
        __m512 w[7];
#pragma GCC unroll 7
        for (int kx = 0; kx < KW; kx++) w[kx] = _mm512_load_ps(Wt + (ky * KW + kx) * 16);
#pragma GCC unroll 14
        for (int col = 0; col < 7 + KW; col++) {
            __m512 v = _mm512_load_ps(row + col * 16);
#pragma GCC unroll 8
            for (int p = 0; p < 8; p++)
                if (col - p >= 0 && col - p < KW) acc[p] = _mm512_fmadd_ps(v, w[col - p], acc[p]);
        }
    }
    store8(a, acc, np, O + (oy * a->Wo + ox0) * 16, lo, hi);
}

/* the block's output pixels, row by row in groups of 8 (by_rows(a)) */
AVX512 static void rows8(const fcn_dw_args *a, const float *P, int64_t pc, const float *Wt, __m512 bias, float *O,
                         __m512 lo, __m512 hi)
{
#define ROWS8(KW)                                                                                   \
    case KW:                                                                                        \
        for (int64_t oy = 0; oy < a->Ho; oy++)                                                      \
            for (int64_t x = 0; x < a->Wo; x += 8)                                                  \
                row8(a, P, pc, Wt, bias, oy, x, a->Wo - x < 8 ? (int)(a->Wo - x) : 8, O, lo, hi, KW); \
        break;
    switch (a->kw) { ROWS8(3) ROWS8(5) ROWS8(7) default: break; }
#undef ROWS8
}

AVX512 void fcn_dwc16_avx512(const fcn_dw_args *a, int64_t c0, int64_t c1)
{
    const int64_t pr = pad_rows(a), pc = pad_cols(a), taps = a->kh * a->kw, plane = a->Ho * a->Wo;
    float *P = a->work, *O = P + pr * pc * 16, *Wt = O + (plane + 15) / 16 * 16 * 16, *T = Wt + taps * 16;
    /* the border, once (blocks write the interior): whole rows above and below the image, the
     * columns left and right of it in between (a 56×56 input's 223 KB block is 86 % interior) */
    const int64_t right = pc - a->pw - a->W;
    for (int64_t y = 0; y < pr; y++) {
        float *row = P + y * pc * 16;
        if (y < a->ph || y >= a->ph + a->H) {
            memset(row, 0, sizeof(float) * (size_t)(pc * 16));
            continue;
        }
        memset(row, 0, sizeof(float) * (size_t)(a->pw * 16));
        if (right > 0) memset(row + (a->pw + a->W) * 16, 0, sizeof(float) * (size_t)(right * 16));
    }
    memset(O + plane * 16, 0, sizeof(float) * (size_t)(((plane + 15) / 16 * 16 - plane) * 16));
    int64_t toff[FCN_DWK_MAX * FCN_DWK_MAX];
    for (int64_t t = 0; t < taps; t++) toff[t] = ((t / a->kw) * pc + t % a->kw) * 16;
    int vec_act = a->act == FCN_ACT_NONE || a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP;
    const __m512 lo = _mm512_set1_ps(a->act == FCN_ACT_RELU ? 0.0f : a->act_alpha), hi = _mm512_set1_ps(a->act_beta);
    for (int64_t c = c0; c < c1; c += 16) {
        int n = c1 - c < 16 ? (int)(c1 - c) : 16;
        /* the taps' weights W[t][16 channels]: the block's kh·kw × 16 weights turned around
         * 16 taps at a time */
        for (int64_t t0 = 0; t0 < taps; t0 += 16) {
            __mmask16 m = (__mmask16)fcn_first_lanes16(taps - t0);
            __m512 r[16];
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++)
                r[j] = j < n ? _mm512_maskz_loadu_ps(m, a->w + (c + j) * taps + t0) : _mm512_setzero_ps();
            fcn_transpose16(r);
            int64_t k = taps - t0 < 16 ? taps - t0 : 16;
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                if (i < k) _mm512_store_ps(Wt + (t0 + i) * 16, r[i]);
        }
        float bb[16];
        for (int j = 0; j < 16; j++) bb[j] = j < n && a->bias ? a->bias[c + j] : 0.0f;
        __m512 bias = _mm512_loadu_ps(bb);
        block_in(a, c, n, P, pc);
        if (by_rows(a))
            rows8(a, P, pc, Wt, bias, O, lo, hi);
        else
            for (int64_t q = 0; q < plane; q += 8)
                pixels8(a, P, pc, Wt, toff, taps, bias, q, plane - q < 8 ? (int)(plane - q) : 8, O, lo, hi);
        block_out(a, c, n, O, T);
        if (!vec_act)
            for (int j = 0; j < n; j++)
                fcn_act_apply(a->act, a->act_alpha, a->act_beta, a->out + (c + j) * fcn_dw_out_cs(a), plane);
    }
}
