/* lanes512.h — the lane masks the AVX-512 kernels load and store rows with (dwconv_avx512.c,
 * pool_avx512.c, gconv_avx512.c). Plain integer code: no AVX-512 needed to include it. */
#ifndef FCN_LANES512_H
#define FCN_LANES512_H
#include <stdint.h>

/* lanes l of a 16-float access at column x with 0 <= x + l < n (as a __mmask16) */
static inline uint16_t fcn_span_mask16(int64_t x, int64_t n)
{
    if (x >= 0 && x + 16 <= n) return 0xFFFF;
    int64_t lo = x < 0 ? -x : 0, hi = n - x;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (uint16_t)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* the first n lanes (n clamped to [0, 16]) */
static inline uint16_t fcn_first_lanes16(int64_t n)
{
    return n >= 16 ? 0xFFFF : n <= 0 ? 0 : (uint16_t)((1u << n) - 1u);
}
#endif
