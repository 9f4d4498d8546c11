/* conv_fast.c — the convolution algorithm chooser and its fast paths.
 *
 * Rules (checked in this order, per layer, at session creation):
 *   depthwise   group == C == K                      direct kernel, vectorized along x
 *   gemv        output 1×1 and the kernel covers the whole unpadded input (an FC turned into
 *               a conv by --fc-to-conv): the im2col column IS the input, so the layer is a
 *               matrix–vector product that streams each weight once
 *   winograd    3×3, stride 1, dilation 1, group 1, C >= 16, K >= 16, F(4×4,3×3) or
 *               F(2×2,3×3) when the cost model of winograd_tile says it beats the GEMM
 *               (winograd_avx2.c): F(4×4) on large maps, F(2×2) on 13×13/14×14 ones, the
 *               GEMM on 7×7 maps, where the transformed weights (4× or 1.8× the originals)
 *               would be streamed from memory for too few tiles.
 *   stem        group 1, C <= 4, K a multiple of 16, kernel <= 11×11, stride 1–4, Wo >= 16,
 *               AVX-512 (stem_avx512.c): direct, each input value broadcast into 4 × 16 output
 *               channels × 6 pixels (the GEMM was 27–147 deep and packed an im2col of the map)
 *   grouped     1 < group < C, C/group <= 64, stride 1 or 2, AVX-512 (gconv_avx512.c): a direct
 *               kernel, 16 columns × 16 output channels of a group in registers (RegNet,
 *               ResNeXt: per group the GEMM's im2col cost as much as its product)
 *   gemm        everything else: per group, Out[K_g × HoWo] = W[K_g × C_g·kh·kw] · im2col,
 *               with the im2col matrix never materialized (packed straight from the image,
 *               im2col_avx2.c)
 * Weights are repacked once here; the reference conv stays the fallback and the test oracle. */
#include <stdlib.h>
#include <string.h>
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/pool.h"
#include "runtime/kernels/winograd.h"

#define WINO_TIE 1.10                /* a near-tie: within 10 % of the best cost */
#define FUSE_EXPAND_MIN_BYTES (2.0 * 1024 * 1024)      /* expanded maps fused into the depthwise conv */
#define FUSE_EXPAND_BAND_BYTES (768.0 * 1024)           /* a band's expanded rows */
#define FUSE_DW_MIN_BYTES (1.0 * 1024 * 1024)          /* depthwise outputs fused into the 1×1 after them */
#define FUSE_DW_BAND_BYTES (256.0 * 1024)               /* a band's depthwise output rows */
#define WINO_BIG_WEIGHTS (4.0 * 1024 * 1024)   /* bytes of transformed weights worth saving */
#define WINO_STREAM_US 37.5          /* µs per MB of big weights streamed from memory */
#define WINO_STREAM_US_AMD 0.0       /* Zen 4: the stream hides behind the arithmetic (KERNELS.md) */

typedef enum { CONV_GEMM, CONV_GEMV, CONV_DW, CONV_WINO, CONV_GROUPED, CONV_STEM, CONV_COLS } conv_algo;

typedef struct conv_fast {
    conv_algo algo;
    int64_t N, C, H, W, K, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw, group;
    float *a_packed;               /* gemm: per group, fcn_pack_a_floats(K_g, C_g*kh*kw) each */
    int a_borrowed;                /* a_packed is the file's prepacked blob: not ours to free */
    size_t a_group_floats;
    const float *weights;          /* gemv / dw: the (constant) weights in place */
    const float *bias;             /* may be NULL */
    const fcn_tensor *residual;    /* fused residual Add (fcn_fast_conv_fuse_residual), or NULL */
    fcn_ukernel_fn ukernel;
    int mr;                        /* A panel rows of ukernel */
    size_t dw_work;                /* depthwise: work floats per thread (64-byte multiple) */
    fcn_wino_plan wino;
    int dw_c16;                    /* depthwise: the 16-channel kernel (fcn_dw_args.c16) */
    int dw_c16_planes;             /* ... writing the outputs plane by plane (fcn_dw_args.c16_planes) */
    int dw_no_slide;               /* fcn_dw_args.no_slide */
    int dw_no_narrow;              /* fcn_dw_args.no_narrow */
    int stem_transposed;           /* fcn_stem_args.transposed */
    int pwb;                       /* gemm, pointwise, small map: fcn_pwb_avx512 (unless a BN is fused) */
    int64_t pwb_band;              /* pixels a task (all of them on one thread) */
    size_t pwb_work;               /* floats of T a thread */
    int gconv_no_pair;             /* fcn_gconv_args.no_pair */
    int gconv_no_lanes;            /* fcn_gconv_args.no_lanes */
    int direct_b;                  /* 1×1: the AVX-512 tile may read the input in place (fcn_gemm.b_direct) */
    int pack_in_tile;              /* 1×1: the first panel of rows packs B as it reads it (fcn_gemm) */
    int gemv_warm;                 /* CONV_GEMV through fcn_gemv_warm_avx2 (fcn_node.weights_warm) */
    int pack_s2;                   /* 1×1 stride 2, no padding: B packed row by row (fcn_pack_1x1s2_avx512) */
    int gemm_stack;                /* gemm: B's blocks packed on the stack (FCN_GEMM_STACK_FLOATS) */
    /* depthwise: a fused 1×1 expansion before it (fcn_fast_conv_fuse_expand), or NULL; output
     * rows a band, bands, floats of a thread's work (band, GEMM scratch, depthwise work) */
    const fcn_node *xn;
    int64_t x_rows, x_bands;
    size_t x_band_floats, x_gemm_floats, x_work;
    /* pointwise: a fused depthwise conv before it (fcn_fast_conv_fuse_dw), or NULL; its output
     * rows a band, bands, floats of a thread's work (band, GEMM scratch, depthwise work) */
    const fcn_node *dn;
    int64_t d_rows, d_bands;
    size_t d_band_floats, d_gemm_floats, d_work;
    /* 1×1 stride 2: output rows a band, bands, floats of a thread's work (band, GEMM scratch) */
    int64_t s_rows, s_bands;
    size_t s_band_floats, s_work;
    fcn_pool_args pool;            /* stem: a fused MaxPool (fcn_fast_conv_fuse_maxpool) if pool.kh > 0 */
    const float *pre_ab;           /* gemm, pointwise: a fused BatchNormalization's (scale, shift) */
    int pre_act;                   /* and its activation */
    float pre_alpha, pre_beta;
    int w_layout;                  /* FCN_ATTR_W_LAYOUT 1: weights input-major [C][kh][kw][K] (GEMM, cols only) */
    fcn_cols cols;                 /* cols: the input-major product, four images at a time */
} conv_fast;

static void conv_fast_free_parts(conv_fast *cf)
{
    if (!cf->a_borrowed) free(cf->a_packed);
    if (!cf->wino.u_borrowed) free(cf->wino.u_packed);
    fcn_cols_free(&cf->cols);
}

static void conv_fast_free(void *p)
{
    if (p) conv_fast_free_parts(p);
    free(p);
}

/* The file's prepacked blob for this node (n->given) when it is exactly what the kernel would
 * pack here — same kind and parameter, `floats` floats, 64-byte aligned — else NULL. */
static float *take_given(const fcn_node *n, uint32_t kind, uint32_t param, size_t floats)
{
    const fcn_prepacked *g = &n->given;
    if (!g->data || g->kind != kind || g->param != param || g->bytes != floats * sizeof(float) ||
        (uintptr_t)g->data % 64)
        return NULL;
    return (float *)g->data;   /* the kernels only read it */
}

/* ---- run ---------------------------------------------------------------------------- */
/* a 1×1 conv over a small map, the output channels in the lanes (pointwise_avx512.c): on two
 * threads, each a band of the pixels (16-pixel multiples) with its own T (see cf.pwb) */
typedef struct pwb_task { const fcn_node *n; const conv_fast *cf; int64_t b, band; } pwb_task;

static void pwb_range(void *vctx, int64_t i0, int64_t i1, int tid)
{
    const pwb_task *t = vctx;
    const conv_fast *cf = t->cf;
    const int64_t N = cf->Ho * cf->Wo;
    /* the output planned over the residual (it dies here): read in place, each row before it
     * is written */
    const float *res = cf->residual ? cf->residual->data : NULL;
    fcn_pwb_args a = { .a_packed = cf->a_packed, .M = cf->K, .K = cf->C,
                       .b = (const float *)t->n->in[0]->data + t->b * cf->C * N, .ldb = N,
                       .c = (float *)t->n->out[0]->data + t->b * cf->K * N, .ldc = N,
                       .bias = cf->bias, .residual = res ? res + t->b * cf->K * N : NULL,
                       .act = t->n->act, .act_alpha = t->n->act_alpha, .act_beta = t->n->act_beta };
    int64_t n0 = i0 * t->band, n1 = i1 * t->band < N ? i1 * t->band : N;
    if (n0 < n1) fcn_pwb_avx512(&a, n0, n1, (float *)t->n->scratch + (size_t)tid * cf->pwb_work);
}

static void run_pwb(const fcn_node *n, const conv_fast *cf, const fcn_exec *x)
{
    const int64_t N = cf->Ho * cf->Wo;
    for (int64_t b = 0; b < cf->N; b++) {
        pwb_task t = { n, cf, b, cf->pwb_band };
        int64_t bands = (N + t.band - 1) / t.band;
        if (bands > 1) fcn_parallel_for(x, bands, pwb_range, &t);
        else pwb_range(&t, 0, 1, 0);
    }
}

static void run_gemm(fcn_node *n, const fcn_exec *x)
{
    const conv_fast *cf = n->fast;
    if (cf->pwb && !cf->pre_ab) {
        run_pwb(n, cf, x);
        return;
    }
    const float *in = n->in[0]->data;
    float *out = n->out[0]->data;
    int64_t cg = cf->C / cf->group, kg = cf->K / cf->group;
    int pointwise = cf->kh == 1 && cf->kw == 1 && cf->sh == 1 && cf->sw == 1 &&
                    cf->ph == 0 && cf->pw == 0 && cf->Ho == cf->H && cf->Wo == cf->W;
    /* the session may plan the output over the residual (it dies here): then the residual is
     * already in C and the product accumulates onto it */
    const float *res = cf->residual ? cf->residual->data : NULL;
    int in_place = res == out;
    /* or over the input, when this conv is its last reader (fcn_fast_conv_in_place) */
    int over_in = pointwise && (const float *)out == in;
    for (int64_t b = 0; b < cf->N; b++) {
        for (int64_t g = 0; g < cf->group; g++) {
            const float *img = in + (b * cf->C + g * cg) * cf->H * cf->W;
            fcn_im2col ic = { img, cf->H, cf->W, cf->kh, cf->kw, cf->sh, cf->sw,
                              cf->ph, cf->pw, cf->dh, cf->dw, cf->Wo };
            fcn_strided_b sb = { img, cf->H * cf->W, 1 };
            fcn_affine_b ab = { img, cf->H * cf->W, cf->pre_ab, cf->pre_act, cf->pre_alpha, cf->pre_beta };
            fcn_gemm gm = {
                .M = kg, .N = cf->Ho * cf->Wo, .K = cg * cf->kh * cf->kw,
                .a_packed = cf->a_packed + (size_t)g * cf->a_group_floats,
                .pack_b = cf->pre_ab ? fcn_pack_b_affine : pointwise ? fcn_pack_b_rows_avx2
                          : cf->pack_s2 ? fcn_pack_1x1s2_avx512 : fcn_pack_im2col_avx2,
                .pack_ctx = cf->pre_ab ? (const void *)&ab : pointwise ? (const void *)&sb : (const void *)&ic,
                .c = out + (b * cf->K + g * kg) * cf->Ho * cf->Wo,
                .ldc = cf->Ho * cf->Wo,
                .bias = cf->bias ? cf->bias + g * kg : NULL,
                .residual = res && !in_place ? res + (b * cf->K + g * kg) * cf->Ho * cf->Wo : NULL,
                .c_is_addend = in_place,
                .act = n->act, .act_alpha = n->act_alpha, .act_beta = n->act_beta,
                .scratch = cf->gemm_stack ? NULL : n->scratch, .ukernel = cf->ukernel, .mr = cf->mr,
            };
            if (pointwise && !cf->pre_ab) {   /* B's rows, read in place by the first panel or every tile */
                gm.b_direct = img;
                gm.ldb = cf->H * cf->W;
                if (cf->direct_b) gm.ukernel_ldb = fcn_ukernel_16x16_avx512_ldb;
                gm.pack_in_tile = cf->pack_in_tile;
                gm.over_b = over_in;
            }
            fcn_sgemm(&gm, x);
        }
    }
}

typedef struct gemv_task { const conv_fast *cf; const fcn_node *n; int64_t b0; int rows; } gemv_task;

static void gemv_range(void *vctx, int64_t m0, int64_t m1, int tid)
{
    (void)tid;
    const gemv_task *t = vctx;
    const conv_fast *cf = t->cf;
    int64_t K = cf->C * cf->H * cf->W;
    const float *xs[4];
    float *ys[4];
    for (int r = 0; r < t->rows; r++) {
        xs[r] = (const float *)t->n->in[0]->data + (t->b0 + r) * K;
        ys[r] = (float *)t->n->out[0]->data + (t->b0 + r) * cf->K;
    }
    (cf->gemv_warm ? fcn_gemv_warm_avx2 : fcn_gemv_avx2)(cf->weights, K, m0, m1, xs, t->rows, cf->bias, ys);
    for (int r = 0; r < t->rows; r++)
        fcn_act_apply(t->n->act, t->n->act_alpha, t->n->act_beta, ys[r] + m0, m1 - m0);
}

/* an FC turned convolution with its weight input-major (W_LAYOUT 1): only the weights of the
 * input's nonzero entries are read (fcn_cols_run), four images at a time */
static void run_cols(fcn_node *n, const fcn_exec *x)
{
    const conv_fast *cf = n->fast;
    fcn_cols_run(&cf->cols, n->in[0]->data, cf->N, cf->bias, n->out[0]->data, x);
    fcn_act_apply(n->act, n->act_alpha, n->act_beta, n->out[0]->data, cf->N * cf->K);
}

static void run_gemv(fcn_node *n, const fcn_exec *x)
{
    const conv_fast *cf = n->fast;
    for (int64_t b = 0; b < cf->N; b += 4) {
        gemv_task t = { cf, n, b, (int)(cf->N - b < 4 ? cf->N - b : 4) };
        fcn_parallel_for(x, cf->K, gemv_range, &t);
    }
}

typedef struct dw_task { const conv_fast *cf; const fcn_node *n; } dw_task;

static fcn_dw_args dw_args(const conv_fast *cf, const fcn_node *n, int64_t b, int tid)
{
    fcn_dw_args a = {
        .in = (const float *)n->in[0]->data + b * cf->C * cf->H * cf->W,
        .out = (float *)n->out[0]->data + b * cf->K * cf->Ho * cf->Wo,
        .w = cf->weights, .bias = cf->bias,
        .H = cf->H, .W = cf->W, .Ho = cf->Ho, .Wo = cf->Wo, .kh = cf->kh, .kw = cf->kw,
        .sh = cf->sh, .sw = cf->sw, .ph = cf->ph, .pw = cf->pw, .dh = cf->dh, .dw = cf->dw,
        .act = n->act, .act_alpha = n->act_alpha, .act_beta = n->act_beta,
    };
    a.work = cf->dw_work ? (float *)n->scratch + (size_t)tid * cf->dw_work : NULL;
    a.c16 = cf->dw_c16;
    a.c16_planes = cf->dw_c16_planes;
    a.no_slide = cf->dw_no_slide;
    a.no_narrow = cf->dw_no_narrow;
    return a;
}

/* Tasks enumerate (image, pair of channels 2j, 2j + 1): the kernels take two channels a pass
 * from the first of their range (planes_pair, the flat 5×5 passes), and a channel alone goes
 * through another pass (other sums), so a range may only start on an even channel. Cut at any
 * channel, a range the thread pool's stealing started on an odd one changed the bits from run
 * to run (MobileNetV3-small and EfficientNet-B0 at two threads, their 5×5 stride-2 layers). */
static void dw_range(void *vctx, int64_t begin, int64_t end, int tid)
{
    const dw_task *t = vctx;
    const conv_fast *cf = t->cf;
    const int64_t pairs = (cf->C + 1) / 2;
    for (int64_t i = begin; i < end;) {
        int64_t b = i / pairs, j0 = i % pairs, j1 = pairs;
        if (b * pairs + j1 > end) j1 = end - b * pairs;
        int64_t c1 = 2 * j1 < cf->C ? 2 * j1 : cf->C;
        fcn_dw_args a = dw_args(cf, t->n, b, tid);
        fcn_dwconv_avx2(&a, 2 * j0, c1);
        i = b * pairs + j1;
    }
}

static void run_dw(fcn_node *n, const fcn_exec *x);

/* Bands of a fused pair's Ho output rows: about `target` bytes of rows of `row_bytes` each, as
 * many bands as a multiple of the threads (at most one a row), rows evened out over them. */
static void band_rows(int64_t Ho, double row_bytes, double target, int threads, int64_t *rows_out, int64_t *bands_out)
{
    int64_t rows = (int64_t)(target / row_bytes);
    if (rows < 1) rows = 1;
    if (rows > Ho) rows = Ho;
    int64_t bands = (Ho + rows - 1) / rows;
    bands = (bands + threads - 1) / threads * threads;
    if (bands > Ho) bands = Ho;
    rows = (Ho + bands - 1) / bands;
    *rows_out = rows;
    *bands_out = (Ho + rows - 1) / rows;
}

/* ---- a 1×1 expansion fused into the depthwise conv after it --------------------------------
 * MobileNetV2's 16→96 expansion at 112×112 writes 4.8 MB, more than L2, and the stride-2
 * depthwise layer reads it back from L3 (0.16 + 0.18 ms, the latter at 30 GFLOP/s against 75 for
 * stride 1). Fused, each band of output rows has the expansion computed for just the input rows
 * it reads, into a per-thread buffer that stays in L2, and the depthwise kernel runs on that
 * buffer as a map of its own (its output planes the whole map's, fcn_dw_args.out_cs): the expanded map is never stored, threads own
 * bands of rows (what the 1×1 convs around them own too), and the block is one parallel loop
 * instead of two. A band's first input row is the previous band's last one (stride 2, 3×3):
 * recomputed, 1 row in 2·rows + 1. The bands' products take the micro-kernel that sums every
 * column in k order (a narrow last tile of the whole map is summed in two halves, even and odd
 * k, by the plain one, and bands end elsewhere), so the results do not depend on the bands, and
 * so not on the thread count; they can differ from the unfused layers' in the last bit. */
static void dw_fused_range(void *vctx, int64_t i0, int64_t i1, int tid)
{
    const dw_task *t = vctx;
    const conv_fast *cf = t->cf;
    const fcn_node *xn = cf->xn;
    const conv_fast *xf = xn->fast;
    float *work = (float *)t->n->scratch + (size_t)tid * cf->x_work;
    float *band = work, *gs = band + cf->x_band_floats, *dwork = gs + cf->x_gemm_floats;
    for (int64_t i = i0; i < i1; i++) {
        int64_t b = i / cf->x_bands, oy0 = i % cf->x_bands * cf->x_rows;
        int64_t oy1 = oy0 + cf->x_rows < cf->Ho ? oy0 + cf->x_rows : cf->Ho;
        int64_t r0 = oy0 * cf->sh - cf->ph, r1 = (oy1 - 1) * cf->sh - cf->ph + (cf->kh - 1) * cf->dh + 1;
        if (r0 < 0) r0 = 0;
        if (r1 > cf->H) r1 = cf->H;   /* r1 > r0: every band starts inside the map (fuse_expand) */
        const float *img = (const float *)xn->in[0]->data + b * xf->C * xf->H * xf->W;
        fcn_strided_b sb = { img + r0 * xf->W, xf->H * xf->W, 1 };
        fcn_gemm gm = {
            .M = xf->K, .N = (r1 - r0) * xf->W, .K = xf->C, .a_packed = xf->a_packed,
            .pack_b = fcn_pack_b_rows_avx2, .pack_ctx = &sb, .c = band, .ldc = (r1 - r0) * xf->W,
            .bias = xf->bias, .act = xn->act, .act_alpha = xn->act_alpha, .act_beta = xn->act_beta,
            .ukernel = fcn_ukernel_16x16_avx512_ordered, .mr = xf->mr,
        };
        fcn_sgemm_serial(&gm, gs);
        fcn_dw_args a = dw_args(cf, t->n, b, tid);
        a.in = band;
        a.H = r1 - r0;
        a.ph = cf->ph + r0 - oy0 * cf->sh;
        a.out += oy0 * cf->Wo;
        a.Ho = oy1 - oy0;
        a.out_cs = cf->Ho * cf->Wo;
        a.work = cf->dw_work ? dwork : NULL;
        fcn_dwconv_avx2(&a, 0, cf->C);
    }
}

static void run_dw_fused(fcn_node *n, const fcn_exec *x)
{
    dw_task t = { n->fast, n };
    const conv_fast *cf = n->fast;
    fcn_parallel_for(x, cf->N * cf->x_bands, dw_fused_range, &t);
}

int fcn_fast_conv_fuse_expand(fcn_node *n, const fcn_node *xn)
{
    conv_fast *cf = n->run_fast == run_dw ? n->fast : NULL;
    const conv_fast *xf = xn->run_fast == run_gemm ? xn->fast : NULL;
    if (!cf || !xf || xf->ukernel != fcn_ukernel_16x16_avx512 || cf->sh != 2 || cf->sw != 2 || cf->dh != 1 ||
        cf->dw != 1)
        return 0;
    /* a plain pointwise conv: stride 1, no padding, one group, no residual, no fused BN */
    if (xf->kh != 1 || xf->kw != 1 || xf->sh != 1 || xf->sw != 1 || xf->ph != 0 || xf->pw != 0 || xf->group != 1 ||
        xf->residual || xf->pre_ab || xf->N != cf->N || xf->K != cf->C || xf->Ho != cf->H || xf->Wo != cf->W ||
        xf->H != xf->Ho || xf->W != xf->Wo)
        return 0;
    /* every band's first tap row inside the map (no band of bottom padding alone) */
    if ((cf->Ho - 1) * cf->sh - cf->ph >= cf->H) return 0;
    /* only where the expanded map does not stay in L2 */
    double bytes = (double)cf->C * (double)cf->H * (double)cf->W * 4.0;
    if (bytes < FUSE_EXPAND_MIN_BYTES) return 0;
    /* bands: about FUSE_EXPAND_BAND_BYTES of expanded rows, as many as a multiple of the threads */
    int threads = n->nthreads > 0 ? n->nthreads : 1;
    int64_t rows, bands;
    band_rows(cf->Ho, (double)cf->C * (double)cf->W * 4.0 * (double)cf->sh, FUSE_EXPAND_BAND_BYTES, threads, &rows, &bands);
    int64_t in_rows = (rows - 1) * cf->sh + (cf->kh - 1) * cf->dh + 1;
    if (in_rows > cf->H) in_rows = cf->H;
    cf->xn = xn;
    cf->x_rows = rows;
    cf->x_bands = bands;
    cf->x_band_floats = ((size_t)(cf->C * in_rows * cf->W) + 15) & ~(size_t)15;
    cf->x_gemm_floats = (fcn_gemm_scratch_floats(xf->C, in_rows * cf->W) + 15) & ~(size_t)15;
    cf->x_work = cf->x_band_floats + cf->x_gemm_floats + cf->dw_work;
    n->scratch_bytes = (size_t)threads * cf->x_work * sizeof(float);
    n->run_fast = run_dw_fused;
    n->kernel = "1x1+dwconv-avx512";
    return 1;
}

/* ---- a depthwise conv fused into the 1×1 conv after it ------------------------------------
 * MnasNet's and MobileNetV2's first block: a 3×3 depthwise conv over 32 channels at 112×112
 * writes 1.6 MB and the 32→16 projection reads it back (87 + 86 µs, both at L3 speed; on two
 * threads the projection's columns were written by the other core's channels: 70 µs). Fused,
 * each band of rows has the depthwise conv computed into a per-thread buffer that stays in L2
 * (the depthwise kernels read the band's input rows as a view of the map: fcn_dw_args.in_cs)
 * and the 1×1 conv multiplies that buffer into its output rows: the depthwise output is never
 * stored, a thread's band of the 1×1 reads only what that thread computed, and the two layers
 * are one parallel loop. Every depthwise output is computed once (bands share input rows, not
 * outputs). The bands' products take the micro-kernel that sums every column in k order, so the
 * results do not depend on the bands or the thread count. */
static void pw_fused_range(void *vctx, int64_t i0, int64_t i1, int tid)
{
    const dw_task *t = vctx;
    const conv_fast *cf = t->cf;
    const fcn_node *dn = cf->dn;
    const conv_fast *df = dn->fast;
    float *work = (float *)t->n->scratch + (size_t)tid * cf->d_work;
    float *band = work, *gs = band + cf->d_band_floats, *dwork = gs + cf->d_gemm_floats;
    const float *res = cf->residual ? cf->residual->data : NULL;
    float *out = t->n->out[0]->data;
    int in_place = res == out;
    for (int64_t i = i0; i < i1; i++) {
        int64_t b = i / cf->d_bands, oy0 = i % cf->d_bands * cf->d_rows;
        int64_t oy1 = oy0 + cf->d_rows < df->Ho ? oy0 + cf->d_rows : df->Ho;
        int64_t r0 = oy0 * df->sh - df->ph, r1 = (oy1 - 1) * df->sh - df->ph + (df->kh - 1) * df->dh + 1;
        if (r0 < 0) r0 = 0;
        if (r1 > df->H) r1 = df->H;   /* r1 > r0: every band reads a row of the map (fuse_dw) */
        fcn_dw_args a = {
            .in = (const float *)dn->in[0]->data + (b * df->C * df->H + r0) * df->W, .out = band,
            .w = df->weights, .bias = df->bias, .H = r1 - r0, .W = df->W, .Ho = oy1 - oy0, .Wo = df->Wo,
            .kh = df->kh, .kw = df->kw, .sh = df->sh, .sw = df->sw, .ph = df->ph + r0 - oy0 * df->sh, .pw = df->pw,
            .dh = df->dh, .dw = df->dw, .act = dn->act, .act_alpha = dn->act_alpha, .act_beta = dn->act_beta,
            .work = df->dw_work ? dwork : NULL, .c16 = df->dw_c16, .c16_planes = 0, .no_slide = df->dw_no_slide,
            .no_narrow = df->dw_no_narrow, .in_cs = df->H * df->W,
        };
        fcn_dwconv_avx2(&a, 0, df->C);
        int64_t px = (oy1 - oy0) * df->Wo, plane = cf->Ho * cf->Wo;
        fcn_strided_b sb = { band, px, 1 };
        float *c = out + b * cf->K * plane + oy0 * cf->Wo;
        fcn_gemm gm = {
            .M = cf->K, .N = px, .K = cf->C, .a_packed = cf->a_packed, .pack_b = fcn_pack_b_rows_avx2, .pack_ctx = &sb,
            .c = c, .ldc = plane, .bias = cf->bias,
            .residual = res && !in_place ? res + b * cf->K * plane + oy0 * cf->Wo : NULL, .c_is_addend = in_place,
            .act = t->n->act, .act_alpha = t->n->act_alpha, .act_beta = t->n->act_beta,
            .ukernel = fcn_ukernel_16x16_avx512_ordered, .mr = cf->mr,
            /* the band is this thread's own, in L2: read in place where the panels are few */
            .b_direct = band, .ldb = px, .ukernel_ldb = fcn_ukernel_16x16_avx512_ordered_ldb,
        };
        fcn_sgemm_serial(&gm, gs);
    }
}

static void run_pw_fused(fcn_node *n, const fcn_exec *x)
{
    dw_task t = { n->fast, n };
    const conv_fast *cf = n->fast;
    fcn_parallel_for(x, cf->N * cf->d_bands, pw_fused_range, &t);
}

int fcn_fast_conv_fuse_dw(fcn_node *n, const fcn_node *dn)
{
    conv_fast *cf = n->run_fast == run_gemm ? n->fast : NULL;
    const conv_fast *df = dn->run_fast == run_dw ? dn->fast : NULL;
    if (!cf || !df || cf->ukernel != fcn_ukernel_16x16_avx512 || cf->kh != 1 || cf->kw != 1 || cf->sh != 1 ||
        cf->sw != 1 || cf->ph != 0 || cf->pw != 0 || cf->group != 1 || cf->pre_ab || cf->N != df->N ||
        cf->C != df->K || cf->H != df->Ho || cf->W != df->Wo || cf->Ho != cf->H || cf->Wo != cf->W)
        return 0;
    /* every band's first tap row inside the map */
    if ((df->Ho - 1) * df->sh - df->ph >= df->H) return 0;
    /* only where the depthwise output does not stay in L2 */
    double bytes = (double)df->K * (double)df->Ho * (double)df->Wo * 4.0;
    if (bytes < FUSE_DW_MIN_BYTES) return 0;
    int threads = n->nthreads > 0 ? n->nthreads : 1;
    int64_t rows, bands;
    band_rows(df->Ho, (double)df->K * (double)df->Wo * 4.0, FUSE_DW_BAND_BYTES, threads, &rows, &bands);
    cf->dn = dn;
    cf->d_rows = rows;
    cf->d_bands = bands;
    cf->d_band_floats = ((size_t)(df->K * rows * df->Wo) + 15) & ~(size_t)15;
    cf->d_gemm_floats = (fcn_gemm_scratch_floats(cf->C, rows * df->Wo) + 15) & ~(size_t)15;
    cf->d_work = cf->d_band_floats + cf->d_gemm_floats + df->dw_work;
    n->scratch_bytes = (size_t)threads * cf->d_work * sizeof(float);
    n->run_fast = run_pw_fused;
    n->kernel = "dwconv+1x1-avx512";
    return 1;
}

/* ---- a 1×1 convolution with stride 2 onto wide maps, band by band ------------------------------
 * (RegNet's first projection, 32 channels 112×112 → 56×56.) Through the GEMM its B panels were
 * packed from every second pixel of every second row, panels that cross an output row by
 * gathers. Here each band of output rows first takes its input pixels into a dense per-thread
 * band (fcn_subsample2_avx512, a permute per 16 pixels), which the 1×1 GEMM then reads in place
 * with the ordered tile: every column summed in k order, so the bits do not depend on the bands
 * or the threads. Per-node minima (ms, 1 / 2 threads): that projection 0.072 → 0.062 / 0.052 →
 * 0.039; onto 28×28 and smaller maps (ResNets' downsamples, RegNet's later projections) the
 * packed GEMM stays faster (ResNet-18's 512-channel 7×7 one 0.048 → 0.071 at 2 threads), hence
 * SUBSAMPLE_MIN_WO. */
enum { SUBSAMPLE_MIN_WO = 48 };

static void sub_range(void *vctx, int64_t i0, int64_t i1, int tid)
{
    const dw_task *t = vctx;
    const conv_fast *cf = t->cf;
    float *band = (float *)t->n->scratch + (size_t)tid * cf->s_work, *gs = band + cf->s_band_floats;
    const float *res = cf->residual ? cf->residual->data : NULL;
    float *out = t->n->out[0]->data;
    int in_place = res == out;
    for (int64_t i = i0; i < i1; i++) {
        int64_t b = i / cf->s_bands, oy0 = i % cf->s_bands * cf->s_rows;
        int64_t oy1 = oy0 + cf->s_rows < cf->Ho ? oy0 + cf->s_rows : cf->Ho;
        int64_t px = (oy1 - oy0) * cf->Wo, plane = cf->Ho * cf->Wo;
        fcn_subsample2_avx512((const float *)t->n->in[0]->data + b * cf->C * cf->H * cf->W, cf->C, cf->H * cf->W, cf->W,
                              oy0, oy1, cf->Wo, band);
        fcn_strided_b sb = { band, px, 1 };
        fcn_gemm gm = {
            .M = cf->K, .N = px, .K = cf->C, .a_packed = cf->a_packed, .pack_b = fcn_pack_b_rows_avx2, .pack_ctx = &sb,
            .c = out + b * cf->K * plane + oy0 * cf->Wo, .ldc = plane, .bias = cf->bias,
            .residual = res && !in_place ? res + b * cf->K * plane + oy0 * cf->Wo : NULL, .c_is_addend = in_place,
            .act = t->n->act, .act_alpha = t->n->act_alpha, .act_beta = t->n->act_beta,
            .ukernel = fcn_ukernel_16x16_avx512_ordered, .mr = cf->mr,
            .b_direct = band, .ldb = px, .ukernel_ldb = fcn_ukernel_16x16_avx512_ordered_ldb,
        };
        fcn_sgemm_serial(&gm, gs);
    }
}

static void run_sub(fcn_node *n, const fcn_exec *x)
{
    dw_task t = { n->fast, n };
    const conv_fast *cf = n->fast;
    fcn_parallel_for(x, cf->N * cf->s_bands, sub_range, &t);
}

static void run_dw(fcn_node *n, const fcn_exec *x)
{
    dw_task t = { n->fast, n };
    const conv_fast *cf = n->fast;
    fcn_parallel_for(x, cf->N * ((cf->C + 1) / 2), dw_range, &t);
}

typedef struct gconv_task { const conv_fast *cf; const fcn_node *n; int64_t b; } gconv_task;

static fcn_gconv_args gconv_args(const conv_fast *cf, const fcn_node *n, int64_t b)
{
    fcn_gconv_args a = {
        .in = (const float *)n->in[0]->data + b * cf->C * cf->H * cf->W,
        .out = (float *)n->out[0]->data + b * cf->K * cf->Ho * cf->Wo,
        .wp = cf->a_packed, .bias = cf->bias,
        .C = cf->C, .H = cf->H, .W = cf->W, .K = cf->K, .Ho = cf->Ho, .Wo = cf->Wo, .kh = cf->kh, .kw = cf->kw,
        .s = cf->sh, .ph = cf->ph, .pw = cf->pw, .group = cf->group,
        .act = n->act, .act_alpha = n->act_alpha, .act_beta = n->act_beta, .no_pair = cf->gconv_no_pair,
        .no_lanes = cf->gconv_no_lanes,
    };
    return a;
}

static void gconv_range(void *vctx, int64_t t0, int64_t t1, int tid)
{
    (void)tid;
    const gconv_task *t = vctx;
    fcn_gconv_args a = gconv_args(t->cf, t->n, t->b);
    fcn_gconv_avx512(&a, t0, t1);
}

static void run_grouped(fcn_node *n, const fcn_exec *x)
{
    const conv_fast *cf = n->fast;
    fcn_gconv_args a = gconv_args(cf, n, 0);
    int64_t tasks = cf->group * ((cf->K / cf->group + 15) / 16) * fcn_gconv_rows(&a);
    for (int64_t b = 0; b < cf->N; b++) {
        gconv_task t = { cf, n, b };
        fcn_parallel_for(x, tasks, gconv_range, &t);
    }
}

typedef struct stem_task { fcn_stem_args a; float *scratch; size_t work; } stem_task;

static fcn_stem_args stem_args(const conv_fast *cf, const fcn_node *n, int64_t b)
{
    const fcn_pool_args *p = &cf->pool;
    int64_t out_plane = p->kh > 0 ? p->Ho * p->Wo : cf->Ho * cf->Wo;   /* a fused pool: the pooled map */
    fcn_stem_args a = {
        .in = (const float *)n->in[0]->data + b * cf->C * cf->H * cf->W,
        .out = (float *)n->out[0]->data + b * cf->K * out_plane,
        .wp = cf->a_packed, .bias = cf->bias,
        .C = cf->C, .H = cf->H, .W = cf->W, .K = cf->K, .Ho = cf->Ho, .Wo = cf->Wo, .kh = cf->kh, .kw = cf->kw,
        .s = cf->sh, .ph = cf->ph, .pw = cf->pw,
        .act = n->act, .act_alpha = n->act_alpha, .act_beta = n->act_beta, .transposed = cf->stem_transposed,
    };
    if (p->kh > 0) {
        a.pkh = p->kh; a.pkw = p->kw; a.psh = p->sh; a.psw = p->sw; a.pph = p->ph; a.ppw = p->pw;
        a.PHo = p->Ho; a.PWo = p->Wo;
    }
    return a;
}

static void stem_rows_range(void *vctx, int64_t y0, int64_t y1, int tid)
{
    const stem_task *t = vctx;
    if (t->a.pkh > 0) fcn_stem_pool_rows(&t->a, y0, y1, t->scratch + (size_t)tid * t->work);
    else fcn_stem_rows(&t->a, y0, y1, t->scratch + (size_t)tid * t->work);
}

static void run_stem(fcn_node *n, const fcn_exec *x)
{
    const conv_fast *cf = n->fast;
    for (int64_t b = 0; b < cf->N; b++) {
        stem_task t = { stem_args(cf, n, b), (float *)n->scratch, 0 };
        t.work = (fcn_stem_work_floats(&t.a) + 15) & ~(size_t)15;
        fcn_parallel_for(x, t.a.pkh > 0 ? t.a.PHo : cf->Ho, stem_rows_range, &t);
    }
}

/* ---- BatchNormalization fusion --------------------------------------------------------- */
int fcn_fast_conv_fuse_pre_bn(fcn_node *n, const fcn_node *bn)
{
    conv_fast *cf = n->run_fast == run_gemm ? n->fast : NULL;
    const float *ab = fcn_fast_bn_ab(bn);
    if (!cf || !ab || cf->pre_ab || cf->group != 1 || cf->kh != 1 || cf->kw != 1 || cf->sh != 1 || cf->sw != 1 ||
        cf->ph != 0 || cf->pw != 0 || cf->Ho != cf->H || cf->Wo != cf->W ||
        !(bn->act == FCN_ACT_NONE || bn->act == FCN_ACT_RELU || bn->act == FCN_ACT_CLIP) || !bn->in[0] ||
        bn->in[0]->numel != n->in[0]->numel || bn->in[0]->ndim != 4 || bn->in[0]->dims[1] != cf->C)
        return 0;
    cf->pre_ab = ab;
    cf->direct_b = cf->pack_in_tile = 0;   /* B is the normalized input: packed through the affine map */
    cf->pre_act = bn->act;
    cf->pre_alpha = bn->act == FCN_ACT_RELU ? 0.0f : bn->act_alpha;
    cf->pre_beta = bn->act_beta;
    n->kernel = cf->mr == 16 ? "bn+gemm-avx512" : "bn+gemm-avx2";
    return 1;
}

/* ---- MaxPool fusion -------------------------------------------------------------------- */
int fcn_fast_conv_fuse_maxpool(fcn_node *n, const fcn_node *pool)
{
    conv_fast *cf = n->run_fast == run_stem ? n->fast : NULL;
    const fcn_pool_args *p = fcn_fast_maxpool_args(pool);
    if (!cf || !p || cf->pool.kh > 0 || p->kh > 11 || p->planes != cf->N * cf->K || p->H != cf->Ho ||
        p->W != cf->Wo || !(n->act == FCN_ACT_NONE || n->act == FCN_ACT_RELU || n->act == FCN_ACT_CLIP))
        return 0;
    fcn_stem_args a = { .C = cf->C, .H = cf->H, .W = cf->W, .K = cf->K, .Ho = cf->Ho, .Wo = cf->Wo, .kh = cf->kh,
                        .kw = cf->kw, .s = cf->sh, .ph = cf->ph, .pw = cf->pw, .act = n->act,
                        .pkh = p->kh, .pkw = p->kw, .psh = p->sh, .psw = p->sw, .pph = p->ph, .ppw = p->pw,
                        .PHo = p->Ho, .PWo = p->Wo };
    if (!fcn_stem_pool_fits(&a)) return 0;
    cf->pool = *p;
    int threads = n->nthreads > 0 ? n->nthreads : 1;
    n->scratch_bytes = (size_t)threads * ((fcn_stem_work_floats(&a) + 15) & ~(size_t)15) * sizeof(float);
    n->kernel = "stem+maxpool-avx512";
    return 1;
}

/* the kernel label of a Winograd layer: tile, grouped or not, instruction set */
static const char *wino_label(const conv_fast *cf)
{
    static const char *const names[2][2][3] = {
        { { "winograd-f4x4-avx2", "winograd-f2x2-avx2", "winograd-5x5-avx2" },
          { "winograd-f4x4-avx512", "winograd-f2x2-avx512", "winograd-5x5-avx512" } },
        { { "gwinograd-f4x4-avx2", "gwinograd-f2x2-avx2", "gwinograd-5x5-avx2" },
          { "gwinograd-f4x4-avx512", "gwinograd-f2x2-avx512", "gwinograd-5x5-avx512" } },
    };
    int t = cf->wino.r == 5 ? 2 : cf->wino.m == 2 ? 1 : 0;
    return names[cf->wino.groups > 1][cf->mr == 16][t];
}

static void run_wino(fcn_node *n, const fcn_exec *x)
{
    const conv_fast *cf = n->fast;
    for (int64_t b = 0; b < cf->N; b++)
        fcn_winograd_run(&cf->wino, (const float *)n->in[0]->data + b * cf->C * cf->H * cf->W,
                         (float *)n->out[0]->data + b * cf->K * cf->Ho * cf->Wo, cf->bias,
                         cf->residual ? (const float *)cf->residual->data + b * cf->K * cf->Ho * cf->Wo : NULL,
                         n->act, n->act_alpha, n->act_beta, n->scratch, x);
}

/* ---- residual fusion ----------------------------------------------------------------- */
int fcn_fast_conv_fuse_residual(fcn_node *n, const fcn_tensor *residual, int act, float alpha, float beta)
{
    conv_fast *cf = n->run_fast == run_gemm || n->run_fast == run_wino || n->run_fast == run_sub ? n->fast : NULL;
    if (!cf || cf->residual || n->act != FCN_ACT_NONE || residual->dtype != FC_DT_F32 ||
        residual->numel != n->out[0]->numel)
        return 0;
    cf->residual = residual;
    n->act = act;
    n->act_alpha = alpha;
    n->act_beta = beta;
    return 1;
}

/* FULLCONV_WINOGRAD_TILE=2|4: the tile every 3×3 Winograd layer takes (tuning, tests), else 0 */
static int forced_wino_tile(void)
{
    const char *force = getenv("FULLCONV_WINOGRAD_TILE");
    return force && (force[0] == '2' || force[0] == '4') && force[1] == 0 ? force[0] - '0' : 0;
}

/* ---- memory budget ------------------------------------------------------------------ */
size_t fcn_fast_conv_fit_scratch(fcn_node *n, size_t budget)
{
    conv_fast *cf = n->run_fast == run_wino ? n->fast : NULL;
    if (!cf || n->scratch_bytes <= budget) return n->scratch_bytes;
    int threads = n->nthreads > 0 ? n->nthreads : 1;
    if (fcn_winograd_size(&cf->wino, threads, budget / sizeof(float)) == 0) {
        n->scratch_bytes = cf->wino.scratch_floats * sizeof(float);
        return n->scratch_bytes;
    }
    /* F(4×4)'s smallest blocks still over the budget: F(2×2) if its blocks fit. Its transformed
     * input is 16 positions a 2×2 tile against 36 a 4×4 one, and a 13×13 map is one 16-tile
     * panel for F(4×4) whatever the blocks (AlexNet's 384→256 layer: 1.47 MB of V and M against
     * 0.95 MB free beside its input and output; chosen by Zen 4's cost model). The plan's bound
     * (the two largest tensors) wins over speed: AlexNet's arena stays 1.12 MB. */
    if (cf->wino.r != 3 || cf->wino.m != 4 || forced_wino_tile()) return n->scratch_bytes;
    const fcn_prepacked *g = &n->given;
    int mine = g->data && g->kind == FCN_PREPACK_WINOGRAD && g->param == 2u && (uintptr_t)g->data % 64 == 0;
    fcn_wino_plan w2;
    memset(&w2, 0, sizeof w2);
    if (fcn_winograd_plan(&w2, 2, cf->weights, cf->wino.C, cf->H, cf->W, cf->wino.K, cf->Ho, cf->Wo, cf->ph, cf->pw,
                          cf->wino.groups, threads, mine ? g->data : NULL, mine ? g->bytes : 0))
        return n->scratch_bytes;   /* out of memory for F(2×2)'s weights: keep F(4×4) */
    if (fcn_winograd_size(&w2, threads, budget / sizeof(float))) {
        if (!w2.u_borrowed) free(w2.u_packed);
        return n->scratch_bytes;
    }
    if (!cf->wino.u_borrowed) free(cf->wino.u_packed);
    cf->wino = w2;
    n->packed = (fcn_prepacked){ cf->wino.u_packed, sizeof(float) * fcn_winograd_u_floats(&cf->wino),
                                 FCN_PREPACK_WINOGRAD, 2u };
    n->kernel = wino_label(cf);
    n->scratch_bytes = cf->wino.scratch_floats * sizeof(float);
    return n->scratch_bytes;
}

int fcn_fast_conv_in_place(const fcn_node *n)
{
    const conv_fast *cf = n->run_fast == run_gemm || n->run_fast == run_wino ? n->fast : NULL;
    if (!cf || cf->Ho != cf->H || cf->Wo != cf->W) return 0;
    /* grouped Winograd: a group's whole map goes into V before any of its outputs is written,
     * each over its own channels (run_groups; never blocked, whatever the memory plan asks) */
    if (n->run_fast == run_wino) return cf->wino.groups > 1 && cf->K == cf->C;
    /* the GEMM: output row m and input row m start at the same place (a map apart), so any
     * channel counts on one image; several images only with as many channels out as in */
    return !cf->pwb && !cf->pre_ab && cf->group == 1 && cf->kh == 1 && cf->kw == 1 && cf->sh == 1 && cf->sw == 1 &&
           cf->ph == 0 && cf->pw == 0 && cf->C <= FCN_KC && (cf->K == cf->C || cf->N == 1);
}

int fcn_fast_conv_wino_shared(const fcn_node *n)
{
    const conv_fast *cf = n->run_fast == run_wino ? n->fast : NULL;
    return cf && cf->wino.shared;
}

/* ---- prepare ------------------------------------------------------------------------ */
static int64_t pad_begin(int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int auto_pad,
                         int64_t explicit_begin)
{
    if (auto_pad == 3) return 0;                     /* VALID */
    if (auto_pad == 1 || auto_pad == 2) {            /* SAME_UPPER / SAME_LOWER */
        int64_t total = (out - 1) * s + (k - 1) * d + 1 - in;
        if (total < 0) total = 0;
        return auto_pad == 1 ? total / 2 : total - total / 2;
    }
    return explicit_begin;
}

static int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }

/* Output tile of the Winograd path for a 3×3 stride-1 layer: 4, 2, or 0 for a plain GEMM.
 * Each path's time is predicted in µs by a linear model with a term per cost the kernels
 * pay (fitted by non-negative least squares, relative error, on 34 single layers timed warm
 * on this project's AVX-512 dev VM: C 16–512, K 32–512, maps 7–56; docs/KERNELS.md has the
 * table and the fit's misses):
 *   GEMM    MACs with the pixels rounded up to the micro-kernel's 16-wide panel, the
 *           im2col packing of B (9·C values a pixel, whatever K: with few output channels it
 *           is most of the layer), and a fixed cost per call;
 *   F(m×m)  the (m+2)² GEMMs' MACs (tiles rounded to the panel), the input transform (per
 *           tile, input channel and point) and the output transform (per tile, output
 *           channel and point), both over tile rows rounded to the transform's vector width
 *           (8 tiles, 16 for F(4×4) on AVX-512 rows of more than 8 tiles), and a fixed cost.
 * The fit replaces an FMA-lane count whose transform cost was fitted before the AVX-512
 * transforms: it kept SqueezeNet's 55×55 and 13×13 expand layers on the GEMM where F(4×4)
 * runs them 1.3–1.4× faster. What the fit does not see: weights that stream from DRAM when
 * a model's layers do not fit the caches, hence the near-tie rule below.
 * FULLCONV_WINOGRAD_TILE=2|4 forces a tile size; FULLCONV_NO_WINOGRAD=1 turns the path off. */
/* One CPU family's fitted costs, µs, [0] GEMM, [1] F(2×2), [2] F(4×4). */
typedef struct wino_costs {
    double mac[3];      /* per MAC of the micro-kernel's 16-column panels */
    double narrow[3];   /* per MAC of a last panel of ≤ 8 columns (the column kernel); 0: a full panel */
    double in[3];       /* GEMM: per value of B's im2col packing; F(m): per input-transform element */
    double out[3];      /* per output-transform element */
    double fixed[3];    /* per call */
    double mb[3];       /* per MB of the path's weights beyond 8 MB (timed alone: out of L3) */
    double stream;      /* per MB beyond WINO_BIG_WEIGHTS inside a model (see below) */
    double floor;       /* per MB of all the path's weights: the least time inside a model */
} wino_costs;

/* Xeon (session 5, 34 layers); Zen 4 (session 14, 47 layers: the 34 and 13 more 7×7–14×14
 * ones, after the column kernel's fix; misses 2 of 47, 12 and 38 %, KERNELS.md) */
static const wino_costs wino_xeon = {
    { 9.29e-6, 8.62e-6, 8.88e-6 }, { 0, 0, 0 }, { 0.2305e-3, 0.489e-3, 0.410e-3 }, { 0, 0.179e-3, 0.227e-3 },
    { 7.1, 3.8, 16.8 }, { 0, 0, 0 }, WINO_STREAM_US, 0
};
static const wino_costs wino_zen4 = {
    { 1.75e-5, 1.552e-5, 1.72e-5 }, { 7.05e-5, 1.385e-4, 1.675e-5 }, { 0.2808e-3, 0.3802e-3, 0.419e-3 },
    { 0, 0.3714e-3, 0.1705e-3 }, { 4.9, 0, 14.3 }, { 0, 3.45, 24.0 }, WINO_STREAM_US_AMD, 57.0
};

/* MACs of n columns (times the per-column work) split into full panels and a narrow last one */
static void panel_cols(const wino_costs *w, int i, int64_t n, double *full, double *narrow)
{
    int64_t rem = n % 16;
    *narrow = w->narrow[i] > 0 && rem > 0 && rem <= 8 ? (double)rem : 0.0;
    *full = (double)(n - rem) + (rem > 0 && *narrow == 0.0 ? 16.0 : 0.0);
}

/* Output tile of the Winograd path for a grouped 3×3 stride-1 layer of cg input channels a
 * group (the caller asks for at least 4 in and 4 out: narrower ones were not measured), or 0
 * for the direct kernel (gconv_avx512.c; `direct`: it applies) or, without it, the GEMM a group.
 * Each group runs as its own small Winograd conv on one thread (winograd_avx2.c): its transforms
 * are amortized over only kg output channels, and its V and M (P positions × 16 channels × the
 * tiles) go through L2 where the direct kernel keeps its input rows in L1. Measured on Zen 4
 * (single layers, one thread, ms; docs/KERNELS.md "Grouped layers through Winograd"): with the
 * direct kernel, 7×7 maps stay direct at every group width (16 wide: 0.034 against 0.061 for
 * the best tile); at 14×14 F(2×2) wins from 24 channels a group (0.275 → 0.176) and at 4–8
 * (0.156 → 0.146), not at 16 (0.150 against 0.159, RegNet's stage 3); from 28×28 F(4×4) wins
 * at every width (16: 0.305 → 0.265, 48: 0.671 → 0.293; 56×56 4 wide 0.613 → 0.378). Against
 * the GEMM (no AVX-512), F(4×4) from 14×14 (16 wide: 0.376 → 0.321; 48: 0.585 → 0.366).
 * FULLCONV_GWINOGRAD=0 (or FULLCONV_NO_WINOGRAD=1) keeps every grouped layer off it, =2 or =4
 * forces that tile. */
static int winograd_tile_grouped(int64_t cg, int64_t Ho, int64_t Wo, int direct, int64_t groups)
{
    const char *f = getenv("FULLCONV_GWINOGRAD");
    if (f && (f[0] == '0' || f[0] == '2' || f[0] == '4') && f[1] == 0) return f[0] - '0';
    if (fcn_env_flag("FULLCONV_NO_WINOGRAD")) return 0;
    int64_t px = Ho * Wo;
    if (!direct) return px >= 14 * 14 ? 4 : 0;
    /* Few narrow groups stay direct (rows a task) at any thread count: Winograd gives each
     * thread whole groups, which two threads share badly when the host slows one of them
     * (RegNet-X-400MF at two threads in such a phase, medians: 5.83–5.94 ms direct against
     * 5.94–6.04; quiet, its 28×28 layer 0.079 against 0.083), and at one thread RegNet-X was the
     * same either way (8.20–8.34 against 8.20–8.33 ms). Session 19 decided by the thread count,
     * which gave that model other bits on two threads than on one. Wide groups win regardless
     * (5 groups of 48 at 28×28: 0.840 → 0.453). */
    if (cg <= 16 && groups < 8) return 0;
    if (px >= 24 * 24) return 4;
    return px >= 12 * 12 && (cg >= 24 || cg <= 8) ? 2 : 0;
}

static int winograd_tile(int64_t C, int64_t K, int64_t Ho, int64_t Wo)
{
    if (C < 16 || K < 16 || fcn_env_flag("FULLCONV_NO_WINOGRAD")) return 0;
    int forced = forced_wino_tile();
    if (forced) return forced;
    const wino_costs *w = fcn_cpu_is_amd() ? &wino_zen4 : &wino_xeon;
    const double c = (double)C, k = (double)K;
    double cost[3], full, narrow;  /* [0] GEMM, [1] F(2×2), [2] F(4×4), µs */
    panel_cols(w, 0, Ho * Wo, &full, &narrow);
    cost[0] = (w->mac[0] * full + w->narrow[0] * narrow) * 9.0 * c * k + w->in[0] * 9.0 * c * (double)round16(Ho * Wo)
              + w->fixed[0];
    for (int i = 1; i <= 2; i++) {
        int64_t m = 2 * i, tx = (Wo + m - 1) / m, ty = (Ho + m - 1) / m;
        int64_t lanes = m == 4 && tx > 8 && fcn_avx512_enabled() ? 16 : 8;
        double P = (double)((m + 2) * (m + 2)), rows = (double)(ty * ((tx + lanes - 1) / lanes * lanes));
        panel_cols(w, i, tx * ty, &full, &narrow);
        cost[i] = (w->mac[i] * full + w->narrow[i] * narrow) * P * c * k + w->in[i] * P * rows * c
                  + w->out[i] * P * rows * k + w->fixed[i];
    }
    /* Weights: beyond 8 MB a layer timed alone reads them from memory (Zen 4's fit), and big
     * weights stream from memory in a model on the Xeons (ResNet-18's layer3 at 14×14×256:
     * F(4×4) 1.8× faster than F(2×2) timed alone, equal inside the model): w->stream per MB
     * of the weights a path reads beyond WINO_BIG_WEIGHTS (continuous: GoogLeNet's 7×7
     * 192→384 layer, F(2×2) with 4.5 MB, 0.34–0.37 ms against the GEMM's 0.43–0.46 in the
     * model, must not pay for all its bytes at once). On Zen 4 the stream hides behind the
     * arithmetic: F(4×4) with 14 MB runs AlexNet's 13×13 layers 1.6× faster than F(2×2)
     * right after its FC layers flushed L3; but a path never runs faster than its weights
     * come from memory, w->floor µs per MB (~17 GB/s): F(4×4) on 7×7 maps uses each weight
     * for only 4 tiles (GoogLeNet's 192→384, 10.6 MB: 0.22 ms alone, 0.61 in the model,
     * against F(2×2)'s 0.38). */
    static const double weights_per_tap[3] = { 1.0, 16.0 / 9.0, 4.0 };
    for (int i = 0; i < 3; i++) {
        double bytes = weights_per_tap[i] * 9.0 * c * k * 4.0, mb = bytes / (1024.0 * 1024.0);
        if (mb > 8.0) cost[i] += w->mb[i] * (mb - 8.0);
        if (bytes > WINO_BIG_WEIGHTS) cost[i] += w->stream * (bytes - WINO_BIG_WEIGHTS) / (1024.0 * 1024.0);
        if (cost[i] < w->floor * mb) cost[i] = w->floor * mb;
    }
    int pick = 0;
    for (int i = 1; i < 3; i++)
        if (cost[i] < cost[pick]) pick = i;
    /* Near-ties go to the smaller weights when the winner's are big: the transformed weights
     * are made at session creation and live in memory, and within ~10 % the model cannot tell
     * the paths apart (ResNet-18 layer3: F(2×2) 0.88–0.92 ms, F(4×4) 0.91–1.02 ms, measured;
     * ResNet-50 loads 18 ms faster with F(2×2) there, at the same run time). */
    if (weights_per_tap[pick] * 9.0 * (double)K * (double)C * 4.0 > WINO_BIG_WEIGHTS)
        for (int i = 0; i < pick; i++)
            if (cost[i] <= WINO_TIE * cost[pick]) { pick = i; break; }
    pick = pick == 2 ? 4 : pick == 1 ? 2 : 0;
    return pick;
}

/* F(2×2,5×5) (FCN_WINO_F25) for 5×5 stride-1 layers with enough channels and pixels: 36
 * multiplies for 4 outputs instead of 100. AlexNet's 64→192 layer at 27×27: the GEMM
 * 2.5 ms, F(2×2,5×5) see docs/KERNELS.md. FULLCONV_NO_WINOGRAD=1 or FULLCONV_NO_WINO_F25=1:
 * the GEMM. */
static int winograd_tile_5x5(int64_t C, int64_t K, int64_t Ho, int64_t Wo)
{
    if (C < 16 || K < 16 || Ho * Wo < 64 || fcn_env_flag("FULLCONV_NO_WINOGRAD") || fcn_env_flag("FULLCONV_NO_WINO_F25"))
        return 0;
    return FCN_WINO_F25;
}

int fcn_fast_conv_prepare(fcn_node *n, fc_error *err)
{
    (void)err;
    fcn_tensor *X = n->in[0], *Wt = n->in[1], *B = n->n_in > 2 ? n->in[2] : NULL, *Y = n->out[0];
    if (X->dtype != FC_DT_F32 || X->ndim != 4 || !Wt->is_const || Wt->dtype != FC_DT_F32 ||
        Wt->ndim != 4 || (B && (!B->is_const || B->dtype != FC_DT_F32)) || Y->ndim != 4)
        return 0;
    conv_fast cf = { 0 };
    cf.N = X->dims[0]; cf.C = X->dims[1]; cf.H = X->dims[2]; cf.W = X->dims[3];
    cf.K = Y->dims[1]; cf.Ho = Y->dims[2]; cf.Wo = Y->dims[3];
    cf.kh = Wt->dims[2]; cf.kw = Wt->dims[3];
    int64_t v[4];
    cf.sh = cf.sw = 1; cf.dh = cf.dw = 1;
    if (fcn_attr_ints(n, FCN_ATTR_STRIDES, v, 2) == 2) { cf.sh = v[0]; cf.sw = v[1]; }
    if (fcn_attr_ints(n, FCN_ATTR_DILATIONS, v, 2) == 2) { cf.dh = v[0]; cf.dw = v[1]; }
    int64_t pads[4] = { 0, 0, 0, 0 };
    fcn_attr_ints(n, FCN_ATTR_PADS, pads, 4);
    int auto_pad = (int)fcn_attr_int(n, FCN_ATTR_AUTO_PAD, 0);
    cf.ph = pad_begin(cf.H, cf.Ho, cf.kh, cf.sh, cf.dh, auto_pad, pads[0]);
    cf.pw = pad_begin(cf.W, cf.Wo, cf.kw, cf.sw, cf.dw, auto_pad, pads[1]);
    cf.group = fcn_attr_int(n, FCN_ATTR_GROUP, 1);
    if (cf.group <= 0 || cf.C % cf.group || cf.K % cf.group || Wt->dims[0] != cf.K ||
        Wt->dims[1] != cf.C / cf.group)
        return 0;
    cf.bias = B ? B->data : NULL;
    cf.weights = Wt->data;
    cf.w_layout = (int)fcn_attr_int(n, FCN_ATTR_W_LAYOUT, 0);
    if (cf.w_layout != 0 && (cf.w_layout != 1 || cf.group != 1)) return 0;   /* the op refuses these */
    cf.ukernel = fcn_best_ukernel(&cf.mr);
    /* On one thread; on two, only on AMD. On the Xeon (sessions 1–13), much of a 1×1 conv's
     * input sat in the other core's cache on two threads (a depthwise layer splits its
     * channels, the 1×1 its columns; an expansion at 14×14 its rows), and the tile's loads down
     * B's rows, a few lines a row, fetched those lines one at a time where packing streams
     * whole rows. Two threads, packed instead of in place (medians of 8-10 interleaved rounds,
     * ms): MobileNetV2 2.95 → 2.83, MobileNetV3-small 1.01 → 0.97, SqueezeNet 2.10 → 2.06,
     * ResNet-50 21.7 → 21.3; RegNet, DenseNet, GoogLeNet, ShuffleNet, ResNet-18, EfficientNet
     * within ±1 %. One thread keeps it (128→16 at 55×55: 105 → 84 µs). Zen 4 is the other
     * way round at two threads too (in place instead of packed, medians of 7 interleaved
     * rounds, ms): SqueezeNet 2.93 → 2.87, RegNet 4.57 → 4.51, MobileNetV3-small 0.91 → 0.88,
     * 7 of 7 rounds each; SqueezeNet's 128→16 squeeze at 55×55 89 → 68 µs. */
    const int b_rows_ok = cf.ukernel == fcn_ukernel_16x16_avx512 && (n->nthreads <= 1 || fcn_cpu_is_amd());
    cf.direct_b = b_rows_ok && !fcn_env_flag("FULLCONV_NO_DIRECT_B");
    /* The first panel of rows packing B as it reads it (sgemm.c, gemm_tile), on Zen 4 (one
     * layer, medians of 300 runs, ms): 256→128 at 56×56 1.92 → 1.81, 128→256 1.86 → 1.81,
     * 512→256 at 28×28 1.86 → 1.80. Its loads go down B's rows as the in-place tile's do, so
     * where that tile is kept off (two threads on Intel) this is too (not measured there). */
    cf.pack_in_tile = b_rows_ok && !fcn_env_flag("FULLCONV_NO_PACK_IN_TILE");
    cf.pack_s2 = cf.ukernel == fcn_ukernel_16x16_avx512 && cf.kh == 1 && cf.kw == 1 && cf.sh == 2 && cf.sw == 2 &&
                 cf.ph == 0 && cf.pw == 0 && 2 * (cf.Ho - 1) < cf.H && 2 * (cf.Wo - 1) < cf.W &&
                 !fcn_env_flag("FULLCONV_NO_PACK_S2");
    int wino_m = 0;

    int fc_like = cf.group == 1 && cf.Ho == 1 && cf.Wo == 1 && cf.kh == cf.H && cf.kw == cf.W && cf.ph == 0 &&
                  cf.pw == 0 && pads[2] == 0 && pads[3] == 0 && auto_pad != 1 && auto_pad != 2;
    /* an input-major weight: the cols product where the conv is an FC, else (a larger input: a
     * score map) the GEMM, A packed from it; none of the special kernels */
    int ordinary = !cf.w_layout;
    if (cf.w_layout && fc_like && cf.C * cf.kh * cf.kw <= INT32_MAX) {   /* (int32 positions in the list) */
        /* the weight K'×K input-major, used in place; K' = C·kh·kw is one image's input */
        cf.algo = CONV_COLS;
        if (fcn_cols_init(&cf.cols, cf.weights, cf.C * cf.kh * cf.kw, cf.K))
            return fc_fail(err, FC_ENOMEM, "node '%s': out of memory", n->name);
    } else if (ordinary && cf.group == cf.C && cf.K == cf.C && cf.C > 1) {
        cf.algo = CONV_DW;
        fcn_dw_args geo = { .H = cf.H, .W = cf.W, .Ho = cf.Ho, .Wo = cf.Wo, .kh = cf.kh, .kw = cf.kw,
                            .sh = cf.sh, .sw = cf.sw, .ph = cf.ph, .pw = cf.pw, .dh = cf.dh, .dw = cf.dw };
        geo.no_narrow = cf.dw_no_narrow = fcn_env_flag("FULLCONV_NO_DW_NARROW");
        geo.c16 = cf.dw_c16 = fcn_dwc16_applies(&geo) && !fcn_env_flag("FULLCONV_NO_DWC16");
        geo.c16_planes = cf.dw_c16_planes = cf.dw_c16 && n->nthreads > 1 && !fcn_env_flag("FULLCONV_NO_DWC16_PLANES");
        cf.dw_no_slide = fcn_env_flag("FULLCONV_NO_DW_SLIDE");
        cf.dw_work = (fcn_dw_work_floats(&geo) + 15) & ~(size_t)15;
        int threads = n->nthreads > 0 ? n->nthreads : 1;
        size_t need = (size_t)threads * cf.dw_work * sizeof(float);
        if (n->scratch_bytes < need) n->scratch_bytes = need;
    } else if (ordinary && fc_like) {
        cf.algo = CONV_GEMV;
        cf.gemv_warm = n->weights_warm;
    } else if (ordinary && cf.sh == 1 && cf.sw == 1 && cf.dh == 1 && cf.dw == 1 &&
               ((cf.group == 1 && cf.kh == 3 && cf.kw == 3 && (wino_m = winograd_tile(cf.C, cf.K, cf.Ho, cf.Wo)) > 0) ||
                (cf.group == 1 && cf.kh == 5 && cf.kw == 5 &&
                 (wino_m = winograd_tile_5x5(cf.C, cf.K, cf.Ho, cf.Wo)) > 0) ||
                (cf.group > 1 && cf.C / cf.group >= 4 && cf.K / cf.group >= 4 && cf.kh == 3 && cf.kw == 3 &&
                 (wino_m = winograd_tile_grouped(cf.C / cf.group, cf.Ho, cf.Wo,
                                                 fcn_gconv_applies(cf.C, cf.K, cf.group, cf.kh, cf.kw, cf.sh, cf.sw,
                                                                   cf.dh, cf.dw, cf.Wo) &&
                                                     !fcn_env_flag("FULLCONV_NO_GCONV"),
                                                 cf.group)) > 0))) {
        cf.algo = CONV_WINO;
        int threads = n->nthreads > 0 ? n->nthreads : 1;
        const fcn_prepacked *g = &n->given;
        int mine = g->data && g->kind == FCN_PREPACK_WINOGRAD && g->param == (uint32_t)wino_m && (uintptr_t)g->data % 64 == 0;
        int64_t groups = cf.group;
        if (fcn_winograd_plan(&cf.wino, wino_m, cf.weights, cf.C / groups, cf.H, cf.W, cf.K / groups, cf.Ho, cf.Wo,
                              cf.ph, cf.pw, groups, threads, mine ? g->data : NULL, mine ? g->bytes : 0))
            return fc_fail(err, FC_ENOMEM, "node '%s': out of memory packing weights", n->name);
        n->packed = (fcn_prepacked){ cf.wino.u_packed, sizeof(float) * fcn_winograd_u_floats(&cf.wino),
                                     FCN_PREPACK_WINOGRAD, (uint32_t)wino_m };
        size_t need = cf.wino.scratch_floats * sizeof(float);
        if (n->scratch_bytes < need) n->scratch_bytes = need;
    } else if (ordinary && fcn_stem_applies(cf.C, cf.K, cf.group, cf.kh, cf.kw, cf.sh, cf.sw, cf.dh, cf.dw,
                                            cf.Wo) && cf.ph >= 0 && cf.pw >= 0 && !fcn_env_flag("FULLCONV_NO_STEM")) {
        cf.algo = CONV_STEM;
        cf.stem_transposed = fcn_env_flag("FULLCONV_NO_STEM_PLANAR");
        size_t floats = fcn_stem_packed_floats(cf.K, cf.C, cf.kh, cf.kw);
        if ((cf.a_packed = take_given(n, FCN_PREPACK_STEM, 1, floats))) {
            cf.a_borrowed = 1;
        } else {
            cf.a_packed = aligned_alloc(64, (floats * sizeof(float) + 63) & ~(size_t)63);
            if (!cf.a_packed) return fc_fail(err, FC_ENOMEM, "node '%s': out of memory packing weights", n->name);
            fcn_stem_pack(cf.weights, cf.K, cf.C, cf.kh, cf.kw, cf.a_packed);
        }
        n->packed = (fcn_prepacked){ cf.a_packed, floats * sizeof(float), FCN_PREPACK_STEM, 1 };
        fcn_stem_args sa = { .C = cf.C, .H = cf.H, .W = cf.W, .K = cf.K, .Ho = cf.Ho, .Wo = cf.Wo, .kh = cf.kh,
                             .kw = cf.kw, .s = cf.sh, .ph = cf.ph, .pw = cf.pw };
        int threads = n->nthreads > 0 ? n->nthreads : 1;
        size_t need = (size_t)threads * ((fcn_stem_work_floats(&sa) + 15) & ~(size_t)15) * sizeof(float);
        if (n->scratch_bytes < need) n->scratch_bytes = need;
    } else if (ordinary && fcn_gconv_applies(cf.C, cf.K, cf.group, cf.kh, cf.kw, cf.sh, cf.sw, cf.dh, cf.dw,
                                             cf.Wo) && !fcn_env_flag("FULLCONV_NO_GCONV")) {
        cf.algo = CONV_GROUPED;
        cf.gconv_no_pair = fcn_env_flag("FULLCONV_NO_GCONV_PAIR");
        cf.gconv_no_lanes = fcn_env_flag("FULLCONV_NO_GCONV_LANES");
        size_t floats = fcn_gconv_packed_floats(cf.K, cf.C, cf.group, cf.kh, cf.kw);
        if ((cf.a_packed = take_given(n, FCN_PREPACK_GCONV, (uint32_t)cf.group, floats))) {
            cf.a_borrowed = 1;
        } else {
            cf.a_packed = aligned_alloc(64, (floats * sizeof(float) + 63) & ~(size_t)63);
            if (!cf.a_packed) return fc_fail(err, FC_ENOMEM, "node '%s': out of memory packing weights", n->name);
            fcn_gconv_pack(cf.weights, cf.K, cf.C, cf.group, cf.kh, cf.kw, cf.a_packed);
        }
        n->packed = (fcn_prepacked){ cf.a_packed, floats * sizeof(float), FCN_PREPACK_GCONV, (uint32_t)cf.group };
    } else {
        cf.algo = CONV_GEMM;
        int64_t cg = cf.C / cf.group, kg = cf.K / cf.group, kk = cg * cf.kh * cf.kw;
        cf.a_group_floats = fcn_pack_a_mr_floats(kg, kk, cf.mr);
        size_t floats = cf.a_group_floats * (size_t)cf.group;
        if ((cf.a_packed = take_given(n, FCN_PREPACK_GEMM, (uint32_t)cf.group, floats))) {
            cf.a_borrowed = 1;
        } else {
            cf.a_packed = aligned_alloc(64, ((floats * sizeof(float)) + 63) & ~(size_t)63);
            if (!cf.a_packed) return fc_fail(err, FC_ENOMEM, "node '%s': out of memory packing weights", n->name);
            if (cf.w_layout)   /* group 1: row m of A is column m of the kk×K weight */
                fcn_pack_a_mr(cf.weights, 1, cf.K, cf.K, kk, cf.mr, cf.a_packed);
            else
                for (int64_t g = 0; g < cf.group; g++)
                    fcn_pack_a_mr(cf.weights + g * kg * kk, kk, 1, kg, kk, cf.mr,
                                  cf.a_packed + (size_t)g * cf.a_group_floats);
        }
        n->packed = (fcn_prepacked){ cf.a_packed, floats * sizeof(float), FCN_PREPACK_GEMM, (uint32_t)cf.group };
        int threads = n->nthreads > 0 ? n->nthreads : 1;
        /* B's blocks of at most 32 KB packed on the stack: no scratch in the arena (MnasNet's and
         * MobileNetV3-large's 16-channel 1×1 expansions at 112×112 on AVX2 put 15 KB a thread on
         * top of the two tensors of their bound) */
        cf.gemm_stack = fcn_gemm_scratch_floats(kk, cf.Ho * cf.Wo) <= FCN_GEMM_STACK_FLOATS;
        size_t need = cf.gemm_stack ? 0 : (size_t)threads * fcn_gemm_scratch_floats(kk, cf.Ho * cf.Wo) * sizeof(float);
        /* A 1×1 conv over at most FCN_PWB_MAX_N pixels reducing to 32, 48 or 64 channels (one
         * pass over B, whole panels, at least twice as many channels in): the output channels
         * in the lanes (pointwise_avx512.c), on one thread, and on two on AMD, a band of pixels
         * each. Not on two threads of the Xeon: there a tile's walk down B's rows, a line a
         * step, read the half of B the other core wrote one line at a time, where the GEMM's
         * packing streams whole rows (SqueezeNet's six 13×13 and 27×27 squeezes 0.21 → 0.27 ms
         * in the model, though faster alone). On Zen 4 at two threads those six went 0.259 →
         * 0.237 ms (sums of node minima, three runs), the model 15 of 15 interleaved rounds
         * faster (medians 2.870 → 2.837 ms), GoogLeNet's twelve 1.14 → 0.70–0.83 ms. Nor for 16
         * outputs, which the GEMM reads in place; nor for more than 64 (tried on Zen 4: up to
         * 18 % slower in MobileNetV2, ResNet-50, SqueezeNet, GoogLeNet). */
        cf.pwb = (threads == 1 || fcn_cpu_is_amd()) && cf.mr == 16 && cf.group == 1 && cf.kh == 1 && cf.kw == 1 &&
                 cf.sh == 1 && cf.sw == 1 && cf.ph == 0 && cf.pw == 0 && cf.Ho == cf.H && cf.Wo == cf.W &&
                 cf.Ho * cf.Wo <= FCN_PWB_MAX_N && cf.K >= 32 && cf.K <= 64 && cf.K % 16 == 0 && cf.C >= 2 * cf.K &&
                 !fcn_env_flag("FULLCONV_NO_PWB");
        if (cf.pwb) {
            int64_t px = cf.Ho * cf.Wo;
            cf.pwb_band = threads > 1 ? (px + 16 * threads - 1) / (16 * threads) * 16 : px;
            cf.pwb_work = (fcn_pwb_work_floats(cf.pwb_band) + 15) & ~(size_t)15;
            if (need < (size_t)threads * cf.pwb_work * sizeof(float)) need = (size_t)threads * cf.pwb_work * sizeof(float);
        }
        if (n->scratch_bytes < need) n->scratch_bytes = need;
    }
    conv_fast *st = malloc(sizeof *st);
    if (!st) {
        conv_fast_free_parts(&cf);
        n->packed = (fcn_prepacked){ 0 };
        return fc_fail(err, FC_ENOMEM, "node '%s': out of memory", n->name);
    }
    *st = cf;
    n->fast = st;
    n->free_fast = conv_fast_free;
    static void (*const runs[])(fcn_node *, const fcn_exec *) = { run_gemm, run_gemv, run_dw, run_wino, run_grouped,
                                                                   run_stem, run_cols };
    /* the label names the instruction set that runs: the 16-row micro-kernel (GEMM, Winograd)
     * and the depthwise kernels are AVX-512 when the session uses it; the GEMV is AVX2 */
    static const char *const names[2][7] = {
        { "gemm-avx2", "gemv-avx2", "dwconv-avx2", "winograd-f4x4-avx2", "gconv-avx512", "stem-avx512",
          "gemv-cols-avx2" },
        { "gemm-avx512", "gemv-avx2", "dwconv-avx512", "winograd-f4x4-avx512", "gconv-avx512", "stem-avx512",
          "gemv-cols-avx2" },
    };
    int z = cf.mr == 16;
    n->run_fast = runs[cf.algo];
    if (cf.algo == CONV_GEMM && cf.ukernel == fcn_ukernel_16x16_avx512 && cf.group == 1 && cf.kh == 1 && cf.kw == 1 &&
        cf.sh == 2 && cf.sw == 2 && cf.ph == 0 && cf.pw == 0 && cf.dh == 1 && cf.dw == 1 &&
        cf.Ho == (cf.H + 1) / 2 && cf.Wo == (cf.W + 1) / 2 && cf.Wo >= SUBSAMPLE_MIN_WO &&
        !fcn_env_flag("FULLCONV_NO_SUBSAMPLE")) {
        int threads = n->nthreads > 0 ? n->nthreads : 1;
        int64_t rows, bands;
        band_rows(cf.Ho, (double)cf.C * (double)cf.Wo * 4.0, FUSE_DW_BAND_BYTES, threads, &rows, &bands);
        st->s_rows = rows;
        st->s_bands = bands;
        st->s_band_floats = ((size_t)(cf.C * rows * cf.Wo) + 15) & ~(size_t)15;
        st->s_work = st->s_band_floats + ((fcn_gemm_scratch_floats(cf.C, rows * cf.Wo) + 15) & ~(size_t)15);
        size_t need = (size_t)threads * st->s_work * sizeof(float);
        if (n->scratch_bytes < need) n->scratch_bytes = need;
        n->run_fast = run_sub;
        n->kernel = "gemm-s2-avx512";
        return 1;
    }
    n->kernel = cf.algo == CONV_WINO ? wino_label(&cf) : names[z][cf.algo];
    if (cf.algo == CONV_GEMM && cf.pwb) n->kernel = "pointwise-avx512";
    if (cf.algo == CONV_GEMV && cf.gemv_warm) n->kernel = "gemv-warm-avx2";
    return 1;
}
