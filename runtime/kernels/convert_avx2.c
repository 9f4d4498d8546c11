/* convert_avx2.c — fp16 expansion with F16C and int8 dequantization with AVX2, for session
 * creation (runtime/kernels/convert.h). Both are exact twins of the portable loops in
 * session.c: vcvtph2ps converts every half (normals, subnormals, ±0, ±inf, NaN payloads)
 * exactly as fc_f16_to_f32 does, and the int8 path does the same single multiply per weight
 * (no FMA involved). Stores are unaligned-safe; sources are the mapped file. */
#include <immintrin.h>
#include <string.h>

#include "common/fc_common.h"
#include "runtime/kernels/convert.h"

void fcn_f16_expand_avx2(const void *src, float *dst, size_t n)
{
    const uint8_t *p = src;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m128i h0 = _mm_loadu_si128((const __m128i *)(p + 2 * i));
        __m128i h1 = _mm_loadu_si128((const __m128i *)(p + 2 * i + 16));
        __m128i h2 = _mm_loadu_si128((const __m128i *)(p + 2 * i + 32));
        __m128i h3 = _mm_loadu_si128((const __m128i *)(p + 2 * i + 48));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h0));
        _mm256_storeu_ps(dst + i + 8, _mm256_cvtph_ps(h1));
        _mm256_storeu_ps(dst + i + 16, _mm256_cvtph_ps(h2));
        _mm256_storeu_ps(dst + i + 24, _mm256_cvtph_ps(h3));
    }
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 2 * i))));
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        dst[i] = fc_f16_to_f32(h);
    }
}

void fcn_dequant_i8_avx2(const int8_t *q, const float *scale, size_t channels, size_t per, float *dst)
{
    for (size_t c = 0; c < channels; c++) {
        const int8_t *src = q + c * per;
        float *out = dst + c * per;
        const __m256 s = _mm256_set1_ps(scale[c]);
        size_t k = 0;
        for (; k + 32 <= per; k += 32) {
            __m256i b = _mm256_loadu_si256((const __m256i *)(src + k));
            __m128i lo = _mm256_castsi256_si128(b), hi = _mm256_extracti128_si256(b, 1);
            _mm256_storeu_ps(out + k, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), s));
            _mm256_storeu_ps(out + k + 8,
                             _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), s));
            _mm256_storeu_ps(out + k + 16, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), s));
            _mm256_storeu_ps(out + k + 24,
                             _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), s));
        }
        for (; k + 8 <= per; k += 8) {
            __m128i b = _mm_loadl_epi64((const __m128i *)(src + k));
            _mm256_storeu_ps(out + k, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b)), s));
        }
        for (; k < per; k++) out[k] = (float)src[k] * scale[c];
    }
}
