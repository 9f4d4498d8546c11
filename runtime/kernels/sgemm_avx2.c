/* sgemm_avx2.c — AVX2+FMA twins of the portable kernels in sgemm.c (built with -mavx2 -mfma;
 * only called after cpuid said so, see cpu.c).
 *
 * 6×16 micro-kernel: per k step, two 8-float loads of the B panel and six broadcasts of A
 * feed 12 FMAs into 12 ymm accumulators (6 rows × 16 columns); 2 loads + 6 broadcasts per
 * 12 FMAs keeps both FMA ports busy on Zen3/Skylake. */
#include <immintrin.h>
#include <string.h>
#include "runtime/kernels/kernels.h"

void fcn_ukernel_6x16_avx2(int64_t k, const float *a, const float *b, float *c, int64_t ldc,
                           int m, int n, int acc)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int64_t p = 0; p < k; p++, a += FCN_MR, b += FCN_NR) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        __m256 av = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
        av = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
        av = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
    }
    __m256 r[FCN_MR][2] = { { c00, c01 }, { c10, c11 }, { c20, c21 },
                            { c30, c31 }, { c40, c41 }, { c50, c51 } };
    if (n == FCN_NR) {
        for (int i = 0; i < m; i++) {
            float *row = c + i * ldc;
            __m256 v0 = r[i][0], v1 = r[i][1];
            if (acc) {
                v0 = _mm256_add_ps(v0, _mm256_loadu_ps(row));
                v1 = _mm256_add_ps(v1, _mm256_loadu_ps(row + 8));
            }
            _mm256_storeu_ps(row, v0);
            _mm256_storeu_ps(row + 8, v1);
        }
        return;
    }
    float t[FCN_NR];
    for (int i = 0; i < m; i++) {
        float *row = c + i * ldc;
        _mm256_storeu_ps(t, r[i][0]);
        _mm256_storeu_ps(t + 8, r[i][1]);
        for (int j = 0; j < n; j++) row[j] = acc ? row[j] + t[j] : t[j];
    }
}

static inline float hsum256(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

/* Each weight row is read once for up to 4 input rows: the product is memory-bound on the
 * weights, so reuse across rows is what matters. */
void fcn_gemv_avx2(const float *A, int64_t K, int64_t m0, int64_t m1,
                   const float *const *x, int rows, const float *bias, float *const *y)
{
    for (int64_t m = m0; m < m1; m++) {
        const float *a = A + m * K;
        __m256 s[4][2];
        for (int r = 0; r < 4; r++) s[r][0] = s[r][1] = _mm256_setzero_ps();
        int64_t k = 0;
        for (; k + 16 <= K; k += 16) {
            __m256 a0 = _mm256_loadu_ps(a + k), a1 = _mm256_loadu_ps(a + k + 8);
            for (int r = 0; r < rows; r++) {
                s[r][0] = _mm256_fmadd_ps(a0, _mm256_loadu_ps(x[r] + k), s[r][0]);
                s[r][1] = _mm256_fmadd_ps(a1, _mm256_loadu_ps(x[r] + k + 8), s[r][1]);
            }
        }
        for (int r = 0; r < rows; r++) {
            float v = hsum256(_mm256_add_ps(s[r][0], s[r][1]));
            for (int64_t kk = k; kk < K; kk++) v += a[kk] * x[r][kk];
            y[r][m] = v + (bias ? bias[m] : 0.0f);
        }
    }
}

static inline __m256 act8(__m256 v, const fcn_dw_args *a)
{
    switch (a->act) {
    case FCN_ACT_RELU: return _mm256_max_ps(v, _mm256_setzero_ps());
    case FCN_ACT_CLIP:
        return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(a->act_alpha)), _mm256_set1_ps(a->act_beta));
    default: return v;
    }
}

/* Interior output columns (whose taps are all inside the row) are computed 8 at a time; the
 * border columns fall back to the scalar formula. */
void fcn_dwconv_avx2(const fcn_dw_args *a, int64_t c0, int64_t c1)
{
    int vec_act = a->act == FCN_ACT_NONE || a->act == FCN_ACT_RELU || a->act == FCN_ACT_CLIP;
    /* columns ox with 0 <= ox*sw - pw and ox*sw - pw + (kw-1)*dw < W */
    int64_t x_lo = (a->pw + a->sw - 1) / a->sw;
    int64_t x_hi = a->W - 1 - (a->kw - 1) * a->dw + a->pw;   /* last ix start allowed */
    x_hi = x_hi < 0 ? -1 : x_hi / a->sw;
    if (x_hi >= a->Wo) x_hi = a->Wo - 1;
    float wk[64];
    for (int64_t c = c0; c < c1; c++) {
        const float *in = a->in + c * a->H * a->W;
        float *out = a->out + c * a->Ho * a->Wo;
        const float *w = a->w + c * a->kh * a->kw;
        float b = a->bias ? a->bias[c] : 0.0f;
        int small = a->kh * a->kw <= 64;
        if (small) memcpy(wk, w, sizeof(float) * (size_t)(a->kh * a->kw));
        for (int64_t oy = 0; oy < a->Ho; oy++) {
            float *orow = out + oy * a->Wo;
            for (int64_t ox = 0; ox < a->Wo; ox++) {
                if (small && ox >= x_lo && ox + 7 <= x_hi && (a->sw == 1 ||
                    (a->sw == 2 && (ox + 7) * 2 - a->pw + (a->kw - 1) * a->dw + 1 < a->W))) {
                    __m256 s = _mm256_set1_ps(b);
                    for (int64_t ky = 0; ky < a->kh; ky++) {
                        int64_t iy = oy * a->sh - a->ph + ky * a->dh;
                        if (iy < 0 || iy >= a->H) continue;
                        const float *irow = in + iy * a->W;
                        for (int64_t kx = 0; kx < a->kw; kx++) {
                            const float *p = irow + ox * a->sw - a->pw + kx * a->dw;
                            __m256 v;
                            if (a->sw == 1) {
                                v = _mm256_loadu_ps(p);
                            } else {   /* stride 2: even lanes of 16 consecutive floats */
                                __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
                                __m256 ev = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
                                v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev),
                                                                          _MM_SHUFFLE(3, 1, 2, 0)));
                            }
                            s = _mm256_fmadd_ps(v, _mm256_set1_ps(wk[ky * a->kw + kx]), s);
                        }
                    }
                    if (vec_act) {
                        _mm256_storeu_ps(orow + ox, act8(s, a));
                    } else {
                        _mm256_storeu_ps(orow + ox, s);
                        fcn_act_apply(a->act, a->act_alpha, a->act_beta, orow + ox, 8);
                    }
                    ox += 7;
                    continue;
                }
                float s = b;
                for (int64_t ky = 0; ky < a->kh; ky++) {
                    int64_t iy = oy * a->sh - a->ph + ky * a->dh;
                    if (iy < 0 || iy >= a->H) continue;
                    for (int64_t kx = 0; kx < a->kw; kx++) {
                        int64_t ix = ox * a->sw - a->pw + kx * a->dw;
                        if (ix < 0 || ix >= a->W) continue;
                        s += in[iy * a->W + ix] * w[ky * a->kw + kx];
                    }
                }
                orow[ox] = s;
                fcn_act_apply(a->act, a->act_alpha, a->act_beta, orow + ox, 1);
            }
        }
    }
}
