/* pointwise_avx512.c — a 1×1 convolution over a small map (≤ FCN_PWB_MAX_N pixels) with the
 * output channels in the lanes and the input pixels broadcast: the shape of ONNX Runtime's
 * NCHWc pointwise kernel, on NCHW data.
 *
 * The GEMM (sgemm_avx512.c) puts 16 pixels of one output channel in a zmm: per k step one load of
 * B (16 pixels of input channel k) and 16 broadcast weights for 16 FMAs, and B packed first —
 * a copy of the whole input amortized over only M/16 panels, a quarter of the time of a 64-row
 * product (SqueezeNet's 512→64 squeeze at 13×13 ran at 171 GFLOP/s, ONNX Runtime's at 205).
 * Here a zmm holds 16 output channels of one pixel: per k step NP (1–4) loads of the packed
 * weights (16 rows each, the GEMM's own A panels) and P broadcasts of input pixels, read where
 * they lie (row k of B, P consecutive floats), feed NP·P FMAs (4 × 6: 10 loads for 24). B is
 * never packed: a tile walks down its P columns of B, one row a k step, which the hardware
 * prefetches well while rows are close (N ≤ FCN_PWB_MAX_N; at 56×56, 12.5 KB apart, it ran
 * at 162 GFLOP/s against the GEMM's 169).
 *
 * Each pass over the columns asked for makes up to 64 output channels into T[pixel][64] (in
 * L2), K in the GEMM's blocks of FCN_KC: a block's sums start from zero and are added
 * to the total so far, as the GEMM's tiles add theirs to C, so every output is the same sum in the
 * same order whatever the column split. T then goes to C through 16×16 transposes, 16 pixels
 * × 16 channels at a time: bias, residual and activation applied on the way, in the GEMM's
 * order (((Σ blocks) + bias) + residual, then the activation). The session uses it on one
 * thread, and on two on AMD, each thread a band of pixels (conv_fast.c, cf.pwb: on two
 * threads of the Xeon, the walk down B's rows read the other core's half of B a line at a
 * time). */
#ifndef __clang__
#pragma GCC target("avx512f,avx512vl,avx2,fma")
#endif
#include <immintrin.h>
#include <stdint.h>
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/lanes512.h"
#include "runtime/kernels/transpose512.h"

#define AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))

enum { PWB_LD = 64 };   /* floats a pixel in T: 4 panels of 16 channels */

/* NP panels × P pixels: pixels j0 .. j0 + P − 1 of B (b points at row k0, column j0) against
 * the A panels of one K block (ap: panel 0 at k = 0, panels pstride apart, 16 floats a k);
 * T (t: pixel j0's slot) gets the block's sums (first) or adds them */
__attribute__((always_inline)) AVX512 static inline void pwb_tile(const int NP, const int P, const float *ap,
                                                                 int64_t pstride, int64_t kc, const float *b,
                                                                 int64_t ldb, float *t, int first)
{
    __m512 acc[4][24];
#pragma GCC unroll 4
    for (int p = 0; p < NP; p++)
#pragma GCC unroll 24
        for (int j = 0; j < P; j++) acc[p][j] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; k++, b += ldb, ap += 16) {
        __m512 w[4];
#pragma GCC unroll 4
        for (int p = 0; p < NP; p++) w[p] = _mm512_load_ps(ap + p * pstride);
#pragma GCC unroll 24
        for (int j = 0; j < P; j++) {
            __m512 x = _mm512_set1_ps(b[j]);
#pragma GCC unroll 4
            for (int p = 0; p < NP; p++) acc[p][j] = _mm512_fmadd_ps(w[p], x, acc[p][j]);
        }
    }
#pragma GCC unroll 24
    for (int j = 0; j < P; j++)
#pragma GCC unroll 4
        for (int p = 0; p < NP; p++) {
            float *s = t + j * PWB_LD + p * 16;
            _mm512_store_ps(s, first ? acc[p][j] : _mm512_add_ps(acc[p][j], _mm512_load_ps(s)));
        }
}

/* columns [n0, n1) of NP panels for one K block: tiles of 24/NP pixels (24 accumulators), then
 * of 6, then single pixels */
#define PWB_TILES(NP, P)                                                                               \
    for (; j + (P) <= n1; j += (P)) pwb_tile(NP, P, ap, pstride, kc, b + j, a->ldb, T + (j - n0) * PWB_LD, first)
#define PWB_COLS(NP)                                                                                   \
    do {                                                                                               \
        int64_t j = n0;                                                                                \
        PWB_TILES(NP, 24 / (NP));                                                                      \
        if ((NP) < 4) PWB_TILES(NP, 6);                                                                \
        PWB_TILES(NP, 1);                                                                              \
    } while (0)

AVX512 void fcn_pwb_avx512(const fcn_pwb_args *a, int64_t n0, int64_t n1, float *T)
{
    if (n1 <= n0) return;
    const int64_t panels = (a->M + 15) / 16, mpad = panels * 16;
    const __m512 lo = _mm512_set1_ps(a->act == FCN_ACT_RELU ? 0.0f : a->act_alpha), hi = _mm512_set1_ps(a->act_beta);
    const int vec_act = a->act == FCN_ACT_NONE || a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP;
    for (int64_t q0 = 0; q0 < panels; q0 += 4) {
        const int np = panels - q0 < 4 ? (int)(panels - q0) : 4;
        for (int64_t k0 = 0; k0 < a->K; k0 += FCN_KC) {
            const int64_t kc = a->K - k0 < FCN_KC ? a->K - k0 : FCN_KC, pstride = 16 * kc;
            const float *ap = a->a_packed + k0 * mpad + q0 * pstride, *b = a->b + k0 * a->ldb;
            const int first = k0 == 0;
            switch (np) {
            case 4: PWB_COLS(4); break;
            case 3: PWB_COLS(3); break;
            case 2: PWB_COLS(2); break;
            default: PWB_COLS(1); break;
            }
        }
        /* T → C, 16 pixels × 16 channels at a time */
        for (int64_t j0 = n0; j0 < n1; j0 += 16) {
            const int64_t n = n1 - j0 < 16 ? n1 - j0 : 16;
            const __mmask16 mask = (__mmask16)fcn_first_lanes16(n);
            for (int p = 0; p < np; p++) {
                const int64_t m0 = (q0 + p) * 16;
                const int rows = a->M - m0 < 16 ? (int)(a->M - m0) : 16;
                __m512 r[16];
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++)
                    r[i] = i < n ? _mm512_load_ps(T + (j0 - n0 + i) * PWB_LD + p * 16) : _mm512_setzero_ps();
                fcn_transpose16(r);
#pragma GCC unroll 16
                for (int c = 0; c < 16; c++) {
                    if (c >= rows) break;
                    const int64_t m = m0 + c;
                    __m512 v = r[c];
                    if (a->bias) v = _mm512_add_ps(v, _mm512_set1_ps(a->bias[m]));
                    if (a->residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, a->residual + m * a->ldc + j0));
                    if (a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP) v = _mm512_max_ps(v, lo);
                    if (a->act == FCN_ACT_CLIP) v = _mm512_min_ps(v, hi);
                    _mm512_mask_storeu_ps(a->c + m * a->ldc + j0, mask, v);
                }
            }
        }
        if (!vec_act)
            for (int64_t m = q0 * 16; m < a->M && m < (q0 + np) * 16; m++)
                fcn_act_apply(a->act, a->act_alpha, a->act_beta, a->c + m * a->ldc + n0, n1 - n0);
    }
}

size_t fcn_pwb_work_floats(int64_t cols)
{
    return (size_t)((cols + 15) / 16 * 16) * PWB_LD;
}
