/* sgemm_avx512.c — the AVX-512 twin of the 6×16 AVX2 micro-kernel, for CPUs that have it
 * (selected at session creation by fcn_best_ukernel; FULLCONV_NO_AVX512=1 keeps AVX2).
 *
 * 16×16 tile, one zmm accumulator per row: per k step one 16-float load of the B panel and 16
 * FMAs whose A operand is a broadcast folded into the FMA ({1to16}), so 17 loads feed 16 FMAs.
 * B panels are the same 16-wide panels as the AVX2 path; only A uses 16-row panels.
 * Partial tiles use masked loads/stores: no scalar tail.
 *
 * A tile with few columns (n <= 8: the last panel of a 7×7 map's 49 pixels, of a 13×13 map's
 * 169) would still pay for all 16: those go to the column kernel below, which turns the tile
 * around — one zmm of 16 rows per column, the A panel row as the vector, the B values
 * broadcast — so it costs n/16 of a full tile. Its columns are strided in C: stored with
 * masked scatters (gathers when accumulating), once per K block.
 *
 * Both prefetch the A panel FCN_A_PREFETCH k steps (4 KB) ahead: packed weights are one long
 * sequential stream per layer (the next panel follows the current one), and at batch 1 a layer
 * uses each weight for only a few B panels, so it waits on that stream — the hardware
 * prefetchers alone left ResNet-18's 7×7 and 14×14 layers 35 % slower (whole model 22.0 →
 * 18.3 ms). One prefetch per k step; when A is already in L1 it costs a load slot. */
#ifndef __clang__
#pragma GCC target("avx512f,avx512vl,avx2,fma")
#endif
#include <immintrin.h>
#include <stdint.h>
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/transpose512.h"

#define MR 16
/* the packing tile's prefetch distance down B's rows (each row its own stream, one line a tile):
 * 256→128 at 56×56, ms: none 1.85, 4 rows 1.845, 8 1.825, 16 1.815, 32–128 1.81 */
#define B_PREFETCH_ROWS 32

/* n (<= 8) columns of a 16-row tile, NC a compile-time count so the column loop unrolls. With
 * SPLIT, 4 columns or fewer keep two partial sums per column (even and odd k) so that at least
 * 4 FMA chains are in flight; that rounds differently from the full tile, so a column's result
 * depends on how many columns share its panel. The GEMM's panels are fixed by the matrix, but
 * Winograd's are blocks of tile rows sized by the thread count, so it takes the unsplit kernel
 * (fcn_ukernel_16x16_avx512_ordered) and gives the same bits at any thread count. ldc * 16 fits
 * in int32 (checked by the caller). */
__attribute__((target("avx512f,avx512vl,avx2,fma"), always_inline))
static inline void cols_kernel(int NC, int SPLIT, int64_t k, const float *a, const float *b, int64_t bs, float *c,
                               int64_t ldc, int m, int acc, const fcn_epilogue *ep)
{
    __m512 s0[8], s1[8];
    /* every j loop unrolled: rolled, GCC kept s0/s1 in a stack array (zeroed with rep stos, each
     * FMA a load and a store: 7×7 Winograd blocks of 8 tiles ran at 33 GFLOP/s on Zen 4) */
#pragma GCC unroll 8
    for (int j = 0; j < NC; j++) s0[j] = s1[j] = _mm512_setzero_ps();
    int64_t p = 0;
    if (SPLIT && NC <= 4) {
        for (; p + 2 <= k; p += 2, a += 2 * MR, b += 2 * bs) {
            _mm_prefetch((const char *)(a + FCN_A_PREFETCH * MR), _MM_HINT_T0);
            _mm_prefetch((const char *)(a + (FCN_A_PREFETCH + 1) * MR), _MM_HINT_T0);
            __m512 av0 = _mm512_loadu_ps(a), av1 = _mm512_loadu_ps(a + MR);
#pragma GCC unroll 8
            for (int j = 0; j < NC; j++) {
                s0[j] = _mm512_fmadd_ps(av0, _mm512_set1_ps(b[j]), s0[j]);
                s1[j] = _mm512_fmadd_ps(av1, _mm512_set1_ps(b[bs + j]), s1[j]);
            }
        }
    }
    for (; p < k; p++, a += MR, b += bs) {
        _mm_prefetch((const char *)(a + FCN_A_PREFETCH * MR), _MM_HINT_T0);
        __m512 av = _mm512_loadu_ps(a);
#pragma GCC unroll 8
        for (int j = 0; j < NC; j++) s0[j] = _mm512_fmadd_ps(av, _mm512_set1_ps(b[j]), s0[j]);
    }
    __mmask16 rows = m >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << m) - 1u);
    __m512i idx = _mm512_mullo_epi32(_mm512_set1_epi32((int)ldc),
                                     _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __m512 bias = ep && ep->bias ? _mm512_maskz_loadu_ps(rows, ep->bias) : _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int j = 0; j < NC; j++) {
        __m512 v = _mm512_add_ps(s0[j], s1[j]);
        if (acc) v = _mm512_add_ps(v, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rows, idx, c + j, 4));
        if (ep) {
            v = _mm512_add_ps(v, bias);
            if (ep->residual)
                v = _mm512_add_ps(v, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rows, idx, ep->residual + j, 4));
            if (ep->act == FCN_ACT_RELU) v = _mm512_max_ps(v, _mm512_setzero_ps());
            else if (ep->act == FCN_ACT_CLIP)
                v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(ep->lo)), _mm512_set1_ps(ep->hi));
        }
        _mm512_mask_i32scatter_ps(c + j, rows, idx, v, 4);
    }
}

#define COLS_CASE(N) case N: cols_kernel(N, split, k, a, b, bs, c, ldc, m, acc, ep); return 1;

__attribute__((target("avx512f,avx512vl,avx2,fma"), always_inline))
static inline int narrow_tile(int split, int64_t k, const float *a, const float *b, int64_t bs, float *c, int64_t ldc,
                              int m, int n, int acc, const fcn_epilogue *ep)
{
    if (ldc <= 0 || ldc > (INT32_MAX >> 4)) return 0;
    switch (n) {
        COLS_CASE(1) COLS_CASE(2) COLS_CASE(3) COLS_CASE(4)
        COLS_CASE(5) COLS_CASE(6) COLS_CASE(7) COLS_CASE(8)
        default: return 0;
    }
}

/* Finishes row i of a tile: accumulate, epilogue, masked store. Called with constant i on
 * named accumulators: indexing an array of 16 zmm with a runtime row count made the compiler
 * keep the accumulators in a stack array (zeroed with rep stos, spilled and reloaded) — a
 * fixed cost per call that short-K layers (1×1 convs over 16–64 channels) felt. */
__attribute__((target("avx512f,avx512vl,avx2,fma"), always_inline))
static inline void finish_row(__m512 v, int i, float *c, int64_t ldc, __mmask16 mask, int acc,
                              const fcn_epilogue *ep)
{
    float *row = c + i * ldc;
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

/* 9 to 15 columns of a tile with more than 8 rows (the last 9 pixels of a 13×13 or 27×27 map):
 * the column kernel's loop, NC FMAs a k step where the full tile pays 16, then a 16×16
 * transpose back to rows and the full tile's row epilogue. Every output is the same chain of
 * FMAs in k order with the same epilogue as in the full tile: the same bits. The classifier
 * of SqueezeNet (1000 × 512 · 512 × 169) spent 7 of every 176 FMAs on padding. */
__attribute__((target("avx512f,avx512vl,avx2,fma"), always_inline))
static inline void wide_cols(int NC, int64_t k, const float *a, const float *b, int64_t bs, float *c, int64_t ldc,
                             int m, int acc, const fcn_epilogue *ep)
{
    __m512 s[16];
#pragma GCC unroll 16
    for (int j = 0; j < 16; j++) s[j] = _mm512_setzero_ps();
    for (int64_t p = 0; p < k; p++, a += MR, b += bs) {
        _mm_prefetch((const char *)(a + FCN_A_PREFETCH * MR), _MM_HINT_T0);
        __m512 av = _mm512_loadu_ps(a);
#pragma GCC unroll 16
        for (int j = 0; j < NC; j++) s[j] = _mm512_fmadd_ps(av, _mm512_set1_ps(b[j]), s[j]);
    }
    fcn_transpose16(s);
    __mmask16 mask = (__mmask16)((1u << NC) - 1u);
#define FINISH(I) if (I < m) finish_row(s[I], I, c, ldc, mask, acc, ep)
    FINISH(0); FINISH(1); FINISH(2); FINISH(3); FINISH(4); FINISH(5); FINISH(6); FINISH(7);
    FINISH(8); FINISH(9); FINISH(10); FINISH(11); FINISH(12); FINISH(13); FINISH(14); FINISH(15);
#undef FINISH
}

#define WIDE_CASE(N) case N: wide_cols(N, k, a, b, bs, c, ldc, m, acc, ep); return 1;

__attribute__((target("avx512f,avx512vl,avx2,fma"), always_inline))
static inline int wide_tail(int64_t k, const float *a, const float *b, int64_t bs, float *c, int64_t ldc, int m, int n,
                            int acc, const fcn_epilogue *ep)
{
    switch (n) {
        WIDE_CASE(9) WIDE_CASE(10) WIDE_CASE(11) WIDE_CASE(12) WIDE_CASE(13) WIDE_CASE(14) WIDE_CASE(15)
        default: return 0;
    }
}

/* row I of a tile += a[I] · bv, on named accumulators r0..r15 (see finish_row) */
#define FMA_ROW(I) r##I = _mm512_fmadd_ps(_mm512_set1_ps(a[I]), bv, r##I)
#define FMA_ROWS8(A, B, C, D, E, F, G, H) \
    do { FMA_ROW(A); FMA_ROW(B); FMA_ROW(C); FMA_ROW(D); FMA_ROW(E); FMA_ROW(F); FMA_ROW(G); FMA_ROW(H); } while (0)

/* A panel with at most 8 live rows (the last panel of M = 24, 40, 72, 120, ...: 1×1 convs down
 * to 24 or 40 channels): the 8 rows only, half the FMAs and broadcasts of the full tile, whose
 * padding rows multiply zeros. The panel layout stays 16 floats a step. */
__attribute__((target("avx512f,avx512vl,avx2,fma"), always_inline))
static inline void short_tile(int direct, int64_t k, const float *a, const float *b, int64_t bs, float *c, int64_t ldc,
                              int m, int n, int acc, const fcn_epilogue *ep)
{
    __mmask16 mask = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
    __m512 r0 = _mm512_setzero_ps(), r1 = r0, r2 = r0, r3 = r0, r4 = r0, r5 = r0, r6 = r0, r7 = r0;
    for (int64_t p = 0; p < k; p++, a += MR, b += bs) {
        __m512 bv = direct ? _mm512_maskz_loadu_ps(mask, b) : _mm512_load_ps(b);
        _mm_prefetch((const char *)(a + FCN_A_PREFETCH * MR), _MM_HINT_T0);
        FMA_ROWS8(0, 1, 2, 3, 4, 5, 6, 7);
    }
#define FINISH(I) if (I < m) finish_row(r##I, I, c, ldc, mask, acc, ep)
    FINISH(0); FINISH(1); FINISH(2); FINISH(3); FINISH(4); FINISH(5); FINISH(6); FINISH(7);
#undef FINISH
}

/* clang ignores "#pragma GCC target": the attribute makes the clang builds (fuzz, sanitizers) compile. */
__attribute__((target("avx512f,avx512vl,avx2,fma"), always_inline))
static inline void tile_16x16(int split, int direct, int64_t k, const float *a, const float *b, int64_t bs, float *c,
                              int64_t ldc, int m, int n, int acc, const fcn_epilogue *ep, float *pk)
{
    if (n <= 8 && narrow_tile(split, k, a, b, bs, c, ldc, m, n, acc, ep)) return;
    if (m <= 8) {
        short_tile(direct, k, a, b, bs, c, ldc, m, n, acc, ep);
        return;
    }
    if (n < 16 && wide_tail(k, a, b, bs, c, ldc, m, n, acc, ep)) return;
    __mmask16 mask = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
    __m512 r0 = _mm512_setzero_ps(), r1 = r0, r2 = r0, r3 = r0, r4 = r0, r5 = r0, r6 = r0, r7 = r0;
    __m512 r8 = r0, r9 = r0, r10 = r0, r11 = r0, r12 = r0, r13 = r0, r14 = r0, r15 = r0;
    for (int64_t p = 0; p < k; p++, a += MR, b += bs) {
        __m512 bv = direct ? _mm512_maskz_loadu_ps(mask, b) : _mm512_load_ps(b);
        _mm_prefetch((const char *)(a + FCN_A_PREFETCH * MR), _MM_HINT_T0);
        if (pk) {
            _mm512_store_ps(pk, bv);
            pk += 16;
            if (p + B_PREFETCH_ROWS < k) _mm_prefetch((const char *)(b + B_PREFETCH_ROWS * bs), _MM_HINT_T0);
        }
        FMA_ROWS8(0, 1, 2, 3, 4, 5, 6, 7);
        FMA_ROWS8(8, 9, 10, 11, 12, 13, 14, 15);
    }
#define FINISH(I) if (I < m) finish_row(r##I, I, c, ldc, mask, acc, ep)
    FINISH(0); FINISH(1); FINISH(2); FINISH(3); FINISH(4); FINISH(5); FINISH(6); FINISH(7);
    FINISH(8); FINISH(9); FINISH(10); FINISH(11); FINISH(12); FINISH(13); FINISH(14); FINISH(15);
#undef FINISH
}

__attribute__((target("avx512f,avx512vl,avx2,fma")))
void fcn_ukernel_16x16_avx512(int64_t k, const float *a, const float *b, float *c, int64_t ldc,
                              int m, int n, int acc, const fcn_epilogue *ep)
{
    tile_16x16(1, 0, k, a, b, FCN_NR, c, ldc, m, n, acc, ep, NULL);
}

/* `tiles` full 16×16 tiles of one 16-row panel, left to right, in one call: B panel t at
 * b + t·bstep (packed panels: bstep = k·16; in place: 16 columns on, bs = ldb), C and the
 * residual 16 columns on. The tile code is tile_16x16's with m and n fixed at 16, so the row
 * and column checks and the call per tile go (a 1×1 conv over 16 input channels spends a
 * quarter of its tile outside the FMA loop). Same operations in the same order: same bits. */
__attribute__((target("avx512f,avx512vl,avx2,fma"), always_inline))
static inline void tiles_16x16(int direct, int64_t k, const float *a, const float *b, int64_t bstep, int64_t bs,
                               float *c, int64_t ldc, int64_t tiles, int acc, const fcn_epilogue *ep)
{
    fcn_epilogue e = ep ? *ep : (fcn_epilogue){ 0 };
    for (int64_t t = 0; t < tiles; t++, b += bstep, c += 16) {
        tile_16x16(0, direct, k, a, b, bs, c, ldc, 16, 16, acc, ep ? &e : NULL, NULL);
        if (e.residual) e.residual += 16;
    }
}

__attribute__((target("avx512f,avx512vl,avx2,fma")))
void fcn_ukernel_16x16_avx512_tiles(int64_t k, const float *a, const float *b, float *c, int64_t ldc, int64_t tiles,
                                    int acc, const fcn_epilogue *ep)
{
    tiles_16x16(0, k, a, b, k * FCN_NR, FCN_NR, c, ldc, tiles, acc, ep);
}

__attribute__((target("avx512f,avx512vl,avx2,fma")))
void fcn_ukernel_16x16_avx512_ldb_tiles(int64_t k, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc,
                                        int64_t tiles, int acc, const fcn_epilogue *ep)
{
    tiles_16x16(1, k, a, b, 16, ldb, c, ldc, tiles, acc, ep);
}

/* One B panel against `panels` 16-row A panels (astep floats apart; C 16 rows on each), in one
 * call, the ordered tile with m fixed at 16: for Winograd's GEMMs over few input channels,
 * where each tile is only C steps long (SqueezeNet's 16→64 layers: 16). Same bits as one call
 * of fcn_ukernel_16x16_avx512_ordered per panel. */
__attribute__((target("avx512f,avx512vl,avx2,fma")))
void fcn_ukernel_16x16_avx512_ordered_panels(int64_t k, const float *a, int64_t astep, const float *b, float *c,
                                             int64_t ldc, int64_t panels, int n, int acc)
{
    for (int64_t q = 0; q < panels; q++, a += astep, c += 16 * ldc)
        tile_16x16(0, 0, k, a, b, FCN_NR, c, ldc, 16, n, acc, NULL, NULL);
}

/* The same tile reading B where it lies, row p at b + p·ldb (a 1×1 conv's input channels): for
 * a product with one panel of rows, each B value is used once, and packing it cost as much as
 * 2/3 of the FMAs (SqueezeNet's squeeze convs). Same operations in the same order: same bits. */
__attribute__((target("avx512f,avx512vl,avx2,fma")))
void fcn_ukernel_16x16_avx512_ldb(int64_t k, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc,
                                  int m, int n, int acc, const fcn_epilogue *ep)
{
    tile_16x16(1, 1, k, a, b, ldb, c, ldc, m, n, acc, ep, NULL);
}

/* The in-place tile with every column summed in k order whatever n is (see cols_kernel): a
 * fused depthwise conv's band (conv_fast.c), whose last tile depends on the band. */
__attribute__((target("avx512f,avx512vl,avx2,fma")))
void fcn_ukernel_16x16_avx512_ordered_ldb(int64_t k, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc,
                                          int m, int n, int acc, const fcn_epilogue *ep)
{
    tile_16x16(0, 1, k, a, b, ldb, c, ldc, m, n, acc, ep, NULL);
}

/* The same tile with every column summed in k order whatever n is (see cols_kernel). */
__attribute__((target("avx512f,avx512vl,avx2,fma")))
void fcn_ukernel_16x16_avx512_ordered(int64_t k, const float *a, const float *b, float *c, int64_t ldc,
                                      int m, int n, int acc, const fcn_epilogue *ep)
{
    tile_16x16(0, 0, k, a, b, FCN_NR, c, ldc, m, n, acc, ep, NULL);
}

/* A full tile reading B in place (row p at b + p·ldb) that also stores each row's 16 values to
 * pk (16 floats a k step, 64-byte aligned) and prefetches the row B_PREFETCH_ROWS on: the first
 * panel of rows packs the B panel the others will read while it computes (fcn_gemm.pack_in_tile),
 * so the copy runs beside the FMAs instead of in a phase of its own. Same operations in the same
 * order as the packed tile: same bits. */
__attribute__((target("avx512f,avx512vl,avx2,fma")))
void fcn_ukernel_16x16_avx512_ldb_pack(int64_t k, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc,
                                       int acc, const fcn_epilogue *ep, float *pk)
{
    tile_16x16(0, 1, k, a, b, ldb, c, ldc, 16, 16, acc, ep, pk);
}
