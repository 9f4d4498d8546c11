/* shape_infer.c — value shapes and dtypes for the IR, read back from the runtime.
 *
 * Identity relied on: the runtime's session creation *is* shape inference (every op's infer
 * runs at the session's input shapes), so the converter serializes the graph to an in-memory
 * .fcn, opens a session and copies every value's shape back by name. No second implementation.
 *
 * Free input dimensions (-1): the session is created twice, with every free dimension set to 1
 * and then to 2; a dimension that differs between the two depends on the free ones and stays
 * -1 (unknown), the others are known. When no session can be created with free dimensions at
 * 1 (e.g. a free image size below a kernel), the shapes stay unknown: not an error. */
#include "converter/passes/basic_passes.h"
#include "runtime/fcn.h"

#include <stdlib.h>
#include <string.h>

typedef struct name_slot { const char *name; int id; } name_slot;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s) h = (h ^ (uint8_t)*s++) * 1099511628211ull;
    return h;
}

/* Open-addressing index name -> value id of g (names are unique). */
typedef struct name_index { name_slot *slots; size_t cap; } name_index;

static int index_build(name_index *ix, const ir_graph *g)
{
    size_t cap = 16;
    while (cap < (size_t)g->n_values * 2 + 2) cap *= 2;
    ix->slots = calloc(cap, sizeof(name_slot));
    ix->cap = cap;
    if (!ix->slots) return -1;
    for (int v = 0; v < g->n_values; v++) {
        if (!g->values[v].name) continue;
        size_t h = hash_str(g->values[v].name) & (cap - 1);
        while (ix->slots[h].name) h = (h + 1) & (cap - 1);
        ix->slots[h].name = g->values[v].name;
        ix->slots[h].id = v;
    }
    return 0;
}

static int index_find(const name_index *ix, const char *name)
{
    size_t h = hash_str(name) & (ix->cap - 1);
    while (ix->slots[h].name) {
        if (strcmp(ix->slots[h].name, name) == 0) return ix->slots[h].id;
        h = (h + 1) & (ix->cap - 1);
    }
    return -1;
}

/* The part of g the runtime can run: nodes not skipped and not fed by skipped ones, with every
 * value they produce as a graph output (so all of them are reported). */
static ir_graph *runnable_part(const ir_graph *g, fcv_node_filter skip, void *ctx, fc_error *err)
{
    ir_graph *c = ir_clone(g, err);
    if (!c) return NULL;
    char *tainted = calloc((size_t)c->n_values + 1, 1);
    int *outs = malloc(sizeof(int) * ((size_t)c->n_values + 1));
    if (!tainted || !outs) {
        free(tainted); free(outs); ir_graph_free(c);
        fc_fail(err, FC_ENOMEM, "out of memory in shape inference");
        return NULL;
    }
    int n_outs = 0;
    for (int i = 0; i < c->n_nodes; i++) {   /* graph is in topological order */
        ir_node *n = &c->nodes[i];
        if (n->dead) continue;
        int bad = skip && skip(g, i, ctx);
        for (int k = 0; k < n->n_in && !bad; k++) bad = n->in[k] >= 0 && tainted[n->in[k]];
        if (bad) {
            n->dead = 1;
            for (int k = 0; k < n->n_out; k++) tainted[n->out[k]] = 1;
            continue;
        }
        for (int k = 0; k < n->n_out; k++)
            if (!c->values[n->out[k]].data) outs[n_outs++] = n->out[k];
    }
    free(tainted);
    free(c->outputs);
    c->outputs = outs;
    c->n_outputs = n_outs;
    if (ir_compact(c, err)) {
        ir_graph_free(c);
        return NULL;
    }
    return c;
}

static int session_at(const fcn_model *m, const ir_graph *c, int64_t free_dim, fcn_session **s, fc_error *err)
{
    fcn_shape shapes[64];
    int n = c->n_inputs;
    if (n > 64) return fc_fail(err, FC_EINPUT, "more than 64 graph inputs");
    for (int i = 0; i < n; i++) {
        const ir_value *v = &c->values[c->inputs[i]];
        if (v->ndim < 0) return fc_fail(err, FC_EINPUT, "input '%s' has an unknown rank", v->name);
        shapes[i].ndim = v->ndim;
        for (int d = 0; d < v->ndim; d++) shapes[i].dims[d] = v->dims[d] < 0 ? free_dim : v->dims[d];
    }
    fcn_session_options opt = {0};
    opt.threads = 1;
    opt.n_input_shapes = n;
    opt.input_shapes = shapes;
    return fcn_session_create(m, &opt, s, err);
}

static int has_free_dims(const ir_graph *c)
{
    for (int i = 0; i < c->n_inputs; i++) {
        const ir_value *v = &c->values[c->inputs[i]];
        for (int d = 0; d < v->ndim; d++) if (v->dims[d] < 0) return 1;
    }
    return 0;
}

int fcv_infer_shapes_filtered(ir_graph *g, fcv_node_filter skip, void *ctx, int tolerant, fc_error *err)
{
    ir_graph *c = runnable_part(g, skip, ctx, err);
    if (!c) return -1;
    if (c->n_outputs == 0) {   /* nothing to infer */
        ir_graph_free(c);
        return 0;
    }
    int free_dims = has_free_dims(c);
    uint8_t *buf = NULL;
    size_t size = 0;
    fcn_model *m = NULL;
    fcn_session *s1 = NULL, *s2 = NULL;
    name_index ix = {0};
    int rc = -1;
    fc_error local = {0};
    fc_error *e = (tolerant && free_dims) ? &local : err;
    /* shapes only: sessions with the reference kernels skip the fast kernels' weight packing */
    int prev = fcn_use_reference_kernels(1);
    if (fcv_write_fcn(c, &buf, &size, err)) goto done;
    if (fcn_model_open_memory(buf, size, "shape inference", 0, &m, err)) goto done;
    if (session_at(m, c, 1, &s1, e)) {
        if (e == &local) rc = 0;
        goto done;
    }
    /* a model that only runs with the free dimensions at 1 is not free in them: keep run 1 */
    if (free_dims && session_at(m, c, 2, &s2, &local)) s2 = NULL;
    if (index_build(&ix, g)) {
        fc_fail(err, FC_ENOMEM, "out of memory in shape inference");
        goto done;
    }
    int nv = fcn_session_num_values(s1);
    for (int i = 0; i < nv; i++) {
        const char *name;
        fcn_shape sh, sh2;
        int dtype, dtype2;
        fcn_session_value_info(s1, i, &name, &sh, &dtype);
        if (!name) continue;
        int id = index_find(&ix, name);
        if (id < 0 || g->values[id].data) continue;
        ir_value *v = &g->values[id];
        v->dtype = dtype;
        v->ndim = sh.ndim;
        for (int d = 0; d < sh.ndim; d++) v->dims[d] = sh.dims[d];
        if (s2) {
            fcn_session_value_info(s2, i, &name, &sh2, &dtype2);
            if (sh2.ndim != sh.ndim) {
                v->ndim = -1;
                continue;
            }
            for (int d = 0; d < sh.ndim; d++) if (sh2.dims[d] != sh.dims[d]) v->dims[d] = -1;
        }
    }
    rc = 0;
done:
    fcn_use_reference_kernels(prev);
    free(ix.slots);
    fcn_session_destroy(s2);
    fcn_session_destroy(s1);
    fcn_model_close(m);
    free(buf);
    ir_graph_free(c);
    return rc;
}

int fcv_infer_shapes(ir_graph *g, fc_error *err)
{
    /* tolerant: with a free non-batch dimension (e.g. any image size) shapes stay unknown
     * rather than failing; a graph the runtime rejects at known shapes is still an error */
    return fcv_infer_shapes_filtered(g, NULL, NULL, 1, err);
}

/* c's value shapes and dtypes from one session with every free input dimension at free_value. */
static int shapes_at(ir_graph *c, const fcn_model *m, int64_t free_value, fc_error *err)
{
    fcn_session *s = NULL;
    name_index ix = {0};
    if (session_at(m, c, free_value, &s, err)) return -1;
    if (index_build(&ix, c)) {
        fcn_session_destroy(s);
        return fc_fail(err, FC_ENOMEM, "out of memory in shape evaluation");
    }
    int nv = fcn_session_num_values(s);
    for (int i = 0; i < nv; i++) {
        const char *name;
        fcn_shape sh;
        int dtype;
        fcn_session_value_info(s, i, &name, &sh, &dtype);
        int id = name ? index_find(&ix, name) : -1;
        if (id < 0 || c->values[id].data) continue;
        c->values[id].dtype = dtype;
        c->values[id].ndim = sh.ndim;
        memcpy(c->values[id].dims, sh.dims, sizeof(int64_t) * (size_t)sh.ndim);
    }
    free(ix.slots);
    fcn_session_destroy(s);
    return 0;
}

/* Values vids[] (i64 tensors computed from shapes, e.g. a Reshape target built by Shape ->
 * Gather -> Concat) evaluated with every free input dimension set to each of free_values in
 * turn: the shapes at that point come from a session (shape inference only, nothing runs),
 * then Shape nodes and everything computed from them fold on a copy of the runnable part.
 * vals[(v * n_points + p) * max + i] = element i of value v at point p; counts[v] = -1 when
 * value v cannot be computed that way (not an error). */
int fcv_eval_at_free_dims(ir_graph *g, fcv_node_filter skip, void *ctx, const int *vids, int n_vids,
                          const int64_t *free_values, int n_points, int64_t *vals, int max, int *counts,
                          fc_error *err)
{
    for (int v = 0; v < n_vids; v++) counts[v] = -1;
    ir_graph *c = runnable_part(g, skip, ctx, err);
    if (!c) return -1;
    uint8_t *buf = NULL;
    size_t size = 0;
    fcn_model *m = NULL;
    fc_error local = {0};
    int prev = fcn_use_reference_kernels(1);   /* shape inference only: no packing for fast kernels */
    if (fcv_write_fcn(c, &buf, &size, &local) || fcn_model_open_memory(buf, size, "shape evaluation", 0, &m, &local))
        goto done;
    for (int p = 0; p < n_points; p++) {
        ir_graph *at = ir_clone(c, &local);
        if (!at) goto done;
        if (shapes_at(at, m, free_values[p], &local) || fcv_fold_known(at, &local) < 0) {
            ir_graph_free(at);
            for (int v = 0; v < n_vids; v++) counts[v] = -1;
            goto done;
        }
        for (int v = 0; v < n_vids; v++) {
            if (p > 0 && counts[v] < 0) continue;
            int id = ir_find_value(at, g->values[vids[v]].name);
            const ir_value *x = id >= 0 ? &at->values[id] : NULL;
            size_t numel = 0;
            if (!x || !x->data || x->dtype != FC_DT_I64 || x->ndim != 1 || fc_numel(1, x->dims, &numel) ||
                numel > (size_t)max || (p > 0 && (int)numel != counts[v])) {
                counts[v] = -1;
                continue;
            }
            counts[v] = (int)numel;
            memcpy(vals + ((size_t)v * (size_t)n_points + (size_t)p) * (size_t)max, x->data, sizeof(int64_t) * numel);
        }
        ir_graph_free(at);
    }
done:
    (void)err;   /* not computable this way is not an error: the caller reports the node */
    fcn_use_reference_kernels(prev);
    fcn_model_close(m);
    free(buf);
    ir_graph_free(c);
    return 0;
}
