/* pool_avx2.c — vectorized MaxPool (2-D, any kernel, stride 1 or 2), GlobalAveragePool, and
 * same-shape Add (with the fused activation) for the fast path. Interior output columns are
 * computed 8 at a time; border columns, whose windows leave the input, use the scalar rule
 * (padding never wins a max: it is skipped, as in the reference). */
#include <immintrin.h>
#include <float.h>
#include <math.h>
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/pool.h"

static inline __m256 load_stride2(const float *p)
{
    __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
    __m256 ev = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), _MM_SHUFFLE(3, 1, 2, 0)));
}

void fcn_maxpool_avx2(const fcn_pool_args *a, int64_t p0, int64_t p1)
{
    /* the 3×3/2 kernel while the last window stays in the row (ResNet: 0.155 ms, the general one
     * 0.181); with ceil_mode's overflowing last window (GoogLeNet) the general one */
    if (a->kh == 3 && a->kw == 3 && a->sh == 2 && a->sw == 2 && fcn_avx512_enabled() &&
        (a->Wo - 1) * 2 - a->pw + 3 <= a->W) {
        fcn_maxpool_k3s2_avx512(a, p0, p1);
        return;
    }
    if (fcn_poolk_avx512_applies(a)) {
        fcn_poolk_avx512(a, 0, 0, p0, p1);
        return;
    }
    int64_t x_lo = (a->pw + a->sw - 1) / a->sw;
    for (int64_t pl = p0; pl < p1; pl++) {
        const float *in = a->in + pl * a->H * a->W;
        float *out = a->out + pl * a->Ho * a->Wo;
        for (int64_t oy = 0; oy < a->Ho; oy++) {
            int64_t y0 = oy * a->sh - a->ph, y1 = y0 + a->kh;
            if (y0 < 0) y0 = 0;
            if (y1 > a->H) y1 = a->H;
            float *orow = out + oy * a->Wo;
            for (int64_t ox = 0; ox < a->Wo; ox++) {
                int64_t xs = ox * a->sw - a->pw;
                /* 8 outputs whose windows [xs, xs+kw) and the 16-float loads stay in the row */
                int64_t last = (ox + 7) * a->sw - a->pw + a->kw - 1 + (a->sw == 2 ? 1 : 0);
                if (ox >= x_lo && ox + 7 < a->Wo && last < a->W && (a->sw == 1 || a->sw == 2) && y1 > y0) {
                    __m256 m = _mm256_set1_ps(-INFINITY);
                    for (int64_t iy = y0; iy < y1; iy++) {
                        const float *p = in + iy * a->W + xs;
                        for (int64_t kx = 0; kx < a->kw; kx++)
                            m = _mm256_max_ps(m, a->sw == 1 ? _mm256_loadu_ps(p + kx) : load_stride2(p + kx));
                    }
                    _mm256_storeu_ps(orow + ox, m);
                    ox += 7;
                    continue;
                }
                int64_t x0 = xs < 0 ? 0 : xs, x1 = xs + a->kw > a->W ? a->W : xs + a->kw;
                float m = -INFINITY;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) m = in[iy * a->W + ix] > m ? in[iy * a->W + ix] : m;
                orow[ox] = m;
            }
        }
    }
}

void fcn_gap_avx2(const float *in, float *out, int64_t hw, int64_t p0, int64_t p1)
{
    for (int64_t pl = p0; pl < p1; pl++) {
        const float *p = in + pl * hw;
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        int64_t i = 0;
        for (; i + 16 <= hw; i += 16) {
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(p + i));
            s1 = _mm256_add_ps(s1, _mm256_loadu_ps(p + i + 8));
        }
        float t[8];
        _mm256_storeu_ps(t, _mm256_add_ps(s0, s1));
        double s = 0.0;
        for (int k = 0; k < 8; k++) s += t[k];
        for (; i < hw; i++) s += p[i];
        out[pl] = (float)(s / (double)hw);
    }
}

void fcn_add_avx2(const float *a, const float *b, float *y, int64_t n, int act, float alpha, float beta)
{
    int64_t i = 0;
    __m256 zero = _mm256_setzero_ps(), lo = _mm256_set1_ps(alpha), hi = _mm256_set1_ps(beta);
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        if (act == FCN_ACT_RELU) v = _mm256_max_ps(v, zero);
        else if (act == FCN_ACT_CLIP) v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
        _mm256_storeu_ps(y + i, v);
    }
    for (; i < n; i++) {
        float v = a[i] + b[i];
        if (act == FCN_ACT_RELU) v = v > 0.0f ? v : 0.0f;
        else if (act == FCN_ACT_CLIP) v = v < alpha ? alpha : (v > beta ? beta : v);
        y[i] = v;
    }
    if (act != FCN_ACT_NONE && act != FCN_ACT_RELU && act != FCN_ACT_CLIP)
        fcn_act_apply(act, alpha, beta, y, n);
}
