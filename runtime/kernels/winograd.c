/* winograd.c — planning for winograd_avx2.c (F(4×4,3×3) or F(2×2,3×3)): sizes, and U = G g Gᵀ packed for the GEMMs (made
 * only on the SIMD path, at session creation; the transpose is transpose_avx2.c). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#define HAVE_X86 1
#endif
#include "runtime/kernels/winograd.h"

/* block sizing (see fcn_winograd_plan); -DWINO_BLOCK_U_BYTES=0 builds the unblocked variant */
#ifndef WINO_BLOCK_U_BYTES
#define WINO_BLOCK_U_BYTES (1024.0 * 1024.0)
#endif
/* K chunks (see fcn_winograd_size): at most this many, and only when each chunk's GEMMs do at
 * least WINO_K_CHUNK_MIN_WORK multiply-adds per input-transform value (k_chunk · P / m²). */
#define WINO_MAX_K_CHUNKS 2
#define WINO_K_CHUNK_MIN_WORK 256.0
/* V and M of a block: 192 KB, but at least WINO_BLOCK_MIN_TILES tiles (the GEMMs' N; a
 * 16-column panel nearly full). Was 768 KB: SqueezeNet's 16→64 layers at 55×55 made 4-row
 * blocks of 645 KB (M alone 516 KB) and took 0.245 ms inside the model, 0.177 with 1-row
 * blocks (docs/KERNELS.md, session 8); without the floor, 27×27 maps (7 tiles a row) went to
 * 1-row blocks and 0.17 → 0.41 ms. */
#define WINO_BLOCK_BYTES (192.0 * 1024.0)
#define WINO_BLOCK_MIN_TILES 14

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* n floats rounded up to a whole, odd number of 64-byte lines */
static int64_t odd_lines(int64_t n)
{
    int64_t lines = (n + 15) / 16;
    return (lines | 1) * 16;
}



/* The block height that splits `rows_cap` or fewer tile rows a block most evenly over the
 * threads (threads take contiguous runs of blocks), and its load (1 = even). */
static int64_t balanced_rows(int64_t tiles_y, int64_t rows_cap, int nthreads, double *load_out)
{
    int64_t best = rows_cap;
    double best_load = 1e30;
    for (int64_t h = rows_cap; h >= 1; h--) {
        int64_t nb = (tiles_y + h - 1) / h, most = 0;
        for (int t = 0; t < nthreads; t++) {
            int64_t b0 = nb * t / nthreads, b1 = nb * (t + 1) / nthreads;
            int64_t r0 = b0 * h, r1 = b1 * h < tiles_y ? b1 * h : tiles_y;
            if (r1 - r0 > most) most = r1 - r0;
        }
        double load = (double)most * (double)nthreads / (double)tiles_y;
        if (load < best_load - 1e-9) { best_load = load; best = h; }
    }
    *load_out = best_load;
    return best;
}

static void size_blocks(fcn_wino_plan *p, int nthreads, int64_t block_rows)
{
    p->block_rows = block_rows;
    p->blocks = (p->tiles_y + p->block_rows - 1) / p->block_rows;
    int64_t block_tiles = p->block_rows * p->tiles_x, panels = (block_tiles + 15) / 16;
    p->m_ld = panels * 16;
    p->v_stride = odd_lines(panels * 16 * p->C);
    p->m_stride = odd_lines(p->k_chunk * p->m_ld);
    p->v_floats = round16((size_t)(p->P * p->v_stride) + 16);
    p->m_floats = round16((size_t)(p->P * p->m_stride) + 16);
    /* V and M, per thread when blocked (the transforms read the input in place) */
    p->scratch_floats = (size_t)((p->blocks > 1 || p->k_chunks > 1 || p->groups > 1) && !p->shared ? nthreads : 1) *
                        (p->v_floats + p->m_floats);
}

/* the tallest blocks of at most cap tile rows (evenly split over the threads if possible)
 * whose scratch fits max_scratch_floats: 0, or -1 with the plan's blocks unspecified */
static int fit_rows(fcn_wino_plan *p, int nthreads, int64_t cap, size_t max_scratch_floats)
{
    for (; cap >= 1; cap--) {
        double load = 1.0;
        int64_t h = nthreads > 1 ? balanced_rows(p->tiles_y, cap, nthreads, &load) : cap;
        size_blocks(p, nthreads, h);
        if (p->scratch_floats <= max_scratch_floats) return 0;
        size_blocks(p, nthreads, cap);
        if (p->scratch_floats <= max_scratch_floats) return 0;
    }
    return -1;
}

int fcn_winograd_size(fcn_wino_plan *p, int nthreads, size_t max_scratch_floats)
{
    if (nthreads < 1) nthreads = 1;
    p->shared = 0;
    if (p->groups > 1) {   /* a group's whole map a thread (a group's V and M: tens of KB) */
        p->k_chunks = 1;
        p->k_chunk = p->K;
        size_blocks(p, nthreads, p->tiles_y);
        return max_scratch_floats == 0 || p->scratch_floats <= max_scratch_floats ? 0 : -1;
    }
    const int P = p->P;
    const double C = (double)p->C, K = (double)p->K;
    /* Blocks of tile rows: when U is small enough to stay in L2 next to them, V and M are made
     * for WINO_BLOCK_BYTES worth of tiles at a time instead of for the whole map (which, for a
     * 56×56×64 layer, is 1.8 MB each way and went through L3 three times). With a large U the
     * map is one block: every block streams all of U again. */
    int64_t rows = p->tiles_y;
    /* A U too large for L2 in K chunks that are not (two at most; on several threads, a whole
     * number of chunks a thread, which then keeps its share of U in its own L2). Every chunk
     * transforms the block's input again, worth it only when a chunk's GEMMs are long next to
     * that: F(2×2,5×5) (P / m² = 9) with AlexNet's 64→192 at 27×27 went 1.65 → 1.59 ms on one
     * thread and 0.90 → 0.79 on two (48→256: 1.71 → 1.58, 0.88 → 0.80); F(4×4,3×3) (P / m² =
     * 2.25) with 64-channel chunks won on one thread count and lost on the other (VGG-11's
     * 64→128 at 112×112: 4.7 → 4.4 ms, but 1.94 → 2.19 on two; GoogLeNet's 96→128 at 28×28:
     * 0.44 → 0.48 ms, 0.25–0.28 → 0.245), so it stays one block there. */
    double u_bytes = (double)P * K * C * 4.0;
    int64_t mr = p->mr > 0 ? p->mr : 16;
    p->k_chunks = 1;
    p->k_chunk = p->K;
    if (u_bytes > WINO_BLOCK_U_BYTES) {
        int64_t nk = (int64_t)ceil(u_bytes / WINO_BLOCK_U_BYTES);
        if (nthreads > 1) nk = (nk + nthreads - 1) / nthreads * nthreads;
        int64_t chunk = ((p->K + nk - 1) / nk + mr - 1) / mr * mr;
        if (nk <= WINO_MAX_K_CHUNKS && (p->K + chunk - 1) / chunk == nk &&
            (double)chunk * P / (double)(p->m * p->m) >= WINO_K_CHUNK_MIN_WORK) {
            p->k_chunks = nk;
            p->k_chunk = chunk;
        }
    }
    int64_t nk = p->k_chunks;
    if (u_bytes <= WINO_BLOCK_U_BYTES || nk > 1) {
        double row_bytes = (double)P * (C + (double)p->k_chunk) * (double)p->tiles_x * 4.0;
        rows = (int64_t)(WINO_BLOCK_BYTES / row_bytes);
        int64_t min_rows = (WINO_BLOCK_MIN_TILES + p->tiles_x - 1) / p->tiles_x;
        if (rows < min_rows) rows = min_rows;
        /* threads share the blocks; with K chunks, the chunks (see above) */
        int threads = nk > 1 ? 1 : nthreads;
        int64_t balance = (p->tiles_y + 2 * threads - 1) / (2 * threads);   /* >= 2 blocks a thread */
        if (rows > balance) rows = balance;
        if (rows < 1) rows = 1;
        /* the block height (at most `rows`) whose split is most even; when none is within 8 %
         * (7 tile rows on 2 threads: 4 | 3), the unblocked phases, split by channels and
         * positions, balance better */
        if (threads > 1) {
            double load;
            int64_t h = balanced_rows(p->tiles_y, rows, threads, &load);
            rows = load <= 1.08 ? h : p->tiles_y;
        }
        if (rows > p->tiles_y) rows = p->tiles_y;
    }
    size_blocks(p, nthreads, rows);
    if (max_scratch_floats == 0 || p->scratch_floats <= max_scratch_floats) return 0;
    /* Over the caller's memory budget: the tallest blocks that fit, evenly split if possible
     * (each block streams U once more; see fcn_fast_conv_fit_scratch). */
    if (fit_rows(p, nthreads, rows < p->tiles_y ? rows : p->tiles_y - 1, max_scratch_floats) == 0) return 0;
    /* Blocks of one tile row still over it on several threads (each thread holds its own V and
     * M: GoogLeNet's 64→192 at 56×56 on two threads, 2 × 0.59 MB against a 0.80 MB gap): one V
     * and M, the blocks one after another, each phase split over the threads as for the whole
     * map (three barriers a block). Whole output channels a block: the same sums, the same bits.
     * (K in more chunks instead, M a chunk's worth, transformed each block's input again per
     * chunk: AlexNet's 384→256 at 13×13 needed 16 chunks, 1.5 → 4.3 ms.) */
    if (nthreads > 1) {
        const int64_t chunks0 = p->k_chunks, chunk0 = p->k_chunk;
        p->shared = 1;
        p->k_chunks = 1;
        p->k_chunk = p->K;
        if (fit_rows(p, nthreads, p->tiles_y, max_scratch_floats) == 0) return 0;
        p->shared = 0;
        p->k_chunks = chunks0;
        p->k_chunk = chunk0;
    }
    size_blocks(p, nthreads, rows);
    return -1;
}

int fcn_winograd_plan(fcn_wino_plan *p, int m, const float *w, int64_t C, int64_t H, int64_t W,
                      int64_t K, int64_t Ho, int64_t Wo, int64_t ph, int64_t pw, int64_t groups, int nthreads,
                      const float *u_given, size_t u_given_bytes)
{
    if (nthreads < 1) nthreads = 1;
    p->C = C; p->H = H; p->W = W; p->K = K; p->Ho = Ho; p->Wo = Wo; p->ph = ph; p->pw = pw;
    p->groups = groups > 1 ? groups : 1;
    p->r = m == FCN_WINO_F25 ? 5 : 3;
    p->m = m == 2 || m == FCN_WINO_F25 ? 2 : 4;
    m = p->m;
    const int P = (m + p->r - 1) * (m + p->r - 1);
    p->P = P;
    p->tiles_y = (Ho + m - 1) / m;
    p->tiles_x = (Wo + m - 1) / m;
    p->T = p->tiles_y * p->tiles_x;
    /* 8 tiles per vector; with AVX-512, 16 on F(4×4) rows of more than 8, two rows of up to 8
     * otherwise */
    p->wide16 = m == 4 && p->tiles_x > 8 && fcn_avx512_enabled();
    p->pair = p->r == 3 && p->tiles_x <= 8 && fcn_avx512_enabled() && !fcn_env_flag("FULLCONV_NO_WINO_PAIR");
    p->vl8 = fcn_avx512_enabled();
    p->ukernel = fcn_best_ukernel_ordered(&p->mr);   /* same bits at any thread count */
    fcn_winograd_size(p, nthreads, 0);
    p->u_floats = fcn_pack_a_mr_floats(K, C, p->mr);
    p->u_borrowed = 0;
    const size_t u_total = fcn_winograd_u_floats(p);
    if (u_given && u_given_bytes == sizeof(float) * u_total) {
        p->u_packed = (float *)u_given;   /* read only, from the file's PREPACKED section */
        p->u_borrowed = 1;
        return 0;
    }
    /* U is made one panel of mr output channels at a time, into a buffer of 36·mr·C floats that
     * stays in cache, and packed from there: the whole 36·K·C U (9 MB for a 256×256 layer)
     * never makes a round trip through memory, which was most of the layer's setup time. */
    int mr = p->mr;
    int64_t mpad = (K + mr - 1) / mr * mr;
    float *u = malloc(sizeof(float) * (size_t)(P * (int64_t)mr * C));
    p->u_packed = aligned_alloc(64, (sizeof(float) * u_total + 63) & ~(size_t)63);
    if (!u || !p->u_packed) {
        free(u);
        free(p->u_packed);
        p->u_packed = NULL;
        return -1;
    }
    fcn_hint_hugepages(p->u_packed, sizeof(float) * u_total);
#ifdef HAVE_X86
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2");   /* the plan is made on the SIMD path only; be sure */
    int fast16 = mr == 16 && __builtin_cpu_supports("avx512f");
#endif
    for (int64_t gk = 0; gk < p->groups * mpad; gk += mr) {   /* group g = gk / mpad: its own P matrices */
        int64_t g = gk / mpad, k_first = gk % mpad;
        int64_t rows = K - k_first < mr ? K - k_first : mr, panel = k_first / mr;
        const float *wg = w + g * K * C * p->r * p->r;
        if (p->r == 5)
            fcn_winograd_weights_f25(wg + k_first * C * 25, rows, C, u);
        else if (m == 4)
            fcn_winograd_weights(wg + k_first * C * 9, rows, C, u);   /* u[(ξ*rows + r)*C + c] */
        else
            fcn_winograd_weights_f2(wg + k_first * C * 9, rows, C, u);
        for (int xi = 0; xi < P; xi++) {
            const float *src = u + (size_t)xi * (size_t)(rows * C);
            float *dst_xi = p->u_packed + ((size_t)g * (size_t)P + (size_t)xi) * p->u_floats;
            /* the layout of fcn_pack_a_mr: KC blocks, mr-row panels, k-major inside a panel */
            for (int64_t c0 = 0; c0 < C; c0 += FCN_KC) {
                int64_t kc = C - c0 < FCN_KC ? C - c0 : FCN_KC;
                float *dst = dst_xi + c0 * mpad + panel * mr * kc;
                int64_t r = 0;
#ifdef HAVE_X86
                if (fast16) {   /* whole 16-row panels, full 64-byte lines, streamed stores */
                    fcn_pack_panel16_avx512(src + c0, C, (int)rows, kc, dst, 1);
                    continue;
                }
                if (avx2)
                    for (; r + 8 <= rows; r += 8) fcn_transpose_rows8_avx2(src + r * C + c0, C, kc, dst + r, mr);
#endif
                for (; r < mr; r++) {
                    if (r < rows)
                        for (int64_t c = 0; c < kc; c++) dst[c * mr + r] = src[r * C + c0 + c];
                    else
                        for (int64_t c = 0; c < kc; c++) dst[c * mr + r] = 0.0f;
                }
            }
        }
    }
#ifdef HAVE_X86
    if (fast16) fcn_pack_fence();   /* the streamed stores are visible before any use */
#endif
    free(u);
    return 0;
}

size_t fcn_winograd_u_floats(const fcn_wino_plan *p)
{
    return (size_t)p->groups * (size_t)p->P * p->u_floats;
}
