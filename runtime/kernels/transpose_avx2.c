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

/* ---- AVX-512: one whole 16-row A panel ----------------------------------------------------
 * dst[k*16 + i] = src[i*lds + k] for i < rows, 0 for rows <= i < 16, k < kc: the panel layout of
 * fcn_pack_a_mr with mr = 16 (the AVX-512 micro-kernel's). 16 columns at a time: 16 loads
 * (masked for the last columns; absent rows are zero registers), a 16×16 in-register transpose
 * (unpack, shuffle within 128-bit lanes, then two rounds of 128-bit lane shuffles), and 16
 * stores that fill 1 KiB of the panel front to back — full 64-byte lines. Through the 8-row AVX2
 * transpose each line was written as two 32-byte halves by two passes over the panel.
 * With stream != 0 and a 64-byte aligned dst the stores bypass the caches (the panel is read
 * again only by inference, after all the other weights have been packed); the caller issues
 * the _mm_sfence (fcn_pack_fence) before the panel is used by another thread. */
__attribute__((target("avx512f")))
static inline void tr16x16_store(__m512 r[16], float *d, int64_t ncols, int stream)
{
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {   /* u[4i+j], 128-bit lane L: rows 4i..4i+3 of column 4L+j */
        u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int j = 0; j < 4; j++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88), w0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xDD);
        __m512 v1 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88), w1 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xDD);
        r[j] = _mm512_shuffle_f32x4(v0, v1, 0x88);        /* column j */
        r[4 + j] = _mm512_shuffle_f32x4(w0, w1, 0x88);    /* column 4+j */
        r[8 + j] = _mm512_shuffle_f32x4(v0, v1, 0xDD);    /* column 8+j */
        r[12 + j] = _mm512_shuffle_f32x4(w0, w1, 0xDD);   /* column 12+j */
    }
    if (ncols == 16 && stream) {
        for (int c = 0; c < 16; c++) _mm512_stream_ps(d + 16 * c, r[c]);
    } else {
        for (int c = 0; c < ncols; c++) _mm512_storeu_ps(d + 16 * c, r[c]);
    }
}

__attribute__((target("avx512f")))
void fcn_pack_panel16_avx512(const float *src, int64_t lds, int rows, int64_t kc, float *dst, int stream)
{
    stream = stream && ((uintptr_t)dst % 64) == 0;
    __m512 r[16];
    int64_t c = 0;
    for (; c + 16 <= kc; c += 16) {
        for (int i = 0; i < 16; i++) r[i] = i < rows ? _mm512_loadu_ps(src + i * lds + c) : _mm512_setzero_ps();
        tr16x16_store(r, dst + c * 16, 16, stream);
    }
    if (c < kc) {
        __mmask16 m = (__mmask16)((1u << (kc - c)) - 1);
        for (int i = 0; i < 16; i++) r[i] = i < rows ? _mm512_maskz_loadu_ps(m, src + i * lds + c) : _mm512_setzero_ps();
        tr16x16_store(r, dst + c * 16, kc - c, stream);
    }
}

void fcn_pack_fence(void) { _mm_sfence(); }
