/* dwconv_avx2.c — depthwise convolution, 8 output columns per ymm.
 *
 * Each input plane is first copied into a work buffer whose border (the padding, plus slack
 * for the last vector's over-read) is zero, so the inner loop has no bounds checks and no
 * scalar border path: out[oy][ox..ox+7] = Σ_ky,kx w[ky][kx] · P[oy·sh + ky·dh][(ox..ox+7)·sw + kx·dw].
 * The border is zeroed once per call and stays zero: every plane writes the same interior.
 * The buffer holds a band of the plane at a time — the input rows of DW_BAND output rows — on
 * the stack when that fits DW_STACK_FLOATS, so the layer needs no scratch in the session's arena
 * (a whole padded plane a thread, 57–63 KB at 112×112, sat on top of the two tensors that make
 * MobileNetV2's and MnasNet's bound); a larger band falls back to the whole plane in the node's
 * scratch. 3×3 stride 1/2 with AVX-512 goes to fcn_dw3x3_avx512 instead, which needs no copy
 * (masked loads are the padding); then the work buffer only holds its zero row. */
#include <immintrin.h>
#include <string.h>
#include "runtime/kernels/kernels.h"

static int64_t work_cols(const fcn_dw_args *a)
{
    /* vectors rounded up to 16 columns, and up to 2 more columns read at stride 2 */
    int64_t need = ((a->Wo + 15) / 16 * 16 - 1) * a->sw + (a->kw - 1) * a->dw + 4;
    int64_t img = a->pw + a->W;
    return (need > img ? need : img) + 8;
}

static int64_t work_rows(const fcn_dw_args *a)
{
    int64_t need = (a->Ho - 1) * a->sh + (a->kh - 1) * a->dh + 1;
    int64_t img = a->ph + a->H;
    return need > img ? need : img;
}

#define DW_BAND 8                  /* output rows a band */
#define DW_STACK_FLOATS 8192       /* the band buffer on the stack: 32 KB */

/* input rows of a band of `orows` output rows */
static int64_t band_in_rows(const fcn_dw_args *a, int64_t orows)
{
    return (orows - 1) * a->sh + (a->kh - 1) * a->dh + 1;
}

/* output rows a band: DW_BAND (or the plane's) when their input rows fit the stack buffer, else
 * 0 (the whole padded plane in a->work) */
static int64_t band_rows(const fcn_dw_args *a)
{
    int64_t rows = a->Ho < DW_BAND ? a->Ho : DW_BAND;
    return rows >= 1 && band_in_rows(a, rows) * work_cols(a) + 16 <= DW_STACK_FLOATS ? rows : 0;
}

static int dw3_avx512(const fcn_dw_args *a)
{
    return a->kh == 3 && a->kw == 3 && a->dh == 1 && a->dw == 1 && (a->sw == 1 || a->sw == 2) && a->sh == a->sw &&
           fcn_avx512_enabled();
}

size_t fcn_dw_work_floats(const fcn_dw_args *a)
{
    if (a->c16) return fcn_dwc16_work_floats(a);
    /* fcn_dw3x3_avx512 reads a shared zero row up to FCN_DW_ZERO_ROW wide, fcn_dwk_avx512
     * nothing: no scratch */
    if (dw3_avx512(a) && a->W <= FCN_DW_ZERO_ROW) return 0;
    if (!dw3_avx512(a) && fcn_dwk_avx512_applies(a)) return 0;
    if (!dw3_avx512(a) && band_rows(a) > 0) return 0;   /* bands on the stack */
    /* the padded plane, or the zero row of fcn_dw3x3_avx512 */
    size_t plane = (size_t)(work_rows(a) * work_cols(a)) + 16, row = (size_t)a->W + 16;
    return plane > row ? plane : row;
}

static inline __m256 load_strided(const float *p, int64_t sw)
{
    if (sw == 1) return _mm256_loadu_ps(p);
    if (sw == 2) {
        __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
        __m256 ev = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
        return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), _MM_SHUFFLE(3, 1, 2, 0)));
    }
    return _mm256_setr_ps(p[0], p[sw], p[2 * sw], p[3 * sw], p[4 * sw], p[5 * sw], p[6 * sw], p[7 * sw]);
}

/* 3×3, dilation 1, stride 1 or 2: taps unrolled, weights in registers. */
#define DW3_ROW(S, pr, w0, w1, w2, acc)                                   \
    acc = _mm256_fmadd_ps(load_strided(pr, S), w0, acc);                  \
    acc = _mm256_fmadd_ps(load_strided(pr + 1, S), w1, acc);              \
    acc = _mm256_fmadd_ps(load_strided(pr + 2, S), w2, acc)

static void dw3x3_plane(const fcn_dw_args *a, const float *P, int64_t cols, const float *w, float b,
                        float *out, __m256 lo, __m256 hi)
{
    __m256 w0 = _mm256_set1_ps(w[0]), w1 = _mm256_set1_ps(w[1]), w2 = _mm256_set1_ps(w[2]);
    __m256 w3 = _mm256_set1_ps(w[3]), w4 = _mm256_set1_ps(w[4]), w5 = _mm256_set1_ps(w[5]);
    __m256 w6 = _mm256_set1_ps(w[6]), w7 = _mm256_set1_ps(w[7]), w8 = _mm256_set1_ps(w[8]);
    __m256 bias = _mm256_set1_ps(b);
    int relu = a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP, clip = a->act == FCN_ACT_CLIP;
    for (int64_t oy = 0; oy < a->Ho; oy++) {
        float *orow = out + oy * a->Wo;
        const float *r0 = P + oy * a->sh * cols, *r1 = r0 + cols, *r2 = r1 + cols;
        for (int64_t ox = 0; ox < a->Wo; ox += 8) {
            __m256 s = bias, t = _mm256_setzero_ps();
            int64_t x = ox * a->sw;
            if (a->sw == 1) {
                DW3_ROW(1, r0 + x, w0, w1, w2, s);
                DW3_ROW(1, r1 + x, w3, w4, w5, t);
                DW3_ROW(1, r2 + x, w6, w7, w8, s);
            } else {
                DW3_ROW(2, r0 + x, w0, w1, w2, s);
                DW3_ROW(2, r1 + x, w3, w4, w5, t);
                DW3_ROW(2, r2 + x, w6, w7, w8, s);
            }
            s = _mm256_add_ps(s, t);
            if (relu) s = _mm256_max_ps(s, lo);
            if (clip) s = _mm256_min_ps(s, hi);
            int64_t left = a->Wo - ox;
            if (left >= 8) {
                _mm256_storeu_ps(orow + ox, s);
            } else {
                __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
                _mm256_maskstore_ps(orow + ox, m, s);
            }
        }
        if (a->act != FCN_ACT_NONE && !relu) fcn_act_apply(a->act, a->act_alpha, a->act_beta, orow, a->Wo);
    }
}

/* Any k×k, stride, dilation: a->Ho rows of output from the padded rows P (row stride cols). */
static void dwk_plane(const fcn_dw_args *a, const float *P, int64_t cols, const float *w, float b, float *out,
                      __m256 lo, __m256 hi)
{
    int64_t taps = a->kh * a->kw;
    int vec_act = a->act == FCN_ACT_NONE || a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP;
    __m256 wv[49];
    int small = taps <= 49;
    if (small)
        for (int64_t t = 0; t < taps; t++) wv[t] = _mm256_set1_ps(w[t]);
    __m256 bias = _mm256_set1_ps(b);
    const int64_t wide_end = a->Wo / 32 * 32;
    for (int64_t oy = 0; oy < a->Ho; oy++) {
        float *orow = out + oy * a->Wo;
        const float *prow = P + oy * a->sh * cols;
        int64_t ox = 0;
        for (; ox + 32 <= a->Wo; ox += 32) {
            __m256 s0 = bias, s1 = bias, s2 = bias, s3 = bias;
            const float *p0 = prow + ox * a->sw;
            for (int64_t ky = 0; ky < a->kh; ky++) {
                const float *pr = p0 + ky * a->dh * cols;
                for (int64_t kx = 0; kx < a->kw; kx++) {
                    __m256 wk = small ? wv[ky * a->kw + kx] : _mm256_set1_ps(w[ky * a->kw + kx]);
                    const float *q = pr + kx * a->dw;
                    s0 = _mm256_fmadd_ps(load_strided(q, a->sw), wk, s0);
                    s1 = _mm256_fmadd_ps(load_strided(q + 8 * a->sw, a->sw), wk, s1);
                    s2 = _mm256_fmadd_ps(load_strided(q + 16 * a->sw, a->sw), wk, s2);
                    s3 = _mm256_fmadd_ps(load_strided(q + 24 * a->sw, a->sw), wk, s3);
                }
            }
            __m256 r[4] = { s0, s1, s2, s3 };
            for (int j = 0; j < 4; j++) {
                if (a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP) r[j] = _mm256_max_ps(r[j], lo);
                if (a->act == FCN_ACT_CLIP) r[j] = _mm256_min_ps(r[j], hi);
                _mm256_storeu_ps(orow + ox + 8 * j, r[j]);
            }
        }
    }
    /* the columns past the last whole 32: 4 output rows a pass (4 accumulators), rows past
     * the end recomputed from the last one and not stored */
    for (int64_t oy0 = 0; oy0 < a->Ho && wide_end < a->Wo; oy0 += 4) {
        const float *prow[4];
        for (int r = 0; r < 4; r++) {
            int64_t oy = oy0 + r < a->Ho ? oy0 + r : a->Ho - 1;
            prow[r] = P + oy * a->sh * cols;
        }
        for (int64_t ox = wide_end; ox < a->Wo; ox += 8) {
            __m256 s0 = bias, s1 = bias, s2 = bias, s3 = bias;
            for (int64_t ky = 0; ky < a->kh; ky++) {
                int64_t off = ox * a->sw + ky * a->dh * cols;
                for (int64_t kx = 0; kx < a->kw; kx++, off += a->dw) {
                    __m256 wk = small ? wv[ky * a->kw + kx] : _mm256_set1_ps(w[ky * a->kw + kx]);
                    s0 = _mm256_fmadd_ps(load_strided(prow[0] + off, a->sw), wk, s0);
                    s1 = _mm256_fmadd_ps(load_strided(prow[1] + off, a->sw), wk, s1);
                    s2 = _mm256_fmadd_ps(load_strided(prow[2] + off, a->sw), wk, s2);
                    s3 = _mm256_fmadd_ps(load_strided(prow[3] + off, a->sw), wk, s3);
                }
            }
            __m256 r4[4] = { s0, s1, s2, s3 };
            int64_t left = a->Wo - ox;
            __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left < 8 ? left : 8)),
                                           _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            for (int r = 0; r < 4 && oy0 + r < a->Ho; r++) {
                if (a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP) r4[r] = _mm256_max_ps(r4[r], lo);
                if (a->act == FCN_ACT_CLIP) r4[r] = _mm256_min_ps(r4[r], hi);
                _mm256_maskstore_ps(out + (oy0 + r) * a->Wo + ox, m, r4[r]);
            }
        }
    }
    if (!vec_act) fcn_act_apply(a->act, a->act_alpha, a->act_beta, out, a->Ho * a->Wo);
}

void fcn_dwconv_avx2(const fcn_dw_args *a, int64_t c0, int64_t c1)
{
    if (a->c16) {
        fcn_dwc16_avx512(a, c0, c1);
        return;
    }
    if (dw3_avx512(a)) {
        fcn_dw3x3_avx512(a, c0, c1);
        return;
    }
    if (fcn_dwk_avx512_applies(a)) {
        fcn_dwk_avx512(a, c0, c1);
        return;
    }
    int64_t cols = work_cols(a), band = band_rows(a);
    float stack_buf[DW_STACK_FLOATS] __attribute__((aligned(64)));
    float *P = band > 0 ? stack_buf : a->work;
    int64_t rows = band > 0 ? band_in_rows(a, band) : work_rows(a);
    memset(P, 0, sizeof(float) * (size_t)(rows * cols + 16));
    __m256 lo = _mm256_set1_ps(a->act == FCN_ACT_RELU ? 0.0f : a->act_alpha), hi = _mm256_set1_ps(a->act_beta);
    int k3 = a->kh == 3 && a->kw == 3 && a->dh == 1 && a->dw == 1 && (a->sw == 1 || a->sw == 2);
    int64_t copy_rows = a->H < rows - a->ph ? a->H : rows - a->ph;
    for (int64_t c = c0; c < c1; c++) {
        const float *in = a->in + c * fcn_dw_in_cs(a);
        const float *w = a->w + c * a->kh * a->kw;
        float b = a->bias ? a->bias[c] : 0.0f, *out = a->out + c * fcn_dw_out_cs(a);
        if (band == 0) {   /* the whole plane */
            for (int64_t y = 0; y < copy_rows; y++)
                memcpy(P + (y + a->ph) * cols + a->pw, in + y * a->W, sizeof(float) * (size_t)a->W);
            (k3 ? dw3x3_plane : dwk_plane)(a, P, cols, w, b, out, lo, hi);
            continue;
        }
        for (int64_t oy0 = 0; oy0 < a->Ho; oy0 += band) {
            fcn_dw_args ab = *a;
            ab.Ho = a->Ho - oy0 < band ? a->Ho - oy0 : band;
            int64_t iy0 = oy0 * a->sh - a->ph, rin = band_in_rows(a, ab.Ho);
            for (int64_t r = 0; r < rin; r++) {   /* the columns of padding stay zero */
                float *dst = P + r * cols + a->pw;
                int64_t iy = iy0 + r;
                if (iy >= 0 && iy < a->H) memcpy(dst, in + iy * a->W, sizeof(float) * (size_t)a->W);
                else memset(dst, 0, sizeof(float) * (size_t)a->W);
            }
            (k3 ? dw3x3_plane : dwk_plane)(&ab, P, cols, w, b, out + oy0 * a->Wo, lo, hi);
        }
    }
}
