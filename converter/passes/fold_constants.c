/* fold_constants.c — evaluate every node whose inputs are all constants.
 *
 * Identity relied on: a node is a pure function of its inputs, so with constant inputs its
 * outputs are constants, computed once here by the runtime's own op (fcn_eval_op: one
 * interpreter). And Shape(x) depends only on x's shape: once shape inference knows every
 * dimension of x, Shape(x) is a constant too. Alternating the two folds torch's
 * Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains down to a constant shape. */
#include "converter/passes/basic_passes.h"
#include "runtime/op.h"

#include <stdlib.h>
#include <string.h>

#define FOLD_MAX_SLOTS (IR_MAX_ATTRS * IR_MAX_ATTR_VALUES)

/* ir attributes -> the .fcn attribute records fcn_eval_op reads */
static int pack_attrs(const ir_node *n, fcn_attr_rec *recs, uint64_t *slots)
{
    int ns = 0;
    for (int a = 0; a < n->n_attrs; a++) {
        const ir_attr *at = &n->attrs[a];
        recs[a].key = (uint32_t)at->key;
        recs[a].kind = (uint32_t)at->kind;
        recs[a].count = (uint32_t)at->count;
        recs[a].slot_first = (uint32_t)ns;
        for (int i = 0; i < at->count; i++) {
            uint64_t bits;
            if (at->kind == FCN_AK_INT || at->kind == FCN_AK_INTS) {
                memcpy(&bits, &at->i[i], 8);
            } else {
                double d = at->f[i];
                memcpy(&bits, &d, 8);
            }
            slots[ns++] = bits;
        }
    }
    return ns;
}

static int is_graph_input(const ir_graph *g, int v)
{
    for (int i = 0; i < g->n_inputs; i++) if (g->inputs[i] == v) return 1;
    return 0;
}

/* Expand is the one op whose output can be far larger than its inputs (ConstantOfShape of a
 * hostile shape): past this many elements it stays in the graph instead of being materialized. */
#define FOLD_MAX_EXPAND_ELEMS ((int64_t)1 << 24)
static int expands_too_much(const ir_node *n)
{
    const ir_attr *a = ir_get_attr(n, FCN_ATTR_SHAPE);
    if (!a) return 0;
    int64_t total = 1;
    for (int i = 0; i < a->count; i++) {
        int64_t d = a->i[i] > 1 ? a->i[i] : 1;
        if (d > FOLD_MAX_EXPAND_ELEMS || (total *= d) > FOLD_MAX_EXPAND_ELEMS) return 1;
    }
    return 0;
}

/* 1 folded, 0 not foldable, -1 error */
static int fold_node(ir_graph *g, int idx, fc_error *err)
{
    ir_node *n = &g->nodes[idx];
    if (n->n_in == 0 || n->n_out == 0) return 0;
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && !g->values[n->in[k]].data) return 0;
    for (int k = 0; k < n->n_out; k++)
        if (is_graph_input(g, n->out[k])) return 0;
    if (n->op == FCN_OP_EXPAND && expands_too_much(n)) return 0;

    fcn_tensor tin[FCN_MAX_NODE_IO], tout[8];
    fcn_tensor *pin[FCN_MAX_NODE_IO], *pout[8];
    if (n->n_out > 8) return 0;
    for (int k = 0; k < n->n_in; k++) {
        pin[k] = NULL;
        if (n->in[k] < 0) continue;
        const ir_value *v = &g->values[n->in[k]];
        memset(&tin[k], 0, sizeof tin[k]);
        tin[k].name = v->name;
        tin[k].dtype = v->dtype;
        tin[k].ndim = v->ndim;
        memcpy(tin[k].dims, v->dims, sizeof v->dims);
        tin[k].data = v->data;
        tin[k].is_const = 1;
        pin[k] = &tin[k];
    }
    for (int k = 0; k < n->n_out; k++) {
        memset(&tout[k], 0, sizeof tout[k]);
        tout[k].name = g->values[n->out[k]].name;
        pout[k] = &tout[k];
    }
    fcn_attr_rec recs[IR_MAX_ATTRS];
    uint64_t slots[FOLD_MAX_SLOTS];
    int ns = pack_attrs(n, recs, slots);
    (void)ns;
    if (fcn_eval_op(n->op, n->name, recs, n->n_attrs, slots, pin, n->n_in, pout, n->n_out, err)) {
        for (int k = 0; k < n->n_out; k++) free(tout[k].data);
        return -1;
    }
    for (int k = 0; k < n->n_out; k++) {
        ir_value *v = &g->values[n->out[k]];
        free(v->data);
        v->data = tout[k].data;
        v->nbytes = tout[k].nbytes;
        v->dtype = tout[k].dtype;
        v->ndim = tout[k].ndim;
        memcpy(v->dims, tout[k].dims, sizeof v->dims);
    }
    n->dead = 1;
    return 1;
}

int fcv_shape_slice(int ndim, int64_t start, int64_t end, int64_t *first, int64_t *count)
{
    if (start < 0) start += ndim;
    if (end < 0) end += ndim;
    if (start < 0) start = 0;
    if (start > ndim) start = ndim;
    if (end < 0) end = 0;
    if (end > ndim) end = ndim;
    *first = start;
    *count = end > start ? end - start : 0;
    return 0;
}

/* Shape(x) with every dim of x known -> i64 constant. 1 folded, 0 not, -1 error. */
static int fold_shape(ir_graph *g, int idx, fc_error *err)
{
    ir_node *n = &g->nodes[idx];
    if (n->op != FCN_OP_SHAPE || n->n_in < 1 || n->in[0] < 0 || n->n_out != 1) return 0;
    const ir_value *x = &g->values[n->in[0]];
    if (x->ndim < 0) return 0;
    for (int d = 0; d < x->ndim; d++) if (x->dims[d] < 0) return 0;
    int64_t first, count;
    fcv_shape_slice(x->ndim, ir_get_int(n, FCN_ATTR_START, 0), ir_get_int(n, FCN_ATTR_END, x->ndim), &first, &count);
    int64_t *data = malloc(sizeof(int64_t) * (size_t)(count ? count : 1));
    if (!data) return fc_fail(err, FC_ENOMEM, "node '%s': out of memory", n->name);
    for (int64_t i = 0; i < count; i++) data[i] = x->dims[first + i];
    ir_value *v = &g->values[n->out[0]];
    free(v->data);
    v->data = data;
    v->nbytes = sizeof(int64_t) * (size_t)count;
    v->dtype = FC_DT_I64;
    v->ndim = 1;
    v->dims[0] = count;
    n->dead = 1;
    return 1;
}

static int fold_pass(ir_graph *g, fcv_node_filter skip, void *ctx, int with_shapes, fc_error *err)
{
    int folded = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead || (skip && skip(g, i, ctx))) continue;
        int r = fold_node(g, i, err);
        if (r == 0 && with_shapes) r = fold_shape(g, i, err);
        if (r < 0) return -1;
        folded += r;
    }
    return folded;
}

int fcv_fold_known(ir_graph *g, fc_error *err)
{
    int total = 0, r;
    while ((r = fold_pass(g, NULL, NULL, 1, err)) > 0) total += r;
    return r < 0 ? -1 : total;
}

static int has_live_shape_node(const ir_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == FCN_OP_SHAPE) return 1;
    return 0;
}

int fcv_fold_constants_filtered(ir_graph *g, fcv_node_filter skip, void *ctx, fc_error *err)
{
    int total = 0;
    for (int round = 0; round < 1000; round++) {
        int r = fold_pass(g, skip, ctx, 0, err);
        if (r < 0) return -1;
        total += r;
        if (!has_live_shape_node(g)) break;
        /* shapes are needed only to fold Shape nodes; when they cannot be known (a free
         * dimension the shapes depend on) those nodes simply stay */
        if (fcv_infer_shapes_filtered(g, skip, ctx, 1, err)) return -1;
        r = fold_pass(g, skip, ctx, 1, err);
        if (r < 0) return -1;
        total += r;
        if (r == 0) break;
    }
    ir_update_links(g);
    return total;
}

int fcv_fold_constants(ir_graph *g, fc_error *err)
{
    int r = fcv_fold_constants_filtered(g, NULL, NULL, err);
    if (r < 0) return -1;
    if (ir_compact(g, err)) return -1;
    return 0;
}
