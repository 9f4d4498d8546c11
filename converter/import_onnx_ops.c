/* import_onnx_ops.c — one ONNX node -> fcn op(s) with attributes (runtime/format.h).
 *
 * A table maps each op_type to an fcn_op, the oldest opset whose semantics we implement, and
 * its scalar/list attributes; a few ops need code (auto_pad strings, optional outputs, tensor
 * parameters). Tensor parameters (Reshape's shape, Clip's min/max, Slice's starts...) stay
 * inputs until they are constants, then onnx_lower() moves them into attributes. */

#include "converter/import_onnx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { A_INT, A_INTS, A_FLOAT, A_FLOATS, A_AUTO_PAD };

typedef struct attr_map {
    const char *name;             /* ONNX attribute */
    int key;                      /* fcn_attr_key */
    int kind;
    double def;                   /* A_FLOAT default written when absent (NAN = none) */
} attr_map;

struct op_spec;
typedef int (*map_fn)(onnx_import *im, const struct op_spec *s, const Onnx__NodeProto *node, const char *name,
                      fc_error *err);

typedef struct op_spec {
    const char *op_type;
    int op;
    int min_opset;                /* semantics implemented from this opset on */
    int max_in;                   /* -1 variadic */
    map_fn map;                   /* NULL: generic */
    attr_map attrs[8];
} op_spec;

#define NODEF NAN

/* ---- attribute access ---------------------------------------------------------------------- */

static const Onnx__AttributeProto *find_attr(const Onnx__NodeProto *node, const char *name)
{
    for (size_t i = 0; i < node->n_attribute; i++)
        if (node->attribute[i]->name && strcmp(node->attribute[i]->name, name) == 0) return node->attribute[i];
    return NULL;
}

static int node_fail(onnx_import *im, const Onnx__NodeProto *node, const char *name, fc_error *err,
                     const char *what)
{
    return fc_fail(err, FC_EINPUT, "%s: node '%s' (%s, opset %lld): %s", im->file, name, node->op_type,
                   (long long)im->opset, what);
}

static int attr_type_is(const Onnx__AttributeProto *a, int type, int has_field)
{
    if (a->has_type && a->type != 0) return a->type == type;
    return has_field;
}

/* ONNX AttributeType numbers */
enum { AT_FLOAT = 1, AT_INT = 2, AT_STRING = 3, AT_TENSOR = 4, AT_FLOATS = 6, AT_INTS = 7 };

static int get_int(onnx_import *im, const Onnx__NodeProto *node, const char *nname, const char *aname,
                   int64_t def, int64_t *out, fc_error *err)
{
    const Onnx__AttributeProto *a = find_attr(node, aname);
    *out = def;
    if (!a) return 0;
    if (!attr_type_is(a, AT_INT, a->has_i)) {
        char msg[128];
        snprintf(msg, sizeof msg, "attribute '%s' is not an int", aname);
        return node_fail(im, node, nname, err, msg);
    }
    *out = a->i;
    return 0;
}

static const char *get_string(const Onnx__NodeProto *node, const char *aname, char *buf, size_t cap)
{
    const Onnx__AttributeProto *a = find_attr(node, aname);
    if (!a || !a->has_s) return NULL;
    size_t n = a->s.len < cap - 1 ? a->s.len : cap - 1;
    memcpy(buf, a->s.data, n);
    buf[n] = 0;
    return buf;
}

static int apply_attr(onnx_import *im, const Onnx__NodeProto *node, const char *name, ir_node *n,
                      const attr_map *m, fc_error *err)
{
    const Onnx__AttributeProto *a = find_attr(node, m->name);
    char msg[160];
    if (!a) {
        if (m->kind == A_FLOAT && !isnan(m->def)) ir_set_float(n, m->key, m->def);
        return 0;
    }
    switch (m->kind) {
    case A_INT:
        if (!attr_type_is(a, AT_INT, a->has_i)) break;
        ir_set_int(n, m->key, a->i);
        return 0;
    case A_FLOAT:
        if (!attr_type_is(a, AT_FLOAT, a->has_f)) break;
        ir_set_float(n, m->key, a->f);
        return 0;
    case A_INTS:
        if (!attr_type_is(a, AT_INTS, 1)) break;
        if (a->n_ints > IR_MAX_ATTR_VALUES) {
            snprintf(msg, sizeof msg, "attribute '%s' has %zu values (at most %d)", m->name, a->n_ints,
                     IR_MAX_ATTR_VALUES);
            return node_fail(im, node, name, err, msg);
        }
        ir_set_ints(n, m->key, a->ints, (int)a->n_ints);
        return 0;
    case A_FLOATS: {
        if (!attr_type_is(a, AT_FLOATS, 1)) break;
        if (a->n_floats > IR_MAX_ATTR_VALUES) {
            snprintf(msg, sizeof msg, "attribute '%s' has %zu values (at most %d)", m->name, a->n_floats,
                     IR_MAX_ATTR_VALUES);
            return node_fail(im, node, name, err, msg);
        }
        double f[IR_MAX_ATTR_VALUES];
        for (size_t i = 0; i < a->n_floats; i++) f[i] = a->floats[i];
        ir_set_floats(n, m->key, f, (int)a->n_floats);
        return 0;
    }
    case A_AUTO_PAD: {
        char buf[32];
        const char *s = get_string(node, m->name, buf, sizeof buf);
        if (!s) break;
        int v = -1;
        if (!strcmp(s, "NOTSET") || !*s) v = 0;
        else if (!strcmp(s, "SAME_UPPER")) v = 1;
        else if (!strcmp(s, "SAME_LOWER")) v = 2;
        else if (!strcmp(s, "VALID")) v = 3;
        if (v < 0) {
            snprintf(msg, sizeof msg, "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", s);
            return node_fail(im, node, name, err, msg);
        }
        if (v) ir_set_int(n, m->key, v);
        return 0;
    }
    }
    snprintf(msg, sizeof msg, "attribute '%s' has the wrong type", m->name);
    return node_fail(im, node, name, err, msg);
}

/* ---- node creation ----------------------------------------------------------------------------- */

/* Creates the node with the ONNX inputs [0, n_in) and the given outputs (ONNX positions). */
static int add_node(onnx_import *im, const Onnx__NodeProto *node, const char *name, int op, int n_in,
                    int n_out, fc_error *err)
{
    int ins[FCN_MAX_NODE_IO], outs[FCN_MAX_NODE_IO];
    if (n_in > FCN_MAX_NODE_IO || n_out > FCN_MAX_NODE_IO)
        return node_fail(im, node, name, err, "too many inputs or outputs");
    /* the mappers ask for the inputs/outputs the operator needs; a hostile node may have fewer */
    if ((size_t)n_in > node->n_input || (size_t)n_out > node->n_output) {
        char msg[200];
        snprintf(msg, sizeof msg, "has %zu inputs and %zu outputs, needs at least %d and %d", node->n_input,
                 node->n_output, n_in, n_out);
        return node_fail(im, node, name, err, msg);
    }
    for (int i = 0; i < n_in; i++) {
        ins[i] = onnx_value_id(im, node->input[i]);
        if (ins[i] < 0 && node->input[i] && *node->input[i]) {
            char msg[200];
            snprintf(msg, sizeof msg, "input '%.100s' is not produced by any node, initializer or graph input",
                     node->input[i]);
            return node_fail(im, node, name, err, msg);
        }
    }
    for (int i = 0; i < n_out; i++) {
        outs[i] = onnx_value_id(im, node->output[i]);
        if (outs[i] < 0) return node_fail(im, node, name, err, "an output has no name");
    }
    int idx = ir_add_node(im->g, op, name, ins, n_in, outs, n_out, err);
    if (idx < 0) return fc_wrap(err, "%s", im->file);
    return idx;
}

/* Number of ONNX outputs that are actually used (trailing empty names are absent outputs). */
static int used_outputs(const Onnx__NodeProto *node)
{
    int n = (int)node->n_output;
    while (n > 0 && (!node->output[n - 1] || !*node->output[n - 1])) n--;
    return n;
}

static int used_inputs(const Onnx__NodeProto *node)
{
    int n = (int)node->n_input;
    while (n > 0 && (!node->input[n - 1] || !*node->input[n - 1])) n--;
    return n;
}

static int map_generic(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                       fc_error *err)
{
    int n_in = used_inputs(node);
    if (s->max_in >= 0 && n_in > s->max_in) {
        char msg[96];
        snprintf(msg, sizeof msg, "%d inputs, at most %d supported", n_in, s->max_in);
        return node_fail(im, node, name, err, msg);
    }
    if (used_outputs(node) != 1)
        return node_fail(im, node, name, err, "only the single-output form is supported (extra outputs)");
    int idx = add_node(im, node, name, s->op, n_in, 1, err);
    if (idx < 0) return -1;
    for (int i = 0; i < 8 && s->attrs[i].name; i++)
        if (apply_attr(im, node, name, &im->g->nodes[idx], &s->attrs[i], err)) return -1;
    return idx;
}

/* Generic node whose inputs beyond keep_in are tensor parameters: pending until lowered. */
static int map_with_params(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                           fc_error *err)
{
    int idx = map_generic(im, s, node, name, err);
    if (idx < 0) return -1;
    if (im->g->nodes[idx].n_in <= 1) return idx;
    int r = onnx_lower(im, idx, err);
    if (r < 0) return -1;
    if (r == 0 && onnx_add_pending(im, idx, node->op_type, err)) return -1;
    return idx;
}

static int map_maxpool(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                       fc_error *err)
{
    if (used_outputs(node) > 1)
        return node_fail(im, node, name, err, "the Indices output (multi-output variant) is not supported");
    return map_generic(im, s, node, name, err);
}

static int map_batchnorm(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                         fc_error *err)
{
    int64_t training = 0, spatial = 1;
    if (get_int(im, node, name, "training_mode", 0, &training, err)) return -1;
    if (get_int(im, node, name, "spatial", 1, &spatial, err)) return -1;
    if (training || used_outputs(node) > 1)
        return node_fail(im, node, name, err, "training mode is not supported (inference only)");
    if (!spatial) return node_fail(im, node, name, err, "spatial=0 is not supported");
    return map_generic(im, s, node, name, err);
}

static int map_dropout(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                       fc_error *err)
{
    (void)s;
    if (used_outputs(node) > 1)
        return node_fail(im, node, name, err, "the mask output (multi-output variant) is not supported");
    int64_t is_test = 1;
    if (im->opset < 7 && get_int(im, node, name, "is_test", 0, &is_test, err)) return -1;
    if (!is_test) return node_fail(im, node, name, err, "training mode is not supported (is_test=0)");
    /* inputs: data, ratio (irrelevant at inference), training_mode (must be a false constant) */
    int n_in = used_inputs(node);
    if (n_in > 3) return node_fail(im, node, name, err, "more than 3 inputs");
    int keep = n_in == 3 ? 3 : 1;
    int idx = add_node(im, node, name, FCN_OP_IDENTITY, keep, 1, err);
    if (idx < 0) return -1;
    if (keep == 3) {
        im->g->nodes[idx].in[1] = -1;   /* the ratio */
        int r = onnx_lower(im, idx, err);
        if (r < 0) return -1;
        if (r == 0 && onnx_add_pending(im, idx, node->op_type, err)) return -1;
    }
    return idx;
}

static int map_clip(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                    fc_error *err)
{
    if (im->opset < 11) {
        int idx = map_generic(im, s, node, name, err);
        if (idx < 0) return -1;
        ir_node *n = &im->g->nodes[idx];
        const Onnx__AttributeProto *a;
        if ((a = find_attr(node, "min"))) ir_set_float(n, FCN_ATTR_MIN, a->f);
        if ((a = find_attr(node, "max"))) ir_set_float(n, FCN_ATTR_MAX, a->f);
        return idx;
    }
    return map_with_params(im, s, node, name, err);
}

/* Ops whose parameter moved from an attribute to an input at some opset. */
static int map_attr_or_input(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                             fc_error *err, int input_from_opset, const char *attr_name, int key)
{
    if (im->opset < input_from_opset) {
        int idx = map_generic(im, s, node, name, err);
        if (idx < 0) return -1;
        attr_map m = {attr_name, key, A_INTS, NODEF};
        if (apply_attr(im, node, name, &im->g->nodes[idx], &m, err)) return -1;
        return idx;
    }
    return map_with_params(im, s, node, name, err);
}

static int map_squeeze(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                       fc_error *err)
{
    return map_attr_or_input(im, s, node, name, err, 13, "axes", FCN_ATTR_AXES);
}

static int map_reshape(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                       fc_error *err)
{
    return map_attr_or_input(im, s, node, name, err, 5, "shape", FCN_ATTR_SHAPE);
}

static int map_reduce(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                      fc_error *err)
{
    int from = s->op == FCN_OP_REDUCE_SUM ? 13 : 18;
    return map_attr_or_input(im, s, node, name, err, from, "axes", FCN_ATTR_AXES);
}

static int map_slice(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                     fc_error *err)
{
    if (im->opset < 10) {
        int idx = map_generic(im, s, node, name, err);
        if (idx < 0) return -1;
        attr_map ms[] = {{"starts", FCN_ATTR_STARTS, A_INTS, NODEF}, {"ends", FCN_ATTR_ENDS, A_INTS, NODEF},
                         {"axes", FCN_ATTR_AXES, A_INTS, NODEF}};
        for (int i = 0; i < 3; i++)
            if (apply_attr(im, node, name, &im->g->nodes[idx], &ms[i], err)) return -1;
        return idx;
    }
    return map_with_params(im, s, node, name, err);
}

static int pad_mode(onnx_import *im, const Onnx__NodeProto *node, const char *name, ir_node *n, fc_error *err)
{
    char buf[32];
    const char *mode = get_string(node, "mode", buf, sizeof buf);
    if (!mode || !strcmp(mode, "constant")) return 0;
    if (!strcmp(mode, "reflect")) ir_set_int(n, FCN_ATTR_MODE, 1);
    else if (!strcmp(mode, "edge")) ir_set_int(n, FCN_ATTR_MODE, 2);
    else {
        char msg[96];
        snprintf(msg, sizeof msg, "pad mode '%s' is not supported (constant, reflect, edge)", mode);
        return node_fail(im, node, name, err, msg);
    }
    return 0;
}

static int map_pad(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                   fc_error *err)
{
    int idx;
    if (im->opset < 11) {
        idx = map_generic(im, s, node, name, err);
        if (idx < 0) return -1;
        attr_map ms[] = {{"pads", FCN_ATTR_PADS, A_INTS, NODEF}, {"value", FCN_ATTR_PAD_VALUE, A_FLOAT, NODEF}};
        for (int i = 0; i < 2; i++)
            if (apply_attr(im, node, name, &im->g->nodes[idx], &ms[i], err)) return -1;
    } else {
        if (used_inputs(node) > 3) return node_fail(im, node, name, err, "the axes input is not supported");
        idx = map_with_params(im, s, node, name, err);
        if (idx < 0) return -1;
    }
    return pad_mode(im, node, name, &im->g->nodes[idx], err) ? -1 : idx;
}

/* Softmax before opset 13 coerces its input to 2-D at `axis` (default 1); from 13 it works on
 * one axis (default -1). The two agree when axis is the last one; otherwise the node stays
 * pending and onnx_lower rewrites it as Flatten(axis) -> Softmax(1) -> Reshape(back). */
static int map_softmax(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                       fc_error *err)
{
    int64_t axis;
    int legacy = im->opset < 13;
    if (get_int(im, node, name, "axis", legacy ? 1 : -1, &axis, err)) return -1;
    int idx = map_generic(im, s, node, name, err);
    if (idx < 0) return -1;
    ir_set_int(&im->g->nodes[idx], FCN_ATTR_AXIS, axis);
    if (legacy && axis != -1) {
        int r = onnx_lower(im, idx, err);
        if (r < 0) return -1;
        if (r == 0 && onnx_add_pending(im, idx, node->op_type, err)) return -1;
    }
    return idx;
}

static int map_cast(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                    fc_error *err)
{
    int64_t to;
    if (get_int(im, node, name, "to", 0, &to, err)) return -1;
    int dt = onnx_dtype((int32_t)to);
    if (dt == FC_DT_INVALID) {
        char msg[96];
        snprintf(msg, sizeof msg, "cast to %s (%lld) is not supported", onnx_dtype_name((int32_t)to), (long long)to);
        return node_fail(im, node, name, err, msg);
    }
    int idx = map_generic(im, s, node, name, err);
    if (idx < 0) return -1;
    ir_set_int(&im->g->nodes[idx], FCN_ATTR_TO, dt);
    return idx;
}

/* Constant: the output value (created in pass 1) becomes the constant. */
static int map_constant(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                        fc_error *err)
{
    (void)s;
    if (used_outputs(node) != 1) return node_fail(im, node, name, err, "expected one output");
    int id = onnx_value_id(im, node->output[0]);
    int dtype = FC_DT_F32, ndim = 0;
    int64_t dims[FCN_MAX_DIMS];
    void *data = NULL;
    size_t nbytes = 0;
    const Onnx__AttributeProto *a;
    if ((a = find_attr(node, "value")) && a->t) {
        if (onnx_tensor_data(a->t, im->file, im->base_dir, &dtype, &ndim, dims, &data, &nbytes, err))
            return fc_wrap(err, "node '%s' (Constant)", name), -1;
    } else if ((a = find_attr(node, "value_float"))) {
        float f = a->f;
        nbytes = 4;
        if ((data = malloc(4))) memcpy(data, &f, 4);
    } else if ((a = find_attr(node, "value_int"))) {
        dtype = FC_DT_I64;
        nbytes = 8;
        if ((data = malloc(8))) memcpy(data, &a->i, 8);
    } else if ((a = find_attr(node, "value_floats"))) {
        ndim = 1;
        dims[0] = (int64_t)a->n_floats;
        nbytes = 4 * a->n_floats;
        if ((data = malloc(nbytes ? nbytes : 1)) && nbytes) memcpy(data, a->floats, nbytes);
    } else if ((a = find_attr(node, "value_ints"))) {
        dtype = FC_DT_I64;
        ndim = 1;
        dims[0] = (int64_t)a->n_ints;
        nbytes = 8 * a->n_ints;
        if ((data = malloc(nbytes ? nbytes : 1)) && nbytes) memcpy(data, a->ints, nbytes);
    } else {
        return node_fail(im, node, name, err, "only value, value_float(s) and value_int(s) are supported");
    }
    if (!data) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    ir_value *v = &im->g->values[id];
    v->dtype = dtype;
    v->ndim = ndim;
    for (int i = 0; i < FCN_MAX_DIMS; i++) v->dims[i] = i < ndim ? dims[i] : 0;
    v->data = data;
    v->nbytes = nbytes;
    return 0;
}

/* ConstantOfShape(shape) = Expand(scalar value, shape): torch's F.pad exports build their pads
 * with it. The Expand's shape input is lowered into its SHAPE attribute once constant, and then
 * the whole node folds to a constant. */
static int map_constant_of_shape(onnx_import *im, const op_spec *s, const Onnx__NodeProto *node, const char *name,
                                 fc_error *err)
{
    (void)s;
    if (used_inputs(node) != 1 || used_outputs(node) != 1)
        return node_fail(im, node, name, err, "expected one input and one output");
    int dtype = FC_DT_F32, ndim = 0;
    int64_t dims[FCN_MAX_DIMS];
    void *data = NULL;
    size_t nbytes = 4;
    const Onnx__AttributeProto *a = find_attr(node, "value");
    if (a && a->t) {
        if (onnx_tensor_data(a->t, im->file, im->base_dir, &dtype, &ndim, dims, &data, &nbytes, err))
            return fc_wrap(err, "node '%s' (ConstantOfShape)", name), -1;
        if (nbytes != fc_dtype_size(dtype)) {
            free(data);
            return node_fail(im, node, name, err, "value must hold one element");
        }
    } else {
        data = calloc(1, 4);
        if (!data) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    }
    char *vname = ir_unique_name(im->g, name);
    int scalar = vname ? ir_add_const_owned(im->g, vname, dtype, 0, dims, data, nbytes, err) : -1;
    free(vname);
    if (scalar < 0) return fc_wrap(err, "%s", im->file);
    int shape = onnx_value_id(im, node->input[0]);
    int out = onnx_value_id(im, node->output[0]);
    if (shape < 0) return node_fail(im, node, name, err, "its input is not produced by any node, initializer or graph input");
    int ins[2] = {scalar, shape};
    int idx = ir_add_node(im->g, FCN_OP_EXPAND, name, ins, 2, &out, 1, err);
    if (idx < 0) return fc_wrap(err, "%s", im->file);
    int r = onnx_lower(im, idx, err);
    if (r < 0) return -1;
    if (r == 0 && onnx_add_pending(im, idx, node->op_type, err)) return -1;
    return idx;
}

/* ---- the table ------------------------------------------------------------------------------- */

#define F(n, k, d) {n, k, A_FLOAT, d}
#define I(n, k) {n, k, A_INT, NODEF}
#define IS(n, k) {n, k, A_INTS, NODEF}
#define CONV_ATTRS IS("kernel_shape", FCN_ATTR_KERNEL_SHAPE), IS("strides", FCN_ATTR_STRIDES), \
    IS("pads", FCN_ATTR_PADS), IS("dilations", FCN_ATTR_DILATIONS), {"auto_pad", FCN_ATTR_AUTO_PAD, A_AUTO_PAD, NODEF}

static const op_spec op_table[] = {
    {"Conv", FCN_OP_CONV, 1, 3, NULL, {CONV_ATTRS, I("group", FCN_ATTR_GROUP)}},
    {"Gemm", FCN_OP_GEMM, 7, 3, NULL, {I("transA", FCN_ATTR_TRANS_A), I("transB", FCN_ATTR_TRANS_B),
                                       F("alpha", FCN_ATTR_ALPHA, 1.0), F("beta", FCN_ATTR_BETA, 1.0)}},
    {"MatMul", FCN_OP_MATMUL, 1, 2, NULL, {{0}}},
    {"BatchNormalization", FCN_OP_BATCHNORM, 7, 5, map_batchnorm, {F("epsilon", FCN_ATTR_EPSILON, 1e-5)}},
    {"Relu", FCN_OP_RELU, 1, 1, NULL, {{0}}},
    {"LeakyRelu", FCN_OP_LEAKY_RELU, 1, 1, NULL, {F("alpha", FCN_ATTR_ALPHA, 0.01)}},
    {"Clip", FCN_OP_CLIP, 6, 3, map_clip, {{0}}},
    {"Sigmoid", FCN_OP_SIGMOID, 1, 1, NULL, {{0}}},
    {"Tanh", FCN_OP_TANH, 1, 1, NULL, {{0}}},
    {"HardSigmoid", FCN_OP_HARD_SIGMOID, 6, 1, NULL, {F("alpha", FCN_ATTR_ALPHA, 0.2), F("beta", FCN_ATTR_BETA, 0.5)}},
    {"HardSwish", FCN_OP_HARD_SWISH, 14, 1, NULL, {{0}}},
    {"Add", FCN_OP_ADD, 7, 2, NULL, {{0}}},
    {"Sub", FCN_OP_SUB, 7, 2, NULL, {{0}}},
    {"Mul", FCN_OP_MUL, 7, 2, NULL, {{0}}},
    {"Div", FCN_OP_DIV, 7, 2, NULL, {{0}}},
    {"Concat", FCN_OP_CONCAT, 4, -1, NULL, {I("axis", FCN_ATTR_AXIS)}},
    {"MaxPool", FCN_OP_MAXPOOL, 1, 1, map_maxpool, {CONV_ATTRS, I("ceil_mode", FCN_ATTR_CEIL_MODE),
                                                   I("storage_order", FCN_ATTR_STORAGE_ORDER)}},
    {"AveragePool", FCN_OP_AVGPOOL, 1, 1, NULL, {IS("kernel_shape", FCN_ATTR_KERNEL_SHAPE),
                                                IS("strides", FCN_ATTR_STRIDES), IS("pads", FCN_ATTR_PADS),
                                                {"auto_pad", FCN_ATTR_AUTO_PAD, A_AUTO_PAD, NODEF},
                                                I("ceil_mode", FCN_ATTR_CEIL_MODE),
                                                I("count_include_pad", FCN_ATTR_COUNT_INCLUDE_PAD),
                                                IS("dilations", FCN_ATTR_DILATIONS)}},
    {"GlobalAveragePool", FCN_OP_GLOBAL_AVGPOOL, 1, 1, NULL, {{0}}},
    {"GlobalMaxPool", FCN_OP_GLOBAL_MAXPOOL, 1, 1, NULL, {{0}}},
    {"ReduceMean", FCN_OP_REDUCE_MEAN, 1, 2, map_reduce, {I("keepdims", FCN_ATTR_KEEPDIMS),
                                                         I("noop_with_empty_axes", FCN_ATTR_NOOP_WITH_EMPTY_AXES)}},
    {"ReduceMax", FCN_OP_REDUCE_MAX, 1, 2, map_reduce, {I("keepdims", FCN_ATTR_KEEPDIMS),
                                                       I("noop_with_empty_axes", FCN_ATTR_NOOP_WITH_EMPTY_AXES)}},
    {"ReduceSum", FCN_OP_REDUCE_SUM, 1, 2, map_reduce, {I("keepdims", FCN_ATTR_KEEPDIMS),
                                                       I("noop_with_empty_axes", FCN_ATTR_NOOP_WITH_EMPTY_AXES)}},
    {"Flatten", FCN_OP_FLATTEN, 1, 1, NULL, {I("axis", FCN_ATTR_AXIS)}},
    {"Reshape", FCN_OP_RESHAPE, 1, 2, map_reshape, {I("allowzero", FCN_ATTR_ALLOWZERO)}},
    {"Transpose", FCN_OP_TRANSPOSE, 1, 1, NULL, {IS("perm", FCN_ATTR_PERM)}},
    {"Squeeze", FCN_OP_SQUEEZE, 1, 2, map_squeeze, {{0}}},
    {"Unsqueeze", FCN_OP_UNSQUEEZE, 1, 2, map_squeeze, {{0}}},
    {"Pad", FCN_OP_PAD, 2, 4, map_pad, {{0}}},
    {"Softmax", FCN_OP_SOFTMAX, 1, 1, map_softmax, {{0}}},
    {"LogSoftmax", FCN_OP_LOG_SOFTMAX, 1, 1, map_softmax, {{0}}},
    {"Identity", FCN_OP_IDENTITY, 1, 1, NULL, {{0}}},
    {"Dropout", FCN_OP_IDENTITY, 1, 3, map_dropout, {{0}}},
    {"Slice", FCN_OP_SLICE, 1, 5, map_slice, {{0}}},
    {"Gather", FCN_OP_GATHER, 1, 2, NULL, {I("axis", FCN_ATTR_AXIS)}},
    {"Shape", FCN_OP_SHAPE, 1, 1, NULL, {I("start", FCN_ATTR_START), I("end", FCN_ATTR_END)}},
    {"Cast", FCN_OP_CAST, 6, 1, map_cast, {{0}}},
    {"Exp", FCN_OP_EXP, 1, 1, NULL, {{0}}},
    {"Log", FCN_OP_LOG, 1, 1, NULL, {{0}}},
    {"Abs", FCN_OP_ABS, 1, 1, NULL, {{0}}},
    {"Neg", FCN_OP_NEG, 1, 1, NULL, {{0}}},
    {"Sqrt", FCN_OP_SQRT, 1, 1, NULL, {{0}}},
    {"Reciprocal", FCN_OP_RECIPROCAL, 1, 1, NULL, {{0}}},
    {"Floor", FCN_OP_FLOOR, 1, 1, NULL, {{0}}},
    {"Ceil", FCN_OP_CEIL, 1, 1, NULL, {{0}}},
    {"Elu", FCN_OP_ELU, 1, 1, NULL, {F("alpha", FCN_ATTR_ALPHA, 1.0)}},
    {"Selu", FCN_OP_SELU, 1, 1, NULL, {F("alpha", FCN_ATTR_ALPHA, 1.67326319217681884765625),
                                       F("gamma", FCN_ATTR_GAMMA, 1.05070102214813232421875)}},
    {"Softplus", FCN_OP_SOFTPLUS, 1, 1, NULL, {{0}}},
    {"Softsign", FCN_OP_SOFTSIGN, 1, 1, NULL, {{0}}},
    {"PRelu", FCN_OP_PRELU, 7, 2, NULL, {{0}}},
    {"Pow", FCN_OP_POW, 7, 2, NULL, {{0}}},
    {"Max", FCN_OP_MAX, 6, -1, NULL, {{0}}},
    {"Min", FCN_OP_MIN, 6, -1, NULL, {{0}}},
    {"Sum", FCN_OP_SUM, 6, -1, NULL, {{0}}},
    {"Mean", FCN_OP_MEAN, 6, -1, NULL, {{0}}},
    {"LRN", FCN_OP_LRN, 1, 1, NULL, {I("size", FCN_ATTR_SIZE), F("alpha", FCN_ATTR_ALPHA, 1e-4),
                                     F("beta", FCN_ATTR_BETA, 0.75), F("bias", FCN_ATTR_BIAS, 1.0)}},
    {"Expand", FCN_OP_EXPAND, 8, 2, map_with_params, {{0}}},
    {"Constant", FCN_OP_IDENTITY, 1, 0, map_constant, {{0}}},
    {"ConstantOfShape", FCN_OP_EXPAND, 9, 1, map_constant_of_shape, {{0}}},
};

int onnx_map_node(onnx_import *im, const Onnx__NodeProto *node, const char *name, fc_error *err)
{
    const char *domain = node->domain ? node->domain : "";
    if (*domain && strcmp(domain, "ai.onnx") != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown operator domain '%.100s'", domain);
        return node_fail(im, node, name, err, msg);
    }
    for (size_t i = 0; i < sizeof op_table / sizeof op_table[0]; i++) {
        const op_spec *s = &op_table[i];
        if (strcmp(s->op_type, node->op_type) != 0) continue;
        if (im->opset < s->min_opset) {
            char msg[96];
            snprintf(msg, sizeof msg, "versions before opset %d are not supported", s->min_opset);
            return node_fail(im, node, name, err, msg);
        }
        int r = (s->map ? s->map : map_generic)(im, s, node, name, err);
        return r < 0 ? -1 : 0;
    }
    return node_fail(im, node, name, err, "unsupported operator");
}

/* ---- lowering tensor parameters into attributes --------------------------------------------- */

/* Reads constant input k as int64s (count <= 64). 1 ok, 0 not constant, -1 error. */
static int const_ints(onnx_import *im, ir_node *n, int k, int64_t *out, int *count, fc_error *err)
{
    ir_value *v = &im->g->values[n->in[k]];
    if (!v->data) return 0;
    size_t numel = 0;
    if (v->ndim < 0 || fc_numel(v->ndim, v->dims, &numel) || numel > IR_MAX_ATTR_VALUES)
        return fc_fail(err, FC_EINPUT, "%s: node '%s': parameter '%s' has more than %d values", im->file, n->name,
                       v->name, IR_MAX_ATTR_VALUES);
    for (size_t i = 0; i < numel; i++) {
        if (v->dtype == FC_DT_I64) memcpy(&out[i], (int64_t *)v->data + i, 8);
        else if (v->dtype == FC_DT_I32) { int32_t x; memcpy(&x, (int32_t *)v->data + i, 4); out[i] = x; }
        else return fc_fail(err, FC_EINPUT, "%s: node '%s': parameter '%s' must be int64 or int32, is %s", im->file,
                            n->name, v->name, fc_dtype_name(v->dtype));
    }
    *count = (int)numel;
    return 1;
}

/* Reads constant scalar input k as a double. 1 ok, 0 not constant, -1 error. */
static int const_scalar(onnx_import *im, ir_node *n, int k, double *out, fc_error *err)
{
    ir_value *v = &im->g->values[n->in[k]];
    if (!v->data) return 0;
    size_t numel = 0;
    if (v->ndim < 0 || fc_numel(v->ndim, v->dims, &numel) || numel != 1)
        return fc_fail(err, FC_EINPUT, "%s: node '%s': parameter '%s' must be a scalar", im->file, n->name, v->name);
    switch (v->dtype) {
    case FC_DT_F32: { float f; memcpy(&f, v->data, 4); *out = f; return 1; }
    case FC_DT_F64: { double d; memcpy(&d, v->data, 8); *out = d; return 1; }
    case FC_DT_F16: { uint16_t h; memcpy(&h, v->data, 2); *out = fc_f16_to_f32(h); return 1; }
    case FC_DT_I64: { int64_t x; memcpy(&x, v->data, 8); *out = (double)x; return 1; }
    case FC_DT_I32: { int32_t x; memcpy(&x, v->data, 4); *out = x; return 1; }
    case FC_DT_BOOL: case FC_DT_U8: case FC_DT_I8: *out = ((uint8_t *)v->data)[0]; return 1;
    default:
        return fc_fail(err, FC_EINPUT, "%s: node '%s': parameter '%s' has dtype %s", im->file, n->name, v->name,
                       fc_dtype_name(v->dtype));
    }
}

static int all_const(onnx_import *im, ir_node *n, int from)
{
    for (int k = from; k < n->n_in; k++)
        if (n->in[k] >= 0 && !im->g->values[n->in[k]].data) return 0;
    return 1;
}

/* Legacy (opset < 13) Softmax at `axis` once the input rank is known. */
static int lower_softmax(onnx_import *im, int idx, fc_error *err)
{
    ir_graph *g = im->g;
    int x = g->nodes[idx].in[0];
    int ndim = g->values[x].ndim;
    if (ndim < 0) return 0;
    int64_t axis = ir_get_int(&g->nodes[idx], FCN_ATTR_AXIS, 1);
    if (axis < 0) axis += ndim;
    if (axis < 0 || axis > ndim)
        return fc_fail(err, FC_EINPUT, "%s: node '%s': axis out of range for rank %d", im->file, g->nodes[idx].name,
                       ndim);
    if (axis == ndim - 1) {
        ir_set_int(&g->nodes[idx], FCN_ATTR_AXIS, axis);
        return 1;
    }
    /* back-reshape target: dims before axis collapse into the first 2-D dim; copy dim 0 with 0
     * when axis == 1 so a free batch keeps working */
    int64_t shape[FCN_MAX_DIMS];
    for (int i = 0; i < ndim; i++) {
        int64_t d = g->values[x].dims[i];
        if (i == 0 && axis == 1) d = 0;
        else if (d < 0) return fc_fail(err, FC_EINPUT, "%s: node '%s': Softmax before opset 13 on an input of unknown shape",
                                       im->file, g->nodes[idx].name);
        shape[i] = d;
    }
    char *base = g->nodes[idx].name;
    char nm[300];
    int out = g->nodes[idx].out[0];
    char *flat_name = ir_unique_name(g, "softmax_2d");
    char *sm_name = ir_unique_name(g, "softmax_2d_out");
    if (!flat_name || !sm_name) { free(flat_name); free(sm_name); return fc_fail(err, FC_ENOMEM, "out of memory"); }
    int flat = ir_add_value(g, flat_name, FC_DT_F32, -1, NULL, err);
    int sm = flat < 0 ? -1 : ir_add_value(g, sm_name, FC_DT_F32, -1, NULL, err);
    free(flat_name);
    free(sm_name);
    if (sm < 0) return -1;
    snprintf(nm, sizeof nm, "%.200s_flatten", base);
    int f = ir_add_node(g, FCN_OP_FLATTEN, nm, &x, 1, &flat, 1, err);
    if (f < 0) return -1;
    ir_set_int(&g->nodes[f], FCN_ATTR_AXIS, axis);
    snprintf(nm, sizeof nm, "%.200s_reshape", g->nodes[idx].name);
    int r = ir_add_node(g, FCN_OP_RESHAPE, nm, &sm, 1, &out, 1, err);
    if (r < 0) return -1;
    ir_set_ints(&g->nodes[r], FCN_ATTR_SHAPE, shape, ndim);
    ir_node *s = &g->nodes[idx];
    s->in[0] = flat;
    s->out[0] = sm;
    ir_set_int(s, FCN_ATTR_AXIS, 1);
    ir_update_links(g);
    return 1;
}

int onnx_lower(onnx_import *im, int idx, fc_error *err)
{
    ir_node *n = &im->g->nodes[idx];
    int64_t ints[IR_MAX_ATTR_VALUES];
    int count = 0;
    double x;
    if (n->op == FCN_OP_SOFTMAX || n->op == FCN_OP_LOG_SOFTMAX) return lower_softmax(im, idx, err);
    if (!all_const(im, n, 1)) return 0;
    switch (n->op) {
    case FCN_OP_RESHAPE: case FCN_OP_EXPAND:
        if (n->n_in < 2 || n->in[1] < 0) break;
        if (const_ints(im, n, 1, ints, &count, err) < 0) return -1;
        ir_set_ints(n, FCN_ATTR_SHAPE, ints, count);
        break;
    case FCN_OP_SQUEEZE: case FCN_OP_UNSQUEEZE:
    case FCN_OP_REDUCE_MEAN: case FCN_OP_REDUCE_MAX: case FCN_OP_REDUCE_SUM:
        if (n->n_in < 2 || n->in[1] < 0) break;
        if (const_ints(im, n, 1, ints, &count, err) < 0) return -1;
        if (count > 0 || n->op == FCN_OP_UNSQUEEZE) ir_set_ints(n, FCN_ATTR_AXES, ints, count);
        break;
    case FCN_OP_CLIP:
        if (n->n_in > 1 && n->in[1] >= 0) {
            if (const_scalar(im, n, 1, &x, err) < 0) return -1;
            ir_set_float(n, FCN_ATTR_MIN, x);
        }
        if (n->n_in > 2 && n->in[2] >= 0) {
            if (const_scalar(im, n, 2, &x, err) < 0) return -1;
            ir_set_float(n, FCN_ATTR_MAX, x);
        }
        break;
    case FCN_OP_PAD:
        if (n->n_in > 1 && n->in[1] >= 0) {
            if (const_ints(im, n, 1, ints, &count, err) < 0) return -1;
            ir_set_ints(n, FCN_ATTR_PADS, ints, count);
        }
        if (n->n_in > 2 && n->in[2] >= 0) {
            if (const_scalar(im, n, 2, &x, err) < 0) return -1;
            ir_set_float(n, FCN_ATTR_PAD_VALUE, x);
        }
        break;
    case FCN_OP_SLICE: {
        static const int keys[] = {FCN_ATTR_STARTS, FCN_ATTR_ENDS, FCN_ATTR_AXES, FCN_ATTR_STEPS};
        for (int k = 1; k < n->n_in && k < 5; k++) {
            if (n->in[k] < 0) continue;
            if (const_ints(im, n, k, ints, &count, err) < 0) return -1;
            ir_set_ints(n, keys[k - 1], ints, count);
        }
        break;
    }
    case FCN_OP_IDENTITY:   /* Dropout: training_mode must be a false constant */
        if (n->n_in > 2 && n->in[2] >= 0) {
            if (const_scalar(im, n, 2, &x, err) < 0) return -1;
            if (x != 0)
                return fc_fail(err, FC_EINPUT, "%s: node '%s' (Dropout, opset %lld): training mode is not supported",
                               im->file, n->name, (long long)im->opset);
        }
        break;
    default:
        break;
    }
    for (int k = 1; k < n->n_in; k++)
        if (n->in[k] >= 0) im->g->values[n->in[k]].n_consumers--;
    n->n_in = 1;
    return 1;
}

int onnx_lower_fail(onnx_import *im, int idx, const char *op_type, fc_error *err)
{
    ir_node *n = &im->g->nodes[idx];
    const char *what = "its shape parameters";
    for (int k = 1; k < n->n_in; k++)
        if (n->in[k] >= 0 && !im->g->values[n->in[k]].data) { what = im->g->values[n->in[k]].name; break; }
    if (n->op == FCN_OP_SOFTMAX || n->op == FCN_OP_LOG_SOFTMAX)
        return fc_fail(err, FC_EINPUT, "%s: node '%s' (%s, opset %lld): axis is not the last one and the input rank is unknown",
                       im->file, n->name, op_type, (long long)im->opset);
    return fc_fail(err, FC_EINPUT, "%s: node '%s' (%s, opset %lld): input '%s' is not a constant (after constant folding)",
                   im->file, n->name, op_type, (long long)im->opset, what);
}
