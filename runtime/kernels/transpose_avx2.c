/* transpose_avx2.c — the 8×8 register transpose used to pack weights (A panels of the SGEMM,
 * Winograd's U panels): packing is a transpose of each mr-row panel, and done scalar it cost as
 * much as computing U. Callers check AVX2 first (fcn_simd_enabled). */
#include <immintrin.h>
#include "runtime/kernels/kernels.h"

/* dst[c*ldd + i] = src[i*lds + c] for 8 rows i and c < n. */
void fcn_transpose_rows8_avx2(const float *src, int64_t lds, int64_t n, float *dst, int64_t ldd)
{
    int64_t c = 0;
    for (; c + 8 <= n; c += 8) {
        __m256 r0 = _mm256_loadu_ps(src + 0 * lds + c), r1 = _mm256_loadu_ps(src + 1 * lds + c);
        __m256 r2 = _mm256_loadu_ps(src + 2 * lds + c), r3 = _mm256_loadu_ps(src + 3 * lds + c);
        __m256 r4 = _mm256_loadu_ps(src + 4 * lds + c), r5 = _mm256_loadu_ps(src + 5 * lds + c);
        __m256 r6 = _mm256_loadu_ps(src + 6 * lds + c), r7 = _mm256_loadu_ps(src + 7 * lds + c);
        __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
        __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        float *d = dst + c * ldd;
        _mm256_storeu_ps(d + 0 * ldd, _mm256_permute2f128_ps(s0, s4, 0x20));
        _mm256_storeu_ps(d + 1 * ldd, _mm256_permute2f128_ps(s1, s5, 0x20));
        _mm256_storeu_ps(d + 2 * ldd, _mm256_permute2f128_ps(s2, s6, 0x20));
        _mm256_storeu_ps(d + 3 * ldd, _mm256_permute2f128_ps(s3, s7, 0x20));
        _mm256_storeu_ps(d + 4 * ldd, _mm256_permute2f128_ps(s0, s4, 0x31));
        _mm256_storeu_ps(d + 5 * ldd, _mm256_permute2f128_ps(s1, s5, 0x31));
        _mm256_storeu_ps(d + 6 * ldd, _mm256_permute2f128_ps(s2, s6, 0x31));
        _mm256_storeu_ps(d + 7 * ldd, _mm256_permute2f128_ps(s3, s7, 0x31));
    }
    for (; c < n; c++)
        for (int i = 0; i < 8; i++) dst[c * ldd + i] = src[i * lds + c];
}
