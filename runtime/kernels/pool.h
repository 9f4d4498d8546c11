/* pool.h — arguments of the vectorized pooling / elementwise kernels (pool_avx2.c). */
#ifndef FCN_POOL_H
#define FCN_POOL_H
#include <stdint.h>

typedef struct fcn_pool_args {
    const float *in; float *out;
    int64_t planes, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw;
} fcn_pool_args;

void fcn_maxpool_avx2(const fcn_pool_args *a, int64_t p0, int64_t p1);
/* 3×3 stride-2 twin with AVX-512 (pool_avx512.c); fcn_maxpool_avx2 hands such pools to it
 * when fcn_avx512_enabled(). */
void fcn_maxpool_k3s2_avx512(const fcn_pool_args *a, int64_t p0, int64_t p1);
/* Any kh, kw <= FCN_POOLK_MAX, horizontal stride 1 or 2 (pool_avx512.c): max (avg 0) or average
 * (avg 1; include_pad: divide by kh·kw, else by the in-image count), masked loads, Q vectors
 * of 16 outputs at once. */
#define FCN_POOLK_MAX 7
int fcn_poolk_avx512_applies(const fcn_pool_args *a);
void fcn_poolk_avx512(const fcn_pool_args *a, int avg, int include_pad, int64_t p0, int64_t p1);
void fcn_gap_avx2(const float *in, float *out, int64_t hw, int64_t p0, int64_t p1);
void fcn_add_avx2(const float *a, const float *b, float *y, int64_t n, int act, float alpha, float beta);
#endif
