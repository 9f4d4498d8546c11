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
#include "runtime/kernels/lanes512.h"

#define first_lanes(n) ((__mmask16)fcn_first_lanes16(n))

/* the max of one output's clipped window (the scalar rule: padding never wins) */
static inline float window_max(const fcn_pool_args *a, const float *in, int64_t y0, int64_t y1, int64_t ox)
{
    int64_t xs = ox * 2 - a->pw, x0 = xs < 0 ? 0 : xs, x1 = xs + 3 > a->W ? a->W : xs + 3;
    float m = -INFINITY;
    for (int64_t iy = y0; iy < y1; iy++)
        for (int64_t ix = x0; ix < x1; ix++) m = in[iy * a->W + ix] > m ? in[iy * a->W + ix] : m;
    return m;
}

__attribute__((target("avx512f,avx512vl,avx2,fma")))
void fcn_maxpool_k3s2_avx512(const fcn_pool_args *a, int64_t p0, int64_t p1)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    const int64_t W = a->W, H = a->H, Wo = a->Wo, pw = a->pw;
    /* outputs [x_lo, x_hi) have their whole window inside the row: the vector blocks */
    int64_t x_lo = (pw + 1) / 2, x_hi = (W + pw - 1) / 2;
    if (x_hi > Wo) x_hi = Wo;
    if (x_lo > x_hi) x_lo = x_hi;
    const int64_t tensor = a->planes * H * W;   /* floats of the input from a->in */
    for (int64_t pl = p0; pl < p1; pl++) {
        const float *in = a->in + pl * H * W;
        float *out = a->out + pl * a->Ho * Wo;
        for (int64_t oy = 0; oy < a->Ho; oy++) {
            int64_t y0 = oy * 2 - a->ph, y1 = y0 + 3;
            if (y0 < 0) y0 = 0;
            if (y1 > H) y1 = H;
            float *orow = out + oy * Wo;
            int64_t ox = 0;
            if (y1 > y0) {
                for (; ox < x_lo; ox++) orow[ox] = window_max(a, in, y0, y1, ox);
                for (; ox < x_hi; ox += 16) {
                    int64_t n = x_hi - ox < 16 ? x_hi - ox : 16, xs = ox * 2 - pw;
                    __m512 v0 = ninf, v1 = ninf, v2 = ninf;
                    if (y1 - y0 == 3 && (pl * H + y1 - 1) * W + xs + 48 <= tensor) {
                        /* plain loads (masked ones made the kernel 1.5× slower on Zen 4): the
                         * 48 floats from xs of every window row lie inside the tensor, and those
                         * past the row's end (the next row's) reach no stored lane */
                        const float *p = in + y0 * W + xs, *q = p + W, *r = q + W;
                        v0 = _mm512_max_ps(_mm512_max_ps(_mm512_loadu_ps(p), _mm512_loadu_ps(q)), _mm512_loadu_ps(r));
                        v1 = _mm512_max_ps(_mm512_max_ps(_mm512_loadu_ps(p + 16), _mm512_loadu_ps(q + 16)),
                                           _mm512_loadu_ps(r + 16));
                        v2 = _mm512_max_ps(_mm512_max_ps(_mm512_loadu_ps(p + 32), _mm512_loadu_ps(q + 32)),
                                           _mm512_loadu_ps(r + 32));
                    } else {
                        int64_t avail = W - xs;   /* floats of the row from xs on */
                        __mmask16 m0 = first_lanes(avail), m1 = first_lanes(avail - 16), m2 = first_lanes(avail - 32) & 1;
                        for (int64_t iy = y0; iy < y1; iy++) {
                            const float *p = in + iy * W + xs;
                            v0 = _mm512_max_ps(v0, _mm512_mask_loadu_ps(ninf, m0, p));
                            v1 = _mm512_max_ps(v1, _mm512_mask_loadu_ps(ninf, m1, p + 16));
                            v2 = _mm512_max_ps(v2, _mm512_mask_loadu_ps(ninf, m2, p + 32));
                        }
                    }
                    __m512 e = _mm512_permutex2var_ps(v0, even, v1), o = _mm512_permutex2var_ps(v0, odd, v1);
                    __m512 e2 = _mm512_castsi512_ps(
                        _mm512_alignr_epi32(_mm512_castps_si512(v2), _mm512_castps_si512(e), 1));
                    _mm512_mask_storeu_ps(orow + ox, first_lanes(n), _mm512_max_ps(_mm512_max_ps(e, o), e2));
                }
                if (ox < x_hi) ox = x_hi;
            }
            for (; ox < Wo; ox++) orow[ox] = window_max(a, in, y0, y1, ox);
        }
    }
}

/* ---- any k×k ≤ FCN_POOLK_MAX, stride 1 or 2, with AVX-512 ---------------------------------
 * GoogLeNet's pools (3×3/2 with ceil_mode, 3×3/1 pad 1 in every inception branch) spent 3.9 ms,
 * a fifth of the model: ceil_mode's last window leaves the row, which sent the k3s2 kernel's
 * whole last block of each row to the scalar rule, and stride 1 had only the 8-lane path.
 * Here every load is masked (lanes outside the row read as -inf for a max, 0 for an average),
 * rows outside the image are skipped, and Q vectors of 16 outputs are reduced at once.
 * Average pools divide by the window's in-image count (count_include_pad = 0) or by kh·kw. */
/* per column block: the load masks, and (average pools without padding counted) each lane's
 * in-image window width, made once per block instead of per row */
typedef struct poolk_masks { __mmask16 m[FCN_POOLK_MAX][4][2]; float cw[4][16]; } poolk_masks;

#define lanes_in(x, n) ((__mmask16)fcn_span_mask16((x), (n)))

__attribute__((always_inline)) __attribute__((target("avx512f,avx512vl,avx2,fma"))) static inline void
poolk_row(const fcn_pool_args *a, const float *in, float *orow, int64_t oy, int64_t x0, const int Q, const int s,
          const int avg, int include_pad, const poolk_masks *mk)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512 fill = avg ? _mm512_setzero_ps() : _mm512_set1_ps(-INFINITY);
    __m512 acc[4];
#pragma GCC unroll 4
    for (int q = 0; q < Q; q++) acc[q] = fill;
    int64_t y0 = oy * a->sh - a->ph, y1 = y0 + a->kh;
    if (y0 < 0) y0 = 0;
    if (y1 > a->H) y1 = a->H;
    for (int64_t iy = y0; iy < y1; iy++) {
        const float *row = in + iy * a->W + x0 * s - a->pw;
        for (int64_t kx = 0; kx < a->kw; kx++) {
#pragma GCC unroll 4
            for (int q = 0; q < Q; q++) {
                const float *p = row + 16 * q * s + kx;
                __m512 v = _mm512_mask_loadu_ps(fill, mk->m[kx][q][0], p);
                if (s == 2) v = _mm512_permutex2var_ps(v, even, _mm512_mask_loadu_ps(fill, mk->m[kx][q][1], p + 16));
                acc[q] = avg ? _mm512_add_ps(acc[q], v) : _mm512_max_ps(acc[q], v);
            }
        }
    }
#pragma GCC unroll 4
    for (int q = 0; q < Q; q++) {
        int64_t x = x0 + 16 * q;
        if (x >= a->Wo) break;
        __m512 y = acc[q];
        if (avg) {
            if (include_pad) {
                y = _mm512_mul_ps(y, _mm512_set1_ps(1.0f / (float)(a->kh * a->kw)));
            } else {
                /* the in-image window: width per lane (mk->cw) × rows; an empty window's sum is
                 * 0, divided by 1 */
                __m512 cnt = _mm512_mul_ps(_mm512_loadu_ps(mk->cw[q]), _mm512_set1_ps((float)(y1 > y0 ? y1 - y0 : 0)));
                y = _mm512_div_ps(y, _mm512_max_ps(cnt, _mm512_set1_ps(1.0f)));
            }
        }
        _mm512_mask_storeu_ps(orow + x, first_lanes(a->Wo - x), y);
    }
}

int fcn_poolk_avx512_applies(const fcn_pool_args *a)
{
    return a->kh >= 1 && a->kw >= 1 && a->kh <= FCN_POOLK_MAX && a->kw <= FCN_POOLK_MAX && (a->sw == 1 || a->sw == 2) &&
           a->sh >= 1 && fcn_avx512_enabled();
}

#define POOLK_PLANE(Q, S, AVG)                                                                     \
    for (int64_t x0 = 0; x0 < a->Wo; x0 += 16 * (Q)) {                                             \
        poolk_masks mk;                                                                            \
        for (int64_t kx = 0; kx < a->kw; kx++)                                                     \
            for (int q = 0; q < (Q); q++) {                                                        \
                int64_t x = (x0 + 16 * q) * (S) - a->pw + kx;                                      \
                mk.m[kx][q][0] = lanes_in(x, a->W);                                                \
                mk.m[kx][q][1] = lanes_in(x + 16, a->W);                                           \
            }                                                                                      \
        if ((AVG) && !include_pad)                                                                 \
            for (int q = 0; q < (Q); q++)                                                          \
                for (int l = 0; l < 16; l++) {                                                     \
                    int64_t c0 = (x0 + 16 * q + l) * (S) - a->pw, c1 = c0 + a->kw;                \
                    if (c0 < 0) c0 = 0;                                                            \
                    if (c1 > a->W) c1 = a->W;                                                      \
                    mk.cw[q][l] = c1 > c0 ? (float)(c1 - c0) : 0.0f;                               \
                }                                                                                  \
        for (int64_t oy = 0; oy < a->Ho; oy++)                                                     \
            poolk_row(a, in, out + oy * a->Wo, oy, x0, (Q), (S), (AVG), include_pad, &mk);         \
    }

__attribute__((target("avx512f,avx512vl,avx2,fma")))
void fcn_poolk_avx512(const fcn_pool_args *a, int avg, int include_pad, int64_t p0, int64_t p1)
{
    int64_t vecs = (a->Wo + 15) / 16;
    for (int64_t pl = p0; pl < p1; pl++) {
        const float *in = a->in + pl * a->H * a->W;
        float *out = a->out + pl * a->Ho * a->Wo;
        if (avg) {
            if (a->sw == 1) {
                if (vecs >= 4) { POOLK_PLANE(4, 1, 1) } else if (vecs >= 2) { POOLK_PLANE(2, 1, 1) } else { POOLK_PLANE(1, 1, 1) }
            } else {
                if (vecs >= 4) { POOLK_PLANE(4, 2, 1) } else if (vecs >= 2) { POOLK_PLANE(2, 2, 1) } else { POOLK_PLANE(1, 2, 1) }
            }
        } else {
            if (a->sw == 1) {
                if (vecs >= 4) { POOLK_PLANE(4, 1, 0) } else if (vecs >= 2) { POOLK_PLANE(2, 1, 0) } else { POOLK_PLANE(1, 1, 0) }
            } else {
                if (vecs >= 4) { POOLK_PLANE(4, 2, 0) } else if (vecs >= 2) { POOLK_PLANE(2, 2, 0) } else { POOLK_PLANE(1, 2, 0) }
            }
        }
    }
}
