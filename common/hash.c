/* hash.c — CRC32 (zlib's, the .fcn section checksum; common/crc32_clmul.c is its fast path)
 * and SHA-256 (FIPS 180-4, our own: the META section records the source model's digest, and
 * we do not want a crypto dependency). */
#include "common/fc_common.h"
#include "common/crc32_clmul.h"

#include <pthread.h>
#include <string.h>
#include <zlib.h>

uint32_t fc_crc32(const void *data, size_t size)
{
    /* Folded PCLMULQDQ when the CPU has it (the same CRC, several times faster: it is what
     * keeps checking a 100 MB DATA section at open cheap); zlib otherwise. */
    if (fc_crc32_clmul_available()) return fc_crc32_clmul(0, data, size);
    uLong c = crc32(0L, Z_NULL, 0);
    const Bytef *p = data;
    /* zlib takes uInt lengths: feed in chunks so buffers over 4 GiB are hashed whole */
    while (size > 0) {
        uInt chunk = size > (1u << 30) ? (1u << 30) : (uInt)size;
        c = crc32(c, p, chunk);
        p += chunk;
        size -= chunk;
    }
    return (uint32_t)c;
}

/* fc_crc32_mt: big buffers are cut into one slice per thread, each slice's CRC computed on
 * its own thread, and the slices' CRCs joined with zlib's crc32_combine (same result as one
 * pass). Reading 200 MB of page cache is memory-bound on one core (~12-17 GB/s here); two
 * cores nearly halve it. Below FC_CRC_MT_MIN bytes, or when a thread cannot be started, the
 * rest is done on the calling thread. */
#define FC_CRC_MT_MIN ((size_t)16 << 20)
#define FC_CRC_MT_MAX 8
typedef struct crc_slice { const uint8_t *p; size_t n; uint32_t crc; } crc_slice;

static void *crc_slice_run(void *arg)
{
    crc_slice *s = arg;
    s->crc = fc_crc32(s->p, s->n);
    return NULL;
}

uint32_t fc_crc32_mt(const void *data, size_t size, int threads)
{
    if (threads > FC_CRC_MT_MAX) threads = FC_CRC_MT_MAX;
    if (threads < 2 || size < FC_CRC_MT_MIN) return fc_crc32(data, size);
    crc_slice sl[FC_CRC_MT_MAX];
    pthread_t tid[FC_CRC_MT_MAX];
    int started[FC_CRC_MT_MAX] = { 0 };
    size_t per = (size / (size_t)threads + 4095) & ~(size_t)4095, at = 0;
    int n = 0;
    for (; n < threads && at < size; n++) {
        sl[n].p = (const uint8_t *)data + at;
        sl[n].n = size - at < per ? size - at : per;
        at += sl[n].n;
    }
    for (int i = 1; i < n; i++) started[i] = pthread_create(&tid[i], NULL, crc_slice_run, &sl[i]) == 0;
    crc_slice_run(&sl[0]);
    uint32_t crc = sl[0].crc;
    for (int i = 1; i < n; i++) {
        if (started[i]) pthread_join(tid[i], NULL);
        else crc_slice_run(&sl[i]);
        crc = (uint32_t)crc32_combine(crc, sl[i].crc, (z_off_t)sl[i].n);
    }
    return crc;
}

/* sha256_ni.c: the same block function on the x86 SHA extensions */
int fc_sha256_ni_available(void);
void fc_sha256_ni_blocks(uint32_t h[8], const uint8_t *p, size_t nblocks);

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t S1 = ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + K[i] + w[i];
        uint32_t S0 = ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void fc_sha256(const void *data, size_t size, uint8_t out[32])
{
    uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    const uint8_t *p = data;
    size_t left = size;
    if (left >= 64 && fc_sha256_ni_available()) {
        size_t nb = left / 64;
        fc_sha256_ni_blocks(h, p, nb);
        p += nb * 64;
        left -= nb * 64;
    }
    while (left >= 64) {
        sha256_block(h, p);
        p += 64;
        left -= 64;
    }
    uint8_t tail[128];
    memset(tail, 0, sizeof tail);
    if (left) memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tlen = (left < 56) ? 64 : 128;
    uint64_t bits = (uint64_t)size * 8u;
    for (int i = 0; i < 8; i++) tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha256_block(h, tail);
    if (tlen == 128) sha256_block(h, tail + 64);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

void fc_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = 0;
}
