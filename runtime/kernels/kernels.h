/* kernels.h — fast kernels behind the reference ops (internal to the runtime).
 *
 * SGEMM (GotoBLAS/BLIS structure): C[M×N] = A[M×K]·B[K×N] (+ bias per row, fused activation).
 *   A is packed once (weights, at session creation) into MR-row panels per KC block;
 *   B is packed per run, KC×NC at a time, into NR-column panels, by a callback — so a
 *   convolution packs straight from the image (implicit im2col) and a 1×1 conv from rows.
 *   The micro-kernel computes an MR×NR tile in registers: 6×16 floats = 12 ymm accumulators.
 * Every SIMD kernel has a portable twin with the same signature (tested against each other). */
#ifndef FCN_KERNELS_H
#define FCN_KERNELS_H

#include "runtime/op.h"

#define FCN_MR 6
#define FCN_NR 16
#define FCN_KC 256
#define FCN_NC 240                 /* multiple of NR; KC×NC floats of packed B ≈ 240 KiB (L2) */
#define FCN_MAX_THREADS 64
#define FCN_A_PREFETCH 64          /* micro-kernels prefetch the A panel this many k steps ahead */

/* Applied by the micro-kernel to the tile in registers after the last K block:
 * c = act(c + bias[row] + residual[row][col]) for act NONE, RELU or CLIP (others: the driver
 * applies them afterwards). Pointers are already offset to the tile's first row/column. */
typedef struct fcn_epilogue {
    const float *bias;             /* per row, or NULL */
    const float *residual;         /* row stride = ldc, or NULL */
    int act;                       /* FCN_ACT_NONE, RELU or CLIP */
    float lo, hi;                  /* CLIP bounds */
} fcn_epilogue;

/* C[m×n] (+)= Apanel(k×mr) · Bpanel(k×NR) for m <= mr, n <= NR; acc=0 overwrites;
 * ep (NULL = none) finishes the tile. */
typedef void (*fcn_ukernel_fn)(int64_t k, const float *a, const float *b, float *c,
                               int64_t ldc, int m, int n, int acc, const fcn_epilogue *ep);
void fcn_ukernel_6x16_ref(int64_t k, const float *a, const float *b, float *c, int64_t ldc, int m, int n, int acc,
                          const fcn_epilogue *ep);
void fcn_ukernel_6x16_avx2(int64_t k, const float *a, const float *b, float *c, int64_t ldc, int m, int n, int acc,
                           const fcn_epilogue *ep);
/* AVX-512 twin with a 16×16 tile (one zmm per row), used when the CPU has AVX-512F
 * (sgemm_avx512.c); its A panels are 16 rows: pack with fcn_pack_a_mr(..., 16, ...). */
void fcn_ukernel_16x16_avx512(int64_t k, const float *a, const float *b, float *c, int64_t ldc, int m, int n,
                              int acc, const fcn_epilogue *ep);
/* The same with every column summed in k order whatever n is: a column's bits do not depend on
 * how many columns share its panel (Winograd's panels move with the thread count). */
void fcn_ukernel_16x16_avx512_ordered(int64_t k, const float *a, const float *b, float *c, int64_t ldc, int m,
                                      int n, int acc, const fcn_epilogue *ep);
/* The _ordered tile for one B panel against `panels` full 16-row A panels astep floats apart,
 * C 16 rows on each (the same results as a call per panel). */
void fcn_ukernel_16x16_avx512_ordered_panels(int64_t k, const float *a, int64_t astep, const float *b, float *c,
                                             int64_t ldc, int64_t panels, int n, int acc);
/* `tiles` full 16×16 tiles of a 16-row panel in one call (packed B panels k·16 apart, or B in
 * place with row stride ldb): the same results as one call per tile. */
void fcn_ukernel_16x16_avx512_tiles(int64_t k, const float *a, const float *b, float *c, int64_t ldc, int64_t tiles,
                                    int acc, const fcn_epilogue *ep);
void fcn_ukernel_16x16_avx512_ldb_tiles(int64_t k, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc,
                                        int64_t tiles, int acc, const fcn_epilogue *ep);
/* The 16×16 tile with B read in place, row p at b + p·ldb (fcn_gemm.b_direct). */
typedef void (*fcn_ukernel_ldb_fn)(int64_t k, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc,
                                   int m, int n, int acc, const fcn_epilogue *ep);
void fcn_ukernel_16x16_avx512_ldb_pack(int64_t k, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc,
                                       int acc, const fcn_epilogue *ep, float *pk);
void fcn_ukernel_16x16_avx512_ldb(int64_t k, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc,
                                  int m, int n, int acc, const fcn_epilogue *ep);
void fcn_ukernel_16x16_avx512_ordered_ldb(int64_t k, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc,
                                          int m, int n, int acc, const fcn_epilogue *ep);
/* Weight-packing helpers: the 8×8 AVX2 transpose dst[c*ldd + i] = src[i*lds + c] (8 rows,
 * c < n; transpose_avx2.c) and a huge-page hint for big buffers written once (sgemm.c). */
void fcn_transpose_rows8_avx2(const float *src, int64_t lds, int64_t n, float *dst, int64_t ldd);
/* One whole 16-row panel (AVX-512F; callers check): dst[k*16 + i] = src[i*lds + k] for i < rows
 * (<= 16), zero rows after, k < kc. stream: non-temporal stores when dst is 64-byte aligned,
 * then call fcn_pack_fence() once before the panels are used. */
void fcn_pack_panel16_avx512(const float *src, int64_t lds, int rows, int64_t kc, float *dst, int stream);
void fcn_pack_fence(void);
void fcn_hint_hugepages(void *p, size_t bytes);
/* Generic-MR packing of A (layout as fcn_pack_a with MR = mr). */
size_t fcn_pack_a_mr_floats(int64_t M, int64_t K, int mr);
void fcn_pack_a_mr(const float *A, int64_t rs, int64_t cs, int64_t M, int64_t K, int mr, float *out);
/* The micro-kernel sessions created now use: 16×16 AVX-512 when available and not disabled
 * (FULLCONV_NO_AVX512=1), else 6×16 AVX2. Sets *mr. */
fcn_ukernel_fn fcn_best_ukernel(int *mr);
/* The best micro-kernel whose columns' results do not depend on the panel's column count. */
fcn_ukernel_fn fcn_best_ukernel_ordered(int *mr);
/* 1 when environment variable `name` is set to something other than "" or "0..." (the kernels'
 * FULLCONV_NO_* switches). */
int fcn_env_flag(const char *name);
/* 1 when the AVX-512 kernels are used (AVX-512F+VL present, FULLCONV_NO_AVX512 not set). */
int fcn_avx512_enabled(void);
/* 1 on AMD CPUs (or FULLCONV_COST_MODEL=amd): which fitted cost constants conv_fast.c uses */
int fcn_cpu_is_amd(void);
/* Test hook: AVX-512 kernels off (0) or on when the CPU has them (1); returns the previous state. */
int fcn_set_avx512(int on);

/* Packed A: floats needed, and packing from A[m*rs + k*cs]. */
size_t fcn_pack_a_floats(int64_t M, int64_t K);
void fcn_pack_a(const float *A, int64_t rs, int64_t cs, int64_t M, int64_t K, float *out);

/* Packs B rows [k0, k0+kc) × columns [n0, n0+nc) into NR-wide panels (zero-padded):
 * out[(j/NR)*kc*NR + k*NR + j%NR]. */
typedef void (*fcn_pack_b_fn)(const void *ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *out);
/* B given as B[k*rs + n*cs] (ctx = fcn_strided_b). */
typedef struct fcn_strided_b { const float *b; int64_t rs, cs; } fcn_strided_b;
void fcn_pack_b_strided(const void *ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *out);
/* B[k*rs + n] through a per-row affine map and activation while it is packed:
 * act(ab[2k]·B + ab[2k+1]), act NONE, RELU or CLIP(alpha, beta) — the same arithmetic as
 * fcn_affine_act_avx2, so a BatchNormalization fused into the 1×1 conv after it gives the same
 * bits (act_avx2.c). */
typedef struct fcn_affine_b { const float *b; int64_t rs; const float *ab; int act; float alpha, beta; } fcn_affine_b;
void fcn_pack_b_affine(const void *ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *out);

typedef struct fcn_gemm {
    int64_t M, N, K;
    const float *a_packed;
    fcn_pack_b_fn pack_b;
    const void *pack_ctx;
    float *c;                      /* row-major, row stride ldc */
    int64_t ldc;
    const float *bias;             /* per row, or NULL */
    const float *residual;         /* added before the activation (same layout as c), or NULL */
    int c_is_addend;               /* c already holds a residual to add to (in place: c += A·B) */
    int act; float act_alpha, act_beta;
    float *scratch;                /* FCN_KC*FCN_NC floats per thread */
    fcn_ukernel_fn ukernel;
    int mr;                        /* rows of the ukernel's A panels (0 = FCN_MR) */
    /* B as a plain row-major K×N matrix (row stride ldb) that pack_b copies from, and a kernel
     * that reads it in place: then a task with few panels of rows skips the packing */
    const float *b_direct;
    int64_t ldb;
    fcn_ukernel_ldb_fn ukernel_ldb;
    /* with b_direct and the AVX-512 16×16 kernel: a task's first panel of rows reads B in place
     * and packs it for the others as it goes (pack_b then packs only a block's partial last
     * panel), so pack_b must copy b_direct's rows unchanged */
    int pack_in_tile;
    /* C written over B (b_direct: C's row m starts where B's row m does, ldc == ldb, K <=
     * FCN_KC; M may differ from K): each task takes every row of its columns and has read all
     * of B there (packed, or by the panel that writes them) before it writes C; B is never read
     * in place by a later panel. A 1×1 conv planned over its input (fcn_fast_conv_in_place). */
    int over_b;
} fcn_gemm;
#define FCN_DIRECT_B_PANELS 3      /* tasks with at most this many panels of rows read b_direct */
/* Per-thread scratch floats of fcn_sgemm: at most FCN_GEMM_SCRATCH_FLOATS, and for a product of
 * depth K over N columns fcn_gemm_scratch_floats(K, N) (a LeNet layer needed 1 KB, not 256). */
#define FCN_GEMM_SCRATCH_FLOATS ((size_t)FCN_KC * FCN_NC)
/* fcn_gemm.scratch may be NULL when fcn_gemm_scratch_floats(K, N) is at most this: each task
 * then packs B on its own stack (32 KB), and the session plans no scratch for the product. */
#define FCN_GEMM_STACK_FLOATS ((size_t)8192)
size_t fcn_gemm_scratch_floats(int64_t K, int64_t N);
void fcn_sgemm(const fcn_gemm *g, const fcn_exec *x);
/* Same, serially on the calling thread, for use inside an outer parallel loop. */
void fcn_sgemm_serial(const fcn_gemm *g, float *scratch);

/* y[r][m] = act(dot(A[m], x[r]) + bias[m]) for r < rows (rows <= 4 per call), A row-major M×K:
 * the matrix–vector product that streams the weights once (FC layers, convs with 1×1 output). */
typedef void (*fcn_gemv_fn)(const float *A, int64_t K, int64_t m0, int64_t m1,
                            const float *const *x, int rows, const float *bias, float *const *y);
void fcn_gemv_ref(const float *A, int64_t K, int64_t m0, int64_t m1,
                  const float *const *x, int rows, const float *bias, float *const *y);
void fcn_gemv_avx2(const float *A, int64_t K, int64_t m0, int64_t m1,
                   const float *const *x, int rows, const float *bias, float *const *y);
void fcn_gemv_warm_avx2(const float *A, int64_t K, int64_t m0, int64_t m1,
                        const float *const *x, int rows, const float *bias, float *const *y);

/* Columns [n0, n1) of y = bias + x·B for one input row x whose nonzero entries are listed:
 * xv[i] = x[nz[i]], i < nnz, in increasing k. B is K×N row-major (row stride ldb): the input-major
 * weight layout of a Gemm with transB 0, so the weight row of a zero input is never read — after a
 * ReLU a third to a half of an FC layer's weights (docs/KERNELS.md "Sparse inputs"). Each y[n] is
 * bias[n] then the terms in list order, whatever the column range, so the result does not depend
 * on how the columns are split between threads. */
void fcn_gemv_cols_ref(const float *B, int64_t ldb, const int32_t *nz, const float *xv, int64_t nnz,
                       int64_t n0, int64_t n1, const float *bias, float *y);
void fcn_gemv_cols_avx2(const float *B, int64_t ldb, const int32_t *nz, const float *xv, int64_t nnz,
                        int64_t n0, int64_t n1, const float *bias, float *y);
/* The list for fcn_gemv_cols: the nonzero entries of x[0..K) (NaN counts as nonzero); returns nnz. */
int64_t fcn_nonzeros(const float *x, int64_t K, int32_t *nz, float *xv);
/* The same for `rows` (1–4) input rows x[r][0..K) (row stride ldx) at once: nz lists the positions
 * where any row is nonzero, xv their values, `rows` a position (zeros included); y[r] (row stride
 * ldy) = bias + Σ in list order xv[i·rows + r]·B[nz[i]]: each weight row read once for the batch
 * (a row's zeros at listed positions add exact zeros where B is finite). */
void fcn_gemv_cols_rows_ref(const float *B, int64_t ldb, const int32_t *nz, const float *xv, int rows, int64_t nnz,
                            int64_t n0, int64_t n1, const float *bias, float *y, int64_t ldy);
void fcn_gemv_cols_rows_avx2(const float *B, int64_t ldb, const int32_t *nz, const float *xv, int rows, int64_t nnz,
                             int64_t n0, int64_t n1, const float *bias, float *y, int64_t ldy);
int64_t fcn_nonzeros_rows(const float *x, int64_t ldx, int rows, int64_t K, int32_t *nz, float *xv);

/* y = bias + x·W for `rows` input rows x of K floats and an input-major K×N weight W used in
 * place, four rows at a time: fcn_nonzeros_rows, then fcn_gemv_cols_rows_avx2 over the list in
 * FCN_COLS_PIECES fixed pieces, each into its own partial rows, split over the threads, then
 * y = bias + the partials in piece order (the same bits on any number of threads). The FC
 * (gemm_fast.c) and the FC turned convolution (conv_fast.c) with such a weight. */
#define FCN_COLS_PIECES 4
typedef struct fcn_cols {
    const float *w;                /* K×N */
    int64_t K, N;
    int32_t *nz;                   /* the listed positions and values of the rows being run */
    float *xv;
    float *part;                   /* FCN_COLS_PIECES × 4 partial rows of N */
} fcn_cols;
int fcn_cols_init(fcn_cols *c, const float *w, int64_t K, int64_t N);   /* 0, -1 out of memory (K < 2^31) */
void fcn_cols_free(fcn_cols *c);
void fcn_cols_run(const fcn_cols *c, const float *x, int64_t rows, const float *bias, float *y, const fcn_exec *ex);

/* Implicit im2col of one image (group) as an SGEMM B matrix: rows (channel, ky, kx), columns
 * the output pixels. fcn_pack_im2col_avx2 is an fcn_pack_b_fn over a fcn_im2col context. */
typedef struct fcn_im2col {
    const float *in;               /* first channel of the group, one image */
    int64_t H, W, kh, kw, sh, sw, ph, pw, dh, dw, Wo;
} fcn_im2col;
/* the same for a 1×1 stride-2 conv without padding (2·(Ho−1) < H, 2·(Wo−1) < W), AVX-512 */
void fcn_pack_1x1s2_avx512(const void *ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *out);
void fcn_pack_im2col_avx2(const void *ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *out);
/* fcn_pack_b_strided for cs == 1 (1×1 convs), 8-lane moves (im2col_avx2.c) */
void fcn_pack_b_rows_avx2(const void *ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *out);
/* rows [oy0, oy1) of a 1×1 stride-2 conv's input, subsampled into a dense band (im2col_avx2.c) */
void fcn_subsample2_avx512(const float *img, int64_t C, int64_t in_cs, int64_t W, int64_t oy0, int64_t oy1, int64_t Wo,
                           float *dst);

/* Activation epilogue on a contiguous run (act as in fcn_act). */
void fcn_act_apply(int act, float alpha, float beta, float *p, int64_t n);
/* The same with AVX2 + FMA (act_avx2.c); fcn_act_apply calls it when the CPU has them. */
void fcn_act_apply_avx2(int act, float alpha, float beta, float *p, int64_t n);
/* out[i] = act(in[i]) (in == out allowed). */
void fcn_act_map_avx2(int act, float alpha, float beta, const float *in, float *out, int64_t n);
/* out[i] = act(in[i] · scale + shift) (in == out allowed). */
void fcn_affine_act_avx2(const float *in, float *out, int64_t n, float scale, float shift, int act, float alpha,
                         float beta);
/* The 16-lane twins (act_avx512.c); the two above call them when fcn_avx512_enabled(). */
void fcn_act_map_avx512(int act, float alpha, float beta, const float *in, float *out, int64_t n);
void fcn_affine_act_avx512(const float *in, float *out, int64_t n, float scale, float shift, int act, float alpha,
                           float beta);
/* Fast paths of eltwise_fast.c: unary activations, BatchNormalization, per-channel Mul. */
int fcn_fast_eltwise_prepare(fcn_node *n, fc_error *err);

/* Depthwise conv (group == C == K, multiplier 1), any kernel/stride/pad/dilation, one image,
 * channels [c0, c1). The AVX2 twin copies each plane into a zero-bordered work buffer, then
 * computes 8 output columns per ymm with no bounds checks (masked store at the row end); 3×3
 * stride 1/2 runs fcn_dw3x3_avx512 instead when AVX-512 is enabled. */
typedef struct fcn_dw_args {
    const float *in; float *out; const float *w; const float *bias;
    int64_t H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw;
    int act; float act_alpha, act_beta;
    float *work;                   /* fcn_dw_work_floats(a) floats (maybe 0), 32-byte aligned */
    int c16;                       /* take fcn_dwc16_avx512: decided once, where the work is sized
                                    * (fcn_dwc16_applies, FULLCONV_NO_DWC16 unset) */
    int c16_planes;                /* c16: write the outputs one plane after the other, through
                                    * the work (sessions on several threads); the same values */
    int no_slide;                  /* 3×3 pad 1, stride 1 or 2: masked loads per tap instead of
                                    * aligned row loads and valignd (FULLCONV_NO_DW_SLIDE, read at
                                    * prepare); same values */
    int no_narrow;                 /* the passes rolled down the rows off (FULLCONV_NO_DW_NARROW): 3×3
                                    * stride 1 up to 40 wide, 5×5 stride 1 and 2 — the flat, row
                                    * or 16-channel passes instead (3×3 same values) */
    int64_t in_cs;                 /* floats from one input plane to the next: 0 for H·W; set when
                                    * the input is a band of rows of a larger map (a depthwise conv
                                    * fused into the 1×1 after it, conv_fast.c) */
    int64_t out_cs;                /* floats from one output plane to the next: 0 for Ho·Wo; set
                                    * when the output is a band of rows of a larger map (fused
                                    * expansions, conv_fast.c); the flat-plane kernels take none */
} fcn_dw_args;
static inline int64_t fcn_dw_out_cs(const fcn_dw_args *a) { return a->out_cs ? a->out_cs : a->Ho * a->Wo; }
static inline int64_t fcn_dw_in_cs(const fcn_dw_args *a) { return a->in_cs ? a->in_cs : a->H * a->W; }
void fcn_dwconv_ref(const fcn_dw_args *a, int64_t c0, int64_t c1);
void fcn_dwconv_avx2(const fcn_dw_args *a, int64_t c0, int64_t c1);
size_t fcn_dw_work_floats(const fcn_dw_args *a);
/* 3×3, dilation-1, stride-1 or -2 (sh == sw) depthwise conv with AVX-512, any padding and
 * activation: 16 columns per zmm, two output rows per pass, read straight from the input (the
 * padding is masked-off lanes; no plane copy). a->work is used only for rows wider than
 * FCN_DW_ZERO_ROW floats, as a zero row of W floats. Called by fcn_dwconv_avx2 when
 * fcn_avx512_enabled(). */
#define FCN_DW_ZERO_ROW 4096

/* A 1×1 convolution over a small map with the output channels in the lanes and the input
 * pixels broadcast (pointwise_avx512.c): C[M × N] = A · B + bias (+ residual), activation NONE,
 * RELU, CLIP (others applied after), for columns [n0, n1). A packed by fcn_pack_a_mr(..., 16)
 * (the AVX-512 GEMM's panels); B read in place, row k at b + k·ldb; T a per-thread buffer of
 * fcn_pwb_work_floats(n1 − n0) floats, 64-byte aligned. Every output is summed in k order within
 * FCN_KC blocks, the blocks added in order: the same bits at any column split. */
#define FCN_PWB_MAX_N 1024
typedef struct fcn_pwb_args {
    const float *a_packed; int64_t M, K;
    const float *b; int64_t ldb;
    float *c; int64_t ldc;
    const float *bias, *residual;
    int act; float act_alpha, act_beta;
} fcn_pwb_args;
void fcn_pwb_avx512(const fcn_pwb_args *a, int64_t n0, int64_t n1, float *T);
size_t fcn_pwb_work_floats(int64_t cols);

/* Direct grouped convolution (gconv_avx512.c): 1 < group < C, C/group <= FCN_GCONV_MAX_CG,
 * dilation 1, stride 1 or 2, kernels up to 7×7, AVX-512. Weights packed by fcn_gconv_pack;
 * one image; tasks t in [t0, t1) of group · ceil((K/group)/16) · fcn_gconv_rows(). */
#define FCN_GCONV_MAX_CG 64
typedef struct fcn_gconv_args {
    const float *in; float *out; const float *wp; const float *bias;
    int64_t C, H, W, K, Ho, Wo, kh, kw, s, ph, pw, group;
    int act; float act_alpha, act_beta;
    int no_pair;                   /* stride 2 onto rows of <= 8: a row a vector (FULLCONV_NO_GCONV_PAIR=1) */
    int no_lanes;                  /* 16 outputs a group: the row path (FULLCONV_NO_GCONV_LANES=1) */
} fcn_gconv_args;
int fcn_gconv_applies(int64_t C, int64_t K, int64_t group, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh,
                      int64_t dw, int64_t Wo);
size_t fcn_gconv_packed_floats(int64_t K, int64_t C, int64_t group, int64_t kh, int64_t kw);
void fcn_gconv_pack(const float *w, int64_t K, int64_t C, int64_t group, int64_t kh, int64_t kw, float *wp);
void fcn_gconv_avx512(const fcn_gconv_args *a, int64_t t0, int64_t t1);
/* The task rows per (group, block of 16 outputs): Ho, or the flat vectors of a small map. */
int64_t fcn_gconv_rows(const fcn_gconv_args *a);
void fcn_dw3x3_avx512(const fcn_dw_args *a, int64_t c0, int64_t c1);
/* fcn_dw3x3_avx512 takes small "same" stride-1 planes (<= 256 pixels) as flat vectors */
int fcn_dw3x3_flat_ok(const fcn_dw_args *a);
/* Depthwise passes rolled down the rows (dwconv_avx512.c), each input row loaded once and fed
 * to every output row that reads it; where they apply the 16-channel kernel does not:
 *   fcn_dw5x5_s2roll_ok: 5×5 stride 2 onto rows of FCN_DW_S2ROLL_MIN_WO or more, strips of 16;
 *   fcn_dw5x5_roll_ok:   5×5 stride 1 over 16 columns, strips of 16;
 *   fcn_dw_pair_ok:      3×3/5×5 "same" planes up to 7 wide, or stride 2 onto rows of up to 7,
 *                        two channels a vector. */
#ifndef FCN_DW_S2ROLL_MIN_WO
#define FCN_DW_S2ROLL_MIN_WO 13
#endif
int fcn_dw5x5_s2roll_ok(const fcn_dw_args *a);
int fcn_dw5x5_roll_ok(const fcn_dw_args *a);
int fcn_dw_pair_ok(const fcn_dw_args *a);
/* 5×5 stride-1 "same" planes FCN_DW_NARROW_MIN_W..16 wide: the one-vector-a-row pass (not the 16-channel kernel) */
#define FCN_DW_NARROW_MIN_W 10
int fcn_dw5x5_narrow_ok(const fcn_dw_args *a);
/* Any kh, kw <= FCN_DWK_MAX, dilation 1, stride 1 or 2 (sh == sw) with AVX-512: R output rows ×
 * Q vectors of 16 columns a pass, straight from the input (masked loads), no work buffer.
 * fcn_dwconv_avx2 calls it for what fcn_dw3x3_avx512 does not take. */
#define FCN_DWK_MAX 7
int fcn_dwk_avx512_applies(const fcn_dw_args *a);
void fcn_dwk_avx512(const fcn_dw_args *a, int64_t c0, int64_t c1);

/* Any kh, kw <= FCN_DWK_MAX, dilation 1, stride 1 or 2 with AVX-512 on maps of at most
 * FCN_DWC16_MAX_OUT output pixels, 16 channels per zmm through a transposed, zero-bordered
 * copy of each block of 16 planes (dwconv_c16_avx512.c); a->work holds
 * fcn_dwc16_work_floats(a) floats, 64-byte aligned. fcn_dwconv_avx2 calls it when a->c16. */
#define FCN_DWC16_MAX_OUT 1024
int fcn_dwc16_applies(const fcn_dw_args *a);
size_t fcn_dwc16_work_floats(const fcn_dw_args *a);
void fcn_dwc16_avx512(const fcn_dw_args *a, int64_t c0, int64_t c1);

/* Direct convolution for at most FCN_STEM_MAX_C input channels (network stems), K a multiple
 * of 16, kernels up to 11×11, stride 1 to 4, dilation 1, AVX-512 (stem_avx512.c): no im2col,
 * each input value broadcast into up to 4 blocks of 16 output channels × 6–24 pixels. Weights
 * packed by fcn_stem_pack; fcn_stem_rows computes output rows [oy0, oy1) of one image with a
 * work buffer of fcn_stem_work_floats floats (64-byte aligned, one per thread). */
#define FCN_STEM_MAX_C 4
typedef struct fcn_stem_args {
    const float *in; float *out; const float *wp; const float *bias;
    int64_t C, H, W, K, Ho, Wo, kh, kw, s, ph, pw;
    int act; float act_alpha, act_beta;
    /* A fused MaxPool (pkh > 0): `out` is the pooled map, PHo × PWo; window pkh × pkw, strides
     * psh, psw, leading pads pph, ppw (every window must overlap the conv's map); act NONE,
     * RELU or CLIP. fcn_stem_pool_rows computes its rows. */
    int64_t pkh, pkw, psh, psw, pph, ppw, PHo, PWo;
    /* Without a pool: 0 computes 16 pixels of a channel a vector, rows stored as they are; 1
     * 16 channels a vector, rows transposed out (FULLCONV_NO_STEM_PLANAR=1). With a pool,
     * always the latter. */
    int transposed;
} fcn_stem_args;
int fcn_stem_applies(int64_t C, int64_t K, int64_t group, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh,
                     int64_t dw, int64_t Wo);
size_t fcn_stem_packed_floats(int64_t K, int64_t C, int64_t kh, int64_t kw);
void fcn_stem_pack(const float *w, int64_t K, int64_t C, int64_t kh, int64_t kw, float *wp);
size_t fcn_stem_work_floats(const fcn_stem_args *a);
void fcn_stem_rows(const fcn_stem_args *a, int64_t oy0, int64_t oy1, float *work);
/* Pooled rows [py0, py1) of conv + MaxPool in one pass (a->pkh > 0): conv rows go through a
 * ring of pkh rows in the per-thread work buffer and are pooled there, 16 channels a vector;
 * the conv's own map is never stored. */
void fcn_stem_pool_rows(const fcn_stem_args *a, int64_t py0, int64_t py1, float *work);
/* 1 if every pooling window of a (pkh > 0) overlaps the conv's map */
int fcn_stem_pool_fits(const fcn_stem_args *a);

/* Fast paths installed by fcn_fast_prepare (select.c). Each returns 1 if installed, 0 if
 * not applicable, -1 on error. */
int fcn_fast_conv_prepare(fcn_node *n, fc_error *err);
int fcn_fast_gemm_prepare(fcn_node *n, fc_error *err);
int fcn_fast_pool_prepare(fcn_node *n, fc_error *err);   /* MaxPool, GlobalAveragePool, Add */
/* Residual fusion (session.c): a conv on the GEMM or Winograd path with no activation of its
 * own takes over a following same-shape Add: out = act(conv + residual). Returns 1 when the
 * conv's fast path can do it (it then writes where it was told, the caller rewires outputs),
 * 0 otherwise (nothing changed). */
int fcn_fast_conv_fuse_residual(fcn_node *n, const fcn_tensor *residual, int act, float alpha, float beta);
/* MaxPool fusion (session.c): a conv on the stem path whose output only a MaxPool on the
 * maxpool fast path reads computes the pooled map itself (fcn_stem_pool_rows). Returns 1 when
 * it can (it then writes the pool's output: the caller rewires outputs and mutes the pool), 0
 * otherwise (nothing changed). */
int fcn_fast_conv_fuse_maxpool(fcn_node *n, const fcn_node *pool);
/* BatchNormalization fusion (session.c): a 1×1 stride-1 conv (one group, GEMM path) whose
 * input only a BatchNormalization (fast path; activation none, ReLU or a clip) makes applies
 * it while packing B (fcn_pack_b_affine). Returns 1 when it can (the caller points the conv at
 * the BN's input and mutes the BN), 0 otherwise (nothing changed). */
int fcn_fast_conv_fuse_pre_bn(fcn_node *n, const fcn_node *bn);
/* A 1×1 conv (xn, on the GEMM path, stride 1, no residual or fused BN) whose output only the
 * stride-2 depthwise conv n reads, when that output is too large for L2: n computes it band by
 * band itself (conv_fast.c). Returns 1 when fused; the session then feeds n xn's input and
 * turns xn into a no-op. */
int fcn_fast_conv_fuse_expand(fcn_node *n, const fcn_node *xn);
/* n a 1×1 conv on the GEMM path, dn the depthwise conv before it: n computes dn band by band */
int fcn_fast_conv_fuse_dw(fcn_node *n, const fcn_node *dn);
/* In-place convs (session.c, plan_conv_in_place): 1 when n's output may be planned over its
 * input, starting where the input starts (the buffer made as large as the larger of the two):
 * a 1×1 stride-1 conv on the plain GEMM path (no fused BatchNormalization, not the
 * pointwise-lanes kernel) over at most FCN_KC channels (into any number on one image, as many
 * on several), which detects it at run time and writes through fcn_gemm.over_b; or a grouped
 * 3×3 conv through Winograd with as many channels out as in (each group's map is transformed
 * whole before its outputs are written over it). */
int fcn_fast_conv_in_place(const fcn_node *n);
/* The per-channel (scale, shift) pairs of a BatchNormalization on its fast path, or NULL. */
const float *fcn_fast_bn_ab(const fcn_node *n);
/* The MaxPool's fast-path arguments (pointers unset), or NULL when n is not on that path. */
const struct fcn_pool_args *fcn_fast_maxpool_args(const fcn_node *n);
/* Lowers a fast conv's scratch to at most `budget` bytes where its algorithm can (Winograd:
 * smaller blocks of tile rows, each streaming the transformed weights once more); returns the
 * node's scratch_bytes after. */
size_t fcn_fast_conv_fit_scratch(fcn_node *n, size_t budget);
/* For the tests: 1 when the node runs Winograd in blocks shared by the threads (the memory
 * fallback of winograd.c), else 0. */
int fcn_fast_conv_wino_shared(const fcn_node *n);

#endif
