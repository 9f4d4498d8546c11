/* convert.h — expanding stored fp16 / int8 weights to fp32 at session creation (session.c).
 * The _ref functions are the portable twins; the _avx2 ones (convert_avx2.c, F16C/AVX2) are
 * called only when fcn_simd_enabled(). Results are identical: fp16 → fp32 is exact, and the
 * dequantization is one float multiply per weight in both. */
#ifndef FCN_CONVERT_H
#define FCN_CONVERT_H
#include <stddef.h>
#include <stdint.h>

/* dst[i] = the float value of the IEEE half src[i] (src may be unaligned: it is the file). */
void fcn_f16_expand_ref(const void *src, float *dst, size_t n);
void fcn_f16_expand_avx2(const void *src, float *dst, size_t n);
/* Symmetric per-channel int8: dst[c*per + k] = (float)q[c*per + k] * scale[c]. */
void fcn_dequant_i8_ref(const int8_t *q, const float *scale, size_t channels, size_t per, float *dst);
void fcn_dequant_i8_avx2(const int8_t *q, const float *scale, size_t channels, size_t per, float *dst);
#endif
