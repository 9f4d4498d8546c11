/* crc32_clmul.h — the PCLMULQDQ-folded CRC-32 behind fc_crc32 (common/hash.c). Private to
 * common/ and its tests: everyone else calls fc_crc32. */
#ifndef FC_CRC32_CLMUL_H
#define FC_CRC32_CLMUL_H
#include <stddef.h>
#include <stdint.h>

/* 1 when this CPU has PCLMULQDQ and SSE4.1 (cpuid, checked once). */
int fc_crc32_clmul_available(void);
/* zlib's crc32(crc, data, size), bit for bit (same polynomial, same pre/post inversion), for
 * any size and alignment; only call when fc_crc32_clmul_available(). */
uint32_t fc_crc32_clmul(uint32_t crc, const void *data, size_t size);
#endif
