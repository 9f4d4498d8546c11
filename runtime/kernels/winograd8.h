/* winograd8.h — the 8-lane (ymm) Winograd transforms shared by winograd_avx2.c and, compiled
 * for AVX-512VL, by winograd_avx512.c: F(2×2,5×5)'s and F(4×4,3×3)'s 6×6 input tiles, F(2×2,
 * 3×3)'s input tiles, and the 2×2 output tiles of both F(2×2)s. One source, two builds: the
 * includer defines
 *   WINO8_FN   the functions' qualifiers (static inline, always_inline, and the target
 *              attribute the AVX-512 build needs under clang), and
 *   WINO8_VL   1 to store partial vectors with AVX-512VL masked stores instead of AVX2's
 *              vmaskmovps, which Zen 4 runs microcoded (3.3 ns a store against 0.55):
 *              AlexNet's 5×5 layer spent a third of its time in its input transform.
 * The arithmetic is the same code in both: the same bits. */
#ifndef FCN_WINOGRAD8_H
#define FCN_WINOGRAD8_H
#include <immintrin.h>
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/winograd.h"

#if WINO8_VL
#define WINO8_MASKSTORE(p, m, v) _mm256_mask_storeu_ps((p), (__mmask8)_mm256_movemask_ps(_mm256_castsi256_ps(m)), (v))
#else
#define WINO8_MASKSTORE(p, m, v) _mm256_maskstore_ps((p), (m), (v))
#endif

/* Bᵀ applied to a column of 6 */
WINO8_FN void bt6(const __m256 d[6], __m256 o[6])
{
    const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f), five = _mm256_set1_ps(5.0f);
    o[0] = _mm256_add_ps(_mm256_fnmadd_ps(five, d[2], _mm256_mul_ps(four, d[0])), d[4]);
    __m256 a = _mm256_fnmadd_ps(four, d[2], d[4]);        /* d4 - 4 d2 */
    __m256 b = _mm256_fnmadd_ps(four, d[1], d[3]);        /* d3 - 4 d1 */
    o[1] = _mm256_add_ps(a, b);
    o[2] = _mm256_sub_ps(a, b);
    __m256 c = _mm256_sub_ps(d[4], d[2]);                 /* d4 - d2 */
    __m256 e = _mm256_mul_ps(two, _mm256_sub_ps(d[3], d[1]));   /* 2(d3 - d1) */
    o[3] = _mm256_add_ps(c, e);
    o[4] = _mm256_sub_ps(c, e);
    o[5] = _mm256_add_ps(_mm256_fnmadd_ps(five, d[3], _mm256_mul_ps(four, d[1])), d[5]);
}

/* The activations the output transforms apply in registers (others: fcn_act_apply after the
 * store). */
WINO8_FN __m256 act8(const wino_run *r, __m256 v)
{
    if (r->act == FCN_ACT_RELU) return _mm256_max_ps(v, _mm256_setzero_ps());
    if (r->act == FCN_ACT_CLIP)
        return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(r->act_alpha)), _mm256_set1_ps(r->act_beta));
    return v;
}
/* The transforms read the input in place, zero outside the map (as the AVX-512 ones): a group
 * of tiles' columns x0 .. come from input row y (NULL above or below the map) with masked
 * loads, so no zero-padded copy of the input is made — it cost a memset and a memcpy of the
 * whole map per layer, and scratch: GoogLeNet's arena was 2.7× the two largest tensors. */
typedef struct row_src8 { int64_t x0, ext; __m256i m[4]; int any[4], e[2]; } row_src8;

/* nv vectors of 8 columns from x0, then the two columns after them */
WINO8_FN row_src8 row_src8_for(int64_t x0, int64_t W, int nv)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    row_src8 s;
    s.x0 = x0;
    s.ext = x0 + 8 * nv;
    for (int i = 0; i < 4; i++) {
        int64_t lo, hi;
        fcn_wino_cols_in(x0 + 8 * i, W, 8, &lo, &hi);
        if (hi < lo) hi = lo;
        /* lanes lo <= l < hi */
        s.m[i] = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)lo), lane),
                                     _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), lane));
        s.any[i] = i < nv && hi > lo;
    }
    for (int i = 0; i < 2; i++) s.e[i] = s.ext + i >= 0 && s.ext + i < W;
    return s;
}

WINO8_FN __m256 src_vec8(const float *row, const row_src8 *s, int i)
{
    if (!row || !s->any[i]) return _mm256_setzero_ps();
    /* the address may be before the row (x0 < 0): only the masked-in lanes are read */
    return _mm256_maskload_ps((const float *)((uintptr_t)row + (uintptr_t)((s->x0 + 8 * i) * 4)), s->m[i]);
}

WINO8_FN float src_ext8(const float *row, const row_src8 *s, int i)
{
    return row && s->e[i] ? row[s->ext + i] : 0.0f;
}

/* Where the 8 lanes of a group of tiles t0 .. t0+valid-1 go in a V position (row c added by
 * the caller): one or two masked stores, split where the tiles cross into the next panel. */
typedef struct panel_store { int64_t off[2]; __m256i mask[2]; int n; } panel_store;

WINO8_FN panel_store panel_store_for(int64_t t0, int64_t valid, int64_t C)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    panel_store ps;
    int64_t pan = t0 >> 4, o = t0 & 15, first = 16 - o < valid ? 16 - o : valid;
    ps.off[0] = pan * C * 16 + o;
    ps.mask[0] = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)first), lane);
    ps.n = 1;
    if (valid > first) {
        /* lane l >= first is tile t0 + l, slot l - first of the next panel */
        ps.off[1] = (pan + 1) * C * 16 - first;
        ps.mask[1] = _mm256_andnot_si256(ps.mask[0], _mm256_cmpgt_epi32(_mm256_set1_epi32((int)valid), lane));
        ps.n = 2;
    }
    return ps;
}

WINO8_FN void store_v(float *vpos, const panel_store *ps, int64_t c, __m256 v)
{
    WINO8_MASKSTORE(vpos + ps->off[0] + c * 16, ps->mask[0], v);
    if (ps->n == 2) WINO8_MASKSTORE(vpos + ps->off[1] + c * 16, ps->mask[1], v);
}

/* d[i] lane l = column 4l + i of the 34 (l[0..3], then e0, e1) for i < 6, l < 8 (the 6
 * columns of 8 tiles that start 4 apart in one row): a 4-way deinterleave in registers, then
 * d4/d5 are d0/d1 moved down one lane with the next tile's first two columns shifted in. An
 * 8-lane gather per column cost twice as much (36 gathers per 8 tiles and channel). */
WINO8_FN void tile_row(const __m256 l[4], float e0, float e1, __m256 d[6])
{
    __m256 a = _mm256_permute2f128_ps(l[0], l[2], 0x20), b = _mm256_permute2f128_ps(l[0], l[2], 0x31);
    __m256 c = _mm256_permute2f128_ps(l[1], l[3], 0x20), e = _mm256_permute2f128_ps(l[1], l[3], 0x31);
    __m256 t0 = _mm256_unpacklo_ps(a, b), t1 = _mm256_unpackhi_ps(a, b);
    __m256 t2 = _mm256_unpacklo_ps(c, e), t3 = _mm256_unpackhi_ps(c, e);
    d[0] = _mm256_shuffle_ps(t0, t2, 0x44);
    d[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
    d[2] = _mm256_shuffle_ps(t1, t3, 0x44);
    d[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256i down = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 0);
    d[4] = _mm256_blend_ps(_mm256_permutevar8x32_ps(d[0], down), _mm256_set1_ps(e0), 0x80);
    d[5] = _mm256_blend_ps(_mm256_permutevar8x32_ps(d[1], down), _mm256_set1_ps(e1), 0x80);
}

/* d[i] lane l = column 2l + i of the 24 (l0, l1, l2) for i < 6 (tiles start 2 apart): even and
 * odd columns, then the same moved down one and two lanes with the next ones shifted in */
WINO8_FN void tile_row_f25(__m256 l0, __m256 l1, __m256 l2, __m256 d[6])
{
    d[0] = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(l0, l1, 0x88)), 0xD8));
    d[1] = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(l0, l1, 0xDD)), 0xD8));
    /* lanes of l2: columns 16..23; e = 16, 18, 20, 22 in lanes 0..3 (even), o = 17, 19, .. */
    __m256 e = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(l2, l2, 0x88)), 0xD8));
    __m256 o = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(l2, l2, 0xDD)), 0xD8));
    const __m256i down1 = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 0), down2 = _mm256_setr_epi32(2, 3, 4, 5, 6, 7, 0, 1);
    const __m256i at7 = _mm256_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0), at67 = _mm256_setr_epi32(0, 0, 0, 0, 0, 0, 0, 1);
    d[2] = _mm256_blend_ps(_mm256_permutevar8x32_ps(d[0], down1), _mm256_permutevar8x32_ps(e, at7), 0x80);
    d[3] = _mm256_blend_ps(_mm256_permutevar8x32_ps(d[1], down1), _mm256_permutevar8x32_ps(o, at7), 0x80);
    d[4] = _mm256_blend_ps(_mm256_permutevar8x32_ps(d[0], down2), _mm256_permutevar8x32_ps(e, at67), 0xC0);
    d[5] = _mm256_blend_ps(_mm256_permutevar8x32_ps(d[1], down2), _mm256_permutevar8x32_ps(o, at67), 0xC0);
}

/* 6×6 input tiles STEP apart: 4 (F(4×4,3×3), tile_row) or 2 (F(2×2,5×5), tile_row_f25) */

WINO8_FN void input_6x6(const wino_blk *b, int64_t c0, int64_t c1, const int STEP)
{
    const wino_run *r = b->r;
    const fcn_wino_plan *p = r->p;
    for (int64_t c = c0; c < c1; c++) {
        const float *plane = r->in + c * p->H * p->W;
        for (int64_t ty = b->ty0; ty < b->ty1; ty++) {
            for (int64_t tx = 0; tx < p->tiles_x; tx += 8) {
                row_src8 rs = row_src8_for(tx * STEP - p->pw, p->W, STEP == 4 ? 4 : 3);
                __m256 rows[6][6];
                _Pragma("GCC unroll 6") for (int rr = 0; rr < 6; rr++) {
                    const float *row = fcn_wino_src_row(plane, ty * STEP + rr - p->ph, p->H, p->W);
                    __m256 l[4] = { src_vec8(row, &rs, 0), src_vec8(row, &rs, 1), src_vec8(row, &rs, 2),
                                    STEP == 4 ? src_vec8(row, &rs, 3) : _mm256_setzero_ps() }, d[6];
                    if (STEP == 4) tile_row(l, src_ext8(row, &rs, 0), src_ext8(row, &rs, 1), d);
                    else tile_row_f25(l[0], l[1], l[2], d);
                    bt6(d, rows[rr]);            /* rows[rr][j] = (d B)[rr][j] */
                }
                int64_t valid = p->tiles_x - tx < 8 ? p->tiles_x - tx : 8;
                panel_store ps = panel_store_for((ty - b->ty0) * p->tiles_x + tx, valid, p->C);
                _Pragma("GCC unroll 6") for (int j = 0; j < 6; j++) {
                    __m256 col[6], o[6];
                    _Pragma("GCC unroll 6") for (int rr = 0; rr < 6; rr++) col[rr] = rows[rr][j];
                    bt6(col, o);                 /* o[i] = (Bᵀ d B)[i][j] */
                    _Pragma("GCC unroll 6") for (int i = 0; i < 6; i++)
                        store_v(b->v + (i * 6 + j) * p->v_stride, &ps, c, o[i]);
                }
            }
        }
    }
}

/* F(2×2): d[i] lane l = column 2l + i of the 18 (l0, l1, then e0, e1) for i < 4 (tiles start
 * 2 apart): even/odd columns, then d2/d3 are d0/d1 moved down one lane with the next group's
 * first two columns shifted in. */
WINO8_FN void tile_row_f2(__m256 l0, __m256 l1, float e0, float e1, __m256 d[4])
{
    /* shuffle gives lanes in the order 0 1 4 5 2 3 6 7; the 64-bit permute puts them back */
    d[0] = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(l0, l1, 0x88)), 0xD8));
    d[1] = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(l0, l1, 0xDD)), 0xD8));
    const __m256i down = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 0);
    d[2] = _mm256_blend_ps(_mm256_permutevar8x32_ps(d[0], down), _mm256_set1_ps(e0), 0x80);
    d[3] = _mm256_blend_ps(_mm256_permutevar8x32_ps(d[1], down), _mm256_set1_ps(e1), 0x80);
}

WINO8_FN void bt4(const __m256 d[4], __m256 o[4])
{
    o[0] = _mm256_sub_ps(d[0], d[2]);
    o[1] = _mm256_add_ps(d[1], d[2]);
    o[2] = _mm256_sub_ps(d[2], d[1]);
    o[3] = _mm256_sub_ps(d[1], d[3]);
}

WINO8_FN void input_f2(const wino_blk *b, int64_t c0, int64_t c1)
{
    const wino_run *r = b->r;
    const fcn_wino_plan *p = r->p;
    for (int64_t c = c0; c < c1; c++) {
        const float *plane = r->in + c * p->H * p->W;
        for (int64_t ty = b->ty0; ty < b->ty1; ty++) {
            for (int64_t tx = 0; tx < p->tiles_x; tx += 8) {
                row_src8 rs = row_src8_for(tx * 2 - p->pw, p->W, 2);
                __m256 rows[4][4];
                _Pragma("GCC unroll 6") for (int rr = 0; rr < 4; rr++) {
                    const float *row = fcn_wino_src_row(plane, ty * 2 + rr - p->ph, p->H, p->W);
                    __m256 d[4];
                    tile_row_f2(src_vec8(row, &rs, 0), src_vec8(row, &rs, 1), src_ext8(row, &rs, 0),
                                src_ext8(row, &rs, 1), d);
                    bt4(d, rows[rr]);
                }
                int64_t valid = p->tiles_x - tx < 8 ? p->tiles_x - tx : 8;
                panel_store ps = panel_store_for((ty - b->ty0) * p->tiles_x + tx, valid, p->C);
                _Pragma("GCC unroll 6") for (int j = 0; j < 4; j++) {
                    __m256 col[4], o[4];
                    _Pragma("GCC unroll 6") for (int rr = 0; rr < 4; rr++) col[rr] = rows[rr][j];
                    bt4(col, o);
                    _Pragma("GCC unroll 6") for (int i = 0; i < 4; i++) store_v(b->v + (i * 4 + j) * p->v_stride, &ps, c, o[i]);
                }
            }
        }
    }
}

WINO8_FN void at4(const __m256 m[4], __m256 y[2])
{
    __m256 s12 = _mm256_add_ps(m[1], m[2]);
    y[0] = _mm256_add_ps(m[0], s12);
    y[1] = _mm256_sub_ps(_mm256_sub_ps(m[1], m[2]), m[3]);
}

/* Output row oy from column ox0 of a group of 8 F(2×2) tiles: y[0], y[1] hold each tile's
 * columns 2l and 2l + 1; bias, residual and activation, then up to 16 stored floats. */
WINO8_FN void store_f2_row(const wino_run *r, float *oplane, int64_t oy, int64_t ox0, __m256 y[2], __m256 bv)
{
    const fcn_wino_plan *p = r->p;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    /* lane l holds columns 2l, 2l+1: interleave into 16 consecutive floats */
    y[0] = _mm256_add_ps(y[0], bv);
    y[1] = _mm256_add_ps(y[1], bv);
    __m256 lo = _mm256_unpacklo_ps(y[0], y[1]), hi = _mm256_unpackhi_ps(y[0], y[1]);
    __m256 o[2] = { _mm256_permute2f128_ps(lo, hi, 0x20), _mm256_permute2f128_ps(lo, hi, 0x31) };
    float *orow = oplane + oy * p->Wo + ox0;
    int64_t ncols = p->Wo - ox0, n = ncols < 16 ? ncols : 16;
    for (int q = 0; q < 2; q++) {
        __m256 v = o[q];
        if (r->residual && 8 * q < n) {
            __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - 8 * q)), lane);
            v = _mm256_add_ps(v, _mm256_maskload_ps(r->residual + (orow - r->out) + 8 * q, mask));
        }
        o[q] = act8(r, v);
    }
    for (int q = 0; q < 2 && 8 * q < n; q++) {
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - 8 * q)), lane);
        WINO8_MASKSTORE(orow + 8 * q, mask, o[q]);
    }
    if (r->act != FCN_ACT_NONE && r->act != FCN_ACT_RELU && r->act != FCN_ACT_CLIP)
        fcn_act_apply(r->act, r->act_alpha, r->act_beta, orow, n);
}

/* Aᵀ of F(2×2,5×5) applied to a column of 6 -> 2 */
WINO8_FN void at62(const __m256 m[6], __m256 y[2])
{
    const __m256 two = _mm256_set1_ps(2.0f);
    __m256 s12 = _mm256_add_ps(m[1], m[2]), s34 = _mm256_add_ps(m[3], m[4]);
    __m256 d12 = _mm256_sub_ps(m[1], m[2]), d34 = _mm256_sub_ps(m[3], m[4]);
    y[0] = _mm256_add_ps(_mm256_add_ps(m[0], s12), s34);
    y[1] = _mm256_add_ps(_mm256_fmadd_ps(two, d34, d12), m[5]);
}

/* 2×2 outputs a tile from S×S positions: S = 4 (F(2×2,3×3), Aᵀ at4) or 6 (F(2×2,5×5), at62) */
WINO8_FN void output_2x2(const wino_blk *b, int64_t k0, int64_t k1, const int S)
{
    const wino_run *r = b->r;
    const fcn_wino_plan *p = r->p;
    int64_t KT = p->m_stride;
    for (int64_t k = k0; k < k1; k++) {
        __m256 bv = _mm256_set1_ps(r->bias ? r->bias[k] : 0.0f);
        float *oplane = r->out + k * p->Ho * p->Wo;
        for (int64_t ty = b->ty0; ty < b->ty1; ty++) {
            for (int64_t tx = 0; tx < p->tiles_x; tx += 8) {
                /* lanes past the tile row read the next M entries (m has 16 floats of slack);
                 * they only feed columns >= Wo, which are never stored */
                const float *mbase = b->m + (k - b->kbase) * p->m_ld + (ty - b->ty0) * p->tiles_x + tx;
                __m256 cols[2][6];   /* cols[i][j] = (Aᵀ M)[i][j] */
                _Pragma("GCC unroll 6") for (int j = 0; j < S; j++) {
                    __m256 col[6], y[2];
                    _Pragma("GCC unroll 6") for (int i = 0; i < S; i++) col[i] = _mm256_loadu_ps(mbase + (i * S + j) * KT);
                    if (S == 4) at4(col, y);
                    else at62(col, y);
                    cols[0][j] = y[0];
                    cols[1][j] = y[1];
                }
                int64_t oy0 = ty * 2;
                for (int i = 0; i < 2 && oy0 + i < p->Ho; i++) {
                    __m256 y[2];
                    if (S == 4) at4(cols[i], y);
                    else at62(cols[i], y);
                    store_f2_row(r, oplane, oy0 + i, tx * 2, y, bv);
                }
            }
        }
    }
}

#endif
