/* sgemm_avx2.c — AVX2+FMA twins of the portable kernels in sgemm.c (built with -mavx2 -mfma;
 * only called after cpuid said so, see cpu.c).
 *
 * 6×16 micro-kernel: per k step, two 8-float loads of the B panel and six broadcasts of A
 * feed 12 FMAs into 12 ymm accumulators (6 rows × 16 columns); 2 loads + 6 broadcasts per
 * 12 FMAs keeps both FMA ports busy on Zen3/Skylake. */
#include <immintrin.h>
#include <string.h>
#include "runtime/kernels/kernels.h"

static inline __m256 finish8(__m256 v, const fcn_epilogue *ep, int r, const float *res)
{
    if (ep->bias) v = _mm256_add_ps(v, _mm256_set1_ps(ep->bias[r]));
    if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res));
    if (ep->act == FCN_ACT_RELU) v = _mm256_max_ps(v, _mm256_setzero_ps());
    else if (ep->act == FCN_ACT_CLIP)
        v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(ep->lo)), _mm256_set1_ps(ep->hi));
    return v;
}

void fcn_ukernel_6x16_avx2(int64_t k, const float *a, const float *b, float *c, int64_t ldc,
                           int m, int n, int acc, const fcn_epilogue *ep)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int64_t p = 0; p < k; p++, a += FCN_MR, b += FCN_NR) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        /* the A stream (packed weights) 4.5 KB ahead: see sgemm_avx512.c */
        _mm_prefetch((const char *)(a + 3 * FCN_A_PREFETCH * FCN_MR), _MM_HINT_T0);
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
            if (ep) {
                const float *res = ep->residual ? ep->residual + i * ldc : NULL;
                v0 = finish8(v0, ep, i, res);
                v1 = finish8(v1, ep, i, res ? res + 8 : NULL);
            }
            _mm256_storeu_ps(row, v0);
            _mm256_storeu_ps(row + 8, v1);
        }
        return;
    }
    float t[FCN_NR], rs[FCN_NR];
    for (int i = 0; i < m; i++) {
        float *row = c + i * ldc;
        __m256 v0 = r[i][0], v1 = r[i][1];
        if (acc) {
            for (int j = 0; j < FCN_NR; j++) t[j] = j < n ? row[j] : 0.0f;
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(t));
            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(t + 8));
        }
        if (ep) {
            const float *res = NULL;
            if (ep->residual) {
                for (int j = 0; j < FCN_NR; j++) rs[j] = j < n ? ep->residual[i * ldc + j] : 0.0f;
                res = rs;
            }
            v0 = finish8(v0, ep, i, res);
            v1 = finish8(v1, ep, i, res ? res + 8 : NULL);
        }
        _mm256_storeu_ps(t, v0);
        _mm256_storeu_ps(t + 8, v1);
        for (int j = 0; j < n; j++) row[j] = t[j];
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
/* One input row (batch 1, the common case): 4 weight rows at a time, so 4 sequential streams
 * are in flight instead of 1 — a single stream left the FC layers of AlexNet/VGG at about half
 * the memory bandwidth ORT reaches — and each x load feeds 4 FMAs. */
/* Rows shorter than this (4 KB) go one at a time, one sequential stream: a classifier after
 * global average pooling, its weights cold in memory by the time the model reaches it, read
 * faster that way on Zen 4 (node minima inside the model, one thread: RegNet-X-400MF's 400 →
 * 1000 0.098–0.104 → 0.070 ms, ResNet-18's 512 → 1000 0.114 → 0.097; two threads 0.066 → 0.054)
 * while 1024 or more a row wanted the four streams (DenseNet-121's 1024 → 1000 0.195 against
 * 0.222–0.224 one at a time, MobileNetV2's 1280 0.236–0.258 against 0.279–0.282, ResNet-50's 2048
 * 0.389–0.395 against 0.468–0.472). The same sums either way: the loop below adds a row's terms
 * in the same two chains. */
#define GEMV_STREAMS_MIN_K 1024

/* floats ahead in each weight row: ~3 KB, a DRAM latency's worth of the 4 streams (Xeon). On
 * Zen 4 the hardware prefetchers alone do better: AlexNet's 151 MB FC layer 6.6–6.9 → 5.7–5.8 ms
 * without the software prefetches, 19–23 → 26 GB/s (docs/KERNELS.md, session 14). */
#define GEMV_PREFETCH 768

__attribute__((always_inline)) static inline int64_t gemv_1x4(const float *A, int64_t K, int64_t m0, int64_t m1,
                                                              const float *x, const float *bias, float *y,
                                                              const int prefetch)
{
    int64_t m = m0;
    for (; m + 4 <= m1; m += 4) {
        const float *a0 = A + m * K, *a1 = a0 + K, *a2 = a1 + K, *a3 = a2 + K;
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
        __m256 t0 = _mm256_setzero_ps(), t1 = _mm256_setzero_ps(), t2 = _mm256_setzero_ps(), t3 = _mm256_setzero_ps();
        int64_t k = 0;
        for (; k + 16 <= K; k += 16) {
            if (prefetch) {
                _mm_prefetch((const char *)(a0 + k + GEMV_PREFETCH), _MM_HINT_T0);
                _mm_prefetch((const char *)(a1 + k + GEMV_PREFETCH), _MM_HINT_T0);
                _mm_prefetch((const char *)(a2 + k + GEMV_PREFETCH), _MM_HINT_T0);
                _mm_prefetch((const char *)(a3 + k + GEMV_PREFETCH), _MM_HINT_T0);
            }
            __m256 xa = _mm256_loadu_ps(x + k), xb = _mm256_loadu_ps(x + k + 8);
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a0 + k), xa, s0);
            t0 = _mm256_fmadd_ps(_mm256_loadu_ps(a0 + k + 8), xb, t0);
            s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a1 + k), xa, s1);
            t1 = _mm256_fmadd_ps(_mm256_loadu_ps(a1 + k + 8), xb, t1);
            s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a2 + k), xa, s2);
            t2 = _mm256_fmadd_ps(_mm256_loadu_ps(a2 + k + 8), xb, t2);
            s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a3 + k), xa, s3);
            t3 = _mm256_fmadd_ps(_mm256_loadu_ps(a3 + k + 8), xb, t3);
        }
        float v[4] = { hsum256(_mm256_add_ps(s0, t0)), hsum256(_mm256_add_ps(s1, t1)),
                       hsum256(_mm256_add_ps(s2, t2)), hsum256(_mm256_add_ps(s3, t3)) };
        for (int i = 0; i < 4; i++) {
            const float *a = A + (m + i) * K;
            for (int64_t kk = k; kk < K; kk++) v[i] += a[kk] * x[kk];
            y[m + i] = v[i] + (bias ? bias[m + i] : 0.0f);
        }
    }
    return m;
}

/* Eight weight rows at a time, for rows of 1024 floats or more whose weights come from memory
 * (not warm) on AMD: eight sequential streams instead of four. Zen 4, the classifier's node
 * minima at one thread: MobileNetV2's 1280 → 1000 0.206–0.224 → 0.164–0.197 ms, MnasNet's
 * 0.234–0.247 → 0.159–0.205, EfficientNet-B0's 0.26–0.28 → 0.22, GoogLeNet's 1024 → 1000 0.214 →
 * 0.186, ResNet-50's and ResNeXt-50's 2048 → 1000 0.36 → 0.31–0.32, DenseNet-121's 0.20 → 0.19–0.20;
 * AlexNet's and VGG-11's 151 and 103 MB layers (memory-bound) unchanged. Warm weights (MobileNetV3-
 * small's) did as well or better with four. Each row the same two chains as gemv_1x4: the same bits. */
__attribute__((always_inline)) static inline int64_t gemv_1x8(const float *A, int64_t K, int64_t m0, int64_t m1,
                                                              const float *x, const float *bias, float *y)
{
    int64_t m = m0;
    for (; m + 8 <= m1; m += 8) {
        const float *a[8];
        __m256 s[8], t[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            a[i] = A + (m + i) * K;
            s[i] = t[i] = _mm256_setzero_ps();
        }
        int64_t k = 0;
        for (; k + 16 <= K; k += 16) {
            __m256 xa = _mm256_loadu_ps(x + k), xb = _mm256_loadu_ps(x + k + 8);
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) {
                s[i] = _mm256_fmadd_ps(_mm256_loadu_ps(a[i] + k), xa, s[i]);
                t[i] = _mm256_fmadd_ps(_mm256_loadu_ps(a[i] + k + 8), xb, t[i]);
            }
        }
        for (int i = 0; i < 8; i++) {
            float v = hsum256(_mm256_add_ps(s[i], t[i]));
            for (int64_t kk = k; kk < K; kk++) v += a[i][kk] * x[kk];
            y[m + i] = v + (bias ? bias[m + i] : 0.0f);
        }
    }
    return m;
}

/* 2 to 4 input rows (`rows` a constant where inlined): two weight rows at a time, one
 * accumulator per (weight row, input row) — eight at most, in registers — so two sequential
 * streams are in flight and each x load feeds two FMAs. The loop below it, with `rows` a
 * variable, kept its accumulators on the stack: a 9216 → 4096 layer at batch 4 streamed its
 * weights at 8 GB/s. */
__attribute__((always_inline)) static inline int64_t gemv_2xr(const float *A, int64_t K, int64_t m0, int64_t m1,
                                                              const float *const *x, const int rows,
                                                              const float *bias, float *const *y)
{
    int64_t m = m0;
    for (; m < m1; m += 2) {
        /* a last single row is computed as the pair's first one (the second a copy of it): the
         * same sums wherever a thread's range starts, so the same bits on any thread count */
        const float *a0 = A + m * K, *a1 = m + 1 < m1 ? a0 + K : a0;
        __m256 s0[4], s1[4];
        for (int r = 0; r < rows; r++) s0[r] = s1[r] = _mm256_setzero_ps();
        int64_t k = 0;
        for (; k + 8 <= K; k += 8) {
            __m256 w0 = _mm256_loadu_ps(a0 + k), w1 = _mm256_loadu_ps(a1 + k);
            for (int r = 0; r < rows; r++) {
                __m256 xr = _mm256_loadu_ps(x[r] + k);
                s0[r] = _mm256_fmadd_ps(w0, xr, s0[r]);
                s1[r] = _mm256_fmadd_ps(w1, xr, s1[r]);
            }
        }
        for (int r = 0; r < rows; r++) {
            float v0 = hsum256(s0[r]), v1 = hsum256(s1[r]);
            for (int64_t kk = k; kk < K; kk++) {
                v0 += a0[kk] * x[r][kk];
                v1 += a1[kk] * x[r][kk];
            }
            y[r][m] = v0 + (bias ? bias[m] : 0.0f);
            if (m + 1 < m1) y[r][m + 1] = v1 + (bias ? bias[m + 1] : 0.0f);
        }
    }
    return m1;
}

__attribute__((always_inline)) static inline void gemv(const float *A, int64_t K, int64_t m0, int64_t m1,
                                                     const float *const *x, int rows, const float *bias,
                                                     float *const *y, const int warm)
{
    if (rows == 1 && (warm || K >= GEMV_STREAMS_MIN_K)) {
        int amd = fcn_cpu_is_amd();
        if (amd && !warm) m0 = gemv_1x8(A, K, m0, m1, x[0], bias, y[0]);
        m0 = amd ? gemv_1x4(A, K, m0, m1, x[0], bias, y[0], 0) : gemv_1x4(A, K, m0, m1, x[0], bias, y[0], 1);
    } else if (rows == 2)
        m0 = gemv_2xr(A, K, m0, m1, x, 2, bias, y);
    else if (rows == 3)
        m0 = gemv_2xr(A, K, m0, m1, x, 3, bias, y);
    else if (rows == 4)
        m0 = gemv_2xr(A, K, m0, m1, x, 4, bias, y);
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

void fcn_gemv_avx2(const float *A, int64_t K, int64_t m0, int64_t m1,
                   const float *const *x, int rows, const float *bias, float *const *y)
{
    gemv(A, K, m0, m1, x, rows, bias, y, 0);
}

/* Four weight rows at a time at any K: for weights that stay in the L3 between runs (a model
 * small enough, fcn_node.weights_warm), where four streams beat one whatever the row length —
 * MobileNetV3-small's 576 → 1024 classifier 0.109 → 0.031–0.034 ms, its weights 2.4 MB of a
 * 10 MB model (one thread, node minima). The same bits as fcn_gemv_avx2. */
void fcn_gemv_warm_avx2(const float *A, int64_t K, int64_t m0, int64_t m1,
                        const float *const *x, int rows, const float *bias, float *const *y)
{
    gemv(A, K, m0, m1, x, rows, bias, y, 1);
}


/* y[n] = fma(x, w[n], y[n]) for one column outside the 8-lane steps (the same rounding as the lanes) */
static inline float fma1(float x, float w, float y)
{
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(x), _mm_set_ss(w), _mm_set_ss(y)));
}

/* Columns in chunks of at most this many floats (16 KB of y, kept in L1 while every listed weight
 * row streams past it once). */
#define GEMV_COLS_CHUNK 4096

/* Four listed rows at a time: four sequential weight streams in flight, and y loaded and stored
 * once per four rows. Each y[n] still takes its terms one by one in list order. */
void fcn_gemv_cols_avx2(const float *B, int64_t ldb, const int32_t *nz, const float *xv, int64_t nnz,
                        int64_t n0, int64_t n1, const float *bias, float *y)
{
    for (int64_t c0 = n0; c0 < n1; c0 += GEMV_COLS_CHUNK) {
        int64_t c1 = n1 - c0 < GEMV_COLS_CHUNK ? n1 : c0 + GEMV_COLS_CHUNK;
        if (bias)
            memcpy(y + c0, bias + c0, sizeof(float) * (size_t)(c1 - c0));
        else
            memset(y + c0, 0, sizeof(float) * (size_t)(c1 - c0));
        int64_t i = 0;
        for (; i + 4 <= nnz; i += 4) {
            const float *w0 = B + nz[i] * ldb, *w1 = B + nz[i + 1] * ldb;
            const float *w2 = B + nz[i + 2] * ldb, *w3 = B + nz[i + 3] * ldb;
            __m256 x0 = _mm256_set1_ps(xv[i]), x1 = _mm256_set1_ps(xv[i + 1]);
            __m256 x2 = _mm256_set1_ps(xv[i + 2]), x3 = _mm256_set1_ps(xv[i + 3]);
            int64_t n = c0;
            for (; n + 16 <= c1; n += 16) {
                __m256 a = _mm256_loadu_ps(y + n), b = _mm256_loadu_ps(y + n + 8);
                a = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w0 + n), a);
                b = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w0 + n + 8), b);
                a = _mm256_fmadd_ps(x1, _mm256_loadu_ps(w1 + n), a);
                b = _mm256_fmadd_ps(x1, _mm256_loadu_ps(w1 + n + 8), b);
                a = _mm256_fmadd_ps(x2, _mm256_loadu_ps(w2 + n), a);
                b = _mm256_fmadd_ps(x2, _mm256_loadu_ps(w2 + n + 8), b);
                a = _mm256_fmadd_ps(x3, _mm256_loadu_ps(w3 + n), a);
                b = _mm256_fmadd_ps(x3, _mm256_loadu_ps(w3 + n + 8), b);
                _mm256_storeu_ps(y + n, a);
                _mm256_storeu_ps(y + n + 8, b);
            }
            for (; n + 8 <= c1; n += 8) {
                __m256 a = _mm256_loadu_ps(y + n);
                a = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w0 + n), a);
                a = _mm256_fmadd_ps(x1, _mm256_loadu_ps(w1 + n), a);
                a = _mm256_fmadd_ps(x2, _mm256_loadu_ps(w2 + n), a);
                a = _mm256_fmadd_ps(x3, _mm256_loadu_ps(w3 + n), a);
                _mm256_storeu_ps(y + n, a);
            }
            for (; n < c1; n++)
                y[n] = fma1(xv[i + 3], w3[n], fma1(xv[i + 2], w2[n], fma1(xv[i + 1], w1[n], fma1(xv[i], w0[n], y[n]))));
        }
        for (; i < nnz; i++) {
            const float *w0 = B + nz[i] * ldb;
            __m256 x0 = _mm256_set1_ps(xv[i]);
            int64_t n = c0;
            for (; n + 8 <= c1; n += 8)
                _mm256_storeu_ps(y + n, _mm256_fmadd_ps(x0, _mm256_loadu_ps(w0 + n), _mm256_loadu_ps(y + n)));
            for (; n < c1; n++) y[n] = fma1(xv[i], w0[n], y[n]);
        }
    }
}

/* Batches of `R` input rows (2–4) over one list (the union of their nonzero positions; xv holds
 * R values a position, zeros included): two listed rows at a time, each weight vector loaded
 * once for the R outputs. Each y[r][n] takes its terms one by one in list order, as in the
 * one-row kernel. The y chunks stay 4096 floats a row (64 KB for 4 rows, in L2): shorter ones cut
 * every weight row into pieces the prefetcher takes as new streams (4 dense rows, 9216 → 4096, one
 * thread: 19.9–20.3 ms with 1024 a row, 15.3–15.7 with 2048, 13.3–13.8 with 4096; the row
 * product 13.0–13.2). */
static inline __attribute__((always_inline)) void cols_batch(const float *B, int64_t ldb, const int32_t *nz,
                                                             const float *xv, int64_t nnz, int64_t c0, int64_t c1,
                                                             float *y, int64_t ldy, const int R)
{
    int64_t i = 0;
    for (; i + 2 <= nnz; i += 2) {
        const float *w0 = B + nz[i] * ldb, *w1 = B + nz[i + 1] * ldb;
        const float *x0 = xv + i * R, *x1 = x0 + R;
        __m256 a[4], b[4];
        for (int r = 0; r < R; r++) {
            a[r] = _mm256_set1_ps(x0[r]);
            b[r] = _mm256_set1_ps(x1[r]);
        }
        int64_t n = c0;
        for (; n + 8 <= c1; n += 8) {
            __m256 u = _mm256_loadu_ps(w0 + n), v = _mm256_loadu_ps(w1 + n);
            for (int r = 0; r < R; r++) {
                float *yr = y + r * ldy + n;
                _mm256_storeu_ps(yr, _mm256_fmadd_ps(b[r], v, _mm256_fmadd_ps(a[r], u, _mm256_loadu_ps(yr))));
            }
        }
        for (; n < c1; n++)
            for (int r = 0; r < R; r++) y[r * ldy + n] = fma1(x1[r], w1[n], fma1(x0[r], w0[n], y[r * ldy + n]));
    }
    for (; i < nnz; i++) {
        const float *w0 = B + nz[i] * ldb, *x0 = xv + i * R;
        for (int r = 0; r < R; r++) {
            __m256 a = _mm256_set1_ps(x0[r]);
            float *yr = y + r * ldy;
            int64_t n = c0;
            for (; n + 8 <= c1; n += 8)
                _mm256_storeu_ps(yr + n, _mm256_fmadd_ps(a, _mm256_loadu_ps(w0 + n), _mm256_loadu_ps(yr + n)));
            for (; n < c1; n++) yr[n] = fma1(x0[r], w0[n], yr[n]);
        }
    }
}

void fcn_gemv_cols_rows_avx2(const float *B, int64_t ldb, const int32_t *nz, const float *xv, int rows, int64_t nnz,
                             int64_t n0, int64_t n1, const float *bias, float *y, int64_t ldy)
{
    if (rows == 1) {
        fcn_gemv_cols_avx2(B, ldb, nz, xv, nnz, n0, n1, bias, y);
        return;
    }
    for (int64_t c0 = n0; c0 < n1; c0 += GEMV_COLS_CHUNK) {
        int64_t c1 = n1 - c0 < GEMV_COLS_CHUNK ? n1 : c0 + GEMV_COLS_CHUNK;
        for (int r = 0; r < rows; r++) {
            if (bias)
                memcpy(y + r * ldy + c0, bias + c0, sizeof(float) * (size_t)(c1 - c0));
            else
                memset(y + r * ldy + c0, 0, sizeof(float) * (size_t)(c1 - c0));
        }
        if (rows == 2) cols_batch(B, ldb, nz, xv, nnz, c0, c1, y, ldy, 2);
        else if (rows == 3) cols_batch(B, ldb, nz, xv, nnz, c0, c1, y, ldy, 3);
        else cols_batch(B, ldb, nz, xv, nnz, c0, c1, y, ldy, 4);
    }
}
