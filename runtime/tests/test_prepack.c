/* test_prepack.c — the PREPACKED section (format 1.2, `convert --prepack`): a model whose
 * convolutions take the GEMM, Winograd and grouped paths is prepacked; a session uses every
 * blob in place and computes bit for bit what a session packing its own weights computes; a
 * file packed for other kernels (another mr, the AVX2 layout on an AVX-512 session) or with a
 * blob of the wrong size falls back to packing, same results; the reference kernels refuse to
 * prepack and ignore the section; writing twice gives the same bytes; and the reader refuses
 * every structural lie in the section with a message naming it. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "converter/ir.h"
#include "runtime/fcn.h"
#include "runtime/format.h"
#include "runtime/kernels/kernels.h"

enum { C0 = 3, C1 = 32, HW = 16, NCLS = 10 };

static float *rand_floats(size_t n, uint32_t seed)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = ((float)(seed >> 8) / 16777216.0f - 0.5f) * 0.5f;
    }
    return p;
}

static int add_conv(ir_graph *g, const char *name, int x, int cin, int cout, int k, int stride, int group,
                    int hw_out, uint32_t seed)
{
    fc_error err = { 0, "" };
    char nm[64];
    int64_t wd[4] = { cout, cin / group, k, k }, bd[1] = { cout }, yd[4] = { 1, cout, hw_out, hw_out };
    snprintf(nm, sizeof nm, "%s.weight", name);
    size_t nw = (size_t)cout * (size_t)(cin / group) * (size_t)(k * k);
    int w = ir_add_const_owned(g, nm, FC_DT_F32, 4, wd, rand_floats(nw, seed), nw * sizeof(float), &err);
    snprintf(nm, sizeof nm, "%s.bias", name);
    int b = ir_add_const_owned(g, nm, FC_DT_F32, 1, bd, rand_floats((size_t)cout, seed + 1),
                               (size_t)cout * sizeof(float), &err);
    snprintf(nm, sizeof nm, "%s_out", name);
    int y = ir_add_value(g, nm, FC_DT_F32, 4, yd, &err);
    int ins[3] = { x, w, b };
    int n = ir_add_node(g, FCN_OP_CONV, name, ins, 3, &y, 1, &err);
    int64_t ks[2] = { k, k }, st[2] = { stride, stride }, p = k / 2, pads[4] = { p, p, p, p };
    ir_set_ints(&g->nodes[n], FCN_ATTR_KERNEL_SHAPE, ks, 2);
    ir_set_ints(&g->nodes[n], FCN_ATTR_STRIDES, st, 2);
    ir_set_ints(&g->nodes[n], FCN_ATTR_PADS, pads, 4);
    ir_set_int(&g->nodes[n], FCN_ATTR_GROUP, group);
    ir_set_int(&g->nodes[n], FCN_ATTR_ACT, FCN_ACT_RELU);
    assert_int_equal(err.code, 0);
    return y;
}

/* stem 3×3/1 (3 channels: the direct stem kernel on AVX-512, else GEMM), 3×3/1 32→32 (Winograd), grouped 3×3 (group 4: the grouped
 * kernel on AVX-512, the GEMM per group on AVX2), 1×1 stride 2 (GEMM), GAP, Flatten, Gemm */
static uint8_t *model_bytes(size_t *size)
{
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    int64_t xd[4] = { 1, C0, HW, HW };
    int x = ir_add_value(g, "input", FC_DT_F32, 4, xd, &err);
    int a = add_conv(g, "stem", x, C0, C1, 3, 1, 1, HW, 11);
    int b = add_conv(g, "wino", a, C1, C1, 3, 1, 1, HW, 22);
    int c = add_conv(g, "grouped", b, C1, C1, 3, 1, 4, HW, 33);
    int d = add_conv(g, "down", c, C1, 2 * C1, 1, 2, 1, HW / 2, 44);
    int64_t gd[4] = { 1, 2 * C1, 1, 1 }, fd[2] = { 1, 2 * C1 };
    int gp = ir_add_value(g, "gap_out", FC_DT_F32, 4, gd, &err);
    ir_add_node(g, FCN_OP_GLOBAL_AVGPOOL, "gap", &d, 1, &gp, 1, &err);
    int f = ir_add_value(g, "flat", FC_DT_F32, 2, fd, &err);
    int n = ir_add_node(g, FCN_OP_FLATTEN, "flatten", &gp, 1, &f, 1, &err);
    ir_set_int(&g->nodes[n], FCN_ATTR_AXIS, 1);
    int64_t fwd[2] = { NCLS, 2 * C1 }, fbd[1] = { NCLS }, yd[2] = { 1, NCLS };
    int fw = ir_add_const_owned(g, "fc.weight", FC_DT_F32, 2, fwd, rand_floats(NCLS * 2 * C1, 55),
                                NCLS * 2 * C1 * sizeof(float), &err);
    int fb = ir_add_const_owned(g, "fc.bias", FC_DT_F32, 1, fbd, rand_floats(NCLS, 66), NCLS * sizeof(float), &err);
    int y = ir_add_value(g, "logits", FC_DT_F32, 2, yd, &err);
    int gins[3] = { f, fw, fb };
    n = ir_add_node(g, FCN_OP_GEMM, "fc", gins, 3, &y, 1, &err);
    ir_set_int(&g->nodes[n], FCN_ATTR_TRANS_B, 1);
    assert_int_equal(err.code, 0);
    ir_set_io(g, &x, 1, &y, 1, &err);
    uint8_t *buf;
    if (fcv_write_fcn(g, &buf, size, &err)) fail_msg("write: %s", err.msg);
    ir_graph_free(g);
    return buf;
}

static uint8_t *prepacked_bytes(size_t *size, fcv_prepack_stats *st)
{
    uint8_t *buf = model_bytes(size);
    fc_error err = { 0, "" };
    if (fcv_prepack(&buf, size, "p.fcn", st, &err)) fail_msg("prepack: %s", err.msg);
    assert_int_equal((uintptr_t)buf % 64, 0);
    return buf;
}

/* Runs the model in buf on a fixed input; returns the logits (malloc'd) and the bytes of
 * weights the session used in place. */
static float *run_model(const uint8_t *buf, size_t size, int threads, size_t *used)
{
    fcn_model *m;
    fcn_session *s;
    fc_error err = { 0, "" };
    if (fcn_model_open_memory(buf, size, "p.fcn", 0, &m, &err)) fail_msg("open: %s", err.msg);
    fcn_session_options opt = { 0 };
    opt.threads = threads;
    if (fcn_session_create(m, &opt, &s, &err)) fail_msg("session: %s", err.msg);
    float *x = rand_floats(C0 * HW * HW, 77);
    assert_int_equal(fcn_session_set_input(s, 0, x, C0 * HW * HW * sizeof(float), &err), 0);
    assert_int_equal(fcn_session_run(s, &err), 0);
    const float *y = fcn_session_output(s, 0, NULL, NULL);
    float *out = malloc(NCLS * sizeof *out);
    memcpy(out, y, NCLS * sizeof *out);
    *used = fcn_session_prepacked_used(s);
    fcn_session_destroy(s);
    fcn_model_close(m);
    free(x);
    return out;
}

static fcn_header *hdr(uint8_t *b) { return (fcn_header *)b; }
static fcn_section *prepacked_section(uint8_t *b)
{
    fcn_section *tab = (fcn_section *)(b + hdr(b)->section_table_offset);
    for (uint32_t i = 0; i < hdr(b)->section_count; i++)
        if (tab[i].kind == FCN_SECTION_PREPACKED) return &tab[i];
    return NULL;
}
static fcn_prepack_hdr *pp_hdr(uint8_t *b) { return (fcn_prepack_hdr *)(b + prepacked_section(b)->offset); }
static fcn_prepack_rec *pp_recs(uint8_t *b) { return (fcn_prepack_rec *)(pp_hdr(b) + 1); }

/* the CRCs of the PREPACKED section, the table and the header, after tampering */
static void refix(uint8_t *b)
{
    fcn_section *s = prepacked_section(b);
    s->crc32 = fc_crc32(b + s->offset, (size_t)s->size);
    fcn_header *h = hdr(b);
    h->section_table_crc = fc_crc32(b + h->section_table_offset, h->section_count * sizeof(fcn_section));
    h->header_crc = fc_crc32(b, offsetof(fcn_header, header_crc));
}

/* grouped_wino: the grouped layer on Winograd too (FULLCONV_GWINOGRAD=4: its U, group after
 * group, is a Winograd blob), else on its own kernel */
static void check_prepacked_in_place(int grouped_wino)
{
    setenv("FULLCONV_WINOGRAD_TILE", "4", 1);   /* the 32→32 layer takes Winograd whatever the cost model says */
    setenv("FULLCONV_GWINOGRAD", grouped_wino ? "4" : "0", 1);
    size_t plain_size, size;
    uint8_t *plain = model_bytes(&plain_size);
    fcv_prepack_stats st;
    uint8_t *b = prepacked_bytes(&size, &st);
    assert_true(size > plain_size);
    /* stem, wino, grouped, down: one blob each, of each kind */
    assert_int_equal(st.blobs, 4);
    int kinds[5] = { 0 };
    for (uint32_t r = 0; r < pp_hdr(b)->count; r++) kinds[pp_recs(b)[r].kind]++;
    assert_int_equal(kinds[FCN_PREPACK_WINOGRAD], 1 + grouped_wino);
    assert_int_equal(kinds[FCN_PREPACK_GEMM] + kinds[FCN_PREPACK_GCONV] + kinds[FCN_PREPACK_STEM], 3 - grouped_wino);
    if (fcn_avx512_enabled()) {   /* the stem on the direct kernel, the grouped conv on its own */
        assert_int_equal(kinds[FCN_PREPACK_GCONV], !grouped_wino);
        assert_int_equal(kinds[FCN_PREPACK_STEM], 1);
        assert_int_equal(pp_recs(b)[0].kind, FCN_PREPACK_STEM);
    }
    assert_int_equal(pp_recs(b)[0].param, 1);   /* the stem: group 1 (GEMM) or 1 (stem) */
    for (int threads = 1; threads <= 2; threads++) {
        size_t used_plain, used;
        float *y0 = run_model(plain, plain_size, threads, &used_plain);
        float *y1 = run_model(b, size, threads, &used);
        assert_int_equal(used_plain, 0);
        assert_int_equal(used, st.bytes);   /* every blob used in place */
        assert_memory_equal(y0, y1, NCLS * sizeof(float));
        free(y0);
        free(y1);
    }
    /* deterministic: the same model prepacks to the same bytes */
    size_t size2;
    uint8_t *b2 = prepacked_bytes(&size2, &st);
    assert_int_equal(size2, size);
    assert_memory_equal(b, b2, size);
    /* a second prepack of a prepacked file is refused, the buffer left alone */
    fc_error err = { 0, "" };
    assert_int_equal(fcv_prepack(&b2, &size2, "p.fcn", &st, &err), -1);
    assert_non_null(strstr(err.msg, "already has a PREPACKED section"));
    free(b2);
    free(b);
    free(plain);
    unsetenv("FULLCONV_WINOGRAD_TILE");
    unsetenv("FULLCONV_GWINOGRAD");
}

static void test_prepacked_used_in_place(void **state)
{
    (void)state;
    if (!fcn_simd_enabled()) skip();
    check_prepacked_in_place(0);
    check_prepacked_in_place(1);
}

/* Blobs that are not what this session's kernels want are skipped, never misused. */
static void test_prepacked_mismatch_falls_back(void **state)
{
    (void)state;
    if (!fcn_simd_enabled()) skip();
    setenv("FULLCONV_WINOGRAD_TILE", "4", 1);
    size_t plain_size, size, used;
    uint8_t *plain = model_bytes(&plain_size);
    fcv_prepack_stats st;
    uint8_t *b = prepacked_bytes(&size, &st);
    float *y0 = run_model(plain, plain_size, 1, &used);
    /* another micro-kernel height: the whole section is ignored */
    uint32_t mr = pp_hdr(b)->mr;
    pp_hdr(b)->mr = 7;
    refix(b);
    float *y1 = run_model(b, size, 1, &used);
    assert_int_equal(used, 0);
    assert_memory_equal(y0, y1, NCLS * sizeof(float));
    free(y1);
    pp_hdr(b)->mr = mr;
    /* a newer packing layout: ignored */
    pp_hdr(b)->layout = FCN_PREPACK_LAYOUT + 1;
    refix(b);
    y1 = run_model(b, size, 1, &used);
    assert_int_equal(used, 0);
    free(y1);
    pp_hdr(b)->layout = FCN_PREPACK_LAYOUT;
    /* one blob a line short, another with the Winograd tile of the other size: those two are
     * packed afresh, the rest used */
    fcn_prepack_rec *r = pp_recs(b);
    uint32_t wino = 0;
    while (r[wino].kind != FCN_PREPACK_WINOGRAD) wino++;
    uint64_t short_bytes = r[0].size;
    r[0].size -= 64;
    r[wino].param = 2;
    refix(b);
    y1 = run_model(b, size, 1, &used);
    assert_int_equal(used, st.bytes - short_bytes - r[wino].size);
    assert_memory_equal(y0, y1, NCLS * sizeof(float));
    free(y1);
    free(b);
    /* packed for the AVX2 kernels (6-row panels), run on AVX-512: ignored, same results */
    if (fcn_avx512_enabled()) {
        fcn_set_avx512(0);
        b = prepacked_bytes(&size, &st);
        assert_int_equal(st.mr, FCN_MR);
        assert_int_equal(st.isa, 1);
        y1 = run_model(b, size, 1, &used);   /* the AVX2 session uses them */
        assert_int_equal(used, st.bytes);
        free(y1);
        fcn_set_avx512(1);
        y1 = run_model(b, size, 1, &used);
        assert_int_equal(used, 0);
        assert_memory_equal(y0, y1, NCLS * sizeof(float));
        free(y1);
        free(b);
    }
    free(y0);
    free(plain);
    unsetenv("FULLCONV_WINOGRAD_TILE");
}

static void test_reference_kernels(void **state)
{
    (void)state;
    if (!fcn_simd_enabled()) skip();
    size_t size, used;
    fcv_prepack_stats st;
    uint8_t *b = prepacked_bytes(&size, &st);
    int prev = fcn_use_reference_kernels(1);
    float *y = run_model(b, size, 1, &used);   /* the section is ignored */
    assert_int_equal(used, 0);
    free(y);
    size_t psize;
    uint8_t *plain = model_bytes(&psize);
    fc_error err = { 0, "" };
    assert_int_equal(fcv_prepack(&plain, &psize, "p.fcn", &st, &err), -1);
    assert_non_null(strstr(err.msg, "p.fcn: --prepack needs the AVX2 or AVX-512 kernels"));
    fcn_use_reference_kernels(prev);
    free(plain);
    free(b);
}

static void expect_refused(uint8_t *b, size_t size, const char *what)
{
    refix(b);
    fcn_model *m = NULL;
    fc_error err = { 0, "" };
    assert_int_equal(fcn_model_open_memory(b, size, "p.fcn", 0, &m, &err), -1);
    assert_null(m);
    assert_int_equal(err.code, FC_EINPUT);
    if (!strstr(err.msg, what)) fail_msg("expected '%s' in: %s", what, err.msg);
    assert_non_null(strstr(err.msg, "p.fcn: PREPACKED"));
}

static void test_hostile_section(void **state)
{
    (void)state;
    if (!fcn_simd_enabled()) skip();
    size_t size;
    fcv_prepack_stats st;
    uint8_t *orig = prepacked_bytes(&size, &st);
    uint8_t *b = malloc(size);
    assert_true(st.blobs >= 3);
#define FRESH() memcpy(b, orig, size)
    FRESH(); pp_recs(b)[1].node = pp_recs(b)[0].node;              expect_refused(b, size, "out of order");
    FRESH(); pp_recs(b)[2].node = 100000;                          expect_refused(b, size, "out of range");
    FRESH(); pp_recs(b)[0].kind = 9;                               expect_refused(b, size, "unknown kind 9");
    FRESH(); pp_recs(b)[0].kind = 0;                               expect_refused(b, size, "unknown kind 0");
    FRESH(); pp_recs(b)[0].reserved = 1;                           expect_refused(b, size, "unknown kind");
    FRESH(); pp_recs(b)[1].offset += 4;                            expect_refused(b, size, "misaligned");
    FRESH(); pp_recs(b)[1].offset = pp_recs(b)[0].offset;          expect_refused(b, size, "overlapping");
    FRESH(); pp_recs(b)[0].offset = 0;                             expect_refused(b, size, "overlapping");
    FRESH(); pp_recs(b)[st.blobs - 1].size += 4096 * 1024;        expect_refused(b, size, "outside");
    FRESH(); pp_recs(b)[st.blobs - 1].size = UINT64_MAX - 8;       expect_refused(b, size, "outside");
    FRESH(); pp_recs(b)[0].size = 6;                               expect_refused(b, size, "outside");
    FRESH(); pp_hdr(b)->count = 0xFFFFFFFFu;                       expect_refused(b, size, "records");
    FRESH(); pp_hdr(b)->count = 50;                                expect_refused(b, size, "records");
    FRESH(); pp_hdr(b)->reserved[2] = 3;                           expect_refused(b, size, "reserved");
    FRESH(); prepacked_section(b)->size = 16;                      expect_refused(b, size, "shorter than its header");
    /* an empty section (no records) is fine */
    FRESH();
    pp_hdr(b)->count = 0;
    refix(b);
    size_t used;
    float *y = run_model(b, size, 1, &used);
    assert_int_equal(used, 0);
    free(y);
#undef FRESH
    free(b);
    free(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepacked_used_in_place),
        cmocka_unit_test(test_prepacked_mismatch_falls_back),
        cmocka_unit_test(test_reference_kernels),
        cmocka_unit_test(test_hostile_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
