/* dwconv_avx512.c — 3×3 depthwise convolution (dilation 1, stride 1 or 2, any padding) with
 * AVX-512, 16 output columns per zmm, read straight from the unpadded input.
 *
 * No plane copy: the padding is the zero lanes of masked loads. For output columns ox..ox+15
 * and tap kx the loaded input columns are ix = s·(ox..ox+15) − pw + kx; a load's mask keeps the
 * lanes with 0 ≤ ix < W, so the masked-off lanes read as 0 and never touch memory (AVX-512
 * masked loads do not fault on them). Only the first and last vector of a row have a mask that
 * is not all ones. An input row above or below the image is a zero row (the work buffer).
 *   out[oy][ox..ox+15] = bias + Σ_ky,kx w[ky][kx] · in[s·oy − ph + ky][s·(ox..ox+15) − pw + kx]
 * Each pass computes two output rows that share input rows: stride 1 loads 4 input rows
 * (12 loads feed 18 FMAs), stride 2 loads 5 (the middle one is ky 2 of the first output row and
 * ky 0 of the second). Stride 2 deinterleaves 32 input columns into the even (kx 0) and odd
 * (kx 1) lanes with one permute each; kx 2 is the odd lanes of the window one column on.
 * ReLU / ReLU6 are applied before the store; other activations run over the finished plane. */
#ifndef __clang__
#pragma GCC target("avx512f,avx512vl,avx2,fma")
#endif
#include <immintrin.h>
#include <string.h>
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/lanes512.h"
#include "runtime/kernels/flatmask512.h"

#define AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))

AVX512 static inline __m512 finish(__m512 s, int act, __m512 lo, __m512 hi)
{
    if (act == FCN_ACT_RELU || act == FCN_ACT_CLIP) s = _mm512_max_ps(s, lo);
    if (act == FCN_ACT_CLIP) s = _mm512_min_ps(s, hi);
    return s;
}

#define span_mask(x, n) ((__mmask16)fcn_span_mask16((x), (n)))
/* a zmm moved up by i lanes, the top i lanes of l coming in below (valignd) */
#define ALIGNR(h, l, i) _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(h), _mm512_castps_si512(l), i))
/* 5×5: an output row's accumulators s (kx 0, 2, 4) and t (kx 1, 3) += kernel row ky of the
 * weights w (broadcast from memory) over the windows x[0..4], in tap order */
#define TAPS5_MEM(x, w, ky, s, t)                                                               \
    do {                                                                                        \
        s = _mm512_fmadd_ps((x)[0], _mm512_set1_ps((w)[5 * (ky)]), s);                         \
        t = _mm512_fmadd_ps((x)[1], _mm512_set1_ps((w)[5 * (ky) + 1]), t);                     \
        s = _mm512_fmadd_ps((x)[2], _mm512_set1_ps((w)[5 * (ky) + 2]), s);                     \
        t = _mm512_fmadd_ps((x)[3], _mm512_set1_ps((w)[5 * (ky) + 3]), t);                     \
        s = _mm512_fmadd_ps((x)[4], _mm512_set1_ps((w)[5 * (ky) + 4]), s);                     \
    } while (0)

/* The masks of a column vector's loads and of its store depend on the columns only: made once
 * a call (col_masks_make) instead of in every pass, where computing them (with branches at the
 * row ends) took more instructions than the loads and FMAs (72 channels at 56×56:
 * 4.5 ns an output vector). Stride 1: loads at x, x + 1, x + 2 (x = ox − pw); stride 2: at x,
 * x + 16, x + 1, x + 17 (x = 2·ox − pw). [4]: the store. */
enum { COL_MASKS_MAX = 64 };   /* vectors a row: Wo up to 1024 */
typedef struct col_masks { __mmask16 m[COL_MASKS_MAX][5]; } col_masks;

/* the masks of column vectors v0 .. v0 + COL_MASKS_MAX − 1 (those that exist) */
static void col_masks_make(const fcn_dw_args *a, int64_t v0, col_masks *mk)
{
    static const int off1[4] = { 0, 1, 2, 0 }, off2[4] = { 0, 16, 1, 17 };
    int64_t nv = (a->Wo + 15) / 16;
    for (int64_t v = v0; v < nv && v < v0 + COL_MASKS_MAX; v++) {
        int64_t ox = 16 * v, x = a->sw * ox - a->pw;
        for (int j = 0; j < 4; j++) mk->m[v - v0][j] = span_mask(x + (a->sw == 1 ? off1[j] : off2[j]), a->W);
        mk->m[v - v0][4] = span_mask(ox, a->Wo);
    }
}

/* one input row (3 loaded tap vectors x0, x1, x2) into an accumulator pair with weight row k */
#define TAPS(x0, x1, x2, k, s, t)                                 \
    do {                                                          \
        s = _mm512_fmadd_ps(x0, wv[3 * (k)], s);                  \
        t = _mm512_fmadd_ps(x1, wv[3 * (k) + 1], t);              \
        s = _mm512_fmadd_ps(x2, wv[3 * (k) + 2], s);              \
    } while (0)

AVX512 static void plane_s1(const fcn_dw_args *a, const col_masks *mk, const float *in, const float *zero, const float *w,
                            float bias, float *out, int act, __m512 vlo, __m512 vhi)
{
    __m512 wv[9];
    for (int t = 0; t < 9; t++) wv[t] = _mm512_set1_ps(w[t]);
    const __m512 b = _mm512_set1_ps(bias);
    const int64_t H = a->H, W = a->W, Ho = a->Ho, Wo = a->Wo;
    col_masks own;
    const int given = mk != NULL;
    if (!given) mk = &own;
    for (int64_t oy = 0; oy < Ho; oy += 2) {
        const float *r[4];
        for (int k = 0; k < 4; k++) {
            int64_t iy = oy - a->ph + k;
            r[k] = iy >= 0 && iy < H ? in + iy * W : zero;
        }
        float *o0 = out + oy * Wo, *o1 = o0 + Wo;
        int two = oy + 1 < Ho;
        for (int64_t ox = 0, v = 0; ox < Wo; ox += 16, v++) {
            int64_t x = ox - a->pw;
            if (v % COL_MASKS_MAX == 0 && !given) col_masks_make(a, v, &own);
            const __mmask16 *vm = mk->m[v % COL_MASKS_MAX];
            __mmask16 m0 = vm[0], m1 = vm[1], m2 = vm[2];
            __m512 s0 = b, t0 = _mm512_setzero_ps(), s1 = b, t1 = _mm512_setzero_ps();
            __m512 x0, x1, x2;
#define LOAD_S1(k)                                                \
            x0 = _mm512_maskz_loadu_ps(m0, r[k] + x);             \
            x1 = _mm512_maskz_loadu_ps(m1, r[k] + x + 1);         \
            x2 = _mm512_maskz_loadu_ps(m2, r[k] + x + 2)
            /* the rows two passes on (measured: 5-15% on 56- and 112-wide planes from L2) */
            _mm_prefetch((const char *)(r[3] + x) + 8 * W, _MM_HINT_T0);
            LOAD_S1(0); TAPS(x0, x1, x2, 0, s0, t0);
            LOAD_S1(1); TAPS(x0, x1, x2, 1, s0, t0); TAPS(x0, x1, x2, 0, s1, t1);
            LOAD_S1(2); TAPS(x0, x1, x2, 2, s0, t0); TAPS(x0, x1, x2, 1, s1, t1);
            LOAD_S1(3); TAPS(x0, x1, x2, 2, s1, t1);
#undef LOAD_S1
            __mmask16 m = vm[4];
            _mm512_mask_storeu_ps(o0 + ox, m, finish(_mm512_add_ps(s0, t0), act, vlo, vhi));
            if (two) _mm512_mask_storeu_ps(o1 + ox, m, finish(_mm512_add_ps(s1, t1), act, vlo, vhi));
        }
    }
}

/* Stride 1, pad 1 (every "same" 3×3 layer): each input row is loaded once, 16 columns a load
 * from ox (masked to the row), and the taps' windows at ox − 1 and ox + 1 are made from that
 * vector and its neighbours with valignd — 4 loads and 8 shuffles a pass in place of 12 masked
 * loads, 8 of them across a cache line (72 channels at 56×56: 3.9 → 3.3 ns an output vector;
 * two vectors a pass, 8 FMA chains, was no faster). The same values reach the same FMAs in the
 * same order as in plane_s1: the same bits. a->no_slide (FULLCONV_NO_DW_SLIDE=1) takes plane_s1. */
AVX512 static void plane_s1_slide(const fcn_dw_args *a, const float *in, const float *zero, const float *w,
                                  float bias, float *out, int act, __m512 vlo, __m512 vhi)
{
    __m512 wv[9];
    for (int t = 0; t < 9; t++) wv[t] = _mm512_set1_ps(w[t]);
    const __m512 b = _mm512_set1_ps(bias), z = _mm512_setzero_ps();
    const int64_t H = a->H, W = a->W, Ho = a->Ho, Wo = a->Wo;
    for (int64_t oy = 0; oy < Ho; oy += 2) {
        const float *r[4];
        for (int k = 0; k < 4; k++) {
            int64_t iy = oy - a->ph + k;   /* 1, or less in a band of rows (out_cs set) */
            r[k] = iy >= 0 && iy < H ? in + iy * W : zero;
        }
        float *o0 = out + oy * Wo, *o1 = o0 + Wo;
        int two = oy + 1 < Ho;
        /* per row: prev = columns ox − 16.., cur = ox.., the next vector loaded in the pass */
        __mmask16 mc = span_mask(0, W);
        __m512 p0 = z, p1 = z, p2 = z, p3 = z;
        __m512 c0 = _mm512_maskz_loadu_ps(mc, r[0]), c1 = _mm512_maskz_loadu_ps(mc, r[1]);
        __m512 c2 = _mm512_maskz_loadu_ps(mc, r[2]), c3 = _mm512_maskz_loadu_ps(mc, r[3]);
        for (int64_t ox = 0; ox < Wo; ox += 16) {
            __mmask16 mn = span_mask(ox + 16, W);
            __m512 s0 = b, t0 = z, s1 = b, t1 = z, x0, x2, n;
            _mm_prefetch((const char *)(r[3] + ox) + 8 * W, _MM_HINT_T0);
#define SLIDE(k, pk, ck)                                                                     \
            n = _mm512_maskz_loadu_ps(mn, r[k] + ox + 16);                                   \
            x0 = ALIGNR(ck, pk, 15);                                                         \
            x2 = ALIGNR(n, ck, 1)
            SLIDE(0, p0, c0); TAPS(x0, c0, x2, 0, s0, t0); p0 = c0; c0 = n;
            SLIDE(1, p1, c1); TAPS(x0, c1, x2, 1, s0, t0); TAPS(x0, c1, x2, 0, s1, t1); p1 = c1; c1 = n;
            SLIDE(2, p2, c2); TAPS(x0, c2, x2, 2, s0, t0); TAPS(x0, c2, x2, 1, s1, t1); p2 = c2; c2 = n;
            SLIDE(3, p3, c3); TAPS(x0, c3, x2, 2, s1, t1); p3 = c3; c3 = n;
#undef SLIDE
            __mmask16 m = span_mask(ox, Wo);
            _mm512_mask_storeu_ps(o0 + ox, m, finish(_mm512_add_ps(s0, t0), act, vlo, vhi));
            if (two) _mm512_mask_storeu_ps(o1 + ox, m, finish(_mm512_add_ps(s1, t1), act, vlo, vhi));
        }
    }
}

/* permutex2var indices of the even (first 0) or odd (first 1) lanes of two vectors */
AVX512 static inline __m512i s2_lanes(int first)
{
    return _mm512_add_epi32(_mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
                            _mm512_set1_epi32(first));
}

/* the 5 input rows of the stride-2 pass at output rows oy, oy + 1: the zero row outside */
static inline void s2_rows(const fcn_dw_args *a, const float *in, const float *zero, int64_t oy, const float *r[5])
{
    for (int k = 0; k < 5; k++) {
        int64_t iy = 2 * oy - a->ph + k;
        r[k] = iy >= 0 && iy < a->H ? in + iy * a->W : zero;
    }
}

AVX512 static void plane_s2(const fcn_dw_args *a, const col_masks *mk, const float *in, const float *zero, const float *w,
                            float bias, float *out, int act, __m512 vlo, __m512 vhi)
{
    __m512 wv[9];
    for (int t = 0; t < 9; t++) wv[t] = _mm512_set1_ps(w[t]);
    const __m512 b = _mm512_set1_ps(bias);
    const int64_t Ho = a->Ho, Wo = a->Wo;
    col_masks own;
    const int given = mk != NULL;
    if (!given) mk = &own;
    const __m512i even = s2_lanes(0), odd = s2_lanes(1);
    for (int64_t oy = 0; oy < Ho; oy += 2) {
        const float *r[5];
        s2_rows(a, in, zero, oy, r);
        float *o0 = out + oy * Wo, *o1 = o0 + Wo;
        int two = oy + 1 < Ho;
        for (int64_t ox = 0, v = 0; ox < Wo; ox += 16, v++) {
            int64_t x = 2 * ox - a->pw;
            if (v % COL_MASKS_MAX == 0 && !given) col_masks_make(a, v, &own);
            const __mmask16 *vm = mk->m[v % COL_MASKS_MAX];
            /* columns x..x+31 give kx 0 (even lanes) and kx 1 (odd); x+1..x+32 give kx 2 (odd) */
            __mmask16 ma = vm[0], mb = vm[1], mc = vm[2], md = vm[3];
            __m512 s0 = b, t0 = _mm512_setzero_ps(), s1 = b, t1 = _mm512_setzero_ps();
            __m512 x0, x1, x2;
#define LOAD_S2(k)                                                                              \
            do {                                                                                \
                __m512 l0 = _mm512_maskz_loadu_ps(ma, r[k] + x);                                \
                __m512 l1 = _mm512_maskz_loadu_ps(mb, r[k] + x + 16);                           \
                __m512 l2 = _mm512_maskz_loadu_ps(mc, r[k] + x + 1);                            \
                __m512 l3 = _mm512_maskz_loadu_ps(md, r[k] + x + 17);                           \
                x0 = _mm512_permutex2var_ps(l0, even, l1);                                      \
                x1 = _mm512_permutex2var_ps(l0, odd, l1);                                       \
                x2 = _mm512_permutex2var_ps(l2, odd, l3);                                       \
            } while (0)
            LOAD_S2(0); TAPS(x0, x1, x2, 0, s0, t0);
            LOAD_S2(1); TAPS(x0, x1, x2, 1, s0, t0);
            LOAD_S2(2); TAPS(x0, x1, x2, 2, s0, t0);
            if (two) {
                TAPS(x0, x1, x2, 0, s1, t1);
                LOAD_S2(3); TAPS(x0, x1, x2, 1, s1, t1);
                LOAD_S2(4); TAPS(x0, x1, x2, 2, s1, t1);
            }
#undef LOAD_S2
            __mmask16 m = vm[4];
            _mm512_mask_storeu_ps(o0 + ox, m, finish(_mm512_add_ps(s0, t0), act, vlo, vhi));
            if (two) _mm512_mask_storeu_ps(o1 + ox, m, finish(_mm512_add_ps(s1, t1), act, vlo, vhi));
        }
    }
}

/* Stride 2, pad 1 (every 3×3/2 layer of the mobile nets): plane_s2 loads each tap row at
 * 2·ox − 1 and 2·ox (x + 1), four masked loads that always straddle a cache line. Here a row's
 * 32 columns from 2·ox are two loads (64-byte aligned when the row is), its even lanes are the
 * kx = 1 taps, its odd lanes the kx = 2 taps, and the kx = 0 taps are the odd lanes moved up one
 * with the previous vector's last odd lane coming in (valignd), as plane_s1_slide does for
 * stride 1. The same values reach the same FMAs in the same order: the same bits.
 * a->no_slide (FULLCONV_NO_DW_SLIDE=1) takes plane_s2. */
AVX512 static void plane_s2_slide(const fcn_dw_args *a, const float *in, const float *zero, const float *w,
                                  float bias, float *out, int act, __m512 vlo, __m512 vhi)
{
    __m512 wv[9];
    for (int t = 0; t < 9; t++) wv[t] = _mm512_set1_ps(w[t]);
    const __m512 b = _mm512_set1_ps(bias), z = _mm512_setzero_ps();
    const int64_t W = a->W, Ho = a->Ho, Wo = a->Wo;
    const __m512i even = s2_lanes(0), odd = s2_lanes(1);
    for (int64_t oy = 0; oy < Ho; oy += 2) {
        const float *r[5];
        s2_rows(a, in, zero, oy, r);
        float *o0 = out + oy * Wo, *o1 = o0 + Wo;
        int two = oy + 1 < Ho;
        __m512 p0 = z, p1 = z, p2 = z, p3 = z, p4 = z;   /* each row's previous odd lanes */
        for (int64_t ox = 0; ox < Wo; ox += 16) {
            __mmask16 m0 = span_mask(2 * ox, W), m1 = span_mask(2 * ox + 16, W);
            __m512 s0 = b, t0 = z, s1 = b, t1 = z, x0, x1, x2;
#define LOAD_S2S(k, prev)                                                                       \
            do {                                                                                \
                __m512 l0 = _mm512_maskz_loadu_ps(m0, r[k] + 2 * ox);                           \
                __m512 l1 = _mm512_maskz_loadu_ps(m1, r[k] + 2 * ox + 16);                      \
                x1 = _mm512_permutex2var_ps(l0, even, l1);                                      \
                x2 = _mm512_permutex2var_ps(l0, odd, l1);                                       \
                x0 = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(x2),            \
                                                             _mm512_castps_si512(prev), 15));   \
                prev = x2;                                                                      \
            } while (0)
            LOAD_S2S(0, p0); TAPS(x0, x1, x2, 0, s0, t0);
            LOAD_S2S(1, p1); TAPS(x0, x1, x2, 1, s0, t0);
            LOAD_S2S(2, p2); TAPS(x0, x1, x2, 2, s0, t0);
            if (two) {
                TAPS(x0, x1, x2, 0, s1, t1);
                LOAD_S2S(3, p3); TAPS(x0, x1, x2, 1, s1, t1);
                LOAD_S2S(4, p4); TAPS(x0, x1, x2, 2, s1, t1);
            }
#undef LOAD_S2S
            __mmask16 m = span_mask(ox, Wo);
            _mm512_mask_storeu_ps(o0 + ox, m, finish(_mm512_add_ps(s0, t0), act, vlo, vhi));
            if (two) _mm512_mask_storeu_ps(o1 + ox, m, finish(_mm512_add_ps(s1, t1), act, vlo, vhi));
        }
    }
}

/* Small "same" planes (stride 1, pad 1, Ho·Wo <= FLAT_MAX): a row of 7 or 14 outputs would
 * leave most of a 16-lane row vector empty, so the plane is taken as one flat array instead.
 * With Wo == W and pad 1, output o = oy·W + ox reads input o + (ky−1)·W + (kx−1); a tap's mask
 * drops the lanes whose neighbour is outside the image (a row above/below, or the column
 * wrapping to the previous/next row). Masks depend only on the geometry: built once per call. */
enum { FLAT_MAX = 256 };

static int flat_ok(const fcn_dw_args *a)
{
    return a->sw == 1 && a->ph == 1 && a->pw == 1 && a->Ho == a->H && a->Wo == a->W && a->H * a->W <= FLAT_MAX &&
           !a->out_cs;
}

int fcn_dw3x3_flat_ok(const fcn_dw_args *a)
{
    return a->kh == 3 && a->kw == 3 && a->dh == 1 && a->dw == 1 && a->sh == 1 && flat_ok(a);
}

/* V (1..4) output vectors from v0 at once: 2·V independent FMA chains, where one vector's two
 * chains of 6 and 3 dependent FMAs left the core waiting on their latency (55 µs for 576
 * channels at 14×14, 3 GFLOP/s-class). Each vector's sums are formed in the same order as
 * before (s: taps kx 0 and 2, t: kx 1, rows in order; s + t), so the bits are unchanged. */
__attribute__((target("avx512f,avx512vl,avx2,fma"), always_inline))
static inline void flat_vectors(const float *in, int64_t W, int64_t n, const __mmask16 m[FLAT_MAX / 16][9],
                                const __m512 *wv, __m512 b, float *out, int act, __m512 vlo, __m512 vhi,
                                int64_t v0, const int V)
{
    __m512 s[4], t[4];
#pragma GCC unroll 4
    for (int i = 0; i < V; i++) { s[i] = b; t[i] = _mm512_setzero_ps(); }
#pragma GCC unroll 3
    for (int k = 0; k < 3; k++) {
#pragma GCC unroll 4
        for (int i = 0; i < V; i++) {
            const float *p = in + (v0 + i) * 16 + (k - 1) * W - 1;
            s[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[v0 + i][3 * k], p), wv[3 * k], s[i]);
            t[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[v0 + i][3 * k + 1], p + 1), wv[3 * k + 1], t[i]);
            s[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[v0 + i][3 * k + 2], p + 2), wv[3 * k + 2], s[i]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < V; i++)
        _mm512_mask_storeu_ps(out + (v0 + i) * 16, span_mask((v0 + i) * 16, n),
                              finish(_mm512_add_ps(s[i], t[i]), act, vlo, vhi));
}

AVX512 static void plane_flat(const fcn_dw_args *a, const float *in, const __mmask16 m[FLAT_MAX / 16][9],
                              const float *w, float bias, float *out, int act, __m512 vlo, __m512 vhi)
{
    const int64_t W = a->W, n = a->H * a->W, nv = (n + 15) / 16;
    __m512 wv[9];
    for (int t = 0; t < 9; t++) wv[t] = _mm512_set1_ps(w[t]);
    const __m512 b = _mm512_set1_ps(bias);
    int64_t v = 0;
    for (; v + 4 <= nv; v += 4) flat_vectors(in, W, n, m, wv, b, out, act, vlo, vhi, v, 4);
    switch (nv - v) {
    case 3: flat_vectors(in, W, n, m, wv, b, out, act, vlo, vhi, v, 3); break;
    case 2: flat_vectors(in, W, n, m, wv, b, out, act, vlo, vhi, v, 2); break;
    case 1: flat_vectors(in, W, n, m, wv, b, out, act, vlo, vhi, v, 1); break;
    default: break;
    }
}

/* "Same" 3×3 stride-1 planes rolled down one row at a time: each input row is loaded once and
 * goes into the three output rows that read it (kernel row 2 of the row above, 1 of its own, 0
 * of the row below); a row is stored once its last input row is in. The two-row passes above
 * give each accumulator a chain of 6 dependent FMAs a pass and wait on their latency; here an
 * input row adds 2 to a chain and the next row's FMAs do not wait for them. Each output sums the
 * same taps in the same order as those passes and plane_flat (s: kx 0 and 2, t: kx 1, rows in
 * order, taps in the padding as zero products): the same bits.
 *   narrow (W <= 16, e.g. 14×14 and 7×7): one vector a row, the kx 0 and kx 2 windows the
 *     vector moved one lane up and down (valignd with zero: the padding columns). The flat pass
 *     took 117 masked loads and as many mask loads for 117 FMAs a 14×14 plane.
 *   else (17 to 40 wide): strips of 16 columns, each rolled down the plane, the windows masked
 *     loads at x − 1 and x + 1. */
__attribute__((always_inline)) AVX512 static inline void roll3_windows(const float *p, int narrow, __mmask16 m0,
                                                                      __mmask16 m1, __mmask16 m2, __m512 z,
                                                                      __m512 *x0, __m512 *x1, __m512 *x2)
{
    if (narrow) {
        *x1 = _mm512_maskz_loadu_ps(m1, p);
        *x0 = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(*x1), _mm512_castps_si512(z), 15));
        *x2 = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(z), _mm512_castps_si512(*x1), 1));
    } else {
        *x0 = _mm512_maskz_loadu_ps(m0, p - 1);
        *x1 = _mm512_maskz_loadu_ps(m1, p);
        *x2 = _mm512_maskz_loadu_ps(m2, p + 1);
    }
}

__attribute__((always_inline)) AVX512 static inline void plane_roll3(const fcn_dw_args *a, const float *in, const float *w,
                                                                    float bias, float *out, int act, __m512 vlo,
                                                                    __m512 vhi, const int narrow)
{
    const int64_t H = a->H, W = a->W;
    const __m512 z = _mm512_setzero_ps(), b = _mm512_set1_ps(bias);
    const __m512 w0 = _mm512_set1_ps(w[0]), w1 = _mm512_set1_ps(w[1]), w2 = _mm512_set1_ps(w[2]);
    const __m512 w3 = _mm512_set1_ps(w[3]), w4 = _mm512_set1_ps(w[4]), w5 = _mm512_set1_ps(w[5]);
    const __m512 w6 = _mm512_set1_ps(w[6]), w7 = _mm512_set1_ps(w[7]), w8 = _mm512_set1_ps(w[8]);
    for (int64_t x = 0; x < W; x += 16) {
        const __mmask16 m0 = span_mask(x - 1, W), m1 = span_mask(x, W), m2 = span_mask(x + 1, W);
        const float *p = in + x;
        float *o = out + x;
        __m512 x0, x1, x2;
        /* the padding row above (zeros, as the other passes' masked loads give), then row 0 */
        __m512 qs = _mm512_fmadd_ps(z, w0, b), qt = _mm512_fmadd_ps(z, w1, z);
        qs = _mm512_fmadd_ps(z, w2, qs);
        roll3_windows(p, narrow, m0, m1, m2, z, &x0, &x1, &x2);
        __m512 ps = _mm512_fmadd_ps(x0, w3, qs), pt = _mm512_fmadd_ps(x1, w4, qt);
        ps = _mm512_fmadd_ps(x2, w5, ps);
        qs = _mm512_fmadd_ps(x0, w0, b);
        qt = _mm512_fmadd_ps(x1, w1, z);
        qs = _mm512_fmadd_ps(x2, w2, qs);
        for (int64_t r = 1; r < H; r++) {
            p += W;
            roll3_windows(p, narrow, m0, m1, m2, z, &x0, &x1, &x2);
            /* kernel row 2 of output row r − 1 (complete), 1 of row r, 0 of row r + 1 */
            ps = _mm512_fmadd_ps(x0, w6, ps);
            pt = _mm512_fmadd_ps(x1, w7, pt);
            ps = _mm512_fmadd_ps(x2, w8, ps);
            _mm512_mask_storeu_ps(o, m1, finish(_mm512_add_ps(ps, pt), act, vlo, vhi));
            o += W;
            ps = _mm512_fmadd_ps(x0, w3, qs);
            pt = _mm512_fmadd_ps(x1, w4, qt);
            ps = _mm512_fmadd_ps(x2, w5, ps);
            qs = _mm512_fmadd_ps(x0, w0, b);
            qt = _mm512_fmadd_ps(x1, w1, z);
            qs = _mm512_fmadd_ps(x2, w2, qs);
        }
        /* the padding row below */
        ps = _mm512_fmadd_ps(z, w6, ps);
        pt = _mm512_fmadd_ps(z, w7, pt);
        ps = _mm512_fmadd_ps(z, w8, ps);
        _mm512_mask_storeu_ps(o, m1, finish(_mm512_add_ps(ps, pt), act, vlo, vhi));
    }
}

static int narrow_ok(const fcn_dw_args *a)
{
    return a->sh == 1 && a->sw == 1 && a->ph == 1 && a->pw == 1 && a->Ho == a->H && a->Wo == a->W && a->W <= 16 &&
           !a->no_narrow;
}

/* Up to 40 columns and while the call's planes stay in L2: from L3 the strips' walks down the
 * rows lose to the row passes' sequential reads and writes (µs, row passes → strips: 240
 * channels at 28×28 53 → 37, 96 at 40×40 43 → 31, 72 at 56×56 53 → 48; 288 at 40×40, 1.8 MB,
 * 130 → 145; 144 at 56×56 111 → 155) */
enum { ROLL_MAX_W = 40 };
#define ROLL_MAX_BYTES (1024.0 * 1024.0)

static int roll_ok(const fcn_dw_args *a, int64_t planes)
{
    return a->sh == 1 && a->sw == 1 && a->ph == 1 && a->pw == 1 && a->Ho == a->H && a->Wo == a->W && a->W > 16 &&
           a->W <= ROLL_MAX_W && (double)planes * (double)(a->H * a->W) * 4.0 <= ROLL_MAX_BYTES && !a->no_narrow;
}

static const float s2r_zero_row[FCN_DW_ZERO_ROW];   /* rows outside the map; masks keep reads within W */

/* input row r of a plane, or the zero row */
static inline const float *s2r_row(const float *plane, int64_t r, int64_t H, int64_t W)
{
    return r >= 0 && r < H ? plane + r * W : s2r_zero_row;
}

/* ---- "same" 3×3 and 5×5 stride-1 planes up to 7 wide: two channels a vector -------------------
 * A 7×7 plane's rows fill 7 of a vector's 16 lanes (the 3×3 row pass, the 5×5 16-channel
 * kernel's transposes). Here channel c's row sits in lanes 0..W−1 and channel c + 1's from lane
 * B (8 for 3×3, 9 for 5×5), the lanes between zero: moved by up to (K − 1) / 2 lanes with valignd,
 * each half's windows bring in zeros at its ends, as the padding columns. The weights are the
 * two channels' taps blended at lane B. Rolled down the plane as the one-channel passes: an input
 * row goes into the K output rows that read it, accumulators s (kx even) and t (kx odd) in tap
 * order, taps in the padding rows as zero products (3×3: the same sums as plane_roll3, the same
 * bits; 5×5: as plane_narrow5's, skipped there). */

__attribute__((always_inline)) AVX512 static inline void pair_windows(__m512 v, __m512 z, const int K, __m512 x[5])
{
    if (K == 3) {
        x[0] = ALIGNR(v, z, 15);
        x[1] = v;
        x[2] = ALIGNR(z, v, 1);
    } else {
        x[0] = ALIGNR(v, z, 14);
        x[1] = ALIGNR(v, z, 15);
        x[2] = v;
        x[3] = ALIGNR(z, v, 1);
        x[4] = ALIGNR(z, v, 2);
    }
}

/* channels c's and c + 1's K×K taps blended into wv (c's in the lanes below hi, c + 1's in hi);
 * returns their biases the same way */
__attribute__((always_inline)) AVX512 static inline __m512 pair_weights(const fcn_dw_args *a, int64_t c, const int K,
                                                                       __mmask16 hi, __m512 wv[25])
{
#pragma GCC unroll 25
    for (int t = 0; t < K * K; t++)
        wv[t] = _mm512_mask_mov_ps(_mm512_set1_ps(a->w[c * K * K + t]), hi, _mm512_set1_ps(a->w[(c + 1) * K * K + t]));
    return a->bias ? _mm512_mask_mov_ps(_mm512_set1_ps(a->bias[c]), hi, _mm512_set1_ps(a->bias[c + 1]))
                   : _mm512_setzero_ps();
}

#define PAIR_TAPS(x, wv, K, ky, s, t)                                                           \
    do {                                                                                        \
        _Pragma("GCC unroll 5") for (int kx_ = 0; kx_ < (K); kx_++) {                           \
            if (kx_ % 2 == 0) s = _mm512_fmadd_ps((x)[kx_], (wv)[(ky) * (K) + kx_], s);          \
            else t = _mm512_fmadd_ps((x)[kx_], (wv)[(ky) * (K) + kx_], t);                       \
        }                                                                                       \
    } while (0)

__attribute__((always_inline)) AVX512 static inline void plane_pair(const fcn_dw_args *a, int64_t c, const int K, int act,
                                                                   __m512 vlo, __m512 vhi)
{
    const int64_t H = a->H, W = a->W, in_cs = fcn_dw_in_cs(a), out_cs = fcn_dw_out_cs(a);
    const int B = K == 3 ? 8 : 9;
    const __mmask16 hi = (__mmask16)(0xFFFFu << B);
    const __mmask16 ma = span_mask(0, W), mb = (__mmask16)(fcn_first_lanes16(W) << B);
    const float *ina = a->in + c * in_cs, *inb = ina + in_cs - B;   /* inb + B: channel c + 1 */
    float *outa = a->out + c * out_cs, *outb = outa + out_cs - B;
    const __m512 z = _mm512_setzero_ps();
    __m512 wv[25];
    const __m512 b = pair_weights(a, c, K, hi, wv);
    __m512 x[5];
    if (K == 3) {
        /* before input row i: p is output row i − 1 (kernel rows 0, 1 in), q row i (row 0 in) */
        __m512 ps, pt, qs = _mm512_fmadd_ps(z, wv[0], b), qt = _mm512_fmadd_ps(z, wv[1], z);
        qs = _mm512_fmadd_ps(z, wv[2], qs);
        ps = qs; pt = qt;
        for (int64_t i = 0; i < H; i++) {
            __m512 v = _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(ma, ina + i * W), mb, inb + i * W);
            pair_windows(v, z, 3, x);
            /* kernel row 2 of row i − 1 (complete), 1 of row i, 0 of row i + 1 */
            if (i > 0) {
                PAIR_TAPS(x, wv, 3, 2, ps, pt);
                __m512 y = finish(_mm512_add_ps(ps, pt), act, vlo, vhi);
                _mm512_mask_storeu_ps(outa + (i - 1) * W, ma, y);
                _mm512_mask_storeu_ps(outb + (i - 1) * W, mb, y);
            }
            ps = qs; pt = qt;
            PAIR_TAPS(x, wv, 3, 1, ps, pt);
            qs = b; qt = z;
            PAIR_TAPS(x, wv, 3, 0, qs, qt);
        }
        /* the padding row below */
        ps = _mm512_fmadd_ps(z, wv[6], ps);
        pt = _mm512_fmadd_ps(z, wv[7], pt);
        ps = _mm512_fmadd_ps(z, wv[8], ps);
        __m512 y = finish(_mm512_add_ps(ps, pt), act, vlo, vhi);
        _mm512_mask_storeu_ps(outa + (H - 1) * W, ma, y);
        _mm512_mask_storeu_ps(outb + (H - 1) * W, mb, y);
    } else {
        /* before input row i: s0/t0 is output row i − 2 (kernel rows 0..3 in), s1 i − 1, s2 i, s3 i + 1 */
        __m512 s0 = b, t0 = z, s1 = b, t1 = z, s2 = b, t2 = z, s3 = b, t3 = z;
        for (int64_t i = 0; i < H; i++) {
            __m512 v = _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(ma, ina + i * W), mb, inb + i * W);
            pair_windows(v, z, 5, x);
            __m512 s4 = b, t4 = z;
            PAIR_TAPS(x, wv, 5, 4, s0, t0);
            PAIR_TAPS(x, wv, 5, 3, s1, t1);
            PAIR_TAPS(x, wv, 5, 2, s2, t2);
            PAIR_TAPS(x, wv, 5, 1, s3, t3);
            PAIR_TAPS(x, wv, 5, 0, s4, t4);
            if (i >= 2) {
                __m512 y = finish(_mm512_add_ps(s0, t0), act, vlo, vhi);
                _mm512_mask_storeu_ps(outa + (i - 2) * W, ma, y);
                _mm512_mask_storeu_ps(outb + (i - 2) * W, mb, y);
            }
            s0 = s1; t0 = t1; s1 = s2; t1 = t2; s2 = s3; t2 = t3; s3 = s4; t3 = t4;
        }
        if (H >= 2) {
            __m512 y = finish(_mm512_add_ps(s0, t0), act, vlo, vhi);
            _mm512_mask_storeu_ps(outa + (H - 2) * W, ma, y);
            _mm512_mask_storeu_ps(outb + (H - 2) * W, mb, y);
        }
        __m512 y = finish(_mm512_add_ps(s1, t1), act, vlo, vhi);
        _mm512_mask_storeu_ps(outa + (H - 1) * W, ma, y);
        _mm512_mask_storeu_ps(outb + (H - 1) * W, mb, y);
    }
}

/* Stride 2 onto rows of up to 7 (3×3 pad 1, 5×5 pad 2, inputs up to 14 wide): channel c's
 * input row loaded into the low 16 lanes of a 32-lane pair, channel c + 1's into the high ones;
 * the even and odd lanes (two permutes) put c's even/odd columns in lanes 0..7 and c + 1's in
 * 8..15, lanes 7 and 15 zero (columns 14 and 15, outside the row), so moved by one lane each half
 * again brings in zeros. Rolled down the plane as plane2_roll_s2: step st takes input rows 2·st
 * and 2·st + 1 (3×3: kernel row 1 of output row st, then 2 of st and 0 of st + 1; 5×5: rows 4, 2,
 * 0 of st − 1, st, st + 1, then 3 and 1). 3×3: plane_s2_slide's sums, the same bits. */
__attribute__((always_inline)) AVX512 static inline void pair_s2_windows(const float *ra, const float *rb, __mmask16 mw,
                                                                        __m512i even, __m512i odd, __m512 z,
                                                                        const int K, __m512 x[5])
{
    __m512 lo = _mm512_maskz_loadu_ps(mw, ra), hi = _mm512_maskz_loadu_ps(mw, rb);
    __m512 e = _mm512_permutex2var_ps(lo, even, hi), o = _mm512_permutex2var_ps(lo, odd, hi);
    if (K == 3) {
        x[0] = ALIGNR(o, z, 15);
        x[1] = e;
        x[2] = o;
    } else {
        x[0] = ALIGNR(e, z, 15);
        x[1] = ALIGNR(o, z, 15);
        x[2] = e;
        x[3] = o;
        x[4] = ALIGNR(z, e, 1);
    }
}


__attribute__((always_inline)) AVX512 static inline void plane_pair_s2(const fcn_dw_args *a, int64_t c, const int K,
                                                                      int act, __m512 vlo, __m512 vhi)
{
    const int64_t H = a->H, W = a->W, Ho = a->Ho, Wo = a->Wo, in_cs = fcn_dw_in_cs(a), out_cs = fcn_dw_out_cs(a);
    const __m512i even = s2_lanes(0), odd = s2_lanes(1);
    const __m512 z = _mm512_setzero_ps();
    const __mmask16 hi = 0xFF00, mw = span_mask(0, W);
    const __mmask16 ma = (__mmask16)fcn_first_lanes16(Wo), mb = (__mmask16)(fcn_first_lanes16(Wo) << 8);
    const float *ina = a->in + c * in_cs, *inb = ina + in_cs;
    float *outa = a->out + c * out_cs, *outb = outa + out_cs - 8;
    __m512 wv[25];
    const __m512 b = pair_weights(a, c, K, hi, wv);
    __m512 x[5];
#define PAIR_ROW(r) pair_s2_windows(s2r_row(ina, (r), H, W), s2r_row(inb, (r), H, W), mw, even, odd, z, K, x)
#define PAIR_STORE(oy, s, t)                                                                    \
    do {                                                                                        \
        __m512 y_ = finish(_mm512_add_ps(s, t), act, vlo, vhi);                                 \
        _mm512_mask_storeu_ps(outa + (oy) * Wo, ma, y_);                                        \
        _mm512_mask_storeu_ps(outb + (oy) * Wo, mb, y_);                                        \
    } while (0)
    if (K == 3) {
        /* output row st reads input rows 2·st − 1 .. 2·st + 1 */
        __m512 sa = b, ta = z, su, tu;
        PAIR_ROW(-1);
        PAIR_TAPS(x, wv, 3, 0, sa, ta);
        for (int64_t st = 0; st < Ho; st++) {
            PAIR_ROW(2 * st);
            PAIR_TAPS(x, wv, 3, 1, sa, ta);
            PAIR_ROW(2 * st + 1);
            PAIR_TAPS(x, wv, 3, 2, sa, ta);
            su = b; tu = z;
            PAIR_TAPS(x, wv, 3, 0, su, tu);
            PAIR_STORE(st, sa, ta);
            sa = su; ta = tu;
        }
    } else {
        /* output row st reads input rows 2·st − 2 .. 2·st + 2 */
        __m512 sd = b, td = z, sa = b, ta = z, su = b, tu = z;
        PAIR_ROW(-2);
        PAIR_TAPS(x, wv, 5, 0, sa, ta);
        PAIR_ROW(-1);
        PAIR_TAPS(x, wv, 5, 1, sa, ta);
        for (int64_t st = 0; st < Ho; st++) {
            PAIR_ROW(2 * st);
            PAIR_TAPS(x, wv, 5, 4, sd, td);
            PAIR_TAPS(x, wv, 5, 2, sa, ta);
            PAIR_TAPS(x, wv, 5, 0, su, tu);
            PAIR_ROW(2 * st + 1);
            PAIR_TAPS(x, wv, 5, 3, sa, ta);
            PAIR_TAPS(x, wv, 5, 1, su, tu);
            if (st >= 1) PAIR_STORE(st - 1, sd, td);
            sd = sa; td = ta; sa = su; ta = tu; su = b; tu = z;
        }
        PAIR_ROW(2 * Ho);
        PAIR_TAPS(x, wv, 5, 4, sd, td);
        PAIR_STORE(Ho - 1, sd, td);
    }
#undef PAIR_ROW
#undef PAIR_STORE
}
#undef PAIR_TAPS

int fcn_dw_pair_ok(const fcn_dw_args *a)
{
    int geo = (a->kh == 3 || a->kh == 5) && a->kw == a->kh && a->dh == 1 && a->dw == 1 && a->ph == (a->kh - 1) / 2 &&
              a->pw == (a->kw - 1) / 2 && !a->no_narrow;
    if (a->sh == 1 && a->sw == 1) return geo && a->Ho == a->H && a->Wo == a->W && a->W <= 7;
    return geo && a->sh == 2 && a->sw == 2 && a->W <= 14 && a->Wo <= 7 && a->Ho >= 1 && a->Wo >= 1;
}

/* channels [c0, c1) two at a time; the caller takes a last odd one through the one-channel pass */
/* The activations the passes leave out of their stores (anything but ReLU / Clip), over the
 * output planes [c0, c1) */
static void act_planes(const fcn_dw_args *a, int64_t c0, int64_t c1)
{
    if (a->act == FCN_ACT_NONE || a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP) return;
    for (int64_t c = c0; c < c1; c++)
        fcn_act_apply(a->act, a->act_alpha, a->act_beta, a->out + c * fcn_dw_out_cs(a), a->Ho * a->Wo);
}

/* Channels [c0, c1) two at a time, their activations applied; returns the channel left over (c1
 * when the count is even) for the caller's one-channel pass. */
AVX512 static int64_t planes_pair(const fcn_dw_args *a, int64_t c0, int64_t c1, int act, __m512 vlo, __m512 vhi)
{
    int64_t end = c1 - (c1 - c0) % 2;
    for (int64_t c = c0; c < end; c += 2) {
        if (a->sh == 2) {
            if (a->kh == 3) plane_pair_s2(a, c, 3, act, vlo, vhi);
            else plane_pair_s2(a, c, 5, act, vlo, vhi);
        } else if (a->kh == 3) {
            plane_pair(a, c, 3, act, vlo, vhi);
        } else {
            plane_pair(a, c, 5, act, vlo, vhi);
        }
        act_planes(a, c, c + 2);   /* while the planes are in cache */
    }
    return end;
}

AVX512 void fcn_dw3x3_avx512(const fcn_dw_args *a, int64_t c0, int64_t c1)
{
    /* the zero row stands for input rows in the padding; masks keep its reads within W. Rows
     * up to FCN_DW_ZERO_ROW floats read a shared zero block, wider ones the work buffer. */
    static const float zero_row[FCN_DW_ZERO_ROW];
    const float *zero = zero_row;
    if (a->W > FCN_DW_ZERO_ROW) {
        memset(a->work, 0, sizeof(float) * (size_t)a->W);
        zero = a->work;
    }
    int vec_act = a->act == FCN_ACT_NONE || a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP;
    int act = vec_act ? a->act : FCN_ACT_NONE;
    const __m512 vlo = _mm512_set1_ps(a->act == FCN_ACT_RELU ? 0.0f : a->act_alpha),
                 vhi = _mm512_set1_ps(a->act_beta);
    __mmask16 fm[FLAT_MAX / 16][9];
    int narrow = narrow_ok(a), flat = !narrow && flat_ok(a), roll = !narrow && !flat && roll_ok(a, c1 - c0);
    if (flat) fcn_flat_tap_masks(a->H, a->W, 3, 3, 1, 1, &fm[0][0], 9);
    /* one set of column masks for all planes; rows of more than COL_MASKS_MAX vectors make
     * theirs chunk by chunk as they go (mk NULL) */
    col_masks cm;
    const col_masks *mk = NULL;
    if (!flat && (a->Wo + 15) / 16 <= COL_MASKS_MAX) {
        col_masks_make(a, 0, &cm);
        mk = &cm;
    }
    if ((narrow || a->sh == 2) && fcn_dw_pair_ok(a)) c0 = planes_pair(a, c0, c1, act, vlo, vhi);
    for (int64_t c = c0; c < c1; c++) {
        const float *w = a->w + c * 9;
        float b = a->bias ? a->bias[c] : 0.0f;
        const float *in = a->in + c * fcn_dw_in_cs(a);
        float *out = a->out + c * fcn_dw_out_cs(a);
        if (narrow)
            plane_roll3(a, in, w, b, out, act, vlo, vhi, 1);
        else if (roll)
            plane_roll3(a, in, w, b, out, act, vlo, vhi, 0);
        else if (flat)
            plane_flat(a, in, fm, w, b, out, act, vlo, vhi);
        else if (a->sw == 1 && a->pw == 1 && a->Wo == a->W && !a->no_slide)
            plane_s1_slide(a, in, zero, w, b, out, act, vlo, vhi);
        else if (a->sw == 1)
            plane_s1(a, mk, in, zero, w, b, out, act, vlo, vhi);
        else if (a->pw == 1 && !a->no_slide)
            plane_s2_slide(a, in, zero, w, b, out, act, vlo, vhi);
        else
            plane_s2(a, mk, in, zero, w, b, out, act, vlo, vhi);
        if (!vec_act) fcn_act_apply(a->act, a->act_alpha, a->act_beta, out, a->Ho * a->Wo);
    }
}

/* ---- any k×k (≤ FCN_DWK_MAX), stride 1 or 2, dilation 1 -------------------------------------
 * EfficientNet's and MnasNet's 5×5 layers went through the AVX2 plane copy with one accumulator
 * per 8 outputs, 25 FMAs in a dependent chain: 7 GFLOP/s. Here R output rows × Q vectors of 16
 * columns are accumulated at once (R·Q = 4 chains), every tap a broadcast weight times a masked
 * load (stride 2: the even lanes of two loads), input rows outside the image skipped. */

/* the masks of the loads of one pass: per kx and vector q, the lanes of the (first, second)
 * 16-column load inside [0, W) — they depend on the columns only, so they are made once per
 * column block and reused down the plane */
typedef struct dwk_masks { __mmask16 m[FCN_DWK_MAX][4][2]; } dwk_masks;
static const float dwk_zero_row[FCN_DW_ZERO_ROW];   /* masks keep the reads within W */

static void dwk_make_masks(const fcn_dw_args *a, int64_t x0, int Q, int s, dwk_masks *mk)
{
    for (int64_t kx = 0; kx < a->kw; kx++)
        for (int q = 0; q < Q; q++) {
            int64_t x = (x0 + 16 * q) * s - a->pw + kx;
            mk->m[kx][q][0] = span_mask(x, a->W);
            mk->m[kx][q][1] = span_mask(x + 16, a->W);
        }
}

__attribute__((always_inline)) AVX512 static inline void dwk_pass(const fcn_dw_args *a, const float *in,
                                                                   const float *w, float b, float *out, int64_t oy,
                                                                   int64_t x0, const int R, const int Q, const int s,
                                                                   const dwk_masks *mk, __m512i even, const __m512 vlo,
                                                                   const __m512 vhi)
{
    __m512 acc[4];
#pragma GCC unroll 4
    for (int i = 0; i < R * Q; i++) acc[i] = _mm512_set1_ps(b);
    for (int64_t ky = 0; ky < a->kh; ky++) {
        /* rows outside the image (and past the last output row) read the shared zero row: no
         * branches in the tap loop, whose accumulators then stay in registers */
        const float *rows[4];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            int64_t iy = (oy + r) * s - a->ph + ky;
            int valid = oy + r < a->Ho && iy >= 0 && iy < a->H;
            rows[r] = (valid ? in + iy * a->W : dwk_zero_row) + x0 * s - a->pw;
        }
        for (int64_t kx = 0; kx < a->kw; kx++) {
            __m512 wk = _mm512_set1_ps(w[ky * a->kw + kx]);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
                for (int q = 0; q < Q; q++) {
                    const float *p = rows[r] + 16 * q * s + kx;
                    __m512 v = _mm512_maskz_loadu_ps(mk->m[kx][q][0], p);
                    if (s == 2)
                        v = _mm512_permutex2var_ps(v, even, _mm512_maskz_loadu_ps(mk->m[kx][q][1], p + 16));
                    acc[r * Q + q] = _mm512_fmadd_ps(v, wk, acc[r * Q + q]);
                }
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        if (oy + r >= a->Ho) break;
#pragma GCC unroll 4
        for (int q = 0; q < Q; q++) {
            int64_t x = x0 + 16 * q;
            if (x >= a->Wo) break;
            __m512 y = acc[r * Q + q];
            if (a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP) y = _mm512_max_ps(y, vlo);
            if (a->act == FCN_ACT_CLIP) y = _mm512_min_ps(y, vhi);
            _mm512_mask_storeu_ps(out + (oy + r) * a->Wo + x, span_mask(x, a->Wo), y);
        }
    }
}

int fcn_dwk_avx512_applies(const fcn_dw_args *a)
{
    return a->kh >= 1 && a->kw >= 1 && a->kh <= FCN_DWK_MAX && a->kw <= FCN_DWK_MAX && a->dh == 1 && a->dw == 1 &&
           (a->sw == 1 || a->sw == 2) && a->sh == a->sw && a->W <= FCN_DW_ZERO_ROW && fcn_avx512_enabled();
}

/* Small "same" planes (stride 1, Ho·Wo <= 64, rows under 16): the plane as up to 4 flat vectors
 * of 16 outputs, each tap one masked load at a fixed offset (MnasNet's 5×5 layers on 7×7 maps
 * used 7 of 16 lanes at 17 GFLOP/s row by row). */
enum { DWK_FLAT_MAX = 64 };

static int dwk_flat_ok(const fcn_dw_args *a)
{
    return a->sw == 1 && a->sh == 1 && a->Ho == a->H && a->Wo == a->W && a->ph == (a->kh - 1) / 2 &&
           a->pw == (a->kw - 1) / 2 && a->H * a->W <= DWK_FLAT_MAX && a->W < 16 && !a->out_cs;
}


/* the flat passes' results: channels c (acc0) and c + 1 (acc1, when ch == 2), n outputs each,
 * ReLU/Clip applied */
__attribute__((always_inline)) AVX512 static inline void flat_store(const fcn_dw_args *a, int64_t c, int ch, int64_t n,
                                                                   const __m512 acc0[4], const __m512 acc1[4],
                                                                   __m512 vlo, __m512 vhi)
{
    for (int64_t v = 0; v < (n + 15) / 16; v++)
        for (int k = 0; k < ch; k++) {
            __m512 y = k ? acc1[v] : acc0[v];
            if (a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP) y = _mm512_max_ps(y, vlo);
            if (a->act == FCN_ACT_CLIP) y = _mm512_min_ps(y, vhi);
            _mm512_mask_storeu_ps(a->out + (c + k) * n + 16 * v, span_mask(16 * v, n), y);
        }
}

/* Two channels at once (8 accumulator chains): one channel's 4 vectors × kh·kw dependent FMAs
 * waited on the FMA latency (MnasNet's 5×5 layers on 7×7 maps: 27 GFLOP/s). ch = 1 or 2. */
AVX512 static void dwk_plane_flat(const fcn_dw_args *a, int64_t c, int ch, const __mmask16 m[DWK_FLAT_MAX / 16][FCN_DWK_MAX * FCN_DWK_MAX],
                                  __m512 vlo, __m512 vhi)
{
    const int64_t n = a->H * a->W, nv = (n + 15) / 16, kk = a->kh * a->kw;
    const float *w0 = a->w + c * kk, *w1 = w0 + (ch > 1 ? kk : 0);
    const float *in0 = a->in + c * fcn_dw_in_cs(a), *in1 = in0 + (ch > 1 ? fcn_dw_in_cs(a) : 0);
    __m512 acc0[4], acc1[4];
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++) {
        acc0[v] = _mm512_set1_ps(a->bias ? a->bias[c] : 0.0f);
        acc1[v] = _mm512_set1_ps(a->bias && ch > 1 ? a->bias[c + 1] : 0.0f);
    }
    int64_t p = -a->ph * a->W - a->pw;
    for (int64_t t = 0, kx = 0; t < kk; t++, p++) {
        if (kx == a->kw) {   /* next kernel row: no division per tap */
            kx = 0;
            p += a->W - a->kw;
        }
        kx++;
        __m512 wk0 = _mm512_set1_ps(w0[t]), wk1 = _mm512_set1_ps(w1[t]);
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++)
            if (v < nv) {
                acc0[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[v][t], in0 + p + 16 * v), wk0, acc0[v]);
                acc1[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[v][t], in1 + p + 16 * v), wk1, acc1[v]);
            }
    }
    flat_store(a, c, ch, n, acc0, acc1, vlo, vhi);
}

/* Stride 2 onto a small map (H = 2·Ho, W = 2·Wo, Ho·Wo <= 64, Wo under 16: MnasNet's and
 * MobileNetV3's 5×5/2 layers onto 7×7, at 12 GFLOP/s row by row): the plane is split into its
 * four phases (even/odd rows × even/odd columns, each Ho×Wo), where tap (ky, kx) reads phase
 * ((ky − ph) mod 2, (kx − pw) mod 2) at a fixed flat offset — the stride-1 flat scheme again. */
typedef struct dwk_phase_taps {
    __mmask16 m[DWK_FLAT_MAX / 16][FCN_DWK_MAX * FCN_DWK_MAX];
    int16_t phase[FCN_DWK_MAX * FCN_DWK_MAX];
    int32_t off[FCN_DWK_MAX * FCN_DWK_MAX];
} dwk_phase_taps;

static int dwk_flat2_ok(const fcn_dw_args *a)
{
    return a->sw == 2 && a->sh == 2 && a->H == 2 * a->Ho && a->W == 2 * a->Wo && a->Ho * a->Wo <= DWK_FLAT_MAX &&
           a->Wo < 16 && !a->out_cs;
}

static int64_t floor_div2(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

static void dwk_phase_taps_make(const fcn_dw_args *a, dwk_phase_taps *pt)
{
    int64_t n = a->Ho * a->Wo;
    for (int64_t t = 0; t < a->kh * a->kw; t++) {
        int64_t dy = t / a->kw - a->ph, dx = t % a->kw - a->pw;
        int64_t ry = floor_div2(dy), rx = floor_div2(dx);
        pt->phase[t] = (int16_t)((dy - 2 * ry) * 2 + (dx - 2 * rx));
        pt->off[t] = (int32_t)(ry * a->Wo + rx);
        for (int64_t v = 0; v * 16 < n; v++) {
            unsigned bits = 0;
            for (int l = 0; l < 16; l++) {
                int64_t o = v * 16 + l, y = o / a->Wo + ry, x = o % a->Wo + rx;
                if (o < n && y >= 0 && y < a->Ho && x >= 0 && x < a->Wo) bits |= 1u << l;
            }
            pt->m[v][t] = (__mmask16)bits;
        }
    }
}

AVX512 static void dwk_plane_flat2(const fcn_dw_args *a, int64_t c, int ch, const dwk_phase_taps *pt, __m512 vlo,
                                   __m512 vhi)
{
    const int64_t n = a->Ho * a->Wo, nv = (n + 15) / 16, kk = a->kh * a->kw;
    float ph[2][4][DWK_FLAT_MAX + 16];
    for (int k = 0; k < ch; k++) {
        const float *in = a->in + (c + k) * fcn_dw_in_cs(a);
        for (int64_t r = 0; r < a->Ho; r++)
            for (int64_t col = 0; col < a->Wo; col++) {
                const float *p = in + 2 * r * a->W + 2 * col;
                ph[k][0][r * a->Wo + col] = p[0];
                ph[k][1][r * a->Wo + col] = p[1];
                ph[k][2][r * a->Wo + col] = p[a->W];
                ph[k][3][r * a->Wo + col] = p[a->W + 1];
            }
    }
    const int k1 = ch > 1 ? 1 : 0;
    const float *w0 = a->w + c * kk, *w1 = w0 + k1 * kk;
    __m512 acc0[4], acc1[4];
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++) {
        acc0[v] = _mm512_set1_ps(a->bias ? a->bias[c] : 0.0f);
        acc1[v] = _mm512_set1_ps(a->bias && ch > 1 ? a->bias[c + 1] : 0.0f);
    }
    for (int64_t t = 0; t < kk; t++) {
        const float *p0 = ph[0][pt->phase[t]] + pt->off[t], *p1 = ph[k1][pt->phase[t]] + pt->off[t];
        __m512 wk0 = _mm512_set1_ps(w0[t]), wk1 = _mm512_set1_ps(w1[t]);
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++)
            if (v < nv) {
                acc0[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(pt->m[v][t], p0 + 16 * v), wk0, acc0[v]);
                acc1[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(pt->m[v][t], p1 + 16 * v), wk1, acc1[v]);
            }
    }
    flat_store(a, c, ch, n, acc0, acc1, vlo, vhi);
}

/* one plane with passes of R rows × Q vectors, the stride a constant */
#define DWK_PLANE(R, Q, S)                                                                          \
    for (int64_t x0 = 0; x0 < a->Wo; x0 += 16 * (Q)) {                                              \
        dwk_masks mk;                                                                               \
        dwk_make_masks(a, x0, (Q), (S), &mk);                                                       \
        for (int64_t oy = 0; oy < a->Ho; oy += (R))                                                 \
            dwk_pass(a, in, w, b, out, oy, x0, (R), (Q), (S), &mk, even, vlo, vhi);                 \
    }

/* 5×5 "same" planes one vector a row (W <= 16, stride 1, pad 2: MnasNet's and EfficientNet's
 * 5×5 layers at 14×14), the 3×3 narrow pass's scheme: each input row loaded once, its five
 * windows the vector moved by −2..2 lanes (valignd with zero: the padding columns), fed to the
 * five output rows that read it; a row is stored once its fifth input row is in. Input rows in
 * the padding add nothing and are skipped. Two accumulators an output row (kx 0, 2, 4 and
 * kx 1, 3, each in tap order): a chain of 3 dependent FMAs a row instead of 5. The 16-channel
 * kernel took 52 µs for 480 channels at 14×14 (its transposes in and out), this one 35. */
int fcn_dw5x5_narrow_ok(const fcn_dw_args *a)
{
    return a->kh == 5 && a->kw == 5 && a->sh == 1 && a->sw == 1 && a->dh == 1 && a->dw == 1 && a->ph == 2 &&
           a->pw == 2 && a->Ho == a->H && a->Wo == a->W && a->W >= FCN_DW_NARROW_MIN_W && a->W <= 16 && !a->no_narrow;
}


AVX512 static void plane_narrow5(const fcn_dw_args *a, const float *in, const float *w, float bias, float *out,
                                 int act, __m512 vlo, __m512 vhi)
{
    const int64_t H = a->H, W = a->W;
    const __mmask16 mw = span_mask(0, W);
    const __m512 z = _mm512_setzero_ps(), b = _mm512_set1_ps(bias);
    /* before input row i: s0/t0 is output row i − 2 (kernel rows 0..3 in), s1 i − 1, s2 i, s3 i + 1 */
    __m512 s0 = b, t0 = z, s1 = b, t1 = z, s2 = b, t2 = z, s3 = b, t3 = z;
    for (int64_t i = 0; i < H; i++) {
        __m512 x[5];
        x[2] = _mm512_maskz_loadu_ps(mw, in + i * W);
        x[0] = ALIGNR(x[2], z, 14);
        x[1] = ALIGNR(x[2], z, 15);
        x[3] = ALIGNR(z, x[2], 1);
        x[4] = ALIGNR(z, x[2], 2);
        __m512 s4 = b, t4 = z;
        TAPS5_MEM(x, w, 4, s0, t0);
        TAPS5_MEM(x, w, 3, s1, t1);
        TAPS5_MEM(x, w, 2, s2, t2);
        TAPS5_MEM(x, w, 1, s3, t3);
        TAPS5_MEM(x, w, 0, s4, t4);
        if (i >= 2) _mm512_mask_storeu_ps(out + (i - 2) * W, mw, finish(_mm512_add_ps(s0, t0), act, vlo, vhi));
        s0 = s1; t0 = t1; s1 = s2; t1 = t2; s2 = s3; t2 = t3; s3 = s4; t3 = t4;
    }
    if (H >= 2) _mm512_mask_storeu_ps(out + (H - 2) * W, mw, finish(_mm512_add_ps(s0, t0), act, vlo, vhi));
    _mm512_mask_storeu_ps(out + (H - 1) * W, mw, finish(_mm512_add_ps(s1, t1), act, vlo, vhi));
}

/* ---- 5×5 stride 1 onto rows wider than 16, rolled down the rows ------------------------------
 * MnasNet's and EfficientNet's 5×5 layers at 28×28 went through the 16-channel kernel at 60–96
 * GFLOP/s (its transposes in and out; 240 channels spill its planes out of L2). Here strips of
 * 16 output columns walk down the plane: each input row's five windows are masked loads at
 * x − pw + kx, fed to the five output rows that read the row (kernel rows 4..0 of rows i − 2 ..
 * i + 2), two accumulators a row (kx 0, 2, 4 and kx 1, 3, in tap order); a row is stored once its
 * fifth input row is in. Kernel rows 0–2 stay in registers (15 weights), rows 3–4 are broadcast
 * from memory: 15 loads for 25 FMAs an input row. Rows outside the map add nothing (skipped). */
__attribute__((always_inline)) AVX512 static inline void s1r_windows(const float *row, const __mmask16 *m, __m512 win[5])
{
#pragma GCC unroll 5
    for (int kx = 0; kx < 5; kx++) win[kx] = _mm512_maskz_loadu_ps(m[kx], row + kx);
}

#define S1R_TAPS(x, wv, s, t)                                                                   \
    do {                                                                                        \
        s = _mm512_fmadd_ps((x)[0], (wv)[0], s);                                               \
        t = _mm512_fmadd_ps((x)[1], (wv)[1], t);                                               \
        s = _mm512_fmadd_ps((x)[2], (wv)[2], s);                                               \
        t = _mm512_fmadd_ps((x)[3], (wv)[3], t);                                               \
        s = _mm512_fmadd_ps((x)[4], (wv)[4], s);                                               \
    } while (0)

AVX512 static void plane_roll5(const fcn_dw_args *a, const float *in, const float *w, float bias, float *out, int act,
                               __m512 vlo, __m512 vhi)
{
    const int64_t H = a->H, W = a->W, Ho = a->Ho, Wo = a->Wo, d = 2 - a->ph;
    const __m512 z = _mm512_setzero_ps(), b = _mm512_set1_ps(bias);
    __m512 w0[5], w1[5], w2[5];
#pragma GCC unroll 5
    for (int kx = 0; kx < 5; kx++) {
        w0[kx] = _mm512_set1_ps(w[kx]);
        w1[kx] = _mm512_set1_ps(w[5 + kx]);
        w2[kx] = _mm512_set1_ps(w[10 + kx]);
    }
    for (int64_t x = 0; x < Wo; x += 16) {
        __mmask16 m[5];
#pragma GCC unroll 5
        for (int kx = 0; kx < 5; kx++) m[kx] = span_mask(x - a->pw + kx, W);
        const __mmask16 mo = span_mask(x, Wo);
        /* before virtual row v: s0/t0 is output row v − 2 (kernel rows 0..3 in), s1 v − 1, s2 v, s3 v + 1 */
        __m512 s0 = b, t0 = z, s1 = b, t1 = z, s2 = b, t2 = z, s3 = b, t3 = z;
        for (int64_t v = -2; v < Ho + 2; v++) {
            const int64_t r = v + d;   /* the input row */
            __m512 s4 = b, t4 = z;
            if (r >= 0 && r < H) {
                __m512 win[5];
                s1r_windows(in + r * W + x - a->pw, m, win);
                TAPS5_MEM(win, w, 4, s0, t0);
                TAPS5_MEM(win, w, 3, s1, t1);
                S1R_TAPS(win, w2, s2, t2);
                S1R_TAPS(win, w1, s3, t3);
                S1R_TAPS(win, w0, s4, t4);
            }
            if (v >= 2) _mm512_mask_storeu_ps(out + (v - 2) * Wo + x, mo, finish(_mm512_add_ps(s0, t0), act, vlo, vhi));
            s0 = s1; t0 = t1; s1 = s2; t1 = t2; s2 = s3; t2 = t3; s3 = s4; t3 = t4;
        }
    }
}
#undef S1R_TAPS

/* 5×5, stride 1, pads up to 2, more than 16 columns in and out */
int fcn_dw5x5_roll_ok(const fcn_dw_args *a)
{
    return a->kh == 5 && a->kw == 5 && a->sh == 1 && a->sw == 1 && a->dh == 1 && a->dw == 1 && a->ph >= 0 &&
           a->ph <= 2 && a->pw >= 0 && a->pw <= 2 && a->Ho >= 1 && a->W > 16 && a->Wo > 16 && !a->no_narrow;
}

/* ---- 5×5 stride 2, rolled down the rows ------------------------------------------------------
 * The 16-channel kernel took MnasNet's and EfficientNet's 5×5/2 layers at 47–52 GFLOP/s: each
 * output vector's 25 taps, each a load of the transposed plane. Here each input row is loaded
 * once for a strip of 16 output columns: its kx windows are the even and odd lanes of 32 columns
 * from 2·x − pw + kx (kx and kx + 1 one load pair, two permutes), fed to the three output rows
 * that read the row (an even row: kernel rows 4, 2, 0 of the rows below, at and above the step;
 * an odd row: kernel rows 3 and 1). Per output row an accumulator pair (kx 0, 2, 4 and kx 1, 3, in
 * tap order); two channels a pass, so one channel's FMA chains wait behind the other's. Rows
 * outside the map are the zero row fed to the same FMAs (no branches). Any top padding up to 2:
 * a band of rows of a larger map (fcn_dw_args.in_cs/out_cs) runs the same sums. The 3×3
 * stride-2 layers this way ran within ±5 % of plane_s2_slide: not taken there. */
__attribute__((always_inline)) AVX512 static inline void s2roll_windows(const float *row, int64_t base,
                                                                       const __mmask16 *m, __m512i even, __m512i odd,
                                                                       __m512 win[5])
{
#pragma GCC unroll 3
    for (int j = 0; j < 3; j++) {
        __m512 lo = _mm512_maskz_loadu_ps(m[2 * j], row + base + 2 * j);
        __m512 hi = _mm512_maskz_loadu_ps(m[2 * j + 1], row + base + 2 * j + 16);
        win[2 * j] = _mm512_permutex2var_ps(lo, even, hi);
        if (j < 2) win[2 * j + 1] = _mm512_permutex2var_ps(lo, odd, hi);
    }
}


/* channels c (and c + 1 when CH is 2) */
__attribute__((always_inline)) AVX512 static inline void plane2_roll_s2(const fcn_dw_args *a, int64_t c, const int CH,
                                                                       int act, __m512 vlo, __m512 vhi)
{
    const int64_t H = a->H, W = a->W, Ho = a->Ho, Wo = a->Wo, in_cs = fcn_dw_in_cs(a), out_cs = fcn_dw_out_cs(a);
    /* output row oy reads input rows 2·oy − ph + ky: step st takes rows 2·st + d and 2·st + d + 1 */
    const int64_t d = 2 - a->ph;
    const __m512i even = s2_lanes(0), odd = s2_lanes(1);
    const __m512 z = _mm512_setzero_ps();
    const float *in0 = a->in + c * in_cs, *in1 = in0 + (CH > 1 ? in_cs : 0);
    const float *w0 = a->w + c * 25, *w1 = w0 + (CH > 1 ? 25 : 0);
    float *out0 = a->out + c * out_cs, *out1 = out0 + (CH > 1 ? out_cs : 0);
    const __m512 b0 = _mm512_set1_ps(a->bias ? a->bias[c] : 0.0f);
    const __m512 b1 = _mm512_set1_ps(a->bias && CH > 1 ? a->bias[c + 1] : 0.0f);
    for (int64_t x = 0; x < Wo; x += 16) {
        const int64_t base = 2 * x - a->pw;
        __mmask16 m[6];
#pragma GCC unroll 3
        for (int j = 0; j < 3; j++) {
            m[2 * j] = span_mask(base + 2 * j, W);
            m[2 * j + 1] = span_mask(base + 2 * j + 16, W);
        }
        const __mmask16 mo = span_mask(x, Wo);
        /* the output rows st − 1 (d: down), st (a: at) and st + 1 (u: up) at step st, channel 0 and 1 */
        __m512 sd0 = b0, td0 = z, sa0 = b0, ta0 = z, su0 = b0, tu0 = z;
        __m512 sd1 = b1, td1 = z, sa1 = b1, ta1 = z, su1 = b1, tu1 = z;
        __m512 win[5];
        /* step −1: output row 0 takes kernel rows 0 and 1 */
        s2roll_windows(s2r_row(in0, d - 2, H, W), base, m, even, odd, win);
        TAPS5_MEM(win, w0, 0, sa0, ta0);
        s2roll_windows(s2r_row(in0, d - 1, H, W), base, m, even, odd, win);
        TAPS5_MEM(win, w0, 1, sa0, ta0);
        if (CH > 1) {
            s2roll_windows(s2r_row(in1, d - 2, H, W), base, m, even, odd, win);
            TAPS5_MEM(win, w1, 0, sa1, ta1);
            s2roll_windows(s2r_row(in1, d - 1, H, W), base, m, even, odd, win);
            TAPS5_MEM(win, w1, 1, sa1, ta1);
        }
        for (int64_t st = 0; st < Ho; st++) {
            const int64_t re = 2 * st + d;
            /* the even row: kernel row 4 of row st − 1, 2 of st, 0 of st + 1 */
            s2roll_windows(s2r_row(in0, re, H, W), base, m, even, odd, win);
            TAPS5_MEM(win, w0, 4, sd0, td0);
            TAPS5_MEM(win, w0, 2, sa0, ta0);
            TAPS5_MEM(win, w0, 0, su0, tu0);
            if (CH > 1) {
                s2roll_windows(s2r_row(in1, re, H, W), base, m, even, odd, win);
                TAPS5_MEM(win, w1, 4, sd1, td1);
                TAPS5_MEM(win, w1, 2, sa1, ta1);
                TAPS5_MEM(win, w1, 0, su1, tu1);
            }
            /* the odd row: kernel row 3 of st, 1 of st + 1 */
            s2roll_windows(s2r_row(in0, re + 1, H, W), base, m, even, odd, win);
            TAPS5_MEM(win, w0, 3, sa0, ta0);
            TAPS5_MEM(win, w0, 1, su0, tu0);
            if (CH > 1) {
                s2roll_windows(s2r_row(in1, re + 1, H, W), base, m, even, odd, win);
                TAPS5_MEM(win, w1, 3, sa1, ta1);
                TAPS5_MEM(win, w1, 1, su1, tu1);
            }
            if (st >= 1) {   /* row st − 1 is complete */
                _mm512_mask_storeu_ps(out0 + (st - 1) * Wo + x, mo, finish(_mm512_add_ps(sd0, td0), act, vlo, vhi));
                if (CH > 1)
                    _mm512_mask_storeu_ps(out1 + (st - 1) * Wo + x, mo, finish(_mm512_add_ps(sd1, td1), act, vlo, vhi));
            }
            sd0 = sa0; td0 = ta0; sa0 = su0; ta0 = tu0; su0 = b0; tu0 = z;
            sd1 = sa1; td1 = ta1; sa1 = su1; ta1 = tu1; su1 = b1; tu1 = z;
        }
        /* step Ho: kernel row 4 of the last row */
        s2roll_windows(s2r_row(in0, 2 * Ho + d, H, W), base, m, even, odd, win);
        TAPS5_MEM(win, w0, 4, sd0, td0);
        _mm512_mask_storeu_ps(out0 + (Ho - 1) * Wo + x, mo, finish(_mm512_add_ps(sd0, td0), act, vlo, vhi));
        if (CH > 1) {
            s2roll_windows(s2r_row(in1, 2 * Ho + d, H, W), base, m, even, odd, win);
            TAPS5_MEM(win, w1, 4, sd1, td1);
            _mm512_mask_storeu_ps(out1 + (Ho - 1) * Wo + x, mo, finish(_mm512_add_ps(sd1, td1), act, vlo, vhi));
        }
    }
}

/* 5×5, stride 2, pads up to 2, at least FCN_DW_S2ROLL_MIN_WO output columns */
int fcn_dw5x5_s2roll_ok(const fcn_dw_args *a)
{
    return a->kh == 5 && a->kw == 5 && a->sh == 2 && a->sw == 2 && a->dh == 1 && a->dw == 1 && a->ph >= 0 &&
           a->ph <= 2 && a->pw >= 0 && a->pw <= 2 && a->Ho >= 1 && a->Wo >= FCN_DW_S2ROLL_MIN_WO &&
           a->W <= FCN_DW_ZERO_ROW && !a->no_narrow;
}

AVX512 static void planes_roll_s2(const fcn_dw_args *a, int64_t c0, int64_t c1, int act, __m512 vlo, __m512 vhi)
{
    for (int64_t c = c0; c < c1; c += 2) {
        if (c + 1 < c1) plane2_roll_s2(a, c, 2, act, vlo, vhi);
        else plane2_roll_s2(a, c, 1, act, vlo, vhi);
        act_planes(a, c, c + 2 < c1 ? c + 2 : c1);
    }
}

AVX512 void fcn_dwk_avx512(const fcn_dw_args *a, int64_t c0, int64_t c1)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int vec_act = a->act == FCN_ACT_NONE || a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP;
    const __m512 vlo = _mm512_set1_ps(a->act == FCN_ACT_RELU ? 0.0f : a->act_alpha), vhi = _mm512_set1_ps(a->act_beta);
    /* vectors of 16 columns a row: 4 chains as 1 row × 4 vectors, 2 × 2 or 4 rows × 1 */
    int64_t vecs = (a->Wo + 15) / 16;
    __mmask16 fm[DWK_FLAT_MAX / 16][FCN_DWK_MAX * FCN_DWK_MAX];
    const int act = vec_act ? a->act : FCN_ACT_NONE;
    if (fcn_dw_pair_ok(a) && (c0 = planes_pair(a, c0, c1, act, vlo, vhi)) == c1) return;
    int narrow5 = fcn_dw5x5_narrow_ok(a);
    if (narrow5 || fcn_dw5x5_roll_ok(a)) {   /* 5×5 stride 1, a plane at a time */
        for (int64_t c = c0; c < c1; c++) {
            const float *in = a->in + c * fcn_dw_in_cs(a), *w = a->w + c * 25;
            float b = a->bias ? a->bias[c] : 0.0f, *out = a->out + c * fcn_dw_out_cs(a);
            if (narrow5) plane_narrow5(a, in, w, b, out, act, vlo, vhi);
            else plane_roll5(a, in, w, b, out, act, vlo, vhi);
            act_planes(a, c, c + 1);
        }
        return;
    }
    if (fcn_dw5x5_s2roll_ok(a)) {
        planes_roll_s2(a, c0, c1, act, vlo, vhi);   /* activations applied */
        return;
    }
    int flat = dwk_flat_ok(a), flat2 = !flat && dwk_flat2_ok(a);
    if (flat) fcn_flat_tap_masks(a->H, a->W, a->kh, a->kw, a->ph, a->pw, &fm[0][0], FCN_DWK_MAX * FCN_DWK_MAX);
    dwk_phase_taps pt;
    if (flat2) dwk_phase_taps_make(a, &pt);
    if (flat || flat2) {   /* small planes: two channels a pass */
        for (int64_t c = c0; c < c1; c += 2) {
            int ch = c + 1 < c1 ? 2 : 1;
            if (flat) dwk_plane_flat(a, c, ch, fm, vlo, vhi);
            else dwk_plane_flat2(a, c, ch, &pt, vlo, vhi);
            if (!vec_act) fcn_act_apply(a->act, a->act_alpha, a->act_beta, a->out + c * a->Ho * a->Wo, ch * a->Ho * a->Wo);
        }
        return;
    }
    for (int64_t c = c0; c < c1; c++) {
        const float *w = a->w + c * a->kh * a->kw;
        float b = a->bias ? a->bias[c] : 0.0f;
        const float *in = a->in + c * fcn_dw_in_cs(a);
        float *out = a->out + c * fcn_dw_out_cs(a);
        if (a->sw == 1) {
            if (vecs >= 4) { DWK_PLANE(1, 4, 1) } else if (vecs >= 2) { DWK_PLANE(2, 2, 1) } else { DWK_PLANE(4, 1, 1) }
        } else {
            if (vecs >= 4) { DWK_PLANE(1, 4, 2) } else if (vecs >= 2) { DWK_PLANE(2, 2, 2) } else { DWK_PLANE(4, 1, 2) }
        }
        if (!vec_act) fcn_act_apply(a->act, a->act_alpha, a->act_beta, out, a->Ho * a->Wo);
    }
}
