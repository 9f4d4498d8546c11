/* sgemm_avx512.c — the AVX-512 twin of the 6×16 AVX2 micro-kernel, for CPUs that have it
 * (selected at session creation by fcn_best_ukernel; FULLCONV_NO_AVX512=1 keeps AVX2).
 *
 * 16×16 tile, one zmm accumulator per row: per k step one 16-float load of the B panel and 16
 * FMAs whose A operand is a broadcast folded into the FMA ({1to16}), so 17 loads feed 16 FMAs.
 * B panels are the same 16-wide panels as the AVX2 path; only A uses 16-row panels.
 * Partial tiles use masked loads/stores: no scalar tail. */
#ifndef __clang__
#pragma GCC target("avx512f,avx512vl,avx2,fma")
#endif
#include <immintrin.h>
#include "runtime/kernels/kernels.h"

#define MR 16

/* clang ignores "#pragma GCC target": the attribute makes the clang builds (fuzz, sanitizers) compile. */
__attribute__((target("avx512f,avx512vl,avx2,fma")))
void fcn_ukernel_16x16_avx512(int64_t k, const float *a, const float *b, float *c, int64_t ldc,
                              int m, int n, int acc, const fcn_epilogue *ep)
{
    __m512 r[MR];
    for (int i = 0; i < MR; i++) r[i] = _mm512_setzero_ps();
    for (int64_t p = 0; p < k; p++, a += MR, b += FCN_NR) {
        __m512 bv = _mm512_load_ps(b);
        r[0] = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), bv, r[0]);
        r[1] = _mm512_fmadd_ps(_mm512_set1_ps(a[1]), bv, r[1]);
        r[2] = _mm512_fmadd_ps(_mm512_set1_ps(a[2]), bv, r[2]);
        r[3] = _mm512_fmadd_ps(_mm512_set1_ps(a[3]), bv, r[3]);
        r[4] = _mm512_fmadd_ps(_mm512_set1_ps(a[4]), bv, r[4]);
        r[5] = _mm512_fmadd_ps(_mm512_set1_ps(a[5]), bv, r[5]);
        r[6] = _mm512_fmadd_ps(_mm512_set1_ps(a[6]), bv, r[6]);
        r[7] = _mm512_fmadd_ps(_mm512_set1_ps(a[7]), bv, r[7]);
        r[8] = _mm512_fmadd_ps(_mm512_set1_ps(a[8]), bv, r[8]);
        r[9] = _mm512_fmadd_ps(_mm512_set1_ps(a[9]), bv, r[9]);
        r[10] = _mm512_fmadd_ps(_mm512_set1_ps(a[10]), bv, r[10]);
        r[11] = _mm512_fmadd_ps(_mm512_set1_ps(a[11]), bv, r[11]);
        r[12] = _mm512_fmadd_ps(_mm512_set1_ps(a[12]), bv, r[12]);
        r[13] = _mm512_fmadd_ps(_mm512_set1_ps(a[13]), bv, r[13]);
        r[14] = _mm512_fmadd_ps(_mm512_set1_ps(a[14]), bv, r[14]);
        r[15] = _mm512_fmadd_ps(_mm512_set1_ps(a[15]), bv, r[15]);
    }
    __mmask16 mask = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
    for (int i = 0; i < m; i++) {
        float *row = c + i * ldc;
        __m512 v = r[i];
        if (acc) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, row));
        if (ep) {
            if (ep->bias) v = _mm512_add_ps(v, _mm512_set1_ps(ep->bias[i]));
            if (ep->residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, ep->residual + i * ldc));
            if (ep->act == FCN_ACT_RELU) v = _mm512_max_ps(v, _mm512_setzero_ps());
            else if (ep->act == FCN_ACT_CLIP)
                v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(ep->lo)), _mm512_set1_ps(ep->hi));
        }
        _mm512_mask_storeu_ps(row, mask, v);
    }
}
