/* test_kernels.c — every SIMD kernel against its portable twin, over many shapes (odd sizes,
 * edges, strides, groups, dilations), as XNNPACK's testers do; and each fast conv/gemm path
 * installed by fcn_fast_prepare against the reference op on the same node. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "runtime/kernels/kernels.h"

static uint32_t rng = 12345;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}
static void fill(float *p, size_t n) { for (size_t i = 0; i < n; i++) p[i] = frand(); }

static int simd_ok(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

static void assert_close(const float *a, const float *b, size_t n, float tol)
{
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]), s = fabsf(b[i]) > 1.0f ? fabsf(b[i]) : 1.0f;
        if (d > tol * s) fail_msg("element %zu: %g vs %g", i, (double)a[i], (double)b[i]);
    }
}

/* Winograd changes the rounding pattern, so the conv paths are held to the error relative to
 * the output's scale: max|a-b| <= tol * max|b| (the issue's "within 1e-4 rel"). */
static void assert_close_scaled(const float *a, const float *b, size_t n, float tol)
{
    float scale = 0.0f, worst = 0.0f;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabsf(b[i]) > scale) scale = fabsf(b[i]);
        if (fabsf(a[i] - b[i]) > worst) { worst = fabsf(a[i] - b[i]); at = i; }
    }
    if (worst > tol * (scale > 1e-6f ? scale : 1e-6f))
        fail_msg("element %zu: %g vs %g (max |ref| %g)", at, (double)a[at], (double)b[at], (double)scale);
}

static void test_ukernel_twins(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    float *a = aligned_alloc(64, 64 * 1024), *b = aligned_alloc(64, 64 * 4096);
    float c1[FCN_MR * 20], c2[FCN_MR * 20];
    int64_t ks[] = { 0, 1, 3, 17, 256 };
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
        for (int m = 1; m <= FCN_MR; m++)
            for (int n = 1; n <= FCN_NR; n += 3)
                for (int acc = 0; acc < 2; acc++) {
                    fill(a, (size_t)ks[ki] * FCN_MR);
                    fill(b, (size_t)ks[ki] * FCN_NR);
                    fill(c1, FCN_MR * 20);
                    memcpy(c2, c1, sizeof c1);
                    fcn_ukernel_6x16_ref(ks[ki], a, b, c1, 20, m, n, acc, NULL);
                    fcn_ukernel_6x16_avx2(ks[ki], a, b, c2, 20, m, n, acc, NULL);
                    assert_close(c2, c1, FCN_MR * 20, 1e-5f);
                }
    free(a);
    free(b);
}

/* The AVX-512 16×16 kernel (and its column kernels: n <= 8, and 9–15 columns of more than 8
 * rows) against a double-precision loop, every n, rows 1–3, 8, 9, 13 and 16, accumulate or not,
 * with and without each part of the epilogue. */
static void test_ukernel_avx512(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    int had = fcn_set_avx512(1);
    if (!fcn_avx512_enabled()) { fcn_set_avx512(had); skip(); }
    enum { LDC = 21 };
    float *a = aligned_alloc(64, sizeof(float) * 16 * 300), *b = aligned_alloc(64, sizeof(float) * 16 * 300);
    float c[16 * LDC], want[16 * LDC], res[16 * LDC], bias[16];
    int64_t ks[] = { 0, 1, 2, 3, 17, 256, 299 };
    static const int ms[] = { 1, 2, 3, 8, 9, 13, 16 };
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
        for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++)
            for (int m = ms[mi], n = 1; n <= 16; n++)
                for (int mode = 0; mode < 4; mode++) {
                    int64_t k = ks[ki];
                    int acc = mode & 1;
                    fill(a, (size_t)(16 * k)); fill(b, (size_t)(16 * k)); fill(c, 16 * LDC);
                    fill(bias, 16); fill(res, 16 * LDC);
                    fcn_epilogue ep = { bias, res, FCN_ACT_RELU, 0, 0 };
                    if (mode == 3) { ep.residual = NULL; ep.act = FCN_ACT_CLIP; ep.lo = -0.1f; ep.hi = 0.2f; }
                    memcpy(want, c, sizeof c);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++) {
                            double s = acc ? c[i * LDC + j] : 0.0;
                            for (int64_t p = 0; p < k; p++) s += (double)a[p * 16 + i] * b[p * 16 + j];
                            if (mode >= 2) {
                                s += bias[i] + (ep.residual ? res[i * LDC + j] : 0.0f);
                                s = ep.act == FCN_ACT_RELU ? (s > 0 ? s : 0) : (s < ep.lo ? ep.lo : s > ep.hi ? ep.hi : s);
                            }
                            want[i * LDC + j] = (float)s;
                        }
                    fcn_ukernel_16x16_avx512(k, a, b, c, LDC, m, n, acc, mode >= 2 ? &ep : NULL);
                    assert_close(c, want, 16 * LDC, 1e-5f);   /* untouched cells too */
                }
    free(a);
    free(b);
    fcn_set_avx512(had);
}

/* The ordered AVX-512 tile: a column's bits do not depend on how many columns the call covers
 * (Winograd's panels move with the thread count; the default tile's narrow path splits k for
 * 4 columns or fewer and rounds differently, its 5–15-column paths do not). Also against the
 * double-precision sums. */
static void test_ukernel_ordered(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    int had = fcn_set_avx512(1);
    if (!fcn_avx512_enabled()) { fcn_set_avx512(had); skip(); }
    enum { LDC = 19 };
    float *a = aligned_alloc(64, sizeof(float) * 16 * 300), *b = aligned_alloc(64, sizeof(float) * 16 * 300);
    float full[16 * LDC], c[16 * LDC], want[16 * LDC];
    int64_t ks[] = { 1, 2, 3, 17, 256, 299 };
    int splits = 0;
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
        for (int m = 1; m <= 16; m += 5) {
            int64_t k = ks[ki];
            fill(a, (size_t)(16 * k)); fill(b, (size_t)(16 * k));
            memset(full, 0, sizeof full);
            fcn_ukernel_16x16_avx512_ordered(k, a, b, full, LDC, m, 16, 0, NULL);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < 16; j++) {
                    double sum = 0.0;
                    for (int64_t p = 0; p < k; p++) sum += (double)a[p * 16 + i] * b[p * 16 + j];
                    want[i * LDC + j] = (float)sum;
                    assert_true(fabsf(full[i * LDC + j] - want[i * LDC + j]) <= 1e-4f * (1.0f + fabsf(want[i * LDC + j])));
                }
            for (int n = 1; n < 16; n++) {
                memset(c, 0, sizeof c);
                fcn_ukernel_16x16_avx512_ordered(k, a, b, c, LDC, m, n, 0, NULL);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) assert_memory_equal(&c[i * LDC + j], &full[i * LDC + j], sizeof(float));
                memset(c, 0, sizeof c);
                fcn_ukernel_16x16_avx512(k, a, b, c, LDC, m, n, 0, NULL);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        int differs = memcmp(&c[i * LDC + j], &full[i * LDC + j], sizeof(float)) != 0;
                        /* only the two-chain narrow columns (n <= 4) may round differently */
                        if (n > 4) assert_false(differs);
                        splits += differs;
                    }
            }
        }
    /* the default tile does round some narrow columns differently: the case this kernel exists for */
    assert_true(splits > 0);
    free(a);
    free(b);
    fcn_set_avx512(had);
}

/* B read in place (fcn_gemm.b_direct, 1×1 convs) or packed as the first panel reads it
 * (pack_in_tile): pack_b's calls counted, to check that the packing is really skipped. */
typedef struct counted_b { fcn_strided_b sb; int calls; } counted_b;

static void pack_counted(const void *ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *out)
{
    counted_b *c = (counted_b *)ctx;
    __atomic_add_fetch(&c->calls, 1, __ATOMIC_RELAXED);
    fcn_pack_b_strided(&c->sb, k0, kc, n0, nc, out);
}

/* The column blocks a product is cut into: 16-column aligned (the tiles, so the bits, do not
 * depend on the cut), at most NC wide, covering the columns once, and each thread's static
 * share of them as even as tile edges allow — a 14×14 map's 196 columns on two threads were
 * 112 | 84, a 1.75× ceiling on the speedup. The blocks are seen through B's pack calls (one
 * per column block, row chunk and K block). */
typedef struct block_log { int64_t n0[4096], nc[4096]; int n; } block_log;

static void pack_logged(const void *ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *out)
{
    (void)k0;
    block_log *l = (block_log *)ctx;
    int i = __atomic_fetch_add(&l->n, 1, __ATOMIC_RELAXED);
    if (i < 4096) { l->n0[i] = n0; l->nc[i] = nc; }
    for (int64_t i2 = 0; i2 < kc * ((nc + FCN_NR - 1) / FCN_NR * FCN_NR); i2++) out[i2] = 0.0f;
}

static void test_sgemm_even_blocks(void **state)
{
    (void)state;
    const int64_t M = 16, K = 8;
    float *ap = aligned_alloc(64, fcn_pack_a_mr_floats(M, K, FCN_MR) * sizeof(float) + 64);
    float *c = malloc(sizeof(float) * (size_t)(M * 4000));
    float *scratch = aligned_alloc(64, FCN_GEMM_SCRATCH_FLOATS * sizeof(float) * 3);
    memset(ap, 0, fcn_pack_a_mr_floats(M, K, FCN_MR) * sizeof(float));
    block_log *l = malloc(sizeof *l);
    for (int threads = 1; threads <= 3; threads++) {
        struct fcn_threadpool *pool = threads > 1 ? fcn_threadpool_create(threads) : NULL;
        fcn_exec x = { pool, threads };
        for (int64_t N = 1; N <= 4000; N += N < 300 ? 1 : 37) {
            l->n = 0;
            fcn_gemm g = { .M = M, .N = N, .K = K, .a_packed = ap, .pack_b = pack_logged, .pack_ctx = l,
                           .c = c, .ldc = N, .scratch = scratch, .ukernel = fcn_ukernel_6x16_avx2, .mr = FCN_MR };
            fcn_sgemm(&g, pool ? &x : NULL);
            assert_true(l->n > 0 && l->n <= 4096);
            int64_t covered = 0, starts[4096];
            int blocks = 0;
            for (int i = 0; i < l->n; i++) {
                if (l->n0[i] % FCN_NR != 0 || l->nc[i] < 1 || l->nc[i] > FCN_NC || l->n0[i] + l->nc[i] > N)
                    fail_msg("N %ld threads %d: block [%ld, +%ld)", (long)N, threads, (long)l->n0[i], (long)l->nc[i]);
                int seen = 0;
                for (int j = 0; j < blocks; j++) seen |= starts[j] == l->n0[i];
                if (!seen) { starts[blocks++] = l->n0[i]; covered += l->nc[i]; }
            }
            if (covered != N) fail_msg("N %ld threads %d: blocks cover %ld columns", (long)N, threads, (long)covered);
            /* one task a block (no row chunks) shared evenly: on two threads the share's end
             * within half a tile of the middle; on three within a tile of its ideal place
             * (the rounding gives way where the blocks after would not fit in NC) */
            if (threads > 1 && blocks == l->n && blocks % threads == 0) {
                for (int j = 1; j < blocks; j++)   /* sort the starts */
                    for (int k = j; k > 0 && starts[k - 1] > starts[k]; k--) {
                        int64_t t = starts[k]; starts[k] = starts[k - 1]; starts[k - 1] = t;
                    }
                for (int th = 1; th < threads; th++) {
                    double end = (double)starts[blocks / threads * th], ideal = (double)N * th / threads;
                    double tol = threads == 2 ? FCN_NR / 2 : FCN_NR;
                    if (end < ideal - tol || end > ideal + tol)
                        fail_msg("N %ld threads %d: share %d ends at column %.0f, not near %.1f", (long)N, threads,
                                 th - 1, end, ideal);
                }
            }
        }
        if (pool) fcn_threadpool_destroy(pool);
    }
    free(l); free(ap); free(c); free(scratch);
}

/* The packed product against one reading B where it lies (`in_tile` 0: the tile reads B in
 * place, fcn_gemm.b_direct; 1: the first panel of rows packs B as it reads it, pack_in_tile):
 * the same bits, on 1–3 threads with each epilogue (bias + ReLU; residual + Clip; accumulating
 * onto C), and the same bits on every thread count; and pack_b skipped where it should be. */
static void check_b_in_place(const int64_t (*shapes)[3], size_t n_shapes, int in_tile)
{
    for (size_t s = 0; s < n_shapes; s++) {
        int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(K * N));
        float *C1 = malloc(sizeof(float) * (size_t)(M * N)), *C2 = malloc(sizeof(float) * (size_t)(M * N));
        float *bias = malloc(sizeof(float) * (size_t)M), *res = malloc(sizeof(float) * (size_t)(M * N));
        fill(A, (size_t)(M * K)); fill(B, (size_t)(K * N)); fill(bias, (size_t)M); fill(res, (size_t)(M * N));
        float *ap = aligned_alloc(64, (fcn_pack_a_mr_floats(M, K, 16) * sizeof(float) + 63) & ~(size_t)63);
        fcn_pack_a_mr(A, K, 1, M, K, 16, ap);
        float *one[3];   /* each epilogue's result on one thread: the same bits on more */
        for (int epi = 0; epi < 3; epi++) one[epi] = malloc(sizeof(float) * (size_t)(M * N));
        for (int threads = 1; threads <= 3; threads++) {
            struct fcn_threadpool *pool = threads > 1 ? fcn_threadpool_create(threads) : NULL;
            fcn_exec x = { pool, threads };
            float *scratch = aligned_alloc(64, FCN_GEMM_SCRATCH_FLOATS * sizeof(float) * 3);
            for (int epi = 0; epi < 3; epi++) {
                counted_b cb = { { B, N, 1 }, 0 };
                fcn_gemm g = { .M = M, .N = N, .K = K, .a_packed = ap, .pack_b = pack_counted, .pack_ctx = &cb,
                               .c = C1, .ldc = N, .bias = bias, .act = FCN_ACT_RELU, .scratch = scratch,
                               .ukernel = fcn_ukernel_16x16_avx512, .mr = 16 };
                if (epi == 1) { g.residual = res; g.act = FCN_ACT_CLIP; g.act_alpha = -0.5f; g.act_beta = 0.75f; }
                if (epi == 2) { g.c_is_addend = 1; g.act = FCN_ACT_NONE; memcpy(C1, res, sizeof(float) * (size_t)(M * N)); }
                fcn_sgemm(&g, pool ? &x : NULL);
                int packed_calls = cb.calls;
                assert_true(packed_calls > 0);
                cb.calls = 0;
                g.c = C2;
                if (epi == 2) memcpy(C2, res, sizeof(float) * (size_t)(M * N));
                g.b_direct = B;
                g.ldb = N;
                if (in_tile) g.pack_in_tile = 1;
                else g.ukernel_ldb = fcn_ukernel_16x16_avx512_ldb;
                fcn_sgemm(&g, pool ? &x : NULL);
                if (!in_tile) {
                    if (M <= 16 * FCN_DIRECT_B_PANELS) assert_int_equal(cb.calls, 0);
                    else if (threads == 1) assert_true(cb.calls > 0);   /* (split rows may be direct) */
                } else {
                    if (threads == 1 && M >= 32 && N % 16 == 0) assert_int_equal(cb.calls, 0);
                    else if (M <= 16) assert_int_equal(cb.calls, packed_calls);   /* one panel: packed first */
                }
                if (memcmp(C1, C2, sizeof(float) * (size_t)(M * N)) != 0)
                    fail_msg("M %ld N %ld K %ld threads %d epilogue %d: %s differs from packed", (long)M, (long)N,
                             (long)K, threads, epi, in_tile ? "packed in the tile" : "in place");
                if (threads == 1) memcpy(one[epi], C1, sizeof(float) * (size_t)(M * N));
                else if (memcmp(C1, one[epi], sizeof(float) * (size_t)(M * N)) != 0)
                    fail_msg("M %ld N %ld K %ld epilogue %d: %d threads differ from one", (long)M, (long)N, (long)K,
                             epi, threads);
            }
            free(scratch);
            if (pool) fcn_threadpool_destroy(pool);
        }
        for (int epi = 0; epi < 3; epi++) free(one[epi]);
        free(A); free(B); free(C1); free(C2); free(bias); free(res); free(ap);
    }
}

/* in place for 1 to 3 panels of rows, packed as before from 4; K across KC blocks, partial and
 * narrow column tiles; the packing really skipped */
static void test_sgemm_direct_b(void **state)
{
    (void)state;
    if (!__builtin_cpu_supports("avx512f")) skip();
    static const int64_t shapes[][3] = { { 5, 37, 3 }, { 16, 241, 64 }, { 24, 100, 300 }, { 40, 51, 17 },
                                         { 48, 13, 129 }, { 64, 77, 40 }, { 16, 3025, 128 },
                                         /* column blocks split over threads: 14×14, 7×7 and 28×28 maps */
                                         { 96, 196, 40 }, { 80, 49, 24 }, { 32, 784, 20 } };
    check_b_in_place(shapes, sizeof shapes / sizeof shapes[0], 0);
}

/* packed in the first panel's tiles: K across KC blocks, a partial last panel of columns (packed
 * as before) or of rows, one panel (packed first); pack_b skipped where every panel is whole */
static void test_sgemm_pack_in_tile(void **state)
{
    (void)state;
    if (!__builtin_cpu_supports("avx512f")) skip();
    static const int64_t shapes[][3] = { { 32, 256, 64 }, { 40, 241, 300 }, { 48, 3136, 256 }, { 64, 196, 512 },
                                         { 16, 100, 20 }, { 24, 784, 40 }, { 96, 49, 700 }, { 128, 480, 1 } };
    check_b_in_place(shapes, sizeof shapes / sizeof shapes[0], 1);
}

/* C written over B (fcn_gemm.over_b, a 1×1 conv planned over its input), and B packed on the
 * stack where it is small (fcn_gemm.scratch NULL): M below, at and above
 * K (on one image the output may have more channels than the input), K up to KC, maps whose
 * columns the threads split though there are more rows than columns, both micro-kernels, with
 * and without the in-place and packing tiles asked for (over_b turns the in-place tile off):
 * the same bits as the same product into a separate C, which is close to the naive one. */
static void test_sgemm_over_b(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    static const int64_t shapes[][3] = { { 32, 256, 32 }, { 48, 1000, 32 }, { 256, 784, 256 }, { 24, 241, 40 },
                                         { 128, 196, 256 }, { 64, 50, 64 }, { 16, 100, 20 }, { 40, 33, 7 } };
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int64_t M = shapes[si][0], N = shapes[si][1], K = shapes[si][2], rows = M > K ? M : K;
        float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(K * N));
        float *bias = malloc(sizeof(float) * (size_t)M), *res = malloc(sizeof(float) * (size_t)(M * N));
        float *C = malloc(sizeof(float) * (size_t)(M * N)), *R = malloc(sizeof(float) * (size_t)(M * N));
        float *buf = malloc(sizeof(float) * (size_t)(rows * N));   /* B, then C over it: no float more */
        fill(A, (size_t)(M * K)); fill(B, (size_t)(K * N)); fill(bias, (size_t)M); fill(res, (size_t)(M * N));
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = bias[i] + res[i * N + j];
                for (int64_t k = 0; k < K; k++) acc += (double)A[i * K + k] * B[k * N + j];
                R[i * N + j] = acc > 0 ? (float)acc : 0.0f;
            }
        for (int twin = 0; twin < 2; twin++) {
            if (twin == 1 && !__builtin_cpu_supports("avx512f")) continue;
            int mr = twin ? 16 : FCN_MR;
            float *ap = aligned_alloc(64, (fcn_pack_a_mr_floats(M, K, mr) * sizeof(float) + 63) & ~(size_t)63);
            fcn_pack_a_mr(A, K, 1, M, K, mr, ap);
            for (int threads = 1; threads <= 3; threads++) {
                struct fcn_threadpool *pool = threads > 1 ? fcn_threadpool_create(threads) : NULL;
                fcn_exec x = { pool, threads };
                float *scratch = aligned_alloc(64, FCN_GEMM_SCRATCH_FLOATS * sizeof(float) * 3);
                for (int tiles = 0; tiles < 2; tiles++) {
                    fcn_strided_b sb = { B, N, 1 };
                    fcn_gemm g = { .M = M, .N = N, .K = K, .a_packed = ap, .pack_b = fcn_pack_b_strided,
                                   .pack_ctx = &sb, .c = C, .ldc = N, .bias = bias, .residual = res,
                                   .act = FCN_ACT_RELU, .scratch = scratch,
                                   .ukernel = twin ? fcn_ukernel_16x16_avx512 : fcn_ukernel_6x16_avx2, .mr = mr,
                                   .b_direct = B, .ldb = N, .over_b = 1 };
                    if (tiles) {
                        g.pack_in_tile = twin;
                        g.ukernel_ldb = twin ? fcn_ukernel_16x16_avx512_ldb : NULL;
                    }
                    fcn_sgemm(&g, pool ? &x : NULL);
                    assert_close(C, R, (size_t)(M * N), 1e-4f);
                    if (fcn_gemm_scratch_floats(K, N) <= FCN_GEMM_STACK_FLOATS) {   /* B packed on the stack */
                        g.scratch = NULL;
                        g.c = buf;
                        fcn_sgemm(&g, pool ? &x : NULL);
                        if (memcmp(buf, C, sizeof(float) * (size_t)(M * N)) != 0)
                            fail_msg("M %ld N %ld K %ld: packed on the stack differs", (long)M, (long)N, (long)K);
                        g.scratch = scratch;
                        g.c = C;
                    }
                    memcpy(buf, B, sizeof(float) * (size_t)(K * N));
                    sb.b = buf;
                    g.b_direct = buf;
                    g.c = buf;
                    fcn_sgemm(&g, pool ? &x : NULL);
                    if (memcmp(buf, C, sizeof(float) * (size_t)(M * N)) != 0)
                        fail_msg("M %ld N %ld K %ld mr %d threads %d tiles %d: over B differs from apart", (long)M,
                                 (long)N, (long)K, mr, threads, tiles);
                }
                free(scratch);
                if (pool) fcn_threadpool_destroy(pool);
            }
            free(ap);
        }
        free(A); free(B); free(bias); free(res); free(C); free(R); free(buf);
    }
}

static void test_sgemm_vs_naive(void **state)
{
    (void)state;
    int64_t shapes[][3] = { { 1, 1, 1 }, { 7, 13, 5 }, { 6, 16, 256 }, { 13, 250, 300 },
                            { 64, 49, 577 }, { 3, 241, 9 } };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = malloc(sizeof(float) * (size_t)(M * K + 1)), *B = malloc(sizeof(float) * (size_t)(K * N + 1));
        float *C = malloc(sizeof(float) * (size_t)(M * N)), *R = malloc(sizeof(float) * (size_t)(M * N));
        float *bias = malloc(sizeof(float) * (size_t)M);
        fill(A, (size_t)(M * K)); fill(B, (size_t)(K * N)); fill(bias, (size_t)M);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = bias[i];
                for (int64_t k = 0; k < K; k++) acc += (double)A[i * K + k] * B[k * N + j];
                R[i * N + j] = acc > 0 ? (float)acc : 0.0f;
            }
        size_t apf = fcn_pack_a_mr_floats(M, K, 16) > fcn_pack_a_mr_floats(M, K, FCN_MR)
                     ? fcn_pack_a_mr_floats(M, K, 16) : fcn_pack_a_mr_floats(M, K, FCN_MR);
        float *ap = aligned_alloc(64, (apf * sizeof(float) + 63) & ~(size_t)63);
        float *scratch = aligned_alloc(64, FCN_GEMM_SCRATCH_FLOATS * sizeof(float));
        fcn_strided_b sb = { B, N, 1 };
        float *res = malloc(sizeof(float) * (size_t)(M * N));
        fill(res, (size_t)(M * N));
        for (int twin = 0; twin < 3; twin++) {
            if (twin == 1 && !simd_ok()) continue;
            if (twin == 2 && !__builtin_cpu_supports("avx512f")) continue;
            int mr = twin == 2 ? 16 : FCN_MR;
            fcn_pack_a_mr(A, K, 1, M, K, mr, ap);
            static const fcn_ukernel_fn uk[3] = { fcn_ukernel_6x16_ref, fcn_ukernel_6x16_avx2, fcn_ukernel_16x16_avx512 };
                        fcn_gemm g = { .M = M, .N = N, .K = K, .a_packed = ap, .pack_b = fcn_pack_b_strided,
                           .pack_ctx = &sb, .c = C, .ldc = N, .bias = bias, .act = FCN_ACT_RELU,
                           .scratch = scratch, .ukernel = uk[twin], .mr = mr };
            fcn_sgemm(&g, NULL);
            assert_close(C, R, (size_t)(M * N), 1e-4f);
            /* residual + clip epilogue */
            g.residual = res; g.act = FCN_ACT_CLIP; g.act_alpha = -0.5f; g.act_beta = 0.75f;
            /* the same with the residual already in C (the session's in-place residual): every
             * KC block accumulates onto it */
            for (int in_place = 0; in_place < 2; in_place++) {
                if (in_place) {
                    memcpy(C, res, sizeof(float) * (size_t)(M * N));
                    g.residual = NULL;
                    g.c_is_addend = 1;
                }
                fcn_sgemm(&g, NULL);
                for (int64_t i = 0; i < M; i++)
                    for (int64_t j = 0; j < N; j++) {
                        double acc = bias[i] + res[i * N + j];
                        for (int64_t k = 0; k < K; k++) acc += (double)A[i * K + k] * B[k * N + j];
                        float want = acc < -0.5 ? -0.5f : (acc > 0.75 ? 0.75f : (float)acc);
                        if (fabsf(C[i * N + j] - want) > 1e-4f * (fabsf(want) > 1 ? fabsf(want) : 1))
                            fail_msg("twin %d residual/clip%s (%ld,%ld): %g vs %g", twin, in_place ? " in place" : "",
                                     (long)i, (long)j, (double)C[i * N + j], (double)want);
                    }
            }
        }
        free(res);
        free(A); free(B); free(C); free(R); free(bias); free(ap); free(scratch);
    }
}

/* The vectorized activations (act_avx2.c) against their scalar definitions, over a sweep that
 * includes the saturated ends of the exponential (±100) and odd lengths (masked tails); the
 * per-channel affine twin with every activation. */
static double act_ref(int act, double v, double a, double b)
{
    switch (act) {
    case FCN_ACT_RELU: return v > 0 ? v : 0;
    case FCN_ACT_CLIP: return v < a ? a : (v > b ? b : v);
    case FCN_ACT_LEAKY_RELU: return v >= 0 ? v : v * a;
    case FCN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case FCN_ACT_SWISH: return v / (1.0 + exp(-v));
    case FCN_ACT_HARD_SWISH: { double g = v + 3; g = g < 0 ? 0 : (g > 6 ? 6 : g); return v * g / 6; }
    case FCN_ACT_HARD_SIGMOID: { double g = a * v + b; return g < 0 ? 0 : (g > 1 ? 1 : g); }
    default: return v;
    }
}

static void test_act_twins(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    enum { N = 2003 };
    static float x[N], y[N], z[N];
    for (int i = 0; i < N; i++) x[i] = (float)(-100.0 + 200.0 * i / (N - 1));
    x[5] = 0.0f; x[6] = -0.0f; x[7] = 1e-7f; x[8] = -88.5f; x[9] = 88.5f; x[10] = 20.0f; x[11] = -20.0f;
    static const int acts[] = { FCN_ACT_RELU, FCN_ACT_CLIP, FCN_ACT_LEAKY_RELU, FCN_ACT_SIGMOID, FCN_ACT_SWISH,
                                FCN_ACT_HARD_SWISH, FCN_ACT_HARD_SIGMOID };
    int had512 = fcn_set_avx512(1);
    for (size_t k = 0; k < 2 * sizeof acts / sizeof acts[0]; k++) {
        fcn_set_avx512(k % 2 == 0);   /* the AVX2 and (where the CPU has it) the AVX-512 twin */
        int act = acts[k / 2];
        float a = act == FCN_ACT_CLIP ? -6.0f : (act == FCN_ACT_HARD_SIGMOID ? 0.2f : 0.1f);
        float b = act == FCN_ACT_CLIP ? 6.0f : 0.5f;
        for (int n = N; n >= N - 7; n -= 7) {   /* a multiple of 8 or not */
            fcn_act_map_avx2(act, a, b, x, y, n);
            fcn_affine_act_avx2(x, z, n, 0.5f, 0.25f, act, a, b);
            for (int i = 0; i < n; i++) {
                double want = act_ref(act, x[i], a, b), want2 = act_ref(act, 0.5 * x[i] + 0.25, a, b);
                if (fabs(y[i] - want) > 2e-6 * (fabs(want) > 1 ? fabs(want) : 1) + 1e-30)
                    fail_msg("act %d x %g: %.9g, want %.9g", act, (double)x[i], (double)y[i], want);
                if (fabs(z[i] - want2) > 2e-6 * (fabs(want2) > 1 ? fabs(want2) : 1) + 1e-30)
                    fail_msg("affine act %d x %g: %.9g, want %.9g", act, (double)x[i], (double)z[i], want2);
            }
        }
        /* in place (the fused-epilogue use) */
        memcpy(y, x, sizeof x);
        fcn_act_apply(act, a, b, y, N);
        for (int i = 0; i < N; i++) {
            double want = act_ref(act, x[i], a, b);
            if (fabs(y[i] - want) > 2e-6 * (fabs(want) > 1 ? fabs(want) : 1) + 1e-30)
                fail_msg("act %d in place x %g: %.9g, want %.9g", act, (double)x[i], (double)y[i], want);
        }
    }
    fcn_set_avx512(had512);
}

static void test_gemv_twins(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    int64_t Ks[] = { 1, 15, 16, 33, 512, 1100 };   /* (1100: one input row takes four weight rows at a time) */
    static const char *const vendors[] = { "intel", "amd" };   /* with and without the software prefetches */
    for (int v = 0; v < 2; v++)
    for (size_t s = 0; s < 6; s++)
        for (int rows = 1; rows <= 4; rows++) {
            setenv("FULLCONV_COST_MODEL", vendors[v], 1);
            int64_t K = Ks[s], M = 11;
            static float x[4][1100];
            float *A = malloc(sizeof(float) * (size_t)(M * K)), y1[4][11], y2[4][11], y3[11], bias[11];
            fill(A, (size_t)(M * K)); fill(&x[0][0], 4 * 1100); fill(bias, 11);
            const float *xs[4] = { x[0], x[1], x[2], x[3] };
            float *ys1[4] = { y1[0], y1[1], y1[2], y1[3] }, *ys2[4] = { y2[0], y2[1], y2[2], y2[3] };
            fcn_gemv_ref(A, K, 0, M, xs, rows, bias, ys1);
            fcn_gemv_avx2(A, K, 2, M, xs, rows, bias, ys2);
            fcn_gemv_avx2(A, K, 0, 2, xs, rows, bias, ys2);
            for (int r = 0; r < rows; r++) assert_close(y2[r], y1[r], (size_t)M, 1e-5f);
            /* four weight rows at a time at any K (weights warm in the L3): the same bits */
            float y4[4][11], *ys4[4] = { y4[0], y4[1], y4[2], y4[3] };
            fcn_gemv_warm_avx2(A, K, 0, 5, xs, rows, bias, ys4);
            fcn_gemv_warm_avx2(A, K, 5, M, xs, rows, bias, ys4);
            for (int r = 0; r < rows; r++) assert_memory_equal(y4[r], y2[r], sizeof y4[r]);
            if (rows == 1) {   /* row by row (one at a time): the same bits as four at a time */
                float *y3s[1] = { y3 };
                for (int64_t m = 0; m < M; m++) fcn_gemv_avx2(A, K, m, m + 1, xs, 1, bias, y3s);
                assert_memory_equal(y3, y2[0], sizeof y3);
            }
            free(A);
        }
    unsetenv("FULLCONV_COST_MODEL");
}

/* The input-major product of a sparse row against its reference twin: column ranges that start
 * and end anywhere (the 16-, 8- and 1-wide steps, a range past one 4096-column chunk), lists of
 * every length mod 4, no bias, all inputs zero (y = bias); columns outside the range untouched. */
static void test_gemv_cols_twins(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    const int64_t Ns[] = { 1, 7, 8, 9, 16, 17, 40, 100, 4100 }, Ks[] = { 1, 5, 37 };
    const int zeros[] = { 0, 2, 3, 100 };   /* every k with k % zeros == 0 is zero; 100: all zero (K < 100: k = 0) */
    for (size_t ni = 0; ni < sizeof Ns / sizeof Ns[0]; ni++)
        for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++)
            for (size_t zi = 0; zi < sizeof zeros / sizeof zeros[0]; zi++) {
                int64_t N = Ns[ni], K = Ks[ki], ld = N + 3;
                float *B = malloc(sizeof(float) * (size_t)(K * ld)), *x = malloc(sizeof(float) * (size_t)K);
                float *xv = malloc(sizeof(float) * (size_t)K), *bias = malloc(sizeof(float) * (size_t)N);
                float *y1 = malloc(sizeof(float) * (size_t)N), *y2 = malloc(sizeof(float) * (size_t)N);
                int32_t *nz = malloc(sizeof(int32_t) * (size_t)K);
                fill(B, (size_t)(K * ld)); fill(x, (size_t)K); fill(bias, (size_t)N);
                for (int64_t k = 0; k < K; k++)
                    if (zeros[zi] == 100 || (zeros[zi] && k % zeros[zi] == 0)) x[k] = (k & 1) ? -0.0f : 0.0f;
                int64_t nnz = fcn_nonzeros(x, K, nz, xv);
                int64_t want = 0;
                for (int64_t k = 0; k < K; k++) {
                    if (x[k] == 0.0f) continue;
                    assert_int_equal(nz[want], k);
                    assert_true(xv[want] == x[k]);
                    want++;
                }
                assert_int_equal(nnz, want);
                int64_t n0 = N > 3 ? 3 : 0, n1 = N > 5 ? N - 2 : N;
                for (int b = 0; b < 2; b++) {
                    const float *bs = b ? bias : NULL;
                    for (int64_t n = 0; n < N; n++) y1[n] = y2[n] = 123.0f;
                    fcn_gemv_cols_ref(B, ld, nz, xv, nnz, n0, n1, bs, y1);
                    fcn_gemv_cols_avx2(B, ld, nz, xv, nnz, n0, n1, bs, y2);
                    assert_close(y2, y1, (size_t)N, 1e-5f);
                    for (int64_t n = 0; n < N; n++) {
                        if (n < n0 || n >= n1) assert_true(y2[n] == 123.0f);
                        else if (!nnz) assert_true(y2[n] == (b ? bias[n] : 0.0f));
                    }
                }
                free(B); free(x); free(xv); free(bias); free(y1); free(y2); free(nz);
            }
    /* a NaN input is listed, and reaches every output as in the dense product */
    float x[3] = { 0.0f, NAN, 1.0f }, xv[3], B[3 * 8], y[8];
    int32_t nz[3];
    fill(B, 24);
    assert_int_equal(fcn_nonzeros(x, 3, nz, xv), 2);
    fcn_gemv_cols_avx2(B, 8, nz, xv, 2, 0, 8, NULL, y);
    for (int n = 0; n < 8; n++) assert_true(isnan(y[n]));
}

/* Batches of 1–4 rows over the union of their nonzero positions: the list (a position kept when
 * any row is nonzero there, every row's value beside it), the kernel against its twin on column
 * ranges starting and ending anywhere, a chunk past 4096 columns, lists of every length
 * mod 2, rows zero everywhere, with and without bias; columns outside the range untouched; a NaN
 * in one row reaching that row's outputs only. */
static void test_gemv_cols_rows_twins(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    const int64_t Ns[] = { 1, 9, 16, 37, 1030, 4100 }, Ks[] = { 1, 6, 37 };
    for (int rows = 1; rows <= 4; rows++)
        for (size_t ni = 0; ni < sizeof Ns / sizeof Ns[0]; ni++)
            for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
                int64_t N = Ns[ni], K = Ks[ki], ld = N + 5, ldx = K + 2, ldy = N + 3;
                float *B = malloc(sizeof(float) * (size_t)(K * ld)), *x = malloc(sizeof(float) * (size_t)(4 * ldx));
                float *xv = malloc(sizeof(float) * (size_t)(4 * K)), *bias = malloc(sizeof(float) * (size_t)N);
                float *y1 = malloc(sizeof(float) * (size_t)(4 * ldy)), *y2 = malloc(sizeof(float) * (size_t)(4 * ldy));
                int32_t *nz = malloc(sizeof(int32_t) * (size_t)K);
                fill(B, (size_t)(K * ld)); fill(x, (size_t)(4 * ldx)); fill(bias, (size_t)N);
                /* row r zero at k % (r + 2) == 0, row 3 (if any) zero everywhere */
                for (int r = 0; r < rows; r++)
                    for (int64_t k = 0; k < K; k++)
                        if (r == 3 || k % (r + 2) == 0) x[r * ldx + k] = (k & 1) ? -0.0f : 0.0f;
                int64_t nnz = fcn_nonzeros_rows(x, ldx, rows, K, nz, xv), want = 0;
                for (int64_t k = 0; k < K; k++) {
                    int any = 0;
                    for (int r = 0; r < rows; r++) any |= x[r * ldx + k] != 0.0f;
                    if (!any) continue;
                    assert_int_equal(nz[want], k);
                    for (int r = 0; r < rows; r++) assert_true(xv[want * rows + r] == x[r * ldx + k]);
                    want++;
                }
                assert_int_equal(nnz, want);
                int64_t n0 = N > 3 ? 3 : 0, n1 = N > 5 ? N - 2 : N;
                for (int b = 0; b < 2; b++) {
                    const float *bs = b ? bias : NULL;
                    for (int64_t i = 0; i < 4 * ldy; i++) y1[i] = y2[i] = 123.0f;
                    fcn_gemv_cols_rows_ref(B, ld, nz, xv, rows, nnz, n0, n1, bs, y1, ldy);
                    fcn_gemv_cols_rows_avx2(B, ld, nz, xv, rows, nnz, n0, n1, bs, y2, ldy);
                    for (int r = 0; r < 4; r++)
                        for (int64_t n = 0; n < ldy; n++) {
                            float a = y1[r * ldy + n], c = y2[r * ldy + n];
                            if (r >= rows || n < n0 || n >= n1) assert_true(c == 123.0f);
                            else if (!(fabsf(a - c) <= 1e-5f * fmaxf(1.0f, fabsf(a))))
                                fail_msg("rows %d N %lld K %lld: y[%d][%lld] %g vs %g", rows, (long long)N,
                                         (long long)K, r, (long long)n, (double)c, (double)a);
                        }
                    if (rows == 4)   /* the all-zero row: bias (or zero) exactly */
                        for (int64_t n = n0; n < n1; n++) assert_true(y2[3 * ldy + n] == (b ? bias[n] : 0.0f));
                }
                free(B); free(x); free(xv); free(bias); free(y1); free(y2); free(nz);
            }
    /* a NaN in row 1 reaches row 1's outputs only (B finite) */
    float x[2 * 3] = { 0.0f, 2.0f, 1.0f, 0.0f, NAN, 0.0f }, xv[6], B[3 * 8], y[2 * 8];
    int32_t nz[3];
    fill(B, 24);
    assert_int_equal(fcn_nonzeros_rows(x, 3, 2, 3, nz, xv), 2);
    fcn_gemv_cols_rows_avx2(B, 8, nz, xv, 2, 2, 0, 8, NULL, y, 8);
    for (int n = 0; n < 8; n++) {
        assert_false(isnan(y[n]));
        assert_true(isnan(y[8 + n]));
    }
}

/* A prepared node's fast path run once on `threads` threads (a pool of its own), then freed */
static void run_fast_once(fcn_node *n, int threads)
{
    fcn_exec x = { NULL, 1 };
    struct fcn_threadpool *pool = NULL;
    if (threads > 1) { pool = fcn_threadpool_create(threads); x.pool = pool; x.nthreads = threads; }
    n->run_fast(n, &x);
    if (pool) fcn_threadpool_destroy(pool);
    n->free_fast(n->fast);
}

/* An FC node through the fast path the session uses: a K×N weight (Gemm transB 0, MatMul) takes
 * the input-major product, four input rows at a time; its result is the same bits on 1, 2 and 3
 * threads, with the weights cold or warm (fcn_node.weights_warm: four weight rows at a time at
 * any K), and matches the reference op; an N×K weight keeps the row product. */
static void test_gemm_cols_node(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    const int64_t shapes[][3] = { /* M K N */ { 1, 300, 1000 }, { 1, 37, 16 }, { 1, 64, 4113 }, { 1, 9, 37 },
                                  { 2, 50, 40 }, { 3, 70, 2100 }, { 7, 33, 45 } };
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (int op = 0; op < 4; op++) {   /* Gemm transB 0, Gemm transB 1, MatMul, Gemm transB 0 alpha 0.5 */
            int64_t M = shapes[si][0], K = shapes[si][1], N = shapes[si][2];
            int tb = op == 1, gemm = op != 2, scaled = op == 3;
            fcn_tensor A = { 0 }, Bt = { 0 }, C = { 0 }, Y1 = { 0 }, Y2 = { 0 };
            A.dtype = Bt.dtype = C.dtype = FC_DT_F32;
            A.ndim = Bt.ndim = 2;
            A.dims[0] = M; A.dims[1] = K;
            Bt.dims[0] = tb ? N : K; Bt.dims[1] = tb ? K : N;
            C.ndim = 1; C.dims[0] = N;
            Bt.is_const = C.is_const = 1;
            A.numel = (size_t)(M * K); Bt.numel = (size_t)(K * N); C.numel = (size_t)N;
            A.nbytes = A.numel * 4; Bt.nbytes = Bt.numel * 4; C.nbytes = C.numel * 4;
            A.data = malloc(A.nbytes); Bt.data = malloc(Bt.nbytes); C.data = malloc(C.nbytes);
            fill(A.data, A.numel); fill(Bt.data, Bt.numel); fill(C.data, C.numel);
            for (size_t i = 0; i < A.numel; i += 3) ((float *)A.data)[i] = 0.0f;   /* a third zeros */
            fcn_attr_rec attrs[2];
            uint64_t slots[2];
            int64_t one = tb;
            double half = 0.5;
            memcpy(&slots[0], &one, 8);
            memcpy(&slots[1], &half, 8);
            attrs[0] = (fcn_attr_rec){ FCN_ATTR_TRANS_B, FCN_AK_INT, 1, 0 };
            attrs[1] = (fcn_attr_rec){ FCN_ATTR_ALPHA, FCN_AK_FLOAT, 1, 1 };
            int na = gemm ? 1 + scaled : 0, nin = gemm ? 3 : 2;
            int fop = gemm ? FCN_OP_GEMM : FCN_OP_MATMUL;
            fcn_tensor *ins[3] = { &A, &Bt, &C }, *outs1[1] = { &Y1 }, *outs2[1] = { &Y2 };
            fc_error err = { 0 };
            assert_int_equal(fcn_eval_op(fop, "fc", attrs, na, slots, ins, nin, outs1, 1, &err), 0);
            float *ref = Y1.data;   /* (MatMul: two inputs, no bias) */
            fcn_act_apply(FCN_ACT_RELU, 0, 0, ref, (int64_t)Y1.numel);
            float *first = NULL;
            for (int run = 0; run < 6; run++) {   /* 1-3 threads, the weights cold and warm */
                int threads = run % 3 + 1, warm = run / 3;
                fcn_node n = { 0 };
                n.op = fop; n.name = "fc"; n.n_in = nin; n.n_out = 1;
                n.in = ins; n.out = outs2;
                n.attrs = attrs; n.n_attrs = na; n.slots = slots; n.nthreads = threads;
                n.weights_warm = warm;
                n.act = FCN_ACT_RELU;
                const fcn_op_def *def = fcn_op_lookup(fop);
                assert_int_equal(def->infer(&n, &err), 0);
                Y2.numel = (size_t)fcn_numel_dims(Y2.ndim, Y2.dims);
                Y2.data = malloc(Y2.numel * 4);
                assert_int_equal(fcn_fast_gemm_prepare(&n, &err), 1);
                /* (alpha 0.5: a scaled copy, N×K, for the row product) */
                assert_string_equal(n.kernel, !tb && !scaled ? "gemv-cols-avx2" : warm ? "gemv-warm-avx2" : "gemv-avx2");
                run_fast_once(&n, threads);
                if (n.params && n.free_params) n.free_params(n.params); else free(n.params);
                assert_close_scaled(Y2.data, ref, Y1.numel, 1e-5f);
                if (!first) first = Y2.data;
                else {
                    assert_memory_equal(Y2.data, first, Y2.numel * 4);
                    free(Y2.data);
                }
            }
            free(first);
            free(A.data); free(Bt.data); free(C.data); free(Y1.data);
        }
}

/* An FC turned convolution whose weight is stored input-major (W_LAYOUT 1, [C][kh][kw][K]):
 * the reference op gives the same bits as with the ONNX order; the fast path takes the cols
 * product where the kernel covers the whole unpadded input (same bits on 1, 2 and 3 threads,
 * batch 1 and 2) and, on a larger input, the GEMM with A packed from that order; both close to
 * the reference. A layout other than 0/1, or 1 with groups, is refused. */
static void test_conv_cols_node(void **state)
{
    (void)state;
    /* N C kh kw K, input H W, stride */
    const int64_t cases[][8] = { { 1, 4, 3, 5, 40, 3, 5, 1 }, { 2, 3, 6, 6, 17, 6, 6, 1 }, { 1, 64, 1, 1, 1000, 1, 1, 1 },
                                 { 1, 2, 4, 4, 4113, 4, 4, 1 }, { 1, 4, 3, 5, 40, 7, 9, 1 }, { 2, 3, 4, 4, 20, 9, 8, 2 },
                                 { 1, 37, 1, 1, 50, 5, 6, 1 } };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const int64_t *c = cases[ci];
        int64_t N = c[0], C = c[1], kh = c[2], kw = c[3], K = c[4], H = c[5], W = c[6], st = c[7];
        int fc = H == kh && W == kw;
        int64_t rows = C * kh * kw;
        fcn_tensor X = { 0 }, W0 = { 0 }, W1 = { 0 }, B = { 0 }, Y0 = { 0 }, Y1 = { 0 }, Y2 = { 0 };
        X.dtype = W0.dtype = B.dtype = FC_DT_F32;
        X.ndim = W0.ndim = 4;
        X.dims[0] = N; X.dims[1] = C; X.dims[2] = H; X.dims[3] = W;
        W0.dims[0] = K; W0.dims[1] = C; W0.dims[2] = kh; W0.dims[3] = kw;
        B.ndim = 1; B.dims[0] = K;
        W0.is_const = B.is_const = 1;
        X.numel = (size_t)(N * C * H * W); W0.numel = (size_t)(K * rows); B.numel = (size_t)K;
        X.nbytes = X.numel * 4; W0.nbytes = W0.numel * 4; B.nbytes = B.numel * 4;
        X.data = malloc(X.nbytes); W0.data = malloc(W0.nbytes); B.data = malloc(B.nbytes);
        fill(X.data, X.numel); fill(W0.data, W0.numel); fill(B.data, B.numel);
        for (size_t i = 0; i < X.numel; i += 3) ((float *)X.data)[i] = 0.0f;   /* a ReLU's zeros */
        W1 = W0;
        W1.data = malloc(W0.nbytes);
        for (int64_t k = 0; k < K; k++)
            for (int64_t r = 0; r < rows; r++) ((float *)W1.data)[r * K + k] = ((const float *)W0.data)[k * rows + r];
        fcn_attr_rec attrs[3];
        uint64_t slots[4];
        int64_t v[4] = { st, st, 1, 1 };   /* strides, then the layout */
        for (int i = 0; i < 4; i++) memcpy(&slots[i], &v[i], 8);
        attrs[0] = (fcn_attr_rec){ FCN_ATTR_STRIDES, FCN_AK_INTS, 2, 0 };
        attrs[1] = (fcn_attr_rec){ FCN_ATTR_W_LAYOUT, FCN_AK_INT, 1, 2 };
        attrs[2] = (fcn_attr_rec){ FCN_ATTR_GROUP, FCN_AK_INT, 1, 3 };
        fcn_tensor *ins0[3] = { &X, &W0, &B }, *ins1[3] = { &X, &W1, &B }, *o0[1] = { &Y0 }, *o1[1] = { &Y1 };
        fc_error err = { 0 };
        assert_int_equal(fcn_eval_op(FCN_OP_CONV, "conv", attrs, 1, slots, ins0, 3, o0, 1, &err), 0);
        assert_int_equal(fcn_eval_op(FCN_OP_CONV, "conv", attrs, 3, slots, ins1, 3, o1, 1, &err), 0);
        assert_int_equal(Y0.numel, Y1.numel);
        assert_memory_equal(Y0.data, Y1.data, Y0.numel * 4);   /* the same terms in the same order */
        fcn_act_apply(FCN_ACT_RELU, 0, 0, Y0.data, (int64_t)Y0.numel);
        float *first = NULL;
        for (int threads = 1; threads <= 3 && simd_ok(); threads++) {
            fcn_node n = { 0 };
            fcn_tensor *outs[1] = { &Y2 };
            n.op = FCN_OP_CONV; n.name = "conv"; n.n_in = 3; n.n_out = 1;
            n.in = ins1; n.out = outs;
            n.attrs = attrs; n.n_attrs = 3; n.slots = slots; n.nthreads = threads;
            n.act = FCN_ACT_RELU;
            assert_int_equal(fcn_op_lookup(FCN_OP_CONV)->infer(&n, &err), 0);
            free(n.params);
            n.params = NULL;
            Y2.numel = (size_t)fcn_numel_dims(Y2.ndim, Y2.dims);
            Y2.data = malloc(Y2.numel * 4);
            assert_int_equal(fcn_fast_conv_prepare(&n, &err), 1);
            if (fc) assert_string_equal(n.kernel, "gemv-cols-avx2");
            else assert_true(strstr(n.kernel, "gemm") || strstr(n.kernel, "pointwise"));
            n.scratch = aligned_alloc(64, (n.scratch_bytes + 64) & ~(size_t)63);
            run_fast_once(&n, threads);
            free(n.scratch);
            assert_close_scaled(Y2.data, Y0.data, Y0.numel, 1e-5f);
            if (!first) first = Y2.data;
            else {
                if (fc) assert_memory_equal(Y2.data, first, Y2.numel * 4);
                free(Y2.data);
            }
        }
        free(first);
        /* refused: a layout other than 0 and 1, and an input-major weight with groups */
        if (ci == 0) {
            int64_t bad[2] = { 2, 1 }, grp = 2;
            for (int b = 0; b < 2; b++) {
                memcpy(&slots[2], &bad[b], 8);
                memcpy(&slots[3], &grp, 8);
                fcn_tensor Wg = W1, Yb = { 0 }, *insb[3] = { &X, &Wg, &B }, *ob[1] = { &Yb };
                Wg.dims[1] = b == 0 ? C : C / 2;
                assert_int_equal(fcn_eval_op(FCN_OP_CONV, "conv", attrs, b == 0 ? 2 : 3, slots, insb, 3, ob, 1, &err), -1);
                assert_non_null(strstr(err.msg, "w_layout"));
                free(Yb.data);
            }
        }
        free(X.data); free(W0.data); free(W1.data); free(B.data); free(Y0.data); free(Y1.data);
    }
}

/* The 1×1 convs' B packing against the generic one: same panels, bit for bit, with the padding
 * columns of a partial last panel zero (the output buffer starts as garbage). */
static void test_pack_rows_twin(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    int64_t cases[][3] = { /* kc n0 nc */ { 1, 0, 16 }, { 3, 0, 33 }, { 7, 5, 47 }, { 16, 16, 64 }, { 5, 3, 1 },
                           { 9, 1, 15 }, { 2, 0, 24 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t kc = cases[i][0], n0 = cases[i][1], nc = cases[i][2], rs = n0 + nc + 3, k0 = 2;
        size_t panels = (size_t)((nc + 15) / 16), outn = panels * (size_t)kc * 16;
        float *b = malloc(sizeof(float) * (size_t)((k0 + kc) * rs)), *o1 = malloc(sizeof(float) * outn),
              *o2 = malloc(sizeof(float) * outn);
        fill(b, (size_t)((k0 + kc) * rs));
        for (size_t j = 0; j < outn; j++) { o1[j] = 7.0f; o2[j] = -7.0f; }
        fcn_strided_b sb = { b, rs, 1 };
        fcn_pack_b_strided(&sb, k0, kc, n0, nc, o1);
        fcn_pack_b_rows_avx2(&sb, k0, kc, n0, nc, o2);
        assert_memory_equal(o1, o2, sizeof(float) * outn);
        free(b); free(o1); free(o2);
    }
}

/* The 1×1 stride-2 packer (row by row, permutes of masked loads) against the generic im2col one:
 * the same panels bit for bit, on maps whose output rows are narrower or wider than a panel, odd
 * sizes (the last input column and row used), blocks starting anywhere, a block wider than NC
 * (handed to the generic packer). The input is allocated to its last float: a read past a row's
 * end on the last plane would leave it (test-asan). */
static void test_pack_1x1s2_twin(void **state)
{
    (void)state;
    if (!__builtin_cpu_supports("avx512f")) skip();
    int64_t maps[][2] = { { 56, 56 }, { 14, 14 }, { 7, 7 }, { 13, 29 }, { 2, 33 }, { 64, 64 }, { 100, 100 }, { 1, 1 } };
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        int64_t H = maps[i][0], W = maps[i][1], Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1, N = Ho * Wo;
        int64_t k0 = 1, kc = 3, C = k0 + kc;
        float *in = malloc(sizeof(float) * (size_t)(C * H * W));
        fill(in, (size_t)(C * H * W));
        fcn_im2col ic = { in, H, W, 1, 1, 2, 2, 0, 0, 1, 1, Wo };
        int64_t blocks[][2] = { { 0, N < FCN_NC ? N : FCN_NC }, { N > 16 ? 16 : 0, N > 16 ? (N - 16 < 192 ? N - 16 : 192) : N },
                                { N > 5 ? 5 : 0, N > 5 ? (N - 5 < 37 ? N - 5 : 37) : N }, { N - 1, 1 }, { 0, N } };
        for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
            int64_t n0 = blocks[b][0], nc = blocks[b][1];
            size_t outn = (size_t)((nc + 15) / 16 * 16 * kc);
            float *o1 = aligned_alloc(64, (outn * sizeof(float) + 63) & ~(size_t)63);
            float *o2 = aligned_alloc(64, (outn * sizeof(float) + 63) & ~(size_t)63);
            for (size_t j = 0; j < outn; j++) { o1[j] = 7.0f; o2[j] = -7.0f; }
            fcn_pack_im2col_avx2(&ic, k0, kc, n0, nc, o1);
            fcn_pack_1x1s2_avx512(&ic, k0, kc, n0, nc, o2);
            if (memcmp(o1, o2, sizeof(float) * outn) != 0)
                fail_msg("%ldx%ld columns [%ld, +%ld): packs differ", (long)H, (long)W, (long)n0, (long)nc);
            free(o1); free(o2);
        }
        free(in);
    }
}

/* The output of depthwise args `a` (computed whole into `whole`) again band by band, each band
 * `rows` output rows read through a view of its input rows (fcn_dw_args.in_cs/out_cs, the top
 * padding what is left of it), as the fused layers run it: the same bits. */
static void check_dw_bands(const fcn_dw_args *a, const float *whole, int64_t rows)
{
    int64_t C = 5, n = C * a->Ho * a->Wo;
    float *o = calloc((size_t)n, sizeof(float));
    for (int64_t oy0 = 0; oy0 < a->Ho; oy0 += rows) {
        int64_t oy1 = oy0 + rows < a->Ho ? oy0 + rows : a->Ho;
        int64_t r0 = oy0 * a->sh - a->ph, r1 = (oy1 - 1) * a->sh - a->ph + (a->kh - 1) * a->dh + 1;
        if (r0 < 0) r0 = 0;
        if (r1 > a->H) r1 = a->H;
        fcn_dw_args b = *a;
        b.in = a->in + r0 * a->W;
        b.in_cs = a->H * a->W;
        b.H = r1 - r0;
        b.ph = a->ph + r0 - oy0 * a->sh;
        b.out = o + oy0 * a->Wo;
        b.Ho = oy1 - oy0;
        b.out_cs = a->Ho * a->Wo;
        fcn_dwconv_avx2(&b, 0, C);
    }
    assert_memory_equal(o, whole, sizeof(float) * (size_t)n);
    free(o);
}

static void test_dwconv_twins(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    int cases[][8] = { /* H W k s p d act */ { 17, 29, 3, 1, 1, 1, 1 }, { 16, 40, 3, 2, 1, 1, 2 },
                       { 9, 9, 5, 1, 2, 1, 0 }, { 30, 31, 3, 2, 0, 1, 1 }, { 20, 33, 3, 1, 2, 2, 0 },
                       { 7, 50, 3, 2, 1, 1, 0 }, { 7, 7, 3, 1, 1, 1, 2 }, { 14, 14, 5, 2, 2, 1, 1 }, { 12, 13, 3, 3, 1, 1, 0 },
                       /* 16-lane edges of the AVX-512 3×3 kernel: widths around 16/32, odd
                        * heights (the unpaired last row of stride 1), stride 2 with odd sizes */
                       { 11, 16, 3, 1, 1, 1, 1 }, { 5, 33, 3, 1, 1, 1, 2 }, { 1, 47, 3, 1, 1, 1, 0 },
                       { 13, 65, 3, 2, 1, 1, 1 }, { 8, 31, 3, 2, 1, 1, 2 }, { 3, 3, 3, 2, 0, 1, 0 },
                       { 112, 112, 3, 1, 1, 1, 2 }, { 112, 112, 3, 2, 1, 1, 2 },
                       /* the AVX-512 3×3 kernel reads the unpadded input: pad 0 and 2 (rows of
                        * zero padding past both ends), tiny planes, the flat path for small
                        * "same" planes (Ho·Wo <= 256) and just past it, a non-fused activation */
                       { 12, 12, 3, 1, 0, 1, 1 }, { 9, 21, 3, 1, 2, 1, 2 }, { 10, 19, 3, 2, 2, 1, 1 },
                       { 1, 1, 3, 1, 1, 1, 2 }, { 2, 2, 3, 2, 1, 1, 0 }, { 2, 3, 3, 1, 1, 1, 1 },
                       { 16, 16, 3, 1, 1, 1, 2 }, { 17, 15, 3, 1, 1, 1, 1 }, { 17, 16, 3, 1, 1, 1, 0 },
                       { 4, 70, 3, 2, 1, 1, 2 }, { 14, 14, 3, 2, 1, 1, 1 }, { 7, 7, 3, 1, 1, 1, FCN_ACT_LEAKY_RELU },
                       { 15, 34, 3, 2, 1, 1, FCN_ACT_SIGMOID },
                       /* k×k flat planes (fcn_dwk_avx512, <= 64 outputs): 5×5 on 7×7, 7×7 on 8×8 */
                       { 7, 7, 5, 1, 2, 1, 1 }, { 8, 8, 7, 1, 3, 1, 2 },
                       /* flat planes of 2, 3, 7 and 13 vectors: the 4-vector groups and each tail */
                       { 5, 5, 3, 1, 1, 1, 0 }, { 6, 6, 3, 1, 1, 1, 1 }, { 10, 11, 3, 1, 1, 1, 2 },
                       { 14, 14, 3, 1, 1, 1, 1 },
                       /* rows of more than 64 vectors (the 3×3 kernel makes its column masks
                        * 64 vectors at a time): the sliding stride-1 pass, pad 2, stride 2 */
                       { 3, 1100, 3, 1, 1, 1, 1 }, { 3, 1030, 3, 1, 2, 1, 2 }, { 4, 2090, 3, 2, 1, 1, 0 },
                       /* one vector a row (3×3 and 5×5 "same" planes up to 16 wide, 5×5 from 10):
                        * 1 to 3 rows (the rows of padding at both ends at once), the widths at
                        * the ends of the range, the activations; 5×5 at 9 takes the other passes */
                       { 1, 14, 3, 1, 1, 1, 1 }, { 3, 9, 3, 1, 1, 1, 2 }, { 20, 1, 3, 1, 1, 1, 0 },
                       { 14, 14, 5, 1, 2, 1, 1 }, { 1, 10, 5, 1, 2, 1, 0 }, { 2, 13, 5, 1, 2, 1, 2 },
                       { 3, 16, 5, 1, 2, 1, FCN_ACT_LEAKY_RELU }, { 20, 12, 5, 1, 2, 1, 0 }, { 16, 16, 5, 1, 2, 1, 2 },
                       { 9, 9, 5, 1, 2, 1, 1 }, { 14, 17, 5, 1, 2, 1, 1 },
                       /* 3×3 strips rolled down the rows (17 to 40 wide, past the flat planes'
                        * 256 outputs): a last strip of 1, 12 and 16 columns, the widest */
                       { 28, 28, 3, 1, 1, 1, 1 }, { 16, 17, 3, 1, 1, 1, 2 }, { 7, 40, 3, 1, 1, 1, 0 },
                       { 10, 32, 3, 1, 1, 1, 1 }, { 9, 33, 3, 1, 1, 1, FCN_ACT_SIGMOID },
                       /* 5×5 stride 2 rolled down the rows (13 or more columns out): one strip
                        * of 13, 14 and 16, a last strip of 1 and 12, pads 0 and 1, 1 to 3 rows out
                        * (the zero rows at both ends at once), odd sizes, the activations */
                       { 28, 28, 5, 2, 2, 1, 1 }, { 25, 26, 5, 2, 2, 1, 2 }, { 32, 32, 5, 2, 2, 1, 0 },
                       { 15, 34, 5, 2, 2, 1, FCN_ACT_SIGMOID }, { 56, 56, 5, 2, 2, 1, 1 },
                       { 17, 30, 5, 2, 0, 1, 2 }, { 11, 29, 5, 2, 1, 1, FCN_ACT_LEAKY_RELU },
                       { 1, 40, 5, 2, 2, 1, 1 }, { 2, 64, 5, 2, 2, 1, 0 }, { 5, 27, 5, 2, 2, 1, 2 },
                       /* 5×5 stride 1 strips rolled down the rows (more than 16 columns): last
                        * strips of 1, 12 and 16 columns, pads 0 and 1, 1 to 3 rows, odd sizes */
                       { 28, 28, 5, 1, 2, 1, 1 }, { 17, 17, 5, 1, 2, 1, 0 }, { 9, 32, 5, 1, 2, 1, 2 },
                       { 11, 33, 5, 1, 2, 1, FCN_ACT_SIGMOID }, { 12, 40, 5, 1, 0, 1, 1 },
                       { 7, 23, 5, 1, 1, 1, FCN_ACT_LEAKY_RELU }, { 1, 20, 5, 1, 2, 1, 2 },
                       { 2, 45, 5, 1, 2, 1, 0 }, { 3, 56, 5, 1, 2, 1, 1 },
                       /* "same" planes up to 7 wide, two channels a vector (3×3 and 5×5): 1 to 7
                        * columns and rows, the activations (a last odd channel of the 5 goes
                        * through the one-channel passes) */
                       { 7, 7, 5, 1, 2, 1, 2 }, { 7, 7, 3, 1, 1, 1, FCN_ACT_SIGMOID }, { 4, 4, 5, 1, 2, 1, 0 },
                       { 1, 7, 5, 1, 2, 1, 1 }, { 7, 1, 3, 1, 1, 1, 1 }, { 2, 6, 5, 1, 2, 1, FCN_ACT_LEAKY_RELU },
                       { 6, 5, 3, 1, 1, 1, 2 }, { 3, 2, 5, 1, 2, 1, 1 }, { 5, 7, 3, 1, 1, 1, 0 },
                       /* and stride 2 onto rows of up to 7 (inputs up to 14 wide), odd sizes */
                       { 13, 13, 3, 2, 1, 1, 1 }, { 14, 13, 5, 2, 2, 1, 2 }, { 7, 9, 3, 2, 1, 1, FCN_ACT_SIGMOID },
                       { 1, 14, 5, 2, 2, 1, 0 }, { 6, 4, 5, 2, 2, 1, FCN_ACT_LEAKY_RELU }, { 15, 14, 3, 2, 1, 1, 2 },
                       { 2, 1, 3, 2, 1, 1, 1 } };
    int had512 = fcn_set_avx512(1);
    for (int avx512 = 0; avx512 < 2; avx512++)
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        fcn_set_avx512(avx512);
        int H = cases[t][0], W = cases[t][1], k = cases[t][2], s = cases[t][3], p = cases[t][4], d = cases[t][5];
        int Ho = (H + 2 * p - d * (k - 1) - 1) / s + 1, Wo = (W + 2 * p - d * (k - 1) - 1) / s + 1, C = 5;
        float *in = malloc(sizeof(float) * (size_t)(C * H * W)), *w = malloc(sizeof(float) * (size_t)(C * k * k));
        float *o1 = malloc(sizeof(float) * (size_t)(C * Ho * Wo)), *o2 = malloc(sizeof(float) * (size_t)(C * Ho * Wo));
        float bias[5];
        fill(in, (size_t)(C * H * W)); fill(w, (size_t)(C * k * k)); fill(bias, 5);
        /* every other case without bias; LeakyReLU slope 0.1, Clip to [0, 0.5] */
        fcn_dw_args a = { in, o1, w, t % 2 ? NULL : bias, H, W, Ho, Wo, k, k, s, s, p, p, d, d, cases[t][6],
                          cases[t][6] == FCN_ACT_LEAKY_RELU ? 0.1f : 0.0f, 0.5f, NULL, 0, 0, 0, 0, 0, 0 };
        fcn_dwconv_ref(&a, 0, C);
        a.out = o2;
        a.work = aligned_alloc(64, (fcn_dw_work_floats(&a) * sizeof(float) + 63) & ~(size_t)63);
        /* 3×3 stride-1 pad-1 planes: the sliding pass and the masked one; narrow planes: the
         * one-vector-a-row passes and the others */
        for (int v = 0; v < 4; v++) {
            a.no_slide = v & 1;
            a.no_narrow = v >> 1;
            memset(o2, 0, sizeof(float) * (size_t)(C * Ho * Wo));
            fcn_dwconv_avx2(&a, 0, C);
            assert_close(o2, o1, (size_t)(C * Ho * Wo), 1e-5f);
        }
        if (fcn_avx512_enabled() && (fcn_dw5x5_s2roll_ok(&a) || fcn_dw5x5_roll_ok(&a)))
            check_dw_bands(&a, o2, 3);
        free(a.work);
        free(in); free(w); free(o1); free(o2);
    }
    fcn_set_avx512(had512);
}

/* The channel-blocked k×k kernel (dwconv_c16_avx512.c) against the reference: partial and
 * several 16-channel blocks, channel ranges that start inside a block (as a thread's share
 * does), rows wider than one 16-pixel transpose, stride 2, pads 0..3, the activations. */
static void test_dwc16(void **state)
{
    (void)state;
    if (!simd_ok() || !fcn_avx512_enabled()) skip();
    int cases[][8] = { /* C H W k s p act c0 */ { 37, 7, 7, 5, 1, 2, 1, 0 }, { 16, 14, 14, 5, 1, 2, 2, 0 },
                       { 5, 14, 14, 5, 2, 2, 0, 0 }, { 40, 28, 28, 5, 2, 2, 1, 3 }, { 17, 9, 21, 7, 1, 3, 1, 1 },
                       { 33, 20, 33, 5, 1, 2, FCN_ACT_SIGMOID, 0 }, { 3, 5, 6, 5, 1, 0, 0, 0 },
                       { 20, 13, 11, 5, 2, 1, 2, 4 }, { 48, 7, 7, 7, 1, 3, 1, 17 }, { 1, 1, 1, 5, 1, 2, 1, 0 },
                       { 24, 28, 28, 5, 1, 2, 0, 0 },
                       /* 3×3 on small maps: 14×14 stride 1, 7×7 and stride 2 onto 7×7 */
                       { 40, 14, 14, 3, 1, 1, 2, 0 }, { 33, 7, 7, 3, 1, 1, 1, 5 }, { 21, 14, 14, 3, 2, 1, 1, 0 } };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        int C = cases[t][0], H = cases[t][1], W = cases[t][2], k = cases[t][3], s = cases[t][4], p = cases[t][5];
        int act = cases[t][6], c0 = cases[t][7];
        int Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
        float *in = malloc(sizeof(float) * (size_t)(C * H * W)), *w = malloc(sizeof(float) * (size_t)(C * k * k));
        float *o1 = calloc((size_t)(C * Ho * Wo), sizeof(float)), *o2 = calloc((size_t)(C * Ho * Wo), sizeof(float));
        float *bias = malloc(sizeof(float) * (size_t)C);
        fill(in, (size_t)(C * H * W)); fill(w, (size_t)(C * k * k)); fill(bias, (size_t)C);
        fcn_dw_args a = { in, o1, w, t % 2 ? NULL : bias, H, W, Ho, Wo, k, k, s, s, p, p, 1, 1, act, 0.0f, 0.5f, NULL, 1, 0, 0, 0, 0, 0 };
        /* every case but the 3×3 "same" stride-1 ones, which the flat kernel takes, the 5×5
         * ones on planes 10 to 16 wide (the one-vector-a-row pass) and the 5×5 stride-2 ones onto
         * 13 or more columns (rolled down the rows); run here all the same */
        assert_int_equal(fcn_dwc16_applies(&a), !fcn_dw3x3_flat_ok(&a) && !fcn_dw5x5_narrow_ok(&a) &&
                                                 !fcn_dw5x5_s2roll_ok(&a) && !fcn_dw5x5_roll_ok(&a) && !fcn_dw_pair_ok(&a));
        fcn_dwconv_ref(&a, c0, C);
        a.out = o2;
        a.work = aligned_alloc(64, (fcn_dwc16_work_floats(&a) * sizeof(float) + 63) & ~(size_t)63);
        fcn_dwc16_avx512(&a, c0, C);
        free(a.work);
        assert_close(o2, o1, (size_t)(C * Ho * Wo), 1e-5f);   /* channels below c0 stay 0 in both */
        /* written plane by plane (sessions on several threads): the same values */
        float *o3 = calloc((size_t)(C * Ho * Wo), sizeof(float));
        a.out = o3;
        a.c16_planes = 1;
        a.work = aligned_alloc(64, (fcn_dwc16_work_floats(&a) * sizeof(float) + 63) & ~(size_t)63);
        fcn_dwc16_avx512(&a, c0, C);
        free(a.work);
        assert_memory_equal(o3, o2, sizeof(float) * (size_t)(C * Ho * Wo));
        free(o3);
        free(in); free(w); free(o1); free(o2); free(bias);
    }
}

/* ---- fast conv path vs the reference op on identical nodes ----------------------------- */
typedef struct conv_case { int N, C, H, W, K, kh, kw, s, p, d, g, bias, act; } conv_case;

/* The memory budget run_conv_case fits the node's scratch to on its second run (the full
 * scratch over conv_budget_div), and how many of those runs took Winograd's shared blocks. */
static size_t conv_budget_div = 3;
static int seen_shared;
/* run_conv_case adds a residual (the session's Add fusion) before the activation when set */
static int conv_residual;
/* when set, run_conv_case stores the fast path's kernel label there */
static const char **conv_kernel_out;

/* The fast path against the reference op; with keep, the fast path's output is handed back
 * (the caller frees it). */
static void run_conv_case_keep(const conv_case *cc, int threads, float **keep)
{
    fcn_tensor X = { 0 }, Wt = { 0 }, B = { 0 }, Y1 = { 0 }, Y2 = { 0 };
    X.dtype = Wt.dtype = B.dtype = FC_DT_F32;
    X.ndim = 4; X.dims[0] = cc->N; X.dims[1] = cc->C; X.dims[2] = cc->H; X.dims[3] = cc->W;
    Wt.ndim = 4; Wt.dims[0] = cc->K; Wt.dims[1] = cc->C / cc->g; Wt.dims[2] = cc->kh; Wt.dims[3] = cc->kw;
    B.ndim = 1; B.dims[0] = cc->K;
    Wt.is_const = B.is_const = 1;
    X.numel = (size_t)(cc->N * cc->C * cc->H * cc->W);
    Wt.numel = (size_t)(cc->K * (cc->C / cc->g) * cc->kh * cc->kw);
    B.numel = (size_t)cc->K;
    X.data = malloc(X.numel * 4); Wt.data = malloc(Wt.numel * 4); B.data = malloc(B.numel * 4);
    fill(X.data, X.numel); fill(Wt.data, Wt.numel); fill(B.data, B.numel);
    X.nbytes = X.numel * 4; Wt.nbytes = Wt.numel * 4; B.nbytes = B.numel * 4;

    fcn_attr_rec attrs[5];
    uint64_t slots[16];
    int na = 0, ns = 0;
#define ATTR_INTS(KEY, ...) do { int64_t v_[] = { __VA_ARGS__ }; int c_ = (int)(sizeof v_ / sizeof v_[0]); \
        attrs[na++] = (fcn_attr_rec){ KEY, c_ == 1 ? FCN_AK_INT : FCN_AK_INTS, (uint32_t)c_, (uint32_t)ns }; \
        for (int i_ = 0; i_ < c_; i_++) memcpy(&slots[ns++], &v_[i_], 8); } while (0)
    ATTR_INTS(FCN_ATTR_KERNEL_SHAPE, cc->kh, cc->kw);
    ATTR_INTS(FCN_ATTR_STRIDES, cc->s, cc->s);
    ATTR_INTS(FCN_ATTR_PADS, cc->p, cc->p, cc->p, cc->p);
    ATTR_INTS(FCN_ATTR_DILATIONS, cc->d, cc->d);
    attrs[na] = (fcn_attr_rec){ FCN_ATTR_GROUP, FCN_AK_INT, 1, (uint32_t)ns };
    int64_t gv = cc->g;
    memcpy(&slots[ns++], &gv, 8);
    na++;

    fcn_tensor *ins[3] = { &X, &Wt, cc->bias ? &B : NULL };
    fcn_tensor *outs1[1] = { &Y1 };
    fc_error err = { 0 };
    /* reference result through the op table */
    int rc = fcn_eval_op(FCN_OP_CONV, "conv", attrs, na, slots, ins, cc->bias ? 3 : 2, outs1, 1, &err);
    assert_int_equal(rc, 0);
    fcn_tensor R = Y1;   /* the residual: Y1's shape, its own data */
    R.data = NULL;
    if (conv_residual) {
        R.data = malloc(Y1.numel * 4);
        fill(R.data, Y1.numel);
        for (size_t i = 0; i < Y1.numel; i++) ((float *)Y1.data)[i] += ((const float *)R.data)[i];
    }
    if (cc->act) fcn_act_apply(cc->act == 2 ? FCN_ACT_LEAKY_RELU : FCN_ACT_RELU, cc->act == 2 ? 0.1f : 0.0f, 0, Y1.data, (int64_t)Y1.numel);

    /* the fast path on a node set up the way the session does */
    fcn_node n = { 0 };
    n.op = FCN_OP_CONV; n.name = "conv"; n.n_in = cc->bias ? 3 : 2; n.n_out = 1;
    n.in = ins; fcn_tensor *outs2[1] = { &Y2 }; n.out = outs2;
    n.attrs = attrs; n.n_attrs = na; n.slots = slots; n.nthreads = threads;
    /* act 1: ReLU (applied in the kernels' registers), 2: LeakyReLU 0.1 (applied after) */
    n.act = cc->act == 2 ? FCN_ACT_LEAKY_RELU : cc->act ? FCN_ACT_RELU : FCN_ACT_NONE;
    n.act_alpha = cc->act == 2 ? 0.1f : 0.0f;
    const fcn_op_def *def = fcn_op_lookup(FCN_OP_CONV);
    assert_non_null(def);
    assert_int_equal(def->infer(&n, &err), 0);
    Y2.numel = (size_t)fcn_numel_dims(Y2.ndim, Y2.dims);
    Y2.data = malloc(Y2.numel * 4);
    if (def->prepare) assert_int_equal(def->prepare(&n, &err), 0);
    if (n.params && n.free_params) n.free_params(n.params); else free(n.params);
    n.params = NULL;
    size_t ref_scratch = n.scratch_bytes;
    n.scratch_bytes = 0;
    assert_int_equal(fcn_fast_conv_prepare(&n, &err), 1);
    (void)ref_scratch;
    if (conv_residual) {   /* fused as the session does: the conv's activation moves after the add */
        int act = n.act;
        n.act = FCN_ACT_NONE;
        assert_int_equal(fcn_fast_conv_fuse_residual(&n, &R, act, n.act_alpha, n.act_beta), 1);
    }
    if (conv_kernel_out) *conv_kernel_out = n.kernel;
    n.scratch = aligned_alloc(64, (n.scratch_bytes + 64) & ~(size_t)63);
    fcn_exec x = { NULL, 1 };
    struct fcn_threadpool *pool = NULL;
    if (threads > 1) { pool = fcn_threadpool_create(threads); x.pool = pool; x.nthreads = threads; }
    n.run_fast(&n, &x);
    assert_int_equal(Y1.numel, Y2.numel);
    assert_close_scaled(Y2.data, Y1.data, Y1.numel, 1e-4f);
    if (pool) {   /* the tasks cut one a call (the finest cut the pool's stealing can make): the same bits */
        float *first = malloc(Y2.numel * 4);
        memcpy(first, Y2.data, Y2.numel * 4);
        setenv("FULLCONV_SPLIT_TASKS", "1", 1);
        struct fcn_threadpool *split = fcn_threadpool_create(threads);
        unsetenv("FULLCONV_SPLIT_TASKS");
        assert_non_null(split);
        fcn_exec xs = { split, threads };
        memset(Y2.data, 0, Y2.numel * 4);
        n.run_fast(&n, &xs);
        fcn_threadpool_destroy(split);
        if (memcmp(Y2.data, first, Y2.numel * 4) != 0)
            fail_msg("conv C %d H %d W %d K %d %dx%d s %d g %d (%s), %d threads: the bits depend on how the tasks are cut",
                     cc->C, cc->H, cc->W, cc->K, cc->kh, cc->kw, cc->s, cc->g, n.kernel, threads);
        free(first);
    }
    /* under a memory budget (the session's plan asks when the scratch would pass its bound):
     * Winograd runs in smaller blocks of tile rows, with the same result */
    size_t full = n.scratch_bytes, fitted = fcn_fast_conv_fit_scratch(&n, full / conv_budget_div);
    assert_true(fitted <= full);
    if (fitted < full) {
        assert_true(fitted <= full / conv_budget_div);
        seen_shared += fcn_fast_conv_wino_shared(&n);
        memset(Y2.data, 0, Y2.numel * 4);
        n.run_fast(&n, &x);
        assert_close_scaled(Y2.data, Y1.data, Y1.numel, 1e-4f);
    }
    if (pool) fcn_threadpool_destroy(pool);
    n.free_fast(n.fast);
    if (keep) *keep = Y2.data; else free(Y2.data);
    free(n.scratch); free(X.data); free(Wt.data); free(B.data); free(Y1.data); free(R.data);
}

static void run_conv_case(const conv_case *cc, int threads)
{
    run_conv_case_keep(cc, threads, NULL);
}

/* The pool's lock-free handshake: every index of every job runs exactly once, also for jobs with
 * fewer tasks than threads (workers that sit out still acknowledge), after pauses longer than
 * the spin budget (the sleep and wake-up path), and for a loop issued from inside a job (runs
 * serially). */
typedef struct pool_probe { int *hits; int64_t n; int job; int nested; } pool_probe;

static void pool_inner(void *vctx, int64_t b, int64_t e, int tid)
{
    (void)tid;
    int *cnt = vctx;
    __atomic_add_fetch(cnt, (int)(e - b), __ATOMIC_RELAXED);
}

static void pool_mark(void *vctx, int64_t b, int64_t e, int tid)
{
    const pool_probe *p = vctx;
    assert_true(b >= 0 && e <= p->n && b < e);
    for (int64_t i = b; i < e; i++) __atomic_add_fetch(&p->hits[i], 1, __ATOMIC_RELAXED);
    if (p->nested) {
        int cnt = 0;
        fcn_exec x = { NULL, 1 };
        fcn_parallel_for(&x, 5, pool_inner, &cnt);
        assert_int_equal(cnt, 5);
    }
    (void)tid;
}

/* A job whose thread 1 stalls in its first call (a vCPU the host slowed): the other threads
 * take over what is left of its share (threadpool.c, stealing). */
typedef struct steal_probe { int *hits; int ran[4]; int stalled; } steal_probe;

static void steal_mark(void *vctx, int64_t b, int64_t e, int tid)
{
    steal_probe *p = vctx;
    if (tid == 1 && !__atomic_exchange_n(&p->stalled, 1, __ATOMIC_ACQ_REL)) {
        struct timespec ts = { 0, 20000000 };
        nanosleep(&ts, NULL);
    }
    for (int64_t i = b; i < e; i++) __atomic_add_fetch(&p->hits[i], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&p->ran[tid], (int)(e - b), __ATOMIC_RELAXED);
}

static void test_threadpool_handshake(void **state)
{
    (void)state;
    static const int threads[] = { 2, 3, 4 };
    int hits[64];
    for (size_t ti = 0; ti < sizeof threads / sizeof threads[0]; ti++) {
        struct fcn_threadpool *pool = fcn_threadpool_create(threads[ti]);
        assert_non_null(pool);
        fcn_exec x = { pool, threads[ti] };
        for (int job = 0; job < 3000; job++) {
            pool_probe p = { hits, 1 + job % 9, job, job % 7 == 3 };
            memset(hits, 0, sizeof hits);
            fcn_parallel_for(&x, p.n, pool_mark, &p);
            for (int64_t i = 0; i < p.n; i++) assert_int_equal(hits[i], 1);
            if (job % 500 == 499) {   /* past the 200 µs spin: the threads go to sleep */
                struct timespec ts = { 0, 1000000 };
                nanosleep(&ts, NULL);
            }
        }
        fcn_threadpool_destroy(pool);
    }
    /* stealing: thread 1 stalls 20 ms in its first call; the other thread takes most of its
     * share, every task still runs once (and with FULLCONV_NO_STEAL=1 the static shares) */
    for (int nosteal = 0; nosteal < 2; nosteal++) {
        if (nosteal) setenv("FULLCONV_NO_STEAL", "1", 1);
        struct fcn_threadpool *sp = fcn_threadpool_create(2);
        assert_non_null(sp);
        unsetenv("FULLCONV_NO_STEAL");
        fcn_exec x = { sp, 2 };
        steal_probe p = { hits, { 0 }, 0 };
        memset(hits, 0, sizeof hits);
        fcn_parallel_for(&x, 64, steal_mark, &p);
        for (int i = 0; i < 64; i++) assert_int_equal(hits[i], 1);
        assert_int_equal(p.ran[0] + p.ran[1], 64);
        if (nosteal) assert_int_equal(p.ran[1], 32);
        else assert_true(p.ran[0] > 32 && p.ran[1] < 32);
        fcn_threadpool_destroy(sp);
    }
    /* destroyed while the workers sleep */
    struct fcn_threadpool *pool = fcn_threadpool_create(2);
    assert_non_null(pool);
    struct timespec ts = { 0, 2000000 };
    nanosleep(&ts, NULL);
    fcn_threadpool_destroy(pool);
}

static void test_fast_conv_paths(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    conv_case cases[] = {
        /* N C H W K kh kw s p d g bias act */
        { 1, 3, 17, 19, 8, 3, 3, 1, 1, 1, 1, 1, 1 },     /* gemm, implicit im2col */
        { 2, 16, 14, 14, 32, 1, 1, 1, 0, 1, 1, 1, 0 },   /* pointwise */
        { 1, 8, 15, 15, 13, 3, 3, 2, 1, 1, 1, 0, 1 },    /* strided */
        { 1, 8, 20, 20, 8, 3, 3, 1, 2, 2, 1, 1, 0 },     /* dilated */
        { 1, 12, 9, 9, 18, 3, 3, 1, 1, 1, 3, 1, 1 },     /* grouped */
        { 2, 24, 13, 13, 24, 3, 3, 1, 1, 1, 24, 1, 1 },  /* depthwise */
        { 1, 24, 28, 28, 24, 3, 3, 2, 1, 1, 24, 1, 0 },  /* depthwise strided */
        { 3, 32, 4, 4, 50, 4, 4, 1, 0, 1, 1, 1, 1 },     /* FC as conv: gemv */
        { 1, 40, 1, 1, 7, 1, 1, 1, 0, 1, 1, 0, 0 },      /* 1x1 on 1x1 map: gemv */
        { 1, 64, 30, 30, 20, 7, 7, 2, 3, 1, 1, 1, 1 },   /* stem-like, K > KC */
        { 1, 16, 13, 17, 24, 3, 3, 1, 1, 1, 1, 1, 1 },   /* winograd, partial tiles */
        { 2, 32, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 0 },     /* winograd, batch */
        { 1, 16, 10, 45, 16, 3, 3, 1, 0, 1, 1, 0, 0 },   /* winograd, no pad, > 8 tiles per row */
        { 1, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1 },   /* winograd, resnet-like */
        { 1, 17, 23, 37, 19, 3, 3, 1, 1, 1, 1, 1, 1 },   /* winograd, odd everything, masked row ends */
        { 1, 16, 56, 56, 16, 3, 3, 1, 1, 1, 1, 1, 1 },   /* winograd, ResNet layer1 map (14 tile rows) */
        { 1, 16, 20, 27, 24, 3, 3, 1, 1, 1, 1, 1, 0 },   /* winograd, 7 tiles per row, partial last tile */
        { 1, 16, 7, 7, 32, 3, 3, 1, 1, 1, 1, 1, 1 },     /* 7×7 map: gemm, every panel straddles rows */
        { 1, 8, 57, 57, 16, 3, 3, 2, 1, 1, 1, 1, 1 },    /* stride 2, Wo 29: straddling panels, gathers */
        { 1, 3, 40, 45, 16, 7, 7, 2, 3, 1, 1, 1, 1 },    /* stem: padded borders on both sides */
        /* the direct stem kernel (AVX-512, C <= 4, K % 16 == 0): 4-block groups (K 64), 4 + 2 + 1
         * (K 112), 2 + 1 (K 48), stride 1, 3 and 4, one channel, no bias, batch 2, Wo not a
         * multiple of the 6/12/24 pixel groups */
        { 1, 3, 50, 47, 64, 7, 7, 2, 3, 1, 1, 1, 1 },
        { 2, 3, 33, 35, 112, 3, 3, 2, 1, 1, 1, 0, 1 },
        { 1, 4, 21, 38, 48, 5, 5, 1, 2, 1, 1, 1, 0 },
        { 1, 1, 19, 29, 32, 3, 3, 1, 0, 1, 1, 1, 1 },
        { 1, 3, 91, 95, 64, 11, 11, 4, 2, 1, 1, 1, 1 },  /* AlexNet's 11×11/4 */
        { 1, 3, 60, 64, 32, 5, 5, 3, 1, 1, 1, 0, 1 },    /* stride 3 */
        { 1, 3, 90, 95, 32, 3, 3, 2, 1, 1, 1, 1, 1 },    /* 2 blocks × 14 pixels: Wo 48 rounds to 56 */
        { 2, 20, 9, 11, 40, 1, 1, 1, 0, 1, 1, 1, 1 },    /* pointwise, N not a multiple of 16 */
        { 1, 300, 14, 14, 40, 1, 1, 1, 0, 1, 1, 1, 1 },  /* pointwise, N >= M: columns split over threads, K > KC */
        { 1, 16, 30, 30, 16, 3, 3, 1, 1, 1, 16, 1, 1 },  /* depthwise 3×3, AVX-512 two-row pass */
        { 1, 16, 31, 33, 16, 3, 3, 2, 1, 1, 16, 1, 0 },  /* depthwise 3×3 stride 2, odd sizes */
        { 1, 24, 28, 28, 24, 5, 5, 1, 2, 1, 24, 1, 1 },  /* depthwise 5×5 (k×k kernel: 2 rows × 2 vectors) */
        { 1, 20, 57, 57, 20, 5, 5, 2, 2, 1, 20, 1, 0 },  /* depthwise 5×5 stride 2, odd map */
        { 2, 8, 14, 13, 8, 7, 7, 1, 3, 1, 8, 0, 1 },     /* depthwise 7×7 on a narrow map: 4 rows × 1 */
        { 1, 8, 9, 70, 8, 5, 5, 1, 1, 1, 8, 1, 1 },      /* depthwise 5×5, pad 1: 1 row × 4 vectors */
        { 1, 8, 11, 37, 8, 5, 5, 2, 0, 1, 8, 1, 0 },     /* depthwise 5×5 stride 2, no pad */
        { 1, 32, 7, 7, 32, 5, 5, 1, 2, 1, 32, 1, 1 },    /* depthwise 5×5 on 7×7: flat vectors */
        { 2, 16, 5, 9, 16, 3, 3, 1, 1, 1, 16, 1, 0 },    /* 3×3 same, 45 outputs (the 3×3 kernel's flat mode) */
        { 1, 8, 8, 8, 8, 7, 7, 1, 3, 1, 8, 0, 1 },       /* depthwise 7×7 on 8×8: flat, 4 full vectors */
        { 1, 24, 14, 14, 24, 5, 5, 2, 2, 1, 24, 1, 1 },  /* depthwise 5×5/2 onto 7×7: four phases, flat */
        { 2, 16, 8, 12, 16, 3, 3, 2, 1, 1, 16, 1, 0 },   /* 3×3/2 onto 4×6 (the 3×3 kernel) */
        { 1, 8, 16, 16, 8, 7, 7, 2, 3, 1, 8, 0, 1 },     /* 7×7/2 onto 8×8: phases, 4 full vectors */
        { 1, 8, 10, 6, 8, 5, 5, 2, 1, 1, 8, 1, 1 },      /* 5×5/2 pad 1 onto 4×2 (odd offsets) */
        { 1, 32, 28, 28, 32, 3, 3, 2, 1, 1, 2, 1, 1 },   /* grouped (direct kernel): RegNet-like stride 2 */
        { 2, 48, 14, 14, 48, 3, 3, 1, 1, 1, 3, 1, 0 },   /* grouped, 16 channels a group, batch 2 */
        { 1, 40, 10, 21, 40, 3, 3, 1, 1, 1, 2, 0, 1 },   /* grouped, 20 outputs a group: a partial block */
        { 1, 24, 17, 19, 36, 5, 5, 2, 2, 1, 4, 1, 1 },   /* grouped 5×5 stride 2, K/group 9 */
        { 1, 64, 7, 7, 64, 3, 3, 1, 1, 1, 4, 1, 1 },     /* grouped on 7×7: flat vectors */
        { 1, 40, 13, 13, 40, 3, 3, 1, 1, 1, 2, 1, 1 },   /* grouped flat 13×13: 10 vectors and 9 lanes, 20 a group */
        { 1, 32, 10, 10, 32, 3, 3, 1, 1, 1, 2, 0, 2 },   /* grouped flat 10×10: 6 vectors and 4 pixels, LeakyReLU */
        { 1, 48, 15, 15, 48, 5, 5, 1, 2, 1, 3, 1, 1 },   /* 15×15: as many vectors as rows, the row path */
        { 2, 40, 5, 9, 60, 3, 3, 1, 1, 1, 2, 0, 0 },     /* grouped flat, 30 outputs a group (2 blocks) */
        { 1, 64, 7, 7, 64, 3, 3, 1, 1, 1, 4, 1, 2 },     /* grouped flat, LeakyReLU after the stores */
        /* grouped flat, a last vector of 1 to 4 outputs taken pixel by pixel (16 channels in the
         * lanes): 7×7 above, 5×10 with 30 outputs a group (a partial channel block), 4×13 with
         * no bias and LeakyReLU, 5×9 (13 outputs: the vector path) above */
        { 1, 40, 5, 10, 60, 3, 3, 1, 1, 1, 2, 1, 1 },
        { 2, 48, 4, 13, 48, 3, 3, 1, 1, 1, 3, 0, 2 },
        { 1, 32, 12, 20, 48, 3, 3, 2, 1, 1, 2, 1, 2 },   /* grouped rows, stride 2, LeakyReLU */
        /* grouped, stride 2 onto rows of 4 to 8: two output rows a vector (RegNet's 14×14 → 7×7,
         * an odd row count leaving one row alone, pad 0 with 17 columns, 5×5, 20 outputs a
         * group (a partial channel block), no bias, LeakyReLU after the stores, batch 2; a last
         * window over the right padding) */
        { 1, 64, 14, 14, 64, 3, 3, 2, 1, 1, 4, 1, 1 },
        { 2, 32, 9, 8, 40, 3, 3, 2, 1, 1, 2, 0, 2 },
        { 1, 32, 16, 17, 32, 3, 3, 2, 0, 1, 2, 1, 0 },
        { 1, 24, 12, 15, 36, 5, 5, 2, 2, 1, 3, 1, 1 },
        { 1, 32, 10, 15, 32, 3, 3, 2, 1, 1, 2, 1, 1 },   /* the last window reaches the right padding */
        /* 1×1 reductions to 32-64 channels over small maps (on one thread the channels-in-lanes
         * kernel): SqueezeNet's 13×13 squeeze, batch 2 with LeakyReLU after the stores, three K
         * blocks, 1023 pixels */
        { 1, 512, 13, 13, 64, 1, 1, 1, 0, 1, 1, 1, 1 },
        { 2, 100, 9, 11, 48, 1, 1, 1, 0, 1, 1, 0, 2 },
        { 1, 600, 5, 7, 32, 1, 1, 1, 0, 1, 1, 1, 1 },
        { 1, 64, 31, 33, 32, 1, 1, 1, 0, 1, 1, 1, 0 },
        /* F(2×2,5×5) Winograd (tiles 2 apart, 24-column row loads): AlexNet's 27×27 with pad 2,
         * no pad, odd channels and widths over 8 tiles with a non-vector activation, batch 2;
         * a 7×7 output stays on the GEMM */
        { 1, 64, 27, 27, 48, 5, 5, 1, 2, 1, 1, 1, 1 },
        { 1, 16, 12, 23, 16, 5, 5, 1, 0, 1, 1, 0, 0 },
        { 2, 17, 20, 37, 19, 5, 5, 1, 2, 1, 1, 1, 2 },
        { 1, 16, 9, 9, 16, 5, 5, 1, 1, 1, 1, 1, 1 },
        /* U over 1 MB: blocks in two K chunks (one a thread at 2 threads), AlexNet's 64→192;
         * 64→136 has a partial second chunk (80 + 56 channels; 72 + 64 on AVX2's 6-row panels) */
        { 1, 64, 12, 12, 192, 5, 5, 1, 2, 1, 1, 1, 1 },
        { 1, 64, 11, 13, 136, 5, 5, 1, 2, 1, 1, 1, 0 },
        /* 1×1 stride 2 onto 48 or more columns (the input subsampled band by band, AVX-512):
         * RegNet's 112×112 projection, odd sizes with batch 2, a partial last vector with no
         * bias and LeakyReLU, K over KC, one output row; onto 14 columns (the packed GEMM) */
        { 1, 32, 112, 112, 32, 1, 1, 2, 0, 1, 1, 1, 1 },
        { 2, 20, 15, 97, 24, 1, 1, 2, 0, 1, 1, 1, 1 },
        { 1, 70, 9, 141, 40, 1, 1, 2, 0, 1, 1, 0, 2 },
        { 1, 300, 6, 100, 40, 1, 1, 2, 0, 1, 1, 1, 0 },
        { 1, 16, 2, 96, 24, 1, 1, 2, 0, 1, 1, 1, 1 },
        { 1, 24, 28, 28, 40, 1, 1, 2, 0, 1, 1, 1, 1 },
    };
    /* both micro-kernel families: AVX-512 (16-row A panels) when the CPU has it, and AVX2; both
     * vendors' choices (on AMD two threads also read a 1×1 conv's input in place and use the
     * channels-in-lanes kernel, in pixel bands). There a 1×1 stride-1 conv takes the same kernel
     * on one and two threads and gives the same bits (16-column blocks, K blocks in order); the
     * Xeon's choices differ by thread count (channels in lanes on one, the GEMM, whose last 1–4
     * columns sum in two chains, on two). */
    static const char *const vendors[] = { "intel", "amd" };
    int had512 = fcn_set_avx512(1);
    for (int avx512 = 0; avx512 < 2; avx512++) {
        fcn_set_avx512(avx512);
        for (int v = 0; v < 2; v++) {
            setenv("FULLCONV_COST_MODEL", vendors[v], 1);
            for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const conv_case *c = &cases[i];
                float *y1 = NULL, *y2 = NULL;
                uint32_t seed = rng;   /* the same data for both */
                run_conv_case_keep(c, 1, &y1);
                rng = seed;
                run_conv_case_keep(c, 2, &y2);
                if (v == 1 && c->kh == 1 && c->kw == 1 && c->s == 1 && c->p == 0) {
                    int64_t numel = c->N * c->K * c->H * c->W;
                    assert_memory_equal(y1, y2, (size_t)numel * sizeof(float));
                }
                free(y1);
                free(y2);
            }
        }
    }
    unsetenv("FULLCONV_COST_MODEL");
    fcn_set_avx512(had512);
}

/* The direct stem kernel's two layouts (stem_avx512.c) on their own: 16 pixels of a channel a
 * vector (planar, a stem without a pool) and 16 channels a vector (transposed), against a naive
 * convolution and each other bit for bit (the same taps summed in the same order), whole and
 * in two bands of rows (a thread's share starts its own band); and with a fused 3×3/2 MaxPool
 * (the channel-vector layout) against the pooled reference. Shapes: every tail of the 6-vector
 * tiles (a row of 1–5 and 7 vectors, a partial last one) and of the 6-pixel groups, strides 1
 * to 4 (the band's phases), kernels 1 to 11 wide, pads 0 to 3, one to four channels, the
 * activations (a clip, and HardSwish applied after the stores). */
static void test_stem_layouts(void **state)
{
    (void)state;
    if (!simd_ok() || !fcn_avx512_enabled()) skip();
    /* C H W K k s p act */
    static const int cases[][8] = {
        { 3, 45, 45, 32, 3, 2, 1, FCN_ACT_RELU },        /* Wo 23: 2 vectors */
        { 3, 224, 224, 32, 3, 2, 1, FCN_ACT_CLIP },      /* MobileNetV2's stem: 7 vectors (6 + 1) */
        { 3, 40, 193, 16, 3, 2, 1, FCN_ACT_HARD_SWISH }, /* 97 columns: 7 vectors, 1 lane in the last */
        { 3, 20, 80, 48, 3, 1, 1, FCN_ACT_NONE },        /* 5 vectors: 4 × 5 tiles */
        { 2, 17, 64, 16, 3, 1, 1, FCN_ACT_RELU },        /* 4 vectors */
        { 1, 12, 98, 64, 3, 2, 0, FCN_ACT_RELU },        /* 48 columns: 3 vectors */
        { 4, 9, 192, 16, 1, 1, 0, FCN_ACT_NONE },        /* 1×1, 12 vectors */
        { 3, 50, 47, 64, 7, 2, 3, FCN_ACT_RELU },        /* 7×7/2 with pad 3 */
        { 3, 91, 95, 64, 11, 4, 2, FCN_ACT_RELU },       /* 11×11/4: four phases */
        { 3, 60, 64, 32, 5, 3, 1, FCN_ACT_NONE },        /* stride 3 */
        { 4, 21, 38, 48, 5, 1, 2, FCN_ACT_SWISH },       /* 5×5 stride 1, Swish */
        { 3, 33, 290, 16, 3, 2, 1, FCN_ACT_RELU },       /* 145 columns: 10 vectors (6 + 4) */
        /* 64 and 128 channels (the 16-channel layout's 4-block groups of 6 pixels) with rows
         * ending in a group of 1 to 4 pixels: 25 to 28 columns */
        { 3, 20, 49, 64, 3, 2, 1, FCN_ACT_RELU },
        { 2, 16, 51, 128, 3, 2, 1, FCN_ACT_NONE },
        { 3, 18, 53, 64, 3, 2, 1, FCN_ACT_CLIP },
        { 1, 14, 55, 64, 3, 2, 1, FCN_ACT_RELU },
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const int *c = cases[ci];
        int64_t C = c[0], H = c[1], W = c[2], K = c[3], k = c[4], s = c[5], p = c[6];
        int64_t Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
        float *in = malloc(sizeof(float) * (size_t)(C * H * W)), *w = malloc(sizeof(float) * (size_t)(K * C * k * k));
        float *bias = malloc(sizeof(float) * (size_t)K), *ref = malloc(sizeof(float) * (size_t)(K * Ho * Wo));
        float *wp = aligned_alloc(64, (fcn_stem_packed_floats(K, C, k, k) * sizeof(float) + 63) & ~(size_t)63);
        float *out[3];
        fill(in, (size_t)(C * H * W));
        fill(w, (size_t)(K * C * k * k));
        fill(bias, (size_t)K);
        fcn_stem_pack(w, K, C, k, k, wp);
        fcn_stem_args a = { .in = in, .wp = wp, .bias = bias, .C = C, .H = H, .W = W, .K = K, .Ho = Ho, .Wo = Wo,
                            .kh = k, .kw = k, .s = s, .ph = p, .pw = p, .act = c[7],
                            .act_alpha = c[7] == FCN_ACT_CLIP ? 0.0f : 0.1f, .act_beta = 0.5f };
        for (int64_t o = 0; o < K; o++)
            for (int64_t y = 0; y < Ho; y++)
                for (int64_t x = 0; x < Wo; x++) {
                    float acc = bias[o];
                    for (int64_t ic = 0; ic < C; ic++)
                        for (int64_t ky = 0; ky < k; ky++)
                            for (int64_t kx = 0; kx < k; kx++) {
                                int64_t iy = y * s - p + ky, ix = x * s - p + kx;
                                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                    acc += in[(ic * H + iy) * W + ix] * w[((o * C + ic) * k + ky) * k + kx];
                            }
                    ref[(o * Ho + y) * Wo + x] = acc;
                }
        for (int64_t o = 0; o < K; o++) fcn_act_apply(a.act, a.act_alpha, a.act_beta, ref + o * Ho * Wo, Ho * Wo);
        size_t work_floats = fcn_stem_work_floats(&a);
        float *work = aligned_alloc(64, (work_floats * sizeof(float) + 63) & ~(size_t)63);
        for (int v = 0; v < 3; v++) {   /* planar whole, planar in two bands, transposed */
            out[v] = malloc(sizeof(float) * (size_t)(K * Ho * Wo));
            memset(out[v], 0xFF, sizeof(float) * (size_t)(K * Ho * Wo));   /* NaN: a pixel not written shows */
            a.out = out[v];
            a.transposed = v == 2;
            if (v == 1) {
                int64_t cut = Ho / 3 + 1;
                fcn_stem_rows(&a, cut, Ho, work);
                fcn_stem_rows(&a, 0, cut, work);
            } else {
                fcn_stem_rows(&a, 0, Ho, work);
            }
            assert_close_scaled(out[v], ref, (size_t)(K * Ho * Wo), 1e-5f);
        }
        assert_memory_equal(out[0], out[1], sizeof(float) * (size_t)(K * Ho * Wo));
        assert_memory_equal(out[0], out[2], sizeof(float) * (size_t)(K * Ho * Wo));
        /* with a fused 3×3/2 MaxPool (pads 0 and 1; act NONE, RELU or CLIP only): the pooled map,
         * whole and in two bands, against the pooled reference */
        if (c[7] == FCN_ACT_NONE || c[7] == FCN_ACT_RELU || c[7] == FCN_ACT_CLIP)
            for (int pp = 0; pp < 2; pp++) {
                fcn_stem_args pa = a;
                pa.pkh = pa.pkw = 3;
                pa.psh = pa.psw = 2;
                pa.pph = pa.ppw = pp;
                pa.PHo = (Ho + 2 * pp - 3) / 2 + 1;
                pa.PWo = (Wo + 2 * pp - 3) / 2 + 1;
                if (pa.PHo < 1 || pa.PWo < 1 || !fcn_stem_pool_fits(&pa)) continue;
                size_t pn = (size_t)(K * pa.PHo * pa.PWo);
                float *pref = malloc(sizeof(float) * pn), *pout = malloc(sizeof(float) * pn);
                for (int64_t o = 0; o < K; o++)
                    for (int64_t y = 0; y < pa.PHo; y++)
                        for (int64_t x = 0; x < pa.PWo; x++) {
                            float m = -INFINITY;
                            for (int64_t dy = 0; dy < 3; dy++)
                                for (int64_t dx = 0; dx < 3; dx++) {
                                    int64_t cy = y * 2 - pp + dy, cx = x * 2 - pp + dx;
                                    if (cy >= 0 && cy < Ho && cx >= 0 && cx < Wo && ref[(o * Ho + cy) * Wo + cx] > m)
                                        m = ref[(o * Ho + cy) * Wo + cx];
                                }
                            pref[(o * pa.PHo + y) * pa.PWo + x] = m;
                        }
                float *pwork = aligned_alloc(64, (fcn_stem_work_floats(&pa) * sizeof(float) + 63) & ~(size_t)63);
                for (int v = 0; v < 2; v++) {
                    memset(pout, 0xFF, sizeof(float) * pn);
                    pa.out = pout;
                    if (v == 1) {
                        int64_t cut = pa.PHo / 2;
                        fcn_stem_pool_rows(&pa, cut, pa.PHo, pwork);
                        fcn_stem_pool_rows(&pa, 0, cut, pwork);
                    } else {
                        fcn_stem_pool_rows(&pa, 0, pa.PHo, pwork);
                    }
                    assert_close_scaled(pout, pref, pn, 1e-5f);
                }
                free(pwork);
                free(pref);
                free(pout);
            }
        for (int v = 0; v < 3; v++) free(out[v]);
        free(work);
        free(in);
        free(w);
        free(bias);
        free(ref);
        free(wp);
    }
}

/* The channels-in-lanes 1×1 kernel (pointwise_avx512.c) on its own: against a naive product
 * (bias, then residual, then the activation), over whole panels and a partial one (M 40),
 * two passes (M 80), one to three K blocks (K 600), N under and over a tile of 6 and a
 * transpose of 16; in column bands (a split inside a tile, a split inside a 16-pixel transpose,
 * the bands in reverse order) bit for bit equal to the whole; the residual read from another
 * buffer and in place (C holding it); a clip, and a Sigmoid applied after the stores. */
/* The grouped conv's channels-in-lanes path (16 outputs a group, stride 2) against the row path
 * (FULLCONV_NO_GCONV_LANES also turns the pair path off here: no_pair), bit for bit: same sums
 * in the same order. Rows of 4, 7, 14 and more than 16 outputs; odd
 * sizes, pads 0–2, 3×3 and 5×5, 8 or 16 inputs a group, a last tile of 1–15 pixels, ReLU in
 * the stores and LeakyReLU after them, with and without bias; tiles over the left and the right
 * padding (a padded copy of their window) and between (the image in place), a wide row; and 64
 * inputs a group at 7×7, whose edge window is past the stack buffer (the row path). */
static void test_gconv_lanes(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    int had512 = fcn_set_avx512(1);
    if (!fcn_avx512_enabled()) {
        fcn_set_avx512(had512);
        skip();
    }
    static const struct { int64_t C, group, H, W, k, p; int act, bias; } cases[] = {
        { 32, 2, 40, 40, 3, 1, FCN_ACT_RELU, 1 },     { 48, 3, 37, 45, 3, 1, FCN_ACT_NONE, 1 },
        { 32, 2, 50, 50, 5, 2, FCN_ACT_LEAKY_RELU, 0 }, { 32, 2, 40, 40, 3, 0, FCN_ACT_RELU, 0 },
        { 16, 2, 35, 66, 3, 1, FCN_ACT_NONE, 1 },     { 32, 2, 9, 34, 3, 1, FCN_ACT_RELU, 1 },
        { 32, 2, 7, 700, 3, 1, FCN_ACT_NONE, 1 },     { 32, 2, 12, 41, 3, 1, FCN_ACT_RELU, 1 },
        { 128, 2, 40, 40, 7, 3, FCN_ACT_NONE, 1 },    { 64, 4, 14, 14, 3, 1, FCN_ACT_RELU, 1 },
        { 32, 2, 9, 8, 3, 1, FCN_ACT_LEAKY_RELU, 0 }, { 48, 3, 28, 27, 3, 1, FCN_ACT_NONE, 1 },
        /* rows of up to 16 outputs: the group's padded input copied once (GCONV_PLANE_BUF), or
         * per tile where it does not fit (64 channels a group at 28×28), or without padding */
        { 128, 2, 28, 28, 3, 1, FCN_ACT_RELU, 1 },    { 32, 2, 15, 15, 3, 0, FCN_ACT_NONE, 1 },
        { 96, 3, 29, 30, 5, 2, FCN_ACT_RELU, 1 },
    };
    /* 16 or 32 output channels a group (two channel blocks: ResNeXt's 1024-channel 14×14 → 7×7) */
    for (size_t ci = 0; ci < 2 * sizeof cases / sizeof cases[0]; ci++) {
        size_t i = ci % (sizeof cases / sizeof cases[0]);
        int64_t kblocks = 1 + (int64_t)(ci / (sizeof cases / sizeof cases[0]));
        int64_t C = cases[i].C, g = cases[i].group, K = 16 * kblocks * g, H = cases[i].H, W = cases[i].W,
                k = cases[i].k, p = cases[i].p;
        int64_t Ho = (H + 2 * p - k) / 2 + 1, Wo = (W + 2 * p - k) / 2 + 1;
        size_t nw = (size_t)(K * (C / g) * k * k), nin = (size_t)(C * H * W), nout = (size_t)(K * Ho * Wo);
        float *w = malloc(nw * sizeof(float)), *in = malloc(nin * sizeof(float)), bias[128];
        float *wp = malloc(fcn_gconv_packed_floats(K, C, g, k, k) * sizeof(float));
        float *y1 = malloc(nout * sizeof(float)), *y2 = malloc(nout * sizeof(float));
        fill(w, nw); fill(in, nin); fill(bias, 128);
        fcn_gconv_pack(w, K, C, g, k, k, wp);
        fcn_gconv_args a = { .in = in, .out = y1, .wp = wp, .bias = cases[i].bias ? bias : NULL, .C = C, .H = H,
                             .W = W, .K = K, .Ho = Ho, .Wo = Wo, .kh = k, .kw = k, .s = 2, .ph = p, .pw = p,
                             .group = g, .act = cases[i].act, .act_alpha = 0.1f, .act_beta = 0 };
        assert_true(fcn_gconv_applies(C, K, g, k, k, 2, 2, 1, 1, Wo));
        int64_t tasks = g * kblocks * fcn_gconv_rows(&a);
        fcn_gconv_avx512(&a, 0, tasks / 2);   /* in two pieces, as two threads would */
        fcn_gconv_avx512(&a, tasks / 2, tasks);
        a.out = y2;
        a.no_lanes = a.no_pair = 1;
        fcn_gconv_avx512(&a, 0, fcn_gconv_rows(&a) * g * kblocks);
        for (size_t j = 0; j < nout; j++)
            if (memcmp(&y1[j], &y2[j], sizeof(float)))
                fail_msg("case %zu: y[%zu] = %.9g on the lanes path, %.9g on the row path", i, j, (double)y1[j],
                         (double)y2[j]);
        free(w); free(in); free(wp); free(y1); free(y2);
    }
    fcn_set_avx512(had512);
}

static void test_pwb(void **state)
{
    (void)state;
    if (!simd_ok() || !fcn_avx512_enabled()) skip();
    /* M K N act residual(0 none, 1 separate, 2 in place) */
    static const int cases[][5] = {
        { 64, 512, 169, FCN_ACT_RELU, 0 }, { 48, 384, 169, FCN_ACT_NONE, 1 }, { 32, 256, 729, FCN_ACT_CLIP, 2 },
        { 40, 100, 7, FCN_ACT_RELU, 1 },   { 80, 600, 33, FCN_ACT_SIGMOID, 0 }, { 16, 40, 50, FCN_ACT_NONE, 2 },
        { 64, 2048, 49, FCN_ACT_RELU, 1 }, { 32, 64, 1, FCN_ACT_NONE, 0 },
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const int M = cases[ci][0], K = cases[ci][1], N = cases[ci][2], act = cases[ci][3], rmode = cases[ci][4];
        float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(K * N));
        float *bias = malloc(sizeof(float) * (size_t)M), *R = malloc(sizeof(float) * (size_t)(M * N));
        float *ref = malloc(sizeof(float) * (size_t)(M * N));
        float *ap = aligned_alloc(64, (fcn_pack_a_mr_floats(M, K, 16) * sizeof(float) + 63) & ~(size_t)63);
        float *T = aligned_alloc(64, fcn_pwb_work_floats(N) * sizeof(float));
        fill(A, (size_t)(M * K));
        fill(B, (size_t)(K * N));
        fill(bias, (size_t)M);
        fill(R, (size_t)(M * N));
        fcn_pack_a_mr(A, K, 1, M, K, 16, ap);
        for (int m = 0; m < M; m++) {
            for (int n = 0; n < N; n++) {
                double acc = 0;
                for (int k = 0; k < K; k++) acc += (double)A[m * K + k] * B[k * N + n];
                ref[m * N + n] = (float)acc + bias[m] + (rmode ? R[m * N + n] : 0.0f);
            }
            fcn_act_apply(act, act == FCN_ACT_CLIP ? -0.5f : 0.0f, 0.5f, ref + m * N, N);
        }
        float *out[4];
        for (int v = 0; v < 4; v++) {   /* whole; bands at 5 and 2N/3; at 16 and 21; reversed */
            out[v] = malloc(sizeof(float) * (size_t)(M * N));
            if (rmode == 2) memcpy(out[v], R, sizeof(float) * (size_t)(M * N));
            else memset(out[v], 0xFF, sizeof(float) * (size_t)(M * N));
            fcn_pwb_args a = { .a_packed = ap, .M = M, .K = K, .b = B, .ldb = N, .c = out[v], .ldc = N,
                               .bias = bias, .residual = rmode == 1 ? R : rmode == 2 ? out[v] : NULL,
                               .act = act, .act_alpha = act == FCN_ACT_CLIP ? -0.5f : 0.0f, .act_beta = 0.5f };
            int64_t cuts[4] = { 0, N, N, N };
            if (v == 1) { cuts[1] = N < 5 ? N : 5; cuts[2] = 2 * N / 3 > cuts[1] ? 2 * N / 3 : cuts[1]; }
            if (v == 2) { cuts[1] = N < 16 ? N : 16; cuts[2] = N < 21 ? N : 21; }
            if (v == 3) {
                int64_t h = N / 2;
                fcn_pwb_avx512(&a, h, N, T);
                fcn_pwb_avx512(&a, 0, h, T);
            } else {
                for (int i = 0; i < 3; i++) fcn_pwb_avx512(&a, cuts[i], cuts[i + 1], T);
            }
            assert_close(out[v], ref, (size_t)(M * N), 2e-4f);
            if (v) assert_memory_equal(out[v], out[0], sizeof(float) * (size_t)(M * N));
        }
        for (int v = 0; v < 4; v++) free(out[v]);
        free(A); free(B); free(bias); free(R); free(ref); free(ap); free(T);
    }
}

/* Winograd under tighter and tighter memory budgets (winograd.c fcn_winograd_size): smaller
 * blocks of tile rows, then on two threads blocks shared by the threads (one V and M, each
 * phase split); each against the reference op, and the shared blocks must have been taken. */
static void test_wino_memory_modes(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    conv_case cases[] = {
        /* N C H W K kh kw s p d g bias act */
        { 1, 384, 13, 13, 256, 3, 3, 1, 1, 1, 1, 1, 1 },   /* AlexNet's 384→256 */
        { 1, 200, 13, 11, 72, 3, 3, 1, 1, 1, 1, 0, 2 },    /* K not a multiple of 16 */
        { 1, 64, 56, 56, 192, 3, 3, 1, 1, 1, 1, 1, 1 },    /* GoogLeNet's 64→192 */
        { 1, 48, 30, 33, 100, 3, 3, 1, 1, 1, 1, 1, 0 },
    };
    static const size_t divs[] = { 2, 4, 8, 12 };
    const char *tiles[] = { "4", "2" };
    seen_shared = 0;
    int had512 = fcn_set_avx512(1);
    for (int avx512 = 1; avx512 >= 0; avx512--) {
        fcn_set_avx512(avx512);
        for (int t = 0; t < 2; t++) {
            setenv("FULLCONV_WINOGRAD_TILE", tiles[t], 1);
            for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                for (size_t d = 0; d < sizeof divs / sizeof divs[0]; d++) {
                    conv_budget_div = divs[d];
                    run_conv_case(&cases[i], 1);
                    run_conv_case(&cases[i], 2);
                }
        }
    }
    conv_budget_div = 3;
    unsetenv("FULLCONV_WINOGRAD_TILE");
    fcn_set_avx512(had512);
    assert_true(seen_shared > 0);
}

/* Both Winograd tile sizes forced on every 3×3 stride-1 shape (FULLCONV_WINOGRAD_TILE), and
 * the chooser's picks on the map sizes it was fitted on. */
static void test_winograd_tiles(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    conv_case cases[] = {
        /* N C H W K kh kw s p d g bias act */
        { 1, 16, 13, 17, 24, 3, 3, 1, 1, 1, 1, 1, 1 },   /* partial tiles both ways */
        { 2, 32, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 0 },     /* batch */
        { 1, 16, 10, 45, 16, 3, 3, 1, 0, 1, 1, 0, 0 },   /* no pad, > 8 tiles per row */
        { 1, 17, 23, 37, 19, 3, 3, 1, 1, 1, 1, 1, 1 },   /* odd everything, masked row ends */
        { 1, 32, 7, 7, 40, 3, 3, 1, 1, 1, 1, 1, 1 },     /* 7×7: 4 (F2) or 2 (F4) tiles a row */
        { 1, 24, 13, 13, 16, 3, 3, 1, 1, 1, 1, 0, 1 },   /* AlexNet/SqueezeNet map */
        { 1, 16, 14, 33, 16, 3, 3, 1, 1, 1, 1, 1, 0 },   /* 17 F2 tiles a row: two groups of 8 + 1 */
        { 1, 300, 6, 6, 20, 3, 3, 1, 1, 1, 1, 1, 1 },    /* C > KC: two K blocks in the GEMMs */
        { 1, 128, 14, 14, 136, 3, 3, 1, 1, 1, 1, 1, 1 }, /* U > 1 MB: one block, phases threaded */
        { 1, 16, 56, 56, 24, 3, 3, 1, 1, 1, 1, 0, 1 },   /* blocks of tile rows, panels straddling rows */
        /* two tile rows per zmm (AVX-512, rows of <= 8 tiles): an odd last row, rows of exactly
         * 8 tiles (no gap between the halves), of 1 tile, blocks of tile rows */
        { 1, 16, 27, 15, 16, 3, 3, 1, 1, 1, 1, 1, 1 },   /* F2: 8 tiles × 14 rows; F4: 4 × 7 */
        { 2, 16, 11, 2, 16, 3, 3, 1, 1, 1, 1, 1, 0 },    /* 1 tile a row, odd rows */
        { 1, 16, 28, 28, 24, 3, 3, 1, 1, 1, 1, 0, 1 },   /* F4: 7 × 7 tiles in blocks */
        { 1, 24, 19, 30, 40, 3, 3, 1, 0, 1, 1, 1, 1 },   /* no pad: F4 7 × 5, F2 14 × 9 */
        { 1, 16, 20, 34, 16, 3, 3, 1, 0, 1, 1, 1, 1 },   /* F4: 8 tiles × 5 rows, the last tile's */
        { 1, 16, 21, 18, 16, 3, 3, 1, 0, 1, 1, 0, 1 },   /* F2: 8 × 10; columns past it are data */
        /* pad 2: the transforms' zero rows and columns (they read the unpadded input) reach
         * two deep on every side; 35 wide is 9 F4 tiles (16 a zmm) and 18 F2 tiles */
        { 1, 16, 9, 11, 16, 3, 3, 1, 2, 1, 1, 1, 1 },
        { 1, 16, 12, 33, 16, 3, 3, 1, 2, 1, 1, 1, 0 },
    };
    const char *tiles[] = { "2", "4" };
    int had512 = fcn_set_avx512(1);
    for (int avx512 = 0; avx512 < 2; avx512++) {
        fcn_set_avx512(avx512);
        for (int t = 0; t < 2; t++) {
            setenv("FULLCONV_WINOGRAD_TILE", tiles[t], 1);
            for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                run_conv_case(&cases[i], 1);
                run_conv_case(&cases[i], 2);
            }
        }
    }
    unsetenv("FULLCONV_WINOGRAD_TILE");
    fcn_set_avx512(had512);
}

/* Grouped 3×3 layers through Winograd (a small conv a group, groups spread over the threads):
 * both tiles forced (FULLCONV_GWINOGRAD) on group widths 4 to 48, partial channel panels (12
 * outputs a group), odd maps, no pad, batch 2, LeakyReLU after the stores, a fused residual;
 * against the reference op, and the same bits on one and two threads (a group is computed
 * whole by one thread). Then the chooser's picks (conv_fast.c winograd_tile_grouped). */
static void test_grouped_winograd(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    conv_case cases[] = {
        /* N C H W K kh kw s p d g bias act */
        { 1, 32, 28, 28, 32, 3, 3, 1, 1, 1, 2, 1, 1 },     /* RegNet's 28×28 stage: 16 a group */
        { 2, 48, 15, 17, 48, 3, 3, 1, 1, 1, 2, 1, 0 },     /* 24 a group, odd map, batch 2 */
        { 1, 24, 20, 23, 36, 3, 3, 1, 1, 1, 3, 0, 1 },     /* 8 in, 12 out a group: a partial panel */
        { 1, 128, 22, 21, 128, 3, 3, 1, 1, 1, 32, 1, 1 },  /* ResNeXt-like: 4 a group, 32 groups */
        { 1, 40, 9, 13, 40, 3, 3, 1, 0, 1, 5, 1, 2 },      /* no pad, LeakyReLU after the stores */
        { 1, 96, 14, 14, 96, 3, 3, 1, 1, 1, 2, 1, 1 },     /* 48 a group */
    };
    const char *tiles[] = { "2", "4" };
    int had512 = fcn_set_avx512(1);
    for (int avx512 = 0; avx512 < 2; avx512++) {
        fcn_set_avx512(avx512);
        for (int t = 0; t < 2; t++) {
            setenv("FULLCONV_GWINOGRAD", tiles[t], 1);
            for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                for (int res = 0; res < 2; res++) {
                    conv_residual = res;
                    float *y1 = NULL, *y2 = NULL;
                    uint32_t seed = rng;
                    run_conv_case_keep(&cases[i], 1, &y1);
                    rng = seed;
                    run_conv_case_keep(&cases[i], 2, &y2);
                    const conv_case *c = &cases[i];
                    int64_t Ho = c->H + 2 * c->p - 2, Wo = c->W + 2 * c->p - 2;
                    assert_memory_equal(y1, y2, sizeof(float) * (size_t)(c->N * c->K * Ho * Wo));
                    free(y1);
                    free(y2);
                }
        }
    }
    conv_residual = 0;
    unsetenv("FULLCONV_GWINOGRAD");
    /* the picks: with the direct kernel (AVX-512) 7×7 stays direct, 14×14 takes F(2×2) at 24
     * a group but not at 16, 28×28 F(4×4) but not for 4 groups of 16 (2 groups of 48 do), on one
     * thread as on two (the same bits); without it F(4×4) from 14×14 */
    static const struct { int avx512, threads; int64_t C, H, g; const char *kernel; } picks[] = {
        { 1, 1, 400, 7, 25, "gconv-avx512" },          { 1, 1, 160, 14, 10, "gconv-avx512" },
        { 1, 1, 240, 14, 10, "gwinograd-f2x2-avx512" }, { 1, 1, 128, 28, 8, "gwinograd-f4x4-avx512" },
        { 1, 1, 64, 28, 4, "gconv-avx512" },           { 1, 2, 64, 28, 4, "gconv-avx512" },
        { 1, 2, 96, 28, 2, "gwinograd-f4x4-avx512" },
        { 0, 1, 160, 14, 10, "gwinograd-f4x4-avx2" },  { 0, 1, 400, 7, 25, "gemm-avx2" },
    };
    for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++) {
        fcn_set_avx512(picks[i].avx512);
        if (picks[i].avx512 && !fcn_avx512_enabled()) continue;
        conv_case c = { 1, (int)picks[i].C, (int)picks[i].H, (int)picks[i].H, (int)picks[i].C, 3, 3, 1, 1, 1,
                        (int)picks[i].g, 1, 1 };
        const char *kernel = NULL;
        conv_kernel_out = &kernel;
        run_conv_case(&c, picks[i].threads);
        conv_kernel_out = NULL;
        assert_non_null(kernel);
        if (strcmp(kernel, picks[i].kernel) != 0)
            fail_msg("%lld channels, %lld×%lld, %lld groups: %s, expected %s", (long long)picks[i].C,
                     (long long)picks[i].H, (long long)picks[i].H, (long long)picks[i].g, kernel, picks[i].kernel);
    }
    fcn_set_avx512(had512);
}

/* Runs op on ins through the reference path (fcn_eval_op) and through fcn_fast_prepare +
 * run_fast on an identically set-up node; asserts the fast path was installed and agrees. */
static void fast_vs_ref(int op, const fcn_attr_rec *attrs, int na, const uint64_t *slots,
                        fcn_tensor **ins, int n_in, int act, int threads)
{
    fcn_tensor Y1 = { 0 }, Y2 = { 0 };
    fcn_tensor *o1[1] = { &Y1 }, *o2[1] = { &Y2 };
    fc_error err = { 0 };
    assert_int_equal(fcn_eval_op(op, "n", attrs, na, slots, ins, n_in, o1, 1, &err), 0);
    if (act) fcn_act_apply(act, 0.0f, 6.0f, Y1.data, (int64_t)Y1.numel);
    fcn_node n = { 0 };
    n.op = op; n.name = "n"; n.n_in = n_in; n.n_out = 1; n.in = ins; n.out = o2;
    n.attrs = attrs; n.n_attrs = na; n.slots = slots; n.nthreads = threads;
    n.act = act; n.act_alpha = 0.0f; n.act_beta = 6.0f;
    const fcn_op_def *def = fcn_op_lookup(op);
    assert_int_equal(def->infer(&n, &err), 0);
    Y2.numel = (size_t)fcn_numel_dims(Y2.ndim, Y2.dims);
    Y2.data = malloc(Y2.numel * 4 + 4);
    if (n.params && n.free_params) n.free_params(n.params); else free(n.params);
    n.scratch_bytes = 0;
    assert_int_equal(fcn_fast_prepare(&n, &err), 0);
    assert_non_null(n.run_fast);
    n.scratch = n.scratch_bytes ? aligned_alloc(64, (n.scratch_bytes + 63) & ~(size_t)63) : NULL;
    struct fcn_threadpool *pool = threads > 1 ? fcn_threadpool_create(threads) : NULL;
    fcn_exec x = { pool, pool ? threads : 1 };
    n.run_fast(&n, &x);
    assert_int_equal(Y1.numel, Y2.numel);
    assert_close(Y2.data, Y1.data, Y1.numel, 1e-5f);
    if (pool) fcn_threadpool_destroy(pool);
    if (n.fast && n.free_fast) n.free_fast(n.fast);
    free(n.scratch); free(Y1.data); free(Y2.data);
}

static fcn_tensor make_tensor(int ndim, const int64_t *dims)
{
    fcn_tensor t = { 0 };
    t.dtype = FC_DT_F32; t.ndim = ndim;
    for (int i = 0; i < ndim; i++) t.dims[i] = dims[i];
    t.numel = (size_t)fcn_numel_dims(ndim, dims);
    t.nbytes = t.numel * 4;
    t.data = malloc(t.nbytes + 4);
    fill(t.data, t.numel);
    return t;
}

/* The elementwise fast paths (eltwise_fast.c) against the reference ops: standalone
 * activations over several 32 KB chunks, BatchNormalization with a fused activation, Mul by a
 * per-channel tensor in both orders; 1 and 2 threads. */
static void test_fast_eltwise_paths(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    int64_t dims[4] = { 1, 5, 60, 70 };   /* 21000 floats: three chunks, a partial one */
    fcn_tensor X = make_tensor(4, dims);
    for (size_t i = 0; i < X.numel; i++) ((float *)X.data)[i] *= 8.0f;   /* past the saturations */
    fcn_tensor *ins[1] = { &X };
    double fv[2] = { 0.3, 0.4 };
    uint64_t slots[2];
    memcpy(slots, fv, sizeof fv);
    fcn_attr_rec alpha = { FCN_ATTR_ALPHA, FCN_AK_FLOAT, 1, 0 };
    fcn_attr_rec ab[2] = { { FCN_ATTR_ALPHA, FCN_AK_FLOAT, 1, 0 }, { FCN_ATTR_BETA, FCN_AK_FLOAT, 1, 1 } };
    fcn_attr_rec mm[2] = { { FCN_ATTR_MIN, FCN_AK_FLOAT, 1, 0 }, { FCN_ATTR_MAX, FCN_AK_FLOAT, 1, 1 } };
    int had512 = fcn_set_avx512(1);
    for (int avx512 = 0; avx512 < 2; avx512++) {
        fcn_set_avx512(avx512);
        for (int threads = 1; threads <= 2; threads++) {
            fast_vs_ref(FCN_OP_RELU, NULL, 0, NULL, ins, 1, 0, threads);
            fast_vs_ref(FCN_OP_SIGMOID, NULL, 0, NULL, ins, 1, 0, threads);
            fast_vs_ref(FCN_OP_SWISH, NULL, 0, NULL, ins, 1, 0, threads);
            fast_vs_ref(FCN_OP_HARD_SWISH, NULL, 0, NULL, ins, 1, 0, threads);
            fast_vs_ref(FCN_OP_LEAKY_RELU, &alpha, 1, slots, ins, 1, 0, threads);
            fast_vs_ref(FCN_OP_HARD_SIGMOID, ab, 2, slots, ins, 1, 0, threads);
            fast_vs_ref(FCN_OP_CLIP, mm, 2, slots, ins, 1, 0, threads);
        }
        /* BatchNormalization (constant parameters, var > 0) with a fused activation */
        int64_t bd[4] = { 2, 5, 9, 11 }, cd[1] = { 5 };
        fcn_tensor Xb = make_tensor(4, bd), sc = make_tensor(1, cd), bi = make_tensor(1, cd), mu = make_tensor(1, cd),
                   var = make_tensor(1, cd);
        for (int c = 0; c < 5; c++) ((float *)var.data)[c] = fabsf(((float *)var.data)[c]) + 0.5f;
        sc.is_const = bi.is_const = mu.is_const = var.is_const = 1;
        fcn_tensor *bins[5] = { &Xb, &sc, &bi, &mu, &var };
        fast_vs_ref(FCN_OP_BATCHNORM, NULL, 0, NULL, bins, 5, FCN_ACT_NONE, 1);
        fast_vs_ref(FCN_OP_BATCHNORM, NULL, 0, NULL, bins, 5, FCN_ACT_RELU, 2);
        fast_vs_ref(FCN_OP_BATCHNORM, NULL, 0, NULL, bins, 5, FCN_ACT_SWISH, 2);
        /* squeeze-and-excitation scale: x[N,C,H,W] · s[N,C,1,1], either order */
        int64_t sd[4] = { 2, 5, 1, 1 };
        fcn_tensor S = make_tensor(4, sd);
        fcn_tensor *m1[2] = { &Xb, &S }, *m2[2] = { &S, &Xb };
        fast_vs_ref(FCN_OP_MUL, NULL, 0, NULL, m1, 2, FCN_ACT_NONE, 1);
        fast_vs_ref(FCN_OP_MUL, NULL, 0, NULL, m2, 2, FCN_ACT_NONE, 2);
        free(Xb.data); free(sc.data); free(bi.data); free(mu.data); free(var.data); free(S.data);
    }
    fcn_set_avx512(had512);
    free(X.data);
}

/* ReduceMean over trailing axes takes the GAP kernel (pool_fast.c); other axis sets stay on
 * the reference op (no fast path installed). */
static void test_fast_trailing_mean(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    int64_t dims[4] = { 2, 5, 7, 9 };
    fcn_tensor X = make_tensor(4, dims);
    fcn_tensor *ins[1] = { &X };
    int64_t axes_sets[][4] = { { 2, 2, 3 }, { 2, -1, -2 }, { 1, 3 }, { 3, 1, 2, 3 } };   /* count, axes */
    for (size_t a = 0; a < sizeof axes_sets / sizeof axes_sets[0]; a++)
        for (int64_t keep = 0; keep < 2; keep++) {
            fcn_attr_rec attrs[2] = { { FCN_ATTR_AXES, FCN_AK_INTS, (uint32_t)axes_sets[a][0], 0 },
                                      { FCN_ATTR_KEEPDIMS, FCN_AK_INT, 1, 3 } };
            uint64_t slots[4];
            int64_t v[4] = { axes_sets[a][1], axes_sets[a][2], axes_sets[a][3], keep };
            memcpy(slots, v, sizeof v);
            fast_vs_ref(FCN_OP_REDUCE_MEAN, attrs, 2, slots, ins, 1, 0, 1 + (int)keep);
        }
    /* not trailing (axis 1 only; axes 1 and 3): no fast path */
    int64_t not_trailing[][3] = { { 1, 1, 0 }, { 2, 1, 3 } };
    for (size_t a = 0; a < 2; a++) {
        fcn_attr_rec attrs[1] = { { FCN_ATTR_AXES, FCN_AK_INTS, (uint32_t)not_trailing[a][0], 0 } };
        uint64_t slots[2];
        memcpy(slots, &not_trailing[a][1], sizeof slots);
        fcn_tensor Y = { 0 };
        fcn_tensor *outs[1] = { &Y };
        fcn_node n = { 0 };
        n.op = FCN_OP_REDUCE_MEAN; n.name = "n"; n.n_in = 1; n.n_out = 1; n.in = ins; n.out = outs;
        n.attrs = attrs; n.n_attrs = 1; n.slots = slots;
        fc_error err = { 0 };
        assert_int_equal(fcn_op_lookup(FCN_OP_REDUCE_MEAN)->infer(&n, &err), 0);
        Y.numel = (size_t)fcn_numel_dims(Y.ndim, Y.dims);
        assert_int_equal(fcn_fast_prepare(&n, &err), 0);
        assert_null(n.run_fast);
        free(n.params);
    }
    free(X.data);
}

static void test_fast_pool_paths(void **state)
{
    (void)state;
    if (!simd_ok()) skip();
    int cases[][7] = { /* H W k s p ceil */ { 112, 112, 3, 2, 1, 0 }, { 13, 27, 3, 2, 0, 1 }, { 20, 41, 2, 2, 0, 0 },
                       { 9, 30, 3, 1, 1, 0 }, { 55, 55, 3, 2, 0, 1 }, { 7, 7, 7, 1, 0, 0 },
                       /* 3×3/2 (the AVX-512 kernel): SqueezeNet's 111 ceil, partial 16-blocks, tiny */
                       { 111, 111, 3, 2, 0, 1 }, { 6, 40, 3, 2, 1, 0 }, { 9, 33, 3, 2, 1, 1 }, { 3, 3, 3, 2, 1, 0 },
                       { 5, 70, 3, 2, 0, 0 },
                       /* the general k×k kernel: GoogLeNet's ceil_mode 3×3/2 and 3×3/1 pad 1, DenseNet's 2×2/2,
                        * 5×5/2, wide rows (4 vectors a pass) */
                       { 56, 56, 3, 2, 0, 1 }, { 28, 28, 3, 1, 1, 0 }, { 56, 56, 2, 2, 0, 0 }, { 17, 23, 5, 2, 2, 1 },
                       { 9, 130, 3, 1, 1, 0 }, { 14, 14, 3, 2, 0, 1 } };
    int had512 = fcn_set_avx512(1);
    for (int avx512 = 0; avx512 < 2; avx512++)
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fcn_set_avx512(avx512);
        int64_t dims[4] = { 2, 3, cases[c][0], cases[c][1] };
        fcn_tensor X = make_tensor(4, dims);
        int64_t k = cases[c][2], s = cases[c][3], p = cases[c][4], ceil_mode = cases[c][5];
        fcn_attr_rec attrs[4] = { { FCN_ATTR_KERNEL_SHAPE, FCN_AK_INTS, 2, 0 }, { FCN_ATTR_STRIDES, FCN_AK_INTS, 2, 2 },
                                  { FCN_ATTR_PADS, FCN_AK_INTS, 4, 4 }, { FCN_ATTR_CEIL_MODE, FCN_AK_INT, 1, 8 } };
        int64_t v[9] = { k, k, s, s, p, p, p, p, ceil_mode };
        uint64_t slots[9];
        memcpy(slots, v, sizeof v);
        fcn_tensor *ins[1] = { &X };
        fast_vs_ref(FCN_OP_MAXPOOL, attrs, 4, slots, ins, 1, 0, 1);
        fast_vs_ref(FCN_OP_MAXPOOL, attrs, 4, slots, ins, 1, 0, 2);
        fast_vs_ref(FCN_OP_GLOBAL_AVGPOOL, NULL, 0, NULL, ins, 1, 0, 2);
        /* AveragePool: the AVX-512 kernel, count_include_pad 0 (and 1 where no window leaves
         * the image, the only case it takes) */
        if (avx512 && fcn_avx512_enabled()) {
            fcn_attr_rec aa[5] = { attrs[0], attrs[1], attrs[2], attrs[3], { FCN_ATTR_COUNT_INCLUDE_PAD, FCN_AK_INT, 1, 9 } };
            uint64_t sl[10];
            memcpy(sl, slots, sizeof slots);
            for (int64_t cip = 0; cip < 2; cip++) {
                if (cip && (p || ceil_mode)) continue;
                memcpy(&sl[9], &cip, 8);
                fast_vs_ref(FCN_OP_AVGPOOL, aa, 5, sl, ins, 1, 0, 1);
                fast_vs_ref(FCN_OP_AVGPOOL, aa, 5, sl, ins, 1, 0, 2);
            }
        }
        free(X.data);
    }
    fcn_set_avx512(had512);
    int64_t dims[4] = { 1, 5, 33, 17 };
    fcn_tensor A = make_tensor(4, dims), B = make_tensor(4, dims);
    fcn_tensor *ins[2] = { &A, &B };
    fast_vs_ref(FCN_OP_ADD, NULL, 0, NULL, ins, 2, FCN_ACT_NONE, 1);
    fast_vs_ref(FCN_OP_ADD, NULL, 0, NULL, ins, 2, FCN_ACT_RELU, 2);
    fast_vs_ref(FCN_OP_ADD, NULL, 0, NULL, ins, 2, FCN_ACT_CLIP, 2);
    free(A.data); free(B.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ukernel_twins),
        cmocka_unit_test(test_ukernel_avx512),
        cmocka_unit_test(test_ukernel_ordered),
        cmocka_unit_test(test_sgemm_vs_naive),
        cmocka_unit_test(test_gemv_twins),
        cmocka_unit_test(test_gemv_cols_twins),
        cmocka_unit_test(test_gemv_cols_rows_twins),
        cmocka_unit_test(test_gemm_cols_node),
        cmocka_unit_test(test_conv_cols_node),
        cmocka_unit_test(test_pack_rows_twin),
        cmocka_unit_test(test_pack_1x1s2_twin),
        cmocka_unit_test(test_act_twins),
        cmocka_unit_test(test_dwconv_twins),
        cmocka_unit_test(test_fast_conv_paths),
        cmocka_unit_test(test_gconv_lanes),
        cmocka_unit_test(test_stem_layouts),
        cmocka_unit_test(test_pwb),
        cmocka_unit_test(test_winograd_tiles),
        cmocka_unit_test(test_grouped_winograd),
        cmocka_unit_test(test_wino_memory_modes),
        cmocka_unit_test(test_fast_pool_paths),
        cmocka_unit_test(test_fast_trailing_mean),
        cmocka_unit_test(test_dwc16),
        cmocka_unit_test(test_threadpool_handshake),
        cmocka_unit_test(test_sgemm_direct_b),
        cmocka_unit_test(test_sgemm_pack_in_tile),
        cmocka_unit_test(test_sgemm_over_b),
        cmocka_unit_test(test_sgemm_even_blocks),
        cmocka_unit_test(test_fast_eltwise_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
