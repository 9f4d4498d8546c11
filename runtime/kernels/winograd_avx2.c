/* winograd_avx2.c — 3×3 stride-1 convolution by Winograd F(4×4, 3×3) (Lavin & Gray 2015),
 * and F(2×2, 3×3) for small maps (7×7, 13×13), where 4×4 tiles leave too few tiles to fill
 * the 16-wide GEMM panels and pad the map by up to a third.
 *
 * Identity: for a 6×6 input tile d and a 3×3 filter g, the 4×4 output tile is
 *     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
 * so 36 multiplies replace 144. Over channels the ⊙ becomes, for each of the 36 positions ξ,
 * a matrix product M_ξ[K×T] = U_ξ[K×C] · V_ξ[C×T] (T tiles): 2.25 MACs per output per input
 * channel instead of 9. U is computed and packed once at session creation.
 * Transforms run on 8 horizontally adjacent tiles at a time (one ymm lane per tile), with
 * in-register transposes between the image layout and the lane-per-tile layout; the input is
 * first copied into a zero-padded buffer so every load is in bounds. */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/winograd.h"

#define WINO8_FN static inline __attribute__((always_inline))
#define WINO8_VL 0
#include "runtime/kernels/winograd8.h"


/* Aᵀ applied to a column of 6 -> 4 */
static inline void at6(const __m256 m[6], __m256 y[4])
{
    const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f), eight = _mm256_set1_ps(8.0f);
    __m256 s12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
    __m256 s34 = _mm256_add_ps(m[3], m[4]), d34 = _mm256_sub_ps(m[3], m[4]);
    y[0] = _mm256_add_ps(_mm256_add_ps(m[0], s12), s34);
    y[1] = _mm256_fmadd_ps(two, d34, d12);
    y[2] = _mm256_fmadd_ps(four, s34, s12);
    y[3] = _mm256_add_ps(_mm256_fmadd_ps(eight, d34, d12), m[5]);
}

/* G g Gᵀ for one 3×3 filter g, in float, with the rows of G written out:
 *   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1].
 * The scalar (channel tail) and the 8-lane versions do the same operations; the compiler may
 * contract some into FMAs, so they can differ in the last bit — far below the 1e-4 bound the
 * Winograd kernel is held to. Float instead of the former double: U is stored as float anyway,
 * and the few extra roundings cost ~1e-7 relative. */
#define WG_ROWS(R, g0, g1, g2, MUL, ADD, SUB, NEG, C4, C6, C12, C24)                         \
    do {                                                                                     \
        R[0] = MUL(g0, C4);                                                                  \
        R[1] = NEG(MUL(ADD(ADD(g0, g1), g2), C6));                                           \
        R[2] = NEG(MUL(ADD(SUB(g0, g1), g2), C6));                                           \
        R[3] = ADD(ADD(MUL(g0, C24), MUL(g1, C12)), MUL(g2, C6));                           \
        R[4] = ADD(SUB(MUL(g0, C24), MUL(g1, C12)), MUL(g2, C6));                           \
        R[5] = g2;                                                                           \
    } while (0)

#define S_MUL(a, b) ((a) * (b))
#define S_ADD(a, b) ((a) + (b))
#define S_SUB(a, b) ((a) - (b))
#define S_NEG(a) (-(a))

static void winograd_filter_scalar(const float *g, float *u, int64_t ustride /* between positions */)
{
    const float c4 = 1.0f / 4, c6 = 1.0f / 6, c12 = 1.0f / 12, c24 = 1.0f / 24;
    float t[6][3], row[6];
    for (int j = 0; j < 3; j++) {
        WG_ROWS(row, g[j], g[3 + j], g[6 + j], S_MUL, S_ADD, S_SUB, S_NEG, c4, c6, c12, c24);
        for (int i = 0; i < 6; i++) t[i][j] = row[i];
    }
    for (int i = 0; i < 6; i++) {
        WG_ROWS(row, t[i][0], t[i][1], t[i][2], S_MUL, S_ADD, S_SUB, S_NEG, c4, c6, c12, c24);
        for (int j = 0; j < 6; j++) u[(i * 6 + j) * ustride] = row[j];
    }
}

#define V_NEG(a) _mm256_xor_ps(a, _mm256_set1_ps(-0.0f))

/* U for 8 consecutive input channels of one output channel: lanes are channels, so each of
 * the 36 results is one contiguous 8-float store into its position's K×C matrix. Replaces a
 * scalar double-precision loop that dominated session creation (ResNet-50: ~470k filters). */
void fcn_winograd_weights(const float *w, int64_t K, int64_t C, float *u /* 36*K*C */)
{
    const __m256 c4 = _mm256_set1_ps(1.0f / 4), c6 = _mm256_set1_ps(1.0f / 6);
    const __m256 c12 = _mm256_set1_ps(1.0f / 12), c24 = _mm256_set1_ps(1.0f / 24);
    /* lane l reads filter c+l: its 9 taps are 9 floats apart */
    const __m256i idx = _mm256_setr_epi32(0, 9, 18, 27, 36, 45, 54, 63);
    const int64_t pos_stride = K * C;
    for (int64_t k = 0; k < K; k++) {
        int64_t c = 0;
        for (; c + 8 <= C; c += 8) {
            const float *g = w + (k * C + c) * 9;
            __m256 tap[9];
            for (int j = 0; j < 9; j++) tap[j] = _mm256_i32gather_ps(g + j, idx, 4);
            __m256 t[6][3], row[6];
            for (int j = 0; j < 3; j++) {
                WG_ROWS(row, tap[j], tap[3 + j], tap[6 + j], _mm256_mul_ps, _mm256_add_ps, _mm256_sub_ps, V_NEG,
                        c4, c6, c12, c24);
                for (int i = 0; i < 6; i++) t[i][j] = row[i];
            }
            float *dst = u + k * C + c;
            for (int i = 0; i < 6; i++) {
                WG_ROWS(row, t[i][0], t[i][1], t[i][2], _mm256_mul_ps, _mm256_add_ps, _mm256_sub_ps, V_NEG,
                        c4, c6, c12, c24);
                for (int j = 0; j < 6; j++) _mm256_storeu_ps(dst + (i * 6 + j) * pos_stride, row[j]);
            }
        }
        for (; c < C; c++) winograd_filter_scalar(w + (k * C + c) * 9, u + k * C + c, pos_stride);
    }
}

/* F(2×2,3×3): G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1], Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 * Aᵀ = [1 1 1 0; 0 1 -1 -1]: 16 multiplies replace 36, and every transform is adds only
 * (the ½ of G is exact), so F(2×2) is as accurate as direct convolution. */
#define WG2_ROWS(R, g0, g1, g2, MUL, ADD, SUB, HALF)                                         \
    do {                                                                                     \
        R[0] = g0;                                                                           \
        R[1] = MUL(ADD(ADD(g0, g1), g2), HALF);                                              \
        R[2] = MUL(ADD(SUB(g0, g1), g2), HALF);                                              \
        R[3] = g2;                                                                           \
    } while (0)

static void winograd_filter_f2_scalar(const float *g, float *u, int64_t ustride)
{
    float t[4][3], row[4];
    for (int j = 0; j < 3; j++) {
        WG2_ROWS(row, g[j], g[3 + j], g[6 + j], S_MUL, S_ADD, S_SUB, 0.5f);
        for (int i = 0; i < 4; i++) t[i][j] = row[i];
    }
    for (int i = 0; i < 4; i++) {
        WG2_ROWS(row, t[i][0], t[i][1], t[i][2], S_MUL, S_ADD, S_SUB, 0.5f);
        for (int j = 0; j < 4; j++) u[(i * 4 + j) * ustride] = row[j];
    }
}

void fcn_winograd_weights_f2(const float *w, int64_t K, int64_t C, float *u /* 16*K*C */)
{
    const __m256 half = _mm256_set1_ps(0.5f);
    const __m256i idx = _mm256_setr_epi32(0, 9, 18, 27, 36, 45, 54, 63);
    const int64_t pos_stride = K * C;
    for (int64_t k = 0; k < K; k++) {
        int64_t c = 0;
        for (; c + 8 <= C; c += 8) {
            const float *g = w + (k * C + c) * 9;
            __m256 tap[9];
            for (int j = 0; j < 9; j++) tap[j] = _mm256_i32gather_ps(g + j, idx, 4);
            __m256 t[4][3], row[4];
            for (int j = 0; j < 3; j++) {
                WG2_ROWS(row, tap[j], tap[3 + j], tap[6 + j], _mm256_mul_ps, _mm256_add_ps, _mm256_sub_ps, half);
                for (int i = 0; i < 4; i++) t[i][j] = row[i];
            }
            float *dst = u + k * C + c;
            for (int i = 0; i < 4; i++) {
                WG2_ROWS(row, t[i][0], t[i][1], t[i][2], _mm256_mul_ps, _mm256_add_ps, _mm256_sub_ps, half);
                for (int j = 0; j < 4; j++) _mm256_storeu_ps(dst + (i * 4 + j) * pos_stride, row[j]);
            }
        }
        for (; c < C; c++) winograd_filter_f2_scalar(w + (k * C + c) * 9, u + k * C + c, pos_stride);
    }
}

/* The run and block structs, and the V/M layouts: winograd.h. */


static void input_transform_f4(const wino_blk *b, int64_t c0, int64_t c1) { input_6x6(b, c0, c1, 4); }
static void input_transform_f25(const wino_blk *b, int64_t c0, int64_t c1) { input_6x6(b, c0, c1, 2); }
static void input_transform_f2(const wino_blk *b, int64_t c0, int64_t c1) { input_f2(b, c0, c1); }


/* M_ξ[K × ntiles] = U_ξ · V_ξ for positions [x0, x1): the micro-kernel over U's packed
 * panels and V's panels in place. A U panel (mr×KC) stays in L1 across the tile panels. */
static void block_gemms(const wino_blk *b, int64_t x0, int64_t x1)
{
    const fcn_wino_plan *p = b->r->p;
    int mr = p->mr;
    int64_t mpad = (p->K + mr - 1) / mr * mr, npan = (b->ntiles + 15) / 16;
    for (int64_t xi = x0; xi < x1; xi++) {
        const float *u = p->u_packed + (size_t)xi * p->u_floats;
        const float *v = b->v + xi * p->v_stride;
        float *m = b->m + xi * p->m_stride;
        for (int64_t c0 = 0; c0 < p->C; c0 += FCN_KC) {
            int64_t kc = p->C - c0 < FCN_KC ? p->C - c0 : FCN_KC;
            const float *ablk = u + c0 * mpad;
            int64_t kfrom = b->kbase;
            if (mr == 16 && kc <= 64 && p->ukernel == fcn_ukernel_16x16_avx512_ordered) {
                /* short tiles: each B panel against all the chunk's full 16-row panels in one call
                 * (SqueezeNet's Winograd layers, 16–64 input channels: 1.25 → 1.17–1.24 ms in sum) */
                int64_t full = (b->kend - b->kbase) / 16;
                for (int64_t j = 0; j < npan && full > 0; j++) {
                    int cols = (int)(b->ntiles - j * 16 < 16 ? b->ntiles - j * 16 : 16);
                    fcn_ukernel_16x16_avx512_ordered_panels(kc, ablk + b->kbase * kc, 16 * kc,
                                                            v + j * p->C * 16 + c0 * 16, m + j * 16, p->m_ld, full,
                                                            cols, c0 > 0);
                }
                kfrom = b->kbase + full * 16;
            }
            for (int64_t k0 = kfrom; k0 < b->kend; k0 += mr) {   /* kbase is a multiple of mr */
                int rows = (int)(b->kend - k0 < mr ? b->kend - k0 : mr);
                const float *ap = ablk + k0 / mr * mr * kc;
                for (int64_t j = 0; j < npan; j++) {
                    int cols = (int)(b->ntiles - j * 16 < 16 ? b->ntiles - j * 16 : 16);
                    p->ukernel(kc, ap, v + j * p->C * 16 + c0 * 16, m + (k0 - b->kbase) * p->m_ld + j * 16, p->m_ld,
                               rows, cols, c0 > 0, NULL);
                }
            }
        }
    }
}

/* Stores the 4 columns y[j] (lane l = tile l) of one output row of 8 horizontally adjacent
 * tiles as the 32 consecutive floats they are in the image: a 4×8 transpose in registers, then
 * masked stores of the first `cols` (<= 32) floats. Replaces 16 scalar stores per tile. */
/* o[q] = the 4 columns of tiles 2q (low half) and 2q+1 (high half) */
static inline void tiles_to_rows(const __m256 y[4], __m256 o[4])
{
    __m256 t0 = _mm256_unpacklo_ps(y[0], y[1]), t1 = _mm256_unpackhi_ps(y[0], y[1]);
    __m256 t2 = _mm256_unpacklo_ps(y[2], y[3]), t3 = _mm256_unpackhi_ps(y[2], y[3]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    o[0] = _mm256_permute2f128_ps(s0, s1, 0x20);
    o[1] = _mm256_permute2f128_ps(s2, s3, 0x20);
    o[2] = _mm256_permute2f128_ps(s0, s1, 0x31);
    o[3] = _mm256_permute2f128_ps(s2, s3, 0x31);
}

static inline void store_tile_row(float *orow, const __m256 y[4], int64_t cols)
{
    __m256 o[4];
    tiles_to_rows(y, o);
    if (cols >= 32) {
        for (int q = 0; q < 4; q++) _mm256_storeu_ps(orow + 8 * q, o[q]);
        return;
    }
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int q = 0; q < 4 && 8 * q < cols; q++) {
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(cols - 8 * q)), lane);
        _mm256_maskstore_ps(orow + 8 * q, mask, o[q]);
    }
}

/* The inverse of tiles_to_rows: 32 consecutive floats of an image row (o[q] = floats 8q..8q+7,
 * read masked to the first `cols`) back to y[j] lane l = column 4l + j. */
static inline void load_tile_row_masked(const float *row, int64_t cols, __m256 o[4])
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int q = 0; q < 4; q++) {
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(cols - 8 * q)), lane);
        o[q] = _mm256_maskload_ps(row + 8 * q, mask);
    }
}

static inline void rows_to_tiles(const __m256 o[4], __m256 y[4])
{
    /* o[0] = tiles 0,1 (cols 0..7), o[1] = tiles 2,3, o[2] = tiles 4,5, o[3] = tiles 6,7 */
    __m256 s0 = _mm256_permute2f128_ps(o[0], o[2], 0x20);   /* tile 0 | tile 4 */
    __m256 s1 = _mm256_permute2f128_ps(o[0], o[2], 0x31);   /* tile 1 | tile 5 */
    __m256 s2 = _mm256_permute2f128_ps(o[1], o[3], 0x20);   /* tile 2 | tile 6 */
    __m256 s3 = _mm256_permute2f128_ps(o[1], o[3], 0x31);   /* tile 3 | tile 7 */
    /* 4×4 transposes in each 128-bit half: (tile t, column j) -> (column j, tile t) */
    __m256 t0 = _mm256_unpacklo_ps(s0, s1), t1 = _mm256_unpackhi_ps(s0, s1);
    __m256 t2 = _mm256_unpacklo_ps(s2, s3), t3 = _mm256_unpackhi_ps(s2, s3);
    y[0] = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
    y[1] = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
    y[2] = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
    y[3] = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
}

static void output_transform_f4(const wino_blk *b, int64_t k0, int64_t k1)
{
    const wino_run *r = b->r;
    const fcn_wino_plan *p = r->p;
    int64_t KT = p->m_stride;
    int in_kernel_act = r->act == FCN_ACT_NONE || r->act == FCN_ACT_RELU || r->act == FCN_ACT_CLIP;
    for (int64_t k = k0; k < k1; k++) {
        __m256 bv = _mm256_set1_ps(r->bias ? r->bias[k] : 0.0f);
        float *oplane = r->out + k * p->Ho * p->Wo;
        for (int64_t ty = b->ty0; ty < b->ty1; ty++) {
            for (int64_t tx = 0; tx < p->tiles_x; tx += 8) {
                /* lanes past the tile row read the next M entries (in bounds: m has 16 floats of
                 * slack); they only feed columns >= Wo, which are never stored */
                const float *mbase = b->m + (k - b->kbase) * p->m_ld + (ty - b->ty0) * p->tiles_x + tx;
                __m256 cols[4][6];   /* cols[i][j] = (Aᵀ M)[i][j] */
                for (int j = 0; j < 6; j++) {
                    __m256 col[6], y[4];
                    for (int i = 0; i < 6; i++) col[i] = _mm256_loadu_ps(mbase + (i * 6 + j) * KT);
                    at6(col, y);
                    for (int i = 0; i < 4; i++) cols[i][j] = y[i];
                }
                int64_t ox0 = tx * 4, oy0 = ty * 4, ncols = p->Wo - ox0;
                for (int i = 0; i < 4 && oy0 + i < p->Ho; i++) {
                    __m256 y[4];
                    at6(cols[i], y);
                    for (int j = 0; j < 4; j++) y[j] = _mm256_add_ps(y[j], bv);
                    float *orow = oplane + (oy0 + i) * p->Wo + ox0;
                    if (r->residual) {
                        /* the residual's row in the lane-per-tile layout of y: the inverse of
                         * the transpose store_tile_row makes */
                        const float *rrow = r->residual + (orow - r->out);
                        __m256 rv[4], rt[4];
                        load_tile_row_masked(rrow, ncols, rv);
                        rows_to_tiles(rv, rt);
                        for (int j = 0; j < 4; j++) y[j] = _mm256_add_ps(y[j], rt[j]);
                    }
                    for (int j = 0; j < 4; j++) y[j] = act8(r, y[j]);
                    store_tile_row(orow, y, ncols);
                    if (!in_kernel_act)
                        fcn_act_apply(r->act, r->act_alpha, r->act_beta, orow, ncols < 32 ? ncols : 32);
                }
            }
        }
    }
}


static void output_transform_f2(const wino_blk *b, int64_t k0, int64_t k1) { output_2x2(b, k0, k1, 4); }
static void output_transform_f25(const wino_blk *b, int64_t k0, int64_t k1) { output_2x2(b, k0, k1, 6); }

/* ---- F(2×2,5×5) --------------------------------------------------------------------------
 * The same 6×6 tile and interpolation points (0, ±1, ±2, ∞) as F(4×4,3×3), so the same Bᵀ
 * (bt6); only G (6×5) and Aᵀ (2×6) differ, and tiles start 2 apart instead of 4:
 *   G rows: [1/4 0 0 0 0], -1/6 [1 1 1 1 1], -1/6 [1 -1 1 -1 1], 1/24 [1 2 4 8 16],
 *           1/24 [1 -2 4 -8 16], [0 0 0 0 1];   Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 1].
 * 36 multiplies for 4 outputs instead of 100 (AlexNet's 64→192 layer at 27×27). */
static void g25_rows(const float g[5], float r[6])
{
    r[0] = g[0] * 0.25f;
    r[1] = -(g[0] + g[1] + g[2] + g[3] + g[4]) / 6.0f;
    r[2] = -(g[0] - g[1] + g[2] - g[3] + g[4]) / 6.0f;
    r[3] = (g[0] + 2.0f * g[1] + 4.0f * g[2] + 8.0f * g[3] + 16.0f * g[4]) / 24.0f;
    r[4] = (g[0] - 2.0f * g[1] + 4.0f * g[2] - 8.0f * g[3] + 16.0f * g[4]) / 24.0f;
    r[5] = g[4];
}

void fcn_winograd_weights_f25(const float *w, int64_t K, int64_t C, float *u /* 36*K*C */)
{
    const int64_t pos_stride = K * C;
    for (int64_t k = 0; k < K; k++)
        for (int64_t c = 0; c < C; c++) {
            const float *g = w + (k * C + c) * 25;
            float t[6][5], col[5], row[6];
            for (int j = 0; j < 5; j++) {   /* G g: column j of g through G */
                for (int i = 0; i < 5; i++) col[i] = g[i * 5 + j];
                g25_rows(col, row);
                for (int i = 0; i < 6; i++) t[i][j] = row[i];
            }
            for (int i = 0; i < 6; i++) {   /* (G g) Gᵀ: each row through G */
                g25_rows(t[i], row);
                for (int j = 0; j < 6; j++) u[(i * 6 + j) * pos_stride + k * C + c] = row[j];
            }
        }
}




static void input_transform(const wino_blk *b, int64_t c0, int64_t c1)
{
    const fcn_wino_plan *p = b->r->p;
    if (p->r == 5) (p->vl8 ? fcn_wino_input_f25_vl : input_transform_f25)(b, c0, c1);
    else if (p->pair) (p->m == 2 ? fcn_wino_input_f2_pair_avx512 : fcn_wino_input_f4_pair_avx512)(b, c0, c1);
    else if (p->m == 2) (p->vl8 ? fcn_wino_input_f2_vl : input_transform_f2)(b, c0, c1);
    else if (p->wide16) fcn_wino_input_f4_avx512(b, c0, c1);
    else input_transform_f4(b, c0, c1);
}

static void output_transform(const wino_blk *b, int64_t k0, int64_t k1)
{
    const fcn_wino_plan *p = b->r->p;
    if (p->r == 5) (p->vl8 ? fcn_wino_output_f25_vl : output_transform_f25)(b, k0, k1);
    else if (p->pair) (p->m == 2 ? fcn_wino_output_f2_pair_avx512 : fcn_wino_output_f4_pair_avx512)(b, k0, k1);
    else if (p->m == 2) (p->vl8 ? fcn_wino_output_f2_vl : output_transform_f2)(b, k0, k1);
    else if (p->wide16) fcn_wino_output_f4_avx512(b, k0, k1);
    else output_transform_f4(b, k0, k1);
}

/* ---- unblocked: one block, each phase split over the threads ---------------------------- *
 * The block is the whole map, or with a shared V and M (p->shared) each block in turn. */
static wino_blk whole_map(const wino_run *r)
{
    wino_blk b = { r, r->work, r->work + r->p->v_floats, r->ty0, r->ty1, (r->ty1 - r->ty0) * r->p->tiles_x, 0, r->p->K };
    return b;
}

static void phase_input(void *vctx, int64_t c0, int64_t c1, int tid)
{
    (void)tid;
    const wino_run *r = vctx;
    wino_blk b = whole_map(r);
    input_transform(&b, c0, c1);
}

static void phase_gemms(void *vctx, int64_t x0, int64_t x1, int tid)
{
    (void)tid;
    wino_blk b = whole_map(vctx);
    block_gemms(&b, x0, x1);
}

static void phase_output(void *vctx, int64_t k0, int64_t k1, int tid)
{
    (void)tid;
    wino_blk b = whole_map(vctx);
    output_transform(&b, k0, k1);
}

/* ---- blocked: block after block of tile rows, each on one thread ------------------------- *
 * Item i is block i % blocks for the output channels of K chunk i / blocks: a thread's
 * contiguous items are whole chunks when there are several, so its share of U stays put. */
static void run_blocks(void *vctx, int64_t i0, int64_t i1, int tid)
{
    const wino_run *r = vctx;
    const fcn_wino_plan *p = r->p;
    float *v = r->work + (size_t)tid * (p->v_floats + p->m_floats);
    for (int64_t i = i0; i < i1; i++) {
        int64_t blk = i % p->blocks, kbase = i / p->blocks * p->k_chunk;
        int64_t ty0 = blk * p->block_rows, ty1 = ty0 + p->block_rows < p->tiles_y ? ty0 + p->block_rows : p->tiles_y;
        int64_t kend = kbase + p->k_chunk < p->K ? kbase + p->k_chunk : p->K;
        wino_blk b = { r, v, v + p->v_floats, ty0, ty1, (ty1 - ty0) * p->tiles_x, kbase, kend };
        input_transform(&b, 0, p->C);
        block_gemms(&b, 0, p->P);
        output_transform(&b, kbase, kend);
    }
}

/* ---- grouped: group after group, each over the whole map on one thread ---------------- *
 * Items are groups; group g reads input channels g·C.., writes output channels g·K.., and
 * multiplies by its own U (the plan with u_packed moved to group g's matrices). */
static void run_groups(void *vctx, int64_t g0, int64_t g1, int tid)
{
    const wino_run *r = vctx;
    const fcn_wino_plan *p = r->p;
    fcn_wino_plan pg = *p;
    float *v = r->work + (size_t)tid * (p->v_floats + p->m_floats);
    const int64_t in_group = p->C * p->H * p->W, out_group = p->K * p->Ho * p->Wo;
    for (int64_t g = g0; g < g1; g++) {
        pg.u_packed = p->u_packed + (size_t)g * (size_t)p->P * p->u_floats;
        wino_run rg = *r;
        rg.p = &pg;
        rg.in = r->in + g * in_group;
        rg.out = r->out + g * out_group;
        rg.bias = r->bias ? r->bias + g * p->K : NULL;
        rg.residual = r->residual ? r->residual + g * out_group : NULL;
        wino_blk b = { &rg, v, v + p->v_floats, 0, p->tiles_y, p->tiles_y * p->tiles_x, 0, p->K };
        input_transform(&b, 0, p->C);
        block_gemms(&b, 0, p->P);
        output_transform(&b, 0, p->K);
    }
}

void fcn_winograd_run(const fcn_wino_plan *p, const float *in, float *out, const float *bias, const float *residual,
                      int act, float act_alpha, float act_beta, float *scratch, const fcn_exec *x)
{
    wino_run r = { .p = p, .in = in, .out = out, .bias = bias, .residual = residual,
                   .act = act, .act_alpha = act_alpha, .act_beta = act_beta, .ty0 = 0, .ty1 = p->tiles_y };
    r.work = scratch;
    if (p->groups > 1) {
        fcn_parallel_for(x, p->groups, run_groups, &r);
        return;
    }
    if (p->shared) {
        for (int64_t ty = 0; ty < p->tiles_y; ty += p->block_rows) {
            r.ty0 = ty;
            r.ty1 = ty + p->block_rows < p->tiles_y ? ty + p->block_rows : p->tiles_y;
            fcn_parallel_for(x, p->C, phase_input, &r);
            fcn_parallel_for(x, p->P, phase_gemms, &r);
            fcn_parallel_for(x, p->K, phase_output, &r);
        }
        return;
    }
    if (p->blocks > 1 || p->k_chunks > 1) {
        fcn_parallel_for(x, p->blocks * p->k_chunks, run_blocks, &r);
        return;
    }
    fcn_parallel_for(x, p->C, phase_input, &r);
    fcn_parallel_for(x, p->P, phase_gemms, &r);
    fcn_parallel_for(x, p->K, phase_output, &r);
}
