/* test_format.c — the .fcn writer and reader together: IR graphs written, opened from memory
 * and from a file, run in a session against a naive reference (fp32, fp16 and int8 weights);
 * write-twice determinism; and the reader refusing damaged or hostile files with the expected
 * message (truncation at every section boundary, header bit flips, CRCs, overflowing dims, ids
 * out of range, a cycle, unknown critical sections, a newer major version, ...). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "converter/ir.h"
#include "runtime/fcn.h"
#include "runtime/format.h"

/* ---- a tiny classifier: Conv(3x3, pad 1)+ReLU -> GAP -> Flatten -> Gemm --------------------- */

enum { C_IN = 2, H = 5, W = 5, C_OUT = 3, K_CLS = 4 };
enum { WT_F32, WT_F16, WT_I8 };

static float conv_w[C_OUT * C_IN * 9], conv_b[C_OUT], fc_w[K_CLS * C_OUT], fc_b[K_CLS];

static void init_weights(void)
{
    uint32_t s = 12345;
    for (size_t i = 0; i < sizeof conv_w / 4; i++) {
        s = s * 1664525u + 1013904223u;
        conv_w[i] = ((float)(s >> 8) / 16777216.0f - 0.5f);
    }
    for (int i = 0; i < C_OUT; i++) conv_b[i] = 0.1f * (float)(i - 1);
    for (size_t i = 0; i < sizeof fc_w / 4; i++) fc_w[i] = 0.25f * (float)((int)(i % 7) - 3);
    for (int i = 0; i < K_CLS; i++) fc_b[i] = 0.5f - 0.25f * (float)i;
}

/* Weights as the session will see them after expanding fp16/int8 (the reference uses these). */
static void effective_conv_w(int wt, float *out, float *scales)
{
    for (int o = 0; o < C_OUT; o++) {
        float mx = 0;
        for (int k = 0; k < C_IN * 9; k++) mx = fmaxf(mx, fabsf(conv_w[o * C_IN * 9 + k]));
        scales[o] = mx / 127.0f;
    }
    for (int i = 0; i < C_OUT * C_IN * 9; i++) {
        if (wt == WT_F32) out[i] = conv_w[i];
        else if (wt == WT_F16) out[i] = fc_f16_to_f32(fc_f32_to_f16(conv_w[i]));
        else {
            float sc = scales[i / (C_IN * 9)];
            out[i] = (float)(int8_t)lrintf(conv_w[i] / sc) * sc;
        }
    }
}

static ir_graph *build_graph(int wt)
{
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    int64_t xd[4] = { -1, C_IN, H, W };
    int x = ir_add_value(g, "input", FC_DT_F32, 4, xd, &err);
    int64_t wd[4] = { C_OUT, C_IN, 3, 3 };
    float eff[C_OUT * C_IN * 9], scales[C_OUT];
    effective_conv_w(wt, eff, scales);
    int w;
    if (wt == WT_F32) {
        w = ir_add_const(g, "conv1.weight", FC_DT_F32, 4, wd, conv_w, sizeof conv_w, &err);
    } else if (wt == WT_F16) {
        uint16_t h[C_OUT * C_IN * 9];
        for (int i = 0; i < C_OUT * C_IN * 9; i++) h[i] = fc_f32_to_f16(conv_w[i]);
        w = ir_add_const(g, "conv1.weight", FC_DT_F16, 4, wd, h, sizeof h, &err);
    } else {
        int8_t q[C_OUT * C_IN * 9];
        for (int i = 0; i < C_OUT * C_IN * 9; i++) q[i] = (int8_t)lrintf(conv_w[i] / scales[i / (C_IN * 9)]);
        w = ir_add_const(g, "conv1.weight", FC_DT_I8, 4, wd, q, sizeof q, &err);
        int64_t sd[1] = { C_OUT };
        int sc = ir_add_const(g, "conv1.weight.scale", FC_DT_F32, 1, sd, scales, sizeof scales, &err);
        ir_val(g, w)->aux = sc;
    }
    int64_t bd[1] = { C_OUT };
    int b = ir_add_const(g, "conv1.bias", FC_DT_F32, 1, bd, conv_b, sizeof conv_b, &err);
    int64_t cd[4] = { -1, C_OUT, H, W };
    int c = ir_add_value(g, "conv1_out", FC_DT_F32, 4, cd, &err);
    int ins[3] = { x, w, b };
    int n = ir_add_node(g, FCN_OP_CONV, "conv1", ins, 3, &c, 1, &err);
    int64_t k[2] = { 3, 3 }, pads[4] = { 1, 1, 1, 1 };
    ir_set_ints(&g->nodes[n], FCN_ATTR_KERNEL_SHAPE, k, 2);
    ir_set_ints(&g->nodes[n], FCN_ATTR_PADS, pads, 4);
    ir_set_int(&g->nodes[n], FCN_ATTR_ACT, FCN_ACT_RELU);
    int64_t gd[4] = { -1, C_OUT, 1, 1 };
    int gp = ir_add_value(g, "gap_out", FC_DT_F32, 4, gd, &err);
    ir_add_node(g, FCN_OP_GLOBAL_AVGPOOL, "gap", &c, 1, &gp, 1, &err);
    int64_t fd[2] = { -1, C_OUT };
    int f = ir_add_value(g, "flat", FC_DT_F32, 2, fd, &err);
    n = ir_add_node(g, FCN_OP_FLATTEN, "flatten", &gp, 1, &f, 1, &err);
    ir_set_int(&g->nodes[n], FCN_ATTR_AXIS, 1);
    int64_t fwd[2] = { K_CLS, C_OUT }, fbd[1] = { K_CLS };
    int fw = ir_add_const(g, "fc.weight", FC_DT_F32, 2, fwd, fc_w, sizeof fc_w, &err);
    int fb = ir_add_const(g, "fc.bias", FC_DT_F32, 1, fbd, fc_b, sizeof fc_b, &err);
    int64_t yd[2] = { -1, K_CLS };
    int y = ir_add_value(g, "logits", FC_DT_F32, 2, yd, &err);
    int gins[3] = { f, fw, fb };
    n = ir_add_node(g, FCN_OP_GEMM, "fc", gins, 3, &y, 1, &err);
    ir_set_int(&g->nodes[n], FCN_ATTR_TRANS_B, 1);
    assert_int_equal(err.code, 0);
    ir_set_io(g, &x, 1, &y, 1, &err);
    g->source_path = strdup("/some/where/tiny.onnx");
    g->source_format = strdup("onnx");
    g->producer = strdup("pytorch 1.13.1");
    fc_sha256("tiny", 4, g->source_sha256);
    g->source_bytes = 4;
    g->n_labels = 2;
    g->labels = malloc(2 * sizeof(char *));
    g->labels[0] = strdup("cat");
    g->labels[1] = strdup("dog");
    return g;
}

static void reference(int wt, int batch, const float *x, float *y)
{
    float eff[C_OUT * C_IN * 9], scales[C_OUT];
    effective_conv_w(wt, eff, scales);
    for (int nb = 0; nb < batch; nb++) {
        float gap[C_OUT];
        for (int o = 0; o < C_OUT; o++) {
            double sum = 0;
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    double acc = conv_b[o];
                    for (int c = 0; c < C_IN; c++)
                        for (int di = 0; di < 3; di++)
                            for (int dj = 0; dj < 3; dj++) {
                                int ii = i + di - 1, jj = j + dj - 1;
                                if (ii < 0 || jj < 0 || ii >= H || jj >= W) continue;
                                acc += (double)eff[((o * C_IN + c) * 3 + di) * 3 + dj] *
                                       x[((nb * C_IN + c) * H + ii) * W + jj];
                            }
                    sum += acc > 0 ? acc : 0;
                }
            gap[o] = (float)(sum / (H * W));
        }
        for (int k = 0; k < K_CLS; k++) {
            double acc = fc_b[k];
            for (int o = 0; o < C_OUT; o++) acc += (double)fc_w[k * C_OUT + o] * gap[o];
            y[nb * K_CLS + k] = (float)acc;
        }
    }
}

static uint8_t *write_graph(const ir_graph *g, size_t *size)
{
    uint8_t *buf;
    fc_error err = { 0, "" };
    if (fcv_write_fcn(g, &buf, size, &err)) fail_msg("write: %s", err.msg);
    assert_int_equal((uintptr_t)buf % 64, 0);
    return buf;
}

static uint8_t *tiny_model(size_t *size)
{
    ir_graph *g = build_graph(WT_F32);
    uint8_t *buf = write_graph(g, size);
    ir_graph_free(g);
    return buf;
}

/* ---- tampering helpers ------------------------------------------------------------------------ */

static fcn_header *hdr(uint8_t *b) { return (fcn_header *)b; }
static fcn_section *sections(uint8_t *b) { return (fcn_section *)(b + hdr(b)->section_table_offset); }
static fcn_section *find_section(uint8_t *b, uint32_t kind)
{
    for (uint32_t i = 0; i < hdr(b)->section_count; i++)
        if (sections(b)[i].kind == kind) return &sections(b)[i];
    return NULL;
}

/* Recomputes every CRC so a test reaches the semantic check behind them. */
static void refix(uint8_t *b)
{
    fcn_header *h = hdr(b);
    /* tests only build files whose table has at most 6 entries; a damaged count is left alone */
    uint32_t n = h->section_count <= 6 ? h->section_count : 0;
    for (uint32_t i = 0; i < n; i++) {
        fcn_section *s = &sections(b)[i];
        if (s->offset <= h->file_size && s->size <= h->file_size - s->offset)
            s->crc32 = fc_crc32(b + s->offset, s->size);
    }
    if (n) h->section_table_crc = fc_crc32(sections(b), n * sizeof(fcn_section));
    h->header_crc = fc_crc32(b, offsetof(fcn_header, header_crc));
}

static fcn_graph_hdr *graph_hdr(uint8_t *b) { return (fcn_graph_hdr *)(b + find_section(b, FCN_SECTION_GRAPH)->offset); }
static fcn_node_rec *node_recs(uint8_t *b)
{
    fcn_graph_hdr *g = graph_hdr(b);
    size_t io = ((size_t)4 * (g->n_inputs + g->n_outputs) + 7) & ~(size_t)7;
    return (fcn_node_rec *)((uint8_t *)g + sizeof *g + io);
}
static uint32_t *id_array(uint8_t *b) { return (uint32_t *)(node_recs(b) + graph_hdr(b)->n_nodes); }
static fcn_attr_rec *attr_recs(uint8_t *b)
{
    fcn_graph_hdr *g = graph_hdr(b);
    return (fcn_attr_rec *)((uint8_t *)id_array(b) + (((size_t)4 * g->n_ids + 7) & ~(size_t)7));
}
static fcn_tensor_rec *tensor_recs(uint8_t *b) { return (fcn_tensor_rec *)(b + find_section(b, FCN_SECTION_TENSORS)->offset); }
static int tensor_index(uint8_t *b, const char *name)
{
    fcn_tensor_rec *t = tensor_recs(b);
    const char *str = (const char *)b + find_section(b, FCN_SECTION_STRINGS)->offset;
    int n = (int)(find_section(b, FCN_SECTION_TENSORS)->size / sizeof(fcn_tensor_rec));
    for (int i = 0; i < n; i++)
        if (t[i].name_len == strlen(name) && memcmp(str + t[i].name_off, name, t[i].name_len) == 0) return i;
    fail_msg("no tensor %s", name);
    return -1;
}

/* Opens a (tampered) copy and expects a refusal whose message contains `expect`. */
static void expect_refused(const uint8_t *b, size_t size, const char *expect)
{
    fcn_model *m = NULL;
    fc_error err = { 0, "" };
    int rc = fcn_model_open_memory(b, size, "m.fcn", 1, &m, &err);
    if (rc == 0) {
        fcn_model_close(m);
        fail_msg("accepted, expected a refusal containing '%s'", expect);
    }
    assert_null(m);
    assert_int_equal(err.code, FC_EINPUT);
    if (strncmp(err.msg, "m.fcn: ", 7) != 0) fail_msg("message does not start with the file: %s", err.msg);
    if (!strstr(err.msg, expect)) fail_msg("message '%s' lacks '%s'", err.msg, expect);
}

static uint8_t *dup_buf(const uint8_t *b, size_t size, size_t extra)
{
    uint8_t *c = aligned_alloc(64, (size + extra + 63) / 64 * 64);
    memset(c, 0, (size + extra + 63) / 64 * 64);
    memcpy(c, b, size);
    return c;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_write_is_deterministic(void **state)
{
    (void)state;
    ir_graph *g = build_graph(WT_F32);
    size_t s1, s2, s3;
    uint8_t *a = write_graph(g, &s1), *b = write_graph(g, &s2);
    fc_error err = { 0, "" };
    ir_graph *c = ir_clone(g, &err);
    assert_non_null(c);
    uint8_t *d = write_graph(c, &s3);
    assert_int_equal(s1, s2);
    assert_memory_equal(a, b, s1);
    assert_int_equal(s1, s3);
    assert_memory_equal(a, d, s1);
    /* a freshly built identical graph too (no pointers or time leak into the bytes) */
    ir_graph *g2 = build_graph(WT_F32);
    size_t s4;
    uint8_t *e = write_graph(g2, &s4);
    assert_int_equal(s1, s4);
    assert_memory_equal(a, e, s1);
    free(a); free(b); free(d); free(e);
    ir_graph_free(g); ir_graph_free(c); ir_graph_free(g2);
}

static void test_roundtrip_model_accessors(void **state)
{
    (void)state;
    size_t size;
    uint8_t *b = tiny_model(&size);
    fcn_model *m;
    fc_error err = { 0, "" };
    if (fcn_model_open_memory(b, size, "tiny.fcn", 0, &m, &err)) fail_msg("%s", err.msg);
    assert_string_equal(fcn_model_name(m), "tiny.fcn");
    assert_int_equal(fcn_model_num_inputs(m), 1);
    assert_int_equal(fcn_model_num_outputs(m), 1);
    assert_int_equal(fcn_model_num_nodes(m), 4);
    assert_string_equal(fcn_model_input_name(m, 0), "input");
    assert_string_equal(fcn_model_output_name(m, 0), "logits");
    assert_null(fcn_model_input_name(m, 1));
    fcn_shape sh;
    fcn_model_input_shape(m, 0, &sh);
    assert_int_equal(sh.ndim, 4);
    assert_int_equal(sh.dims[0], -1);
    assert_int_equal(sh.dims[1], C_IN);
    fcn_model_output_shape(m, 0, &sh);
    assert_int_equal(sh.ndim, 2);
    assert_int_equal(sh.dims[1], K_CLS);
    assert_int_equal(fcn_model_file_size(m), size);
    assert_int_equal(fcn_model_param_count(m), C_OUT * C_IN * 9 + C_OUT + K_CLS * C_OUT + K_CLS);
    assert_int_equal(fcn_model_weight_bytes(m), 4 * (C_OUT * C_IN * 9 + C_OUT + K_CLS * C_OUT + K_CLS));
    size_t len;
    const char *meta = fcn_model_metadata(m, &len);
    char *text = strndup(meta, len);
    const char *must[] = { "\"format_version\":\"1.3\"", "\"producer\":\"fullconv ", "\"file\":\"tiny.onnx\"",
                           "\"sha256\":\"", "\"bytes\":4", "\"format\":\"onnx\"", "\"producer\":\"pytorch 1.13.1\"",
                           "\"inputs\":[{\"name\":\"input\",\"dtype\":\"f32\",\"shape\":[-1,2,5,5]}]",
                           "\"labels\":[\"cat\",\"dog\"]", "\"passes\":[]" };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        if (!strstr(text, must[i])) fail_msg("META lacks %s: %s", must[i], text);
    assert_null(strstr(text, "/some/where"));   /* only the base name is recorded */
    free(text);
    fcn_model_close(m);

    /* from a file, through the atomic save */
    char dir[] = "/tmp/fcn_fmt_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/tiny.fcn", dir);
    ir_graph *g = build_graph(WT_F32);
    assert_int_equal(fcv_save_fcn(g, path, 0, &err), 0);
    assert_int_equal(fcv_save_fcn(g, path, 0, &err), -1);   /* exists, no force */
    assert_non_null(strstr(err.msg, "already exists"));
    free(g->source_path);
    g->source_path = strdup(path);                         /* never overwrite the source */
    assert_int_equal(fcv_save_fcn(g, path, 1, &err), -1);
    assert_non_null(strstr(err.msg, "source"));
    ir_graph_free(g);
    if (fcn_model_open(path, &m, &err)) fail_msg("%s", err.msg);
    assert_int_equal(fcn_model_file_size(m), size);
    fcn_model_close(m);
    assert_int_equal(fcn_model_open("/nonexistent.fcn", &m, &err), -1);
    assert_int_equal(err.code, FC_EINPUT);
    unlink(path);
    rmdir(dir);
    free(b);
}

static void run_tiny(int wt, int batch, int threads)
{
    ir_graph *g = build_graph(wt);
    size_t size;
    uint8_t *b = write_graph(g, &size);
    ir_graph_free(g);
    fcn_model *m;
    fcn_session *s;
    fc_error err = { 0, "" };
    if (fcn_model_open_memory(b, size, "tiny.fcn", 0, &m, &err)) fail_msg("%s", err.msg);
    fcn_shape in_shape = { 4, { batch, C_IN, H, W } };
    fcn_session_options opt = { threads, 1, &in_shape, 1 };
    if (fcn_session_create(m, &opt, &s, &err)) fail_msg("%s", err.msg);
    fcn_shape sh;
    int dt;
    float *x = fcn_session_input(s, 0, &sh, &dt);
    assert_int_equal(dt, FC_DT_F32);
    assert_int_equal(sh.dims[0], batch);
    size_t nx = (size_t)batch * C_IN * H * W;
    for (size_t i = 0; i < nx; i++) x[i] = sinf((float)i * 0.7f);
    float *xcopy = malloc(nx * 4);
    memcpy(xcopy, x, nx * 4);
    assert_int_equal(fcn_session_run(s, &err), 0);
    const float *y = fcn_session_output(s, 0, &sh, &dt);
    assert_int_equal(sh.ndim, 2);
    assert_int_equal(sh.dims[0], batch);
    assert_int_equal(sh.dims[1], K_CLS);
    float ref[8 * K_CLS];
    reference(wt, batch, xcopy, ref);
    for (int i = 0; i < batch * K_CLS; i++)
        if (fabsf(y[i] - ref[i]) > 1e-5f + 1e-5f * fabsf(ref[i]))
            fail_msg("wt %d: y[%d] = %g, reference %g", wt, i, (double)y[i], (double)ref[i]);
    assert_memory_equal(x, xcopy, nx * 4);   /* the input is never overwritten */
    assert_int_equal(fcn_session_find_output(s, "logits"), 0);
    assert_int_equal(fcn_session_find_input(s, "input"), 0);
    assert_int_equal(fcn_session_find_output(s, "nope"), -1);
    /* node info: conv params and MACs */
    fcn_node_info info;
    fcn_session_node_info(s, 0, &info);
    assert_string_equal(info.name, "conv1");
    assert_string_equal(info.op, "Conv");
    assert_int_equal(info.params, C_OUT * C_IN * 9 + C_OUT);
    assert_true(info.macs >= (uint64_t)batch * C_OUT * H * W * C_IN * 9 * 4 / 9);
    assert_true(info.last_ms >= 0);
    assert_int_equal(info.out_shape.dims[1], C_OUT);
    /* the FC: a model this small stays in the L3, its GEMV reads four weight rows at a time
     * (session.c, FCN_WARM_WEIGHT_BYTES) unless turned off */
    for (int i = 0; i < fcn_session_num_nodes(s); i++) {
        fcn_session_node_info(s, i, &info);
        if (strcmp(info.op, "Gemm") == 0 && strncmp(info.kernel, "gemv", 4) == 0)
            assert_string_equal(info.kernel, getenv("FULLCONV_NO_WARM_GEMV") ? "gemv-avx2" : "gemv-warm-avx2");
    }
    if (wt == WT_F32) assert_int_equal(fcn_session_packed_bytes(s), 0);   /* fp32 used in place */
    else assert_int_equal(fcn_session_packed_bytes(s), sizeof conv_w);
    /* set_input checks the size */
    assert_int_equal(fcn_session_set_input(s, 0, xcopy, nx * 4 - 4, &err), -1);
    assert_int_equal(fcn_session_set_input(s, 0, xcopy, nx * 4, &err), 0);
    /* a second run gives the same bits */
    float first[8 * K_CLS];
    memcpy(first, y, (size_t)batch * K_CLS * 4);
    assert_int_equal(fcn_session_run(s, &err), 0);
    assert_memory_equal(first, y, (size_t)batch * K_CLS * 4);
    int nv = fcn_session_num_values(s);
    int found = 0;
    for (int v = 0; v < nv; v++) {
        const char *name;
        fcn_session_value_info(s, v, &name, &sh, &dt);
        if (strcmp(name, "gap_out") == 0) {
            found = 1;
            assert_int_equal(sh.ndim, 4);
            assert_int_equal(sh.dims[0], batch);
            assert_int_equal(sh.dims[2], 1);
        }
    }
    assert_true(found);
    free(xcopy);
    fcn_session_destroy(s);
    fcn_model_close(m);
    free(b);
}

static void test_session_fp32(void **state)
{
    (void)state;
    run_tiny(WT_F32, 1, 1);
    run_tiny(WT_F32, 3, 2);
    setenv("FULLCONV_NO_WARM_GEMV", "1", 1);
    run_tiny(WT_F32, 1, 1);
    unsetenv("FULLCONV_NO_WARM_GEMV");
}
static void test_session_fp16(void **state) { (void)state; run_tiny(WT_F16, 2, 1); }
static void test_session_int8(void **state) { (void)state; run_tiny(WT_I8, 2, 2); }

static void test_session_bad_input_shape(void **state)
{
    (void)state;
    size_t size;
    uint8_t *b = tiny_model(&size);
    fcn_model *m;
    fcn_session *s = NULL;
    fc_error err = { 0, "" };
    assert_int_equal(fcn_model_open_memory(b, size, "tiny.fcn", 0, &m, &err), 0);
    fcn_shape wrong_rank = { 3, { 1, C_IN, H } };
    fcn_session_options opt = { 1, 1, &wrong_rank, 0 };
    assert_int_equal(fcn_session_create(m, &opt, &s, &err), -1);
    assert_non_null(strstr(err.msg, "tiny.fcn: input 'input'"));
    fcn_shape wrong_channels = { 4, { 1, C_IN + 1, H, W } };
    opt.input_shapes = &wrong_channels;
    assert_int_equal(fcn_session_create(m, &opt, &s, &err), -1);
    assert_non_null(strstr(err.msg, "tiny.fcn: "));
    assert_non_null(strstr(err.msg, "conv1"));
    assert_null(s);
    /* the stored shape (-1 batch becomes 1) */
    assert_int_equal(fcn_session_create(m, NULL, &s, &err), 0);
    fcn_shape sh;
    fcn_session_input(s, 0, &sh, NULL);
    assert_int_equal(sh.dims[0], 1);
    fcn_session_destroy(s);
    fcn_model_close(m);
    free(b);
}

static void test_truncation_at_every_boundary(void **state)
{
    (void)state;
    size_t size;
    uint8_t *b = tiny_model(&size);
    fcn_header *h = hdr(b);
    size_t cuts[64];
    int n = 0;
    cuts[n++] = 0;
    cuts[n++] = 8;
    cuts[n++] = 63;
    cuts[n++] = 64;
    cuts[n++] = h->section_table_offset + 16;
    for (uint32_t i = 0; i < h->section_count; i++) {
        fcn_section *s = &sections(b)[i];
        cuts[n++] = s->offset;
        if (s->size) cuts[n++] = s->offset + s->size / 2;
        if (s->offset + s->size < size) cuts[n++] = s->offset + s->size;
    }
    cuts[n++] = size - 1;
    for (int i = 0; i < n; i++) {
        uint8_t *c = dup_buf(b, cuts[i], 0);
        expect_refused(c, cuts[i], cuts[i] < 64 ? "truncated" : "header says");
        free(c);
    }
    /* a padded file too */
    uint8_t *c = dup_buf(b, size, 64);
    expect_refused(c, size + 64, "header says");
    free(c);
    free(b);
}

static void test_header_bit_flips(void **state)
{
    (void)state;
    size_t size;
    uint8_t *b = tiny_model(&size);
    for (size_t byte = 0; byte < sizeof(fcn_header); byte++) {
        for (int bit = 0; bit < 8; bit++) {
            uint8_t *c = dup_buf(b, size, 0);
            c[byte] ^= (uint8_t)(1u << bit);
            fcn_model *m = NULL;
            fc_error err = { 0, "" };
            if (fcn_model_open_memory(c, size, "m.fcn", 1, &m, &err) == 0)
                fail_msg("flip of byte %zu bit %d accepted", byte, bit);
            assert_int_equal(err.code, FC_EINPUT);
            free(c);
        }
    }
    /* specific messages */
    uint8_t *c = dup_buf(b, size, 0);
    c[0] = 'X';
    expect_refused(c, size, "bad magic");
    memcpy(c, b, size);
    hdr(c)->header_crc ^= 1;
    expect_refused(c, size, "header crc mismatch (stored 0x");
    memcpy(c, b, size);
    hdr(c)->reserved[3] = 1;   /* covered by the header crc */
    expect_refused(c, size, "header crc mismatch");
    free(c);
    free(b);
}

static void test_versions(void **state)
{
    (void)state;
    size_t size;
    uint8_t *b = tiny_model(&size);
    uint8_t *c = dup_buf(b, size, 0);
    hdr(c)->version_major = 2;
    hdr(c)->version_minor = 3;
    refix(c);
    expect_refused(c, size, "format version 2.3 is newer than this reader's 1.3");
    hdr(c)->version_major = 0;
    refix(c);
    expect_refused(c, size, "not supported");
    /* a newer minor of our major is accepted */
    memcpy(c, b, size);
    hdr(c)->version_minor = 7;
    refix(c);
    fcn_model *m;
    fc_error err = { 0, "" };
    assert_int_equal(fcn_model_open_memory(c, size, "m.fcn", 0, &m, &err), 0);
    fcn_model_close(m);
    memcpy(c, b, size);
    hdr(c)->header_size = 72;
    refix(c);
    expect_refused(c, size, "header_size");
    free(c);
    free(b);
}

static void test_section_crcs_and_bounds(void **state)
{
    (void)state;
    size_t size;
    uint8_t *b = tiny_model(&size);
    uint8_t *c = dup_buf(b, size, 0);
    /* damage inside each section's payload */
    const char *names[] = { "", "META", "STRINGS", "TENSORS", "GRAPH", "DATA" };
    for (uint32_t i = 0; i < hdr(b)->section_count; i++) {
        memcpy(c, b, size);
        fcn_section *s = &sections(c)[i];
        c[s->offset + s->size / 2] ^= 0x40;
        char expect[96];
        snprintf(expect, sizeof expect, "section %u (%s) crc mismatch (stored 0x", i, names[s->kind]);
        expect_refused(c, size, expect);
    }
    /* the table itself */
    memcpy(c, b, size);
    sections(c)[1].size += 1;
    expect_refused(c, size, "section table crc mismatch");
    /* misaligned, out of bounds, overlapping sections (CRCs refixed) */
    memcpy(c, b, size);
    sections(c)[2].offset += 8;
    refix(c);
    expect_refused(c, size, "not a multiple of 64");
    memcpy(c, b, size);
    sections(c)[4].size = 1ull << 62;
    refix(c);
    expect_refused(c, size, "extends past the end");
    memcpy(c, b, size);
    sections(c)[4].offset = UINT64_MAX - 63;
    refix(c);
    expect_refused(c, size, "extends past the end");
    memcpy(c, b, size);
    sections(c)[1].offset = sections(c)[0].offset;
    refix(c);
    expect_refused(c, size, "overlaps");
    memcpy(c, b, size);
    sections(c)[3].kind = FCN_SECTION_TENSORS;
    refix(c);
    expect_refused(c, size, "a second TENSORS section");
    memcpy(c, b, size);
    hdr(c)->section_count = 4;
    refix(c);
    expect_refused(c, size, "missing the DATA section");
    memcpy(c, b, size);
    hdr(c)->section_count = 0;
    refix(c);
    expect_refused(c, size, "section_count 0");
    memcpy(c, b, size);
    hdr(c)->section_count = 1000;
    refix(c);
    expect_refused(c, size, "section_count 1000");
    free(c);
    free(b);
}

/* The table of 5 entries ends at 224 and the first payload starts at 256: room for a sixth
 * entry, pointing at an empty payload at the end of the file. */
static void test_unknown_sections(void **state)
{
    (void)state;
    size_t size;
    uint8_t *b = tiny_model(&size);
    size_t nsize = (size + 63) / 64 * 64;
    uint8_t *c = dup_buf(b, size, 64);
    assert_true(hdr(c)->section_table_offset + 6 * sizeof(fcn_section) <= sections(c)[0].offset);
    fcn_section *s = &sections(c)[5];
    memset(s, 0, sizeof *s);
    s->kind = 99;
    s->flags = FCN_SECTION_CRITICAL;
    s->offset = nsize;
    s->size = 0;
    hdr(c)->section_count = 6;
    hdr(c)->file_size = nsize;
    refix(c);
    expect_refused(c, nsize, "section 5 has unknown kind 99 marked critical");
    s->flags = 0;   /* non-critical: ignored */
    refix(c);
    fcn_model *m;
    fc_error err = { 0, "" };
    if (fcn_model_open_memory(c, nsize, "m.fcn", 0, &m, &err)) fail_msg("%s", err.msg);
    fcn_model_close(m);
    free(c);
    free(b);
}

static void test_tensor_records(void **state)
{
    (void)state;
    size_t size;
    uint8_t *b = tiny_model(&size);
    uint8_t *c = dup_buf(b, size, 0);
    int w = tensor_index(b, "conv1.weight");
    /* overflowing dims: 2^40 * 2^40 elements */
    tensor_recs(c)[w].dims[0] = 1ll << 40;
    tensor_recs(c)[w].dims[1] = 1ll << 40;
    refix(c);
    expect_refused(c, size, "constant 'conv1.weight' has negative or overflowing dims");
    memcpy(c, b, size);
    tensor_recs(c)[w].dims[2] = -3;
    refix(c);
    expect_refused(c, size, "negative or overflowing");
    memcpy(c, b, size);
    tensor_recs(c)[w].dims[0] = 4;   /* size no longer matches */
    refix(c);
    expect_refused(c, size, "data_size 216, its shape needs 288");
    memcpy(c, b, size);
    tensor_recs(c)[w].data_off += 4;
    refix(c);
    expect_refused(c, size, "not a multiple of 64");
    memcpy(c, b, size);
    tensor_recs(c)[w].data_off = 1ull << 40;
    refix(c);
    expect_refused(c, size, "lies outside DATA");
    memcpy(c, b, size);
    tensor_recs(c)[w].dtype = 77;
    refix(c);
    expect_refused(c, size, "invalid dtype 77");
    memcpy(c, b, size);
    tensor_recs(c)[w].ndim = 9;
    refix(c);
    expect_refused(c, size, "9 dims");
    memcpy(c, b, size);
    tensor_recs(c)[w].name_off = 1u << 30;
    refix(c);
    expect_refused(c, size, "outside STRINGS");
    memcpy(c, b, size);
    tensor_recs(c)[w].name_len = 0;
    refix(c);
    expect_refused(c, size, "name of 0 bytes");
    memcpy(c, b, size);
    tensor_recs(c)[w].aux_id = 0;
    refix(c);
    expect_refused(c, size, "has an aux tensor");
    memcpy(c, b, size);
    find_section(c, FCN_SECTION_TENSORS)->size -= 8;
    refix(c);
    expect_refused(c, size, "not a multiple of 104");
    free(c);
    free(b);

    /* int8 weights with a broken scale tensor */
    ir_graph *g = build_graph(WT_I8);
    b = write_graph(g, &size);
    ir_graph_free(g);
    c = dup_buf(b, size, 0);
    w = tensor_index(b, "conv1.weight");
    tensor_recs(c)[w].aux_id = 100000;
    refix(c);
    expect_refused(c, size, "scale tensor id 100000");
    memcpy(c, b, size);
    tensor_recs(c)[w].aux_id = (uint32_t)tensor_index(b, "conv1.bias");   /* f32 [3]: accepted */
    refix(c);
    fcn_model *m;
    fc_error err = { 0, "" };
    assert_int_equal(fcn_model_open_memory(c, size, "m.fcn", 1, &m, &err), 0);
    fcn_model_close(m);
    tensor_recs(c)[w].aux_id = (uint32_t)tensor_index(b, "fc.bias");   /* 4 entries for 3 channels */
    refix(c);
    expect_refused(c, size, "must be an f32 constant of 3 entries");
    tensor_recs(c)[w].aux_id = (uint32_t)tensor_index(b, "input");
    refix(c);
    expect_refused(c, size, "must be an f32 constant");
    free(c);
    free(b);
}

static void test_graph_records(void **state)
{
    (void)state;
    size_t size;
    uint8_t *b = tiny_model(&size);
    uint8_t *c = dup_buf(b, size, 0);
    /* node 'conv1' input 2 (the bias) out of range */
    id_array(c)[node_recs(c)[0].in_first + 2] = 913;
    refix(c);
    expect_refused(c, size, "node 'conv1' input 2 refers to value 913, only");
    memcpy(c, b, size);
    id_array(c)[node_recs(c)[0].out_first] = 5000;
    refix(c);
    expect_refused(c, size, "node 'conv1' output 0 refers to value 5000");
    /* an absent optional input is fine */
    memcpy(c, b, size);
    id_array(c)[node_recs(c)[0].in_first + 2] = FCN_NO_VALUE;
    refix(c);
    fcn_model *m;
    fc_error err = { 0, "" };
    assert_int_equal(fcn_model_open_memory(c, size, "m.fcn", 1, &m, &err), 0);
    fcn_model_close(m);
    /* a cycle: conv1 reads the output of the last node */
    memcpy(c, b, size);
    uint32_t last_out = id_array(c)[node_recs(c)[3].out_first];
    id_array(c)[node_recs(c)[0].in_first] = last_out;
    refix(c);
    expect_refused(c, size, "node 'conv1' input 0 ('logits') is not a constant, a graph input or an earlier node's output");
    /* two nodes producing the same value */
    memcpy(c, b, size);
    id_array(c)[node_recs(c)[1].out_first] = id_array(c)[node_recs(c)[0].out_first];
    refix(c);
    expect_refused(c, size, "is already a node output");
    /* a node writing a constant */
    memcpy(c, b, size);
    id_array(c)[node_recs(c)[1].out_first] = (uint32_t)tensor_index(b, "fc.bias");
    refix(c);
    expect_refused(c, size, "is already a constant");
    /* graph input that is a constant; output never produced */
    memcpy(c, b, size);
    uint32_t *io = (uint32_t *)(graph_hdr(c) + 1);
    io[0] = (uint32_t)tensor_index(b, "conv1.weight");
    refix(c);
    expect_refused(c, size, "graph input 0 ('conv1.weight') is a constant");
    memcpy(c, b, size);
    io[1] = (uint32_t)tensor_index(b, "input");
    refix(c);
    expect_refused(c, size, "graph output 'input' is not produced");
    memcpy(c, b, size);
    io[1] = 70000;
    refix(c);
    expect_refused(c, size, "graph output 0 refers to value 70000");
    /* unknown op, arity outside the op's range */
    memcpy(c, b, size);
    node_recs(c)[1].op = 999;
    refix(c);
    expect_refused(c, size, "node 'gap' has unknown op 999");
    memcpy(c, b, size);
    node_recs(c)[0].n_in = 1;
    refix(c);
    expect_refused(c, size, "node 'conv1' (Conv) has 1 inputs");
    memcpy(c, b, size);
    node_recs(c)[0].in_first = 0xfffffff0u;
    refix(c);
    expect_refused(c, size, "outside the");
    /* counts that do not match the section size */
    memcpy(c, b, size);
    graph_hdr(c)->n_ids += 2;
    refix(c);
    expect_refused(c, size, "GRAPH section is");
    memcpy(c, b, size);
    graph_hdr(c)->n_nodes = 0xffffffffu;
    refix(c);
    expect_refused(c, size, "nodes, over the limit");
    /* an int8 Conv weight stored input-major (W_LAYOUT 1): its scales would run along the wrong
     * dimension; refused at open (the same model with fp32 weights opens) */
    for (int wt = 0; wt < 2; wt++) {
        ir_graph *g = build_graph(wt ? WT_I8 : WT_F32);
        ir_set_int(&g->nodes[0], FCN_ATTR_W_LAYOUT, 1);
        size_t qs;
        uint8_t *q = write_graph(g, &qs);
        ir_graph_free(g);
        if (wt) {
            expect_refused(q, qs, "node 'conv1' (Conv) has an int8 weight stored input-major (w_layout)");
        } else {
            fcn_model *mq;
            assert_int_equal(fcn_model_open_memory(q, qs, "m.fcn", 1, &mq, &err), 0);
            fcn_model_close(mq);
        }
        free(q);
    }
    /* attributes: duplicate key, unknown key, bad kind, count, slots */
    fcn_attr_rec *a;
    memcpy(c, b, size);
    a = attr_recs(c) + node_recs(c)[0].attr_first;
    a[1].key = a[0].key;
    refix(c);
    expect_refused(c, size, "node 'conv1' has attribute");
    memcpy(c, b, size);
    a = attr_recs(c) + node_recs(c)[0].attr_first;
    a[0].key = 200;
    refix(c);
    expect_refused(c, size, "unknown key 200");
    memcpy(c, b, size);
    a = attr_recs(c) + node_recs(c)[0].attr_first;
    a[0].kind = 9;
    refix(c);
    expect_refused(c, size, "unknown kind 9");
    memcpy(c, b, size);
    a = attr_recs(c) + node_recs(c)[0].attr_first;
    a[1].count = FCN_MAX_ATTR_VALUES + 1;
    refix(c);
    expect_refused(c, size, "65 values");
    memcpy(c, b, size);
    a = attr_recs(c) + node_recs(c)[0].attr_first;
    a[1].slot_first = 0xfffffffeu;
    refix(c);
    expect_refused(c, size, "outside the");
    memcpy(c, b, size);
    a = attr_recs(c) + node_recs(c)[0].attr_first;
    a[0].kind = FCN_AK_INT;
    a[0].count = 2;
    refix(c);
    expect_refused(c, size, "scalar attribute");
    /* META must be JSON */
    memcpy(c, b, size);
    c[find_section(c, FCN_SECTION_META)->offset] = '[';
    refix(c);
    expect_refused(c, size, "META section is not a JSON object");
    /* node name outside STRINGS */
    memcpy(c, b, size);
    node_recs(c)[2].name_len = 100000;
    refix(c);
    expect_refused(c, size, "node 2 has a name of 100000 bytes");
    free(c);
    free(b);
}

/* Random byte damage anywhere, CRCs refixed so the semantic checks are exercised: the reader
 * must either refuse with FC_EINPUT or accept a file that then builds a session or fails
 * cleanly — never crash (run under ASan in `make test-asan`). */
static void test_random_damage_never_crashes(void **state)
{
    (void)state;
    size_t size;
    uint8_t *b = tiny_model(&size);
    uint8_t *c = dup_buf(b, size, 0);
    uint32_t s = 99;
    int accepted = 0;
    /* damaged dims can ask for huge activations: keep every tensor small here */
    uint64_t saved_cap = fc_limits_current.max_tensor_bytes;
    fc_limits_current.max_tensor_bytes = 1 << 20;
    size_t first_payload = sections(b)[0].offset;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(c, b, size);
        for (int k = 0; k < 1 + iter % 4; k++) {
            s = s * 1103515245u + 12345u;
            size_t pos = 64 + (s >> 4) % (size - 64);
            if (pos < first_payload && pos >= hdr(b)->section_table_offset + 5 * sizeof(fcn_section)) continue;
            s = s * 1103515245u + 12345u;
            c[pos] = (uint8_t)(s >> 16);
        }
        refix(c);
        fcn_model *m = NULL;
        fc_error err = { 0, "" };
        if (fcn_model_open_memory(c, size, "m.fcn", 0, &m, &err) == 0) {
            accepted++;
            fcn_session *se = NULL;
            if (fcn_session_create(m, NULL, &se, &err) == 0) {
                assert_int_equal(fcn_session_run(se, &err), 0);
                fcn_session_destroy(se);
            }
            fcn_model_close(m);
        } else {
            assert_int_equal(err.code, FC_EINPUT);
        }
    }
    fc_limits_current.max_tensor_bytes = saved_cap;
    assert_true(accepted > 0);   /* damage to names or weight values is legal */
    free(c);
    free(b);
}

static void test_ir_basics(void **state)
{
    (void)state;
    fc_error err = { 0, "" };
    ir_graph *g = build_graph(WT_F32);
    assert_int_equal(ir_add_value(g, "input", FC_DT_F32, 0, NULL, &err), -1);   /* duplicate */
    assert_non_null(strstr(err.msg, "duplicate value name 'input'"));
    int64_t d[1] = { 3 };
    float three[3] = { 1, 2, 3 };
    assert_int_equal(ir_add_const(g, "c", FC_DT_F32, 1, d, three, 8, &err), -1);   /* wrong size */
    char *u = ir_unique_name(g, "conv1_out");
    assert_string_equal(u, "conv1_out_1");
    free(u);
    assert_int_equal(ir_find_node(g, "gap"), 1);
    assert_int_equal(ir_find_value(g, "logits"), g->outputs[0]);
    /* attributes */
    ir_node *n = &g->nodes[0];
    assert_int_equal(ir_get_int(n, FCN_ATTR_ACT, 0), FCN_ACT_RELU);
    ir_set_float(n, FCN_ATTR_ALPHA, 0.5);
    assert_true(ir_get_float(n, FCN_ATTR_ALPHA, 0) == 0.5);
    ir_del_attr(n, FCN_ATTR_ALPHA);
    assert_null(ir_get_attr(n, FCN_ATTR_ALPHA));
    assert_int_equal(ir_get_int(n, FCN_ATTR_GROUP, 1), 1);
    /* links */
    ir_update_links(g);
    int c = ir_find_value(g, "conv1_out");
    assert_int_equal(g->values[c].producer, 0);
    assert_int_equal(g->values[c].n_consumers, 1);
    assert_int_equal(g->values[g->outputs[0]].n_consumers, 1);
    /* reverse the node order, toposort restores it */
    ir_node tmp = g->nodes[0];
    g->nodes[0] = g->nodes[3];
    g->nodes[3] = tmp;
    tmp = g->nodes[1];
    g->nodes[1] = g->nodes[2];
    g->nodes[2] = tmp;
    assert_int_equal(ir_toposort(g, &err), 0);
    assert_string_equal(g->nodes[0].name, "conv1");
    assert_string_equal(g->nodes[1].name, "gap");
    assert_string_equal(g->nodes[3].name, "fc");
    /* bypass 'flatten' by replacing its uses, mark it dead, compact: a dangling value goes too */
    int64_t dd[1] = { 7 };
    ir_add_value(g, "orphan", FC_DT_F32, 1, dd, &err);
    int nv = g->n_values;
    int flat = ir_find_value(g, "flat"), gap = ir_find_value(g, "gap_out");
    ir_replace_uses(g, flat, gap);
    g->nodes[2].dead = 1;
    assert_int_equal(ir_compact(g, &err), 0);
    assert_int_equal(g->n_nodes, 3);
    assert_int_equal(g->n_values, nv - 2);
    assert_int_equal(ir_find_value(g, "orphan"), -1);
    assert_int_equal(ir_find_value(g, "flat"), -1);
    int fcn = ir_find_node(g, "fc");
    assert_string_equal(g->values[g->nodes[fcn].in[0]].name, "gap_out");
    assert_string_equal(g->values[g->outputs[0]].name, "logits");
    uint64_t params, bytes;
    ir_param_stats(g, &params, &bytes);
    assert_int_equal(params, C_OUT * C_IN * 9 + C_OUT + K_CLS * C_OUT + K_CLS);
    assert_int_equal(bytes, 4 * params);
    /* a cycle is reported with a node name */
    int a = ir_find_value(g, "conv1_out");
    g->nodes[0].in[0] = g->outputs[0];
    (void)a;
    assert_int_equal(ir_toposort(g, &err), -1);
    assert_non_null(strstr(err.msg, "cycle through node"));
    ir_graph_free(g);

    /* int8 constants keep their scale alive through compaction */
    g = build_graph(WT_I8);
    assert_int_equal(ir_compact(g, &err), 0);
    int w = ir_find_value(g, "conv1.weight");
    assert_true(g->values[w].aux >= 0);
    assert_string_equal(g->values[g->values[w].aux].name, "conv1.weight.scale");
    ir_graph_free(g);
}

static void test_writer_refuses_bad_graphs(void **state)
{
    (void)state;
    fc_error err = { 0, "" };
    uint8_t *buf = NULL;
    size_t size;
    ir_graph *g = build_graph(WT_I8);
    int w = ir_find_value(g, "conv1.weight");
    g->values[w].aux = -1;   /* int8 without its scales */
    assert_int_equal(fcv_write_fcn(g, &buf, &size, &err), -1);
    assert_non_null(strstr(err.msg, "int8 constant 'conv1.weight' needs an f32 scale constant"));
    g->values[w].aux = ir_find_value(g, "fc.bias");   /* 4 scales for 3 channels */
    assert_int_equal(fcv_write_fcn(g, &buf, &size, &err), -1);
    ir_graph_free(g);
    g = build_graph(WT_F32);
    g->nodes[0].in[2] = 999;
    assert_int_equal(fcv_write_fcn(g, &buf, &size, &err), -1);
    assert_non_null(strstr(err.msg, "node 'conv1': input 2 refers to value 999"));
    g->nodes[0].in[2] = -1;   /* absent optional input: fine */
    assert_int_equal(fcv_write_fcn(g, &buf, &size, &err), 0);
    free(buf);
    g->nodes[0].attrs[0].count = 1000;
    assert_int_equal(fcv_write_fcn(g, &buf, &size, &err), -1);
    assert_non_null(strstr(err.msg, "node 'conv1': attribute"));
    g->nodes[0].attrs[0].count = 2;
    g->values[0].nbytes = 3;   /* 'input' is an activation: nbytes unused */
    g->values[1].nbytes += 4;  /* a constant whose payload size lies */
    assert_int_equal(fcv_write_fcn(g, &buf, &size, &err), -1);
    assert_non_null(strstr(err.msg, "does not match its shape"));
    ir_graph_free(g);
}

int main(void)
{
    init_weights();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ir_basics),
        cmocka_unit_test(test_write_is_deterministic),
        cmocka_unit_test(test_writer_refuses_bad_graphs),
        cmocka_unit_test(test_roundtrip_model_accessors),
        cmocka_unit_test(test_session_fp32),
        cmocka_unit_test(test_session_fp16),
        cmocka_unit_test(test_session_int8),
        cmocka_unit_test(test_session_bad_input_shape),
        cmocka_unit_test(test_truncation_at_every_boundary),
        cmocka_unit_test(test_header_bit_flips),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_section_crcs_and_bounds),
        cmocka_unit_test(test_unknown_sections),
        cmocka_unit_test(test_tensor_records),
        cmocka_unit_test(test_graph_records),
        cmocka_unit_test(test_random_damage_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
