/* crc32_clmul.c — CRC-32 (the zlib/gzip polynomial 0x04C11DB7, bit-reflected) by carry-less
 * multiplication folding, after Gopal et al., "Fast CRC Computation for Generic Polynomials
 * Using PCLMULQDQ Instruction" (Intel, 2009), with the constants of Linux's crc32-pclmul.
 *
 * Identity: CRC is the remainder of M(x)·x^32 mod P(x) over GF(2). A 128-bit chunk A that lies
 * n bits ahead of the rest of the message can be replaced by A·(x^n mod P) added to the rest,
 * which shortens the message without changing the remainder. Four 128-bit accumulators fold
 * 64 bytes per step (constants x^(512±64) mod P), then fold into one (x^(128±64) mod P), then
 * 128 → 64 → 32 bits and a Barrett reduction give the remainder. zlib's braided tables do about
 * 1–2 GB/s here; this does tens of GB/s, so a 100 MB weight section is checked in a few ms.
 * The result is exactly zlib's: tests compare them over lengths 0..4096, all alignments, and MBs.
 *
 * Built with a function-level target attribute (the Makefile compiles only *_avx2.c with SIMD
 * flags); callers check fc_crc32_clmul_available() first. */
#include "common/crc32_clmul.h"

#include <zlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#if defined(__x86_64__) || defined(__i386__)

int fc_crc32_clmul_available(void)
{
    static int cached = -1;   /* -1 unknown; the same value is computed by any racing thread */
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        unsigned eax, ebx, ecx = 0, edx;
        /* CPUID leaf 1: ECX bit 1 PCLMULQDQ, bit 19 SSE4.1 */
        v = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 1)) && (ecx & (1u << 19));
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

/* x^n mod P for the fold distances (bit-reflected, as in Linux crc32-pclmul_asm.S) */
#define K1 0x154442bd4ull   /* x^(4*128+32) mod P */
#define K2 0x1c6e41596ull   /* x^(4*128-32) mod P */
#define K3 0x1751997d0ull   /* x^(128+32) mod P */
#define K4 0x0ccaa009eull   /* x^(128-32) mod P */
#define K5 0x163cd6124ull   /* x^64 mod P */
#define POLY 0x1db710641ull /* P(x), reflected, with the x^32 term */
#define MU 0x1f7011641ull   /* floor(x^64 / P), reflected (Barrett) */
#define CRC_PREFETCH 6144   /* bytes ahead; 4-16 KiB measured alike */

__attribute__((target("pclmul,sse4.1")))
static inline __m128i fold128(__m128i acc, __m128i k, __m128i next)
{
    __m128i lo = _mm_clmulepi64_si128(acc, k, 0x00);
    __m128i hi = _mm_clmulepi64_si128(acc, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

/* crc is the running remainder without zlib's inversions; size >= 64 and a multiple of 16 */
__attribute__((target("pclmul,sse4.1")))
static uint32_t fold_blocks(uint32_t crc, const uint8_t *p, size_t size)
{
    __m128i x1 = _mm_loadu_si128((const __m128i *)p);
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x4 = _mm_loadu_si128((const __m128i *)(p + 48));
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)crc));
    p += 64;
    size -= 64;
    __m128i k = _mm_set_epi64x((long long)K2, (long long)K1);
    while (size >= 64) {
        /* A software prefetch a few pages ahead: the hardware prefetchers stop at each 4 KiB
         * page boundary, and on a 100 MB weight section (read from the page cache, not from
         * any cache) the loop waits for memory, not for the multiplier: 15 -> 9.5 ms for
         * 100 MB here. Only inside the buffer (no pointer past its end is formed). */
        if (size >= CRC_PREFETCH + 64) _mm_prefetch((const char *)p + CRC_PREFETCH, _MM_HINT_T0);
        x1 = fold128(x1, k, _mm_loadu_si128((const __m128i *)p));
        x2 = fold128(x2, k, _mm_loadu_si128((const __m128i *)(p + 16)));
        x3 = fold128(x3, k, _mm_loadu_si128((const __m128i *)(p + 32)));
        x4 = fold128(x4, k, _mm_loadu_si128((const __m128i *)(p + 48)));
        p += 64;
        size -= 64;
    }
    k = _mm_set_epi64x((long long)K4, (long long)K3);
    x1 = fold128(x1, k, x2);
    x1 = fold128(x1, k, x3);
    x1 = fold128(x1, k, x4);
    while (size >= 16) {
        x1 = fold128(x1, k, _mm_loadu_si128((const __m128i *)p));
        p += 16;
        size -= 16;
    }
    /* 128 -> 64 bits (appends 32 zero bits) */
    __m128i t = _mm_clmulepi64_si128(k, x1, 0x01);   /* K4 * x1.low */
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), t);
    /* 64 -> 32 bits */
    const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
    __m128i k5 = _mm_set_epi64x(0, (long long)K5);
    t = _mm_srli_si128(x1, 4);
    x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), k5, 0x00);
    x1 = _mm_xor_si128(x1, t);
    /* Barrett reduction to the 32-bit remainder */
    __m128i pm = _mm_set_epi64x((long long)MU, (long long)POLY);
    t = x1;
    x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), pm, 0x10);
    x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), pm, 0x00);
    x1 = _mm_xor_si128(x1, t);
    return (uint32_t)_mm_extract_epi32(x1, 1);
}

/* zlib for what the folding does not cover (short buffers, the last size % 16 bytes) */
static uint32_t zlib_crc(uint32_t crc, const uint8_t *p, size_t size)
{
    while (size > 0) {
        uInt chunk = size > (1u << 30) ? (1u << 30) : (uInt)size;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        size -= chunk;
    }
    return crc;
}

uint32_t fc_crc32_clmul(uint32_t crc, const void *data, size_t size)
{
    const uint8_t *p = data;
    if (size < 64) return zlib_crc(crc, p, size);
    size_t body = size & ~(size_t)15;
    crc = ~fold_blocks(~crc, p, body);
    return zlib_crc(crc, p + body, size - body);
}

#else /* not x86: never available */

int fc_crc32_clmul_available(void) { return 0; }

uint32_t fc_crc32_clmul(uint32_t crc, const void *data, size_t size)
{
    const Bytef *p = data;
    while (size > 0) {
        uInt chunk = size > (1u << 30) ? (1u << 30) : (uInt)size;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        size -= chunk;
    }
    return crc;
}
#endif
