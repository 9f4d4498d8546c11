/* test_tfjs.c — Keras models saved by TF.js (testdata/tfjs, made by scripts/make_tfjs_testdata.js
 * with npm @tensorflow/tfjs 4.x) imported, written to .fcn, run in the runtime and compared with
 * the outputs Keras computed (rel err <= 1e-4), plus the graph shape of the NHWC flatten trap
 * and hostile model.json / manifest cases built on the fly in a temp folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "converter/ir.h"
#include "runtime/fcn.h"

/* Runs g on input.npy of the model folder, compares with output.npy; returns the rel error
 * max|y - ref| / max|ref|. */
static double run_and_compare(const ir_graph *g, const char *dir)
{
    fc_error err = {0};
    uint8_t *buf;
    size_t size;
    int rc = fcv_write_fcn(g, &buf, &size, &err);
    if (rc) print_error("write: %s\n", err.msg);
    assert_int_equal(rc, 0);
    fcn_model *m;
    rc = fcn_model_open_memory(buf, size, dir, 1, &m, &err);
    free(buf);
    if (rc) print_error("open: %s\n", err.msg);
    assert_int_equal(rc, 0);
    fcn_session *s;
    rc = fcn_session_create(m, NULL, &s, &err);
    if (rc) print_error("session: %s\n", err.msg);
    assert_int_equal(rc, 0);

    char path[512];
    fc_array x, ref;
    snprintf(path, sizeof path, "%s/input.npy", dir);
    assert_int_equal(fc_npy_read(path, &x, &err), 0);
    snprintf(path, sizeof path, "%s/output.npy", dir);
    assert_int_equal(fc_npy_read(path, &ref, &err), 0);
    rc = fcn_session_set_input(s, 0, x.data, x.nbytes, &err);
    if (rc) print_error("set_input: %s\n", err.msg);
    assert_int_equal(rc, 0);
    rc = fcn_session_run(s, &err);
    if (rc) print_error("run: %s\n", err.msg);
    assert_int_equal(rc, 0);
    fcn_shape shape;
    int dtype;
    const float *y = fcn_session_output(s, 0, &shape, &dtype);
    assert_non_null(y);
    assert_int_equal(dtype, FC_DT_F32);
    assert_int_equal(shape.ndim, ref.ndim);
    for (int i = 0; i < ref.ndim; i++) assert_int_equal(shape.dims[i], ref.dims[i]);
    const float *r = ref.data;
    size_t n = ref.nbytes / 4;
    double max_err = 0, max_ref = 0;
    for (size_t i = 0; i < n; i++) {
        max_err = fmax(max_err, fabs((double)y[i] - r[i]));
        max_ref = fmax(max_ref, fabs((double)r[i]));
    }
    fcn_session_destroy(s);
    fcn_model_close(m);
    fc_array_free(&x);
    fc_array_free(&ref);
    return max_err / (max_ref > 0 ? max_ref : 1);
}

static ir_graph *import_ok(const char *path)
{
    fc_error err = {0};
    ir_graph *g = NULL;
    int rc = fcv_import_tfjs(path, NULL, &g, &err);
    if (rc) print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_non_null(g);
    return g;
}

static void check_model(const char *name)
{
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "testdata/tfjs/%s", name);
    snprintf(path, sizeof path, "%s/model.json", dir);
    ir_graph *g = import_ok(path);
    double rel = run_and_compare(g, dir);
    print_message("%s: rel err %.3g\n", name, rel);
    assert_true(rel <= 1e-4);
    ir_graph_free(g);
}

static void test_seq_cnn(void **state) { (void)state; check_model("seq_cnn"); }
static void test_functional(void **state) { (void)state; check_model("functional"); }
static void test_quantized(void **state) { (void)state; check_model("quantized"); }
static void test_sharded(void **state) { (void)state; check_model("sharded"); }
static void test_shared(void **state)
{
    (void)state;
    check_model("shared");
    /* the shared Conv2D called twice: two nodes, one set of weights */
    ir_graph *g = import_ok("testdata/tfjs/shared/model.json");
    int a = ir_find_node(g, "shared"), b = ir_find_node(g, "shared_1");
    assert_true(a >= 0 && b >= 0);
    assert_int_equal(g->nodes[a].op, FCN_OP_CONV);
    assert_int_equal(g->nodes[b].op, FCN_OP_CONV);
    assert_int_equal(g->nodes[a].in[1], g->nodes[b].in[1]);
    assert_int_equal(g->nodes[a].in[2], g->nodes[b].in[2]);
    assert_int_not_equal(g->nodes[a].in[0], g->nodes[b].in[0]);
    ir_graph_free(g);
}
static void test_prep(void **state) { (void)state; check_model("prep"); }

/* --input-shape (NCHW) moves the spatial size: the GAP-headed functional net runs at 16x12 and
 * its pools/strided "same" convs follow TF's rule (checked by shape: 16x12 -> 8x6 after stride 2). */
static void test_input_shape(void **state)
{
    (void)state;
    fcv_import_options opt = {0};
    opt.n_input_dims = 4;
    int64_t dims[4] = {2, 3, 16, 12};
    memcpy(opt.input_dims, dims, sizeof dims);
    fc_error err = {0};
    ir_graph *g = NULL;
    int rc = fcv_import_tfjs("testdata/tfjs/functional/model.json", &opt, &g, &err);
    if (rc) print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);
    const ir_value *in = &g->values[g->inputs[0]];
    for (int i = 0; i < 4; i++) assert_int_equal(in->dims[i], dims[i]);
    const ir_value *cat = &g->values[ir_find_value(g, "cat")];
    int64_t want[4] = {2, 30, 8, 6};
    for (int i = 0; i < 4; i++) assert_int_equal(cat->dims[i], want[i]);
    ir_graph_free(g);
    /* the channel count is not free */
    dims[1] = 4;
    memcpy(opt.input_dims, dims, sizeof dims);
    assert_int_equal(fcv_import_tfjs("testdata/tfjs/functional/model.json", &opt, &g, &err), -1);
    assert_non_null(strstr(err.msg, "--input-shape disagrees"));
}

/* The input is declared NCHW and Keras' H,W,C flatten order is made explicit:
 * Transpose(0,2,3,1) -> Flatten -> Gemm(transB) is the pattern the FC->conv pass consumes. */
static void test_flatten_pattern(void **state)
{
    (void)state;
    ir_graph *g = import_ok("testdata/tfjs/seq_cnn/model.json");
    assert_int_equal(g->n_inputs, 1);
    const ir_value *in = &g->values[g->inputs[0]];
    assert_int_equal(in->ndim, 4);
    int64_t nchw[4] = {1, 3, 8, 8};
    for (int i = 0; i < 4; i++) assert_int_equal(in->dims[i], nchw[i]);
    int flat = ir_find_node(g, "flatten");
    assert_true(flat >= 0);
    const ir_node *f = &g->nodes[flat];
    assert_int_equal(f->op, FCN_OP_FLATTEN);
    int tr = g->values[f->in[0]].producer;
    assert_true(tr >= 0);
    assert_int_equal(g->nodes[tr].op, FCN_OP_TRANSPOSE);
    const ir_attr *perm = ir_get_attr(&g->nodes[tr], FCN_ATTR_PERM);
    assert_non_null(perm);
    int64_t want[4] = {0, 2, 3, 1};
    for (int i = 0; i < 4; i++) assert_int_equal(perm->i[i], want[i]);
    int gemm = ir_find_node(g, "fc1");
    assert_true(gemm >= 0);
    assert_int_equal(g->nodes[gemm].op, FCN_OP_GEMM);
    assert_int_equal(g->nodes[gemm].in[0], f->out[0]);
    assert_int_equal(ir_get_int(&g->nodes[gemm], FCN_ATTR_TRANS_B, 0), 1);
    /* fc1 weight (10, 24): column k of Keras' kernel row for (h,w,c) */
    const ir_value *w = &g->values[g->nodes[gemm].in[1]];
    assert_int_equal(w->dims[0], 10);
    assert_int_equal(w->dims[1], 24);
    ir_graph_free(g);
}

/* Without the transpose the flatten order is wrong: proves the test data is sensitive to it. */
static void test_flatten_trap_detected(void **state)
{
    (void)state;
    ir_graph *g = import_ok("testdata/tfjs/seq_cnn/model.json");
    const ir_node *f = &g->nodes[ir_find_node(g, "flatten")];
    int tr = g->values[f->in[0]].producer;
    int src = g->nodes[tr].in[0];
    g->nodes[ir_find_node(g, "flatten")].in[0] = src;   /* flatten NCHW directly: the trap */
    g->nodes[tr].dead = 1;
    fc_error err = {0};
    assert_int_equal(ir_compact(g, &err), 0);
    double rel = run_and_compare(g, "testdata/tfjs/seq_cnn");
    print_message("naive NCHW flatten: rel err %.3g\n", rel);
    assert_true(rel > 1e-2);
    ir_graph_free(g);
}

/* The standard pipeline on imported models: default passes (BN folded, activations fused),
 * --fc-to-conv (which must consume the Transpose(0,2,3,1) -> Flatten -> Gemm pattern and
 * permute the weight) and --gap-head exact: the original output still matches Keras. */
static ir_graph *run_pipeline(const char *name, int fc_to_conv, const char *gap_head)
{
    char path[300], dir[256];
    snprintf(dir, sizeof dir, "testdata/tfjs/%s", name);
    snprintf(path, sizeof path, "%s/model.json", dir);
    ir_graph *g = import_ok(path);
    fcv_options o;
    fcv_options_default(&o);
    o.quiet = 1;
    o.report = NULL;
    o.fc_to_conv = fc_to_conv;
    o.gap_head = gap_head;
    fc_error err = {0};
    int rc = fcv_run_passes(g, &o, &err);
    if (rc) print_error("%s: %s\n", name, err.msg);
    assert_int_equal(rc, 0);
    double rel = run_and_compare(g, dir);
    print_message("%s after passes (fc_to_conv %d, gap_head %s): rel err %.3g\n", name, fc_to_conv,
                  gap_head ? gap_head : "-", rel);
    assert_true(rel <= 1e-4);
    return g;
}

static int count_op(const ir_graph *g, int op)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i].op == op;
    return n;
}

static void test_pipeline_default(void **state)
{
    (void)state;
    static const char *models[] = {"seq_cnn", "functional", "quantized", "sharded", "shared", "prep"};
    for (int i = 0; i < 6; i++) ir_graph_free(run_pipeline(models[i], 0, NULL));
}

static void test_pipeline_fc_to_conv(void **state)
{
    (void)state;
    static const char *models[] = {"seq_cnn", "quantized"};
    for (int i = 0; i < 2; i++) {
        ir_graph *g = run_pipeline(models[i], 1, NULL);
        assert_int_equal(count_op(g, FCN_OP_GEMM), 0);        /* both Dense layers became convs */
        assert_int_equal(count_op(g, FCN_OP_TRANSPOSE), 0);   /* the NHWC order went into the weight */
        ir_graph_free(g);
    }
}

static void test_pipeline_gap_head(void **state)
{
    (void)state;
    ir_graph_free(run_pipeline("functional", 0, "exact"));
}

/* ---- hostile inputs ----------------------------------------------------------------------------- */

static char tmpdir[256];

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fullconv-test-tfjs-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void write_floats(const char *rel, int n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < n; i++) {
        float v = 0.25f * (float)(i % 7) - 0.5f;
        fwrite(&v, 4, 1, f);
    }
    fclose(f);
}

/* Imports tmpdir/model.json expecting failure with `needle` in the message. */
static void expect_error(const char *json, const char *needle)
{
    write_text("model.json", json);
    char path[512];
    snprintf(path, sizeof path, "%s/model.json", tmpdir);
    fc_error err = {0};
    ir_graph *g = NULL;
    int rc = fcv_import_tfjs(path, NULL, &g, &err);
    if (rc == 0 || !strstr(err.msg, needle)) print_error("expected '%s', got rc %d '%s'\n", needle, rc, err.msg);
    assert_int_equal(rc, -1);
    assert_null(g);
    assert_int_equal(err.code, FC_EINPUT);
    assert_non_null(strstr(err.msg, needle));
    assert_non_null(strstr(err.msg, "model.json"));
}

#define DENSE_MODEL(PATHS, SPECS)                                                                        \
    "{\"format\":\"layers-model\",\"modelTopology\":{\"class_name\":\"Sequential\",\"config\":{\"layers\":[" \
    "{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":2,\"batch_input_shape\":[null,3]}}]}}," \
    "\"weightsManifest\":[{\"paths\":" PATHS ",\"weights\":" SPECS "}]}"
#define DENSE_SPECS "[{\"name\":\"d/kernel\",\"shape\":[3,2],\"dtype\":\"float32\"}," \
                    "{\"name\":\"d/bias\",\"shape\":[2],\"dtype\":\"float32\"}]"

static void test_dense_ok_and_values(void **state)
{
    (void)state;
    write_floats("w.bin", 8);
    write_text("model.json", DENSE_MODEL("[\"w.bin\"]", DENSE_SPECS));
    char path[512];
    snprintf(path, sizeof path, "%s/model.json", tmpdir);
    ir_graph *g = import_ok(path);
    int gemm = ir_find_node(g, "d");
    assert_true(gemm >= 0);
    const ir_value *w = &g->values[g->nodes[gemm].in[1]];
    /* Keras kernel (in=3, out=2) element [i][o] = v[i*2+o] lands at W[o][i] */
    const float *wd = w->data;
    for (int i = 0; i < 3; i++)
        for (int o = 0; o < 2; o++) {
            int k = i * 2 + o;
            assert_float_equal(wd[o * 3 + i], 0.25f * (float)(k % 7) - 0.5f, 0);
        }
    ir_graph_free(g);
}

static void test_bad_manifests(void **state)
{
    (void)state;
    write_floats("w.bin", 8);
    write_floats("short.bin", 7);
    write_floats("long.bin", 9);
    expect_error(DENSE_MODEL("[\"../w.bin\"]", DENSE_SPECS), "leaves the model folder");
    expect_error(DENSE_MODEL("[\"/etc/passwd\"]", DENSE_SPECS), "relative path");
    expect_error(DENSE_MODEL("[\"sub\\\\w.bin\"]", DENSE_SPECS), "relative path");
    expect_error(DENSE_MODEL("[\"missing.bin\"]", DENSE_SPECS), "not found");
    expect_error(DENSE_MODEL("[\"short.bin\"]", DENSE_SPECS), "shards hold only");
    expect_error(DENSE_MODEL("[\"long.bin\"]", DENSE_SPECS), "the manifest describes");
    expect_error(DENSE_MODEL("[\"w.bin\"]", "[{\"name\":\"d/kernel\",\"shape\":[2,3],\"dtype\":\"float32\"},"
                                            "{\"name\":\"d/bias\",\"shape\":[2],\"dtype\":\"float32\"}]"),
                 "expected 3x2");
    expect_error(DENSE_MODEL("[\"w.bin\"]", "[{\"name\":\"d/kernel\",\"shape\":[3,2],\"dtype\":\"string\"}]"),
                 "dtype 'string' not supported");
    expect_error(DENSE_MODEL("[\"w.bin\"]", "[{\"name\":\"d/kernel\",\"shape\":[3,-2],\"dtype\":\"float32\"}]"),
                 "non-negative");
    expect_error(DENSE_MODEL("[\"w.bin\"]", "[{\"name\":\"d/kernel\",\"shape\":[4000000000,4000000000,4000000000],"
                                            "\"dtype\":\"float32\"}]"),
                 "weight 'd/kernel'");
    expect_error(DENSE_MODEL("[\"w.bin\"]", "[{\"name\":\"d/kernel\",\"shape\":[3,2],\"dtype\":\"float32\","
                                            "\"quantization\":{\"dtype\":\"uint8\"}}]"),
                 "needs finite 'scale' and 'min'");
    expect_error(DENSE_MODEL("[\"w.bin\"]", "[{\"name\":\"d/kernel\",\"shape\":[3,2],\"dtype\":\"float32\","
                                            "\"quantization\":{\"dtype\":\"int4\"}}]"),
                 "quantization dtype 'int4'");
    /* symlink escaping the folder */
    char link[512];
    snprintf(link, sizeof link, "%s/escape.bin", tmpdir);
    unlink(link);
    assert_int_equal(symlink("/etc/hostname", link), 0);
    expect_error(DENSE_MODEL("[\"escape.bin\"]", DENSE_SPECS), "outside the model folder");
}

static void test_bad_topologies(void **state)
{
    (void)state;
    write_floats("w.bin", 8);
    expect_error("[1,2", "not a JSON object");
    char deep[512] = "{\"a\":";
    for (int i = 0; i < 150; i++) strcat(deep, "[");
    expect_error(deep, "nested deeper");
    expect_error("{\"format\":\"graph-model\",\"modelTopology\":{}}", "graph models");
    expect_error("{\"modelTopology\":{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
                 "{\"class_name\":\"Conv3D\",\"config\":{\"name\":\"c3\",\"batch_input_shape\":[null,4,4,4,1]}}]}}}",
                 "layer 'c3' (Conv3D): layer class not supported");
    expect_error("{\"modelTopology\":{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
                 "{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":2,\"batch_input_shape\":[null,3]}}]}}}",
                 "weight 'd/kernel' not in weightsManifest");
    expect_error("{\"modelTopology\":{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
                 "{\"class_name\":\"Activation\",\"config\":{\"name\":\"a\",\"activation\":\"gelu\","
                 "\"batch_input_shape\":[null,3]}}]}}}",
                 "activation 'gelu' not supported");
    expect_error("{\"modelTopology\":{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
                 "{\"class_name\":\"MaxPooling2D\",\"config\":{\"name\":\"p\",\"pool_size\":[5,5],\"padding\":\"valid\","
                 "\"batch_input_shape\":[null,4,4,3]}}]}}}",
                 "larger than the input");
    expect_error("{\"modelTopology\":{\"class_name\":\"Model\",\"config\":{\"layers\":["
                 "{\"class_name\":\"InputLayer\",\"name\":\"x\",\"config\":{\"name\":\"x\",\"batch_input_shape\":[null,3]},"
                 "\"inbound_nodes\":[]},"
                 "{\"class_name\":\"Activation\",\"name\":\"r\",\"config\":{\"name\":\"r\",\"activation\":\"relu\"},"
                 "\"inbound_nodes\":[[[\"nowhere\",0,0,{}]]]}],"
                 "\"input_layers\":[[\"x\",0,0]],\"output_layers\":[[\"r\",0,0]]}}}",
                 "never produced");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seq_cnn),
        cmocka_unit_test(test_functional),
        cmocka_unit_test(test_quantized),
        cmocka_unit_test(test_sharded),
        cmocka_unit_test(test_shared),
        cmocka_unit_test(test_prep),
        cmocka_unit_test(test_input_shape),
        cmocka_unit_test(test_flatten_pattern),
        cmocka_unit_test(test_flatten_trap_detected),
        cmocka_unit_test(test_pipeline_default),
        cmocka_unit_test(test_pipeline_fc_to_conv),
        cmocka_unit_test(test_pipeline_gap_head),
        cmocka_unit_test(test_dense_ok_and_values),
        cmocka_unit_test(test_bad_manifests),
        cmocka_unit_test(test_bad_topologies),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
