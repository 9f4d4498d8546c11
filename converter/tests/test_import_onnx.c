/* test_import_onnx.c — the ONNX importer on models built here with protobuf-c (so every
 * encoding — typed fields, f16 bits in int32_data, external data, old-opset forms, torch's
 * dynamic-batch flatten — is made exactly), checked value by value, and run through the
 * runtime where the rewrite changes the graph (legacy Softmax). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "converter/import_onnx.h"
#include "runtime/fcn.h"

/* ---- building models -------------------------------------------------------------------- */

typedef struct builder {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__NodeProto *nodes[16];
    Onnx__TensorProto *inits[16];
    Onnx__ValueInfoProto *ins[8], *outs[8];
    void *allocs[256];            /* everything below is freed by builder_free */
    int n_allocs;
} builder;

static void *balloc(builder *b, size_t n)
{
    assert_true(b->n_allocs < 256);
    void *p = calloc(1, n);
    assert_non_null(p);
    b->allocs[b->n_allocs++] = p;
    return p;
}

static void builder_free(builder *b)
{
    for (int i = 0; i < b->n_allocs; i++) free(b->allocs[i]);
    b->n_allocs = 0;
}

static void builder_init(builder *b, int64_t opset)
{
    memset(b, 0, sizeof *b);
    onnx__model_proto__init(&b->model);
    onnx__graph_proto__init(&b->graph);
    onnx__operator_set_id_proto__init(&b->opset);
    b->opset.domain = "";
    b->opset.has_version = 1;
    b->opset.version = opset;
    b->opsets[0] = &b->opset;
    b->model.n_opset_import = 1;
    b->model.opset_import = b->opsets;
    b->model.has_ir_version = 1;
    b->model.ir_version = 8;
    b->model.producer_name = "unit-test";
    b->model.graph = &b->graph;
    b->graph.node = b->nodes;
    b->graph.initializer = b->inits;
    b->graph.input = b->ins;
    b->graph.output = b->outs;
}

static void add_value_info(builder *b, int output, const char *name, int elem, int ndim, const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = balloc(b, sizeof *vi);
    Onnx__TypeProto *tp = balloc(b, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = balloc(b, sizeof *tt);
    Onnx__TensorShapeProto *sh = balloc(b, sizeof *sh);
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)ndim;
    sh->dim = balloc(b, ((size_t)ndim + 1) * sizeof *sh->dim);
    for (int i = 0; i < ndim; i++) {
        Onnx__TensorShapeProto__Dimension *d = balloc(b, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[i] >= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = "batch";
        }
        sh->dim[i] = d;
    }
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->name = (char *)name;
    vi->type = tp;
    if (output) b->outs[b->graph.n_output++] = vi;
    else b->ins[b->graph.n_input++] = vi;
}

static Onnx__NodeProto *add_node(builder *b, const char *op, const char *name, int n_in, const char **in,
                                 const char *out)
{
    Onnx__NodeProto *n = balloc(b, sizeof *n);
    onnx__node_proto__init(n);
    n->attribute = balloc(b, 8 * sizeof *n->attribute);
    n->op_type = (char *)op;
    n->name = (char *)name;
    n->n_input = (size_t)n_in;
    n->input = (char **)in;
    n->n_output = 1;
    n->output = balloc(b, sizeof(char *));
    n->output[0] = (char *)out;
    b->nodes[b->graph.n_node++] = n;
    return n;
}

static Onnx__AttributeProto *add_attr(builder *b, Onnx__NodeProto *n, const char *name)
{
    Onnx__AttributeProto *a = balloc(b, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    assert_true(n->n_attribute < 8);
    n->attribute[n->n_attribute++] = a;
    return a;
}

static Onnx__TensorProto *new_tensor(builder *b, const char *name, int type, int ndim, const int64_t *dims)
{
    Onnx__TensorProto *t = balloc(b, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = type;
    t->n_dims = (size_t)ndim;
    t->dims = (int64_t *)dims;
    return t;
}

static ir_graph *import(builder *b, const char *path, fc_error *err)
{
    size_t size = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = malloc(size + 1);
    onnx__model_proto__pack(&b->model, buf);
    ir_graph *g = NULL;
    int rc;
    if (path) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(buf, 1, size, f), size);
        fclose(f);
        rc = fcv_import_onnx(path, NULL, &g, err);
    } else {
        rc = fcv_import_onnx_memory(buf, size, "test.onnx", NULL, &g, err);
    }
    free(buf);
    return rc ? NULL : g;
}

static const ir_value *value(ir_graph *g, const char *name)
{
    int id = ir_find_value(g, name);
    assert_true(id >= 0);
    return &g->values[id];
}

static const ir_node *node_of(ir_graph *g, int op)
{
    for (int i = 0; i < g->n_nodes; i++) if (g->nodes[i].op == op) return &g->nodes[i];
    fail_msg("no node with op %d", op);
    return NULL;
}

/* ---- tests ---------------------------------------------------------------------------- */

static const int64_t dims3[] = {3};

/* Initializers in each typed field decode to the right values. */
static void test_typed_fields(void **state)
{
    (void)state;
    builder b;
    builder_init(&b, 13);
    add_value_info(&b, 0, "x", 1, 1, dims3);
    float fv[] = {1.5f, -2.0f, 3.25f};
    Onnx__TensorProto *tf = new_tensor(&b, "wf", 1, 1, dims3);
    tf->n_float_data = 3;
    tf->float_data = fv;
    int32_t hv[] = {0x3C00, 0xC000, 0x3800};   /* f16 bits of 1, -2, 0.5 */
    Onnx__TensorProto *th = new_tensor(&b, "wh", 10, 1, dims3);
    th->n_int32_data = 3;
    th->int32_data = hv;
    int64_t lv[] = {7, -8, 1LL << 40};
    Onnx__TensorProto *tl = new_tensor(&b, "wl", 7, 1, dims3);
    tl->n_int64_data = 3;
    tl->int64_data = lv;
    double dv[] = {0.125, 2.5, -1e10};
    Onnx__TensorProto *td = new_tensor(&b, "wd", 11, 1, dims3);
    td->n_double_data = 3;
    td->double_data = dv;
    b.inits[b.graph.n_initializer++] = tf;
    b.inits[b.graph.n_initializer++] = th;
    b.inits[b.graph.n_initializer++] = tl;
    b.inits[b.graph.n_initializer++] = td;
    /* the constants are graph outputs of their own, so they survive as they were read */
    static const char *in_x[] = {"x"};
    add_node(&b, "Relu", "relu", 1, in_x, "y");
    add_value_info(&b, 1, "y", 1, 1, dims3);
    add_value_info(&b, 1, "wf", 1, 1, dims3);
    add_value_info(&b, 1, "wh", 10, 1, dims3);
    add_value_info(&b, 1, "wl", 7, 1, dims3);
    add_value_info(&b, 1, "wd", 11, 1, dims3);
    fc_error err = {0};
    ir_graph *g = import(&b, NULL, &err);
    assert_non_null(g);
    const ir_value *v = value(g, "wf");
    assert_int_equal(v->dtype, FC_DT_F32);
    assert_memory_equal(v->data, fv, sizeof fv);
    v = value(g, "wh");
    assert_int_equal(v->dtype, FC_DT_F16);
    uint16_t h[3];
    memcpy(h, v->data, sizeof h);
    assert_true(fc_f16_to_f32(h[0]) == 1.0f && fc_f16_to_f32(h[1]) == -2.0f && fc_f16_to_f32(h[2]) == 0.5f);
    v = value(g, "wl");
    assert_int_equal(v->dtype, FC_DT_I64);
    assert_memory_equal(v->data, lv, sizeof lv);
    v = value(g, "wd");
    assert_int_equal(v->dtype, FC_DT_F64);
    assert_memory_equal(v->data, dv, sizeof dv);
    assert_string_equal(g->producer, "unit-test");
    ir_graph_free(g);
    builder_free(&b);
}

/* Old-IR files list initializers among the graph inputs: they stay constants, not inputs. */
static void test_initializer_listed_as_input(void **state)
{
    (void)state;
    builder b;
    builder_init(&b, 9);
    add_value_info(&b, 0, "x", 1, 1, dims3);
    add_value_info(&b, 0, "w", 1, 1, dims3);
    float wv[] = {1, 2, 3};
    Onnx__TensorProto *t = new_tensor(&b, "w", 1, 1, dims3);
    t->has_raw_data = 1;
    t->raw_data.len = sizeof wv;
    t->raw_data.data = (uint8_t *)wv;
    b.inits[b.graph.n_initializer++] = t;
    static const char *in[] = {"x", "w"};
    add_node(&b, "Mul", "", 2, in, "y");
    add_value_info(&b, 1, "y", 1, 1, dims3);
    fc_error err = {0};
    ir_graph *g = import(&b, NULL, &err);
    assert_non_null(g);
    assert_int_equal(g->n_inputs, 1);
    assert_string_equal(g->values[g->inputs[0]].name, "x");
    assert_non_null(value(g, "w")->data);
    assert_string_equal(g->nodes[0].name, "Mul_0");   /* invented: op_type + index */
    ir_graph_free(g);
    builder_free(&b);
}

/* External data inside the model's folder is read at its offset. */
static void test_external_data(void **state)
{
    (void)state;
    char dir[] = "/tmp/fcv_test_onnx_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char data_path[256], model_path[256];
    snprintf(data_path, sizeof data_path, "%s/weights.bin", dir);
    snprintf(model_path, sizeof model_path, "%s/model.onnx", dir);
    float payload[5] = {99, 4, 5, 6, 99};
    FILE *f = fopen(data_path, "wb");
    assert_non_null(f);
    fwrite(payload, 1, sizeof payload, f);
    fclose(f);

    builder b;
    builder_init(&b, 13);
    add_value_info(&b, 0, "x", 1, 1, dims3);
    Onnx__TensorProto *t = new_tensor(&b, "w", 1, 1, dims3);
    t->has_data_location = 1;
    t->data_location = 1;
    Onnx__StringStringEntryProto loc, off, len, *entries[3] = {&loc, &off, &len};
    onnx__string_string_entry_proto__init(&loc);
    onnx__string_string_entry_proto__init(&off);
    onnx__string_string_entry_proto__init(&len);
    loc.key = "location"; loc.value = "weights.bin";
    off.key = "offset"; off.value = "4";
    len.key = "length"; len.value = "12";
    t->n_external_data = 3;
    t->external_data = entries;
    b.inits[b.graph.n_initializer++] = t;
    static const char *in[] = {"x", "w"};
    add_node(&b, "Add", "add", 2, in, "y");
    add_value_info(&b, 1, "y", 1, 1, dims3);
    fc_error err = {0};
    ir_graph *g = import(&b, model_path, &err);
    assert_non_null(g);
    assert_memory_equal(value(g, "w")->data, payload + 1, 12);
    ir_graph_free(g);

    off.value = "12";   /* 12 + 12 > 20 bytes */
    assert_null(import(&b, model_path, &err));
    assert_non_null(strstr(err.msg, "has 20 bytes, needs 12 at offset 12"));
    unlink(data_path);
    unlink(model_path);
    rmdir(dir);
    builder_free(&b);
}

/* Constant nodes: value_floats and value_int become constants; Reshape's shape folds in. */
static void test_constant_nodes_and_reshape(void **state)
{
    (void)state;
    builder b;
    builder_init(&b, 13);
    static const int64_t xd[] = {2, 3};
    add_value_info(&b, 0, "x", 1, 2, xd);
    Onnx__NodeProto *c = add_node(&b, "Constant", "c_shape", 0, NULL, "shape");
    Onnx__AttributeProto *a = add_attr(&b, c, "value_ints");
    int64_t shape[] = {3, -1};
    a->n_ints = 2;
    a->ints = shape;
    static const char *rin[] = {"x", "shape"};
    add_node(&b, "Reshape", "reshape", 2, rin, "y");
    add_value_info(&b, 1, "y", 1, 2, (const int64_t[]){3, 2});
    fc_error err = {0};
    ir_graph *g = import(&b, NULL, &err);
    assert_non_null(g);
    const ir_node *r = node_of(g, FCN_OP_RESHAPE);
    assert_int_equal(r->n_in, 1);
    const ir_attr *s = ir_get_attr(r, FCN_ATTR_SHAPE);
    assert_non_null(s);
    assert_int_equal(s->count, 2);
    assert_int_equal(s->i[0], 3);
    assert_int_equal(s->i[1], -1);
    assert_int_equal(value(g, "y")->dims[0], 3);   /* shapes inferred by the runtime */
    assert_int_equal(value(g, "y")->dims[1], 2);
    ir_graph_free(g);
    builder_free(&b);
}

/* torch's x.view(x.size(0), -1) with a dynamic batch: Shape -> Gather -> Unsqueeze -> Concat
 * -> Reshape becomes Reshape(shape = [0, -1]). */
static void test_dynamic_batch_flatten(void **state)
{
    (void)state;
    builder b;
    builder_init(&b, 11);
    static const int64_t xd[] = {-1, 2, 3};
    add_value_info(&b, 0, "x", 1, 3, xd);
    static const char *sin[] = {"x"};
    add_node(&b, "Shape", "shape", 1, sin, "s");
    Onnx__NodeProto *c0 = add_node(&b, "Constant", "zero", 0, NULL, "zero");
    Onnx__AttributeProto *a0 = add_attr(&b, c0, "value_int");
    a0->has_i = 1;
    a0->i = 0;
    static const char *gin[] = {"s", "zero"};
    add_node(&b, "Gather", "gather", 2, gin, "batch");
    static const char *uin[] = {"batch"};
    Onnx__NodeProto *u = add_node(&b, "Unsqueeze", "unsq", 1, uin, "batch1");
    Onnx__AttributeProto *ua = add_attr(&b, u, "axes");
    int64_t axes0[] = {0};
    ua->n_ints = 1;
    ua->ints = axes0;
    Onnx__NodeProto *cm = add_node(&b, "Constant", "minus1", 0, NULL, "minus1");
    Onnx__AttributeProto *am = add_attr(&b, cm, "value_ints");
    int64_t m1[] = {-1};
    am->n_ints = 1;
    am->ints = m1;
    static const char *cin[] = {"batch1", "minus1"};
    Onnx__NodeProto *cc = add_node(&b, "Concat", "concat", 2, cin, "target");
    Onnx__AttributeProto *ca = add_attr(&b, cc, "axis");
    ca->has_i = 1;
    ca->i = 0;
    static const char *rin[] = {"x", "target"};
    add_node(&b, "Reshape", "flatten", 2, rin, "y");
    add_value_info(&b, 1, "y", 1, 2, (const int64_t[]){-1, 6});
    fc_error err = {0};
    ir_graph *g = import(&b, NULL, &err);
    if (!g) fail_msg("%s", err.msg);
    assert_int_equal(g->n_nodes, 1);
    const ir_attr *s = ir_get_attr(node_of(g, FCN_OP_RESHAPE), FCN_ATTR_SHAPE);
    assert_non_null(s);
    assert_int_equal(s->count, 2);
    assert_int_equal(s->i[0], 0);
    assert_int_equal(s->i[1], -1);
    ir_graph_free(g);
    builder_free(&b);
}

/* Softmax before opset 13 coerces to 2-D at axis 1: on a 2x3x2 input the softmax runs over
 * all 6 values of each row, checked against a direct computation through the runtime. */
static void test_legacy_softmax(void **state)
{
    (void)state;
    builder b;
    builder_init(&b, 11);
    static const int64_t xd[] = {2, 3, 2};
    add_value_info(&b, 0, "x", 1, 3, xd);
    static const char *in[] = {"x"};
    add_node(&b, "Softmax", "sm", 1, in, "y");
    add_value_info(&b, 1, "y", 1, 3, xd);
    fc_error err = {0};
    ir_graph *g = import(&b, NULL, &err);
    if (!g) fail_msg("%s", err.msg);
    uint8_t *buf;
    size_t size;
    fcn_model *m;
    fcn_session *s;
    assert_int_equal(fcv_write_fcn(g, &buf, &size, &err), 0);
    assert_int_equal(fcn_model_open_memory(buf, size, "sm", 0, &m, &err), 0);
    assert_int_equal(fcn_session_create(m, NULL, &s, &err), 0);
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = (float)(i % 5) * 0.7f - 1.0f;
    assert_int_equal(fcn_session_set_input(s, 0, x, sizeof x, &err), 0);
    assert_int_equal(fcn_session_run(s, &err), 0);
    fcn_shape sh;
    int dt;
    const float *y = fcn_session_output(s, 0, &sh, &dt);
    assert_int_equal(sh.ndim, 3);
    assert_int_equal(sh.dims[1], 3);
    for (int r = 0; r < 2; r++) {
        double mx = -1e30, sum = 0;
        for (int i = 0; i < 6; i++) mx = fmax(mx, x[r * 6 + i]);
        for (int i = 0; i < 6; i++) sum += exp(x[r * 6 + i] - mx);
        for (int i = 0; i < 6; i++) assert_true(fabs(y[r * 6 + i] - exp(x[r * 6 + i] - mx) / sum) < 1e-6);
    }
    fcn_session_destroy(s);
    fcn_model_close(m);
    free(buf);
    ir_graph_free(g);
    builder_free(&b);
}

/* Dropout with a constant false training_mode is an Identity (removed by folding into the
 * graph); Clip's opset-11 min/max inputs become attributes. */
static void test_dropout_and_clip_inputs(void **state)
{
    (void)state;
    builder b;
    builder_init(&b, 13);
    add_value_info(&b, 0, "x", 1, 1, dims3);
    float lo = -1.0f, hi = 2.0f;
    uint8_t train = 0;
    Onnx__TensorProto *tlo = new_tensor(&b, "lo", 1, 0, NULL), *thi = new_tensor(&b, "hi", 1, 0, NULL);
    Onnx__TensorProto *ttr = new_tensor(&b, "train", 9, 0, NULL);
    tlo->has_raw_data = thi->has_raw_data = ttr->has_raw_data = 1;
    tlo->raw_data = (ProtobufCBinaryData){4, (uint8_t *)&lo};
    thi->raw_data = (ProtobufCBinaryData){4, (uint8_t *)&hi};
    ttr->raw_data = (ProtobufCBinaryData){1, &train};
    b.inits[b.graph.n_initializer++] = tlo;
    b.inits[b.graph.n_initializer++] = thi;
    b.inits[b.graph.n_initializer++] = ttr;
    static const char *din[] = {"x", "", "train"}, *cin[] = {"d", "lo", "hi"};
    add_node(&b, "Dropout", "drop", 3, din, "d");
    add_node(&b, "Clip", "clip", 3, cin, "y");
    add_value_info(&b, 1, "y", 1, 1, dims3);
    fc_error err = {0};
    ir_graph *g = import(&b, NULL, &err);
    if (!g) fail_msg("%s", err.msg);
    const ir_node *c = node_of(g, FCN_OP_CLIP);
    assert_int_equal(c->n_in, 1);
    assert_true(ir_get_float(c, FCN_ATTR_MIN, 0) == -1.0);
    assert_true(ir_get_float(c, FCN_ATTR_MAX, 0) == 2.0);
    assert_int_equal(node_of(g, FCN_OP_IDENTITY)->n_in, 1);
    ir_graph_free(g);

    train = 1;
    assert_null(import(&b, NULL, &err));
    assert_non_null(strstr(err.msg, "node 'drop' (Dropout, opset 13): training mode is not supported"));
    builder_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typed_fields),
        cmocka_unit_test(test_initializer_listed_as_input),
        cmocka_unit_test(test_external_data),
        cmocka_unit_test(test_constant_nodes_and_reshape),
        cmocka_unit_test(test_dynamic_batch_flatten),
        cmocka_unit_test(test_legacy_softmax),
        cmocka_unit_test(test_dropout_and_clip_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
