/* gconv_avx512.c — direct grouped convolution with AVX-512 (1 < group < C, at most
 * FCN_GCONV_MAX_CG input channels a group, dilation 1, stride 1 or 2): RegNet's and ResNeXt's
 * 3×3 layers.
 *
 * Through the GEMM each group is its own product with 16 or so output rows: the im2col packing
 * of the group's input is as much work as the product, and RegNet-X-400MF's grouped layers ran
 * at 60 GFLOP/s. Here 16 output columns × 16 output channels of a group are accumulated in
 * registers: per tap (c, ky, kx) one vector of 16 input columns (a masked load; stride 2 the
 * even lanes of two loads) feeds 16 FMAs whose other operand is a weight broadcast from memory.
 * Columns outside the image are masked-off lanes, rows outside it skipped: no padding copy.
 *   out[k][oy][ox] = bias[k] + Σ_{c in k's group, ky, kx} w[k][c][ky][kx] · in[c][s·oy − ph + ky][s·ox − pw + kx]
 * Weights are packed once per (group, block of 16 output channels), tap-major:
 * wp[g][kb][c][ky][kx][16], zeros past the group's output channels. */
#ifndef __clang__
#pragma GCC target("avx512f,avx512vl,avx2,fma")
#endif
#include <immintrin.h>
#include <stdint.h>
#include <string.h>
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/lanes512.h"
#include "runtime/kernels/flatmask512.h"
#include "runtime/kernels/transpose512.h"

#define AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))

int fcn_gconv_applies(int64_t C, int64_t K, int64_t group, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh,
                      int64_t dw, int64_t Wo)
{
    return fcn_avx512_enabled() && group > 1 && group < C && C % group == 0 && K % group == 0 &&
           C / group <= FCN_GCONV_MAX_CG && dh == 1 && dw == 1 && sh == sw && (sh == 1 || sh == 2) && kh >= 1 &&
           kw >= 1 && kh <= 7 && kw <= 7 && Wo >= 4;
}

size_t fcn_gconv_packed_floats(int64_t K, int64_t C, int64_t group, int64_t kh, int64_t kw)
{
    int64_t kg = K / group, cg = C / group;
    return (size_t)group * (size_t)((kg + 15) / 16) * (size_t)(cg * kh * kw) * 16;
}

void fcn_gconv_pack(const float *w, int64_t K, int64_t C, int64_t group, int64_t kh, int64_t kw, float *wp)
{
    int64_t kg = K / group, cg = C / group, taps = cg * kh * kw, kblocks = (kg + 15) / 16;
    for (int64_t g = 0; g < group; g++)
        for (int64_t kb = 0; kb < kblocks; kb++)
            for (int64_t t = 0; t < taps; t++)
                for (int64_t k = 0; k < 16; k++) {
                    int64_t ko = kb * 16 + k;
                    wp[((g * kblocks + kb) * taps + t) * 16 + k] = ko < kg ? w[(g * kg + ko) * taps + t] : 0.0f;
                }
}

#define span_mask(x, n) ((__mmask16)fcn_span_mask16((x), (n)))

/* one block of 16 output columns × 16 output channels; S the stride (a constant) */
#define GCONV_TILE(S)                                                                                      \
    for (int64_t c = 0; c < cg; c++)                                                                       \
        for (int64_t ky = 0; ky < a->kh; ky++) {                                                           \
            int64_t iy = oy * (S) - a->ph + ky;                                                            \
            if (iy < 0 || iy >= a->H) continue;                                                            \
            const float *row = in + (c * a->H + iy) * a->W + x0 * (S) - a->pw;                             \
            const float *wt = wb + (c * a->kh + ky) * a->kw * 16;                                          \
            for (int64_t kx = 0; kx < a->kw; kx++, wt += 16) {                                             \
                _mm_prefetch((const char *)(wt + pfd), _MM_HINT_T0);                                       \
                __m512 v = _mm512_maskz_loadu_ps(mk[kx][0], row + kx);                                     \
                if ((S) == 2)                                                                              \
                    v = _mm512_permutex2var_ps(v, even, _mm512_maskz_loadu_ps(mk[kx][1], row + kx + 16));  \
                _Pragma("GCC unroll 16") for (int k = 0; k < 16; k++)                                      \
                    acc[k] = _mm512_fmadd_ps(v, _mm512_set1_ps(wt[k]), acc[k]);                            \
            }                                                                                              \
        }

/* acc[k] (k < kn) to base + k·cs under mask m (n floats a channel), with the activation; with
 * `compress` the lanes of m are packed together (the pair rows) */
__attribute__((always_inline)) AVX512 static inline void store_channels(const fcn_gconv_args *a, const __m512 *acc,
                                                                         int64_t kn, float *base, int64_t cs,
                                                                         __mmask16 m, int64_t n, const int compress)
{
    int vec_act = a->act == FCN_ACT_NONE || a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP;
    const __m512 lo = _mm512_set1_ps(a->act == FCN_ACT_RELU ? 0.0f : a->act_alpha), hi = _mm512_set1_ps(a->act_beta);
    /* compress into a register, then a plain masked store: a compressing store to memory is
     * microcoded on Zen 4 (one per ~100 cycles), the register form is one shuffle on both vendors */
    const __mmask16 packed = (__mmask16)((1u << __builtin_popcount(m)) - 1u);
#pragma GCC unroll 16
    for (int k = 0; k < 16; k++) {
        if (k >= kn) break;
        __m512 y = acc[k];
        if (a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP) y = _mm512_max_ps(y, lo);
        if (a->act == FCN_ACT_CLIP) y = _mm512_min_ps(y, hi);
        if (compress) _mm512_mask_storeu_ps(base + k * cs, packed, _mm512_maskz_compress_ps(m, y));
        else _mm512_mask_storeu_ps(base + k * cs, m, y);
    }
    /* other activations after all stores: a call with accumulators live made the compiler keep
     * them on the stack through the whole tap loop of the flat path (RegNet's 7×7 layers ran at
     * 70 GFLOP/s) */
    if (!vec_act)
        for (int k = 0; k < kn; k++) fcn_act_apply(a->act, a->act_alpha, a->act_beta, base + k * cs, n);
}

/* Small "same" maps (stride 1, rows under 16: RegNet's 7×7 stage) are flattened: the plane is
 * vectors of 16 outputs, each tap one masked load at a fixed offset from the vector's start; row
 * by row they used 7 of 16 lanes. Up to 64 outputs always; up to 256 when that takes fewer
 * vectors than rows (14×14: 12 vectors and 4 pixels against 14 rows of 14 lanes, RegNet's stage
 * 3: 0.093 → 0.085 ms alone, its six layers 0.570 → 0.518 in the model; 13×13 0.086 → 0.075,
 * 10×10 0.026 → 0.018; a 15×15 5×5 layer, 15 vectors or 15 rows, stays on rows: 0.158 → 0.160
 * flat). Session 13 had tried 14×14 flat with the channels outer, each load's mask read from
 * memory: slower then (55 → 64 µs). */
static int gconv_flat(const fcn_gconv_args *a)
{
    return a->s == 1 && a->Ho == a->H && a->Wo == a->W && a->ph == (a->kh - 1) / 2 && a->pw == (a->kw - 1) / 2 &&
           a->W < 16 && (a->H * a->W <= 64 || (a->H * a->W <= FCN_FLAT_MASK_MAX && (a->H * a->W + 15) / 16 < a->H));
}

/* Stride 2 onto rows of at most 8 (RegNet's 14×14 → 7×7 layer): two output rows a vector, row
 * oy in lanes 0..Wo−1 and row oy + 1 from lane 8, each half the even lanes of its own input row
 * (one two-source permute takes both): a vector row by row used 7 of 16 lanes. */
static int gconv_pair(const fcn_gconv_args *a)
{
    return a->s == 2 && a->Wo <= 8 && !gconv_flat(a) && !a->no_pair;
}

static int gconv_lanes(const fcn_gconv_args *a);

int64_t fcn_gconv_rows(const fcn_gconv_args *a)
{
    return gconv_lanes(a) ? a->Ho : gconv_flat(a) ? (a->H * a->W + 15) / 16 : gconv_pair(a) ? (a->Ho + 1) / 2 : a->Ho;
}

AVX512 static void gconv_pair_tasks(const fcn_gconv_args *a, int64_t t0, int64_t t1)
{
    const int64_t cg = a->C / a->group, kg = a->K / a->group, kblocks = (kg + 15) / 16, taps = cg * a->kh * a->kw;
    const int64_t pairs = (a->Ho + 1) / 2, plane = a->Ho * a->Wo;
    /* lanes j < Wo: input column 2j of the window's row A; lanes 8 + j: of row B (second source) */
    int32_t ix[16];
    for (int j = 0; j < 16; j++) ix[j] = j < 8 ? (j < a->Wo ? 2 * j : 0) : (j - 8 < a->Wo ? 16 + 2 * (j - 8) : 0);
    const __m512i idx = _mm512_loadu_si512(ix);
    __mmask16 mk[7];
    for (int64_t kx = 0; kx < a->kw; kx++) mk[kx] = span_mask(kx - a->pw, a->W);
    const __mmask16 half = (__mmask16)fcn_first_lanes16(a->Wo);
    for (int64_t t = t0; t < t1; t++) {
        int64_t gk = t / pairs, u = t % pairs, g = gk / kblocks, kb = gk % kblocks;
        int64_t kn = kg - kb * 16 < 16 ? kg - kb * 16 : 16, k0 = g * kg + kb * 16;
        const float *wb = a->wp + (g * kblocks + kb) * taps * 16;
        const float *in = a->in + g * cg * a->H * a->W;
        int64_t oy = 2 * u, rows = a->Ho - oy < 2 ? 1 : 2;
        __m512 acc[16];
#pragma GCC unroll 16
        for (int k = 0; k < 16; k++) acc[k] = _mm512_set1_ps(a->bias && k < kn ? a->bias[k0 + k] : 0.0f);
        /* taps outer, channels inner: the two load masks stay in registers (see the flat path) */
        for (int64_t ky = 0; ky < a->kh; ky++) {
            int64_t ya = oy * 2 - a->ph + ky, yb = ya + 2;
            __mmask16 va = ya >= 0 && ya < a->H ? 0xFFFF : 0, vb = rows == 2 && yb >= 0 && yb < a->H ? 0xFFFF : 0;
            for (int64_t kx = 0; kx < a->kw; kx++) {
                const __mmask16 ma = mk[kx] & va, mb = mk[kx] & vb;
                const float *ra = in + (va ? ya : 0) * a->W - a->pw + kx, *rb = in + (vb ? yb : 0) * a->W - a->pw + kx;
                const float *wt = wb + (ky * a->kw + kx) * 16;
                for (int64_t c = 0; c < cg; c++, ra += a->H * a->W, rb += a->H * a->W, wt += a->kh * a->kw * 16) {
                    __m512 v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(ma, ra), idx, _mm512_maskz_loadu_ps(mb, rb));
#pragma GCC unroll 16
                    for (int k = 0; k < 16; k++) acc[k] = _mm512_fmadd_ps(v, _mm512_set1_ps(wt[k]), acc[k]);
                }
            }
        }
        /* the two rows are contiguous in the plane: lanes 0..Wo−1 and 8..8+Wo−1 packed together */
        const __mmask16 m = rows == 2 ? (__mmask16)(half | (half << 8)) : half;
        store_channels(a, acc, kn, a->out + k0 * plane + oy * a->Wo, plane, m, rows * a->Wo, 1);
    }
}

/* The plane's last vector when it holds only a few outputs (7×7: 49 = 3 × 16 + 1, the fourth
 * vector one lane in 16 for the same 16 FMAs a tap as a full one): output pixel by pixel, the 16
 * output channels in the lanes instead — per tap the packed weights' 16 channels (one load)
 * times the pixel's input value (a broadcast), skipped where the tap is in the padding. The same
 * products added in the same order as the vector path (taps, then channels; a tap in the
 * padding is 0 · w there): the same values, up to the sign of a zero. */
enum { GCONV_PIXELS_MAX = 4 };

AVX512 static void gconv_flat_pixels(const fcn_gconv_args *a, const float *wb, const float *in, const __mmask16 *mv,
                                     const int64_t *off, int64_t kn, int64_t k0, int64_t p0, int64_t left)
{
    const int64_t cg = a->C / a->group, n = a->H * a->W, kk = a->kh * a->kw;
    const __mmask16 km = (__mmask16)fcn_first_lanes16(kn);
    const __m512 bias = a->bias ? _mm512_maskz_loadu_ps(km, a->bias + k0) : _mm512_setzero_ps();
    const __m512 lo = _mm512_set1_ps(a->act == FCN_ACT_RELU ? 0.0f : a->act_alpha), hi = _mm512_set1_ps(a->act_beta);
    const __m512i ch = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32((int)n));
    for (int64_t j = 0; j < left; j++) {
        __m512 acc = bias;
        for (int64_t tp = 0; tp < kk; tp++) {
            if (!((mv[tp] >> j) & 1)) continue;
            for (int64_t c = 0; c < cg; c++)
                acc = _mm512_fmadd_ps(_mm512_set1_ps(in[c * n + j + off[tp]]), _mm512_loadu_ps(wb + (c * kk + tp) * 16), acc);
        }
        if (a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP) acc = _mm512_max_ps(acc, lo);
        if (a->act == FCN_ACT_CLIP) acc = _mm512_min_ps(acc, hi);
        float *o = a->out + k0 * n + p0 + j;
        _mm512_mask_i32scatter_ps(o, km, ch, acc, 4);
        if (a->act != FCN_ACT_NONE && a->act != FCN_ACT_RELU && a->act != FCN_ACT_CLIP)
            for (int64_t k = 0; k < kn; k++) fcn_act_apply(a->act, a->act_alpha, a->act_beta, o + k * n, 1);
    }
}

AVX512 static void gconv_flat_tasks(const fcn_gconv_args *a, int64_t t0, int64_t t1)
{
    const int64_t cg = a->C / a->group, kg = a->K / a->group, kblocks = (kg + 15) / 16, taps = cg * a->kh * a->kw;
    const int64_t n = a->H * a->W, nv = (n + 15) / 16, kk = a->kh * a->kw;
    __mmask16 m[16][49];
    fcn_flat_tap_masks(a->H, a->W, a->kh, a->kw, a->ph, a->pw, &m[0][0], 49);
    /* each tap's offset from the vector's first output, made once (a division per tap was half
     * the time) */
    int64_t off[49];
    for (int64_t t = 0; t < kk; t++) off[t] = (t / a->kw - a->ph) * a->W + (t % a->kw - a->pw);
    /* taps outer, channels inner: each tap's load mask stays in a register through the channels
     * (channels outer took a mask move from memory per load, which competes with the FMAs for
     * port 5: 400 channels at 7×7 41–43 → 37 µs) */
    for (int64_t t = t0; t < t1; t++) {
        int64_t gk = t / nv, v = t % nv, g = gk / kblocks, kb = gk % kblocks;
        int64_t kn = kg - kb * 16 < 16 ? kg - kb * 16 : 16, k0 = g * kg + kb * 16;
        const float *wb = a->wp + (g * kblocks + kb) * taps * 16;
        const float *in = a->in + g * cg * n + v * 16;
        int64_t left = n - v * 16 < 16 ? n - v * 16 : 16;
        if (left <= GCONV_PIXELS_MAX) {
            gconv_flat_pixels(a, wb, in, m[v], off, kn, k0, v * 16, left);
            continue;
        }
        __m512 acc[16];
#pragma GCC unroll 16
        for (int k = 0; k < 16; k++) acc[k] = _mm512_set1_ps(a->bias && k < kn ? a->bias[k0 + k] : 0.0f);
        /* a group's first vector prefetches the next group's weights, a line a step: every
         * run starts with them out of cache (the rest of the model streams ~20 MB past them),
         * and they are read 9 lines apart, a stride the hardware did not follow (RegNet's
         * eleven 7×7 layers after the first 0.668–0.727 → 0.592–0.606 ms in the model) */
        const float *pf = v == 0 ? wb + taps * 16 : wb;
        for (int64_t tp = 0; tp < kk; tp++) {
            const __mmask16 mt = m[v][tp];
            for (int64_t c = 0; c < cg; c++) {
                const float *p = in + c * n + off[tp];
                __m512 x = _mm512_maskz_loadu_ps(mt, p);
                const float *wt = wb + (c * kk + tp) * 16;
                _mm_prefetch((const char *)(pf + (tp * cg + c) * 16), _MM_HINT_T0);
#pragma GCC unroll 16
                for (int k = 0; k < 16; k++) acc[k] = _mm512_fmadd_ps(x, _mm512_set1_ps(wt[k]), acc[k]);
            }
        }
        store_channels(a, acc, kn, a->out + k0 * n + v * 16, n, (__mmask16)fcn_first_lanes16(left), left, 0);
    }
}

/* 16 output channels a group, or a multiple of 16, at stride 2 (RegNet-X's strided grouped layers,
 * ResNeXt's with 32 a group; before the pair path): a block of 16 of the group's output channels
 * in the lanes, up to 16 output pixels of a row in 16 accumulators; tasks (group, block, row).
 * ResNeXt-50's 1024-channel 14×14 → 7×7 layer (32 groups of 32) 0.415 → 0.381 ms alone against
 * the pair path. Per tap
 * (c, ky, kx) one load of the packed weights' 16-float row and one FMA a pixel with its input
 * value broadcast from the image; a tile whose window crosses the left or right padding reads a
 * zero-padded copy of its window instead (copying whole rows for every tile cost a sixth of the
 * layer: 0.329 against 0.284 ms for RegNet's 112→56 layer). The row path above spends a
 * two-source permute and two masked loads per 16 FMAs at stride 2 (the even input columns) and
 * rounds the row up to whole vectors (56 columns: 64 lanes): on Zen 4 its 112→56 layer ran at
 * 66 % of the FMA peak; the pair path (rows of up to 8) two lanes in 16 idle and a permute a
 * tap (RegNet's 14→7 layer 0.084 → 0.075 ms alone). Each output is the same sum in the same
 * order as on the row path (bias, then c, ky, kx; padding columns multiply zeros): the same bits
 * as the row path, last-bit differences from the pair path's taps-outer order. The accumulators
 * go out through a 16×16 transpose. At stride 1 the row path stays (28×28: 0.152 against the
 * lanes path's 0.167 ms). */
#define GCONV_LANES_BUF 8192   /* floats of an edge tile's padded input window, on the stack */
#define GCONV_PLANE_BUF 16384  /* floats of a group's column-padded input, on the stack */

/* the input columns a tile of 16 output pixels reads */
static int64_t lanes_row_floats(const fcn_gconv_args *a) { return 15 * a->s + a->kw; }

static int gconv_lanes(const fcn_gconv_args *a)
{
    return !a->no_lanes && (a->K / a->group) % 16 == 0 && a->s == 2 && !gconv_flat(a) &&
           (a->C / a->group) * a->kh * lanes_row_floats(a) <= GCONV_LANES_BUF;
}

/* input row (c, ky) of the tile at base + c·cs + ky·ys: the image itself, or an edge tile's
 * zero-padded copy */
__attribute__((always_inline)) AVX512 static inline void lanes_tile(const int NP, const int S, const fcn_gconv_args *a,
                                                                   const float *base, int64_t cs, int64_t ys,
                                                                   const int *row_ok, const float *w, __m512 bias,
                                                                   float *out, int64_t pfd)
{
    const int64_t cg = a->C / a->group;
    __m512 acc[16];
#pragma GCC unroll 16
    for (int p = 0; p < 16; p++) acc[p] = p < NP ? bias : _mm512_setzero_ps();
    for (int64_t c = 0; c < cg; c++)
        for (int64_t ky = 0; ky < a->kh; ky++) {
            if (!row_ok[ky]) continue;
            const float *r = base + c * cs + ky * ys, *wt = w + (c * a->kh + ky) * a->kw * 16;
            for (int64_t kx = 0; kx < a->kw; kx++) {
                /* a compiler barrier: without it GCC carried the overlapping input values
                 * (r[p·S + kx]) across kx in registers and spilled the accumulators */
                __asm__ volatile("" ::: "memory");
                _mm_prefetch((const char *)(wt + kx * 16 + pfd), _MM_HINT_T0);
                const __m512 wv = _mm512_loadu_ps(wt + kx * 16);
#pragma GCC unroll 16
                for (int p = 0; p < NP; p++) acc[p] = _mm512_fmadd_ps(wv, _mm512_set1_ps(r[p * S + kx]), acc[p]);
            }
        }
    fcn_transpose16(acc);
    store_channels(a, acc, 16, out, a->Ho * a->Wo, (__mmask16)fcn_first_lanes16(NP), NP, 0);
}

#define LANES_CASE(N)                                                    \
    case N:                                                              \
        if (a->s == 1) lanes_tile(N, 1, a, base, cs, ys, row_ok, w, bias, out, pfd); \
        else lanes_tile(N, 2, a, base, cs, ys, row_ok, w, bias, out, pfd);     \
        break;

AVX512 static void gconv_lanes_tasks(const fcn_gconv_args *a, int64_t t0, int64_t t1)
{
    const int64_t cg = a->C / a->group, wb = lanes_row_floats(a), taps = cg * a->kh * a->kw, plane = a->H * a->W;
    const int64_t kblocks = a->K / a->group / 16;
    float buf[GCONV_LANES_BUF] __attribute__((aligned(64)));
    /* Maps whose every tile crosses the padding (rows of up to 16 outputs: ResNeXt's 28×28 →
     * 14×14 and 14×14 → 7×7 layers, RegNet's last two) copied their window for every task, a
     * third of the layer's time (masked copies the tile's loads then waited on). When the group's
     * input padded left and right fits GCONV_PLANE_BUF it is copied once per group and thread:
     * pad[(c·H + iy)·pw_cols + x] = in[c][iy][x − pw] (zeros outside), the same values the tile
     * copied, the same bits. */
    const int64_t pw_cols = (a->Wo - 1) * a->s + a->kw;
    const int plane_mode = cg * a->H * pw_cols <= GCONV_PLANE_BUF && a->Wo <= 16;
    float pad[GCONV_PLANE_BUF] __attribute__((aligned(64)));
    int64_t pad_g = -1;
    for (int64_t t = t0; t < t1; t++) {
        int64_t gk = t / a->Ho, g = gk / kblocks, kb = gk % kblocks, oy = t % a->Ho, iy0 = oy * a->s - a->ph;
        int row_ok[7];
        for (int64_t ky = 0; ky < a->kh; ky++) row_ok[ky] = iy0 + ky >= 0 && iy0 + ky < a->H;
        const float *in = a->in + g * cg * plane + iy0 * a->W;   /* row ky of channel c: + c·plane + ky·W */
        const float *w = a->wp + gk * taps * 16;
        const int64_t k0 = g * kblocks * 16 + kb * 16;   /* the block's first output channel */
        const __m512 bias = a->bias ? _mm512_loadu_ps(a->bias + k0) : _mm512_setzero_ps();
        for (int64_t x0 = 0; x0 < a->Wo; x0 += 16) {
            /* a group's first tile prefetches the next group's weights (see the flat path) */
            const int64_t pfd = oy == 0 && x0 == 0 ? taps * 16 : 0;
            int np = a->Wo - x0 < 16 ? (int)(a->Wo - x0) : 16;
            int64_t ix0 = x0 * a->s - a->pw, span = (np - 1) * a->s + a->kw;
            const float *base = in + ix0;
            int64_t cs = plane, ys = a->W;
            if (plane_mode) {
                if (pad_g != g) {
                    const float *src = a->in + g * cg * plane;
                    for (int64_t r = 0; r < cg * a->H; r++, src += a->W)
                        for (int64_t j = 0; j < pw_cols; j += 16)
                            _mm512_mask_storeu_ps(pad + r * pw_cols + j, (__mmask16)fcn_first_lanes16(pw_cols - j),
                                                  _mm512_maskz_loadu_ps(span_mask(j - a->pw, a->W), src + j - a->pw));
                    pad_g = g;
                }
                base = pad + iy0 * pw_cols + x0 * a->s;
                cs = a->H * pw_cols;
                ys = pw_cols;
            } else if (ix0 < 0 || ix0 + span > a->W) {
                /* a tile over the left or right padding reads a zero-padded copy of its window:
                 * buf[(c·kh + ky)·wb + j] = in[c][iy0 + ky][ix0 + j] */
                for (int64_t ky = 0; ky < a->kh; ky++) {
                    if (!row_ok[ky]) continue;
                    for (int64_t c = 0; c < cg; c++) {
                        float *d = buf + (c * a->kh + ky) * wb;
                        const float *src = in + c * plane + ky * a->W;
                        for (int64_t j = 0; j < span; j += 16)
                            _mm512_mask_storeu_ps(d + j, (__mmask16)fcn_first_lanes16(span - j),
                                                  _mm512_maskz_loadu_ps(span_mask(ix0 + j, a->W), src + ix0 + j));
                    }
                }
                base = buf;
                cs = a->kh * wb;
                ys = wb;
            }
            float *out = a->out + (k0 * a->Ho + oy) * a->Wo + x0;
            switch (np) {
                LANES_CASE(1) LANES_CASE(2) LANES_CASE(3) LANES_CASE(4) LANES_CASE(5) LANES_CASE(6)
                LANES_CASE(7) LANES_CASE(8) LANES_CASE(9) LANES_CASE(10) LANES_CASE(11) LANES_CASE(12)
                LANES_CASE(13) LANES_CASE(14) LANES_CASE(15) LANES_CASE(16)
            }
        }
    }
}

AVX512 void fcn_gconv_avx512(const fcn_gconv_args *a, int64_t t0, int64_t t1)
{
    if (gconv_lanes(a)) {
        gconv_lanes_tasks(a, t0, t1);
        return;
    }
    if (gconv_flat(a)) {
        gconv_flat_tasks(a, t0, t1);
        return;
    }
    if (gconv_pair(a)) {
        gconv_pair_tasks(a, t0, t1);
        return;
    }
    const int64_t cg = a->C / a->group, kg = a->K / a->group, kblocks = (kg + 15) / 16, taps = cg * a->kh * a->kw;
    const int64_t s = a->s;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    /* tasks: (group, block of 16 output channels) major, output row minor */
    for (int64_t t = t0; t < t1; t++) {
        int64_t gk = t / a->Ho, oy = t % a->Ho, g = gk / kblocks, kb = gk % kblocks;
        int64_t kn = kg - kb * 16 < 16 ? kg - kb * 16 : 16;
        const float *wb = a->wp + (g * kblocks + kb) * taps * 16;
        const float *in = a->in + g * cg * a->H * a->W;
        int64_t k0 = g * kg + kb * 16;
        for (int64_t x0 = 0; x0 < a->Wo; x0 += 16) {
            /* the first tile of a (group, channel block) prefetches the next one's weights (see
             * the flat path; RegNet's 14×14 layers 0.590–0.592 → 0.580–0.588 ms in sum) */
            const int64_t pfd = oy == 0 && x0 == 0 ? taps * 16 : 0;
            __mmask16 mk[7][2];
            for (int64_t kx = 0; kx < a->kw; kx++) {
                int64_t x = x0 * s - a->pw + kx;
                mk[kx][0] = span_mask(x, a->W);
                mk[kx][1] = span_mask(x + 16, a->W);
            }
            __m512 acc[16];
#pragma GCC unroll 16
            for (int k = 0; k < 16; k++) acc[k] = _mm512_set1_ps(a->bias && k < kn ? a->bias[k0 + k] : 0.0f);
            if (s == 1) {
                GCONV_TILE(1)
            } else {
                GCONV_TILE(2)
            }
            int64_t n = a->Wo - x0 < 16 ? a->Wo - x0 : 16;
            store_channels(a, acc, kn, a->out + (k0 * a->Ho + oy) * a->Wo + x0, a->Ho * a->Wo,
                           (__mmask16)fcn_first_lanes16(n), n, 0);
        }
    }
}
