/* stem_avx512.c — direct convolution for a few input channels (the first layer of ResNets,
 * MobileNets, EfficientNets: 3 channels, 7×7/2 or 3×3/2) with AVX-512, 16 output channels per
 * zmm.
 *
 * Through the GEMM such a layer is K = C·kh·kw = 147 deep (or 27): short dots, and an im2col
 * pack of the whole map (1.8 M floats for ResNet's 112×112×147) for each run. Here every
 * input value is broadcast once and multiplied into up to 4 blocks of 16 output channels for up
 * to 28 output pixels held in registers (4 blocks × 6 pixels, 2 × 14 or 1 × 24): per tap
 * OCB weight loads and P broadcasts feed OCB·P FMAs (4 + 6 loads for 24 FMAs), no packing.
 * Two blocks take 14 pixels, not 12 (31 of the 32 registers): a 112-pixel row is 8 groups
 * instead of 9⅓, and MobileNet's 3→32 stem went 201 → 181–192 µs.
 *   1. output rows go in bands of STEM_BAND; the input rows a band reads are copied into a
 *      zero-bordered per-thread buffer (a few KB to 60 KB: in cache, and the activation arena
 *      stays within its bound), so the taps need no bounds;
 *   2. each output row is computed into a row buffer R[block][x][16 channels];
 *   3. R goes to the NCHW output 16 pixels × 16 channels at a time through the in-register
 *      transpose (transpose512.h).
 * That is the path of a stem with a fused MaxPool (the pool reads R); a stem alone computes 16
 * pixels of a channel a vector instead and stores its rows as they are (the planar layout,
 * below). Weights are packed once for both: wp[block][c·kh·kw + ky·kw + kx][16]. */
#ifndef __clang__
#pragma GCC target("avx512f,avx512vl,avx2,fma")
#endif
#include <immintrin.h>
#include <string.h>
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/lanes512.h"
#include "runtime/kernels/transpose512.h"

#define AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))

enum { STEM_PIX = 24, STEM_BAND = 8, PL_MAXKB = 8, PL_MAXPV = 6 };   /* most pixels a group (1 block); output rows a band */

int fcn_stem_applies(int64_t C, int64_t K, int64_t group, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh,
                     int64_t dw, int64_t Wo)
{
    return fcn_avx512_enabled() && group == 1 && C >= 1 && C <= FCN_STEM_MAX_C && K % 16 == 0 && K <= 1024 &&
           kh >= 1 && kw >= 1 && kh <= 11 && kw <= 11 && dh == 1 && dw == 1 && sh == sw && sh >= 1 && sh <= 4 &&
           Wo >= 16;
}

/* the padded band: the input rows one band of output rows reads, and the columns every tap
 * of every computed pixel reads (the groups of 6, 14 or 24 pixels round the row up) */
static int64_t pad_rows(const fcn_stem_args *a)
{
    return (STEM_BAND - 1) * a->s + a->kh;
}
static int64_t pad_cols(const fcn_stem_args *a)
{
    static const int64_t group[3] = { 6, 14, STEM_PIX };   /* conv_row's pixels a group, 4 / 2 / 1 blocks */
    int64_t wo = 0;
    for (int g = 0; g < 3; g++) {
        int64_t r = (a->Wo + group[g] - 1) / group[g] * group[g];
        if (r > wo) wo = r;
    }
    int64_t need = (wo - 1) * a->s + a->kw, img = a->pw + a->W;
    return need > img ? need : img;
}

static size_t band_floats(const fcn_stem_args *a)
{
    return ((size_t)(a->C * pad_rows(a) * pad_cols(a)) + 15) & ~(size_t)15;
}

static size_t round16f(int64_t n) { return (size_t)((n + 15) / 16 * 16); }

/* band, then one conv row R[block][x][16] (pkh of them, a ring, with a fused pool), then the
 * pooled row */
static size_t transposed_work_floats(const fcn_stem_args *a)
{
    size_t row = (size_t)a->K * round16f(a->Wo);
    if (a->pkh <= 0) return band_floats(a) + row;
    return band_floats(a) + (size_t)a->pkh * row + (size_t)a->K * round16f(a->PWo);
}

/* ---- the planar layout ----------------------------------------------------------------------
 * Without a fused pool (fcn_stem_rows, unless a->transposed): 16 output pixels of one channel
 * a vector, the layout of the map itself, each row stored as computed. With 16 channels a
 * vector every conv row went out through the transposes, which cost as much as half the FMAs
 * of a 27-tap stem: RegNet's and MobileNetV2's 3→32 3×3/2 at 112×112 took 0.19–0.20 ms at 1
 * thread (114 GFLOP/s), planar 0.162. A tile is 4 channels × 6 vectors of pixels (per tap 6
 * loads and 4 weight broadcasts for 24 FMAs).
 *   Stride s: the band's rows are stored as s phases, phase q of row r holding the padded
 * row's columns s·j + q, so that tap kx of 16 consecutive output pixels is one unaligned load
 * (phase kx mod s, from column x0 + kx div s): no gathers, no permutes in the tap loop.
 *   Band: Bp[c][r][q][Wph], Wph covering the last vector's reach, and a padded-row buffer the
 * phases are split from.
 *   With a fused MaxPool the channel-vector layout stays: its conv rows go to the ring
 * untransposed and only the pooled rows (a quarter) are transposed, while pooling planar rows
 * takes permutes across columns. Planar with the pool (the window's rows 8 channels at a time,
 * pooled in registers) was as fast on SqueezeNet's 3×3/2 (0.355 ms), slower on ResNet's 7×7/2
 * (1.30 against 1.23) and AlexNet's 11×11/4 (1.07 against 0.76). */
static int64_t pl_vectors(const fcn_stem_args *a) { return (a->Wo + 15) / 16; }
static int64_t pl_wph(const fcn_stem_args *a) { return (pl_vectors(a) * 16 + (a->kw - 1) / a->s + 15) / 16 * 16; }
static size_t pl_band_floats(const fcn_stem_args *a)
{
    return (size_t)(a->C * pad_rows(a) * a->s * pl_wph(a));
}
static size_t pl_padrow_floats(const fcn_stem_args *a) { return (size_t)(a->s * pl_wph(a) + 32); }
static size_t planar_work_floats(const fcn_stem_args *a)
{
    return round16f((int64_t)pl_band_floats(a)) + round16f((int64_t)pl_padrow_floats(a));
}

size_t fcn_stem_work_floats(const fcn_stem_args *a)
{
    size_t t = transposed_work_floats(a), p = planar_work_floats(a);
    return t > p ? t : p;
}

int fcn_stem_pool_fits(const fcn_stem_args *a)
{
    if (a->pkh <= 0 || a->pkw <= 0 || a->psh <= 0 || a->psw <= 0 || a->PHo <= 0 || a->PWo <= 0) return 0;
    for (int64_t py = 0; py < a->PHo; py++) {
        int64_t y0 = py * a->psh - a->pph;
        if (y0 + a->pkh <= 0 || y0 >= a->Ho) return 0;
    }
    for (int64_t px = 0; px < a->PWo; px++) {
        int64_t x0 = px * a->psw - a->ppw;
        if (x0 + a->pkw <= 0 || x0 >= a->Wo) return 0;
    }
    return 1;
}

size_t fcn_stem_packed_floats(int64_t K, int64_t C, int64_t kh, int64_t kw)
{
    return (size_t)(K * C * kh * kw);
}

void fcn_stem_pack(const float *w, int64_t K, int64_t C, int64_t kh, int64_t kw, float *wp)
{
    int64_t T = C * kh * kw;
    for (int64_t b = 0; b < K / 16; b++)
        for (int64_t t = 0; t < T; t++)
            for (int64_t j = 0; j < 16; j++) wp[(b * T + t) * 16 + j] = w[(b * 16 + j) * T + t];
}

/* the input rows output rows [oy0, oy0 + STEM_BAND) read, zero-bordered, into B */
static void pad_band(const fcn_stem_args *a, int64_t oy0, float *B)
{
    const int64_t Hb = pad_rows(a), Wp = pad_cols(a);
    for (int64_t c = 0; c < a->C; c++)
        for (int64_t r = 0; r < Hb; r++) {
            int64_t y = oy0 * a->s - a->ph + r;
            float *dst = B + (c * Hb + r) * Wp;
            memset(dst, 0, sizeof(float) * (size_t)Wp);
            if (y >= 0 && y < a->H) memcpy(dst + a->pw, a->in + (c * a->H + y) * a->W, sizeof(float) * (size_t)a->W);
        }
}

/* OCB blocks of 16 channels from block b0, P pixels from x0 (np of them real) of the output
 * row that is row `by` of the band in B */
__attribute__((always_inline)) AVX512 static inline void pixels(const fcn_stem_args *a, const float *B, int64_t Hp,
                                                                int64_t Wp, int64_t by, int64_t x0, int np, int64_t b0,
                                                                const int OCB, const int P, float *R, int64_t rstride,
                                                                __m512 lo, __m512 hi)
{
    const int64_t T = a->C * a->kh * a->kw, s = a->s;
    __m512 acc[4][STEM_PIX];
#pragma GCC unroll 4
    for (int b = 0; b < OCB; b++) {
        __m512 bias = a->bias ? _mm512_loadu_ps(a->bias + (b0 + b) * 16) : _mm512_setzero_ps();
#pragma GCC unroll 24
        for (int p = 0; p < P; p++) acc[b][p] = bias;
    }
    for (int64_t c = 0; c < a->C; c++)
        for (int64_t ky = 0; ky < a->kh; ky++) {
            const float *row = B + (c * Hp + by * s + ky) * Wp + x0 * s;
            const float *wt = a->wp + (b0 * T + (c * a->kh + ky) * a->kw) * 16;
            for (int64_t kx = 0; kx < a->kw; kx++, row++, wt += 16) {
                __m512 w[4];
#pragma GCC unroll 4
                for (int b = 0; b < OCB; b++) w[b] = _mm512_load_ps(wt + (int64_t)b * T * 16);
#pragma GCC unroll 24
                for (int p = 0; p < P; p++) {
                    __m512 x = _mm512_set1_ps(row[p * s]);
#pragma GCC unroll 4
                    for (int b = 0; b < OCB; b++) acc[b][p] = _mm512_fmadd_ps(x, w[b], acc[b][p]);
                }
            }
        }
#pragma GCC unroll 4
    for (int b = 0; b < OCB; b++)
#pragma GCC unroll 24
        for (int p = 0; p < P; p++) {
            if (p >= np) break;
            __m512 y = acc[b][p];
            if (a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP) y = _mm512_max_ps(y, lo);
            if (a->act == FCN_ACT_CLIP) y = _mm512_min_ps(y, hi);
            _mm512_store_ps(R + ((b0 + b) * rstride + x0 + p) * 16, y);
        }
}

/* conv row `by` of the band in B, activated, into R[block][x][16] */
AVX512 static void conv_row(const fcn_stem_args *a, const float *B, int64_t by, float *R, int64_t rstride, __m512 lo,
                            __m512 hi)
{
    const int64_t nb = a->K / 16, Hp = pad_rows(a), Wp = pad_cols(a);   /* the band's geometry, once a row */
    int64_t b = 0;
    /* the row's last 1–5 pixels as a group of that many, not of 6 with the rest discarded
     * (AlexNet's 55 columns: 10 groups of 6 had made 60) */
    const int64_t full = a->Wo / 6 * 6;
    for (; b + 4 <= nb; b += 4) {
        for (int64_t x = 0; x < full; x += 6) pixels(a, B, Hp, Wp, by, x, 6, b, 4, 6, R, rstride, lo, hi);
        switch (a->Wo - full) {
        case 1: pixels(a, B, Hp, Wp, by, full, 1, b, 4, 1, R, rstride, lo, hi); break;
        case 2: pixels(a, B, Hp, Wp, by, full, 2, b, 4, 2, R, rstride, lo, hi); break;
        case 3: pixels(a, B, Hp, Wp, by, full, 3, b, 4, 3, R, rstride, lo, hi); break;
        case 4: pixels(a, B, Hp, Wp, by, full, 4, b, 4, 4, R, rstride, lo, hi); break;
        case 5: pixels(a, B, Hp, Wp, by, full, 5, b, 4, 5, R, rstride, lo, hi); break;
        default: break;
        }
    }
    for (; b + 2 <= nb; b += 2)
        for (int64_t x = 0; x < a->Wo; x += 14)
            pixels(a, B, Hp, Wp, by, x, a->Wo - x < 14 ? (int)(a->Wo - x) : 14, b, 2, 14, R, rstride, lo, hi);
    for (; b < nb; b++)
        for (int64_t x = 0; x < a->Wo; x += 24)
            pixels(a, B, Hp, Wp, by, x, a->Wo - x < 24 ? (int)(a->Wo - x) : 24, b, 1, 24, R, rstride, lo, hi);
}

/* R[block][x][16] (x < rstride, the row's 16-rounding) -> out[block·16 + j][y][x] of a map of
 * `plane` floats a channel and rows of `w`, 16 pixels at a time */
AVX512 static void store_row(const float *R, int64_t nb, int64_t rstride, int64_t w, int64_t plane, float *out,
                             int64_t y)
{
    for (int64_t bb = 0; bb < nb; bb++)
        for (int64_t x = 0; x < w; x += 16) {
            __m512 r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) r[i] = _mm512_load_ps(R + (bb * rstride + x + i) * 16);
            fcn_transpose16(r);
            __mmask16 m = (__mmask16)fcn_first_lanes16(w - x);
            float *o = out + bb * 16 * plane + y * w + x;
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++) _mm512_mask_storeu_ps(o + j * plane, m, r[j]);
        }
}


/* the input rows output rows [oy0, oy0 + STEM_BAND) read, zero-padded, as s phases each */
AVX512 static void pl_pad_band(const fcn_stem_args *a, int64_t oy0, float *Bp, float *row)
{
    const int64_t Hb = pad_rows(a), Wph = pl_wph(a), s = a->s, L = s * Wph;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    int64_t n = a->W < L - a->pw ? a->W : L - a->pw;   /* columns past L no tap reads */
    for (int64_t c = 0; c < a->C; c++)
        for (int64_t r = 0; r < Hb; r++) {
            int64_t y = oy0 * s - a->ph + r;
            float *dst = Bp + (c * Hb + r) * s * Wph;
            if (y < 0 || y >= a->H || n <= 0) {
                memset(dst, 0, sizeof(float) * (size_t)L);
                continue;
            }
            const float *src = a->in + (c * a->H + y) * a->W;
            float *pad = s == 1 ? dst : row;   /* stride 1: the padded row is the band row */
            memset(pad, 0, sizeof(float) * (size_t)L);
            memcpy(pad + a->pw, src, sizeof(float) * (size_t)n);
            if (s == 2) {   /* Wph is a multiple of 16: L of 32 */
                for (int64_t j = 0; j < Wph; j += 16) {
                    __m512 lo = _mm512_loadu_ps(row + 2 * j), hi = _mm512_loadu_ps(row + 2 * j + 16);
                    _mm512_storeu_ps(dst + j, _mm512_permutex2var_ps(lo, even, hi));
                    _mm512_storeu_ps(dst + Wph + j, _mm512_permutex2var_ps(lo, odd, hi));
                }
            } else if (s > 2) {
                for (int64_t q = 0; q < s; q++)
                    for (int64_t j = 0; j < Wph; j++) dst[q * Wph + j] = row[s * j + q];
            }
        }
}

/* KB channels from k0 × PV vectors of pixels from x0 (n of them real) of conv row `by` of the
 * band, activated (NONE, RELU, CLIP, HARD_SWISH), to D + k·dcs + x. HardSwish in registers, not
 * in a pass over the stored rows after: MobileNetV3-small's 3→16 stem 0.164–0.167 → 0.149–0.153 ms
 * in the model (with the input prefetch). */
__attribute__((always_inline)) AVX512 static inline void pl_tile(const fcn_stem_args *a, const float *Bp, int64_t Hb,
                                                                 int64_t Wph, int64_t by, int64_t x0, int64_t n,
                                                                 int64_t k0, const int KB, const int PV, float *D,
                                                                 int64_t dcs)
{
    const int64_t T = a->C * a->kh * a->kw, s = a->s;
    const float *wb = a->wp + (k0 / 16) * T * 16 + k0 % 16;
    __m512 acc[PL_MAXKB][PL_MAXPV];
#pragma GCC unroll 8
    for (int k = 0; k < KB; k++) {
        __m512 b = _mm512_set1_ps(a->bias ? a->bias[k0 + k] : 0.0f);
#pragma GCC unroll 6
        for (int v = 0; v < PV; v++) acc[k][v] = b;
    }
    for (int64_t c = 0; c < a->C; c++)
        for (int64_t ky = 0; ky < a->kh; ky++) {
            const float *rows = Bp + ((c * Hb + by * s + ky) * s) * Wph + x0;
            const float *wt = wb + (c * a->kh + ky) * a->kw * 16;
            int64_t q = 0, off = 0;
            for (int64_t kx = 0; kx < a->kw; kx++, wt += 16) {
                const float *src = rows + q * Wph + off;
                __m512 x[PL_MAXPV];
#pragma GCC unroll 6
                for (int v = 0; v < PV; v++) x[v] = _mm512_loadu_ps(src + v * 16);
#pragma GCC unroll 8
                for (int k = 0; k < KB; k++) {
                    __m512 w = _mm512_set1_ps(wt[k]);
#pragma GCC unroll 6
                    for (int v = 0; v < PV; v++) acc[k][v] = _mm512_fmadd_ps(x[v], w, acc[k][v]);
                }
                if (++q == s) { q = 0; off++; }
            }
        }
    const __m512 lo = _mm512_set1_ps(a->act == FCN_ACT_RELU ? 0.0f : a->act_alpha), hi = _mm512_set1_ps(a->act_beta);
#pragma GCC unroll 8
    for (int k = 0; k < KB; k++)
#pragma GCC unroll 6
        for (int v = 0; v < PV; v++) {
            __m512 y = acc[k][v];
            if (a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP) y = _mm512_max_ps(y, lo);
            if (a->act == FCN_ACT_CLIP) y = _mm512_min_ps(y, hi);
            if (a->act == FCN_ACT_HARD_SWISH) {   /* act_avx512.c's formula: the same bits */
                __m512 g = _mm512_fmadd_ps(y, _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f));
                y = _mm512_mul_ps(y, _mm512_min_ps(_mm512_max_ps(g, _mm512_setzero_ps()), _mm512_set1_ps(1.0f)));
            }
            _mm512_mask_storeu_ps(D + (k0 + k) * dcs + x0 + v * 16, (__mmask16)fcn_first_lanes16(n - v * 16), y);
        }
}

/* conv row `by` of the band, channels k0..k0+7, to D + k·dcs (NONE, RELU, CLIP, HARD_SWISH
 * applied): tiles of 4 channels × 6 vectors (6 loads and 4 broadcasts a tap for 24 FMAs; 8 × 3 took 5 % longer
 * on a 7×7 stem), the row's last 1–3 vectors 8 channels at a time, 4–5 as 4 × 4–5 */
AVX512 static void pl_conv_row(const fcn_stem_args *a, const float *Bp, int64_t by, int64_t k0, float *D,
                               int64_t dcs)
{
    const int64_t Hb = pad_rows(a), Wph = pl_wph(a), nv = pl_vectors(a), rest = nv % 6, v6 = nv - rest;
#define PLT(K0, KB, PV) pl_tile(a, Bp, Hb, Wph, by, v * 16, a->Wo - v * 16, K0, KB, PV, D, dcs)
    int64_t v = 0;
    for (; v < v6; v += 6) {
        PLT(k0, 4, 6);
        PLT(k0 + 4, 4, 6);
    }
    switch (rest) {
    case 5: PLT(k0, 4, 5); PLT(k0 + 4, 4, 5); break;
    case 4: PLT(k0, 4, 4); PLT(k0 + 4, 4, 4); break;
    case 3: PLT(k0, 8, 3); break;
    case 2: PLT(k0, 8, 2); break;
    case 1: PLT(k0, 8, 1); break;
    default: break;
    }
#undef PLT
}

/* A band's rows 8 channels at a time: each channel's STEM_BAND rows are one contiguous run of
 * its plane, and 8 planes are written at a time, where row after row wrote all K planes a row
 * (RegNet's 3→32 stem in the model, its 1.6 MB output no longer in cache from the last run:
 * 0.323–0.347 → 0.304–0.312 ms, three interleaved runs of 200). */
/* The input a band of output rows starting at oy0 reads, channel by channel, as 64-byte lines to
 * prefetch into L2 a few at a time while the band before it is computed (pf_next). The model's
 * input is out of cache at every run (the rest of the model streams ~20 MB past it), and each
 * band's copy (pad_band, pl_pad_band) waited on it: RegNet's 3→32 3×3/2 stem took 0.32 ms in the
 * model against 0.23 with its band copies skipped; with the prefetch 0.26–0.27 (MobileNetV2's
 * 0.31 → 0.27, ResNet-18's 7×7/2 with its pool 2.253 → 2.226–2.230). A thread's first band
 * still waits. */
typedef struct stem_pf { const char *p, *end; int64_t c; int64_t y0, y1; } stem_pf;

static stem_pf pf_band(const fcn_stem_args *a, int64_t oy0)
{
    stem_pf f = { NULL, NULL, -1, oy0 * a->s - a->ph, oy0 * a->s - a->ph + pad_rows(a) };
    if (f.y0 < 0) f.y0 = 0;
    if (f.y1 > a->H) f.y1 = a->H;
    if (oy0 >= a->Ho) f.y1 = f.y0;   /* no band after the last */
    return f;
}

/* lines to prefetch a step for a band's input to be fetched over `steps` steps */
static int pf_lines(const fcn_stem_args *a, int64_t steps)
{
    return (int)((a->C * pad_rows(a) * a->W * 4 / 64 + steps - 1) / steps);
}

static void pf_next(const fcn_stem_args *a, stem_pf *f, int lines)
{
    while (lines > 0) {
        if (f->p >= f->end) {
            if (++f->c >= a->C || f->y0 >= f->y1) return;
            f->p = (const char *)(a->in + (f->c * a->H + f->y0) * a->W);
            f->end = (const char *)(a->in + (f->c * a->H + f->y1) * a->W);
        }
        _mm_prefetch(f->p, _MM_HINT_T1);
        f->p += 64;
        lines--;
    }
}

AVX512 static void pl_rows(const fcn_stem_args *a, int64_t oy0, int64_t oy1, float *work)
{
    const int64_t plane = a->Ho * a->Wo;
    int vec_act = a->act == FCN_ACT_NONE || a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP ||
                  a->act == FCN_ACT_HARD_SWISH;   /* applied in pl_tile */
    float *Bp = work, *row = work + round16f((int64_t)pl_band_floats(a));
    for (int64_t band0 = oy0; band0 < oy1; band0 += STEM_BAND) {
        int64_t band1 = band0 + STEM_BAND < oy1 ? band0 + STEM_BAND : oy1;
        pl_pad_band(a, band0, Bp, row);
        /* the next band's input, spread over this band's steps */
        stem_pf pf = pf_band(a, band1 < oy1 ? band1 : a->Ho);
        int lines = pf_lines(a, a->K / 8 * (band1 - band0));
        for (int64_t k0 = 0; k0 < a->K; k0 += 8)
            for (int64_t oy = band0; oy < band1; oy++) {
                pf_next(a, &pf, lines);
                pl_conv_row(a, Bp, oy - band0, k0, a->out + oy * a->Wo, plane);
            }
        if (!vec_act)
            for (int64_t oy = band0; oy < band1; oy++)
                for (int64_t k = 0; k < a->K; k++)
                    fcn_act_apply(a->act, a->act_alpha, a->act_beta, a->out + k * plane + oy * a->Wo, a->Wo);
    }
}

AVX512 void fcn_stem_rows(const fcn_stem_args *a, int64_t oy0, int64_t oy1, float *work)
{
    if (!a->transposed) {
        pl_rows(a, oy0, oy1, work);
        return;
    }
    const int64_t nb = a->K / 16, rstride = (a->Wo + 15) / 16 * 16, plane = a->Ho * a->Wo;
    const __m512 lo = _mm512_set1_ps(a->act == FCN_ACT_RELU ? 0.0f : a->act_alpha), hi = _mm512_set1_ps(a->act_beta);
    int vec_act = a->act == FCN_ACT_NONE || a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP;
    float *B = work, *R = work + band_floats(a);
    memset(R, 0, sizeof(float) * (size_t)(a->K * rstride));   /* the 16-rounding the transpose reads */
    int64_t band0 = -1;
    stem_pf pf = { 0 };
    const int lines = pf_lines(a, STEM_BAND);
    for (int64_t oy = oy0; oy < oy1; oy++) {
        if (band0 < 0 || oy >= band0 + STEM_BAND) {
            band0 = oy;
            pad_band(a, band0, B);
            pf = pf_band(a, band0 + STEM_BAND < oy1 ? band0 + STEM_BAND : a->Ho);
        }
        pf_next(a, &pf, lines);
        conv_row(a, B, oy - band0, R, rstride, lo, hi);
        store_row(R, nb, rstride, a->Wo, plane, a->out, oy);
        if (!vec_act)
            for (int64_t k = 0; k < a->K; k++) fcn_act_apply(a->act, a->act_alpha, a->act_beta, a->out + k * plane + oy * a->Wo, a->Wo);
    }
}

AVX512 void fcn_stem_pool_rows(const fcn_stem_args *a, int64_t py0, int64_t py1, float *work)
{
    const int64_t nb = a->K / 16, rstride = (a->Wo + 15) / 16 * 16, prstride = (a->PWo + 15) / 16 * 16;
    const int64_t row = a->K * rstride, pplane = a->PHo * a->PWo;
    const __m512 lo = _mm512_set1_ps(a->act == FCN_ACT_RELU ? 0.0f : a->act_alpha), hi = _mm512_set1_ps(a->act_beta);
    float *B = work, *ring = work + band_floats(a), *Pr = ring + (size_t)a->pkh * (size_t)row;
    memset(Pr, 0, sizeof(float) * (size_t)(a->K * prstride));   /* the 16-rounding the transpose reads */
    int64_t held[11];                                            /* conv row in each ring slot; pkh <= 11 */
    for (int64_t i = 0; i < a->pkh; i++) held[i] = -1;
    int64_t band0 = -1;
    stem_pf pf = { 0 };
    const int lines = pf_lines(a, STEM_BAND);
    for (int64_t py = py0; py < py1; py++) {
        int64_t cy0 = py * a->psh - a->pph, cy1 = cy0 + a->pkh;
        if (cy0 < 0) cy0 = 0;
        if (cy1 > a->Ho) cy1 = a->Ho;
        for (int64_t cy = cy0; cy < cy1; cy++) {
            int64_t slot = cy % a->pkh;
            if (held[slot] == cy) continue;
            if (band0 < 0 || cy < band0 || cy >= band0 + STEM_BAND) {
                band0 = cy;
                pad_band(a, band0, B);
                pf = pf_band(a, band0 + STEM_BAND);
            }
            pf_next(a, &pf, lines);
            conv_row(a, B, cy - band0, ring + slot * row, rstride, lo, hi);
            held[slot] = cy;
        }
        /* the window's conv rows, found in the ring once a pooled row (a division per pixel
         * and row made the pooling cost 40 % as much as the conv); 3×3 windows inside the
         * row unrolled */
        const float *rp[11];
        const int64_t nr = cy1 - cy0;
        for (int64_t i = 0; i < nr; i++) rp[i] = ring + ((cy0 + i) % a->pkh) * row;
        for (int64_t bb = 0; bb < nb; bb++) {
            const int64_t boff = bb * rstride * 16;
            for (int64_t px = 0; px < a->PWo; px++) {
                int64_t cx0 = px * a->psw - a->ppw, cx1 = cx0 + a->pkw;
                if (cx0 < 0) cx0 = 0;
                if (cx1 > a->Wo) cx1 = a->Wo;
                __m512 m;
                if (nr == 3 && cx1 - cx0 == 3) {
                    const float *r0 = rp[0] + boff + cx0 * 16, *r1 = rp[1] + boff + cx0 * 16, *r2 = rp[2] + boff + cx0 * 16;
                    __m512 m0 = _mm512_max_ps(_mm512_load_ps(r0), _mm512_load_ps(r0 + 16));
                    __m512 m1 = _mm512_max_ps(_mm512_load_ps(r1), _mm512_load_ps(r1 + 16));
                    __m512 m2 = _mm512_max_ps(_mm512_load_ps(r2), _mm512_load_ps(r2 + 16));
                    m0 = _mm512_max_ps(m0, _mm512_load_ps(r0 + 32));
                    m1 = _mm512_max_ps(m1, _mm512_load_ps(r1 + 32));
                    m2 = _mm512_max_ps(m2, _mm512_load_ps(r2 + 32));
                    m = _mm512_max_ps(_mm512_max_ps(m0, m1), m2);
                } else {
                    m = _mm512_set1_ps(-__builtin_inff());
                    for (int64_t i = 0; i < nr; i++)
                        for (int64_t cx = cx0; cx < cx1; cx++) m = _mm512_max_ps(m, _mm512_load_ps(rp[i] + boff + cx * 16));
                }
                _mm512_store_ps(Pr + (bb * prstride + px) * 16, m);
            }
        }
        store_row(Pr, nb, prstride, a->PWo, pplane, a->out, py);
    }
}
