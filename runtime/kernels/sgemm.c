/* sgemm.c — blocked SGEMM driver, packing, and the portable micro-kernel.
 *
 * Loop nest (BLIS): for each NC block of columns, for each KC block of K: pack B(KC×NC) once,
 * then sweep every MR-row panel of the (pre-packed) A against every NR-column panel of B.
 * Work is split over (column block × row chunk) tasks, each with its own B buffer, so
 * threads never share writable memory. The epilogue (bias, residual, activation) runs on a
 * task's tile right after its last KC block, while the tile is still in cache. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__x86_64__) || defined(__i386__)
#define HAVE_X86 1
#endif
#include "runtime/kernels/kernels.h"

#ifdef MADV_POPULATE_WRITE
#define FCN_MADV_POPULATE_WRITE MADV_POPULATE_WRITE
#else
#define FCN_MADV_POPULATE_WRITE 23   /* <linux/mman.h>, Linux 5.14 */
#endif

static int64_t div_up(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

size_t fcn_pack_a_floats(int64_t M, int64_t K)
{
    return (size_t)(div_up(M, FCN_MR) * FCN_MR) * (size_t)K;
}

/* Layout: KC blocks in order; inside a block, MR-row panels; inside a panel, k-major MR floats.
 * The panel (kb, p) starts at kb_start*Mpad + p*MR*kc. */
void fcn_pack_a(const float *A, int64_t rs, int64_t cs, int64_t M, int64_t K, float *out)
{
    int64_t mpad = div_up(M, FCN_MR) * FCN_MR;
    for (int64_t k0 = 0; k0 < K; k0 += FCN_KC) {
        int64_t kc = min64(FCN_KC, K - k0);
        float *blk = out + k0 * mpad;
        for (int64_t p = 0; p < mpad / FCN_MR; p++) {
            float *dst = blk + p * FCN_MR * kc;
            for (int64_t k = 0; k < kc; k++)
                for (int r = 0; r < FCN_MR; r++) {
                    int64_t m = p * FCN_MR + r;
                    dst[k * FCN_MR + r] = m < M ? A[m * rs + (k0 + k) * cs] : 0.0f;
                }
        }
    }
}

void fcn_pack_b_strided(const void *ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *out)
{
    const fcn_strided_b *s = ctx;
    if (s->cs == 1) {
        /* Row by row: each source row (a 1×1 conv's input plane, a Winograd V row) is read
         * once, front to back, and dealt out 16 floats per panel. Panel by panel instead
         * reads 16 floats from each of kc rows a plane apart — strides that map many rows
         * onto a few L1 sets (112×112 planes are 49 KiB apart); this cut packing ~2×. */
        int64_t full = nc / FCN_NR * FCN_NR;
        for (int64_t k = 0; k < kc; k++) {
            const float *src = s->b + (k0 + k) * s->rs + n0;
            float *d = out + k * FCN_NR;
            int64_t j0 = 0;
            for (; j0 < full; j0 += FCN_NR, d += kc * FCN_NR) memcpy(d, src + j0, sizeof(float) * FCN_NR);
            if (j0 < nc) {
                int64_t j = 0;
                for (; j < nc - j0; j++) d[j] = src[j0 + j];
                for (; j < FCN_NR; j++) d[j] = 0.0f;
            }
        }
        return;
    }
    for (int64_t j0 = 0; j0 < nc; j0 += FCN_NR) {
        int64_t w = min64(FCN_NR, nc - j0);
        float *dst = out + (j0 / FCN_NR) * kc * FCN_NR;
        for (int64_t k = 0; k < kc; k++) {
            const float *src = s->b + (k0 + k) * s->rs + (n0 + j0) * s->cs;
            float *d = dst + k * FCN_NR;
            if (s->cs == 1 && w == FCN_NR) {
                memcpy(d, src, sizeof(float) * FCN_NR);
            } else {
                int64_t j = 0;
                for (; j < w; j++) d[j] = src[j * s->cs];
                for (; j < FCN_NR; j++) d[j] = 0.0f;
            }
        }
    }
}

void fcn_ukernel_6x16_ref(int64_t k, const float *a, const float *b, float *c, int64_t ldc,
                          int m, int n, int acc, const fcn_epilogue *ep)
{
    float t[FCN_MR][FCN_NR];
    memset(t, 0, sizeof t);
    for (int64_t p = 0; p < k; p++, a += FCN_MR, b += FCN_NR)
        for (int r = 0; r < FCN_MR; r++)
            for (int j = 0; j < FCN_NR; j++) t[r][j] += a[r] * b[j];
    for (int r = 0; r < m; r++)
        for (int j = 0; j < n; j++) {
            float v = acc ? c[r * ldc + j] + t[r][j] : t[r][j];
            if (ep) {
                if (ep->bias) v += ep->bias[r];
                if (ep->residual) v += ep->residual[r * ldc + j];
                if (ep->act == FCN_ACT_RELU) v = v > 0.0f ? v : 0.0f;
                else if (ep->act == FCN_ACT_CLIP) v = v < ep->lo ? ep->lo : (v > ep->hi ? ep->hi : v);
            }
            c[r * ldc + j] = v;
        }
}

void fcn_act_apply(int act, float alpha, float beta, float *p, int64_t n)
{
    if (act == FCN_ACT_NONE) return;
#ifdef HAVE_X86
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {   /* act_avx2.c */
        fcn_act_apply_avx2(act, alpha, beta, p, n);
        return;
    }
#endif
    switch (act) {
    case FCN_ACT_RELU:
        for (int64_t i = 0; i < n; i++) p[i] = p[i] > 0.0f ? p[i] : 0.0f;
        break;
    case FCN_ACT_CLIP:
        for (int64_t i = 0; i < n; i++) p[i] = p[i] < alpha ? alpha : (p[i] > beta ? beta : p[i]);
        break;
    case FCN_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++) p[i] = p[i] >= 0.0f ? p[i] : p[i] * alpha;
        break;
    case FCN_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++) p[i] = 1.0f / (1.0f + expf(-p[i]));
        break;
    case FCN_ACT_HARD_SWISH:
        for (int64_t i = 0; i < n; i++) {
            float v = p[i] + 3.0f;
            v = v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
            p[i] = p[i] * v / 6.0f;
        }
        break;
    case FCN_ACT_SWISH:
        for (int64_t i = 0; i < n; i++) p[i] = p[i] / (1.0f + expf(-p[i]));
        break;
    case FCN_ACT_HARD_SIGMOID:
        for (int64_t i = 0; i < n; i++) {
            float g = alpha * p[i] + beta;
            p[i] = g < 0.0f ? 0.0f : (g > 1.0f ? 1.0f : g);
        }
        break;
    default:
        break;
    }
}

typedef struct gemm_task_ctx {
    const fcn_gemm *g;
    int64_t n_blocks, m_chunks, panels_per_chunk;
    int64_t nc;                    /* columns per block: a multiple of NR, <= FCN_NC */
    float *scratch_base;           /* fcn_gemm_scratch_floats(K, N) per thread */
    size_t scratch_stride;
} gemm_task_ctx;

/* Advice only (a no-op where transparent huge pages are off): huge pages on the 2 MB-aligned
 * interior of a big buffer written once, e.g. packed weights; and the buffer's pages faulted in
 * at once (MADV_POPULATE_WRITE). Call it before writing the buffer. */
void fcn_hint_hugepages(void *p, size_t bytes)
{
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
    /* Fault the whole page-aligned interior in with one call (Linux 5.14+; older kernels refuse
     * it and the pages fault in as they are written): the buffers under 4 MB get no huge page,
     * and one trap per 4 KiB page cost ~10% of ResNet-50's session creation (~2-6 ms, 1 thread). */
    const uintptr_t page = 4096;
    lo = ((uintptr_t)p + page - 1) & ~(page - 1);
    hi = ((uintptr_t)p + bytes) & ~(page - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, FCN_MADV_POPULATE_WRITE);
}

size_t fcn_pack_a_mr_floats(int64_t M, int64_t K, int mr)
{
    return (size_t)(div_up(M, mr) * mr) * (size_t)K;
}


void fcn_pack_a_mr(const float *A, int64_t rs, int64_t cs, int64_t M, int64_t K, int mr, float *out)
{
    int64_t mpad = div_up(M, mr) * mr;
    int fast = 0, fast16 = 0;
#ifdef HAVE_X86
    __builtin_cpu_init();
    fast = cs == 1 && __builtin_cpu_supports("avx2");
    fast16 = cs == 1 && mr == 16 && __builtin_cpu_supports("avx512f");
    /* weights are packed once into fresh memory: huge pages spare most of the page faults */
    fcn_hint_hugepages(out, sizeof(float) * (size_t)mpad * (size_t)K);
#endif
    for (int64_t k0 = 0; k0 < K; k0 += FCN_KC) {
        int64_t kc = min64(FCN_KC, K - k0);
        float *blk = out + k0 * mpad;
        for (int64_t p = 0; p < mpad / mr; p++) {
            float *dst = blk + p * mr * kc;
            int r = 0;
            /* A stored transposed (an input-major conv weight): a k's mr rows are contiguous */
            if (rs == 1 && cs != 1) {
                int64_t m0 = p * mr, rows = min64(mr, M - m0);
                for (int64_t k = 0; k < kc; k++) {
                    if (rows > 0) memcpy(dst + k * mr, A + m0 + (k0 + k) * cs, sizeof(float) * (size_t)rows);
                    for (int64_t i = rows > 0 ? rows : 0; i < mr; i++) dst[k * mr + i] = 0.0f;
                }
                continue;
            }
#ifdef HAVE_X86
            if (fast16) {   /* the AVX-512 kernel's 16-row panels: full 64-byte lines, streamed */
                fcn_pack_panel16_avx512(A + p * mr * rs + k0, rs, (int)min64(mr, M - p * mr), kc, dst, 1);
                continue;
            }
            if (fast)
                for (; r + 8 <= mr && p * mr + r + 8 <= M; r += 8)
                    fcn_transpose_rows8_avx2(A + (p * mr + r) * rs + k0, rs, kc, dst + r, mr);
#endif
            for (; r < mr; r++) {
                int64_t m = p * mr + r;
                if (m < M)
                    for (int64_t k = 0; k < kc; k++) dst[k * mr + r] = A[m * rs + (k0 + k) * cs];
                else
                    for (int64_t k = 0; k < kc; k++) dst[k * mr + r] = 0.0f;
            }
        }
    }
#ifdef HAVE_X86
    if (fast16) fcn_pack_fence();   /* the streamed stores are visible before any use */
#endif
}

static void gemm_tile(const fcn_gemm *g, int64_t n0, int64_t nc, int64_t p0, int64_t p1, float *bpack)
{
    int mr = g->mr > 0 ? g->mr : FCN_MR;
    int64_t mpad = div_up(g->M, mr) * mr;
    int in_kernel_act = g->act == FCN_ACT_NONE || g->act == FCN_ACT_RELU || g->act == FCN_ACT_CLIP;
    /* Few panels of rows use each B value only a few times: read B in place rather than pack
     * it. Single 1×1 layers with the input in L2 (µs, packed → in place): 128→16 at 55×55
     * 103 → 79-87, 96→24 at 56×56 112 → 91, 144→40 at 28×28 57 → 50; with 4-5 panels
     * (192→64, 240→80) no gain. */
    int direct = g->b_direct && g->ukernel_ldb && p1 - p0 <= FCN_DIRECT_B_PANELS && !g->over_b;
    /* Packing B was a phase of its own, reading B (the layer's input, out of L2) at L3 speed
     * with no FMAs beside it: 7 % of a 256→128 1×1 conv at 56×56. With pack_in_tile the first
     * panel of rows reads B in place and stores each row's 16 values into the packed panel the
     * other panels then read (fcn_ukernel_16x16_avx512_ldb_pack), so the copy runs beside the
     * FMAs; only a block's last, partial panel is packed as before. Same bits. */
    int in_tile = g->pack_in_tile && g->b_direct && !direct && g->ukernel == fcn_ukernel_16x16_avx512 &&
               p1 - p0 >= 2 && g->M - p0 * mr >= 16 && nc >= FCN_NR;
    for (int64_t k0 = 0; k0 < g->K; k0 += FCN_KC) {
        int64_t kc = min64(FCN_KC, g->K - k0);
        int last = k0 + kc >= g->K;
        int64_t full = nc / FCN_NR * FCN_NR;
        if (!direct && !in_tile) g->pack_b(g->pack_ctx, k0, kc, n0, nc, bpack);
        else if (in_tile && full < nc) g->pack_b(g->pack_ctx, k0, kc, n0 + full, nc - full, bpack + full * kc);
        const float *ablk = g->a_packed + k0 * mpad;
        for (int64_t p = p0; p < p1; p++) {
            int64_t m0 = p * mr;
            int mrows = (int)min64(mr, g->M - m0);
            const float *ap = ablk + p * mr * kc;
            int acc = k0 > 0 || g->c_is_addend;
            /* the panel's epilogue at column n0 (each tile moves the residual to its columns) */
            const fcn_epilogue ep0 = {
                .bias = g->bias ? g->bias + m0 : NULL,
                .residual = g->residual ? g->residual + m0 * g->ldc + n0 : NULL,
                .act = in_kernel_act ? g->act : FCN_ACT_NONE, .lo = g->act_alpha, .hi = g->act_beta,
            };
            int64_t j0 = 0;
            if (in_tile && p == p0) {
                for (; j0 < full; j0 += FCN_NR) {
                    fcn_epilogue ep = ep0;
                    if (ep.residual) ep.residual += j0;
                    fcn_ukernel_16x16_avx512_ldb_pack(kc, ap, g->b_direct + k0 * g->ldb + n0 + j0, g->ldb,
                                                      g->c + m0 * g->ldc + n0 + j0, g->ldc, acc, last ? &ep : NULL,
                                                      bpack + j0 * kc);
                }
            }
            if (j0 == 0 && mrows == 16 && nc >= FCN_NR && kc <= (direct ? 32 : 128) &&
                (direct ? g->ukernel_ldb == fcn_ukernel_16x16_avx512_ldb ||
                              g->ukernel_ldb == fcn_ukernel_16x16_avx512_ordered_ldb
                        : g->ukernel == fcn_ukernel_16x16_avx512 || g->ukernel == fcn_ukernel_16x16_avx512_ordered)) {
                /* A short panel's full tiles in one call (same bits as one call each, either
                 * micro-kernel: a full tile is summed in k order by both): with
                 * K = 16 a quarter of each tile's time was outside its FMA loop. 1×1 convs alone
                 * (µs): 16→48 at 112×112 157 → 136, 32→16 at 112×112 96 → 86, 24→144 at 56×56
                 * 137 → 128, 16→64 at 55×55 47–49 → 44. Not for longer panels: at K = 256 (256→64
                 * at 28×28) 1 % slower, and reading B in place at K = 128 (128→16 at 55×55, 128→32
                 * at 27×27) 5 % slower. */
                int64_t tiles = nc / FCN_NR;
                float *ct = g->c + m0 * g->ldc + n0;
                if (direct)
                    fcn_ukernel_16x16_avx512_ldb_tiles(kc, ap, g->b_direct + k0 * g->ldb + n0, g->ldb, ct, g->ldc, tiles,
                                                       acc, last ? &ep0 : NULL);
                else
                    fcn_ukernel_16x16_avx512_tiles(kc, ap, bpack, ct, g->ldc, tiles, acc, last ? &ep0 : NULL);
                j0 = tiles * FCN_NR;
            }
            for (; j0 < nc; j0 += FCN_NR) {
                int nr = (int)min64(FCN_NR, nc - j0);
                fcn_epilogue ep = ep0;
                if (ep.residual) ep.residual += j0;
                float *ct = g->c + m0 * g->ldc + n0 + j0;
                if (direct)
                    g->ukernel_ldb(kc, ap, g->b_direct + k0 * g->ldb + n0 + j0, g->ldb, ct, g->ldc, mrows, nr, acc,
                                   last ? &ep : NULL);
                else
                    g->ukernel(kc, ap, bpack + (j0 / FCN_NR) * kc * FCN_NR, ct, g->ldc, mrows, nr, acc,
                               last ? &ep : NULL);
            }
        }
    }
    int64_t m_end = min64(p1 * mr, g->M);
    if (g->K == 0) {   /* no product: C = epilogue(0) */
        for (int64_t m = p0 * mr; m < m_end; m++) {
            float *row = g->c + m * g->ldc + n0;
            for (int64_t j = 0; j < nc; j++)
                row[j] = (g->c_is_addend ? row[j] : 0.0f) + (g->bias ? g->bias[m] : 0.0f) +
                         (g->residual ? g->residual[m * g->ldc + n0 + j] : 0.0f);
            fcn_act_apply(g->act, g->act_alpha, g->act_beta, row, nc);
        }
        return;
    }
    if (!in_kernel_act)
        for (int64_t m = p0 * mr; m < m_end; m++)
            fcn_act_apply(g->act, g->act_alpha, g->act_beta, g->c + m * g->ldc + n0, nc);
}

/* Column block nb's first column. The blocks are as even as whole 16-column tiles allow, the
 * boundaries rounded to the nearest tile edge (so the last, partial tile counts for its
 * columns) unless the blocks after would then not fit in NC each: a 14×14 map's 196 columns
 * on two threads were 112 | 84, a 1.75× ceiling on the speedup; now 96 | 100. No block
 * exceeds NC (the scratch's width); the tiles, and so the bits, are the same. */
static int64_t block_start(const gemm_task_ctx *t, int64_t nb)
{
    int64_t N = t->g->N;
    if (nb >= t->n_blocks) return N;
    int64_t b = (nb * N + 8 * t->n_blocks) / (16 * t->n_blocks) * FCN_NR;
    int64_t rest = N - (t->n_blocks - nb) * FCN_NC;   /* the blocks after fit in NC each */
    if (b < rest) b = (rest + FCN_NR - 1) / FCN_NR * FCN_NR;
    return b < N ? b : N;
}

static void gemm_tasks(void *vctx, int64_t begin, int64_t end, int tid)
{
    const gemm_task_ctx *t = vctx;
    const fcn_gemm *g = t->g;
    float local[FCN_GEMM_STACK_FLOATS] __attribute__((aligned(64)));   /* (scratch_base NULL: small B blocks) */
    float *bpack = t->scratch_base ? t->scratch_base + (size_t)tid * t->scratch_stride : local;
    int64_t panels = div_up(g->M, g->mr > 0 ? g->mr : FCN_MR);
    for (int64_t task = begin; task < end; task++) {
        int64_t nb = task / t->m_chunks, mc = task % t->m_chunks;
        int64_t n0 = block_start(t, nb), nc = block_start(t, nb + 1) - n0;
        int64_t p0 = mc * t->panels_per_chunk, p1 = min64(panels, p0 + t->panels_per_chunk);
        if (p0 < p1 && nc > 0) gemm_tile(g, n0, nc, p0, p1, bpack);
    }
}

size_t fcn_gemm_scratch_floats(int64_t K, int64_t N)
{
    /* a task packs kc <= min(K, KC) rows of nc <= min(round16(N), NC) columns */
    int64_t kc = K < FCN_KC ? K : FCN_KC, nc = (N + FCN_NR - 1) / FCN_NR * FCN_NR;
    if (nc > FCN_NC) nc = FCN_NC;
    if (kc < 1) kc = 1;
    if (nc < FCN_NR) nc = FCN_NR;
    return ((size_t)kc * (size_t)nc + 15) & ~(size_t)15;   /* 64-byte multiples per thread */
}

void fcn_sgemm(const fcn_gemm *g, const fcn_exec *x)
{
    if (g->M <= 0 || g->N <= 0) return;
    if (!g->scratch && fcn_gemm_scratch_floats(g->K, g->N) > FCN_GEMM_STACK_FLOATS) abort();   /* a caller's bug */
    int nthreads = x && x->pool ? x->nthreads : 1;
    if (nthreads > FCN_MAX_THREADS) nthreads = FCN_MAX_THREADS;
    gemm_task_ctx t = { .g = g, .scratch_base = g->scratch, .scratch_stride = fcn_gemm_scratch_floats(g->K, g->N) };
    /* Column blocks of at most NC, as many as a multiple of the thread count when there are
     * only a few, and evened out (block_start): 784 columns (a 28×28 map) were 240+240 |
     * 240+64 on two threads, then 208+208 | 208+160, now 192+192 | 208+192. */
    t.n_blocks = div_up(g->N, FCN_NC);
    if (nthreads > 1 && t.n_blocks >= nthreads && t.n_blocks < 8 * (int64_t)nthreads)
        t.n_blocks = div_up(t.n_blocks, nthreads) * nthreads;
    /* Fewer columns than threads × NC: split the columns too when there are at least as many
     * as rows and two panels a thread. Splitting the rows instead has every thread pack the
     * whole B (a 240×196 B in a 14×14 projection took as long as the product: no 2-thread
     * gain at all); splitting the columns has each read all of A, cheaper while A is not
     * larger than B. Blocks stay multiples of 16 columns, so the panels, and the bits, are the
     * same at any thread count. */
    else if (nthreads > 1 && t.n_blocks < nthreads && (g->N >= g->M || g->over_b) &&
             div_up(g->N, FCN_NR) >= 2 * nthreads)
        t.n_blocks = nthreads;   /* (written over B: the rows cannot be split) */
    t.nc = div_up(div_up(g->N, t.n_blocks), FCN_NR) * FCN_NR;
    if (t.nc > FCN_NC) t.nc = FCN_NC;
    t.n_blocks = div_up(g->N, t.nc);
    int64_t panels = div_up(g->M, g->mr > 0 ? g->mr : FCN_MR);
    /* Split rows only when the column blocks alone cannot be shared evenly: then into
     * nthreads / gcd(n_blocks, nthreads) row chunks, so the n_blocks × m_chunks tasks divide
     * evenly among the threads. Every row chunk re-packs its B block, so no more chunks than
     * that (four chunks per column block made packing 9% of 2-thread ResNet-18 time). */
    t.m_chunks = 1;
    if (nthreads > 1 && t.n_blocks % nthreads != 0 && t.n_blocks < 8 * (int64_t)nthreads) {
        int64_t a = t.n_blocks, b = nthreads;
        while (b) { int64_t r = a % b; a = b; b = r; }
        t.m_chunks = min64(panels, nthreads / a);
    }
    if (g->over_b) t.m_chunks = 1;   /* a task writes rows only after reading all of B at its columns */
    t.panels_per_chunk = div_up(panels, t.m_chunks);
    t.m_chunks = div_up(panels, t.panels_per_chunk);
    int64_t tasks = t.n_blocks * t.m_chunks;
    if (nthreads <= 1 || tasks == 1)
        gemm_tasks(&t, 0, tasks, 0);
    else
        fcn_parallel_for(x, tasks, gemm_tasks, &t);
}

void fcn_sgemm_serial(const fcn_gemm *g, float *scratch)
{
    fcn_gemm local = *g;
    local.scratch = scratch;
    fcn_sgemm(&local, NULL);
}

void fcn_gemv_ref(const float *A, int64_t K, int64_t m0, int64_t m1,
                  const float *const *x, int rows, const float *bias, float *const *y)
{
    for (int64_t m = m0; m < m1; m++) {
        const float *a = A + m * K;
        for (int r = 0; r < rows; r++) {
            float s = 0.0f;
            for (int64_t k = 0; k < K; k++) s += a[k] * x[r][k];
            y[r][m] = s + (bias ? bias[m] : 0.0f);
        }
    }
}

void fcn_gemv_cols_ref(const float *B, int64_t ldb, const int32_t *nz, const float *xv, int64_t nnz,
                       int64_t n0, int64_t n1, const float *bias, float *y)
{
    fcn_gemv_cols_rows_ref(B, ldb, nz, xv, 1, nnz, n0, n1, bias, y, 0);
}

void fcn_gemv_cols_rows_ref(const float *B, int64_t ldb, const int32_t *nz, const float *xv, int rows, int64_t nnz,
                            int64_t n0, int64_t n1, const float *bias, float *y, int64_t ldy)
{
    for (int r = 0; r < rows; r++)
        for (int64_t n = n0; n < n1; n++) {
            float s = bias ? bias[n] : 0.0f;
            for (int64_t i = 0; i < nnz; i++) s += xv[i * rows + r] * B[nz[i] * ldb + n];
            y[r * ldy + n] = s;
        }
}

int64_t fcn_nonzeros_rows(const float *x, int64_t ldx, int rows, int64_t K, int32_t *nz, float *xv)
{
    int64_t c = 0;
    for (int64_t k = 0; k < K; k++) {
        int any = 0;
        for (int r = 0; r < rows; r++) any |= x[r * ldx + k] != 0.0f;   /* NaN != 0: kept */
        if (!any) continue;
        nz[c] = (int32_t)k;
        for (int r = 0; r < rows; r++) xv[c * rows + r] = x[r * ldx + k];
        c++;
    }
    return c;
}

int64_t fcn_nonzeros(const float *x, int64_t K, int32_t *nz, float *xv)
{
    int64_t c = 0;
    for (int64_t k = 0; k < K; k++)
        if (x[k] != 0.0f) {   /* NaN != 0: kept, so it reaches the outputs as in the dense product */
            nz[c] = (int32_t)k;
            xv[c++] = x[k];
        }
    return c;
}

void fcn_dwconv_ref(const fcn_dw_args *a, int64_t c0, int64_t c1)
{
    for (int64_t c = c0; c < c1; c++) {
        const float *in = a->in + c * fcn_dw_in_cs(a);
        const float *w = a->w + c * a->kh * a->kw;
        float *out = a->out + c * a->Ho * a->Wo;
        float b = a->bias ? a->bias[c] : 0.0f;
        for (int64_t oy = 0; oy < a->Ho; oy++) {
            for (int64_t ox = 0; ox < a->Wo; ox++) {
                float s = b;
                for (int64_t ky = 0; ky < a->kh; ky++) {
                    int64_t iy = oy * a->sh - a->ph + ky * a->dh;
                    if (iy < 0 || iy >= a->H) continue;
                    for (int64_t kx = 0; kx < a->kw; kx++) {
                        int64_t ix = ox * a->sw - a->pw + kx * a->dw;
                        if (ix < 0 || ix >= a->W) continue;
                        s += in[iy * a->W + ix] * w[ky * a->kw + kx];
                    }
                }
                out[oy * a->Wo + ox] = s;
            }
            fcn_act_apply(a->act, a->act_alpha, a->act_beta, out + oy * a->Wo, a->Wo);
        }
    }
}
