/* winograd_avx512.c — the F(4×4, 3×3) transforms with 16 tiles per zmm, for rows of more
 * than 8 tiles (56×56 maps: 14 tiles, one group instead of 8 + 6), on CPUs with AVX-512
 * (the plan's wide16). Same arithmetic as the 8-lane versions in winograd_avx2.c, same V and
 * M layouts (winograd.h); what changes is the data movement:
 *   input   a tile row of 16 tiles is 66 floats: 4 loads, then each of d0..d3 (lane l =
 *           base[4l + i]) is two two-source permutes and a 128-bit shuffle, d4/d5 are d0/d1
 *           moved down a lane with base[64]/base[65] shifted in; V stores are k-masked and
 *           split where the 16 tiles cross into the next panel;
 *   output  the 4 columns y[j] of an output row of 16 tiles go back to 64 consecutive floats
 *           by a 4×4 transpose inside each 128-bit block and a 4×4 transpose of the blocks;
 *           bias, residual and activation are applied in that row layout. */
#ifndef __clang__
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")
#endif
#include <immintrin.h>
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/winograd.h"

#define Z __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))

/* winograd8.h's 8-lane transforms with AVX-512VL masked stores: F(2×2,5×5) always takes them,
 * F(2×2,3×3) on rows of more than 8 tiles (the pair path takes the others) */
#define WINO8_FN static inline __attribute__((always_inline, target("avx512f,avx512vl,avx512dq,avx2,fma")))
#define WINO8_VL 1
#include "runtime/kernels/winograd8.h"

Z void fcn_wino_input_f25_vl(const wino_blk *b, int64_t c0, int64_t c1) { input_6x6(b, c0, c1, 2); }
Z void fcn_wino_input_f2_vl(const wino_blk *b, int64_t c0, int64_t c1) { input_f2(b, c0, c1); }
Z void fcn_wino_output_f25_vl(const wino_blk *b, int64_t k0, int64_t k1) { output_2x2(b, k0, k1, 6); }
Z void fcn_wino_output_f2_vl(const wino_blk *b, int64_t k0, int64_t k1) { output_2x2(b, k0, k1, 4); }

Z static inline void bt6z(const __m512 d[6], __m512 o[6])
{
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f);
    o[0] = _mm512_add_ps(_mm512_fnmadd_ps(five, d[2], _mm512_mul_ps(four, d[0])), d[4]);
    __m512 a = _mm512_fnmadd_ps(four, d[2], d[4]);
    __m512 b = _mm512_fnmadd_ps(four, d[1], d[3]);
    o[1] = _mm512_add_ps(a, b);
    o[2] = _mm512_sub_ps(a, b);
    __m512 c = _mm512_sub_ps(d[4], d[2]);
    __m512 e = _mm512_mul_ps(two, _mm512_sub_ps(d[3], d[1]));
    o[3] = _mm512_add_ps(c, e);
    o[4] = _mm512_sub_ps(c, e);
    o[5] = _mm512_add_ps(_mm512_fnmadd_ps(five, d[3], _mm512_mul_ps(four, d[1])), d[5]);
}

Z static inline void at6z(const __m512 m[6], __m512 y[4])
{
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f), eight = _mm512_set1_ps(8.0f);
    __m512 s12 = _mm512_add_ps(m[1], m[2]), d12 = _mm512_sub_ps(m[1], m[2]);
    __m512 s34 = _mm512_add_ps(m[3], m[4]), d34 = _mm512_sub_ps(m[3], m[4]);
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], s12), s34);
    y[1] = _mm512_fmadd_ps(two, d34, d12);
    y[2] = _mm512_fmadd_ps(four, s34, s12);
    y[3] = _mm512_add_ps(_mm512_fmadd_ps(eight, d34, d12), m[5]);
}

/* The transforms read the input in place, zero outside the map: a tile row's padded columns
 * x0 .. come from input row y (NULL above or below the map) with masked loads, so no padded
 * copy of the input is made (it was a memset and a memcpy of the whole map per layer, 3 % of
 * ResNet-18's time). The masks depend only on x0 and W: made once per group of tiles. */
typedef struct row_src { int64_t x0, ext; __mmask16 m[4]; int e[2]; } row_src;

/* nv vectors of 16 columns from x0, then the two columns after them */
Z static inline row_src row_src_for(int64_t x0, int64_t W, int nv)
{
    row_src s;
    s.x0 = x0;
    s.ext = x0 + 16 * nv;
    for (int i = 0; i < 4; i++) {
        int64_t lo, hi;
        fcn_wino_cols_in(x0 + 16 * i, W, 16, &lo, &hi);
        s.m[i] = i < nv && hi > lo ? (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u)) : 0;
    }
    for (int i = 0; i < 2; i++) s.e[i] = s.ext + i >= 0 && s.ext + i < W;
    return s;
}

Z static inline __m512 src_vec(const float *row, const row_src *s, int i)
{
    if (!row || !s->m[i]) return _mm512_setzero_ps();
    /* the address may be before the row (x0 < 0): only the masked-in lanes are read */
    return _mm512_maskz_loadu_ps(s->m[i], (const float *)((uintptr_t)row + (uintptr_t)((s->x0 + 16 * i) * 4)));
}

Z static inline float src_ext(const float *row, const row_src *s, int i)
{
    return row && s->e[i] ? row[s->ext + i] : 0.0f;
}

/* d[i] lane l = column 4l + i of the 66 (l[0..3], then e0, e1), for i < 6, l < 16 */
Z static inline void tile_row16(const __m512 l[4], float e0, float e1, __m512 d[6])
{
    for (int i = 0; i < 4; i++) {
        /* lanes 0..7 pick elements i, 4+i, ..., 28+i of the 32 floats (a, b) */
        __m512i idx = _mm512_add_epi32(_mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28),
                                       _mm512_set1_epi32(i));
        __m512 lo = _mm512_permutex2var_ps(l[0], idx, l[1]), hi = _mm512_permutex2var_ps(l[2], idx, l[3]);
        d[i] = _mm512_shuffle_f32x4(lo, hi, 0x44);   /* lo blocks 0,1 then hi blocks 0,1 */
    }
    d[4] = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(_mm512_set1_ps(e0)),
                                                   _mm512_castps_si512(d[0]), 1));
    d[5] = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(_mm512_set1_ps(e1)),
                                                   _mm512_castps_si512(d[1]), 1));
}

Z void fcn_wino_input_f4_avx512(const wino_blk *b, int64_t c0, int64_t c1)
{
    const wino_run *r = b->r;
    const fcn_wino_plan *p = r->p;
    for (int64_t c = c0; c < c1; c++) {
        const float *plane = r->in + c * p->H * p->W;
        for (int64_t ty = b->ty0; ty < b->ty1; ty++) {
            for (int64_t tx = 0; tx < p->tiles_x; tx += 16) {
                row_src rs = row_src_for(tx * 4 - p->pw, p->W, 4);
                __m512 rows[6][6];
                for (int rr = 0; rr < 6; rr++) {
                    const float *row = fcn_wino_src_row(plane, ty * 4 + rr - p->ph, p->H, p->W);
                    __m512 l[4] = { src_vec(row, &rs, 0), src_vec(row, &rs, 1), src_vec(row, &rs, 2),
                                    src_vec(row, &rs, 3) }, d[6];
                    tile_row16(l, src_ext(row, &rs, 0), src_ext(row, &rs, 1), d);
                    bt6z(d, rows[rr]);
                }
                int64_t valid = p->tiles_x - tx < 16 ? p->tiles_x - tx : 16;
                int64_t t0 = (ty - b->ty0) * p->tiles_x + tx, pan = t0 >> 4, o = t0 & 15;
                int64_t first = 16 - o < valid ? 16 - o : valid;
                __mmask16 m0 = (__mmask16)((1u << first) - 1u);
                __mmask16 m1 = (__mmask16)(((1u << valid) - 1u) & ~(unsigned)m0);
                int64_t off0 = pan * p->C * 16 + o + c * 16, off1 = (pan + 1) * p->C * 16 - first + c * 16;
                for (int j = 0; j < 6; j++) {
                    __m512 col[6], out[6];
                    for (int rr = 0; rr < 6; rr++) col[rr] = rows[rr][j];
                    bt6z(col, out);
                    for (int i = 0; i < 6; i++) {
                        float *vpos = b->v + (i * 6 + j) * p->v_stride;
                        _mm512_mask_storeu_ps(vpos + off0, m0, out[i]);
                        if (m1) {
                            /* lane l >= first lands at slot l - first of the next panel: the
                             * store's base is `first` floats before that panel's row */
                            _mm512_mask_storeu_ps(vpos + off1, m1, out[i]);
                        }
                    }
                }
            }
        }
    }
}

/* y[j] lane l = column j of tile l -> o[q] = the 16 floats of tiles 4q..4q+3 */
Z static inline void tiles_to_rows16(const __m512 y[4], __m512 o[4])
{
    __m512 t0 = _mm512_unpacklo_ps(y[0], y[1]), t1 = _mm512_unpackhi_ps(y[0], y[1]);
    __m512 t2 = _mm512_unpacklo_ps(y[2], y[3]), t3 = _mm512_unpackhi_ps(y[2], y[3]);
    /* per 128-bit block b: s0 = tile 4b, s1 = tile 4b+1, s2 = 4b+2, s3 = 4b+3 (columns 0..3) */
    __m512 s0 = _mm512_shuffle_ps(t0, t2, 0x44), s1 = _mm512_shuffle_ps(t0, t2, 0xEE);
    __m512 s2 = _mm512_shuffle_ps(t1, t3, 0x44), s3 = _mm512_shuffle_ps(t1, t3, 0xEE);
    __m512 u0 = _mm512_shuffle_f32x4(s0, s1, 0x44), u1 = _mm512_shuffle_f32x4(s0, s1, 0xEE);
    __m512 u2 = _mm512_shuffle_f32x4(s2, s3, 0x44), u3 = _mm512_shuffle_f32x4(s2, s3, 0xEE);
    o[0] = _mm512_shuffle_f32x4(u0, u2, 0x88);
    o[1] = _mm512_shuffle_f32x4(u0, u2, 0xDD);
    o[2] = _mm512_shuffle_f32x4(u1, u3, 0x88);
    o[3] = _mm512_shuffle_f32x4(u1, u3, 0xDD);
}

Z void fcn_wino_output_f4_avx512(const wino_blk *b, int64_t k0, int64_t k1)
{
    const wino_run *r = b->r;
    const fcn_wino_plan *p = r->p;
    int64_t KT = p->m_stride;
    int in_kernel_act = r->act == FCN_ACT_NONE || r->act == FCN_ACT_RELU || r->act == FCN_ACT_CLIP;
    for (int64_t k = k0; k < k1; k++) {
        __m512 bv = _mm512_set1_ps(r->bias ? r->bias[k] : 0.0f);
        float *oplane = r->out + k * p->Ho * p->Wo;
        for (int64_t ty = b->ty0; ty < b->ty1; ty++) {
            for (int64_t tx = 0; tx < p->tiles_x; tx += 16) {
                /* lanes past the tile row read later M entries (m has 16 floats of slack);
                 * they only feed columns >= Wo, which are never stored */
                const float *mbase = b->m + (k - b->kbase) * p->m_ld + (ty - b->ty0) * p->tiles_x + tx;
                __m512 cols[4][6];
                for (int j = 0; j < 6; j++) {
                    __m512 col[6], y[4];
                    for (int i = 0; i < 6; i++) col[i] = _mm512_loadu_ps(mbase + (i * 6 + j) * KT);
                    at6z(col, y);
                    for (int i = 0; i < 4; i++) cols[i][j] = y[i];
                }
                int64_t ox0 = tx * 4, oy0 = ty * 4, ncols = p->Wo - ox0;
                if (ncols > 64) ncols = 64;
                for (int i = 0; i < 4 && oy0 + i < p->Ho; i++) {
                    __m512 y[4], o[4];
                    at6z(cols[i], y);
                    tiles_to_rows16(y, o);
                    float *orow = oplane + (oy0 + i) * p->Wo + ox0;
                    const float *rrow = r->residual ? r->residual + (orow - r->out) : NULL;
                    for (int q = 0; q < 4 && 16 * q < ncols; q++) {
                        int64_t n = ncols - 16 * q;
                        __mmask16 mask = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
                        __m512 v = _mm512_add_ps(o[q], bv);
                        if (rrow) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, rrow + 16 * q));
                        if (r->act == FCN_ACT_RELU) v = _mm512_max_ps(v, _mm512_setzero_ps());
                        else if (r->act == FCN_ACT_CLIP)
                            v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(r->act_alpha)), _mm512_set1_ps(r->act_beta));
                        _mm512_mask_storeu_ps(orow + 16 * q, mask, v);
                    }
                    if (!in_kernel_act) fcn_act_apply(r->act, r->act_alpha, r->act_beta, orow, ncols);
                }
            }
        }
    }
}

/* ---- rows of at most 8 tiles: two tile rows per zmm ----------------------------------------
 * A 28×28 map has 7 F(4×4) tiles a row and a 14×14 map 7 F(2×2) tiles: the 8-lane transforms
 * ran them at 7 of 8 lanes, one tile row at a time. Here lanes 0..7 are tiles 0..7 of tile row
 * ty and lanes 8..15 those of row ty + 1, so each instruction does two rows. V and M keep their
 * dense layout (tile t = row · tiles_x + column): the input transform packs the valid lanes
 * together (vcompressps) before its masked stores, the output transform loads each row's
 * tiles into its half. Same arithmetic per element as the 8-lane versions: same bits. */

/* Where the valid lanes of a pair go in a V position (row c added): tiles t0.. of row ty from
 * the low half, the next tiles_x from the high half, each half one or two masked 8-lane
 * stores, split where its tiles cross into the next panel (the layout of winograd.h). Storing
 * the halves apart costs one extract; packing them first (vcompressps) cost two shuffle-port
 * µops per store, on the port the transpose-loads already fill. */
typedef struct pair_store { int64_t off[4]; __mmask8 mask[4]; int n[2]; } pair_store;

Z static inline pair_store pair_store_for(int64_t t0, int64_t tiles_x, int two, int64_t C, int64_t c)
{
    pair_store ps;
    for (int h = 0; h < 2; h++) {
        ps.n[h] = 0;
        if (h == 1 && !two) break;
        int64_t t = t0 + h * tiles_x, pan = t >> 4, o = t & 15, first = 16 - o < tiles_x ? 16 - o : tiles_x;
        ps.off[2 * h] = pan * C * 16 + o + c * 16;
        ps.mask[2 * h] = (__mmask8)((1u << first) - 1u);
        ps.n[h] = 1;
        if (tiles_x > first) {
            /* lane l >= first is slot l - first of the next panel */
            ps.off[2 * h + 1] = (pan + 1) * C * 16 - first + c * 16;
            ps.mask[2 * h + 1] = (__mmask8)(((1u << tiles_x) - 1u) & ~((1u << first) - 1u));
            ps.n[h] = 2;
        }
    }
    return ps;
}

Z static inline void pair_store_v(float *vpos, const pair_store *ps, __m512 v)
{
    __m256 lo = _mm512_castps512_ps256(v);
    _mm256_mask_storeu_ps(vpos + ps->off[0], ps->mask[0], lo);
    if (ps->n[0] == 2) _mm256_mask_storeu_ps(vpos + ps->off[1], ps->mask[1], lo);
    if (ps->n[1]) {
        __m256 hi = _mm512_extractf32x8_ps(v, 1);
        _mm256_mask_storeu_ps(vpos + ps->off[2], ps->mask[2], hi);
        if (ps->n[1] == 2) _mm256_mask_storeu_ps(vpos + ps->off[3], ps->mask[3], hi);
    }
}

/* d[i] lane l = column 4l + i of row a (l < 8), of row b (l >= 8), i < 6: each row's 34
 * columns are la[0..1] (32) and ea[0..1] */
Z static inline void tile_rows_pair_f4(const __m512 la[2], const float ea[2], const __m512 lb[2], const float eb[2],
                                      __m512 d[6])
{
    for (int i = 0; i < 4; i++) {
        __m512i idx = _mm512_add_epi32(_mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28),
                                       _mm512_set1_epi32(i));
        __m512 lo = _mm512_permutex2var_ps(la[0], idx, la[1]), hi = _mm512_permutex2var_ps(lb[0], idx, lb[1]);
        d[i] = _mm512_shuffle_f32x4(lo, hi, 0x44);
    }
    /* d4/d5: d0/d1 one lane down; lane 7 takes row a's column 32/33 and lane 15 row b's */
    for (int i = 0; i < 2; i++) {
        __m512 s = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(_mm512_set1_ps(eb[i])),
                                                           _mm512_castps_si512(d[i]), 1));
        d[4 + i] = _mm512_mask_mov_ps(s, (__mmask16)0x0080, _mm512_set1_ps(ea[i]));
    }
}

Z void fcn_wino_input_f4_pair_avx512(const wino_blk *b, int64_t c0, int64_t c1)
{
    const wino_run *r = b->r;
    const fcn_wino_plan *p = r->p;
    row_src rs = row_src_for(-p->pw, p->W, 2);
    for (int64_t c = c0; c < c1; c++) {
        const float *plane = r->in + c * p->H * p->W;
        for (int64_t ty = b->ty0; ty < b->ty1; ty += 2) {
            int two = ty + 1 < b->ty1;
            __m512 rows[6][6];
            for (int rr = 0; rr < 6; rr++) {
                /* a lone last row reads its own rows twice; those lanes are never stored */
                const float *ra = fcn_wino_src_row(plane, ty * 4 + rr - p->ph, p->H, p->W);
                const float *rb = two ? fcn_wino_src_row(plane, ty * 4 + 4 + rr - p->ph, p->H, p->W) : ra;
                __m512 la[2] = { src_vec(ra, &rs, 0), src_vec(ra, &rs, 1) }, lb[2] = { src_vec(rb, &rs, 0),
                                                                                      src_vec(rb, &rs, 1) };
                float ea[2] = { src_ext(ra, &rs, 0), src_ext(ra, &rs, 1) }, eb[2] = { src_ext(rb, &rs, 0),
                                                                                     src_ext(rb, &rs, 1) };
                __m512 d[6];
                tile_rows_pair_f4(la, ea, lb, eb, d);
                bt6z(d, rows[rr]);
            }
            pair_store ps = pair_store_for((ty - b->ty0) * p->tiles_x, p->tiles_x, two, p->C, c);
            for (int j = 0; j < 6; j++) {
                __m512 col[6], out[6];
                for (int rr = 0; rr < 6; rr++) col[rr] = rows[rr][j];
                bt6z(col, out);
                for (int i = 0; i < 6; i++) pair_store_v(b->v + (i * 6 + j) * p->v_stride, &ps, out[i]);
            }
        }
    }
}

/* M entries of the pair's tiles: row ty's tiles_x in lanes 0..7, row ty + 1's in 8..15. Lanes
 * past a row read later M entries (m has 16 floats of slack): they only feed columns >= Wo. */
Z static inline __m512 load_m_pair(const float *m, int64_t tiles_x)
{
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(m)), _mm256_loadu_ps(m + tiles_x), 1);
}

/* bias, residual and activation on n (<= 16 when the row has 4 or 8 tiles: n <= 32 overall,
 * split by the caller) outputs of one row, then the masked store */
Z static inline void pair_finish(const wino_run *r, float *orow, __m512 v, __m512 bv, int64_t n)
{
    if (n <= 0) return;
    __mmask16 mask = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
    v = _mm512_add_ps(v, bv);
    if (r->residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, r->residual + (orow - r->out)));
    if (r->act == FCN_ACT_RELU) v = _mm512_max_ps(v, _mm512_setzero_ps());
    else if (r->act == FCN_ACT_CLIP)
        v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(r->act_alpha)), _mm512_set1_ps(r->act_beta));
    _mm512_mask_storeu_ps(orow, mask, v);
}

Z void fcn_wino_output_f4_pair_avx512(const wino_blk *b, int64_t k0, int64_t k1)
{
    const wino_run *r = b->r;
    const fcn_wino_plan *p = r->p;
    int64_t KT = p->m_stride, ncols = p->Wo < 32 ? p->Wo : 32;
    int in_kernel_act = r->act == FCN_ACT_NONE || r->act == FCN_ACT_RELU || r->act == FCN_ACT_CLIP;
    for (int64_t k = k0; k < k1; k++) {
        __m512 bv = _mm512_set1_ps(r->bias ? r->bias[k] : 0.0f);
        float *oplane = r->out + k * p->Ho * p->Wo;
        for (int64_t ty = b->ty0; ty < b->ty1; ty += 2) {
            int two = ty + 1 < b->ty1;
            const float *mbase = b->m + (k - b->kbase) * p->m_ld + (ty - b->ty0) * p->tiles_x;
            __m512 cols[4][6];
            for (int j = 0; j < 6; j++) {
                __m512 col[6], y[4];
                for (int i = 0; i < 6; i++) col[i] = load_m_pair(mbase + (i * 6 + j) * KT, p->tiles_x);
                at6z(col, y);
                for (int i = 0; i < 4; i++) cols[i][j] = y[i];
            }
            for (int i = 0; i < 4; i++) {
                __m512 y[4], o[4];
                at6z(cols[i], y);
                tiles_to_rows16(y, o);   /* o[0], o[1]: row ty's 32 outputs; o[2], o[3]: row ty + 1's */
                for (int h = 0; h < 1 + two; h++) {
                    int64_t oy = (ty + h) * 4 + i;
                    if (oy >= p->Ho) continue;
                    float *orow = oplane + oy * p->Wo;
                    pair_finish(r, orow, o[2 * h], bv, ncols);
                    pair_finish(r, orow + 16, o[2 * h + 1], bv, ncols - 16);
                    if (!in_kernel_act) fcn_act_apply(r->act, r->act_alpha, r->act_beta, orow, ncols);
                }
            }
        }
    }
}

/* F(2×2): d[i] lane l = column 2l + i of row a (l < 8), of row b (l >= 8), i < 4: each row's 18
 * columns are la (16) and ea[0..1] */
Z static inline void tile_rows_pair_f2(__m512 la, const float ea[2], __m512 lb, const float eb[2], __m512 d[4])
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    d[0] = _mm512_permutex2var_ps(la, even, lb);
    d[1] = _mm512_permutex2var_ps(la, _mm512_add_epi32(even, _mm512_set1_epi32(1)), lb);
    for (int i = 0; i < 2; i++) {
        __m512 s = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(_mm512_set1_ps(eb[i])),
                                                           _mm512_castps_si512(d[i]), 1));
        d[2 + i] = _mm512_mask_mov_ps(s, (__mmask16)0x0080, _mm512_set1_ps(ea[i]));
    }
}

Z static inline void bt4z(const __m512 d[4], __m512 o[4])
{
    o[0] = _mm512_sub_ps(d[0], d[2]);
    o[1] = _mm512_add_ps(d[1], d[2]);
    o[2] = _mm512_sub_ps(d[2], d[1]);
    o[3] = _mm512_sub_ps(d[1], d[3]);
}

Z void fcn_wino_input_f2_pair_avx512(const wino_blk *b, int64_t c0, int64_t c1)
{
    const wino_run *r = b->r;
    const fcn_wino_plan *p = r->p;
    row_src rs = row_src_for(-p->pw, p->W, 1);
    for (int64_t c = c0; c < c1; c++) {
        const float *plane = r->in + c * p->H * p->W;
        for (int64_t ty = b->ty0; ty < b->ty1; ty += 2) {
            int two = ty + 1 < b->ty1;
            __m512 rows[4][4];
            for (int rr = 0; rr < 4; rr++) {
                const float *ra = fcn_wino_src_row(plane, ty * 2 + rr - p->ph, p->H, p->W);
                const float *rb = two ? fcn_wino_src_row(plane, ty * 2 + 2 + rr - p->ph, p->H, p->W) : ra;
                float ea[2] = { src_ext(ra, &rs, 0), src_ext(ra, &rs, 1) }, eb[2] = { src_ext(rb, &rs, 0),
                                                                                     src_ext(rb, &rs, 1) };
                __m512 d[4];
                tile_rows_pair_f2(src_vec(ra, &rs, 0), ea, src_vec(rb, &rs, 0), eb, d);
                bt4z(d, rows[rr]);
            }
            pair_store ps = pair_store_for((ty - b->ty0) * p->tiles_x, p->tiles_x, two, p->C, c);
            for (int j = 0; j < 4; j++) {
                __m512 col[4], out[4];
                for (int rr = 0; rr < 4; rr++) col[rr] = rows[rr][j];
                bt4z(col, out);
                for (int i = 0; i < 4; i++) pair_store_v(b->v + (i * 4 + j) * p->v_stride, &ps, out[i]);
            }
        }
    }
}

Z static inline void at4z(const __m512 m[4], __m512 y[2])
{
    __m512 s12 = _mm512_add_ps(m[1], m[2]);
    y[0] = _mm512_add_ps(m[0], s12);
    y[1] = _mm512_sub_ps(_mm512_sub_ps(m[1], m[2]), m[3]);
}

Z void fcn_wino_output_f2_pair_avx512(const wino_blk *b, int64_t k0, int64_t k1)
{
    const wino_run *r = b->r;
    const fcn_wino_plan *p = r->p;
    int64_t KT = p->m_stride, ncols = p->Wo < 16 ? p->Wo : 16;
    int in_kernel_act = r->act == FCN_ACT_NONE || r->act == FCN_ACT_RELU || r->act == FCN_ACT_CLIP;
    /* (tile, column) pairs back to image order: row ty from the low 256 bits of the unpacks,
     * row ty + 1 from the high */
    const __m512i row0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i row1 = _mm512_add_epi32(row0, _mm512_set1_epi32(8));
    for (int64_t k = k0; k < k1; k++) {
        __m512 bv = _mm512_set1_ps(r->bias ? r->bias[k] : 0.0f);
        float *oplane = r->out + k * p->Ho * p->Wo;
        for (int64_t ty = b->ty0; ty < b->ty1; ty += 2) {
            int two = ty + 1 < b->ty1;
            const float *mbase = b->m + (k - b->kbase) * p->m_ld + (ty - b->ty0) * p->tiles_x;
            __m512 cols[2][4];
            for (int j = 0; j < 4; j++) {
                __m512 col[4], y[2];
                for (int i = 0; i < 4; i++) col[i] = load_m_pair(mbase + (i * 4 + j) * KT, p->tiles_x);
                at4z(col, y);
                cols[0][j] = y[0];
                cols[1][j] = y[1];
            }
            for (int i = 0; i < 2; i++) {
                __m512 y[2];
                at4z(cols[i], y);
                /* lane l holds columns 2l, 2l+1 of tile l */
                __m512 lo = _mm512_unpacklo_ps(y[0], y[1]), hi = _mm512_unpackhi_ps(y[0], y[1]);
                __m512 o[2] = { _mm512_permutex2var_ps(lo, row0, hi), _mm512_permutex2var_ps(lo, row1, hi) };
                for (int h = 0; h < 1 + two; h++) {
                    int64_t oy = (ty + h) * 2 + i;
                    if (oy >= p->Ho) continue;
                    float *orow = oplane + oy * p->Wo;
                    pair_finish(r, orow, o[h], bv, ncols);
                    if (!in_kernel_act) fcn_act_apply(r->act, r->act_alpha, r->act_beta, orow, ncols);
                }
            }
        }
    }
}
