/* winograd.h — plan of a Winograd F(m×m,3×3) convolution layer, m = 4 or 2, or F(2×2,5×5) (winograd_avx2.c). */
#ifndef FCN_WINOGRAD_H
#define FCN_WINOGRAD_H
#include "runtime/kernels/kernels.h"

typedef struct fcn_wino_plan {
    int64_t C, H, W, K, Ho, Wo, ph, pw;   /* C and K: one group's */
    /* A grouped conv (groups > 1: RegNet's 3×3 layers of 16 channels a group) runs as `groups`
     * convs of C → K channels, each over the whole map on one thread (the groups spread over
     * the threads), U holding each group's P matrices one group after another. */
    int64_t groups;
    int m;                         /* output tile m×m: 4 (input tiles 6×6) or 2 (4×4; 6×6 when r is 5) */
    int r;                         /* kernel r×r: 3, or 5 for F(2×2,5×5) */
    int P;                         /* positions per tile: (m + r − 1)² = 36 or 16 */
    int64_t tiles_y, tiles_x, T;   /* T = tiles_y * tiles_x */
    float *u_packed;               /* P packed K×C matrices (panels of mr rows) */
    int u_borrowed;                /* u_packed is the file's prepacked blob: not ours to free */
    fcn_ukernel_fn ukernel;
    int mr;
    size_t u_floats;               /* per position */
    size_t v_floats, m_floats;
    size_t scratch_floats;         /* all the run needs: V and M (per thread when blocked) */
    int64_t block_rows, blocks;    /* tile rows per block, blocks (1 = whole map, phases threaded) */
    /* Output channels a block computes at a time (a multiple of mr) and how many such chunks:
     * 1 and K unless U is too large to stay in L2 next to the blocks, when each block runs
     * once per chunk (its input transform again each time) against that chunk's share of U. */
    int64_t k_chunk, k_chunks;
    int64_t m_ld;                  /* row stride of M: a block's tiles rounded up to 16 */
    /* Floats between the positions' V (panels×C×16) and M (K×m_ld) matrices: an odd number of
     * 64-byte lines, so the transforms' 36 streams land in 36 different L1 sets (C·T is often
     * a multiple of many lines — 64×196 floats is 784 lines, which put all 36 in 4 sets). */
    int64_t v_stride, m_stride;
    int wide16;                    /* F(4×4) transforms 16 tiles per zmm (AVX-512, rows of > 8 tiles) */
    int pair;                      /* transforms two tile rows per zmm (AVX-512, rows of <= 8 tiles) */
    int vl8;                       /* the 8-lane transforms with AVX-512VL masked stores (winograd8.h) */
    /* Blocks run one after another, each phase split over the threads, with one V and M for
     * all (the memory fallback: per-thread blocks did not fit the plan's bound). */
    int shared;
} fcn_wino_plan;

/* One run (winograd_avx2.c): per block of tile rows [ty0, ty1), the input transform reads the
 * input in place (zero outside the map, no padded copy) and writes V straight in the layout
 * the micro-kernel reads its B panels in — per position ξ, panels of 16 tiles, C rows of 16
 * floats each, V[ξ][tile/16][c][tile%16] —
 * so no packing pass; the GEMMs write M[ξ][k][tile] (row stride m_ld); the output transform
 * reads it. Layers whose transformed weights are small run block after block with V and M
 * sized to stay in L2 (one thread a block); the others as one block, each phase split over
 * threads. */
typedef struct fcn_wino_run {
    const fcn_wino_plan *p;
    const float *in;               /* one image, C×H×W */
    float *out;                    /* one image, K×Ho×Wo */
    float *work;                   /* V then M (per thread when blocked) */
    const float *bias;
    const float *residual;         /* added before the activation, or NULL */
    int act; float act_alpha, act_beta;
    int64_t ty0, ty1;              /* the block the phases work on (whole map: 0, tiles_y) */
} wino_run;

typedef struct fcn_wino_blk {
    const wino_run *r;
    float *v, *m;
    int64_t ty0, ty1, ntiles;
    int64_t kbase, kend;           /* the output channels it computes; M row k - kbase is channel k */
} wino_blk;

/* Input row y of a plane of H rows of W, or NULL above or below the map: the transforms read
 * the input in place and make the zero border themselves. */
static inline const float *fcn_wino_src_row(const float *plane, int64_t y, int64_t H, int64_t W)
{
    return y >= 0 && y < H ? plane + y * W : NULL;
}

/* Of `lanes` columns from column a, the lanes [*lo, *hi) inside [0, W) (none when *hi <= *lo):
 * the masks of the transforms' in-place loads. */
static inline void fcn_wino_cols_in(int64_t a, int64_t W, int lanes, int64_t *lo, int64_t *hi)
{
    *lo = a < 0 ? (-a < lanes ? -a : lanes) : 0;
    *hi = W - a < lanes ? W - a : lanes;
}

/* The AVX-512 twins of the F(4×4) transforms (winograd_avx512.c): 16 tiles per zmm, for rows
 * of more than 8 tiles (a 56×56 map has 14: one group instead of 8 + 6). */
void fcn_wino_input_f4_avx512(const wino_blk *b, int64_t c0, int64_t c1);
/* winograd8.h's 8-lane transforms built for AVX-512VL (winograd_avx512.c) */
void fcn_wino_input_f25_vl(const wino_blk *b, int64_t c0, int64_t c1);
void fcn_wino_input_f2_vl(const wino_blk *b, int64_t c0, int64_t c1);
void fcn_wino_output_f25_vl(const wino_blk *b, int64_t k0, int64_t k1);
void fcn_wino_output_f2_vl(const wino_blk *b, int64_t k0, int64_t k1);
void fcn_wino_output_f4_avx512(const wino_blk *b, int64_t k0, int64_t k1);
/* Rows of at most 8 tiles (28×28 maps for F(4×4), 14×14 for F(2×2)): two tile rows per zmm,
 * lanes 0..7 the first row, 8..15 the second (winograd_avx512.c). */
void fcn_wino_input_f4_pair_avx512(const wino_blk *b, int64_t c0, int64_t c1);
void fcn_wino_output_f4_pair_avx512(const wino_blk *b, int64_t k0, int64_t k1);
void fcn_wino_input_f2_pair_avx512(const wino_blk *b, int64_t c0, int64_t c1);
void fcn_wino_output_f2_pair_avx512(const wino_blk *b, int64_t k0, int64_t k1);

/* U_ξ[k][c] for the 36 positions ξ of F(4×4,3×3), laid out u[(ξ*K + k)*C + c]. */
void fcn_winograd_weights(const float *w, int64_t K, int64_t C, float *u);
/* The same for the 16 positions of F(2×2,3×3). */
void fcn_winograd_weights_f2(const float *w, int64_t K, int64_t C, float *u);
/* The same for the 36 positions of F(2×2,5×5), from K×C×5×5 weights. */
void fcn_winograd_weights_f25(const float *w, int64_t K, int64_t C, float *u);
/* m of fcn_winograd_plan for F(2×2,5×5) (also the prepacked blob's param) */
#define FCN_WINO_F25 25
/* Fills the plan for output tiles m×m (m = 4 or 2 with 3×3 kernels, FCN_WINO_F25 for 5×5) and
 * packs U (malloc'd u_packed, caller frees unless u_borrowed); 0 or -1 (ENOMEM). u_given: U
 * already packed (a PREPACKED blob), used in place when u_given_bytes is exactly its size
 * (fcn_winograd_u_floats), else ignored. C and K are one group's channels (groups > 1: the
 * weight is groups·K × C × r × r, group g's filters from row g·K). */
int fcn_winograd_plan(fcn_wino_plan *p, int m, const float *w, int64_t C, int64_t H, int64_t W,
                      int64_t K, int64_t Ho, int64_t Wo, int64_t ph, int64_t pw, int64_t groups, int nthreads,
                      const float *u_given, size_t u_given_bytes);
/* U's floats: groups · P · u_floats */
size_t fcn_winograd_u_floats(const fcn_wino_plan *p);
/* (Re)sizes the blocks of tile rows for nthreads (the plan's defaults), then, when
 * max_scratch_floats > 0 and the scratch is over it, the tallest blocks that fit: 0, or -1
 * (does not fit; the defaults are kept). fcn_winograd_plan calls it with 0. */
int fcn_winograd_size(fcn_wino_plan *p, int nthreads, size_t max_scratch_floats);
/* scratch: p->scratch_floats floats, 64-byte aligned; x->nthreads <= the plan's nthreads. */
/* residual (K×Ho×Wo like out, or NULL) is added before the activation. */
void fcn_winograd_run(const fcn_wino_plan *p, const float *in, float *out, const float *bias, const float *residual,
                      int act, float act_alpha, float act_beta, float *scratch, const fcn_exec *x);
#endif
