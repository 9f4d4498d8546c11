/* import_onnx.c — ONNX (protobuf) -> IR graph.
 *
 * The protobuf is decoded by protobuf-c from our own schema subset (converter/onnx.proto, no
 * recursive fields, so no hostile nesting) through an allocator with a byte budget. Then:
 * initializers become constants (import_onnx_tensor.c decodes them) (also when old IR files list them among the graph inputs),
 * the remaining graph inputs become inputs, each node is mapped to fcn ops
 * (import_onnx_ops.c), nodes still carrying tensor parameters are lowered once constant
 * folding (which folds torch's Shape->Gather->Concat->Reshape chains once shapes are known)
 * has made those tensors constants, and dead code is dropped.
 *
 * Every message starts with the file name; node errors name the node, its op_type and the
 * opset. */
#include "converter/import_onnx.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "converter/passes/basic_passes.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define ONNX_MIN_OPSET 1      /* ops whose semantics changed at 7 are refused below 7 (ops file) */
#define ONNX_MAX_OPSET 18

/* ---- protobuf decoding with a memory budget ------------------------------------------------ */

typedef struct pb_budget {
    size_t used, cap;
} pb_budget;

typedef union { max_align_t a; size_t n; } pb_header;

static void *pb_alloc(void *ctx, size_t size)
{
    pb_budget *b = ctx;
    size_t total;
    if (fc_add_size(size, sizeof(pb_header), &total) || total > b->cap - b->used) return NULL;
    pb_header *h = malloc(total);
    if (!h) return NULL;
    h->n = total;
    b->used += total;
    return h + 1;
}

static void pb_free(void *ctx, void *p)
{
    pb_budget *b = ctx;
    if (!p) return;
    pb_header *h = (pb_header *)p - 1;
    b->used -= h->n;
    free(h);
}

/* ---- value names ---------------------------------------------------------------------------- */

/* Open-addressing index over the graph's value names (the strings are the graph's own, stable
 * until the final compaction), so resolving names stays linear in the model size. */
typedef struct onnx_names {
    const char **keys;
    int *ids;
    size_t cap, n;
} onnx_names;

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s) h = (h ^ (uint8_t)*s++) * 1099511628211ull;
    return h;
}

static int names_put(onnx_names *m, const char *key, int id)
{
    if (2 * (m->n + 1) > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        const char **keys = calloc(cap, sizeof *keys);
        int *ids = calloc(cap, sizeof *ids);
        if (!keys || !ids) {
            free(keys);
            free(ids);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i]) continue;
            size_t h = hash_name(m->keys[i]) & (cap - 1);
            while (keys[h]) h = (h + 1) & (cap - 1);
            keys[h] = m->keys[i];
            ids[h] = m->ids[i];
        }
        free(m->keys);
        free(m->ids);
        m->keys = keys;
        m->ids = ids;
        m->cap = cap;
    }
    size_t h = hash_name(key) & (m->cap - 1);
    while (m->keys[h]) h = (h + 1) & (m->cap - 1);
    m->keys[h] = key;
    m->ids[h] = id;
    m->n++;
    return 0;
}

static int names_get(const onnx_names *m, const char *key)
{
    if (!m || !m->cap) return -1;
    size_t h = hash_name(key) & (m->cap - 1);
    while (m->keys[h]) {
        if (strcmp(m->keys[h], key) == 0) return m->ids[h];
        h = (h + 1) & (m->cap - 1);
    }
    return -1;
}

static void names_free(onnx_names *m)
{
    if (!m) return;
    free(m->keys);
    free(m->ids);
    free(m);
}

/* Records value id (just added) under its name. */
static int index_value(onnx_import *im, int id, fc_error *err)
{
    if (names_put(im->names, im->g->values[id].name, id))
        return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    return 0;
}

int onnx_value_id(onnx_import *im, const char *name)
{
    if (!name || !*name) return -1;
    return names_get(im->names, name);
}

int onnx_add_pending(onnx_import *im, int node_index, const char *op_type, fc_error *err)
{
    if (im->n_pending == im->cap_pending) {
        int cap = im->cap_pending ? im->cap_pending * 2 : 16;
        onnx_pending *p = realloc(im->pending, sizeof(onnx_pending) * (size_t)cap);
        if (!p) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
        im->pending = p;
        im->cap_pending = cap;
    }
    onnx_pending *p = &im->pending[im->n_pending];
    p->name = strdup(im->g->nodes[node_index].name);
    p->op_type = strdup(op_type);
    if (!p->name || !p->op_type) {
        free(p->name);
        free(p->op_type);
        return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    }
    im->n_pending++;
    return 0;
}

static void drop_pending(onnx_pending *p)
{
    free(p->name);
    free(p->op_type);
    p->name = p->op_type = NULL;
}

static int is_pending(const ir_graph *g, int node, void *ctx)
{
    const onnx_import *im = ctx;
    for (int i = 0; i < im->n_pending; i++)
        if (im->pending[i].name && strcmp(im->pending[i].name, g->nodes[node].name) == 0) return 1;
    return 0;
}

/* ---- graph inputs, initializers, value infos ---------------------------------------------- */

static int add_initializers(onnx_import *im, const Onnx__GraphProto *graph, fc_error *err)
{
    if (graph->n_initializer > fc_limits_current.max_tensors)
        return fc_fail(err, FC_EINPUT, "%s: %zu initializers (limit %u)", im->file, graph->n_initializer,
                       fc_limits_current.max_tensors);
    for (size_t i = 0; i < graph->n_initializer; i++) {
        const Onnx__TensorProto *t = graph->initializer[i];
        if (!t->name || !*t->name)
            return fc_fail(err, FC_EINPUT, "%s: initializer %zu has no name", im->file, i);
        int dtype, ndim;
        int64_t dims[FCN_MAX_DIMS];
        void *data;
        size_t nbytes;
        if (onnx_tensor_data(t, im->file, im->base_dir, &dtype, &ndim, dims, &data, &nbytes, err)) return -1;
        if (onnx_value_id(im, t->name) >= 0) {
            free(data);
            return fc_fail(err, FC_EINPUT, "%s: initializer '%s' is defined twice", im->file, t->name);
        }
        int id = ir_add_const_owned(im->g, t->name, dtype, ndim, dims, data, nbytes, err);
        if (id < 0) return fc_wrap(err, "%s", im->file);
        if (index_value(im, id, err)) return -1;
    }
    return 0;
}

static int value_info_shape(onnx_import *im, const Onnx__ValueInfoProto *vi, int *dtype, int *ndim,
                            int64_t *dims, fc_error *err)
{
    *dtype = FC_DT_F32;
    *ndim = -1;
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
        if (tp && tp->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET && !tp->tensor_type) return 0;
        if (!tp) return 0;
        return fc_fail(err, FC_EINPUT, "%s: value '%s' is not a tensor (sequence/map types are not supported)",
                       im->file, vi->name);
    }
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (tt->has_elem_type && tt->elem_type != 0) {
        *dtype = onnx_dtype(tt->elem_type);
        if (*dtype == FC_DT_INVALID)
            return fc_fail(err, FC_EINPUT, "%s: value '%s': element type %s (%d) is not supported", im->file,
                           vi->name, onnx_dtype_name(tt->elem_type), (int)tt->elem_type);
    }
    if (!tt->shape) return 0;
    if (tt->shape->n_dim > FCN_MAX_DIMS)
        return fc_fail(err, FC_EINPUT, "%s: value '%s': %zu dims (at most %d)", im->file, vi->name,
                       tt->shape->n_dim, FCN_MAX_DIMS);
    *ndim = (int)tt->shape->n_dim;
    for (int i = 0; i < *ndim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0 || d->dim_value > (int64_t)1 << 40)
                return fc_fail(err, FC_EINPUT, "%s: value '%s': dimension %d is %lld", im->file, vi->name, i,
                               (long long)d->dim_value);
            dims[i] = d->dim_value;
        } else {
            dims[i] = -1;   /* symbolic (dim_param) or absent: free */
        }
    }
    return 0;
}

static int add_graph_inputs(onnx_import *im, const Onnx__GraphProto *graph, const fcv_import_options *opt,
                            fc_error *err)
{
    ir_graph *g = im->g;
    g->inputs = malloc(sizeof(int) * (graph->n_input + 1));
    if (!g->inputs) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    for (size_t i = 0; i < graph->n_input; i++) {
        const Onnx__ValueInfoProto *vi = graph->input[i];
        if (!vi->name || !*vi->name)
            return fc_fail(err, FC_EINPUT, "%s: graph input %zu has no name", im->file, i);
        int existing = onnx_value_id(im, vi->name);
        if (existing >= 0) {
            if (g->values[existing].data) continue;   /* old IR: initializer listed as input */
            return fc_fail(err, FC_EINPUT, "%s: graph input '%s' is listed twice", im->file, vi->name);
        }
        int dtype, ndim;
        int64_t dims[FCN_MAX_DIMS];
        if (value_info_shape(im, vi, &dtype, &ndim, dims, err)) return -1;
        if (opt && opt->n_input_dims > 0 && g->n_inputs == 0 && dtype == FC_DT_F32) {
            if (ndim >= 0 && ndim != opt->n_input_dims)
                return fc_fail(err, FC_EINPUT, "%s: --input-shape has %d dims, input '%s' has %d", im->file,
                               opt->n_input_dims, vi->name, ndim);
            ndim = opt->n_input_dims;
            memcpy(dims, opt->input_dims, sizeof(int64_t) * (size_t)ndim);
        }
        int id = ir_add_value(g, vi->name, dtype, ndim, dims, err);
        if (id < 0) return fc_wrap(err, "%s", im->file);
        if (index_value(im, id, err)) return -1;
        g->inputs[g->n_inputs++] = id;
    }
    return 0;
}

/* ---- nodes -------------------------------------------------------------------------------------- */

/* Pass 1: one value per node output, so nodes may refer to values produced later (an unsorted
 * file) and a cycle is reported by the toposort rather than as a missing input. */
static int add_node_outputs(onnx_import *im, const Onnx__GraphProto *graph, fc_error *err)
{
    for (size_t n = 0; n < graph->n_node; n++) {
        const Onnx__NodeProto *node = graph->node[n];
        for (size_t k = 0; k < node->n_output; k++) {
            const char *name = node->output[k];
            if (!name || !*name) continue;
            if (onnx_value_id(im, name) >= 0)
                return fc_fail(err, FC_EINPUT, "%s: value '%s' is produced twice (node %zu '%s' and before)",
                               im->file, name, n, node->name ? node->name : "");
            int id = ir_add_value(im->g, name, FC_DT_F32, -1, NULL, err);
            if (id < 0) return fc_wrap(err, "%s", im->file);
            if (index_value(im, id, err)) return -1;
        }
    }
    return 0;
}

/* The node's own name, or op_type + index when it has none; ir_add_node makes any duplicate
 * unique. */
static char *node_name(const Onnx__NodeProto *node, size_t index)
{
    if (node->name && *node->name) return strdup(node->name);
    char base[96];
    snprintf(base, sizeof base, "%.64s_%zu", node->op_type ? node->op_type : "node", index);
    return strdup(base);
}

static int add_nodes(onnx_import *im, const Onnx__GraphProto *graph, fc_error *err)
{
    if (graph->n_node > fc_limits_current.max_nodes)
        return fc_fail(err, FC_EINPUT, "%s: %zu nodes (limit %u)", im->file, graph->n_node,
                       fc_limits_current.max_nodes);
    for (size_t n = 0; n < graph->n_node; n++) {
        const Onnx__NodeProto *node = graph->node[n];
        if (!node->op_type || !*node->op_type)
            return fc_fail(err, FC_EINPUT, "%s: node %zu has no op_type", im->file, n);
        char *name = node_name(node, n);
        if (!name) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
        int rc = onnx_map_node(im, node, name, err);
        free(name);
        if (rc) return -1;
    }
    return 0;
}

static int add_graph_outputs(onnx_import *im, const Onnx__GraphProto *graph, fc_error *err)
{
    ir_graph *g = im->g;
    if (graph->n_output == 0) return fc_fail(err, FC_EINPUT, "%s: the graph has no outputs", im->file);
    g->outputs = malloc(sizeof(int) * graph->n_output);
    if (!g->outputs) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    for (size_t i = 0; i < graph->n_output; i++) {
        const char *name = graph->output[i]->name;
        int id = onnx_value_id(im, name);
        if (id < 0)
            return fc_fail(err, FC_EINPUT, "%s: graph output '%s' is not produced by any node", im->file,
                           name ? name : "");
        g->outputs[g->n_outputs++] = id;
    }
    ir_update_links(g);
    /* every node input must be produced by something: a node, an initializer or a graph input */
    for (int n = 0; n < g->n_nodes; n++) {
        const ir_node *node = &g->nodes[n];
        for (int k = 0; k < node->n_in; k++) {
            int v = node->in[k];
            if (v < 0) continue;
            const ir_value *val = &g->values[v];
            if (val->data || val->producer >= 0) continue;
            int is_input = 0;
            for (int j = 0; j < g->n_inputs; j++) is_input |= g->inputs[j] == v;
            if (!is_input)
                return fc_fail(err, FC_EINPUT, "%s: node '%s': input '%s' is not produced by any node, initializer or graph input",
                               im->file, node->name, val->name);
        }
    }
    return 0;
}

/* Shape parameters computed from the shape of a value with a free (batch) dimension, as torch
 * exports with dynamic axes (x.view(x.size(0), -1), channel split/shuffle): every non-constant
 * parameter input of the stuck pending nodes is evaluated (in one batch) with the free
 * dimensions at 1, 2 and 5. A parameter equal at all three becomes a constant, so the ordinary
 * lowering applies; a Reshape target whose entry 0 follows the free dimension gets 0 there
 * (ONNX: copy the input's dimension). Returns the number of nodes resolved, or -1. */
#define FREE_POINTS 3
typedef struct frozen_param { int node, k, vid; } frozen_param;

static int apply_frozen(onnx_import *im, const frozen_param *fp, const int64_t *vals, int count, int *resolved,
                        fc_error *err)
{
    static const int64_t points[FREE_POINTS] = {1, 2, 5};
    ir_graph *g = im->g;
    ir_node *n = &g->nodes[fp->node];
    int64_t fixed[IR_MAX_ATTR_VALUES];
    int batch_copy = 0;
    const int64_t *at[FREE_POINTS] = {vals, vals + IR_MAX_ATTR_VALUES, vals + 2 * IR_MAX_ATTR_VALUES};
    for (int i = 0; i < count; i++) {
        int same = at[0][i] == at[1][i] && at[0][i] == at[2][i];
        int follows = 1;
        for (int p = 0; p < FREE_POINTS; p++) follows &= at[p][i] == points[p];
        const ir_value *x = &g->values[n->in[0]];
        if (same) fixed[i] = at[0][i];
        else if (n->op == FCN_OP_RESHAPE && fp->k == 1 && i == 0 && follows && x->ndim >= 1 && x->dims[0] < 0 &&
                 !ir_get_int(n, FCN_ATTR_ALLOWZERO, 0)) {
            fixed[i] = 0;
            batch_copy = 1;
        } else {
            return 0;
        }
    }
    if (batch_copy) {   /* only this node's view of the value changes: the attribute, here */
        ir_set_ints(n, FCN_ATTR_SHAPE, fixed, count);
        n->in[1] = -1;
        n->n_in = 1;
        *resolved = 1;
        return 0;
    }
    ir_value *val = &g->values[fp->vid];
    if (val->data) return 0;   /* frozen already through another node */
    int64_t *data = malloc(sizeof(int64_t) * (size_t)(count ? count : 1));
    if (!data) return fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
    memcpy(data, fixed, sizeof(int64_t) * (size_t)count);
    /* the chain that computed it is dead code now (dce drops its inputs) */
    if (val->producer >= 0 && g->nodes[val->producer].n_out == 1) g->nodes[val->producer].dead = 1;
    val->data = data;
    val->nbytes = sizeof(int64_t) * (size_t)count;
    val->dtype = FC_DT_I64;
    val->ndim = 1;
    val->dims[0] = count;
    *resolved = 1;   /* progress: a value became constant */
    return 0;
}

static int freeze_free_dim_params(onnx_import *im, fc_error *err)
{
    static const int64_t points[FREE_POINTS] = {1, 2, 5};
    ir_graph *g = im->g;
    ir_update_links(g);
    int cap = 0, n = 0;
    for (int i = 0; i < im->n_pending; i++) cap += im->pending[i].name ? FCN_MAX_NODE_IO : 0;
    frozen_param *fp = malloc(sizeof *fp * (size_t)(cap ? cap : 1));
    int *vids = malloc(sizeof(int) * (size_t)(cap ? cap : 1));
    int *counts = malloc(sizeof(int) * (size_t)(cap ? cap : 1));
    int64_t *vals = malloc(sizeof(int64_t) * (size_t)(cap ? cap : 1) * FREE_POINTS * IR_MAX_ATTR_VALUES);
    int resolved = 0, rc = 0;
    if (!fp || !vids || !counts || !vals) {
        rc = fc_fail(err, FC_ENOMEM, "%s: out of memory", im->file);
        goto out;
    }
    for (int i = 0; i < im->n_pending; i++) {
        if (!im->pending[i].name) continue;
        int idx = ir_find_node(g, im->pending[i].name);
        if (idx < 0) continue;
        for (int k = 1; k < g->nodes[idx].n_in; k++) {
            int v = g->nodes[idx].in[k];
            if (v < 0 || g->values[v].data) continue;
            fp[n] = (frozen_param){idx, k, v};
            vids[n++] = v;
        }
    }
    if (!n) goto out;
    if (fcv_eval_at_free_dims(g, is_pending, im, vids, n, points, FREE_POINTS, vals, IR_MAX_ATTR_VALUES, counts, err)) {
        rc = -1;
        goto out;
    }
    for (int j = 0; j < n; j++) {
        if (counts[j] < 0) continue;
        int done = 0;
        if (apply_frozen(im, &fp[j], vals + (size_t)j * FREE_POINTS * IR_MAX_ATTR_VALUES, counts[j], &done, err)) {
            rc = -1;
            goto out;
        }
        resolved += done;
    }
    /* lower what became fully constant */
    for (int i = 0; i < im->n_pending; i++) {
        if (!im->pending[i].name) continue;
        int idx = ir_find_node(g, im->pending[i].name);
        int r = idx < 0 ? 1 : (g->nodes[idx].n_in == 1 ? 1 : onnx_lower(im, idx, err));
        if (r < 0) {
            rc = -1;
            goto out;
        }
        if (r == 1) {
            drop_pending(&im->pending[i]);
            resolved++;
        }
    }
    ir_update_links(g);
out:
    /* resolved counts nodes lowered and values frozen: any of them is progress */
    free(fp);
    free(vids);
    free(counts);
    free(vals);
    return rc < 0 ? -1 : resolved;
}

static int count_constants(const ir_graph *g)
{
    int c = 0;
    for (int v = 0; v < g->n_values; v++) c += g->values[v].data != NULL;
    return c;
}

/* Lower pending nodes and fold constants until nothing changes; what stays pending names the
 * node whose shape parameter is not a constant. Each round: shapes (lowering may need a rank),
 * lowering, folding. */
static int resolve_pending(onnx_import *im, fc_error *err)
{
    for (int round = 0;; round++) {
        if (round > 100000) return fc_fail(err, FC_EINTERNAL, "%s: constant folding does not converge", im->file);
        int progress = 0, left = 0;
        for (int i = 0; i < im->n_pending; i++) left += im->pending[i].name != NULL;
        if (left && fcv_infer_shapes_filtered(im->g, is_pending, im, 1, err)) return fc_wrap(err, "%s", im->file);
        for (int i = 0; i < im->n_pending; i++) {
            if (!im->pending[i].name) continue;
            int idx = ir_find_node(im->g, im->pending[i].name);
            int r = idx < 0 ? 1 : onnx_lower(im, idx, err);
            if (r < 0) return -1;
            if (r == 1) {
                drop_pending(&im->pending[i]);
                progress = 1;
            }
        }
        /* lowering may insert nodes (legacy Softmax): restore the topological order */
        if (progress && ir_toposort(im->g, err)) return fc_wrap(err, "%s", im->file);
        left = 0;
        for (int i = 0; i < im->n_pending; i++) left += im->pending[i].name != NULL;
        int before = count_constants(im->g);
        if (fcv_fold_constants_filtered(im->g, left ? is_pending : NULL, im, err) < 0)
            return fc_wrap(err, "%s", im->file);
        if (!left) return 0;
        if (progress || count_constants(im->g) != before) continue;
        /* stuck: last resort for shapes that follow a free batch dimension */
        int resolved = freeze_free_dim_params(im, err);
        if (resolved < 0) return -1;
        progress = resolved > 0;
        if (progress) continue;
        for (int i = 0; i < im->n_pending; i++) {
            if (!im->pending[i].name) continue;
            int idx = ir_find_node(im->g, im->pending[i].name);
            if (idx >= 0) return onnx_lower_fail(im, idx, im->pending[i].op_type, err);
        }
        return 0;
    }
}

/* The op that x * gate(x) becomes, or -1. Swish is x*sigmoid(x); HardSwish is
 * x*clamp(x/6 + 1/2, 0, 1), i.e. x*HardSigmoid(x) only for alpha = 1/6 and beta = 1/2 exactly (ONNX
 * stores them as float32, so 1/6 is compared at that precision); any other HardSigmoid stays as is. */
static int fused_gate_op(const ir_node *gate)
{
    if (gate->op == FCN_OP_SIGMOID) return gate->n_attrs ? -1 : FCN_OP_SWISH;
    if (gate->op != FCN_OP_HARD_SIGMOID) return -1;
    const ir_attr *alpha = ir_get_attr(gate, FCN_ATTR_ALPHA), *beta = ir_get_attr(gate, FCN_ATTR_BETA);
    int others = gate->n_attrs - (alpha != NULL) - (beta != NULL);
    if (!alpha || !beta || others || alpha->count != 1 || beta->count != 1) return -1;
    if (alpha->f[0] != (double)(float)(1.0 / 6.0) || beta->f[0] != 0.5) return -1;
    return FCN_OP_HARD_SWISH;
}

/* x * sigmoid(x), as torch exports SiLU/Swish, becomes one Swish node, and x * HardSigmoid(x), as
 * torch exports Hardswish at opset < 14, one HardSwish node (format.h: importers fuse them), when
 * the gate's output feeds only that Mul. */
static void fuse_swish(ir_graph *g)
{
    ir_update_links(g);
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *mul = &g->nodes[i];
        if (mul->dead || mul->op != FCN_OP_MUL || mul->n_in != 2 || mul->n_attrs) continue;
        for (int k = 0; k < 2; k++) {
            int s = mul->in[k], x = mul->in[1 - k];
            if (s < 0 || x < 0 || g->values[s].n_consumers != 1) continue;
            int p = g->values[s].producer;
            if (p < 0) continue;
            ir_node *sig = &g->nodes[p];
            if (sig->dead || sig->n_in != 1 || sig->in[0] != x) continue;
            int fused_op = fused_gate_op(sig);
            if (fused_op < 0) continue;
            int is_output = 0;
            for (int o = 0; o < g->n_outputs; o++) is_output |= g->outputs[o] == s;
            if (is_output) continue;
            sig->dead = 1;
            mul->op = fused_op;
            mul->in[0] = x;
            mul->n_in = 1;
            break;
        }
    }
    ir_update_links(g);
}

static char *model_folder(const char *path)
{
    if (!path) return NULL;
    char *copy = strdup(path);
    if (!copy) return NULL;
    char *slash = strrchr(copy, '/');
    const char *dir = ".";
    if (slash == copy) dir = "/";
    else if (slash) { *slash = 0; dir = copy; }
    char *real = realpath(dir, NULL);
    free(copy);
    return real;
}

static int import_model(onnx_import *im, const Onnx__ModelProto *model, const fcv_import_options *opt,
                        fc_error *err)
{
    int64_t opset = -1;
    for (size_t i = 0; i < model->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = model->opset_import[i];
        if (!o->domain || !*o->domain || strcmp(o->domain, "ai.onnx") == 0) opset = o->version;
    }
    if (opset < 0 && model->n_opset_import == 0 && model->has_ir_version && model->ir_version <= 2)
        opset = 1;
    if (opset < 0) return fc_fail(err, FC_EINPUT, "%s: no opset for the default ONNX domain", im->file);
    if (opset < ONNX_MIN_OPSET || opset > ONNX_MAX_OPSET)
        return fc_fail(err, FC_EINPUT, "%s: opset %lld is not supported (%d to %d)", im->file, (long long)opset,
                       ONNX_MIN_OPSET, ONNX_MAX_OPSET);
    im->opset = opset;
    const Onnx__GraphProto *graph = model->graph;
    if (!graph) return fc_fail(err, FC_EINPUT, "%s: the model has no graph", im->file);

    ir_graph *g = im->g;
    g->source_format = strdup("onnx");
    if (model->producer_name && *model->producer_name) {
        const char *ver = model->producer_version ? model->producer_version : "";
        if (asprintf(&g->producer, "%s%s%s", model->producer_name, *ver ? " " : "", ver) < 0) g->producer = NULL;
    }
    g->extra_meta = cJSON_CreateObject();
    if (g->extra_meta) {
        cJSON_AddNumberToObject(g->extra_meta, "onnx_opset", (double)opset);
        if (model->has_ir_version) cJSON_AddNumberToObject(g->extra_meta, "onnx_ir_version", (double)model->ir_version);
    }

    if (add_initializers(im, graph, err) || add_graph_inputs(im, graph, opt, err) ||
        add_node_outputs(im, graph, err) || add_nodes(im, graph, err) || add_graph_outputs(im, graph, err))
        return -1;
    if (ir_toposort(g, err)) return fc_wrap(err, "%s", im->file);
    if (resolve_pending(im, err)) return -1;
    fuse_swish(g);
    if (fcv_dce(g, err) || fcv_infer_shapes(g, err)) return fc_wrap(err, "%s", im->file);
    return 0;
}

int fcv_import_onnx_memory(const uint8_t *buf, size_t size, const char *path, const fcv_import_options *opt,
                           ir_graph **out, fc_error *err)
{
    const char *file = path ? path : "(memory)";
    *out = NULL;
    if (size > fc_limits_current.max_file_bytes)
        return fc_fail(err, FC_EINPUT, "%s: %zu bytes, over the file size limit", file, size);
    pb_budget budget = {0, 0};
    /* decoded structs cost more than their encoding (a 2-byte empty node becomes a ~100-byte
     * struct): allow a generous multiple, but a bounded one */
    size_t cap;
    if (fc_mul_size(size, 64, &cap) || fc_add_size(cap, (size_t)64 << 20, &cap)) cap = SIZE_MAX / 2;
    budget.cap = cap;
    ProtobufCAllocator alloc = {pb_alloc, pb_free, &budget};
    Onnx__ModelProto *model = onnx__model_proto__unpack(&alloc, size, buf);
    if (!model)
        return fc_fail(err, FC_EINPUT, "%s: not a valid ONNX protobuf (truncated, corrupted or over the memory budget)",
                       file);
    onnx_import im = {0};
    im.file = file;
    char *dir = model_folder(path);
    im.base_dir = dir;
    im.g = ir_graph_new();
    im.names = calloc(1, sizeof *im.names);
    int rc = -1;
    if (!im.g || !im.names) {
        fc_fail(err, FC_ENOMEM, "%s: out of memory", file);
    } else {
        if (path) im.g->source_path = strdup(path);
        im.g->source_bytes = size;
        fc_sha256(buf, size, im.g->source_sha256);
        rc = import_model(&im, model, opt, err);
    }
    onnx__model_proto__free_unpacked(model, &alloc);
    for (int i = 0; i < im.n_pending; i++) drop_pending(&im.pending[i]);
    free(im.pending);
    names_free(im.names);
    free(dir);
    if (rc) {
        ir_graph_free(im.g);
        return -1;
    }
    *out = im.g;
    return 0;
}

/* Big models (the weights of AlexNet/VGG are hundreds of MB) are mapped read-only instead of read
 * into fresh memory: the page cache is used directly, which saves a copy and its page faults. (As
 * with every mmap, truncating the file while it is being converted would end the process.) */
#define ONNX_MMAP_MIN_BYTES ((size_t)64 << 20)

int fcv_import_onnx(const char *path, const fcv_import_options *opt, ir_graph **out, fc_error *err)
{
    uint8_t *buf = NULL;
    size_t size = 0;
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size >= ONNX_MMAP_MIN_BYTES &&
        (uint64_t)st.st_size <= fc_limits_current.max_file_bytes) {
        void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        close(fd);
        if (map != MAP_FAILED) {
            int rc = fcv_import_onnx_memory(map, (size_t)st.st_size, path, opt, out, err);
            munmap(map, (size_t)st.st_size);
            return rc;
        }
    } else if (fd >= 0) {
        close(fd);
    }
    if (fc_read_file(path, fc_limits_current.max_file_bytes, &buf, &size, err)) return -1;
    int rc = fcv_import_onnx_memory(buf, size, path, opt, out, err);
    free(buf);
    return rc;
}
